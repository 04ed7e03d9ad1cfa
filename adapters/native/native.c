/* adapters/native/native.c: dlopen a native adapter and convert between
 * its C ABI (lingua_adapter.h) and Lingua's types. */
#include "adapters/native/native.h"
#include "adapters/native/lingua_adapter.h"
#include "adapters/map/map.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"

#include <dlfcn.h>
#include <string.h>
#include <sys/stat.h>

/* The ABI's codes are Lingua's (lingua_adapter.h says so): keep them
 * equal, so a status code crosses the boundary unchanged. */
_Static_assert(LINGUA_EINVAL == LX_EINVAL && LINGUA_ESYNTAX == LX_ESYNTAX &&
                   LINGUA_ESCHEMA == LX_ESCHEMA &&
                   LINGUA_ENOTFOUND == LX_ENOTFOUND &&
                   LINGUA_ESTORE == LX_ESTORE &&
                   LINGUA_ECONFIG == LX_ECONFIG &&
                   LINGUA_EUNSUPPORTED == LX_EUNSUPPORTED,
               "lingua_adapter.h codes differ from core/error.h");

/* Version 1's descriptor ends after target_id: a library compiled
 * against it reports at least this size. */
#define V1_SIZE                                                            \
    (offsetof(struct lingua_adapter, target_id) +                           \
     sizeof(((struct lingua_adapter *)0)->target_id))

struct lx_native {
    void *dl;
    const struct lingua_adapter *a;
    char path[4096];
};

struct lx_native_instance {
    const lx_native *lib;
    void *handle;           /* the adapter's */
    lingua_host host;       /* handed to open(): must stay put */
    lx_native_host ours;
};

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

static int refuse_lib(lx_error *err, const char *path, int code,
                      const char *what)
{
    lx_error_set(err, code, "%s", what);
    return lx_error_at(err, path, 0, 0);
}

int lx_native_load(const char *path, lx_native **out, lx_error *err)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return refuse_lib(err, path, LX_ENOTFOUND, "no such library file");
    /* RTLD_NOW: an unresolved symbol is an error here, not a crash in the
     * middle of a delivery. RTLD_LOCAL: the adapter's symbols never
     * interpose on the host's or another adapter's. */
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char *why = dlerror();
        lx_error_set(err, LX_EIO, "cannot load the library: %s",
                     why ? why : "unknown reason");
        return lx_error_at(err, path, 0, 0);
    }
    /* dlsym returns a data pointer; the POSIX-sanctioned way to make a
     * function pointer of it is to copy its bytes. */
    void *sym = dlsym(dl, LINGUA_ADAPTER_ENTRY);
    lingua_adapter_entry_fn entry = NULL;
    if (sym)
        memcpy(&entry, &sym, sizeof(entry));
    const struct lingua_adapter *a = entry ? entry() : NULL;
    int rc = 0;
    if (!entry)
        rc = refuse_lib(err, path, LX_EUNSUPPORTED,
                        "not a Lingua native adapter: no symbol "
                        "'" LINGUA_ADAPTER_ENTRY "' (lingua_adapter.h)");
    else if (!a)
        rc = refuse_lib(err, path, LX_EUNSUPPORTED,
                        LINGUA_ADAPTER_ENTRY "() returned NULL");
    else if (a->abi_version != LINGUA_ADAPTER_ABI_VERSION) {
        lx_error_set(err, LX_EUNSUPPORTED,
                     "adapter ABI version %u, this Lingua speaks version %u "
                     "(rebuild it against this lingua_adapter.h)",
                     (unsigned)a->abi_version,
                     (unsigned)LINGUA_ADAPTER_ABI_VERSION);
        rc = lx_error_at(err, path, 0, 0);
    } else if (a->size < V1_SIZE)
        rc = refuse_lib(err, path, LX_EUNSUPPORTED,
                        "the descriptor is smaller than version 1's (size "
                        "must be sizeof(struct lingua_adapter))");
    else if (!a->name || !*a->name || !a->open || !a->close)
        rc = refuse_lib(err, path, LX_EUNSUPPORTED,
                        "the descriptor needs name, open and close");
    else if (!a->inbound && !a->outbound)
        rc = refuse_lib(err, path, LX_EUNSUPPORTED,
                        "the descriptor has neither inbound nor outbound");
    else if (a->outbound && !a->free_request)
        rc = refuse_lib(err, path, LX_EUNSUPPORTED,
                        "outbound needs free_request");
    if (rc != 0) {
        dlclose(dl);
        return rc;
    }
    lx_native *lib = lx_xcalloc(1, sizeof(*lib));
    lib->dl = dl;
    lib->a = a;
    snprintf(lib->path, sizeof(lib->path), "%s", path);
    *out = lib;
    return 0;
}

