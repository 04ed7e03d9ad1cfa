/* Unit tests of the crash-safe inbox (adapters/transport/filedrop.h): real
 * directories under /tmp, a real store in a temp dir, bounded waits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "adapters/transport/filedrop.h"
#include "core/id.h"

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define POLL_MS 50
#define WAIT_MS 10000

typedef struct fixture {
    char root[64];
    char inbox[PATH_MAX];
    char store_dir[PATH_MAX];
    lx_store *store;
    lx_filedrop *fd;
    pthread_mutex_t mu;
    char calls[32][128]; /* names handled, in order */
    size_t call_count;
    size_t max_file_size;
} fixture;

/* Fails any content starting with "FAIL", located like a parser would. */
static int handler(void *ctx, const char *path, const char *data, size_t len,
                   lx_error *err)
{
    fixture *f = ctx;
    assert_int_equal(data[len], '\0');
    const char *slash = strrchr(path, '/');
    assert_non_null(strstr(path, "/processing/"));
    pthread_mutex_lock(&f->mu);
    if (f->call_count < 32)
        snprintf(f->calls[f->call_count++], 128, "%s", slash + 1);
    pthread_mutex_unlock(&f->mu);
    if (len >= 4 && memcmp(data, "FAIL", 4) == 0) {
        lx_error_set(err, LX_ESYNTAX,
                     "segment 3 (BEG) element 2: invalid date");
        return lx_error_at(err, "interchange 1/BEG", 3, 7);
    }
    return 0;
}

static size_t calls(fixture *f)
{
    pthread_mutex_lock(&f->mu);
    size_t n = f->call_count;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/lx-test-filedrop-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->inbox, sizeof(f->inbox), "%s/inbox", f->root);
    snprintf(f->store_dir, sizeof(f->store_dir), "%s/store", f->root);
    assert_int_equal(mkdir(f->inbox, 0700), 0);
    lx_store_options o = {.dir = f->store_dir, .no_sync = true};
    assert_int_equal(lx_store_open(&o, &f->store, NULL), 0);
    pthread_mutex_init(&f->mu, NULL);
    f->max_file_size = 1024;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    lx_filedrop_stop(&f->fd);
    lx_store_close(&f->store);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", f->root);
    pthread_mutex_destroy(&f->mu);
    free(f);
    return 0;
}

static void start(fixture *f)
{
    lx_filedrop_options o = {.dir = f->inbox,
                             .store = f->store,
                             .name = "edi-in",
                             .poll_ms = POLL_MS,
                             .max_file_size = f->max_file_size,
                             .handler = handler,
                             .ctx = f};
    lx_error err;
    assert_int_equal(lx_filedrop_start(&o, &f->fd, &err), 0);
}

static void write_file(const char *path, const char *content)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(content, 1, strlen(content), fp),
                     strlen(content));
    assert_int_equal(fclose(fp), 0);
}

/* The sender contract: write ".<name>.tmp", then rename. */
static void drop(fixture *f, const char *name, const char *content)
{
    char tmp[PATH_MAX], final[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", f->inbox, name);
    snprintf(final, sizeof(final), "%s/%s", f->inbox, name);
    write_file(tmp, content);
    assert_int_equal(rename(tmp, final), 0);
}

/* Names in inbox/<sub> that start with prefix and end with suffix. */
static size_t count(fixture *f, const char *sub, const char *prefix,
                    const char *suffix)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/%s", f->inbox, sub);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name), k = strlen(suffix);
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 &&
            strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
            len >= k && strcmp(de->d_name + len - k, suffix) == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* The one file in inbox/<sub> named prefix...suffix, read whole. */
static char *read_one(fixture *f, const char *sub, const char *prefix,
                      const char *suffix)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/%s", f->inbox, sub);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    char *out = NULL;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name), k = strlen(suffix);
        if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 || len < k ||
            strcmp(de->d_name + len - k, suffix) != 0)
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        FILE *fp = fopen(p, "rb");
        assert_non_null(fp);
        out = calloc(1, 8192);
        size_t got = fread(out, 1, 8191, fp);
        out[got] = '\0';
        fclose(fp);
        break;
    }
    closedir(d);
    assert_non_null(out);
    return out;
}

static void wait_count(fixture *f, const char *sub, const char *prefix,
                       const char *suffix, size_t want)
{
    uint64_t end = lx_mono_ms() + WAIT_MS;
    while (count(f, sub, prefix, suffix) != want && lx_mono_ms() < end)
        usleep(10 * 1000);
    assert_int_equal(count(f, sub, prefix, suffix), want);
}

