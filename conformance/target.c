/* conformance/target.c: see target.h. */
#include "conformance/target.h"
#include "core/http_server.h"
#include "core/mem.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#define TARGET_BASE "/target"

struct lx_conform_target {
    lx_http_server *srv;
    char url[64];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    json_t *calls;   /* recorded calls */
    json_t *headers; /* names to record */
    json_t *query;
    unsigned next_id;
    bool plain; /* answer as a plain JSON API (lx_conform_target_plain) */
};

static void record(void *ctx, const lx_http_request *req,
                   lx_http_response *resp)
{
    lx_conform_target *t = ctx;
    const char *path = lx_http_path(req);
    const char *method = lx_http_method(req);
    size_t bl = strlen(TARGET_BASE);
    const char *rel = strncmp(path, TARGET_BASE, bl) == 0 ? path + bl : path;
    size_t len = 0;
    const char *body = lx_http_body(req, &len);
    json_t *call = json_pack("{s:s,s:s,s:s%}", "method", method, "path", rel,
                             "body", body ? body : "", body ? len : 0);
    if (!call) /* not UTF-8: keep what can be shown */
        call = json_pack("{s:s,s:s,s:s}", "method", method, "path", rel,
                         "body", "(not UTF-8)");
    json_t *h = json_object(), *q = json_object();
    pthread_mutex_lock(&t->mu);
    const char *ct = lx_http_header(req, "Content-Type");
    if (ct)
        json_object_set_new(h, "Content-Type", json_string(ct));
    size_t i;
    json_t *name;
    json_array_foreach(t->headers, i, name)
    {
        const char *v = lx_http_header(req, json_string_value(name));
        if (v)
            json_object_set_new(h, json_string_value(name), json_string(v));
    }
    json_array_foreach(t->query, i, name)
    {
        const char *v = lx_http_query(req, json_string_value(name));
        if (v)
            json_object_set_new(q, json_string_value(name), json_string(v));
    }
    json_object_set_new(call, "headers", h);
    json_object_set_new(call, "query", q);
    unsigned id = ++t->next_id;
    if (json_array_size(t->calls) < LX_CONFORM_TARGET_CALLS_MAX)
        json_array_append_new(t->calls, call);
    else
        json_decref(call);
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);

    if (t->plain) {
        /* A plain JSON API: POST creates [base]/things/conf-N, told in the
         * Location and the body; PUT and PATCH update in place. */
        if (strcmp(method, "POST") == 0) {
            char loc[1200], idj[64];
            snprintf(loc, sizeof(loc), "%s%s/conf-%u", t->url, rel, id);
            snprintf(idj, sizeof(idj), "{\"id\":\"conf-%u\"}", id);
            lx_http_response_set(resp, 201, "application/json", idj,
                                 strlen(idj));
            lx_http_response_header(resp, "Location", loc);
        } else if (strcmp(method, "DELETE") == 0) {
            lx_http_response_set(resp, 204, "application/json", "", 0);
        } else {
            lx_http_response_set(resp, 200, "application/json", "{}", 2);
        }
        return;
    }
    /* Answer as a server that takes everything: a create with a new id
     * ([base]/Type -> [base]/Type/conf-N), an update in place. */
    if (strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0) {
        char loc[1200];
        const char *slash = strchr(rel + (rel[0] == '/'), '/');
        if (slash)
            snprintf(loc, sizeof(loc), "%s%s/_history/1", t->url, rel);
        else
            snprintf(loc, sizeof(loc), "%s%s/conf-%u/_history/1", t->url, rel,
                     id);
        lx_http_response_set(resp, 201, "application/json", "{}", 2);
        lx_http_response_header(resp, "Location", loc);
    } else if (strcmp(method, "DELETE") == 0) {
        lx_http_response_set(resp, 204, "application/json", "", 0);
    } else {
        lx_http_response_set(resp, 200, "application/json", "{}", 2);
    }
}

