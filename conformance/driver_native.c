/* conformance/driver_native.c: a native adapter (.so, the C ABI of
 * adapters/native/lingua_adapter.h), certified with the same cases as any
 * other kind.
 *
 * The runner loads the library itself (adapters/native/native.h: symbol,
 * ABI version, descriptor) but never calls the adapter's code in its own
 * process: each case forks one child that opens the adapter (one
 * instance per system, configured with the case's options) and runs every
 * call of the case, so that a crash (SIGSEGV, abort) or an endless loop
 * inside the .so costs that case, not the run. The child speaks to the
 * runner over a socketpair, one request at a time:
 *
 *   runner -> child  {"op":"inbound","system","format","native_type"} + doc
 *                    {"op":"outbound","system","event","target_id"}
 *                    {"op":"target_id","system","event","status",
 *                     "location"} + response body
 *   child -> runner  {"op":"ingest","entity","native_type","native_id",
 *                     "delete"} + record   (answered {"code","where",
 *                                           "message"} by the runner,
 *                                           which stores the record)
 *                    {"op":"done", ...}    the call's result
 *
 * A frame is two 32-bit lengths (this machine's byte order: both ends are
 * one program) then the JSON head and the payload. The runner waits at
 * most the case timeout for a call's "done"; past it, or when the child's
 * end of the socket closes, the child is killed and reaped and the case
 * is an error naming the call and the signal ("the adapter crashed with
 * signal 11 (Segmentation fault) during inbound"). The runner plays the
 * hub (the case's store: records the adapter ingests are validated and
 * stored there) and the target (deliveries run by the delivery engine over
 * the case's store, as the hub runs them; the adapter only translates;
 * files it asks for are recorded as "WRITE name" calls). */
#include "adapters/native/native.h"
#include "canonical/ingest.h"
#include "conformance/conform_int.h"
#include "core/http_client.h"
#include "core/json.h"
#include "core/mem.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NAT_FRAME_MAX ((uint32_t)64 << 20)
#define NAT_INSTANCES_MAX 4

typedef struct nat_state {
    lx_native *lib;
    lx_conform_hub *hub;  /* the case in progress */
    pthread_mutex_t mu;   /* one call at a time: ingest (runner thread)
                             and deliveries (delivery thread) share it */
    pid_t pid;            /* the case's child, 0 when none */
    int fd;               /* our end of its socket, -1 */
    char dead[LX_ERROR_MSG_MAX]; /* why the child is gone, "" while not */
    const char *system;   /* the system of the inbound call in progress */
} nat_state;

/* ---- frames ---- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static bool write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        /* MSG_NOSIGNAL: a dead peer is an error here, not a SIGPIPE. */
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

enum { FR_OK = 0, FR_EOF = 1, FR_TIMEOUT = 2, FR_BAD = 3 };

/* deadline < 0: wait for ever (the child waiting for the runner). */
static int read_full(int fd, void *p, size_t n, double deadline)
{
    char *c = p;
    while (n > 0) {
        int wait = -1;
        if (deadline >= 0) {
            double left = deadline - now_ms();
            if (left <= 0)
                return FR_TIMEOUT;
            wait = (int)left + 1;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, wait);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            return FR_TIMEOUT;
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return FR_EOF;
        c += r;
        n -= (size_t)r;
    }
    return FR_OK;
}

static bool frame_send(int fd, const json_t *head, const char *payload,
                       size_t len)
{
    char *h = json_dumps(head, JSON_COMPACT);
    if (!h)
        return false;
    uint32_t lens[2] = {(uint32_t)strlen(h), (uint32_t)len};
    bool ok = len < NAT_FRAME_MAX && write_all(fd, lens, sizeof(lens)) &&
              write_all(fd, h, lens[0]) && (len == 0 ||
                                           write_all(fd, payload, len));
    free(h);
    return ok;
}

/* *head: new reference; *payload malloc'd, NUL-terminated (may be NULL
 * when payload is NULL). */
