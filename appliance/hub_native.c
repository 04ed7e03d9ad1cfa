/* appliance/hub_native.c: native adapter instances: a shared library (.so)
 * built against adapters/native/lingua_adapter.h, the same file
 * `lingua conform --adapter X.so` certifies (docs/native-adapters.md).
 *
 *   {"name": "acme-in", "system": "acme", "use": "native",
 *    "direction": "in", "library": "adapters/acme_roster.so",
 *    "config": {...},
 *    "transport": {"http": "/adapters/acme-in/inbound",
 *                  "signature": {...}, "idempotency_header": "..."}}
 *   {"name": "acme-out", "system": "acme", "use": "native",
 *    "direction": "out", "library": "adapters/acme_roster.so",
 *    "subscribe": ["person.*"],
 *    "transport": {"url": "http://127.0.0.1:9104/api",
 *                  "outbox": "/var/lib/lingua/acme/out"}}
 *
 * Inbound: the body POSTed to the instance's path is the native document;
 * the adapter hands its records to the host's ingest, which checks and
 * stores each one as every inbound adapter does (lx_ingest_check, then
 * lx_store_upsert under the document's trace id). Outbound: the delivery
 * engine runs the adapter's outbound() as its prepare (echo suppression,
 * order, retries, dead letters and the cross-reference are the engine's);
 * an HTTP request goes to transport.url + path, a file request is written
 * to transport.outbox atomically (adapters/transport/outbox.h).
 *
 * Trust: unlike the conformance runner, which calls a native adapter in a
 * child process per case, the hub calls it in its own process: a crash in
 * the library takes the hub down (deliveries resume from their cursors at
 * the restart, an inbound sender sees its connection close and retries).
 * That is the price of running without a process hop per document;
 * certify the library first. */
#include "adapters/native/native.h"
#include "adapters/transport/outbox.h"
#include "appliance/hub_int.h"
#include "canonical/ingest.h"
#include "core/id.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* At most this many records are listed in an inbound answer (all are
 * stored; "count" says how many). */
#define NATIVE_ANSWER_RECORDS_MAX 100

/* One inbound document in progress (lives on the HTTP thread's stack). */
typedef struct native_doc {
    char trace[LX_ULID_SIZE];
    char *note;       /* how it arrived, for its trace (malloc'd) */
    json_t *records;  /* what the answer lists */
    size_t count;     /* records stored */
} native_doc;

struct lx_hub_native {
    lx_hub *hub;
    lx_hub_adapter *ha;
    lx_native *lib;
    lx_native_instance *inst;
    lx_native_host host;
    /* The ABI allows one call into an instance at a time: the HTTP
     * threads (inbound) and the delivery thread (outbound) take turns. */
    pthread_mutex_t mu;
    native_doc *doc;  /* the inbound document in progress, under mu */
    char url[LX_DELIVERY_URL_MAX]; /* outbound HTTP base, "" when none */
    char outbox[PATH_MAX];         /* outbound files, "" when none */
    lx_http_client *http; /* HTTP calls when perform is ours (outbox) */
};

/* The host's ingest: the checks and the store of every inbound route
 * (canonical/ingest.h), under the document's trace. Called inside
 * lx_native_inbound, so mu is held and n->doc is set. */
static int on_ingest(void *ctx, const char *entity, const char *native_type,
                     const char *native_id, const json_t *record,
                     lx_error *err)
{
    struct lx_hub_native *n = ctx;
    native_doc *d = n->doc;
    if (!d)
        return lx_error_set(err, LX_EINVAL, "ingest is only valid inside "
                                            "inbound()");
    lx_upsert u = {.op = record ? LX_STORE_UPSERT : LX_STORE_DELETE,
                   .entity = entity,
                   .system = n->ha->system,
                   .adapter = n->ha->name,
                   .native_type = native_type,
                   .native_id = native_id,
                   .trace = d->trace,
                   .record = record,
                   .note = d->note};
    int rc = lx_ingest_check(n->hub->registry, &u, err);
    lx_upsert_result res;
    if (rc == 0 && (rc = lx_store_upsert(n->hub->store, &u, &res)) != 0 &&
        err)
        *err = res.err;
    if (rc != 0)
        return rc;
    if (d->count++ < NATIVE_ANSWER_RECORDS_MAX)
        json_array_append_new(
            d->records,
            json_pack("{s:s,s:s,s:I,s:b,s:b}", "entity", entity,
                      "canonical_id", res.canonical_id, "version",
                      (json_int_t)res.version, "created", res.created,
                      "unchanged", res.unchanged));
    return 0;
}

