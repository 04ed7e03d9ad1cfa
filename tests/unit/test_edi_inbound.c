/* Tests of the inbound EDI pipeline (adapters/edi/edi_inbound.h): corpus
 * interchanges into a real store, with acknowledgements in an outbox. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "adapters/edi/edi_inbound.h"
#include "core/buf.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fx {
    char dir[64], outbox[128];
    lx_store *store;
    lx_registry *reg;
    lx_x12_defs *x12;
    lx_edifact_defs *edifact;
    lx_edi_maps *maps;
    lx_edi_inbound_options o;
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

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/lx-test-ediin-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->outbox, sizeof(f->outbox), "%s/out", f->dir);
    assert_int_equal(mkdir(f->outbox, 0700), 0);
    lx_store_options so = {.dir = f->dir, .no_sync = true, .traces = true};
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
    f->o = (lx_edi_inbound_options){.store = f->store,
                                    .registry = f->reg,
                                    .x12_defs = f->x12,
                                    .edifact_defs = f->edifact,
                                    .maps = f->maps,
                                    .system = "insurer",
                                    .adapter = "insurer-in",
                                    .ack = "999",
                                    .ack_outbox = f->outbox};
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
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
    free(f);
    return 0;
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

/* The acknowledgment written for out holds text. */
static void assert_ack_has(const lx_edi_outcome *out, const char *text)
{
    size_t alen = 0;
    char *ack = slurp(out->ack_path, &alen);
    assert_non_null(ack);
    assert_non_null(strstr(ack, text));
    free(ack);
}

/* Process data, which must succeed (the error printed if not). */
static void process_ok(fx *f, const char *data, size_t len,
                       lx_edi_outcome *out)
{
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_edi_inbound_process(&f->o, data, len, out, &err);
    if (rc != 0)
        fprintf(stderr, "%s (%s)\n", err.msg, err.where);
    assert_int_equal(rc, 0);
}

static void test_edi_inbound_834_stores_records_and_writes_a_999(void **state)
{
    fx *f = *state;
    size_t len = 0;
    char *data = corpus("x12/834/lfh_x12__834_add-subscriber-coverage.834",
                        &len);
    if (!data)
        skip();
    lx_edi_outcome out;
    lx_error err;
    lx_error_clear(&err);
    process_ok(f, data, len, &out);
    assert_string_equal(out.standard, "X12");
    assert_true(out.transactions >= 1);
    assert_int_equal(out.rejected, 0);
    assert_true(out.records >= 2); /* a person and its coverage */
    assert_int_equal(out.created, out.records);
    /* The 999 is in the outbox, and it is a valid X12 interchange. */
    assert_non_null(strstr(out.ack_path, f->outbox));
    size_t alen = 0;
    char *ack = slurp(out.ack_path, &alen);
    assert_non_null(ack);
    assert_non_null(strstr(ack, "ST*999*"));
    assert_non_null(strstr(ack, "IK5*A"));
    lx_x12_doc *doc = NULL;
    assert_int_equal(lx_x12_parse(ack, alen, f->x12, 0, &doc, &err), 0);
    lx_x12_doc_destroy(&doc);
    free(ack);
    /* The same interchange again changes nothing, and the next ack gets
     * the next control number. */
    char first_ack[PATH_MAX];
    snprintf(first_ack, sizeof(first_ack), "%s", out.ack_path);
    assert_int_equal(lx_edi_inbound_process(&f->o, data, len, &out, &err), 0);
    assert_int_equal(out.unchanged, out.records);
    assert_string_not_equal(first_ack, out.ack_path);
    assert_int_equal(lx_store_last_seq(f->store), out.records);
    free(data);
}

static void test_edi_inbound_rejected_transaction_is_not_stored(void **state)
{
    fx *f = *state;
    /* One 834 whose SE count is wrong: rejected in the 999, not mapped. */
    const char *bad =
        "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
        "*240101*1200*^*00501*000000001*0*P*:~"
        "GS*BE*SENDER*RECEIVER*20240101*1200*1*X*005010X220A1~"
        "ST*834*0001*005010X220A1~BGN*00*1*20240101*1200****2~"
        "SE*99*0001~GE*1*1~IEA*1*000000001~";
    lx_edi_outcome out;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_edi_inbound_process(&f->o, bad, strlen(bad), &out,
                                            &err),
                     0);
    assert_int_equal(out.transactions, 1);
    assert_int_equal(out.rejected, 1);
    assert_int_equal(out.records, 0);
    assert_int_equal(lx_store_last_seq(f->store), 0);
    assert_ack_has(&out, "IK5*R");
}