static int frame_recv(int fd, double deadline, json_t **head, char **payload,
                      size_t *len)
{
    *head = NULL;
    if (payload)
        *payload = NULL;
    uint32_t lens[2];
    int rc = read_full(fd, lens, sizeof(lens), deadline);
    if (rc != FR_OK)
        return rc;
    if (lens[0] == 0 || lens[0] >= NAT_FRAME_MAX || lens[1] >= NAT_FRAME_MAX)
        return FR_BAD;
    char *h = lx_xmalloc(lens[0]);
    char *p = lx_xmalloc((size_t)lens[1] + 1);
    rc = read_full(fd, h, lens[0], deadline);
    if (rc == FR_OK)
        rc = read_full(fd, p, lens[1], deadline);
    p[lens[1]] = '\0';
    if (rc == FR_OK) {
        *head = json_loadb(h, lens[0], 0, NULL);
        if (!json_is_object(*head)) {
            json_decref(*head);
            *head = NULL;
            rc = FR_BAD;
        }
    }
    free(h);
    if (rc == FR_OK && payload) {
        *payload = p;
        if (len)
            *len = lens[1];
    } else {
        free(p);
    }
    return rc;
}

static json_t *error_json(const lx_error *e)
{
    return json_pack("{s:i,s:s,s:s,s:s}", "code", e->code, "name",
                     lx_error_name(e->code), "where", e->where, "message",
                     e->msg);
}

static int error_of(const json_t *j, lx_error *err)
{
    int code = (int)json_integer_value(json_object_get(j, "code"));
    lx_error_set(err, code < 0 ? code : LX_EINVAL, "%s",
                 lx_json_str(j, "message") ? lx_json_str(j, "message") : "");
    const char *where = lx_json_str(j, "where");
    if (err && where && *where)
        lx_error_at(err, where, 0, 0);
    return code < 0 ? code : LX_EINVAL;
}

/* ---- the child: runs the adapter ---- */

typedef struct child {
    const lx_native *lib;
    const json_t *config;
    int fd;
    struct {
        char system[LX_STORE_NAME_MAX + 1];
        lx_native_instance *inst;
        lx_native_host host;
    } inst[NAT_INSTANCES_MAX];
    size_t count;
} child;

LX_NORETURN static void child_exit(child *c, int status)
{
    for (size_t i = 0; i < c->count; i++)
        lx_native_close(&c->inst[i].inst);
    /* _exit: the runner's atexit handlers and stdio buffers are its. */
    _exit(status);
}

/* lx_native_host.ingest in the child: ask the runner to store it. */
static int child_ingest(void *ctx, const char *entity,
                        const char *native_type, const char *native_id,
                        const json_t *record, lx_error *err)
{
    child *c = ctx;
    char *text = record ? json_dumps(record, JSON_COMPACT) : NULL;
    json_t *head = json_pack("{s:s,s:s,s:s?,s:s?,s:b}", "op", "ingest",
                             "entity", entity, "native_type", native_type,
                             "native_id", native_id, "delete", !record);
    bool sent = head && frame_send(c->fd, head, text, text ? strlen(text) : 0);
    json_decref(head);
    free(text);
    json_t *answer = NULL;
    /* The runner is gone or gave up on us: leave at once, without
     * closing the instances (we are inside the adapter's inbound). */
    if (!sent || frame_recv(c->fd, -1, &answer, NULL, NULL) != FR_OK)
        _exit(0);
    int rc = 0;
    if (json_integer_value(json_object_get(answer, "code")) != 0)
        rc = error_of(answer, err);
    json_decref(answer);
    return rc;
}

/* The instance for `system`, opened on first use with the case's options
 * as configuration. */
static lx_native_instance *child_instance(child *c, const char *system,
                                          lx_error *err)
{
    for (size_t i = 0; i < c->count; i++)
        if (strcmp(c->inst[i].system, system) == 0)
            return c->inst[i].inst;
    if (c->count == NAT_INSTANCES_MAX) {
        lx_error_set(err, LX_ELIMIT, "too many adapter instances");
        return NULL;
    }
    size_t i = c->count;
    snprintf(c->inst[i].system, sizeof(c->inst[i].system), "%s", system);
    c->inst[i].host = (lx_native_host){.system = c->inst[i].system,
                                       .instance = "conformance",
                                       .ingest = child_ingest,
                                       .ctx = c};
    if (lx_native_open(c->lib, c->config, &c->inst[i].host, &c->inst[i].inst,
                       err) != 0)
        return NULL;
    c->count++;
    return c->inst[i].inst;
}

