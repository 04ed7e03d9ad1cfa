/* tests/unit/test_edi_ack.c: X12 997/999/TA1 and EDIFACT CONTRL built from
 * parsed interchanges and their findings; every acknowledgement parses
 * back clean; the corpus under $LX_CORPUS_DIR is acknowledged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "adapters/edi/ack.h"
#include "core/mem.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISA_005                                                              \
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "  \
    "*240101*1200*^*00501*000000017*0*T*:~"
#define H834 "BGN*00*12456*20240101*1200****2~N1*P5**FI*12~N1*IN**FI*22~"
#define M834 "INS*Y*18*030*XN*A~REF*0F*1~NM1*IL*1~"

/* haystack contains needle, else fail showing the haystack. */
#define assert_has(hay, needle)                                              \
    do {                                                                     \
        if (!strstr((hay), (needle)))                                        \
            fail_msg("expected %s\nin %s", (needle), (hay));               \
    } while (0)

static lx_x12_defs *x12_defs;
static lx_edifact_defs *edi_defs;

static int setup(void **state)
{
    (void)state;
    char dir[1024];
    const char *src = getenv("LX_SOURCE_DIR");
    lx_error err;
    lx_error_clear(&err);
    snprintf(dir, sizeof(dir), "%s/schemas/x12/005010", src ? src : ".");
    if (lx_x12_defs_load(dir, &x12_defs, &err) != 0) {
        fprintf(stderr, "x12 defs: %s\n", err.msg);
        return -1;
    }
    snprintf(dir, sizeof(dir), "%s/schemas/edifact/d96a", src ? src : ".");
    if (lx_edifact_defs_load(dir, &edi_defs, &err) != 0) {
        fprintf(stderr, "edifact defs: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lx_x12_defs_destroy(&x12_defs);
    lx_edifact_defs_destroy(&edi_defs);
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    lx_buf b;
    lx_buf_init(&b, 64 << 20);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(lx_buf_append(&b, chunk, n), 0);
    fclose(f);
    assert_int_equal(lx_buf_append(&b, "", 0), 0);
    return lx_buf_take(&b, len);
}

/* ---- X12 --------------------------------------------------------------- */

/* A one-transaction 005010 interchange around body (after ST). */
static char *wrap(const char *set, const char *body, const char *se01)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    assert_int_equal(lx_buf_printf(&b,
                                   ISA_005 "GS*BE*SAPP*RAPP*20240101*1200*7*X*"
                                           "005010X220A1~ST*%s*0001*"
                                           "005010X220A1~%sSE*%s*0001~"
                                           "GE*1*7~IEA*1*000000017~",
                                   set, body, se01),
                     0);
    return lx_buf_take(&b, NULL);
}

static lx_x12_ack_ids x12_ids(void)
{
    lx_x12_ack_ids ids;
    memset(&ids, 0, sizeof(ids));
    ids.isa13 = 905;
    ids.gs06 = 42;
    ids.st02_first = 1;
    ids.date = "20240102";
    ids.time = "0930";
    return ids;
}

/* The ack without its TA1: lx_x12_parse does not take segments between
 * ISA and GS (see docs/edi-acks.md). */
static char *without_ta1(const char *ack)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    const char *p = strstr(ack, "TA1*");
    if (!p) {
        assert_int_equal(lx_buf_puts(&b, ack), 0);
    } else {
        const char *end = strchr(p, '~');
        assert_non_null(end);
        assert_int_equal(lx_buf_append(&b, ack, (size_t)(p - ack)), 0);
        assert_int_equal(lx_buf_puts(&b, end + 1), 0);
    }
    return lx_buf_take(&b, NULL);
}

/* The ack parses back strictly, with the 997/999 definitions, and with no
 * finding. */
static void assert_ack_parses_clean(const char *ack)
{
    char *text = without_ta1(ack);
    lx_x12_doc *doc = NULL;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_x12_parse(text, strlen(text), x12_defs, 0, &doc, &err);
    if (rc != 0)
        fail_msg("ack does not parse back: %s\n%s", err.msg, ack);
    assert_int_equal(lx_x12_doc_diag_count(doc), 0);
    lx_x12_doc_destroy(&doc);
    free(text);
}

/* Parse text leniently and acknowledge it; the ack (malloc'd) is checked
 * to parse back clean. */
