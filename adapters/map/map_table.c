/* adapters/map/map_table.c: code tables as open-addressing hash tables.
 *
 * A table is small (tens to thousands of codes) and read on every message,
 * so lookups hash the value's text once (FNV-1a) and probe linearly in a
 * table kept at most half full. */
#include "adapters/map/map_int.h"

#include <string.h>

static uint32_t fnv1a(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

void mp_hash_init(mp_hash *h, mp_arena *a, size_t expected)
{
    size_t cap = 8;
    while (cap < expected * 2)
        cap *= 2;
    h->slots = mp_alloc(a, cap * sizeof(*h->slots));
    h->mask = cap - 1;
    h->count = 0;
}

void mp_hash_fini(mp_hash *h)
{
    if (!h->slots)
        return;
    for (size_t i = 0; i <= h->mask; i++)
        json_decref(h->slots[i].value);
    json_decref(h->fallback);
    h->fallback = NULL;
    h->slots = NULL;
}

const json_t *mp_hash_get(const mp_hash *h, const char *key, size_t len)
{
    if (!h->slots)
        return NULL;
    uint32_t hash = fnv1a(key, len);
    for (size_t i = hash & h->mask;; i = (i + 1) & h->mask) {
        const mp_hentry *e = &h->slots[i];
        if (!e->key)
            return NULL;
        if (e->hash == hash && e->key_len == len &&
            memcmp(e->key, key, len) == 0)
            return e->value;
    }
}

bool mp_hash_put(mp_hash *h, mp_arena *a, const char *key, size_t len,
                 json_t *value)
{
    /* mp_hash_init sized the table for every key: at most half full. */
    LX_ASSERT(h->count * 2 < h->mask + 1);
    uint32_t hash = fnv1a(key, len);
    for (size_t i = hash & h->mask;; i = (i + 1) & h->mask) {
        mp_hentry *e = &h->slots[i];
        if (!e->key) {
            e->key = mp_strndup(a, key, len);
            e->key_len = len;
            e->hash = hash;
            e->value = value;
            h->count++;
            return true;
        }
        if (e->hash == hash && e->key_len == len &&
            memcmp(e->key, key, len) == 0) {
            json_decref(value);
            return false;
        }
    }
}
