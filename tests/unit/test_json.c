/* tests/unit/test_json.c: parsing, canonical form, pointers, locating. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/json.h"

#include <stdlib.h>
#include <string.h>

/* ---- lx_json_parse ---------------------------------------------------- */

static void test_json_parse_accepts_any_value(void **state)
{
    (void)state;
    json_t *v = NULL;
    lx_error err;
    assert_int_equal(lx_json_parse("42", 2, "t", 100, &v, &err), 0);
    assert_true(json_is_integer(v));
    json_decref(v);
    assert_int_equal(lx_json_parse("{\"a\":[1]}", 9, "t", 100, &v, &err), 0);
    assert_true(json_is_object(v));
    json_decref(v);
}

static void test_json_parse_error_carries_line_column_and_offset(void **state)
{
    (void)state;
    static const char text[] = "{\n  \"a\": 1,\n  \"b\": tru\n}";
    json_t *v = (json_t *)1;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_json_parse(text, strlen(text), "body", 1000, &v, &err),
                     LX_ESYNTAX);
    assert_null(v);
    assert_int_equal(err.code, LX_ESYNTAX);
    assert_string_equal(err.where, "body");
    assert_int_equal(err.line, 3);
    assert_int_equal(err.column, 10);
    assert_int_equal(err.offset, 22);
    assert_non_null(strstr(err.msg, "invalid JSON"));
}

static void test_json_parse_rejects_trailing_data(void **state)
{
    (void)state;
    json_t *v = NULL;
    lx_error err;
    assert_int_equal(lx_json_parse("{} {}", 5, "t", 100, &v, &err),
                     LX_ESYNTAX);
    assert_null(v);
}

static void test_json_parse_over_limit_is_elimit(void **state)
{
    (void)state;
    json_t *v = (json_t *)1;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_json_parse("[1,2,3]", 7, "body", 6, &v, &err),
                     LX_ELIMIT);
    assert_null(v);
    assert_string_equal(err.where, "body");
    /* At the limit exactly is fine. */
    assert_int_equal(lx_json_parse("[1,2,3]", 7, "body", 7, &v, &err), 0);
    json_decref(v);
}

static void test_json_parse_rejects_duplicate_keys(void **state)
{
    (void)state;
    static const char text[] = "{\"a\":1,\"a\":2}";
    json_t *v = NULL;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_json_parse(text, strlen(text), "t", 100, &v, &err),
                     LX_ESYNTAX);
    assert_null(v);
    assert_int_equal(err.line, 1);
}

static void test_json_parse_does_not_need_nul_termination(void **state)
{
    (void)state;
    static const char text[] = {'[', '1', ']', 'x'};
    json_t *v = NULL;
    lx_error err;
    assert_int_equal(lx_json_parse(text, 3, "t", 100, &v, &err), 0);
    json_decref(v);
}

static void test_json_load_file_missing_is_eio(void **state)
{
    (void)state;
    json_t *v = (json_t *)1;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_json_load_file("/nonexistent/x.json", 100, &v, &err),
                     LX_EIO);
    assert_null(v);
    assert_string_equal(err.where, "/nonexistent/x.json");
}

/* ---- canonical form and pointers -------------------------------------- */

static void test_json_dump_canonical_sorts_keys_and_is_compact(void **state)
{
    (void)state;
    static const char text[] =
        "{ \"b\" : [ 1, 2 ],\n \"a\" : { \"z\": null, \"y\": \"s\" } }";
    json_t *v = NULL;
    lx_error err;
    assert_int_equal(lx_json_parse(text, strlen(text), "t", 1000, &v, &err),
                     0);
    size_t len = 0;
    char *s = lx_json_dump_canonical(v, &len);
    assert_string_equal(s, "{\"a\":{\"y\":\"s\",\"z\":null},\"b\":[1,2]}");
    assert_int_equal(len, strlen(s));
    free(s);
    json_decref(v);
}

static void test_json_dump_canonical_is_independent_of_key_order(void **state)
{
    (void)state;
    json_t *a = json_pack("{s:i,s:i}", "x", 1, "y", 2);
    json_t *b = json_pack("{s:i,s:i}", "y", 2, "x", 1);
    char *sa = lx_json_dump_canonical(a, NULL);
    char *sb = lx_json_dump_canonical(b, NULL);
    assert_string_equal(sa, sb);
    free(sa);
    free(sb);
    json_decref(a);
    json_decref(b);
}

