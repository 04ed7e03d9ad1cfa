/* Unit tests of record diffs (canonical/diff.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "canonical/diff.h"

#include <string.h>

static char *changed(const char *a, const char *b, size_t max)
{
    json_t *x = json_loads(a, 0, NULL), *y = json_loads(b, 0, NULL);
    assert_non_null(x);
    assert_non_null(y);
    lx_buf out;
    lx_buf_init(&out, 0);
    int n = lx_diff_pointers(x, y, max, &out);
    assert_true(n >= 0);
    json_decref(x);
    json_decref(y);
    static char text[1024];
    snprintf(text, sizeof(text), "[%s]", out.data ? out.data : "");
    lx_buf_fini(&out);
    return text;
}

static void test_diff_equal_records_report_nothing(void **state)
{
    (void)state;
    assert_string_equal(changed("{\"a\":1,\"b\":[1,2]}", "{\"b\":[1,2],\"a\":1}",
                                10),
                        "[]");
}

static void test_diff_reports_leaf_pointers(void **state)
{
    (void)state;
    assert_string_equal(
        changed("{\"name\":{\"family\":\"A\",\"given\":[\"x\"]},\"b\":1}",
                "{\"name\":{\"family\":\"B\",\"given\":[\"x\"]},\"b\":1}", 10),
        "[\"/name/family\"]");
    assert_string_equal(changed("{\"a\":[{\"c\":1},{\"c\":2}]}",
                                "{\"a\":[{\"c\":1},{\"c\":3}]}", 10),
                        "[\"/a/1/c\"]");
}

static void test_diff_added_removed_and_resized(void **state)
{
    (void)state;
    assert_string_equal(changed("{\"a\":1}", "{\"b\":1}", 10),
                        "[\"/a\",\"/b\"]");
    assert_string_equal(changed("{\"a\":[1]}", "{\"a\":[1,2]}", 10),
                        "[\"/a\"]");
}

static void test_diff_escapes_pointer_tokens(void **state)
{
    (void)state;
    assert_string_equal(changed("{\"a/b\":{\"c~d\":1}}",
                                "{\"a/b\":{\"c~d\":2}}", 10),
                        "[\"/a~1b/c~0d\"]");
}

static void test_diff_over_limit_reports_parent(void **state)
{
    (void)state;
    assert_string_equal(changed("{\"x\":{\"a\":1,\"b\":2,\"c\":3},\"y\":1}",
                                "{\"x\":{\"a\":2,\"b\":3,\"c\":4},\"y\":1}", 2),
                        "[\"\"]");
    assert_string_equal(changed("{\"x\":{\"a\":1,\"b\":2,\"c\":3},\"y\":1}",
                                "{\"x\":{\"a\":2,\"b\":3,\"c\":4},\"y\":2}", 4),
                        "[\"/x/a\",\"/x/b\",\"/x/c\",\"/y\"]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diff_equal_records_report_nothing),
        cmocka_unit_test(test_diff_reports_leaf_pointers),
        cmocka_unit_test(test_diff_added_removed_and_resized),
        cmocka_unit_test(test_diff_escapes_pointer_tokens),
        cmocka_unit_test(test_diff_over_limit_reports_parent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
