/* appliance/hub_adapters.c: the adapter instances of the configuration.
 *
 * Each entry of "adapters" names its adapter with "use" (or the adapter's
 * folder, "adapters/fhir"); the kinds below start it. Each kind lives in
 * its own file: hub_fhir.c, hub_edi.c, hub_hropen.c, hub_rest.c,
 * hub_native.c. What every outbound instance shares (subscriptions,
 * timeouts, retries) is read here. */
#include "appliance/hub_int.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct adapter_kind {
    const char *use;
    int (*start)(lx_hub *hub, size_t i, const json_t *a, lx_hub_adapter *ha,
                 lx_error *err);
    /* Whether an inbound instance needs the HTTP server. */
    bool (*needs_http)(const json_t *a);
} adapter_kind;

static bool always(const json_t *a)
{
    (void)a;
    return true;
}

static bool has_http_transport(const json_t *a)
{
    return lx_json_str(json_object_get(a, "transport"), "http") != NULL;
}

static const adapter_kind kinds[] = {
    {"fhir", lx_hub_fhir_start, always},
    {"edi", lx_hub_edi_start, has_http_transport},
    {"hropen", lx_hub_hropen_start, always},
    {"rest", lx_hub_rest_start, lx_hub_rest_needs_http},
    /* Inbound native instances take documents over the hub's HTTP only. */
    {"native", lx_hub_native_start, always},
};

static const adapter_kind *kind_of(const json_t *a)
{
    const char *use = lx_json_str(a, "use");
    if (!use)
        return NULL;
    if (strncmp(use, "adapters/", 9) == 0)
        use += 9;
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
        if (strcmp(use, kinds[k].use) == 0)
            return &kinds[k];
    return NULL;
}

bool lx_hub_is_inbound(const json_t *a)
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
        const adapter_kind *k = kind_of(a);
        if (k && lx_hub_is_inbound(a) && k->needs_http(a))
            return true;
    }
    return false;
}

bool lx_hub_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int lx_hub_bad(lx_error *err, const lx_config *cfg, size_t i,
               const char *member, const char *what)
{
    lx_error_set(err, LX_ECONFIG, "/adapters/%zu%s%s: %s", i,
                 member ? "/" : "", member ? member : "", what);
    return lx_error_at(err, cfg->path, 0, 0);
}

int lx_hub_delivery_options(lx_hub *hub, size_t i, const json_t *a,
                            lx_hub_adapter *ha, lx_delivery_options *out,
                            lx_error *err)
{
    const lx_config *cfg = hub->cfg;
    json_t *subs = json_object_get(a, "subscribe");
    if (subs && (!json_is_array(subs) || json_array_size(subs) > 32))
        return lx_hub_bad(err, cfg, i, "subscribe",
                          "must be a list of up to 32 topic patterns");
    size_t k;
    json_t *t;
    json_array_foreach(subs, k, t)
    {
        if (!json_is_string(t))
            return lx_hub_bad(err, cfg, i, "subscribe",
                              "patterns are strings");
    }
    json_t *timeout = json_object_get(json_object_get(a, "transport"),
                                      "timeout_ms");
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
        return lx_hub_bad(err, cfg, i, "retry",
                          "max_attempts (1..1000), backoff_base_ms and "
                          "backoff_max_ms are positive integers");
    if (timeout && (!json_is_integer(timeout) ||
                    json_integer_value(timeout) < 1))
        return lx_hub_bad(err, cfg, i, "transport/timeout_ms",
                          "must be a positive integer");
    json_t *conc = json_object_get(a, "concurrency");
    json_t *max_lag = json_object_get(a, "max_lag");
    if (conc && (!json_is_integer(conc) || json_integer_value(conc) < 1 ||
                 json_integer_value(conc) > 256))
        return lx_hub_bad(err, cfg, i, "concurrency",
                          "must be an integer 1..256 (calls in flight)");
    if (max_lag && (!json_is_integer(max_lag) ||
                    json_integer_value(max_lag) < 1))
        return lx_hub_bad(err, cfg, i, "max_lag",
                          "must be a positive integer (events)");
    json_array_foreach(subs, k, t)
        ha->subscribe[k] = lx_xstrdup(json_string_value(t));
    *out = (lx_delivery_options){
        .instance = ha->name,
        .system = ha->system,
        .subscribe = subs ? (const char *const *)ha->subscribe : NULL,
        .timeout_ms = timeout ? json_integer_value(timeout) : 0,
        .max_attempts = attempts ? (unsigned)json_integer_value(attempts) : 0,
        .backoff_base_ms = base_ms ? (unsigned)json_integer_value(base_ms) : 0,
        .backoff_max_ms = max_ms ? (unsigned)json_integer_value(max_ms) : 0,
        .concurrency = conc ? (unsigned)json_integer_value(conc) : 0,
        .max_lag = max_lag ? (uint64_t)json_integer_value(max_lag) : 0};
    return 0;
}

