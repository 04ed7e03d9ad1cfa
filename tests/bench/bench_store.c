/* tests/bench/bench_store.c: throughput of the write path and of the bus.
 *
 * One run prints, one figure per line:
 *   1. the LMDB floor: raw durable puts of 1 KiB values, 1,000 per commit,
 *      and the durable commit rate with one put per commit;
 *   2. canonical upserts of ~1 KiB person records (every one a create)
 *      through lx_store_upsert from 1, 8 and 64 writer threads, durable
 *      with the write-ahead log (the default), durable with LMDB syncing
 *      each commit, and with MDB_NOSYNC, on a fresh store each;
 *   3. events per second through the bus, PUB -> SUB on 127.0.0.1, as fast
 *      as possible (PUB drops at the high-water mark by design, and the
 *      publish queue refuses past queue_max) and paced;
 *   4. peak RSS.
 * Options: --quick (counts / 10), --dir DIR (temp stores, default /tmp),
 * --json (the text goes to stderr, one JSON summary to stdout),
 * --store-only (section 2 only), --writers LIST (a subset of 1,8,64),
 * --modes LIST (a subset of wal,lmdb,nosync), --count N (upserts per
 * configuration, for instruction counts under callgrind), --checkpoint-ms
 * N and --wal-mib N (the log's checkpoint interval and ring size),
 * --traces (a trace step per change, as the hub keeps them).
 * See tests/bench/README.md for what each figure means.
 *
 * A benchmark, not a test: it includes lmdb.h directly to measure the floor
 * of the stack, which production code never does outside canonical/store.c.
 * Every loop is bounded and every temp directory is removed at the end. */
#include "canonical/store.h"
#include "core/bus.h"
#include "core/error.h"
#include "core/id.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <lmdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define RECORD_LEN 1024      /* target size of a serialized record */
#define PATH_MAX_LEN 4096
#define WRITER_COUNTS 3
#define BUS_BURST 100        /* events per burst in the paced run */
#define BUS_EVENT_MAX 4096   /* one event text, with room to spare */
#define BUS_SUB_WAIT_MS 5000 /* bound on establishing the subscription */
#define BUS_DRAIN_MS 30000   /* bound on receiving after the last publish */
#define BUS_IDLE_MS 1000     /* nothing for this long: the rest was lost */

static const int writer_counts[WRITER_COUNTS] = {1, 8, 64};

typedef struct bench_opts {
    bool quick;
    bool json;
    const char *dir;
} bench_opts;

/* --checkpoint-ms, --wal-mib: the log's settings (0: the store's
 * defaults). */
static unsigned opt_checkpoint_ms;
static size_t opt_wal_size;
static bool opt_traces; /* --traces: a trace step per change, as the hub */

/* Human-readable output: stdout, or stderr when stdout carries the JSON. */
static FILE *out_text;
static json_t *summary;

static void say(const char *fmt, ...) LX_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out_text, fmt, ap);
    va_end(ap);
    fflush(out_text);
}

/* ---- time, numbers, files ---- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double secs(uint64_t ns)
{
    return (double)ns / 1e9;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u),
                          (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* 1234567.8 -> "1,234,568" into buf[32]. */
