/* tests/unit/test_schema.c: the JSON Schema validator (canonical/schema.h),
 * keyword family by keyword family, with the located errors it reports.
 * The official test suite runs separately (test_schema_suite.c). */
#include "canonical/schema.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- helpers ---- */

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v)
        fail_msg("bad test JSON: %s: %s", je.text, text);
    return v;
}

static lx_schema *compile(const char *schema_text)
{
    json_t *doc = parse(schema_text);
    lx_schema *s = NULL;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_schema_compile(doc, "test", &s, &err);
    json_decref(doc);
    if (rc)
        fail_msg("compile failed: %s at %s", err.msg, err.where);
    return s;
}

static int check(const char *schema_text, const char *instance_text,
                 lx_error *err)
{
    lx_schema *s = compile(schema_text);
    json_t *inst = parse(instance_text);
    lx_error_clear(err);
    int rc = lx_schema_validate(s, inst, err);
    json_decref(inst);
    lx_schema_destroy(&s);
    return rc;
}

static void valid(const char *schema_text, const char *instance_text)
{
    lx_error err;
    int rc = check(schema_text, instance_text, &err);
    if (rc)
        fail_msg("expected valid: %s against %s: %s", instance_text,
                 schema_text, err.msg);
}

/* Invalid, located at `where`, the message containing `needle`. */
static void invalid(const char *schema_text, const char *instance_text,
                    const char *where, const char *needle)
{
    lx_error err;
    int rc = check(schema_text, instance_text, &err);
    if (rc != LX_ESCHEMA)
        fail_msg("expected LX_ESCHEMA for %s against %s, got %d",
                 instance_text, schema_text, rc);
    if (where && strcmp(err.where, where) != 0)
        fail_msg("expected where \"%s\", got \"%s\" (%s)", where, err.where,
                 err.msg);
    if (needle && !strstr(err.msg, needle))
        fail_msg("expected \"%s\" in the message: %s", needle, err.msg);
}

static void compile_error(const char *schema_text, int code,
                          const char *where, const char *needle)
{
    json_t *doc = parse(schema_text);
    lx_schema *s = (lx_schema *)1;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_schema_compile(doc, "test", &s, &err);
    json_decref(doc);
    assert_null(s);
    if (rc != code)
        fail_msg("expected compile error %s, got %s: %s", lx_error_name(code),
                 lx_error_name(rc), err.msg);
    assert_int_equal(err.code, code);
    if (where && strcmp(err.where, where) != 0)
        fail_msg("expected where \"%s\", got \"%s\" (%s)", where, err.where,
                 err.msg);
    if (needle && !strstr(err.msg, needle))
        fail_msg("expected \"%s\" in the message: %s", needle, err.msg);
}

/* ---- type ---- */

static void test_schema_type_integer_accepts_integral_real(void **state)
{
    (void)state;
    valid("{\"type\": \"integer\"}", "1.0");
    valid("{\"type\": \"integer\"}", "-7");
    invalid("{\"type\": \"integer\"}", "1.5", "",
            "expected integer, got number");
}

static void test_schema_type_mismatch_names_expected_and_actual(void **state)
{
    (void)state;
    invalid("{\"properties\": {\"a\": {\"type\": [\"string\", \"null\"]}}}",
            "{\"a\": 3}", "/a",
            "schema /properties/a/type: expected null or string, got integer");
    invalid("{\"type\": \"object\"}", "[]", "", "got array");
    valid("{\"type\": \"number\"}", "3");
}

/* ---- enum, const ---- */

static void test_schema_enum_compares_numbers_mathematically(void **state)
{
    (void)state;
    valid("{\"enum\": [1, \"a\"]}", "1.0");
    valid("{\"enum\": [[1.0, {\"x\": 2}]]}", "[1, {\"x\": 2.0}]");
    invalid("{\"enum\": [false]}", "0", "", "enum");
}

static void test_schema_enum_message_lists_allowed_values_not_the_value(
    void **state)
{
    (void)state;
    lx_error err;
    int rc = check("{\"properties\": {\"gender\": {\"enum\": [\"male\", "
                   "\"female\"]}}}",
                   "{\"gender\": \"dragon\"}", &err);
    assert_int_equal(rc, LX_ESCHEMA);
    assert_string_equal(err.where, "/gender");
    assert_non_null(strstr(err.msg, "/properties/gender/enum"));
    assert_non_null(strstr(err.msg, "[\"male\",\"female\"]"));
    assert_null(strstr(err.msg, "dragon"));
}

