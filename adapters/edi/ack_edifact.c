/* adapters/edi/ack_edifact.c: EDIFACT CONTRL (syntax and service report)
 * from a parsed interchange and its findings (ISO 9735; CONTRL of the
 * D.96A directory, "CONTRL:D:3:UN" for syntax 1-3, "CONTRL:4:1:UN" for
 * syntax 4).
 *
 * The report is built as an interchange tree and written with
 * lx_edifact_generate, which escapes and counts (UNT01, UNZ01). Every
 * CONTRL segment carries references, positions and 0085 codes only. */
#include "adapters/edi/ack.h"

#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tree helpers ------------------------------------------------------- */

/* A simple element: [value]. */
static json_t *el(const char *v)
{
    return json_pack("[s]", v ? v : "");
}

static json_t *el_num(long v)
{
    char b[24];
    snprintf(b, sizeof b, "%ld", v);
    return el(b);
}

/* A composite copied from the received tree, at most `max` components. */
static json_t *el_copy(const json_t *received, size_t max)
{
    json_t *a = json_array();
    size_t i;
    const json_t *c;
    json_array_foreach(received, i, c) {
        if (i >= max)
            break;
        json_array_append_new(a, json_string(json_is_string(c)
                                                 ? json_string_value(c)
                                                 : ""));
    }
    if (json_array_size(a) == 0)
        json_array_append_new(a, json_string(""));
    return a;
}

/* S011 data element identification: element[:component]. */
static json_t *el_s011(int element, int component)
{
    char e[16], c[16];
    snprintf(e, sizeof e, "%d", element);
    snprintf(c, sizeof c, "%d", component);
    return component > 0 ? json_pack("[ss]", e, c) : json_pack("[s]", e);
}

/* The first component of element i of a service segment, "" if none. */
static const char *first(const json_t *elements, size_t i)
{
    const char *v =
        json_string_value(json_array_get(json_array_get(elements, i), 0));
    return v ? v : "";
}

/* Drop trailing empty elements ([""]), as EDIFACT omits them. */
static void trim(json_t *elements)
{
    size_t n = json_array_size(elements);
    while (n > 1) {
        const json_t *e = json_array_get(elements, n - 1);
        if (json_array_size(e) != 1 ||
            json_string_length(json_array_get(e, 0)) != 0)
            break;
        json_array_remove(elements, --n);
    }
}

/* ---- building ----------------------------------------------------------- */

typedef struct ctx {
    const lx_edifact_diags *diags;
    const char *icref;
    json_t *segments; /* of the CONTRL message */
    long pos;         /* of the next segment; UNH = 1 */
    int rejected_ic;  /* UCI or UCF 4: report only what has findings */
    lx_edifact_ack_summary sum;
} ctx;

static void add_segment(ctx *c, const char *tag, json_t *elements)
{
    trim(elements);
    json_array_append_new(c->segments, json_pack("{s:s, s:I, s:o}", "id", tag,
                                                 "pos", (json_int_t)c->pos++,
                                                 "elements", elements));
}