void lx_native_unload(lx_native **lp)
{
    lx_native *lib = *lp;
    if (!lib)
        return;
    *lp = NULL;
    dlclose(lib->dl);
    free(lib);
}

const char *lx_native_name(const lx_native *lib)
{
    return str_or_empty(lib->a->name);
}

const char *lx_native_version(const lx_native *lib)
{
    return str_or_empty(lib->a->version);
}

const char *lx_native_suite(const lx_native *lib)
{
    return str_or_empty(lib->a->suite);
}

const char *lx_native_path(const lx_native *lib)
{
    return lib->path;
}

bool lx_native_has_inbound(const lx_native *lib)
{
    return lib->a->inbound != NULL;
}

bool lx_native_has_outbound(const lx_native *lib)
{
    return lib->a->outbound != NULL;
}

/* The adapter's text is not trusted to be terminated: force it. */
static void status_terminate(lingua_status *st)
{
    st->location[sizeof(st->location) - 1] = '\0';
    st->message[sizeof(st->message) - 1] = '\0';
}

/* An adapter's status as an lx_error: its code when it is one of ours
 * (else `fallback`), its location, its message (or the code's text). */
static bool known_code(int code)
{
    return code < 0 && strcmp(lx_error_name(code), "LX_EUNKNOWN") != 0;
}

static int status_to_error(lingua_status *st, int rc, int fallback,
                           lx_error *err)
{
    status_terminate(st);
    int code = known_code(st->code) ? st->code
               : known_code(rc)     ? rc
                                    : fallback;
    lx_error_set(err, code, "%s",
                 st->message[0] ? st->message : lx_strerror(code));
    if (err && st->location[0])
        lx_error_at(err, st->location, 0, 0);
    return code;
}

/* The host side of lingua_host.ingest: text to jansson, then ours. */
static int host_ingest(void *ctx, const lingua_record *rec, lingua_status *st)
{
    lx_native_instance *inst = ctx;
    lx_error err;
    lx_error_clear(&err);
    int rc = 0;
    json_t *record = NULL;
    if (!rec || !rec->entity || !*rec->entity) {
        rc = lx_error_set(&err, LX_EINVAL, "a record needs its entity");
    } else if (!rec->is_delete) {
        json_error_t je;
        record = rec->json ? json_loadb(rec->json, rec->json_len,
                                        JSON_REJECT_DUPLICATES, &je)
                           : NULL;
        if (!json_is_object(record))
            rc = lx_error_set(&err, LX_ESYNTAX,
                              "the record handed to ingest is not a JSON "
                              "object");
    } else if (!rec->native_id) {
        rc = lx_error_set(&err, LX_EINVAL, "a delete needs its native_id");
    }
    if (rc == 0)
        rc = inst->ours.ingest(inst->ours.ctx, rec->entity, rec->native_type,
                               rec->native_id, record, &err);
    json_decref(record);
    if (st) {
        memset(st, 0, sizeof(*st));
        st->code = rc;
        if (rc != 0) {
            snprintf(st->location, sizeof(st->location), "%s", err.where);
            snprintf(st->message, sizeof(st->message), "%s", err.msg);
        }
    }
    return rc;
}

