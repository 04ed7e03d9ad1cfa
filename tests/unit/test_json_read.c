/* Unit tests of the in-place JSON reader behind lx_json_parse
 * (core/json_int.h).
 *
 * Its contract is to be indistinguishable from jansson (lx_json_parse_jansson)
 * except in speed, so every test parses the same text with both and
 * requires the same outcome: the same tree, written out the same way
 * (values, integer vs real, key order), or the same error (code, message,
 * line, column, offset, where). Inputs: every JSON file of the FHIR R4
 * corpus and of the JSON Schema Test Suite, hand-picked edge cases of the
 * grammar, of UTF-8 and of numbers, and 20,000 seeded mutations of the
 * corpus Patient. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/json.h"
#include "core/json_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *corpus_dir(void)
{
    const char *d = getenv("LX_CORPUS_DIR");
    return d && *d ? d : "../shared/corpus";
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
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

/* Parse with both; fail the test with `what` when the outcomes differ.
 * Returns the common return code. */
static int same_as_jansson(const char *what, const char *text, size_t len,
                           size_t max_len)
{
    lx_error e1, e2;
    lx_error_clear(&e1);
    lx_error_clear(&e2);
    json_t *a = NULL, *b = NULL;
    int ra = lx_json_parse_jansson(text, len, "body", max_len, &a, &e1);
    int rb = lx_json_parse(text, len, "body", max_len, &b, &e2);
    if (ra != rb)
        fail_msg("%s: jansson %d, fast reader %d", what, ra, rb);
    if (ra == 0) {
        char *da = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
        char *db = json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!json_equal(a, b) || strcmp(da, db) != 0)
            fail_msg("%s: trees differ:\n  jansson %.300s\n  fast    %.300s",
                     what, da, db);
        free(da);
        free(db);
    } else {
        assert_null(b);
        if (e1.code != e2.code || strcmp(e1.msg, e2.msg) != 0 ||
            e1.line != e2.line || e1.column != e2.column ||
            e1.offset != e2.offset || strcmp(e1.where, e2.where) != 0)
            fail_msg("%s: errors differ: '%s' %ld:%ld vs '%s' %ld:%ld", what,
                     e1.msg, e1.line, e1.column, e2.msg, e2.line, e2.column);
    }
    json_decref(a);
    json_decref(b);
    return ra;
}

static int same_str(const char *text)
{
    return same_as_jansson(text, text, strlen(text), LX_JSON_MAX_DEFAULT);
}

/* Every *.json under dir (recursing), compared; returns the file count. */
static size_t same_for_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t count = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        size_t l = strlen(de->d_name);
        if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0) {
            size_t len;
            char *text = slurp(path, &len);
            if (text) {
                same_as_jansson(path, text, len, LX_JSON_MAX_DEFAULT);
                free(text);
                count++;
            }
        } else if (!strchr(de->d_name, '.')) {
            count += same_for_dir(path);
        }
    }
    closedir(d);
    return count;
}

static void test_json_read_corpus_files_parse_as_jansson_does(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/fhir/r4/json", corpus_dir());
    size_t n = same_for_dir(dir);
    assert_true(n >= 20);
    snprintf(dir, sizeof(dir), "%s/json-schema-test-suite", corpus_dir());
    assert_true(same_for_dir(dir) >= 50);
}

