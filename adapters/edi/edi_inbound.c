/* adapters/edi/edi_inbound.c: see edi_inbound.h. */
#include "adapters/edi/edi_inbound.h"
#include "adapters/edi/ack_received.h"
#include "adapters/edi/ack.h"
#include "adapters/transport/outbox.h"
#include "canonical/ingest.h"
#include "core/buf.h"
#include "core/id.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"

#include <pthread.h>
#include <string.h>

/* ---- storing the records: submitted together, waited for together ---- */

typedef struct sink {
    const lx_edi_inbound_options *o;
    lx_edi_outcome *out;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t pending;
    lx_error first; /* the first refusal */
} sink;

static void stored(void *ctx, const lx_upsert_result *res)
{
    sink *k = ctx;
    pthread_mutex_lock(&k->mu);
    if (res->code != 0) {
        k->out->refused++;
        if (k->first.code == 0)
            k->first = res->err;
    } else if (res->unchanged) {
        k->out->unchanged++;
    } else if (res->created) {
        k->out->created++;
    } else {
        k->out->updated++;
    }
    k->pending--;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
}

static int on_record(void *ctx, const char *entity, const char *native_type,
                     const char *native_id, json_t *record)
{
    sink *k = ctx;
    k->out->records++;
    lx_upsert u = {.entity = entity,
                   .system = k->o->system,
                   .adapter = k->o->adapter,
                   .native_type = native_type,
                   .native_id = native_id && *native_id ? native_id : NULL,
                   .record = record,
                   .note = k->out->standard[0] == 'X'
                               ? "{\"transport\":\"edi\",\"standard\":\"X12\"}"
                               : "{\"transport\":\"edi\",\"standard\":"
                                 "\"EDIFACT\"}"};
    lx_error err;
    lx_error_clear(&err);
    pthread_mutex_lock(&k->mu);
    k->pending++;
    pthread_mutex_unlock(&k->mu);
    if (lx_ingest_submit(k->o->store, k->o->registry, &u, stored, k, &err) !=
        0) {
        pthread_mutex_lock(&k->mu);
        k->pending--;
        k->out->refused++;
        if (k->first.code == 0) {
            /* Named by position, not by its id: ids are personal data. */
            k->first = err;
            lx_error_prefix(&k->first, "%s record %zu (from %s)", entity,
                            k->out->records, native_type);
        }
        pthread_mutex_unlock(&k->mu);
    }
    return 0;
}

static void wait_all(sink *k)
{
    pthread_mutex_lock(&k->mu);
    while (k->pending)
        pthread_cond_wait(&k->cv, &k->mu);
    pthread_mutex_unlock(&k->mu);
}

/* ---- acknowledgements ---- */

/* Counters are per partner when there is one: the acks and the outbound
 * interchanges to that partner then never share a control number. */
static int next_number(const lx_edi_inbound_options *o, const char *what,
                       uint64_t *v, lx_error *err)
{
    char name[LX_STORE_KEY_MAX];
    snprintf(name, sizeof(name), "%s/%s", what,
             o->partner ? o->partner->name : o->system);
    return lx_store_counter_next(o->store, name, 1, 999999999, v, err);
}

static int write_ack(const lx_edi_inbound_options *o, const char *base,
                     const lx_buf *b, lx_edi_outcome *out, lx_error *err)
{
    return lx_outbox_write(o->ack_outbox, base, b->data, b->len,
                           out->ack_path, sizeof(out->ack_path), err);
}

/* The TA1 alone (a partner that asked for interchange acknowledgements
 * only): ISA, TA1, IEA with no group. The note is the first
 * interchange-level finding (001 control number mismatch, 021 group
 * count; TA104 E), else 000 and A. */
