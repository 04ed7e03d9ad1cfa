/* Unit tests of the delivery engine with several calls in flight
 * (adapters/delivery/delivery.h, "Concurrency"): a real store in a temp
 * dir, a loopback target (one thread per connection) that answers after a
 * random delay and sometimes with 503, a minimal adapter that sends
 * PUT /<record>/<version>. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "adapters/delivery/delivery.h"
#include "core/http_server.h"
#include "core/json.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RECORDS 5
#define VERSIONS 20

/* What the target saw, per record: the versions it accepted in arrival
 * order, and whether two calls for one record ever overlapped. */
typedef struct target {
    pthread_mutex_t mu;
    unsigned seed;
    int fail_percent;        /* answers 503 this often */
    int max_delay_us;
    int hold_record;         /* this record's calls wait until released */
    bool released;
    int accepted[RECORDS + 1][VERSIONS + 1];
    int order[RECORDS + 1][VERSIONS * 4];
    int order_len[RECORDS + 1];
    bool busy[RECORDS + 1];
    int overlaps, in_flight, max_in_flight, unavailable;
} target;

static void serve(void *ctx, const lx_http_request *req,
                  lx_http_response *resp)
{
    target *t = ctx;
    int r = 0, v = 0;
    const char *p = lx_http_path(req);
    if (sscanf(p, "/r%d/v%d", &r, &v) != 2 || r < 1 || r > RECORDS ||
        v < 1 || v > VERSIONS) {
        lx_http_response_set(resp, 400, "text/plain", "bad path", 8);
        return;
    }
    pthread_mutex_lock(&t->mu);
    if (t->busy[r])
        t->overlaps++;
    t->busy[r] = true;
    if (++t->in_flight > t->max_in_flight)
        t->max_in_flight = t->in_flight;
    int delay = t->max_delay_us ? rand_r(&t->seed) % t->max_delay_us : 0;
    bool fail = rand_r(&t->seed) % 100 < t->fail_percent;
    pthread_mutex_unlock(&t->mu);
    for (int i = 0; r == t->hold_record && i < 5000; i++) {
        pthread_mutex_lock(&t->mu);
        bool go = t->released;
        pthread_mutex_unlock(&t->mu);
        if (go)
            break;
        usleep(1000);
    }
    usleep((useconds_t)delay);
    pthread_mutex_lock(&t->mu);
    t->busy[r] = false;
    t->in_flight--;
    if (fail) {
        t->unavailable++;
    } else {
        t->accepted[r][v]++;
        if (t->order_len[r] < VERSIONS * 4)
            t->order[r][t->order_len[r]++] = v;
    }
    pthread_mutex_unlock(&t->mu);
    if (fail)
        lx_http_response_set(resp, 503, "text/plain", "later", 5);
    else
        lx_http_response_set(resp, 200, "application/json", "{}", 2);
}

typedef struct adapter {
    unsigned port;
} adapter;

/* The record's family is "r<n>", its note "v<k>". */
static int prepare(void *ctx, lx_store *store, const json_t *ev,
                   lx_outbound_call *call, bool *skip, lx_error *err)
{
    (void)store;
    (void)skip;
    (void)err;
    adapter *a = ctx;
    const json_t *rec = json_object_get(ev, "record");
    snprintf(call->url, sizeof(call->url), "http://127.0.0.1:%u/%s/%s",
             a->port, lx_json_str(json_object_get(rec, "name"), "family"),
             lx_json_str(rec, "note"));
    call->body = json_dumps(rec, JSON_COMPACT);
    call->http.method = "PUT";
    call->http.url = call->url;
    call->http.body = call->body;
    call->http.body_len = strlen(call->body);
    return 0;
}

typedef struct fixture {
    char dir[64];
    lx_store *store;
    target t;
    lx_http_server *srv;
    adapter a;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/lx-test-dorder-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    lx_store_options o = {.dir = f->dir, .no_sync = true};
    assert_int_equal(lx_store_open(&o, &f->store, NULL), 0);
    pthread_mutex_init(&f->t.mu, NULL);
    f->t.seed = 42;
    lx_http_server_options ho = {.listen = "127.0.0.1:0"};
    assert_int_equal(lx_http_server_start(&ho, serve, &f->t, &f->srv, NULL),
                     0);
    f->a.port = lx_http_server_port(f->srv);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    lx_http_server_stop(&f->srv);
    lx_store_close(&f->store);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
    pthread_mutex_destroy(&f->t.mu);
    free(f);
    return 0;
}

/* Version v of record r; returns the event's sequence. */
static uint64_t put(fixture *f, int r, int v)
{
    char nid[16], family[16], note[16];
    snprintf(nid, sizeof(nid), "%d", r);
    snprintf(family, sizeof(family), "r%d", r);
    snprintf(note, sizeof(note), "v%d", v);
    json_t *rec = json_pack("{s:[{s:s,s:s}],s:{s:s},s:s}", "identifiers",
                            "system", "urn:x", "value", nid, "name", "family",
                            family, "note", note);
    lx_upsert u = {.entity = "person", .system = "hr", .native_id = nid,
                   .record = rec};
    lx_upsert_result res;
    assert_int_equal(lx_store_upsert(f->store, &u, &res), 0);
    json_decref(rec);
    return lx_store_last_seq(f->store);
}

