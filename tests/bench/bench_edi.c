/* tests/bench/bench_edi.c: throughput and peak memory of the streaming EDI
 * readers (adapters/edi/x12_reader.h, edifact_reader.h) on large generated
 * interchanges. Not a test: figures depend on the machine; see README.md
 * and run_edi_bench.sh, which compares with two npm parsers.
 *
 *   bench_edi gen-x12 PATH MB       an 834 interchange, 100 members a set
 *   bench_edi gen-edifact PATH MB   an ORDERS D.96A interchange
 *   bench_edi x12 PATH [DEFS_DIR|-] [tree]   read it, one transaction set
 *                                   at a time
 *   bench_edi edifact PATH [DEFS_DIR|-] [tree]
 *   bench_edi x12-whole|edifact-whole PATH   the whole-file parsers, for
 *                                   the reader's overhead (memory grows)
 *
 * With DEFS_DIR (schemas/x12/005010, schemas/edifact/d96a) every
 * transaction set / message is also validated against its definition
 * ("-": none). With "tree" the JSON tree of each one is built too (the
 * readers build it on demand: lx_x12_doc_tree, lx_edifact_msg_tree). */
#include "adapters/edi/edifact_reader.h"
#include "adapters/edi/x12_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long max_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static size_t parse_mb(const char *s)
{
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 10);
    if (!end || *end != '\0' || v == 0 || v > 100000) {
        fprintf(stderr, "bench_edi: size in MB expected\n");
        exit(2);
    }
    return (size_t)v << 20;
}

/* No line breaks: every parser compared reads the same bytes. */
static int gen_x12(const char *path, size_t bytes)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 1;
    fputs("ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER"
          "       *240101*1200*^*00501*000000001*0*T*:~"
          "GS*BE*S*R*20240101*1200*1*X*005010X220A1~",
          f);
    size_t written = 0, st = 0;
    while (written < bytes) {
        st++;
        int k = fprintf(f,
                        "ST*834*%04zu*005010X220A1~BGN*00*%zu*20240101*1200"
                        "****2~N1*P5**FI*999888777~N1*IN**FI*654456654~",
                        st % 10000, st);
        written += (size_t)k;
        for (size_t m = 0; m < 100; m++) {
            size_t id = st * 100 + m;
            k = fprintf(f,
                        "INS*Y*18*021*20*A***FT~REF*0F*%09zu~DTP*356*D8*"
                        "20240101~NM1*IL*1*DOE*JOHN*P***34*%09zu~DMG*D8*"
                        "19770816*M~HD*021**HLT~DTP*348*D8*20240101~",
                        id, id);
            written += (size_t)k;
        }
        k = fprintf(f, "SE*%d*%04zu~", 4 + 700 + 1, st % 10000);
        written += (size_t)k;
    }
    fprintf(f, "GE*%zu*1~IEA*1*000000001~", st);
    return fclose(f) == 0 ? 0 : 1;
}

static int gen_edifact(const char *path, size_t bytes)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 1;
    fputs("UNA:+.? 'UNB+UNOC:3+SENDER:14+RECEIVER:14+240101:1200+REF1'", f);
    size_t written = 0, m = 0;
    while (written < bytes) {
        m++;
        int k = fprintf(f,
                        "UNH+%zu+ORDERS:D:96A:UN'BGM+220+PO%zu+9'"
                        "DTM+137:20240101:102'NAD+BY+5412345000013::9'"
                        "NAD+SU+4012345500004::9'",
                        m, m);
        written += (size_t)k;
        for (int l = 1; l <= 50; l++) {
            k = fprintf(f, "LIN+%d++40123450%05d:EN'QTY+21:%d'PRI+AAA:12.50'",
                        l, l, l * 3);
            written += (size_t)k;
        }
        k = fprintf(f, "UNS+S'CNT+2:50'UNT+%d+%zu'", 5 + 150 + 3, m);
        written += (size_t)k;
    }
    fprintf(f, "UNZ+%zu+REF1'", m);
    return fclose(f) == 0 ? 0 : 1;
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void report(const char *what, const char *path, size_t units,
                   size_t findings, double secs)
{
    double mb = (double)file_size(path) / 1e6;
    printf("%s file=%s MB=%.1f units=%zu findings=%zu secs=%.3f MB/s=%.1f "
           "maxrss_kib=%ld\n",
           what, path, mb, units, findings, secs, mb / secs, max_rss_kib());
}

static int run_x12(const char *path, const char *defs_dir, int tree)
{
    lx_x12_defs *defs = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (defs_dir && lx_x12_defs_load(defs_dir, &defs, &err) != 0) {
        fprintf(stderr, "bench_edi: %s\n", err.msg);
        return 1;
    }
    double t0 = now_s();
    lx_x12_reader *r = NULL;
    if (lx_x12_reader_open_file(path, defs, LX_X12_PARSE_LENIENT, NULL, &r,
                                &err) != 0) {
        fprintf(stderr, "bench_edi: %s\n", err.msg);
        lx_x12_defs_destroy(&defs);
        return 1;
    }
    size_t n = 0, findings = 0;
    lx_x12_doc *txn = NULL;
    int rc;
    while ((rc = lx_x12_reader_next(r, &txn, &err)) == 0) {
        findings += lx_x12_doc_diag_count(txn);
        if (tree && !lx_x12_doc_tree(txn))
            return 1;
        lx_x12_doc_destroy(&txn);
        n++;
    }
    findings += lx_x12_reader_envelope_diag_count(r);
    double secs = now_s() - t0;
    lx_x12_reader_close(&r);
    lx_x12_defs_destroy(&defs);
    if (rc != LX_ENOTFOUND) {
        fprintf(stderr, "bench_edi: %s\n", err.msg);
        return 1;
    }
    report(defs_dir ? (tree ? "x12+defs+tree" : "x12+defs")
                    : (tree ? "x12+tree" : "x12"),
           path, n, findings, secs);
    return 0;
}

