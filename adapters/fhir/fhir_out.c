/* adapters/fhir/fhir_out.c: see fhir_out.h. */
#include "adapters/fhir/fhir_out.h"
#include "core/json.h"
#include "core/mem.h"

#include <stdio.h>
#include <string.h>

struct lx_fhir_out {
    const lx_fhir *fhir;
    char *base;
    char *system;
    char *auth;
    lx_fhir_format format;
};

int lx_fhir_out_new(const lx_fhir_out_options *opts, lx_fhir_out **out,
                    lx_error *err)
{
    *out = NULL;
    if (!opts->fhir || !opts->base_url || !*opts->base_url || !opts->system)
        return lx_error_set(err, LX_EINVAL, "an outbound FHIR adapter needs "
                                            "a base URL and a system");
    lx_fhir_out *o = lx_xcalloc(1, sizeof(*o));
    o->fhir = opts->fhir;
    o->base = lx_xstrdup(opts->base_url);
    size_t bl = strlen(o->base);
    while (bl > 0 && o->base[bl - 1] == '/')
        o->base[--bl] = '\0';
    o->system = lx_xstrdup(opts->system);
    o->auth = opts->auth_header ? lx_xstrdup(opts->auth_header) : NULL;
    o->format = opts->format;
    *out = o;
    return 0;
}

void lx_fhir_out_destroy(lx_fhir_out **op)
{
    lx_fhir_out *o = *op;
    if (!o)
        return;
    *op = NULL;
    free(o->base);
    free(o->system);
    free(o->auth);
    free(o);
}

int lx_fhir_out_body(const lx_fhir *fhir, const json_t *resource,
                     lx_fhir_format format, lx_buf *out, lx_error *err)
{
    /* JSON: the bytes of json_dumps(JSON_COMPACT), by the cheap writer
     * (~24,000 instructions less for a small Patient than jansson's). XML,
     * invalid UTF-8 or a full buffer: the codec's own serialisation, which
     * says why. */
    if (format == LX_FHIR_JSON) {
        size_t n;
        char *text = lx_json_dump_compact(resource, &n);
        int rc = text ? lx_buf_append(out, text, n) : -1;
        free(text);
        if (rc == 0)
            return 0;
    }
    return lx_fhir_serialize(fhir, resource, format, out, err);
}

/* The pieces one after the other into out (size bytes), cut where it is
 * full, as snprintf("%s%s...") writes them, without printf's cost (one
 * URL per delivered call). */
static void join(char *out, size_t size, const char *const *parts, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n && len + 1 < size; i++) {
        size_t pl = strlen(parts[i]);
        if (pl > size - 1 - len)
            pl = size - 1 - len;
        memcpy(out + len, parts[i], pl);
        len += pl;
    }
    out[len] = '\0';
}

/* The resource type a record goes out as, when several map to its entity
 * (Patient and Practitioner are both persons): the type the target already
 * knows it as, else the type it arrived as, else the entity's first
 * mapping. And the target's id of the record in that type, when the
 * cross-reference knows it. One cross-reference read serves both: it is a
 * store read transaction and a JSON list per call. */
static const char *type_and_id(lx_fhir_out *o, lx_store *store,
                               const json_t *ev, const char *entity,
                               const char *cid, char *id, size_t size,
                               bool *has_id)
{
    *has_id = false;
    json_t *list = NULL;
    const char *type = NULL;
    if (lx_store_xref_list(store, entity, cid, &list, NULL) == 0) {
        size_t i;
        json_t *x;
        json_array_foreach(list, i, x)
        {
            const char *sys = lx_json_str(x, "system");
            const char *nt = lx_json_str(x, "native_type");
            if (sys && nt && strcmp(sys, o->system) == 0) {
                const char *known = lx_fhir_type_for(o->fhir, entity, nt);
                if (known && strcmp(known, nt) == 0) {
                    type = known;
                    break;
                }
            }
        }
    }
    if (!type)
        type = lx_fhir_type_for(o->fhir, entity,
                                lx_json_str(json_object_get(ev, "origin"),
                                            "native_type"));
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x)
    {
        const char *sys = lx_json_str(x, "system");
        const char *nt = lx_json_str(x, "native_type");
        const char *nid = lx_json_str(x, "native_id");
        if (type && sys && nt && nid && strcmp(sys, o->system) == 0 &&
            strcmp(nt, type) == 0) {
            join(id, size, &nid, 1);
            *has_id = true;
            break;
        }
    }
    json_decref(list);
    return type;
}

/* [base]/[type]/[escaped id] */
static void instance_url(const lx_fhir_out *o, const char *type,
                         const char *id, lx_outbound_call *call)
{
    char *eid = lx_http_escape(id);
    const char *parts[] = {o->base, "/", type, "/", eid};
    join(call->url, sizeof(call->url), parts, 5);
    free(eid);
}

/* X-Lingua-Event-Id: delivery is at least once; a target can drop a
 * repeated event by its id (a retried event keeps its id). */
static void add_event_header(lx_outbound_call *call, const json_t *ev,
                             size_t slot)
{
    const char *id = lx_json_str(ev, "id");
    if (!id)
        return;
    size_t n = strlen("X-Lingua-Event-Id: ") + strlen(id) + 1;
    call->extra[0] = lx_xmalloc(n);
    const char *parts[] = {"X-Lingua-Event-Id: ", id};
    join(call->extra[0], n, parts, 2);
    call->http.headers[slot] = call->extra[0];
}