static json_t *ta1_tree(const lx_edi_inbound_options *o, const lx_x12_doc *doc,
                        const json_t *ichg, uint64_t isa13, const char *date,
                        const char *hhmm)
{
    const lx_edi_partner *p = o->partner;
    const json_t *risa = json_object_get(ichg, "ISA");
    const char *r13 = lx_json_str(risa, "ISA13");
    const char *note = "000", *status = "A";
    for (size_t i = 0; r13 && i < lx_x12_doc_diag_count(doc); i++) {
        const lx_x12_diag *d = lx_x12_doc_diag(doc, i);
        if (d->level == LX_X12_LEVEL_INTERCHANGE &&
            strtoull(d->isa13, NULL, 10) == strtoull(r13, NULL, 10)) {
            note = d->x12_code;
            status = strcmp(note, "023") == 0 ? "R" : "E";
            break;
        }
    }
    char n13[16], rep[2] = {p->x12_delims.repetition, 0},
                  comp[2] = {p->x12_delims.component, 0};
    snprintf(n13, sizeof(n13), "%09llu", (unsigned long long)isa13);
    json_t *isa = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,"
        "s:s}",
        "id", "ISA", "ISA01", "00", "ISA02", "", "ISA03", "00", "ISA04", "",
        "ISA05", p->x12_ours.qualifier, "ISA06", p->x12_ours.id, "ISA07",
        p->x12_theirs.qualifier, "ISA08", p->x12_theirs.id, "ISA09", date + 2,
        "ISA10", hhmm, "ISA11", rep, "ISA12", "00501", "ISA13", n13, "ISA14",
        "0", "ISA15", p->test ? "T" : "P", "ISA16", comp);
    json_t *ta1 = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "id", "TA1", "TA101",
                            r13 ? r13 : "", "TA102",
                            lx_json_str(risa, "ISA09") ? lx_json_str(risa, "ISA09") : "",
                            "TA103",
                            lx_json_str(risa, "ISA10") ? lx_json_str(risa, "ISA10") : "",
                            "TA104", status, "TA105", note);
    return json_pack("{s:[{s:o,s:[o],s:[]}]}", "interchanges", "ISA", isa,
                     "TA1", ta1, "groups");
}

