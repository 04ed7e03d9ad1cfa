/* appliance/cli_records.c: the commands that read and write records:
 * ingest, get, history, xref, events, schema validate. */
#include "appliance/cli.h"
#include "appliance/hub.h"
#include "canonical/ingest.h"
#include "canonical/registry.h"
#include "canonical/schema.h"
#include "canonical/store.h"
#include "core/bus.h"
#include "core/config.h"
#include "core/id.h"
#include "core/json.h"

#include <getopt.h>
#include <signal.h>
#include <string.h>

#define HUB_TIMEOUT_MS 10000
#define DATA_DIR_DEFAULT "/var/lib/lingua"
#define SCHEMAS_INSTALLED "/usr/share/lingua/schemas/canonical"

static const char target_help[] =
    "where the data is (first that applies):\n"
    "  --data-dir DIR   the hub's data directory (read directly; safe while\n"
    "                   the hub runs)\n"
    "  --config FILE    take data_dir, schemas and bus endpoints from the\n"
    "                   appliance configuration\n"
    "  $LINGUA_DATA_DIR, then " DATA_DIR_DEFAULT "\n";

/* ---- shared option handling ---- */

enum { OPT_CONFIG = 1000, OPT_DATA, OPT_HUB, OPT_PUB, OPT_SCHEMAS, OPT_HELP };

#define TARGET_OPTIONS                                                       \
    {"config", required_argument, NULL, OPT_CONFIG},                         \
    {"data-dir", required_argument, NULL, OPT_DATA},                         \
    {"hub", required_argument, NULL, OPT_HUB},                               \
    {"pub", required_argument, NULL, OPT_PUB},                               \
    {"schemas", required_argument, NULL, OPT_SCHEMAS},                       \
    {"help", no_argument, NULL, OPT_HELP}

/* Returns 1 when c was a target option (consumed). */
static int target_option(lx_cli_target *t, int c)
{
    switch (c) {
    case OPT_CONFIG: t->config = optarg; return 1;
    case OPT_DATA: t->data_dir = optarg; return 1;
    case OPT_HUB: t->hub = optarg; return 1;
    case OPT_PUB: t->pub = optarg; return 1;
    case OPT_SCHEMAS: t->schemas = optarg; return 1;
    }
    return 0;
}

/* Load --config when given. Returns an exit code (0 = go on). */
static int load_config(const lx_cli_target *t, lx_config **cfg)
{
    *cfg = NULL;
    if (!t->config)
        return 0;
    lx_error err;
    lx_error_clear(&err);
    if (lx_config_load(t->config, cfg, &err) != 0) {
        lx_cli_fail("invalid configuration", &err);
        return LX_EXIT_ENV;
    }
    return 0;
}

static const char *data_dir_of(const lx_cli_target *t, const lx_config *cfg)
{
    if (t->data_dir)
        return t->data_dir;
    if (cfg)
        return cfg->data_dir;
    const char *env = getenv("LINGUA_DATA_DIR");
    return env && *env ? env : DATA_DIR_DEFAULT;
}

static int open_store(const lx_cli_target *t, const lx_config *cfg,
                      bool read_only, lx_store **out)
{
    lx_store_options o = {.dir = data_dir_of(t, cfg), .read_only = read_only};
    if (cfg && !read_only) {
        o.map_size = cfg->map_size;
        o.max_map_size = cfg->max_map_size;
        o.no_sync = !cfg->sync;
        o.durability = cfg->durability_lmdb ? LX_STORE_DURABILITY_LMDB
                                            : LX_STORE_DURABILITY_WAL;
    }
    lx_error err;
    lx_error_clear(&err);
    if (lx_store_open(&o, out, &err) != 0)
        return lx_cli_fail("cannot open the store", &err) == LX_EXIT_DATA
                   ? LX_EXIT_ENV
                   : LX_EXIT_ENV;
    return 0;
}

