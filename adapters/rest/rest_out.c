/* adapters/rest/rest_out.c: see rest_out.h. */
#include "adapters/rest/rest_out.h"
#include "adapters/rest/rest_auth.h"
#include "adapters/rest/rest_pointer.h"
#include "adapters/rest/rest_template.h"
#include "core/json.h"
#include "core/mem.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADERS_MAX 8
#define CLIENTS_MAX 8

typedef struct route {
    char method[8]; /* "" = no such route */
    char *path;
} route;

typedef enum id_source { ID_DEFAULT, ID_LOCATION, ID_BODY, ID_RECORD } id_source;

struct lx_rest_out {
    char *base;
    char *system;
    char *native_type; /* NULL: the body hook says */
    lx_map *map;
    lx_rest_body_fn body;
    void *body_ctx;
    route create, update, del;
    id_source id_from;
    char *id_pointer;
    char *headers[HEADERS_MAX + 1]; /* "Name: value", NULL-ended */
    lx_rest_auth *auth;
    char *auth_line; /* static auth header, or NULL */
    /* Idle HTTP clients of `perform` (OAuth2): one per concurrent call,
     * kept for keep-alive; curl handles never serve two threads at once. */
    pthread_mutex_t mu;
    lx_http_client *idle[CLIENTS_MAX];
    size_t idle_count;
};

static int bad(lx_error *err, const char *member, const char *what)
{
    return lx_error_set(err, LX_ECONFIG, "%s: %s", member, what);
}

static bool known_var(const char *name)
{
    return strcmp(name, "native_id") == 0 ||
           strcmp(name, "canonical_id") == 0 || strcmp(name, "entity") == 0 ||
           lx_rest_pointer_valid(name);
}

static int read_route(const json_t *conf, const char *member, route *r,
                      const char *def_method, const char *def_path,
                      lx_error *err)
{
    json_t *o = json_object_get(conf, member);
    char where[32];
    if (!o) {
        if (def_method) {
            snprintf(r->method, sizeof(r->method), "%s", def_method);
            r->path = lx_xstrdup(def_path ? def_path : "");
        }
        return 0;
    }
    const char *m = lx_json_str(o, "method");
    const char *p = lx_json_str(o, "path");
    if (!json_is_object(o) || !m || !p)
        return bad(err, member, "{\"method\": ..., \"path\": ...} is needed");
    static const char *const methods[] = {"POST", "PUT", "PATCH", "DELETE",
                                          "GET"};
    bool ok = false;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        ok = ok || strcmp(m, methods[i]) == 0;
    snprintf(where, sizeof(where), "%s/method", member);
    if (!ok)
        return bad(err, where, "POST, PUT, PATCH, DELETE or GET");
    snprintf(where, sizeof(where), "%s/path", member);
    int rc = lx_rest_template_check(p, known_var, err);
    if (rc != 0) {
        lx_error_prefix(err, "%s", where);
        err->code = LX_ECONFIG;
        return LX_ECONFIG;
    }
    snprintf(r->method, sizeof(r->method), "%s", m);
    r->path = lx_xstrdup(p);
    return 0;
}

static int read_id_from(lx_rest_out *o, const json_t *conf, lx_error *err)
{
    const char *s = lx_json_str(conf, "id_from");
    if (!s)
        return 0;
    if (strcmp(s, "location") == 0) {
        o->id_from = ID_LOCATION;
        return 0;
    }
    const char *ptr = NULL;
    if (strncmp(s, "body:", 5) == 0) {
        o->id_from = ID_BODY;
        ptr = s + 5;
    } else if (strncmp(s, "record:", 7) == 0) {
        o->id_from = ID_RECORD;
        ptr = s + 7;
    }
    if (!ptr || !lx_rest_pointer_valid(ptr))
        return bad(err, "id_from", "\"location\", \"body:/pointer\" or "
                                   "\"record:/pointer\"");
    o->id_pointer = lx_xstrdup(ptr);
    return 0;
}

