/* appliance/cli_standin.c: `lingua stand-in`, a loopback stand-in for a
 * target system.
 *
 * Operators and the demo need something that answers like a FHIR server or
 * a REST API before the real system is reachable: it shows exactly which
 * calls the hub makes (method, path, headers that matter, body) without a
 * network capture. It keeps an in-memory table of resources so that the
 * hub's second call for a record (conditional update, PUT on the returned
 * id, DELETE) lands on the same id, and it hands out OAuth2
 * client-credentials tokens at /token.
 *
 *   POST  <coll>               201, Location <coll>/<id>, {"id": .., ...}
 *   PUT   <coll>?identifier=x  conditional update: 201 (new) or 200, with
 *                              Location <coll>/<id>/_history/<version>
 *   PUT|PATCH <coll>/<id>      200 (201 when new)
 *   DELETE <coll>/<id>         204 (404 when unknown)
 *   GET   <coll>/<id>          the last body stored, or 404
 *   POST  /token               {"access_token", "token_type", "expires_in"}
 *
 * Each request is printed on stdout as one line, and appended to --log as
 * one JSON object per line (time, method, path, identifier, selected
 * headers, body as JSON when it parses); --show N also prints the first N
 * lines of each body. --fail N answers N to every call (outage drills). */
#include "appliance/cli.h"
#include "core/http_server.h"
#include "core/id.h"
#include "core/json.h"
#include "core/mem.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STANDIN_RESOURCES_MAX 4096

typedef struct resource {
    char key[512];   /* "<coll>?identifier=<x>" or "<coll>/<id>" */
    char coll[256];
    char id[64];
    int version;
    char *body;      /* last body received (owned) */
    bool deleted;
} resource;

typedef struct standin {
    const char *name;
    FILE *log;
    int fail_status;
    int show_lines;  /* --show N: print up to N lines of each body */
    unsigned next_id;
    unsigned next_token;
    pthread_mutex_t mu;
    resource *res;
    size_t count;
} standin;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static resource *find(standin *s, const char *key)
{
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->res[i].key, key) == 0)
            return &s->res[i];
    return NULL;
}

static resource *find_id(standin *s, const char *coll, const char *id)
{
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->res[i].coll, coll) == 0 && strcmp(s->res[i].id, id) == 0)
            return &s->res[i];
    return NULL;
}

static resource *add(standin *s, const char *key, const char *coll,
                     const char *id)
{
    if (s->count == STANDIN_RESOURCES_MAX)
        return NULL;
    resource *r = &s->res[s->count++];
    memset(r, 0, sizeof(*r));
    snprintf(r->key, sizeof(r->key), "%s", key);
    snprintf(r->coll, sizeof(r->coll), "%s", coll);
    if (id)
        snprintf(r->id, sizeof(r->id), "%s", id);
    else
        snprintf(r->id, sizeof(r->id), "%s-%u", s->name, ++s->next_id);
    return r;
}

static void set_body(resource *r, const char *body, size_t len)
{
    free(r->body);
    r->body = lx_xmalloc(len + 1);
    memcpy(r->body, body, len);
    r->body[len] = '\0';
}

/* The request as one JSON line in the log and one readable line on
 * stdout. */
static void record(standin *s, const lx_http_request *req, int status,
                   const char *id)
{
    static const char *const keep[] = {"Content-Type", "Authorization",
                                       "X-Lingua-Event-Id", "X-Api-Key",
                                       "Idempotency-Key", "If-Match"};
    size_t len;
    const char *body = lx_http_body(req, &len);
    json_t *line = json_object();
    char now[LX_TIME_SIZE];
    lx_time_format(lx_now_ms(), now);
    json_object_set_new(line, "time", json_string(now));
    json_object_set_new(line, "method", json_string(lx_http_method(req)));
    json_object_set_new(line, "path", json_string(lx_http_path(req)));
    const char *ident = lx_http_query(req, "identifier");
    if (ident)
        json_object_set_new(line, "identifier", json_string(ident));
    json_t *headers = json_object();
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        const char *v = lx_http_header(req, keep[i]);
        if (v)
            json_object_set_new(headers, keep[i], json_string(v));
    }
    json_object_set_new(line, "headers", headers);
    json_t *parsed = len ? json_loadb(body, len, 0, NULL) : NULL;
    if (parsed)
        json_object_set_new(line, "body", parsed);
    else if (len)
        json_object_set_new(line, "body", json_stringn(body, len));
    json_object_set_new(line, "status", json_integer(status));
    if (id && *id)
        json_object_set_new(line, "id", json_string(id));
    if (s->log) {
        char *text = json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(s->log, "%s\n", text);
        fflush(s->log);
        free(text);
    }
    printf("%s <- %s %s%s%s (%zu bytes) -> %d%s%s\n", s->name,
           lx_http_method(req), lx_http_path(req), ident ? "?identifier=" : "",
           ident ? ident : "", len, status, id && *id ? " id " : "",
           id && *id ? id : "");
    if (s->show_lines > 0 && len) {
        /* The body, indented under its request line: pretty JSON when it
         * parses, else the text (EDI, forms) as it came. */
        json_t *b = json_object_get(line, "body");
        char *text = json_is_string(b)
                         ? lx_xstrdup(json_string_value(b))
                         : json_dumps(b, JSON_INDENT(2) | JSON_SORT_KEYS);
        int shown = 0;
        for (char *p = text, *nl; p && *p; p = nl ? nl + 1 : NULL) {
            nl = strchr(p, '\n');
            if (shown++ == s->show_lines) {
                printf("    ...\n");
                break;
            }
            printf("    %.*s\n", nl ? (int)(nl - p) : (int)strlen(p), p);
        }
        free(text);
    }
    fflush(stdout);
    json_decref(line);
}