static void test_schema_const_ignores_member_order(void **state)
{
    (void)state;
    valid("{\"const\": {\"a\": 1, \"b\": [true, null]}}",
          "{\"b\": [true, null], \"a\": 1.0}");
    invalid("{\"const\": {\"a\": 1}}", "{\"a\": 1, \"b\": 2}", "", "const");
}

/* ---- numbers ---- */

static void test_schema_minimum_and_exclusive_bounds(void **state)
{
    (void)state;
    const char *s = "{\"minimum\": 1, \"exclusiveMaximum\": 10}";
    valid(s, "1");
    valid(s, "9.999");
    invalid(s, "0.5", "", "schema /minimum: number less than the minimum of 1");
    invalid(s, "10", "", "/exclusiveMaximum: number not less than 10");
    invalid("{\"exclusiveMinimum\": 0}", "0", "", "exclusiveMinimum");
}

static void test_schema_multiple_of_decimal_is_exact(void **state)
{
    (void)state;
    valid("{\"multipleOf\": 0.0001}", "0.0075");
    invalid("{\"multipleOf\": 0.0001}", "0.00751", "", "multiple of 0.0001");
    valid("{\"multipleOf\": 0.01}", "19.99");
    valid("{\"multipleOf\": 0.1}", "0.3");
    valid("{\"multipleOf\": 0.01}", "1234567.89");
    invalid("{\"multipleOf\": 0.01}", "1234567.891", "", "multipleOf");
    valid("{\"multipleOf\": 2}", "4.0");
    invalid("{\"multipleOf\": 2}", "7", "", "multipleOf");
    valid("{\"multipleOf\": 0.5}", "1e300");
}

static void test_schema_numbers_compare_exactly_beyond_2_pow_53(void **state)
{
    (void)state;
    invalid("{\"maximum\": 9007199254740992}", "9007199254740993", "",
            "maximum");
    invalid("{\"maximum\": 9007199254740992.0}", "9007199254740993", "",
            "maximum");
    valid("{\"minimum\": 9007199254740992.0}", "9007199254740993");
    valid("{\"const\": 9007199254740993}", "9007199254740993");
    invalid("{\"const\": 9007199254740992}", "9007199254740993", "", "const");
}

/* ---- strings ---- */

static void test_schema_length_counts_code_points(void **state)
{
    (void)state;
    valid("{\"maxLength\": 3}", "\"\xc3\xa9\xc3\xa9\xc3\xa9\"");
    valid("{\"minLength\": 2}", "\"\xf0\x9f\x90\xb2\xf0\x9f\x90\xb2\"");
    invalid("{\"minLength\": 3}", "\"\xf0\x9f\x90\xb2\xf0\x9f\x90\xb2\"", "",
            "string shorter than 3 characters");
    invalid("{\"maxLength\": 2}", "\"abc\"", "",
            "schema /maxLength: string longer than 2 characters");
}

static void test_schema_pattern_is_unanchored_and_unicode(void **state)
{
    (void)state;
    valid("{\"pattern\": \"b+\"}", "\"abbbc\"");
    valid("{\"pattern\": \"^\\\\p{Letter}+$\"}", "\"\xcf\x80\xce\xb1\"");
    valid("{\"pattern\": \"^.$\"}", "\"\xf0\x9f\x90\xb2\"");
    invalid("{\"pattern\": \"^[0-9]{5}$\"}", "\"1234\"", "",
            "does not match the pattern ^[0-9]{5}$");
    /* ECMA-262 "$" does not match before a final newline. */
    invalid("{\"pattern\": \"^a$\"}", "\"a\\n\"", "", "pattern");
}

