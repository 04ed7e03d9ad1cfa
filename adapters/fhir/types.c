/* adapters/fhir/types.c: see types.h.
 *
 * The whole table is four allocations: the types, the elements, one pool of
 * NUL-terminated names, and the two open-addressing hash tables (types by
 * name, elements by parent and name). Nothing is allocated after load. */
#include "adapters/fhir/types.h"

#include "core/json.h"
#include "core/mem.h"

#include <stdint.h>
#include <string.h>

struct lx_fhir_type {
    const char *name;
    size_t name_len;
    enum lx_fhir_kind kind;
    enum lx_fhir_json json;
    unsigned index; /* mixes the parent into element hashes */
    lx_fhir_element *elements;
    size_t element_count;
};

struct lx_fhir_types {
    lx_fhir_type *types;
    size_t type_count;
    lx_fhir_element *elements;
    size_t element_count;
    char *names;
    const lx_fhir_type **type_slots; /* power-of-two size, NULL = empty */
    size_t type_mask;
    const lx_fhir_element **elem_slots;
    size_t elem_mask;
    const lx_fhir_type *element_type;
};

/* FNV-1a, 64 bits: short ASCII names, no adversary (the table is ours). */
static uint64_t hash_name(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211u;
    }
    return h;
}

static uint64_t hash_element(unsigned parent, const char *s, size_t len)
{
    uint64_t h = hash_name(s, len) ^ ((uint64_t)parent * 0x9e3779b97f4a7c15u);
    return h ^ (h >> 29);
}

static size_t slots_for(size_t count)
{
    size_t n = 16;
    while (n < count * 2)
        n *= 2;
    return n;
}

const lx_fhir_type *lx_fhir_types_find(const lx_fhir_types *types,
                                       const char *name, size_t len)
{
    size_t i = (size_t)hash_name(name, len) & types->type_mask;
    for (;;) {
        const lx_fhir_type *t = types->type_slots[i];
        if (!t)
            return NULL;
        if (t->name_len == len && memcmp(t->name, name, len) == 0)
            return t;
        i = (i + 1) & types->type_mask;
    }
}

const lx_fhir_element *lx_fhir_types_element(const lx_fhir_types *types,
                                             const lx_fhir_type *parent,
                                             const char *name, size_t len)
{
    size_t i = (size_t)hash_element(parent->index, name, len) &
               types->elem_mask;
    for (;;) {
        const lx_fhir_element *e = types->elem_slots[i];
        if (!e)
            return NULL;
        if (e->parent == parent && e->name_len == len &&
            memcmp(e->name, name, len) == 0)
            return e;
        i = (i + 1) & types->elem_mask;
    }
}

const lx_fhir_type *lx_fhir_types_element_type(const lx_fhir_types *types)
{
    return types->element_type;
}

const char *lx_fhir_type_name(const lx_fhir_type *type)
{
    return type->name;
}

enum lx_fhir_kind lx_fhir_type_kind(const lx_fhir_type *type)
{
    return type->kind;
}

enum lx_fhir_json lx_fhir_type_json(const lx_fhir_type *type)
{
    return type->json;
}

size_t lx_fhir_type_element_count(const lx_fhir_type *type)
{
    return type->element_count;
}

const lx_fhir_element *lx_fhir_type_element_at(const lx_fhir_type *type,
                                               size_t index)
{
    LX_ASSERT(index < type->element_count);
    return &type->elements[index];
}

void lx_fhir_types_destroy(lx_fhir_types **types)
{
    if (!types || !*types)
        return;
    lx_fhir_types *t = *types;
    free(t->types);
    free(t->elements);
    free(t->names);
    free(t->type_slots);
    free(t->elem_slots);
    free(t);
    *types = NULL;
}

/* ---- loading ---------------------------------------------------------- */

typedef struct loader {
    const char *path;
    lx_fhir_types *t;
    char *pool_at;
    lx_error *err;
} loader;

static int bad(loader *ld, const char *pointer, const char *what)
{
    lx_error_set(ld->err, LX_ECONFIG, "not a FHIR type table at %s: %s",
                 pointer, what);
    return lx_error_at(ld->err, ld->path, 0, 0);
}

static const char *pool_add(loader *ld, const char *s, size_t len)
{
    char *p = ld->pool_at;
    memcpy(p, s, len);
    p[len] = '\0';
    ld->pool_at += len + 1;
    return p;
}

