/* adapters/edi/edi_outbound.c: see edi_outbound.h.
 *
 * prepare maps the event to the body of one transaction set / message
 * (without its envelope), checks the whole interchange strictly with
 * provisional control numbers, and hands the body over as the call's
 * body; perform takes the real control numbers, envelopes, writes. */
#include "adapters/edi/edi_outbound.h"

#include "adapters/transport/outbox.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEMBER_ID_SYSTEM "urn:lingua:x12:834:member-id"
#define OUT_MAX ((size_t)64 << 20)

struct lx_edi_out {
    lx_store *store;
    const lx_x12_defs *x12_defs;
    const lx_edifact_defs *edifact_defs;
    const lx_edi_maps *maps;
    lx_edi_partner partner;
    lx_edi_standard standard;
    char outbox[PATH_MAX];
    char member_system[257];
    bool member_system_set; /* configured: no fallback */
    char ship_to_name[LX_EDI_OUT_NAME_MAX + 1]; /* "" when not configured */
};

/* Whether v can be N102: 1..60 characters (AN 1/60) and none of the
 * partner's delimiters (the writer refuses those). */
static bool n1_name_ok(const lx_edi_partner *p, const char *v)
{
    const lx_x12_delims *d = &p->x12_delims;
    if (!v || !v[0] || strlen(v) > LX_EDI_OUT_NAME_MAX)
        return false;
    for (const char *c = v; *c; c++)
        if (*c == d->element || *c == d->segment || *c == d->component ||
            *c == d->repetition)
            return false;
    return true;
}

int lx_edi_out_new(const lx_edi_out_options *o, lx_edi_out **out,
                   lx_error *err)
{
    LX_ASSERT(o && o->store && o->maps && o->partner && out);
    *out = NULL;
    lx_edi_standard std = o->standard;
    if (!std)
        std = o->partner->has_x12 ? LX_EDI_X12 : LX_EDI_EDIFACT;
    if ((std == LX_EDI_X12 && !o->partner->has_x12) ||
        (std == LX_EDI_EDIFACT && !o->partner->has_edifact))
        return lx_error_set(err, LX_EINVAL, "partner %s has no %s profile",
                            o->partner->name,
                            std == LX_EDI_X12 ? "x12" : "edifact");
    if (o->ship_to_name && !n1_name_ok(o->partner, o->ship_to_name))
        return lx_error_set(err, LX_EINVAL, "ship_to_name must be 1 to %d "
                                            "characters without the "
                                            "partner's X12 delimiters",
                            LX_EDI_OUT_NAME_MAX);
    if (!o->outbox || !o->outbox[0] || strlen(o->outbox) >= PATH_MAX)
        return lx_error_set(err, LX_EINVAL, "an outbound EDI adapter needs "
                                            "an outbox directory");
    lx_edi_out *e = lx_xcalloc(1, sizeof(*e));
    e->store = o->store;
    e->x12_defs = o->x12_defs;
    e->edifact_defs = o->edifact_defs;
    e->maps = o->maps;
    e->partner = *o->partner;
    e->standard = std;
    snprintf(e->outbox, sizeof(e->outbox), "%s", o->outbox);
    snprintf(e->member_system, sizeof(e->member_system), "%s",
             o->member_id_system ? o->member_id_system : MEMBER_ID_SYSTEM);
    e->member_system_set = o->member_id_system != NULL;
    snprintf(e->ship_to_name, sizeof(e->ship_to_name), "%s",
             o->ship_to_name ? o->ship_to_name : "");
    *out = e;
    return 0;
}

void lx_edi_out_destroy(lx_edi_out **o)
{
    if (!o || !*o)
        return;
    free(*o);
    *o = NULL;
}

/* ---- which message ---- */

static const char *message_of(const lx_edi_out *o, const char *entity)
{
    static const char *const table[][3] = {
        {"coverage", "834", NULL},
        {"person", "834", NULL}, /* for the coverages it is the member of */
        {"order", "850", "ORDERS"},
        {"invoice", "810", "INVOIC"},
    };
    for (size_t i = 0; entity && i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(entity, table[i][0]) == 0)
            return table[i][o->standard == LX_EDI_X12 ? 1 : 2];
    return NULL;
}

/* ---- small tree builders ---- */

static json_t *seg(const char *id)
{
    return json_pack("{s:s}", "id", id);
}

static void put(json_t *s, const char *key, const char *v)
{
    json_object_set_new(s, key, json_string(v));
}

static json_t *loop_get(const json_t *node, const char *id)
{
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(node, "loops"), i, l)
    {
        const char *lid = lx_json_str(l, "id");
        if (lid && strcmp(lid, id) == 0)
            return l;
    }
    return NULL;
}

static json_t *seg_get(const json_t *node, const char *id)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(node, "segments"), i, s)
    {
        const char *sid = lx_json_str(s, "id");
        if (sid && strcmp(sid, id) == 0)
            return s;
    }
    return NULL;
}

static json_t *array_member(json_t *obj, const char *key)
{
    json_t *a = json_object_get(obj, key);
    if (!json_is_array(a)) {
        a = json_array();
        json_object_set_new(obj, key, a);
    }
    return a;
}

/* Put a loop's segments in the order of its definition: a mapping writes
 * them in rule order. ranks: segment ids in order; REF*0F before other
 * REFs (X12 834 2000: "REF M 1" is the subscriber number). */
static int rank(const json_t *s, const char *const *ranks)
{
    const char *id = lx_json_str(s, "id");
    for (int i = 0; id && ranks[i]; i++)
        if (strcmp(id, ranks[i]) == 0) {
            const char *q = lx_json_str(s, "REF01");
            return i * 2 + (q && strcmp(q, "0F") != 0 ? 1 : 0);
        }
    return 1000;
}

/* Stable insertion sort of arr by key (a handful of items per node). */
typedef long (*sort_key_fn)(const json_t *item, const void *ctx);