static int read_headers(lx_rest_out *o, const json_t *conf, lx_error *err)
{
    json_t *h = json_object_get(conf, "headers");
    if (!h)
        return 0;
    if (!json_is_object(h) || json_object_size(h) > HEADERS_MAX)
        return bad(err, "headers", "an object of at most 8 names and string "
                                   "values");
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(h, k, v)
    {
        if (!json_is_string(v) || !*k || strpbrk(k, ": \r\n") ||
            strpbrk(json_string_value(v), "\r\n"))
            return bad(err, "headers", "names without ':' or spaces, string "
                                       "values on one line");
        size_t len = strlen(k) + json_string_length(v) + 3;
        o->headers[n] = lx_xmalloc(len);
        snprintf(o->headers[n], len, "%s: %s", k, json_string_value(v));
        n++;
    }
    return 0;
}

static int read_map(lx_rest_out *o, const json_t *conf,
                    const lx_rest_out_env *env, lx_error *err)
{
    const char *map = lx_json_str(conf, "map");
    if (!map) {
        if (env->body)
            return 0;
        return bad(err, "map", "the mapping file is needed (relative to "
                               "schemas/maps, or absolute)");
    }
    char path[4096];
    if (map[0] == '/' || !env->maps_dir)
        snprintf(path, sizeof(path), "%s", map);
    else
        snprintf(path, sizeof(path), "%s/%s", env->maps_dir, map);
    int rc = lx_map_load(path, &o->map, err);
    if (rc != 0)
        return rc;
    if (!lx_map_entity(o->map))
        return bad(err, "map", "the mapping names no canonical.entity");
    return 0;
}

static int configure(lx_rest_out *o, const json_t *conf,
                     const lx_rest_out_env *env, lx_error *err)
{
    const char *url = lx_json_str(json_object_get(conf, "transport"), "url");
    if (!url || (strncmp(url, "http://", 7) != 0 &&
                 strncmp(url, "https://", 8) != 0))
        return bad(err, "transport/url", "an outbound adapter needs an "
                                         "http(s) URL");
    o->base = lx_xstrdup(url);
    size_t bl = strlen(o->base);
    while (bl > 0 && o->base[bl - 1] == '/')
        o->base[--bl] = '\0';
    int rc = read_map(o, conf, env, err);
    if (rc == 0)
        rc = read_route(conf, "create", &o->create,
                        env->default_create_method, env->default_create_path,
                        err);
    if (rc == 0)
        rc = read_route(conf, "update", &o->update,
                        env->default_update_method, env->default_update_path,
                        err);
    if (rc == 0)
        rc = read_route(conf, "delete", &o->del, NULL, NULL, err);
    if (rc == 0 && !o->create.method[0])
        rc = bad(err, "create", "{\"method\": \"POST\", \"path\": ...} is "
                                "needed");
    if (rc == 0)
        rc = read_id_from(o, conf, err);
    if (rc == 0)
        rc = read_headers(o, conf, err);
    if (rc == 0)
        rc = lx_rest_auth_new(json_object_get(conf, "auth"), &o->auth, err);
    if (rc == 0 && !lx_rest_auth_is_dynamic(o->auth))
        rc = lx_rest_auth_header(o->auth, false, 0, &o->auth_line, err);
    if (rc != 0)
        return rc;
    const char *nt = lx_json_str(conf, "native_type");
    if (!nt && o->map)
        nt = lx_map_native_type(o->map);
    if (!nt && o->map)
        nt = lx_map_entity(o->map);
    if (nt && strlen(nt) > LX_STORE_NAME_MAX)
        return bad(err, "native_type", "at most 64 characters");
    o->native_type = nt ? lx_xstrdup(nt) : NULL;
    return 0;
}

