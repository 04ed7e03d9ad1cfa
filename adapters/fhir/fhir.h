/* adapters/fhir/fhir.h: the FHIR R4 adapter.
 *
 * Loads the R4 type table (schemas/fhir/r4/types.json) and the mappings
 * under schemas/maps/fhir/ once, and converts between FHIR resources (JSON
 * or XML) and canonical records. The REST facade (fhir_rest.h) and the
 * outbound delivery (fhir_out.h) are built on it.
 *
 * Threads: an lx_fhir is immutable once opened; any number of threads may
 * use it at once. */
#ifndef LX_ADAPTERS_FHIR_H
#define LX_ADAPTERS_FHIR_H

#include "adapters/map/map.h"
#include "core/buf.h"
#include "core/error.h"

#include <jansson.h>
#include <stdbool.h>

typedef struct lx_fhir lx_fhir;

/* Open the adapter from the schema root (the folder holding fhir/r4/ and
 * maps/fhir/). Errors: those of lx_fhir_types_load and lx_map_load, naming
 * the file; LX_ECONFIG when two mappings claim one resource type. */
LX_NODISCARD int lx_fhir_open(const char *schema_root, lx_fhir **out,
                              lx_error *err);
void lx_fhir_close(lx_fhir **f);

/* Resource types the adapter maps, in a stable order (borrowed). */
size_t lx_fhir_type_count(const lx_fhir *f);
const char *lx_fhir_type_at(const lx_fhir *f, size_t i);
/* The canonical entity a resource type maps to, or NULL. */
const char *lx_fhir_entity_of(const lx_fhir *f, const char *resource_type);
/* The mapping of a resource type, or NULL (borrowed). */
const lx_map *lx_fhir_map_of(const lx_fhir *f, const char *resource_type);
/* The resource type an entity goes out as (the first mapping of that
 * entity, or `prefer` when it has a mapping for it), or NULL. */
const char *lx_fhir_type_for(const lx_fhir *f, const char *entity,
                             const char *prefer);

typedef enum lx_fhir_format { LX_FHIR_JSON = 0, LX_FHIR_XML = 1 } lx_fhir_format;

/* Parse a request body as FHIR JSON or XML. XML is converted to the JSON
 * form by the rules of the specification; it never loads a DTD or an
 * external entity. Errors: LX_ESYNTAX (with line/column), LX_ESCHEMA
 * (unknown element), LX_ELIMIT. */
LX_NODISCARD int lx_fhir_parse(const lx_fhir *f, const char *body, size_t len,
                               lx_fhir_format format, size_t max_len,
                               json_t **out, lx_error *err);

/* Serialize a resource (JSON tree) as JSON or XML, appending to out. */
LX_NODISCARD int lx_fhir_serialize(const lx_fhir *f, const json_t *resource,
                                   lx_fhir_format format, lx_buf *out,
                                   lx_error *err);

/* FHIR JSON text to FHIR XML, appended to out: lx_fhir_parse followed by
 * lx_fhir_serialize(LX_FHIR_XML), with the structure check done once, by
 * the XML writer itself, instead of once in the parse and again in the
 * write. The same answers as those two calls, except that the output
 * ceiling is out->max alone. On error out is left as it was.
 * Errors: those of lx_fhir_parse for LX_FHIR_JSON (LX_ESYNTAX with line
 * and column, LX_ESCHEMA with a FHIRPath in err->where, LX_ELIMIT). */
LX_NODISCARD int lx_fhir_json_text_to_xml(const lx_fhir *f, const char *body,
                                          size_t len, size_t max_len,
                                          lx_buf *out, lx_error *err);

/* Map a resource to its canonical record. *entity is borrowed from f,
 * *record a new reference. res may be NULL. trace may be NULL.
 * Errors: LX_EUNSUPPORTED (no mapping for the type), the mapping's
 * errors, located with a FHIR path in err->where ("Patient.birthDate"). */
LX_NODISCARD int lx_fhir_to_canonical(const lx_fhir *f, const json_t *resource,
                                      const lx_map_resolver *res,
                                      const char **entity, json_t **record,
                                      lx_map_trace *trace, lx_error *err);

/* Map a canonical record to a resource of `resource_type`. */
LX_NODISCARD int lx_fhir_from_canonical(const lx_fhir *f,
                                        const char *resource_type,
                                        const json_t *record,
                                        const lx_map_resolver *res,
                                        json_t **resource, lx_error *err);

/* The same, with the resource's logical id: the resource starts with
 * resourceType then id (as FHIR JSON is usually written), whatever id the
 * mapping wrote. One copy of the mapping's output instead of two. */
LX_NODISCARD int lx_fhir_from_canonical_with_id(const lx_fhir *f,
                                                const char *resource_type,
                                                const char *id,
                                                const json_t *record,
                                                const lx_map_resolver *res,
                                                json_t **resource,
                                                lx_error *err);

/* An OperationOutcome with one issue (new reference). expression may be
 * NULL. severity "error"/"warning"/"information"; code a FHIR issue-type
 * ("invalid", "structure", "required", "not-found", "processing", ...). */
json_t *lx_fhir_outcome(const char *severity, const char *code,
                        const char *diagnostics, const char *expression);

/* The FHIR issue-type code for an LX_E* error code. */
const char *lx_fhir_issue_code(int lx_code);

/* Turn a canonical JSON pointer ("/birth_date") into the FHIR path that
 * produced it, using a mapping trace; NULL when the trace does not say. */
const char *lx_fhir_path_for(const lx_map_trace *trace, const char *pointer);

#endif
