/* tests/integration/test_delivery_outage.c: deliveries survive a target's
 * outage, in order, and what the target refuses waits in the dead-letter
 * list until an operator replays it (adapters/delivery/delivery.h).
 *
 * One hub, one inbound FHIR facade (ehr-in, system ehr) and three outbound
 * instances, each to its own recording target (dlv_util.h):
 *   down-out    the target answers 503 for the first T seconds;
 *   silent-out  the target reads each request and answers nothing for the
 *               first T seconds; the instance's timeout_ms is 500;
 *   refuse-out  the target is up but answers 422 (with an
 *               OperationOutcome) for one Patient, P15.
 * N = 50 changes are POSTed/PUT to ehr-in during the outage: 20 Patients
 * created, then 30 updates of P1..P10 (each ends at version 4), in two
 * halves. Checked:
 *   1. during the outage, /metrics shows lingua_delivery_failing 1 for
 *      down-out and silent-out, and their lingua_delivery_lag grows from
 *      the first half to the second;
 *   2. after it, each of the two targets gets every change exactly once,
 *      and for each Patient its versions arrive in increasing order
 *      (1, 2, ... k); lag 0, failing 0, no dead letters;
 *   3. refuse-out: the other 49 changes arrive in order; P15's creation
 *      is the one dead letter of `lingua dlq list`, with the reason (422)
 *      and the target's answer (`lingua dlq show`); once the target
 *      accepts P15, `lingua dlq replay refuse-out <seq>` delivers it and
 *      the list is empty.
 * T is LXT_OUTAGE_S (default 10; the issue "Durable delivery" asks for 60:
 * run with LXT_OUTAGE_S=60 to reproduce it). */
#include "tests/integration/dlv_util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PATIENTS 20
#define CHANGES 50

static lxt_hub hub;
static dlv_target down, silent, refuse;
static char base[128];
static char hub_ids[PATIENTS + 1][64];
static int versions[PATIENTS + 1]; /* last version sent per Patient */

static void step(const char *what)
{
    printf("-- %s\n", what);
    fflush(stdout);
}

/* Change i of the 50: creations of P1..P20, then updates of P1..P10. */
static void send_change(int i)
{
    int p = i < PATIENTS ? i + 1 : (i - PATIENTS) % 10 + 1;
    char ident[16];
    snprintf(ident, sizeof(ident), "P%d", p);
    int v = ++versions[p];
    json_t *pat = dlv_patient(ident, v, v > 1 ? hub_ids[p] : NULL);
    long st = dlv_send(base, pat, v > 1 ? hub_ids[p] : NULL,
                       v > 1 ? NULL : hub_ids[p]);
    json_decref(pat);
    LXT_CHECK(st == (v > 1 ? 200 : 201), "%s version %d: HTTP %ld", ident, v,
              st);
}

/* Every change exactly once, each Patient's versions in increasing order. */
static void check_in_order(dlv_target *d, const char *name,
                           const char *missing)
{
    size_t n = dlv_target_count(d);
    int seen[PATIENTS + 1] = {0};
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        dlv_got g = dlv_target_got(d, i);
        int p = (int)strtol(g.ident + 1, NULL, 10);
        LXT_CHECK(p >= 1 && p <= PATIENTS, "%s: unknown Patient %s", name,
                  g.ident);
        DLV_CHECK(g.version == seen[p] + 1,
                  "%s: request %zu is %s version %d after version %d: out of "
                  "order or repeated",
                  name, i, g.ident, g.version, seen[p]);
        if (g.version > seen[p])
            seen[p] = g.version;
        ok++;
    }
    for (int p = 1; p <= PATIENTS; p++) {
        char ident[16];
        snprintf(ident, sizeof(ident), "P%d", p);
        if (missing && strcmp(ident, missing) == 0)
            continue;
        DLV_CHECK(seen[p] == versions[p], "%s: P%d reached version %d of %d",
                  name, p, seen[p], versions[p]);
    }
    printf("   %s: %zu changes, each Patient's versions in order\n", name, ok);
}

