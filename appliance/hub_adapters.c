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
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"

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
        if ((uses_fhir(a) || uses_edi(a)) && is_inbound(a) &&
            (uses_fhir(a) ||
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

static int start_one(lx_hub *hub, size_t i, const json_t *a, lx_error *err)
{
    const lx_config *cfg = hub->cfg;
    const char *name = lx_json_str(a, "name");
    const char *system = lx_json_str(a, "system");
    const char *dir = lx_json_str(a, "direction");
    if (!lx_json_str(a, "use"))
        return 0; /* not an adapter this hub runs (documented in config) */
    if (!uses_fhir(a) && !uses_edi(a))
        return bad(err, cfg, i, "use",
                   "unknown adapter (this hub runs: fhir, edi)");
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

bool lx_hub_adapters_http(lx_hub *hub, const lx_http_request *req,
                          lx_http_response *resp)
{
    for (size_t i = 0; i < hub->adapter_count; i++) {
        lx_hub_adapter *ha = &hub->adapters[i];
        if (ha->is_edi) {
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
