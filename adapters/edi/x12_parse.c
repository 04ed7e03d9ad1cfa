/* adapters/edi/x12_parse.c: segments to the tree, envelope checks. */
#include "adapters/edi/x12_int.h"

#include "adapters/edi/edi_intern.h"
#include "adapters/edi/edi_loan.h"

#include "core/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void lx_x12_copy(char *dst, size_t cap, const char *v, size_t len)
{
    if (len >= cap)
        len = cap - 1;
    if (len > 0)
        memcpy(dst, v, len);
    dst[len] = '\0';
}

void lx_x12_diag_add(lx_x12_doc *doc, const lx_x12_where *w,
                     lx_x12_level level, const char *x12_code,
                     const char *seg_id, const char *loop_id,
                     size_t segment_pos, size_t element_pos,
                     size_t component_pos, long offset, const char *fmt, ...)
{
    if (doc->diag_count >= LX_X12_DIAGS_MAX)
        return;
    if (doc->diag_count == doc->diag_cap) {
        doc->diag_cap = doc->diag_cap ? doc->diag_cap * 2 : 8;
        doc->diags =
            lx_xrealloc(doc->diags, doc->diag_cap * sizeof(*doc->diags));
    }
    lx_x12_diag *d = &doc->diags[doc->diag_count++];
    memset(d, 0, sizeof(*d));
    d->level = level;
    lx_x12_copy(d->x12_code, sizeof(d->x12_code), x12_code, strlen(x12_code));
    snprintf(d->isa13, sizeof(d->isa13), "%s", w->isa13);
    snprintf(d->gs06, sizeof(d->gs06), "%s", w->gs06);
    snprintf(d->st02, sizeof(d->st02), "%s", w->st02);
    snprintf(d->set, sizeof(d->set), "%s", w->set);
    if (seg_id)
        snprintf(d->segment_id, sizeof(d->segment_id), "%s", seg_id);
    if (loop_id)
        snprintf(d->loop_id, sizeof(d->loop_id), "%s", loop_id);
    d->segment_pos = segment_pos;
    d->element_pos = element_pos;
    d->component_pos = component_pos;
    d->offset = offset;

    /* "ISA 000000001 GS 1 ST 0001: segment 14 (DTP) element 3: ..." */
    size_t n = 0;
    int k = snprintf(d->msg, sizeof(d->msg), "ISA %s", w->isa13);
    n = k > 0 ? (size_t)k : 0;
    if (w->gs06[0] && n < sizeof(d->msg)) {
        k = snprintf(d->msg + n, sizeof(d->msg) - n, " GS %s", w->gs06);
        n += k > 0 ? (size_t)k : 0;
    }
    if (w->st02[0] && n < sizeof(d->msg)) {
        k = snprintf(d->msg + n, sizeof(d->msg) - n, " ST %s", w->st02);
        n += k > 0 ? (size_t)k : 0;
    }
    if (segment_pos && n < sizeof(d->msg)) {
        k = snprintf(d->msg + n, sizeof(d->msg) - n, ": segment %zu (%s)",
                     segment_pos, d->segment_id);
        n += k > 0 ? (size_t)k : 0;
    }
    if (element_pos && n < sizeof(d->msg)) {
        k = snprintf(d->msg + n, sizeof(d->msg) - n, " element %zu",
                     element_pos);
        n += k > 0 ? (size_t)k : 0;
    }
    if (component_pos && n < sizeof(d->msg)) {
        k = snprintf(d->msg + n, sizeof(d->msg) - n, " component %zu",
                     component_pos);
        n += k > 0 ? (size_t)k : 0;
    }
    if (n + 2 < sizeof(d->msg)) {
        va_list ap;
        memcpy(d->msg + n, ": ", 3);
        n += 2;
        va_start(ap, fmt);
        (void)vsnprintf(d->msg + n, sizeof(d->msg) - n, fmt, ap);
        va_end(ap);
    }
}

/* A value: shared through t when given (a body being built), else its
 * own string. Invalid UTF-8 gives NULL, and the member is then left out,
 * as before. */
static json_t *value_json(lx_edi_intern *t, const char *p, size_t len)
{
    return t ? lx_edi_intern_string(t, p, len, 1) : json_stringn(p, len);
}