/* Of two transaction sets, the rejected one is left out of what is mapped
 * and the accepted one is mapped whole; the 999 still answers both (the
 * accepted copy shares the parsed transactions, edi_inbound.c). */
static void test_edi_inbound_rejected_beside_accepted_maps_the_accepted(
    void **state)
{
    fx *f = *state;
    size_t len = 0;
    char *data = corpus("x12/834/lfh_x12__834_add-subscriber-coverage.834",
                        &len);
    if (!data)
        skip();
    const char *bad = "ST*834*0099*005010X220A1~BGN*00*1*20240101*1200****2~"
                      "SE*99*0099~";
    size_t bad_len = strlen(bad);
    char *ge = strstr(data, "GE*1*");
    assert_non_null(ge);
    size_t at = (size_t)(ge - data);
    char *two = malloc(len + bad_len + 1);
    memcpy(two, data, at);
    memcpy(two + at, bad, bad_len);
    memcpy(two + at + bad_len, data + at, len - at);
    two[at + bad_len + 3] = '2'; /* GE01 */
    lx_edi_outcome out;
    process_ok(f, two, len + bad_len, &out);
    assert_int_equal(out.transactions, 2);
    assert_int_equal(out.rejected, 1);
    assert_true(out.records >= 2); /* a person and its coverage */
    assert_int_equal(out.created, out.records);
    assert_ack_has(&out, "IK5*A");
    assert_ack_has(&out, "IK5*R");
    free(two);
    free(data);
}

/* Two ORDERS, the second with a wrong UNT01: it is rejected (CONTRL), the
 * first is not. */
static void test_edi_inbound_edifact_rejected_message_beside_accepted(
    void **state)
{
    fx *f = *state;
    const char *two =
        "UNA:+.? 'UNB+UNOC:3+SENDER:14+RECEIVER:14+240101:1200+REF1'"
        "UNH+1+ORDERS:D:96A:UN'BGM+220+PO1+9'DTM+137:20240101:102'"
        "UNS+S'UNT+5+1'"
        "UNH+2+ORDERS:D:96A:UN'BGM+220+PO2+9'DTM+137:20240101:102'"
        "UNS+S'UNT+9+2'UNZ+2+REF1'";
    f->o.ack = "contrl";
    lx_edi_outcome out;
    process_ok(f, two, strlen(two), &out);
    assert_int_equal(out.transactions, 2);
    assert_int_equal(out.rejected, 1);
    assert_ack_has(&out, "CONTRL");
}

static void test_edi_inbound_not_edi_is_a_located_error(void **state)
{
    fx *f = *state;
    lx_edi_outcome out;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_edi_inbound_process(&f->o, "\n  hello", 8, &out, &err),
                     LX_ESYNTAX);
    assert_int_equal(err.offset, 3);
    assert_non_null(strstr(err.msg, "ISA"));
    /* A truncated interchange: refused with its location, nothing stored. */
    const char *cut = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*"
                      "RECEIVER       *240101*1200*^*00501*000000001*0*P*:~"
                      "GS*BE*SENDER*RECEIVER*20240101*1200*1*X*005010X220A1~"
                      "ST*834*0001~BGN*00*1*2024";
    assert_int_not_equal(lx_edi_inbound_process(&f->o, cut, strlen(cut), &out,
                                                &err),
                         0);
    assert_true(err.msg[0] != '\0');
    assert_int_equal(lx_store_last_seq(f->store), 0);
}

static void test_edi_inbound_edifact_orders_with_contrl(void **state)
{
    fx *f = *state;
    size_t len = 0;
    char *data = corpus("edifact/orders/phpedifact__example_order_ok.edi",
                        &len);
    if (!data)
        skip();
    f->o.ack = "contrl";
    lx_edi_outcome out;
    process_ok(f, data, len, &out);
    assert_string_equal(out.standard, "EDIFACT");
    assert_true(out.transactions >= 1);
    assert_ack_has(&out, "CONTRL");
    free(data);
}

