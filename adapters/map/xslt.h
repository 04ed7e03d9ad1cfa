/* adapters/map/xslt.h: the XSLT 1.0 step of mappings (libxslt).
 *
 * The only place in the mapping engine that touches libxml2 and libxslt;
 * none of their types leave xslt.c.
 *
 * Safety: stylesheets come from the mapping's author, documents from
 * partners. Documents are parsed without network access (XML_PARSE_NONET),
 * without loading any DTD and without expanding entities; a document with a
 * DOCTYPE is refused outright. While a stylesheet runs, libxslt's security
 * preferences forbid reading and writing files, creating directories and
 * reading or writing the network, so document('file:///etc/passwd') and
 * xsl:document fail the transform; so does document(''), which libxslt
 * reads from the file again (keep code tables in the mapping, or in
 * xsl:choose). EXSLT is not registered.
 *
 * Data: XML travels as a JSON string holding the document text. A JSON tree
 * goes to a stylesheet, and comes back from it, in the XPath 3.1 JSON
 * vocabulary (https://www.w3.org/TR/xpath-functions-31/#json-to-xml-mapping):
 *   {"a": [1, true]}  <->  <map xmlns="http://www.w3.org/2005/xpath-functions">
 *                            <array key="a"><number>1</number>
 *                            <boolean>true</boolean></array></map>
 * A stylesheet asked for JSON may instead emit JSON text (xsl:output
 * method="text").
 *
 * Threads: a loaded stylesheet is immutable; lx_xslt_run may run on any
 * number of threads at once. */
#ifndef LX_ADAPTERS_MAP_XSLT_H
#define LX_ADAPTERS_MAP_XSLT_H

#include "core/error.h"

#include <jansson.h>

typedef struct lx_xslt lx_xslt; /* opaque */

enum lx_xslt_kind {
    LX_XSLT_XML = 0, /* a JSON string holding an XML document */
    LX_XSLT_JSON = 1 /* a JSON tree */
};

/* Ceiling on one document handed to or produced by a stylesheet. */
#define LX_XSLT_DOC_MAX ((size_t)16 << 20)

/* Parse and compile the stylesheet at path (xsl:include and xsl:import
 * are resolved now, relative to it; nothing is read later).
 * Ownership: *out is the caller's (lx_xslt_destroy). Errors: LX_EIO
 * (cannot read), LX_ESYNTAX (not well-formed, not a stylesheet), with the
 * line when libxml2 knows it. */
LX_NODISCARD int lx_xslt_load(const char *path, lx_xslt **out, lx_error *err);

/* NULL is fine; *x is set to NULL. */
void lx_xslt_destroy(lx_xslt **x);

/* Run the stylesheet on input (borrowed; a string for LX_XSLT_XML, any
 * JSON for LX_XSLT_JSON) and return the result as `output` asks: *out is a
 * new reference (NULL on error).
 * Errors: LX_ESYNTAX (input not well-formed XML, or with a DOCTYPE; a JSON
 * result that does not parse), LX_EINVAL (input of the wrong kind; the
 * transform failed, forbidden file or network access included; a result in
 * the JSON vocabulary that breaks its rules), LX_ELIMIT (over
 * LX_XSLT_DOC_MAX). Messages carry libxml2's and libxslt's reasons
 * (positions, element and entity names), never document text; but the
 * text of an xsl:message is the stylesheet author's, who must keep
 * values out of it. */
LX_NODISCARD int lx_xslt_run(const lx_xslt *x, const json_t *input,
                             int input_kind, int output_kind, json_t **out,
                             lx_error *err);

#endif
