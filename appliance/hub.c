/* appliance/hub.c: see hub.h. */
#include "appliance/hub_int.h"
#include "canonical/bus_serve.h"
#include "canonical/ingest.h"
#include "canonical/registry.h"
#include "canonical/store.h"
#include "core/bus.h"
#include "core/id.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"

#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

/* ---- INGEST ---- */

typedef struct pending_ingest {
    lx_hub *hub;
    lx_bus_request *req;
} pending_ingest;

/* Writer thread, after the durable commit: answer the client. */
static void ingest_done(void *ctx, const lx_upsert_result *res)
{
    pending_ingest *p = ctx;
    if (res->code != 0) {
        lx_log_warn(res->trace[0] ? res->trace : NULL, "ingest failed: %s",
                    res->err.msg);
        lx_bus_serve_error(p->hub->bus, p->req, &res->err);
    } else {
        lx_bus_serve_json(p->hub->bus, p->req, "OK", lx_ingest_result_json(res),
                   true);
    }
    free(p);
}

static void serve_ingest(lx_hub *hub, lx_bus_request *req, const json_t *body)
{
    lx_upsert u;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_ingest_parse(body, &u, &err);
    char note[256];
    size_t blen = 0;
    lx_bus_request_body(req, &blen);
    /* The peer's name is the configuration's (a JSON object key, checked
     * by the config loader), but a name is text: quote it through jansson
     * rather than trust it. */
    const char *peer = lx_bus_request_peer(req);
    json_t *pj = peer ? json_string(peer) : NULL;
    char *quoted = pj ? json_dumps(pj, JSON_ENCODE_ANY) : NULL;
    json_decref(pj);
    snprintf(note, sizeof(note),
             "{\"transport\":\"bus\",\"bytes\":%zu%s%s}", blen,
             quoted ? ",\"client\":" : "", quoted ? quoted : "");
    free(quoted);
    u.note = note;
    if (rc == 0) {
        pending_ingest *p = lx_xmalloc(sizeof(*p));
        p->hub = hub;
        p->req = req;
        rc = lx_ingest_submit(hub->store, hub->registry, &u, ingest_done, p,
                              &err);
        if (rc == 0)
            return;
        free(p);
    }
    lx_log_info(u.trace, "ingest refused: %s", err.msg);
    lx_bus_serve_error(hub->bus, req, &err);
}

/* ---- bus security ---- */

/* The hub's CURVE keypair and the peers the configuration admits (names
 * and keys borrowed from cfg; *peers is the caller's to free). A plain
 * bus: *n = 0. */
static int bus_security(const lx_config *cfg, lx_bus_keypair *key,
                        lx_bus_peer **peers, size_t *n, lx_error *err)
{
    *peers = NULL;
    *n = 0;
    memset(key, 0, sizeof(*key));
    if (!cfg->bus_key_file)
        return 0;
    lx_error kerr;
    lx_error_clear(&kerr);
    int rc = lx_bus_key_read(cfg->bus_key_file, false, key, &kerr);
    if (rc != 0)
        return lx_error_set(err, rc, "bus.curve.key_file: %s", kerr.msg);
    *peers = lx_xcalloc(json_object_size(cfg->bus_clients) + 1,
                        sizeof(lx_bus_peer));
    const char *name;
    json_t *v;
    json_object_foreach(cfg->bus_clients, name, v) {
        (*peers)[*n].name = name;
        (*peers)[(*n)++].public_key = json_string_value(v);
    }
    return 0;
}

/* ---- STATUS ---- */

static void serve_status(lx_hub *hub, lx_bus_request *req)
{
    lx_error err;
    lx_store_stats st;
    if (lx_store_stats_get(hub->store, &st, &err) != 0) {
        lx_bus_serve_error(hub->bus, req, &err);
        return;
    }
    lx_bus_stats bs;
    lx_bus_stats_get(hub->bus, &bs);
    json_t *o = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "last_seq",
        (json_int_t)st.last_seq, "records", (json_int_t)st.records, "events",
        (json_int_t)st.events, "map_size", (json_int_t)st.map_size,
        "used_size", (json_int_t)st.used_size, "commits",
        (json_int_t)st.commits, "published", (json_int_t)bs.published,
        "dropped", (json_int_t)bs.dropped, "requests",
        (json_int_t)bs.requests, "refused", (json_int_t)bs.refused);
    lx_bus_serve_json(hub->bus, req, "OK", o, true);
}

