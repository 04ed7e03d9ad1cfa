/* core/http_client.c: see http_client.h. The only file that includes
 * curl/curl.h. */
#include "core/http_client.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/mem.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define BODY_MAX_DEFAULT ((size_t)16 << 20)

typedef struct sink {
    lx_buf body;
    lx_http_result *res;
    bool too_large;
} sink;

/* An easy handle with what stays from call to call: the options that
 * never change are set once (not reset and set again for every call), the
 * header list is rebuilt only when the call's headers differ from the last
 * call's, the timeouts set only when they change. ~8,000 instructions a
 * call of curl_easy_reset and setopt, and the list's allocations. */
typedef struct handle {
    CURL *h;
    sink s;
    struct curl_slist *headers; /* the last call's, "Expect:" last */
    long timeout_ms, connect_timeout_ms; /* as set, 0: not yet */
} handle;

struct lx_http_client {
    handle hd;
    size_t max_body;
};

static int handle_init(handle *hd, void *private);
static void handle_fini(handle *hd);

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static void global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

int lx_http_client_new(lx_http_client **out, lx_error *err)
{
    *out = NULL;
    pthread_once(&global_once, global_init);
    lx_http_client *c = lx_xcalloc(1, sizeof(*c));
    if (handle_init(&c->hd, NULL) != 0) {
        free(c);
        return lx_error_set(err, LX_EIO, "cannot initialise libcurl");
    }
    c->max_body = BODY_MAX_DEFAULT;
    *out = c;
    return 0;
}

void lx_http_client_destroy(lx_http_client **cp)
{
    lx_http_client *c = *cp;
    if (!c)
        return;
    *cp = NULL;
    handle_fini(&c->hd);
    free(c);
}

void lx_http_result_fini(lx_http_result *res)
{
    free(res->body);
    res->body = NULL;
    res->body_len = 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    sink *s = ud;
    if (lx_buf_append(&s->body, p, size * n) != 0) {
        s->too_large = true;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    return size * n;
}

/* Copy the value of header `name` from a raw header line. */
static void take_header(const char *line, size_t len, const char *name,
                        char *out, size_t size)
{
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t vl = (size_t)(end - v);
    if (vl >= size)
        vl = size - 1;
    memcpy(out, v, vl);
    out[vl] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    sink *s = ud;
    size_t len = size * n;
    take_header(p, len, "Location", s->res->location,
                sizeof(s->res->location));
    take_header(p, len, "ETag", s->res->etag, sizeof(s->res->etag));
    take_header(p, len, "Content-Type", s->res->content_type,
                sizeof(s->res->content_type));
    return len;
}

/* Whether the handle's header list is the one `call` needs. */
static bool same_headers(const struct curl_slist *l, const lx_http_call *call)
{
    size_t i = 0;
    for (; i < LX_HTTP_CALL_HEADERS_MAX && call->headers[i]; i++, l = l->next)
        if (!l || strcmp(l->data, call->headers[i]) != 0)
            return false;
    return l && !l->next && strcmp(l->data, "Expect:") == 0;
}

/* Set up the handle for `call`, the result to fill being res. Every
 * option a previous call may have left is set again here: the method
 * (HTTPGET clears a POST's body and a HEAD's NOBODY), the body, the URL,
 * the headers. */
static void setup(handle *hd, const lx_http_call *call, lx_http_result *res,
                  size_t max_body)
{
    CURL *h = hd->h;
    lx_buf_init(&hd->s.body, max_body);
    hd->s.res = res;
    hd->s.too_large = false;
    if (!hd->headers || !same_headers(hd->headers, call)) {
        curl_slist_free_all(hd->headers);
        hd->headers = NULL;
        for (size_t i = 0; i < LX_HTTP_CALL_HEADERS_MAX && call->headers[i];
             i++)
            hd->headers = curl_slist_append(hd->headers, call->headers[i]);
        /* curl adds "Expect: 100-continue" for large bodies: one round
         * trip more per call, for nothing. */
        hd->headers = curl_slist_append(hd->headers, "Expect:");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd->headers);
    }
    curl_easy_setopt(h, CURLOPT_URL, call->url);
    if (!call->body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call->method);
    if (strcmp(call->method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (call->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, call->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)call->body_len);
    }
    long t = call->timeout_ms > 0 ? call->timeout_ms : 10000L;
    if (t != hd->timeout_ms)
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, hd->timeout_ms = t);
    t = call->connect_timeout_ms > 0 ? call->connect_timeout_ms : 3000L;
    if (t != hd->connect_timeout_ms)
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                         hd->connect_timeout_ms = t);
}

/* A new handle with the options every call shares; private is what
 * CURLINFO_PRIVATE answers (the multi's transfer). Returns -1 when curl
 * cannot make one. */
