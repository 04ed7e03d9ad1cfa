/* tests/unit/test_edi_reader.c: the streaming X12 and EDIFACT readers give
 * the same transactions (messages) and findings as the whole-file parsers
 * on every corpus file, whatever the chunk size, in bounded memory. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "adapters/edi/edifact_int.h"
#include "adapters/edi/edifact_reader.h"
#include "adapters/edi/x12_int.h"
#include "adapters/edi/x12_reader.h"
#include "core/mem.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static lx_x12_defs *x12_defs;
static lx_edifact_defs *edifact_defs;

static int setup(void **state)
{
    (void)state;
    char dir[1024];
    const char *src = getenv("LX_SOURCE_DIR");
    lx_error err;
    lx_error_clear(&err);
    snprintf(dir, sizeof(dir), "%s/schemas/x12/005010", src ? src : ".");
    if (lx_x12_defs_load(dir, &x12_defs, &err) != 0)
        x12_defs = NULL;
    snprintf(dir, sizeof(dir), "%s/schemas/edifact/d96a", src ? src : ".");
    if (lx_edifact_defs_load(dir, &edifact_defs, &err) != 0)
        edifact_defs = NULL;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lx_x12_defs_destroy(&x12_defs);
    lx_edifact_defs_destroy(&edifact_defs);
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    lx_buf b;
    lx_buf_init(&b, 0);
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        assert_int_equal(lx_buf_append(&b, tmp, n), 0);
    fclose(f);
    return lx_buf_take(&b, len);
}

typedef void (*file_fn)(const char *path, size_t *count);

/* Every file in the subfolders of $LX_CORPUS_DIR/<kind>. */
static size_t each_corpus_file(const char *kind, file_fn fn)
{
    const char *corpus = getenv("LX_CORPUS_DIR");
    char dir[1024], path[2048], subdir[1536];
    size_t count = 0;
    if (!corpus)
        return 0;
    snprintf(dir, sizeof(dir), "%s/%s", corpus, kind);
    DIR *top = opendir(dir);
    if (!top)
        return 0;
    struct dirent *sub;
    while ((sub = readdir(top)) != NULL) {
        if (sub->d_name[0] == '.')
            continue;
        snprintf(subdir, sizeof(subdir), "%s/%s", dir, sub->d_name);
        DIR *d = opendir(subdir);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", subdir, e->d_name);
            fn(path, &count);
        }
        closedir(d);
    }
    closedir(top);
    return count;
}

/* ---- X12 ------------------------------------------------------------- */

static int x12_diag_cmp(const void *a, const void *b)
{
    const lx_x12_diag *x = a, *y = b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    if (x->level != y->level)
        return (int)x->level - (int)y->level;
    return strcmp(x->msg, y->msg);
}

static void x12_diag_same(const lx_x12_diag *x, const lx_x12_diag *y,
                          const char *path)
{
    if (x12_diag_cmp(x, y) != 0 || strcmp(x->x12_code, y->x12_code) != 0 ||
        x->segment_pos != y->segment_pos ||
        x->element_pos != y->element_pos || strcmp(x->st02, y->st02) != 0)
        fail_msg("%s: diagnostic differs: '%s' @%ld vs '%s' @%ld", path,
                 x->msg, x->offset, y->msg, y->offset);
}

/* The whole-file tree cut into one tree per transaction set, in the
 * reader's shape. */
static json_t *x12_expected(const json_t *tree)
{
    json_t *out = json_array();
    size_t i, j, k;
    json_t *ichg, *group, *txn;
    json_array_foreach(json_object_get(tree, "interchanges"), i, ichg)
    {
        json_array_foreach(json_object_get(ichg, "groups"), j, group)
        {
            json_array_foreach(json_object_get(group, "transactions"), k, txn)
            {
                json_t *g = json_pack("{s:O, s:[O]}", "GS",
                                      json_object_get(group, "GS"),
                                      "transactions", txn);
                json_t *ic = json_pack("{s:O, s:O, s:[o]}", "delimiters",
                                       json_object_get(ichg, "delimiters"),
                                       "ISA", json_object_get(ichg, "ISA"),
                                       "groups", g);
                if (json_object_get(ichg, "TA1"))
                    json_object_set(ic, "TA1", json_object_get(ichg, "TA1"));
                json_array_append_new(out,
                                      json_pack("{s:[o]}", "interchanges", ic));
            }
        }
    }
    return out;
}

/* Read path with the reader (chunk bytes per read) and compare with
 * lx_x12_parse of the whole file. */
