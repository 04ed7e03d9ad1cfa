/* adapters/map/map.h: the declarative mapping engine.
 *
 * A mapping is a JSON file (docs/mapping.md), by convention
 * schemas/maps/<adapter>/<entity>.json, that says how a native tree (FHIR
 * JSON, an X12 segment tree, HR Open JSON, ...) and a canonical record
 * correspond. It is compiled ONCE, at load, into an immutable program:
 * paths are split into steps, code tables become hash tables, date
 * pictures become token lists, XSLT stylesheets are parsed. Running it
 * touches no file and re-parses nothing.
 *
 * One file serves both directions: LX_MAP_IN (native -> canonical) runs
 * each rule forward, LX_MAP_OUT (canonical -> native) runs the rules that
 * are two-way through their inverse, plus the rules declared "out".
 *
 * Threads: a compiled lx_map is immutable; any number of threads may run
 * it at once. A trace and a resolver context belong to one run at a time.
 *
 * Errors never quote a value from the input (values are personal data):
 * they name the rule and the source path. */
#ifndef LX_ADAPTERS_MAP_H
#define LX_ADAPTERS_MAP_H

#include "core/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct lx_map lx_map; /* opaque, immutable once compiled */

/* Ceiling on the size of one mapping file. */
#define LX_MAP_FILE_MAX ((size_t)4 << 20)

typedef enum lx_map_dir {
    LX_MAP_IN = 0, /* native -> canonical */
    LX_MAP_OUT = 1 /* canonical -> native */
} lx_map_dir;

/* ---- loading ---- */

/* Read, parse and compile the mapping file at `path`. Relative stylesheet
 * paths resolve against the file's directory.
 * Ownership: *out is the caller's (lx_map_destroy); NULL on error.
 * Errors, located at the file with line and column and naming the rule
 * ("rule 'family' (#2.1)") and its JSON pointer in the message:
 *   LX_EIO (cannot read), LX_ELIMIT (over LX_MAP_FILE_MAX), LX_ESYNTAX
 *   (not JSON, bad path syntax, bad date picture), LX_ECONFIG (unknown
 *   rule type, key or transform, undefined table, a one-way rule without a
 *   direction, a rule declared invertible that is not), LX_EUNSUPPORTED
 *   ("format" other than 1). */
LX_NODISCARD int lx_map_load(const char *path, lx_map **out, lx_error *err);

/* Compile mapping text[0..len) (the file content). `name` names it in
 * errors (a file name); `base_dir` resolves stylesheets (NULL: the current
 * directory). Same errors as lx_map_load, with line and column. */
LX_NODISCARD int lx_map_compile_text(const char *text, size_t len,
                                     const char *name, const char *base_dir,
                                     lx_map **out, lx_error *err);

/* Compile an already parsed document (borrowed; the program keeps no
 * reference to it). Errors carry the JSON pointer but no line/column. */
LX_NODISCARD int lx_map_compile(const json_t *doc, const char *name,
                                const char *base_dir, lx_map **out,
                                lx_error *err);

/* NULL is fine; *m is set to NULL. */
void lx_map_destroy(lx_map **m);

/* The file's "id" (or the name it was compiled under), "canonical.entity"
 * and "native.type" (NULL when absent). Valid while the map lives. */
const char *lx_map_id(const lx_map *m);
const char *lx_map_entity(const lx_map *m);
const char *lx_map_native_type(const lx_map *m);

/* Whether the first step of `dir` reads XML text rather than a JSON tree:
 * then lx_map_run wants the document as a JSON string. */
bool lx_map_input_is_text(const lx_map *m, lx_map_dir dir);

/* ---- references ---- */

/* How a "ref" rule turns a native reference into a canonical one and back.
 * The adapters pass a store-backed resolver (lx_map_resolver_store); tests
 * pass their own. Both functions return 0, LX_ENOTFOUND when there is no
 * cross-reference (the rule's "unresolved" policy applies), or another
 * code that fails the run (a store error). Output buffers are always
 * NUL-terminated on success; a value that does not fit is LX_ELIMIT. */
