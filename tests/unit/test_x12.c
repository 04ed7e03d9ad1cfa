/* tests/unit/test_x12.c: X12 tokenizer, parser, validation and writer,
 * and the whole corpus under $LX_CORPUS_DIR/x12. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "adapters/edi/x12.h"
#include "adapters/edi/x12_reader.h"
#include "core/mem.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISA_005 "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*^*00501*000000001*0*T*:~"

static lx_x12_defs *defs;
static size_t quirky;

static int setup(void **state)
{
    (void)state;
    char dir[1024];
    const char *src = getenv("LX_SOURCE_DIR");
    lx_error err;
    lx_error_clear(&err);
    snprintf(dir, sizeof(dir), "%s/schemas/x12/005010", src ? src : ".");
    if (lx_x12_defs_load(dir, &defs, &err) != 0) {
        fprintf(stderr, "defs: %s\n", err.msg);
        defs = NULL;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lx_x12_defs_destroy(&defs);
    return 0;
}

/* Parse strictly; returns the rc and leaves the message in err. */
static int parse(const char *text, lx_x12_doc **doc, lx_error *err)
{
    lx_error_clear(err);
    return lx_x12_parse(text, strlen(text), defs, 0, doc, err);
}

/* A one-transaction interchange around body (segments after ST). */
static char *wrap(const char *set, const char *body, const char *se01,
                  const char *se02)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    assert_int_equal(lx_buf_printf(&b,
                                   ISA_005 "GS*BE*S*R*20240101*1200*1*X*"
                                           "005010X220A1~ST*%s*0001~%sSE*%s*%s"
                                           "~GE*1*1~IEA*1*000000001~",
                                   set, body, se01, se02),
                     0);
    return lx_buf_take(&b, NULL);
}

/* The first transaction set of a parsed tree. */
static json_t *first_txn(json_t *tree)
{
    json_t *ichg = json_array_get(json_object_get(tree, "interchanges"), 0);
    json_t *group = json_array_get(json_object_get(ichg, "groups"), 0);
    return json_array_get(json_object_get(group, "transactions"), 0);
}

static void test_x12_tokenizer_reads_delimiters_from_isa(void **state)
{
    (void)state;
    const char *text =
        "ISA|00|          |00|          |ZZ|SENDER         |ZZ|RECEIVER   "
        "    |240101|1200|}|00501|000000001|0|T|<\n"
        "GS|BE|S|R|20240101|1200|1|X|005010\nST|837|1\nHI|BK<8901}BF<87\n";
    lx_x12_tokenizer t;
    lx_x12_segment s;
    lx_error err;
    lx_x12_tokenizer_init(&t, text, strlen(text));
    assert_int_equal(lx_x12_tokenizer_next(&t, &s, &err), 1);
    const lx_x12_delims *d = lx_x12_tokenizer_delims(&t);
    assert_int_equal(d->element, '|');
    assert_int_equal(d->repetition, '}');
    assert_int_equal(d->component, '<');
    assert_int_equal(d->segment, '\n');
    assert_int_equal(s.element_count, 16);
    assert_int_equal(lx_x12_tokenizer_next(&t, &s, &err), 1);
    assert_int_equal(lx_x12_tokenizer_next(&t, &s, &err), 1);
    assert_int_equal(lx_x12_tokenizer_next(&t, &s, &err), 1);
    assert_int_equal(s.number, 4);
    assert_int_equal(s.id.len, 2);
    assert_memory_equal(s.id.ptr, "HI", 2);
    /* Views into the buffer, no copies. */
    assert_ptr_equal(s.elements[0].ptr, strstr(text, "BK<"));
    assert_int_equal(lx_x12_tokenizer_next(&t, &s, &err), 0);
}

static void test_x12_tokenizer_isa11_u_means_no_repetition(void **state)
{
    (void)state;
    const char *text = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*"
                       "RECEIVER       *240101*1200*U*00401*000000001*0*T*>~";
    lx_x12_tokenizer t;
    lx_x12_segment s;
    lx_x12_tokenizer_init(&t, text, strlen(text));
    assert_int_equal(lx_x12_tokenizer_next(&t, &s, NULL), 1);
    assert_int_equal(lx_x12_tokenizer_delims(&t)->repetition, 0);
    assert_int_equal(lx_x12_tokenizer_delims(&t)->component, '>');
}

