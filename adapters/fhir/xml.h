/* adapters/fhir/xml.h: the FHIR R4 XML codec, XML <-> JSON by the rules of
 * https://hl7.org/fhir/R4/xml.html and json.html.
 *
 * The JSON side is the standard FHIR JSON form as a jansson tree, the
 * native tree every FHIR adapter works on. The type table (types.h) says
 * which elements repeat, which primitives are JSON numbers or booleans and
 * in which order XML elements are written. docs/fhir-codec.md has the rules
 * in full, the limits and what is not supported.
 *
 * Safety: XML is parsed by libxml2 without network access, without loading
 * or validating DTDs and without substituting entities; a document with a
 * DOCTYPE is refused before its internal subset is read (FHIR forbids
 * DTDs, xml.html), so no external entity is ever fetched or expanded.
 *
 * Threads: the functions keep no state; any number of threads may convert
 * at the same time with the same type table. Call lx_fhir_xml_init() once
 * from the main thread before starting threads that use the codec. */
#ifndef LX_ADAPTERS_FHIR_XML_H
#define LX_ADAPTERS_FHIR_XML_H

#include "adapters/fhir/types.h"
#include "core/buf.h"
#include "core/error.h"

#include <jansson.h>
#include <stddef.h>

#define LX_FHIR_NS "http://hl7.org/fhir"
#define LX_XHTML_NS "http://www.w3.org/1999/xhtml"

/* Deepest element nesting accepted, in either direction, XHTML narrative
 * included (the root resource is depth 1). */
#define LX_FHIR_XML_MAX_DEPTH 100

/* Default ceiling of one XML document (max_len 0). */
#define LX_FHIR_XML_MAX_DEFAULT ((size_t)16 << 20)

/* Initialize libxml2 once per process (idempotent; not thread-safe itself,
 * so call it before starting threads). The converters call it too, which
 * is enough for single-threaded programs. */
void lx_fhir_xml_init(void);

/* Convert one FHIR resource in XML, xml[0..len) (any encoding libxml2
 * detects; UTF-8 without declaration), into its FHIR JSON form.
 * The root element names the resource ("resourceType"); repeating elements
 * become arrays, primitives JSON strings/numbers/booleans by their type,
 * their id and extensions the "_name" object; Narrative.div becomes a
 * string of serialized XHTML; nested resources (contained,
 * Bundle.entry.resource, Parameters.parameter.resource) are unwrapped.
 * Comments and whitespace between elements are dropped; attributes in a
 * namespace (xsi:schemaLocation) are ignored.
 * Ownership: *out is a new reference owned by the caller; NULL on error.
 * Errors (err->line is the line in the XML, err->where a FHIR path such as
 * "Patient.name[0].given[1]" when the error is in an element):
 *   LX_ELIMIT   len > max_len (0 means LX_FHIR_XML_MAX_DEFAULT), or nesting
 *               deeper than LX_FHIR_XML_MAX_DEPTH;
 *   LX_ESYNTAX  not well-formed XML (line and column from libxml2), or a
 *               DOCTYPE ("DOCTYPE is not allowed in FHIR XML");
 *   LX_ESCHEMA  the root is not a FHIR resource, an element is outside
 *               the FHIR namespace, an unknown element or attribute (named
 *               in the message with its path), text where only elements
 *               may be, a value that is not of its type (a decimal that is
 *               not a number, a boolean other than true/false), a single
 *               element that repeats, a primitive with neither value nor
 *               extension. */
LX_NODISCARD int lx_fhir_xml_to_json(const lx_fhir_types *types,
                                     const char *xml, size_t len,
                                     size_t max_len, json_t **out,
                                     lx_error *err);

/* Append the XML form of one FHIR resource in JSON, `resource` (borrowed),
 * to `out`: an XML declaration, then the resource element with the FHIR
 * namespace, its elements in the order of the definitions, arrays as
 * repeated elements, "_name" objects merged into their primitive element
 * (id attribute, extension children), Narrative.div parsed and written as
 * XHTML, nested resources wrapped in an element named by their type.
 * No indentation is added.
 * Ownership: out is the caller's; on error it is left as it was (its
 * length restored).
 * Errors (err->where is the JSON pointer of the offending value):
 *   LX_ESCHEMA  not a resource (no or an unknown "resourceType"), an
 *               unknown property, a value of the wrong JSON type (a string
 *               for a decimal, a number for a code), "_name" for a
 *               non-primitive, arrays of "name" and "_name" of different
 *               lengths, a character XML cannot carry (NUL and other
 *               control characters), a div that is not an XHTML div;
 *   LX_ESYNTAX  a div that is not well-formed XML (or has a DOCTYPE);
 *   LX_ELIMIT   nesting deeper than LX_FHIR_XML_MAX_DEPTH, or the output
 *               would pass out->max. */
LX_NODISCARD int lx_fhir_json_to_xml(const lx_fhir_types *types,
                                     const json_t *resource, lx_buf *out,
                                     lx_error *err);

/* The checks of lx_fhir_json_to_xml without writing the XML: the same
 * errors at the same JSON pointers, as if out->max were max_xml (0: no
 * ceiling), except that a string holding both a character XML cannot
 * carry and, before it, the byte that passes the ceiling reports the
 * character (LX_ESCHEMA) rather than the ceiling. This is the structure
 * check of a FHIR JSON resource against the R4 definitions: the narrative
 * is still parsed and written aside, everything else only walked.
 * Errors: as lx_fhir_json_to_xml. */
LX_NODISCARD int lx_fhir_json_check(const lx_fhir_types *types,
                                    const json_t *resource, size_t max_xml,
                                    lx_error *err);

#endif
