/* adapters/rest/rest_poll.c: see rest_poll.h. */
#define _POSIX_C_SOURCE 200809L
#include "adapters/rest/rest_poll.h"
#include "adapters/rest/rest_pointer.h"
#include "adapters/rest/rest_template.h"
#include "core/http_client.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define URL_MAX 4096

struct lx_rest_poll {
    char *instance;
    char key[LX_STORE_KEY_MAX + 1];
    lx_store *store;
    lx_rest_auth *auth;
    lx_rest_page_fn page;
    void *ctx;
    char *url;        /* template with {cursor} */
    char origin[256]; /* scheme://host:port of url, for relative next URLs */
    char *items, *next, *initial_cursor;
    char *cursor_item, *cursor_body; /* one of them, or neither */
    unsigned interval_ms, max_pages;
    long timeout_ms;
    lx_http_client *http;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    atomic_uint_fast64_t pages;
};

static int bad(lx_error *err, const char *member, const char *what)
{
    return lx_error_set(err, LX_ECONFIG, "poll/%s: %s", member, what);
}

static int pointer_member(const json_t *conf, const char *member,
                          char **out, lx_error *err)
{
    json_t *v = json_object_get(conf, member);
    if (!v)
        return 0;
    if (!json_is_string(v) || !lx_rest_pointer_valid(json_string_value(v)))
        return bad(err, member, "a JSON pointer is needed (\"/items\")");
    *out = lx_xstrdup(json_string_value(v));
    return 0;
}

static bool cursor_var(const char *name)
{
    return strcmp(name, "cursor") == 0;
}

static int uint_member(const json_t *conf, const char *member, unsigned def,
                       unsigned lo, unsigned hi, unsigned *out, lx_error *err)
{
    json_t *v = json_object_get(conf, member);
    *out = def;
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi) {
        char what[64];
        snprintf(what, sizeof(what), "an integer in %u..%u", lo, hi);
        return bad(err, member, what);
    }
    *out = (unsigned)json_integer_value(v);
    return 0;
}

static int configure(lx_rest_poll *p, const json_t *conf, lx_error *err)
{
    if (!json_is_object(conf))
        return lx_error_set(err, LX_ECONFIG, "poll: an object with a \"url\" "
                                             "is needed");
    const char *url = lx_json_str(conf, "url");
    if (!url || (strncmp(url, "http://", 7) != 0 &&
                 strncmp(url, "https://", 8) != 0))
        return bad(err, "url", "an http(s) URL is needed");
    int rc = lx_rest_template_check(url, cursor_var, err);
    if (rc != 0) {
        lx_error_prefix(err, "poll/url");
        return err->code = LX_ECONFIG;
    }
    p->url = lx_xstrdup(url);
    const char *host = strstr(url, "://") + 3;
    size_t n = (size_t)(host - url) + strcspn(host, "/?#");
    snprintf(p->origin, sizeof(p->origin), "%.*s", (int)n, url);
    if ((rc = pointer_member(conf, "items", &p->items, err)) ||
        (rc = pointer_member(conf, "next", &p->next, err)))
        return rc;
    const char *from = lx_json_str(conf, "cursor_from");
    if (from) {
        if (strncmp(from, "item:", 5) == 0 &&
            lx_rest_pointer_valid(from + 5))
            p->cursor_item = lx_xstrdup(from + 5);
        else if (strncmp(from, "body:", 5) == 0 &&
                 lx_rest_pointer_valid(from + 5))
            p->cursor_body = lx_xstrdup(from + 5);
        else
            return bad(err, "cursor_from", "\"item:/pointer\" (in the page's "
                                           "last record) or \"body:/pointer\" "
                                           "(in the page)");
    }
    const char *init = lx_json_str(conf, "initial_cursor");
    p->initial_cursor = lx_xstrdup(init ? init : "");
    unsigned timeout = 0;
    if ((rc = uint_member(conf, "interval_ms", 5000, 10, 86400000,
                          &p->interval_ms, err)) ||
        (rc = uint_member(conf, "max_pages", 100, 1, 100000, &p->max_pages,
                          err)) ||
        (rc = uint_member(conf, "timeout_ms", 10000, 1, 600000, &timeout,
                          err)))
        return rc;
    p->timeout_ms = timeout;
    return 0;
}

