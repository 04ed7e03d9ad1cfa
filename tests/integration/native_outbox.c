/* tests/integration/native_outbox.c: a native adapter (.so) for
 * test_hub_native that exercises what the Acme example does not: FILE
 * requests, its configuration and an inbound http_status.
 *
 *   open     config {"prefix": "p"} (a string, default "person"); anything
 *            else at /prefix is LINGUA_ECONFIG
 *   outbound a person event becomes the file "<prefix>-<canonical_id>.json"
 *            holding the record (a "person.deleted": the text "deleted",
 *            although the event carries the last content); other
 *            entities are LINGUA_SKIP
 *   inbound  refuses every document: LINGUA_ECONFLICT at "/", HTTP 409
 *
 * Built like a vendor's library: lingua_adapter.h only, jansson its own. */
#include "lingua_adapter.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct outbox_adapter {
    char prefix[64];
} outbox_adapter;

static int refuse(lingua_status *st, int code, const char *location,
                  const char *message)
{
    st->code = code;
    snprintf(st->location, sizeof(st->location), "%s", location);
    snprintf(st->message, sizeof(st->message), "%s", message);
    return code;
}

static int ob_open(const char *config, size_t config_len,
                   const lingua_host *host, void **instance,
                   lingua_status *st)
{
    (void)host;
    json_t *conf = json_loadb(config, config_len, 0, NULL);
    const json_t *prefix = json_object_get(conf, "prefix");
    int bad = prefix && (!json_is_string(prefix) ||
                         json_string_length(prefix) == 0 ||
                         json_string_length(prefix) > 32);
    outbox_adapter *a = bad ? NULL : calloc(1, sizeof(*a));
    if (a)
        snprintf(a->prefix, sizeof(a->prefix), "%s",
                 prefix ? json_string_value(prefix) : "person");
    json_decref(conf);
    if (bad)
        return refuse(st, LINGUA_ECONFIG, "/prefix",
                      "prefix must be a string of 1 to 32 characters");
    if (!a)
        return refuse(st, LINGUA_ELIMIT, "", "out of memory");
    *instance = a;
    return LINGUA_OK;
}

static void ob_close(void *instance)
{
    free(instance);
}

static int ob_inbound(void *instance, const lingua_document *doc,
                      lingua_status *st)
{
    (void)instance;
    (void)doc;
    st->http_status = 409;
    return refuse(st, LINGUA_ECONFLICT, "/", "this system sends nothing");
}

static int ob_outbound(void *instance, const lingua_event *ev,
                       lingua_request *req, lingua_status *st)
{
    const outbox_adapter *a = instance;
    json_t *event = json_loadb(ev->json, ev->len, 0, NULL);
    const char *entity = json_string_value(json_object_get(event, "entity"));
    const char *cid =
        json_string_value(json_object_get(event, "canonical_id"));
    if (!entity || strcmp(entity, "person") != 0 || !cid) {
        json_decref(event);
        return LINGUA_SKIP;
    }
    const char *type = json_string_value(json_object_get(event, "type"));
    const json_t *record = type && strcmp(type, "person.deleted") == 0
                               ? NULL
                               : json_object_get(event, "record");
    req->kind = LINGUA_REQUEST_FILE;
    size_t n = strlen(a->prefix) + strlen(cid) + 8;
    req->path = malloc(n);
    if (req->path)
        snprintf(req->path, n, "%s-%s.json", a->prefix, cid);
    req->body = record ? json_dumps(record, JSON_COMPACT | JSON_SORT_KEYS)
                       : strdup("deleted");
    req->body_len = req->body ? strlen(req->body) : 0;
    json_decref(event);
    if (!req->path || !req->body)
        return refuse(st, LINGUA_ELIMIT, "", "out of memory");
    return LINGUA_OK;
}

static void ob_free_request(void *instance, lingua_request *req)
{
    (void)instance;
    free(req->path);
    free(req->body);
}

static const struct lingua_adapter descriptor = {
    .abi_version = LINGUA_ADAPTER_ABI_VERSION,
    .size = sizeof(struct lingua_adapter),
    .name = "test-outbox",
    .version = "0.1.0",
    .suite = "none",
    .open = ob_open,
    .close = ob_close,
    .inbound = ob_inbound,
    .outbound = ob_outbound,
    .free_request = ob_free_request,
};

LINGUA_ADAPTER_EXPORT const struct lingua_adapter *lingua_adapter_v1(void)
{
    return &descriptor;
}
