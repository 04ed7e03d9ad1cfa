/* adapters/fhir/fhir_rest.c: see fhir_rest.h. */
#include "adapters/fhir/fhir_rest.h"
#include "adapters/fhir/fhir_out.h"
#include "canonical/ingest.h"
#include "core/id.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"

#include <string.h>
#include <strings.h>

#define TYPE_MAX 64
#define FHIR_ID_MAX 64
#define BUNDLE_MAX LX_STORE_GROUP_MAX

/* ---- formats and responses ---- */

static bool mentions_xml(const char *s)
{
    return s && strstr(s, "xml") != NULL;
}

static bool mentions_json(const char *s)
{
    return s && strstr(s, "json") != NULL;
}

static lx_fhir_format request_format(const lx_http_request *req)
{
    return mentions_xml(lx_http_header(req, "Content-Type")) ? LX_FHIR_XML
                                                             : LX_FHIR_JSON;
}

/* _format wins over Accept, which wins over the request's own format. */
static lx_fhir_format response_format(const lx_http_request *req)
{
    const char *f = lx_http_query(req, "_format");
    if (f && *f)
        return mentions_xml(f) ? LX_FHIR_XML : LX_FHIR_JSON;
    const char *accept = lx_http_header(req, "Accept");
    if (mentions_xml(accept) && !mentions_json(accept))
        return LX_FHIR_XML;
    if (mentions_json(accept))
        return LX_FHIR_JSON;
    return request_format(req);
}

static void respond(const lx_fhir_rest *r, const lx_http_request *req,
                    lx_http_response *resp, int status, const json_t *body)
{
    lx_fhir_format fmt = response_format(req);
    lx_buf out;
    lx_buf_init(&out, 0);
    lx_error err;
    lx_error_clear(&err);
    /* JSON without jansson's dump (the same bytes, a third of the cost). */
    if (lx_fhir_out_body(r->fhir, body, fmt, &out, &err) != 0) {
        /* Our own output does not serialize: a bug, reported as JSON. */
        lx_log_error(NULL, "fhir: cannot serialize a response: %s", err.msg);
        lx_buf_reset(&out);
        fmt = LX_FHIR_JSON;
        char *s = json_dumps(body, JSON_COMPACT);
        if (lx_buf_puts(&out, s) != 0)
            LX_ASSERT(!"unbounded buffer");
        free(s);
    }
    /* The buffer itself becomes the response body (no copy). */
    size_t len = 0;
    char *text = lx_buf_take(&out, &len);
    lx_http_response_take(resp, status,
                          fmt == LX_FHIR_XML ? "application/fhir+xml; "
                                               "charset=utf-8"
                                             : "application/fhir+json; "
                                               "charset=utf-8",
                          text, len);
}

static void outcome(const lx_fhir_rest *r, const lx_http_request *req,
                    lx_http_response *resp, int status, const char *code,
                    const char *msg, const char *expression)
{
    json_t *oo = lx_fhir_outcome("error", code, msg, expression);
    respond(r, req, resp, status, oo);
    json_decref(oo);
}

/* The FHIRPath an error is about: a FHIR path from the codec or the
 * mapping as it is; a canonical pointer (from the schema) through the
 * mapping's lineage back to the field that produced it; else the resource
 * itself (`prefix`: "Patient", or "Bundle.entry[2].resource" inside a
 * Bundle, which also prefixes the others). */
static void expression(const lx_error *err, const char *prefix,
                       const lx_map_trace *trace, char *expr, size_t size)
{
    expr[0] = '\0';
    const char *w = err->where;
    if (w[0] == '/') {
        const char *p = lx_fhir_path_for(trace, w);
        if (p)
            snprintf(expr, size, "%s", p);
    } else if (w[0] >= 'A' && w[0] <= 'Z') {
        snprintf(expr, size, "%s", w);
    }
    if (!expr[0]) {
        snprintf(expr, size, "%s", prefix ? prefix : "");
        return;
    }
    if (prefix && strchr(prefix, '.') &&
        strncmp(expr, prefix, strlen(prefix)) != 0) {
        const char *dot = strchr(expr, '.');
        char tail[LX_ERROR_WHERE_MAX + 128];
        snprintf(tail, sizeof(tail), "%s", dot ? dot : "");
        snprintf(expr, size, "%s%s", prefix, tail);
    }
}