/* A composite as an array of its components: "HC:99211:25". */
static json_t *composite_json(lx_edi_intern *t, const char *p, size_t len,
                              char sep)
{
    json_t *a = json_array();
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || p[i] == sep) {
            json_array_append_new(a, value_json(t, p + start, i - start));
            start = i + 1;
        }
    }
    return a;
}

/* An element: a string; a composite: an array of strings; repetitions: an
 * array of arrays (one array of components per repetition). */
static json_t *element_json(lx_edi_intern *t, lx_x12_view v,
                            const lx_x12_delims *d)
{
    /* One pass for both separators: elements are a few bytes, shorter
     * than two memchr calls cost. */
    int has_rep = 0, has_comp = 0;
    for (size_t i = 0; i < v.len; i++) {
        has_rep |= d->repetition && v.ptr[i] == d->repetition;
        has_comp |= v.ptr[i] == d->component;
    }
    if (!has_rep && !has_comp)
        return value_json(t, v.ptr, v.len);
    if (has_rep) {
        json_t *reps = json_array();
        size_t start = 0;
        for (size_t i = 0; i <= v.len; i++) {
            if (i == v.len || v.ptr[i] == d->repetition) {
                json_array_append_new(
                    reps, composite_json(t, v.ptr + start, i - start,
                                         d->component));
                start = i + 1;
            }
        }
        return reps;
    }
    return composite_json(t, v.ptr, v.len, d->component);
}

/* "INS" + 1 -> "INS01": element keys without snprintf (the hot path). */
static void element_key(char key[8], const char *id, size_t idlen, size_t i)
{
    memcpy(key, id, idlen);
    key[idlen] = (char)('0' + (i + 1) / 10);
    key[idlen + 1] = (char)('0' + (i + 1) % 10);
    key[idlen + 2] = '\0';
}

/* {"id": "INS", "INS01": "Y", "INS02": "18", ...}: every element as
 * parsed, empty ones included, so that writing reproduces the input. */
static json_t *elements_json(lx_edi_intern *t, const char *idp, size_t idlen,
                             const lx_x12_view *els, size_t count,
                             const lx_x12_delims *d, int is_isa)
{
    json_t *o = json_object();
    char id[4];
    char key[8];
    if (idlen > 3)
        idlen = 3;
    lx_x12_copy(id, sizeof(id), idp, idlen);
    json_object_setn_new_nocheck(o, "id", 2, value_json(t, id, idlen));
    for (size_t i = 0; i < count; i++) {
        element_key(key, id, idlen, i);
        json_object_setn_new_nocheck(
            o, key, idlen + 2,
            is_isa ? value_json(t, els[i].ptr, els[i].len)
                   : element_json(t, els[i], d));
    }
    return o;
}

static json_t *segment_json(const lx_x12_segment *s, const lx_x12_delims *d)
{
    int is_isa = s->id.len == 3 && memcmp(s->id.ptr, "ISA", 3) == 0;
    return elements_json(NULL, s->id.ptr, s->id.len, s->elements,
                         s->element_count, d, is_isa);
}

static int seg_is(const lx_x12_segment *s, const char *id)
{
    return s->id.len == strlen(id) && memcmp(s->id.ptr, id, s->id.len) == 0;
}

static lx_x12_view elem(const lx_x12_segment *s, size_t i)
{
    lx_x12_view none = {"", 0};
    return i >= 1 && i <= s->element_count ? s->elements[i - 1] : none;
}

/* Trim the blanks that fixed-width ISA fields are padded with. */
static lx_x12_view trim(lx_x12_view v)
{
    while (v.len > 0 && v.ptr[0] == ' ') {
        v.ptr++;
        v.len--;
    }
    while (v.len > 0 && v.ptr[v.len - 1] == ' ')
        v.len--;
    return v;
}

/* A count or control number compared as a number when both are digits
 * ("000000905" equals "905"), else byte for byte. */
