/* libFuzzer harness: the FHIR codec, whatever the input.
 *
 * 1. FHIR XML -> JSON -> XML: the codec must never read a DTD, an entity
 *    or the network, nor crash.
 * 2. The input as a JSON body: lx_json_parse (the in-place reader of
 *    core/json_int.h) answers exactly as jansson alone (same code, same
 *    tree), and on a resource
 *    the structure check without output (lx_fhir_json_check) answers as
 *    the XML writer.
 * 3. The input as a narrative: when the quick write takes it, it writes
 *    exactly what libxml2's path writes.
 * A difference aborts, so the fuzzer reports it with its input. */
#include "core/json_int.h"
#include "adapters/fhir/types.h"
#include "adapters/fhir/xml_int.h"
#include "core/buf.h"
#include "core/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void json_twice(const lx_fhir_types *types, const char *text,
                       size_t size)
{
    json_t *a = NULL, *b = NULL;
    int ra = lx_json_parse_jansson(text, size, "fuzz", LX_JSON_MAX_DEFAULT,
                                   &a, NULL);
    int rb = lx_json_parse(text, size, "fuzz", LX_JSON_MAX_DEFAULT, &b, NULL);
    if (ra != rb)
        abort();
    if (ra == 0) {
        char *da = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
        char *db = json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!json_equal(a, b) || strcmp(da, db) != 0)
            abort();
        free(da);
        free(db);
        lx_buf out;
        lx_buf_init(&out, 0);
        if (json_is_object(b) &&
            lx_fhir_json_check(types, b, 0, NULL) !=
                lx_fhir_json_to_xml(types, b, &out, NULL))
            abort();
        lx_buf_fini(&out);
    }
    json_decref(a);
    json_decref(b);
}

static void div_twice(const char *text, size_t size)
{
    lx_buf quick;
    lx_buf_init(&quick, 0);
    if (lx_fhir_xhtml_quick_write(&quick, text, size, 3)) {
        xmlDoc *doc = NULL;
        if (lx_fhir_xml_parse(text, size, &doc, NULL) != 0)
            abort();
        lx_buf slow;
        lx_buf_init(&slow, 0);
        long line = 0;
        if (lx_fhir_xhtml_write(&slow, xmlDocGetRootElement(doc), 3, &line,
                                NULL) != 0 ||
            slow.len != quick.len || memcmp(slow.data, quick.data,
                                            slow.len) != 0)
            abort();
        lx_buf_fini(&slow);
        xmlFreeDoc(doc);
    }
    lx_buf_fini(&quick);
}

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
    json_twice(types, (const char *)data, size);
    div_twice((const char *)data, size);
    return 0;
}
