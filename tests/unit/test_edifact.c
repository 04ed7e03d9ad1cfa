/* Unit tests of the EDIFACT tokenizer, envelope checks and generator
 * (adapters/edi/edifact.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "adapters/edi/edifact.h"
#include "adapters/edi/edifact_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *parse_ok(const char *text, unsigned flags)
{
    lx_edifact_options o = {flags, 0, 0, NULL};
    json_t *tree = NULL;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_edifact_parse(text, strlen(text), &o, &tree, NULL, &err);
    if (rc != 0)
        fail_msg("parse: %s", err.msg);
    return tree;
}

/* Parse strictly, expect LX_ESCHEMA with this 0085 code; returns err. */
static lx_error parse_refused(const char *text, int code)
{
    lx_edifact_options o = {0, 0, 0, NULL};
    json_t *tree = NULL;
    lx_error err;
    lx_error_clear(&err);
    lx_edifact_diags d;
    lx_edifact_diags_init(&d);
    assert_int_equal(lx_edifact_parse(text, strlen(text), &o, &tree, &d, &err),
                     LX_ESCHEMA);
    assert_null(tree);
    assert_true(d.count > 0);
    assert_int_equal(d.items[d.count - 1].code, code);
    assert_true(d.items[d.count - 1].is_envelope);
    lx_edifact_diags_fini(&d);
    return err;
}

static char *generate(const json_t *tree, const lx_edifact_gen_options *go)
{
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_error err;
    lx_error_clear(&err);
    if (lx_edifact_generate(tree, go, &out, &err) != 0)
        fail_msg("generate: %s", err.msg);
    return lx_buf_take(&out, NULL);
}

/* The value of component c of element e of data segment s of message 0. */
static const char *value(const json_t *tree, size_t s, size_t e, size_t c)
{
    const json_t *msg = json_array_get(
        json_object_get(json_array_get(json_object_get(tree, "interchanges"),
                                       0),
                        "messages"),
        0);
    const json_t *seg = json_array_get(json_object_get(msg, "segments"), s);
    return json_string_value(
        json_array_get(json_array_get(json_object_get(seg, "elements"), e),
                       c));
}

#define ENVELOPE_OPEN "UNB+UNOC:3+S+R+260101:1200+IC1'UNH+M1+ORDERS:D:96A:UN'"

static void test_edifact_una_sets_unusual_delimiters(void **state)
{
    (void)state;
    const char *in =
        "UNA|^,# ~UNB^UNOC|3^S^R^260101|1200^IC1~"
        "UNH^M1^ORDERS|D|96A|UN~FTX^A#^B|C#|D~UNT^3^M1~UNZ^1^IC1~";
    json_t *tree = parse_ok(in, 0);
    assert_string_equal(value(tree, 0, 0, 0), "A^B");
    assert_string_equal(value(tree, 0, 0, 1), "C|D");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(tree,
                                                           "interchanges"),
                                           0),
                            "UNA")),
                        "|^,# ~");
    char *out = generate(tree, NULL);
    assert_string_equal(out, in);
    free(out);
    json_decref(tree);
}

static void test_edifact_release_character_both_ways(void **state)
{
    (void)state;
    const char *in = ENVELOPE_OPEN
        "FTX+AAI+++It?'s 1?+1?:2 ?? ok'UNT+3+M1'UNZ+1+IC1'";
    json_t *tree = parse_ok(in, 0);
    assert_string_equal(value(tree, 0, 3, 0), "It's 1+1:2 ? ok");
    char *out = generate(tree, NULL);
    assert_string_equal(out, in);
    free(out);
    json_decref(tree);
}

