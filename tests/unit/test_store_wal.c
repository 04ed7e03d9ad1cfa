/* Unit tests of the store's write-ahead log (canonical/store_wal.h and the
 * WAL durability mode of canonical/store.h; design in docs/store.md):
 * kill -9 at random moments, simulated power losses (the durable image of
 * data.mdb plus a random part of the later page writes), torn log tails,
 * recovery interrupted and run again, a second writing process, and
 * read-only opens of a store that needs recovery. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "canonical/store.h"
#include "canonical/store_wal.h"
#include "core/json.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAL_SIZE ((size_t)4 << 20)
#define PAGE 4096
#define KILL_ROUNDS 10
#define MAX_ACKED 200000

static void rm_rf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static void make_tmp(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/lx-test-wal-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* ---- files ---- */

static uint8_t *read_whole(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    *len = 0;
    if (fd < 0)
        return NULL;
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    uint8_t *b = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    close(fd);
    *len = got;
    return b;
}

static void write_whole(const char *path, const uint8_t *b, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, b + done, len - done);
        assert_true(n > 0);
        done += (size_t)n;
    }
    close(fd);
}

static void copy_file(const char *from, const char *to)
{
    size_t len;
    uint8_t *b = read_whole(from, &len);
    if (!b)
        return; /* absent: absent in the copy too */
    write_whole(to, b, len);
    free(b);
}

/* Copy a data directory's store (not lock.mdb: LMDB makes a new one). */
static void copy_store(const char *from, const char *to)
{
    char a[600], b[600];
    snprintf(b, sizeof(b), "%s/store", to);
    mkdir(to, 0700);
    assert_int_equal(mkdir(b, 0700), 0);
    const char *files[] = {"data.mdb", "wal", "wal-base"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(a, sizeof(a), "%s/store/%s", from, files[i]);
        snprintf(b, sizeof(b), "%s/store/%s", to, files[i]);
        copy_file(a, b);
    }
}

/* ---- the store ---- */

static lx_store *open_wal(const char *dir, unsigned checkpoint_ms)
{
    lx_store_options o = {.dir = dir, .wal_size = WAL_SIZE,
                          .checkpoint_ms = checkpoint_ms};
    lx_store *s = NULL;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_store_open(&o, &s, &err);
    if (rc != 0)
        fprintf(stderr, "open %s: %s\n", dir, err.msg);
    assert_int_equal(rc, 0);
    return s;
}

static int put_person(lx_store *s, uint32_t id)
{
    char nid[32], val[32];
    snprintf(nid, sizeof(nid), "n%u", id);
    snprintf(val, sizeof(val), "E%u", id);
    json_t *r = json_pack("{s:[{s:s,s:s}],s:{s:s,s:[s]},s:s}", "identifiers",
                          "system", "urn:example:hr", "value", val, "name",
                          "family", "Lovelace", "given", "Ada", "note",
                          "a note that makes the record a little longer, "
                          "so that a group spans more than a sector");
    lx_upsert u = {.entity = "person", .system = "hr",
                   .native_type = "Employee", .native_id = nid, .record = r};
    lx_upsert_result res;
    int rc = lx_store_upsert(s, &u, &res);
    json_decref(r);
    return rc;
}

typedef struct seen {
    uint64_t next; /* the sequence expected next */
    bool gap;
} seen;

static int count_event(void *ctx, uint64_t seq, const char *event,
                       size_t len)
{
    seen *v = ctx;
    if (seq != v->next || len == 0 || event[0] != '{')
        v->gap = true;
    v->next = seq + 1;
    return 0;
}

/* Every acknowledged person is there, with its history and its event;
 * the event log has no gap; records, events and the cross-reference
 * agree. */
