/* tests/integration/test_delivery_crash.c: delivery is at least once
 * across kill -9 (adapters/delivery/delivery.h: "a crash may repeat a
 * call, never skip one").
 *
 * A hub with an inbound FHIR facade (ehr-in, system ehr) and an outbound
 * instance (registry-out) to a recording target that is always up
 * (dlv_util.h). A client thread ingests without pause: PUT
 * [base]/Patient/c<n> of a new Patient (60 %) or the next version of one
 * already acknowledged, each retried with the same content until it is
 * acknowledged (200/201; a try is abandoned after 2 s). Meanwhile the main
 * thread runs rounds of: start the hub, let it run 300-1500 ms, kill -9.
 * After the last round the hub is started once more, the client finishes
 * its pending change, and deliveries drain (lag 0). Checked:
 *   1. every acknowledged change is stored: GET [base]/Patient/c<n> is its
 *      last acknowledged version;
 *   2. the event log is 1..last_seq without a gap (REPLAY), with exactly
 *      one event per (Patient, version) acknowledged;
 *   3. every event of the log reached the target at least once, and the
 *      target got nothing that is not in the log; repeated deliveries
 *      (allowed: at least once) carry the same content as the first;
 *   4. no dead letter; the hub's log has no sanitizer report.
 * Events are identified at the target by (identifier, version) read from
 * the body: the adapter sends no event id header (see the report).
 * LXT_CRASH_ROUNDS (default 12) and LXT_SEED override the defaults. */
#include "tests/integration/dlv_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define RECS 4000
#define VMAX 32
#define TRY_TIMEOUT_MS 2000

enum { RUN = 0, FINISH = 1 };

static lxt_hub hub;
static dlv_target target;
static atomic_int phase;
static char base[128];

/* Written by the client thread only until it is joined. */
static int acked[RECS];
static int patients;
static long acks, tries_failed, unexpected;
static unsigned seed;

static void step(const char *what)
{
    printf("-- %s\n", what);
    fflush(stdout);
}

static void *client_main(void *arg)
{
    (void)arg;
    lx_http_client *c = NULL;
    lx_error err;
    lx_error_clear(&err);
    LXT_CHECK(lx_http_client_new(&c, &err) == 0, "http client: %s", err.msg);
    unsigned r = seed ^ 0x9e3779b9u;
    int p = -1, v = 0; /* the pending change */
    for (long guard = 0; guard < 10000000; guard++) {
        if (p < 0) {
            if (atomic_load(&phase) != RUN)
                break;
            r = r * 1103515245u + 12345u;
            int pick = (int)((r >> 8) % 100);
            if ((patients < 5 || pick < 60) && patients < RECS) {
                p = patients++;
                v = 1;
            } else {
                p = (int)((r >> 4) % (unsigned)patients);
                if (acked[p] + 1 >= VMAX) {
                    p = -1;
                    continue;
                }
                v = acked[p] + 1;
            }
        }
        char ident[16], url[256];
        snprintf(ident, sizeof(ident), "c%d", p);
        snprintf(url, sizeof(url), "%s/Patient/%s", base, ident);
        json_t *pat = dlv_patient(ident, v, ident);
        char *text = json_dumps(pat, JSON_COMPACT);
        json_decref(pat);
        lx_http_call call = {.method = "PUT",
                             .url = url,
                             .headers = {"Content-Type: application/fhir+json",
                                         NULL},
                             .body = text,
                             .body_len = strlen(text),
                             .timeout_ms = TRY_TIMEOUT_MS * lxt_scale(),
                             .connect_timeout_ms = 500};
        lx_http_result res;
        int rc = lx_http_client_perform(c, &call, &res, &err);
        free(text);
        if (rc == 0 && (res.status == 200 || res.status == 201)) {
            acked[p] = v;
            acks++;
            p = -1;
            lxt_sleep_ms(4); /* ~200 changes/s: the drain stays short */
        } else {
            tries_failed++;
            /* 503 while the hub shuts down is expected; other statuses
             * are not. */
            if (rc == 0 && res.status != 503 && unexpected++ < 5)
                fprintf(stderr, "PUT %s: HTTP %ld %.200s\n", url, res.status,
                        res.body ? res.body : "");
            lxt_sleep_ms(20);
        }
        lx_http_result_fini(&res);
    }
    lx_http_client_destroy(&c);
    return NULL;
}

