/* tests/integration/harness.c: see harness.h. */
#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/* ---- clocks and environment ---- */

uint64_t lxt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void lxt_sleep_ms(int ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

const char *lxt_env_path(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "FAIL: environment variable %s is not set (run the "
                        "test through ctest)\n", name);
        exit(1);
    }
    return v;
}

int lxt_scale(void)
{
    const char *v = getenv("LXT_SCALE");
    if (v && *v) {
        long n = strtol(v, NULL, 10);
        if (n >= 1 && n <= 20)
            return (int)n;
    }
#if defined(__SANITIZE_ADDRESS__)
    return 3;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 3;
#else
    return 1;
#endif
#else
    return 1;
#endif
}

/* ---- cleanup registry ----
 * Hubs are registered in slots. Cleanup (kill the hub, reap it, remove
 * its directory) runs in normal thread context: at exit(), or on a
 * dedicated thread that takes SIGINT, SIGTERM, SIGHUP and SIGALRM with
 * sigwait() (they are blocked in every other thread, and unblocked again
 * in the children before exec). Only SIGABRT gets a real handler, which
 * just sends SIGKILL (async-signal-safe). A child forked at the moment the
 * test dies is caught by its PR_SET_PDEATHSIG. */

#define SLOTS 4
static volatile sig_atomic_t slot_pid[SLOTS];
static char slot_root[SLOTS][LXT_PATH_MAX];
static lxt_hub *slot_hub[SLOTS];
static bool keep_dirs;
static bool handlers_installed;
static sigset_t caught;
/* Held while a child is forked and registered, and for good by the
 * cleanup, so that no hub is started once the test is dying. */
static pthread_mutex_t spawn_mu = PTHREAD_MUTEX_INITIALIZER;

static void http_client_cleanup(void);

static void rm_rf(const char *root)
{
    if (keep_dirs || !root[0])
        return;
    pid_t p = fork();
    if (p == 0) {
        char *const argv[] = {(char *)"rm", (char *)"-rf", (char *)root,
                              NULL};
        char *const envp[] = {NULL};
        execve("/bin/rm", argv, envp);
        _exit(127);
    }
    if (p > 0) {
        int st;
        while (waitpid(p, &st, 0) < 0 && errno == EINTR) {
        }
    }
}

/* Normal context only. Takes the spawn lock and keeps it; gives up
 * waiting for it after 2 s (the holder may be this very thread, failing
 * in the middle of a spawn). */
static void kill_all(void)
{
    for (int i = 0; i < 200 && pthread_mutex_trylock(&spawn_mu) != 0; i++)
        lxt_sleep_ms(10);
    for (int i = 0; i < SLOTS; i++) {
        pid_t p = (pid_t)slot_pid[i];
        if (p > 0) {
            kill(p, SIGKILL);
            int st;
            /* ECHILD: another thread reaped it meanwhile. */
            while (waitpid(p, &st, 0) < 0 && errno == EINTR) {
            }
            slot_pid[i] = 0;
        }
        rm_rf(slot_root[i]);
        slot_root[i][0] = '\0';
    }
}

static void on_abort(int sig)
{
    for (int i = 0; i < SLOTS; i++)
        if (slot_pid[i] > 0)
            kill((pid_t)slot_pid[i], SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void *signal_thread(void *arg)
{
    (void)arg;
    int sig = 0;
    if (sigwait(&caught, &sig) != 0)
        return NULL;
    fprintf(stderr, "test interrupted by signal %d%s: killing the hub\n", sig,
            sig == SIGALRM ? " (the test's own time limit)" : "");
    for (int i = 0; i < SLOTS; i++)
        if (slot_hub[i])
            lxt_hub_dump_log(slot_hub[i], 4096);
    kill_all();
    /* Die of the signal, as if it had not been caught. */
    signal(sig, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    raise(sig);
    _exit(128 + sig);
}

static void on_exit_cleanup(void)
{
    kill_all();
    http_client_cleanup();
}

/* Called from lxt_hub_init, on the main thread, before any other thread
 * (zmq's included) exists, so that they all inherit the blocked mask. */
static void install_handlers(void)
{
    if (handlers_installed)
        return;
    handlers_installed = true;
    const char *k = getenv("LXT_KEEP");
    keep_dirs = k && *k && strcmp(k, "0") != 0;
    atexit(on_exit_cleanup);
    sigemptyset(&caught);
    sigaddset(&caught, SIGINT);
    sigaddset(&caught, SIGTERM);
    sigaddset(&caught, SIGHUP);
    sigaddset(&caught, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &caught, NULL);
    pthread_t t;
    if (pthread_create(&t, NULL, signal_thread, NULL) != 0) {
        fprintf(stderr, "FAIL: cannot start the signal thread\n");
        exit(1);
    }
    pthread_detach(t);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_abort;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGABRT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* In a forked child, before exec: default dispositions, nothing blocked
 * (only async-signal-safe calls). */
static void child_signals(void)
{
    signal(SIGPIPE, SIG_DFL);
    signal(SIGABRT, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static int slot_of(const lxt_hub *h)
{
    for (int i = 0; i < SLOTS; i++)
        if (slot_hub[i] == h)
            return i;
    return -1;
}

static void set_pid(lxt_hub *h, pid_t pid)
{
    h->pid = pid;
    int i = slot_of(h);
    if (i >= 0)
        slot_pid[i] = pid;
}

/* ---- failing ---- */

void lxt_fail_at(const char *file, int line, const char *fmt, ...)
{
    fflush(stdout);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    for (int i = 0; i < SLOTS; i++)
        if (slot_hub[i])
            lxt_hub_dump_log(slot_hub[i], 4096);
    exit(1);
}

static atomic_int soft_failures;

int lxt_checks;

void lxt_step(const char *what)
{
    printf("-- %s\n", what);
    fflush(stdout);
}

int lxt_ms(int ms)
{
    return ms * lxt_scale();
}

void lxt_soft_fail_at(const char *file, int line, const char *fmt, ...)
{
    fflush(stdout);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL (continuing) %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    atomic_fetch_add(&soft_failures, 1);
}

int lxt_soft_failures(void)
{
    return atomic_load(&soft_failures);
}

static atomic_int known_deviations;

void lxt_known_at(const char *file, int line, bool ok, const char *id,
                  const char *fmt, ...)
{
    if (ok) {
        printf("note: known deviation %s no longer reproduces (%s:%d): "
               "remove its mark\n", id, file, line);
        return;
    }
    const char *strict = getenv("LXT_STRICT");
    bool fail = strict && *strict && strcmp(strict, "0") != 0;
    fflush(stdout);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "KNOWN DEVIATION %s (%s:%d): ", id, file, line);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "%s\n", fail ? " [LXT_STRICT: failing]" : "");
    va_end(ap);
    atomic_fetch_add(&known_deviations, 1);
    if (fail)
        atomic_fetch_add(&soft_failures, 1);
}

int lxt_known_deviations(void)
{
    return atomic_load(&known_deviations);
}

/* ---- JSON helpers ---- */

const char *lxt_jstr(const json_t *o, const char *key, const char *what)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        LXT_FAIL("%s: member \"%s\" is not a string", what, key);
    return json_string_value(v);
}

json_int_t lxt_jint(const json_t *o, const char *key, const char *what)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        LXT_FAIL("%s: member \"%s\" is not an integer", what, key);
    return json_integer_value(v);
}

bool lxt_jbool(const json_t *o, const char *key, const char *what)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_boolean(v))
        LXT_FAIL("%s: member \"%s\" is not a boolean", what, key);
    return json_is_true(v);
}

