/* Unit tests of the FHIR R4 XML codec (adapters/fhir/xml.h) and its type
 * table (adapters/fhir/types.h), on the official HL7 examples of the corpus.
 *
 * The corpus holds XML twins of 7 JSON examples (corpus SOURCES.md). They
 * are not byte-for-byte the same resource, and the comparison allows
 * exactly these differences, nothing else:
 *
 * 1. meta.security. The XML files are the "spec form" of the examples and
 *    carry a meta.security tag (v3-ActReason HTEST, "test health data")
 *    that the "package form" JSON files lack (SOURCES.md, caveats). The
 *    JSON converted from XML has meta.security removed before comparing,
 *    and meta itself when nothing else is left in it.
 * 2. Whitespace in the narrative div. The JSON files were written by the
 *    HL7 publisher from its own copy of each example, so the indentation
 *    inside Narrative.div is not guaranteed to be the XML file's. In XHTML
 *    such whitespace does not change what is rendered (HTML collapses
 *    white space), so both divs are normalised before comparing: every run
 *    of XML white space (space, tab, CR, LF) becomes one space, and white
 *    space right after '>' or right before '<' is removed. Nothing else in
 *    the div is normalised: the markup, its escaping (&quot; in text, as
 *    the HL7 serializer writes it) and the text must be the same.
 *    test_fhir_xml_twins_divs_match_without_normalisation records that on
 *    this corpus the divs are in fact identical even without it.
 *
 * Round trips (JSON -> XML -> JSON, XML -> JSON -> XML -> JSON) compare
 * exactly, with no normalisation at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "adapters/fhir/types.h"
#include "adapters/fhir/xml.h"
#include "adapters/fhir/xml_int.h"
#include "core/json.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lx_fhir_types *types;

/* The XML twins: spec-form XML file, package-form JSON file. */
static const char *const twins[][2] = {
    {"bundle-transaction.xml", "Bundle-bundle-transaction.json"},
    {"coverage-example.xml", "Coverage-9876B1.json"},
    {"location-example.xml", "Location-1.json"},
    {"operationoutcome-example.xml", "OperationOutcome-101.json"},
    {"organization-example.xml", "Organization-hl7.json"},
    {"patient-example.xml", "Patient-example.json"},
    {"practitioner-example.xml", "Practitioner-example.json"},
};
#define NTWINS (sizeof(twins) / sizeof(twins[0]))

/* ---- helpers ------------------------------------------------------------ */

static const char *corpus_dir(void)
{
    const char *d = getenv("LX_CORPUS_DIR");
    return d ? d : "/work/shared/corpus";
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static char *corpus_file(const char *sub, const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/fhir/r4/%s/%s", corpus_dir(), sub, name);
    return read_file(path, len);
}

static json_t *corpus_json(const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/fhir/r4/json/%s", corpus_dir(), name);
    json_t *v = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (lx_json_load_file(path, LX_JSON_MAX_DEFAULT, &v, &err) != 0)
        fail_msg("%s: %s", path, err.msg);
    return v;
}

static void report_error(const char *what, const lx_error *err)
{
    char buf[1024];
    lx_error_format(err, buf, sizeof(buf));
    fprintf(stderr, "%s: %s (%s)\n", what, buf, lx_error_name(err->code));
}

static json_t *xml_to_json_ok(const char *xml, size_t len, const char *what)
{
    json_t *out = NULL;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_fhir_xml_to_json(types, xml, len, 0, &out, &err);
    if (rc != 0) {
        report_error(what, &err);
        fail_msg("%s: XML -> JSON failed", what);
    }
    assert_non_null(out);
    return out;
}

/* The XML text of a resource; free() it. */
static char *json_to_xml_ok(const json_t *v, const char *what, size_t *len)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_fhir_json_to_xml(types, v, &b, &err);
    if (rc != 0) {
        report_error(what, &err);
        lx_buf_fini(&b);
        fail_msg("%s: JSON -> XML failed", what);
    }
    return lx_buf_take(&b, len);
}

static void assert_json_equal(const json_t *got, const json_t *want,
                              const char *what)
{
    if (json_equal(got, want))
        return;
    char *g = json_dumps(got, JSON_INDENT(1) | JSON_SORT_KEYS);
    char *w = json_dumps(want, JSON_INDENT(1) | JSON_SORT_KEYS);
    fprintf(stderr, "%s: JSON differs\n--- got\n%s\n--- want\n%s\n", what, g,
            w);
    free(g);
    free(w);
    fail_msg("%s: JSON differs", what);
}

/* Difference 1 of the header: drop meta.security (and an emptied meta). */
static void drop_meta_security(json_t *resource)
{
    json_t *meta = json_object_get(resource, "meta");
    if (!meta)
        return;
    json_object_del(meta, "security");
    if (json_object_size(meta) == 0)
        json_object_del(resource, "meta");
}

/* Difference 2 of the header: XHTML white space. */
static char *normalise_ws(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n + 1);
    assert_non_null(out);
    size_t o = 0;
    int pending = 0;
    for (const char *p = s; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            pending = 1;
            continue;
        }
        if (pending && o > 0 && out[o - 1] != '>' && *p != '<')
            out[o++] = ' ';
        pending = 0;
        out[o++] = *p;
    }
    out[o] = '\0';
    return out;
}

static void normalise_divs(json_t *v)
{
    if (json_is_object(v)) {
        const char *key;
        json_t *x;
        json_object_foreach(v, key, x) {
            if (strcmp(key, "div") == 0 && json_is_string(x)) {
                char *n = normalise_ws(json_string_value(x));
                json_object_set_new(v, key, json_string(n));
                free(n);
            } else {
                normalise_divs(x);
            }
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            normalise_divs(x);
        }
    }
}

/* The element names of an XML text in document order (comments, the
 * declaration and end tags skipped), one per line. Enough to compare the
 * element order of two FHIR documents without an XML library. */
