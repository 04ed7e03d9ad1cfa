/* adapters/fhir/fhir.c: see fhir.h. */
#include "adapters/fhir/fhir.h"
#include "adapters/fhir/types.h"
#include "adapters/fhir/xml.h"
#include "core/json.h"
#include "core/mem.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAPS_MAX 32

typedef struct fhir_map {
    char *type;   /* resource type, "Patient" */
    char *entity; /* canonical entity, "person" */
    lx_map *map;
} fhir_map;

struct lx_fhir {
    lx_fhir_types *types;
    fhir_map maps[MAPS_MAX];
    size_t count;
};

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int lx_fhir_open(const char *root, lx_fhir **out, lx_error *err)
{
    *out = NULL;
    lx_fhir_xml_init();
    lx_fhir *f = lx_xcalloc(1, sizeof(*f));
    char path[4096];
    snprintf(path, sizeof(path), "%s/fhir/r4/types.json", root);
    int rc = lx_fhir_types_load(path, &f->types, err);
    if (rc != 0) {
        lx_fhir_close(&f);
        return rc;
    }
    /* Every mapping in maps/fhir, in name order (stable error reports). */
    snprintf(path, sizeof(path), "%s/maps/fhir", root);
    DIR *d = opendir(path);
    if (!d) {
        lx_error_set(err, LX_ECONFIG, "no FHIR mappings (expected *.json)");
        lx_error_at(err, path, 0, 0);
        lx_fhir_close(&f);
        return LX_ECONFIG;
    }
    char *names[MAPS_MAX];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < MAPS_MAX) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] != '.' && l > 5 &&
            strcmp(de->d_name + l - 5, ".json") == 0)
            names[n++] = lx_xstrdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_name);
    for (size_t i = 0; i < n; i++) {
        char file[4096];
        snprintf(file, sizeof(file), "%s/%s", path, names[i]);
        lx_map *m = NULL;
        if (rc == 0)
            rc = lx_map_load(file, &m, err);
        const char *type = m ? lx_map_native_type(m) : NULL;
        const char *entity = m ? lx_map_entity(m) : NULL;
        if (rc == 0 && (!type || !entity)) {
            lx_error_set(err, LX_ECONFIG, "a FHIR mapping names its "
                                          "native.type and canonical.entity");
            rc = lx_error_at(err, file, 0, 0);
        }
        if (rc == 0 && lx_fhir_map_of(f, type)) {
            lx_error_set(err, LX_ECONFIG, "a second mapping for %s", type);
            rc = lx_error_at(err, file, 0, 0);
        }
        if (rc == 0) {
            fhir_map *fm = &f->maps[f->count++];
            fm->type = lx_xstrdup(type);
            fm->entity = lx_xstrdup(entity);
            fm->map = m;
        } else {
            lx_map_destroy(&m);
        }
        free(names[i]);
    }
    if (rc != 0) {
        lx_fhir_close(&f);
        return rc;
    }
    *out = f;
    return 0;
}

void lx_fhir_close(lx_fhir **fp)
{
    lx_fhir *f = *fp;
    if (!f)
        return;
    *fp = NULL;
    for (size_t i = 0; i < f->count; i++) {
        free(f->maps[i].type);
        free(f->maps[i].entity);
        lx_map_destroy(&f->maps[i].map);
    }
    lx_fhir_types_destroy(&f->types);
    free(f);
}

size_t lx_fhir_type_count(const lx_fhir *f) { return f->count; }

const char *lx_fhir_type_at(const lx_fhir *f, size_t i)
{
    return i < f->count ? f->maps[i].type : NULL;
}

static const fhir_map *find(const lx_fhir *f, const char *type)
{
    for (size_t i = 0; type && i < f->count; i++)
        if (strcmp(f->maps[i].type, type) == 0)
            return &f->maps[i];
    return NULL;
}

const char *lx_fhir_entity_of(const lx_fhir *f, const char *type)
{
    const fhir_map *m = find(f, type);
    return m ? m->entity : NULL;
}

const lx_map *lx_fhir_map_of(const lx_fhir *f, const char *type)
{
    const fhir_map *m = find(f, type);
    return m ? m->map : NULL;
}