static json_t *child_inbound(child *c, lx_native_instance *inst,
                             const json_t *req, const char *doc, size_t len)
{
    lx_error err;
    lx_error_clear(&err);
    int status = 0;
    int rc = lx_native_inbound(inst, lx_json_str(req, "system"),
                               lx_json_str(req, "format"),
                               lx_json_str(req, "native_type"), doc, len,
                               &status, &err);
    (void)c;
    if (rc == 0)
        return json_pack("{s:s,s:b}", "op", "done", "accepted", 1);
    json_t *why = json_pack("{s:s,s:s,s:s}", "code", lx_error_name(rc),
                            "location", err.where, "message", err.msg);
    if (status)
        json_object_set_new(why, "status", json_integer(status));
    return json_pack("{s:s,s:b,s:o}", "op", "done", "accepted", 0,
                     "rejection", why);
}

static json_t *child_outbound(lx_native_instance *inst, const json_t *req,
                              char **body, size_t *body_len)
{
    lx_error err;
    lx_error_clear(&err);
    lx_native_request r;
    bool skip = false;
    int rc = lx_native_outbound(inst, json_object_get(req, "event"),
                                lx_json_str(req, "target_id"), &r, &skip,
                                &err);
    if (rc != 0)
        return json_pack("{s:s,s:o}", "op", "done", "error",
                         error_json(&err));
    if (skip)
        return json_pack("{s:s,s:b}", "op", "done", "skip", 1);
    json_t *headers = json_array();
    for (size_t i = 0; i < r.header_count; i++)
        json_array_append_new(headers, json_string(r.headers[i]));
    json_t *out = json_pack("{s:s,s:b,s:s,s:s,s:o,s:s,s:b}", "op", "done",
                            "file", r.is_file, "method", r.method, "path",
                            r.path, "headers", headers, "native_type",
                            r.native_type, "has_body", r.body != NULL);
    *body = r.body;
    *body_len = r.body_len;
    r.body = NULL;
    lx_native_request_fini(&r);
    return out;
}

static json_t *child_target_id(lx_native_instance *inst, const json_t *req,
                               char *body, size_t len)
{
    lx_http_result res;
    memset(&res, 0, sizeof(res));
    res.status = (long)json_integer_value(json_object_get(req, "status"));
    snprintf(res.location, sizeof(res.location), "%s",
             lx_json_str(req, "location") ? lx_json_str(req, "location")
                                          : "");
    res.body = body;
    res.body_len = len;
    char id[LX_STORE_NATIVE_ID_MAX + 1];
    lx_native_target_id(inst, json_object_get(req, "event"), &res, id,
                        sizeof(id));
    return json_pack("{s:s,s:s}", "op", "done", "id", id);
}

LX_NORETURN static void child_main(const lx_native *lib, const json_t *config,
                                   int fd)
{
    child c = {.lib = lib, .config = config, .fd = fd};
    for (;;) {
        json_t *req = NULL;
        char *payload = NULL;
        size_t len = 0;
        if (frame_recv(fd, -1, &req, &payload, &len) != FR_OK)
            child_exit(&c, 0); /* the case is over */
        const char *op = lx_json_str(req, "op");
        const char *system = lx_json_str(req, "system");
        lx_error err;
        lx_error_clear(&err);
        lx_native_instance *inst =
            system ? child_instance(&c, system, &err) : NULL;
        json_t *answer = NULL;
        char *body = NULL;
        size_t body_len = 0;
        if (!inst) {
            if (!system)
                lx_error_set(&err, LX_EINVAL, "a request names its system");
            answer = json_pack("{s:s,s:o}", "op", "done", "failed",
                               error_json(&err));
        } else if (strcmp(op ? op : "", "inbound") == 0) {
            answer = child_inbound(&c, inst, req, payload, len);
        } else if (strcmp(op ? op : "", "outbound") == 0) {
            answer = child_outbound(inst, req, &body, &body_len);
        } else if (strcmp(op ? op : "", "target_id") == 0) {
            answer = child_target_id(inst, req, payload, len);
        } else {
            answer = json_pack("{s:s,s:b}", "op", "done", "ready", 1);
        }
        bool sent = frame_send(fd, answer, body, body_len);
        json_decref(answer);
        json_decref(req);
        free(payload);
        free(body);
        if (!sent)
            child_exit(&c, 0);
    }
}

