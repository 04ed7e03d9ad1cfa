/* tests/unit/test_schema_suite.c: the official JSON Schema Test Suite
 * (draft 2020-12) against canonical/schema.h.
 *
 * Files: one per supported keyword, plus optional/format for the formats
 * we assert. Every test of every case must pass, except cases skipped by
 * one rule, applied per case and never by name:
 *   - the case's schema uses, at a schema position, a keyword the
 *     validator does not implement ($dynamicRef, $dynamicAnchor,
 *     unevaluatedProperties, unevaluatedItems, $vocabulary and the
 *     draft 2019-09 $recursiveRef / $recursiveAnchor), since ignoring it as
 *     an annotation would make the expected result meaningless; or
 *   - compiling the schema reports LX_EUNSUPPORTED, which the validator
 *     does exactly when a $ref leaves the document (remote references,
 *     e.g. to the 2020-12 meta-schema).
 * Skipped tests are counted as skipped, never as passed. The last line is
 *   schema-suite: N passed, M failed, K skipped
 * and the run fails when M > 0. */
#include "canonical/schema.h"
#include "core/json.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char *const suite_files[] = {
    /* the keywords of the brief */
    "type.json", "enum.json", "const.json", "properties.json",
    "required.json", "additionalProperties.json", "patternProperties.json",
    "items.json", "prefixItems.json", "minItems.json", "maxItems.json",
    "uniqueItems.json", "minLength.json", "maxLength.json", "pattern.json",
    "minimum.json", "maximum.json", "exclusiveMinimum.json",
    "exclusiveMaximum.json", "multipleOf.json", "allOf.json", "anyOf.json",
    "oneOf.json", "not.json", "if-then-else.json", "ref.json", "defs.json",
    "boolean_schema.json", "optional/format/date.json",
    "optional/format/date-time.json", "optional/format/email.json",
    "optional/format/uri.json", "optional/format/uuid.json",
    /* further keywords the validator implements */
    "anchor.json", "contains.json", "minContains.json", "maxContains.json",
    "minProperties.json", "maxProperties.json", "propertyNames.json",
    "dependentRequired.json", "dependentSchemas.json", "default.json",
    "infinite-loop-detection.json"};

#define FILE_COUNT (sizeof(suite_files) / sizeof(suite_files[0]))

static const char *const unsupported_kw[] = {
    "$dynamicRef",     "$dynamicAnchor",        "$recursiveRef",
    "$recursiveAnchor", "unevaluatedProperties", "unevaluatedItems",
    "$vocabulary",     NULL};

typedef struct totals {
    size_t passed, failed, skipped;
} totals;

static totals all_totals;

/* Does schema s use an unsupported keyword at a schema position? */
static const char *uses_unsupported(const json_t *s)
{
    static const char *const single[] = {
        "items", "additionalProperties", "not", "if", "then", "else",
        "contains", "propertyNames", "unevaluatedItems",
        "unevaluatedProperties", NULL};
    static const char *const maps[] = {"properties", "patternProperties",
                                       "$defs", "definitions",
                                       "dependentSchemas", NULL};
    static const char *const arrays[] = {"allOf", "anyOf", "oneOf",
                                         "prefixItems", NULL};
    if (!json_is_object(s))
        return NULL;
    for (const char *const *k = unsupported_kw; *k; k++)
        if (json_object_get(s, *k))
            return *k;
    const char *found;
    for (const char *const *k = single; *k; k++)
        if ((found = uses_unsupported(json_object_get(s, *k))))
            return found;
    for (const char *const *k = maps; *k; k++) {
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(s, *k), key, v)
        {
            if ((found = uses_unsupported(v)))
                return found;
        }
    }
    for (const char *const *k = arrays; *k; k++) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(s, *k), i, v)
        {
            if ((found = uses_unsupported(v)))
                return found;
        }
    }
    return NULL;
}

