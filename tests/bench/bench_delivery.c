/* tests/bench/bench_delivery.c: how fast a real `lingua serve` delivers
 * to a loopback FHIR target, and how long a change takes from an inbound
 * POST to the target's receipt. Not a test: it prints figures (see
 * README.md, "Delivery").
 *
 * The hub (started with the integration harness, killed when this ends)
 * has the inbound facade ehr-in (/fhir/r4, system ehr) and one outbound
 * instance, registry-out, with --concurrency calls in flight (curl multi,
 * as many keep-alive connections), to the target in this process
 * (bench_delivery_target.h: one epoll thread, answers 201 + Location in
 * one write, records which Patient and when).
 *   [1] backlog: the target reads nothing until released, so deliveries
 *       are stuck on their first calls while --count Patients are POSTed
 *       by --senders threads (closed loop: the ingest rate). Then the
 *       target is released: calls/s = deliveries / (last receipt -
 *       release).
 *   [2] latency: open-loop POSTs of new Patients at 10 %, 50 % and 90 %
 *       of the maximum rate (the lower of [1]'s ingest and delivery
 *       rates), each for --seconds: request j is due at t0 + j / rate and
 *       its latency is from when it was due (not sent: no coordinated
 *       omission) to the target's receipt; p50, p99, p99.9.
 * Usage: bench_delivery [--count K] [--seconds S] [--senders N] [--quick]
 *                       [--nosync] [--concurrency C] [--callgrind]
 * --nosync runs the hub with store.sync off: what durability costs.
 * --callgrind runs the hub under valgrind --tool=callgrind with
 * instrumentation switched on only for the drain of [1] and prints the
 * hub's instructions per delivered call (all its threads: delivery,
 * writer, ...), a figure that does not depend on the machine's load; [2]
 * is skipped.
 * Environment: LX_LINGUA, LX_SCHEMAS_DIR (defaults from the build). */
#include "tests/bench/bench_delivery_target.h"
#include "tests/integration/dlv_util.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SENDERS_MAX 64

static lxt_hub hub;
static bdt *target;
static char base[128];

typedef struct sender {
    pthread_t th;
    int index, count; /* requests j with j % count == index */
    int total;
    char prefix[8];
    double rate;      /* 0: closed loop */
    uint64_t t0_us;
    uint64_t *due_us; /* per request, shared array */
    uint64_t *ack_us; /* per request: when its 201 arrived (may be NULL) */
    long errors;
} sender;

static void *sender_main(void *arg)
{
    sender *s = arg;
    lx_http_client *c = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (lx_http_client_new(&c, &err) != 0) {
        s->errors++;
        return NULL;
    }
    char url[256];
    snprintf(url, sizeof(url), "%s/Patient", base);
    for (int j = s->index; j < s->total; j += s->count) {
        if (s->rate > 0) {
            uint64_t due = s->t0_us + (uint64_t)((double)j * 1e6 / s->rate);
            s->due_us[j] = due;
            uint64_t now = dlv_now_us();
            if (due > now) {
                struct timespec ts = {(time_t)((due - now) / 1000000u),
                                      (long)((due - now) % 1000000u) * 1000};
                nanosleep(&ts, NULL);
            }
        }
        char ident[32];
        snprintf(ident, sizeof(ident), "%s%d", s->prefix, j);
        json_t *p = dlv_patient(ident, 1, NULL);
        char *text = json_dumps(p, JSON_COMPACT);
        json_decref(p);
        lx_http_call call = {.method = "POST",
                             .url = url,
                             .headers = {"Content-Type: application/fhir+json",
                                         NULL},
                             .body = text,
                             .body_len = strlen(text),
                             .timeout_ms = 30000};
        lx_http_result res;
        int rc = lx_http_client_perform(c, &call, &res, &err);
        if (rc != 0 || res.status != 201)
            s->errors++;
        else if (s->ack_us)
            s->ack_us[j] = dlv_now_us();
        lx_http_result_fini(&res);
        free(text);
    }
    lx_http_client_destroy(&c);
    return NULL;
}