static void test_edifact_values_are_utf8_in_the_tree(void **state)
{
    (void)state;
    /* ISO 8859-1 (UNOC's repertoire) is read as such; UTF-8 is kept. */
    const char *in = ENVELOPE_OPEN
        "FTX+AAI+++M\xfcller'FTX+AAI+++M\xc3\xbcller'UNT+4+M1'UNZ+1+IC1'";
    json_t *tree = parse_ok(in, 0);
    assert_string_equal(value(tree, 0, 3, 0), "M\xc3\xbcller");
    assert_string_equal(value(tree, 1, 3, 0), "M\xc3\xbcller");
    char *text = json_dumps(tree, JSON_COMPACT);
    assert_non_null(text); /* jansson refuses to write invalid UTF-8 */
    json_t *back = json_loads(text, 0, NULL);
    assert_non_null(back);
    json_decref(back);
    free(text);
    json_decref(tree);
}

static void test_edifact_missing_una_uses_defaults_and_generates_without(
    void **state)
{
    (void)state;
    const char *in =
        ENVELOPE_OPEN "BGM+220+PO1+9'UNT+3+M1'UNZ+1+IC1'";
    json_t *tree = parse_ok(in, 0);
    const json_t *ic =
        json_array_get(json_object_get(tree, "interchanges"), 0);
    assert_null(json_object_get(ic, "UNA"));
    char *out = generate(tree, NULL);
    assert_string_equal(out, in);
    free(out);
    lx_edifact_gen_options go = {NULL, 1, "\r\n", 0};
    out = generate(tree, &go);
    assert_true(strncmp(out, "UNA:+.? '\r\nUNB+UNOC:3", 21) == 0);
    free(out);
    json_decref(tree);
}

static void test_edifact_repetition_only_in_syntax_4(void **state)
{
    (void)state;
    const char *v4 = "UNB+UNOC:4+S+R+20260101:1200+IC1'"
                     "UNH+M1+INVOIC:D:96A:UN'CUX+3*1'UNT+3+M1'UNZ+1+IC1'";
    json_t *tree = parse_ok(v4, 0);
    const json_t *msg = json_array_get(
        json_object_get(
            json_array_get(json_object_get(tree, "interchanges"), 0),
            "messages"),
        0);
    const json_t *e = json_array_get(
        json_object_get(json_array_get(json_object_get(msg, "segments"), 0),
                        "elements"),
        0);
    const json_t *reps = json_object_get(e, "repeats");
    assert_int_equal(json_array_size(reps), 2);
    assert_string_equal(json_string_value(json_array_get(
                            json_array_get(reps, 1), 0)),
                        "1");
    char *out = generate(tree, NULL);
    assert_string_equal(out, v4);
    free(out);
    json_decref(tree);

    const char *v3 = "UNA:+.?*'UNB+UNOC:3+S+R+260101:1200+IC1'"
                     "UNH+M1+INVOIC:D:96A:UN'CUX+3*1'UNT+3+M1'UNZ+1+IC1'";
    tree = parse_ok(v3, 0);
    assert_string_equal(value(tree, 0, 0, 0), "3*1");
    out = generate(tree, NULL);
    assert_string_equal(out, v3);
    free(out);
    json_decref(tree);
}

static void test_edifact_crlf_after_terminators_is_skipped(void **state)
{
    (void)state;
    json_t *tree = parse_ok("UNB+UNOA:3+S+R+260101:1200+IC1'\r\n\r\n"
                            "UNH+M1+ORDERS:D:96A:UN'\nBGM+220'\r\n"
                            "UNT+3+M1'\nUNZ+1+IC1'\n",
                            0);
    assert_string_equal(value(tree, 0, 0, 0), "220");
    json_decref(tree);
}

static void test_edifact_unt_count_mismatch_is_located(void **state)
{
    (void)state;
    lx_error err = parse_refused(
        ENVELOPE_OPEN "BGM+220'DTM+137:20260101:102'UNT+3+M1'UNZ+1+IC1'",
        LX_EDIFACT_UC_COUNT_MISMATCH);
    assert_string_equal(err.where, "UNB IC1 UNH M1 segment 4 (UNT) element 1");
    assert_int_equal(err.line, 1);
    assert_true(err.offset > 0);
}

