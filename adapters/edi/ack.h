/* adapters/edi/ack.h: functional acknowledgements of received EDI.
 *
 *   - X12: 997 (005010 Functional Acknowledgment) or 999 (005010X231A1
 *     Implementation Acknowledgment), with a TA1 for interchange-level
 *     findings, built from a parsed interchange (lx_x12_doc: its tree and
 *     its coded diagnostics);
 *   - EDIFACT: CONTRL (syntax and service report, D.96A directory; syntax
 *     3 "CONTRL:D:3:UN", syntax 4 "CONTRL:4:1:UN") built from a parsed
 *     interchange tree and its findings (data element 0085 codes).
 *
 * Each acknowledgement is a complete interchange of its own: the envelope
 * swaps sender and recipient of the received one and carries the control
 * numbers / references the caller passes in. This module allocates no
 * control number: the hub takes them from durable counters
 * (lx_store_counter_next) so that none is ever reused.
 *
 * Acknowledgements carry positions, control numbers and codes, never
 * element values: the optional "copy of bad data element" (AK404/IK404)
 * is always omitted, values are personal data. Code tables and policy in
 * docs/edi-acks.md.
 *
 * Threads: no global state; build acknowledgements from any thread. */
#ifndef LX_ADAPTERS_EDI_ACK_H
#define LX_ADAPTERS_EDI_ACK_H

#include "adapters/edi/edifact.h"
#include "adapters/edi/x12.h"
#include "core/buf.h"
#include "core/error.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* ---- X12 997 / 999 -------------------------------------------------- */

typedef enum lx_x12_ack_kind {
    LX_X12_ACK_997 = 997,
    LX_X12_ACK_999 = 999
} lx_x12_ack_kind;

/* Control numbers fit ISA13 / GS06 (N0 1/9). */
#define LX_X12_ACK_CONTROL_MAX 999999999u

enum {
    /* Transaction sets whose only findings are segment or element errors
     * are "E" (accepted with errors) instead of "R" (rejected). Envelope
     * findings (SE count, SE02, missing SE) always reject. */
    LX_X12_ACK_ACCEPT_WITH_ERRORS = 1 << 0,
    /* Write a TA1 even when the interchange has no finding and ISA14 is
     * not "1" (it is always written when there is a finding or ISA14 is
     * "1"). */
    LX_X12_ACK_TA1_ALWAYS = 1 << 1,
    /* A '\n' after each segment terminator. */
    LX_X12_ACK_NEWLINE = 1 << 2
};

/* What the caller decides for the acknowledgement interchange. Strings
 * are borrowed for the call; NULL means "derived from the received
 * interchange" as stated per member. */
typedef struct lx_x12_ack_ids {
    size_t interchange; /* which received interchange, 0-based */
    uint64_t isa13;     /* ISA13/IEA02 of the ack: 1..999999999 */
    uint64_t gs06;      /* GS06/GE02 of the ack: 1..999999999 */
    /* ST02 of the first ack transaction set, the next ones +1 (0 means 1):
     * ST02 only has to be unique within the ack's functional group. */
    uint64_t st02_first;
    const char *sender_qual;   /* ISA05: NULL = received ISA07 */
    const char *sender_id;     /* ISA06 (<= 15): NULL = received ISA08 */
    const char *receiver_qual; /* ISA07: NULL = received ISA05 */
    const char *receiver_id;   /* ISA08 (<= 15): NULL = received ISA06 */
    const char *gs02;          /* NULL = GS03 of the first acked group */
    const char *gs03;          /* NULL = GS02 of the first acked group */
    char test_indicator;       /* ISA15 'T' or 'P'; 0 = as received */
    const char *date;          /* "CCYYMMDD", required (ISA09, GS04) */
    const char *time;          /* "HHMM", required (ISA10, GS05) */
    const lx_x12_delims *delims; /* NULL = lx_x12_delims_default */
    int flags;                   /* LX_X12_ACK_* */
} lx_x12_ack_ids;

/* What was acknowledged, for the caller's logs and metrics. */
typedef struct lx_x12_ack_summary {
    size_t groups;          /* received groups acknowledged (AK1 / ST) */
    size_t groups_accepted; /* AK901 A or E */
    size_t groups_partial;  /* AK901 P */
    size_t groups_rejected; /* AK901 R */
    size_t sets_received;   /* sum of AK903 */
    size_t sets_accepted;   /* sum of AK904 (AK501/IK501 A or E) */
    size_t sets_rejected;   /* AK501/IK501 R */
    size_t segment_errors;  /* AK3/IK3 written */
    size_t element_errors;  /* AK4/IK4 written */
    char ta1;               /* TA104 'A', 'E', 'R'; 0 when no TA1 */
} lx_x12_ack_summary;