static const char *grouped(double v, char buf[32])
{
    unsigned long long n = v < 0 ? 0 : (unsigned long long)(v + 0.5);
    char raw[32];
    int len = snprintf(raw, sizeof(raw), "%llu", n);
    size_t o = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = '\0';
    return buf;
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char sub[PATH_MAX_LEN];
            snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
            struct stat st;
            if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
                remove_tree(sub);
            else
                unlink(sub);
        }
        closedir(d);
    }
    rmdir(path);
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss; /* KiB on Linux */
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static uint64_t percentile(const uint64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

/* ---- a ~1 KiB canonical person record ---- */

/* One template per thread; person_tag() makes it a different person by
 * rewriting its identifiers and e-mail in place, so building a record
 * costs next to nothing next to the upsert it feeds. */
typedef struct person {
    json_t *rec;
    json_t *hr_value, *nat_value, *email; /* borrowed from rec */
} person;

static void person_tag(person *p, const char *tag)
{
    char v[96];
    snprintf(v, sizeof(v), "E-%s", tag);
    json_string_set(p->hr_value, v);
    snprintf(v, sizeof(v), "N-%s", tag);
    json_string_set(p->nat_value, v);
    snprintf(v, sizeof(v), "ada.lovelace.%s@example.org", tag);
    json_string_set(p->email, v);
}

/* Tags must all have the same length so that every record has the size
 * the padding was computed for. */
#define TAG_FMT "c%d-t%02d-%08zu"

static void person_init(person *p, size_t target_len)
{
    json_error_t je;
    p->rec = json_pack_ex(
        &je, 0,
        "{s:[{s:s,s:s,s:s},{s:s,s:s,s:s}],"
        " s:{s:s,s:[s,s],s:[s],s:s},"
        " s:s, s:s,"
        " s:[{s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s}],"
        " s:[{s:s,s:[s,s],s:s,s:s,s:s,s:s},"
        "    {s:s,s:[s],s:s,s:s,s:s,s:s}]}",
        "identifiers", "system", "urn:example:hr", "value", "", "use",
        "official", "system", "urn:example:national-id", "value", "", "use",
        "secondary",
        "name", "family", "Lovelace", "given", "Ada", "Augusta", "prefix",
        "Countess", "text", "Augusta Ada King, Countess of Lovelace",
        "birth_date", "1815-12-10", "gender", "female",
        "contacts", "kind", "email", "value", "", "use", "work", "kind",
        "phone", "value", "+44 20 7946 0000", "use", "home", "kind", "phone",
        "value", "+44 7700 900123", "use", "mobile",
        "addresses", "use", "home", "lines", "12 St James's Square",
        "Flat 3", "city", "London", "district", "Westminster", "postal_code",
        "SW1Y 4JH", "country", "GB", "use", "work", "lines",
        "Analytical Engine Works", "city", "Marylebone", "district",
        "Greater London", "postal_code", "NW1 5LR", "country", "GB");
    LX_ASSERT(p->rec);
    json_t *ids = json_object_get(p->rec, "identifiers");
    p->hr_value = json_object_get(json_array_get(ids, 0), "value");
    p->nat_value = json_object_get(json_array_get(ids, 1), "value");
    p->email = json_object_get(
        json_array_get(json_object_get(p->rec, "contacts"), 0), "value");
    char tag[64];
    snprintf(tag, sizeof(tag), TAG_FMT, 0, 0, (size_t)0);
    person_tag(p, tag);
    /* Pad with a free-text note so the canonical text is target_len. */
    size_t len;
    char *text = lx_json_dump_canonical(p->rec, &len);
    free(text);
    size_t overhead = strlen(",\"note\":\"\"");
    if (len + overhead < target_len) {
        size_t n = target_len - len - overhead;
        char *pad = lx_xmalloc(n + 1);
        for (size_t i = 0; i < n; i++)
            pad[i] = "abcdefghijklmnopqrstuvwxyz "[i % 27];
        pad[n] = '\0';
        json_object_set_new(p->rec, "note", json_string(pad));
        free(pad);
    }
}

static void person_fini(person *p)
{
    json_decref(p->rec);
    p->rec = NULL;
}

/* ---- 1. the LMDB floor ---- */

typedef struct lmdb_result {
    double puts_per_s;
    double secs;
    size_t commits;
} lmdb_result;

/* `count` puts of 1 KiB values with sequential 8-byte keys, `per_txn` per
 * durable commit, into a fresh environment in `dir`. */
static int bench_lmdb(const char *dir, size_t count, size_t per_txn,
                      lmdb_result *r)
{
    memset(r, 0, sizeof(*r));
    if (mkdir(dir, 0700) != 0)
        return -1;
    MDB_env *env = NULL;
    MDB_dbi dbi = 0;
    MDB_txn *txn = NULL;
    int rc = mdb_env_create(&env);
    size_t map = count * 2048 + ((size_t)64 << 20); /* values + room */
    rc = rc ? rc : mdb_env_set_mapsize(env, map);
    rc = rc ? rc : mdb_env_open(env, dir, 0, 0600);
    rc = rc ? rc : mdb_txn_begin(env, NULL, 0, &txn);
    if (rc == 0) {
        rc = mdb_dbi_open(txn, NULL, 0, &dbi);
        rc = rc ? rc : mdb_txn_commit(txn);
        if (rc != 0)
            mdb_txn_abort(txn);
        txn = NULL;
    }
    uint8_t value[1024];
    for (size_t i = 0; i < sizeof(value); i++)
        value[i] = (uint8_t)(i * 31u + 7u);
    uint64_t t0 = now_ns();
    for (size_t i = 0; rc == 0 && i < count; i++) {
        if (!txn)
            rc = mdb_txn_begin(env, NULL, 0, &txn);
        uint8_t k[8];
        for (int b = 0; b < 8; b++)
            k[b] = (uint8_t)((uint64_t)i >> (56 - 8 * b));
        memcpy(value, k, sizeof(k));
        MDB_val key = {sizeof(k), k}, val = {sizeof(value), value};
        rc = rc ? rc : mdb_put(txn, dbi, &key, &val, 0);
        if (rc == 0 && ((i + 1) % per_txn == 0 || i + 1 == count)) {
            rc = mdb_txn_commit(txn);
            txn = NULL;
            r->commits++;
        }
    }
    uint64_t t1 = now_ns();
    if (txn)
        mdb_txn_abort(txn);
    if (env)
        mdb_env_close(env);
    if (rc != 0) {
        say("  LMDB error: %s\n", mdb_strerror(rc));
        return -1;
    }
    r->secs = secs(t1 - t0);
    r->puts_per_s = (double)count / r->secs;
    return 0;
}

/* ---- 2. canonical upserts ---- */

/* How the store makes a commit durable: the configurations compared. */
enum { MODE_WAL, MODE_LMDB, MODE_NOSYNC, MODE_COUNT };
static const char *const mode_names[MODE_COUNT] = {"durable (wal)",
                                                   "durable (lmdb)", "NOSYNC"};
static const char *const mode_keys[MODE_COUNT] = {"wal", "lmdb", "nosync"};

typedef struct store_result {
    int writers;
    int mode;
    bool no_sync;
    size_t count;
    size_t errors;
    double secs;
    double rate;
    double p50_ms, p99_ms;
    uint64_t commits, upserts;
    double avg_batch;
    double kib_per_upsert; /* bytes this process dirtied (write_bytes) */
    double dev_kib_per_upsert; /* written by the device, whole machine */
    double data_mib;       /* data.mdb at the end */
} store_result;

typedef struct writer_arg {
    lx_store *store;
    int cfg;
    int thread;
    size_t count;
    uint64_t *lat_ns; /* count entries, owned by the caller */
    pthread_barrier_t *start;
    size_t errors;
    lx_error first_err;
} writer_arg;

static void *upsert_thread(void *arg)
{
    writer_arg *w = arg;
    person p;
    person_init(&p, RECORD_LEN);
    char tag[64];
    lx_upsert u = {.op = LX_STORE_UPSERT,
                   .entity = "person",
                   .system = "hr",
                   .adapter = "bench",
                   .native_type = "Employee",
                   .native_id = tag,
                   .record = p.rec};
    lx_upsert_result res;
    pthread_barrier_wait(w->start);
    for (size_t i = 0; i < w->count; i++) {
        snprintf(tag, sizeof(tag), TAG_FMT, w->cfg, w->thread, i);
        person_tag(&p, tag);
        uint64_t t0 = now_ns();
        int rc = lx_store_upsert(w->store, &u, &res);
        w->lat_ns[i] = now_ns() - t0;
        if (rc == 0 && !res.created)
            lx_error_set(&res.err, LX_ECONFLICT,
                         "upsert %zu matched an existing record", i);
        if ((rc != 0 || !res.created) && w->errors++ == 0)
            w->first_err = res.err;
    }
    person_fini(&p);
    return NULL;
}

/* Bytes this process has dirtied in the page cache, from /proc/self/io;
 * 0 when unavailable. The kernel counts a whole folio when one byte of it
 * becomes dirty: with large folios (ext4 on Linux 6.18) a 2.5 KiB write
 * after a sync counts 1 MiB, so this is no measure of what reaches the
 * disk (see device_write_bytes). */
static uint64_t io_write_bytes(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    if (!f)
        return 0;
    char line[128];
    uint64_t v = 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "write_bytes:", 12) == 0)
            v = strtoull(line + 12, NULL, 10);
    fclose(f);
    return v;
}

