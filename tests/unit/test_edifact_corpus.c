/* Corpus tests of the EDIFACT codec (adapters/edi/edifact.h): every
 * interchange under $LX_CORPUS_DIR/edifact parses, and generating it again
 * gives the input back modulo line ends and a byte order mark; those under
 * invalid/ are refused with a located error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "adapters/edi/edifact.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILES 256

typedef struct corpus_file {
    char path[1024];
    char name[256];
    int invalid;
} corpus_file;

static corpus_file files[MAX_FILES];
static lx_edifact_defs *defs;
static size_t failures;

/* Report every failing file, then fail once at the end. */
#define FAIL(...)                                                            \
    do {                                                                     \
        print_error(__VA_ARGS__);                                            \
        print_error("\n");                                                   \
        failures++;                                                          \
    } while (0)

static size_t file_count;

/* Files whose envelope breaks a rule, so that strict parsing refuses them
 * with this 0085 code while lenient parsing takes them with findings. */
static const struct {
    const char *name;
    int code;
} envelope_defects[] = {
    {"pydifact__order.edi", 13},                   /* no UNZ */
    {"pydifact__order2.edi", 13},                  /* no UNZ */
    {"smooks__d96a-invoic-1_input.edi", 13},       /* no UNB, no UNH */
    {"smooks__with_ung_unedifact-msg-01.edi", 29}, /* UNT01 */
    {"pydifact__wikipedia_de.edi", 28},            /* UNZ02 != UNB05 */
    {"pydifact__aperak.edi", 29},                  /* UNT01 */
    {"pydifact__aperak_rejected.edi", 29},         /* UNT01 */
    {"phpedifact__example_release_character.edi", 29}, /* UNT01 */
    {"smooks__INVOIC_D.03B_Interchange_with_UNA.txt", 29}, /* UNT01 */
    {"edifabric__CONTRL.txt", 2}, /* S001 without a version */
};

static int envelope_defect(const char *name)
{
    for (size_t i = 0; i < sizeof envelope_defects / sizeof *envelope_defects;
         i++)
        if (strcmp(name, envelope_defects[i].name) == 0)
            return envelope_defects[i].code;
    return 0;
}

static void collect(const char *dir, int invalid)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        DIR *sub = opendir(path);
        if (sub != NULL) {
            closedir(sub);
            collect(path, invalid || strcmp(de->d_name, "invalid") == 0);
            continue;
        }
        assert_true(file_count < MAX_FILES);
        corpus_file *f = &files[file_count++];
        snprintf(f->path, sizeof f->path, "%s", path);
        snprintf(f->name, sizeof f->name, "%s", de->d_name);
        f->invalid = invalid;
    }
    closedir(d);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        if (got == 0)
            break;
        n += got;
    }
    fclose(fp);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* The input without CR, LF and a leading byte order mark. */