static void check_store(lx_store *s, const uint32_t *acked, size_t n)
{
    lx_error err;
    seen v = {1, false};
    uint64_t next = 0;
    assert_int_equal(lx_store_events(s, 1, 0, count_event, &v, &next, &err),
                     0);
    assert_false(v.gap);
    uint64_t last = lx_store_last_seq(s);
    assert_int_equal(v.next - 1, last);
    lx_store_stats st;
    assert_int_equal(lx_store_stats_get(s, &st, &err), 0);
    assert_int_equal(st.events, last);
    for (size_t i = 0; i < n; i++) {
        char nid[32], entity[LX_STORE_NAME_MAX + 1], id[LX_STORE_ID_SIZE];
        snprintf(nid, sizeof(nid), "n%u", acked[i]);
        int rc = lx_store_xref_find(s, "hr", "Employee", nid, entity, id,
                                    &err);
        if (rc != 0)
            fprintf(stderr, "acknowledged %s is missing\n", nid);
        assert_int_equal(rc, 0);
        json_t *rec = NULL, *hist = NULL;
        lx_record_meta meta;
        assert_int_equal(lx_store_get(s, "person", id, &rec, &meta, &err), 0);
        json_decref(rec);
        assert_int_equal(lx_store_history(s, "person", id, &hist, &err), 0);
        assert_int_equal(json_array_size(hist), meta.version);
        json_decref(hist);
        assert_true(meta.seq >= 1 && meta.seq <= last);
        char idv[32], found[LX_STORE_ID_SIZE];
        snprintf(idv, sizeof(idv), "E%u", acked[i]);
        assert_int_equal(lx_store_ident_find(s, "person", "urn:example:hr",
                                             idv, found, &err),
                         0);
        assert_string_equal(found, id);
    }
}

/* ---- (a) kill -9 while writing ---- */

typedef struct child_arg {
    lx_store *s;
    int fd;
    uint32_t base;
} child_arg;

static void *child_writer(void *arg)
{
    child_arg *c = arg;
    for (uint32_t i = 0; i < 100000; i++) {
        uint32_t id = c->base + i;
        if (put_person(c->s, id) != 0)
            _exit(3);
        if (write(c->fd, &id, sizeof(id)) != (ssize_t)sizeof(id))
            _exit(4);
    }
    return NULL;
}

/* A child writes from 4 threads and reports each acknowledged id; it is
 * killed after `ms`. Returns how many ids it reported. */
static size_t run_and_kill(const char *dir, uint32_t base, unsigned ms,
                           unsigned checkpoint_ms, uint32_t *acked,
                           size_t have)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        lx_store *s = open_wal(dir, checkpoint_ms);
        pthread_t th[4];
        child_arg ca[4];
        for (int t = 0; t < 4; t++) {
            ca[t] = (child_arg){s, p[1], base + (uint32_t)t * 100000u};
            pthread_create(&th[t], NULL, child_writer, &ca[t]);
        }
        for (int t = 0; t < 4; t++)
            pthread_join(th[t], NULL);
        _exit(0);
    }
    close(p[1]);
    uint64_t until = now_ms() + ms;
    size_t n = have;
    uint32_t buf[1024];
    for (bool killed = false;;) {
        uint64_t t = now_ms();
        if (!killed && t >= until) {
            kill(pid, SIGKILL);
            killed = true;
        }
        struct pollfd pf = {p[0], POLLIN, 0};
        int to = killed ? 1000 : (int)(until - t);
        if (poll(&pf, 1, to) <= 0) {
            if (killed)
                break;
            continue;
        }
        ssize_t r = read(p[0], buf, sizeof(buf));
        if (r <= 0)
            break; /* EOF: the child is gone and the pipe drained */
        /* Whole ids only: a write of 4 bytes to a pipe is atomic. */
        for (size_t i = 0; i < (size_t)r / sizeof(uint32_t) && n < MAX_ACKED;
             i++)
            acked[n++] = buf[i];
    }
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    return n;
}