int lx_rest_out_new(const json_t *conf, const lx_rest_out_env *env,
                    lx_rest_out **out, lx_error *err)
{
    *out = NULL;
    lx_rest_out *o = lx_xcalloc(1, sizeof(*o));
    pthread_mutex_init(&o->mu, NULL);
    o->system = lx_xstrdup(env->system ? env->system : "");
    o->body = env->body;
    o->body_ctx = env->body_ctx;
    int rc = configure(o, conf, env, err);
    if (rc != 0) {
        lx_rest_out_destroy(&o);
        return rc;
    }
    *out = o;
    return 0;
}

void lx_rest_out_destroy(lx_rest_out **op)
{
    lx_rest_out *o = *op;
    if (!o)
        return;
    *op = NULL;
    free(o->base);
    free(o->system);
    free(o->native_type);
    lx_map_destroy(&o->map);
    free(o->create.path);
    free(o->update.path);
    free(o->del.path);
    free(o->id_pointer);
    for (size_t i = 0; o->headers[i]; i++)
        free(o->headers[i]);
    lx_rest_auth_destroy(&o->auth);
    free(o->auth_line);
    for (size_t i = 0; i < o->idle_count; i++)
        lx_http_client_destroy(&o->idle[i]);
    pthread_mutex_destroy(&o->mu);
    free(o);
}

const char *lx_rest_out_url(const lx_rest_out *o)
{
    return o->base;
}

uint64_t lx_rest_out_token_count(lx_rest_out *o)
{
    return lx_rest_auth_is_dynamic(o->auth)
               ? lx_rest_auth_token_count(o->auth)
               : 0;
}

/* The system's id of the record, when a cross-reference of its type
 * knows it (the mapping engine's store resolver does that lookup). */
static bool known_id(lx_store *store, const char *system, const char *entity,
                     const char *cid, const char *type, char *id, size_t size)
{
    lx_map_store_ctx sc = {store, system};
    lx_map_resolver res;
    lx_map_resolver_store(&res, &sc);
    char nt[LX_MAP_NATIVE_TYPE_SIZE];
    lx_error err;
    return res.to_native(res.ctx, entity, cid, type, nt, sizeof(nt), id, size,
                         &err) == 0;
}

typedef struct vars {
    const json_t *event;
    const char *native_id;
} vars;

static const char *var(void *ctx, const char *name, char *scratch,
                       size_t size)
{
    vars *v = ctx;
    if (strcmp(name, "native_id") == 0)
        return v->native_id;
    if (strcmp(name, "canonical_id") == 0)
        return lx_json_str(v->event, "canonical_id");
    if (strcmp(name, "entity") == 0)
        return lx_json_str(v->event, "entity");
    const json_t *x = lx_rest_pointer_get(json_object_get(v->event, "record"),
                                          name);
    return lx_rest_scalar_text(x, scratch, size) ? scratch : NULL;
}

static int build_url(lx_rest_out *o, const route *r, const json_t *ev,
                     const char *native_id, lx_outbound_call *call,
                     lx_error *err)
{
    vars v = {ev, native_id};
    char path[LX_DELIVERY_URL_MAX];
    int rc = lx_rest_template_expand(r->path, var, &v, false, path,
                                     sizeof(path), err);
    if (rc != 0)
        return rc;
    bool absolute = strncmp(path, "http://", 7) == 0 ||
                    strncmp(path, "https://", 8) == 0;
    int n = snprintf(call->url, sizeof(call->url), "%s%s",
                     absolute ? "" : o->base, path);
    if (n < 0 || (size_t)n >= sizeof(call->url))
        return lx_error_set(err, LX_ELIMIT, "the URL is over %d bytes",
                            LX_DELIVERY_URL_MAX - 1);
    call->http.url = call->url;
    call->http.method = r->method;
    return 0;
}

/* Headers in a fixed order: event id, content type, accept, the
 * configured ones, then the static auth header. A dynamic (OAuth2) one is
 * added by perform() in the first free slot. */
