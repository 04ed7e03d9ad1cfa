/* appliance/hub_int.h: the hub's parts, shared by hub.c and hub_http.c. */
#ifndef LX_APPLIANCE_HUB_INT_H
#define LX_APPLIANCE_HUB_INT_H

#include "appliance/hub.h"
#include "canonical/registry.h"
#include "canonical/store.h"
#include "core/bus.h"
#include "core/http_server.h"

#include <pthread.h>
#include <stdbool.h>

struct lx_hub {
    const lx_config *cfg;
    lx_store *store;
    lx_registry *registry;
    lx_bus *bus;
    lx_http_server *http; /* NULL when the configuration has no "http" */
    /* Held while a request is served; closing and reloading take it, so
     * no request sees a half-swapped registry or a closed store. */
    pthread_mutex_t lock;
    bool closing;
};

/* The HTTP handler (hub_http.c): /health and /metrics. */
void lx_hub_http_handle(void *ctx, const lx_http_request *req,
                        lx_http_response *resp);

#endif