/* Bytes the block device holding `dir` has written since boot (sectors
 * written, /sys/dev/block/MAJ:MIN/stat), whatever process caused them;
 * 0 when unavailable. */
static uint64_t device_write_bytes(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return 0;
    char path[128];
    snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/stat",
             major(st.st_dev), minor(st.st_dev));
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    unsigned long long v[7] = {0};
    int n = fscanf(f, "%llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                   &v[2], &v[3], &v[4], &v[5], &v[6]);
    fclose(f);
    return n == 7 ? (uint64_t)v[6] * 512u : 0;
}

static int bench_store(const char *dir, int cfg, int writers, int mode,
                       size_t count, store_result *r)
{
    memset(r, 0, sizeof(*r));
    r->writers = writers;
    r->mode = mode;
    r->no_sync = mode == MODE_NOSYNC;
    size_t per = count / (size_t)writers;
    count = per * (size_t)writers;
    r->count = count;

    lx_store_options o = {.dir = dir,
                          .checkpoint_ms = opt_checkpoint_ms,
                          .wal_size = opt_wal_size,
                          .traces = opt_traces,
                          .no_sync = mode == MODE_NOSYNC,
                          .durability = mode == MODE_LMDB
                                            ? LX_STORE_DURABILITY_LMDB
                                            : LX_STORE_DURABILITY_WAL};
    lx_store *s = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (lx_store_open(&o, &s, &err) != 0) {
        char b[1024];
        say("  cannot open store: %s\n", lx_error_format(&err, b, sizeof(b)));
        return -1;
    }
    uint64_t *lat = lx_xcalloc(count, sizeof(*lat));
    writer_arg *args = lx_xcalloc((size_t)writers, sizeof(*args));
    pthread_t *th = lx_xcalloc((size_t)writers, sizeof(*th));
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)writers + 1);
    for (int i = 0; i < writers; i++) {
        args[i] = (writer_arg){.store = s,
                               .cfg = cfg,
                               .thread = i,
                               .count = per,
                               .lat_ns = lat + (size_t)i * per,
                               .start = &start};
        int prc = pthread_create(&th[i], NULL, upsert_thread, &args[i]);
        LX_ASSERT(prc == 0);
    }
    uint64_t io0 = io_write_bytes();
    uint64_t dev0 = device_write_bytes(dir);
    pthread_barrier_wait(&start);
    uint64_t t0 = now_ns();
    for (int i = 0; i < writers; i++)
        pthread_join(th[i], NULL);
    uint64_t t1 = now_ns();
    uint64_t io1 = io_write_bytes();
    r->kib_per_upsert = (double)(io1 - io0) / 1024.0 / (double)count;
    pthread_barrier_destroy(&start);

    for (int i = 0; i < writers; i++) {
        if (args[i].errors && r->errors == 0) {
            char b[1024];
            say("  upsert failed: %s\n",
                lx_error_format(&args[i].first_err, b, sizeof(b)));
        }
        r->errors += args[i].errors;
    }
    lx_store_stats st;
    if (lx_store_stats_get(s, &st, &err) == 0) {
        r->commits = st.commits;
        r->upserts = st.upserts;
    }
    lx_store_close(&s);
    /* Through the close: its last checkpoint writes what is left. */
    uint64_t dev1 = device_write_bytes(dir);
    r->dev_kib_per_upsert = (double)(dev1 - dev0) / 1024.0 / (double)count;
    char data[PATH_MAX_LEN + 32];
    snprintf(data, sizeof(data), "%s/store/data.mdb", dir);
    struct stat fst;
    if (stat(data, &fst) == 0)
        r->data_mib = (double)fst.st_size / 1048576.0;
    qsort(lat, count, sizeof(*lat), cmp_u64);
    r->p50_ms = (double)percentile(lat, count, 50) / 1e6;
    r->p99_ms = (double)percentile(lat, count, 99) / 1e6;
    r->secs = secs(t1 - t0);
    r->rate = (double)count / r->secs;
    r->avg_batch = r->commits ? (double)r->upserts / (double)r->commits : 0;
    free(lat);
    free(args);
    free(th);
    return r->errors ? -1 : 0;
}

