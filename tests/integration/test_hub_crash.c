/* tests/integration/test_hub_crash.c: no acknowledged ingest is ever lost,
 * and retries never duplicate anything, while the hub is killed with
 * SIGKILL again and again (docs/bus.md: "The OK reply is sent only after
 * the change is durable on disk"; "send the same request again: ingest is
 * idempotent for the same content").
 *
 * Four client threads ingest over DEALER: mostly new persons (unique
 * native ids), sometimes an update of one of their own persons. Each
 * request is retried with the same content until it is acknowledged; a
 * try is abandoned after 2 s without a reply, or sooner when the hub was
 * restarted since it was sent. Meanwhile the main thread runs rounds of:
 * start the hub, let the clients run 100-600 ms, kill -9 (every fifth
 * round stops it with SIGTERM instead, which must exit 0; every fourth
 * round also kills a hub that is still starting). At the end the clients
 * finish their pending request, the hub is stopped with SIGTERM, and the
 * store, opened read-only, must hold exactly what was acknowledged:
 *   - every acknowledged record, with its last acknowledged content and
 *     version, found through its cross-reference;
 *   - an event log 1..N without a gap; every acknowledged seq in it, with
 *     the acknowledged canonical id and version;
 *   - one canonical record per native id (as many `created` events as
 *     native ids), versions 1..k per record with no duplicate.
 * LXT_CRASH_ROUNDS (default 15) and LXT_SEED override the defaults. */
#include "tests/integration/harness.h"

#include "canonical/store.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 4
#define TRY_TIMEOUT_MS 2000
#define RESTART_GRACE_MS 100
#define RECS_MAX 50000

enum { PHASE_RUN = 0, PHASE_FINISH = 1, PHASE_ABORT = 2 };

static lxt_hub hub;
static atomic_int phase;
static atomic_int epoch; /* hub starts so far */

typedef struct rec {
    char nid[32];
    json_t *acked; /* last acknowledged content; NULL until the first ack */
    char canonical_id[64];
    json_int_t version;
    int variant;
} rec;

typedef struct ack {
    json_int_t seq, version;
    int rec;
} ack;

typedef struct worker {
    int index;
    pthread_t thread;
    unsigned seed;
    atomic_int done;
    rec *recs;
    int nrecs, cap;
    ack *acks;
    int nacks, acks_cap;
    int tries, timeouts, early_retries, unchanged, updates, closed;
    char failure[512];
    lxt_client *client;
} worker;

static worker workers[THREADS];

static int T(int ms)
{
    return ms * lxt_scale();
}

static unsigned rnd(unsigned *seed)
{
    /* xorshift32: deterministic per seed, thread-local state. */
    unsigned x = *seed;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *seed = x ? x : 0x9e3779b9u;
}

static json_t *content(const rec *r, int variant)
{
    char given[32], date[16];
    snprintf(given, sizeof(given), "V%d", variant);
    snprintf(date, sizeof(date), "19%02d-%02d-%02d", variant % 100,
             1 + variant % 12, 1 + variant % 28);
    return json_pack("{s:[{s:s,s:s}],s:{s:s,s:[s]},s:s,s:s}", "identifiers",
                     "system", "urn:example:crash", "value", r->nid, "name",
                     "family", r->nid, "given", given, "birth_date", date,
                     "gender", variant % 2 ? "female" : "male");
}

