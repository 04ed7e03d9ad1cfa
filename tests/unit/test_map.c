/* tests/unit/test_map.c: the mapping engine at run time (adapters/map).
 *
 * Mappings and inputs are written inline with single quotes for JSON's
 * double quotes (q() swaps them) so that each test reads like the file an
 * architect would write. Compile errors are in test_map_compile.c, XSLT in
 * test_map_xslt.c, the command line in test_map_cli.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "adapters/map/map.h"
#include "canonical/store.h"
#include "core/json.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static char *q(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; *p; p++)
        if (*p == '\'')
            *p = '"';
    return d;
}

static json_t *J(const char *text)
{
    char *s = q(text);
    json_error_t je;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &je);
    if (!v)
        fprintf(stderr, "bad test JSON: %s: %s\n", je.text, s);
    free(s);
    assert_non_null(v);
    return v;
}

static lx_map *compile(const char *text)
{
    char *s = q(text);
    lx_map *m = NULL;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_map_compile_text(s, strlen(s), "t.json", NULL, &m, &err);
    if (rc) {
        char line[1024];
        fprintf(stderr, "compile: %s\n",
                lx_error_format(&err, line, sizeof(line)));
    }
    free(s);
    assert_int_equal(rc, 0);
    return m;
}

static const char *fixture(const char *name, char *buf, size_t size)
{
    const char *src = getenv("LX_SOURCE_DIR");
    snprintf(buf, size, "%s/tests/unit/data/map/%s", src ? src : ".", name);
    return buf;
}

static lx_map *load_fixture(const char *name)
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

static json_t *load_json(const char *path)
{
    json_t *v = NULL;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_json_load_file(path, 1 << 20, &v, &err), 0);
    return v;
}

static json_t *run_ok(const lx_map *m, lx_map_dir dir, const json_t *in,
                      const lx_map_resolver *res, lx_map_trace *trace)
{
    json_t *out = NULL;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_map_run(m, dir, in, res, &out, trace, &err);
    if (rc) {
        char line[1024];
        fprintf(stderr, "run: %s\n", lx_error_format(&err, line, sizeof(line)));
    }
    assert_int_equal(rc, 0);
    assert_non_null(out);
    return out;
}

static void expect_json(const json_t *got, const char *want_text)
{
    json_t *want = J(want_text);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_ENCODE_ANY | JSON_SORT_KEYS);
        char *w = json_dumps(want, JSON_ENCODE_ANY | JSON_SORT_KEYS);
        fprintf(stderr, "got  %s\nwant %s\n", g, w);
        free(g);
        free(w);
    }
    assert_true(json_equal(got, want));
    json_decref(want);
}

/* Map `in_text` in direction dir and compare with want_text. */
static void expect_map(const lx_map *m, lx_map_dir dir, const char *in_text,
                       const char *want_text)
{
    json_t *in = J(in_text);
    json_t *out = run_ok(m, dir, in, NULL, NULL);
    expect_json(out, want_text);
    json_decref(out);
    json_decref(in);
}

/* Run expecting an error; returns the code, the message in err. */
static int run_err(const lx_map *m, lx_map_dir dir, const char *in_text,
                   const lx_map_resolver *res, lx_error *err)
{
    json_t *in = J(in_text);
    json_t *out = (json_t *)1;
    lx_error_clear(err);
    int rc = lx_map_run(m, dir, in, res, &out, NULL, err);
    assert_null(out);
    json_decref(in);
    return rc;
}

/* ---- paths ---- */

static void test_map_copy_dotted_path_to_pointer_and_back(void **state)
{
    (void)state;
    lx_map *m = compile("{'format': 1, 'rules': ["
                        "{'id': 'city', 'native': 'address.city',"
                        " 'canonical': '/home/city'}]}");
    expect_map(m, LX_MAP_IN, "{'address': {'city': 'Lyon'}}",
               "{'home': {'city': 'Lyon'}}");
    expect_map(m, LX_MAP_OUT, "{'home': {'city': 'Lyon'}}",
               "{'address': {'city': 'Lyon'}}");
    lx_map_destroy(&m);
    assert_null(m);
}

static void test_map_missing_source_writes_nothing(void **state)
{
    (void)state;
    lx_map *m = compile("{'format': 1, 'rules': ["
                        "{'native': 'a.b', 'canonical': '/x/y'},"
                        "{'native': 'c', 'canonical': '/z'}]}");
    expect_map(m, LX_MAP_IN, "{'a': {}, 'c': null}", "{}");
    lx_map_destroy(&m);
}

static void test_map_filter_takes_first_match_and_creates_on_write(void **state)
{
    (void)state;
    lx_map *m =
        compile("{'format': 1, 'rules': ["
                "{'id': 'family', 'native': 'name[use=official].family',"
                " 'canonical': '/name/family'}]}");
    expect_map(m, LX_MAP_IN,
               "{'name': [{'use': 'usual', 'family': 'Jim'},"
               " {'use': 'official', 'family': 'Chalmers'},"
               " {'use': 'official', 'family': 'Second'}]}",
               "{'name': {'family': 'Chalmers'}}");
    /* Writing through the filter creates the element it selects. */
    expect_map(m, LX_MAP_OUT, "{'name': {'family': 'Chalmers'}}",
               "{'name': [{'use': 'official', 'family': 'Chalmers'}]}");
    lx_map_destroy(&m);
}

static void test_map_alternatives_fall_back_and_write_the_first(void **state)
{
    (void)state;
    lx_map *m =
        compile("{'format': 1, 'rules': ["
                "{'native': 'name[use=official].family | name[0].family',"
                " 'canonical': '/family'}]}");
    expect_map(m, LX_MAP_IN, "{'name': [{'family': 'A'}, {'family': 'B'}]}",
               "{'family': 'A'}");
    expect_map(
        m, LX_MAP_IN,
        "{'name': [{'family': 'A'}, {'use': 'official', 'family': 'B'}]}",
        "{'family': 'B'}");
    expect_map(m, LX_MAP_OUT, "{'family': 'A'}",
               "{'name': [{'use': 'official', 'family': 'A'}]}");
    lx_map_destroy(&m);
}

static void test_map_indexes_in_both_syntaxes(void **state)
{
    (void)state;
    lx_map *m =
        compile("{'format': 1, 'rules': ["
                "{'native': 'name[0].given[1]', 'canonical': '/second'},"
                "{'native': 'name[-1].family', 'canonical': '/last',"
                " 'direction': 'in'},"
                "{'native': 'x', 'canonical': '/list/0/v'}]}");
    expect_map(m, LX_MAP_IN,
               "{'name': [{'given': ['P', 'J'], 'family': 'F1'},"
               " {'family': 'F2'}], 'x': 1}",
               "{'second': 'J', 'last': 'F2', 'list': [{'v': 1}]}");
    lx_map_destroy(&m);
}