void lx_hub_json_answer(lx_http_response *resp, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    lx_http_response_set(resp, status, "application/json", text, strlen(text));
    free(text);
    json_decref(body);
}

int lx_hub_status_of(int code)
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


static int start_one(lx_hub *hub, size_t i, const json_t *a, lx_error *err)
{
    const lx_config *cfg = hub->cfg;
    const char *name = lx_json_str(a, "name");
    const char *system = lx_json_str(a, "system");
    const char *dir = lx_json_str(a, "direction");
    if (!lx_json_str(a, "use"))
        return 0; /* not an adapter this hub runs (documented in config) */
    const adapter_kind *kind = kind_of(a);
    if (!kind) {
        char known[256] = "";
        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
            snprintf(known + strlen(known), sizeof(known) - strlen(known),
                     "%s%s", k ? ", " : "", kinds[k].use);
        char what[320];
        snprintf(what, sizeof(what), "unknown adapter (this hub runs: %s)",
                 known);
        return lx_hub_bad(err, cfg, i, "use", what);
    }
    if (dir && strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0)
        return lx_hub_bad(err, cfg, i, "direction",
                          "must be \"in\" or \"out\"");
    if (strlen(name) > LX_STORE_NAME_MAX || strlen(system) > LX_STORE_NAME_MAX)
        return lx_hub_bad(err, cfg, i, "name",
                          "name and system are at most 64 characters");
    if (hub->adapter_count >= LX_HUB_ADAPTERS_MAX)
        return lx_hub_bad(err, cfg, i, NULL, "too many adapter instances");
    lx_hub_adapter *ha = &hub->adapters[hub->adapter_count];
    memset(ha, 0, sizeof(*ha));
    snprintf(ha->name, sizeof(ha->name), "%s", name);
    snprintf(ha->system, sizeof(ha->system), "%s", system);
    ha->inbound = lx_hub_is_inbound(a);
    return kind->start(hub, i, a, ha, err);
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
        /* Deliveries first: their adapters use what follows. */
        lx_delivery_stop(&ha->delivery);
        lx_hub_rest_stop(ha);
        lx_hub_native_stop(ha);
        lx_filedrop_stop(&ha->inbox);
        lx_hropen_close(&ha->hropen);
        free(ha->secret);
        ha->secret = NULL;
        lx_fhir_out_destroy(&ha->fhir_out);
        lx_edi_out_destroy(&ha->edi_out);
        for (size_t k = 0; ha->subscribe[k]; k++)
            free(ha->subscribe[k]);
    }
    hub->adapter_count = 0;
    lx_fhir_close(&hub->fhir);
    lx_edi_maps_destroy(&hub->edi_maps);
    lx_x12_defs_destroy(&hub->x12_defs);
    lx_edifact_defs_destroy(&hub->edifact_defs);
}

bool lx_hub_adapters_http(lx_hub *hub, const lx_http_request *req,
                          lx_http_response *resp)
{
    for (size_t i = 0; i < hub->adapter_count; i++) {
        lx_hub_adapter *ha = &hub->adapters[i];
        if (ha->rest_adapter && lx_hub_rest_http(hub, ha, req, resp))
            return true;
        if (ha->native_adapter && lx_hub_native_http(hub, ha, req, resp))
            return true;
        if (ha->hropen) {
            if (lx_hub_hropen_http(hub, ha, req, resp))
                return true;
        } else if (ha->is_edi) {
            if (ha->base[0] && lx_hub_edi_http(ha, req, resp))
                return true;
        } else if (ha->serves_fhir &&
                   lx_fhir_rest_handle(&ha->rest, req, resp)) {
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
