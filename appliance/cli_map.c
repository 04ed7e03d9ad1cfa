/* appliance/cli_map.c: `lingua map`: try a mapping file on an input.
 *
 *   lingua map test MAPFILE INPUT [--reverse] [--trace] [--json]
 *                   [--xref FILE | --data-dir DIR --system NAME]
 *   lingua map check MAPFILE
 *
 * Exit codes: 0 ok, 1 the mapping does not compile or fails on the input
 * (the error names the file, the rule and the source path), 2 usage, 3 a
 * file or the store cannot be read. */
#include "adapters/map/map.h"
#include "appliance/cli.h"
#include "canonical/store.h"
#include "core/buf.h"
#include "core/json.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

/* Registered in cli.c's command table. */

static const char map_usage[] =
    "usage: lingua map test MAPFILE INPUT [--reverse] [--trace] [--json]\n"
    "                       [--xref FILE | --data-dir DIR --system NAME]\n"
    "       lingua map check MAPFILE\n"
    "\n"
    "test   map INPUT with MAPFILE and print the result: native -> canonical,\n"
    "       or canonical -> native with --reverse. INPUT is JSON, or the XML\n"
    "       text itself when the mapping starts with an XSLT step.\n"
    "check  compile MAPFILE and report its first error.\n"
    "\n"
    "  --reverse        canonical -> native (the mapping's \"out\" direction)\n"
    "  --trace          also print each output field with the rule and the\n"
    "                   source path that produced it (field lineage)\n"
    "  --json           with --trace: one JSON object {output, lineage}\n"
    "  --xref FILE      resolve references from a JSON object of\n"
    "                   \"NativeType/id\": \"entity/canonical_id\" pairs\n"
    "  --data-dir DIR   resolve references through the hub's store (read\n"
    "  --system NAME    only), as system NAME\n"
    "\n"
    "exit codes: 0 ok, 1 mapping error, 2 usage, 3 cannot read a file or "
    "the store\n";

enum {
    OPT_REVERSE = 1000,
    OPT_TRACE,
    OPT_JSON,
    OPT_XREF,
    OPT_DATA,
    OPT_SYSTEM,
    OPT_HELP
};

/* ---- --xref FILE: a static cross-reference table ---- */

static int split_pair(const char *s, char *a, size_t a_size, char *b,
                      size_t b_size)
{
    const char *slash = strrchr(s, '/');
    if (!slash || slash == s || !slash[1] || (size_t)(slash - s) >= a_size ||
        strlen(slash + 1) >= b_size)
        return LX_EINVAL;
    memcpy(a, s, (size_t)(slash - s));
    a[slash - s] = '\0';
    memcpy(b, slash + 1, strlen(slash + 1) + 1);
    return 0;
}

static int xref_to_canonical(void *ctx, const char *type, const char *id,
                             char *entity, size_t entity_size, char *cid,
                             size_t cid_size, lx_error *err)
{
    char key[LX_MAP_NATIVE_TYPE_SIZE + LX_MAP_NATIVE_ID_SIZE + 1];
    snprintf(key, sizeof(key), "%s/%s", type, id);
    const char *v = lx_json_str(ctx, key);
    if (!v)
        return LX_ENOTFOUND;
    if (split_pair(v, entity, entity_size, cid, cid_size) != 0)
        return lx_error_set(err, LX_EINVAL,
                            "--xref: a value is \"entity/canonical_id\"");
    return 0;
}

static int xref_to_native(void *ctx, const char *entity, const char *id,
                          const char *want, char *type, size_t type_size,
                          char *nid, size_t nid_size, lx_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)ctx, key, v)
    {
        char e[LX_MAP_ENTITY_SIZE], i[LX_MAP_ID_SIZE];
        if (!json_is_string(v) ||
            split_pair(json_string_value(v), e, sizeof(e), i, sizeof(i)) ||
            strcmp(e, entity) != 0 || strcmp(i, id) != 0)
            continue;
        if (split_pair(key, type, type_size, nid, nid_size) != 0)
            return lx_error_set(err, LX_EINVAL,
                                "--xref: a key is \"NativeType/id\"");
        if (!want || strcmp(type, want) == 0)
            return 0;
    }
    return LX_ENOTFOUND;
}