static void sort_stable(json_t *arr, sort_key_fn key, const void *ctx)
{
    size_t n = json_array_size(arr);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0; j--) {
            json_t *a = json_array_get(arr, j - 1);
            json_t *b = json_array_get(arr, j);
            if (key(a, ctx) <= key(b, ctx))
                break;
            json_incref(a);
            json_array_set(arr, j - 1, b);
            json_array_set_new(arr, j, a);
        }
}

static long rank_key(const json_t *s, const void *ranks)
{
    return rank(s, ranks);
}

static void order_segments(json_t *node, const char *const *ranks)
{
    sort_stable(json_object_get(node, "segments"), rank_key, ranks);
}

/* 2100A allows one PER with up to three contacts (PER03/04, 05/06,
 * 07/08); the person map writes one PER*IP per contact. Merged here; a
 * fourth contact and more are left out. */
static void merge_contacts(json_t *loop)
{
    json_t *segs = json_object_get(loop, "segments");
    json_t *first = NULL;
    int pairs = 0;
    for (size_t i = 0; i < json_array_size(segs);) {
        json_t *s = json_array_get(segs, i);
        const char *id = lx_json_str(s, "id");
        if (!id || strcmp(id, "PER") != 0) {
            i++;
            continue;
        }
        if (!first) {
            first = s;
            pairs = 1;
            i++;
            continue;
        }
        if (pairs < 3) {
            char q[8], v[8];
            snprintf(q, sizeof(q), "PER%02d", 3 + 2 * pairs);
            snprintf(v, sizeof(v), "PER%02d", 4 + 2 * pairs);
            json_object_set(first, q, json_object_get(s, "PER03"));
            json_object_set(first, v, json_object_get(s, "PER04"));
            pairs++;
        }
        json_array_remove(segs, i);
    }
}

/* ---- reading what the event refers to ---- */

/* The record of the event: deleted events carry the last version too. */
static const json_t *event_record(const json_t *ev)
{
    const json_t *r = json_object_get(ev, "record");
    return json_is_object(r) ? r : NULL;
}

/* The canonical id of the person `ref` refers to (by id or identifier). */
static int person_id_of(const lx_edi_out *o, const json_t *ref,
                        char id[LX_STORE_ID_SIZE], lx_error *err)
{
    const char *cid = lx_json_str(ref, "id");
    if (cid) {
        if (strlen(cid) >= LX_STORE_ID_SIZE)
            return lx_error_set(err, LX_EINVAL, "a person reference with "
                                                "an invalid id");
        snprintf(id, LX_STORE_ID_SIZE, "%s", cid);
        return 0;
    }
    const json_t *ident = json_object_get(ref, "identifier");
    const char *sys = lx_json_str(ident, "system");
    const char *val = lx_json_str(ident, "value");
    if (!sys || !val)
        return lx_error_set(err, LX_EINVAL, "a person reference without "
                                            "id or identifier");
    int rc = lx_store_ident_find(o->store, "person", sys, val, id, err);
    if (rc != 0)
        return lx_error_set(err, rc, "the referenced person is not in "
                                     "the store (by identifier %s)",
                            sys);
    return 0;
}

static int person_of(const lx_edi_out *o, const json_t *ref, json_t **person,
                     lx_error *err)
{
    *person = NULL;
    char cid[LX_STORE_ID_SIZE];
    int rc = person_id_of(o, ref, cid, err);
    if (rc != 0)
        return rc;
    lx_record_meta meta;
    rc = lx_store_get(o->store, "person", cid, person, &meta, err);
    if (rc == 0 && !*person)
        rc = lx_error_set(err, LX_ENOTFOUND, "the referenced person has no "
                                             "record");
    if (rc != 0)
        lx_error_prefix(err, "person %s", cid);
    return rc;
}

/* The member id of a person: its identifier of the configured system. */
static const char *member_id(const lx_edi_out *o, const json_t *person)
{
    size_t i;
    json_t *id;
    json_array_foreach(json_object_get(person, "identifiers"), i, id)
    {
        const char *sys = lx_json_str(id, "system");
        if (sys && strcmp(sys, o->member_system) == 0)
            return lx_json_str(id, "value");
    }
    return NULL;
}

/* copy[key] rewritten to the member id (what the 834 maps write). The
 * person record is read when `need_person` (the member whose name the
 * loop carries) or when the reference does not carry the member id. */
static int member_ref(const lx_edi_out *o, json_t *copy, const char *key,
                      bool need_person, json_t **person, lx_error *err)
{
    *person = NULL;
    json_t *ref = json_object_get(copy, key);
    if (!ref)
        return 0;
    const json_t *ident = json_object_get(ref, "identifier");
    const char *sys = lx_json_str(ident, "system");
    const char *mid = sys && strcmp(sys, o->member_system) == 0
                          ? lx_json_str(ident, "value")
                          : NULL;
    if (need_person || !mid) {
        int rc = person_of(o, ref, person, err);
        if (rc != 0) {
            lx_error_prefix(err, "coverage %s", key);
            return rc;
        }
        if (!mid)
            mid = member_id(o, *person);
    }
    /* Not configured and the person has no 834 member id: the identifier
     * the coverage names the person by (an HR worker id, say) is the id
     * the sending system knows the member by. */
    if (!mid && !o->member_system_set)
        mid = lx_json_str(ident, "value");
    if (!mid)
        return lx_error_set(err, LX_EINVAL,
                            "coverage %s: the person has no identifier of "
                            "system %s (the member id of REF*0F/NM109)",
                            key, o->member_system);
    json_object_set_new(copy, key,
                        json_pack("{s:s,s:{s:s,s:s}}", "entity", "person",
                                  "identifier", "system", MEMBER_ID_SYSTEM,
                                  "value", mid));
    return 0;
}

/* ---- 834: one member loop from a coverage and its person ---- */

static const char *maintenance_of(const char *type)
{
    const char *dot = type ? strrchr(type, '.') : NULL;
    if (dot && strcmp(dot, ".deleted") == 0)
        return "deleted";
    if (dot && strcmp(dot, ".created") == 0)
        return "created";
    return "updated";
}