static int ack_x12(const lx_edi_inbound_options *o, const lx_x12_doc *doc,
                   lx_edi_outcome *out, lx_error *err)
{
    const lx_edi_partner *p = o->partner;
    bool want_999, want_ta1 = false;
    if (p) {
        if (p->x12_ack == LX_EDI_ACK_NONE)
            return 0;
        want_999 = p->x12_ack == LX_EDI_ACK_999;
        want_ta1 = p->x12_ack == LX_EDI_ACK_TA1;
    } else {
        want_999 = strcmp(o->ack, "999") == 0;
        if (!want_999 && strcmp(o->ack, "997") != 0)
            return 0;
    }
    json_t *ichgs = json_object_get(lx_x12_doc_tree(doc), "interchanges");
    char date[9], hhmm[5];
    lx_edi_envelope_now(date, hhmm);
    for (size_t i = 0; i < json_array_size(ichgs); i++) {
        uint64_t isa13 = 0, gs06 = 0;
        int rc = next_number(o, "x12-isa13", &isa13, err);
        if (!want_ta1)
            rc = rc ? rc : next_number(o, "x12-gs06", &gs06, err);
        if (rc != 0)
            return rc;
        lx_x12_ack_ids ids = {.interchange = i, .isa13 = isa13, .gs06 = gs06,
                              .date = date, .time = hhmm,
                              /* Not ACCEPT_WITH_ERRORS: a set with any
                               * finding is not stored (x12_accepted), so
                               * the ack must say rejected (R), not "E". */
                              .flags = LX_X12_ACK_NEWLINE};
        if (p) {
            ids.sender_qual = p->x12_ours.qualifier;
            ids.sender_id = p->x12_ours.id;
            ids.receiver_qual = p->x12_theirs.qualifier;
            ids.receiver_id = p->x12_theirs.id;
            ids.gs02 = p->x12_ours.application;
            ids.gs03 = p->x12_theirs.application;
            ids.test_indicator = p->test ? 'T' : 'P';
            ids.delims = &p->x12_delims;
        }
        lx_buf b;
        lx_buf_init(&b, 64u << 20);
        const char *kind = want_ta1 ? "TA1" : want_999 ? "999" : "997";
        if (want_ta1) {
            json_t *t = ta1_tree(o, doc, json_array_get(ichgs, i), isa13,
                                 date, hhmm);
            rc = lx_x12_write(t, &p->x12_delims, LX_X12_WRITE_NEWLINE, &b,
                              err);
            json_decref(t);
        } else {
            rc = lx_x12_ack_build(doc,
                                  want_999 ? LX_X12_ACK_999 : LX_X12_ACK_997,
                                  &ids, NULL, &b, err);
        }
        char base[128];
        if (p)
            snprintf(base, sizeof(base), "%s-%09llu-%s.x12", p->name,
                     (unsigned long long)isa13, kind);
        else
            snprintf(base, sizeof(base), "%s-%09llu.x12", kind,
                     (unsigned long long)isa13);
        if (rc == 0 && b.len > 0)
            rc = write_ack(o, base, &b, out, err);
        lx_buf_fini(&b);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int ack_edifact(const lx_edi_inbound_options *o, const json_t *tree,
                       const lx_edifact_diags *diags, lx_edi_outcome *out,
                       lx_error *err)
{
    if (o->partner ? o->partner->edifact_ack != LX_EDI_ACK_CONTRL
                   : strcmp(o->ack, "contrl") != 0 &&
                         strcmp(o->ack, "CONTRL") != 0)
        return 0;
    json_t *ichgs = json_object_get(tree, "interchanges");
    char date[9], hhmm[5];
    lx_edi_envelope_now(date, hhmm);
    for (size_t i = 0; i < json_array_size(ichgs); i++) {
        uint64_t ref = 0;
        int rc = next_number(o, "edifact-unb", &ref, err);
        if (rc != 0)
            return rc;
        char iref[16], mref[16];
        snprintf(iref, sizeof(iref), "%llu", (unsigned long long)ref);
        snprintf(mref, sizeof(mref), "C%llu", (unsigned long long)ref);
        lx_edifact_ack_ids ids = {.interchange = i, .interchange_ref = iref,
                                  .message_ref = mref, .date = date,
                                  .time = hhmm,
                                  .flags = LX_EDIFACT_ACK_NEWLINE};
        if (o->partner) {
            const lx_edi_partner *p = o->partner;
            ids.sender_id = p->edifact_ours.id;
            ids.sender_qual = p->edifact_ours.qualifier[0]
                                  ? p->edifact_ours.qualifier
                                  : NULL;
            ids.recipient_id = p->edifact_theirs.id;
            ids.recipient_qual = p->edifact_theirs.qualifier[0]
                                     ? p->edifact_theirs.qualifier
                                     : NULL;
        }
        lx_buf b;
        lx_buf_init(&b, 64u << 20);
        rc = lx_edifact_ack_build(tree, diags, &ids, NULL, &b, err);
        char base[128];
        if (o->partner)
            snprintf(base, sizeof(base), "%s-%09llu-CONTRL.edi",
                     o->partner->name, (unsigned long long)ref);
        else
            snprintf(base, sizeof(base), "CONTRL-%s.edi", iref);
        if (rc == 0)
            rc = write_ack(o, base, &b, out, err);
        lx_buf_fini(&b);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- rejecting transactions with findings ---- */

static const char *seg_member(const json_t *seg, const char *name)
{
    return lx_json_str(seg, name);
}

static bool x12_rejected(const lx_x12_doc *doc, const char *isa13,
                         const char *gs06, const char *st02)
{
    for (size_t i = 0; i < lx_x12_doc_diag_count(doc); i++) {
        const lx_x12_diag *d = lx_x12_doc_diag(doc, i);
        if (d->level >= LX_X12_LEVEL_TRANSACTION && st02 &&
            strcmp(d->st02, st02) == 0 && (!gs06 || strcmp(d->gs06, gs06) == 0)
            && (!isa13 || strcmp(d->isa13, isa13) == 0))
            return true;
    }
    return false;
}

/* A copy of obj in which the lists the filters below edit are copies:
 * under each key of levels[0] the list is copied and each of its objects
 * copied as levels + 1 says; past the last level the items are shared
 * with obj (json_incref). Why: the acknowledgment needs the whole parsed
 * tree and the mappings the accepted part; a deep copy built every
 * transaction set / message a second time (and unshared its values),
 * while the filters only remove list items. Nothing edits the shared
 * transactions in place before the acknowledgment is built. */
static json_t *copy_lists(const json_t *obj, const char *const *const *levels)
{
    json_t *c = json_copy((json_t *)obj);
    for (const char *const *k = levels[0]; *k; k++) {
        const json_t *list = json_object_get(obj, *k);
        if (!json_is_array(list))
            continue;
        json_t *copy = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v)
        {
            json_array_append_new(copy, levels[1] && json_is_object(v)
                                            ? copy_lists(v, levels + 1)
                                            : json_incref(v));
        }
        json_object_set_new(c, *k, copy);
    }
    return c;
}

/* A copy of the tree without the rejected transaction sets. */
static json_t *x12_accepted(const lx_x12_doc *doc, lx_edi_outcome *out)
{
    static const char *const root[] = {"interchanges", NULL};
    static const char *const ichg_lists[] = {"groups", NULL};
    static const char *const group_lists[] = {"transactions", NULL};
    static const char *const *const levels[] = {root, ichg_lists,
                                                group_lists, NULL};
    json_t *tree = copy_lists(lx_x12_doc_tree(doc), levels);
    size_t i, g;
    json_t *ichg, *grp;
    json_array_foreach(json_object_get(tree, "interchanges"), i, ichg)
    {
        const char *isa13 = seg_member(json_object_get(ichg, "ISA"), "ISA13");
        json_array_foreach(json_object_get(ichg, "groups"), g, grp)
        {
            const char *gs06 = seg_member(json_object_get(grp, "GS"), "GS06");
            json_t *txns = json_object_get(grp, "transactions");
            for (size_t t = json_array_size(txns); t-- > 0;) {
                json_t *txn = json_array_get(txns, t);
                out->transactions++;
                const char *st02 =
                    seg_member(json_object_get(txn, "ST"), "ST02");
                if (x12_rejected(doc, isa13, gs06, st02)) {
                    out->rejected++;
                    json_array_remove(txns, t);
                }
            }
        }
    }
    return tree;
}

static const char *message_ref(const json_t *msg)
{
    json_t *unh = json_object_get(msg, "UNH");
    json_t *first = json_array_get(unh, 0);
    if (json_is_array(first))
        first = json_array_get(first, 0);
    return json_is_string(first) ? json_string_value(first) : NULL;
}

/* Element `pos` (0-based) of an envelope segment (UNB, UNG) as the tree
 * holds it: a string, or the first component of a composite. */
static const char *envelope_ref(const json_t *seg, size_t pos)
{
    json_t *v = json_array_get(seg, pos);
    if (json_is_array(v))
        v = json_array_get(v, 0);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* An envelope finding about an interchange (group_ref NULL) or a group
 * as a whole, not one of its messages: the CONTRL rejects all of it
 * (UCI/UCF action 4), so none of its messages may be stored. */
static bool edifact_envelope_rejected(const lx_edifact_diags *diags,
                                      const char *ichg_ref,
                                      const char *group_ref)
{
    for (size_t i = 0; i < diags->count; i++) {
        const lx_edifact_diag *d = &diags->items[i];
        if (!d->is_envelope || d->message_ref[0])
            continue;
        if (d->interchange_ref[0] && ichg_ref &&
            strcmp(d->interchange_ref, ichg_ref) != 0)
            continue;
        if (!group_ref ? !d->group_ref[0]
                       : strcmp(d->group_ref, group_ref) == 0)
            return true;
    }
    return false;
}

static void edifact_filter(json_t *messages, const lx_edifact_diags *diags,
                           bool whole, lx_edi_outcome *out)
{
    for (size_t m = json_array_size(messages); m-- > 0;) {
        const char *ref = message_ref(json_array_get(messages, m));
        out->transactions++;
        bool bad = whole;
        for (size_t i = 0; ref && i < diags->count && !bad; i++)
            bad = diags->items[i].message_ref[0] &&
                  strcmp(diags->items[i].message_ref, ref) == 0;
        if (bad) {
            out->rejected++;
            json_array_remove(messages, m);
        }
    }
}

static json_t *edifact_accepted(const json_t *parsed,
                                const lx_edifact_diags *diags,
                                lx_edi_outcome *out)
{
    static const char *const root[] = {"interchanges", NULL};
    static const char *const ichg_lists[] = {"messages", "groups", NULL};
    static const char *const group_lists[] = {"messages", NULL};
    static const char *const *const levels[] = {root, ichg_lists,
                                                group_lists, NULL};
    json_t *tree = copy_lists(parsed, levels);
    size_t i, g;
    json_t *ichg, *grp;
    json_array_foreach(json_object_get(tree, "interchanges"), i, ichg)
    {
        const char *iref = envelope_ref(json_object_get(ichg, "UNB"), 4);
        bool whole = edifact_envelope_rejected(diags, iref, NULL);
        edifact_filter(json_object_get(ichg, "messages"), diags, whole, out);
        json_array_foreach(json_object_get(ichg, "groups"), g, grp)
        {
            const char *gref = envelope_ref(json_object_get(grp, "UNG"), 4);
            edifact_filter(json_object_get(grp, "messages"), diags,
                           whole || (gref && edifact_envelope_rejected(
                                                 diags, iref, gref)),
                           out);
        }
    }
    return tree;
}

/* ---- the partner's envelopes ---- */

/* Every interchange of the file must be from the partner to us: one that
 * is not refuses the file whole, before anything is stored or acked. */
static int check_partner(const lx_edi_inbound_options *o, const json_t *tree,
                         bool x12, lx_error *err)
{
    if (!o->partner)
        return 0;
    size_t i;
    json_t *ichg;
    json_array_foreach(json_object_get(tree, "interchanges"), i, ichg)
    {
        int rc = x12 ? lx_edi_partner_check_isa(
                           o->partner, json_object_get(ichg, "ISA"), err)
                     : lx_edi_partner_check_unb(
                           o->partner, json_object_get(ichg, "UNB"), err);
        if (rc != 0) {
            lx_error_prefix(err, "interchange %zu", i + 1);
            if (err)
                snprintf(err->where, sizeof(err->where), "interchange %zu/%s",
                         i + 1, x12 ? "ISA" : "UNB");
            return rc;
        }
    }
    return 0;
}

/* ---- the pipeline ---- */

static int finish(const lx_edi_inbound_options *o, const json_t *accepted,
                  bool x12, lx_edi_outcome *out, lx_error *err)
{
    sink k = {.o = o, .out = out, .pending = 0};
    pthread_mutex_init(&k.mu, NULL);
    pthread_cond_init(&k.cv, NULL);
    lx_error_clear(&k.first);
    int rc = x12 ? lx_edi_x12_to_canonical(o->maps, accepted, on_record, &k,
                                           err)
                 : lx_edi_edifact_to_canonical(o->maps, accepted, on_record,
                                               &k, err);
    wait_all(&k);
    pthread_mutex_destroy(&k.mu);
    pthread_cond_destroy(&k.cv);
    if (rc == 0 && out->refused) {
        if (err) {
            *err = k.first;
            lx_error_prefix(err, "%zu of %zu records refused; the first",
                            out->refused, out->records);
        }
        rc = k.first.code ? k.first.code : LX_ESCHEMA;
    }
    return rc;
}

int lx_edi_inbound_process(const lx_edi_inbound_options *o, const char *data,
                           size_t len, lx_edi_outcome *out, lx_error *err)
{
    memset(out, 0, sizeof(*out));
    size_t skip = 0;
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
        skip = 3; /* a byte order mark */
    while (skip < len && (data[skip] == ' ' || data[skip] == '\r' ||
                          data[skip] == '\n' || data[skip] == '\t'))
        skip++;
    const char *p = data + skip;
    size_t n = len - skip;
    bool none = !o->ack_outbox ||
                (!o->partner && (!o->ack || strcmp(o->ack, "none") == 0));
    if (n >= 3 && memcmp(p, "ISA", 3) == 0) {
        out->standard = "X12";
        lx_x12_doc *doc = NULL;
        int rc = lx_x12_parse(p, n, o->x12_defs, LX_X12_PARSE_LENIENT, &doc,
                              err);
        if (rc != 0)
            return rc;
        /* A truncated interchange (TA1 note 023, premature end of file) is
         * refused whole: what it would have held is unknown. */
        for (size_t i = 0; i < lx_x12_doc_diag_count(doc); i++) {
            const lx_x12_diag *d = lx_x12_doc_diag(doc, i);
            if (d->level == LX_X12_LEVEL_INTERCHANGE &&
                strcmp(d->x12_code, "023") == 0) {
                lx_error_set(err, LX_ESYNTAX, "%s", d->msg);
                if (err)
                    err->offset = d->offset;
                lx_x12_doc_destroy(&doc);
                return LX_ESYNTAX;
            }
        }
        rc = check_partner(o, lx_x12_doc_tree(doc), true, err);
        if (rc != 0) {
            lx_x12_doc_destroy(&doc);
            return rc;
        }
        if (lx_edi_ack_tree_is_ack(lx_x12_doc_tree(doc))) {
            /* The partner acknowledges what we sent: recorded, never
             * mapped, never acknowledged in turn. */
            rc = lx_edi_ack_record(o->store, o->system, lx_x12_doc_tree(doc),
                                   &out->acks, &out->acks_rejected, err);
            out->transactions = out->acks;
            lx_x12_doc_destroy(&doc);
            return rc;
        }
        json_t *accepted = x12_accepted(doc, out);
        if (o->reject_whole && out->rejected)
            json_array_clear(json_object_get(accepted, "interchanges"));
        rc = none ? 0 : ack_x12(o, doc, out, err);
        if (rc == 0)
            rc = finish(o, accepted, true, out, err);
        json_decref(accepted);
        lx_x12_doc_destroy(&doc);
        return rc;
    }
    if (n >= 3 && (memcmp(p, "UNA", 3) == 0 || memcmp(p, "UNB", 3) == 0)) {
        out->standard = "EDIFACT";
        lx_edifact_options eo = {.flags = LX_EDIFACT_LENIENT,
                                 .defs = o->edifact_defs};
        lx_edifact_diags diags;
        lx_edifact_diags_init(&diags);
        json_t *tree = NULL;
        int rc = lx_edifact_parse(p, n, &eo, &tree, &diags, err);
        if (rc == 0)
            rc = check_partner(o, tree, false, err);
        if (rc == 0) {
            json_t *accepted = edifact_accepted(tree, &diags, out);
            if (o->reject_whole && out->rejected)
                json_array_clear(json_object_get(accepted, "interchanges"));
            rc = none ? 0 : ack_edifact(o, tree, &diags, out, err);
            if (rc == 0)
                rc = finish(o, accepted, false, out, err);
            json_decref(accepted);
        }
        json_decref(tree);
        lx_edifact_diags_fini(&diags);
        return rc;
    }
    lx_error_set(err, LX_ESYNTAX, "not an EDI interchange: an X12 one starts "
                                  "with ISA, an EDIFACT one with UNA or UNB");
    if (err)
        err->offset = (long)skip;
    return LX_ESYNTAX;
}