static void test_map_filter_with_several_tests_and_quoted_values(void **state)
{
    (void)state;
    lx_map *m = compile(
        "{'format': 1, 'rules': ["
        "{'native': 'identifier[system=\\\"urn:oid:1.2.3\\\",use!=old].value',"
        " 'canonical': '/mrn', 'direction': 'in'},"
        "{'native': 'telecom[value,!period].value', 'canonical': '/phone',"
        " 'direction': 'in'},"
        "{'native': 'identifier[type.coding[0].code=MR].value',"
        " 'canonical': '/mr'},"
        "{'native': '$/kind', 'canonical': '/kind'}]}");
    expect_map(m, LX_MAP_IN,
               "{'identifier': [{'system': 'urn:oid:1.2.3', 'use': 'old',"
               " 'value': 'A'}, {'system': 'urn:oid:1.2.3', 'value': 'B'}],"
               " 'telecom': [{'use': 'home'}, {'value': '1', 'period': {}},"
               " {'value': '2'}], 'kind': 'k'}",
               "{'mrn': 'B', 'phone': '2', 'kind': 'k'}");
    expect_map(m, LX_MAP_IN,
               "{'identifier': [{'value': 'A'}, {'type': {'coding':"
               " [{'code': 'MR'}]}, 'value': 'M'}]}",
               "{'mr': 'M'}");
    expect_map(m, LX_MAP_OUT, "{'mr': 'M'}",
               "{'identifier': [{'type': {'coding': [{'code': 'MR'}]},"
               " 'value': 'M'}]}");
    lx_map_destroy(&m);
}

static void test_map_key_on_a_list_reads_each_element(void **state)
{
    (void)state;
    /* FHIRPath: telecom.value is the values of every telecom. */
    lx_map *m =
        compile("{'format': 1, 'rules': ["
                "{'native': 'telecom.value', 'canonical': '/first'},"
                "{'native': 'telecom.value', 'canonical': '/all[*]'}]}");
    expect_map(m, LX_MAP_IN,
               "{'telecom': [{'use': 'home'}, {'value': 'a'}, {'value': 'b'}]}",
               "{'first': 'a', 'all': ['a', 'b']}");
    lx_map_destroy(&m);
}

static void test_map_star_target_collects_every_match(void **state)
{
    (void)state;
    lx_map *m = compile("{'format': 1, 'rules': ["
                        "{'native': 'telecom[system=email].value',"
                        " 'canonical': '/emails[*]'}]}");
    expect_map(m, LX_MAP_IN,
               "{'telecom': [{'system': 'email', 'value': 'a@x'},"
               " {'system': 'phone', 'value': '1'},"
               " {'system': 'email', 'value': 'b@x'}]}",
               "{'emails': ['a@x', 'b@x']}");
    lx_map_destroy(&m);
}

static void test_map_pointer_escapes_and_absolute_paths(void **state)
{
    (void)state;
    lx_map *m =
        compile("{'format': 1, 'rules': ["
                "{'native': 'a', 'canonical': '/x~1y/m~0n'},"
                "{'type': 'each', 'native': 'items', 'canonical': '/items',"
                " 'rules': [{'native': 'v', 'canonical': '/v'},"
                "  {'native': '$.kind', 'canonical': '/kind',"
                "   'direction': 'in'}]}]}");
    expect_map(m, LX_MAP_IN, "{'a': 1, 'kind': 'K', 'items': [{'v': 2}]}",
               "{'x/y': {'m~n': 1}, 'items': [{'v': 2, 'kind': 'K'}]}");
    lx_map_destroy(&m);
}

/* ---- object and each ---- */

static void test_map_object_rule_maps_one_element(void **state)
{
    (void)state;
    lx_map *m = compile(
        "{'format': 1, 'rules': ["
        "{'id': 'name', 'type': 'object',"
        " 'native': 'name[use=official] | name[0]', 'canonical': '/name',"
        " 'rules': [{'id': 'family', 'native': 'family', 'canonical': "
        "'/family'},"
        "           {'id': 'given', 'native': 'given', 'canonical': "
        "'/given'}]}]}");
    expect_map(m, LX_MAP_IN,
               "{'name': [{'use': 'usual', 'given': ['Jim']},"
               " {'use': 'official', 'family': 'C', 'given': ['P', 'J']}]}",
               "{'name': {'family': 'C', 'given': ['P', 'J']}}");
    expect_map(
        m, LX_MAP_OUT, "{'name': {'family': 'C', 'given': ['P']}}",
        "{'name': [{'use': 'official', 'family': 'C', 'given': ['P']}]}");
    /* Nothing written for the element: no empty object appears. */
    expect_map(m, LX_MAP_IN, "{'name': [{'text': 'x'}]}", "{}");
    lx_map_destroy(&m);
}

static void test_map_each_builds_one_element_per_match(void **state)
{
    (void)state;
    lx_map *m =
        compile("{'format': 1, 'rules': ["
                "{'id': 'contacts', 'type': 'each', 'native': 'telecom[value]',"
                " 'canonical': '/contacts',"
                " 'rules': [{'native': 'system', 'canonical': '/system'},"
                "           {'native': 'value', 'canonical': '/value'}]}]}");
    expect_map(
        m, LX_MAP_IN,
        "{'telecom': [{'use': 'home'}, {'system': 'phone', 'value': '1'},"
        " {'value': '2'}]}",
        "{'contacts': [{'system': 'phone', 'value': '1'}, {'value': '2'}]}");
    expect_map(m, LX_MAP_OUT,
               "{'contacts': [{'system': 'phone', 'value': '1'}]}",
               "{'telecom': [{'system': 'phone', 'value': '1'}]}");
    expect_map(m, LX_MAP_IN, "{'telecom': []}", "{}");
    lx_map_destroy(&m);
}

static void test_map_each_filter_target_sets_its_fields(void **state)
{
    (void)state;
    /* In: only the MRN identifiers; out: every element gets system=mrn. */
    lx_map *m = compile("{'format': 1, 'rules': ["
                        "{'type': 'each', 'native': 'identifier[system=mrn]',"
                        " 'canonical': '/mrns', 'rules': [{'native': 'value', "
                        "'canonical': ''}]}]}");
    expect_map(
        m, LX_MAP_IN,
        "{'identifier': [{'system': 'mrn', 'value': '1'},"
        " {'system': 'ssn', 'value': '2'}, {'system': 'mrn', 'value': '3'}]}",
        "{'mrns': ['1', '3']}");
    expect_map(m, LX_MAP_OUT, "{'mrns': ['1', '3']}",
               "{'identifier': [{'system': 'mrn', 'value': '1'},"
               " {'system': 'mrn', 'value': '3'}]}");
    lx_map_destroy(&m);
}