static void diagnostics(const lx_error *err, char *line, size_t size)
{
    if (err->line > 0)
        snprintf(line, size, "line %ld, column %ld: %s", err->line,
                 err->column, err->msg);
    else
        snprintf(line, size, "%s",
                 err->msg[0] ? err->msg : lx_strerror(err->code));
}

static int status_for(int code)
{
    switch (code) {
    case LX_ESYNTAX: return 400;
    case LX_ELIMIT: return 413;
    case LX_ENOTFOUND: return 404;
    case LX_ECONFLICT: return 409;
    case LX_EFULL: return 503;
    case LX_ESCHEMA:
    case LX_EINVAL:
    case LX_EUNSUPPORTED: return 422;
    default: return 500;
    }
}

/* An error as an OperationOutcome issue (new reference). */
static json_t *issue_outcome(const lx_error *err, const char *prefix,
                             const lx_map_trace *trace)
{
    char expr[LX_ERROR_WHERE_MAX + 128], line[1024];
    expression(err, prefix, trace, expr, sizeof(expr));
    diagnostics(err, line, sizeof(line));
    return lx_fhir_outcome("error", lx_fhir_issue_code(err->code), line,
                           expr[0] ? expr : NULL);
}

/* An error from parsing, mapping, validation or the store, as the
 * response. */
static void fail(const lx_fhir_rest *r, const lx_http_request *req,
                 lx_http_response *resp, const lx_error *err,
                 const char *prefix, const lx_map_trace *trace)
{
    json_t *oo = issue_outcome(err, prefix, trace);
    respond(r, req, resp, status_for(err->code), oo);
    json_decref(oo);
}

/* ---- ids ---- */

