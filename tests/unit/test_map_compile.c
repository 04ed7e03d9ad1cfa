/* tests/unit/test_map_compile.c: what the mapping compiler refuses, and
 * how it says where (adapters/map). Every error names the file, the rule
 * and the JSON pointer, with line and column when the text is known. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "adapters/map/map.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *q(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; *p; p++)
        if (*p == '\'')
            *p = '"';
    return d;
}

/* Compile expecting failure; the error is in *err. */
static int fails(const char *text, lx_error *err)
{
    char *s = q(text);
    lx_map *m = (lx_map *)1;
    lx_error_clear(err);
    int rc = lx_map_compile_text(s, strlen(s), "t.json", NULL, &m, err);
    free(s);
    if (rc == 0) {
        fprintf(stderr, "compiled, but should not: %s\n", text);
        lx_map_destroy(&m);
    }
    assert_int_not_equal(rc, 0);
    assert_null(m);
    assert_int_equal(err->code, rc);
    return rc;
}

static void expect_msg(const lx_error *err, const char *part)
{
    if (!strstr(err->msg, part))
        fprintf(stderr, "message: %s\nlacks:   %s\n", err->msg, part);
    assert_non_null(strstr(err->msg, part));
}

static void test_map_compile_unknown_rule_type_is_located(void **state)
{
    (void)state;
    lx_error err;
    assert_int_equal(
        fails("{'format': 1,\n"
              " 'rules': [\n"
              "  {'id': 'a', 'native': 'x', 'canonical': '/x'},\n"
              "  {'id': 'family', 'type': 'copyy', 'native': 'x'}]}",
              &err),
        LX_ECONFIG);
    assert_string_equal(err.where, "t.json");
    assert_int_equal(err.line, 4);
    assert_int_equal(err.column, 28);
    assert_string_equal(err.msg,
                        "rule 'family' (#2) at /rules/1/type: unknown "
                        "rule type 'copyy' (known: copy, object, each, "
                        "const, concat, split, ref)");
    char line[1024];
    lx_error_format(&err, line, sizeof(line));
    assert_true(strncmp(line, "t.json:4:28: rule 'family' (#2)", 31) == 0);
}

static void test_map_compile_bad_path_syntax_names_the_character(void **state)
{
    (void)state;
    lx_error err;
    assert_int_equal(fails("{'format': 1, 'rules': [\n"
                           " {'id': 'family',\n"
                           "  'native': 'name[use=official.family',\n"
                           "  'canonical': '/name/family'}]}",
                           &err),
                     LX_ESYNTAX);
    assert_int_equal(err.line, 3);
    assert_int_equal(err.column, 13);
    assert_string_equal(err.msg,
                        "rule 'family' (#1) at /rules/0/native: invalid path "
                        "'name[use=official.family': missing ']' at character "
                        "5");
    const char *bad[] = {"a..b",  "a[", "a[]",        "a.",    "/a//b", "a[x=]",
                         "a[-2]", "$x", "a[b=\\\"c]", "/a/~2", "a | ",  "a b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[256];
        snprintf(
            text, sizeof(text),
            "{'format': 1, 'rules': [{'native': '%s', 'canonical': '/x'}]}",
            bad[i]);
        assert_int_equal(fails(text, &err), LX_ESYNTAX);
        expect_msg(&err, "invalid path");
    }
}

static void test_map_compile_unknown_transform(void **state)
{
    (void)state;
    lx_error err;
    assert_int_equal(fails("{'format': 1, 'rules': [{'id': 'g', 'native': 'g',"
                           " 'canonical': '/g', 'transform': ['trim',"
                           " {'soundex': {}}]}]}",
                           &err),
                     LX_ECONFIG);
    assert_string_equal(err.msg, "rule 'g' (#1) at /rules/0/transform/1: "
                                 "unknown transform 'soundex' (known: trim, "
                                 "upper, lower, prefix, date, number, map)");
    assert_int_equal(fails("{'format': 1, 'rules': [{'native': 'g',"
                           " 'canonical': '/g', 'transform': ['date']}]}",
                           &err),
                     LX_ECONFIG);
    expect_msg(&err, "take an argument");
    assert_int_equal(fails("{'format': 1, 'rules': [{'native': 'g',"
                           " 'canonical': '/g', 'transform': [{'upper': 1}]}]}",
                           &err),
                     LX_ECONFIG);
    expect_msg(&err, "\"upper\" takes no argument");
}

