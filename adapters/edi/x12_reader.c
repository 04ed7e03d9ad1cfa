/* adapters/edi/x12_reader.c: X12 transaction sets one at a time from a
 * sliding window over a file or buffer (contract in x12_reader.h). */
#include "adapters/edi/x12_reader.h"

#include "adapters/edi/x12_int.h"
#include "core/mem.h"

#include <stdio.h>
#include <string.h>

enum state { OUTSIDE, IN_ISA, IN_GS, IN_ST };

struct lx_x12_reader {
    const lx_x12_defs *defs;
    int flags;
    /* The source: a file, or a borrowed buffer read chunk by chunk. */
    FILE *fp;
    const char *mem;
    size_t mem_len, mem_pos;
    /* The window: win[0..win_len) holds input bytes base..base+win_len. */
    char *win;
    size_t win_len, win_cap, base;
    int eof;
    size_t chunk_len, max_seg, max_txn;
    lx_x12_tokenizer t;
    lx_x12_segment seg;
    /* Envelope state, as in x12_parse.c. */
    enum state state;
    lx_x12_where w;
    size_t group_count; /* GS read in this interchange */
    size_t txn_count;   /* ST read in this group */
    int seen_isa;
    /* Raw bytes: ISA (+ TA1s), GS, ST.. of the current transaction, and
     * the synthetic trailer "GE*1*<GS06>~IEA*1*<ISA13>~". */
    lx_buf isa, gs, txn, trailer, slice;
    size_t isa_off, txn_off;
    lx_x12_doc *env; /* envelope diagnostics (tree unused) */
    /* Lent to the transaction set handed out (x12_int.h), so that reading
     * one allocates nothing large. */
    lx_x12_scratch *scratch;
    int rc;          /* sticky: an error or LX_ENOTFOUND once ended */
};

static void init_common(lx_x12_reader *r, const lx_x12_defs *defs, int flags,
                        const lx_x12_reader_options *opts)
{
    lx_x12_reader_options o = {0, 0, 0};
    if (opts)
        o = *opts;
    r->defs = defs;
    r->flags = flags;
    r->chunk_len = o.chunk_len ? o.chunk_len : LX_X12_READER_CHUNK_DEFAULT;
    r->max_seg = o.max_segment_len ? o.max_segment_len
                                   : LX_X12_READER_SEGMENT_MAX_DEFAULT;
    /* ISA is read whole (fixed width) and looked past by 2 bytes. */
    if (r->max_seg < LX_X12_ISA_LEN + 2)
        r->max_seg = LX_X12_ISA_LEN + 2;
    r->max_txn = o.max_transaction_len ? o.max_transaction_len
                                       : LX_X12_READER_TRANSACTION_MAX_DEFAULT;
    r->win_cap = r->chunk_len + r->max_seg;
    r->win = lx_xmalloc(r->win_cap);
    lx_x12_tokenizer_init(&r->t, r->win, 0);
    lx_buf_init(&r->isa, 16 * r->max_seg);
    lx_buf_init(&r->gs, r->max_seg);
    lx_buf_init(&r->txn, r->max_txn);
    lx_buf_init(&r->trailer, 2 * r->max_seg);
    lx_buf_init(&r->slice, 0);
    r->scratch = lx_x12_scratch_new();
    r->env = lx_xcalloc(1, sizeof(*r->env));
}

int lx_x12_reader_open_file(const char *path, const lx_x12_defs *defs,
                            int flags, const lx_x12_reader_options *opts,
                            lx_x12_reader **out, lx_error *err)
{
    LX_ASSERT(out != NULL && path != NULL);
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return lx_error_set(err, LX_EIO, "cannot open X12 file '%s'", path);
    lx_x12_reader *r = lx_xcalloc(1, sizeof(*r));
    r->fp = fp;
    init_common(r, defs, flags, opts);
    *out = r;
    return 0;
}

int lx_x12_reader_open_mem(const char *buf, size_t len,
                           const lx_x12_defs *defs, int flags,
                           const lx_x12_reader_options *opts,
                           lx_x12_reader **out, lx_error *err)
{
    LX_ASSERT(out != NULL);
    *out = NULL;
    if (!buf && len > 0)
        return lx_error_set(err, LX_EINVAL, "X12 buffer is NULL");
    lx_x12_reader *r = lx_xcalloc(1, sizeof(*r));
    r->mem = buf ? buf : "";
    r->mem_len = len;
    init_common(r, defs, flags, opts);
    *out = r;
    return 0;
}

