/* tests/bench/bench_delivery_target.c: see bench_delivery_target.h. */
#define _GNU_SOURCE
#include "tests/bench/bench_delivery_target.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define CONN_MAX 1024
#define IN_MAX (256 * 1024)
#define OUT_MAX (64 * 1024)

typedef struct conn {
    int fd;
    char in[IN_MAX];
    size_t in_len;
    char out[OUT_MAX];
    size_t out_len;
} conn;

struct bdt {
    int lfd, efd, wake;
    int port;
    pthread_t th;
    atomic_bool paused, stop;
    atomic_size_t connections;
    bool niced;
    pthread_mutex_t mu;
    bdt_got *got;
    size_t count, cap;
    conn *conns[CONN_MAX];
};

static void die(const char *what)
{
    fprintf(stderr, "bench target: %s: %s\n", what, strerror(errno));
    abort();
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The test Patient's identifier value: "...?identifier=urn%3Alingua%3Adlv
 * %7CB12 HTTP/1.1" in the request line, else "urn:lingua:dlv","value":"B12"
 * in the body. */
static void ident_of(const char *head, size_t head_len, const char *body,
                     size_t body_len, char out[32])
{
    out[0] = '\0';
    const char *eol = memchr(head, '\r', head_len);
    const char *bar = eol ? memmem(head, (size_t)(eol - head), "%7C", 3)
                          : NULL;
    if (bar) {
        const char *v = bar + 3;
        size_t n = strcspn(v, " &\r");
        if (n < 32) {
            memcpy(out, v, n);
            out[n] = '\0';
        }
        return;
    }
    const char *sys = memmem(body, body_len, "urn:lingua:dlv", 14);
    if (!sys)
        return;
    size_t rest = body_len - (size_t)(sys - body);
    const char *val = memmem(sys, rest, "\"value\":\"", 9);
    if (!val)
        return;
    val += 9;
    const char *end = memchr(val, '"', body_len - (size_t)(val - body));
    if (end && end - val < 32) {
        memcpy(out, val, (size_t)(end - val));
        out[end - val] = '\0';
    }
}

static size_t content_length(const char *head, size_t len)
{
    for (const char *p = head; p && p < head + len;) {
        if ((size_t)(head + len - p) > 15 &&
            strncasecmp(p, "Content-Length:", 15) == 0)
            return (size_t)strtoul(p + 15, NULL, 10);
        p = memchr(p, '\n', (size_t)(head + len - p));
        if (p)
            p++;
    }
    return 0;
}

static void record(bdt *t, const char *ident, uint64_t at)
{
    pthread_mutex_lock(&t->mu);
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 65536;
        bdt_got *n = realloc(t->got, cap * sizeof(*n));
        if (!n)
            die("out of memory");
        t->got = n;
        t->cap = cap;
    }
    bdt_got *g = &t->got[t->count++];
    snprintf(g->ident, sizeof(g->ident), "%s", ident);
    g->at_us = at;
    pthread_mutex_unlock(&t->mu);
}

