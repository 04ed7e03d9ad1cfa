/* adapters/edi/ack_x12.c: X12 997 / 999 and TA1 from a parsed interchange
 * and its diagnostics (ASC X12 005010 997, 005010X231A1 999, X12.5 TA1).
 *
 * The acknowledgement is written directly, segment by segment, rather than
 * through lx_x12_write: TA1 sits between ISA and GS, where the tree has no
 * place for it. Counts (SE01, GE01, IEA01) are kept while writing; the
 * tests parse every acknowledgement back with lx_x12_parse. */
#include "adapters/edi/ack.h"

#include "core/json.h"
#include "core/mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Received control values are at most 9 characters (ISA13, GS06, ST02);
 * longer ones are invalid and kept up to this size only to compare. */
#define FIELD_MAX 40

/* ---- writing ---------------------------------------------------------- */

typedef struct emitter {
    lx_buf *out;
    lx_x12_delims d;
    int newline;
    size_t segs; /* segments since ST, for SE01 */
    int rc;
} emitter;

/* One segment from n element values (NULL or "" = empty); trailing empty
 * elements are not written. */
static void put(emitter *e, const char *id, size_t n, const char *const *v)
{
    if (e->rc < 0)
        return;
    while (n > 0 && (v[n - 1] == NULL || v[n - 1][0] == '\0'))
        n--;
    int rc = lx_buf_puts(e->out, id);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = lx_buf_append(e->out, &e->d.element, 1);
        if (rc == 0 && v[i])
            rc = lx_buf_puts(e->out, v[i]);
    }
    if (rc == 0)
        rc = lx_buf_append(e->out, &e->d.segment, 1);
    if (rc == 0 && e->newline && e->d.segment != '\n')
        rc = lx_buf_append(e->out, "\n", 1);
    e->rc = rc;
    e->segs++;
}

#define PUT(e, id, ...)                                                      \
    put((e), (id), sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *),   \
        (const char *[]){__VA_ARGS__})

/* Whether s can be written as one element with the ack's delimiters. */
static int clean(const lx_x12_delims *d, const char *s)
{
    for (; *s; s++)
        if (*s == d->element || *s == d->component || *s == d->segment ||
            (d->repetition && *s == d->repetition))
            return 0;
    return 1;
}

/* ---- reading the received tree ---------------------------------------- */

/* The trimmed string value of seg[key] into dst ("" when absent or not a
 * simple element). ISA fields are blank-padded, others are not. */
static void field(char dst[FIELD_MAX], const json_t *seg, const char *key)
{
    const char *v = json_string_value(json_object_get(seg, key));
    size_t n = v ? strlen(v) : 0;
    while (n > 0 && *v == ' ') {
        v++;
        n--;
    }
    while (n > 0 && v[n - 1] == ' ')
        n--;
    if (n >= FIELD_MAX)
        n = FIELD_MAX - 1;
    if (n > 0)
        memcpy(dst, v, n);
    dst[n] = '\0';
}

/* Control numbers compared as the parser does: "000000905" is "905". */
static int same_control(const char *a, const char *b)
{
    while (a[0] == '0' && a[1] != '\0')
        a++;
    while (b[0] == '0' && b[1] != '\0')
        b++;
    return strcmp(a, b) == 0;
}

static int is_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* ---- matching diagnostics to the tree --------------------------------- */

typedef struct ctx {
    const lx_x12_doc *doc;
    const lx_x12_ack_ids *ids;
    lx_x12_ack_kind kind;
    emitter e;
    char isa13[FIELD_MAX];
    lx_x12_ack_summary sum;
    lx_error *err;
} ctx;

static int is_txn_level(lx_x12_level l)
{
    return l == LX_X12_LEVEL_TRANSACTION || l == LX_X12_LEVEL_SEGMENT ||
           l == LX_X12_LEVEL_ELEMENT;
}

/* The diagnostics of one transaction set: those that carry its control
 * numbers (ISA13, GS06, ST02). */