void lx_x12_reader_close(lx_x12_reader **rp)
{
    if (!rp || !*rp)
        return;
    lx_x12_reader *r = *rp;
    if (r->fp)
        fclose(r->fp);
    free(r->win);
    lx_buf_fini(&r->isa);
    lx_buf_fini(&r->gs);
    lx_buf_fini(&r->txn);
    lx_buf_fini(&r->trailer);
    lx_buf_fini(&r->slice);
    lx_x12_doc_destroy(&r->env);
    lx_x12_scratch_release(&r->scratch);
    free(r);
    *rp = NULL;
}

size_t lx_x12_reader_envelope_diag_count(const lx_x12_reader *r)
{
    return r->env->diag_count;
}

const lx_x12_diag *lx_x12_reader_envelope_diag(const lx_x12_reader *r,
                                               size_t i)
{
    return lx_x12_doc_diag(r->env, i);
}

size_t lx_x12_reader_offset(const lx_x12_reader *r)
{
    return r->base + r->t.pos;
}

/* ---- the window ------------------------------------------------------ */

/* Drop the consumed bytes win[0..t.pos) and read one chunk after the
 * rest. The tokenizer is rebased onto the moved bytes: its buf, len and
 * pos are the only fields that depend on where the bytes sit. */
static int refill(lx_x12_reader *r, lx_error *err)
{
    size_t keep = r->win_len - r->t.pos;
    if (r->t.pos > 0) {
        memmove(r->win, r->win + r->t.pos, keep);
        r->base += r->t.pos;
        r->win_len = keep;
    }
    size_t room = r->win_cap - r->win_len;
    if (room > r->chunk_len)
        room = r->chunk_len;
    size_t got = 0;
    if (room > 0 && !r->eof) {
        if (r->fp) {
            got = fread(r->win + r->win_len, 1, room, r->fp);
            if (got < room && ferror(r->fp))
                return lx_error_set(err, LX_EIO, "cannot read X12 input");
        } else {
            got = r->mem_len - r->mem_pos;
            if (got > room)
                got = room;
            memcpy(r->win + r->win_len, r->mem + r->mem_pos, got);
            r->mem_pos += got;
        }
        if (got == 0)
            r->eof = 1;
    }
    r->win_len += got;
    r->t.buf = r->win;
    r->t.len = r->win_len;
    r->t.pos = 0;
    return 0;
}

static int rebased(lx_x12_reader *r, int rc, lx_error *err)
{
    if (err && err->offset >= 0)
        err->offset += (long)r->base;
    return rc;
}

/* The next complete segment in r->seg (offset made absolute by the
 * caller through r->base); *start is where this segment's layout began in
 * the window. Returns 1, 0 at the end of the input, or an error. */
static int next_segment(lx_x12_reader *r, size_t *start, lx_error *err)
{
    for (;;) {
        if (!r->eof && r->win_len - r->t.pos < r->max_seg) {
            int rc = refill(r, err);
            if (rc < 0)
                return rc;
        }
        lx_x12_tokenizer saved = r->t;
        *start = r->t.pos;
        int rc = lx_x12_tokenizer_next(&r->t, &r->seg, err);
        if (r->eof)
            return rc < 0 ? rebased(r, rc, err) : rc;
        if (rc == 1 && r->t.pos > *start &&
            r->win[r->t.pos - 1] == r->t.delims.segment)
            return 1;
        /* Cut by the end of the window (or only layout left): read on
         * from where this call began, unless the window is already full
         * from there, which means a segment over max_segment_len. */
        int full = saved.pos == 0 && r->win_len == r->win_cap;
        if (rc == 0 && full)
            continue; /* a long run of layout: keep it consumed */
        r->t = saved;
        if (full) {
            if (rc < 0)
                return rebased(r, rc, err);
            (void)lx_error_set(err, LX_ELIMIT,
                               "segment %zu: longer than %zu bytes",
                               r->t.number + 1, r->max_seg);
            if (err)
                err->offset = (long)r->base;
            return LX_ELIMIT;
        }
        rc = refill(r, err);
        if (rc < 0)
            return rc;
    }
}

/* ---- envelope rules (the same as x12_parse.c) ------------------------ */

static int seg_is(const lx_x12_segment *s, const char *id)
{
    return s->id.len == strlen(id) && memcmp(s->id.ptr, id, s->id.len) == 0;
}

static lx_x12_view elem(const lx_x12_segment *s, size_t i)
{
    lx_x12_view none = {"", 0};
    return i >= 1 && i <= s->element_count ? s->elements[i - 1] : none;
}

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

/* Counts and control numbers compare as numbers when both are digits
 * ("000000905" equals "905"), else byte for byte, as lx_x12_parse does. */
