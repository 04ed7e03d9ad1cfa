/* adapters/map/map_compile_value.c: compiling what rules carry: code
 * tables (hash tables, bijectivity), transforms (date pictures, number
 * formats, which directions each can run) and conditions (regular
 * expressions). */
#include "adapters/map/map_compile_int.h"
#include "core/json.h"
#include "core/mem.h"

#include <stdio.h>
#include <string.h>

/* ---- code tables ---- */

static int parse_policy(mc_ctx *c, const json_t *v, const char *ptr,
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
            return mc_fail(c, LX_ECONFIG, ptr, ctx,
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
    return mc_fail(c, LX_ECONFIG, ptr, ctx,
                   "a policy is \"error\", \"pass\", \"drop\" or {\"value\": "
                   "<a string, number or boolean>}");
}

static int compile_table(mc_ctx *c, const json_t *t, const char *name,
                         const char *ptr, const char *ctx, mp_table **out)
{
    static const char *const keys[] = {"in", "out", "unmapped", "note", NULL};
    if (!json_is_object(t))
        return mc_fail(c, LX_ECONFIG, ptr, ctx,
                       "a code table is an object with \"in\"");
    int rc = mc_check_keys(c, t, ptr, ctx, "a code table", keys);
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
        return mc_fail(c, LX_ECONFIG, ptr, ctx,
                       "\"in\" must be a non-empty object of native code -> "
                       "canonical code");
    if (outo && (!json_is_object(outo) || json_object_size(outo) == 0))
        return mc_fail(c, LX_ECONFIG, ptr, ctx,
                       "\"out\" must be a non-empty object of canonical code "
                       "-> native code");
    if (json_object_size(in) > MP_TABLE_MAX ||
        (outo && json_object_size(outo) > MP_TABLE_MAX))
        return mc_fail(c, LX_ELIMIT, ptr, ctx, "more than %d codes",
                       MP_TABLE_MAX);
    mp_hash_init(&tab->dir[LX_MAP_IN], a, json_object_size(in));
    mp_hash_init(&tab->dir[LX_MAP_OUT], a,
                 outo ? json_object_size(outo) : json_object_size(in));
    tab->bijective = true;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)in, key, v)
    {
        mc_ptr_key(p, ptr, "in");
        lx_json_pointer_append(p, sizeof(p), key);
        char buf[40];
        const char *s;
        size_t len;
        if (!mp_scalar_text(v, buf, sizeof(buf), &s, &len))
            return mc_fail(c, LX_ECONFIG, p, ctx,
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
            mc_ptr_key(p, ptr, "out");
            lx_json_pointer_append(p, sizeof(p), key);
            if (json_is_object(v) || json_is_array(v) || json_is_null(v))
                return mc_fail(c, LX_ECONFIG, p, ctx,
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
        mc_ptr_key(p, ptr, "unmapped");
        const json_t *uin = json_object_get(um, "in");
        const json_t *uout = json_object_get(um, "out");
        if (json_is_object(um) && (uin || uout)) {
            static const char *const ukeys[] = {"in", "out", NULL};
            rc = mc_check_keys(c, um, p, ctx, "\"unmapped\"", ukeys);
            char q[PTR_MAX];
            for (int d = 0; rc == 0 && d < 2; d++) {
                const json_t *pv = d == 0 ? uin : uout;
                if (!pv)
                    continue;
                mc_ptr_key(q, p, d == 0 ? "in" : "out");
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

int mc_tables(mc_ctx *c, const json_t *tables)
{
    if (!tables)
        return 0;
    if (!json_is_object(tables))
        return mc_fail(c, LX_ECONFIG, "/tables", NULL,
                       "\"tables\" must be an object of name -> table");
    size_t n = json_object_size(tables);
    c->table_names = lx_xcalloc(n, sizeof(*c->table_names));
    c->named = lx_xcalloc(n, sizeof(*c->named));
    const char *name;
    const json_t *t;
    json_object_foreach((json_t *)tables, name, t)
    {
        char p[PTR_MAX];
        mc_ptr_key(p, "/tables", name);
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

static int compile_date(mc_ctx *c, const json_t *o, const char *ptr,
                        const char *ctx, mp_xform *x)
{
    static const char *const keys[] = {"native", "canonical", "zone", NULL};
    if (!json_is_object(o))
        return mc_fail(c, LX_ECONFIG, ptr, ctx,
                       "\"date\" takes {\"native\": picture, \"canonical\": "
                       "picture}");
    int rc = mc_check_keys(c, o, ptr, ctx, "\"date\"", keys);
    const char *pics[2], *zone = NULL;
    if (rc == 0)
        rc = mc_get_string(c, o, "native", ptr, ctx, true, &pics[MP_NATIVE]);
    if (rc == 0)
        rc = mc_get_string(c, o, "canonical", ptr, ctx, true,
                           &pics[MP_CANONICAL]);
    if (rc == 0)
        rc = mc_get_string(c, o, "zone", ptr, ctx, false, &zone);
    if (rc)
        return rc;
    for (int s = 0; s < 2; s++) {
        char why[200], p[PTR_MAX];
        mc_ptr_key(p, ptr, s == MP_NATIVE ? "native" : "canonical");
        if (mp_date_compile(&c->m->arena, pics[s], &x->date[s], why,
                            sizeof(why)))
            return mc_fail(c, LX_ESYNTAX, p, ctx, "%s", why);
    }
    if (zone) {
        char p[PTR_MAX];
        mc_ptr_key(p, ptr, "zone");
        if (!mp_zone_parse(zone, &x->zone_min))
            return mc_fail(c, LX_ECONFIG, p, ctx,
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
        return mc_fail(c, LX_ECONFIG, ptr, ctx,
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
        return mc_fail(c, LX_ECONFIG, ptr, ctx,
                       "the canonical picture has a time zone and the native "
                       "one has none: say which with \"zone\"");
    return 0;
}

static int get_small_int(mc_ctx *c, const json_t *o, const char *key,
                         const char *ptr, const char *ctx, int *out)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    char p[PTR_MAX];
    mc_ptr_key(p, ptr, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > 9)
        return mc_fail(c, LX_ECONFIG, p, ctx, "\"%s\" must be 0 to 9", key);
    *out = (int)json_integer_value(v);
    return 0;
}

static int compile_number(mc_ctx *c, const json_t *o, const char *ptr,
                          const char *ctx, mp_xform *x)
{
    static const char *const keys[] = {"implied_decimals", "decimals",
                                       "decimal_mark", "integer", NULL};
    if (!json_is_object(o))
        return mc_fail(c, LX_ECONFIG, ptr, ctx,
                       "\"number\" takes an object "
                       "of options ({} for none)");
    int rc = mc_check_keys(c, o, ptr, ctx, "\"number\"", keys);
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
    rc = mc_get_string(c, o, "decimal_mark", ptr, ctx, false, &mark);
    if (rc)
        return rc;
    if (mark) {
        char p[PTR_MAX];
        mc_ptr_key(p, ptr, "decimal_mark");
        if (strcmp(mark, ".") != 0 && strcmp(mark, ",") != 0)
            return mc_fail(c, LX_ECONFIG, p, ctx,
                           "\"decimal_mark\" is \".\" or \",\"");
        x->decimal_mark = mark[0];
    }
    const json_t *integer = json_object_get(o, "integer");
    if (integer && !json_is_boolean(integer)) {
        char p[PTR_MAX];
        mc_ptr_key(p, ptr, "integer");
        return mc_fail(c, LX_ECONFIG, p, ctx, "\"integer\" is true or false");
    }
    x->integer = json_is_true(integer);
    if (x->implied_decimals >= 0 && (x->decimals >= 0 || mark))
        return mc_fail(c, LX_ECONFIG, ptr, ctx,
                       "\"implied_decimals\" excludes \"decimals\" and "
                       "\"decimal_mark\"");
    return 0;
}

static int compile_xform(mc_ctx *c, const json_t *v, const char *ptr,
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
        return mc_fail(c, LX_ECONFIG, ptr, ctx,
                       "a transform is a name (\"trim\") or an object with one "
                       "key ({\"date\": {...}})");
    }
    x->name = mp_strdup(&c->m->arena, name);
    x->inv = MP_INV_EXACT;
    x->can[0] = x->can[1] = true;
    char p[PTR_MAX];
    mc_ptr_key(p, ptr, name);
    bool bare = arg == NULL;
    if (strcmp(name, "trim") == 0 || strcmp(name, "upper") == 0 ||
        strcmp(name, "lower") == 0) {
        if (!bare)
            return mc_fail(c, LX_ECONFIG, ptr, ctx,
                           "\"%s\" takes no argument: write \"%s\"", name,
                           name);
        x->kind = name[0] == 't'   ? MP_X_TRIM
                  : name[0] == 'u' ? MP_X_UPPER
                                   : MP_X_LOWER;
        x->inv = MP_INV_NORMALIZE;
        return 0;
    }
    if (bare)
        return mc_fail(c, LX_ECONFIG, ptr, ctx,
                       "unknown transform '%s' (%s; prefix, date, number and "
                       "map take an argument)",
                       name, known);
    if (strcmp(name, "prefix") == 0) {
        if (!json_is_string(arg) || json_string_length(arg) == 0)
            return mc_fail(c, LX_ECONFIG, p, ctx,
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
                return mc_fail(c, LX_ECONFIG, p, ctx,
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
    return mc_fail(c, LX_ECONFIG, ptr, ctx, "unknown transform '%s' (%s)", name,
                   known);
}

int mc_xforms(mc_ctx *c, const json_t *arr, const char *ptr, const char *ctx,
              mp_rule *r)
{
    if (!arr)
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return mc_fail(c, LX_ECONFIG, ptr, ctx,
                       "\"transform\" is a non-empty array of transforms");
    size_t n = json_array_size(arr);
    mp_xform *x = mp_alloc(&c->m->arena, n * sizeof(*x));
    for (size_t i = 0; i < n; i++) {
        char p[PTR_MAX];
        mc_ptr_index(p, ptr, i);
        int rc = compile_xform(c, json_array_get(arr, i), p, ctx, &x[i]);
        if (rc)
            return rc;
    }
    r->xforms = x;
    r->xform_count = n;
    return 0;
}

/* ---- conditions ---- */

static int keep_regex(mc_ctx *c, const char *pattern, const char *ptr,
                      const char *ctx, const regex_t **out)
{
    regex_t *re = lx_xmalloc(sizeof(*re));
    int rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc) {
        char why[160];
        regerror(rc, re, why, sizeof(why));
        free(re);
        return mc_fail(c, LX_ESYNTAX, ptr, ctx,
                       "invalid regular expression (POSIX extended): %s", why);
    }
    lx_map *m = c->m;
    m->regexes =
        lx_xrealloc(m->regexes, (m->regex_count + 1) * sizeof(*m->regexes));
    m->regexes[m->regex_count++] = re;
    *out = re;
    return 0;
}

static int scalar_texts(mc_ctx *c, const json_t *vals, size_t n,
                        const char *ptr, const char *ctx, mp_when *w)
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
            return mc_fail(c, LX_ECONFIG, ptr, ctx,
                           "compare with strings, numbers or booleans");
        w->values[i] = mp_strndup(&c->m->arena, s, len);
        w->value_lens[i] = len;
    }
    return 0;
}

static int compile_when1(mc_ctx *c, const json_t *o, const char *ptr,
                         const char *ctx, mp_when *w)
{
    static const char *const keys[] = {
        "native", "canonical", "exists", "equals", "in", "matches", NULL};
    if (!json_is_object(o))
        return mc_fail(c, LX_ECONFIG, ptr, ctx,
                       "a condition is an object like {\"native\": \"path\", "
                       "\"exists\": true}");
    int rc = mc_check_keys(c, o, ptr, ctx, "a condition", keys);
    if (rc)
        return rc;
    const json_t *nat = json_object_get(o, "native");
    const json_t *can = json_object_get(o, "canonical");
    if (!nat == !can)
        return mc_fail(c, LX_ECONFIG, ptr, ctx,
                       "a condition names one path: \"native\" or "
                       "\"canonical\"");
    w->side = nat ? MP_NATIVE : MP_CANONICAL;
    char p[PTR_MAX];
    mc_ptr_key(p, ptr, nat ? "native" : "canonical");
    rc = mc_path(c, nat ? nat : can, p, ctx, &w->path);
    if (rc)
        return rc;
    const json_t *exists = json_object_get(o, "exists");
    const json_t *equals = json_object_get(o, "equals");
    const json_t *in = json_object_get(o, "in");
    const json_t *matches = json_object_get(o, "matches");
    if ((exists != NULL) + (equals != NULL) + (in != NULL) +
            (matches != NULL) !=
        1)
        return mc_fail(c, LX_ECONFIG, ptr, ctx,
                       "a condition has one test: \"exists\", \"equals\", "
                       "\"in\" or \"matches\"");
    if (exists) {
        mc_ptr_key(p, ptr, "exists");
        if (!json_is_boolean(exists))
            return mc_fail(c, LX_ECONFIG, p, ctx,
                           "\"exists\" is true or "
                           "false");
        w->test = json_is_true(exists) ? MP_T_EXISTS : MP_T_ABSENT;
    } else if (equals) {
        mc_ptr_key(p, ptr, "equals");
        w->test = MP_T_EQUALS;
        rc = scalar_texts(c, equals, 1, p, ctx, w);
    } else if (in) {
        mc_ptr_key(p, ptr, "in");
        if (!json_is_array(in) || json_array_size(in) == 0)
            return mc_fail(c, LX_ECONFIG, p, ctx,
                           "\"in\" is a non-empty array");
        w->test = MP_T_IN;
        rc = scalar_texts(c, in, json_array_size(in), p, ctx, w);
    } else {
        mc_ptr_key(p, ptr, "matches");
        if (!json_is_string(matches))
            return mc_fail(c, LX_ECONFIG, p, ctx,
                           "\"matches\" is a regular expression (a string)");
        w->test = MP_T_MATCHES;
        rc = keep_regex(c, json_string_value(matches), p, ctx, &w->re);
    }
    return rc;
}

int mc_when(mc_ctx *c, const json_t *v, const char *ptr, const char *ctx,
            mp_rule *r)
{
    if (!v)
        return 0;
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    if (n == 0)
        return mc_fail(c, LX_ECONFIG, ptr, ctx,
                       "\"when\" is a condition or a "
                       "non-empty array of them");
    mp_when *w = mp_alloc(&c->m->arena, n * sizeof(*w));
    for (size_t i = 0; i < n; i++) {
        char p[PTR_MAX];
        if (json_is_array(v))
            mc_ptr_index(p, ptr, i);
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