static int add_type(loader *ld, const char *name, enum lx_fhir_kind kind,
                    enum lx_fhir_json json, const char *pointer)
{
    lx_fhir_types *t = ld->t;
    size_t len = strlen(name);
    if (len == 0 || len > LX_FHIR_NAME_MAX)
        return bad(ld, pointer, "type name empty or too long");
    if (lx_fhir_types_find(t, name, len))
        return bad(ld, pointer, "type defined twice");
    lx_fhir_type *ty = &t->types[t->type_count];
    ty->name = pool_add(ld, name, len);
    ty->name_len = len;
    ty->kind = kind;
    ty->json = json;
    ty->index = (unsigned)t->type_count;
    t->type_count++;
    size_t i = (size_t)hash_name(name, len) & t->type_mask;
    while (t->type_slots[i])
        i = (i + 1) & t->type_mask;
    t->type_slots[i] = ty;
    return 0;
}

static int parse_primitives(loader *ld, json_t *prims)
{
    const char *name;
    json_t *v;
    json_object_foreach(prims, name, v) {
        char ptr[LX_ERROR_WHERE_MAX] = "/primitives";
        lx_json_pointer_append(ptr, sizeof(ptr), name);
        const char *k = json_string_value(v);
        enum lx_fhir_json j;
        if (!k)
            return bad(ld, ptr, "expected a string");
        if (strcmp(k, "string") == 0)
            j = LX_FHIR_JSON_STRING;
        else if (strcmp(k, "number") == 0)
            j = LX_FHIR_JSON_NUMBER;
        else if (strcmp(k, "boolean") == 0)
            j = LX_FHIR_JSON_BOOLEAN;
        else if (strcmp(k, "xhtml") == 0)
            j = LX_FHIR_JSON_XHTML;
        else
            return bad(ld, ptr, "expected string, number, boolean or xhtml");
        int rc = add_type(ld, name, LX_FHIR_PRIMITIVE, j, ptr);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_kind(const char *k, enum lx_fhir_kind *kind)
{
    if (!k)
        return -1;
    if (strcmp(k, "resource") == 0)
        *kind = LX_FHIR_RESOURCE;
    else if (strcmp(k, "complex") == 0)
        *kind = LX_FHIR_COMPLEX;
    else if (strcmp(k, "backbone") == 0)
        *kind = LX_FHIR_BACKBONE;
    else
        return -1;
    return 0;
}

static int parse_elements(loader *ld, lx_fhir_type *ty, json_t *elems,
                          const char *type_ptr)
{
    lx_fhir_types *t = ld->t;
    ty->elements = &t->elements[t->element_count];
    size_t i;
    json_t *e;
    json_array_foreach(elems, i, e) {
        char ptr[LX_ERROR_WHERE_MAX];
        snprintf(ptr, sizeof(ptr), "%s/elements", type_ptr);
        lx_json_pointer_append_index(ptr, sizeof(ptr), i);
        const char *name = lx_json_str(e, "name");
        const char *tname = lx_json_str(e, "type");
        json_t *arr = json_object_get(e, "array");
        json_t *attr = json_object_get(e, "attr");
        if (!name || !*name || !tname || !json_is_boolean(arr) ||
            (attr && !json_is_boolean(attr)))
            return bad(ld, ptr,
                       "expected {name, type, array: bool[, attr: bool]}");
        const lx_fhir_type *et = lx_fhir_types_find(t, tname, strlen(tname));
        if (!et)
            return bad(ld, ptr, "unknown element type");
        size_t len = strlen(name);
        if (len > LX_FHIR_NAME_MAX)
            return bad(ld, ptr, "element name too long");
        if (lx_fhir_types_element(t, ty, name, len))
            return bad(ld, ptr, "element defined twice");
        lx_fhir_element *el = &t->elements[t->element_count++];
        el->name = pool_add(ld, name, len);
        el->name_len = len;
        el->parent = ty;
        el->type = et;
        el->order = (unsigned)i;
        el->is_array = json_is_true(arr);
        el->is_attr = attr && json_is_true(attr);
        if (el->is_attr && (el->is_array || et->kind != LX_FHIR_PRIMITIVE ||
                            et->json != LX_FHIR_JSON_STRING))
            return bad(ld, ptr, "an attribute must be a single string");
        size_t s = (size_t)hash_element(ty->index, name, len) & t->elem_mask;
        while (t->elem_slots[s])
            s = (s + 1) & t->elem_mask;
        t->elem_slots[s] = el;
        ty->element_count++;
    }
    return 0;
}

/* Count what is to be allocated, checking the outline of the file. */
static int measure(loader *ld, json_t *root, size_t *ntypes, size_t *nelems,
                   size_t *nbytes)
{
    json_t *prims = json_object_get(root, "primitives");
    json_t *types = json_object_get(root, "types");
    if (!json_is_object(root))
        return bad(ld, "", "expected an object");
    if (!json_is_object(prims))
        return bad(ld, "/primitives", "expected an object");
    if (!json_is_object(types))
        return bad(ld, "/types", "expected an object");
    *ntypes = 1 + json_object_size(prims) + json_object_size(types);
    *nelems = 0;
    *nbytes = sizeof("Resource");
    const char *name;
    json_t *v;
    json_object_foreach(prims, name, v) {
        *nbytes += strlen(name) + 1;
    }
    json_object_foreach(types, name, v) {
        char ptr[LX_ERROR_WHERE_MAX] = "/types";
        lx_json_pointer_append(ptr, sizeof(ptr), name);
        *nbytes += strlen(name) + 1;
        json_t *els = json_object_get(v, "elements");
        if (!json_is_array(els))
            return bad(ld, ptr, "expected {kind, elements: [...]}");
        size_t i;
        json_t *e;
        json_array_foreach(els, i, e) {
            const char *en = lx_json_str(e, "name");
            if (!en) {
                lx_json_pointer_append(ptr, sizeof(ptr), "elements");
                lx_json_pointer_append_index(ptr, sizeof(ptr), i);
                return bad(ld, ptr, "element without a name");
            }
            *nbytes += strlen(en) + 1;
            (*nelems)++;
        }
    }
    return 0;
}

static int build(loader *ld, json_t *root)
{
    size_t ntypes = 0, nelems = 0, nbytes = 0;
    int rc = measure(ld, root, &ntypes, &nelems, &nbytes);
    if (rc)
        return rc;
    lx_fhir_types *t = ld->t;
    t->types = lx_xcalloc(ntypes, sizeof(*t->types));
    t->elements = lx_xcalloc(nelems ? nelems : 1, sizeof(*t->elements));
    t->names = lx_xmalloc(nbytes);
    ld->pool_at = t->names;
    size_t ts = slots_for(ntypes), es = slots_for(nelems);
    t->type_slots = lx_xcalloc(ts, sizeof(*t->type_slots));
    t->type_mask = ts - 1;
    t->elem_slots = lx_xcalloc(es, sizeof(*t->elem_slots));
    t->elem_mask = es - 1;

    /* Primitives first, then "Resource", then every complex type so that
     * elements can refer to types defined anywhere in the file. */
    rc = parse_primitives(ld, json_object_get(root, "primitives"));
    if (rc)
        return rc;
    rc = add_type(ld, "Resource", LX_FHIR_ANY_RESOURCE, LX_FHIR_JSON_NONE,
                  "/types/Resource");
    if (rc)
        return rc;
    json_t *types = json_object_get(root, "types");
    const char *name;
    json_t *v;
    json_object_foreach(types, name, v) {
        char ptr[LX_ERROR_WHERE_MAX] = "/types";
        lx_json_pointer_append(ptr, sizeof(ptr), name);
        enum lx_fhir_kind kind;
        if (parse_kind(lx_json_str(v, "kind"), &kind) != 0)
            return bad(ld, ptr, "kind is not resource, complex or backbone");
        rc = add_type(ld, name, kind, LX_FHIR_JSON_NONE, ptr);
        if (rc)
            return rc;
    }
    size_t first_complex = t->type_count - json_object_size(types);
    size_t k = first_complex;
    json_object_foreach(types, name, v) {
        char ptr[LX_ERROR_WHERE_MAX] = "/types";
        lx_json_pointer_append(ptr, sizeof(ptr), name);
        rc = parse_elements(ld, &t->types[k++],
                            json_object_get(v, "elements"), ptr);
        if (rc)
            return rc;
    }
    t->element_type = lx_fhir_types_find(t, "Element", 7);
    if (!t->element_type || t->element_type->kind != LX_FHIR_COMPLEX)
        return bad(ld, "/types/Element", "the type Element is missing");
    const lx_fhir_type *div = lx_fhir_types_find(t, "xhtml", 5);
    if (!div || div->json != LX_FHIR_JSON_XHTML)
        return bad(ld, "/primitives/xhtml", "the type xhtml is missing");
    return 0;
}

int lx_fhir_types_load(const char *path, lx_fhir_types **out, lx_error *err)
{
    *out = NULL;
    json_t *root = NULL;
    int rc = lx_json_load_file(path, LX_FHIR_TYPES_FILE_MAX, &root, err);
    if (rc)
        return rc;
    loader ld = {path, lx_xcalloc(1, sizeof(lx_fhir_types)), NULL, err};
    rc = build(&ld, root);
    json_decref(root);
    if (rc) {
        lx_fhir_types_destroy(&ld.t);
        return rc;
    }
    *out = ld.t;
    return 0;
}
