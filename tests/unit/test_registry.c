/* tests/unit/test_registry.c: the schema registry (canonical/registry.h)
 * on the shipped schemas/canonical folder and on broken layouts. */
#include "canonical/registry.h"
#include "core/json.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static lx_registry *shipped;

static const char *source_dir(void)
{
    const char *d = getenv("LX_SOURCE_DIR");
    return d && *d ? d : ".";
}

static int load_shipped(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/schemas/canonical", source_dir());
    lx_error err;
    lx_error_clear(&err);
    if (lx_registry_load(dir, &shipped, &err) != 0) {
        char buf[800];
        fprintf(stderr, "%s\n", lx_error_format(&err, buf, sizeof(buf)));
        return -1;
    }
    return 0;
}

static int free_shipped(void **state)
{
    (void)state;
    lx_registry_destroy(&shipped);
    return 0;
}

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    if (!v)
        fail_msg("bad test JSON: %s: %s", je.text, text);
    return v;
}

static int validate(const char *entity, const char *record_text,
                    lx_error *err)
{
    const lx_schema *s = NULL;
    lx_error_clear(err);
    assert_int_equal(lx_registry_get(shipped, entity, NULL, &s, err), 0);
    json_t *rec = parse(record_text);
    lx_error_clear(err);
    int rc = lx_schema_validate(s, rec, err);
    json_decref(rec);
    return rc;
}

static void valid(const char *entity, const char *record_text)
{
    lx_error err;
    if (validate(entity, record_text, &err) != 0)
        fail_msg("%s should be valid: %s (at %s)", entity, err.msg,
                 err.where);
}

/* Rejected at `where`, the message naming `keyword` (a pointer part). */
static void rejected(const char *entity, const char *record_text,
                     const char *where, const char *keyword)
{
    lx_error err;
    int rc = validate(entity, record_text, &err);
    if (rc != LX_ESCHEMA)
        fail_msg("%s should be rejected (%s)", entity, record_text);
    if (strcmp(err.where, where) != 0)
        fail_msg("expected where \"%s\", got \"%s\": %s", where, err.where,
                 err.msg);
    if (!strstr(err.msg, keyword))
        fail_msg("expected \"%s\" in: %s", keyword, err.msg);
}

#define IDS "\"identifiers\": [{\"system\": \"urn:example:hr\", " \
            "\"value\": \"E-1\"}]"

/* ---- the shipped registry ---- */

static void test_registry_lists_the_six_entities_sorted(void **state)
{
    (void)state;
    const char *want[] = {"coverage", "invoice", "order",
                          "organization", "person", "worker"};
    assert_int_equal(lx_registry_count(shipped), 6);
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(lx_registry_entity(shipped, i), want[i]);
        assert_int_equal(lx_registry_latest(shipped, want[i]), 1);
    }
    assert_null(lx_registry_entity(shipped, 6));
    assert_int_equal(lx_registry_latest(shipped, "spaceship"), 0);
    const lx_schema *s = NULL;
    assert_int_equal(lx_registry_get(shipped, "person", "v1", &s, NULL), 0);
    assert_string_equal(lx_schema_name(s), "person/v1");
}

static void test_registry_unknown_entity_lists_known_entities(void **state)
{
    (void)state;
    const lx_schema *s = (const lx_schema *)1;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_registry_get(shipped, "spaceship", NULL, &s, &err),
                     LX_ENOTFOUND);
    assert_null(s);
    assert_non_null(strstr(err.msg, "unknown entity type 'spaceship'"));
    assert_non_null(strstr(err.msg, "coverage, invoice, order, organization, "
                                    "person, worker"));
    assert_string_equal(err.where, "/entity");
    /* A name that is no entity name is not echoed. */
    assert_int_equal(lx_registry_get(shipped, "Bob Smith", NULL, &s, &err),
                     LX_ENOTFOUND);
    assert_null(strstr(err.msg, "Bob"));
}

static void test_registry_unknown_version_lists_versions(void **state)
{
    (void)state;
    const lx_schema *s = NULL;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_registry_get(shipped, "person", "v7", &s, &err),
                     LX_ENOTFOUND);
    assert_non_null(strstr(err.msg, "(known: v1)"));
    assert_string_equal(err.where, "/version");
    assert_int_equal(lx_registry_get(shipped, "person", "1", &s, &err),
                     LX_EINVAL);
}

