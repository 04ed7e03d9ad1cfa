/* tests/bench/bench_fhir.c: what the FHIR adapter costs, in process and
 * over HTTP against a real hub.
 *
 *   [a] in process, one thread: the corpus Patient (Patient-example.json,
 *       patient-example.xml) to a validated canonical person:
 *       lx_fhir_parse (jansson, or libxml2 for XML) + lx_fhir_to_canonical
 *       + lx_schema_validate with the registry's person schema;
 *   [b] over HTTP: `lingua serve` started here (temporary directory,
 *       loopback ports, store.sync on, ehr-in at /fhir/r4), N client
 *       threads, each with its own keep-alive libcurl handle
 *       (core/http_client.h), POST the corpus Patient with a fresh
 *       identifier value each time (every request is a create, answered
 *       after the durable commit): requests/s and p50/p99 latency;
 *   [c] the baseline in the same run, with the same clients: a bare
 *       libmicrohttpd server in this process (core/http_server.h) that
 *       parses the body with jansson and answers 201; the ratio full path /
 *       baseline;
 *   [d] JSON -> XML per second: lx_fhir_serialize of the parsed Patient,
 *       and from the JSON text (lx_fhir_json_text_to_xml: parse, the R4
 *       structure check and the write in one walk), which is what the npm
 *       `fhir` package's jsonToXml(string) does;
 *       run_fhir_bench.sh times that package on the same file.
 * Lines starting with "RESULT " are key=value pairs for scripts.
 *
 * Usage: bench_fhir [--quick] [--clients N[,N...]] [--seconds S] [--nosync]
 *        bench_fhir --profile json|xml|out|text-xml|tree-xml [--count N]
 *   --nosync runs the hub with store.sync off, to tell the cost of the
 *   durable commit from the rest of the path (not the reference figure).
 *   --profile runs one in-process operation N times (default 2000) and
 *   nothing else, for `valgrind --tool=callgrind`: json / xml = [a]
 *   (parse, map, validate), out = the answer of a create (reverse mapping
 *   and JSON), text-xml / tree-xml = [d]. Instruction counts
 *   do not depend on the machine's load; wall-clock figures do.
 * Environment (defaults from the build): LX_LINGUA (the lingua binary;
 * default: ../../lingua next to this executable), LX_SCHEMAS_DIR,
 * LX_CORPUS_DIR. The hub is the integration harness's: it is killed when
 * this process ends in any way (tests/integration/harness.h). */
#include "adapters/fhir/fhir.h"
#include "adapters/fhir/fhir_out.h"
#include "canonical/registry.h"
#include "core/http_server.h"
#include "tests/integration/harness.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLIENTS_MAX 256
#define LEVELS_MAX 8
#define LAT_MAX 400000 /* latencies kept per client */

static double now_s(void)
{
    return (double)lxt_now_ms() / 1e3;
}

