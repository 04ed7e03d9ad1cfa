/* appliance/hub_adapters.c: the adapter instances of the configuration.
 *
 *   {"name": "ehr-in", "system": "ehr", "use": "fhir", "direction": "in",
 *    "transport": {"http": "/fhir/r4"}}
 *   {"name": "ehr-out", "system": "ehr", "use": "fhir", "direction": "out",
 *    "subscribe": ["person.*"],
 *    "transport": {"url": "http://127.0.0.1:9090/fhir", "format": "json"}}
 *
 * "use" names the adapter: "fhir" (or its folder, "adapters/fhir"). */
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
        if (uses_fhir(a) && is_inbound(a))
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

static int start_one(lx_hub *hub, size_t i, const json_t *a, lx_error *err)
{
    const lx_config *cfg = hub->cfg;
    const char *name = lx_json_str(a, "name");
    const char *system = lx_json_str(a, "system");
    const char *dir = lx_json_str(a, "direction");
    if (!lx_json_str(a, "use"))
        return 0; /* not an adapter this hub runs (documented in config) */
    if (!uses_fhir(a))
        return bad(err, cfg, i, "use",
                   "unknown adapter (this hub runs: fhir)");
    if (dir && strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0)
        return bad(err, cfg, i, "direction", "must be \"in\" or \"out\"");
    if (strlen(name) > LX_STORE_NAME_MAX || strlen(system) > LX_STORE_NAME_MAX)
        return bad(err, cfg, i, "name", "name and system are at most 64 "
                                        "characters");
    if (hub->adapter_count >= LX_HUB_ADAPTERS_MAX)
        return bad(err, cfg, i, NULL, "too many adapter instances");
    int rc = open_fhir(hub, err);
    if (rc != 0)
        return rc;
    json_t *transport = json_object_get(a, "transport");
    lx_hub_adapter *ha = &hub->adapters[hub->adapter_count];
    memset(ha, 0, sizeof(*ha));
    snprintf(ha->name, sizeof(ha->name), "%s", name);
    snprintf(ha->system, sizeof(ha->system), "%s", system);
    ha->inbound = is_inbound(a);
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
    lx_delivery_options dopt = {
        .instance = ha->name,
        .system = ha->system,
        .subscribe = subs ? (const char *const *)ha->subscribe : NULL,
        .timeout_ms = json_is_integer(timeout) ? json_integer_value(timeout)
                                               : 0};
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
        lx_delivery_stop(&ha->delivery);
        lx_fhir_out_destroy(&ha->fhir_out);
        for (size_t k = 0; ha->subscribe[k]; k++)
            free(ha->subscribe[k]);
    }
    hub->adapter_count = 0;
    lx_fhir_close(&hub->fhir);
}

bool lx_hub_adapters_http(lx_hub *hub, const lx_http_request *req,
                          lx_http_response *resp)
{
    for (size_t i = 0; i < hub->adapter_count; i++) {
        lx_hub_adapter *ha = &hub->adapters[i];
        if (ha->inbound && lx_fhir_rest_handle(&ha->rest, req, resp))
            return true;
    }
    return false;
}

void lx_hub_adapters_notify(lx_hub *hub)
{
    for (size_t i = 0; i < hub->adapter_count; i++)
        if (hub->adapters[i].delivery)
            lx_delivery_notify(hub->adapters[i].delivery);
}
