/* Unit tests of the delivery engine (adapters/delivery/delivery.h): a real
 * store in a temp dir, a loopback HTTP target, a minimal adapter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "adapters/delivery/delivery.h"
#include "core/http_server.h"
#include "core/id.h"
#include "core/json.h"
#include "core/mem.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The target: records each request path; answers with the status queued
 * in `script` (then 200). */
typedef struct target {
    pthread_mutex_t mu;
    char paths[64][128];
    size_t count;
    int script[16];
    size_t script_len, script_pos;
} target;

static void serve(void *ctx, const lx_http_request *req,
                  lx_http_response *resp)
{
    target *t = ctx;
    pthread_mutex_lock(&t->mu);
    int status = t->script_pos < t->script_len ? t->script[t->script_pos++]
                                               : 200;
    if (t->count < 64)
        snprintf(t->paths[t->count++], 128, "%s %s %d", lx_http_method(req),
                 lx_http_path(req), status);
    pthread_mutex_unlock(&t->mu);
    char loc[160];
    snprintf(loc, sizeof(loc), "http://127.0.0.1/T%s/_history/1",
             lx_http_path(req));
    lx_http_response_set(resp, status, "application/json", "{}", 2);
    if (status < 300)
        lx_http_response_header(resp, "Location", loc);
}

typedef struct adapter {
    unsigned port;
} adapter;

/* PUT /<family> with the record as body. */
static int prepare(void *ctx, lx_store *store, const json_t *ev,
                   lx_outbound_call *call, bool *skip, lx_error *err)
{
    (void)store;
    (void)err;
    adapter *a = ctx;
    const json_t *rec = json_object_get(ev, "record");
    const char *family =
        lx_json_str(json_object_get(rec, "name"), "family");
    if (family && strcmp(family, "skipme") == 0) {
        *skip = true;
        return 0;
    }
    snprintf(call->url, sizeof(call->url), "http://127.0.0.1:%u/%s", a->port,
             family ? family : "none");
    call->body = json_dumps(rec, JSON_COMPACT);
    call->http.method = "PUT";
    call->http.url = call->url;
    call->http.body = call->body;
    call->http.body_len = strlen(call->body);
    call->http.headers[0] = "Content-Type: application/json";
    snprintf(call->native_type, sizeof(call->native_type), "Thing");
    return 0;
}

