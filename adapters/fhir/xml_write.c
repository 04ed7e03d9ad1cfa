/* adapters/fhir/xml_write.c: FHIR JSON -> FHIR XML (lx_fhir_json_to_xml).
 *
 * The XML is written straight into the caller's buffer, elements in the
 * order of the definitions (xml.html: "elements SHALL appear in the order
 * defined"), which the type table carries. No DOM is built; libxml2 is
 * used only to check and re-serialize the narrative div. */
#include "adapters/fhir/xml_int.h"

#include "core/json.h"
#include "core/mem.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One step of the JSON pointer, rendered only when an error needs it. */
typedef struct frame {
    const char *key; /* NULL: an array index */
    size_t index;
} frame;

typedef struct writer {
    const lx_fhir_types *types;
    const lx_fhir_type *element_type;
    lx_buf *b;      /* NULL: check only (lx_fhir_json_check) */
    size_t counted; /* check only: bytes the XML would have */
    size_t max;     /* ceiling on the XML's length */
    bool exact;     /* check only: no narrative quick check */
    bool estimated; /* check only: counted holds a narrative's bound */
    lx_error *err;
    frame frames[2 * LX_FHIR_XML_MAX_DEPTH + 4];
    int nframes;
} writer;

static void push_key(writer *w, const char *key)
{
    LX_ASSERT(w->nframes < (int)(sizeof(w->frames) / sizeof(w->frames[0])));
    w->frames[w->nframes].key = key;
    w->frames[w->nframes].index = 0;
    w->nframes++;
}

static void push_index(writer *w, size_t index)
{
    LX_ASSERT(w->nframes < (int)(sizeof(w->frames) / sizeof(w->frames[0])));
    w->frames[w->nframes].key = NULL;
    w->frames[w->nframes].index = index;
    w->nframes++;
}

static void pop(writer *w)
{
    w->nframes--;
}

static int fail(writer *w, int code, const char *fmt, ...) LX_PRINTF(3, 4);