static void test_edifact_unh_unt_reference_mismatch(void **state)
{
    (void)state;
    lx_error err = parse_refused(ENVELOPE_OPEN "BGM+220'UNT+3+M2'UNZ+1+IC1'",
                                 LX_EDIFACT_UC_REFS_DO_NOT_MATCH);
    assert_non_null(strstr(err.where, "element 2"));
    assert_null(strstr(err.msg, "M2"));
}

static void test_edifact_unz_count_and_reference_mismatch(void **state)
{
    (void)state;
    parse_refused(ENVELOPE_OPEN "BGM+220'UNT+3+M1'UNZ+2+IC1'",
                  LX_EDIFACT_UC_COUNT_MISMATCH);
    parse_refused(ENVELOPE_OPEN "BGM+220'UNT+3+M1'UNZ+1+IC2'",
                  LX_EDIFACT_UC_REFS_DO_NOT_MATCH);
    parse_refused(ENVELOPE_OPEN "BGM+220'UNT+3+M1'",
                  LX_EDIFACT_UC_MISSING);
}

static void test_edifact_groups_are_counted_by_une_and_unz(void **state)
{
    (void)state;
    const char *in = "UNB+UNOC:3+S+R+260101:1200+IC1'"
                     "UNG+ORDERS+S+R+260101:1200+G1+UN+D:96A'"
                     "UNH+M1+ORDERS:D:96A:UN'BGM+220'UNT+3+M1'"
                     "UNH+M2+ORDERS:D:96A:UN'BGM+220'UNT+3+M2'"
                     "UNE+2+G1'UNZ+1+IC1'";
    json_t *tree = parse_ok(in, 0);
    const json_t *g = json_array_get(
        json_object_get(
            json_array_get(json_object_get(tree, "interchanges"), 0),
            "groups"),
        0);
    assert_int_equal(json_array_size(json_object_get(g, "messages")), 2);
    char *out = generate(tree, NULL);
    assert_string_equal(out, in);
    free(out);
    json_decref(tree);
    parse_refused("UNB+UNOC:3+S+R+260101:1200+IC1'"
                  "UNG+ORDERS+S+R+260101:1200+G1+UN+D:96A'"
                  "UNH+M1+ORDERS:D:96A:UN'BGM+220'UNT+3+M1'"
                  "UNE+2+G1'UNZ+1+IC1'",
                  LX_EDIFACT_UC_COUNT_MISMATCH);
    parse_refused("UNB+UNOC:3+S+R+260101:1200+IC1'"
                  "UNG+ORDERS+S+R+260101:1200+G1+UN+D:96A'"
                  "UNH+M1+ORDERS:D:96A:UN'BGM+220'UNT+3+M1'"
                  "UNE+1+G2'UNZ+1+IC1'",
                  LX_EDIFACT_UC_REFS_DO_NOT_MATCH);
    /* UNZ01 counts groups, not messages, when UNG is used. */
    parse_refused("UNB+UNOC:3+S+R+260101:1200+IC1'"
                  "UNG+ORDERS+S+R+260101:1200+G1+UN+D:96A'"
                  "UNH+M1+ORDERS:D:96A:UN'BGM+220'UNT+3+M1'"
                  "UNH+M2+ORDERS:D:96A:UN'BGM+220'UNT+3+M2'"
                  "UNE+2+G1'UNZ+2+IC1'",
                  LX_EDIFACT_UC_COUNT_MISMATCH);
}

static void test_edifact_generator_recounts(void **state)
{
    (void)state;
    json_t *tree = parse_ok(ENVELOPE_OPEN "BGM+220'UNT+3+M1'UNZ+1+IC1'", 0);
    json_t *msg = json_array_get(
        json_object_get(
            json_array_get(json_object_get(tree, "interchanges"), 0),
            "messages"),
        0);
    json_array_append_new(json_object_get(msg, "segments"),
                          json_pack("{s:s, s:[[s]]}", "id", "FTX", "elements",
                                    "A'B"));
    char *out = generate(tree, NULL);
    assert_non_null(strstr(out, "FTX+A?'B'UNT+4+M1'UNZ+1+IC1'"));
    free(out);
    json_decref(tree);
}

