/* adapters/delivery/delivery_book.h: the bookkeeping of one delivery
 * (target ids for the cross-reference, trace steps, the cursor), written
 * by a thread of its own.
 *
 * Every store write waits for a commit (and its fsync); done on the
 * delivery thread, they would stall every call in flight for a few
 * milliseconds per batch. The delivery thread fills one batch while this
 * thread writes the previous one: target ids first, then trace steps, then
 * the cursor, so a cursor is never durable before the ids of the events it
 * covers.
 *
 * Threads: every function but start/stop is called by the delivery thread
 * only; start and stop by its owner. */
#ifndef LX_ADAPTERS_DELIVERY_BOOK_H
#define LX_ADAPTERS_DELIVERY_BOOK_H

#include "canonical/store.h"
#include "core/error.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct lx_delivery_book lx_delivery_book;

/* The strings are copied. The cursor written is `cursor_name`, starting
 * from `cursor` (the value already stored). Errors: LX_EIO (thread). */
LX_NODISCARD int lx_delivery_book_start(lx_store *store, const char *instance,
                                        const char *system,
                                        const char *cursor_name,
                                        uint64_t cursor,
                                        lx_delivery_book **out,
                                        lx_error *err);

/* Write what is queued (with the last cursor given), join. NULL is fine. */
void lx_delivery_book_stop(lx_delivery_book **b);

/* Queue the target's id of a record (key: the delivery's record key). The
 * strings are copied. Waits for the writer when the batch is full. */
void lx_delivery_book_link(lx_delivery_book *b, uint64_t key,
                           const char *entity, const char *cid,
                           const char *native_type, const char *native_id);

/* Queue a trace step: both strings are taken (malloc'd). */
void lx_delivery_book_trace(lx_delivery_book *b, char *trace_id, char *step);

/* Whether a target id of record `key` is queued or being written, i.e.
 * not yet readable in the store. key 0: any record. */
bool lx_delivery_book_link_pending(lx_delivery_book *b, uint64_t key);

/* Anything queued that the writer has not been handed yet. */
bool lx_delivery_book_dirty(const lx_delivery_book *b, uint64_t cursor);

/* Hand the queued batch and `cursor` to the writer. wait false: only when
 * the writer is idle (returns false when it is busy: try later); wait
 * true: wait for it, and until this batch is written (returns true). */
bool lx_delivery_book_flush(lx_delivery_book *b, uint64_t cursor, bool wait);

#endif