static void check_no_dead_letters(const char *instance)
{
    const char *args[] = {"dlq", "list", "--subscriber", instance, NULL};
    char *out = NULL;
    int rc = dlv_cli(&hub, args, &out);
    DLV_CHECK(rc == 0 && out && strstr(out, "no dead letters"),
              "lingua dlq list --subscriber %s: exit %d:\n%s", instance, rc,
              out ? out : "");
    free(out);
}

/* Poll until the instance's lag is 0 and it is not failing. */
static void wait_drained(const char *instance, int timeout_ms)
{
    uint64_t deadline = lxt_now_ms() + (uint64_t)timeout_ms;
    long long lag = -1, failing = -1;
    while (lxt_now_ms() < deadline) {
        lag = dlv_metric(&hub, "lingua_delivery_lag", instance);
        failing = dlv_metric(&hub, "lingua_delivery_failing", instance);
        if (lag == 0 && failing == 0)
            return;
        lxt_sleep_ms(100);
    }
    DLV_CHECK(false, "%s: lag %lld, failing %lld after %d ms", instance, lag,
              failing, timeout_ms);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int outage_s = 10;
    const char *env = getenv("LXT_OUTAGE_S");
    if (env && *env)
        outage_s = (int)strtol(env, NULL, 10);
    LXT_CHECK(outage_s >= 4 && outage_s <= 600, "LXT_OUTAGE_S=%s", env);
    alarm((unsigned)((outage_s * 2 + 120) * lxt_scale()));

    /* Down from the start: set to T from now once the hub is up. */
    dlv_target_start(&down, DLV_DOWN, false);
    dlv_target_set(&down, DLV_DOWN, UINT64_MAX);
    dlv_target_start(&silent, DLV_SILENT, false);
    dlv_target_set(&silent, DLV_SILENT, UINT64_MAX);
    dlv_target_start(&refuse, DLV_UP, false);
    dlv_target_refuse(&refuse, "P15");
    char outs[2048], extra[4096];
    snprintf(outs, sizeof(outs),
             "{\"name\": \"down-out\", \"system\": \"down\", \"use\": "
             "\"fhir\", \"direction\": \"out\", \"subscribe\": "
             "[\"person.*\"], \"transport\": {\"url\": "
             "\"http://127.0.0.1:%d/fhir\", \"format\": \"json\"}},"
             "{\"name\": \"silent-out\", \"system\": \"silent\", \"use\": "
             "\"fhir\", \"direction\": \"out\", \"subscribe\": "
             "[\"person.*\"], \"transport\": {\"url\": "
             "\"http://127.0.0.1:%d/fhir\", \"format\": \"json\", "
             "\"timeout_ms\": 500}},"
             "{\"name\": \"refuse-out\", \"system\": \"refuse\", \"use\": "
             "\"fhir\", \"direction\": \"out\", \"subscribe\": "
             "[\"person.*\"], \"transport\": {\"url\": "
             "\"http://127.0.0.1:%d/fhir\", \"format\": \"json\"}}",
             down.port, silent.port, refuse.port);
    dlv_config(extra, sizeof(extra),
               "\"ehr\": {}, \"down\": {}, \"silent\": {}, \"refuse\": {}",
               outs);
    lxt_hub_init_http(&hub, extra);
    lxt_hub_start(&hub, dlv_ms(15000), true);
    snprintf(base, sizeof(base), "%s/fhir/r4", hub.http_url);
    uint64_t t0 = lxt_now_ms();
    uint64_t until = t0 + (uint64_t)outage_s * 1000u;
    dlv_target_set(&down, DLV_DOWN, until);
    dlv_target_set(&silent, DLV_SILENT, until);
    printf("hub up: %s; outage of %d s (503 on port %d, silent on port %d), "
           "422 for P15 on port %d\n",
           hub.http_url, outage_s, down.port, silent.port, refuse.port);

    step("during the outage: failing 1, lag growing");
    for (int i = 0; i < CHANGES / 2; i++)
        send_change(i);
    lxt_sleep_ms(1500);
    long long lag1[2], lag2[2];
    const char *inst[2] = {"down-out", "silent-out"};
    for (int k = 0; k < 2; k++) {
        lag1[k] = dlv_metric(&hub, "lingua_delivery_lag", inst[k]);
        long long f = dlv_metric(&hub, "lingua_delivery_failing", inst[k]);
        DLV_CHECK(f == 1, "%s: lingua_delivery_failing %lld during the outage",
                  inst[k], f);
        DLV_CHECK(lag1[k] >= 1, "%s: lag %lld", inst[k], lag1[k]);
        printf("   %s after %d changes: failing %lld, lag %lld\n", inst[k],
               CHANGES / 2, f, lag1[k]);
    }
    for (int i = CHANGES / 2; i < CHANGES; i++)
        send_change(i);
    lxt_sleep_ms(1000);
    for (int k = 0; k < 2; k++) {
        lag2[k] = dlv_metric(&hub, "lingua_delivery_lag", inst[k]);
        long long f = dlv_metric(&hub, "lingua_delivery_failing", inst[k]);
        DLV_CHECK(f == 1, "%s: lingua_delivery_failing %lld during the outage",
                  inst[k], f);
        DLV_CHECK(lag2[k] > lag1[k], "%s: lag %lld then %lld: not growing",
                  inst[k], lag1[k], lag2[k]);
        printf("   %s after %d changes: failing %lld, lag %lld\n", inst[k],
               CHANGES, f, lag2[k]);
    }
    LXT_CHECK(lxt_now_ms() < until,
              "the samples were taken after the outage (%llu ms late): the "
              "machine is too slow for LXT_OUTAGE_S=%d",
              (unsigned long long)(lxt_now_ms() - until), outage_s);
    DLV_CHECK(dlv_target_count(&down) == 0 && dlv_target_count(&silent) == 0,
              "accepted during the outage: %zu, %zu", dlv_target_count(&down),
              dlv_target_count(&silent));

    step("after the outage: every change delivered once, in order");
    /* The next retry comes at most backoff_max (30 s) after the end. */
    int wait = dlv_ms(outage_s * 1000 + 45000);
    for (int k = 0; k < 2; k++) {
        dlv_target *d = k ? &silent : &down;
        int rc = dlv_target_wait(d, CHANGES, (int)(until + (uint64_t)wait -
                                                   lxt_now_ms()));
        DLV_CHECK(rc == 0, "%s: %zu of %d changes %d ms after the outage",
                  inst[k], dlv_target_count(d), CHANGES, wait);
        printf("   %s: all %zu changes %.1f s after the outage ended "
               "(%llu answers 503, %llu left unanswered)\n",
               inst[k], dlv_target_count(d),
               rc == 0 ? (double)((int64_t)dlv_target_got(d, CHANGES - 1)
                                      .at_ms -
                                  (int64_t)until) /
                             1000.0
                       : -1.0,
               (unsigned long long)d->unavailable,
               (unsigned long long)d->silent);
    }
    for (int k = 0; k < 2; k++) {
        wait_drained(inst[k], dlv_ms(10000));
        lxt_sleep_ms(dlv_ms(300)); /* nothing more arrives */
        check_in_order(k ? &silent : &down, inst[k], NULL);
        DLV_CHECK(dlv_target_count(k ? &silent : &down) == CHANGES,
                  "%s: %zu requests accepted, expected %d", inst[k],
                  dlv_target_count(k ? &silent : &down), CHANGES);
        check_no_dead_letters(inst[k]);
    }

    step("422: the refused change is a dead letter, replayed by hand");
    LXT_CHECK(dlv_target_wait(&refuse, CHANGES - 1, dlv_ms(20000)) == 0,
              "refuse-out: %zu of %d changes", dlv_target_count(&refuse),
              CHANGES - 1);
    wait_drained("refuse-out", dlv_ms(10000));
    check_in_order(&refuse, "refuse-out", "P15");
    DLV_CHECK(refuse.refused == 1, "the target refused %llu requests, expected "
                                   "1 (no blind retry of a 4xx)",
              (unsigned long long)refuse.refused);
    long long refused = dlv_metric(&hub, "lingua_delivery_refused_total",
                                   "refuse-out");
    DLV_CHECK(refused == 1, "lingua_delivery_refused_total %lld", refused);
    const char *list[] = {"dlq", "list", "--subscriber", "refuse-out", NULL};
    char *out = NULL;
    int rc = dlv_cli(&hub, list, &out);
    LXT_CHECK(rc == 0 && out, "lingua dlq list: exit %d", rc);
    printf("   lingua dlq list --subscriber refuse-out:\n%s", out);
    const char *s = strstr(out, " seq ");
    LXT_CHECK(s != NULL, "no dead letter listed: %s", out);
    long long seq = strtoll(s + 5, NULL, 10);
    DLV_CHECK(strstr(s + 5, " seq ") == NULL, "more than one dead letter");
    DLV_CHECK(strstr(out, "422") != NULL, "the reason does not say 422: %s",
              out);
    free(out);
    char seq_text[32];
    snprintf(seq_text, sizeof(seq_text), "%lld", seq);
    const char *show[] = {"dlq", "show", "refuse-out", seq_text, NULL};
    rc = dlv_cli(&hub, show, &out);
    LXT_CHECK(rc == 0 && out, "lingua dlq show: exit %d", rc);
    json_t *dl = json_loads(out, 0, NULL);
    LXT_CHECK(dl != NULL, "lingua dlq show is not JSON: %s", out);
    const char *reason = json_string_value(json_object_get(dl, "reason"));
    json_t *resp = json_object_get(dl, "response");
    const char *rbody = json_string_value(json_object_get(resp, "body"));
    DLV_CHECK(reason && strstr(reason, "422"), "reason %s",
              reason ? reason : "(none)");
    DLV_CHECK(json_integer_value(json_object_get(resp, "status")) == 422,
              "response status: %s", out);
    DLV_CHECK(rbody && strstr(rbody, "dlv-refused P15"),
              "the target's answer is not kept: %s", out);
    const char *type = json_string_value(json_object_get(dl, "type"));
    DLV_CHECK(type && strcmp(type, "person.created") == 0, "type %s",
              type ? type : "(none)");
    printf("   dead letter %lld: %s; response %lld %s\n", seq,
           reason ? reason : "", (long long)json_integer_value(
                                     json_object_get(resp, "status")),
           rbody ? rbody : "");
    json_decref(dl);
    free(out);

    dlv_target_refuse(&refuse, NULL);
    const char *replay[] = {"dlq", "replay", "refuse-out", seq_text, NULL};
    rc = dlv_cli(&hub, replay, &out);
    DLV_CHECK(rc == 0, "lingua dlq replay: exit %d", rc);
    free(out);
    rc = dlv_target_wait(&refuse, CHANGES, dlv_ms(10000));
    DLV_CHECK(rc == 0, "the replayed dead letter did not arrive");
    if (rc == 0) {
        dlv_got g = dlv_target_got(&refuse, CHANGES - 1);
        DLV_CHECK(strcmp(g.ident, "P15") == 0 && g.version == 1,
                  "replay delivered %s version %d", g.ident, g.version);
    }
    /* The dead letter is removed after the call: poll. */
    uint64_t deadline = lxt_now_ms() + (uint64_t)dlv_ms(5000);
    for (;;) {
        rc = dlv_cli(&hub, list, &out);
        bool empty = rc == 0 && out && strstr(out, "no dead letters");
        free(out);
        if (empty || lxt_now_ms() >= deadline)
            break;
        lxt_sleep_ms(100);
    }
    check_no_dead_letters("refuse-out");
    lxt_sleep_ms(dlv_ms(300));
    DLV_CHECK(dlv_target_count(&refuse) == CHANGES, "refuse-out got %zu",
              dlv_target_count(&refuse));

    dlv_hub_finish(&hub);
    dlv_target_stop(&down);
    dlv_target_stop(&silent);
    dlv_target_stop(&refuse);
    return dlv_report();
}
