/* core/http_client.h: outbound HTTP calls (libcurl).
 *
 * A client keeps one curl handle and its connection cache, so consecutive
 * calls to the same target reuse the connection (keep-alive). A client is
 * used by one thread at a time; create one per delivery thread. A multi
 * (below) runs several calls at once on one thread. Only this
 * module includes curl/curl.h. */
#ifndef LX_CORE_HTTP_CLIENT_H
#define LX_CORE_HTTP_CLIENT_H

#include "core/error.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct lx_http_client lx_http_client;

#define LX_HTTP_CALL_HEADERS_MAX 16

typedef struct lx_http_call {
    const char *method;   /* "GET", "PUT", "POST", "DELETE", "PATCH" */
    const char *url;
    const char *headers[LX_HTTP_CALL_HEADERS_MAX]; /* "Name: value", NULL-ended */
    const char *body;     /* may be NULL */
    size_t body_len;
    long timeout_ms;      /* whole call; default 10000 */
    long connect_timeout_ms; /* default 3000 */
} lx_http_call;

typedef struct lx_http_result {
    long status;          /* HTTP status, 0 when no response */
    char *body;           /* malloc'd, NUL-terminated (may be empty) */
    size_t body_len;
    char location[1024];  /* Location header, "" when absent */
    char etag[256];       /* ETag header, "" when absent */
    char content_type[128];
    double elapsed_ms;
} lx_http_result;

/* Errors: LX_EIO (curl could not be initialised). */
LX_NODISCARD int lx_http_client_new(lx_http_client **out, lx_error *err);
void lx_http_client_destroy(lx_http_client **c);

/* Perform one call and wait for its response. Any HTTP status is a
 * success here (look at res->status); errors are the transport's:
 * LX_ETIMEOUT, LX_EREMOTE (cannot connect, connection reset, TLS ...),
 * LX_ELIMIT (response body over max_body bytes; default 16 MiB).
 * res is always initialised; release it with lx_http_result_fini. */
LX_NODISCARD int lx_http_client_perform(lx_http_client *c,
                                        const lx_http_call *call,
                                        lx_http_result *res, lx_error *err);

void lx_http_result_fini(lx_http_result *res);

/* ---- several calls in flight on one thread (curl multi) ----
 *
 * A multi keeps up to max_conns keep-alive connections per host and runs
 * the calls started on it concurrently; each call is answered exactly
 * once by lx_http_multi_done. It belongs to one thread, except
 * lx_http_multi_wakeup, which any thread may call. */
typedef struct lx_http_multi lx_http_multi;

/* max_conns: connections per host (1..1024). Errors: LX_EINVAL, LX_EIO. */
LX_NODISCARD int lx_http_multi_new(unsigned max_conns, lx_http_multi **out,
                                   lx_error *err);
/* Abandons the calls in flight (their tags are never answered). NULL is
 * fine. */
void lx_http_multi_destroy(lx_http_multi **m);

/* Start `call`. Its strings (method, url, headers, body) are borrowed
 * until lx_http_multi_done hands back `tag`. Errors: LX_EIO. */
LX_NODISCARD int lx_http_multi_start(lx_http_multi *m,
                                     const lx_http_call *call, void *tag,
                                     lx_error *err);

/* Move the transfers on, waiting at most timeout_ms for the network or a
 * wakeup when nothing is ready. */
void lx_http_multi_poll(lx_http_multi *m, int timeout_ms);

/* One finished call, if any: true with *tag, *res (always initialised,
 * release with lx_http_result_fini) and *rc, 0 or the transport error of
 * lx_http_client_perform (err filled). false when none is finished. */
bool lx_http_multi_done(lx_http_multi *m, void **tag, lx_http_result *res,
                        int *rc, lx_error *err);

/* Calls started and not yet answered by lx_http_multi_done. */
size_t lx_http_multi_active(const lx_http_multi *m);

/* Make a lx_http_multi_poll in progress (or the next one) return now.
 * Thread-safe. */
void lx_http_multi_wakeup(lx_http_multi *m);

/* Percent-encode s for a URL query or path segment (RFC 3986 unreserved
 * characters stay). Returns a malloc'd string. */
char *lx_http_escape(const char *s);

#endif