static char *x12_ack(const char *text, size_t len, lx_x12_ack_kind kind,
                     const lx_x12_ack_ids *ids, lx_x12_ack_summary *sum)
{
    lx_x12_doc *doc = NULL;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_x12_parse(text, len, x12_defs, LX_X12_PARSE_LENIENT, &doc,
                          &err);
    if (rc != 0)
        fail_msg("input does not parse: %s", err.msg);
    lx_buf out;
    lx_buf_init(&out, 1 << 20);
    rc = lx_x12_ack_build(doc, kind, ids, sum, &out, &err);
    if (rc != 0)
        fail_msg("ack: %s", err.msg);
    lx_x12_doc_destroy(&doc);
    if (out.len > 0)
        assert_ack_parses_clean(out.data);
    return out.len > 0 ? lx_buf_take(&out, NULL) : NULL;
}

static void test_x12_997_of_valid_834_accepts_everything(void **state)
{
    (void)state;
    char *text = wrap("834", H834 M834, "8");
    lx_x12_ack_ids ids = x12_ids();
    lx_x12_ack_summary sum;
    char *ack = x12_ack(text, strlen(text), LX_X12_ACK_997, &ids, &sum);
    assert_string_equal(
        ack, "ISA*00*          *00*          *ZZ*RECEIVER       *ZZ*SENDER"
             "         *240102*0930*^*00501*000000905*0*T*:~"
             "GS*FA*RAPP*SAPP*20240102*0930*42*X*005010~"
             "ST*997*0001~AK1*BE*7*005010X220A1~AK2*834*0001~AK5*A~"
             "AK9*A*1*1*1~SE*6*0001~GE*1*42~IEA*1*000000905~");
    assert_int_equal(sum.groups, 1);
    assert_int_equal(sum.groups_accepted, 1);
    assert_int_equal(sum.sets_received, 1);
    assert_int_equal(sum.sets_accepted, 1);
    assert_int_equal(sum.sets_rejected, 0);
    assert_int_equal(sum.ta1, 0);
    free(ack);
    free(text);
}

static void test_x12_999_se_count_mismatch_rejects_with_code_4(void **state)
{
    (void)state;
    char *text = wrap("834", H834 M834, "9");
    lx_x12_ack_ids ids = x12_ids();
    lx_x12_ack_summary sum;
    char *ack = x12_ack(text, strlen(text), LX_X12_ACK_999, &ids, &sum);
    assert_has(ack, "ST*999*0001*005010X231A1~AK1*BE*7*005010X220A1~"
             "AK2*834*0001*005010X220A1~IK5*R*4~AK9*R*1*1*0~SE*6*0001~");
    assert_has(ack, "GS*FA*RAPP*SAPP*20240102*0930*42*X*"
                                "005010X231A1~");
    assert_int_equal(sum.sets_rejected, 1);
    assert_int_equal(sum.groups_rejected, 1);
    free(ack);
    free(text);
}

static void test_x12_999_bad_element_is_ik3_ik4_without_value(void **state)
{
    (void)state;
    /* INS02 "180" is too long (ID 2/2): segment 5, element 2, code 5. */
    char *text = wrap("834", H834 "INS*Y*180*030*XN*A~REF*0F*1~NM1*IL*1~",
                      "8");
    lx_x12_ack_ids ids = x12_ids();
    lx_x12_ack_summary sum;
    char *ack = x12_ack(text, strlen(text), LX_X12_ACK_999, &ids, &sum);
    assert_has(ack, "AK2*834*0001*005010X220A1~IK3*INS*5*2000*8~"
                                "IK4*2**5~IK5*R*5~AK9*R*1*1*0~SE*8*0001~");
    assert_null(strstr(ack, "180"));
    assert_int_equal(sum.segment_errors, 1);
    assert_int_equal(sum.element_errors, 1);
    free(ack);

    /* The same as a 997, accepted with errors on request. */
    ids.flags = LX_X12_ACK_ACCEPT_WITH_ERRORS;
    ack = x12_ack(text, strlen(text), LX_X12_ACK_997, &ids, &sum);
    assert_has(ack, "AK2*834*0001~AK3*INS*5*2000*8~AK4*2**5~"
                                "AK5*E*5~AK9*E*1*1*1~SE*8*0001~");
    assert_int_equal(sum.sets_accepted, 1);
    free(ack);
    free(text);
}