/* "application/json" -> "json", "application/fhir+xml" -> "xml",
 * "application/edi-x12" -> "x12": the document's format as the ABI names
 * it (a file extension), "" when the request does not say. */
static void format_of(const char *content_type, char *out, size_t size)
{
    out[0] = '\0';
    const char *slash = content_type ? strchr(content_type, '/') : NULL;
    if (!slash)
        return;
    const char *sub = slash + 1;
    size_t len = strcspn(sub, ";, \t");
    const char *plus = memchr(sub, '+', len);
    if (plus) {
        len -= (size_t)(plus + 1 - sub);
        sub = plus + 1;
    }
    if (len > 4 && strncmp(sub, "edi-", 4) == 0) {
        sub += 4;
        len -= 4;
    }
    size_t k = 0;
    for (; k < len && k + 1 < size; k++)
        out[k] = (char)tolower((unsigned char)sub[k]);
    out[k] = '\0';
}

bool lx_hub_native_http(lx_hub *hub, lx_hub_adapter *ha,
                        const lx_http_request *req, lx_http_response *resp)
{
    struct lx_hub_native *n = ha->native_adapter;
    if (!ha->inbound || strcmp(lx_http_path(req), ha->base) != 0)
        return false;
    const char *body = NULL, *key = NULL;
    size_t len = 0;
    if (lx_hub_webhook_begin(hub, ha, req, resp, &body, &len, &key))
        return true;
    const char *format = lx_http_query(req, "format");
    char fbuf[32];
    if (!format) {
        format_of(lx_http_header(req, "Content-Type"), fbuf, sizeof(fbuf));
        format = fbuf;
    }
    native_doc d = {.records = json_array()};
    lx_ulid_new(d.trace);
    json_t *note = json_pack("{s:s,s:s,s:s,s:I}", "transport", "http",
                             "adapter", lx_native_name(n->lib), "version",
                             lx_native_version(n->lib), "bytes",
                             (json_int_t)len);
    d.note = json_dumps(note, JSON_COMPACT);
    json_decref(note);
    lx_error err;
    lx_error_clear(&err);
    int status = 0;
    pthread_mutex_lock(&n->mu);
    n->doc = &d;
    int rc = lx_native_inbound(n->inst, ha->system, format,
                               lx_http_query(req, "native_type"), body, len,
                               &status, &err);
    n->doc = NULL;
    pthread_mutex_unlock(&n->mu);
    json_t *answer;
    if (rc != 0) {
        /* Where and why, never the value (the adapter's message follows
         * the same rule, lingua_adapter.h). */
        lx_log_warn(d.trace, "adapter %s: document refused: %s%s%s",
                    ha->name, err.where, err.where[0] ? ": " : "", err.msg);
        if (!status)
            status = lx_hub_status_of(err.code);
        answer = lx_json_from_error(&err);
        json_object_set_new(answer, "trace", json_string(d.trace));
        json_decref(d.records);
    } else {
        status = 200;
        answer = json_pack("{s:o,s:I,s:s}", "records", d.records, "count",
                           (json_int_t)d.count, "trace", d.trace);
    }
    free(d.note);
    lx_hub_webhook_finish(hub, ha, key, body, len, resp, status, answer);
    return true;
}

/* ---- outbound: the delivery engine's ops, on its thread ---- */

/* An outbox file travels through the engine as a "WRITE" of
 * file://<outbox>/<name> (traces and dead letters show it so, like the
 * EDI adapter's), performed by out_perform. */
