/* adapters/map/xslt.c: see xslt.h. The only file of the mapping engine
 * that includes libxml2 and libxslt. */
#include "adapters/map/xslt.h"
#include "core/json.h"
#include "core/mem.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxslt/security.h>
#include <libxslt/transform.h>
#include <libxslt/xslt.h>
#include <libxslt/xsltInternals.h>
#include <libxslt/xsltutils.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FN_NS "http://www.w3.org/2005/xpath-functions"
#define JSON_DEPTH_MAX 256

/* Parse options for every document a partner sends: no network, and
 * neither XML_PARSE_NOENT (entity expansion) nor XML_PARSE_DTDLOAD /
 * DTDATTR / DTDVALID (reading a DTD); XML_PARSE_HUGE stays off so that
 * libxml2's size and depth ceilings hold. */
#define INPUT_OPTIONS                                                          \
    (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |               \
     XML_PARSE_NOCDATA)

struct lx_xslt {
    xsltStylesheetPtr style;
    xsltSecurityPrefsPtr sec;
};

/* ---- diagnostics ----
 * libxml2 and libxslt report through callbacks; while one of our calls
 * runs, the thread's collector keeps the first message (with its line) and
 * nothing reaches stderr. */

typedef struct collector {
    char msg[320];
    size_t len;
    long line;
    bool pending; /* a line ended: separate the next one */
} collector;

static _Thread_local collector *tl_collector;

static void collect(collector *c, const char *s)
{
    if (!c)
        return;
    /* libxslt sends one message in pieces and a reason in a second line
     * ("runtime error: file x.xsl line 6 element value-of" then "Local
     * file read for /etc/passwd refused"): join lines with "; ". */
    for (; *s && c->len + 1 < sizeof(c->msg); s++) {
        if (*s == '\n') {
            if (c->len && c->len + 3 < sizeof(c->msg) && s[1]) {
                c->msg[c->len++] = ';';
                c->msg[c->len++] = ' ';
            } else if (c->len && !s[1]) {
                c->pending = true;
            }
            continue;
        }
        if (c->pending && c->len + 3 < sizeof(c->msg)) {
            c->msg[c->len++] = ';';
            c->msg[c->len++] = ' ';
        }
        c->pending = false;
        c->msg[c->len++] = *s;
    }
    c->msg[c->len] = '\0';
}

LX_PRINTF(2, 3)
static void on_generic(void *ctx, const char *fmt, ...)
{
    (void)ctx;
    collector *c = tl_collector;
    if (!c || c->len + 1 >= sizeof(c->msg))
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    collect(c, buf);
}

static void on_structured(void *ctx, xmlErrorPtr e)
{
    (void)ctx;
    collector *c = tl_collector;
    if (!c || c->len || !e || !e->message)
        return;
    c->line = e->line;
    collect(c, e->message);
}

typedef struct quiet {
    xmlGenericErrorFunc generic;
    void *generic_ctx;
    xmlStructuredErrorFunc structured;
    void *structured_ctx;
    collector *prev;
} quiet;

/* libxml2 keeps its handlers per thread: set ours, put theirs back. */
static void quiet_begin(quiet *q, collector *c)
{
    memset(c, 0, sizeof(*c));
    q->generic = xmlGenericError;
    q->generic_ctx = xmlGenericErrorContext;
    q->structured = xmlStructuredError;
    q->structured_ctx = xmlStructuredErrorContext;
    q->prev = tl_collector;
    tl_collector = c;
    xmlSetGenericErrorFunc(NULL, on_generic);
    xmlSetStructuredErrorFunc(NULL, on_structured);
}

