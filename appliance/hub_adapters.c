/* appliance/hub_adapters.c: the adapter instances of the configuration.
 *
 *   {"name": "ehr-in", "system": "ehr", "use": "fhir", "direction": "in",
 *    "transport": {"http": "/fhir/r4"}}
 *   {"name": "ehr-out", "system": "ehr", "use": "fhir", "direction": "out",
 *    "subscribe": ["person.*"],
 *    "transport": {"url": "http://127.0.0.1:9090/fhir", "format": "json"}}
 *
 *   {"name": "insurer-in", "system": "insurer", "use": "edi",
 *    "direction": "in", "ack": "999", "ack_outbox": "/var/lib/lingua/out",
 *    "transport": {"inbox": "/var/lib/lingua/in", "http": "/edi/insurer"}}
 *
 * "use" names the adapter: "fhir" or "edi" (or their folders,
 * "adapters/fhir"). */
#include "appliance/hub_int.h"
#include "adapters/transport/webhook.h"
#include "canonical/ingest.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

static bool uses_fhir(const json_t *a)
{
    const char *use = lx_json_str(a, "use");
    return use && (strcmp(use, "fhir") == 0 ||
                   strcmp(use, "adapters/fhir") == 0);
}

static bool uses_edi(const json_t *a)
{
    const char *use = lx_json_str(a, "use");
    return use && (strcmp(use, "edi") == 0 || strcmp(use, "adapters/edi") == 0);
}

static bool uses_hropen(const json_t *a)
{
    const char *use = lx_json_str(a, "use");
    return use &&
           (strcmp(use, "hropen") == 0 || strcmp(use, "adapters/hropen") == 0);
}

static bool is_inbound(const json_t *a)
{
    const char *d = lx_json_str(a, "direction");
    return !d || strcmp(d, "in") == 0;
}

bool lx_hub_adapters_need_http(const lx_config *cfg)
{
    size_t i;
    json_t *a;
    json_array_foreach(cfg->adapters, i, a)
    {
        if ((uses_fhir(a) || uses_edi(a) || uses_hropen(a)) && is_inbound(a) &&
            (uses_fhir(a) || uses_hropen(a) ||
             lx_json_str(json_object_get(a, "transport"), "http")))
            return true;
    }
    return false;
}

/* A configuration error located by the adapter's JSON pointer. */
static int bad(lx_error *err, const lx_config *cfg, size_t i,
               const char *member, const char *what)
{
    lx_error_set(err, LX_ECONFIG, "/adapters/%zu%s%s: %s", i,
                 member ? "/" : "", member ? member : "", what);
    return lx_error_at(err, cfg->path, 0, 0);
}

static int open_fhir(lx_hub *hub, lx_error *err)
{
    if (hub->fhir)
        return 0;
    /* The schema root is the parent of the canonical schema folder:
     * schemas/canonical, schemas/fhir/r4, schemas/maps/fhir. */
    char root[4096];
    snprintf(root, sizeof(root), "%s/..", hub->cfg->schemas_dir);
    return lx_fhir_open(root, &hub->fhir, err);
}

static int open_edi(lx_hub *hub, lx_error *err)
{
    if (hub->edi_maps)
        return 0;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/../x12/005010", hub->cfg->schemas_dir);
    int rc = lx_x12_defs_load(dir, &hub->x12_defs, err);
    snprintf(dir, sizeof(dir), "%s/../edifact/d96a", hub->cfg->schemas_dir);
    rc = rc ? rc : lx_edifact_defs_load(dir, &hub->edifact_defs, err);
    snprintf(dir, sizeof(dir), "%s/..", hub->cfg->schemas_dir);
    return rc ? rc : lx_edi_maps_load(dir, &hub->edi_maps, err);
}

/* A file dropped in an EDI inbox: the whole pipeline; the file moves to
 * done/ or, with its located error, to error/. */
static int edi_file(void *ctx, const char *path, const char *data,
                    size_t len, lx_error *err)
{
    lx_hub_adapter *ha = ctx;
    lx_edi_outcome out;
    int rc = lx_edi_inbound_process(&ha->edi, data, len, &out, err);
    if (rc == 0)
        lx_log_info(NULL, "adapter %s: %s: %s, %zu transactions (%zu "
                          "rejected), %zu records (%zu created, %zu updated, "
                          "%zu unchanged)%s%s",
                    ha->name, path, out.standard, out.transactions,
                    out.rejected, out.records, out.created, out.updated,
                    out.unchanged, out.ack_path[0] ? ", ack " : "",
                    out.ack_path);
    return rc;
}