static int load_registry(const lx_cli_target *t, const lx_config *cfg,
                         lx_registry **out)
{
    const char *dir = t->schemas;
    if (!dir && cfg && cfg->schemas_dir)
        dir = cfg->schemas_dir;
    if (!dir) {
        const char *env = getenv("LINGUA_SCHEMAS");
        dir = env && *env ? env : NULL;
    }
    if (!dir) {
        FILE *probe = fopen(SCHEMAS_INSTALLED "/person/v1.json", "r");
        if (probe) {
            fclose(probe);
            dir = SCHEMAS_INSTALLED;
        } else {
            dir = LX_DEFAULT_SCHEMAS;
        }
    }
    lx_error err;
    lx_error_clear(&err);
    if (lx_registry_load(dir, out, &err) != 0) {
        lx_cli_fail("cannot load the canonical schemas", &err);
        return LX_EXIT_ENV;
    }
    return 0;
}

/* Read a whole file ("-" = stdin) and parse it as JSON. */
static int read_json(const char *path, size_t max, json_t **out)
{
    lx_error err;
    lx_error_clear(&err);
    int rc;
    if (strcmp(path, "-") == 0) {
        json_error_t je;
        *out = json_loadf(stdin, JSON_REJECT_DUPLICATES, &je);
        if (*out)
            return 0;
        lx_error_set(&err, LX_ESYNTAX, "invalid JSON: %s", je.text);
        lx_error_at(&err, "<stdin>", je.line, je.column);
        rc = LX_ESYNTAX;
    } else {
        rc = lx_json_load_file(path, max, out, &err);
    }
    return rc ? lx_cli_fail("cannot read the record", &err) : 0;
}

/* ---- ingest ---- */

static const char ingest_usage[] =
    "usage: lingua ingest FILE --entity ENTITY --system SYSTEM [options]\n"
    "\n"
    "Store a canonical record (FILE holds the record JSON; - reads stdin).\n"
    "With --hub or --config the record goes to the running hub over its\n"
    "ROUTER socket (events are published); with --data-dir it is written\n"
    "directly to the store (offline: subscribers see the events on replay).\n"
    "The record is validated against its schema first; nothing is written\n"
    "when it is invalid. Prints the result as JSON.\n"
    "\n"
    "  --entity ENTITY        canonical entity (person, worker, ...)\n"
    "  --system SYSTEM        source system\n"
    "  --native-type TYPE     the record's type in SYSTEM (default: ENTITY)\n"
    "  --native-id ID         the record's id in SYSTEM\n"
    "  --adapter NAME         adapter instance, for the trace\n"
    "  --trace ID             trace id (default: a new one)\n"
    "  --delete               delete the record with --native-id instead\n"
    "  --hub ENDPOINT         the hub's ROUTER endpoint\n"
    "  --schemas DIR          canonical schemas (offline mode)\n";