static void wait_calls(fixture *f, size_t want)
{
    uint64_t end = lx_mono_ms() + WAIT_MS;
    while (calls(f) < want && lx_mono_ms() < end)
        usleep(10 * 1000);
    assert_int_equal(calls(f), want);
}

static int count_state(void *ctx, const char *key, const char *value,
                       size_t len)
{
    (void)key;
    (void)value;
    (void)len;
    (*(size_t *)ctx)++;
    return 0;
}

static size_t state_entries(fixture *f)
{
    size_t n = 0;
    assert_int_equal(
        lx_store_state_list(f->store, "filedrop/edi-in/", count_state, &n,
                            NULL),
        0);
    return n;
}

static void put_state(fixture *f, const char *file, const char *value)
{
    char key[LX_STORE_KEY_MAX + 1];
    snprintf(key, sizeof(key), "filedrop/edi-in/%s", file);
    assert_int_equal(
        lx_store_state_put(f->store, key, value, strlen(value), NULL), 0);
}

/* A crash left `file` in processing/. */
static void leave_in_processing(fixture *f, const char *file,
                                const char *content)
{
    char dir[PATH_MAX], p[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/processing", f->inbox);
    assert_true(mkdir(dir, 0750) == 0);
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    write_file(p, content);
}

/* ---- tests ---- */

static void test_filedrop_files_are_handled_in_name_order_into_done(
    void **state)
{
    fixture *f = *state;
    /* Dropped before start, in reverse order: taken in name order. */
    drop(f, "c.x12", "ISA*3~");
    drop(f, "b.x12", "ISA*2~");
    drop(f, "a.x12", "ISA*1~");
    start(f);
    wait_calls(f, 3);
    assert_string_equal(f->calls[0], "a.x12");
    assert_string_equal(f->calls[1], "b.x12");
    assert_string_equal(f->calls[2], "c.x12");
    wait_count(f, "done", "", "", 3);
    assert_int_equal(count(f, "done", "a.x12.", ""), 1);
    assert_int_equal(count(f, "processing", "", ""), 0);
    assert_int_equal(count(f, ".", "", ".x12"), 0);
    /* One dropped while running is seen (inotify or rescan). */
    drop(f, "d.x12", "ISA*4~");
    wait_calls(f, 4);
    wait_count(f, "done", "", "", 4);
    char *got = read_one(f, "done", "d.x12.", "");
    assert_string_equal(got, "ISA*4~");
    free(got);
    lx_filedrop_stop(&f->fd);
    assert_null(f->fd);
    assert_int_equal(state_entries(f), 0);
}

static void test_filedrop_same_name_twice_never_overwrites_in_done(
    void **state)
{
    fixture *f = *state;
    start(f);
    drop(f, "850.x12", "ISA*1~");
    wait_count(f, "done", "850.x12.", "", 1);
    drop(f, "850.x12", "ISA*2~");
    wait_count(f, "done", "850.x12.", "", 2);
    assert_int_equal(calls(f), 2);
}

static void test_filedrop_failing_handler_goes_to_error_with_report(
    void **state)
{
    fixture *f = *state;
    start(f);
    drop(f, "bad.x12", "FAIL SECRET-SSN-123");
    wait_count(f, "error", "bad.x12.", ".err", 1);
    wait_count(f, "error", "bad.x12.", "", 2);
    assert_int_equal(count(f, "done", "", ""), 0);
    char *report = read_one(f, "error", "bad.x12.", ".err");
    assert_non_null(strstr(report, "file: bad.x12\n"));
    assert_non_null(strstr(report, "size: 19 bytes\n"));
    assert_non_null(strstr(report, "error: LX_ESYNTAX"));
    assert_non_null(strstr(report, "where: interchange 1/BEG\n"));
    assert_non_null(strstr(report, "line: 3\n"));
    assert_non_null(strstr(report, "column: 7\n"));
    assert_non_null(
        strstr(report, "message: segment 3 (BEG) element 2: invalid date"));
    assert_non_null(strstr(report, "time: 20"));
    assert_null(strstr(report, "SECRET")); /* never the content */
    free(report);
    lx_filedrop_stop(&f->fd);
    assert_int_equal(state_entries(f), 0);
}

static void test_filedrop_oversize_file_goes_to_error_unhandled(void **state)
{
    fixture *f = *state;
    f->max_file_size = 16;
    start(f);
    drop(f, "big.edi", "UNA:+.? 'UNB+UNOC:3+SENDER+RECEIVER'");
    wait_count(f, "error", "big.edi.", ".err", 1);
    wait_count(f, "error", "big.edi.", "", 2);
    assert_int_equal(calls(f), 0);
    char *report = read_one(f, "error", "big.edi.", ".err");
    assert_non_null(strstr(report, "LX_ELIMIT"));
    assert_non_null(strstr(report, "max_file_size"));
    free(report);
}

static void test_filedrop_hidden_and_temporary_files_are_ignored(
    void **state)
{
    fixture *f = *state;
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/.hidden", f->inbox);
    write_file(p, "x");
    snprintf(p, sizeof(p), "%s/upload.tmp", f->inbox);
    write_file(p, "x");
    snprintf(p, sizeof(p), "%s/upload.part", f->inbox);
    write_file(p, "x");
    start(f);
    drop(f, "real.x12", "ISA~");
    wait_count(f, "done", "real.x12.", "", 1);
    usleep(5 * POLL_MS * 1000); /* several more looks */
    assert_int_equal(calls(f), 1);
    assert_int_equal(count(f, ".", ".hidden", ""), 1);
    assert_int_equal(count(f, ".", "upload.", ""), 2);
}

static void test_filedrop_recovery_started_is_handled_again_once(
    void **state)
{
    fixture *f = *state;
    leave_in_processing(f, "r.x12", "ISA*r~");
    put_state(f, "r.x12", "started");
    start(f);
    wait_count(f, "done", "r.x12.", "", 1);
    usleep(3 * POLL_MS * 1000);
    assert_int_equal(calls(f), 1);
    assert_string_equal(f->calls[0], "r.x12");
    assert_int_equal(count(f, "processing", "", ""), 0);
    lx_filedrop_stop(&f->fd);
    assert_int_equal(state_entries(f), 0);
}

static void test_filedrop_recovery_without_state_is_handled(void **state)
{
    fixture *f = *state;
    /* Crash between the claim and the "started" record. */
    leave_in_processing(f, "n.x12", "ISA*n~");
    start(f);
    wait_count(f, "done", "n.x12.", "", 1);
    assert_int_equal(calls(f), 1);
}

static void test_filedrop_recovery_done_moves_to_done_without_handler(
    void **state)
{
    fixture *f = *state;
    leave_in_processing(f, "d.x12", "ISA*d~");
    put_state(f, "d.x12", "done");
    start(f);
    wait_count(f, "done", "d.x12.", "", 1);
    usleep(3 * POLL_MS * 1000);
    assert_int_equal(calls(f), 0);
    assert_int_equal(count(f, "processing", "", ""), 0);
    lx_filedrop_stop(&f->fd);
    assert_int_equal(state_entries(f), 0);
}

static void test_filedrop_recovery_failed_goes_to_error_without_handler(
    void **state)
{
    fixture *f = *state;
    leave_in_processing(f, "e.x12", "FAIL");
    put_state(f, "e.x12",
              "failed\n{\"id\":\"01JD3W0000000000000000000A\",\"time\":1,"
              "\"size\":4,\"code\":-2,\"where\":\"ISA\",\"line\":1,"
              "\"column\":4,\"offset\":3,\"msg\":\"bad separator\"}");
    start(f);
    wait_count(f, "error", "e.x12.01JD3W0000000000000000000A", "", 2);
    assert_int_equal(calls(f), 0);
    char *report = read_one(f, "error", "e.x12.", ".err");
    assert_non_null(strstr(report, "where: ISA\n"));
    assert_non_null(strstr(report, "column: 4\n"));
    assert_non_null(strstr(report, "message: bad separator\n"));
    free(report);
}

/* The process is killed (SIGKILL) inside the handler: the next start
 * handles the file again, once, and it ends in done/. */
static int die(void *ctx, const char *path, const char *data, size_t len,
               lx_error *err)
{
    (void)ctx;
    (void)path;
    (void)data;
    (void)len;
    (void)err;
    kill(getpid(), SIGKILL);
    _exit(42); /* not reached */
}

static void test_filedrop_process_killed_in_handler_is_handled_again(
    void **state)
{
    fixture *f = *state;
    drop(f, "k.x12", "ISA*k~");
    lx_store_close(&f->store);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        lx_store *s = NULL;
        lx_store_options so = {.dir = f->store_dir, .no_sync = true};
        if (lx_store_open(&so, &s, NULL) != 0)
            _exit(1);
        lx_filedrop *fd = NULL;
        lx_filedrop_options o = {.dir = f->inbox, .store = s,
                                 .name = "edi-in", .poll_ms = POLL_MS,
                                 .handler = die};
        if (lx_filedrop_start(&o, &fd, NULL) != 0)
            _exit(2);
        sleep(10);
        _exit(3); /* the handler never ran */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    assert_int_equal(count(f, "processing", "k.x12", ""), 1);
    lx_store_options so = {.dir = f->store_dir, .no_sync = true};
    assert_int_equal(lx_store_open(&so, &f->store, NULL), 0);
    char *v = NULL;
    size_t vlen = 0;
    assert_int_equal(lx_store_state_get(f->store, "filedrop/edi-in/k.x12", &v,
                                        &vlen, NULL),
                     0);
    assert_string_equal(v, "started");
    free(v);
    start(f);
    wait_count(f, "done", "k.x12.", "", 1);
    usleep(3 * POLL_MS * 1000);
    assert_int_equal(calls(f), 1);
    lx_filedrop_stop(&f->fd);
    assert_int_equal(state_entries(f), 0);
}

static void test_filedrop_stale_state_is_cleaned_at_start(void **state)
{
    fixture *f = *state;
    put_state(f, "gone.x12", "done");
    put_state(f, "gone2.x12", "started");
    start(f);
    drop(f, "x.x12", "ISA~"); /* after recovery has run */
    wait_count(f, "done", "x.x12.", "", 1);
    lx_filedrop_stop(&f->fd);
    assert_int_equal(state_entries(f), 0);
}

static void test_filedrop_stop_and_start_keep_working(void **state)
{
    fixture *f = *state;
    start(f);
    drop(f, "1.x12", "ISA~");
    wait_count(f, "done", "1.x12.", "", 1);
    lx_filedrop_stop(&f->fd);
    drop(f, "2.x12", "ISA~"); /* while stopped */
    usleep(2 * POLL_MS * 1000);
    assert_int_equal(count(f, ".", "2.x12", ""), 1);
    start(f);
    wait_count(f, "done", "2.x12.", "", 1);
    lx_filedrop_stop(&f->fd);
    start(f);
    drop(f, "3.x12", "ISA~");
    wait_count(f, "done", "3.x12.", "", 1);
    assert_int_equal(calls(f), 3);
}

static void test_filedrop_direct_write_is_taken_once_stable(void **state)
{
    fixture *f = *state;
    start(f);
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/plain.x12", f->inbox);
    write_file(p, "ISA~"); /* no rename: closed after writing */
    wait_count(f, "done", "plain.x12.", "", 1);
    assert_int_equal(calls(f), 1);
}

static void test_filedrop_refuses_bad_options(void **state)
{
    fixture *f = *state;
    lx_filedrop *fd = NULL;
    lx_filedrop_options o = {.dir = f->inbox, .store = f->store,
                             .name = "bad/name", .handler = handler};
    assert_int_equal(lx_filedrop_start(&o, &fd, NULL), LX_EINVAL);
    assert_null(fd);
    char missing[PATH_MAX];
    snprintf(missing, sizeof(missing), "%s/nope", f->root);
    o.name = "ok";
    o.dir = missing;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_filedrop_start(&o, &fd, &err), LX_EIO);
    assert_string_equal(err.where, missing);
    o.dir = f->inbox;
    o.handler = NULL;
    assert_int_equal(lx_filedrop_start(&o, &fd, NULL), LX_EINVAL);
    lx_filedrop_stop(&fd); /* NULL is fine */
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_filedrop_files_are_handled_in_name_order_into_done),
        T(test_filedrop_same_name_twice_never_overwrites_in_done),
        T(test_filedrop_failing_handler_goes_to_error_with_report),
        T(test_filedrop_oversize_file_goes_to_error_unhandled),
        T(test_filedrop_hidden_and_temporary_files_are_ignored),
        T(test_filedrop_recovery_started_is_handled_again_once),
        T(test_filedrop_recovery_without_state_is_handled),
        T(test_filedrop_recovery_done_moves_to_done_without_handler),
        T(test_filedrop_recovery_failed_goes_to_error_without_handler),
        T(test_filedrop_process_killed_in_handler_is_handled_again),
        T(test_filedrop_stale_state_is_cleaned_at_start),
        T(test_filedrop_stop_and_start_keep_working),
        T(test_filedrop_direct_write_is_taken_once_stable),
        T(test_filedrop_refuses_bad_options),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