static size_t txn_diags(const ctx *c, const char *gs06, const char *st02,
                        size_t *idx)
{
    size_t n = 0;
    for (size_t i = 0; i < lx_x12_doc_diag_count(c->doc); i++) {
        const lx_x12_diag *d = lx_x12_doc_diag(c->doc, i);
        if (is_txn_level(d->level) && same_control(d->isa13, c->isa13) &&
            same_control(d->gs06, gs06) && same_control(d->st02, st02))
            idx[n++] = i;
    }
    return n;
}

/* How many transaction sets share these control numbers (in every
 * interchange with the same ISA13: their diagnostics share the key). The
 * findings of such twins cannot be told apart, so each twin is rejected
 * with AK502 23 (control number not unique within the functional group)
 * and reports the findings of all. */
static size_t txn_twins(const ctx *c, const json_t *tree, const char *gs06,
                        const char *st02)
{
    size_t n = 0, i, g, t;
    json_t *ic, *grp, *txn;
    char v[FIELD_MAX];
    json_array_foreach(json_object_get(tree, "interchanges"), i, ic) {
        field(v, json_object_get(ic, "ISA"), "ISA13");
        if (!same_control(v, c->isa13))
            continue;
        json_array_foreach(json_object_get(ic, "groups"), g, grp) {
            field(v, json_object_get(grp, "GS"), "GS06");
            if (!same_control(v, gs06))
                continue;
            json_array_foreach(json_object_get(grp, "transactions"), t, txn) {
                field(v, json_object_get(txn, "ST"), "ST02");
                n += same_control(v, st02);
            }
        }
    }
    return n;
}

/* AK905 (data element 716) for a group finding. The GE checks are told
 * apart by the trailer element they name, not by the parser's code:
 * 716 has 4 = control number in header and trailer do not agree, 5 =
 * number of included transaction sets does not match actual count. */
static const char *ak9_code(const lx_x12_diag *d)
{
    if (strstr(d->msg, "GE01"))
        return "5";
    if (strstr(d->msg, "GE02"))
        return "4";
    return d->x12_code;
}

/* Add code to a list of at most 5 distinct codes. */
static void add_code(char codes[5][4], size_t *n, const char *code)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(codes[i], code) == 0)
            return;
    if (*n < 5)
        snprintf(codes[(*n)++], 4, "%s", code);
}

/* ---- one transaction set: AK2, AK3/AK4, AK5 --------------------------- */

typedef struct segerr {
    size_t pos;
    const char *id;
    const char *loop;
    const char *code; /* segment code, NULL until one is found */
} segerr;

