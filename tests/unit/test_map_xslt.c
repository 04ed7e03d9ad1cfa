/* tests/unit/test_map_xslt.c: the XSLT step of mappings
 * (adapters/map/xslt.h): XML in and out, the JSON vocabulary, and the
 * security settings: no file, no network, no DTD, no entity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "adapters/map/map.h"
#include "adapters/map/xslt.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char person_xml[] =
    "<Person id=\"E-1\"><Name><Family>M\xc3\xbcller</Family><Given>Anna"
    "</Given><Given>Maria</Given></Name><Born>17.04.1990</Born></Person>";

static const char *fixture(const char *name, char *buf, size_t size)
{
    const char *src = getenv("LX_SOURCE_DIR");
    snprintf(buf, size, "%s/tests/unit/data/map/%s", src ? src : ".", name);
    return buf;
}

static lx_map *load(const char *name)
{
    char path[1024];
    lx_map *m = NULL;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_map_load(fixture(name, path, sizeof(path)), &m, &err);
    if (rc) {
        char line[1024];
        fprintf(stderr, "load: %s\n",
                lx_error_format(&err, line, sizeof(line)));
    }
    assert_int_equal(rc, 0);
    return m;
}

static lx_xslt *load_sheet(const char *name)
{
    char path[1024];
    lx_xslt *x = NULL;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_xslt_load(fixture(name, path, sizeof(path)), &x, &err),
                     0);
    return x;
}

/* Run the map on XML text; returns the code, *out the result. */
static int run_xml(const lx_map *m, const char *xml, json_t **out,
                   lx_error *err)
{
    json_t *in = json_string(xml);
    lx_error_clear(err);
    int rc = lx_map_run(m, LX_MAP_IN, in, NULL, out, NULL, err);
    json_decref(in);
    return rc;
}

static void test_map_xslt_xml_to_canonical_and_back(void **state)
{
    (void)state;
    lx_map *m = load("xslt-person.json");
    assert_true(lx_map_input_is_text(m, LX_MAP_IN));
    assert_false(lx_map_input_is_text(m, LX_MAP_OUT));
    json_t *canonical = NULL;
    lx_error err;
    assert_int_equal(run_xml(m, person_xml, &canonical, &err), 0);
    json_t *want = json_pack("{s:[{s:s, s:s}], s:{s:s, s:[s, s]}, s:s}",
                             "identifiers", "system", "urn:example:hr", "value",
                             "E-1", "name", "family", "M\xc3\xbcller", "given",
                             "Anna", "Maria", "birth_date", "1990-04-17");
    assert_true(json_equal(canonical, want));
    json_t *back = NULL;
    assert_int_equal(
        lx_map_run(m, LX_MAP_OUT, canonical, NULL, &back, NULL, &err), 0);
    assert_true(json_is_string(back));
    assert_string_equal(json_string_value(back), person_xml);
    json_decref(back);
    json_decref(want);
    json_decref(canonical);
    lx_map_destroy(&m);
}

static void test_map_xslt_text_output_is_parsed_as_json(void **state)
{
    (void)state;
    lx_map *m = load("xslt-text-json.json");
    json_t *out = NULL;
    lx_error err;
    assert_int_equal(run_xml(m, person_xml, &out, &err), 0);
    assert_string_equal(json_string_value(json_object_get(out, "family")),
                        "M\xc3\xbcller");
    json_decref(out);
    lx_map_destroy(&m);
}

static void expect_refused(const char *mapping, const char *reason)
{
    lx_map *m = load(mapping);
    json_t *out = (json_t *)1;
    lx_error err;
    assert_int_equal(run_xml(m, person_xml, &out, &err), LX_EINVAL);
    assert_null(out);
    if (!strstr(err.msg, reason))
        fprintf(stderr, "message: %s\n", err.msg);
    assert_non_null(strstr(err.msg, reason));
    assert_non_null(strstr(err.msg, "transform failed"));
    lx_map_destroy(&m);
}

static void test_map_xslt_cannot_read_files(void **state)
{
    (void)state;
    /* document('file:///etc/passwd') */
    expect_refused("xslt-read-file.json",
                   "Local file read for file:///etc/passwd refused");
}

static void test_map_xslt_cannot_reach_the_network(void **state)
{
    (void)state;
    expect_refused("xslt-read-network.json",
                   "Network file read for http://127.0.0.1:9/x.xml refused");
}

static void test_map_xslt_cannot_write_files(void **state)
{
    (void)state;
    unlink("/tmp/lingua-xslt-escape.txt");
    expect_refused("xslt-write-file.json",
                   "File write for /tmp/lingua-xslt-escape.txt refused");
    assert_int_not_equal(access("/tmp/lingua-xslt-escape.txt", F_OK), 0);
}