/* The saved position: cursor and next-page URL (both malloc'd, next may
 * be NULL). */
static int load_state(lx_rest_poll *p, char **cursor, char **next,
                      lx_error *err)
{
    *cursor = NULL;
    *next = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = lx_store_state_get(p->store, p->key, &text, &len, err);
    if (rc == LX_ENOTFOUND) {
        *cursor = lx_xstrdup(p->initial_cursor);
        return 0;
    }
    if (rc != 0)
        return rc;
    json_t *st = json_loadb(text, len, 0, NULL);
    free(text);
    const char *c = lx_json_str(st, "cursor");
    const char *n = lx_json_str(st, "next");
    *cursor = lx_xstrdup(c ? c : p->initial_cursor);
    *next = n && *n ? lx_xstrdup(n) : NULL;
    json_decref(st);
    return 0;
}

static int save_state(lx_rest_poll *p, const char *cursor, const char *next,
                      lx_error *err)
{
    json_t *st = json_pack("{s:s,s:s?}", "cursor", cursor, "next", next);
    char *text = json_dumps(st, JSON_COMPACT);
    json_decref(st);
    int rc = lx_store_state_put(p->store, p->key, text, strlen(text), err);
    free(text);
    return rc;
}

static const char *cursor_value(void *ctx, const char *name, char *scratch,
                                size_t size)
{
    (void)name, (void)scratch, (void)size;
    return ctx;
}

/* GET one page: 0 with *doc, or an error (logged by the caller). */
static int fetch(lx_rest_poll *p, const char *url, json_t **doc,
                 lx_error *err)
{
    *doc = NULL;
    int rc = 0;
    lx_http_result res;
    memset(&res, 0, sizeof(res));
    for (int attempt = 0; attempt < 2; attempt++) {
        char *auth = NULL;
        rc = lx_rest_auth_header(p->auth, attempt > 0, p->timeout_ms, &auth,
                                 err);
        if (rc != 0)
            return rc;
        lx_http_call call = {.method = "GET",
                             .url = url,
                             .headers = {"Accept: application/json", auth},
                             .timeout_ms = p->timeout_ms};
        lx_http_result_fini(&res);
        rc = lx_http_client_perform(p->http, &call, &res, err);
        free(auth);
        /* A 401 under OAuth2: the token may have been revoked; one more
         * try with a new one. */
        if (rc != 0 || res.status != 401 || !lx_rest_auth_is_dynamic(p->auth))
            break;
    }
    if (rc == 0 && (res.status < 200 || res.status > 299))
        rc = lx_error_set(err, LX_EREMOTE, "the system answered %ld",
                          res.status);
    if (rc == 0)
        rc = lx_json_parse(res.body ? res.body : "", res.body_len, "page",
                           LX_JSON_MAX_DEFAULT, doc, err);
    lx_http_result_fini(&res);
    return rc;
}

/* One page: fetch, store, move the cursor. *more when a next page is to
 * be fetched now. */
