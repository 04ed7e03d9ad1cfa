/* adapters/edi/ack_received.h: functional acknowledgements a partner sends
 * back for the interchanges we wrote (X12 997 and 999).
 *
 * An acknowledgement is not business data: it is never mapped and never
 * acknowledged in turn (X12: a 997/999 is not acknowledged). Each one is
 * recorded in the store's state under
 *   "edi-ack/<system>/<acknowledged GS06, 9 digits>"
 * as {"kind": "999", "group": "1", "functional_id": "BE",
 *     "status": "accepted" | "accepted_with_errors" | "partially_accepted"
 *               | "rejected", "sets": [{"set": "834", "control": "0001",
 *     "status": "accepted", "codes": [...]}], "interchange": "000000007",
 *     "received": "2026-12-04T15:10:00.000Z"}
 * so that an operator (and `lingua edi acks`) sees which of our
 * interchanges the partner accepted. A later acknowledgement of the same
 * group replaces the earlier one. */
#ifndef LX_ADAPTERS_EDI_ACK_RECEIVED_H
#define LX_ADAPTERS_EDI_ACK_RECEIVED_H

#include "canonical/store.h"
#include "core/error.h"

#include <jansson.h>
#include <stddef.h>

/* True when every functional group of the parsed X12 tree is an
 * acknowledgement group (GS01 "FA") and there is at least one. */
bool lx_edi_ack_tree_is_ack(const json_t *tree);

/* Record each 997/999 of the tree (borrowed) for `system`. *count is set
 * to the number of acknowledgements recorded, *rejected to those whose
 * AK901 is not A (accepted). Errors: LX_EINVAL (an acknowledgement without
 * AK1 or AK9, located by interchange/group/transaction control numbers),
 * store errors. */
LX_NODISCARD int lx_edi_ack_record(lx_store *store, const char *system,
                                   const json_t *tree, size_t *count,
                                   size_t *rejected, lx_error *err);

#endif
