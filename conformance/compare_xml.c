/* conformance/compare_xml.c: the XML normal form of compare.h.
 *
 * A small reader of its own rather than libxml2: only the XML codec
 * touches libxml2 (STYLE.md), and comparison needs far less than a parser
 * (no validation, no DTD, no encodings other than UTF-8). It reads the
 * well-formed subset that adapters write: elements, attributes, namespace
 * declarations (XML Namespaces 1.0), text, CDATA, comments, processing
 * instructions, the five predefined entities and character references.
 * Example: <p:Patient xmlns:p="http://hl7.org/fhir"><p:id value="1"/>
 * and <Patient xmlns="http://hl7.org/fhir"><id value='1'></id> read the
 * same. */
#include "conformance/compare.h"
#include "core/buf.h"
#include "core/mem.h"

#include <string.h>

#define XML_DEPTH_MAX 256
#define XML_NODES_MAX 1000000
#define XML_BINDINGS_MAX 512

typedef struct xr {
    const char *s;
    size_t len, pos;
    size_t nodes;
    /* In-scope namespace bindings, innermost last: prefix "" is the
     * default namespace. */
    char *prefix[XML_BINDINGS_MAX];
    char *uri[XML_BINDINGS_MAX];
    size_t nbind;
    lx_error *err;
} xr;

static int fail(xr *r, int code, const char *what)
{
    long line = 1, col = 1;
    for (size_t i = 0; i < r->pos && i < r->len; i++) {
        if (r->s[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)r->s[i] & 0xC0) != 0x80) {
            col++;
        }
    }
    lx_error_set(r->err, code, "XML: %s", what);
    if (r->err)
        r->err->offset = (long)r->pos;
    return lx_error_at(r->err, "", line, col);
}

static bool at(const xr *r, const char *lit)
{
    size_t n = strlen(lit);
    return r->len - r->pos >= n && memcmp(r->s + r->pos, lit, n) == 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_space(xr *r)
{
    while (r->pos < r->len && is_space(r->s[r->pos]))
        r->pos++;
}

/* Skip past `end` (comments, PIs): LX_ESYNTAX when it never comes. */
static int skip_past(xr *r, const char *end, const char *what)
{
    size_t n = strlen(end);
    while (r->pos + n <= r->len) {
        if (memcmp(r->s + r->pos, end, n) == 0) {
            r->pos += n;
            return 0;
        }
        r->pos++;
    }
    return fail(r, LX_ESYNTAX, what);
}

static bool name_char(char c)
{
    return !is_space(c) && c != '=' && c != '>' && c != '/' && c != '<' &&
           c != '"' && c != '\'' && c != '\0';
}

static int read_name(xr *r, char *out, size_t size)
{
    size_t start = r->pos;
    while (r->pos < r->len && name_char(r->s[r->pos]))
        r->pos++;
    size_t n = r->pos - start;
    if (n == 0)
        return fail(r, LX_ESYNTAX, "a name was expected");
    if (n >= size)
        return fail(r, LX_ELIMIT, "a name is too long");
    memcpy(out, r->s + start, n);
    out[n] = '\0';
    return 0;
}

/* Text buffers have no ceiling of their own: a value is never longer than
 * the document, whose size the caller bounds. */
static void put(lx_buf *b, const void *p, size_t n)
{
    int rc = lx_buf_append(b, p, n);
    LX_ASSERT(rc == 0);
}

static void put_utf8(lx_buf *b, unsigned long cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    put(b, u, n);
}

/* One reference after '&' (XML 1.0 section 4.1 and 4.6). */
static int read_ref(xr *r, lx_buf *b)
{
    static const struct {
        const char *name;
        char c;
    } pre[] = {{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"quot;", '"'},
               {"apos;", '\''}};
    r->pos++;
    for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
        if (at(r, pre[i].name)) {
            r->pos += strlen(pre[i].name);
            put(b, &pre[i].c, 1);
            return 0;
        }
    if (at(r, "#")) {
        r->pos++;
        int base = 10;
        if (at(r, "x")) {
            base = 16;
            r->pos++;
        }
        unsigned long cp = 0;
        size_t digits = 0;
        while (r->pos < r->len && r->s[r->pos] != ';' && digits < 8) {
            char c = r->s[r->pos];
            int v = c >= '0' && c <= '9'                 ? c - '0'
                    : base == 16 && c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : base == 16 && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                         : -1;
            if (v < 0)
                return fail(r, LX_ESYNTAX, "bad character reference");
            cp = cp * (unsigned long)base + (unsigned long)v;
            digits++;
            r->pos++;
        }
        if (!at(r, ";") || digits == 0 || cp == 0 || cp > 0x10FFFF)
            return fail(r, LX_ESYNTAX, "bad character reference");
        r->pos++;
        put_utf8(b, cp);
        return 0;
    }
    return fail(r, LX_EUNSUPPORTED,
                "an entity other than the predefined ones (no DTD is read)");
}

static int read_attr_value(xr *r, lx_buf *b)
{
    if (r->pos >= r->len || (r->s[r->pos] != '"' && r->s[r->pos] != '\''))
        return fail(r, LX_ESYNTAX, "a quoted attribute value was expected");
    char q = r->s[r->pos++];
    while (r->pos < r->len && r->s[r->pos] != q) {
        if (r->s[r->pos] == '&') {
            int rc = read_ref(r, b);
            if (rc != 0)
                return rc;
            continue;
        }
        if (r->s[r->pos] == '<')
            return fail(r, LX_ESYNTAX, "'<' in an attribute value");
        /* Attribute value normalization (XML 1.0 section 3.3.3). */
        char c = is_space(r->s[r->pos]) ? ' ' : r->s[r->pos];
        put(b, &c, 1);
        r->pos++;
    }
    if (r->pos >= r->len)
        return fail(r, LX_ESYNTAX, "an attribute value is not closed");
    r->pos++;
    return 0;
}

static const char *lookup(const xr *r, const char *prefix)
{
    for (size_t i = r->nbind; i-- > 0;)
        if (strcmp(r->prefix[i], prefix) == 0)
            return r->uri[i];
    if (strcmp(prefix, "xml") == 0)
        return "http://www.w3.org/XML/1998/namespace";
    return NULL;
}

/* "p:local" -> "{uri}local"; unprefixed attributes are in no namespace. */
static int expand(xr *r, const char *qname, bool is_attr, char *out,
                  size_t size)
{
    const char *colon = strchr(qname, ':');
    char prefix[128] = "";
    const char *local = qname;
    if (colon) {
        size_t n = (size_t)(colon - qname);
        if (n >= sizeof(prefix))
            return fail(r, LX_ELIMIT, "a prefix is too long");
        memcpy(prefix, qname, n);
        prefix[n] = '\0';
        local = colon + 1;
    }
    const char *uri = (colon || !is_attr) ? lookup(r, prefix) : NULL;
    if (colon && !uri)
        return fail(r, LX_ESYNTAX, "an undeclared namespace prefix");
    if (uri && *uri)
        snprintf(out, size, "{%s}%s", uri, local);
    else
        snprintf(out, size, "%s", local);
    return 0;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_space(s[i]))
            return false;
    return true;
}