static int start_edi(lx_hub *hub, size_t i, const json_t *a,
                     lx_hub_adapter *ha, lx_error *err)
{
    const lx_config *cfg = hub->cfg;
    if (!is_inbound(a))
        return bad(err, cfg, i, "direction",
                   "EDI adapters are inbound for now (outbound EDI files "
                   "come with the EDI outbox delivery)");
    int rc = open_edi(hub, err);
    if (rc != 0)
        return rc;
    json_t *transport = json_object_get(a, "transport");
    const char *inbox = lx_json_str(transport, "inbox");
    const char *http = lx_json_str(transport, "http");
    const char *ack = lx_json_str(a, "ack");
    const char *outbox = lx_json_str(a, "ack_outbox");
    if (!inbox && !http)
        return bad(err, cfg, i, "transport",
                   "an inbound EDI adapter needs an \"inbox\" directory "
                   "and/or an \"http\" path");
    if (ack && strcmp(ack, "997") != 0 && strcmp(ack, "999") != 0 &&
        strcmp(ack, "contrl") != 0 && strcmp(ack, "none") != 0)
        return bad(err, cfg, i, "ack", "must be 997, 999, contrl or none");
    if (ack && strcmp(ack, "none") != 0 && !outbox)
        return bad(err, cfg, i, "ack_outbox",
                   "acknowledgements need an outbox directory");
    if (http && (http[0] != '/' || strlen(http) >= sizeof(ha->base)))
        return bad(err, cfg, i, "transport/http",
                   "must be a path starting with '/'");
    ha->is_edi = true;
    snprintf(ha->ack, sizeof(ha->ack), "%s", ack ? ack : "none");
    snprintf(ha->ack_outbox, sizeof(ha->ack_outbox), "%s",
             outbox ? outbox : "");
    if (http)
        snprintf(ha->base, sizeof(ha->base), "%s", http);
    json_t *whole = json_object_get(a, "reject_whole");
    ha->edi = (lx_edi_inbound_options){
        .store = hub->store,
        .registry = hub->registry,
        .x12_defs = hub->x12_defs,
        .edifact_defs = hub->edifact_defs,
        .maps = hub->edi_maps,
        .system = ha->system,
        .adapter = ha->name,
        .ack = ha->ack,
        .ack_outbox = ha->ack_outbox[0] ? ha->ack_outbox : NULL,
        .reject_whole = json_is_true(whole)};
    hub->adapter_count++; /* from here on, stop() cleans it up */
    if (inbox) {
        json_t *poll = json_object_get(transport, "poll_ms");
        json_t *max = json_object_get(transport, "max_file_size");
        lx_filedrop_options fo = {
            .dir = inbox,
            .store = hub->store,
            .name = ha->name,
            .poll_ms = json_is_integer(poll) ? (unsigned)json_integer_value(poll)
                                             : 0,
            .max_file_size = json_is_integer(max)
                                 ? (size_t)json_integer_value(max)
                                 : 0,
            .handler = edi_file,
            .ctx = ha};
        rc = lx_filedrop_start(&fo, &ha->inbox, err);
        if (rc != 0)
            return rc;
    }
    lx_log_info(NULL, "adapter %s: EDI for system %s%s%s%s%s (acks: %s)",
                ha->name, ha->system, inbox ? ", inbox " : "",
                inbox ? inbox : "", http ? ", HTTP " : "", http ? http : "",
                ha->ack);
    return 0;
}

/* An inbound HR Open webhook:
 *   {"name": "hr-in", "system": "hr", "use": "hropen", "direction": "in",
 *    "transport": {"http": "/adapters/hr-in/inbound",
 *                  "signature": {"header": "X-Lingua-Signature",
 *                                "secret_env": "LINGUA_HR_SECRET"},
 *                  "idempotency_header": "Idempotency-Key"},
 *    "employer": {"system": "urn:...", "value": "ACME"}} */