/* ---- 3. the bus ---- */

/* A free TCP port on 127.0.0.1 (the kernel's pick; it may be taken again
 * before we bind, so the caller retries). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t al = sizeof(a);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void no_request(void *ctx, lx_bus *bus, lx_bus_request *req)
{
    (void)ctx;
    lx_bus_reply(bus, req, "ERR", "{}", 2, true);
}

typedef struct bus_run {
    lx_bus *bus;
    char endpoint[64];
    size_t count;       /* events to publish */
    double pace_per_s;  /* 0: as fast as possible */
    /* receiver -> main */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool ready;         /* the subscription is established */
    bool sub_failed;
    bool publish_done;  /* main -> receiver */
    uint8_t *seen;      /* count + 1 flags, by seq */
    size_t received, duplicates, malformed;
    uint64_t t_last_recv;
} bus_run;

static void set_flag(bus_run *r, bool *flag)
{
    pthread_mutex_lock(&r->mu);
    *flag = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static bool get_flag(bus_run *r, const bool *flag)
{
    pthread_mutex_lock(&r->mu);
    bool v = *flag;
    pthread_mutex_unlock(&r->mu);
    return v;
}

/* The SUB socket lives on this thread only: open, wait until the
 * subscription carries messages, count events, close. */
static void *receiver_main(void *arg)
{
    bus_run *r = arg;
    lx_bus_sub *sub = NULL;
    lx_error err;
    if (lx_bus_sub_open(r->endpoint, "", &sub, &err) != 0) {
        set_flag(r, &r->sub_failed);
        return NULL;
    }
    /* A SUB gets nothing until its subscription reached the PUB: publish
     * probes until one comes back (bounded), then drain the stragglers. */
    uint64_t deadline = lx_mono_ms() + BUS_SUB_WAIT_MS;
    bool got = false;
    char topic[64];
    char *payload;
    size_t len;
    while (!got && lx_mono_ms() < deadline) {
        (void)lx_bus_publish(r->bus, "probe", "{}", 2);
        if (lx_bus_sub_recv(sub, 50, topic, sizeof(topic), &payload, &len,
                            NULL) == 0) {
            got = true;
            free(payload);
        }
    }
    while (got && lx_bus_sub_recv(sub, 100, topic, sizeof(topic), &payload,
                                  &len, NULL) == 0)
        free(payload);
    if (!got) {
        lx_bus_sub_close(&sub);
        set_flag(r, &r->sub_failed);
        return NULL;
    }
    set_flag(r, &r->ready);

    uint64_t hard = 0, idle_since = lx_mono_ms();
    while (r->received < r->count) {
        int rc = lx_bus_sub_recv(sub, 100, topic, sizeof(topic), &payload,
                                 &len, NULL);
        uint64_t now = lx_mono_ms();
        if (rc != 0) {
            if (!get_flag(r, &r->publish_done))
                continue;
            if (!hard)
                hard = now + BUS_DRAIN_MS;
            if (now - idle_since >= BUS_IDLE_MS || now >= hard)
                break;
            continue;
        }
        idle_since = now;
        const char *pre = "{\"seq\":";
        if (strncmp(topic, "person.", 7) != 0 || len < 8 ||
            strncmp(payload, pre, strlen(pre)) != 0) {
            r->malformed += strcmp(topic, "probe") != 0;
            free(payload);
            continue;
        }
        char *end;
        unsigned long long seq = strtoull(payload + strlen(pre), &end, 10);
        free(payload);
        if (seq < 1 || seq > r->count) {
            r->malformed++;
            continue;
        }
        if (r->seen[seq]) {
            r->duplicates++;
            continue;
        }
        r->seen[seq] = 1;
        r->received++;
        r->t_last_recv = now_ns();
        if (hard && now >= hard)
            break;
    }
    lx_bus_sub_close(&sub);
    return NULL;
}

typedef struct bus_result {
    size_t count;
    size_t event_len;
    double pace_per_s;
    double pub_secs, pub_rate;
    size_t refused;   /* lx_bus_publish: queue full */
    size_t handed;    /* given to the PUB socket by the bus thread */
    size_t received;
    size_t duplicates;
    double recv_secs, recv_rate;
    double loss_pct;
} bus_result;

/* The event of docs/bus.md around a ~1 KiB record; the part after the
 * sequence number is built once and copied behind each number. */
static char *event_tail(size_t *len)
{
    person p;
    person_init(&p, RECORD_LEN);
    char tag[64];
    snprintf(tag, sizeof(tag), TAG_FMT, 9, 0, (size_t)1);
    person_tag(&p, tag);
    size_t rl;
    char *rec = lx_json_dump_canonical(p.rec, &rl);
    person_fini(&p);
    char id[LX_ULID_SIZE], cid[LX_ULID_SIZE], trace[LX_ULID_SIZE];
    char when[LX_TIME_SIZE];
    lx_ulid_new(id);
    lx_ulid_new(cid);
    lx_ulid_new(trace);
    lx_time_format(lx_now_ms(), when);
    size_t cap = rl + 1024;
    char *t = lx_xmalloc(cap);
    int n = snprintf(t, cap,
                     ",\"id\":\"%s\",\"type\":\"person.created\","
                     "\"entity\":\"person\",\"canonical_id\":\"per_%s\","
                     "\"version\":1,\"time\":\"%s\",\"origin\":{\"system\":"
                     "\"hr\",\"adapter\":\"bench\",\"native_type\":"
                     "\"Employee\",\"native_id\":\"E-%s\",\"trace\":\"%s\"},"
                     "\"changed\":[],\"record\":%s}",
                     id, cid, when, tag, trace, rec);
    free(rec);
    LX_ASSERT(n > 0 && (size_t)n < cap);
    *len = (size_t)n;
    return t;
}

static int bench_bus(lx_bus *bus, const char *endpoint, size_t count,
                     double pace_per_s, bus_result *res)
{
    memset(res, 0, sizeof(*res));
    res->count = count;
    res->pace_per_s = pace_per_s;
    bus_run r;
    memset(&r, 0, sizeof(r));
    r.bus = bus;
    snprintf(r.endpoint, sizeof(r.endpoint), "%s", endpoint);
    r.count = count;
    r.pace_per_s = pace_per_s;
    r.seen = lx_xcalloc(count + 1, 1);
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);

    size_t tail_len;
    char *tail = event_tail(&tail_len);
    char *ev = lx_xmalloc(tail_len + 32);

    pthread_t th;
    int prc = pthread_create(&th, NULL, receiver_main, &r);
    LX_ASSERT(prc == 0);
    pthread_mutex_lock(&r.mu);
    while (!r.ready && !r.sub_failed)
        pthread_cond_wait(&r.cv, &r.mu);
    bool ok = r.ready;
    pthread_mutex_unlock(&r.mu);
    if (!ok) {
        say("  the subscription was not established within %d ms\n",
            BUS_SUB_WAIT_MS);
        pthread_join(th, NULL);
    } else {
        lx_bus_stats before, after;
        lx_bus_stats_get(bus, &before);
        uint64_t t0 = now_ns();
        for (size_t i = 1; i <= count; i++) {
            int n = snprintf(ev, 32, "{\"seq\":%zu", i);
            memcpy(ev + n, tail, tail_len);
            size_t len = (size_t)n + tail_len;
            if (i == 1)
                res->event_len = len;
            if (lx_bus_publish(bus, "person.created", ev, len) != 0)
                res->refused++;
            if (pace_per_s > 0 && i % BUS_BURST == 0) {
                /* Sleep until this burst's slot ends. */
                uint64_t due = t0 + (uint64_t)((double)i / pace_per_s * 1e9);
                uint64_t now = now_ns();
                if (due > now)
                    sleep_ns(due - now);
            }
        }
        uint64_t t1 = now_ns();
        set_flag(&r, &r.publish_done);
        /* The receiver returns after BUS_IDLE_MS without an event, long
         * after the bus thread handed its queue to PUB. */
        pthread_join(th, NULL);
        lx_bus_stats_get(bus, &after);
        res->pub_secs = secs(t1 - t0);
        res->pub_rate = (double)count / res->pub_secs;
        /* Probes are not counted: none is sent after `ready`. */
        res->handed = (size_t)(after.published - before.published);
        res->received = r.received;
        res->duplicates = r.duplicates;
        uint64_t last = r.t_last_recv > t0 ? r.t_last_recv : t1;
        res->recv_secs = secs(last - t0);
        res->recv_rate = (double)r.received / res->recv_secs;
        res->loss_pct = 100.0 * (double)(count - r.received) / (double)count;
        if (r.malformed)
            say("  %zu malformed events received\n", r.malformed);
    }
    free(ev);
    free(tail);
    free(r.seen);
    pthread_mutex_destroy(&r.mu);
    pthread_cond_destroy(&r.cv);
    return ok ? 0 : -1;
}