static void quiet_end(quiet *q)
{
    xmlSetGenericErrorFunc(q->generic_ctx, q->generic);
    xmlSetStructuredErrorFunc(q->structured_ctx, q->structured);
    tl_collector = q->prev;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init(void)
{
    xmlInitParser();
    xsltInit();
    /* libxslt's generic channel is process-wide; ours drops what no
     * collector waits for. Only this module uses libxslt. */
    xsltSetGenericErrorFunc(NULL, on_generic);
}

/* ---- loading ---- */

int lx_xslt_load(const char *path, lx_xslt **out, lx_error *err)
{
    *out = NULL;
    pthread_once(&init_once, init);
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        lx_error_set(err, LX_EIO, "cannot open stylesheet: %s", strerror(e));
        if (err)
            err->lib_code = e;
        return lx_error_at(err, path, 0, 0);
    }
    fclose(f);
    quiet q;
    collector c;
    quiet_begin(&q, &c);
    xmlDocPtr doc = xmlReadFile(path, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR |
                                    XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
    xsltStylesheetPtr style = doc ? xsltParseStylesheetDoc(doc) : NULL;
    quiet_end(&q);
    if (!style) {
        if (doc)
            xmlFreeDoc(doc);
        lx_error_set(err, LX_ESYNTAX, "invalid stylesheet: %s",
                     c.len ? c.msg : "not an XSLT 1.0 stylesheet");
        return lx_error_at(err, path, c.line > 0 ? c.line : 0, 0);
    }
    lx_xslt *x = lx_xcalloc(1, sizeof(*x));
    x->style = style;
    x->sec = xsltNewSecurityPrefs();
    LX_ASSERT(x->sec != NULL);
    static const xsltSecurityOption forbidden[] = {
        XSLT_SECPREF_READ_FILE, XSLT_SECPREF_WRITE_FILE,
        XSLT_SECPREF_CREATE_DIRECTORY, XSLT_SECPREF_READ_NETWORK,
        XSLT_SECPREF_WRITE_NETWORK};
    for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
        LX_ASSERT(xsltSetSecurityPrefs(x->sec, forbidden[i],
                                       xsltSecurityForbid) == 0);
    *out = x;
    return 0;
}

void lx_xslt_destroy(lx_xslt **xp)
{
    if (!xp || !*xp)
        return;
    xsltFreeStylesheet((*xp)->style);
    xsltFreeSecurityPrefs((*xp)->sec);
    free(*xp);
    *xp = NULL;
}

/* ---- JSON <-> the XPath 3.1 JSON vocabulary ---- */

static int json_to_node(xmlDocPtr doc, xmlNsPtr ns, xmlNodePtr parent,
                        const json_t *v, const char *key, int depth,
                        lx_error *err)
{
    if (depth > JSON_DEPTH_MAX)
        return lx_error_set(err, LX_ELIMIT, "JSON nested over %d levels",
                            JSON_DEPTH_MAX);
    const char *name;
    char num[64] = "";
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        name = "map";
        break;
    case JSON_ARRAY:
        name = "array";
        break;
    case JSON_STRING:
        name = "string";
        break;
    case JSON_INTEGER:
        name = "number";
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        break;
    case JSON_REAL:
        name = "number";
        snprintf(num, sizeof(num), "%.17g", json_real_value(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        name = "boolean";
        snprintf(num, sizeof(num), "%s", json_is_true(v) ? "true" : "false");
        break;
    default:
        name = "null";
    }
    xmlNodePtr n = xmlNewDocNode(doc, ns, BAD_CAST name, NULL);
    LX_ASSERT(n != NULL);
    if (parent) {
        xmlAddChild(parent, n);
    } else {
        /* the root declares the vocabulary's namespace as the default */
        xmlDocSetRootElement(doc, n);
        ns = xmlNewNs(n, BAD_CAST FN_NS, NULL);
        xmlSetNs(n, ns);
    }
    if (key)
        xmlNewProp(n, BAD_CAST "key", BAD_CAST key);
    if (num[0])
        xmlNodeAddContent(n, BAD_CAST num);
    if (json_is_string(v)) {
        size_t len = json_string_length(v);
        if (len > INT32_MAX)
            return lx_error_set(err, LX_ELIMIT, "string too long");
        xmlNodeAddContentLen(n, BAD_CAST json_string_value(v), (int)len);
    }
    if (json_is_object(v)) {
        const char *k;
        const json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            int rc = json_to_node(doc, ns, n, e, k, depth + 1, err);
            if (rc)
                return rc;
        }
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e)
        {
            int rc = json_to_node(doc, ns, n, e, NULL, depth + 1, err);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static bool is_fn(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->ns &&
           xmlStrEqual(n->ns->href, BAD_CAST FN_NS) &&
           xmlStrEqual(n->name, BAD_CAST name);
}

static bool blank(const xmlNode *n)
{
    if (n->type == XML_COMMENT_NODE || n->type == XML_PI_NODE)
        return true;
    return n->type == XML_TEXT_NODE && xmlIsBlankNode((xmlNodePtr)n);
}

static int node_to_json(xmlNodePtr n, int depth, json_t **out, lx_error *err)
{
    *out = NULL;
    if (depth > JSON_DEPTH_MAX)
        return lx_error_set(err, LX_ELIMIT, "JSON nested over %d levels",
                            JSON_DEPTH_MAX);
    if (is_fn(n, "map") || is_fn(n, "array")) {
        bool map = is_fn(n, "map");
        json_t *c = map ? json_object() : json_array();
        for (xmlNodePtr k = n->children; k; k = k->next) {
            if (blank(k))
                continue;
            json_t *v;
            int rc = node_to_json(k, depth + 1, &v, err);
            if (rc == 0 && map) {
                xmlChar *key = xmlGetProp(k, BAD_CAST "key");
                if (!key)
                    rc = lx_error_set(err, LX_EINVAL,
                                      "JSON result: an entry of a map has no "
                                      "key (line %ld)",
                                      (long)xmlGetLineNo(k));
                else if (json_object_get(c, (const char *)key))
                    rc = lx_error_set(err, LX_EINVAL,
                                      "JSON result: a map has a key twice "
                                      "(line %ld)",
                                      (long)xmlGetLineNo(k));
                else
                    json_object_set_new(c, (const char *)key, v);
                if (rc)
                    json_decref(v);
                xmlFree(key);
            } else if (rc == 0) {
                json_array_append_new(c, v);
            }
            if (rc) {
                json_decref(c);
                return rc;
            }
        }
        *out = c;
        return 0;
    }
    if (n->type != XML_ELEMENT_NODE || !n->ns ||
        !xmlStrEqual(n->ns->href, BAD_CAST FN_NS))
        return lx_error_set(err, LX_EINVAL,
                            "JSON result: line %ld is not an element of the "
                            "XPath JSON vocabulary (" FN_NS ")",
                            (long)xmlGetLineNo(n));
    xmlChar *text = xmlNodeGetContent(n);
    const char *s = text ? (const char *)text : "";
    int rc = 0;
    if (is_fn(n, "string")) {
        *out = json_string(s);
    } else if (is_fn(n, "null")) {
        *out = json_null();
    } else if (is_fn(n, "boolean")) {
        if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
            *out = json_true();
        else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
            *out = json_false();
    } else if (is_fn(n, "number")) {
        char *end;
        errno = 0;
        long long i = strtoll(s, &end, 10);
        if (*s && *end == '\0' && errno == 0) {
            *out = json_integer((json_int_t)i);
        } else {
            errno = 0;
            double d = strtod(s, &end);
            if (*s && *end == '\0' && errno == 0)
                *out = json_real(d);
        }
    } else {
        rc = lx_error_set(err, LX_EINVAL,
                          "JSON result: unknown element '%s' (line %ld)",
                          (const char *)n->name, (long)xmlGetLineNo(n));
    }
    if (rc == 0 && !*out)
        rc = lx_error_set(err, LX_EINVAL,
                          "JSON result: invalid %s value (line %ld)",
                          (const char *)n->name, (long)xmlGetLineNo(n));
    xmlFree(text);
    return rc;
}

/* ---- running ---- */

static int parse_input(const json_t *input, xmlDocPtr *out, lx_error *err)
{
    *out = NULL;
    if (!json_is_string(input))
        return lx_error_set(err, LX_EINVAL,
                            "xml input must be a JSON string holding the "
                            "document");
    size_t len = json_string_length(input);
    if (len > LX_XSLT_DOC_MAX)
        return lx_error_set(err, LX_ELIMIT, "xml input over %zu bytes",
                            LX_XSLT_DOC_MAX);
    quiet q;
    collector c;
    quiet_begin(&q, &c);
    xmlParserCtxtPtr pc = xmlNewParserCtxt();
    LX_ASSERT(pc != NULL);
    xmlDocPtr doc = xmlCtxtReadMemory(pc, json_string_value(input), (int)len,
                                      "input.xml", NULL, INPUT_OPTIONS);
    bool well_formed = pc->wellFormed;
    xmlFreeParserCtxt(pc);
    quiet_end(&q);
    if (!doc || !well_formed) {
        if (doc)
            xmlFreeDoc(doc);
        lx_error_set(err, LX_ESYNTAX, "xml input is not well-formed: %s",
                     c.len ? c.msg : "parse error");
        if (err)
            err->line = c.line > 0 ? c.line : 0;
        return LX_ESYNTAX;
    }
    if (doc->intSubset || doc->extSubset) {
        xmlFreeDoc(doc);
        return lx_error_set(err, LX_ESYNTAX,
                            "xml input has a DOCTYPE: refused (no DTD or "
                            "entity is ever read)");
    }
    *out = doc;
    return 0;
}

static int json_input(const json_t *input, xmlDocPtr *out, lx_error *err)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    LX_ASSERT(doc != NULL);
    int rc = json_to_node(doc, NULL, NULL, input, NULL, 0, err);
    if (rc) {
        xmlFreeDoc(doc);
        return rc;
    }
    *out = doc;
    return 0;
}

static int result_out(const lx_xslt *x, xmlDocPtr res, int kind, json_t **out,
                      lx_error *err)
{
    xmlNodePtr root = xmlDocGetRootElement(res);
    if (kind == LX_XSLT_JSON && root && root->ns &&
        xmlStrEqual(root->ns->href, BAD_CAST FN_NS))
        return node_to_json(root, 0, out, err);
    xmlChar *text = NULL;
    int len = 0;
    if (xsltSaveResultToString(&text, &len, res, x->style) != 0)
        return lx_error_set(err, LX_EINVAL, "cannot serialize the result");
    int rc = 0;
    if (len < 0 || (size_t)len > LX_XSLT_DOC_MAX) {
        rc = lx_error_set(err, LX_ELIMIT, "result over %zu bytes",
                          LX_XSLT_DOC_MAX);
    } else if (kind == LX_XSLT_XML) {
        *out = json_stringn(text ? (const char *)text : "", (size_t)len);
        if (!*out)
            rc = lx_error_set(err, LX_EINVAL, "result is not UTF-8");
    } else {
        json_error_t je;
        *out = json_loadb(text ? (const char *)text : "", (size_t)len,
                          JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
        /* jansson's text may quote the output: keep only the position. */
        if (!*out)
            rc = lx_error_set(err, LX_ESYNTAX,
                              "the stylesheet's output is not JSON (line %d, "
                              "column %d)",
                              je.line, je.column);
    }
    xmlFree(text);
    return rc;
}

int lx_xslt_run(const lx_xslt *x, const json_t *input, int input_kind,
                int output_kind, json_t **out, lx_error *err)
{
    *out = NULL;
    xmlDocPtr doc;
    int rc = input_kind == LX_XSLT_XML ? parse_input(input, &doc, err)
                                       : json_input(input, &doc, err);
    if (rc)
        return rc;
    quiet q;
    collector c;
    quiet_begin(&q, &c);
    xsltTransformContextPtr ctxt = xsltNewTransformContext(x->style, doc);
    LX_ASSERT(ctxt != NULL);
    LX_ASSERT(xsltSetCtxtSecurityPrefs(x->sec, ctxt) == 0);
    xsltSetTransformErrorFunc(ctxt, NULL, on_generic);
    ctxt->xinclude = 0;
    xmlDocPtr res =
        xsltApplyStylesheetUser(x->style, doc, NULL, NULL, NULL, ctxt);
    bool failed = !res || ctxt->state != XSLT_STATE_OK;
    xsltFreeTransformContext(ctxt);
    quiet_end(&q);
    xmlFreeDoc(doc);
    if (failed) {
        if (res)
            xmlFreeDoc(res);
        return lx_error_set(err, LX_EINVAL, "transform failed: %s",
                            c.len ? c.msg : "no reason given");
    }
    rc = result_out(x, res, output_kind, out, err);
    xmlFreeDoc(res);
    return rc;
}
