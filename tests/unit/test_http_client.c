/* Unit tests of the HTTP client (core/http_client.h) against a loopback
 * server made with core/http_server.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/http_client.h"
#include "core/http_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void target(void *ctx, const lx_http_request *req,
                   lx_http_response *resp)
{
    (void)ctx;
    if (strcmp(lx_http_path(req), "/slow") == 0) {
        usleep(1500 * 1000);
        lx_http_response_set(resp, 200, "text/plain", "late", 4);
        return;
    }
    size_t len;
    const char *body = lx_http_body(req, &len);
    const char *ct = lx_http_header(req, "Content-Type");
    const char *xa = lx_http_header(req, "X-A");
    const char *expect = lx_http_header(req, "Expect");
    char out[256];
    int n = snprintf(out, sizeof(out), "{\"method\":\"%s\",\"len\":%zu,"
                     "\"ct\":\"%s\",\"first\":\"%c\",\"xa\":\"%s\","
                     "\"expect\":\"%s\"}",
                     lx_http_method(req), len, ct ? ct : "", len ? body[0] : '-',
                     xa ? xa : "", expect ? expect : "");
    lx_http_response_set(resp, 201, "application/json", out, (size_t)n);
    lx_http_response_header(resp, "Location", "http://x/Patient/7/_history/1");
    lx_http_response_header(resp, "ETag", "W/\"1\"");
}

static lx_http_server *start(unsigned *port)
{
    lx_http_server_options o = {.listen = "127.0.0.1:0"};
    lx_http_server *srv = NULL;
    assert_int_equal(lx_http_server_start(&o, target, NULL, &srv, NULL), 0);
    *port = lx_http_server_port(srv);
    return srv;
}

static void test_http_client_put_reads_status_headers_and_body(void **state)
{
    (void)state;
    unsigned port;
    lx_http_server *srv = start(&port);
    lx_http_client *c = NULL;
    assert_int_equal(lx_http_client_new(&c, NULL), 0);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/fhir/Patient?identifier=a%%7Cb",
             port);
    for (int i = 0; i < 3; i++) { /* the same handle, reused */
        lx_http_call call = {.method = "PUT", .url = url,
                             .headers = {"Content-Type: application/fhir+json"},
                             .body = "{\"x\":1}", .body_len = 7};
        lx_http_result res;
        assert_int_equal(lx_http_client_perform(c, &call, &res, NULL), 0);
        assert_int_equal(res.status, 201);
        assert_string_equal(res.location, "http://x/Patient/7/_history/1");
        assert_string_equal(res.etag, "W/\"1\"");
        assert_string_equal(res.content_type, "application/json");
        assert_non_null(strstr(res.body, "\"method\":\"PUT\""));
        assert_non_null(strstr(res.body, "\"len\":7"));
        assert_non_null(strstr(res.body, "application/fhir+json"));
        lx_http_result_fini(&res);
    }
    lx_http_client_destroy(&c);
    lx_http_server_stop(&srv);
}

/* A handle keeps its options from call to call (only what differs is set
 * again): a sequence of different calls on one client, and on a multi
 * with one connection (one transfer handle, reused), must each go out as
 * if the handle were new: method, body or none, headers. */
typedef struct seq_call {
    const char *method;
    const char *body;
    const char *h0, *h1;
    const char *want; /* in the echo; NULL for HEAD (no body) */
} seq_call;

static const seq_call seq[] = {
    {"POST", "{\"a\":1}", "Content-Type: application/fhir+json", "X-A: 1",
     "{\"method\":\"POST\",\"len\":7,\"ct\":\"application/fhir+json\","
     "\"first\":\"{\",\"xa\":\"1\",\"expect\":\"\"}"},
    {"GET", NULL, NULL, NULL,
     "{\"method\":\"GET\",\"len\":0,\"ct\":\"\",\"first\":\"-\","
     "\"xa\":\"\",\"expect\":\"\"}"},
    {"HEAD", NULL, "X-A: 2", NULL, NULL},
    {"DELETE", NULL, "X-A: 3", NULL,
     "{\"method\":\"DELETE\",\"len\":0,\"ct\":\"\",\"first\":\"-\","
     "\"xa\":\"3\",\"expect\":\"\"}"},
    {"PUT", "[1,2]", "Content-Type: application/json", "X-A: 4",
     "{\"method\":\"PUT\",\"len\":5,\"ct\":\"application/json\","
     "\"first\":\"[\",\"xa\":\"4\",\"expect\":\"\"}"},
    {"PUT", "[1,2]", "Content-Type: application/json", "X-A: 4",
     "{\"method\":\"PUT\",\"len\":5,\"ct\":\"application/json\","
     "\"first\":\"[\",\"xa\":\"4\",\"expect\":\"\"}"},
    {"GET", NULL, "X-A: 5", NULL,
     "{\"method\":\"GET\",\"len\":0,\"ct\":\"\",\"first\":\"-\","
     "\"xa\":\"5\",\"expect\":\"\"}"},
    {"PATCH", "xyz", "Content-Type: text/plain", NULL,
     "{\"method\":\"PATCH\",\"len\":3,\"ct\":\"text/plain\","
     "\"first\":\"x\",\"xa\":\"\",\"expect\":\"\"}"},
};