static void test_edifact_syntax_errors_are_located(void **state)
{
    (void)state;
    lx_error err;
    json_t *tree = NULL;
    const char *cases[] = {
        "UNB+UNOC:3+S+R+260101:1200+IC1'UNH+M1+ORDERS:D:96A:UN'BGM+220",
        "UNB+UNOC:3+S+R+260101:1200+IC1'\nbgm+220'",
        "UNA:+.?'",
        "UNA::.? 'UNB+UNOC:3'",
        "UNB+UNOC:3+S+R+260101:1200+IC1'UNH+M1+X'FTX+A?",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        lx_error_clear(&err);
        assert_int_equal(lx_edifact_parse(cases[i], strlen(cases[i]), NULL,
                                          &tree, NULL, &err),
                         LX_ESYNTAX);
        assert_null(tree);
        assert_true(err.line >= 1);
    }
    lx_error_clear(&err);
    assert_int_equal(lx_edifact_parse(cases[1], strlen(cases[1]), NULL, &tree,
                                      NULL, &err),
                     LX_ESYNTAX);
    assert_int_equal(err.line, 2);
}

/* The tree shares one JSON string per distinct short value: 600 distinct
 * values (more than the sharing table holds) and repeated ones each keep
 * their own text. */
static void test_edifact_shared_values_keep_their_text(void **state)
{
    (void)state;
    lx_buf b;
    lx_buf_init(&b, 0);
    assert_int_equal(lx_buf_printf(&b, "%s", ENVELOPE_OPEN), 0);
    for (int i = 0; i < 600; i++)
        assert_int_equal(lx_buf_printf(&b, "RFF+ON:%d'QTY+21:%d::PCE'", i,
                                       i % 7),
                         0);
    assert_int_equal(lx_buf_printf(&b, "UNT+1202+M1'UNZ+1+IC1'"), 0);
    json_t *tree = parse_ok(b.data, 0);
    char want[16];
    for (size_t i = 0; i < 600; i++) {
        snprintf(want, sizeof(want), "%zu", i);
        assert_string_equal(value(tree, 2 * i, 0, 1), want);
        assert_string_equal(value(tree, 2 * i, 0, 0), "ON");
        snprintf(want, sizeof(want), "%zu", i % 7);
        assert_string_equal(value(tree, 2 * i + 1, 0, 1), want);
        assert_string_equal(value(tree, 2 * i + 1, 0, 2), "");
        assert_string_equal(value(tree, 2 * i + 1, 0, 3), "PCE");
    }
    const json_t *msg = json_array_get(
        json_object_get(json_array_get(json_object_get(tree, "interchanges"),
                                       0),
                        "messages"),
        0);
    const json_t *segs = json_object_get(msg, "segments");
    json_t *first = json_object_get(json_array_get(segs, 0), "id");
    json_t *last = json_object_get(json_array_get(segs, 1198), "id");
    assert_string_equal(json_string_value(last), "RFF");
    assert_ptr_equal(first, last);
    char *again = generate(tree, NULL);
    assert_string_equal(again, b.data);
    free(again);
    json_decref(tree);
    lx_buf_fini(&b);
}

/* The reader lends its buffers to one message at a time: messages kept
 * unbuilt while the next ones are read, built in any order, and one
 * built after the reader is closed, all get their own segments. */