static void test_json_pointer_append_escapes_tilde_and_slash(void **state)
{
    (void)state;
    char buf[64] = "";
    lx_json_pointer_append(buf, sizeof(buf), "a/b");
    lx_json_pointer_append(buf, sizeof(buf), "m~n");
    lx_json_pointer_append_index(buf, sizeof(buf), 12);
    lx_json_pointer_append(buf, sizeof(buf), "");
    assert_string_equal(buf, "/a~1b/m~0n/12/");
}

static void test_json_pointer_append_truncates_at_size(void **state)
{
    (void)state;
    char buf[6] = "";
    lx_json_pointer_append(buf, sizeof(buf), "abcdefgh");
    assert_string_equal(buf, "/abcd");
    char buf2[4] = "";
    /* An escape is never cut in half. */
    lx_json_pointer_append(buf2, sizeof(buf2), "a~");
    assert_string_equal(buf2, "/a");
}

static void test_json_str_borrows_strings_only(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:s,s:i}", "s", "text", "i", 1);
    assert_string_equal(lx_json_str(o, "s"), "text");
    assert_null(lx_json_str(o, "i"));
    assert_null(lx_json_str(o, "missing"));
    json_decref(o);
}

/* ---- lx_json_locate ---------------------------------------------------- */

/* Locate pointer in the NUL-terminated text; expect line:column. */
static void expect_at(const char *text, const char *pointer, long line,
                      long column)
{
    long l = -1, c = -1;
    int rc = lx_json_locate(text, strlen(text), pointer, &l, &c);
    if (rc != 0 || l != line || c != column)
        fail_msg("locate '%s': rc %d at %ld:%ld, expected 0 at %ld:%ld",
                 pointer, rc, l, c, line, column);
}

static void expect_not_found(const char *text, const char *pointer)
{
    long l = -1, c = -1;
    int rc = lx_json_locate(text, strlen(text), pointer, &l, &c);
    if (rc != LX_ENOTFOUND || l != 0 || c != 0)
        fail_msg("locate '%s': rc %d at %ld:%ld, expected LX_ENOTFOUND",
                 pointer, rc, l, c);
}

static void test_json_locate_root_is_first_non_blank(void **state)
{
    (void)state;
    expect_at("{}", "", 1, 1);
    expect_at("\n\n   [1]", "", 3, 4);
    expect_at("  42", "", 1, 3);
}

static void test_json_locate_member_reports_the_value(void **state)
{
    (void)state;
    expect_at("{\"a\": 1}", "/a", 1, 7);
    expect_at("{\"a\":1,\"b\":\"x\"}", "/b", 1, 12);
}

static void test_json_locate_nested_objects_and_arrays(void **state)
{
    (void)state;
    static const char text[] =
        "{\n"
        "  \"store\": {\"map_size_mb\": 0, \"sync\": true},\n"
        "  \"adapters\": [\n"
        "    {\"name\": \"a\", \"system\": \"hr\"},\n"
        "    {\"name\": \"b\",\n"
        "     \"system\": \"nope\"}\n"
        "  ],\n"
        "  \"m\": [[1, [2, 3]], {\"k\": [4]}]\n"
        "}\n";
    expect_at(text, "/store", 2, 12);
    expect_at(text, "/store/map_size_mb", 2, 28);
    expect_at(text, "/store/sync", 2, 39);
    expect_at(text, "/adapters", 3, 15);
    expect_at(text, "/adapters/0", 4, 5);
    expect_at(text, "/adapters/1", 5, 5);
    expect_at(text, "/adapters/1/name", 5, 14);
    expect_at(text, "/adapters/1/system", 6, 16);
    expect_at(text, "/m/0/1/1", 8, 17);
    expect_at(text, "/m/1/k/0", 8, 29);
}

static void test_json_locate_unescapes_pointer_tokens(void **state)
{
    (void)state;
    static const char text[] = "{\"a/b\": 1, \"m~n\": 2, \"~1\": 3, \"\": 4}";
    expect_at(text, "/a~1b", 1, 9);
    expect_at(text, "/m~0n", 1, 19);
    expect_at(text, "/~01", 1, 28);
    expect_at(text, "/", 1, 35);
    expect_not_found(text, "/a/b");
    expect_not_found(text, "/~1");
}

static void test_json_locate_decodes_escaped_member_names(void **state)
{
    (void)state;
    /* "caf\u00e9" is "café"; "\ud83d\ude00" is U+1F600; "\/" is '/'. */
    static const char text[] = "{\"caf\\u00e9\": 1, \"\\ud83d\\ude00\": 2,"
                               " \"a\\/b\": 3, \"q\\\"\\\\\": 4,"
                               " \"t\\tn\\n\": 5}";
    expect_at(text, "/caf\xc3\xa9", 1, 15);
    expect_at(text, "/\xf0\x9f\x98\x80", 1, 34);
    expect_at(text, "/a~1b", 1, 45);
    expect_at(text, "/q\"\\", 1, 57);
    expect_at(text, "/t\tn\n", 1, 70);
    expect_not_found(text, "/caf");
    expect_not_found(text, "/cafe");
    expect_not_found(text, "/caf\xc3\xa9x");
}

