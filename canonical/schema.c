/* canonical/schema.c: compiling a JSON Schema document (see schema.h).
 *
 * Compilation runs in three passes over the borrowed document:
 *  1. scan: walk every subschema position, compute its base URI ($id, RFC
 *     3986 section 5) and JSON pointer, register $id resources and
 *     $anchor names;
 *  2. compile: turn each reachable subschema into one sc_node (memoized by
 *     json_t address, so a subschema reached twice is compiled once);
 *     $ref targets are queued and compiled after the tree that names them,
 *     so a reference never deepens the C stack;
 *  3. check: refuse cycles of in-place applicators ($ref, allOf, ...) that
 *     would loop forever on the same instance location.
 * Nothing of the document is kept: enum/const values are deep-copied and
 * strings copied into the schema's arena. */
#include "canonical/schema_int.h"
#include "core/json.h"
#include "core/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Base URI of a document without $id: private, so that only fragments
 * and embedded $id resources can be referenced. */
#define SC_DEFAULT_BASE "urn:lingua:schema"

/* Length of the allowed values of an enum quoted in messages. */
#define SC_ENUM_TEXT_MAX 120

/* ---- arena ---- */

struct sc_block {
    sc_block *next;
    size_t used, cap;
    max_align_t data[];
};

#define SC_BLOCK_SIZE 16384