static void test_kill9(void **state)
{
    (void)state;
    char dir[256], copy[300];
    make_tmp(dir, sizeof(dir));
    uint32_t *acked = calloc(MAX_ACKED, sizeof(*acked));
    size_t n = 0;
    srand((unsigned)time(NULL));
    for (int round = 0; round < KILL_ROUNDS; round++) {
        unsigned ms = 50 + (unsigned)(rand() % 250);
        /* Frequent checkpoints, so kills land around them too. */
        size_t before = n;
        n = run_and_kill(dir, (uint32_t)round * 1000000u, ms, 30, acked, n);
        assert_true(n >= before);
        /* The same files on another inode: a recovery that cannot trust
         * the page cache restores the checkpoint and replays the log. */
        snprintf(copy, sizeof(copy), "%s-copy", dir);
        copy_store(dir, copy);
        lx_store *s = open_wal(dir, 0);
        check_store(s, acked, n);
        lx_store_close(&s);
        s = open_wal(copy, 0);
        check_store(s, acked, n);
        lx_store_close(&s);
        rm_rf(copy);
    }
    assert_true(n > 0);
    free(acked);
    rm_rf(dir);
}

/* ---- (b) power loss ---- */

/* The disk after a power loss: the durable image, and a random part of
 * the page writes that came after it (meta pages included, so LMDB may
 * find a meta page pointing at pages that never arrived). */
static void crash_data(const char *durable_path, size_t durable_len,
                       const uint8_t *durable, const uint8_t *live,
                       size_t live_len, unsigned seed)
{
    (void)durable_path;
    size_t len = live_len > durable_len ? live_len : durable_len;
    uint8_t *out = calloc(1, len);
    memcpy(out, durable, durable_len);
    srand(seed);
    for (size_t off = 0; off + PAGE <= live_len; off += PAGE) {
        bool changed = off >= durable_len ||
                       memcmp(durable + off, live + off, PAGE) != 0;
        if (changed && rand() % 2)
            memcpy(out + off, live + off, PAGE);
    }
    /* A file that may or may not have grown yet. */
    size_t keep = rand() % 2 ? len : durable_len;
    write_whole(durable_path, out, keep);
    free(out);
}

typedef struct disk {
    uint8_t *durable; /* data.mdb right after a checkpoint */
    size_t durable_len;
    uint8_t *live;    /* data.mdb, page cache included, later */
    size_t live_len;
    uint8_t *wal, *base;
    size_t wal_len, base_len;
} disk;

static void disk_free(disk *d)
{
    free(d->durable);
    free(d->live);
    free(d->wal);
    free(d->base);
}

