/* adapters/edi/edifact.h: UN/EDIFACT tokenizer, parser, validator and
 * generator (ISO 9735 syntax versions 3 and 4).
 *
 * The native tree is JSON (jansson); docs/edifact.md gives its exact shape:
 *
 *   {"interchanges": [{"UNA": ":+.? '", "UNB": [["UNOC","3"], ...],
 *     "messages": [{"UNH": [["1"],["ORDERS","D","96A","UN"]],
 *                   "type": "ORDERS", "version": "D", "release": "96A",
 *                   "segments": [{"id": "BGM", "pos": 2,
 *                                 "elements": [["220"],["PO1"],["9"]]}],
 *                   "groups": [{"id": "SG2", "segments": [...],
 *                               "groups": [...]}],
 *                   "UNT": [["5"],["1"]]}],
 *     "UNZ": [["1"],["REF"]]}]}
 *
 * An element is an array of its components (unescaped strings, empty
 * components kept); an element whose repetition separator occurs (syntax
 * 4) is {"repeats": [[components], ...]}. With UNG the interchange holds
 * "groups": [{"UNG": [...], "messages": [...], "UNE": [...]}] instead of
 * "messages".
 *
 * Errors and diagnostics name positions (interchange, group and message
 * control references, segment position and tag, element and component
 * numbers), never element values: values are personal data.
 *
 * Threads: no global state. A definition set (lx_edifact_defs) is read-only
 * after loading and may be shared by any number of threads. */
#ifndef LX_ADAPTERS_EDI_EDIFACT_H
#define LX_ADAPTERS_EDI_EDIFACT_H

#include "core/buf.h"
#include "core/error.h"

#include <jansson.h>
#include <stddef.h>

/* Default ceiling of one interchange file (max_len 0), and of the number
 * of segments in it (max_segments 0). */
#define LX_EDIFACT_MAX_DEFAULT ((size_t)16 << 20)
#define LX_EDIFACT_MAX_SEGMENTS_DEFAULT ((size_t)1000000)
/* Ceilings of one segment: data elements, components, repetitions. */
#define LX_EDIFACT_MAX_ELEMENTS 99
#define LX_EDIFACT_MAX_COMPONENTS 99
#define LX_EDIFACT_MAX_REPEATS 9999
/* Diagnostics kept per parse; more are counted in `dropped`. */
#define LX_EDIFACT_MAX_DIAGS 1000

/* ---------------------------------------------------------------- delimiters
 * The service characters of ISO 9735 (UNA, in its order). repetition is
 * '\0' when there is none (syntax 3, or a space in UNA). */
typedef struct lx_edifact_delims {
    char component; /* ':' */
    char element;   /* '+' */
    char decimal;   /* '.' */
    char release;   /* '?' ('\0': no release character) */
    char repetition; /* '*' in syntax 4 */
    char segment;   /* '\'' */
} lx_edifact_delims;

/* The defaults of syntax level A/B when UNA is absent: `:+.? '` and, for
 * syntax version 4 and later, '*' as repetition separator. */
void lx_edifact_delims_default(lx_edifact_delims *d, int syntax_version);

/* Read the six characters after "UNA" (una[0..6)). repetition: see above;
 * the syntax version decides later whether it is active.
 * Errors: LX_ESYNTAX when two service characters are equal or one is a
 * letter, digit or CR/LF. */
LX_NODISCARD int lx_edifact_delims_from_una(const char una[6],
                                            lx_edifact_delims *d,
                                            lx_error *err);

/* ----------------------------------------------------------------- tokenizer
 * A pull tokenizer over buf[0..len): one segment at a time, values
 * unescaped. Bounded memory: it keeps the current segment only. A UNA at
 * the start of a segment (re)sets the delimiters; "UNB" S001 sets the
 * syntax version, which switches the repetition separator on (4) or off
 * (3 and lower). A UTF-8 byte order mark at the start, and CR/LF and
 * blank lines between segments, are skipped. */
typedef struct lx_edifact_lexer {
    const char *buf;
    size_t len;
    size_t pos;          /* next byte to read */
    long line;           /* 1-based line of `pos` */
    lx_edifact_delims delims;
    char una[7];         /* the last UNA read ("" before any), NUL-ended */
    int una_pending;     /* a UNA was read and not yet taken by the parser */
    int syntax_version;  /* from UNB S001, 0 before */
    size_t segment_count; /* segments returned so far */
    size_t max_segments;
} lx_edifact_lexer;

/* One tokenized segment. `elements` is a new JSON array in the tree form
 * above (the caller owns it); tag is NUL-terminated. */
/* Tags are 3 letters or digits (ISO 9735); up to LX_EDIFACT_TAG_MAX are
 * read so that test data with longer tags still parses (validation flags
 * them as unknown segments). */
