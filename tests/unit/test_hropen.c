/* tests/unit/test_hropen.c: the HR Open adapter on the JEDx examples of
 * the corpus: validation, mapping to canonical records that pass the
 * canonical schemas, the way back, and refusals with their location. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "adapters/hropen/hropen.h"
#include "canonical/registry.h"
#include "core/json.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMPLOYER_VALUE "ACME-EMPLOYER-1"
#define EXAMPLES "/hropen/jedx-api/examples"
#define WORKER_EX1 "workers-add-update-request-synthetic-example1_v1.json"
#define ORG_EX1 "organizations-add-update-request-synthetic-example1_v1.json"
#define BROKEN_EX                                                            \
    "worker-compensation-reports-add-update-request-synthetic-example1_v1."  \
    "json"

typedef struct fixture {
    lx_hropen *h;
    lx_registry *canonical;
} fixture;

/* Records handed over by the adapter, as [{entity, type, id, record}]. */
static int collect(void *ctx, const char *entity, const char *native_type,
                   const char *native_id, const json_t *record)
{
    json_array_append_new((json_t *)ctx,
                          json_pack("{s:s, s:s, s:s, s:O}", "entity", entity,
                                    "type", native_type, "id", native_id,
                                    "record", record));
    return 0;
}

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void corpus_path(char *out, size_t size, const char *name)
{
    const char *corpus = getenv("LX_CORPUS_DIR");
    assert_non_null(corpus);
    snprintf(out, size, "%s%s/%s", corpus, EXAMPLES, name);
}

static int setup(void **state)
{
    const char *src = getenv("LX_SOURCE_DIR");
    assert_non_null(src);
    char root[1024], canon[1024];
    snprintf(root, sizeof(root), "%s/schemas", src);
    snprintf(canon, sizeof(canon), "%s/schemas/canonical", src);
    fixture *fx = calloc(1, sizeof(*fx));
    lx_error err;
    lx_hropen_options opt = {LX_HROPEN_SYSTEM_ORG_ID, EMPLOYER_VALUE};
    assert_int_equal(lx_hropen_open(root, &opt, &fx->h, &err), 0);
    assert_int_equal(lx_registry_load(canon, &fx->canonical, &err), 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    lx_hropen_close(&fx->h);
    lx_registry_destroy(&fx->canonical);
    free(fx);
    return 0;
}

static int map_text(const lx_hropen *h, const char *text, size_t len,
                    json_t **records, lx_error *err)
{
    *records = json_array();
    return lx_hropen_to_canonical(h, text, len, NULL, collect, *records, err);
}

static void assert_canonical_valid(const fixture *fx, const json_t *records)
{
    size_t i;
    json_t *r;
    json_array_foreach(records, i, r) {
        const lx_schema *s = NULL;
        lx_error err;
        assert_int_equal(lx_registry_get(fx->canonical,
                                         json_string_value(json_object_get(
                                             r, "entity")),
                                         NULL, &s, &err),
                         0);
        int rc = lx_schema_validate(s, json_object_get(r, "record"), &err);
        if (rc != 0)
            fail_msg("%s record %zu: %s", lx_json_str(r, "entity"), i,
                     err.msg);
    }
}

/* Canonical -> HR Open -> canonical gives the same records. */
static void assert_round_trip(const fixture *fx, const json_t *records)
{
    json_t *workers = json_array(), *orgs = json_array();
    lx_error err;
    for (size_t i = 0; i < json_array_size(records); i++) {
        json_t *r = json_array_get(records, i);
        const char *entity = lx_json_str(r, "entity");
        json_t *native = NULL;
        if (strcmp(entity, "person") == 0) {
            json_t *w = json_array_get(records, i + 1);
            assert_string_equal(lx_json_str(w, "entity"), "worker");
            assert_int_equal(lx_hropen_worker_from_canonical(
                                 fx->h, json_object_get(r, "record"),
                                 json_object_get(w, "record"), NULL, &native,
                                 &err),
                             0);
            json_array_append_new(workers, native);
            i++;
        } else {
            assert_string_equal(entity, "organization");
            assert_int_equal(lx_hropen_organization_from_canonical(
                                 fx->h, json_object_get(r, "record"), NULL,
                                 &native, &err),
                             0);
            json_array_append_new(orgs, native);
        }
    }
    json_t *doc = json_array_size(workers)
                      ? json_pack("{s:O}", "workers", workers)
                      : json_pack("{s:O}", "organizations", orgs);
    char *text = json_dumps(doc, 0);
    json_t *again = NULL;
    int rc = map_text(fx->h, text, strlen(text), &again, &err);
    if (rc != 0)
        fail_msg("round trip: %s at %s", err.msg, err.where);
    assert_true(json_equal(again, records));
    free(text);
    json_decref(again);
    json_decref(doc);
    json_decref(workers);
    json_decref(orgs);
}

static bool is_supported_example(const char *name)
{
    return strncmp(name, "workers-", 8) == 0 ||
           strncmp(name, "organizations-", 14) == 0;
}

static void test_hropen_every_jedx_example_maps_validates_and_round_trips(
    void **state)
{
    fixture *fx = *state;
    char dir[1024];
    corpus_path(dir, sizeof(dir), "");
    DIR *d = opendir(dir);
    assert_non_null(d);
    int seen = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_supported_example(e->d_name))
            continue;
        char path[2048];
        corpus_path(path, sizeof(path), e->d_name);
        size_t len;
        char *text = read_text(path, &len);
        json_t *records = NULL;
        lx_error err;
        int rc = map_text(fx->h, text, len, &records, &err);
        if (rc != 0)
            fail_msg("%s: %s at %s", e->d_name, err.msg, err.where);
        assert_true(json_array_size(records) > 0);
        assert_canonical_valid(fx, records);
        assert_round_trip(fx, records);
        json_decref(records);
        free(text);
        seen++;
    }
    closedir(d);
    assert_int_equal(seen, 3); /* two worker requests, one organization */
}

