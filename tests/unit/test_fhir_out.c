/* Unit tests of the outbound FHIR adapter's request body
 * (lx_fhir_out_body, adapters/fhir/fhir_out.h): byte for byte what
 * json_dumps(JSON_COMPACT) writes, on the FHIR R4 corpus, on edge cases
 * (escapes, non-ASCII, reals, integers, empty containers, deep nesting)
 * and on trees derived at random from the corpus; XML is the codec's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "adapters/fhir/fhir_out.h"

#include <dirent.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lx_fhir *fhir;

static const char *corpus_dir(void)
{
    const char *d = getenv("LX_CORPUS_DIR");
    return d ? d : "/work/shared/corpus";
}

static const char *source_dir(void)
{
    const char *d = getenv("LX_SOURCE_DIR");
    return d ? d : ".";
}

/* lx_fhir_out_body(JSON) of v is json_dumps(v, JSON_COMPACT). */
static void check_body(const json_t *v)
{
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_non_null(want);
    lx_buf b;
    lx_buf_init(&b, 0);
    assert_int_equal(lx_buf_puts(&b, "prefix:"), 0); /* appended after */
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_fhir_out_body(fhir, v, LX_FHIR_JSON, &b, &err), 0);
    assert_string_equal(b.data + 7, want);
    lx_buf_fini(&b);
    free(want);
}

static void test_fhir_out_body_is_json_dumps_on_the_corpus(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/fhir/r4/json", corpus_dir());
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t files = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        json_t *v = json_load_file(path, 0, NULL);
        assert_non_null(v);
        check_body(v);
        json_decref(v);
        files++;
    }
    closedir(d);
    assert_true(files >= 10);
}

static void test_fhir_out_body_edge_cases_are_json_dumps(void **state)
{
    (void)state;
    json_t *o = json_object();
    json_object_set_new(o, "resourceType", json_string("Patient"));
    json_object_set_new(o, "quote\"key", json_string("a \"b\" \\c\\ /d/"));
    json_object_set_new(o, "controls",
                        json_stringn("\b\f\n\r\t\x01\x1f\x7f end", 12));
    json_object_set_new(o, "nul", json_stringn("a\0b", 3));
    json_object_setn_new(o, "k\0ey", 4, json_true());
    json_object_set_new(o, "utf8", json_string("M\xc3\xbcller \xe6\x9d\x8e "
                                               "\xf0\x9f\x98\x80 \xe2\x80\xa8"));
    json_object_set_new(o, "empty", json_string(""));
    json_object_set_new(o, "obj", json_object());
    json_object_set_new(o, "arr", json_array());
    json_t *nums = json_array();
    static const double reals[] = {0.0, -0.0, 0.1, 1.5, -2.25, 5.0, 1e20,
                                   1e21, 1e-5, 1e-7, 123456789.123,
                                   3.141592653589793, 1e300, -1e-300,
                                   DBL_MAX, DBL_MIN, 2.5e-308, 100.0,
                                   1e16, 12345678901234567890.0};
    for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++)
        json_array_append_new(nums, json_real(reals[i]));
    static const json_int_t ints[] = {0, 1, -1, 42, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        json_array_append_new(nums, json_integer(ints[i]));
    json_array_append_new(nums, json_null());
    json_array_append_new(nums, json_false());
    json_object_set_new(o, "numbers", nums);
    check_body(o);
    json_decref(o);
    /* Top-level scalars and deep nesting (past the writer's own depth the
     * codec writes it: the same bytes). */
    json_t *s = json_string("only");
    check_body(s);
    json_decref(s);
    json_t *deep = json_array();
    for (int i = 0; i < 100; i++) {
        json_t *outer = json_array();
        json_array_append_new(outer, deep);
        deep = outer;
    }
    check_body(deep);
    json_decref(deep);
}

/* Random changes to corpus resources: strings get random bytes from a
 * valid alphabet (controls, quotes, non-ASCII), numbers random values. */
static uint32_t seed = 4242;

static uint32_t rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

static void mutate(json_t *v, int depth)
{
    static const char *const pieces[] = {"a", "\"", "\\", "/", "\n", "\x02",
                                         "\xc3\xa9", "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80", " ", "\x7f"};
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach(v, k, c)
        {
            if (json_is_string(c) && rnd() % 3 == 0) {
                char text[64];
                size_t n = 0, count = rnd() % 8;
                for (size_t i = 0; i < count; i++) {
                    const char *piece = pieces[rnd() % (sizeof(pieces) /
                                                        sizeof(pieces[0]))];
                    memcpy(text + n, piece, strlen(piece));
                    n += strlen(piece);
                }
                text[n] = '\0';
                json_object_set_new(v, k, json_string(text));
            } else if (json_is_number(c) && rnd() % 2 == 0) {
                double x = (double)rnd() / (double)(rnd() + 1);
                json_object_set_new(v, k, rnd() % 2 ? json_real(x * 1e-9)
                                                     : json_real(x * 1e12));
            } else if (depth < 20) {
                mutate(c, depth + 1);
            }
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            mutate(json_array_get(v, i), depth + 1);
    }
}

static void test_fhir_out_body_random_trees_are_json_dumps(void **state)
{
    (void)state;
    char path[2048];
    snprintf(path, sizeof(path), "%s/fhir/r4/json/Coverage-9876B1.json",
             corpus_dir());
    json_t *base = json_load_file(path, 0, NULL);
    assert_non_null(base);
    for (int i = 0; i < 300; i++) {
        json_t *v = json_deep_copy(base);
        mutate(v, 0);
        check_body(v);
        json_decref(v);
    }
    json_decref(base);
}

static void test_fhir_out_body_xml_is_the_codec_s(void **state)
{
    (void)state;
    json_t *p = json_pack("{s:s,s:[{s:s,s:[s]}]}", "resourceType", "Patient",
                          "name", "family", "Chalmers", "given", "Peter");
    lx_buf a, b;
    lx_buf_init(&a, 0);
    lx_buf_init(&b, 0);
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_fhir_out_body(fhir, p, LX_FHIR_XML, &a, &err), 0);
    assert_int_equal(lx_fhir_serialize(fhir, p, LX_FHIR_XML, &b, &err), 0);
    assert_string_equal(a.data, b.data);
    assert_non_null(strstr(a.data, "Chalmers"));
    lx_buf_fini(&a);
    lx_buf_fini(&b);
    json_decref(p);
}

static int setup(void **state)
{
    (void)state;
    char path[1024];
    lx_error err;
    lx_error_clear(&err);
    snprintf(path, sizeof(path), "%s/schemas", source_dir());
    if (lx_fhir_open(path, &fhir, &err) != 0) {
        fprintf(stderr, "lx_fhir_open: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lx_fhir_close(&fhir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fhir_out_body_is_json_dumps_on_the_corpus),
        cmocka_unit_test(test_fhir_out_body_edge_cases_are_json_dumps),
        cmocka_unit_test(test_fhir_out_body_random_trees_are_json_dumps),
        cmocka_unit_test(test_fhir_out_body_xml_is_the_codec_s),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