static void run_file(void **state)
{
    const char *file = *state;
    const char *corpus = getenv("LX_CORPUS_DIR");
    assert_non_null(corpus);
    char path[1024];
    snprintf(path, sizeof(path), "%s/json-schema-test-suite/draft2020-12/%s",
             corpus, file);
    json_t *cases = NULL;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_json_load_file(path, LX_JSON_MAX_DEFAULT, &cases, &err);
    if (rc) {
        char buf[600];
        fail_msg("%s", lx_error_format(&err, buf, sizeof(buf)));
    }
    assert_true(json_is_array(cases));

    totals t = {0, 0, 0};
    size_t ci;
    json_t *tc;
    json_array_foreach(cases, ci, tc)
    {
        const char *desc =
            json_string_value(json_object_get(tc, "description"));
        json_t *schema = json_object_get(tc, "schema");
        json_t *tests = json_object_get(tc, "tests");
        size_t n_tests = json_array_size(tests);
        const char *kw = uses_unsupported(schema);
        if (kw) {
            printf("  skip %s: \"%s\" (uses %s)\n", file, desc, kw);
            t.skipped += n_tests;
            continue;
        }
        lx_schema *s = NULL;
        lx_error_clear(&err);
        rc = lx_schema_compile(schema, file, &s, &err);
        if (rc == LX_EUNSUPPORTED) {
            printf("  skip %s: \"%s\" (%s)\n", file, desc, err.msg);
            t.skipped += n_tests;
            continue;
        }
        if (rc) {
            printf("  FAIL %s: \"%s\": compile: %s (%s)\n", file, desc,
                   err.msg, err.where);
            t.failed += n_tests;
            continue;
        }
        size_t ti;
        json_t *test;
        json_array_foreach(tests, ti, test)
        {
            bool want = json_is_true(json_object_get(test, "valid"));
            json_t *data = json_object_get(test, "data");
            lx_error_clear(&err);
            int r1 = lx_schema_validate(s, data, &err);
            lx_schema_issue issues[4];
            size_t count = 99;
            int r2 = lx_schema_validate_all(s, data, issues, 4, &count, NULL);
            bool got = r1 == 0;
            /* Both entry points must agree, and an invalid instance must
             * come with at least one issue. */
            bool consistent = (r1 == r2) && ((r2 == 0) == (count == 0)) &&
                              (r1 == 0 || r1 == LX_ESCHEMA);
            if (got == want && consistent) {
                t.passed++;
            } else {
                t.failed++;
                printf("  FAIL %s: \"%s\" / \"%s\": expected %s, got %s "
                       "(validate_all rc %d, %zu issues) %s %s\n",
                       file, desc,
                       json_string_value(json_object_get(test, "description")),
                       want ? "valid" : "invalid", got ? "valid" : "invalid",
                       r2, count, err.where, err.msg);
            }
        }
        lx_schema_destroy(&s);
    }
    json_decref(cases);
    printf("schema-suite: %s: %zu passed, %zu failed, %zu skipped\n", file,
           t.passed, t.failed, t.skipped);
    all_totals.passed += t.passed;
    all_totals.failed += t.failed;
    all_totals.skipped += t.skipped;
    assert_int_equal(t.failed, 0);
}

int main(void)
{
    struct CMUnitTest tests[FILE_COUNT];
    for (size_t i = 0; i < FILE_COUNT; i++) {
        struct CMUnitTest t = {suite_files[i], run_file, NULL, NULL,
                               (void *)suite_files[i]};
        tests[i] = t;
    }
    int failed = cmocka_run_group_tests_name("schema_suite", tests, NULL,
                                             NULL);
    fflush(stderr);
    /* Last, after cmocka's own summary. */
    printf("schema-suite: %zu passed, %zu failed, %zu skipped\n",
           all_totals.passed, all_totals.failed, all_totals.skipped);
    fflush(stdout);
    return failed || all_totals.failed > 0;
}