static void test_schema_format_is_asserted_for_known_formats(void **state)
{
    (void)state;
    valid("{\"format\": \"date\"}", "\"2024-02-29\"");
    invalid("{\"format\": \"date\"}", "\"2023-02-29\"", "",
            "/format: string is not a date");
    valid("{\"format\": \"date-time\"}", "\"1998-12-31T15:59:60.123-08:00\"");
    invalid("{\"format\": \"date-time\"}", "\"2024-01-01T10:00:00\"", "",
            "date-time");
    valid("{\"format\": \"email\"}", "\"joe.bloggs@example.com\"");
    invalid("{\"format\": \"email\"}", "\"joe..bloggs@example.com\"", "",
            "email");
    valid("{\"format\": \"uri\"}", "\"urn:oid:2.16.840.1.113883.4.1\"");
    invalid("{\"format\": \"uri\"}", "\"/relative/path\"", "", "URI");
    valid("{\"format\": \"uuid\"}", "\"2eb8aa08-aa98-11ea-b4aa-73b441d16380\"");
    invalid("{\"format\": \"uuid\"}", "\"2eb8aa08aa9811eab4aa73b441d16380\"",
            "", "UUID");
    valid("{\"format\": \"date\"}", "20240229"); /* not a string */
}

static void test_schema_unknown_format_is_an_annotation(void **state)
{
    (void)state;
    valid("{\"format\": \"ipv4\"}", "\"not an address\"");
}

/* ---- arrays ---- */

static void test_schema_prefix_items_then_items(void **state)
{
    (void)state;
    const char *s = "{\"prefixItems\": [{\"type\": \"string\"}], "
                    "\"items\": {\"type\": \"integer\"}}";
    valid(s, "[\"a\", 1, 2]");
    invalid(s, "[\"a\", 1, \"b\"]", "/2", "schema /items/type");
    invalid(s, "[1]", "/0", "schema /prefixItems/0/type");
    invalid("{\"prefixItems\": [true], \"items\": false}", "[1, 2]", "",
            "schema /items: array has more than 1 items");
}

static void test_schema_min_and_max_items(void **state)
{
    (void)state;
    invalid("{\"minItems\": 1}", "[]", "", "fewer than 1 items");
    invalid("{\"maxItems\": 1}", "[1, 2]", "", "more than 1 items");
}

static void test_schema_unique_items_uses_numeric_equality(void **state)
{
    (void)state;
    invalid("{\"uniqueItems\": true}", "[1, 2, 1.0]", "",
            "array items 0 and 2 are equal");
    valid("{\"uniqueItems\": true}", "[1, \"1\", [1], {\"a\": 1}]");
    /* Large arrays go through the hash path. */
    char buf[4096];
    size_t n = 0;
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "[");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%d", i ? "," : "",
                              i);
    snprintf(buf + n, sizeof(buf) - n, "]");
    valid("{\"uniqueItems\": true}", buf);
    buf[n] = '\0';
    snprintf(buf + n, sizeof(buf) - n, ",{\"k\":[7]},{\"k\":[7.0]}]");
    invalid("{\"uniqueItems\": true}", buf, "", "items 200 and 201 are equal");
}

static void test_schema_contains_counts_matches(void **state)
{
    (void)state;
    const char *s = "{\"contains\": {\"type\": \"integer\"}, "
                    "\"maxContains\": 2}";
    valid(s, "[\"a\", 1]");
    invalid(s, "[\"a\"]", "", "fewer than 1 items matching contains");
    invalid(s, "[1, 2, 3]", "", "more than 2 items matching contains");
}

/* ---- objects ---- */

static void test_schema_required_missing_reports_pointer(void **state)
{
    (void)state;
    invalid("{\"properties\": {\"addresses\": {\"items\": "
            "{\"required\": [\"city\"]}}}}",
            "{\"addresses\": [{\"city\": \"x\"}, {\"state\": \"y\"}]}",
            "/addresses/1",
            "at /addresses/1: schema /properties/addresses/items/required: "
            "required property 'city' is missing");
}

static void test_schema_additional_properties_false_reports_member_pointer(
    void **state)
{
    (void)state;
    invalid("{\"properties\": {\"a\": true}, \"additionalProperties\": false}",
            "{\"a\": 1, \"nick/name\": 2}", "/nick~1name",
            "schema /additionalProperties: property is not allowed");
    valid("{\"properties\": {\"a\": true}, \"additionalProperties\": false}",
          "{\"a\": 1}");
}

