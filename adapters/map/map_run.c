/* adapters/map/map_run.c: running a compiled map.
 *
 * One run walks the rules in file order over a stack of frames: the root
 * frame reads the whole input, an object or each rule opens a frame on one
 * source element and builds its target element from nothing, then attaches
 * it. Nothing is shared between runs but the (immutable) map, so runs are
 * thread-safe. Paths for messages and lineage are only computed when
 * something fails or a trace is asked for: the fast path formats nothing. */
#include "adapters/map/map_int.h"
#include "core/json.h"

#include <stdio.h>
#include <string.h>

typedef struct run {
    const lx_map *m;
    lx_map_dir dir;
    int src, dst;       /* sides */
    const json_t *root; /* source root */
    json_t **out_root;  /* the output's root slot, for '$' targets */
    const lx_map_resolver *res;
    lx_map_trace *trace;
    lx_error *err;
} run;

typedef struct frame {
    const struct frame *parent;
    const mp_rule *rule; /* the object or each rule that opened it */
    const json_t *src;   /* source element */
    json_t *slot;        /* target element being built, NULL until written */
    size_t ordinal;      /* which match of rule's source path */
} frame;

static int run_rules(run *R, frame *F, const mp_rule *rules, size_t n);

/* ---- where we are, for messages and lineage ---- */

static void side_root(const run *R, int side, lx_buf *b)
{
    if (side == MP_NATIVE && R->m->native_type)
        mp_buf_puts(b, R->m->native_type);
}

static void frame_prefix(const run *R, const frame *F, size_t root_len,
                         lx_buf *b)
{
    if (!F->parent) {
        side_root(R, R->src, b);
        return;
    }
    frame_prefix(R, F->parent, root_len, b);
    mp_path_locate(F->rule->side[R->src], R->root, F->parent->src,
                   F->rule->type == MP_R_EACH, F->ordinal, MP_STYLE_OF(R->src),
                   b, root_len);
}

/* The concrete source path of match `ordinal` of p read in frame F, or p
 * as written when it matched nothing. */
static void source_path(const run *R, const frame *F, const mp_path *p,
                        size_t ordinal, lx_buf *b)
{
    lx_buf_reset(b);
    side_root(R, R->src, b);
    size_t root_len = b->len;
    if (!p->absolute) {
        lx_buf_reset(b);
        frame_prefix(R, F, root_len, b);
    }
    if (!mp_path_locate(p, R->root, F->src, false, ordinal, MP_STYLE_OF(R->src),
                        b, root_len)) {
        if (b->len && R->src == MP_NATIVE && p->text[0] != '[')
            mp_buf_puts(b, ".");
        mp_buf_puts(b, p->text);
    }
    if (b->len == 0)
        mp_buf_puts(b, "(root)");
}

/* Prefix the error with the rule and, when known, the source path. */
static int fail(run *R, const frame *F, const mp_rule *r, int rc,
                const mp_path *src, size_t ordinal)
{
    if (!R->err)
        return rc;
    if (src) {
        lx_buf b;
        lx_buf_init(&b, 1024);
        source_path(R, F, src, ordinal, &b);
        lx_error_prefix(R->err, "%s: source %s", r->label, b.data);
        /* The source path is also the error's location, so adapters can
         * point at the field (FHIR OperationOutcome.issue.expression). */
        if (R->err->where[0] == '\0' && b.data)
            lx_error_at(R->err, b.data, 0, 0);
        lx_buf_fini(&b);
    } else {
        lx_error_prefix(R->err, "%s", r->label);
    }
    return rc;
}

/* ---- writing ---- */

typedef struct created_arg {
    run *R;
    const frame *F;
    const mp_rule *r;
    bool absolute;
} created_arg;

static void target_text(const run *R, const frame *F, bool absolute,
                        const mp_rec *rec, lx_buf *b)
{
    lx_buf_reset(b);
    if (!F->parent || absolute)
        side_root(R, R->dst, b);
    mp_rec_format(rec, MP_STYLE_OF(R->dst), b);
}

