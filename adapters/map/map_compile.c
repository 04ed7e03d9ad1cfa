/* adapters/map/map_compile.c: mapping file -> program.
 *
 * Everything that can be checked without an input is checked here, once:
 * keys, rule types, path syntax, date pictures, code tables, whether each
 * rule can run in each direction it is asked to. Every error names the
 * file, the rule ("rule 'family' (#2.1)") and the JSON pointer of the
 * offending value, with its line and column when the text is known. */
#include "adapters/map/map_int.h"
#include "core/json.h"
#include "core/mem.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PTR_MAX 256
#define NUM_MAX 48
#define LABEL_MAX 160

typedef struct cc {
    lx_map *m;
    const char *text; /* may be NULL */
    size_t len;
    const char *name;
    const char *base_dir;
    lx_error *err;
    size_t rule_total;
    /* named tables */
    const char **table_names;
    mp_table **named;
    size_t named_count;
    /* rule ids seen, to refuse duplicates */
    const char **ids;
    size_t id_count;
} cc;

LX_PRINTF(5, 6)
static int cfail(cc *c, int code, const char *ptr, const char *ctx,
                 const char *fmt, ...)
{
    char msg[LX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (ctx)
        lx_error_set(c->err, code, "%s at %s: %s", ctx, ptr[0] ? ptr : "/",
                     msg);
    else
        lx_error_set(c->err, code, "%s: %s", ptr[0] ? ptr : "/", msg);
    long line = 0, col = 0;
    if (c->text)
        lx_json_locate(c->text, c->len, ptr, &line, &col);
    lx_error_at(c->err, c->name, line, col);
    return code;
}

static void ptr_key(char *dst, const char *base, const char *key)
{
    snprintf(dst, PTR_MAX, "%s", base);
    lx_json_pointer_append(dst, PTR_MAX, key);
}

static void ptr_index(char *dst, const char *base, size_t i)
{
    snprintf(dst, PTR_MAX, "%s", base);
    lx_json_pointer_append_index(dst, PTR_MAX, i);
}

static json_t *keep_value(cc *c, const json_t *v)
{
    lx_map *m = c->m;
    m->values =
        lx_xrealloc(m->values, (m->value_count + 1) * sizeof(*m->values));
    json_t *copy = json_deep_copy(v);
    LX_ASSERT(copy != NULL);
    m->values[m->value_count++] = copy;
    return copy;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

static int check_keys(cc *c, const json_t *obj, const char *ptr,
                      const char *ctx, const char *what,
                      const char *const *allowed)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i;
        for (i = 0; allowed[i]; i++)
            if (strcmp(key, allowed[i]) == 0)
                break;
        if (allowed[i])
            continue;
        char p[PTR_MAX], known[256] = "";
        ptr_key(p, ptr, key);
        for (i = 0; allowed[i]; i++) {
            size_t n = strlen(known);
            snprintf(known + n, sizeof(known) - n, "%s%s", i ? ", " : "",
                     allowed[i]);
        }
        return cfail(c, LX_ECONFIG, p, ctx,
                     "unknown key '%s' in %s (known: "
                     "%s)",
                     key, what, known);
    }
    return 0;
}

static int get_string(cc *c, const json_t *obj, const char *key,
                      const char *ptr, const char *ctx, bool required,
                      const char **out)
{
    *out = NULL;
    const json_t *v = json_object_get(obj, key);
    char p[PTR_MAX];
    ptr_key(p, ptr, key);
    if (!v) {
        if (required)
            return cfail(c, LX_ECONFIG, ptr, ctx, "missing \"%s\"", key);
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        strlen(json_string_value(v)) != json_string_length(v))
        return cfail(c, LX_ECONFIG, p, ctx, "\"%s\" must be a non-empty string",
                     key);
    *out = json_string_value(v);
    return 0;
}

static int compile_path(cc *c, const json_t *v, const char *ptr,
                        const char *ctx, const mp_path **out)
{
    if (!json_is_string(v) ||
        strlen(json_string_value(v)) != json_string_length(v))
        return cfail(c, LX_ECONFIG, ptr, ctx,
                     "a path must be a string, not "
                     "%s",
                     type_name(v));
    char why[200];
    int rc = mp_path_parse(&c->m->arena, json_string_value(v), out, why,
                           sizeof(why));
    if (rc)
        return cfail(c, LX_ESYNTAX, ptr, ctx, "invalid path '%s': %s",
                     json_string_value(v), why);
    return 0;
}

/* ---- code tables ---- */

static int parse_policy(cc *c, const json_t *v, const char *ptr,
                        const char *ctx, int *policy, json_t **fallback)
{
    *fallback = NULL;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strcmp(s, "error") == 0)
            *policy = MP_UNMAPPED_ERROR;
        else if (strcmp(s, "pass") == 0)
            *policy = MP_UNMAPPED_PASS;
        else if (strcmp(s, "drop") == 0)
            *policy = MP_UNMAPPED_DROP;
        else
            return cfail(c, LX_ECONFIG, ptr, ctx,
                         "unknown policy '%s' (known: error, pass, drop, "
                         "{\"value\": ...})",
                         s);
        return 0;
    }
    const json_t *val = json_object_get(v, "value");
    if (json_is_object(v) && json_object_size(v) == 1 && val &&
        !json_is_object(val) && !json_is_array(val) && !json_is_null(val)) {
        *policy = MP_UNMAPPED_VALUE;
        *fallback = json_deep_copy(val);
        return 0;
    }
    return cfail(c, LX_ECONFIG, ptr, ctx,
                 "a policy is \"error\", \"pass\", \"drop\" or {\"value\": "
                 "<a string, number or boolean>}");
}