/* Run `total` POSTs of <prefix><j> from n threads; rate 0 = closed loop.
 * Returns the errors. */
static long run_senders(int n, int total, const char *prefix, double rate,
                        uint64_t *due_us, uint64_t *ack_us)
{
    sender s[SENDERS_MAX];
    uint64_t t0 = dlv_now_us() + 20000;
    for (int i = 0; i < n; i++) {
        memset(&s[i], 0, sizeof(s[i]));
        s[i].index = i;
        s[i].count = n;
        s[i].total = total;
        snprintf(s[i].prefix, sizeof(s[i].prefix), "%s", prefix);
        s[i].rate = rate;
        s[i].t0_us = t0;
        s[i].due_us = due_us;
        s[i].ack_us = ack_us;
        LXT_CHECK(pthread_create(&s[i].th, NULL, sender_main, &s[i]) == 0,
                  "thread");
    }
    long errors = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(s[i].th, NULL);
        errors += s[i].errors;
    }
    return errors;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(const uint64_t *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)sorted[k - 1] / 1000.0;
}

/* The machine's load average (1 min), -1 when unknown: wall-clock figures
 * are only comparable at a similar load. */
static double loadavg(void)
{
    char line[128];
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f)
        return -1;
    bool ok = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    return ok ? strtod(line, NULL) : -1;
}

static void default_env(const char *name, const char *value)
{
    const char *v = getenv(name);
    if (!v || !*v)
        setenv(name, value, 1);
}

/* --callgrind: the hub runs under a wrapper that starts valgrind with
 * instrumentation off; callgrind_control switches it on and dumps. */
static char cg_dir[PATH_MAX];

static void callgrind_wrap(const char *lingua)
{
    snprintf(cg_dir, sizeof(cg_dir), "/tmp/lx-bench-cg-XXXXXX");
    LXT_CHECK(mkdtemp(cg_dir) != NULL, "mkdtemp");
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/lingua", cg_dir);
    FILE *f = fopen(path, "w");
    LXT_CHECK(f != NULL, "cannot write %s", path);
    fprintf(f,
            "#!/bin/sh\nexec valgrind --tool=callgrind --instr-atstart=no "
            "--callgrind-out-file=%s/cg.%%p '%s' \"$@\"\n",
            cg_dir, lingua);
    fclose(f);
    LXT_CHECK(chmod(path, 0755) == 0, "chmod");
    setenv("LX_LINGUA", path, 1);
}

static void callgrind_control(const char *opt)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "callgrind_control %s %d >/dev/null",
             opt, (int)hub.pid);
    LXT_CHECK(system(cmd) == 0, "%s failed", cmd);
}

