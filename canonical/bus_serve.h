/* canonical/bus_serve.h: answering the bus protocol's store requests
 * (docs/bus.md): GET and REPLAY read the store, and the JSON and error
 * replies every command sends. Shared by the hub (appliance/hub.c) and
 * the conformance runner's stand-in hub (conformance/bus_hub.c), so both
 * answer member for member alike.
 *
 * Each function answers the request itself (last frame included) on the
 * calling thread, which must be the bus thread or one it hands the request
 * to. The store is borrowed. */
#ifndef LX_CANONICAL_BUS_SERVE_H
#define LX_CANONICAL_BUS_SERVE_H

#include "canonical/store.h"
#include "core/bus.h"
#include "core/error.h"

#include <jansson.h>
#include <stdbool.h>

/* Reply `status` with `body` as compact JSON (consumed). */
void lx_bus_serve_json(lx_bus *bus, lx_bus_request *req, const char *status,
                       json_t *body, bool last);
/* Reply ERR with the error as JSON (lx_json_from_error), last frame. */
void lx_bus_serve_error(lx_bus *bus, lx_bus_request *req,
                        const lx_error *err);

/* GET {"entity", "id"} or {"system", "native_type", "native_id"}: OK with
 * {entity, id, version, time, deleted, seq, record}, or ERR. */
void lx_bus_serve_get(lx_bus *bus, lx_bus_request *req, lx_store *store,
                      const json_t *body);

/* REPLAY {"from", "limit"?}: one EVENT frame per event from `from` (at
 * most limit, default 1000, ceiling 10000), then END {next, last_seq}; or
 * ERR. Returns 0 when the replay was answered with END. */
int lx_bus_serve_replay(lx_bus *bus, lx_bus_request *req, lx_store *store,
                        const json_t *body);

#endif
