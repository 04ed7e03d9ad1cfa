/* Tests of outbound EDI (adapters/edi/edi_outbound.h) and of trading
 * partner profiles on the inbound side: corpus interchanges stored in a
 * real store, their events turned back into interchanges for a partner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "adapters/edi/edi_inbound.h"
#include "adapters/edi/edi_outbound.h"
#include "canonical/ingest.h"
#include "core/buf.h"

#include <stdatomic.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PARTNERS                                                             \
    "{\"insurer\": {\"usage\": \"test\","                                    \
    " \"x12\": {\"ours\": {\"qualifier\": \"ZZ\", \"id\": \"LINGUAHUB\"},"   \
    "           \"theirs\": {\"qualifier\": \"ZZ\", \"id\": \"INSURER01\","  \
    "                        \"application\": \"INSAPP\"},"                  \
    "           \"ack\": \"999\"}},"                                         \
    " \"supplier\": {\"edifact\": {\"ours\": {\"id\": \"LINGUAHUB\","        \
    "   \"qualifier\": \"ZZZ\"}, \"theirs\": {\"id\": \"5412345000013\","    \
    "   \"qualifier\": \"14\"}, \"ack\": \"CONTRL\"}},"                      \
    " \"sender\": {\"x12\": {"                                               \
    "   \"ours\": {\"qualifier\": \"ZZ\", \"id\": \"123456789012346\"},"     \
    "   \"theirs\": {\"qualifier\": \"ZZ\", \"id\": \"123456789012345\"},"   \
    "   \"ack\": \"TA1\"}}}"

typedef struct fx {
    char dir[64], outbox[128];
    lx_store *store;
    lx_registry *reg;
    lx_x12_defs *x12;
    lx_edifact_defs *edifact;
    lx_edi_maps *maps;
    json_t *partners;
    lx_edi_partner insurer, supplier, sender;
} fx;

static const char *src(void)
{
    const char *s = getenv("LX_SOURCE_DIR");
    return s ? s : ".";
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    lx_buf b;
    lx_buf_init(&b, 0);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(lx_buf_append(&b, chunk, n), 0);
    fclose(f);
    return lx_buf_take(&b, len);
}

static char *corpus(const char *rel, size_t *len)
{
    const char *c = getenv("LX_CORPUS_DIR");
    if (!c)
        return NULL;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", c, rel);
    return slurp(path, len);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/lx-test-ediout-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->outbox, sizeof(f->outbox), "%s/out", f->dir);
    assert_int_equal(mkdir(f->outbox, 0700), 0);
    lx_store_options so = {.dir = f->dir, .no_sync = true};
    assert_int_equal(lx_store_open(&so, &f->store, NULL), 0);
    char path[1024];
    lx_error err;
    snprintf(path, sizeof(path), "%s/schemas/canonical", src());
    assert_int_equal(lx_registry_load(path, &f->reg, &err), 0);
    snprintf(path, sizeof(path), "%s/schemas/x12/005010", src());
    assert_int_equal(lx_x12_defs_load(path, &f->x12, &err), 0);
    snprintf(path, sizeof(path), "%s/schemas/edifact/d96a", src());
    assert_int_equal(lx_edifact_defs_load(path, &f->edifact, &err), 0);
    snprintf(path, sizeof(path), "%s/schemas", src());
    assert_int_equal(lx_edi_maps_load(path, &f->maps, &err), 0);
    f->partners = json_loads(PARTNERS, 0, NULL);
    assert_non_null(f->partners);
    assert_int_equal(lx_edi_partner_parse(f->partners, "insurer",
                                          &f->insurer, &err),
                     0);
    assert_int_equal(lx_edi_partner_parse(f->partners, "supplier",
                                          &f->supplier, &err),
                     0);
    assert_int_equal(lx_edi_partner_parse(f->partners, "sender", &f->sender,
                                          &err),
                     0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    lx_store_close(&f->store);
    lx_registry_destroy(&f->reg);
    lx_x12_defs_destroy(&f->x12);
    lx_edifact_defs_destroy(&f->edifact);
    lx_edi_maps_destroy(&f->maps);
    json_decref(f->partners);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
    free(f);
    return 0;
}

/* Store a corpus file through the inbound pipeline as system `system`. */
static void ingest(fx *f, const char *rel, const lx_edi_partner *partner)
{
    size_t len = 0;
    char *data = corpus(rel, &len);
    if (!data)
        skip();
    lx_edi_inbound_options o = {.store = f->store,
                                .registry = f->reg,
                                .x12_defs = f->x12,
                                .edifact_defs = f->edifact,
                                .maps = f->maps,
                                .system = "hr",
                                .adapter = "hr-in",
                                .ack_outbox = f->outbox,
                                .partner = partner};
    lx_edi_outcome out;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_edi_inbound_process(&o, data, len, &out, &err);
    if (rc != 0)
        fail_msg("%s: %s (%s)", rel, err.msg, err.where);
    free(data);
}

typedef struct events {
    json_t *list;
} events;

static int collect(void *ctx, uint64_t seq, const char *text, size_t len)
{
    (void)seq;
    events *e = ctx;
    json_t *ev = json_loadb(text, len, 0, NULL);
    assert_non_null(ev);
    json_array_append_new(e->list, ev);
    return 0;
}

static json_t *all_events(fx *f)
{
    events e = {json_array()};
    lx_error err;
    assert_int_equal(lx_store_events(f->store, 1, 0, collect, &e, NULL, &err),
                     0);
    return e.list;
}

static json_t *first_of(json_t *evs, const char *entity)
{
    size_t i;
    json_t *ev;
    json_array_foreach(evs, i, ev)
    {
        if (strcmp(json_string_value(json_object_get(ev, "entity")),
                   entity) == 0)
            return ev;
    }
    return NULL;
}

static lx_edi_out *out_for(fx *f, const lx_edi_partner *p)
{
    lx_edi_out_options oo = {.store = f->store,
                             .x12_defs = f->x12,
                             .edifact_defs = f->edifact,
                             .maps = f->maps,
                             .partner = p,
                             .outbox = f->outbox};
    lx_edi_out *o = NULL;
    lx_error err;
    assert_int_equal(lx_edi_out_new(&oo, &o, &err), 0);
    return o;
}