static void test_edifact_reader_messages_outlive_each_other(void **state)
{
    (void)state;
    const char *text = "UNB+UNOC:3+S+R+260101:1200+IC1'"
                       "UNH+M1+ORDERS:D:96A:UN'BGM+220+PO1'UNT+3+M1'"
                       "UNH+M2+ORDERS:D:96A:UN'BGM+220+PO2'UNT+3+M2'"
                       "UNH+M3+ORDERS:D:96A:UN'BGM+220+PO3'UNT+3+M3'"
                       "UNZ+3+IC1'";
    lx_edifact_reader *r = NULL;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_edifact_reader_open_mem(text, strlen(text), NULL, &r,
                                                &err),
                     0);
    lx_edifact_msg *m[3] = {NULL, NULL, NULL};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(lx_edifact_reader_next_msg(r, &m[i], NULL, &err), 0);
    /* The first one borrowed the buffers and still holds them. */
    assert_string_equal(value(lx_edifact_msg_tree(m[1]), 0, 1, 0), "PO2");
    lx_edifact_msg_destroy(&m[1]);
    lx_edifact_reader_close(&r);
    assert_string_equal(value(lx_edifact_msg_tree(m[2]), 0, 1, 0), "PO3");
    assert_string_equal(value(lx_edifact_msg_tree(m[0]), 0, 1, 0), "PO1");
    lx_edifact_msg_destroy(&m[0]);
    lx_edifact_msg_destroy(&m[2]);

    /* Read again: a message destroyed unbuilt gives the buffers back. */
    assert_int_equal(lx_edifact_reader_open_mem(text, strlen(text), NULL, &r,
                                                &err),
                     0);
    assert_int_equal(lx_edifact_reader_next_msg(r, &m[0], NULL, &err), 0);
    lx_edifact_msg_destroy(&m[0]);
    for (size_t i = 1; i < 3; i++) {
        assert_int_equal(lx_edifact_reader_next_msg(r, &m[i], NULL, &err), 0);
        char want[8];
        snprintf(want, sizeof(want), "PO%zu", i + 1);
        assert_string_equal(value(lx_edifact_msg_tree(m[i]), 0, 1, 0), want);
        lx_edifact_msg_destroy(&m[i]);
    }
    assert_int_equal(lx_edifact_reader_next_msg(r, &m[0], NULL, &err),
                     LX_ENOTFOUND);
    lx_edifact_reader_close(&r);
}

static void test_edifact_lenient_keeps_findings(void **state)
{
    (void)state;
    lx_edifact_options o = {LX_EDIFACT_LENIENT, 0, 0, NULL};
    json_t *tree = NULL;
    lx_edifact_diags d;
    lx_edifact_diags_init(&d);
    const char *in = ENVELOPE_OPEN "BGM+220'UNT+9+M1'UNZ+1+IC1'";
    assert_int_equal(
        lx_edifact_parse(in, strlen(in), &o, &tree, &d, NULL), 0);
    assert_int_equal(d.count, 1);
    char line[256];
    assert_string_equal(lx_edifact_diag_format(&d.items[0], line, sizeof line),
                        "UNB IC1 UNH M1 segment 3 (UNT) element 1: UNT01 "
                        "does not match the number of segments from UNH to "
                        "UNT [29]");
    lx_edifact_diags_fini(&d);
    json_decref(tree);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edifact_una_sets_unusual_delimiters),
        cmocka_unit_test(test_edifact_release_character_both_ways),
        cmocka_unit_test(test_edifact_values_are_utf8_in_the_tree),
        cmocka_unit_test(
            test_edifact_missing_una_uses_defaults_and_generates_without),
        cmocka_unit_test(test_edifact_repetition_only_in_syntax_4),
        cmocka_unit_test(test_edifact_crlf_after_terminators_is_skipped),
        cmocka_unit_test(test_edifact_unt_count_mismatch_is_located),
        cmocka_unit_test(test_edifact_unh_unt_reference_mismatch),
        cmocka_unit_test(test_edifact_unz_count_and_reference_mismatch),
        cmocka_unit_test(test_edifact_groups_are_counted_by_une_and_unz),
        cmocka_unit_test(test_edifact_generator_recounts),
        cmocka_unit_test(test_edifact_syntax_errors_are_located),
        cmocka_unit_test(test_edifact_lenient_keeps_findings),
        cmocka_unit_test(test_edifact_shared_values_keep_their_text),
        cmocka_unit_test(test_edifact_reader_messages_outlive_each_other),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