/* Make a crashed copy of the disk in dir (a fresh directory). */
static void build_crash(const disk *d, const char *dir, unsigned seed)
{
    char p[600];
    mkdir(dir, 0700);
    snprintf(p, sizeof(p), "%s/store", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/store/data.mdb", dir);
    crash_data(p, d->durable_len, d->durable, d->live, d->live_len, seed);
    snprintf(p, sizeof(p), "%s/store/wal", dir);
    write_whole(p, d->wal, d->wal_len);
    if (d->base) {
        snprintf(p, sizeof(p), "%s/store/wal-base", dir);
        write_whole(p, d->base, d->base_len);
    }
}

static void snap(const char *dir, const char *name, uint8_t **b, size_t *len)
{
    char p[600];
    snprintf(p, sizeof(p), "%s/store/%s", dir, name);
    *b = read_whole(p, len);
}

static void test_power_loss(void **state)
{
    (void)state;
    char dir[256], crash[300];
    make_tmp(dir, sizeof(dir));
    enum { N = 400 };
    uint32_t acked[N + 1];
    disk d;
    memset(&d, 0, sizeof(d));
    /* No periodic checkpoint: the one made at open is the durable image. */
    lx_store *s = open_wal(dir, 3600 * 1000);
    snap(dir, "data.mdb", &d.durable, &d.durable_len);
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(put_person(s, i), 0);
        acked[i] = i;
    }
    lx_error err;
    uint64_t counter = 0;
    assert_int_equal(lx_store_counter_next(s, "isa", 100, 0, &counter, &err),
                     0);
    assert_int_equal(lx_store_state_put(s, "dlq/x/1", "{}", 2, &err), 0);
    /* One more: the power loss either comes after it was acknowledged,
     * or tears its log write (the variant below). */
    assert_int_equal(put_person(s, N), 0);
    /* Everything acknowledged is in the log, synced; the writer is idle. */
    snap(dir, "data.mdb", &d.live, &d.live_len);
    snap(dir, "wal", &d.wal, &d.wal_len);
    lx_store_close(&s);

    for (unsigned seed = 1; seed <= 6; seed++) {
        snprintf(crash, sizeof(crash), "%s-crash%u", dir, seed);
        bool torn = seed % 2 == 0;
        build_crash(&d, crash, seed);
        if (torn) {
            /* The last group half written: find it through the log
             * itself, then damage its middle, so its CRC fails. */
            char p[600];
            snprintf(p, sizeof(p), "%s/store", crash);
            lx_wal *w = NULL;
            bool owner;
            assert_int_equal(lx_wal_open(p, false, &w, &owner, &err), 0);
            off_t off;
            size_t len;
            assert_true(lx_wal_last_group(w, &off, &len));
            lx_wal_close(&w);
            snprintf(p, sizeof(p), "%s/store/wal", crash);
            int fd = open(p, O_RDWR);
            assert_true(fd >= 0);
            uint8_t junk[64];
            memset(junk, 0xa5, sizeof(junk));
            assert_int_equal(pwrite(fd, junk, sizeof(junk), off + (off_t)len / 2),
                             (ssize_t)sizeof(junk));
            close(fd);
        }
        /* Read-only first: it must refuse, not read garbage. */
        lx_store_options ro = {.dir = crash, .read_only = true};
        lx_store *r = NULL;
        lx_error_clear(&err);
        assert_int_equal(lx_store_open(&ro, &r, &err), LX_ESTORE);
        assert_non_null(strstr(err.msg, "recover"));

        s = open_wal(crash, 0);
        check_store(s, acked, N);
        char entity[LX_STORE_NAME_MAX + 1], id[LX_STORE_ID_SIZE];
        int rc = lx_store_xref_find(s, "hr", "Employee", "n400", entity, id,
                                    &err);
        /* Acknowledged before the crash only in the untorn variant. */
        assert_int_equal(rc, torn ? LX_ENOTFOUND : 0);
        char *v = NULL;
        assert_int_equal(lx_store_state_get(s, "dlq/x/1", &v, NULL, &err), 0);
        free(v);
        uint64_t next = 0;
        assert_int_equal(lx_store_counter_next(s, "isa", 100, 0, &next, &err),
                         0);
        assert_true(next > counter);
        /* Writes go on after the recovery. */
        assert_int_equal(put_person(s, 5000 + seed), 0);
        lx_store_close(&s);
        /* And a clean reopen, read-only too. */
        assert_int_equal(lx_store_open(&ro, &r, &err), 0);
        lx_store_close(&r);
        rm_rf(crash);
    }
    disk_free(&d);
    rm_rf(dir);
}

/* ---- (c) recovery interrupted, then run again ---- */

static void test_recovery_idempotent(void **state)
{
    (void)state;
    char dir[256], crash[300];
    make_tmp(dir, sizeof(dir));
    enum { N = 600 };
    uint32_t acked[N];
    disk d;
    memset(&d, 0, sizeof(d));
    lx_store *s = open_wal(dir, 3600 * 1000);
    snap(dir, "data.mdb", &d.durable, &d.durable_len);
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(put_person(s, i), 0);
        acked[i] = i;
    }
    snap(dir, "data.mdb", &d.live, &d.live_len);
    snap(dir, "wal", &d.wal, &d.wal_len);
    lx_store_close(&s);

    snprintf(crash, sizeof(crash), "%s-crash", dir);
    build_crash(&d, crash, 7);
    /* Recover in a child killed early, several times over: each later
     * recovery starts from what the previous one left half done. */
    unsigned delays_ms[] = {0, 1, 2, 3, 5, 8, 13};
    for (size_t i = 0; i < sizeof(delays_ms) / sizeof(delays_ms[0]); i++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            lx_store *c = open_wal(crash, 0);
            lx_store_close(&c);
            _exit(0);
        }
        usleep(delays_ms[i] * 1000);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
    }
    s = open_wal(crash, 0);
    check_store(s, acked, N);
    lx_store_close(&s);
    /* A crash after the replay but before the checkpoint that ends the
     * recovery: the replayed data file with the log as it was before, so
     * the same groups are replayed a second time over the restored
     * snapshot. */
    rm_rf(crash);
    build_crash(&d, crash, 8);
    char wal[400];
    snprintf(wal, sizeof(wal), "%s/store/wal", crash);
    s = open_wal(crash, 0);
    lx_store_close(&s);
    write_whole(wal, d.wal, d.wal_len);
    s = open_wal(crash, 0);
    check_store(s, acked, N);
    lx_store_close(&s);
    rm_rf(crash);
    disk_free(&d);
    rm_rf(dir);
}