/* Append to out one acknowledgement interchange for received interchange
 * ids->interchange of `received` (parsed with LX_X12_PARSE_LENIENT so that
 * it carries its diagnostics):
 *   ISA (sender/receiver swapped, ISA13 = ids->isa13, ISA14 "0"),
 *   TA1 when the interchange has findings (codes 001, 021, 023) or asks
 *     for one (ISA14 "1"),
 *   GS*FA (GS06 = ids->gs06, GS08 "005010" or "005010X231A1") with one
 *     997/999 per received functional group: AK1, per transaction set AK2,
 *     AK3/IK3 per segment in error, AK4/IK4 per element in error, AK5/IK5,
 *     then AK9; SE/GE/IEA counts computed.
 * Groups that are themselves acknowledgements (GS01 "FA") are not
 * acknowledged. When nothing is to be sent (only FA groups and no TA1)
 * out is left unchanged and summary->groups and summary->ta1 are 0.
 * summary may be NULL; it is zeroed on entry.
 * Errors: LX_EINVAL (ids out of range, no such interchange, a value to
 * copy that holds one of the ack's delimiters), LX_ELIMIT (out's
 * ceiling; out may then hold partial output). */
LX_NODISCARD int lx_x12_ack_build(const lx_x12_doc *received,
                                  lx_x12_ack_kind kind,
                                  const lx_x12_ack_ids *ids,
                                  lx_x12_ack_summary *summary, lx_buf *out,
                                  lx_error *err);

/* ---- EDIFACT CONTRL ------------------------------------------------- */

enum {
    /* UCI action 8 (interchange received): no message is reported. */
    LX_EDIFACT_ACK_RECEIPT_ONLY = 1 << 0,
    /* A '\n' after each segment terminator. */
    LX_EDIFACT_ACK_NEWLINE = 1 << 1
};

/* Action codes (data element 0083). */
enum {
    LX_EDIFACT_ACK_REJECTED = 4,     /* this level and all lower rejected */
    LX_EDIFACT_ACK_ACKNOWLEDGED = 7, /* acknowledged, lower levels too
                                        unless explicitly rejected */
    LX_EDIFACT_ACK_RECEIVED = 8      /* interchange received */
};

typedef struct lx_edifact_ack_ids {
    size_t interchange;          /* which received interchange, 0-based */
    const char *interchange_ref; /* UNB05/UNZ02 of the CONTRL (an..14) */
    const char *message_ref;     /* UNH01/UNT02 of the CONTRL (an..14) */
    const char *sender_id;       /* UNB S002: NULL = received S003 */
    const char *sender_qual;     /* with sender_id; may be NULL */
    const char *recipient_id;    /* UNB S003: NULL = received S002 */
    const char *recipient_qual;  /* with recipient_id; may be NULL */
    const char *date;            /* "CCYYMMDD", required (YYMMDD written
                                    below syntax 4) */
    const char *time;            /* "HHMM", required */
    int flags;                   /* LX_EDIFACT_ACK_* */
} lx_edifact_ack_ids;

typedef struct lx_edifact_ack_summary {
    int action;             /* UCI 0083: 4, 7 or 8 */
    size_t messages;        /* messages in the received interchange */
    size_t accepted;        /* UCM 7 (or not rejected under UCI 7) */
    size_t rejected;        /* UCM 4 */
    size_t groups_rejected; /* UCF 4 */
    size_t segment_errors;  /* UCS written */
    size_t element_errors;  /* UCD written */
} lx_edifact_ack_summary;

/* Append to out one CONTRL interchange (UNB, UNH, UCI, SG1 UCM/UCS/UCD
 * for messages outside groups, SG3 UCF with SG4 UCM/UCS/UCD per UNG
 * group, UNT, UNZ) for interchange ids->interchange of `received` (the
 * tree lx_edifact_parse returned, borrowed) and `diags` (its findings,
 * may be NULL). Syntax identifier and version are those of the received
 * UNB. UCI is 4 when the interchange envelope has a finding, else 7 (8
 * with LX_EDIFACT_ACK_RECEIPT_ONLY); under 7 every message has a UCM (7
 * or 4), under 4 only the messages with findings. summary may be NULL.
 * Errors: LX_EINVAL (ids missing or too long, no such interchange, a
 * received interchange without UNB), LX_ELIMIT (out's ceiling). */
LX_NODISCARD int lx_edifact_ack_build(const json_t *received,
                                      const lx_edifact_diags *diags,
                                      const lx_edifact_ack_ids *ids,
                                      lx_edifact_ack_summary *summary,
                                      lx_buf *out, lx_error *err);

#endif