static void test_x12_999_unknown_and_unexpected_segments(void **state)
{
    (void)state;
    lx_x12_ack_ids ids = x12_ids();
    lx_x12_ack_summary sum;
    /* ZZZ is in no dictionary: code 1 (unrecognized segment id). */
    char *text = wrap("834", H834 M834 "ZZZ*1~", "9");
    char *ack = x12_ack(text, strlen(text), LX_X12_ACK_999, &ids, &sum);
    assert_has(ack, "IK3*ZZZ*8*2100A*1~IK5*R*5~");
    free(ack);
    free(text);
    /* HD belongs to the 834 but not where it stands: code 2. */
    text = wrap("834", H834 "HD*030**HLT~" M834, "9");
    ack = x12_ack(text, strlen(text), LX_X12_ACK_999, &ids, &sum);
    assert_has(ack, "IK3*HD*5*1000B*2~");
    assert_has(ack, "IK5*R*5~");
    free(ack);
    free(text);
}

static void test_x12_groups_and_counts(void **state)
{
    (void)state;
    /* Two groups; the first has two sets (one bad), the second one good
     * set and a wrong GE01; an FA group is not acknowledged. */
    const char *text =
        ISA_005
        "GS*BE*SAPP*RAPP*20240101*1200*7*X*005010X220A1~"
        "ST*834*0001~" H834 M834 "SE*8*0001~"
        "ST*834*0002~" H834 M834 "SE*7*0002~"
        "GE*2*7~"
        "GS*BE*SAPP*RAPP*20240101*1200*8*X*005010X220A1~"
        "ST*834*0001~" H834 M834 "SE*8*0001~"
        "GE*3*8~"
        "GS*FA*SAPP*RAPP*20240101*1200*9*X*005010~"
        "ST*997*0001~AK1*BE*1~AK9*A*1*1*1~SE*4*0001~"
        "GE*1*9~IEA*3*000000017~";
    lx_x12_ack_ids ids = x12_ids();
    ids.st02_first = 11;
    lx_x12_ack_summary sum;
    char *ack = x12_ack(text, strlen(text), LX_X12_ACK_999, &ids, &sum);
    assert_has(ack, "ST*999*0011*005010X231A1~AK1*BE*7*"
                                "005010X220A1~AK2*834*0001~IK5*A~"
                                "AK2*834*0002~IK5*R*4~AK9*P*2*2*1~"
                                "SE*8*0011~");
    /* GE01 = 3 for one set: AK905 5 (count does not match). */
    assert_has(ack, "ST*999*0012*005010X231A1~AK1*BE*8*"
                                "005010X220A1~AK2*834*0001~IK5*A~"
                                "AK9*R*3*1*1*5~SE*6*0012~");
    assert_has(ack, "GE*2*42~IEA*1*000000905~");
    assert_null(strstr(ack, "AK1*FA"));
    assert_int_equal(sum.groups, 2);
    assert_int_equal(sum.groups_partial, 1);
    assert_int_equal(sum.groups_rejected, 1);
    assert_int_equal(sum.sets_received, 3);
    assert_int_equal(sum.sets_accepted, 2);
    assert_int_equal(sum.sets_rejected, 1);
    free(ack);
}

static void test_x12_duplicate_control_numbers_keep_their_findings(void **s)
{
    (void)s;
    /* Two sets both numbered 0001, only the second bad: the findings
     * cannot be told apart, both are rejected with AK502 23 (control
     * number not unique) and report them. */
    const char *text =
        ISA_005 "GS*BE*SAPP*RAPP*20240101*1200*7*X*005010X220A1~"
        "ST*834*0001~" H834 M834 "SE*8*0001~"
        "ST*834*0001~" H834 "INS*Y*180*030*XN*A~REF*0F*1~NM1*IL*1~"
        "SE*8*0001~GE*2*7~IEA*1*000000017~";
    lx_x12_ack_ids ids = x12_ids();
    lx_x12_ack_summary sum;
    char *ack = x12_ack(text, strlen(text), LX_X12_ACK_999, &ids, &sum);
    assert_has(ack, "AK2*834*0001~IK3*INS*5*2000*8~IK4*2**5~IK5*R*23*5~"
                    "AK2*834*0001~IK3*INS*5*2000*8~IK4*2**5~IK5*R*23*5~"
                    "AK9*R*2*2*0~");
    free(ack);
}

