/* libFuzzer harness: X12 parse (lenient, with the 005010 definitions) and
 * generate. Built with -DLX_FUZZ=ON (clang); see tests/fuzz/README.md. */
#include "adapters/edi/x12.h"
#include "core/buf.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lx_x12_defs *defs;
    if (!defs && lx_x12_defs_load(LX_FUZZ_SOURCE_DIR "/schemas/x12/005010",
                                  &defs, NULL) != 0)
        abort();
    for (int flags = 0; flags <= LX_X12_PARSE_LENIENT; flags++) {
        lx_x12_doc *doc = NULL;
        if (lx_x12_parse((const char *)data, size, defs, flags, &doc, NULL) ==
            0) {
            lx_buf out;
            lx_buf_init(&out, 64u << 20);
            (void)lx_x12_write(lx_x12_doc_tree(doc), NULL, 0, &out, NULL);
            lx_buf_fini(&out);
        }
        lx_x12_doc_destroy(&doc);
    }
    return 0;
}
