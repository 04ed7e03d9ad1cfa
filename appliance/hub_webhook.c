/* appliance/hub_webhook.c: what the inbound webhooks of every adapter kind
 * share (HR Open, REST): their configuration, the signature and
 * idempotency checks before a body is looked at, and the answer that is
 * remembered under the idempotency key. The checks themselves are
 * adapters/transport/webhook.h. */
#include "adapters/transport/webhook.h"
#include "appliance/hub_int.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

/*   "transport": {"http": "/adapters/<name>/inbound",
 *                 "signature": {"header": "X-Lingua-Signature",
 *                               "secret_env": "VAR"},
 *                 "idempotency_header": "Idempotency-Key"} */
int lx_hub_webhook_config(lx_hub *hub, size_t i, const json_t *a,
                          lx_hub_adapter *ha, lx_error *err)
{
    const lx_config *cfg = hub->cfg;
    json_t *transport = json_object_get(a, "transport");
    const char *http = lx_json_str(transport, "http");
    if (http)
        snprintf(ha->base, sizeof(ha->base), "%s", http);
    else
        snprintf(ha->base, sizeof(ha->base), "/adapters/%s/inbound",
                 ha->name);
    if (ha->base[0] != '/')
        return lx_hub_bad(err, cfg, i, "transport/http",
                          "must be a path starting with '/'");
    json_t *sig = json_object_get(transport, "signature");
    if (sig) {
        const char *header = lx_json_str(sig, "header");
        const char *secret = lx_json_str(sig, "secret");
        const char *env = lx_json_str(sig, "secret_env");
        if (env)
            secret = getenv(env);
        if (!secret || !*secret)
            return lx_hub_bad(err, cfg, i, "transport/signature",
                              "needs \"secret\" or \"secret_env\" naming a "
                              "set environment variable");
        snprintf(ha->sig_header, sizeof(ha->sig_header), "%s",
                 header ? header : "X-Lingua-Signature");
        ha->secret = lx_xstrdup(secret);
    }
    const char *idem = lx_json_str(transport, "idempotency_header");
    snprintf(ha->idem_header, sizeof(ha->idem_header), "%s",
             idem ? idem : "Idempotency-Key");
    return 0;
}

bool lx_hub_webhook_begin(lx_hub *hub, lx_hub_adapter *ha,
                          const lx_http_request *req, lx_http_response *resp,
                          const char **body, size_t *len, const char **key)
{
    lx_error err;
    lx_error_clear(&err);
    if (strcmp(lx_http_method(req), "POST") != 0) {
        lx_error_set(&err, LX_EINVAL, "POST the document");
        lx_hub_json_answer(resp, 405, lx_json_from_error(&err));
        return true;
    }
    if (lx_http_body_too_large(req)) {
        lx_error_set(&err, LX_ELIMIT, "the document is over the size limit");
        lx_hub_json_answer(resp, 413, lx_json_from_error(&err));
        return true;
    }
    *body = lx_http_body(req, len);
    if (ha->secret &&
        lx_webhook_verify(ha->secret, lx_http_header(req, ha->sig_header),
                          *body, *len, &err) != 0) {
        lx_hub_json_answer(resp, 401, lx_json_from_error(&err));
        return true;
    }
    *key = lx_http_header(req, ha->idem_header);
    if (*key && !**key)
        *key = NULL;
    if (!*key)
        return false;
    int status = 0;
    char *answer = NULL;
    int rc = lx_webhook_idem_get(hub->store, ha->name, *key, *body, *len,
                                 &status, &answer, &err);
    if (rc == 0) {
        lx_http_response_set(resp, status, "application/json", answer,
                             strlen(answer));
        lx_http_response_header(resp, "Idempotent-Replayed", "true");
        free(answer);
        return true;
    }
    if (rc == LX_ECONFLICT) {
        lx_hub_json_answer(resp, 422, lx_json_from_error(&err));
        return true;
    }
    return false;
}

void lx_hub_webhook_finish(lx_hub *hub, lx_hub_adapter *ha, const char *key,
                           const char *body, size_t len,
                           lx_http_response *resp, int status, json_t *answer)
{
    char *text = json_dumps(answer, JSON_COMPACT);
    json_decref(answer);
    lx_error err;
    lx_error_clear(&err);
    if (status == 200 && key &&
        lx_webhook_idem_put(hub->store, ha->name, key, body, len, status,
                            text, &err) != 0)
        lx_log_warn(NULL, "adapter %s: cannot remember an idempotency key: %s",
                    ha->name, err.msg);
    lx_http_response_set(resp, status, "application/json", text,
                         strlen(text));
    free(text);
}
