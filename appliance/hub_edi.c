/* appliance/hub_edi.c: EDI adapter instances (X12 and EDIFACT), with the
 * trading partner profiles of the top-level "partners" object
 * (docs/edi-partners.md).
 *
 *   {"name": "insurer-in", "system": "insurer", "use": "edi",
 *    "direction": "in", "partner": "insurer",
 *    "ack_outbox": "/var/lib/lingua/edi/insurer/out",
 *    "transport": {"inbox": "/var/lib/lingua/edi/insurer/in"}}
 *   {"name": "insurer-out", "system": "insurer", "use": "edi",
 *    "direction": "out", "partner": "insurer",
 *    "subscribe": ["coverage.*", "person.*"],
 *    "transport": {"outbox": "/var/lib/lingua/edi/insurer/out"}}
 *
 * person.* makes a person's change an 834 change for the coverages it is
 * the member of; "ship_to_name" names the 850 ship-to party when the
 * order's buyer organization has no name (docs/edi-mappings.md).
 */
#include "appliance/hub_int.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Give a configuration error located by JSON pointer (err->where) the
 * file's line and column: the file is read again, errors are rare. */
static int locate(const lx_config *cfg, lx_error *err)
{
    char ptr[LX_ERROR_WHERE_MAX];
    snprintf(ptr, sizeof(ptr), "%s", err ? err->where : "");
    long line = 0, column = 0;
    FILE *f = fopen(cfg->path, "rb");
    if (f && err) {
        lx_buf b;
        lx_buf_init(&b, LX_CONFIG_MAX_LEN);
        char chunk[8192];
        size_t n;
        int rc = 0;
        while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            rc = lx_buf_append(&b, chunk, n);
        if (rc == 0 &&
            lx_json_locate(b.data ? b.data : "", b.len, ptr, &line,
                           &column) != 0)
            line = column = 0;
        lx_buf_fini(&b);
    }
    if (f)
        fclose(f);
    lx_error_at(err, cfg->path, line, column);
    return err ? err->code : LX_ECONFIG;
}

/* An adapter error at /adapters/<i>/<member>, located in the file. */
static int bad(const lx_config *cfg, size_t i, const char *member,
               const char *what, lx_error *err)
{
    char ptr[LX_ERROR_WHERE_MAX];
    snprintf(ptr, sizeof(ptr), "/adapters/%zu/%s", i, member);
    lx_error_set(err, LX_ECONFIG, "%s: %s", ptr, what);
    if (err)
        snprintf(err->where, sizeof(err->where), "%s", ptr);
    return locate(cfg, err);
}

/* The instance's partner profile, when it names one ("partner"). */
static int partner_of(lx_hub *hub, size_t i, const json_t *a,
                      lx_hub_adapter *ha, lx_error *err)
{
    const json_t *name = json_object_get(a, "partner");
    if (!name)
        return 0;
    if (!json_is_string(name))
        return bad(hub->cfg, i, "partner", "must be the name of a member "
                                           "of /partners", err);
    if (!json_object_get(hub->cfg->partners, json_string_value(name)))
        return bad(hub->cfg, i, "partner", "no such partner in /partners",
                   err);
    int rc = lx_edi_partner_parse(hub->cfg->partners,
                                  json_string_value(name), &ha->partner, err);
    if (rc == 0) {
        ha->has_partner = true;
        return 0;
    }
    return locate(hub->cfg, err);
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
    if (rc == 0 && out.acks)
        lx_log_info(NULL, "adapter %s: %s: %zu acknowledgement(s) of our "
                          "interchanges received, %zu not accepted (lingua "
                          "edi acks %s)",
                    ha->name, path, out.acks, out.acks_rejected, ha->system);
    else if (rc == 0)
        lx_log_info(NULL, "adapter %s: %s: %s, %zu transactions (%zu "
                          "rejected), %zu records (%zu created, %zu updated, "
                          "%zu unchanged)%s%s",
                    ha->name, path, out.standard, out.transactions,
                    out.rejected, out.records, out.created, out.updated,
                    out.unchanged, out.ack_path[0] ? ", ack " : "",
                    out.ack_path);
    return rc;
}