static json_t *parse_x12(fx *f, const lx_buf *b)
{
    lx_x12_doc *doc = NULL;
    lx_error err;
    int rc = lx_x12_parse(b->data, b->len, f->x12, 0, &doc, &err);
    if (rc != 0)
        fail_msg("%s (%s)\n%.*s", err.msg, err.where, (int)b->len, b->data);
    json_t *tree = json_incref(lx_x12_doc_tree(doc));
    lx_x12_doc_destroy(&doc);
    return tree;
}

/* A JSON pointer without escapes, enough for these trees. */
static const json_t *walk(const json_t *v, const char *ptr)
{
    char tok[64];
    while (v && *ptr == '/') {
        ptr++;
        size_t n = strcspn(ptr, "/");
        snprintf(tok, sizeof(tok), "%.*s", (int)n, ptr);
        ptr += n;
        v = json_is_array(v) ? json_array_get(v, strtoul(tok, NULL, 10))
                             : json_object_get(v, tok);
    }
    return v;
}

static const char *at(const json_t *tree, const char *ptr)
{
    const char *s = json_string_value(walk(tree, ptr));
    if (!s)
        fail_msg("no string at %s", ptr);
    return s;
}

static void test_edi_out_834_for_a_dependent_coverage(void **state)
{
    fx *f = *state;
    ingest(f, "x12/834/lfh_x12__834_add-dependent.834", NULL);
    json_t *evs = all_events(f);
    json_t *cov = first_of(evs, "coverage");
    assert_non_null(cov);
    lx_edi_out *o = out_for(f, &f->insurer);
    lx_buf b;
    lx_buf_init(&b, 0);
    char name[256];
    bool skip = true;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_edi_out_build(o, cov, &b, name, sizeof(name), &skip, &err);
    if (rc != 0)
        fail_msg("%s (%s)", err.msg, err.where);
    assert_false(skip);
    assert_string_equal(name, "insurer-000000001-834.x12");
    json_t *t = parse_x12(f, &b);
    const char *i0 = "/interchanges/0";
    char p[160];
    snprintf(p, sizeof(p), "%s/ISA/ISA06", i0);
    assert_string_equal(at(t, p), "LINGUAHUB      ");
    snprintf(p, sizeof(p), "%s/ISA/ISA08", i0);
    assert_string_equal(at(t, p), "INSURER01      ");
    snprintf(p, sizeof(p), "%s/ISA/ISA15", i0);
    assert_string_equal(at(t, p), "T");
    snprintf(p, sizeof(p), "%s/ISA/ISA13", i0);
    assert_string_equal(at(t, p), "000000001");
    snprintf(p, sizeof(p), "%s/groups/0/GS/GS03", i0);
    assert_string_equal(at(t, p), "INSAPP");
    snprintf(p, sizeof(p), "%s/groups/0/GS/GS01", i0);
    assert_string_equal(at(t, p), "BE");
    /* The member: a dependent (INS01 N, child 19), created (021), named
     * by the person record, its member id in NM109. */
    const char *m = "/interchanges/0/groups/0/transactions/0/loops/2";
    snprintf(p, sizeof(p), "%s/segments/0/INS01", m);
    assert_string_equal(at(t, p), "N");
    snprintf(p, sizeof(p), "%s/segments/0/INS02", m);
    assert_string_equal(at(t, p), "19");
    snprintf(p, sizeof(p), "%s/segments/0/INS03", m);
    assert_string_equal(at(t, p), "021");
    snprintf(p, sizeof(p), "%s/segments/1/REF02", m);
    assert_string_equal(at(t, p), "123456789");
    snprintf(p, sizeof(p), "%s/loops/0/segments/0/NM103", m);
    assert_string_equal(at(t, p), "DOE");
    snprintf(p, sizeof(p), "%s/loops/0/segments/0/NM109", m);
    assert_string_equal(at(t, p), "103229876");
    snprintf(p, sizeof(p), "%s/loops/1/segments/0/HD01", m);
    assert_string_equal(at(t, p), "021");
    snprintf(p, sizeof(p), "%s/loops/1/segments/0/HD03", m);
    assert_string_equal(at(t, p), "HLT");
    json_decref(t);

    /* It maps back in to the same coverage and person. */
    lx_edi_inbound_options in = {.store = f->store, .registry = f->reg,
                                 .x12_defs = f->x12, .maps = f->maps,
                                 .system = "hr", .adapter = "hr-in"};
    lx_edi_outcome oc;
    /* The partner's view is reversed: the hub is the receiver here. */
    assert_int_equal(lx_edi_inbound_process(&in, b.data, b.len, &oc, &err),
                     0);
    assert_int_equal(oc.rejected, 0);
    assert_int_equal(oc.refused, 0);

    /* The next interchange takes the next control numbers; updated and
     * deleted events say 001 and 024. */
    json_object_set_new(cov, "type", json_string("coverage.deleted"));
    lx_buf_fini(&b);
    lx_buf_init(&b, 0);
    assert_int_equal(lx_edi_out_build(o, cov, &b, name, sizeof(name), &skip,
                                      &err),
                     0);
    assert_string_equal(name, "insurer-000000002-834.x12");
    t = parse_x12(f, &b);
    snprintf(p, sizeof(p), "%s/segments/0/INS03", m);
    assert_string_equal(at(t, p), "024");
    assert_string_equal(at(t, "/interchanges/0/groups/0/GS/GS06"), "2");
    assert_string_equal(
        at(t, "/interchanges/0/groups/0/transactions/0/ST/ST02"), "0002");
    json_decref(t);

    /* The person was created (stored after its coverage in this file):
     * nothing at the partner to change, skipped. */
    lx_buf_fini(&b);
    lx_buf_init(&b, 0);
    assert_int_equal(lx_edi_out_build(o, first_of(evs, "person"), &b, name,
                                      sizeof(name), &skip, &err),
                     0);
    assert_true(skip);
    assert_int_equal(b.len, 0);
    lx_buf_fini(&b);
    lx_edi_out_destroy(&o);
    json_decref(evs);
}

