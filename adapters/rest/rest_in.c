/* adapters/rest/rest_in.c: see rest_in.h. */
#include "adapters/rest/rest_in.h"
#include "adapters/rest/rest_pointer.h"
#include "canonical/ingest.h"
#include "core/json.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lx_rest_in {
    lx_map *map;
    char *system, *adapter, *items, *id, *native_type;
    char entity[LX_STORE_NAME_MAX + 1];
};

int lx_rest_in_new(const lx_rest_in_options *opts, lx_rest_in **out,
                   lx_error *err)
{
    *out = NULL;
    if (opts->items && !lx_rest_pointer_valid(opts->items))
        return lx_error_set(err, LX_ECONFIG, "items: a JSON pointer is needed "
                                             "(\"/items\")");
    if (opts->id && !lx_rest_pointer_valid(opts->id))
        return lx_error_set(err, LX_ECONFIG, "id: a JSON pointer is needed "
                                             "(\"/id\")");
    lx_map *map = NULL;
    int rc = lx_map_load(opts->map_path, &map, err);
    if (rc != 0)
        return rc;
    const char *entity = lx_map_entity(map);
    if (!entity || strlen(entity) > LX_STORE_NAME_MAX) {
        lx_map_destroy(&map);
        return lx_error_set(err, LX_ECONFIG, "map: the mapping names no "
                                             "canonical.entity");
    }
    lx_rest_in *in = lx_xcalloc(1, sizeof(*in));
    in->map = map;
    snprintf(in->entity, sizeof(in->entity), "%s", entity);
    in->system = lx_xstrdup(opts->system);
    in->adapter = lx_xstrdup(opts->adapter ? opts->adapter : "");
    in->items = opts->items ? lx_xstrdup(opts->items) : NULL;
    in->id = lx_xstrdup(opts->id ? opts->id : "/id");
    const char *nt = opts->native_type ? opts->native_type
                                       : lx_map_native_type(map);
    in->native_type = lx_xstrdup(nt && *nt ? nt : entity);
    *out = in;
    return 0;
}

void lx_rest_in_destroy(lx_rest_in **ip)
{
    lx_rest_in *in = *ip;
    if (!in)
        return;
    *ip = NULL;
    lx_map_destroy(&in->map);
    free(in->system);
    free(in->adapter);
    free(in->items);
    free(in->id);
    free(in->native_type);
    free(in);
}

const char *lx_rest_in_entity(const lx_rest_in *in)
{
    return in->entity;
}

int lx_rest_in_ingest(const lx_rest_in *in, lx_store *store,
                      const lx_registry *reg, const char *body, size_t len,
                      const char *transport, json_t **answer, lx_error *err)
{
    *answer = NULL;
    json_t *doc = NULL;
    int rc = lx_json_parse(body, len, "body", LX_JSON_MAX_DEFAULT, &doc, err);
    if (rc != 0)
        return rc;
    const json_t *list = in->items ? lx_rest_pointer_get(doc, in->items)
                                   : doc;
    if (in->items && !json_is_array(list)) {
        json_decref(doc);
        lx_error_set(err, LX_EINVAL, "%s: a list of records is needed here",
                     in->items);
        return lx_error_at(err, in->items, 0, 0);
    }
    rc = lx_rest_in_ingest_records(in, store, reg, list,
                                   in->items ? in->items : "", transport,
                                   answer, err);
    json_decref(doc);
    return rc;
}

/* The records of one body, mapped and checked. */
typedef struct batch {
    lx_upsert *u;
    json_t **records;
    char (*ids)[LX_STORE_NATIVE_ID_MAX + 1];
    size_t n;
} batch;