static void test_map_compile_non_bijective_map_declared_invertible(void **state)
{
    (void)state;
    lx_error err;
    assert_int_equal(
        fails("{'format': 1,\n"
              " 'tables': {'marital': {'in': {'M': 'married', 'R': "
              "'married'}}},\n"
              " 'rules': [{'id': 'ms', 'native': 'ms', 'canonical': '/ms',\n"
              "  'transform': [{'map': 'marital'}], 'invertible': true}]}",
              &err),
        LX_ECONFIG);
    assert_int_equal(err.line, 4);
    assert_string_equal(err.msg, "rule 'ms' (#1) at /rules/0/invertible: "
                                 "declared invertible, but code table "
                                 "'marital' is not bijective: canonical code "
                                 "'married' comes from more than one native "
                                 "code");
    /* Without the promise, the rule must say which way it runs. */
    assert_int_equal(
        fails("{'format': 1,\n"
              " 'tables': {'marital': {'in': {'M': 'married', 'R': "
              "'married'}}},\n"
              " 'rules': [{'id': 'ms', 'native': 'ms', 'canonical': '/ms',\n"
              "  'transform': [{'map': 'marital'}]}]}",
              &err),
        LX_ECONFIG);
    expect_msg(&err, "rule 'ms' (#1) at /rules/0: the rule is one-way (code "
                     "table 'marital' is not bijective");
    expect_msg(&err, "say \"direction\": \"in\"");
    /* An explicit "out" that is not the inverse is two-way, not invertible. */
    assert_int_equal(
        fails("{'format': 1, 'rules': [{'native': 'a', 'canonical': '/a',"
              " 'invertible': true, 'transform': [{'map': {'in': {'1': 'x',"
              " '2': 'x'}, 'out': {'x': '1'}}}]}]}",
              &err),
        LX_ECONFIG);
    expect_msg(&err, "declared invertible");
}

static void test_map_compile_one_way_rules_need_a_direction(void **state)
{
    (void)state;
    lx_error err;
    /* a date picture dropping the time */
    assert_int_equal(
        fails("{'format': 1, 'rules': [{'id': 'd', 'native': 'd',"
              " 'canonical': '/d', 'transform': [{'date': {'native':"
              " 'CCYYMMDDhhmm', 'canonical': 'iso-date'}}]}]}",
              &err),
        LX_ECONFIG);
    expect_msg(&err, "one-way (the canonical picture lacks hour, minute)");
    /* "both" is refused for a one-way rule */
    assert_int_equal(fails("{'format': 1, 'rules': [{'native': 'a[use!=old]',"
                           " 'canonical': '/a', 'direction': 'both'}]}",
                           &err),
                     LX_ECONFIG);
    expect_msg(&err, "cannot run out: the filter test on 'use' selects but "
                     "cannot create");
    /* an empty separator cannot be split on */
    assert_int_equal(
        fails("{'format': 1, 'rules': [{'type': 'concat', 'native': ['a', 'b'],"
              " 'canonical': '/ab', 'separator': ''}]}",
              &err),
        LX_ECONFIG);
    expect_msg(&err, "an empty separator cannot be split on");
    /* a constant's direction is the side it writes */
    assert_int_equal(
        fails("{'format': 1, 'rules': [{'type': 'const', 'native': 'a',"
              " 'value': 1, 'direction': 'in'}]}",
              &err),
        LX_ECONFIG);
    expect_msg(&err, "cannot run in");
    /* a child cannot run where its parent does not */
    assert_int_equal(
        fails("{'format': 1, 'rules': [{'type': 'each', 'native': 'a',"
              " 'canonical': '/a', 'direction': 'in', 'rules': [{'native': 'b',"
              " 'canonical': '/b', 'direction': 'out'}]}]}",
              &err),
        LX_ECONFIG);
    expect_msg(&err, "rule #1.1 at /rules/0/rules/0/direction: runs out inside "
                     "a rule that runs in only");
}