static void on_created(void *arg, const mp_rec *at, const mp_path *key)
{
    (void)key;
    created_arg *a = arg;
    lx_buf b;
    lx_buf_init(&b, 1024);
    target_text(a->R, a->F, a->absolute, at, &b);
    mp_trace_add(a->R->trace, b.data ? b.data : "", a->r->label, a->r->id,
                 "(filter)", a->absolute && a->F->parent);
    lx_buf_fini(&b);
}

/* Write v (stolen) at dst in frame F. With a trace: record the lineage
 * when `source` is given, and return the concrete target in *where (the
 * caller's buffer) for rebasing nested entries. */
static int write_at(run *R, frame *F, const mp_rule *r, const mp_path *dst,
                    json_t *v, bool append, const char *source, lx_buf *where)
{
    json_t **slot = dst->absolute ? R->out_root : &F->slot;
    char why[200];
    mp_wtrace wt, *pwt = NULL;
    created_arg ca = {R, F, r, dst->absolute};
    if (R->trace) {
        wt.rec.depth = 0;
        wt.created = on_created;
        wt.arg = &ca;
        pwt = &wt;
    }
    int rc = append ? mp_path_append(dst, slot, v, pwt, why, sizeof(why))
                    : mp_path_write(dst, slot, v, pwt, why, sizeof(why));
    if (rc)
        return lx_error_set(R->err, rc, "%s: target %s: %s", r->label,
                            dst->text, why);
    if (!R->trace)
        return 0;
    lx_buf b;
    lx_buf_init(&b, 1024);
    target_text(R, F, dst->absolute, &wt.rec, &b);
    if (source)
        mp_trace_add(R->trace, b.data ? b.data : "", r->label, r->id, source,
                     dst->absolute && F->parent);
    if (where) {
        lx_buf_reset(where);
        mp_buf_puts(where, b.data ? b.data : "");
    }
    lx_buf_fini(&b);
    return 0;
}

/* Write with lineage from source path p (match ordinal). */
static int write_from(run *R, frame *F, const mp_rule *r, json_t *v,
                      const mp_path *p, size_t ordinal)
{
    if (!R->trace)
        return write_at(R, F, r, r->side[R->dst], v, false, NULL, NULL);
    lx_buf b;
    lx_buf_init(&b, 1024);
    source_path(R, F, p, ordinal, &b);
    int rc = write_at(R, F, r, r->side[R->dst], v, false, b.data, NULL);
    lx_buf_fini(&b);
    return rc;
}

static int write_default(run *R, frame *F, const mp_rule *r)
{
    const json_t *d = r->defaults[R->dst];
    if (!d)
        return 0;
    return write_at(R, F, r, r->side[R->dst], mp_value_copy(d), false,
                    "(default)", NULL);
}

/* ---- values ---- */

/* Run the rule's transforms (forward in, inverse out, in reverse order)
 * on one scalar. *out new reference, or NULL when dropped. */
static int chain(run *R, const mp_rule *r, const json_t *v, json_t **out)
{
    json_t *owned = NULL;
    const json_t *cur = v;
    size_t n = r->xform_count;
    for (size_t k = 0; k < n; k++) {
        const mp_xform *x = &r->xforms[R->dir == LX_MAP_IN ? k : n - 1 - k];
        if (R->dir == LX_MAP_OUT && x->inv == MP_INV_NORMALIZE)
            continue;
        json_t *next;
        int rc = mp_xform_apply(x, R->dir, cur, &next, R->err);
        json_decref(owned);
        if (rc) {
            *out = NULL;
            return rc;
        }
        if (!next) {
            *out = NULL;
            return 0;
        }
        owned = next;
        cur = next;
    }
    *out = owned ? owned : mp_value_copy(v);
    return 0;
}