static int member_loop(const lx_edi_out *o, const json_t *coverage,
                       const char *type, json_t **loop, json_t **header,
                       lx_error *err)
{
    *loop = NULL;
    *header = NULL;
    json_t *cov = json_deep_copy(coverage);
    json_t *subscriber = NULL, *beneficiary = NULL;
    json_object_set_new(cov, "maintenance",
                        json_string(maintenance_of(type)));
    bool dependent = json_object_get(cov, "beneficiary") != NULL;
    int rc = json_object_get(cov, "subscriber")
                 ? 0
                 : lx_error_set(err, LX_EINVAL,
                                "coverage without a subscriber");
    rc = rc ? rc : member_ref(o, cov, "subscriber", !dependent, &subscriber,
                              err);
    rc = rc ? rc : member_ref(o, cov, "beneficiary", true, &beneficiary,
                              err);
    if (rc == 0 && !beneficiary && !json_object_get(cov, "relationship"))
        json_object_set_new(cov, "relationship", json_string("self"));
    json_t *cov_native = NULL, *per_native = NULL;
    if (rc == 0)
        rc = lx_edi_from_canonical(o->maps, "834/2000/2300", cov,
                                   &cov_native, err);
    if (rc == 0)
        rc = lx_edi_from_canonical(o->maps, "834/2000",
                                   beneficiary ? beneficiary : subscriber,
                                   &per_native, err);
    if (rc == 0) {
        /* INS and REF*0F from the coverage (who is who), 2100A from the
         * person (name, contact, address, demographics), 2300 from the
         * coverage. */
        json_t *m = json_pack("{s:s}", "id", "2000");
        json_object_set(m, "segments", array_member(cov_native, "segments"));
        json_t *ins = seg_get(m, "INS");
        if (ins && !json_object_get(ins, "INS05"))
            put(ins, "INS05", "A"); /* benefit status: active */
        json_t *loops = array_member(m, "loops");
        json_t *name = loop_get(per_native, "2100A");
        json_t *cname = loop_get(cov_native, "2100A");
        if (name) {
            json_t *nm1 = seg_get(name, "NM1");
            const char *dep = lx_json_str(seg_get(cov_native, "NM1"), "NM109");
            if (!dep)
                dep = lx_json_str(seg_get(cname, "NM1"), "NM109");
            if (nm1 && dep && beneficiary) {
                /* A dependent is named by its member id (inbound reads
                 * NM109 as the member id when INS01 is N). */
                put(nm1, "NM108", "ZZ");
                put(nm1, "NM109", dep);
            }
            static const char *const ranks[] = {"NM1", "PER", "N3", "N4",
                                                "DMG", NULL};
            merge_contacts(name);
            order_segments(name, ranks);
            json_array_append(loops, name);
        }
        json_t *plan = loop_get(cov_native, "2300");
        if (plan) {
            static const char *const ranks[] = {"HD", "DTP", "AMT", "REF",
                                                "IDC", NULL};
            order_segments(plan, ranks);
            json_array_append(loops, plan);
        }
        static const char *const ranks[] = {"INS", "REF", "DTP", NULL};
        order_segments(m, ranks);
        *header = json_incref(json_object_get(cov_native, "header"));
        *loop = m;
    }
    json_decref(cov_native);
    json_decref(per_native);
    json_decref(subscriber);
    json_decref(beneficiary);
    json_decref(cov);
    return rc;
}

/* The 834 around one member: BGN, REF*38 (the group, when known), 1000A
 * sponsor (us), 1000B payor (from the coverage, else the partner). */
static json_t *txn_834(const lx_edi_out *o, json_t *member, json_t *header,
                       const json_t *coverage, const json_t *ev)
{
    char date[9], hhmm[5], ref[32];
    lx_edi_envelope_now(date, hhmm);
    snprintf(ref, sizeof(ref), "%lld",
             (long long)json_integer_value(json_object_get(ev, "seq")));
    json_t *bgn = seg("BGN");
    put(bgn, "BGN01", "00"); /* original */
    put(bgn, "BGN02", ref);
    put(bgn, "BGN03", date);
    put(bgn, "BGN04", hhmm);
    put(bgn, "BGN08", "2"); /* action: change (update) */
    json_t *segs = json_pack("[o]", bgn);
    const char *group = lx_json_str(
        json_object_get(json_object_get(coverage, "group"), "identifier"),
        "value");
    if (group && strlen(group) <= 50) {
        json_t *r = seg("REF");
        put(r, "REF01", "38");
        put(r, "REF02", group);
        json_array_append_new(segs, r);
    }
    const lx_edi_partner *p = &o->partner;
    json_t *sponsor = seg("N1");
    put(sponsor, "N101", "P5");
    put(sponsor, "N102", "");
    put(sponsor, "N103", "ZZ");
    put(sponsor, "N104", p->x12_ours.application);
    json_t *payor = loop_get(header, "1000B");
    if (payor)
        json_incref(payor);
    else {
        json_t *n1 = seg("N1");
        put(n1, "N101", "IN");
        put(n1, "N102", "");
        put(n1, "N103", "ZZ");
        put(n1, "N104", p->x12_theirs.application);
        payor = json_pack("{s:s,s:[o]}", "id", "1000B", "segments", n1);
    }
    json_t *loops = json_pack("[{s:s,s:[o]},o,o]", "id", "1000A", "segments",
                              sponsor, payor, json_incref(member));
    return json_pack("{s:s,s:o,s:o}", "set", "834", "segments", segs,
                     "loops", loops);
}

/* ---- 834 for a person change ----
 *
 * A person's demographics (2100A: name, contacts, address, birth date,
 * gender) travel in the member loop of each coverage the person is the
 * member of (its beneficiary, or its subscriber when it has none). When
 * only the person changes, the partner gets an 834 maintenance for each
 * such coverage: INS03 001 (change), INS04 the reason, REF*0F, 2100A from
 * the current person, and no 2300 loop (the coverage did not change;
 * 005010X220A1 sends 2300 for coverage maintenance only). Coverages that
 * give the same member loop under the same header (health and dental of
 * one member, same group and payor) give one transaction set; others one
 * set each, in one interchange.
 *
 * Which coverages: the store has no index of the records that refer to a
 * record, so this module keeps one in the store's state, from the event
 * log: "edi-out/member-coverage/<person id>/<coverage id>" for every
 * coverage event up to the person event being sent (whatever system the
 * coverage came from: the insurer's own coverages count too), and the
 * last sequence read in "edi-out/member-coverage-cursor". Each event is
 * read once over the hub's life (the first person event reads the log so
 * far); entries are checked against the current coverage when used, so a
 * coverage that changed its member or was deleted is passed over. */