char *lxt_jdump(const json_t *v)
{
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS)
                : NULL;
    return s ? s : strdup("(null)");
}

/* ---- the hub ---- */

/* A free loopback port BELOW the ephemeral range: while a hub is down its
 * clients keep reconnecting, and a connect to a port inside the range can
 * be given that very port as its local port (a TCP self-connection, which
 * ZeroMQ keeps), so the restarted hub could not bind it. */
static int bind_ok(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    socklen_t al = sizeof(a);
    int got = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &al) == 0)
        got = ntohs(a.sin_port);
    close(fd);
    return got;
}

static int free_port(void)
{
    static unsigned seed;
    if (!seed)
        seed = (unsigned)getpid() * 2654435761u ^ (unsigned)lxt_now_ms();
    long low = 32768;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        char line[64];
        if (fgets(line, sizeof(line), f)) {
            long lo = strtol(line, NULL, 10);
            if (lo > 0 && lo < 65536)
                low = lo;
        }
        fclose(f);
    }
    if (low > 12000) {
        for (int tries = 0; tries < 100; tries++) {
            seed = seed * 1103515245u + 12345u;
            int port = 10000 + (int)((seed >> 8) % (unsigned)(low - 10000));
            if (bind_ok(port) == port)
                return port;
        }
    }
    return bind_ok(0); /* no room below the range: let the kernel pick */
}

static void pick_ports(lxt_hub *h)
{
    int p[3] = {-1, -1, -1};
    for (int tries = 0; tries < 20; tries++) {
        p[0] = free_port();
        p[1] = free_port();
        p[2] = h->with_http ? free_port() : 1;
        if (p[0] > 0 && p[1] > 0 && p[2] > 0 && p[0] != p[1] &&
            p[2] != p[0] && p[2] != p[1])
            break;
        p[0] = p[1] = p[2] = -1;
    }
    if (p[0] <= 0)
        LXT_FAIL("cannot find free loopback ports");
    snprintf(h->pub, sizeof(h->pub), "tcp://127.0.0.1:%d", p[0]);
    snprintf(h->router, sizeof(h->router), "tcp://127.0.0.1:%d", p[1]);
    if (h->with_http) {
        snprintf(h->http, sizeof(h->http), "127.0.0.1:%d", p[2]);
        snprintf(h->http_url, sizeof(h->http_url), "http://127.0.0.1:%d",
                 p[2]);
    }
}

static void write_config(lxt_hub *h)
{
    json_t *cfg = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s},s:{s:{},s:{},s:{}}}",
                            "data_dir", h->data_dir, "schemas",
                            lxt_env_path("LX_SCHEMAS_DIR"), "bus", "pub",
                            h->pub, "router", h->router, "log", "level",
                            "warn", "systems", "hr", "crm", "crash");
    LXT_CHECK(cfg != NULL, "config pack");
    if (h->extra[0]) {
        size_t n = strlen(h->extra) + 3;
        char *text = malloc(n);
        LXT_CHECK(text != NULL, "out of memory");
        snprintf(text, n, "{%s}", h->extra);
        json_error_t je;
        json_t *x = json_loads(text, 0, &je);
        free(text);
        if (!x)
            LXT_FAIL("bad extra config: %s (line %d, column %d)", je.text,
                     je.line, je.column);
        json_object_update(cfg, x);
        json_decref(x);
    }
    if (h->with_http)
        json_object_set_new(cfg, "http",
                            json_pack("{s:s}", "listen", h->http));
    if (h->bus_curve[0]) {
        json_error_t je;
        json_t *c = json_loads(h->bus_curve, 0, &je);
        if (!c)
            LXT_FAIL("bad bus curve config: %s", je.text);
        json_object_set_new(json_object_get(cfg, "bus"), "curve", c);
    }
    if (json_dump_file(cfg, h->config, JSON_INDENT(2)) != 0)
        LXT_FAIL("cannot write %s", h->config);
    json_decref(cfg);
}

void lxt_hub_set_bus_curve(lxt_hub *h, const char *curve_json)
{
    if (strlen(curve_json) >= sizeof(h->bus_curve))
        LXT_FAIL("bus curve configuration over %zu bytes",
                 sizeof(h->bus_curve) - 1);
    snprintf(h->bus_curve, sizeof(h->bus_curve), "%s", curve_json);
    write_config(h);
}

/* lxt_curve_keys: applied by curve_client to each new socket. */
static char curve_server[41], curve_public[41], curve_secret[41];

