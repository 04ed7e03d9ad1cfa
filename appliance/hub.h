/* appliance/hub.h: the running hub behind `lingua serve`.
 *
 * A hub owns the canonical store (writer thread), the schema registry and
 * the bus (PUB + ROUTER on the bus thread) for one configuration, and wires
 * them: committed events go to PUB, ROUTER requests are served from the
 * store (INGEST, GET, REPLAY, STATUS; see docs/bus.md). */
#ifndef LX_APPLIANCE_HUB_H
#define LX_APPLIANCE_HUB_H

#include "core/config.h"
#include "core/error.h"

#include <signal.h>

typedef struct lx_hub lx_hub;

/* Topic of the hub's heartbeat on PUB, once a second:
 * {"last_seq": N, "time": "..."}. */
#define LX_HUB_HEARTBEAT_TOPIC "_hub.heartbeat"

/* Open the store, load the schemas, bind the bus. cfg is borrowed and must
 * outlive the hub. Errors: LX_ECONFIG (no schemas), LX_ESTORE/LX_EIO (store
 * or sockets), LX_ESCHEMA (a schema does not compile), each naming what. */
LX_NODISCARD int lx_hub_open(const lx_config *cfg, lx_hub **out,
                             lx_error *err);

/* Serve until *flag becomes non-zero (set from a signal handler, which
 * also writes a byte to wake_fd; wake_fd may be -1). Returns 0. */
int lx_hub_run(lx_hub *hub, volatile sig_atomic_t *flag, int wake_fd);

/* Apply a new configuration to the running hub: the canonical schemas are
 * reloaded and swapped in between two requests, limits and logging take
 * effect at once. Settings that need a restart (data_dir, bus endpoints,
 * store) are reported in the log and keep their running values. On error
 * nothing changes and the hub keeps the old configuration.
 * cfg is borrowed and must outlive the hub (or the next reload). */
LX_NODISCARD int lx_hub_reload(lx_hub *hub, const lx_config *cfg,
                               lx_error *err);

/* Stop taking requests, finish queued writes, close. NULL is fine. */
void lx_hub_close(lx_hub **hub);

#endif
