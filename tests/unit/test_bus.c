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

/* Answers INGEST with the peer's name, so the test sees what ZAP said. */
static void peer_handler(void *ctx, lx_bus *bus, lx_bus_request *req)
{
    (void)ctx;
    const char *peer = lx_bus_request_peer(req);
    char body[96];
    int n = snprintf(body, sizeof(body), "{\"peer\":\"%s\"}",
                     peer ? peer : "(none)");
    lx_bus_reply(bus, req, "OK", body, (size_t)n, true);
}

/* A request with these keys (NULL: plain): the peer name answered, or
 * NULL when the hub did not answer within 1 s. */
static char *peer_of(const char *router, const lx_bus_client_keys *keys)
{
    lx_bus_client *c = NULL;
    assert_int_equal(lx_bus_client_open_keys(router, keys, &c, NULL), 0);
    json_t *body = json_object(), *reply = NULL;
    const char *status = NULL;
    char *peer = NULL;
    if (lx_bus_client_call(c, "INGEST", body, 1000, &status, &reply, NULL) ==
        0)
        peer = strdup(json_string_value(json_object_get(reply, "peer")));
    json_decref(reply);
    json_decref(body);
    lx_bus_client_close(&c);
    return peer;
}

static void test_bus_curve_admits_only_listed_peers(void **state)
{
    fixture *f = *state;
    lx_bus_keypair hub, crm, other;
    assert_int_equal(lx_bus_keypair_new(&hub, NULL), 0);
    assert_int_equal(lx_bus_keypair_new(&crm, NULL), 0);
    assert_int_equal(lx_bus_keypair_new(&other, NULL), 0);
    char pub[160], router[160];
    snprintf(pub, sizeof(pub), "ipc://%s/spub", f->dir);
    snprintf(router, sizeof(router), "ipc://%s/srouter", f->dir);
    lx_bus_peer peers[] = {{"crm", crm.public_key}};
    lx_bus_options o = {.pub_endpoint = pub, .router_endpoint = router,
                        .server_key = &hub, .peers = peers, .peers_n = 1};
    lx_bus *b = NULL;
    assert_int_equal(lx_bus_open(&o, peer_handler, NULL, &b, NULL), 0);

    lx_bus_client_keys as_crm = {hub.public_key, &crm};
    lx_bus_client_keys as_other = {hub.public_key, &other};
    lx_bus_client_keys as_operator = {hub.public_key, &hub};
    char *p = peer_of(router, &as_crm);
    assert_non_null(p);
    assert_string_equal(p, "crm");
    free(p);
    p = peer_of(router, &as_operator);
    assert_non_null(p);
    assert_string_equal(p, "operator");
    free(p);
    assert_null(peer_of(router, &as_other));
    assert_null(peer_of(router, NULL));
    lx_bus_stats st;
    lx_bus_stats_get(b, &st);
    assert_true(st.refused >= 1);

    /* A reload admits "other" without reopening the bus. */
    lx_bus_peer more[] = {{"crm", crm.public_key}, {"lab", other.public_key}};
    assert_int_equal(lx_bus_set_peers(b, more, 2, NULL), 0);
    p = peer_of(router, &as_other);
    assert_non_null(p);
    assert_string_equal(p, "lab");
    free(p);
    lx_bus_peer bad[] = {{"x", "not a key"}};
    assert_int_equal(lx_bus_set_peers(b, bad, 1, NULL), LX_EINVAL);
    lx_bus_close(&b);
    lx_bus *plain = f->bus;
    assert_int_equal(lx_bus_set_peers(plain, more, 2, NULL), LX_EINVAL);
    char path[200];
    snprintf(path, sizeof(path), "%s/spub", f->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/srouter", f->dir);
    unlink(path);
}

static void test_bus_key_files(void **state)
{
    fixture *f = *state;
    char path[128];
    snprintf(path, sizeof(path), "%s/k.json", f->dir);
    lx_bus_keypair w, r;
    assert_int_equal(lx_bus_key_write(path, &w, NULL), 0);
    assert_true(lx_bus_key_valid(w.public_key));
    assert_true(lx_bus_key_valid(w.secret_key));
    assert_int_equal(lx_bus_key_read(path, false, &r, NULL), 0);
    assert_string_equal(r.public_key, w.public_key);
    assert_string_equal(r.secret_key, w.secret_key);
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_bus_key_write(path, NULL, &err), LX_EIO);
    assert_non_null(strstr(err.msg, "File exists"));

    /* Someone else's public key next to our secret key. */
    lx_bus_keypair other;
    assert_int_equal(lx_bus_keypair_new(&other, NULL), 0);
    FILE *fp = fopen(path, "w");
    fprintf(fp, "{\"public_key\": \"%s\", \"secret_key\": \"%s\"}",
            other.public_key, w.secret_key);
    fclose(fp);
    lx_error_clear(&err);
    assert_int_equal(lx_bus_key_read(path, false, &r, &err), LX_ECONFIG);
    assert_non_null(strstr(err.msg, "is not the public half"));
    /* A public half alone: fine when asked for, refused as a keypair. */
    fp = fopen(path, "w");
    fprintf(fp, "{\"public_key\": \"%s\"}", other.public_key);
    fclose(fp);
    assert_int_equal(lx_bus_key_read(path, true, &r, NULL), 0);
    assert_string_equal(r.public_key, other.public_key);
    assert_string_equal(r.secret_key, "");
    lx_error_clear(&err);
    assert_int_equal(lx_bus_key_read(path, false, &r, &err), LX_ECONFIG);
    assert_non_null(strstr(err.msg, "missing \"secret_key\""));
    fp = fopen(path, "w");
    fputs("{\"public_key\": \"0123\"}", fp);
    fclose(fp);
    lx_error_clear(&err);
    assert_int_equal(lx_bus_key_read(path, true, &r, &err), LX_ECONFIG);
    assert_non_null(strstr(err.msg, "not a CURVE key"));
    unlink(path);

    assert_false(lx_bus_key_valid(NULL));
    assert_false(lx_bus_key_valid(""));
    assert_false(lx_bus_key_valid("0123456789012345678901234567890123456789X"));
    assert_false(lx_bus_key_valid("012345678901234567890123456789012345678\""));
    assert_true(lx_bus_key_valid("0123456789abcdefABCDEF.-:+=^!/*?&<>()[]{"));
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
        T(test_bus_curve_admits_only_listed_peers),
        T(test_bus_key_files),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
