/* appliance/hub_edi.c: EDI adapter instances (X12 and EDIFACT).
 *
 *   {"name": "insurer-in", "system": "insurer", "use": "edi",
 *    "direction": "in", "ack": "999", "ack_outbox": "/var/lib/lingua/out",
 *    "transport": {"inbox": "/var/lib/lingua/in", "http": "/edi/insurer"}}
 */
#include "appliance/hub_int.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

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

int lx_hub_edi_start(lx_hub *hub, size_t i, const json_t *a,
                     lx_hub_adapter *ha, lx_error *err)
{
    const lx_config *cfg = hub->cfg;
    if (!lx_hub_is_inbound(a))
        return lx_hub_bad(err, cfg, i, "direction",
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
        return lx_hub_bad(err, cfg, i, "transport",
                   "an inbound EDI adapter needs an \"inbox\" directory "
                   "and/or an \"http\" path");
    if (ack && strcmp(ack, "997") != 0 && strcmp(ack, "999") != 0 &&
        strcmp(ack, "contrl") != 0 && strcmp(ack, "none") != 0)
        return lx_hub_bad(err, cfg, i, "ack", "must be 997, 999, contrl or none");
    if (ack && strcmp(ack, "none") != 0 && !outbox)
        return lx_hub_bad(err, cfg, i, "ack_outbox",
                   "acknowledgements need an outbox directory");
    if (http && (http[0] != '/' || strlen(http) >= sizeof(ha->base)))
        return lx_hub_bad(err, cfg, i, "transport/http",
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

/* POST [http path] with a raw interchange: the pipeline's outcome as JSON
 * (200), or the located error (4xx). */
bool lx_hub_edi_http(lx_hub_adapter *ha, const lx_http_request *req,
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