/* ---- the runner's side ---- */

static void child_reap(nat_state *st, bool kill_it, const char *call)
{
    if (st->pid <= 0)
        return;
    if (st->fd >= 0)
        close(st->fd);
    st->fd = -1;
    int status = 0;
    pid_t got = 0;
    if (!kill_it) {
        /* It leaves on EOF after closing its instances: a second. */
        for (int i = 0; i < 100 && got == 0; i++) {
            got = waitpid(st->pid, &status, WNOHANG);
            if (got == 0) {
                struct timespec ts = {0, 10 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
        }
    }
    if (got == 0) {
        kill(st->pid, SIGKILL);
        got = waitpid(st->pid, &status, 0);
    }
    if (call && !st->dead[0]) {
        if (got > 0 && WIFSIGNALED(status))
            snprintf(st->dead, sizeof(st->dead),
                     "the adapter crashed with signal %d (%s) during %s",
                     WTERMSIG(status), strsignal(WTERMSIG(status)), call);
        else if (got > 0 && WIFEXITED(status))
            snprintf(st->dead, sizeof(st->dead),
                     "the adapter's process exited with status %d during "
                     "%s (an adapter must not call exit)",
                     WEXITSTATUS(status), call);
        else
            snprintf(st->dead, sizeof(st->dead),
                     "the adapter's process was lost during %s", call);
    }
    st->pid = 0;
}

/* The child keeps stdin, stdout, stderr and its socket only: a copy of
 * the runner's sockets (the target's connections, the store's files)
 * held by an adapter process could keep a connection open after the
 * runner closed it. */
static void close_inherited(int keep)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    int self = dirfd(d);
    int fds[1024];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < sizeof(fds) / sizeof(fds[0])) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end == '\0' && end != e->d_name && fd > 2 && fd != keep &&
            fd != self)
            fds[n++] = (int)fd;
    }
    closedir(d);
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
}

static int child_start(nat_state *st, lx_error *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return lx_error_set(err, LX_EIO, "cannot make a socket pair: %s",
                            strerror(errno));
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return lx_error_set(err, LX_EIO, "cannot fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(sv[0]);
        /* The adapter's faults are the child's own: the runner's (or a
         * test framework's) handlers must not catch them and carry on as
         * if the child were the runner. */
        static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,
                                   SIGTERM, SIGINT, SIGHUP};
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
            signal(sigs[i], SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        pthread_sigmask(SIG_SETMASK, &none, NULL);
        close_inherited(sv[1]);
        child_main(st->lib, st->hub ? st->hub->options : NULL, sv[1]);
    }
    close(sv[1]);
    st->pid = pid;
    st->fd = sv[0];
    st->dead[0] = '\0';
    return 0;
}

/* Store one record the child's adapter handed over, as the hub's ingest
 * does: known entity, valid record, then the store. */
static json_t *store_record(nat_state *st, const json_t *req,
                            const char *record_text, size_t len)
{
    lx_error err;
    lx_error_clear(&err);
    json_t *record = NULL;
    bool del = json_is_true(json_object_get(req, "delete"));
    if (!del)
        record = json_loadb(record_text, len, 0, NULL);
    lx_upsert u = {.op = del ? LX_STORE_DELETE : LX_STORE_UPSERT,
                   .entity = lx_json_str(req, "entity"),
                   .system = st->system,
                   .adapter = "conformance",
                   .native_type = lx_json_str(req, "native_type"),
                   .native_id = lx_json_str(req, "native_id"),
                   .record = record};
    int rc = !u.entity ? lx_error_set(&err, LX_EINVAL, "no entity")
             : !del && !json_is_object(record)
                 ? lx_error_set(&err, LX_ESYNTAX, "the record is not JSON")
                 : lx_ingest_check(st->hub->registry, &u, &err);
    lx_upsert_result res;
    if (rc == 0 && (rc = lx_store_upsert(st->hub->store, &u, &res)) != 0)
        err = res.err;
    json_decref(record);
    return rc == 0 ? json_pack("{s:i}", "code", 0) : error_json(&err);
}

