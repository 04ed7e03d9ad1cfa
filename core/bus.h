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
 * in docs/bus.md. Only this module (bus.c, bus_key.c) includes zmq.h.
 *
 * Security (docs/bus.md "Security"): with a server key both sockets are
 * CurveZMQ servers (encrypted, and only listed peers get in: the bus
 * thread answers ZeroMQ's authentication requests, ZAP); without one they
 * are plain TCP, for loopback only. */
#ifndef LX_CORE_BUS_H
#define LX_CORE_BUS_H

#include "core/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lx_bus lx_bus;
typedef struct lx_bus_request lx_bus_request; /* one client request */

/* ---- CURVE keys: 40 characters of Z85 text (ZeroMQ's encoding of a
 * 32-byte key) ---- */
#define LX_BUS_KEY_LEN 40
typedef struct lx_bus_keypair {
    char public_key[LX_BUS_KEY_LEN + 1];
    char secret_key[LX_BUS_KEY_LEN + 1];
} lx_bus_keypair;

/* A peer allowed on a secured bus: its name (logs, traces, the request's
 * lx_bus_request_peer) and its public key. Both borrowed. */
typedef struct lx_bus_peer {
    const char *name;
    const char *public_key;
} lx_bus_peer;

/* Whether s is a key: exactly 40 characters of the Z85 alphabet. */
bool lx_bus_key_valid(const char *s);
/* A new keypair. Errors: LX_EIO (this libzmq has no CURVE). */
LX_NODISCARD int lx_bus_keypair_new(lx_bus_keypair *out, lx_error *err);
/* Write a new keypair to path as JSON {"public_key", "secret_key"}, mode
 * 0600; an existing file is never overwritten. *out (may be NULL) gets the
 * keys. Errors: LX_EIO (exists, cannot write), as lx_bus_keypair_new. */
LX_NODISCARD int lx_bus_key_write(const char *path, lx_bus_keypair *out,
                                  lx_error *err);
/* Read a key file written by lx_bus_key_write (or by hand). Refused, with
 * the file in the message: a file group or others may read (the secret
 * key is the hub's identity), not JSON, keys that are not Z85, a public
 * key that is not the secret key's. A file with only "public_key" (a
 * peer's or the hub's public half) is read with secret_key empty when
 * public_only. Errors: LX_EIO, LX_ECONFIG. */
LX_NODISCARD int lx_bus_key_read(const char *path, bool public_only,
                                 lx_bus_keypair *out, lx_error *err);

typedef struct lx_bus_options {
    const char *pub_endpoint;    /* e.g. "tcp://127.0.0.1:5560" */
    const char *router_endpoint; /* e.g. "tcp://127.0.0.1:5561" */
    size_t queue_max;  /* publishes waiting for the bus thread (default
                          65536); past it a publish is dropped, like PUB */
    int pub_hwm;       /* ZMQ_SNDHWM of PUB (default 100000) */
    size_t max_request; /* largest request body accepted (default 16 MiB) */
    /* CURVE: the hub's keypair (NULL: plain TCP) and the peers that may
     * connect to either socket. The hub's own public key is always
     * accepted, as peer "operator": whoever can read the hub's key file
     * (the CLI on the appliance) may use the bus. Copied at open. */
    const lx_bus_keypair *server_key;
    const lx_bus_peer *peers;
    size_t peers_n;
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

/* Replace the peers of a secured bus (a configuration reload): new
 * connections are checked against the new list; connections already made
 * stay. Copies. Thread-safe. Errors: LX_EINVAL (a plain bus, or a key
 * that is not a CURVE key: nothing changed). */
LX_NODISCARD int lx_bus_set_peers(lx_bus *bus, const lx_bus_peer *peers,
                                  size_t n, lx_error *err);

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
/* The authenticated peer's name on a secured bus, NULL on a plain one.
 * Borrowed from the request. */
const char *lx_bus_request_peer(const lx_bus_request *req);

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
    uint64_t refused;    /* connections refused by CURVE authentication */
} lx_bus_stats;
void lx_bus_stats_get(lx_bus *bus, lx_bus_stats *out);

/* ---- client side (CLI, tests, external adapters written in C) ---- */

typedef struct lx_bus_client lx_bus_client;

/* Connect a DEALER to router_endpoint. Connecting never fails for a hub
 * that is down: requests then time out. Errors: LX_EINVAL (endpoint). */
LX_NODISCARD int lx_bus_client_open(const char *router_endpoint,
                                    lx_bus_client **out, lx_error *err);

/* The keys a client needs on a secured bus: the hub's public key and its
 * own keypair (both borrowed, copied at open). */
typedef struct lx_bus_client_keys {
    const char *server_public_key;
    const lx_bus_keypair *own;
} lx_bus_client_keys;
/* lx_bus_client_open as a CURVE client (keys NULL: plain). A hub that
 * refuses the keys does not answer: requests time out. */
LX_NODISCARD int lx_bus_client_open_keys(const char *router_endpoint,
                                         const lx_bus_client_keys *keys,
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
/* The same as a CURVE client (keys NULL: plain). */
LX_NODISCARD int lx_bus_sub_open_keys(const char *pub_endpoint,
                                      const char *prefix,
                                      const lx_bus_client_keys *keys,
                                      lx_bus_sub **out, lx_error *err);
void lx_bus_sub_close(lx_bus_sub **s);

/* Wait up to timeout_ms for one event. On success *payload is malloc'd
 * (free()), NUL-terminated, and topic (if not NULL) holds the topic.
 * Errors: LX_ETIMEOUT, LX_EREMOTE (malformed message). */
LX_NODISCARD int lx_bus_sub_recv(lx_bus_sub *s, int timeout_ms, char *topic,
                                 size_t topic_size, char **payload,
                                 size_t *len, lx_error *err);

#endif