static int read_element(xr *r, int depth, json_t **out);

/* Content up to the end tag: children elements and text. */
static int read_content(xr *r, int depth, json_t *children, lx_buf *text)
{
    for (;;) {
        if (r->pos >= r->len)
            return fail(r, LX_ESYNTAX, "an element is not closed");
        if (at(r, "</"))
            return 0;
        if (at(r, "<!--")) {
            int rc = skip_past(r, "-->", "a comment is not closed");
            if (rc != 0)
                return rc;
        } else if (at(r, "<![CDATA[")) {
            r->pos += 9;
            size_t start = r->pos;
            int rc = skip_past(r, "]]>", "a CDATA section is not closed");
            if (rc != 0)
                return rc;
            put(text, r->s + start, r->pos - 3 - start);
        } else if (at(r, "<?")) {
            int rc = skip_past(r, "?>", "a processing instruction is not "
                                        "closed");
            if (rc != 0)
                return rc;
        } else if (at(r, "<")) {
            if (!blank(text->data ? text->data : "", text->len))
                json_array_append_new(children,
                                      json_stringn(text->data, text->len));
            lx_buf_reset(text);
            json_t *child = NULL;
            int rc = read_element(r, depth + 1, &child);
            if (rc != 0) {
                json_decref(child);
                return rc;
            }
            json_array_append_new(children, child);
        } else if (r->s[r->pos] == '&') {
            int rc = read_ref(r, text);
            if (rc != 0)
                return rc;
        } else {
            put(text, r->s + r->pos, 1);
            r->pos++;
        }
    }
}

static void trim_into(json_t *children, lx_buf *text, bool mixed)
{
    const char *s = text->data ? text->data : "";
    size_t a = 0, b = text->len;
    if (mixed) {
        while (a < b && is_space(s[a]))
            a++;
        while (b > a && is_space(s[b - 1]))
            b--;
    }
    if (b > a && !(mixed && blank(s + a, b - a)))
        json_array_append_new(children, json_stringn(s + a, b - a));
}