static void
test_map_compile_one_way_rules_compile_with_a_direction(void **state)
{
    (void)state;
    const char *ok[] = {
        "{'format': 1, 'rules': [{'native': 'd', 'canonical': '/d',"
        " 'direction': 'in', 'transform': [{'date': {'native': 'CCYYMMDDhhmm',"
        " 'canonical': 'iso-date'}}]}]}",
        "{'format': 1, 'tables': {'t': {'in': {'a': 'x', 'b': 'x'}}},"
        " 'rules': [{'native': 'a', 'canonical': '/a', 'direction': 'in',"
        " 'transform': [{'map': 't'}]}]}",
        /* inside a one-way parent a child needs no direction of its own */
        "{'format': 1, 'rules': [{'type': 'each', 'native': 'a[x!=1]',"
        " 'canonical': '/a', 'direction': 'in', 'rules': [{'native': 'b',"
        " 'canonical': '/b', 'transform': [{'map': {'in': {'1': 'y',"
        " '2': 'y'}}}]}]}]}",
        "{'format': 1, 'rules': [{'native': 'a', 'canonical': '/a',"
        " 'invertible': false, 'direction': 'out'}]}",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char *s = q(ok[i]);
        lx_map *m = NULL;
        lx_error err;
        lx_error_clear(&err);
        int rc = lx_map_compile_text(s, strlen(s), "t.json", NULL, &m, &err);
        if (rc)
            fprintf(stderr, "%s\n", err.msg);
        assert_int_equal(rc, 0);
        lx_map_destroy(&m);
        free(s);
    }
}

static void test_map_compile_unknown_keys_and_bad_values(void **state)
{
    (void)state;
    lx_error err;
    assert_int_equal(fails("{'format': 1, 'rules': [{'id': 'x', 'native': 'a',"
                           " 'canonicl': '/a'}]}",
                           &err),
                     LX_ECONFIG);
    assert_string_equal(err.msg, "rule 'x' (#1) at /rules/0/canonicl: unknown "
                                 "key 'canonicl' in a copy rule (known: id, "
                                 "type, note, direction, invertible, when, "
                                 "native, canonical, transform, default)");
    assert_int_equal(fails("{'format': 1, 'rulez': []}", &err), LX_ECONFIG);
    expect_msg(&err, "/rulez: unknown key 'rulez' in a mapping");
    assert_int_equal(
        fails("{'format': 1, 'rules': [{'native': 'a',"
              " 'canonical': '/a', 'transform': [{'map': 'nope'}]}]}",
              &err),
        LX_ECONFIG);
    expect_msg(&err, "no table 'nope' in \"tables\"");
    assert_int_equal(fails("{'format': 1, 'rules': [{'native': 'a'}]}", &err),
                     LX_ECONFIG);
    expect_msg(&err, "missing \"canonical\" path");
    assert_int_equal(fails("{'format': 1, 'rules': [{'native': 'a',"
                           " 'canonical': '/a', 'rules': []}]}",
                           &err),
                     LX_ECONFIG);
    expect_msg(&err, "nested \"rules\" need \"type\": \"object\"");
    assert_int_equal(fails("{'format': 1, 'rules': ["
                           "{'id': 'a', 'native': 'a', 'canonical': '/a'},"
                           "{'id': 'a', 'native': 'b', 'canonical': '/b'}]}",
                           &err),
                     LX_ECONFIG);
    expect_msg(&err, "rule 'a' (#2) at /rules/1/id: another rule already has "
                     "id 'a'");
    assert_int_equal(fails("{'format': 1, 'rules': [{'native': 'a',"
                           " 'canonical': '/a', 'when': {'native': 'a'}}]}",
                           &err),
                     LX_ECONFIG);
    expect_msg(&err, "a condition has one test");
    assert_int_equal(fails("{'format': 1, 'rules': [{'native': 'a',"
                           " 'canonical': '/a', 'when': {'native': 'a',"
                           " 'matches': '(('}}]}",
                           &err),
                     LX_ESYNTAX);
    expect_msg(&err, "invalid regular expression");
    assert_int_equal(fails("{'format': 1, 'tables': {'t': {'in': {'a': {}}}},"
                           " 'rules': [{'native': 'a', 'canonical': '/a'}]}",
                           &err),
                     LX_ECONFIG);
    expect_msg(&err, "/tables/t/in/a: a code maps to a string");
    assert_int_equal(fails("{'format': 1, 'tables': {'t': {'in': {'a': 'b'},"
                           " 'unmapped': 'ignore'}}, 'rules': [{'native': 'a',"
                           " 'canonical': '/a'}]}",
                           &err),
                     LX_ECONFIG);
    expect_msg(&err, "unknown policy 'ignore'");
}