static void test_x12_parse_short_isa_is_syntax_error(void **state)
{
    (void)state;
    lx_x12_doc *doc = NULL;
    lx_error err;
    assert_int_equal(parse("ISA*00*  *00*~", &doc, &err), LX_ESYNTAX);
    assert_null(doc);
    assert_non_null(strstr(err.msg, "segment 1 (ISA)"));
    assert_int_equal(err.offset, 0);
}

static void test_x12_parse_garbled_isa_names_the_element(void **state)
{
    (void)state;
    lx_x12_doc *doc = NULL;
    lx_error err;
    /* ISA02 one byte short: fixed width broken. */
    const char *text = "ISA*00*         *00*          *ZZ*SENDER         *ZZ*"
                       "RECEIVER       *240101*1200*^*00501*000000001*0*T*:~"
                       "IEA*0*000000001~";
    assert_int_equal(parse(text, &doc, &err), LX_ESYNTAX);
    assert_non_null(strstr(err.msg, "segment 1 (ISA) element 2"));
    assert_int_equal(parse("not edi at all", &doc, &err), LX_ESYNTAX);
    assert_non_null(strstr(err.msg, "segment 1"));
}

static void test_x12_parse_se_count_mismatch(void **state)
{
    (void)state;
    lx_x12_doc *doc = NULL;
    lx_error err;
    char *text = wrap("270", "BHT*0022*13~", "5", "0001");
    assert_int_equal(parse(text, &doc, &err), LX_ESCHEMA);
    assert_non_null(strstr(err.msg, "ST 0001: segment 3 (SE) element 1"));
    assert_int_equal(
        lx_x12_parse(text, strlen(text), defs, LX_X12_PARSE_LENIENT, &doc,
                     &err),
        0);
    assert_int_equal(lx_x12_doc_diag_count(doc), 1);
    assert_string_equal(lx_x12_doc_diag(doc, 0)->x12_code, "4");
    assert_int_equal(lx_x12_doc_diag(doc, 0)->level,
                     LX_X12_LEVEL_TRANSACTION);
    lx_x12_doc_destroy(&doc);
    free(text);
}

static void test_x12_parse_control_number_mismatches(void **state)
{
    (void)state;
    lx_x12_doc *doc = NULL;
    lx_error err;
    char *text = wrap("270", "BHT*0022*13~", "3", "0002");
    assert_int_equal(parse(text, &doc, &err), LX_ESCHEMA);
    assert_non_null(strstr(err.msg, "segment 3 (SE) element 2"));
    free(text);

    const char *gs = ISA_005 "GS*BE*S*R*20240101*1200*7*X*005010~ST*270*1~"
                             "SE*2*1~GE*1*8~IEA*1*000000001~";
    assert_int_equal(parse(gs, &doc, &err), LX_ESCHEMA);
    assert_non_null(strstr(err.msg, "ISA 000000001 GS 7"));
    assert_non_null(strstr(err.msg, "GE02"));

    const char *isa = ISA_005 "GS*BE*S*R*20240101*1200*7*X*005010~ST*270*1~"
                              "SE*2*1~GE*1*7~IEA*1*000000002~";
    assert_int_equal(parse(isa, &doc, &err), LX_ESCHEMA);
    assert_non_null(strstr(err.msg, "IEA02"));

    const char *ge01 = ISA_005 "GS*BE*S*R*20240101*1200*7*X*005010~ST*270*1~"
                               "SE*2*1~GE*2*7~IEA*2*000000001~";
    assert_int_equal(lx_x12_parse(ge01, strlen(ge01), defs,
                                  LX_X12_PARSE_LENIENT, &doc, &err),
                     0);
    assert_int_equal(lx_x12_doc_diag_count(doc), 2);
    /* X12 716 (AK9/IK9 syntax error codes): 5 = number of included
     * transaction sets does not match the actual count. */
    assert_string_equal(lx_x12_doc_diag(doc, 0)->x12_code, "5");
    assert_string_equal(lx_x12_doc_diag(doc, 1)->x12_code, "021");
    lx_x12_doc_destroy(&doc);
}