static void set_headers(lx_rest_out *o, const json_t *ev,
                        lx_outbound_call *call, bool has_body)
{
    size_t k = 0;
    const char *id = lx_json_str(ev, "id");
    if (id) {
        /* Delivery is at least once: the system can drop a repeated event
         * by its id (a retried event keeps it). */
        size_t n = strlen("X-Lingua-Event-Id: ") + strlen(id) + 1;
        call->extra[0] = lx_xmalloc(n);
        snprintf(call->extra[0], n, "X-Lingua-Event-Id: %s", id);
        call->http.headers[k++] = call->extra[0];
    }
    if (has_body)
        call->http.headers[k++] = "Content-Type: application/json";
    call->http.headers[k++] = "Accept: application/json";
    for (size_t i = 0; o->headers[i]; i++)
        call->http.headers[k++] = o->headers[i];
    if (o->auth_line)
        call->http.headers[k++] = o->auth_line;
}

static bool is_delete(const json_t *ev)
{
    const char *t = lx_json_str(ev, "type");
    size_t tl = t ? strlen(t) : 0;
    return tl > 8 && strcmp(t + tl - 8, ".deleted") == 0;
}

static int native_body(lx_rest_out *o, lx_store *store, const json_t *ev,
                       json_t **body, bool *skip, lx_outbound_call *call,
                       lx_error *err)
{
    lx_map_store_ctx sc = {store, o->system};
    lx_map_resolver res;
    lx_map_resolver_store(&res, &sc);
    if (o->body) {
        char nt[LX_STORE_NAME_MAX + 1] = "";
        int rc = o->body(o->body_ctx, store, ev, &res, body, skip, nt,
                         sizeof(nt), err);
        if (rc == 0 && !*skip)
            snprintf(call->native_type, sizeof(call->native_type), "%s",
                     o->native_type ? o->native_type : nt);
        return rc;
    }
    snprintf(call->native_type, sizeof(call->native_type), "%s",
             o->native_type);
    return lx_map_run(o->map, LX_MAP_OUT, json_object_get(ev, "record"), &res,
                      body, NULL, err);
}

static int prepare(void *ctx, lx_store *store, const json_t *ev,
                   lx_outbound_call *call, bool *skip, lx_error *err)
{
    lx_rest_out *o = ctx;
    const char *entity = lx_json_str(ev, "entity");
    const char *cid = lx_json_str(ev, "canonical_id");
    if (!entity || !cid || (o->map && strcmp(entity, lx_map_entity(o->map))
                                          != 0)) {
        *skip = true; /* not an entity this system takes */
        return 0;
    }
    char id[LX_STORE_NATIVE_ID_MAX + 1] = "";
    bool has_id = false;
    if (is_delete(ev)) {
        snprintf(call->native_type, sizeof(call->native_type), "%s",
                 o->native_type ? o->native_type : entity);
        has_id = known_id(store, o->system, entity, cid, call->native_type,
                          id, sizeof(id));
        if (!has_id || !o->del.method[0]) {
            *skip = true; /* the system never had it, or takes no deletes */
            return 0;
        }
        int rc = build_url(o, &o->del, ev, id, call, err);
        if (rc == 0)
            set_headers(o, ev, call, false);
        return rc;
    }
    json_t *body = NULL;
    int rc = native_body(o, store, ev, &body, skip, call, err);
    if (rc != 0 || *skip) {
        json_decref(body);
        return rc;
    }
    has_id = known_id(store, o->system, entity, cid, call->native_type, id,
                      sizeof(id));
    const route *r = has_id && o->update.method[0] ? &o->update : &o->create;
    rc = build_url(o, r, ev, has_id ? id : NULL, call, err);
    if (rc == 0) {
        call->body = json_dumps(body, JSON_COMPACT);
        call->http.body = call->body;
        call->http.body_len = strlen(call->body);
        set_headers(o, ev, call, true);
    }
    json_decref(body);
    return rc;
}