/* Transforms apply to each element of an array value. */
static int transform(run *R, const mp_rule *r, const json_t *v, json_t **out)
{
    if (r->xform_count == 0) {
        *out = mp_value_copy(v);
        return 0;
    }
    if (!json_is_array(v))
        return chain(R, r, v, out);
    json_t *a = json_array();
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e)
    {
        json_t *x;
        int rc = chain(R, r, e, &x);
        if (rc) {
            json_decref(a);
            *out = NULL;
            return rc;
        }
        if (x)
            json_array_append_new(a, x);
    }
    *out = a;
    return 0;
}

/* ---- conditions ---- */

static bool when_holds(const run *R, const frame *F, const mp_rule *r)
{
    for (size_t i = 0; i < r->when_count; i++) {
        const mp_when *w = &r->when[i];
        if (w->side != R->src)
            continue;
        const json_t *v = mp_path_first(w->path, R->root, F->src);
        bool ok = false;
        char buf[40];
        const char *s;
        size_t len;
        switch (w->test) {
        case MP_T_EXISTS:
            ok = v != NULL;
            break;
        case MP_T_ABSENT:
            ok = v == NULL;
            break;
        case MP_T_EQUALS:
        case MP_T_IN:
            if (v && mp_scalar_text(v, buf, sizeof(buf), &s, &len))
                for (size_t k = 0; k < w->value_count && !ok; k++)
                    ok = w->value_lens[k] == len &&
                         memcmp(w->values[k], s, len) == 0;
            break;
        case MP_T_MATCHES:
            ok = v && mp_scalar_text(v, buf, sizeof(buf), &s, &len) &&
                 regexec(w->re, s, 0, NULL, 0) == 0;
            break;
        }
        if (!ok)
            return false;
    }
    return true;
}

/* ---- rules ---- */

typedef struct copy_arg {
    run *R;
    frame *F;
    const mp_rule *r;
} copy_arg;

static int copy_one(run *R, frame *F, const mp_rule *r, const json_t *v,
                    size_t ordinal)
{
    const mp_path *src = r->side[R->src];
    json_t *x;
    int rc = transform(R, r, v, &x);
    if (rc)
        return fail(R, F, r, rc, src, ordinal);
    if (!x)
        return 0;
    return write_from(R, F, r, x, src, ordinal);
}

static int copy_each(void *arg, const json_t *v, size_t ordinal)
{
    copy_arg *a = arg;
    return copy_one(a->R, a->F, a->r, v, ordinal);
}

static int do_copy(run *R, frame *F, const mp_rule *r)
{
    const mp_path *src = r->side[R->src];
    if (mp_path_ends_all(r->side[R->dst])) {
        /* "[*]" at the target: every match, appended. */
        copy_arg a = {R, F, r};
        if (!mp_path_first(src, R->root, F->src))
            return write_default(R, F, r);
        return mp_path_each(src, R->root, F->src, false, copy_each, &a);
    }
    const json_t *v = mp_path_first(src, R->root, F->src);
    if (!v)
        return write_default(R, F, r);
    return copy_one(R, F, r, v, 0);
}

static int do_const(run *R, frame *F, const mp_rule *r)
{
    return write_at(R, F, r, r->side[R->dst], mp_value_copy(r->value), false,
                    "(constant)", NULL);
}

/* Attach a nested frame's element and rebase its lineage. */
static int attach(run *R, frame *F, const mp_rule *r, frame *C, size_t mark,
                  bool append)
{
    if (!C->slot)
        return 0;
    size_t end = R->trace ? lx_map_trace_count(R->trace) : 0;
    lx_buf where;
    lx_buf_init(&where, 4096);
    json_t *v = C->slot;
    C->slot = NULL;
    int rc = write_at(R, F, r, r->side[R->dst], v, append, NULL,
                      R->trace ? &where : NULL);
    if (rc == 0 && R->trace)
        mp_trace_rebase(R->trace, mark, end, where.data ? where.data : "",
                        MP_STYLE_OF(R->dst));
    lx_buf_fini(&where);
    return rc;
}

