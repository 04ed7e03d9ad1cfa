/* tests/unit/test_error.c: the error table and the located error value. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/error.h"

#include <string.h>

/* Every code in the table, with its name and text, straight from the
 * X-macro so that a new code is covered without editing this test. */
static const struct {
    int code;
    const char *name;
    const char *text;
} all_codes[] = {
#define ROW(name, value, msg) {name, #name, msg},
    LX_ERRORS(ROW)
#undef ROW
};

static void test_error_set_returns_the_code_and_formats_the_message(
    void **state)
{
    (void)state;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_error_set(&err, LX_ESYNTAX, "segment %d (%s)", 14,
                                  "DTP"),
                     LX_ESYNTAX);
    assert_int_equal(err.code, LX_ESYNTAX);
    assert_string_equal(err.msg, "segment 14 (DTP)");
}

static void test_error_set_with_null_err_still_returns_the_code(void **state)
{
    (void)state;
    assert_int_equal(lx_error_set(NULL, LX_EIO, "x"), LX_EIO);
}

static void test_error_clear_zeroes_and_marks_offset_unknown(void **state)
{
    (void)state;
    lx_error err;
    memset(&err, 0x5a, sizeof(err));
    lx_error_clear(&err);
    assert_int_equal(err.code, 0);
    assert_int_equal(err.line, 0);
    assert_int_equal(err.column, 0);
    assert_int_equal(err.offset, -1);
    assert_string_equal(err.where, "");
    assert_string_equal(err.msg, "");
    lx_error_clear(NULL);
}

static void test_error_set_truncates_long_messages_safely(void **state)
{
    (void)state;
    char big[LX_ERROR_MSG_MAX * 2];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    lx_error err;
    lx_error_clear(&err);
    lx_error_set(&err, LX_EINVAL, "%s", big);
    assert_int_equal(strlen(err.msg), LX_ERROR_MSG_MAX - 1);
}

static void test_error_format_with_file_line_and_column(void **state)
{
    (void)state;
    lx_error err;
    char buf[256];
    lx_error_clear(&err);
    lx_error_set(&err, LX_ECONFIG, "/store/sync: must be true or false");
    assert_int_equal(lx_error_at(&err, "lingua.json", 3, 12), LX_ECONFIG);
    assert_string_equal(lx_error_format(&err, buf, sizeof(buf)),
                        "lingua.json:3:12: /store/sync: must be true or false");
}

static void test_error_format_with_line_only(void **state)
{
    (void)state;
    lx_error err;
    char buf[256];
    lx_error_clear(&err);
    lx_error_set(&err, LX_ESYNTAX, "bad");
    lx_error_at(&err, "in.x12", 7, 0);
    assert_string_equal(lx_error_format(&err, buf, sizeof(buf)),
                        "in.x12:7: bad");
}

static void test_error_format_with_where_only(void **state)
{
    (void)state;
    lx_error err;
    char buf[256];
    lx_error_clear(&err);
    lx_error_set(&err, LX_EIO, "cannot open");
    lx_error_at(&err, "/nonexistent", 0, 0);
    assert_string_equal(lx_error_format(&err, buf, sizeof(buf)),
                        "/nonexistent: cannot open");
}

static void test_error_format_without_location(void **state)
{
    (void)state;
    lx_error err;
    char buf[256];
    lx_error_clear(&err);
    lx_error_set(&err, LX_ELIMIT, "too big");
    assert_string_equal(lx_error_format(&err, buf, sizeof(buf)), "too big");
}

static void test_error_format_empty_message_uses_strerror(void **state)
{
    (void)state;
    lx_error err;
    char buf[256];
    lx_error_clear(&err);
    err.code = LX_ETIMEOUT;
    assert_string_equal(lx_error_format(&err, buf, sizeof(buf)), "timed out");
}

static void test_error_format_of_no_error(void **state)
{
    (void)state;
    lx_error err;
    char buf[64];
    lx_error_clear(&err);
    assert_string_equal(lx_error_format(&err, buf, sizeof(buf)), "no error");
    assert_string_equal(lx_error_format(NULL, buf, sizeof(buf)), "no error");
}