static char *tag_sequence(const char *xml)
{
    size_t cap = strlen(xml) + 1, o = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    for (const char *p = xml; (p = strchr(p, '<')) != NULL;) {
        if (strncmp(p, "<!--", 4) == 0) {
            const char *e = strstr(p, "-->");
            assert_non_null(e);
            p = e + 3;
            continue;
        }
        p++;
        if (*p == '/' || *p == '?' || *p == '!')
            continue;
        while (*p && !strchr(" \t\r\n/>", *p))
            out[o++] = *p++;
        out[o++] = '\n';
    }
    out[o] = '\0';
    return out;
}

/* ---- type table --------------------------------------------------------- */

static void test_fhir_types_lookup_by_parent_and_name(void **state)
{
    (void)state;
    const lx_fhir_type *patient = lx_fhir_types_find(types, "Patient", 7);
    assert_non_null(patient);
    assert_int_equal(lx_fhir_type_kind(patient), LX_FHIR_RESOURCE);

    const lx_fhir_element *e =
        lx_fhir_types_element(types, patient, "name", 4);
    assert_non_null(e);
    assert_true(e->is_array);
    assert_string_equal(lx_fhir_type_name(e->type), "HumanName");

    e = lx_fhir_types_element(types, patient, "deceasedDateTime", 16);
    assert_non_null(e);
    assert_false(e->is_array);
    assert_string_equal(lx_fhir_type_name(e->type), "dateTime");
    assert_int_equal(lx_fhir_type_json(e->type), LX_FHIR_JSON_STRING);

    e = lx_fhir_types_element(types, patient, "multipleBirthInteger", 20);
    assert_non_null(e);
    assert_int_equal(lx_fhir_type_json(e->type), LX_FHIR_JSON_NUMBER);

    e = lx_fhir_types_element(types, patient, "contained", 9);
    assert_non_null(e);
    assert_int_equal(lx_fhir_type_kind(e->type), LX_FHIR_ANY_RESOURCE);

    assert_null(lx_fhir_types_element(types, patient, "foo", 3));
    assert_null(lx_fhir_types_element(types, patient, "deceased", 8));

    const lx_fhir_type *ext = lx_fhir_types_find(types, "Extension", 9);
    assert_non_null(ext);
    e = lx_fhir_types_element(types, ext, "url", 3);
    assert_non_null(e);
    assert_true(e->is_attr);
    e = lx_fhir_types_element(types, ext, "valueBoolean", 12);
    assert_non_null(e);
    assert_int_equal(lx_fhir_type_json(e->type), LX_FHIR_JSON_BOOLEAN);

    /* Resource.id is an element, Element.id an attribute (xml.html). */
    assert_false(lx_fhir_types_element(types, patient, "id", 2)->is_attr);
    const lx_fhir_type *contact =
        lx_fhir_types_find(types, "Patient_Contact", 15);
    assert_non_null(contact);
    assert_int_equal(lx_fhir_type_kind(contact), LX_FHIR_BACKBONE);
    assert_true(lx_fhir_types_element(types, contact, "id", 2)->is_attr);

    /* Every resource of the brief, and definition order. */
    static const char *const resources[] = {
        "Patient",  "Practitioner",     "PractitionerRole", "Organization",
        "Coverage", "Bundle",           "OperationOutcome", "Location",
        "Parameters"};
    for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++) {
        const lx_fhir_type *t =
            lx_fhir_types_find(types, resources[i], strlen(resources[i]));
        assert_non_null(t);
        assert_int_equal(lx_fhir_type_kind(t), LX_FHIR_RESOURCE);
        assert_string_equal(lx_fhir_type_element_at(t, 0)->name, "id");
    }
    assert_int_equal(
        lx_fhir_types_element(types, patient, "birthDate", 9)->order + 1,
        lx_fhir_types_element(types, patient, "deceasedBoolean", 15)->order);
}

static void test_fhir_types_load_missing_file_is_eio(void **state)
{
    (void)state;
    lx_fhir_types *t = (lx_fhir_types *)1;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_fhir_types_load("/nonexistent/types.json", &t, &err),
                     LX_EIO);
    assert_null(t);
    lx_fhir_types_destroy(&t);
}

static void test_fhir_types_load_rejects_a_dangling_type(void **state)
{
    (void)state;
    char path[] = "/tmp/lx_fhir_types_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] =
        "{\"primitives\": {\"string\": \"string\", \"xhtml\": \"xhtml\"},"
        " \"types\": {\"Element\": {\"kind\": \"complex\", \"elements\": ["
        "{\"name\": \"id\", \"type\": \"string\", \"array\": false},"
        "{\"name\": \"extension\", \"type\": \"Extension\", \"array\": "
        "true}]}}}";
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    lx_fhir_types *t = NULL;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_fhir_types_load(path, &t, &err), LX_ECONFIG);
    assert_null(t);
    assert_non_null(strstr(err.msg, "/types/Element/elements/1"));
    remove(path);
}

/* ---- the XML twins ------------------------------------------------------ */

static void test_fhir_xml_twins_xml_to_json_equals_json(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTWINS; i++) {
        size_t len;
        char *xml = corpus_file("xml", twins[i][0], &len);
        json_t *got = xml_to_json_ok(xml, len, twins[i][0]);
        json_t *want = corpus_json(twins[i][1]);
        drop_meta_security(got);
        normalise_divs(got);
        normalise_divs(want);
        assert_json_equal(got, want, twins[i][0]);
        json_decref(got);
        json_decref(want);
        free(xml);
    }
}

static void test_fhir_xml_twins_divs_match_without_normalisation(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTWINS; i++) {
        size_t len;
        char *xml = corpus_file("xml", twins[i][0], &len);
        json_t *got = xml_to_json_ok(xml, len, twins[i][0]);
        json_t *want = corpus_json(twins[i][1]);
        drop_meta_security(got);
        assert_json_equal(got, want, twins[i][0]);
        json_decref(got);
        json_decref(want);
        free(xml);
    }
}