static int open_bus(lx_bus **bus, char pub_ep[64])
{
    lx_error err;
    for (int attempt = 0; attempt < 5; attempt++) {
        int p1 = free_port(), p2 = free_port();
        if (p1 < 0 || p2 < 0 || p1 == p2)
            continue;
        char router_ep[64];
        snprintf(pub_ep, 64, "tcp://127.0.0.1:%d", p1);
        snprintf(router_ep, sizeof(router_ep), "tcp://127.0.0.1:%d", p2);
        lx_bus_options o = {.pub_endpoint = pub_ep,
                            .router_endpoint = router_ep};
        if (lx_bus_open(&o, no_request, NULL, bus, &err) == 0)
            return 0;
    }
    char b[1024];
    say("  cannot open the bus: %s\n", lx_error_format(&err, b, sizeof(b)));
    return -1;
}

/* ---- main ---- */

static void print_store(const store_result *r)
{
    char b[32];
    say("  %d writer%s, %s (%zu upserts in %.2f s)\n", r->writers,
        r->writers == 1 ? "" : "s", mode_names[r->mode], r->count, r->secs);
    say("    upserts/s ............ %s\n", grouped(r->rate, b));
    say("    latency p50 .......... %.3f ms\n", r->p50_ms);
    say("    latency p99 .......... %.3f ms\n", r->p99_ms);
    say("    commits .............. %llu\n", (unsigned long long)r->commits);
    say("    average batch ........ %.1f upserts/commit\n", r->avg_batch);
    say("    dirtied (write_bytes)  %.1f KiB/upsert\n", r->kib_per_upsert);
    say("    device writes ........ %.1f KiB/upsert (whole machine)\n",
        r->dev_kib_per_upsert);
    say("    data file ............ %.0f MiB\n", r->data_mib);
    if (r->errors)
        say("    FAILED upserts ....... %zu\n", r->errors);
}