static void test_schema_pattern_properties_exempt_from_additional(void **state)
{
    (void)state;
    const char *s = "{\"patternProperties\": {\"^x_\": {\"type\": "
                    "\"string\"}}, \"additionalProperties\": {\"type\": "
                    "\"integer\"}}";
    valid(s, "{\"x_a\": \"s\", \"b\": 2}");
    invalid(s, "{\"x_a\": 1}", "/x_a", "/patternProperties/^x_/type");
    invalid(s, "{\"b\": \"s\"}", "/b", "/additionalProperties/type");
}

static void test_schema_property_names_and_counts(void **state)
{
    (void)state;
    invalid("{\"propertyNames\": {\"maxLength\": 3}}", "{\"abcd\": 1}",
            "/abcd", "/propertyNames/maxLength");
    invalid("{\"minProperties\": 2}", "{\"a\": 1}", "", "fewer than 2");
    invalid("{\"dependentRequired\": {\"a\": [\"b\"]}}", "{\"a\": 1}", "",
            "property 'b' is required when 'a' is present");
}

/* ---- applicators ---- */

static void test_schema_any_of_reports_the_keyword_once(void **state)
{
    (void)state;
    const char *s = "{\"anyOf\": [{\"type\": \"string\"}, {\"minimum\": 3}]}";
    valid(s, "\"x\"");
    valid(s, "4");
    invalid(s, "1", "", "schema /anyOf: value matches none of the 2 schemas");
}

static void test_schema_one_of_rejects_two_matches(void **state)
{
    (void)state;
    const char *s = "{\"oneOf\": [{\"type\": \"integer\"}, {\"minimum\": 2}]}";
    valid(s, "1");
    valid(s, "2.5");
    invalid(s, "3", "", "more than one schema in oneOf (0 and 1)");
    invalid(s, "1.5", "", "none of the 2 schemas in oneOf");
}

static void test_schema_not_and_if_then_else(void **state)
{
    (void)state;
    invalid("{\"not\": {\"type\": \"null\"}}", "null", "", "schema /not");
    const char *s = "{\"if\": {\"properties\": {\"kind\": {\"const\": "
                    "\"a\"}}}, \"then\": {\"required\": [\"x\"]}, "
                    "\"else\": {\"required\": [\"y\"]}}";
    valid(s, "{\"kind\": \"a\", \"x\": 1}");
    invalid(s, "{\"kind\": \"a\"}", "", "schema /then/required");
    invalid(s, "{\"kind\": \"b\"}", "", "schema /else/required");
}

static void test_schema_false_schema_rejects_everything(void **state)
{
    (void)state;
    invalid("false", "{}", "", "false schema");
    valid("true", "[1, {\"a\": null}]");
    invalid("{\"properties\": {\"a\": false}}", "{\"a\": 0}", "/a",
            "schema /properties/a: no value is allowed");
    /* jansson shares one `false` value: each position still reports its
     * own location. */
    invalid("{\"properties\": {\"a\": false, \"b\": false}}", "{\"b\": 0}",
            "/b", "schema /properties/b: no value is allowed");
    invalid("{\"$defs\": {\"t\": true, \"f\": false}, \"properties\": "
            "{\"x\": {\"$ref\": \"#/$defs/f\"}}}",
            "{\"x\": 0}", "/x", "schema /$defs/f: no value is allowed");
}

/* ---- $ref ---- */

static const char address_schema[] =
    "{\"$defs\": {\"address\": {\"type\": \"object\", \"properties\": "
    "{\"postal_code\": {\"type\": \"string\", \"maxLength\": 10}}}},"
    " \"properties\": {\"addresses\": {\"type\": \"array\", \"items\": "
    "{\"$ref\": \"#/$defs/address\"}}}}";

static void test_schema_ref_error_names_target_keyword(void **state)
{
    (void)state;
    lx_error err;
    int rc = check(address_schema,
                   "{\"addresses\": [{\"postal_code\": \"SECRET-12345\"}]}",
                   &err);
    assert_int_equal(rc, LX_ESCHEMA);
    assert_int_equal(err.code, LX_ESCHEMA);
    assert_string_equal(err.where, "/addresses/0/postal_code");
    assert_string_equal(err.msg,
                        "at /addresses/0/postal_code: schema "
                        "/$defs/address/properties/postal_code/maxLength: "
                        "string longer than 10 characters");
}

