/* conformance/driver_fhir.c: the FHIR R4 adapter as the hub runs it.
 *
 * Inbound documents go over HTTP to the adapter's REST facade
 * (adapters/fhir/fhir_rest.h) on a loopback server of the runner's, so the
 * suite sees the statuses and OperationOutcomes a real client sees.
 * Outbound, the adapter's delivery (fhir_out.h on the delivery engine)
 * calls the runner's target server. */
#include "adapters/fhir/fhir_out.h"
#include "adapters/fhir/fhir_rest.h"
#include "conformance/conform_int.h"
#include "core/http_client.h"
#include "core/json.h"
#include "core/mem.h"

#include <string.h>

#define FHIR_BASE "/fhir/r4"

typedef struct fhir_state {
    lx_fhir *fhir;
    lx_http_server *srv;
    lx_http_client *client;
    lx_fhir_rest rest; /* its store and system change per ingest */
    char url[96];
} fhir_state;

static void serve(void *ctx, const lx_http_request *req,
                  lx_http_response *resp)
{
    fhir_state *st = ctx;
    if (!lx_fhir_rest_handle(&st->rest, req, resp))
        lx_http_response_set(resp, 404, "application/json", "{}", 2);
}

static void fhir_close(void **sp)
{
    fhir_state *st = *sp;
    if (!st)
        return;
    *sp = NULL;
    lx_http_server_stop(&st->srv);
    lx_http_client_destroy(&st->client);
    lx_fhir_close(&st->fhir);
    free(st);
}

static int fhir_open(const char *root, const char *adapter_dir,
                     const json_t *options, void **sp, lx_error *err)
{
    (void)adapter_dir;
    (void)options;
    *sp = NULL;
    fhir_state *st = lx_xcalloc(1, sizeof(*st));
    int rc = lx_fhir_open(root, &st->fhir, err);
    lx_http_server_options o = {.listen = "127.0.0.1:0", .timeout_s = 5};
    if (rc == 0)
        rc = lx_http_server_start(&o, serve, st, &st->srv, err);
    if (rc == 0)
        rc = lx_http_client_new(&st->client, err);
    if (rc != 0) {
        void *p = st;
        fhir_close(&p);
        return rc;
    }
    st->rest = (lx_fhir_rest){.fhir = st->fhir,
                              .base = FHIR_BASE,
                              .adapter = "conformance-in",
                              .max_body = LX_JSON_MAX_DEFAULT};
    snprintf(st->url, sizeof(st->url), "http://127.0.0.1:%u" FHIR_BASE,
             lx_http_server_port(st->srv));
    *sp = st;
    return 0;
}

/* The resource type of a document, for its URL: the case may say it (a
 * document too broken to tell), else resourceType or the XML root. */
static void type_of(const json_t *input, const char *doc, size_t len,
                    bool xml, char *out, size_t size)
{
    const char *given = lx_json_str(input, "native_type");
    snprintf(out, size, "%s", given ? given : "");
    if (given)
        return;
    json_t *tree = NULL;
    if (!xml) {
        tree = json_loadb(doc, len, 0, NULL);
        const char *t = lx_json_str(tree, "resourceType");
        snprintf(out, size, "%s", t ? t : "");
    } else if (lx_conform_xml_normalize(doc, len, &tree, NULL) == 0) {
        const char *name = lx_json_str(tree, "name");
        const char *brace = name ? strrchr(name, '}') : NULL;
        snprintf(out, size, "%s", brace ? brace + 1 : name ? name : "");
    }
    json_decref(tree);
}

/* A refusal in the terms a FHIR client sees: the status and the first
 * issue of the OperationOutcome. */
static json_t *rejection_of(const lx_http_result *res)
{
    json_t *rej = json_pack("{s:i}", "status", (int)res->status);
    json_t *oo = json_loadb(res->body ? res->body : "", res->body_len, 0,
                            NULL);
    json_t *issue = json_array_get(json_object_get(oo, "issue"), 0);
    const char *code = lx_json_str(issue, "code");
    const char *where =
        json_string_value(json_array_get(json_object_get(issue, "expression"), 0));
    const char *msg = lx_json_str(issue, "diagnostics");
    if (code)
        json_object_set_new(rej, "code", json_string(code));
    if (where)
        json_object_set_new(rej, "location", json_string(where));
    if (msg)
        json_object_set_new(rej, "message", json_string(msg));
    json_decref(oo);
    return rej;
}