/* The host side of lingua_host.log: one line into Lingua's log, named
 * after the instance (levels 0 error .. 3 debug, as the ABI says). */
static void host_log(void *ctx, int level, const char *line)
{
    const lx_native_instance *inst = ctx;
    static const lx_log_level levels[] = {LX_LOG_ERROR, LX_LOG_WARN,
                                          LX_LOG_INFO, LX_LOG_DEBUG};
    lx_log_level l = level >= 0 && level <= 3 ? levels[level] : LX_LOG_DEBUG;
    if (line && l >= lx_log_get_level())
        lx_log_write(l, NULL, "adapter %s: %.*s",
                     str_or_empty(inst->ours.instance), 400, line);
}

int lx_native_open(const lx_native *lib, const json_t *config,
                   const lx_native_host *host, lx_native_instance **out,
                   lx_error *err)
{
    *out = NULL;
    lx_native_instance *inst = lx_xcalloc(1, sizeof(*inst));
    inst->lib = lib;
    inst->ours = *host;
    inst->host = (lingua_host){.abi_version = LINGUA_ADAPTER_ABI_VERSION,
                               .ctx = inst,
                               .system = str_or_empty(host->system),
                               .instance = str_or_empty(host->instance),
                               .ingest = host_ingest,
                               .log = host_log};
    char *text = config ? json_dumps(config, JSON_COMPACT) : NULL;
    lingua_status st;
    memset(&st, 0, sizeof(st));
    int rc = lib->a->open(text ? text : "{}", text ? strlen(text) : 2,
                          &inst->host, &inst->handle, &st);
    free(text);
    if (rc != 0) {
        status_to_error(&st, rc, LX_ECONFIG, err);
        lx_error_prefix(err, "adapter open");
        free(inst);
        return err ? err->code : LX_ECONFIG;
    }
    *out = inst;
    return 0;
}

void lx_native_close(lx_native_instance **ip)
{
    lx_native_instance *inst = *ip;
    if (!inst)
        return;
    *ip = NULL;
    inst->lib->a->close(inst->handle);
    free(inst);
}

int lx_native_inbound(lx_native_instance *inst, const char *system,
                      const char *format, const char *native_type,
                      const char *doc, size_t len, int *http_status,
                      lx_error *err)
{
    *http_status = 0;
    if (!inst->lib->a->inbound)
        return lx_error_set(err, LX_EUNSUPPORTED,
                            "the adapter has no inbound direction");
    lingua_document d = {.system = str_or_empty(system),
                         .format = str_or_empty(format),
                         .native_type = native_type,
                         .data = doc,
                         .len = len};
    lingua_status st;
    memset(&st, 0, sizeof(st));
    int rc = inst->lib->a->inbound(inst->handle, &d, &st);
    if (rc == 0)
        return 0;
    *http_status = st.http_status >= 400 && st.http_status <= 599
                       ? st.http_status
                       : 0;
    return status_to_error(&st, rc, LX_EINVAL, err);
}

void lx_native_request_fini(lx_native_request *req)
{
    free(req->path);
    for (size_t i = 0; i < req->header_count; i++)
        free(req->headers[i]);
    free(req->body);
    memset(req, 0, sizeof(*req));
}

/* "A: 1\nB: 2" -> req->headers, each checked: a name, a colon, no CR
 * (a CR would let an adapter smuggle a header or a request). */