void *sc_arena_alloc(sc_arena *a, size_t n)
{
    size_t align = sizeof(max_align_t);
    n = (n + align - 1) / align * align;
    sc_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > SC_BLOCK_SIZE ? n : SC_BLOCK_SIZE;
        b = lx_xmalloc(sizeof(*b) + cap);
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *sc_arena_strndup(sc_arena *a, const char *s, size_t n)
{
    char *d = sc_arena_alloc(a, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void sc_arena_free(sc_arena *a)
{
    sc_block *b = a->head;
    while (b) {
        sc_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

/* ---- compile context ---- */

/* What pass 1 learned about one subschema position. */
typedef struct entry {
    const json_t *key; /* NULL: free slot */
    const char *base;
    const char *ptr;
    sc_node *node; /* set by pass 2 */
} entry;

/* A $id resource or an $anchor: absolute URI -> subschema. */
typedef struct named {
    const char *uri;
    const json_t *schema;
    const char *ptr;
} named;

typedef struct pending {
    sc_node *from;
    const json_t *target;
    const char *ptr; /* of the target */
} pending;

typedef struct cc {
    lx_schema *s;
    lx_error *err;
    entry *map;
    size_t map_cap, map_count;
    named *res;
    size_t res_count, res_cap;
    named *anchors;
    size_t anchor_count, anchor_cap;
    char **strings; /* compile-time strings (URIs) */
    size_t string_count, string_cap;
    pending *pend;
    size_t pend_count, pend_cap;
    sc_node **nodes;
    size_t node_count, node_cap;
} cc;

static void grow(void **v, size_t *cap, size_t count, size_t size)
{
    if (count < *cap)
        return;
    *cap = *cap ? 2 * *cap : 16;
    *v = lx_xrealloc(*v, *cap * size);
}

static const char *keep(cc *c, char *s)
{
    grow((void **)&c->strings, &c->string_cap, c->string_count,
         sizeof(*c->strings));
    c->strings[c->string_count++] = s;
    return s;
}

/* Set a compile error located at the schema pointer `ptr`. */
static int fail(cc *c, int code, const char *ptr, const char *fmt, ...)
    LX_PRINTF(4, 5);

static int fail(cc *c, int code, const char *ptr, const char *fmt, ...)
{
    if (!c->err)
        return code;
    char msg[LX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->s->name[0])
        lx_error_set(c->err, code, "schema %s at %s: %s", c->s->name,
                     ptr[0] ? ptr : "root", msg);
    else
        lx_error_set(c->err, code, "schema at %s: %s", ptr[0] ? ptr : "root",
                     msg);
    lx_error_at(c->err, ptr, 0, 0);
    return code;
}

/* ---- pointer -> entry map (open addressing) ---- */

static size_t slot_of(const void *p, size_t cap)
{
    uint64_t h = (uint64_t)(uintptr_t)p;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (size_t)h & (cap - 1);
}

static entry *map_get(cc *c, const json_t *key)
{
    if (!c->map_cap)
        return NULL;
    for (size_t i = slot_of(key, c->map_cap);; i = (i + 1) & (c->map_cap - 1)) {
        if (c->map[i].key == key)
            return &c->map[i];
        if (!c->map[i].key)
            return NULL;
    }
}

static entry *map_put(cc *c, const json_t *key, const char *base,
                      const char *ptr)
{
    entry *e = map_get(c, key);
    if (e)
        return e; /* first position wins for a shared json_t */
    if (2 * (c->map_count + 1) > c->map_cap) {
        size_t old_cap = c->map_cap;
        entry *old = c->map;
        c->map_cap = old_cap ? 2 * old_cap : 64;
        c->map = lx_xcalloc(c->map_cap, sizeof(*c->map));
        for (size_t i = 0; i < old_cap; i++) {
            if (!old[i].key)
                continue;
            size_t j = slot_of(old[i].key, c->map_cap);
            while (c->map[j].key)
                j = (j + 1) & (c->map_cap - 1);
            c->map[j] = old[i];
        }
        free(old);
    }
    size_t j = slot_of(key, c->map_cap);
    while (c->map[j].key)
        j = (j + 1) & (c->map_cap - 1);
    c->map[j] = (entry){key, base, ptr, NULL};
    c->map_count++;
    return &c->map[j];
}

/* ptr + "/" + token with RFC 6901 escaping, in the schema's arena. */
static const char *child_ptr(cc *c, const char *ptr, const char *tok,
                             size_t tok_len)
{
    size_t n = strlen(ptr), extra = 0;
    for (size_t i = 0; i < tok_len; i++)
        extra += tok[i] == '~' || tok[i] == '/';
    char *d = sc_arena_alloc(&c->s->arena, n + 1 + tok_len + extra + 1);
    memcpy(d, ptr, n);
    d[n++] = '/';
    for (size_t i = 0; i < tok_len; i++) {
        if (tok[i] == '~' || tok[i] == '/') {
            d[n++] = '~';
            d[n++] = tok[i] == '~' ? '0' : '1';
        } else {
            d[n++] = tok[i];
        }
    }
    d[n] = '\0';
    return d;
}

static const char *index_ptr(cc *c, const char *ptr, size_t i)
{
    char tok[32];
    int n = snprintf(tok, sizeof(tok), "%zu", i);
    return child_ptr(c, ptr, tok, (size_t)n);
}

static const char *kw_ptr(cc *c, const char *ptr, const char *kw)
{
    return child_ptr(c, ptr, kw, strlen(kw));
}

/* ---- pass 1: scan ---- */

/* Keywords whose value is one subschema / an object of subschemas / an
 * array of subschemas (2020-12 core 10 and validation; "definitions" and
 * the unsupported applicators are scanned too so that $id inside them is
 * known). */
static const char *const single_kw[] = {
    "items", "additionalProperties", "not", "if", "then", "else", "contains",
    "propertyNames", "unevaluatedItems", "unevaluatedProperties", NULL};
static const char *const map_kw[] = {"properties", "patternProperties",
                                     "$defs", "definitions",
                                     "dependentSchemas", NULL};
static const char *const array_kw[] = {"allOf", "anyOf", "oneOf",
                                       "prefixItems", NULL};

static int add_named(cc *c, named **v, size_t *count, size_t *cap,
                     const char *uri, const json_t *schema, const char *ptr,
                     const char *what)
{
    for (size_t i = 0; i < *count; i++)
        if (strcmp((*v)[i].uri, uri) == 0)
            return fail(c, LX_ESCHEMA, ptr, "duplicate %s '%s'", what, uri);
    grow((void **)v, cap, *count, sizeof(**v));
    (*v)[(*count)++] = (named){uri, schema, ptr};
    return 0;
}

static bool anchor_name_ok(const char *s)
{
    /* 2020-12 core 8.2.2: ^[A-Za-z_][-A-Za-z0-9._]*$ */
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' ||
              *s == '_'))
            return false;
    return true;
}

static int scan(cc *c, const json_t *v, const char *base, const char *ptr,
                int depth)
{
    if (depth > LX_SCHEMA_DEPTH_MAX)
        return fail(c, LX_ELIMIT, ptr, "schema nested deeper than %d levels",
                    LX_SCHEMA_DEPTH_MAX);
    if (!json_is_object(v)) {
        /* Booleans are shared json_t values: compile places them. Other
         * non-objects get an entry so that compile can report them. */
        if (!json_is_boolean(v))
            map_put(c, v, base, ptr);
        return 0;
    }
    const json_t *id = json_object_get(v, "$id");
    if (id) {
        if (!json_is_string(id))
            return fail(c, LX_ESCHEMA, kw_ptr(c, ptr, "$id"),
                        "$id must be a string");
        char *uri = sc_uri_resolve(base, json_string_value(id));
        keep(c, uri);
        char *hash = strchr(uri, '#');
        if (hash) {
            if (hash[1])
                return fail(c, LX_ESCHEMA, kw_ptr(c, ptr, "$id"),
                            "$id must not have a fragment (use $anchor)");
            *hash = '\0';
        }
        int rc = add_named(c, &c->res, &c->res_count, &c->res_cap, uri, v,
                           ptr, "$id");
        if (rc)
            return rc;
        base = uri;
    }
    const json_t *anchor = json_object_get(v, "$anchor");
    if (anchor) {
        if (!json_is_string(anchor) ||
            !anchor_name_ok(json_string_value(anchor)))
            return fail(c, LX_ESCHEMA, kw_ptr(c, ptr, "$anchor"),
                        "$anchor must be a plain name "
                        "([A-Za-z_][-A-Za-z0-9._]*)");
        const char *name = json_string_value(anchor);
        size_t n = strlen(base) + 1 + strlen(name) + 1;
        char *uri = lx_xmalloc(n);
        snprintf(uri, n, "%s#%s", base, name);
        keep(c, uri);
        int rc = add_named(c, &c->anchors, &c->anchor_count, &c->anchor_cap,
                           uri, v, ptr, "$anchor");
        if (rc)
            return rc;
    }
    map_put(c, v, base, ptr);

    int rc;
    for (const char *const *k = single_kw; *k; k++) {
        const json_t *sub = json_object_get(v, *k);
        if (sub && (rc = scan(c, sub, base, kw_ptr(c, ptr, *k), depth + 1)))
            return rc;
    }
    for (const char *const *k = map_kw; *k; k++) {
        json_t *m = json_object_get(v, *k);
        if (!json_is_object(m))
            continue;
        const char *mp = kw_ptr(c, ptr, *k);
        for (void *it = json_object_iter(m); it;
             it = json_object_iter_next(m, it)) {
            const char *sp = child_ptr(c, mp, json_object_iter_key(it),
                                       json_object_iter_key_len(it));
            if ((rc = scan(c, json_object_iter_value(it), base, sp,
                           depth + 1)))
                return rc;
        }
    }
    for (const char *const *k = array_kw; *k; k++) {
        const json_t *a = json_object_get(v, *k);
        if (!json_is_array(a))
            continue;
        const char *ap = kw_ptr(c, ptr, *k);
        for (size_t i = 0; i < json_array_size(a); i++)
            if ((rc = scan(c, json_array_get(a, i), base, index_ptr(c, ap, i),
                           depth + 1)))
                return rc;
    }
    return 0;
}

/* ---- $ref resolution ---- */

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Percent-decode s in place (RFC 3986 section 2.1). */
static bool pct_decode(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s != '%') {
            *o++ = *s;
            continue;
        }
        int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);
        if (hi < 0 || lo < 0)
            return false;
        *o++ = (char)(hi * 16 + lo);
        s += 2;
    }
    *o = '\0';
    return true;
}

