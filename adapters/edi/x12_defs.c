/* adapters/edi/x12_defs.c: transaction set definitions (stub). */
#include "adapters/edi/x12_int.h"

#include "core/mem.h"

struct lx_x12_defs {
    int unused;
};

int lx_x12_defs_load(const char *dir, lx_x12_defs **out, lx_error *err)
{
    (void)dir;
    *out = NULL;
    return lx_error_set(err, LX_EUNSUPPORTED, "not yet");
}

void lx_x12_defs_destroy(lx_x12_defs **defs)
{
    if (defs && *defs) {
        free(*defs);
        *defs = NULL;
    }
}

int lx_x12_defs_has_set(const lx_x12_defs *defs, const char *id)
{
    (void)defs;
    (void)id;
    return 0;
}

void lx_x12_defs_apply(const lx_x12_defs *defs, const lx_x12_body *body,
                       json_t *txn, lx_x12_doc *doc, const lx_x12_where *w)
{
    (void)defs;
    (void)doc;
    (void)w;
    json_object_set(txn, "segments", body->segments);
}