static void test_map_each_of_scalars_with_self_paths(void **state)
{
    (void)state;
    lx_map *m =
        compile("{'format': 1, 'rules': ["
                "{'type': 'each', 'native': 'given', 'canonical': '/given',"
                " 'rules': [{'native': '', 'canonical': '', 'transform': "
                "['upper']}]}]}");
    expect_map(m, LX_MAP_IN, "{'given': ['peter', 'james']}",
               "{'given': ['PETER', 'JAMES']}");
    lx_map_destroy(&m);
}

static void test_map_nested_each_over_nested_lists(void **state)
{
    (void)state;
    lx_map *m = compile(
        "{'format': 1, 'rules': ["
        "{'type': 'each', 'native': 'contact', 'canonical': '/related',"
        " 'rules': [{'native': 'name.family', 'canonical': '/family'},"
        "  {'type': 'each', 'native': 'telecom', 'canonical': '/phones',"
        "   'rules': [{'native': 'value', 'canonical': ''}]}]}]}");
    const char *native =
        "{'contact': [{'name': {'family': 'A'}, 'telecom': [{'value': '1'},"
        " {'value': '2'}]}, {'name': {'family': 'B'}}]}";
    const char *canonical =
        "{'related': [{'family': 'A', 'phones': ['1', '2']}, {'family': 'B'}]}";
    expect_map(m, LX_MAP_IN, native, canonical);
    expect_map(m, LX_MAP_OUT, canonical, native);
    lx_map_destroy(&m);
}

/* ---- code tables ---- */

static const char gender_map[] =
    "{'format': 1, 'tables': {'gender': {'in': {'M': 'male', 'F': 'female',"
    " 'U': 'unknown'}, 'unmapped': %s}},"
    " 'rules': [{'id': 'gender', 'native': 'g', 'canonical': '/gender',"
    " 'transform': [{'map': 'gender'}]}]}";

static lx_map *gender(const char *policy)
{
    char text[512];
    snprintf(text, sizeof(text), gender_map, policy);
    return compile(text);
}

static void test_map_table_maps_both_ways(void **state)
{
    (void)state;
    lx_map *m = gender("'error'");
    expect_map(m, LX_MAP_IN, "{'g': 'F'}", "{'gender': 'female'}");
    expect_map(m, LX_MAP_OUT, "{'gender': 'female'}", "{'g': 'F'}");
    lx_map_destroy(&m);
}

static void test_map_table_unmapped_error_names_rule_not_value(void **state)
{
    (void)state;
    lx_map *m = gender("'error'");
    lx_error err;
    assert_int_equal(run_err(m, LX_MAP_IN, "{'g': 'Zebra'}", NULL, &err),
                     LX_EINVAL);
    assert_string_equal(err.msg, "rule 'gender' (#1): source g: code not in "
                                 "table 'gender' (in)");
    assert_null(strstr(err.msg, "Zebra"));
    lx_map_destroy(&m);
}

static void test_map_table_unmapped_pass_drop_and_value(void **state)
{
    (void)state;
    lx_map *m = gender("'pass'");
    expect_map(m, LX_MAP_IN, "{'g': 'X'}", "{'gender': 'X'}");
    lx_map_destroy(&m);
    m = gender("'drop'");
    expect_map(m, LX_MAP_IN, "{'g': 'X'}", "{}");
    lx_map_destroy(&m);
    m = gender("{'in': {'value': 'unknown'}, 'out': 'error'}");
    expect_map(m, LX_MAP_IN, "{'g': 'X'}", "{'gender': 'unknown'}");
    lx_error err;
    assert_int_equal(run_err(m, LX_MAP_OUT, "{'gender': 'other'}", NULL, &err),
                     LX_EINVAL);
    assert_non_null(strstr(err.msg, "source /gender"));
    lx_map_destroy(&m);
}

static void test_map_table_with_explicit_out_runs_both_ways(void **state)
{
    (void)state;
    /* Two native codes for one canonical: the way back is spelled out. */
    lx_map *m =
        compile("{'format': 1, 'tables': {'marital': {"
                "  'in': {'M': 'married', 'R': 'married', 'S': 'single'},"
                "  'out': {'married': 'M', 'single': 'S'}}},"
                " 'rules': [{'native': 'ms', 'canonical': '/marital_status',"
                "  'transform': [{'map': 'marital'}]}]}");
    expect_map(m, LX_MAP_IN, "{'ms': 'R'}", "{'marital_status': 'married'}");
    expect_map(m, LX_MAP_OUT, "{'marital_status': 'married'}", "{'ms': 'M'}");
    lx_map_destroy(&m);
}

static void test_map_table_inline_numbers_and_booleans(void **state)
{
    (void)state;
    lx_map *m = compile(
        "{'format': 1, 'rules': [{'native': 'flag', 'canonical': '/active',"
        " 'transform': [{'map': {'in': {'Y': true, 'N': false}}}]},"
        " {'native': 'level', 'canonical': '/level',"
        " 'transform': [{'map': {'in': {'1': 'low', '2': 'high'}}}]}]}");
    expect_map(m, LX_MAP_IN, "{'flag': 'Y', 'level': 2}",
               "{'active': true, 'level': 'high'}");
    expect_map(m, LX_MAP_OUT, "{'active': false, 'level': 'low'}",
               "{'flag': 'N', 'level': '1'}");
    lx_map_destroy(&m);
}

static void test_map_table_applies_to_each_element_of_a_list(void **state)
{
    (void)state;
    lx_map *m = compile(
        "{'format': 1, 'rules': [{'native': 'codes', 'canonical': '/codes',"
        " 'transform': [{'map': {'in': {'a': 'A', 'b': 'B'}, 'unmapped': "
        "'drop'}}]}]}");
    expect_map(m, LX_MAP_IN, "{'codes': ['a', 'x', 'b']}",
               "{'codes': ['A', 'B']}");
    lx_map_destroy(&m);
}

/* ---- transforms ---- */

static void test_map_date_x12_to_iso_and_back(void **state)
{
    (void)state;
    lx_map *m = compile(
        "{'format': 1, 'rules': [{'id': 'birth-date', 'native': 'DMG.DMG02',"
        " 'canonical': '/birth_date',"
        " 'transform': [{'date': {'native': 'CCYYMMDD', 'canonical': "
        "'iso-date'}}]}]}");
    expect_map(m, LX_MAP_IN, "{'DMG': {'DMG02': '19900417'}}",
               "{'birth_date': '1990-04-17'}");
    expect_map(m, LX_MAP_OUT, "{'birth_date': '2000-02-29'}",
               "{'DMG': {'DMG02': '20000229'}}");
    lx_error err;
    /* 1900 was not a leap year */
    assert_int_equal(
        run_err(m, LX_MAP_IN, "{'DMG': {'DMG02': '19000229'}}", NULL, &err),
        LX_EINVAL);
    assert_string_equal(err.msg, "rule 'birth-date' (#1): source DMG.DMG02: "
                                 "not a date in format CCYYMMDD");
    assert_int_equal(
        run_err(m, LX_MAP_OUT, "{'birth_date': '1990-4-17'}", NULL, &err),
        LX_EINVAL);
    assert_string_equal(err.msg, "rule 'birth-date' (#1): source /birth_date: "
                                 "not a date in format iso-date");
    lx_map_destroy(&m);
}

