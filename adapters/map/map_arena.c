/* adapters/map/map_arena.c: the arena a compiled map lives in. */
#include "adapters/map/map_int.h"
#include "core/mem.h"

#include <stdalign.h>
#include <string.h>

#define CHUNK_MIN 8192

struct mp_chunk {
    mp_chunk *next;
    size_t used;
    size_t size;
    alignas(max_align_t) unsigned char data[];
};

void *mp_alloc(mp_arena *a, size_t n)
{
    const size_t align = alignof(max_align_t);
    n = (n + align - 1) & ~(align - 1);
    mp_chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t size = n > CHUNK_MIN ? n : CHUNK_MIN;
        c = lx_xmalloc(sizeof(*c) + size);
        c->next = a->head;
        c->used = 0;
        c->size = size;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *mp_strndup(mp_arena *a, const char *s, size_t n)
{
    char *d = mp_alloc(a, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *mp_strdup(mp_arena *a, const char *s)
{
    return mp_strndup(a, s, strlen(s));
}

void mp_arena_fini(mp_arena *a)
{
    mp_chunk *c = a->head;
    while (c) {
        mp_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}