static int fail(writer *w, int code, const char *fmt, ...)
{
    if (!w->err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    lx_error_vset(w->err, code, fmt, ap);
    va_end(ap);
    char ptr[LX_ERROR_WHERE_MAX] = "";
    for (int i = 0; i < w->nframes; i++) {
        if (w->frames[i].key)
            lx_json_pointer_append(ptr, sizeof(ptr), w->frames[i].key);
        else
            lx_json_pointer_append_index(ptr, sizeof(ptr),
                                         w->frames[i].index);
    }
    return lx_error_at(w->err, ptr, 0, 0);
}

static int full(writer *w)
{
    return fail(w, LX_ELIMIT, "XML output over its limit of %zu bytes",
                w->max);
}

/* Check only: n more bytes of XML, within the ceiling as lx_buf_append
 * would have them. */
static int count(writer *w, size_t n)
{
    if (n > w->max - w->counted)
        return full(w);
    w->counted += n;
    return 0;
}

static int put(writer *w, const char *s, size_t n)
{
    if (!w->b)
        return count(w, n);
    return lx_buf_append(w->b, s, n) ? full(w) : 0;
}

static int puts_(writer *w, const char *s)
{
    return put(w, s, strlen(s));
}

static int put_escaped(writer *w, const char *s, size_t n, bool attr)
{
    size_t len = 0;
    int rc = w->b ? lx_fhir_xml_escape(w->b, s, n, attr)
                  : lx_fhir_xml_escaped_len(s, n, attr, &len);
    if (rc == 0 && !w->b)
        return count(w, len);
    if (rc == LX_ELIMIT)
        return full(w);
    if (rc)
        return fail(w, rc, "string holds a character XML cannot carry");
    return 0;
}

/* ---- members of an object, in definition order -------------------------- */

typedef struct member {
    const lx_fhir_element *el;
    const char *key; /* "given" */
    json_t *value;   /* NULL when only "_given" is there */
    const char *ukey; /* "_given" */
    json_t *ext;
} member;

#define MEMBERS_ON_STACK 48

typedef struct members {
    member *m;
    size_t count;
    member stack[MEMBERS_ON_STACK];
} members;

static void members_fini(members *ms)
{
    if (ms->m != ms->stack)
        free(ms->m);
}

/* Sort obj's properties by the order of type's elements, pairing "x" with
 * "_x". Unknown properties are errors. On success the caller frees ms with
 * members_fini; on error it is already freed. */
static int collect(writer *w, const lx_fhir_type *type, const json_t *obj,
                   bool is_resource, members *ms)
{
    size_t cap = lx_fhir_type_element_count(type);
    ms->m = cap <= MEMBERS_ON_STACK ? ms->stack
                                    : lx_xmalloc(cap * sizeof(member));
    ms->count = 0;
    const char *key;
    size_t key_len;
    json_t *v;
    json_object_keylen_foreach((json_t *)obj, key, key_len, v)
    {
        if (is_resource && key_len == 12 && strcmp(key, "resourceType") == 0)
            continue;
        bool is_u = key[0] == '_';
        const lx_fhir_element *el = lx_fhir_types_element(
            w->types, type, key + is_u, key_len - is_u);
        if (!el) {
            push_key(w, key);
            int rc = fail(w, LX_ESCHEMA, "unknown property '%s' in %s", key,
                          lx_fhir_type_name(type));
            pop(w);
            members_fini(ms);
            return rc;
        }
        if (is_u && (lx_fhir_type_kind(el->type) != LX_FHIR_PRIMITIVE ||
                     lx_fhir_type_json(el->type) == LX_FHIR_JSON_XHTML ||
                     el->is_attr)) {
            push_key(w, key);
            int rc = fail(w, LX_ESCHEMA,
                          "'%s' is allowed only beside a primitive element",
                          key);
            pop(w);
            members_fini(ms);
            return rc;
        }
        /* Insertion sort: a handful of members, nearly always in order. */
        size_t i = ms->count;
        while (i > 0 && ms->m[i - 1].el->order > el->order)
            i--;
        member *m;
        if (i > 0 && ms->m[i - 1].el == el) {
            m = &ms->m[i - 1];
        } else {
            LX_ASSERT(ms->count < cap);
            memmove(&ms->m[i + 1], &ms->m[i],
                    (ms->count - i) * sizeof(member));
            ms->count++;
            m = &ms->m[i];
            memset(m, 0, sizeof(*m));
            m->el = el;
        }
        if (is_u) {
            m->ukey = key;
            m->ext = v;
        } else {
            m->key = key;
            m->value = v;
        }
    }
    return 0;
}

/* ---- values ------------------------------------------------------------- */

/* Shortest decimal text that reads back as the same double, with ".0" when
 * it would otherwise read back as an integer (jansson tells 1 from 1.0). */
static void format_real(double d, char *buf, size_t size)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    if (!strpbrk(buf, ".eE")) {
        size_t n = strlen(buf);
        if (n + 3 <= size)
            memcpy(buf + n, ".0", 3);
    }
}

/* The text of a primitive's value attribute, in buf (numbers, booleans) or
 * borrowed from the JSON string. */