static void close_conn(bdt *t, conn *c)
{
    epoll_ctl(t->efd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    for (size_t i = 0; i < CONN_MAX; i++)
        if (t->conns[i] == c)
            t->conns[i] = NULL;
    free(c);
}

static bool flush_out(bdt *t, conn *c)
{
    size_t off = 0;
    while (off < c->out_len) {
        ssize_t w = write(c->fd, c->out + off, c->out_len - off);
        if (w < 0 && errno == EAGAIN)
            break;
        if (w <= 0)
            return false;
        off += (size_t)w;
    }
    memmove(c->out, c->out + off, c->out_len - off);
    c->out_len -= off;
    struct epoll_event ev = {.events = EPOLLIN | (c->out_len ? EPOLLOUT : 0u),
                             .data.ptr = c};
    epoll_ctl(t->efd, EPOLL_CTL_MOD, c->fd, &ev);
    return true;
}

/* Answer every complete request in c->in. */
static bool serve(bdt *t, conn *c)
{
    size_t off = 0;
    for (;;) {
        char *head = c->in + off;
        size_t avail = c->in_len - off;
        char *end = memmem(head, avail, "\r\n\r\n", 4);
        if (!end)
            break;
        size_t head_len = (size_t)(end - head) + 4;
        size_t body_len = content_length(head, head_len);
        if (head_len + body_len > IN_MAX)
            return false;
        if (avail < head_len + body_len)
            break;
        uint64_t at = now_us();
        char ident[32];
        ident_of(head, head_len, head + head_len, body_len, ident);
        bool conditional = memchr(head, '?', (size_t)(strchr(head, '\r') -
                                                      head)) != NULL;
        record(t, ident, at);
        if (c->out_len + 512 > OUT_MAX && !flush_out(t, c))
            return false;
        int n = snprintf(c->out + c->out_len, OUT_MAX - c->out_len,
                         "HTTP/1.1 %s\r\nLocation: http://127.0.0.1:%d/fhir/"
                         "Patient/t-%s/_history/1\r\nContent-Length: 0\r\n\r\n",
                         conditional ? "201 Created" : "200 OK", t->port,
                         ident[0] ? ident : "unknown");
        c->out_len += (size_t)n;
        off += head_len + body_len;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    return flush_out(t, c);
}

static void accept_all(bdt *t)
{
    for (;;) {
        int fd = accept4(t->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        conn *c = calloc(1, sizeof(*c));
        size_t slot = CONN_MAX;
        for (size_t i = 0; i < CONN_MAX && slot == CONN_MAX; i++)
            if (!t->conns[i])
                slot = i;
        if (!c || slot == CONN_MAX) {
            free(c);
            close(fd);
            continue;
        }
        c->fd = fd;
        t->conns[slot] = c;
        atomic_fetch_add(&t->connections, 1);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(t->efd, EPOLL_CTL_ADD, fd, &ev);
    }
}

/* The bench's peer threads run at nice -10 when allowed (root): among
 * the hub's threads (one per inbound connection) they would otherwise
 * wait for the CPU, and their timestamps (when a request left, when a
 * call arrived) would be taken late. true when it was applied. */
bool bd_peer_priority(void)
{
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), -10) == 0;
}

static void *loop(void *arg)
{
    bdt *t = arg;
    t->niced = bd_peer_priority();
    struct epoll_event evs[64];
    while (!atomic_load(&t->stop)) {
        if (atomic_load(&t->paused)) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
            continue;
        }
        int n = epoll_wait(t->efd, evs, 64, 200);
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &t->lfd) {
                accept_all(t);
                continue;
            }
            if (p == &t->wake)
                continue;
            conn *c = p;
            bool ok = true;
            if (evs[i].events & EPOLLOUT)
                ok = flush_out(t, c);
            if (ok && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                ssize_t r = read(c->fd, c->in + c->in_len,
                                 IN_MAX - c->in_len);
                if (r > 0) {
                    c->in_len += (size_t)r;
                    ok = serve(t, c);
                } else if (r == 0 || errno != EAGAIN) {
                    ok = false;
                }
            }
            if (!ok)
                close_conn(t, c);
        }
    }
    return NULL;
}

bdt *bdt_start(bool paused)
{
    bdt *t = calloc(1, sizeof(*t));
    if (!t)
        die("out of memory");
    pthread_mutex_init(&t->mu, NULL);
    atomic_store(&t->paused, paused);
    t->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (t->lfd < 0)
        die("socket");
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (bind(t->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(t->lfd, 1024) != 0 ||
        getsockname(t->lfd, (struct sockaddr *)&a, &al) != 0)
        die("listen");
    t->port = ntohs(a.sin_port);
    t->efd = epoll_create1(EPOLL_CLOEXEC);
    t->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (t->efd < 0 || t->wake < 0)
        die("epoll");
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &t->lfd};
    epoll_ctl(t->efd, EPOLL_CTL_ADD, t->lfd, &ev);
    ev.data.ptr = &t->wake;
    epoll_ctl(t->efd, EPOLL_CTL_ADD, t->wake, &ev);
    if (pthread_create(&t->th, NULL, loop, t) != 0)
        die("thread");
    return t;
}