#define MEMBER_INDEX "edi-out/member-coverage/"
#define MEMBER_INDEX_CURSOR "edi-out/member-coverage-cursor"
#define INDEX_BATCH 256

/* The person whose member loop a coverage gives: beneficiary, else
 * subscriber. */
static int member_person_id(const lx_edi_out *o, const json_t *coverage,
                            char id[LX_STORE_ID_SIZE], lx_error *err)
{
    const json_t *ref = json_object_get(coverage, "beneficiary");
    if (!ref)
        ref = json_object_get(coverage, "subscriber");
    if (!ref)
        return lx_error_set(err, LX_EINVAL, "coverage without a subscriber");
    return person_id_of(o, ref, id, err);
}

typedef struct index_scan {
    const lx_edi_out *o;
    uint64_t upto;
    json_t *keys, *values; /* for lx_store_state_put_many */
    bool past;             /* an event after upto was met */
} index_scan;

static int index_event(void *ctx, uint64_t seq, const char *text, size_t len)
{
    index_scan *x = ctx;
    if (seq > x->upto) {
        x->past = true;
        return 1;
    }
    json_t *ev = lx_json_load_own(text, len, NULL);
    const char *entity = lx_json_str(ev, "entity");
    const char *cov = lx_json_str(ev, "canonical_id");
    const json_t *rec = event_record(ev);
    char per[LX_STORE_ID_SIZE], key[LX_STORE_KEY_MAX];
    lx_error e;
    if (entity && strcmp(entity, "coverage") == 0 && cov && rec &&
        member_person_id(x->o, rec, per, &e) == 0 &&
        (size_t)snprintf(key, sizeof(key), MEMBER_INDEX "%s/%s", per, cov) <
            sizeof(key)) {
        json_array_append_new(x->keys, json_string(key));
        json_array_append_new(
            x->values, strcmp(maintenance_of(lx_json_str(ev, "type")),
                              "deleted") == 0
                           ? json_null()
                           : json_string("1"));
    }
    json_decref(ev);
    return 0;
}

/* Bring the index up to event `upto` (included). */
static int index_catch_up(const lx_edi_out *o, uint64_t upto, lx_error *err)
{
    char *text = NULL;
    size_t len = 0;
    uint64_t from = 1;
    int rc = lx_store_state_get(o->store, MEMBER_INDEX_CURSOR, &text, &len,
                                err);
    if (rc == 0)
        from = strtoull(text, NULL, 10) + 1;
    else if (rc != LX_ENOTFOUND)
        return rc;
    free(text);
    rc = 0;
    uint64_t saved = from - 1;
    /* Bounded: every round reads at least one event or stops. */
    while (rc == 0 && from <= upto) {
        index_scan x = {o, upto, json_array(), json_array(), false};
        uint64_t next = from;
        rc = lx_store_events(o->store, from, INDEX_BATCH, index_event, &x,
                             &next, err);
        uint64_t done = x.past || next > upto ? upto : next - 1;
        /* A durable write per person event only when it indexed something
         * or moved the cursor a batch: otherwise the next one reads these
         * few events again (a stream of person updates costs no commit
         * each). */
        if (rc == 0 && done >= from &&
            (json_array_size(x.keys) > 0 || done - saved >= INDEX_BATCH)) {
            char cursor[24];
            snprintf(cursor, sizeof(cursor), "%llu", (unsigned long long)done);
            json_array_append_new(x.keys, json_string(MEMBER_INDEX_CURSOR));
            json_array_append_new(x.values, json_string(cursor));
            size_t n = json_array_size(x.keys);
            const char **k = lx_xcalloc(n, sizeof(*k));
            const char **v = lx_xcalloc(n, sizeof(*v));
            for (size_t i = 0; i < n; i++) {
                k[i] = json_string_value(json_array_get(x.keys, i));
                v[i] = json_string_value(json_array_get(x.values, i));
            }
            rc = lx_store_state_put_many(o->store, k, v, n, err);
            saved = rc == 0 ? done : saved;
            free(k);
            free(v);
        }
        json_decref(x.keys);
        json_decref(x.values);
        if (done < from)
            break; /* the log ends before upto */
        from = done + 1;
    }
    return rc;
}

typedef struct cov_list {
    char ids[LX_EDI_OUT_PERSON_COVERAGES_MAX][LX_STORE_ID_SIZE];
    size_t count;
    bool over;
} cov_list;

static int list_coverage(void *ctx, const char *key, const char *value,
                         size_t len)
{
    (void)value;
    (void)len;
    cov_list *l = ctx;
    const char *slash = strrchr(key, '/');
    if (!slash || strlen(slash + 1) >= LX_STORE_ID_SIZE)
        return 0;
    if (l->count == LX_EDI_OUT_PERSON_COVERAGES_MAX) {
        l->over = true;
        return 1;
    }
    snprintf(l->ids[l->count++], LX_STORE_ID_SIZE, "%s", slash + 1);
    return 0;
}

/* INS04, maintenance reason code, from the event's changed pointers:
 * 25 change in identifying data elements (name, birth date, gender,
 * identifiers), else 43 change of location (address), else AI no reason
 * given (contacts, say). */
static const char *change_reason(const json_t *ev)
{
    static const char *const identifying[] = {"/name", "/birth_date",
                                              "/gender", "/identifiers"};
    bool moved = false;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(ev, "changed"), i, c)
    {
        const char *p = json_string_value(c);
        for (size_t k = 0; p && k < 4; k++)
            if (strncmp(p, identifying[k], strlen(identifying[k])) == 0)
                return "25";
        if (p && strncmp(p, "/addresses", 10) == 0)
            moved = true;
    }
    return moved ? "43" : "AI";
}