static void test_fhir_xml_twins_json_to_xml_to_json_round_trips(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTWINS; i++) {
        json_t *want = corpus_json(twins[i][1]);
        size_t len;
        char *xml = json_to_xml_ok(want, twins[i][1], &len);
        json_t *got = xml_to_json_ok(xml, len, twins[i][1]);
        assert_json_equal(got, want, twins[i][1]);
        json_decref(got);
        json_decref(want);
        free(xml);
    }
}

/* XML -> JSON -> XML -> JSON is stable, and the XML written has the
 * elements of the original in the original order: the order taken from
 * the JSON schema is the specification's. */
static void test_fhir_xml_twins_xml_json_xml_json_round_trips(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTWINS; i++) {
        size_t len, len2;
        char *xml = corpus_file("xml", twins[i][0], &len);
        json_t *j1 = xml_to_json_ok(xml, len, twins[i][0]);
        char *xml2 = json_to_xml_ok(j1, twins[i][0], &len2);
        json_t *j2 = xml_to_json_ok(xml2, len2, twins[i][0]);
        assert_json_equal(j2, j1, twins[i][0]);

        char *s1 = tag_sequence(xml), *s2 = tag_sequence(xml2);
        if (strcmp(s1, s2) != 0)
            fail_msg("%s: element order differs:\n%s\n---\n%s", twins[i][0],
                     s1, s2);
        free(s1);
        free(s2);
        json_decref(j1);
        json_decref(j2);
        free(xml);
        free(xml2);
    }
}

static void test_fhir_xml_every_corpus_json_round_trips(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/fhir/r4/json", corpus_dir());
    DIR *d = opendir(dir);
    assert_non_null(d);
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        json_t *want = corpus_json(de->d_name);
        size_t len;
        char *xml = json_to_xml_ok(want, de->d_name, &len);
        json_t *got = xml_to_json_ok(xml, len, de->d_name);
        assert_json_equal(got, want, de->d_name);
        json_decref(got);
        json_decref(want);
        free(xml);
        count++;
    }
    closedir(d);
    assert_true(count >= 27);
}

/* ---- rules on small documents ------------------------------------------- */

#define FHIR_OPEN "<Patient xmlns=\"http://hl7.org/fhir\">"

static json_t *convert(const char *xml)
{
    return xml_to_json_ok(xml, strlen(xml), "inline");
}

static void test_fhir_xml_primitive_id_and_extensions_go_to_underscore(
    void **state)
{
    (void)state;
    json_t *j = convert(
        FHIR_OPEN "<name><given value=\"Peter\"/>"
                  "<given id=\"g2\" value=\"James\"><extension url=\"u\">"
                  "<valueString value=\"x\"/></extension></given>"
                  "<given><extension url=\"v\"><valueBoolean value=\"true\"/>"
                  "</extension></given></name>"
                  "<birthDate id=\"b\" value=\"1974\"/></Patient>");
    json_t *want = json_loads(
        "{\"resourceType\": \"Patient\", \"name\": [{"
        "\"given\": [\"Peter\", \"James\", null],"
        "\"_given\": [null, {\"id\": \"g2\", \"extension\": [{\"url\": \"u\","
        " \"valueString\": \"x\"}]}, {\"extension\": [{\"url\": \"v\","
        " \"valueBoolean\": true}]}]}],"
        "\"birthDate\": \"1974\", \"_birthDate\": {\"id\": \"b\"}}",
        0, NULL);
    assert_non_null(want);
    assert_json_equal(j, want, "underscore");
    size_t len;
    char *xml = json_to_xml_ok(j, "underscore", &len);
    json_t *back = convert(xml);
    assert_json_equal(back, want, "underscore back");
    json_decref(back);
    free(xml);
    json_decref(j);
    json_decref(want);
}

static void test_fhir_xml_list_without_any_value_keeps_only_underscore(
    void **state)
{
    (void)state;
    json_t *j = convert(FHIR_OPEN
                        "<name><given><extension url=\"u\"><valueCode "
                        "value=\"a\"/></extension></given></name></Patient>");
    json_t *name = json_array_get(json_object_get(j, "name"), 0);
    assert_null(json_object_get(name, "given"));
    assert_int_equal(json_array_size(json_object_get(name, "_given")), 1);
    json_decref(j);
}

static void test_fhir_xml_numbers_and_booleans_are_typed(void **state)
{
    (void)state;
    json_t *j = xml_to_json_ok(
        "<Location xmlns=\"http://hl7.org/fhir\"><position>"
        "<longitude value=\"-83.6945691\"/><latitude value=\"42\"/>"
        "<altitude value=\"1.50\"/></position></Location>",
        strlen("<Location xmlns=\"http://hl7.org/fhir\"><position>"
               "<longitude value=\"-83.6945691\"/><latitude value=\"42\"/>"
               "<altitude value=\"1.50\"/></position></Location>"),
        "numbers");
    json_t *pos = json_object_get(j, "position");
    assert_true(json_is_real(json_object_get(pos, "longitude")));
    assert_true(json_is_integer(json_object_get(pos, "latitude")));
    assert_true(json_is_real(json_object_get(pos, "altitude")));
    json_decref(j);

    j = convert(FHIR_OPEN "<active value=\"false\"/>"
                          "<multipleBirthInteger value=\"2\"/></Patient>");
    assert_true(json_is_false(json_object_get(j, "active")));
    assert_int_equal(
        json_integer_value(json_object_get(j, "multipleBirthInteger")), 2);
    json_decref(j);
}