static void test_map_compile_format_version(void **state)
{
    (void)state;
    lx_error err;
    assert_int_equal(fails("{'rules': []}", &err), LX_ECONFIG);
    expect_msg(&err, "missing \"format\": 1");
    assert_int_equal(fails("{'format': 2, 'rules': []}", &err),
                     LX_EUNSUPPORTED);
    assert_int_equal(err.line, 1);
    assert_int_equal(err.column, 12);
    expect_msg(&err, "/format: unsupported format");
    assert_int_equal(fails("[1]", &err), LX_ECONFIG);
    assert_int_equal(fails("{'format': 1", &err), LX_ESYNTAX);
    assert_int_equal(err.line, 1);
}

static void test_map_compile_date_pictures_and_numbers(void **state)
{
    (void)state;
    lx_error err;
    assert_int_equal(fails("{'format': 1, 'rules': [{'native': 'a',"
                           " 'canonical': '/a', 'transform': [{'date':"
                           " {'native': 'CCYYMMDDHHMM', 'canonical':"
                           " 'iso-datetime', 'zone': 'Z'}}]}]}",
                           &err),
                     LX_ESYNTAX);
    expect_msg(&err, "/rules/0/transform/0/date/native: date picture "
                     "'CCYYMMDDHHMM': unknown letter 'H' at character 9");
    assert_int_equal(fails("{'format': 1, 'rules': [{'native': 'a',"
                           " 'canonical': '/a', 'transform': [{'date':"
                           " {'native': 'CCYYMMDDhhmm', 'canonical':"
                           " 'iso-datetime'}}]}]}",
                           &err),
                     LX_ECONFIG);
    expect_msg(&err, "say which with \"zone\"");
    assert_int_equal(fails("{'format': 1, 'rules': [{'native': 'a',"
                           " 'canonical': '/a', 'transform': [{'date':"
                           " {'native': 'hhmm', 'canonical': 'iso-date'}}]}]}",
                           &err),
                     LX_ECONFIG);
    expect_msg(&err, "the pictures share too little");
    assert_int_equal(fails("{'format': 1, 'rules': [{'native': 'a',"
                           " 'canonical': '/a', 'transform': [{'number':"
                           " {'implied_decimals': 12}}]}]}",
                           &err),
                     LX_ECONFIG);
    expect_msg(&err, "\"implied_decimals\" must be 0 to 9");
}

static void test_map_compile_nested_rules_are_numbered(void **state)
{
    (void)state;
    lx_error err;
    assert_int_equal(
        fails("{'format': 1, 'rules': [\n"
              " {'native': 'a', 'canonical': '/a'},\n"
              " {'id': 'ids', 'type': 'each', 'native': 'identifier',\n"
              "  'canonical': '/identifiers', 'rules': [\n"
              "   {'native': 'system', 'canonical': '/system'},\n"
              "   {'native': 'value[', 'canonical': '/value'}]}]}",
              &err),
        LX_ESYNTAX);
    assert_int_equal(err.line, 6);
    assert_int_equal(err.column, 15);
    expect_msg(&err, "rule #2.2 at /rules/1/rules/1/native: invalid path "
                     "'value['");
}