static void test_map_xslt_refuses_doctype_and_entities(void **state)
{
    (void)state;
    lx_map *m = load("xslt-person.json");
    const char *hostile[] = {
        /* XXE */
        "<?xml version=\"1.0\"?><!DOCTYPE Person [<!ENTITY x SYSTEM "
        "\"file:///etc/passwd\">]><Person id=\"1\"><Name><Family>&x;</Family>"
        "</Name></Person>",
        /* billion laughs */
        "<?xml version=\"1.0\"?><!DOCTYPE Person [<!ENTITY a \"aaaaaaaaaa\">"
        "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c "
        "\"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]><Person id=\"1\"><Name><Family>"
        "&c;</Family></Name></Person>",
        /* an external DTD */
        "<?xml version=\"1.0\"?><!DOCTYPE Person SYSTEM "
        "\"http://127.0.0.1:9/p.dtd\"><Person id=\"1\"/>",
    };
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        json_t *out = (json_t *)1;
        lx_error err;
        int rc = run_xml(m, hostile[i], &out, &err);
        assert_int_equal(rc, LX_ESYNTAX);
        assert_null(out);
        assert_non_null(strstr(err.msg, "step 'xml-in' (#1)"));
        assert_null(strstr(err.msg, "root:"));
    }
    lx_map_destroy(&m);
}

static void test_map_xslt_malformed_input_is_located(void **state)
{
    (void)state;
    lx_map *m = load("xslt-person.json");
    json_t *out = NULL;
    lx_error err;
    assert_int_equal(run_xml(m, "<Person>\n<Name>\n</Person>", &out, &err),
                     LX_ESYNTAX);
    assert_non_null(strstr(err.msg, "xml input is not well-formed"));
    assert_int_equal(err.line, 3);
    json_t *num = json_integer(1);
    assert_int_equal(lx_map_run(m, LX_MAP_IN, num, NULL, &out, NULL, &err),
                     LX_EINVAL);
    assert_non_null(strstr(err.msg, "must be a JSON string"));
    json_decref(num);
    lx_map_destroy(&m);
}

static void test_map_xslt_json_vocabulary_round_trips(void **state)
{
    (void)state;
    lx_xslt *x = load_sheet("xslt/identity.xsl");
    json_t *in = json_pack("{s:[i, f, b, n, s], s:{s:s, s:{}}, s:[]}", "a", 1,
                           2.5, 1, "x\xc3\xa9<&>", "b", "c", "d", "e", "f");
    json_t *out = NULL;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_xslt_run(x, in, LX_XSLT_JSON, LX_XSLT_JSON, &out, &err),
                     0);
    assert_true(json_equal(in, out));
    json_decref(out);
    /* and as XML text */
    assert_int_equal(lx_xslt_run(x, in, LX_XSLT_JSON, LX_XSLT_XML, &out, &err),
                     0);
    assert_non_null(strstr(json_string_value(out),
                           "<map xmlns=\"http://www.w3.org/2005/xpath-"
                           "functions\"><array key=\"a\"><number>1</number>"));
    json_decref(out);
    json_decref(in);
    lx_xslt_destroy(&x);
    assert_null(x);
}

static void test_map_xslt_bad_stylesheets_fail_at_load(void **state)
{
    (void)state;
    const char *bad[] = {"xslt/broken.xsl", "xslt/not-xslt.xsl",
                         "xslt/missing.xsl"};
    const int codes[] = {LX_ESYNTAX, LX_ESYNTAX, LX_EIO};
    for (size_t i = 0; i < 3; i++) {
        char path[1024];
        lx_xslt *x = (lx_xslt *)1;
        lx_error err;
        lx_error_clear(&err);
        assert_int_equal(
            lx_xslt_load(fixture(bad[i], path, sizeof(path)), &x, &err),
            codes[i]);
        assert_null(x);
        assert_string_equal(err.where, path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_xslt_xml_to_canonical_and_back),
        cmocka_unit_test(test_map_xslt_text_output_is_parsed_as_json),
        cmocka_unit_test(test_map_xslt_cannot_read_files),
        cmocka_unit_test(test_map_xslt_cannot_reach_the_network),
        cmocka_unit_test(test_map_xslt_cannot_write_files),
        cmocka_unit_test(test_map_xslt_refuses_doctype_and_entities),
        cmocka_unit_test(test_map_xslt_malformed_input_is_located),
        cmocka_unit_test(test_map_xslt_json_vocabulary_round_trips),
        cmocka_unit_test(test_map_xslt_bad_stylesheets_fail_at_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
