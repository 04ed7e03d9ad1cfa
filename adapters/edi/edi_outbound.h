/* adapters/edi/edi_outbound.h: canonical events -> EDI interchange files
 * in a trading partner's outbox.
 *
 * One outbound EDI adapter instance turns each subscribed event into one
 * complete interchange for its partner (edi_partner.h) and writes it to the
 * outbox directory (adapters/transport/outbox.h: atomic, never
 * overwriting), through the delivery engine (cursor, retries, dead
 * letters, traces), whose `perform` op it implements:
 *
 *   entity     X12 (partner "x12")           EDIFACT (partner "edifact")
 *   coverage   834, one member loop 2000      (none: skipped)
 *   person     834 change (INS03 001), one    (none: skipped)
 *              per coverage it is the member
 *              of, no 2300; none: skipped
 *   order      850                            ORDERS
 *   invoice    810                            INVOIC
 *   others     skipped
 *
 * The 834 member is the coverage's beneficiary (a dependent) or subscriber
 * (the subscriber's own coverage): its person record is read from the
 * store and merged with the coverage (INS, REF*0F, 2100A from the person,
 * 2300 from the coverage). INS03 and HD01 come from the event type:
 * created 021, updated 001, deleted 024. A person event (subscribe to
 * person.* as well) gives the 834 change of each coverage whose member
 * (beneficiary, else subscriber) it is, from the current coverage and
 * person: INS03 001, INS04 25 (name, birth date, gender, identifiers),
 * 43 (address) or AI, no 2300 loop; created and deleted persons are
 * skipped (their coverages' own events carry them). Those
 * coverages come from an index this module keeps in the store's state
 * (keys "edi-out/member-coverage/...", filled from the event log).
 * Maps: schemas/maps/x12 and
 * schemas/maps/edifact, canonical -> native direction.
 *
 * Control numbers come from durable store counters named per partner and
 * shared with the acknowledgements sent to that partner, so none is ever
 * reused, across restarts too:
 *   x12-isa13/<partner>, x12-gs06/<partner>, x12-st02/<partner>
 *   edifact-unb/<partner>, edifact-unh/<partner>
 * They are taken when the file is written (perform); a write that fails is
 * retried with new numbers (a gap, never a reuse). The file is named
 * "<partner>-<ISA13, 9 digits>-<set>.x12" / "<partner>-<UNB 0020, 9
 * digits>-<message>.edi", so names sort in sending order.
 *
 * Every interchange is parsed back strictly (with the definitions) before
 * it is queued: one that would not pass the partner's validation is
 * refused (dead-lettered with the located finding), never sent.
 *
 * Threads: prepare and perform run on the delivery thread; the object is
 * otherwise read-only. */
#ifndef LX_ADAPTERS_EDI_OUTBOUND_H
#define LX_ADAPTERS_EDI_OUTBOUND_H

#include "adapters/delivery/delivery.h"
#include "adapters/edi/edi_canonical.h"
#include "adapters/edi/edi_partner.h"
#include "adapters/edi/edifact.h"
#include "adapters/edi/x12.h"
#include "canonical/store.h"
#include "core/buf.h"
#include "core/error.h"

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>

typedef struct lx_edi_out lx_edi_out;

/* X12 N102, name: AN 1/60. */
#define LX_EDI_OUT_NAME_MAX 60
/* Coverages one person change may give an 834 for (one transaction set
 * each at most); past it the event is refused with LX_ELIMIT. */
#define LX_EDI_OUT_PERSON_COVERAGES_MAX 32

typedef enum lx_edi_standard {
    LX_EDI_X12 = 1,
    LX_EDI_EDIFACT = 2
} lx_edi_standard;

typedef struct lx_edi_out_options {
    lx_store *store;                   /* counters, person look-ups */
    const lx_x12_defs *x12_defs;       /* strict check of what is sent */
    const lx_edifact_defs *edifact_defs;
    const lx_edi_maps *maps;
    const lx_edi_partner *partner;     /* copied */
    lx_edi_standard standard;          /* 0: X12 when the partner has it */
    const char *outbox;                /* existing directory (copied) */
    /* Identifier system of the member id written to REF*0F / NM109 (the
     * person's identifier with this system). NULL:
     * "urn:lingua:x12:834:member-id", and when the person has none, the
     * value of the identifier the coverage refers to the person by. */
    const char *member_id_system;
    /* 850 N1*ST N102 when the order's buyer organization has no name in
     * the store (copied; 1..LX_EDI_OUT_NAME_MAX). NULL: such an order
     * goes out without its ship-to N1 loop (logged), never with an N1
     * that has neither name nor id. */
    const char *ship_to_name;
} lx_edi_out_options;

/* Ownership: *out is the caller's (lx_edi_out_destroy); the store, defs
 * and maps must outlive it. Errors: LX_EINVAL (the partner has no profile
 * for the standard, no outbox, ship_to_name empty, over
 * LX_EDI_OUT_NAME_MAX or holding one of the partner's X12 delimiters). */
LX_NODISCARD int lx_edi_out_new(const lx_edi_out_options *o, lx_edi_out **out,
                                lx_error *err);
/* NULL is fine; *o becomes NULL. Stop the delivery first. */
void lx_edi_out_destroy(lx_edi_out **o);

/* The delivery engine's ops (prepare, perform; ctx = o). */
void lx_edi_out_ops(lx_edi_out *o, lx_outbound_ops *ops);

/* The interchange of one event (borrowed), for tests and previews: the
 * same as prepare + perform without the file (the control numbers are
 * taken from the counters all the same). *skip is set when the event has
 * nothing to send. name receives the file name.
 * Errors: LX_ENOTFOUND (a referenced person is not in the store),
 * LX_ELIMIT (a person event: the member of more than
 * LX_EDI_OUT_PERSON_COVERAGES_MAX coverages),
 * LX_ESCHEMA (the interchange fails its definition; located), map errors,
 * LX_ELIMIT (a counter past its ceiling), LX_ESTORE. */
LX_NODISCARD int lx_edi_out_build(lx_edi_out *o, const json_t *event,
                                  lx_buf *out, char *name, size_t name_size,
                                  bool *skip, lx_error *err);

#endif