/* The target id is the last path segment before /_history. */
static void native_id(void *ctx, const json_t *ev, const lx_http_result *res,
                      char *out, size_t size)
{
    (void)ctx;
    (void)ev;
    const char *p = strstr(res->location, "/T/");
    const char *end = strstr(res->location, "/_history");
    if (p && end && end > p + 3)
        snprintf(out, size, "%.*s", (int)(end - p - 3), p + 3);
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
    snprintf(f->dir, sizeof(f->dir), "/tmp/lx-test-deliv-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    lx_store_options o = {.dir = f->dir, .no_sync = true};
    assert_int_equal(lx_store_open(&o, &f->store, NULL), 0);
    pthread_mutex_init(&f->t.mu, NULL);
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

static void put(fixture *f, const char *entity, const char *system,
                const char *nid, const char *family)
{
    json_t *r = json_pack("{s:[{s:s,s:s}],s:{s:s}}", "identifiers", "system",
                          "urn:x", "value", nid, "name", "family", family);
    lx_upsert u = {.entity = entity, .system = system, .native_id = nid,
                   .record = r};
    lx_upsert_result res;
    assert_int_equal(lx_store_upsert(f->store, &u, &res), 0);
    json_decref(r);
}

/* concurrency 1: strictly in log order, across records too; 0: the
 * default (several calls at once, in order per record only). */
static lx_delivery *start(fixture *f, unsigned concurrency)
{
    static const char *const subs[] = {"person.*", NULL};
    lx_delivery_options o = {.instance = "ehr-out", .system = "ehr",
                             .subscribe = subs, .backoff_base_ms = 20,
                             .backoff_max_ms = 50, .cursor_interval_ms = 10,
                             .concurrency = concurrency};
    lx_outbound_ops ops = {.prepare = prepare, .native_id = native_id, .ctx = &f->a};
    lx_delivery *d = NULL;
    assert_int_equal(lx_delivery_start(f->store, &o, &ops, &d, NULL), 0);
    return d;
}

/* Wait (bounded) until the delivery has handled everything up to seq. */
static void wait_cursor(lx_delivery *d, uint64_t seq)
{
    lx_delivery_stats st;
    for (int i = 0; i < 500; i++) {
        lx_delivery_stats_get(d, &st);
        if (st.cursor >= seq)
            return;
        usleep(10000);
    }
    fail_msg("delivery stuck at %llu, wanted %llu",
             (unsigned long long)st.cursor, (unsigned long long)seq);
}

static void test_delivery_sends_in_order_and_skips_echo_and_topics(
    void **state)
{
    fixture *f = *state;
    put(f, "person", "hr", "1", "alpha");
    put(f, "person", "ehr", "2", "echo");       /* from the target itself */
    put(f, "coverage", "hr", "3", "covered");   /* not subscribed */
    put(f, "person", "hr", "4", "skipme");      /* adapter skips */
    put(f, "person", "hr", "5", "beta");
    lx_delivery *d = start(f, 1);
    wait_cursor(d, 5);
    lx_delivery_stats st;
    lx_delivery_stats_get(d, &st);
    assert_int_equal(st.delivered, 2);
    assert_int_equal(st.skipped, 3);
    assert_int_equal(f->t.count, 2);
    assert_string_equal(f->t.paths[0], "PUT /alpha 200");
    assert_string_equal(f->t.paths[1], "PUT /beta 200");
    /* The target's id goes into the cross-reference, written with the
     * cursor (at most cursor_interval_ms after the call): wait for it,
     * bounded. */
    char entity[LX_STORE_NAME_MAX + 1], id[LX_STORE_ID_SIZE];
    int found = -1;
    for (int i = 0; i < 200 && found != 0; i++) {
        found = lx_store_xref_find(f->store, "ehr", "Thing", "alpha", entity,
                                   id, NULL);
        if (found != 0)
            usleep(10000);
    }
    assert_int_equal(found, 0);
    assert_string_equal(entity, "person");
    lx_delivery_stop(&d);
    uint64_t cursor = 0;
    assert_int_equal(lx_store_cursor_get(f->store, "deliver:ehr-out", &cursor,
                                         NULL), 0);
    assert_int_equal(cursor, 5);
    /* A restart resumes after the cursor: nothing is sent twice. */
    d = start(f, 1);
    put(f, "person", "hr", "6", "gamma");
    lx_delivery_notify(d);
    wait_cursor(d, 6);
    lx_delivery_stop(&d);
    assert_int_equal(f->t.count, 3);
    assert_string_equal(f->t.paths[2], "PUT /gamma 200");
}

static void test_delivery_retries_5xx_in_order_and_refuses_4xx(void **state)
{
    fixture *f = *state;
    f->t.script[0] = 503;
    f->t.script[1] = 502;
    f->t.script[2] = 200; /* alpha, third attempt */
    f->t.script[3] = 400; /* beta: refused, not retried */
    f->t.script_len = 4;
    put(f, "person", "hr", "1", "alpha");
    put(f, "person", "hr", "2", "beta");
    put(f, "person", "hr", "3", "gamma");
    lx_delivery *d = start(f, 1);
    wait_cursor(d, 3);
    lx_delivery_stats st;
    lx_delivery_stats_get(d, &st);
    lx_delivery_stop(&d);
    assert_int_equal(st.retries, 2);
    assert_int_equal(st.delivered, 2);
    assert_int_equal(st.refused, 1);
    assert_int_equal(f->t.count, 5);
    assert_string_equal(f->t.paths[0], "PUT /alpha 503");
    assert_string_equal(f->t.paths[1], "PUT /alpha 502");
    assert_string_equal(f->t.paths[2], "PUT /alpha 200");
    assert_string_equal(f->t.paths[3], "PUT /beta 400");
    assert_string_equal(f->t.paths[4], "PUT /gamma 200");
}

static void test_delivery_refusal_goes_to_dead_letters_and_replays(
    void **state)
{
    fixture *f = *state;
    f->t.script[0] = 422; /* alpha refused */
    f->t.script_len = 1;
    put(f, "person", "hr", "1", "alpha");
    put(f, "person", "hr", "2", "beta");
    lx_delivery *d = start(f, 1);
    wait_cursor(d, 2);
    /* The dead letter keeps the reason, the request and the response. */
    char *v = NULL;
    const char *key = "dlq/ehr-out/00000000000000000001";
    assert_int_equal(lx_store_state_get(f->store, key, &v, NULL, NULL), 0);
    json_t *dl = json_loads(v, 0, NULL);
    free(v);
    assert_string_equal(lx_json_str(dl, "state"), "dead");
    assert_non_null(strstr(lx_json_str(dl, "reason"), "422"));
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(dl, "response"), "status")),
                     422);
    assert_string_equal(lx_json_str(json_object_get(dl, "request"), "method"),
                        "PUT");
    /* An operator replays it: it is delivered and leaves the list. */
    json_object_set_new(dl, "state", json_string("replay"));
    char *text = json_dumps(dl, JSON_COMPACT);
    json_decref(dl);
    assert_int_equal(lx_store_state_put(f->store, key, text, strlen(text),
                                        NULL), 0);
    free(text);
    lx_delivery_notify(d);
    lx_error err;
    int gone = 0;
    for (int i = 0; i < 300 && !gone; i++) {
        char *x = NULL;
        gone = lx_store_state_get(f->store, key, &x, NULL, &err) ==
               LX_ENOTFOUND;
        free(x);
        if (!gone)
            usleep(10000);
    }
    assert_true(gone);
    assert_int_equal(f->t.count, 3);
    assert_string_equal(f->t.paths[2], "PUT /alpha 200");
    /* Rewinding the subscription sends everything again, in order. */
    assert_int_equal(lx_store_state_put(f->store, "replay/ehr-out", "1", 1,
                                        NULL), 0);
    for (int i = 0; i < 300 && f->t.count < 5; i++)
        usleep(10000);
    lx_delivery_stop(&d);
    assert_int_equal(f->t.count, 5);
    assert_string_equal(f->t.paths[3], "PUT /alpha 200");
    assert_string_equal(f->t.paths[4], "PUT /beta 200");
}