static void test_map_compile_from_json_has_pointer_but_no_line(void **state)
{
    (void)state;
    json_t *doc = json_pack("{s:i, s:[{s:s, s:s, s:s}]}", "format", 1, "rules",
                            "id", "x", "native", "a[", "canonical", "/a");
    lx_map *m = (lx_map *)1;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_map_compile(doc, "inline", NULL, &m, &err), LX_ESYNTAX);
    assert_null(m);
    assert_string_equal(err.where, "inline");
    assert_int_equal(err.line, 0);
    expect_msg(&err, "rule 'x' (#1) at /rules/0/native");
    json_decref(doc);
}

static void test_map_compile_load_names_the_file(void **state)
{
    (void)state;
    char path[] = "/tmp/lx-map-compile-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] =
        "{\n  \"format\": 1,\n  \"rules\": [\n"
        "    {\"id\": \"x\", \"type\": \"reff\", \"native\": \"a\"}\n  ]\n}\n";
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    lx_map *m = NULL;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_map_load(path, &m, &err), LX_ECONFIG);
    assert_string_equal(err.where, path);
    assert_int_equal(err.line, 4);
    assert_int_equal(err.column, 25);
    unlink(path);
    assert_int_equal(lx_map_load(path, &m, &err), LX_EIO);
    assert_string_equal(err.where, path);
}

static void test_map_compile_steps(void **state)
{
    (void)state;
    lx_error err;
    assert_int_equal(fails("{'format': 1, 'steps': [{'type': 'xslt',"
                           " 'direction': 'both', 'stylesheet': 'x.xsl'}]}",
                           &err),
                     LX_ECONFIG);
    expect_msg(&err, "XSLT has no inverse");
    assert_int_equal(fails("{'format': 1, 'steps': [{'type': 'xquery',"
                           " 'direction': 'in', 'stylesheet': 'x.xsl'}]}",
                           &err),
                     LX_ECONFIG);
    expect_msg(&err, "unknown step type 'xquery' (known: xslt)");
    assert_int_equal(fails("{'format': 1, 'steps': [{'id': 's', 'type': 'xslt',"
                           " 'direction': 'in',"
                           " 'stylesheet': '/nonexistent/x.xsl'}]}",
                           &err),
                     LX_ECONFIG);
    expect_msg(&err, "step 's' (#1) at /steps/0/stylesheet: "
                     "/nonexistent/x.xsl: cannot open stylesheet");
}

static void test_map_compile_accessors(void **state)
{
    (void)state;
    char *s = q("{'format': 1, 'id': 'fhir/patient',"
                " 'native': {'type': 'Patient', 'standard': 'FHIR R4'},"
                " 'canonical': {'entity': 'person', 'version': 1},"
                " 'rules': [{'native': 'a', 'canonical': '/a'}]}");
    lx_map *m = NULL;
    lx_error err;
    assert_int_equal(
        lx_map_compile_text(s, strlen(s), "t.json", NULL, &m, &err), 0);
    assert_string_equal(lx_map_id(m), "fhir/patient");
    assert_string_equal(lx_map_entity(m), "person");
    assert_string_equal(lx_map_native_type(m), "Patient");
    assert_false(lx_map_input_is_text(m, LX_MAP_IN));
    lx_map_destroy(&m);
    lx_map_destroy(&m);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_compile_unknown_rule_type_is_located),
        cmocka_unit_test(test_map_compile_bad_path_syntax_names_the_character),
        cmocka_unit_test(test_map_compile_unknown_transform),
        cmocka_unit_test(
            test_map_compile_non_bijective_map_declared_invertible),
        cmocka_unit_test(test_map_compile_one_way_rules_need_a_direction),
        cmocka_unit_test(
            test_map_compile_one_way_rules_compile_with_a_direction),
        cmocka_unit_test(test_map_compile_unknown_keys_and_bad_values),
        cmocka_unit_test(test_map_compile_format_version),
        cmocka_unit_test(test_map_compile_date_pictures_and_numbers),
        cmocka_unit_test(test_map_compile_nested_rules_are_numbered),
        cmocka_unit_test(test_map_compile_from_json_has_pointer_but_no_line),
        cmocka_unit_test(test_map_compile_load_names_the_file),
        cmocka_unit_test(test_map_compile_steps),
        cmocka_unit_test(test_map_compile_accessors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
