/* adapters/edi/edifact_defs.c: message definitions loaded from data. */
#include "adapters/edi/edifact.h"

int lx_edifact_message_apply(const lx_edifact_defs *defs, json_t *msg,
                             char decimal, const char *interchange_ref,
                             const char *group_ref, lx_edifact_diags *diags)
{
    (void)defs; (void)msg; (void)decimal; (void)interchange_ref;
    (void)group_ref; (void)diags;
    return 0;
}