static int value_text(writer *w, const lx_fhir_type *type, const json_t *v,
                      char *buf, size_t size, const char **text,
                      size_t *len)
{
    const char *tname = lx_fhir_type_name(type);
    switch (lx_fhir_type_json(type)) {
    case LX_FHIR_JSON_STRING:
        if (!json_is_string(v))
            return fail(w, LX_ESCHEMA, "a %s must be a JSON string", tname);
        *text = json_string_value(v);
        *len = json_string_length(v);
        return 0;
    case LX_FHIR_JSON_BOOLEAN:
        if (!json_is_boolean(v))
            return fail(w, LX_ESCHEMA, "a boolean must be true or false");
        *text = json_is_true(v) ? "true" : "false";
        *len = strlen(*text);
        return 0;
    case LX_FHIR_JSON_NUMBER:
        if (strcmp(tname, "decimal") == 0) {
            if (json_is_integer(v))
                snprintf(buf, size, "%" JSON_INTEGER_FORMAT,
                         json_integer_value(v));
            else if (json_is_real(v))
                format_real(json_real_value(v), buf, size);
            else
                return fail(w, LX_ESCHEMA,
                            "a decimal must be a JSON number");
        } else {
            json_int_t min = strcmp(tname, "integer") == 0       ? INT32_MIN
                             : strcmp(tname, "positiveInt") == 0 ? 1
                                                                 : 0;
            if (!json_is_integer(v) || json_integer_value(v) < min ||
                json_integer_value(v) > INT32_MAX)
                return fail(w, LX_ESCHEMA,
                            "a %s must be a JSON integer from %" JSON_INTEGER_FORMAT
                            " to 2147483647",
                            tname, min);
            snprintf(buf, size, "%" JSON_INTEGER_FORMAT,
                     json_integer_value(v));
        }
        *text = buf;
        *len = strlen(buf);
        return 0;
    default:
        break;
    }
    return fail(w, LX_ESCHEMA, "type %s has no value", tname);
}

/* ---- elements ----------------------------------------------------------- */

static int write_object(writer *w, const char *name, const lx_fhir_type *type,
                        const json_t *obj, int depth, const char *value,
                        size_t value_len);

static int write_resource(writer *w, const json_t *obj, int depth);

/* <name value="..." id="..."><extension .../></name> from "name" and
 * "_name" (json.html, "Representing primitive elements"). */
static int write_primitive(writer *w, const lx_fhir_element *el,
                           const json_t *v, const json_t *ext, int depth)
{
    char buf[64];
    const char *text = NULL;
    size_t len = 0;
    if (v) {
        int rc = value_text(w, el->type, v, buf, sizeof(buf), &text, &len);
        if (rc)
            return rc;
    }
    if (ext) {
        if (!json_is_object(ext))
            return fail(w, LX_ESCHEMA, "expected an object");
        return write_object(w, el->name, w->element_type, ext, depth, text,
                            len);
    }
    int rc = put(w, "<", 1);
    if (rc == 0)
        rc = put(w, el->name, el->name_len);
    if (rc == 0)
        rc = put(w, " value=\"", 8);
    if (rc == 0)
        rc = put_escaped(w, text, len, true);
    if (rc == 0)
        rc = put(w, "\"/>", 3);
    return rc;
}

static int write_primitive_member(writer *w, const member *m, int depth)
{
    const lx_fhir_element *el = m->el;
    if (!el->is_array) {
        member one = *m;
        if (one.value && json_is_null(one.value))
            one.value = NULL; /* "name": null beside "_name" */
        m = &one;
        if ((m->value && json_is_array(m->value)) ||
            (m->ext && json_is_array(m->ext))) {
            push_key(w, m->value && json_is_array(m->value) ? m->key
                                                           : m->ukey);
            int rc = fail(w, LX_ESCHEMA, "'%s' is not a list", el->name);
            pop(w);
            return rc;
        }
        if (!m->value && (!m->ext || json_is_null(m->ext))) {
            push_key(w, m->key ? m->key : m->ukey);
            int rc = fail(w, LX_ESCHEMA, "'%s' has neither a value nor "
                                         "extensions", el->name);
            pop(w);
            return rc;
        }
        push_key(w, m->value ? m->key : m->ukey);
        int rc = write_primitive(w, el, m->value,
                                 m->ext && !json_is_null(m->ext) ? m->ext
                                                                  : NULL,
                                 depth);
        pop(w);
        return rc;
    }
    if ((m->value && !json_is_array(m->value)) ||
        (m->ext && !json_is_array(m->ext))) {
        push_key(w, m->value && !json_is_array(m->value) ? m->key : m->ukey);
        int rc = fail(w, LX_ESCHEMA, "'%s' must be a list", el->name);
        pop(w);
        return rc;
    }
    size_t n = m->value ? json_array_size(m->value) : 0;
    size_t ne = m->ext ? json_array_size(m->ext) : 0;
    if (m->value && m->ext && n != ne) {
        push_key(w, m->ukey);
        int rc = fail(w, LX_ESCHEMA,
                      "'%s' has %zu items but '%s' has %zu", m->ukey, ne,
                      m->key, n);
        pop(w);
        return rc;
    }
    if (ne > n)
        n = ne;
    for (size_t i = 0; i < n; i++) {
        json_t *v = m->value ? json_array_get(m->value, i) : NULL;
        json_t *e = m->ext ? json_array_get(m->ext, i) : NULL;
        if (v && json_is_null(v))
            v = NULL;
        if (e && json_is_null(e))
            e = NULL;
        push_key(w, v ? m->key : m->ukey ? m->ukey : m->key);
        push_index(w, i);
        int rc = 0;
        if (!v && !e)
            rc = fail(w, LX_ESCHEMA,
                      "item has neither a value nor extensions");
        else
            rc = write_primitive(w, el, v, e, depth);
        pop(w);
        pop(w);
        if (rc)
            return rc;
    }
    return 0;
}