/* Replay the whole log: the events, in order (a JSON array). */
static json_t *whole_log(json_int_t *last_seq)
{
    lxt_client *c = lxt_client_new(hub.router);
    json_t *b = json_object(), *st = NULL;
    char status[16];
    LXT_CHECK(lxt_call(c, "STATUS", b, dlv_ms(5000), status, &st) == 0 &&
                  strcmp(status, "OK") == 0,
              "STATUS");
    *last_seq = lxt_jint(st, "last_seq", "STATUS");
    json_decref(st);
    json_decref(b);
    json_t *evs = json_array(), *end = NULL;
    json_int_t from = 1;
    for (int page = 0; page < 1000; page++) {
        size_t before = json_array_size(evs);
        LXT_CHECK(lxt_replay(c, (uint64_t)from, 10000, dlv_ms(20000), evs, &end) ==
                      0,
                  "REPLAY from %lld", (long long)from);
        from = lxt_jint(end, "next", "END");
        json_int_t ls = lxt_jint(end, "last_seq", "END");
        json_decref(end);
        if (from > ls || json_array_size(evs) == before)
            break;
    }
    lxt_client_destroy(&c);
    return evs;
}

static unsigned char in_log[RECS][VMAX];
static unsigned received[RECS][VMAX];
static const char *first_content[RECS][VMAX];

