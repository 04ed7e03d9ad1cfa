/* tests/bench/bench_delivery_target.h: the delivery benchmark's two
 * loopback peers of the hub, both made to cost as little as possible so
 * that the benchmark measures the hub.
 *
 * bdt_*: the FHIR target the hub delivers to. One thread, epoll,
 * non-blocking keep-alive connections, HTTP/1.1 requests parsed just
 * enough (head, Content-Length) and answered with one write() each (201 +
 * Location, no body). It records which test Patient each request carried
 * (from the conditional update's ?identifier=...%7C<ident>, else from the
 * body) and when it arrived. Its accessors may be called from any thread.
 *
 * bdl_*: the inbound load generator (below). */
#ifndef LX_TESTS_BENCH_DELIVERY_TARGET_H
#define LX_TESTS_BENCH_DELIVERY_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bdt bdt;

typedef struct bdt_got {
    char ident[32];
    uint64_t at_us; /* dlv_now_us() when the request was complete */
} bdt_got;

/* Start on a free loopback port. paused: nothing is read until
 * bdt_release (connections wait in the kernel). Aborts on error. */
bdt *bdt_start(bool paused);
int bdt_port(const bdt *t);
void bdt_release(bdt *t);
size_t bdt_count(bdt *t);
bdt_got bdt_get(bdt *t, size_t i);
/* Wait until n requests were answered: 0, or -1 after timeout_ms. */
int bdt_wait(bdt *t, size_t n, int timeout_ms);
/* Connections accepted so far (keep-alive: stays at the concurrency). */
size_t bdt_connections(bdt *t);
void bdt_stop(bdt **t);

/* The calling thread runs at nice -10 if allowed (root), so that the
 * bench's peers take their timestamps when things happen rather than
 * when the CPU is free of the hub's threads; true when applied. The
 * target's thread and bdl_run's caller do this themselves. */
bool bd_peer_priority(void);

/* bdl_*: the inbound load, POSTs of new Patients to the hub, on the
 * calling thread: epoll, raw HTTP/1.1 keep-alive connections, one request
 * in flight per connection (the hub's server does not pipeline), each
 * request formatted into a buffer and sent with one write().
 *
 * Open loop (rate > 0): request j is due at t0 + j / rate (a timerfd wakes
 * the thread) and goes out on an idle connection; when none is idle a new
 * one is opened, up to conns_max; only past that does it wait for a
 * connection (counted in waited_conn). A request is *late* when it leaves
 * more than 1 ms after it was due (no connection, or this thread did not
 * get the CPU): counted, and its latency still runs from when it was due.
 * Closed loop (rate 0): conns connections, each sends its next request as
 * soon as the previous one is answered (due = sent), for `seconds`.
 *
 * The body of request j is body_pre + <prefix><j> + body_post. */
typedef struct bdl_opts {
    int port;              /* the hub's HTTP port on 127.0.0.1 */
    const char *path;      /* "/fhir/r4/Patient" */
    const char *prefix;    /* idents: <prefix><j>, prefix < 8 bytes */
    const char *body_pre, *body_post;
    double rate;           /* requests/s; 0: closed loop */
    size_t count;          /* requests (closed loop: at most) */
    double seconds;        /* closed loop: how long to send */
    unsigned conns;        /* opened at the start (closed loop: senders) */
    unsigned conns_max;    /* open loop: opened on demand up to this */
} bdl_opts;

typedef struct bdl_result {
    size_t sent, ok, errors;   /* ok: answered 201 */
    long first_error_status;   /* 0: none; -1: the connection failed */
    uint64_t *due_us, *sent_us, *ack_us; /* [count]; ack 0: not a 201 */
    size_t late;               /* sent > 1 ms after due (open loop) */
    uint64_t late_max_us;
    size_t waited_conn;        /* of them: no connection was free */
    unsigned conns_peak;       /* connections open at once, at most */
    uint64_t t0_us, end_us;    /* first due, last answer */
    bool niced;                /* ran at nice -10 (bd_peer_priority) */
} bdl_result;

/* Run the load; aborts on a setup error (socket, connect). The result's
 * arrays are malloc'd: bdl_result_fini. */
void bdl_run(const bdl_opts *o, bdl_result *r);
void bdl_result_fini(bdl_result *r);

#endif
