/* libFuzzer harness: JSON text validated against the canonical person
 * schema (parser and validator on hostile input). */
#include "canonical/registry.h"
#include "core/json.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lx_registry *reg;
    if (!reg && lx_registry_load(LX_FUZZ_SOURCE_DIR "/schemas/canonical", &reg,
                                 NULL) != 0)
        abort();
    const lx_schema *s = NULL;
    if (lx_registry_get(reg, "person", NULL, &s, NULL) != 0)
        abort();
    json_t *v = NULL;
    if (lx_json_parse((const char *)data, size, "fuzz", 1u << 20, &v, NULL) ==
        0) {
        lx_schema_issue issues[8];
        size_t count = 0;
        (void)lx_schema_validate_all(s, v, issues, 8, &count, NULL);
    }
    json_decref(v);
    return 0;
}
