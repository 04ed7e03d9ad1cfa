/* conformance/driver_hropen.c: the HR Open adapter (adapters/hropen/).
 *
 * Inbound, a JEDx document becomes its canonical records, stored all or
 * nothing as the hub's webhook stores them. The adapter has no outbound
 * transport yet: the suite checks the documents it renders from
 * canonical records (lx_hropen_*_from_canonical) instead of calls. */
#include "adapters/hropen/hropen.h"
#include "canonical/ingest.h"
#include "conformance/conform_int.h"
#include "core/json.h"
#include "core/mem.h"

#include <string.h>

#define HR_RECORDS_MAX 16

static int hr_open(const char *root, const char *adapter_dir,
                   const json_t *options, void **sp, lx_error *err)
{
    (void)adapter_dir;
    const json_t *employer = json_object_get(options, "employer");
    lx_hropen_options o = {.employer_system = lx_json_str(employer, "system"),
                           .employer_value = lx_json_str(employer, "value")};
    lx_hropen *h = NULL;
    int rc = lx_hropen_open(root, &o, &h, err);
    *sp = h;
    return rc;
}

static void hr_close(void **sp)
{
    lx_hropen *h = *sp;
    *sp = NULL;
    lx_hropen_close(&h);
}

typedef struct hr_batch {
    lx_upsert u[HR_RECORDS_MAX];
    json_t *records[HR_RECORDS_MAX];
    char names[HR_RECORDS_MAX][3][LX_STORE_NATIVE_ID_MAX + 1];
    size_t n;
    const char *system;
    const lx_registry *reg;
    lx_error first; /* the callback's own refusal */
} hr_batch;

static int hr_record(void *ctx, const char *entity, const char *native_type,
                     const char *native_id, const json_t *record)
{
    hr_batch *b = ctx;
    if (b->n == HR_RECORDS_MAX)
        return lx_error_set(&b->first, LX_ELIMIT,
                            "more than %d records in one document",
                            HR_RECORDS_MAX);
    size_t i = b->n++;
    snprintf(b->names[i][0], sizeof(b->names[i][0]), "%s", entity);
    snprintf(b->names[i][1], sizeof(b->names[i][1]), "%s", native_type);
    snprintf(b->names[i][2], sizeof(b->names[i][2]), "%s",
             native_id ? native_id : "");
    b->records[i] = json_deep_copy(record);
    b->u[i] = (lx_upsert){.entity = b->names[i][0],
                          .system = b->system,
                          .adapter = "conformance-in",
                          .native_type = b->names[i][1],
                          .native_id = native_id ? b->names[i][2] : NULL,
                          .record = b->records[i]};
    return lx_ingest_check(b->reg, &b->u[i], &b->first);
}

static int hr_ingest(void *state, lx_conform_hub *hub, const char *system,
                     const json_t *input, const char *doc, size_t len,
                     lx_conform_answer *ans, lx_error *err)
{
    (void)input;
    (void)err;
    hr_batch *b = lx_xcalloc(1, sizeof(*b));
    b->system = system;
    b->reg = hub->registry;
    lx_map_store_ctx sc = {hub->store, system};
    lx_map_resolver res;
    lx_map_resolver_store(&res, &sc);
    lx_error e;
    lx_error_clear(&e);
    int rc = lx_hropen_to_canonical(state, doc, len, &res, hr_record, b, &e);
    if (rc != 0 && b->first.code != 0)
        e = b->first;
    if (rc == 0 && b->n > 0) {
        lx_upsert_result results[HR_RECORDS_MAX];
        rc = lx_store_upsert_group(hub->store, b->u, b->n, results, &e);
    }
    ans->accepted = rc == 0;
    if (rc != 0) {
        ans->rejection = json_pack("{s:s,s:s,s:s}", "code",
                                   lx_error_name(e.code), "location", e.where,
                                   "message", e.msg);
    }
    for (size_t i = 0; i < b->n; i++)
        json_decref(b->records[i]);
    free(b);
    return 0;
}

/* Records in event order: a worker goes out with the person stored just
 * before it (the adapter stores each worker as person, then worker). */
static int hr_render(void *state, lx_conform_hub *hub, const char *system,
                     const json_t *refs, char **doc, size_t *len,
                     lx_error *err)
{
    *doc = NULL;
    json_t *workers = json_array(), *orgs = json_array();
    json_t *person = NULL;
    lx_map_store_ctx sc = {hub->store, system};
    lx_map_resolver res;
    lx_map_resolver_store(&res, &sc);
    int rc = 0;
    size_t i;
    json_t *ref;
    json_array_foreach(refs, i, ref)
    {
        const char *entity = lx_json_str(ref, "entity");
        json_t *rec = NULL;
        rc = lx_store_get(hub->store, entity, lx_json_str(ref, "canonical_id"),
                          &rec, NULL, err);
        if (rc != 0)
            break;
        json_t *el = NULL;
        if (strcmp(entity, "person") == 0) {
            json_decref(person);
            person = rec;
            continue;
        }
        if (strcmp(entity, "worker") == 0)
            rc = lx_hropen_worker_from_canonical(state, person, rec, &res, &el,
                                                 err);
        else if (strcmp(entity, "organization") == 0)
            rc = lx_hropen_organization_from_canonical(state, rec, &res, &el,
                                                       err);
        else
            rc = lx_error_set(err, LX_EUNSUPPORTED,
                              "HR Open has no document for a %s", entity);
        json_decref(rec);
        if (rc != 0)
            break;
        json_array_append_new(strcmp(entity, "worker") == 0 ? workers : orgs,
                              el);
    }
    json_decref(person);
    if (rc == 0 && json_array_size(workers) && json_array_size(orgs))
        rc = lx_error_set(err, LX_EUNSUPPORTED,
                          "workers and organizations go in two documents");
    if (rc == 0) {
        json_t *d = json_array_size(orgs)
                        ? json_pack("{s:O}", "organizations", orgs)
                        : json_pack("{s:O}", "workers", workers);
        *doc = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
        *len = strlen(*doc);
        json_decref(d);
    }
    json_decref(workers);
    json_decref(orgs);
    return rc;
}

const lx_conform_driver lx_conform_driver_hropen = {
    .kind = "hropen",
    .map_folder = "hropen",
    .open = hr_open,
    .close = hr_close,
    .ingest = hr_ingest,
    .render = hr_render,
};
