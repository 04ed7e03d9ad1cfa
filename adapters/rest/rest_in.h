/* adapters/rest/rest_in.h: native JSON records of a REST system ->
 * canonical records in the store, for the inbound webhook and the poller
 * alike.
 *
 * A body holds one native record (an object), a list of them (an array),
 * or a list at the "items" pointer ({"items": [...], "next": ...}). Each
 * record is mapped with the instance's mapping file (docs/mapping.md,
 * direction in), validated against its canonical schema, and the records
 * of one body are stored all or nothing (one group commit). The record's
 * id in the system (the "id" pointer, "/id" by default) becomes the
 * cross-reference (system + native type + native id).
 *
 * Threads: an lx_rest_in is immutable once made; any number of threads may
 * ingest at once. */
#ifndef LX_ADAPTERS_REST_IN_H
#define LX_ADAPTERS_REST_IN_H

#include "adapters/map/map.h"
#include "canonical/registry.h"
#include "canonical/store.h"
#include "core/error.h"

#include <jansson.h>

typedef struct lx_rest_in lx_rest_in;

typedef struct lx_rest_in_options {
    const char *map_path;    /* the mapping file (its canonical.entity is
                                the records' entity) */
    const char *system;      /* source system */
    const char *adapter;     /* adapter instance */
    const char *items;       /* pointer of the record list in a body;
                                NULL: the body is a record or a list */
    const char *id;          /* pointer of the id in a record; NULL: "/id";
                                "" in a record without it: matched by its
                                identifiers only */
    const char *native_type; /* NULL: the mapping's native.type, else the
                                entity */
} lx_rest_in_options;

/* Load the mapping. Strings are copied. Ownership: *out is the caller's.
 * Errors: those of lx_map_load (located in the mapping file); LX_ECONFIG
 * for a mapping without canonical.entity or a bad pointer (the message
 * names the member: "items: ..."). */
LX_NODISCARD int lx_rest_in_new(const lx_rest_in_options *opts,
                                lx_rest_in **out, lx_error *err);
void lx_rest_in_destroy(lx_rest_in **in);

const char *lx_rest_in_entity(const lx_rest_in *in);

/* Map, validate and store the records of body[0..len). `transport`
 * ("webhook", "poll") goes into each version's note. On success *answer
 * (new reference) is {"records": [{"entity", "native_id", "canonical_id",
 * "version", "created", "unchanged"}]}. Nothing is stored on error.
 * Errors: LX_ESYNTAX (not JSON: line, column), LX_EINVAL (no list at
 * "items", a record that is not an object, a value the mapping cannot
 * take: the message starts with the record's pointer, "/items/3: rule
 * ..."), LX_ESCHEMA (the mapped record is not valid: "/items/3: mapped
 * record: ...", err->where the pointer in the canonical record),
 * LX_ELIMIT (more than LX_STORE_GROUP_MAX records), the store's. */
LX_NODISCARD int lx_rest_in_ingest(const lx_rest_in *in, lx_store *store,
                                   const lx_registry *reg, const char *body,
                                   size_t len, const char *transport,
                                   json_t **answer, lx_error *err);

/* The same, from records already parsed and found (borrowed): one
 * record (an object) or a list of them; "items" is not applied. `at` is
 * the pointer of `records` in its document, prefixed to the records'
 * pointers in errors ("" or "/items"). */
LX_NODISCARD int lx_rest_in_ingest_records(const lx_rest_in *in,
                                           lx_store *store,
                                           const lx_registry *reg,
                                           const json_t *records,
                                           const char *at,
                                           const char *transport,
                                           json_t **answer, lx_error *err);

#endif