static int file_call(struct lx_hub_native *n, lx_native_request *r,
                     lx_outbound_call *call, lx_error *err)
{
    if (!n->outbox[0])
        return lx_error_set(err, LX_EINVAL, "the adapter asked for an "
                                            "outbox file and the instance "
                                            "has no transport.outbox");
    int len = snprintf(call->url, sizeof(call->url), "file://%s/%s",
                       n->outbox, r->path);
    if (len < 0 || (size_t)len >= sizeof(call->url))
        return lx_error_set(err, LX_ELIMIT, "the outbox file's path is "
                                            "longer than %d bytes",
                            LX_DELIVERY_URL_MAX);
    call->http.url = call->url;
    call->http.method = "WRITE";
    snprintf(call->native_type, sizeof(call->native_type), "%s",
             r->native_type);
    call->body = r->body;
    call->http.body = r->body;
    call->http.body_len = r->body_len;
    r->body = NULL;
    r->body_len = 0;
    return 0;
}

static int out_prepare(void *ctx, lx_store *store, const json_t *event,
                       lx_outbound_call *call, bool *skip, lx_error *err)
{
    struct lx_hub_native *n = ctx;
    char tid[LX_STORE_NATIVE_ID_MAX + 1];
    bool known = lx_native_known_target_id(store, n->ha->system, event, tid,
                                           sizeof(tid));
    lx_native_request r;
    pthread_mutex_lock(&n->mu);
    int rc = lx_native_outbound(n->inst, event, known ? tid : NULL, &r, skip,
                                err);
    pthread_mutex_unlock(&n->mu);
    if (rc != 0 || *skip)
        return rc;
    if (r.is_file)
        rc = file_call(n, &r, call, err);
    else if (!n->url[0])
        rc = lx_error_set(err, LX_EINVAL, "the adapter asked for an HTTP "
                                          "call and the instance has no "
                                          "transport.url");
    else
        rc = lx_native_call_fill(&r, n->url, call, err);
    lx_native_request_fini(&r);
    return rc;
}

/* Only when the instance has an outbox (else the engine's own HTTP, with
 * its concurrency): files to the outbox, HTTP calls one at a time. */
static int out_perform(void *ctx, const lx_outbound_call *call,
                       lx_http_result *res, lx_error *err)
{
    struct lx_hub_native *n = ctx;
    memset(res, 0, sizeof(*res));
    if (strcmp(call->http.method, "WRITE") != 0) {
        if (!n->http) {
            int rc = lx_http_client_new(&n->http, err);
            if (rc != 0)
                return rc;
        }
        return lx_http_client_perform(n->http, &call->http, res, err);
    }
    /* file_call wrote "file://<outbox>/<name>". */
    const char *name = call->url + strlen("file://") + strlen(n->outbox) + 1;
    char path[PATH_MAX];
    int rc = lx_outbox_write(n->outbox, name,
                             call->body ? call->body : "", call->http.body_len,
                             path, sizeof(path), err);
    if (rc == 0) {
        res->status = 201;
        snprintf(res->location, sizeof(res->location), "%s", path);
    } else if (rc == LX_EINVAL) {
        res->status = 422; /* a name the outbox refuses: never retried */
        rc = 0;
    }
    return rc;
}

static void out_native_id(void *ctx, const json_t *event,
                          const lx_http_result *res, char *id, size_t size)
{
    struct lx_hub_native *n = ctx;
    pthread_mutex_lock(&n->mu);
    lx_native_target_id(n->inst, event, res, id, size);
    pthread_mutex_unlock(&n->mu);
}

static int start_out(lx_hub *hub, size_t i, const json_t *a,
                     struct lx_hub_native *n, lx_error *err)
{
    const lx_config *cfg = hub->cfg;
    lx_hub_adapter *ha = n->ha;
    json_t *transport = json_object_get(a, "transport");
    const char *url = lx_json_str(transport, "url");
    const char *outbox = lx_json_str(transport, "outbox");
    if (!url && !outbox)
        return lx_hub_bad(err, cfg, i, "transport",
                          "an outbound native adapter needs \"url\" (the "
                          "system's base URL) or \"outbox\" (a directory), "
                          "or both");
    if (url && strncmp(url, "http://", 7) != 0 &&
        strncmp(url, "https://", 8) != 0)
        return lx_hub_bad(err, cfg, i, "transport/url",
                          "must be an http:// or https:// URL");
    if (url && strlen(url) >= sizeof(n->url))
        return lx_hub_bad(err, cfg, i, "transport/url", "is too long");
    snprintf(n->url, sizeof(n->url), "%s", url ? url : "");
    if (outbox) {
        lx_config_path(cfg, outbox, n->outbox, sizeof(n->outbox));
        if (!lx_hub_is_dir(n->outbox))
            return lx_hub_bad(err, cfg, i, "transport/outbox",
                              "must be an existing directory");
    }
    lx_delivery_options dopt;
    int rc = lx_hub_delivery_options(hub, i, a, ha, &dopt, err);
    if (rc != 0)
        return rc;
    lx_outbound_ops ops = {.prepare = out_prepare,
                           .native_id = out_native_id,
                           .perform = outbox ? out_perform : NULL,
                           .ctx = n};
    rc = lx_delivery_start(hub->store, &dopt, &ops, &ha->delivery, err);
    if (rc == 0)
        lx_log_info(NULL, "adapter %s: native %s %s, deliveries for system "
                          "%s%s%s%s%s",
                    ha->name, lx_native_name(n->lib),
                    lx_native_version(n->lib), ha->system,
                    n->url[0] ? " to " : "", n->url,
                    n->outbox[0] ? ", files to " : "", n->outbox);
    return rc;
}