/* Evaluate the RFC 6901 pointer `p` (already percent-decoded) from
 * `root`, e.g. "/$defs/tilde~0field". NULL when it does not resolve. */
static const json_t *eval_pointer(const json_t *root, const char *p)
{
    const json_t *cur = root;
    char tok[512];
    while (*p == '/') {
        p++;
        size_t n = 0;
        for (; *p && *p != '/'; p++) {
            char ch = *p;
            if (ch == '~') {
                if (p[1] != '0' && p[1] != '1')
                    return NULL;
                ch = p[1] == '0' ? '~' : '/';
                p++;
            }
            if (n + 1 >= sizeof(tok))
                return NULL;
            tok[n++] = ch;
        }
        tok[n] = '\0';
        if (json_is_object(cur)) {
            cur = json_object_getn(cur, tok, n);
        } else if (json_is_array(cur)) {
            if (n == 0 || (n > 1 && tok[0] == '0') || n > 9)
                return NULL;
            size_t idx = 0;
            for (size_t i = 0; i < n; i++) {
                if (tok[i] < '0' || tok[i] > '9')
                    return NULL;
                idx = idx * 10 + (size_t)(tok[i] - '0');
            }
            cur = json_array_get(cur, idx);
        } else {
            return NULL;
        }
        if (!cur)
            return NULL;
    }
    return *p ? NULL : cur;
}

/* Resolve the $ref at `ref_ptr` (value `ref`, base URI `base`) to the
 * subschema it names, making sure pass 2 knows its base and pointer. */
static int resolve_ref(cc *c, const char *ref, const char *base,
                       const char *ref_ptr, const json_t **out,
                       const char **out_ptr)
{
    char *abs = sc_uri_resolve(base, ref);
    keep(c, abs);
    char *hash = strchr(abs, '#');
    char *frag = NULL;
    if (hash) {
        *hash = '\0';
        frag = hash + 1;
    }
    const named *res = NULL;
    for (size_t i = 0; i < c->res_count; i++)
        if (strcmp(c->res[i].uri, abs) == 0)
            res = &c->res[i];
    if (!res)
        return fail(c, LX_EUNSUPPORTED, ref_ptr,
                    "$ref '%s' points outside this document (remote "
                    "references are not supported)",
                    ref);
    if (!frag || !frag[0]) {
        *out = res->schema;
        *out_ptr = res->ptr;
        return 0;
    }
    if (frag[0] != '/') {
        /* A plain-name fragment: an $anchor in that resource. */
        size_t n = strlen(abs) + 1 + strlen(frag) + 1;
        char *uri = lx_xmalloc(n);
        snprintf(uri, n, "%s#%s", abs, frag);
        keep(c, uri);
        for (size_t i = 0; i < c->anchor_count; i++) {
            if (strcmp(c->anchors[i].uri, uri) == 0) {
                *out = c->anchors[i].schema;
                *out_ptr = c->anchors[i].ptr;
                return 0;
            }
        }
        return fail(c, LX_ESCHEMA, ref_ptr, "$ref '%s': no such $anchor",
                    ref);
    }
    if (!pct_decode(frag))
        return fail(c, LX_ESCHEMA, ref_ptr,
                    "$ref '%s': invalid percent-encoding", ref);
    const json_t *t = eval_pointer(res->schema, frag);
    if (!t)
        return fail(c, LX_ESCHEMA, ref_ptr, "$ref '%s' does not resolve",
                    ref);
    const entry *e = map_get(c, t);
    if (e) {
        *out_ptr = e->ptr;
    } else {
        /* A boolean, or a position pass 1 did not walk (under an unknown
         * keyword): walk it now, with the resource's base. */
        size_t n = strlen(res->ptr) + strlen(frag) + 1;
        char *p = sc_arena_alloc(&c->s->arena, n);
        snprintf(p, n, "%s%s", res->ptr, frag);
        int rc = scan(c, t, res->uri, p, 0);
        if (rc)
            return rc;
        *out_ptr = p;
    }
    *out = t;
    return 0;
}

/* ---- pass 2: compile ---- */

static sc_node *compile(cc *c, const json_t *v, const char *ptr, int depth,
                        int *rc);