static void test_delivery_gives_up_after_max_attempts(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 3; i++)
        f->t.script[i] = 503;
    f->t.script_len = 3;
    put(f, "person", "hr", "1", "alpha");
    static const char *const subs[] = {"person.*", NULL};
    lx_delivery_options o = {.instance = "ehr-out", .system = "ehr",
                             .subscribe = subs, .backoff_base_ms = 5,
                             .backoff_max_ms = 10, .max_attempts = 3};
    lx_outbound_ops ops = {.prepare = prepare, .native_id = native_id, .ctx = &f->a};
    lx_delivery *d = NULL;
    assert_int_equal(lx_delivery_start(f->store, &o, &ops, &d, NULL), 0);
    wait_cursor(d, 1);
    lx_delivery_stop(&d);
    assert_int_equal(f->t.count, 3);
    char *v = NULL;
    assert_int_equal(lx_store_state_get(f->store,
                                        "dlq/ehr-out/00000000000000000001", &v,
                                        NULL, NULL),
                     0);
    assert_non_null(strstr(v, "gave up after 3 attempts"));
    free(v);
}

static void test_delivery_topic_patterns(void **state)
{
    (void)state;
    const char *const p[] = {"person.*", "coverage.deleted", NULL};
    assert_true(lx_delivery_topic_matches(p, "person.created"));
    assert_true(lx_delivery_topic_matches(p, "coverage.deleted"));
    assert_false(lx_delivery_topic_matches(p, "coverage.updated"));
    assert_false(lx_delivery_topic_matches(p, "personx.created"));
    const char *const all[] = {"*", NULL};
    assert_true(lx_delivery_topic_matches(all, "order.created"));
    assert_true(lx_delivery_topic_matches(NULL, "order.created"));
}