static int same_number(lx_x12_view a, lx_x12_view b)
{
    a = trim(a);
    b = trim(b);
    int digits = a.len > 0 && b.len > 0;
    for (size_t i = 0; digits && i < a.len; i++)
        digits = a.ptr[i] >= '0' && a.ptr[i] <= '9';
    for (size_t i = 0; digits && i < b.len; i++)
        digits = b.ptr[i] >= '0' && b.ptr[i] <= '9';
    if (!digits)
        return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
    while (a.len > 1 && a.ptr[0] == '0') {
        a.ptr++;
        a.len--;
    }
    while (b.len > 1 && b.ptr[0] == '0') {
        b.ptr++;
        b.len--;
    }
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

static int same_count(lx_x12_view v, size_t count)
{
    char buf[24];
    int k = snprintf(buf, sizeof(buf), "%zu", count);
    lx_x12_view c = {buf, k > 0 ? (size_t)k : 0};
    return same_number(v, c);
}

static void set_where(char *dst, size_t cap, lx_x12_view v)
{
    v = trim(v);
    lx_x12_copy(dst, cap, v.ptr, v.len);
}

enum state { OUTSIDE, IN_ISA, IN_GS, IN_ST };

typedef struct parser {
    const lx_x12_defs *defs;
    lx_x12_doc *doc;
    lx_x12_where w;
    enum state state;
    json_t *interchanges;
    json_t *ichg, *groups, *group, *txns, *txn;
    size_t lazy;      /* doc->lazies index of the open transaction */
    size_t seg_count; /* ST..current, for SE01 */
} parser;

static int structure_error(const lx_x12_segment *s, lx_error *err,
                           const char *rule)
{
    (void)lx_error_set(err, LX_ESYNTAX, "segment %zu (%.*s): %s", s->number,
                       (int)s->id.len, s->id.ptr, rule);
    if (err)
        err->offset = (long)s->offset;
    return LX_ESYNTAX;
}

static json_t *delims_json(const lx_x12_delims *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "element", json_stringn(&d->element, 1));
    json_object_set_new(o, "repetition",
                        json_stringn(&d->repetition, d->repetition ? 1 : 0));
    json_object_set_new(o, "component", json_stringn(&d->component, 1));
    json_object_set_new(o, "segment", json_stringn(&d->segment, 1));
    return o;
}

/* Validate and place the body of the open transaction (its JSON waits
 * for lx_x12_doc_tree). */
static void apply_body(parser *p)
{
    lx_x12_lazy *lz = &p->doc->lazies[p->lazy];
    lx_x12_body body = {p->doc->segs + lz->seg_first, lz->seg_count,
                        p->doc->els, lz->delims};
    lx_x12_defs_apply(p->defs, &body, p->doc, &p->w, lz);
}

static void end_transaction(parser *p, const lx_x12_segment *s,
                            const lx_x12_delims *d)
{
    apply_body(p);
    p->seg_count++;
    if (!same_count(elem(s, 1), p->seg_count))
        lx_x12_diag_add(p->doc, &p->w, LX_X12_LEVEL_TRANSACTION, "4", "SE",
                        NULL, p->seg_count, 1, 0, (long)s->offset,
                        "number of included segments does not match the "
                        "actual count %zu",
                        p->seg_count);
    json_t *st = json_object_get(p->txn, "ST");
    const char *st02 = json_string_value(json_object_get(st, "ST02"));
    lx_x12_view v = {st02 ? st02 : "", st02 ? strlen(st02) : 0};
    if (!same_number(elem(s, 2), v))
        lx_x12_diag_add(p->doc, &p->w, LX_X12_LEVEL_TRANSACTION, "3", "SE",
                        NULL, p->seg_count, 2, 0, (long)s->offset,
                        "transaction set control number in header (ST02) "
                        "and trailer do not match");
    p->doc->lazies[p->lazy].se = segment_json(s, d);
    p->txn = NULL;
    p->w.st02[0] = '\0';
    p->w.set[0] = '\0';
}

/* A body segment, kept as views (into doc->text, which s points into). */
static void keep_segment(parser *p, const lx_x12_segment *s)
{
    lx_x12_doc *doc = p->doc;
    LX_EDI_GROW(doc->segs, doc->seg_count, doc->seg_cap);
    lx_x12_cseg *c = &doc->segs[doc->seg_count++];
    memset(c->id, 0, sizeof(c->id));
    memcpy(c->id, s->id.ptr, s->id.len < 3 ? s->id.len : 3);
    c->first = (uint32_t)doc->el_count;
    c->count = (uint32_t)s->element_count;
    c->offset = (long)s->offset;
    if (doc->el_count + s->element_count > doc->el_cap) {
        while (doc->el_count + s->element_count > doc->el_cap)
            doc->el_cap = doc->el_cap ? doc->el_cap * 2 : 256;
        doc->els = lx_xrealloc(doc->els, doc->el_cap * sizeof(*doc->els));
    }
    /* A segment without elements ("ST~") may come before any array. */
    if (s->element_count > 0)
        memcpy(doc->els + doc->el_count, s->elements,
               s->element_count * sizeof(*s->elements));
    doc->el_count += s->element_count;
    doc->lazies[p->lazy].seg_count++;
}

