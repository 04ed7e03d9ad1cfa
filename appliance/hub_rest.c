/* appliance/hub_rest.c: REST adapter instances for plain JSON systems
 * (docs/rest-adapter.md).
 *
 * Inbound: a webhook (POST, signed, idempotent) and/or a poller; both map
 * the system's JSON records with the instance's mapping and store each
 * body or page all or nothing.
 *   {"name": "badge-in", "system": "badge", "use": "rest", "direction": "in",
 *    "map": "rest/badge-person.json", "id": "/id",
 *    "transport": {"http": "/adapters/badge-in/inbound", "items": "/items",
 *                  "signature": {...}, "idempotency_header": "..."},
 *    "poll": {...}, "auth": {...}}
 * Outbound: templated calls run by the delivery engine.
 *   {"name": "badge-out", "system": "badge", "use": "rest",
 *    "direction": "out", "subscribe": ["person.*"],
 *    "transport": {"url": "http://127.0.0.1:9102/api"}, "auth": {...},
 *    "map": "rest/badge-person.json", "create": {...}, "update": {...},
 *    "delete": {...}, "id_from": "location", "headers": {...}} */
#include "adapters/rest/rest_auth.h"
#include "adapters/rest/rest_in.h"
#include "adapters/rest/rest_poll.h"
#include "appliance/hub_int.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

struct lx_hub_rest {
    lx_hub *hub;
    lx_hub_adapter *ha;
    lx_rest_in *in;
    bool webhook;       /* inbound: serves ha->base */
    lx_rest_auth *auth; /* inbound: the poller's */
    lx_rest_poll *poll;
    lx_rest_out *out;
};

/* A module error ("create/path: ...") located at the adapter. */
static int located(lx_hub *hub, size_t i, lx_error *err)
{
    if (err->code != LX_ECONFIG || err->where[0])
        return err->code; /* a mapping file's error names its own file */
    char msg[LX_ERROR_MSG_MAX];
    snprintf(msg, sizeof(msg), "%s", err->msg);
    lx_error_set(err, LX_ECONFIG, "/adapters/%zu/%s", i, msg);
    return lx_error_at(err, hub->cfg->path, 0, 0);
}

static void maps_dir(const lx_hub *hub, char *out, size_t size)
{
    snprintf(out, size, "%s/../maps", hub->cfg->schemas_dir);
}

bool lx_hub_rest_needs_http(const json_t *a)
{
    return lx_json_str(json_object_get(a, "transport"), "http") != NULL ||
           !json_object_get(a, "poll");
}

/* The poller's page callback: store the page like a webhook body. */
static int store_page(void *ctx, const json_t *records, const char *at,
                      lx_error *err)
{
    struct lx_hub_rest *r = ctx;
    lx_hub *hub = r->hub;
    pthread_rwlock_rdlock(&hub->lock);
    int rc;
    json_t *answer = NULL;
    if (hub->closing)
        rc = lx_error_set(err, LX_ECLOSED, "the hub is shutting down");
    else
        rc = lx_rest_in_ingest_records(r->in, hub->store, hub->registry,
                                       records, at, "poll", &answer, err);
    pthread_rwlock_unlock(&hub->lock);
    json_decref(answer);
    return rc;
}

static int start_in(lx_hub *hub, size_t i, const json_t *a,
                    struct lx_hub_rest *r, lx_error *err)
{
    lx_hub_adapter *ha = r->ha;
    const char *map = lx_json_str(a, "map");
    if (!map)
        return lx_hub_bad(err, hub->cfg, i, "map",
                          "the mapping file is needed (relative to "
                          "schemas/maps, or absolute)");
    char dir[4096], path[4096 + 512];
    maps_dir(hub, dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s%s%s", map[0] == '/' ? "" : dir,
             map[0] == '/' ? "" : "/", map);
    json_t *transport = json_object_get(a, "transport");
    lx_rest_in_options io = {.map_path = path,
                             .system = ha->system,
                             .adapter = ha->name,
                             .items = lx_json_str(transport, "items"),
                             .id = lx_json_str(a, "id"),
                             .native_type = lx_json_str(a, "native_type")};
    int rc = lx_rest_in_new(&io, &r->in, err);
    if (rc != 0)
        return located(hub, i, err);
    r->webhook = lx_hub_rest_needs_http(a);
    if (r->webhook && (rc = lx_hub_webhook_config(hub, i, a, ha, err)) != 0)
        return rc;
    json_t *poll = json_object_get(a, "poll");
    if (poll) {
        if ((rc = lx_rest_auth_new(json_object_get(a, "auth"), &r->auth,
                                   err)) != 0)
            return located(hub, i, err);
        lx_rest_poll_options po = {.instance = ha->name,
                                   .store = hub->store,
                                   .conf = poll,
                                   .auth = r->auth,
                                   .page = store_page,
                                   .ctx = r};
        if ((rc = lx_rest_poll_start(&po, &r->poll, err)) != 0)
            return located(hub, i, err);
    }
    lx_log_info(NULL, "adapter %s: REST %s for system %s%s%s%s%s",
                ha->name, lx_rest_in_entity(r->in), ha->system,
                r->webhook ? ", webhook at " : "",
                r->webhook ? ha->base : "", ha->secret ? " (signed)" : "",
                r->poll ? ", polling" : "");
    return 0;
}

