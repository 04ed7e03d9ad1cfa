/* Unit tests of the HTTP server wrapper (core/http_server.h), driven by a
 * plain socket client on 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Echo: status 201, the method, path, query "q", header X-Test and the
 * body length, plus a custom header. */
static void echo(void *ctx, const lx_http_request *req,
                 lx_http_response *resp)
{
    (void)ctx;
    char out[512];
    size_t len;
    lx_http_body(req, &len);
    const char *q = lx_http_query(req, "q"), *h = lx_http_header(req, "X-Test");
    int n = snprintf(out, sizeof(out), "%s %s q=%s h=%s len=%zu",
                     lx_http_method(req), lx_http_path(req), q ? q : "-",
                     h ? h : "-", len);
    lx_http_response_set(resp, 201, "text/plain", out, (size_t)n);
    lx_http_response_header(resp, "X-Reply", "yes");
}

/* Send a raw request, return the whole response (malloc'd). */
static char *roundtrip(unsigned port, const char *head, const char *body,
                       size_t body_len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_true(write(fd, head, strlen(head)) == (ssize_t)strlen(head));
    size_t off = 0;
    while (off < body_len) {
        ssize_t w = write(fd, body + off, body_len - off);
        if (w <= 0)
            break; /* the server may close early on a too-large body */
        off += (size_t)w;
    }
    size_t cap = 65536, got = 0;
    char *buf = malloc(cap);
    ssize_t r;
    while (got < cap - 1 && (r = read(fd, buf + got, cap - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = '\0';
    close(fd);
    return buf;
}

static void test_http_server_serves_request_parts(void **state)
{
    (void)state;
    lx_http_server_options o = {.listen = "127.0.0.1:0", .max_body = 1024};
    lx_http_server *srv = NULL;
    assert_int_equal(lx_http_server_start(&o, echo, NULL, &srv, NULL), 0);
    unsigned port = lx_http_server_port(srv);
    assert_true(port > 0);
    const char *body = "{\"a\":1}";
    char head[256];
    snprintf(head, sizeof(head),
             "POST /x/y?q=42 HTTP/1.0\r\nX-Test: t1\r\nContent-Length: %zu"
             "\r\n\r\n",
             strlen(body));
    char *resp = roundtrip(port, head, body, strlen(body));
    assert_non_null(strstr(resp, "HTTP/1.1 201"));
    assert_non_null(strstr(resp, "X-Reply: yes"));
    assert_non_null(strstr(resp, "POST /x/y q=42 h=t1 len=7"));
    free(resp);
    lx_http_server_stop(&srv);
    assert_null(srv);
}

static void test_http_server_refuses_body_over_limit_with_413(void **state)
{
    (void)state;
    lx_http_server_options o = {.listen = "127.0.0.1:0", .max_body = 1024};
    lx_http_server *srv = NULL;
    assert_int_equal(lx_http_server_start(&o, echo, NULL, &srv, NULL), 0);
    char big[4096];
    memset(big, 'x', sizeof(big));
    const char *head = "POST /big HTTP/1.0\r\nContent-Length: 4096\r\n\r\n";
    char *resp = roundtrip(lx_http_server_port(srv), head, big, sizeof(big));
    assert_non_null(strstr(resp, "413"));
    assert_non_null(strstr(resp, "LX_ELIMIT"));
    free(resp);
    lx_http_server_stop(&srv);
}

/* Body echo: "len=N body=<the body>", handed over with
 * lx_http_response_take; /empty answers 204 with no body. */
static void body_echo(void *ctx, const lx_http_request *req,
                      lx_http_response *resp)
{
    (void)ctx;
    if (strcmp(lx_http_path(req), "/empty") == 0) {
        lx_http_response_set(resp, 204, "text/plain", "", 0);
        return;
    }
    size_t len;
    const char *body = lx_http_body(req, &len);
    size_t cap = len + 64;
    char *out = malloc(cap);
    assert_non_null(out);
    int n = snprintf(out, cap, "len=%zu body=", len);
    memcpy(out + n, body, len);
    lx_http_response_take(resp, 200, "text/plain", out, (size_t)n + len);
}

static int connect_to(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        assert_true(w > 0);
        p += w;
        n -= (size_t)w;
    }
}

/* One request on a keep-alive connection: the status, and the response
 * body (malloc'd) read by its Content-Length. */
static char *keepalive_call(int fd, const char *method, const char *path,
                            const char *body, size_t body_len, int *status)
{
    char head[256];
    int hn = snprintf(head, sizeof(head),
                      "%s %s HTTP/1.1\r\nHost: t\r\nContent-Length: %zu"
                      "\r\n\r\n",
                      method, path, body_len);
    write_all(fd, head, (size_t)hn);
    write_all(fd, body, body_len);
    size_t cap = 1 << 20, got = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    char *end = NULL;
    while (!end) {
        ssize_t r = read(fd, buf + got, cap - 1 - got);
        assert_true(r > 0);
        got += (size_t)r;
        buf[got] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    assert_int_equal(sscanf(buf, "HTTP/1.1 %d", status), 1);
    const char *cl = strstr(buf, "Content-Length: ");
    size_t want = cl && cl < end ? strtoul(cl + 16, NULL, 10) : 0;
    size_t head_len = (size_t)(end + 4 - buf);
    while (got < head_len + want) {
        ssize_t r = read(fd, buf + got, cap - 1 - got);
        assert_true(r > 0);
        got += (size_t)r;
    }
    assert_int_equal(got, head_len + want); /* nothing else was sent */
    char *out = strndup(buf + head_len, want);
    free(buf);
    return out;
}

static void expect_echo(int fd, const char *body, size_t len)
{
    int status = 0;
    char *got = keepalive_call(fd, "POST", "/e", body, len, &status);
    assert_int_equal(status, 200);
    char want[256];
    snprintf(want, sizeof(want), "len=%zu body=%.*s", len, (int)len, body);
    assert_string_equal(got, want);
    free(got);
}

/* The requests of one keep-alive connection share its state: each sees
 * its own body only, whatever came before (a longer body, a refused one,
 * a large one, none). */
static void test_http_server_keepalive_requests_see_their_own_body(
    void **state)
{
    (void)state;
    lx_http_server_options o = {.listen = "127.0.0.1:0",
                                .max_body = 200 << 10};
    lx_http_server *srv = NULL;
    assert_int_equal(lx_http_server_start(&o, body_echo, NULL, &srv, NULL),
                     0);
    int fd = connect_to(lx_http_server_port(srv));
    expect_echo(fd, "abcdefgh", 8);
    expect_echo(fd, "xy", 2);
    expect_echo(fd, "", 0);
    int status = 0;
    char *got = keepalive_call(fd, "GET", "/empty", "", 0, &status);
    assert_int_equal(status, 204);
    assert_string_equal(got, "");
    free(got);
    /* Over the limit: 413, and the connection goes on. */
    size_t big_len = (200 << 10) + 1;
    char *big = malloc(big_len);
    assert_non_null(big);
    memset(big, 'b', big_len);
    got = keepalive_call(fd, "POST", "/e", big, big_len, &status);
    assert_int_equal(status, 413);
    free(got);
    expect_echo(fd, "z", 1);
    /* A body larger than what a connection keeps between requests. */
    got = keepalive_call(fd, "POST", "/e", big, big_len - 1, &status);
    assert_int_equal(status, 200);
    assert_int_equal(strlen(got), strlen("len=204800 body=") + big_len - 1);
    free(got);
    expect_echo(fd, "12345", 5);
    free(big);
    close(fd);
    lx_http_server_stop(&srv);
}

static void test_http_server_bad_listen_addresses(void **state)
{
    (void)state;
    lx_http_server *srv = NULL;
    lx_error err;
    const char *bad[] = {"8080", "127.0.0.1:", "127.0.0.1:99999",
                         "example.org:80", "[zz]:80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lx_http_server_options o = {.listen = bad[i]};
        assert_int_equal(lx_http_server_start(&o, echo, NULL, &srv, &err),
                         LX_EINVAL);
        assert_null(srv);
    }
    /* The same port twice: the second fails with LX_EIO. */
    lx_http_server_options o = {.listen = "127.0.0.1:0"};
    assert_int_equal(lx_http_server_start(&o, echo, NULL, &srv, NULL), 0);
    char again[64];
    snprintf(again, sizeof(again), "127.0.0.1:%u", lx_http_server_port(srv));
    lx_http_server *second = NULL;
    lx_http_server_options o2 = {.listen = again};
    assert_int_equal(lx_http_server_start(&o2, echo, NULL, &second, &err),
                     LX_EIO);
    assert_non_null(strstr(err.msg, again));
    lx_http_server_stop(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_server_serves_request_parts),
        cmocka_unit_test(test_http_server_refuses_body_over_limit_with_413),
        cmocka_unit_test(test_http_server_bad_listen_addresses),
        cmocka_unit_test(
            test_http_server_keepalive_requests_see_their_own_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