static json_t *store_json(const store_result *r)
{
    return json_pack("{s:i,s:s,s:I,s:f,s:f,s:f,s:f,s:I,s:f,s:I,s:f,s:f}",
                     "writers", r->writers, "mode", mode_keys[r->mode],
                     "upserts", (json_int_t)r->count, "seconds", r->secs,
                     "upserts_per_s", r->rate, "p50_ms", r->p50_ms, "p99_ms",
                     r->p99_ms, "commits", (json_int_t)r->commits,
                     "avg_batch", r->avg_batch, "errors",
                     (json_int_t)r->errors, "dirtied_kib_per_upsert",
                     r->kib_per_upsert, "device_kib_per_upsert",
                     r->dev_kib_per_upsert);
}

static void print_bus(const char *what, const bus_result *r)
{
    char b[32];
    say("  %s (%zu events of %zu B)\n", what, r->count, r->event_len);
    if (r->pace_per_s > 0)
        say("    paced at ............. %s events/s in bursts of %d\n",
            grouped(r->pace_per_s, b), BUS_BURST);
    say("    published/s .......... %s\n", grouped(r->pub_rate, b));
    say("    refused (queue full) . %zu\n", r->refused);
    say("    handed to PUB ........ %zu\n", r->handed);
    say("    received ............. %zu\n", r->received);
    say("    received/s ........... %s\n", grouped(r->recv_rate, b));
    say("    loss ................. %.2f %%\n", r->loss_pct);
    if (r->duplicates)
        say("    duplicates ........... %zu\n", r->duplicates);
}

static json_t *bus_json(const bus_result *r)
{
    return json_pack("{s:I,s:I,s:f,s:f,s:I,s:I,s:I,s:f,s:f}", "events",
                     (json_int_t)r->count, "event_bytes",
                     (json_int_t)r->event_len, "paced_per_s", r->pace_per_s,
                     "published_per_s", r->pub_rate, "refused",
                     (json_int_t)r->refused, "handed_to_pub",
                     (json_int_t)r->handed, "received",
                     (json_int_t)r->received, "received_per_s", r->recv_rate,
                     "loss_pct", r->loss_pct);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_store [--quick] [--dir DIR] [--json] "
                    "[--store-only] [--writers 1,8,64] "
                    "[--modes wal,lmdb,nosync] [--count N] "
                    "[--checkpoint-ms N] [--wal-mib N] [--traces]\n");
}

/* Section 1. Returns the number of failed measurements. */
static int run_lmdb(const char *top, size_t div)
{
    int failures = 0;
    char b[32], path[PATH_MAX_LEN + 32];
    lmdb_result lr;
    say("\n[1] LMDB floor (1 KiB values, sequential keys, durable)\n");
    size_t count = 200000 / div;
    snprintf(path, sizeof(path), "%s/lmdb-batch", top);
    if (bench_lmdb(path, count, 1000, &lr) == 0) {
        say("  %zu puts, 1,000 per commit (%zu commits in %.2f s)\n", count,
            lr.commits, lr.secs);
        say("    puts/s ............... %s\n", grouped(lr.puts_per_s, b));
        json_object_set_new(summary, "lmdb_puts_per_s_batch1000",
                            json_real(lr.puts_per_s));
    } else {
        failures++;
    }
    remove_tree(path);
    count = 2000 / div;
    snprintf(path, sizeof(path), "%s/lmdb-single", top);
    if (bench_lmdb(path, count, 1, &lr) == 0) {
        say("  %zu puts, 1 per commit (%.2f s)\n", count, lr.secs);
        say("    durable commits/s .... %s\n", grouped(lr.puts_per_s, b));
        json_object_set_new(summary, "lmdb_commits_per_s",
                            json_real(lr.puts_per_s));
    } else {
        failures++;
    }
    remove_tree(path);
    return failures;
}

