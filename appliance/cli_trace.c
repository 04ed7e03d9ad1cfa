/* appliance/cli_trace.c: `lingua trace`: the story of one message, or of
 * every message that touched a record. */
#include "appliance/cli.h"
#include "canonical/store.h"
#include "core/config.h"
#include "core/json.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define DATA_DIR_DEFAULT "/var/lib/lingua"

static const char trace_usage[] =
    "usage: lingua trace TRACE_ID [--json] [--data-dir DIR | --config FILE]\n"
    "       lingua trace --record ENTITY ID [--json] [...]\n"
    "\n"
    "Show what happened to a message: how it arrived (transport, mapping),\n"
    "the version and event it became, and every delivery attempt (target,\n"
    "status, latency, error). With --record, the same for every message\n"
    "that changed the record. Traces are kept trace.retention_hours (72 by\n"
    "default).\n";

static void print_step(const json_t *st)
{
    const char *step = lx_json_str(st, "step");
    const char *time = lx_json_str(st, "time");
    if (step && strcmp(step, "delivery") == 0) {
        const char *error = lx_json_str(st, "error");
        printf("  %s  delivery   %s attempt %lld: %s %s -> %lld (%.1f ms)%s%s\n",
               time ? time : "", lx_json_str(st, "instance"),
               (long long)json_integer_value(json_object_get(st, "attempt")),
               lx_json_str(st, "method"), lx_json_str(st, "url"),
               (long long)json_integer_value(json_object_get(st, "status")),
               json_real_value(json_object_get(st, "latency_ms")),
               error ? ": " : "", error ? error : "");
        return;
    }
    json_t *recv = json_object_get(st, "received");
    if (recv) {
        char *r = json_dumps(recv, JSON_COMPACT);
        printf("  %s  received   from %s (%s/%s) via %s\n", time ? time : "",
               lx_json_str(st, "system"), lx_json_str(st, "native_type"),
               lx_json_str(st, "native_id"), r ? r : "");
        free(r);
    }
    printf("  %s  %-10s %s %s version %lld, event %lld\n", time ? time : "",
           step ? step : "?", lx_json_str(st, "entity"),
           lx_json_str(st, "canonical_id"),
           (long long)json_integer_value(json_object_get(st, "version")),
           (long long)json_integer_value(json_object_get(st, "seq")));
}

static int show(lx_store *s, const char *trace, bool as_json)
{
    json_t *steps = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (lx_store_trace_get(s, trace, &steps, &err) != 0) {
        fprintf(stderr, "lingua: trace %s: %s\n", trace, err.msg);
        return lx_cli_exit_for(err.code);
    }
    if (as_json) {
        json_t *o = json_pack("{s:s,s:O}", "trace", trace, "steps", steps);
        lx_cli_print_json(stdout, o, 0);
        json_decref(o);
    } else {
        printf("trace %s\n", trace);
        size_t i;
        json_t *st;
        json_array_foreach(steps, i, st)
            print_step(st);
    }
    json_decref(steps);
    return 0;
}

int lx_cli_trace(int argc, char **argv)
{
    enum { O_DATA = 1, O_CONFIG, O_RECORD, O_JSON, O_HELP };
    static const struct option opts[] = {
        {"data-dir", required_argument, NULL, O_DATA},
        {"config", required_argument, NULL, O_CONFIG},
        {"record", no_argument, NULL, O_RECORD},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    const char *data_dir = NULL, *config = NULL;
    bool record = false, as_json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_DATA: data_dir = optarg; break;
        case O_CONFIG: config = optarg; break;
        case O_RECORD: record = true; break;
        case O_JSON: as_json = true; break;
        case O_HELP: fputs(trace_usage, stdout); return LX_EXIT_OK;
        default: fputs(trace_usage, stderr); return LX_EXIT_USAGE;
        }
    }
    if (argc - optind != (record ? 2 : 1)) {
        fputs(trace_usage, stderr);
        return LX_EXIT_USAGE;
    }
    lx_error err;
    lx_error_clear(&err);
    lx_config *cfg = NULL;
    if (!data_dir && config) {
        if (lx_config_load(config, &cfg, &err) != 0) {
            lx_cli_fail("invalid configuration", &err);
            return LX_EXIT_ENV;
        }
        data_dir = cfg->data_dir;
    }
    if (!data_dir)
        data_dir = getenv("LINGUA_DATA_DIR");
    if (!data_dir || !*data_dir)
        data_dir = DATA_DIR_DEFAULT;
    lx_store_options o = {.dir = data_dir, .read_only = true};
    lx_store *s = NULL;
    int rc = 0;
    if (lx_store_open(&o, &s, &err) != 0) {
        lx_cli_fail("cannot open the store", &err);
        lx_config_destroy(&cfg);
        return LX_EXIT_ENV;
    }
    if (!record) {
        rc = show(s, argv[optind], as_json);
    } else {
        json_t *hist = NULL;
        if (lx_store_history(s, argv[optind], argv[optind + 1], &hist,
                             &err) != 0) {
            rc = lx_cli_fail("trace --record", &err);
        } else {
            /* Each distinct trace of the record's versions, in order. */
            json_t *seen = json_object();
            size_t i;
            json_t *h;
            json_array_foreach(hist, i, h)
            {
                const char *t = lx_json_str(h, "trace");
                if (!t || json_object_get(seen, t))
                    continue;
                json_object_set_new(seen, t, json_true());
                int r = show(s, t, as_json);
                if (r != 0 && rc == 0)
                    rc = r;
            }
            json_decref(seen);
            json_decref(hist);
        }
    }
    lx_store_close(&s);
    lx_config_destroy(&cfg);
    return rc;
}
