/* conformance/bus_hub.c: see bus_hub.h. The answers follow docs/bus.md
 * member for member, so an adapter certified here talks to the real hub
 * unchanged. */
#include "canonical/bus_serve.h"
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

typedef struct pending {
    lx_bus *bus;
    lx_bus_request *req;
} pending;

static void ingest_done(void *ctx, const lx_upsert_result *res)
{
    pending *p = ctx;
    if (res->code != 0)
        lx_bus_serve_error(p->bus, p->req, &res->err);
    else
        lx_bus_serve_json(p->bus, p->req, "OK", lx_ingest_result_json(res), true);
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
    lx_bus_serve_error(h->bus, req, &err);
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
        lx_bus_serve_error(h->bus, req, &err);
    } else if (lx_json_parse(text, len, "request body", LX_JSON_MAX_DEFAULT,
                             &body, &err) != 0) {
        lx_bus_serve_error(h->bus, req, &err);
    } else if (!json_is_object(body)) {
        lx_error_set(&err, LX_EINVAL, "the request body must be a JSON object");
        lx_bus_serve_error(h->bus, req, &err);
    } else if (strcmp(cmd, "INGEST") == 0) {
        serve_ingest(h, req, body);
    } else if (strcmp(cmd, "GET") == 0) {
        lx_bus_serve_get(h->bus, req, h->store, body);
    } else if (strcmp(cmd, "REPLAY") == 0) {
        if (lx_bus_serve_replay(h->bus, req, h->store, body) == 0) {
            h->replays++;
            pthread_cond_broadcast(&h->cv);
        }
    } else if (strcmp(cmd, "STATUS") == 0) {
        lx_bus_serve_json(h->bus, req, "OK",
                   json_pack("{s:I}", "last_seq",
                             (json_int_t)lx_store_last_seq(h->store)),
                   true);
    } else {
        lx_error_set(&err, LX_EUNSUPPORTED,
                     "unknown command (known: INGEST, GET, REPLAY, STATUS)");
        lx_bus_serve_error(h->bus, req, &err);
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