static void x12_compare(const char *path, const char *buf, size_t len,
                        size_t chunk, int flags)
{
    lx_x12_doc *doc = NULL;
    lx_error perr, rerr;
    lx_error_clear(&perr);
    lx_error_clear(&rerr);
    int prc = lx_x12_parse(buf, len, x12_defs, flags, &doc, &perr);

    lx_x12_reader_options opts = {chunk, 512, 0};
    lx_x12_reader *r = NULL;
    assert_int_equal(
        lx_x12_reader_open_file(path, x12_defs, flags, &opts, &r, &rerr), 0);
    json_t *expected = prc == 0 ? x12_expected(lx_x12_doc_tree(doc)) : NULL;
    size_t n = 0, diag_n = 0, diag_cap = 64;
    lx_x12_diag *diags = lx_xmalloc(diag_cap * sizeof(*diags));
    int rc;
    lx_x12_doc *txn = NULL;
    while ((rc = lx_x12_reader_next(r, &txn, &rerr)) == 0) {
        if (expected) {
            json_t *want = json_array_get(expected, n);
            if (!want || !json_equal(want, lx_x12_doc_tree(txn))) {
                char *a = json_dumps(want, JSON_COMPACT);
                char *b = json_dumps(lx_x12_doc_tree(txn), JSON_COMPACT);
                fail_msg("%s (chunk %zu): transaction %zu differs\n%s\n%s",
                         path, chunk, n, a ? a : "(none)", b);
            }
        }
        for (size_t i = 0; i < lx_x12_doc_diag_count(txn); i++) {
            if (diag_n == diag_cap) {
                diag_cap *= 2;
                diags = lx_xrealloc(diags, diag_cap * sizeof(*diags));
            }
            diags[diag_n++] = *lx_x12_doc_diag(txn, i);
        }
        lx_x12_doc_destroy(&txn);
        n++;
    }
    if (prc != 0) {
        if (rc != prc || rerr.offset != perr.offset ||
            (rc == LX_ESCHEMA && strcmp(rerr.msg, perr.msg) != 0))
            fail_msg("%s (chunk %zu): parse %d '%s' @%ld, reader %d '%s' "
                     "@%ld",
                     path, chunk, prc, perr.msg, perr.offset, rc, rerr.msg,
                     rerr.offset);
    } else {
        if (rc != LX_ENOTFOUND)
            fail_msg("%s (chunk %zu): reader failed: %s", path, chunk,
                     rerr.msg);
        assert_int_equal(n, json_array_size(expected));
        for (size_t i = 0; i < lx_x12_reader_envelope_diag_count(r); i++) {
            if (diag_n == diag_cap) {
                diag_cap *= 2;
                diags = lx_xrealloc(diags, diag_cap * sizeof(*diags));
            }
            diags[diag_n++] = *lx_x12_reader_envelope_diag(r, i);
        }
        size_t want_n = lx_x12_doc_diag_count(doc);
        if (diag_n != want_n)
            fail_msg("%s (chunk %zu): %zu diagnostics, parse has %zu", path,
                     chunk, diag_n, want_n);
        lx_x12_diag *want = lx_xmalloc((want_n + 1) * sizeof(*want));
        for (size_t i = 0; i < want_n; i++)
            want[i] = *lx_x12_doc_diag(doc, i);
        /* qsort(NULL, 0, ...) is undefined: the arrays are NULL when
         * empty. */
        if (want_n > 1)
            qsort(want, want_n, sizeof(*want), x12_diag_cmp);
        if (diag_n > 1)
            qsort(diags, diag_n, sizeof(*diags), x12_diag_cmp);
        for (size_t i = 0; i < want_n; i++)
            x12_diag_same(&want[i], &diags[i], path);
        free(want);
    }
    free(diags);
    json_decref(expected);
    lx_x12_reader_close(&r);
    lx_x12_doc_destroy(&doc);
}

static void x12_file(const char *path, size_t *count)
{
    size_t len = 0;
    char *buf = slurp(path, &len);
    x12_compare(path, buf, len, 1 << 20, LX_X12_PARSE_LENIENT);
    x12_compare(path, buf, len, 17, LX_X12_PARSE_LENIENT);
    x12_compare(path, buf, len, 1, LX_X12_PARSE_LENIENT);
    x12_compare(path, buf, len, 17, 0);
    free(buf);
    (*count)++;
}

static void test_x12_reader_matches_parse_on_corpus(void **state)
{
    (void)state;
    if (!getenv("LX_CORPUS_DIR"))
        skip();
    size_t n = each_corpus_file("x12", x12_file);
    assert_true(n >= 60);
}

#define ISA_005                                                             \
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       " \
    "*240101*1200*^*00501*000000001*0*T*:~"

static int x12_read_all(const char *text, size_t max_seg, size_t *txns,
                        lx_x12_reader **out, lx_error *err)
{
    lx_x12_reader_options opts = {7, max_seg, 0};
    lx_x12_reader *r = NULL;
    lx_error_clear(err);
    assert_int_equal(lx_x12_reader_open_mem(text, strlen(text), NULL,
                                            LX_X12_PARSE_LENIENT, &opts, &r,
                                            err),
                     0);
    int rc;
    lx_x12_doc *txn = NULL;
    *txns = 0;
    while ((rc = lx_x12_reader_next(r, &txn, err)) == 0) {
        lx_x12_doc_destroy(&txn);
        (*txns)++;
    }
    *out = r;
    return rc;
}

static void test_x12_reader_segment_over_ceiling_is_limit(void **state)
{
    (void)state;
    char text[4096];
    char big[1200];
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(text, sizeof(text),
             ISA_005 "GS*BE*S*R*20240101*1200*1*X*005010~ST*834*0001~"
                     "REF*38*%s~SE*3*0001~GE*1*1~IEA*1*000000001~",
             big);
    lx_x12_reader *r = NULL;
    lx_error err;
    size_t n;
    assert_int_equal(x12_read_all(text, 512, &n, &r, &err), LX_ELIMIT);
    assert_non_null(strstr(err.msg, "segment 4"));
    /* The error is sticky. */
    lx_x12_doc *txn = NULL;
    assert_int_equal(lx_x12_reader_next(r, &txn, &err), LX_ELIMIT);
    lx_x12_reader_close(&r);
    /* With a larger ceiling the same input reads. */
    assert_int_equal(x12_read_all(text, 4096, &n, &r, &err), LX_ENOTFOUND);
    assert_int_equal(n, 1);
    lx_x12_reader_close(&r);
}

static void test_x12_reader_envelope_findings_as_trailers_arrive(void **state)
{
    (void)state;
    const char *text =
        ISA_005 "GS*BE*S*R*20240101*1200*1*X*005010~ST*834*0001~"
                "BGN*00*1*20240101~SE*3*0001~ST*834*0002~BGN*00*1*20240101~"
                "SE*3*0002~GE*3*2~IEA*2*000000001~";
    lx_x12_reader *r = NULL;
    lx_error err;
    size_t n;
    assert_int_equal(x12_read_all(text, 0, &n, &r, &err), LX_ENOTFOUND);
    assert_int_equal(n, 2);
    /* GE01 and GE02, then IEA01. */
    assert_int_equal(lx_x12_reader_envelope_diag_count(r), 3);
    assert_string_equal(lx_x12_reader_envelope_diag(r, 0)->x12_code, "5");
    assert_string_equal(lx_x12_reader_envelope_diag(r, 1)->x12_code, "4");
    assert_string_equal(lx_x12_reader_envelope_diag(r, 2)->x12_code, "021");
    lx_x12_reader_close(&r);
}