static int handle_init(handle *hd, void *private)
{
    memset(hd, 0, sizeof(*hd));
    hd->h = curl_easy_init();
    if (!hd->h)
        return -1;
    CURL *h = hd->h;
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &hd->s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hd->s);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    /* Only http and https: a target URL must never read local files. */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    if (private)
        curl_easy_setopt(h, CURLOPT_PRIVATE, private);
    return 0;
}

static void handle_fini(handle *hd)
{
    curl_easy_cleanup(hd->h);
    curl_slist_free_all(hd->headers);
    lx_buf_fini(&hd->s.body);
    memset(hd, 0, sizeof(*hd));
}

/* After the transfer: status, timing and body into s->res; the error. */
static int finish(CURL *h, CURLcode cc, const lx_http_call *call, sink *s,
                  lx_error *err)
{
    lx_http_result *res = s->res;
    double secs = 0;
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &secs);
    res->elapsed_ms = secs * 1000.0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
    res->body = lx_buf_take(&s->body, &res->body_len);
    if (cc == CURLE_OK)
        return 0;
    int code = s->too_large                    ? LX_ELIMIT
               : cc == CURLE_OPERATION_TIMEDOUT ? LX_ETIMEOUT
                                               : LX_EREMOTE;
    lx_error_set(err, code, "%s %s: %s", call->method, call->url,
                 s->too_large ? "response body over the limit"
                              : curl_easy_strerror(cc));
    if (err)
        err->lib_code = (int)cc;
    return code;
}

int lx_http_client_perform(lx_http_client *c, const lx_http_call *call,
                           lx_http_result *res, lx_error *err)
{
    memset(res, 0, sizeof(*res));
    setup(&c->hd, call, res, c->max_body);
    CURLcode cc = curl_easy_perform(c->hd.h);
    return finish(c->hd.h, cc, call, &c->hd.s, err);
}

/* ---- multi ---- */

/* One transfer: an easy handle kept for reuse, its call and result. */
typedef struct xfer {
    handle hd;
    lx_http_result res;
    const lx_http_call *call;
    void *tag;
    struct xfer *next; /* free list or in-flight list */
} xfer;

/* Driven by curl_multi_socket_action on an epoll set of the sockets curl
 * asks for (CURLMOPT_SOCKETFUNCTION) and its timer (TIMERFUNCTION): each
 * pass touches the connections that are ready, not every transfer (with
 * curl_multi_perform every call in flight costs a recv() per pass). */
struct lx_http_multi {
    CURLM *m;
    xfer *free_list;
    xfer *in_flight;
    size_t active;
    int still_running;
    int epfd;
    int wake;          /* eventfd: lx_http_multi_wakeup */
    long timer_ms;     /* curl's timeout, -1 none */
    uint64_t timer_at; /* monotonic ms when it was set */
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *ud,
                     void *sock_ud)
{
    (void)easy;
    (void)sock_ud;
    lx_http_multi *m = ud;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(m->epfd, EPOLL_CTL_DEL, fd, NULL);
        return 0;
    }
    struct epoll_event ev = {
        .events = (what & CURL_POLL_IN ? EPOLLIN : 0u) |
                  (what & CURL_POLL_OUT ? EPOLLOUT : 0u),
        .data.fd = fd};
    if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, fd, &ev) != 0)
        epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *ud)
{
    (void)multi;
    lx_http_multi *m = ud;
    m->timer_ms = timeout_ms;
    m->timer_at = mono_ms();
    return 0;
}

/* Run curl's timeouts when due; true when it ran. */
static bool run_timer(lx_http_multi *m)
{
    if (m->timer_ms < 0 || mono_ms() < m->timer_at + (uint64_t)m->timer_ms)
        return false;
    m->timer_ms = -1;
    curl_multi_socket_action(m->m, CURL_SOCKET_TIMEOUT, 0,
                             &m->still_running);
    return true;
}

int lx_http_multi_new(unsigned max_conns, lx_http_multi **out, lx_error *err)
{
    *out = NULL;
    if (max_conns < 1 || max_conns > 1024)
        return lx_error_set(err, LX_EINVAL, "connections per host: 1..1024");
    pthread_once(&global_once, global_init);
    lx_http_multi *m = lx_xcalloc(1, sizeof(*m));
    m->m = curl_multi_init();
    if (!m->m) {
        free(m);
        return lx_error_set(err, LX_EIO, "cannot initialise libcurl multi");
    }
    /* More calls than connections wait inside curl for a free one rather
     * than opening connections the target did not ask for. */
    curl_multi_setopt(m->m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)max_conns);
    curl_multi_setopt(m->m, CURLMOPT_MAXCONNECTS, (long)max_conns * 2);
    curl_multi_setopt(m->m, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(m->m, CURLMOPT_SOCKETDATA, m);
    curl_multi_setopt(m->m, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(m->m, CURLMOPT_TIMERDATA, m);
    m->timer_ms = -1;
    m->epfd = epoll_create1(EPOLL_CLOEXEC);
    m->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = m->wake};
    if (m->epfd < 0 || m->wake < 0 ||
        epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->wake, &ev) != 0) {
        if (m->epfd >= 0)
            close(m->epfd);
        if (m->wake >= 0)
            close(m->wake);
        curl_multi_cleanup(m->m);
        free(m);
        return lx_error_set(err, LX_EIO, "cannot create an epoll set");
    }
    *out = m;
    return 0;
}

