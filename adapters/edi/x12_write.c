/* adapters/edi/x12_write.c: the tree back to X12 text. */
#include "adapters/edi/x12.h"

#include "core/json.h"

#include <stdio.h>
#include <string.h>

typedef struct writer {
    lx_x12_delims d;
    int flags;
    lx_buf *out;
    lx_error *err;
    char where[128];
} writer;

/* ISA01..ISA16 widths (X12.5). */
static const unsigned char isa_widths[16] = {2,  10, 2, 10, 2, 15, 2, 15,
                                             6,  4,  1, 5, 9,  1, 1, 1};

static int bad(writer *w, const char *what)
{
    (void)lx_error_set(w->err, LX_EINVAL, "%s: %s", w->where, what);
    return lx_error_at(w->err, w->where, 0, 0);
}

static int has_delim(const writer *w, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == w->d.element || c == w->d.component || c == w->d.segment ||
            (w->d.repetition && c == w->d.repetition))
            return 1;
    }
    return 0;
}

static int put_string(writer *w, const json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (has_delim(w, s, n))
        return bad(w, "value contains a delimiter");
    return lx_buf_append(w->out, s, n);
}

/* A string; an array of strings (composite); an array of arrays
 * (repetitions of composites or of simple elements). */
static int put_element(writer *w, const json_t *v)
{
    int rc = 0;
    size_t i;
    json_t *item;
    if (json_is_string(v))
        return put_string(w, v);
    if (!json_is_array(v))
        return bad(w, "element is not a string or an array");
    json_array_foreach(v, i, item) {
        if (i > 0) {
            char sep = json_is_array(item) ? w->d.repetition : w->d.component;
            if (sep == 0)
                return bad(w, "repetitions without a repetition separator");
            rc = lx_buf_append(w->out, &sep, 1);
        }
        if (rc == 0 && json_is_array(item)) {
            size_t k;
            json_t *c;
            json_array_foreach(item, k, c) {
                if (!json_is_string(c))
                    return bad(w, "component is not a string");
                if (k > 0)
                    rc = lx_buf_append(w->out, &w->d.component, 1);
                if (rc == 0)
                    rc = put_string(w, c);
                if (rc < 0)
                    return rc;
            }
        } else if (rc == 0) {
            if (!json_is_string(item))
                return bad(w, "component is not a string");
            rc = put_string(w, item);
        }
        if (rc < 0)
            return rc;
    }
    return rc;
}

static int end_segment(writer *w)
{
    int rc = lx_buf_append(w->out, &w->d.segment, 1);
    if (rc == 0 && (w->flags & LX_X12_WRITE_NEWLINE) && w->d.segment != '\n')
        rc = lx_buf_append(w->out, "\n", 1);
    return rc;
}

/* The highest position NN among the keys "<id>NN" of a segment object. */
static size_t last_position(const char *id, const json_t *seg)
{
    const char *key;
    json_t *v;
    size_t idlen = strlen(id), last = 0;
    if (!seg)
        return 0;
    json_object_foreach((json_t *)seg, key, v) {
        size_t n = strlen(key);
        if (n == idlen + 2 && memcmp(key, id, idlen) == 0 &&
            key[idlen] >= '0' && key[idlen] <= '9' &&
            key[idlen + 1] >= '0' && key[idlen + 1] <= '9') {
            size_t pos = (size_t)(key[idlen] - '0') * 10 +
                         (size_t)(key[idlen + 1] - '0');
            if (pos > last)
                last = pos;
        }
    }
    return last;
}