static void test_fhir_xml_contained_resources_are_unwrapped(void **state)
{
    (void)state;
    json_t *j = convert(
        FHIR_OPEN "<id value=\"p\"/><contained><Organization><id value=\"o\"/>"
                  "<name value=\"Acme\"/></Organization></contained>"
                  "<managingOrganization><reference value=\"#o\"/>"
                  "</managingOrganization></Patient>");
    json_t *c = json_array_get(json_object_get(j, "contained"), 0);
    assert_string_equal(lx_json_str(c, "resourceType"), "Organization");
    assert_string_equal(lx_json_str(c, "name"), "Acme");
    size_t len;
    char *xml = json_to_xml_ok(j, "contained", &len);
    assert_non_null(strstr(xml, "<contained><Organization><id value=\"o\"/>"));
    json_decref(j);
    free(xml);
}

static void test_fhir_xml_json_strings_are_escaped_and_survive(void **state)
{
    (void)state;
    json_t *j = json_loads(
        "{\"resourceType\": \"Patient\", \"id\": \"x\", \"name\": [{\"text\":"
        " \"a \\\"b\\\" <c> & 'd'\\n\\te\\r\"}], \"text\": {\"status\": "
        "\"generated\", \"div\": \"<div>a &amp; b</div>\"}}",
        0, NULL);
    assert_non_null(j);
    size_t len;
    char *xml = json_to_xml_ok(j, "escape", &len);
    assert_non_null(strstr(
        xml, "value=\"a &quot;b&quot; &lt;c&gt; &amp; 'd'&#10;&#9;e&#13;\""));
    /* A div without xmlns is taken as XHTML and gets it. */
    assert_non_null(
        strstr(xml, "<div xmlns=\"http://www.w3.org/1999/xhtml\">a &amp; b"));
    /* Elements in definition order: id, text, name. */
    assert_true(strstr(xml, "<id ") < strstr(xml, "<text>"));
    assert_true(strstr(xml, "<text>") < strstr(xml, "<name>"));
    json_t *back = convert(xml);
    assert_string_equal(
        lx_json_str(json_array_get(json_object_get(back, "name"), 0), "text"),
        "a \"b\" <c> & 'd'\n\te\r");
    json_decref(back);
    json_decref(j);
    free(xml);
}

/* ---- errors ------------------------------------------------------------- */

static int xml_error(const char *xml, lx_error *err)
{
    json_t *out = (json_t *)1;
    lx_error_clear(err);
    int rc = lx_fhir_xml_to_json(types, xml, strlen(xml), 0, &out, err);
    assert_null(out);
    return rc;
}

/* lx_fhir_json_check (no output, ceiling max_xml) answers exactly as
 * lx_fhir_json_to_xml into a buffer of that ceiling: code, message,
 * pointer, line and column. Returns the code. */
static int check_as_writer(const json_t *v, size_t max_xml, const char *what)
{
    lx_buf b;
    lx_buf_init(&b, max_xml);
    lx_error we, ce;
    lx_error_clear(&we);
    lx_error_clear(&ce);
    int wrc = lx_fhir_json_to_xml(types, v, &b, &we);
    int crc = lx_fhir_json_check(types, v, max_xml, &ce);
    lx_buf_fini(&b);
    if (wrc != crc || strcmp(we.msg, ce.msg) != 0 ||
        strcmp(we.where, ce.where) != 0 || we.line != ce.line ||
        we.column != ce.column)
        fail_msg("%s (ceiling %zu): writer %d '%s' at '%s', check %d '%s' "
                 "at '%s'",
                 what, max_xml, wrc, we.msg, we.where, crc, ce.msg,
                 ce.where);
    return crc;
}

static int json_error(const char *text, lx_error *err)
{
    json_t *v = json_loads(text, JSON_ALLOW_NUL, NULL);
    assert_non_null(v);
    lx_buf b;
    lx_buf_init(&b, 0);
    lx_error_clear(err);
    int rc = lx_fhir_json_to_xml(types, v, &b, err);
    assert_int_equal(b.len, 0); /* nothing left behind on error */
    lx_buf_fini(&b);
    assert_int_equal(check_as_writer(v, 0, text), rc);
    json_decref(v);
    return rc;
}

static void test_fhir_xml_doctype_with_external_entity_is_refused(
    void **state)
{
    (void)state;
    lx_error err;
    assert_int_equal(
        xml_error("<?xml version=\"1.0\"?>\n"
                  "<!DOCTYPE Patient [<!ENTITY e SYSTEM "
                  "\"file:///etc/passwd\">]>\n" FHIR_OPEN
                  "<id value=\"&e;\"/></Patient>",
                  &err),
        LX_ESYNTAX);
    assert_string_equal(err.msg, "DOCTYPE is not allowed in FHIR XML");
    assert_int_equal(err.line, 2);

    /* A parameter entity would be expanded inside the DTD itself. */
    assert_int_equal(
        xml_error("<!DOCTYPE x [<!ENTITY % p SYSTEM \"file:///etc/passwd\">"
                  "%p;]>" FHIR_OPEN "</Patient>",
                  &err),
        LX_ESYNTAX);
    assert_string_equal(err.msg, "DOCTYPE is not allowed in FHIR XML");

    /* An external DTD, and "billion laughs". */
    assert_int_equal(xml_error("<!DOCTYPE Patient SYSTEM "
                               "\"http://127.0.0.1:9/x.dtd\">" FHIR_OPEN
                               "</Patient>",
                               &err),
                     LX_ESYNTAX);
    assert_int_equal(
        xml_error("<!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b "
                  "\"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c "
                  "\"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>" FHIR_OPEN
                  "<id value=\"&c;\"/></Patient>",
                  &err),
        LX_ESYNTAX);
    assert_string_equal(err.msg, "DOCTYPE is not allowed in FHIR XML");

    /* Without a DOCTYPE an entity is simply undefined. */
    assert_int_equal(xml_error(FHIR_OPEN "<id value=\"&e;\"/></Patient>", &err),
                     LX_ESYNTAX);
}

