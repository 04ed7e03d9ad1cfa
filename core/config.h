/* core/config.h: the appliance configuration (one JSON file).
 *
 * Loading validates the whole file and either returns a complete
 * configuration or an error located at file:line:column (syntax errors,
 * unknown keys, wrong types, bad values), so a reload can keep the old
 * configuration when the new one does not validate. Relative paths in the
 * file are resolved against the file's own directory.
 *
 *   {"data_dir": "/var/lib/lingua",
 *    "http": {"listen": "127.0.0.1:8080"},
 *    "bus": {"pub": "tcp://127.0.0.1:5560", "router": "tcp://127.0.0.1:5561",
 *            "curve": {"key_file": "hub-bus.key", "clients": {"crm": "<key>"}}},
 *    "schemas": "schemas/canonical",
 *    "limits": {"max_payload": 16777216},
 *    "store": {"map_size_mb": 64, "sync": true, "max_batch": 1024},
 *    "log": {"level": "info", "format": "text"},
 *    "trace": {"retention_hours": 72},
 *    "security": {"api_token_env": "LINGUA_API_TOKEN"},
 *    "systems": {"hr": {...}, "ehr": {}},
 *    "adapters": [{"name": "hr-in", "system": "hr", ...}]}
 *
 * Only data_dir is required. */
#ifndef LX_CORE_CONFIG_H
#define LX_CORE_CONFIG_H

#include "core/error.h"
#include "core/log.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define LX_CONFIG_PUB_DEFAULT "tcp://127.0.0.1:5560"
#define LX_CONFIG_ROUTER_DEFAULT "tcp://127.0.0.1:5561"
#define LX_CONFIG_HTTP_DEFAULT "127.0.0.1:8080"

typedef struct lx_config {
    char *path;         /* the file as given */
    char *dir;          /* its directory: base of relative paths */
    char *data_dir;     /* absolute or relative to the cwd, resolved */
    char *schemas_dir;  /* resolved; default "<dir>/../../schemas/canonical"
                           is NOT assumed: NULL when absent */
    char *http_listen;  /* host:port */
    char *bus_pub;      /* ZeroMQ endpoint */
    char *bus_router;   /* ZeroMQ endpoint */
    char *bus_key_file; /* bus.curve.key_file, resolved: the hub's CURVE
                           keypair, or NULL (a plain bus) */
    json_t *bus_clients;/* borrowed from root: bus.curve.clients, name ->
                           public key (validated), or NULL */
    size_t max_payload; /* bytes, default LX_JSON_MAX_DEFAULT */
    size_t map_size;    /* initial LMDB map size in bytes (default 64 MiB) */
    size_t max_map_size;/* growth ceiling in bytes, 0 = the store's default
                           (1 TiB): store.max_size_mb */
    bool sync;          /* fsync on commit (default true) */
    bool durability_lmdb; /* store.durability "lmdb": LMDB syncs each
                             commit; default "wal" (docs/store.md) */
    size_t max_batch;   /* upserts per group commit (default 1024) */
    char *api_token;    /* bearer token of HTTP write requests, or NULL:
                           from "security": {"api_token_env": NAME} */
    unsigned trace_retention_hours; /* message traces kept (default 72;
                                       0 = no traces) */
    lx_log_level log_level;
    lx_log_format log_format;
    json_t *systems;    /* borrowed from root: object, may be empty (an
                           empty one is added to root when absent) */
    json_t *adapters;   /* borrowed from root: array, may be empty (same) */
    json_t *partners;   /* borrowed from root: object of objects (EDI
                           trading partners, docs/edi-partners.md), or NULL
                           when absent */
    json_t *root;       /* the whole document (owned) */
} lx_config;

/* Ceiling of the configuration file. */
#define LX_CONFIG_MAX_LEN ((size_t)4 << 20)

/* Load and validate `path`. On success *out is a new configuration the
 * caller destroys. Errors: LX_EIO, LX_ELIMIT (file over LX_CONFIG_MAX_LEN),
 * LX_ESYNTAX (jansson's line/column), LX_ECONFIG, each with err->where =
 * path and line/column of the offending value (see lx_json_locate: for an
 * unknown or misspelt key that is the key's value, for a missing key the
 * object that lacks it). LX_ECONFIG messages start with the JSON pointer,
 * "(root)" for the document itself:
 *   /store/map_size_mb: must be an integer from 1 to 1048576
 * The rules: unknown keys at the top level and in http, bus, limits, store
 * and log are errors (the contents of systems and adapters belong to the
 * adapters); data_dir is a non-empty string; http.listen is host:port
 * ("[::1]:8080" for IPv6) with a port from 1 to 65535; bus.pub and
 * bus.router start with tcp://, ipc:// or inproc:// and differ;
 * bus.curve has a string key_file and clients whose values are CURVE
 * public keys (lx_bus_key_valid);
 * limits.max_payload is 1 KiB..1 GiB; store.map_size_mb and
 * store.max_size_mb 1..1048576;
 * store.max_batch 1..65536; store.sync a boolean; store.durability "wal"
 * or "lmdb"; log.level and log.format
 * are names (lx_log_parse_level, lx_log_parse_format); systems and
 * partners are objects of objects (a partner's contents are the EDI
 * adapter's to validate); adapters is an array of objects, each with a non-empty string
 * "name" unique among adapters and a string "system" naming a member of
 * systems. Strings may not contain "\u0000".
 * Touches no global state: safe to call from any thread. */
LX_NODISCARD int lx_config_load(const char *path, lx_config **out,
                                lx_error *err);

/* A path from the configuration, resolved as the file's own paths are:
 * absolute as it is, else relative to the file's directory (cfg->dir).
 * Written into buf[size] (cut to fit); returns buf, or NULL when p is
 * NULL (nothing configured). */
const char *lx_config_path(const lx_config *cfg, const char *p, char *buf,
                           size_t size);

/* Destroy *cfg (NULL is fine) and set it to NULL. */
void lx_config_destroy(lx_config **cfg);

#endif