int lx_cli_ingest(int argc, char **argv)
{
    enum { O_ENTITY = 1, O_SYSTEM, O_NTYPE, O_NID, O_ADAPTER, O_TRACE, O_DEL };
    static const struct option opts[] = {
        {"entity", required_argument, NULL, O_ENTITY},
        {"system", required_argument, NULL, O_SYSTEM},
        {"native-type", required_argument, NULL, O_NTYPE},
        {"native-id", required_argument, NULL, O_NID},
        {"adapter", required_argument, NULL, O_ADAPTER},
        {"trace", required_argument, NULL, O_TRACE},
        {"delete", no_argument, NULL, O_DEL},
        TARGET_OPTIONS,
        {NULL, 0, NULL, 0}};
    lx_cli_target t = {0};
    lx_upsert u = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (target_option(&t, c))
            continue;
        switch (c) {
        case O_ENTITY: u.entity = optarg; break;
        case O_SYSTEM: u.system = optarg; break;
        case O_NTYPE: u.native_type = optarg; break;
        case O_NID: u.native_id = optarg; break;
        case O_ADAPTER: u.adapter = optarg; break;
        case O_TRACE: u.trace = optarg; break;
        case O_DEL: u.op = LX_STORE_DELETE; break;
        case OPT_HELP:
            printf("%s\n%s", ingest_usage, target_help);
            return LX_EXIT_OK;
        default: fputs(ingest_usage, stderr); return LX_EXIT_USAGE;
        }
    }
    bool is_delete = u.op == LX_STORE_DELETE;
    if (!u.entity || !u.system || (optind != argc - 1 && !is_delete) ||
        (is_delete && optind != argc)) {
        fputs(ingest_usage, stderr);
        return LX_EXIT_USAGE;
    }
    lx_config *cfg = NULL;
    int rc = load_config(&t, &cfg);
    if (rc)
        return rc;
    json_t *record = NULL;
    size_t max = cfg ? cfg->max_payload : LX_JSON_MAX_DEFAULT;
    if (!is_delete && (rc = read_json(argv[optind], max, &record)) != 0) {
        lx_config_destroy(&cfg);
        return rc;
    }
    u.record = record;
    lx_error err;
    lx_error_clear(&err);
    json_t *result = NULL;
    bool via_hub = t.hub || (cfg && !t.data_dir);
    if (via_hub) {
        const char *ep = t.hub ? t.hub : cfg->bus_router;
        lx_bus_client *cl = NULL;
        json_t *body = json_pack("{s:s,s:s,s:s}", "entity", u.entity, "system",
                                 u.system, "op", is_delete ? "delete" : "upsert");
        if (u.native_type)
            json_object_set_new(body, "native_type", json_string(u.native_type));
        if (u.native_id)
            json_object_set_new(body, "native_id", json_string(u.native_id));
        if (u.adapter)
            json_object_set_new(body, "adapter", json_string(u.adapter));
        if (u.trace)
            json_object_set_new(body, "trace", json_string(u.trace));
        if (record)
            json_object_set(body, "record", record);
        const char *status = NULL;
        lx_bus_keypair kp;
        lx_bus_client_keys ck;
        const lx_bus_client_keys *keys = NULL;
        rc = lx_cli_bus_keys(cfg, &kp, &ck, &keys, &err);
        if (rc == 0)
            rc = lx_bus_client_open_keys(ep, keys, &cl, &err);
        if (rc == 0)
            rc = lx_bus_client_call(cl, "INGEST", body, HUB_TIMEOUT_MS, &status,
                                    &result, &err);
        if (rc == LX_ETIMEOUT)
            lx_error_set(&err, LX_ETIMEOUT,
                         "no answer from the hub at %s within %d s (is "
                         "'lingua serve' running?)",
                         ep, HUB_TIMEOUT_MS / 1000);
        if (rc == 0 && strcmp(status, "OK") != 0) {
            const char *code = lx_json_str(result, "code");
            const char *msg = lx_json_str(result, "message");
            const char *where = lx_json_str(result, "where");
            /* Schema messages already start with their location. */
            bool show_where = where && *where && msg && !strstr(msg, where);
            fprintf(stderr, "lingua: rejected by the hub: %s: %s%s%s\n",
                    code ? code : "error", show_where ? where : "",
                    show_where ? ": " : "", msg ? msg : "");
            rc = LX_EXIT_DATA;
            json_decref(result);
            result = NULL;
        } else if (rc != 0) {
            rc = lx_cli_fail("ingest", &err);
        }
        json_decref(body);
        lx_bus_client_close(&cl);
    } else {
        lx_registry *reg = NULL;
        lx_store *store = NULL;
        rc = load_registry(&t, cfg, &reg);
        if (rc == 0 && lx_ingest_check(reg, &u, &err) != 0)
            rc = lx_cli_fail("invalid record", &err);
        if (rc == 0)
            rc = open_store(&t, cfg, false, &store);
        if (rc == 0) {
            lx_upsert_result res;
            if (lx_store_upsert(store, &u, &res) != 0)
                rc = lx_cli_fail("ingest", &res.err);
            else
                result = lx_ingest_result_json(&res);
        }
        lx_store_close(&store);
        lx_registry_destroy(&reg);
    }
    if (result)
        lx_cli_print_json(stdout, result, 0);
    json_decref(result);
    json_decref(record);
    lx_config_destroy(&cfg);
    return rc;
}