static void worker_fail(worker *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void worker_fail(worker *w, const char *fmt, ...)
{
    if (w->failure[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->failure, sizeof(w->failure), fmt, ap);
    va_end(ap);
}

/* One try: send, then wait for the reply with this rid. Returns 0 with
 * status and body, or -1 when the try is abandoned. */
static int try_once(worker *w, const char *body, size_t len, char status[16],
                    json_t **reply)
{
    *reply = NULL;
    char rid[64];
    lxt_client_rid(w->client, rid);
    const char *frames[3] = {"INGEST", rid, body};
    size_t lens[3] = {6, strlen(rid), len};
    w->tries++;
    int sent_epoch = atomic_load(&epoch);
    if (lxt_client_send(w->client, 3, frames, lens) != 0)
        return -1;
    uint64_t start = lxt_now_ms(), restarted_at = 0;
    for (int guard = 0; guard < 10000; guard++) {
        uint64_t now = lxt_now_ms();
        if (now - start >= TRY_TIMEOUT_MS) {
            w->timeouts++;
            return -1;
        }
        /* The hub that got the request may be dead: do not wait the whole
         * timeout once another one has been up for a while. */
        if (atomic_load(&epoch) != sent_epoch) {
            if (!restarted_at)
                restarted_at = now;
            else if (now - restarted_at >= RESTART_GRACE_MS) {
                w->early_retries++;
                return -1;
            }
        }
        if (atomic_load(&phase) == PHASE_ABORT)
            return -1;
        lxt_msg m;
        if (lxt_client_recv(w->client, 100, &m) != 0)
            continue;
        if (m.count == 3 && strcmp(m.data[1], rid) == 0) {
            snprintf(status, 16, "%s", m.data[0]);
            *reply = json_loadb(m.data[2], m.len[2], 0, NULL);
            lxt_msg_fini(&m);
            return 0;
        }
        lxt_msg_fini(&m); /* a late answer to an abandoned try */
    }
    return -1;
}

static void add_ack(worker *w, int r, json_int_t seq, json_int_t version)
{
    if (w->nacks == w->acks_cap) {
        w->acks_cap = w->acks_cap ? 2 * w->acks_cap : 256;
        w->acks = realloc(w->acks, (size_t)w->acks_cap * sizeof(*w->acks));
        LXT_CHECK(w->acks != NULL, "out of memory");
    }
    w->acks[w->nacks++] = (ack){seq, version, r};
}

/* Check an OK reply against what the client knows, and record it. */
static void on_ok(worker *w, int ri, json_t *content_sent, const json_t *reply)
{
    rec *r = &w->recs[ri];
    json_t *cid = json_object_get(reply, "canonical_id");
    json_t *ver = json_object_get(reply, "version");
    json_t *seq = json_object_get(reply, "seq");
    json_t *cr = json_object_get(reply, "created");
    json_t *un = json_object_get(reply, "unchanged");
    if (!json_is_string(cid) || !json_is_integer(ver) ||
        !json_is_integer(seq) || !json_is_boolean(cr) ||
        !json_is_boolean(un) ||
        strncmp(json_string_value(cid), "per_", 4) != 0) {
        char *t = lxt_jdump(reply);
        worker_fail(w, "%s: malformed OK body %s", r->nid, t);
        free(t);
        return;
    }
    const char *id = json_string_value(cid);
    json_int_t v = json_integer_value(ver), s = json_integer_value(seq);
    bool created = json_is_true(cr), unchanged = json_is_true(un);
    json_int_t want_v = r->acked ? r->version + 1 : 1;
    char *t = lxt_jdump(reply);
    if (r->acked && strcmp(id, r->canonical_id) != 0)
        worker_fail(w, "%s: acknowledged as %s, earlier as %s", r->nid, id,
                    r->canonical_id);
    else if (r->acked && created)
        worker_fail(w, "%s: created again: %s", r->nid, t);
    else if (unchanged && (s != 0 || created))
        worker_fail(w, "%s: unchanged with seq or created: %s", r->nid, t);
    else if (!unchanged && s <= 0)
        worker_fail(w, "%s: a change without seq: %s", r->nid, t);
    else if (v != want_v)
        /* Unchanged too: the earlier try that was lost made this very
         * version, so the version is the next one all the same. */
        worker_fail(w, "%s: version %lld, expected %lld: %s", r->nid,
                    (long long)v, (long long)want_v, t);
    free(t);
    if (unchanged)
        w->unchanged++;
    snprintf(r->canonical_id, sizeof(r->canonical_id), "%s", id);
    r->version = v;
    json_decref(r->acked);
    r->acked = json_incref(content_sent);
    add_ack(w, ri, s, v);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    w->client = lxt_client_new(hub.router);
    int pending = -1;       /* rec index of the request not yet acked */
    json_t *pending_content = NULL;
    char *pending_body = NULL;
    for (int guard = 0; guard < 1000000 && !w->failure[0]; guard++) {
        int ph = atomic_load(&phase);
        if (ph == PHASE_ABORT || (ph == PHASE_FINISH && pending < 0))
            break;
        if (pending < 0) {
            bool update = w->nrecs > 0 && (rnd(&w->seed) % 4 == 0 ||
                                           w->nrecs >= RECS_MAX);
            if (update) {
                pending = (int)(rnd(&w->seed) % (unsigned)w->nrecs);
                w->updates++;
            } else {
                if (w->nrecs == w->cap) {
                    w->cap = w->cap ? 2 * w->cap : 256;
                    w->recs = realloc(w->recs, (size_t)w->cap *
                                                   sizeof(*w->recs));
                    LXT_CHECK(w->recs != NULL, "out of memory");
                }
                pending = w->nrecs++;
                rec *r = &w->recs[pending];
                memset(r, 0, sizeof(*r));
                snprintf(r->nid, sizeof(r->nid), "W%d-%d", w->index, pending);
            }
            rec *r = &w->recs[pending];
            r->variant++;
            pending_content = content(r, r->variant);
            json_t *b = json_pack("{s:s,s:s,s:s,s:s,s:s,s:O}", "entity",
                                  "person", "system", "crash", "adapter",
                                  "crash-in", "native_type", "Employee",
                                  "native_id", r->nid, "record",
                                  pending_content);
            pending_body = json_dumps(b, JSON_COMPACT);
            json_decref(b);
        }
        char status[16];
        json_t *reply = NULL;
        if (try_once(w, pending_body, strlen(pending_body), status, &reply) !=
            0)
            continue; /* retry the same content */
        if (strcmp(status, "OK") == 0) {
            on_ok(w, pending, pending_content, reply);
            json_decref(pending_content);
            free(pending_body);
            pending_content = NULL;
            pending_body = NULL;
            pending = -1;
        } else if (json_is_string(json_object_get(reply, "code")) &&
                   strcmp(json_string_value(json_object_get(reply, "code")),
                          "LX_ECLOSED") == 0) {
            w->closed++; /* SIGTERM: the hub is shutting down; retry */
        } else {
            char *t = lxt_jdump(reply);
            worker_fail(w, "%s: %s %s", w->recs[pending].nid, status, t);
            free(t);
        }
        json_decref(reply);
    }
    if (pending >= 0 && !w->failure[0] && atomic_load(&phase) != PHASE_ABORT)
        worker_fail(w, "gave up with a request pending");
    json_decref(pending_content);
    free(pending_body);
    lxt_client_destroy(&w->client);
    atomic_store(&w->done, 1);
    return NULL;
}

/* ---- verification on the store ---- */

typedef struct event_row {
    json_int_t seq, version;
    char canonical_id[64];
    char native_id[32];
    bool created;
    json_t *record;
} event_row;

typedef struct scan {
    event_row *rows;
    size_t count, cap;
    json_int_t expect;
    char failure[256];
} scan;

static int on_event(void *ctx, uint64_t seq, const char *event, size_t len)
{
    scan *sc = ctx;
    if ((json_int_t)seq != sc->expect) {
        snprintf(sc->failure, sizeof(sc->failure),
                 "event log: seq %llu where %lld was expected (a gap)",
                 (unsigned long long)seq, (long long)sc->expect);
        return 1;
    }
    sc->expect++;
    json_t *e = json_loadb(event, len, 0, NULL);
    json_t *o = json_object_get(e, "origin");
    if (!e || lxt_jint(e, "seq", "event") != (json_int_t)seq) {
        snprintf(sc->failure, sizeof(sc->failure),
                 "event %llu: bad JSON or seq", (unsigned long long)seq);
        json_decref(e);
        return 1;
    }
    if (sc->count == sc->cap) {
        sc->cap = sc->cap ? 2 * sc->cap : 1024;
        sc->rows = realloc(sc->rows, sc->cap * sizeof(*sc->rows));
        LXT_CHECK(sc->rows != NULL, "out of memory");
    }
    event_row *row = &sc->rows[sc->count++];
    memset(row, 0, sizeof(*row));
    row->seq = (json_int_t)seq;
    row->version = lxt_jint(e, "version", "event");
    snprintf(row->canonical_id, sizeof(row->canonical_id), "%s",
             lxt_jstr(e, "canonical_id", "event"));
    snprintf(row->native_id, sizeof(row->native_id), "%s",
             lxt_jstr(o, "native_id", "event origin"));
    const char *type = lxt_jstr(e, "type", "event");
    row->created = strcmp(type, "person.created") == 0;
    if (!row->created && strcmp(type, "person.updated") != 0)
        snprintf(sc->failure, sizeof(sc->failure), "event %llu: type %s",
                 (unsigned long long)seq, type);
    row->record = json_incref(json_object_get(e, "record"));
    json_decref(e);
    return sc->failure[0] ? 1 : 0;
}

static int by_record(const void *a, const void *b)
{
    const event_row *x = a, *y = b;
    int c = strcmp(x->canonical_id, y->canonical_id);
    if (c)
        return c;
    return x->version < y->version ? -1 : x->version > y->version;
}

static int by_native(const void *a, const void *b)
{
    const event_row *const *x = a, *const *y = b;
    return strcmp((*x)->native_id, (*y)->native_id);
}

static void verify(const char *data_dir, long *events_out, long *acked_out)
{
    lx_store_options o = {.dir = data_dir, .read_only = true};
    lx_store *s = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (lx_store_open(&o, &s, &err) != 0)
        LXT_FAIL("cannot open the store read-only: %s", err.msg);

    /* The log: 1..N, no gap. */
    scan sc = {NULL, 0, 0, 1, ""};
    uint64_t next = 0;
    if (lx_store_events(s, 1, 0, on_event, &sc, &next, &err) != 0)
        LXT_FAIL("reading the event log: %s", err.msg);
    if (sc.failure[0])
        LXT_FAIL("%s", sc.failure);
    json_int_t n = (json_int_t)sc.count;
    LXT_CHECK((json_int_t)lx_store_last_seq(s) == n,
              "last_seq %llu but %lld events read",
              (unsigned long long)lx_store_last_seq(s), (long long)n);

    /* Every acknowledged seq is in the log with its record and version. */
    long acked = 0, records = 0;
    for (int t = 0; t < THREADS; t++) {
        worker *w = &workers[t];
        for (int i = 0; i < w->nacks; i++) {
            ack *a = &w->acks[i];
            rec *r = &w->recs[a->rec];
            acked++;
            if (a->seq == 0)
                continue;
            LXT_CHECK(a->seq >= 1 && a->seq <= n,
                      "%s: acknowledged seq %lld is not in the log (1..%lld)",
                      r->nid, (long long)a->seq, (long long)n);
            event_row *row = &sc.rows[a->seq - 1];
            LXT_CHECK(strcmp(row->canonical_id, r->canonical_id) == 0 &&
                          row->version == a->version &&
                          strcmp(row->native_id, r->nid) == 0,
                      "%s: acknowledged seq %lld (version %lld) but the "
                      "event there is %s version %lld for %s",
                      r->nid, (long long)a->seq, (long long)a->version,
                      row->canonical_id, (long long)row->version,
                      row->native_id);
        }
    }

    /* Per canonical record: versions 1..k, one created event (version 1),
     * one native id; the last event's record is the current one. */
    qsort(sc.rows, sc.count, sizeof(*sc.rows), by_record);
    event_row **firsts = calloc(sc.count + 1, sizeof(*firsts));
    LXT_CHECK(firsts != NULL, "out of memory");
    size_t groups = 0, created = 0;
    for (size_t i = 0; i < sc.count; i++) {
        event_row *row = &sc.rows[i];
        bool first = i == 0 ||
                     strcmp(sc.rows[i - 1].canonical_id, row->canonical_id);
        json_int_t want = first ? 1 : sc.rows[i - 1].version + 1;
        LXT_CHECK(row->version == want,
                  "%s: event seq %lld has version %lld, expected %lld "
                  "(a duplicate or missing version)",
                  row->canonical_id, (long long)row->seq,
                  (long long)row->version, (long long)want);
        LXT_CHECK(row->created == (row->version == 1),
                  "%s version %lld: type %s", row->canonical_id,
                  (long long)row->version,
                  row->created ? "created" : "updated");
        if (!first)
            LXT_CHECK(strcmp(sc.rows[i - 1].native_id, row->native_id) == 0,
                      "%s: events from native ids %s and %s",
                      row->canonical_id, sc.rows[i - 1].native_id,
                      row->native_id);
        if (first)
            firsts[groups++] = row;
        created += row->created;
    }
    qsort(firsts, groups, sizeof(*firsts), by_native);
    for (size_t i = 1; i < groups; i++)
        LXT_CHECK(strcmp(firsts[i - 1]->native_id, firsts[i]->native_id),
                  "native id %s was created twice: %s and %s",
                  firsts[i]->native_id, firsts[i - 1]->canonical_id,
                  firsts[i]->canonical_id);

    /* Every acknowledged record: its xref, content, version, history. */
    for (int t = 0; t < THREADS; t++) {
        worker *w = &workers[t];
        for (int i = 0; i < w->nrecs; i++) {
            rec *r = &w->recs[i];
            LXT_CHECK(r->acked != NULL, "%s: never acknowledged", r->nid);
            records++;
            char entity[LX_STORE_NAME_MAX + 1], id[LX_STORE_ID_SIZE];
            if (lx_store_xref_find(s, "crash", "Employee", r->nid, entity, id,
                                   &err) != 0)
                LXT_FAIL("%s: acknowledged but no cross-reference: %s",
                         r->nid, err.msg);
            LXT_CHECK(strcmp(entity, "person") == 0 &&
                          strcmp(id, r->canonical_id) == 0,
                      "%s: xref to %s/%s, acknowledged as %s", r->nid,
                      entity, id, r->canonical_id);
            json_t *cur = NULL;
            lx_record_meta meta;
            if (lx_store_get(s, "person", id, &cur, &meta, &err) != 0)
                LXT_FAIL("%s: acknowledged record %s is missing: %s", r->nid,
                         id, err.msg);
            char *a = lxt_jdump(cur), *b = lxt_jdump(r->acked);
            LXT_CHECK(json_equal(cur, r->acked),
                      "%s: content differs from the last acknowledged one:"
                      "\n store %s\n acked %s", r->nid, a, b);
            free(a);
            free(b);
            LXT_CHECK((json_int_t)meta.version == r->version && !meta.deleted,
                      "%s: version %llu, acknowledged %lld", r->nid,
                      (unsigned long long)meta.version, (long long)r->version);
            json_t *h = NULL;
            if (lx_store_history(s, "person", id, &h, &err) != 0)
                LXT_FAIL("%s: no history: %s", r->nid, err.msg);
            LXT_CHECK((json_int_t)json_array_size(h) == r->version,
                      "%s: %zu versions in history, current is %lld", r->nid,
                      json_array_size(h), (long long)r->version);
            json_decref(h);
            json_decref(cur);
        }
    }
    LXT_CHECK((long)groups == records && (long)created == records,
              "%ld native ids, but %zu canonical records in the log and %zu "
              "created events", records, groups, created);
    lx_store_stats st;
    LXT_CHECK(lx_store_stats_get(s, &st, &err) == 0, "stats: %s", err.msg);
    LXT_CHECK((long)st.records == records,
              "the store has %llu records for %ld native ids",
              (unsigned long long)st.records, records);
    LXT_CHECK((json_int_t)st.events == n, "stats.events %llu, log %lld",
              (unsigned long long)st.events, (long long)n);
    /* The current content is the one of each record's last event. */
    for (size_t i = 0; i < sc.count; i++) {
        bool last = i + 1 == sc.count ||
                    strcmp(sc.rows[i + 1].canonical_id,
                           sc.rows[i].canonical_id);
        if (!last)
            continue;
        json_t *cur = NULL;
        LXT_CHECK(lx_store_get(s, "person", sc.rows[i].canonical_id, &cur,
                               NULL, &err) == 0, "get: %s", err.msg);
        LXT_CHECK(json_equal(cur, sc.rows[i].record),
                  "%s: the last event's record is not the current one",
                  sc.rows[i].canonical_id);
        json_decref(cur);
    }
    for (size_t i = 0; i < sc.count; i++)
        json_decref(sc.rows[i].record);
    free(sc.rows);
    free(firsts);
    lx_store_close(&s);
    *events_out = (long)n;
    *acked_out = acked;
}

static void start_hub(void)
{
    lxt_hub_start(&hub, T(20000), hub.starts == 0);
    atomic_fetch_add(&epoch, 1);
}

static void kill_hub(const char *when)
{
    int st = lxt_hub_stop(&hub, SIGKILL, T(5000));
    LXT_CHECK(st != -2, "%s: no hub to kill", when);
    /* A hub that died by itself before the kill is a failure. */
    LXT_CHECK(st == -1 || (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL),
              "%s: the hub had already exited (status 0x%x)", when,
              (unsigned)st);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm((unsigned)(200 * lxt_scale()));
    uint64_t t0 = lxt_now_ms();
    const char *v = getenv("LXT_CRASH_ROUNDS");
    int rounds = v && *v ? (int)strtol(v, NULL, 10) : 15;
    if (rounds < 1 || rounds > 200)
        rounds = 15;
    v = getenv("LXT_SEED");
    unsigned seed = v && *v ? (unsigned)strtoul(v, NULL, 10)
                            : (unsigned)(lxt_now_ms() ^ (uint64_t)getpid());
    if (!seed)
        seed = 1;
    printf("test_hub_crash: %d rounds, seed %u (LXT_SEED to repeat)\n",
           rounds, seed);

    lxt_hub_init(&hub, NULL);
    start_hub();
    printf("   hub router %s, dir %s\n", hub.router, hub.root);
    for (int t = 0; t < THREADS; t++) {
        workers[t].index = t;
        workers[t].seed = seed * 2654435761u + (unsigned)t + 1;
        if (pthread_create(&workers[t].thread, NULL, worker_main,
                           &workers[t]) != 0)
            LXT_FAIL("pthread_create");
    }

    unsigned mseed = seed;
    int early_kills = 0, graceful = 0;
    for (int r = 0; r < rounds; r++) {
        int start_ms = 0;
        if (r > 0) {
            if (r % 4 == 3) {
                /* Kill a hub that is still opening its store or binding. */
                lxt_hub_spawn(&hub);
                atomic_fetch_add(&epoch, 1);
                lxt_sleep_ms((int)(rnd(&mseed) % 80));
                kill_hub("early kill");
                early_kills++;
            }
            uint64_t ts = lxt_now_ms();
            start_hub();
            start_ms = (int)(lxt_now_ms() - ts);
        }
        int run_ms = 100 + (int)(rnd(&mseed) % 501);
        lxt_sleep_ms(run_ms);
        long acked = 0;
        for (int t = 0; t < THREADS; t++)
            acked += workers[t].nacks;
        printf("   round %2d: up in %4d ms, ran %3d ms, %6ld acknowledged so "
               "far, then %s\n", r + 1, start_ms, run_ms, acked,
               r % 5 == 4 ? "SIGTERM" : "kill -9");
        if (r % 5 == 4) {
            /* A clean stop under load: queued writes are committed and
             * answered, then the hub exits 0. */
            int st = lxt_hub_stop(&hub, SIGTERM, T(10000));
            if (st < 0)
                LXT_SOFT_FAIL("round %d: the hub did not exit within %d ms "
                              "of SIGTERM", r + 1, T(10000));
            else if (WIFSIGNALED(st))
                LXT_SOFT_FAIL("round %d: SIGTERM under load: the hub died of "
                              "signal %d", r + 1, WTERMSIG(st));
            else if (WEXITSTATUS(st) != 0)
                LXT_SOFT_FAIL("round %d: SIGTERM under load: exit code %d",
                              r + 1, WEXITSTATUS(st));
            if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                lxt_hub_dump_log(&hub, 4096);
            graceful++;
        } else {
            kill_hub("round");
        }
        for (int t = 0; t < THREADS; t++)
            if (workers[t].failure[0])
                LXT_FAIL("client %d: %s", t, workers[t].failure);
    }

    /* Last start: the clients finish what they have pending. */
    start_hub();
    atomic_store(&phase, PHASE_FINISH);
    uint64_t deadline = lxt_now_ms() + (uint64_t)T(30000);
    for (int t = 0; t < THREADS; t++)
        while (!atomic_load(&workers[t].done) && lxt_now_ms() < deadline)
            lxt_sleep_ms(20);
    bool all_done = true;
    for (int t = 0; t < THREADS; t++)
        all_done = all_done && atomic_load(&workers[t].done);
    if (!all_done) {
        atomic_store(&phase, PHASE_ABORT);
        uint64_t d2 = lxt_now_ms() + (uint64_t)T(10000);
        for (int t = 0; t < THREADS; t++)
            while (!atomic_load(&workers[t].done) && lxt_now_ms() < d2)
                lxt_sleep_ms(20);
    }
    for (int t = 0; t < THREADS; t++) {
        if (!atomic_load(&workers[t].done))
            LXT_FAIL("client %d does not stop", t);
        pthread_join(workers[t].thread, NULL);
    }
    LXT_CHECK(all_done, "the clients did not finish within %d ms", T(30000));
    long tries = 0, timeouts = 0, early = 0, unchanged = 0, nrecs = 0;
    long closed = 0;
    for (int t = 0; t < THREADS; t++) {
        worker *w = &workers[t];
        if (w->failure[0])
            LXT_FAIL("client %d: %s", t, w->failure);
        tries += w->tries;
        timeouts += w->timeouts;
        early += w->early_retries;
        unchanged += w->unchanged;
        nrecs += w->nrecs;
        closed += w->closed;
    }

    /* The hub agrees with itself before it stops. */
    lxt_client *c = lxt_client_new(hub.router);
    json_t *b = json_object(), *st = NULL;
    char status[16];
    LXT_CHECK(lxt_call(c, "STATUS", b, T(5000), status, &st) == 0 &&
                  strcmp(status, "OK") == 0, "STATUS after the rounds");
    json_int_t last_seq = lxt_jint(st, "last_seq", "STATUS");
    json_decref(st);
    json_decref(b);
    json_t *evs = json_array(), *end = NULL;
    json_int_t from = 1;
    for (int page = 0; page < 1000; page++) {
        size_t before = json_array_size(evs);
        LXT_CHECK(lxt_replay(c, (uint64_t)from, 10000, T(20000), evs, &end) ==
                      0, "REPLAY from %lld", (long long)from);
        from = lxt_jint(end, "next", "END");
        json_int_t ls = lxt_jint(end, "last_seq", "END");
        json_decref(end);
        if (from > ls || json_array_size(evs) == before)
            break;
    }
    LXT_CHECK((json_int_t)json_array_size(evs) == last_seq,
              "REPLAY returned %zu events, STATUS says last_seq %lld",
              json_array_size(evs), (long long)last_seq);
    for (size_t i = 0; i < json_array_size(evs); i++)
        LXT_CHECK(lxt_jint(json_array_get(evs, i), "seq", "replay") ==
                      (json_int_t)i + 1, "REPLAY order at %zu", i + 1);
    json_decref(evs);
    lxt_client_destroy(&c);

    int ws = lxt_hub_stop(&hub, SIGTERM, T(10000));
    LXT_CHECK(ws >= 0 && WIFEXITED(ws) && WEXITSTATUS(ws) == 0,
              "SIGTERM: the hub's exit status is 0x%x", (unsigned)ws);

    long events = 0, acked = 0;
    verify(hub.data_dir, &events, &acked);

    /* The CLI reads the same log. */
    const char *argv[] = {lxt_env_path("LX_LINGUA"), "events", "--from", "1",
                          "--data-dir", hub.data_dir, NULL};
    char *out = NULL, *err = NULL;
    int code = lxt_run(argv, T(30000), &out, &err, (size_t)256 << 20);
    LXT_CHECK(code == 0, "lingua events: exit %d: %s", code, err);
    long lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    LXT_CHECK(lines == events, "lingua events printed %ld lines for %ld "
                               "events", lines, events);
    free(out);
    free(err);
    LXT_CHECK(events == last_seq, "the store has %ld events, the hub said "
                                  "%lld", events, (long long)last_seq);

    for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < workers[t].nrecs; i++)
            json_decref(workers[t].recs[i].acked);
        free(workers[t].recs);
        free(workers[t].acks);
    }
    lxt_hub_check_log(&hub);
    lxt_hub_destroy(&hub);
    printf("%s test_hub_crash: %d rounds (%d SIGTERM, %d early kills), %d "
           "hub starts, %ld native ids, %ld acknowledged ingests (%ld "
           "unchanged on retry), %ld events, %ld tries (%ld timed out, %ld "
           "retried after a restart, %ld refused while closing), seed %u, "
           "%llu ms\n",
           lxt_soft_failures() ? "DONE" : "PASS", rounds, graceful,
           early_kills, hub.starts, nrecs, acked, unchanged,
           events, tries, timeouts, early, closed, seed,
           (unsigned long long)(lxt_now_ms() - t0));
    if (lxt_soft_failures() > 0) {
        fprintf(stderr, "FAIL test_hub_crash: the data is intact, but %d "
                        "check(s) failed (see above)\n", lxt_soft_failures());
        return 1;
    }
    return 0;
}