/* The subschema v at ptr, one level below its parent. */
static sc_node *subschema(cc *c, const json_t *v, const char *ptr, int depth,
                          int *rc)
{
    return compile(c, v, ptr, depth + 1, rc);
}

static bool get_count(const json_t *v, size_t *out)
{
    /* A non-negative integer; 2.0 counts as 2 (numbers are values). */
    if (!json_is_number(v) || !sc_is_integer(v))
        return false;
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return false;
        *out = (size_t)json_integer_value(v);
        return true;
    }
    double d = json_real_value(v);
    if (d < 0)
        return false;
    *out = d >= 1e18 ? (size_t)1e18 : (size_t)d;
    return true;
}

static int type_bit(const char *name)
{
    static const struct {
        const char *name;
        int bit;
    } types[] = {{"null", SC_T_NULL},       {"boolean", SC_T_BOOLEAN},
                 {"object", SC_T_OBJECT},   {"array", SC_T_ARRAY},
                 {"number", SC_T_NUMBER},   {"string", SC_T_STRING},
                 {"integer", SC_T_INTEGER}};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(name, types[i].name) == 0)
            return types[i].bit;
    return 0;
}

static json_t *keep_value(cc *c, const json_t *v)
{
    json_t *copy = json_deep_copy(v);
    LX_ASSERT(copy != NULL);
    lx_schema *s = c->s;
    grow((void **)&s->values, &s->value_cap, s->value_count,
         sizeof(*s->values));
    s->values[s->value_count++] = copy;
    return copy;
}

static int cmp_prop(const void *a, const void *b)
{
    const sc_prop *x = *(const sc_prop *const *)a,
                  *y = *(const sc_prop *const *)b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return memcmp(x->name, y->name, x->len);
}

/* A list of unique strings ("required", dependentRequired values). */
static int string_list(cc *c, const json_t *a, const char *ptr,
                       const char *what, sc_name **out, size_t *count)
{
    if (!json_is_array(a))
        return fail(c, LX_ESCHEMA, ptr, "%s must be an array of strings",
                    what);
    size_t n = json_array_size(a);
    sc_name *v = sc_arena_alloc(&c->s->arena, (n ? n : 1) * sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(a, i);
        if (!json_is_string(e))
            return fail(c, LX_ESCHEMA, index_ptr(c, ptr, i),
                        "%s must be an array of strings", what);
        v[i].len = json_string_length(e);
        v[i].name = sc_arena_strndup(&c->s->arena, json_string_value(e),
                                     v[i].len);
        for (size_t j = 0; j < i; j++)
            if (v[j].len == v[i].len &&
                memcmp(v[j].name, v[i].name, v[i].len) == 0)
                return fail(c, LX_ESCHEMA, index_ptr(c, ptr, i),
                            "%s must not repeat a name", what);
    }
    *out = v;
    *count = n;
    return 0;
}

static int schema_list(cc *c, const json_t *a, const char *ptr, int depth,
                       sc_list *out)
{
    const char *kw = strrchr(ptr, '/') + 1;
    if (!json_is_array(a) || json_array_size(a) == 0)
        return fail(c, LX_ESCHEMA, ptr, "%s must be a non-empty array of "
                    "schemas", kw);
    size_t n = json_array_size(a);
    out->v = sc_arena_alloc(&c->s->arena, n * sizeof(*out->v));
    out->count = n;
    for (size_t i = 0; i < n; i++) {
        int rc = 0;
        out->v[i] = subschema(c, json_array_get(a, i), index_ptr(c, ptr, i),
                              depth, &rc);
        if (!out->v[i])
            return rc;
    }
    return 0;
}

/* Object of subschemas ("properties", "dependentSchemas"), in document
 * order. */
static int schema_map(cc *c, const json_t *m, const char *ptr, int depth,
                      sc_prop **out, size_t *count)
{
    const char *kw = strrchr(ptr, '/') + 1;
    if (!json_is_object(m))
        return fail(c, LX_ESCHEMA, ptr, "%s must be an object of schemas",
                    kw);
    size_t n = json_object_size(m), i = 0;
    sc_prop *v = sc_arena_alloc(&c->s->arena, (n ? n : 1) * sizeof(*v));
    json_t *mm = (json_t *)m; /* iteration only reads */
    for (void *it = json_object_iter(mm); it;
         it = json_object_iter_next(mm, it), i++) {
        const char *key = json_object_iter_key(it);
        size_t len = json_object_iter_key_len(it);
        int rc = 0;
        v[i].name = sc_arena_strndup(&c->s->arena, key, len);
        v[i].len = len;
        v[i].schema = subschema(c, json_object_iter_value(it),
                                child_ptr(c, ptr, key, len), depth, &rc);
        if (!v[i].schema)
            return rc;
    }
    *out = v;
    *count = n;
    return 0;
}

static char *enum_text(cc *c, const json_t *e)
{
    char *all = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
    LX_ASSERT(all != NULL);
    size_t n = strlen(all);
    if (n > SC_ENUM_TEXT_MAX) {
        n = SC_ENUM_TEXT_MAX - 3;
        while (n > 0 && ((unsigned char)all[n] & 0xC0) == 0x80)
            n--; /* cut at a UTF-8 character boundary */
        memcpy(all + n, "...", 4);
        n += 3;
    }
    char *d = sc_arena_strndup(&c->s->arena, all, n);
    free(all);
    return d;
}