static void test_x12_ta1_for_interchange_findings(void **state)
{
    (void)state;
    /* IEA02 differs from ISA13: TA1 E 001, the header number is used. */
    const char *text =
        ISA_005 "GS*BE*SAPP*RAPP*20240101*1200*7*X*005010X220A1~"
        "ST*834*0001~" H834 M834 "SE*8*0001~GE*1*7~IEA*1*000000018~";
    lx_x12_ack_ids ids = x12_ids();
    lx_x12_ack_summary sum;
    char *ack = x12_ack(text, strlen(text), LX_X12_ACK_997, &ids, &sum);
    assert_has(ack, "*0*T*:~TA1*000000017*240101*1200*E*001~"
                                "GS*FA*");
    assert_int_equal(sum.ta1, 'E');
    free(ack);
    /* A truncated interchange: TA1 R 023, the set and group trailers
     * missing (AK5 2, AK9 3). */
    const char *cut = ISA_005 "GS*BE*SAPP*RAPP*20240101*1200*7*X*"
                              "005010X220A1~ST*834*0001~" H834 M834;
    ack = x12_ack(cut, strlen(cut), LX_X12_ACK_997, &ids, &sum);
    assert_has(ack, "TA1*000000017*240101*1200*R*023~");
    assert_has(ack, "AK5*R*2~AK9*R*1*1*0*3~");
    assert_int_equal(sum.ta1, 'R');
    free(ack);
    /* ISA14 = 1 asks for a TA1 even when all is well. */
    char *asked = wrap("834", H834 M834, "8");
    char *p = strstr(asked, "*0*T*:~");
    p[1] = '1';
    ack = x12_ack(asked, strlen(asked), LX_X12_ACK_997, &ids, &sum);
    assert_has(ack, "TA1*000000017*240101*1200*A*000~");
    free(ack);
    free(asked);
}

static void test_x12_ack_ids_are_checked(void **state)
{
    (void)state;
    char *text = wrap("834", H834 M834, "8");
    lx_x12_doc *doc = NULL;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_x12_parse(text, strlen(text), x12_defs, 0, &doc,
                                  &err),
                     0);
    lx_buf out;
    lx_buf_init(&out, 1 << 20);
    lx_x12_ack_ids ids = x12_ids();
    ids.isa13 = 1000000000;
    assert_int_equal(lx_x12_ack_build(doc, LX_X12_ACK_997, &ids, NULL, &out,
                                      &err),
                     LX_EINVAL);
    ids = x12_ids();
    ids.date = "240102";
    assert_int_equal(lx_x12_ack_build(doc, LX_X12_ACK_997, &ids, NULL, &out,
                                      &err),
                     LX_EINVAL);
    ids = x12_ids();
    ids.sender_id = "HUB*1";
    assert_int_equal(lx_x12_ack_build(doc, LX_X12_ACK_997, &ids, NULL, &out,
                                      &err),
                     LX_EINVAL);
    ids = x12_ids();
    ids.interchange = 1;
    assert_int_equal(lx_x12_ack_build(doc, LX_X12_ACK_997, &ids, NULL, &out,
                                      &err),
                     LX_EINVAL);
    /* Caller's parties, test indicator and delimiters. */
    ids = x12_ids();
    ids.sender_qual = "01";
    ids.sender_id = "LINGUA";
    ids.test_indicator = 'P';
    lx_x12_delims d = {'|', '^', '>', '\n'};
    ids.delims = &d;
    assert_int_equal(lx_x12_ack_build(doc, LX_X12_ACK_997, &ids, NULL, &out,
                                      &err),
                     0);
    assert_has(out.data, "ISA|00|          |00|          |01|"
                                     "LINGUA         |ZZ|SENDER         |"
                                     "240102|0930|^|00501|000000905|0|P|>\n");
    lx_x12_doc *back = NULL;
    assert_int_equal(lx_x12_parse(out.data, out.len, x12_defs, 0, &back,
                                  &err),
                     0);
    lx_x12_doc_destroy(&back);
    /* A ceiling too small. */
    lx_buf small;
    lx_buf_init(&small, 40);
    ids = x12_ids();
    assert_int_equal(lx_x12_ack_build(doc, LX_X12_ACK_997, &ids, NULL,
                                      &small, &err),
                     LX_ELIMIT);
    lx_buf_fini(&small);
    lx_buf_fini(&out);
    lx_x12_doc_destroy(&doc);
    free(text);
}

static size_t x12_files, x12_rejected_files;