/* Bus thread: one request. Only reads and queueing happen here, so the
 * bus never waits for a disk. */
static void serve_request(lx_hub *hub, lx_bus_request *req);

static void on_request(void *ctx, lx_bus *bus, lx_bus_request *req)
{
    lx_hub *hub = ctx;
    (void)bus;
    pthread_rwlock_rdlock(&hub->lock);
    if (hub->closing) {
        lx_error err;
        lx_error_clear(&err);
        lx_error_set(&err, LX_ECLOSED, "the hub is shutting down; retry");
        lx_bus_serve_error(hub->bus, req, &err);
    } else {
        serve_request(hub, req);
    }
    pthread_rwlock_unlock(&hub->lock);
}

static void serve_request(lx_hub *hub, lx_bus_request *req)
{
    size_t len;
    const char *text = lx_bus_request_body(req, &len);
    const char *cmd = lx_bus_request_command(req);
    json_t *body = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (lx_json_parse(text, len, "request body", hub->cfg->max_payload, &body,
                      &err) != 0) {
        lx_bus_serve_error(hub->bus, req, &err);
        return;
    }
    if (!json_is_object(body)) {
        lx_error_set(&err, LX_EINVAL, "the request body must be a JSON object");
        lx_bus_serve_error(hub->bus, req, &err);
    } else if (strcmp(cmd, "INGEST") == 0) {
        serve_ingest(hub, req, body);
    } else if (strcmp(cmd, "GET") == 0) {
        lx_bus_serve_get(hub->bus, req, hub->store, body);
    } else if (strcmp(cmd, "REPLAY") == 0) {
        (void)lx_bus_serve_replay(hub->bus, req, hub->store, body);
    } else if (strcmp(cmd, "STATUS") == 0) {
        serve_status(hub, req);
    } else {
        lx_error_set(&err, LX_EUNSUPPORTED,
                     "unknown command (known: INGEST, GET, REPLAY, STATUS)");
        lx_bus_serve_error(hub->bus, req, &err);
    }
    json_decref(body);
}

/* Writer thread: a committed event goes out on PUB (dropped when the bus
 * queue is full; subscribers replay). */
static void on_event(void *ctx, uint64_t seq, const char *topic,
                     const char *event, size_t len)
{
    lx_hub *hub = ctx;
    (void)seq;
    if (hub->bus)
        lx_bus_publish(hub->bus, topic, event, len);
    lx_hub_adapters_notify(hub);
}