static int same(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

/* The first envelope finding at one level: the interchange (group_ref and
 * message_ref NULL), a group (message_ref NULL) or a message. */
static const lx_edifact_diag *envelope_finding(const ctx *c, const char *gref,
                                               const char *mref)
{
    for (size_t i = 0; c->diags && i < c->diags->count; i++) {
        const lx_edifact_diag *d = &c->diags->items[i];
        if (!d->is_envelope || !same(d->interchange_ref, c->icref))
            continue;
        if (!gref && !mref && d->group_ref[0] == '\0' &&
            d->message_ref[0] == '\0')
            return d;
        if (gref && !mref && same(d->group_ref, gref) &&
            d->message_ref[0] == '\0')
            return d;
        if (gref && mref && same(d->group_ref, gref) &&
            same(d->message_ref, mref))
            return d;
    }
    return NULL;
}

/* The code, service segment tag and S011 of a finding, appended to a
 * UCI/UCF/UCM element list. */
static void add_finding(json_t *elements, const lx_edifact_diag *d)
{
    char code[8];
    snprintf(code, sizeof code, "%d", d->code);
    json_array_append_new(elements, el(code));
    json_array_append_new(elements, el(d->segment_tag));
    if (d->element > 0)
        json_array_append_new(elements, el_s011(d->element, d->component));
}

static int by_position(const void *a, const void *b)
{
    const lx_edifact_diag *x = *(const lx_edifact_diag *const *)a;
    const lx_edifact_diag *y = *(const lx_edifact_diag *const *)b;
    if (x->segment_pos != y->segment_pos)
        return x->segment_pos < y->segment_pos ? -1 : 1;
    if (x->element != y->element)
        return x->element < y->element ? -1 : 1;
    return x->component < y->component ? -1 : (x->component > y->component);
}

/* UCM and its UCS/UCD for one received message. Messages that repeat a
 * reference within the same group share their findings (both are
 * reported rejected rather than one wrongly accepted). */
static void ack_message(ctx *c, const json_t *msg, const char *gref)
{
    const json_t *unh = json_object_get(msg, "UNH");
    const char *mref = first(unh, 0);
    const lx_edifact_diag *env = envelope_finding(c, gref, mref);
    size_t n = 0;
    const lx_edifact_diag **content = NULL;
    if (c->diags && c->diags->count > 0)
        content = lx_xcalloc(c->diags->count, sizeof(*content));
    for (size_t i = 0; c->diags && i < c->diags->count; i++) {
        const lx_edifact_diag *d = &c->diags->items[i];
        if (!d->is_envelope && same(d->interchange_ref, c->icref) &&
            same(d->group_ref, gref) && same(d->message_ref, mref))
            content[n++] = d;
    }
    int rejected = env != NULL || n > 0;
    c->sum.messages++;
    /* Under a rejected interchange or group every message is rejected,
     * listed or not. */
    if (rejected || c->rejected_ic)
        c->sum.rejected++;
    else
        c->sum.accepted++;
    if (c->rejected_ic && !rejected) {
        free(content);
        return;
    }

    json_t *ucm = json_array();
    json_array_append_new(ucm, el(mref));
    json_array_append_new(ucm, el_copy(json_array_get(unh, 1), 5));
    json_array_append_new(ucm, el_num(rejected ? LX_EDIFACT_ACK_REJECTED
                                               : LX_EDIFACT_ACK_ACKNOWLEDGED));
    /* A finding about the whole message (no segment position) is the
     * UCM's own error code. */
    const lx_edifact_diag *own = env;
    for (size_t k = 0; !own && k < n; k++)
        if (content[k]->segment_pos <= 0)
            own = content[k];
    if (own)
        add_finding(ucm, own);
    add_segment(c, "UCM", ucm);

    if (n > 1) /* content is NULL when empty: qsort(NULL) is UB */
        qsort(content, n, sizeof(*content), by_position);
    for (size_t k = 0; k < n;) {
        long pos = content[k]->segment_pos;
        size_t end = k;
        while (end < n && content[end]->segment_pos == pos)
            end++;
        if (pos <= 0) {
            k = end;
            continue;
        }
        /* UCS: the position, and a code when the segment itself is in
         * error (not only its elements). */
        json_t *ucs = json_array();
        json_array_append_new(ucs, el_num(pos));
        for (size_t m = k; m < end; m++)
            if (content[m]->element == 0) {
                json_array_append_new(ucs, el_num(content[m]->code));
                break;
            }
        add_segment(c, "UCS", ucs);
        c->sum.segment_errors++;
        for (size_t m = k; m < end; m++) {
            if (content[m]->element == 0)
                continue;
            json_t *ucd = json_array();
            json_array_append_new(ucd, el_num(content[m]->code));
            json_array_append_new(
                ucd, el_s011(content[m]->element, content[m]->component));
            add_segment(c, "UCD", ucd);
            c->sum.element_errors++;
        }
        k = end;
    }
    free(content);
}

/* Whether a group has a finding of its own or in one of its messages. */
static int group_has_findings(const ctx *c, const char *gref)
{
    for (size_t i = 0; c->diags && i < c->diags->count; i++) {
        const lx_edifact_diag *d = &c->diags->items[i];
        if (same(d->interchange_ref, c->icref) && same(d->group_ref, gref))
            return 1;
    }
    return 0;
}

static void ack_group(ctx *c, const json_t *grp)
{
    const json_t *ung = json_object_get(grp, "UNG");
    const char *gref = first(ung, 4);
    const lx_edifact_diag *env = envelope_finding(c, gref, NULL);
    if (c->rejected_ic && !group_has_findings(c, gref)) {
        size_t i;
        const json_t *m;
        json_array_foreach(json_object_get(grp, "messages"), i, m) {
            (void)m;
            c->sum.messages++;
            c->sum.rejected++;
        }
        return;
    }
    json_t *ucf = json_array();
    json_array_append_new(ucf, el(gref));
    json_array_append_new(ucf, el_copy(json_array_get(ung, 1), 2));
    json_array_append_new(ucf, el_copy(json_array_get(ung, 2), 2));
    json_array_append_new(ucf, el_num(env ? LX_EDIFACT_ACK_REJECTED
                                          : LX_EDIFACT_ACK_ACKNOWLEDGED));
    if (env) {
        add_finding(ucf, env);
        c->sum.groups_rejected++;
    }
    add_segment(c, "UCF", ucf);
    int outer = c->rejected_ic;
    c->rejected_ic = outer || env != NULL;
    size_t i;
    const json_t *m;
    json_array_foreach(json_object_get(grp, "messages"), i, m)
        ack_message(c, m, gref);
    c->rejected_ic = outer;
}

static int bad_ids(lx_error *err, const char *what)
{
    return lx_error_set(err, LX_EINVAL, "edifact ack: %s", what);
}

static int is_digits(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int ref_ok(const char *s)
{
    return s && s[0] != '\0' && strlen(s) <= 14;
}

static json_t *party(const char *id, const char *qual, const json_t *dflt)
{
    if (!id)
        return el_copy(dflt, 5);
    return qual ? json_pack("[ss]", id, qual) : json_pack("[s]", id);
}

int lx_edifact_ack_build(const json_t *received, const lx_edifact_diags *diags,
                         const lx_edifact_ack_ids *ids,
                         lx_edifact_ack_summary *summary, lx_buf *out,
                         lx_error *err)
{
    LX_ASSERT(received != NULL && ids != NULL && out != NULL);
    if (summary)
        memset(summary, 0, sizeof(*summary));
    if (!ref_ok(ids->interchange_ref) || !ref_ok(ids->message_ref))
        return bad_ids(err, "interchange and message references must have "
                            "1 to 14 characters");
    if (!is_digits(ids->date, 8) || !is_digits(ids->time, 4))
        return bad_ids(err, "date must be CCYYMMDD and time HHMM");
    if ((ids->sender_id && strlen(ids->sender_id) > 35) ||
        (ids->recipient_id && strlen(ids->recipient_id) > 35) ||
        (ids->sender_qual && strlen(ids->sender_qual) > 4) ||
        (ids->recipient_qual && strlen(ids->recipient_qual) > 4))
        return bad_ids(err, "party ids have at most 35 characters and "
                            "qualifiers 4");
    const json_t *ic = json_array_get(json_object_get(received,
                                                      "interchanges"),
                                      ids->interchange);
    const json_t *unb = json_object_get(ic, "UNB");
    if (!json_is_array(unb))
        return bad_ids(err, "no such received interchange, or one without "
                            "UNB");

    ctx c;
    memset(&c, 0, sizeof(c));
    c.diags = diags;
    c.icref = first(unb, 4);
    c.segments = json_array();
    c.pos = 2;

    /* UCI: the received interchange, as it was addressed. */
    const lx_edifact_diag *env = envelope_finding(&c, NULL, NULL);
    int action = (ids->flags & LX_EDIFACT_ACK_RECEIPT_ONLY)
                     ? LX_EDIFACT_ACK_RECEIVED
                 : env ? LX_EDIFACT_ACK_REJECTED
                       : LX_EDIFACT_ACK_ACKNOWLEDGED;
    json_t *uci = json_array();
    json_array_append_new(uci, el(c.icref));
    json_array_append_new(uci, el_copy(json_array_get(unb, 1), 3));
    json_array_append_new(uci, el_copy(json_array_get(unb, 2), 3));
    json_array_append_new(uci, el_num(action));
    if (env && action == LX_EDIFACT_ACK_REJECTED)
        add_finding(uci, env);
    add_segment(&c, "UCI", uci);
    c.sum.action = action;
    c.rejected_ic = action == LX_EDIFACT_ACK_REJECTED;

    /* SG1 (messages outside groups) comes before SG3 (groups). */
    size_t i, k;
    const json_t *m, *g;
    if (action != LX_EDIFACT_ACK_RECEIVED) {
        json_array_foreach(json_object_get(ic, "messages"), i, m)
            ack_message(&c, m, "");
        json_array_foreach(json_object_get(ic, "groups"), i, g)
            if (!json_object_get(g, "UNG"))
                json_array_foreach(json_object_get(g, "messages"), k, m)
                    ack_message(&c, m, "");
        json_array_foreach(json_object_get(ic, "groups"), i, g)
            if (json_object_get(g, "UNG"))
                ack_group(&c, g);
    }

    /* The envelope: syntax of the received UNB, parties swapped. */
    const char *version = first(unb, 0);
    const char *syntax =
        json_string_value(json_array_get(json_array_get(unb, 0), 1));
    int v4 = syntax && syntax[0] >= '4' && syntax[0] <= '9';
    json_t *s001 = json_pack("[ss]", version, syntax ? syntax : "3");
    json_t *msg = json_pack(
        "{s:[[s],[ssss]], s:o, s:[[s],[s]]}", "UNH", ids->message_ref,
        "CONTRL", v4 ? "4" : "D", v4 ? "1" : "3", "UN", "segments",
        c.segments, "UNT", "0", ids->message_ref);
    json_t *ack = json_pack(
        "{s:[o,o,o,[ss],[s]], s:[o], s:[[s],[s]]}", "UNB", s001,
        party(ids->sender_id, ids->sender_qual, json_array_get(unb, 2)),
        party(ids->recipient_id, ids->recipient_qual, json_array_get(unb, 1)),
        v4 ? ids->date : ids->date + 2, ids->time, ids->interchange_ref,
        "messages", msg, "UNZ", "1", ids->interchange_ref);
    LX_ASSERT(ack != NULL);
    const char *una = json_string_value(json_object_get(ic, "UNA"));
    if (una)
        json_object_set_new(ack, "UNA", json_string(una));
    json_t *tree = json_pack("{s:[o]}", "interchanges", ack);
    lx_edifact_gen_options opts = {
        NULL, 0, (ids->flags & LX_EDIFACT_ACK_NEWLINE) ? "\n" : NULL, 0};
    int rc = lx_edifact_generate(tree, &opts, out, err);
    json_decref(tree);
    if (rc < 0)
        return rc;
    if (summary)
        *summary = c.sum;
    return 0;
}