static int on_segment(parser *p, const lx_x12_segment *s,
                      const lx_x12_delims *d, lx_error *err)
{
    if (seg_is(s, "ISA")) {
        if (p->state != OUTSIDE)
            return structure_error(s, err, "ISA before the IEA of the "
                                           "previous interchange");
        p->ichg = json_object();
        json_array_append_new(p->interchanges, p->ichg);
        json_object_set_new(p->ichg, "delimiters", delims_json(d));
        json_object_set_new(p->ichg, "ISA", segment_json(s, d));
        p->groups = json_array();
        json_object_set_new(p->ichg, "groups", p->groups);
        memset(&p->w, 0, sizeof(p->w));
        set_where(p->w.isa13, sizeof(p->w.isa13), elem(s, 13));
        p->state = IN_ISA;
        return 0;
    }
    if (seg_is(s, "IEA")) {
        if (p->state != IN_ISA)
            return structure_error(s, err, p->state == OUTSIDE
                                               ? "IEA outside an interchange"
                                               : "IEA before GE or SE");
        size_t n = json_array_size(p->groups);
        if (!same_count(elem(s, 1), n))
            lx_x12_diag_add(p->doc, &p->w, LX_X12_LEVEL_INTERCHANGE, "021",
                            "IEA", NULL, 0, 0, 0, (long)s->offset,
                            "IEA01: number of included functional groups "
                            "does not match the actual count %zu",
                            n);
        lx_x12_view isa13 = {p->w.isa13, strlen(p->w.isa13)};
        if (!same_number(elem(s, 2), isa13))
            lx_x12_diag_add(p->doc, &p->w, LX_X12_LEVEL_INTERCHANGE, "001",
                            "IEA", NULL, 0, 0, 0, (long)s->offset,
                            "IEA02: interchange control number in header "
                            "(ISA13) and trailer do not match");
        json_object_set_new(p->ichg, "IEA", segment_json(s, d));
        p->state = OUTSIDE;
        return 0;
    }
    if (seg_is(s, "TA1")) {
        /* Interchange acknowledgements (X12.56) sit between ISA and the
         * first GS, or alone in an interchange without groups. */
        if (p->state != IN_ISA)
            return structure_error(s, err, "TA1 outside an interchange or "
                                           "inside a functional group");
        json_t *ta1 = json_object_get(p->ichg, "TA1");
        if (!ta1) {
            ta1 = json_array();
            json_object_set_new(p->ichg, "TA1", ta1);
        }
        json_array_append_new(ta1, segment_json(s, d));
        return 0;
    }
    if (seg_is(s, "GS")) {
        if (p->state != IN_ISA)
            return structure_error(s, err, "GS outside an interchange or "
                                           "before the GE of the previous "
                                           "group");
        p->group = json_object();
        json_array_append_new(p->groups, p->group);
        json_object_set_new(p->group, "GS", segment_json(s, d));
        p->txns = json_array();
        json_object_set_new(p->group, "transactions", p->txns);
        set_where(p->w.gs06, sizeof(p->w.gs06), elem(s, 6));
        p->state = IN_GS;
        return 0;
    }
    if (seg_is(s, "GE")) {
        if (p->state != IN_GS)
            return structure_error(s, err, "GE outside a functional group "
                                           "or before SE");
        size_t n = json_array_size(p->txns);
        if (!same_count(elem(s, 1), n))
            /* X12 716 code 5: included transaction sets do not match. */
            lx_x12_diag_add(p->doc, &p->w, LX_X12_LEVEL_GROUP, "5", "GE",
                            NULL, 0, 0, 0, (long)s->offset,
                            "GE01: number of included transaction sets does "
                            "not match the actual count %zu",
                            n);
        lx_x12_view gs06 = {p->w.gs06, strlen(p->w.gs06)};
        if (!same_number(elem(s, 2), gs06))
            /* X12 716 code 4: control numbers of GS and GE differ. */
            lx_x12_diag_add(p->doc, &p->w, LX_X12_LEVEL_GROUP, "4", "GE",
                            NULL, 0, 0, 0, (long)s->offset,
                            "GE02: group control number in header (GS06) "
                            "and trailer do not match");
        json_object_set_new(p->group, "GE", segment_json(s, d));
        p->w.gs06[0] = '\0';
        p->state = IN_ISA;
        return 0;
    }
    if (seg_is(s, "ST")) {
        if (p->state != IN_GS)
            return structure_error(s, err, "ST outside a functional group "
                                           "or before the SE of the "
                                           "previous transaction set");
        p->txn = json_object();
        json_array_append_new(p->txns, p->txn);
        json_object_set_new(p->txn, "ST", segment_json(s, d));
        set_where(p->w.st02, sizeof(p->w.st02), elem(s, 2));
        set_where(p->w.set, sizeof(p->w.set), elem(s, 1));
        json_object_set_new(p->txn, "set", json_string(p->w.set));
        lx_x12_doc *doc = p->doc;
        LX_EDI_GROW(doc->lazies, doc->lazy_count, doc->lazy_cap);
        p->lazy = doc->lazy_count++;
        lx_x12_lazy *lz = &doc->lazies[p->lazy];
        memset(lz, 0, sizeof(*lz));
        lz->txn = p->txn;
        lz->delims = *d;
        lz->seg_first = doc->seg_count;
        p->seg_count = 1;
        p->state = IN_ST;
        return 0;
    }
    if (p->state != IN_ST)
        return structure_error(s, err, "segment outside a transaction set");
    if (seg_is(s, "SE")) {
        end_transaction(p, s, d);
        p->state = IN_GS;
        return 0;
    }
    keep_segment(p, s);
    p->seg_count++;
    return 0;
}

