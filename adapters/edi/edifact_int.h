/* adapters/edi/edifact_int.h: what the EDIFACT files share, not exported.
 *
 * Segments are tokenized into a compact store (unescaped text in one
 * buffer, components, repetitions and elements as index ranges) instead of
 * JSON: validation reads the store, and the JSON of a message body is
 * built from it only when the tree is asked for. */
#ifndef LX_ADAPTERS_EDI_EDIFACT_INT_H
#define LX_ADAPTERS_EDI_EDIFACT_INT_H

#include "adapters/edi/edi_grow.h"
#include "adapters/edi/edi_intern.h"
#include "adapters/edi/edifact.h"

#include <stdint.h>

typedef struct lx_edifact_range {
    uint32_t first; /* index of the first item */
    uint32_t count;
} lx_edifact_range;

typedef struct lx_edifact_cseg {
    char tag[LX_EDIFACT_TAG_MAX + 1];
    uint64_t key;           /* tag packed (lx_edifact_tag_key) */
    lx_edifact_range elems; /* store->elems */
    long pos;               /* in its message, UNH = 1 */
    size_t offset;          /* of the tag in the lexer's buffer */
    long line;
} lx_edifact_cseg;

/* Owned arrays, grown by doubling; indexes stay valid as they grow. An
 * element is a range of repetitions ("parts"), a part a range of
 * components, a component a range of text (unescaped). An element is
 * repeated (JSON {"repeats": ...}) when it has more than one part. */
typedef struct lx_edifact_store {
    /* Component text: a range of `base` (the lexer's buffer, which must
     * outlive the store) or, for values that held a release character,
     * of `text` (unescaped), marked LX_EDIFACT_IN_TEXT in first. */
    const char *base;
    char *text;
    size_t text_len, text_cap;
    lx_edifact_range *comps; /* ranges of base or text */
    size_t comp_count, comp_cap;
    lx_edifact_range *parts; /* ranges of comps */
    size_t part_count, part_cap;
    lx_edifact_range *elems; /* ranges of parts */
    size_t elem_count, elem_cap;
    lx_edifact_cseg *segs;
    size_t seg_count, seg_cap;
    /* The lexer's stop bytes for the delimiters in special_for. */
    uint64_t special[4];
    lx_edifact_delims special_for;
    int special_ok;
} lx_edifact_store;

#define LX_EDIFACT_IN_TEXT 0x80000000u

/* The first byte of component c. */
static inline const char *lx_edifact_comp_text(const lx_edifact_store *s,
                                               const lx_edifact_range *c)
{
    return c->first & LX_EDIFACT_IN_TEXT
               ? s->text + (c->first & ~LX_EDIFACT_IN_TEXT)
               : s->base + c->first;
}

/* A tag (up to LX_EDIFACT_TAG_MAX characters) as one integer, so that
 * definition lookups compare once instead of strcmp. */
static inline uint64_t lx_edifact_tag_key(const char *tag)
{
    uint64_t k = 0;
    for (size_t i = 0; i < LX_EDIFACT_TAG_MAX && tag[i]; i++)
        k |= (uint64_t)(unsigned char)tag[i] << (8 * i);
    return k;
}

void lx_edifact_store_init(lx_edifact_store *s);
/* Init with room for the segments of about `len` bytes of input (up to a
 * ceiling; the arrays grow past it), so a message costs a few
 * allocations, not one per growth step. */
void lx_edifact_store_reserve(lx_edifact_store *s, size_t len);
void lx_edifact_store_fini(lx_edifact_store *s);

/* Read the next segment into store->segs[store->seg_count - 1]: 1, 0 at
 * the end of input, or an error, as lx_edifact_lexer_next (which is this
 * plus lx_edifact_cseg_elements). pos is left 0. */
LX_NODISCARD int lx_edifact_lex(lx_edifact_lexer *lx, lx_edifact_store *s,
                                lx_error *err);

/* lx_edifact_lexer_next with the caller's store, emptied first and kept
 * (with its capacity) for the next token: a reader's per-token store. */
LX_NODISCARD int lx_edifact_lex_token(lx_edifact_lexer *lx,
                                      lx_edifact_store *s,
                                      lx_edifact_token *tok, lx_error *err);

