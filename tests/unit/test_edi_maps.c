/* tests/unit/test_edi_maps.c: the EDI <-> canonical mappings
 * (schemas/maps/x12/, schemas/maps/edifact/) through the glue
 * (adapters/edi/edi_canonical.h), on the corpus.
 *
 * For every file under $LX_CORPUS_DIR/x12/{834,850,810} and
 * edifact/{orders,invoic}:
 *  1. parse (leniently, with the shipped definitions), map every covered
 *     part to canonical records, and validate each record against its
 *     canonical schema. Known exceptions: orders whose source has no line
 *     at all (three 850 samples, one ORDERS message of bots__orders02; a
 *     canonical order requires lines) are checked to fail on /lines only;
 *  2. each record maps out to its native sub-tree and back in to the SAME
 *     record (json_equal): both directions agree on every mapped field;
 *  3. specific values are checked on one file per transaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "adapters/edi/edi_canonical.h"
#include "adapters/edi/edifact.h"
#include "adapters/edi/x12.h"
#include "canonical/registry.h"
#include "canonical/schema.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lx_edi_maps *maps;
static lx_registry *registry;
static lx_x12_defs *x12_defs;
static lx_edifact_defs *edifact_defs;

/* ---- helpers ------------------------------------------------------------ */

static const char *source_dir(void)
{
    const char *d = getenv("LX_SOURCE_DIR");
    return d ? d : ".";
}

