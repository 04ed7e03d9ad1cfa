/* canonical/schema_validate.c: validating an instance against a compiled
 * schema (see schema.h).
 *
 * The hot path walks the compiled nodes only, never the schema JSON, and
 * allocates nothing except pcre2 match data on a thread's first pattern
 * (then reused through the schema's pool), a copy of a key for
 * propertyNames, and a hash table for uniqueItems on large arrays. The
 * instance location is kept as a stack of (key | index) segments and
 * turned into a JSON pointer only when an issue is reported. */
#include "canonical/schema_int.h"
#include "core/json.h"
#include "core/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct seg {
    const char *key; /* NULL for an array index */
    size_t index;
} seg;

typedef struct vctx {
    const lx_schema *s;
    seg path[LX_SCHEMA_DEPTH_MAX];
    size_t depth;
    unsigned evals;   /* schemas being evaluated, nested */
    unsigned silent;  /* > 0: inside anyOf/oneOf/not/if/contains */
    bool all;         /* collect every issue, not only the first */
    lx_schema_issue *issues;
    size_t max, count;
    lx_schema_issue first;   /* issue 0 when max is 0 */
    int fatal;               /* LX_ELIMIT once a limit is hit */
    lx_schema_issue limit;   /* what was hit, and where */
    pcre2_match_data *md;    /* taken from the pool on first use */
} vctx;

static bool eval(vctx *c, const sc_node *n, const json_t *v);

/* ---- reporting ---- */

static void render_path(const vctx *c, char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t i = 0; i < c->depth; i++) {
        if (c->path[i].key)
            lx_json_pointer_append(buf, size, c->path[i].key);
        else
            lx_json_pointer_append_index(buf, size, c->path[i].index);
    }
}

static void fill_issue(const vctx *c, lx_schema_issue *is, const sc_node *n,
                       const char *kw, const char *fmt, va_list ap) LX_PRINTF(5, 0);
static void fill_issue(const vctx *c, lx_schema_issue *is, const sc_node *n,
                       const char *kw, const char *fmt, va_list ap)
{
    render_path(c, is->instance_ptr, sizeof(is->instance_ptr));
    if (n) {
        snprintf(is->keyword_ptr, sizeof(is->keyword_ptr), "%s", n->ptr);
        if (kw)
            lx_json_pointer_append(is->keyword_ptr, sizeof(is->keyword_ptr),
                                   kw);
    } else {
        is->keyword_ptr[0] = '\0';
    }
    vsnprintf(is->msg, sizeof(is->msg), fmt, ap);
}

/* Record a failure of keyword `kw` of node n at the current instance
 * location (kw NULL: the node itself). Always returns false. Silent
 * evaluations (alternatives being tried) record nothing and format
 * nothing. */
static bool report(vctx *c, const sc_node *n, const char *kw,
                   const char *fmt, ...) LX_PRINTF(4, 5);

