/* adapters/edi/edi_intern.c: shared values of a tree being built. */
#include "adapters/edi/edi_intern.h"

#include <stdatomic.h>
#include <string.h>

/* key_of reads words little-endian (its overlapping loads rely on it). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "edi_intern.c: key_of assumes a little-endian machine"
#endif

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

static uint64_t load64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint64_t load32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The bytes of p[0..len) (len <= 15) zero-padded, as little-endian
 * words, with fixed-size loads that stay inside p (overlapping where len
 * is not a power of two: the overlap holds the same bytes, so OR keeps
 * them) instead of a memcpy call of len bytes. */
static lx_edi_intern_key key_of(const char *p, size_t len)
{
    lx_edi_intern_key k = {{0, (uint64_t)len << 56}};
    if (len >= 8) {
        k.w[0] = load64(p);
        if (len > 8)
            k.w[1] |= load64(p + len - 8) >> (8 * (16 - len));
    } else if (len >= 4) {
        k.w[0] = load32(p) | load32(p + len - 4) << (8 * (len - 4));
    } else if (len > 0) {
        k.w[0] = (uint64_t)(unsigned char)p[0] |
                 (uint64_t)(unsigned char)p[len / 2] << (8 * (len / 2)) |
                 (uint64_t)(unsigned char)p[len - 1] << (8 * (len - 1));
    }
    return k;
}

static int key_eq(const lx_edi_intern_key *a, const lx_edi_intern_key *b)
{
    return a->w[0] == b->w[0] && a->w[1] == b->w[1];
}

json_t *lx_edi_intern_find(lx_edi_intern *t, const char *p, size_t len,
                           lx_edi_intern_slot **slot)
{
    *slot = NULL;
    if (len > LX_EDI_INTERN_LEN_MAX)
        return NULL;
    lx_edi_intern_key k = key_of(p, len);
    /* Multiply-xorshift of the two words, folded to a set of ways. */
    uint64_t h = (k.w[0] ^ (k.w[1] * 0x9E3779B97F4A7C15u)) *
                 0xBF58476D1CE4E5B9u;
    h ^= h >> 31;
    size_t set = (size_t)(h >> 32) % (LX_EDI_INTERN_SLOTS / LX_EDI_INTERN_WAYS);
    lx_edi_intern_slot *ways = &t->slot[set * LX_EDI_INTERN_WAYS];
    for (size_t w = 0; w < LX_EDI_INTERN_WAYS; w++) {
        if (ways[w].v && key_eq(&ways[w].key, &k))
            return json_incref(ways[w].v);
    }
    /* An empty way, else the last one: the first values seen in a set
     * (segment ids and qualifiers come early) stay, and a run of
     * distinct values (ids, amounts) only ever replaces the last way. */
    *slot = &ways[LX_EDI_INTERN_WAYS - 1];
    for (size_t w = 0; w < LX_EDI_INTERN_WAYS; w++) {
        if (!ways[w].v) {
            *slot = &ways[w];
            break;
        }
    }
    return NULL;
}

void lx_edi_intern_keep(lx_edi_intern_slot *slot, const char *p, size_t len,
                        json_t *v)
{
    if (slot == NULL || v == NULL)
        return;
    json_decref(slot->v);
    slot->v = json_incref(v);
    slot->key = key_of(p, len);
}

json_t *lx_edi_intern_string(lx_edi_intern *t, const char *p, size_t len,
                             int check_utf8)
{
    lx_edi_intern_slot *slot;
    json_t *v = lx_edi_intern_find(t, p, len, &slot);
    if (v != NULL)
        return v;
    v = check_utf8 ? json_stringn(p, len) : json_stringn_nocheck(p, len);
    lx_edi_intern_keep(slot, p, len, v);
    return v;
}

/* Made on first use by whichever thread gets there first; the others
 * drop theirs. Never freed: the table holds one reference for good. */
static _Atomic(json_t *) shared_ints[LX_EDI_SHARED_INT_MAX];

json_t *lx_edi_shared_integer(json_int_t v)
{
    if (v < 0 || v >= LX_EDI_SHARED_INT_MAX)
        return json_integer(v);
    _Atomic(json_t *) *slot = &shared_ints[v];
    json_t *j = atomic_load_explicit(slot, memory_order_acquire);
    if (j == NULL) {
        json_t *mine = json_integer(v);
        json_t *expected = NULL;
        if (atomic_compare_exchange_strong_explicit(
                slot, &expected, mine, memory_order_acq_rel,
                memory_order_acquire)) {
            j = mine;
        } else {
            json_decref(mine);
            j = expected;
        }
    }
    return json_incref(j);
}