static void test_map_datetime_with_zone_converts_on_the_way_out(void **state)
{
    (void)state;
    /* X12 DTP*...*DT*202401151230: local time of the sender, +01:00. */
    lx_map *m =
        compile("{'format': 1, 'rules': [{'native': 'dt', 'canonical': '/at',"
                " 'transform': [{'date': {'native': 'CCYYMMDDhhmm',"
                "  'canonical': 'iso-datetime', 'zone': '+01:00'}}]}]}");
    expect_map(m, LX_MAP_IN, "{'dt': '202401151230'}",
               "{'at': '2024-01-15T12:30:00+01:00'}");
    expect_map(m, LX_MAP_OUT, "{'at': '2024-01-15T12:30:00+01:00'}",
               "{'dt': '202401151230'}");
    /* 23:30 UTC on New Year's Eve is 00:30 on January 1st at +01:00. */
    expect_map(m, LX_MAP_OUT, "{'at': '2023-12-31T23:30:00Z'}",
               "{'dt': '202401010030'}");
    expect_map(m, LX_MAP_OUT, "{'at': '2024-03-01T00:10:00.250+02:00'}",
               "{'dt': '202402292310'}");
    lx_map_destroy(&m);
}

static void test_map_iso_datetime_keeps_fraction_and_zone(void **state)
{
    (void)state;
    lx_map *m =
        compile("{'format': 1, 'rules': [{'native': 't', 'canonical': '/t',"
                " 'transform': [{'date': {'native': 'iso-datetime',"
                "  'canonical': 'iso-datetime'}}]}]}");
    expect_map(m, LX_MAP_IN, "{'t': '2024-01-15T12:30:05.123-05:00'}",
               "{'t': '2024-01-15T12:30:05.123-05:00'}");
    expect_map(m, LX_MAP_IN, "{'t': '2024-01-15T12:30:05Z'}",
               "{'t': '2024-01-15T12:30:05Z'}");
    lx_error err;
    assert_int_equal(
        run_err(m, LX_MAP_IN, "{'t': '2024-01-15T25:30:05Z'}", NULL, &err),
        LX_EINVAL);
    lx_map_destroy(&m);
}

static void test_map_string_transforms(void **state)
{
    (void)state;
    lx_map *m = compile(
        "{'format': 1, 'rules': ["
        "{'native': 'a', 'canonical': '/a', 'transform': ['trim', 'upper']},"
        "{'native': 'b', 'canonical': '/b', 'transform': ['lower']},"
        "{'native': 'sys', 'canonical': '/sys',"
        " 'transform': [{'prefix': 'urn:oid:'}]}]}");
    expect_map(m, LX_MAP_IN,
               "{'a': '  doe \\t', 'b': 'MiXeD', 'sys': '2.16.840.1'}",
               "{'a': 'DOE', 'b': 'mixed', 'sys': 'urn:oid:2.16.840.1'}");
    /* Normalizations are skipped on the way back; a prefix is removed. */
    expect_map(m, LX_MAP_OUT, "{'a': 'Doe', 'b': 'X', 'sys': 'urn:oid:1.2'}",
               "{'a': 'Doe', 'b': 'X', 'sys': '1.2'}");
    lx_error err;
    assert_int_equal(run_err(m, LX_MAP_OUT, "{'sys': 'http://x'}", NULL, &err),
                     LX_EINVAL);
    assert_non_null(strstr(err.msg, "does not start with the prefix"));
    assert_int_equal(run_err(m, LX_MAP_IN, "{'a': 12}", NULL, &err), LX_EINVAL);
    assert_non_null(strstr(err.msg, "'trim' needs a string, not a number"));
    lx_map_destroy(&m);
}

static void test_map_numbers_implied_decimals_and_marks(void **state)
{
    (void)state;
    lx_map *m = compile(
        "{'format': 1, 'rules': ["
        "{'id': 'premium', 'native': 'AMT02', 'canonical': '/premium',"
        " 'transform': [{'number': {'implied_decimals': 2}}]},"
        "{'native': 'moa', 'canonical': '/amount',"
        " 'transform': [{'number': {'decimals': 2, 'decimal_mark': ','}}]},"
        "{'native': 'days', 'canonical': '/days',"
        " 'transform': [{'number': {'integer': true}}]},"
        "{'native': 'n', 'canonical': '/n', 'transform': [{'number': {}}]}]}");
    expect_map(
        m, LX_MAP_IN,
        "{'AMT02': '12345', 'moa': '1234,5', 'days': '30', 'n': '-0.25'}",
        "{'premium': 123.45, 'amount': 1234.5, 'days': 30, 'n': -0.25}");
    expect_map(m, LX_MAP_IN, "{'AMT02': '-050'}", "{'premium': -0.5}");
    expect_map(m, LX_MAP_IN, "{'AMT02': '100'}", "{'premium': 1}");
    expect_map(
        m, LX_MAP_OUT,
        "{'premium': 123.45, 'amount': 1234.5, 'days': 30, 'n': 1e-3}",
        "{'AMT02': '12345', 'moa': '1234,50', 'days': '30', 'n': '0.001'}");
    expect_map(m, LX_MAP_OUT, "{'premium': 0.5}", "{'AMT02': '50'}");
    expect_map(m, LX_MAP_OUT, "{'premium': 7}", "{'AMT02': '700'}");
    lx_error err;
    assert_int_equal(run_err(m, LX_MAP_OUT, "{'premium': 1.005}", NULL, &err),
                     LX_EINVAL);
    assert_non_null(strstr(err.msg, "more than 2 decimals"));
    assert_int_equal(run_err(m, LX_MAP_IN, "{'AMT02': '12.34'}", NULL, &err),
                     LX_EINVAL);
    assert_string_equal(err.msg, "rule 'premium' (#1): source AMT02: not a "
                                 "number with 2 implied decimals");
    assert_int_equal(run_err(m, LX_MAP_IN, "{'days': '2.5'}", NULL, &err),
                     LX_EINVAL);
    lx_map_destroy(&m);
}

static void
test_map_transforms_chain_in_order_and_invert_backwards(void **state)
{
    (void)state;
    lx_map *m =
        compile("{'format': 1, 'rules': [{'native': 'd', 'canonical': '/d',"
                " 'transform': ['trim', {'date': {'native': 'DD.MM.YYYY',"
                "  'canonical': 'iso-date'}}, {'prefix': 'D:'}]}]}");
    expect_map(m, LX_MAP_IN, "{'d': ' 17.04.1990 '}", "{'d': 'D:1990-04-17'}");
    expect_map(m, LX_MAP_OUT, "{'d': 'D:1990-04-17'}", "{'d': '17.04.1990'}");
    lx_map_destroy(&m);
}