static int compile_table(cc *c, const json_t *t, const char *name,
                         const char *ptr, const char *ctx, mp_table **out)
{
    static const char *const keys[] = {"in", "out", "unmapped", "note", NULL};
    if (!json_is_object(t))
        return cfail(c, LX_ECONFIG, ptr, ctx,
                     "a code table is an object with \"in\"");
    int rc = check_keys(c, t, ptr, ctx, "a code table", keys);
    if (rc)
        return rc;
    mp_arena *a = &c->m->arena;
    mp_table *tab = mp_alloc(a, sizeof(*tab));
    tab->name = mp_strdup(a, name);
    c->m->tables = lx_xrealloc(c->m->tables,
                               (c->m->table_count + 1) * sizeof(*c->m->tables));
    c->m->tables[c->m->table_count++] = tab;

    const json_t *in = json_object_get(t, "in");
    const json_t *outo = json_object_get(t, "out");
    char p[PTR_MAX];
    if (!json_is_object(in) || json_object_size(in) == 0)
        return cfail(c, LX_ECONFIG, ptr, ctx,
                     "\"in\" must be a non-empty object of native code -> "
                     "canonical code");
    if (outo && (!json_is_object(outo) || json_object_size(outo) == 0))
        return cfail(c, LX_ECONFIG, ptr, ctx,
                     "\"out\" must be a non-empty object of canonical code "
                     "-> native code");
    if (json_object_size(in) > MP_TABLE_MAX ||
        (outo && json_object_size(outo) > MP_TABLE_MAX))
        return cfail(c, LX_ELIMIT, ptr, ctx, "more than %d codes",
                     MP_TABLE_MAX);
    mp_hash_init(&tab->dir[LX_MAP_IN], a, json_object_size(in));
    mp_hash_init(&tab->dir[LX_MAP_OUT], a,
                 outo ? json_object_size(outo) : json_object_size(in));
    tab->bijective = true;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)in, key, v)
    {
        ptr_key(p, ptr, "in");
        lx_json_pointer_append(p, sizeof(p), key);
        char buf[40];
        const char *s;
        size_t len;
        if (!mp_scalar_text(v, buf, sizeof(buf), &s, &len))
            return cfail(c, LX_ECONFIG, p, ctx,
                         "a code maps to a string, number or boolean");
        mp_hash_put(&tab->dir[LX_MAP_IN], a, key, strlen(key),
                    json_deep_copy(v));
        if (outo)
            continue;
        /* The inverse, when each canonical code has one native code. */
        if (!mp_hash_put(&tab->dir[LX_MAP_OUT], a, s, len, json_string(key)) &&
            tab->bijective) {
            tab->bijective = false;
            snprintf(tab->conflict, sizeof(tab->conflict),
                     "canonical code '%.*s' comes from more than one native "
                     "code",
                     (int)(len > 40 ? 40 : len), s);
        }
    }
    if (outo) {
        tab->explicit_out = true;
        json_object_foreach((json_t *)outo, key, v)
        {
            ptr_key(p, ptr, "out");
            lx_json_pointer_append(p, sizeof(p), key);
            if (json_is_object(v) || json_is_array(v) || json_is_null(v))
                return cfail(c, LX_ECONFIG, p, ctx,
                             "a code maps to a string, number or boolean");
            mp_hash_put(&tab->dir[LX_MAP_OUT], a, key, strlen(key),
                        json_deep_copy(v));
        }
        /* Bijective only if "out" is exactly the inverse of "in". */
        json_object_foreach((json_t *)in, key, v)
        {
            char buf[40];
            const char *s;
            size_t len;
            mp_scalar_text(v, buf, sizeof(buf), &s, &len);
            const json_t *back = mp_hash_get(&tab->dir[LX_MAP_OUT], s, len);
            if (!back || !json_is_string(back) ||
                strcmp(json_string_value(back), key) != 0) {
                tab->bijective = false;
                snprintf(tab->conflict, sizeof(tab->conflict),
                         "\"out\" does not take canonical code '%.*s' back "
                         "to '%.40s'",
                         (int)(len > 40 ? 40 : len), s, key);
                break;
            }
        }
        if (tab->bijective && json_object_size(outo) != json_object_size(in)) {
            tab->bijective = false;
            snprintf(tab->conflict, sizeof(tab->conflict),
                     "\"out\" has codes that \"in\" never produces");
        }
    }
    const json_t *um = json_object_get(t, "unmapped");
    if (um) {
        ptr_key(p, ptr, "unmapped");
        const json_t *uin = json_object_get(um, "in");
        const json_t *uout = json_object_get(um, "out");
        if (json_is_object(um) && (uin || uout)) {
            static const char *const ukeys[] = {"in", "out", NULL};
            rc = check_keys(c, um, p, ctx, "\"unmapped\"", ukeys);
            char q[PTR_MAX];
            for (int d = 0; rc == 0 && d < 2; d++) {
                const json_t *pv = d == 0 ? uin : uout;
                if (!pv)
                    continue;
                ptr_key(q, p, d == 0 ? "in" : "out");
                rc = parse_policy(c, pv, q, ctx, &tab->dir[d].unmapped,
                                  &tab->dir[d].fallback);
            }
        } else {
            rc = parse_policy(c, um, p, ctx, &tab->dir[0].unmapped,
                              &tab->dir[0].fallback);
            if (rc == 0) {
                tab->dir[1].unmapped = tab->dir[0].unmapped;
                tab->dir[1].fallback = json_deep_copy(tab->dir[0].fallback);
            }
        }
        if (rc)
            return rc;
    }
    *out = tab;
    return 0;
}

static int compile_tables(cc *c, const json_t *tables)
{
    if (!tables)
        return 0;
    if (!json_is_object(tables))
        return cfail(c, LX_ECONFIG, "/tables", NULL,
                     "\"tables\" must be an object of name -> table");
    size_t n = json_object_size(tables);
    c->table_names = lx_xcalloc(n, sizeof(*c->table_names));
    c->named = lx_xcalloc(n, sizeof(*c->named));
    const char *name;
    const json_t *t;
    json_object_foreach((json_t *)tables, name, t)
    {
        char p[PTR_MAX];
        ptr_key(p, "/tables", name);
        mp_table *tab;
        int rc = compile_table(c, t, name, p, NULL, &tab);
        if (rc)
            return rc;
        c->table_names[c->named_count] = name;
        c->named[c->named_count++] = tab;
    }
    return 0;
}

/* ---- transforms ---- */

static const char *field_names(unsigned f, char *buf, size_t size)
{
    static const struct {
        unsigned f;
        const char *name;
    } names[] = {{MP_F_YEAR, "year"},         {MP_F_MONTH, "month"},
                 {MP_F_DAY, "day"},           {MP_F_HOUR, "hour"},
                 {MP_F_MINUTE, "minute"},     {MP_F_SECOND, "second"},
                 {MP_F_FRACTION, "fraction"}, {MP_F_ZONE, "time zone"}};
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(f & names[i].f))
            continue;
        size_t n = strlen(buf);
        snprintf(buf + n, size - n, "%s%s", n ? ", " : "", names[i].name);
    }
    return buf;
}

/* Fields the target needs that the source lacks and that cannot be
 * filled: minutes and seconds are 00 when the source has the hour; a
 * fraction is optional; a zone needs "zone". */
static unsigned date_missing(unsigned src, unsigned dst, bool zone)
{
    unsigned fill = MP_F_FRACTION;
    if (src & MP_F_HOUR)
        fill |= MP_F_MINUTE | MP_F_SECOND;
    if (zone)
        fill |= MP_F_ZONE;
    return dst & ~src & ~fill;
}