/* The compact form's buffers, in a document or lent by a scratch. */
typedef struct compact {
    char *text;
    size_t text_cap;
    lx_x12_view *els;
    size_t el_cap;
    lx_x12_cseg *segs;
    size_t seg_cap;
    lx_x12_put *puts;
    size_t put_cap;
    lx_x12_loop_id *loops;
    size_t loop_cap;
    lx_x12_lazy *lazies;
    size_t lazy_cap;
    lx_x12_build_node *nodes;
    size_t node_cap;
} compact;

struct lx_x12_scratch {
    lx_edi_loan loan;
    compact c;
};

static void compact_free(compact *c)
{
    free(c->text);
    free(c->els);
    free(c->segs);
    free(c->puts);
    free(c->loops);
    free(c->lazies);
    free(c->nodes);
    memset(c, 0, sizeof(*c));
}

lx_x12_scratch *lx_x12_scratch_new(void)
{
    lx_x12_scratch *sc = lx_xcalloc(1, sizeof(*sc));
    lx_edi_loan_init(&sc->loan);
    return sc;
}

void lx_x12_scratch_release(lx_x12_scratch **scp)
{
    if (!scp || !*scp)
        return;
    lx_x12_scratch *sc = *scp;
    *scp = NULL;
    if (!lx_edi_loan_unref(&sc->loan))
        return;
    compact_free(&sc->c);
    free(sc);
}

static void compact_take(lx_x12_doc *doc, compact *c)
{
    memset(c, 0, sizeof(*c));
    c->text = doc->text;
    c->text_cap = doc->text_cap;
    c->els = doc->els;
    c->el_cap = doc->el_cap;
    c->segs = doc->segs;
    c->seg_cap = doc->seg_cap;
    c->puts = doc->puts;
    c->put_cap = doc->put_cap;
    c->loops = doc->loops;
    c->loop_cap = doc->loop_cap;
    c->lazies = doc->lazies;
    c->lazy_cap = doc->lazy_cap;
    c->nodes = doc->nodes;
    c->node_cap = doc->node_cap;
    doc->text = NULL;
    doc->els = NULL;
    doc->segs = NULL;
    doc->puts = NULL;
    doc->loops = NULL;
    doc->lazies = NULL;
    doc->nodes = NULL;
    doc->text_cap = doc->el_cap = doc->seg_cap = doc->put_cap = 0;
    doc->loop_cap = doc->lazy_cap = doc->node_cap = 0;
    doc->el_count = doc->seg_count = doc->put_count = 0;
    doc->loop_count = doc->lazy_count = 0;
}