static void test_schema_ref_escaped_pointer_and_percent_decoding(void **state)
{
    (void)state;
    const char *s =
        "{\"$defs\": {\"a/b\": {\"type\": \"integer\"}, \"c~d\": {\"type\": "
        "\"string\"}, \"e%f\": {\"type\": \"null\"}}, \"properties\": "
        "{\"x\": {\"$ref\": \"#/$defs/a~1b\"}, \"y\": {\"$ref\": "
        "\"#/$defs/c~0d\"}, \"z\": {\"$ref\": \"#/$defs/e%25f\"}}}";
    valid(s, "{\"x\": 1, \"y\": \"s\", \"z\": null}");
    invalid(s, "{\"y\": 1}", "/y", "schema /$defs/c~0d/type");
    invalid(s, "{\"z\": 1}", "/z", "schema /$defs/e%f/type");
}

static void test_schema_ref_recursion_through_the_instance(void **state)
{
    (void)state;
    const char *s = "{\"type\": \"object\", \"properties\": {\"children\": "
                    "{\"type\": \"array\", \"items\": {\"$ref\": \"#\"}}, "
                    "\"name\": {\"type\": \"string\"}}}";
    valid(s, "{\"children\": [{\"children\": [{\"name\": \"x\"}]}]}");
    invalid(s, "{\"children\": [{\"children\": [{\"name\": 1}]}]}",
            "/children/0/children/0/name", "schema /properties/name/type");
}

static void test_schema_ref_with_id_and_anchor(void **state)
{
    (void)state;
    const char *s =
        "{\"$id\": \"https://example.com/root.json\", \"$defs\": {"
        "\"n\": {\"$id\": \"node.json\", \"type\": \"integer\"},"
        "\"s\": {\"$anchor\": \"str\", \"type\": \"string\"}},"
        " \"properties\": {\"a\": {\"$ref\": \"node.json\"}, \"b\": "
        "{\"$ref\": \"#str\"}, \"c\": {\"$ref\": "
        "\"https://example.com/node.json\"}}}";
    valid(s, "{\"a\": 1, \"b\": \"x\", \"c\": 2}");
    invalid(s, "{\"a\": \"x\"}", "/a", "schema /$defs/n/type");
    invalid(s, "{\"b\": 1}", "/b", "schema /$defs/s/type");
}

static void test_schema_ref_cycle_without_progress_is_a_compile_error(
    void **state)
{
    (void)state;
    compile_error("{\"$defs\": {\"a\": {\"$ref\": \"#/$defs/b\"}, \"b\": "
                  "{\"$ref\": \"#/$defs/a\"}}, \"$ref\": \"#/$defs/a\"}",
                  LX_ESCHEMA, NULL, "$ref cycle");
    compile_error("{\"allOf\": [{\"$ref\": \"#\"}]}", LX_ESCHEMA, "",
                  "$ref cycle");
    /* Through the instance is fine: the tree above compiles. */
}

static void test_schema_ref_that_does_not_resolve_is_located(void **state)
{
    (void)state;
    compile_error("{\"properties\": {\"a\": {\"$ref\": \"#/$defs/none\"}}}",
                  LX_ESCHEMA, "/properties/a/$ref", "does not resolve");
    compile_error("{\"$ref\": \"#nowhere\"}", LX_ESCHEMA, "/$ref",
                  "no such $anchor");
    compile_error("{\"$ref\": \"https://example.com/other.json\"}",
                  LX_EUNSUPPORTED, "/$ref", "remote references");
}

/* ---- compile errors ---- */

static void test_schema_compile_bad_regex_is_located(void **state)
{
    (void)state;
    compile_error("{\"properties\": {\"a\": {\"pattern\": \"(\"}}}",
                  LX_ESCHEMA, "/properties/a/pattern",
                  "invalid regular expression");
    compile_error("{\"patternProperties\": {\"[\": true}}", LX_ESCHEMA,
                  "/patternProperties/[", "invalid regular expression");
}