void lxt_curve_keys(const char *server_public, const char *public_key,
                    const char *secret_key)
{
    curve_server[0] = '\0';
    if (!server_public)
        return;
    snprintf(curve_server, sizeof(curve_server), "%s", server_public);
    snprintf(curve_public, sizeof(curve_public), "%s", public_key);
    snprintf(curve_secret, sizeof(curve_secret), "%s", secret_key);
}

static void curve_client(void *sock)
{
    if (!curve_server[0])
        return;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, curve_server, 40) ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, curve_public, 40) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, curve_secret, 40))
        LXT_FAIL("CURVE keys: %s", zmq_strerror(zmq_errno()));
}

static void hub_init(lxt_hub *h, const char *extra, bool with_http)
{
    install_handlers();
    memset(h, 0, sizeof(*h));
    h->with_http = with_http;
    if (extra && strlen(extra) >= sizeof(h->extra))
        LXT_FAIL("extra configuration over %zu bytes", sizeof(h->extra) - 1);
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp || strlen(tmp) > 200)
        tmp = "/tmp";
    snprintf(h->root, sizeof(h->root), "%s/lxt-XXXXXX", tmp);
    if (!mkdtemp(h->root))
        LXT_FAIL("mkdtemp: %s", strerror(errno));
    int i = 0;
    while (i < SLOTS && slot_hub[i])
        i++;
    if (i == SLOTS)
        LXT_FAIL("too many hubs");
    snprintf(slot_root[i], sizeof(slot_root[i]), "%s", h->root);
    slot_hub[i] = h;
    snprintf(h->data_dir, sizeof(h->data_dir), "%s/data", h->root);
    snprintf(h->config, sizeof(h->config), "%s/lingua.json", h->root);
    snprintf(h->log, sizeof(h->log), "%s/hub.log", h->root);
    snprintf(h->extra, sizeof(h->extra), "%s", extra ? extra : "");
    pick_ports(h);
    write_config(h);
}

void lxt_hub_init(lxt_hub *h, const char *extra)
{
    hub_init(h, extra, false);
}

void lxt_hub_init_http(lxt_hub *h, const char *extra)
{
    hub_init(h, extra, true);
}

void lxt_hub_spawn(lxt_hub *h)
{
    LXT_CHECK(h->pid == 0, "hub already running");
    const char *lingua = lxt_env_path("LX_LINGUA");
    char *const argv[] = {(char *)lingua, (char *)"serve", (char *)"--config",
                          h->config, NULL};
    pid_t parent = getpid();
    int logfd = open(h->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0)
        LXT_FAIL("cannot open %s: %s", h->log, strerror(errno));
    char banner[128];
    int bl = snprintf(banner, sizeof(banner), "---- start %d ----\n",
                      h->starts + 1);
    if (write(logfd, banner, (size_t)bl) < 0) {
        /* the log is a debugging aid only */
    }
    fflush(stdout);
    fflush(stderr);
    pthread_mutex_lock(&spawn_mu);
    pid_t p = fork();
    if (p < 0)
        LXT_FAIL("fork: %s", strerror(errno));
    if (p == 0) {
        /* Only async-signal-safe calls here: the test may have threads. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        child_signals();
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        execv(lingua, argv);
        _exit(127);
    }
    close(logfd);
    h->starts++;
    set_pid(h, p);
    pthread_mutex_unlock(&spawn_mu);
}

static lx_http_client *http_client; /* lxt_http's, main thread only */

static lx_http_client *the_http_client(void)
{
    if (!http_client) {
        lx_error err;
        lx_error_clear(&err);
        if (lx_http_client_new(&http_client, &err) != 0)
            LXT_FAIL("cannot create an HTTP client: %s", err.msg);
    }
    return http_client;
}

static void http_client_cleanup(void)
{
    lx_http_client_destroy(&http_client);
}

static bool http_health_ok(const lxt_hub *h)
{
    char url[LXT_ENDPOINT_MAX + 16];
    snprintf(url, sizeof(url), "%s/health", h->http_url);
    lx_http_call call = {.method = "GET", .url = url, .timeout_ms = 500,
                         .connect_timeout_ms = 200};
    lx_http_result res;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_http_client_perform(the_http_client(), &call, &res, &err);
    bool ok = rc == 0 && res.status == 200;
    lx_http_result_fini(&res);
    return ok;
}

int lxt_http(const char *method, const char *url, const char *const headers[],
             const char *body, size_t len, int timeout_ms,
             lx_http_result *res)
{
    lx_http_call call = {.method = method, .url = url, .body = body,
                         .body_len = len, .timeout_ms = timeout_ms,
                         .connect_timeout_ms = timeout_ms};
    for (size_t i = 0; headers && headers[i]; i++) {
        LXT_CHECK(i + 1 < LX_HTTP_CALL_HEADERS_MAX, "too many headers");
        call.headers[i] = headers[i];
    }
    lx_error err;
    lx_error_clear(&err);
    if (lx_http_client_perform(the_http_client(), &call, res, &err) != 0) {
        fprintf(stderr, "%s %s: %s\n", method, url, err.msg);
        return -1;
    }
    return 0;
}

int lxt_hub_wait_ready(lxt_hub *h, int timeout_ms, int *exit_status)
{
    if (exit_status)
        *exit_status = 0;
    uint64_t deadline = lxt_now_ms() + (uint64_t)timeout_ms;
    lxt_client *c = lxt_client_new(h->router);
    int rc = -1;
    json_t *body = json_object();
    while (lxt_now_ms() < deadline) {
        int st;
        pid_t w = waitpid(h->pid, &st, WNOHANG);
        if (w == h->pid) {
            set_pid(h, 0);
            if (exit_status)
                *exit_status = st;
            break;
        }
        char status[16];
        json_t *reply = NULL;
        int r = lxt_call(c, "STATUS", body, 200, status, &reply);
        bool ok = r == 0 && strcmp(status, "OK") == 0 &&
                  json_is_integer(json_object_get(reply, "last_seq"));
        json_decref(reply);
        if (ok && h->with_http) {
            /* The HTTP server starts after the bus: poll it until up. */
            ok = http_health_ok(h);
            if (!ok) {
                lxt_sleep_ms(20);
                continue;
            }
        }
        if (ok) {
            rc = 0;
            break;
        }
        if (r == 0) /* an answer, but not OK yet: do not spin */
            lxt_sleep_ms(50);
    }
    json_decref(body);
    lxt_client_destroy(&c);
    return rc;
}

void lxt_hub_start(lxt_hub *h, int timeout_ms, bool allow_new_ports)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        lxt_hub_spawn(h);
        int st = 0;
        if (lxt_hub_wait_ready(h, timeout_ms, &st) == 0)
            return;
        if (h->pid != 0) {
            lxt_hub_stop(h, SIGKILL, 5000);
            LXT_FAIL("hub did not answer STATUS within %d ms", timeout_ms);
        }
        fprintf(stderr, "hub exited at start (status 0x%x), attempt %d\n",
                (unsigned)st, attempt + 1);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
            LXT_FAIL("cannot execute %s", lxt_env_path("LX_LINGUA"));
        if (allow_new_ports) {
            pick_ports(h);
            write_config(h);
        } else {
            lxt_sleep_ms(200);
        }
    }
    LXT_FAIL("hub does not start (see its log)");
}