/* One call to the child: send, serve its ingests, take its "done".
 * *reply: a new reference to the "done" head; *body its payload. */
static int call_child(nat_state *st, const char *what, json_t *req,
                      const char *payload, size_t len, json_t **reply,
                      char **body, size_t *body_len, lx_error *err)
{
    *reply = NULL;
    if (st->dead[0])
        return lx_error_set(err, LX_EREMOTE, "%s (earlier in this case)",
                            st->dead);
    if (st->pid <= 0 && child_start(st, err) != 0)
        return err ? err->code : LX_EIO;
    double deadline = now_ms() + st->hub->timeout_ms;
    if (!frame_send(st->fd, req, payload, len)) {
        child_reap(st, true, what);
        return lx_error_set(err, LX_EREMOTE, "%s", st->dead);
    }
    for (;;) {
        json_t *head = NULL;
        char *p = NULL;
        size_t n = 0;
        int rc = frame_recv(st->fd, deadline, &head, &p, &n);
        if (rc == FR_TIMEOUT) {
            child_reap(st, true, NULL);
            snprintf(st->dead, sizeof(st->dead),
                     "the adapter did not answer within %u ms (%s): it "
                     "hangs; its process was killed",
                     st->hub->timeout_ms, what);
            return lx_error_set(err, LX_ETIMEOUT, "%s", st->dead);
        }
        if (rc != FR_OK) {
            child_reap(st, true, what);
            return lx_error_set(err, LX_EREMOTE, "%s", st->dead);
        }
        const char *op = lx_json_str(head, "op");
        if (op && strcmp(op, "ingest") == 0) {
            json_t *answer = store_record(st, head, p, n);
            bool ok = frame_send(st->fd, answer, NULL, 0);
            json_decref(answer);
            json_decref(head);
            free(p);
            if (!ok) {
                child_reap(st, true, what);
                return lx_error_set(err, LX_EREMOTE, "%s", st->dead);
            }
            continue;
        }
        json_t *failed = json_object_get(head, "failed");
        if (failed) {
            int code = error_of(failed, err);
            json_decref(head);
            free(p);
            return code;
        }
        *reply = head;
        if (body) {
            *body = p;
            *body_len = n;
        } else {
            free(p);
        }
        return 0;
    }
}

