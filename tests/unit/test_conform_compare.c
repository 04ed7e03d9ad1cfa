/* Unit tests of the conformance comparator (conformance/compare.h): what
 * counts as the same document, and how a difference is reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conformance/compare.h"

#include <string.h>

/* Compare two documents of a kind; the diff lines joined with '\n'. */
static bool same(lx_conform_doc kind, const char *e, const char *a,
                 char *lines, size_t size)
{
    lx_conform_diffs d;
    lx_conform_diffs_init(&d);
    bool eq = lx_conform_doc_equal(kind, e, strlen(e), a, strlen(a), "", &d);
    size_t n = 0;
    lines[0] = '\0';
    for (size_t i = 0; i < d.count && n < size; i++)
        n += (size_t)snprintf(lines + n, size - n, "%s\n", d.lines[i]);
    assert_true(eq == (d.total == 0));
    lx_conform_diffs_fini(&d);
    return eq;
}

static void test_conform_json_key_order_and_number_forms_do_not_count(
    void **state)
{
    (void)state;
    char out[2048];
    assert_true(same(LX_CONFORM_DOC_JSON,
                     "{\"a\": 1, \"b\": [1.5, 2], \"c\": {\"x\": true}}",
                     "{\"c\":{\"x\":true},\"b\":[1.50,2.0],\"a\":1e0}", out,
                     sizeof(out)));
}

static void test_conform_json_diff_names_path_and_both_values(void **state)
{
    (void)state;
    char out[2048];
    assert_false(same(LX_CONFORM_DOC_JSON,
                      "{\"name\": {\"given\": [\"Peter\", \"James\"]}, "
                      "\"gender\": \"male\", \"birth_date\": \"1974-12-25\"}",
                      "{\"name\": {\"given\": [\"Peter\", \"Jim\"]}, "
                      "\"gender\": \"female\", \"active\": true}",
                      out, sizeof(out)));
    assert_non_null(
        strstr(out, "/name/given/1: expected \"James\", got \"Jim\"\n"));
    assert_non_null(
        strstr(out, "/gender: expected \"male\", got \"female\"\n"));
    assert_non_null(
        strstr(out, "/birth_date: missing (expected \"1974-12-25\")\n"));
    assert_non_null(strstr(out, "/active: unexpected member (got true)\n"));
}

static void test_conform_json_any_matches_a_present_value(void **state)
{
    (void)state;
    char out[2048];
    assert_true(same(LX_CONFORM_DOC_JSON, "{\"id\": \"{{any}}\", \"n\": 1}",
                     "{\"id\": \"per_01J\", \"n\": 1}", out, sizeof(out)));
    assert_false(same(LX_CONFORM_DOC_JSON, "{\"id\": \"{{any}}\"}", "{}", out,
                      sizeof(out)));
    assert_non_null(strstr(out, "/id: missing"));
}

static void test_conform_json_unreadable_side_is_a_difference(void **state)
{
    (void)state;
    char out[2048];
    assert_false(same(LX_CONFORM_DOC_JSON, "{}", "{\"a\":", out,
                      sizeof(out)));
    assert_non_null(strstr(out, "the adapter's document is not JSON"));
}

static void test_conform_xml_prefixes_whitespace_and_order_do_not_count(
    void **state)
{
    (void)state;
    char out[2048];
    assert_true(same(
        LX_CONFORM_DOC_XML,
        "<?xml version=\"1.0\"?>\n<!-- c -->\n<f:Patient "
        "xmlns:f=\"http://hl7.org/fhir\">\n  <f:gender value=\"male\"/>\n"
        "  <f:name a=\"1\" b=\"2\"><f:family value=\"O&apos;Hara\"/></f:name>"
        "\n</f:Patient>\n",
        "<Patient xmlns=\"http://hl7.org/fhir\"><gender value='male'></gender>"
        "<name b=\"2\" a=\"1\"><family value=\"O&#39;Hara\"/></name>"
        "</Patient>",
        out, sizeof(out)));
}

