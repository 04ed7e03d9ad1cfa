/* conformance/delivery.c: the delivery engine as the drivers run it
 * (conform_int.h). */
#include "conformance/conform_int.h"

#include <string.h>

uint64_t lx_conform_delivery_cursor(lx_delivery *d)
{
    lx_delivery_stats st;
    lx_delivery_stats_get(d, &st);
    return st.cursor;
}

int lx_conform_delivery_start(lx_conform_hub *hub, const char *system,
                              void (*ops_of)(void *adapter,
                                             lx_outbound_ops *ops),
                              void *adapter, lx_delivery **out,
                              lx_error *err)
{
    lx_outbound_ops ops;
    memset(&ops, 0, sizeof(ops));
    ops_of(adapter, &ops);
    lx_delivery_options dopt = {.instance = "conformance-out",
                                .system = system,
                                .backoff_base_ms = 20,
                                .backoff_max_ms = 200,
                                .cursor_interval_ms = 10,
                                .timeout_ms = hub->timeout_ms,
                                .max_attempts = 2,
                                /* One call at a time: the calls arrive in
                                 * event order, so the sentinel's call
                                 * comes last, and an id a create gets is
                                 * known to the next change. */
                                .concurrency = 1};
    return lx_delivery_start(hub->store, &dopt, &ops, out, err);
}