/* The 834 transaction of one coverage for a change of its member. */
static int person_change_txn(const lx_edi_out *o, const json_t *coverage,
                             const json_t *ev, json_t **txn, lx_error *err)
{
    *txn = NULL;
    json_t *member = NULL, *header = NULL;
    int rc = member_loop(o, coverage, "person.updated", &member, &header,
                         err);
    if (rc != 0)
        return rc;
    json_t *loops = json_object_get(member, "loops");
    for (size_t i = json_array_size(loops); i > 0; i--) {
        const char *id = lx_json_str(json_array_get(loops, i - 1), "id");
        if (id && strcmp(id, "2300") == 0)
            json_array_remove(loops, i - 1);
    }
    json_t *ins = seg_get(member, "INS");
    if (ins)
        put(ins, "INS04", change_reason(ev));
    *txn = txn_834(o, member, header, coverage, ev);
    json_decref(member);
    json_decref(header);
    return 0;
}

/* The body of a person event: {"set": "834", "batch": [transactions]},
 * or *skip when the person is the member of no coverage. */
static int person_body(const lx_edi_out *o, const json_t *ev, json_t **body,
                       bool *skip, lx_error *err)
{
    *body = NULL;
    const char *per = lx_json_str(ev, "canonical_id");
    json_int_t seq = json_integer_value(json_object_get(ev, "seq"));
    /* Only a change: a created person has nothing at the partner to
     * change (the events of its coverages carry it, even one stored
     * before it in the same commit), a deleted one leaves its coverages'
     * own events to say what ends. */
    if (strcmp(maintenance_of(lx_json_str(ev, "type")), "updated") != 0 ||
        !per || seq <= 0) {
        *skip = true;
        return 0;
    }
    int rc = index_catch_up(o, (uint64_t)seq, err);
    cov_list *l = lx_xcalloc(1, sizeof(*l));
    char prefix[LX_STORE_KEY_MAX];
    snprintf(prefix, sizeof(prefix), MEMBER_INDEX "%s/", per);
    if (rc == 0)
        rc = lx_store_state_list(o->store, prefix, list_coverage, l, err);
    if (rc == 0 && l->over)
        rc = lx_error_set(err, LX_ELIMIT, "the person is the member of more "
                                          "than %d coverages",
                          LX_EDI_OUT_PERSON_COVERAGES_MAX);
    json_t *batch = json_array();
    for (size_t i = 0; rc == 0 && i < l->count; i++) {
        json_t *cov = NULL;
        lx_record_meta meta;
        char who[LX_STORE_ID_SIZE];
        lx_error e;
        if (lx_store_get(o->store, "coverage", l->ids[i], &cov, &meta, &e) !=
                0 ||
            !cov || meta.deleted || member_person_id(o, cov, who, &e) != 0 ||
            strcmp(who, per) != 0) {
            json_decref(cov); /* gone, or no longer this person's */
            continue;
        }
        json_t *txn = NULL;
        rc = person_change_txn(o, cov, ev, &txn, err);
        if (rc != 0)
            lx_error_prefix(err, "coverage %s", l->ids[i]);
        bool seen = false;
        for (size_t k = 0; txn && k < json_array_size(batch); k++)
            seen = seen || json_equal(json_array_get(batch, k), txn);
        if (txn && !seen)
            json_array_append(batch, txn);
        json_decref(txn);
        json_decref(cov);
    }
    free(l);
    if (rc == 0 && json_array_size(batch) == 0)
        *skip = true;
    else if (rc == 0)
        *body = json_pack("{s:s,s:O}", "set", "834", "batch", batch);
    json_decref(batch);
    return rc;
}

/* ---- 850: the ship-to party's name ---- */

/* The name of the organization `ref` refers to (by id or identifier), or
 * NULL when it is not in the store or has no name. *org keeps it alive. */
static const char *org_name(const lx_edi_out *o, const json_t *ref,
                            json_t **org)
{
    *org = NULL;
    char id[LX_STORE_ID_SIZE];
    const char *cid = lx_json_str(ref, "id");
    const json_t *ident = json_object_get(ref, "identifier");
    const char *sys = lx_json_str(ident, "system");
    const char *val = lx_json_str(ident, "value");
    lx_error e;
    if (!cid && sys && val &&
        lx_store_ident_find(o->store, "organization", sys, val, id, &e) == 0)
        cid = id;
    lx_record_meta meta;
    if (!cid || lx_store_get(o->store, "organization", cid, org, &meta, &e) != 0)
        return NULL;
    if (meta.deleted)
        return NULL;
    return lx_json_str(*org, "name");
}

/* N1 needs N102 (name) or N103/N104 (id) (005010 N1 syntax note R0203),
 * and the canonical order's ship_to is an address without a party. The
 * name comes from the buyer organization (the party the goods are for),
 * else the instance's "ship_to_name"; without either, the N1 loop (and
 * with it N3/N4) is left out rather than written as "N1*ST~", which the
 * partner's validation would reject (the definitions do not check syntax
 * notes yet, so our own check would not catch it). */
static void ship_to_party(const lx_edi_out *o, const json_t *ev,
                          const json_t *order, json_t *native)
{
    json_t *loops = json_object_get(native, "loops");
    for (size_t i = 0; i < json_array_size(loops); i++) {
        json_t *l = json_array_get(loops, i);
        json_t *n1 = json_array_get(json_object_get(l, "segments"), 0);
        const char *lid = lx_json_str(l, "id");
        const char *q = lx_json_str(n1, "N101");
        if (!lid || strcmp(lid, "N1") != 0 || !q || strcmp(q, "ST") != 0 ||
            lx_json_str(n1, "N102") || lx_json_str(n1, "N104"))
            continue;
        json_t *org = NULL;
        const char *name = org_name(o, json_object_get(order, "buyer"), &org);
        if (!n1_name_ok(&o->partner, name))
            name = o->ship_to_name[0] ? o->ship_to_name : NULL;
        if (name) {
            put(n1, "N102", name);
        } else {
            lx_log_warn(lx_json_str(json_object_get(ev, "origin"), "trace"),
                        "edi out: partner %s: event %lld: 850 without its "
                        "ship-to N1 loop: the order's ship_to has no party "
                        "name (no buyer organization with a usable name in "
                        "the store, no ship_to_name configured)",
                        o->partner.name,
                        (long long)json_integer_value(
                            json_object_get(ev, "seq")));
            json_array_remove(loops, i);
            i--;
        }
        json_decref(org);
    }
}

