/* canonical/registry.h: the canonical schema registry.
 *
 * Canonical schemas are files laid out as <dir>/<entity>/<version>.json
 * (schemas/canonical/person/v1.json):
 *   - entity folders are named [a-z][a-z0-9_]*, at most
 *     LX_REGISTRY_NAME_MAX - 1 characters;
 *   - version files are v1.json, v2.json, ... (no leading zeros, at most
 *     v9999); the latest version of an entity is the highest number;
 *   - each file is a JSON Schema for the 2020-12 dialect: "$schema", when
 *     present, must be LX_REGISTRY_DRAFT (see canonical/schema.h for what
 *     the validator supports).
 * Entries starting with '.' are ignored, so are plain files beside the
 * entity folders, files other than *.json in them, and entity folders
 * without any version file. Loading compiles every schema; any problem
 * fails the whole load, so that a reload keeps the registry in use.
 *
 * Threads: a loaded registry is read-only; any number of threads may call
 * the getters and validate with the schemas they return at the same time.
 * Load and destroy are not concurrent with anything on the same object. */
#ifndef LX_CANONICAL_REGISTRY_H
#define LX_CANONICAL_REGISTRY_H

#include "canonical/schema.h"
#include "core/error.h"

#include <stddef.h>

typedef struct lx_registry lx_registry; /* opaque, read-only once loaded */

#define LX_REGISTRY_NAME_MAX 64             /* entity name, NUL included */
#define LX_REGISTRY_FILE_MAX ((size_t)4 << 20) /* one schema file, bytes */
#define LX_REGISTRY_DRAFT "https://json-schema.org/draft/2020-12/schema"

/* Load and compile every schema under dir (borrowed).
 * Ownership: *out is owned by the caller (lx_registry_destroy); NULL on
 * error.
 * Errors, err->where naming the directory or file:
 *   LX_ENOTFOUND  dir does not exist, or holds no schema at all;
 *   LX_EIO        dir or a file cannot be read;
 *   LX_EINVAL     a badly named entity folder or *.json version file;
 *   LX_ESYNTAX    a file is not JSON (with line and column);
 *   LX_ELIMIT     a file larger than LX_REGISTRY_FILE_MAX, or a schema
 *                 nested too deep;
 *   LX_ESCHEMA, LX_EUNSUPPORTED  a schema that does not compile, or is of
 *                 another dialect: err->line/column locate the offending
 *                 keyword in the file and the message names its JSON
 *                 pointer ("schema person/v1 at /properties/name/type:
 *                 unknown type 'text'"). */
LX_NODISCARD int lx_registry_load(const char *dir, lx_registry **out,
                                  lx_error *err);

/* Free the registry and its schemas. NULL and *reg == NULL are fine; *reg
 * becomes NULL. Schemas obtained from it must no longer be in use. */
void lx_registry_destroy(lx_registry **reg);

/* The compiled schema of `entity` at `version` ("v2"; NULL for the
 * latest). Ownership: *out is borrowed from the registry and lives as long
 * as it; NULL on error.
 * Errors: LX_ENOTFOUND for an unknown entity, the message listing the
 * known entities ("unknown entity type 'spaceship' (known: coverage,
 * invoice, ...)"), or an unknown version, the message listing the
 * entity's versions; LX_EINVAL for a version not written v<N>.
 * err->where is "/entity" or "/version", the members that name them in a
 * request. */
LX_NODISCARD int lx_registry_get(const lx_registry *reg, const char *entity,
                                 const char *version, const lx_schema **out,
                                 lx_error *err);

/* Number of entities, and the i-th entity's name (sorted; borrowed, lives
 * as long as reg; NULL when i >= count). */
size_t lx_registry_count(const lx_registry *reg);
const char *lx_registry_entity(const lx_registry *reg, size_t i);

/* The latest version number of `entity` (2 for "v2"), 0 when unknown. */
unsigned lx_registry_latest(const lx_registry *reg, const char *entity);

#endif