static size_t normalize(const char *in, size_t len, char *out)
{
    size_t i = 0, n = 0;
    if (len >= 3 && memcmp(in, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    for (; i < len; i++)
        if (in[i] != '\r' && in[i] != '\n')
            out[n++] = in[i];
    out[n] = '\0';
    return n;
}

static int setup(void **state)
{
    (void)state;
    const char *corpus = getenv("LX_CORPUS_DIR");
    assert_non_null(corpus);
    char dir[1024];
    file_count = 0;
    failures = 0;
    const char *src = getenv("LX_SOURCE_DIR");
    assert_non_null(src);
    snprintf(dir, sizeof dir, "%s/schemas/edifact/d96a", src);
    lx_error err;
    lx_error_clear(&err);
    if (lx_edifact_defs_load(dir, &defs, &err) != 0)
        fail_msg("definitions: %s", err.msg);
    snprintf(dir, sizeof dir, "%s/edifact", corpus);
    collect(dir, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lx_edifact_defs_destroy(&defs);
    return 0;
}

static void expect_round_trip(const corpus_file *f, const json_t *tree,
                              const char *norm, size_t norm_len,
                              int keep_counts)
{
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_error err;
    lx_error_clear(&err);
    lx_edifact_gen_options go = {NULL, 0, "\n", keep_counts};
    int rc = lx_edifact_generate(tree, &go, &out, &err);
    if (rc != 0) {
        FAIL("%s: generate: %s", f->name, err.msg);
        lx_buf_fini(&out);
        return;
    }
    char *gen = malloc(out.len + 1);
    assert_non_null(gen);
    size_t gen_len = normalize(out.data, out.len, gen);
    if (gen_len != norm_len || memcmp(gen, norm, norm_len) != 0) {
        size_t k = 0;
        while (k < gen_len && k < norm_len && gen[k] == norm[k])
            k++;
        FAIL("%s: round trip differs at byte %zu (keep_counts %d)",
                 f->name, k, keep_counts);
    }
    free(gen);
    lx_buf_fini(&out);
}

static void test_edifact_corpus_every_file_parses_and_round_trips(void **state)
{
    (void)state;
    size_t parsed = 0, rejected = 0, strict_ok = 0, with_findings = 0,
           strict_defects = 0;
    assert_true(file_count >= 29);
    for (size_t i = 0; i < file_count; i++) {
        const corpus_file *f = &files[i];
        size_t len;
        char *buf = slurp(f->path, &len);
        lx_error err;
        lx_error_clear(&err);
        json_t *tree = NULL;
        lx_edifact_diags diags;
        lx_edifact_diags_init(&diags);
        lx_edifact_options strict = {0, 0, 0, NULL};
        int rc = lx_edifact_parse(buf, len, &strict, &tree, &diags, &err);
        if (f->invalid) {
            if (rc == 0 || tree != NULL || err.line <= 0 ||
                err.where[0] == '\0')
                FAIL("%s: an invalid interchange was not refused with a "
                     "located error",
                     f->name);
            else
                rejected++;
        } else if (envelope_defect(f->name) != 0) {
            int code = envelope_defect(f->name);
            if (rc != LX_ESCHEMA || diags.count == 0 ||
                diags.items[diags.count - 1].code != code)
                FAIL("%s: expected envelope finding %d (%s)", f->name, code,
                     err.msg);
            else
                strict_defects++;
        } else if (rc != 0) {
            FAIL("%s: %s", f->name, err.msg);
        } else {
            strict_ok++;
            char *norm = malloc(len + 1);
            assert_non_null(norm);
            size_t norm_len = normalize(buf, len, norm);
            expect_round_trip(f, tree, norm, norm_len, 0);
            free(norm);
        }
        json_decref(tree);
        tree = NULL;
        lx_edifact_diags_fini(&diags);
        if (!f->invalid) {
            lx_edifact_diags_init(&diags);
            lx_edifact_options lenient = {LX_EDIFACT_LENIENT, 0, 0, NULL};
            rc = lx_edifact_parse(buf, len, &lenient, &tree, &diags, &err);
            if (rc != 0) {
                FAIL("%s: lenient: %s", f->name, err.msg);
                free(buf);
                lx_edifact_diags_fini(&diags);
                continue;
            }
            if (diags.count > 0)
                with_findings++;
            char *norm = malloc(len + 1);
            assert_non_null(norm);
            size_t norm_len = normalize(buf, len, norm);
            expect_round_trip(f, tree, norm, norm_len, 1);
            free(norm);
            json_decref(tree);
            lx_edifact_diags_fini(&diags);
            /* With the D.96A definitions: grouped, and still the same
             * text back. */
            lx_edifact_diags_init(&diags);
            lx_edifact_options typed = {LX_EDIFACT_LENIENT, 0, 0, defs};
            rc = lx_edifact_parse(buf, len, &typed, &tree, &diags, &err);
            if (rc != 0) {
                FAIL("%s: with definitions: %s", f->name, err.msg);
            } else {
                size_t findings = 0;
                for (size_t k = 0; k < diags.count; k++)
                    findings += !diags.items[k].is_envelope;
                if (findings > 0) {
                    char line[256];
                    print_message("%s: %zu validation findings, first: %s\n",
                                  f->name, findings,
                                  lx_edifact_diag_format(&diags.items[0], line,
                                                         sizeof line));
                }
                norm = malloc(len + 1);
                assert_non_null(norm);
                norm_len = normalize(buf, len, norm);
                expect_round_trip(f, tree, norm, norm_len, 1);
                free(norm);
            }
            json_decref(tree);
            lx_edifact_diags_fini(&diags);
            parsed++;
        }
        free(buf);
    }
    print_message("edifact corpus: %zu files, %zu parsed and round-tripped "
                  "(%zu strictly valid, %zu with known envelope defects, %zu "
                  "with findings when lenient), %zu invalid rejected\n",
                  file_count, parsed, strict_ok, strict_defects,
                  with_findings, rejected);
    assert_int_equal(strict_defects,
                     sizeof envelope_defects / sizeof *envelope_defects);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edifact_corpus_every_file_parses_and_round_trips),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