static void answer_json(lx_http_response *resp, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    lx_http_response_set(resp, status, "application/json", text, strlen(text));
    free(text);
    json_decref(body);
}

/* A body that says which id the stand-in gave: the received JSON with
 * "id" set (FHIR servers and most REST APIs answer so), or just the id. */
static json_t *echo_body(const char *body, size_t len, const char *id)
{
    json_t *b = len ? json_loadb(body, len, 0, NULL) : NULL;
    if (!json_is_object(b)) {
        json_decref(b);
        b = json_object();
    }
    json_object_set_new(b, "id", json_string(id));
    return b;
}

static void handle(void *ctx, const lx_http_request *req,
                   lx_http_response *resp)
{
    standin *s = ctx;
    const char *method = lx_http_method(req);
    const char *path = lx_http_path(req);
    size_t len;
    const char *body = lx_http_body(req, &len);
    char id[64] = "";
    int status;
    if (s->fail_status) {
        status = s->fail_status;
        lx_http_response_set(resp, status, "application/json",
                             "{\"error\":\"stand-in failing on purpose\"}",
                             38);
        record(s, req, status, NULL);
        return;
    }
    if (strcmp(method, "POST") == 0 && strcmp(path, "/token") == 0) {
        pthread_mutex_lock(&s->mu);
        unsigned n = ++s->next_token;
        pthread_mutex_unlock(&s->mu);
        char token[64];
        snprintf(token, sizeof(token), "%s-token-%u", s->name, n);
        answer_json(resp, 200,
                    json_pack("{s:s,s:s,s:i}", "access_token", token,
                              "token_type", "Bearer", "expires_in", 3600));
        record(s, req, 200, NULL);
        return;
    }
    /* <coll>[/<id>]: the id is the last segment when the collection is
     * known, or for PUT/PATCH/DELETE/GET on a path with two segments or
     * more. */
    char coll[256], rid[64] = "";
    snprintf(coll, sizeof(coll), "%s", path);
    size_t cl = strlen(coll);
    while (cl > 1 && coll[cl - 1] == '/')
        coll[--cl] = '\0';
    bool on_item = strcmp(method, "POST") != 0;
    const char *ident = lx_http_query(req, "identifier");
    if (on_item && !(strcmp(method, "PUT") == 0 && ident)) {
        char *slash = strrchr(coll, '/');
        if (slash && slash != coll) {
            snprintf(rid, sizeof(rid), "%s", slash + 1);
            *slash = '\0';
        }
    }
    pthread_mutex_lock(&s->mu);
    resource *r = NULL;
    bool created = false;
    char key[512];
    if (strcmp(method, "POST") == 0) {
        snprintf(key, sizeof(key), "%s/#%u", coll, s->next_id + 1);
        r = add(s, key, coll, NULL);
        created = true;
    } else if (strcmp(method, "PUT") == 0 && ident) {
        snprintf(key, sizeof(key), "%s?identifier=%s", coll, ident);
        r = find(s, key);
        if (!r || r->deleted) {
            r = r ? r : add(s, key, coll, NULL);
            created = true;
        }
    } else if (rid[0]) {
        r = find_id(s, coll, rid);
        if (!r && (strcmp(method, "PUT") == 0 ||
                   strcmp(method, "PATCH") == 0)) {
            snprintf(key, sizeof(key), "%s/%s", coll, rid);
            r = add(s, key, coll, rid);
            created = true;
        }
    }
    if (!r) {
        pthread_mutex_unlock(&s->mu);
        status = strcmp(method, "POST") == 0 ? 507 : 404;
        lx_http_response_set(resp, status, "application/json",
                             "{\"error\":\"not found\"}", 21);
        record(s, req, status, NULL);
        return;
    }
    snprintf(id, sizeof(id), "%s", r->id);
    if (strcmp(method, "GET") == 0) {
        status = r->deleted || !r->body ? 404 : 200;
        if (status == 200)
            lx_http_response_set(resp, 200, "application/json", r->body,
                                 strlen(r->body));
        pthread_mutex_unlock(&s->mu);
        record(s, req, status, id);
        return;
    }
    if (strcmp(method, "DELETE") == 0) {
        status = r->deleted ? 404 : 204;
        r->deleted = true;
        pthread_mutex_unlock(&s->mu);
        lx_http_response_set(resp, status, "application/json", "", 0);
        record(s, req, status, id);
        return;
    }
    r->deleted = false;
    int version = ++r->version;
    set_body(r, body, len);
    pthread_mutex_unlock(&s->mu);
    status = created ? 201 : 200;
    json_t *b = echo_body(body, len, id);
    char loc[600], etag[32];
    if (ident)
        snprintf(loc, sizeof(loc), "%s/%s/_history/%d", coll, id, version);
    else
        snprintf(loc, sizeof(loc), "%s/%s", coll, id);
    snprintf(etag, sizeof(etag), "W/\"%d\"", version);
    if (json_object_get(b, "resourceType"))
        json_object_set_new(b, "meta",
                            json_pack("{s:s%}", "versionId", etag + 3,
                                      strlen(etag + 3) - 1));
    answer_json(resp, status, b);
    lx_http_response_header(resp, "Location", loc);
    lx_http_response_header(resp, "ETag", etag);
    record(s, req, status, id);
}

