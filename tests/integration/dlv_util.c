/* tests/integration/dlv_util.c: see dlv_util.h. */
#include "tests/integration/dlv_util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

void dlv_hub_finish(lxt_hub *h)
{
    printf("-- SIGTERM: the hub exits 0, its log has no sanitizer report\n");
    int st = lxt_hub_stop(h, SIGTERM, dlv_ms(10000));
    DLV_CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "exit status 0x%x", (unsigned)st);
    lxt_hub_check_log(h);
    lxt_hub_destroy(h);
}

int dlv_report(void)
{
    int soft = lxt_soft_failures();
    printf("%d checks, %d failed, %d known deviations\n", lxt_checks, soft,
           lxt_known_deviations());
    return soft ? 1 : 0;
}

uint64_t dlv_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

json_t *dlv_patient(const char *ident, int version, const char *id)
{
    char given[32];
    snprintf(given, sizeof(given), "V%d", version);
    json_t *p = json_pack("{s:s,s:[{s:s,s:s}],s:[{s:s,s:[s]}],s:s}",
                          "resourceType", "Patient", "identifier", "system",
                          DLV_IDENT_SYSTEM, "value", ident, "name", "family",
                          "Dlv", "given", given, "gender",
                          version % 2 ? "female" : "male");
    LXT_CHECK(p != NULL, "json_pack");
    if (id)
        json_object_set_new(p, "id", json_string(id));
    return p;
}

bool dlv_identify(const json_t *o, char ident[DLV_IDENT_MAX], int *version)
{
    ident[0] = '\0';
    *version = 0;
    json_t *ids = json_object_get(o, "identifier");
    if (!ids)
        ids = json_object_get(o, "identifiers");
    size_t i;
    json_t *x;
    json_array_foreach(ids, i, x)
    {
        const char *s = json_string_value(json_object_get(x, "system"));
        const char *v = json_string_value(json_object_get(x, "value"));
        if (s && v && strcmp(s, DLV_IDENT_SYSTEM) == 0 &&
            strlen(v) < DLV_IDENT_MAX) {
            snprintf(ident, DLV_IDENT_MAX, "%s", v);
            break;
        }
    }
    json_t *name = json_object_get(o, "name");
    if (json_is_array(name))
        name = json_array_get(name, 0);
    const char *g =
        json_string_value(json_array_get(json_object_get(name, "given"), 0));
    if (g && g[0] == 'V')
        *version = (int)strtol(g + 1, NULL, 10);
    return ident[0] && *version > 0;
}

/* ---- the target ---- */

static void outcome(lxt_reply *rep, int status, const char *text)
{
    rep->status = status;
    json_t *o = json_pack("{s:s,s:[{s:s,s:s,s:s}]}", "resourceType",
                          "OperationOutcome", "issue", "severity", "error",
                          "code", "processing", "diagnostics", text);
    rep->body = json_dumps(o, JSON_COMPACT);
    rep->body_len = strlen(rep->body);
    json_decref(o);
}