static void test_registry_valid_record_of_each_entity(void **state)
{
    (void)state;
    valid("person",
          "{" IDS ", \"name\": {\"family\": \"Okafor\", \"given\": [\"Amara\"],"
          " \"prefix\": [\"Dr\"], \"text\": \"Dr Amara Okafor\"},"
          " \"other_names\": [{\"family\": \"Eze\"}],"
          " \"birth_date\": \"1990-04-17\", \"gender\": \"female\","
          " \"contacts\": [{\"system\": \"email\", \"value\": "
          "\"a@example.org\", \"use\": \"work\"}],"
          " \"addresses\": [{\"use\": \"home\", \"type\": \"both\", \"lines\": "
          "[\"48 Lakeview Avenue\"], \"city\": \"Springfield\", \"state\": "
          "\"IL\", \"postal_code\": \"62704\", \"country\": \"US\", "
          "\"period\": {\"start\": \"2020-01-01\"}}],"
          " \"marital_status\": \"married\", \"language\": \"en-US\","
          " \"deceased\": false}");
    valid("person", "{" IDS ", \"deceased\": \"2024-05-01T10:00:00Z\"}");
    valid("organization",
          "{" IDS ", \"name\": \"Acme Health Partners\", \"aliases\": "
          "[\"Acme\"], \"type\": \"employer\", \"active\": true,"
          " \"part_of\": {\"entity\": \"organization\", \"id\": "
          "\"org_01JD3V7Q8M5N4P3R2S1T0V9W8X\"}}");
    valid("worker",
          "{" IDS ", \"person\": {\"entity\": \"person\", \"identifier\": "
          "{\"system\": \"urn:example:hr\", \"value\": \"E-1\"}},"
          " \"employer\": {\"entity\": \"organization\", \"id\": "
          "\"org_01JD3V7Q8M5N4P3R2S1T0V9W8X\"},"
          " \"job_title\": \"Nurse\", \"position\": {\"code\": \"RN2\"},"
          " \"department\": {\"code\": \"ICU\", \"name\": \"Intensive Care\"},"
          " \"hire_date\": \"2026-12-01\", \"status\": \"active\","
          " \"employment_type\": \"full_time\","
          " \"work_location\": {\"city\": \"Springfield\"},"
          " \"manager\": {\"entity\": \"worker\", \"id\": "
          "\"wor_01JD3V7Q8M5N4P3R2S1T0V9W8X\"}}");
    valid("coverage",
          "{" IDS ", \"subscriber\": {\"entity\": \"person\", \"id\": "
          "\"per_01JD3V7Q8M5N4P3R2S1T0V9W8X\"},"
          " \"beneficiary\": {\"entity\": \"person\", \"identifier\": "
          "{\"system\": \"urn:example:ins\", \"value\": \"M-2\"}},"
          " \"relationship\": \"child\", \"payor\": {\"entity\": "
          "\"organization\", \"identifier\": {\"system\": \"urn:example:x\", "
          "\"value\": \"INS\"}},"
          " \"plan\": {\"code\": \"HMO-1\", \"name\": \"HMO Gold\", \"type\": "
          "\"health\"}, \"status\": \"active\","
          " \"period\": {\"start\": \"2026-01-01\", \"end\": \"2026-12-31\"},"
          " \"maintenance\": \"created\", \"group\": {\"identifier\": "
          "{\"system\": \"urn:example:grp\", \"value\": \"G-100\"}, \"name\": "
          "\"Acme staff\"}}");
    valid("order",
          "{" IDS ", \"buyer\": {\"entity\": \"organization\", \"id\": "
          "\"org_01JD3V7Q8M5N4P3R2S1T0V9W8X\"},"
          " \"seller\": {\"entity\": \"organization\", \"identifier\": "
          "{\"system\": \"urn:gs1:gln\", \"value\": \"0614141000012\"}},"
          " \"order_date\": \"2026-11-23\", \"requested_delivery_date\": "
          "\"2026-12-01\", \"currency\": \"USD\","
          " \"lines\": [{\"line_number\": 1, \"item\": {\"identifiers\": "
          "[{\"system\": \"urn:gs1:gtin\", \"value\": \"00012345678905\"}], "
          "\"description\": \"Gloves\"}, \"quantity\": 10, \"unit\": \"BX\", "
          "\"unit_price\": 12.5, \"amount\": 125.0}],"
          " \"total\": 125.0, \"ship_to\": {\"lines\": [\"1 Dock Road\"]},"
          " \"status\": \"submitted\"}");
    valid("invoice",
          "{" IDS ", \"invoice_date\": \"2026-12-02\", \"due_date\": "
          "\"2027-01-01\", \"order\": {\"entity\": \"order\", \"id\": "
          "\"ord_01JD3V7Q8M5N4P3R2S1T0V9W8X\"},"
          " \"currency\": \"EUR\", \"lines\": [{\"item\": {\"description\": "
          "\"Gloves\"}, \"quantity\": 10, \"amount\": 125.0, \"tax\": "
          "{\"rate\": 19, \"amount\": 23.75, \"category\": \"S\"}}],"
          " \"subtotal\": 125.0, \"tax_total\": 23.75, \"total\": 148.75,"
          " \"payment_terms\": {\"net_days\": 30, \"discount_percent\": 2, "
          "\"discount_days\": 10, \"description\": \"2/10 net 30\"}}");
}

