/* adapters/fhir/types.h: the FHIR R4 type table (which elements each type
 * has, their types, whether they repeat, their order).
 *
 * The table is data: schemas/fhir/r4/types.json, generated from the
 * official R4 JSON schema by schemas/fhir/r4/generate.py (see there for the
 * rules and docs/fhir-codec.md for how the codec uses it). It holds every
 * resource, complex datatype and backbone element of R4 and the primitive
 * types with their JSON representation. Choice elements are listed under
 * their concrete names (deceasedBoolean, deceasedDateTime), so a lookup by
 * the XML element name or the JSON property name finds them directly.
 *
 * Load it once at start-up, then look up as often as needed: lookups are
 * hash-table probes that never allocate.
 *
 * Threads: a loaded table is read-only; any number of threads may look up
 * in it at the same time. Load and destroy are not concurrent with anything
 * on the same table. */
#ifndef LX_ADAPTERS_FHIR_TYPES_H
#define LX_ADAPTERS_FHIR_TYPES_H

#include "core/error.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct lx_fhir_types lx_fhir_types; /* opaque, read-only once loaded */
typedef struct lx_fhir_type lx_fhir_type;   /* opaque, borrowed from a table */

/* Largest type table file accepted, bytes. */
#define LX_FHIR_TYPES_FILE_MAX ((size_t)8 << 20)

/* Longest type or element name the table may hold, bytes (R4's longest
 * element name has 33 characters). */
#define LX_FHIR_NAME_MAX 127

enum lx_fhir_kind {
    LX_FHIR_PRIMITIVE = 1, /* string, boolean, decimal, ..., xhtml */
    LX_FHIR_COMPLEX,       /* datatypes: HumanName, Extension, Element, ... */
    LX_FHIR_BACKBONE,      /* Patient_Contact, Bundle_Entry, ... */
    LX_FHIR_RESOURCE,      /* Patient, Bundle, ... */
    LX_FHIR_ANY_RESOURCE   /* "Resource": contained, Bundle.entry.resource */
};

/* How a primitive is written in JSON (json.html). */
enum lx_fhir_json {
    LX_FHIR_JSON_NONE = 0, /* not a primitive */
    LX_FHIR_JSON_STRING,
    LX_FHIR_JSON_NUMBER,   /* decimal, integer, positiveInt, unsignedInt */
    LX_FHIR_JSON_BOOLEAN,
    LX_FHIR_JSON_XHTML     /* Narrative.div: a string holding XHTML */
};

/* One element of a type. Read-only; lives as long as the table. */
typedef struct lx_fhir_element {
    const char *name;           /* "given", "deceasedBoolean" */
    size_t name_len;
    const lx_fhir_type *parent; /* the type this element belongs to */
    const lx_fhir_type *type;   /* its type; never NULL */
    unsigned order;             /* index in the parent's definition order */
    bool is_array;              /* repeats: a JSON array */
    bool is_attr;               /* an XML attribute (Element.id,
                                   Extension.url), not a child element */
} lx_fhir_element;

/* Load the table from `path` (borrowed), e.g. schemas/fhir/r4/types.json.
 * Ownership: *out is owned by the caller (lx_fhir_types_destroy); NULL on
 * error.
 * Errors: LX_EIO (cannot read), LX_ELIMIT (over LX_FHIR_TYPES_FILE_MAX),
 * LX_ESYNTAX (not JSON, with line and column), LX_ECONFIG (JSON that is
 * not a type table, or a name longer than LX_FHIR_NAME_MAX: the message
 * names the JSON pointer of the problem);
 * err->where is the path. */
LX_NODISCARD int lx_fhir_types_load(const char *path, lx_fhir_types **out,
                                    lx_error *err);

/* Free the table. NULL and *types == NULL are fine; *types becomes NULL.
 * Nothing borrowed from it may be used afterwards. */
void lx_fhir_types_destroy(lx_fhir_types **types);

/* The type named name[0..len) ("Patient", "HumanName", "string",
 * "Resource"), or NULL when there is none. Borrowed from the table. */
const lx_fhir_type *lx_fhir_types_find(const lx_fhir_types *types,
                                       const char *name, size_t len);

/* The element name[0..len) of `parent` ("Patient" + "birthDate"), or NULL
 * when the type has no such element. Borrowed from the table. */
const lx_fhir_element *lx_fhir_types_element(const lx_fhir_types *types,
                                             const lx_fhir_type *parent,
                                             const char *name, size_t len);

/* The type "Element" (id + extension): what a primitive carries besides its
 * value, i.e. the content of a JSON "_field" object. Never NULL. */
const lx_fhir_type *lx_fhir_types_element_type(const lx_fhir_types *types);

/* Properties of a type. */
const char *lx_fhir_type_name(const lx_fhir_type *type);
enum lx_fhir_kind lx_fhir_type_kind(const lx_fhir_type *type);
enum lx_fhir_json lx_fhir_type_json(const lx_fhir_type *type);

/* Its elements in definition order: index 0 .. count - 1. */
size_t lx_fhir_type_element_count(const lx_fhir_type *type);
const lx_fhir_element *lx_fhir_type_element_at(const lx_fhir_type *type,
                                               size_t index);

#endif