static char ack_txn(ctx *c, const json_t *tree, const json_t *txn,
                    const char *gs06)
{
    int is999 = c->kind == LX_X12_ACK_999;
    const json_t *st = json_object_get(txn, "ST");
    char st01[FIELD_MAX], st02[FIELD_MAX], st03[FIELD_MAX];
    field(st01, st, "ST01");
    field(st02, st, "ST02");
    field(st03, st, "ST03");
    PUT(&c->e, "AK2", st01, st02, is999 ? st03 : NULL);

    size_t count = lx_x12_doc_diag_count(c->doc);
    size_t *idx = lx_xcalloc(count ? count : 1, sizeof(*idx));
    segerr *segs = lx_xcalloc(count ? count : 1, sizeof(*segs));
    size_t n = txn_diags(c, gs06, st02, idx);
    size_t nsegs = 0;
    char codes[5][4];
    size_t ncodes = 0;
    if (txn_twins(c, tree, gs06, st02) > 1)
        add_code(codes, &ncodes, "23");

    /* One AK3 per segment (position and id) in error, in input order; a
     * segment with only element findings is code 8. */
    for (size_t k = 0; k < n; k++) {
        const lx_x12_diag *d = lx_x12_doc_diag(c->doc, idx[k]);
        if (d->level == LX_X12_LEVEL_TRANSACTION) {
            add_code(codes, &ncodes, d->x12_code);
            continue;
        }
        size_t s = 0;
        while (s < nsegs && !(segs[s].pos == d->segment_pos &&
                              strcmp(segs[s].id, d->segment_id) == 0))
            s++;
        if (s == nsegs) {
            segs[nsegs].pos = d->segment_pos;
            segs[nsegs].id = d->segment_id;
            segs[nsegs].loop = d->loop_id;
            nsegs++;
        }
        if (d->level == LX_X12_LEVEL_SEGMENT && !segs[s].code)
            segs[s].code = d->x12_code;
    }
    for (size_t s = 0; s < nsegs; s++) {
        char pos[24];
        snprintf(pos, sizeof(pos), "%zu", segs[s].pos);
        PUT(&c->e, is999 ? "IK3" : "AK3", segs[s].id, pos, segs[s].loop,
            segs[s].code ? segs[s].code : "8");
        c->sum.segment_errors++;
        for (size_t k = 0; k < n; k++) {
            const lx_x12_diag *d = lx_x12_doc_diag(c->doc, idx[k]);
            if (d->level != LX_X12_LEVEL_ELEMENT ||
                d->segment_pos != segs[s].pos ||
                strcmp(d->segment_id, segs[s].id) != 0)
                continue;
            /* AK401/IK401 is C030: element position, component position.
             * AK402 (data element reference number) is not known to the
             * dictionary; AK404/IK404 (copy of the bad value) is optional
             * and never written: values are personal data. */
            char c030[48];
            if (d->component_pos)
                snprintf(c030, sizeof(c030), "%zu%c%zu", d->element_pos,
                         c->e.d.component, d->component_pos);
            else
                snprintf(c030, sizeof(c030), "%zu", d->element_pos);
            PUT(&c->e, is999 ? "IK4" : "AK4", c030, "", d->x12_code);
            c->sum.element_errors++;
        }
    }

    /* AK5/IK5 (data element 717; codes 718). */
    if (!json_object_get(txn, "SE"))
        add_code(codes, &ncodes, "2"); /* transaction set trailer missing */
    char status = ncodes > 0 ? 'R' : 'A';
    if (nsegs > 0) {
        if (status == 'A')
            status = (c->ids->flags & LX_X12_ACK_ACCEPT_WITH_ERRORS) ? 'E'
                                                                     : 'R';
        add_code(codes, &ncodes, "5"); /* one or more segments in error */
    }
    char code[2] = {status, '\0'};
    PUT(&c->e, is999 ? "IK5" : "AK5", code, ncodes > 0 ? codes[0] : NULL,
        ncodes > 1 ? codes[1] : NULL, ncodes > 2 ? codes[2] : NULL,
        ncodes > 3 ? codes[3] : NULL, ncodes > 4 ? codes[4] : NULL);
    free(segs);
    free(idx);
    return status;
}

/* ---- one functional group: ST 997/999 .. SE ---------------------------- */