/* ---- prepare: the body of the transaction set / message ---- */

static int body_of(const lx_edi_out *o, const json_t *ev, const char *msg,
                   json_t **body, bool *skip, lx_error *err)
{
    *body = NULL;
    const char *entity = lx_json_str(ev, "entity");
    if (entity && strcmp(entity, "person") == 0)
        return person_body(o, ev, body, skip, err);
    const json_t *rec = event_record(ev);
    if (!rec)
        return lx_error_set(err, LX_EINVAL, "the event carries no record");
    if (strcmp(msg, "834") == 0) {
        json_t *member = NULL, *header = NULL;
        int rc = member_loop(o, rec, lx_json_str(ev, "type"), &member,
                             &header, err);
        if (rc == 0)
            *body = txn_834(o, member, header, rec, ev);
        json_decref(member);
        json_decref(header);
        return rc;
    }
    json_t *native = NULL;
    int rc = lx_edi_from_canonical(o->maps, msg, rec, &native, err);
    if (rc != 0)
        return rc;
    if (strcmp(msg, "850") == 0)
        ship_to_party(o, ev, rec, native);
    json_object_set_new(native, "set", json_string(msg));
    json_object_del(native, "header");
    *body = native;
    return 0;
}

/* ---- the envelope ---- */

/* Control numbers: ISA13, GS06, one ST02 per transaction set / UNB
 * 0020, UNH 0062. */
typedef struct numbers {
    uint64_t a, b;
    uint64_t st[LX_EDI_OUT_PERSON_COVERAGES_MAX];
    size_t st_count;
} numbers;

/* The transaction sets of a body: its "batch", else the body itself. */
static size_t txn_count(const json_t *body)
{
    const json_t *batch = json_object_get(body, "batch");
    return batch ? json_array_size(batch) : 1;
}

static const char *gs01_of(const char *set)
{
    if (strcmp(set, "834") == 0)
        return "BE";
    if (strcmp(set, "850") == 0)
        return "PO";
    return "IN"; /* 810 */
}

static json_t *x12_tree(const lx_edi_out *o, const json_t *body,
                        const numbers *n)
{
    const lx_edi_partner *p = &o->partner;
    const char *set = lx_json_str(body, "set");
    char date[9], hhmm[5], isa13[16], gs06[16];
    lx_edi_envelope_now(date, hhmm);
    snprintf(isa13, sizeof(isa13), "%09llu", (unsigned long long)n->a);
    snprintf(gs06, sizeof(gs06), "%llu", (unsigned long long)n->b);
    const char *version = strcmp(set, "834") == 0 ? "005010X220A1" : "005010";
    json_t *isa = seg("ISA");
    static const char *const keys[] = {"ISA01", "ISA02", "ISA03", "ISA04",
                                       "ISA05", "ISA06", "ISA07", "ISA08",
                                       "ISA09", "ISA10", "ISA11", "ISA12",
                                       "ISA13", "ISA14", "ISA15", "ISA16"};
    char rep[2] = {p->x12_delims.repetition, 0};
    char comp[2] = {p->x12_delims.component, 0};
    const char *vals[16] = {"00", "", "00", "", p->x12_ours.qualifier,
                            p->x12_ours.id, p->x12_theirs.qualifier,
                            p->x12_theirs.id, date + 2, hhmm, rep, "00501",
                            isa13, "0", p->test ? "T" : "P", comp};
    for (int i = 0; i < 16; i++)
        put(isa, keys[i], vals[i]);
    json_t *gs = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id",
                           "GS", "GS01", gs01_of(set), "GS02",
                           p->x12_ours.application, "GS03",
                           p->x12_theirs.application, "GS04", date, "GS05",
                           hhmm, "GS06", gs06, "GS07", "X", "GS08", version);
    const json_t *batch = json_object_get(body, "batch");
    json_t *txns = json_array();
    for (size_t k = 0; k < n->st_count; k++) {
        char st02[16];
        snprintf(st02, sizeof(st02), "%04llu", (unsigned long long)n->st[k]);
        json_t *st = json_pack("{s:s,s:s,s:s}", "id", "ST", "ST01", set,
                               "ST02", st02);
        if (strcmp(set, "834") == 0)
            put(st, "ST03", version);
        json_t *txn = json_copy(batch ? json_array_get(batch, k)
                                      : (json_t *)body);
        json_object_set_new(txn, "ST", st);
        json_array_append_new(txns, txn);
    }
    char d[4][2] = {{p->x12_delims.element, 0}, {p->x12_delims.repetition, 0},
                    {p->x12_delims.component, 0}, {p->x12_delims.segment, 0}};
    return json_pack("{s:[{s:{s:s,s:s,s:s,s:s},s:o,s:[{s:o,s:o}]}]}",
                     "interchanges", "delimiters", "element", d[0],
                     "repetition", d[1], "component", d[2], "segment", d[3],
                     "ISA", isa, "groups", "GS", gs, "transactions", txns);
}

static json_t *el1(const char *a)
{
    return json_pack("[s]", a);
}

static json_t *el2(const char *a, const char *b)
{
    return b && b[0] ? json_pack("[s,s]", a, b) : el1(a);
}

/* "SG25" -> 25; 0 for anything else. */
static long group_number(const json_t *g)
{
    const char *id = lx_json_str(g, "id");
    return id && id[0] == 'S' && id[1] == 'G' ? strtol(id + 2, NULL, 10) : 0;
}

