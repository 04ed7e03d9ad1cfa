/* core/config.c: see config.h.
 *
 * The file is read once into memory and parsed from there, so that every
 * semantic error can be located in the very text jansson parsed
 * (lx_json_locate). Validation walks the members in document order and
 * stops at the first error, which is therefore the first one in the file. */
#include "core/config.h"
#include "core/bus.h"
#include "core/json.h"
#include "core/mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

/* Ceiling of a JSON pointer in this file; deeper or longer names are cut,
 * which only costs the line/column of the error. */
#define PTR_MAX 512

#define MAP_SIZE_MB_MAX 1048576       /* 1 TiB */
#define MAX_BATCH_MAX 65536
#define MAX_PAYLOAD_MIN 1024          /* 1 KiB */
#define MAX_PAYLOAD_MAX (1024 * 1024 * 1024) /* 1 GiB */
#define MAP_SIZE_DEFAULT ((size_t)64 << 20)
#define MAX_BATCH_DEFAULT 1024

typedef struct loader {
    const char *path;
    const char *text; /* the file as parsed, for lx_json_locate */
    size_t len;
    lx_config *cfg;
    lx_error *err;
    bool has_router; /* bus.router came from the file */
} loader;

/* Copy a pointer or key for a message: control characters become '?' so a
 * message stays one line; "" (the root pointer) reads "(root)". */
static void display(char *out, size_t size, const char *s, bool is_pointer)
{
    if (is_pointer && s[0] == '\0')
        s = "(root)";
    size_t n = 0;
    for (; *s && n + 1 < size; s++, n++) {
        unsigned char c = (unsigned char)*s;
        out[n] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    out[n] = '\0';
}

/* Fail with LX_ECONFIG: "<pointer>: <message>" at path:line:column of the
 * value at pointer. */
static int fail(const loader *ld, const char *ptr, const char *fmt, ...)
    LX_PRINTF(3, 4);

static int fail(const loader *ld, const char *ptr, const char *fmt, ...)
{
    char what[LX_ERROR_MSG_MAX];
    char shown[PTR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    display(shown, sizeof(shown), ptr, true);
    long line = 0, column = 0;
    if (lx_json_locate(ld->text, ld->len, ptr, &line, &column) != 0) {
        line = 0;
        column = 0;
    }
    lx_error_set(ld->err, LX_ECONFIG, "%s: %s", shown, what);
    lx_error_at(ld->err, ld->path, line, column);
    return LX_ECONFIG;
}

static int fail_unknown(const loader *ld, const char *ptr, const char *key)
{
    char shown[PTR_MAX];
    display(shown, sizeof(shown), key, false);
    return fail(ld, ptr, "unknown key '%s'", shown);
}

static void child(char *out, const char *parent, const char *key)
{
    snprintf(out, PTR_MAX, "%s", parent);
    lx_json_pointer_append(out, PTR_MAX, key);
}

static void child_index(char *out, const char *parent, size_t index)
{
    snprintf(out, PTR_MAX, "%s", parent);
    lx_json_pointer_append_index(out, PTR_MAX, index);
}

/* A non-empty string without "\u0000" (jansson keeps those, C strings would
 * silently end there). */
static int get_string(const loader *ld, const json_t *v, const char *ptr,
                      const char **out)
{
    if (!json_is_string(v) || json_string_length(v) == 0)
        return fail(ld, ptr, "must be a non-empty string");
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v))
        return fail(ld, ptr, "must not contain \\u0000");
    *out = s;
    return 0;
}

static int get_int(const loader *ld, const json_t *v, const char *ptr,
                   json_int_t lo, json_int_t hi, json_int_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi)
        return fail(ld, ptr, "must be an integer from %" JSON_INTEGER_FORMAT
                             " to %" JSON_INTEGER_FORMAT,
                    lo, hi);
    *out = json_integer_value(v);
    return 0;
}

static int get_object(const loader *ld, const json_t *v, const char *ptr)
{
    return json_is_object(v) ? 0 : fail(ld, ptr, "must be an object");
}