static void test_x12_reader_empty_and_garbage_inputs(void **state)
{
    (void)state;
    lx_x12_reader *r = NULL;
    lx_error err;
    size_t n;
    assert_int_equal(x12_read_all("", 0, &n, &r, &err), LX_EINVAL);
    lx_x12_reader_close(&r);
    assert_int_equal(x12_read_all("\n\n", 0, &n, &r, &err), LX_ESYNTAX);
    lx_x12_reader_close(&r);
    assert_int_equal(x12_read_all("ISA*00*short~", 0, &n, &r, &err),
                     LX_ESYNTAX);
    lx_x12_reader_close(&r);
    assert_int_equal(lx_x12_reader_open_file("/nonexistent/x.edi", NULL, 0,
                                             NULL, &r, &err),
                     LX_EIO);
    assert_null(r);
    lx_x12_reader_close(&r);
}


/* ---- EDIFACT --------------------------------------------------------- */

static int edifact_diag_cmp(const void *a, const void *b)
{
    const lx_edifact_diag *x = a, *y = b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    int c = strcmp(x->message_ref, y->message_ref);
    if (c == 0)
        c = strcmp(x->interchange_ref, y->interchange_ref);
    if (c == 0)
        c = strcmp(x->group_ref, y->group_ref);
    if (c == 0 && x->segment_pos != y->segment_pos)
        c = x->segment_pos < y->segment_pos ? -1 : 1;
    if (c == 0 && x->element != y->element)
        c = x->element - y->element;
    if (c == 0 && x->component != y->component)
        c = x->component - y->component;
    if (c == 0 && x->code != y->code)
        c = x->code - y->code;
    if (c == 0)
        c = strcmp(x->segment_tag, y->segment_tag);
    if (c == 0)
        c = strcmp(x->msg, y->msg);
    return c;
}

/* Append to out one tree per message of `ic`'s list, in the reader's
 * shape (no trailers). */
static void edifact_cut_messages(json_t *out, json_t *ic, json_t *group,
                                 json_t *list)
{
    size_t k;
    json_t *msg;
    json_array_foreach(list, k, msg)
    {
        json_t *one = json_object();
        if (json_object_get(ic, "UNA"))
            json_object_set(one, "UNA", json_object_get(ic, "UNA"));
        if (json_object_get(ic, "UNB"))
            json_object_set(one, "UNB", json_object_get(ic, "UNB"));
        if (group) {
            json_t *g = json_pack("{s:[O]}", "messages", msg);
            if (json_object_get(group, "UNG"))
                json_object_set(g, "UNG", json_object_get(group, "UNG"));
            json_object_set_new(one, "groups", json_pack("[o]", g));
        } else {
            json_object_set_new(one, "messages", json_pack("[O]", msg));
        }
        json_array_append_new(out, json_pack("{s:[o]}", "interchanges", one));
    }
}

static json_t *edifact_expected(const json_t *tree)
{
    json_t *out = json_array();
    size_t i, j;
    json_t *ic, *group;
    json_array_foreach(json_object_get(tree, "interchanges"), i, ic)
    {
        edifact_cut_messages(out, ic, NULL, json_object_get(ic, "messages"));
        json_array_foreach(json_object_get(ic, "groups"), j, group)
            edifact_cut_messages(out, ic, group,
                                 json_object_get(group, "messages"));
    }
    return out;
}

static void edifact_compare(const char *path, const char *buf, size_t len,
                            size_t chunk, unsigned flags)
{
    lx_edifact_reader_options opts;
    memset(&opts, 0, sizeof opts);
    opts.parse.flags = flags;
    opts.parse.defs = edifact_defs;
    opts.chunk_len = chunk;
    opts.max_segment_len = 2048;
    lx_error perr, rerr;
    lx_error_clear(&perr);
    lx_error_clear(&rerr);
    lx_edifact_diags pd, rd;
    lx_edifact_diags_init(&pd);
    lx_edifact_diags_init(&rd);
    json_t *tree = NULL;
    int prc = lx_edifact_parse(buf, len, &opts.parse, &tree, &pd, &perr);

    lx_edifact_reader *r = NULL;
    assert_int_equal(lx_edifact_reader_open_file(path, &opts, &r, &rerr), 0);
    json_t *expected = prc == 0 ? edifact_expected(tree) : NULL;
    size_t n = 0;
    int rc;
    json_t *msg = NULL;
    while ((rc = lx_edifact_reader_next(r, &msg, &rd, &rerr)) == 0) {
        if (expected) {
            json_t *want = json_array_get(expected, n);
            if (!want || !json_equal(want, msg)) {
                char *a = json_dumps(want, JSON_COMPACT);
                char *b = json_dumps(msg, JSON_COMPACT);
                fail_msg("%s (chunk %zu): message %zu differs\n%s\n%s", path,
                         chunk, n, a ? a : "(none)", b);
            }
        }
        json_decref(msg);
        n++;
    }
    if (prc != 0) {
        if (rc != prc || rerr.offset != perr.offset ||
            strcmp(rerr.msg, perr.msg) != 0)
            fail_msg("%s (chunk %zu flags %u): parse %d '%s' @%ld, reader "
                     "%d '%s' @%ld",
                     path, chunk, flags, prc, perr.msg, perr.offset, rc,
                     rerr.msg, rerr.offset);
    } else {
        if (rc != LX_ENOTFOUND)
            fail_msg("%s (chunk %zu): reader failed: %s", path, chunk,
                     rerr.msg);
        assert_int_equal(n, json_array_size(expected));
        if (rd.count != pd.count)
            fail_msg("%s (chunk %zu): %zu findings, parse has %zu", path,
                     chunk, rd.count, pd.count);
        if (pd.count > 1)
            qsort(pd.items, pd.count, sizeof(*pd.items), edifact_diag_cmp);
        if (rd.count > 1)
            qsort(rd.items, rd.count, sizeof(*rd.items), edifact_diag_cmp);
        for (size_t i = 0; i < pd.count; i++)
            if (edifact_diag_cmp(&pd.items[i], &rd.items[i]) != 0 ||
                pd.items[i].is_envelope != rd.items[i].is_envelope)
                fail_msg("%s (chunk %zu): finding differs: '%s' @%ld:%ld "
                         "vs '%s' @%ld:%ld",
                         path, chunk, pd.items[i].msg, pd.items[i].offset,
                         pd.items[i].line, rd.items[i].msg,
                         rd.items[i].offset, rd.items[i].line);
    }
    json_decref(expected);
    json_decref(tree);
    lx_edifact_diags_fini(&pd);
    lx_edifact_diags_fini(&rd);
    lx_edifact_reader_close(&r);
}

