/* adapters/edi/edi_partner.h: EDI trading partner profiles.
 *
 * A partner is who the hub exchanges interchanges with: its X12 and/or
 * EDIFACT envelope identifiers and ours, the acknowledgement it wants, the
 * test/production indicator and the delimiters of what we send it. The
 * profiles live in the configuration's top-level "partners" object and
 * EDI adapter instances name one with "partner" (docs/edi-partners.md):
 *
 *   "partners": {"insurer": {
 *     "usage": "test",
 *     "x12": {"ours":   {"qualifier": "ZZ", "id": "LINGUAHUB"},
 *             "theirs": {"qualifier": "ZZ", "id": "INSURER01"},
 *             "ack": "999"}}}
 *
 * Threads: a parsed profile is a plain value, read-only once parsed. */
#ifndef LX_ADAPTERS_EDI_PARTNER_H
#define LX_ADAPTERS_EDI_PARTNER_H

#include "adapters/edi/x12.h"
#include "core/error.h"

#include <jansson.h>
#include <stdbool.h>

#define LX_EDI_PARTNER_NAME_MAX 64

/* Which acknowledgement the partner wants for what it sends us. */
typedef enum lx_edi_ack {
    LX_EDI_ACK_NONE = 0,
    LX_EDI_ACK_997,
    LX_EDI_ACK_999,
    LX_EDI_ACK_TA1,   /* interchange acknowledgement only */
    LX_EDI_ACK_CONTRL
} lx_edi_ack;

typedef struct lx_edi_x12_party {
    char qualifier[3];   /* ISA05 / ISA07: "ZZ", "01", ... */
    char id[16];         /* ISA06 / ISA08, unpadded: 1..15 characters */
    char application[16];/* GS02 / GS03: 2..15 characters (default: id) */
} lx_edi_x12_party;

typedef struct lx_edifact_party {
    char id[36];         /* UNB S002 / S003 0004 / 0010: 1..35 */
    char qualifier[5];   /* 0007: "14", "ZZZ", or "" */
} lx_edifact_party;

typedef struct lx_edi_partner {
    char name[LX_EDI_PARTNER_NAME_MAX + 1];
    bool test;                   /* "usage": "test" (ISA15 T, UNB 0035 1) */
    bool has_x12;
    lx_edi_x12_party x12_ours, x12_theirs;
    lx_edi_ack x12_ack;          /* NONE, 997, 999 or TA1 */
    lx_x12_delims x12_delims;    /* of outbound interchanges */
    bool has_edifact;
    lx_edifact_party edifact_ours, edifact_theirs;
    lx_edi_ack edifact_ack;      /* NONE or CONTRL */
    char edifact_syntax[5];      /* UNB S001 0001: "UNOC" (default) */
    char edifact_una[7];         /* service characters (default ":+.? '") */
} lx_edi_partner;

/* The date and time of an envelope being written, UTC: "CCYYMMDD" (ISA09
 * and UNB take the last 6) and "HHMM". */
void lx_edi_envelope_now(char date[9], char hhmm[5]);

/* Validate and read partners[name] (`partners`: the configuration's
 * "partners" object, borrowed; NULL when absent) into *out. Unknown keys,
 * wrong types and bad values are errors.
 * Errors: LX_ECONFIG with err->where = the JSON pointer of the offending
 * value ("/partners/insurer/x12/ours/id", or "/partners/insurer" when the
 * partner does not exist) and a message that starts with it. */
LX_NODISCARD int lx_edi_partner_parse(const json_t *partners,
                                      const char *name, lx_edi_partner *out,
                                      lx_error *err);

/* Whether a received X12 interchange (its "ISA" tree object, borrowed) is
 * from this partner to us: ISA05/ISA06 = theirs, ISA07/ISA08 = ours
 * (ids compared without their padding). LX_EINVAL with a message naming
 * the element when not (values are never quoted), or when the partner
 * has no X12 profile. */
LX_NODISCARD int lx_edi_partner_check_isa(const lx_edi_partner *p,
                                          const json_t *isa, lx_error *err);

/* The same for an EDIFACT interchange's "UNB" (array of elements): S002
 * sender = theirs, S003 recipient = ours (ids, and qualifiers when the
 * profile gives them). */
LX_NODISCARD int lx_edi_partner_check_unb(const lx_edi_partner *p,
                                          const json_t *unb, lx_error *err);

#endif