static int one_page(lx_rest_poll *p, bool *more, lx_error *err)
{
    *more = false;
    char *cursor = NULL, *next = NULL;
    int rc = load_state(p, &cursor, &next, err);
    if (rc != 0)
        return rc;
    char url[URL_MAX];
    if (next)
        snprintf(url, sizeof(url), "%s", next);
    else
        rc = lx_rest_template_expand(p->url, cursor_value, cursor, false, url,
                                     sizeof(url), err);
    json_t *doc = NULL;
    if (rc == 0)
        rc = fetch(p, url, &doc, err);
    const json_t *list = doc;
    if (rc == 0 && p->items)
        list = lx_rest_pointer_get(doc, p->items);
    if (rc == 0 && !json_is_array(list)) {
        rc = lx_error_set(err, LX_EINVAL, "%s: a list of records is needed "
                                          "here",
                          p->items ? p->items : "page");
        lx_error_at(err, p->items ? p->items : "", 0, 0);
    }
    if (rc == 0 && json_array_size(list))
        rc = p->page(p->ctx, list, p->items ? p->items : "", err);
    if (rc == 0) {
        char val[1024];
        const json_t *c = NULL;
        size_t n = json_array_size(list);
        if (p->cursor_item && n)
            c = lx_rest_pointer_get(json_array_get(list, n - 1),
                                    p->cursor_item);
        else if (p->cursor_body)
            c = lx_rest_pointer_get(doc, p->cursor_body);
        if (c && lx_rest_scalar_text(c, val, sizeof(val))) {
            free(cursor);
            cursor = lx_xstrdup(val);
        }
        const char *nx = p->next ? json_string_value(
                                       lx_rest_pointer_get(doc, p->next))
                                 : NULL;
        char nurl[URL_MAX] = "";
        if (nx && *nx) {
            bool absolute = strncmp(nx, "http://", 7) == 0 ||
                            strncmp(nx, "https://", 8) == 0;
            if (!absolute && nx[0] != '/')
                rc = lx_error_set(err, LX_EINVAL, "%s: the next page is "
                                                  "neither a URL nor a path",
                                  p->next);
            else
                snprintf(nurl, sizeof(nurl), "%s%s",
                         absolute ? "" : p->origin, nx);
        }
        if (rc == 0)
            rc = save_state(p, cursor, nurl[0] ? nurl : NULL, err);
        if (rc == 0) {
            atomic_fetch_add(&p->pages, 1);
            *more = nurl[0] != '\0';
        }
    }
    json_decref(doc);
    free(cursor);
    free(next);
    return rc;
}

/* Wait up to ms or until stopped; true when stopped. */
static bool pause_ms(lx_rest_poll *p, unsigned ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->mu);
    while (!p->stop &&
           pthread_cond_timedwait(&p->cv, &p->mu, &until) == 0)
        ;
    bool stop = p->stop;
    pthread_mutex_unlock(&p->mu);
    return stop;
}

static bool stopping(lx_rest_poll *p)
{
    pthread_mutex_lock(&p->mu);
    bool stop = p->stop;
    pthread_mutex_unlock(&p->mu);
    return stop;
}

static void *run(void *arg)
{
    lx_rest_poll *p = arg;
    do {
        for (unsigned i = 0; i < p->max_pages && !stopping(p); i++) {
            lx_error err;
            lx_error_clear(&err);
            bool more = false;
            if (one_page(p, &more, &err) != 0) {
                if (err.code == LX_ECLOSED)
                    break; /* the hub is stopping: the page waits */
                lx_log_error(NULL, "poll %s: page refused, the cursor stays: "
                                   "%s%s%s",
                             p->instance, err.where[0] ? err.where : "",
                             err.where[0] ? ": " : "", err.msg);
                break;
            }
            if (!more)
                break;
        }
    } while (!pause_ms(p, p->interval_ms));
    return NULL;
}

static void destroy(lx_rest_poll *p)
{
    free(p->instance);
    free(p->url);
    free(p->items);
    free(p->next);
    free(p->initial_cursor);
    free(p->cursor_item);
    free(p->cursor_body);
    lx_http_client_destroy(&p->http);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int lx_rest_poll_start(const lx_rest_poll_options *opts, lx_rest_poll **out,
                       lx_error *err)
{
    *out = NULL;
    lx_rest_poll *p = lx_xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    p->instance = lx_xstrdup(opts->instance);
    snprintf(p->key, sizeof(p->key), "poll/%s", opts->instance);
    p->store = opts->store;
    p->auth = opts->auth;
    p->page = opts->page;
    p->ctx = opts->ctx;
    int rc = configure(p, opts->conf, err);
    if (rc == 0)
        rc = lx_http_client_new(&p->http, err);
    if (rc == 0 && pthread_create(&p->thread, NULL, run, p) != 0)
        rc = lx_error_set(err, LX_EIO, "poll %s: cannot start a thread",
                          opts->instance);
    if (rc != 0) {
        destroy(p);
        return rc;
    }
    *out = p;
    return 0;
}

void lx_rest_poll_stop(lx_rest_poll **pp)
{
    lx_rest_poll *p = *pp;
    if (!p)
        return;
    *pp = NULL;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    destroy(p);
}

uint64_t lx_rest_poll_pages(lx_rest_poll *p)
{
    return atomic_load(&p->pages);
}