int bdt_port(const bdt *t) { return t->port; }

void bdt_release(bdt *t) { atomic_store(&t->paused, false); }

size_t bdt_count(bdt *t)
{
    pthread_mutex_lock(&t->mu);
    size_t n = t->count;
    pthread_mutex_unlock(&t->mu);
    return n;
}

bdt_got bdt_get(bdt *t, size_t i)
{
    pthread_mutex_lock(&t->mu);
    bdt_got g = i < t->count ? t->got[i] : (bdt_got){"", 0};
    pthread_mutex_unlock(&t->mu);
    return g;
}

int bdt_wait(bdt *t, size_t n, int timeout_ms)
{
    uint64_t deadline = now_us() + (uint64_t)timeout_ms * 1000u;
    while (bdt_count(t) < n) {
        if (now_us() >= deadline)
            return -1;
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

size_t bdt_connections(bdt *t) { return atomic_load(&t->connections); }

void bdt_stop(bdt **tp)
{
    bdt *t = *tp;
    if (!t)
        return;
    *tp = NULL;
    atomic_store(&t->stop, true);
    uint64_t one = 1;
    if (write(t->wake, &one, sizeof(one)) < 0)
        perror("bench target: wake");
    pthread_join(t->th, NULL);
    for (size_t i = 0; i < CONN_MAX; i++)
        if (t->conns[i]) {
            close(t->conns[i]->fd);
            free(t->conns[i]);
        }
    close(t->lfd);
    close(t->efd);
    close(t->wake);
    free(t->got);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* ---- the inbound load ---- */

#define BDL_IN_MAX (64 * 1024)
#define BDL_REQ_MAX 4096
#define BDL_LATE_US 1000u

typedef struct bdl_conn {
    int fd;
    long j;             /* request in flight, -1: idle */
    char in[BDL_IN_MAX];
    size_t in_len;
    char out[BDL_REQ_MAX];
    size_t out_len, out_off;
    struct bdl_conn *next_idle;
} bdl_conn;

typedef struct bdl {
    const bdl_opts *o;
    bdl_result *r;
    int efd, tfd;
    bdl_conn **conns;
    unsigned nconns, open;
    bdl_conn *idle;
    size_t next;        /* next request to send */
    size_t answered;
    size_t waiting;     /* the request counted in waited_conn, or SIZE_MAX */
} bdl;

static void bdl_idle_push(bdl *g, bdl_conn *c)
{
    c->j = -1;
    c->next_idle = g->idle;
    g->idle = c;
}

/* Open a connection (reusing the memory of a closed one) and make it
 * idle. */
static bdl_conn *bdl_connect(bdl *g)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("load: socket");
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)g->o->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        die("load: connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)
        die("load: fcntl");
    bdl_conn *c = NULL;
    for (unsigned i = 0; i < g->nconns && !c; i++)
        if (g->conns[i]->fd < 0)
            c = g->conns[i];
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c)
            die("out of memory");
        g->conns[g->nconns++] = c;
    }
    c->fd = fd;
    c->in_len = 0;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(g->efd, EPOLL_CTL_ADD, fd, &ev) != 0)
        die("load: epoll_ctl");
    g->open++;
    if (g->open > g->r->conns_peak)
        g->r->conns_peak = g->open;
    bdl_idle_push(g, c);
    return c;
}

static void bdl_close(bdl *g, bdl_conn *c)
{
    for (bdl_conn **p = &g->idle; *p; p = &(*p)->next_idle)
        if (*p == c) {
            *p = c->next_idle;
            break;
        }
    epoll_ctl(g->efd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    g->open--;
}

/* Write what is left of c's request; false when the connection failed. */
static bool bdl_flush(bdl *g, bdl_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (w < 0 && errno == EAGAIN)
            break;
        if (w <= 0)
            return false;
        c->out_off += (size_t)w;
    }
    struct epoll_event ev = {
        .events = EPOLLIN | (c->out_off < c->out_len ? EPOLLOUT : 0u),
        .data.ptr = c};
    epoll_ctl(g->efd, EPOLL_CTL_MOD, c->fd, &ev);
    return true;
}

