/* adapters/edi/edi_intern.c: shared short strings of a tree being built. */
#include "adapters/edi/edi_intern.h"

#include <stdint.h>
#include <string.h>

void lx_edi_intern_init(lx_edi_intern *t)
{
    memset(t, 0, sizeof(*t));
}

void lx_edi_intern_fini(lx_edi_intern *t)
{
    for (size_t i = 0; i < LX_EDI_INTERN_SLOTS; i++)
        json_decref(t->slot[i].v);
    memset(t, 0, sizeof(*t));
}

static json_t *make(const char *p, size_t len, int check_utf8)
{
    return check_utf8 ? json_stringn(p, len) : json_stringn_nocheck(p, len);
}

json_t *lx_edi_intern_string(lx_edi_intern *t, const char *p, size_t len,
                             int check_utf8)
{
    if (len > LX_EDI_INTERN_LEN_MAX)
        return make(p, len, check_utf8);
    /* FNV-1a over the bytes, folded to a set of LX_EDI_INTERN_WAYS slots. */
    uint32_t h = 2166136261u ^ (uint32_t)len;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    size_t set = (h ^ (h >> 16)) % (LX_EDI_INTERN_SLOTS / LX_EDI_INTERN_WAYS);
    lx_edi_intern_slot *ways = &t->slot[set * LX_EDI_INTERN_WAYS];
    for (size_t w = 0; w < LX_EDI_INTERN_WAYS; w++) {
        lx_edi_intern_slot *s = &ways[w];
        if (s->v && s->len == len && memcmp(s->text, p, len) == 0)
            return json_incref(s->v);
    }
    json_t *v = make(p, len, check_utf8);
    if (!v)
        return NULL;
    /* An empty way, else the last one: the first values seen in a set
     * (segment ids and qualifiers come early) stay, and a run of
     * distinct values (ids, amounts) only ever replaces the last way. */
    lx_edi_intern_slot *s = &ways[LX_EDI_INTERN_WAYS - 1];
    for (size_t w = 0; w < LX_EDI_INTERN_WAYS; w++) {
        if (!ways[w].v) {
            s = &ways[w];
            break;
        }
    }
    json_decref(s->v);
    s->v = json_incref(v);
    s->len = (unsigned char)len;
    if (len > 0)
        memcpy(s->text, p, len);
    return v;
}