static int compile_date(cc *c, const json_t *o, const char *ptr,
                        const char *ctx, mp_xform *x)
{
    static const char *const keys[] = {"native", "canonical", "zone", NULL};
    if (!json_is_object(o))
        return cfail(c, LX_ECONFIG, ptr, ctx,
                     "\"date\" takes {\"native\": picture, \"canonical\": "
                     "picture}");
    int rc = check_keys(c, o, ptr, ctx, "\"date\"", keys);
    const char *pics[2], *zone = NULL;
    if (rc == 0)
        rc = get_string(c, o, "native", ptr, ctx, true, &pics[MP_NATIVE]);
    if (rc == 0)
        rc = get_string(c, o, "canonical", ptr, ctx, true, &pics[MP_CANONICAL]);
    if (rc == 0)
        rc = get_string(c, o, "zone", ptr, ctx, false, &zone);
    if (rc)
        return rc;
    for (int s = 0; s < 2; s++) {
        char why[200], p[PTR_MAX];
        ptr_key(p, ptr, s == MP_NATIVE ? "native" : "canonical");
        if (mp_date_compile(&c->m->arena, pics[s], &x->date[s], why,
                            sizeof(why)))
            return cfail(c, LX_ESYNTAX, p, ctx, "%s", why);
    }
    if (zone) {
        char p[PTR_MAX];
        ptr_key(p, ptr, "zone");
        if (!mp_zone_parse(zone, &x->zone_min))
            return cfail(c, LX_ECONFIG, p, ctx,
                         "\"zone\" is an offset like +01:00, -05:00 or Z");
        x->has_zone = true;
    }
    unsigned nf = x->date[MP_NATIVE]->fields;
    unsigned cf = x->date[MP_CANONICAL]->fields;
    unsigned miss_in = date_missing(nf, cf, x->has_zone);
    unsigned miss_out = date_missing(cf, nf, x->has_zone);
    x->can[LX_MAP_IN] = miss_in == 0;
    x->can[LX_MAP_OUT] = miss_out == 0;
    char f[120];
    if (miss_in && miss_out)
        return cfail(c, LX_ECONFIG, ptr, ctx,
                     "the pictures share too little: canonical needs %s",
                     field_names(miss_in, f, sizeof(f)));
    /* Lossless both ways unless a side drops fields the other has (a
     * zone converted to "zone" is the same instant). */
    unsigned dropped_in = nf & ~cf & ~(x->has_zone ? MP_F_ZONE : 0u);
    unsigned dropped_out = cf & ~nf & ~(x->has_zone ? MP_F_ZONE : 0u) &
                           ~(MP_F_MINUTE | MP_F_SECOND | MP_F_FRACTION);
    if (!x->can[LX_MAP_IN] || !x->can[LX_MAP_OUT] || dropped_in ||
        dropped_out) {
        char why[200];
        if (!x->can[LX_MAP_IN])
            snprintf(why, sizeof(why), "the native picture lacks %s",
                     field_names(miss_in, f, sizeof(f)));
        else if (!x->can[LX_MAP_OUT])
            snprintf(why, sizeof(why), "the canonical picture lacks %s",
                     field_names(miss_out, f, sizeof(f)));
        else
            snprintf(why, sizeof(why), "it drops the %s",
                     field_names(dropped_in | dropped_out, f, sizeof(f)));
        x->inv = MP_INV_NONE;
        x->one_way = mp_strdup(&c->m->arena, why);
    }
    if (((nf ^ cf) & MP_F_ZONE) && !x->has_zone && (cf & MP_F_ZONE))
        return cfail(c, LX_ECONFIG, ptr, ctx,
                     "the canonical picture has a time zone and the native "
                     "one has none: say which with \"zone\"");
    return 0;
}

static int get_small_int(cc *c, const json_t *o, const char *key,
                         const char *ptr, const char *ctx, int *out)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    char p[PTR_MAX];
    ptr_key(p, ptr, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > 9)
        return cfail(c, LX_ECONFIG, p, ctx, "\"%s\" must be 0 to 9", key);
    *out = (int)json_integer_value(v);
    return 0;
}

static int compile_number(cc *c, const json_t *o, const char *ptr,
                          const char *ctx, mp_xform *x)
{
    static const char *const keys[] = {"implied_decimals", "decimals",
                                       "decimal_mark", "integer", NULL};
    if (!json_is_object(o))
        return cfail(c, LX_ECONFIG, ptr, ctx,
                     "\"number\" takes an object "
                     "of options ({} for none)");
    int rc = check_keys(c, o, ptr, ctx, "\"number\"", keys);
    x->implied_decimals = -1;
    x->decimals = -1;
    x->decimal_mark = '.';
    if (rc == 0)
        rc = get_small_int(c, o, "implied_decimals", ptr, ctx,
                           &x->implied_decimals);
    if (rc == 0)
        rc = get_small_int(c, o, "decimals", ptr, ctx, &x->decimals);
    if (rc)
        return rc;
    const char *mark = NULL;
    rc = get_string(c, o, "decimal_mark", ptr, ctx, false, &mark);
    if (rc)
        return rc;
    if (mark) {
        char p[PTR_MAX];
        ptr_key(p, ptr, "decimal_mark");
        if (strcmp(mark, ".") != 0 && strcmp(mark, ",") != 0)
            return cfail(c, LX_ECONFIG, p, ctx,
                         "\"decimal_mark\" is \".\" or \",\"");
        x->decimal_mark = mark[0];
    }
    const json_t *integer = json_object_get(o, "integer");
    if (integer && !json_is_boolean(integer)) {
        char p[PTR_MAX];
        ptr_key(p, ptr, "integer");
        return cfail(c, LX_ECONFIG, p, ctx, "\"integer\" is true or false");
    }
    x->integer = json_is_true(integer);
    if (x->implied_decimals >= 0 && (x->decimals >= 0 || mark))
        return cfail(c, LX_ECONFIG, ptr, ctx,
                     "\"implied_decimals\" excludes \"decimals\" and "
                     "\"decimal_mark\"");
    return 0;
}

static int compile_xform(cc *c, const json_t *v, const char *ptr,
                         const char *ctx, mp_xform *x)
{
    static const char known[] =
        "known: trim, upper, lower, prefix, date, number, map";
    const char *name;
    const json_t *arg = NULL;
    if (json_is_string(v)) {
        name = json_string_value(v);
    } else if (json_is_object(v) && json_object_size(v) == 1) {
        void *it = json_object_iter((json_t *)v);
        name = json_object_iter_key(it);
        arg = json_object_iter_value(it);
    } else {
        return cfail(c, LX_ECONFIG, ptr, ctx,
                     "a transform is a name (\"trim\") or an object with one "
                     "key ({\"date\": {...}})");
    }
    x->name = mp_strdup(&c->m->arena, name);
    x->inv = MP_INV_EXACT;
    x->can[0] = x->can[1] = true;
    char p[PTR_MAX];
    ptr_key(p, ptr, name);
    bool bare = arg == NULL;
    if (strcmp(name, "trim") == 0 || strcmp(name, "upper") == 0 ||
        strcmp(name, "lower") == 0) {
        if (!bare)
            return cfail(c, LX_ECONFIG, ptr, ctx,
                         "\"%s\" takes no argument: write \"%s\"", name, name);
        x->kind = name[0] == 't'   ? MP_X_TRIM
                  : name[0] == 'u' ? MP_X_UPPER
                                   : MP_X_LOWER;
        x->inv = MP_INV_NORMALIZE;
        return 0;
    }
    if (bare)
        return cfail(c, LX_ECONFIG, ptr, ctx,
                     "unknown transform '%s' (%s; prefix, date, number and "
                     "map take an argument)",
                     name, known);
    if (strcmp(name, "prefix") == 0) {
        if (!json_is_string(arg) || json_string_length(arg) == 0)
            return cfail(c, LX_ECONFIG, p, ctx,
                         "\"prefix\" takes a non-empty string");
        x->kind = MP_X_PREFIX;
        x->prefix = mp_strndup(&c->m->arena, json_string_value(arg),
                               json_string_length(arg));
        x->prefix_len = json_string_length(arg);
        return 0;
    }
    if (strcmp(name, "date") == 0) {
        x->kind = MP_X_DATE;
        return compile_date(c, arg, p, ctx, x);
    }
    if (strcmp(name, "number") == 0) {
        x->kind = MP_X_NUMBER;
        return compile_number(c, arg, p, ctx, x);
    }
    if (strcmp(name, "map") == 0) {
        x->kind = MP_X_MAP;
        if (json_is_string(arg)) {
            const char *tname = json_string_value(arg);
            for (size_t i = 0; i < c->named_count; i++)
                if (strcmp(c->table_names[i], tname) == 0)
                    x->table = c->named[i];
            if (!x->table)
                return cfail(c, LX_ECONFIG, p, ctx,
                             "no table '%s' in \"tables\"", tname);
        } else {
            mp_table *t;
            int rc = compile_table(c, arg, "inline", p, ctx, &t);
            if (rc)
                return rc;
            x->table = t;
        }
        if (!x->table->bijective) {
            x->inv = x->table->explicit_out ? MP_INV_EXPLICIT : MP_INV_NONE;
            x->can[LX_MAP_OUT] = x->table->explicit_out;
            char why[220];
            snprintf(why, sizeof(why), "code table '%s' is not bijective: %s",
                     x->table->name, x->table->conflict);
            x->one_way = mp_strdup(&c->m->arena, why);
        }
        return 0;
    }
    return cfail(c, LX_ECONFIG, ptr, ctx, "unknown transform '%s' (%s)", name,
                 known);
}