static int do_object(run *R, frame *F, const mp_rule *r)
{
    const json_t *v = mp_path_first(r->side[R->src], R->root, F->src);
    if (!v)
        return 0;
    frame C = {F, r, v, NULL, 0};
    size_t mark = R->trace ? lx_map_trace_count(R->trace) : 0;
    int rc = run_rules(R, &C, r->rules, r->rule_count);
    if (rc == 0)
        rc = attach(R, F, r, &C, mark, false);
    json_decref(C.slot);
    return rc;
}

static int each_one(void *arg, const json_t *v, size_t ordinal)
{
    copy_arg *a = arg;
    run *R = a->R;
    frame C = {a->F, a->r, v, NULL, ordinal};
    size_t mark = R->trace ? lx_map_trace_count(R->trace) : 0;
    int rc = run_rules(R, &C, a->r->rules, a->r->rule_count);
    if (rc == 0)
        rc = attach(R, a->F, a->r, &C, mark, true);
    json_decref(C.slot);
    return rc;
}

static int do_each(run *R, frame *F, const mp_rule *r)
{
    copy_arg a = {R, F, r};
    return mp_path_each(r->side[R->src], R->root, F->src, true, each_one, &a);
}

/* concat / split: join the parts side into one string, or split it. */
static int join_parts(run *R, frame *F, const mp_rule *r)
{
    lx_buf b, src;
    lx_buf_init(&b, MP_VALUE_MAX);
    lx_buf_init(&src, 4096);
    size_t found = 0;
    int rc = 0;
    const mp_path *failed = NULL;
    if (r->part_count) {
        for (size_t i = 0; i < r->part_count && rc == 0; i++) {
            const json_t *v = mp_path_first(r->parts[i], R->root, F->src);
            char buf[40];
            const char *s;
            size_t len;
            if (!v)
                continue;
            if (!mp_scalar_text(v, buf, sizeof(buf), &s, &len)) {
                failed = r->parts[i];
                rc = lx_error_set(R->err, LX_EINVAL,
                                  "joins strings, numbers or booleans only");
                break;
            }
            if (found++ && r->separator_len)
                rc = lx_buf_append(&b, r->separator, r->separator_len);
            if (rc == 0)
                rc = lx_buf_append(&b, s, len);
            if (R->trace) {
                lx_buf one;
                lx_buf_init(&one, 1024);
                source_path(R, F, r->parts[i], 0, &one);
                if (src.len)
                    mp_buf_puts(&src, " + ");
                mp_buf_puts(&src, one.data);
                lx_buf_fini(&one);
            }
        }
    } else {
        const mp_path *p = r->side[r->parts_side];
        const json_t *v = mp_path_first(p, R->root, F->src);
        size_t i;
        const json_t *e;
        if (v && !json_is_array(v)) {
            failed = p;
            rc = lx_error_set(R->err, LX_EINVAL, "needs an array to join");
        }
        if (v && rc == 0) {
            json_array_foreach(v, i, e)
            {
                char buf[40];
                const char *s;
                size_t len;
                if (!mp_scalar_text(e, buf, sizeof(buf), &s, &len)) {
                    failed = p;
                    rc = lx_error_set(R->err, LX_EINVAL,
                                      "joins strings, numbers or booleans "
                                      "only");
                    break;
                }
                if (found++ && r->separator_len)
                    rc = lx_buf_append(&b, r->separator, r->separator_len);
                if (rc == 0)
                    rc = lx_buf_append(&b, s, len);
                if (rc)
                    break;
            }
            if (R->trace)
                source_path(R, F, p, 0, &src);
        }
    }
    if (rc == LX_ELIMIT)
        lx_error_set(R->err, rc, "joined value over %zu bytes", MP_VALUE_MAX);
    if (rc) {
        rc = fail(R, F, r, rc, failed, 0);
    } else if (found == 0) {
        rc = write_default(R, F, r);
    } else {
        json_t *joined = json_stringn(b.data, b.len), *x;
        if (!joined) {
            rc = fail(R, F, r,
                      lx_error_set(R->err, LX_EINVAL, "not valid UTF-8"), NULL,
                      0);
        } else {
            rc = transform(R, r, joined, &x);
            json_decref(joined);
            if (rc)
                rc = fail(R, F, r, rc, NULL, 0);
            else if (x)
                rc = write_at(R, F, r, r->side[R->dst], x, false,
                              R->trace ? src.data : NULL, NULL);
        }
    }
    lx_buf_fini(&b);
    lx_buf_fini(&src);
    return rc;
}