#define LX_EDIFACT_TAG_MAX 7

typedef struct lx_edifact_token {
    char tag[LX_EDIFACT_TAG_MAX + 1];
    json_t *elements;
    size_t offset; /* byte offset of the tag */
    long line;     /* 1-based line of the tag */
} lx_edifact_token;

/* Storage by the caller; buf must outlive the lexer. max_segments 0 means
 * LX_EDIFACT_MAX_SEGMENTS_DEFAULT. */
void lx_edifact_lexer_init(lx_edifact_lexer *lx, const char *buf, size_t len,
                           size_t max_segments);

/* Next segment: 1 and *tok filled (tok->elements owned by the caller), 0 at
 * the end of input, or a negative code: LX_ESYNTAX (bad UNA, bad tag,
 * unterminated segment, release character at the end), LX_ELIMIT (too
 * many segments, elements, components or repetitions), each located at
 * offset and line. */
LX_NODISCARD int lx_edifact_lexer_next(lx_edifact_lexer *lx,
                                       lx_edifact_token *tok, lx_error *err);

/* --------------------------------------------------------------- diagnostics
 * A finding about one message or envelope, with the UN/EDIFACT syntax
 * error code (data element 0085) a CONTRL report carries for it:
 *   2 syntax version or level not supported, 12 invalid value, 13 missing,
 *   15 not supported in this position, 16 too many constituents,
 *   28 references do not match, 29 control count does not match,
 *   35 too many repetitions, 36 too many segment group repetitions,
 *   37 invalid type of characters, 39 data element too long,
 *   40 data element too short. */
enum {
    LX_EDIFACT_UC_SYNTAX_VERSION = 2,
    LX_EDIFACT_UC_INVALID_VALUE = 12,
    LX_EDIFACT_UC_MISSING = 13,
    LX_EDIFACT_UC_NOT_SUPPORTED_HERE = 15,
    LX_EDIFACT_UC_TOO_MANY_CONSTITUENTS = 16,
    LX_EDIFACT_UC_REFS_DO_NOT_MATCH = 28,
    LX_EDIFACT_UC_COUNT_MISMATCH = 29,
    LX_EDIFACT_UC_TOO_MANY_REPEATS = 35,
    LX_EDIFACT_UC_TOO_MANY_GROUP_REPEATS = 36,
    LX_EDIFACT_UC_INVALID_CHARS = 37,
    LX_EDIFACT_UC_TOO_LONG = 39,
    LX_EDIFACT_UC_TOO_SHORT = 40
};

#define LX_EDIFACT_REF_MAX 36 /* control references: an..35 + NUL */

typedef struct lx_edifact_diag {
    int code;            /* LX_EDIFACT_UC_* (0085) */
    int is_envelope;     /* 1: UNB/UNZ, UNG/UNE, UNH/UNT rule (UCI/UCF/UCM) */
    char interchange_ref[LX_EDIFACT_REF_MAX]; /* UNB05 ("" unknown) */
    char group_ref[LX_EDIFACT_REF_MAX];       /* UNG05 ("" none) */
    char message_ref[LX_EDIFACT_REF_MAX];     /* UNH01 ("" none) */
    long segment_pos;    /* in the message, UNH = 1; 0 when not in one */
    char segment_tag[LX_EDIFACT_TAG_MAX + 1]; /* "" when not about one */
    int element;         /* 1-based, 0 when about the whole segment */
    int component;       /* 1-based, 0 when about the whole element */
    long line;           /* 1-based line in the input, 0 unknown */
    long offset;         /* byte offset, -1 unknown */
    char msg[160];       /* the rule; never a value */
} lx_edifact_diag;

typedef struct lx_edifact_diags {
    lx_edifact_diag *items; /* owned */
    size_t count;
    size_t cap;
    size_t dropped; /* findings beyond LX_EDIFACT_MAX_DIAGS */
} lx_edifact_diags;

void lx_edifact_diags_init(lx_edifact_diags *d);
void lx_edifact_diags_fini(lx_edifact_diags *d);

/* Append a copy of dg (d may be NULL: then nothing). Past
 * LX_EDIFACT_MAX_DIAGS only `dropped` grows. */
void lx_edifact_diags_add(lx_edifact_diags *d, const lx_edifact_diag *dg);

/* "UNH 1 segment 14 (NAD) element 2 component 1: too long (max 35) [39]"
 * into buf[size] (always NUL-terminated). Returns buf. */
const char *lx_edifact_diag_format(const lx_edifact_diag *dg, char *buf,
                                   size_t size);

/* --------------------------------------------------------------- definitions
 * Message definitions (segment groups, M/C status, repeats) and segment
 * layouts (elements, components, formats) loaded from the data files of
 * one directory, e.g. schemas/edifact/d96a (format in docs/edifact.md). */