static void test_edi_out_unknown_person_is_refused_with_a_reason(void **state)
{
    fx *f = *state;
    json_t *ev = json_pack(
        "{s:I,s:s,s:s,s:{s:[{s:s,s:s}],s:{s:s,s:{s:s,s:s}},s:{s:s}}}", "seq",
        (json_int_t)7, "type", "coverage.created", "entity", "coverage",
        "record", "identifiers", "system", "urn:x", "value", "1",
        "subscriber", "entity", "person", "identifier", "system",
        "urn:lingua:x12:834:member-id", "value", "404", "plan", "type",
        "health");
    lx_edi_out *o = out_for(f, &f->insurer);
    lx_buf b;
    lx_buf_init(&b, 0);
    char name[256];
    bool skip;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_edi_out_build(o, ev, &b, name, sizeof(name), &skip,
                                      &err),
                     LX_ENOTFOUND);
    assert_non_null(strstr(err.msg, "subscriber"));
    assert_non_null(strstr(err.msg, "not in the store"));
    /* No control number was spent on it. */
    uint64_t next = 0;
    assert_int_equal(lx_store_counter_next(f->store, "x12-isa13/insurer", 1,
                                           0, &next, &err),
                     0);
    assert_int_equal(next, 1);
    lx_buf_fini(&b);
    lx_edi_out_destroy(&o);
    json_decref(ev);
}

static void test_edi_out_orders_for_an_edifact_partner(void **state)
{
    fx *f = *state;
    ingest(f, "edifact/orders/vscodeedi__sample-orders.edifact", NULL);
    json_t *evs = all_events(f);
    json_t *order = first_of(evs, "order");
    assert_non_null(order);
    lx_edi_out *o = out_for(f, &f->supplier);
    lx_buf b;
    lx_buf_init(&b, 0);
    char name[256];
    bool skip;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_edi_out_build(o, order, &b, name, sizeof(name), &skip, &err);
    if (rc != 0)
        fail_msg("%s (%s)", err.msg, err.where);
    assert_string_equal(name, "supplier-000000001-ORDERS.edi");
    assert_non_null(strstr(b.data, "UNB+UNOC:3+LINGUAHUB:ZZZ+5412345000013:14"));
    assert_non_null(strstr(b.data, "UNH+1+ORDERS:D:96A:UN"));
    assert_non_null(strstr(b.data, "UNZ+1+1'"));
    /* The X12 partner gets an 850 for an order that came as an 850. */
    json_decref(evs);
    ingest(f, "x12/850/bots__850-004010-01.x12", NULL);
    evs = all_events(f);
    json_t *po = NULL;
    size_t i;
    json_t *ev;
    json_array_foreach(evs, i, ev)
    {
        /* The last order: the one of the 850. */
        if (strcmp(json_string_value(json_object_get(ev, "entity")),
                   "order") == 0)
            po = ev;
    }
    assert_non_null(po);
    lx_edi_out *x = out_for(f, &f->insurer);
    lx_buf_fini(&b);
    lx_buf_init(&b, 0);
    rc = lx_edi_out_build(x, po, &b, name, sizeof(name), &skip, &err);
    if (rc != 0)
        fail_msg("%s (%s)", err.msg, err.where);
    json_t *t = parse_x12(f, &b);
    assert_string_equal(at(t, "/interchanges/0/groups/0/GS/GS01"), "PO");
    json_decref(t);
    lx_buf_fini(&b);
    lx_edi_out_destroy(&x);
    lx_edi_out_destroy(&o);
    json_decref(evs);
}

static void upserted(void *ctx, const lx_upsert_result *res)
{
    assert_int_equal(res->code, 0);
    atomic_fetch_add((atomic_int *)ctx, 1);
}

/* Store one record as system "hr" and wait (bounded) for the commit. */
static void put_record(fx *f, const char *entity, const char *json)
{
    json_t *rec = json_loads(json, 0, NULL);
    assert_non_null(rec);
    atomic_int done = 0;
    lx_upsert u = {.entity = entity, .system = "hr", .record = rec};
    lx_error err;
    if (lx_ingest_submit(f->store, f->reg, &u, upserted, &done, &err) != 0)
        fail_msg("%s", err.msg);
    for (int i = 0; i < 500 && atomic_load(&done) == 0; i++)
        usleep(10000);
    assert_int_equal(atomic_load(&done), 1);
    json_decref(rec);
}