/* ---- get / history / xref ---- */

static int parse_read_args(int argc, char **argv, const char *usage,
                           int positional, lx_cli_target *t)
{
    static const struct option opts[] = {TARGET_OPTIONS, {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (target_option(t, c))
            continue;
        if (c == OPT_HELP) {
            printf("%s\n%s", usage, target_help);
            return -1;
        }
        fputs(usage, stderr);
        return LX_EXIT_USAGE;
    }
    if (argc - optind != positional) {
        fputs(usage, stderr);
        return LX_EXIT_USAGE;
    }
    return 0;
}

typedef int (*read_fn)(lx_store *s, char **args, json_t **out, lx_error *err);

static int run_read(int argc, char **argv, const char *usage, int positional,
                    read_fn fn)
{
    lx_cli_target t = {0};
    int rc = parse_read_args(argc, argv, usage, positional, &t);
    if (rc)
        return rc < 0 ? LX_EXIT_OK : rc;
    lx_config *cfg = NULL;
    lx_store *store = NULL;
    if ((rc = load_config(&t, &cfg)) == 0 &&
        (rc = open_store(&t, cfg, true, &store)) == 0) {
        json_t *out = NULL;
        lx_error err;
        lx_error_clear(&err);
        if (fn(store, argv + optind, &out, &err) != 0)
            rc = lx_cli_fail(argv[0], &err);
        else if (out)
            lx_cli_print_json(stdout, out, 0);
        json_decref(out);
    }
    lx_store_close(&store);
    lx_config_destroy(&cfg);
    return rc;
}

static json_t *record_view(lx_store *s, const char *entity, const char *id,
                           json_t *rec, const lx_record_meta *m)
{
    char when[LX_TIME_SIZE];
    lx_time_format(m->time_ms, when);
    json_t *xrefs = NULL;
    if (lx_store_xref_list(s, entity, id, &xrefs, NULL) != 0)
        xrefs = json_array();
    return json_pack("{s:s,s:s,s:I,s:s,s:b,s:I,s:o,s:o}", "entity", entity,
                     "id", id, "version", (json_int_t)m->version, "time", when,
                     "deleted", m->deleted, "seq", (json_int_t)m->seq,
                     "xrefs", xrefs, "record", rec);
}

static int do_get(lx_store *s, char **a, json_t **out, lx_error *err)
{
    json_t *rec = NULL;
    lx_record_meta m;
    int rc = lx_store_get(s, a[0], a[1], &rec, &m, err);
    if (rc == 0)
        *out = record_view(s, a[0], a[1], rec, &m);
    return rc;
}

int lx_cli_get(int argc, char **argv)
{
    return run_read(argc, argv,
                    "usage: lingua get ENTITY ID [--data-dir DIR | --config "
                    "FILE]\n\nPrint the current version of a canonical record "
                    "with its cross-references.\n",
                    2, do_get);
}

static int do_history(lx_store *s, char **a, json_t **out, lx_error *err)
{
    return lx_store_history(s, a[0], a[1], out, err);
}

/* One line per version, for people: "v2  <time>  upsert  seq 4  from
 * ehr/Patient/MRN-1  trace ...". */
static int do_history_summary(lx_store *s, char **a, json_t **out,
                              lx_error *err)
{
    json_t *hist = NULL;
    int rc = lx_store_history(s, a[0], a[1], &hist, err);
    if (rc != 0)
        return rc;
    size_t i;
    json_t *h;
    json_array_foreach(hist, i, h)
    {
        const char *nid = lx_json_str(h, "native_id");
        printf("v%-3lld %s  %-6s  seq %-6lld from %s/%s/%s  trace %s\n",
               (long long)json_integer_value(json_object_get(h, "version")),
               lx_json_str(h, "time"), lx_json_str(h, "op"),
               (long long)json_integer_value(json_object_get(h, "seq")),
               lx_json_str(h, "system"), lx_json_str(h, "native_type"),
               nid ? nid : "-", lx_json_str(h, "trace"));
    }
    json_decref(hist);
    *out = NULL;
    return 0;
}

int lx_cli_history(int argc, char **argv)
{
    bool summary = false;
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--summary") == 0)
            summary = true;
        else
            argv[n++] = argv[i];
    }
    return run_read(n, argv,
                    "usage: lingua history ENTITY ID [--summary] [--data-dir "
                    "DIR | --config FILE]\n\nPrint every version of a record, "
                    "oldest first, with its source system,\nadapter, native "
                    "id, trace id and event sequence (JSON; --summary: one\n"
                    "line per version without the record).\n",
                    2, summary ? do_history_summary : do_history);
}