static int same_number(lx_x12_view a, lx_x12_view b)
{
    a = trim(a);
    b = trim(b);
    int digits = a.len > 0 && b.len > 0;
    for (size_t i = 0; digits && i < a.len; i++)
        digits = a.ptr[i] >= '0' && a.ptr[i] <= '9';
    for (size_t i = 0; digits && i < b.len; i++)
        digits = b.ptr[i] >= '0' && b.ptr[i] <= '9';
    if (digits) {
        while (a.len > 1 && a.ptr[0] == '0') {
            a.ptr++;
            a.len--;
        }
        while (b.len > 1 && b.ptr[0] == '0') {
            b.ptr++;
            b.len--;
        }
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

static int structure_error(lx_x12_reader *r, lx_error *err, const char *rule)
{
    const lx_x12_segment *s = &r->seg;
    (void)lx_error_set(err, LX_ESYNTAX, "segment %zu (%.*s): %s", s->number,
                       (int)s->id.len, s->id.ptr, rule);
    if (err)
        err->offset = (long)(r->base + s->offset);
    return LX_ESYNTAX;
}

/* After an envelope diagnostic: without LENIENT, the first one fails. */
static int envelope_verdict(lx_x12_reader *r, size_t before, lx_error *err)
{
    if (r->env->diag_count == before || (r->flags & LX_X12_PARSE_LENIENT))
        return 0;
    const lx_x12_diag *d = &r->env->diags[before];
    (void)lx_error_set(err, LX_ESCHEMA, "%s", d->msg);
    if (err)
        err->offset = d->offset;
    return LX_ESCHEMA;
}

/* ---- one transaction set --------------------------------------------- */

static long map_offset(const lx_x12_reader *r, long off, size_t prefix_len)
{
    if (off < 0)
        return off;
    if ((size_t)off >= prefix_len)
        return (long)(r->txn_off + ((size_t)off - prefix_len));
    return (long)r->isa_off + off;
}

/* Parse ISA (+TA1) + GS + ST..SE (+ trailer unless truncated) and strip
 * the synthetic GE/IEA from the result. */
static int emit(lx_x12_reader *r, int truncated, lx_x12_doc **out,
                lx_error *err)
{
    size_t prefix_len = r->isa.len + r->gs.len;
    size_t body_end = prefix_len + r->txn.len;
    lx_buf_reset(&r->slice);
    if (lx_buf_append(&r->slice, r->isa.data, r->isa.len) < 0 ||
        lx_buf_append(&r->slice, r->gs.data, r->gs.len) < 0 ||
        lx_buf_append(&r->slice, r->txn.data, r->txn.len) < 0 ||
        (!truncated &&
         lx_buf_append(&r->slice, r->trailer.data, r->trailer.len) < 0))
        return lx_error_set(err, LX_ELIMIT, "transaction set too large");
    lx_x12_doc *doc = NULL;
    int rc = lx_x12_parse_in(r->slice.data, r->slice.len, r->defs,
                             LX_X12_PARSE_LENIENT, r->scratch, &doc, err);
    if (rc < 0) {
        if (err)
            err->offset = map_offset(r, err->offset, prefix_len);
        return rc;
    }
    json_t *ichg = json_array_get(json_object_get(doc->tree, "interchanges"),
                                  0);
    json_t *group = json_array_get(json_object_get(ichg, "groups"), 0);
    if (!truncated) {
        json_object_del(ichg, "IEA");
        json_object_del(group, "GE");
    }
    /* Keep the transaction's findings, drop any about the synthetic
     * trailer (none when GS06/ISA13 are well formed). */
    size_t n = 0;
    for (size_t i = 0; i < doc->diag_count; i++) {
        lx_x12_diag d = doc->diags[i];
        if (!truncated && d.offset >= (long)body_end)
            continue;
        d.offset = map_offset(r, d.offset, prefix_len);
        doc->diags[n++] = d;
    }
    doc->diag_count = n;
    if (n > 0 && !(r->flags & LX_X12_PARSE_LENIENT)) {
        (void)lx_error_set(err, LX_ESCHEMA, "%s", doc->diags[0].msg);
        if (err)
            err->offset = doc->diags[0].offset;
        lx_x12_doc_destroy(&doc);
        return LX_ESCHEMA;
    }
    *out = doc;
    return 0;
}

static int append_seg(lx_x12_reader *r, lx_buf *b, size_t from,
                      lx_error *err)
{
    if (lx_buf_append(b, r->win + from, r->t.pos - from) < 0) {
        (void)lx_error_set(err, LX_ELIMIT,
                           "segment %zu (%.*s): transaction set or envelope "
                           "longer than its ceiling",
                           r->seg.number, (int)r->seg.id.len,
                           r->seg.id.ptr);
        if (err)
            err->offset = (long)(r->base + r->seg.offset);
        return LX_ELIMIT;
    }
    return 0;
}

/* "GE*1*<GS06>~IEA*1*<ISA13>~" with the interchange's delimiters. */
static int build_trailer(lx_x12_reader *r, lx_x12_view gs06, lx_error *err)
{
    const lx_x12_delims *d = lx_x12_tokenizer_delims(&r->t);
    char head[8];
    lx_buf_reset(&r->trailer);
    /* ISA13 sits at a fixed place: bytes 90..99 of the raw ISA. */
    lx_x12_view isa13 = {r->isa.data + 90, 9};
    head[0] = 'G';
    head[1] = 'E';
    head[2] = d->element;
    head[3] = '1';
    head[4] = d->element;
    int rc = lx_buf_append(&r->trailer, head, 5);
    if (rc == 0)
        rc = lx_buf_append(&r->trailer, gs06.ptr, gs06.len);
    head[0] = d->segment;
    head[1] = 'I';
    head[2] = 'E';
    head[3] = 'A';
    head[4] = d->element;
    head[5] = '1';
    head[6] = d->element;
    if (rc == 0)
        rc = lx_buf_append(&r->trailer, head, 7);
    if (rc == 0)
        rc = lx_buf_append(&r->trailer, isa13.ptr, isa13.len);
    if (rc == 0)
        rc = lx_buf_append(&r->trailer, &d->segment, 1);
    if (rc < 0)
        return lx_error_set(err, LX_ELIMIT, "GS06 too long");
    return 0;
}

/* One segment through the envelope state machine; *out when an SE closes
 * a transaction set. */
static int on_segment(lx_x12_reader *r, size_t start, lx_x12_doc **out,
                      lx_error *err)
{
    const lx_x12_segment *s = &r->seg;
    long off = (long)(r->base + s->offset);
    size_t before = r->env->diag_count;
    if (r->state == IN_ST && !seg_is(s, "ISA") && !seg_is(s, "IEA") &&
        !seg_is(s, "TA1") && !seg_is(s, "GS") && !seg_is(s, "GE") &&
        !seg_is(s, "ST")) {
        int rc = append_seg(r, &r->txn, start, err);
        if (rc < 0 || !seg_is(s, "SE"))
            return rc;
        r->state = IN_GS;
        r->txn_count++;
        rc = emit(r, 0, out, err);
        r->w.st02[0] = '\0';
        r->w.set[0] = '\0';
        return rc;
    }
    if (seg_is(s, "ISA")) {
        if (r->state != OUTSIDE)
            return structure_error(r, err, "ISA before the IEA of the "
                                           "previous interchange");
        lx_buf_reset(&r->isa);
        int rc = append_seg(r, &r->isa, s->offset, err);
        if (rc < 0)
            return rc;
        r->isa_off = (size_t)off;
        memset(&r->w, 0, sizeof(r->w));
        set_where(r->w.isa13, sizeof(r->w.isa13), elem(s, 13));
        r->group_count = 0;
        r->seen_isa = 1;
        r->state = IN_ISA;
        return 0;
    }
    if (seg_is(s, "IEA")) {
        if (r->state != IN_ISA)
            return structure_error(r, err, r->state == OUTSIDE
                                               ? "IEA outside an interchange"
                                               : "IEA before GE or SE");
        if (!same_count(elem(s, 1), r->group_count))
            lx_x12_diag_add(r->env, &r->w, LX_X12_LEVEL_INTERCHANGE, "021",
                            "IEA", NULL, 0, 0, 0, off,
                            "IEA01: number of included functional groups "
                            "does not match the actual count %zu",
                            r->group_count);
        lx_x12_view isa13 = {r->w.isa13, strlen(r->w.isa13)};
        if (!same_number(elem(s, 2), isa13))
            lx_x12_diag_add(r->env, &r->w, LX_X12_LEVEL_INTERCHANGE, "001",
                            "IEA", NULL, 0, 0, 0, off,
                            "IEA02: interchange control number in header "
                            "(ISA13) and trailer do not match");
        r->state = OUTSIDE;
        return envelope_verdict(r, before, err);
    }
    if (seg_is(s, "TA1")) {
        if (r->state != IN_ISA)
            return structure_error(r, err, "TA1 outside an interchange or "
                                           "inside a functional group");
        return append_seg(r, &r->isa, s->offset, err);
    }
    if (seg_is(s, "GS")) {
        if (r->state != IN_ISA)
            return structure_error(r, err, "GS outside an interchange or "
                                           "before the GE of the previous "
                                           "group");
        lx_buf_reset(&r->gs);
        int rc = append_seg(r, &r->gs, s->offset, err);
        if (rc == 0)
            rc = build_trailer(r, elem(s, 6), err);
        if (rc < 0)
            return rc;
        set_where(r->w.gs06, sizeof(r->w.gs06), elem(s, 6));
        r->group_count++;
        r->txn_count = 0;
        r->state = IN_GS;
        return 0;
    }
    if (seg_is(s, "GE")) {
        if (r->state != IN_GS)
            return structure_error(r, err, "GE outside a functional group "
                                           "or before SE");
        if (!same_count(elem(s, 1), r->txn_count))
            /* X12 716 code 5: included transaction sets do not match. */
            lx_x12_diag_add(r->env, &r->w, LX_X12_LEVEL_GROUP, "5", "GE",
                            NULL, 0, 0, 0, off,
                            "GE01: number of included transaction sets does "
                            "not match the actual count %zu",
                            r->txn_count);
        lx_x12_view gs06 = {r->w.gs06, strlen(r->w.gs06)};
        if (!same_number(elem(s, 2), gs06))
            /* X12 716 code 4: control numbers of GS and GE differ. */
            lx_x12_diag_add(r->env, &r->w, LX_X12_LEVEL_GROUP, "4", "GE",
                            NULL, 0, 0, 0, off,
                            "GE02: group control number in header (GS06) "
                            "and trailer do not match");
        r->w.gs06[0] = '\0';
        r->state = IN_ISA;
        return envelope_verdict(r, before, err);
    }
    if (seg_is(s, "ST")) {
        if (r->state != IN_GS)
            return structure_error(r, err, "ST outside a functional group "
                                           "or before the SE of the "
                                           "previous transaction set");
        lx_buf_reset(&r->txn);
        int rc = append_seg(r, &r->txn, s->offset, err);
        if (rc < 0)
            return rc;
        r->txn_off = (size_t)off;
        set_where(r->w.st02, sizeof(r->w.st02), elem(s, 2));
        set_where(r->w.set, sizeof(r->w.set), elem(s, 1));
        r->state = IN_ST;
        return 0;
    }
    return structure_error(r, err, "segment outside a transaction set");
}

/* The end of the input: a cut transaction set is still handed out (with
 * 023, as lx_x12_parse keeps it); a cut group or interchange is 023. */
static int at_end(lx_x12_reader *r, lx_x12_doc **out, lx_error *err)
{
    size_t total = r->base + r->win_len;
    if (!r->seen_isa)
        return total == 0
                   ? lx_error_set(err, LX_EINVAL, "empty X12 input")
                   : lx_error_set(err, LX_ESYNTAX,
                                  "no interchange (ISA) found");
    if (r->state == IN_ST) {
        r->state = OUTSIDE;
        return emit(r, 1, out, err);
    }
    if (r->state != OUTSIDE) {
        size_t before = r->env->diag_count;
        lx_x12_diag_add(r->env, &r->w, LX_X12_LEVEL_INTERCHANGE, "023", NULL,
                        NULL, 0, 0, 0, (long)total,
                        "end of input: missing %s",
                        r->state == IN_GS ? "GE and IEA" : "IEA");
        r->state = OUTSIDE;
        int rc = envelope_verdict(r, before, err);
        if (rc < 0)
            return rc;
    }
    return LX_ENOTFOUND;
}

int lx_x12_reader_next(lx_x12_reader *r, lx_x12_doc **txn, lx_error *err)
{
    LX_ASSERT(r != NULL && txn != NULL);
    *txn = NULL;
    if (r->rc < 0) {
        if (r->rc == LX_ENOTFOUND)
            return lx_error_set(err, LX_ENOTFOUND, "end of X12 input");
        return lx_error_set(err, r->rc, "X12 reader failed before");
    }
    int rc;
    for (;;) {
        size_t start;
        rc = next_segment(r, &start, err);
        if (rc == 0) {
            rc = at_end(r, txn, err);
            if (rc == LX_ENOTFOUND)
                (void)lx_error_set(err, LX_ENOTFOUND, "end of X12 input");
            break;
        }
        if (rc < 0)
            break;
        rc = on_segment(r, start, txn, err);
        if (rc < 0 || *txn)
            break;
    }
    if (rc < 0)
        r->rc = rc;
    return rc;
}
