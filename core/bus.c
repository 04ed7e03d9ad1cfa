/* core/bus.c: see bus.h. With bus_key.c, the only files that include
 * zmq.h. */
#include "core/bus.h"
#include "core/id.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#define CMD_MAX 32
#define RID_MAX 64
#define ID_MAX 256
#define RECV_BURST 256
#define PEER_MAX 64 /* longest peer name kept on a request */
/* ZeroMQ asks the handler bound here, in the socket's context, whether a
 * CURVE client may connect (ZAP, RFC 27). */
#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define OPERATOR_PEER "operator"

struct lx_bus_request {
    uint8_t identity[ID_MAX];
    size_t identity_len;
    bool has_delimiter; /* REQ clients put an empty frame first */
    char command[CMD_MAX];
    char rid[RID_MAX];
    char peer[PEER_MAX];
    char *body;
    size_t body_len;
};

typedef struct outmsg {
    struct outmsg *next;
    lx_bus_request *req; /* NULL for a publish */
    bool last;
    char *a; /* topic or status */
    char *b; /* payload or body */
    size_t blen;
} outmsg;

/* Refusals are logged once per key and minute: a client with a wrong key
 * reconnects every 100 ms. */
#define REFUSAL_MEMORY 16
typedef struct refusal {
    char key[LX_BUS_KEY_LEN + 1];
    uint64_t logged_ms;
} refusal;

struct lx_bus {
    void *zctx, *pub, *router;
    void *zap; /* ZAP handler (REP), only on a secured bus */
    char server_public[LX_BUS_KEY_LEN + 1];
    pthread_mutex_t peers_mu; /* the peers: set by reloads, read by ZAP */
    char **peer_names, **peer_keys; /* owned copies; [0] is the operator */
    size_t peers_n;
    refusal refusals[REFUSAL_MEMORY];
    unsigned refusal_next;
    int wake_fd;
    pthread_t thread;
    bool started;
    atomic_bool stop;
    lx_bus_request_fn fn;
    void *ctx;
    size_t queue_max, max_request;

    pthread_mutex_t mu;
    outmsg *head, *tail;
    size_t pub_queued;

    _Atomic uint64_t published, dropped, requests, malformed, refused;
};

static int zmq_fail(lx_error *err, const char *what, const char *endpoint)
{
    int e = zmq_errno();
    lx_error_set(err, LX_EIO, "%s %s: %s", what, endpoint, zmq_strerror(e));
    if (err)
        err->lib_code = e;
    return LX_EIO;
}

/* ---- queue ---- */

static void wake(lx_bus *bus)
{
    uint64_t one = 1;
    ssize_t n = write(bus->wake_fd, &one, sizeof(one));
    (void)n; /* a full counter already means "wake up" */
}

static void push(lx_bus *bus, outmsg *m)
{
    pthread_mutex_lock(&bus->mu);
    if (bus->tail)
        bus->tail->next = m;
    else
        bus->head = m;
    bus->tail = m;
    if (!m->req)
        bus->pub_queued++;
    pthread_mutex_unlock(&bus->mu);
    wake(bus);
}

int lx_bus_publish(lx_bus *bus, const char *topic, const char *payload,
                   size_t len)
{
    pthread_mutex_lock(&bus->mu);
    bool full = bus->pub_queued >= bus->queue_max;
    pthread_mutex_unlock(&bus->mu);
    if (full) {
        atomic_fetch_add(&bus->dropped, 1);
        return LX_ELIMIT;
    }
    outmsg *m = lx_xcalloc(1, sizeof(*m));
    m->a = lx_xstrdup(topic);
    m->b = lx_xstrndup(payload, len);
    m->blen = len;
    push(bus, m);
    return 0;
}

void lx_bus_reply(lx_bus *bus, lx_bus_request *req, const char *status,
                  const char *body, size_t len, bool last)
{
    outmsg *m = lx_xcalloc(1, sizeof(*m));
    m->req = req;
    m->last = last;
    m->a = lx_xstrdup(status);
    m->b = lx_xstrndup(body ? body : "{}", body ? len : 2);
    m->blen = body ? len : 2;
    push(bus, m);
}

const char *lx_bus_request_command(const lx_bus_request *req)
{
    return req->command;
}