static void test_x12_parse_structure_errors_are_located(void **state)
{
    (void)state;
    lx_x12_doc *doc = NULL;
    lx_error err;
    const char *no_se = ISA_005 "GS*BE*S*R*20240101*1200*7*X*005010~"
                                "ST*270*1~GE*1*7~IEA*1*000000001~";
    assert_int_equal(parse(no_se, &doc, &err), LX_ESYNTAX);
    assert_non_null(strstr(err.msg, "segment 4 (GE)"));
    const char *eof = ISA_005 "GS*BE*S*R*20240101*1200*7*X*005010~";
    assert_int_equal(parse(eof, &doc, &err), LX_ESCHEMA);
    assert_non_null(strstr(err.msg, "missing GE"));
}

static void test_x12_write_recomputes_counts(void **state)
{
    (void)state;
    lx_x12_doc *doc = NULL;
    lx_error err;
    char *text = wrap("270", "BHT*0022*13~", "9", "0001");
    assert_int_equal(lx_x12_parse(text, strlen(text), defs,
                                  LX_X12_PARSE_LENIENT, &doc, &err),
                     0);
    lx_buf out;
    lx_buf_init(&out, 1 << 20);
    assert_int_equal(lx_x12_write(lx_x12_doc_tree(doc), NULL, 0, &out, &err),
                     0);
    assert_non_null(strstr(out.data, "SE*3*0001~GE*1*1~IEA*1*000000001~"));
    lx_buf_reset(&out);
    lx_x12_delims d = {'|', '}', '<', '\''};
    assert_int_equal(
        lx_x12_write(lx_x12_doc_tree(doc), &d, LX_X12_WRITE_NEWLINE, &out,
                     &err),
        0);
    assert_non_null(strstr(out.data, "|}|00501|000000001|0|T|<'\n"));
    assert_non_null(strstr(out.data, "SE|3|0001'\n"));
    lx_buf_fini(&out);
    lx_x12_doc_destroy(&doc);
    free(text);
}

#define H834 "BGN*00*12456*20240101*1200****2~N1*P5**FI*12~N1*IN**FI*22~"

static void expect_diag(const char *body, const char *se01, const char *msg,
                        const char *code)
{
    lx_x12_doc *doc = NULL;
    lx_error err;
    char *text = wrap("834", body, se01, "0001");
    assert_non_null(defs);
    assert_int_equal(parse(text, &doc, &err), LX_ESCHEMA);
    if (!strstr(err.msg, msg))
        fail_msg("got: %s", err.msg);
    assert_int_equal(lx_x12_parse(text, strlen(text), defs,
                                  LX_X12_PARSE_LENIENT, &doc, &err),
                     0);
    assert_string_equal(lx_x12_doc_diag(doc, 0)->x12_code, code);
    lx_x12_doc_destroy(&doc);
    free(text);
}

static void test_x12_834_valid_builds_loops(void **state)
{
    (void)state;
    lx_x12_doc *doc = NULL;
    lx_error err;
    char *text = wrap("834", H834 "INS*Y*18*030*XN*A~REF*0F*1~"
                                  "NM1*IL*1*DOE*JOHN~DMG*D8*19900417*M~"
                                  "HD*030**HLT~DTP*348*D8*20240101~",
                      "11", "0001");
    assert_int_equal(parse(text, &doc, &err), 0);
    json_t *txn = first_txn(lx_x12_doc_tree(doc));
    json_t *loops = json_object_get(txn, "loops");
    assert_int_equal(json_array_size(loops), 3);
    json_t *member = json_array_get(loops, 2);
    assert_string_equal(json_string_value(json_object_get(member, "id")),
                        "2000");
    json_t *ins = json_array_get(json_object_get(member, "segments"), 0);
    assert_string_equal(json_string_value(json_object_get(ins, "INS02")),
                        "18");
    json_t *sub = json_object_get(member, "loops");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(sub, 0), "id")),
        "2100A");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(sub, 1), "id")),
        "2300");
    lx_x12_doc_destroy(&doc);
    free(text);
}

static void test_x12_834_element_too_long(void **state)
{
    (void)state;
    expect_diag(H834 "INS*Y*180*030*XN*A~REF*0F*1~NM1*IL*1~", "9",
                "segment 5 (INS) element 2: data element too long", "5");
}

static void test_x12_834_latin1_name_is_refused(void **state)
{
    (void)state;
    /* "Jos\xe9" (Latin-1): not UTF-8, so it could not go into the tree. */
    expect_diag(H834 "INS*Y*18*030*XN*A~REF*0F*1~NM1*IL*1*Jos\xe9~", "9",
                "segment 7 (NM1) element 3: invalid character (not UTF-8)",
                "6");
}