int lx_hub_open(const lx_config *cfg, lx_hub **out, lx_error *err)
{
    *out = NULL;
    if (!cfg->schemas_dir) {
        lx_error_set(err, LX_ECONFIG, "/schemas: the configuration names no "
                                      "canonical schema directory");
        return lx_error_at(err, cfg->path, 0, 0);
    }
    lx_hub *hub = lx_xcalloc(1, sizeof(*hub));
    hub->cfg = cfg;
    pthread_rwlock_init(&hub->lock, NULL);
    int rc = lx_registry_load(cfg->schemas_dir, &hub->registry, err);
    if (rc != 0) {
        lx_hub_close(&hub);
        return rc;
    }
    lx_store_options so = {.dir = cfg->data_dir,
                           .map_size = cfg->map_size,
                           .max_map_size = cfg->max_map_size,
                           .no_sync = !cfg->sync,
                           .durability = cfg->durability_lmdb
                                             ? LX_STORE_DURABILITY_LMDB
                                             : LX_STORE_DURABILITY_WAL,
                           .max_batch = cfg->max_batch,
                           .traces = cfg->trace_retention_hours > 0};
    rc = lx_store_open(&so, &hub->store, err);
    if (rc != 0) {
        lx_hub_close(&hub);
        return rc;
    }
    lx_store_set_event_hook(hub->store, on_event, hub);
    /* Adapters before the bus: events can only start flowing once the
     * deliveries they wake are all in place. */
    rc = lx_hub_adapters_start(hub, err);
    if (rc != 0) {
        lx_hub_close(&hub);
        return rc;
    }
    lx_bus_options bo = {.pub_endpoint = cfg->bus_pub,
                         .router_endpoint = cfg->bus_router,
                         .max_request = cfg->max_payload};
    lx_bus_keypair key;
    lx_bus_peer *peers = NULL;
    rc = bus_security(cfg, &key, &peers, &bo.peers_n, err);
    if (rc == 0) {
        bo.server_key = cfg->bus_key_file ? &key : NULL;
        bo.peers = peers;
        rc = lx_bus_open(&bo, on_request, hub, &hub->bus, err);
    }
    memset(&key, 0, sizeof(key));
    free(peers);
    if (rc != 0) {
        lx_hub_close(&hub);
        return rc;
    }
    if (!cfg->bus_key_file && strncmp(cfg->bus_pub, "tcp://127.", 10) != 0 &&
        strncmp(cfg->bus_pub, "tcp://localhost:", 16) != 0 &&
        strncmp(cfg->bus_pub, "tcp://", 6) == 0)
        lx_log_warn(NULL,
                    "hub: events are published unencrypted on %s, beyond "
                    "loopback: set bus.curve (docs/bus.md) to encrypt them "
                    "and admit only known subscribers",
                    cfg->bus_pub);
    if (json_object_get(cfg->root, "http") || lx_hub_adapters_need_http(cfg)) {
        lx_http_server_options ho = {.listen = cfg->http_listen,
                                     .max_body = cfg->max_payload};
        rc = lx_http_server_start(&ho, lx_hub_http_handle, hub, &hub->http,
                                  err);
        if (rc != 0) {
            lx_hub_close(&hub);
            return rc;
        }
        lx_log_info(NULL, "hub: HTTP on %s", cfg->http_listen);
    }
    lx_log_info(NULL, "hub: store %s, last event %llu, PUB %s, ROUTER %s",
                cfg->data_dir,
                (unsigned long long)lx_store_last_seq(hub->store),
                cfg->bus_pub, cfg->bus_router);
    *out = hub;
    return 0;
}

/* Once a second: PUB drops silently, and a subscriber only notices a
 * dropped event when a later one arrives. The heartbeat carries the last
 * sequence, so a subscriber also notices a lost tail (docs/bus.md). */
static void heartbeat(lx_hub *hub)
{
    char body[128], when[LX_TIME_SIZE];
    lx_time_format(lx_now_ms(), when);
    int n = snprintf(body, sizeof(body), "{\"last_seq\":%llu,\"time\":\"%s\"}",
                     (unsigned long long)lx_store_last_seq(hub->store), when);
    lx_bus_publish(hub->bus, LX_HUB_HEARTBEAT_TOPIC, body, (size_t)n);
}

/* Retention: message traces older than trace.retention_hours go, a
 * bounded number per pass so the writer is never held for long. */
static void expire_traces(lx_hub *hub)
{
    unsigned hours = hub->cfg->trace_retention_hours;
    if (hours == 0)
        return;
    uint64_t now = lx_now_ms(), keep = (uint64_t)hours * 3600u * 1000u;
    size_t removed = 0;
    lx_error err;
    lx_error_clear(&err);
    if (now > keep &&
        lx_store_trace_expire(hub->store, now - keep, 5000, &removed, &err) !=
            0)
        lx_log_warn(NULL, "trace retention: %s", err.msg);
    else if (removed)
        lx_log_debug(NULL, "trace retention: %zu steps removed", removed);
}