/* ---- concat, split, constants, defaults, conditions ---- */

static void test_map_concat_and_its_inverse(void **state)
{
    (void)state;
    lx_map *m =
        compile("{'format': 1, 'rules': [{'id': 'display', 'type': 'concat',"
                " 'native': ['first', 'last'], 'canonical': '/display',"
                " 'separator': ' '}]}");
    expect_map(m, LX_MAP_IN, "{'first': 'Ann', 'last': 'Lee'}",
               "{'display': 'Ann Lee'}");
    expect_map(m, LX_MAP_IN, "{'last': 'Lee'}", "{'display': 'Lee'}");
    /* Split: the last part takes the rest. */
    expect_map(m, LX_MAP_OUT, "{'display': 'Ann Mary Lee'}",
               "{'first': 'Ann', 'last': 'Mary Lee'}");
    lx_map_destroy(&m);
}

static void test_map_split_to_a_list_and_back(void **state)
{
    (void)state;
    lx_map *m =
        compile("{'format': 1, 'rules': [{'type': 'split', 'native': 'PID5',"
                " 'canonical': '/parts', 'separator': '^'},"
                " {'type': 'split', 'native': 'name', 'canonical': ['/family',"
                "  '/given/0'], 'separator': ', '}]}");
    expect_map(m, LX_MAP_IN, "{'PID5': 'DOE^JOHN^Q', 'name': 'Doe, John'}",
               "{'parts': ['DOE', 'JOHN', 'Q'], 'family': 'Doe',"
               " 'given': ['John']}");
    expect_map(m, LX_MAP_OUT,
               "{'parts': ['DOE', 'JOHN'], 'family': 'Doe', 'given': ['John']}",
               "{'PID5': 'DOE^JOHN', 'name': 'Doe, John'}");
    lx_map_destroy(&m);
}

static void test_map_const_runs_toward_its_side_only(void **state)
{
    (void)state;
    lx_map *m = compile(
        "{'format': 1, 'rules': ["
        "{'type': 'const', 'native': 'resourceType', 'value': 'Patient'},"
        "{'type': 'const', 'canonical': '/source', 'value': {'system': 'ehr'}},"
        "{'native': 'id', 'canonical': '/id'}]}");
    expect_map(m, LX_MAP_IN, "{'resourceType': 'Patient', 'id': '1'}",
               "{'source': {'system': 'ehr'}, 'id': '1'}");
    expect_map(m, LX_MAP_OUT, "{'source': {'system': 'ehr'}, 'id': '1'}",
               "{'resourceType': 'Patient', 'id': '1'}");
    lx_map_destroy(&m);
}

static void test_map_defaults_per_direction(void **state)
{
    (void)state;
    lx_map *m = compile(
        "{'format': 1, 'rules': [{'native': 'g', 'canonical': '/gender',"
        " 'default': {'canonical': 'unknown', 'native': 'U'}}]}");
    expect_map(m, LX_MAP_IN, "{}", "{'gender': 'unknown'}");
    expect_map(m, LX_MAP_OUT, "{}", "{'g': 'U'}");
    expect_map(m, LX_MAP_IN, "{'g': 'F'}", "{'gender': 'F'}");
    lx_map_destroy(&m);
}

static void test_map_conditions_exists_equals_in_matches(void **state)
{
    (void)state;
    lx_map *m =
        compile("{'format': 1, 'rules': ["
                "{'native': 'DMG02', 'canonical': '/birth_date',"
                " 'when': {'native': 'DMG01', 'equals': 'D8'}},"
                "{'native': 'v', 'canonical': '/flag', 'direction': 'in',"
                " 'when': [{'native': 'k', 'in': ['a', 'b']},"
                "          {'native': 'z', 'exists': false}]},"
                "{'native': 'sys', 'canonical': '/oid', 'direction': 'in',"
                " 'when': {'native': 'sys', 'matches': '^urn:oid:[0-9.]+$'}},"
                "{'type': 'const', 'native': 'DMG01', 'value': 'D8',"
                " 'when': {'canonical': '/birth_date', 'exists': true}}]}");
    expect_map(m, LX_MAP_IN,
               "{'DMG01': 'D8', 'DMG02': '19900417', 'k': 'b', 'v': 1,"
               " 'sys': 'urn:oid:1.2'}",
               "{'birth_date': '19900417', 'flag': 1, 'oid': 'urn:oid:1.2'}");
    expect_map(m, LX_MAP_IN,
               "{'DMG01': 'RD8', 'DMG02': 'x', 'k': 'c', 'v': 1,"
               " 'sys': 'http://x'}",
               "{}");
    expect_map(m, LX_MAP_IN, "{'k': 'a', 'v': 1, 'z': 0}", "{}");
    /* The native condition does not apply out; the canonical one does. */
    expect_map(m, LX_MAP_OUT, "{'birth_date': '19900417'}",
               "{'DMG02': '19900417', 'DMG01': 'D8'}");
    expect_map(m, LX_MAP_OUT, "{}", "{}");
    lx_map_destroy(&m);
}

/* ---- references ---- */

typedef struct xref_ctx {
    int calls;
    int fail_code;
} xref_ctx;

static int to_canonical(void *ctx, const char *type, const char *id,
                        char *entity, size_t entity_size, char *cid,
                        size_t cid_size, lx_error *err)
{
    xref_ctx *x = ctx;
    x->calls++;
    if (x->fail_code)
        return lx_error_set(err, x->fail_code, "store down");
    if (strcmp(type, "Organization") == 0 && strcmp(id, "1") == 0) {
        snprintf(entity, entity_size, "organization");
        snprintf(cid, cid_size, "org_01JD3V8Z5Q6W7E8R9T0Y1U2I3O");
        return 0;
    }
    if (strcmp(type, "member") == 0 && strcmp(id, "M-1") == 0) {
        snprintf(entity, entity_size, "person");
        snprintf(cid, cid_size, "per_01JD3V8Z5Q6W7E8R9T0Y1U2I3O");
        return 0;
    }
    return LX_ENOTFOUND;
}

static int to_native(void *ctx, const char *entity, const char *id,
                     const char *want, char *type, size_t type_size, char *nid,
                     size_t nid_size, lx_error *err)
{
    xref_ctx *x = ctx;
    (void)err;
    x->calls++;
    if (strcmp(entity, "organization") == 0 &&
        strcmp(id, "org_01JD3V8Z5Q6W7E8R9T0Y1U2I3O") == 0 &&
        (!want || strcmp(want, "Organization") == 0)) {
        snprintf(type, type_size, "Organization");
        snprintf(nid, nid_size, "1");
        return 0;
    }
    return LX_ENOTFOUND;
}