static int number_kw(cc *c, const json_t *o, const char *ptr, const char *kw,
                     sc_num *out, unsigned char *groups)
{
    const json_t *v = json_object_get(o, kw);
    if (!v)
        return 0;
    if (!json_is_number(v))
        return fail(c, LX_ESCHEMA, kw_ptr(c, ptr, kw), "%s must be a number",
                    kw);
    sc_num_from_json(v, out);
    *groups |= SC_G_NUMBER;
    return 0;
}

static int count_kw(cc *c, const json_t *o, const char *ptr, const char *kw,
                    bool *has, size_t *out)
{
    const json_t *v = json_object_get(o, kw);
    if (!v)
        return 0;
    if (!get_count(v, out))
        return fail(c, LX_ESCHEMA, kw_ptr(c, ptr, kw),
                    "%s must be a non-negative integer", kw);
    *has = true;
    return 0;
}

static int compile_keywords(cc *c, sc_node *n, const json_t *o,
                            const char *base, int depth);

static sc_node *new_node(cc *c, const char *ptr)
{
    sc_node *n = sc_arena_alloc(&c->s->arena, sizeof(*n));
    n->ptr = ptr;
    n->index = (unsigned)c->node_count;
    grow((void **)&c->nodes, &c->node_cap, c->node_count, sizeof(*c->nodes));
    c->nodes[c->node_count++] = n;
    return n;
}

/* The compiled node of subschema v found at `ptr`. Objects are memoized
 * by address (pass 1 knows them). Booleans are not: jansson has a single
 * `true` and a single `false`, so each position gets its own node and
 * errors name the right location. */
static sc_node *compile(cc *c, const json_t *v, const char *ptr, int depth,
                        int *rc)
{
    if (json_is_boolean(v)) {
        sc_node *b = new_node(c, ptr);
        b->boolean = json_is_true(v) ? 1 : 0;
        return b;
    }
    entry *e = map_get(c, v);
    LX_ASSERT(e != NULL);
    if (e->node)
        return e->node;
    if (depth > LX_SCHEMA_DEPTH_MAX) {
        *rc = fail(c, LX_ELIMIT, e->ptr, "schema nested deeper than %d levels",
                   LX_SCHEMA_DEPTH_MAX);
        return NULL;
    }
    sc_node *n = new_node(c, e->ptr);
    /* Registered before the keywords: a subschema that refers back to
     * this one gets this node. e may move when the map grows. */
    e->node = n;
    const char *base = e->base;
    if (!json_is_object(v)) {
        *rc = fail(c, LX_ESCHEMA, n->ptr,
                   "a schema must be an object or a boolean");
        return NULL;
    }
    n->boolean = -1;
    *rc = compile_keywords(c, n, v, base, depth);
    return *rc ? NULL : n;
}

