/* adapters/edi/x12_reader.h: bounded-memory streaming of X12 interchanges,
 * one transaction set at a time.
 *
 * lx_x12_parse builds the tree of a whole file; this reader reads a file
 * (or a memory buffer) in chunks and hands out one transaction set (ST..SE)
 * at a time, wrapped in its envelope context. Memory is bounded by the
 * chunk length, the longest segment and the largest transaction set,
 * whatever the size of the file.
 *
 * How (docs/x12.md, "Streaming"): one lx_x12_tokenizer runs over a sliding
 * window of the input (chunk_len + max_segment_len bytes); a segment cut
 * at the end of the window is re-read after the window is refilled, and a
 * segment that does not fit a full window is LX_ELIMIT. The reader keeps
 * the raw bytes of the current ISA (and TA1s), GS and ST..SE; at SE it
 * parses exactly those bytes, closed with a synthetic GE*1 and IEA*1, with
 * lx_x12_parse, so each transaction's tree and diagnostics are the ones
 * the whole-file parse gives (offsets are mapped back to the file). The
 * envelope rules of GE and IEA (counts, control numbers) and truncation
 * are checked by the reader itself as the trailers arrive.
 *
 * Threads: a reader is used by one thread at a time; defs may be shared. */
#ifndef LX_ADAPTERS_EDI_X12_READER_H
#define LX_ADAPTERS_EDI_X12_READER_H

#include "adapters/edi/x12.h"

#include <stddef.h>

/* Defaults of lx_x12_reader_options (fields left 0). */
#define LX_X12_READER_CHUNK_DEFAULT ((size_t)1 << 20)
#define LX_X12_READER_SEGMENT_MAX_DEFAULT ((size_t)64 << 10)
#define LX_X12_READER_TRANSACTION_MAX_DEFAULT ((size_t)64 << 20)

typedef struct lx_x12_reader_options {
    size_t chunk_len;           /* bytes per read; >= 1 */
    size_t max_segment_len;     /* a segment and the layout before it;
                                   at least LX_X12_ISA_LEN + 2 is used */
    size_t max_transaction_len; /* ST..SE bytes of one transaction set */
} lx_x12_reader_options;

typedef struct lx_x12_reader lx_x12_reader;

/* Open a reader on the file at path / on buf[0..len) (buf is borrowed and
 * must outlive the reader; it is read chunk by chunk like a file).
 * flags: LX_X12_PARSE_LENIENT as for lx_x12_parse. defs (may be NULL) is
 * borrowed and must outlive the reader. opts may be NULL (defaults).
 * Ownership: *out is the caller's (lx_x12_reader_close); NULL on error.
 * Errors: LX_EIO (cannot open), LX_EINVAL. */
LX_NODISCARD int lx_x12_reader_open_file(const char *path,
                                         const lx_x12_defs *defs, int flags,
                                         const lx_x12_reader_options *opts,
                                         lx_x12_reader **out, lx_error *err);
LX_NODISCARD int lx_x12_reader_open_mem(const char *buf, size_t len,
                                        const lx_x12_defs *defs, int flags,
                                        const lx_x12_reader_options *opts,
                                        lx_x12_reader **out, lx_error *err);

/* Read up to the next SE and return that transaction set as a document of
 * its own: its tree has the shape of lx_x12_parse's with exactly one
 * interchange, one group and one transaction, and no GE/IEA (not read
 * yet): {"interchanges": [{"delimiters", "ISA", ["TA1"], "groups":
 * [{"GS", "transactions": [txn]}]}]}. Its diagnostics are those of the
 * transaction set (levels TRANSACTION, SEGMENT, ELEMENT), offsets in the
 * file. A transaction set cut by the end of the input is returned too,
 * with the interchange diagnostic 023 (as lx_x12_parse does).
 * Interchanges without transaction sets (TA1 alone) yield nothing.
 * Ownership: *txn is the caller's (lx_x12_doc_destroy); NULL unless 0.
 * Returns 0 with *txn; LX_ENOTFOUND after the last one; or an error, after
 * which every call returns that error again: LX_EINVAL (empty input),
 * LX_ESYNTAX (tokenizer or envelope structure, offset in the file),
 * LX_ELIMIT (a segment or transaction set over its ceiling), LX_EIO, and,
 * without LX_X12_PARSE_LENIENT, LX_ESCHEMA at the first diagnostic. */
LX_NODISCARD int lx_x12_reader_next(lx_x12_reader *r, lx_x12_doc **txn,
                                    lx_error *err);

/* Diagnostics of the envelopes found so far (levels INTERCHANGE and
 * GROUP: GE01/GE02, IEA01/IEA02, truncation), in input order; they grow
 * as GE and IEA are read, so check them after each _next (a 997/999 for a
 * group is complete once its GE has been read). Borrowed; valid until the
 * reader is closed. At most LX_X12_DIAGS_MAX are kept. */
size_t lx_x12_reader_envelope_diag_count(const lx_x12_reader *r);
const lx_x12_diag *lx_x12_reader_envelope_diag(const lx_x12_reader *r,
                                               size_t i);

/* Bytes of input consumed so far. */
size_t lx_x12_reader_offset(const lx_x12_reader *r);

/* Close the file and free the reader. Accepts NULL; nulls *r. */
void lx_x12_reader_close(lx_x12_reader **r);

#endif