/* dir + "/" + rel unless rel is absolute. */
static char *resolve(const char *dir, const char *rel)
{
    if (rel[0] == '/')
        return lx_xstrdup(rel);
    size_t dir_len = strlen(dir), rel_len = strlen(rel);
    char *s = lx_xmalloc(dir_len + 1 + rel_len + 1);
    memcpy(s, dir, dir_len);
    s[dir_len] = '/';
    memcpy(s + dir_len + 1, rel, rel_len + 1);
    return s;
}

const char *lx_config_path(const lx_config *cfg, const char *p, char *buf,
                           size_t size)
{
    if (p == NULL)
        return NULL;
    if (p[0] == '/')
        snprintf(buf, size, "%s", p);
    else
        snprintf(buf, size, "%s/%s", cfg->dir, p);
    return buf;
}

/* The directory part of path: "conf/lingua.json" -> "conf",
 * "lingua.json" -> ".", "/lingua.json" -> "/". */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return lx_xstrdup(".");
    size_t n = (size_t)(slash - path);
    while (n > 0 && path[n - 1] == '/')
        n--;
    if (n == 0)
        return lx_xstrdup("/");
    return lx_xstrndup(path, n);
}

/* Decimal port 1..65535, digits only (strtol alone would take " +80"). */
static bool valid_port(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    char *end = NULL;
    errno = 0;
    long port = strtol(s, &end, 10);
    return errno == 0 && end == s + n && port >= 1 && port <= 65535;
}

/* host:port where host is a name, an IPv4 address or a bracketed IPv6
 * address with an optional zone: "127.0.0.1:8080", "[fe80::1%eth0]:80". */
static bool valid_listen(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || !valid_port(colon + 1))
        return false;
    size_t host_len = (size_t)(colon - s);
    bool bracketed = s[0] == '[';
    if (bracketed) {
        if (host_len < 3 || s[host_len - 1] != ']')
            return false;
        s++;
        host_len -= 2;
    }
    for (size_t i = 0; i < host_len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = isalnum(c) || c == '.' || c == '-' || c == '_' ||
                  (bracketed && (c == ':' || c == '%'));
        if (!ok)
            return false;
    }
    return true;
}

/* ZeroMQ transports the bus may bind (zmq_tcp(7), zmq_ipc(7),
 * zmq_inproc(7)), with something after the "://". */
/* Whether a ZeroMQ endpoint only takes connections from this machine:
 * ipc and inproc, or tcp on a loopback address. */
static bool endpoint_is_local(const char *s)
{
    if (strncmp(s, "tcp://", 6) != 0)
        return true;
    const char *host = s + 6;
    static const char *const local[] = {"127.", "localhost:", "[::1]:",
                                        "lo:"};
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
        if (strncmp(host, local[i], strlen(local[i])) == 0)
            return true;
    return false;
}

static bool valid_endpoint(const char *s)
{
    static const char *const prefixes[] = {"tcp://", "ipc://", "inproc://"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(s, prefixes[i], n) != 0 || s[n] == '\0')
            continue;
        for (const char *p = s + n; *p; p++)
            if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
                return false;
        return true;
    }
    return false;
}

static int load_http(loader *ld, json_t *obj, const char *ptr)
{
    int rc = get_object(ld, obj, ptr);
    if (rc)
        return rc;
    const char *key;
    json_t *v;
    char at[PTR_MAX];
    json_object_foreach(obj, key, v) {
        child(at, ptr, key);
        if (strcmp(key, "listen") == 0) {
            const char *s = NULL;
            if ((rc = get_string(ld, v, at, &s)))
                return rc;
            if (!valid_listen(s))
                return fail(ld, at, "must be host:port with a port from 1 "
                                    "to 65535");
            free(ld->cfg->http_listen);
            ld->cfg->http_listen = lx_xstrdup(s);
        } else {
            return fail_unknown(ld, at, key);
        }
    }
    return 0;
}

/* "curve": {"key_file": "hub-bus.key", "clients": {"name": "<key>"}}
 * (docs/bus.md "Security"). The key file itself is read by the hub, which
 * can say what is wrong with it; here only its path. */