static void test_edi_out_834_member_id_falls_back_to_the_reference(
    void **state)
{
    fx *f = *state;
    /* An HR person (worker id only) and its enrollment, as the demo's HR
     * system sends them: no 834 member id anywhere. */
    put_record(f, "person",
               "{\"identifiers\": [{\"system\": "
               "\"urn:lingua:hropen:worker-id\", \"value\": \"E-1001\"}],"
               " \"name\": {\"family\": \"Okafor\", \"given\": "
               "[\"Amara\"]}, \"birth_date\": \"1990-04-12\", "
               "\"gender\": \"female\"}");
    put_record(f, "coverage",
               "{\"identifiers\": [{\"system\": \"urn:x:enrollment\", "
               "\"value\": \"ENR-1\"}], \"subscriber\": {\"entity\": "
               "\"person\", \"identifier\": {\"system\": "
               "\"urn:lingua:hropen:worker-id\", \"value\": \"E-1001\"}},"
               " \"relationship\": \"self\", \"plan\": {\"type\": "
               "\"health\", \"code\": \"PPO-GOLD\"}, \"period\": "
               "{\"start\": \"2027-01-01\"}, \"group\": {\"identifier\":"
               " {\"system\": \"urn:x:group\", \"value\": \"GRP-1\"}}}");
    json_t *evs = all_events(f);
    json_t *cov = first_of(evs, "coverage");
    assert_non_null(cov);
    lx_edi_out *o = out_for(f, &f->insurer);
    lx_buf b;
    lx_buf_init(&b, 0);
    char name[256];
    bool skip;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_edi_out_build(o, cov, &b, name, sizeof(name), &skip, &err);
    if (rc != 0)
        fail_msg("%s (%s)", err.msg, err.where);
    json_t *t = parse_x12(f, &b);
    const char *m = "/interchanges/0/groups/0/transactions/0/loops/2";
    char p[160];
    snprintf(p, sizeof(p), "%s/segments/0/INS01", m);
    assert_string_equal(at(t, p), "Y");
    snprintf(p, sizeof(p), "%s/segments/1/REF02", m);
    assert_string_equal(at(t, p), "E-1001");
    snprintf(p, sizeof(p), "%s/loops/0/segments/0/NM103", m);
    assert_string_equal(at(t, p), "Okafor");
    snprintf(p, sizeof(p), "%s/loops/1/segments/0/HD04", m);
    assert_string_equal(at(t, p), "PPO-GOLD");
    json_decref(t);
    lx_buf_fini(&b);
    lx_edi_out_destroy(&o);

    /* With member_id_system configured, no fallback: refused, named. */
    lx_edi_out_options oo = {.store = f->store, .x12_defs = f->x12,
                             .maps = f->maps, .partner = &f->insurer,
                             .outbox = f->outbox,
                             .member_id_system = "urn:x:member"};
    assert_int_equal(lx_edi_out_new(&oo, &o, &err), 0);
    lx_buf_init(&b, 0);
    assert_int_equal(lx_edi_out_build(o, cov, &b, name, sizeof(name), &skip,
                                      &err),
                     LX_EINVAL);
    assert_non_null(strstr(err.msg, "urn:x:member"));
    lx_buf_fini(&b);
    lx_edi_out_destroy(&o);
    json_decref(evs);
}

/* ---- partners on the inbound side ---- */

static void test_partner_inbound_wrong_sender_is_refused(void **state)
{
    fx *f = *state;
    size_t len = 0;
    char *data = corpus("x12/834/lfh_x12__834_add-subscriber-coverage.834",
                        &len);
    if (!data)
        skip();
    lx_edi_inbound_options o = {.store = f->store, .registry = f->reg,
                                .x12_defs = f->x12, .maps = f->maps,
                                .system = "insurer", .adapter = "insurer-in",
                                .ack_outbox = f->outbox,
                                .partner = &f->insurer};
    lx_edi_outcome out;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_edi_inbound_process(&o, data, len, &out, &err),
                     LX_EINVAL);
    assert_non_null(strstr(err.msg, "interchange 1"));
    assert_non_null(strstr(err.msg, "ISA"));
    assert_non_null(strstr(err.msg, "partner insurer"));
    assert_null(strstr(err.msg, "123456789012345")); /* no value quoted */
    assert_int_equal(lx_store_last_seq(f->store), 0);
    assert_string_equal(out.ack_path, "");
    free(data);
}

static void test_partner_inbound_ta1_with_the_partner_ids(void **state)
{
    fx *f = *state;
    size_t len = 0;
    char *data = corpus("x12/834/lfh_x12__834_add-subscriber-coverage.834",
                        &len);
    if (!data)
        skip();
    lx_edi_inbound_options o = {.store = f->store, .registry = f->reg,
                                .x12_defs = f->x12, .maps = f->maps,
                                .system = "insurer", .adapter = "insurer-in",
                                .ack_outbox = f->outbox,
                                .partner = &f->sender};
    lx_edi_outcome out;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_edi_inbound_process(&o, data, len, &out, &err);
    if (rc != 0)
        fail_msg("%s", err.msg);
    assert_non_null(strstr(out.ack_path, "sender-000000001-TA1.x12"));
    size_t alen;
    char *ack = slurp(out.ack_path, &alen);
    assert_non_null(strstr(ack, "*ZZ*123456789012346*ZZ*123456789012345*"));
    assert_non_null(strstr(ack, "TA1*000010216*080503*1705*A*000~"));
    assert_non_null(strstr(ack, "IEA*0*000000001~"));
    assert_null(strstr(ack, "GS*"));
    free(ack);
    free(data);
}

static void expect_bad(const char *json, const char *ptr, const char *what)
{
    json_t *p = json_loads(json, 0, NULL);
    assert_non_null(p);
    lx_edi_partner out;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_edi_partner_parse(p, "x", &out, &err), LX_ECONFIG);
    if (strcmp(err.where, ptr) != 0 || !strstr(err.msg, what))
        fail_msg("%s: got %s: %s", json, err.where, err.msg);
    json_decref(p);
}

static void test_partner_profile_errors_are_located(void **state)
{
    (void)state;
    expect_bad("{}", "/partners/x", "no such partner");
    expect_bad("{\"x\": {}}", "/partners/x", "x12");
    expect_bad("{\"x\": {\"usage\": \"live\", \"x12\": {}}}",
               "/partners/x/usage", "test");
    expect_bad("{\"x\": {\"x12\": {\"ours\": {\"qualifier\": \"ZZ\", "
               "\"id\": \"AB\"}}}}",
               "/partners/x/x12", "theirs");
    expect_bad("{\"x\": {\"x12\": {\"ours\": {\"qualifier\": \"ZZ\", "
               "\"id\": \"0123456789ABCDEF\"}}}}",
               "/partners/x/x12/ours/id", "1 to 15");
    expect_bad("{\"x\": {\"x12\": {\"ours\": {\"qualifer\": \"ZZ\"}}}}",
               "/partners/x/x12/ours/qualifer", "unknown key");
    expect_bad("{\"x\": {\"x12\": {\"ours\": {\"qualifier\": \"ZZ\", "
               "\"id\": \"AB\"}, \"theirs\": {\"qualifier\": \"ZZ\", "
               "\"id\": \"CD\"}, \"ack\": \"CONTRL\"}}}",
               "/partners/x/x12/ack", "997, 999, TA1 or none");
    expect_bad("{\"x\": {\"x12\": {\"ours\": {\"qualifier\": \"ZZ\", "
               "\"id\": \"A*B\"}, \"theirs\": {\"qualifier\": \"ZZ\", "
               "\"id\": \"CD\"}}}}",
               "/partners/x/x12/ours", "delimiters");
    expect_bad("{\"x\": {\"x12\": {\"ours\": {\"qualifier\": \"ZZ\", "
               "\"id\": \"AB\"}, \"theirs\": {\"qualifier\": \"ZZ\", "
               "\"id\": \"CD\"}, \"delimiters\": {\"element\": \"~\"}}}}",
               "/partners/x/x12/delimiters", "differ");
    expect_bad("{\"x\": {\"edifact\": {\"ours\": {\"id\": \"A\"}, "
               "\"theirs\": {\"id\": \"B\"}, \"una\": \":+\"}}}",
               "/partners/x/edifact/una", "6 service characters");
}