static int split_parts(run *R, frame *F, const mp_rule *r)
{
    const mp_path *sp = r->side[R->src];
    const json_t *v = mp_path_first(sp, R->root, F->src);
    if (!v)
        return write_default(R, F, r);
    json_t *x;
    int rc = transform(R, r, v, &x);
    if (rc)
        return fail(R, F, r, rc, sp, 0);
    if (!x)
        return 0;
    if (!json_is_string(x)) {
        json_decref(x);
        return fail(R, F, r,
                    lx_error_set(R->err, LX_EINVAL, "needs a string to split"),
                    sp, 0);
    }
    const char *s = json_string_value(x), *end = s + json_string_length(x);
    const char *sep = r->separator;
    size_t seplen = r->separator_len;
    json_t *all = r->part_count ? NULL : json_array();
    lx_buf srcb;
    lx_buf_init(&srcb, 1024);
    if (R->trace)
        source_path(R, F, sp, 0, &srcb);
    for (size_t i = 0; rc == 0 && s <= end; i++) {
        bool last = r->part_count && i + 1 == r->part_count;
        const char *hit = NULL;
        for (const char *p = s; !last && p + seplen <= end; p++)
            if (memcmp(p, sep, seplen) == 0) {
                hit = p;
                break;
            }
        const char *pe = hit ? hit : end;
        if (pe > s) {
            json_t *piece = json_stringn(s, (size_t)(pe - s));
            if (!piece) /* cut inside a UTF-8 sequence */
                rc = fail(R, F, r,
                          lx_error_set(R->err, LX_EINVAL,
                                       "splits into invalid UTF-8"),
                          sp, 0);
            else if (all)
                json_array_append_new(all, piece);
            else
                rc = write_at(R, F, r, r->parts[i], piece, false,
                              R->trace ? srcb.data : NULL, NULL);
        }
        if (!hit)
            break;
        s = hit + seplen;
    }
    if (rc == 0 && all && json_array_size(all) > 0) {
        rc = write_at(R, F, r, r->side[r->parts_side], all, false,
                      R->trace ? srcb.data : NULL, NULL);
        all = NULL;
    }
    json_decref(all);
    json_decref(x);
    lx_buf_fini(&srcb);
    return rc;
}

/* ---- references ---- */

static int unresolved(run *R, frame *F, const mp_rule *r, const mp_path *src)
{
    if (r->drop_unresolved)
        return 0;
    lx_error_set(R->err, LX_ENOTFOUND,
                 R->res ? "no cross-reference for this reference"
                        : "no reference resolver for this run");
    return fail(R, F, r, LX_ENOTFOUND, src, 0);
}