/* ---- a second writer while the log has an owner ---- */

static void test_shared_writer(void **state)
{
    (void)state;
    char dir[256], crash[300];
    make_tmp(dir, sizeof(dir));
    enum { N = 200 };
    uint32_t acked[2 * N];
    disk d;
    memset(&d, 0, sizeof(d));
    lx_store *owner = open_wal(dir, 3600 * 1000);
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(put_person(owner, i), 0);
        acked[i] = i;
    }
    /* The CLI next to the hub: it cannot own the log, so each of its
     * commits is synced by LMDB and recorded as a baseline. */
    lx_store *other = open_wal(dir, 0);
    lx_error err;
    assert_int_equal(lx_store_state_put(other, "replay/sub", "7", 1, &err),
                     0);
    /* What is durable now: everything up to that commit. */
    snap(dir, "data.mdb", &d.durable, &d.durable_len);
    for (uint32_t i = N; i < 2 * N; i++) {
        assert_int_equal(put_person(owner, i), 0);
        acked[i] = i;
    }
    snap(dir, "data.mdb", &d.live, &d.live_len);
    snap(dir, "wal", &d.wal, &d.wal_len);
    snap(dir, "wal-base", &d.base, &d.base_len);
    assert_non_null(d.base);
    lx_store_close(&other);
    lx_store_close(&owner);

    for (unsigned seed = 1; seed <= 3; seed++) {
        snprintf(crash, sizeof(crash), "%s-crash%u", dir, seed);
        build_crash(&d, crash, seed);
        lx_store *s = open_wal(crash, 0);
        check_store(s, acked, 2 * N);
        char *v = NULL;
        assert_int_equal(lx_store_state_get(s, "replay/sub", &v, NULL, &err),
                         0);
        assert_string_equal(v, "7");
        free(v);
        lx_store_close(&s);
        rm_rf(crash);
    }
    disk_free(&d);
    rm_rf(dir);
}

/* ---- modes ---- */

static void test_modes(void **state)
{
    (void)state;
    char dir[256], path[320];
    make_tmp(dir, sizeof(dir));
    /* no_sync: no log at all. */
    lx_store_options o = {.dir = dir, .no_sync = true};
    lx_store *s = NULL;
    lx_error err;
    assert_int_equal(lx_store_open(&o, &s, &err), 0);
    assert_int_equal(put_person(s, 1), 0);
    lx_store_close(&s);
    snprintf(path, sizeof(path), "%s/store/wal", dir);
    assert_int_equal(access(path, F_OK), -1);
    /* The LMDB mode keeps a clean log, so that it may be switched. */
    o.no_sync = false;
    o.durability = LX_STORE_DURABILITY_LMDB;
    assert_int_equal(lx_store_open(&o, &s, &err), 0);
    assert_int_equal(put_person(s, 2), 0);
    lx_store_close(&s);
    s = open_wal(dir, 0);
    assert_int_equal(put_person(s, 3), 0);
    uint32_t acked[] = {1, 2, 3};
    check_store(s, acked, 3);
    lx_store_close(&s);
    assert_int_equal(lx_store_open(&o, &s, &err), 0);
    check_store(s, acked, 3);
    lx_store_close(&s);
    rm_rf(dir);
}