static int load_bus_curve(loader *ld, json_t *obj, const char *ptr)
{
    int rc = get_object(ld, obj, ptr);
    if (rc)
        return rc;
    const char *key;
    json_t *v;
    char at[PTR_MAX];
    json_object_foreach(obj, key, v) {
        child(at, ptr, key);
        if (strcmp(key, "key_file") == 0) {
            const char *s = NULL;
            if ((rc = get_string(ld, v, at, &s)))
                return rc;
            free(ld->cfg->bus_key_file);
            ld->cfg->bus_key_file = resolve(ld->cfg->dir, s);
        } else if (strcmp(key, "clients") == 0) {
            if ((rc = get_object(ld, v, at)))
                return rc;
            const char *name;
            json_t *k;
            char kat[PTR_MAX];
            json_object_foreach(v, name, k) {
                child(kat, at, name);
                if (!*name)
                    return fail(ld, kat, "a client needs a name");
                if (!lx_bus_key_valid(json_string_value(k)))
                    return fail(ld, kat,
                                "must be the client's CURVE public key (40 "
                                "characters of Z85 text, as printed by "
                                "'lingua bus keygen')");
            }
            ld->cfg->bus_clients = v;
        } else {
            return fail_unknown(ld, at, key);
        }
    }
    if (!ld->cfg->bus_key_file)
        return fail(ld, ptr, "missing required key 'key_file' (the hub's "
                             "keypair: 'lingua bus keygen FILE' makes one)");
    return 0;
}

static int load_bus(loader *ld, json_t *obj, const char *ptr)
{
    int rc = get_object(ld, obj, ptr);
    if (rc)
        return rc;
    const char *key;
    json_t *v;
    char at[PTR_MAX];
    json_object_foreach(obj, key, v) {
        child(at, ptr, key);
        char **slot;
        if (strcmp(key, "curve") == 0) {
            if ((rc = load_bus_curve(ld, v, at)))
                return rc;
            continue;
        }
        if (strcmp(key, "pub") == 0) {
            slot = &ld->cfg->bus_pub;
        } else if (strcmp(key, "router") == 0) {
            slot = &ld->cfg->bus_router;
            ld->has_router = true;
        } else {
            return fail_unknown(ld, at, key);
        }
        const char *s = NULL;
        if ((rc = get_string(ld, v, at, &s)))
            return rc;
        if (!valid_endpoint(s))
            return fail(ld, at, "must be a ZeroMQ endpoint starting with "
                                "tcp://, ipc:// or inproc://");
        free(*slot);
        *slot = lx_xstrdup(s);
    }
    return 0;
}

static int load_limits(loader *ld, json_t *obj, const char *ptr)
{
    int rc = get_object(ld, obj, ptr);
    if (rc)
        return rc;
    const char *key;
    json_t *v;
    char at[PTR_MAX];
    json_object_foreach(obj, key, v) {
        child(at, ptr, key);
        if (strcmp(key, "max_payload") == 0) {
            json_int_t n = 0;
            if ((rc = get_int(ld, v, at, MAX_PAYLOAD_MIN, MAX_PAYLOAD_MAX,
                              &n)))
                return rc;
            ld->cfg->max_payload = (size_t)n;
        } else {
            return fail_unknown(ld, at, key);
        }
    }
    return 0;
}

static int load_store(loader *ld, json_t *obj, const char *ptr)
{
    int rc = get_object(ld, obj, ptr);
    if (rc)
        return rc;
    const char *key;
    json_t *v;
    char at[PTR_MAX];
    json_object_foreach(obj, key, v) {
        child(at, ptr, key);
        json_int_t n = 0;
        if (strcmp(key, "map_size_mb") == 0) {
            if ((rc = get_int(ld, v, at, 1, MAP_SIZE_MB_MAX, &n)))
                return rc;
            if ((uint64_t)n > (SIZE_MAX >> 20))
                return fail(ld, at, "too large for this platform");
            ld->cfg->map_size = (size_t)n << 20;
        } else if (strcmp(key, "max_size_mb") == 0) {
            /* The ceiling the map may grow to: past it writes are refused
             * (LX_EFULL) instead of filling the disk. */
            if ((rc = get_int(ld, v, at, 1, MAP_SIZE_MB_MAX, &n)))
                return rc;
            if ((uint64_t)n > (SIZE_MAX >> 20))
                return fail(ld, at, "too large for this platform");
            ld->cfg->max_map_size = (size_t)n << 20;
        } else if (strcmp(key, "max_batch") == 0) {
            if ((rc = get_int(ld, v, at, 1, MAX_BATCH_MAX, &n)))
                return rc;
            ld->cfg->max_batch = (size_t)n;
        } else if (strcmp(key, "sync") == 0) {
            if (!json_is_boolean(v))
                return fail(ld, at, "must be true or false");
            ld->cfg->sync = json_is_true(v);
        } else if (strcmp(key, "durability") == 0) {
            const char *d = json_string_value(v);
            if (!d || (strcmp(d, "wal") != 0 && strcmp(d, "lmdb") != 0))
                return fail(ld, at, "must be \"wal\" or \"lmdb\"");
            ld->cfg->durability_lmdb = strcmp(d, "lmdb") == 0;
        } else {
            return fail_unknown(ld, at, key);
        }
    }
    return 0;
}

