/* tests/bench/bench_delivery_target.h: the delivery benchmark's FHIR
 * target, made to cost as little as possible so that the benchmark
 * measures the hub: one thread, epoll, non-blocking keep-alive
 * connections, HTTP/1.1 requests parsed just enough (head, Content-Length)
 * and answered with one write() each (201 + Location, no body). It records
 * which test Patient each request carried (from the conditional update's
 * ?identifier=...%7C<ident>, else from the body) and when it arrived.
 *
 * Threads: the accessors may be called from any thread. */
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

#endif