static void compact_give(lx_x12_doc *doc, const compact *c)
{
    doc->text = c->text;
    doc->text_cap = c->text_cap;
    doc->els = c->els;
    doc->el_cap = c->el_cap;
    doc->segs = c->segs;
    doc->seg_cap = c->seg_cap;
    doc->puts = c->puts;
    doc->put_cap = c->put_cap;
    doc->loops = c->loops;
    doc->loop_cap = c->loop_cap;
    doc->lazies = c->lazies;
    doc->lazy_cap = c->lazy_cap;
    doc->nodes = c->nodes;
    doc->node_cap = c->node_cap;
}

/* Take the scratch's buffers for doc when they are free (else doc
 * allocates its own as it goes). */
static void borrow(lx_x12_doc *doc, lx_x12_scratch *sc)
{
    if (!sc || !lx_edi_loan_take(&sc->loan))
        return;
    doc->scratch = sc;
    compact_give(doc, &sc->c);
    /* The document owns them until free_compact gives them back. */
    memset(&sc->c, 0, sizeof(sc->c));
}

/* Free the compact form, or give its buffers back to their scratch. */
static void free_compact(lx_x12_doc *doc)
{
    for (size_t i = 0; i < doc->lazy_count; i++)
        json_decref(doc->lazies[i].se);
    compact c;
    compact_take(doc, &c);
    lx_x12_scratch *sc = doc->scratch;
    if (sc) {
        sc->c = c;
        lx_edi_loan_return(&sc->loan);
        lx_x12_scratch_release(&doc->scratch);
    } else {
        compact_free(&c);
    }
}

void lx_x12_doc_destroy(lx_x12_doc **doc)
{
    if (!doc || !*doc)
        return;
    json_decref((*doc)->tree);
    free_compact(*doc);
    free((*doc)->diags);
    free(*doc);
    *doc = NULL;
}

/* A member list of a node being built, made on first use, so that members
 * keep the order they had when each segment was placed directly:
 * "segments", then "loops", "summary". */
static json_t *list_of(json_t *node, json_t **list, const char *name)
{
    if (!*list) {
        *list = json_array();
        json_object_set_new_nocheck(node, name, *list);
    }
    return *list;
}

/* Replay the placements of one transaction body into its JSON. */
static void build_lazy(lx_x12_doc *doc, lx_x12_lazy *lz, lx_edi_intern *t)
{
    if (lz->loop_count + 1 > doc->node_cap) {
        free(doc->nodes);
        doc->node_cap = lz->loop_count + 1;
        doc->nodes = lx_xmalloc(doc->node_cap * sizeof(*doc->nodes));
    }
    lx_x12_build_node *nodes = doc->nodes;
    memset(nodes, 0, (lz->loop_count + 1) * sizeof(*nodes));
    size_t opened = 0;
    nodes[0].node = lz->txn;
    list_of(lz->txn, &nodes[0].segments, "segments");
    for (size_t i = 0; i < lz->seg_count; i++) {
        const lx_x12_cseg *c = &doc->segs[lz->seg_first + i];
        const lx_x12_put *put = &doc->puts[lz->put_first + i];
        if (put->kind == LX_X12_PUT_NONE)
            continue;
        json_t *seg = elements_json(t, c->id, strlen(c->id),
                                    doc->els + c->first, c->count,
                                    &lz->delims, 0);
        lx_x12_build_node *n = &nodes[put->node];
        if (put->kind == LX_X12_PUT_LOOP) {
            const char *id = doc->loops[lz->loop_first + opened].id;
            lx_x12_build_node *lo = &nodes[++opened];
            lo->node = json_object();
            json_object_set_new_nocheck(lo->node, "id",
                                        value_json(t, id, strlen(id)));
            json_array_append_new(list_of(lo->node, &lo->segments,
                                          "segments"),
                                  seg);
            json_array_append_new(list_of(n->node, &n->loops, "loops"),
                                  lo->node);
            continue;
        }
        if (put->kind == LX_X12_PUT_SUMMARY)
            json_array_append_new(list_of(n->node, &n->summary, "summary"),
                                  seg);
        else
            json_array_append_new(
                list_of(n->node, &n->segments, "segments"), seg);
    }
    if (lz->se) {
        json_object_set_new_nocheck(lz->txn, "SE", lz->se);
        lz->se = NULL;
    }
}