int lx_conform_target_start(lx_conform_target **out, lx_error *err)
{
    *out = NULL;
    lx_conform_target *t = lx_xcalloc(1, sizeof(*t));
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->calls = json_array();
    t->headers = json_array();
    t->query = json_array();
    lx_http_server_options o = {.listen = "127.0.0.1:0", .timeout_s = 5};
    int rc = lx_http_server_start(&o, record, t, &t->srv, err);
    if (rc != 0) {
        lx_conform_target_stop(&t);
        return rc;
    }
    snprintf(t->url, sizeof(t->url), "http://127.0.0.1:%u" TARGET_BASE,
             lx_http_server_port(t->srv));
    *out = t;
    return 0;
}

void lx_conform_target_stop(lx_conform_target **tp)
{
    lx_conform_target *t = *tp;
    if (!t)
        return;
    *tp = NULL;
    lx_http_server_stop(&t->srv);
    json_decref(t->calls);
    json_decref(t->headers);
    json_decref(t->query);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

const char *lx_conform_target_url(const lx_conform_target *t)
{
    return t->url;
}

static json_t *names(const json_t *list)
{
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (json_is_string(v))
            json_array_append(out, v);
    }
    return out;
}

void lx_conform_target_reset(lx_conform_target *t, const json_t *headers,
                             const json_t *query)
{
    pthread_mutex_lock(&t->mu);
    json_array_clear(t->calls);
    json_decref(t->headers);
    json_decref(t->query);
    t->headers = names(headers);
    t->query = names(query);
    /* Ids the target gives (conf-N) restart with every delivery, so a
     * case's expected paths do not depend on the cases run before it. */
    t->next_id = 0;
    pthread_mutex_unlock(&t->mu);
}

bool lx_conform_call_has(const json_t *call, const char *marker)
{
    const char *body = json_string_value(json_object_get(call, "body"));
    const char *path = json_string_value(json_object_get(call, "path"));
    if ((body && strstr(body, marker)) || (path && strstr(path, marker)))
        return true;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(call, "query"), k, v)
    {
        if (strstr(json_string_value(v), marker))
            return true;
    }
    return false;
}

void lx_conform_deadline(struct timespec *until, unsigned timeout_ms)
{
    clock_gettime(CLOCK_REALTIME, until);
    until->tv_sec += timeout_ms / 1000;
    until->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until->tv_nsec >= 1000000000L) {
        until->tv_sec++;
        until->tv_nsec -= 1000000000L;
    }
}

void lx_conform_target_plain(lx_conform_target *t, bool plain)
{
    pthread_mutex_lock(&t->mu);
    t->plain = plain;
    pthread_mutex_unlock(&t->mu);
}

void lx_conform_target_record(lx_conform_target *t, const char *method,
                              const char *path, const char *body, size_t len)
{
    json_t *call = json_pack("{s:s,s:s,s:s%,s:{},s:{}}", "method", method,
                             "path", path, "body", body ? body : "",
                             body ? len : 0, "headers", "query");
    if (!call)
        call = json_pack("{s:s,s:s,s:s,s:{},s:{}}", "method", method, "path",
                         path, "body", "(not UTF-8)", "headers", "query");
    pthread_mutex_lock(&t->mu);
    t->next_id++;
    if (call && json_array_size(t->calls) < LX_CONFORM_TARGET_CALLS_MAX)
        json_array_append_new(t->calls, call);
    else
        json_decref(call);
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

bool lx_conform_target_wait(lx_conform_target *t, const char *marker,
                            unsigned timeout_ms, size_t *index)
{
    struct timespec until;
    lx_conform_deadline(&until, timeout_ms);
    bool found = false;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        for (size_t i = 0; i < json_array_size(t->calls); i++)
            if (lx_conform_call_has(json_array_get(t->calls, i), marker)) {
                *index = i;
                found = true;
                break;
            }
        if (found || pthread_cond_timedwait(&t->cv, &t->mu, &until) ==
                         ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&t->mu);
    return found;
}

json_t *lx_conform_target_calls(lx_conform_target *t)
{
    pthread_mutex_lock(&t->mu);
    json_t *copy = json_deep_copy(t->calls);
    pthread_mutex_unlock(&t->mu);
    return copy;
}
