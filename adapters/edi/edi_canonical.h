/* adapters/edi/edi_canonical.h: EDI trees <-> canonical records, through
 * the mapping files of schemas/maps/x12/ and schemas/maps/edifact/.
 *
 * The glue is data-driven: each mapping's "native.type" says which part of
 * a parsed tree it maps (docs/edi-mappings.md):
 *   X12      "850"            one record per transaction set 850 (the
 *                             transaction object: segments, loops, summary)
 *            "834/2000"       one record per top-level loop 2000 of an 834
 *            "834/2000/2300"  one record per 2300 loop inside each 2000 loop
 *   EDIFACT  "ORDERS"         one record per ORDERS message arranged in its
 *                             segment groups (a message without a
 *                             definition, left flat, is not mapped)
 * A loop is mapped with the transaction's header beside it: the input is
 * the loop with a "header" member {"segments": the transaction's segments,
 * "loops": its loops of other ids} (so 834 maps read the 1000A/1000B
 * parties and REF*38); a sub-loop map sees its parent loop with only that
 * one sub-loop (other sub-loop ids are kept).
 * Before mapping, X12 elements that are "" (empty positions kept for the
 * writer) are removed and EDIFACT components that are "" become null:
 * mappings then treat an empty element as absent.
 *
 * Threads: lx_edi_maps is immutable after load; share it freely. */
#ifndef LX_ADAPTERS_EDI_CANONICAL_H
#define LX_ADAPTERS_EDI_CANONICAL_H

#include "core/error.h"

#include <jansson.h>

typedef struct lx_edi_maps lx_edi_maps; /* opaque, immutable once loaded */

/* Ceiling on the mapping files of one folder. */
#define LX_EDI_MAPS_MAX 64

/* Load and compile every *.json of <schemas_root>/maps/x12 and
 * <schemas_root>/maps/edifact (schemas_root: the "schemas" folder). A
 * missing folder is empty. Files are taken in name order.
 * Ownership: *out is the caller's (lx_edi_maps_destroy); NULL on error.
 * Errors: those of lx_map_load (located at the file), LX_ECONFIG for a
 * mapping without "native.type" or "canonical.entity", LX_ELIMIT over
 * LX_EDI_MAPS_MAX files, LX_EIO (a folder cannot be read). */
LX_NODISCARD int lx_edi_maps_load(const char *schemas_root, lx_edi_maps **out,
                                  lx_error *err);
/* NULL is fine; *maps becomes NULL. */
void lx_edi_maps_destroy(lx_edi_maps **maps);

/* Called once per canonical record produced, in input order (an 834
 * member: its person, then one coverage per 2300 loop).
 *   entity       the mapping's canonical entity ("person")
 *   native_type  the mapping's native type ("834/2000")
 *   native_id    the record's first identifier value ("" when none): the
 *                member id, the PO number, the invoice number
 *   record       borrowed for the call; json_incref to keep it
 * Return 0 to go on, a negative LX_E* code to stop the walk with it. */
typedef int (*lx_edi_record_fn)(void *ctx, const char *entity,
                                const char *native_type, const char *native_id,
                                json_t *record);

/* Map every transaction set of an X12 tree (lx_x12_doc_tree's shape,
 * borrowed) that a mapping covers, calling fn for each record. Transaction
 * sets without a mapping are skipped. References ("ref" rules) are left
 * unresolved: the shipped maps reference by identifier.
 * Errors: a mapping run error (LX_EINVAL, ...; err->where names the
 * interchange, group and transaction: "ISA 000000001 GS 1 ST 0001"), or
 * fn's code. Records already delivered stay delivered. */
LX_NODISCARD int lx_edi_x12_to_canonical(const lx_edi_maps *maps,
                                         const json_t *x12_tree,
                                         lx_edi_record_fn fn, void *ctx,
                                         lx_error *err);

/* The same for an EDIFACT tree (lx_edifact_parse's shape); err->where
 * names the interchange and message references ("UNB IC1 UNH M1"). */
LX_NODISCARD int lx_edi_edifact_to_canonical(const lx_edi_maps *maps,
                                             const json_t *edifact_tree,
                                             lx_edi_record_fn fn, void *ctx,
                                             lx_error *err);

/* Map one canonical record (borrowed) out with the mapping of native_type
 * ("834/2000", "850", "ORDERS"): *native is a new reference, the native
 * sub-tree the mapping describes (an 834 member loop with "segments" and
 * "loops", a transaction's "segments"/"loops"/"summary", an EDIFACT
 * message's "segments"/"groups"). X12 segment members are put in element
 * order ("id", then NM101, NM102, ...). NULL on error.
 * Errors: LX_ENOTFOUND (no mapping of that native type), a run error. */
LX_NODISCARD int lx_edi_from_canonical(const lx_edi_maps *maps,
                                       const char *native_type,
                                       const json_t *record, json_t **native,
                                       lx_error *err);

/* Map one native sub-tree (borrowed; the shape the walk gives the mapping
 * of native_type, header included, already cleaned) in: *record is a new
 * reference, NULL on error. Errors: LX_ENOTFOUND (no mapping of that
 * native type), a run error. */
LX_NODISCARD int lx_edi_to_canonical(const lx_edi_maps *maps,
                                     const char *native_type,
                                     const json_t *native, json_t **record,
                                     lx_error *err);

/* Prepare a native sub-tree the way the walk does before mapping (X12 ""
 * elements removed, EDIFACT "" components null). New reference; the input
 * is borrowed. For tests and `lingua map test` inputs. */
json_t *lx_edi_native_clean(const json_t *native);

#endif