static const char ref_map[] =
    "{'format': 1, 'native': {'type': 'Patient'}, 'rules': ["
    "{'id': 'org', 'type': 'ref', 'native': 'managingOrganization.reference',"
    " 'canonical': '/managing_organization', 'entity': 'organization'}]}";

static void test_map_ref_resolves_through_the_resolver(void **state)
{
    (void)state;
    lx_map *m = compile(ref_map);
    xref_ctx x = {0, 0};
    lx_map_resolver res = {to_canonical, to_native, &x, NULL};
    const char *canonical =
        "{'managing_organization': {'entity': 'organization',"
        " 'id': 'org_01JD3V8Z5Q6W7E8R9T0Y1U2I3O'}}";
    const char *natives[] = {
        "{'managingOrganization': {'reference': 'Organization/1'}}",
        "{'managingOrganization': {'reference': "
        "'http://ehr.example/fhir/Organization/1'}}",
        "{'managingOrganization': {'reference': 'Organization/1/_history/7'}}"};
    for (size_t i = 0; i < 3; i++) {
        json_t *in = J(natives[i]);
        json_t *out = run_ok(m, LX_MAP_IN, in, &res, NULL);
        expect_json(out, canonical);
        json_decref(out);
        json_decref(in);
    }
    json_t *in = J(canonical);
    json_t *out = run_ok(m, LX_MAP_OUT, in, &res, NULL);
    expect_json(out, natives[0]);
    json_decref(out);
    json_decref(in);
    assert_int_equal(x.calls, 4);
    lx_map_destroy(&m);
}

static void
test_map_ref_unresolved_is_an_error_naming_rule_and_path(void **state)
{
    (void)state;
    lx_map *m = compile(ref_map);
    xref_ctx x = {0, 0};
    lx_map_resolver res = {to_canonical, to_native, &x, NULL};
    lx_error err;
    assert_int_equal(
        run_err(m, LX_MAP_IN,
                "{'managingOrganization': {'reference': 'Organization/999'}}",
                &res, &err),
        LX_ENOTFOUND);
    assert_string_equal(err.msg, "rule 'org' (#1): source "
                                 "Patient.managingOrganization.reference: no "
                                 "cross-reference for this reference");
    assert_null(strstr(err.msg, "999"));
    /* Without a resolver every reference is unresolved. */
    assert_int_equal(
        run_err(m, LX_MAP_IN,
                "{'managingOrganization': {'reference': 'Organization/1'}}",
                NULL, &err),
        LX_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no reference resolver"));
    /* A resolver failure fails the run with its own code. */
    x.fail_code = LX_ESTORE;
    assert_int_equal(
        run_err(m, LX_MAP_IN,
                "{'managingOrganization': {'reference': 'Organization/1'}}",
                &res, &err),
        LX_ESTORE);
    assert_non_null(strstr(err.msg, "rule 'org' (#1)"));
    assert_int_equal(run_err(m, LX_MAP_IN,
                             "{'managingOrganization': {'reference': 'x'}}",
                             &res, &err),
                     LX_EINVAL);
    assert_non_null(strstr(err.msg, "not a reference of the form Type/id"));
    lx_map_destroy(&m);
}

static void test_map_ref_drop_policy_bare_ids_and_entity_check(void **state)
{
    (void)state;
    lx_map *m = compile(
        "{'format': 1, 'rules': ["
        "{'type': 'ref', 'native': 'subscriber', 'canonical': '/subscriber',"
        " 'native_type': 'member', 'entity': 'person', 'unresolved': 'drop'},"
        "{'type': 'ref', 'native': 'org', 'canonical': '/org',"
        " 'entity': 'person', 'unresolved': 'drop'}]}");
    xref_ctx x = {0, 0};
    lx_map_resolver res = {to_canonical, to_native, &x, NULL};
    json_t *in = J("{'subscriber': 'M-1', 'org': 'Organization/1'}");
    lx_error err;
    lx_error_clear(&err);
    json_t *out = NULL;
    /* the org resolves to an organization where a person is expected */
    assert_int_equal(lx_map_run(m, LX_MAP_IN, in, &res, &out, NULL, &err),
                     LX_EINVAL);
    assert_non_null(strstr(err.msg, "the reference is to a 'organization', "
                                    "not a 'person'"));
    json_decref(in);
    in = J("{'subscriber': 'M-1', 'org': 'Organization/2'}");
    out = run_ok(m, LX_MAP_IN, in, &res, NULL);
    expect_json(out, "{'subscriber': {'entity': 'person',"
                     " 'id': 'per_01JD3V8Z5Q6W7E8R9T0Y1U2I3O'}}");
    json_decref(out);
    json_decref(in);
    lx_map_destroy(&m);
}

static char *temp_dir(void)
{
    char *d = strdup("/tmp/lx-map-test-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static void test_map_store_resolver_uses_the_cross_reference(void **state)
{
    (void)state;
    char *dir = temp_dir();
    lx_store_options o = {.dir = dir, .no_sync = true};
    lx_store *s = NULL;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_store_open(&o, &s, &err), 0);
    json_t *org = J("{'name': 'Acme', 'identifiers': [{'system': 'urn:x',"
                    " 'value': '1'}]}");
    lx_upsert u = {.entity = "organization",
                   .system = "ehr",
                   .native_type = "Organization",
                   .native_id = "1",
                   .record = org};
    lx_upsert_result r;
    assert_int_equal(lx_store_upsert(s, &u, &r), 0);

    lx_map *m = compile(ref_map);
    lx_map_store_ctx ctx = {s, "ehr"};
    lx_map_resolver res;
    lx_map_resolver_store(&res, &ctx);
    json_t *in = J("{'managingOrganization': {'reference': 'Organization/1'}}");
    json_t *out = run_ok(m, LX_MAP_IN, in, &res, NULL);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(out, "managing_organization"), "id")),
        r.canonical_id);
    json_t *back = run_ok(m, LX_MAP_OUT, out, &res, NULL);
    assert_true(json_equal(back, in));
    /* Another system has no cross-reference for it. */
    ctx.system = "hr";
    assert_int_equal(run_err(m, LX_MAP_IN,
                             "{'managingOrganization': {'reference': "
                             "'Organization/1'}}",
                             &res, &err),
                     LX_ENOTFOUND);
    json_decref(back);
    json_decref(out);
    json_decref(in);
    json_decref(org);
    lx_map_destroy(&m);
    lx_store_close(&s);
    rm_rf(dir);
    free(dir);
}

/* ---- inversion ---- */

