/* adapters/fhir/xml.c: what both directions of the FHIR XML codec share:
 * the safe libxml2 parse, XML escaping and the XHTML narrative writer.
 * XML -> JSON is in xml_read.c, JSON -> XML in xml_write.c. */
#include "adapters/fhir/xml_int.h"

#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

#include <limits.h>
#include <string.h>

void lx_fhir_xml_init(void)
{
    xmlInitParser();
}

bool lx_fhir_xml_in_ns(const xmlNode *node, const char *ns)
{
    return node->ns && node->ns->href &&
           strcmp((const char *)node->ns->href, ns) == 0;
}

/* ---- safe parse ------------------------------------------------------- */

/* FHIR forbids DTDs ("FHIR resources SHALL NOT contain DTDs", xml.html), and
 * a DTD is where entity expansion attacks live (external entities, "billion
 * laughs"). The SAX internalSubset callback runs as soon as
 * <!DOCTYPE name PUBLIC/SYSTEM ...> has been read and before any '['
 * internal subset: stopping there means no declaration is ever parsed and
 * nothing fetched. xmlStopParser marks the stop with XML_ERR_USER_STOP, the
 * only user stop this codec makes, so that is how it is recognised.
 * Example refused: <!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]> */
static void refuse_doctype(void *ctx, const xmlChar *name,
                           const xmlChar *external_id,
                           const xmlChar *system_id)
{
    (void)name;
    (void)external_id;
    (void)system_id;
    xmlStopParser((xmlParserCtxtPtr)ctx);
}

/* Errors are read from ctxt->lastError; nothing goes to stderr. */
static void quiet(void *ctx, xmlErrorPtr error)
{
    (void)ctx;
    (void)error;
}

/* libxml2 messages end with a newline; they name constructs, never values
 * except element names. */
static void copy_message(char *dst, size_t size, const char *msg)
{
    snprintf(dst, size, "%s", msg ? msg : "not well-formed");
    size_t n = strlen(dst);
    while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == ' '))
        dst[--n] = '\0';
}

int lx_fhir_xml_parse(const char *xml, size_t len, xmlDoc **out,
                      lx_error *err)
{
    *out = NULL;
    if (len > INT_MAX)
        return lx_error_set(err, LX_ELIMIT, "XML document over 2 GiB");
    xmlInitParser();
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    LX_ASSERT(ctxt != NULL && ctxt->sax != NULL);
    ctxt->sax->internalSubset = refuse_doctype;
    ctxt->sax->externalSubset = NULL;
    ctxt->sax->serror = quiet;
    /* Not XML_PARSE_NOENT, DTDLOAD, DTDATTR, DTDVALID, XINCLUDE or HUGE:
     * entities stay unexpanded, no DTD is read, libxml2's own size limits
     * stay on. NOCDATA merges CDATA into text (narrative). */
    int options = XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_COMPACT |
                  XML_PARSE_BIG_LINES | XML_PARSE_NOERROR |
                  XML_PARSE_NOWARNING;
    xmlDoc *doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, NULL, options);
    int rc = 0;
    if (ctxt->errNo == XML_ERR_USER_STOP) {
        long line = ctxt->input ? ctxt->input->line : 0;
        lx_error_set(err, LX_ESYNTAX, "DOCTYPE is not allowed in FHIR XML");
        if (err) {
            err->line = line;
            err->column = 0;
        }
        rc = LX_ESYNTAX;
    } else if (!doc || !ctxt->wellFormed) {
        const xmlError *e = &ctxt->lastError;
        char msg[LX_ERROR_MSG_MAX];
        copy_message(msg, sizeof(msg), e->message);
        lx_error_set(err, LX_ESYNTAX, "XML is not well-formed: %s", msg);
        if (err) {
            err->lib_code = e->code;
            err->line = e->line > 0 ? e->line : 0;
            err->column = e->int2 > 0 ? e->int2 : 0;
        }
        rc = LX_ESYNTAX;
    }
    xmlFreeParserCtxt(ctxt);
    if (rc) {
        xmlFreeDoc(doc);
        return rc;
    }
    *out = doc;
    return 0;
}

/* ---- escaping --------------------------------------------------------- */

/* How s[i] is written: kept (0, *rep NULL), replaced by *rep (0), or
 * LX_ESCHEMA when XML 1.0 cannot carry it. */
