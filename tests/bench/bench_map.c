/* tests/bench/bench_map.c: what one mapping run costs.
 *
 * Maps a FHIR R4 Patient (~3.7 KB, the corpus's Patient-example.json) to a
 * canonical person and back with a realistic mapping (identifiers, official
 * name, telecom with code tables, gender, birth date, addresses, a
 * reference through a resolver), and prints, one figure per line:
 *   1. loading (parse + compile) the mapping, once per process in real use;
 *   2. jansson parsing the Patient text: the floor the engine is compared
 *      with, since every inbound message is parsed before it is mapped;
 *   3. a run in (native -> canonical), 4. the same with lineage, 5. a run
 *      out (canonical -> native): microseconds per run and runs per second
 *      on one thread.
 * Usage: bench_map [--quick] [MAPFILE INPUT]
 * Defaults: tests/unit/data/map/fhir-patient.json and the corpus Patient,
 * found from $LX_SOURCE_DIR or the source tree this was built from. */
#include "adapters/map/map.h"
#include "core/json.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PATH_MAX_LEN 4096

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int resolve_in(void *ctx, const char *type, const char *id, char *entity,
                      size_t entity_size, char *cid, size_t cid_size,
                      lx_error *err)
{
    (void)ctx;
    (void)err;
    (void)type;
    (void)id;
    snprintf(entity, entity_size, "organization");
    snprintf(cid, cid_size, "org_01JD3V8Z5Q6W7E8R9T0Y1U2I3O");
    return 0;
}

static int resolve_out(void *ctx, const char *entity, const char *id,
                       const char *want, char *type, size_t type_size,
                       char *nid, size_t nid_size, lx_error *err)
{
    (void)ctx;
    (void)err;
    (void)entity;
    (void)id;
    snprintf(type, type_size, "%s", want ? want : "Organization");
    snprintf(nid, nid_size, "1");
    return 0;
}

typedef struct job {
    const lx_map *m;
    lx_map_dir dir;
    const json_t *input;
    const lx_map_resolver *res;
    lx_map_trace *trace;
    const char *text;
    size_t len;
} job;

static int one_run(const job *j)
{
    json_t *out;
    lx_error err;
    if (j->text) {
        out = json_loadb(j->text, j->len, 0, NULL);
        if (!out)
            return -1;
    } else if (lx_map_run(j->m, j->dir, j->input, j->res, &out, j->trace,
                          &err) != 0) {
        char line[LX_ERROR_MSG_MAX];
        fprintf(stderr, "bench_map: run failed: %s\n",
                lx_error_format(&err, line, sizeof(line)));
        return -1;
    }
    json_decref(out);
    return 0;
}

/* Run j in batches until `seconds` have passed; print the figure. */
static int measure(const char *what, const job *j, double seconds)
{
    size_t runs = 0, batch = 1000;
    double t0 = now_s(), t;
    do {
        for (size_t i = 0; i < batch; i++)
            if (one_run(j) != 0)
                return -1;
        runs += batch;
        t = now_s() - t0;
    } while (t < seconds);
    printf("%-34s %9.2f us/run %12.0f runs/s\n", what, t * 1e6 / (double)runs,
           (double)runs / t);
    return 0;
}

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    *len = buf ? fread(buf, 1, cap, f) : 0;
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    bool quick = false;
    const char *map_path = NULL, *input_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (!map_path)
            map_path = argv[i];
        else
            input_path = argv[i];
    }
    char src[PATH_MAX_LEN], mp[PATH_MAX_LEN], ip[PATH_MAX_LEN];
    const char *env = getenv("LX_SOURCE_DIR");
    if (env && *env) {
        snprintf(src, sizeof(src), "%s", env);
    } else {
        /* LX_DEFAULT_SCHEMAS is <source>/schemas/canonical */
        snprintf(src, sizeof(src), "%s", LX_DEFAULT_SCHEMAS);
        char *cut = strstr(src, "/schemas/canonical");
        if (cut)
            *cut = '\0';
    }
    snprintf(mp, sizeof(mp), "%s/tests/unit/data/map/fhir-patient.json", src);
    snprintf(ip, sizeof(ip),
             "%s/../shared/corpus/fhir/r4/json/Patient-example.json", src);
    if (!map_path)
        map_path = mp;
    if (!input_path)
        input_path = ip;
    double seconds = quick ? 0.2 : 1.0;

    lx_error err;
    lx_error_clear(&err);
    char line[LX_ERROR_MSG_MAX];
    size_t len = 0;
    char *text = read_text(input_path, &len);
    json_t *input = NULL;
    if (!text || lx_json_parse(text, len, input_path, LX_JSON_MAX_DEFAULT,
                               &input, &err) != 0) {
        fprintf(stderr, "bench_map: cannot read %s\n", input_path);
        free(text);
        return 1;
    }
    /* 1. loading */
    lx_map *m = NULL;
    size_t loads = 0;
    double t0 = now_s(), t;
    do {
        lx_map_destroy(&m);
        if (lx_map_load(map_path, &m, &err) != 0) {
            fprintf(stderr, "bench_map: %s\n",
                    lx_error_format(&err, line, sizeof(line)));
            free(text);
            json_decref(input);
            return 1;
        }
        loads++;
        t = now_s() - t0;
    } while (t < seconds / 4);
    printf("mapping %s, input %zu bytes\n", map_path, len);
    printf("%-34s %9.2f us/load\n", "load + compile the mapping",
           t * 1e6 / (double)loads);

    lx_map_resolver res = {resolve_in, resolve_out, NULL, NULL};
    lx_map_trace *trace = lx_map_trace_new();
    json_t *canonical = NULL;
    if (lx_map_run(m, LX_MAP_IN, input, &res, &canonical, NULL, &err) != 0) {
        fprintf(stderr, "bench_map: %s\n",
                lx_error_format(&err, line, sizeof(line)));
        return 1;
    }
    job parse = {.text = text, .len = len};
    job in = {m, LX_MAP_IN, input, &res, NULL, NULL, 0};
    job in_traced = {m, LX_MAP_IN, input, &res, trace, NULL, 0};
    job out = {m, LX_MAP_OUT, canonical, &res, NULL, NULL, 0};
    int rc = measure("jansson parse of the input", &parse, seconds);
    if (rc == 0)
        rc = measure("map in (native -> canonical)", &in, seconds);
    if (rc == 0)
        rc = measure("map in, with lineage", &in_traced, seconds);
    if (rc == 0)
        rc = measure("map out (canonical -> native)", &out, seconds);
    json_decref(canonical);
    json_decref(input);
    lx_map_trace_destroy(&trace);
    lx_map_destroy(&m);
    free(text);
    return rc == 0 ? 0 : 1;
}