int lxt_hub_stop(lxt_hub *h, int sig, int timeout_ms)
{
    if (h->pid == 0)
        return -2;
    kill(h->pid, sig);
    uint64_t deadline = lxt_now_ms() + (uint64_t)timeout_ms;
    int st = 0;
    for (;;) {
        pid_t w = waitpid(h->pid, &st, WNOHANG);
        if (w == h->pid) {
            set_pid(h, 0);
            return st;
        }
        if (w < 0 && errno != EINTR) {
            set_pid(h, 0);
            return -1;
        }
        if (lxt_now_ms() >= deadline)
            break;
        lxt_sleep_ms(5);
    }
    kill(h->pid, SIGKILL);
    while (waitpid(h->pid, &st, 0) < 0 && errno == EINTR) {
    }
    set_pid(h, 0);
    return -1;
}

void lxt_hub_destroy(lxt_hub *h)
{
    if (h->pid)
        lxt_hub_stop(h, SIGKILL, 5000);
    int i = slot_of(h);
    if (i >= 0) {
        rm_rf(slot_root[i]);
        slot_root[i][0] = '\0';
        slot_pid[i] = 0;
        slot_hub[i] = NULL;
    }
}

int lxt_hub_check_log(const lxt_hub *h)
{
    static const char *const bad[] = {"Sanitizer", "runtime error:",
                                      "lingua: bug:"};
    FILE *f = fopen(h->log, "rb");
    if (!f)
        return 0;
    int found = 0;
    char line[1024];
    for (long n = 0; n < 1000000 && fgets(line, sizeof(line), f); n++) {
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
            if (strstr(line, bad[i])) {
                if (found++ == 0)
                    lxt_soft_fail_at(__FILE__, __LINE__,
                                     "the hub's log reports a bug: %s", line);
                break;
            }
    }
    fclose(f);
    if (found)
        lxt_hub_dump_log(h, 16384);
    return found;
}

void lxt_hub_dump_log(const lxt_hub *h, size_t max_bytes)
{
    FILE *f = fopen(h->log, "rb");
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size > (long)max_bytes ? size - (long)max_bytes : 0;
    fseek(f, from, SEEK_SET);
    fprintf(stderr, "---- hub log (%s, last %ld bytes) ----\n", h->log,
            size - from);
    char buf[1024];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        fwrite(buf, 1, n, stderr);
    fprintf(stderr, "---- end of hub log ----\n");
    fclose(f);
}

/* ---- running the CLI ---- */

typedef struct capture {
    char *buf;
    size_t len, max;
} capture;

static void capture_add(capture *c, const char *p, size_t n)
{
    if (c->len + n > c->max)
        n = c->max - c->len;
    memcpy(c->buf + c->len, p, n);
    c->len += n;
    c->buf[c->len] = '\0';
}