static const char standin_usage[] =
    "usage: lingua stand-in --listen HOST:PORT [--name NAME] [--log FILE]\n"
    "                       [--show LINES] [--fail STATUS]\n"
    "\n"
    "Answer like a target system (FHIR server or REST API) on loopback and\n"
    "show every call the hub makes. POST creates (201 + Location), PUT with\n"
    "?identifier= is a conditional update, PUT/PATCH/DELETE/GET act on\n"
    "<collection>/<id>, POST /token hands out OAuth2 tokens. --log appends\n"
    "each request as a JSON line; --show prints up to LINES lines of each\n"
    "body; --fail answers STATUS to every call.\n"
    "Stops on SIGINT/SIGTERM.\n";

int lx_cli_standin(int argc, char **argv)
{
    const char *listen = NULL, *name = "stand-in", *log_path = NULL;
    int fail = 0, show = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(standin_usage, stdout);
            return LX_EXIT_OK;
        } else if (strcmp(a, "--listen") == 0 && v) {
            listen = v;
            i++;
        } else if (strcmp(a, "--name") == 0 && v) {
            name = v;
            i++;
        } else if (strcmp(a, "--log") == 0 && v) {
            log_path = v;
            i++;
        } else if (strcmp(a, "--show") == 0 && v) {
            show = atoi(v);
            i++;
        } else if (strcmp(a, "--fail") == 0 && v) {
            fail = atoi(v);
            i++;
            if (fail < 100 || fail > 599) {
                fprintf(stderr, "lingua stand-in: --fail takes an HTTP "
                                "status (100..599)\n");
                return LX_EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "lingua stand-in: unexpected '%s'\n\n%s", a,
                    standin_usage);
            return LX_EXIT_USAGE;
        }
    }
    if (!listen) {
        fputs(standin_usage, stderr);
        return LX_EXIT_USAGE;
    }
    standin s = {.name = name, .fail_status = fail, .show_lines = show};
    pthread_mutex_init(&s.mu, NULL);
    s.res = lx_xcalloc(STANDIN_RESOURCES_MAX, sizeof(resource));
    if (log_path && !(s.log = fopen(log_path, "a"))) {
        fprintf(stderr, "lingua stand-in: cannot open %s\n", log_path);
        free(s.res);
        return LX_EXIT_ENV;
    }
    lx_http_server_options o = {.listen = listen};
    lx_http_server *srv = NULL;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_http_server_start(&o, handle, &s, &srv, &err);
    if (rc != 0) {
        if (s.log)
            fclose(s.log);
        free(s.res);
        return lx_cli_fail("stand-in", &err);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    printf("%s: stand-in listening on %s\n", name, listen);
    fflush(stdout);
    while (!stop_flag)
        pause();
    lx_http_server_stop(&srv);
    for (size_t i = 0; i < s.count; i++)
        free(s.res[i].body);
    free(s.res);
    if (s.log)
        fclose(s.log);
    pthread_mutex_destroy(&s.mu);
    return LX_EXIT_OK;
}