static int read_element(xr *r, int depth, json_t **out)
{
    if (depth > XML_DEPTH_MAX || ++r->nodes > XML_NODES_MAX)
        return fail(r, LX_ELIMIT, "the document is too deep or too large");
    r->pos++; /* '<' */
    char qname[256];
    int rc = read_name(r, qname, sizeof(qname));
    if (rc != 0)
        return rc;
    size_t nbind0 = r->nbind;
    json_t *raw = json_object(); /* qualified attribute names first */
    lx_buf v;
    lx_buf_init(&v, 0);
    bool empty = false;
    for (;;) {
        skip_space(r);
        if (at(r, "/>")) {
            r->pos += 2;
            empty = true;
            break;
        }
        if (at(r, ">")) {
            r->pos++;
            break;
        }
        char an[256];
        if ((rc = read_name(r, an, sizeof(an))) != 0)
            goto out;
        skip_space(r);
        if (!at(r, "=")) {
            rc = fail(r, LX_ESYNTAX, "'=' was expected after an attribute");
            goto out;
        }
        r->pos++;
        skip_space(r);
        lx_buf_reset(&v);
        if ((rc = read_attr_value(r, &v)) != 0)
            goto out;
        const char *value = v.data ? v.data : "";
        if (strcmp(an, "xmlns") == 0 || strncmp(an, "xmlns:", 6) == 0) {
            if (r->nbind == XML_BINDINGS_MAX) {
                rc = fail(r, LX_ELIMIT, "too many namespace declarations");
                goto out;
            }
            r->prefix[r->nbind] = lx_xstrdup(an[5] ? an + 6 : "");
            r->uri[r->nbind++] = lx_xstrdup(value);
        } else {
            json_object_set_new(raw, an, json_string(value));
        }
    }
    json_t *el = json_object();
    *out = el;
    char name[600];
    if ((rc = expand(r, qname, false, name, sizeof(name))) != 0)
        goto out;
    json_object_set_new(el, "name", json_string(name));
    if (json_object_size(raw) > 0) {
        json_t *attrs = json_object();
        const char *k;
        json_t *av;
        json_object_foreach(raw, k, av)
        {
            if ((rc = expand(r, k, true, name, sizeof(name))) != 0) {
                json_decref(attrs);
                goto out;
            }
            json_object_set(attrs, name, av);
        }
        json_object_set_new(el, "attributes", attrs);
    }
    if (!empty) {
        json_t *children = json_array();
        lx_buf_reset(&v);
        rc = read_content(r, depth, children, &v);
        if (rc == 0) {
            trim_into(children, &v, json_array_size(children) > 0);
            r->pos += 2; /* "</" */
            char end[256];
            rc = read_name(r, end, sizeof(end));
            if (rc == 0 && strcmp(end, qname) != 0)
                rc = fail(r, LX_ESYNTAX, "the end tag does not match its "
                                         "start tag");
            skip_space(r);
            if (rc == 0 && !at(r, ">"))
                rc = fail(r, LX_ESYNTAX, "'>' was expected");
            if (rc == 0)
                r->pos++;
        }
        if (json_array_size(children) > 0)
            json_object_set_new(el, "children", children);
        else
            json_decref(children);
    }
out:
    while (r->nbind > nbind0) {
        r->nbind--;
        free(r->prefix[r->nbind]);
        free(r->uri[r->nbind]);
    }
    json_decref(raw);
    lx_buf_fini(&v);
    return rc;
}

/* The prolog and the epilogue: declaration, comments, PIs, whitespace. */
static int skip_misc(xr *r)
{
    for (;;) {
        skip_space(r);
        int rc = 0;
        if (at(r, "<?"))
            rc = skip_past(r, "?>", "a processing instruction is not closed");
        else if (at(r, "<!--"))
            rc = skip_past(r, "-->", "a comment is not closed");
        else if (at(r, "<!DOCTYPE") || at(r, "<!doctype"))
            return fail(r, LX_EUNSUPPORTED, "a DOCTYPE (no DTD is read)");
        else
            return 0;
        if (rc != 0)
            return rc;
    }
}

int lx_conform_xml_normalize(const char *xml, size_t len, json_t **out,
                             lx_error *err)
{
    *out = NULL;
    xr r = {.s = xml, .len = len, .err = err};
    if (len >= 3 && memcmp(xml, "\xEF\xBB\xBF", 3) == 0)
        r.pos = 3; /* byte order mark */
    int rc = skip_misc(&r);
    if (rc != 0)
        return rc;
    if (!at(&r, "<"))
        return fail(&r, LX_ESYNTAX, "no root element");
    json_t *root = NULL;
    rc = read_element(&r, 1, &root);
    if (rc == 0)
        rc = skip_misc(&r);
    if (rc == 0 && r.pos < r.len)
        rc = fail(&r, LX_ESYNTAX, "content after the root element");
    if (rc != 0) {
        json_decref(root);
        return rc;
    }
    *out = root;
    return 0;
}