static void edifact_file(const char *path, size_t *count)
{
    size_t len = 0;
    char *buf = slurp(path, &len);
    edifact_compare(path, buf, len, 1 << 20, LX_EDIFACT_LENIENT);
    edifact_compare(path, buf, len, 17, LX_EDIFACT_LENIENT);
    edifact_compare(path, buf, len, 1, LX_EDIFACT_LENIENT);
    edifact_compare(path, buf, len, 17, 0);
    free(buf);
    (*count)++;
}

static void test_edifact_reader_matches_parse_on_corpus(void **state)
{
    (void)state;
    if (!getenv("LX_CORPUS_DIR"))
        skip();
    size_t n = each_corpus_file("edifact", edifact_file);
    assert_true(n >= 29);
}

static int edifact_read_all(const char *text, unsigned flags, size_t *msgs,
                            lx_edifact_diags *diags, lx_error *err)
{
    lx_edifact_reader_options opts;
    memset(&opts, 0, sizeof opts);
    opts.parse.flags = flags;
    opts.chunk_len = 5;
    opts.max_segment_len = 64;
    lx_edifact_reader *r = NULL;
    lx_error_clear(err);
    assert_int_equal(
        lx_edifact_reader_open_mem(text, strlen(text), &opts, &r, err), 0);
    int rc;
    json_t *msg = NULL;
    *msgs = 0;
    while ((rc = lx_edifact_reader_next(r, &msg, diags, err)) == 0) {
        json_decref(msg);
        (*msgs)++;
    }
    lx_edifact_reader_close(&r);
    return rc;
}

#define UNB_3 "UNA:+.? 'UNB+UNOC:3+SENDER+RECEIVER+240101:1200+REF1'\n"

static void test_edifact_reader_envelope_findings_and_limits(void **state)
{
    (void)state;
    lx_edifact_diags d;
    lx_edifact_diags_init(&d);
    lx_error err;
    size_t n;
    const char *text = UNB_3 "UNH+1+ORDERS:D:96A:UN'BGM+220+PO?'1+9'UNT+3+1'"
                             "UNH+2+ORDERS:D:96A:UN'BGM+220+PO2+9'UNT+3+2'"
                             "UNZ+3+REF9'";
    assert_int_equal(edifact_read_all(text, LX_EDIFACT_LENIENT, &n, &d, &err),
                     LX_ENOTFOUND);
    assert_int_equal(n, 2);
    assert_int_equal(d.count, 2); /* UNZ01 and UNZ02 */
    assert_int_equal(d.items[0].code, LX_EDIFACT_UC_COUNT_MISMATCH);
    lx_edifact_diags_fini(&d);
    /* Strictly, the first envelope finding fails. */
    assert_int_equal(edifact_read_all(text, 0, &n, NULL, &err), LX_ESCHEMA);
    assert_non_null(strstr(err.msg, "UNZ01"));
    /* A segment longer than the window is a limit, not a cut. */
    char big[512];
    char seg[300];
    memset(seg, 'X', sizeof(seg) - 1);
    seg[sizeof(seg) - 1] = '\0';
    snprintf(big, sizeof(big), UNB_3 "UNH+1+ORDERS:D:96A:UN'FTX+%s'UNT+3+1'",
             seg);
    assert_int_equal(edifact_read_all(big, LX_EDIFACT_LENIENT, &n, NULL, &err),
                     LX_ELIMIT);
    assert_int_equal(edifact_read_all("", 0, &n, NULL, &err), LX_ESYNTAX);
}

/* ---- generated large interchanges and peak RSS ----------------------- */

static long max_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* An 834 interchange of about `bytes` bytes: one group, transaction sets
 * of 100 members each. */
static void gen_834(const char *path, size_t bytes)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(ISA_005 "\nGS*BE*S*R*20240101*1200*1*X*005010X220A1~\n", f);
    size_t written = 0, st = 0;
    while (written < bytes) {
        st++;
        int k = fprintf(f,
                        "ST*834*%04zu*005010X220A1~\nBGN*00*%zu*20240101*"
                        "1200****2~\nN1*P5**FI*999888777~\n"
                        "N1*IN**FI*654456654~\n",
                        st % 10000, st);
        written += (size_t)k;
        size_t segs = 4;
        for (int m = 0; m < 100; m++) {
            k = fprintf(f,
                        "INS*Y*18*021*20*A***FT~\nREF*0F*%09zu~\n"
                        "DTP*356*D8*20240101~\nNM1*IL*1*DOE*JOHN*P***34*%09"
                        "zu~\nDMG*D8*19770816*M~\nHD*021**HLT~\n"
                        "DTP*348*D8*20240101~\n",
                        st * 100 + (size_t)m, st * 100 + (size_t)m);
            written += (size_t)k;
            segs += 7;
        }
        k = fprintf(f, "SE*%zu*%04zu~\n", segs + 1, st % 10000);
        written += (size_t)k;
    }
    fprintf(f, "GE*%zu*1~\nIEA*1*000000001~\n", st);
    fclose(f);
}