/* Send request j on an idle connection. */
static void bdl_send(bdl *g, bdl_conn *c, size_t j, uint64_t now)
{
    const bdl_opts *o = g->o;
    size_t body_len = strlen(o->body_pre) + strlen(o->prefix) +
                      (size_t)snprintf(NULL, 0, "%zu", j) +
                      strlen(o->body_post);
    int n = snprintf(c->out, sizeof(c->out),
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                     "Content-Type: application/fhir+json\r\n"
                     "Content-Length: %zu\r\n\r\n%s%s%zu%s",
                     o->path, o->port, body_len, o->body_pre, o->prefix, j,
                     o->body_post);
    if (n < 0 || (size_t)n >= sizeof(c->out)) {
        fprintf(stderr, "bench load: request over %d bytes\n", BDL_REQ_MAX);
        abort();
    }
    c->out_len = (size_t)n;
    c->out_off = 0;
    c->in_len = 0;
    c->j = (long)j;
    g->r->sent_us[j] = now;
    g->r->sent++;
    if (o->rate > 0 && now > g->r->due_us[j] + BDL_LATE_US) {
        g->r->late++;
        if (now - g->r->due_us[j] > g->r->late_max_us)
            g->r->late_max_us = now - g->r->due_us[j];
    }
    if (!bdl_flush(g, c)) {
        fprintf(stderr, "bench load: the hub closed a connection\n");
        abort();
    }
}

/* A complete response in c->in: its total length, 0 when incomplete. */
static size_t bdl_response(bdl_conn *c, long *status, bool *close_after)
{
    char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head_len = (size_t)(end - c->in) + 4;
    if (memmem(c->in, head_len, "chunked", 7)) {
        fprintf(stderr, "bench load: a chunked answer (not supported)\n");
        abort();
    }
    size_t total = head_len + content_length(c->in, head_len);
    if (c->in_len < total)
        return 0;
    *status = c->in_len > 12 ? strtol(c->in + 9, NULL, 10) : 0;
    *close_after = memmem(c->in, head_len, "Connection: close", 17) != NULL ||
                   memmem(c->in, head_len, "connection: close", 17) != NULL;
    return total;
}

static void bdl_answer(bdl *g, bdl_conn *c, long status, uint64_t now)
{
    size_t j = (size_t)c->j;
    bdl_result *r = g->r;
    if (status == 201) {
        r->ack_us[j] = now;
        r->ok++;
    } else {
        r->errors++;
        if (!r->first_error_status)
            r->first_error_status = status;
    }
    if (now > r->end_us)
        r->end_us = now;
    g->answered++;
}