static void test_x12_834_utf8_name_is_kept(void **state)
{
    (void)state;
    lx_x12_doc *doc = NULL;
    lx_error err;
    char *text = wrap("834", H834 "INS*Y*18*030*XN*A~REF*0F*1~"
                                  "NM1*IL*1*Jos\xc3\xa9~DMG*D8*19900417*M~"
                                  "HD*030**HLT~DTP*348*D8*20240101~",
                      "11", "0001");
    assert_int_equal(parse(text, &doc, &err), 0);
    const char *t = json_dumps(lx_x12_doc_tree(doc), JSON_COMPACT);
    assert_non_null(strstr(t, "\"Jos\xc3\xa9\""));
    free((void *)t);
    lx_x12_doc_destroy(&doc);
    free(text);
}

static void test_x12_834_bad_date(void **state)
{
    (void)state;
    expect_diag("BGN*00*1*20240230*1200~N1*P5**FI*12~N1*IN**FI*22~"
                "INS*Y*18*030*XN*A~REF*0F*1~NM1*IL*1~",
                "8", "segment 2 (BGN) element 3: invalid date", "8");
}

static void test_x12_834_invalid_code(void **state)
{
    (void)state;
    expect_diag(H834 "INS*Y*18*999*XN*A~REF*0F*1~NM1*IL*1~", "9",
                "segment 5 (INS) element 3: invalid code value", "7");
}

static void test_x12_834_unknown_segment(void **state)
{
    (void)state;
    expect_diag(H834 "INS*Y*18*030*XN*A~REF*0F*1~NM1*IL*1~ZZZ*1~", "10",
                "segment 8 (ZZZ): unrecognized segment id", "1");
    expect_diag(H834 "INS*Y*18*030*XN*A~REF*0F*1~NM1*IL*1~BEG*00*00*1**"
                     "20240101~",
                "10", "segment 8 (BEG): segment not in defined", "6");
}

static void test_x12_834_segment_out_of_order(void **state)
{
    (void)state;
    /* BGN after the N1 loops. */
    expect_diag("N1*P5**FI*12~BGN*00*12456*20240101*1200~N1*IN**FI*22~"
                "INS*Y*18*030*XN*A~REF*0F*1~NM1*IL*1~",
                "8", "segment 2 (BGN): required segment BGN missing", "3");
    expect_diag(H834 "INS*Y*18*030*XN*A~REF*0F*1~NM1*IL*1~BGN*00*1*20240101*"
                     "1200~",
                "10", "segment 8 (BGN): segment not in proper sequence", "7");
}

/* ---- corpus ---------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    lx_buf b;
    lx_buf_init(&b, 16 << 20);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(lx_buf_append(&b, chunk, n), 0);
    fclose(f);
    if (!b.data)
        assert_int_equal(lx_buf_append(&b, "", 0), 0);
    return lx_buf_take(&b, len);
}

/* Drop line breaks, "//" comment lines at a segment start, and trailing
 * blanks: what the writer does not reproduce. */
static size_t normalize(char *s, size_t n, char terminator)
{
    size_t o = 0;
    int at_start = 1;
    for (size_t i = 0; i < n; i++) {
        if (at_start && s[i] == '/' && i + 1 < n && s[i + 1] == '/') {
            while (i < n && s[i] != '\n')
                i++;
            continue;
        }
        if (s[i] == '\r' || s[i] == '\n' ||
            (at_start && (s[i] == ' ' || s[i] == '\t'))) {
            at_start = 1;
            continue;
        }
        at_start = s[i] == terminator;
        s[o++] = s[i];
    }
    while (o > 0 && (s[o - 1] == ' ' || s[o - 1] == '\t'))
        o--;
    /* A last segment may lack its terminator in the input. */
    if (o > 0 && s[o - 1] == terminator)
        o--;
    return o;
}