static int compile_xforms(cc *c, const json_t *arr, const char *ptr,
                          const char *ctx, mp_rule *r)
{
    if (!arr)
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return cfail(c, LX_ECONFIG, ptr, ctx,
                     "\"transform\" is a non-empty array of transforms");
    size_t n = json_array_size(arr);
    mp_xform *x = mp_alloc(&c->m->arena, n * sizeof(*x));
    for (size_t i = 0; i < n; i++) {
        char p[PTR_MAX];
        ptr_index(p, ptr, i);
        int rc = compile_xform(c, json_array_get(arr, i), p, ctx, &x[i]);
        if (rc)
            return rc;
    }
    r->xforms = x;
    r->xform_count = n;
    return 0;
}

/* ---- conditions ---- */

static int keep_regex(cc *c, const char *pattern, const char *ptr,
                      const char *ctx, const regex_t **out)
{
    regex_t *re = lx_xmalloc(sizeof(*re));
    int rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc) {
        char why[160];
        regerror(rc, re, why, sizeof(why));
        free(re);
        return cfail(c, LX_ESYNTAX, ptr, ctx,
                     "invalid regular expression (POSIX extended): %s", why);
    }
    lx_map *m = c->m;
    m->regexes =
        lx_xrealloc(m->regexes, (m->regex_count + 1) * sizeof(*m->regexes));
    m->regexes[m->regex_count++] = re;
    *out = re;
    return 0;
}

static int scalar_texts(cc *c, const json_t *vals, size_t n, const char *ptr,
                        const char *ctx, mp_when *w)
{
    w->values = mp_alloc(&c->m->arena, n * sizeof(*w->values));
    w->value_lens = mp_alloc(&c->m->arena, n * sizeof(*w->value_lens));
    w->value_count = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_is_array(vals) ? json_array_get(vals, i) : vals;
        char buf[40];
        const char *s;
        size_t len;
        if (!mp_scalar_text(v, buf, sizeof(buf), &s, &len))
            return cfail(c, LX_ECONFIG, ptr, ctx,
                         "compare with strings, numbers or booleans");
        w->values[i] = mp_strndup(&c->m->arena, s, len);
        w->value_lens[i] = len;
    }
    return 0;
}

static int compile_when1(cc *c, const json_t *o, const char *ptr,
                         const char *ctx, mp_when *w)
{
    static const char *const keys[] = {
        "native", "canonical", "exists", "equals", "in", "matches", NULL};
    if (!json_is_object(o))
        return cfail(c, LX_ECONFIG, ptr, ctx,
                     "a condition is an object like {\"native\": \"path\", "
                     "\"exists\": true}");
    int rc = check_keys(c, o, ptr, ctx, "a condition", keys);
    if (rc)
        return rc;
    const json_t *nat = json_object_get(o, "native");
    const json_t *can = json_object_get(o, "canonical");
    if (!nat == !can)
        return cfail(c, LX_ECONFIG, ptr, ctx,
                     "a condition names one path: \"native\" or "
                     "\"canonical\"");
    w->side = nat ? MP_NATIVE : MP_CANONICAL;
    char p[PTR_MAX];
    ptr_key(p, ptr, nat ? "native" : "canonical");
    rc = compile_path(c, nat ? nat : can, p, ctx, &w->path);
    if (rc)
        return rc;
    const json_t *exists = json_object_get(o, "exists");
    const json_t *equals = json_object_get(o, "equals");
    const json_t *in = json_object_get(o, "in");
    const json_t *matches = json_object_get(o, "matches");
    if ((exists != NULL) + (equals != NULL) + (in != NULL) +
            (matches != NULL) !=
        1)
        return cfail(c, LX_ECONFIG, ptr, ctx,
                     "a condition has one test: \"exists\", \"equals\", "
                     "\"in\" or \"matches\"");
    if (exists) {
        ptr_key(p, ptr, "exists");
        if (!json_is_boolean(exists))
            return cfail(c, LX_ECONFIG, p, ctx,
                         "\"exists\" is true or "
                         "false");
        w->test = json_is_true(exists) ? MP_T_EXISTS : MP_T_ABSENT;
    } else if (equals) {
        ptr_key(p, ptr, "equals");
        w->test = MP_T_EQUALS;
        rc = scalar_texts(c, equals, 1, p, ctx, w);
    } else if (in) {
        ptr_key(p, ptr, "in");
        if (!json_is_array(in) || json_array_size(in) == 0)
            return cfail(c, LX_ECONFIG, p, ctx, "\"in\" is a non-empty array");
        w->test = MP_T_IN;
        rc = scalar_texts(c, in, json_array_size(in), p, ctx, w);
    } else {
        ptr_key(p, ptr, "matches");
        if (!json_is_string(matches))
            return cfail(c, LX_ECONFIG, p, ctx,
                         "\"matches\" is a regular expression (a string)");
        w->test = MP_T_MATCHES;
        rc = keep_regex(c, json_string_value(matches), p, ctx, &w->re);
    }
    return rc;
}

static int compile_when(cc *c, const json_t *v, const char *ptr,
                        const char *ctx, mp_rule *r)
{
    if (!v)
        return 0;
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    if (n == 0)
        return cfail(c, LX_ECONFIG, ptr, ctx,
                     "\"when\" is a condition or a "
                     "non-empty array of them");
    mp_when *w = mp_alloc(&c->m->arena, n * sizeof(*w));
    for (size_t i = 0; i < n; i++) {
        char p[PTR_MAX];
        if (json_is_array(v))
            ptr_index(p, ptr, i);
        else
            snprintf(p, sizeof(p), "%s", ptr);
        int rc = compile_when1(c, json_is_array(v) ? json_array_get(v, i) : v,
                               p, ctx, &w[i]);
        if (rc)
            return rc;
    }
    r->when = w;
    r->when_count = n;
    return 0;
}

/* ---- rules ---- */

static const struct {
    const char *name;
    int type;
    const char *const *keys;
} rule_types[] = {
#define COMMON "id", "type", "note", "direction", "invertible", "when"
    {"copy", MP_R_COPY,
     (const char *const[]){COMMON, "native", "canonical", "transform",
                           "default", NULL}},
    {"object", MP_R_OBJECT,
     (const char *const[]){COMMON, "native", "canonical", "rules", NULL}},
    {"each", MP_R_EACH,
     (const char *const[]){COMMON, "native", "canonical", "rules", NULL}},
    {"const", MP_R_CONST,
     (const char *const[]){COMMON, "native", "canonical", "value", NULL}},
    {"concat", MP_R_CONCAT,
     (const char *const[]){COMMON, "native", "canonical", "separator",
                           "transform", "default", NULL}},
    {"split", MP_R_SPLIT,
     (const char *const[]){COMMON, "native", "canonical", "separator",
                           "transform", "default", NULL}},
    {"ref", MP_R_REF,
     (const char *const[]){COMMON, "native", "canonical", "entity",
                           "native_type", "unresolved", NULL}},
#undef COMMON
};