static void bdl_arm(bdl *g, uint64_t at_us)
{
    /* CLOCK_MONOTONIC: the same clock as now_us(). */
    struct itimerspec its = {
        .it_value = {(time_t)(at_us / 1000000u),
                     (long)(at_us % 1000000u) * 1000 + 1}};
    timerfd_settime(g->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

void bdl_run(const bdl_opts *o, bdl_result *r)
{
    memset(r, 0, sizeof(*r));
    size_t n = o->count;
    bool open_loop = o->rate > 0;
    unsigned conns_max = open_loop ? o->conns_max : o->conns;
    if (conns_max < o->conns)
        conns_max = o->conns;
    r->due_us = calloc(n, sizeof(*r->due_us));
    r->sent_us = calloc(n, sizeof(*r->sent_us));
    r->ack_us = calloc(n, sizeof(*r->ack_us));
    bdl g = {.o = o, .r = r, .waiting = SIZE_MAX};
    r->niced = bd_peer_priority();
    g.conns = calloc(conns_max, sizeof(*g.conns));
    if (!r->due_us || !r->sent_us || !r->ack_us || !g.conns)
        die("out of memory");
    g.efd = epoll_create1(EPOLL_CLOEXEC);
    g.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (g.efd < 0 || g.tfd < 0)
        die("load: epoll");
    struct epoll_event tev = {.events = EPOLLIN, .data.ptr = &g.tfd};
    epoll_ctl(g.efd, EPOLL_CTL_ADD, g.tfd, &tev);
    for (unsigned i = 0; i < o->conns; i++)
        bdl_connect(&g);
    uint64_t t0 = now_us() + 20000;
    r->t0_us = t0;
    uint64_t stop_at = t0 + (uint64_t)(o->seconds * 1e6);
    if (open_loop)
        for (size_t j = 0; j < n; j++)
            r->due_us[j] = t0 + (uint64_t)((double)j * 1e6 / o->rate);
    bdl_arm(&g, t0);
    bool started = false;
    uint64_t give_up = t0 + 600000000u; /* bounded: 10 minutes */
    struct epoll_event evs[64];
    for (;;) {
        uint64_t now = now_us();
        /* Send what is due (closed loop: on every idle connection while
         * the time lasts). */
        if (started) {
            for (;;) {
                if (g.next >= n)
                    break;
                if (open_loop ? r->due_us[g.next] > now : now >= stop_at)
                    break;
                bdl_conn *c = g.idle;
                if (!c && g.open < conns_max)
                    c = bdl_connect(&g);
                if (!c) {
                    if (open_loop && g.waiting != g.next) {
                        g.waiting = g.next;
                        r->waited_conn++;
                    }
                    break;
                }
                g.idle = c->next_idle;
                if (!open_loop)
                    r->due_us[g.next] = now;
                bdl_send(&g, c, g.next++, now);
            }
        }
        bool sending_over = g.next >= n || (!open_loop && started &&
                                            now >= stop_at);
        if (sending_over && g.answered == r->sent)
            break;
        if (now > give_up) {
            fprintf(stderr, "bench load: %zu answers missing after 10 "
                            "minutes\n", r->sent - g.answered);
            break;
        }
        if (open_loop && g.next < n && (g.idle || g.open < conns_max))
            bdl_arm(&g, r->due_us[g.next]);
        else if (!open_loop && !started)
            bdl_arm(&g, t0);
        else if (!open_loop && !sending_over)
            bdl_arm(&g, stop_at);
        int k = epoll_wait(g.efd, evs, 64, 1000);
        now = now_us();
        for (int i = 0; i < k; i++) {
            if (evs[i].data.ptr == &g.tfd) {
                uint64_t v;
                if (read(g.tfd, &v, sizeof(v)) < 0) {
                    /* EAGAIN: re-armed meanwhile */
                }
                started = true;
                continue;
            }
            bdl_conn *c = evs[i].data.ptr;
            if (c->fd < 0)
                continue;
            if ((evs[i].events & EPOLLOUT) && !bdl_flush(&g, c))
                die("load: write");
            if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                continue;
            ssize_t rd = read(c->fd, c->in + c->in_len,
                              sizeof(c->in) - c->in_len);
            if (rd < 0 && errno == EAGAIN)
                continue;
            if (rd <= 0) {
                if (c->j >= 0)
                    bdl_answer(&g, c, -1, now);
                bdl_close(&g, c);
                continue;
            }
            c->in_len += (size_t)rd;
            long status = 0;
            bool close_after = false;
            size_t len = bdl_response(c, &status, &close_after);
            if (len == 0) {
                if (c->in_len == sizeof(c->in))
                    die("load: answer too large");
                continue;
            }
            if (c->j >= 0)
                bdl_answer(&g, c, status, now);
            if (close_after) {
                bdl_close(&g, c);
                continue;
            }
            bdl_idle_push(&g, c);
        }
        if (!started && now >= t0)
            started = true;
    }
    for (unsigned i = 0; i < g.nconns; i++) {
        if (g.conns[i]->fd >= 0)
            bdl_close(&g, g.conns[i]);
        free(g.conns[i]);
    }
    free(g.conns);
    close(g.efd);
    close(g.tfd);
}

void bdl_result_fini(bdl_result *r)
{
    free(r->due_us);
    free(r->sent_us);
    free(r->ack_us);
    memset(r, 0, sizeof(*r));
}
