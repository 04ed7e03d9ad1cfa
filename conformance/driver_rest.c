/* conformance/driver_rest.c: the REST adapter (adapters/rest/) for plain
 * JSON systems, with one mapping of the adapter folder at a time.
 *
 * The suite's options are the instance's configuration
 * (docs/rest-adapter.md) less the transport: "map" names the mapping file
 * in the folder under test ("badge-person.json"); "id", "items",
 * "native_type" are the inbound ones; "create", "update", "delete",
 * "id_from", "headers" the outbound ones. A case's options override them
 * (another mapping, other routes).
 *
 * Inbound, a body goes through the webhook's ingest (rest_in.h: map,
 * validate, store all or nothing); a refusal is {code: LX_E*, location:
 * what the adapter names ("body", a pointer), line and column when it
 * gives them, message}. Outbound, the adapter's
 * delivery calls the runner's target, which answers as a plain JSON API
 * (a POST gets Location .../conf-N), so the id the adapter keeps is
 * seen in the next call's path. */
#include "adapters/rest/rest_in.h"
#include "adapters/rest/rest_out.h"
#include "conformance/conform_int.h"
#include "core/json.h"
#include "core/mem.h"

#include <string.h>

#define REST_FOLDER "rest" /* maps/<this> holds the adapter folder */

typedef struct rest_state {
    char maps[LX_CONFORM_PATH_MAX]; /* <schema root>/maps */
} rest_state;

/* The mapping the options name, as "rest/<file>" (relative to maps). */
static int map_of(const json_t *options, char *out, size_t size,
                  lx_error *err)
{
    const char *map = lx_json_str(options, "map");
    if (!map || !*map || strchr(map, '/'))
        return lx_error_set(err, LX_EINVAL,
                            "/options/map must name a mapping file of the "
                            "adapter folder (\"badge-person.json\")");
    snprintf(out, size, REST_FOLDER "/%s", map);
    return 0;
}

static int rest_open(const char *root, const char *adapter_dir,
                     const json_t *options, void **sp, lx_error *err)
{
    (void)adapter_dir;
    *sp = NULL;
    char map[300];
    int rc = map_of(options, map, sizeof(map), err);
    if (rc != 0)
        return rc;
    rest_state *st = lx_xcalloc(1, sizeof(*st));
    snprintf(st->maps, sizeof(st->maps), "%s/maps", root);
    *sp = st;
    return 0;
}

static void rest_close(void **sp)
{
    free(*sp);
    *sp = NULL;
}

static void rest_begin(void *state, lx_conform_hub *hub)
{
    (void)state;
    lx_conform_target_plain(hub->target, true);
}

static void rest_end(void *state, lx_conform_hub *hub)
{
    (void)state;
    lx_conform_target_plain(hub->target, false);
}

static int rest_ingest(void *state, lx_conform_hub *hub, const char *system,
                       const json_t *input, const char *doc, size_t len,
                       lx_conform_answer *ans, lx_error *err)
{
    rest_state *st = state;
    (void)input;
    const json_t *o = hub->options;
    char map[300], path[LX_CONFORM_PATH_MAX + 320];
    int rc = map_of(o, map, sizeof(map), err);
    if (rc != 0)
        return rc;
    snprintf(path, sizeof(path), "%s/%s", st->maps, map);
    lx_rest_in_options io = {.map_path = path,
                             .system = system,
                             .adapter = "conformance-in",
                             .items = lx_json_str(o, "items"),
                             .id = lx_json_str(o, "id"),
                             .native_type = lx_json_str(o, "native_type")};
    lx_rest_in *in = NULL;
    if ((rc = lx_rest_in_new(&io, &in, err)) != 0)
        return rc;
    json_t *answer = NULL;
    lx_error e;
    lx_error_clear(&e);
    rc = lx_rest_in_ingest(in, hub->store, hub->registry, doc, len, "webhook",
                           &answer, &e);
    ans->accepted = rc == 0;
    if (rc != 0) {
        ans->rejection = json_pack("{s:s,s:s,s:s}", "code",
                                   lx_error_name(e.code), "location", e.where,
                                   "message", e.msg);
        if (e.line > 0)
            json_object_set_new(ans->rejection, "line",
                                json_integer(e.line));
        if (e.column > 0)
            json_object_set_new(ans->rejection, "column",
                                json_integer(e.column));
    }
    json_decref(answer);
    lx_rest_in_destroy(&in);
    return 0;
}

static void rest_ops_of(void *o, lx_outbound_ops *ops)
{
    lx_rest_out_ops(o, ops);
}

typedef struct rest_out {
    lx_rest_out *o;
    lx_delivery *d;
} rest_out;

static void rest_out_stop(void **op)
{
    rest_out *ro = *op;
    if (!ro)
        return;
    *op = NULL;
    lx_delivery_stop(&ro->d);
    lx_rest_out_destroy(&ro->o);
    free(ro);
}

static int rest_out_start(void *state, lx_conform_hub *hub,
                          const char *system, const json_t *options,
                          void **op, lx_error *err)
{
    rest_state *st = state;
    *op = NULL;
    char map[300];
    int rc = map_of(options, map, sizeof(map), err);
    if (rc != 0)
        return rc;
    /* The instance's configuration, as an operator would write it. */
    json_t *conf = json_pack("{s:{s:s},s:s}", "transport", "url",
                             lx_conform_target_url(hub->target), "map", map);
    static const char *const keys[] = {"create",  "update",  "delete",
                                       "id_from", "headers", "native_type"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (json_object_get(options, keys[i]))
            json_object_set(conf, keys[i], json_object_get(options, keys[i]));
    lx_rest_out_env env = {.system = system, .maps_dir = st->maps};
    rest_out *ro = lx_xcalloc(1, sizeof(*ro));
    rc = lx_rest_out_new(conf, &env, &ro->o, err);
    json_decref(conf);
    if (rc == 0)
        rc = lx_conform_delivery_start(hub, system, rest_ops_of, ro->o,
                                       &ro->d, err);
    if (rc != 0) {
        void *p = ro;
        rest_out_stop(&p);
        return rc;
    }
    *op = ro;
    return 0;
}

static void rest_out_notify(void *op)
{
    lx_delivery_notify(((rest_out *)op)->d);
}

static uint64_t rest_out_cursor(void *op)
{
    return lx_conform_delivery_cursor(((rest_out *)op)->d);
}

const lx_conform_driver lx_conform_driver_rest = {
    .kind = "rest",
    .map_folder = REST_FOLDER,
    .open = rest_open,
    .close = rest_close,
    .begin = rest_begin,
    .end = rest_end,
    .ingest = rest_ingest,
    .out_start = rest_out_start,
    .out_stop = rest_out_stop,
    .out_notify = rest_out_notify,
    .out_cursor = rest_out_cursor,
};