static int load_trace(loader *ld, json_t *obj, const char *ptr)
{
    int rc = get_object(ld, obj, ptr);
    if (rc)
        return rc;
    const char *key;
    json_t *v;
    char at[PTR_MAX];
    json_object_foreach(obj, key, v) {
        child(at, ptr, key);
        json_int_t n = 0;
        if (strcmp(key, "retention_hours") == 0) {
            if ((rc = get_int(ld, v, at, 0, 24 * 366, &n)))
                return rc;
            ld->cfg->trace_retention_hours = (unsigned)n;
        } else {
            return fail_unknown(ld, at, key);
        }
    }
    return 0;
}

/* "security": {"api_token_env": "LINGUA_API_TOKEN"} (or "api_token", for
 * tests: a secret in a reviewed file is a leak). */
static int load_security(loader *ld, json_t *obj, const char *ptr)
{
    int rc = get_object(ld, obj, ptr);
    if (rc)
        return rc;
    const char *key;
    json_t *v;
    char at[PTR_MAX];
    json_object_foreach(obj, key, v) {
        child(at, ptr, key);
        const char *s = NULL;
        if (strcmp(key, "api_token_env") == 0) {
            if ((rc = get_string(ld, v, at, &s)))
                return rc;
            const char *token = getenv(s);
            if (!token || strlen(token) < 16)
                return fail(ld, at, "names an environment variable that is "
                                    "not set or holds fewer than 16 "
                                    "characters");
            free(ld->cfg->api_token);
            ld->cfg->api_token = lx_xstrdup(token);
        } else if (strcmp(key, "api_token") == 0) {
            if ((rc = get_string(ld, v, at, &s)))
                return rc;
            if (strlen(s) < 16)
                return fail(ld, at, "must have at least 16 characters");
            free(ld->cfg->api_token);
            ld->cfg->api_token = lx_xstrdup(s);
        } else {
            return fail_unknown(ld, at, key);
        }
    }
    return 0;
}

static int load_log(loader *ld, json_t *obj, const char *ptr)
{
    int rc = get_object(ld, obj, ptr);
    if (rc)
        return rc;
    const char *key;
    json_t *v;
    char at[PTR_MAX];
    json_object_foreach(obj, key, v) {
        child(at, ptr, key);
        if (strcmp(key, "level") == 0) {
            if (!json_is_string(v) ||
                lx_log_parse_level(json_string_value(v), &ld->cfg->log_level,
                                   NULL) != 0)
                return fail(ld, at, "must be one of \"debug\", \"info\", "
                                    "\"warn\", \"error\", \"off\"");
        } else if (strcmp(key, "format") == 0) {
            if (!json_is_string(v) ||
                lx_log_parse_format(json_string_value(v),
                                    &ld->cfg->log_format, NULL) != 0)
                return fail(ld, at, "must be \"text\" or \"json\"");
        } else {
            return fail_unknown(ld, at, key);
        }
    }
    return 0;
}

static int load_systems(loader *ld, json_t *obj, const char *ptr)
{
    int rc = get_object(ld, obj, ptr);
    if (rc)
        return rc;
    const char *key;
    json_t *v;
    char at[PTR_MAX];
    json_object_foreach(obj, key, v) {
        child(at, ptr, key);
        if ((rc = get_object(ld, v, at)))
            return rc;
    }
    return 0;
}

/* The shape of adapters; that each system exists is checked once systems
 * has been read (it may come later in the file). The rest of an adapter's
 * object is the adapter's own to validate. */
