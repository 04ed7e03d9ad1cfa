/* adapters/rest/rest_auth.c: see rest_auth.h. */
#include "adapters/rest/rest_auth.h"
#include "core/http_client.h"
#include "core/id.h"
#include "core/json.h"
#include "core/mem.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum auth_type { NONE, BASIC, BEARER, API_KEY, OAUTH2 } auth_type;

struct lx_rest_auth {
    auth_type type;
    char *fixed;             /* the header line of basic, bearer, api_key */
    /* OAuth2 */
    char *token_url;
    char *client_id;
    char *client_secret;
    char *scope;
    bool client_in_body;     /* client_auth "body" (else HTTP Basic) */
    uint64_t refresh_before_ms;
    pthread_mutex_t mu;
    lx_http_client *http;    /* the token endpoint's, created on first use */
    char *token;             /* cached access token */
    uint64_t refresh_at_ms;  /* lx_mono_ms() after which it is fetched again */
    uint64_t tokens;
};

static int bad(lx_error *err, const char *member, const char *what)
{
    return lx_error_set(err, LX_ECONFIG, "auth%s%s: %s", member ? "/" : "",
                        member ? member : "", what);
}

/* RFC 4648 base64, for HTTP Basic (RFC 7617). */
static char *base64(const char *s)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s);
    char *out = lx_xmalloc(4 * ((n + 2) / 3) + 1), *o = out;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        *o++ = tab[(v >> 18) & 63];
        *o++ = tab[(v >> 12) & 63];
        *o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? tab[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

static char *joined(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 1;
    char *s = lx_xmalloc(n);
    snprintf(s, n, "%s%s", a, b);
    return s;
}

/* A secret member: "<name>_env" names an environment variable, "<name>"
 * is the value itself (tests). */
static int secret(const json_t *conf, const char *name, const char **out,
                  lx_error *err)
{
    char env_key[64], msg[160];
    snprintf(env_key, sizeof(env_key), "%s_env", name);
    const char *env = lx_json_str(conf, env_key);
    const char *v = env ? getenv(env) : lx_json_str(conf, name);
    if (!v || !*v) {
        snprintf(msg, sizeof(msg), "needs \"%s\" naming a set environment "
                                   "variable",
                 env_key);
        return bad(err, env_key, msg);
    }
    *out = v;
    return 0;
}

static int read_oauth2(lx_rest_auth *a, const json_t *conf, lx_error *err)
{
    const char *url = lx_json_str(conf, "token_url");
    const char *id = lx_json_str(conf, "client_id");
    if (!url || (strncmp(url, "http://", 7) != 0 &&
                 strncmp(url, "https://", 8) != 0))
        return bad(err, "token_url", "an http(s) URL is needed");
    if (!id || !*id)
        return bad(err, "client_id", "a string is needed");
    const char *sec = NULL;
    int rc = secret(conf, "client_secret", &sec, err);
    if (rc != 0)
        return rc;
    const char *how = lx_json_str(conf, "client_auth");
    if (how && strcmp(how, "basic") != 0 && strcmp(how, "body") != 0)
        return bad(err, "client_auth", "must be \"basic\" or \"body\"");
    json_t *before = json_object_get(conf, "refresh_before_s");
    if (before && (!json_is_integer(before) ||
                   json_integer_value(before) < 0 ||
                   json_integer_value(before) > 86400))
        return bad(err, "refresh_before_s", "must be 0..86400 seconds");
    a->token_url = lx_xstrdup(url);
    a->client_id = lx_xstrdup(id);
    a->client_secret = lx_xstrdup(sec);
    const char *scope = lx_json_str(conf, "scope");
    a->scope = scope ? lx_xstrdup(scope) : NULL;
    a->client_in_body = how && strcmp(how, "body") == 0;
    a->refresh_before_ms =
        before ? (uint64_t)json_integer_value(before) * 1000 : 30000;
    return 0;
}

static int read_conf(lx_rest_auth *a, const json_t *conf, lx_error *err)
{
    if (!conf)
        return 0;
    if (!json_is_object(conf))
        return bad(err, NULL, "must be an object with a \"type\"");
    const char *type = lx_json_str(conf, "type");
    const char *v = NULL;
    int rc;
    if (!type || strcmp(type, "none") == 0)
        return type ? 0 : bad(err, "type", "none, basic, bearer, api_key or "
                                           "oauth2");
    if (strcmp(type, "basic") == 0) {
        const char *user = lx_json_str(conf, "username");
        if (!user || strchr(user, ':'))
            return bad(err, "username", "a string without ':' is needed");
        if ((rc = secret(conf, "password", &v, err)) != 0)
            return rc;
        size_t pn = strlen(user) + strlen(v) + 2;
        char *pair = lx_xmalloc(pn);
        snprintf(pair, pn, "%s:%s", user, v);
        char *enc = base64(pair);
        free(pair);
        a->fixed = joined("Authorization: Basic ", enc);
        free(enc);
        a->type = BASIC;
    } else if (strcmp(type, "bearer") == 0) {
        if ((rc = secret(conf, "token", &v, err)) != 0)
            return rc;
        a->fixed = joined("Authorization: Bearer ", v);
        a->type = BEARER;
    } else if (strcmp(type, "api_key") == 0) {
        const char *header = lx_json_str(conf, "header");
        if (!header || !*header || strpbrk(header, ": \r\n"))
            return bad(err, "header", "a header name is needed "
                                      "(\"X-API-Key\")");
        if ((rc = secret(conf, "key", &v, err)) != 0)
            return rc;
        char *name = joined(header, ": ");
        a->fixed = joined(name, v);
        free(name);
        a->type = API_KEY;
    } else if (strcmp(type, "oauth2") == 0) {
        if ((rc = read_oauth2(a, conf, err)) != 0)
            return rc;
        a->type = OAUTH2;
    } else {
        return bad(err, "type", "none, basic, bearer, api_key or oauth2");
    }
    if (a->fixed && strpbrk(a->fixed, "\r\n"))
        return bad(err, NULL, "a secret holds a line break");
    return 0;
}

int lx_rest_auth_new(const json_t *conf, lx_rest_auth **out, lx_error *err)
{
    *out = NULL;
    lx_rest_auth *a = lx_xcalloc(1, sizeof(*a));
    pthread_mutex_init(&a->mu, NULL);
    int rc = read_conf(a, conf, err);
    if (rc != 0) {
        lx_rest_auth_destroy(&a);
        return rc;
    }
    *out = a;
    return 0;
}

void lx_rest_auth_destroy(lx_rest_auth **ap)
{
    lx_rest_auth *a = *ap;
    if (!a)
        return;
    *ap = NULL;
    free(a->fixed);
    free(a->token_url);
    free(a->client_id);
    free(a->client_secret);
    free(a->scope);
    free(a->token);
    lx_http_client_destroy(&a->http);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

bool lx_rest_auth_is_dynamic(const lx_rest_auth *a)
{
    return a && a->type == OAUTH2;
}

/* POST the client credentials grant (RFC 6749 4.4.2) and keep the token.
 * Called with a->mu held. */
static int fetch_token(lx_rest_auth *a, long timeout_ms, lx_error *err)
{
    if (!a->http) {
        int rc = lx_http_client_new(&a->http, err);
        if (rc != 0)
            return rc;
    }
    char *body = lx_xstrdup("grant_type=client_credentials");
    if (a->scope) {
        char *e = lx_http_escape(a->scope);
        char *s = joined("&scope=", e);
        char *b = joined(body, s);
        free(e), free(s), free(body);
        body = b;
    }
    char *basic = NULL;
    if (a->client_in_body) {
        char *id = lx_http_escape(a->client_id);
        char *sec = lx_http_escape(a->client_secret);
        size_t n = strlen(body) + strlen(id) + strlen(sec) + 32;
        char *b = lx_xmalloc(n);
        snprintf(b, n, "%s&client_id=%s&client_secret=%s", body, id, sec);
        free(id), free(sec), free(body);
        body = b;
    } else {
        /* RFC 6749 2.3.1: both form-encoded, then HTTP Basic. */
        char *id = lx_http_escape(a->client_id);
        char *sec = lx_http_escape(a->client_secret);
        size_t pn = strlen(id) + strlen(sec) + 2;
        char *pair = lx_xmalloc(pn);
        snprintf(pair, pn, "%s:%s", id, sec);
        char *enc = base64(pair);
        basic = joined("Authorization: Basic ", enc);
        free(id), free(sec), free(pair), free(enc);
    }
    lx_http_call call = {
        .method = "POST",
        .url = a->token_url,
        .headers = {"Content-Type: application/x-www-form-urlencoded",
                    "Accept: application/json", basic},
        .body = body,
        .body_len = strlen(body),
        .timeout_ms = timeout_ms > 0 ? timeout_ms : 10000};
    lx_http_result res;
    int rc = lx_http_client_perform(a->http, &call, &res, err);
    free(body);
    free(basic);
    if (rc != 0) {
        lx_error_prefix(err, "oauth2 token endpoint");
        lx_http_result_fini(&res);
        return rc;
    }
    if (res.status >= 500 || res.status == 429 || res.status == 408) {
        long st = res.status;
        lx_http_result_fini(&res);
        return lx_error_set(err, LX_EREMOTE, "oauth2 token endpoint answered "
                                             "%ld",
                            st);
    }
    json_t *doc = NULL;
    if (res.status == 200)
        doc = json_loadb(res.body ? res.body : "", res.body_len, 0, NULL);
    const char *tok = lx_json_str(doc, "access_token");
    json_t *exp = json_object_get(doc, "expires_in");
    if (res.status != 200 || !tok || !*tok || strpbrk(tok, "\r\n")) {
        long st = res.status;
        json_decref(doc);
        lx_http_result_fini(&res);
        return lx_error_set(err, LX_EINVAL, "oauth2 token endpoint answered "
                                            "%ld without an access_token",
                            st);
    }
    /* No expires_in: the server did not say (RFC 6749 5.1); keep the token
     * until a 401 says otherwise. */
    uint64_t life_ms = json_is_integer(exp) && json_integer_value(exp) > 0
                           ? (uint64_t)json_integer_value(exp) * 1000
                           : UINT64_MAX / 4;
    uint64_t before = a->refresh_before_ms;
    if (before > life_ms / 2)
        before = life_ms / 2;
    free(a->token);
    a->token = lx_xstrdup(tok);
    a->refresh_at_ms = lx_mono_ms() + life_ms - before;
    a->tokens++;
    json_decref(doc);
    lx_http_result_fini(&res);
    return 0;
}

int lx_rest_auth_header(lx_rest_auth *a, bool force, long timeout_ms,
                        char **line, lx_error *err)
{
    *line = NULL;
    if (!a || a->type == NONE)
        return 0;
    if (a->type != OAUTH2) {
        *line = lx_xstrdup(a->fixed);
        return 0;
    }
    pthread_mutex_lock(&a->mu);
    int rc = 0;
    if (force || !a->token || lx_mono_ms() >= a->refresh_at_ms)
        rc = fetch_token(a, timeout_ms, err);
    if (rc == 0)
        *line = joined("Authorization: Bearer ", a->token);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

uint64_t lx_rest_auth_token_count(lx_rest_auth *a)
{
    pthread_mutex_lock(&a->mu);
    uint64_t n = a->tokens;
    pthread_mutex_unlock(&a->mu);
    return n;
}