static void test_fhir_xml_truncated_document_reports_its_line(void **state)
{
    (void)state;
    size_t len;
    char *xml = corpus_file("xml", "patient-example.xml", &len);
    size_t cut = len / 2;
    long lines = 1;
    for (size_t i = 0; i < cut; i++)
        lines += xml[i] == '\n';
    json_t *out = (json_t *)1;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_fhir_xml_to_json(types, xml, cut, 0, &out, &err),
                     LX_ESYNTAX);
    assert_null(out);
    assert_true(err.line >= lines - 1 && err.line <= lines);
    assert_non_null(strstr(err.msg, "not well-formed"));
    free(xml);
}

static void test_fhir_xml_wrong_namespace_is_refused(void **state)
{
    (void)state;
    lx_error err;
    assert_int_equal(
        xml_error("<Patient xmlns=\"http://hl7.org/fhir/x\"></Patient>", &err),
        LX_ESCHEMA);
    assert_non_null(strstr(err.msg, "namespace"));
    assert_int_equal(xml_error("<Patient><id value=\"x\"/></Patient>", &err),
                     LX_ESCHEMA);
    /* A child in another namespace. */
    assert_int_equal(
        xml_error(FHIR_OPEN "<x:id xmlns:x=\"urn:x\" value=\"a\"/></Patient>",
                  &err),
        LX_ESCHEMA);
    assert_string_equal(err.where, "Patient.id");
    /* A narrative div outside XHTML. */
    assert_int_equal(
        xml_error(FHIR_OPEN "<text><status value=\"generated\"/><div>x</div>"
                            "</text></Patient>",
                  &err),
        LX_ESCHEMA);
    assert_string_equal(err.where, "Patient.text.div");
}

static void test_fhir_xml_unknown_element_names_it_and_its_path(void **state)
{
    (void)state;
    lx_error err;
    assert_int_equal(xml_error(FHIR_OPEN "<id value=\"x\"/>\n<foo value=\"1\"/>"
                                         "</Patient>",
                               &err),
                     LX_ESCHEMA);
    assert_string_equal(err.where, "Patient.foo");
    assert_non_null(strstr(err.msg, "'foo'"));
    assert_int_equal(err.line, 2);

    assert_int_equal(
        xml_error(FHIR_OPEN "<name><given value=\"a\"/></name><name>"
                            "<given value=\"a\"/><given value=\"b\"><bar/>"
                            "</given></name></Patient>",
                  &err),
        LX_ESCHEMA);
    assert_string_equal(err.where, "Patient.name[1].given[1].bar");

    /* Not a resource at all, an unknown attribute, a repeated single. */
    assert_int_equal(
        xml_error("<HumanName xmlns=\"http://hl7.org/fhir\"/>", &err),
        LX_ESCHEMA);
    assert_int_equal(
        xml_error(FHIR_OPEN "<gender value=\"male\" foo=\"1\"/></Patient>",
                  &err),
        LX_ESCHEMA);
    assert_string_equal(err.where, "Patient.gender");
    assert_int_equal(
        xml_error(FHIR_OPEN "<gender value=\"male\"/><gender value=\"male\"/>"
                            "</Patient>",
                  &err),
        LX_ESCHEMA);
    assert_int_equal(
        xml_error(FHIR_OPEN "<gender value=\"male\">m</gender></Patient>",
                  &err),
        LX_ESCHEMA);
    assert_int_equal(xml_error(FHIR_OPEN "<gender/></Patient>", &err),
                     LX_ESCHEMA);
}

static void test_fhir_xml_decimal_that_is_not_a_number_is_refused(
    void **state)
{
    (void)state;
    lx_error err;
    assert_int_equal(
        xml_error("<Location xmlns=\"http://hl7.org/fhir\"><position>\n"
                  "<longitude value=\"12,5\"/><latitude value=\"1\"/>"
                  "</position></Location>",
                  &err),
        LX_ESCHEMA);
    assert_string_equal(err.where, "Location.position.longitude");
    assert_int_equal(err.line, 2);
    assert_non_null(strstr(err.msg, "decimal"));
    static const char *const bad[] = {"abc", "1.", ".5", "1e", "--1", "01",
                                      " 1", "NaN", "1e99999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char xml[256];
        snprintf(xml, sizeof(xml),
                 "<Location xmlns=\"http://hl7.org/fhir\"><position>"
                 "<longitude value=\"%s\"/><latitude value=\"1\"/>"
                 "</position></Location>",
                 bad[i]);
        assert_int_equal(xml_error(xml, &err), LX_ESCHEMA);
    }
    assert_int_equal(xml_error(FHIR_OPEN "<active value=\"yes\"/></Patient>",
                               &err),
                     LX_ESCHEMA);
    assert_int_equal(
        xml_error(FHIR_OPEN "<multipleBirthInteger value=\"2147483648\"/>"
                            "</Patient>",
                  &err),
        LX_ESCHEMA);
}

