/* appliance/hub_http.c: the hub's HTTP endpoints for operators.
 *   GET /health   200 {"status":"ok",...} while the store answers;
 *                 "degraded" with "lagging": [{instance, lag, max_lag}]
 *                 while an outbound instance is past its lag limit
 *   GET /metrics  Prometheus text exposition format 0.0.4 */
#include "appliance/hub_int.h"
#include "core/buf.h"
#include "core/hash.h"
#include "core/json.h"

#include <string.h>

static void json_error(lx_http_response *resp, int status, const char *code,
                       const char *msg)
{
    json_t *o = json_pack("{s:s,s:s}", "code", code, "message", msg);
    char *t = json_dumps(o, JSON_COMPACT);
    lx_http_response_set(resp, status, "application/json", t, strlen(t));
    free(t);
    json_decref(o);
}

/* An outbound instance past its lag limit makes the hub "degraded", still
 * HTTP 200: inbound keeps accepting (the store can write), so a load
 * balancer must not take the hub out; monitors read "status" and
 * "lagging". */
static void health(lx_hub *hub, lx_http_response *resp)
{
    lx_store_stats st;
    lx_error err;
    lx_error_clear(&err);
    if (lx_store_stats_get(hub->store, &st, &err) != 0) {
        json_error(resp, 503, lx_error_name(err.code), err.msg);
        return;
    }
    json_t *lagging = json_array();
    for (size_t i = 0; i < hub->adapter_count; i++) {
        lx_delivery *d = hub->adapters[i].delivery;
        if (!d)
            continue;
        lx_delivery_stats ds;
        lx_delivery_stats_get(d, &ds);
        if (ds.lagging)
            json_array_append_new(
                lagging, json_pack("{s:s,s:I,s:I}", "instance",
                                   hub->adapters[i].name, "lag",
                                   (json_int_t)ds.lag, "max_lag",
                                   (json_int_t)ds.max_lag));
    }
    json_t *o = json_pack(
        "{s:s,s:I,s:I,s:I,s:I}", "status",
        json_array_size(lagging) ? "degraded" : "ok", "last_seq",
        (json_int_t)st.last_seq, "records", (json_int_t)st.records,
        "map_size", (json_int_t)st.map_size, "used_size",
        (json_int_t)st.used_size);
    if (json_array_size(lagging))
        json_object_set_new(o, "lagging", lagging);
    else
        json_decref(lagging);
    char *t = json_dumps(o, JSON_COMPACT);
    lx_http_response_set(resp, 200, "application/json", t, strlen(t));
    free(t);
    json_decref(o);
}

static int metric(lx_buf *b, const char *name, const char *type,
                  const char *help, unsigned long long v)
{
    return lx_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name,
                         help, name, type, name, v);
}