static void ack_group(ctx *c, const json_t *tree, const json_t *grp,
                      uint64_t st02_num)
{
    int is999 = c->kind == LX_X12_ACK_999;
    const json_t *gs = json_object_get(grp, "GS");
    char gs01[FIELD_MAX], gs06[FIELD_MAX], gs08[FIELD_MAX], st02[24];
    field(gs01, gs, "GS01");
    field(gs06, gs, "GS06");
    field(gs08, gs, "GS08");
    snprintf(st02, sizeof(st02), "%04" PRIu64, st02_num);

    c->e.segs = 0;
    PUT(&c->e, "ST", is999 ? "999" : "997", st02,
        is999 ? "005010X231A1" : NULL);
    PUT(&c->e, "AK1", gs01, gs06, gs08);

    size_t t, received = 0, accepted = 0;
    int with_errors = 0;
    json_t *txn;
    json_array_foreach(json_object_get(grp, "transactions"), t, txn) {
        char s = ack_txn(c, tree, txn, gs06);
        received++;
        if (s == 'R') {
            c->sum.sets_rejected++;
        } else {
            accepted++;
            with_errors |= s == 'E';
        }
    }

    /* AK9 (data element 715; codes 716). */
    char codes[5][4];
    size_t ncodes = 0;
    for (size_t i = 0; i < lx_x12_doc_diag_count(c->doc); i++) {
        const lx_x12_diag *d = lx_x12_doc_diag(c->doc, i);
        if (d->level == LX_X12_LEVEL_GROUP &&
            same_control(d->isa13, c->isa13) && same_control(d->gs06, gs06))
            add_code(codes, &ncodes, ak9_code(d));
    }
    if (!json_object_get(grp, "GE"))
        add_code(codes, &ncodes, "3"); /* functional group trailer missing */
    char status = ncodes > 0                  ? 'R'
                  : received == 0             ? 'A'
                  : accepted == 0             ? 'R'
                  : accepted < received       ? 'P'
                  : with_errors               ? 'E'
                                              : 'A';
    /* AK902 is what the sender declared (GE01), AK903 what arrived. */
    char ge01[FIELD_MAX], included[24], rcvd[24], acc[24];
    field(ge01, json_object_get(grp, "GE"), "GE01");
    if (ge01[0] && strlen(ge01) <= 6 && is_digits(ge01, strlen(ge01)))
        snprintf(included, sizeof(included), "%s", ge01);
    else
        snprintf(included, sizeof(included), "%zu", received);
    while (included[0] == '0' && included[1] != '\0')
        memmove(included, included + 1, strlen(included));
    snprintf(rcvd, sizeof(rcvd), "%zu", received);
    snprintf(acc, sizeof(acc), "%zu", accepted);
    char code[2] = {status, '\0'};
    PUT(&c->e, "AK9", code, included, rcvd, acc, ncodes > 0 ? codes[0] : NULL,
        ncodes > 1 ? codes[1] : NULL, ncodes > 2 ? codes[2] : NULL,
        ncodes > 3 ? codes[3] : NULL, ncodes > 4 ? codes[4] : NULL);

    char se01[24];
    snprintf(se01, sizeof(se01), "%zu", c->e.segs + 1);
    PUT(&c->e, "SE", se01, st02);

    c->sum.groups++;
    c->sum.sets_received += received;
    c->sum.sets_accepted += accepted;
    if (status == 'R')
        c->sum.groups_rejected++;
    else if (status == 'P')
        c->sum.groups_partial++;
    else
        c->sum.groups_accepted++;
}

/* ---- the interchange --------------------------------------------------- */

/* TA104/TA105 from the interchange findings (note codes, data element
 * I18): a truncated interchange (023) or any other note rejects it; a
 * control number (001) or group count (021) mismatch is accepted with
 * errors, the header value being the one acknowledged. */
static char ta1_status(const ctx *c, char note[4])
{
    char status = 0;
    snprintf(note, 4, "000");
    for (size_t i = 0; i < lx_x12_doc_diag_count(c->doc); i++) {
        const lx_x12_diag *d = lx_x12_doc_diag(c->doc, i);
        if (d->level != LX_X12_LEVEL_INTERCHANGE ||
            !same_control(d->isa13, c->isa13))
            continue;
        int reject = strcmp(d->x12_code, "001") != 0 &&
                     strcmp(d->x12_code, "021") != 0;
        if (status == 'R' || (status == 'E' && !reject))
            continue;
        status = reject ? 'R' : 'E';
        snprintf(note, 4, "%s", d->x12_code);
    }
    return status;
}

static int bad_ids(lx_error *err, const char *what)
{
    return lx_error_set(err, LX_EINVAL, "x12 ack: %s", what);
}

/* "ZZ" and "SENDER" into a checked qualifier and a 15-wide id. */
static int party(const ctx *c, const char *qual, const char *id,
                 char q[FIELD_MAX], char padded[16], const char *what)
{
    if (strlen(qual) != 2 || strlen(id) == 0 || strlen(id) > 15 ||
        !clean(&c->e.d, qual) || !clean(&c->e.d, id))
        return lx_error_set(c->err, LX_EINVAL,
                            "x12 ack: %s qualifier must have 2 characters "
                            "and id 1 to 15, without delimiters",
                            what);
    snprintf(q, FIELD_MAX, "%s", qual);
    snprintf(padded, 16, "%-15s", id);
    return 0;
}

