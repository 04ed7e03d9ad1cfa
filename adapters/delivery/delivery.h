/* adapters/delivery/delivery.h: the delivery engine of one outbound
 * adapter instance.
 *
 * A delivery runs on its own thread. It reads the event log after its
 * durable cursor (named "deliver:<instance>"), skips events that are not
 * subscribed or that originated from its own system (echo suppression),
 * asks the adapter to turn each event into an HTTP call, performs it
 * (keep-alive connection), and on success records the target's native id
 * in the cross-reference and advances the cursor (both written in batches,
 * at most cursor_interval_ms late; ids are written before a record that
 * refers to others is translated). Delivery is at least
 * once: the cursor is saved after the call succeeded (in batches, at most
 * `cursor_interval_ms` late), so a crash may repeat a call, never skip one.
 * Transport errors and 5xx are retried with exponential backoff and
 * jitter, in order: a record's later changes never overtake earlier ones.
 * A 4xx is not retried blindly, and retries end after max_attempts: the
 * event goes to the dead-letter list (store state "dlq/<instance>/<seq>",
 * with the reason, the request and the start of the last response) and
 * delivery goes on. Operators replay a dead letter by setting its "state"
 * to "replay" (`lingua dlq replay`), or rewind the whole subscription by
 * writing "replay/<instance>" = first sequence (`lingua replay`); the
 * delivery thread picks both up within a second.
 *
 * Concurrency: up to `concurrency` calls are in flight at once (curl
 * multi, as many keep-alive connections to the target). Events of one
 * canonical record are never reordered nor overlapped: a later change of
 * record R starts only once the earlier one is delivered, skipped or
 * dead-lettered. An event whose record refers to other records (a
 * coverage to its person) starts only once every earlier event is done,
 * so the target ids of those records are known when it is translated.
 * While an event waits for a retry no new event starts: a target that is
 * down sees at most `concurrency` events retried, not the whole log. The
 * cursor advances past a sequence only when every event up to it is done,
 * so "at least once, never skip" holds with any concurrency; after a
 * crash, calls that were in flight or done past the cursor are repeated.
 * An adapter's `perform` runs inline on the delivery thread (one call at
 * a time, ordering as above). Memory is bounded: at most a window of
 * events after the cursor is read ahead (window_max, default 64 + 4 per
 * concurrent call), whatever the backlog. The deliveries of one store
 * parse each event once between them (delivery_event.h). */
#ifndef LX_ADAPTERS_DELIVERY_H
#define LX_ADAPTERS_DELIVERY_H

#include "canonical/store.h"
#include "core/error.h"
#include "core/http_client.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct lx_delivery lx_delivery;

#define LX_DELIVERY_URL_MAX 2048

/* One call prepared by an adapter. Strings are owned by the adapter's
 * `prepare` until `release` is called. */
typedef struct lx_outbound_call {
    lx_http_call http;        /* method, url, headers, body */
    char url[LX_DELIVERY_URL_MAX];
    char native_type[LX_STORE_NAME_MAX + 1]; /* for the cross-reference */
    char *body;               /* malloc'd; http.body points into it */
    char *extra[4];           /* malloc'd header lines, if any */
} lx_outbound_call;

/* What an outbound adapter provides. Called on the delivery thread. */
typedef struct lx_outbound_ops {
    /* Turn `event` (the parsed event JSON, borrowed; the tree is shared
     * with the hub's other deliveries, so it must not be changed, not
     * even through a reference taken to a part of it) into a call. Return 0
     * with *skip = false to deliver, 0 with *skip = true when there is
     * nothing to send for this event, or an error code (the event is
     * refused like a 4xx, with err as the reason). */
    int (*prepare)(void *ctx, lx_store *store, const json_t *event,
                   lx_outbound_call *call, bool *skip, lx_error *err);
    /* After a 2xx: write the target's id of the record into native_id
     * (size bytes), or "" when the response does not say. */
    void (*native_id)(void *ctx, const json_t *event,
                      const lx_http_result *res, char *native_id,
                      size_t size);
    void *ctx;
    /* Optional: perform the call instead of HTTP (an adapter that writes
     * files to an outbox, say). Fill res like lx_http_client_perform:
     * res->status 2xx on success, 4xx for a refusal that must not be
     * retried; return an error code (err filled) for a failure that is
     * retried like a transport error. res->body may be left NULL. */
    int (*perform)(void *ctx, const lx_outbound_call *call,
                   lx_http_result *res, lx_error *err);
} lx_outbound_ops;

typedef struct lx_delivery_options {
    const char *instance;   /* adapter instance name (cursor name) */
    const char *system;     /* target system: echo suppression, xref */
    const char *const *subscribe; /* NULL-ended topic patterns, "person.*",
                                     "*"; NULL = everything */
    unsigned backoff_base_ms;   /* first retry delay (default 200) */
    unsigned backoff_max_ms;    /* ceiling (default 30000) */
    unsigned cursor_interval_ms;/* cursor saved at most this late (50) */
    long timeout_ms;            /* per call (default 10000) */
    unsigned max_attempts;      /* transport errors and 5xx are retried up
                                   to this many attempts (default 20: with
                                   the default backoff, about 8 minutes) */
    unsigned concurrency;       /* calls in flight at once, 1..256
                                   (default 8; 1 = one after the other,
                                   strictly in log order) */
    uint64_t max_lag;           /* events behind the head of the log past
                                   which the instance is "lagging" (stats,
                                   /health, /metrics); default 10000 */
    unsigned window_max;        /* events read ahead of the cursor, at most
                                   (default 64 + 4 * concurrency, <= 4096) */
} lx_delivery_options;

/* Start delivering. store and ops must outlive the delivery; opts strings
 * are copied. Errors: LX_EINVAL, LX_EIO (thread, curl). */
LX_NODISCARD int lx_delivery_start(lx_store *store,
                                   const lx_delivery_options *opts,
                                   const lx_outbound_ops *ops,
                                   lx_delivery **out, lx_error *err);

/* Wake the thread: new events were committed. Thread-safe, cheap. */
void lx_delivery_notify(lx_delivery *d);

/* Stop, save the cursor, join. Calls still in flight are abandoned (they
 * are after the cursor: repeated on the next start). NULL is fine. */
void lx_delivery_stop(lx_delivery **d);

typedef struct lx_delivery_stats {
    uint64_t cursor;     /* last event handled (delivered or skipped) */
    uint64_t delivered;  /* 2xx calls */
    uint64_t skipped;    /* not subscribed, own origin, nothing to send */
    uint64_t refused;    /* 4xx or adapter errors */
    uint64_t retries;    /* retried attempts */
    bool failing;        /* an event is being retried */
    unsigned in_flight;  /* calls in flight now */
    uint64_t lag;        /* events in the log after the cursor */
    uint64_t max_lag;    /* the configured limit */
    bool lagging;        /* lag > max_lag */
} lx_delivery_stats;
/* Thread-safe. */
void lx_delivery_stats_get(lx_delivery *d, lx_delivery_stats *out);

/* True when `topic` ("person.updated") matches one of the patterns:
 * "person.updated", "person.*", "*". */
bool lx_delivery_topic_matches(const char *const *patterns, const char *topic);

#endif
