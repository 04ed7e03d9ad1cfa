/* Unit tests of the fast JSON writer behind lx_json_dump_canonical and
 * lx_json_dump_compact (core/json_int.h): the bytes must be jansson's
 * json_dumps, or the content hashes of records stored before would no
 * longer match. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/json.h"
#include "core/json_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void same_bytes(const char *a, size_t la, const char *b, size_t lb)
{
    if (la != lb || memcmp(a, b, la) != 0)
        fprintf(stderr, "jansson: %s\nours:    %s\n", a, b);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    assert_int_equal(b[lb], '\0');
}

/* Both texts of v must be equal, keys sorted (the canonical form) and in
 * the object's order (the compact form); returns the length. */
static size_t same_as_jansson(const json_t *v)
{
    size_t lb = 0;
    char *a = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    char *b = lx_json_dump_canonical(v, &lb);
    assert_non_null(a);
    size_t la = strlen(a);
    same_bytes(a, la, b, lb);
    free(a);
    free(b);
    a = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    b = lx_json_dump_compact(v, &lb);
    assert_non_null(a);
    assert_non_null(b);
    same_bytes(a, strlen(a), b, lb);
    free(a);
    free(b);
    return la;
}

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v)
        fprintf(stderr, "%s: %s\n", text, je.text);
    assert_non_null(v);
    return v;
}

static void test_json_write_scalars_and_empty_containers(void **state)
{
    (void)state;
    const char *cases[] = {
        "null", "true", "false", "0", "-1", "9223372036854775807",
        "-9223372036854775808", "1.5", "-0.0", "1e300", "1.0000000000000002",
        "0.1", "123456789012345678.0", "1e-7", "\"\"", "{}", "[]", "[{}]",
        "{\"a\":[]}", "[null,true,false,1,2.5,\"x\"]"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        json_t *v = parse(cases[i]);
        same_as_jansson(v);
        json_decref(v);
    }
}

static void test_json_write_every_ascii_character_escapes_like_jansson(
    void **state)
{
    (void)state;
    char s[128];
    for (int c = 1; c < 128; c++)
        s[c - 1] = (char)c;
    json_t *v = json_stringn(s, 127);
    same_as_jansson(v);
    json_decref(v);
    /* Each one alone, at the start, middle and end of a run. */
    for (int c = 1; c < 128; c++) {
        char t[8] = {(char)c, 'a', 'b', (char)c, 'c', (char)c};
        v = json_stringn(t, 6);
        same_as_jansson(v);
        json_decref(v);
    }
    /* An embedded NUL. */
    v = json_stringn("a\0b", 3);
    same_as_jansson(v);
    json_decref(v);
}

static void test_json_write_utf8_is_copied_as_it_is(void **state)
{
    (void)state;
    json_t *v = parse("{\"name\":\"Zo\u00eb \u00c5ngstr\u00f6m\","
                      "\"city\":\"\u6771\u4eac\",\"emoji\":\"\xf0\x9f\x98\x80\","
                      "\"\u00e9\":1,\"e\":2,\"\xf4\x8f\xbf\xbf\":3}");
    same_as_jansson(v);
    json_decref(v);
}

static void test_json_write_keys_sort_by_bytes_shorter_first(void **state)
{
    (void)state;
    json_t *v = parse("{\"b\":1,\"a\":2,\"ab\":3,\"A\":4,\"aa\":5,\"\":6,"
                      "\"\\u00e9\":8,\"z\":{\"y\":1,\"x\":2}}");
    json_object_setn_new(v, "a\0", 2, json_integer(7)); /* a NUL in a key */
    same_as_jansson(v);
    json_decref(v);
    /* More keys than the stack holds, inserted in reverse order. */
    json_t *big = json_object();
    for (int i = 99; i >= 0; i--) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i * 7 % 100);
        json_object_set_new(big, k, json_integer(i));
    }
    same_as_jansson(big);
    json_decref(big);
}

static void test_json_write_deep_nesting_falls_back_to_jansson(void **state)
{
    (void)state;
    json_t *v = json_integer(1);
    for (int i = 0; i < LX_JSON_WRITE_DEPTH_MAX + 10; i++) {
        json_t *o = i % 2 ? json_object() : json_array();
        if (i % 2)
            json_object_set_new(o, "n", v);
        else
            json_array_append_new(o, v);
        v = o;
    }
    same_as_jansson(v);
    json_decref(v);
}

/* A random value from a fixed seed: objects, arrays and every scalar
 * kind, with keys and strings drawn from a few hard alphabets. */
static json_t *random_value(unsigned *seed, int depth)
{
    static const char *const pieces[] = {
        "a", "b", "id", "system", "\"", "\\", "/", "\n", "\t", "\x01",
        "\x1f", "\x7f", " ", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
        "value", "0", "~"};
    int kind = rand_r(seed) % (depth > 4 ? 6 : 8);
    switch (kind) {
    case 0:
        return json_null();
    case 1:
        return json_boolean(rand_r(seed) % 2);
    case 2:
        return json_integer((json_int_t)rand_r(seed) * (rand_r(seed) % 3 - 1) *
                            (json_int_t)rand_r(seed));
    case 3:
        return json_real((double)rand_r(seed) / (double)(rand_r(seed) + 1) *
                         (rand_r(seed) % 2 ? 1e-9 : 1e9));
    case 4:
    case 5: {
        char s[128] = "";
        int n = rand_r(seed) % 8;
        for (int i = 0; i < n; i++)
            strcat(s, pieces[rand_r(seed) % (sizeof(pieces) /
                                             sizeof(*pieces))]);
        return json_string(s);
    }
    case 6: {
        json_t *a = json_array();
        int n = rand_r(seed) % 6;
        for (int i = 0; i < n; i++)
            json_array_append_new(a, random_value(seed, depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        int n = rand_r(seed) % 40;
        for (int i = 0; i < n; i++) {
            char k[64] = "";
            int m = 1 + rand_r(seed) % 3;
            for (int j = 0; j < m; j++)
                strcat(k, pieces[rand_r(seed) % (sizeof(pieces) /
                                                 sizeof(*pieces))]);
            json_object_set_new(o, k, random_value(seed, depth + 1));
        }
        return o;
    }
    }
}

static void test_json_write_random_values_match_jansson(void **state)
{
    (void)state;
    unsigned seed = 20261204;
    size_t bytes = 0;
    for (int i = 0; i < 2000; i++) {
        json_t *v = random_value(&seed, 0);
        bytes += same_as_jansson(v);
        json_decref(v);
    }
    assert_true(bytes > 100000); /* the values were not all trivial */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_write_scalars_and_empty_containers),
        cmocka_unit_test(
            test_json_write_every_ascii_character_escapes_like_jansson),
        cmocka_unit_test(test_json_write_utf8_is_copied_as_it_is),
        cmocka_unit_test(test_json_write_keys_sort_by_bytes_shorter_first),
        cmocka_unit_test(test_json_write_deep_nesting_falls_back_to_jansson),
        cmocka_unit_test(test_json_write_random_values_match_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