static size_t x12_count_file(const char *path)
{
    lx_x12_reader *r = NULL;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(
        lx_x12_reader_open_file(path, x12_defs, 0, NULL, &r, &err), 0);
    lx_x12_doc *txn = NULL;
    size_t n = 0;
    int rc;
    while ((rc = lx_x12_reader_next(r, &txn, &err)) == 0) {
        lx_x12_doc_destroy(&txn);
        n++;
    }
    if (rc != LX_ENOTFOUND)
        fail_msg("%s: %s", path, err.msg);
    assert_int_equal(lx_x12_reader_envelope_diag_count(r), 0);
    lx_x12_reader_close(&r);
    return n;
}

/* Peak RSS says nothing about our buffers under AddressSanitizer. */
static bool under_sanitizer(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return true;
#else
    return false;
#endif
#else
    return false;
#endif
}

/* The tree is built on demand: a message read and validated but never
 * asked for its tree costs no JSON, and the tree built later is the one
 * lx_edifact_reader_next returns: groups placed by the definition, values
 * unescaped, findings the same. */
#define ORDERS_LAZY                                                         \
    "UNA:+.? 'UNB+UNOC:3+SENDER+RECEIVER+240101:1200+REF1'"                  \
    "UNH+M1+ORDERS:D:96A:UN'BGM+220+PO?+1?'X+9'DTM+137:20240101:102'"        \
    "NAD+BY+5412345000013::9'RFF+VA:BE1'LIN+1++4000862141404:EN'"            \
    "QTY+21:ten'UNS+S'UNT+9+M1'UNZ+1+REF1'"

static void test_edifact_reader_msg_tree_on_demand(void **state)
{
    (void)state;
    if (!edifact_defs)
        skip();
    lx_edifact_reader_options opts;
    memset(&opts, 0, sizeof opts);
    opts.parse.flags = LX_EDIFACT_LENIENT;
    opts.parse.defs = edifact_defs;
    lx_error err;
    lx_error_clear(&err);
    lx_edifact_diags lazy_d, eager_d;
    lx_edifact_diags_init(&lazy_d);
    lx_edifact_diags_init(&eager_d);

    /* Read and dropped without a tree. */
    lx_edifact_reader *r = NULL;
    lx_edifact_msg *m = NULL;
    assert_int_equal(lx_edifact_reader_open_mem(ORDERS_LAZY,
                                                strlen(ORDERS_LAZY), &opts,
                                                &r, &err),
                     0);
    assert_int_equal(lx_edifact_reader_next_msg(r, &m, &lazy_d, &err), 0);
    lx_edifact_msg_destroy(&m);
    assert_null(m);
    lx_edifact_msg_destroy(&m); /* accepts NULL */
    lx_edifact_reader_close(&r);
    /* QTY 6060 "ten" is not numeric: found without building the tree. */
    assert_int_equal(lazy_d.count, 1);
    assert_int_equal(lazy_d.items[0].code, LX_EDIFACT_UC_INVALID_CHARS);
    assert_int_equal(lazy_d.items[0].segment_pos, 7);
    lazy_d.count = 0;

    assert_int_equal(lx_edifact_reader_open_mem(ORDERS_LAZY,
                                                strlen(ORDERS_LAZY), &opts,
                                                &r, &err),
                     0);
    assert_int_equal(lx_edifact_reader_next_msg(r, &m, &lazy_d, &err), 0);
    json_t *lazy = lx_edifact_msg_tree(m);
    assert_ptr_equal(lx_edifact_msg_tree(m), lazy); /* built once */
    lx_edifact_reader_close(&r);

    json_t *eager = NULL;
    assert_int_equal(lx_edifact_reader_open_mem(ORDERS_LAZY,
                                                strlen(ORDERS_LAZY), &opts,
                                                &r, &err),
                     0);
    assert_int_equal(lx_edifact_reader_next(r, &eager, &eager_d, &err), 0);
    lx_edifact_reader_close(&r);
    assert_true(json_equal(lazy, eager));
    assert_int_equal(lazy_d.count, eager_d.count);

    json_t *msg = json_array_get(
        json_object_get(json_array_get(json_object_get(lazy, "interchanges"),
                                       0),
                        "messages"),
        0);
    json_t *bgm = json_array_get(json_object_get(msg, "segments"), 0);
    assert_string_equal(json_string_value(json_array_get(
                            json_array_get(json_object_get(bgm, "elements"),
                                           1),
                            0)),
                        "PO+1'X");
    json_t *groups = json_object_get(msg, "groups");
    assert_int_equal(json_array_size(groups), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(groups, 0), "id")),
        "SG2");
    json_t *sg3 = json_array_get(
        json_object_get(json_array_get(groups, 0), "groups"), 0);
    assert_string_equal(json_string_value(json_object_get(sg3, "id")), "SG3");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(groups, 1), "id")),
        "SG25");
    assert_non_null(json_object_get(msg, "UNT"));

    json_decref(eager);
    lx_edifact_msg_destroy(&m);
    lx_edifact_diags_fini(&lazy_d);
    lx_edifact_diags_fini(&eager_d);
}

/* lx_edifact_message_apply on a flat JSON message (it now runs through
 * the compact form) gives what the parse with definitions gives. */
