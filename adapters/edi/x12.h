/* adapters/edi/x12.h: ASC X12 tokenizer, parser, validator and writer.
 *
 * Three layers, each usable on its own:
 *   - the tokenizer reads delimiters from each ISA and yields segments as
 *     (ptr, len) views into the caller's buffer, never copying;
 *   - the parser builds the interchange -> group -> transaction -> loop ->
 *     segment -> element JSON tree (shape in docs/x12.md), checks the
 *     envelopes (counts and control numbers) and, for transaction sets with
 *     a definition (schemas/x12/005010/), loops, order, repeats, mandatory
 *     segments and elements, data types and lengths;
 *   - the writer turns such a tree back into X12 text with recomputed
 *     counts (SE01, GE01, IEA01) and trailer control numbers.
 * Findings that do not stop parsing are diagnostics with their X12 error
 * code (AK3/IK3, AK4/IK4, AK5/IK5, AK9, TA1) so that 997/999 acknowledgements
 * can be built from them. Messages name positions and rules, never values. */
#ifndef LX_ADAPTERS_EDI_X12_H
#define LX_ADAPTERS_EDI_X12_H

#include "core/buf.h"
#include "core/error.h"

#include <jansson.h>
#include <stddef.h>

/* Ceilings: elements per segment (X12 segments have fewer than 99), and the
 * nesting of loops in a definition. */
#define LX_X12_ELEMENTS_MAX 99
#define LX_X12_LOOP_DEPTH_MAX 8
/* The ISA segment is fixed width: 106 bytes with its terminator. */
#define LX_X12_ISA_LEN 106

/* ---- tokenizer ------------------------------------------------------- */

typedef struct lx_x12_view {
    const char *ptr; /* into the tokenizer's buffer; not NUL-terminated */
    size_t len;
} lx_x12_view;

typedef struct lx_x12_delims {
    char element;    /* ISA byte 4: '*' */
    char repetition; /* ISA11 from 00501 on: '^'; 0 when none (ISA11 'U') */
    char component;  /* ISA16: ':' */
    char segment;    /* the byte after ISA16: '~' */
} lx_x12_delims;

/* The defaults the writer uses: '*', '^', ':', '~'. */
extern const lx_x12_delims lx_x12_delims_default;

typedef struct lx_x12_segment {
    lx_x12_view id;                            /* "INS" */
    lx_x12_view elements[LX_X12_ELEMENTS_MAX]; /* [0] is INS01 */
    size_t element_count;
    size_t offset; /* byte offset of the segment's first byte */
    size_t number; /* 1-based position within its interchange (ISA is 1) */
} lx_x12_segment;

/* Caller-provided state; fields are private to x12_token.c. */
typedef struct lx_x12_tokenizer {
    const char *buf;
    size_t len;
    size_t pos;
    size_t number;
    lx_x12_delims delims;
    int in_interchange;
} lx_x12_tokenizer;

/* Start tokenizing buf[0..len). buf must outlive the tokenizer and every
 * view it yields. Never fails: errors come from _next. */
void lx_x12_tokenizer_init(lx_x12_tokenizer *t, const char *buf, size_t len);

/* Yield the next segment into *seg (views into buf). Returns 1 with a
 * segment, 0 at the end of the input, or LX_ESYNTAX / LX_ELIMIT with the
 * byte offset in err->offset and the segment number and id in the message:
 * a short or garbled ISA, a bad segment id, too many elements.
 * Before each ISA the delimiters are (re)read from that ISA, so several
 * interchanges with different delimiters can follow each other. CR, LF,
 * spaces and tabs after a terminator are skipped, and so are lines that
 * start with "//" there (comments written by some editors). A last
 * segment that ends at the end of the input without a terminator is
 * accepted. */
LX_NODISCARD int lx_x12_tokenizer_next(lx_x12_tokenizer *t,
                                       lx_x12_segment *seg, lx_error *err);

/* The delimiters of the current interchange (valid after an ISA). */
const lx_x12_delims *lx_x12_tokenizer_delims(const lx_x12_tokenizer *t);

/* ---- definitions ----------------------------------------------------- */

/* Transaction set definitions and the segment dictionary, loaded from a
 * folder of JSON files (schemas/x12/005010/) once and compiled into lookup
 * tables. Immutable after load: share it between threads freely. */
typedef struct lx_x12_defs lx_x12_defs;

/* Load every *.json in dir (format in docs/x12.md).
 * Errors: LX_EIO, LX_ESYNTAX (JSON), LX_ECONFIG (a definition that is not
 * well formed, located by file and JSON pointer). *out is NULL on error. */