/* Section 2. */
static int run_store(const char *top, size_t div, unsigned writers_mask,
                     unsigned modes_mask, size_t fixed_count)
{
    int failures = 0;
    char b[32], path[PATH_MAX_LEN + 32];
    size_t rec_len;
    person p;
    person_init(&p, RECORD_LEN);
    free(lx_json_dump_canonical(p.rec, &rec_len));
    person_fini(&p);
    say("\n[2] canonical upserts (person records of %zu B, all creates, "
        "fresh store each)\n",
        rec_len);
    json_object_set_new(summary, "record_bytes",
                        json_integer((json_int_t)rec_len));
    store_result sr[WRITER_COUNTS][MODE_COUNT];
    memset(sr, 0, sizeof(sr));
    json_t *sj = json_array();
    int cfg = 0;
    for (int wi = 0; wi < WRITER_COUNTS; wi++) {
        if (!(writers_mask & (1u << wi)))
            continue;
        for (int m = 0; m < MODE_COUNT; m++) {
            if (!(modes_mask & (1u << m)))
                continue;
            int w = writer_counts[wi];
            /* One writer durable is one fsync'd commit per upsert (about
             * a thousand a second here); 64 writers get the most, so that
             * the store grows past 400 MiB and the indexes past the cache
             * of a small batch. */
            size_t count = (w == 1 ? (m == MODE_NOSYNC ? 20000 : 4000)
                            : w == 8 ? 40000
                                     : 100000) / div;
            if (fixed_count)
                count = fixed_count;
            snprintf(path, sizeof(path), "%s/store-%d-%s", top, w,
                     mode_keys[m]);
            if (bench_store(path, cfg++, w, m, count, &sr[wi][m]) != 0)
                failures++;
            print_store(&sr[wi][m]);
            json_array_append_new(sj, store_json(&sr[wi][m]));
            remove_tree(path);
        }
    }
    json_object_set_new(summary, "store", sj);
    say("  durable / NOSYNC (wal, lmdb)\n");
    json_t *ratios = json_object();
    double ratio = 0, rate = 0;
    int last = -1;
    for (int wi = 0; wi < WRITER_COUNTS; wi++) {
        if (!(writers_mask & (1u << wi)))
            continue;
        double ns = sr[wi][MODE_NOSYNC].rate;
        ratio = ns > 0 ? 100.0 * sr[wi][MODE_WAL].rate / ns : 0;
        double lratio = ns > 0 ? 100.0 * sr[wi][MODE_LMDB].rate / ns : 0;
        say("    %2d writer%s ........... %.1f %%, %.1f %%\n",
            writer_counts[wi], writer_counts[wi] == 1 ? " " : "s", ratio,
            lratio);
        char k[16];
        snprintf(k, sizeof(k), "%d", writer_counts[wi]);
        json_object_set_new(ratios, k, json_real(ratio));
        rate = sr[wi][MODE_WAL].rate;
        last = wi;
    }
    json_object_set_new(summary, "durable_over_nosync_pct", ratios);
    /* The targets, at the last (largest) writer count. */
    bool met_ratio = ratio >= 80.0, met_rate = rate >= 25000.0;
    say("  targets at %d writers (wal)\n", last >= 0 ? writer_counts[last] : 0);
    say("    durable >= 80%% of NOSYNC ..... %s (%.1f %%)\n",
        met_ratio ? "met" : "NOT MET", ratio);
    say("    durable >= 25,000 upserts/s .. %s (%s/s)\n",
        met_rate ? "met" : "NOT MET", grouped(rate, b));
    json_object_set_new(summary, "target_ratio_met", json_boolean(met_ratio));
    json_object_set_new(summary, "target_rate_met", json_boolean(met_rate));
    return failures;
}

/* Section 3. */
static int run_bus(size_t div)
{
    say("\n[3] bus PUB -> SUB on 127.0.0.1\n");
    lx_bus *bus = NULL;
    char pub_ep[64];
    if (open_bus(&bus, pub_ep) != 0)
        return 1;
    int failures = 0;
    bus_result flood, paced;
    /* More than the publish queue (65,536) and the PUB and SUB high-water
     * marks (100,000 each) can hold, so a slow SUB shows as loss. */
    size_t n = 300000 / div;
    json_t *bj = json_object();
    if (bench_bus(bus, pub_ep, n, 0, &flood) == 0) {
        print_bus("as fast as possible", &flood);
        json_object_set_new(bj, "flood", bus_json(&flood));
        /* Pace at half of what the SUB took in the flood, for 3 s (0.3 s
         * quick). */
        double pace = flood.recv_rate / 2;
        if (pace < 1000)
            pace = 1000;
        size_t pn = (size_t)(pace * 3.0 / (double)div);
        if (pn > n)
            pn = n;
        if (pn < 1000)
            pn = 1000;
        if (bench_bus(bus, pub_ep, pn, pace, &paced) == 0) {
            print_bus("paced", &paced);
            json_object_set_new(bj, "paced", bus_json(&paced));
        } else {
            failures++;
        }
    } else {
        failures++;
    }
    json_object_set_new(summary, "bus", bj);
    lx_bus_close(&bus);
    return failures;
}

