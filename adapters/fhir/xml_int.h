/* adapters/fhir/xml_int.h: private to the FHIR XML codec (xml*.c), the
 * only place in Lingua that includes libxml2. */
#ifndef LX_ADAPTERS_FHIR_XML_INT_H
#define LX_ADAPTERS_FHIR_XML_INT_H

#include "adapters/fhir/xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <stdbool.h>

/* Parse xml[0..len) into a DOM with the safe options (no network, no DTD,
 * no entity substitution, CDATA merged into text, no messages on stderr).
 * A DOCTYPE stops the parser before its internal subset is read.
 * Ownership: *out is the caller's (xmlFreeDoc); NULL on error.
 * Errors: LX_ESYNTAX with err->line/column from libxml2 (where is left to
 * the caller), LX_ELIMIT when len does not fit libxml2's int. */
int lx_fhir_xml_parse(const char *xml, size_t len, xmlDoc **out,
                      lx_error *err);

/* Append s[0..n) escaped for XML text (attr false: & < > ") or for a
 * double-quoted attribute value (attr true: also tab, CR and LF as
 * character references, so that attribute-value normalization keeps them).
 * Returns 0, LX_ELIMIT (buffer ceiling) or LX_ESCHEMA when s holds a
 * character XML 1.0 cannot carry (C0 controls but tab, CR, LF; U+FFFE,
 * U+FFFF); nothing is reported in an lx_error: the caller locates it. */
int lx_fhir_xml_escape(lx_buf *b, const char *s, size_t n, bool attr);

/* What lx_fhir_xml_escape would append for s[0..n), without writing it:
 * its length in *len, or LX_ESCHEMA for the same characters. */
int lx_fhir_xml_escaped_len(const char *s, size_t n, bool attr, size_t *len);

/* Append the XHTML element `div` and its content as XML text: the element
 * carries the namespace declarations it needs (xmlns on the div itself),
 * text is escaped as by lx_fhir_xml_escape, empty elements are written
 * <br/>, comments are kept, processing instructions dropped. `depth` is
 * the nesting depth of div itself; LX_FHIR_XML_MAX_DEPTH applies.
 * Errors (message in err, location left to the caller, *line set to the
 * line of the offending node when known): LX_ELIMIT, LX_ESCHEMA. */
int lx_fhir_xhtml_write(lx_buf *b, const xmlNode *div, int depth, long *line,
                        lx_error *err);

/* Is the narrative text[0..len) certainly accepted, with nothing more to
 * say, by lx_fhir_xml_parse, the div checks (one div element, XHTML or no
 * namespace) and lx_fhir_xhtml_write at `depth`? True only when it is,
 * for a plain subset of XHTML (no prefixes, comments, CDATA, processing
 * instructions, entities but the predefined ones), with in *out_max a
 * bound on the length lx_fhir_xhtml_write would write. False means "not
 * sure": the caller asks libxml2. No allocation. */
bool lx_fhir_xhtml_quick_check(const char *text, size_t len, int depth,
                               size_t *out_max);

/* lx_fhir_xhtml_quick_check, and when it says yes, append to b exactly
 * what lx_fhir_xml_parse + lx_fhir_xhtml_write would, without libxml2.
 * False (b as it was) when the check is not sure or b's ceiling is met:
 * the caller takes libxml2's path, which reports errors. */
bool lx_fhir_xhtml_quick_write(lx_buf *b, const char *text, size_t len,
                               int depth);

/* True when the element is in the namespace `ns`. */
bool lx_fhir_xml_in_ns(const xmlNode *node, const char *ns);

#endif