static void test_fhir_xml_deep_nesting_is_elimit(void **state)
{
    (void)state;
    /* Extensions inside extensions: valid FHIR, but 150 deep. */
    lx_buf b;
    lx_buf_init(&b, 0);
    assert_int_equal(lx_buf_puts(&b, FHIR_OPEN), 0);
    for (int i = 0; i < 150; i++)
        assert_int_equal(lx_buf_puts(&b, "<extension url=\"u\">"), 0);
    for (int i = 0; i < 150; i++)
        assert_int_equal(lx_buf_puts(&b, "</extension>"), 0);
    assert_int_equal(lx_buf_puts(&b, "</Patient>"), 0);
    lx_error err;
    assert_int_equal(xml_error(b.data, &err), LX_ELIMIT);
    assert_non_null(strstr(err.where, "Patient.extension[0].extension[0]"));

    /* The same as JSON. */
    lx_buf_reset(&b);
    assert_int_equal(lx_buf_puts(&b, "{\"resourceType\":\"Patient\""), 0);
    for (int i = 0; i < 150; i++)
        assert_int_equal(lx_buf_puts(&b, ",\"extension\":[{\"url\":\"u\""),
                         0);
    for (int i = 0; i < 150; i++)
        assert_int_equal(lx_buf_puts(&b, "}]"), 0);
    assert_int_equal(lx_buf_puts(&b, "}"), 0);
    assert_int_equal(json_error(b.data, &err), LX_ELIMIT);

    /* Deeper than libxml2's own limit, in a narrative. */
    lx_buf_reset(&b);
    assert_int_equal(
        lx_buf_puts(&b, FHIR_OPEN "<text><status value=\"generated\"/>"
                                  "<div xmlns=\"http://www.w3.org/1999/"
                                  "xhtml\">"),
        0);
    for (int i = 0; i < 300; i++)
        assert_int_equal(lx_buf_puts(&b, "<b>"), 0);
    for (int i = 0; i < 300; i++)
        assert_int_equal(lx_buf_puts(&b, "</b>"), 0);
    assert_int_equal(lx_buf_puts(&b, "</div></text></Patient>"), 0);
    int rc = xml_error(b.data, &err);
    assert_true(rc == LX_ELIMIT || rc == LX_ESYNTAX);
    lx_buf_fini(&b);
}

static void test_fhir_xml_over_max_len_is_elimit(void **state)
{
    (void)state;
    static const char xml[] = FHIR_OPEN "<id value=\"x\"/></Patient>";
    json_t *out = (json_t *)1;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(
        lx_fhir_xml_to_json(types, xml, strlen(xml), 10, &out, &err),
        LX_ELIMIT);
    assert_null(out);
}

static void test_fhir_json_unknown_property_is_located(void **state)
{
    (void)state;
    lx_error err;
    assert_int_equal(json_error("{\"resourceType\": \"Patient\", \"name\": "
                                "[{\"family\": \"A\"}, {\"foo\": 1}]}",
                                &err),
                     LX_ESCHEMA);
    assert_string_equal(err.where, "/name/1/foo");
    assert_non_null(strstr(err.msg, "'foo'"));

    assert_int_equal(json_error("{\"resourceType\": \"Spaceship\"}", &err),
                     LX_ESCHEMA);
    assert_string_equal(err.where, "/resourceType");
    assert_int_equal(json_error("{\"id\": \"x\"}", &err), LX_ESCHEMA);
}

static void test_fhir_json_wrong_value_types_are_located(void **state)
{
    (void)state;
    lx_error err;
    assert_int_equal(json_error("{\"resourceType\": \"Location\", "
                                "\"position\": {\"longitude\": \"1.5\"}}",
                                &err),
                     LX_ESCHEMA);
    assert_string_equal(err.where, "/position/longitude");
    assert_int_equal(
        json_error("{\"resourceType\": \"Patient\", \"active\": \"true\"}",
                   &err),
        LX_ESCHEMA);
    assert_int_equal(
        json_error("{\"resourceType\": \"Patient\", \"gender\": 1}", &err),
        LX_ESCHEMA);
    assert_int_equal(
        json_error("{\"resourceType\": \"Patient\", \"name\": {}}", &err),
        LX_ESCHEMA);
    assert_string_equal(err.where, "/name");
    assert_int_equal(json_error("{\"resourceType\": \"Patient\", \"name\": "
                                "[{\"given\": [\"a\"], \"_given\": [null, "
                                "null]}]}",
                                &err),
                     LX_ESCHEMA);
    assert_string_equal(err.where, "/name/0/_given");
    assert_int_equal(json_error("{\"resourceType\": \"Patient\", "
                                "\"_name\": {}}",
                                &err),
                     LX_ESCHEMA);
    assert_int_equal(
        json_error("{\"resourceType\": \"Patient\", \"id\": \"a\\u0000b\"}",
                   &err),
        LX_ESCHEMA);
    assert_int_equal(json_error("{\"resourceType\": \"Patient\", \"text\": "
                                "{\"status\": \"generated\", \"div\": "
                                "\"<div xmlns=\\\"http://www.w3.org/1999/"
                                "xhtml\\\">x</p>\"}}",
                                &err),
                     LX_ESYNTAX);
    assert_string_equal(err.where, "/text/div");
    assert_int_equal(json_error("{\"resourceType\": \"Patient\", \"text\": "
                                "{\"status\": \"generated\", \"div\": "
                                "\"<p>x</p>\"}}",
                                &err),
                     LX_ESCHEMA);
}

static void test_fhir_json_output_limit_is_elimit_and_leaves_buffer(
    void **state)
{
    (void)state;
    json_t *v = corpus_json("Patient-example.json");
    lx_buf b;
    lx_buf_init(&b, 100);
    assert_int_equal(lx_buf_puts(&b, "keep"), 0);
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_fhir_json_to_xml(types, v, &b, &err), LX_ELIMIT);
    assert_string_equal(b.data, "keep");
    lx_buf_fini(&b);
    json_decref(v);
}

/* The structure check without output agrees with the writer on every
 * corpus resource, and on where the output ceiling is passed: at every
 * ceiling from 0 to past the XML's length (stepping through the
 * narrative, which the check writes aside). */
static void test_fhir_json_check_agrees_with_the_writer(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/fhir/r4/json", corpus_dir());
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    size_t files = 0;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0)
            continue;
        json_t *v = corpus_json(de->d_name);
        check_as_writer(v, 0, de->d_name);
        files++;
        json_decref(v);
    }
    closedir(d);
    assert_true(files >= 20);
    json_t *v = corpus_json("Patient-example.json");
    size_t len = 0;
    free(json_to_xml_ok(v, "Patient-example.json", &len));
    for (size_t max = 1; max <= len + 1; max += max < 64 ? 1 : 7)
        assert_int_equal(check_as_writer(v, max, "Patient-example.json"),
                         max >= len ? 0 : LX_ELIMIT);
    assert_int_equal(check_as_writer(v, len, "Patient-example.json"), 0);
    assert_int_equal(check_as_writer(v, len - 1, "Patient-example.json"),
                     LX_ELIMIT);
    json_decref(v);
}

