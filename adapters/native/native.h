/* adapters/native/native.h: loading native adapters (.so built against
 * adapters/native/lingua_adapter.h) and calling them with Lingua's types.
 *
 * This module is the only one that includes lingua_adapter.h and
 * <dlfcn.h>: it checks the library (entry symbol, ABI version, the
 * callbacks its directions need) and converts between the ABI's plain C
 * (JSON as text, fixed-size statuses, adapter-owned request strings) and
 * jansson values, lx_error and lx_outbound_call. Whoever runs the adapter
 * (the hub, the conformance runner) sees only the functions below.
 *
 * Trust: a native adapter runs in the caller's process. A crash or an
 * endless loop inside it is the caller's to contain (the conformance
 * runner calls it in a child process, conformance/driver_native.c).
 *
 * Threads: a lx_native is immutable once loaded and may be shared; one
 * lx_native_instance is used by one thread at a time (the ABI's rule). */
#ifndef LX_ADAPTERS_NATIVE_H
#define LX_ADAPTERS_NATIVE_H

#include "adapters/delivery/delivery.h"
#include "core/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct lx_native lx_native;                   /* a loaded library */
typedef struct lx_native_instance lx_native_instance; /* an open() one */

#define LX_NATIVE_HEADERS_MAX 8

/* dlopen(path, RTLD_NOW | RTLD_LOCAL), find the entry symbol, check the
 * descriptor. Ownership: *out is the caller's (lx_native_unload).
 * Errors, located at `path`: LX_ENOTFOUND (no such file), LX_EIO (the
 * dynamic loader refused it: its message, an unresolved symbol, say),
 * LX_EUNSUPPORTED (no lingua_adapter_v1 symbol, another ABI version, a
 * descriptor smaller than version 1's, no name, neither inbound nor
 * outbound, outbound without free_request). */
LX_NODISCARD int lx_native_load(const char *path, lx_native **out,
                                lx_error *err);
/* dlclose. Every instance must be closed first. NULL is fine. */
void lx_native_unload(lx_native **lib);

/* The descriptor's strings (borrowed from the library; "" when absent). */
const char *lx_native_name(const lx_native *lib);
const char *lx_native_version(const lx_native *lib);
const char *lx_native_suite(const lx_native *lib);
const char *lx_native_path(const lx_native *lib);
bool lx_native_has_inbound(const lx_native *lib);
bool lx_native_has_outbound(const lx_native *lib);

/* Store one record the adapter handed over (inbound): record is borrowed
 * for the call, NULL for a delete. Return 0, or an error code with err
 * (code, where = the pointer in the record, message) telling the adapter
 * why; the adapter normally refuses its document with it. */
typedef int (*lx_native_ingest_fn)(void *ctx, const char *entity,
                                   const char *native_type,
                                   const char *native_id,
                                   const json_t *record, lx_error *err);

typedef struct lx_native_host {
    const char *system;   /* the adapter's system in the hub */
    const char *instance; /* its instance name */
    lx_native_ingest_fn ingest;
    void *ctx;
} lx_native_host;

/* Call the adapter's open() with config (a JSON object, borrowed; NULL =
 * {}). host and its strings must outlive the instance. Ownership: *out is
 * the caller's (lx_native_close). Errors: the adapter's code (else
 * LX_ECONFIG), its message prefixed "adapter open" and its location. */
LX_NODISCARD int lx_native_open(const lx_native *lib, const json_t *config,
                                const lx_native_host *host,
                                lx_native_instance **out, lx_error *err);
void lx_native_close(lx_native_instance **inst);

/* Hand one native document (doc[0..len), borrowed) from `system` to the
 * adapter; host->ingest is called for each of its records, on this
 * thread, before this returns. Returns 0 when the adapter accepted it, or
 * its refusal: the code, err->where = its location, err->msg its message,
 * *http_status its status (0 when it did not say). LX_EUNSUPPORTED when
 * the adapter has no inbound direction. */
LX_NODISCARD int lx_native_inbound(lx_native_instance *inst,
                                   const char *system, const char *format,
                                   const char *native_type, const char *doc,
                                   size_t len, int *http_status,
                                   lx_error *err);

/* A request outbound() asked for, copied out of the adapter (every member
 * malloc'd and owned here; lx_native_request_fini releases them). */
typedef struct lx_native_request {
    bool is_file;      /* write body to the outbox file `path` */
    char method[16];
    char *path;        /* HTTP: relative to the base URL; FILE: a name */
    char *headers[LX_NATIVE_HEADERS_MAX]; /* "Name: value" */
    size_t header_count;
    char *body;
    size_t body_len;
    char native_type[LX_STORE_NAME_MAX + 1]; /* "" = the event's entity */
} lx_native_request;

void lx_native_request_fini(lx_native_request *req);

/* Translate `event` (borrowed). target_id: the target's id of the record
 * (the cross-reference), or NULL. Returns 0 with *skip false and *req
 * filled, 0 with *skip true (nothing to send), or the adapter's refusal
 * of the event (its code, location and message in err). The adapter's own
 * strings are released (free_request) before this returns, also when
 * what it returned is refused here: LX_EINVAL for a request that breaks
 * the ABI (no method, a path not starting with '/' or '?', a file name
 * with '/', a header line without ':' or with CR, more than 8 headers),
 * LX_EUNSUPPORTED when the adapter has no outbound direction. */
LX_NODISCARD int lx_native_outbound(lx_native_instance *inst,
                                    const json_t *event,
                                    const char *target_id,
                                    lx_native_request *req, bool *skip,
                                    lx_error *err);

/* Turn a HTTP request into the delivery engine's call to base_url + path:
 * the body and headers move into *call; the rest stays req's (the call
 * does not point into req). Errors: LX_ELIMIT (URL too long), LX_EINVAL
 * (a file request, a method other than GET, PUT, POST, PATCH, DELETE,
 * HEAD; "WRITE" is the runner's own for outbox files). */
LX_NODISCARD int lx_native_call_fill(lx_native_request *req,
                                     const char *base_url,
                                     lx_outbound_call *call, lx_error *err);

/* The target's id of the record of `event` for `system`, from the
 * cross-reference (the first one of that system, whatever its native
 * type), into id[size]: the lingua_event's target_id. False when none. */
bool lx_native_known_target_id(lx_store *store, const char *system,
                               const json_t *event, char *id, size_t size);

/* After a 2xx: the adapter's target_id() for the record of `event`, into
 * id[size]; false when it has none or the answer does not say. */
bool lx_native_target_id(lx_native_instance *inst, const json_t *event,
                         const lx_http_result *res, char *id, size_t size);

#endif