typedef struct lx_map_resolver {
    /* native type ("Organization") + native id ("1") -> entity
     * ("organization") + canonical id ("org_01J..."). */
    int (*to_canonical)(void *ctx, const char *native_type,
                        const char *native_id, char *entity, size_t entity_size,
                        char *id, size_t id_size, lx_error *err);
    /* entity + canonical id -> native type + native id. want_type is the
     * rule's "native_type" (NULL when the rule does not fix one): prefer
     * a cross-reference of that type. */
    int (*to_native)(void *ctx, const char *entity, const char *id,
                     const char *want_type, char *native_type,
                     size_t native_type_size, char *native_id,
                     size_t native_id_size, lx_error *err);
    void *ctx;
    /* Optional, asked first for every native reference (the whole text,
     * "urn:uuid:..." included): a reference the caller resolves itself,
     * such as one to another entry of the same FHIR transaction Bundle.
     * Return 0 with *ref a new canonical reference object ({"entity",
     * "id"} or {"entity", "identifier"}), LX_ENOTFOUND to let
     * to_canonical resolve it, or another code that fails the run. */
    int (*to_canonical_ref)(void *ctx, const char *reference, json_t **ref,
                            lx_error *err);
} lx_map_resolver;

/* Buffer sizes the engine passes to the resolver. */
#define LX_MAP_ENTITY_SIZE 65
#define LX_MAP_ID_SIZE 48
#define LX_MAP_NATIVE_TYPE_SIZE 65
#define LX_MAP_NATIVE_ID_SIZE 257

struct lx_store;

/* Context of the store-backed resolver: the store and the system whose
 * cross-references are used ("ehr"). Both borrowed; they must outlive the
 * runs. */
typedef struct lx_map_store_ctx {
    struct lx_store *store;
    const char *system;
} lx_map_store_ctx;

/* Fill *r with the resolver over lx_store_xref_find / lx_store_xref_list.
 * ctx is borrowed by *r. Thread-safe as the store's reads are. */
void lx_map_resolver_store(lx_map_resolver *r, lx_map_store_ctx *ctx);

/* ---- lineage ---- */

/* Field lineage of one run: for each value written, which rule wrote it
 * and from which source path. Paths are concrete (indexes, not filters);
 * canonical ones are JSON pointers ("/name/given/0"), native ones dotted
 * and prefixed by the native type ("Patient.name[0].given[0]"). Never a
 * value. */
typedef struct lx_map_trace lx_map_trace;

typedef struct lx_map_lineage {
    const char *target;  /* the field written */
    const char *rule;    /* "rule 'family' (#2.1)" */
    const char *rule_id; /* "family" ("" when the rule has no id) */
    const char *source;  /* source path; "(constant)", "(default)" or
                            "(filter)" when no source value was read;
                            concat sources are joined with " + " */
} lx_map_lineage;

lx_map_trace *lx_map_trace_new(void);
void lx_map_trace_destroy(lx_map_trace **t);
size_t lx_map_trace_count(const lx_map_trace *t);
/* Entry i < count, borrowed until the next run or destroy. */
const lx_map_lineage *lx_map_trace_get(const lx_map_trace *t, size_t i);
/* [{"target","rule","rule_id","source"}, ...], new reference. */
json_t *lx_map_trace_to_json(const lx_map_trace *t);

/* ---- running ---- */

/* Map `input` (borrowed) in direction `dir` into *output (a new reference
 * the caller owns; NULL on error). On a run error err->where holds the
 * source path when there is one ("Patient.birthDate"). res may be NULL: then "ref" rules meet
 * every reference as unresolved. trace may be NULL; when given it is
 * cleared, then filled.
 * Errors (message "rule 'id' (#n): source PATH: what", no value quoted):
 *   LX_EINVAL    a value the mapping cannot take (unmapped code, not a
 *                date in the rule's format, not a number, ...)
 *   LX_ENOTFOUND an unresolved reference under the "error" policy
 *   LX_ECONFLICT two rules write incompatible shapes at one target
 *   LX_ESYNTAX   an XSLT step's input is not well-formed XML, or has a
 *                DOCTYPE (no DTD is ever read)
 *   LX_EINVAL    also: an XSLT step failed, forbidden file or network
 *                access included
 *   LX_ELIMIT    a value or an output over the engine's ceilings
 *   and whatever the resolver returns. */
LX_NODISCARD int lx_map_run(const lx_map *m, lx_map_dir dir,
                            const json_t *input, const lx_map_resolver *res,
                            json_t **output, lx_map_trace *trace,
                            lx_error *err);

#endif