static int do_xref(lx_store *s, char **a, json_t **out, lx_error *err)
{
    char entity[LX_STORE_NAME_MAX + 1], id[LX_STORE_ID_SIZE];
    int rc = lx_store_xref_find(s, a[0], a[1], a[2], entity, id, err);
    if (rc != 0)
        return rc;
    json_t *rec = NULL;
    lx_record_meta m;
    rc = lx_store_get(s, entity, id, &rec, &m, err);
    if (rc == 0)
        *out = record_view(s, entity, id, rec, &m);
    return rc;
}

int lx_cli_xref(int argc, char **argv)
{
    return run_read(argc, argv,
                    "usage: lingua xref SYSTEM NATIVE_TYPE NATIVE_ID "
                    "[--data-dir DIR | --config FILE]\n\nFind the canonical "
                    "record a native id is linked to, and print it\nwith all "
                    "its cross-references.\n",
                    3, do_xref);
}

/* ---- events ---- */

static const char events_usage[] =
    "usage: lingua events [--from SEQ] [--limit N] [--follow]\n"
    "\n"
    "Print events from the event log, one JSON object per line, in sequence\n"
    "order. Without --follow the log is read from the data directory and the\n"
    "command ends at its last event. With --follow it connects to the hub\n"
    "(--hub/--pub or --config), replays from SEQ, then prints live events as\n"
    "they are published, filling any gap by replay, until interrupted.\n"
    "\n"
    "  --from SEQ    first sequence number (default 1)\n"
    "  --limit N     stop after N events\n"
    "  --follow      keep printing new events\n"
    "  --hub EP      the hub's ROUTER endpoint (default from --config)\n"
    "  --pub EP      the hub's PUB endpoint (default from --config)\n";

typedef struct print_ctx {
    uint64_t limit, printed, last;
} print_ctx;

static int print_event(void *ctx, uint64_t seq, const char *event, size_t len)
{
    print_ctx *p = ctx;
    fwrite(event, 1, len, stdout);
    fputc('\n', stdout);
    p->printed++;
    p->last = seq;
    return p->limit && p->printed >= p->limit;
}

static volatile sig_atomic_t follow_stop;
static void on_interrupt(int sig)
{
    (void)sig;
    follow_stop = 1;
}

