/* appliance/hub_hropen.c: HR Open adapter instances (inbound webhook). */
#include "adapters/transport/webhook.h"
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
 *    "employer": {"system": "urn:...", "value": "ACME"}} */
int lx_hub_hropen_start(lx_hub *hub, size_t i, const json_t *a,
                        lx_hub_adapter *ha, lx_error *err)
{
    const lx_config *cfg = hub->cfg;
    if (!lx_hub_is_inbound(a))
        return lx_hub_bad(err, cfg, i, "direction",
                   "HR Open adapters are inbound webhooks for now");
    json_t *transport = json_object_get(a, "transport");
    const char *http = lx_json_str(transport, "http");
    if (http)
        snprintf(ha->base, sizeof(ha->base), "%s", http);
    else
        snprintf(ha->base, sizeof(ha->base), "/adapters/%s/inbound",
                 ha->name);
    if (ha->base[0] != '/')
        return lx_hub_bad(err, cfg, i, "transport/http",
                   "must be a path starting with '/'");
    json_t *sig = json_object_get(transport, "signature");
    if (sig) {
        const char *header = lx_json_str(sig, "header");
        const char *secret = lx_json_str(sig, "secret");
        const char *env = lx_json_str(sig, "secret_env");
        if (env)
            secret = getenv(env);
        if (!secret || !*secret)
            return lx_hub_bad(err, cfg, i, "transport/signature",
                       "needs \"secret\" or \"secret_env\" naming a set "
                       "environment variable");
        snprintf(ha->sig_header, sizeof(ha->sig_header), "%s",
                 header ? header : "X-Lingua-Signature");
        ha->secret = lx_xstrdup(secret);
    }
    const char *idem = lx_json_str(transport, "idempotency_header");
    snprintf(ha->idem_header, sizeof(ha->idem_header), "%s",
             idem ? idem : "Idempotency-Key");
    json_t *employer = json_object_get(a, "employer");
    lx_hropen_options ho = {.employer_system = lx_json_str(employer, "system"),
                            .employer_value = lx_json_str(employer, "value")};
    char root[4096];
    snprintf(root, sizeof(root), "%s/..", cfg->schemas_dir);
    ha->inbound = true;
    hub->adapter_count++; /* from here on, stop() cleans it up */
    int rc = lx_hropen_open(root, &ho, &ha->hropen, err);
    if (rc == 0)
        lx_log_info(NULL, "adapter %s: HR Open webhook for system %s at %s%s",
                    ha->name, ha->system, ha->base,
                    ha->secret ? " (signed)" : "");
    return rc;
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
    if (strcmp(lx_http_path(req), ha->base) != 0)
        return false;
    lx_error err;
    lx_error_clear(&err);
    if (strcmp(lx_http_method(req), "POST") != 0) {
        lx_error_set(&err, LX_EINVAL, "POST the HR Open document");
        lx_hub_json_answer(resp, 405, lx_json_from_error(&err));
        return true;
    }
    if (lx_http_body_too_large(req)) {
        lx_error_set(&err, LX_ELIMIT, "the document is over the size limit");
        lx_hub_json_answer(resp, 413, lx_json_from_error(&err));
        return true;
    }
    size_t len;
    const char *body = lx_http_body(req, &len);
    if (ha->secret &&
        lx_webhook_verify(ha->secret, lx_http_header(req, ha->sig_header),
                          body, len, &err) != 0) {
        lx_hub_json_answer(resp, 401, lx_json_from_error(&err));
        return true;
    }
    const char *key = lx_http_header(req, ha->idem_header);
    if (key && *key) {
        int status = 0;
        char *answer = NULL;
        int rc = lx_webhook_idem_get(hub->store, ha->name, key, body, len,
                                     &status, &answer, &err);
        if (rc == 0) {
            lx_http_response_set(resp, status, "application/json", answer,
                                 strlen(answer));
            lx_http_response_header(resp, "Idempotent-Replayed", "true");
            free(answer);
            return true;
        }
        if (rc == LX_ECONFLICT) {
            lx_hub_json_answer(resp, 422, lx_json_from_error(&err));
            return true;
        }
    }
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
    char *text = json_dumps(answer, JSON_COMPACT);
    json_decref(answer);
    if (status == 200 && key && *key &&
        lx_webhook_idem_put(hub->store, ha->name, key, body, len, status, text,
                            &err) != 0)
        lx_log_warn(NULL, "adapter %s: cannot remember an idempotency key: %s",
                    ha->name, err.msg);
    lx_http_response_set(resp, status, "application/json", text, strlen(text));
    free(text);
    return true;
}
