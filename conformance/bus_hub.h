/* conformance/bus_hub.h: the hub side of the bus protocol (docs/bus.md),
 * played by the runner toward an external adapter.
 *
 * Binds a PUB and a ROUTER socket on ipc endpoints in a folder of the
 * runner's, answers INGEST, GET, REPLAY and STATUS from the store of the
 * case in progress (lx_conform_bushub_attach), publishes every event that
 * store commits, and a heartbeat every 200 ms. Between cases (no store
 * attached) requests are answered ERR LX_ECLOSED.
 *
 * Threads: requests are served on the bus thread; attach/detach and the
 * readiness wait may be called from any thread. */
#ifndef LX_CONFORMANCE_BUS_HUB_H
#define LX_CONFORMANCE_BUS_HUB_H

#include "canonical/registry.h"
#include "canonical/store.h"
#include "core/error.h"

#include <stdbool.h>

typedef struct lx_conform_bushub lx_conform_bushub;

/* Bind in `dir` (sockets "pub" and "router"). Errors: LX_EIO. */
LX_NODISCARD int lx_conform_bushub_open(const char *dir,
                                        lx_conform_bushub **out,
                                        lx_error *err);
void lx_conform_bushub_close(lx_conform_bushub **h);

/* "ipc:///.../pub", "ipc:///.../router" (borrowed). */
const char *lx_conform_bushub_pub(const lx_conform_bushub *h);
const char *lx_conform_bushub_router(const lx_conform_bushub *h);

/* Serve requests from `store` (opened by the caller, before its first
 * write: its event hook is set here) / stop serving it. */
void lx_conform_bushub_attach(lx_conform_bushub *h, lx_store *store,
                              const lx_registry *reg);
void lx_conform_bushub_detach(lx_conform_bushub *h);

/* How many REPLAY requests were answered since the last attach: an
 * adapter that replayed has its SUB socket open (docs/bus.md, "A
 * subscriber, step by step"). */
unsigned lx_conform_bushub_replays(lx_conform_bushub *h);

/* Wait up to timeout_ms until at least `n` were; true when they were. */
bool lx_conform_bushub_wait_replays(lx_conform_bushub *h, unsigned n,
                                    unsigned timeout_ms);

#endif
