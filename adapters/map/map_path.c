/* adapters/map/map_path.c: mapping paths: reading and writing (the grammar
 * is parsed in map_path_parse.c).
 *
 * One grammar for both sides (docs/mapping.md, "Paths"):
 *   dotted   name[use=official].given[0]      (native paths, FHIRPath-like)
 *   pointer  /name/given/0                    (canonical paths, RFC 6901)
 * with selectors after any step: [n] [-1] [*] [key=value,key2!=v]
 * [key] [!key], alternatives "a | b" (first that has a value; writes go
 * to the first) and a leading '$' for the root of the whole input.
 *
 * Reading follows FHIRPath where JSON trees meet repeated elements: a key
 * applied to an array applies to each element, so "telecom.value" works
 * whether telecom is one object or a list. */
#include "adapters/map/map_int.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- scalar text ---- */

bool mp_scalar_text(const json_t *v, char *buf, size_t size, const char **s,
                    size_t *len)
{
    int n;
    switch (json_typeof(v)) {
    case JSON_STRING:
        *s = json_string_value(v);
        *len = json_string_length(v);
        return true;
    case JSON_INTEGER:
        n = snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL: {
        double d = json_real_value(v);
        n = snprintf(buf, size, "%.15g", d);
        if (strtod(buf, NULL) != d)
            n = snprintf(buf, size, "%.17g", d);
        break;
    }
    case JSON_TRUE:
        n = snprintf(buf, size, "true");
        break;
    case JSON_FALSE:
        n = snprintf(buf, size, "false");
        break;
    default:
        return false;
    }
    *s = buf;
    *len = n > 0 ? (size_t)n : 0;
    return true;
}

/* ---- reading ---- */

typedef struct walk {
    const json_t *root;
    bool flatten;
    mp_match_fn fn; /* every match */
    void *arg;
    size_t count; /* matches so far */
    mp_rec *rec;  /* locating: record where we are */
    size_t want;  /* locating: the ordinal wanted */
    bool locate;
    const json_t *found; /* first-match and locate result */
} walk;

static bool cond_holds(const mp_cond *c, const json_t *elem)
{
    const json_t *v = mp_path_first(c->key, NULL, elem);
    if (c->op == MP_EXISTS)
        return v != NULL;
    if (c->op == MP_MISSING)
        return v == NULL;
    char buf[40];
    const char *s;
    size_t len;
    bool equal = v && mp_scalar_text(v, buf, sizeof(buf), &s, &len) &&
                 len == c->value_len && memcmp(s, c->value, len) == 0;
    return c->op == MP_EQ ? equal : !equal;
}

static bool filter_holds(const mp_step *s, const json_t *elem)
{
    for (size_t i = 0; i < s->cond_count; i++)
        if (!cond_holds(&s->conds[i], elem))
            return false;
    return true;
}

static void rec_push(walk *w, const char *key, size_t index)
{
    if (w->rec && w->rec->depth < MP_REC_MAX) {
        w->rec->seg[w->rec->depth].key = key;
        w->rec->seg[w->rec->depth].index = index;
    }
    if (w->rec)
        w->rec->depth++;
}

static void rec_pop(walk *w)
{
    if (w->rec)
        w->rec->depth--;
}

static int emit_one(walk *w, const json_t *v)
{
    if (json_is_null(v))
        return 0;
    size_t ordinal = w->count++;
    if (w->fn)
        return w->fn(w->arg, v, ordinal);
    if (w->locate && ordinal != w->want)
        return 0;
    w->found = v;
    return 1;
}

static int emit(walk *w, const json_t *v)
{
    if (!w->flatten || !json_is_array(v))
        return emit_one(w, v);
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e)
    {
        rec_push(w, NULL, i);
        int rc = emit_one(w, e);
        if (rc)
            return rc; /* keep the record of the match */
        rec_pop(w);
    }
    return 0;
}