static void test_json_read_values_and_numbers_match(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "{}", "[]", " \t\r\n{ } ", "0", "-0", "7", "-7", "\"\"", "true",
        "false", "null", "[true,false,null]",
        "123456789012345678", "-123456789012345678",
        "1234567890123456789",    /* 19 digits: left to jansson, still ok */
        "-9223372036854775808", "0.0", "1.0", "-0.0", "0.1", "1e2", "1E2",
        "1e+2", "1e-2", "-1.5E+3", "1e-400", "2.2250738585072014e-308",
        "1.7976931348623157e308", "123.456e-7", "[0.5,-2.5e-3,1E+2]",
        "{\"a\":1,\"b\":[1,2,{\"c\":\"d\"}],\"e\":{}}",
        "{\"\":1}", "{\"b\":1,\"a\":2,\"c\":3}", "[[[[[[[[[[]]]]]]]]]]",
        "{\"a\":1,\"\\u0062\":2,\"c\":3,\"ab\":4,\"\":5}",
        "{\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,"
        "\"k8\":8,\"k9\":9,\"k10\":10,\"k11\":11,\"k12\":12,\"k13\":13,"
        "\"k14\":14,\"k15\":15,\"k16\":16,\"k17\":17,\"k18\":18}",
        "{\"a\" : 1 , \"b\" : [ 1 , 2 ] }",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_int_equal(same_str(ok[i]), 0);
    static const char *const bad[] = {
        "", "  ", "{", "}", "[", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\" 1}",
        "{\"a\":}", "{a:1}", "{\"a\":1,\"a\":2}", "{\"a\":1,\"\\u0061\":2}",
        "{\"\\u0061\":1,\"a\":2}", "{\"a\":1,\"b\":2,\"\\u0062\":3}",
        "{\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,"
        "\"k8\":8,\"k9\":9,\"k10\":10,\"k11\":11,\"k12\":12,\"k13\":13,"
        "\"k14\":14,\"k15\":15,\"k16\":16,\"k17\":17,\"k2\":0}",
        "{\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,"
        "\"k8\":8,\"k9\":9,\"k10\":10,\"k11\":11,\"k12\":12,\"k13\":13,"
        "\"k14\":14,\"k15\":15,\"k16\":16,\"k17\":17,\"k17\":0}",
        "[1] x", "1 2", "nul",
        "truex", "tru", "01", "-", "-a", "1.", ".5", "1.e5", "1e", "1e+",
        "+1", "0x10", "99999999999999999999", "-99999999999999999999",
        "1e400", "-1e400", "NaN", "Infinity", "[1 2]", "{\"a\":1 \"b\":2}",
        "'a'", "\xef\xbb\xbf{}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(same_str(bad[i]), LX_ESYNTAX);
}

static void test_json_read_strings_and_utf8_match(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "\"plain\"", "\"caf\xc3\xa9\"", "\"\xe2\x82\xac\"",
        "\"\xf0\x9f\x98\x80\"", "\"\xf4\x8f\xbf\xbf\"", "\"\x7f\"",
        "\"\\u00e9\"", "\"\\u20AC\"", "\"\\ud83d\\ude00\"", "\"\\/\"",
        "\"\\\"\\\\\\b\\f\\n\\r\\t\"", "\"a\\u0000b\"", /* left to jansson */
        "{\"k\\u00e9y\":1}", "{\"\\\"\":1}",
        "\"<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\">x</div>\"",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_int_equal(same_str(ok[i]), 0);
    static const char *const bad[] = {
        "\"abc", "\"\\\"", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"",
        "\"\\ud83d\"", "\"\\ud83dx\"", "\"\\ud83d\\u0041\"", "\"\\ude00\"",
        "{\"\\u0000\":1}", "\"\x01\"", "\"a\nb\"", "\"\xc0\xaf\"",
        "\"\xc1\xbf\"", "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"",
        "\"\xf0\x80\x80\xaf\"", "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"",
        "\"\xe2\x82\"", "\"\x80\"", "\"\xff\"", "\"\\\xc3\xa9\"", "\"\\",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(same_str(bad[i]), LX_ESYNTAX);
}

static void test_json_read_nul_bytes_limits_and_depth_match(void **state)
{
    (void)state;
    /* A NUL byte after the value, and one inside a string. */
    assert_int_equal(same_as_jansson("trailing NUL", "{\"a\":1}\0", 8,
                                     LX_JSON_MAX_DEFAULT),
                     LX_ESYNTAX);
    assert_int_equal(same_as_jansson("NUL in string", "\"a\0b\"", 5,
                                     LX_JSON_MAX_DEFAULT),
                     LX_ESYNTAX);
    /* Over max_len: LX_ELIMIT, as lx_json_parse says it. */
    assert_int_equal(same_as_jansson("over max_len", "[1,2,3]", 7, 6),
                     LX_ELIMIT);
    /* Deeper than the reader handles itself: jansson parses it (or
     * refuses it, past its own limit), with the same result. */
    size_t depths[] = {LX_JSON_READ_DEPTH - 1, LX_JSON_READ_DEPTH,
                       LX_JSON_READ_DEPTH + 1, 3000};
    for (size_t k = 0; k < sizeof(depths) / sizeof(depths[0]); k++) {
        size_t d = depths[k];
        char *t = malloc(2 * d + 1);
        assert_non_null(t);
        memset(t, '[', d);
        memset(t + d, ']', d);
        t[2 * d] = '\0';
        same_as_jansson("deep arrays", t, 2 * d, LX_JSON_MAX_DEFAULT);
        free(t);
    }
}

/* Seeded mutations of the corpus Patient: one byte replaced, deleted or
 * inserted, with bytes chosen to hit the grammar, escapes and UTF-8. */
static void test_json_read_mutated_patients_match(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof(path), "%s/fhir/r4/json/Patient-example.json",
             corpus_dir());
    size_t len;
    char *orig = slurp(path, &len);
    assert_non_null(orig);
    static const unsigned char picks[] = {
        '"', '\\', '{', '}', '[', ']', ',', ':', '0', '1', '-', '.', 'e',
        'u', 'n', 't', ' ', '\n', 0x00, 0x1f, 0x7f, 0x80, 0xbf, 0xc0, 0xc3,
        0xe0, 0xed, 0xf0, 0xf4, 0xf5, 0xff, 'a', '/', '+'};
    char *buf = malloc(len + 2);
    assert_non_null(buf);
    uint64_t seed = 0x9e3779b97f4a7c15u;
    size_t accepted = 0;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        size_t at = (size_t)(seed >> 33) % len;
        unsigned char c = picks[(seed >> 20) % sizeof(picks)];
        int op = (int)((seed >> 12) % 3);
        size_t n = len;
        if (op == 0) { /* replace */
            memcpy(buf, orig, len);
            buf[at] = (char)c;
        } else if (op == 1) { /* delete */
            memcpy(buf, orig, at);
            memcpy(buf + at, orig + at + 1, len - at - 1);
            n = len - 1;
        } else { /* insert */
            memcpy(buf, orig, at);
            buf[at] = (char)c;
            memcpy(buf + at + 1, orig + at, len - at);
            n = len + 1;
        }
        char what[64];
        snprintf(what, sizeof(what), "mutation %d (op %d at %zu)", i, op, at);
        if (same_as_jansson(what, buf, n, LX_JSON_MAX_DEFAULT) == 0)
            accepted++;
    }
    /* Both outcomes were exercised. */
    assert_true(accepted > 1000 && accepted < 19000);
    free(buf);
    free(orig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_read_corpus_files_parse_as_jansson_does),
        cmocka_unit_test(test_json_read_values_and_numbers_match),
        cmocka_unit_test(test_json_read_strings_and_utf8_match),
        cmocka_unit_test(test_json_read_nul_bytes_limits_and_depth_match),
        cmocka_unit_test(test_json_read_mutated_patients_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