/* The JSON elements array of a segment (a new reference). With t (may be
 * NULL) its component strings are shared through it (edi_intern.h). */
json_t *lx_edifact_cseg_elements(const lx_edifact_store *s,
                                 const lx_edifact_cseg *seg, lx_edi_intern *t);

/* Component c of part 0 of element e of seg as (ptr, len); "" when
 * absent or when the element is repeated. */
const char *lx_edifact_cseg_comp(const lx_edifact_store *s,
                                 const lx_edifact_cseg *seg, size_t e,
                                 size_t c, size_t *len);

/* Where validation put one segment of a message body, replayed in order
 * to build the JSON as placing JSON segments would. */
enum { LX_EDIFACT_PUT_SEGMENTS, LX_EDIFACT_PUT_GROUP };
typedef struct lx_edifact_put {
    uint32_t node; /* 0: the message, k: the k-th group opened */
    uint32_t kind; /* GROUP: opens a group under node starting with it */
    const char *group_id; /* borrowed from the definitions */
} lx_edifact_put;

typedef struct lx_edifact_puts {
    lx_edifact_put *items;
    size_t count, cap;
} lx_edifact_puts;

/* Append a segment given as JSON (the tree's "elements" form) to s; its
 * text is copied. */
void lx_edifact_store_add_json(lx_edifact_store *s, const char *tag, long pos,
                               const json_t *elements);

/* Arrange segs[0..n) of one message (type, version and release from its
 * UNH) into the groups of its definition and validate them, as
 * lx_edifact_message_apply. Appends n entries to puts when a definition
 * applied (returns 1), none else (returns 0). */
int lx_edifact_apply_compact(const lx_edifact_defs *defs,
                             const lx_edifact_store *s,
                             const lx_edifact_cseg *unh,
                             const lx_edifact_cseg *segs, size_t n,
                             char decimal, const char *interchange_ref,
                             const char *group_ref,
                             lx_edifact_diags *diags, lx_edifact_puts *puts);

/* Put the n segments of a message into msg's "segments" and its groups as
 * puts[0..n) say; seg(ctx, i) gives segment i (a new reference). Group ids
 * are shared through t when it is not NULL. */
typedef json_t *(*lx_edifact_seg_fn)(void *ctx, size_t i);
void lx_edifact_place_json(json_t *msg, const lx_edifact_put *puts, size_t n,
                           lx_edifact_seg_fn seg, void *ctx,
                           lx_edi_intern *t);

/* A parse whose message bodies are kept in the store and built into the
 * tree on the first lx_edifact_msg_tree (also declared, public, in
 * edifact_reader.h). */
typedef struct lx_edifact_msg lx_edifact_msg;

/* Buffers for the compact form of one message at a time, kept by a
 * reader between messages (why: edi_loan.h). */
typedef struct lx_edifact_scratch lx_edifact_scratch;

/* A scratch with one reference (the caller's). */
lx_edifact_scratch *lx_edifact_scratch_new(void);
/* Drop a reference; the last one frees it. A message that borrowed the
 * buffers holds a reference until its tree is built or it is destroyed,
 * so the reader may be closed first. Thread-safe. */
void lx_edifact_scratch_release(lx_edifact_scratch **scratch);

/* lx_edifact_parse, the bodies deferred. scratch (may be NULL): the
 * message borrows its buffers when no other message holds them. *out
 * NULL on error. */
LX_NODISCARD int lx_edifact_parse_msg(const char *buf, size_t len,
                                      const lx_edifact_options *opts,
                                      lx_edifact_scratch *scratch,
                                      lx_edifact_msg **out,
                                      lx_edifact_diags *diags, lx_error *err);
json_t *lx_edifact_msg_tree(lx_edifact_msg *msg);
/* The same tree with no value shared (every string, position and list its
 * own): the reference the tests hold the shared build against. */
json_t *lx_edifact_msg_tree_unshared(lx_edifact_msg *msg);
/* The tree with message bodies not built yet (envelope edits only). */
json_t *lx_edifact_msg_root(lx_edifact_msg *msg);
void lx_edifact_msg_destroy(lx_edifact_msg **msg);


#endif