static int compile_rules(cc *c, const json_t *arr, const char *ptr,
                         const char *num_prefix, unsigned parent_dirs,
                         int depth, const mp_rule **out, size_t *count);

/* One path side of a rule (required unless optional). */
static int rule_path(cc *c, const json_t *o, int side, const char *ptr,
                     const char *ctx, bool optional, mp_rule *r)
{
    const char *key = side == MP_NATIVE ? "native" : "canonical";
    const json_t *v = json_object_get(o, key);
    if (!v) {
        if (optional)
            return 0;
        return cfail(c, LX_ECONFIG, ptr, ctx, "missing \"%s\" path", key);
    }
    char p[PTR_MAX];
    ptr_key(p, ptr, key);
    return compile_path(c, v, p, ctx, &r->side[side]);
}

/* concat / split: the side with several paths (or one path to an array). */
static int rule_parts(cc *c, const json_t *o, int side, const char *ptr,
                      const char *ctx, mp_rule *r)
{
    const char *key = side == MP_NATIVE ? "native" : "canonical";
    const json_t *v = json_object_get(o, key);
    r->parts_side = side;
    if (!v || json_is_string(v))
        return rule_path(c, o, side, ptr, ctx, false, r);
    char p[PTR_MAX];
    ptr_key(p, ptr, key);
    if (!json_is_array(v) || json_array_size(v) < 2 ||
        json_array_size(v) > MP_PATH_STEPS_MAX)
        return cfail(c, LX_ECONFIG, p, ctx,
                     "\"%s\" is a path to an array or 2 to %d paths", key,
                     MP_PATH_STEPS_MAX);
    size_t n = json_array_size(v);
    r->parts = mp_alloc(&c->m->arena, n * sizeof(*r->parts));
    r->part_count = n;
    for (size_t i = 0; i < n; i++) {
        char q[PTR_MAX];
        ptr_index(q, p, i);
        int rc = compile_path(c, json_array_get(v, i), q, ctx, &r->parts[i]);
        if (rc)
            return rc;
    }
    return 0;
}

/* Can the rule write side `side` (the target of one direction)? */
static bool side_writable(const mp_rule *r, int side, char *why, size_t n)
{
    bool each = r->type == MP_R_EACH;
    if (r->part_count && r->parts_side == side) {
        for (size_t i = 0; i < r->part_count; i++)
            if (!mp_path_writable(r->parts[i], false, why, n))
                return false;
        return true;
    }
    if (!r->side[side]) {
        snprintf(why, n, "it has no %s path",
                 side == MP_NATIVE ? "native" : "canonical");
        return false;
    }
    return mp_path_writable(r->side[side], each, why, n);
}