static int compile_keywords(cc *c, sc_node *n, const json_t *o,
                            const char *base, int depth)
{
    const char *ptr = n->ptr;
    const json_t *v;
    int rc = 0;

    if ((v = json_object_get(o, "$ref"))) {
        const char *p = kw_ptr(c, ptr, "$ref");
        if (!json_is_string(v))
            return fail(c, LX_ESCHEMA, p, "$ref must be a string");
        const json_t *target = NULL;
        const char *target_ptr = NULL;
        if ((rc = resolve_ref(c, json_string_value(v), base, p, &target,
                              &target_ptr)))
            return rc;
        grow((void **)&c->pend, &c->pend_cap, c->pend_count,
             sizeof(*c->pend));
        c->pend[c->pend_count++] = (pending){n, target, target_ptr};
    }

    if ((v = json_object_get(o, "type"))) {
        const char *p = kw_ptr(c, ptr, "type");
        if (json_is_string(v)) {
            n->types = (unsigned char)type_bit(json_string_value(v));
            if (!n->types)
                return fail(c, LX_ESCHEMA, p, "unknown type '%s'",
                            json_string_value(v));
        } else if (json_is_array(v)) {
            for (size_t i = 0; i < json_array_size(v); i++) {
                const json_t *t = json_array_get(v, i);
                int bit = json_is_string(t) ? type_bit(json_string_value(t))
                                            : 0;
                if (!bit)
                    return fail(c, LX_ESCHEMA, index_ptr(c, p, i),
                                "not a type name");
                if (n->types & bit)
                    return fail(c, LX_ESCHEMA, index_ptr(c, p, i),
                                "type repeated");
                n->types |= (unsigned char)bit;
            }
            if (!n->types)
                return fail(c, LX_ESCHEMA, p, "type must not be empty");
        } else {
            return fail(c, LX_ESCHEMA, p,
                        "type must be a string or an array of strings");
        }
    }
    if ((v = json_object_get(o, "enum"))) {
        if (!json_is_array(v))
            return fail(c, LX_ESCHEMA, kw_ptr(c, ptr, "enum"),
                        "enum must be an array");
        n->has_enum = true;
        n->enum_count = json_array_size(v);
        n->enum_values = sc_arena_alloc(
            &c->s->arena, (n->enum_count ? n->enum_count : 1) *
                              sizeof(*n->enum_values));
        for (size_t i = 0; i < n->enum_count; i++)
            n->enum_values[i] = keep_value(c, json_array_get(v, i));
        n->enum_text = enum_text(c, v);
    }
    if ((v = json_object_get(o, "const"))) {
        n->has_const = true;
        n->const_value = keep_value(c, v);
    }

    /* Numbers (validation 6.2). */
    if ((rc = number_kw(c, o, ptr, "minimum", &n->minimum, &n->groups)) ||
        (rc = number_kw(c, o, ptr, "maximum", &n->maximum, &n->groups)) ||
        (rc = number_kw(c, o, ptr, "exclusiveMinimum", &n->ex_minimum,
                        &n->groups)) ||
        (rc = number_kw(c, o, ptr, "exclusiveMaximum", &n->ex_maximum,
                        &n->groups)))
        return rc;
    if ((v = json_object_get(o, "multipleOf"))) {
        const char *p = kw_ptr(c, ptr, "multipleOf");
        sc_num m;
        if (!json_is_number(v))
            return fail(c, LX_ESCHEMA, p, "multipleOf must be a number");
        sc_num_from_json(v, &m);
        if (!(m.d > 0))
            return fail(c, LX_ESCHEMA, p, "multipleOf must be greater than 0");
        if (m.is_int) {
            n->multiple_of_dec.m = m.i;
            n->multiple_of_dec.e = 0;
            while (n->multiple_of_dec.m % 10 == 0) {
                n->multiple_of_dec.m /= 10;
                n->multiple_of_dec.e++;
            }
        } else if (!sc_dec_from_double(m.d, &n->multiple_of_dec)) {
            return fail(c, LX_ESCHEMA, p, "multipleOf must be finite");
        }
        n->has_multiple_of = true;
        n->multiple_of = m;
        n->groups |= SC_G_NUMBER;
    }

    /* Strings (validation 6.3, 7). */
    if ((rc = count_kw(c, o, ptr, "minLength", &n->has_min_length,
                       &n->min_length)) ||
        (rc = count_kw(c, o, ptr, "maxLength", &n->has_max_length,
                       &n->max_length)))
        return rc;
    if (n->has_min_length || n->has_max_length)
        n->groups |= SC_G_STRING;
    if ((v = json_object_get(o, "pattern"))) {
        const char *p = kw_ptr(c, ptr, "pattern");
        char msg[256];
        if (!json_is_string(v))
            return fail(c, LX_ESCHEMA, p, "pattern must be a string");
        if (sc_regex_compile(c->s, json_string_value(v),
                             json_string_length(v), &n->pattern, msg,
                             sizeof(msg)))
            return fail(c, LX_ESCHEMA, p, "%s", msg);
        n->groups |= SC_G_STRING;
    }
    if ((v = json_object_get(o, "format"))) {
        static const struct {
            const char *name;
            enum sc_format f;
        } formats[] = {{"date", SC_FMT_DATE},
                       {"date-time", SC_FMT_DATE_TIME},
                       {"email", SC_FMT_EMAIL},
                       {"uri", SC_FMT_URI},
                       {"uuid", SC_FMT_UUID}};
        if (!json_is_string(v))
            return fail(c, LX_ESCHEMA, kw_ptr(c, ptr, "format"),
                        "format must be a string");
        for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
            if (strcmp(json_string_value(v), formats[i].name) == 0)
                n->format = (unsigned char)formats[i].f;
        if (n->format) /* other formats are annotations */
            n->groups |= SC_G_STRING;
    }

    /* Arrays (core 10.3.1, validation 6.4). */
    if ((v = json_object_get(o, "prefixItems"))) {
        if ((rc = schema_list(c, v, kw_ptr(c, ptr, "prefixItems"), depth,
                              &n->prefix_items)))
            return rc;
        n->groups |= SC_G_ARRAY;
    }
    if ((v = json_object_get(o, "items"))) {
        if (json_is_array(v))
            return fail(c, LX_ESCHEMA, kw_ptr(c, ptr, "items"),
                        "items must be a schema in 2020-12 (an array of "
                        "schemas is prefixItems)");
        if (!(n->items = subschema(c, v, kw_ptr(c, ptr, "items"), depth,
                                   &rc)))
            return rc;
        n->groups |= SC_G_ARRAY;
    }
    if ((v = json_object_get(o, "contains"))) {
        if (!(n->contains = subschema(c, v, kw_ptr(c, ptr, "contains"),
                                      depth, &rc)))
            return rc;
        n->groups |= SC_G_ARRAY;
    }
    if ((rc = count_kw(c, o, ptr, "minItems", &n->has_min_items,
                       &n->min_items)) ||
        (rc = count_kw(c, o, ptr, "maxItems", &n->has_max_items,
                       &n->max_items)) ||
        (rc = count_kw(c, o, ptr, "minContains", &n->has_min_contains,
                       &n->min_contains)) ||
        (rc = count_kw(c, o, ptr, "maxContains", &n->has_max_contains,
                       &n->max_contains)))
        return rc;
    if ((v = json_object_get(o, "uniqueItems"))) {
        if (!json_is_boolean(v))
            return fail(c, LX_ESCHEMA, kw_ptr(c, ptr, "uniqueItems"),
                        "uniqueItems must be a boolean");
        n->unique_items = json_is_true(v);
    }
    if (n->has_min_items || n->has_max_items || n->unique_items)
        n->groups |= SC_G_ARRAY;

    /* Objects (core 10.3.2, validation 6.5). */
    if ((v = json_object_get(o, "properties"))) {
        if ((rc = schema_map(c, v, kw_ptr(c, ptr, "properties"), depth,
                             &n->props, &n->prop_count)))
            return rc;
        n->props_sorted = sc_arena_alloc(
            &c->s->arena, (n->prop_count ? n->prop_count : 1) *
                              sizeof(*n->props_sorted));
        for (size_t i = 0; i < n->prop_count; i++)
            n->props_sorted[i] = &n->props[i];
        qsort(n->props_sorted, n->prop_count, sizeof(*n->props_sorted),
              cmp_prop);
        n->groups |= SC_G_OBJECT;
    }
    if ((v = json_object_get(o, "patternProperties"))) {
        const char *p = kw_ptr(c, ptr, "patternProperties");
        if (!json_is_object(v))
            return fail(c, LX_ESCHEMA, p,
                        "patternProperties must be an object of schemas");
        size_t count = json_object_size(v), i = 0;
        n->pprops = sc_arena_alloc(&c->s->arena,
                                   (count ? count : 1) * sizeof(*n->pprops));
        n->pprop_count = count;
        json_t *m = (json_t *)v; /* iteration only reads */
        for (void *it = json_object_iter(m); it;
             it = json_object_iter_next(m, it), i++) {
            const char *key = json_object_iter_key(it);
            size_t len = json_object_iter_key_len(it);
            const char *sp = child_ptr(c, p, key, len);
            char msg[256];
            if (sc_regex_compile(c->s, key, len, &n->pprops[i].re, msg,
                                 sizeof(msg)))
                return fail(c, LX_ESCHEMA, sp, "%s", msg);
            if (!(n->pprops[i].schema = subschema(
                      c, json_object_iter_value(it), sp, depth, &rc)))
                return rc;
        }
        n->groups |= SC_G_OBJECT;
    }
    if ((v = json_object_get(o, "additionalProperties"))) {
        if (!(n->additional = subschema(
                  c, v, kw_ptr(c, ptr, "additionalProperties"), depth, &rc)))
            return rc;
        n->groups |= SC_G_OBJECT;
    }
    if ((v = json_object_get(o, "required"))) {
        if ((rc = string_list(c, v, kw_ptr(c, ptr, "required"), "required",
                              &n->required, &n->required_count)))
            return rc;
        n->groups |= SC_G_OBJECT;
    }
    if ((v = json_object_get(o, "propertyNames"))) {
        if (!(n->property_names = subschema(
                  c, v, kw_ptr(c, ptr, "propertyNames"), depth, &rc)))
            return rc;
        n->groups |= SC_G_OBJECT;
    }
    if ((v = json_object_get(o, "dependentRequired"))) {
        const char *p = kw_ptr(c, ptr, "dependentRequired");
        if (!json_is_object(v))
            return fail(c, LX_ESCHEMA, p,
                        "dependentRequired must be an object of arrays");
        size_t count = json_object_size(v), i = 0;
        n->dep_required = sc_arena_alloc(
            &c->s->arena, (count ? count : 1) * sizeof(*n->dep_required));
        n->dep_required_count = count;
        json_t *m = (json_t *)v; /* iteration only reads */
        for (void *it = json_object_iter(m); it;
             it = json_object_iter_next(m, it), i++) {
            sc_depreq *d = &n->dep_required[i];
            d->len = json_object_iter_key_len(it);
            d->name = sc_arena_strndup(&c->s->arena, json_object_iter_key(it),
                                       d->len);
            if ((rc = string_list(c, json_object_iter_value(it),
                                  child_ptr(c, p, d->name, d->len),
                                  "dependentRequired", &d->required,
                                  &d->required_count)))
                return rc;
        }
        n->groups |= SC_G_OBJECT;
    }
    if ((v = json_object_get(o, "dependentSchemas"))) {
        if ((rc = schema_map(c, v, kw_ptr(c, ptr, "dependentSchemas"), depth,
                             &n->dep_schemas, &n->dep_schema_count)))
            return rc;
        n->groups |= SC_G_OBJECT;
    }
    if ((rc = count_kw(c, o, ptr, "minProperties", &n->has_min_props,
                       &n->min_props)) ||
        (rc = count_kw(c, o, ptr, "maxProperties", &n->has_max_props,
                       &n->max_props)))
        return rc;
    if (n->has_min_props || n->has_max_props)
        n->groups |= SC_G_OBJECT;

    /* Applicators in place (core 10.2). */
    if ((v = json_object_get(o, "allOf")) &&
        (rc = schema_list(c, v, kw_ptr(c, ptr, "allOf"), depth, &n->all_of)))
        return rc;
    if ((v = json_object_get(o, "anyOf")) &&
        (rc = schema_list(c, v, kw_ptr(c, ptr, "anyOf"), depth, &n->any_of)))
        return rc;
    if ((v = json_object_get(o, "oneOf")) &&
        (rc = schema_list(c, v, kw_ptr(c, ptr, "oneOf"), depth, &n->one_of)))
        return rc;
    if ((v = json_object_get(o, "not")) &&
        !(n->not_schema =
              subschema(c, v, kw_ptr(c, ptr, "not"), depth, &rc)))
        return rc;
    if ((v = json_object_get(o, "if")) &&
        !(n->if_schema =
              subschema(c, v, kw_ptr(c, ptr, "if"), depth, &rc)))
        return rc;
    /* then/else are compiled even without "if" (they can be $ref targets)
     * but only evaluated with it (core 10.2.2). */
    if ((v = json_object_get(o, "then")) &&
        !(n->then_schema =
              subschema(c, v, kw_ptr(c, ptr, "then"), depth, &rc)))
        return rc;
    if ((v = json_object_get(o, "else")) &&
        !(n->else_schema =
              subschema(c, v, kw_ptr(c, ptr, "else"), depth, &rc)))
        return rc;
    if (n->all_of.count || n->any_of.count || n->one_of.count ||
        n->not_schema || n->if_schema)
        n->groups |= SC_G_APPLY;

    /* $defs: compiled so that mistakes in them surface now. */
    if ((v = json_object_get(o, "$defs"))) {
        const char *p = kw_ptr(c, ptr, "$defs");
        if (!json_is_object(v))
            return fail(c, LX_ESCHEMA, p,
                        "$defs must be an object of schemas");
        json_t *m = (json_t *)v; /* iteration only reads */
        for (void *it = json_object_iter(m); it;
             it = json_object_iter_next(m, it))
            if (!subschema(c, json_object_iter_value(it),
                           child_ptr(c, p, json_object_iter_key(it),
                                     json_object_iter_key_len(it)),
                           depth, &rc))
                return rc;
    }
    return 0;
}