/* ---- output ---- */

static void print_value(const json_t *v, bool json_mode)
{
    if (json_is_string(v) && !json_mode) {
        /* an XSLT step's XML: the document itself */
        fwrite(json_string_value(v), 1, json_string_length(v), stdout);
        if (json_string_length(v) == 0 ||
            json_string_value(v)[json_string_length(v) - 1] != '\n')
            fputc('\n', stdout);
        return;
    }
    /* Keys in the order the rules wrote them. */
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
    if (s) {
        puts(s);
        free(s);
    }
}

static void print_trace(const lx_map_trace *t)
{
    size_t width = 0, n = lx_map_trace_count(t);
    for (size_t i = 0; i < n; i++) {
        size_t w = strlen(lx_map_trace_get(t, i)->target);
        if (w > width)
            width = w;
    }
    if (width > 48)
        width = 48;
    printf("\nlineage (%zu field%s):\n", n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        const lx_map_lineage *l = lx_map_trace_get(t, i);
        printf("%-*s  <- %s from %s\n", (int)width, l->target, l->rule,
               l->source);
    }
}

static int map_fail(const char *context, const lx_error *err, int code)
{
    char line[1024];
    fprintf(stderr, "lingua: %s: %s\n", context,
            lx_cli_error_line(err, line, sizeof(line)));
    return code;
}

static int load_map(const char *path, lx_map **m)
{
    lx_error err;
    lx_error_clear(&err);
    if (lx_map_load(path, m, &err) == 0)
        return 0;
    /* The mapping file itself unreadable is the environment; anything
     * else is the mapping. */
    return map_fail("map", &err,
                    err.code == LX_EIO ? LX_EXIT_ENV : LX_EXIT_DATA);
}

static int read_input(const lx_map *m, lx_map_dir dir, const char *path,
                      json_t **out)
{
    lx_error err;
    lx_error_clear(&err);
    if (!lx_map_input_is_text(m, dir)) {
        int rc = lx_json_load_file(path, LX_JSON_MAX_DEFAULT, out, &err);
        if (rc)
            return map_fail("input", &err,
                            rc == LX_EIO ? LX_EXIT_ENV : LX_EXIT_DATA);
        return 0;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "lingua: input: %s: cannot open\n", path);
        return LX_EXIT_ENV;
    }
    lx_buf b;
    lx_buf_init(&b, LX_JSON_MAX_DEFAULT);
    char chunk[16384];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = lx_buf_append(&b, chunk, n);
    fclose(f);
    if (rc) {
        lx_buf_fini(&b);
        fprintf(stderr, "lingua: input: %s: over %zu bytes\n", path,
                (size_t)LX_JSON_MAX_DEFAULT);
        return LX_EXIT_DATA;
    }
    *out = json_stringn(b.data ? b.data : "", b.len);
    lx_buf_fini(&b);
    if (!*out) {
        fprintf(stderr, "lingua: input: %s: not UTF-8 text\n", path);
        return LX_EXIT_DATA;
    }
    return 0;
}

