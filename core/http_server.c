/* core/http_server.c: see http_server.h. The only file that includes
 * microhttpd.h. */
#include "core/http_server.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct lx_http_server {
    struct MHD_Daemon *daemon;
    lx_http_handler_fn fn;
    void *ctx;
    size_t max_body;
    unsigned port;
};

/* One per connection (MHD_OPTION_NOTIFY_CONNECTION), reused by each
 * request the connection carries in turn: a keep-alive client's requests
 * reuse the body's buffer instead of allocating it for every request. A
 * buffer that grew past BODY_KEEP_MAX is freed after its request, so an
 * idle connection holds no large body. */
struct lx_http_request {
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    lx_buf body;
    bool too_large;
};

#define BODY_KEEP_MAX ((size_t)64 << 10)

const char *lx_http_method(const lx_http_request *req) { return req->method; }
const char *lx_http_path(const lx_http_request *req) { return req->path; }

const char *lx_http_header(const lx_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *lx_http_query(const lx_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool lx_http_body_too_large(const lx_http_request *req)
{
    return req->too_large;
}

const char *lx_http_body(const lx_http_request *req, size_t *len)
{
    if (len)
        *len = req->body.len;
    return req->body.data ? req->body.data : "";
}

void lx_http_response_set(lx_http_response *resp, int status,
                          const char *content_type, const char *s, size_t len)
{
    lx_http_response_take(resp, status, content_type, lx_xstrndup(s, len),
                          len);
}

void lx_http_response_take(lx_http_response *resp, int status,
                           const char *content_type, char *body, size_t len)
{
    LX_ASSERT(body || len == 0);
    free(resp->body);
    resp->status = status;
    resp->content_type = content_type;
    resp->body = body;
    resp->body_len = len;
}

void lx_http_response_header(lx_http_response *resp, const char *name,
                             const char *value)
{
    LX_ASSERT(resp->header_count < LX_HTTP_HEADERS_MAX);
    resp->header_names[resp->header_count] = lx_xstrdup(name);
    resp->header_values[resp->header_count] = lx_xstrdup(value);
    resp->header_count++;
}

static void response_fini(lx_http_response *r)
{
    free(r->body);
    for (size_t i = 0; i < r->header_count; i++) {
        free(r->header_names[i]);
        free(r->header_values[i]);
    }
}

static enum MHD_Result send_response(struct MHD_Connection *conn, lx_http_response *r)
{
    /* The body is malloc'd and ours: MHD takes it and frees it once sent,
     * instead of copying it. */
    struct MHD_Response *m;
    if (r->body && r->body_len) {
        m = MHD_create_response_from_buffer(r->body_len, r->body,
                                            MHD_RESPMEM_MUST_FREE);
        r->body = NULL;
    } else {
        m = MHD_create_response_from_buffer(0, (void *)"",
                                            MHD_RESPMEM_PERSISTENT);
    }
    LX_ASSERT(m);
    MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->content_type ? r->content_type
                                            : "application/json");
    for (size_t i = 0; i < r->header_count; i++)
        MHD_add_response_header(m, r->header_names[i], r->header_values[i]);
    enum MHD_Result ok = MHD_queue_response(
        conn, (unsigned)(r->status ? r->status : 200), m);
    MHD_destroy_response(m);
    response_fini(r);
    return ok;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
                                 const char *url, const char *method,
                                 const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    (void)version;
    lx_http_server *srv = cls;
    lx_http_request *req = *con_cls;
    if (!req) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
            conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        LX_ASSERT(ci && ci->socket_context);
        req = ci->socket_context;
        lx_buf_reset(&req->body);
        req->too_large = false;
        req->method = method;
        req->path = url;
        /* One allocation for an announced body rather than doubling up
         * from 256 bytes; a length past the ceiling is left to the append,
         * which says 413. At most 1 MiB ahead of the bytes themselves, so
         * that announcing large bodies on many idle connections reserves
         * no memory worth having. */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     "Content-Length");
        if (cl) {
            char *end;
            unsigned long long n = strtoull(cl, &end, 10);
            if (end != cl && *end == '\0' && n > 0 && n <= srv->max_body &&
                lx_buf_reserve(&req->body, n < ((size_t)1 << 20)
                                               ? (size_t)n
                                               : (size_t)1 << 20) != 0)
                req->too_large = true; /* not reached: n is under max */
        }
        *con_cls = req;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!req->too_large &&
            lx_buf_append(&req->body, upload, *upload_size) != 0)
            req->too_large = true;
        *upload_size = 0;
        return MHD_YES;
    }
    lx_http_response resp = {0};
    if (req->too_large)
        lx_buf_reset(&req->body);
    srv->fn(srv->ctx, req, &resp);
    if (req->too_large && resp.status != 413) {
        char msg[160];
        int n = snprintf(msg, sizeof(msg),
                         "{\"code\":\"LX_ELIMIT\",\"message\":\"request body "
                         "over the limit of %zu bytes\"}",
                         srv->max_body);
        lx_http_response_set(&resp, 413, "application/json", msg, (size_t)n);
    }
    return send_response(conn, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    lx_http_request *req = *con_cls;
    if (req) {
        /* The connection's state waits for its next request. */
        if (req->body.cap > BODY_KEEP_MAX)
            lx_buf_fini(&req->body);
        else
            lx_buf_reset(&req->body);
        req->too_large = false;
        req->method = req->path = NULL;
        *con_cls = NULL;
    }
}

