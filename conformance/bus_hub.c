/* conformance/bus_hub.c: see bus_hub.h. The answers follow docs/bus.md
 * member for member, so an adapter certified here talks to the real hub
 * unchanged. */
#include "canonical/ingest.h"
#include "conformance/bus_hub.h"
#include "conformance/target.h"
#include "core/bus.h"
#include "core/json.h"
#include "core/mem.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#define REPLAY_DEFAULT 1000
#define REPLAY_MAX 10000

struct lx_conform_bushub {
    lx_bus *bus;
    char pub[600], router[600];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    lx_store *store; /* the case in progress, or NULL */
    const lx_registry *reg;
    unsigned replays;
    pthread_t beat;
    bool stop;
};

static void reply_json(lx_bus *bus, lx_bus_request *req, const char *status,
                       json_t *body, bool last)
{
    char *txt = json_dumps(body, JSON_COMPACT);
    LX_ASSERT(txt);
    lx_bus_reply(bus, req, status, txt, strlen(txt), last);
    free(txt);
    json_decref(body);
}

static void reply_error(lx_bus *bus, lx_bus_request *req, const lx_error *err)
{
    reply_json(bus, req, "ERR", lx_json_from_error(err), true);
}

typedef struct pending {
    lx_bus *bus;
    lx_bus_request *req;
} pending;

static void ingest_done(void *ctx, const lx_upsert_result *res)
{
    pending *p = ctx;
    if (res->code != 0)
        reply_error(p->bus, p->req, &res->err);
    else
        reply_json(p->bus, p->req, "OK", lx_ingest_result_json(res), true);
    free(p);
}

static void serve_ingest(lx_conform_bushub *h, lx_bus_request *req,
                         const json_t *body)
{
    lx_upsert u;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_ingest_parse(body, &u, &err);
    if (rc == 0) {
        u.note = "{\"transport\":\"bus\"}";
        pending *p = lx_xmalloc(sizeof(*p));
        *p = (pending){h->bus, req};
        rc = lx_ingest_submit(h->store, h->reg, &u, ingest_done, p, &err);
        if (rc == 0)
            return;
        free(p);
    }
    reply_error(h->bus, req, &err);
}

static void serve_get(lx_conform_bushub *h, lx_bus_request *req,
                      const json_t *body)
{
    lx_error err;
    lx_error_clear(&err);
    char entity[LX_STORE_NAME_MAX + 1] = "", id[LX_STORE_ID_SIZE] = "";
    const char *e = lx_json_str(body, "entity"), *i = lx_json_str(body, "id");
    const char *sys = lx_json_str(body, "system");
    const char *nid = lx_json_str(body, "native_id");
    const char *nt = lx_json_str(body, "native_type");
    int rc = 0;
    if (e && i) {
        snprintf(entity, sizeof(entity), "%s", e);
        snprintf(id, sizeof(id), "%s", i);
    } else if (sys && nid) {
        rc = lx_store_xref_find(h->store, sys, nt ? nt : (e ? e : ""), nid,
                                entity, id, &err);
    } else {
        rc = lx_error_set(&err, LX_EINVAL,
                          "GET needs entity and id, or system, native_type "
                          "and native_id");
    }
    json_t *rec = NULL;
    lx_record_meta meta;
    if (rc == 0)
        rc = lx_store_get(h->store, entity, id, &rec, &meta, &err);
    if (rc != 0) {
        reply_error(h->bus, req, &err);
        return;
    }
    reply_json(h->bus, req, "OK",
               json_pack("{s:s,s:s,s:I,s:b,s:I,s:o}", "entity", entity, "id",
                         id, "version", (json_int_t)meta.version, "deleted",
                         meta.deleted, "seq", (json_int_t)meta.seq, "record",
                         rec),
               true);
}

typedef struct replay_ctx {
    lx_bus *bus;
    lx_bus_request *req;
} replay_ctx;

static int replay_one(void *ctx, uint64_t seq, const char *event, size_t len)
{
    (void)seq;
    replay_ctx *r = ctx;
    lx_bus_reply(r->bus, r->req, "EVENT", event, len, false);
    return 0;
}

static void serve_replay(lx_conform_bushub *h, lx_bus_request *req,
                         const json_t *body)
{
    lx_error err;
    lx_error_clear(&err);
    json_t *from = json_object_get(body, "from");
    json_t *limit = json_object_get(body, "limit");
    if (!json_is_integer(from) || json_integer_value(from) < 0 ||
        (limit && (!json_is_integer(limit) || json_integer_value(limit) < 1))) {
        lx_error_set(&err, LX_EINVAL, "REPLAY needs \"from\" (an integer >= 0) "
                                      "and an optional \"limit\" >= 1");
        reply_error(h->bus, req, &err);
        return;
    }
    size_t n = limit ? (size_t)json_integer_value(limit) : REPLAY_DEFAULT;
    if (n > REPLAY_MAX)
        n = REPLAY_MAX;
    uint64_t start = (uint64_t)json_integer_value(from);
    if (start == 0)
        start = 1;
    replay_ctx rc = {h->bus, req};
    uint64_t next = start;
    if (lx_store_events(h->store, start, n, replay_one, &rc, &next, &err) !=
        0) {
        reply_error(h->bus, req, &err);
        return;
    }
    reply_json(h->bus, req, "END",
               json_pack("{s:I,s:I}", "next", (json_int_t)next, "last_seq",
                         (json_int_t)lx_store_last_seq(h->store)),
               true);
    h->replays++;
    pthread_cond_broadcast(&h->cv);
}

