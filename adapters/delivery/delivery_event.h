/* adapters/delivery/delivery_event.h: events read from the log, parsed
 * once and shared by every delivery of the hub.
 *
 * Every outbound instance needs each event as a jansson tree (to decide
 * whether it subscribes to it, and to map its record). jansson's own
 * reader costs about 200 instructions per byte of an event (it lexes one
 * character at a time through a stream and a growing string buffer), more
 * than any other step of a delivered call, and each instance used to
 * parse every event again. Here:
 *
 * - lx_delivery_event_parse reads the text with lx_json_parse, whose
 *   reader scans it in place (core/json_int.h; about three times cheaper
 *   than jansson's own);
 * - an lx_delivery_events cache keeps the last events parsed, by
 *   sequence, so the deliveries of one hub parse each event once. Trees
 *   handed out are shared between threads and must be treated as
 *   immutable (jansson's reference counts are atomic; reading a tree
 *   from several threads is safe, changing it is not). */
#ifndef LX_ADAPTERS_DELIVERY_EVENT_H
#define LX_ADAPTERS_DELIVERY_EVENT_H

#include "core/error.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Parse text[0..len) as lx_json_parse does. Returns a new reference, or
 * NULL when the text is not JSON. */
json_t *lx_delivery_event_parse(const char *text, size_t len);

typedef struct lx_delivery_events lx_delivery_events;

/* A cache of the last `capacity` events parsed (by sequence number).
 * Thread-safe. Errors: none (aborts on out of memory). */
lx_delivery_events *lx_delivery_events_new(size_t capacity);
/* NULL is fine. The trees handed out stay valid (they are counted). */
void lx_delivery_events_destroy(lx_delivery_events **c);

/* Event `seq` as a tree: a new reference to the one already parsed when
 * the cache holds it, else text[0..len) parsed and kept. NULL when the
 * text is not JSON. c may be NULL (then the text is only parsed). The
 * tree must not be changed. */
json_t *lx_delivery_events_get(lx_delivery_events *c, uint64_t seq,
                               const char *text, size_t len);

#endif