const char *lx_fhir_type_for(const lx_fhir *f, const char *entity,
                             const char *prefer)
{
    const fhir_map *p = find(f, prefer);
    if (p && strcmp(p->entity, entity) == 0)
        return p->type;
    for (size_t i = 0; i < f->count; i++)
        if (strcmp(f->maps[i].entity, entity) == 0)
            return f->maps[i].type;
    return NULL;
}

/* "/name/1/given" -> "Patient.name[1].given" (a FHIRPath for
 * OperationOutcome.issue.expression). */
static void pointer_to_path(const char *type, const char *ptr, char *out,
                            size_t size)
{
    size_t n = (size_t)snprintf(out, size, "%s", type ? type : "Resource");
    for (const char *p = ptr; *p == '/' && n + 1 < size;) {
        p++;
        size_t tl = strcspn(p, "/");
        bool index = tl > 0 && strspn(p, "0123456789") == tl;
        if (n + 2 < size)
            out[n++] = index ? '[' : '.';
        for (size_t i = 0; i < tl && n + 2 < size; i++) {
            char c = p[i];
            if (c == '~' && i + 1 < tl) {
                c = p[i + 1] == '1' ? '/' : '~';
                i++;
            }
            out[n++] = c;
        }
        if (index && n + 1 < size)
            out[n++] = ']';
        p += tl;
    }
    out[n < size ? n : size - 1] = '\0';
}

/* A JSON body as a tree: a JSON object, nothing else. */
static int parse_json(const char *body, size_t len, size_t max_len,
                      json_t **out, lx_error *err)
{
    int rc = lx_json_parse(body, len, "request body", max_len, out, err);
    if (rc == 0 && !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return lx_error_set(err, LX_ESYNTAX, "a FHIR resource is a JSON "
                                             "object");
    }
    return rc;
}

/* A failed structure check as lx_fhir_parse reports it: located by a
 * FHIRPath, LX_ESCHEMA unless over a limit. */
static int structure_error(const json_t *resource, int rc, lx_error *err)
{
    if (err && err->where[0] == '/') {
        char path[LX_ERROR_WHERE_MAX];
        pointer_to_path(lx_json_str(resource, "resourceType"), err->where,
                        path, sizeof(path));
        lx_error_at(err, path, 0, 0);
    }
    if (err && rc != LX_ELIMIT)
        err->code = LX_ESCHEMA;
    return rc == LX_ELIMIT ? rc : LX_ESCHEMA;
}

