/* appliance/hub_fhir.c: FHIR R4 adapter instances.
 *
 *   {"name": "ehr-in", "system": "ehr", "use": "fhir", "direction": "in",
 *    "transport": {"http": "/fhir/r4"}}
 *   {"name": "ehr-out", "system": "ehr", "use": "fhir", "direction": "out",
 *    "subscribe": ["person.*"],
 *    "transport": {"url": "http://127.0.0.1:9090/fhir", "format": "json"}}
 */
#include "appliance/hub_int.h"
#include "core/json.h"
#include "core/log.h"

#include <string.h>

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

int lx_hub_fhir_start(lx_hub *hub, size_t i, const json_t *a,
                      lx_hub_adapter *ha, lx_error *err)
{
    const lx_config *cfg = hub->cfg;
    int rc = open_fhir(hub, err);
    if (rc != 0)
        return rc;
    json_t *transport = json_object_get(a, "transport");
    if (ha->inbound) {
        const char *base = lx_json_str(transport, "http");
        if (!base)
            base = "/fhir/r4";
        if (base[0] != '/' || strlen(base) >= sizeof(ha->base))
            return lx_hub_bad(err, cfg, i, "transport/http",
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
        ha->serves_fhir = true;
        hub->adapter_count++;
        lx_log_info(NULL, "adapter %s: FHIR R4 for system %s at %s", ha->name,
                    ha->system, ha->base);
        return 0;
    }
    const char *url = lx_json_str(transport, "url");
    if (!url || (strncmp(url, "http://", 7) != 0 &&
                 strncmp(url, "https://", 8) != 0))
        return lx_hub_bad(err, cfg, i, "transport/url",
                          "an outbound adapter needs an http(s) URL");
    const char *format = lx_json_str(transport, "format");
    if (format && strcmp(format, "json") != 0 && strcmp(format, "xml") != 0)
        return lx_hub_bad(err, cfg, i, "transport/format",
                          "must be json or xml");
    lx_delivery_options dopt;
    rc = lx_hub_delivery_options(hub, i, a, ha, &dopt, err);
    if (rc != 0)
        return rc;
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
    lx_outbound_ops ops = {0};
    lx_fhir_out_ops(ha->fhir_out, &ops);
    rc = lx_delivery_start(hub->store, &dopt, &ops, &ha->delivery, err);
    if (rc == 0)
        lx_log_info(NULL, "adapter %s: FHIR R4 deliveries to %s for system "
                          "%s",
                    ha->name, url, ha->system);
    return rc;
}