static void test_json_locate_skips_strings_with_braces_and_quotes(void **state)
{
    (void)state;
    static const char text[] =
        "{\"s\": \"}{][,\\\"x\\\":\", \"o\": {\"in\": \"]}\"}, \"x\": 7}";
    expect_at(text, "/x", 1, 46);
    expect_at(text, "/o/in", 1, 34);
    expect_not_found(text, "/in");
}

static void test_json_locate_counts_lines_and_characters(void **state)
{
    (void)state;
    /* Columns count characters like jansson: "é" is one column. */
    static const char text[] = "{\"\xc3\xa9t\xc3\xa9\": 1,\r\n \"b\":\n\n\t  [0]}";
    expect_at(text, "/\xc3\xa9t\xc3\xa9", 1, 9);
    expect_at(text, "/b", 4, 4);
    expect_at(text, "/b/0", 4, 5);
}

static void test_json_locate_agrees_with_jansson_columns(void **state)
{
    (void)state;
    /* Replace the value by a bad token and let jansson report it. */
    static const char good[] = "{\"\xc3\xa9\xc3\xa9\": [1,\n  {\"k\": 2}]}";
    static const char bad[] = "{\"\xc3\xa9\xc3\xa9\": [1,\n  {\"k\": x}]}";
    long l = 0, c = 0;
    assert_int_equal(lx_json_locate(good, strlen(good), "/\xc3\xa9\xc3\xa9/1/k",
                                    &l, &c),
                     0);
    json_error_t je;
    json_t *v = json_loads(bad, 0, &je);
    assert_null(v);
    assert_int_equal(l, je.line);
    assert_int_equal(c, je.column);
}

static void test_json_locate_array_indices(void **state)
{
    (void)state;
    static const char text[] = "[10, \"x,y\", [], {}, null]";
    expect_at(text, "/0", 1, 2);
    expect_at(text, "/1", 1, 6);
    expect_at(text, "/2", 1, 13);
    expect_at(text, "/3", 1, 17);
    expect_at(text, "/4", 1, 21);
    expect_not_found(text, "/5");
    expect_not_found(text, "/-");
    expect_not_found(text, "/01");
    expect_not_found(text, "/1x");
    expect_not_found(text, "/");
    expect_not_found(text, "/99999999999999999999999999");
    expect_not_found("[]", "/0");
}

static void test_json_locate_not_found_pointers(void **state)
{
    (void)state;
    static const char text[] = "{\"a\": {\"b\": 1}, \"c\": [1]}";
    expect_not_found(text, "/z");
    expect_not_found(text, "/a/z");
    expect_not_found(text, "/a/b/c");
    expect_not_found(text, "/c/x");
    expect_not_found("{}", "/a");
    expect_not_found("\"a\"", "/a");
}

static void test_json_locate_rejects_malformed_pointers(void **state)
{
    (void)state;
    long l = -1, c = -1;
    assert_int_equal(lx_json_locate("{}", 2, "a", &l, &c), LX_EINVAL);
    assert_int_equal(l, 0);
    assert_int_equal(c, 0);
    assert_int_equal(lx_json_locate("{\"~\":1}", 7, "/~", &l, &c), LX_EINVAL);
    assert_int_equal(lx_json_locate("{\"~\":1}", 7, "/~2", &l, &c),
                     LX_EINVAL);
}

static void test_json_locate_respects_len(void **state)
{
    (void)state;
    /* The value after len must not be found even though it is there. */
    static const char text[] = "{\"a\": 1, \"b\": 2}";
    long l = 0, c = 0;
    assert_int_equal(lx_json_locate(text, 9, "/a", &l, &c), 0);
    assert_int_equal(lx_json_locate(text, 9, "/b", &l, &c), LX_ENOTFOUND);
    assert_int_equal(lx_json_locate(text, 0, "", &l, &c), LX_ENOTFOUND);
}

/* Every prefix of a valid document, and assorted garbage, under every
 * pointer: nothing may crash or read out of bounds (ASan checks the
 * latter; each prefix is copied to an exact-size heap block). */