int lx_fhir_parse(const lx_fhir *f, const char *body, size_t len,
                  lx_fhir_format format, size_t max_len, json_t **out,
                  lx_error *err)
{
    *out = NULL;
    if (format == LX_FHIR_XML)
        return lx_fhir_xml_to_json(f->types, body, len, max_len, out, err);
    int rc = parse_json(body, len, max_len, out, err);
    if (rc != 0)
        return rc;
    /* Check the structure against the R4 definitions, as XML input is
     * checked while it is converted: an unknown element is an error, never
     * silently dropped: the XML writer's own checks, without writing. */
    rc = lx_fhir_json_check(f->types, *out, max_len ? 4 * max_len : 0, err);
    if (rc != 0) {
        rc = structure_error(*out, rc, err);
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

int lx_fhir_json_text_to_xml(const lx_fhir *f, const char *body, size_t len,
                             size_t max_len, lx_buf *out, lx_error *err)
{
    json_t *resource = NULL;
    int rc = parse_json(body, len, max_len, &resource, err);
    if (rc != 0)
        return rc;
    rc = lx_fhir_json_to_xml(f->types, resource, out, err);
    if (rc != 0)
        rc = structure_error(resource, rc, err);
    json_decref(resource);
    return rc;
}

int lx_fhir_serialize(const lx_fhir *f, const json_t *resource,
                      lx_fhir_format format, lx_buf *out, lx_error *err)
{
    if (format == LX_FHIR_XML)
        return lx_fhir_json_to_xml(f->types, resource, out, err);
    char *s = json_dumps(resource, JSON_COMPACT);
    LX_ASSERT(s);
    int rc = lx_buf_puts(out, s);
    free(s);
    return rc ? lx_error_set(err, LX_ELIMIT, "resource too large") : 0;
}

int lx_fhir_to_canonical(const lx_fhir *f, const json_t *resource,
                         const lx_map_resolver *res, const char **entity,
                         json_t **record, lx_map_trace *trace, lx_error *err)
{
    *entity = NULL;
    *record = NULL;
    const char *type = lx_json_str(resource, "resourceType");
    if (!type) {
        lx_error_set(err, LX_ESCHEMA, "resourceType is missing");
        return lx_error_at(err, "resourceType", 0, 0);
    }
    const fhir_map *m = find(f, type);
    if (!m) {
        lx_error_set(err, LX_EUNSUPPORTED, "resource type %s is not mapped "
                                           "by this hub", type);
        return lx_error_at(err, "resourceType", 0, 0);
    }
    int rc = lx_map_run(m->map, LX_MAP_IN, resource, res, record, trace, err);
    if (rc != 0)
        return rc;
    *entity = m->entity;
    return 0;
}

int lx_fhir_from_canonical_with_id(const lx_fhir *f, const char *type,
                                   const char *id, const json_t *record,
                                   const lx_map_resolver *res,
                                   json_t **resource, lx_error *err)
{
    *resource = NULL;
    const fhir_map *m = find(f, type);
    if (!m)
        return lx_error_set(err, LX_EUNSUPPORTED,
                            "resource type %s is not mapped", type);
    json_t *mapped = NULL;
    int rc = lx_map_run(m->map, LX_MAP_OUT, record, res, &mapped, NULL, err);
    if (rc != 0)
        return rc;
    if (!id && json_object_get(mapped, "resourceType")) {
        *resource = mapped;
        return 0;
    }
    /* The resource type (then the id) comes first in FHIR JSON, by
     * convention. */
    json_t *r = json_object();
    json_object_set_new(r, "resourceType", json_string(type));
    if (id)
        json_object_set_new(r, "id", json_string(id));
    json_object_update_missing(r, mapped);
    json_decref(mapped);
    *resource = r;
    return 0;
}

int lx_fhir_from_canonical(const lx_fhir *f, const char *type,
                           const json_t *record, const lx_map_resolver *res,
                           json_t **resource, lx_error *err)
{
    return lx_fhir_from_canonical_with_id(f, type, NULL, record, res,
                                          resource, err);
}

json_t *lx_fhir_outcome(const char *severity, const char *code,
                        const char *diagnostics, const char *expression)
{
    json_t *issue = json_pack("{s:s,s:s,s:s}", "severity", severity, "code",
                              code, "diagnostics", diagnostics ? diagnostics
                                                               : "");
    if (expression && *expression)
        json_object_set_new(issue, "expression",
                            json_pack("[s]", expression));
    return json_pack("{s:s,s:[o]}", "resourceType", "OperationOutcome",
                     "issue", issue);
}

const char *lx_fhir_issue_code(int code)
{
    switch (code) {
    case LX_ESYNTAX: return "structure";
    case LX_ESCHEMA: return "invalid";
    case LX_EINVAL: return "value";
    case LX_ELIMIT: return "too-long";
    case LX_ENOTFOUND: return "not-found";
    case LX_ECONFLICT: return "conflict";
    case LX_EUNSUPPORTED: return "not-supported";
    case LX_EFULL: return "transient";
    default: return "exception";
    }
}

const char *lx_fhir_path_for(const lx_map_trace *trace, const char *pointer)
{
    /* The root is the resource itself, not its first field. */
    if (!trace || !pointer || !pointer[0])
        return NULL;
    /* The closest written field at or below the pointer. */
    size_t pl = strlen(pointer);
    for (size_t i = 0; i < lx_map_trace_count(trace); i++) {
        const lx_map_lineage *l = lx_map_trace_get(trace, i);
        if (strncmp(l->target, pointer, pl) == 0 &&
            (l->target[pl] == '\0' || l->target[pl] == '/') &&
            l->source[0] != '(')
            return l->source;
    }
    return NULL;
}
