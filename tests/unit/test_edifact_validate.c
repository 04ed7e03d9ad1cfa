/* Unit tests of EDIFACT message definitions (schemas/edifact/d96a) and of
 * validation against them (adapters/edi/edifact.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "adapters/edi/edifact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lx_edifact_defs *defs;

static int setup(void **state)
{
    (void)state;
    const char *src = getenv("LX_SOURCE_DIR");
    assert_non_null(src);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/schemas/edifact/d96a", src);
    lx_error err;
    lx_error_clear(&err);
    if (lx_edifact_defs_load(dir, &defs, &err) != 0)
        fail_msg("load: %s", err.msg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lx_edifact_defs_destroy(&defs);
    assert_null(defs);
    return 0;
}

#define HEAD "UNB+UNOC:3+S+R+260101:1200+IC1'UNH+M1+ORDERS:D:96A:UN'"

/* Parse body (segments after UNH) with a correct envelope appended. */
static json_t *parse_body(const char *body, lx_edifact_diags *d)
{
    size_t segs = 2;
    for (const char *p = body; *p; p++)
        segs += *p == '\'';
    char text[4096];
    snprintf(text, sizeof text, "%s%sUNT+%zu+M1'UNZ+1+IC1'", HEAD, body, segs);
    lx_edifact_options o = {0, 0, 0, defs};
    json_t *tree = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (lx_edifact_parse(text, strlen(text), &o, &tree, d, &err) != 0)
        fail_msg("parse: %s", err.msg);
    return tree;
}

static const json_t *message0(const json_t *tree)
{
    return json_array_get(
        json_object_get(
            json_array_get(json_object_get(tree, "interchanges"), 0),
            "messages"),
        0);
}

static const lx_edifact_diag *only_finding(const lx_edifact_diags *d, int code)
{
    if (d->count != 1) {
        char line[256];
        for (size_t i = 0; i < d->count; i++)
            print_error("%s\n",
                        lx_edifact_diag_format(&d->items[i], line, sizeof line));
        fail_msg("expected one finding, got %zu", d->count);
    }
    assert_int_equal(d->items[0].code, code);
    return &d->items[0];
}

static void test_edifact_defs_know_the_four_messages(void **state)
{
    (void)state;
    assert_string_equal(lx_edifact_defs_version(defs), "D");
    assert_string_equal(lx_edifact_defs_release(defs), "96A");
    const char *types[] = {"ORDERS", "INVOIC", "DESADV", "CONTRL"};
    for (size_t i = 0; i < 4; i++)
        assert_true(lx_edifact_defs_has_message(defs, types[i]));
    assert_false(lx_edifact_defs_has_message(defs, "APERAK"));
}

static void test_edifact_orders_segments_go_into_their_groups(void **state)
{
    (void)state;
    lx_edifact_diags d;
    lx_edifact_diags_init(&d);
    json_t *tree = parse_body("BGM+220+PO1+9'DTM+137:20260101:102'"
                              "NAD+BY+5412345000013::9'RFF+VA:BE1'"
                              "NAD+SU+4012345000094::9'"
                              "LIN+1++4000862141404:EN'QTY+21:10'"
                              "PRI+AAA:25.00'UNS+S'CNT+2:1'",
                              &d);
    assert_int_equal(d.count, 0);
    const json_t *msg = message0(tree);
    assert_int_equal(json_array_size(json_object_get(msg, "segments")), 4);
    const json_t *groups = json_object_get(msg, "groups");
    assert_int_equal(json_array_size(groups), 3);
    const json_t *sg2 = json_array_get(groups, 0);
    assert_string_equal(json_string_value(json_object_get(sg2, "id")), "SG2");
    const json_t *sg3 =
        json_array_get(json_object_get(sg2, "groups"), 0);
    assert_string_equal(json_string_value(json_object_get(sg3, "id")), "SG3");
    const json_t *sg25 = json_array_get(groups, 2);
    assert_string_equal(json_string_value(json_object_get(sg25, "id")),
                        "SG25");
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(
                               json_array_get(json_object_get(sg25, "groups"),
                                              0),
                               "segments"),
                           0),
            "id")),
        "PRI");
    /* And back, in the same order. */
    lx_buf out;
    lx_buf_init(&out, 0);
    assert_int_equal(lx_edifact_generate(tree, NULL, &out, NULL), 0);
    assert_non_null(strstr(out.data, "QTY+21:10'PRI+AAA:25.00'UNS+S'CNT+2:1'"
                                     "UNT+12+M1'"));
    lx_buf_fini(&out);
    json_decref(tree);
    lx_edifact_diags_fini(&d);
}

static void test_edifact_unknown_segment_in_orders(void **state)
{
    (void)state;
    lx_edifact_diags d;
    lx_edifact_diags_init(&d);
    json_t *tree = parse_body("BGM+220+PO1+9'DTM+137:20260101:102'XYZ+1'"
                              "UNS+S'",
                              &d);
    const lx_edifact_diag *dg =
        only_finding(&d, LX_EDIFACT_UC_NOT_SUPPORTED_HERE);
    assert_int_equal(dg->segment_pos, 4);
    assert_string_equal(dg->segment_tag, "XYZ");
    assert_string_equal(dg->message_ref, "M1");
    assert_string_equal(dg->interchange_ref, "IC1");
    json_decref(tree);
    lx_edifact_diags_fini(&d);
}