/* ---- bodies of orders and invoices ---- */

/* Build the interchange of ev with o into *b (name: its file name, 256
 * bytes); an error or a skip fails the test with its message. */
static void build_event(lx_edi_out *o, const json_t *ev, lx_buf *b,
                        char *name)
{
    bool skip = true;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_edi_out_build(o, ev, b, name, 256, &skip, &err);
    if (rc != 0)
        fail_msg("%s (%s)", err.msg, err.where);
    assert_false(skip);
}

/* The same for `event_json` and partner p. */
static void build_ok(fx *f, const lx_edi_partner *p, const char *event_json,
                     lx_buf *b)
{
    json_t *ev = json_loads(event_json, 0, NULL);
    assert_non_null(ev);
    lx_edi_out *o = out_for(f, p);
    char name[256];
    build_event(o, ev, b, name);
    lx_edi_out_destroy(&o);
    json_decref(ev);
}

static int keep_record(void *ctx, const char *entity, const char *native_type,
                       const char *native_id, json_t *record)
{
    (void)entity;
    (void)native_type;
    (void)native_id;
    json_array_append(ctx, record);
    return 0;
}

static void assert_same_json(const json_t *got, const json_t *want)
{
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
        char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
        fail_msg("got  %s\nwant %s", g, w);
    }
}

/* An outbound interchange maps back in to exactly one record: want. */
static void assert_maps_back(fx *f, const lx_buf *b, bool edifact,
                             const json_t *want)
{
    json_t *recs = json_array();
    lx_error err;
    lx_error_clear(&err);
    int rc;
    if (edifact) {
        lx_edifact_options eo = {.defs = f->edifact};
        json_t *tree = NULL;
        rc = lx_edifact_parse(b->data, b->len, &eo, &tree, NULL, &err);
        if (rc == 0)
            rc = lx_edi_edifact_to_canonical(f->maps, tree, keep_record, recs,
                                             &err);
        json_decref(tree);
    } else {
        json_t *tree = parse_x12(f, b);
        rc = lx_edi_x12_to_canonical(f->maps, tree, keep_record, recs, &err);
        json_decref(tree);
    }
    if (rc != 0)
        fail_msg("%s (%s)\n%.*s", err.msg, err.where, (int)b->len, b->data);
    assert_int_equal(json_array_size(recs), 1);
    assert_same_json(json_array_get(recs, 0), want);
    json_decref(recs);
}

#define INVOIC_EVENT                                                         \
    "{\"seq\": 3, \"type\": \"invoice.created\", \"entity\": \"invoice\","  \
    " \"record\": " INVOIC_RECORD "}"
#define INVOIC_RECORD                                                        \
    "{\"identifiers\": [{\"system\": "                                       \
    "\"urn:lingua:edifact:invoice-number\", \"value\": \"INV-1\"}],"         \
    " \"invoice_date\": \"2027-01-20\", \"due_date\": \"2027-02-19\","      \
    " \"currency\": \"EUR\", \"lines\": ["                                   \
    "{\"line_number\": 1, \"quantity\": 5, \"unit_price\": 3.2,"             \
    " \"amount\": 16, \"item\": {\"identifiers\": [{\"system\": "            \
    "\"urn:gs1:gtin\", \"value\": \"4000862141404\"}]}},"                    \
    "{\"line_number\": 2, \"quantity\": 1, \"amount\": 2, \"item\": "        \
    "{\"identifiers\": [{\"system\": \"urn:gs1:gtin\", \"value\": "          \
    "\"4000862141411\"}]}}],"                                                \
    " \"total\": 21.42, \"subtotal\": 18, \"tax_total\": 3.42}"

static void test_edi_out_invoic_with_line_amounts_has_uns_before_summary(
    void **state)
{
    fx *f = *state;
    lx_buf b;
    lx_buf_init(&b, 0);
    /* Line amounts (SG26 MOA+203) used to be written after the price
     * (SG28): read back, that MOA fell to the summary without a UNS and
     * the interchange was refused. */
    build_ok(f, &f->supplier, INVOIC_EVENT, &b);
    const char *moa203 = strstr(b.data, "MOA+203:16'");
    const char *pri = strstr(b.data, "PRI+AAA:3.2'");
    const char *uns = strstr(b.data, "UNS+S'");
    const char *moa77 = strstr(b.data, "MOA+77:21.42'");
    assert_non_null(moa203);
    assert_non_null(pri);
    assert_non_null(uns);
    assert_non_null(moa77);
    assert_true(moa203 < pri);
    assert_true(pri < uns);
    assert_null(strstr(uns, "MOA+203")); /* no line amount after UNS */
    assert_true(uns < moa77);
    /* And it maps back to the same invoice. */
    json_t *want = json_loads(INVOIC_RECORD, 0, NULL);
    assert_maps_back(f, &b, true, want);
    json_decref(want);
    lx_buf_fini(&b);
}