static const char *corpus_dir(void)
{
    const char *d = getenv("LX_CORPUS_DIR");
    return d ? d : "/work/shared/corpus";
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* The records of one file: [{"entity", "native_type", "native_id",
 * "record"}]. */
static int collect(void *ctx, const char *entity, const char *native_type,
                   const char *native_id, json_t *record)
{
    json_array_append_new((json_t *)ctx,
                          json_pack("{s:s, s:s, s:s, s:O}", "entity", entity,
                                    "native_type", native_type, "native_id",
                                    native_id, "record", record));
    return 0;
}

static json_t *map_x12_file(const char *path)
{
    size_t len = 0;
    char *buf = read_file(path, &len);
    lx_error err = {0};
    lx_x12_doc *doc = NULL;
    int rc = lx_x12_parse(buf, len, x12_defs, LX_X12_PARSE_LENIENT, &doc,
                          &err);
    if (rc != 0)
        fail_msg("%s: %s", path, err.msg);
    json_t *records = json_array();
    rc = lx_edi_x12_to_canonical(maps, lx_x12_doc_tree(doc), collect, records,
                                 &err);
    if (rc != 0)
        fail_msg("%s: %s: %s", path, err.where, err.msg);
    lx_x12_doc_destroy(&doc);
    free(buf);
    return records;
}

static json_t *map_edifact_file(const char *path)
{
    size_t len = 0;
    char *buf = read_file(path, &len);
    lx_error err = {0};
    lx_edifact_options o = {LX_EDIFACT_LENIENT, 0, 0, edifact_defs};
    json_t *tree = NULL;
    int rc = lx_edifact_parse(buf, len, &o, &tree, NULL, &err);
    if (rc != 0)
        fail_msg("%s: %s", path, err.msg);
    json_t *records = json_array();
    rc = lx_edi_edifact_to_canonical(maps, tree, collect, records, &err);
    if (rc != 0)
        fail_msg("%s: %s: %s", path, err.where, err.msg);
    json_decref(tree);
    free(buf);
    return records;
}

static int validate(const char *entity, const json_t *record, lx_error *err)
{
    const lx_schema *s = NULL;
    int rc = lx_registry_get(registry, entity, NULL, &s, err);
    assert_int_equal(rc, 0);
    return lx_schema_validate(s, record, err);
}

/* The EDIFACT fields mapped in only (docs/edi-mappings.md): the NAD+DP
 * address, PAT/PCD terms, IMD descriptions, line TAX. Removed from a copy
 * before comparing a round trip. */
static json_t *two_way_part(const char *type, const json_t *record)
{
    json_t *r = json_deep_copy(record);
    if (strcmp(type, "ORDERS") != 0 && strcmp(type, "INVOIC") != 0)
        return r;
    json_object_del(r, "ship_to");
    json_object_del(r, "payment_terms");
    size_t i;
    json_t *line;
    json_array_foreach(json_object_get(r, "lines"), i, line)
    {
        json_object_del(line, "tax");
        json_t *item = json_object_get(line, "item");
        json_object_del(item, "description");
        if (json_object_size(item) == 0)
            json_object_del(line, "item");
    }
    return r;
}

/* canonical -> native -> canonical gives the same record (on the fields
 * mapped both ways). */
static void round_trip(const json_t *item, const char *file)
{
    const char *type =
        json_string_value(json_object_get(item, "native_type"));
    json_t *whole = two_way_part(type, json_object_get(item, "record"));
    const json_t *record = whole;
    json_t *native = NULL, *again = NULL;
    lx_error err = {0};
    if (lx_edi_from_canonical(maps, type, record, &native, &err) != 0)
        fail_msg("%s: %s out: %s", file, type, err.msg);
    json_t *clean = lx_edi_native_clean(native);
    if (lx_edi_to_canonical(maps, type, clean, &again, &err) != 0)
        fail_msg("%s: %s in again: %s", file, type, err.msg);
    if (!json_equal(again, (json_t *)record)) {
        char *a = json_dumps(record, JSON_COMPACT | JSON_PRESERVE_ORDER);
        char *b = json_dumps(again, JSON_COMPACT | JSON_PRESERVE_ORDER);
        print_error("%s: %s round trip differs:\n  in:    %s\n  again: %s\n",
                    file, type, a, b);
        free(a);
        free(b);
        fail();
    }
    json_decref(again);
    json_decref(clean);
    json_decref(native);
    json_decref(whole);
}

typedef json_t *(*map_file_fn)(const char *path);

/* Map, validate and round-trip every file of one corpus folder; returns
 * the number of records. `no_lines` lists files expected to give records
 * invalid on /lines only. */
static size_t check_folder(const char *sub, map_file_fn map_file,
                           const char *const *no_lines)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/%s", corpus_dir(), sub);
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s", dir);
    size_t total = 0, files = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        json_t *records = map_file(path);
        bool expect_no_lines = false;
        for (size_t i = 0; no_lines && no_lines[i]; i++)
            if (strcmp(no_lines[i], e->d_name) == 0)
                expect_no_lines = true;
        size_t i;
        json_t *item;
        json_array_foreach(records, i, item)
        {
            const char *entity =
                json_string_value(json_object_get(item, "entity"));
            lx_error err = {0};
            int rc = validate(entity, json_object_get(item, "record"), &err);
            if (expect_no_lines ||
                (strcmp(entity, "order") == 0 &&
                 !json_object_get(json_object_get(item, "record"), "lines"))) {
                /* a source order without any line: the canonical order
                 * requires lines, and nothing else may be wrong */
                assert_int_equal(rc, LX_ESCHEMA);
                assert_non_null(strstr(err.msg, "lines"));
            } else if (rc != 0) {
                fail_msg("%s: %s record %zu invalid: %s", e->d_name, entity,
                         i, err.msg);
            }
            round_trip(item, e->d_name);
            total++;
        }
        json_decref(records);
        files++;
    }
    closedir(d);
    print_message("%s: %zu files, %zu records\n", sub, files, total);
    return total;
}

/* The record of the i-th item whose entity is `entity`. */
static const json_t *nth(const json_t *records, const char *entity, size_t n)
{
    size_t i;
    json_t *item;
    json_array_foreach(records, i, item)
    {
        if (strcmp(json_string_value(json_object_get(item, "entity")),
                   entity) == 0 &&
            n-- == 0)
            return json_object_get(item, "record");
    }
    fail_msg("no %s record", entity);
    return NULL;
}

static const char *str_at(const json_t *record, const char *pointer)
{
    /* A tiny JSON pointer walk, enough for these tests. */
    const json_t *v = record;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", pointer);
    for (char *tok = strtok(buf, "/"); tok && v; tok = strtok(NULL, "/"))
        v = json_is_array(v) ? json_array_get(v, strtoul(tok, NULL, 10))
                             : json_object_get(v, tok);
    return json_string_value(v);
}