static void test_map_x12_member_round_trips_exactly(void **state)
{
    (void)state;
    lx_map *m = load_fixture("x12-member.json");
    char path[1024];
    json_t *native =
        load_json(fixture("x12-member-input.json", path, sizeof(path)));
    json_t *canonical = run_ok(m, LX_MAP_IN, native, NULL, NULL);
    expect_json(
        canonical,
        "{'relationship': 'self', 'identifiers': ["
        "{'system': 'urn:x12:member', 'value': 'M-1001'},"
        "{'system': 'urn:oid:2.16.840.1.113883.4.1', 'value': '123456789'}],"
        " 'name': {'family': 'DOE', 'given': ['JOHN']},"
        " 'birth_date': '1990-04-17', 'gender': 'male', 'premium': 123.45}");
    json_t *back = run_ok(m, LX_MAP_OUT, canonical, NULL, NULL);
    assert_true(json_equal(back, native));
    json_decref(back);
    json_decref(canonical);
    json_decref(native);
    lx_map_destroy(&m);
}

static void test_map_fhir_patient_canonical_is_a_fixed_point(void **state)
{
    (void)state;
    /* The Patient has fields the mapping leaves out, so out(in(x)) is
     * smaller than x; but in(out(in(x))) must be in(x). */
    lx_map *m = load_fixture("fhir-patient.json");
    char path[1024];
    const char *corpus = getenv("LX_CORPUS_DIR");
    snprintf(path, sizeof(path), "%s/fhir/r4/json/Patient-example.json",
             corpus ? corpus : "../shared/corpus");
    json_t *patient = load_json(path);
    xref_ctx x = {0, 0};
    lx_map_resolver res = {to_canonical, to_native, &x, NULL};
    json_t *c1 = run_ok(m, LX_MAP_IN, patient, &res, NULL);
    json_t *n1 = run_ok(m, LX_MAP_OUT, c1, &res, NULL);
    json_t *c2 = run_ok(m, LX_MAP_IN, n1, &res, NULL);
    assert_true(json_equal(c1, c2));
    json_t *n2 = run_ok(m, LX_MAP_OUT, c2, &res, NULL);
    assert_true(json_equal(n1, n2));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(c1, "name"), "family")),
                        "Chalmers");
    assert_int_equal(json_array_size(json_object_get(c1, "contacts")), 3);
    assert_string_equal(json_string_value(json_object_get(n1, "resourceType")),
                        "Patient");
    json_decref(patient);
    json_decref(c1);
    json_decref(n1);
    json_decref(c2);
    json_decref(n2);
    lx_map_destroy(&m);
}

/* ---- run errors ---- */

static void test_map_run_error_names_rule_and_concrete_source(void **state)
{
    (void)state;
    lx_map *m = compile(
        "{'format': 1, 'native': {'type': 'Patient'}, 'rules': ["
        "{'id': 'gender', 'native': 'gender', 'canonical': '/gender'},"
        "{'id': 'identifiers', 'type': 'each', 'native': 'identifier',"
        " 'canonical': '/identifiers', 'rules': ["
        "  {'id': 'value', 'native': 'value', 'canonical': '/value'},"
        "  {'id': 'start', 'native': 'period.start', 'canonical': '/start',"
        "   'transform': [{'date': {'native': 'iso-date', 'canonical': "
        "'iso-date'}}]}]},"
        "{'id': 'x', 'native': 'x', 'canonical': '/x'},"
        "{'id': 'birth-date', 'native': 'birthDate', 'canonical': "
        "'/birth_date',"
        " 'transform': [{'date': {'native': 'YYYY-MM-DD', 'canonical': "
        "'iso-date'}}]}]}");
    lx_error err;
    assert_int_equal(run_err(m, LX_MAP_IN,
                             "{'identifier': [{'value': '1'}, {'value': '2',"
                             " 'period': {'start': 'secret-42'}}]}",
                             NULL, &err),
                     LX_EINVAL);
    assert_string_equal(err.msg, "rule 'start' (#2.2): source "
                                 "Patient.identifier[1].period.start: not a "
                                 "date in format iso-date");
    assert_null(strstr(err.msg, "secret"));
    assert_int_equal(
        run_err(m, LX_MAP_IN, "{'birthDate': '1974/12/25'}", NULL, &err),
        LX_EINVAL);
    assert_string_equal(err.msg, "rule 'birth-date' (#4): source "
                                 "Patient.birthDate: not a date in format "
                                 "YYYY-MM-DD");
    assert_string_equal(err.where, "Patient.birthDate");
    lx_map_destroy(&m);
}

static void test_map_conflicting_targets_are_located(void **state)
{
    (void)state;
    lx_map *m =
        compile("{'format': 1, 'rules': ["
                "{'id': 'a', 'native': 'a', 'canonical': '/name'},"
                "{'id': 'b', 'native': 'b', 'canonical': '/name/family'}]}");
    lx_error err;
    assert_int_equal(run_err(m, LX_MAP_IN, "{'a': 'x', 'b': 'y'}", NULL, &err),
                     LX_ECONFLICT);
    assert_string_equal(err.msg, "rule 'b' (#2): target /name/family: an "
                                 "object is needed here");
    lx_map_destroy(&m);
}

/* ---- lineage ---- */

static const lx_map_lineage *find_target(const lx_map_trace *t,
                                         const char *target)
{
    for (size_t i = 0; i < lx_map_trace_count(t); i++)
        if (strcmp(lx_map_trace_get(t, i)->target, target) == 0)
            return lx_map_trace_get(t, i);
    fprintf(stderr, "no lineage for %s\n", target);
    return NULL;
}

static void expect_lineage(const lx_map_trace *t, const char *target,
                           const char *rule, const char *source)
{
    const lx_map_lineage *l = find_target(t, target);
    assert_non_null(l);
    assert_string_equal(l->rule, rule);
    assert_string_equal(l->source, source);
}

