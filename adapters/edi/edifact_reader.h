/* adapters/edi/edifact_reader.h: bounded-memory streaming of EDIFACT
 * interchanges, one message (UNH..UNT) at a time.
 *
 * lx_edifact_parse builds the tree of a whole interchange (16 MiB by
 * default); this reader reads a file (or a buffer) in chunks and hands out
 * one message at a time with its interchange (UNA, UNB) and group (UNG)
 * context. Memory is bounded by the chunk length, the longest segment and
 * the largest message, whatever the size of the input.
 *
 * How (docs/edifact.md, "Large interchanges"): one lx_edifact_lexer runs
 * over a sliding window of the input (chunk_len + max_segment_len bytes);
 * a segment cut at the end of the window is read again after a refill,
 * and one that does not fit a full window is LX_ELIMIT. The reader keeps
 * the raw bytes of the last UNA, the UNB, the UNG and the message; at UNT
 * it parses exactly those bytes with lx_edifact_parse, so the message
 * tree and its findings (UNT rules, definition checks) are those of the
 * whole-input parse, with offsets and lines mapped back to the input. The
 * interchange and group rules (UNB/UNG references, UNE and UNZ counts and
 * references, missing or stray trailers) are checked by the reader itself
 * as the segments arrive, with the parser's codes and messages.
 *
 * Threads: a reader is used by one thread at a time; defs may be shared. */
#ifndef LX_ADAPTERS_EDI_EDIFACT_READER_H
#define LX_ADAPTERS_EDI_EDIFACT_READER_H

#include "adapters/edi/edifact.h"

#include <stddef.h>

#define LX_EDIFACT_READER_CHUNK_DEFAULT ((size_t)1 << 20)
#define LX_EDIFACT_READER_SEGMENT_MAX_DEFAULT ((size_t)64 << 10)
#define LX_EDIFACT_READER_MESSAGE_MAX_DEFAULT ((size_t)16 << 20)

typedef struct lx_edifact_reader_options {
    /* flags (LX_EDIFACT_LENIENT) and defs (borrowed, may be NULL) as for
     * lx_edifact_parse; max_len is ignored, max_segments applies to each
     * message. */
    lx_edifact_options parse;
    size_t chunk_len;       /* bytes per read; 0: default */
    size_t max_segment_len; /* a segment with the line ends before it;
                               0: default; at least 16 is used */
    size_t max_message_len; /* UNH..UNT bytes; 0: default */
} lx_edifact_reader_options;

typedef struct lx_edifact_reader lx_edifact_reader;

/* Open a reader on the file at path / on buf[0..len) (borrowed, must
 * outlive the reader). opts may be NULL (strict, no definitions).
 * Ownership: *out is the caller's (lx_edifact_reader_close); NULL on
 * error. Errors: LX_EIO (cannot open), LX_EINVAL. */
LX_NODISCARD int lx_edifact_reader_open_file(
    const char *path, const lx_edifact_reader_options *opts,
    lx_edifact_reader **out, lx_error *err);
LX_NODISCARD int lx_edifact_reader_open_mem(
    const char *buf, size_t len, const lx_edifact_reader_options *opts,
    lx_edifact_reader **out, lx_error *err);

/* Read on to the end of the next message and return it in *msg, in the
 * tree shape of lx_edifact_parse with one interchange holding only this
 * message and no trailers read yet: {"interchanges": [{["UNA"], "UNB",
 * "messages": [msg]}]}, or with UNG {"interchanges": [{..., "groups":
 * [{"UNG", "messages": [msg]}]}]}. A message cut by another envelope
 * segment or by the end of the input is returned as lx_edifact_parse
 * keeps it (finding "UNT missing ...").
 * diags (may be NULL) receives, appended, the findings met during this
 * call: envelope findings of the segments read (UNE, UNZ, UNB, ...) and
 * the message's own; offsets and lines are positions in the input.
 * Ownership: *msg is a new reference (json_decref); NULL unless 0.
 * Returns 0 with *msg; LX_ENOTFOUND after the last message (the call may
 * still append findings about the last trailers); or an error, after which
 * every call fails again: LX_ESYNTAX (lexer; no segments at all), LX_ELIMIT
 * (segment or message over its ceiling), LX_EIO, and without
 * LX_EDIFACT_LENIENT, LX_ESCHEMA at the first envelope finding. */
LX_NODISCARD int lx_edifact_reader_next(lx_edifact_reader *r, json_t **msg,
                                        lx_edifact_diags *diags,
                                        lx_error *err);

/* The same, without building the message body's JSON until asked: the
 * message is tokenized and validated (findings in diags as above), and
 * its segments kept in a compact form; lx_edifact_msg_tree builds the
 * tree lx_edifact_reader_next returns. Use it when not every message's
 * tree is needed, or to keep validation cheap.
 * Ownership: *msg is the caller's (lx_edifact_msg_destroy); NULL unless
 * 0. Returns and errors as lx_edifact_reader_next. */
typedef struct lx_edifact_msg lx_edifact_msg;
LX_NODISCARD int lx_edifact_reader_next_msg(lx_edifact_reader *r,
                                            lx_edifact_msg **msg,
                                            lx_edifact_diags *diags,
                                            lx_error *err);

/* The message's tree, built on the first call (borrowed: lives as long as
 * msg; json_incref to keep it). A msg is used by one thread at a time.
 * Strings and positions may be shared, as lx_edifact_parse says. */
json_t *lx_edifact_msg_tree(lx_edifact_msg *msg);

/* Free msg. Accepts NULL; nulls *msg. */
void lx_edifact_msg_destroy(lx_edifact_msg **msg);

/* Bytes of input consumed so far. */
size_t lx_edifact_reader_offset(const lx_edifact_reader *r);

/* Close the file and free the reader. Accepts NULL; nulls *r. */
void lx_edifact_reader_close(lx_edifact_reader **r);

#endif