static void test_edifact_message_apply_json_matches_parse(void **state)
{
    (void)state;
    if (!edifact_defs)
        skip();
    lx_error err;
    lx_error_clear(&err);
    lx_edifact_options o;
    memset(&o, 0, sizeof o);
    o.flags = LX_EDIFACT_LENIENT;
    lx_edifact_diags flat_d, defs_d;
    lx_edifact_diags_init(&flat_d);
    lx_edifact_diags_init(&defs_d);
    json_t *flat = NULL, *with_defs = NULL;
    assert_int_equal(lx_edifact_parse(ORDERS_LAZY, strlen(ORDERS_LAZY), &o,
                                      &flat, &flat_d, &err),
                     0);
    o.defs = edifact_defs;
    assert_int_equal(lx_edifact_parse(ORDERS_LAZY, strlen(ORDERS_LAZY), &o,
                                      &with_defs, &defs_d, &err),
                     0);
    json_t *msg = json_array_get(
        json_object_get(json_array_get(json_object_get(flat, "interchanges"),
                                       0),
                        "messages"),
        0);
    assert_null(json_object_get(msg, "groups"));
    assert_int_equal(lx_edifact_message_apply(edifact_defs, msg, '.', "REF1",
                                              NULL, &flat_d),
                     1);
    assert_true(json_equal(flat, with_defs));
    assert_int_equal(flat_d.count, defs_d.count);
    assert_int_equal(flat_d.items[0].code, defs_d.items[0].code);
    assert_string_equal(flat_d.items[0].msg, defs_d.items[0].msg);
    /* Applied once: a message with groups is left alone. */
    assert_int_equal(lx_edifact_message_apply(edifact_defs, msg, '.', "REF1",
                                              NULL, &flat_d),
                     0);
    json_decref(flat);
    json_decref(with_defs);
    lx_edifact_diags_fini(&flat_d);
    lx_edifact_diags_fini(&defs_d);
}

/* An X12 transaction validated and dropped without its tree, and one
 * whose tree is built after validation: loops as the definition says. */
static void test_x12_reader_tree_on_demand(void **state)
{
    (void)state;
    if (!x12_defs)
        skip();
    static const char text[] =
        "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER"
        "       *240101*1200*^*00501*000000001*0*T*:~"
        "GS*BE*S*R*20240101*1200*1*X*005010X220A1~"
        "ST*834*0001*005010X220A1~BGN*00*1*20240101*1200****2~"
        "N1*P5**FI*999888777~N1*IN**FI*654456654~"
        "INS*Z*18*021*20*A***FT~REF*0F*000000001~DTP*356*D8*20240101~"
        "NM1*IL*1*DOE*JOHN*P***34*000000001~SE*9*0001~"
        "ST*834*0002*005010X220A1~BGN*00*1*20240101*1200****2~"
        "N1*P5**FI*999888777~N1*IN**FI*654456654~"
        "INS*Y*18*021*20*A***FT~REF*0F*000000001~"
        "NM1*IL*1*DOE*JOHN*P***34*000000001~SE*8*0002~"
        "GE*2*1~IEA*1*000000001~";
    lx_error err;
    lx_error_clear(&err);
    lx_x12_reader *r = NULL;
    lx_x12_doc *txn = NULL;
    assert_int_equal(lx_x12_reader_open_mem(text, sizeof(text) - 1, x12_defs,
                                            LX_X12_PARSE_LENIENT, NULL, &r,
                                            &err),
                     0);
    assert_int_equal(lx_x12_reader_next(r, &txn, &err), 0);
    /* INS01 "Z": not in its code list, found before any tree exists. */
    assert_int_equal(lx_x12_doc_diag_count(txn), 1);
    assert_string_equal(lx_x12_doc_diag(txn, 0)->x12_code, "7");
    assert_int_equal(lx_x12_doc_diag(txn, 0)->segment_pos, 5);
    assert_int_equal(lx_x12_doc_diag(txn, 0)->element_pos, 1);
    lx_x12_doc_destroy(&txn);

    assert_int_equal(lx_x12_reader_next(r, &txn, &err), 0);
    assert_int_equal(lx_x12_doc_diag_count(txn), 0);
    json_t *tree = lx_x12_doc_tree(txn);
    assert_ptr_equal(lx_x12_doc_tree(txn), tree);
    json_t *t = json_array_get(
        json_object_get(
            json_array_get(
                json_object_get(
                    json_array_get(json_object_get(tree, "interchanges"), 0),
                    "groups"),
                0),
            "transactions"),
        0);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(t, "SE"), "SE02")),
                        "0002");
    json_t *loops = json_object_get(t, "loops");
    assert_int_equal(json_array_size(loops), 3); /* 1000A, 1000B, 2000 */
    json_t *l2000 = json_array_get(loops, 2);
    assert_string_equal(json_string_value(json_object_get(l2000, "id")),
                        "2000");
    assert_int_equal(json_array_size(json_object_get(l2000, "segments")), 2);
    json_t *l2100a = json_array_get(json_object_get(l2000, "loops"), 0);
    assert_string_equal(json_string_value(json_object_get(l2100a, "id")),
                        "2100A");
    lx_x12_doc_destroy(&txn);
    assert_int_equal(lx_x12_reader_next(r, &txn, &err), LX_ENOTFOUND);
    lx_x12_reader_close(&r);
}

static void test_x12_reader_rss_does_not_grow_with_file_size(void **state)
{
    (void)state;
    if (under_sanitizer())
        skip(); /* ASan's shadow memory and quarantine make RSS meaningless */
    /* Per process: other build trees may run this test at the same time. */
    char small[64], large[64];
    snprintf(small, sizeof(small), "/tmp/lx_test_edi_reader_%ld_5.x12",
             (long)getpid());
    snprintf(large, sizeof(large), "/tmp/lx_test_edi_reader_%ld_50.x12",
             (long)getpid());
    gen_834(small, (size_t)5 << 20);
    gen_834(large, (size_t)50 << 20);
    size_t n1 = x12_count_file(small);
    long rss1 = max_rss_kib();
    size_t n2 = x12_count_file(large);
    long rss2 = max_rss_kib();
    remove(small);
    remove(large);
    assert_true(n2 > 9 * n1);
    if (rss2 - rss1 > 4096)
        fail_msg("peak RSS grew by %ld KiB from 5 MB to 50 MB", rss2 - rss1);
}