static int copy_headers(lx_native_request *req, const char *lines,
                        lx_error *err)
{
    const char *p = lines;
    while (p && *p) {
        size_t n = strcspn(p, "\n");
        size_t m = n;
        if (m > 0 && p[m - 1] == '\r')
            m--; /* a CRLF separator is tolerated */
        if (m > 0) {
            const char *colon = memchr(p, ':', m);
            if (!colon || colon == p || memchr(p, '\r', m))
                return lx_error_set(err, LX_EINVAL,
                                    "request header %zu is not one "
                                    "\"Name: value\" line",
                                    req->header_count + 1);
            if (req->header_count == LX_NATIVE_HEADERS_MAX)
                return lx_error_set(err, LX_EINVAL,
                                    "more than %d request headers",
                                    LX_NATIVE_HEADERS_MAX);
            req->headers[req->header_count++] = lx_xstrndup(p, m);
        }
        p += n + (p[n] == '\n');
    }
    return 0;
}

/* Copy the adapter's request into ours, checking the ABI's rules. */
static int copy_request(const lingua_request *r, lx_native_request *req,
                        lx_error *err)
{
    if (r->kind != LINGUA_REQUEST_HTTP && r->kind != LINGUA_REQUEST_FILE)
        return lx_error_set(err, LX_EINVAL, "request kind %d is neither "
                                            "HTTP nor FILE",
                            r->kind);
    req->is_file = r->kind == LINGUA_REQUEST_FILE;
    size_t ml = strnlen(r->method, sizeof(r->method));
    if (!req->is_file && (ml == 0 || ml == sizeof(r->method)))
        return lx_error_set(err, LX_EINVAL, "the request has no method");
    memcpy(req->method, r->method, ml < sizeof(req->method) ? ml : 0);
    if (!r->path)
        return lx_error_set(err, LX_EINVAL, "the request has no path");
    req->path = lx_xstrdup(r->path);
    if (req->is_file && (!*req->path || strchr(req->path, '/') ||
                         req->path[0] == '.'))
        return lx_error_set(err, LX_EINVAL, "an outbox file name must not "
                                            "be empty, start with '.' or "
                                            "hold '/'");
    if (!req->is_file && req->path[0] && req->path[0] != '/' &&
        req->path[0] != '?')
        return lx_error_set(err, LX_EINVAL, "a request path starts with "
                                            "'/' or '?'");
    if (strpbrk(req->path, "\r\n "))
        return lx_error_set(err, LX_EINVAL, "a request path holds no "
                                            "blank or line break");
    size_t nl = strnlen(r->native_type, sizeof(r->native_type));
    if (nl == sizeof(r->native_type) || nl >= sizeof(req->native_type))
        return lx_error_set(err, LX_EINVAL, "native_type is not terminated");
    memcpy(req->native_type, r->native_type, nl);
    int rc = copy_headers(req, r->headers, err);
    if (rc == 0 && r->body) {
        req->body = lx_xmalloc(r->body_len + 1);
        memcpy(req->body, r->body, r->body_len);
        req->body[r->body_len] = '\0';
        req->body_len = r->body_len;
    }
    return rc;
}

int lx_native_outbound(lx_native_instance *inst, const json_t *event,
                       const char *target_id, lx_native_request *req,
                       bool *skip, lx_error *err)
{
    memset(req, 0, sizeof(*req));
    *skip = false;
    const struct lingua_adapter *a = inst->lib->a;
    if (!a->outbound)
        return lx_error_set(err, LX_EUNSUPPORTED,
                            "the adapter has no outbound direction");
    char *text = json_dumps(event, JSON_COMPACT);
    if (!text)
        return lx_error_set(err, LX_EINVAL, "the event cannot be written "
                                            "as JSON");
    lingua_event ev = {.json = text, .len = strlen(text),
                       .target_id = target_id && *target_id ? target_id
                                                            : NULL};
    lingua_request r;
    memset(&r, 0, sizeof(r));
    lingua_status st;
    memset(&st, 0, sizeof(st));
    int rc = a->outbound(inst->handle, &ev, &r, &st);
    free(text);
    if (rc == LINGUA_SKIP) {
        a->free_request(inst->handle, &r);
        *skip = true;
        return 0;
    }
    if (rc != 0) {
        a->free_request(inst->handle, &r);
        return status_to_error(&st, rc, LX_EINVAL, err);
    }
    rc = copy_request(&r, req, err);
    a->free_request(inst->handle, &r);
    if (rc != 0) {
        lx_error_prefix(err, "adapter outbound");
        lx_native_request_fini(req);
    }
    return rc;
}