static bool report(vctx *c, const sc_node *n, const char *kw,
                   const char *fmt, ...)
{
    if (c->silent)
        return false;
    size_t idx = c->count++;
    lx_schema_issue *dst = idx < c->max ? &c->issues[idx]
                           : idx == 0   ? &c->first
                                        : NULL;
    if (dst) {
        va_list ap;
        va_start(ap, fmt);
        fill_issue(c, dst, n, kw, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* A limit was hit: evaluation unwinds, silent or not. */
static bool limit(vctx *c, const sc_node *n, const char *kw,
                  const char *fmt, ...) LX_PRINTF(4, 5);

static bool limit(vctx *c, const sc_node *n, const char *kw,
                  const char *fmt, ...)
{
    if (!c->fatal) {
        c->fatal = LX_ELIMIT;
        va_list ap;
        va_start(ap, fmt);
        fill_issue(c, &c->limit, n, kw, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* After a check: false when evaluation of this node must stop (first
 * failure wanted, trying alternatives, or a limit hit). */
static bool keep_going(vctx *c, bool *ok, bool passed)
{
    if (!passed)
        *ok = false;
    return passed || (c->all && !c->silent && !c->fatal);
}

static bool push_key(vctx *c, const sc_node *n, const char *key)
{
    if (c->depth >= LX_SCHEMA_DEPTH_MAX)
        return limit(c, n, NULL, "instance nested deeper than %d levels",
                     LX_SCHEMA_DEPTH_MAX);
    c->path[c->depth++] = (seg){key, 0};
    return true;
}

static bool push_index(vctx *c, const sc_node *n, size_t i)
{
    if (c->depth >= LX_SCHEMA_DEPTH_MAX)
        return limit(c, n, NULL, "instance nested deeper than %d levels",
                     LX_SCHEMA_DEPTH_MAX);
    c->path[c->depth++] = (seg){NULL, i};
    return true;
}

static void pop(vctx *c) { c->depth--; }

/* Evaluate n against a member / item: push, eval, pop. */
static bool eval_key(vctx *c, const sc_node *parent, const sc_node *n,
                     const char *key, const json_t *v)
{
    if (!push_key(c, parent, key))
        return false;
    bool ok = eval(c, n, v);
    pop(c);
    return ok;
}

static bool eval_index(vctx *c, const sc_node *parent, const sc_node *n,
                       size_t i, const json_t *v)
{
    if (!push_index(c, parent, i))
        return false;
    bool ok = eval(c, n, v);
    pop(c);
    return ok;
}

/* Evaluate without reporting (an alternative being tried). */
static bool try_eval(vctx *c, const sc_node *n, const json_t *v)
{
    c->silent++;
    bool ok = eval(c, n, v);
    c->silent--;
    return ok;
}

/* ---- type, enum, const ---- */

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

static bool type_ok(unsigned types, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return types & SC_T_OBJECT;
    case JSON_ARRAY:
        return types & SC_T_ARRAY;
    case JSON_STRING:
        return types & SC_T_STRING;
    case JSON_INTEGER:
        return types & (SC_T_INTEGER | SC_T_NUMBER);
    case JSON_REAL:
        return (types & SC_T_NUMBER) ||
               ((types & SC_T_INTEGER) && sc_is_integer(v));
    case JSON_TRUE:
    case JSON_FALSE:
        return types & SC_T_BOOLEAN;
    default:
        return types & SC_T_NULL;
    }
}

static void types_text(unsigned types, char *buf, size_t size)
{
    static const char *const names[] = {"null",   "boolean", "object",
                                         "array",  "number",  "string",
                                         "integer"};
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < 7; i++) {
        if (!(types & (1u << i)))
            continue;
        int w = snprintf(buf + n, size - n, "%s%s", n ? " or " : "",
                         names[i]);
        if (w < 0 || (size_t)w >= size - n)
            break;
        n += (size_t)w;
    }
}

static bool equal_or_limit(vctx *c, const sc_node *n, const char *kw,
                           const json_t *a, const json_t *b)
{
    bool too_deep = false;
    bool eq = sc_json_equal(a, b, &too_deep);
    if (too_deep)
        limit(c, n, kw, "value nested deeper than %d levels",
              LX_SCHEMA_DEPTH_MAX);
    return eq;
}

/* ---- numbers ---- */

static void num_text(const sc_num *n, char *buf, size_t size)
{
    if (n->is_int)
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, n->i);
    else
        snprintf(buf, size, "%.17g", n->d);
}

static bool eval_number(vctx *c, const sc_node *n, const json_t *v)
{
    bool ok = true;
    char num[40];
    if (n->minimum.is_set && sc_num_cmp(v, &n->minimum) < 0) {
        num_text(&n->minimum, num, sizeof(num));
        if (!keep_going(c, &ok, report(c, n, "minimum",
                                       "number less than the minimum of %s",
                                       num)))
            return false;
    }
    if (n->ex_minimum.is_set && sc_num_cmp(v, &n->ex_minimum) <= 0) {
        num_text(&n->ex_minimum, num, sizeof(num));
        if (!keep_going(c, &ok, report(c, n, "exclusiveMinimum",
                                       "number not greater than %s", num)))
            return false;
    }
    if (n->maximum.is_set && sc_num_cmp(v, &n->maximum) > 0) {
        num_text(&n->maximum, num, sizeof(num));
        if (!keep_going(c, &ok, report(c, n, "maximum",
                                       "number greater than the maximum of "
                                       "%s",
                                       num)))
            return false;
    }
    if (n->ex_maximum.is_set && sc_num_cmp(v, &n->ex_maximum) >= 0) {
        num_text(&n->ex_maximum, num, sizeof(num));
        if (!keep_going(c, &ok, report(c, n, "exclusiveMaximum",
                                       "number not less than %s", num)))
            return false;
    }
    if (n->has_multiple_of &&
        !sc_is_multiple(v, &n->multiple_of, &n->multiple_of_dec)) {
        num_text(&n->multiple_of, num, sizeof(num));
        if (!keep_going(c, &ok, report(c, n, "multipleOf",
                                       "number is not a multiple of %s",
                                       num)))
            return false;
    }
    return ok;
}

/* ---- strings ---- */

static size_t code_points(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static const char *format_rule(unsigned f)
{
    switch (f) {
    case SC_FMT_DATE:
        return "a date (RFC 3339 full-date, YYYY-MM-DD)";
    case SC_FMT_DATE_TIME:
        return "a date-time (RFC 3339, e.g. 2024-01-31T09:30:00Z)";
    case SC_FMT_EMAIL:
        return "an email address (RFC 5321)";
    case SC_FMT_URI:
        return "an absolute URI (RFC 3986)";
    default:
        return "a UUID (RFC 4122)";
    }
}

static bool format_ok(unsigned f, const char *s, size_t len)
{
    switch (f) {
    case SC_FMT_DATE:
        return sc_format_date(s, len);
    case SC_FMT_DATE_TIME:
        return sc_format_date_time(s, len);
    case SC_FMT_EMAIL:
        return sc_format_email(s, len);
    case SC_FMT_URI:
        return sc_format_uri(s, len);
    case SC_FMT_UUID:
        return sc_format_uuid(s, len);
    default:
        return true;
    }
}

/* 1 match, 0 no match, LX_ELIMIT (reported) on a match limit. */
static int match(vctx *c, const sc_node *n, const char *kw,
                 const sc_regex *re, const char *s, size_t len)
{
    if (!c->md)
        c->md = sc_mdpool_take(c->s->pool);
    int r = sc_regex_match(c->s, re, c->md, s, len);
    if (r == LX_ELIMIT)
        limit(c, n, kw, "regular expression match limit exceeded");
    return r;
}

static bool eval_string(vctx *c, const sc_node *n, const json_t *v)
{
    bool ok = true;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    /* Code points never outnumber bytes: count only when it matters. */
    if (n->has_max_length && len > n->max_length &&
        code_points(s, len) > n->max_length) {
        if (!keep_going(c, &ok, report(c, n, "maxLength",
                                       "string longer than %zu characters",
                                       n->max_length)))
            return false;
    }
    if (n->has_min_length && n->min_length > 0 &&
        (len < n->min_length || code_points(s, len) < n->min_length)) {
        if (!keep_going(c, &ok, report(c, n, "minLength",
                                       "string shorter than %zu characters",
                                       n->min_length)))
            return false;
    }
    if (n->pattern.code) {
        int r = match(c, n, "pattern", &n->pattern, s, len);
        if (r < 0)
            return false;
        if (r == 0 &&
            !keep_going(c, &ok, report(c, n, "pattern",
                                       "string does not match the pattern "
                                       "%.80s",
                                       n->pattern.src)))
            return false;
    }
    if (n->format && !format_ok(n->format, s, len)) {
        if (!keep_going(c, &ok, report(c, n, "format", "string is not %s",
                                       format_rule(n->format))))
            return false;
    }
    return ok;
}

/* ---- arrays ---- */

typedef struct hashed {
    uint64_t h;
    size_t i;
} hashed;

static int cmp_hashed(const void *a, const void *b)
{
    const hashed *x = a, *y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* First pair of equal items (i < j) or false. Small arrays compare all
 * pairs; larger ones sort by a number-aware hash and compare neighbours
 * with the same hash, O(n log n). */
static bool find_duplicate(vctx *c, const sc_node *n, const json_t *a,
                           size_t *di, size_t *dj)
{
    size_t count = json_array_size(a);
    if (count <= 16) {
        for (size_t i = 0; i < count; i++)
            for (size_t j = i + 1; j < count; j++)
                if (equal_or_limit(c, n, "uniqueItems", json_array_get(a, i),
                                   json_array_get(a, j))) {
                    *di = i;
                    *dj = j;
                    return true;
                }
        return false;
    }
    hashed *hv = lx_xmalloc(count * sizeof(*hv));
    bool too_deep = false, found = false;
    for (size_t i = 0; i < count; i++)
        hv[i] = (hashed){sc_json_hash(json_array_get(a, i), &too_deep), i};
    if (too_deep) {
        free(hv);
        limit(c, n, "uniqueItems", "value nested deeper than %d levels",
              LX_SCHEMA_DEPTH_MAX);
        return false;
    }
    qsort(hv, count, sizeof(*hv), cmp_hashed);
    for (size_t s = 0; s < count && !found; s++)
        for (size_t t = s + 1; t < count && hv[t].h == hv[s].h && !found;
             t++)
            if (equal_or_limit(c, n, "uniqueItems",
                               json_array_get(a, hv[s].i),
                               json_array_get(a, hv[t].i))) {
                *di = hv[s].i < hv[t].i ? hv[s].i : hv[t].i;
                *dj = hv[s].i < hv[t].i ? hv[t].i : hv[s].i;
                found = true;
            }
    free(hv);
    return found;
}

static bool eval_array(vctx *c, const sc_node *n, const json_t *a)
{
    bool ok = true;
    size_t count = json_array_size(a);
    if (n->has_min_items && count < n->min_items &&
        !keep_going(c, &ok, report(c, n, "minItems",
                                   "array has fewer than %zu items",
                                   n->min_items)))
        return false;
    if (n->has_max_items && count > n->max_items &&
        !keep_going(c, &ok, report(c, n, "maxItems",
                                   "array has more than %zu items",
                                   n->max_items)))
        return false;
    size_t prefix = n->prefix_items.count;
    for (size_t i = 0; i < prefix && i < count; i++)
        if (!keep_going(c, &ok, eval_index(c, n, n->prefix_items.v[i], i,
                                           json_array_get(a, i))))
            return false;
    if (n->items && count > prefix) {
        if (n->items->boolean == 0) {
            if (!keep_going(c, &ok, report(c, n, "items",
                                           "array has more than %zu items",
                                           prefix)))
                return false;
        } else {
            for (size_t i = prefix; i < count; i++)
                if (!keep_going(c, &ok, eval_index(c, n, n->items, i,
                                                   json_array_get(a, i))))
                    return false;
        }
    }
    if (n->contains) {
        size_t matches = 0;
        size_t min = n->has_min_contains ? n->min_contains : 1;
        for (size_t i = 0; i < count && !c->fatal; i++)
            if (push_index(c, n, i)) {
                matches += try_eval(c, n->contains, json_array_get(a, i));
                pop(c);
            }
        if (c->fatal)
            return false;
        if (matches < min &&
            !keep_going(c, &ok, report(c, n, "contains",
                                       "array has fewer than %zu items "
                                       "matching contains",
                                       min)))
            return false;
        if (n->has_max_contains && matches > n->max_contains &&
            !keep_going(c, &ok, report(c, n, "maxContains",
                                       "array has more than %zu items "
                                       "matching contains",
                                       n->max_contains)))
            return false;
    }
    if (n->unique_items && count > 1) {
        size_t i = 0, j = 0;
        bool dup = find_duplicate(c, n, a, &i, &j);
        if (c->fatal)
            return false;
        if (dup && !keep_going(c, &ok, report(c, n, "uniqueItems",
                                              "array items %zu and %zu are "
                                              "equal",
                                              i, j)))
            return false;
    }
    return ok;
}

/* ---- objects ---- */

static const sc_prop *find_prop(sc_prop *const *v, size_t count,
                                const char *key, size_t len)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = v[mid]->len != len ? (v[mid]->len < len ? -1 : 1)
                                   : memcmp(v[mid]->name, key, len);
        if (r == 0)
            return v[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* properties / patternProperties / additionalProperties / propertyNames
 * for one member. */
static bool eval_member(vctx *c, const sc_node *n, const char *key,
                        size_t len, const json_t *val)
{
    bool ok = true, matched = false;
    const sc_prop *p = find_prop(n->props_sorted, n->prop_count, key, len);
    if (p) {
        matched = true;
        if (!keep_going(c, &ok, eval_key(c, n, p->schema, key, val)))
            return false;
    }
    for (size_t i = 0; i < n->pprop_count; i++) {
        int r = match(c, n, "patternProperties", &n->pprops[i].re, key, len);
        if (r < 0)
            return false;
        if (r == 0)
            continue;
        matched = true;
        if (!keep_going(c, &ok,
                        eval_key(c, n, n->pprops[i].schema, key, val)))
            return false;
    }
    if (!matched && n->additional) {
        bool r;
        if (n->additional->boolean == 0) {
            /* The common "no unknown fields" case gets a clear message,
             * located at the member itself. */
            if (!push_key(c, n, key))
                return false;
            r = report(c, n, "additionalProperties",
                       "property is not allowed (additionalProperties is "
                       "false)");
            pop(c);
        } else {
            r = eval_key(c, n, n->additional, key, val);
        }
        if (!keep_going(c, &ok, r))
            return false;
    }
    if (n->property_names) {
        json_t *name = json_stringn_nocheck(key, len);
        LX_ASSERT(name != NULL);
        bool r = eval_key(c, n, n->property_names, key, name);
        json_decref(name);
        if (!keep_going(c, &ok, r))
            return false;
    }
    return ok;
}

static bool eval_object(vctx *c, const sc_node *n, const json_t *o)
{
    bool ok = true;
    size_t size = json_object_size(o);
    if (n->has_min_props && size < n->min_props &&
        !keep_going(c, &ok, report(c, n, "minProperties",
                                   "object has fewer than %zu properties",
                                   n->min_props)))
        return false;
    if (n->has_max_props && size > n->max_props &&
        !keep_going(c, &ok, report(c, n, "maxProperties",
                                   "object has more than %zu properties",
                                   n->max_props)))
        return false;
    for (size_t i = 0; i < n->required_count; i++) {
        const sc_name *r = &n->required[i];
        if (!json_object_getn(o, r->name, r->len) &&
            !keep_going(c, &ok, report(c, n, "required",
                                       "required property '%.*s' is missing",
                                       r->len > 64 ? 64 : (int)r->len,
                                       r->name)))
            return false;
    }
    for (size_t i = 0; i < n->dep_required_count; i++) {
        const sc_depreq *d = &n->dep_required[i];
        if (!json_object_getn(o, d->name, d->len))
            continue;
        for (size_t j = 0; j < d->required_count; j++) {
            const sc_name *r = &d->required[j];
            if (!json_object_getn(o, r->name, r->len) &&
                !keep_going(c, &ok,
                            report(c, n, "dependentRequired",
                                   "property '%.*s' is required when '%.*s' "
                                   "is present",
                                   r->len > 64 ? 64 : (int)r->len, r->name,
                                   d->len > 64 ? 64 : (int)d->len, d->name)))
                return false;
        }
    }
    if (n->pprop_count || n->additional || n->property_names) {
        /* Every member must be looked at. */
        json_t *oo = (json_t *)o; /* iteration only reads */
        for (void *it = json_object_iter(oo); it;
             it = json_object_iter_next(oo, it))
            if (!keep_going(c, &ok,
                            eval_member(c, n, json_object_iter_key(it),
                                        json_object_iter_key_len(it),
                                        json_object_iter_value(it))))
                return false;
    } else {
        /* Only the declared properties matter: look them up. */
        for (size_t i = 0; i < n->prop_count; i++) {
            const sc_prop *p = &n->props[i];
            const json_t *val = json_object_getn(o, p->name, p->len);
            if (val && !keep_going(c, &ok,
                                   eval_key(c, n, p->schema, p->name, val)))
                return false;
        }
    }
    for (size_t i = 0; i < n->dep_schema_count; i++) {
        const sc_prop *d = &n->dep_schemas[i];
        if (json_object_getn(o, d->name, d->len) &&
            !keep_going(c, &ok, eval(c, d->schema, o)))
            return false;
    }
    return ok;
}

/* ---- in-place applicators ---- */

static bool eval_apply(vctx *c, const sc_node *n, const json_t *v)
{
    bool ok = true;
    for (size_t i = 0; i < n->all_of.count; i++)
        if (!keep_going(c, &ok, eval(c, n->all_of.v[i], v)))
            return false;
    if (n->any_of.count) {
        bool any = false;
        for (size_t i = 0; i < n->any_of.count && !any && !c->fatal; i++)
            any = try_eval(c, n->any_of.v[i], v);
        if (c->fatal)
            return false;
        if (!any && !keep_going(c, &ok,
                                report(c, n, "anyOf",
                                       "value matches none of the %zu "
                                       "schemas in anyOf",
                                       n->any_of.count)))
            return false;
    }
    if (n->one_of.count) {
        size_t hits = 0, first = 0, second = 0;
        for (size_t i = 0; i < n->one_of.count && hits < 2 && !c->fatal;
             i++) {
            if (try_eval(c, n->one_of.v[i], v)) {
                if (hits++ == 0)
                    first = i;
                else
                    second = i;
            }
        }
        if (c->fatal)
            return false;
        bool r = true;
        if (hits == 0)
            r = report(c, n, "oneOf",
                       "value matches none of the %zu schemas in oneOf",
                       n->one_of.count);
        else if (hits > 1)
            r = report(c, n, "oneOf",
                       "value matches more than one schema in oneOf (%zu "
                       "and %zu)",
                       first, second);
        if (!keep_going(c, &ok, r))
            return false;
    }
    if (n->not_schema) {
        bool r = try_eval(c, n->not_schema, v);
        if (c->fatal)
            return false;
        if (r && !keep_going(c, &ok,
                             report(c, n, "not",
                                    "value must not match the schema in "
                                    "not")))
            return false;
    }
    if (n->if_schema) {
        bool r = try_eval(c, n->if_schema, v);
        if (c->fatal)
            return false;
        const sc_node *branch = r ? n->then_schema : n->else_schema;
        if (branch && !keep_going(c, &ok, eval(c, branch, v)))
            return false;
    }
    return ok;
}

/* ---- one schema ---- */

static bool eval_keywords(vctx *c, const sc_node *n, const json_t *v)
{
    bool ok = true;
    if (n->ref && !keep_going(c, &ok, eval(c, n->ref, v)))
        return false;
    if (n->types && !type_ok(n->types, v)) {
        char want[64];
        types_text(n->types, want, sizeof(want));
        if (!keep_going(c, &ok, report(c, n, "type", "expected %s, got %s",
                                       want, type_name(v))))
            return false;
    }
    if (n->has_const && !equal_or_limit(c, n, "const", v, n->const_value) &&
        !keep_going(c, &ok, report(c, n, "const",
                                   "value is not the constant the schema "
                                   "requires")))
        return false;
    if (n->has_enum) {
        bool found = false;
        for (size_t i = 0; i < n->enum_count && !found && !c->fatal; i++)
            found = equal_or_limit(c, n, "enum", v, n->enum_values[i]);
        if (!found && !keep_going(c, &ok, report(c, n, "enum",
                                                 "value is not one of %s",
                                                 n->enum_text)))
            return false;
    }
    bool r = true;
    switch (json_typeof(v)) {
    case JSON_INTEGER:
    case JSON_REAL:
        if (n->groups & SC_G_NUMBER)
            r = eval_number(c, n, v);
        break;
    case JSON_STRING:
        if (n->groups & SC_G_STRING)
            r = eval_string(c, n, v);
        break;
    case JSON_ARRAY:
        if (n->groups & SC_G_ARRAY)
            r = eval_array(c, n, v);
        break;
    case JSON_OBJECT:
        if (n->groups & SC_G_OBJECT)
            r = eval_object(c, n, v);
        break;
    default:
        break;
    }
    if (!keep_going(c, &ok, r))
        return false;
    if ((n->groups & SC_G_APPLY) && !keep_going(c, &ok, eval_apply(c, n, v)))
        return false;
    return ok;
}

static bool eval(vctx *c, const sc_node *n, const json_t *v)
{
    if (c->fatal)
        return false;
    if (n->boolean == 1)
        return true;
    if (n->boolean == 0)
        return report(c, n, NULL, "no value is allowed here (false schema)");
    if (c->evals >= LX_SCHEMA_EVAL_MAX)
        return limit(c, n, NULL, "schema evaluation nested deeper than %d",
                     LX_SCHEMA_EVAL_MAX);
    c->evals++;
    bool ok = eval_keywords(c, n, v);
    c->evals--;
    return ok && !c->fatal;
}

/* ---- public ---- */

static void issue_to_error(const lx_schema_issue *is, int code, lx_error *err)
{
    lx_error_set(err, code, "at %s: schema %s: %s",
                 is->instance_ptr[0] ? is->instance_ptr : "root",
                 is->keyword_ptr[0] ? is->keyword_ptr : "root", is->msg);
    lx_error_at(err, is->instance_ptr, 0, 0);
}

static int run(const lx_schema *s, const json_t *instance, bool all,
               lx_schema_issue *issues, size_t max, size_t *count,
               lx_error *err)
{
    LX_ASSERT(s != NULL && instance != NULL);
    LX_ASSERT(issues != NULL || max == 0);
    vctx ctx, *c = &ctx; /* about 6 KiB, mostly the instance path */
    c->s = s;
    c->depth = 0;
    c->evals = 0;
    c->silent = 0;
    c->all = all;
    c->issues = issues;
    c->max = max;
    c->count = 0;
    c->fatal = 0;
    c->md = NULL;
    bool ok = eval(c, s->root, instance);
    if (c->md)
        sc_mdpool_give(s->pool, c->md);
    if (count)
        *count = c->count;
    int rc = 0;
    if (c->fatal) {
        rc = LX_ELIMIT;
        issue_to_error(&c->limit, rc, err);
    } else if (!ok) {
        rc = LX_ESCHEMA;
        if (c->count == 0) { /* cannot happen: every failure reports */
            lx_error_set(err, rc, "instance is not valid");
            lx_error_at(err, "", 0, 0);
        } else {
            issue_to_error(max > 0 ? &issues[0] : &c->first, rc, err);
        }
    }
    return rc;
}

int lx_schema_validate(const lx_schema *s, const json_t *instance,
                       lx_error *err)
{
    return run(s, instance, false, NULL, 0, NULL, err);
}

int lx_schema_validate_all(const lx_schema *s, const json_t *instance,
                           lx_schema_issue *issues, size_t max, size_t *count,
                           lx_error *err)
{
    LX_ASSERT(count != NULL);
    return run(s, instance, true, issues, max, count, err);
}
