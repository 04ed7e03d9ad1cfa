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
    char out[256];
    int n = snprintf(out, sizeof(out), "{\"method\":\"%s\",\"len\":%zu,"
                     "\"ct\":\"%s\",\"first\":\"%c\"}",
                     lx_http_method(req), len, ct ? ct : "", len ? body[0] : '-');
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
        cmocka_unit_test(test_http_client_refused_and_timeout_are_errors),
        cmocka_unit_test(test_http_escape_keeps_unreserved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