/* "totals: N" of the first dump (cg.<pid>.1). */
static unsigned long long callgrind_total(void)
{
    char path[PATH_MAX + 64], line[256];
    snprintf(path, sizeof(path), "%s/cg.%d.1", cg_dir, (int)hub.pid);
    FILE *f = fopen(path, "r");
    LXT_CHECK(f != NULL, "no callgrind dump %s", path);
    unsigned long long n = 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "totals: ", 8) == 0 ||
            strncmp(line, "summary: ", 9) == 0)
            n = strtoull(strchr(line, ' ') + 1, NULL, 10);
    fclose(f);
    return n;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int count = 20000, senders = 16, concurrency = 8;
    bool sync = true, cg = false;
    double seconds = 5.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--nosync") == 0) {
            sync = false;
        } else if (strcmp(argv[i], "--callgrind") == 0) {
            cg = true;
        } else if (strcmp(argv[i], "--quick") == 0) {
            count = 2000;
            seconds = 2.0;
        } else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            count = (int)strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = strtod(argv[++i], NULL);
        } else if (strcmp(argv[i], "--senders") == 0 && i + 1 < argc) {
            senders = (int)strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--concurrency") == 0 && i + 1 < argc) {
            concurrency = (int)strtol(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: bench_delivery [--count K] [--seconds S] "
                            "[--senders N] [--quick] [--nosync] "
                            "[--concurrency C] [--callgrind]\n");
            return 2;
        }
    }
    if (count < 10 || count > 200000 || seconds <= 0 || seconds > 120 ||
        senders < 1 || senders > SENDERS_MAX || concurrency < 1 ||
        concurrency > 256) {
        fprintf(stderr, "bench_delivery: count 10..200000, seconds 0..120, "
                        "senders 1..%d, concurrency 1..256\n",
                SENDERS_MAX);
        return 2;
    }
    char self[PATH_MAX], lingua[PATH_MAX + 16];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (sl > 0) {
        self[sl] = '\0';
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = '\0';
        snprintf(lingua, sizeof(lingua), "%s/../../lingua", self);
        default_env("LX_LINGUA", lingua);
    }
    default_env("LX_SCHEMAS_DIR", LX_DEFAULT_SCHEMAS);
    if (cg)
        callgrind_wrap(getenv("LX_LINGUA"));
    alarm(1800);

    target = bdt_start(true);
    char outs[1024], extra[2048], systems[128];
    snprintf(outs, sizeof(outs),
             "{\"name\": \"registry-out\", \"system\": \"registry\", "
             "\"use\": \"fhir\", \"direction\": \"out\", \"subscribe\": "
             "[\"person.*\"], \"concurrency\": %d, \"max_lag\": 1000000, "
             "\"transport\": {\"url\": \"http://127.0.0.1:%d/fhir\", "
             "\"format\": \"json\", \"timeout_ms\": 600000}}",
             concurrency, bdt_port(target));
    /* dlv_config puts this inside "systems": {...}: close it, add "store". */
    snprintf(systems, sizeof(systems), "\"ehr\": {}, \"registry\": {}}, "
             "\"store\": {\"sync\": %s", sync ? "true" : "false");
    dlv_config(extra, sizeof(extra), systems, outs);
    lxt_hub_init_http(&hub, extra);
    lxt_hub_start(&hub, cg ? 180000 : 20000, true);
    snprintf(base, sizeof(base), "%s/fhir/r4", hub.http_url);
    printf("hub %s, target port %d (epoll, one thread), %d senders, "
           "concurrency %d, store.sync %s%s, load average %.2f\n",
           hub.http_url, bdt_port(target), senders, concurrency,
           sync ? "on" : "OFF", cg ? ", under callgrind" : "", loadavg());

    printf("[1] backlog of %d Patients, then the target comes up\n", count);
    uint64_t t = dlv_now_us();
    long errors = run_senders(senders, count, "B", 0, NULL, NULL);
    double ingest_s = (double)(dlv_now_us() - t) / 1e6;
    double ingest_rate = (double)count / ingest_s;
    printf("    ingest (closed loop, %d senders): %d POSTs in %.2f s = "
           "%.0f/s, %ld errors\n",
           senders, count, ingest_s, ingest_rate, errors);
    long long lag = dlv_metric(&hub, "lingua_delivery_lag", "registry-out");
    printf("    lag before release: %lld\n", lag);
    if (cg)
        callgrind_control("-i on");
    uint64_t release = dlv_now_us();
    bdt_release(target);
    size_t want = (size_t)(count - errors);
    if (bdt_wait(target, want, 600000) != 0)
        printf("    only %zu of %zu delivered after 600 s\n",
               bdt_count(target), want);
    size_t got = bdt_count(target);
    bdt_got last = bdt_get(target, got - 1);
    double drain_s = (double)(last.at_us - release) / 1e6;
    double drain_rate = (double)got / drain_s;
    printf("    drained %zu deliveries in %.2f s = %.0f calls/s "
           "(reference: >= 10,000) over %zu connections\n",
           got, drain_s, drain_rate, bdt_connections(target));
    if (cg) {
        /* Let the cursor and the target ids be written, then dump. */
        lxt_sleep_ms(500);
        callgrind_control("-d");
        unsigned long long ir = callgrind_total();
        printf("    hub instructions during the drain: %llu = %.0f per "
               "delivered call (callgrind, all threads)\n",
               ir, (double)ir / (double)got);
    }

    double max_rate = ingest_rate < drain_rate ? ingest_rate : drain_rate;
    if (!cg)
        printf("[2] latency POST -> target, open loop, max rate %.0f/s "
               "(the lower of [1]'s ingest and delivery rates), %.1f s per "
               "level\n",
               max_rate, seconds);
    static const int levels[] = {10, 50, 90};
    for (size_t li = 0; !cg && li < 3; li++) {
        double rate = max_rate * levels[li] / 100.0;
        int n = (int)(rate * seconds);
        if (n < 10)
            n = 10;
        uint64_t *due = calloc((size_t)n, sizeof(*due));
        uint64_t *ack = calloc((size_t)n, sizeof(*ack));
        LXT_CHECK(due != NULL && ack != NULL, "out of memory");
        char prefix[8];
        snprintf(prefix, sizeof(prefix), "L%d-", levels[li]);
        size_t before = bdt_count(target);
        errors = run_senders(senders, n, prefix, rate, due, ack);
        size_t expect = before + (size_t)(n - errors);
        if (bdt_wait(target, expect, 60000) != 0)
            printf("    %d%%: only %zu of %zu delivered\n", levels[li],
                   bdt_count(target) - before, expect - before);
        size_t after = bdt_count(target);
        uint64_t *lat = calloc(after - before + 1, sizeof(*lat));
        uint64_t *in = calloc(after - before + 1, sizeof(*in));
        uint64_t *out = calloc(after - before + 1, sizeof(*out));
        LXT_CHECK(lat && in && out, "out of memory");
        size_t m = 0, mo = 0;
        for (size_t i = before; i < after; i++) {
            bdt_got g = bdt_get(target, i);
            if (strncmp(g.ident, prefix, strlen(prefix)) != 0)
                continue;
            long j = strtol(g.ident + strlen(prefix), NULL, 10);
            if (j < 0 || j >= n || due[j] == 0 || g.at_us < due[j])
                continue;
            lat[m] = g.at_us - due[j];
            in[m++] = ack[j] > due[j] ? ack[j] - due[j] : 0;
            /* The target may see the call before the sender reads its
             * 201: the event is delivered from the durable commit, which
             * is also when the 201 is sent. */
            if (ack[j] != 0)
                out[mo++] = g.at_us > ack[j] ? g.at_us - ack[j] : 0;
        }
        qsort(lat, m, sizeof(*lat), cmp_u64);
        qsort(in, m, sizeof(*in), cmp_u64);
        qsort(out, mo, sizeof(*out), cmp_u64);
        printf("    %d%% (%.0f/s): %zu samples, p50 %.2f ms, p99 %.2f ms, "
               "p99.9 %.2f ms, max %.2f ms, %ld errors%s\n",
               levels[li], rate, m, pct(lat, m, 50), pct(lat, m, 99),
               pct(lat, m, 99.9), m ? (double)lat[m - 1] / 1000.0 : 0.0,
               errors, levels[li] == 50 ? " (reference: p99 < 5 ms)" : "");
        /* Where the time goes: the inbound POST up to its durable commit
         * (due -> 201), then the delivery (201 -> target). */
        printf("        inbound (due -> 201): p50 %.2f, p99 %.2f, p99.9 %.2f "
               "ms; delivery (201 -> target): p50 %.2f, p99 %.2f, p99.9 "
               "%.2f ms\n",
               pct(in, m, 50), pct(in, m, 99), pct(in, m, 99.9),
               pct(out, mo, 50), pct(out, mo, 99), pct(out, mo, 99.9));
        free(lat);
        free(in);
        free(out);
        free(ack);
        free(due);
    }
    int hub_pid = (int)hub.pid;
    int st = lxt_hub_stop(&hub, SIGTERM, cg ? 120000 : 20000);
    printf("hub stopped (status 0x%x), load average %.2f\n", (unsigned)st,
           loadavg());
    bdt_stop(&target);
    lxt_hub_destroy(&hub);
    if (cg)
        printf("profile of the drain: callgrind_annotate %s/cg.%d.1 "
               "(remove %s when done)\n",
               cg_dir, hub_pid, cg_dir);
    return 0;
}
