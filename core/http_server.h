/* core/http_server.h: the hub's HTTP server (libmicrohttpd).
 *
 * One handler function serves every request; it runs on one of the
 * server's threads (one per connection), may block (for instance until a
 * store commit is durable), and fills a response. The request body is read
 * whole before the handler runs, up to max_body bytes: a larger body is
 * answered 413 without calling the handler. Only this module includes
 * microhttpd.h. */
#ifndef LX_CORE_HTTP_SERVER_H
#define LX_CORE_HTTP_SERVER_H

#include "core/error.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct lx_http_server lx_http_server;
typedef struct lx_http_request lx_http_request; /* opaque, borrowed */

#define LX_HTTP_HEADERS_MAX 16

typedef struct lx_http_response {
    int status;                /* default 200 */
    const char *content_type;  /* static string; default application/json */
    char *body;                /* malloc'd, owned by the response (freed) */
    size_t body_len;
    /* Extra headers: names and values are copied by lx_http_response_header. */
    char *header_names[LX_HTTP_HEADERS_MAX];
    char *header_values[LX_HTTP_HEADERS_MAX];
    size_t header_count;
} lx_http_response;

typedef void (*lx_http_handler_fn)(void *ctx, const lx_http_request *req,
                                   lx_http_response *resp);

typedef struct lx_http_server_options {
    const char *listen;      /* "127.0.0.1:8080" or "[::1]:8080" */
    size_t max_body;         /* bytes; default 16 MiB */
    unsigned max_connections;/* default 256 */
    unsigned timeout_s;      /* idle connection timeout, default 30 */
} lx_http_server_options;

/* Start listening. Errors: LX_EINVAL (listen address), LX_EIO (cannot bind:
 * address in use, permission). */
LX_NODISCARD int lx_http_server_start(const lx_http_server_options *opts,
                                      lx_http_handler_fn fn, void *ctx,
                                      lx_http_server **out, lx_error *err);

/* Stop accepting, wait for running handlers, free. NULL is fine. */
void lx_http_server_stop(lx_http_server **srv);

/* The port actually bound (useful with port 0). */
unsigned lx_http_server_port(const lx_http_server *srv);

/* Request accessors; strings are borrowed for the handler's duration. */
const char *lx_http_method(const lx_http_request *req);
const char *lx_http_path(const lx_http_request *req);       /* decoded */
const char *lx_http_header(const lx_http_request *req, const char *name);
const char *lx_http_query(const lx_http_request *req, const char *name);
const char *lx_http_body(const lx_http_request *req, size_t *len);
bool lx_http_body_too_large(const lx_http_request *req);

/* Set status, content type (a static string) and a copy of s[0..len). */
void lx_http_response_set(lx_http_response *resp, int status,
                          const char *content_type, const char *s,
                          size_t len);
/* The same, taking body[0..len) itself: malloc'd, owned by the response
 * from here on (NULL only with len 0). Saves a copy of a body the caller
 * built, e.g. with lx_buf_take. */
void lx_http_response_take(lx_http_response *resp, int status,
                           const char *content_type, char *body, size_t len);
void lx_http_response_header(lx_http_response *resp, const char *name,
                             const char *value);

#endif