const char *lx_bus_request_peer(const lx_bus_request *req)
{
    return req->peer[0] ? req->peer : NULL;
}

const char *lx_bus_request_body(const lx_bus_request *req, size_t *len)
{
    if (len)
        *len = req->body_len;
    return req->body;
}

static void request_free(lx_bus_request *req)
{
    if (!req)
        return;
    free(req->body);
    free(req);
}

/* ---- bus thread ---- */

static void send_reply(lx_bus *bus, outmsg *m)
{
    lx_bus_request *r = m->req;
    void *s = bus->router;
    /* Unknown or gone identities are dropped by ROUTER: a client that left
     * simply misses its answer. */
    zmq_send(s, r->identity, r->identity_len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (r->has_delimiter)
        zmq_send(s, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(s, m->a, strlen(m->a), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(s, r->rid, strlen(r->rid), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(s, m->b, m->blen, ZMQ_DONTWAIT);
}

static void drain(lx_bus *bus)
{
    pthread_mutex_lock(&bus->mu);
    outmsg *m = bus->head;
    bus->head = bus->tail = NULL;
    bus->pub_queued = 0;
    pthread_mutex_unlock(&bus->mu);
    while (m) {
        outmsg *next = m->next;
        if (m->req) {
            send_reply(bus, m);
            if (m->last)
                request_free(m->req);
        } else {
            /* PUB never blocks: at the high-water mark it drops. */
            zmq_send(bus->pub, m->a, strlen(m->a), ZMQ_SNDMORE | ZMQ_DONTWAIT);
            zmq_send(bus->pub, m->b, m->blen, ZMQ_DONTWAIT);
            atomic_fetch_add(&bus->published, 1);
        }
        free(m->a);
        free(m->b);
        free(m);
        m = next;
    }
}

static void refuse(lx_bus *bus, lx_bus_request *req, int code,
                   const char *msg)
{
    char body[512];
    json_t *o = json_pack("{s:s,s:s}", "code", lx_error_name(code), "message",
                          msg);
    char *txt = json_dumps(o, JSON_COMPACT);
    snprintf(body, sizeof(body), "%s", txt ? txt : "{}");
    free(txt);
    json_decref(o);
    atomic_fetch_add(&bus->malformed, 1);
    lx_bus_reply(bus, req, "ERR", body, strlen(body), true);
}

/* Read one multipart message without waiting for its first frame: the
 * first `max` frames into f (*n of them; the caller closes them), the rest
 * dropped (*too_many). Returns -1 when nothing was there. */
static int recv_frames(void *sock, zmq_msg_t *f, int max, int *n,
                       bool *too_many)
{
    *n = 0;
    *too_many = false;
    bool more = true;
    while (more) {
        zmq_msg_t tmp;
        zmq_msg_init(&tmp);
        if (zmq_msg_recv(&tmp, sock, *n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&tmp);
            for (int i = 0; i < *n; i++)
                zmq_msg_close(&f[i]);
            return -1;
        }
        more = zmq_msg_more(&tmp);
        if (*n < max) {
            f[(*n)++] = tmp;
        } else {
            *too_many = true;
            zmq_msg_close(&tmp);
        }
    }
    return 0;
}

/* Read one multipart request: [identity, ("")?, command, rid, body]. */
static int recv_request(lx_bus *bus)
{
    enum { FRAMES = 6 };
    zmq_msg_t f[FRAMES];
    int n;
    bool too_many;
    if (recv_frames(bus->router, f, FRAMES, &n, &too_many) != 0)
        return -1; /* EAGAIN: nothing more to read */
    atomic_fetch_add(&bus->requests, 1);
    lx_bus_request *req = lx_xcalloc(1, sizeof(*req));
    size_t il = zmq_msg_size(&f[0]);
    if (il > ID_MAX)
        il = ID_MAX;
    memcpy(req->identity, zmq_msg_data(&f[0]), il);
    req->identity_len = il;
    if (bus->zap) {
        /* The name our ZAP handler gave the connection (on the frames
         * that came over the wire, not the ROUTER's identity frame). */
        const char *uid = zmq_msg_gets(&f[n - 1], "User-Id");
        if (uid)
            snprintf(req->peer, sizeof(req->peer), "%s", uid);
    }
    /* A REQ client's messages carry an empty delimiter after the identity:
     * [identity, "", command, rid, body]. A DEALER's do not, and an empty
     * first frame from a DEALER is an empty command, not a delimiter. */
    int first = 1;
    if (n == 5 && zmq_msg_size(&f[1]) == 0) {
        req->has_delimiter = true;
        first = 2;
    }
    int parts = n - first;
    const char *why = NULL;
    int code = LX_EINVAL;
    if (too_many || parts != 3)
        why = "a request is 3 frames: command, request id, body";
    else if (zmq_msg_size(&f[first]) == 0 ||
             zmq_msg_size(&f[first]) >= CMD_MAX)
        why = "the command frame must be 1 to 31 bytes";
    else if (zmq_msg_size(&f[first + 1]) >= RID_MAX)
        why = "the request id frame must be at most 63 bytes";
    else if (zmq_msg_size(&f[first + 2]) > bus->max_request) {
        why = "the request body is over the size limit";
        code = LX_ELIMIT;
    }
    if (!why) {
        memcpy(req->command, zmq_msg_data(&f[first]),
               zmq_msg_size(&f[first]));
        memcpy(req->rid, zmq_msg_data(&f[first + 1]),
               zmq_msg_size(&f[first + 1]));
        req->body_len = zmq_msg_size(&f[first + 2]);
        req->body = lx_xstrndup(zmq_msg_data(&f[first + 2]), req->body_len);
    } else if (parts >= 2 && zmq_msg_size(&f[first + 1]) < RID_MAX) {
        /* Echo the request id when there is one, so the client can match
         * even the refusal. */
        memcpy(req->rid, zmq_msg_data(&f[first + 1]),
               zmq_msg_size(&f[first + 1]));
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
    if (why)
        refuse(bus, req, code, why);
    else
        bus->fn(bus->ctx, bus, req);
    return 0;
}

/* ---- CURVE authentication (ZAP) ---- */

static void log_refusal(lx_bus *bus, const char *key, const char *address)
{
    uint64_t now = lx_now_ms();
    for (unsigned i = 0; i < REFUSAL_MEMORY; i++)
        if (strcmp(bus->refusals[i].key, key) == 0) {
            if (now - bus->refusals[i].logged_ms < 60000)
                return;
            bus->refusals[i].logged_ms = now;
            goto log;
        }
    refusal *r = &bus->refusals[bus->refusal_next++ % REFUSAL_MEMORY];
    snprintf(r->key, sizeof(r->key), "%s", key);
    r->logged_ms = now;
log:
    lx_log_warn(NULL,
                "bus: refused a connection from %s: %s (add its public key "
                "to bus.curve.clients to let it in)",
                address, key[0] ? key : "not a CURVE client");
}

static void peers_free(char **names, char **keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
        free(keys[i]);
    }
    free(names);
    free(keys);
}

int lx_bus_set_peers(lx_bus *bus, const lx_bus_peer *peers, size_t n,
                     lx_error *err)
{
    if (!bus->zap)
        return lx_error_set(err, LX_EINVAL,
                            "the bus has no CURVE security: no peers to set");
    for (size_t i = 0; i < n; i++)
        if (!peers[i].name || !lx_bus_key_valid(peers[i].public_key))
            return lx_error_set(err, LX_EINVAL,
                                "the public key of bus peer '%s' is not a "
                                "CURVE key",
                                peers[i].name ? peers[i].name : "?");
    size_t total = n + 1;
    char **names = lx_xcalloc(total, sizeof(char *));
    char **keys = lx_xcalloc(total, sizeof(char *));
    names[0] = lx_xstrdup(OPERATOR_PEER);
    keys[0] = lx_xstrdup(bus->server_public);
    for (size_t i = 0; i < n; i++) {
        names[i + 1] = lx_xstrdup(peers[i].name);
        keys[i + 1] = lx_xstrdup(peers[i].public_key);
    }
    pthread_mutex_lock(&bus->peers_mu);
    char **old_names = bus->peer_names, **old_keys = bus->peer_keys;
    size_t old_n = bus->peers_n;
    bus->peer_names = names;
    bus->peer_keys = keys;
    bus->peers_n = total;
    pthread_mutex_unlock(&bus->peers_mu);
    peers_free(old_names, old_keys, old_n);
    return 0;
}

static void zap_send(void *s, const void *data, size_t len, bool more)
{
    (void)zmq_send(s, data, len, more ? ZMQ_SNDMORE : 0);
}

/* One ZAP request: [version, request id, domain, address, identity,
 * mechanism, credentials...]; answer [version, request id, status code,
 * status text, user id, metadata]. The user id is the peer's name, which
 * every message of that connection then carries ("User-Id"). Returns -1
 * when there was no request. */
static int zap_answer(lx_bus *bus)
{
    enum { FRAMES = 7 };
    zmq_msg_t f[FRAMES];
    int n;
    bool too_many;
    if (recv_frames(bus->zap, f, FRAMES, &n, &too_many) != 0)
        return -1;
    char who[PEER_MAX] = "";
    char key[LX_BUS_KEY_LEN + 1] = "", address[64] = "?";
    if (n >= 4) {
        size_t al = zmq_msg_size(&f[3]);
        if (al >= sizeof(address))
            al = sizeof(address) - 1;
        memcpy(address, zmq_msg_data(&f[3]), al);
        address[al] = '\0';
    }
    if (n == FRAMES && zmq_msg_size(&f[5]) == 5 &&
        memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 &&
        zmq_msg_size(&f[6]) == 32 &&
        zmq_z85_encode(key, zmq_msg_data(&f[6]), 32) != NULL) {
        pthread_mutex_lock(&bus->peers_mu);
        for (size_t i = 0; i < bus->peers_n && !who[0]; i++)
            if (strcmp(bus->peer_keys[i], key) == 0)
                snprintf(who, sizeof(who), "%s", bus->peer_names[i]);
        pthread_mutex_unlock(&bus->peers_mu);
    }
    zap_send(bus->zap, "1.0", 3, true);
    if (n >= 2)
        zap_send(bus->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), true);
    else
        zap_send(bus->zap, "", 0, true);
    if (who[0]) {
        zap_send(bus->zap, "200", 3, true);
        zap_send(bus->zap, "OK", 2, true);
        zap_send(bus->zap, who, strlen(who), true);
    } else {
        atomic_fetch_add(&bus->refused, 1);
        log_refusal(bus, key, address);
        zap_send(bus->zap, "400", 3, true);
        zap_send(bus->zap, "unknown key", 11, true);
        zap_send(bus->zap, "", 0, true);
    }
    zap_send(bus->zap, "", 0, false);
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
    return 0;
}

static void *bus_main(void *arg)
{
    lx_bus *bus = arg;
    while (!atomic_load(&bus->stop)) {
        zmq_pollitem_t items[3] = {{bus->router, 0, ZMQ_POLLIN, 0},
                                   {NULL, bus->wake_fd, ZMQ_POLLIN, 0},
                                   {bus->zap, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, bus->zap ? 3 : 2, 1000);
        if (rc < 0 && zmq_errno() != EINTR)
            break;
        if (items[1].revents & ZMQ_POLLIN) {
            uint64_t v;
            ssize_t r = read(bus->wake_fd, &v, sizeof(v));
            (void)r;
        }
        if (bus->zap && (items[2].revents & ZMQ_POLLIN))
            for (int i = 0; i < RECV_BURST; i++)
                if (zap_answer(bus) != 0)
                    break;
        drain(bus);
        if (items[0].revents & ZMQ_POLLIN) {
            for (int i = 0; i < RECV_BURST; i++)
                if (recv_request(bus) != 0)
                    break;
        }
    }
    drain(bus);
    return NULL;
}

/* ---- open / close ---- */

/* Make both sockets CURVE servers and start answering ZAP. The handler
 * must be bound before the sockets are: a handshake that finds no handler
 * is let through unauthenticated. */
static int secure(lx_bus *bus, const lx_bus_options *opts, lx_error *err)
{
    const lx_bus_keypair *k = opts->server_key;
    if (!zmq_has("curve") || !lx_bus_key_valid(k->secret_key) ||
        !lx_bus_key_valid(k->public_key))
        return lx_error_set(err, LX_EINVAL,
                            zmq_has("curve")
                                ? "the bus's server key is not a CURVE key"
                                : "this libzmq has no CURVE support");
    snprintf(bus->server_public, sizeof(bus->server_public), "%s",
             k->public_key);
    bus->zap = zmq_socket(bus->zctx, ZMQ_REP);
    int rc = lx_bus_set_peers(bus, opts->peers, opts->peers_n, err);
    if (rc)
        return rc;
    int linger = 0;
    zmq_setsockopt(bus->zap, ZMQ_LINGER, &linger, sizeof(linger));
    if (zmq_bind(bus->zap, ZAP_ENDPOINT) != 0)
        return zmq_fail(err, "cannot start bus authentication on",
                        ZAP_ENDPOINT);
    int on = 1;
    void *socks[2] = {bus->pub, bus->router};
    for (int i = 0; i < 2; i++)
        if (zmq_setsockopt(socks[i], ZMQ_CURVE_SERVER, &on, sizeof(on)) ||
            zmq_setsockopt(socks[i], ZMQ_CURVE_SECRETKEY, k->secret_key,
                           LX_BUS_KEY_LEN) ||
            zmq_setsockopt(socks[i], ZMQ_ZAP_DOMAIN, "lingua", 6))
            return zmq_fail(err, "cannot secure the bus", "socket");
    return 0;
}

int lx_bus_open(const lx_bus_options *opts, lx_bus_request_fn fn, void *ctx,
                lx_bus **out, lx_error *err)
{
    *out = NULL;
    LX_ASSERT(opts && opts->pub_endpoint && opts->router_endpoint && fn);
    lx_bus *bus = lx_xcalloc(1, sizeof(*bus));
    bus->fn = fn;
    bus->ctx = ctx;
    bus->queue_max = opts->queue_max ? opts->queue_max : 65536;
    bus->max_request = opts->max_request ? opts->max_request
                                         : LX_JSON_MAX_DEFAULT;
    pthread_mutex_init(&bus->mu, NULL);
    pthread_mutex_init(&bus->peers_mu, NULL);
    bus->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    bus->zctx = zmq_ctx_new();
    int rc = 0;
    if (bus->wake_fd < 0 || !bus->zctx) {
        rc = lx_error_set(err, LX_EIO, "cannot create the bus: %s",
                          strerror(errno));
        goto fail;
    }
    bus->pub = zmq_socket(bus->zctx, ZMQ_PUB);
    bus->router = zmq_socket(bus->zctx, ZMQ_ROUTER);
    int hwm = opts->pub_hwm > 0 ? opts->pub_hwm : 100000;
    int linger = 500, rhwm = 100000;
    zmq_setsockopt(bus->pub, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(bus->pub, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(bus->router, ZMQ_SNDHWM, &rhwm, sizeof(rhwm));
    zmq_setsockopt(bus->router, ZMQ_LINGER, &linger, sizeof(linger));
    if (opts->server_key && (rc = secure(bus, opts, err)) != 0)
        goto fail;
    if (zmq_bind(bus->pub, opts->pub_endpoint) != 0) {
        rc = zmq_fail(err, "cannot bind the PUB socket to",
                      opts->pub_endpoint);
        goto fail;
    }
    if (zmq_bind(bus->router, opts->router_endpoint) != 0) {
        rc = zmq_fail(err, "cannot bind the ROUTER socket to",
                      opts->router_endpoint);
        goto fail;
    }
    if (pthread_create(&bus->thread, NULL, bus_main, bus) != 0) {
        rc = lx_error_set(err, LX_EIO, "cannot start the bus thread");
        goto fail;
    }
    bus->started = true;
    *out = bus;
    return 0;
fail:
    lx_bus_close(&bus);
    return rc;
}

void lx_bus_close(lx_bus **bp)
{
    lx_bus *bus = *bp;
    if (!bus)
        return;
    if (bus->started) {
        atomic_store(&bus->stop, true);
        wake(bus);
        pthread_join(bus->thread, NULL);
    }
    /* Only now: until the thread is joined, its request handler may still
     * reply through the caller's pointer. */
    *bp = NULL;
    /* Replies still queued belong to requests that will never be
     * answered; free them with their requests. */
    outmsg *m = bus->head;
    while (m) {
        outmsg *next = m->next;
        if (m->req && m->last)
            request_free(m->req);
        free(m->a);
        free(m->b);
        free(m);
        m = next;
    }
    if (bus->pub)
        zmq_close(bus->pub);
    if (bus->router)
        zmq_close(bus->router);
    if (bus->zap)
        zmq_close(bus->zap);
    peers_free(bus->peer_names, bus->peer_keys, bus->peers_n);
    pthread_mutex_destroy(&bus->peers_mu);
    if (bus->zctx)
        zmq_ctx_term(bus->zctx);
    if (bus->wake_fd >= 0)
        close(bus->wake_fd);
    pthread_mutex_destroy(&bus->mu);
    free(bus);
}

void lx_bus_stats_get(lx_bus *bus, lx_bus_stats *out)
{
    out->published = atomic_load(&bus->published);
    out->dropped = atomic_load(&bus->dropped);
    out->requests = atomic_load(&bus->requests);
    out->malformed = atomic_load(&bus->malformed);
    out->refused = atomic_load(&bus->refused);
}

/* ---- client side ---- */

struct lx_bus_client {
    void *zctx, *dealer;
    uint64_t next_rid;
    char prefix[LX_ULID_SIZE];
};

/* Make s a CURVE client of the hub (before it connects). */
static int client_keys(void *s, const lx_bus_client_keys *keys, lx_error *err)
{
    if (!keys)
        return 0;
    if (!keys->own || !lx_bus_key_valid(keys->server_public_key) ||
        !lx_bus_key_valid(keys->own->public_key) ||
        !lx_bus_key_valid(keys->own->secret_key))
        return lx_error_set(err, LX_EINVAL,
                            "bus client keys: the hub's public key and "
                            "this client's keypair must be CURVE keys");
    if (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, keys->server_public_key,
                       LX_BUS_KEY_LEN) ||
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, keys->own->public_key,
                       LX_BUS_KEY_LEN) ||
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, keys->own->secret_key,
                       LX_BUS_KEY_LEN))
        return lx_error_set(err, LX_EINVAL, "cannot use CURVE keys: %s",
                            zmq_strerror(zmq_errno()));
    return 0;
}

int lx_bus_client_open(const char *endpoint, lx_bus_client **out,
                       lx_error *err)
{
    return lx_bus_client_open_keys(endpoint, NULL, out, err);
}

int lx_bus_client_open_keys(const char *endpoint,
                            const lx_bus_client_keys *keys,
                            lx_bus_client **out, lx_error *err)
{
    *out = NULL;
    lx_bus_client *c = lx_xcalloc(1, sizeof(*c));
    c->zctx = zmq_ctx_new();
    c->dealer = zmq_socket(c->zctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(c->dealer, ZMQ_LINGER, &linger, sizeof(linger));
    if (client_keys(c->dealer, keys, err) != 0) {
        lx_bus_client_close(&c);
        return LX_EINVAL;
    }
    if (zmq_connect(c->dealer, endpoint) != 0) {
        zmq_fail(err, "cannot connect to", endpoint);
        if (err)
            err->code = LX_EINVAL;
        lx_bus_client_close(&c);
        return LX_EINVAL;
    }
    /* Request ids unique across clients and restarts. */
    lx_ulid_new(c->prefix);
    *out = c;
    return 0;
}

void lx_bus_client_close(lx_bus_client **cp)
{
    lx_bus_client *c = *cp;
    if (!c)
        return;
    *cp = NULL;
    if (c->dealer)
        zmq_close(c->dealer);
    if (c->zctx)
        zmq_ctx_term(c->zctx);
    free(c);
}

/* Receive one [status, rid, body] reply into caller-owned messages. */
static int recv_reply(void *s, int timeout_ms, zmq_msg_t *st, zmq_msg_t *rid,
                      zmq_msg_t *body, lx_error *err)
{
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    int rc = zmq_poll(&it, 1, timeout_ms);
    if (rc <= 0)
        return lx_error_set(err, LX_ETIMEOUT, "no answer from the hub");
    zmq_msg_t *parts[3] = {st, rid, body};
    int n = 0;
    bool more = true;
    while (more) {
        zmq_msg_t tmp;
        zmq_msg_init(&tmp);
        if (zmq_msg_recv(&tmp, s, 0) < 0) {
            zmq_msg_close(&tmp);
            break;
        }
        more = zmq_msg_more(&tmp);
        if (n < 3) {
            zmq_msg_close(parts[n]);
            *parts[n] = tmp;
        } else {
            zmq_msg_close(&tmp);
        }
        n++;
    }
    if (n != 3)
        return lx_error_set(err, LX_EREMOTE,
                            "malformed reply from the hub (%d frames)", n);
    return 0;
}

static bool rid_is(zmq_msg_t *m, const char *rid)
{
    return zmq_msg_size(m) == strlen(rid) &&
           memcmp(zmq_msg_data(m), rid, zmq_msg_size(m)) == 0;
}

static int send_request(lx_bus_client *c, const char *command,
                        const json_t *body, char *rid, size_t rid_size)
{
    snprintf(rid, rid_size, "%s-%llu", c->prefix,
             (unsigned long long)++c->next_rid);
    char *txt = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    LX_ASSERT(txt);
    int rc = zmq_send(c->dealer, command, strlen(command), ZMQ_SNDMORE);
    if (rc >= 0)
        rc = zmq_send(c->dealer, rid, strlen(rid), ZMQ_SNDMORE);
    if (rc >= 0)
        rc = zmq_send(c->dealer, txt, strlen(txt), 0);
    free(txt);
    return rc < 0 ? LX_EIO : 0;
}

int lx_bus_client_call(lx_bus_client *c, const char *command, json_t *body,
                       int timeout_ms, const char **status, json_t **reply,
                       lx_error *err)
{
    *status = NULL;
    *reply = NULL;
    char rid[RID_MAX];
    if (send_request(c, command, body, rid, sizeof(rid)) != 0)
        return lx_error_set(err, LX_EIO, "cannot send the request");
    uint64_t deadline = lx_mono_ms() + (uint64_t)timeout_ms;
    zmq_msg_t st, id, b;
    zmq_msg_init(&st);
    zmq_msg_init(&id);
    zmq_msg_init(&b);
    int rc;
    for (;;) {
        uint64_t now = lx_mono_ms();
        int left = now >= deadline ? 0 : (int)(deadline - now);
        rc = recv_reply(c->dealer, left, &st, &id, &b, err);
        if (rc != 0 || rid_is(&id, rid))
            break;
    }
    if (rc == 0) {
        bool ok = zmq_msg_size(&st) == 2 && memcmp(zmq_msg_data(&st), "OK", 2) == 0;
        json_t *v = json_loadb(zmq_msg_data(&b), zmq_msg_size(&b),
                               JSON_DECODE_ANY, NULL);
        if (!v)
            rc = lx_error_set(err, LX_EREMOTE, "reply body is not JSON");
        else {
            *status = ok ? "OK" : "ERR";
            *reply = v;
        }
    }
    zmq_msg_close(&st);
    zmq_msg_close(&id);
    zmq_msg_close(&b);
    return rc;
}

int lx_bus_client_replay(lx_bus_client *c, uint64_t from, size_t limit,
                         int timeout_ms, lx_bus_event_fn fn, void *ctx,
                         uint64_t *next, lx_error *err)
{
    if (next)
        *next = from;
    for (;;) {
        json_t *body = json_pack("{s:I,s:I}", "from", (json_int_t)from,
                                 "limit", (json_int_t)limit);
        char rid[RID_MAX];
        int rc = send_request(c, "REPLAY", body, rid, sizeof(rid));
        json_decref(body);
        if (rc != 0)
            return lx_error_set(err, LX_EIO, "cannot send the request");
        zmq_msg_t st, id, b;
        zmq_msg_init(&st);
        zmq_msg_init(&id);
        zmq_msg_init(&b);
        bool end = false, stop = false;
        size_t got = 0;
        while (!end && rc == 0) {
            rc = recv_reply(c->dealer, timeout_ms, &st, &id, &b, err);
            if (rc != 0 || !rid_is(&id, rid))
                continue;
            const char *s = zmq_msg_data(&st);
            size_t sl = zmq_msg_size(&st);
            if (sl == 5 && memcmp(s, "EVENT", 5) == 0) {
                json_t *e = json_loadb(zmq_msg_data(&b), zmq_msg_size(&b), 0,
                                       NULL);
                json_t *sq = json_object_get(e, "seq");
                if (!json_is_integer(sq)) {
                    rc = lx_error_set(err, LX_EREMOTE, "event without seq");
                } else {
                    uint64_t seq = (uint64_t)json_integer_value(sq);
                    from = seq + 1;
                    if (next)
                        *next = from;
                    got++;
                    if (!stop && fn(ctx, seq, zmq_msg_data(&b),
                                    zmq_msg_size(&b)) != 0)
                        stop = true;
                }
                json_decref(e);
            } else if (sl == 3 && memcmp(s, "END", 3) == 0) {
                end = true;
            } else {
                json_t *e = json_loadb(zmq_msg_data(&b), zmq_msg_size(&b), 0,
                                       NULL);
                const char *m = lx_json_str(e, "message");
                rc = lx_error_set(err, LX_EREMOTE, "replay refused: %s",
                                  m ? m : "no reason given");
                json_decref(e);
            }
        }
        zmq_msg_close(&st);
        zmq_msg_close(&id);
        zmq_msg_close(&b);
        if (rc != 0)
            return rc;
        if (stop || got < limit || got == 0)
            return 0;
    }
}

struct lx_bus_sub {
    void *zctx, *sub;
};

int lx_bus_sub_open(const char *endpoint, const char *prefix,
                    lx_bus_sub **out, lx_error *err)
{
    return lx_bus_sub_open_keys(endpoint, prefix, NULL, out, err);
}

int lx_bus_sub_open_keys(const char *endpoint, const char *prefix,
                         const lx_bus_client_keys *keys, lx_bus_sub **out,
                         lx_error *err)
{
    *out = NULL;
    lx_bus_sub *s = lx_xcalloc(1, sizeof(*s));
    s->zctx = zmq_ctx_new();
    s->sub = zmq_socket(s->zctx, ZMQ_SUB);
    int linger = 0, hwm = 100000;
    zmq_setsockopt(s->sub, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(s->sub, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(s->sub, ZMQ_SUBSCRIBE, prefix, strlen(prefix));
    if (client_keys(s->sub, keys, err) != 0) {
        lx_bus_sub_close(&s);
        return LX_EINVAL;
    }
    if (zmq_connect(s->sub, endpoint) != 0) {
        zmq_fail(err, "cannot connect to", endpoint);
        if (err)
            err->code = LX_EINVAL;
        lx_bus_sub_close(&s);
        return LX_EINVAL;
    }
    *out = s;
    return 0;
}

void lx_bus_sub_close(lx_bus_sub **sp)
{
    lx_bus_sub *s = *sp;
    if (!s)
        return;
    *sp = NULL;
    if (s->sub)
        zmq_close(s->sub);
    if (s->zctx)
        zmq_ctx_term(s->zctx);
    free(s);
}

int lx_bus_sub_recv(lx_bus_sub *s, int timeout_ms, char *topic,
                    size_t topic_size, char **payload, size_t *len,
                    lx_error *err)
{
    *payload = NULL;
    zmq_msg_t st, unused, b;
    zmq_msg_init(&st);
    zmq_msg_init(&unused);
    zmq_msg_init(&b);
    zmq_pollitem_t it = {s->sub, 0, ZMQ_POLLIN, 0};
    int rc = zmq_poll(&it, 1, timeout_ms);
    if (rc <= 0) {
        rc = lx_error_set(err, LX_ETIMEOUT, "no event");
        goto out;
    }
    if (zmq_msg_recv(&st, s->sub, 0) < 0 || !zmq_msg_more(&st) ||
        zmq_msg_recv(&b, s->sub, 0) < 0) {
        rc = lx_error_set(err, LX_EREMOTE, "malformed event message");
        goto out;
    }
    while (zmq_msg_more(&b)) { /* extra frames: not ours, drop */
        zmq_msg_close(&unused);
        zmq_msg_init(&unused);
        if (zmq_msg_recv(&unused, s->sub, 0) < 0)
            break;
        if (!zmq_msg_more(&unused))
            break;
    }
    if (topic && topic_size) {
        size_t tl = zmq_msg_size(&st);
        if (tl >= topic_size)
            tl = topic_size - 1;
        memcpy(topic, zmq_msg_data(&st), tl);
        topic[tl] = '\0';
    }
    *payload = lx_xstrndup(zmq_msg_data(&b), zmq_msg_size(&b));
    if (len)
        *len = zmq_msg_size(&b);
    rc = 0;
out:
    zmq_msg_close(&st);
    zmq_msg_close(&unused);
    zmq_msg_close(&b);
    return rc;
}