static const json_t *record_of(const json_t *records, size_t i,
                               const char *entity)
{
    const json_t *r = json_array_get(records, i);
    assert_non_null(r);
    assert_string_equal(lx_json_str(r, "entity"), entity);
    return json_object_get(r, "record");
}

static void test_hropen_worker_example1_values(void **state)
{
    fixture *fx = *state;
    char path[2048];
    corpus_path(path, sizeof(path), WORKER_EX1);
    size_t len;
    char *text = read_text(path, &len);
    json_t *records = NULL;
    lx_error err;
    assert_int_equal(map_text(fx->h, text, len, &records, &err), 0);
    assert_int_equal(json_array_size(records), 2);

    const json_t *r0 = json_array_get(records, 0);
    assert_string_equal(lx_json_str(r0, "type"), "person");
    assert_string_equal(lx_json_str(r0, "id"), "00000001253");
    const json_t *p = record_of(records, 0, "person");
    const json_t *name = json_object_get(p, "name");
    assert_string_equal(lx_json_str(name, "family"), "Andrews");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(name, "given"), 0)),
        "Lia");
    assert_string_equal(lx_json_str(p, "gender"), "female");
    assert_string_equal(lx_json_str(p, "marital_status"), "married");
    const json_t *id0 = json_array_get(json_object_get(p, "identifiers"), 0);
    assert_string_equal(lx_json_str(id0, "system"),
                        LX_HROPEN_SYSTEM_WORKER_ID);
    assert_string_equal(lx_json_str(id0, "value"), "00000001253");

    const json_t *w = record_of(records, 1, "worker");
    assert_string_equal(lx_json_str(w, "hire_date"), "2016-02-05");
    assert_string_equal(lx_json_str(w, "status"), "active");
    assert_string_equal(lx_json_str(w, "job_title"), "Sr Accountant");
    assert_string_equal(lx_json_str(w, "employment_type"), "full_time");
    const json_t *employer = json_object_get(w, "employer");
    assert_string_equal(lx_json_str(employer, "entity"), "organization");
    const json_t *eid = json_object_get(employer, "identifier");
    assert_string_equal(lx_json_str(eid, "system"), LX_HROPEN_SYSTEM_ORG_ID);
    assert_string_equal(lx_json_str(eid, "value"), EMPLOYER_VALUE);
    const json_t *pref = json_object_get(w, "person");
    assert_string_equal(
        lx_json_str(json_object_get(pref, "identifier"), "value"),
        "00000001253");
    json_decref(records);
    free(text);
}