/* Narrative.div: a string of XHTML in JSON, the element itself in XML. The
 * string is parsed (safely, as any XML) so that only a well-formed XHTML div
 * reaches the output. */
static int write_div(writer *w, const json_t *v, int depth)
{
    if (!json_is_string(v))
        return fail(w, LX_ESCHEMA, "the narrative div must be a string");
    /* A plain div is written without a libxml2 document. */
    if (w->b && lx_fhir_xhtml_quick_write(w->b, json_string_value(v),
                                          json_string_length(v), depth))
        return 0;
    size_t bound;
    if (!w->b && !w->exact &&
        lx_fhir_xhtml_quick_check(json_string_value(v), json_string_length(v),
                                  depth, &bound) &&
        bound <= w->max - w->counted) {
        /* Check only, and a plain div: no libxml2 document. Its length is
         * counted by its bound, so passing the ceiling afterwards is
         * checked again exactly (lx_fhir_json_check). */
        w->counted += bound;
        w->estimated = true;
        return 0;
    }
    xmlDoc *doc = NULL;
    lx_error perr;
    lx_error_clear(&perr);
    int rc = lx_fhir_xml_parse(json_string_value(v), json_string_length(v),
                               &doc, &perr);
    if (rc) {
        rc = fail(w, rc, "narrative: %s", perr.msg);
        if (w->err) {
            w->err->line = perr.line;
            w->err->column = perr.column;
            w->err->lib_code = perr.lib_code;
        }
        return rc;
    }
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (!root || strcmp((const char *)root->name, "div") != 0 ||
        (root->ns && !lx_fhir_xml_in_ns(root, LX_XHTML_NS))) {
        xmlFreeDoc(doc);
        return fail(w, LX_ESCHEMA,
                    "the narrative must be one XHTML div element");
    }
    long line = 0;
    if (w->b) {
        rc = lx_fhir_xhtml_write(w->b, root, depth, &line, w->err);
    } else {
        /* Check only: the narrative is written aside, within what is left
         * of the ceiling, for its checks and its length. */
        lx_buf aside;
        lx_buf_init(&aside, w->max - w->counted);
        rc = lx_fhir_xhtml_write(&aside, root, depth, &line, w->err);
        if (rc == 0)
            w->counted += aside.len;
        lx_buf_fini(&aside);
    }
    xmlFreeDoc(doc);
    if (rc) {
        if (w->err) {
            char msg[LX_ERROR_MSG_MAX];
            snprintf(msg, sizeof(msg), "%s", w->err->msg);
            rc = fail(w, rc, "narrative: %s", msg);
            w->err->line = line;
        }
        return rc;
    }
    return 0;
}

