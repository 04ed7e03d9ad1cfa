/* core/http_client.c: see http_client.h. The only file that includes
 * curl/curl.h. */
#include "core/http_client.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/mem.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#define BODY_MAX_DEFAULT ((size_t)16 << 20)

struct lx_http_client {
    CURL *curl;
    size_t max_body;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static void global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

int lx_http_client_new(lx_http_client **out, lx_error *err)
{
    *out = NULL;
    pthread_once(&global_once, global_init);
    lx_http_client *c = lx_xcalloc(1, sizeof(*c));
    c->curl = curl_easy_init();
    if (!c->curl) {
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
    curl_easy_cleanup(c->curl);
    free(c);
}

void lx_http_result_fini(lx_http_result *res)
{
    free(res->body);
    res->body = NULL;
    res->body_len = 0;
}

typedef struct sink {
    lx_buf body;
    lx_http_result *res;
    bool too_large;
} sink;

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

int lx_http_client_perform(lx_http_client *c, const lx_http_call *call,
                           lx_http_result *res, lx_error *err)
{
    memset(res, 0, sizeof(*res));
    CURL *h = c->curl;
    /* Reset options but keep the connection cache (keep-alive). */
    curl_easy_reset(h);
    sink s = {.res = res};
    lx_buf_init(&s.body, c->max_body);
    struct curl_slist *headers = NULL;
    for (size_t i = 0; i < LX_HTTP_CALL_HEADERS_MAX && call->headers[i]; i++)
        headers = curl_slist_append(headers, call->headers[i]);
    /* curl adds "Expect: 100-continue" for large bodies: one round trip
     * more per call, for nothing. */
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, call->url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call->method);
    if (strcmp(call->method, "GET") == 0)
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    else if (strcmp(call->method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (call->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, call->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)call->body_len);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     call->timeout_ms > 0 ? call->timeout_ms : 10000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     call->connect_timeout_ms > 0 ? call->connect_timeout_ms
                                                  : 3000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    /* Only http and https: a target URL must never read local files. */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    CURLcode cc = curl_easy_perform(h);
    curl_slist_free_all(headers);
    double secs = 0;
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &secs);
    res->elapsed_ms = secs * 1000.0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
    res->body = lx_buf_take(&s.body, &res->body_len);
    if (cc == CURLE_OK)
        return 0;
    int code = s.too_large                     ? LX_ELIMIT
               : cc == CURLE_OPERATION_TIMEDOUT ? LX_ETIMEOUT
                                               : LX_EREMOTE;
    lx_error_set(err, code, "%s %s: %s", call->method, call->url,
                 s.too_large ? "response body over the limit"
                             : curl_easy_strerror(cc));
    if (err)
        err->lib_code = (int)cc;
    return code;
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
