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
#include <sys/socket.h>
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

static void *loop(void *arg)
{
    bdt *t = arg;
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