/* ---- comparing two normal forms ---- */

static const char *local_of(const char *name)
{
    const char *b = strrchr(name, '}');
    return b ? b + 1 : name;
}

static const json_t *nth_named(const json_t *children, const char *name,
                               size_t k)
{
    size_t i, seen = 0;
    json_t *c;
    json_array_foreach(children, i, c)
    {
        const char *n = json_string_value(json_object_get(c, "name"));
        if (n && strcmp(n, name) == 0 && seen++ == k)
            return c;
    }
    return NULL;
}

/* How many children before the i-th are named `name`. */
static size_t rank_of(const json_t *children, size_t i, const char *name)
{
    size_t rank = 0;
    for (size_t j = 0; j < i; j++) {
        const char *n =
            json_string_value(json_object_get(json_array_get(children, j),
                                              "name"));
        rank += n && strcmp(n, name) == 0;
    }
    return rank;
}

/* The text of an element (its string children joined). */
static void text_of(const json_t *el, lx_buf *out)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(el, "children"), i, c)
    {
        if (json_is_string(c))
            put(out, json_string_value(c), json_string_length(c));
    }
}

static bool element_equal(const json_t *e, const json_t *a, const char *path,
                          lx_conform_diffs *d)
{
    bool same = true;
    char p[1200];
    /* Attributes, by name. */
    const json_t *ea = json_object_get(e, "attributes");
    const json_t *aa = json_object_get(a, "attributes");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)ea, k, v)
    {
        snprintf(p, sizeof(p), "%s/@%s", path, local_of(k));
        if (!lx_conform_json_equal(v, json_object_get(aa, k), p, d))
            same = false;
    }
    json_object_foreach((json_t *)aa, k, v)
    {
        if (json_object_get(ea, k))
            continue;
        snprintf(p, sizeof(p), "%s/@%s", path, local_of(k));
        lx_conform_diffs_add(d, "%s: unexpected attribute (got \"%s\")", p,
                             json_string_value(v));
        same = false;
    }
    /* Text. */
    lx_buf te, ta;
    lx_buf_init(&te, 0);
    lx_buf_init(&ta, 0);
    text_of(e, &te);
    text_of(a, &ta);
    if (te.len != ta.len ||
        (te.len && memcmp(te.data, ta.data, te.len) != 0)) {
        json_t *je = json_stringn(te.data ? te.data : "", te.len);
        json_t *ja = json_stringn(ta.data ? ta.data : "", ta.len);
        snprintf(p, sizeof(p), "%s/text()", path);
        lx_conform_json_equal(je, ja, p, d);
        json_decref(je);
        json_decref(ja);
        same = false;
    }
    lx_buf_fini(&te);
    lx_buf_fini(&ta);
    /* Child elements, matched by name and rank among their namesakes: a
     * missing element is one difference, not a shift of all that follow. */
    const json_t *ec = json_object_get(e, "children");
    const json_t *ac = json_object_get(a, "children");
    size_t i;
    json_t *c;
    json_array_foreach((json_t *)ec, i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        if (!name)
            continue;
        size_t rank = rank_of(ec, i, name);
        snprintf(p, sizeof(p), "%s/%s[%zu]", path, local_of(name), rank + 1);
        const json_t *match = nth_named(ac, name, rank);
        if (!match) {
            lx_conform_diffs_add(d, "%s: missing element", p);
            same = false;
        } else if (!element_equal(c, match, p, d)) {
            same = false;
        }
    }
    json_array_foreach((json_t *)ac, i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        if (!name)
            continue;
        size_t rank = rank_of(ac, i, name);
        if (nth_named(ec, name, rank))
            continue;
        snprintf(p, sizeof(p), "%s/%s[%zu]", path, local_of(name), rank + 1);
        lx_conform_diffs_add(d, "%s: unexpected element", p);
        same = false;
    }
    return same;
}

bool lx_conform_xml_equal(const json_t *expected, const json_t *actual,
                          const char *base, lx_conform_diffs *d)
{
    const char *en = json_string_value(json_object_get(expected, "name"));
    const char *an = json_string_value(json_object_get(actual, "name"));
    char p[600];
    snprintf(p, sizeof(p), "%s/%s", base, en ? local_of(en) : "?");
    if (!en || !an || strcmp(en, an) != 0) {
        lx_conform_diffs_add(d, "%s: expected root element %s, got %s", p,
                             en ? en : "?", an ? an : "?");
        return false;
    }
    return element_equal(expected, actual, p, d);
}