/* Segment groups are numbered in the order of the message's branching
 * diagram (UN/EDIFACT message design rules), so siblings go out in
 * ascending number. The maps write them in rule order: INVOIC SG25 got
 * SG28 (PRI) before SG26 (MOA+203), and the reader, which cannot go back
 * to SG26 after SG28, took that MOA for the summary's SG48 and found no
 * UNS before it. Inside a group every segment precedes the nested groups
 * (true of every D.96A group; only the message level has segments after
 * groups, UNS and the summary), which is the generator's order without
 * "pos". */
static long group_key(const json_t *g, const void *ctx)
{
    (void)ctx;
    return group_number(g);
}

static void order_groups(json_t *node, int depth)
{
    json_t *groups = json_object_get(node, "groups");
    sort_stable(groups, group_key, NULL);
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g)
        if (depth < 8)
            order_groups(g, depth + 1);
}

/* D.96A ORDERS and INVOIC: header, detail (SG25, the line items), UNS+S,
 * summary (schemas/edifact/d96a: UNS is mandatory in both; ORDERS
 * summary MOA, CNT, SG51; INVOIC CNT, SG48 MOA totals, SG50, SG51). The
 * maps write no UNS and the generator merges a message's segments and
 * groups by "pos": number them header segments, header and detail
 * groups, UNS, summary segments, summary groups (those after SG25). */
#define EDIFACT_DETAIL_GROUP 25

static void edifact_sections(json_t *msg, const char *type)
{
    order_groups(msg, 0);
    json_t *segs = array_member(msg, "segments");
    json_t *groups = array_member(msg, "groups");
    json_t *head = json_array(), *tail = json_array();
    json_t *gh = json_array(), *gt = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(segs, i, v)
    {
        const char *id = lx_json_str(v, "id");
        bool summary = id && (strcmp(id, "CNT") == 0 ||
                              (strcmp(id, "MOA") == 0 &&
                               strcmp(type, "ORDERS") == 0));
        if (!id || strcmp(id, "UNS") != 0)
            json_array_append(summary ? tail : head, v);
    }
    json_array_foreach(groups, i, v)
        json_array_append(group_number(v) > EDIFACT_DETAIL_GROUP ? gt : gh,
                          v);
    long pos = 1;
    json_array_foreach(head, i, v)
        json_object_set_new(v, "pos", json_integer(pos++));
    json_array_foreach(gh, i, v)
        json_object_set_new(v, "pos", json_integer(pos++));
    json_t *uns = json_pack("{s:s,s:I,s:[[s]]}", "id", "UNS", "pos",
                            (json_int_t)pos++, "elements", "S");
    json_array_append_new(head, uns);
    json_array_foreach(tail, i, v)
    {
        json_object_set_new(v, "pos", json_integer(pos++));
        json_array_append(head, v);
    }
    json_array_foreach(gt, i, v)
    {
        json_object_set_new(v, "pos", json_integer(pos++));
        json_array_append(gh, v);
    }
    json_object_set_new(msg, "segments", head);
    json_object_set_new(msg, "groups", gh);
    json_decref(tail);
    json_decref(gt);
}

static json_t *edifact_tree(const lx_edi_out *o, const json_t *body,
                            const numbers *n)
{
    const lx_edi_partner *p = &o->partner;
    const char *type = lx_json_str(body, "set");
    char date[9], hhmm[5], unb[16], unh[16];
    lx_edi_envelope_now(date, hhmm);
    snprintf(unb, sizeof(unb), "%llu", (unsigned long long)n->a);
    snprintf(unh, sizeof(unh), "%llu", (unsigned long long)n->b);
    json_t *b = json_pack("[o,o,o,o,o]", el2(p->edifact_syntax, "3"),
                          el2(p->edifact_ours.id, p->edifact_ours.qualifier),
                          el2(p->edifact_theirs.id,
                              p->edifact_theirs.qualifier),
                          el2(date + 2, hhmm), el1(unb));
    if (p->test) {
        /* UNB 0035 test indicator, element 11: 6..10 left empty. */
        for (int i = 0; i < 5; i++)
            json_array_append_new(b, el1(""));
        json_array_append_new(b, el1("1"));
    }
    json_t *msg = json_deep_copy(body);
    json_object_del(msg, "set");
    edifact_sections(msg, type);
    json_object_set_new(msg, "UNH",
                        json_pack("[o,[s,s,s,s]]", el1(unh), type, "D", "96A",
                                  "UN"));
    json_object_set_new(msg, "type", json_string(type));
    json_object_set_new(msg, "version", json_string("D"));
    json_object_set_new(msg, "release", json_string("96A"));
    json_object_set_new(msg, "UNT", json_pack("[o,o]", el1("0"), el1(unh)));
    return json_pack("{s:[{s:s,s:o,s:[o],s:[o,o]}]}", "interchanges", "UNA",
                     p->edifact_una, "UNB", b, "messages", msg, "UNZ",
                     el1("1"), el1(unb));
}

static int assemble(const lx_edi_out *o, const json_t *body, const numbers *n,
                    lx_buf *out, lx_error *err)
{
    int rc;
    if (o->standard == LX_EDI_X12) {
        json_t *tree = x12_tree(o, body, n);
        rc = lx_x12_write(tree, NULL, LX_X12_WRITE_NEWLINE, out, err);
        json_decref(tree);
    } else {
        json_t *tree = edifact_tree(o, body, n);
        lx_edifact_gen_options g = {.write_una = 1, .newline = "\n"};
        rc = lx_edifact_generate(tree, &g, out, err);
        json_decref(tree);
    }
    return rc;
}

/* What we send must pass the checks we apply to what we receive. */
static int check_strict(const lx_edi_out *o, const lx_buf *b, lx_error *err)
{
    if (o->standard == LX_EDI_X12) {
        lx_x12_doc *doc = NULL;
        int rc = lx_x12_parse(b->data, b->len, o->x12_defs, 0, &doc, err);
        lx_x12_doc_destroy(&doc);
        return rc;
    }
    lx_edifact_options eo = {.defs = o->edifact_defs};
    lx_edifact_diags diags;
    lx_edifact_diags_init(&diags);
    json_t *tree = NULL;
    int rc = lx_edifact_parse(b->data, b->len, &eo, &tree, &diags, err);
    if (rc == 0 && diags.count > 0) {
        const lx_edifact_diag *d = &diags.items[0];
        rc = lx_error_set(err, LX_ESCHEMA, "%s", d->msg);
        if (err)
            snprintf(err->where, sizeof(err->where), "UNH %s segment %ld (%s)",
                     d->message_ref, d->segment_pos, d->segment_tag);
    }
    json_decref(tree);
    lx_edifact_diags_fini(&diags);
    return rc;
}

