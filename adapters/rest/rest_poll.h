/* adapters/rest/rest_poll.h: inbound polling of a REST system: GET pages
 * of records changed since a cursor, on a schedule, on its own thread.
 *
 * The "poll" object of an inbound instance (docs/rest-adapter.md):
 *   {"url": "http://127.0.0.1:9102/api/holders?since={cursor}",
 *    "interval_ms": 5000,          pause between rounds (default 5000)
 *    "items": "/items",            the records in a page (default: the
 *                                  page itself is the list)
 *    "next": "/next",              the next page's URL in a page (absolute,
 *                                  or a path on the same host); absent,
 *                                  null or "" on the last page
 *    "cursor_from": "item:/updated_at" | "body:/cursor",
 *                                  the new since-cursor: a member of the
 *                                  page's last record, or of the page
 *    "initial_cursor": "",         {cursor} before the first page
 *    "max_pages": 100,             pages per round at most
 *    "timeout_ms": 10000}          per GET
 *
 * A round starts at the saved next-page URL when a pagination was under
 * way, else at "url" with {cursor} (escaped). Each page's records are
 * handed to the `page` callback (which stores them all or nothing); only
 * then are the new cursor and next-page URL saved, durably, in the
 * store's state "poll/<instance>" ({"cursor": ..., "next": ...}). So a
 * restart resumes at the first page not yet stored: no page is skipped,
 * and none is fetched again unless the hub died between storing a page
 * and saving its cursor (then storing it again changes nothing: unchanged
 * content writes no version and no event). A page that cannot be fetched,
 * parsed or stored ends the round without moving the cursor; the error is
 * logged with its location and the page is tried again next round.
 *
 * Threads: one thread per poller; the page callback runs on it. */
#ifndef LX_ADAPTERS_REST_POLL_H
#define LX_ADAPTERS_REST_POLL_H

#include "adapters/rest/rest_auth.h"
#include "canonical/store.h"
#include "core/error.h"

#include <jansson.h>
#include <stdint.h>

typedef struct lx_rest_poll lx_rest_poll;

/* Store the records of one page: `records` is the list (borrowed), `at`
 * its pointer in the page ("/items"). Return 0 when they are durably
 * stored, or an error code with err filled (the cursor stays). */
typedef int (*lx_rest_page_fn)(void *ctx, const json_t *records,
                               const char *at, lx_error *err);

typedef struct lx_rest_poll_options {
    const char *instance;  /* names the state key; copied */
    lx_store *store;       /* borrowed; outlives the poller */
    const json_t *conf;    /* the "poll" object, borrowed during start */
    lx_rest_auth *auth;    /* borrowed (may be NULL); outlives the poller */
    lx_rest_page_fn page;
    void *ctx;
} lx_rest_poll_options;

/* Check the configuration and start the thread (the first round starts at
 * once). Errors: LX_ECONFIG naming the member ("poll/next: ..."), LX_EIO
 * (thread). */
LX_NODISCARD int lx_rest_poll_start(const lx_rest_poll_options *opts,
                                    lx_rest_poll **out, lx_error *err);

/* Stop after the page in progress, join, free. NULL is fine. */
void lx_rest_poll_stop(lx_rest_poll **p);

/* Pages stored so far by this poller (since start). */
uint64_t lx_rest_poll_pages(lx_rest_poll *p);

#endif
