/* adapters/fhir/xml_read.c: FHIR XML -> FHIR JSON (lx_fhir_xml_to_json).
 *
 * One DOM parse (xml.c), then one walk that builds the jansson tree
 * directly, guided by the type table. The rules are those of
 * https://hl7.org/fhir/R4/xml.html and json.html; each is quoted where it
 * is applied. */
#include "adapters/fhir/xml_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One step of the FHIR path, rendered only when an error needs it. */
typedef struct frame {
    const char *name;
    long index; /* -1: not in a list */
} frame;

typedef struct reader {
    const lx_fhir_types *types;
    const lx_fhir_type *element_type;
    lx_error *err;
    lx_buf scratch; /* narrative text, reused */
    frame frames[LX_FHIR_XML_MAX_DEPTH + 2];
    int nframes;
} reader;

static void push(reader *r, const char *name, long index)
{
    LX_ASSERT(r->nframes < (int)(sizeof(r->frames) / sizeof(r->frames[0])));
    r->frames[r->nframes].name = name;
    r->frames[r->nframes].index = index;
    r->nframes++;
}

static void pop(reader *r)
{
    r->nframes--;
}

/* Patient.name[0].given[1] */
static void render_path(const reader *r, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < r->nframes && n < size; i++) {
        const frame *f = &r->frames[i];
        int w = f->index >= 0 ? snprintf(buf + n, size - n, "%s%s[%ld]",
                                         i ? "." : "", f->name, f->index)
                              : snprintf(buf + n, size - n, "%s%s",
                                         i ? "." : "", f->name);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

static int fail(reader *r, const xmlNode *node, int code, const char *fmt,
                ...) LX_PRINTF(4, 5);

static int fail(reader *r, const xmlNode *node, int code, const char *fmt,
                ...)
{
    if (!r->err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    lx_error_vset(r->err, code, fmt, ap);
    va_end(ap);
    char path[LX_ERROR_WHERE_MAX];
    render_path(r, path, sizeof(path));
    return lx_error_at(r->err, path, node ? xmlGetLineNo(node) : 0, 0);
}

static bool is_blank(const xmlChar *s)
{
    if (!s)
        return true;
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

/* The unprefixed attribute `name` of node, or NULL. */
static const xmlAttr *find_attr(const xmlNode *node, const char *name)
{
    for (const xmlAttr *a = node->properties; a; a = a->next)
        if (!a->ns && strcmp((const char *)a->name, name) == 0)
            return a;
    return NULL;
}

/* An attribute's value as a new string (xmlFree), never NULL. */
static xmlChar *attr_value(const xmlAttr *a)
{
    xmlChar *v = xmlNodeGetContent((const xmlNode *)a);
    LX_ASSERT(v != NULL);
    return v;
}

/* ---- primitive values --------------------------------------------------- */

/* decimal: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? (datatypes.html).
 * Sets *is_real when there is a fraction or an exponent: jansson reads
 * "0" as an integer and "0.0" as a real, and so must we for the JSON we
 * build to equal the JSON a FHIR JSON file parses into. */
static bool decimal_syntax(const char *s, bool *is_real)
{
    const char *p = s;
    *is_real = false;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return false;
    if (*p == '.') {
        p++;
        *is_real = true;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        *is_real = true;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

/* integer -?(0|[1-9][0-9]*), positiveInt [1-9][0-9]*, unsignedInt
 * 0|[1-9][0-9]*, all 32-bit signed (datatypes.html). */
static bool integer_value(const char *type, const char *s, long long *out)
{
    const char *p = s;
    bool neg = false;
    if (*p == '-' && strcmp(type, "integer") == 0) {
        neg = true;
        p++;
    }
    if (*p == '0' && p[1] == '\0') {
        *out = 0;
        return !neg && strcmp(type, "positiveInt") != 0;
    }
    if (!(*p >= '1' && *p <= '9'))
        return false;
    long long v = 0;
    for (; *p; p++) {
        if (!(*p >= '0' && *p <= '9'))
            return false;
        v = v * 10 + (*p - '0');
        if (v > 2147483648LL)
            return false;
    }
    if (neg)
        v = -v;
    if (v > 2147483647LL)
        return false;
    *out = v;
    return true;
}

static int primitive_value(reader *r, const xmlNode *node,
                           const lx_fhir_type *type, const char *s,
                           json_t **out)
{
    const char *tname = lx_fhir_type_name(type);
    switch (lx_fhir_type_json(type)) {
    case LX_FHIR_JSON_BOOLEAN:
        /* "true" and "false" only; xml:space does not apply to values. */
        if (strcmp(s, "true") == 0)
            *out = json_true();
        else if (strcmp(s, "false") == 0)
            *out = json_false();
        else
            return fail(r, node, LX_ESCHEMA,
                        "value is not a boolean (true or false)");
        return 0;
    case LX_FHIR_JSON_NUMBER:
        if (strcmp(tname, "decimal") == 0) {
            bool is_real;
            if (!decimal_syntax(s, &is_real))
                return fail(r, node, LX_ESCHEMA,
                            "value is not a valid decimal");
            if (!is_real) {
                errno = 0;
                long long v = strtoll(s, NULL, 10);
                if (errno == 0) {
                    *out = json_integer(v);
                    return 0;
                }
            }
            double d = strtod(s, NULL);
            if (!isfinite(d))
                return fail(r, node, LX_ESCHEMA,
                            "decimal value out of range");
            *out = json_real(d);
            LX_ASSERT(*out != NULL);
            return 0;
        } else {
            long long v;
            if (!integer_value(tname, s, &v))
                return fail(r, node, LX_ESCHEMA,
                            "value is not a valid %s (32-bit)", tname);
            *out = json_integer(v);
            return 0;
        }
    case LX_FHIR_JSON_STRING:
        *out = json_string(s);
        LX_ASSERT(*out != NULL); /* libxml2 hands out valid UTF-8 */
        return 0;
    default:
        break;
    }
    return fail(r, node, LX_ESCHEMA, "type %s has no value", tname);
}

/* ---- elements ----------------------------------------------------------- */

static int read_content(reader *r, const xmlNode *node,
                        const lx_fhir_type *type, json_t *obj, int depth,
                        bool is_primitive);

static int read_resource(reader *r, const xmlNode *node, int depth,
                         json_t **out);

static json_t *take_array(json_t *obj, const char *key, size_t key_len)
{
    json_t *a = json_object_getn(obj, key, key_len);
    if (!a) {
        a = json_array();
        json_object_setn_new_nocheck(obj, key, key_len, a);
    }
    return a;
}

/* "_name": the JSON home of a primitive's id and extensions (json.html,
 * "Representing primitive elements"). */
static void underscore(char *buf, size_t size, const char *name, size_t len,
                       size_t *out_len)
{
    LX_ASSERT(len + 2 <= size);
    buf[0] = '_';
    memcpy(buf + 1, name, len);
    buf[len + 1] = '\0';
    *out_len = len + 1;
}

/* Longer names cannot be in the table (types.h), so they are unknown. */
#define NAME_MAX_LEN LX_FHIR_NAME_MAX

static int read_primitive(reader *r, const xmlNode *c,
                          const lx_fhir_element *el, json_t *obj, int depth,
                          bool *null_values)
{
    const char *name = el->name;
    size_t len = el->name_len;
    char uname[NAME_MAX_LEN + 2];
    size_t ulen;
    underscore(uname, sizeof(uname), name, len, &ulen);
    if (!el->is_array && (json_object_getn(obj, name, len) ||
                          json_object_getn(obj, uname, ulen)))
        return fail(r, c, LX_ESCHEMA,
                    "element '%s' repeats but is not a list", name);

    json_t *val = NULL, *ext = NULL;
    const xmlAttr *va = find_attr(c, "value");
    if (va) {
        xmlChar *s = attr_value(va);
        int rc = primitive_value(r, c, el->type, (const char *)s, &val);
        xmlFree(s);
        if (rc)
            return rc;
    }
    /* Anything besides the value attribute is the id attribute and
     * extension children: the Element type's content. */
    if (c->children || (c->properties && (c->properties != va ||
                                          c->properties->next))) {
        ext = json_object();
        int rc = read_content(r, c, r->element_type, ext, depth, true);
        if (rc) {
            json_decref(val);
            json_decref(ext);
            return rc;
        }
        if (json_object_size(ext) == 0) {
            json_decref(ext);
            ext = NULL;
        }
    }
    if (!val && !ext)
        return fail(r, c, LX_ESCHEMA,
                    "element '%s' has neither a value nor extensions", name);

    if (!el->is_array) {
        if (val)
            json_object_setn_new_nocheck(obj, name, len, val);
        if (ext)
            json_object_setn_new_nocheck(obj, uname, ulen, ext);
        return 0;
    }
    /* Lists keep "name" and "_name" aligned with nulls (json.html:
     * "given": ["Peter", null], "_given": [null, {...}]). */
    json_t *arr = take_array(obj, name, len);
    json_t *earr = json_object_getn(obj, uname, ulen);
    if (ext && !earr) {
        earr = json_array();
        for (size_t i = 0; i < json_array_size(arr); i++)
            json_array_append_new(earr, json_null());
        json_object_setn_new_nocheck(obj, uname, ulen, earr);
    }
    if (!val)
        *null_values = true;
    json_array_append_new(arr, val ? val : json_null());
    if (earr)
        json_array_append_new(earr, ext ? ext : json_null());
    return 0;
}

/* <resource><Patient>...</Patient></resource>: the wrapper names the
 * element, the one child inside it the resource type (xml.html, "Resource
 * containment"); JSON has the resource object directly. */
static int read_wrapped(reader *r, const xmlNode *c, int depth,
                        json_t **out)
{
    *out = NULL;
    const xmlNode *inner = NULL;
    for (const xmlAttr *a = c->properties; a; a = a->next)
        if (!a->ns)
            return fail(r, c, LX_ESCHEMA, "unknown attribute '%s'",
                        (const char *)a->name);
    for (const xmlNode *k = c->children; k; k = k->next) {
        if (k->type == XML_ELEMENT_NODE) {
            if (inner)
                return fail(r, k, LX_ESCHEMA,
                            "more than one resource in '%s'",
                            (const char *)c->name);
            inner = k;
        } else if (k->type == XML_TEXT_NODE) {
            if (!is_blank(k->content))
                return fail(r, k, LX_ESCHEMA,
                            "text is not allowed here, only elements");
        } else if (k->type != XML_COMMENT_NODE && k->type != XML_PI_NODE) {
            return fail(r, k, LX_ESCHEMA, "unsupported XML node");
        }
    }
    if (!inner)
        return fail(r, c, LX_ESCHEMA, "'%s' holds no resource",
                    (const char *)c->name);
    return read_resource(r, inner, depth + 1, out);
}

static int read_child(reader *r, const xmlNode *c, const lx_fhir_type *type,
                      json_t *obj, int depth, bool *null_values)
{
    const char *name = (const char *)c->name;
    size_t len = strlen(name);
    const lx_fhir_element *el =
        len <= NAME_MAX_LEN
            ? lx_fhir_types_element(r->types, type, name, len)
            : NULL;
    bool is_div = el && lx_fhir_type_json(el->type) == LX_FHIR_JSON_XHTML;

    /* The index in a list is the number of items already read. */
    long index = -1;
    if (el && el->is_array) {
        json_t *a = json_object_getn(obj, name, len);
        index = a ? (long)json_array_size(a) : 0;
    }
    push(r, name, index);
    int rc = 0;
    json_t *val = NULL;
    if (depth > LX_FHIR_XML_MAX_DEPTH) {
        rc = fail(r, c, LX_ELIMIT, "elements nested deeper than %d",
                  LX_FHIR_XML_MAX_DEPTH);
    } else if (!lx_fhir_xml_in_ns(c, is_div ? LX_XHTML_NS : LX_FHIR_NS)) {
        rc = fail(r, c, LX_ESCHEMA, "element '%s' is not in the %s namespace",
                  name, is_div ? "XHTML (" LX_XHTML_NS ")"
                               : "FHIR (" LX_FHIR_NS ")");
    } else if (!el || el->is_attr) {
        rc = fail(r, c, LX_ESCHEMA, "unknown element '%s' in %s", name,
                  lx_fhir_type_name(type));
    } else if (is_div) {
        if (json_object_getn(obj, name, len)) {
            rc = fail(r, c, LX_ESCHEMA,
                      "element '%s' repeats but is not a list", name);
        } else {
            long line = 0;
            lx_buf_reset(&r->scratch);
            rc = lx_fhir_xhtml_write(&r->scratch, c, depth, &line, r->err);
            if (rc) {
                char path[LX_ERROR_WHERE_MAX];
                render_path(r, path, sizeof(path));
                lx_error_at(r->err, path, line, 0);
            } else {
                val = json_stringn_nocheck(r->scratch.data, r->scratch.len);
            }
        }
    } else {
        switch (lx_fhir_type_kind(el->type)) {
        case LX_FHIR_PRIMITIVE:
            rc = read_primitive(r, c, el, obj, depth, null_values);
            pop(r);
            return rc;
        case LX_FHIR_ANY_RESOURCE:
        case LX_FHIR_RESOURCE:
            if (!el->is_array && json_object_getn(obj, name, len))
                rc = fail(r, c, LX_ESCHEMA,
                          "element '%s' repeats but is not a list", name);
            else
                rc = read_wrapped(r, c, depth, &val);
            break;
        default:
            if (!el->is_array && json_object_getn(obj, name, len)) {
                rc = fail(r, c, LX_ESCHEMA,
                          "element '%s' repeats but is not a list", name);
                break;
            }
            val = json_object();
            rc = read_content(r, c, el->type, val, depth, false);
            break;
        }
    }
    if (rc == 0) {
        if (el->is_array)
            json_array_append_new(take_array(obj, name, len), val);
        else
            json_object_setn_new_nocheck(obj, name, len, val);
    } else {
        json_decref(val);
    }
    pop(r);
    return rc;
}

/* Lists of primitives where no item has a value: only "_name" remains. */
static void drop_null_lists(json_t *obj)
{
    const char *key;
    json_t *v, *tmp;
    json_object_foreach_safe(obj, tmp, key, v) {
        if (!json_is_array(v) || json_array_size(v) == 0)
            continue;
        size_t i;
        json_t *item;
        bool all_null = true;
        json_array_foreach(v, i, item) {
            if (!json_is_null(item)) {
                all_null = false;
                break;
            }
        }
        if (all_null)
            json_object_del(obj, key);
    }
}

/* The attributes and children of `node` (at `depth`), an element of `type`,
 * into obj. For a primitive (is_primitive), type is Element and the value
 * attribute has been read by the caller. */
static int read_content(reader *r, const xmlNode *node,
                        const lx_fhir_type *type, json_t *obj, int depth,
                        bool is_primitive)
{
    /* xml.html: "id" on elements and "url" on extensions are attributes;
     * attributes in other namespaces (xsi:schemaLocation) carry no FHIR
     * content and are ignored. */
    for (const xmlAttr *a = node->properties; a; a = a->next) {
        if (a->ns)
            continue;
        const char *an = (const char *)a->name;
        if (is_primitive && strcmp(an, "value") == 0)
            continue;
        size_t alen = strlen(an);
        const lx_fhir_element *el =
            alen <= NAME_MAX_LEN
                ? lx_fhir_types_element(r->types, type, an, alen)
                : NULL;
        if (!el || !el->is_attr)
            return fail(r, node, LX_ESCHEMA, "unknown attribute '%s' on %s",
                        an, lx_fhir_type_name(type));
        xmlChar *v = attr_value(a);
        json_object_setn_new_nocheck(obj, an, alen,
                                     json_string((const char *)v));
        xmlFree(v);
    }
    bool null_values = false;
    for (const xmlNode *c = node->children; c; c = c->next) {
        int rc = 0;
        switch (c->type) {
        case XML_ELEMENT_NODE:
            rc = read_child(r, c, type, obj, depth + 1, &null_values);
            break;
        case XML_TEXT_NODE:
            /* FHIR elements hold elements only (xml.html, "Primitive
             * values are in a value attribute"): text is whitespace. */
            if (!is_blank(c->content))
                rc = fail(r, c, LX_ESCHEMA,
                          "text is not allowed here, only elements");
            break;
        case XML_COMMENT_NODE:
        case XML_PI_NODE:
            break;
        default:
            rc = fail(r, c, LX_ESCHEMA, "unsupported XML node");
            break;
        }
        if (rc)
            return rc;
    }
    if (null_values)
        drop_null_lists(obj);
    return 0;
}

/* A resource element: its name is the resourceType (xml.html). */
static int read_resource(reader *r, const xmlNode *node, int depth,
                         json_t **out)
{
    *out = NULL;
    const char *name = (const char *)node->name;
    if (depth > LX_FHIR_XML_MAX_DEPTH)
        return fail(r, node, LX_ELIMIT, "elements nested deeper than %d",
                    LX_FHIR_XML_MAX_DEPTH);
    if (!lx_fhir_xml_in_ns(node, LX_FHIR_NS))
        return fail(r, node, LX_ESCHEMA,
                    "element '%s' is not in the FHIR namespace (" LX_FHIR_NS
                    ")",
                    name);
    const lx_fhir_type *type =
        lx_fhir_types_find(r->types, name, strlen(name));
    if (!type || lx_fhir_type_kind(type) != LX_FHIR_RESOURCE)
        return fail(r, node, LX_ESCHEMA, "'%s' is not a FHIR resource type",
                    name);
    json_t *obj = json_object();
    json_object_set_new_nocheck(obj, "resourceType",
                                json_string_nocheck(lx_fhir_type_name(type)));
    int rc = read_content(r, node, type, obj, depth, false);
    if (rc) {
        json_decref(obj);
        return rc;
    }
    *out = obj;
    return 0;
}

int lx_fhir_xml_to_json(const lx_fhir_types *types, const char *xml,
                        size_t len, size_t max_len, json_t **out,
                        lx_error *err)
{
    *out = NULL;
    if (max_len == 0)
        max_len = LX_FHIR_XML_MAX_DEFAULT;
    if (len > max_len) {
        lx_error_set(err, LX_ELIMIT,
                     "XML of %zu bytes is over the limit of %zu bytes", len,
                     max_len);
        return lx_error_at(err, "xml", 0, 0);
    }
    xmlDoc *doc = NULL;
    int rc = lx_fhir_xml_parse(xml, len, &doc, err);
    if (rc) {
        if (err)
            snprintf(err->where, sizeof(err->where), "xml");
        return rc;
    }
    reader r;
    r.types = types;
    r.element_type = lx_fhir_types_element_type(types);
    r.err = err;
    r.nframes = 0;
    lx_buf_init(&r.scratch, max_len);
    const xmlNode *root = xmlDocGetRootElement(doc);
    LX_ASSERT(root != NULL); /* a well-formed document has one */
    push(&r, (const char *)root->name, -1);
    rc = read_resource(&r, root, 1, out);
    lx_buf_fini(&r.scratch);
    xmlFreeDoc(doc);
    return rc;
}