static void test_registry_rejects_an_unknown_field_at_its_pointer(void **state)
{
    (void)state;
    rejected("person", "{" IDS ", \"nickname\": \"JD\"}", "/nickname",
             "/additionalProperties");
    rejected("person",
             "{" IDS ", \"addresses\": [{\"city\": \"x\", \"zip\": \"1\"}]}",
             "/addresses/0/zip", "/$defs/address/additionalProperties");
    rejected("worker",
             "{" IDS ", \"person\": {\"entity\": \"person\", \"id\": "
             "\"per_01JD3V7Q8M5N4P3R2S1T0V9W8X\", \"name\": \"x\"}, "
             "\"employer\": {\"entity\": \"organization\", \"id\": "
             "\"org_01JD3V7Q8M5N4P3R2S1T0V9W8X\"}, \"hire_date\": "
             "\"2020-01-01\"}",
             "/person/name", "additionalProperties");
    rejected("invoice",
             "{" IDS ", \"invoice_date\": \"2026-01-01\", \"lines\": "
             "[{\"item\": {\"description\": \"x\"}, \"quantity\": 1, "
             "\"vat\": 1}]}",
             "/lines/0/vat", "additionalProperties");
}

static void test_registry_rejects_a_wrong_type(void **state)
{
    (void)state;
    rejected("person", "{" IDS ", \"name\": {\"given\": \"Amara\"}}",
             "/name/given", "/$defs/human_name/properties/given/type");
    rejected("order",
             "{" IDS ", \"order_date\": \"2026-01-01\", \"lines\": "
             "[{\"item\": {\"description\": \"x\"}, \"quantity\": \"10\"}]}",
             "/lines/0/quantity", "type");
    rejected("organization", "{" IDS ", \"name\": \"A\", \"active\": 1}",
             "/active", "type");
}

static void test_registry_rejects_a_bad_date(void **state)
{
    (void)state;
    rejected("person", "{" IDS ", \"birth_date\": \"1990-02-30\"}",
             "/birth_date", "/$defs/date/format");
    rejected("person", "{" IDS ", \"birth_date\": \"17/04/1990\"}",
             "/birth_date", "format");
    rejected("person", "{" IDS ", \"deceased\": \"2024-05-01\"}",
             "/deceased", "format");
    rejected("coverage",
             "{" IDS ", \"subscriber\": {\"entity\": \"person\", \"id\": "
             "\"per_01JD3V7Q8M5N4P3R2S1T0V9W8X\"}, \"period\": {\"start\": "
             "\"2026-13-01\"}}",
             "/period/start", "format");
}