static void x12_corpus_file(const char *path, int invalid)
{
    size_t len;
    char *text = slurp(path, &len);
    const char *name = strrchr(path, '/') + 1;
    lx_x12_doc *doc = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (lx_x12_parse(text, len, x12_defs, LX_X12_PARSE_LENIENT, &doc,
                     &err) != 0) {
        /* Nothing to acknowledge without an envelope. */
        if (!invalid)
            fail_msg("%s: %s", name, err.msg);
        printf("  %s: no ack, not parseable: %s\n", name, err.msg);
        free(text);
        return;
    }
    int clean = lx_x12_doc_diag_count(doc) == 0;
    size_t ichgs =
        json_array_size(json_object_get(lx_x12_doc_tree(doc), "interchanges"));
    for (size_t i = 0; i < ichgs; i++) {
        for (int k = 0; k < 2; k++) {
            lx_x12_ack_ids ids = x12_ids();
            ids.interchange = i;
            lx_x12_ack_summary sum;
            lx_buf out;
            lx_buf_init(&out, 1 << 20);
            if (lx_x12_ack_build(doc, k ? LX_X12_ACK_999 : LX_X12_ACK_997,
                                 &ids, &sum, &out, &err) != 0)
                fail_msg("%s: %s", name, err.msg);
            if (out.len > 0)
                assert_ack_parses_clean(out.data);
            if (clean) {
                assert_int_equal(sum.sets_accepted, sum.sets_received);
                assert_int_equal(sum.groups_accepted, sum.groups);
                assert_true(sum.ta1 == 0 || sum.ta1 == 'A');
            }
            if (invalid && k == 1)
                printf("  %s: %s", name, out.data ? out.data : "(none)\n");
            lx_buf_fini(&out);
        }
    }
    if (!clean)
        x12_rejected_files++;
    x12_files++;
    lx_x12_doc_destroy(&doc);
    free(text);
}

static void test_x12_corpus_acks(void **state)
{
    (void)state;
    const char *corpus = getenv("LX_CORPUS_DIR");
    char dir[1024], path[2048];
    if (!corpus)
        skip();
    snprintf(dir, sizeof(dir), "%s/x12", corpus);
    DIR *top = opendir(dir);
    assert_non_null(top);
    struct dirent *sub;
    while ((sub = readdir(top)) != NULL) {
        if (sub->d_name[0] == '.')
            continue;
        char subdir[1536];
        snprintf(subdir, sizeof(subdir), "%s/%s", dir, sub->d_name);
        DIR *d = opendir(subdir);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", subdir, e->d_name);
            x12_corpus_file(path, strcmp(sub->d_name, "invalid") == 0);
        }
        closedir(d);
    }
    closedir(top);
    printf("x12 corpus: %zu acknowledged (997 and 999), %zu with findings\n",
           x12_files, x12_rejected_files);
    assert_true(x12_files >= 55);
}

static void test_x12_corpus_invalid_control_numbers(void **state)
{
    (void)state;
    const char *corpus = getenv("LX_CORPUS_DIR");
    char path[1024];
    if (!corpus)
        skip();
    snprintf(path, sizeof(path),
             "%s/x12/invalid/ediengine__ControlNumbersMismatch.edi", corpus);
    size_t len;
    char *text = slurp(path, &len);
    lx_x12_ack_ids ids = x12_ids();
    lx_x12_ack_summary sum;
    char *ack = x12_ack(text, len, LX_X12_ACK_997, &ids, &sum);
    /* SE02 0002 for ST02 0001 (AK5 3), GE02 3315 for GS06 3314 (AK9 4),
     * IEA02 for ISA13 (TA1 E 001). */
    assert_has(ack, "TA1*000003438*101127*1719*E*001~");
    assert_has(ack, "AK1*OW*3314*004010~AK2*940*0001~AK5*R*3~"
                                "AK9*R*1*1*0*4~");
    assert_int_equal(sum.sets_rejected, 1);
    free(ack);
    free(text);
}

/* ---- EDIFACT ------------------------------------------------------------ */

#define UNB3 "UNB+UNOC:3+SENDER:14+RECEIVER:14+240101:1200+IC1'"
#define ORD(ref, extra, unt01)                                               \
    "UNH+" ref "+ORDERS:D:96A:UN'BGM+220+PO1+9'DTM+137:20240101:102'" extra \
    "UNS+S'UNT+" unt01 "+" ref "'"

static lx_edifact_ack_ids edi_ids(void)
{
    lx_edifact_ack_ids ids;
    memset(&ids, 0, sizeof(ids));
    ids.interchange_ref = "ACK9";
    ids.message_ref = "C1";
    ids.date = "20240102";
    ids.time = "0930";
    return ids;
}

/* The CONTRL parses back strictly, with the D.96A CONTRL definition,
 * without a finding. */