static void test_error_format_truncates_to_the_buffer(void **state)
{
    (void)state;
    lx_error err;
    char buf[8];
    lx_error_clear(&err);
    lx_error_set(&err, LX_EIO, "a long message");
    lx_error_at(&err, "file", 1, 2);
    assert_string_equal(lx_error_format(&err, buf, sizeof(buf)), "file:1:");
}

static void test_error_at_with_null_err_is_einval(void **state)
{
    (void)state;
    assert_int_equal(lx_error_at(NULL, "x", 1, 1), LX_EINVAL);
}

static void test_error_prefix_adds_context(void **state)
{
    (void)state;
    lx_error err;
    lx_error_clear(&err);
    lx_error_set(&err, LX_ESYNTAX, "invalid date");
    lx_error_prefix(&err, "segment %d (%s) element %d", 14, "DTP", 3);
    assert_string_equal(err.msg, "segment 14 (DTP) element 3: invalid date");
    assert_int_equal(err.code, LX_ESYNTAX);
}

static void test_strerror_and_name_cover_every_code(void **state)
{
    (void)state;
    assert_true(sizeof(all_codes) / sizeof(all_codes[0]) >= 14);
    for (size_t i = 0; i < sizeof(all_codes) / sizeof(all_codes[0]); i++) {
        assert_true(all_codes[i].code < 0);
        assert_string_equal(lx_strerror(all_codes[i].code), all_codes[i].text);
        assert_string_equal(lx_error_name(all_codes[i].code),
                            all_codes[i].name);
        /* Codes are unique. */
        for (size_t j = 0; j < i; j++)
            assert_int_not_equal(all_codes[i].code, all_codes[j].code);
    }
}

static void test_codes_keep_their_stable_values(void **state)
{
    (void)state;
    assert_int_equal(LX_EINVAL, -1);
    assert_int_equal(LX_ESYNTAX, -2);
    assert_int_equal(LX_ESCHEMA, -3);
    assert_int_equal(LX_ELIMIT, -4);
    assert_int_equal(LX_ENOTFOUND, -5);
    assert_int_equal(LX_ECONFLICT, -6);
    assert_int_equal(LX_ESTORE, -7);
    assert_int_equal(LX_EIO, -8);
    assert_int_equal(LX_EREMOTE, -9);
    assert_int_equal(LX_EFULL, -10);
    assert_int_equal(LX_ECONFIG, -11);
    assert_int_equal(LX_ETIMEOUT, -12);
    assert_int_equal(LX_ECLOSED, -13);
    assert_int_equal(LX_EUNSUPPORTED, -14);
}

static void test_strerror_of_ok_and_unknown_codes(void **state)
{
    (void)state;
    assert_string_equal(lx_strerror(LX_OK), "success");
    assert_string_equal(lx_error_name(LX_OK), "LX_OK");
    assert_string_equal(lx_strerror(-999), "unknown error");
    assert_string_equal(lx_error_name(-999), "LX_EUNKNOWN");
    assert_string_equal(lx_strerror(5), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_error_set_returns_the_code_and_formats_the_message),
        cmocka_unit_test(test_error_set_with_null_err_still_returns_the_code),
        cmocka_unit_test(test_error_clear_zeroes_and_marks_offset_unknown),
        cmocka_unit_test(test_error_set_truncates_long_messages_safely),
        cmocka_unit_test(test_error_format_with_file_line_and_column),
        cmocka_unit_test(test_error_format_with_line_only),
        cmocka_unit_test(test_error_format_with_where_only),
        cmocka_unit_test(test_error_format_without_location),
        cmocka_unit_test(test_error_format_empty_message_uses_strerror),
        cmocka_unit_test(test_error_format_of_no_error),
        cmocka_unit_test(test_error_format_truncates_to_the_buffer),
        cmocka_unit_test(test_error_at_with_null_err_is_einval),
        cmocka_unit_test(test_error_prefix_adds_context),
        cmocka_unit_test(test_strerror_and_name_cover_every_code),
        cmocka_unit_test(test_codes_keep_their_stable_values),
        cmocka_unit_test(test_strerror_of_ok_and_unknown_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