static int escape_one(const char *s, size_t i, size_t n, bool attr,
                      const char **rep)
{
    unsigned char c = (unsigned char)s[i];
    *rep = NULL;
    if (c >= 0x20 && c != '&' && c != '<' && c != '>' && c != '"') {
        /* U+FFFE and U+FFFF (EF BF BE, EF BF BF) are not XML chars. */
        if (c == 0xEF && i + 2 < n && (unsigned char)s[i + 1] == 0xBF &&
            ((unsigned char)s[i + 2] & 0xFE) == 0xBE)
            return LX_ESCHEMA;
        return 0;
    }
    switch (c) {
    case '&': *rep = "&amp;"; return 0;
    case '<': *rep = "&lt;"; return 0;
    case '>': *rep = "&gt;"; return 0;
    case '"': *rep = "&quot;"; return 0;
    case '\t': *rep = attr ? "&#9;" : NULL; return 0;
    case '\n': *rep = attr ? "&#10;" : NULL; return 0;
    /* A raw CR would be turned into LF by any XML parser. */
    case '\r': *rep = "&#13;"; return 0;
    default: return LX_ESCHEMA;
    }
}

int lx_fhir_xml_escape(lx_buf *b, const char *s, size_t n, bool attr)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep;
        int rc = escape_one(s, i, n, attr, &rep);
        if (rc)
            return rc;
        if (!rep)
            continue;
        if (lx_buf_append(b, s + start, i - start) != 0 ||
            lx_buf_puts(b, rep) != 0)
            return LX_ELIMIT;
        start = i + 1;
    }
    return lx_buf_append(b, s + start, n - start) != 0 ? LX_ELIMIT : 0;
}

int lx_fhir_xml_escaped_len(const char *s, size_t n, bool attr, size_t *len)
{
    size_t total = n;
    for (size_t i = 0; i < n; i++) {
        const char *rep;
        int rc = escape_one(s, i, n, attr, &rep);
        if (rc)
            return rc;
        if (rep)
            total += strlen(rep) - 1;
    }
    *len = total;
    return 0;
}

/* ---- XHTML narrative -------------------------------------------------- */

/* Is `ns` declared on node or an ancestor up to and including top? In a
 * libxml2 tree an element's ns points into the nsDef list of the element
 * that declared it, so pointers compare. */
static bool ns_declared(const xmlNode *node, const xmlNode *top,
                        const xmlNs *ns)
{
    for (const xmlNode *n = node; n; n = n->parent) {
        for (const xmlNs *d = n->nsDef; d; d = d->next)
            if (d == ns)
                return true;
        if (n == top)
            break;
    }
    return false;
}

static int put_ns(lx_buf *b, const xmlNs *ns)
{
    int rc = lx_buf_puts(b, " xmlns");
    if (rc == 0 && ns->prefix) {
        rc = lx_buf_append(b, ":", 1);
        if (rc == 0)
            rc = lx_buf_puts(b, (const char *)ns->prefix);
    }
    if (rc == 0)
        rc = lx_buf_append(b, "=\"", 2);
    if (rc == 0 && ns->href)
        rc = lx_fhir_xml_escape(b, (const char *)ns->href,
                                strlen((const char *)ns->href), true);
    if (rc == 0)
        rc = lx_buf_append(b, "\"", 1);
    return rc;
}

static int put_qname(lx_buf *b, const xmlNs *ns, const xmlChar *name)
{
    if (ns && ns->prefix) {
        if (lx_buf_puts(b, (const char *)ns->prefix) != 0 ||
            lx_buf_append(b, ":", 1) != 0)
            return LX_ELIMIT;
    }
    return lx_buf_puts(b, (const char *)name) != 0 ? LX_ELIMIT : 0;
}

/* A namespace the element or one of its attributes uses but nothing in the
 * subtree declares (it was declared above the div): declare it here. The
 * xml prefix is predeclared. */
static int put_missing_ns(lx_buf *b, const xmlNode *node, const xmlNode *top,
                          const xmlNs *ns)
{
    if (!ns || ns_declared(node, top, ns))
        return 0;
    if (ns->prefix && strcmp((const char *)ns->prefix, "xml") == 0)
        return 0;
    return put_ns(b, ns);
}