/* One item of a non-primitive element. */
static int write_item(writer *w, const lx_fhir_element *el, const json_t *v,
                      int depth)
{
    if (!json_is_object(v))
        return fail(w, LX_ESCHEMA, "expected an object");
    switch (lx_fhir_type_kind(el->type)) {
    case LX_FHIR_ANY_RESOURCE:
    case LX_FHIR_RESOURCE: {
        /* xml.html: a contained resource sits in an element named by its
         * type inside the element of the property. */
        int rc = put(w, "<", 1);
        if (rc == 0)
            rc = put(w, el->name, el->name_len);
        if (rc == 0)
            rc = put(w, ">", 1);
        if (rc == 0)
            rc = write_resource(w, v, depth + 1);
        if (rc == 0)
            rc = put(w, "</", 2);
        if (rc == 0)
            rc = put(w, el->name, el->name_len);
        if (rc == 0)
            rc = put(w, ">", 1);
        return rc;
    }
    default:
        return write_object(w, el->name, el->type, v, depth, NULL, 0);
    }
}

static int write_member(writer *w, const member *m, int depth)
{
    const lx_fhir_element *el = m->el;
    if (depth > LX_FHIR_XML_MAX_DEPTH) {
        push_key(w, m->key ? m->key : m->ukey);
        int rc = fail(w, LX_ELIMIT, "elements nested deeper than %d",
                      LX_FHIR_XML_MAX_DEPTH);
        pop(w);
        return rc;
    }
    if (lx_fhir_type_kind(el->type) == LX_FHIR_PRIMITIVE &&
        lx_fhir_type_json(el->type) != LX_FHIR_JSON_XHTML)
        return write_primitive_member(w, m, depth);
    push_key(w, m->key);
    int rc = 0;
    if (lx_fhir_type_json(el->type) == LX_FHIR_JSON_XHTML) {
        rc = write_div(w, m->value, depth);
    } else if (el->is_array) {
        if (!json_is_array(m->value)) {
            rc = fail(w, LX_ESCHEMA, "'%s' must be a list", el->name);
        } else {
            size_t i;
            json_t *item;
            json_array_foreach(m->value, i, item) {
                push_index(w, i);
                rc = write_item(w, el, item, depth);
                pop(w);
                if (rc)
                    break;
            }
        }
    } else if (json_is_array(m->value)) {
        rc = fail(w, LX_ESCHEMA, "'%s' is not a list", el->name);
    } else {
        rc = write_item(w, el, m->value, depth);
    }
    pop(w);
    return rc;
}

/* <name attrs [value]> children </name>, or <name .../> when there are no
 * children. obj's attribute elements (Element.id, Extension.url) become
 * attributes, the others children in definition order. */
static int write_object(writer *w, const char *name, const lx_fhir_type *type,
                        const json_t *obj, int depth, const char *value,
                        size_t value_len)
{
    members ms;
    int rc = collect(w, type, obj, false, &ms);
    if (rc)
        return rc;
    rc = put(w, "<", 1);
    if (rc == 0)
        rc = puts_(w, name);
    size_t nchildren = 0;
    for (size_t i = 0; rc == 0 && i < ms.count; i++) {
        const member *m = &ms.m[i];
        if (!m->el->is_attr) {
            nchildren++;
            continue;
        }
        push_key(w, m->key);
        if (!json_is_string(m->value)) {
            rc = fail(w, LX_ESCHEMA, "'%s' must be a string", m->key);
        } else {
            rc = put(w, " ", 1);
            if (rc == 0)
                rc = put(w, m->el->name, m->el->name_len);
            if (rc == 0)
                rc = put(w, "=\"", 2);
            if (rc == 0)
                rc = put_escaped(w, json_string_value(m->value),
                                 json_string_length(m->value), true);
            if (rc == 0)
                rc = put(w, "\"", 1);
        }
        pop(w);
    }
    if (rc == 0 && value) {
        rc = put(w, " value=\"", 8);
        if (rc == 0)
            rc = put_escaped(w, value, value_len, true);
        if (rc == 0)
            rc = put(w, "\"", 1);
    }
    if (rc == 0 && nchildren == 0) {
        rc = put(w, "/>", 2);
        members_fini(&ms);
        return rc;
    }
    if (rc == 0)
        rc = put(w, ">", 1);
    for (size_t i = 0; rc == 0 && i < ms.count; i++)
        if (!ms.m[i].el->is_attr)
            rc = write_member(w, &ms.m[i], depth + 1);
    members_fini(&ms);
    if (rc == 0)
        rc = put(w, "</", 2);
    if (rc == 0)
        rc = puts_(w, name);
    if (rc == 0)
        rc = put(w, ">", 1);
    return rc;
}

