/* appliance/cli_dlq.c: `lingua dlq` and `lingua replay`: the operator's
 * handles on deliveries. They write requests into the store's state,
 * which the running hub's delivery threads pick up within a second (and a
 * hub started later, at once). */
#include "appliance/cli.h"
#include "canonical/store.h"
#include "core/config.h"
#include "core/json.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define DATA_DIR_DEFAULT "/var/lib/lingua"

static const char dlq_usage[] =
    "usage: lingua dlq list [--subscriber NAME]\n"
    "       lingua dlq show NAME SEQ\n"
    "       lingua dlq replay NAME (SEQ | --all)\n"
    "       lingua dlq drop NAME (SEQ | --all)\n"
    "       (each with --data-dir DIR or --config FILE)\n"
    "\n"
    "Dead letters are events an outbound adapter instance (NAME) could not\n"
    "deliver: the target refused them (4xx) or kept failing past the retry\n"
    "limit. Each keeps the reason, the request and the start of the last\n"
    "response. 'replay' asks the running hub to deliver it again (within a\n"
    "second); 'drop' forgets it.\n";

static const char replay_usage[] =
    "usage: lingua replay --subscriber NAME --from SEQ [--data-dir DIR | "
    "--config FILE]\n"
    "\n"
    "Deliver every event from SEQ on to the outbound adapter instance NAME\n"
    "again (its cursor is moved back; the running hub acts within a second).\n";

typedef struct where {
    const char *data_dir, *config;
} where;

int lx_cli_state_store(const char *data_dir, const char *config,
                       bool read_only, lx_store **out)
{
    where wh = {.data_dir = data_dir, .config = config};
    const where *w = &wh;
    lx_config *cfg = NULL;
    lx_error err;
    lx_error_clear(&err);
    const char *dir = w->data_dir;
    if (!dir && w->config) {
        if (lx_config_load(w->config, &cfg, &err) != 0) {
            lx_cli_fail("invalid configuration", &err);
            return LX_EXIT_ENV;
        }
        dir = cfg->data_dir;
    }
    if (!dir)
        dir = getenv("LINGUA_DATA_DIR");
    if (!dir || !*dir)
        dir = DATA_DIR_DEFAULT;
    lx_store_options o = {.dir = dir, .read_only = read_only};
    int rc = lx_store_open(&o, out, &err);
    lx_config_destroy(&cfg);
    if (rc != 0) {
        lx_cli_fail("cannot open the store", &err);
        return LX_EXIT_ENV;
    }
    return 0;
}

/* Parse the shared options; positional arguments are left in argv from
 * optind on. Returns -1 after --help. */
static int options(int argc, char **argv, const char *usage, where *w,
                   const char **subscriber, const char **from, bool *all)
{
    enum { O_DATA = 1, O_CONFIG, O_SUB, O_FROM, O_ALL, O_HELP };
    static const struct option opts[] = {
        {"data-dir", required_argument, NULL, O_DATA},
        {"config", required_argument, NULL, O_CONFIG},
        {"subscriber", required_argument, NULL, O_SUB},
        {"from", required_argument, NULL, O_FROM},
        {"all", no_argument, NULL, O_ALL},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_DATA: w->data_dir = optarg; break;
        case O_CONFIG: w->config = optarg; break;
        case O_SUB: *subscriber = optarg; break;
        case O_FROM: *from = optarg; break;
        case O_ALL: *all = true; break;
        case O_HELP: fputs(usage, stdout); return -1;
        default: fputs(usage, stderr); return LX_EXIT_USAGE;
        }
    }
    return 0;
}

static bool valid_seq(const char *s, unsigned long long *out)
{
    char *end = NULL;
    if (!s || !*s || *s == '-')
        return false;
    *out = strtoull(s, &end, 10);
    return *end == '\0' && *out > 0;
}

typedef struct listing {
    json_t *items;
} listing;

static int add_item(void *ctx, const char *key, const char *value,
                    size_t len)
{
    (void)key;
    listing *l = ctx;
    json_t *o = json_loadb(value, len, 0, NULL);
    if (o)
        json_array_append_new(l->items, o);
    return 0;
}

static int set_state(lx_store *s, const char *key, const char *state)
{
    char *value = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (lx_store_state_get(s, key, &value, NULL, &err) != 0)
        return lx_cli_fail("dead letter", &err);
    json_t *o = json_loads(value, 0, NULL);
    free(value);
    json_object_set_new(o, "state", json_string(state));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    int rc = lx_store_state_put(s, key, text, strlen(text), &err);
    free(text);
    return rc ? lx_cli_fail("dead letter", &err) : 0;
}