static void check_file(const char *path, int expect_invalid, size_t *ok,
                       size_t *rejected)
{
    size_t len;
    char *text = slurp(path, &len);
    lx_x12_doc *doc = NULL;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_x12_parse(text, len, defs, 0, &doc, &err);
    if (expect_invalid) {
        if (rc == 0)
            fail_msg("%s: accepted, expected a rejection", path);
        if (!strstr(err.msg, "segment") && !strstr(err.msg, "element"))
            fail_msg("%s: error not located: %s", path, err.msg);
        printf("  rejected %s: %s\n", strrchr(path, '/') + 1, err.msg);
        (*rejected)++;
        free(text);
        return;
    }
    /* Upstream "valid" files with a real envelope defect: they fail
     * strictly with exactly that finding and parse leniently. */
    static const char *const quirks[][2] = {
        {"lfh_x12__271_subscriber-health-benefit-check-error.271",
         "segment 8 (SE) element 2"},
        {"imsweb__x270.txt", "segment 14 (SE) element 1"},
        {"imsweb__x271.txt", "segment 18 (SE) element 1"},
        {"nodex12__271.edi", "missing GE and IEA"},
        {"imsweb__x12_multiple_isa.txt", "segment 34 (SE) element 1"},
        {"imsweb__x12_valid_different_separators.txt",
         "segment 34 (SE) element 1"},
        {"imsweb__x12_valid.txt", "segment 34 (SE) element 1"},
        {"imsweb__x12_multiple_gs.txt", "segment 34 (SE) element 1"},
        {"imsweb__x12_999_accepted.txt", "IEA02"},
    };
    const char *name = strrchr(path, '/') + 1;
    if (rc == LX_ESCHEMA) {
        size_t q = 0;
        while (q < sizeof(quirks) / sizeof(quirks[0]) &&
               strcmp(quirks[q][0], name) != 0)
            q++;
        if (q == sizeof(quirks) / sizeof(quirks[0]) ||
            !strstr(err.msg, quirks[q][1])) {
            printf("  UNEXPECTED %s: %s\n", name, err.msg);
            (*rejected) += 1000;
            free(text);
            return;
        }
        rc = lx_x12_parse(text, len, defs, LX_X12_PARSE_LENIENT, &doc, &err);
        quirky++;
    }
    if (rc != 0)
        fail_msg("%s: %s (offset %ld)", path, err.msg, err.offset);
    lx_buf out;
    lx_buf_init(&out, 16 << 20);
    assert_int_equal(lx_x12_write(lx_x12_doc_tree(doc), NULL, 0, &out, &err),
                     0);
    if (lx_x12_doc_diag_count(doc) > 0) {
        /* The writer repairs trailers: its output is clean. */
        lx_x12_doc *again = NULL;
        assert_int_equal(lx_x12_parse(out.data, out.len, defs, 0, &again,
                                      &err),
                         0);
        lx_x12_doc_destroy(&again);
        lx_x12_doc_destroy(&doc);
        lx_buf_fini(&out);
        free(text);
        (*ok)++;
        return;
    }
    const json_t *first =
        json_array_get(json_object_get(lx_x12_doc_tree(doc), "interchanges"),
                       0);
    const char *term = json_string_value(
        json_object_get(json_object_get(first, "delimiters"), "segment"));
    size_t a = normalize(text, len, term[0]);
    size_t b = normalize(out.data, out.len, term[0]);
    if (a != b || memcmp(text, out.data, a) != 0) {
        size_t k = 0;
        while (k < a && k < b && text[k] == out.data[k])
            k++;
        fail_msg("%s: round trip differs at normalized byte %zu", path, k);
    }
    lx_buf_fini(&out);
    lx_x12_doc_destroy(&doc);
    free(text);
    (*ok)++;
}

/* Found by tests/fuzz/fuzz_x12: a 834 whose transaction has no segment
 * between ST and SE made the "missing segment" finding index an empty
 * offset table (undefined behaviour under UBSan). It must parse leniently
 * with located findings, and be refused strictly. */
static void test_x12_empty_transaction_body_is_located_not_ub(void **state)
{
    (void)state;
    char path[1024];
    const char *src = getenv("LX_SOURCE_DIR");
    snprintf(path, sizeof(path),
             "%s/tests/unit/data/x12/fuzz-empty-transaction-body.edi",
             src ? src : ".");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    lx_x12_doc *doc = NULL;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_x12_parse(buf, n, defs, LX_X12_PARSE_LENIENT, &doc, &err);
    assert_true(rc == 0 ? doc != NULL : doc == NULL);
    if (doc) {
        for (size_t i = 0; i < lx_x12_doc_diag_count(doc); i++)
            assert_true(lx_x12_doc_diag(doc, i)->msg[0] != '\0');
    }
    lx_x12_doc_destroy(&doc);
    lx_error_clear(&err);
    assert_int_not_equal(lx_x12_parse(buf, n, defs, 0, &doc, &err), 0);
    assert_null(doc);
    assert_true(err.msg[0] != '\0');
}

