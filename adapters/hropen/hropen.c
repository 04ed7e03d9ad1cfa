/* adapters/hropen/hropen.c: HR Open JEDx requests <-> canonical records. */
#include "adapters/hropen/hropen.h"

#include "canonical/registry.h"
#include "core/json.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN 4096

struct lx_hropen {
    lx_registry *schemas; /* jedx_workers, jedx_organizations */
    lx_map *person;
    lx_map *worker;
    lx_map *organization;
    char *employer_system; /* NULL: no default employer */
    char *employer_value;
};

static int load_map(const char *root, const char *name, lx_map **out,
                    lx_error *err)
{
    char path[PATH_MAX_LEN];
    int n = snprintf(path, sizeof(path), "%s/maps/hropen/%s.json", root, name);
    if (n < 0 || (size_t)n >= sizeof(path))
        return lx_error_set(err, LX_ELIMIT, "schema root path too long");
    return lx_map_load(path, out, err);
}

int lx_hropen_open(const char *schema_root, const lx_hropen_options *opt,
                   lx_hropen **out, lx_error *err)
{
    LX_ASSERT(schema_root != NULL && out != NULL);
    *out = NULL;
    if (opt && ((opt->employer_system == NULL) !=
                (opt->employer_value == NULL) ||
                (opt->employer_system && (!*opt->employer_system ||
                                          !*opt->employer_value))))
        return lx_error_set(err, LX_EINVAL,
                            "hropen: a default employer needs both a "
                            "non-empty system and value");

    lx_hropen *h = lx_xcalloc(1, sizeof(*h));
    char dir[PATH_MAX_LEN];
    int n = snprintf(dir, sizeof(dir), "%s/hropen", schema_root);
    int rc;
    if (n < 0 || (size_t)n >= sizeof(dir))
        rc = lx_error_set(err, LX_ELIMIT, "schema root path too long");
    else
        rc = lx_registry_load(dir, &h->schemas, err);
    if (rc == 0)
        rc = load_map(schema_root, "person", &h->person, err);
    if (rc == 0)
        rc = load_map(schema_root, "worker", &h->worker, err);
    if (rc == 0)
        rc = load_map(schema_root, "organization", &h->organization, err);
    if (rc != 0) {
        lx_hropen_close(&h);
        return rc;
    }
    if (opt && opt->employer_system) {
        h->employer_system = lx_xstrdup(opt->employer_system);
        h->employer_value = lx_xstrdup(opt->employer_value);
    }
    *out = h;
    return 0;
}

void lx_hropen_close(lx_hropen **h)
{
    if (h == NULL || *h == NULL)
        return;
    lx_registry_destroy(&(*h)->schemas);
    lx_map_destroy(&(*h)->person);
    lx_map_destroy(&(*h)->worker);
    lx_map_destroy(&(*h)->organization);
    free((*h)->employer_system);
    free((*h)->employer_value);
    free(*h);
    *h = NULL;
}

/* One mapped record waiting to be handed over. */
static void push(json_t *out, const char *entity, const char *native_type,
                 const char *native_id, json_t *record)
{
    json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:o}", "entity",
                                         entity, "native_type", native_type,
                                         "native_id", native_id, "record",
                                         record));
}

static int run_in(const lx_map *m, const json_t *elem,
                  const lx_map_resolver *res, const char *pointer,
                  json_t **record, lx_error *err)
{
    int rc = lx_map_run(m, LX_MAP_IN, elem, res, record, NULL, err);
    if (rc != 0)
        lx_error_prefix(err, "%s", pointer);
    return rc;
}

/* A JEDx worker request carries no employer per worker unless its first
 * work assignment names an organization (HR Open DeploymentType
 * "organization"); the sender's default employer fills the gap. */
static int add_employer(const lx_hropen *h, json_t *worker,
                        const char *pointer, lx_error *err)
{
    if (json_object_get(worker, "employer") != NULL)
        return 0;
    if (h->employer_system == NULL) {
        lx_error_set(err, LX_EINVAL,
                     "%s: the worker names no employer "
                     "(workAssignments/0/organization/id) and no default "
                     "employer is configured",
                     pointer);
        lx_error_at(err, pointer, 0, 0);
        return LX_EINVAL;
    }
    json_object_set_new(
        worker, "employer",
        json_pack("{s:s, s:{s:s, s:s}}", "entity", "organization",
                  "identifier", "system", h->employer_system, "value",
                  h->employer_value));
    return 0;
}

static int map_workers(const lx_hropen *h, const json_t *list,
                       const lx_map_resolver *res, json_t *out, lx_error *err)
{
    size_t i;
    const json_t *elem;
    json_array_foreach(list, i, elem) {
        char pointer[64];
        snprintf(pointer, sizeof(pointer), "/workers/%zu", i);
        /* workerID.value is required by the schema. */
        const char *id =
            lx_json_str(json_object_get(elem, "workerID"), "value");
        LX_ASSERT(id != NULL);
        json_t *person = NULL, *worker = NULL;
        int rc = run_in(h->person, elem, res, pointer, &person, err);
        if (rc == 0)
            rc = run_in(h->worker, elem, res, pointer, &worker, err);
        if (rc == 0)
            rc = add_employer(h, worker, pointer, err);
        if (rc != 0) {
            json_decref(person);
            json_decref(worker);
            return rc;
        }
        push(out, "person", "person", id, person);
        push(out, "worker", "worker", id, worker);
    }
    return 0;
}

