/* adapters/edi/edi_inbound.h: what the hub does with one inbound EDI
 * interchange (X12 or EDIFACT, told apart by its first segment):
 *
 *   1. parse it against the definitions, collecting findings;
 *   2. write the functional acknowledgement the partner asked for (997 or
 *      999 for X12, CONTRL for EDIFACT) to the partner's ack outbox, with
 *      control numbers from durable counters (never reused);
 *   3. map the transactions without findings to canonical records (a
 *      transaction with findings is rejected in the ack and not mapped;
 *      with reject_whole, one rejected transaction rejects them all);
 *   4. validate and store every record (group-committed), acknowledged to
 *      the caller once durable.
 *
 * Used by the file-drop inbox and by POST on the EDI adapter's HTTP path.
 * Thread-safe for different interchanges. */
#ifndef LX_ADAPTERS_EDI_INBOUND_H
#define LX_ADAPTERS_EDI_INBOUND_H

#include "adapters/edi/edi_canonical.h"
#include "adapters/edi/edi_partner.h"
#include "adapters/edi/edifact.h"
#include "adapters/edi/x12.h"
#include "canonical/registry.h"
#include "canonical/store.h"
#include "core/error.h"

#include <limits.h>
#include <stdbool.h>

typedef struct lx_edi_inbound_options {
    lx_store *store;
    const lx_registry *registry;
    const lx_x12_defs *x12_defs;
    const lx_edifact_defs *edifact_defs;
    const lx_edi_maps *maps;
    const char *system;     /* the partner's system in the hub */
    const char *adapter;    /* the adapter instance */
    const char *ack;        /* "997", "999" (X12), "contrl" (EDIFACT), or
                               NULL / "none": no acknowledgement */
    const char *ack_outbox; /* directory the acks are written to */
    bool reject_whole;      /* one rejected transaction rejects all */
    /* The trading partner (borrowed), or NULL. With a partner, every
     * interchange's envelope must be from it to us (ISA05..08, UNB
     * S002/S003; else the whole file is refused with LX_EINVAL before
     * anything is stored), the acknowledgement is the one its profile
     * asks for (`ack` is ignored: 997, 999, TA1 alone, CONTRL or none),
     * addressed with the profile's ids, delimiters and test indicator,
     * and its control numbers come from the counters named after the
     * partner, shared with the outbound interchanges (edi_outbound.h).
     * Without, acks swap the received envelope's ids and the counters
     * are named after `system`. */
    const lx_edi_partner *partner;
} lx_edi_inbound_options;

typedef struct lx_edi_outcome {
    const char *standard;   /* "X12" or "EDIFACT" (static) */
    size_t transactions;    /* transaction sets / messages received */
    size_t rejected;        /* of them, rejected */
    size_t records;         /* canonical records produced */
    size_t created, updated, unchanged, refused;
    size_t acks;            /* 997/999 received for what we sent (recorded,
                               see ack_received.h; the file holds nothing
                               else) */
    size_t acks_rejected;   /* of them, not accepted (AK901 other than A) */
    char ack_path[PATH_MAX]; /* the acknowledgement written, or "" */
} lx_edi_outcome;

/* Process data[0..len). Returns 0 when the interchange was taken (some
 * transactions may have been rejected: see the outcome and the ack).
 * Errors: LX_ESYNTAX / LX_ESCHEMA (the interchange cannot be read at all,
 * located at its segment and offset), LX_ESCHEMA for records refused by
 * the canonical schema (the others are stored; the message counts them
 * and locates the first), LX_EIO (the ack could not be written). */
LX_NODISCARD int lx_edi_inbound_process(const lx_edi_inbound_options *o,
                                        const char *data, size_t len,
                                        lx_edi_outcome *out, lx_error *err);

#endif