/* ---- pass 3: cycles of in-place applicators ---- */

/* The k-th schema applied to the same instance location as n; false past
 * the last one, *out NULL for an empty slot. */
static bool in_place_edge(const sc_node *n, size_t k, sc_node **out)
{
    sc_node *fixed[5] = {n->ref, n->not_schema, n->if_schema,
                         n->then_schema, n->else_schema};
    if (k < 5) {
        *out = fixed[k];
        return true;
    }
    k -= 5;
    const sc_list *lists[3] = {&n->all_of, &n->any_of, &n->one_of};
    for (int i = 0; i < 3; i++) {
        if (k < lists[i]->count) {
            *out = lists[i]->v[k];
            return true;
        }
        k -= lists[i]->count;
    }
    if (k < n->dep_schema_count) {
        *out = n->dep_schemas[k].schema;
        return true;
    }
    return false;
}

static int check_cycles(cc *c)
{
    size_t count = c->node_count;
    unsigned char *color = lx_xcalloc(count, 1); /* 0 new, 1 open, 2 done */
    struct frame {
        sc_node *n;
        size_t k;
    } *stack = lx_xmalloc(count * sizeof(*stack));
    int rc = 0;
    for (size_t start = 0; start < count && !rc; start++) {
        if (color[start])
            continue;
        size_t top = 0;
        stack[top++] = (struct frame){c->nodes[start], 0};
        color[start] = 1;
        while (top > 0 && !rc) {
            struct frame *f = &stack[top - 1];
            sc_node *next;
            if (!in_place_edge(f->n, f->k++, &next)) {
                color[f->n->index] = 2;
                top--;
                continue;
            }
            if (!next || color[next->index] == 2)
                continue;
            if (color[next->index] == 1) {
                rc = fail(c, LX_ESCHEMA, next->ptr,
                          "$ref cycle: this schema applies itself to the "
                          "same instance location without end");
                break;
            }
            color[next->index] = 1;
            stack[top++] = (struct frame){next, 0};
        }
    }
    free(stack);
    free(color);
    return rc;
}