static int walk_step(walk *w, const mp_path *p, size_t i, const json_t *node)
{
    if (i == p->step_count)
        return emit(w, node);
    const mp_step *s = &p->steps[i];
    size_t k;
    const json_t *e;
    int rc;
    switch (s->kind) {
    case MP_KEY:
        if (json_is_object(node)) {
            const json_t *c = json_object_get(node, s->key);
            if (!c)
                return 0;
            rec_push(w, s->key, 0);
            rc = walk_step(w, p, i + 1, c);
            if (rc)
                return rc;
            rec_pop(w);
        } else if (json_is_array(node)) {
            json_array_foreach(node, k, e)
            {
                const json_t *c = json_object_get(e, s->key);
                if (!c)
                    continue;
                rec_push(w, NULL, k);
                rec_push(w, s->key, 0);
                rc = walk_step(w, p, i + 1, c);
                if (rc)
                    return rc;
                rec_pop(w);
                rec_pop(w);
            }
        }
        return 0;
    case MP_INDEX:
        if (json_is_array(node)) {
            size_t size = json_array_size(node);
            if (size == 0 || (s->index >= 0 && (size_t)s->index >= size))
                return 0;
            k = s->index < 0 ? size - 1 : (size_t)s->index;
            rec_push(w, NULL, k);
            rc = walk_step(w, p, i + 1, json_array_get(node, k));
            if (rc)
                return rc;
            rec_pop(w);
            return 0;
        }
        /* A single value is a list of one (FHIRPath). */
        return s->index <= 0 ? walk_step(w, p, i + 1, node) : 0;
    case MP_ALL:
    case MP_FILTER:
        if (!json_is_array(node)) {
            if (s->kind == MP_FILTER && !filter_holds(s, node))
                return 0;
            return walk_step(w, p, i + 1, node);
        }
        json_array_foreach(node, k, e)
        {
            if (s->kind == MP_FILTER && !filter_holds(s, e))
                continue;
            rec_push(w, NULL, k);
            rc = walk_step(w, p, i + 1, e);
            if (rc)
                return rc;
            rec_pop(w);
        }
        return 0;
    }
    return 0;
}

static const json_t *start_of(const mp_path *alt, const json_t *root,
                              const json_t *ctx)
{
    return alt->absolute ? root : ctx;
}

const json_t *mp_path_first(const mp_path *p, const json_t *root,
                            const json_t *ctx)
{
    for (const mp_path *alt = p; alt; alt = alt->next) {
        const json_t *node = start_of(alt, root, ctx);
        if (!node)
            continue;
        /* The common case, keys on objects, without the walker. */
        size_t i = 0;
        while (i < alt->step_count && alt->steps[i].kind == MP_KEY &&
               json_is_object(node)) {
            node = json_object_get(node, alt->steps[i].key);
            if (!node)
                break;
            i++;
        }
        if (!node)
            continue;
        if (i == alt->step_count) {
            if (!json_is_null(node))
                return node;
            continue;
        }
        walk w;
        memset(&w, 0, sizeof(w));
        w.root = root;
        if (walk_step(&w, alt, i, node))
            return w.found;
    }
    return NULL;
}

int mp_path_each(const mp_path *p, const json_t *root, const json_t *ctx,
                 bool flatten, mp_match_fn fn, void *arg)
{
    for (const mp_path *alt = p; alt; alt = alt->next) {
        const json_t *node = start_of(alt, root, ctx);
        if (!node)
            continue;
        walk w;
        memset(&w, 0, sizeof(w));
        w.root = root;
        w.flatten = flatten;
        w.fn = fn;
        w.arg = arg;
        int rc = walk_step(&w, alt, 0, node);
        if (rc || w.count > 0)
            return rc;
    }
    return 0;
}

void mp_buf_puts(lx_buf *b, const char *s)
{
    if (lx_buf_puts(b, s) != 0)
        return; /* cut short at the ceiling: only a message */
}