static int compile_rule(cc *c, const json_t *o, const char *ptr,
                        const char *num, unsigned parent_dirs, int depth,
                        mp_rule *r)
{
    mp_arena *a = &c->m->arena;
    char label[LABEL_MAX];
    const json_t *idv = json_object_get(o, "id");
    if (json_is_string(idv) && json_string_length(idv) > 0 &&
        json_string_length(idv) <= 64)
        snprintf(label, sizeof(label), "rule '%s' (#%s)",
                 json_string_value(idv), num);
    else
        snprintf(label, sizeof(label), "rule #%s", num);
    r->label = mp_strdup(a, label);
    const char *ctx = r->label;
    if (!json_is_object(o))
        return cfail(c, LX_ECONFIG, ptr, ctx, "a rule is an object, not %s",
                     type_name(o));
    if (++c->rule_total > MP_RULES_MAX)
        return cfail(c, LX_ELIMIT, ptr, ctx, "more than %d rules",
                     MP_RULES_MAX);
    char p[PTR_MAX];
    /* id */
    r->id = "";
    if (idv) {
        ptr_key(p, ptr, "id");
        if (!json_is_string(idv) || json_string_length(idv) == 0 ||
            json_string_length(idv) > 64 ||
            strlen(json_string_value(idv)) != json_string_length(idv))
            return cfail(c, LX_ECONFIG, p, ctx,
                         "\"id\" is a string of 1 to 64 characters");
        for (size_t i = 0; i < c->id_count; i++)
            if (strcmp(c->ids[i], json_string_value(idv)) == 0)
                return cfail(c, LX_ECONFIG, p, ctx,
                             "another rule already has id '%s'",
                             json_string_value(idv));
        c->ids = lx_xrealloc(c->ids, (c->id_count + 1) * sizeof(*c->ids));
        c->ids[c->id_count++] = json_string_value(idv);
        r->id = mp_strdup(a, json_string_value(idv));
    }
    /* type */
    const json_t *tv = json_object_get(o, "type");
    const char *tname = "copy";
    if (tv) {
        ptr_key(p, ptr, "type");
        if (!json_is_string(tv))
            return cfail(c, LX_ECONFIG, p, ctx, "\"type\" is a string");
        tname = json_string_value(tv);
    }
    size_t ti, nt = sizeof(rule_types) / sizeof(rule_types[0]);
    for (ti = 0; ti < nt; ti++)
        if (strcmp(rule_types[ti].name, tname) == 0)
            break;
    if (ti == nt) {
        ptr_key(p, ptr, "type");
        return cfail(c, LX_ECONFIG, p, ctx,
                     "unknown rule type '%s' (known: copy, object, each, "
                     "const, concat, split, ref)",
                     tname);
    }
    r->type = rule_types[ti].type;
    if (r->type == MP_R_COPY && json_object_get(o, "rules"))
        return cfail(c, LX_ECONFIG, ptr, ctx,
                     "nested \"rules\" need \"type\": \"object\" (one "
                     "element) or \"each\" (every element)");
    char what[40];
    snprintf(what, sizeof(what), "a %s rule", tname);
    int rc = check_keys(c, o, ptr, ctx, what, rule_types[ti].keys);
    if (rc)
        return rc;

    /* paths */
    switch (r->type) {
    case MP_R_CONST: {
        bool has_n = json_object_get(o, "native") != NULL;
        bool has_c = json_object_get(o, "canonical") != NULL;
        if (has_n == has_c)
            return cfail(c, LX_ECONFIG, ptr, ctx,
                         "a const rule writes one side: \"native\" (out) or "
                         "\"canonical\" (in)");
        rc = rule_path(c, o, has_n ? MP_NATIVE : MP_CANONICAL, ptr, ctx, false,
                       r);
        const json_t *v = json_object_get(o, "value");
        if (rc == 0 && !v)
            rc = cfail(c, LX_ECONFIG, ptr, ctx, "missing \"value\"");
        if (rc == 0)
            r->value = keep_value(c, v);
        break;
    }
    case MP_R_CONCAT:
        rc = rule_parts(c, o, MP_NATIVE, ptr, ctx, r);
        if (rc == 0)
            rc = rule_path(c, o, MP_CANONICAL, ptr, ctx, false, r);
        break;
    case MP_R_SPLIT:
        rc = rule_path(c, o, MP_NATIVE, ptr, ctx, false, r);
        if (rc == 0)
            rc = rule_parts(c, o, MP_CANONICAL, ptr, ctx, r);
        break;
    default:
        rc = rule_path(c, o, MP_NATIVE, ptr, ctx, false, r);
        if (rc == 0)
            rc = rule_path(c, o, MP_CANONICAL, ptr, ctx, false, r);
    }
    if (rc)
        return rc;
    if (r->type == MP_R_CONCAT || r->type == MP_R_SPLIT) {
        const json_t *sep = json_object_get(o, "separator");
        ptr_key(p, ptr, "separator");
        if (!json_is_string(sep))
            return cfail(c, LX_ECONFIG, sep ? p : ptr, ctx,
                         "\"separator\" is a string (\"\" joins without one)");
        r->separator =
            mp_strndup(a, json_string_value(sep), json_string_length(sep));
        r->separator_len = json_string_length(sep);
    }
    if (r->type == MP_R_REF) {
        const char *unres = NULL;
        rc = get_string(c, o, "entity", ptr, ctx, false, &r->entity);
        if (rc == 0)
            rc = get_string(c, o, "native_type", ptr, ctx, false,
                            &r->native_type);
        if (rc == 0)
            rc = get_string(c, o, "unresolved", ptr, ctx, false, &unres);
        if (rc)
            return rc;
        if (r->entity)
            r->entity = mp_strdup(a, r->entity);
        if (r->native_type)
            r->native_type = mp_strdup(a, r->native_type);
        if (unres && strcmp(unres, "drop") == 0) {
            r->drop_unresolved = true;
        } else if (unres && strcmp(unres, "error") != 0) {
            ptr_key(p, ptr, "unresolved");
            return cfail(c, LX_ECONFIG, p, ctx,
                         "\"unresolved\" is \"error\" or \"drop\"");
        }
    }
    ptr_key(p, ptr, "transform");
    rc = compile_xforms(c, json_object_get(o, "transform"), p, ctx, r);
    if (rc)
        return rc;
    ptr_key(p, ptr, "when");
    rc = compile_when(c, json_object_get(o, "when"), p, ctx, r);
    if (rc)
        return rc;
    const json_t *def = json_object_get(o, "default");
    if (def) {
        static const char *const keys[] = {"native", "canonical", NULL};
        ptr_key(p, ptr, "default");
        if (!json_is_object(def) || json_object_size(def) == 0)
            return cfail(c, LX_ECONFIG, p, ctx,
                         "\"default\" is {\"canonical\": value written in, "
                         "\"native\": value written out}");
        rc = check_keys(c, def, p, ctx, "\"default\"", keys);
        if (rc)
            return rc;
        for (int s = 0; s < 2; s++) {
            const json_t *v =
                json_object_get(def, s == MP_NATIVE ? "native" : "canonical");
            if (v)
                r->defaults[s] = keep_value(c, v);
        }
    }

    /* What the rule can do, then what it is asked to do. */
    char why_in[200] = "", why_out[200] = "";
    bool can[2];
    can[LX_MAP_IN] = side_writable(r, MP_CANONICAL, why_in, sizeof(why_in));
    can[LX_MAP_OUT] = side_writable(r, MP_NATIVE, why_out, sizeof(why_out));
    const char *one_way = NULL;
    bool exact = true;
    for (size_t i = 0; i < r->xform_count; i++) {
        const mp_xform *x = &r->xforms[i];
        for (int d = 0; d < 2; d++) {
            if (x->can[d] || !can[d])
                continue;
            can[d] = false;
            snprintf(d == 0 ? why_in : why_out, 200, "transform '%s' %s",
                     x->name, x->one_way ? x->one_way : "cannot run so");
        }
        if (x->inv == MP_INV_NONE && !one_way)
            one_way = x->one_way;
        if (x->inv == MP_INV_NONE || x->inv == MP_INV_EXPLICIT) {
            exact = false;
            if (!one_way)
                one_way = x->one_way;
        }
    }
    bool two_way = can[0] && can[1];
    for (size_t i = 0; i < r->xform_count; i++)
        if (r->xforms[i].inv == MP_INV_NONE)
            two_way = false;
    if (r->type == MP_R_CONCAT || r->type == MP_R_SPLIT) {
        /* Splitting needs a separator. */
        int split_dir = r->type == MP_R_CONCAT ? LX_MAP_OUT : LX_MAP_IN;
        if (r->separator_len == 0) {
            can[split_dir] = false;
            two_way = false;
            one_way = "an empty separator cannot be split on";
            snprintf(split_dir == 0 ? why_in : why_out, 200, "%s", one_way);
        }
    }
    if (r->type == MP_R_CONST) {
        can[LX_MAP_IN] = r->side[MP_CANONICAL] != NULL;
        can[LX_MAP_OUT] = r->side[MP_NATIVE] != NULL;
        two_way = false;
        one_way = "a constant has no source";
        char *why = can[LX_MAP_IN] ? why_out : why_in;
        snprintf(why, 200, "a constant written to the %s side runs %s only",
                 can[LX_MAP_IN] ? "canonical" : "native",
                 can[LX_MAP_IN] ? "in" : "out");
    }
    /* "invertible": true is a promise the engine checks. */
    const json_t *inv = json_object_get(o, "invertible");
    if (inv) {
        ptr_key(p, ptr, "invertible");
        if (!json_is_boolean(inv))
            return cfail(c, LX_ECONFIG, p, ctx,
                         "\"invertible\" is true or "
                         "false");
        if (json_is_true(inv) && (!two_way || !exact || !can[0] || !can[1])) {
            const char *why = one_way ? one_way : !can[0] ? why_in : why_out;
            return cfail(c, LX_ECONFIG, p, ctx, "declared invertible, but %s",
                         why[0] ? why : "it is one-way");
        }
        if (json_is_false(inv))
            two_way = false;
    }
    const json_t *dirv = json_object_get(o, "direction");
    unsigned dirs;
    ptr_key(p, ptr, "direction");
    if (dirv) {
        const char *d = json_is_string(dirv) ? json_string_value(dirv) : "";
        if (strcmp(d, "in") == 0)
            dirs = MP_DIR_IN;
        else if (strcmp(d, "out") == 0)
            dirs = MP_DIR_OUT;
        else if (strcmp(d, "both") == 0)
            dirs = MP_DIR_IN | MP_DIR_OUT;
        else
            return cfail(c, LX_ECONFIG, p, ctx,
                         "\"direction\" is \"in\", \"out\" or \"both\"");
        if ((dirs & MP_DIR_IN) && !can[LX_MAP_IN])
            return cfail(c, LX_ECONFIG, p, ctx, "cannot run in: %s", why_in);
        if ((dirs & MP_DIR_OUT) && !can[LX_MAP_OUT])
            return cfail(c, LX_ECONFIG, p, ctx, "cannot run out: %s", why_out);
        if (dirs == (MP_DIR_IN | MP_DIR_OUT) && !two_way &&
            r->type != MP_R_CONST)
            return cfail(c, LX_ECONFIG, p, ctx,
                         "\"both\", but the rule is one-way: %s",
                         one_way ? one_way : "declared not invertible");
        if ((dirs & parent_dirs) != dirs)
            return cfail(c, LX_ECONFIG, p, ctx,
                         "runs %s inside a rule that runs %s only",
                         dirs == MP_DIR_OUT ? "out" : "in",
                         parent_dirs == MP_DIR_IN ? "in" : "out");
    } else if (r->type == MP_R_CONST) {
        dirs = can[LX_MAP_IN] ? MP_DIR_IN : MP_DIR_OUT;
        if ((dirs & parent_dirs) == 0)
            return cfail(c, LX_ECONFIG, ptr, ctx,
                         "this constant runs %s, inside a rule that runs %s "
                         "only",
                         dirs == MP_DIR_IN ? "in" : "out",
                         dirs == MP_DIR_IN ? "out" : "in");
    } else if (two_way) {
        dirs = parent_dirs;
    } else if (parent_dirs != (MP_DIR_IN | MP_DIR_OUT)) {
        dirs = parent_dirs; /* the enclosing rule already says which */
        int d = parent_dirs == MP_DIR_IN ? LX_MAP_IN : LX_MAP_OUT;
        if (!can[d])
            return cfail(c, LX_ECONFIG, ptr, ctx, "cannot run %s: %s",
                         d == LX_MAP_IN ? "in" : "out",
                         d == LX_MAP_IN ? why_in : why_out);
    } else {
        const char *why = one_way   ? one_way
                          : !can[0] ? why_in
                          : !can[1] ? why_out
                                    : "declared not invertible";
        return cfail(c, LX_ECONFIG, ptr, ctx,
                     "the rule is one-way (%s): say \"direction\": \"%s\"", why,
                     can[LX_MAP_IN] ? "in" : "out");
    }
    r->dirs = dirs;
    if (r->type == MP_R_OBJECT || r->type == MP_R_EACH) {
        const json_t *kids = json_object_get(o, "rules");
        ptr_key(p, ptr, "rules");
        if (!kids)
            return cfail(c, LX_ECONFIG, ptr, ctx, "missing \"rules\"");
        if (depth + 1 >= MP_DEPTH_MAX)
            return cfail(c, LX_ELIMIT, p, ctx,
                         "rules nested more than %d "
                         "deep",
                         MP_DEPTH_MAX);
        rc = compile_rules(c, kids, p, num, dirs, depth + 1, &r->rules,
                           &r->rule_count);
    }
    return rc;
}

