/* canonical/schema.h: the JSON Schema (2020-12) validator.
 *
 * A schema document is compiled once into an in-memory form (regular
 * expressions precompiled with PCRE2, $ref resolved to pointers, numbers
 * and keyword locations precomputed), then validated against many times.
 *
 * Supported keywords (everything else is an annotation and is ignored):
 *   type enum const
 *   minimum maximum exclusiveMinimum exclusiveMaximum multipleOf
 *   minLength maxLength pattern format
 *   items prefixItems minItems maxItems uniqueItems contains minContains
 *   maxContains
 *   properties patternProperties additionalProperties required
 *   minProperties maxProperties propertyNames dependentRequired
 *   dependentSchemas
 *   allOf anyOf oneOf not if then else
 *   $ref $defs $id $anchor, and boolean schemas (true / false).
 * Not supported: $dynamicRef, $dynamicAnchor, unevaluatedItems,
 * unevaluatedProperties, $vocabulary (ignored like unknown keywords), and
 * $ref to a document other than this one (a compile error).
 *
 * Semantics worth knowing:
 * - Numbers compare mathematically: 1.0 is an integer for "type":
 *   "integer", and 1 equals 1.0 for enum, const and uniqueItems.
 *   multipleOf is decided exactly on the shortest decimal form of both
 *   numbers, so 0.0075 is a multiple of 0.0001.
 * - minLength / maxLength count Unicode code points, not bytes.
 * - pattern / patternProperties are ECMA-262 regular expressions run by
 *   PCRE2 in UTF + UCP mode with "$" matching only at the very end. One
 *   known difference: \d and \w also match non-ASCII digits and letters
 *   (ECMA-262 keeps them ASCII). Matching is bounded (match and heap
 *   limits); a pattern that hits them fails validation with LX_ELIMIT.
 * - format is ASSERTED for date, date-time (RFC 3339, leap seconds only at
 *   23:59:60 UTC), email (RFC 5321 mailbox: dot-atom or quoted local part,
 *   host name or address literal), uri (RFC 3986 absolute URI with
 *   optional fragment) and uuid (RFC 4122 text form, any version); other
 *   formats are annotations.
 * - $ref resolves against the base URI set by $id (RFC 3986 section 5),
 *   to a resource or $anchor declared in the same document, or to a JSON
 *   pointer fragment ("#", "#/$defs/a~1b", percent-decoded first). A
 *   schema without $id has a private base URI, so only fragment refs and
 *   refs to embedded $id resources resolve.
 *
 * Errors never carry instance values (they are personal data): they name
 * the instance location and the schema keyword location as JSON pointers,
 * and the rule, for example
 *   where: /addresses/0/postal_code
 *   msg:   at /addresses/0/postal_code: schema
 *          /$defs/address/properties/postal_code/maxLength: string longer
 *          than 10 characters
 * The root instance location is "" (written "root" in messages).
 *
 * Limits: instance locations deeper than LX_SCHEMA_DEPTH_MAX levels that
 * the schema would inspect, and evaluation nested deeper than
 * LX_SCHEMA_EVAL_MAX schemas, fail with LX_ELIMIT; schemas nested deeper
 * than LX_SCHEMA_DEPTH_MAX fail to compile with LX_ELIMIT. A cycle of $ref
 * (or allOf/anyOf/oneOf/not/if/then/else/dependentSchemas) that returns to
 * a schema without moving into the instance is refused at compile time.
 *
 * Threads: a compiled schema is immutable; any number of threads may
 * validate against it at the same time. Compile and destroy are not
 * concurrent with anything else on the same object. */
#ifndef LX_CANONICAL_SCHEMA_H
#define LX_CANONICAL_SCHEMA_H

#include "core/error.h"

#include <jansson.h>
#include <stddef.h>

typedef struct lx_schema lx_schema; /* opaque, compiled, immutable */

#define LX_SCHEMA_DEPTH_MAX 256  /* instance / schema nesting levels */
#define LX_SCHEMA_EVAL_MAX 2048  /* nested schema evaluations per call */
#define LX_SCHEMA_ISSUE_MSG_MAX 192

/* One validation failure. Pointers are RFC 6901 JSON pointers, cut at the
 * field size; keyword_ptr is the keyword's location in the schema document
 * ("/$defs/address/properties/city/type"). msg states the rule, never the
 * value ("expected string, got integer"). */
typedef struct lx_schema_issue {
    char instance_ptr[LX_ERROR_WHERE_MAX];
    char keyword_ptr[LX_ERROR_WHERE_MAX];
    char msg[LX_SCHEMA_ISSUE_MSG_MAX];
} lx_schema_issue;

/* Compile the schema document `doc` (borrowed: it is not kept and may be
 * freed after the call). `name` (borrowed, copied; may be NULL) names the
 * schema in compile errors, e.g. "person/v1".
 * Ownership: *out is owned by the caller (lx_schema_destroy); NULL on
 * error.
 * Errors, with the schema location as a JSON pointer in err->where and
 * a message "schema <name> at <pointer>: <rule>":
 *   LX_ESCHEMA      a keyword of the wrong type or value, an invalid
 *                   regular expression, a $ref that does not resolve inside
 *                   the document, a duplicate $id or $anchor, a $ref cycle;
 *   LX_EUNSUPPORTED a $ref to another document (remote references);
 *   LX_ELIMIT       schema nested deeper than LX_SCHEMA_DEPTH_MAX. */
LX_NODISCARD int lx_schema_compile(const json_t *doc, const char *name,
                                   lx_schema **out, lx_error *err);

/* Free a compiled schema. NULL and *s == NULL are fine; *s becomes NULL.
 * No validation may be running on it. */
void lx_schema_destroy(lx_schema **s);

/* The name given to lx_schema_compile ("" when none); borrowed, lives as
 * long as s. */
const char *lx_schema_name(const lx_schema *s);

/* Validate `instance` (borrowed) and stop at the first failure.
 * Returns 0 when valid; LX_ESCHEMA with err->where = the instance pointer
 * and err->msg = "at <instance>: schema <keyword pointer>: <rule>";
 * LX_ELIMIT when a depth, evaluation or regular expression limit is hit
 * (err->where = the instance pointer). Thread-safe. */
LX_NODISCARD int lx_schema_validate(const lx_schema *s, const json_t *instance,
                                    lx_error *err);

/* Validate `instance` and collect every failure: the first `max` issues
 * go to issues[0..max) (issues may be NULL when max is 0) and *count
 * (count must not be NULL) receives how many were found in total; it may
 * exceed max.
 * Inside anyOf, oneOf, not and if, failing alternatives are not reported
 * one by one: the keyword itself is the issue.
 * Returns 0 (valid, *count = 0), LX_ESCHEMA (err as for
 * lx_schema_validate, describing issue 0) or LX_ELIMIT (the issues found
 * before the limit are kept). err may be NULL. Thread-safe. */
LX_NODISCARD int lx_schema_validate_all(const lx_schema *s,
                                        const json_t *instance,
                                        lx_schema_issue *issues, size_t max,
                                        size_t *count, lx_error *err);

#endif