void mp_rec_format(const mp_rec *rec, int style, lx_buf *b)
{
    size_t depth = rec->depth < MP_REC_MAX ? rec->depth : MP_REC_MAX;
    for (size_t i = 0; i < depth; i++) {
        const char *key = rec->seg[i].key;
        int rc;
        if (style == MP_STYLE_POINTER) {
            char tok[LX_ERROR_WHERE_MAX] = "";
            if (key)
                lx_json_pointer_append(tok, sizeof(tok), key);
            else
                lx_json_pointer_append_index(tok, sizeof(tok),
                                             rec->seg[i].index);
            rc = lx_buf_puts(b, tok);
        } else if (key) {
            rc = b->len ? lx_buf_printf(b, ".%s", key) : lx_buf_puts(b, key);
        } else {
            rc = lx_buf_printf(b, "[%zu]", rec->seg[i].index);
        }
        (void)rc; /* a ceiling reached only truncates a message */
    }
}

bool mp_path_locate(const mp_path *p, const json_t *root, const json_t *ctx,
                    bool flatten, size_t ordinal, int style, lx_buf *b,
                    size_t root_len)
{
    for (const mp_path *alt = p; alt; alt = alt->next) {
        const json_t *node = start_of(alt, root, ctx);
        if (!node)
            continue;
        mp_rec rec;
        rec.depth = 0;
        walk w;
        memset(&w, 0, sizeof(w));
        w.root = root;
        w.flatten = flatten;
        w.rec = &rec;
        w.locate = true;
        w.want = ordinal;
        if (walk_step(&w, alt, 0, node)) {
            if (alt->absolute && root_len <= b->len) {
                b->len = root_len;
                if (b->data)
                    b->data[root_len] = '\0';
            }
            mp_rec_format(&rec, style, b);
            return true;
        }
        if (w.count > 0)
            return false;
    }
    return false;
}

/* ---- writing ---- */

static int conflict(char *why, size_t why_size, const char *what)
{
    snprintf(why, why_size, "%s", what);
    return LX_ECONFLICT;
}

static int kind_for(const mp_step *next)
{
    return next->kind == MP_KEY ? JSON_OBJECT : JSON_ARRAY;
}

static json_t *new_container(int kind)
{
    return kind == JSON_OBJECT ? json_object() : json_array();
}

static const char *kind_name(int kind)
{
    return kind == JSON_OBJECT ? "an object" : "an array";
}

static void wrec_push(mp_wtrace *wt, const char *key, size_t index)
{
    if (!wt)
        return;
    if (wt->rec.depth < MP_REC_MAX) {
        wt->rec.seg[wt->rec.depth].key = key;
        wt->rec.seg[wt->rec.depth].index = index;
    }
    wt->rec.depth++;
}

/* Merge value (stolen) into *cur: objects merge (value's members win),
 * anything else replaces. */
static void merge_into(json_t **cur, json_t *value)
{
    if (*cur && json_is_object(*cur) && json_is_object(value)) {
        json_object_update(*cur, value);
        json_decref(value);
        return;
    }
    json_decref(*cur);
    *cur = value;
}

/* Write the equality tests of a filter into a new element. */
static int fill_filter(const mp_step *s, json_t *elem, mp_wtrace *wt, char *why,
                       size_t why_size)
{
    for (size_t k = 0; k < s->cond_count; k++) {
        const mp_cond *c = &s->conds[k];
        if (c->op != MP_EQ)
            continue;
        if (!json_is_object(elem))
            return conflict(why, why_size,
                            "a filter can only create an object element");
        json_t *slot = elem;
        int rc =
            mp_path_write(c->key, &slot, json_stringn(c->value, c->value_len),
                          NULL, why, why_size);
        if (rc)
            return rc;
        if (wt && wt->created) {
            mp_rec at = wt->rec;
            for (size_t i = 0; i < c->key->step_count; i++) {
                const mp_step *ks = &c->key->steps[i];
                if (at.depth < MP_REC_MAX) {
                    at.seg[at.depth].key = ks->kind == MP_KEY ? ks->key : NULL;
                    at.seg[at.depth].index = (size_t)ks->index;
                }
                at.depth++;
            }
            wt->created(wt->arg, &at, c->key);
        }
    }
    return 0;
}

