/* adapters/rest/rest_out.h: the outbound REST adapter: canonical change
 * events become templated HTTP calls on a plain JSON system (run by the
 * delivery engine, adapters/delivery/delivery.h).
 *
 * The instance's configuration (docs/rest-adapter.md):
 *   "transport": {"url": "http://127.0.0.1:9102/api"},
 *   "auth": {...}                      (adapters/rest/rest_auth.h)
 *   "map": "rest/badge-person.json",   run canonical -> native
 *   "native_type": "holder",           default: the mapping's native.type
 *   "create": {"method": "POST", "path": "/holders"},
 *   "update": {"method": "PUT", "path": "/holders/{native_id}"},
 *   "delete": {"method": "DELETE", "path": "/holders/{native_id}"},
 *   "id_from": "location" | "body:/id" | "record:/identifiers/0/value",
 *   "headers": {"X-Source": "lingua"}
 *
 * An upsert event is mapped to the body; when the cross-reference knows
 * the system's id of the record (system + native type), the call is
 * "update" on that id, else "create" (also when no "update" is given).
 * A "<entity>.deleted" event is "delete" when the id is known and a
 * "delete" route is given; else it is skipped (the system never had the
 * record, or is not told about deletes). After a 2xx the id the system
 * gave ("id_from", default "location", then "body:/id") goes into the
 * cross-reference. Paths are templates (rest_template.h) over {native_id},
 * {canonical_id}, {entity} and {/pointer} into the canonical record.
 *
 * OAuth2: the delivery performs the call through this adapter (the
 * `perform` op), which puts the current token in each attempt and, on a
 * 401, fetches a new token and tries once more before the 401 counts.
 *
 * Threads: the ops may be called from several delivery threads at once. */
#ifndef LX_ADAPTERS_REST_OUT_H
#define LX_ADAPTERS_REST_OUT_H

#include "adapters/delivery/delivery.h"
#include "adapters/map/map.h"

#include <jansson.h>

typedef struct lx_rest_out lx_rest_out;

/* Build the native body of an upsert event instead of the mapping (HR
 * Open's JEDx documents). *body: a new reference; *skip true when the
 * event has nothing for the system; native_type[size]: the cross-reference
 * type. Errors are refusals of the event (like a 4xx). */
typedef int (*lx_rest_body_fn)(void *ctx, lx_store *store, const json_t *event,
                               const lx_map_resolver *res, json_t **body,
                               bool *skip, char *native_type, size_t size,
                               lx_error *err);

typedef struct lx_rest_out_env {
    const char *system;    /* the target system's name in the hub */
    const char *maps_dir;  /* where relative "map" paths are (schemas/maps) */
    lx_rest_body_fn body;  /* NULL: the "map" member is required */
    void *body_ctx;
    /* Defaults when the configuration has no such member ("POST" and
     * "" = the URL itself, say); NULL: none. */
    const char *default_create_method, *default_create_path;
    const char *default_update_method, *default_update_path;
} lx_rest_out_env;

/* Read the instance's configuration `conf` (borrowed) and load its
 * mapping. Ownership: *out is the caller's (lx_rest_out_destroy).
 * Errors: LX_ECONFIG, the message starting with the member
 * ("create/path: ..."); those of lx_map_load. */
LX_NODISCARD int lx_rest_out_new(const json_t *conf,
                                 const lx_rest_out_env *env,
                                 lx_rest_out **out, lx_error *err);
void lx_rest_out_destroy(lx_rest_out **o);

/* The delivery operations; ops->ctx is o. */
void lx_rest_out_ops(lx_rest_out *o, lx_outbound_ops *ops);

/* The URL calls go to (for logs; no secret is in it). */
const char *lx_rest_out_url(const lx_rest_out *o);

/* OAuth2 tokens fetched so far (0 without OAuth2). */
uint64_t lx_rest_out_token_count(lx_rest_out *o);

#endif