int lx_x12_ack_build(const lx_x12_doc *received, lx_x12_ack_kind kind,
                     const lx_x12_ack_ids *ids, lx_x12_ack_summary *summary,
                     lx_buf *out, lx_error *err)
{
    LX_ASSERT(received != NULL && ids != NULL && out != NULL);
    LX_ASSERT(kind == LX_X12_ACK_997 || kind == LX_X12_ACK_999);
    if (summary)
        memset(summary, 0, sizeof(*summary));
    if (ids->isa13 < 1 || ids->isa13 > LX_X12_ACK_CONTROL_MAX ||
        ids->gs06 < 1 || ids->gs06 > LX_X12_ACK_CONTROL_MAX ||
        ids->st02_first > LX_X12_ACK_CONTROL_MAX)
        return bad_ids(err, "ISA13, GS06 and ST02 must be 1 to 999999999");
    if (!ids->date || !is_digits(ids->date, 8) || !ids->time ||
        !is_digits(ids->time, 4))
        return bad_ids(err, "date must be CCYYMMDD and time HHMM");
    if (ids->test_indicator && ids->test_indicator != 'T' &&
        ids->test_indicator != 'P')
        return bad_ids(err, "test indicator must be T or P");

    const json_t *tree = lx_x12_doc_tree(received);
    const json_t *ichg =
        json_array_get(json_object_get(tree, "interchanges"),
                       ids->interchange);
    const json_t *isa = json_object_get(ichg, "ISA");
    if (!isa)
        return bad_ids(err, "no such received interchange");

    ctx c;
    memset(&c, 0, sizeof(c));
    c.doc = received;
    c.ids = ids;
    c.kind = kind;
    c.err = err;
    c.e.out = out;
    c.e.d = ids->delims ? *ids->delims : lx_x12_delims_default;
    c.e.newline = (ids->flags & LX_X12_ACK_NEWLINE) != 0;
    field(c.isa13, isa, "ISA13");

    /* What is to be sent: a TA1, and the groups that are not themselves
     * acknowledgements (X12 does not acknowledge acknowledgements). */
    char note[4], isa14[FIELD_MAX];
    field(isa14, isa, "ISA14");
    char ta1 = ta1_status(&c, note);
    if (!ta1 && (strcmp(isa14, "1") == 0 ||
                 (ids->flags & LX_X12_ACK_TA1_ALWAYS)))
        ta1 = 'A';
    const json_t *groups = json_object_get(ichg, "groups");
    const json_t *first = NULL, *grp;
    size_t g, acked = 0;
    char v[FIELD_MAX];
    json_array_foreach(groups, g, grp) {
        field(v, json_object_get(grp, "GS"), "GS01");
        if (strcmp(v, "FA") != 0) {
            acked++;
            if (!first)
                first = grp;
        }
    }
    if (!ta1 && acked == 0)
        return 0;
    if (ids->st02_first + acked > LX_X12_ACK_CONTROL_MAX + 1)
        return bad_ids(err, "ST02 beyond 999999999");

    /* The envelope: the received receiver is the ack's sender. */
    char r05[FIELD_MAX], r06[FIELD_MAX], r07[FIELD_MAX], r08[FIELD_MAX];
    char sq[FIELD_MAX], rq[FIELD_MAX], sid[16], rid[16];
    field(r05, isa, "ISA05");
    field(r06, isa, "ISA06");
    field(r07, isa, "ISA07");
    field(r08, isa, "ISA08");
    int rc = party(&c, ids->sender_qual ? ids->sender_qual : r07,
                   ids->sender_id ? ids->sender_id : r08, sq, sid, "sender");
    if (rc == 0)
        rc = party(&c, ids->receiver_qual ? ids->receiver_qual : r05,
                   ids->receiver_id ? ids->receiver_id : r06, rq, rid,
                   "receiver");
    if (rc < 0)
        return rc;
    char gs02[FIELD_MAX], gs03[FIELD_MAX];
    field(gs02, json_object_get(first, "GS"), "GS03");
    field(gs03, json_object_get(first, "GS"), "GS02");
    if (ids->gs02)
        snprintf(gs02, sizeof(gs02), "%s", ids->gs02);
    if (ids->gs03)
        snprintf(gs03, sizeof(gs03), "%s", ids->gs03);
    char test[2] = {ids->test_indicator, '\0'};
    if (!test[0]) {
        field(v, isa, "ISA15");
        test[0] = v[0] == 'T' ? 'T' : 'P';
    }

    /* Every received value copied into the ack must fit its delimiters. */
    json_array_foreach(groups, g, grp) {
        static const char *const gkeys[] = {"GS01", "GS06", "GS08"};
        for (size_t k = 0; k < 3; k++) {
            field(v, json_object_get(grp, "GS"), gkeys[k]);
            if (!clean(&c.e.d, v))
                return bad_ids(err, "a received GS value holds a delimiter "
                                    "of the acknowledgement");
        }
        size_t t;
        json_t *txn;
        json_array_foreach(json_object_get(grp, "transactions"), t, txn) {
            static const char *const tkeys[] = {"ST01", "ST02", "ST03"};
            for (size_t k = 0; k < 3; k++) {
                field(v, json_object_get(txn, "ST"), tkeys[k]);
                if (!clean(&c.e.d, v))
                    return bad_ids(err, "a received ST value holds a "
                                        "delimiter of the acknowledgement");
            }
        }
    }
    char r09[FIELD_MAX], r10[FIELD_MAX];
    field(r09, isa, "ISA09");
    field(r10, isa, "ISA10");
    if (!clean(&c.e.d, c.isa13) || !clean(&c.e.d, r09) ||
        !clean(&c.e.d, r10) || !clean(&c.e.d, gs02) || !clean(&c.e.d, gs03))
        return bad_ids(err, "a received envelope value holds a delimiter of "
                            "the acknowledgement");

    char isa13[16], gs06[24], yymmdd[8], rep[2] = {c.e.d.repetition, '\0'};
    char comp[2] = {c.e.d.component, '\0'};
    snprintf(isa13, sizeof(isa13), "%09" PRIu64, ids->isa13);
    snprintf(gs06, sizeof(gs06), "%" PRIu64, ids->gs06);
    snprintf(yymmdd, sizeof(yymmdd), "%s", ids->date + 2);
    PUT(&c.e, "ISA", "00", "          ", "00", "          ", sq, sid, rq, rid,
        yymmdd, ids->time, rep[0] ? rep : "U", "00501", isa13, "0", test,
        comp);
    if (ta1) {
        char st[2] = {ta1, '\0'}, r13[16];
        snprintf(r13, sizeof(r13), "%09d", 0);
        size_t n = strlen(c.isa13);
        if (n <= 9)
            memcpy(r13 + 9 - n, c.isa13, n);
        PUT(&c.e, "TA1", n <= 9 ? r13 : c.isa13, r09, r10, st, note);
        c.sum.ta1 = ta1;
    }
    if (acked > 0) {
        PUT(&c.e, "GS", "FA", gs02, gs03, ids->date, ids->time, gs06, "X",
            kind == LX_X12_ACK_999 ? "005010X231A1" : "005010");
        uint64_t st02 = ids->st02_first ? ids->st02_first : 1;
        json_array_foreach(groups, g, grp) {
            field(v, json_object_get(grp, "GS"), "GS01");
            if (strcmp(v, "FA") != 0)
                ack_group(&c, tree, grp, st02++);
        }
        char ge01[24];
        snprintf(ge01, sizeof(ge01), "%zu", acked);
        PUT(&c.e, "GE", ge01, gs06);
    }
    PUT(&c.e, "IEA", acked > 0 ? "1" : "0", isa13);
    if (c.e.rc < 0)
        return lx_error_set(err, c.e.rc,
                            "x12 ack: output exceeds its ceiling");
    if (summary)
        *summary = c.sum;
    return 0;
}