#define INVOICE_810_RECORD                                                   \
    "{\"identifiers\": [{\"system\": \"urn:lingua:x12:invoice-number\","     \
    " \"value\": \"IN-810-1\"}], \"invoice_date\": \"2027-01-20\","          \
    " \"order\": {\"entity\": \"order\", \"identifier\": {\"system\": "      \
    "\"urn:lingua:x12:po-number\", \"value\": \"PO-1\"}},"                   \
    " \"lines\": [{\"line_number\": 1, \"quantity\": 5, \"unit\": \"EA\","   \
    " \"unit_price\": 3.2, \"item\": {\"identifiers\": [{\"system\": "       \
    "\"urn:lingua:x12:product-id:VN\", \"value\": \"V-1\"}]}}],"             \
    " \"total\": 17.12, \"tax_total\": 1.12}"

static void test_edi_out_810_carries_the_tax_total_in_txi(void **state)
{
    fx *f = *state;
    lx_buf b;
    lx_buf_init(&b, 0);
    build_ok(f, &f->insurer,
             "{\"seq\": 4, \"type\": \"invoice.created\", \"entity\": "
             "\"invoice\", \"record\": " INVOICE_810_RECORD "}",
             &b);
    json_t *t = parse_x12(f, &b);
    const json_t *sum =
        walk(t, "/interchanges/0/groups/0/transactions/0/summary");
    assert_string_equal(at(sum, "/0/TDS01"), "1712");
    assert_string_equal(at(sum, "/1/id"), "TXI");
    assert_string_equal(at(sum, "/1/TXI01"), "TX");
    assert_string_equal(at(sum, "/1/TXI02"), "1.12");
    json_decref(t);
    /* Round trip: the same invoice, tax total included. */
    json_t *want = json_loads(INVOICE_810_RECORD, 0, NULL);
    assert_maps_back(f, &b, false, want);
    json_decref(want);
    lx_buf_fini(&b);
}

#define ORDER_850_EVENT                                                      \
    "{\"seq\": 5, \"type\": \"order.created\", \"entity\": \"order\","      \
    " \"record\": {\"identifiers\": [{\"system\": "                          \
    "\"urn:lingua:x12:po-number\", \"value\": \"PO-850-1\"}],"               \
    " \"order_date\": \"2027-01-10\", \"status\": \"submitted\","         \
    " \"buyer\": {\"entity\": "                                              \
    "\"organization\", \"identifier\": {\"system\": "                        \
    "\"urn:lingua:x12:id-qualifier:92\", \"value\": \"B-77\"}},"             \
    " \"ship_to\": {\"lines\": [\"1 Dock Road\"], \"city\": \"Leeds\","      \
    " \"postal_code\": \"LS1 4AP\", \"country\": \"GB\"},"                   \
    " \"lines\": [{\"line_number\": 1, \"quantity\": 2, \"unit\": \"EA\","   \
    " \"item\": {\"identifiers\": [{\"system\": "                            \
    "\"urn:lingua:x12:product-id:VN\", \"value\": \"V-1\"}]}}]}}"

/* The N1 loop of the 850 whose N101 is q, or NULL. */
static const json_t *n1_loop(const json_t *t, const char *q)
{
    const json_t *loops =
        walk(t, "/interchanges/0/groups/0/transactions/0/loops");
    size_t i;
    const json_t *l;
    json_array_foreach(loops, i, l)
    {
        const char *n101 = json_string_value(
            walk(l, "/segments/0/N101"));
        if (n101 && strcmp(n101, q) == 0)
            return l;
    }
    return NULL;
}

static void test_edi_out_850_without_status_is_an_original(void **state)
{
    fx *f = *state;
    lx_buf b;
    lx_buf_init(&b, 0);
    /* BEG01 is mandatory; an order that says nothing of its status (most
     * orders a REST or HR system sends) goes out as an original, 00, rather
     * than being dead-lettered for a missing BEG01. */
    json_t *ev = json_loads(ORDER_850_EVENT, 0, NULL);
    json_object_del(json_object_get(ev, "record"), "status");
    char *text = json_dumps(ev, JSON_COMPACT);
    build_ok(f, &f->insurer, text, &b);
    json_t *t = parse_x12(f, &b);
    assert_string_equal(
        at(t, "/interchanges/0/groups/0/transactions/0/segments/0/BEG01"),
        "00");
    json_decref(t);
    free(text);
    json_decref(ev);
    lx_buf_fini(&b);
}

static void test_edi_out_850_ship_to_is_named_or_left_out(void **state)
{
    fx *f = *state;
    lx_buf b;
    lx_buf_init(&b, 0);
    /* No buyer organization in the store, nothing configured: no N1*ST
     * (it used to go out as "N1*ST~", no name and no id), the order and
     * the rest of it still go. */
    build_ok(f, &f->insurer, ORDER_850_EVENT, &b);
    assert_null(strstr(b.data, "N1*ST"));
    json_t *t = parse_x12(f, &b);
    assert_null(n1_loop(t, "ST"));
    assert_non_null(n1_loop(t, "BY"));
    json_decref(t);

    /* A configured name is the fallback. */
    lx_edi_out_options oo = {.store = f->store, .x12_defs = f->x12,
                             .maps = f->maps, .partner = &f->insurer,
                             .outbox = f->outbox,
                             .ship_to_name = "ACME RECEIVING"};
    lx_edi_out *o = NULL;
    lx_error err;
    assert_int_equal(lx_edi_out_new(&oo, &o, &err), 0);
    json_t *ev = json_loads(ORDER_850_EVENT, 0, NULL);
    char name[256];
    bool skip;
    lx_buf_fini(&b);
    lx_buf_init(&b, 0);
    assert_int_equal(lx_edi_out_build(o, ev, &b, name, sizeof(name), &skip,
                                      &err),
                     0);
    t = parse_x12(f, &b);
    const json_t *st = n1_loop(t, "ST");
    assert_non_null(st);
    assert_string_equal(at(st, "/segments/0/N102"), "ACME RECEIVING");
    assert_string_equal(at(st, "/segments/1/N301"), "1 Dock Road");
    json_decref(t);

    /* The buyer organization's name comes first. */
    put_record(f, "organization",
               "{\"identifiers\": [{\"system\": "
               "\"urn:lingua:x12:id-qualifier:92\", \"value\": \"B-77\"}],"
               " \"name\": \"Northwind Stores\"}");
    lx_buf_fini(&b);
    lx_buf_init(&b, 0);
    assert_int_equal(lx_edi_out_build(o, ev, &b, name, sizeof(name), &skip,
                                      &err),
                     0);
    t = parse_x12(f, &b);
    st = n1_loop(t, "ST");
    assert_non_null(st);
    assert_string_equal(at(st, "/segments/0/N102"), "Northwind Stores");
    json_decref(t);

    /* In again: the same order (N102 has no place in it, nothing else is
     * lost or added). */
    assert_maps_back(f, &b, false, json_object_get(ev, "record"));

    /* A buyer's name that cannot be written (a delimiter in it) is not
     * used; a configured one is refused at start. */
    put_record(f, "organization",
               "{\"identifiers\": [{\"system\": "
               "\"urn:lingua:x12:id-qualifier:92\", \"value\": \"B-77\"}],"
               " \"name\": \"Northwind*Stores\"}");
    lx_buf_fini(&b);
    lx_buf_init(&b, 0);
    assert_int_equal(lx_edi_out_build(o, ev, &b, name, sizeof(name), &skip,
                                      &err),
                     0);
    t = parse_x12(f, &b);
    st = n1_loop(t, "ST");
    assert_non_null(st);
    assert_string_equal(at(st, "/segments/0/N102"), "ACME RECEIVING");
    json_decref(t);
    lx_edi_out_destroy(&o);
    oo.ship_to_name = "A*B";
    assert_int_equal(lx_edi_out_new(&oo, &o, &err), LX_EINVAL);
    assert_non_null(strstr(err.msg, "ship_to_name"));
    json_decref(ev);
    lx_edi_out_destroy(&o);
    lx_buf_fini(&b);
}