static void test_schema_compile_wrong_keyword_type_is_located(void **state)
{
    (void)state;
    compile_error("{\"properties\": {\"a\": {\"minLength\": \"5\"}}}",
                  LX_ESCHEMA, "/properties/a/minLength",
                  "non-negative integer");
    compile_error("{\"type\": \"text\"}", LX_ESCHEMA, "/type",
                  "unknown type");
    compile_error("{\"items\": [{}]}", LX_ESCHEMA, "/items", "prefixItems");
    compile_error("{\"required\": [\"a\", \"a\"]}", LX_ESCHEMA,
                  "/required/1", "repeat");
    compile_error("{\"multipleOf\": 0}", LX_ESCHEMA, "/multipleOf",
                  "greater than 0");
    compile_error("{\"properties\": {\"a\": 3}}", LX_ESCHEMA,
                  "/properties/a", "object or a boolean");
    compile_error("[]", LX_ESCHEMA, "", "object or a boolean");
}

static void test_schema_unknown_keywords_are_ignored(void **state)
{
    (void)state;
    valid("{\"title\": \"x\", \"x-lingua\": {\"minimum\": 5}, "
          "\"unevaluatedProperties\": false}",
          "{\"a\": 1}");
    valid("{\"minLength\": 2.0}", "\"ab\"");
}

static void test_schema_compiled_form_outlives_the_document(void **state)
{
    (void)state;
    json_t *doc = parse("{\"enum\": [{\"a\": [1]}], \"pattern\": \"x\"}");
    lx_schema *s = NULL;
    assert_int_equal(lx_schema_compile(doc, NULL, &s, NULL), 0);
    json_decref(doc);
    assert_string_equal(lx_schema_name(s), "");
    json_t *ok = parse("{\"a\": [1.0]}");
    assert_int_equal(lx_schema_validate(s, ok, NULL), 0);
    json_decref(ok);
    lx_schema_destroy(&s);
    assert_null(s);
    lx_schema_destroy(&s); /* NULL is fine */
}

/* ---- limits ---- */

static char *nested_arrays(int depth)
{
    char *t = malloc((size_t)depth * 2 + 1);
    assert_non_null(t);
    for (int i = 0; i < depth; i++) {
        t[i] = '[';
        t[depth * 2 - 1 - i] = ']';
    }
    t[depth * 2] = '\0';
    return t;
}

static void test_schema_depth_limit_refuses_deep_instances(void **state)
{
    (void)state;
    lx_schema *s = compile("{\"type\": \"array\", \"items\": {\"$ref\": "
                           "\"#\"}}");
    char *ok_text = nested_arrays(LX_SCHEMA_DEPTH_MAX + 1);
    char *deep_text = nested_arrays(LX_SCHEMA_DEPTH_MAX + 2);
    json_t *ok = parse(ok_text), *deep = parse(deep_text);
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_schema_validate(s, ok, &err), 0);
    assert_int_equal(lx_schema_validate(s, deep, &err), LX_ELIMIT);
    assert_int_equal(err.code, LX_ELIMIT);
    assert_non_null(strstr(err.msg, "deeper than 256"));
    assert_int_equal(strncmp(err.where, "/0/0/0/0", 8), 0);
    size_t count = 0;
    lx_schema_issue issue;
    assert_int_equal(lx_schema_validate_all(s, deep, &issue, 1, &count, NULL),
                     LX_ELIMIT);
    json_decref(ok);
    json_decref(deep);
    free(ok_text);
    free(deep_text);
    lx_schema_destroy(&s);
}

static void test_schema_depth_limit_on_equality(void **state)
{
    (void)state;
    char *deep_text = nested_arrays(LX_SCHEMA_DEPTH_MAX + 10);
    json_t *deep = parse(deep_text);
    json_t *doc = json_pack("{s:[O]}", "enum", deep);
    lx_schema *s = NULL;
    assert_int_equal(lx_schema_compile(doc, "deep", &s, NULL), 0);
    assert_int_equal(lx_schema_validate(s, deep, NULL), LX_ELIMIT);
    lx_schema_destroy(&s);
    json_decref(doc);
    json_decref(deep);
    free(deep_text);
}

static void test_schema_compile_refuses_deep_schemas(void **state)
{
    (void)state;
    json_t *doc = json_true();
    for (int i = 0; i < LX_SCHEMA_DEPTH_MAX + 5; i++)
        doc = json_pack("{s:o}", "not", doc);
    lx_schema *s = NULL;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_schema_compile(doc, "deep", &s, &err), LX_ELIMIT);
    assert_null(s);
    json_decref(doc);
}

