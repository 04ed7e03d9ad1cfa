/* Unit tests of adapters/delivery/delivery_event.h: the event parser gives
 * lx_json_parse's answer (the same tree, members in the same order, or
 * NULL) for valid, unusual and broken inputs, and the cache hands out one
 * tree per event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "adapters/delivery/delivery_event.h"
#include "core/json.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An event as the store writes it. */
static const char event_text[] =
    "{\"seq\":5,\"id\":\"01M90XR235MTFZ1HP21KQZYV5W\",\"type\":\"person."
    "created\",\"entity\":\"person\",\"canonical_id\":\"per_01M90XR235MTFZ1"
    "HP21KQZYV5V\",\"version\":1,\"time\":\"2026-12-04T16:21:08.837Z\","
    "\"origin\":{\"system\":\"ehr\",\"adapter\":\"ehr-in\",\"native_type\":"
    "\"Patient\",\"native_id\":\"01M90XR231VG0FTQXDBFYMEPSK\",\"trace\":"
    "\"01M90XR231VG0FTQXDBFYMEPSM\"},\"changed\":[\"/name\"],\"record\":{"
    "\"gender\":\"female\",\"birth_date\":\"1980-02-29\",\"identifiers\":[{"
    "\"system\":\"urn:lingua:dlv\",\"value\":\"B6\"}],\"name\":{\"family\":"
    "\"M\xc3\xbcller-\xe6\x9d\x8e \xf0\x9f\x98\x80\",\"given\":[\"V1\"]},"
    "\"active\":true,\"deceased\":false,\"note\":null,\"weight\":72.5,"
    "\"children\":0,\"debt\":-12,\"ratio\":-1.5e-3,\"big\":1E+10}}";

/* ours(text) and lx_json_parse(text) agree: both NULL, or equal trees
 * whose members come in the same order. */
static void check_same(const char *text, size_t len)
{
    json_t *want = NULL;
    if (lx_json_parse(text, len, "event", SIZE_MAX, &want, NULL) != 0)
        assert_null(want);
    json_t *got = lx_delivery_event_parse(text, len);
    if (!want) {
        if (got)
            fail_msg("accepted what lx_json_parse refuses: %.*s", (int)len, text);
        return;
    }
    if (!got)
        fail_msg("refused what lx_json_parse accepts: %.*s", (int)len, text);
    assert_true(json_equal(want, got));
    char *a = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
    char *b = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_string_equal(a, b);
    free(a);
    free(b);
    json_decref(want);
    json_decref(got);
}

static void check(const char *text) { check_same(text, strlen(text)); }

static void test_event_parse_store_event_is_lx_json_parse_tree(void **state)
{
    (void)state;
    check(event_text);
    json_t *ev = lx_delivery_event_parse(event_text, strlen(event_text));
    assert_non_null(ev);
    assert_true(json_is_integer(json_object_get(ev, "seq")));
    assert_true(json_is_real(json_object_get(
        json_object_get(ev, "record"), "weight")));
    json_decref(ev);
}

static void test_event_parse_valid_inputs_match_lx_json_parse(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "{}", "[]", " \t\r\n{ } \n", "[1,2,3]", "[[[[]]]]",
        "{\"a\":{\"b\":{\"c\":[{}]}}}",
        "{\"a\":1,\"a\":2}",                     /* refused: repeated key */
        "{\"esc\":\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t\"}",
        "{\"esc\\n key\":1}",
        "{\"u\":\"caf\\u00e9\"}",
        "{\"pair\":\"\\ud83d\\ude00\"}",
        "[0,-0,1,-1,123456789012345678,-123456789012345678]",
        "[1234567890123456789,9223372036854775807,-9223372036854775808]",
        "[0.5,-0.5,1e5,1E-5,1e+5,0e0,3.14159265358979323846,1e308]",
        "[true,false,null]", "1", "\"s\"", "true", " null ",
        "{\"s\":\"\xc2\xa2\xe2\x82\xac\xf0\x90\x8d\x88\"}",
        "{\"k\":\"\"}", "{\"\":\"empty key\"}",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check(cases[i]);
}

static void test_event_parse_invalid_inputs_are_null(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "", " ", "{", "[", "{]", "[}",
        "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[,1]", "{a:1}",
        "{\"a\":1} x", "[1] [2]", "[01]", "[-]", "[1.]", "[.5]", "[1e]",
        "[+1]", "[1e+]", "[tru]", "[nul]", "[falsey]", "[\"open]",
        "[\"bad \\x escape\"]", "[\"\\u12\"]", "[\"\\ud800\"]",
        "[\"\\u0000\"]", "[\"raw\ttab\"]",
        "[99999999999999999999]", "[-99999999999999999999]", "[1e400]",
        "[\"\xc0\xaf\"]",          /* overlong */
        "[\"\xed\xa0\x80\"]",      /* surrogate */
        "[\"\xf4\x90\x80\x80\"]",  /* past U+10FFFF */
        "[\"\xe2\x82\"]",          /* truncated */
        "[\"\x80\"]", "[\"\xff\"]",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check(cases[i]);
    /* A NUL byte inside the text. */
    check_same("{\"a\":\"x\0y\"}", 11);
    check_same("{\"a\":1}\0", 8);
}