static double mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void die(const char *what, const lx_error *err)
{
    fprintf(stderr, "bench_fhir: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

/* ---- [a] and [d]: in process ---- */

typedef struct codec {
    lx_fhir *fhir;
    lx_registry *registry;
    char *json, *xml;
    size_t json_len, xml_len;
} codec;

/* One inbound conversion: parse, map, validate. */
static void to_canonical(const codec *c, const char *body, size_t len,
                         lx_fhir_format fmt)
{
    lx_error err;
    lx_error_clear(&err);
    json_t *res = NULL, *record = NULL;
    const char *entity = NULL;
    const lx_schema *schema = NULL;
    if (lx_fhir_parse(c->fhir, body, len, fmt, (size_t)16 << 20, &res,
                      &err) != 0)
        die("parse", &err);
    if (lx_fhir_to_canonical(c->fhir, res, NULL, &entity, &record, NULL,
                             &err) != 0)
        die("map", &err);
    if (lx_registry_get(c->registry, entity, NULL, &schema, &err) != 0 ||
        lx_schema_validate(schema, record, &err) != 0)
        die("validate", &err);
    json_decref(record);
    json_decref(res);
}

static double rate_of(const codec *c, lx_fhir_format fmt, double seconds,
                      long *count)
{
    const char *body = fmt == LX_FHIR_XML ? c->xml : c->json;
    size_t len = fmt == LX_FHIR_XML ? c->xml_len : c->json_len;
    for (int i = 0; i < 200; i++) /* warm up */
        to_canonical(c, body, len, fmt);
    long n = 0;
    double t0 = now_s(), t1 = t0;
    while (t1 - t0 < seconds) {
        for (int i = 0; i < 100; i++)
            to_canonical(c, body, len, fmt);
        n += 100;
        t1 = now_s();
    }
    *count = n;
    return (double)n / (t1 - t0);
}

/* JSON -> XML from the parsed tree, or (with_parse) from the JSON text as
 * the npm package's jsonToXml(string) does. */
/* The stages of [a] on their own, microseconds each: parse, map,
 * validate, and for JSON the floor of its parse, json_loadb alone (the
 * rest of lx_fhir_parse is the check against the R4 definitions). */
static void stages(const codec *c, lx_fhir_format fmt, double seconds)
{
    const char *body = fmt == LX_FHIR_XML ? c->xml : c->json;
    size_t len = fmt == LX_FHIR_XML ? c->xml_len : c->json_len;
    lx_error err;
    lx_error_clear(&err);
    json_t *res = NULL, *record = NULL;
    const char *entity = NULL;
    const lx_schema *schema = NULL;
    if (lx_fhir_parse(c->fhir, body, len, fmt, (size_t)16 << 20, &res,
                      &err) != 0 ||
        lx_fhir_to_canonical(c->fhir, res, NULL, &entity, &record, NULL,
                             &err) != 0 ||
        lx_registry_get(c->registry, entity, NULL, &schema, &err) != 0)
        die("stages", &err);
    double us[4];
    for (int stage = 0; stage < 4; stage++) {
        long n = 0;
        double t0 = now_s(), t1 = t0;
        while (t1 - t0 < seconds / 4) {
            for (int i = 0; i < 100; i++) {
                json_t *out = NULL;
                const char *e = NULL;
                int rc = 0;
                if (stage == 0)
                    rc = lx_fhir_parse(c->fhir, body, len, fmt,
                                       (size_t)16 << 20, &out, &err);
                else if (stage == 1)
                    rc = lx_fhir_to_canonical(c->fhir, res, NULL, &e, &out,
                                              NULL, &err);
                else if (stage == 2)
                    rc = lx_schema_validate(schema, record, &err);
                else if (fmt == LX_FHIR_JSON) /* the floor: jansson alone */
                    out = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
                if (rc != 0)
                    die("stage", &err);
                json_decref(out);
            }
            n += 100;
            t1 = now_s();
        }
        us[stage] = (t1 - t0) / (double)n * 1e6;
    }
    printf("    stages: parse %.1f us, map %.1f us, validate %.1f us", us[0],
           us[1], us[2]);
    if (fmt == LX_FHIR_JSON)
        printf(" (jansson alone: %.1f us)", us[3]);
    printf("\n");
    json_decref(record);
    json_decref(res);
}

/* The corpus Patient parsed (new reference). */
static json_t *parsed_patient(const codec *c)
{
    lx_error err;
    lx_error_clear(&err);
    json_t *res = NULL;
    if (lx_fhir_parse(c->fhir, c->json, c->json_len, LX_FHIR_JSON,
                      (size_t)16 << 20, &res, &err) != 0)
        die("parse", &err);
    return res;
}

/* One JSON -> XML into b: of `tree` (lx_fhir_serialize), or (with_parse)
 * of the JSON text (lx_fhir_json_text_to_xml: parse, check and write). */
static void json_to_xml_once(const codec *c, json_t *tree, bool with_parse,
                             lx_buf *b)
{
    lx_error err;
    lx_error_clear(&err);
    lx_buf_reset(b);
    int rc = with_parse
                 ? lx_fhir_json_text_to_xml(c->fhir, c->json, c->json_len,
                                            (size_t)16 << 20, b, &err)
                 : lx_fhir_serialize(c->fhir, tree, LX_FHIR_XML, b, &err);
    if (rc != 0)
        die("JSON -> XML", &err);
}

static double json_to_xml_rate(const codec *c, double seconds, bool with_parse,
                               long *count, size_t *out_len)
{
    json_t *res = parsed_patient(c);
    lx_buf b;
    lx_buf_init(&b, 0);
    long n = 0;
    double t0 = now_s(), t1 = t0;
    while (t1 - t0 < seconds) {
        for (int i = 0; i < 100; i++)
            json_to_xml_once(c, res, with_parse, &b);
        n += 100;
        t1 = now_s();
    }
    *out_len = b.len;
    lx_buf_fini(&b);
    json_decref(res);
    *count = n;
    return (double)n / (t1 - t0);
}

/* ---- [b] and [c]: HTTP clients ---- */

/* The corpus Patient split around its identifier value, so that each
 * request carries "B<client>-<run>-<n>" there (a create every time). */
static char *body_head, *body_tail;
static size_t head_len, tail_len;

static void split_body(const char *json)
{
    const char *v = strstr(json, "\"value\": \"12345\"");
    if (!v) {
        fprintf(stderr, "bench_fhir: the corpus Patient changed (no "
                        "identifier value 12345)\n");
        exit(1);
    }
    v += strlen("\"value\": \"");
    head_len = (size_t)(v - json);
    body_head = strndup(json, head_len);
    body_tail = strdup(v + 5);
    tail_len = strlen(body_tail);
}

typedef struct client {
    pthread_t thread;
    int index, run;
    const char *url;
    double seconds;
    int expect_status;
    long ok, bad, transport;
    long bad_status;
    double *lat_ms;
    size_t lat_count;
} client;

static atomic_int start_gate;

static void *client_main(void *arg)
{
    client *c = arg;
    lx_http_client *http = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (lx_http_client_new(&http, &err) != 0)
        die("http client", &err);
    size_t cap = head_len + tail_len + 64;
    char *body = malloc(cap);
    if (!body)
        die("out of memory", NULL);
    while (!atomic_load(&start_gate))
        lxt_sleep_ms(1);
    double t_end = now_s() + c->seconds;
    for (long n = 0; now_s() < t_end && n < LONG_MAX; n++) {
        int k = snprintf(body, cap, "%sB%d-%d-%ld%s", body_head, c->index,
                         c->run, n, body_tail);
        lx_http_call call = {.method = "POST",
                             .url = c->url,
                             .headers = {"Content-Type: "
                                         "application/fhir+json",
                                         "Accept: application/fhir+json"},
                             .body = body,
                             .body_len = (size_t)k,
                             .timeout_ms = 10000};
        lx_http_result res;
        double t0 = mono_us();
        int rc = lx_http_client_perform(http, &call, &res, &err);
        double ms = (mono_us() - t0) / 1e3;
        if (rc != 0) {
            c->transport++;
        } else if (res.status != c->expect_status) {
            c->bad++;
            c->bad_status = res.status;
        } else {
            c->ok++;
            if (c->lat_count < LAT_MAX)
                c->lat_ms[c->lat_count++] = ms;
        }
        lx_http_result_fini(&res);
    }
    free(body);
    lx_http_client_destroy(&http);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct load_result {
    double rps, p50, p99, max;
    long ok, bad, transport, bad_status;
} load_result;

/* Nearest rank. */
static double pct(const double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

static load_result drive(const char *url, int clients, double seconds,
                         int expect_status, int run)
{
    static client cs[CLIENTS_MAX];
    memset(cs, 0, sizeof(cs));
    atomic_store(&start_gate, 0);
    for (int i = 0; i < clients; i++) {
        cs[i].index = i;
        cs[i].run = run;
        cs[i].url = url;
        cs[i].seconds = seconds;
        cs[i].expect_status = expect_status;
        cs[i].lat_ms = malloc(LAT_MAX * sizeof(double));
        if (!cs[i].lat_ms ||
            pthread_create(&cs[i].thread, NULL, client_main, &cs[i]) != 0)
            die("cannot start a client", NULL);
    }
    double t0 = now_s();
    atomic_store(&start_gate, 1);
    size_t total = 0;
    load_result r;
    memset(&r, 0, sizeof(r));
    for (int i = 0; i < clients; i++) {
        pthread_join(cs[i].thread, NULL);
        total += cs[i].lat_count;
        r.ok += cs[i].ok;
        r.bad += cs[i].bad;
        r.transport += cs[i].transport;
        if (cs[i].bad_status)
            r.bad_status = cs[i].bad_status;
    }
    double wall = now_s() - t0;
    double *all = malloc((total ? total : 1) * sizeof(double));
    if (!all)
        die("out of memory", NULL);
    size_t k = 0;
    for (int i = 0; i < clients; i++) {
        memcpy(all + k, cs[i].lat_ms, cs[i].lat_count * sizeof(double));
        k += cs[i].lat_count;
        free(cs[i].lat_ms);
    }
    qsort(all, total, sizeof(double), cmp_double);
    r.rps = (double)r.ok / wall;
    r.p50 = pct(all, total, 50);
    r.p99 = pct(all, total, 99);
    r.max = total ? all[total - 1] : 0;
    free(all);
    return r;
}

/* The baseline: parse with jansson, answer 201. */
static void baseline_handler(void *ctx, const lx_http_request *req,
                             lx_http_response *resp)
{
    (void)ctx;
    size_t len;
    const char *body = lx_http_body(req, &len);
    json_t *v = json_loadb(body, len, 0, NULL);
    if (!v) {
        lx_http_response_set(resp, 400, "application/json", "{}", 2);
        return;
    }
    json_decref(v);
    static const char created[] = "{\"resourceType\":\"Patient\"}";
    lx_http_response_set(resp, 201, "application/fhir+json", created,
                         sizeof(created) - 1);
    lx_http_response_header(resp, "Location",
                            "/fhir/r4/Patient/x/_history/1");
}

static void print_load(const char *what, int clients, const load_result *r)
{
    printf("%-34s %3d clients %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  max "
           "%7.2f ms  (%ld ok",
           what, clients, r->rps, r->p50, r->p99, r->max, r->ok);
    if (r->bad)
        printf(", %ld answered %ld", r->bad, r->bad_status);
    if (r->transport)
        printf(", %ld transport errors", r->transport);
    printf(")\n");
    fflush(stdout);
}

/* --profile: one operation `count` times, nothing else. */
static int profile(const codec *c, const char *what, long count)
{
    bool text = strcmp(what, "text-xml") == 0;
    if (strcmp(what, "json") == 0 || strcmp(what, "xml") == 0) {
        lx_fhir_format fmt = what[0] == 'x' ? LX_FHIR_XML : LX_FHIR_JSON;
        for (long i = 0; i < count; i++)
            to_canonical(c, fmt == LX_FHIR_XML ? c->xml : c->json,
                         fmt == LX_FHIR_XML ? c->xml_len : c->json_len, fmt);
    } else if (strcmp(what, "out") == 0) {
        /* The reverse mapping of a create's answer: canonical -> Patient
         * (no resolver), then the JSON the facade answers with. */
        json_t *res = parsed_patient(c), *record = NULL;
        const char *entity = NULL;
        lx_error err;
        lx_error_clear(&err);
        if (lx_fhir_to_canonical(c->fhir, res, NULL, &entity, &record, NULL,
                                 &err) != 0)
            die("map", &err);
        lx_buf b;
        lx_buf_init(&b, 0);
        for (long i = 0; i < count; i++) {
            json_t *back = NULL;
            lx_buf_reset(&b);
            if (lx_fhir_from_canonical(c->fhir, "Patient", record, NULL,
                                       &back, &err) != 0 ||
                lx_fhir_out_body(c->fhir, back, LX_FHIR_JSON, &b, &err) != 0)
                die("map out", &err);
            json_decref(back);
        }
        lx_buf_fini(&b);
        json_decref(record);
        json_decref(res);
    } else if (text || strcmp(what, "tree-xml") == 0) {
        json_t *res = parsed_patient(c);
        lx_buf b;
        lx_buf_init(&b, 0);
        for (long i = 0; i < count; i++)
            json_to_xml_once(c, res, text, &b);
        lx_buf_fini(&b);
        json_decref(res);
    } else {
        fprintf(stderr,
                "bench_fhir: --profile json|xml|out|text-xml|tree-xml\n");
        return 2;
    }
    printf("bench_fhir: %s x %ld done\n", what, count);
    return 0;
}

/* ---- main ---- */

static void default_env(const char *name, const char *value)
{
    const char *v = getenv(name);
    if (!v || !*v)
        setenv(name, value, 1);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int levels[LEVELS_MAX] = {1, 8, 32};
    int nlevels = 3;
    double seconds = 3.0, codec_seconds = 2.0;
    bool sync = true;
    const char *prof = NULL;
    long prof_count = 2000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
            prof = argv[++i];
        } else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            prof_count = strtol(argv[++i], NULL, 10);
            if (prof_count < 1 || prof_count > 10000000)
                prof_count = 2000;
        } else if (strcmp(argv[i], "--nosync") == 0) {
            sync = false;
        } else if (strcmp(argv[i], "--quick") == 0) {
            seconds = 0.5;
            codec_seconds = 0.3;
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = strtod(argv[++i], NULL);
            if (seconds <= 0 || seconds > 600)
                seconds = 3.0;
        } else if (strcmp(argv[i], "--clients") == 0 && i + 1 < argc) {
            nlevels = 0;
            for (char *p = argv[++i]; *p && nlevels < LEVELS_MAX;) {
                long n = strtol(p, &p, 10);
                if (n >= 1 && n <= CLIENTS_MAX)
                    levels[nlevels++] = (int)n;
                while (*p == ',')
                    p++;
                if (n < 1)
                    break;
            }
            if (nlevels == 0) {
                levels[0] = 8;
                nlevels = 1;
            }
        } else {
            fprintf(stderr, "usage: bench_fhir [--quick] [--clients N[,N...]]"
                            " [--seconds S] [--nosync]\n"
                            "       bench_fhir --profile json|xml|text-xml|"
                            "tree-xml [--count N]\n");
            return 2;
        }
    }
    /* Defaults from the build tree: this executable is
     * <build>/tests/bench/bench_fhir, lingua is <build>/lingua. */
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
    default_env("LX_CORPUS_DIR", LX_DEFAULT_SCHEMAS "/../../../shared/corpus");

    codec c;
    memset(&c, 0, sizeof(c));
    char root[PATH_MAX];
    snprintf(root, sizeof(root), "%s/..", getenv("LX_SCHEMAS_DIR"));
    lx_error err;
    lx_error_clear(&err);
    if (lx_fhir_open(root, &c.fhir, &err) != 0)
        die("lx_fhir_open", &err);
    if (lx_registry_load(getenv("LX_SCHEMAS_DIR"), &c.registry, &err) != 0)
        die("lx_registry_load", &err);
    c.json = lxt_corpus_file("fhir/r4/json/Patient-example.json", &c.json_len);
    c.xml = lxt_corpus_file("fhir/r4/xml/patient-example.xml", &c.xml_len);
    if (prof) {
        int prc = profile(&c, prof, prof_count);
        free(c.json);
        free(c.xml);
        lx_registry_destroy(&c.registry);
        lx_fhir_close(&c.fhir);
        return prc;
    }

    printf("bench_fhir: corpus Patient %zu bytes JSON, %zu bytes XML\n",
           c.json_len, c.xml_len);
    long n;
    double r = rate_of(&c, LX_FHIR_JSON, codec_seconds, &n);
    printf("[a] Patient JSON -> canonical (parse, map, validate) %9.0f /s  "
           "(%5.1f us each, %ld runs, one thread)\n",
           r, 1e6 / r, n);
    printf("RESULT json_to_canonical_per_s=%.0f\n", r);
    stages(&c, LX_FHIR_JSON, codec_seconds);
    r = rate_of(&c, LX_FHIR_XML, codec_seconds, &n);
    printf("[a] Patient XML  -> canonical (parse, map, validate) %9.0f /s  "
           "(%5.1f us each, %ld runs, one thread)\n",
           r, 1e6 / r, n);
    printf("RESULT xml_to_canonical_per_s=%.0f\n", r);
    stages(&c, LX_FHIR_XML, codec_seconds);
    size_t xml_out = 0;
    r = json_to_xml_rate(&c, codec_seconds, false, &n, &xml_out);
    printf("[d] Patient JSON tree -> XML (lx_fhir_serialize)     %9.0f /s  "
           "(%5.1f us each, %zu bytes out, %ld runs)\n",
           r, 1e6 / r, xml_out, n);
    printf("RESULT json_to_xml_per_s=%.0f\n", r);
    r = json_to_xml_rate(&c, codec_seconds, true, &n, &xml_out);
    printf("[d] Patient JSON text -> XML (lx_fhir_json_text_to_xml) %6.0f /s  "
           "(%5.1f us each, %ld runs)\n",
           r, 1e6 / r, n);
    printf("RESULT json_text_to_xml_per_s=%.0f\n", r);

    /* [b] the hub. */
    split_body(c.json);
    static lxt_hub hub;
    char extra[512];
    snprintf(extra, sizeof(extra),
             "\"systems\": {\"ehr\": {}}, \"store\": {\"sync\": %s, "
             "\"map_size_mb\": 4096}, \"adapters\": [{\"name\": "
             "\"ehr-in\", \"system\": \"ehr\", \"use\": \"fhir\", "
             "\"direction\": \"in\", \"transport\": {\"http\": "
             "\"/fhir/r4\"}}]",
             sync ? "true" : "false");
    lxt_hub_init_http(&hub, extra);
    lxt_hub_start(&hub, 15000 * lxt_scale(), true);
    char hub_url[LXT_ENDPOINT_MAX + 32];
    snprintf(hub_url, sizeof(hub_url), "%s/fhir/r4/Patient", hub.http_url);
    printf("hub %s (data %s, store.sync %s)\n", hub_url, hub.data_dir,
           sync ? "on" : "OFF");

    /* [c] the baseline server. */
    lx_http_server *base = NULL;
    lx_http_server_options so = {.listen = "127.0.0.1:0"};
    if (lx_http_server_start(&so, baseline_handler, NULL, &base, &err) != 0)
        die("baseline server", &err);
    char base_url[128];
    snprintf(base_url, sizeof(base_url),
             "http://127.0.0.1:%u/fhir/r4/Patient", lx_http_server_port(base));

    /* Warm both (connections, page cache, the store's first pages). */
    drive(hub_url, 2, seconds / 4, 201, 0);
    drive(base_url, 2, seconds / 4, 201, 0);
    int failures = 0;
    for (int i = 0; i < nlevels; i++) {
        load_result full = drive(hub_url, levels[i], seconds, 201, i + 1);
        print_load("[b] hub POST /fhir/r4/Patient", levels[i], &full);
        load_result bl = drive(base_url, levels[i], seconds, 201, i + 1);
        print_load("[c] baseline (MHD + jansson, 201)", levels[i], &bl);
        double ratio = bl.rps > 0 ? full.rps / bl.rps : 0;
        printf("    full path / baseline = %.1f %%  (target >= 50 %%: %s; p99 "
               "%.2f ms, target < 10 ms: %s)\n",
               ratio * 100, ratio >= 0.5 ? "met" : "NOT MET", full.p99,
               full.p99 < 10 ? "met" : "NOT MET");
        printf("RESULT clients=%d hub_rps=%.0f hub_p50_ms=%.2f "
               "hub_p99_ms=%.2f base_rps=%.0f base_p50_ms=%.2f "
               "base_p99_ms=%.2f ratio=%.3f\n",
               levels[i], full.rps, full.p50, full.p99, bl.rps, bl.p50,
               bl.p99, ratio);
        if (full.bad || full.transport || bl.bad || bl.transport)
            failures++;
    }
    lx_http_server_stop(&base);
    char health[LXT_ENDPOINT_MAX + 16];
    snprintf(health, sizeof(health), "%s/health", hub.http_url);
    lx_http_result hr;
    if (lxt_http("GET", health, NULL, NULL, 0, 5000, &hr) == 0)
        printf("hub /health: %s\n", hr.body);
    lx_http_result_fini(&hr);
    int st = lxt_hub_stop(&hub, SIGTERM, 30000);
    if (!(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        fprintf(stderr, "bench_fhir: the hub did not exit cleanly (0x%x)\n",
                (unsigned)st);
        lxt_hub_dump_log(&hub, 4096);
        failures++;
    }
    lxt_hub_destroy(&hub);
    free(body_head);
    free(body_tail);
    free(c.json);
    free(c.xml);
    lx_registry_destroy(&c.registry);
    lx_fhir_close(&c.fhir);
    return failures ? 1 : 0;
}