/* ---- collecting every issue ---- */

static void test_schema_validate_all_collects_every_issue(void **state)
{
    (void)state;
    lx_schema *s = compile(
        "{\"type\": \"object\", \"required\": [\"id\"], "
        "\"additionalProperties\": false, \"properties\": {\"id\": {}, "
        "\"a\": {\"type\": \"string\"}, \"b\": {\"minimum\": 0}, "
        "\"c\": {\"type\": \"array\", \"items\": {\"type\": \"integer\"}}}}");
    json_t *inst = parse("{\"a\": 1, \"b\": -1, \"c\": [1, \"x\", \"y\"], "
                         "\"d\": true}");
    lx_schema_issue issues[8];
    size_t count = 0;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_schema_validate_all(s, inst, issues, 8, &count, &err),
                     LX_ESCHEMA);
    assert_int_equal(count, 6);
    const char *want[6][2] = {{"", "/required"},
                              {"/a", "/properties/a/type"},
                              {"/b", "/properties/b/minimum"},
                              {"/c/1", "/properties/c/items/type"},
                              {"/c/2", "/properties/c/items/type"},
                              {"/d", "/additionalProperties"}};
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(issues[i].instance_ptr, want[i][0]);
        assert_string_equal(issues[i].keyword_ptr, want[i][1]);
        assert_true(issues[i].msg[0] != '\0');
    }
    /* err describes issue 0. */
    assert_string_equal(err.where, "");
    assert_non_null(strstr(err.msg, "required property 'id'"));

    /* Fewer slots than issues: the total is still counted. */
    assert_int_equal(lx_schema_validate_all(s, inst, issues, 2, &count, NULL),
                     LX_ESCHEMA);
    assert_int_equal(count, 6);
    assert_int_equal(lx_schema_validate_all(s, inst, NULL, 0, &count, &err),
                     LX_ESCHEMA);
    assert_int_equal(count, 6);
    assert_string_equal(err.where, "");

    json_t *good = parse("{\"id\": 1, \"a\": \"s\"}");
    assert_int_equal(lx_schema_validate_all(s, good, issues, 8, &count, NULL),
                     0);
    assert_int_equal(count, 0);
    json_decref(good);
    json_decref(inst);
    lx_schema_destroy(&s);
}

static void test_schema_messages_never_carry_instance_values(void **state)
{
    (void)state;
    lx_schema *s = compile(
        "{\"properties\": {\"a\": {\"type\": \"integer\"}, \"b\": "
        "{\"pattern\": \"^x\"}, \"c\": {\"enum\": [1]}, \"d\": {\"const\": "
        "2}, \"e\": {\"format\": \"email\"}, \"f\": {\"maxLength\": 2}, "
        "\"g\": {\"not\": {}}, \"h\": {\"anyOf\": [{\"type\": \"null\"}]}}}");
    json_t *inst = parse(
        "{\"a\": \"SECRET\", \"b\": \"SECRET\", \"c\": \"SECRET\", \"d\": "
        "\"SECRET\", \"e\": \"SECRET\", \"f\": \"SECRET\", \"g\": "
        "\"SECRET\", \"h\": \"SECRET\"}");
    lx_schema_issue issues[16];
    size_t count = 0;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(
        lx_schema_validate_all(s, inst, issues, 16, &count, &err), LX_ESCHEMA);
    assert_int_equal(count, 8);
    for (size_t i = 0; i < count; i++) {
        assert_null(strstr(issues[i].msg, "SECRET"));
        assert_null(strstr(issues[i].instance_ptr, "SECRET"));
    }
    assert_null(strstr(err.msg, "SECRET"));
    json_decref(inst);
    lx_schema_destroy(&s);
}

/* ---- threads ---- */

typedef struct worker_arg {
    const lx_schema *s;
    json_t *good, *bad;
    int failures;
} worker_arg;

static void *validate_many(void *p)
{
    worker_arg *a = p;
    for (int i = 0; i < 2000; i++) {
        lx_error err;
        if (lx_schema_validate(a->s, a->good, &err) != 0)
            a->failures++;
        if (lx_schema_validate(a->s, a->bad, &err) != LX_ESCHEMA ||
            strcmp(err.where, "/items/1/code") != 0)
            a->failures++;
    }
    return NULL;
}

