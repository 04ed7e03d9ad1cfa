/* adapters/hropen/hropen.h: the HR Open Standards adapter (data side).
 *
 * Accepts the HR Open JEDx add/update requests, JSON:
 *   {"workers": [worker, ...]}             (workers/v1)
 *   {"organizations": [organization, ...]} (organizations/v1)
 * validates them against Lingua's 2020-12 subset of the HR Open 4.1
 * schemas (schemas/hropen/<kind>/v1.json, loaded with canonical/registry.h)
 * and maps them with schemas/maps/hropen/{person,worker,organization}.json
 * to canonical records: each worker gives one person and one worker
 * record, each organization one organization record. docs/hropen-adapter.md
 * has the field tables.
 *
 * Threads: an lx_hropen is immutable once opened; any number of threads
 * may use it at once (each with its own resolver context). */
#ifndef LX_ADAPTERS_HROPEN_H
#define LX_ADAPTERS_HROPEN_H

#include "adapters/map/map.h"
#include "core/error.h"

#include <jansson.h>
#include <stddef.h>

typedef struct lx_hropen lx_hropen; /* opaque */

/* Ceiling on one inbound document. */
#define LX_HROPEN_DOC_MAX ((size_t)16 << 20)

/* Identifier systems of the canonical records (docs/hropen-adapter.md). */
#define LX_HROPEN_SYSTEM_WORKER_ID "urn:lingua:hropen:worker-id"
#define LX_HROPEN_SYSTEM_ORG_ID "urn:lingua:hropen:org-id"

typedef struct lx_hropen_options {
    /* The employer of workers whose document names none (JEDx worker
     * requests are sent by or for one employer, which the request body
     * does not repeat): written into the worker record as
     * {"entity": "organization", "identifier": {system, value}}. Both NULL:
     * a worker without workAssignments[0].organization.id is refused.
     * Borrowed during lx_hropen_open only (copied). */
    const char *employer_system;
    const char *employer_value;
} lx_hropen_options;

/* Open the adapter from the schema root (the folder holding hropen/ and
 * maps/hropen/). opt may be NULL (no default employer).
 * Ownership: *out is the caller's (lx_hropen_close); NULL on error.
 * Errors: those of lx_registry_load and lx_map_load, naming the file;
 * LX_EINVAL when only one of employer_system / employer_value is given. */
LX_NODISCARD int lx_hropen_open(const char *schema_root,
                                const lx_hropen_options *opt, lx_hropen **out,
                                lx_error *err);

/* NULL and *h == NULL are fine; *h becomes NULL. */
void lx_hropen_close(lx_hropen **h);

/* Receives one canonical record. entity is "person", "worker" or
 * "organization"; native_type and native_id are the record's key in the
 * sender's system ("worker"/"person" + workerID.value, "organization" +
 * id.value, else taxId.value, else legalId.value). All arguments are
 * borrowed for the call. Return 0 to go on, or an LX_E* code to stop: it
 * is returned by lx_hropen_to_canonical. */
typedef int (*lx_hropen_record_fn)(void *ctx, const char *entity,
                                   const char *native_type,
                                   const char *native_id,
                                   const json_t *record);

/* Parse doc[0..len), validate it, map it, and hand every record to fn, in
 * document order (for a worker: its person, then its worker). Nothing is
 * handed over unless the whole document parsed, validated and mapped.
 * res resolves "ref" rules (may be NULL: references unresolved).
 * Errors:
 *   LX_ESYNTAX      not JSON: err->line/column locate it;
 *   LX_ELIMIT       len over LX_HROPEN_DOC_MAX, or a validator limit;
 *   LX_EUNSUPPORTED a JSON object that is neither a workers nor an
 *                   organizations request (err->where "");
 *   LX_ESCHEMA      the document breaks the schema: err->where is the
 *                   JSON pointer of the offending value
 *                   ("/workers/0/person/birthDate"), err->line/column its
 *                   place in doc;
 *   LX_EINVAL       a value the mapping cannot take, or a worker with no
 *                   employer and no default employer: the message names
 *                   the element ("/workers/1: rule 'gender' ...");
 *   whatever the resolver or fn return. */
LX_NODISCARD int lx_hropen_to_canonical(const lx_hropen *h, const char *doc,
                                        size_t len,
                                        const lx_map_resolver *res,
                                        lx_hropen_record_fn fn, void *ctx,
                                        lx_error *err);

/* Canonical -> HR Open: one element of a workers request from a person and
 * its worker record (both borrowed; person may be NULL), or one element
 * of an organizations request. *out is a new reference, NULL on error.
 * Errors: those of lx_map_run (LX_EINVAL, LX_ECONFLICT, ...). */
LX_NODISCARD int lx_hropen_worker_from_canonical(const lx_hropen *h,
                                                 const json_t *person,
                                                 const json_t *worker,
                                                 const lx_map_resolver *res,
                                                 json_t **out, lx_error *err);
LX_NODISCARD int lx_hropen_organization_from_canonical(
    const lx_hropen *h, const json_t *organization, const lx_map_resolver *res,
    json_t **out, lx_error *err);

#endif