static int map_one(const lx_rest_in *in, const json_t *item, const char *at,
                   const lx_map_resolver *res, const lx_registry *reg,
                   const char *note, batch *b, lx_error *err)
{
    size_t i = b->n;
    const char *where = at;
    if (!at[0])
        at = "body"; /* the body is the record itself */
    if (!json_is_object(item)) {
        lx_error_set(err, LX_EINVAL, "%s: a record must be a JSON object",
                     at);
        return lx_error_at(err, where, 0, 0);
    }
    json_t *rec = NULL;
    int rc = lx_map_run(in->map, LX_MAP_IN, item, res, &rec, NULL, err);
    if (rc != 0) {
        lx_error_prefix(err, "%s", at);
        return rc;
    }
    b->records[i] = rec;
    b->n++;
    b->ids[i][0] = '\0';
    const json_t *id = lx_rest_pointer_get(item, in->id);
    if (id && !lx_rest_scalar_text(id, b->ids[i], sizeof(b->ids[i]))) {
        lx_error_set(err, LX_EINVAL, "%s%s: the record's id must be a "
                                     "string or a number of at most %d "
                                     "characters",
                     at, in->id, LX_STORE_NATIVE_ID_MAX);
        return LX_EINVAL;
    }
    b->u[i] = (lx_upsert){.op = LX_STORE_UPSERT,
                          .entity = in->entity,
                          .system = in->system,
                          .adapter = in->adapter,
                          .native_type = in->native_type,
                          .native_id = b->ids[i][0] ? b->ids[i] : NULL,
                          .record = rec,
                          .note = note};
    rc = lx_ingest_check(reg, &b->u[i], err);
    if (rc != 0)
        lx_error_prefix(err, "%s: mapped record", at);
    return rc;
}

int lx_rest_in_ingest_records(const lx_rest_in *in, lx_store *store,
                              const lx_registry *reg, const json_t *list,
                              const char *base, const char *transport,
                              json_t **answer, lx_error *err)
{
    *answer = NULL;
    size_t n = json_is_array(list) ? json_array_size(list) : 1;
    if (n > LX_STORE_GROUP_MAX)
        return lx_error_set(err, LX_ELIMIT, "%zu records in one body (%d at "
                                            "most)",
                            n, LX_STORE_GROUP_MAX);
    char note[256];
    snprintf(note, sizeof(note),
             "{\"transport\":\"%s\",\"format\":\"json\",\"map\":\"%s\"}",
             transport, lx_map_id(in->map));
    batch b = {.u = lx_xcalloc(n ? n : 1, sizeof(*b.u)),
               .records = lx_xcalloc(n ? n : 1, sizeof(*b.records)),
               .ids = lx_xcalloc(n ? n : 1, sizeof(*b.ids))};
    lx_map_store_ctx sc = {store, in->system};
    lx_map_resolver res;
    lx_map_resolver_store(&res, &sc);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char at[LX_ERROR_WHERE_MAX] = "";
        const json_t *item = list;
        if (json_is_array(list)) {
            snprintf(at, sizeof(at), "%s", base);
            lx_json_pointer_append_index(at, sizeof(at), i);
            item = json_array_get(list, i);
        }
        rc = map_one(in, item, at, &res, reg, note, &b, err);
    }
    lx_upsert_result *results = lx_xcalloc(n ? n : 1, sizeof(*results));
    if (rc == 0 && n)
        rc = lx_store_upsert_group(store, b.u, n, results, err);
    if (rc == 0) {
        json_t *out = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(
                out, json_pack("{s:s,s:s?,s:s,s:I,s:b,s:b}", "entity",
                               in->entity, "native_id",
                               b.ids[i][0] ? b.ids[i] : NULL, "canonical_id",
                               results[i].canonical_id, "version",
                               (json_int_t)results[i].version, "created",
                               results[i].created, "unchanged",
                               results[i].unchanged));
        *answer = json_pack("{s:o}", "records", out);
    }
    for (size_t i = 0; i < b.n; i++)
        json_decref(b.records[i]);
    free(results);
    free(b.u);
    free(b.records);
    free(b.ids);
    return rc;
}