static int follow(const lx_config *cfg, const char *router, const char *pub,
                  uint64_t from, print_ctx *p)
{
    lx_error err;
    lx_error_clear(&err);
    lx_bus_client *cl = NULL;
    lx_bus_sub *sub = NULL;
    lx_bus_keypair kp;
    lx_bus_client_keys ck;
    const lx_bus_client_keys *keys = NULL;
    if (lx_cli_bus_keys(cfg, &kp, &ck, &keys, &err) != 0)
        return lx_cli_fail("cannot use the hub's bus key", &err);
    /* Subscribe first, then replay: whatever is published meanwhile is
     * either in the replay or arrives live (duplicates are skipped). */
    if (lx_bus_sub_open_keys(pub, "", keys, &sub, &err) != 0 ||
        lx_bus_client_open_keys(router, keys, &cl, &err) != 0) {
        lx_bus_sub_close(&sub);
        return lx_cli_fail("cannot connect to the hub", &err);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int rc = 0;
    uint64_t next = from;
    p->last = from ? from - 1 : 0;
    if (lx_bus_client_replay(cl, next, 1000, HUB_TIMEOUT_MS, print_event, p,
                             &next, &err) != 0)
        rc = lx_cli_fail("replay", &err);
    fflush(stdout);
    while (rc == 0 && !follow_stop && !(p->limit && p->printed >= p->limit)) {
        char *payload = NULL, topic[128];
        size_t len = 0;
        int r = lx_bus_sub_recv(sub, 500, topic, sizeof(topic), &payload,
                                &len, &err);
        if (r == LX_ETIMEOUT)
            continue;
        if (r != 0) {
            rc = lx_cli_fail("event stream", &err);
            break;
        }
        json_t *e = json_loadb(payload, len, 0, NULL);
        bool beat = strcmp(topic, LX_HUB_HEARTBEAT_TOPIC) == 0;
        uint64_t seq = (uint64_t)json_integer_value(
            json_object_get(e, beat ? "last_seq" : "seq"));
        json_decref(e);
        if (beat) {
            /* The heartbeat says how far the log goes: a tail that PUB
             * dropped is replayed now rather than at the next event. */
            if (seq > p->last) {
                next = p->last + 1;
                if (lx_bus_client_replay(cl, next, 1000, HUB_TIMEOUT_MS,
                                         print_event, p, &next, &err) != 0)
                    rc = lx_cli_fail("replay", &err);
            }
        } else if (seq > p->last + 1) {
            /* A gap: PUB dropped something. The log has it. */
            next = p->last + 1;
            if (lx_bus_client_replay(cl, next, 1000, HUB_TIMEOUT_MS,
                                     print_event, p, &next, &err) != 0)
                rc = lx_cli_fail("replay", &err);
        } else if (seq == p->last + 1) {
            print_event(p, seq, payload, len);
        }
        free(payload);
        fflush(stdout);
    }
    lx_bus_client_close(&cl);
    lx_bus_sub_close(&sub);
    return rc;
}

int lx_cli_events(int argc, char **argv)
{
    enum { O_FROM = 1, O_LIMIT, O_FOLLOW };
    static const struct option opts[] = {
        {"from", required_argument, NULL, O_FROM},
        {"limit", required_argument, NULL, O_LIMIT},
        {"follow", no_argument, NULL, O_FOLLOW},
        TARGET_OPTIONS,
        {NULL, 0, NULL, 0}};
    lx_cli_target t = {0};
    uint64_t from = 1;
    print_ctx p = {0, 0, 0};
    int c, follow_mode = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (target_option(&t, c))
            continue;
        char *end = NULL;
        switch (c) {
        case O_FROM:
        case O_LIMIT: {
            unsigned long long v = strtoull(optarg, &end, 10);
            if (!*optarg || *end || optarg[0] == '-') {
                fprintf(stderr, "lingua: events: --%s needs a number\n",
                        c == O_FROM ? "from" : "limit");
                return LX_EXIT_USAGE;
            }
            if (c == O_FROM)
                from = v;
            else
                p.limit = v;
            break;
        }
        case O_FOLLOW: follow_mode = 1; break;
        case OPT_HELP: printf("%s\n%s", events_usage, target_help); return 0;
        default: fputs(events_usage, stderr); return LX_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fputs(events_usage, stderr);
        return LX_EXIT_USAGE;
    }
    lx_config *cfg = NULL;
    int rc = load_config(&t, &cfg);
    if (rc)
        return rc;
    if (follow_mode) {
        const char *router = t.hub ? t.hub : cfg ? cfg->bus_router : NULL;
        const char *pub = t.pub ? t.pub : cfg ? cfg->bus_pub : NULL;
        if (!router)
            router = LX_CONFIG_ROUTER_DEFAULT;
        if (!pub)
            pub = LX_CONFIG_PUB_DEFAULT;
        rc = follow(cfg, router, pub, from, &p);
    } else {
        lx_store *store = NULL;
        rc = open_store(&t, cfg, true, &store);
        lx_error err;
        lx_error_clear(&err);
        if (rc == 0 && lx_store_events(store, from, p.limit, print_event, &p,
                                       NULL, &err) != 0)
            rc = lx_cli_fail("events", &err);
        lx_store_close(&store);
    }
    lx_config_destroy(&cfg);
    return rc;
}

/* ---- schema validate ---- */

static const char schema_usage[] =
    "usage: lingua schema validate ENTITY FILE [--schemas DIR | --config "
    "FILE]\n"
    "\n"
    "Validate a canonical record (FILE, - for stdin) against the latest\n"
    "schema of ENTITY. Prints every violation with the JSON pointer of the\n"
    "field and of the schema rule; exit 0 when valid, 1 when not.\n"
    "Schemas: --schemas, the configuration's \"schemas\", $LINGUA_SCHEMAS,\n"
    "or the installed ones.\n";

int lx_cli_schema(int argc, char **argv)
{
    static const struct option opts[] = {TARGET_OPTIONS, {NULL, 0, NULL, 0}};
    lx_cli_target t = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (target_option(&t, c))
            continue;
        if (c == OPT_HELP) {
            fputs(schema_usage, stdout);
            return LX_EXIT_OK;
        }
        fputs(schema_usage, stderr);
        return LX_EXIT_USAGE;
    }
    if (argc - optind != 3 || strcmp(argv[optind], "validate") != 0) {
        fputs(schema_usage, stderr);
        return LX_EXIT_USAGE;
    }
    const char *entity = argv[optind + 1], *file = argv[optind + 2];
    lx_config *cfg = NULL;
    lx_registry *reg = NULL;
    int rc = load_config(&t, &cfg);
    if (rc == 0)
        rc = load_registry(&t, cfg, &reg);
    json_t *rec = NULL;
    if (rc == 0)
        rc = read_json(file, cfg ? cfg->max_payload : LX_JSON_MAX_DEFAULT,
                       &rec);
    const lx_schema *schema = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (rc == 0 && lx_registry_get(reg, entity, NULL, &schema, &err) != 0)
        rc = lx_cli_fail("schema", &err);
    if (rc == 0) {
        enum { MAX = 64 };
        lx_schema_issue issues[MAX];
        size_t count = 0;
        int v = lx_schema_validate_all(schema, rec, issues, MAX, &count, &err);
        if (v == 0) {
            printf("%s: valid %s (%s)\n", file, entity,
                   lx_schema_name(schema));
        } else {
            for (size_t i = 0; i < count && i < MAX; i++)
                printf("%s: %s: %s (schema %s)\n", file,
                       issues[i].instance_ptr[0] ? issues[i].instance_ptr
                                                 : "(root)",
                       issues[i].msg, issues[i].keyword_ptr);
            if (count > MAX)
                printf("%s: ... and %zu more\n", file, count - MAX);
            if (v != LX_ESCHEMA)
                lx_cli_fail("validate", &err);
            rc = LX_EXIT_DATA;
        }
    }
    json_decref(rec);
    lx_registry_destroy(&reg);
    lx_config_destroy(&cfg);
    return rc;
}