int lx_cli_dlq(int argc, char **argv)
{
    where w = {NULL, NULL};
    const char *subscriber = NULL, *from = NULL;
    bool all = false;
    int rc = options(argc, argv, dlq_usage, &w, &subscriber, &from, &all);
    if (rc)
        return rc < 0 ? LX_EXIT_OK : rc;
    int n = argc - optind;
    const char *verb = n > 0 ? argv[optind] : "";
    const char *name = n > 1 ? argv[optind + 1] : NULL;
    const char *seq_text = n > 2 ? argv[optind + 2] : NULL;
    bool is_list = strcmp(verb, "list") == 0 && n == 1;
    bool is_show = strcmp(verb, "show") == 0 && n == 3;
    bool is_replay = strcmp(verb, "replay") == 0 &&
                     (n == 3 || (n == 2 && all));
    bool is_drop = strcmp(verb, "drop") == 0 && (n == 3 || (n == 2 && all));
    unsigned long long seq = 0;
    if ((!is_list && !is_show && !is_replay && !is_drop) ||
        (seq_text && !valid_seq(seq_text, &seq)) ||
        (name && (strchr(name, '/') || strlen(name) > 64))) {
        fputs(dlq_usage, stderr);
        return LX_EXIT_USAGE;
    }
    lx_store *s = NULL;
    if ((rc = lx_cli_state_store(w.data_dir, w.config, is_list || is_show, &s)) != 0)
        return rc;
    char key[LX_STORE_KEY_MAX + 1];
    lx_error err;
    lx_error_clear(&err);
    if (is_list || ((is_replay || is_drop) && all)) {
        const char *who = is_list ? subscriber : name;
        snprintf(key, sizeof(key), "dlq/%s%s", who ? who : "", who ? "/" : "");
        listing l = {json_array()};
        if (lx_store_state_list(s, key, add_item, &l, &err) != 0) {
            rc = lx_cli_fail("dead letters", &err);
        } else if (is_list) {
            size_t i;
            json_t *o;
            if (json_array_size(l.items) == 0)
                printf("no dead letters\n");
            json_array_foreach(l.items, i, o)
            {
                printf("%-16s seq %-8lld %-18s %-6s %s\n",
                       lx_json_str(o, "instance"),
                       (long long)json_integer_value(json_object_get(o, "seq")),
                       lx_json_str(o, "type"), lx_json_str(o, "state"),
                       lx_json_str(o, "reason"));
            }
        } else {
            size_t i;
            json_t *o;
            json_array_foreach(l.items, i, o)
            {
                snprintf(key, sizeof(key), "dlq/%s/%020lld", name,
                         (long long)json_integer_value(json_object_get(o, "seq")));
                rc = is_drop ? (lx_store_state_del(s, key, &err) != 0
                                    ? lx_cli_fail("drop", &err)
                                    : 0)
                             : set_state(s, key, "replay");
                if (rc)
                    break;
            }
            if (rc == 0)
                printf("%s %zu dead letter(s) of %s\n",
                       is_drop ? "dropped" : "queued for replay",
                       json_array_size(l.items), name);
        }
        json_decref(l.items);
    } else {
        snprintf(key, sizeof(key), "dlq/%s/%020llu", name, seq);
        if (is_show) {
            char *value = NULL;
            if (lx_store_state_get(s, key, &value, NULL, &err) != 0) {
                rc = lx_cli_fail("dead letter", &err);
            } else {
                json_t *o = json_loads(value, 0, NULL);
                lx_cli_print_json(stdout, o, 0);
                json_decref(o);
                free(value);
            }
        } else if (is_replay) {
            rc = set_state(s, key, "replay");
            if (rc == 0)
                printf("dead letter %llu of %s queued for replay\n", seq,
                       name);
        } else {
            char *value = NULL;
            if (lx_store_state_get(s, key, &value, NULL, &err) != 0) {
                rc = lx_cli_fail("dead letter", &err);
            } else if (lx_store_state_del(s, key, &err) != 0) {
                rc = lx_cli_fail("drop", &err);
            } else {
                printf("dead letter %llu of %s dropped\n", seq, name);
            }
            free(value);
        }
    }
    lx_store_close(&s);
    return rc;
}

int lx_cli_replay(int argc, char **argv)
{
    where w = {NULL, NULL};
    const char *subscriber = NULL, *from = NULL;
    bool all = false;
    int rc = options(argc, argv, replay_usage, &w, &subscriber, &from, &all);
    if (rc)
        return rc < 0 ? LX_EXIT_OK : rc;
    unsigned long long seq = 0;
    if (!subscriber || !valid_seq(from, &seq) || optind != argc || all ||
        strchr(subscriber, '/') || strlen(subscriber) > 64) {
        fputs(replay_usage, stderr);
        return LX_EXIT_USAGE;
    }
    lx_store *s = NULL;
    if ((rc = lx_cli_state_store(w.data_dir, w.config, false, &s)) != 0)
        return rc;
    char key[LX_STORE_KEY_MAX + 1], value[32];
    snprintf(key, sizeof(key), "replay/%s", subscriber);
    int n = snprintf(value, sizeof(value), "%llu", seq);
    lx_error err;
    lx_error_clear(&err);
    if (lx_store_state_put(s, key, value, (size_t)n, &err) != 0)
        rc = lx_cli_fail("replay", &err);
    else
        printf("%s will receive the events from %llu on again\n", subscriber,
               seq);
    lx_store_close(&s);
    return rc;
}