static int load_adapters(loader *ld, json_t *arr, const char *ptr)
{
    if (!json_is_array(arr))
        return fail(ld, ptr, "must be an array of objects");
    /* name -> first index, so duplicates are found in linear time. */
    json_t *seen = json_object();
    LX_ASSERT(seen != NULL);
    int rc = 0;
    size_t i;
    json_t *a;
    char at[PTR_MAX], field[PTR_MAX];
    json_array_foreach(arr, i, a) {
        child_index(at, ptr, i);
        if ((rc = get_object(ld, a, at)))
            break;
        const char *name = NULL, *system = NULL;
        json_t *v = json_object_get(a, "name");
        child(field, at, "name");
        if (!v) {
            rc = fail(ld, at, "missing required key 'name'");
            break;
        }
        if ((rc = get_string(ld, v, field, &name)))
            break;
        json_t *first = json_object_get(seen, name);
        if (first) {
            rc = fail(ld, field, "duplicate adapter name (first used at "
                                 "%s/%" JSON_INTEGER_FORMAT ")",
                      ptr, json_integer_value(first));
            break;
        }
        json_object_set_new(seen, name, json_integer((json_int_t)i));
        v = json_object_get(a, "system");
        child(field, at, "system");
        if (!v) {
            rc = fail(ld, at, "missing required key 'system'");
            break;
        }
        if ((rc = get_string(ld, v, field, &system)))
            break;
    }
    json_decref(seen);
    return rc;
}

static int check_adapter_systems(loader *ld)
{
    size_t i;
    json_t *a;
    char at[PTR_MAX];
    json_array_foreach(ld->cfg->adapters, i, a) {
        const char *system = lx_json_str(a, "system");
        if (!json_object_get(ld->cfg->systems, system)) {
            child_index(at, "/adapters", i);
            lx_json_pointer_append(at, sizeof(at), "system");
            return fail(ld, at, "no such system in /systems");
        }
    }
    return 0;
}

static int load_root(loader *ld)
{
    lx_config *cfg = ld->cfg;
    json_t *root = cfg->root;
    if (!json_is_object(root))
        return fail(ld, "", "must be an object");

    const char *key;
    json_t *v;
    char at[PTR_MAX];
    int rc = 0;
    json_object_foreach(root, key, v) {
        child(at, "", key);
        const char *s = NULL;
        if (strcmp(key, "data_dir") == 0) {
            if ((rc = get_string(ld, v, at, &s)))
                return rc;
            cfg->data_dir = resolve(cfg->dir, s);
        } else if (strcmp(key, "schemas") == 0) {
            if ((rc = get_string(ld, v, at, &s)))
                return rc;
            cfg->schemas_dir = resolve(cfg->dir, s);
        } else if (strcmp(key, "http") == 0) {
            rc = load_http(ld, v, at);
        } else if (strcmp(key, "bus") == 0) {
            rc = load_bus(ld, v, at);
        } else if (strcmp(key, "limits") == 0) {
            rc = load_limits(ld, v, at);
        } else if (strcmp(key, "store") == 0) {
            rc = load_store(ld, v, at);
        } else if (strcmp(key, "log") == 0) {
            rc = load_log(ld, v, at);
        } else if (strcmp(key, "trace") == 0) {
            rc = load_trace(ld, v, at);
        } else if (strcmp(key, "security") == 0) {
            rc = load_security(ld, v, at);
        } else if (strcmp(key, "systems") == 0) {
            rc = load_systems(ld, v, at);
        } else if (strcmp(key, "adapters") == 0) {
            rc = load_adapters(ld, v, at);
        } else if (strcmp(key, "partners") == 0) {
            /* Same shape as systems; the EDI adapter validates the
             * profiles' contents (docs/edi-partners.md). */
            rc = load_systems(ld, v, at);
        } else {
            rc = fail_unknown(ld, at, key);
        }
        if (rc)
            return rc;
    }

    if (!cfg->data_dir)
        return fail(ld, "", "missing required key 'data_dir'");
    if (strcmp(cfg->bus_pub, cfg->bus_router) == 0) {
        if (ld->has_router)
            return fail(ld, "/bus/router", "must differ from /bus/pub");
        return fail(ld, "/bus/pub", "must differ from /bus/router");
    }
    /* DESIGN: every write path is authenticated. ROUTER takes ingests. */
    if (!cfg->bus_key_file && !endpoint_is_local(cfg->bus_router))
        return fail(ld, "/bus/router",
                    "%s can be reached from other machines but the bus has "
                    "no 'curve' security, so anyone who reaches it could "
                    "write records: add bus.curve (docs/bus.md) or listen "
                    "on 127.0.0.1",
                    cfg->bus_router);

    /* Absent collections become empty ones owned by root, so that callers
     * always get a borrowed object and array. */
    if (!json_object_get(root, "systems"))
        json_object_set_new(root, "systems", json_object());
    if (!json_object_get(root, "adapters"))
        json_object_set_new(root, "adapters", json_array());
    cfg->systems = json_object_get(root, "systems");
    cfg->adapters = json_object_get(root, "adapters");
    cfg->partners = json_object_get(root, "partners");
    LX_ASSERT(json_is_object(cfg->systems) && json_is_array(cfg->adapters));
    return check_adapter_systems(ld);
}