/* An ORDERS D.96A interchange of about `bytes` bytes, 50 lines a message. */
static void gen_orders(const char *path, size_t bytes)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("UNA:+.? '\nUNB+UNOC:3+SENDER:14+RECEIVER:14+240101:1200+REF1'\n",
          f);
    size_t written = 0, m = 0;
    while (written < bytes) {
        m++;
        int k = fprintf(f,
                        "UNH+%zu+ORDERS:D:96A:UN'\nBGM+220+PO%zu+9'\n"
                        "DTM+137:20240101:102'\nNAD+BY+5412345000013::9'\n"
                        "NAD+SU+4012345500004::9'\n",
                        m, m);
        written += (size_t)k;
        for (int l = 1; l <= 50; l++) {
            k = fprintf(f,
                        "LIN+%d++40123450%05d:EN'\nQTY+21:%d'\n"
                        "PRI+AAA:12.50'\n",
                        l, l, l * 3);
            written += (size_t)k;
        }
        k = fprintf(f, "UNS+S'\nCNT+2:50'\nUNT+%d+%zu'\n", 5 + 150 + 3, m);
        written += (size_t)k;
    }
    fprintf(f, "UNZ+%zu+REF1'\n", m);
    fclose(f);
}

static size_t edifact_count_file(const char *path)
{
    lx_edifact_reader_options opts;
    memset(&opts, 0, sizeof opts);
    opts.parse.defs = edifact_defs;
    lx_edifact_reader *r = NULL;
    lx_edifact_diags d;
    lx_edifact_diags_init(&d);
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_edifact_reader_open_file(path, &opts, &r, &err), 0);
    json_t *msg = NULL;
    size_t n = 0;
    int rc;
    while ((rc = lx_edifact_reader_next(r, &msg, &d, &err)) == 0) {
        json_decref(msg);
        n++;
    }
    if (rc != LX_ENOTFOUND)
        fail_msg("%s: %s", path, err.msg);
    if (d.count > 0)
        fail_msg("%s: %s", path, d.items[0].msg);
    lx_edifact_diags_fini(&d);
    lx_edifact_reader_close(&r);
    return n;
}

static void test_edifact_reader_rss_does_not_grow_with_file_size(void **state)
{
    (void)state;
    if (under_sanitizer())
        skip(); /* ASan's shadow memory and quarantine make RSS meaningless */
    /* Per process: other build trees may run this test at the same time. */
    char small[64], large[64];
    snprintf(small, sizeof(small), "/tmp/lx_test_edi_reader_%ld_5.edi",
             (long)getpid());
    snprintf(large, sizeof(large), "/tmp/lx_test_edi_reader_%ld_50.edi",
             (long)getpid());
    gen_orders(small, (size_t)5 << 20);
    gen_orders(large, (size_t)50 << 20);
    size_t n1 = edifact_count_file(small);
    long rss1 = max_rss_kib();
    size_t n2 = edifact_count_file(large);
    long rss2 = max_rss_kib();
    remove(small);
    remove(large);
    assert_true(n2 > 9 * n1);
    if (rss2 - rss1 > 4096)
        fail_msg("peak RSS grew by %ld KiB from 5 MB to 50 MB", rss2 - rss1);
}

/* ---- shared values in the tree ------------------------------------------ */

/* The tree built with shared values (edi_intern.h: short strings, segment
 * positions) must print exactly as the tree with every value its own, key
 * order included, on the corpus and on mutations of it. */
static size_t trees_compared;

static void same_dump(const char *path, size_t mutation, const json_t *a,
                      const json_t *b)
{
    char *x = json_dumps(a, JSON_COMPACT);
    char *y = json_dumps(b, JSON_COMPACT);
    assert_non_null(x);
    assert_non_null(y);
    if (strcmp(x, y) != 0)
        fail_msg("%s (mutation %zu): shared tree differs\n%s\n%s", path,
                 mutation, x, y);
    free(x);
    free(y);
    trees_compared++;
}

static void x12_shared_vs_own(const char *path, size_t mutation,
                              const char *buf, size_t len)
{
    lx_x12_doc *a = NULL, *b = NULL;
    lx_error err;
    int ra = lx_x12_parse(buf, len, x12_defs, LX_X12_PARSE_LENIENT, &a, &err);
    int rb = lx_x12_parse(buf, len, x12_defs, LX_X12_PARSE_LENIENT, &b, &err);
    assert_int_equal(ra, rb);
    if (ra == 0)
        same_dump(path, mutation, lx_x12_doc_tree(a),
                  lx_x12_doc_tree_unshared(b));
    lx_x12_doc_destroy(&a);
    lx_x12_doc_destroy(&b);
}

static void edifact_shared_vs_own(const char *path, size_t mutation,
                                  const char *buf, size_t len)
{
    lx_edifact_options o;
    memset(&o, 0, sizeof o);
    o.flags = LX_EDIFACT_LENIENT;
    o.defs = edifact_defs;
    lx_edifact_msg *a = NULL, *b = NULL;
    lx_error err;
    int ra = lx_edifact_parse_msg(buf, len, &o, NULL, &a, NULL, &err);
    int rb = lx_edifact_parse_msg(buf, len, &o, NULL, &b, NULL, &err);
    assert_int_equal(ra, rb);
    if (ra == 0)
        same_dump(path, mutation, lx_edifact_msg_tree(a),
                  lx_edifact_msg_tree_unshared(b));
    lx_edifact_msg_destroy(&a);
    lx_edifact_msg_destroy(&b);
}

typedef void (*compare_fn)(const char *path, size_t mutation,
                           const char *buf, size_t len);

/* The file, then 60 one-byte edits of it (a delimiter, a letter, a digit,
 * a Latin-1 byte, a deletion) at positions from a fixed sequence. */