static void answer(void *ctx, const lxt_request *req, lxt_reply *rep)
{
    dlv_target *d = ctx;
    pthread_mutex_lock(&d->mu);
    dlv_mode mode = d->mode;
    uint64_t until = d->down_until_ms;
    char refuse[DLV_IDENT_MAX];
    snprintf(refuse, sizeof(refuse), "%s", d->refuse);
    pthread_mutex_unlock(&d->mu);
    if (mode == DLV_DOWN && lxt_now_ms() < until) {
        pthread_mutex_lock(&d->mu);
        d->unavailable++;
        pthread_mutex_unlock(&d->mu);
        outcome(rep, 503, "dlv: down for maintenance");
        return;
    }
    if (mode == DLV_SILENT && lxt_now_ms() < until) {
        pthread_mutex_lock(&d->mu);
        d->silent++;
        pthread_mutex_unlock(&d->mu);
        /* Read, then say nothing until the outage ends: the caller's
         * timeout fires first. What follows goes to a closed socket. */
        while (lxt_now_ms() < until)
            lxt_sleep_ms(20);
        outcome(rep, 503, "dlv: too late");
        return;
    }
    if (mode == DLV_PAUSE) {
        /* Bounded: 10 minutes at most. */
        for (int i = 0; i < 600000; i++) {
            pthread_mutex_lock(&d->mu);
            bool go = d->released;
            pthread_mutex_unlock(&d->mu);
            if (go)
                break;
            lxt_sleep_ms(1);
        }
    }
    json_t *p = json_loadb(req->body, req->body_len, 0, NULL);
    char ident[DLV_IDENT_MAX];
    int version = 0;
    if (!p || !dlv_identify(p, ident, &version)) {
        json_decref(p);
        pthread_mutex_lock(&d->mu);
        d->unreadable++;
        pthread_mutex_unlock(&d->mu);
        outcome(rep, 400, "dlv: not a test Patient");
        return;
    }
    if (refuse[0] && strcmp(refuse, ident) == 0) {
        json_decref(p);
        pthread_mutex_lock(&d->mu);
        d->refused++;
        pthread_mutex_unlock(&d->mu);
        char text[128];
        snprintf(text, sizeof(text), "dlv-refused %s: business rule", ident);
        outcome(rep, 422, text);
        return;
    }
    dlv_got g;
    memset(&g, 0, sizeof(g));
    snprintf(g.ident, sizeof(g.ident), "%s", ident);
    g.version = version;
    g.at_us = dlv_now_us();
    g.at_ms = g.at_us / 1000u;
    snprintf(g.method, sizeof(g.method), "%s", req->method);
    g.direct = strchr(req->target, '?') == NULL;
    if (!d->light) {
        json_t *pr = lxt_patient_projection(p);
        g.projection = json_dumps(pr, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(pr);
    }
    json_decref(p);
    pthread_mutex_lock(&d->mu);
    if (d->count == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 256;
        dlv_got *n = realloc(d->got, cap * sizeof(*n));
        LXT_CHECK(n != NULL, "out of memory");
        d->got = n;
        d->cap = cap;
    }
    d->got[d->count++] = g;
    pthread_mutex_unlock(&d->mu);
    /* <base>/Patient...: the target's id is derived from the identifier,
     * so it is the same across the hub's restarts and retries. */
    char base[256];
    const char *pt = strstr(req->target, "/Patient");
    snprintf(base, sizeof(base), "%.*s",
             pt ? (int)(pt - req->target) : 0, req->target);
    rep->status = g.direct ? 200 : 201;
    snprintf(rep->location, sizeof(rep->location),
             "http://127.0.0.1:%d%s/Patient/t-%s/_history/1", d->port, base,
             ident);
    /* No body: the harness's target writes the head and the body with two
     * write() calls, and with Nagle on its socket and delayed ACKs on the
     * client's, the body would wait ~40 ms for an ACK. The hub takes the
     * target's id from Location. */
}

void dlv_target_start(dlv_target *d, dlv_mode mode, bool light)
{
    memset(d, 0, sizeof(*d));
    pthread_mutex_init(&d->mu, NULL);
    d->mode = mode;
    d->light = light;
    d->t = lxt_target_start(answer, d);
    d->port = lxt_target_port(d->t);
}

void dlv_target_set(dlv_target *d, dlv_mode mode, uint64_t down_until_ms)
{
    pthread_mutex_lock(&d->mu);
    d->mode = mode;
    d->down_until_ms = down_until_ms;
    pthread_mutex_unlock(&d->mu);
}

void dlv_target_refuse(dlv_target *d, const char *ident)
{
    pthread_mutex_lock(&d->mu);
    snprintf(d->refuse, sizeof(d->refuse), "%s", ident ? ident : "");
    pthread_mutex_unlock(&d->mu);
}

void dlv_target_release(dlv_target *d)
{
    pthread_mutex_lock(&d->mu);
    d->released = true;
    pthread_mutex_unlock(&d->mu);
}

size_t dlv_target_count(dlv_target *d)
{
    pthread_mutex_lock(&d->mu);
    size_t n = d->count;
    pthread_mutex_unlock(&d->mu);
    return n;
}

dlv_got dlv_target_got(dlv_target *d, size_t i)
{
    pthread_mutex_lock(&d->mu);
    LXT_CHECK(i < d->count, "dlv_target_got %zu of %zu", i, d->count);
    dlv_got g = d->got[i];
    pthread_mutex_unlock(&d->mu);
    return g;
}

int dlv_target_wait(dlv_target *d, size_t n, int timeout_ms)
{
    uint64_t deadline = lxt_now_ms() + (uint64_t)timeout_ms;
    while (dlv_target_count(d) < n) {
        if (lxt_now_ms() >= deadline)
            return -1;
        lxt_sleep_ms(10);
    }
    return 0;
}

void dlv_target_stop(dlv_target *d)
{
    lxt_target_stop(&d->t);
    for (size_t i = 0; i < d->count; i++)
        free(d->got[i].projection);
    free(d->got);
    d->got = NULL;
    d->count = d->cap = 0;
    pthread_mutex_destroy(&d->mu);
}

/* ---- the hub ---- */

long long dlv_metric(const lxt_hub *h, const char *family,
                     const char *instance)
{
    char url[128], want[256];
    snprintf(url, sizeof(url), "%s/metrics", h->http_url);
    snprintf(want, sizeof(want), "%s{instance=\"%s\"} ", family, instance);
    lx_http_result res;
    if (lxt_http("GET", url, NULL, NULL, 0, 10000 * lxt_scale(), &res) !=
            0 ||
        res.status != 200 || !res.body) {
        lx_http_result_fini(&res);
        return -1;
    }
    long long v = -1;
    for (const char *l = res.body; l && *l;) {
        if (strncmp(l, want, strlen(want)) == 0) {
            v = strtoll(l + strlen(want), NULL, 10);
            break;
        }
        l = strchr(l, '\n');
        if (l)
            l++;
    }
    lx_http_result_fini(&res);
    return v;
}

long dlv_send(const char *base, const json_t *patient, const char *id,
              char id_out[64])
{
    static const char *const headers[] = {
        "Content-Type: application/fhir+json",
        "Accept: application/fhir+json", NULL};
    char url[256];
    if (id)
        snprintf(url, sizeof(url), "%s/Patient/%s", base, id);
    else
        snprintf(url, sizeof(url), "%s/Patient", base);
    char *text = json_dumps(patient, JSON_COMPACT);
    lx_http_result res;
    int rc = lxt_http(id ? "PUT" : "POST", url, headers, text, strlen(text),
                      10000 * lxt_scale(), &res);
    free(text);
    long status = rc == 0 ? res.status : -1;
    if (id_out) {
        id_out[0] = '\0';
        const char *p = strstr(res.location, "/Patient/");
        if (p) {
            size_t n = strcspn(p + 9, "/");
            if (n < 64)
                snprintf(id_out, 64, "%.*s", (int)n, p + 9);
        }
    }
    lx_http_result_fini(&res);
    return status;
}

int dlv_cli(const lxt_hub *h, const char *const args[], char **out)
{
    const char *argv[16];
    size_t n = 0;
    argv[n++] = lxt_env_path("LX_LINGUA");
    for (size_t i = 0; args[i] && n < 12; i++)
        argv[n++] = args[i];
    argv[n++] = "--data-dir";
    argv[n++] = h->data_dir;
    argv[n] = NULL;
    char *e = NULL;
    int rc = lxt_run(argv, 20000 * lxt_scale(), out, &e, 1 << 20);
    if (rc != 0)
        fprintf(stderr, "lingua %s: exit %d: %s\n", args[0], rc,
                e ? e : "");
    free(e);
    return rc;
}

void dlv_config(char *buf, size_t size, const char *systems,
                const char *outs)
{
    int n = snprintf(buf, size,
                     "\"systems\": {%s},"
                     "\"adapters\": ["
                     "{\"name\": \"ehr-in\", \"system\": \"ehr\", \"use\": "
                     "\"fhir\", \"direction\": \"in\", \"transport\": "
                     "{\"http\": \"/fhir/r4\"}}%s%s]",
                     systems, outs[0] ? "," : "", outs);
    LXT_CHECK(n > 0 && (size_t)n < size, "config too long");
}