static double num_at(const json_t *record, const char *pointer)
{
    const json_t *v = record;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", pointer);
    for (char *tok = strtok(buf, "/"); tok && v; tok = strtok(NULL, "/"))
        v = json_is_array(v) ? json_array_get(v, strtoul(tok, NULL, 10))
                             : json_object_get(v, tok);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

static json_t *corpus_x12(const char *sub)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/x12/%s", corpus_dir(), sub);
    return map_x12_file(path);
}

static json_t *corpus_edifact(const char *sub)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/edifact/%s", corpus_dir(), sub);
    return map_edifact_file(path);
}

/* ---- setup ---------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    char path[1024];
    lx_error err = {0};
    snprintf(path, sizeof(path), "%s/schemas", source_dir());
    if (lx_edi_maps_load(path, &maps, &err) != 0) {
        fprintf(stderr, "maps: %s: %s\n", err.where, err.msg);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/schemas/canonical", source_dir());
    if (lx_registry_load(path, &registry, &err) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/schemas/x12/005010", source_dir());
    if (lx_x12_defs_load(path, &x12_defs, &err) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/schemas/edifact/d96a", source_dir());
    if (lx_edifact_defs_load(path, &edifact_defs, &err) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lx_edi_maps_destroy(&maps);
    lx_registry_destroy(&registry);
    lx_x12_defs_destroy(&x12_defs);
    lx_edifact_defs_destroy(&edifact_defs);
    return 0;
}

/* ---- X12 ------------------------------------------------------------------ */

static void test_834_corpus(void **state)
{
    (void)state;
    /* 8 files, 11 members: a person each, and a coverage per 2300 loop */
    assert_true(check_folder("x12/834", map_x12_file, NULL) >= 20);
}

static void test_834_subscriber_values(void **state)
{
    (void)state;
    json_t *r = corpus_x12("834/lfh_x12__834_enroll-employee-multiple-products.834");
    assert_int_equal(json_array_size(r), 3); /* person, health, vision */
    const json_t *p = nth(r, "person", 0);
    assert_string_equal(str_at(p, "/name/family"), "DOE");
    assert_string_equal(str_at(p, "/name/given/0"), "JOHN");
    assert_string_equal(str_at(p, "/birth_date"), "1940-08-16");
    assert_string_equal(str_at(p, "/gender"), "male");
    assert_string_equal(str_at(p, "/identifiers/0/system"),
                        "urn:lingua:x12:834:member-id");
    assert_string_equal(str_at(p, "/identifiers/0/value"), "123456789");
    assert_string_equal(str_at(p, "/contacts/0/use"), "home");
    assert_string_equal(str_at(p, "/addresses/0/city"), "CAMP HILL");
    const json_t *c = nth(r, "coverage", 0);
    assert_string_equal(str_at(c, "/relationship"), "self");
    assert_string_equal(str_at(c, "/maintenance"), "created");
    assert_string_equal(str_at(c, "/period/start"), "1996-06-01");
    assert_string_equal(str_at(c, "/plan/type"), "health");
    assert_string_equal(str_at(c, "/subscriber/identifier/value"), "123456789");
    assert_null(json_object_get(c, "beneficiary"));
    assert_string_equal(str_at(c, "/group/identifier/value"), "123456001");
    assert_string_equal(str_at(c, "/payor/identifier/system"),
                        "urn:lingua:x12:id-qualifier:FI");
    assert_string_equal(str_at(nth(r, "coverage", 1), "/plan/type"), "vision");
    json_decref(r);
}

static void test_834_dependent_values(void **state)
{
    (void)state;
    json_t *r = corpus_x12("834/lfh_x12__834_add-dependent.834");
    const json_t *p = nth(r, "person", 0);
    /* a dependent's own member id is its NM109, not the subscriber's 0F */
    assert_string_equal(str_at(p, "/identifiers/0/value"), "103229876");
    const json_t *c = nth(r, "coverage", 0);
    assert_string_equal(str_at(c, "/relationship"), "child");
    assert_string_equal(str_at(c, "/subscriber/identifier/value"), "123456789");
    assert_string_equal(str_at(c, "/beneficiary/identifier/value"), "103229876");
    /* header REF*38 is not used: the member's REF*1L comes first */
    assert_string_equal(str_at(c, "/group/identifier/value"), "123456001");
    json_decref(r);
}