static void test_conform_xml_diff_and_namespace_matter(void **state)
{
    (void)state;
    char out[2048];
    assert_false(same(LX_CONFORM_DOC_XML,
                      "<Patient xmlns=\"http://hl7.org/fhir\"><gender "
                      "value=\"male\"/></Patient>",
                      "<Patient xmlns=\"http://hl7.org/fhir\"><gender "
                      "value=\"female\"/></Patient>",
                      out, sizeof(out)));
    assert_non_null(strstr(out, "/Patient/gender[1]/@value: expected "
                                "\"male\", got \"female\""));
    assert_false(same(LX_CONFORM_DOC_XML,
                      "<p><given>A</given><birth/><given>B</given><x/></p>",
                      "<p><given>A</given><given>C</given><y/><x/></p>", out,
                      sizeof(out)));
    assert_non_null(strstr(out, "/p/given[2]/text(): expected \"B\", got "
                                "\"C\"\n"));
    assert_non_null(strstr(out, "/p/birth[1]: missing element\n"));
    assert_non_null(strstr(out, "/p/y[1]: unexpected element\n"));
    assert_null(strstr(out, "/p/x"));
    assert_false(same(LX_CONFORM_DOC_XML,
                      "<Patient xmlns=\"http://hl7.org/fhir\"/>",
                      "<Patient xmlns=\"urn:other\"/>", out, sizeof(out)));
    assert_non_null(strstr(out, "/Patient: expected root element "
                                "{http://hl7.org/fhir}Patient, got "
                                "{urn:other}Patient"));
}

static void test_conform_xml_doctype_and_entities_are_refused(void **state)
{
    (void)state;
    json_t *tree = NULL;
    lx_error err;
    const char *doc = "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
                      "<x>&e;</x>";
    assert_int_equal(lx_conform_xml_normalize(doc, strlen(doc), &tree, &err),
                     LX_EUNSUPPORTED);
    assert_null(tree);
    doc = "<x>&e;</x>";
    assert_int_equal(lx_conform_xml_normalize(doc, strlen(doc), &tree, &err),
                     LX_EUNSUPPORTED);
    doc = "<x>\n<y></x>";
    assert_int_equal(lx_conform_xml_normalize(doc, strlen(doc), &tree, &err),
                     LX_ESYNTAX);
    assert_int_equal(err.line, 2);
}

#define ISA_STAR                                                             \
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       " \
    "*%s*%s*^*00501*%s*0*P*:~"
#define ISA_PIPE                                                             \
    "ISA|00|          |00|          |ZZ|SENDER         |ZZ|RECEIVER       " \
    "|%s|%s|^|00501|%s|0|P|>!"

static void test_conform_edi_delimiters_line_endings_and_control_numbers(
    void **state)
{
    (void)state;
    char a[1024], b[1024], out[2048];
    snprintf(a, sizeof(a),
             ISA_STAR "\nGS*BE*S*R*20260101*1200*1*X*005010X220A1~\n"
                      "ST*834*0001~INS*Y*18*021*28~N4*A*B**~SE*3*0001~"
                      "GE*1*1~IEA*1*000000001~\n",
             "260101", "1200", "000000001");
    snprintf(b, sizeof(b),
             ISA_PIPE "\r\nGS|BE|S|R|20261204|0931|77|X|005010X220A1!\r\n"
                      "ST|834|4711!\r\nINS|Y|18|021|28!\r\nN4|A|B!\r\n"
                      "SE|3|4711!\r\nGE|1|77!\r\nIEA|1|000000042!\r\n",
             "261204", "0931", "000000042");
    assert_true(same(LX_CONFORM_DOC_EDI, a, b, out, sizeof(out)));
    char c[1024];
    snprintf(c, sizeof(c),
             ISA_STAR "GS*BE*S*R*20260101*1200*1*X*005010X220A1~"
                      "ST*834*0001~INS*Y*18*001*28~N4*A*B~SE*3*0001~"
                      "GE*1*1~IEA*1*000000001~",
             "260101", "1200", "000000001");
    assert_false(same(LX_CONFORM_DOC_EDI, a, c, out, sizeof(out)));
    assert_non_null(
        strstr(out, "segment 4 (INS)/3: expected \"021\", got \"001\""));
}