/* ---- driver ---- */

int sc_compile(lx_schema *s, const json_t *doc, lx_error *err)
{
    cc c = {.s = s, .err = err};
    int rc = add_named(&c, &c.res, &c.res_count, &c.res_cap, SC_DEFAULT_BASE,
                       doc, "", "$id");
    if (!rc)
        rc = scan(&c, doc, SC_DEFAULT_BASE, "", 0);
    if (!rc) {
        s->root = compile(&c, doc, "", 0, &rc);
    }
    for (size_t i = 0; !rc && i < c.pend_count; i++) {
        sc_node *t = compile(&c, c.pend[i].target, c.pend[i].ptr, 0, &rc);
        if (t)
            c.pend[i].from->ref = t;
    }
    if (!rc)
        rc = check_cycles(&c);
    s->node_count = c.node_count;
    for (size_t i = 0; i < c.string_count; i++)
        free(c.strings[i]);
    free(c.strings);
    free(c.map);
    free(c.res);
    free(c.anchors);
    free(c.pend);
    free(c.nodes);
    return rc;
}

/* ---- public ---- */

int lx_schema_compile(const json_t *doc, const char *name, lx_schema **out,
                      lx_error *err)
{
    LX_ASSERT(out != NULL);
    *out = NULL;
    LX_ASSERT(doc != NULL);
    lx_schema *s = lx_xcalloc(1, sizeof(*s));
    s->name = lx_xstrdup(name ? name : "");
    s->mctx = sc_match_context_new();
    s->pool = sc_mdpool_new();
    int rc = sc_compile(s, doc, err);
    if (rc) {
        lx_schema_destroy(&s);
        return rc;
    }
    *out = s;
    return 0;
}

void lx_schema_destroy(lx_schema **sp)
{
    if (!sp || !*sp)
        return;
    lx_schema *s = *sp;
    for (size_t i = 0; i < s->code_count; i++)
        pcre2_code_free(s->codes[i]);
    free(s->codes);
    for (size_t i = 0; i < s->value_count; i++)
        json_decref(s->values[i]);
    free(s->values);
    pcre2_match_context_free(s->mctx);
    sc_mdpool_destroy(&s->pool);
    sc_arena_free(&s->arena);
    free(s->name);
    free(s);
    *sp = NULL;
}

const char *lx_schema_name(const lx_schema *s) { return s->name; }
