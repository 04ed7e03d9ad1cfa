/* conformance/target.h: the target system the runner plays toward an
 * outbound adapter: a loopback HTTP server (127.0.0.1, a free port) that
 * records every call and answers like a willing server (201 with a
 * Location for PUT and POST, 204 for DELETE, 200 otherwise).
 *
 * The server gives a handler only the headers and query parameters it asks
 * for by name, so the runner says beforehand which ones the expected calls
 * name (lx_conform_target_capture); Content-Type is always kept.
 *
 * Threads: the server answers on its own threads; every function here may
 * be called from any thread. */
#ifndef LX_CONFORMANCE_TARGET_H
#define LX_CONFORMANCE_TARGET_H

#include "core/error.h"

#include <jansson.h>
#include <stdbool.h>

typedef struct lx_conform_target lx_conform_target;

#define LX_CONFORM_TARGET_CALLS_MAX 256

/* Start the server. Errors: LX_EIO (cannot bind). */
LX_NODISCARD int lx_conform_target_start(lx_conform_target **out,
                                         lx_error *err);
void lx_conform_target_stop(lx_conform_target **t);

/* "http://127.0.0.1:PORT/target": the base URL to configure the adapter
 * with (borrowed). Recorded paths are relative to it. */
const char *lx_conform_target_url(const lx_conform_target *t);

/* Forget recorded calls; from now on record these headers and query
 * parameters (JSON arrays of names, borrowed for the call; may be NULL). */
void lx_conform_target_reset(lx_conform_target *t, const json_t *headers,
                             const json_t *query);

/* Wait (at most timeout_ms) until a recorded call contains `marker` in its
 * path, query or body; true with its index in *index. */
bool lx_conform_target_wait(lx_conform_target *t, const char *marker,
                            unsigned timeout_ms, size_t *index);

/* Answer as a plain JSON API (true) instead of a FHIR server (false, the
 * default): POST [base]/things answers 201 with Location
 * [base]/things/conf-N and {"id": "conf-N"}, PUT and PATCH 200, DELETE
 * 204 (FHIR: Location .../_history/1 for PUT and POST). N counts the
 * calls since the last lx_conform_target_reset. */
void lx_conform_target_plain(lx_conform_target *t, bool plain);

/* Record a call that did not come over HTTP: a driver whose adapter
 * writes files (an EDI outbox) reports each file as a call ("WRITE", its
 * name, its content), so the runner compares and waits for it like any
 * other. Strings are copied. */
void lx_conform_target_record(lx_conform_target *t, const char *method,
                              const char *path, const char *body,
                              size_t len);

/* Whether a recorded call holds `marker` in its path, query or body. */
bool lx_conform_call_has(const json_t *call, const char *marker);

/* The absolute CLOCK_REALTIME time timeout_ms from now, for
 * pthread_cond_timedwait. */
struct timespec;
void lx_conform_deadline(struct timespec *until, unsigned timeout_ms);

/* The recorded calls, oldest first, as a new JSON array of
 * {"method","path","query":{},"headers":{},"body": text}. */
json_t *lx_conform_target_calls(lx_conform_target *t);

#endif