static json_t *build_tree(const lx_x12_doc *doc, int shared)
{
    /* The bodies are built on first use; a doc is used by one thread at a
     * time (x12.h), so the cast only completes what the parse deferred. */
    lx_x12_doc *d = (lx_x12_doc *)doc;
    if (d->lazies) {
        /* Values are shared across the whole document (a stack table). */
        lx_edi_intern t;
        lx_edi_intern_init(&t);
        for (size_t i = 0; i < d->lazy_count; i++)
            build_lazy(d, &d->lazies[i], shared ? &t : NULL);
        lx_edi_intern_fini(&t);
        free_compact(d);
    }
    return doc->tree;
}

json_t *lx_x12_doc_tree(const lx_x12_doc *doc)
{
    return build_tree(doc, 1);
}

json_t *lx_x12_doc_tree_unshared(const lx_x12_doc *doc)
{
    return build_tree(doc, 0);
}

size_t lx_x12_doc_diag_count(const lx_x12_doc *doc)
{
    return doc->diag_count;
}

const lx_x12_diag *lx_x12_doc_diag(const lx_x12_doc *doc, size_t i)
{
    LX_ASSERT(i < doc->diag_count);
    return &doc->diags[i];
}

int lx_x12_parse(const char *buf, size_t len, const lx_x12_defs *defs,
                 int flags, lx_x12_doc **out, lx_error *err)
{
    return lx_x12_parse_in(buf, len, defs, flags, NULL, out, err);
}

int lx_x12_parse_in(const char *buf, size_t len, const lx_x12_defs *defs,
                    int flags, lx_x12_scratch *scratch, lx_x12_doc **out,
                    lx_error *err)
{
    LX_ASSERT(out != NULL);
    *out = NULL;
    if (!buf || len == 0)
        return lx_error_set(err, LX_EINVAL, "empty X12 input");

    lx_x12_tokenizer t;
    /* On the stack (1.6 KiB): a large request here would make malloc
     * consolidate the chunks of the tree the caller just freed. */
    lx_x12_segment seg;
    lx_x12_segment *s = &seg;
    parser p;
    int rc = 0;
    memset(&p, 0, sizeof(p));
    p.defs = defs;
    p.doc = lx_xcalloc(1, sizeof(*p.doc));
    p.doc->tree = json_object();
    p.interchanges = json_array();
    json_object_set_new(p.doc->tree, "interchanges", p.interchanges);
    /* The bodies keep views into the input until the tree is built. */
    borrow(p.doc, scratch);
    if (p.doc->text_cap < len) {
        /* With room for the next, slightly longer, transaction sets. */
        free(p.doc->text);
        p.doc->text_cap = p.doc->scratch ? len + len / 4 : len;
        p.doc->text = lx_xmalloc(p.doc->text_cap);
    }
    memcpy(p.doc->text, buf, len);
    lx_x12_tokenizer_init(&t, p.doc->text, len);
    while ((rc = lx_x12_tokenizer_next(&t, s, err)) == 1) {
        rc = on_segment(&p, s, lx_x12_tokenizer_delims(&t), err);
        if (rc < 0)
            break;
    }
    if (rc == 0 && p.state != OUTSIDE) {
        /* A truncated interchange: kept (the writer completes its
         * trailers) with TA1 note 023, premature end of file. */
        lx_x12_diag_add(p.doc, &p.w, LX_X12_LEVEL_INTERCHANGE, "023", NULL,
                        NULL, 0, 0, 0, (long)len,
                        "end of input: missing %s",
                        p.state == IN_ST   ? "SE, GE and IEA"
                        : p.state == IN_GS ? "GE and IEA"
                                           : "IEA");
        if (p.state == IN_ST)
            apply_body(&p);
    }
    if (rc == 0 && json_array_size(p.interchanges) == 0)
        rc = lx_error_set(err, LX_ESYNTAX, "no interchange (ISA) found");
    if (rc == 0 && p.doc->diag_count > 0 && !(flags & LX_X12_PARSE_LENIENT)) {
        const lx_x12_diag *d = &p.doc->diags[0];
        rc = lx_error_set(err, LX_ESCHEMA, "%s", d->msg);
        if (err)
            err->offset = d->offset;
    }
    if (rc < 0) {
        lx_x12_doc_destroy(&p.doc);
        return rc;
    }
    *out = p.doc;
    return 0;
}