static int fhir_ingest(void *state, lx_conform_hub *hub, const char *system,
                       const json_t *input, const char *doc, size_t len,
                       lx_conform_answer *ans, lx_error *err)
{
    fhir_state *st = state;
    const char *format = lx_json_str(input, "format");
    bool xml = format && strcmp(format, "xml") == 0;
    char type[64];
    type_of(input, doc, len, xml, type, sizeof(type));
    st->rest.store = hub->store;
    st->rest.registry = hub->registry;
    st->rest.system = system;
    /* With the sender's id: update as create (PUT [base]/Type/id), so that
     * later documents can refer to it as Type/id. */
    const char *nid = lx_json_str(input, "native_id");
    char url[512];
    if (strcmp(type, "Bundle") == 0 || !type[0])
        snprintf(url, sizeof(url), "%s", st->url);
    else if (nid)
        snprintf(url, sizeof(url), "%s/%s/%s", st->url, type, nid);
    else
        snprintf(url, sizeof(url), "%s/%s", st->url, type);
    lx_http_call call = {
        .method = nid ? "PUT" : "POST",
        .url = url,
        .headers = {xml ? "Content-Type: application/fhir+xml"
                        : "Content-Type: application/fhir+json",
                    "Accept: application/fhir+json"},
        .body = doc,
        .body_len = len,
        .timeout_ms = hub->timeout_ms};
    lx_http_result res;
    int rc = lx_http_client_perform(st->client, &call, &res, err);
    if (rc == 0) {
        ans->accepted = res.status >= 200 && res.status < 300;
        /* A batch answers 200 with one status per entry: a refused entry
         * is a refusal of the document for the suite's purposes. */
        json_t *body = json_loadb(res.body ? res.body : "", res.body_len, 0,
                                  NULL);
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(body, "entry"), i, e)
        {
            const char *s =
                lx_json_str(json_object_get(e, "response"), "status");
            if (s && s[0] != '2')
                ans->accepted = false;
        }
        json_decref(body);
        if (!ans->accepted)
            ans->rejection = rejection_of(&res);
    }
    lx_http_result_fini(&res);
    return rc;
}

static void fhir_ops_of(void *o, lx_outbound_ops *ops)
{
    lx_fhir_out_ops(o, ops);
}

typedef struct fhir_out {
    lx_fhir_out *o;
    lx_delivery *d;
} fhir_out;

static void fhir_out_stop(void **op)
{
    fhir_out *fo = *op;
    if (!fo)
        return;
    *op = NULL;
    lx_delivery_stop(&fo->d);
    lx_fhir_out_destroy(&fo->o);
    free(fo);
}

static int fhir_out_start(void *state, lx_conform_hub *hub,
                          const char *system, const json_t *options,
                          void **op, lx_error *err)
{
    fhir_state *st = state;
    *op = NULL;
    const char *format = lx_json_str(options, "format");
    lx_fhir_out_options oo = {
        .fhir = st->fhir,
        .base_url = lx_conform_target_url(hub->target),
        .system = system,
        .format = format && strcmp(format, "xml") == 0 ? LX_FHIR_XML
                                                        : LX_FHIR_JSON};
    fhir_out *fo = lx_xcalloc(1, sizeof(*fo));
    int rc = lx_fhir_out_new(&oo, &fo->o, err);
    if (rc == 0)
        rc = lx_conform_delivery_start(hub, system, fhir_ops_of, fo->o,
                                       &fo->d, err);
    if (rc != 0) {
        void *p = fo;
        fhir_out_stop(&p);
        return rc;
    }
    *op = fo;
    return 0;
}

static void fhir_out_notify(void *op)
{
    lx_delivery_notify(((fhir_out *)op)->d);
}

static uint64_t fhir_out_cursor(void *op)
{
    return lx_conform_delivery_cursor(((fhir_out *)op)->d);
}

const lx_conform_driver lx_conform_driver_fhir = {
    .kind = "fhir",
    .map_folder = "fhir",
    .open = fhir_open,
    .close = fhir_close,
    .ingest = fhir_ingest,
    .out_start = fhir_out_start,
    .out_stop = fhir_out_stop,
    .out_notify = fhir_out_notify,
    .out_cursor = fhir_out_cursor,
};