static int ref_in(run *R, frame *F, const mp_rule *r)
{
    const mp_path *src = r->side[MP_NATIVE];
    const json_t *v = mp_path_first(src, R->root, F->src);
    if (!v)
        return 0;
    if (!json_is_string(v))
        return fail(
            R, F, r,
            lx_error_set(R->err, LX_EINVAL, "a reference must be a string"),
            src, 0);
    char type[LX_MAP_NATIVE_TYPE_SIZE], id[LX_MAP_NATIVE_ID_SIZE];
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (R->res && R->res->to_canonical_ref) {
        json_t *ref = NULL;
        int rc = R->res->to_canonical_ref(R->res->ctx, s, &ref, R->err);
        if (rc == 0) {
            const char *e = lx_json_str(ref, "entity");
            if (r->entity && (!e || strcmp(e, r->entity) != 0)) {
                json_decref(ref);
                return fail(R, F, r,
                            lx_error_set(R->err, LX_EINVAL,
                                         "the reference is to a '%.64s', "
                                         "not a '%s'",
                                         e ? e : "?", r->entity),
                            src, 0);
            }
            return write_from(R, F, r, ref, src, 0);
        }
        if (rc != LX_ENOTFOUND)
            return fail(R, F, r, rc, src, 0);
    }
    const char *ib = s, *tb = NULL, *te = NULL;
    if (!r->native_type) {
        /* FHIR: "Organization/1", "http://h/fhir/Organization/1",
         * "Organization/1/_history/2" (R4 3.1.1.4.1). */
        const char *hist = NULL;
        for (const char *p = s; p + 10 <= s + len; p++)
            if (memcmp(p, "/_history/", 10) == 0)
                hist = p;
        if (hist)
            len = (size_t)(hist - s);
        const char *slash = NULL;
        for (const char *p = s; p < s + len; p++)
            if (*p == '/')
                slash = p;
        if (!slash || slash == s || slash + 1 == s + len)
            return fail(R, F, r,
                        lx_error_set(R->err, LX_EINVAL,
                                     "not a reference of the form Type/id"),
                        src, 0);
        te = slash;
        tb = slash;
        while (tb > s && tb[-1] != '/')
            tb--;
        ib = slash + 1;
    }
    size_t ilen = (size_t)(s + len - ib);
    size_t tlen = tb ? (size_t)(te - tb) : strlen(r->native_type);
    if (ilen >= sizeof(id) || tlen >= sizeof(type) || memchr(ib, 0, ilen))
        return fail(
            R, F, r,
            lx_error_set(R->err, LX_ELIMIT, "reference type or id too long"),
            src, 0);
    memcpy(type, tb ? tb : r->native_type, tlen);
    type[tlen] = '\0';
    memcpy(id, ib, ilen);
    id[ilen] = '\0';
    if (!R->res || !R->res->to_canonical)
        return unresolved(R, F, r, src);
    char entity[LX_MAP_ENTITY_SIZE] = "", cid[LX_MAP_ID_SIZE] = "";
    int rc = R->res->to_canonical(R->res->ctx, type, id, entity, sizeof(entity),
                                  cid, sizeof(cid), R->err);
    if (rc == LX_ENOTFOUND)
        return unresolved(R, F, r, src);
    if (rc)
        return fail(R, F, r, rc, src, 0);
    if (r->entity && strcmp(entity, r->entity) != 0)
        return fail(R, F, r,
                    lx_error_set(R->err, LX_EINVAL,
                                 "the reference is to a '%s', not a '%s'",
                                 entity, r->entity),
                    src, 0);
    json_t *out = json_pack("{s:s, s:s}", "entity", entity, "id", cid);
    if (!out)
        return fail(R, F, r,
                    lx_error_set(R->err, LX_EINVAL,
                                 "the resolver returned invalid UTF-8"),
                    src, 0);
    return write_from(R, F, r, out, src, 0);
}