/* Read the whole file; more than max_len bytes is LX_ELIMIT (found by
 * reading at most one byte over). */
static int read_file(const char *path, size_t max_len, char **text,
                     size_t *len, lx_error *err)
{
    *text = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        lx_error_set(err, LX_EIO, "cannot open: %s", strerror(e));
        if (err)
            err->lib_code = e;
        return lx_error_at(err, path, 0, 0);
    }
    size_t cap = max_len < 16384 ? max_len + 1 : 16384, n = 0;
    char *buf = lx_xmalloc(cap);
    int rc = 0;
    for (;;) {
        if (n == cap) {
            if (cap > max_len) {
                lx_error_set(err, LX_ELIMIT,
                             "file is over the limit of %zu bytes", max_len);
                rc = lx_error_at(err, path, 0, 0);
                break;
            }
            cap = cap > max_len / 2 ? max_len + 1 : cap * 2;
            buf = lx_xrealloc(buf, cap);
        }
        errno = 0;
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                int e = errno ? errno : EIO;
                lx_error_set(err, LX_EIO, "cannot read: %s", strerror(e));
                if (err)
                    err->lib_code = e;
                rc = lx_error_at(err, path, 0, 0);
            }
            break;
        }
    }
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    *text = buf;
    *len = n;
    return 0;
}

int lx_config_load(const char *path, lx_config **out, lx_error *err)
{
    LX_ASSERT(path && out);
    *out = NULL;
    lx_error_clear(err);

    char *text;
    size_t len;
    int rc = read_file(path, LX_CONFIG_MAX_LEN, &text, &len, err);
    if (rc)
        return rc;

    lx_config *cfg = lx_xcalloc(1, sizeof(*cfg));
    cfg->path = lx_xstrdup(path);
    cfg->dir = dir_of(path);
    cfg->http_listen = lx_xstrdup(LX_CONFIG_HTTP_DEFAULT);
    cfg->bus_pub = lx_xstrdup(LX_CONFIG_PUB_DEFAULT);
    cfg->bus_router = lx_xstrdup(LX_CONFIG_ROUTER_DEFAULT);
    cfg->max_payload = LX_JSON_MAX_DEFAULT;
    cfg->map_size = MAP_SIZE_DEFAULT;
    cfg->sync = true;
    cfg->max_batch = MAX_BATCH_DEFAULT;
    cfg->trace_retention_hours = 72;
    cfg->log_level = LX_LOG_INFO;
    cfg->log_format = LX_LOG_TEXT;

    rc = lx_json_parse(text, len, path, LX_CONFIG_MAX_LEN, &cfg->root, err);
    if (rc == 0) {
        loader ld = {path, text, len, cfg, err, false};
        rc = load_root(&ld);
    }
    free(text);
    if (rc) {
        lx_config_destroy(&cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

void lx_config_destroy(lx_config **cfg)
{
    if (!cfg || !*cfg)
        return;
    lx_config *c = *cfg;
    free(c->path);
    free(c->dir);
    free(c->data_dir);
    free(c->schemas_dir);
    free(c->http_listen);
    free(c->bus_pub);
    free(c->bus_router);
    free(c->bus_key_file);
    free(c->api_token);
    json_decref(c->root);
    free(c);
    *cfg = NULL;
}