typedef struct lx_edifact_defs lx_edifact_defs;

/* Load every *.json of dir once. Ownership: *out is the caller's
 * (lx_edifact_defs_destroy). Errors: LX_EIO, LX_ESYNTAX, LX_ESCHEMA located
 * at the file and JSON pointer. */
LX_NODISCARD int lx_edifact_defs_load(const char *dir, lx_edifact_defs **out,
                                      lx_error *err);
void lx_edifact_defs_destroy(lx_edifact_defs **defs);

/* The definition's directory version and release ("D", "96A"). Borrowed. */
const char *lx_edifact_defs_version(const lx_edifact_defs *defs);
const char *lx_edifact_defs_release(const lx_edifact_defs *defs);

/* 1 when the set defines message `type` ("ORDERS"). */
int lx_edifact_defs_has_message(const lx_edifact_defs *defs, const char *type);

/* Arrange one tree message whose "segments" list is flat (as the parser
 * builds it, each segment with its "pos") into the segment groups of its
 * definition, and validate it: unknown or misplaced segments, missing
 * mandatory segments and groups, too many repetitions, and per segment the
 * element and component counts, M/C status, formats and lengths (the
 * decimal mark is `decimal`; ',' and '.' are both accepted). Findings go
 * to diags with interchange_ref and group_ref copied in (either may be
 * NULL). Returns 1 when a definition was applied, 0 when defs has none for
 * the message's type, version and release (the message is left flat). */
int lx_edifact_message_apply(const lx_edifact_defs *defs, json_t *msg,
                             char decimal, const char *interchange_ref,
                             const char *group_ref, lx_edifact_diags *diags);

/* -------------------------------------------------------------------- parser */
enum {
    /* Envelope mismatches (counts, references, missing UNT/UNE/UNZ or UNB,
     * segments outside a message) become diagnostics instead of errors. */
    LX_EDIFACT_LENIENT = 1 << 0
};

typedef struct lx_edifact_options {
    unsigned flags;            /* LX_EDIFACT_* */
    size_t max_len;            /* 0: LX_EDIFACT_MAX_DEFAULT */
    size_t max_segments;       /* 0: LX_EDIFACT_MAX_SEGMENTS_DEFAULT */
    const lx_edifact_defs *defs; /* borrowed; NULL: no message validation */
} lx_edifact_options;

/* Parse every interchange in buf[0..len) into the tree above. Messages
 * whose type, version and release the definitions know are arranged into
 * their segment groups and validated (findings go to diags, parsing goes
 * on); others are a flat "segments" list.
 * Ownership: *out is a new reference (json_decref), NULL on error. diags
 * (may be NULL) receives the findings, also on error. Equal short values
 * of message bodies may be one shared JSON string, and a segment's "pos"
 * one JSON integer shared process-wide: edit the tree by setting members
 * and array items, never with json_string_set or json_integer_set.
 * Errors: LX_ESYNTAX (tokenizer), LX_ELIMIT, LX_ESCHEMA (an envelope rule,
 * unless LX_EDIFACT_LENIENT), located: err->where names the interchange,
 * group and message references and the segment position, err->line and
 * err->offset the input position. */
LX_NODISCARD int lx_edifact_parse(const char *buf, size_t len,
                                  const lx_edifact_options *opts,
                                  json_t **out, lx_edifact_diags *diags,
                                  lx_error *err);

/* ----------------------------------------------------------------- generator */
typedef struct lx_edifact_gen_options {
    /* Six service characters ("UNA" order) to write with, or NULL for each
     * interchange's own "UNA" (defaults when absent). */
    const char *una;
    /* Write UNA: 0 when the tree has one (or `una` is given), 1 always,
     * -1 never. */
    int write_una;
    /* Appended after every segment terminator ("" or NULL: nothing). */
    const char *newline;
    /* Keep UNT01/UNE01/UNZ01 as in the tree instead of recounting. */
    int keep_counts;
} lx_edifact_gen_options;

/* Append the EDIFACT text of `tree` (the shape lx_edifact_parse returns)
 * to out, escaping service characters with the release character and
 * recomputing UNT01, UNE01 and UNZ01 (unless keep_counts). Segments and
 * groups of a message are written in "pos" order; without "pos", a
 * message's segments come before its groups. opts may be NULL.
 * Errors: LX_EINVAL (not the tree shape, with a JSON pointer in where),
 * LX_ESYNTAX (a value holds a service character and there is no release
 * character), LX_ELIMIT (out's ceiling). */
LX_NODISCARD int lx_edifact_generate(const json_t *tree,
                                     const lx_edifact_gen_options *opts,
                                     lx_buf *out, lx_error *err);

#endif
