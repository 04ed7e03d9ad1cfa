/* adapters/delivery/delivery_event.c: see delivery_event.h. */
#include "adapters/delivery/delivery_event.h"
#include "core/json.h"
#include "core/mem.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

json_t *lx_delivery_event_parse(const char *text, size_t len)
{
    /* No ceiling of its own: the event was accepted (and bounded) when its
     * change came in. */
    json_t *ev = NULL;
    if (lx_json_parse(text, len, "event", SIZE_MAX, &ev, NULL) != 0)
        return NULL;
    return ev;
}

/* ---- the cache ---- */

typedef struct entry {
    uint64_t seq;
    json_t *ev;
} entry;

struct lx_delivery_events {
    pthread_mutex_t lock;
    size_t capacity;
    entry *entries; /* entries[seq % capacity] */
};

lx_delivery_events *lx_delivery_events_new(size_t capacity)
{
    lx_delivery_events *c = lx_xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    c->capacity = capacity ? capacity : 1;
    c->entries = lx_xcalloc(c->capacity, sizeof(*c->entries));
    return c;
}

void lx_delivery_events_destroy(lx_delivery_events **cp)
{
    lx_delivery_events *c = *cp;
    if (!c)
        return;
    *cp = NULL;
    for (size_t i = 0; i < c->capacity; i++)
        json_decref(c->entries[i].ev);
    pthread_mutex_destroy(&c->lock);
    free(c->entries);
    free(c);
}

json_t *lx_delivery_events_get(lx_delivery_events *c, uint64_t seq,
                               const char *text, size_t len)
{
    if (!c)
        return lx_delivery_event_parse(text, len);
    entry *e = &c->entries[seq % c->capacity];
    pthread_mutex_lock(&c->lock);
    json_t *ev = e->seq == seq ? json_incref(e->ev) : NULL;
    pthread_mutex_unlock(&c->lock);
    if (ev)
        return ev;
    /* Parsed outside the lock: two deliveries asking at once may both
     * parse; the later simply replaces an equal tree. */
    ev = lx_delivery_event_parse(text, len);
    if (!ev)
        return NULL;
    json_t *old = NULL;
    pthread_mutex_lock(&c->lock);
    if (e->seq <= seq) {
        old = e->ev;
        e->seq = seq;
        e->ev = json_incref(ev);
    }
    pthread_mutex_unlock(&c->lock);
    json_decref(old);
    return ev;
}
