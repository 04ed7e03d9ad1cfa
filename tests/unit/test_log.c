/* tests/unit/test_log.c: the structured logger, read back from fd 2. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/id.h"
#include "core/log.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CAPTURE_MAX (1 << 22)

/* fd 2 is redirected to an unlinked temp file while a test logs; a file
 * rather than a pipe, so that a large capture cannot block the writer. */
static int saved_stderr = -1;
static int capture_fd = -1;

static void capture_begin(void)
{
    char path[] = "/tmp/lx_test_log_XXXXXX";
    capture_fd = mkstemp(path);
    assert_true(capture_fd >= 0);
    unlink(path);
    fflush(stderr);
    saved_stderr = dup(STDERR_FILENO);
    assert_true(saved_stderr >= 0);
    assert_true(dup2(capture_fd, STDERR_FILENO) == STDERR_FILENO);
}

/* Restore fd 2 and return what was written (malloc'd, NUL-terminated). */
static char *capture_end(void)
{
    assert_true(dup2(saved_stderr, STDERR_FILENO) == STDERR_FILENO);
    close(saved_stderr);
    saved_stderr = -1;
    char *buf = malloc(CAPTURE_MAX + 1);
    assert_non_null(buf);
    size_t n = 0;
    ssize_t r;
    while (n < CAPTURE_MAX &&
           (r = pread(capture_fd, buf + n, CAPTURE_MAX - n, (off_t)n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    close(capture_fd);
    capture_fd = -1;
    return buf;
}

static int reset(void **state)
{
    (void)state;
    lx_log_set_level(LX_LOG_DEBUG);
    lx_log_set_format(LX_LOG_TEXT);
    lx_log_set_trace(NULL);
    return 0;
}

/* "2026-11-23T09:30:00.123Z": digits where digits belong. */
static void assert_time(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (size_t i = 0; i < sizeof(shape) - 1; i++) {
        if (shape[i] == 'd')
            assert_true(s[i] >= '0' && s[i] <= '9');
        else
            assert_int_equal(s[i], shape[i]);
    }
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static json_t *parse_line(const char *line)
{
    json_error_t je;
    json_t *v = json_loads(line, JSON_REJECT_DUPLICATES, &je);
    if (!v)
        fail_msg("not JSON (%s): %s", je.text, line);
    return v;
}

static void test_log_text_record_has_time_level_trace_and_message(
    void **state)
{
    (void)state;
    capture_begin();
    lx_log_info("01JD3W8ZQK5Y0000000000000A", "store: opened %s (%d)",
                "/var/lib/lingua", 3);
    char *out = capture_end();
    assert_time(out);
    assert_string_equal(out + LX_TIME_SIZE - 1,
                        " info  trace=01JD3W8ZQK5Y0000000000000A store: "
                        "opened /var/lib/lingua (3)\n");
    free(out);
}

static void test_log_text_pads_levels_and_omits_missing_trace(void **state)
{
    (void)state;
    capture_begin();
    lx_log_debug(NULL, "d");
    lx_log_info(NULL, "i");
    lx_log_warn(NULL, "w");
    lx_log_error(NULL, "e");
    char *out = capture_end();
    const char *expect[] = {" debug d\n", " info  i\n", " warn  w\n",
                            " error e\n"};
    const char *p = out;
    for (size_t i = 0; i < 4; i++) {
        assert_time(p);
        p += LX_TIME_SIZE - 1;
        assert_memory_equal(p, expect[i], strlen(expect[i]));
        p += strlen(expect[i]);
    }
    assert_string_equal(p, "");
    free(out);
}

static void test_log_json_record_is_one_json_object_per_line(void **state)
{
    (void)state;
    lx_log_set_format(LX_LOG_JSON);
    capture_begin();
    lx_log_warn("T1", "queue %s is %d%% full", "hr-in", 90);
    lx_log_error(NULL, "no trace");
    char *out = capture_end();
    assert_int_equal(count_lines(out), 2);
    char *nl = strchr(out, '\n');
    *nl = '\0';
    json_t *a = parse_line(out);
    json_t *b = parse_line(nl + 1);
    assert_time(json_string_value(json_object_get(a, "time")));
    assert_string_equal(json_string_value(json_object_get(a, "level")),
                        "warn");
    assert_string_equal(json_string_value(json_object_get(a, "trace")), "T1");
    assert_string_equal(json_string_value(json_object_get(a, "msg")),
                        "queue hr-in is 90% full");
    assert_int_equal(json_object_size(a), 4);
    assert_string_equal(json_string_value(json_object_get(b, "level")),
                        "error");
    assert_null(json_object_get(b, "trace"));
    assert_int_equal(json_object_size(b), 3);
    /* The documented field order. */
    assert_memory_equal(out, "{\"time\":\"", 9);
    json_decref(a);
    json_decref(b);
    free(out);
}

static int calls;

static int count_call(void)
{
    calls++;
    return calls;
}

static void test_log_level_filters_records_below_it(void **state)
{
    (void)state;
    lx_log_set_level(LX_LOG_WARN);
    assert_int_equal(lx_log_get_level(), LX_LOG_WARN);
    capture_begin();
    lx_log_debug(NULL, "debug");
    lx_log_info(NULL, "info");
    lx_log_warn(NULL, "warn");
    lx_log_error(NULL, "error");
    lx_log_write(LX_LOG_INFO, NULL, "direct info");
    char *out = capture_end();
    assert_int_equal(count_lines(out), 2);
    assert_null(strstr(out, "info"));
    assert_non_null(strstr(out, " warn  warn\n"));
    assert_non_null(strstr(out, " error error\n"));
    free(out);
}

static void test_log_macros_skip_formatting_below_the_level(void **state)
{
    (void)state;
    lx_log_set_level(LX_LOG_ERROR);
    calls = 0;
    capture_begin();
    lx_log_info(NULL, "%d", count_call());
    lx_log_error(NULL, "%d", count_call());
    char *out = capture_end();
    assert_int_equal(calls, 1);
    assert_int_equal(count_lines(out), 1);
    free(out);
}

static void test_log_level_off_writes_nothing(void **state)
{
    (void)state;
    lx_log_set_level(LX_LOG_OFF);
    capture_begin();
    lx_log_error(NULL, "error");
    char *out = capture_end();
    assert_string_equal(out, "");
    free(out);
}

static void test_log_trace_argument_overrides_thread_trace(void **state)
{
    (void)state;
    lx_log_set_trace("THREAD");
    assert_string_equal(lx_log_get_trace(), "THREAD");
    capture_begin();
    lx_log_info(NULL, "a");
    lx_log_info("ARG", "b");
    lx_log_set_trace(NULL);
    lx_log_info(NULL, "c");
    lx_log_set_trace("");
    lx_log_info(NULL, "d");
    char *out = capture_end();
    assert_null(lx_log_get_trace());
    assert_non_null(strstr(out, " info  trace=THREAD a\n"));
    assert_non_null(strstr(out, " info  trace=ARG b\n"));
    assert_non_null(strstr(out, " info  c\n"));
    assert_non_null(strstr(out, " info  d\n"));
    free(out);
}

static void *trace_in_thread(void *arg)
{
    (void)arg;
    /* A new thread starts without a trace... */
    if (lx_log_get_trace() != NULL)
        return "new thread inherited a trace";
    /* ...and its own does not leak into the creator. */
    lx_log_set_trace("OTHER");
    lx_log_info(NULL, "from thread");
    return NULL;
}

static void test_log_thread_trace_is_per_thread(void **state)
{
    (void)state;
    lx_log_set_trace("MAIN");
    capture_begin();
    pthread_t t;
    void *res = NULL;
    assert_int_equal(pthread_create(&t, NULL, trace_in_thread, NULL), 0);
    assert_int_equal(pthread_join(t, &res), 0);
    lx_log_info(NULL, "from main");
    char *out = capture_end();
    assert_null(res);
    assert_string_equal(lx_log_get_trace(), "MAIN");
    assert_non_null(strstr(out, "trace=OTHER from thread\n"));
    assert_non_null(strstr(out, "trace=MAIN from main\n"));
    free(out);
}

static void test_log_thread_trace_is_cut_at_its_ceiling(void **state)
{
    (void)state;
    char longer[LX_LOG_TRACE_MAX * 2];
    memset(longer, 'T', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    lx_log_set_trace(longer);
    assert_int_equal(strlen(lx_log_get_trace()), LX_LOG_TRACE_MAX - 1);
    capture_begin();
    lx_log_info(longer, "m");
    char *out = capture_end();
    char expect[LX_LOG_TRACE_MAX + 32];
    snprintf(expect, sizeof(expect), "trace=%.*s m\n", LX_LOG_TRACE_MAX - 1,
             longer);
    assert_non_null(strstr(out, expect));
    free(out);
}

static void test_log_json_escapes_quotes_backslashes_and_controls(
    void **state)
{
    (void)state;
    lx_log_set_format(LX_LOG_JSON);
    static const char msg[] = "q\" b\\ n\n r\r t\t bel\x07 del\x7f nul?"
                              " caf\xc3\xa9 bad\xff\xc3 end";
    capture_begin();
    lx_log_info("tr\"ace\n", "%s", msg);
    char *out = capture_end();
    assert_int_equal(count_lines(out), 1);
    assert_non_null(strstr(out, "q\\\" b\\\\ n\\n r\\r t\\t bel\\u0007 "
                                "del\\u007f"));
    json_t *v = parse_line(out);
    assert_string_equal(json_string_value(json_object_get(v, "msg")),
                        "q\" b\\ n\n r\r t\t bel\x07 del\x7f nul?"
                        " caf\xc3\xa9 bad\xef\xbf\xbd\xef\xbf\xbd end");
    assert_string_equal(json_string_value(json_object_get(v, "trace")),
                        "tr\"ace\n");
    json_decref(v);
    free(out);
}

static void test_log_text_keeps_one_record_on_one_line(void **state)
{
    (void)state;
    capture_begin();
    lx_log_info("a\nb", "line1\nline2\r\x01 back\\slash caf\xc3\xa9");
    char *out = capture_end();
    assert_int_equal(count_lines(out), 1);
    assert_non_null(strstr(out, " info  trace=a\\nb line1\\nline2\\r\\x01 "
                                "back\\slash caf\xc3\xa9\n"));
    free(out);
}

static void test_log_long_text_message_is_truncated_within_one_line(
    void **state)
{
    (void)state;
    char *big = malloc(3 * LX_LOG_LINE_MAX);
    assert_non_null(big);
    memset(big, 'x', 3 * LX_LOG_LINE_MAX - 1);
    big[3 * LX_LOG_LINE_MAX - 1] = '\0';
    capture_begin();
    lx_log_info("T", "%s", big);
    char *out = capture_end();
    size_t n = strlen(out);
    assert_int_equal(count_lines(out), 1);
    assert_true(n <= LX_LOG_LINE_MAX);
    assert_true(n > LX_LOG_LINE_MAX - 64);
    assert_string_equal(out + n - 13, " [truncated]\n");
    free(out);
    free(big);
}

static void test_log_long_json_message_stays_valid_json(void **state)
{
    (void)state;
    lx_log_set_format(LX_LOG_JSON);
    /* Multi-byte characters and characters that expand sixfold when
     * escaped: the cut must not split either. */
    static const char *const fills[] = {"\xc3\xa9", "\x01", "\"", "ab\xe2\x82\xac"};
    for (size_t f = 0; f < sizeof(fills) / sizeof(fills[0]); f++) {
        size_t unit = strlen(fills[f]);
        size_t count = 2 * LX_LOG_LINE_MAX / unit + 7;
        char *big = malloc(count * unit + 1);
        assert_non_null(big);
        for (size_t i = 0; i < count; i++)
            memcpy(big + i * unit, fills[f], unit);
        big[count * unit] = '\0';
        capture_begin();
        lx_log_info("T", "%s", big);
        char *out = capture_end();
        size_t n = strlen(out);
        assert_true(n <= LX_LOG_LINE_MAX);
        assert_int_equal(count_lines(out), 1);
        json_t *v = parse_line(out);
        const char *m = json_string_value(json_object_get(v, "msg"));
        assert_non_null(m);
        size_t m_len = strlen(m);
        assert_true(m_len > 12);
        assert_string_equal(m + m_len - 12, " [truncated]");
        assert_null(strstr(m, "\xef\xbf\xbd")); /* nothing split */
        json_decref(v);
        free(out);
        free(big);
    }
}

static void test_log_write_preserves_errno(void **state)
{
    (void)state;
    capture_begin();
    errno = ENOENT;
    lx_log_error(NULL, "cannot open '%s'", "x");
    int e = errno;
    char *out = capture_end();
    assert_int_equal(e, ENOENT);
    free(out);
}

#define LOG_THREADS 4
#define LOG_PER_THREAD 500

static void *log_many(void *arg)
{
    const char *name = arg;
    lx_log_set_trace(name);
    for (int i = 0; i < LOG_PER_THREAD; i++)
        lx_log_info(NULL, "record %d from %s with some padding to make it "
                          "longer than a few bytes",
                    i, name);
    return NULL;
}

static void test_log_records_from_threads_never_interleave(void **state)
{
    (void)state;
    lx_log_set_format(LX_LOG_JSON);
    static const char *const names[LOG_THREADS] = {"A", "B", "C", "D"};
    pthread_t t[LOG_THREADS];
    capture_begin();
    for (int i = 0; i < LOG_THREADS; i++)
        assert_int_equal(
            pthread_create(&t[i], NULL, log_many, (void *)names[i]), 0);
    for (int i = 0; i < LOG_THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    char *out = capture_end();
    assert_int_equal(count_lines(out), LOG_THREADS * LOG_PER_THREAD);
    int seen[LOG_THREADS] = {0};
    for (char *line = out, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = '\0';
        json_t *v = parse_line(line);
        const char *trace = json_string_value(json_object_get(v, "trace"));
        assert_non_null(trace);
        assert_non_null(strstr(json_string_value(json_object_get(v, "msg")),
                               trace));
        seen[trace[0] - 'A']++;
        json_decref(v);
    }
    for (int i = 0; i < LOG_THREADS; i++)
        assert_int_equal(seen[i], LOG_PER_THREAD);
    free(out);
}

static void test_log_parse_level_by_name(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        lx_log_level level;
    } cases[] = {{"debug", LX_LOG_DEBUG}, {"info", LX_LOG_INFO},
                 {"warn", LX_LOG_WARN},   {"error", LX_LOG_ERROR},
                 {"off", LX_LOG_OFF}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lx_log_level level = LX_LOG_OFF;
        assert_int_equal(lx_log_parse_level(cases[i].name, &level, NULL), 0);
        assert_int_equal(level, cases[i].level);
    }
    lx_error err;
    lx_error_clear(&err);
    lx_log_level level = LX_LOG_WARN;
    assert_int_equal(lx_log_parse_level("INFO", &level, &err), LX_EINVAL);
    assert_int_equal(err.code, LX_EINVAL);
    assert_int_equal(level, LX_LOG_WARN);
    assert_int_equal(lx_log_parse_level("warning", &level, NULL), LX_EINVAL);
    assert_int_equal(lx_log_parse_level("", &level, NULL), LX_EINVAL);
    assert_int_equal(lx_log_parse_level(NULL, &level, NULL), LX_EINVAL);
}

static void test_log_parse_format_by_name(void **state)
{
    (void)state;
    lx_log_format f = LX_LOG_TEXT;
    assert_int_equal(lx_log_parse_format("json", &f, NULL), 0);
    assert_int_equal(f, LX_LOG_JSON);
    assert_int_equal(lx_log_parse_format("text", &f, NULL), 0);
    assert_int_equal(f, LX_LOG_TEXT);
    assert_int_equal(lx_log_parse_format("JSON", &f, NULL), LX_EINVAL);
    assert_int_equal(lx_log_parse_format(NULL, &f, NULL), LX_EINVAL);
    lx_log_set_format(LX_LOG_JSON);
    assert_int_equal(lx_log_get_format(), LX_LOG_JSON);
}

#define T(name) cmocka_unit_test_setup(name, reset)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_log_text_record_has_time_level_trace_and_message),
        T(test_log_text_pads_levels_and_omits_missing_trace),
        T(test_log_json_record_is_one_json_object_per_line),
        T(test_log_level_filters_records_below_it),
        T(test_log_macros_skip_formatting_below_the_level),
        T(test_log_level_off_writes_nothing),
        T(test_log_trace_argument_overrides_thread_trace),
        T(test_log_thread_trace_is_per_thread),
        T(test_log_thread_trace_is_cut_at_its_ceiling),
        T(test_log_json_escapes_quotes_backslashes_and_controls),
        T(test_log_text_keeps_one_record_on_one_line),
        T(test_log_long_text_message_is_truncated_within_one_line),
        T(test_log_long_json_message_stays_valid_json),
        T(test_log_write_preserves_errno),
        T(test_log_records_from_threads_never_interleave),
        T(test_log_parse_level_by_name),
        T(test_log_parse_format_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