/* A TA1 (interchange acknowledgement) stands between ISA and GS, and is
 * written back where it was. */
static void test_x12_ta1_is_parsed_and_written_back(void **state)
{
    (void)state;
    const char *text = ISA_005 "TA1*000000905*240101*1200*A*000~"
                               "GS*FA*S*R*20240101*1200*7*X*005010~"
                               "ST*997*0001~AK1*BE*1~AK9*A*1*1*1~SE*4*0001~"
                               "GE*1*7~IEA*1*000000001~";
    lx_x12_doc *doc = NULL;
    lx_error err;
    assert_int_equal(parse(text, &doc, &err), 0);
    json_t *ichg = json_array_get(
        json_object_get(lx_x12_doc_tree(doc), "interchanges"), 0);
    json_t *ta1 = json_object_get(ichg, "TA1");
    assert_int_equal(json_array_size(ta1), 1);
    lx_buf out;
    lx_buf_init(&out, 0);
    assert_int_equal(lx_x12_write(lx_x12_doc_tree(doc), NULL, 0, &out, &err),
                     0);
    assert_non_null(strstr(out.data, "TA1*000000905*240101*1200*A*000~GS*"));
    lx_buf_fini(&out);
    lx_x12_doc_destroy(&doc);
    const char *misplaced = ISA_005 "GS*FA*S*R*20240101*1200*7*X*005010~"
                                    "TA1*000000905*240101*1200*A*000~"
                                    "GE*0*7~IEA*1*000000001~";
    assert_int_equal(parse(misplaced, &doc, &err), LX_ESYNTAX);
    assert_non_null(strstr(err.msg, "TA1"));
}

/* The tree shares one JSON string per distinct short value (x12.h): 600
 * distinct values (more than the sharing table holds) and repeated ones
 * each keep their own text, and the tree writes back to the input. */
static void test_x12_shared_values_keep_their_text(void **state)
{
    (void)state;
    lx_buf body;
    lx_buf_init(&body, 0);
    for (int i = 0; i < 600; i++)
        assert_int_equal(lx_buf_printf(&body, "REF*0F*%d**V%d~", i, i % 7),
                         0);
    char *text = wrap("834", body.data, "602", "0001");
    lx_x12_doc *doc = NULL;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_x12_parse(text, strlen(text), NULL, 0, &doc, &err),
                     0);
    json_t *tree = lx_x12_doc_tree(doc);
    json_t *txn = first_txn(tree);
    json_t *segs = json_object_get(txn, "segments");
    assert_int_equal(json_array_size(segs), 600);
    char want[16];
    for (size_t i = 0; i < 600; i++) {
        json_t *seg = json_array_get(segs, i);
        snprintf(want, sizeof(want), "%zu", i);
        assert_string_equal(json_string_value(json_object_get(seg, "REF02")),
                            want);
        snprintf(want, sizeof(want), "V%zu", i % 7);
        assert_string_equal(json_string_value(json_object_get(seg, "REF04")),
                            want);
        assert_string_equal(json_string_value(json_object_get(seg, "REF03")),
                            "");
        assert_string_equal(json_string_value(json_object_get(seg, "id")),
                            "REF");
    }
    /* Repeated values are one string, held once per position. */
    json_t *a = json_object_get(json_array_get(segs, 0), "REF01");
    json_t *b = json_object_get(json_array_get(segs, 599), "REF01");
    assert_ptr_equal(a, b);
    assert_true(a->refcount >= 600);
    lx_buf out;
    lx_buf_init(&out, 0);
    assert_int_equal(lx_x12_write(tree, NULL, 0, &out, &err), 0);
    assert_string_equal(out.data, text);
    lx_buf_fini(&out);
    lx_x12_doc_destroy(&doc);
    lx_buf_fini(&body);
    free(text);
}

/* The reader lends its buffers to one transaction set at a time: sets
 * kept unbuilt while the next ones are read, built in any order, and one
 * built after the reader is closed, all get their own segments. */