static void test_json_locate_survives_truncated_and_garbage_text(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "{\"a\": {\"b\": [1, \"x\\\"]\", {\"c\\u00e9\": \"\\ud83d\\ude00\"}]},"
        " \"d\\\\\": null}",
        "{\"a\" \"b\"}",
        "{\"a\": }",
        "{{{{[[[[",
        "]]]]}}}}",
        "{\"a\": [1,,,]}",
        "{\"a\": \"\\",
        "{\"a\": \"\\u12",
        "{\"\\ud800\": 1}",
        "{\"\\udc00\\ud800\": 1}",
        "{\"a\":1 \"b\":2}",
        ":::,,,\"\"\"",
        "\xff\xfe\x00{",
        "{\"a\"",
        "[1 2 3]",
    };
    static const char *const pointers[] = {
        "", "/a", "/a/b", "/a/b/0", "/a/b/1", "/a/b/2", "/a/b/2/c\xc3\xa9",
        "/d\\", "/b", "/0", "/\xed\xa0\x80",
    };
    for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
        size_t full = strlen(texts[t]);
        for (size_t n = 0; n <= full; n++) {
            char *copy = malloc(n ? n : 1);
            assert_non_null(copy);
            memcpy(copy, texts[t], n);
            for (size_t p = 0; p < sizeof(pointers) / sizeof(pointers[0]);
                 p++) {
                long l = -1, c = -1;
                int rc = lx_json_locate(copy, n, pointers[p], &l, &c);
                assert_true(rc == 0 || rc == LX_ENOTFOUND);
                if (rc == 0) {
                    assert_true(l >= 1 && c >= 1);
                } else {
                    assert_int_equal(l, 0);
                    assert_int_equal(c, 0);
                }
            }
            free(copy);
        }
    }
    /* The complete first document resolves its deepest pointer. */
    expect_at(texts[0], "/a/b/2/c\xc3\xa9", 1, 37);
}

static void test_json_locate_deep_nesting_needs_no_recursion(void **state)
{
    (void)state;
    /* 100000 levels to skip, then the member: a recursive scanner would
     * exhaust the stack. */
    size_t depth = 100000;
    size_t len = 1 + 5 + 2 * depth + 7 + 1;
    char *text = malloc(len + 1);
    assert_non_null(text);
    size_t n = 0;
    memcpy(text + n, "{\"d\":", 5);
    n += 5;
    memset(text + n, '[', depth);
    n += depth;
    memset(text + n, ']', depth);
    n += depth;
    memcpy(text + n, ",\"x\":1}", 7);
    n += 7;
    text[n] = '\0';
    long l = 0, c = 0;
    assert_int_equal(lx_json_locate(text, n, "/x", &l, &c), 0);
    assert_int_equal(l, 1);
    assert_int_equal(c, (long)(n - 1));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_parse_accepts_any_value),
        cmocka_unit_test(test_json_parse_error_carries_line_column_and_offset),
        cmocka_unit_test(test_json_parse_rejects_trailing_data),
        cmocka_unit_test(test_json_parse_over_limit_is_elimit),
        cmocka_unit_test(test_json_parse_rejects_duplicate_keys),
        cmocka_unit_test(test_json_parse_does_not_need_nul_termination),
        cmocka_unit_test(test_json_load_file_missing_is_eio),
        cmocka_unit_test(test_json_dump_canonical_sorts_keys_and_is_compact),
        cmocka_unit_test(test_json_dump_canonical_is_independent_of_key_order),
        cmocka_unit_test(test_json_pointer_append_escapes_tilde_and_slash),
        cmocka_unit_test(test_json_pointer_append_truncates_at_size),
        cmocka_unit_test(test_json_str_borrows_strings_only),
        cmocka_unit_test(test_json_locate_root_is_first_non_blank),
        cmocka_unit_test(test_json_locate_member_reports_the_value),
        cmocka_unit_test(test_json_locate_nested_objects_and_arrays),
        cmocka_unit_test(test_json_locate_unescapes_pointer_tokens),
        cmocka_unit_test(test_json_locate_decodes_escaped_member_names),
        cmocka_unit_test(test_json_locate_skips_strings_with_braces_and_quotes),
        cmocka_unit_test(test_json_locate_counts_lines_and_characters),
        cmocka_unit_test(test_json_locate_agrees_with_jansson_columns),
        cmocka_unit_test(test_json_locate_array_indices),
        cmocka_unit_test(test_json_locate_not_found_pointers),
        cmocka_unit_test(test_json_locate_rejects_malformed_pointers),
        cmocka_unit_test(test_json_locate_respects_len),
        cmocka_unit_test(test_json_locate_survives_truncated_and_garbage_text),
        cmocka_unit_test(test_json_locate_deep_nesting_needs_no_recursion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