static void test_hropen_organization_example1_values(void **state)
{
    fixture *fx = *state;
    char path[2048];
    corpus_path(path, sizeof(path), ORG_EX1);
    size_t len;
    char *text = read_text(path, &len);
    json_t *records = NULL;
    lx_error err;
    assert_int_equal(map_text(fx->h, text, len, &records, &err), 0);
    assert_int_equal(json_array_size(records), 1);
    assert_string_equal(lx_json_str(json_array_get(records, 0), "id"),
                        "ORG12345");
    const json_t *o = record_of(records, 0, "organization");
    assert_string_equal(lx_json_str(o, "name"), "ACME Anvil Corporation");
    assert_true(json_is_true(json_object_get(o, "active")));
    assert_int_equal(json_array_size(json_object_get(o, "identifiers")), 3);
    const json_t *parent = json_object_get(o, "part_of");
    assert_string_equal(
        lx_json_str(json_object_get(parent, "identifier"), "value"),
        "PARENT12345");
    json_decref(records);
    free(text);
}

static void test_hropen_invalid_json_example_is_syntax_error_with_position(
    void **state)
{
    fixture *fx = *state;
    char path[2048];
    corpus_path(path, sizeof(path), BROKEN_EX);
    size_t len;
    char *text = read_text(path, &len);
    json_t *records = NULL;
    lx_error err;
    assert_int_equal(map_text(fx->h, text, len, &records, &err), LX_ESYNTAX);
    assert_int_equal(err.line, 4); /* the stray ']' upstream */
    assert_true(err.column > 0);
    assert_int_equal(json_array_size(records), 0);
    json_decref(records);
    free(text);
}

/* Take worker example 1, change it with `edit`, and expect a refusal. */
static void expect_refusal(fixture *fx, void (*edit)(json_t *worker),
                           int code, const char *where)
{
    char path[2048];
    corpus_path(path, sizeof(path), WORKER_EX1);
    json_t *doc = NULL;
    lx_error err;
    assert_int_equal(lx_json_load_file(path, 1 << 20, &doc, &err), 0);
    edit(json_array_get(json_object_get(doc, "workers"), 0));
    char *text = json_dumps(doc, JSON_INDENT(2));
    json_t *records = NULL;
    assert_int_equal(map_text(fx->h, text, strlen(text), &records, &err),
                     code);
    assert_string_equal(err.where, where);
    if (code == LX_ESCHEMA)
        assert_true(err.line > 0 && err.column > 0);
    assert_int_equal(json_array_size(records), 0); /* nothing mapped */
    json_decref(records);
    free(text);
    json_decref(doc);
}

static void edit_birth_date_number(json_t *w)
{
    json_object_set_new(json_object_get(w, "person"), "birthDate",
                        json_integer(19900417));
}

static void edit_hire_date_not_a_date(json_t *w)
{
    json_object_set_new(w, "originalHireDate", json_string("05/02/2016"));
}

static void edit_no_worker_id(json_t *w)
{
    json_object_del(w, "workerID");
}

static void edit_email_not_an_email(json_t *w)
{
    json_t *comm = json_object_get(json_object_get(w, "person"),
                                   "communication");
    json_object_set_new(json_array_get(json_object_get(comm, "emails"), 0),
                        "address", json_string("not an address"));
}

static void test_hropen_date_of_wrong_type_is_schema_error_at_pointer(
    void **state)
{
    expect_refusal(*state, edit_birth_date_number, LX_ESCHEMA,
                   "/workers/0/person/birthDate");
    expect_refusal(*state, edit_hire_date_not_a_date, LX_ESCHEMA,
                   "/workers/0/originalHireDate");
}