static void test_850_corpus(void **state)
{
    (void)state;
    static const char *const no_lines[] = {"vscodeedi__850.x12",
                                           "vscodeedi__850-comments.x12",
                                           "vscodeedi__850-lineBreak.x12",
                                           NULL};
    assert_int_equal(check_folder("x12/850", map_x12_file, no_lines), 11);
}

static void test_850_values(void **state)
{
    (void)state;
    json_t *r = corpus_x12("850/bots__850-004010-01.x12");
    const json_t *o = nth(r, "order", 0);
    assert_string_equal(str_at(o, "/identifiers/0/value"), "91393058");
    assert_string_equal(str_at(o, "/order_date"), "1997-11-07");
    assert_string_equal(str_at(o, "/buyer/identifier/value"), "33333");
    assert_int_equal(json_array_size(json_object_get(o, "lines")), 8);
    assert_true(num_at(o, "/lines/0/quantity") == 6);
    assert_true(num_at(o, "/lines/0/unit_price") == 12);
    assert_string_equal(str_at(o, "/lines/0/item/identifiers/0/value"),
                        "17920108");
    assert_string_equal(str_at(o, "/lines/0/item/description"),
                        "KAK S/S PRINT CAMP");
    json_decref(r);
    r = corpus_x12("850/ediengine__850.OK.edi");
    o = nth(r, "order", 0);
    assert_true(num_at(o, "/lines/0/line_number") == 1);
    assert_true(num_at(o, "/lines/0/quantity") == 120);
    assert_true(num_at(o, "/lines/0/unit_price") == 9.25);
    assert_string_equal(str_at(o, "/requested_delivery_date"), "2010-12-14");
    json_decref(r);
    r = corpus_x12("850/bots__850-004030-01.x12");
    assert_string_equal(str_at(nth(r, "order", 0), "/currency"), "CAD");
    json_decref(r);
}

static void test_810_corpus(void **state)
{
    (void)state;
    assert_int_equal(check_folder("x12/810", map_x12_file, NULL), 2);
}

static void test_810_values(void **state)
{
    (void)state;
    json_t *r = corpus_x12("810/bots__810_1.x12");
    const json_t *inv = nth(r, "invoice", 0);
    assert_string_equal(str_at(inv, "/identifiers/0/value"), "95018017");
    assert_string_equal(str_at(inv, "/invoice_date"), "2007-09-29");
    assert_string_equal(str_at(inv, "/order/identifier/value"), "ordernumber");
    assert_true(num_at(inv, "/total") == 12345.79); /* TDS N2 1234579 */
    assert_true(num_at(inv, "/lines/0/quantity") == 4);
    assert_true(num_at(inv, "/lines/0/unit_price") == 330);
    json_decref(r);
    r = corpus_x12("810/bots__810_2.x12");
    inv = nth(r, "invoice", 0);
    assert_true(num_at(inv, "/payment_terms/discount_percent") == 2.5);
    json_decref(r);
}

/* ---- EDIFACT ---------------------------------------------------------- */

static void test_orders_corpus(void **state)
{
    (void)state;
    /* 31 D.96A ORDERS messages in 7 of the 11 files (bots__orders02 holds
     * 12); the others (D.01B, D.03B, D.97A) stay flat and are not mapped */
    assert_int_equal(check_folder("edifact/orders", map_edifact_file, NULL),
                     31);
}

