/* adapters/edi/x12_int.h: what the X12 files share, not exported. */
#ifndef LX_ADAPTERS_EDI_X12_INT_H
#define LX_ADAPTERS_EDI_X12_INT_H

#include "adapters/edi/edi_grow.h"
#include "adapters/edi/x12.h"

#include <stdint.h>

/* A segment of a transaction body kept compact: its elements are views
 * into the document's own copy of the input (doc->text). The JSON of the
 * body is built from these on the first lx_x12_doc_tree(), so validation
 * (which reads the views) costs no allocation per element. */
typedef struct lx_x12_cseg {
    char id[4];
    uint32_t first; /* index of its first element in doc->els */
    uint32_t count; /* elements */
    long offset;    /* byte offset in the input */
} lx_x12_cseg;

/* Where validation put one body segment; replayed in order to build the
 * JSON exactly as placing JSON segments directly would. */
enum { LX_X12_PUT_SEGMENTS, LX_X12_PUT_SUMMARY, LX_X12_PUT_LOOP,
       LX_X12_PUT_NONE };
typedef struct lx_x12_put {
    uint32_t node; /* 0: the transaction, k: the k-th loop opened */
    uint32_t kind; /* LX_X12_PUT_*: LOOP opens a loop under node, whose
                      first segment this is */
} lx_x12_put;

typedef struct lx_x12_loop_id {
    char id[8];
} lx_x12_loop_id;

/* One transaction set whose body members are not built yet. */
typedef struct lx_x12_lazy {
    json_t *txn; /* borrowed from doc->tree: holds "ST" and "set" */
    json_t *se;  /* owned until built; NULL when cut short */
    lx_x12_delims delims;
    size_t seg_first, seg_count;   /* doc->segs */
    size_t put_first;              /* doc->puts, seg_count of them */
    size_t loop_first, loop_count; /* doc->loops */
} lx_x12_lazy;

/* A transaction or loop while the tree is built, with its member lists
 * once made. */
typedef struct lx_x12_build_node {
    json_t *node;
    json_t *segments, *loops, *summary;
} lx_x12_build_node;

/* Buffers for the compact form of one document at a time, kept by a
 * reader between transaction sets (why: edi_loan.h). */
typedef struct lx_x12_scratch lx_x12_scratch;

/* A scratch with one reference (the caller's). */
lx_x12_scratch *lx_x12_scratch_new(void);
/* Drop a reference; the last one frees it. A document that borrowed the
 * buffers holds a reference until its tree is built or it is destroyed,
 * so the reader may be closed first. Thread-safe. */
void lx_x12_scratch_release(lx_x12_scratch **scratch);

/* lx_x12_parse; scratch (may be NULL): the document borrows its buffers
 * when no other document holds them. */
LX_NODISCARD int lx_x12_parse_in(const char *buf, size_t len,
                                 const lx_x12_defs *defs, int flags,
                                 lx_x12_scratch *scratch, lx_x12_doc **out,
                                 lx_error *err);

struct lx_x12_doc {
    json_t *tree;
    lx_x12_diag *diags; /* owned */
    size_t diag_count;
    size_t diag_cap;
    lx_x12_scratch *scratch; /* whose buffers the ones below are, or NULL */
    /* Until the tree is built: the input copy and the compact bodies. */
    size_t text_cap;
    lx_x12_build_node *nodes;
    size_t node_cap;
    char *text;
    lx_x12_view *els;
    size_t el_count, el_cap;
    lx_x12_cseg *segs;
    size_t seg_count, seg_cap;
    lx_x12_put *puts;
    size_t put_count, put_cap;
    lx_x12_loop_id *loops;
    size_t loop_count, loop_cap;
    lx_x12_lazy *lazies;
    size_t lazy_count, lazy_cap;
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

/* The body of one transaction set between ST and SE (exclusive), compact;
 * positions are index + 2 (ST is 1). */
typedef struct lx_x12_body {
    const lx_x12_cseg *segs;
    size_t count;
    const lx_x12_view *els; /* doc->els */
    lx_x12_delims delims;
} lx_x12_body;

/* Check every segment's elements against the dictionary (codes of the
 * set's definition when it has one) and place each segment: in the loops
 * of the set's definition, else all in "segments". Appends body->count
 * entries to doc->puts and the loops opened to doc->loops, and records
 * their ranges in lz. Findings go to doc. */
void lx_x12_defs_apply(const lx_x12_defs *defs, const lx_x12_body *body,
                       lx_x12_doc *doc, const lx_x12_where *w,
                       lx_x12_lazy *lz);


/* lx_x12_doc_tree with no value shared (every string its own): the
 * reference the tests hold the shared build against. */
json_t *lx_x12_doc_tree_unshared(const lx_x12_doc *doc);

#endif
