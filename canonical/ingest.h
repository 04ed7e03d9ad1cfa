/* canonical/ingest.h: the one path from a canonical record to the store.
 *
 * Every inbound route (the bus's INGEST, the HTTP adapters, `lingua
 * ingest`) goes through here, so the same checks apply everywhere: the
 * entity must be known to the schema registry, the record must validate
 * against its schema, then the change is queued on the store's writer. */
#ifndef LX_CANONICAL_INGEST_H
#define LX_CANONICAL_INGEST_H

#include "canonical/registry.h"
#include "canonical/store.h"
#include "core/error.h"

#include <jansson.h>

/* Fill *u from an ingest request object (the INGEST body of docs/bus.md):
 * entity, system, adapter, native_type, native_id, canonical_id, trace, op,
 * record. The strings and the record are borrowed from `req`, which must
 * outlive *u. Errors: LX_EINVAL naming the member ("/system: required
 * string"), with err->where set to its pointer. */
LX_NODISCARD int lx_ingest_parse(const json_t *req, lx_upsert *u,
                                 lx_error *err);

/* Check u against the registry: the entity exists (LX_ENOTFOUND, the
 * message lists the known ones) and, for upserts, the record validates
 * (LX_ESCHEMA, err->where = the pointer in the record). */
LX_NODISCARD int lx_ingest_check(const lx_registry *reg, const lx_upsert *u,
                                 lx_error *err);

/* lx_ingest_check, then lx_store_submit: `done` is called once, later,
 * unless this returns an error (then nothing was queued). */
LX_NODISCARD int lx_ingest_submit(lx_store *store, const lx_registry *reg,
                                  const lx_upsert *u, lx_store_done_fn done,
                                  void *ctx, lx_error *err);

/* The OK body of an ingest: {"canonical_id","version","seq","created",
 * "unchanged","trace"}. New reference. */
json_t *lx_ingest_result_json(const lx_upsert_result *res);

#endif
