/* canonical/registry.h: the canonical schema registry.
 *
 * Canonical schemas are files laid out as <dir>/<entity>/<version>.json
 * (schemas/canonical/person/v1.json). Loading compiles every one of them;
 * afterwards the registry is read-only and any number of threads may read
 * it. Entity names are [a-z][a-z0-9_]*, versions "v1", "v2", ...; the
 * latest version of an entity is the one with the highest number. */
#ifndef LX_CANONICAL_REGISTRY_H
#define LX_CANONICAL_REGISTRY_H

#include "canonical/schema.h"
#include "core/error.h"

#include <stddef.h>

typedef struct lx_registry lx_registry;

/* Load and compile every schema under dir. Errors: LX_EIO (dir unreadable),
 * LX_ENOTFOUND (no schema at all), LX_ESYNTAX/LX_ESCHEMA (a file that does
 * not parse or compile: err->where names the file, the message the schema
 * pointer), LX_EINVAL (a badly named entity folder or version file). */
LX_NODISCARD int lx_registry_load(const char *dir, lx_registry **out,
                                  lx_error *err);

void lx_registry_destroy(lx_registry **reg);

/* The compiled schema of `entity` at `version` (NULL: the latest).
 * *out is borrowed from the registry. Errors: LX_ENOTFOUND, whose message
 * lists the known entities (or versions). */
LX_NODISCARD int lx_registry_get(const lx_registry *reg, const char *entity,
                                 const char *version, const lx_schema **out,
                                 lx_error *err);

/* Number of entities, and the i-th entity's name (sorted; borrowed). */
size_t lx_registry_count(const lx_registry *reg);
const char *lx_registry_entity(const lx_registry *reg, size_t i);

#endif