static void test_registry_rejects_a_bad_enum(void **state)
{
    (void)state;
    rejected("person", "{" IDS ", \"gender\": \"dragon\"}", "/gender",
             "/properties/gender/enum");
    rejected("person",
             "{" IDS ", \"contacts\": [{\"system\": \"telex\", \"value\": "
             "\"1\"}]}",
             "/contacts/0/system", "enum");
    rejected("worker",
             "{" IDS ", \"person\": {\"entity\": \"person\", \"id\": "
             "\"per_01JD3V7Q8M5N4P3R2S1T0V9W8X\"}, \"employer\": "
             "{\"entity\": \"person\", \"id\": "
             "\"per_01JD3V7Q8M5N4P3R2S1T0V9W8X\"}, \"hire_date\": "
             "\"2020-01-01\"}",
             "/employer/entity", "enum");
}

static void test_registry_references_take_an_id_or_an_identifier(void **state)
{
    (void)state;
    const char *both =
        "{" IDS ", \"subscriber\": {\"entity\": \"person\", \"id\": "
        "\"per_01JD3V7Q8M5N4P3R2S1T0V9W8X\", \"identifier\": {\"system\": "
        "\"s\", \"value\": \"v\"}}}";
    rejected("coverage", both, "/subscriber", "oneOf");
    rejected("coverage",
             "{" IDS ", \"subscriber\": {\"entity\": \"person\"}}",
             "/subscriber", "oneOf");
    rejected("coverage",
             "{" IDS ", \"subscriber\": {\"entity\": \"person\", \"id\": "
             "\"org_01JD3V7Q8M5N4P3R2S1T0V9W8X\"}}",
             "/subscriber/id", "pattern");
}

static void test_registry_identifiers_are_required(void **state)
{
    (void)state;
    const char *entities[] = {"person", "organization", "worker",
                              "coverage", "order", "invoice"};
    for (size_t i = 0; i < 6; i++) {
        const lx_schema *s = NULL;
        assert_int_equal(lx_registry_get(shipped, entities[i], NULL, &s, NULL),
                         0);
        json_t *none = parse("{}"), *empty = parse("{\"identifiers\": []}");
        lx_schema_issue issues[8];
        size_t count = 0;
        assert_int_equal(lx_schema_validate_all(s, none, issues, 8, &count,
                                                NULL),
                         LX_ESCHEMA);
        assert_string_equal(issues[0].instance_ptr, "");
        assert_string_equal(issues[0].msg,
                            "required property 'identifiers' is missing");
        assert_int_equal(lx_schema_validate_all(s, empty, issues, 8, &count,
                                                NULL),
                         LX_ESCHEMA);
        bool found = false;
        for (size_t j = 0; j < count && j < 8; j++)
            found |= strcmp(issues[j].instance_ptr, "/identifiers") == 0 &&
                     strcmp(issues[j].keyword_ptr,
                            "/$defs/identifiers/minItems") == 0;
        assert_true(found);
        json_decref(none);
        json_decref(empty);
    }
    rejected("person", "{\"identifiers\": [{\"system\": \"urn:x\"}]}",
             "/identifiers/0", "required property 'value'");
}

/* Every object level of every shipped schema closes its property list. */
static void closed_everywhere(const char *file, const json_t *s,
                              const char *ptr)
{
    if (!json_is_object(s))
        return;
    /* A "$ref" sibling only narrows properties the target declares; the
     * target closes the object. */
    if (json_object_get(s, "properties") && !json_object_get(s, "$ref") &&
        !json_is_false(json_object_get(s, "additionalProperties")))
        fail_msg("%s%s: object schema without \"additionalProperties\": "
                 "false",
                 file, ptr);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)s, key, v)
    {
        char sub[512];
        snprintf(sub, sizeof(sub), "%s/%s", ptr, key);
        if (json_is_object(v)) {
            closed_everywhere(file, v, sub);
        } else if (json_is_array(v)) {
            for (size_t i = 0; i < json_array_size(v); i++)
                closed_everywhere(file, json_array_get(v, i), sub);
        }
    }
}

static void test_registry_shipped_schemas_close_every_object(void **state)
{
    (void)state;
    for (size_t i = 0; i < lx_registry_count(shipped); i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/schemas/canonical/%s/v1.json",
                 source_dir(), lx_registry_entity(shipped, i));
        json_t *doc = NULL;
        assert_int_equal(
            lx_json_load_file(path, LX_JSON_MAX_DEFAULT, &doc, NULL), 0);
        closed_everywhere(path, doc, "");
        const json_t *req = json_object_get(doc, "required");
        assert_string_equal(json_string_value(json_array_get(req, 0)),
                            "identifiers");
        json_decref(doc);
    }
}