int lxt_run(const char *const argv[], int timeout_ms, char **out,
            char **errout, size_t out_max)
{
    *out = NULL;
    if (errout)
        *errout = NULL;
    int po[2], pe[2];
    if (pipe(po) != 0 || pipe(pe) != 0)
        LXT_FAIL("pipe: %s", strerror(errno));
    pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    pid_t p = fork();
    if (p < 0)
        LXT_FAIL("fork: %s", strerror(errno));
    if (p == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        child_signals();
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        dup2(po[1], 1);
        if (errout)
            dup2(pe[1], 2);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    capture co = {malloc(out_max + 1), 0, out_max};
    capture ce = {malloc(out_max + 1), 0, out_max};
    LXT_CHECK(co.buf && ce.buf, "out of memory");
    co.buf[0] = ce.buf[0] = '\0';
    uint64_t deadline = lxt_now_ms() + (uint64_t)timeout_ms;
    bool open_o = true, open_e = true, timed_out = false;
    while (open_o || open_e) {
        uint64_t now = lxt_now_ms();
        if (now >= deadline) {
            timed_out = true;
            break;
        }
        struct pollfd fds[2] = {{open_o ? po[0] : -1, POLLIN, 0},
                                {open_e ? pe[0] : -1, POLLIN, 0}};
        int r = poll(fds, 2, (int)(deadline - now));
        if (r < 0 && errno != EINTR)
            break;
        char buf[4096];
        for (int i = 0; i < 2; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(i == 0 ? po[0] : pe[0], buf, sizeof(buf));
            if (n > 0)
                capture_add(i == 0 ? &co : &ce, buf, (size_t)n);
            else if (n == 0 || errno != EINTR) {
                if (i == 0)
                    open_o = false;
                else
                    open_e = false;
            }
        }
    }
    close(po[0]);
    close(pe[0]);
    if (timed_out)
        kill(p, SIGKILL);
    int st = 0;
    /* The pipes are closed, so the child exits soon; bound the wait too. */
    uint64_t wdeadline = lxt_now_ms() + 5000;
    for (;;) {
        pid_t w = waitpid(p, &st, WNOHANG);
        if (w == p)
            break;
        if (lxt_now_ms() >= wdeadline) {
            kill(p, SIGKILL);
            waitpid(p, &st, 0);
            timed_out = true;
            break;
        }
        lxt_sleep_ms(5);
    }
    *out = co.buf;
    if (errout)
        *errout = ce.buf;
    else
        free(ce.buf);
    if (timed_out || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

/* ---- messages and the DEALER client ---- */

void lxt_msg_fini(lxt_msg *m)
{
    for (int i = 0; i < LXT_FRAMES_MAX; i++) {
        free(m->data[i]);
        m->data[i] = NULL;
        m->len[i] = 0;
    }
    m->count = 0;
}

/* Read one whole multipart message from s (it is known to be ready). */
static int read_msg(void *s, lxt_msg *out)
{
    memset(out, 0, sizeof(*out));
    for (int guard = 0; guard < 1000; guard++) {
        zmq_msg_t f;
        zmq_msg_init(&f);
        if (zmq_msg_recv(&f, s, 0) < 0) {
            zmq_msg_close(&f);
            return -1;
        }
        if (out->count < LXT_FRAMES_MAX) {
            size_t n = zmq_msg_size(&f);
            char *d = malloc(n + 1);
            LXT_CHECK(d != NULL, "out of memory");
            memcpy(d, zmq_msg_data(&f), n);
            d[n] = '\0';
            out->data[out->count] = d;
            out->len[out->count] = n;
        }
        out->count++;
        bool more = zmq_msg_more(&f);
        zmq_msg_close(&f);
        if (!more)
            return 0;
    }
    return -1;
}

static int wait_readable(void *s, int timeout_ms)
{
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    for (;;) {
        int r = zmq_poll(&it, 1, timeout_ms < 0 ? 0 : timeout_ms);
        if (r < 0 && zmq_errno() == EINTR)
            continue;
        return r > 0 ? 0 : -1;
    }
}

struct lxt_client {
    void *ctx, *sock;
    unsigned id;
    unsigned long next;
};

static atomic_uint client_ids;

lxt_client *lxt_client_new(const char *endpoint)
{
    lxt_client *c = calloc(1, sizeof(*c));
    LXT_CHECK(c != NULL, "out of memory");
    c->ctx = zmq_ctx_new();
    c->sock = zmq_socket(c->ctx, ZMQ_DEALER);
    LXT_CHECK(c->sock != NULL, "zmq_socket: %s", zmq_strerror(zmq_errno()));
    int linger = 0, ivl = 50;
    zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(c->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
    curve_client(c->sock);
    if (zmq_connect(c->sock, endpoint) != 0)
        LXT_FAIL("connect %s: %s", endpoint, zmq_strerror(zmq_errno()));
    c->id = atomic_fetch_add(&client_ids, 1) + 1;
    return c;
}

void lxt_client_destroy(lxt_client **cp)
{
    lxt_client *c = *cp;
    if (!c)
        return;
    *cp = NULL;
    zmq_close(c->sock);
    zmq_ctx_term(c->ctx);
    free(c);
}

void lxt_client_rid(lxt_client *c, char rid[64])
{
    snprintf(rid, 64, "t%ld-c%u-%lu", (long)getpid(), c->id, ++c->next);
}

int lxt_client_send(lxt_client *c, int count, const char *const frames[],
                    const size_t lens[])
{
    for (int i = 0; i < count; i++) {
        int flags = i + 1 < count ? ZMQ_SNDMORE : 0;
        /* DEALER blocks only with no peer at all; bound it anyway. */
        int r;
        uint64_t deadline = lxt_now_ms() + 5000;
        while ((r = zmq_send(c->sock, frames[i], lens[i],
                             flags | ZMQ_DONTWAIT)) < 0 &&
               zmq_errno() == EAGAIN && lxt_now_ms() < deadline)
            lxt_sleep_ms(5);
        if (r < 0)
            return -1;
    }
    return 0;
}

int lxt_client_recv(lxt_client *c, int timeout_ms, lxt_msg *out)
{
    memset(out, 0, sizeof(*out));
    if (wait_readable(c->sock, timeout_ms) != 0)
        return -1;
    return read_msg(c->sock, out);
}

int lxt_call_text(lxt_client *c, const char *command, const char *body,
                  size_t len, int timeout_ms, char status[16],
                  json_t **reply, lxt_msg *raw)
{
    status[0] = '\0';
    *reply = NULL;
    if (raw)
        memset(raw, 0, sizeof(*raw));
    char rid[64];
    lxt_client_rid(c, rid);
    const char *frames[3] = {command, rid, body};
    size_t lens[3] = {strlen(command), strlen(rid), len};
    if (lxt_client_send(c, 3, frames, lens) != 0)
        return -1;
    uint64_t deadline = lxt_now_ms() + (uint64_t)timeout_ms;
    for (int guard = 0; guard < 100000; guard++) {
        uint64_t now = lxt_now_ms();
        if (now >= deadline)
            return -1;
        lxt_msg m;
        if (lxt_client_recv(c, (int)(deadline - now), &m) != 0)
            return -1;
        if (m.count != 3) {
            /* Only a malformed reply can be taken for this request if it
             * echoes our rid somewhere; otherwise it belongs to another. */
            bool ours = false;
            for (int i = 0; i < m.count && i < LXT_FRAMES_MAX; i++)
                if (m.len[i] == strlen(rid) && memcmp(m.data[i], rid,
                                                      m.len[i]) == 0)
                    ours = true;
            if (ours) {
                if (raw)
                    *raw = m;
                else
                    lxt_msg_fini(&m);
                return -2;
            }
            lxt_msg_fini(&m);
            continue;
        }
        if (strcmp(m.data[1], rid) != 0) {
            lxt_msg_fini(&m);
            continue;
        }
        snprintf(status, 16, "%s", m.data[0]);
        *reply = json_loadb(m.data[2], m.len[2], JSON_DECODE_ANY, NULL);
        if (raw)
            *raw = m;
        else
            lxt_msg_fini(&m);
        return 0;
    }
    return -1;
}

int lxt_call(lxt_client *c, const char *command, const json_t *body,
             int timeout_ms, char status[16], json_t **reply)
{
    char *txt = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    LXT_CHECK(txt != NULL, "json_dumps");
    int r = lxt_call_text(c, command, txt, strlen(txt), timeout_ms, status,
                          reply, NULL);
    free(txt);
    return r;
}

int lxt_replay(lxt_client *c, uint64_t from, size_t limit, int timeout_ms,
               json_t *events, json_t **end)
{
    *end = NULL;
    json_t *body = json_pack("{s:I}", "from", (json_int_t)from);
    if (limit)
        json_object_set_new(body, "limit", json_integer((json_int_t)limit));
    char *txt = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char rid[64];
    lxt_client_rid(c, rid);
    const char *frames[3] = {"REPLAY", rid, txt};
    size_t lens[3] = {6, strlen(rid), strlen(txt)};
    int rc = lxt_client_send(c, 3, frames, lens);
    free(txt);
    if (rc != 0)
        return -1;
    uint64_t deadline = lxt_now_ms() + (uint64_t)timeout_ms;
    for (int guard = 0; guard < 1000000; guard++) {
        uint64_t now = lxt_now_ms();
        if (now >= deadline)
            return -1;
        lxt_msg m;
        if (lxt_client_recv(c, (int)(deadline - now), &m) != 0)
            return -1;
        if (m.count != 3 || strcmp(m.data[1], rid) != 0) {
            lxt_msg_fini(&m);
            continue;
        }
        json_t *b = json_loadb(m.data[2], m.len[2], 0, NULL);
        if (strcmp(m.data[0], "EVENT") == 0 && b) {
            json_array_append_new(events, b);
            lxt_msg_fini(&m);
            continue;
        }
        int r = strcmp(m.data[0], "END") == 0 && b ? 0 : -2;
        *end = b;
        lxt_msg_fini(&m);
        return r;
    }
    return -1;
}

/* ---- SUB ---- */

struct lxt_sub {
    void *ctx, *sock;
};

lxt_sub *lxt_sub_new(const char *endpoint, const char *prefix,
                     int timeout_ms)
{
    static atomic_uint mon_ids;
    lxt_sub *s = calloc(1, sizeof(*s));
    LXT_CHECK(s != NULL, "out of memory");
    s->ctx = zmq_ctx_new();
    s->sock = zmq_socket(s->ctx, ZMQ_SUB);
    int linger = 0, hwm = 1000000, ivl = 50;
    zmq_setsockopt(s->sock, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(s->sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(s->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
    zmq_setsockopt(s->sock, ZMQ_SUBSCRIBE, prefix, strlen(prefix));
    curve_client(s->sock);
    char mon[64];
    snprintf(mon, sizeof(mon), "inproc://lxt-sub-monitor-%u",
             atomic_fetch_add(&mon_ids, 1));
    if (zmq_socket_monitor(s->sock, mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED) != 0)
        LXT_FAIL("zmq_socket_monitor: %s", zmq_strerror(zmq_errno()));
    void *pair = zmq_socket(s->ctx, ZMQ_PAIR);
    zmq_setsockopt(pair, ZMQ_LINGER, &linger, sizeof(linger));
    if (zmq_connect(pair, mon) != 0)
        LXT_FAIL("monitor connect: %s", zmq_strerror(zmq_errno()));
    if (zmq_connect(s->sock, endpoint) != 0)
        LXT_FAIL("connect %s: %s", endpoint, zmq_strerror(zmq_errno()));
    lxt_msg m;
    if (wait_readable(pair, timeout_ms) != 0 || read_msg(pair, &m) != 0)
        LXT_FAIL("SUB handshake with %s not done within %d ms", endpoint,
                 timeout_ms);
    lxt_msg_fini(&m);
    zmq_socket_monitor(s->sock, NULL, 0);
    zmq_close(pair);
    /* The subscription is sent right after the handshake; give the hub's
     * I/O thread time to register it before anything is published. */
    lxt_sleep_ms(300);
    return s;
}

void lxt_sub_destroy(lxt_sub **sp)
{
    lxt_sub *s = *sp;
    if (!s)
        return;
    *sp = NULL;
    zmq_close(s->sock);
    zmq_ctx_term(s->ctx);
    free(s);
}

int lxt_sub_recv(lxt_sub *s, int timeout_ms, char topic[64], json_t **event,
                 lxt_msg *raw)
{
    topic[0] = '\0';
    *event = NULL;
    if (raw)
        memset(raw, 0, sizeof(*raw));
    if (wait_readable(s->sock, timeout_ms) != 0)
        return -1;
    lxt_msg m;
    if (read_msg(s->sock, &m) != 0)
        return -1;
    snprintf(topic, 64, "%s", m.count >= 1 ? m.data[0] : "");
    if (m.count == 2)
        *event = json_loadb(m.data[1], m.len[1], 0, NULL);
    if (raw)
        *raw = m;
    else
        lxt_msg_fini(&m);
    return 0;
}

/* ---- a recording HTTP target ----
 * Thread per connection: connections are few (the hub's delivery threads
 * keep one each). Every blocking call is a poll of at most 100 ms that
 * looks at the stop flag, so lxt_target_stop ends them all quickly. */

#define TARGET_HEAD_MAX ((size_t)64 << 10)
#define TARGET_BODY_MAX ((size_t)16 << 20)
#define TARGET_REQUESTS_MAX 100000

typedef struct target_conn {
    struct lxt_target *t;
    int fd;
    pthread_t thread;
    struct target_conn *next;
} target_conn;

struct lxt_target {
    int fd, port;
    lxt_target_fn fn;
    void *ctx;
    atomic_bool stop;
    pthread_t accept_thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    lxt_request **reqs;
    size_t count, cap;
    target_conn *conns;
};

/* Read more into buf[*len..max), waiting at most 100 ms at a time while
 * not stopping. 1 = got bytes, 0 = peer closed, -1 = error or stop. */
static int conn_read(lxt_target *t, int fd, char *buf, size_t *len,
                     size_t max)
{
    while (!atomic_load(&t->stop)) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, 100);
        if (r < 0 && errno != EINTR)
            return -1;
        if (r <= 0)
            continue;
        if (*len >= max)
            return -1;
        ssize_t n = read(fd, buf + *len, max - *len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return n == 0 ? 0 : -1;
        *len += (size_t)n;
        return 1;
    }
    return -1;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 422: return "Unprocessable Content";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
}

/* Case-insensitive header lookup in the head block (lines after the
 * request line); copies the trimmed value into out. */
static bool head_value(const char *head, const char *name, char *out,
                       size_t size)
{
    size_t nl = strlen(name);
    for (const char *l = strstr(head, "\r\n"); l && l[2]; l = strstr(l + 2,
                                                                     "\r\n")) {
        const char *line = l + 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vl = strcspn(v, "\r\n");
            while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (out) {
                size_t k = vl < size - 1 ? vl : size - 1;
                memcpy(out, v, k);
                out[k] = '\0';
            }
            return true;
        }
    }
    return false;
}

static void record(lxt_target *t, lxt_request *rq)
{
    pthread_mutex_lock(&t->mu);
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        lxt_request **n = realloc(t->reqs, cap * sizeof(*n));
        LXT_CHECK(n != NULL, "out of memory");
        t->reqs = n;
        t->cap = cap;
    }
    t->reqs[t->count++] = rq;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static int send_reply(int fd, const lxt_reply *rep, bool close_after)
{
    char head[2048];
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Length: "
                                         "%zu\r\n",
                     rep->status, reason(rep->status), rep->body_len);
    if (rep->body_len)
        n += snprintf(head + n, sizeof(head) - (size_t)n,
                      "Content-Type: %s\r\n",
                      rep->content_type[0] ? rep->content_type
                                           : "application/fhir+json");
    if (rep->location[0])
        n += snprintf(head + n, sizeof(head) - (size_t)n, "Location: %s\r\n",
                      rep->location);
    if (rep->etag[0])
        n += snprintf(head + n, sizeof(head) - (size_t)n, "ETag: %s\r\n",
                      rep->etag);
    if (close_after)
        n += snprintf(head + n, sizeof(head) - (size_t)n,
                      "Connection: close\r\n");
    n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
    if (write_all(fd, head, (size_t)n) != 0)
        return -1;
    return rep->body_len ? write_all(fd, rep->body, rep->body_len) : 0;
}

static void *conn_main(void *arg)
{
    target_conn *c = arg;
    lxt_target *t = c->t;
    size_t max = TARGET_HEAD_MAX + TARGET_BODY_MAX;
    char *buf = malloc(max + 1);
    LXT_CHECK(buf != NULL, "out of memory");
    size_t len = 0;
    for (int served = 0; served < TARGET_REQUESTS_MAX; served++) {
        /* The head: up to the empty line. */
        char *end = NULL;
        for (;;) {
            buf[len] = '\0';
            end = strstr(buf, "\r\n\r\n");
            if (end || len > TARGET_HEAD_MAX)
                break;
            if (conn_read(t, c->fd, buf, &len, TARGET_HEAD_MAX) <= 0)
                goto done;
        }
        if (!end)
            goto done;
        size_t head_len = (size_t)(end - buf) + 4;
        char *head = malloc(head_len + 1);
        LXT_CHECK(head != NULL, "out of memory");
        memcpy(head, buf, head_len);
        head[head_len] = '\0';
        lxt_request *rq = calloc(1, sizeof(*rq));
        LXT_CHECK(rq != NULL, "out of memory");
        /* Request line: METHOD SP request-target SP HTTP/1.1 */
        size_t ml = strcspn(head, " \r\n");
        const char *tg = head + ml + (head[ml] == ' ');
        size_t tl = strcspn(tg, " \r\n");
        snprintf(rq->method, sizeof(rq->method), "%.*s", (int)ml, head);
        snprintf(rq->target, sizeof(rq->target), "%.*s", (int)tl, tg);
        head_value(head, "Content-Type", rq->content_type,
                   sizeof(rq->content_type));
        head_value(head, "Accept", rq->accept, sizeof(rq->accept));
        head_value(head, "Authorization", rq->authorization,
                   sizeof(rq->authorization));
        char v[64] = "";
        rq->chunked = head_value(head, "Transfer-Encoding", v, sizeof(v)) &&
                      strstr(v, "chunked") != NULL;
        char conn_hdr[64] = "";
        head_value(head, "Connection", conn_hdr, sizeof(conn_hdr));
        bool close_after = strcasecmp(conn_hdr, "close") == 0;
        size_t body_len = 0;
        if (head_value(head, "Content-Length", v, sizeof(v)))
            body_len = (size_t)strtoull(v, NULL, 10);
        bool expect = head_value(head, "Expect", v, sizeof(v)) &&
                      strcasecmp(v, "100-continue") == 0;
        free(head);
        lxt_reply rep;
        memset(&rep, 0, sizeof(rep));
        if (rq->chunked || body_len > TARGET_BODY_MAX) {
            rq->body = strdup("");
            record(t, rq);
            rep.status = rq->chunked ? 411 : 413;
            send_reply(c->fd, &rep, true);
            goto done;
        }
        if (expect && len - head_len < body_len &&
            write_all(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) != 0)
            goto done;
        while (len - head_len < body_len)
            if (conn_read(t, c->fd, buf, &len, max) <= 0) {
                free(rq);
                goto done;
            }
        rq->body = malloc(body_len + 1);
        LXT_CHECK(rq->body != NULL, "out of memory");
        memcpy(rq->body, buf + head_len, body_len);
        rq->body[body_len] = '\0';
        rq->body_len = body_len;
        /* Keep what follows (a pipelined request). */
        size_t used = head_len + body_len;
        memmove(buf, buf + used, len - used);
        len -= used;
        record(t, rq);
        rep.status = 200;
        t->fn(t->ctx, rq, &rep);
        int w = send_reply(c->fd, &rep, close_after);
        free(rep.body);
        if (w != 0 || close_after)
            goto done;
    }
done:
    free(buf);
    shutdown(c->fd, SHUT_RDWR);
    return NULL;
}

static void *accept_main(void *arg)
{
    lxt_target *t = arg;
    while (!atomic_load(&t->stop)) {
        struct pollfd p = {t->fd, POLLIN, 0};
        int r = poll(&p, 1, 100);
        if (r <= 0)
            continue;
        int fd = accept(t->fd, NULL, NULL);
        if (fd < 0)
            continue;
        target_conn *c = calloc(1, sizeof(*c));
        LXT_CHECK(c != NULL, "out of memory");
        c->t = t;
        c->fd = fd;
        if (pthread_create(&c->thread, NULL, conn_main, c) != 0) {
            close(fd);
            free(c);
            continue;
        }
        pthread_mutex_lock(&t->mu);
        c->next = t->conns;
        t->conns = c;
        pthread_mutex_unlock(&t->mu);
    }
    return NULL;
}

lxt_target *lxt_target_start(lxt_target_fn fn, void *ctx)
{
    install_handlers(); /* before any thread: they inherit the mask */
    lxt_target *t = calloc(1, sizeof(*t));
    LXT_CHECK(t != NULL, "out of memory");
    t->fn = fn;
    t->ctx = ctx;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->fd = -1;
    for (int tries = 0; tries < 50 && t->fd < 0; tries++) {
        int port = free_port();
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        LXT_CHECK(fd >= 0, "socket: %s", strerror(errno));
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        struct sockaddr_in a;
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((uint16_t)port);
        if (port > 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
            listen(fd, 64) == 0) {
            t->fd = fd;
            t->port = port;
        } else {
            close(fd);
        }
    }
    if (t->fd < 0)
        LXT_FAIL("cannot listen for the HTTP target");
    if (pthread_create(&t->accept_thread, NULL, accept_main, t) != 0)
        LXT_FAIL("cannot start the HTTP target's thread");
    return t;
}

int lxt_target_port(const lxt_target *t)
{
    return t->port;
}

size_t lxt_target_count(lxt_target *t)
{
    pthread_mutex_lock(&t->mu);
    size_t n = t->count;
    pthread_mutex_unlock(&t->mu);
    return n;
}

int lxt_target_wait(lxt_target *t, size_t n, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&t->mu);
    int rc = 0;
    while (t->count < n && rc == 0)
        rc = pthread_cond_timedwait(&t->cv, &t->mu, &ts);
    bool ok = t->count >= n;
    pthread_mutex_unlock(&t->mu);
    return ok ? 0 : -1;
}

const lxt_request *lxt_target_request(lxt_target *t, size_t i)
{
    pthread_mutex_lock(&t->mu);
    const lxt_request *r = i < t->count ? t->reqs[i] : NULL;
    pthread_mutex_unlock(&t->mu);
    return r;
}

void lxt_target_stop(lxt_target **tp)
{
    lxt_target *t = *tp;
    if (!t)
        return;
    *tp = NULL;
    atomic_store(&t->stop, true);
    pthread_join(t->accept_thread, NULL);
    close(t->fd);
    /* No new connection can be added now that the accept thread is gone. */
    for (target_conn *c = t->conns, *next; c; c = next) {
        next = c->next;
        pthread_join(c->thread, NULL);
        close(c->fd);
        free(c);
    }
    for (size_t i = 0; i < t->count; i++) {
        free(t->reqs[i]->body);
        free(t->reqs[i]);
    }
    free(t->reqs);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
}

/* ---- files and the FHIR corpus ---- */

char *lxt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        LXT_FAIL("cannot open %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 8192;
            LXT_CHECK(cap < ((size_t)256 << 20), "%s is too large", path);
            char *b = realloc(buf, cap + 1);
            LXT_CHECK(b != NULL, "out of memory");
            buf = b;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad)
        LXT_FAIL("cannot read %s", path);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

char *lxt_corpus_file(const char *rel, size_t *len)
{
    char path[LXT_PATH_MAX * 2];
    snprintf(path, sizeof(path), "%s/%s", lxt_env_path("LX_CORPUS_DIR"), rel);
    return lxt_read_file(path, len);
}

/* Copy the listed members of `from` that are present into a new object. */
static json_t *pick(const json_t *from, const char *const keys[])
{
    json_t *o = json_object();
    for (size_t i = 0; keys[i]; i++) {
        json_t *v = json_object_get(from, keys[i]);
        if (v)
            json_object_set(o, keys[i], v);
    }
    return o;
}

/* The entries of array `key` that have a "value", each reduced to keys. */
static json_t *pick_each(const json_t *from, const char *key,
                         const char *const keys[], bool need_value)
{
    json_t *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(from, key), i, e)
    {
        if (need_value && !json_object_get(e, "value"))
            continue;
        json_array_append_new(out, pick(e, keys));
    }
    return out;
}

json_t *lxt_patient_projection(const json_t *patient)
{
    static const char *const ident[] = {"system", "value", "use", NULL};
    static const char *const name[] = {"family", "given", "prefix", "suffix",
                                       NULL};
    static const char *const top[] = {"gender", "birthDate", NULL};
    static const char *const addr[] = {"use",   "type",       "line",
                                       "city",  "district",   "state",
                                       "postalCode", "country", NULL};
    static const char *const period[] = {"start", "end", NULL};
    json_t *p = pick(patient, top);
    json_object_set_new(p, "identifier",
                        pick_each(patient, "identifier", ident, true));
    json_object_set_new(p, "telecom",
                        pick_each(patient, "telecom", ident, true));
    /* name[use=official] | name[0] */
    json_t *names = json_object_get(patient, "name"), *chosen = NULL;
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
    {
        const char *use = json_string_value(json_object_get(n, "use"));
        if (use && strcmp(use, "official") == 0) {
            chosen = n;
            break;
        }
    }
    if (!chosen)
        chosen = json_array_get(names, 0);
    if (chosen)
        json_object_set_new(p, "name", pick(chosen, name));
    json_t *addrs = json_array();
    json_t *a;
    json_array_foreach(json_object_get(patient, "address"), i, a)
    {
        json_t *x = pick(a, addr);
        json_t *per = json_object_get(a, "period");
        if (per)
            json_object_set_new(x, "period", pick(per, period));
        json_array_append_new(addrs, x);
    }
    json_object_set_new(p, "address", addrs);
    return p;
}