static void seq_make(size_t i, const char *url, lx_http_call *call)
{
    memset(call, 0, sizeof(*call));
    call->method = seq[i].method;
    call->url = url;
    call->body = seq[i].body;
    call->body_len = seq[i].body ? strlen(seq[i].body) : 0;
    call->headers[0] = seq[i].h0;
    call->headers[1] = seq[i].h0 ? seq[i].h1 : NULL;
    /* The timeout changes from call to call too. */
    call->timeout_ms = i % 2 ? 5000 : 0;
}

static void seq_check(size_t i, const lx_http_result *res)
{
    assert_int_equal(res->status, 201);
    if (seq[i].want)
        assert_string_equal(res->body, seq[i].want);
    else
        assert_int_equal(res->body_len, 0);
}

static void test_http_client_reused_handle_sends_each_call_as_given(
    void **state)
{
    (void)state;
    unsigned port;
    lx_http_server *srv = start(&port);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/x", port);
    lx_http_client *c = NULL;
    assert_int_equal(lx_http_client_new(&c, NULL), 0);
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
            lx_http_call call;
            seq_make(i, url, &call);
            lx_http_result res;
            assert_int_equal(lx_http_client_perform(c, &call, &res, NULL), 0);
            seq_check(i, &res);
            lx_http_result_fini(&res);
        }
    lx_http_client_destroy(&c);
    lx_http_multi *m = NULL;
    assert_int_equal(lx_http_multi_new(1, &m, NULL), 0);
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
            lx_http_call call;
            seq_make(i, url, &call);
            int tag = (int)i;
            assert_int_equal(lx_http_multi_start(m, &call, &tag, NULL), 0);
            void *got = NULL;
            lx_http_result res;
            int rc = -1;
            lx_error err;
            for (int k = 0; k < 500 && !lx_http_multi_done(m, &got, &res, &rc,
                                                           &err);
                 k++)
                lx_http_multi_poll(m, 10);
            assert_ptr_equal(got, &tag);
            assert_int_equal(rc, 0);
            seq_check(i, &res);
            lx_http_result_fini(&res);
        }
    lx_http_multi_destroy(&m);
    lx_http_server_stop(&srv);
}

static void test_http_client_refused_and_timeout_are_errors(void **state)
{
    (void)state;
    unsigned port;
    lx_http_server *srv = start(&port);
    lx_http_client *c = NULL;
    assert_int_equal(lx_http_client_new(&c, NULL), 0);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/slow", port);
    lx_http_call slow = {.method = "GET", .url = url, .timeout_ms = 200};
    lx_http_result res;
    lx_error err;
    assert_int_equal(lx_http_client_perform(c, &slow, &res, &err), LX_ETIMEOUT);
    lx_http_result_fini(&res);
    lx_http_server_stop(&srv);
    /* Nobody listens there any more. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", port);
    lx_http_call gone = {.method = "GET", .url = url};
    assert_int_equal(lx_http_client_perform(c, &gone, &res, &err), LX_EREMOTE);
    assert_int_equal(res.status, 0);
    lx_http_result_fini(&res);
    /* Never a local file. */
    lx_http_call file = {.method = "GET", .url = "file:///etc/hostname"};
    assert_int_equal(lx_http_client_perform(c, &file, &res, &err), LX_EREMOTE);
    lx_http_result_fini(&res);
    lx_http_client_destroy(&c);
}

static void test_http_escape_keeps_unreserved(void **state)
{
    (void)state;
    char *e = lx_http_escape("urn:oid:1.2|A b/é~_-");
    assert_string_equal(e, "urn%3Aoid%3A1.2%7CA%20b%2F%C3%A9~_-");
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_client_put_reads_status_headers_and_body),
        cmocka_unit_test(test_http_client_reused_handle_sends_each_call_as_given),
        cmocka_unit_test(test_http_client_refused_and_timeout_are_errors),
        cmocka_unit_test(test_http_escape_keeps_unreserved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
