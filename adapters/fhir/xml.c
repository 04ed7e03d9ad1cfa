/* adapters/fhir/xml.c: what both directions of the FHIR XML codec share:
 * the safe libxml2 parse, XML escaping and the XHTML narrative writer.
 * XML -> JSON is in xml_read.c, JSON -> XML in xml_write.c. */
#include "adapters/fhir/xml_int.h"
#include "core/utf8.h"

#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

#include <limits.h>
#include <stdint.h>
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

/* ---- the narrative's quick check -------------------------------------- */

/* The narrative of nearly every resource is plain XHTML: elements without
 * prefixes, attributes in quotes, text with the predefined entities and
 * character references. For that subset well-formedness is decided here
 * in one pass, without building a libxml2 document; anything else (a
 * comment, a CDATA section, a processing instruction, a prefix, an
 * unknown entity, a C1 control, an error of any kind) answers "not sure"
 * and the caller takes libxml2's path, which gives the real verdict and
 * its message. */

typedef struct qscan {
    const unsigned char *p, *end;
} qscan;

static bool q_ws(unsigned c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void q_skip_ws(qscan *q)
{
    while (q->p < q->end && q_ws(*q->p))
        q->p++;
}

static bool q_name_start(unsigned c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool q_name_char(unsigned c)
{
    return q_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* An ASCII name without a prefix; its length, 0 when there is none or
 * when it is long enough to meet a libxml2 limit (XML_MAX_NAME_LENGTH,
 * 50,000 bytes without XML_PARSE_HUGE). */
static size_t q_name(qscan *q)
{
    const unsigned char *s = q->p;
    if (s >= q->end || !q_name_start(*s))
        return 0;
    while (q->p < q->end && q_name_char(*q->p))
        q->p++;
    size_t n = (size_t)(q->p - s);
    return n <= 1000 ? n : 0;
}

/* XML 1.0 Char (section 2.2), without the C1 controls and DEL, which XML
 * allows but this check leaves to libxml2. */
static bool q_char_ok(uint32_t v)
{
    if (v < 0x20)
        return v == 0x9 || v == 0xA || v == 0xD;
    if (v >= 0x7F && v <= 0x9F)
        return false;
    return v <= 0xD7FF || (v >= 0xE000 && v <= 0xFFFD) ||
           (v >= 0x10000 && v <= 0x10FFFF);
}

/* One character of text or of an attribute value at q->p (not '<', not
 * '&'): valid UTF-8 and an allowed character. */
static bool q_char(qscan *q)
{
    unsigned c = *q->p;
    if (c < 0x80) {
        if (!q_char_ok(c))
            return false;
        q->p++;
        return true;
    }
    uint32_t v = 0;
    size_t n = lx_utf8_next(q->p, q->end, &v);
    if (n == 0 || !q_char_ok(v))
        return false;
    q->p += n;
    return true;
}

/* A reference at q->p ('&'): a predefined entity or a character reference
 * to an allowed character. */
static bool q_ref(qscan *q)
{
    static const char *const named[] = {"&amp;", "&lt;", "&gt;", "&quot;",
                                        "&apos;"};
    size_t left = (size_t)(q->end - q->p);
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        size_t n = strlen(named[i]);
        if (left >= n && memcmp(q->p, named[i], n) == 0) {
            q->p += n;
            return true;
        }
    }
    if (left < 4 || q->p[1] != '#')
        return false;
    const unsigned char *s = q->p + 2;
    bool hex = *s == 'x';
    s += hex;
    uint32_t v = 0;
    int digits = 0;
    for (; s < q->end && *s != ';' && digits < 7; s++, digits++) {
        unsigned c = *s, d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (hex && c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (hex && c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return false;
        v = v * (hex ? 16 : 10) + d;
    }
    if (digits == 0 || s >= q->end || *s != ';' || !q_char_ok(v))
        return false;
    q->p = s + 1;
    return true;
}

#define Q_ATTRS_MAX 16
#define Q_DEPTH_MAX 64

/* Attributes up to '>' or "/>"; *empty when "/>". */
static bool q_attrs(qscan *q, bool *empty)
{
    const unsigned char *names[Q_ATTRS_MAX];
    size_t lens[Q_ATTRS_MAX];
    size_t count = 0;
    for (;;) {
        const unsigned char *before = q->p;
        q_skip_ws(q);
        if (q->p >= q->end)
            return false;
        if (*q->p == '>') {
            q->p++;
            *empty = false;
            return true;
        }
        if (*q->p == '/') {
            if (q->end - q->p < 2 || q->p[1] != '>')
                return false;
            q->p += 2;
            *empty = true;
            return true;
        }
        if (q->p == before || count == Q_ATTRS_MAX)
            return false; /* attributes are separated by white space */
        const unsigned char *name = q->p;
        size_t nl = q_name(q);
        if (nl == 0)
            return false;
        for (size_t i = 0; i < count; i++)
            if (lens[i] == nl && memcmp(names[i], name, nl) == 0)
                return false; /* libxml2: attribute redefined */
        names[count] = name;
        lens[count++] = nl;
        q_skip_ws(q);
        if (q->p >= q->end || *q->p != '=')
            return false;
        q->p++;
        q_skip_ws(q);
        if (q->p >= q->end || (*q->p != '"' && *q->p != '\''))
            return false;
        unsigned quote = *q->p++;
        const unsigned char *value = q->p;
        while (q->p < q->end && *q->p != quote) {
            if (*q->p == '<')
                return false;
            if (!(*q->p == '&' ? q_ref(q) : q_char(q)))
                return false;
        }
        if (q->p >= q->end)
            return false;
        /* The only namespace this check knows: XHTML's, as the default. */
        static const char xhtml[] = LX_XHTML_NS;
        if (nl == 5 && memcmp(name, "xmlns", 5) == 0 &&
            ((size_t)(q->p - value) != sizeof(xhtml) - 1 ||
             memcmp(value, xhtml, sizeof(xhtml) - 1) != 0))
            return false;
        q->p++; /* the closing quote */
    }
}

bool lx_fhir_xhtml_quick_check(const char *text, size_t len, int depth,
                               size_t *out_max)
{
    qscan q = {(const unsigned char *)text,
               (const unsigned char *)text + len};
    const unsigned char *open[Q_DEPTH_MAX];
    size_t open_len[Q_DEPTH_MAX];
    int top = 0;
    int limit = LX_FHIR_XML_MAX_DEPTH - depth + 1;
    if (limit > Q_DEPTH_MAX)
        limit = Q_DEPTH_MAX;
    if (limit <= 0 || len == 0 || len > ((size_t)1 << 20) || *q.p != '<')
        return false;
    do {
        if (q.p >= q.end)
            return false;
        unsigned c = *q.p;
        if (c >= 0x20 && c < 0x7F && c != '<' && c != '&' && c != ']') {
            q.p++; /* plain text, the common case */
            continue;
        }
        if (c == '<') {
            q.p++;
            if (q.p < q.end && *q.p == '/') { /* an end tag */
                q.p++;
                const unsigned char *name = q.p;
                size_t nl = q_name(&q);
                if (top == 0 || nl != open_len[top - 1] ||
                    memcmp(name, open[top - 1], nl) != 0)
                    return false;
                q_skip_ws(&q);
                if (q.p >= q.end || *q.p != '>')
                    return false;
                q.p++;
                top--;
                continue;
            }
            const unsigned char *name = q.p;
            size_t nl = q_name(&q);
            if (nl == 0 || top == limit)
                return false; /* <!, <?, a prefix, or too deep */
            if (top == 0 && (nl != 3 || memcmp(name, "div", 3) != 0))
                return false;
            bool empty = false;
            if (!q_attrs(&q, &empty))
                return false;
            if (!empty) {
                open[top] = name;
                open_len[top++] = nl;
            }
            continue;
        }
        if (*q.p == '&') {
            if (!q_ref(&q))
                return false;
            continue;
        }
        if (*q.p == ']' && q.end - q.p >= 3 && q.p[1] == ']' && q.p[2] == '>')
            return false; /* "]]>" is not allowed in text */
        if (!q_char(&q))
            return false;
    } while (top > 0);
    q_skip_ws(&q);
    if (q.p != q.end)
        return false;
    /* lx_fhir_xhtml_write's output: each input byte becomes at most 6
     * ('"' in text is written &quot;), plus the xmlns it adds to a div
     * without one. */
    *out_max = 6 * len + sizeof(" xmlns=\"" LX_XHTML_NS "\"");
    return true;
}

/* ---- the narrative's quick write -------------------------------------- */

/* The code point of the reference at s ('&', known valid). */
static uint32_t q_ref_value(const unsigned char *s, const unsigned char **after)
{
    static const struct {
        const char *name;
        uint32_t v;
    } named[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'},
                 {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        size_t n = strlen(named[i].name);
        if (memcmp(s, named[i].name, n) == 0) {
            *after = s + n;
            return named[i].v;
        }
    }
    bool hex = s[2] == 'x';
    uint32_t v = 0;
    const unsigned char *p = s + 2 + hex;
    for (; *p != ';'; p++) {
        unsigned c = *p;
        unsigned d = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
        v = v * (hex ? 16 : 10) + d;
    }
    *after = p + 1;
    return v;
}

/* Text (attr false) or an attribute value (attr true) of [s, end) as
 * libxml2 reads it and lx_fhir_xml_escape writes it: references replaced
 * by their character, CR LF and CR read as LF (XML 2.11), and in an
 * attribute value literal tab, LF and CR as a space (3.3.3). */
static int q_put_text(lx_buf *b, const unsigned char *s,
                      const unsigned char *end, bool attr)
{
    const unsigned char *run = s;
    int rc = 0;
    while (rc == 0 && s < end) {
        unsigned c = *s;
        if (c != '&' && c != '\r' && !(attr && (c == '\t' || c == '\n'))) {
            s++;
            continue;
        }
        rc = lx_fhir_xml_escape(b, (const char *)run, (size_t)(s - run),
                                attr);
        if (rc)
            break;
        unsigned char one[4];
        size_t n;
        if (c == '&') {
            n = lx_utf8_put(q_ref_value(s, &s), one);
        } else {
            if (c == '\r' && s + 1 < end && s[1] == '\n')
                s++;
            s++;
            one[0] = attr ? ' ' : '\n';
            n = 1;
        }
        rc = lx_fhir_xml_escape(b, (const char *)one, n, attr);
        run = s;
    }
    if (rc == 0)
        rc = lx_fhir_xml_escape(b, (const char *)run, (size_t)(s - run),
                                attr);
    return rc;
}

/* One start tag after its name, known valid: the xmlns declaration first
 * (libxml2 keeps it apart from the attributes), the XHTML namespace added
 * to a root div without one, then the attributes in order. *empty when it
 * ends with "/>". */
static int q_put_attrs(lx_buf *b, qscan *q, bool is_root, bool *empty)
{
    struct {
        const unsigned char *name, *value;
        size_t name_len, value_len;
    } at[Q_ATTRS_MAX];
    size_t count = 0;
    bool has_xmlns = false;
    for (;;) {
        q_skip_ws(q);
        if (*q->p == '>' || *q->p == '/')
            break;
        at[count].name = q->p;
        at[count].name_len = q_name(q);
        q_skip_ws(q);
        q->p++; /* = */
        q_skip_ws(q);
        unsigned quote = *q->p++;
        at[count].value = q->p;
        while (*q->p != quote)
            q->p++;
        at[count].value_len = (size_t)(q->p - at[count].value);
        q->p++;
        if (at[count].name_len == 5 && memcmp(at[count].name, "xmlns", 5) == 0)
            has_xmlns = true;
        count++;
    }
    *empty = *q->p == '/';
    q->p += *empty ? 2 : 1;
    int rc = 0;
    if (has_xmlns || is_root)
        rc = lx_buf_puts(b, " xmlns=\"" LX_XHTML_NS "\"") ? LX_ELIMIT : 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        if (at[i].name_len == 5 && memcmp(at[i].name, "xmlns", 5) == 0)
            continue;
        if (lx_buf_append(b, " ", 1) ||
            lx_buf_append(b, at[i].name, at[i].name_len) ||
            lx_buf_append(b, "=\"", 2))
            return LX_ELIMIT;
        rc = q_put_text(b, at[i].value, at[i].value + at[i].value_len, true);
        if (rc == 0)
            rc = lx_buf_append(b, "\"", 1) ? LX_ELIMIT : 0;
    }
    return rc;
}

bool lx_fhir_xhtml_quick_write(lx_buf *b, const char *text, size_t len,
                               int depth)
{
    size_t bound;
    if (!lx_fhir_xhtml_quick_check(text, len, depth, &bound))
        return false;
    size_t mark = b->len;
    qscan q = {(const unsigned char *)text,
               (const unsigned char *)text + len};
    int level = 0, rc = 0;
    bool pending = false; /* a start tag whose '>' waits for a child */
    do {
        if (*q.p == '<' && q.p[1] == '/') {
            q.p += 2;
            const unsigned char *name = q.p;
            size_t nl = q_name(&q);
            q_skip_ws(&q);
            q.p++; /* > */
            level--;
            if (pending)
                rc = lx_buf_append(b, "/>", 2) ? LX_ELIMIT : 0;
            else if (lx_buf_append(b, "</", 2) ||
                     lx_buf_append(b, name, nl) || lx_buf_append(b, ">", 1))
                rc = LX_ELIMIT;
            pending = false;
            continue;
        }
        if (pending && lx_buf_append(b, ">", 1))
            rc = LX_ELIMIT;
        pending = false;
        if (rc)
            break;
        if (*q.p == '<') {
            q.p++;
            const unsigned char *name = q.p;
            size_t nl = q_name(&q);
            bool empty = false;
            if (lx_buf_append(b, "<", 1) || lx_buf_append(b, name, nl))
                rc = LX_ELIMIT;
            if (rc == 0)
                rc = q_put_attrs(b, &q, level == 0, &empty);
            if (rc == 0 && empty) {
                rc = lx_buf_append(b, "/>", 2) ? LX_ELIMIT : 0;
            } else {
                pending = true;
                level++;
            }
            continue;
        }
        const unsigned char *t = q.p;
        while (q.p < q.end && *q.p != '<')
            q.p++;
        rc = q_put_text(b, t, q.p, false);
    } while (rc == 0 && level > 0);
    if (rc) {
        /* Over the buffer's ceiling: libxml2's path says so properly. */
        b->len = mark;
        if (b->data)
            b->data[mark] = '\0';
        return false;
    }
    return true;
}