static int map_test(const char *map_path, const char *input_path, bool reverse,
                    bool trace_on, bool json_mode, const char *xref_path,
                    const char *data_dir, const char *system)
{
    lx_map *m = NULL;
    json_t *input = NULL, *xref = NULL, *output = NULL;
    lx_store *store = NULL;
    lx_map_trace *trace = trace_on ? lx_map_trace_new() : NULL;
    lx_map_resolver res, *pres = NULL;
    lx_map_store_ctx sctx;
    lx_map_dir dir = reverse ? LX_MAP_OUT : LX_MAP_IN;
    lx_error err;
    lx_error_clear(&err);
    int rc = load_map(map_path, &m);
    if (rc == 0)
        rc = read_input(m, dir, input_path, &input);
    if (rc == 0 && xref_path) {
        if (lx_json_load_file(xref_path, LX_JSON_MAX_DEFAULT, &xref, &err)) {
            rc = map_fail("--xref", &err, LX_EXIT_ENV);
        } else if (!json_is_object(xref)) {
            fprintf(stderr, "lingua: --xref: %s: not a JSON object\n",
                    xref_path);
            rc = LX_EXIT_USAGE;
        } else {
            res = (lx_map_resolver){xref_to_canonical, xref_to_native, xref, NULL};
            pres = &res;
        }
    }
    if (rc == 0 && data_dir) {
        lx_store_options opts = {.dir = data_dir, .read_only = true};
        if (lx_store_open(&opts, &store, &err) != 0) {
            rc = map_fail("store", &err, LX_EXIT_ENV);
        } else {
            sctx = (lx_map_store_ctx){store, system};
            lx_map_resolver_store(&res, &sctx);
            pres = &res;
        }
    }
    if (rc == 0 && lx_map_run(m, dir, input, pres, &output, trace, &err))
        rc = map_fail("map", &err,
                      err.code == LX_ESTORE ? LX_EXIT_ENV : LX_EXIT_DATA);
    if (rc == 0 && trace && json_mode) {
        json_t *all = json_pack("{s:O, s:o}", "output", output, "lineage",
                                lx_map_trace_to_json(trace));
        print_value(all, true);
        json_decref(all);
    } else if (rc == 0) {
        print_value(output, json_mode);
        if (trace)
            print_trace(trace);
    }
    json_decref(output);
    json_decref(input);
    json_decref(xref);
    lx_map_trace_destroy(&trace);
    lx_store_close(&store);
    lx_map_destroy(&m);
    return rc;
}

int lx_cli_map(int argc, char **argv)
{
    static const struct option opts[] = {
        {"reverse", no_argument, NULL, OPT_REVERSE},
        {"trace", no_argument, NULL, OPT_TRACE},
        {"json", no_argument, NULL, OPT_JSON},
        {"xref", required_argument, NULL, OPT_XREF},
        {"data-dir", required_argument, NULL, OPT_DATA},
        {"system", required_argument, NULL, OPT_SYSTEM},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0}};
    bool reverse = false, trace = false, json_mode = false;
    const char *xref = NULL, *data_dir = NULL, *system = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case OPT_REVERSE:
            reverse = true;
            break;
        case OPT_TRACE:
            trace = true;
            break;
        case OPT_JSON:
            json_mode = true;
            break;
        case OPT_XREF:
            xref = optarg;
            break;
        case OPT_DATA:
            data_dir = optarg;
            break;
        case OPT_SYSTEM:
            system = optarg;
            break;
        case OPT_HELP:
            fputs(map_usage, stdout);
            return LX_EXIT_OK;
        default:
            fputs(map_usage, stderr);
            return LX_EXIT_USAGE;
        }
    }
    int npos = argc - optind;
    const char *sub = npos > 0 ? argv[optind] : "";
    if (strcmp(sub, "check") == 0 && npos == 2 && !reverse && !trace &&
        !json_mode && !xref && !data_dir && !system) {
        lx_map *m = NULL;
        int rc = load_map(argv[optind + 1], &m);
        if (rc == 0)
            printf("%s: ok (%s)\n", argv[optind + 1], lx_map_id(m));
        lx_map_destroy(&m);
        return rc;
    }
    if (strcmp(sub, "test") != 0 || npos != 3 || (xref && data_dir) ||
        (!data_dir != !system)) {
        fputs(map_usage, stderr);
        return LX_EXIT_USAGE;
    }
    return map_test(argv[optind + 1], argv[optind + 2], reverse, trace,
                    json_mode, xref, data_dir, system);
}