static int compile_rules(cc *c, const json_t *arr, const char *ptr,
                         const char *num_prefix, unsigned parent_dirs,
                         int depth, const mp_rule **out, size_t *count)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return cfail(c, LX_ECONFIG, ptr, NULL,
                     "\"rules\" is a non-empty array of rules");
    size_t n = json_array_size(arr);
    mp_rule *rules = mp_alloc(&c->m->arena, n * sizeof(*rules));
    for (size_t i = 0; i < n; i++) {
        char p[PTR_MAX], num[NUM_MAX];
        ptr_index(p, ptr, i);
        if (num_prefix)
            snprintf(num, sizeof(num), "%s.%zu", num_prefix, i + 1);
        else
            snprintf(num, sizeof(num), "%zu", i + 1);
        int rc = compile_rule(c, json_array_get(arr, i), p, num, parent_dirs,
                              depth, &rules[i]);
        if (rc)
            return rc;
    }
    *out = rules;
    *count = n;
    return 0;
}

/* ---- steps ---- */

static int compile_steps(cc *c, const json_t *arr)
{
    if (!arr)
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return cfail(c, LX_ECONFIG, "/steps", NULL,
                     "\"steps\" is a non-empty array of steps");
    static const char *const keys[] = {"id",        "type",       "note",
                                       "direction", "stylesheet", "input",
                                       "output",    NULL};
    size_t n = json_array_size(arr);
    mp_xstep *steps = mp_alloc(&c->m->arena, n * sizeof(*steps));
    c->m->steps = steps;
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(arr, i);
        mp_xstep *s = &steps[i];
        char ptr[PTR_MAX], p[PTR_MAX], label[LABEL_MAX];
        ptr_index(ptr, "/steps", i);
        const json_t *idv = json_object_get(o, "id");
        if (json_is_string(idv))
            snprintf(label, sizeof(label), "step '%.64s' (#%zu)",
                     json_string_value(idv), i + 1);
        else
            snprintf(label, sizeof(label), "step #%zu", i + 1);
        s->label = mp_strdup(&c->m->arena, label);
        const char *ctx = s->label;
        if (!json_is_object(o))
            return cfail(c, LX_ECONFIG, ptr, ctx, "a step is an object");
        int rc = check_keys(c, o, ptr, ctx, "a step", keys);
        const char *type = NULL, *dir = NULL, *sheet = NULL, *in = NULL,
                   *outk = NULL;
        if (rc == 0)
            rc = get_string(c, o, "type", ptr, ctx, true, &type);
        if (rc)
            return rc;
        if (strcmp(type, "xslt") != 0) {
            ptr_key(p, ptr, "type");
            return cfail(c, LX_ECONFIG, p, ctx,
                         "unknown step type '%s' (known: xslt)", type);
        }
        rc = get_string(c, o, "direction", ptr, ctx, true, &dir);
        if (rc == 0)
            rc = get_string(c, o, "stylesheet", ptr, ctx, true, &sheet);
        if (rc == 0)
            rc = get_string(c, o, "input", ptr, ctx, false, &in);
        if (rc == 0)
            rc = get_string(c, o, "output", ptr, ctx, false, &outk);
        if (rc)
            return rc;
        if (strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0) {
            ptr_key(p, ptr, "direction");
            return cfail(c, LX_ECONFIG, p, ctx,
                         "a step's \"direction\" is "
                         "\"in\" or \"out\": XSLT "
                         "has no inverse");
        }
        s->dirs = dir[0] == 'i' ? MP_DIR_IN : MP_DIR_OUT;
        /* Native XML is the outer end: in reads it, out writes it. */
        s->input = s->dirs == MP_DIR_IN ? LX_XSLT_XML : LX_XSLT_JSON;
        s->output = s->dirs == MP_DIR_IN ? LX_XSLT_JSON : LX_XSLT_XML;
        for (int k = 0; k < 2; k++) {
            const char *v = k == 0 ? in : outk;
            if (!v)
                continue;
            ptr_key(p, ptr, k == 0 ? "input" : "output");
            if (strcmp(v, "xml") != 0 && strcmp(v, "json") != 0)
                return cfail(c, LX_ECONFIG, p, ctx,
                             "\"%s\" is \"xml\" or \"json\"",
                             k == 0 ? "input" : "output");
            *(k == 0 ? &s->input : &s->output) =
                v[0] == 'x' ? LX_XSLT_XML : LX_XSLT_JSON;
        }
        char path[4096];
        if (sheet[0] == '/' || !c->base_dir)
            snprintf(path, sizeof(path), "%s", sheet);
        else
            snprintf(path, sizeof(path), "%s/%s", c->base_dir, sheet);
        lx_error xe;
        lx_error_clear(&xe);
        if (lx_xslt_load(path, &s->xslt, &xe) != 0) {
            ptr_key(p, ptr, "stylesheet");
            char line[LX_ERROR_MSG_MAX];
            lx_error_format(&xe, line, sizeof(line));
            /* a missing stylesheet is the mapping's fault, not the
             * environment's */
            return cfail(c, xe.code == LX_EIO ? LX_ECONFIG : xe.code, p, ctx,
                         "%s", line);
        }
        c->m->step_count = i + 1; /* owned from now on */
    }
    /* The kinds must chain: in runs top to bottom then the rules, out runs
     * the rules then bottom to top. */
    for (int d = 0; d < 2; d++) {
        unsigned bit = d == 0 ? MP_DIR_IN : MP_DIR_OUT;
        int kind = -1; /* -1: whatever the caller passes */
        if (d == 1 && c->m->has_rules)
            kind = LX_XSLT_JSON;
        for (size_t k = 0; k < n; k++) {
            size_t i = d == 0 ? k : n - 1 - k;
            if (!(steps[i].dirs & bit))
                continue;
            char ptr[PTR_MAX];
            ptr_index(ptr, "/steps", i);
            if (kind >= 0 && steps[i].input != kind)
                return cfail(c, LX_ECONFIG, ptr, steps[i].label,
                             "reads %s but gets %s from what runs before it",
                             steps[i].input == LX_XSLT_XML ? "xml" : "json",
                             kind == LX_XSLT_XML ? "xml" : "json");
            kind = steps[i].output;
        }
        if (d == 0 && c->m->has_rules && kind == LX_XSLT_XML)
            return cfail(c, LX_ECONFIG, "/steps", NULL,
                         "the last \"in\" step gives xml, but the rules "
                         "need json");
    }
    return 0;
}