LX_NODISCARD int lx_x12_defs_load(const char *dir, lx_x12_defs **out,
                                  lx_error *err);
void lx_x12_defs_destroy(lx_x12_defs **defs);

/* Whether a definition for transaction set `id` ("834") is loaded. */
int lx_x12_defs_has_set(const lx_x12_defs *defs, const char *id);

/* ---- parser ---------------------------------------------------------- */

/* Where a diagnostic applies, the X12 acknowledgement level it feeds. */
typedef enum lx_x12_level {
    LX_X12_LEVEL_INTERCHANGE, /* TA1 note codes: "001", "021" */
    LX_X12_LEVEL_GROUP,       /* AK9 codes */
    LX_X12_LEVEL_TRANSACTION, /* AK5/IK5 codes */
    LX_X12_LEVEL_SEGMENT,     /* AK3/IK3 codes */
    LX_X12_LEVEL_ELEMENT      /* AK4/IK4 codes */
} lx_x12_level;

typedef struct lx_x12_diag {
    lx_x12_level level;
    char x12_code[4];   /* the acknowledgement code: "8" (invalid date) */
    char isa13[10];     /* interchange control number, "" when none */
    char gs06[10];      /* group control number */
    char st02[10];      /* transaction set control number */
    char set[4];        /* transaction set id: "834" */
    char segment_id[4]; /* "DTP" */
    char loop_id[8];    /* the loop the segment was in: "2000", "" */
    size_t segment_pos; /* within the transaction, ST = 1 (as SE counts) */
    size_t element_pos; /* 1-based, 0 when the finding is about a segment */
    size_t component_pos; /* 1-based, 0 when not a component */
    long offset;          /* byte offset of the segment in the input */
    /* "ISA 000000001 GS 1 ST 0001: segment 14 (DTP) element 3: invalid
     * date" */
    char msg[256];
} lx_x12_diag;

typedef struct lx_x12_doc lx_x12_doc;

enum {
    /* Return the tree even when there are validation diagnostics (the
     * default fails with LX_ESCHEMA and the first one in err). */
    LX_X12_PARSE_LENIENT = 1
};

/* Parse every interchange in buf[0..len) into a tree (docs/x12.md) and
 * validate envelopes and, with defs (may be NULL: no transaction set is
 * then validated beyond its envelope), the defined transaction sets.
 * Ownership: *out is the caller's (lx_x12_doc_destroy); the tree holds
 * copies, buf may be freed after the call.
 * Errors: LX_EINVAL (empty input), LX_ESYNTAX (tokenizer, or envelope
 * structure: GS outside an interchange, missing SE/GE/IEA, ...) located by
 * offset, segment number and id; LX_ELIMIT; LX_ESCHEMA when a diagnostic
 * was found and LX_X12_PARSE_LENIENT is not set. *out is NULL on error. */
LX_NODISCARD int lx_x12_parse(const char *buf, size_t len,
                              const lx_x12_defs *defs, int flags,
                              lx_x12_doc **out, lx_error *err);
void lx_x12_doc_destroy(lx_x12_doc **doc);

/* The tree (borrowed; lives as long as doc). Transaction bodies are
 * validated during the parse but their JSON is built on the first call
 * (diagnostics never need it), so a doc is used by one thread at a time.
 * Equal short values of transaction bodies may be one shared JSON string
 * (building is allocation-bound): edit the tree by setting members and
 * array items, never with json_string_set. */
json_t *lx_x12_doc_tree(const lx_x12_doc *doc);
/* The diagnostics (borrowed), in input order. */
size_t lx_x12_doc_diag_count(const lx_x12_doc *doc);
const lx_x12_diag *lx_x12_doc_diag(const lx_x12_doc *doc, size_t i);

/* ---- writer ---------------------------------------------------------- */

enum {
    LX_X12_WRITE_NEWLINE = 1 /* a '\n' after each segment terminator */
};

/* Append the X12 text of `tree` (the parser's shape: {"interchanges":
 * [...]}, borrowed) to out. delims NULL: each interchange's recorded
 * "delimiters" member, else lx_x12_delims_default. SE01, GE01 and IEA01
 * are recomputed and SE02, GE02, IEA02 copied from ST02, GS06, ISA13; ISA
 * elements are padded to their fixed widths (ISA13 with zeros).
 * Errors: LX_EINVAL (a tree not of that shape, located by JSON pointer in
 * err->where; a value that contains a delimiter), LX_ELIMIT (out's
 * ceiling). out may hold partial output on error. */
LX_NODISCARD int lx_x12_write(const json_t *tree, const lx_x12_delims *delims,
                              int flags, lx_buf *out, lx_error *err);

#endif