static int run_edifact(const char *path, const char *defs_dir, int tree)
{
    lx_edifact_reader_options opts;
    memset(&opts, 0, sizeof opts);
    opts.parse.flags = LX_EDIFACT_LENIENT;
    lx_edifact_defs *defs = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (defs_dir && lx_edifact_defs_load(defs_dir, &defs, &err) != 0) {
        fprintf(stderr, "bench_edi: %s\n", err.msg);
        return 1;
    }
    opts.parse.defs = defs;
    double t0 = now_s();
    lx_edifact_reader *r = NULL;
    if (lx_edifact_reader_open_file(path, &opts, &r, &err) != 0) {
        fprintf(stderr, "bench_edi: %s\n", err.msg);
        lx_edifact_defs_destroy(&defs);
        return 1;
    }
    lx_edifact_diags d;
    lx_edifact_diags_init(&d);
    size_t n = 0, findings = 0;
    lx_edifact_msg *msg = NULL;
    int rc;
    while ((rc = lx_edifact_reader_next_msg(r, &msg, &d, &err)) == 0) {
        if (tree && !lx_edifact_msg_tree(msg))
            return 1;
        lx_edifact_msg_destroy(&msg);
        n++;
        findings += d.count + d.dropped;
        d.count = 0;
        d.dropped = 0;
    }
    findings += d.count + d.dropped;
    double secs = now_s() - t0;
    lx_edifact_diags_fini(&d);
    lx_edifact_reader_close(&r);
    lx_edifact_defs_destroy(&defs);
    if (rc != LX_ENOTFOUND) {
        fprintf(stderr, "bench_edi: %s\n", err.msg);
        return 1;
    }
    report(defs_dir ? (tree ? "edifact+defs+tree" : "edifact+defs")
                    : (tree ? "edifact+tree" : "edifact"),
           path, n, findings, secs);
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    long n = file_size(path);
    FILE *f = fopen(path, "rb");
    if (!f || n < 0) {
        if (f)
            fclose(f);
        return NULL;
    }
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* lx_x12_parse / lx_edifact_parse of the whole file (read first). */
static int run_whole(const char *kind, const char *path)
{
    size_t len = 0;
    double t0 = now_s();
    char *buf = slurp(path, &len);
    if (!buf) {
        fprintf(stderr, "bench_edi: cannot read %s\n", path);
        return 1;
    }
    lx_error err;
    lx_error_clear(&err);
    int rc;
    size_t findings = 0;
    if (strcmp(kind, "x12-whole") == 0) {
        lx_x12_doc *doc = NULL;
        rc = lx_x12_parse(buf, len, NULL, LX_X12_PARSE_LENIENT, &doc, &err);
        if (rc == 0)
            findings = lx_x12_doc_diag_count(doc);
        lx_x12_doc_destroy(&doc);
    } else {
        lx_edifact_options o;
        memset(&o, 0, sizeof o);
        o.flags = LX_EDIFACT_LENIENT;
        o.max_len = len;
        o.max_segments = len;
        json_t *tree = NULL;
        rc = lx_edifact_parse(buf, len, &o, &tree, NULL, &err);
        json_decref(tree);
    }
    double secs = now_s() - t0;
    free(buf);
    if (rc != 0) {
        fprintf(stderr, "bench_edi: %s\n", err.msg);
        return 1;
    }
    report(kind, path, 1, findings, secs);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "gen-x12") == 0)
        return gen_x12(argv[2], parse_mb(argv[3]));
    if (argc >= 4 && strcmp(argv[1], "gen-edifact") == 0)
        return gen_edifact(argv[2], parse_mb(argv[3]));
    const char *defs = argc >= 4 && strcmp(argv[3], "-") != 0 ? argv[3] : NULL;
    int tree = argc >= 5 && strcmp(argv[4], "tree") == 0;
    if (argc >= 3 && strcmp(argv[1], "x12") == 0)
        return run_x12(argv[2], defs, tree);
    if (argc >= 3 && strcmp(argv[1], "edifact") == 0)
        return run_edifact(argv[2], defs, tree);
    if (argc >= 3 && (strcmp(argv[1], "x12-whole") == 0 ||
                      strcmp(argv[1], "edifact-whole") == 0))
        return run_whole(argv[1], argv[2]);
    fprintf(stderr, "usage: bench_edi gen-x12|gen-edifact PATH MB\n"
                    "       bench_edi x12|edifact PATH [DEFS_DIR|-] [tree]\n");
    return 2;
}
