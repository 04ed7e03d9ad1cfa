/* libFuzzer harness: EDIFACT parse (strict and lenient, with the D.96A
 * definitions) and generate. */
#include "adapters/edi/edifact.h"
#include "core/buf.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lx_edifact_defs *defs;
    if (!defs &&
        lx_edifact_defs_load(LX_FUZZ_SOURCE_DIR "/schemas/edifact/d96a", &defs,
                             NULL) != 0)
        abort();
    for (unsigned flags = 0; flags <= LX_EDIFACT_LENIENT; flags++) {
        lx_edifact_options o = {.flags = flags, .defs = defs};
        lx_edifact_diags diags;
        lx_edifact_diags_init(&diags);
        json_t *tree = NULL;
        if (lx_edifact_parse((const char *)data, size, &o, &tree, &diags,
                             NULL) == 0) {
            lx_edifact_gen_options g = {0};
            lx_buf out;
            lx_buf_init(&out, 64u << 20);
            (void)lx_edifact_generate(tree, &g, &out, NULL);
            lx_buf_fini(&out);
        }
        json_decref(tree);
        lx_edifact_diags_fini(&diags);
    }
    return 0;
}