static void on_connection(void *cls, struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    lx_http_server *srv = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        lx_http_request *req = lx_xcalloc(1, sizeof(*req));
        req->conn = conn;
        lx_buf_init(&req->body, srv->max_body);
        *socket_context = req;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        lx_http_request *req = *socket_context;
        if (req) {
            lx_buf_fini(&req->body);
            free(req);
            *socket_context = NULL;
        }
    }
}

/* libmicrohttpd's own diagnostics go through our logger (one line each). */
static void mhd_log(void *cls, const char *fmt, va_list ap) LX_PRINTF(2, 0);
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    lx_log_warn(NULL, "http: %s", line);
}

/* "host:port" or "[v6]:port" -> sockaddr. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss,
                        lx_error *err)
{
    char host[128];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen)
        return lx_error_set(err, LX_EINVAL, "listen address '%s' is not "
                                            "host:port", listen);
    size_t hl = (size_t)(colon - listen);
    if (hl >= sizeof(host))
        return lx_error_set(err, LX_EINVAL, "listen host is too long");
    memcpy(host, listen, hl);
    host[hl] = '\0';
    char *end = NULL;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || port > 65535)
        return lx_error_set(err, LX_EINVAL, "listen port of '%s' is not a "
                                            "number from 0 to 65535", listen);
    memset(ss, 0, sizeof(*ss));
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
            return lx_error_set(err, LX_EINVAL, "'%s' is not an IPv6 address",
                                host + 1);
        return 0;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
        return lx_error_set(err, LX_EINVAL, "'%s' is not an IPv4 address "
                                            "(use a numeric address)", host);
    return 0;
}

int lx_http_server_start(const lx_http_server_options *opts,
                         lx_http_handler_fn fn, void *ctx,
                         lx_http_server **out, lx_error *err)
{
    *out = NULL;
    struct sockaddr_storage ss;
    int rc = parse_listen(opts->listen, &ss, err);
    if (rc != 0)
        return rc;
    lx_http_server *srv = lx_xcalloc(1, sizeof(*srv));
    srv->fn = fn;
    srv->ctx = ctx;
    srv->max_body = opts->max_body ? opts->max_body : LX_JSON_MAX_DEFAULT;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    uint16_t port = ss.ss_family == AF_INET6
                        ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                        : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    srv->daemon = MHD_start_daemon(
        flags, port, NULL, NULL, on_access, srv, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, srv, MHD_OPTION_SOCK_ADDR, &ss,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
        MHD_OPTION_CONNECTION_LIMIT,
        opts->max_connections ? opts->max_connections : 256u,
        MHD_OPTION_CONNECTION_TIMEOUT, opts->timeout_s ? opts->timeout_s : 30u,
        MHD_OPTION_END);
    if (!srv->daemon) {
        int e = errno;
        free(srv);
        lx_error_set(err, LX_EIO, "cannot listen on %s: %s", opts->listen,
                     e ? strerror(e) : "address in use or not permitted");
        return LX_EIO;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : port;
    *out = srv;
    return 0;
}

void lx_http_server_stop(lx_http_server **sp)
{
    lx_http_server *srv = *sp;
    if (!srv)
        return;
    *sp = NULL;
    MHD_stop_daemon(srv->daemon);
    free(srv);
}

unsigned lx_http_server_port(const lx_http_server *srv) { return srv->port; }