int lx_hub_rest_out_start(lx_hub *hub, size_t i, const json_t *a,
                          lx_hub_adapter *ha, const lx_rest_out_env *env,
                          lx_error *err)
{
    lx_delivery_options dopt;
    int rc = lx_hub_delivery_options(hub, i, a, ha, &dopt, err);
    if (rc != 0)
        return rc;
    struct lx_hub_rest *r = lx_xcalloc(1, sizeof(*r));
    r->hub = hub;
    r->ha = ha;
    ha->rest_adapter = r;
    hub->adapter_count++; /* from here on, stop() cleans it up */
    if ((rc = lx_rest_out_new(a, env, &r->out, err)) != 0)
        return located(hub, i, err);
    lx_outbound_ops ops;
    lx_rest_out_ops(r->out, &ops);
    rc = lx_delivery_start(hub->store, &dopt, &ops, &ha->delivery, err);
    if (rc == 0)
        lx_log_info(NULL, "adapter %s: deliveries to %s for system %s",
                    ha->name, lx_rest_out_url(r->out), ha->system);
    return rc;
}

int lx_hub_rest_start(lx_hub *hub, size_t i, const json_t *a,
                      lx_hub_adapter *ha, lx_error *err)
{
    if (!ha->inbound) {
        char dir[4096];
        maps_dir(hub, dir, sizeof(dir));
        lx_rest_out_env env = {.system = ha->system, .maps_dir = dir};
        return lx_hub_rest_out_start(hub, i, a, ha, &env, err);
    }
    struct lx_hub_rest *r = lx_xcalloc(1, sizeof(*r));
    r->hub = hub;
    r->ha = ha;
    ha->rest_adapter = r;
    hub->adapter_count++; /* from here on, stop() cleans it up */
    return start_in(hub, i, a, r, err);
}

void lx_hub_rest_stop(lx_hub_adapter *ha)
{
    struct lx_hub_rest *r = ha->rest_adapter;
    if (!r)
        return;
    ha->rest_adapter = NULL;
    lx_rest_poll_stop(&r->poll);
    lx_rest_auth_destroy(&r->auth);
    lx_rest_in_destroy(&r->in);
    lx_rest_out_destroy(&r->out);
    free(r);
}

bool lx_hub_rest_http(lx_hub *hub, lx_hub_adapter *ha,
                      const lx_http_request *req, lx_http_response *resp)
{
    struct lx_hub_rest *r = ha->rest_adapter;
    if (!r->webhook || strcmp(lx_http_path(req), ha->base) != 0)
        return false;
    const char *body = NULL, *key = NULL;
    size_t len = 0;
    if (lx_hub_webhook_begin(hub, ha, req, resp, &body, &len, &key))
        return true;
    lx_error err;
    lx_error_clear(&err);
    json_t *answer = NULL;
    int rc = lx_rest_in_ingest(r->in, hub->store, hub->registry, body, len,
                               "webhook", &answer, &err);
    if (rc != 0) {
        lx_log_warn(NULL, "adapter %s: body refused: %s%s%s", ha->name,
                    err.where[0] ? err.where : "", err.where[0] ? ": " : "",
                    err.msg);
        lx_hub_webhook_finish(hub, ha, key, body, len, resp,
                              lx_hub_status_of(err.code),
                              lx_json_from_error(&err));
        return true;
    }
    lx_hub_webhook_finish(hub, ha, key, body, len, resp, 200, answer);
    return true;
}
