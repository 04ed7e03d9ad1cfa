/* adapters/map/map_trace.c: field lineage of a run. */
#include "adapters/map/map_int.h"
#include "core/mem.h"

#include <string.h>

typedef struct entry {
    lx_map_lineage l; /* strings owned */
    bool absolute;
} entry;

struct lx_map_trace {
    entry *items;
    size_t count;
    size_t cap;
};

lx_map_trace *lx_map_trace_new(void)
{
    return lx_xcalloc(1, sizeof(lx_map_trace));
}

static void entry_free(entry *e)
{
    free((char *)e->l.target);
    free((char *)e->l.rule);
    free((char *)e->l.rule_id);
    free((char *)e->l.source);
}

void mp_trace_reset(lx_map_trace *t)
{
    for (size_t i = 0; i < t->count; i++)
        entry_free(&t->items[i]);
    t->count = 0;
}

void lx_map_trace_destroy(lx_map_trace **t)
{
    if (!t || !*t)
        return;
    mp_trace_reset(*t);
    free((*t)->items);
    free(*t);
    *t = NULL;
}

size_t lx_map_trace_count(const lx_map_trace *t) { return t->count; }

const lx_map_lineage *lx_map_trace_get(const lx_map_trace *t, size_t i)
{
    LX_ASSERT(i < t->count);
    return &t->items[i].l;
}

void mp_trace_add(lx_map_trace *t, const char *target, const char *rule,
                  const char *rule_id, const char *source, bool absolute)
{
    if (t->count == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 32;
        t->items = lx_xrealloc(t->items, t->cap * sizeof(*t->items));
    }
    entry *e = &t->items[t->count++];
    e->l.target = lx_xstrdup(target);
    e->l.rule = lx_xstrdup(rule);
    e->l.rule_id = lx_xstrdup(rule_id);
    e->l.source = lx_xstrdup(source);
    e->absolute = absolute;
}

void mp_trace_rebase(lx_map_trace *t, size_t from, size_t to,
                     const char *prefix, int style)
{
    size_t plen = strlen(prefix);
    for (size_t i = from; i < to && i < t->count; i++) {
        entry *e = &t->items[i];
        if (e->absolute)
            continue;
        const char *rel = e->l.target;
        size_t rlen = strlen(rel);
        bool dot = style == MP_STYLE_DOTTED && plen && rlen && rel[0] != '[';
        char *s = lx_xmalloc(plen + rlen + 2);
        memcpy(s, prefix, plen);
        size_t n = plen;
        if (dot)
            s[n++] = '.';
        memcpy(s + n, rel, rlen + 1);
        free((char *)e->l.target);
        e->l.target = s;
    }
}

json_t *lx_map_trace_to_json(const lx_map_trace *t)
{
    json_t *a = json_array();
    for (size_t i = 0; i < t->count; i++) {
        const lx_map_lineage *l = &t->items[i].l;
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:s, s:s}", "target", l->target, "rule",
                         l->rule, "rule_id", l->rule_id, "source", l->source));
    }
    return a;
}