/* A resource: its element is named by resourceType; the document element
 * carries the FHIR namespace, nested ones inherit it. */
static int write_resource(writer *w, const json_t *obj, int depth)
{
    if (depth > LX_FHIR_XML_MAX_DEPTH)
        return fail(w, LX_ELIMIT, "elements nested deeper than %d",
                    LX_FHIR_XML_MAX_DEPTH);
    if (!json_is_object(obj))
        return fail(w, LX_ESCHEMA, "a resource must be a JSON object");
    json_t *rt = json_object_get(obj, "resourceType");
    const lx_fhir_type *type =
        json_is_string(rt)
            ? lx_fhir_types_find(w->types, json_string_value(rt),
                                 json_string_length(rt))
            : NULL;
    if (!type || lx_fhir_type_kind(type) != LX_FHIR_RESOURCE) {
        push_key(w, "resourceType");
        int rc = fail(w, LX_ESCHEMA, rt ? "not a FHIR resource type"
                                        : "missing resourceType");
        pop(w);
        return rc;
    }
    members ms;
    int rc = collect(w, type, obj, true, &ms);
    if (rc)
        return rc;
    const char *name = lx_fhir_type_name(type);
    rc = put(w, "<", 1);
    if (rc == 0)
        rc = puts_(w, name);
    if (rc == 0 && depth == 1)
        rc = puts_(w, " xmlns=\"" LX_FHIR_NS "\"");
    if (rc == 0)
        rc = put(w, ">", 1);
    for (size_t i = 0; rc == 0 && i < ms.count; i++)
        rc = write_member(w, &ms.m[i], depth + 1);
    members_fini(&ms);
    if (rc == 0)
        rc = put(w, "</", 2);
    if (rc == 0)
        rc = puts_(w, name);
    if (rc == 0)
        rc = put(w, ">", 1);
    return rc;
}

static void writer_init(writer *w, const lx_fhir_types *types, lx_buf *b,
                        size_t max, lx_error *err)
{
    w->types = types;
    w->element_type = lx_fhir_types_element_type(types);
    w->b = b;
    w->counted = 0;
    w->max = max;
    w->exact = false;
    w->estimated = false;
    w->err = err;
    w->nframes = 0;
}

int lx_fhir_json_to_xml(const lx_fhir_types *types, const json_t *resource,
                        lx_buf *out, lx_error *err)
{
    writer w;
    writer_init(&w, types, out, out->max, err);
    size_t mark = out->len;
    int rc = puts_(&w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    if (rc == 0)
        rc = write_resource(&w, resource, 1);
    if (rc) {
        out->len = mark;
        if (out->data)
            out->data[mark] = '\0';
    }
    return rc;
}

int lx_fhir_json_check(const lx_fhir_types *types, const json_t *resource,
                       size_t max_xml, lx_error *err)
{
    writer w;
    int rc = 0;
    for (int pass = 0; pass < 2; pass++) {
        writer_init(&w, types, NULL, max_xml ? max_xml : SIZE_MAX / 2, err);
        /* The second pass, when perhaps only the narratives' bounds passed
         * the ceiling, measures every narrative. */
        w.exact = pass == 1;
        rc = puts_(&w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        if (rc == 0)
            rc = write_resource(&w, resource, 1);
        if (rc != LX_ELIMIT || !w.estimated)
            break;
    }
    return rc;
}