static const char *org_native_id(const json_t *org)
{
    static const char *const keys[] = {"id", "taxId", "legalId"};
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        const char *v = lx_json_str(json_object_get(org, keys[k]), "value");
        if (v != NULL)
            return v;
    }
    return NULL;
}

static int map_organizations(const lx_hropen *h, const json_t *list,
                             const lx_map_resolver *res, json_t *out,
                             lx_error *err)
{
    size_t i;
    const json_t *elem;
    json_array_foreach(list, i, elem) {
        char pointer[64];
        snprintf(pointer, sizeof(pointer), "/organizations/%zu", i);
        const char *id = org_native_id(elem); /* the schema requires one */
        LX_ASSERT(id != NULL);
        json_t *org = NULL;
        int rc = run_in(h->organization, elem, res, pointer, &org, err);
        if (rc != 0)
            return rc;
        push(out, "organization", "organization", id, org);
    }
    return 0;
}

int lx_hropen_to_canonical(const lx_hropen *h, const char *doc, size_t len,
                           const lx_map_resolver *res, lx_hropen_record_fn fn,
                           void *ctx, lx_error *err)
{
    LX_ASSERT(h != NULL && doc != NULL && fn != NULL);
    json_t *root = NULL;
    int rc = lx_json_parse(doc, len, "hropen document", LX_HROPEN_DOC_MAX,
                           &root, err);
    if (rc != 0)
        return rc;

    const char *kind = NULL, *key = NULL;
    if (json_is_object(root) && json_object_get(root, "workers")) {
        kind = "jedx_workers";
        key = "workers";
    } else if (json_is_object(root) &&
               json_object_get(root, "organizations")) {
        kind = "jedx_organizations";
        key = "organizations";
    } else {
        json_decref(root);
        lx_error_set(err, LX_EUNSUPPORTED,
                     "hropen: not a JEDx workers or organizations request "
                     "(no member 'workers' or 'organizations' at the root)");
        lx_error_at(err, "", 1, 1); /* err may be NULL */
        return LX_EUNSUPPORTED;
    }

    const lx_schema *schema = NULL;
    rc = lx_registry_get(h->schemas, kind, NULL, &schema, err);
    LX_ASSERT(rc == 0); /* both kinds are loaded at open */
    rc = lx_schema_validate(schema, root, err);
    if (rc != 0) {
        long line = 0, column = 0;
        if (err && lx_json_locate(doc, len, err->where, &line, &column) == 0) {
            err->line = line;
            err->column = column;
        }
        json_decref(root);
        return rc;
    }

    json_t *records = json_array();
    const json_t *list = json_object_get(root, key);
    if (strcmp(key, "workers") == 0)
        rc = map_workers(h, list, res, records, err);
    else
        rc = map_organizations(h, list, res, records, err);

    size_t i;
    json_t *r;
    json_array_foreach(records, i, r) {
        if (rc != 0)
            break;
        rc = fn(ctx, lx_json_str(r, "entity"), lx_json_str(r, "native_type"),
                lx_json_str(r, "native_id"), json_object_get(r, "record"));
    }
    json_decref(records);
    json_decref(root);
    return rc;
}

/* Merge src into dst, member by member, objects recursively (the person
 * and worker maps both write workerID, with the same content). */
static void merge(json_t *dst, const json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)src, k, v) {
        json_t *d = json_object_get(dst, k);
        if (json_is_object(d) && json_is_object(v))
            merge(d, v);
        else if (d == NULL)
            json_object_set(dst, k, v);
    }
}

int lx_hropen_worker_from_canonical(const lx_hropen *h, const json_t *person,
                                    const json_t *worker,
                                    const lx_map_resolver *res, json_t **out,
                                    lx_error *err)
{
    LX_ASSERT(h != NULL && worker != NULL && out != NULL);
    *out = NULL;
    json_t *w = NULL, *p = NULL;
    int rc = lx_map_run(h->worker, LX_MAP_OUT, worker, res, &w, NULL, err);
    if (rc == 0 && person != NULL)
        rc = lx_map_run(h->person, LX_MAP_OUT, person, res, &p, NULL, err);
    if (rc != 0) {
        json_decref(w);
        return rc;
    }
    if (p != NULL) {
        merge(p, w);
        json_decref(w);
        w = p;
    }
    *out = w;
    return 0;
}

int lx_hropen_organization_from_canonical(const lx_hropen *h,
                                          const json_t *organization,
                                          const lx_map_resolver *res,
                                          json_t **out, lx_error *err)
{
    LX_ASSERT(h != NULL && organization != NULL && out != NULL);
    *out = NULL;
    return lx_map_run(h->organization, LX_MAP_OUT, organization, res, out,
                      NULL, err);
}