static void each_mutation(const char *path, compare_fn fn)
{
    static const char subst[] = "+:'*~^?A0 \xe9\n";
    size_t len = 0;
    char *buf = slurp(path, &len);
    fn(path, 0, buf, len);
    char *m = lx_xmalloc(len + 1);
    uint32_t seed = 2463534242u;
    for (size_t k = 1; k <= 60 && len > 1; k++) {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        size_t at = seed % len;
        size_t n = len;
        memcpy(m, buf, len);
        size_t pick = (seed >> 8) % (sizeof subst);
        if (pick == sizeof subst - 1) {
            memmove(m + at, m + at + 1, len - at - 1);
            n--;
        } else {
            m[at] = subst[pick];
        }
        fn(path, k, m, n);
    }
    free(m);
    free(buf);
}

static void x12_mutated(const char *path, size_t *count)
{
    each_mutation(path, x12_shared_vs_own);
    (*count)++;
}

static void edifact_mutated(const char *path, size_t *count)
{
    each_mutation(path, edifact_shared_vs_own);
    (*count)++;
}

static void test_edi_shared_tree_equals_own_tree_on_corpus(void **state)
{
    (void)state;
    if (!getenv("LX_CORPUS_DIR"))
        skip();
    assert_non_null(x12_defs);
    assert_non_null(edifact_defs);
    trees_compared = 0;
    assert_true(each_corpus_file("x12", x12_mutated) >= 10);
    size_t x12_trees = trees_compared;
    assert_true(each_corpus_file("edifact", edifact_mutated) >= 29);
    /* Most edits still parse (leniently): the comparison ran on them. */
    assert_true(x12_trees >= 300);
    assert_true(trees_compared - x12_trees >= 1000);
}

/* Positions are shared integers: the same value for the same number,
 * whichever message or thread asks, and a fresh one past the table. */
static void test_edi_shared_integer(void **state)
{
    (void)state;
    json_t *a = lx_edi_shared_integer(7);
    json_t *b = lx_edi_shared_integer(7);
    assert_ptr_equal(a, b);
    assert_int_equal(json_integer_value(a), 7);
    json_t *c = lx_edi_shared_integer(LX_EDI_SHARED_INT_MAX);
    json_t *d = lx_edi_shared_integer(LX_EDI_SHARED_INT_MAX);
    assert_ptr_not_equal(c, d);
    assert_int_equal(json_integer_value(c), LX_EDI_SHARED_INT_MAX);
    json_t *e = lx_edi_shared_integer(-1);
    assert_int_equal(json_integer_value(e), -1);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(d);
    json_decref(e);
    /* Still alive: the table keeps its reference. */
    json_t *f = lx_edi_shared_integer(7);
    assert_int_equal(json_integer_value(f), 7);
    json_decref(f);
}


/* Every length up to past the shared ones: equal bytes give the one
 * value, bytes that differ anywhere (first, middle, last) or only in
 * length never do. */
static void test_edi_intern_keys_tell_values_apart(void **state)
{
    (void)state;
    lx_edi_intern *t = lx_xmalloc(sizeof(*t));
    lx_edi_intern_init(t);
    char a[24], b[24];
    for (size_t len = 0; len <= 20; len++) {
        for (size_t i = 0; i < len; i++)
            a[i] = (char)('A' + (len + i) % 26);
        json_t *x = lx_edi_intern_string(t, a, len, 1);
        json_t *y = lx_edi_intern_string(t, a, len, 1);
        assert_int_equal(json_string_length(x), len);
        assert_memory_equal(json_string_value(x), a, len);
        if (len <= LX_EDI_INTERN_LEN_MAX)
            assert_ptr_equal(x, y);
        for (size_t at = 0; at < len; at++) {
            memcpy(b, a, len);
            b[at] = '#';
            json_t *z = lx_edi_intern_string(t, b, len, 1);
            assert_ptr_not_equal(x, z);
            assert_memory_equal(json_string_value(z), b, len);
            json_decref(z);
        }
        if (len > 0) {
            json_t *shorter = lx_edi_intern_string(t, a, len - 1, 1);
            assert_ptr_not_equal(x, shorter);
            assert_int_equal(json_string_length(shorter), len - 1);
            json_decref(shorter);
        }
        json_decref(x);
        json_decref(y);
    }
    /* Not UTF-8: refused when checked, never kept. */
    assert_null(lx_edi_intern_string(t, "\xe9", 1, 1));
    json_t *raw = lx_edi_intern_string(t, "\xe9", 1, 0);
    assert_non_null(raw);
    json_decref(raw);
    lx_edi_intern_fini(t);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x12_reader_matches_parse_on_corpus),
        cmocka_unit_test(test_x12_reader_segment_over_ceiling_is_limit),
        cmocka_unit_test(test_x12_reader_envelope_findings_as_trailers_arrive),
        cmocka_unit_test(test_x12_reader_empty_and_garbage_inputs),
        cmocka_unit_test(test_x12_reader_rss_does_not_grow_with_file_size),
        cmocka_unit_test(test_edifact_reader_matches_parse_on_corpus),
        cmocka_unit_test(test_edifact_reader_envelope_findings_and_limits),
        cmocka_unit_test(test_edifact_reader_rss_does_not_grow_with_file_size),
        cmocka_unit_test(test_edifact_reader_msg_tree_on_demand),
        cmocka_unit_test(test_edifact_message_apply_json_matches_parse),
        cmocka_unit_test(test_x12_reader_tree_on_demand),
        cmocka_unit_test(test_edi_shared_tree_equals_own_tree_on_corpus),
        cmocka_unit_test(test_edi_shared_integer),
        cmocka_unit_test(test_edi_intern_keys_tell_values_apart),
    };
    /* LX_TEST_SKIP="*rss*" leaves out the large files (under valgrind). */
    if (getenv("LX_TEST_SKIP"))
        cmocka_set_skip_filter(getenv("LX_TEST_SKIP"));
    return cmocka_run_group_tests(tests, setup, teardown);
}