static void test_schema_concurrent_validation_of_one_schema(void **state)
{
    (void)state;
    lx_schema *s = compile(
        "{\"properties\": {\"items\": {\"type\": \"array\", \"items\": "
        "{\"properties\": {\"code\": {\"pattern\": \"^[A-Z]{3}$\"}}, "
        "\"patternProperties\": {\"^x-\": {\"type\": \"string\"}}}}}}");
    json_t *good = parse("{\"items\": [{\"code\": \"ABC\", \"x-y\": \"z\"}]}");
    json_t *bad = parse("{\"items\": [{\"code\": \"ABC\"}, {\"code\": "
                        "\"abcd\"}]}");
    enum { N = 4 };
    pthread_t th[N];
    worker_arg args[N];
    for (int i = 0; i < N; i++) {
        args[i] = (worker_arg){s, good, bad, 0};
        assert_int_equal(pthread_create(&th[i], NULL, validate_many, &args[i]),
                         0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    json_decref(good);
    json_decref(bad);
    lx_schema_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_type_integer_accepts_integral_real),
        cmocka_unit_test(test_schema_type_mismatch_names_expected_and_actual),
        cmocka_unit_test(test_schema_enum_compares_numbers_mathematically),
        cmocka_unit_test(
            test_schema_enum_message_lists_allowed_values_not_the_value),
        cmocka_unit_test(test_schema_const_ignores_member_order),
        cmocka_unit_test(test_schema_minimum_and_exclusive_bounds),
        cmocka_unit_test(test_schema_multiple_of_decimal_is_exact),
        cmocka_unit_test(test_schema_numbers_compare_exactly_beyond_2_pow_53),
        cmocka_unit_test(test_schema_length_counts_code_points),
        cmocka_unit_test(test_schema_pattern_is_unanchored_and_unicode),
        cmocka_unit_test(test_schema_format_is_asserted_for_known_formats),
        cmocka_unit_test(test_schema_unknown_format_is_an_annotation),
        cmocka_unit_test(test_schema_prefix_items_then_items),
        cmocka_unit_test(test_schema_min_and_max_items),
        cmocka_unit_test(test_schema_unique_items_uses_numeric_equality),
        cmocka_unit_test(test_schema_contains_counts_matches),
        cmocka_unit_test(test_schema_required_missing_reports_pointer),
        cmocka_unit_test(
            test_schema_additional_properties_false_reports_member_pointer),
        cmocka_unit_test(
            test_schema_pattern_properties_exempt_from_additional),
        cmocka_unit_test(test_schema_property_names_and_counts),
        cmocka_unit_test(test_schema_any_of_reports_the_keyword_once),
        cmocka_unit_test(test_schema_one_of_rejects_two_matches),
        cmocka_unit_test(test_schema_not_and_if_then_else),
        cmocka_unit_test(test_schema_false_schema_rejects_everything),
        cmocka_unit_test(test_schema_ref_error_names_target_keyword),
        cmocka_unit_test(
            test_schema_ref_escaped_pointer_and_percent_decoding),
        cmocka_unit_test(test_schema_ref_recursion_through_the_instance),
        cmocka_unit_test(test_schema_ref_with_id_and_anchor),
        cmocka_unit_test(
            test_schema_ref_cycle_without_progress_is_a_compile_error),
        cmocka_unit_test(test_schema_ref_that_does_not_resolve_is_located),
        cmocka_unit_test(test_schema_compile_bad_regex_is_located),
        cmocka_unit_test(test_schema_compile_wrong_keyword_type_is_located),
        cmocka_unit_test(test_schema_unknown_keywords_are_ignored),
        cmocka_unit_test(test_schema_compiled_form_outlives_the_document),
        cmocka_unit_test(test_schema_depth_limit_refuses_deep_instances),
        cmocka_unit_test(test_schema_depth_limit_on_equality),
        cmocka_unit_test(test_schema_compile_refuses_deep_schemas),
        cmocka_unit_test(test_schema_validate_all_collects_every_issue),
        cmocka_unit_test(test_schema_messages_never_carry_instance_values),
        cmocka_unit_test(test_schema_concurrent_validation_of_one_schema),
    };
    return cmocka_run_group_tests_name("schema", tests, NULL, NULL);
}
