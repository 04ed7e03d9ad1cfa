/* adapters/map/map_compile.c: mapping file -> program.
 *
 * Everything that can be checked without an input is checked here, once:
 * keys, rule types, path syntax, date pictures, code tables, whether each
 * rule can run in each direction it is asked to. Every error names the
 * file, the rule ("rule 'family' (#2.1)") and the JSON pointer of the
 * offending value, with its line and column when the text is known.
 * Values inside rules (tables, transforms, conditions) are compiled by
 * map_compile_value.c. */
#include "adapters/map/map_compile_int.h"
#include "core/json.h"
#include "core/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- shared helpers (map_compile_int.h) ---- */

int mc_fail(mc_ctx *c, int code, const char *ptr, const char *ctx,
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

void mc_ptr_key(char *dst, const char *base, const char *key)
{
    snprintf(dst, PTR_MAX, "%s", base);
    lx_json_pointer_append(dst, PTR_MAX, key);
}

void mc_ptr_index(char *dst, const char *base, size_t i)
{
    snprintf(dst, PTR_MAX, "%s", base);
    lx_json_pointer_append_index(dst, PTR_MAX, i);
}

json_t *mc_keep_value(mc_ctx *c, const json_t *v)
{
    lx_map *m = c->m;
    m->values =
        lx_xrealloc(m->values, (m->value_count + 1) * sizeof(*m->values));
    json_t *copy = json_deep_copy(v);
    LX_ASSERT(copy != NULL);
    m->values[m->value_count++] = copy;
    return copy;
}

const char *mc_type_name(const json_t *v)
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

int mc_check_keys(mc_ctx *c, const json_t *obj, const char *ptr,
                  const char *ctx, const char *what, const char *const *allowed)
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
        mc_ptr_key(p, ptr, key);
        for (i = 0; allowed[i]; i++) {
            size_t n = strlen(known);
            snprintf(known + n, sizeof(known) - n, "%s%s", i ? ", " : "",
                     allowed[i]);
        }
        return mc_fail(c, LX_ECONFIG, p, ctx,
                       "unknown key '%s' in %s (known: "
                       "%s)",
                       key, what, known);
    }
    return 0;
}

int mc_get_string(mc_ctx *c, const json_t *obj, const char *key,
                  const char *ptr, const char *ctx, bool required,
                  const char **out)
{
    *out = NULL;
    const json_t *v = json_object_get(obj, key);
    char p[PTR_MAX];
    mc_ptr_key(p, ptr, key);
    if (!v) {
        if (required)
            return mc_fail(c, LX_ECONFIG, ptr, ctx, "missing \"%s\"", key);
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        strlen(json_string_value(v)) != json_string_length(v))
        return mc_fail(c, LX_ECONFIG, p, ctx,
                       "\"%s\" must be a non-empty string", key);
    *out = json_string_value(v);
    return 0;
}

