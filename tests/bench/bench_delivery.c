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
 * The POSTs come from bench_delivery_target.h's load generator (one
 * epoll thread, raw keep-alive HTTP/1.1, nice -10 when root).
 *   [1] separately: the target reads nothing until released, so
 *       deliveries are stuck on their first calls while --count Patients
 *       are POSTed on --senders connections (closed loop: the ingest rate
 *       alone). Then the target is released: calls/s = deliveries / (last
 *       receipt - release), the delivery rate alone.
 *   [2] end to end: closed-loop POSTs on --senders connections with the
 *       target up, so the hub ingests and delivers at once; after a
 *       warm-up, the deliveries completed per second, with the lag
 *       (answered POSTs not yet at the target) at the start and end of
 *       the window to show that delivery kept pace: an estimate.
 *   [2b] open-loop probes at the estimate and by bisection around it; the
 *       end-to-end maximum is the highest rate at which every POST was
 *       answered and delivered no later than a twentieth of the probe's
 *       time after the last one was due.
 *   [3] latency: open-loop POSTs of new Patients at 10 %, 50 % and 90 %
 *       of a maximum, each for --seconds: request j is due at t0 + j /
 *       rate and its latency is from when it was due (not sent: no
 *       coordinated omission) to the target's receipt; p50, p99, p99.9.
 *       The maximum is [2b]'s (--basis e2e, the default), or the lower of
 *       [1]'s two rates (--basis separate, the definition used until
 *       2026-12-04), or both one after the other (--basis both). Each
 *       level also says how many requests left late (> 1 ms after due)
 *       and how many of them for want of a connection (up to --conns-max
 *       connections are opened).
 * Usage: bench_delivery [--count K] [--seconds S] [--senders N] [--quick]
 *                       [--nosync] [--concurrency C] [--callgrind]
 *                       [--basis e2e|separate|both] [--conns-max N]
 *                       [--max-rate R] [--dump-slow MS]
 * --nosync runs the hub with store.sync off: what durability costs.
 * --callgrind runs the hub under valgrind --tool=callgrind with
 * instrumentation switched on only for the drain of [1] and prints the
 * hub's instructions per delivered call (all its threads: delivery,
 * writer, ...), a figure that does not depend on the machine's load; [2]
 * and [3] are skipped.
 * --max-rate R skips [1] and [2]: the levels are of R. --dump-slow MS
 * lists every request of a level slower than MS with its timestamps
 * (CLOCK_MONOTONIC, to match with `perf trace -T` of the hub).
 * Environment: LX_LINGUA, LX_SCHEMAS_DIR (defaults from the build). */
#include "tests/bench/bench_delivery_target.h"
#include "tests/integration/dlv_util.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SENDERS_MAX 200
#define CONNS_MAX 240 /* the hub's server takes 256 connections */

static lxt_hub hub;
static bdt *target;
static int hub_port;
static double dump_slow_ms; /* --dump-slow: list requests slower than this */
static char body_pre[512], body_post[512];

/* The body of a test Patient is the text dlv_patient(ident, 1) dumps:
 * split around a placeholder ident, so the load formats ident j into it. */
static void body_template(void)
{
    json_t *p = dlv_patient("\x01", 1, NULL);
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    LXT_CHECK(text != NULL, "json_dumps");
    char *mark = strstr(text, "\\u0001");
    LXT_CHECK(mark != NULL, "no placeholder in %s", text);
    snprintf(body_pre, sizeof(body_pre), "%.*s", (int)(mark - text), text);
    snprintf(body_post, sizeof(body_post), "%s", mark + 6);
    free(text);
}

/* POST <prefix><j> for j < count: closed loop on `conns` connections for
 * `seconds` (rate 0), or open loop at `rate` (bench_delivery_target.h). */