static void assert_contrl_parses_clean(const char *ack)
{
    lx_edifact_options o = {0, 0, 0, edi_defs};
    lx_edifact_diags diags;
    lx_edifact_diags_init(&diags);
    json_t *tree = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (lx_edifact_parse(ack, strlen(ack), &o, &tree, &diags, &err) != 0)
        fail_msg("CONTRL does not parse back: %s\n%s", err.msg, ack);
    if (diags.count > 0) {
        char line[256];
        fail_msg("CONTRL has findings: %s\n%s",
                 lx_edifact_diag_format(&diags.items[0], line, sizeof line),
                 ack);
    }
    json_decref(tree);
    lx_edifact_diags_fini(&diags);
}

static char *edi_ack(const char *text, size_t len,
                     const lx_edifact_ack_ids *ids,
                     lx_edifact_ack_summary *sum)
{
    lx_edifact_options o = {LX_EDIFACT_LENIENT, 0, 0, edi_defs};
    lx_edifact_diags diags;
    lx_edifact_diags_init(&diags);
    json_t *tree = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (lx_edifact_parse(text, len, &o, &tree, &diags, &err) != 0)
        fail_msg("input does not parse: %s", err.msg);
    lx_buf out;
    lx_buf_init(&out, 1 << 20);
    if (lx_edifact_ack_build(tree, &diags, ids, sum, &out, &err) != 0)
        fail_msg("CONTRL: %s", err.msg);
    json_decref(tree);
    lx_edifact_diags_fini(&diags);
    assert_contrl_parses_clean(out.data);
    return lx_buf_take(&out, NULL);
}

static void test_contrl_of_valid_orders_acknowledges_it(void **state)
{
    (void)state;
    const char *text = UNB3 ORD("M1", "", "5") ORD("M2", "", "5")
        "UNZ+2+IC1'";
    lx_edifact_ack_ids ids = edi_ids();
    lx_edifact_ack_summary sum;
    char *ack = edi_ack(text, strlen(text), &ids, &sum);
    assert_string_equal(
        ack, "UNB+UNOC:3+RECEIVER:14+SENDER:14+240102:0930+ACK9'"
             "UNH+C1+CONTRL:D:3:UN'UCI+IC1+SENDER:14+RECEIVER:14+7'"
             "UCM+M1+ORDERS:D:96A:UN+7'UCM+M2+ORDERS:D:96A:UN+7'"
             "UNT+5+C1'UNZ+1+ACK9'");
    assert_int_equal(sum.action, 7);
    assert_int_equal(sum.messages, 2);
    assert_int_equal(sum.accepted, 2);
    assert_int_equal(sum.rejected, 0);
    free(ack);
    /* Receipt only: UCI 8, no message reported. */
    ids.flags = LX_EDIFACT_ACK_RECEIPT_ONLY;
    ack = edi_ack(text, strlen(text), &ids, &sum);
    assert_has(ack, "UCI+IC1+SENDER:14+RECEIVER:14+8'UNT+3+C1'");
    assert_int_equal(sum.action, 8);
    free(ack);
}

static void test_contrl_bad_element_is_ucs_ucd_without_value(void **state)
{
    (void)state;
    /* BGM02 (1004, an..35) too long at segment 2, element 2: 39. */
    const char *text =
        UNB3 "UNH+M1+ORDERS:D:96A:UN'BGM+220+"
             "PO1234567890123456789012345678901234567+9'"
             "DTM+137:20240101:102'UNS+S'UNT+5+M1'" ORD("M2", "", "5")
        "UNZ+2+IC1'";
    lx_edifact_ack_ids ids = edi_ids();
    lx_edifact_ack_summary sum;
    char *ack = edi_ack(text, strlen(text), &ids, &sum);
    assert_has(ack, "UCI+IC1+SENDER:14+RECEIVER:14+7'"
                    "UCM+M1+ORDERS:D:96A:UN+4'UCS+2'UCD+39+2'"
                    "UCM+M2+ORDERS:D:96A:UN+7'");
    assert_null(strstr(ack, "PO123"));
    assert_int_equal(sum.rejected, 1);
    assert_int_equal(sum.accepted, 1);
    assert_int_equal(sum.segment_errors, 1);
    assert_int_equal(sum.element_errors, 1);
    free(ack);
}