static lx_delivery *start(fixture *f, unsigned concurrency)
{
    lx_delivery_options o = {.instance = "ord-out", .system = "ehr",
                             .backoff_base_ms = 5, .backoff_max_ms = 20,
                             .cursor_interval_ms = 10, .max_attempts = 1000,
                             .concurrency = concurrency};
    lx_outbound_ops ops = {.prepare = prepare, .ctx = &f->a};
    lx_delivery *d = NULL;
    assert_int_equal(lx_delivery_start(f->store, &o, &ops, &d, NULL), 0);
    return d;
}

static void wait_cursor(lx_delivery *d, uint64_t seq)
{
    lx_delivery_stats st;
    for (int i = 0; i < 3000; i++) {
        lx_delivery_stats_get(d, &st);
        if (st.cursor >= seq)
            return;
        usleep(10000);
    }
    fail_msg("delivery stuck at %llu, wanted %llu",
             (unsigned long long)st.cursor, (unsigned long long)seq);
}

/* Versions 1..VERSIONS of RECORDS records, interleaved in the log (v1 of
 * every record, then v2 ...), delivered with more calls allowed at once
 * than there are records; the target answers after 0-3 ms and one call in
 * ten with 503. Every version arrives exactly once, in increasing order
 * per record, calls of one record never overlap (so at most RECORDS are
 * in flight), and several records are in flight at once. */
static void test_delivery_keeps_order_per_record_with_concurrency(
    void **state)
{
    fixture *f = *state;
    f->t.max_delay_us = 3000;
    f->t.fail_percent = 10;
    uint64_t last = 0;
    for (int v = 1; v <= VERSIONS; v++)
        for (int r = 1; r <= RECORDS; r++)
            last = put(f, r, v);
    assert_int_equal(last, RECORDS * VERSIONS);
    lx_delivery *d = start(f, 8);
    wait_cursor(d, last);
    lx_delivery_stats st;
    lx_delivery_stats_get(d, &st);
    lx_delivery_stop(&d);
    assert_int_equal(st.delivered, RECORDS * VERSIONS);
    assert_int_equal(st.refused, 0);
    assert_int_equal(st.lag, 0);
    assert_false(st.lagging);
    assert_int_equal(f->t.overlaps, 0);
    assert_true(f->t.unavailable > 0);
    assert_int_equal(st.retries, (uint64_t)f->t.unavailable);
    /* One call per record at a time; at least 2 records together. */
    assert_true(f->t.max_in_flight >= 2);
    assert_true(f->t.max_in_flight <= RECORDS);
    for (int r = 1; r <= RECORDS; r++) {
        assert_int_equal(f->t.order_len[r], VERSIONS);
        for (int v = 1; v <= VERSIONS; v++) {
            assert_int_equal(f->t.accepted[r][v], 1);
            assert_int_equal(f->t.order[r][v - 1], v);
        }
    }
    uint64_t cursor = 0;
    assert_int_equal(lx_store_cursor_get(f->store, "deliver:ord-out", &cursor,
                                         NULL),
                     0);
    assert_int_equal(cursor, last);
}

/* The target holds record 1's first call: later records go through, but
 * the cursor stays before event 1 until it is done (at least once, never
 * skip), and record 1's second version waits for its first. */
static void test_delivery_cursor_waits_for_the_slowest_event(void **state)
{
    fixture *f = *state;
    f->t.hold_record = 1;
    for (int v = 1; v <= 2; v++)
        for (int r = 1; r <= 4; r++)
            put(f, r, v);
    lx_delivery *d = start(f, 4);
    lx_delivery_stats st;
    for (int i = 0; i < 500; i++) {
        lx_delivery_stats_get(d, &st);
        if (st.delivered >= 6)
            break;
        usleep(10000);
    }
    assert_int_equal(st.delivered, 6); /* records 2..4, both versions */
    assert_int_equal(st.cursor, 0);
    assert_int_equal(st.lag, 8);
    assert_int_equal(f->t.order_len[1], 0);
    pthread_mutex_lock(&f->t.mu);
    f->t.released = true;
    pthread_mutex_unlock(&f->t.mu);
    wait_cursor(d, 8);
    lx_delivery_stop(&d);
    assert_int_equal(f->t.overlaps, 0);
    assert_int_equal(f->t.order_len[1], 2);
    assert_int_equal(f->t.order[1][0], 1);
    assert_int_equal(f->t.order[1][1], 2);
}

/* A lag limit: past it the stats say lagging; once drained they do not. */
static void test_delivery_reports_lag_over_its_limit(void **state)
{
    fixture *f = *state;
    f->t.hold_record = 1;
    for (int r = 1; r <= 5; r++)
        put(f, r, 1);
    lx_delivery_options o = {.instance = "ord-out", .system = "ehr",
                             .cursor_interval_ms = 10, .concurrency = 2,
                             .max_lag = 3};
    lx_outbound_ops ops = {.prepare = prepare, .ctx = &f->a};
    lx_delivery *d = NULL;
    assert_int_equal(lx_delivery_start(f->store, &o, &ops, &d, NULL), 0);
    lx_delivery_stats st;
    lx_delivery_stats_get(d, &st);
    assert_int_equal(st.max_lag, 3);
    assert_int_equal(st.lag, 5);
    assert_true(st.lagging);
    pthread_mutex_lock(&f->t.mu);
    f->t.released = true;
    pthread_mutex_unlock(&f->t.mu);
    wait_cursor(d, 5);
    lx_delivery_stats_get(d, &st);
    lx_delivery_stop(&d);
    assert_int_equal(st.lag, 0);
    assert_false(st.lagging);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_delivery_keeps_order_per_record_with_concurrency, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_delivery_cursor_waits_for_the_slowest_event, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_delivery_reports_lag_over_its_limit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