/* ---- 834 for a person change ---- */

#define MEMBER_PERSON(city)                                                  \
    "{\"identifiers\": [{\"system\": \"urn:lingua:x12:834:member-id\","      \
    " \"value\": \"MBR-1\"}], \"name\": {\"family\": \"Adeyemi\","           \
    " \"given\": [\"Tola\"]}, \"birth_date\": \"1984-03-02\","               \
    " \"gender\": \"female\", \"addresses\": [{\"lines\": [\"9 Elm St\"],"   \
    " \"city\": \"" city "\", \"state\": \"IL\", \"postal_code\": "         \
    "\"62701\"}]}"

static void put_coverage(fx *f, const char *id, const char *subscriber,
                         const char *beneficiary, const char *plan,
                         const char *group)
{
    char json[1024];
    char ben[160] = "";
    if (beneficiary)
        snprintf(ben, sizeof(ben),
                 "\"beneficiary\": {\"entity\": \"person\", \"identifier\": "
                 "{\"system\": \"urn:lingua:x12:834:member-id\", "
                 "\"value\": \"%s\"}}, \"relationship\": \"child\", ",
                 beneficiary);
    snprintf(json, sizeof(json),
             "{\"identifiers\": [{\"system\": \"urn:x:enrollment\", "
             "\"value\": \"%s\"}], \"subscriber\": {\"entity\": \"person\", "
             "\"identifier\": {\"system\": \"urn:lingua:x12:834:member-id\","
             " \"value\": \"%s\"}}, %s\"plan\": {\"type\": \"%s\"}, "
             "\"period\": {\"start\": \"2027-01-01\"}, \"group\": "
             "{\"identifier\": {\"system\": \"urn:x:group\", \"value\": "
             "\"%s\"}}}",
             id, subscriber, ben, plan, group);
    put_record(f, "coverage", json);
}

static json_t *last_of(json_t *evs, const char *entity)
{
    json_t *last = NULL;
    size_t i;
    json_t *ev;
    json_array_foreach(evs, i, ev)
    {
        if (strcmp(json_string_value(json_object_get(ev, "entity")),
                   entity) == 0)
            last = ev;
    }
    return last;
}