static void test_conform_edifact_una_and_control_references(void **state)
{
    (void)state;
    char out[2048];
    assert_true(same(LX_CONFORM_DOC_EDI,
                     "UNA:+.? 'UNB+UNOC:3+S+R+260101:1200+1'UNH+1+ORDERS:D:"
                     "96A:UN'BGM+220+PO1+9'UNT+3+1'UNZ+1+1'",
                     "UNB+UNOC:3+S+R+261204:0931+REF9'\nUNH+M7+ORDERS:D:96A:"
                     "UN'\nBGM+220+PO1+9'\nUNT+3+M7'\nUNZ+1+REF9'\n",
                     out, sizeof(out)));
    assert_false(same(LX_CONFORM_DOC_EDI,
                      "UNB+UNOC:3+S+R+260101:1200+1'BGM+220+PO1+9'",
                      "UNB+UNOC:3+S+R+260101:1200+1'BGM+220+PO2+9'", out,
                      sizeof(out)));
    assert_non_null(
        strstr(out, "segment 2 (BGM)/2: expected \"PO1\", got \"PO2\""));
}

static void test_conform_text_line_endings_do_not_count(void **state)
{
    (void)state;
    char out[2048];
    assert_true(same(LX_CONFORM_DOC_TEXT, "a\nb  \n", "a\r\nb\r\n\r\n", out,
                     sizeof(out)));
    assert_false(same(LX_CONFORM_DOC_TEXT, "a\nb\n", "a\nc\n", out,
                      sizeof(out)));
    assert_non_null(strstr(out, "/1: expected \"b\", got \"c\""));
    assert_int_equal(lx_conform_doc_of("x.JSON"), LX_CONFORM_DOC_JSON);
    assert_int_equal(lx_conform_doc_of("in.834"), LX_CONFORM_DOC_EDI);
    assert_int_equal(lx_conform_doc_of("body.xml"), LX_CONFORM_DOC_XML);
}

static void test_conform_diffs_are_capped_but_counted(void **state)
{
    (void)state;
    lx_conform_diffs d;
    lx_conform_diffs_init(&d);
    json_t *e = json_array(), *a = json_array();
    for (int i = 0; i < 100; i++) {
        json_array_append_new(e, json_integer(i));
        json_array_append_new(a, json_integer(i + 1));
    }
    assert_false(lx_conform_json_equal(e, a, "", &d));
    assert_int_equal(d.count, LX_CONFORM_DIFFS_MAX);
    assert_int_equal(d.total, 100);
    json_decref(e);
    json_decref(a);
    lx_conform_diffs_fini(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_conform_json_key_order_and_number_forms_do_not_count),
        cmocka_unit_test(test_conform_json_diff_names_path_and_both_values),
        cmocka_unit_test(test_conform_json_any_matches_a_present_value),
        cmocka_unit_test(test_conform_json_unreadable_side_is_a_difference),
        cmocka_unit_test(
            test_conform_xml_prefixes_whitespace_and_order_do_not_count),
        cmocka_unit_test(test_conform_xml_diff_and_namespace_matter),
        cmocka_unit_test(test_conform_xml_doctype_and_entities_are_refused),
        cmocka_unit_test(
            test_conform_edi_delimiters_line_endings_and_control_numbers),
        cmocka_unit_test(test_conform_edifact_una_and_control_references),
        cmocka_unit_test(test_conform_text_line_endings_do_not_count),
        cmocka_unit_test(test_conform_diffs_are_capped_but_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