static void test_edifact_missing_mandatory_segment(void **state)
{
    (void)state;
    lx_edifact_diags d;
    lx_edifact_diags_init(&d);
    json_t *tree = parse_body("BGM+220+PO1+9'UNS+S'", &d);
    const lx_edifact_diag *dg = only_finding(&d, LX_EDIFACT_UC_MISSING);
    assert_non_null(strstr(dg->msg, "DTM"));
    json_decref(tree);
    lx_edifact_diags_fini(&d);
}

static void test_edifact_bad_numeric_format(void **state)
{
    (void)state;
    lx_edifact_diags d;
    lx_edifact_diags_init(&d);
    json_t *tree = parse_body("BGM+220+PO1+9'DTM+137:20260101:102'"
                              "LIN+1'QTY+21:1O'UNS+S'",
                              &d);
    const lx_edifact_diag *dg =
        only_finding(&d, LX_EDIFACT_UC_INVALID_CHARS);
    assert_string_equal(dg->segment_tag, "QTY");
    assert_int_equal(dg->segment_pos, 5);
    assert_int_equal(dg->element, 1);
    assert_int_equal(dg->component, 2);
    assert_null(strstr(dg->msg, "1O"));
    json_decref(tree);
    lx_edifact_diags_fini(&d);
}

static void test_edifact_too_long_element(void **state)
{
    (void)state;
    lx_edifact_diags d;
    lx_edifact_diags_init(&d);
    json_t *tree = parse_body("BGM+220+123456789012345678901234567890123456+9'"
                              "DTM+137:20260101:102'UNS+S'",
                              &d);
    const lx_edifact_diag *dg = only_finding(&d, LX_EDIFACT_UC_TOO_LONG);
    assert_int_equal(dg->element, 2);
    assert_int_equal(dg->component, 0);
    char line[256];
    assert_string_equal(lx_edifact_diag_format(dg, line, sizeof line),
                        "UNB IC1 UNH M1 segment 2 (BGM) element 2: too long "
                        "(1004, max 35) [39]");
    json_decref(tree);
    lx_edifact_diags_fini(&d);
}

static void test_edifact_too_many_repetitions(void **state)
{
    (void)state;
    lx_edifact_diags d;
    lx_edifact_diags_init(&d);
    char body[2048];
    size_t n = (size_t)snprintf(body, sizeof body, "BGM+220+PO1+9'");
    for (int i = 0; i < 36; i++)
        n += (size_t)snprintf(body + n, sizeof body - n,
                              "DTM+137:20260101:102'");
    snprintf(body + n, sizeof body - n, "UNS+S'");
    json_t *tree = parse_body(body, &d);
    const lx_edifact_diag *dg =
        only_finding(&d, LX_EDIFACT_UC_TOO_MANY_REPEATS);
    assert_int_equal(dg->segment_pos, 38);
    json_decref(tree);
    lx_edifact_diags_fini(&d);
}

static void test_edifact_other_releases_stay_flat(void **state)
{
    (void)state;
    const char *text = "UNB+UNOC:3+S+R+260101:1200+IC1'"
                       "UNH+M1+ORDERS:D:03B:UN'BGM+220'NAD+BY'UNT+4+M1'"
                       "UNZ+1+IC1'";
    lx_edifact_options o = {0, 0, 0, defs};
    json_t *tree = NULL;
    assert_int_equal(
        lx_edifact_parse(text, strlen(text), &o, &tree, NULL, NULL), 0);
    const json_t *msg = message0(tree);
    assert_null(json_object_get(msg, "groups"));
    assert_int_equal(json_array_size(json_object_get(msg, "segments")), 2);
    json_decref(tree);
}

static void test_edifact_defs_bad_file_is_located(void **state)
{
    (void)state;
    char dir[] = "/tmp/lx-edifact-defs-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/X.json", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("{\"format\":1,\"message\":\"X\",\"version\":\"D\","
          "\"release\":\"96A\",\"structure\":[[\"BGM\",\"Q\",1]]}",
          fp);
    fclose(fp);
    lx_edifact_defs *bad = NULL;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_edifact_defs_load(dir, &bad, &err), LX_ESCHEMA);
    assert_null(bad);
    assert_non_null(strstr(err.msg, "/structure/0"));
    remove(path);
    remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edifact_defs_know_the_four_messages),
        cmocka_unit_test(test_edifact_orders_segments_go_into_their_groups),
        cmocka_unit_test(test_edifact_unknown_segment_in_orders),
        cmocka_unit_test(test_edifact_missing_mandatory_segment),
        cmocka_unit_test(test_edifact_bad_numeric_format),
        cmocka_unit_test(test_edifact_too_long_element),
        cmocka_unit_test(test_edifact_too_many_repetitions),
        cmocka_unit_test(test_edifact_other_releases_stay_flat),
        cmocka_unit_test(test_edifact_defs_bad_file_is_located),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
