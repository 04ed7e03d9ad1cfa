/* adapters/edi/x12_int.h: what the X12 files share, not exported. */
#ifndef LX_ADAPTERS_EDI_X12_INT_H
#define LX_ADAPTERS_EDI_X12_INT_H

#include "adapters/edi/x12.h"

struct lx_x12_doc {
    json_t *tree;
    lx_x12_diag *diags; /* owned */
    size_t diag_count;
    size_t diag_cap;
};

/* Where the parser is, for the location of a diagnostic. */
typedef struct lx_x12_where {
    char isa13[10];
    char gs06[10];
    char st02[10];
    char set[4];
} lx_x12_where;

/* At most this many diagnostics are kept per document; the last one says
 * that more were dropped. */
#define LX_X12_DIAGS_MAX 1000

/* Add a diagnostic. seg_id and loop_id may be NULL. */
void lx_x12_diag_add(lx_x12_doc *doc, const lx_x12_where *w,
                     lx_x12_level level, const char *x12_code,
                     const char *seg_id, const char *loop_id,
                     size_t segment_pos, size_t element_pos,
                     size_t component_pos, long offset, const char *fmt, ...)
    LX_PRINTF(11, 12);

/* Copy v (at most cap - 1 bytes) into a NUL-terminated dst. */
void lx_x12_copy(char *dst, size_t cap, const char *v, size_t len);

/* The flat segments of one transaction set between ST and SE (exclusive),
 * with their input offsets; positions are index + 2 (ST is 1). */
typedef struct lx_x12_body {
    json_t *segments; /* array of segment objects, borrowed */
    const long *offsets;
} lx_x12_body;

/* Check every segment's elements against the dictionary (codes of the
 * set's definition when it has one) and, when the set is defined, build
 * its "segments", "loops" and "summary" into txn; else put the flat list
 * in txn "segments". Findings go to doc. */
void lx_x12_defs_apply(const lx_x12_defs *defs, const lx_x12_body *body,
                       json_t *txn, lx_x12_doc *doc, const lx_x12_where *w);

#endif