static void test_hropen_missing_worker_id_is_schema_error_at_pointer(
    void **state)
{
    expect_refusal(*state, edit_no_worker_id, LX_ESCHEMA, "/workers/0");
}

static void test_hropen_bad_email_is_schema_error_at_pointer(void **state)
{
    expect_refusal(*state, edit_email_not_an_email, LX_ESCHEMA,
                   "/workers/0/person/communication/emails/0/address");
}

static void test_hropen_worker_without_employer_is_refused(void **state)
{
    fixture *fx = *state;
    char root[1024];
    snprintf(root, sizeof(root), "%s/schemas", getenv("LX_SOURCE_DIR"));
    lx_hropen *plain = NULL;
    lx_error err;
    assert_int_equal(lx_hropen_open(root, NULL, &plain, &err), 0);
    fixture other = {plain, fx->canonical};
    char path[2048];
    corpus_path(path, sizeof(path), WORKER_EX1);
    size_t len;
    char *text = read_text(path, &len);
    json_t *records = NULL;
    assert_int_equal(map_text(other.h, text, len, &records, &err), LX_EINVAL);
    assert_string_equal(err.where, "/workers/0");
    assert_int_equal(json_array_size(records), 0);
    json_decref(records);
    free(text);
    lx_hropen_close(&plain);
}

static void test_hropen_employer_named_in_assignment_wins(void **state)
{
    fixture *fx = *state;
    static const char doc[] =
        "{\"workers\": [{\"workerID\": {\"value\": \"W9\"},"
        " \"person\": {\"name\": {\"family\": \"Roe\"}},"
        " \"originalHireDate\": \"2020-01-31\","
        " \"workAssignments\": [{\"organization\": {\"id\": {\"value\": "
        "\"ORG7\"}}, \"department\": {\"id\": {\"value\": \"D1\"},"
        " \"name\": \"Finance\"}}]}]}";
    json_t *records = NULL;
    lx_error err;
    assert_int_equal(map_text(fx->h, doc, strlen(doc), &records, &err), 0);
    const json_t *w = record_of(records, 1, "worker");
    const json_t *eid =
        json_object_get(json_object_get(w, "employer"), "identifier");
    assert_string_equal(lx_json_str(eid, "value"), "ORG7");
    assert_string_equal(
        lx_json_str(json_object_get(w, "department"), "name"), "Finance");
    assert_canonical_valid(fx, records);
    assert_round_trip(fx, records);
    json_decref(records);
}

static void test_hropen_other_documents_are_unsupported(void **state)
{
    fixture *fx = *state;
    const char *corpus = getenv("LX_CORPUS_DIR");
    static const char *const names[] = {
        "/hropen/samples/payrollProcessType_uc01.json",
        "/hropen/samples/employmentInstructionsType_nga_payment_1.json",
        "/hropen/jedx-api/examples/confim-message-example_v1.json",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char path[2048];
        snprintf(path, sizeof(path), "%s%s", corpus, names[i]);
        size_t len;
        char *text = read_text(path, &len);
        json_t *records = NULL;
        lx_error err;
        assert_int_equal(map_text(fx->h, text, len, &records, &err),
                         LX_EUNSUPPORTED);
        assert_int_equal(json_array_size(records), 0);
        json_decref(records);
        free(text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_hropen_every_jedx_example_maps_validates_and_round_trips),
        cmocka_unit_test(test_hropen_worker_example1_values),
        cmocka_unit_test(test_hropen_organization_example1_values),
        cmocka_unit_test(
            test_hropen_invalid_json_example_is_syntax_error_with_position),
        cmocka_unit_test(
            test_hropen_date_of_wrong_type_is_schema_error_at_pointer),
        cmocka_unit_test(
            test_hropen_missing_worker_id_is_schema_error_at_pointer),
        cmocka_unit_test(test_hropen_bad_email_is_schema_error_at_pointer),
        cmocka_unit_test(test_hropen_worker_without_employer_is_refused),
        cmocka_unit_test(test_hropen_employer_named_in_assignment_wins),
        cmocka_unit_test(test_hropen_other_documents_are_unsupported),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