void lx_http_multi_destroy(lx_http_multi **mp)
{
    lx_http_multi *m = *mp;
    if (!m)
        return;
    *mp = NULL;
    /* Transfers in flight are attached to the multi: remove them first. */
    while (m->in_flight) {
        xfer *x = m->in_flight;
        m->in_flight = x->next;
        curl_multi_remove_handle(m->m, x->hd.h);
        handle_fini(&x->hd);
        free(x);
    }
    while (m->free_list) {
        xfer *x = m->free_list;
        m->free_list = x->next;
        handle_fini(&x->hd);
        free(x);
    }
    curl_multi_cleanup(m->m);
    close(m->epfd);
    close(m->wake);
    free(m);
}

int lx_http_multi_start(lx_http_multi *m, const lx_http_call *call,
                        void *tag, lx_error *err)
{
    xfer *x = m->free_list;
    if (x) {
        m->free_list = x->next;
    } else {
        x = lx_xcalloc(1, sizeof(*x));
        if (handle_init(&x->hd, x) != 0) {
            free(x);
            return lx_error_set(err, LX_EIO, "cannot initialise libcurl");
        }
    }
    memset(&x->res, 0, sizeof(x->res));
    x->call = call;
    x->tag = tag;
    x->next = NULL;
    setup(&x->hd, call, &x->res, BODY_MAX_DEFAULT);
    if (curl_multi_add_handle(m->m, x->hd.h) != CURLM_OK) {
        lx_buf_fini(&x->hd.s.body);
        x->next = m->free_list;
        m->free_list = x;
        return lx_error_set(err, LX_EIO, "%s %s: cannot start the call",
                            call->method, call->url);
    }
    x->next = m->in_flight;
    m->in_flight = x;
    m->active++;
    return 0;
}

void lx_http_multi_poll(lx_http_multi *m, int timeout_ms)
{
    int before = m->still_running;
    run_timer(m); /* a call just started waits for this */
    /* Whatever is finished is answered before waiting. */
    if (m->still_running < before || m->still_running < (int)m->active)
        timeout_ms = 0;
    if (m->timer_ms >= 0) {
        uint64_t due = m->timer_at + (uint64_t)m->timer_ms, now = mono_ms();
        long left = due > now ? (long)(due - now) : 0;
        if (left < timeout_ms)
            timeout_ms = (int)left;
    }
    struct epoll_event evs[64];
    int n = epoll_wait(m->epfd, evs, 64, timeout_ms < 0 ? 0 : timeout_ms);
    for (int i = 0; i < n; i++) {
        if (evs[i].data.fd == m->wake) {
            uint64_t v;
            if (read(m->wake, &v, sizeof(v)) < 0) {
                /* EAGAIN: another poll took it already. */
            }
            continue;
        }
        int flags = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                    (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                    (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR
                                                           : 0);
        curl_multi_socket_action(m->m, evs[i].data.fd, flags,
                                 &m->still_running);
    }
    run_timer(m);
}

bool lx_http_multi_done(lx_http_multi *m, void **tag, lx_http_result *res,
                        int *rc, lx_error *err)
{
    int left = 0;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(m->m, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        xfer *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        CURLcode cc = msg->data.result;
        curl_multi_remove_handle(m->m, x->hd.h);
        for (xfer **p = &m->in_flight; *p; p = &(*p)->next)
            if (*p == x) {
                *p = x->next;
                break;
            }
        *rc = finish(x->hd.h, cc, x->call, &x->hd.s, err);
        *res = x->res;
        *tag = x->tag;
        memset(&x->res, 0, sizeof(x->res));
        x->next = m->free_list;
        m->free_list = x;
        m->active--;
        return true;
    }
    return false;
}

size_t lx_http_multi_active(const lx_http_multi *m) { return m->active; }

void lx_http_multi_wakeup(lx_http_multi *m)
{
    uint64_t one = 1;
    if (write(m->wake, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is full, a wakeup is pending anyway. */
    }
}

char *lx_http_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = lx_xmalloc(3 * n + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
            (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
            *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}