/* The call outlives the request: its method must be a literal. */
static const char *method_literal(const char *m)
{
    static const char *const known[] = {"GET",  "PUT",  "POST",  "PATCH",
                                        "DELETE", "HEAD", "WRITE"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(m, known[i]) == 0)
            return known[i];
    return NULL;
}

int lx_native_call_fill(lx_native_request *req, const char *base_url,
                        lx_outbound_call *call, lx_error *err)
{
    if (req->is_file)
        return lx_error_set(err, LX_EINVAL, "an outbox file is not an HTTP "
                                            "call");
    const char *method = method_literal(req->method);
    if (!method)
        return lx_error_set(err, LX_EINVAL, "request method is not one of "
                                            "GET, PUT, POST, PATCH, DELETE, "
                                            "HEAD");
    size_t bl = strlen(base_url);
    while (bl > 0 && base_url[bl - 1] == '/')
        bl--;
    int n = snprintf(call->url, sizeof(call->url), "%.*s%s", (int)bl,
                     base_url, req->path);
    if (n < 0 || (size_t)n >= sizeof(call->url))
        return lx_error_set(err, LX_ELIMIT, "the request URL is longer than "
                                            "%d bytes",
                            LX_DELIVERY_URL_MAX);
    call->http.url = call->url;
    call->http.method = method;
    snprintf(call->native_type, sizeof(call->native_type), "%s",
             req->native_type);
    /* Every header line in one block owned by extra[0]: the call frees
     * its extra[] lines, of which there are fewer than our headers. */
    size_t total = 0;
    for (size_t i = 0; i < req->header_count; i++)
        total += strlen(req->headers[i]) + 1;
    if (total) {
        char *block = lx_xmalloc(total);
        char *p = block;
        for (size_t i = 0; i < req->header_count; i++) {
            size_t l = strlen(req->headers[i]) + 1;
            memcpy(p, req->headers[i], l);
            call->http.headers[i] = p;
            p += l;
        }
        call->http.headers[req->header_count] = NULL;
        call->extra[0] = block;
    }
    call->body = req->body;
    call->http.body = req->body;
    call->http.body_len = req->body_len;
    req->body = NULL;
    req->body_len = 0;
    return 0;
}

bool lx_native_target_id(lx_native_instance *inst, const json_t *event,
                         const lx_http_result *res, char *id, size_t size)
{
    id[0] = '\0';
    const struct lingua_adapter *a = inst->lib->a;
    if (!a->target_id || size == 0)
        return false;
    char *text = json_dumps(event, JSON_COMPACT);
    if (!text)
        return false;
    lingua_event ev = {.json = text, .len = strlen(text)};
    lingua_response r = {.status = (int)res->status,
                         .location = res->location,
                         .body = res->body,
                         .body_len = res->body_len};
    int got = a->target_id(inst->handle, &ev, &r, id, size);
    free(text);
    id[size - 1] = '\0';
    if (got != 1)
        id[0] = '\0';
    return id[0] != '\0';
}

bool lx_native_known_target_id(lx_store *store, const char *system,
                               const json_t *event, char *id, size_t size)
{
    id[0] = '\0';
    const char *entity = lx_json_str(event, "entity");
    const char *cid = lx_json_str(event, "canonical_id");
    if (!entity || !cid)
        return false;
    lx_map_store_ctx sc = {store, system};
    lx_map_resolver res;
    lx_map_resolver_store(&res, &sc);
    char nt[LX_STORE_NAME_MAX + 1];
    lx_error err;
    if (res.to_native(res.ctx, entity, cid, NULL, nt, sizeof(nt), id, size,
                      &err) != 0) {
        id[0] = '\0';
        return false;
    }
    return id[0] != '\0';
}
