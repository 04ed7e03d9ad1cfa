/* adapters/transport/webhook.c: see webhook.h. */
#include "adapters/transport/webhook.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/mem.h"

#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int lx_webhook_verify(const char *secret, const char *signature,
                      const char *body, size_t len, lx_error *err)
{
    if (!signature || !*signature)
        return lx_error_set(err, LX_EINVAL, "the request is not signed");
    const char *hex = signature;
    if (strncmp(hex, "sha256=", 7) == 0)
        hex += 7;
    uint8_t given[LX_SHA256_LEN];
    if (strlen(hex) != 2 * LX_SHA256_LEN)
        return lx_error_set(err, LX_EINVAL, "the signature is not 64 hex "
                                            "digits of HMAC-SHA256");
    for (size_t i = 0; i < LX_SHA256_LEN; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return lx_error_set(err, LX_EINVAL, "the signature is not hex");
        given[i] = (uint8_t)(hi << 4 | lo);
    }
    uint8_t want[LX_SHA256_LEN];
    lx_hmac_sha256(secret, strlen(secret), body, len, want);
    if (!lx_equal_ct(given, want, sizeof(want)))
        return lx_error_set(err, LX_EINVAL, "the signature does not match "
                                            "the body");
    return 0;
}

static void idem_key(const char *instance, const char *key, char *out,
                     size_t size)
{
    uint8_t h[LX_SHA256_LEN];
    char hex[LX_SHA256_HEX_SIZE];
    lx_sha256(key, strlen(key), h);
    lx_hex(h, sizeof(h), hex);
    snprintf(out, size, "idem/%s/%s", instance, hex);
}

static void body_hash(const char *body, size_t len, char hex[65])
{
    uint8_t h[LX_SHA256_LEN];
    lx_sha256(body, len, h);
    lx_hex(h, sizeof(h), hex);
}

int lx_webhook_idem_get(lx_store *s, const char *instance, const char *key,
                        const char *body, size_t len, int *status,
                        char **answer, lx_error *err)
{
    *answer = NULL;
    char k[LX_STORE_KEY_MAX + 1], hex[LX_SHA256_HEX_SIZE];
    idem_key(instance, key, k, sizeof(k));
    char *v = NULL;
    int rc = lx_store_state_get(s, k, &v, NULL, err);
    if (rc != 0)
        return rc;
    json_t *o = json_loads(v, 0, NULL);
    free(v);
    body_hash(body, len, hex);
    const char *seen = lx_json_str(o, "body");
    if (!seen || strcmp(seen, hex) != 0) {
        json_decref(o);
        return lx_error_set(err, LX_ECONFLICT,
                            "this idempotency key was used for another body");
    }
    *status = (int)json_integer_value(json_object_get(o, "status"));
    const char *a = lx_json_str(o, "answer");
    *answer = lx_xstrdup(a ? a : "");
    json_decref(o);
    return 0;
}

int lx_webhook_idem_put(lx_store *s, const char *instance, const char *key,
                        const char *body, size_t len, int status,
                        const char *answer, lx_error *err)
{
    char k[LX_STORE_KEY_MAX + 1], hex[LX_SHA256_HEX_SIZE];
    idem_key(instance, key, k, sizeof(k));
    body_hash(body, len, hex);
    json_t *o = json_pack("{s:s,s:i,s:s}", "body", hex, "status", status,
                          "answer", answer);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    int rc = lx_store_state_put(s, k, text, strlen(text), err);
    free(text);
    return rc;
}
