/* Unit tests of the bounded buffer (core/buf.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/buf.h"

#include <jansson.h>

#include <stdlib.h>
#include <string.h>

static void test_buf_appends_and_stays_terminated(void **state)
{
    (void)state;
    lx_buf b;
    lx_buf_init(&b, 0);
    assert_int_equal(lx_buf_puts(&b, "abc"), 0);
    assert_int_equal(lx_buf_printf(&b, "-%d-", 42), 0);
    assert_string_equal(b.data, "abc-42-");
    assert_int_equal(b.len, 7);
    lx_buf_reset(&b);
    assert_string_equal(b.data, "");
    lx_buf_fini(&b);
}

static void test_buf_ceiling_refuses_and_keeps_content(void **state)
{
    (void)state;
    lx_buf b;
    lx_buf_init(&b, 8);
    assert_int_equal(lx_buf_puts(&b, "12345"), 0);
    assert_int_equal(lx_buf_puts(&b, "6789"), LX_ELIMIT);
    assert_string_equal(b.data, "12345");
    assert_int_equal(lx_buf_json_string(&b, "abcdef", 6), LX_ELIMIT);
    assert_string_equal(b.data, "12345");
    lx_buf_fini(&b);
}

static void test_buf_json_string_escapes(void **state)
{
    (void)state;
    lx_buf b;
    lx_buf_init(&b, 0);
    const char in[] = "a\"b\\c\n\x01\xc3\xa9";
    assert_int_equal(lx_buf_json_string(&b, in, sizeof(in) - 1), 0);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
    json_t *v = json_loads(b.data, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    assert_string_equal(json_string_value(v), in);
    json_decref(v);
    lx_buf_fini(&b);
}

static void test_buf_u64be_sorts_as_numbers(void **state)
{
    (void)state;
    uint8_t a[8], b[8];
    lx_u64be_put(a, 255);
    lx_u64be_put(b, 256);
    assert_true(memcmp(a, b, 8) < 0);
    assert_int_equal(lx_u64be_get(b), 256);
    lx_u64be_put(a, UINT64_MAX);
    assert_true(lx_u64be_get(a) == UINT64_MAX);
}

static void test_buf_take_transfers_ownership(void **state)
{
    (void)state;
    lx_buf b;
    lx_buf_init(&b, 0);
    size_t len = 99;
    char *empty = lx_buf_take(&b, &len);
    assert_string_equal(empty, "");
    assert_int_equal(len, 0);
    free(empty);
    assert_int_equal(lx_buf_puts(&b, "x"), 0);
    char *x = lx_buf_take(&b, &len);
    assert_string_equal(x, "x");
    assert_null(b.data);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_appends_and_stays_terminated),
        cmocka_unit_test(test_buf_ceiling_refuses_and_keeps_content),
        cmocka_unit_test(test_buf_json_string_escapes),
        cmocka_unit_test(test_buf_u64be_sorts_as_numbers),
        cmocka_unit_test(test_buf_take_transfers_ownership),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