static void test_registry_demo_records_validate(void **state)
{
    (void)state;
    static const struct {
        const char *file, *entity;
        bool ok;
    } demo[] = {{"person-hr.json", "person", true},
                {"person-ehr.json", "person", true},
                {"organization-hr.json", "organization", true},
                {"worker-hr.json", "worker", true},
                {"person-invalid.json", "person", false}};
    for (size_t i = 0; i < sizeof(demo) / sizeof(demo[0]); i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/appliance/demo/records/%s",
                 source_dir(), demo[i].file);
        json_t *rec = NULL;
        if (lx_json_load_file(path, LX_JSON_MAX_DEFAULT, &rec, NULL) != 0)
            continue; /* the demo is optional here */
        const lx_schema *s = NULL;
        assert_int_equal(
            lx_registry_get(shipped, demo[i].entity, NULL, &s, NULL), 0);
        lx_error err;
        lx_error_clear(&err);
        int rc = lx_schema_validate(s, rec, &err);
        if ((rc == 0) != demo[i].ok)
            fail_msg("%s: %s", demo[i].file, rc ? err.msg : "valid");
        json_decref(rec);
    }
}

/* ---- layouts, in a temporary directory ---- */

static char tmp_root[64];

static void write_file(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmp_root, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    mkdir(path, 0700);
    *slash = '/';
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void remove_tree(const char *path)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    assert_int_equal(system(cmd), 0);
}

static int make_tmp(void **state)
{
    (void)state;
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/lx-registry-XXXXXX");
    return mkdtemp(tmp_root) ? 0 : -1;
}

static int drop_tmp(void **state)
{
    (void)state;
    remove_tree(tmp_root);
    return 0;
}

static int load_tmp(lx_registry **reg, lx_error *err)
{
    lx_error_clear(err);
    return lx_registry_load(tmp_root, reg, err);
}

static void test_registry_latest_is_the_highest_version(void **state)
{
    (void)state;
    write_file("thing/v2.json", "{\"type\": \"string\"}");
    write_file("thing/v10.json", "{\"$schema\": \"" LX_REGISTRY_DRAFT
                                 "\", \"type\": \"integer\"}");
    write_file("thing/notes.txt", "not a schema");
    write_file("README.md", "beside the entity folders");
    lx_registry *reg = NULL;
    lx_error err;
    assert_int_equal(load_tmp(&reg, &err), 0);
    assert_int_equal(lx_registry_count(reg), 1);
    assert_int_equal(lx_registry_latest(reg, "thing"), 10);
    const lx_schema *latest = NULL, *v2 = NULL;
    assert_int_equal(lx_registry_get(reg, "thing", NULL, &latest, &err), 0);
    assert_int_equal(lx_registry_get(reg, "thing", "v2", &v2, &err), 0);
    assert_string_equal(lx_schema_name(latest), "thing/v10");
    json_t *three = json_integer(3);
    assert_int_equal(lx_schema_validate(latest, three, NULL), 0);
    assert_int_equal(lx_schema_validate(v2, three, NULL), LX_ESCHEMA);
    json_decref(three);
    lx_registry_destroy(&reg);
    assert_null(reg);
}

static void test_registry_located_compile_error_fails_the_load(void **state)
{
    (void)state;
    write_file("thing/v1.json", "{\n  \"properties\": {\n    \"a\": "
                                "{\"minLength\": -1}\n  }\n}\n");
    lx_registry *reg = (lx_registry *)1;
    lx_error err;
    assert_int_equal(load_tmp(&reg, &err), LX_ESCHEMA);
    assert_null(reg);
    assert_non_null(strstr(err.where, "thing/v1.json"));
    assert_int_equal(err.line, 3);
    assert_int_equal(err.column, 24);
    assert_non_null(strstr(err.msg, "thing/v1 at /properties/a/minLength"));
}