/* "direction": "out": events -> interchanges in the partner's outbox. */
static int start_out(lx_hub *hub, size_t i, const json_t *a,
                     lx_hub_adapter *ha, lx_error *err)
{
    const lx_config *cfg = hub->cfg;
    if (!ha->has_partner)
        return bad(cfg, i, "partner", "an outbound EDI adapter needs a "
                                      "\"partner\" (a member of /partners)",
                   err);
    char obuf[4096];
    const char *outbox = lx_config_path(
        cfg, lx_json_str(json_object_get(a, "transport"), "outbox"), obuf,
        sizeof(obuf));
    if (!outbox || !lx_hub_is_dir(outbox))
        return bad(cfg, i, "transport/outbox",
                   "an outbound EDI adapter needs an existing \"outbox\" "
                   "directory",
                   err);
    const char *standard = lx_json_str(a, "standard");
    lx_edi_standard std = 0;
    if (standard && strcmp(standard, "x12") == 0)
        std = LX_EDI_X12;
    else if (standard && strcmp(standard, "edifact") == 0)
        std = LX_EDI_EDIFACT;
    else if (json_object_get(a, "standard"))
        return bad(cfg, i, "standard", "must be \"x12\" or \"edifact\"",
                   err);
    if ((std == LX_EDI_X12 && !ha->partner.has_x12) ||
        (std == LX_EDI_EDIFACT && !ha->partner.has_edifact))
        return bad(cfg, i, "standard", "the partner has no profile for this "
                                       "standard",
                   err);
    const json_t *mid = json_object_get(a, "member_id_system");
    if (mid && (!json_is_string(mid) || json_string_length(mid) == 0 ||
                json_string_length(mid) > 256))
        return bad(cfg, i, "member_id_system",
                   "must be an identifier system (1 to 256 characters)", err);
    const json_t *ship = json_object_get(a, "ship_to_name");
    if (ship && (!json_is_string(ship) || json_string_length(ship) == 0 ||
                 json_string_length(ship) > LX_EDI_OUT_NAME_MAX))
        return bad(cfg, i, "ship_to_name",
                   "must be the 850 ship-to party name (1 to 60 "
                   "characters)",
                   err);
    lx_delivery_options dopt;
    int rc = lx_hub_delivery_options(hub, i, a, ha, &dopt, err);
    if (rc != 0)
        return rc;
    lx_edi_out_options oo = {.store = hub->store,
                             .x12_defs = hub->x12_defs,
                             .edifact_defs = hub->edifact_defs,
                             .maps = hub->edi_maps,
                             .partner = &ha->partner,
                             .standard = std,
                             .outbox = outbox,
                             .member_id_system = json_string_value(mid),
                             .ship_to_name = json_string_value(ship)};
    hub->adapter_count++; /* from here on, stop() cleans it up */
    rc = lx_edi_out_new(&oo, &ha->edi_out, err);
    if (rc != 0)
        return rc;
    lx_outbound_ops ops;
    lx_edi_out_ops(ha->edi_out, &ops);
    rc = lx_delivery_start(hub->store, &dopt, &ops, &ha->delivery, err);
    if (rc == 0)
        lx_log_info(NULL, "adapter %s: EDI interchanges for partner %s to %s",
                    ha->name, ha->partner.name, outbox);
    return rc;
}

int lx_hub_edi_start(lx_hub *hub, size_t i, const json_t *a,
                     lx_hub_adapter *ha, lx_error *err)
{
    const lx_config *cfg = hub->cfg;
    int rc = open_edi(hub, err);
    rc = rc ? rc : partner_of(hub, i, a, ha, err);
    if (rc != 0)
        return rc;
    if (!lx_hub_is_inbound(a))
        return start_out(hub, i, a, ha, err);
    json_t *transport = json_object_get(a, "transport");
    char ibuf[4096], obuf[4096];
    const char *inbox = lx_config_path(cfg, lx_json_str(transport, "inbox"),
                                       ibuf, sizeof(ibuf));
    const char *http = lx_json_str(transport, "http");
    const char *ack = lx_json_str(a, "ack");
    const char *outbox = lx_config_path(cfg, lx_json_str(a, "ack_outbox"),
                                        obuf, sizeof(obuf));
    if (!inbox && !http)
        return lx_hub_bad(err, cfg, i, "transport",
                   "an inbound EDI adapter needs an \"inbox\" directory "
                   "and/or an \"http\" path");
    if (ack && ha->has_partner)
        return bad(cfg, i, "ack", "with a \"partner\", its profile says "
                                  "which acknowledgement it wants "
                                  "(/partners/<name>/x12/ack, "
                                  "/partners/<name>/edifact/ack)",
                   err);
    if (ack && strcmp(ack, "997") != 0 && strcmp(ack, "999") != 0 &&
        strcmp(ack, "contrl") != 0 && strcmp(ack, "none") != 0)
        return lx_hub_bad(err, cfg, i, "ack", "must be 997, 999, contrl or none");
    bool wants_ack = ha->has_partner
                         ? ha->partner.x12_ack != LX_EDI_ACK_NONE ||
                               ha->partner.edifact_ack != LX_EDI_ACK_NONE
                         : ack && strcmp(ack, "none") != 0;
    if (wants_ack && !outbox)
        return bad(cfg, i, "ack_outbox",
                   "acknowledgements need an outbox directory", err);
    if (outbox && (strlen(outbox) >= sizeof(ha->ack_outbox) || !lx_hub_is_dir(outbox)))
        return bad(cfg, i, "ack_outbox", "must be an existing directory",
                   err);
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
        .reject_whole = json_is_true(whole),
        .partner = ha->has_partner ? &ha->partner : NULL};
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
    lx_log_info(NULL, "adapter %s: EDI for system %s%s%s%s%s%s%s (acks: %s)",
                ha->name, ha->system, ha->has_partner ? ", partner " : "",
                ha->has_partner ? ha->partner.name : "",
                inbox ? ", inbox " : "", inbox ? inbox : "",
                http ? ", HTTP " : "", http ? http : "",
                ha->has_partner ? "per the partner's profile" : ha->ack);
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