static void test_map_trace_gives_field_lineage(void **state)
{
    (void)state;
    lx_map *m = load_fixture("fhir-patient.json");
    char path[1024];
    const char *corpus = getenv("LX_CORPUS_DIR");
    snprintf(path, sizeof(path), "%s/fhir/r4/json/Patient-example.json",
             corpus ? corpus : "../shared/corpus");
    json_t *patient = load_json(path);
    xref_ctx x = {0, 0};
    lx_map_resolver res = {to_canonical, to_native, &x, NULL};
    lx_map_trace *t = lx_map_trace_new();
    json_t *c = run_ok(m, LX_MAP_IN, patient, &res, t);
    expect_lineage(t, "/name/family", "rule 'family' (#3.1)",
                   "Patient.name[0].family");
    expect_lineage(t, "/identifiers/0/value", "rule 'identifier-value' (#2.2)",
                   "Patient.identifier[0].value");
    /* telecom[0] has no value: contacts/0 comes from telecom[1] */
    expect_lineage(t, "/contacts/0/value", "rule 'contact-value' (#4.2)",
                   "Patient.telecom[1].value");
    expect_lineage(t, "/addresses/0/period/start",
                   "rule 'address-start' (#7.9)",
                   "Patient.address[0].period.start");
    expect_lineage(t, "/managing_organization",
                   "rule 'managing-organization' (#8)",
                   "Patient.managingOrganization.reference");
    assert_string_equal(find_target(t, "/gender")->rule_id, "gender");
    /* Every field of the output has its lineage, and no value leaks. */
    assert_int_equal(lx_map_trace_count(t), 25);
    json_t *js = lx_map_trace_to_json(t);
    char *dump = json_dumps(js, 0);
    assert_null(strstr(dump, "Chalmers"));
    assert_null(strstr(dump, "5555"));
    free(dump);
    json_decref(js);

    json_t *n = run_ok(m, LX_MAP_OUT, c, &res, t);
    expect_lineage(t, "Patient.name[0].family", "rule 'family' (#3.1)",
                   "/name/family");
    expect_lineage(t, "Patient.name[0].use", "rule 'name' (#3)", "(filter)");
    expect_lineage(t, "Patient.resourceType", "rule 'resource-type' (#1)",
                   "(constant)");
    expect_lineage(t, "Patient.telecom[2].value", "rule 'contact-value' (#4.2)",
                   "/contacts/2/value");
    json_decref(n);
    json_decref(c);
    json_decref(patient);
    lx_map_trace_destroy(&t);
    assert_null(t);
    lx_map_destroy(&m);
}

static void test_map_trace_of_concat_and_defaults(void **state)
{
    (void)state;
    lx_map *m = compile(
        "{'format': 1, 'rules': [{'id': 'display', 'type': 'concat',"
        " 'native': ['n[0].first', 'n[0].last'], 'canonical': '/display',"
        " 'separator': ' '},"
        " {'id': 'g', 'native': 'g', 'canonical': '/gender',"
        "  'default': {'canonical': 'unknown'}}]}");
    lx_map_trace *t = lx_map_trace_new();
    json_t *in = J("{'n': [{'first': 'A', 'last': 'B'}]}");
    json_t *out = run_ok(m, LX_MAP_IN, in, NULL, t);
    expect_lineage(t, "/display", "rule 'display' (#1)",
                   "n[0].first + n[0].last");
    expect_lineage(t, "/gender", "rule 'g' (#2)", "(default)");
    json_decref(out);
    json_decref(in);
    lx_map_trace_destroy(&t);
    lx_map_destroy(&m);
}

/* ---- threads ---- */

typedef struct thread_arg {
    const lx_map *m;
    const json_t *input;
    const json_t *expected;
    int failures;
} thread_arg;

static void *run_many(void *p)
{
    thread_arg *a = p;
    for (int i = 0; i < 2000; i++) {
        json_t *out = NULL;
        if (lx_map_run(a->m, LX_MAP_IN, a->input, NULL, &out, NULL, NULL) !=
                0 ||
            !json_equal(out, a->expected))
            a->failures++;
        json_decref(out);
    }
    return NULL;
}

static void test_map_one_map_runs_on_many_threads(void **state)
{
    (void)state;
    lx_map *m = load_fixture("x12-member.json");
    char path[1024];
    json_t *native =
        load_json(fixture("x12-member-input.json", path, sizeof(path)));
    json_t *expected = run_ok(m, LX_MAP_IN, native, NULL, NULL);
    enum { THREADS = 4 };
    pthread_t th[THREADS];
    thread_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (thread_arg){m, native, expected, 0};
        assert_int_equal(pthread_create(&th[i], NULL, run_many, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    json_decref(expected);
    json_decref(native);
    lx_map_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_copy_dotted_path_to_pointer_and_back),
        cmocka_unit_test(test_map_missing_source_writes_nothing),
        cmocka_unit_test(
            test_map_filter_takes_first_match_and_creates_on_write),
        cmocka_unit_test(test_map_alternatives_fall_back_and_write_the_first),
        cmocka_unit_test(test_map_indexes_in_both_syntaxes),
        cmocka_unit_test(test_map_filter_with_several_tests_and_quoted_values),
        cmocka_unit_test(test_map_key_on_a_list_reads_each_element),
        cmocka_unit_test(test_map_star_target_collects_every_match),
        cmocka_unit_test(test_map_pointer_escapes_and_absolute_paths),
        cmocka_unit_test(test_map_object_rule_maps_one_element),
        cmocka_unit_test(test_map_each_builds_one_element_per_match),
        cmocka_unit_test(test_map_each_filter_target_sets_its_fields),
        cmocka_unit_test(test_map_each_of_scalars_with_self_paths),
        cmocka_unit_test(test_map_nested_each_over_nested_lists),
        cmocka_unit_test(test_map_table_maps_both_ways),
        cmocka_unit_test(test_map_table_unmapped_error_names_rule_not_value),
        cmocka_unit_test(test_map_table_unmapped_pass_drop_and_value),
        cmocka_unit_test(test_map_table_with_explicit_out_runs_both_ways),
        cmocka_unit_test(test_map_table_inline_numbers_and_booleans),
        cmocka_unit_test(test_map_table_applies_to_each_element_of_a_list),
        cmocka_unit_test(test_map_date_x12_to_iso_and_back),
        cmocka_unit_test(test_map_datetime_with_zone_converts_on_the_way_out),
        cmocka_unit_test(test_map_iso_datetime_keeps_fraction_and_zone),
        cmocka_unit_test(test_map_string_transforms),
        cmocka_unit_test(test_map_numbers_implied_decimals_and_marks),
        cmocka_unit_test(
            test_map_transforms_chain_in_order_and_invert_backwards),
        cmocka_unit_test(test_map_concat_and_its_inverse),
        cmocka_unit_test(test_map_split_to_a_list_and_back),
        cmocka_unit_test(test_map_const_runs_toward_its_side_only),
        cmocka_unit_test(test_map_defaults_per_direction),
        cmocka_unit_test(test_map_conditions_exists_equals_in_matches),
        cmocka_unit_test(test_map_ref_resolves_through_the_resolver),
        cmocka_unit_test(
            test_map_ref_unresolved_is_an_error_naming_rule_and_path),
        cmocka_unit_test(test_map_ref_drop_policy_bare_ids_and_entity_check),
        cmocka_unit_test(test_map_store_resolver_uses_the_cross_reference),
        cmocka_unit_test(test_map_x12_member_round_trips_exactly),
        cmocka_unit_test(test_map_fhir_patient_canonical_is_a_fixed_point),
        cmocka_unit_test(test_map_run_error_names_rule_and_concrete_source),
        cmocka_unit_test(test_map_conflicting_targets_are_located),
        cmocka_unit_test(test_map_trace_gives_field_lineage),
        cmocka_unit_test(test_map_trace_of_concat_and_defaults),
        cmocka_unit_test(test_map_one_map_runs_on_many_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