static int patient_index(const char *ident)
{
    if (ident[0] != 'c')
        return -1;
    char *end = NULL;
    long p = strtol(ident + 1, &end, 10);
    return *end == '\0' && p >= 0 && p < RECS ? (int)p : -1;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm((unsigned)(240 * lxt_scale()));
    int rounds = 12;
    const char *env = getenv("LXT_CRASH_ROUNDS");
    if (env && *env)
        rounds = (int)strtol(env, NULL, 10);
    LXT_CHECK(rounds >= 1 && rounds <= 100, "LXT_CRASH_ROUNDS=%s", env);
    env = getenv("LXT_SEED");
    seed = env && *env ? (unsigned)strtoul(env, NULL, 10)
                       : (unsigned)lxt_now_ms();
    printf("seed %u (LXT_SEED), %d rounds\n", seed, rounds);
    srand(seed);

    dlv_target_start(&target, DLV_UP, false);
    char outs[1024], extra[2048];
    snprintf(outs, sizeof(outs),
             "{\"name\": \"registry-out\", \"system\": \"registry\", "
             "\"use\": \"fhir\", \"direction\": \"out\", \"subscribe\": "
             "[\"person.*\"], \"transport\": {\"url\": "
             "\"http://127.0.0.1:%d/fhir\", \"format\": \"json\"}}",
             target.port);
    dlv_config(extra, sizeof(extra), "\"ehr\": {}, \"registry\": {}", outs);
    lxt_hub_init_http(&hub, extra);

    step("kill -9 at random moments while a client ingests");
    lxt_hub_start(&hub, dlv_ms(20000), true);
    snprintf(base, sizeof(base), "%s/fhir/r4", hub.http_url);
    pthread_t th;
    LXT_CHECK(pthread_create(&th, NULL, client_main, NULL) == 0, "thread");
    uint64_t t0 = lxt_now_ms();
    int done = 0;
    for (int round = 0; round < rounds; round++) {
        if (round > 0)
            lxt_hub_start(&hub, dlv_ms(20000), false);
        lxt_sleep_ms(300 + rand() % 1200);
        size_t got = dlv_target_count(&target);
        int st = lxt_hub_stop(&hub, SIGKILL, dlv_ms(5000));
        LXT_CHECK(st == -1 || (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL),
                  "round %d: the hub was not killed (status 0x%x)", round,
                  (unsigned)st);
        done++;
        printf("   round %d: killed after %zu deliveries\n", round + 1, got);
        if (lxt_now_ms() - t0 > (uint64_t)dlv_ms(60000))
            break; /* the whole test stays bounded */
    }
    step("restart, finish the pending change, let deliveries drain");
    lxt_hub_start(&hub, dlv_ms(20000), false);
    atomic_store(&phase, FINISH);
    pthread_join(th, NULL);
    printf("   %d kills in %.1f s; %ld acknowledged changes of %d "
           "Patients, %ld tries failed\n",
           done, (double)(lxt_now_ms() - t0) / 1000.0, acks, patients,
           tries_failed);
    DLV_CHECK(unexpected == 0, "%ld unexpected HTTP statuses (see above)",
              unexpected);
    uint64_t deadline = lxt_now_ms() + (uint64_t)dlv_ms(60000);
    long long lag = -1, failing = -1;
    while (lxt_now_ms() < deadline) {
        lag = dlv_metric(&hub, "lingua_delivery_lag", "registry-out");
        failing = dlv_metric(&hub, "lingua_delivery_failing", "registry-out");
        if (lag == 0 && failing == 0)
            break;
        lxt_sleep_ms(100);
    }
    DLV_CHECK(lag == 0 && failing == 0, "not drained: lag %lld, failing %lld",
              lag, failing);

    step("every acknowledged change is stored");
    int stored_ok = 0;
    for (int p = 0; p < patients; p++) {
        if (acked[p] == 0)
            continue;
        char url[256];
        snprintf(url, sizeof(url), "%s/Patient/c%d", base, p);
        lx_http_result res;
        int rc = lxt_http("GET", url, NULL, NULL, 0, dlv_ms(10000), &res);
        json_t *pat = rc == 0 && res.status == 200
                          ? json_loadb(res.body, res.body_len, 0, NULL)
                          : NULL;
        char ident[DLV_IDENT_MAX];
        int v = 0;
        bool ok = pat && dlv_identify(pat, ident, &v) && v == acked[p];
        DLV_CHECK(ok, "GET %s: HTTP %ld, version %d, acknowledged %d", url,
                  res.status, v, acked[p]);
        stored_ok += ok;
        json_decref(pat);
        lx_http_result_fini(&res);
    }
    printf("   %d Patients at their acknowledged version\n", stored_ok);

    step("the log has no gap, one event per acknowledged change");
    json_int_t last_seq = 0;
    json_t *evs = whole_log(&last_seq);
    DLV_CHECK((json_int_t)json_array_size(evs) == last_seq,
              "REPLAY returned %zu events, last_seq %lld", json_array_size(evs),
              (long long)last_seq);
    for (size_t i = 0; i < json_array_size(evs); i++) {
        json_t *ev = json_array_get(evs, i);
        json_int_t seq = lxt_jint(ev, "seq", "event");
        if (seq != (json_int_t)i + 1) {
            DLV_CHECK(false, "gap: event %zu has seq %lld", i + 1,
                      (long long)seq);
            break;
        }
        char ident[DLV_IDENT_MAX];
        int v = 0;
        int p = -1;
        if (dlv_identify(json_object_get(ev, "record"), ident, &v))
            p = patient_index(ident);
        if (p < 0 || v >= VMAX) {
            DLV_CHECK(false, "event %lld: not a test change", (long long)seq);
            continue;
        }
        DLV_CHECK(in_log[p][v] == 0, "event %lld repeats c%d version %d",
                  (long long)seq, p, v);
        in_log[p][v]++;
    }
    for (int p = 0; p < patients; p++)
        for (int v = 1; v <= acked[p]; v++)
            DLV_CHECK(in_log[p][v] == 1, "c%d version %d (acknowledged) has %d "
                                         "events",
                      p, v, in_log[p][v]);

    step("every event reached the target; repeats carry the same content");
    size_t n = dlv_target_count(&target), repeats = 0, differ = 0;
    for (size_t i = 0; i < n; i++) {
        dlv_got g = dlv_target_got(&target, i);
        int p = patient_index(g.ident);
        if (p < 0 || g.version >= VMAX || !in_log[p][g.version]) {
            DLV_CHECK(false, "the target got %s version %d, which is not in "
                             "the log",
                      g.ident, g.version);
            continue;
        }
        if (received[p][g.version]++ == 0) {
            first_content[p][g.version] = g.projection;
        } else {
            repeats++;
            bool same = g.projection && first_content[p][g.version] &&
                        strcmp(g.projection, first_content[p][g.version]) ==
                            0;
            differ += !same;
            DLV_CHECK(same, "%s version %d delivered twice with different "
                            "content:\n  %s\n  %s",
                      g.ident, g.version, first_content[p][g.version],
                      g.projection);
        }
    }
    size_t events = 0, missing = 0;
    for (int p = 0; p < patients; p++)
        for (int v = 1; v < VMAX; v++) {
            if (!in_log[p][v])
                continue;
            events++;
            if (received[p][v] == 0) {
                missing++;
                DLV_CHECK(false, "event c%d version %d never reached the target",
                          p, v);
            }
        }
    printf("   %zu events, %zu deliveries (%zu repeats, %zu differing), "
           "%zu never delivered\n",
           events, n, repeats, differ, missing);
    const char *list[] = {"dlq", "list", NULL};
    char *out = NULL;
    int rc = dlv_cli(&hub, list, &out);
    DLV_CHECK(rc == 0 && out && strstr(out, "no dead letters"),
              "lingua dlq list: %s", out ? out : "");
    free(out);
    json_decref(evs);

    dlv_hub_finish(&hub);
    dlv_target_stop(&target);
    return dlv_report();
}
