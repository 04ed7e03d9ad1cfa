/* adapters/edi/edifact_diag.c: the findings list a CONTRL report is built
 * from. */
#include "adapters/edi/edifact.h"
#include "core/mem.h"

#include <stdio.h>
#include <string.h>

void lx_edifact_diags_init(lx_edifact_diags *d)
{
    LX_ASSERT(d != NULL);
    memset(d, 0, sizeof *d);
}

void lx_edifact_diags_fini(lx_edifact_diags *d)
{
    if (d == NULL)
        return;
    free(d->items);
    memset(d, 0, sizeof *d);
}

void lx_edifact_diags_add(lx_edifact_diags *d, const lx_edifact_diag *dg)
{
    LX_ASSERT(dg != NULL);
    if (d == NULL)
        return;
    if (d->count >= LX_EDIFACT_MAX_DIAGS) {
        d->dropped++;
        return;
    }
    if (d->count == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->items = lx_xrealloc(d->items, d->cap * sizeof *d->items);
    }
    d->items[d->count++] = *dg;
}

const char *lx_edifact_diag_format(const lx_edifact_diag *dg, char *buf,
                                   size_t size)
{
    LX_ASSERT(dg != NULL && buf != NULL && size > 0);
    size_t n = 0;
    int w;
    buf[0] = '\0';
#define LX_DIAG_PUT(...)                                                     \
    do {                                                                     \
        w = snprintf(buf + n, size - n, __VA_ARGS__);                        \
        if (w > 0)                                                           \
            n = (size_t)w >= size - n ? size - 1 : n + (size_t)w;            \
    } while (0)
    if (dg->interchange_ref[0] != '\0')
        LX_DIAG_PUT("UNB %s ", dg->interchange_ref);
    if (dg->group_ref[0] != '\0')
        LX_DIAG_PUT("UNG %s ", dg->group_ref);
    if (dg->message_ref[0] != '\0')
        LX_DIAG_PUT("UNH %s ", dg->message_ref);
    if (dg->segment_pos > 0)
        LX_DIAG_PUT("segment %ld ", dg->segment_pos);
    if (dg->segment_tag[0] != '\0')
        LX_DIAG_PUT("(%s) ", dg->segment_tag);
    if (dg->element > 0)
        LX_DIAG_PUT("element %d ", dg->element);
    if (dg->component > 0)
        LX_DIAG_PUT("component %d ", dg->component);
    if (n > 0 && buf[n - 1] == ' ')
        buf[--n] = '\0';
    LX_DIAG_PUT("%s%s [%d]", n > 0 ? ": " : "", dg->msg, dg->code);
#undef LX_DIAG_PUT
    return buf;
}
