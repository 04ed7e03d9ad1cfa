/* conformance/driver_rest.c: the REST adapter (adapters/rest/): not yet
 * runnable by the suite. */
#include "conformance/conform_int.h"

static int rest_open(const char *root, const char *adapter_dir,
                     const json_t *options, void **sp, lx_error *err)
{
    (void)root;
    (void)adapter_dir;
    (void)options;
    *sp = NULL;
    return lx_error_set(err, LX_EUNSUPPORTED,
                        "the REST adapter has no conformance driver yet");
}

static void rest_close(void **sp)
{
    *sp = NULL;
}

const lx_conform_driver lx_conform_driver_rest = {
    .kind = "rest", .map_folder = "rest", .open = rest_open,
    .close = rest_close};
