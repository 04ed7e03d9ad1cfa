/* libFuzzer harness: FHIR XML -> JSON -> XML (the codec must never read a
 * DTD, an entity or the network, nor crash, whatever the input). */
#include "adapters/fhir/types.h"
#include "adapters/fhir/xml.h"
#include "core/buf.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lx_fhir_types *types;
    if (!types) {
        lx_fhir_xml_init();
        if (lx_fhir_types_load(LX_FUZZ_SOURCE_DIR "/schemas/fhir/r4/types.json",
                               &types, NULL) != 0)
            abort();
    }
    json_t *res = NULL;
    if (lx_fhir_xml_to_json(types, (const char *)data, size, 0, &res, NULL) ==
        0) {
        lx_buf out;
        lx_buf_init(&out, 64u << 20);
        (void)lx_fhir_json_to_xml(types, res, &out, NULL);
        lx_buf_fini(&out);
    }
    json_decref(res);
    return 0;
}