static void test_x12_reader_sets_outlive_each_other(void **state)
{
    (void)state;
    const char *text = ISA_005 "GS*BE*S*R*20240101*1200*1*X*005010X220A1~"
                               "ST*834*0001~REF*0F*A1~SE*3*0001~"
                               "ST*834*0002~REF*0F*B22~SE*3*0002~"
                               "ST*834*0003~REF*0F*C333~SE*3*0003~"
                               "GE*3*1~IEA*1*000000001~";
    const char *want[3] = {"A1", "B22", "C333"};
    lx_x12_reader *r = NULL;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_x12_reader_open_mem(text, strlen(text), NULL, 0,
                                            NULL, &r, &err),
                     0);
    lx_x12_doc *d[3] = {NULL, NULL, NULL};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(lx_x12_reader_next(r, &d[i], &err), 0);
    json_t *segs =
        json_object_get(first_txn(lx_x12_doc_tree(d[1])), "segments");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(segs, 0), "REF02")),
        want[1]);
    lx_x12_doc_destroy(&d[1]);
    lx_x12_reader_close(&r);
    size_t order[2] = {2, 0};
    for (size_t k = 0; k < 2; k++) {
        size_t i = order[k];
        segs = json_object_get(first_txn(lx_x12_doc_tree(d[i])), "segments");
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(segs, 0), "REF02")),
                            want[i]);
        lx_x12_doc_destroy(&d[i]);
    }

    /* Read again: a set destroyed unbuilt gives the buffers back. */
    assert_int_equal(lx_x12_reader_open_mem(text, strlen(text), NULL, 0,
                                            NULL, &r, &err),
                     0);
    assert_int_equal(lx_x12_reader_next(r, &d[0], &err), 0);
    lx_x12_doc_destroy(&d[0]);
    for (size_t i = 1; i < 3; i++) {
        assert_int_equal(lx_x12_reader_next(r, &d[i], &err), 0);
        segs = json_object_get(first_txn(lx_x12_doc_tree(d[i])), "segments");
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(segs, 0), "REF02")),
                            want[i]);
        lx_x12_doc_destroy(&d[i]);
    }
    assert_int_equal(lx_x12_reader_next(r, &d[0], &err), LX_ENOTFOUND);
    lx_x12_reader_close(&r);
}

static void test_x12_corpus_parses_and_round_trips(void **state)
{
    (void)state;
    const char *corpus = getenv("LX_CORPUS_DIR");
    char dir[1024], path[2048];
    size_t ok = 0, rejected = 0;
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
            check_file(path, strcmp(sub->d_name, "invalid") == 0, &ok,
                       &rejected);
        }
        closedir(d);
    }
    closedir(top);
    printf("x12 corpus: %zu parsed (%zu of them with a known upstream "
           "envelope defect), %zu rejected\n",
           ok, quirky, rejected);
    assert_int_equal(ok + rejected, 61);
    assert_int_equal(rejected, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x12_tokenizer_reads_delimiters_from_isa),
        cmocka_unit_test(test_x12_tokenizer_isa11_u_means_no_repetition),
        cmocka_unit_test(test_x12_parse_short_isa_is_syntax_error),
        cmocka_unit_test(test_x12_parse_garbled_isa_names_the_element),
        cmocka_unit_test(test_x12_parse_se_count_mismatch),
        cmocka_unit_test(test_x12_parse_control_number_mismatches),
        cmocka_unit_test(test_x12_parse_structure_errors_are_located),
        cmocka_unit_test(test_x12_write_recomputes_counts),
        cmocka_unit_test(test_x12_834_valid_builds_loops),
        cmocka_unit_test(test_x12_834_element_too_long),
        cmocka_unit_test(test_x12_834_latin1_name_is_refused),
        cmocka_unit_test(test_x12_834_utf8_name_is_kept),
        cmocka_unit_test(test_x12_834_bad_date),
        cmocka_unit_test(test_x12_834_invalid_code),
        cmocka_unit_test(test_x12_834_unknown_segment),
        cmocka_unit_test(test_x12_empty_transaction_body_is_located_not_ub),
        cmocka_unit_test(test_x12_ta1_is_parsed_and_written_back),
        cmocka_unit_test(test_x12_834_segment_out_of_order),
        cmocka_unit_test(test_x12_shared_values_keep_their_text),
        cmocka_unit_test(test_x12_reader_sets_outlive_each_other),
        cmocka_unit_test(test_x12_corpus_parses_and_round_trips),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