static int prepare(void *ctx, lx_store *store, const json_t *ev,
                   lx_outbound_call *call, bool *skip, lx_error *err)
{
    lx_fhir_out *o = ctx;
    const char *entity = lx_json_str(ev, "entity");
    const char *cid = lx_json_str(ev, "canonical_id");
    char id[LX_STORE_NATIVE_ID_MAX + 1] = "";
    bool has_id = false;
    const char *type = entity && cid ? type_and_id(o, store, ev, entity, cid,
                                                   id, sizeof(id), &has_id)
                                     : NULL;
    if (!type) {
        *skip = true; /* nothing this target takes */
        return 0;
    }
    join(call->native_type, sizeof(call->native_type), &type, 1);
    const char *etype = lx_json_str(ev, "type");
    size_t tl = etype ? strlen(etype) : 0;
    if (tl > 8 && strcmp(etype + tl - 8, ".deleted") == 0) {
        if (!has_id) {
            *skip = true; /* the target never had it */
            return 0;
        }
        instance_url(o, type, id, call);
        call->http.method = "DELETE";
        call->http.url = call->url;
        add_event_header(call, ev, 0);
        call->http.headers[1] = o->auth;
        return 0;
    }
    lx_map_store_ctx sc = {store, o->system};
    lx_map_resolver res;
    lx_map_resolver_store(&res, &sc);
    json_t *resource = NULL;
    int rc = lx_fhir_from_canonical(o->fhir, type,
                                    json_object_get(ev, "record"), &res,
                                    &resource, err);
    if (rc != 0)
        return rc;
    if (has_id) {
        json_object_set_new(resource, "id", json_string(id));
        instance_url(o, type, id, call);
    } else {
        /* Conditional update on the first identifier (FHIR R4 http.html,
         * "Conditional update"): the server finds or creates. */
        json_t *ids = json_object_get(json_object_get(ev, "record"),
                                      "identifiers");
        json_t *first = json_array_get(ids, 0);
        const char *sys = lx_json_str(first, "system");
        const char *val = lx_json_str(first, "value");
        if (!val) {
            json_decref(resource);
            return lx_error_set(err, LX_EINVAL, "the record has no identifier "
                                                "to update the target by");
        }
        char *es = lx_http_escape(sys ? sys : "");
        char *ev_ = lx_http_escape(val);
        const char *parts[] = {o->base, "/", type, "?identifier=", es, "%7C",
                               ev_};
        join(call->url, sizeof(call->url), parts, 7);
        free(es);
        free(ev_);
    }
    lx_buf body;
    lx_buf_init(&body, 0);
    rc = lx_fhir_out_body(o->fhir, resource, o->format, &body, err);
    json_decref(resource);
    if (rc != 0) {
        lx_buf_fini(&body);
        return rc;
    }
    call->body = lx_buf_take(&body, &call->http.body_len);
    call->http.body = call->body;
    call->http.method = "PUT";
    call->http.url = call->url;
    bool xml = o->format == LX_FHIR_XML;
    call->http.headers[0] = xml ? "Content-Type: application/fhir+xml"
                                : "Content-Type: application/fhir+json";
    call->http.headers[1] = xml ? "Accept: application/fhir+xml"
                                : "Accept: application/fhir+json";
    add_event_header(call, ev, 2);
    call->http.headers[3] = o->auth;
    return 0;
}

/* The server's id: from Location ([base]/Type/id/_history/v), else from the
 * body's "id" (JSON answers). */
static void native_id(void *ctx, const json_t *ev, const lx_http_result *res,
                      char *out, size_t size)
{
    lx_fhir_out *o = ctx;
    const char *entity = lx_json_str(ev, "entity");
    out[0] = '\0';
    if (!entity)
        return;
    /* Location: [base]/{type}/{id}/_history/{vid}, for whichever type of
     * the entity was sent. */
    const char *p = NULL;
    size_t pl = 0;
    for (size_t i = 0; !p && i < lx_fhir_type_count(o->fhir); i++) {
        const char *t = lx_fhir_type_at(o->fhir, i);
        if (strcmp(lx_fhir_entity_of(o->fhir, t), entity) != 0)
            continue;
        char pat[80];
        const char *parts[] = {"/", t, "/"};
        join(pat, sizeof(pat), parts, 3);
        p = strstr(res->location, pat);
        pl = strlen(pat);
    }
    if (p) {
        p += pl;
        size_t n = strcspn(p, "/?");
        if (n > 0 && n < size) {
            memcpy(out, p, n);
            out[n] = '\0';
            return;
        }
    }
    json_t *body = json_loadb(res->body ? res->body : "", res->body_len, 0,
                              NULL);
    const char *id = lx_json_str(body, "id");
    if (id)
        snprintf(out, size, "%s", id);
    json_decref(body);
}

void lx_fhir_out_ops(lx_fhir_out *o, lx_outbound_ops *ops)
{
    /* Members added later (perform) must be NULL, not stack garbage. */
    memset(ops, 0, sizeof(*ops));
    ops->prepare = prepare;
    ops->native_id = native_id;
    ops->ctx = o;
}