/* A new element for a filter: its equality tests first, then the members
 * of *value (stolen; replaced by the element, or NULL on error). */
static int filtered_element(const mp_step *s, json_t **value, mp_wtrace *wt,
                            char *why, size_t why_size)
{
    bool has_eq = false;
    for (size_t k = 0; k < s->cond_count; k++)
        has_eq |= s->conds[k].op == MP_EQ;
    if (!has_eq)
        return 0;
    if (!json_is_object(*value)) {
        json_decref(*value);
        *value = NULL;
        return conflict(why, why_size,
                        "a filter can only create an object element");
    }
    json_t *e = json_object();
    int rc = fill_filter(s, e, wt, why, why_size);
    if (rc == 0)
        json_object_update(e, *value);
    json_decref(*value);
    *value = NULL;
    if (rc) {
        json_decref(e);
        return rc;
    }
    *value = e;
    return 0;
}

/* From node through step s, to a child container of `kind`, created when
 * missing. */
static int descend(json_t *node, const mp_step *s, int kind, json_t **child,
                   mp_wtrace *wt, char *why, size_t why_size)
{
    json_t *c = NULL;
    size_t k;
    switch (s->kind) {
    case MP_KEY:
        if (!json_is_object(node))
            return conflict(why, why_size, "an object is needed here");
        c = json_object_get(node, s->key);
        if (!c || json_is_null(c)) {
            c = new_container(kind);
            json_object_set_new(node, s->key, c);
        }
        wrec_push(wt, s->key, 0);
        break;
    case MP_INDEX: {
        if (!json_is_array(node))
            return conflict(why, why_size, "an array is needed here");
        LX_ASSERT(s->index >= 0);
        size_t size = json_array_size(node);
        k = (size_t)s->index;
        if (k > size)
            return conflict(why, why_size,
                            "an index past the end of the array");
        if (k == size) {
            c = new_container(kind);
            json_array_append_new(node, c);
        } else {
            c = json_array_get(node, k);
            if (json_is_null(c)) {
                c = new_container(kind);
                json_array_set_new(node, k, c);
            }
        }
        wrec_push(wt, NULL, k);
        break;
    }
    case MP_ALL:
    case MP_FILTER: {
        if (!json_is_array(node))
            return conflict(why, why_size, "an array is needed here");
        json_t *e;
        c = NULL;
        if (s->kind == MP_FILTER) {
            json_array_foreach(node, k, e)
            {
                if (filter_holds(s, e)) {
                    c = e;
                    break;
                }
            }
        }
        if (!c) {
            k = json_array_size(node);
            c = new_container(kind);
            json_array_append_new(node, c);
            wrec_push(wt, NULL, k);
            if (s->kind == MP_FILTER) {
                int rc = fill_filter(s, c, wt, why, why_size);
                if (rc)
                    return rc;
            }
        } else {
            wrec_push(wt, NULL, k);
        }
        break;
    }
    }
    if ((int)json_typeof(c) != kind)
        return conflict(why, why_size,
                        kind == JSON_OBJECT ? "an object is needed here"
                                            : "an array is needed here");
    *child = c;
    return 0;
}

/* Reach the container after steps[0..n) of alt, creating as needed; the
 * container must be of `kind`. */