/* A 999 or 997 the partner sends back for our interchange. */
static char *ack_doc(const char *set, const char *body)
{
    bool is999 = strcmp(set, "999") == 0;
    char *out = malloc(2048);
    int segs = 2; /* ST and SE */
    for (const char *p = body; *p; p++)
        segs += *p == '~';
    snprintf(out, 2048,
             "ISA*00*          *00*          *ZZ*INSURERDEMO    *ZZ*"
             "LINGUADEMO     *261204*1500*^*00501*000000501*0*T*:~"
             "GS*FA*INSURERDEMO*LINGUADEMO*20261204*1500*501*X*%s~"
             "ST*%s*0001%s~%sSE*%d*0001~GE*1*501~IEA*1*000000501~",
             is999 ? "005010X231A1" : "005010", set,
             is999 ? "*005010X231A1" : "", body, segs);
    return out;
}

static size_t files_in(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static json_t *state_json(fx *f, const char *key)
{
    char *v = NULL;
    size_t len = 0;
    if (lx_store_state_get(f->store, key, &v, &len, NULL) != 0)
        return NULL;
    json_t *o = json_loadb(v, len, 0, NULL);
    free(v);
    return o;
}

static void test_edi_inbound_received_999_is_recorded_not_mapped(void **state)
{
    fx *f = *state;
    char *doc = ack_doc("999", "AK1*BE*7*005010X220A1~"
                               "AK2*834*0001*005010X220A1~IK5*A~"
                               "AK9*A*1*1*1~");
    lx_edi_outcome out;
    process_ok(f, doc, strlen(doc), &out);
    assert_int_equal(out.acks, 1);
    assert_int_equal(out.acks_rejected, 0);
    assert_int_equal(out.records, 0);
    /* An acknowledgement is never acknowledged. */
    assert_int_equal(files_in(f->outbox), 0);
    assert_string_equal(out.ack_path, "");
    json_t *rec = state_json(f, "edi-ack/insurer/000000007");
    assert_non_null(rec);
    assert_string_equal(json_string_value(json_object_get(rec, "status")),
                        "accepted");
    assert_string_equal(json_string_value(json_object_get(rec, "kind")), "999");
    assert_string_equal(json_string_value(json_object_get(rec, "interchange")),
                        "000000501");
    json_t *set = json_array_get(json_object_get(rec, "sets"), 0);
    assert_string_equal(json_string_value(json_object_get(set, "set")), "834");
    assert_string_equal(json_string_value(json_object_get(set, "control")),
                        "0001");
    assert_string_equal(json_string_value(json_object_get(set, "status")),
                        "accepted");
    json_decref(rec);
    free(doc);
}

static void test_edi_inbound_received_997_rejection_keeps_its_codes(
    void **state)
{
    fx *f = *state;
    char *doc = ack_doc("997", "AK1*BE*8~AK2*834*0002~AK5*R*5~AK9*R*1*1*0*2~");
    lx_edi_outcome out;
    process_ok(f, doc, strlen(doc), &out);
    assert_int_equal(out.acks, 1);
    assert_int_equal(out.acks_rejected, 1);
    json_t *rec = state_json(f, "edi-ack/insurer/000000008");
    assert_non_null(rec);
    assert_string_equal(json_string_value(json_object_get(rec, "status")),
                        "rejected");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(rec, "codes"), 0)),
        "2");
    json_t *set = json_array_get(json_object_get(rec, "sets"), 0);
    assert_string_equal(json_string_value(json_object_get(set, "status")),
                        "rejected");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(set, "codes"), 0)),
        "5");
    json_decref(rec);
    free(doc);
}

static void test_edi_inbound_ack_without_ak1_is_refused(void **state)
{
    fx *f = *state;
    char *doc = ack_doc("999", "AK9*A*1*1*1~");
    lx_edi_outcome out;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_edi_inbound_process(&f->o, doc, strlen(doc), &out, &err);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err.msg, "AK1"));
    assert_non_null(strstr(err.msg, "000000501"));
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_edi_inbound_834_stores_records_and_writes_a_999),
        T(test_edi_inbound_rejected_transaction_is_not_stored),
        T(test_edi_inbound_rejected_beside_accepted_maps_the_accepted),
        T(test_edi_inbound_edifact_rejected_message_beside_accepted),
        T(test_edi_inbound_not_edi_is_a_located_error),
        T(test_edi_inbound_edifact_orders_with_contrl),
        T(test_edi_inbound_received_999_is_recorded_not_mapped),
        T(test_edi_inbound_received_997_rejection_keeps_its_codes),
        T(test_edi_inbound_ack_without_ak1_is_refused),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