/* FHIR ids: [A-Za-z0-9\-\.]{1,64} (R4 datatypes, id). */
static bool valid_id(const char *s, size_t n)
{
    if (n == 0 || n > FHIR_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* ---- reading back ---- */

/* The resource `type`/`id` as this facade answers it: `record` through
 * the reverse mapping, with id and meta (version, time) set. */
static int answer_of(const lx_fhir_rest *r, const char *type, const char *id,
                     const json_t *record, uint64_t version, uint64_t time_ms,
                     json_t **out, lx_error *err)
{
    *out = NULL;
    lx_map_store_ctx sc = {r->store, r->system};
    lx_map_resolver res;
    lx_map_resolver_store(&res, &sc);
    json_t *resource = NULL;
    /* resourceType first, then id, as FHIR JSON is usually written. */
    int rc = lx_fhir_from_canonical_with_id(r->fhir, type, id, record, &res,
                                            &resource, err);
    if (rc != 0)
        return rc;
    char vid[32], when[LX_TIME_SIZE];
    snprintf(vid, sizeof(vid), "%llu", (unsigned long long)version);
    lx_time_format(time_ms, when);
    json_t *m = json_object_get(resource, "meta");
    if (!json_is_object(m)) {
        m = json_object();
        json_object_set_new(resource, "meta", m);
    }
    json_object_set_new(m, "versionId", json_string(vid));
    json_object_set_new(m, "lastUpdated", json_string(when));
    *out = resource;
    return 0;
}

/* The resource `type`/`id` as the store holds it now. */
static int read_resource(const lx_fhir_rest *r, const char *type,
                         const char *id, json_t **out, lx_record_meta *meta,
                         lx_error *err)
{
    *out = NULL;
    char entity[LX_STORE_NAME_MAX + 1], cid[LX_STORE_ID_SIZE];
    int rc = lx_store_xref_find(r->store, r->system, type, id, entity, cid,
                                err);
    if (rc != 0) {
        lx_error_set(err, LX_ENOTFOUND, "%s/%s is not known", type, id);
        return LX_ENOTFOUND;
    }
    json_t *record = NULL;
    rc = lx_store_get(r->store, entity, cid, &record, meta, err);
    if (rc != 0)
        return rc;
    rc = answer_of(r, type, id, record, meta->version, meta->time_ms, out,
                   err);
    json_decref(record);
    return rc;
}

static void set_version_headers(const lx_fhir_rest *r, lx_http_response *resp,
                                const char *type, const char *id,
                                uint64_t version, bool location)
{
    char etag[40], loc[512];
    snprintf(etag, sizeof(etag), "W/\"%llu\"", (unsigned long long)version);
    lx_http_response_header(resp, "ETag", etag);
    if (location) {
        snprintf(loc, sizeof(loc), "%s/%s/%s/_history/%llu", r->base, type, id,
                 (unsigned long long)version);
        lx_http_response_header(resp, "Location", loc);
    }
}

/* ---- writing ---- */

/* One resource of a request, mapped and checked, ready for the store. */
typedef struct prepared {
    char note[160]; /* the trace's "received" step */
    char type[TYPE_MAX];
    char id[FHIR_ID_MAX + 1];
    const char *entity;
    json_t *record;
    lx_map_trace *trace;
    bool is_delete;
} prepared;

static void prepared_fini(prepared *p)
{
    json_decref(p->record);
    lx_map_trace_destroy(&p->trace);
    memset(p, 0, sizeof(*p));
}

/* The mapping's lineage, which only an error report reads (a canonical
 * pointer from the schema or the store back to the FHIR field): the
 * mapping runs again with a trace once something failed, instead of
 * recording a trace for every request (most of the mapping's cost). The
 * mapping is deterministic, so the lineage is the one of the failed run. */
static void trace_for_errors(const lx_fhir_rest *r, const json_t *resource,
                             prepared *p, const lx_map_resolver *bundle_res)
{
    if (p->trace || !resource)
        return;
    lx_map_store_ctx sc = {r->store, r->system};
    lx_map_resolver res;
    lx_map_resolver_store(&res, &sc);
    p->trace = lx_map_trace_new();
    const char *entity = NULL;
    json_t *record = NULL;
    lx_error ignored;
    lx_error_clear(&ignored);
    if (lx_fhir_to_canonical(r->fhir, resource, bundle_res ? bundle_res : &res,
                             &entity, &record, p->trace, &ignored) == 0)
        json_decref(record);
}

/* Map and validate `resource` of `type` to be stored under FHIR id `id`
 * (NULL: the server assigns one). References resolve through `bundle_res`
 * when given (entries of the same transaction), else the store. On error
 * p->trace holds the mapping's lineage. */
static int prepare(const lx_fhir_rest *r, const json_t *resource,
                   const char *type, const char *id, prepared *p,
                   const lx_map_resolver *bundle_res, lx_error *err)
{
    memset(p, 0, sizeof(*p));
    const char *rt = lx_json_str(resource, "resourceType");
    if (!rt || (type && strcmp(rt, type) != 0)) {
        lx_error_set(err, LX_ESCHEMA, "resourceType %s does not match the "
                                      "request's type %s",
                     rt ? rt : "(missing)", type ? type : "");
        char w[96];
        snprintf(w, sizeof(w), "%s.resourceType", rt ? rt : type ? type : "");
        return lx_error_at(err, w, 0, 0);
    }
    if (strlen(rt) >= sizeof(p->type))
        return lx_error_set(err, LX_EUNSUPPORTED, "unknown resource type");
    snprintf(p->type, sizeof(p->type), "%s", rt);
    const char *rid = lx_json_str(resource, "id");
    if (id && rid && strcmp(rid, id) != 0) {
        lx_error_set(err, LX_ESCHEMA, "the resource's id differs from the id "
                                      "in the URL");
        char w[96];
        snprintf(w, sizeof(w), "%s.id", rt);
        return lx_error_at(err, w, 0, 0);
    }
    if (id) {
        snprintf(p->id, sizeof(p->id), "%s", id);
    } else {
        char ulid[LX_ULID_SIZE];
        lx_ulid_new(ulid);
        snprintf(p->id, sizeof(p->id), "%s", ulid);
    }
    lx_map_store_ctx sc = {r->store, r->system};
    lx_map_resolver res;
    lx_map_resolver_store(&res, &sc);
    const lx_map *m = lx_fhir_map_of(r->fhir, p->type);
    snprintf(p->note, sizeof(p->note),
             "{\"transport\":\"fhir\",\"base\":\"%s\",\"map\":\"%s\"}",
             r->base, m ? lx_map_id(m) : "");
    int rc = lx_fhir_to_canonical(r->fhir, resource,
                                  bundle_res ? bundle_res : &res, &p->entity,
                                  &p->record, NULL, err);
    if (rc == LX_ENOTFOUND && err)
        /* A reference in the request that the hub cannot resolve: the
         * request is unprocessable (422), not a missing resource (404). */
        rc = err->code = LX_EINVAL;
    if (rc == 0 && json_array_size(json_object_get(p->record,
                                                   "identifiers")) == 0) {
        /* Canonical records are matched by identifiers, and many FHIR
         * resources carry none (Organization-hl7 in the R4 examples). Its
         * id in the sending system is then its identity: scoped by system
         * and type, so the same id from two systems never merges. */
        char sys[LX_STORE_NAME_MAX * 2 + 32];
        snprintf(sys, sizeof(sys), "urn:lingua:%s:%s", r->system, p->type);
        json_object_set_new(p->record, "identifiers",
                            json_pack("[{s:s,s:s}]", "system", sys, "value",
                                      p->id));
    }
    if (rc == 0) {
        lx_upsert u = {.entity = p->entity, .system = r->system,
                       .record = p->record};
        rc = lx_ingest_check(r->registry, &u, err);
    }
    if (rc != 0)
        trace_for_errors(r, resource, p, bundle_res);
    return rc;
}

static lx_upsert upsert_of(const lx_fhir_rest *r, const prepared *p)
{
    /* p->note was filled by prepare() (how the resource arrived). */
    lx_upsert u = {.op = p->is_delete ? LX_STORE_DELETE : LX_STORE_UPSERT,
                   .entity = p->entity,
                   .system = r->system,
                   .adapter = r->adapter,
                   .native_type = p->type,
                   .native_id = p->id,
                   .record = p->record,
                   .note = p->note[0] ? p->note : NULL};
    return u;
}

/* Answer a single create or update with the stored resource. A POST is
 * a create (201) even when the resource matched an existing canonical
 * record: it has a new logical id here. */
static void written(const lx_fhir_rest *r, const lx_http_request *req,
                    lx_http_response *resp, const prepared *p,
                    const lx_upsert_result *res, bool is_create)
{
    /* Read back: the store's upsert result carries no commit time yet
     * (lastUpdated), so the answer is mapped from the stored record.
     * Once it does, answer_of(p->record, res->version, time) gives the
     * same bytes without lx_store_get (test_fhir_maps holds the two
     * equal). */
    json_t *out = NULL;
    lx_record_meta meta;
    lx_error err;
    lx_error_clear(&err);
    if (read_resource(r, p->type, p->id, &out, &meta, &err) != 0) {
        fail(r, req, resp, &err, p->type, NULL);
        return;
    }
    respond(r, req, resp, res->created || is_create ? 201 : 200, out);
    set_version_headers(r, resp, p->type, p->id, res->version, true);
    json_decref(out);
}

static void create_or_update(const lx_fhir_rest *r,
                             const lx_http_request *req,
                             lx_http_response *resp, const char *type,
                             const char *id)
{
    size_t len;
    const char *body = lx_http_body(req, &len);
    json_t *resource = NULL;
    lx_error err;
    lx_error_clear(&err);
    prepared p;
    memset(&p, 0, sizeof(p));
    int rc = lx_fhir_parse(r->fhir, body, len, request_format(req),
                           r->max_body, &resource, &err);
    const char *rid = rc == 0 ? lx_json_str(resource, "id") : NULL;
    if (rc == 0 && id && (!rid || strcmp(rid, id) != 0)) {
        /* FHIR R4 http.html, update: "If no id element is provided, or the
         * id disagrees with the id in the URL, the server SHALL respond
         * with an HTTP 400 error code". */
        char w[96];
        snprintf(w, sizeof(w), "%s.id", type);
        outcome(r, req, resp, 400, "invalid",
                rid ? "the resource's id differs from the id in the URL"
                    : "an update needs the resource's id, equal to the id "
                      "in the URL",
                w);
        json_decref(resource);
        return;
    }
    if (rc == 0)
        rc = prepare(r, resource, type, id, &p, NULL, &err);
    if (rc != 0) {
        fail(r, req, resp, &err, type, p.trace);
    } else {
        lx_upsert u = upsert_of(r, &p);
        lx_upsert_result res;
        if (lx_store_upsert(r->store, &u, &res) != 0) {
            trace_for_errors(r, resource, &p, NULL);
            fail(r, req, resp, &res.err, type, p.trace);
        } else {
            written(r, req, resp, &p, &res, id == NULL);
        }
    }
    prepared_fini(&p);
    json_decref(resource);
}

static void read_one(const lx_fhir_rest *r, const lx_http_request *req,
                     lx_http_response *resp, const char *type,
                     const char *id)
{
    json_t *out = NULL;
    lx_record_meta meta;
    lx_error err;
    lx_error_clear(&err);
    if (read_resource(r, type, id, &out, &meta, &err) != 0) {
        fail(r, req, resp, &err, type, NULL);
        return;
    }
    if (meta.deleted) {
        outcome(r, req, resp, 410, "deleted", "the resource was deleted",
                NULL);
    } else {
        respond(r, req, resp, 200, out);
        set_version_headers(r, resp, type, id, meta.version, false);
    }
    json_decref(out);
}

static void delete_one(const lx_fhir_rest *r, const lx_http_request *req,
                       lx_http_response *resp, const char *type,
                       const char *id)
{
    const char *entity = lx_fhir_entity_of(r->fhir, type);
    lx_upsert u = {.op = LX_STORE_DELETE, .entity = entity,
                   .system = r->system, .adapter = r->adapter,
                   .native_type = type, .native_id = id};
    lx_upsert_result res;
    if (lx_store_upsert(r->store, &u, &res) != 0) {
        fail(r, req, resp, &res.err, type, NULL);
        return;
    }
    lx_http_response_set(resp, 204, "application/fhir+json", "", 0);
    set_version_headers(r, resp, type, id, res.version, false);
}

/* ---- Bundles ---- */

typedef struct entry_plan {
    prepared p;
    bool has_method;
} entry_plan;

/* Work out type and id of one entry from its request (or, in a
 * collection, from the resource). */
static int entry_target(const json_t *entry, const char *bundle_type,
                        const json_t *resource, char *type, char *id,
                        bool *is_delete, lx_error *err)
{
    *is_delete = false;
    id[0] = '\0';
    json_t *request = json_object_get(entry, "request");
    const char *method = lx_json_str(request, "method");
    const char *url = lx_json_str(request, "url");
    const char *rt = lx_json_str(resource, "resourceType");
    if (strcmp(bundle_type, "collection") == 0 || !method) {
        if (strcmp(bundle_type, "collection") != 0)
            return lx_error_set(err, LX_ESCHEMA,
                                "entry.request.method is required in a %s",
                                bundle_type);
        snprintf(type, TYPE_MAX, "%s", rt ? rt : "");
        const char *rid = lx_json_str(resource, "id");
        if (rid)
            snprintf(id, FHIR_ID_MAX + 1, "%s", rid);
        return 0;
    }
    if (!url)
        return lx_error_set(err, LX_ESCHEMA, "entry.request.url is required");
    const char *slash = strchr(url, '/');
    size_t tl = slash ? (size_t)(slash - url) : strcspn(url, "?");
    if (tl == 0 || tl >= TYPE_MAX)
        return lx_error_set(err, LX_ESCHEMA, "entry.request.url names no "
                                             "resource type");
    memcpy(type, url, tl);
    type[tl] = '\0';
    if (strcmp(method, "POST") == 0)
        return 0;
    if (strcmp(method, "PUT") == 0 || strcmp(method, "DELETE") == 0) {
        const char *rid = slash ? slash + 1 : "";
        size_t il = strcspn(rid, "/?");
        if (!valid_id(rid, il))
            return lx_error_set(err, LX_ESCHEMA, "entry.request.url needs "
                                                 "{type}/{id} with a valid "
                                                 "id");
        memcpy(id, rid, il);
        id[il] = '\0';
        *is_delete = strcmp(method, "DELETE") == 0;
        return 0;
    }
    return lx_error_set(err, LX_EUNSUPPORTED, "entry.request.method %s is "
                                              "not supported (POST, PUT, "
                                              "DELETE)",
                        method);
}

static json_t *entry_response(const char *status, const char *base,
                              const prepared *p, const lx_upsert_result *res)
{
    json_t *resp = json_pack("{s:s}", "status", status);
    if (res && res->code == 0 && !p->is_delete) {
        char loc[512], etag[40];
        (void)base;
        snprintf(loc, sizeof(loc), "%s/%s/_history/%llu", p->type, p->id,
                 (unsigned long long)res->version);
        snprintf(etag, sizeof(etag), "W/\"%llu\"",
                 (unsigned long long)res->version);
        json_object_set_new(resp, "location", json_string(loc));
        json_object_set_new(resp, "etag", json_string(etag));
    }
    return json_pack("{s:o}", "response", resp);
}

static const char *status_of(const lx_upsert_result *res, bool is_delete)
{
    if (is_delete)
        return "204 No Content";
    return res->created ? "201 Created" : "200 OK";
}

/* References between the entries of one Bundle (FHIR R4 http.html#trules:
 * "urn:uuid:..." fullUrls, or "Type/id" of an entry): an entry prepared
 * before the one that refers to it is named by its canonical record's
 * first identifier, since its canonical id is only known once the whole
 * transaction commits. Other references go to the store. */
typedef struct bundle_refs {
    const json_t *entries;
    const entry_plan *plan;
    size_t prepared;          /* entries [0, prepared) are mapped */
    lx_map_store_ctx sc;
    lx_map_resolver store;
} bundle_refs;

static int bundle_ref(void *ctx, const char *reference, json_t **ref,
                      lx_error *err)
{
    bundle_refs *b = ctx;
    (void)err;
    for (size_t k = 0; k < b->prepared; k++) {
        const prepared *p = &b->plan[k].p;
        if (!p->entity || !p->record || p->is_delete)
            continue;
        const json_t *entry = json_array_get(b->entries, k);
        const char *full = lx_json_str(entry, "fullUrl");
        char local[TYPE_MAX + FHIR_ID_MAX + 2];
        snprintf(local, sizeof(local), "%s/%s", p->type, p->id);
        size_t ll = strlen(local), rl = strlen(reference);
        bool same = (full && strcmp(full, reference) == 0) ||
                    strcmp(local, reference) == 0 ||
                    (rl > ll && reference[rl - ll - 1] == '/' &&
                     strcmp(reference + rl - ll, local) == 0);
        if (!same)
            continue;
        json_t *ident = json_array_get(json_object_get(p->record,
                                                       "identifiers"), 0);
        const char *sys = lx_json_str(ident, "system");
        const char *val = lx_json_str(ident, "value");
        if (!sys || !val)
            continue;
        *ref = json_pack("{s:s,s:{s:s,s:s}}", "entity", p->entity,
                         "identifier", "system", sys, "value", val);
        return *ref ? 0 : LX_ENOTFOUND;
    }
    return LX_ENOTFOUND;
}

static int bundle_to_canonical(void *ctx, const char *native_type,
                               const char *native_id, char *entity,
                               size_t entity_size, char *id, size_t id_size,
                               lx_error *err)
{
    bundle_refs *b = ctx;
    return b->store.to_canonical(b->store.ctx, native_type, native_id, entity,
                                 entity_size, id, id_size, err);
}

static int bundle_to_native(void *ctx, const char *entity, const char *id,
                            const char *want_type, char *native_type,
                            size_t native_type_size, char *native_id,
                            size_t native_id_size, lx_error *err)
{
    bundle_refs *b = ctx;
    return b->store.to_native(b->store.ctx, entity, id, want_type,
                              native_type, native_type_size, native_id,
                              native_id_size, err);
}

static void bundle(const lx_fhir_rest *r, const lx_http_request *req,
                   lx_http_response *resp)
{
    size_t len;
    const char *body = lx_http_body(req, &len);
    json_t *b = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (lx_fhir_parse(r->fhir, body, len, request_format(req), r->max_body, &b,
                      &err) != 0) {
        fail(r, req, resp, &err, "Bundle", NULL);
        return;
    }
    const char *rt = lx_json_str(b, "resourceType");
    const char *btype = lx_json_str(b, "type");
    json_t *entries = json_object_get(b, "entry");
    if (!rt || strcmp(rt, "Bundle") != 0) {
        outcome(r, req, resp, 400, "invalid",
                "only a Bundle can be posted to the base URL",
                "resourceType");
        json_decref(b);
        return;
    }
    if (!btype || (strcmp(btype, "transaction") != 0 &&
                   strcmp(btype, "batch") != 0 &&
                   strcmp(btype, "collection") != 0)) {
        outcome(r, req, resp, 422, "not-supported",
                "Bundle.type must be transaction, batch or collection",
                "Bundle.type");
        json_decref(b);
        return;
    }
    size_t n = json_array_size(entries);
    if (n > BUNDLE_MAX) {
        outcome(r, req, resp, 413, "too-long", "too many entries",
                "Bundle.entry");
        json_decref(b);
        return;
    }
    bool atomic = strcmp(btype, "transaction") == 0;
    entry_plan *plan = lx_xcalloc(n ? n : 1, sizeof(*plan));
    json_t *out_entries = json_array();
    int rc = 0;
    bundle_refs refs = {.entries = entries, .plan = plan, .prepared = 0,
                        .sc = {r->store, r->system}};
    lx_map_resolver_store(&refs.store, &refs.sc);
    lx_map_resolver bres = {.to_canonical = bundle_to_canonical,
                            .to_native = bundle_to_native,
                            .ctx = &refs,
                            .to_canonical_ref = atomic ? bundle_ref : NULL};
    size_t i;
    for (i = 0; i < n; i++) {
        refs.prepared = i;
        json_t *entry = json_array_get(entries, i);
        json_t *resource = json_object_get(entry, "resource");
        char type[TYPE_MAX], id[FHIR_ID_MAX + 1], where[64];
        bool is_delete = false;
        snprintf(where, sizeof(where), "Bundle.entry[%zu].resource", i);
        lx_error_clear(&err);
        rc = entry_target(entry, btype, resource, type, id, &is_delete, &err);
        if (rc == 0 && is_delete) {
            prepared *p = &plan[i].p;
            snprintf(p->type, sizeof(p->type), "%s", type);
            snprintf(p->id, sizeof(p->id), "%s", id);
            p->entity = lx_fhir_entity_of(r->fhir, type);
            p->is_delete = true;
            if (!p->entity)
                rc = lx_error_set(&err, LX_EUNSUPPORTED,
                                  "resource type %s is not mapped", type);
        } else if (rc == 0) {
            rc = prepare(r, resource, type, id[0] ? id : NULL, &plan[i].p,
                         &bres, &err);
        }
        if (rc == 0)
            continue;
        if (atomic) {
            /* Nothing of a transaction is stored when one entry fails. */
            fail(r, req, resp, &err, where, plan[i].p.trace);
            break;
        }
        json_t *oo = issue_outcome(&err, where, plan[i].p.trace);
        char status[48];
        int code = status_for(err.code);
        snprintf(status, sizeof(status), "%d %s", code,
                 code == 400 ? "Bad Request" : code == 404 ? "Not Found"
                                                          : "Unprocessable "
                                                            "Entity");
        json_t *e = json_pack("{s:{s:s,s:o}}", "response", "status", status,
                              "outcome", oo);
        json_array_append_new(out_entries, e);
        plan[i].p.entity = NULL; /* skipped below */
        rc = 0;
    }
    if (atomic && rc == 0) {
        lx_upsert *u = lx_xcalloc(n ? n : 1, sizeof(*u));
        lx_upsert_result *res = lx_xcalloc(n ? n : 1, sizeof(*res));
        for (size_t k = 0; k < n; k++)
            u[k] = upsert_of(r, &plan[k].p);
        lx_error_clear(&err);
        if (n && lx_store_upsert_group(r->store, u, n, res, &err) != 0) {
            size_t bad = 0;
            while (bad < n && res[bad].code == LX_ECONFLICT)
                bad++;
            char where[64];
            snprintf(where, sizeof(where), "Bundle.entry[%zu]",
                     bad < n ? bad : 0);
            fail(r, req, resp, &err, where, NULL);
        } else {
            for (size_t k = 0; k < n; k++)
                json_array_append_new(
                    out_entries,
                    entry_response(status_of(&res[k], plan[k].p.is_delete),
                                   r->base, &plan[k].p, &res[k]));
            json_t *rb = json_pack("{s:s,s:s,s:O}", "resourceType", "Bundle",
                                   "type", "transaction-response", "entry",
                                   out_entries);
            respond(r, req, resp, 200, rb);
            json_decref(rb);
        }
        free(u);
        free(res);
    } else if (!atomic) {
        /* batch / collection: each entry on its own, answered in order. */
        json_t *ordered = json_array();
        size_t refused = 0;
        for (size_t k = 0; k < n; k++) {
            if (!plan[k].p.entity) {
                json_array_append(ordered,
                                  json_array_get(out_entries, refused++));
                continue;
            }
            lx_upsert u = upsert_of(r, &plan[k].p);
            lx_upsert_result res;
            if (lx_store_upsert(r->store, &u, &res) != 0) {
                json_t *oo = lx_fhir_outcome(
                    "error", lx_fhir_issue_code(res.code), res.err.msg, NULL);
                json_array_append_new(
                    ordered, json_pack("{s:{s:s,s:o}}", "response", "status",
                                       res.code == LX_ENOTFOUND
                                           ? "404 Not Found"
                                           : "422 Unprocessable Entity",
                                       "outcome", oo));
            } else {
                json_array_append_new(
                    ordered,
                    entry_response(status_of(&res, plan[k].p.is_delete),
                                   r->base, &plan[k].p, &res));
            }
        }
        json_t *rb = json_pack("{s:s,s:s,s:o}", "resourceType", "Bundle",
                               "type", "batch-response", "entry", ordered);
        respond(r, req, resp, 200, rb);
        json_decref(rb);
    }
    for (size_t k = 0; k < n; k++)
        prepared_fini(&plan[k].p);
    free(plan);
    json_decref(out_entries);
    json_decref(b);
}

/* ---- metadata ---- */

static void capability(const lx_fhir_rest *r, const lx_http_request *req,
                       lx_http_response *resp)
{
    json_t *resources = json_array();
    for (size_t i = 0; i < lx_fhir_type_count(r->fhir); i++) {
        json_t *res = json_pack(
            "{s:s,s:[{s:s},{s:s},{s:s},{s:s}],s:s,s:b}", "type",
            lx_fhir_type_at(r->fhir, i), "interaction", "code", "read", "code",
            "create", "code", "update", "code", "delete", "versioning",
            "versioned", "updateCreate", 1);
        json_array_append_new(resources, res);
    }
    char when[LX_TIME_SIZE];
    lx_time_format(lx_now_ms(), when);
    json_t *cs = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s},s:s,s:[s,s],"
        "s:[{s:s,s:o,s:[{s:s},{s:s}]}]}",
        "resourceType", "CapabilityStatement", "status", "active", "date",
        when, "kind", "instance", "publisher", "Lingua", "software", "name",
        "Lingua", "version", LX_VERSION, "fhirVersion", "4.0.1", "format",
        "json", "xml", "rest", "mode", "server", "resource", resources,
        "interaction", "code", "transaction", "code", "batch");
    /* cpb-15: an instance statement describes its implementation. */
    json_object_set_new(cs, "implementation",
                        json_pack("{s:s,s:s}", "description",
                                  "Lingua FHIR R4 facade", "url", r->base));
    respond(r, req, resp, 200, cs);
    json_decref(cs);
}