static void test_contrl_missing_and_unknown_segments(void **state)
{
    (void)state;
    /* No DTM (mandatory, 13) and an undefined XYZ (15). */
    const char *text = UNB3 "UNH+M1+ORDERS:D:96A:UN'BGM+220+PO1+9'XYZ+1'"
                            "UNS+S'UNT+5+M1'UNZ+1+IC1'";
    lx_edifact_ack_ids ids = edi_ids();
    lx_edifact_ack_summary sum;
    char *ack = edi_ack(text, strlen(text), &ids, &sum);
    assert_has(ack, "UCM+M1+ORDERS:D:96A:UN+4'UCS+3+15'");
    assert_has(ack, "+13'");
    assert_int_equal(sum.rejected, 1);
    free(ack);
}

static void test_contrl_envelope_findings(void **state)
{
    (void)state;
    lx_edifact_ack_ids ids = edi_ids();
    lx_edifact_ack_summary sum;
    /* UNT01 wrong: the message is rejected with 29 on UNT element 1. */
    const char *text = UNB3 ORD("M1", "", "6") "UNZ+1+IC1'";
    char *ack = edi_ack(text, strlen(text), &ids, &sum);
    assert_has(ack, "UCI+IC1+SENDER:14+RECEIVER:14+7'"
                    "UCM+M1+ORDERS:D:96A:UN+4+29+UNT+1'UNT");
    free(ack);
    /* UNZ02 wrong: the interchange is rejected (28 on UNZ element 2);
     * under a rejected UCI only messages with findings are listed. */
    text = UNB3 ORD("M1", "", "5") "UNZ+1+IC2'";
    ack = edi_ack(text, strlen(text), &ids, &sum);
    assert_has(ack, "UCI+IC1+SENDER:14+RECEIVER:14+4+28+UNZ+2'UNT+3+C1'");
    assert_int_equal(sum.action, 4);
    free(ack);
}

static void test_contrl_syntax_4_groups_and_parties(void **state)
{
    (void)state;
    const char *text =
        "UNA:+.? '"
        "UNB+UNOC:4+SENDER:14+RECEIVER:14+20240101:1200+IC1'"
        "UNG+ORDERS+SAPP:ZZ+RAPP:ZZ+20240101:1200+G1+UN+D:96A'"
        ORD("M1", "", "5") "UNE+1+G1'"
        "UNG+ORDERS+SAPP:ZZ+RAPP:ZZ+20240101:1200+G2+UN+D:96A'"
        ORD("M2", "", "5") "UNE+2+G2'UNZ+2+IC1'";
    lx_edifact_ack_ids ids = edi_ids();
    ids.sender_id = "HUB";
    ids.sender_qual = "ZZ";
    lx_edifact_ack_summary sum;
    char *ack = edi_ack(text, strlen(text), &ids, &sum);
    assert_has(ack, "UNA:+.? 'UNB+UNOC:4+HUB:ZZ+SENDER:14+20240102:0930+"
                    "ACK9'UNH+C1+CONTRL:4:1:UN'");
    assert_has(ack, "UCF+G1+SAPP:ZZ+RAPP:ZZ+7'UCM+M1+ORDERS:D:96A:UN+7'"
                    "UCF+G2+SAPP:ZZ+RAPP:ZZ+4+29+UNE+1'UNT+6+C1'");
    assert_int_equal(sum.groups_rejected, 1);
    assert_int_equal(sum.accepted, 1);
    assert_int_equal(sum.rejected, 1);
    free(ack);
}

static void test_contrl_ids_are_checked(void **state)
{
    (void)state;
    const char *text = UNB3 ORD("M1", "", "5") "UNZ+1+IC1'";
    lx_edifact_options o = {0, 0, 0, edi_defs};
    json_t *tree = NULL;
    lx_error err;
    assert_int_equal(lx_edifact_parse(text, strlen(text), &o, &tree, NULL,
                                      &err),
                     0);
    lx_buf out;
    lx_buf_init(&out, 1 << 20);
    lx_edifact_ack_ids ids = edi_ids();
    ids.interchange_ref = "123456789012345";
    assert_int_equal(lx_edifact_ack_build(tree, NULL, &ids, NULL, &out, &err),
                     LX_EINVAL);
    ids = edi_ids();
    ids.time = "9:30";
    assert_int_equal(lx_edifact_ack_build(tree, NULL, &ids, NULL, &out, &err),
                     LX_EINVAL);
    ids = edi_ids();
    ids.interchange = 3;
    assert_int_equal(lx_edifact_ack_build(tree, NULL, &ids, NULL, &out, &err),
                     LX_EINVAL);
    lx_buf small;
    lx_buf_init(&small, 30);
    ids = edi_ids();
    assert_int_equal(lx_edifact_ack_build(tree, NULL, &ids, NULL, &small,
                                          &err),
                     LX_ELIMIT);
    lx_buf_fini(&small);
    lx_buf_fini(&out);
    json_decref(tree);
}

