/* appliance/hub_hropen.c: HR Open adapter instances: the inbound webhook,
 * and outbound deliveries of JEDx requests (through the REST adapter). */
#include "canonical/ingest.h"
#include "appliance/hub_int.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

/* An inbound HR Open webhook:
 *   {"name": "hr-in", "system": "hr", "use": "hropen", "direction": "in",
 *    "transport": {"http": "/adapters/hr-in/inbound",
 *                  "signature": {"header": "X-Lingua-Signature",
 *                                "secret_env": "LINGUA_HR_SECRET"},
 *                  "idempotency_header": "Idempotency-Key"},
 *    "employer": {"system": "urn:...", "value": "ACME"}}
 * An outbound one is a REST outbound instance (docs/rest-adapter.md)
 * whose bodies are JEDx add/update requests, POSTed to transport.url:
 *   {"name": "hr-out", "system": "hr", "use": "hropen", "direction": "out",
 *    "subscribe": ["person.*", "worker.*", "organization.*"],
 *    "transport": {"url": "http://127.0.0.1:9103/hr/jedx"}} */
static int hropen_body(void *ctx, lx_store *store, const json_t *ev,
                       const lx_map_resolver *res, json_t **body, bool *skip,
                       char *native_type, size_t size, lx_error *err);

static int start_out(lx_hub *hub, size_t i, const json_t *a,
                     lx_hub_adapter *ha, const char *root, lx_error *err)
{
    int rc = lx_hropen_open(root, NULL, &ha->hropen, err);
    if (rc != 0)
        return rc;
    lx_rest_out_env env = {.system = ha->system,
                           .body = hropen_body,
                           .body_ctx = ha->hropen,
                           .default_create_method = "POST",
                           .default_create_path = "",
                           .default_update_method = "POST",
                           .default_update_path = ""};
    rc = lx_hub_rest_out_start(hub, i, a, ha, &env, err);
    if (rc != 0 && !ha->rest_adapter)
        lx_hropen_close(&ha->hropen); /* stop() will not see it */
    return rc;
}

int lx_hub_hropen_start(lx_hub *hub, size_t i, const json_t *a,
                        lx_hub_adapter *ha, lx_error *err)
{
    const lx_config *cfg = hub->cfg;
    char root[4096];
    snprintf(root, sizeof(root), "%s/..", cfg->schemas_dir);
    if (!lx_hub_is_inbound(a))
        return start_out(hub, i, a, ha, root, err);
    int rc = lx_hub_webhook_config(hub, i, a, ha, err);
    if (rc != 0)
        return rc;
    json_t *employer = json_object_get(a, "employer");
    lx_hropen_options ho = {.employer_system = lx_json_str(employer, "system"),
                            .employer_value = lx_json_str(employer, "value")};
    ha->inbound = true;
    hub->adapter_count++; /* from here on, stop() cleans it up */
    rc = lx_hropen_open(root, &ho, &ha->hropen, err);
    if (rc == 0)
        lx_log_info(NULL, "adapter %s: HR Open webhook for system %s at %s%s",
                    ha->name, ha->system, ha->base,
                    ha->secret ? " (signed)" : "");
    return rc;
}

/* Canonical -> JEDx request of one element. A worker goes out with its
 * person (found through the worker's reference); a person goes out as
 * the worker whose HR Open worker id it carries (the HR system knows
 * people as workers), and is skipped when it has none; an organization as
 * an organizations request. */
static json_t *person_of(lx_store *store, const json_t *worker)
{
    /* {"entity": "person", "id": ...} or, as HR Open writes it, by
     * identifier {"system": ..worker-id, "value": ...}. */
    const json_t *ref = json_object_get(worker, "person");
    const json_t *ident = json_object_get(ref, "identifier");
    const char *pid = lx_json_str(ref, "id");
    char found[LX_STORE_ID_SIZE];
    if (!pid && lx_json_str(ident, "system") && lx_json_str(ident, "value") &&
        lx_store_ident_find(store, "person", lx_json_str(ident, "system"),
                            lx_json_str(ident, "value"), found, NULL) == 0)
        pid = found;
    json_t *person = NULL;
    if (pid && lx_store_get(store, "person", pid, &person, NULL, NULL) != 0)
        person = NULL;
    return person;
}

static json_t *worker_of(lx_store *store, const json_t *person)
{
    size_t i;
    json_t *id;
    json_array_foreach(json_object_get(person, "identifiers"), i, id)
    {
        const char *sys = lx_json_str(id, "system");
        const char *val = lx_json_str(id, "value");
        char wid[LX_STORE_ID_SIZE];
        json_t *worker = NULL;
        if (sys && val && strcmp(sys, LX_HROPEN_SYSTEM_WORKER_ID) == 0 &&
            lx_store_ident_find(store, "worker", sys, val, wid, NULL) == 0 &&
            lx_store_get(store, "worker", wid, &worker, NULL, NULL) == 0)
            return worker;
    }
    return NULL;
}

