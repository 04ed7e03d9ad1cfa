/* Unit tests of the atomic outbox (adapters/transport/outbox.h): real
 * directories under /tmp. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "adapters/transport/outbox.h"

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fixture {
    char dir[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/lx-test-outbox-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
    free(f);
    return 0;
}

/* Count names in dir: visible ones and hidden ones. */
static void count_names(const char *dir, size_t *visible, size_t *hidden)
{
    *visible = *hidden = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (de->d_name[0] == '.')
            (*hidden)++;
        else
            (*visible)++;
    }
    closedir(d);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    size_t got = fread(p, 1, (size_t)n, fp);
    p[got] = '\0';
    fclose(fp);
    *len = got;
    return p;
}

static void test_outbox_write_creates_the_file_and_no_temp(void **state)
{
    fixture *f = *state;
    char path[PATH_MAX];
    lx_error err;
    assert_int_equal(lx_outbox_write(f->dir, "850.x12", "ISA*00~", 7, path,
                                     sizeof(path), &err),
                     0);
    char want[PATH_MAX];
    snprintf(want, sizeof(want), "%s/850.x12", f->dir);
    assert_string_equal(path, want);
    size_t len = 0;
    char *got = slurp(path, &len);
    assert_non_null(got);
    assert_int_equal(len, 7);
    assert_memory_equal(got, "ISA*00~", 7);
    free(got);
    size_t vis, hid;
    count_names(f->dir, &vis, &hid);
    assert_int_equal(vis, 1);
    assert_int_equal(hid, 0);
}

static void test_outbox_collision_adds_a_counter_and_never_overwrites(
    void **state)
{
    fixture *f = *state;
    char p1[PATH_MAX], p2[PATH_MAX], p3[PATH_MAX], p4[PATH_MAX];
    assert_int_equal(
        lx_outbox_write(f->dir, "850.x12", "one", 3, p1, sizeof(p1), NULL), 0);
    assert_int_equal(
        lx_outbox_write(f->dir, "850.x12", "two", 3, p2, sizeof(p2), NULL), 0);
    assert_int_equal(
        lx_outbox_write(f->dir, "850.x12", "three", 5, p3, sizeof(p3), NULL),
        0);
    assert_int_equal(
        lx_outbox_write(f->dir, "README", "x", 1, p4, sizeof(p4), NULL), 0);
    assert_non_null(strstr(p1, "/850.x12"));
    assert_non_null(strstr(p2, "/850.1.x12"));
    assert_non_null(strstr(p3, "/850.2.x12"));
    assert_non_null(strstr(p4, "/README"));
    assert_int_equal(
        lx_outbox_write(f->dir, "README", "y", 1, p4, sizeof(p4), NULL), 0);
    assert_non_null(strstr(p4, "/README.1"));
    size_t len;
    char *got = slurp(p1, &len);
    assert_string_equal(got, "one");
    free(got);
    got = slurp(p3, &len);
    assert_string_equal(got, "three");
    free(got);
}

static void test_outbox_refuses_names_receivers_would_ignore(void **state)
{
    fixture *f = *state;
    const char *bad[] = {"", ".hidden", "a/b", "x.tmp", "x.part"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lx_error err;
        lx_error_clear(&err);
        assert_int_equal(
            lx_outbox_write(f->dir, bad[i], "x", 1, NULL, 0, &err), LX_EINVAL);
    }
    char longname[LX_OUTBOX_NAME_MAX + 2];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(lx_outbox_write(f->dir, longname, "x", 1, NULL, 0, NULL),
                     LX_EINVAL);
    size_t vis, hid;
    count_names(f->dir, &vis, &hid);
    assert_int_equal(vis + hid, 0);
}

static void test_outbox_missing_dir_is_io_error_located(void **state)
{
    fixture *f = *state;
    char dir[PATH_MAX], path[PATH_MAX] = "junk";
    snprintf(dir, sizeof(dir), "%s/nope", f->dir);
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(
        lx_outbox_write(dir, "a.txt", "x", 1, path, sizeof(path), &err),
        LX_EIO);
    assert_string_equal(err.where, dir);
    assert_string_equal(path, "");
}

static void test_outbox_small_path_buffer_writes_nothing(void **state)
{
    fixture *f = *state;
    char path[8];
    assert_int_equal(
        lx_outbox_write(f->dir, "a.txt", "x", 1, path, sizeof(path), NULL),
        LX_EINVAL);
    size_t vis, hid;
    count_names(f->dir, &vis, &hid);
    assert_int_equal(vis + hid, 0);
}

/* ---- concurrency: distinct names, never a visible partial file ---- */

#define WRITERS 6
#define WRITES 15
#define PAYLOAD (256 * 1024)

typedef struct race {
    const char *dir;
    char *payload;
    atomic_bool done;
    atomic_int partial_seen;
    atomic_int looks;
} race;

static void *writer(void *arg)
{
    race *r = arg;
    for (int i = 0; i < WRITES; i++) {
        char path[PATH_MAX];
        lx_error err;
        if (lx_outbox_write(r->dir, "batch.edi", r->payload, PAYLOAD, path,
                            sizeof(path), &err) != 0)
            atomic_fetch_add(&r->partial_seen, 1000);
    }
    return NULL;
}

/* Every visible file must have the whole payload at every look. */
static void *watcher(void *arg)
{
    race *r = arg;
    while (!atomic_load(&r->done)) {
        DIR *d = opendir(r->dir);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            char p[PATH_MAX];
            snprintf(p, sizeof(p), "%s/%s", r->dir, de->d_name);
            struct stat st;
            if (stat(p, &st) == 0 && st.st_size != PAYLOAD)
                atomic_fetch_add(&r->partial_seen, 1);
        }
        if (d)
            closedir(d);
        atomic_fetch_add(&r->looks, 1);
    }
    return NULL;
}

static void test_outbox_concurrent_writers_get_distinct_complete_files(
    void **state)
{
    fixture *f = *state;
    race r = {.dir = f->dir};
    r.payload = malloc(PAYLOAD);
    for (size_t i = 0; i < PAYLOAD; i++)
        r.payload[i] = (char)('A' + i % 26);
    atomic_init(&r.done, false);
    atomic_init(&r.partial_seen, 0);
    atomic_init(&r.looks, 0);
    pthread_t w[WRITERS], watch;
    assert_int_equal(pthread_create(&watch, NULL, watcher, &r), 0);
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(pthread_create(&w[i], NULL, writer, &r), 0);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(w[i], NULL);
    atomic_store(&r.done, true);
    pthread_join(watch, NULL);
    assert_int_equal(atomic_load(&r.partial_seen), 0);
    assert_true(atomic_load(&r.looks) > 0);
    size_t vis, hid;
    count_names(f->dir, &vis, &hid);
    assert_int_equal(vis, WRITERS * WRITES);
    assert_int_equal(hid, 0);
    /* And each one is the whole payload. */
    DIR *d = opendir(f->dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", f->dir, de->d_name);
        size_t len;
        char *got = slurp(p, &len);
        assert_int_equal(len, PAYLOAD);
        assert_memory_equal(got, r.payload, PAYLOAD);
        free(got);
    }
    closedir(d);
    free(r.payload);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_outbox_write_creates_the_file_and_no_temp, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_outbox_collision_adds_a_counter_and_never_overwrites, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_outbox_refuses_names_receivers_would_ignore, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_outbox_missing_dir_is_io_error_located, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_outbox_small_path_buffer_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_outbox_concurrent_writers_get_distinct_complete_files, setup,
            teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
