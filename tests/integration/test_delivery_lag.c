/* tests/integration/test_delivery_lag.c: backpressure (docs/delivery.md,
 * "Lag limit"). A stalled target never stops ingest; the outbound
 * instance that falls behind past its max_lag is named by /health and
 * /metrics, and stops being named once it catches up.
 *
 * One hub, the inbound FHIR facade ehr-in (system ehr) and one outbound
 * instance, stall-out (max_lag 5, concurrency 2), to a recording target
 * that holds its first request until released (dlv_util.h, DLV_PAUSE), so
 * the cursor stays before the first event while the log grows. Checked:
 *   1. before any change: /health "ok", lingua_delivery_lagging 0 and
 *      lingua_delivery_max_lag 5;
 *   2. 20 Patients POSTed while the target stalls are all accepted (201);
 *      /health answers 200 with "status": "degraded" and "lagging" naming
 *      stall-out with its lag (> 5) and max_lag 5; /metrics has
 *      lingua_delivery_lagging 1 and a lag > 5 for it;
 *   3. once the target is released, every Patient reaches it, the lag
 *      goes back to 0, /health is "ok" again without "lagging", and
 *      lingua_delivery_lagging is 0;
 *   4. the hub exits 0 on SIGTERM, its log has no sanitizer report. */
#include "tests/integration/dlv_util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PATIENTS 20
#define MAX_LAG 5

static lxt_hub hub;
static dlv_target target;

/* GET /health: the HTTP status, the parsed body in *out (caller decrefs). */
static long health(json_t **out)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/health", hub.http_url);
    lx_http_result res;
    int rc = lxt_http("GET", url, NULL, NULL, 0, dlv_ms(10000), &res);
    long status = rc == 0 ? res.status : -1;
    *out = rc == 0 && res.body ? json_loadb(res.body, res.body_len, 0, NULL)
                               : NULL;
    lx_http_result_fini(&res);
    return status;
}

/* The "status" of a /health answer, "(none)" when absent. */
static const char *status_of(const json_t *h)
{
    const char *s = json_string_value(json_object_get(h, "status"));
    return s ? s : "(none)";
}

/* The entry of `lagging` naming the instance, or NULL. */
static json_t *lagging_entry(json_t *h, const char *instance)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(h, "lagging"), i, e)
    {
        const char *name = json_string_value(json_object_get(e, "instance"));
        if (name && strcmp(name, instance) == 0)
            return e;
    }
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm((unsigned)(180 * lxt_scale()));
    dlv_target_start(&target, DLV_PAUSE, false);
    char outs[1024], extra[2048];
    snprintf(outs, sizeof(outs),
             "{\"name\": \"stall-out\", \"system\": \"stall\", \"use\": "
             "\"fhir\", \"direction\": \"out\", \"subscribe\": "
             "[\"person.*\"], \"concurrency\": 2, \"max_lag\": %d, "
             "\"transport\": {\"url\": \"http://127.0.0.1:%d/fhir\", "
             "\"format\": \"json\", \"timeout_ms\": 120000}}",
             MAX_LAG, target.port);
    dlv_config(extra, sizeof(extra), "\"ehr\": {}, \"stall\": {}", outs);
    lxt_hub_init_http(&hub, extra);
    lxt_hub_start(&hub, dlv_ms(15000), true);
    char base[128];
    snprintf(base, sizeof(base), "%s/fhir/r4", hub.http_url);
    printf("hub up: %s; target on port %d stalls\n", hub.http_url,
           target.port);

    printf("-- 1. nothing behind yet\n");
    json_t *h = NULL;
    long st = health(&h);
    DLV_CHECK(st == 200, "/health: HTTP %ld", st);
    DLV_CHECK(strcmp(status_of(h), "ok") == 0, "/health status %s",
              status_of(h));
    json_decref(h);
    DLV_CHECK(dlv_metric(&hub, "lingua_delivery_lagging", "stall-out") == 0,
              "lagging before any change");
    DLV_CHECK(dlv_metric(&hub, "lingua_delivery_max_lag", "stall-out") ==
                  MAX_LAG,
              "lingua_delivery_max_lag");

    printf("-- 2. %d changes while the target stalls\n", PATIENTS);
    int accepted = 0;
    for (int p = 1; p <= PATIENTS; p++) {
        char ident[16];
        snprintf(ident, sizeof(ident), "S%d", p);
        json_t *pat = dlv_patient(ident, 1, NULL);
        accepted += dlv_send(base, pat, NULL, NULL) == 201;
        json_decref(pat);
    }
    DLV_CHECK(accepted == PATIENTS, "ingest accepted %d of %d while delivery "
                                    "stalls",
              accepted, PATIENTS);
    /* The first call is held: the cursor cannot pass event 1. */
    long long lag = dlv_metric(&hub, "lingua_delivery_lag", "stall-out");
    DLV_CHECK(lag >= PATIENTS, "lag %lld with the first call held", lag);
    DLV_CHECK(dlv_metric(&hub, "lingua_delivery_lagging", "stall-out") == 1,
              "lingua_delivery_lagging while %lld behind", lag);
    st = health(&h);
    DLV_CHECK(st == 200, "/health while lagging: HTTP %ld", st);
    DLV_CHECK(strcmp(status_of(h), "degraded") == 0,
              "/health status %s while lagging", status_of(h));
    json_t *e = lagging_entry(h, "stall-out");
    DLV_CHECK(e != NULL, "/health does not name stall-out");
    DLV_CHECK(json_integer_value(json_object_get(e, "lag")) > MAX_LAG &&
                  json_integer_value(json_object_get(e, "max_lag")) == MAX_LAG,
              "/health lagging entry: lag %lld, max_lag %lld",
              (long long)json_integer_value(json_object_get(e, "lag")),
              (long long)json_integer_value(json_object_get(e, "max_lag")));
    char *text = h ? json_dumps(h, JSON_COMPACT) : NULL;
    printf("   /health: %s\n", text ? text : "(none)");
    free(text);
    json_decref(h);

    printf("-- 3. the target comes back\n");
    dlv_target_release(&target);
    DLV_CHECK(dlv_target_wait(&target, PATIENTS, dlv_ms(30000)) == 0,
              "only %zu of %d delivered", dlv_target_count(&target), PATIENTS);
    uint64_t deadline = lxt_now_ms() + (uint64_t)dlv_ms(20000);
    while (lxt_now_ms() < deadline &&
           dlv_metric(&hub, "lingua_delivery_lag", "stall-out") != 0)
        lxt_sleep_ms(50);
    DLV_CHECK(dlv_metric(&hub, "lingua_delivery_lag", "stall-out") == 0,
              "lag after the target came back");
    DLV_CHECK(dlv_metric(&hub, "lingua_delivery_lagging", "stall-out") == 0,
              "still lagging after catching up");
    st = health(&h);
    DLV_CHECK(st == 200 && strcmp(status_of(h), "ok") == 0 &&
                  !json_object_get(h, "lagging"),
              "/health after catching up: HTTP %ld, status %s", st,
              status_of(h));
    json_decref(h);

    dlv_hub_finish(&hub);
    dlv_target_stop(&target);
    return dlv_report();
}