/* ---- the file ---- */

static int compile_meta(cc *c, const json_t *doc, const char *key,
                        const char *const *keys, const char **field,
                        const char *field_key)
{
    const json_t *o = json_object_get(doc, key);
    if (!o)
        return 0;
    char p[PTR_MAX];
    ptr_key(p, "", key);
    if (!json_is_object(o))
        return cfail(c, LX_ECONFIG, p, NULL, "\"%s\" is an object", key);
    int rc = check_keys(c, o, p, NULL, key, keys);
    if (rc)
        return rc;
    const json_t *v = json_object_get(o, field_key);
    if (v && !json_is_string(v)) {
        char q[PTR_MAX];
        ptr_key(q, p, field_key);
        return cfail(c, LX_ECONFIG, q, NULL, "\"%s\" is a string", field_key);
    }
    if (v)
        *field = mp_strdup(&c->m->arena, json_string_value(v));
    return 0;
}

static int compile_doc(const json_t *doc, const char *text, size_t len,
                       const char *name, const char *base_dir, lx_map **out,
                       lx_error *err)
{
    *out = NULL;
    lx_map *m = lx_xcalloc(1, sizeof(*m));
    cc c;
    memset(&c, 0, sizeof(c));
    c.m = m;
    c.text = text;
    c.len = len;
    c.name = name ? name : "mapping";
    c.base_dir = base_dir;
    c.err = err;
    static const char *const top[] = {"format", "id",        "description",
                                      "native", "canonical", "tables",
                                      "steps",  "rules",     NULL};
    static const char *const native_keys[] = {"type", "standard", "note", NULL};
    static const char *const canon_keys[] = {"entity", "version", "note", NULL};
    int rc = 0;
    if (!json_is_object(doc)) {
        rc = cfail(&c, LX_ECONFIG, "", NULL, "a mapping is a JSON object");
        goto done;
    }
    const json_t *fmt = json_object_get(doc, "format");
    if (!fmt) {
        rc = cfail(&c, LX_ECONFIG, "", NULL, "missing \"format\": 1");
        goto done;
    }
    if (!json_is_integer(fmt) || json_integer_value(fmt) != 1) {
        rc = cfail(&c, LX_EUNSUPPORTED, "/format", NULL,
                   "unsupported format (this engine reads format 1)");
        goto done;
    }
    rc = check_keys(&c, doc, "", NULL, "a mapping", top);
    if (rc)
        goto done;
    const json_t *id = json_object_get(doc, "id");
    if (id && !json_is_string(id)) {
        rc = cfail(&c, LX_ECONFIG, "/id", NULL, "\"id\" is a string");
        goto done;
    }
    m->id = mp_strdup(&m->arena, id ? json_string_value(id) : c.name);
    rc = compile_meta(&c, doc, "native", native_keys, &m->native_type, "type");
    if (rc == 0)
        rc = compile_meta(&c, doc, "canonical", canon_keys, &m->entity,
                          "entity");
    if (rc == 0)
        rc = compile_tables(&c, json_object_get(doc, "tables"));
    if (rc)
        goto done;
    const json_t *rules = json_object_get(doc, "rules");
    const json_t *steps = json_object_get(doc, "steps");
    if (!rules && !steps) {
        rc = cfail(&c, LX_ECONFIG, "", NULL, "missing \"rules\"");
        goto done;
    }
    if (rules) {
        m->has_rules = true;
        rc = compile_rules(&c, rules, "/rules", NULL, MP_DIR_IN | MP_DIR_OUT, 0,
                           &m->rules, &m->rule_count);
        if (rc)
            goto done;
    }
    rc = compile_steps(&c, steps);
done:
    free(c.table_names);
    free(c.named);
    free(c.ids);
    if (rc) {
        lx_map_destroy(&m);
        return rc;
    }
    *out = m;
    return 0;
}

int lx_map_compile(const json_t *doc, const char *name, const char *base_dir,
                   lx_map **out, lx_error *err)
{
    return compile_doc(doc, NULL, 0, name, base_dir, out, err);
}

int lx_map_compile_text(const char *text, size_t len, const char *name,
                        const char *base_dir, lx_map **out, lx_error *err)
{
    *out = NULL;
    json_t *doc;
    int rc = lx_json_parse(text, len, name ? name : "mapping", LX_MAP_FILE_MAX,
                           &doc, err);
    if (rc)
        return rc;
    rc = compile_doc(doc, text, len, name, base_dir, out, err);
    json_decref(doc);
    return rc;
}

int lx_map_load(const char *path, lx_map **out, lx_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        lx_error_set(err, LX_EIO, "cannot open mapping: %s", strerror(e));
        if (err)
            err->lib_code = e;
        return lx_error_at(err, path, 0, 0);
    }
    lx_buf b;
    lx_buf_init(&b, LX_MAP_FILE_MAX);
    char chunk[16384];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = lx_buf_append(&b, chunk, n);
    bool bad = ferror(f);
    fclose(f);
    if (rc || bad) {
        lx_buf_fini(&b);
        if (rc)
            lx_error_set(err, LX_ELIMIT, "mapping over %zu bytes",
                         LX_MAP_FILE_MAX);
        else
            lx_error_set(err, LX_EIO, "cannot read mapping");
        return lx_error_at(err, path, 0, 0);
    }
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    rc = lx_map_compile_text(b.data ? b.data : "", b.len, path, dir, out, err);
    lx_buf_fini(&b);
    return rc;
}

void lx_map_destroy(lx_map **mp)
{
    if (!mp || !*mp)
        return;
    lx_map *m = *mp;
    for (size_t i = 0; i < m->table_count; i++) {
        mp_hash_fini(&m->tables[i]->dir[0]);
        mp_hash_fini(&m->tables[i]->dir[1]);
    }
    free(m->tables);
    for (size_t i = 0; i < m->value_count; i++)
        json_decref(m->values[i]);
    free(m->values);
    for (size_t i = 0; i < m->regex_count; i++) {
        regfree(m->regexes[i]);
        free(m->regexes[i]);
    }
    free(m->regexes);
    for (size_t i = 0; i < m->step_count; i++)
        lx_xslt_destroy(&m->steps[i].xslt);
    mp_arena_fini(&m->arena);
    free(m);
    *mp = NULL;
}

const char *lx_map_id(const lx_map *m) { return m->id; }
const char *lx_map_entity(const lx_map *m) { return m->entity; }
const char *lx_map_native_type(const lx_map *m) { return m->native_type; }

bool lx_map_input_is_text(const lx_map *m, lx_map_dir dir)
{
    if (dir == LX_MAP_OUT && m->has_rules)
        return false;
    for (size_t k = 0; k < m->step_count; k++) {
        size_t i = dir == LX_MAP_IN ? k : m->step_count - 1 - k;
        if (m->steps[i].dirs & MP_DIR_BIT(dir))
            return m->steps[i].input == LX_XSLT_XML;
    }
    return false;
}