static size_t edi_files, edi_rejected;

static void edi_corpus_file(const char *path, int invalid)
{
    size_t len;
    char *text = slurp(path, &len);
    const char *name = strrchr(path, '/') + 1;
    lx_edifact_options o = {LX_EDIFACT_LENIENT, 0, 0, edi_defs};
    lx_edifact_diags diags;
    lx_edifact_diags_init(&diags);
    json_t *tree = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (lx_edifact_parse(text, len, &o, &tree, &diags, &err) != 0)
        fail_msg("%s: %s", name, err.msg);
    size_t n = json_array_size(json_object_get(tree, "interchanges"));
    for (size_t i = 0; i < n; i++) {
        lx_edifact_ack_ids ids = edi_ids();
        ids.interchange = i;
        lx_edifact_ack_summary sum;
        lx_buf out;
        lx_buf_init(&out, 1 << 20);
        int rc = lx_edifact_ack_build(tree, &diags, &ids, &sum, &out, &err);
        if (rc == LX_EINVAL &&
            !json_object_get(json_array_get(json_object_get(tree,
                                                            "interchanges"),
                                            i),
                             "UNB")) {
            /* Without UNB there is no one to address a CONTRL to. */
            printf("  %s: interchange %zu without UNB, no CONTRL\n", name, i);
            lx_buf_fini(&out);
            continue;
        }
        if (rc != 0)
            fail_msg("%s: %s", name, err.msg);
        assert_contrl_parses_clean(out.data);
        if (diags.count == 0) {
            assert_int_equal(sum.action, 7);
            assert_int_equal(sum.accepted, sum.messages);
        } else {
            edi_rejected += sum.action == 4 || sum.rejected > 0;
        }
        if (invalid) {
            assert_true(sum.action == 4 || sum.rejected > 0);
            printf("  %s: %s\n", name, out.data);
        }
        lx_buf_fini(&out);
    }
    edi_files++;
    json_decref(tree);
    lx_edifact_diags_fini(&diags);
    free(text);
}

static void test_contrl_corpus(void **state)
{
    (void)state;
    const char *corpus = getenv("LX_CORPUS_DIR");
    char dir[1024], path[2048];
    if (!corpus)
        skip();
    snprintf(dir, sizeof(dir), "%s/edifact", corpus);
    DIR *top = opendir(dir);
    assert_non_null(top);
    struct dirent *sub;
    while ((sub = readdir(top)) != NULL) {
        if (sub->d_name[0] == '.')
            continue;
        char subdir[1536];
        snprintf(subdir, sizeof(subdir), "%s/%s", dir, sub->d_name);
        DIR *d = opendir(subdir);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", subdir, e->d_name);
            edi_corpus_file(path, strcmp(sub->d_name, "invalid") == 0);
        }
        closedir(d);
    }
    closedir(top);
    printf("edifact corpus: %zu acknowledged, %zu with rejections\n",
           edi_files, edi_rejected);
    assert_true(edi_files >= 25);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x12_997_of_valid_834_accepts_everything),
        cmocka_unit_test(test_x12_999_se_count_mismatch_rejects_with_code_4),
        cmocka_unit_test(test_x12_999_bad_element_is_ik3_ik4_without_value),
        cmocka_unit_test(test_x12_999_unknown_and_unexpected_segments),
        cmocka_unit_test(test_x12_groups_and_counts),
        cmocka_unit_test(test_x12_duplicate_control_numbers_keep_their_findings),
        cmocka_unit_test(test_x12_ta1_for_interchange_findings),
        cmocka_unit_test(test_x12_ack_ids_are_checked),
        cmocka_unit_test(test_x12_corpus_acks),
        cmocka_unit_test(test_x12_corpus_invalid_control_numbers),
        cmocka_unit_test(test_contrl_of_valid_orders_acknowledges_it),
        cmocka_unit_test(test_contrl_bad_element_is_ucs_ucd_without_value),
        cmocka_unit_test(test_contrl_missing_and_unknown_segments),
        cmocka_unit_test(test_contrl_envelope_findings),
        cmocka_unit_test(test_contrl_syntax_4_groups_and_parties),
        cmocka_unit_test(test_contrl_ids_are_checked),
        cmocka_unit_test(test_contrl_corpus),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