static int start_hropen(lx_hub *hub, size_t i, const json_t *a,
                        lx_hub_adapter *ha, lx_error *err)
{
    const lx_config *cfg = hub->cfg;
    if (!is_inbound(a))
        return bad(err, cfg, i, "direction",
                   "HR Open adapters are inbound webhooks for now");
    json_t *transport = json_object_get(a, "transport");
    const char *http = lx_json_str(transport, "http");
    if (http)
        snprintf(ha->base, sizeof(ha->base), "%s", http);
    else
        snprintf(ha->base, sizeof(ha->base), "/adapters/%s/inbound",
                 ha->name);
    if (ha->base[0] != '/')
        return bad(err, cfg, i, "transport/http",
                   "must be a path starting with '/'");
    json_t *sig = json_object_get(transport, "signature");
    if (sig) {
        const char *header = lx_json_str(sig, "header");
        const char *secret = lx_json_str(sig, "secret");
        const char *env = lx_json_str(sig, "secret_env");
        if (env)
            secret = getenv(env);
        if (!secret || !*secret)
            return bad(err, cfg, i, "transport/signature",
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

static int start_one(lx_hub *hub, size_t i, const json_t *a, lx_error *err)
{
    const lx_config *cfg = hub->cfg;
    const char *name = lx_json_str(a, "name");
    const char *system = lx_json_str(a, "system");
    const char *dir = lx_json_str(a, "direction");
    if (!lx_json_str(a, "use"))
        return 0; /* not an adapter this hub runs (documented in config) */
    if (!uses_fhir(a) && !uses_edi(a) && !uses_hropen(a))
        return bad(err, cfg, i, "use",
                   "unknown adapter (this hub runs: fhir, edi, hropen)");
    if (dir && strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0)
        return bad(err, cfg, i, "direction", "must be \"in\" or \"out\"");
    if (strlen(name) > LX_STORE_NAME_MAX || strlen(system) > LX_STORE_NAME_MAX)
        return bad(err, cfg, i, "name", "name and system are at most 64 "
                                        "characters");
    if (hub->adapter_count >= LX_HUB_ADAPTERS_MAX)
        return bad(err, cfg, i, NULL, "too many adapter instances");
    lx_hub_adapter *ha = &hub->adapters[hub->adapter_count];
    memset(ha, 0, sizeof(*ha));
    snprintf(ha->name, sizeof(ha->name), "%s", name);
    snprintf(ha->system, sizeof(ha->system), "%s", system);
    ha->inbound = is_inbound(a);
    if (uses_edi(a))
        return start_edi(hub, i, a, ha, err);
    if (uses_hropen(a))
        return start_hropen(hub, i, a, ha, err);
    int rc = open_fhir(hub, err);
    if (rc != 0)
        return rc;
    json_t *transport = json_object_get(a, "transport");
    if (ha->inbound) {
        const char *base = lx_json_str(transport, "http");
        if (!base)
            base = "/fhir/r4";
        if (base[0] != '/' || strlen(base) >= sizeof(ha->base))
            return bad(err, cfg, i, "transport/http",
                       "must be a path starting with '/'");
        snprintf(ha->base, sizeof(ha->base), "%s", base);
        size_t bl = strlen(ha->base);
        while (bl > 1 && ha->base[bl - 1] == '/')
            ha->base[--bl] = '\0';
        ha->rest = (lx_fhir_rest){.fhir = hub->fhir,
                                  .store = hub->store,
                                  .registry = hub->registry,
                                  .system = ha->system,
                                  .adapter = ha->name,
                                  .base = ha->base,
                                  .max_body = cfg->max_payload};
        hub->adapter_count++;
        lx_log_info(NULL, "adapter %s: FHIR R4 for system %s at %s", name,
                    system, ha->base);
        return 0;
    }
    const char *url = lx_json_str(transport, "url");
    if (!url || (strncmp(url, "http://", 7) != 0 &&
                 strncmp(url, "https://", 8) != 0))
        return bad(err, cfg, i, "transport/url",
                   "an outbound adapter needs an http(s) URL");
    const char *format = lx_json_str(transport, "format");
    if (format && strcmp(format, "json") != 0 && strcmp(format, "xml") != 0)
        return bad(err, cfg, i, "transport/format", "must be json or xml");
    json_t *subs = json_object_get(a, "subscribe");
    if (subs && (!json_is_array(subs) || json_array_size(subs) > 32))
        return bad(err, cfg, i, "subscribe",
                   "must be a list of up to 32 topic patterns");
    size_t k;
    json_t *t;
    json_array_foreach(subs, k, t)
    {
        if (!json_is_string(t))
            return bad(err, cfg, i, "subscribe", "patterns are strings");
        ha->subscribe[k] = lx_xstrdup(json_string_value(t));
    }
    lx_fhir_out_options fo = {
        .fhir = hub->fhir,
        .base_url = url,
        .system = ha->system,
        .format = format && strcmp(format, "xml") == 0 ? LX_FHIR_XML
                                                        : LX_FHIR_JSON,
        .auth_header = lx_json_str(transport, "auth_header")};
    hub->adapter_count++; /* from here on, stop() cleans it up */
    rc = lx_fhir_out_new(&fo, &ha->fhir_out, err);
    if (rc != 0)
        return rc;
    lx_outbound_ops ops;
    lx_fhir_out_ops(ha->fhir_out, &ops);
    json_t *timeout = json_object_get(transport, "timeout_ms");
    json_t *retry = json_object_get(a, "retry");
    json_t *attempts = json_object_get(retry, "max_attempts");
    json_t *base_ms = json_object_get(retry, "backoff_base_ms");
    json_t *max_ms = json_object_get(retry, "backoff_max_ms");
    if ((attempts && (!json_is_integer(attempts) ||
                      json_integer_value(attempts) < 1 ||
                      json_integer_value(attempts) > 1000)) ||
        (base_ms && (!json_is_integer(base_ms) ||
                     json_integer_value(base_ms) < 1)) ||
        (max_ms && (!json_is_integer(max_ms) ||
                    json_integer_value(max_ms) < 1)))
        return bad(err, cfg, i, "retry",
                   "max_attempts (1..1000), backoff_base_ms and "
                   "backoff_max_ms are positive integers");
    lx_delivery_options dopt = {
        .instance = ha->name,
        .system = ha->system,
        .subscribe = subs ? (const char *const *)ha->subscribe : NULL,
        .timeout_ms = json_is_integer(timeout) ? json_integer_value(timeout)
                                               : 0,
        .max_attempts = attempts ? (unsigned)json_integer_value(attempts) : 0,
        .backoff_base_ms = base_ms ? (unsigned)json_integer_value(base_ms) : 0,
        .backoff_max_ms = max_ms ? (unsigned)json_integer_value(max_ms) : 0};
    rc = lx_delivery_start(hub->store, &dopt, &ops, &ha->delivery, err);
    if (rc == 0)
        lx_log_info(NULL, "adapter %s: FHIR R4 deliveries to %s for system "
                          "%s",
                    name, url, system);
    return rc;
}

int lx_hub_adapters_start(lx_hub *hub, lx_error *err)
{
    size_t i;
    json_t *a;
    json_array_foreach(hub->cfg->adapters, i, a)
    {
        int rc = start_one(hub, i, a, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void lx_hub_adapters_stop(lx_hub *hub)
{
    for (size_t i = 0; i < hub->adapter_count; i++) {
        lx_hub_adapter *ha = &hub->adapters[i];
        lx_filedrop_stop(&ha->inbox);
        lx_hropen_close(&ha->hropen);
        free(ha->secret);
        ha->secret = NULL;
        lx_delivery_stop(&ha->delivery);
        lx_fhir_out_destroy(&ha->fhir_out);
        for (size_t k = 0; ha->subscribe[k]; k++)
            free(ha->subscribe[k]);
    }
    hub->adapter_count = 0;
    lx_fhir_close(&hub->fhir);
    lx_edi_maps_destroy(&hub->edi_maps);
    lx_x12_defs_destroy(&hub->x12_defs);
    lx_edifact_defs_destroy(&hub->edifact_defs);
}

/* POST [http path] with a raw interchange: the pipeline's outcome as JSON
 * (200), or the located error (4xx). */
static bool edi_http(lx_hub_adapter *ha, const lx_http_request *req,
                     lx_http_response *resp)
{
    if (strcmp(lx_http_path(req), ha->base) != 0)
        return false;
    if (strcmp(lx_http_method(req), "POST") != 0) {
        const char *m = "{\"code\":\"LX_EINVAL\",\"message\":\"POST the "
                        "interchange\"}";
        lx_http_response_set(resp, 405, "application/json", m, strlen(m));
        return true;
    }
    lx_error err;
    lx_error_clear(&err);
    json_t *body;
    int status = 200;
    if (lx_http_body_too_large(req)) {
        lx_error_set(&err, LX_ELIMIT, "the interchange is over the size "
                                      "limit");
        body = lx_json_from_error(&err);
        status = 413;
    } else {
        size_t len;
        const char *data = lx_http_body(req, &len);
        lx_edi_outcome out;
        if (lx_edi_inbound_process(&ha->edi, data, len, &out, &err) != 0) {
            body = lx_json_from_error(&err);
            if (err.offset >= 0)
                json_object_set_new(body, "offset", json_integer(err.offset));
            status = err.code == LX_EIO ? 500 : 422;
        } else {
            body = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:s}", "standard",
                             out.standard, "transactions",
                             (json_int_t)out.transactions, "rejected",
                             (json_int_t)out.rejected, "records",
                             (json_int_t)out.records, "created",
                             (json_int_t)out.created, "updated",
                             (json_int_t)out.updated, "unchanged",
                             (json_int_t)out.unchanged, "ack",
                             out.ack_path);
        }
    }
    char *text = json_dumps(body, JSON_COMPACT);
    lx_http_response_set(resp, status, "application/json", text, strlen(text));
    free(text);
    json_decref(body);
    return true;
}

/* ---- HR Open webhook ---- */

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

static void json_answer(lx_http_response *resp, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    lx_http_response_set(resp, status, "application/json", text, strlen(text));
    free(text);
    json_decref(body);
}

static int status_of(int code)
{
    switch (code) {
    case LX_ESYNTAX: return 400;
    case LX_ELIMIT: return 413;
    case LX_EFULL: return 503;
    case LX_ESCHEMA:
    case LX_EINVAL:
    case LX_ENOTFOUND:
    case LX_EUNSUPPORTED: return 422;
    case LX_ECONFLICT: return 409;
    default: return 500;
    }
}

static bool hropen_http(lx_hub *hub, lx_hub_adapter *ha,
                        const lx_http_request *req, lx_http_response *resp)
{
    if (strcmp(lx_http_path(req), ha->base) != 0)
        return false;
    lx_error err;
    lx_error_clear(&err);
    if (strcmp(lx_http_method(req), "POST") != 0) {
        lx_error_set(&err, LX_EINVAL, "POST the HR Open document");
        json_answer(resp, 405, lx_json_from_error(&err));
        return true;
    }
    if (lx_http_body_too_large(req)) {
        lx_error_set(&err, LX_ELIMIT, "the document is over the size limit");
        json_answer(resp, 413, lx_json_from_error(&err));
        return true;
    }
    size_t len;
    const char *body = lx_http_body(req, &len);
    if (ha->secret &&
        lx_webhook_verify(ha->secret, lx_http_header(req, ha->sig_header),
                          body, len, &err) != 0) {
        json_answer(resp, 401, lx_json_from_error(&err));
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
            json_answer(resp, 422, lx_json_from_error(&err));
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
        status = status_of(err.code);
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

bool lx_hub_adapters_http(lx_hub *hub, const lx_http_request *req,
                          lx_http_response *resp)
{
    for (size_t i = 0; i < hub->adapter_count; i++) {
        lx_hub_adapter *ha = &hub->adapters[i];
        if (ha->hropen) {
            if (hropen_http(hub, ha, req, resp))
                return true;
        } else if (ha->is_edi) {
            if (ha->base[0] && edi_http(ha, req, resp))
                return true;
        } else if (ha->inbound && lx_fhir_rest_handle(&ha->rest, req, resp)) {
            return true;
        }
    }
    return false;
}

void lx_hub_adapters_notify(lx_hub *hub)
{
    for (size_t i = 0; i < hub->adapter_count; i++)
        if (hub->adapters[i].delivery)
            lx_delivery_notify(hub->adapters[i].delivery);
}
