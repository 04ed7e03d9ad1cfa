/* core/bus.h: the ZeroMQ bus (hub side and client side).
 *
 * The hub side owns two sockets on one thread (the bus thread):
 *   PUB     events as [topic, event JSON], best effort: at the high-water
 *           mark ZeroMQ drops silently, so every event carries its sequence
 *           and subscribers fill gaps by replay;
 *   ROUTER  requests as [command, request id, body JSON] from DEALER (or
 *           REQ) clients, answered with one or more
 *           [status, request id, body JSON] messages.
 * Nothing else touches the sockets: other threads publish and reply through
 * a queue the bus thread drains when a wake fd fires. The wire protocol is
 * in docs/bus.md. Only this module includes zmq.h. */
#ifndef LX_CORE_BUS_H
#define LX_CORE_BUS_H

#include "core/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lx_bus lx_bus;
typedef struct lx_bus_request lx_bus_request; /* one client request */

typedef struct lx_bus_options {
    const char *pub_endpoint;    /* e.g. "tcp://127.0.0.1:5560" */
    const char *router_endpoint; /* e.g. "tcp://127.0.0.1:5561" */
    size_t queue_max;  /* publishes waiting for the bus thread (default
                          65536); past it a publish is dropped, like PUB */
    int pub_hwm;       /* ZMQ_SNDHWM of PUB (default 100000) */
    size_t max_request; /* largest request body accepted (default 16 MiB) */
} lx_bus_options;

/* Called on the bus thread for every well-formed request. It must not
 * block: hand slow work to another thread and reply from there. The
 * request stays valid until lx_bus_reply(..., last = true). */
typedef void (*lx_bus_request_fn)(void *ctx, lx_bus *bus,
                                  lx_bus_request *req);

/* Bind both sockets and start the bus thread. Errors: LX_EIO (cannot bind:
 * the message names the endpoint and the reason, e.g. address in use). */
LX_NODISCARD int lx_bus_open(const lx_bus_options *opts, lx_bus_request_fn fn,
                             void *ctx, lx_bus **out, lx_error *err);

/* Stop the thread, send what is queued (bounded linger), close. Requests
 * never answered are dropped. NULL is fine; *bus is set to NULL. */
void lx_bus_close(lx_bus **bus);

/* Queue an event for PUB. Copies topic and payload. Thread-safe, never
 * blocks. Returns LX_ELIMIT when the queue is full (the event is dropped:
 * subscribers recover it by replay). */
int lx_bus_publish(lx_bus *bus, const char *topic, const char *payload,
                   size_t len);

/* The request's command ("INGEST", "GET", ...) and body (NUL-terminated;
 * *len may be NULL). Borrowed from the request. */
const char *lx_bus_request_command(const lx_bus_request *req);
const char *lx_bus_request_body(const lx_bus_request *req, size_t *len);

/* Queue one reply message [status, body] to the request's client. With
 * last = true the request is released and must not be used again.
 * Thread-safe. */
void lx_bus_reply(lx_bus *bus, lx_bus_request *req, const char *status,
                  const char *body, size_t len, bool last);

typedef struct lx_bus_stats {
    uint64_t published;  /* events handed to PUB */
    uint64_t dropped;    /* events dropped because the queue was full */
    uint64_t requests;   /* requests received */
    uint64_t malformed;  /* requests refused before the handler */
} lx_bus_stats;
void lx_bus_stats_get(lx_bus *bus, lx_bus_stats *out);

/* ---- client side (CLI, tests, external adapters written in C) ---- */

typedef struct lx_bus_client lx_bus_client;

/* Connect a DEALER to router_endpoint. Connecting never fails for a hub
 * that is down: requests then time out. Errors: LX_EINVAL (endpoint). */
LX_NODISCARD int lx_bus_client_open(const char *router_endpoint,
                                    lx_bus_client **out, lx_error *err);
void lx_bus_client_close(lx_bus_client **c);

/* Send [command, request id, body] and wait for the reply with the same
 * request id (replies with another id are skipped, so a late answer to an
 * earlier timed-out request is never taken for this one). body is
 * borrowed. On success *status is "OK" or "ERR" (static strings) and
 * *reply a new reference to the body. Errors: LX_ETIMEOUT (no answer within
 * timeout_ms), LX_EREMOTE (unreadable reply). */
LX_NODISCARD int lx_bus_client_call(lx_bus_client *c, const char *command,
                                    json_t *body, int timeout_ms,
                                    const char **status, json_t **reply,
                                    lx_error *err);

/* REPLAY from `from`, at most `limit` events per page, calling fn with each
 * event's JSON text (valid during the call) until the log's end or fn
 * returns non-zero. *next receives the sequence to continue from. */
typedef int (*lx_bus_event_fn)(void *ctx, uint64_t seq, const char *event,
                               size_t len);
LX_NODISCARD int lx_bus_client_replay(lx_bus_client *c, uint64_t from,
                                      size_t limit, int timeout_ms,
                                      lx_bus_event_fn fn, void *ctx,
                                      uint64_t *next, lx_error *err);

/* A SUB socket on pub_endpoint subscribed to topics starting with
 * `prefix` ("" for all). */
typedef struct lx_bus_sub lx_bus_sub;
LX_NODISCARD int lx_bus_sub_open(const char *pub_endpoint, const char *prefix,
                                 lx_bus_sub **out, lx_error *err);
void lx_bus_sub_close(lx_bus_sub **s);

/* Wait up to timeout_ms for one event. On success *payload is malloc'd
 * (free()), NUL-terminated, and topic (if not NULL) holds the topic.
 * Errors: LX_ETIMEOUT, LX_EREMOTE (malformed message). */
LX_NODISCARD int lx_bus_sub_recv(lx_bus_sub *s, int timeout_ms, char *topic,
                                 size_t topic_size, char **payload,
                                 size_t *len, lx_error *err);

#endif