static int ref_out(run *R, frame *F, const mp_rule *r)
{
    const mp_path *src = r->side[MP_CANONICAL];
    const json_t *v = mp_path_first(src, R->root, F->src);
    if (!v)
        return 0;
    const char *entity = lx_json_str(v, "entity");
    const char *cid = lx_json_str(v, "id");
    if (!json_is_object(v) || !entity)
        return fail(R, F, r,
                    lx_error_set(R->err, LX_EINVAL,
                                 "a canonical reference is an object with "
                                 "\"entity\" and \"id\""),
                    src, 0);
    if (r->entity && strcmp(entity, r->entity) != 0)
        return fail(R, F, r,
                    lx_error_set(R->err, LX_EINVAL,
                                 "the reference is to a '%.64s', not a '%s'",
                                 entity, r->entity),
                    src, 0);
    if (!cid || !R->res || !R->res->to_native)
        return unresolved(R, F, r, src);
    char type[LX_MAP_NATIVE_TYPE_SIZE] = "", nid[LX_MAP_NATIVE_ID_SIZE] = "";
    int rc = R->res->to_native(R->res->ctx, entity, cid, r->native_type, type,
                               sizeof(type), nid, sizeof(nid), R->err);
    if (rc == LX_ENOTFOUND)
        return unresolved(R, F, r, src);
    if (rc)
        return fail(R, F, r, rc, src, 0);
    if (r->native_type && strcmp(type, r->native_type) != 0)
        return unresolved(R, F, r, src);
    json_t *out;
    if (r->native_type) {
        out = json_string(nid);
    } else {
        char text[LX_MAP_NATIVE_TYPE_SIZE + LX_MAP_NATIVE_ID_SIZE + 1];
        snprintf(text, sizeof(text), "%s/%s", type, nid);
        out = json_string(text);
    }
    if (!out)
        return fail(R, F, r,
                    lx_error_set(R->err, LX_EINVAL,
                                 "the resolver returned invalid UTF-8"),
                    src, 0);
    return write_from(R, F, r, out, src, 0);
}

static int run_rules(run *R, frame *F, const mp_rule *rules, size_t n)
{
    unsigned bit = MP_DIR_BIT(R->dir);
    for (size_t i = 0; i < n; i++) {
        const mp_rule *r = &rules[i];
        if (!(r->dirs & bit))
            continue;
        if (r->when_count && !when_holds(R, F, r))
            continue;
        int rc = 0;
        switch (r->type) {
        case MP_R_COPY:
            rc = do_copy(R, F, r);
            break;
        case MP_R_OBJECT:
            rc = do_object(R, F, r);
            break;
        case MP_R_EACH:
            rc = do_each(R, F, r);
            break;
        case MP_R_CONST:
            rc = do_const(R, F, r);
            break;
        case MP_R_CONCAT:
        case MP_R_SPLIT:
            rc = R->src == r->parts_side ? join_parts(R, F, r)
                                         : split_parts(R, F, r);
            break;
        case MP_R_REF:
            rc = R->dir == LX_MAP_IN ? ref_in(R, F, r) : ref_out(R, F, r);
            break;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int run_steps(const lx_map *m, lx_map_dir dir, json_t **cur,
                     lx_error *err)
{
    unsigned bit = MP_DIR_BIT(dir);
    for (size_t k = 0; k < m->step_count; k++) {
        const mp_xstep *s =
            &m->steps[dir == LX_MAP_IN ? k : m->step_count - 1 - k];
        if (!(s->dirs & bit))
            continue;
        json_t *next;
        int rc = lx_xslt_run(s->xslt, *cur, s->input, s->output, &next, err);
        json_decref(*cur);
        *cur = next;
        if (rc) {
            lx_error_prefix(err, "%s", s->label);
            return rc;
        }
    }
    return 0;
}

int lx_map_run(const lx_map *m, lx_map_dir dir, const json_t *input,
               const lx_map_resolver *res, json_t **output, lx_map_trace *trace,
               lx_error *err)
{
    *output = NULL;
    LX_ASSERT(m && input);
    if (trace)
        mp_trace_reset(trace);
    json_t *cur = json_incref((json_t *)input);
    int rc = 0;
    if (dir == LX_MAP_IN)
        rc = run_steps(m, dir, &cur, err);
    if (rc == 0 && m->has_rules) {
        frame root = {NULL, NULL, cur, NULL, 0};
        run R = {m,          dir, MP_SRC(dir), MP_DST(dir), cur,
                 &root.slot, res, trace,       err};
        rc = run_rules(&R, &root, m->rules, m->rule_count);
        json_decref(cur);
        cur = root.slot ? root.slot : json_object();
        if (rc) {
            json_decref(cur);
            cur = NULL;
        }
    }
    if (rc == 0 && dir == LX_MAP_OUT)
        rc = run_steps(m, dir, &cur, err);
    if (rc) {
        json_decref(cur);
        return rc;
    }
    *output = cur;
    return 0;
}