static void test_orders_values(void **state)
{
    (void)state;
    json_t *r = corpus_edifact("orders/vscodeedi__sample-orders.edifact");
    const json_t *o = nth(r, "order", 0);
    assert_string_equal(str_at(o, "/identifiers/0/value"), "1AA1TEST");
    assert_string_equal(str_at(o, "/order_date"), "2014-04-07");
    assert_string_equal(str_at(o, "/buyer/identifier/system"), "urn:gs1:gln");
    assert_string_equal(str_at(o, "/buyer/identifier/value"), "5450534000024");
    assert_string_equal(str_at(o, "/currency"), "EUR");
    assert_string_equal(str_at(o, "/ship_to/country"), "GB");
    assert_true(num_at(o, "/lines/0/quantity") == 5);
    assert_true(num_at(o, "/lines/0/unit_price") == 27.5);
    assert_string_equal(str_at(o, "/lines/0/item/identifiers/0/system"),
                        "urn:gs1:gtin");
    assert_string_equal(str_at(o, "/lines/2/item/identifiers/0/value"),
                        "3899408268X-39"); /* PIA only */
    json_decref(r);
    r = corpus_edifact("orders/bots__orders02.edi");
    o = nth(r, "order", 0);
    /* DTM format 203: the date of CCYYMMDDHHMM */
    assert_string_equal(str_at(o, "/order_date"), "1997-09-11");
    assert_string_equal(str_at(o, "/requested_delivery_date"), "1997-08-30");
    json_decref(r);
}

static void test_invoic_corpus(void **state)
{
    (void)state;
    /* the D.96A INVOIC messages with their definition applied (the D.97A
     * and D.03B samples stay flat) */
    assert_int_equal(check_folder("edifact/invoic", map_edifact_file, NULL),
                     2);
}

static void test_invoic_values(void **state)
{
    (void)state;
    json_t *r = corpus_edifact("invoic/bots__invoic01.edi");
    const json_t *inv = nth(r, "invoice", 0);
    assert_string_equal(str_at(inv, "/identifiers/0/value"), "20051098");
    assert_string_equal(str_at(inv, "/invoice_date"), "2005-08-29");
    assert_string_equal(str_at(inv, "/order/identifier/value"), "4500094576");
    assert_string_equal(str_at(inv, "/seller/identifier/value"),
                        "8712345678910");
    assert_true(num_at(inv, "/total") == 286.2);
    assert_true(num_at(inv, "/subtotal") == 240.5);
    assert_true(num_at(inv, "/tax_total") == 45.7);
    assert_true(num_at(inv, "/payment_terms/net_days") == 30);
    assert_true(num_at(inv, "/payment_terms/discount_percent") == 5);
    assert_true(num_at(inv, "/lines/0/quantity") == 2);
    assert_true(num_at(inv, "/lines/0/unit_price") == 6.5);
    assert_true(num_at(inv, "/lines/0/amount") == 13);
    assert_true(num_at(inv, "/lines/0/tax/rate") == 19);
    json_decref(r);
}

/* The glue puts X12 segment members in element order on the way out. */
static void test_x12_out_order(void **state)
{
    (void)state;
    json_t *r = corpus_x12("834/pyx12__example834_5010.txt");
    json_t *native = NULL;
    lx_error err = {0};
    assert_int_equal(lx_edi_from_canonical(maps, "834/2000",
                                           nth(r, "person", 0), &native,
                                           &err),
                     0);
    json_t *nm1 = json_array_get(
        json_object_get(json_array_get(json_object_get(native, "loops"), 0),
                        "segments"),
        0);
    const char *prev = "";
    const char *k;
    json_t *v;
    size_t i = 0;
    json_object_foreach(nm1, k, v)
    {
        if (i == 0)
            assert_string_equal(k, "id");
        else if (i > 1 && strcmp(prev, k) >= 0)
            fail_msg("%s before %s", prev, k);
        prev = k;
        i++;
    }
    assert_string_equal(str_at(nm1, "/NM101"), "IL");
    json_decref(native);
    assert_int_equal(lx_edi_from_canonical(maps, "999", nth(r, "person", 0),
                                           &native, &err),
                     LX_ENOTFOUND);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_834_corpus),
        cmocka_unit_test(test_834_subscriber_values),
        cmocka_unit_test(test_834_dependent_values),
        cmocka_unit_test(test_850_corpus),
        cmocka_unit_test(test_850_values),
        cmocka_unit_test(test_810_corpus),
        cmocka_unit_test(test_810_values),
        cmocka_unit_test(test_x12_out_order),
        cmocka_unit_test(test_orders_corpus),
        cmocka_unit_test(test_orders_values),
        cmocka_unit_test(test_invoic_corpus),
        cmocka_unit_test(test_invoic_values),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
