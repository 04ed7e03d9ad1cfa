/* canonical/bus_serve.c: see bus_serve.h. */
#include "canonical/bus_serve.h"
#include "core/id.h"
#include "core/json.h"

#include <stdlib.h>
#include <string.h>

#define REPLAY_DEFAULT 1000
#define REPLAY_MAX 10000

void lx_bus_serve_json(lx_bus *bus, lx_bus_request *req, const char *status,
                       json_t *body, bool last)
{
    char *txt = json_dumps(body, JSON_COMPACT);
    LX_ASSERT(txt);
    lx_bus_reply(bus, req, status, txt, strlen(txt), last);
    free(txt);
    json_decref(body);
}

void lx_bus_serve_error(lx_bus *bus, lx_bus_request *req,
                        const lx_error *err)
{
    lx_bus_serve_json(bus, req, "ERR", lx_json_from_error(err), true);
}

void lx_bus_serve_get(lx_bus *bus, lx_bus_request *req, lx_store *store,
                      const json_t *body)
{
    lx_error err;
    lx_error_clear(&err);
    char entity[LX_STORE_NAME_MAX + 1] = "", id[LX_STORE_ID_SIZE] = "";
    const char *e = lx_json_str(body, "entity"), *i = lx_json_str(body, "id");
    const char *sys = lx_json_str(body, "system");
    const char *nid = lx_json_str(body, "native_id");
    int rc = 0;
    if (e && i) {
        snprintf(entity, sizeof(entity), "%s", e);
        snprintf(id, sizeof(id), "%s", i);
    } else if (sys && nid) {
        const char *nt = lx_json_str(body, "native_type");
        rc = lx_store_xref_find(store, sys, nt ? nt : (e ? e : ""), nid,
                                entity, id, &err);
    } else {
        rc = lx_error_set(&err, LX_EINVAL,
                          "GET needs entity and id, or system, native_type "
                          "and native_id");
    }
    json_t *rec = NULL;
    lx_record_meta meta;
    if (rc == 0)
        rc = lx_store_get(store, entity, id, &rec, &meta, &err);
    if (rc != 0) {
        lx_bus_serve_error(bus, req, &err);
        return;
    }
    char when[LX_TIME_SIZE];
    lx_time_format(meta.time_ms, when);
    json_t *out = json_pack("{s:s,s:s,s:I,s:s,s:b,s:I,s:o}", "entity", entity,
                            "id", id, "version", (json_int_t)meta.version,
                            "time", when, "deleted", meta.deleted, "seq",
                            (json_int_t)meta.seq, "record", rec);
    lx_bus_serve_json(bus, req, "OK", out, true);
}

typedef struct replay_ctx {
    lx_bus *bus;
    lx_bus_request *req;
} replay_ctx;

static int replay_one(void *ctx, uint64_t seq, const char *event, size_t len)
{
    (void)seq;
    replay_ctx *r = ctx;
    lx_bus_reply(r->bus, r->req, "EVENT", event, len, false);
    return 0;
}

int lx_bus_serve_replay(lx_bus *bus, lx_bus_request *req, lx_store *store,
                        const json_t *body)
{
    lx_error err;
    lx_error_clear(&err);
    json_t *from = json_object_get(body, "from");
    json_t *limit = json_object_get(body, "limit");
    if (!json_is_integer(from) || json_integer_value(from) < 0 ||
        (limit && (!json_is_integer(limit) || json_integer_value(limit) < 1))) {
        lx_error_set(&err, LX_EINVAL, "REPLAY needs \"from\" (an integer >= 0) "
                                      "and an optional \"limit\" >= 1");
        lx_bus_serve_error(bus, req, &err);
        return err.code;
    }
    size_t n = limit ? (size_t)json_integer_value(limit) : REPLAY_DEFAULT;
    if (n > REPLAY_MAX)
        n = REPLAY_MAX;
    uint64_t start = (uint64_t)json_integer_value(from);
    if (start == 0)
        start = 1;
    replay_ctx rc = {bus, req};
    uint64_t next = start;
    if (lx_store_events(store, start, n, replay_one, &rc, &next, &err) != 0) {
        lx_bus_serve_error(bus, req, &err);
        return err.code;
    }
    lx_bus_serve_json(bus, req, "END",
                      json_pack("{s:I,s:I}", "next", (json_int_t)next,
                                "last_seq",
                                (json_int_t)lx_store_last_seq(store)),
                      true);
    return 0;
}