/* The narrative's quick check takes every corpus narrative (else it
 * saves nothing), with a bound on what the writer writes; and with seeded
 * mutations of the Patient's div (markup, references, UTF-8, controls),
 * lx_fhir_json_check still answers exactly as the writer, whichever path
 * each div takes. */
static void test_fhir_json_check_narrative_quick_path_agrees(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTWINS; i++) {
        json_t *v = corpus_json(twins[i][1]);
        json_t *div = json_object_get(json_object_get(v, "text"), "div");
        if (!div) {
            json_decref(v);
            continue;
        }
        size_t bound = 0;
        assert_true(lx_fhir_xhtml_quick_check(json_string_value(div),
                                              json_string_length(div), 3,
                                              &bound));
        xmlDoc *doc = NULL;
        lx_error err;
        lx_error_clear(&err);
        assert_int_equal(lx_fhir_xml_parse(json_string_value(div),
                                           json_string_length(div), &doc,
                                           &err),
                         0);
        lx_buf b;
        lx_buf_init(&b, 0);
        long line = 0;
        assert_int_equal(lx_fhir_xhtml_write(&b, xmlDocGetRootElement(doc), 3,
                                             &line, &err),
                         0);
        assert_true(b.len <= bound);
        lx_buf_fini(&b);
        xmlFreeDoc(doc);
        json_decref(v);
    }
    /* Left to libxml2: a prefix, a comment, an entity it does not know,
     * a name long enough to meet its limits. */
    static const char *const unsure[] = {
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"><x:p>a</x:p></div>",
        "<div><!-- c --></div>", "<div>&nbsp;</div>", "<div>a]]>b</div>",
        "<div xmlns=\"urn:other\">a</div>", "<p>a</p>", " <div/>",
    };
    size_t bound;
    for (size_t i = 0; i < sizeof(unsure) / sizeof(unsure[0]); i++)
        assert_false(lx_fhir_xhtml_quick_check(unsure[i], strlen(unsure[i]),
                                               3, &bound));
    char longname[2100] = "<div><";
    memset(longname + 6, 'b', 2000);
    memcpy(longname + 2006, "/></div>", 9);
    assert_false(lx_fhir_xhtml_quick_check(longname, strlen(longname), 3,
                                           &bound));
    assert_true(lx_fhir_xhtml_quick_check("<div><b a='1' c=\"&amp;\"/>x"
                                          "&#x41;</div>",
                                          38, 3, &bound));
    json_t *v = corpus_json("Patient-example.json");
    json_t *text = json_object_get(v, "text");
    const char *orig = json_string_value(json_object_get(text, "div"));
    size_t len = strlen(orig);
    static const unsigned char picks[] = {
        '<', '>', '&', ';', '#', 'x', '/', '"', '\'', '=', ':', '!', '?',
        ']', ' ', '-', 'a', '0', 0x01, 0x0d, 0x7f, 0x80, 0xc2, 0xc3, 0xe0,
        0xed, 0xef, 0xbf, 0xbe, 0xf4, 0xff};
    char *buf = malloc(len + 2);
    assert_non_null(buf);
    uint64_t seed = 42;
    size_t ok = 0, quick = 0;
    for (int i = 0; i < 4000; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        size_t at = (size_t)(seed >> 33) % len;
        unsigned char c = picks[(seed >> 20) % sizeof(picks)];
        int op = (int)((seed >> 12) % 3);
        size_t n = len;
        if (op == 0) {
            memcpy(buf, orig, len);
            buf[at] = (char)c;
        } else if (op == 1) {
            memcpy(buf, orig, at);
            memcpy(buf + at, orig + at + 1, len - at - 1);
            n = len - 1;
        } else {
            memcpy(buf, orig, at);
            buf[at] = (char)c;
            memcpy(buf + at + 1, orig + at, len - at);
            n = len + 1;
        }
        json_t *m = json_deep_copy(v);
        json_object_set_new(json_object_get(m, "text"), "div",
                            json_stringn_nocheck(buf, n));
        char what[64];
        snprintf(what, sizeof(what), "div mutation %d (op %d at %zu)", i, op,
                 at);
        if (check_as_writer(m, 0, what) == 0)
            ok++;
        if (lx_fhir_xhtml_quick_check(buf, n, 3, &bound))
            quick++;
        json_decref(m);
    }
    /* Both verdicts were exercised. */
    assert_true(ok > 200 && ok < 3900);
    assert_true(quick > 200 && quick < ok);
    free(buf);
    json_decref(v);
}

/* The narrative as libxml2's path writes it (lx_fhir_xml_parse +
 * lx_fhir_xhtml_write); NULL when that path refuses it. free() it. */
static char *div_by_libxml2(const char *text, size_t len)
{
    xmlDoc *doc = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (lx_fhir_xml_parse(text, len, &doc, &err) != 0)
        return NULL;
    lx_buf b;
    lx_buf_init(&b, 0);
    long line = 0;
    int rc = lx_fhir_xhtml_write(&b, xmlDocGetRootElement(doc), 3, &line,
                                 &err);
    xmlFreeDoc(doc);
    if (rc != 0) {
        lx_buf_fini(&b);
        return NULL;
    }
    return lx_buf_take(&b, NULL);
}

/* When the quick write takes a div, it writes libxml2's bytes exactly. */
static bool quick_write_as_libxml2(const char *text, size_t len,
                                   const char *what)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    assert_int_equal(lx_buf_puts(&b, "<x>"), 0);
    bool taken = lx_fhir_xhtml_quick_write(&b, text, len, 3);
    if (!taken) {
        assert_string_equal(b.data, "<x>");
        lx_buf_fini(&b);
        return false;
    }
    char *want = div_by_libxml2(text, len);
    if (!want)
        fail_msg("%s: quick write took a div libxml2 refuses", what);
    if (strcmp(b.data + 3, want) != 0)
        fail_msg("%s:\n  quick   %s\n  libxml2 %s", what, b.data + 3, want);
    free(want);
    lx_buf_fini(&b);
    return true;
}