int lx_hub_run(lx_hub *hub, volatile sig_atomic_t *flag, int wake_fd)
{
    uint64_t next_beat = 0, next_expiry = 0;
    while (!*flag) {
        uint64_t now = lx_mono_ms();
        if (now >= next_beat) {
            heartbeat(hub);
            next_beat = now + 1000;
        }
        if (now >= next_expiry) {
            expire_traces(hub);
            next_expiry = now + 60000;
        }
        struct pollfd p = {wake_fd, POLLIN, 0};
        int n = poll(&p, wake_fd >= 0 ? 1 : 0, 1000);
        if (n > 0 && (p.revents & POLLIN)) {
            char buf[64];
            ssize_t r = read(wake_fd, buf, sizeof(buf));
            (void)r;
        }
    }
    return 0;
}

static bool differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

int lx_hub_reload(lx_hub *hub, const lx_config *cfg, lx_error *err)
{
    if (!cfg->schemas_dir) {
        lx_error_set(err, LX_ECONFIG, "/schemas: the configuration names no "
                                      "canonical schema directory");
        return lx_error_at(err, cfg->path, 0, 0);
    }
    lx_registry *reg = NULL;
    int rc = lx_registry_load(cfg->schemas_dir, &reg, err);
    if (rc != 0)
        return rc;
    const lx_config *old = hub->cfg;
    const char *restart[5];
    size_t n = 0;
    if (!json_equal(old->adapters, cfg->adapters) ||
        !json_equal(old->systems, cfg->systems))
        restart[n++] = "adapters";
    if (differs(old->data_dir, cfg->data_dir))
        restart[n++] = "data_dir";
    if (differs(old->bus_pub, cfg->bus_pub) ||
        differs(old->bus_router, cfg->bus_router) ||
        differs(old->bus_key_file, cfg->bus_key_file))
        restart[n++] = "bus";
    else if (cfg->bus_key_file &&
             !json_equal(old->bus_clients, cfg->bus_clients)) {
        /* Admitting or removing a client needs no restart. */
        lx_bus_keypair key;
        lx_bus_peer *peers = NULL;
        size_t np = 0;
        lx_error perr;
        lx_error_clear(&perr);
        int prc = bus_security(cfg, &key, &peers, &np, &perr);
        memset(&key, 0, sizeof(key));
        if (prc == 0)
            prc = lx_bus_set_peers(hub->bus, peers, np, &perr);
        free(peers);
        if (prc == 0)
            lx_log_info(NULL, "reload: the bus now admits %zu client(s)", np);
        else
            lx_log_error(NULL, "reload: bus clients unchanged: %s", perr.msg);
    }
    if (old->sync != cfg->sync || old->map_size != cfg->map_size ||
        old->max_map_size != cfg->max_map_size ||
        old->max_batch != cfg->max_batch)
        restart[n++] = "store";
    for (size_t i = 0; i < n; i++)
        lx_log_warn(NULL, "reload: '%s' changed; it takes effect at the next "
                          "restart",
                    restart[i]);
    pthread_rwlock_wrlock(&hub->lock);
    lx_registry *old_reg = hub->registry;
    hub->registry = reg;
    hub->cfg = cfg;
    for (size_t i = 0; i < hub->adapter_count; i++)
        hub->adapters[i].rest.registry = reg;
    pthread_rwlock_unlock(&hub->lock);
    lx_registry_destroy(&old_reg);
    lx_log_set_level(cfg->log_level);
    lx_log_set_format(cfg->log_format);
    lx_log_info(NULL, "reload: configuration %s applied", cfg->path);
    return 0;
}

void lx_hub_close(lx_hub **hp)
{
    lx_hub *hub = *hp;
    if (!hub)
        return;
    *hp = NULL;
    /* Refuse new requests, let the store finish what is queued (its
     * completions still reach their clients through the open bus), then
     * close the bus, which sends what is left. */
    lx_http_server_stop(&hub->http);
    pthread_rwlock_wrlock(&hub->lock);
    hub->closing = true;
    pthread_rwlock_unlock(&hub->lock);
    /* No new change can arrive now; once those in flight are completed no
     * event will wake a delivery, and the deliveries can stop. */
    if (hub->store)
        lx_store_flush(hub->store);
    lx_hub_adapters_stop(hub);
    lx_store_close(&hub->store);
    lx_bus_close(&hub->bus);
    lx_registry_destroy(&hub->registry);
    pthread_rwlock_destroy(&hub->lock);
    free(hub);
}