int main(int argc, char **argv)
{
    bench_opts o = {.dir = "/tmp"};
    bool store_only = false;
    unsigned writers_mask = (1u << WRITER_COUNTS) - 1;
    unsigned modes_mask = (1u << MODE_COUNT) - 1;
    size_t fixed_count = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            o.quick = true;
        else if (strcmp(argv[i], "--json") == 0)
            o.json = true;
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            o.dir = argv[++i];
        else if (strcmp(argv[i], "--traces") == 0)
            opt_traces = true;
        else if (strcmp(argv[i], "--store-only") == 0)
            store_only = true;
        else if (strcmp(argv[i], "--writers") == 0 && i + 1 < argc) {
            /* a subset of 1,8,64 */
            writers_mask = 0;
            for (char *t = strtok(argv[++i], ","); t; t = strtok(NULL, ","))
                for (int wi = 0; wi < WRITER_COUNTS; wi++)
                    if (atoi(t) == writer_counts[wi])
                        writers_mask |= 1u << wi;
            if (!writers_mask) {
                usage();
                return 2;
            }
        }
        else if (strcmp(argv[i], "--modes") == 0 && i + 1 < argc) {
            modes_mask = 0;
            for (char *t = strtok(argv[++i], ","); t; t = strtok(NULL, ","))
                for (int m = 0; m < MODE_COUNT; m++)
                    if (strcmp(t, mode_keys[m]) == 0)
                        modes_mask |= 1u << m;
            if (!modes_mask) {
                usage();
                return 2;
            }
        } else if ((strcmp(argv[i], "--checkpoint-ms") == 0 ||
                    strcmp(argv[i], "--wal-mib") == 0) &&
                   i + 1 < argc) {
            char *end;
            unsigned long n = strtoul(argv[i + 1], &end, 10);
            if (*end || n == 0 || n > 100000) {
                usage();
                return 2;
            }
            if (argv[i][2] == 'c')
                opt_checkpoint_ms = (unsigned)n;
            else
                opt_wal_size = (size_t)n << 20;
            i++;
        } else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            char *end;
            unsigned long long n = strtoull(argv[++i], &end, 10);
            if (*end || n == 0 || n > 10000000) {
                usage();
                return 2;
            }
            fixed_count = (size_t)n;
        } else {
            usage();
            return 2;
        }
    }
    out_text = o.json ? stderr : stdout;
    lx_log_set_level(LX_LOG_WARN); /* map growth is not news here */
    size_t div = o.quick ? 10 : 1;

    char top[PATH_MAX_LEN];
    snprintf(top, sizeof(top), "%s/lx-bench-XXXXXX", o.dir);
    if (!mkdtemp(top)) {
        fprintf(stderr, "bench_store: cannot create a directory in '%s': %s\n",
                o.dir, strerror(errno));
        return 1;
    }
    summary = json_object();
    time_t wall = time(NULL);
    char date[64];
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %Z", localtime(&wall));
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    say("bench_store: %s run, %s, %ld CPUs, temp dir %s\n",
        o.quick ? "quick" : "full", date, cpus, top);
    json_object_set_new(summary, "quick", json_boolean(o.quick));
    json_object_set_new(summary, "date", json_string(date));
    json_object_set_new(summary, "cpus", json_integer(cpus));
    uint64_t t_all = now_ns();

    int failures = store_only ? 0 : run_lmdb(top, div);
    failures +=
        run_store(top, div, writers_mask, modes_mask, fixed_count);
    long rss_store = peak_rss_kib();
    if (!store_only)
        failures += run_bus(div);
    long rss_end = peak_rss_kib();
    remove_tree(top);

    say("\n[4] memory\n");
    say("    peak RSS after [2] ... %ld MiB\n", rss_store / 1024);
    say("    peak RSS at the end .. %ld MiB\n", rss_end / 1024);
    json_object_set_new(summary, "peak_rss_kib_store",
                        json_integer(rss_store));
    json_object_set_new(summary, "peak_rss_kib", json_integer(rss_end));

    double total = secs(now_ns() - t_all);
    say("\ntotal %.1f s, %s\n", total, failures ? "WITH FAILURES" : "ok");
    json_object_set_new(summary, "seconds", json_real(total));
    json_object_set_new(summary, "failures", json_integer(failures));
    if (o.json) {
        char *text = json_dumps(summary, JSON_COMPACT);
        printf("%s\n", text);
        free(text);
    }
    json_decref(summary);
    return failures ? 1 : 0;
}
