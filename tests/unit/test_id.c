/* tests/unit/test_id.c: ULIDs, clocks and time formatting. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/id.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SEQUENCE_COUNT 100000
#define THREAD_COUNT 4
#define PER_THREAD 25000

static void test_ulid_is_26_valid_characters(void **state)
{
    (void)state;
    char id[LX_ULID_SIZE];
    lx_ulid_new(id);
    assert_int_equal(strlen(id), LX_ULID_LEN);
    assert_true(lx_ulid_valid(id, strlen(id)));
}

static void test_ulid_is_strictly_increasing_within_one_thread(void **state)
{
    (void)state;
    char prev[LX_ULID_SIZE], id[LX_ULID_SIZE];
    lx_ulid_new(prev);
    for (int i = 0; i < SEQUENCE_COUNT; i++) {
        lx_ulid_new(id);
        assert_true(lx_ulid_valid(id, LX_ULID_LEN));
        if (strcmp(prev, id) >= 0)
            fail_msg("id %d not increasing: %s then %s", i, prev, id);
        memcpy(prev, id, sizeof(id));
    }
}

static void test_ulid_time_prefix_is_now(void **state)
{
    (void)state;
    /* The first 10 digits are the 48-bit millisecond time. */
    static const char digits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    uint64_t before = lx_now_ms();
    char id[LX_ULID_SIZE];
    lx_ulid_new(id);
    uint64_t ms = 0;
    for (int i = 0; i < 10; i++)
        ms = ms * 32 + (uint64_t)(strchr(digits, id[i]) - digits);
    /* Never earlier than a clock read before it (ids may run ahead only
     * inside a burst in the same millisecond). */
    assert_true(ms >= before);
    assert_true(ms <= lx_now_ms() + 1000);
}

typedef struct {
    char (*ids)[LX_ULID_SIZE];
} thread_arg;

static void *make_ids(void *p)
{
    thread_arg *a = p;
    for (int i = 0; i < PER_THREAD; i++)
        lx_ulid_new(a->ids[i]);
    return NULL;
}

static int cmp_ids(const void *a, const void *b) { return strcmp(a, b); }

static void test_ulid_is_unique_across_threads(void **state)
{
    (void)state;
    char(*ids)[LX_ULID_SIZE] = calloc(THREAD_COUNT * PER_THREAD,
                                      sizeof(*ids));
    assert_non_null(ids);
    pthread_t threads[THREAD_COUNT];
    thread_arg args[THREAD_COUNT];
    for (int t = 0; t < THREAD_COUNT; t++) {
        args[t].ids = ids + t * PER_THREAD;
        assert_int_equal(pthread_create(&threads[t], NULL, make_ids, &args[t]),
                         0);
    }
    for (int t = 0; t < THREAD_COUNT; t++)
        assert_int_equal(pthread_join(threads[t], NULL), 0);
    /* Each thread's own sequence increases. */
    for (int t = 0; t < THREAD_COUNT; t++)
        for (int i = 1; i < PER_THREAD; i++)
            assert_true(strcmp(args[t].ids[i - 1], args[t].ids[i]) < 0);
    qsort(ids, THREAD_COUNT * PER_THREAD, sizeof(*ids), cmp_ids);
    for (int i = 1; i < THREAD_COUNT * PER_THREAD; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0)
            fail_msg("duplicate id %s", ids[i]);
    free(ids);
}

static void test_ulid_valid_accepts_lower_case(void **state)
{
    (void)state;
    assert_true(lx_ulid_valid("01arz3ndektsv4rrffq69g5fav", 26));
    assert_true(lx_ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FAV", 26));
    assert_true(lx_ulid_valid("7ZZZZZZZZZZZZZZZZZZZZZZZZZ", 26));
}

static void test_ulid_valid_rejects_bad_lengths(void **state)
{
    (void)state;
    const char *id = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    assert_false(lx_ulid_valid(id, 0));
    assert_false(lx_ulid_valid(id, 25));
    assert_false(lx_ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FAVX", 27));
}

static void test_ulid_valid_rejects_letters_outside_crockford(void **state)
{
    (void)state;
    /* Crockford base32 leaves out I, L, O and U. */
    assert_false(lx_ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FAI", 26));
    assert_false(lx_ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FAL", 26));
    assert_false(lx_ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FAO", 26));
    assert_false(lx_ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FAU", 26));
    assert_false(lx_ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FA-", 26));
    assert_false(lx_ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FA ", 26));
}

static void test_ulid_valid_rejects_embedded_nul(void **state)
{
    (void)state;
    assert_false(lx_ulid_valid("01ARZ3NDEKTSV4RR\0FQ69G5FAV", 26));
}

static void test_ulid_valid_rejects_first_digit_above_7(void **state)
{
    (void)state;
    /* 26 digits hold 130 bits; the first carries only the top 3 of 128. */
    assert_false(lx_ulid_valid("81ARZ3NDEKTSV4RRFFQ69G5FAV", 26));
    assert_false(lx_ulid_valid("Z1ARZ3NDEKTSV4RRFFQ69G5FAV", 26));
}

static void test_time_format_of_the_epoch(void **state)
{
    (void)state;
    char out[LX_TIME_SIZE];
    lx_time_format(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
}

static void test_time_format_keeps_milliseconds(void **state)
{
    (void)state;
    char out[LX_TIME_SIZE];
    lx_time_format(1764000000123u, out);
    assert_string_equal(out, "2025-11-24T16:00:00.123Z");
    lx_time_format(951782400999u, out); /* leap day 2000 */
    assert_string_equal(out, "2000-02-29T00:00:00.999Z");
    assert_int_equal(strlen(out), LX_TIME_SIZE - 1);
}

static void test_monotonic_clock_never_goes_back(void **state)
{
    (void)state;
    uint64_t prev = lx_mono_ms();
    for (int i = 0; i < 100000; i++) {
        uint64_t now = lx_mono_ms();
        assert_true(now >= prev);
        prev = now;
    }
}

static void test_wall_clock_is_after_2024(void **state)
{
    (void)state;
    assert_true(lx_now_ms() > 1704067200000u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ulid_is_26_valid_characters),
        cmocka_unit_test(test_ulid_is_strictly_increasing_within_one_thread),
        cmocka_unit_test(test_ulid_time_prefix_is_now),
        cmocka_unit_test(test_ulid_is_unique_across_threads),
        cmocka_unit_test(test_ulid_valid_accepts_lower_case),
        cmocka_unit_test(test_ulid_valid_rejects_bad_lengths),
        cmocka_unit_test(test_ulid_valid_rejects_letters_outside_crockford),
        cmocka_unit_test(test_ulid_valid_rejects_embedded_nul),
        cmocka_unit_test(test_ulid_valid_rejects_first_digit_above_7),
        cmocka_unit_test(test_time_format_of_the_epoch),
        cmocka_unit_test(test_time_format_keeps_milliseconds),
        cmocka_unit_test(test_monotonic_clock_never_goes_back),
        cmocka_unit_test(test_wall_clock_is_after_2024),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