int mc_path(mc_ctx *c, const json_t *v, const char *ptr, const char *ctx,
            const mp_path **out)
{
    if (!json_is_string(v) ||
        strlen(json_string_value(v)) != json_string_length(v))
        return mc_fail(c, LX_ECONFIG, ptr, ctx,
                       "a path must be a string, not "
                       "%s",
                       mc_type_name(v));
    char why[200];
    int rc = mp_path_parse(&c->m->arena, json_string_value(v), out, why,
                           sizeof(why));
    if (rc)
        return mc_fail(c, LX_ESYNTAX, ptr, ctx, "invalid path '%s': %s",
                       json_string_value(v), why);
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

static int compile_rules(mc_ctx *c, const json_t *arr, const char *ptr,
                         const char *num_prefix, unsigned parent_dirs,
                         int depth, const mp_rule **out, size_t *count);

/* One path side of a rule (required unless optional). */
static int rule_path(mc_ctx *c, const json_t *o, int side, const char *ptr,
                     const char *ctx, bool optional, mp_rule *r)
{
    const char *key = side == MP_NATIVE ? "native" : "canonical";
    const json_t *v = json_object_get(o, key);
    if (!v) {
        if (optional)
            return 0;
        return mc_fail(c, LX_ECONFIG, ptr, ctx, "missing \"%s\" path", key);
    }
    char p[PTR_MAX];
    mc_ptr_key(p, ptr, key);
    return mc_path(c, v, p, ctx, &r->side[side]);
}

/* concat / split: the side with several paths (or one path to an array). */
static int rule_parts(mc_ctx *c, const json_t *o, int side, const char *ptr,
                      const char *ctx, mp_rule *r)
{
    const char *key = side == MP_NATIVE ? "native" : "canonical";
    const json_t *v = json_object_get(o, key);
    r->parts_side = side;
    if (!v || json_is_string(v))
        return rule_path(c, o, side, ptr, ctx, false, r);
    char p[PTR_MAX];
    mc_ptr_key(p, ptr, key);
    if (!json_is_array(v) || json_array_size(v) < 2 ||
        json_array_size(v) > MP_PATH_STEPS_MAX)
        return mc_fail(c, LX_ECONFIG, p, ctx,
                       "\"%s\" is a path to an array or 2 to %d paths", key,
                       MP_PATH_STEPS_MAX);
    size_t n = json_array_size(v);
    r->parts = mp_alloc(&c->m->arena, n * sizeof(*r->parts));
    r->part_count = n;
    for (size_t i = 0; i < n; i++) {
        char q[PTR_MAX];
        mc_ptr_index(q, p, i);
        int rc = mc_path(c, json_array_get(v, i), q, ctx, &r->parts[i]);
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

static int compile_rule(mc_ctx *c, const json_t *o, const char *ptr,
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
        return mc_fail(c, LX_ECONFIG, ptr, ctx, "a rule is an object, not %s",
                       mc_type_name(o));
    if (++c->rule_total > MP_RULES_MAX)
        return mc_fail(c, LX_ELIMIT, ptr, ctx, "more than %d rules",
                       MP_RULES_MAX);
    char p[PTR_MAX];
    /* id */
    r->id = "";
    if (idv) {
        mc_ptr_key(p, ptr, "id");
        if (!json_is_string(idv) || json_string_length(idv) == 0 ||
            json_string_length(idv) > 64 ||
            strlen(json_string_value(idv)) != json_string_length(idv))
            return mc_fail(c, LX_ECONFIG, p, ctx,
                           "\"id\" is a string of 1 to 64 characters");
        for (size_t i = 0; i < c->id_count; i++)
            if (strcmp(c->ids[i], json_string_value(idv)) == 0)
                return mc_fail(c, LX_ECONFIG, p, ctx,
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
        mc_ptr_key(p, ptr, "type");
        if (!json_is_string(tv))
            return mc_fail(c, LX_ECONFIG, p, ctx, "\"type\" is a string");
        tname = json_string_value(tv);
    }
    size_t ti, nt = sizeof(rule_types) / sizeof(rule_types[0]);
    for (ti = 0; ti < nt; ti++)
        if (strcmp(rule_types[ti].name, tname) == 0)
            break;
    if (ti == nt) {
        mc_ptr_key(p, ptr, "type");
        return mc_fail(c, LX_ECONFIG, p, ctx,
                       "unknown rule type '%s' (known: copy, object, each, "
                       "const, concat, split, ref)",
                       tname);
    }
    r->type = rule_types[ti].type;
    if (r->type == MP_R_COPY && json_object_get(o, "rules"))
        return mc_fail(c, LX_ECONFIG, ptr, ctx,
                       "nested \"rules\" need \"type\": \"object\" (one "
                       "element) or \"each\" (every element)");
    char what[40];
    snprintf(what, sizeof(what), "a %s rule", tname);
    int rc = mc_check_keys(c, o, ptr, ctx, what, rule_types[ti].keys);
    if (rc)
        return rc;

    /* paths */
    switch (r->type) {
    case MP_R_CONST: {
        bool has_n = json_object_get(o, "native") != NULL;
        bool has_c = json_object_get(o, "canonical") != NULL;
        if (has_n == has_c)
            return mc_fail(c, LX_ECONFIG, ptr, ctx,
                           "a const rule writes one side: \"native\" (out) or "
                           "\"canonical\" (in)");
        rc = rule_path(c, o, has_n ? MP_NATIVE : MP_CANONICAL, ptr, ctx, false,
                       r);
        const json_t *v = json_object_get(o, "value");
        if (rc == 0 && !v)
            rc = mc_fail(c, LX_ECONFIG, ptr, ctx, "missing \"value\"");
        if (rc == 0)
            r->value = mc_keep_value(c, v);
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
        mc_ptr_key(p, ptr, "separator");
        if (!json_is_string(sep))
            return mc_fail(
                c, LX_ECONFIG, sep ? p : ptr, ctx,
                "\"separator\" is a string (\"\" joins without one)");
        r->separator =
            mp_strndup(a, json_string_value(sep), json_string_length(sep));
        r->separator_len = json_string_length(sep);
    }
    if (r->type == MP_R_REF) {
        const char *unres = NULL;
        rc = mc_get_string(c, o, "entity", ptr, ctx, false, &r->entity);
        if (rc == 0)
            rc = mc_get_string(c, o, "native_type", ptr, ctx, false,
                               &r->native_type);
        if (rc == 0)
            rc = mc_get_string(c, o, "unresolved", ptr, ctx, false, &unres);
        if (rc)
            return rc;
        if (r->entity)
            r->entity = mp_strdup(a, r->entity);
        if (r->native_type)
            r->native_type = mp_strdup(a, r->native_type);
        if (unres && strcmp(unres, "drop") == 0) {
            r->drop_unresolved = true;
        } else if (unres && strcmp(unres, "error") != 0) {
            mc_ptr_key(p, ptr, "unresolved");
            return mc_fail(c, LX_ECONFIG, p, ctx,
                           "\"unresolved\" is \"error\" or \"drop\"");
        }
    }
    mc_ptr_key(p, ptr, "transform");
    rc = mc_xforms(c, json_object_get(o, "transform"), p, ctx, r);
    if (rc)
        return rc;
    mc_ptr_key(p, ptr, "when");
    rc = mc_when(c, json_object_get(o, "when"), p, ctx, r);
    if (rc)
        return rc;
    const json_t *def = json_object_get(o, "default");
    if (def) {
        static const char *const keys[] = {"native", "canonical", NULL};
        mc_ptr_key(p, ptr, "default");
        if (!json_is_object(def) || json_object_size(def) == 0)
            return mc_fail(c, LX_ECONFIG, p, ctx,
                           "\"default\" is {\"canonical\": value written in, "
                           "\"native\": value written out}");
        rc = mc_check_keys(c, def, p, ctx, "\"default\"", keys);
        if (rc)
            return rc;
        for (int s = 0; s < 2; s++) {
            const json_t *v =
                json_object_get(def, s == MP_NATIVE ? "native" : "canonical");
            if (v)
                r->defaults[s] = mc_keep_value(c, v);
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
        mc_ptr_key(p, ptr, "invertible");
        if (!json_is_boolean(inv))
            return mc_fail(c, LX_ECONFIG, p, ctx,
                           "\"invertible\" is true or "
                           "false");
        if (json_is_true(inv) && (!two_way || !exact || !can[0] || !can[1])) {
            const char *why = one_way ? one_way : !can[0] ? why_in : why_out;
            return mc_fail(c, LX_ECONFIG, p, ctx, "declared invertible, but %s",
                           why[0] ? why : "it is one-way");
        }
        if (json_is_false(inv))
            two_way = false;
    }
    const json_t *dirv = json_object_get(o, "direction");
    unsigned dirs;
    mc_ptr_key(p, ptr, "direction");
    if (dirv) {
        const char *d = json_is_string(dirv) ? json_string_value(dirv) : "";
        if (strcmp(d, "in") == 0)
            dirs = MP_DIR_IN;
        else if (strcmp(d, "out") == 0)
            dirs = MP_DIR_OUT;
        else if (strcmp(d, "both") == 0)
            dirs = MP_DIR_IN | MP_DIR_OUT;
        else
            return mc_fail(c, LX_ECONFIG, p, ctx,
                           "\"direction\" is \"in\", \"out\" or \"both\"");
        if ((dirs & MP_DIR_IN) && !can[LX_MAP_IN])
            return mc_fail(c, LX_ECONFIG, p, ctx, "cannot run in: %s", why_in);
        if ((dirs & MP_DIR_OUT) && !can[LX_MAP_OUT])
            return mc_fail(c, LX_ECONFIG, p, ctx, "cannot run out: %s",
                           why_out);
        if (dirs == (MP_DIR_IN | MP_DIR_OUT) && !two_way &&
            r->type != MP_R_CONST)
            return mc_fail(c, LX_ECONFIG, p, ctx,
                           "\"both\", but the rule is one-way: %s",
                           one_way ? one_way : "declared not invertible");
        if ((dirs & parent_dirs) != dirs)
            return mc_fail(c, LX_ECONFIG, p, ctx,
                           "runs %s inside a rule that runs %s only",
                           dirs == MP_DIR_OUT ? "out" : "in",
                           parent_dirs == MP_DIR_IN ? "in" : "out");
    } else if (r->type == MP_R_CONST) {
        dirs = can[LX_MAP_IN] ? MP_DIR_IN : MP_DIR_OUT;
        if ((dirs & parent_dirs) == 0)
            return mc_fail(c, LX_ECONFIG, ptr, ctx,
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
            return mc_fail(c, LX_ECONFIG, ptr, ctx, "cannot run %s: %s",
                           d == LX_MAP_IN ? "in" : "out",
                           d == LX_MAP_IN ? why_in : why_out);
    } else {
        const char *why = one_way   ? one_way
                          : !can[0] ? why_in
                          : !can[1] ? why_out
                                    : "declared not invertible";
        return mc_fail(c, LX_ECONFIG, ptr, ctx,
                       "the rule is one-way (%s): say \"direction\": \"%s\"",
                       why, can[LX_MAP_IN] ? "in" : "out");
    }
    r->dirs = dirs;
    if (r->type == MP_R_OBJECT || r->type == MP_R_EACH) {
        const json_t *kids = json_object_get(o, "rules");
        mc_ptr_key(p, ptr, "rules");
        if (!kids)
            return mc_fail(c, LX_ECONFIG, ptr, ctx, "missing \"rules\"");
        if (depth + 1 >= MP_DEPTH_MAX)
            return mc_fail(c, LX_ELIMIT, p, ctx,
                           "rules nested more than %d "
                           "deep",
                           MP_DEPTH_MAX);
        rc = compile_rules(c, kids, p, num, dirs, depth + 1, &r->rules,
                           &r->rule_count);
    }
    return rc;
}

static int compile_rules(mc_ctx *c, const json_t *arr, const char *ptr,
                         const char *num_prefix, unsigned parent_dirs,
                         int depth, const mp_rule **out, size_t *count)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return mc_fail(c, LX_ECONFIG, ptr, NULL,
                       "\"rules\" is a non-empty array of rules");
    size_t n = json_array_size(arr);
    mp_rule *rules = mp_alloc(&c->m->arena, n * sizeof(*rules));
    for (size_t i = 0; i < n; i++) {
        char p[PTR_MAX], num[NUM_MAX];
        mc_ptr_index(p, ptr, i);
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

static int compile_steps(mc_ctx *c, const json_t *arr)
{
    if (!arr)
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return mc_fail(c, LX_ECONFIG, "/steps", NULL,
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
        mc_ptr_index(ptr, "/steps", i);
        const json_t *idv = json_object_get(o, "id");
        if (json_is_string(idv))
            snprintf(label, sizeof(label), "step '%.64s' (#%zu)",
                     json_string_value(idv), i + 1);
        else
            snprintf(label, sizeof(label), "step #%zu", i + 1);
        s->label = mp_strdup(&c->m->arena, label);
        const char *ctx = s->label;
        if (!json_is_object(o))
            return mc_fail(c, LX_ECONFIG, ptr, ctx, "a step is an object");
        int rc = mc_check_keys(c, o, ptr, ctx, "a step", keys);
        const char *type = NULL, *dir = NULL, *sheet = NULL, *in = NULL,
                   *outk = NULL;
        if (rc == 0)
            rc = mc_get_string(c, o, "type", ptr, ctx, true, &type);
        if (rc)
            return rc;
        if (strcmp(type, "xslt") != 0) {
            mc_ptr_key(p, ptr, "type");
            return mc_fail(c, LX_ECONFIG, p, ctx,
                           "unknown step type '%s' (known: xslt)", type);
        }
        rc = mc_get_string(c, o, "direction", ptr, ctx, true, &dir);
        if (rc == 0)
            rc = mc_get_string(c, o, "stylesheet", ptr, ctx, true, &sheet);
        if (rc == 0)
            rc = mc_get_string(c, o, "input", ptr, ctx, false, &in);
        if (rc == 0)
            rc = mc_get_string(c, o, "output", ptr, ctx, false, &outk);
        if (rc)
            return rc;
        if (strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0) {
            mc_ptr_key(p, ptr, "direction");
            return mc_fail(c, LX_ECONFIG, p, ctx,
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
            mc_ptr_key(p, ptr, k == 0 ? "input" : "output");
            if (strcmp(v, "xml") != 0 && strcmp(v, "json") != 0)
                return mc_fail(c, LX_ECONFIG, p, ctx,
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
            mc_ptr_key(p, ptr, "stylesheet");
            char line[LX_ERROR_MSG_MAX];
            lx_error_format(&xe, line, sizeof(line));
            /* a missing stylesheet is the mapping's fault, not the
             * environment's */
            return mc_fail(c, xe.code == LX_EIO ? LX_ECONFIG : xe.code, p, ctx,
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
            mc_ptr_index(ptr, "/steps", i);
            if (kind >= 0 && steps[i].input != kind)
                return mc_fail(c, LX_ECONFIG, ptr, steps[i].label,
                               "reads %s but gets %s from what runs before it",
                               steps[i].input == LX_XSLT_XML ? "xml" : "json",
                               kind == LX_XSLT_XML ? "xml" : "json");
            kind = steps[i].output;
        }
        if (d == 0 && c->m->has_rules && kind == LX_XSLT_XML)
            return mc_fail(c, LX_ECONFIG, "/steps", NULL,
                           "the last \"in\" step gives xml, but the rules "
                           "need json");
    }
    return 0;
}

/* ---- the file ---- */

static int compile_meta(mc_ctx *c, const json_t *doc, const char *key,
                        const char *const *keys, const char **field,
                        const char *field_key)
{
    const json_t *o = json_object_get(doc, key);
    if (!o)
        return 0;
    char p[PTR_MAX];
    mc_ptr_key(p, "", key);
    if (!json_is_object(o))
        return mc_fail(c, LX_ECONFIG, p, NULL, "\"%s\" is an object", key);
    int rc = mc_check_keys(c, o, p, NULL, key, keys);
    if (rc)
        return rc;
    const json_t *v = json_object_get(o, field_key);
    if (v && !json_is_string(v)) {
        char q[PTR_MAX];
        mc_ptr_key(q, p, field_key);
        return mc_fail(c, LX_ECONFIG, q, NULL, "\"%s\" is a string", field_key);
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
    mc_ctx c;
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
        rc = mc_fail(&c, LX_ECONFIG, "", NULL, "a mapping is a JSON object");
        goto done;
    }
    const json_t *fmt = json_object_get(doc, "format");
    if (!fmt) {
        rc = mc_fail(&c, LX_ECONFIG, "", NULL, "missing \"format\": 1");
        goto done;
    }
    if (!json_is_integer(fmt) || json_integer_value(fmt) != 1) {
        rc = mc_fail(&c, LX_EUNSUPPORTED, "/format", NULL,
                     "unsupported format (this engine reads format 1)");
        goto done;
    }
    rc = mc_check_keys(&c, doc, "", NULL, "a mapping", top);
    if (rc)
        goto done;
    const json_t *id = json_object_get(doc, "id");
    if (id && !json_is_string(id)) {
        rc = mc_fail(&c, LX_ECONFIG, "/id", NULL, "\"id\" is a string");
        goto done;
    }
    m->id = mp_strdup(&m->arena, id ? json_string_value(id) : c.name);
    rc = compile_meta(&c, doc, "native", native_keys, &m->native_type, "type");
    if (rc == 0)
        rc = compile_meta(&c, doc, "canonical", canon_keys, &m->entity,
                          "entity");
    if (rc == 0)
        rc = mc_tables(&c, json_object_get(doc, "tables"));
    if (rc)
        goto done;
    const json_t *rules = json_object_get(doc, "rules");
    const json_t *steps = json_object_get(doc, "steps");
    if (!rules && !steps) {
        rc = mc_fail(&c, LX_ECONFIG, "", NULL, "missing \"rules\"");
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