static void test_event_parse_deep_nesting_matches_lx_json_parse(void **state)
{
    (void)state;
    char text[2 * 3000 + 1];
    for (size_t depth = 60; depth <= 3000; depth += 470) {
        memset(text, '[', depth);
        memset(text + depth, ']', depth);
        check_same(text, 2 * depth);
    }
}

/* Every truncation and many single-byte changes of a real event: each
 * answer is lx_json_parse's. Deterministic (fixed seed), bounded. */
static void test_event_parse_mutations_match_lx_json_parse(void **state)
{
    (void)state;
    size_t len = strlen(event_text);
    char *text = malloc(len + 1);
    assert_non_null(text);
    for (size_t n = 0; n <= len; n++)
        check_same(event_text, n);
    static const char bytes[] = "{}[]\":,\\ 0123456789.eE+-tfnu\x80\xc3\x01";
    uint32_t seed = 12345;
    for (int i = 0; i < 20000; i++) {
        memcpy(text, event_text, len + 1);
        for (int k = 0; k < 1 + i % 3; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % len;
            seed = seed * 1103515245u + 12345u;
            text[at] = bytes[(seed >> 8) % (sizeof(bytes) - 1)];
        }
        check_same(text, len);
    }
    free(text);
}

static void test_event_cache_shares_one_tree_per_event(void **state)
{
    (void)state;
    lx_delivery_events *c = lx_delivery_events_new(4);
    size_t len = strlen(event_text);
    json_t *a = lx_delivery_events_get(c, 5, event_text, len);
    json_t *b = lx_delivery_events_get(c, 5, "{\"other\":1}", 11);
    assert_non_null(a);
    assert_ptr_equal(a, b); /* the second reader does not parse */
    /* An older event never evicts a newer one from its place. */
    json_t *old = lx_delivery_events_get(c, 1, "{\"old\":1}", 9);
    assert_non_null(json_object_get(old, "old"));
    json_t *again = lx_delivery_events_get(c, 5, "{\"other\":1}", 11);
    assert_ptr_equal(a, again);
    /* A newer one does; the trees handed out stay valid. */
    json_t *next = lx_delivery_events_get(c, 9, "{\"n\":9}", 7);
    json_t *five = lx_delivery_events_get(c, 5, "{\"re\":5}", 8);
    assert_non_null(json_object_get(five, "re"));
    assert_non_null(json_object_get(a, "record"));
    /* Text that is not JSON is not kept. */
    assert_null(lx_delivery_events_get(c, 13, "{", 1));
    json_t *fixed = lx_delivery_events_get(c, 13, "[13]", 4);
    assert_true(json_is_array(fixed));
    json_t *plain = lx_delivery_events_get(NULL, 13, "[1]", 3);
    assert_true(json_is_array(plain));
    json_decref(plain);
    json_decref(fixed);
    json_decref(five);
    json_decref(next);
    json_decref(again);
    json_decref(old);
    json_decref(b);
    lx_delivery_events_destroy(&c);
    assert_null(c);
    assert_non_null(json_object_get(a, "record"));
    json_decref(a);
    lx_delivery_events_destroy(&c); /* NULL is fine */
}

typedef struct reader {
    lx_delivery_events *c;
    int bad;
} reader;

static void *read_many(void *arg)
{
    reader *r = arg;
    char text[64];
    for (uint64_t seq = 1; seq <= 2000; seq++) {
        int n = snprintf(text, sizeof(text), "{\"seq\":%llu}",
                         (unsigned long long)seq);
        json_t *ev = lx_delivery_events_get(r->c, seq, text, (size_t)n);
        if (!ev || json_integer_value(json_object_get(ev, "seq")) !=
                       (json_int_t)seq)
            r->bad++;
        json_decref(ev);
    }
    return NULL;
}

static void test_event_cache_readers_on_several_threads(void **state)
{
    (void)state;
    lx_delivery_events *c = lx_delivery_events_new(64);
    reader r[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (reader){c, 0};
        assert_int_equal(pthread_create(&th[i], NULL, read_many, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(r[i].bad, 0);
    }
    lx_delivery_events_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_parse_store_event_is_lx_json_parse_tree),
        cmocka_unit_test(test_event_parse_valid_inputs_match_lx_json_parse),
        cmocka_unit_test(test_event_parse_invalid_inputs_are_null),
        cmocka_unit_test(test_event_parse_deep_nesting_matches_lx_json_parse),
        cmocka_unit_test(test_event_parse_mutations_match_lx_json_parse),
        cmocka_unit_test(test_event_cache_shares_one_tree_per_event),
        cmocka_unit_test(test_event_cache_readers_on_several_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