/* ---- routing ---- */

bool lx_fhir_rest_handle(const lx_fhir_rest *r, const lx_http_request *req,
                         lx_http_response *resp)
{
    const char *path = lx_http_path(req);
    size_t bl = strlen(r->base);
    if (strncmp(path, r->base, bl) != 0 || (path[bl] && path[bl] != '/'))
        return false;
    const char *rest = path + bl;
    while (*rest == '/')
        rest++;
    const char *method = lx_http_method(req);
    char type[TYPE_MAX] = "", id[FHIR_ID_MAX + 1] = "";
    const char *slash = strchr(rest, '/');
    size_t tl = slash ? (size_t)(slash - rest) : strlen(rest);
    bool bad = tl >= sizeof(type);
    if (!bad) {
        memcpy(type, rest, tl);
        type[tl] = '\0';
    }
    if (!bad && slash) {
        const char *i = slash + 1;
        size_t il = strlen(i);
        bad = strchr(i, '/') != NULL || !valid_id(i, il);
        if (!bad)
            memcpy(id, i, il + 1);
    }
    if (lx_http_body_too_large(req)) {
        char msg[128];
        snprintf(msg, sizeof(msg), "the request body is over the limit of "
                                   "%zu bytes",
                 r->max_body);
        outcome(r, req, resp, 413, "too-long", msg,
                !bad && type[0] ? type : "Bundle");
        return true;
    }
    if (bad) {
        outcome(r, req, resp, 404, "not-found",
                "unknown path (expected [base]/{type} or [base]/{type}/{id})",
                NULL);
        return true;
    }
    if (type[0] == '\0') {
        if (strcmp(method, "POST") == 0)
            bundle(r, req, resp);
        else
            outcome(r, req, resp, 405, "not-supported",
                    "POST a Bundle to the base URL", NULL);
        return true;
    }
    if (strcmp(type, "metadata") == 0 && !id[0]) {
        capability(r, req, resp);
        return true;
    }
    if (!lx_fhir_entity_of(r->fhir, type)) {
        char msg[160];
        snprintf(msg, sizeof(msg), "resource type %s is not supported here",
                 type);
        outcome(r, req, resp, 404, "not-supported", msg, NULL);
        return true;
    }
    if (!id[0] && strcmp(method, "POST") == 0)
        create_or_update(r, req, resp, type, NULL);
    else if (id[0] && strcmp(method, "PUT") == 0)
        create_or_update(r, req, resp, type, id);
    else if (id[0] && strcmp(method, "GET") == 0)
        read_one(r, req, resp, type, id);
    else if (id[0] && strcmp(method, "DELETE") == 0)
        delete_one(r, req, resp, type, id);
    else
        outcome(r, req, resp, 405, "not-supported",
                "supported: POST [type], PUT/GET/DELETE [type]/[id]", NULL);
    return true;
}