static int put_attr_value(lx_buf *b, const xmlAttr *a)
{
    const xmlNode *c = a->children;
    if (!c)
        return 0;
    if (c->type == XML_TEXT_NODE && !c->next && c->content)
        return lx_fhir_xml_escape(b, (const char *)c->content,
                                  strlen((const char *)c->content), true);
    xmlChar *v = xmlNodeGetContent((const xmlNode *)a);
    int rc = v ? lx_fhir_xml_escape(b, (const char *)v,
                                    strlen((const char *)v), true)
               : 0;
    xmlFree(v);
    return rc;
}

static int xhtml_node(lx_buf *b, const xmlNode *node, const xmlNode *top,
                      int depth, long *line, lx_error *err)
{
    if (depth > LX_FHIR_XML_MAX_DEPTH) {
        *line = xmlGetLineNo(node);
        return lx_error_set(err, LX_ELIMIT,
                            "narrative nested deeper than %d elements",
                            LX_FHIR_XML_MAX_DEPTH);
    }
    int rc = lx_buf_append(b, "<", 1) != 0 ? LX_ELIMIT : 0;
    if (rc == 0)
        rc = put_qname(b, node->ns, node->name);
    for (const xmlNs *d = node->nsDef; rc == 0 && d; d = d->next)
        rc = put_ns(b, d);
    if (rc == 0)
        rc = put_missing_ns(b, node, top, node->ns);
    /* The div of a JSON narrative without xmlns is taken as XHTML. */
    if (rc == 0 && node == top && !node->ns)
        rc = lx_buf_puts(b, " xmlns=\"" LX_XHTML_NS "\"") ? LX_ELIMIT : 0;
    for (const xmlAttr *a = node->properties; rc == 0 && a; a = a->next) {
        rc = put_missing_ns(b, node, top, a->ns);
        if (rc == 0)
            rc = lx_buf_append(b, " ", 1) ? LX_ELIMIT : 0;
        if (rc == 0)
            rc = put_qname(b, a->ns, a->name);
        if (rc == 0)
            rc = lx_buf_append(b, "=\"", 2) ? LX_ELIMIT : 0;
        if (rc == 0)
            rc = put_attr_value(b, a);
        if (rc == 0)
            rc = lx_buf_append(b, "\"", 1) ? LX_ELIMIT : 0;
    }
    if (rc == 0 && !node->children)
        rc = lx_buf_append(b, "/>", 2) ? LX_ELIMIT : 0;
    if (rc || !node->children)
        goto done;
    rc = lx_buf_append(b, ">", 1) ? LX_ELIMIT : 0;
    for (const xmlNode *c = node->children; rc == 0 && c; c = c->next) {
        switch (c->type) {
        case XML_ELEMENT_NODE:
            rc = xhtml_node(b, c, top, depth + 1, line, err);
            if (rc)
                return rc; /* located and reported below */
            break;
        case XML_TEXT_NODE:
        case XML_CDATA_SECTION_NODE:
            if (c->content)
                rc = lx_fhir_xml_escape(b, (const char *)c->content,
                                        strlen((const char *)c->content),
                                        false);
            break;
        case XML_COMMENT_NODE: {
            const char *t = c->content ? (const char *)c->content : "";
            if (lx_buf_puts(b, "<!--") || lx_buf_puts(b, t) ||
                lx_buf_puts(b, "-->"))
                rc = LX_ELIMIT;
            break;
        }
        case XML_PI_NODE:
            break;
        default:
            *line = xmlGetLineNo(c);
            return lx_error_set(err, LX_ESCHEMA,
                                "unsupported node in narrative");
        }
    }
    if (rc == 0)
        rc = lx_buf_append(b, "</", 2) ? LX_ELIMIT : 0;
    if (rc == 0)
        rc = put_qname(b, node->ns, node->name);
    if (rc == 0)
        rc = lx_buf_append(b, ">", 1) ? LX_ELIMIT : 0;
done:
    if (rc) {
        *line = xmlGetLineNo(node);
        if (rc == LX_ELIMIT)
            return lx_error_set(err, rc, "output over its size limit");
        return lx_error_set(err, rc,
                            "narrative holds a character XML cannot carry");
    }
    return 0;
}

int lx_fhir_xhtml_write(lx_buf *b, const xmlNode *div, int depth, long *line,
                        lx_error *err)
{
    *line = 0;
    size_t mark = b->len;
    int rc = xhtml_node(b, div, div, depth, line, err);
    if (rc) {
        b->len = mark;
        if (b->data)
            b->data[mark] = '\0';
    }
    return rc;
}
