/* Unit tests of the bus (core/bus.h) over ipc:// endpoints in a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/bus.h"
#include "core/id.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

typedef struct fixture {
    char dir[64], pub[128], router[128];
    lx_bus *bus;
} fixture;

/* Echo INGEST bodies back as OK, stream three EVENTs for REPLAY. */
static void handler(void *ctx, lx_bus *bus, lx_bus_request *req)
{
    (void)ctx;
    size_t len;
    const char *body = lx_bus_request_body(req, &len);
    if (strcmp(lx_bus_request_command(req), "REPLAY") == 0) {
        for (int i = 1; i <= 3; i++) {
            char ev[64];
            int n = snprintf(ev, sizeof(ev), "{\"seq\":%d}", i);
            lx_bus_reply(bus, req, "EVENT", ev, (size_t)n, false);
        }
        lx_bus_reply(bus, req, "END", "{\"next\":4,\"last_seq\":3}", 24, true);
        return;
    }
    lx_bus_reply(bus, req, "OK", body, len, true);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/lx-test-bus-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->pub, sizeof(f->pub), "ipc://%s/pub", f->dir);
    snprintf(f->router, sizeof(f->router), "ipc://%s/router", f->dir);
    lx_bus_options o = {.pub_endpoint = f->pub, .router_endpoint = f->router,
                        .max_request = 1024};
    lx_error err;
    assert_int_equal(lx_bus_open(&o, handler, NULL, &f->bus, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    lx_bus_close(&f->bus);
    char path[160];
    snprintf(path, sizeof(path), "%s/pub", f->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/router", f->dir);
    unlink(path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void test_bus_call_gets_the_matching_reply(void **state)
{
    fixture *f = *state;
    lx_bus_client *c = NULL;
    assert_int_equal(lx_bus_client_open(f->router, &c, NULL), 0);
    for (int i = 0; i < 20; i++) {
        json_t *body = json_pack("{s:i}", "n", i);
        const char *status = NULL;
        json_t *reply = NULL;
        assert_int_equal(lx_bus_client_call(c, "INGEST", body, 5000, &status,
                                            &reply, NULL), 0);
        assert_string_equal(status, "OK");
        assert_true(json_equal(body, reply));
        json_decref(body);
        json_decref(reply);
    }
    lx_bus_client_close(&c);
    lx_bus_stats st;
    lx_bus_stats_get(f->bus, &st);
    assert_int_equal(st.requests, 20);
}

static int count_events(void *ctx, uint64_t seq, const char *ev, size_t len)
{
    (void)ev;
    (void)len;
    uint64_t *n = ctx;
    assert_int_equal(seq, *n + 1);
    (*n)++;
    return 0;
}

static void test_bus_replay_streams_events_until_end(void **state)
{
    fixture *f = *state;
    lx_bus_client *c = NULL;
    assert_int_equal(lx_bus_client_open(f->router, &c, NULL), 0);
    uint64_t n = 0, next = 0;
    assert_int_equal(lx_bus_client_replay(c, 1, 100, 5000, count_events, &n,
                                          &next, NULL), 0);
    assert_int_equal(n, 3);
    assert_int_equal(next, 4);
    lx_bus_client_close(&c);
}

static void test_bus_malformed_request_is_refused(void **state)
{
    fixture *f = *state;
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    assert_int_equal(zmq_connect(s, f->router), 0);
    /* Two frames instead of three. */
    zmq_send(s, "INGEST", 6, ZMQ_SNDMORE);
    zmq_send(s, "{}", 2, 0);
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 5000), 1);
    char status[16] = "", rid[64] = "", body[512] = "";
    int n = zmq_recv(s, status, sizeof(status) - 1, 0);
    assert_int_equal(n, 3);
    assert_string_equal(status, "ERR");
    zmq_recv(s, rid, sizeof(rid) - 1, 0);
    n = zmq_recv(s, body, sizeof(body) - 1, 0);
    assert_true(n > 0);
    assert_non_null(strstr(body, "3 frames"));
    /* A body over max_request (1024 here). */
    char big[2048];
    memset(big, ' ', sizeof(big));
    zmq_send(s, "INGEST", 6, ZMQ_SNDMORE);
    zmq_send(s, "r1", 2, ZMQ_SNDMORE);
    zmq_send(s, big, sizeof(big), 0);
    assert_int_equal(zmq_poll(&it, 1, 5000), 1);
    memset(status, 0, sizeof(status));
    memset(rid, 0, sizeof(rid));
    memset(body, 0, sizeof(body));
    zmq_recv(s, status, sizeof(status) - 1, 0);
    zmq_recv(s, rid, sizeof(rid) - 1, 0);
    zmq_recv(s, body, sizeof(body) - 1, 0);
    assert_string_equal(status, "ERR");
    assert_string_equal(rid, "r1");
    assert_non_null(strstr(body, "size limit"));
    zmq_close(s);
    zmq_ctx_term(ctx);
    lx_bus_stats st;
    lx_bus_stats_get(f->bus, &st);
    assert_int_equal(st.malformed, 2);
}

static void test_bus_published_events_reach_a_subscriber(void **state)
{
    fixture *f = *state;
    lx_bus_sub *sub = NULL;
    assert_int_equal(lx_bus_sub_open(f->pub, "person.", &sub, NULL), 0);
    /* The subscription takes a moment to reach PUB: publish until one
     * arrives (bounded). */
    char topic[64];
    char *payload = NULL;
    size_t len = 0;
    int got = -1;
    for (int i = 0; i < 100 && got != 0; i++) {
        assert_int_equal(lx_bus_publish(f->bus, "person.created",
                                        "{\"seq\":1}", 9), 0);
        assert_int_equal(lx_bus_publish(f->bus, "coverage.created",
                                        "{\"seq\":2}", 9), 0);
        got = lx_bus_sub_recv(sub, 50, topic, sizeof(topic), &payload, &len,
                              NULL);
    }
    assert_int_equal(got, 0);
    assert_string_equal(topic, "person.created");
    assert_string_equal(payload, "{\"seq\":1}");
    assert_int_equal(len, 9);
    free(payload);
    lx_bus_sub_close(&sub);
}

static void test_bus_call_times_out_without_a_hub(void **state)
{
    fixture *f = *state;
    char nowhere[160];
    snprintf(nowhere, sizeof(nowhere), "ipc://%s/nobody", f->dir);
    lx_bus_client *c = NULL;
    assert_int_equal(lx_bus_client_open(nowhere, &c, NULL), 0);
    json_t *body = json_object();
    const char *status = NULL;
    json_t *reply = NULL;
    lx_error err;
    uint64_t t0 = lx_mono_ms();
    assert_int_equal(lx_bus_client_call(c, "STATUS", body, 200, &status,
                                        &reply, &err), LX_ETIMEOUT);
    assert_true(lx_mono_ms() - t0 >= 150);
    assert_null(reply);
    json_decref(body);
    lx_bus_client_close(&c);
}

static void test_bus_open_reports_endpoint_in_use(void **state)
{
    fixture *f = *state;
    /* PUB and ROUTER on one port: the second bind fails, cleanly. */
    lx_bus_options same = {.pub_endpoint = "tcp://127.0.0.1:25999",
                           .router_endpoint = "tcp://127.0.0.1:25999"};
    lx_bus *b = NULL;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_bus_open(&same, handler, NULL, &b, &err), LX_EIO);
    assert_null(b);
    assert_non_null(strstr(err.msg, "ROUTER"));
    assert_non_null(strstr(err.msg, "tcp://127.0.0.1:25999"));
    (void)f;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_bus_call_gets_the_matching_reply),
        T(test_bus_replay_streams_events_until_end),
        T(test_bus_malformed_request_is_refused),
        T(test_bus_published_events_reach_a_subscriber),
        T(test_bus_call_times_out_without_a_hub),
        T(test_bus_open_reports_endpoint_in_use),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