static void load(const char *prefix, double rate, size_t count,
                 double seconds, unsigned conns, unsigned conns_max,
                 bdl_result *r)
{
    bdl_opts o = {.port = hub_port,
                  .path = "/fhir/r4/Patient",
                  .prefix = prefix,
                  .body_pre = body_pre,
                  .body_post = body_post,
                  .rate = rate,
                  .count = count,
                  .seconds = seconds,
                  .conns = conns,
                  .conns_max = conns_max};
    bdl_run(&o, r);
    if (r->errors)
        printf("    %zu POSTs failed (first status %ld)\n", r->errors,
               r->first_error_status);
}

/* The receipts of <prefix><j> from the target's index `from` on: at[j]
 * (0: not received). Returns how many. */
static size_t receipts(const char *prefix, size_t from, size_t n,
                       uint64_t *at)
{
    size_t pl = strlen(prefix), m = 0, to = bdt_count(target);
    for (size_t i = from; i < to; i++) {
        bdt_got g = bdt_get(target, i);
        if (strncmp(g.ident, prefix, pl) != 0)
            continue;
        char *end;
        unsigned long long j = strtoull(g.ident + pl, &end, 10);
        if (*end || j >= n || at[j])
            continue;
        at[j] = g.at_us;
        m++;
    }
    return m;
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

/* Lag at time t: POSTs answered 201 by t minus their deliveries by t
 * (both sorted). Negative when calls arrive before the sender read its
 * 201 (the hub delivers from the durable commit, which also sends it). */
static long lag_at(const uint64_t *acks, size_t na, const uint64_t *rcv,
                   size_t nr, uint64_t t, size_t *ia, size_t *ir)
{
    while (*ia < na && acks[*ia] <= t)
        (*ia)++;
    while (*ir < nr && rcv[*ir] <= t)
        (*ir)++;
    return (long)*ia - (long)*ir;
}

/* [2] The end-to-end maximum: closed-loop POSTs on `senders` connections
 * with the target up, ingest and delivery at once. After a warm-up (a
 * fifth of the time, at least 0.5 s) the rate is the lower of the POSTs
 * answered and the deliveries completed per second in the window; the lag
 * (answered POSTs not yet at the target) at its start and end says
 * whether delivery kept pace. */
static double e2e_max(double seconds, unsigned senders, unsigned concurrency,
                      double *higher)
{
    size_t cap = (size_t)(40000.0 * seconds) + 1000;
    size_t before = bdt_count(target);
    bdl_result r;
    load("E", 0, cap, seconds, senders, senders, &r);
    size_t expect = before + r.ok;
    if (bdt_wait(target, expect, 120000) != 0)
        printf("    only %zu of %zu delivered after 120 s\n",
               bdt_count(target) - before, r.ok);
    uint64_t *at = calloc(r.sent + 1, sizeof(*at));
    LXT_CHECK(at != NULL, "out of memory");
    receipts("E", before, r.sent, at);
    uint64_t *acks = calloc(r.sent + 1, sizeof(*acks));
    uint64_t *rcv = calloc(r.sent + 1, sizeof(*rcv));
    LXT_CHECK(acks && rcv, "out of memory");
    size_t na = 0, nr = 0;
    for (size_t j = 0; j < r.sent; j++) {
        if (r.ack_us[j])
            acks[na++] = r.ack_us[j];
        if (at[j])
            rcv[nr++] = at[j];
    }
    qsort(acks, na, sizeof(*acks), cmp_u64);
    qsort(rcv, nr, sizeof(*rcv), cmp_u64);
    double warm = seconds / 5 < 0.5 ? 0.5 : seconds / 5;
    uint64_t w0 = r.t0_us + (uint64_t)(warm * 1e6);
    uint64_t w1 = r.t0_us + (uint64_t)(seconds * 1e6);
    double w = (double)(w1 - w0) / 1e6;
    size_t ia = 0, ir = 0;
    long lag0 = lag_at(acks, na, rcv, nr, w0, &ia, &ir);
    size_t acks0 = ia, rcv0 = ir;
    long lag_max = lag0;
    for (uint64_t t = w0; t <= w1; t += 10000) {
        long l = lag_at(acks, na, rcv, nr, t, &ia, &ir);
        if (l > lag_max)
            lag_max = l;
    }
    long lag1 = lag_at(acks, na, rcv, nr, w1, &ia, &ir);
    double ingest = (double)(ia - acks0) / w;
    double deliveries = (double)(ir - rcv0) / w;
    /* Delivery keeps pace when the lag grows by less than 2 % of what was
     * delivered in the window (or 4 calls per connection). The sustained
     * rate is the lower of the two: deliveries above the ingest rate were
     * a backlog of the warm-up being caught up. */
    long grown = lag1 - lag0;
    double slack = 0.02 * (double)(ir - rcv0);
    if (slack < 4.0 * concurrency)
        slack = 4.0 * concurrency;
    bool pace = (double)grown <= slack;
    double sustained = ingest < deliveries ? ingest : deliveries;
    printf("    closed loop, %u senders, %.1f s (window %.1f - %.1f s): "
           "ingest %.0f POSTs/s, deliveries %.0f calls/s\n",
           senders, seconds, warm, seconds, ingest, deliveries);
    printf("    lag (answered POSTs not yet at the target): %ld at the "
           "window's start, %ld at its end, at most %ld: %s\n",
           lag0, lag1, lag_max,
           pace ? "bounded, delivery kept pace"
                : "GREW: delivery fell behind ingest");
    free(acks);
    free(rcv);
    free(at);
    bdl_result_fini(&r);
    *higher = ingest > deliveries ? ingest : deliveries;
    return sustained;
}

/* One open-loop probe at `rate` for `seconds`: whether delivery kept
 * pace, i.e. every POST was answered 201 and delivered, and the last
 * answer and the last call came at most a twentieth of the probe's time
 * after the last request was due (falling behind by 5 % or more would
 * leave more than that). */
static bool probe(int idx, double rate, double seconds, unsigned conns_max)
{
    char prefix[8];
    snprintf(prefix, sizeof(prefix), "P%d-", idx);
    size_t n = (size_t)(rate * seconds);
    if (n < 10)
        n = 10;
    size_t before = bdt_count(target);
    bdl_result r;
    load(prefix, rate, n, 0, 16, conns_max, &r);
    if (bdt_wait(target, before + r.ok, 120000) != 0)
        printf("    probe %d: only %zu of %zu delivered after 120 s\n", idx,
               bdt_count(target) - before, r.ok);
    uint64_t *at = calloc(n, sizeof(*at));
    LXT_CHECK(at != NULL, "out of memory");
    size_t got = receipts(prefix, before, n, at);
    uint64_t last = 0;
    for (size_t j = 0; j < n; j++) {
        if (at[j] > last)
            last = at[j];
        if (r.ack_us[j] > last)
            last = r.ack_us[j];
    }
    uint64_t last_due = r.due_us[n - 1];
    double behind_ms = last > last_due ? (double)(last - last_due) / 1000.0
                                       : 0.0;
    bool ok = r.errors == 0 && got == n &&
              behind_ms <= seconds * 1000.0 / 20.0;
    printf("    probe %d: %.0f/s for %.1f s: last answer or call %.1f ms "
           "after the last due time, %zu sent late, %u connections: %s\n",
           idx, rate, seconds, behind_ms, r.late, r.conns_peak,
           ok ? "kept pace" : "fell behind");
    free(at);
    bdl_result_fini(&r);
    return ok;
}

/* The highest rate of a bisection between lo and hi whose open-loop
 * probe kept pace (lo itself is probed first); 0 when none did. */
static double e2e_search(double lo, double hi, double seconds,
                         unsigned conns_max)
{
    int idx = 0;
    double best = 0;
    if (probe(idx++, lo, seconds, conns_max)) {
        best = lo;
    } else {
        hi = lo;
        lo = lo / 4;
    }
    if (hi < lo * 1.05)
        hi = lo * 1.3;
    for (int i = 0; i < 4; i++) {
        double mid = i == 0 && best > 0 ? hi : (lo + hi) / 2;
        if (probe(idx++, mid, seconds, conns_max)) {
            best = mid;
            lo = mid;
            if (mid >= hi)
                break;
        } else {
            hi = mid;
        }
    }
    return best;
}

/* [3] One latency level: open loop at `rate` for `seconds`. */
static void level(const char *basis, int percent, double rate, double seconds,
                  unsigned conns, unsigned conns_max)
{
    size_t n = (size_t)(rate * seconds);
    if (n < 10)
        n = 10;
    char prefix[8];
    snprintf(prefix, sizeof(prefix), "%c%d-", basis[0] == 'e' ? 'L' : 'S',
             percent);
    size_t before = bdt_count(target);
    bdl_result r;
    load(prefix, rate, n, 0, conns, conns_max, &r);
    size_t expect = before + r.ok;
    if (bdt_wait(target, expect, 60000) != 0)
        printf("    %d%%: only %zu of %zu delivered\n", percent,
               bdt_count(target) - before, r.ok);
    uint64_t *at = calloc(n, sizeof(*at));
    uint64_t *lat = calloc(n, sizeof(*lat));
    uint64_t *in = calloc(n, sizeof(*in));
    uint64_t *out = calloc(n, sizeof(*out));
    LXT_CHECK(at && lat && in && out, "out of memory");
    receipts(prefix, before, n, at);
    size_t m = 0, mo = 0;
    uint64_t last_at = 0;
    for (size_t j = 0; j < n; j++) {
        uint64_t due = r.due_us[j], ack = r.ack_us[j];
        if (!at[j] || at[j] < due)
            continue;
        if (at[j] > last_at)
            last_at = at[j];
        lat[m] = at[j] - due;
        in[m++] = ack > due ? ack - due : 0;
        /* The target may see the call before the sender reads its 201:
         * the event is delivered from the durable commit, which is also
         * when the 201 is sent. */
        if (ack)
            out[mo++] = at[j] > ack ? at[j] - ack : 0;
    }
    qsort(lat, m, sizeof(*lat), cmp_u64);
    qsort(in, m, sizeof(*in), cmp_u64);
    qsort(out, mo, sizeof(*out), cmp_u64);
    uint64_t last_due = r.due_us[n - 1];
    printf("    %d%% (%.0f/s): %zu samples, p50 %.2f ms, p99 %.2f ms, "
           "p99.9 %.2f ms, max %.2f ms, %zu errors%s\n",
           percent, rate, m, pct(lat, m, 50), pct(lat, m, 99),
           pct(lat, m, 99.9), m ? (double)lat[m - 1] / 1000.0 : 0.0,
           r.errors, percent == 50 ? " (reference: p99 < 5 ms)" : "");
    /* Where the time goes: the inbound POST up to its durable commit
     * (due -> 201), then the delivery (201 -> target). */
    printf("        inbound (due -> 201): p50 %.2f, p99 %.2f, p99.9 %.2f "
           "ms; delivery (201 -> target): p50 %.2f, p99 %.2f, p99.9 "
           "%.2f ms\n",
           pct(in, m, 50), pct(in, m, 99), pct(in, m, 99.9),
           pct(out, mo, 50), pct(out, mo, 99), pct(out, mo, 99.9));
    /* The generator's own account: requests that left late (> 1 ms after
     * due), of them for want of a connection, connections used; and how
     * long after the last due time the last call arrived. */
    printf("        load: %zu of %zu sent late (> 1 ms after due; at most "
           "%.2f ms), %zu waited for a connection, %u connections at most "
           "(limit %u)%s; last call %.1f ms after the last due time\n",
           r.late, r.sent, (double)r.late_max_us / 1000.0, r.waited_conn,
           r.conns_peak, conns_max, r.niced ? "" : ", not at nice -10",
           last_at > last_due ? (double)(last_at - last_due) / 1000.0 : 0.0);
    if (dump_slow_ms > 0)
        for (size_t j = 0; j < n; j++)
            if (at[j] > r.due_us[j] &&
                (double)(at[j] - r.due_us[j]) / 1000.0 > dump_slow_ms)
                printf("        slow %s%zu: due %.3f ms (monotonic), sent "
                       "+%.3f, 201 +%.3f, target +%.3f\n",
                       prefix, j, (double)r.due_us[j] / 1000.0,
                       (double)(r.sent_us[j] - r.due_us[j]) / 1000.0,
                       r.ack_us[j] ? (double)(r.ack_us[j] - r.due_us[j]) /
                                         1000.0
                                   : -1.0,
                       (double)(at[j] - r.due_us[j]) / 1000.0);
    /* The slowest request: when it was due, sent, answered, delivered. */
    size_t worst = n;
    for (size_t j = 0; j < n; j++)
        if (at[j] >= r.due_us[j] && at[j] &&
            (worst == n || at[j] - r.due_us[j] > at[worst] - r.due_us[worst]))
            worst = j;
    if (worst < n)
        printf("        slowest: due at +%.1f ms, sent +%.2f, 201 +%.2f, "
               "at the target +%.2f ms after due\n",
               (double)(r.due_us[worst] - r.t0_us) / 1000.0,
               (double)(r.sent_us[worst] - r.due_us[worst]) / 1000.0,
               r.ack_us[worst] ? (double)(r.ack_us[worst] -
                                          r.due_us[worst]) / 1000.0
                               : -1.0,
               (double)(at[worst] - r.due_us[worst]) / 1000.0);
    free(at);
    free(lat);
    free(in);
    free(out);
    bdl_result_fini(&r);
}

/* [1] The ingest rate alone and the delivery rate alone; the lower of the
 * two. With cg, the drain is measured in instructions too. */
static double separate_max(int count, int senders, bool cg)
{
    printf("[1] separately: backlog of %d Patients while the target reads "
           "nothing, then the target comes up\n", count);
    bdl_result br;
    load("B", 0, (size_t)count, 1e9, (unsigned)senders, (unsigned)senders,
         &br);
    double ingest_s = (double)(br.end_us - br.t0_us) / 1e6;
    double ingest_rate = (double)br.ok / ingest_s;
    printf("    ingest alone (closed loop, %d senders): %zu POSTs in %.2f s "
           "= %.0f/s, %zu errors\n",
           senders, br.ok, ingest_s, ingest_rate, br.errors);
    size_t want = br.ok;
    bdl_result_fini(&br);
    long long lag = dlv_metric(&hub, "lingua_delivery_lag", "registry-out");
    printf("    lag before release: %lld\n", lag);
    if (cg)
        callgrind_control("-i on");
    uint64_t release = dlv_now_us();
    bdt_release(target);
    if (bdt_wait(target, want, 600000) != 0)
        printf("    only %zu of %zu delivered after 600 s\n",
               bdt_count(target), want);
    size_t got = bdt_count(target);
    bdt_got last = bdt_get(target, got - 1);
    double drain_s = (double)(last.at_us - release) / 1e6;
    double drain_rate = (double)got / drain_s;
    printf("    delivery alone: drained %zu deliveries in %.2f s = %.0f "
           "calls/s (reference: >= 10,000) over %zu connections\n",
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

    return ingest_rate < drain_rate ? ingest_rate : drain_rate;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int count = 20000, senders = 16, concurrency = 8, conns_max = CONNS_MAX;
    bool sync = true, cg = false, basis_e2e = true, basis_sep = false;
    double seconds = 5.0, given_max = 0;
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
        } else if (strcmp(argv[i], "--conns-max") == 0 && i + 1 < argc) {
            conns_max = (int)strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--concurrency") == 0 && i + 1 < argc) {
            concurrency = (int)strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--max-rate") == 0 && i + 1 < argc) {
            given_max = strtod(argv[++i], NULL);
        } else if (strcmp(argv[i], "--dump-slow") == 0 && i + 1 < argc) {
            dump_slow_ms = strtod(argv[++i], NULL);
        } else if (strcmp(argv[i], "--basis") == 0 && i + 1 < argc) {
            const char *b = argv[++i];
            basis_e2e = strcmp(b, "e2e") == 0 || strcmp(b, "both") == 0;
            basis_sep = strcmp(b, "separate") == 0 || strcmp(b, "both") == 0;
            if (!basis_e2e && !basis_sep)
                argc = -1;
        } else {
            argc = -1;
        }
    }
    if (argc < 0) {
        fprintf(stderr, "usage: bench_delivery [--count K] [--seconds S] "
                        "[--senders N] [--conns-max N] [--quick] "
                        "[--nosync] [--concurrency C] [--callgrind] "
                        "[--basis e2e|separate|both] [--max-rate R] "
                        "[--dump-slow MS]\n");
        return 2;
    }
    if (count < 10 || count > 200000 || seconds <= 0 || seconds > 120 ||
        senders < 1 || senders > SENDERS_MAX || concurrency < 1 ||
        concurrency > 256 || conns_max < 1 || conns_max > CONNS_MAX) {
        fprintf(stderr, "bench_delivery: count 10..200000, seconds 0..120, "
                        "senders 1..%d, concurrency 1..256, conns-max "
                        "1..%d\n",
                SENDERS_MAX, CONNS_MAX);
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
    body_template();

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
    const char *colon = strrchr(hub.http_url, ':');
    hub_port = colon ? (int)strtol(colon + 1, NULL, 10) : 0;
    LXT_CHECK(hub_port > 0, "no port in %s", hub.http_url);
    printf("hub %s, target port %d (epoll, one thread), load generator: "
           "one epoll thread, raw keep-alive HTTP/1.1, %d closed-loop "
           "senders, open loop up to %d connections; concurrency %d, "
           "store.sync %s%s, load average %.2f\n",
           hub.http_url, bdt_port(target), senders, conns_max, concurrency,
           sync ? "on" : "OFF", cg ? ", under callgrind" : "", loadavg());

    double sep_max = 0, e2e = 0;
    if (given_max > 0 && !cg) {
        /* --max-rate: straight to the latency levels. */
        bdt_release(target);
        e2e = given_max;
        basis_e2e = true;
        basis_sep = false;
        printf("[3] only: levels of the given maximum %.0f/s\n", given_max);
    } else {
        sep_max = separate_max(count, senders, cg);
    }
    if (!cg && given_max <= 0) {
        printf("    separate maximum (the lower of the two): %.0f/s\n",
               sep_max);
        double e2e_s = seconds < 3 ? 3 : seconds;
        printf("[2] end to end: ingest and delivery at once, target up\n");
        double higher = 0;
        double closed = e2e_max(e2e_s, (unsigned)senders,
                                (unsigned)concurrency, &higher);
        printf("    closed-loop estimate (the lower of the two): %.0f/s\n",
               closed);
        /* The closed loop overstates it when delivery fell behind, and may
         * understate it when its ingest took the CPU delivery needed:
         * open-loop probes around it decide. */
        double probe_s = seconds / 2 < 2 ? 2 : seconds / 2;
        printf("[2b] open-loop probes (%.1f s each): the highest rate that "
               "kept pace\n", probe_s);
        e2e = e2e_search(closed, higher, probe_s, (unsigned)conns_max);
        if (e2e <= 0) {
            e2e = closed / 4;
            printf("    no probe kept pace; levels of a quarter of the "
                   "closed-loop estimate\n");
        }
        printf("    end-to-end maximum: %.0f/s (%.0f %% of the separate "
               "maximum)\n",
               e2e, 100.0 * e2e / sep_max);
    }
    static const int levels[] = {10, 50, 90};
    for (int b = 0; !cg && b < 2; b++) {
        if (b == 0 ? !basis_e2e : !basis_sep)
            continue;
        double max_rate = b == 0 ? e2e : sep_max;
        printf("[3] latency POST -> target, open loop, %% of the %s maximum "
               "%.0f/s, %.1f s per level\n",
               b == 0 ? "end-to-end" : "separate (old definition)",
               max_rate, seconds);
        for (size_t li = 0; li < 3; li++)
            level(b == 0 ? "e2e" : "separate", levels[li],
                  max_rate * levels[li] / 100.0, seconds, 16,
                  (unsigned)conns_max);
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