static void nat_close(void **sp)
{
    nat_state *st = *sp;
    if (!st)
        return;
    *sp = NULL;
    child_reap(st, false, NULL);
    lx_native_unload(&st->lib);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

static int nat_open(const char *root, const char *adapter,
                    const json_t *options, void **sp, lx_error *err)
{
    (void)root;
    *sp = NULL;
    nat_state *st = lx_xcalloc(1, sizeof(*st));
    pthread_mutex_init(&st->mu, NULL);
    st->fd = -1;
    int rc = lx_native_load(adapter, &st->lib, err);
    if (rc != 0) {
        void *v = st;
        nat_close(&v);
        return rc;
    }
    /* Open it once before any case, in a child too, so that a library
     * that refuses the suite's options is a located error of the run
     * ("adapter open: /mode: ..."), not an error in every case. */
    lx_conform_hub probe = {.timeout_ms = 10000, .options = options};
    st->hub = &probe;
    json_t *req = json_pack("{s:s,s:s}", "op", "open", "system",
                            LX_CONFORM_SYSTEM_IN);
    json_t *reply = NULL;
    rc = call_child(st, "open", req, NULL, 0, &reply, NULL, NULL, err);
    json_decref(req);
    json_decref(reply);
    child_reap(st, false, NULL);
    st->hub = NULL;
    if (rc != 0) {
        lx_error_prefix(err, "%s", lx_native_path(st->lib));
        void *v = st;
        nat_close(&v);
        return rc;
    }
    *sp = st;
    return 0;
}

static void nat_begin(void *state, lx_conform_hub *hub)
{
    nat_state *st = state;
    st->hub = hub;
    st->dead[0] = '\0';
    lx_conform_target_plain(hub->target, true);
    /* The child starts on the case's first call (it opens the adapter
     * with this case's options). */
}

static void nat_end(void *state, lx_conform_hub *hub)
{
    nat_state *st = state;
    pthread_mutex_lock(&st->mu);
    child_reap(st, false, NULL);
    st->hub = NULL;
    pthread_mutex_unlock(&st->mu);
    lx_conform_target_plain(hub->target, false);
}

static int nat_ingest(void *state, lx_conform_hub *hub, const char *system,
                      const json_t *input, const char *doc, size_t len,
                      lx_conform_answer *ans, lx_error *err)
{
    nat_state *st = state;
    (void)hub;
    json_t *req = json_pack("{s:s,s:s,s:s,s:s?}", "op", "inbound", "system",
                            system, "format",
                            lx_json_str(input, "format")
                                ? lx_json_str(input, "format")
                                : "",
                            "native_type", lx_json_str(input, "native_type"));
    json_t *reply = NULL;
    pthread_mutex_lock(&st->mu);
    st->system = system;
    int rc = call_child(st, "inbound", req, doc, len, &reply, NULL, NULL,
                        err);
    st->system = NULL;
    pthread_mutex_unlock(&st->mu);
    json_decref(req);
    if (rc != 0)
        return rc;
    ans->accepted = json_is_true(json_object_get(reply, "accepted"));
    if (!ans->accepted)
        ans->rejection = json_incref(json_object_get(reply, "rejection"));
    json_decref(reply);
    return 0;
}

/* ---- outbound: the delivery engine calls these on its thread ---- */

typedef struct nat_out {
    nat_state *st;
    char system[LX_STORE_NAME_MAX + 1];
    lx_delivery *d;
    lx_http_client *http; /* the delivery thread's, made on first use */
} nat_out;

static int out_prepare(void *ctx, lx_store *store, const json_t *event,
                       lx_outbound_call *call, bool *skip, lx_error *err)
{
    nat_out *o = ctx;
    nat_state *st = o->st;
    char tid[LX_STORE_NATIVE_ID_MAX + 1];
    bool known = lx_native_known_target_id(store, o->system, event, tid,
                                           sizeof(tid));
    json_t *req = json_pack("{s:s,s:s,s:O,s:s?}", "op", "outbound", "system",
                            o->system, "event", event, "target_id",
                            known ? tid : NULL);
    json_t *reply = NULL;
    char *body = NULL;
    size_t body_len = 0;
    pthread_mutex_lock(&st->mu);
    int rc = call_child(st, "outbound", req, NULL, 0, &reply, &body,
                        &body_len, err);
    pthread_mutex_unlock(&st->mu);
    json_decref(req);
    if (rc == 0 && json_object_get(reply, "error")) {
        rc = error_of(json_object_get(reply, "error"), err);
    } else if (rc == 0 && json_is_true(json_object_get(reply, "skip"))) {
        *skip = true;
    } else if (rc == 0) {
        lx_native_request r;
        memset(&r, 0, sizeof(r));
        r.is_file = json_is_true(json_object_get(reply, "file"));
        snprintf(r.method, sizeof(r.method), "%s",
                 lx_json_str(reply, "method") ? lx_json_str(reply, "method")
                                              : "");
        r.path = lx_xstrdup(lx_json_str(reply, "path") ? lx_json_str(reply,
                                                                     "path")
                                                       : "");
        snprintf(r.native_type, sizeof(r.native_type), "%s",
                 lx_json_str(reply, "native_type")
                     ? lx_json_str(reply, "native_type")
                     : "");
        size_t i;
        json_t *h;
        json_array_foreach(json_object_get(reply, "headers"), i, h)
            if (r.header_count < LX_NATIVE_HEADERS_MAX)
                r.headers[r.header_count++] =
                    lx_xstrdup(json_string_value(h) ? json_string_value(h)
                                                    : "");
        if (json_is_true(json_object_get(reply, "has_body"))) {
            r.body = body;
            r.body_len = body_len;
            body = NULL;
        }
        if (r.is_file) {
            /* An outbox file: "WRITE name" to the runner's target, the
             * way the EDI driver reports its outbox (out_perform). */
            snprintf(r.method, sizeof(r.method), "WRITE");
            r.is_file = false;
            char *name = r.path;
            r.path = lx_xmalloc(strlen(name) + 2);
            snprintf(r.path, strlen(name) + 2, "/%s", name);
            free(name);
        }
        rc = lx_native_call_fill(&r, lx_conform_target_url(st->hub->target),
                                 call, err);
        lx_native_request_fini(&r);
    }
    free(body);
    json_decref(reply);
    return rc;
}

/* HTTP calls go to the target over HTTP; a file is recorded as a call. */
static int out_perform(void *ctx, const lx_outbound_call *call,
                       lx_http_result *res, lx_error *err)
{
    nat_out *o = ctx;
    memset(res, 0, sizeof(*res));
    if (strcmp(call->http.method, "WRITE") == 0) {
        const char *base = lx_conform_target_url(o->st->hub->target);
        lx_conform_target_record(o->st->hub->target, "WRITE",
                                 call->url + strlen(base),
                                 call->http.body ? call->http.body : "",
                                 call->http.body_len);
        res->status = 201;
        return 0;
    }
    if (!o->http) {
        int rc = lx_http_client_new(&o->http, err);
        if (rc != 0)
            return rc;
    }
    return lx_http_client_perform(o->http, &call->http, res, err);
}

static void out_native_id(void *ctx, const json_t *event,
                          const lx_http_result *res, char *id, size_t size)
{
    nat_out *o = ctx;
    nat_state *st = o->st;
    id[0] = '\0';
    json_t *req = json_pack("{s:s,s:s,s:O,s:i,s:s}", "op", "target_id",
                            "system", o->system, "event", event, "status",
                            (int)res->status, "location", res->location);
    json_t *reply = NULL;
    pthread_mutex_lock(&st->mu);
    int rc = call_child(st, "target_id", req, res->body,
                        res->body ? res->body_len : 0, &reply, NULL, NULL,
                        NULL);
    pthread_mutex_unlock(&st->mu);
    json_decref(req);
    if (rc == 0 && lx_json_str(reply, "id"))
        snprintf(id, size, "%s", lx_json_str(reply, "id"));
    json_decref(reply);
}

static void out_ops_of(void *o, lx_outbound_ops *ops)
{
    ops->prepare = out_prepare;
    ops->native_id = out_native_id;
    ops->perform = out_perform;
    ops->ctx = o;
}

static void nat_out_stop(void **op)
{
    nat_out *o = *op;
    if (!o)
        return;
    *op = NULL;
    lx_delivery_stop(&o->d);
    lx_http_client_destroy(&o->http);
    free(o);
}

static int nat_out_start(void *state, lx_conform_hub *hub,
                         const char *system, const json_t *options,
                         void **op, lx_error *err)
{
    nat_state *st = state;
    (void)options;
    *op = NULL;
    if (!lx_native_has_outbound(st->lib))
        return lx_error_set(err, LX_EUNSUPPORTED,
                            "the adapter has no outbound direction");
    nat_out *o = lx_xcalloc(1, sizeof(*o));
    o->st = st;
    snprintf(o->system, sizeof(o->system), "%s", system);
    int rc = lx_conform_delivery_start(hub, system, out_ops_of, o, &o->d,
                                       err);
    if (rc != 0) {
        void *p = o;
        nat_out_stop(&p);
        return rc;
    }
    *op = o;
    return 0;
}

static void nat_out_notify(void *op)
{
    lx_delivery_notify(((nat_out *)op)->d);
}

static uint64_t nat_out_cursor(void *op)
{
    return lx_conform_delivery_cursor(((nat_out *)op)->d);
}

/* The child died during a delivery call: no later event can be
 * translated in this case. */
static int nat_out_error(void *op, lx_error *err)
{
    nat_state *st = ((nat_out *)op)->st;
    pthread_mutex_lock(&st->mu);
    int rc = st->dead[0] ? lx_error_set(err, LX_EREMOTE, "%s", st->dead) : 0;
    pthread_mutex_unlock(&st->mu);
    return rc;
}

const lx_conform_driver lx_conform_driver_native = {
    .kind = "native",
    .map_folder = "native",
    .open = nat_open,
    .close = nat_close,
    .begin = nat_begin,
    .end = nat_end,
    .ingest = nat_ingest,
    .out_start = nat_out_start,
    .out_stop = nat_out_stop,
    .out_notify = nat_out_notify,
    .out_cursor = nat_out_cursor,
    .out_error = nat_out_error,
};