/* A group too large for the log's ring is made durable by a checkpoint. */
static void test_group_larger_than_log(void **state)
{
    (void)state;
    char dir[256];
    make_tmp(dir, sizeof(dir));
    lx_store_options o = {.dir = dir, .wal_size = (size_t)1 << 20};
    lx_store *s = NULL;
    lx_error err;
    assert_int_equal(lx_store_open(&o, &s, &err), 0);
    enum { K = 40 };
    char *big = malloc(LX_STORE_STATE_MAX);
    memset(big, 'x', LX_STORE_STATE_MAX - 1);
    big[LX_STORE_STATE_MAX - 1] = '\0';
    const char *keys[K], *values[K];
    char names[K][32];
    for (int i = 0; i < K; i++) {
        snprintf(names[i], sizeof(names[i]), "big/%d", i);
        keys[i] = names[i];
        values[i] = big;
    }
    /* 40 x 64 KiB = 2.5 MiB in one transaction. */
    assert_int_equal(lx_store_state_put_many(s, keys, values, K, &err), 0);
    assert_int_equal(put_person(s, 1), 0);
    lx_store_close(&s);
    s = open_wal(dir, 0);
    char *v = NULL;
    size_t len = 0;
    assert_int_equal(lx_store_state_get(s, "big/39", &v, &len, &err), 0);
    assert_int_equal(len, LX_STORE_STATE_MAX - 1);
    free(v);
    lx_store_close(&s);
    free(big);
    rm_rf(dir);
}

/* At the map ceiling a transaction fails whole: nothing of it reaches the
 * log, and a recovery that replays the log finds every acknowledged
 * record and nothing else. */
static void test_map_full(void **state)
{
    (void)state;
    char dir[256], copy[300];
    make_tmp(dir, sizeof(dir));
    lx_store_options o = {.dir = dir, .wal_size = WAL_SIZE,
                          .map_size = (size_t)256 << 10,
                          .max_map_size = (size_t)1 << 20,
                          .checkpoint_ms = 3600 * 1000};
    lx_store *s = NULL;
    lx_error err;
    assert_int_equal(lx_store_open(&o, &s, &err), 0);
    enum { MAX = 5000 };
    uint32_t *acked = calloc(MAX, sizeof(*acked));
    size_t n = 0;
    int rc = 0;
    for (uint32_t i = 0; i < MAX && rc == 0; i++) {
        rc = put_person(s, i);
        if (rc == 0)
            acked[n++] = i;
    }
    assert_int_equal(rc, LX_EFULL);
    assert_true(n > 10);
    /* The files as they are now, on another inode: restore and replay. */
    snprintf(copy, sizeof(copy), "%s-copy", dir);
    copy_store(dir, copy);
    lx_store_close(&s);
    o.dir = copy;
    o.max_map_size = (size_t)4 << 20;
    assert_int_equal(lx_store_open(&o, &s, &err), 0);
    check_store(s, acked, n);
    lx_store_stats st;
    assert_int_equal(lx_store_stats_get(s, &st, &err), 0);
    assert_int_equal(st.records, n);
    lx_store_close(&s);
    free(acked);
    rm_rf(copy);
    rm_rf(dir);
}

static void test_crc32c(void **state)
{
    (void)state;
    /* RFC 3720 B.4: 32 bytes of zeros. */
    uint8_t zero[32] = {0};
    assert_int_equal(lx_crc32c(0, zero, sizeof(zero)), 0x8a9136aau);
    assert_int_equal(lx_crc32c(0, "123456789", 9), 0xe3069283u);
    /* In pieces as at once. */
    assert_int_equal(lx_crc32c(lx_crc32c(0, "1234", 4), "56789", 5),
                     0xe3069283u);
    /* The CPU's instruction and the table agree, at every length and
     * alignment (a log written on one machine is read on another). */
    uint8_t buf[300];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    assert_int_equal(lx_crc32c_portable(0, "123456789", 9), 0xe3069283u);
    for (size_t off = 0; off < 9; off++)
        for (size_t len = 0; len + off <= sizeof(buf); len += 7)
            assert_int_equal(lx_crc32c(5, buf + off, len),
                             lx_crc32c_portable(5, buf + off, len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_group_larger_than_log),
        cmocka_unit_test(test_map_full),
        cmocka_unit_test(test_power_loss),
        cmocka_unit_test(test_recovery_idempotent),
        cmocka_unit_test(test_shared_writer),
        cmocka_unit_test(test_kill9),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