static void metrics(lx_hub *hub, lx_http_response *resp)
{
    lx_store_stats st;
    lx_error err;
    lx_error_clear(&err);
    if (lx_store_stats_get(hub->store, &st, &err) != 0) {
        json_error(resp, 503, lx_error_name(err.code), err.msg);
        return;
    }
    lx_bus_stats bs;
    lx_bus_stats_get(hub->bus, &bs);
    lx_buf b;
    lx_buf_init(&b, 0);
    int rc = metric(&b, "lingua_store_last_seq", "gauge",
                    "Sequence number of the last event in the log.",
                    st.last_seq);
    rc = rc ? rc : metric(&b, "lingua_store_records", "gauge",
                          "Canonical records in the store.", st.records);
    rc = rc ? rc : metric(&b, "lingua_store_events", "gauge",
                          "Events in the event log.", st.events);
    rc = rc ? rc : metric(&b, "lingua_store_map_bytes", "gauge",
                          "Size of the LMDB map.", st.map_size);
    rc = rc ? rc : metric(&b, "lingua_store_used_bytes", "gauge",
                          "Bytes of the LMDB map in use.", st.used_size);
    rc = rc ? rc : metric(&b, "lingua_store_commits_total", "counter",
                          "Write transactions committed since start.",
                          st.commits);
    rc = rc ? rc : metric(&b, "lingua_store_upserts_total", "counter",
                          "Changes written since start.", st.upserts);
    rc = rc ? rc : metric(&b, "lingua_store_unchanged_total", "counter",
                          "Upserts skipped as unchanged since start.",
                          st.unchanged);
    rc = rc ? rc : metric(&b, "lingua_bus_published_total", "counter",
                          "Events handed to the PUB socket.", bs.published);
    rc = rc ? rc : metric(&b, "lingua_bus_dropped_total", "counter",
                          "Events dropped before PUB (queue full); "
                          "subscribers replay them.",
                          bs.dropped);
    rc = rc ? rc : metric(&b, "lingua_bus_requests_total", "counter",
                          "Requests received on the ROUTER socket.",
                          bs.requests);
    rc = rc ? rc : metric(&b, "lingua_bus_malformed_total", "counter",
                          "ROUTER requests refused as malformed.",
                          bs.malformed);
    /* Per outbound adapter instance: how far behind the log it is. */
    static const char *const families[][3] = {
        {"lingua_delivery_cursor", "gauge",
         "Last event handled by the outbound adapter instance."},
        {"lingua_delivery_lag", "gauge",
         "Events committed but not yet handled by the instance."},
        {"lingua_delivery_delivered_total", "counter",
         "Calls the target accepted since start."},
        {"lingua_delivery_skipped_total", "counter",
         "Events not sent since start: not subscribed, from the target's "
         "own system (echo suppression), or nothing to send."},
        {"lingua_delivery_refused_total", "counter",
         "Events sent to the dead-letter list since start."},
        {"lingua_delivery_retries_total", "counter",
         "Attempts retried since start."},
        {"lingua_delivery_failing", "gauge",
         "1 while the instance is retrying an event."},
        {"lingua_delivery_in_flight", "gauge",
         "Calls of the instance in flight now."},
        {"lingua_delivery_max_lag", "gauge",
         "The instance's lag limit (max_lag), in events."},
        {"lingua_delivery_lagging", "gauge",
         "1 while the instance's lag is over its max_lag."}};
    for (size_t f = 0; rc == 0 && f < sizeof(families) / sizeof(families[0]);
         f++) {
        rc = lx_buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", families[f][0],
                           families[f][2], families[f][0], families[f][1]);
        for (size_t i = 0; rc == 0 && i < hub->adapter_count; i++) {
            lx_delivery *d = hub->adapters[i].delivery;
            if (!d)
                continue;
            lx_delivery_stats ds;
            lx_delivery_stats_get(d, &ds);
            uint64_t v[] = {ds.cursor,         ds.lag,
                            ds.delivered,      ds.skipped,
                            ds.refused,
                            ds.retries,        ds.failing ? 1u : 0u,
                            ds.in_flight,      ds.max_lag,
                            ds.lagging ? 1u : 0u};
            rc = lx_buf_printf(&b, "%s{instance=\"%s\"} %llu\n",
                               families[f][0], hub->adapters[i].name,
                               (unsigned long long)v[f]);
        }
    }
    LX_ASSERT(rc == 0);
    lx_http_response_set(resp, 200, "text/plain; version=0.0.4", b.data,
                         b.len);
    lx_buf_fini(&b);
}

static void route(lx_hub *hub, const lx_http_request *req,
                  lx_http_response *resp);

void lx_hub_http_handle(void *ctx, const lx_http_request *req,
                        lx_http_response *resp)
{
    lx_hub *hub = ctx;
    pthread_rwlock_rdlock(&hub->lock);
    if (hub->closing)
        json_error(resp, 503, "LX_ECLOSED", "the hub is shutting down");
    else
        route(hub, req, resp);
    pthread_rwlock_unlock(&hub->lock);
}

/* Once the configuration sets an API token, every request that can
 * write (anything but GET and HEAD) carries "Authorization: Bearer <token>",
 * except webhooks that check their own signature. */
static bool authorized(lx_hub *hub, const lx_http_request *req)
{
    const char *token = hub->cfg->api_token;
    const char *m = lx_http_method(req);
    if (!token || strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
        return true;
    const char *path = lx_http_path(req);
    for (size_t i = 0; i < hub->adapter_count; i++)
        if (hub->adapters[i].secret &&
            strcmp(path, hub->adapters[i].base) == 0)
            return true;
    const char *h = lx_http_header(req, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    size_t n = strlen(token);
    return strlen(h) == n && lx_equal_ct(h, token, n);
}

static void route(lx_hub *hub, const lx_http_request *req,
                  lx_http_response *resp)
{
    const char *path = lx_http_path(req);
    if (!authorized(hub, req)) {
        json_error(resp, 401, "LX_EINVAL",
                   "this request writes: it needs Authorization: Bearer "
                   "<the API token>");
        lx_http_response_header(resp, "WWW-Authenticate",
                                "Bearer realm=\"lingua\"");
        return;
    }
    bool get = strcmp(lx_http_method(req), "GET") == 0;
    if (strcmp(path, "/health") == 0 || strcmp(path, "/metrics") == 0) {
        if (!get) {
            json_error(resp, 405, "LX_EINVAL", "use GET");
            lx_http_response_header(resp, "Allow", "GET");
        } else if (path[1] == 'h') {
            health(hub, resp);
        } else {
            metrics(hub, resp);
        }
        return;
    }
    if (lx_hub_adapters_http(hub, req, resp))
        return;
    json_error(resp, 404, "LX_ENOTFOUND", "no such endpoint");
}