static void test_fhir_xml_narrative_quick_write_is_libxml2s(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "<div xmlns=\"http://www.w3.org/1999/xhtml\">a</div>",
        "<div>no namespace</div>",
        "<div class='c' xmlns=\"http://www.w3.org/1999/xhtml\" id=\"x\"/>",
        "<div><p></p><br/><p> </p><b a='x\"y' c=\"&lt;&amp;&gt;\">t</b></div>",
        "<div>a\r\nb\rc\n\td &#13;&#10;&#9;&#x41;&#233;&#x1F600; \"q\" "
        "'s' &gt; &quot;&apos;</div>",
        "<div><p title=\"a\r\nb\rc\td&#10;&#9;&#13;e\">x</p></div>",
        "<div><p xmlns=\"http://www.w3.org/1999/xhtml\">inner</p></div>",
        "<div\n  xmlns=\"http://www.w3.org/1999/xhtml\"\n>\n <table>\n <tr>"
        "<td>caf\xc3\xa9</td></tr></table>\n</div >\n",
        "<div><a href=\"http://x/?a=1&amp;b=2\">&#60;link&#62;</a></div>",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_true(quick_write_as_libxml2(cases[i], strlen(cases[i]),
                                           cases[i]));
    for (size_t i = 0; i < NTWINS; i++) {
        json_t *v = corpus_json(twins[i][1]);
        json_t *div = json_object_get(json_object_get(v, "text"), "div");
        if (div)
            assert_true(quick_write_as_libxml2(json_string_value(div),
                                               json_string_length(div),
                                               twins[i][1]));
        json_decref(v);
    }
    /* Seeded mutations of the Patient's div: whatever the quick write
     * takes, it writes as libxml2's path does. */
    json_t *v = corpus_json("Patient-example.json");
    const char *orig = json_string_value(
        json_object_get(json_object_get(v, "text"), "div"));
    size_t len = strlen(orig);
    static const unsigned char picks[] = {
        '<', '>', '&', ';', '#', 'x', '/', '"', '\'', '=', ' ', '\r', '\n',
        '\t', 'a', '0', 0xc3, 0xa9};
    char *buf = malloc(len + 2);
    assert_non_null(buf);
    uint64_t seed = 7;
    size_t taken = 0;
    for (int i = 0; i < 4000; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        size_t at = (size_t)(seed >> 33) % len;
        unsigned char c = picks[(seed >> 20) % sizeof(picks)];
        memcpy(buf, orig, at);
        buf[at] = (char)c;
        memcpy(buf + at + 1, orig + at, len - at);
        char what[64];
        snprintf(what, sizeof(what), "div insertion %d at %zu", i, at);
        if (quick_write_as_libxml2(buf, len + 1, what))
            taken++;
    }
    assert_true(taken > 500);
    free(buf);
    json_decref(v);
}

static int setup(void **state)
{
    (void)state;
    const char *src = getenv("LX_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/schemas/fhir/r4/types.json",
             src ? src : ".");
    lx_error err;
    lx_error_clear(&err);
    lx_fhir_xml_init();
    if (lx_fhir_types_load(path, &types, &err) != 0) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lx_fhir_types_destroy(&types);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fhir_types_lookup_by_parent_and_name),
        cmocka_unit_test(test_fhir_types_load_missing_file_is_eio),
        cmocka_unit_test(test_fhir_types_load_rejects_a_dangling_type),
        cmocka_unit_test(test_fhir_xml_twins_xml_to_json_equals_json),
        cmocka_unit_test(test_fhir_xml_twins_divs_match_without_normalisation),
        cmocka_unit_test(test_fhir_xml_twins_json_to_xml_to_json_round_trips),
        cmocka_unit_test(test_fhir_xml_twins_xml_json_xml_json_round_trips),
        cmocka_unit_test(test_fhir_xml_every_corpus_json_round_trips),
        cmocka_unit_test(
            test_fhir_xml_primitive_id_and_extensions_go_to_underscore),
        cmocka_unit_test(
            test_fhir_xml_list_without_any_value_keeps_only_underscore),
        cmocka_unit_test(test_fhir_xml_numbers_and_booleans_are_typed),
        cmocka_unit_test(test_fhir_xml_contained_resources_are_unwrapped),
        cmocka_unit_test(test_fhir_xml_json_strings_are_escaped_and_survive),
        cmocka_unit_test(
            test_fhir_xml_doctype_with_external_entity_is_refused),
        cmocka_unit_test(test_fhir_xml_truncated_document_reports_its_line),
        cmocka_unit_test(test_fhir_xml_wrong_namespace_is_refused),
        cmocka_unit_test(test_fhir_xml_unknown_element_names_it_and_its_path),
        cmocka_unit_test(
            test_fhir_xml_decimal_that_is_not_a_number_is_refused),
        cmocka_unit_test(test_fhir_xml_deep_nesting_is_elimit),
        cmocka_unit_test(test_fhir_xml_over_max_len_is_elimit),
        cmocka_unit_test(test_fhir_json_unknown_property_is_located),
        cmocka_unit_test(test_fhir_json_wrong_value_types_are_located),
        cmocka_unit_test(test_fhir_json_check_agrees_with_the_writer),
        cmocka_unit_test(test_fhir_json_check_narrative_quick_path_agrees),
        cmocka_unit_test(test_fhir_xml_narrative_quick_write_is_libxml2s),
        cmocka_unit_test(
            test_fhir_json_output_limit_is_elimit_and_leaves_buffer),
    };
    return cmocka_run_group_tests_name("fhir_xml", tests, setup, teardown);
}