static void on_request(void *ctx, lx_bus *bus, lx_bus_request *req)
{
    lx_conform_bushub *h = ctx;
    (void)bus;
    size_t len;
    const char *text = lx_bus_request_body(req, &len);
    const char *cmd = lx_bus_request_command(req);
    json_t *body = NULL;
    lx_error err;
    lx_error_clear(&err);
    pthread_mutex_lock(&h->mu);
    if (!h->store) {
        lx_error_set(&err, LX_ECLOSED, "no case is running; retry");
        reply_error(h->bus, req, &err);
    } else if (lx_json_parse(text, len, "request body", LX_JSON_MAX_DEFAULT,
                             &body, &err) != 0) {
        reply_error(h->bus, req, &err);
    } else if (!json_is_object(body)) {
        lx_error_set(&err, LX_EINVAL, "the request body must be a JSON object");
        reply_error(h->bus, req, &err);
    } else if (strcmp(cmd, "INGEST") == 0) {
        serve_ingest(h, req, body);
    } else if (strcmp(cmd, "GET") == 0) {
        serve_get(h, req, body);
    } else if (strcmp(cmd, "REPLAY") == 0) {
        serve_replay(h, req, body);
    } else if (strcmp(cmd, "STATUS") == 0) {
        reply_json(h->bus, req, "OK",
                   json_pack("{s:I}", "last_seq",
                             (json_int_t)lx_store_last_seq(h->store)),
                   true);
    } else {
        lx_error_set(&err, LX_EUNSUPPORTED,
                     "unknown command (known: INGEST, GET, REPLAY, STATUS)");
        reply_error(h->bus, req, &err);
    }
    pthread_mutex_unlock(&h->mu);
    json_decref(body);
}

static void on_event(void *ctx, uint64_t seq, const char *topic,
                     const char *event, size_t len)
{
    (void)seq;
    lx_conform_bushub *h = ctx;
    (void)lx_bus_publish(h->bus, topic, event, len);
}

/* docs/bus.md "Heartbeat": a lost tail becomes visible to the adapter. */
static void *heartbeat(void *arg)
{
    lx_conform_bushub *h = arg;
    pthread_mutex_lock(&h->mu);
    while (!h->stop) {
        struct timespec until;
        lx_conform_deadline(&until, 200);
        pthread_cond_timedwait(&h->cv, &h->mu, &until);
        if (h->store && !h->stop) {
            char beat[64];
            int n = snprintf(beat, sizeof(beat), "{\"last_seq\":%llu}",
                             (unsigned long long)lx_store_last_seq(h->store));
            (void)lx_bus_publish(h->bus, "_hub.heartbeat", beat, (size_t)n);
        }
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int lx_conform_bushub_open(const char *dir, lx_conform_bushub **out,
                           lx_error *err)
{
    *out = NULL;
    lx_conform_bushub *h = lx_xcalloc(1, sizeof(*h));
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    snprintf(h->pub, sizeof(h->pub), "ipc://%s/pub", dir);
    snprintf(h->router, sizeof(h->router), "ipc://%s/router", dir);
    lx_bus_options o = {.pub_endpoint = h->pub, .router_endpoint = h->router};
    int rc = lx_bus_open(&o, on_request, h, &h->bus, err);
    if (rc == 0 && pthread_create(&h->beat, NULL, heartbeat, h) != 0) {
        lx_bus_close(&h->bus);
        rc = lx_error_set(err, LX_EIO, "cannot start the heartbeat thread");
    }
    if (rc != 0) {
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->mu);
        free(h);
        return rc;
    }
    *out = h;
    return 0;
}

void lx_conform_bushub_close(lx_conform_bushub **hp)
{
    lx_conform_bushub *h = *hp;
    if (!h)
        return;
    *hp = NULL;
    pthread_mutex_lock(&h->mu);
    h->stop = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->beat, NULL);
    lx_bus_close(&h->bus);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

const char *lx_conform_bushub_pub(const lx_conform_bushub *h)
{
    return h->pub;
}

const char *lx_conform_bushub_router(const lx_conform_bushub *h)
{
    return h->router;
}

void lx_conform_bushub_attach(lx_conform_bushub *h, lx_store *store,
                              const lx_registry *reg)
{
    lx_store_set_event_hook(store, on_event, h);
    pthread_mutex_lock(&h->mu);
    h->store = store;
    h->reg = reg;
    h->replays = 0;
    pthread_mutex_unlock(&h->mu);
}

void lx_conform_bushub_detach(lx_conform_bushub *h)
{
    pthread_mutex_lock(&h->mu);
    h->store = NULL;
    h->reg = NULL;
    pthread_mutex_unlock(&h->mu);
}

bool lx_conform_bushub_wait_replays(lx_conform_bushub *h, unsigned n,
                                    unsigned timeout_ms)
{
    struct timespec until;
    lx_conform_deadline(&until, timeout_ms);
    pthread_mutex_lock(&h->mu);
    int rc = 0;
    while (h->replays < n && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&h->cv, &h->mu, &until);
    bool ok = h->replays >= n;
    pthread_mutex_unlock(&h->mu);
    return ok;
}

unsigned lx_conform_bushub_replays(lx_conform_bushub *h)
{
    pthread_mutex_lock(&h->mu);
    unsigned n = h->replays;
    pthread_mutex_unlock(&h->mu);
    return n;
}