static int next_counter(const lx_edi_out *o, const char *what, uint64_t ceil,
                        uint64_t *v, lx_error *err)
{
    char name[LX_STORE_KEY_MAX];
    snprintf(name, sizeof(name), "%s/%s", what, o->partner.name);
    return lx_store_counter_next(o->store, name, 1, ceil, v, err);
}

static int take_numbers(const lx_edi_out *o, size_t txns, numbers *n,
                        lx_error *err)
{
    LX_ASSERT(txns >= 1 && txns <= LX_EDI_OUT_PERSON_COVERAGES_MAX);
    memset(n, 0, sizeof(*n));
    if (o->standard == LX_EDI_X12) {
        int rc = next_counter(o, "x12-isa13", 999999999, &n->a, err);
        rc = rc ? rc : next_counter(o, "x12-gs06", 999999999, &n->b, err);
        for (n->st_count = 0; rc == 0 && n->st_count < txns; n->st_count++)
            rc = next_counter(o, "x12-st02", 999999999, &n->st[n->st_count],
                              err);
        return rc;
    }
    int rc = next_counter(o, "edifact-unb", 999999999, &n->a, err);
    return rc ? rc : next_counter(o, "edifact-unh", 999999999, &n->b, err);
}

static void file_name(const lx_edi_out *o, const json_t *body,
                      const numbers *n, char *name, size_t size)
{
    snprintf(name, size, "%s-%09llu-%s.%s", o->partner.name,
             (unsigned long long)n->a, lx_json_str(body, "set"),
             o->standard == LX_EDI_X12 ? "x12" : "edi");
}

/* Interchange text of body with fresh control numbers. */
static int write_text(lx_edi_out *o, const json_t *body, lx_buf *out,
                      char *name, size_t name_size, lx_error *err)
{
    numbers n;
    int rc = take_numbers(o, txn_count(body), &n, err);
    if (rc == 0)
        rc = assemble(o, body, &n, out, err);
    if (rc == 0)
        file_name(o, body, &n, name, name_size);
    return rc;
}

/* body, checked with provisional control numbers (1): refused when it
 * would not pass, before a number is spent. */
static int checked_body(lx_edi_out *o, const json_t *ev, json_t **body,
                        bool *skip, lx_error *err)
{
    *body = NULL;
    *skip = false;
    const char *msg = message_of(o, lx_json_str(ev, "entity"));
    if (!msg) {
        *skip = true;
        return 0;
    }
    int rc = body_of(o, ev, msg, body, skip, err);
    if (rc != 0 || *skip)
        return rc;
    numbers one = {.a = 1, .b = 1, .st_count = txn_count(*body)};
    for (size_t k = 0; k < one.st_count; k++)
        one.st[k] = k + 1;
    lx_buf b;
    lx_buf_init(&b, OUT_MAX);
    rc = assemble(o, *body, &one, &b, err);
    if (rc == 0)
        rc = check_strict(o, &b, err);
    lx_buf_fini(&b);
    if (rc != 0) {
        lx_error_prefix(err, "%s for partner %s", msg, o->partner.name);
        json_decref(*body);
        *body = NULL;
    }
    return rc;
}

int lx_edi_out_build(lx_edi_out *o, const json_t *event, lx_buf *out,
                     char *name, size_t name_size, bool *skip, lx_error *err)
{
    json_t *body = NULL;
    name[0] = '\0';
    int rc = checked_body(o, event, &body, skip, err);
    if (rc == 0 && !*skip)
        rc = write_text(o, body, out, name, name_size, err);
    json_decref(body);
    return rc;
}

/* ---- the delivery engine's ops ---- */

static int prepare(void *ctx, lx_store *store, const json_t *event,
                   lx_outbound_call *call, bool *skip, lx_error *err)
{
    (void)store;
    lx_edi_out *o = ctx;
    json_t *body = NULL;
    int rc = checked_body(o, event, &body, skip, err);
    if (rc != 0 || *skip)
        return rc;
    call->body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    LX_ASSERT(call->body != NULL);
    /* Traces show the call as a write to the outbox. */
    snprintf(call->url, sizeof(call->url), "file://%s", o->outbox);
    call->http.method = "WRITE";
    call->http.url = call->url;
    call->http.body = call->body;
    call->http.body_len = strlen(call->body);
    return 0;
}

static int perform(void *ctx, const lx_outbound_call *call,
                   lx_http_result *res, lx_error *err)
{
    lx_edi_out *o = ctx;
    json_t *body = json_loads(call->body, 0, NULL);
    LX_ASSERT(body != NULL); /* written by prepare */
    lx_buf b;
    lx_buf_init(&b, OUT_MAX);
    char name[LX_OUTBOX_NAME_MAX + 1], path[PATH_MAX];
    int rc = write_text(o, body, &b, name, sizeof(name), err);
    if (rc == 0)
        rc = lx_outbox_write(o->outbox, name, b.data, b.len, path,
                             sizeof(path), err);
    if (rc == 0) {
        res->status = 201;
        snprintf(res->location, sizeof(res->location), "%s", path);
        lx_log_info(NULL, "edi out: partner %s: %s written (%zu bytes)",
                    o->partner.name, name, b.len);
    } else if (rc == LX_EINVAL || rc == LX_ESCHEMA) {
        res->status = 422; /* never retried: the same body fails again */
        rc = 0;
    }
    lx_buf_fini(&b);
    json_decref(body);
    return rc;
}

void lx_edi_out_ops(lx_edi_out *o, lx_outbound_ops *ops)
{
    memset(ops, 0, sizeof(*ops));
    ops->prepare = prepare;
    ops->perform = perform;
    ops->ctx = o;
}