static int reach(const mp_path *alt, size_t n, json_t **slot, int kind,
                 json_t **out, mp_wtrace *wt, char *why, size_t why_size)
{
    int first_kind = n > 0 ? kind_for(&alt->steps[0]) : kind;
    if (!*slot || json_is_null(*slot)) {
        json_decref(*slot);
        *slot = new_container(first_kind);
    } else if ((int)json_typeof(*slot) != first_kind) {
        snprintf(why, why_size, "the target holds %s where %s is needed",
                 json_is_object(*slot)  ? "an object"
                 : json_is_array(*slot) ? "an array"
                                        : "a value",
                 kind_name(first_kind));
        return LX_ECONFLICT;
    }
    json_t *node = *slot;
    for (size_t i = 0; i < n; i++) {
        int next_kind = i + 1 < n ? kind_for(&alt->steps[i + 1]) : kind;
        int rc =
            descend(node, &alt->steps[i], next_kind, &node, wt, why, why_size);
        if (rc)
            return rc;
    }
    *out = node;
    return 0;
}

int mp_path_write(const mp_path *p, json_t **slot, json_t *value, mp_wtrace *wt,
                  char *why, size_t why_size)
{
    size_t n = p->step_count;
    if (n == 0) {
        merge_into(slot, value);
        return 0;
    }
    const mp_step *s = &p->steps[n - 1];
    json_t *node;
    int rc = reach(p, n - 1, slot, kind_for(s), &node, wt, why, why_size);
    if (rc) {
        json_decref(value);
        return rc;
    }
    switch (s->kind) {
    case MP_KEY: {
        json_t *cur = json_object_get(node, s->key);
        if (cur && json_is_object(cur) && json_is_object(value)) {
            json_object_update(cur, value);
            json_decref(value);
        } else {
            json_object_set_new(node, s->key, value);
        }
        wrec_push(wt, s->key, 0);
        return 0;
    }
    case MP_INDEX: {
        size_t size = json_array_size(node), k = (size_t)s->index;
        if (k > size) {
            json_decref(value);
            return conflict(why, why_size,
                            "an index past the end of the array");
        }
        if (k == size) {
            json_array_append_new(node, value);
        } else {
            json_t *cur = json_array_get(node, k);
            if (json_is_object(cur) && json_is_object(value)) {
                json_object_update(cur, value);
                json_decref(value);
            } else {
                json_array_set_new(node, k, value);
            }
        }
        wrec_push(wt, NULL, k);
        return 0;
    }
    case MP_ALL:
        wrec_push(wt, NULL, json_array_size(node));
        json_array_append_new(node, value);
        return 0;
    case MP_FILTER: {
        size_t k;
        json_t *e;
        json_array_foreach(node, k, e)
        {
            if (!filter_holds(s, e))
                continue;
            wrec_push(wt, NULL, k);
            if (json_is_object(e) && json_is_object(value)) {
                json_object_update(e, value);
                json_decref(value);
            } else {
                json_array_set_new(node, k, value);
            }
            return 0;
        }
        wrec_push(wt, NULL, json_array_size(node));
        rc = filtered_element(s, &value, wt, why, why_size);
        if (rc)
            return rc;
        json_array_append_new(node, value);
        return 0;
    }
    }
    json_decref(value);
    return 0;
}

int mp_path_append(const mp_path *p, json_t **slot, json_t *element,
                   mp_wtrace *wt, char *why, size_t why_size)
{
    size_t n = p->step_count;
    const mp_step *sel = NULL;
    if (n > 0 &&
        (p->steps[n - 1].kind == MP_ALL || p->steps[n - 1].kind == MP_FILTER)) {
        sel = &p->steps[n - 1];
        n--;
    }
    json_t *node;
    int rc = reach(p, n, slot, JSON_ARRAY, &node, wt, why, why_size);
    if (rc) {
        json_decref(element);
        return rc;
    }
    wrec_push(wt, NULL, json_array_size(node));
    if (sel && sel->kind == MP_FILTER) {
        rc = filtered_element(sel, &element, wt, why, why_size);
        if (rc)
            return rc;
    }
    json_array_append_new(node, element);
    return 0;
}