int lx_hub_native_start(lx_hub *hub, size_t i, const json_t *a,
                        lx_hub_adapter *ha, lx_error *err)
{
    const lx_config *cfg = hub->cfg;
    const char *library = lx_json_str(a, "library");
    if (!library || !*library)
        return lx_hub_bad(err, cfg, i, "library",
                          "the adapter's shared library (.so) is needed "
                          "(relative to the configuration file, or "
                          "absolute)");
    const json_t *config = json_object_get(a, "config");
    if (config && !json_is_object(config))
        return lx_hub_bad(err, cfg, i, "config",
                          "must be a JSON object (the adapter's open() "
                          "gets it as text)");
    struct lx_hub_native *n = lx_xcalloc(1, sizeof(*n));
    n->hub = hub;
    n->ha = ha;
    pthread_mutex_init(&n->mu, NULL);
    ha->native_adapter = n;
    hub->adapter_count++; /* from here on, stop() cleans it up */
    char path[PATH_MAX];
    lx_config_path(cfg, library, path, sizeof(path));
    lx_error why;
    lx_error_clear(&why);
    char what[LX_ERROR_WHERE_MAX + LX_ERROR_MSG_MAX + 8];
    if (lx_native_load(path, &n->lib, &why) != 0) {
        /* why.where is the library's path, why.msg the loader's reason. */
        snprintf(what, sizeof(what), "%s: %s", why.where, why.msg);
        return lx_hub_bad(err, cfg, i, "library", what);
    }
    bool has = ha->inbound ? lx_native_has_inbound(n->lib)
                           : lx_native_has_outbound(n->lib);
    if (!has) {
        snprintf(what, sizeof(what), "%s: the adapter %s has no %s "
                                     "direction",
                 path, lx_native_name(n->lib),
                 ha->inbound ? "inbound" : "outbound");
        return lx_hub_bad(err, cfg, i, "direction", what);
    }
    n->host = (lx_native_host){.system = ha->system,
                               .instance = ha->name,
                               .ingest = on_ingest,
                               .ctx = n};
    if (lx_native_open(n->lib, config, &n->host, &n->inst, &why) != 0) {
        /* "adapter open: <its message>", where = its location. */
        snprintf(what, sizeof(what), "%s%s%s", why.where,
                 why.where[0] ? ": " : "", why.msg);
        return lx_hub_bad(err, cfg, i, "config", what);
    }
    if (!ha->inbound)
        return start_out(hub, i, a, n, err);
    int rc = lx_hub_webhook_config(hub, i, a, ha, err);
    if (rc == 0)
        lx_log_info(NULL, "adapter %s: native %s %s for system %s at %s%s",
                    ha->name, lx_native_name(n->lib),
                    lx_native_version(n->lib), ha->system, ha->base,
                    ha->secret ? " (signed)" : "");
    return rc;
}

void lx_hub_native_stop(lx_hub_adapter *ha)
{
    struct lx_hub_native *n = ha->native_adapter;
    if (!n)
        return;
    ha->native_adapter = NULL;
    lx_native_close(&n->inst);
    lx_native_unload(&n->lib);
    lx_http_client_destroy(&n->http);
    pthread_mutex_destroy(&n->mu);
    free(n);
}
