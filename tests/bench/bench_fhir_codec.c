/* tests/bench/bench_fhir_codec.c: throughput of the FHIR XML codec.
 *
 * Converts the official Patient example (corpus patient-example.xml and
 * Patient-example.json, ~4 KB each) and the transaction Bundle (10 entries)
 * N times in each direction and prints resources per second, one figure
 * per line:
 *   1. loading the type table (once, at start-up in the appliance);
 *   2. XML -> JSON (parse with libxml2, build the jansson tree);
 *   3. JSON -> XML (write into a reused buffer);
 *   4. the same for the Bundle.
 * Usage: bench_fhir_codec [iterations] (default 10000). Paths come from
 * LX_SOURCE_DIR and LX_CORPUS_DIR (defaults: . and ../shared/corpus).
 * The reference the issue gives is the npm `fhir` package's JSON -> XML at
 * about 450 Patients/s; the target is 20 times that. */
#include "adapters/fhir/types.h"
#include "adapters/fhir/xml.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void die(const char *what, const lx_error *err)
{
    char buf[1024];
    fprintf(stderr, "%s: %s\n", what, lx_error_format(err, buf, sizeof(buf)));
    exit(1);
}

static void run(const lx_fhir_types *types, const char *corpus,
                const char *xml_name, const char *json_name, long n)
{
    char path[4096];
    size_t xml_len, json_len;
    snprintf(path, sizeof(path), "%s/fhir/r4/xml/%s", corpus, xml_name);
    char *xml = slurp(path, &xml_len);
    snprintf(path, sizeof(path), "%s/fhir/r4/json/%s", corpus, json_name);
    char *text = slurp(path, &json_len);
    lx_error err;
    lx_error_clear(&err);
    json_t *resource = NULL;
    if (lx_json_parse(text, json_len, path, LX_JSON_MAX_DEFAULT, &resource,
                      &err) != 0)
        die(path, &err);

    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        json_t *out = NULL;
        if (lx_fhir_xml_to_json(types, xml, xml_len, 0, &out, &err) != 0)
            die(xml_name, &err);
        json_decref(out);
    }
    double t1 = now_s();
    printf("%-30s XML -> JSON  %9.0f /s  (%6.1f us each, %zu bytes)\n",
           xml_name, (double)n / (t1 - t0), (t1 - t0) / (double)n * 1e6,
           xml_len);

    lx_buf b;
    lx_buf_init(&b, 0);
    t0 = now_s();
    for (long i = 0; i < n; i++) {
        lx_buf_reset(&b);
        if (lx_fhir_json_to_xml(types, resource, &b, &err) != 0)
            die(json_name, &err);
    }
    t1 = now_s();
    printf("%-30s JSON -> XML  %9.0f /s  (%6.1f us each, %zu bytes out)\n",
           json_name, (double)n / (t1 - t0), (t1 - t0) / (double)n * 1e6,
           b.len);
    lx_buf_fini(&b);
    json_decref(resource);
    free(xml);
    free(text);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
    if (n <= 0)
        n = 10000;
    const char *src = getenv("LX_SOURCE_DIR");
    const char *corpus = getenv("LX_CORPUS_DIR");
    if (!src)
        src = ".";
    if (!corpus)
        corpus = "../shared/corpus";
    char path[4096];
    snprintf(path, sizeof(path), "%s/schemas/fhir/r4/types.json", src);

    lx_fhir_xml_init();
    lx_error err;
    lx_error_clear(&err);
    lx_fhir_types *types = NULL;
    double t0 = now_s();
    if (lx_fhir_types_load(path, &types, &err) != 0)
        die(path, &err);
    printf("type table load                %9.1f ms\n", (now_s() - t0) * 1e3);

    run(types, corpus, "patient-example.xml", "Patient-example.json", n);
    run(types, corpus, "bundle-transaction.xml",
        "Bundle-bundle-transaction.json", n / 4 > 0 ? n / 4 : 1);
    lx_fhir_types_destroy(&types);
    return 0;
}
