/* adapters/map/map_resolver.c: the resolver over the store's
 * cross-references (see lx_map_resolver_store in map.h). */
#include "adapters/map/map.h"
#include "canonical/store.h"
#include "core/json.h"

#include <stdio.h>
#include <string.h>

_Static_assert(LX_MAP_ENTITY_SIZE >= LX_STORE_NAME_MAX + 1,
               "entity buffers hold any store entity");
_Static_assert(LX_MAP_ID_SIZE >= LX_STORE_ID_SIZE,
               "id buffers hold any canonical id");

static int copy_out(char *dst, size_t size, const char *src, lx_error *err)
{
    size_t n = strlen(src);
    if (n >= size)
        return lx_error_set(err, LX_ELIMIT, "cross-reference value too long");
    memcpy(dst, src, n + 1);
    return 0;
}

static int to_canonical(void *ctx, const char *native_type,
                        const char *native_id, char *entity, size_t entity_size,
                        char *id, size_t id_size, lx_error *err)
{
    const lx_map_store_ctx *c = ctx;
    char e[LX_STORE_NAME_MAX + 1], i[LX_STORE_ID_SIZE];
    int rc = lx_store_xref_find(c->store, c->system, native_type, native_id, e,
                                i, err);
    if (rc)
        return rc;
    rc = copy_out(entity, entity_size, e, err);
    return rc ? rc : copy_out(id, id_size, i, err);
}

static int to_native(void *ctx, const char *entity, const char *id,
                     const char *want_type, char *native_type,
                     size_t native_type_size, char *native_id,
                     size_t native_id_size, lx_error *err)
{
    const lx_map_store_ctx *c = ctx;
    json_t *list;
    int rc = lx_store_xref_list(c->store, entity, id, &list, err);
    if (rc)
        return rc;
    /* The first cross-reference of our system, of the wanted type when the
     * rule names one. */
    const json_t *pick = NULL, *x;
    size_t k;
    json_array_foreach(list, k, x)
    {
        const char *sys = lx_json_str(x, "system");
        const char *type = lx_json_str(x, "native_type");
        if (!sys || strcmp(sys, c->system) != 0 || !type)
            continue;
        if (want_type && strcmp(type, want_type) != 0)
            continue;
        pick = x;
        break;
    }
    if (!pick) {
        json_decref(list);
        return lx_error_set(err, LX_ENOTFOUND, "no cross-reference");
    }
    rc = copy_out(native_type, native_type_size,
                  json_string_value(json_object_get(pick, "native_type")), err);
    if (rc == 0) {
        const char *nid = json_string_value(json_object_get(pick, "native_id"));
        rc = nid ? copy_out(native_id, native_id_size, nid, err)
                 : lx_error_set(err, LX_ENOTFOUND, "no cross-reference");
    }
    json_decref(list);
    return rc;
}

void lx_map_resolver_store(lx_map_resolver *r, lx_map_store_ctx *ctx)
{
    r->to_canonical = to_canonical;
    r->to_native = to_native;
    r->ctx = ctx;
    r->to_canonical_ref = NULL;
}