static void test_registry_other_dialects_are_refused(void **state)
{
    (void)state;
    write_file("thing/v1.json",
               "{\"$schema\": \"http://json-schema.org/draft-07/schema#\"}");
    lx_registry *reg = NULL;
    lx_error err;
    assert_int_equal(load_tmp(&reg, &err), LX_ESCHEMA);
    assert_int_equal(err.line, 1);
    assert_non_null(strstr(err.msg, "/$schema"));
}

static void test_registry_syntax_error_is_located(void **state)
{
    (void)state;
    write_file("thing/v1.json", "{\n \"type\": \"object\",\n}");
    lx_registry *reg = NULL;
    lx_error err;
    assert_int_equal(load_tmp(&reg, &err), LX_ESYNTAX);
    assert_int_equal(err.line, 3);
    assert_non_null(strstr(err.where, "thing/v1.json"));
}

static void test_registry_bad_names_are_refused(void **state)
{
    (void)state;
    lx_registry *reg = NULL;
    lx_error err;
    write_file("Thing/v1.json", "{}");
    assert_int_equal(load_tmp(&reg, &err), LX_EINVAL);
    assert_non_null(strstr(err.where, "Thing"));
    remove_tree(tmp_root);
    assert_int_equal(mkdir(tmp_root, 0700), 0);
    write_file("thing/v01.json", "{}");
    assert_int_equal(load_tmp(&reg, &err), LX_EINVAL);
    assert_non_null(strstr(err.where, "v01.json"));
    remove_tree(tmp_root);
    assert_int_equal(mkdir(tmp_root, 0700), 0);
    write_file("thing/latest.json", "{}");
    assert_int_equal(load_tmp(&reg, &err), LX_EINVAL);
}

static void test_registry_empty_or_missing_directory_is_not_found(
    void **state)
{
    (void)state;
    lx_registry *reg = NULL;
    lx_error err;
    assert_int_equal(load_tmp(&reg, &err), LX_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no schema"));
    lx_error_clear(&err);
    assert_int_equal(lx_registry_load("/nonexistent/lingua", &reg, &err),
                     LX_ENOTFOUND);
    assert_string_equal(err.where, "/nonexistent/lingua");
}

int main(void)
{
    const struct CMUnitTest shipped_tests[] = {
        cmocka_unit_test(test_registry_lists_the_six_entities_sorted),
        cmocka_unit_test(test_registry_unknown_entity_lists_known_entities),
        cmocka_unit_test(test_registry_unknown_version_lists_versions),
        cmocka_unit_test(test_registry_valid_record_of_each_entity),
        cmocka_unit_test(test_registry_rejects_an_unknown_field_at_its_pointer),
        cmocka_unit_test(test_registry_rejects_a_wrong_type),
        cmocka_unit_test(test_registry_rejects_a_bad_date),
        cmocka_unit_test(test_registry_rejects_a_bad_enum),
        cmocka_unit_test(
            test_registry_references_take_an_id_or_an_identifier),
        cmocka_unit_test(test_registry_identifiers_are_required),
        cmocka_unit_test(test_registry_shipped_schemas_close_every_object),
        cmocka_unit_test(test_registry_demo_records_validate),
    };
    const struct CMUnitTest layout_tests[] = {
        cmocka_unit_test_setup_teardown(
            test_registry_latest_is_the_highest_version, make_tmp, drop_tmp),
        cmocka_unit_test_setup_teardown(
            test_registry_located_compile_error_fails_the_load, make_tmp,
            drop_tmp),
        cmocka_unit_test_setup_teardown(
            test_registry_other_dialects_are_refused, make_tmp, drop_tmp),
        cmocka_unit_test_setup_teardown(test_registry_syntax_error_is_located,
                                        make_tmp, drop_tmp),
        cmocka_unit_test_setup_teardown(test_registry_bad_names_are_refused,
                                        make_tmp, drop_tmp),
        cmocka_unit_test_setup_teardown(
            test_registry_empty_or_missing_directory_is_not_found, make_tmp,
            drop_tmp),
    };
    int failed = cmocka_run_group_tests_name("registry (shipped)",
                                             shipped_tests, load_shipped,
                                             free_shipped);
    failed += cmocka_run_group_tests_name("registry (layouts)", layout_tests,
                                          NULL, NULL);
    return failed;
}