/* Whether a is b with leading zeros ("00001" and "1"). */
static int same_digits(const char *a, const char *b)
{
    for (const char *p = a; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    while (a[0] == '0' && a[1] != '\0')
        a++;
    while (b[0] == '0' && b[1] != '\0')
        b++;
    return a[0] != '\0' && strcmp(a, b) == 0;
}

/* One segment; `override` (may be NULL) replaces positions 1 and 2 (the
 * recomputed count and the copied control number of a trailer). */
static int put_segment(writer *w, const char *id, const json_t *seg,
                       const char *const override[2])
{
    char key[8];
    int rc;
    if (!json_is_object(seg) && !(seg == NULL && override))
        return bad(w, "segment is not an object");
    size_t last = last_position(id, seg);
    if (override && last < 2)
        last = 2;
    rc = lx_buf_puts(w->out, id);
    for (size_t i = 1; rc == 0 && i <= last; i++) {
        rc = lx_buf_append(w->out, &w->d.element, 1);
        if (rc < 0)
            break;
        if (override && i <= 2) {
            /* Keep a zero-padded count that is right ("IEA*00001"). */
            snprintf(key, sizeof(key), "%s%02zu", id, i);
            const char *old = json_string_value(json_object_get(seg, key));
            rc = lx_buf_puts(w->out, old && same_digits(old, override[i - 1])
                                         ? old
                                         : override[i - 1]);
            continue;
        }
        snprintf(key, sizeof(key), "%s%02zu", id, i);
        const json_t *v = json_object_get(seg, key);
        if (v)
            rc = put_element(w, v);
    }
    return rc == 0 ? end_segment(w) : rc;
}

static int put_isa(writer *w, const json_t *isa, char isa13[10])
{
    char key[8];
    int rc;
    if (!json_is_object(isa))
        return bad(w, "ISA is not an object");
    rc = lx_buf_puts(w->out, "ISA");
    for (int i = 0; rc == 0 && i < 16; i++) {
        snprintf(key, sizeof(key), "ISA%02d", i + 1);
        const char *v = json_string_value(json_object_get(isa, key));
        size_t n = v ? strlen(v) : 0;
        size_t width = isa_widths[i];
        if (n > width)
            return bad(w, "ISA element longer than its fixed width");
        rc = lx_buf_append(w->out, &w->d.element, 1);
        if (rc == 0 && i == 10 && w->d.repetition) {
            rc = lx_buf_append(w->out, &w->d.repetition, 1);
            continue;
        }
        if (rc == 0 && i == 15) {
            rc = lx_buf_append(w->out, &w->d.component, 1);
            continue;
        }
        if (i == 12) { /* ISA13, the control number: zero padded. */
            for (size_t k = n; rc == 0 && k < width; k++)
                rc = lx_buf_append(w->out, "0", 1);
            if (rc == 0)
                rc = lx_buf_append(w->out, v ? v : "", n);
            snprintf(isa13, 10, "%.*s%s", (int)(width - n), "000000000",
                     v ? v : "");
            continue;
        }
        if (rc == 0 && v && has_delim(w, v, n))
            return bad(w, "value contains a delimiter");
        if (rc == 0)
            rc = lx_buf_append(w->out, v ? v : "", n);
        for (size_t k = n; rc == 0 && k < width; k++)
            rc = lx_buf_append(w->out, " ", 1);
    }
    return rc == 0 ? end_segment(w) : rc;
}

static int put_node(writer *w, const json_t *node, size_t *count, int depth)
{
    static const char *const lists[] = {"segments", "loops", "summary"};
    int rc = 0;
    if (depth > LX_X12_LOOP_DEPTH_MAX)
        return bad(w, "loops nested too deep");
    for (size_t l = 0; l < 3; l++) {
        const json_t *a = json_object_get(node, lists[l]);
        size_t i;
        json_t *item;
        if (!a)
            continue;
        if (!json_is_array(a))
            return bad(w, "segments, loops or summary is not an array");
        json_array_foreach(a, i, item) {
            if (l == 1) {
                rc = put_node(w, item, count, depth + 1);
            } else {
                const char *id = lx_json_str(item, "id");
                if (!id || strlen(id) < 2 || strlen(id) > 3)
                    return bad(w, "segment without a valid id");
                rc = put_segment(w, id, item, NULL);
                (*count)++;
            }
            if (rc < 0)
                return rc;
        }
    }
    return rc;
}

static const char *control(const json_t *seg, const char *key)
{
    const char *v = json_string_value(json_object_get(seg, key));
    return v ? v : "";
}

static void delims_from(const json_t *o, lx_x12_delims *d)
{
    const char *e = lx_json_str(o, "element");
    const char *r = lx_json_str(o, "repetition");
    const char *c = lx_json_str(o, "component");
    const char *s = lx_json_str(o, "segment");
    *d = lx_x12_delims_default;
    if (e && e[0])
        d->element = e[0];
    if (r)
        d->repetition = r[0];
    if (c && c[0])
        d->component = c[0];
    if (s && s[0])
        d->segment = s[0];
}

int lx_x12_write(const json_t *tree, const lx_x12_delims *delims, int flags,
                 lx_buf *out, lx_error *err)
{
    writer w;
    size_t i, g, t;
    json_t *ichg, *grp, *txn;
    char num[24], isa13[10];
    int rc = 0;
    LX_ASSERT(out != NULL);
    memset(&w, 0, sizeof(w));
    w.flags = flags;
    w.out = out;
    w.err = err;
    const json_t *list = json_object_get(tree, "interchanges");
    snprintf(w.where, sizeof(w.where), "/interchanges");
    if (!json_is_array(list))
        return bad(&w, "not an array");
    json_array_foreach(list, i, ichg) {
        if (delims)
            w.d = *delims;
        else
            delims_from(json_object_get(ichg, "delimiters"), &w.d);
        snprintf(w.where, sizeof(w.where), "/interchanges/%zu", i);
        rc = put_isa(&w, json_object_get(ichg, "ISA"), isa13);
        size_t a;
        const json_t *ta1;
        json_array_foreach(json_object_get(ichg, "TA1"), a, ta1) {
            if (rc == 0)
                rc = put_segment(&w, "TA1", ta1, NULL);
        }
        const json_t *groups = json_object_get(ichg, "groups");
        json_array_foreach(groups, g, grp) {
            size_t txn_count = 0;
            const json_t *gs = json_object_get(grp, "GS");
            snprintf(w.where, sizeof(w.where), "/interchanges/%zu/groups/%zu",
                     i, g);
            if (rc == 0)
                rc = put_segment(&w, "GS", gs, NULL);
            const json_t *txns = json_object_get(grp, "transactions");
            json_array_foreach(txns, t, txn) {
                size_t count = 1;
                const json_t *st = json_object_get(txn, "ST");
                snprintf(w.where, sizeof(w.where),
                         "/interchanges/%zu/groups/%zu/transactions/%zu", i,
                         g, t);
                if (rc == 0)
                    rc = put_segment(&w, "ST", st, NULL);
                if (rc == 0)
                    rc = put_node(&w, txn, &count, 0);
                count++;
                snprintf(num, sizeof(num), "%zu", count);
                const char *const se[2] = {num, control(st, "ST02")};
                if (rc == 0)
                    rc = put_segment(&w, "SE", json_object_get(txn, "SE"), se);
                txn_count++;
            }
            snprintf(num, sizeof(num), "%zu", txn_count);
            const char *const ge[2] = {num, control(gs, "GS06")};
            if (rc == 0)
                rc = put_segment(&w, "GE", json_object_get(grp, "GE"), ge);
        }
        snprintf(num, sizeof(num), "%zu", json_array_size(groups));
        const char *const iea[2] = {num, isa13};
        if (rc == 0)
            rc = put_segment(&w, "IEA", json_object_get(ichg, "IEA"), iea);
        if (rc < 0)
            break;
    }
    if (rc < 0 && err && err->code == 0)
        (void)lx_error_set(err, rc, "X12 output exceeds its ceiling");
    return rc;
}