static int hropen_body(void *ctx, lx_store *store, const json_t *ev,
                       const lx_map_resolver *res, json_t **body, bool *skip,
                       char *native_type, size_t size, lx_error *err)
{
    const lx_hropen *h = ctx;
    const char *entity = lx_json_str(ev, "entity");
    const json_t *record = json_object_get(ev, "record");
    json_t *el = NULL;
    const char *list = "workers";
    int rc;
    *body = NULL;
    if (strcmp(entity, "organization") == 0) {
        list = "organizations";
        rc = lx_hropen_organization_from_canonical(h, record, res, &el, err);
    } else if (strcmp(entity, "worker") == 0) {
        json_t *person = person_of(store, record);
        rc = lx_hropen_worker_from_canonical(h, person, record, res, &el,
                                             err);
        json_decref(person);
    } else if (strcmp(entity, "person") == 0) {
        json_t *worker = worker_of(store, record);
        if (!worker) {
            *skip = true; /* not a worker of an HR Open system */
            return 0;
        }
        rc = lx_hropen_worker_from_canonical(h, record, worker, res, &el,
                                             err);
        json_decref(worker);
    } else {
        *skip = true;
        return 0;
    }
    if (rc != 0)
        return rc;
    snprintf(native_type, size, "%s",
             strcmp(list, "workers") == 0 ? "worker" : "organization");
    *body = json_pack("{s:[o]}", list, el);
    return 0;
}

typedef struct hr_batch {
    lx_upsert u[16];
    json_t *records[16];
    char types[16][LX_STORE_NAME_MAX + 1];
    char entities[16][LX_STORE_NAME_MAX + 1];
    char ids[16][LX_STORE_NATIVE_ID_MAX + 1];
    size_t n;
    const lx_hub_adapter *ha;
    const lx_registry *reg;
    lx_error first;
} hr_batch;

static int hr_record(void *ctx, const char *entity, const char *native_type,
                     const char *native_id, const json_t *record)
{
    hr_batch *b = ctx;
    if (b->n == sizeof(b->u) / sizeof(b->u[0]))
        return lx_error_set(&b->first, LX_ELIMIT, "too many records in one "
                                                  "document (16 at most)");
    size_t i = b->n++;
    snprintf(b->types[i], sizeof(b->types[i]), "%s", native_type);
    snprintf(b->entities[i], sizeof(b->entities[i]), "%s", entity);
    snprintf(b->ids[i], sizeof(b->ids[i]), "%s", native_id ? native_id : "");
    b->records[i] = json_deep_copy(record);
    b->u[i] = (lx_upsert){.entity = b->entities[i],
                          .system = b->ha->system,
                          .adapter = b->ha->name,
                          .native_type = b->types[i],
                          .native_id = b->ids[i][0] ? b->ids[i] : NULL,
                          .record = b->records[i],
                          .note = "{\"transport\":\"webhook\","
                                  "\"standard\":\"HR Open\"}"};
    return lx_ingest_check(b->reg, &b->u[i], &b->first);
}

bool lx_hub_hropen_http(lx_hub *hub, lx_hub_adapter *ha,
                        const lx_http_request *req, lx_http_response *resp)
{
    if (!ha->inbound || strcmp(lx_http_path(req), ha->base) != 0)
        return false;
    const char *body = NULL, *key = NULL;
    size_t len = 0;
    if (lx_hub_webhook_begin(hub, ha, req, resp, &body, &len, &key))
        return true;
    lx_error err;
    lx_error_clear(&err);
    hr_batch b = {.n = 0, .ha = ha, .reg = hub->registry};
    lx_error_clear(&b.first);
    lx_map_store_ctx sc = {hub->store, ha->system};
    lx_map_resolver res;
    lx_map_resolver_store(&res, &sc);
    int rc = lx_hropen_to_canonical(ha->hropen, body, len, &res, hr_record, &b,
                                    &err);
    if (rc != 0 && b.first.code != 0)
        err = b.first;
    lx_upsert_result results[16];
    if (rc == 0 && b.n)
        rc = lx_store_upsert_group(hub->store, b.u, b.n, results, &err);
    int status;
    json_t *answer;
    if (rc != 0) {
        status = lx_hub_status_of(err.code);
        answer = lx_json_from_error(&err);
    } else {
        status = 200;
        json_t *list = json_array();
        for (size_t i = 0; i < b.n; i++)
            json_array_append_new(list, json_pack(
                "{s:s,s:s,s:I,s:b,s:b}", "entity", b.u[i].entity,
                "canonical_id", results[i].canonical_id, "version",
                (json_int_t)results[i].version, "created", results[i].created,
                "unchanged", results[i].unchanged));
        answer = json_pack("{s:o}", "records", list);
    }
    for (size_t i = 0; i < b.n; i++)
        json_decref(b.records[i]);
    lx_hub_webhook_finish(hub, ha, key, body, len, resp, status, answer);
    return true;
}
