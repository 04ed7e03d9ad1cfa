/* canonical/ingest.c: see ingest.h. */
#include "canonical/ingest.h"
#include "canonical/schema.h"
#include "core/json.h"

#include <string.h>

static int member(const json_t *req, const char *key, bool required,
                  const char **out, lx_error *err)
{
    *out = NULL;
    json_t *v = json_object_get(req, key);
    if (!v || json_is_null(v)) {
        if (!required)
            return 0;
        lx_error_set(err, LX_EINVAL, "/%s: required string is missing", key);
    } else if (!json_is_string(v) || json_string_length(v) == 0) {
        lx_error_set(err, LX_EINVAL, "/%s: must be a non-empty string", key);
    } else {
        *out = json_string_value(v);
        return 0;
    }
    char ptr[80] = "";
    lx_json_pointer_append(ptr, sizeof(ptr), key);
    return lx_error_at(err, ptr, 0, 0);
}

int lx_ingest_parse(const json_t *req, lx_upsert *u, lx_error *err)
{
    memset(u, 0, sizeof(*u));
    if (!json_is_object(req)) {
        lx_error_set(err, LX_EINVAL, "the request must be a JSON object");
        return lx_error_at(err, "", 0, 0);
    }
    const char *op = NULL;
    int rc = member(req, "entity", true, &u->entity, err);
    rc = rc ? rc : member(req, "system", true, &u->system, err);
    rc = rc ? rc : member(req, "adapter", false, &u->adapter, err);
    rc = rc ? rc : member(req, "native_type", false, &u->native_type, err);
    rc = rc ? rc : member(req, "native_id", false, &u->native_id, err);
    rc = rc ? rc : member(req, "canonical_id", false, &u->canonical_id, err);
    rc = rc ? rc : member(req, "trace", false, &u->trace, err);
    rc = rc ? rc : member(req, "op", false, &op, err);
    if (rc != 0)
        return rc;
    if (!op || strcmp(op, "upsert") == 0) {
        u->op = LX_STORE_UPSERT;
    } else if (strcmp(op, "delete") == 0) {
        u->op = LX_STORE_DELETE;
    } else {
        lx_error_set(err, LX_EINVAL, "/op: must be \"upsert\" or \"delete\"");
        return lx_error_at(err, "/op", 0, 0);
    }
    u->record = json_object_get(req, "record");
    if (u->op == LX_STORE_UPSERT && !json_is_object(u->record)) {
        lx_error_set(err, LX_EINVAL, "/record: an upsert needs a record "
                                     "object");
        return lx_error_at(err, "/record", 0, 0);
    }
    return 0;
}

int lx_ingest_check(const lx_registry *reg, const lx_upsert *u, lx_error *err)
{
    const lx_schema *schema = NULL;
    int rc = lx_registry_get(reg, u->entity, NULL, &schema, err);
    if (rc != 0)
        return rc;
    if (u->op == LX_STORE_DELETE)
        return 0;
    return lx_schema_validate(schema, u->record, err);
}

int lx_ingest_submit(lx_store *store, const lx_registry *reg,
                     const lx_upsert *u, lx_store_done_fn done, void *ctx,
                     lx_error *err)
{
    int rc = lx_ingest_check(reg, u, err);
    return rc ? rc : lx_store_submit(store, u, done, ctx, err);
}

json_t *lx_ingest_result_json(const lx_upsert_result *res)
{
    return json_pack("{s:s,s:I,s:I,s:b,s:b,s:s}", "canonical_id",
                     res->canonical_id, "version", (json_int_t)res->version,
                     "seq", (json_int_t)res->seq, "created", res->created,
                     "unchanged", res->unchanged, "trace", res->trace);
}
