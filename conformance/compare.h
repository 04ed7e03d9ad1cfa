/* conformance/compare.h: semantic comparison with precise diffs.
 *
 * Two documents are equal when they mean the same thing to the standard:
 *   JSON  object member order and number forms (1, 1.0, 1e0) do not count;
 *         arrays keep their order. In the EXPECTED document the string
 *         "{{any}}" matches any value that is present.
 *   XML   compared as a tree: whitespace-only text between elements,
 *         the order of differently named siblings,
 *         comments, processing instructions and the XML declaration are
 *         dropped, names are {namespace-uri}local (prefixes do not count),
 *         attributes are unordered, namespace declarations are not
 *         attributes. Entity references other than the five predefined and
 *         numeric ones are refused (no DTD is ever read).
 *   EDI   X12 and EDIFACT are compared segment by segment and element by
 *         element, whatever the delimiters, the line endings between
 *         segments and the control numbers (ISA13, GS06, ST02, SE02, GE02,
 *         IEA02; UNB5, UNG5, UNH1, UNT2, UNE2, UNZ2) and the interchange
 *         date and time (ISA09/10, GS04/05, UNB4).
 *   text  line endings (CRLF, CR) and trailing whitespace do not count.
 * Every difference is one line naming the path and both values:
 *   /name/given/1: expected "James", got "Jim"
 *   /address/0/city: missing (expected "PleasantVille")
 *   /active: unexpected member (got true)
 *   segment 4 (INS) element 3: expected "021", got "001"
 * Values are shown (they are test vectors, not production data), cut at
 * LX_CONFORM_VALUE_MAX characters. */
#ifndef LX_CONFORMANCE_COMPARE_H
#define LX_CONFORMANCE_COMPARE_H

#include "core/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define LX_CONFORM_DIFFS_MAX 32   /* lines kept per comparison */
#define LX_CONFORM_VALUE_MAX 120  /* characters of a value in a line */
#define LX_CONFORM_ANY "{{any}}"

/* The differences found by one or more comparisons. */
typedef struct lx_conform_diffs {
    char *lines[LX_CONFORM_DIFFS_MAX]; /* malloc'd, owned */
    size_t count;                      /* lines kept */
    size_t total;                      /* differences found (>= count) */
} lx_conform_diffs;

void lx_conform_diffs_init(lx_conform_diffs *d);
void lx_conform_diffs_fini(lx_conform_diffs *d);
/* Add one line (printf style); past LX_CONFORM_DIFFS_MAX only counted. */
void lx_conform_diffs_add(lx_conform_diffs *d, const char *fmt, ...)
    LX_PRINTF(2, 3);

/* Compare two JSON values; differences go to d, each path prefixed with
 * `base` (may be ""). Returns true when equal. */
bool lx_conform_json_equal(const json_t *expected, const json_t *actual,
                           const char *base, lx_conform_diffs *d);

/* The kinds of documents compare_text knows. */
typedef enum lx_conform_doc {
    LX_CONFORM_DOC_TEXT = 0,
    LX_CONFORM_DOC_JSON,
    LX_CONFORM_DOC_XML,
    LX_CONFORM_DOC_EDI
} lx_conform_doc;

/* The kind of a document by its file name (.json, .xml, .x12 .edi .edifact
 * .834 .850 .810, else text). */
lx_conform_doc lx_conform_doc_of(const char *file_name);

/* Compare two documents of one kind. A document that cannot be read as its
 * kind is a difference ("actual: not JSON: line 1 column 2: ..."), not an
 * error. Returns true when equal. */
bool lx_conform_doc_equal(lx_conform_doc kind, const char *expected,
                          size_t expected_len, const char *actual,
                          size_t actual_len, const char *base,
                          lx_conform_diffs *d);

/* XML text -> a JSON tree of the normal form above: an element is
 * {"name": "{uri}local", "attributes": {...}, "children": [...]}, text is
 * a JSON string (trimmed when the element also has child elements).
 * Errors: LX_ESYNTAX (line and column), LX_ELIMIT (depth over 256 or
 * more than 1000000 nodes), LX_EUNSUPPORTED (DOCTYPE, unknown entity).
 * *out is a new reference, NULL on error. */
LX_NODISCARD int lx_conform_xml_normalize(const char *xml, size_t len,
                                          json_t **out, lx_error *err);

/* Compare two XML normal forms. Child elements are matched by name and
 * rank among their namesakes (the 2nd <given> with the 2nd <given>), so
 * the order of differently named siblings does not count and a missing
 * element is one difference: "/Patient/birthDate[1]: missing element",
 * "/Patient/gender[1]/@value: expected \"male\", got \"female\"",
 * "/Patient/name[1]/text(): ...". */
bool lx_conform_xml_equal(const json_t *expected, const json_t *actual,
                          const char *base, lx_conform_diffs *d);

/* X12 or EDIFACT text -> [["ISA", "00", ...], ["GS", ...], ...]: one array
 * per segment, its tag then its elements (composites as arrays of
 * components), control numbers and interchange dates replaced by "#".
 * Errors: LX_ESYNTAX (neither ISA, UNA nor UNB first, or a tokenizer
 * error with its segment). */
LX_NODISCARD int lx_conform_edi_normalize(const char *edi, size_t len,
                                          json_t **out, lx_error *err);

/* Compare two EDI normal forms segment by segment; a difference reads
 * "segment 4 (INS)/3: expected ..." (element numbers as in the standard).
 * A missing or extra segment is one line; the rest still compares. */
bool lx_conform_edi_equal(const json_t *expected, const json_t *actual,
                          const char *base, lx_conform_diffs *d);

#endif