/* Two instances on one store (they share the parsed events, each tree
 * read by both threads), woken by the store's event hook: each delivers
 * the other system's changes and skips its own (echo suppression). */
typedef struct pair {
    lx_delivery *d[2];
} pair;

static void notify_both(void *ctx, uint64_t seq, const char *topic,
                        const char *event, size_t len)
{
    (void)seq;
    (void)topic;
    (void)event;
    (void)len;
    pair *p = ctx;
    for (int i = 0; i < 2; i++)
        if (p->d[i])
            lx_delivery_notify(p->d[i]);
}

static void test_delivery_two_instances_share_events_and_skip_echo(
    void **state)
{
    fixture *f = *state;
    static const char *const subs[] = {"person.*", NULL};
    static const char *const names[2][2] = {{"ehr-out", "ehr"},
                                            {"hr-out", "hr"}};
    static pair p;
    memset(&p, 0, sizeof(p));
    lx_store_set_event_hook(f->store, notify_both, &p);
    for (int i = 0; i < 2; i++) {
        lx_delivery_options o = {.instance = names[i][0],
                                 .system = names[i][1], .subscribe = subs,
                                 .cursor_interval_ms = 10};
        lx_outbound_ops ops = {.prepare = prepare, .native_id = native_id,
                               .ctx = &f->a};
        assert_int_equal(lx_delivery_start(f->store, &o, &ops, &p.d[i], NULL),
                         0);
    }
    char nid[16], family[32];
    for (int i = 0; i < 20; i++) {
        snprintf(nid, sizeof(nid), "h%d", i);
        snprintf(family, sizeof(family), "fromhr%d", i);
        put(f, "person", "hr", nid, family);
        snprintf(nid, sizeof(nid), "e%d", i);
        snprintf(family, sizeof(family), "fromehr%d", i);
        put(f, "person", "ehr", nid, family);
    }
    for (int i = 0; i < 2; i++) {
        wait_cursor(p.d[i], 40);
        lx_delivery_stats st;
        lx_delivery_stats_get(p.d[i], &st);
        assert_int_equal(st.delivered, 20);
        assert_int_equal(st.skipped, 20);
        assert_int_equal(st.refused, 0);
    }
    pthread_mutex_lock(&f->t.mu);
    size_t from_hr = 0, from_ehr = 0;
    for (size_t i = 0; i < f->t.count; i++) {
        from_hr += strncmp(f->t.paths[i], "PUT /fromhr", 11) == 0;
        from_ehr += strncmp(f->t.paths[i], "PUT /fromehr", 12) == 0;
    }
    pthread_mutex_unlock(&f->t.mu);
    assert_int_equal(from_hr, 20);
    assert_int_equal(from_ehr, 20);
    for (int i = 0; i < 2; i++)
        lx_delivery_stop(&p.d[i]);
    assert_null(p.d[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_delivery_sends_in_order_and_skips_echo_and_topics, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_delivery_retries_5xx_in_order_and_refuses_4xx, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_delivery_refusal_goes_to_dead_letters_and_replays, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_delivery_gives_up_after_max_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_delivery_two_instances_share_events_and_skip_echo, setup,
            teardown),
        cmocka_unit_test(test_delivery_topic_patterns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
