/* core/http_client.h: outbound HTTP calls (libcurl).
 *
 * A client keeps one curl handle and its connection cache, so consecutive
 * calls to the same target reuse the connection (keep-alive). A client is
 * used by one thread at a time; create one per delivery thread. Only this
 * module includes curl/curl.h. */
#ifndef LX_CORE_HTTP_CLIENT_H
#define LX_CORE_HTTP_CLIENT_H

#include "core/error.h"

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

/* Percent-encode s for a URL query or path segment (RFC 3986 unreserved
 * characters stay). Returns a malloc'd string. */
char *lx_http_escape(const char *s);

#endif