static void test_edi_out_person_change_sends_834_per_coverage(void **state)
{
    fx *f = *state;
    put_record(f, "person", MEMBER_PERSON("Springfield"));
    put_record(f, "person",
               "{\"identifiers\": [{\"system\": "
               "\"urn:lingua:x12:834:member-id\", \"value\": \"MBR-2\"}],"
               " \"name\": {\"family\": \"Adeyemi\", \"given\": [\"Ayo\"]}}");
    /* Her health and dental coverages share group and payor: one member
     * loop says it for both. Vision is another group: its own set. Her
     * child's coverage names her as subscriber only: not hers to send. */
    put_coverage(f, "ENR-H", "MBR-1", NULL, "health", "GRP-1");
    put_coverage(f, "ENR-D", "MBR-1", NULL, "dental", "GRP-1");
    put_coverage(f, "ENR-V", "MBR-1", NULL, "vision", "GRP-2");
    put_coverage(f, "ENR-C", "MBR-1", "MBR-2", "health", "GRP-1");
    put_record(f, "person", MEMBER_PERSON("Chicago")); /* she moved */
    json_t *evs = all_events(f);
    json_t *moved = last_of(evs, "person");
    assert_string_equal(json_string_value(json_object_get(moved, "type")),
                        "person.updated");
    lx_edi_out *o = out_for(f, &f->insurer);
    lx_buf b;
    lx_buf_init(&b, 0);
    char name[256];
    build_event(o, moved, &b, name);
    assert_string_equal(name, "insurer-000000001-834.x12");
    json_t *t = parse_x12(f, &b);
    const json_t *txns = walk(t, "/interchanges/0/groups/0/transactions");
    assert_int_equal(json_array_size(txns), 2);
    assert_string_equal(at(txns, "/0/ST/ST02"), "0001");
    assert_string_equal(at(txns, "/1/ST/ST02"), "0002");
    for (size_t i = 0; i < 2; i++) {
        const json_t *m = walk(json_array_get(txns, i), "/loops/2");
        assert_string_equal(at(m, "/segments/0/INS01"), "Y");
        assert_string_equal(at(m, "/segments/0/INS03"), "001");
        assert_string_equal(at(m, "/segments/0/INS04"), "43");
        assert_string_equal(at(m, "/segments/1/REF02"), "MBR-1");
        assert_string_equal(at(m, "/loops/0/id"), "2100A");
        assert_int_equal(json_array_size(json_object_get(m, "loops")), 1);
        const json_t *segs = walk(m, "/loops/0/segments");
        size_t k;
        const json_t *sg;
        const char *city = NULL;
        json_array_foreach(segs, k, sg)
        {
            if (strcmp(json_string_value(json_object_get(sg, "id")), "N4") ==
                0)
                city = json_string_value(json_object_get(sg, "N401"));
        }
        assert_non_null(city);
        assert_string_equal(city, "Chicago");
    }
    assert_string_equal(at(txns, "/0/segments/1/REF02"), "GRP-1");
    assert_string_equal(at(txns, "/1/segments/1/REF02"), "GRP-2");
    json_decref(t);

    /* In again: her person record only (no 2300, no coverage), moved. */
    json_t *want = json_loads(MEMBER_PERSON("Chicago"), 0, NULL);
    json_object_set_new(want, "birth_date", json_string("1984-03-02"));
    json_t *recs = json_array();
    t = parse_x12(f, &b);
    lx_error err;
    assert_int_equal(lx_edi_x12_to_canonical(f->maps, t, keep_record, recs,
                                             &err),
                     0);
    assert_int_equal(json_array_size(recs), 2);
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r)
    {
        assert_same_json(json_object_get(r, "addresses"),
                         json_object_get(want, "addresses"));
        assert_same_json(json_object_get(r, "name"),
                         json_object_get(want, "name"));
        assert_null(json_object_get(r, "subscriber"));
    }
    json_decref(recs);
    json_decref(t);
    json_decref(want);

    /* Her vision coverage ends (deleted): her next move goes out for
     * health and dental only. */
    const char *vision = NULL;
    size_t k;
    json_t *ev;
    json_array_foreach(evs, k, ev)
    {
        const char *v = json_string_value(
            walk(ev, "/record/identifiers/0/value"));
        if (v && strcmp(v, "ENR-V") == 0)
            vision = json_string_value(json_object_get(ev, "canonical_id"));
    }
    assert_non_null(vision);
    lx_upsert del = {.op = LX_STORE_DELETE, .entity = "coverage",
                     .system = "hr", .canonical_id = vision};
    lx_upsert_result res;
    assert_int_equal(lx_store_upsert(f->store, &del, &res), 0);
    put_record(f, "person", MEMBER_PERSON("Peoria"));
    json_decref(evs);
    evs = all_events(f);
    lx_buf_fini(&b);
    lx_buf_init(&b, 0);
    build_event(o, last_of(evs, "person"), &b, name);
    t = parse_x12(f, &b);
    txns = walk(t, "/interchanges/0/groups/0/transactions");
    assert_int_equal(json_array_size(txns), 1);
    assert_string_equal(at(txns, "/0/segments/1/REF02"), "GRP-1");
    json_decref(t);

    /* The child's change goes on the child's coverage (INS01 N), her
     * name change says 25. */
    put_record(f, "person",
               "{\"identifiers\": [{\"system\": "
               "\"urn:lingua:x12:834:member-id\", \"value\": \"MBR-2\"}],"
               " \"name\": {\"family\": \"Adeyemi-Cole\", \"given\": "
               "[\"Ayo\"]}}");
    json_decref(evs);
    evs = all_events(f);
    lx_buf_fini(&b);
    lx_buf_init(&b, 0);
    build_event(o, last_of(evs, "person"), &b, name);
    t = parse_x12(f, &b);
    txns = walk(t, "/interchanges/0/groups/0/transactions");
    assert_int_equal(json_array_size(txns), 1);
    const json_t *m = walk(json_array_get(txns, 0), "/loops/2");
    assert_string_equal(at(m, "/segments/0/INS01"), "N");
    assert_string_equal(at(m, "/segments/0/INS04"), "25");
    assert_string_equal(at(m, "/loops/0/segments/0/NM103"), "Adeyemi-Cole");
    json_decref(t);

    /* A person who is nobody's member: nothing to send. */
    put_record(f, "person",
               "{\"identifiers\": [{\"system\": "
               "\"urn:lingua:x12:834:member-id\", \"value\": \"MBR-9\"}],"
               " \"name\": {\"family\": \"Nobody\"}}");
    put_record(f, "person",
               "{\"identifiers\": [{\"system\": "
               "\"urn:lingua:x12:834:member-id\", \"value\": \"MBR-9\"}],"
               " \"name\": {\"family\": \"Noone\"}}");
    json_decref(evs);
    evs = all_events(f);
    lx_buf_fini(&b);
    lx_buf_init(&b, 0);
    bool skip = false;
    assert_int_equal(lx_edi_out_build(o, last_of(evs, "person"), &b, name,
                                      sizeof(name), &skip, &err),
                     0);
    assert_true(skip);
    assert_string_equal(json_string_value(json_object_get(
                            last_of(evs, "person"), "type")),
                        "person.updated");
    lx_buf_fini(&b);
    lx_edi_out_destroy(&o);
    json_decref(evs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_edi_out_834_for_a_dependent_coverage, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_edi_out_unknown_person_is_refused_with_a_reason, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_edi_out_orders_for_an_edifact_partner, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_edi_out_834_member_id_falls_back_to_the_reference, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_partner_inbound_wrong_sender_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_partner_inbound_ta1_with_the_partner_ids, setup, teardown),
        cmocka_unit_test(test_partner_profile_errors_are_located),
        cmocka_unit_test_setup_teardown(
            test_edi_out_invoic_with_line_amounts_has_uns_before_summary,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_edi_out_810_carries_the_tax_total_in_txi, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_edi_out_850_ship_to_is_named_or_left_out, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_edi_out_850_without_status_is_an_original, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_edi_out_person_change_sends_834_per_coverage, setup,
            teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