/* The last path segment of a Location ("/api/holders/h-17?x" -> "h-17"). */
static bool id_of_location(const char *loc, char *out, size_t size)
{
    size_t n = strcspn(loc, "?#");
    while (n > 0 && loc[n - 1] == '/')
        n--;
    size_t start = n;
    while (start > 0 && loc[start - 1] != '/')
        start--;
    if (n == start || n - start >= size)
        return false;
    memcpy(out, loc + start, n - start);
    out[n - start] = '\0';
    return true;
}

static bool id_of_body(const lx_http_result *res, const char *ptr, char *out,
                       size_t size)
{
    json_t *doc = json_loadb(res->body ? res->body : "", res->body_len, 0,
                             NULL);
    bool ok = lx_rest_scalar_text(lx_rest_pointer_get(doc, ptr), out, size);
    json_decref(doc);
    return ok;
}

static void native_id(void *ctx, const json_t *ev, const lx_http_result *res,
                      char *out, size_t size)
{
    lx_rest_out *o = ctx;
    out[0] = '\0';
    if (is_delete(ev))
        return;
    bool ok = false;
    switch (o->id_from) {
    case ID_LOCATION:
        ok = id_of_location(res->location, out, size);
        break;
    case ID_BODY:
        ok = id_of_body(res, o->id_pointer, out, size);
        break;
    case ID_RECORD:
        ok = lx_rest_scalar_text(
            lx_rest_pointer_get(json_object_get(ev, "record"), o->id_pointer),
            out, size);
        break;
    case ID_DEFAULT:
        ok = id_of_location(res->location, out, size) ||
             id_of_body(res, "/id", out, size);
        break;
    }
    if (!ok)
        out[0] = '\0';
}

static lx_http_client *take_client(lx_rest_out *o, lx_error *err)
{
    lx_http_client *c = NULL;
    pthread_mutex_lock(&o->mu);
    if (o->idle_count)
        c = o->idle[--o->idle_count];
    pthread_mutex_unlock(&o->mu);
    if (!c && lx_http_client_new(&c, err) != 0)
        return NULL;
    return c;
}

static void give_client(lx_rest_out *o, lx_http_client *c)
{
    pthread_mutex_lock(&o->mu);
    if (o->idle_count < CLIENTS_MAX) {
        o->idle[o->idle_count++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&o->mu);
    lx_http_client_destroy(&c);
}

/* OAuth2 calls: the current token on each attempt; a 401 fetches a new
 * token and tries once more (the token may have been revoked early). */
static int perform(void *ctx, const lx_outbound_call *call,
                   lx_http_result *res, lx_error *err)
{
    lx_rest_out *o = ctx;
    memset(res, 0, sizeof(*res));
    lx_http_client *c = take_client(o, err);
    if (!c)
        return err ? err->code : LX_EIO;
    lx_http_call http = call->http;
    size_t slot = 0;
    while (slot < LX_HTTP_CALL_HEADERS_MAX - 1 && http.headers[slot])
        slot++;
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        char *line = NULL;
        rc = lx_rest_auth_header(o->auth, attempt > 0, http.timeout_ms, &line,
                                 err);
        if (rc != 0) {
            /* A token endpoint that refuses the client is a refusal of
             * every call: answer like a 401 so it is not retried blindly. */
            if (rc == LX_EINVAL) {
                res->status = 401;
                rc = 0;
            }
            break;
        }
        http.headers[slot] = line;
        if (attempt > 0)
            lx_http_result_fini(res);
        rc = lx_http_client_perform(c, &http, res, err);
        free(line);
        http.headers[slot] = NULL;
        if (rc != 0 || res->status != 401)
            break;
    }
    give_client(o, c);
    return rc;
}

void lx_rest_out_ops(lx_rest_out *o, lx_outbound_ops *ops)
{
    memset(ops, 0, sizeof(*ops));
    ops->prepare = prepare;
    ops->native_id = native_id;
    ops->ctx = o;
    if (lx_rest_auth_is_dynamic(o->auth))
        ops->perform = perform;
}
