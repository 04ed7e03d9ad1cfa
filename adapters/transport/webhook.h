/* adapters/transport/webhook.h: what every inbound webhook checks before
 * its body is looked at: the sender's HMAC-SHA256 signature and the
 * idempotency key.
 *
 * Signature: the header (configurable, e.g. "X-Lingua-Signature") holds
 * "sha256=<hex>" or "<hex>" of HMAC-SHA256(secret, raw body); compared in
 * constant time. Idempotency: a request with an "Idempotency-Key" already
 * answered gets the stored answer again when its body is the same, and is
 * refused (422) when the body differs; the answers are kept in the store's
 * state ("idem/<instance>/<sha256 of the key>"). */
#ifndef LX_ADAPTERS_WEBHOOK_H
#define LX_ADAPTERS_WEBHOOK_H

#include "canonical/store.h"
#include "core/error.h"

#include <stdbool.h>
#include <stddef.h>

/* Check `signature` (the header's value, NULL when absent) against the
 * body. Errors: LX_EINVAL (absent, malformed or wrong: the message says
 * which, never the expected value). */
LX_NODISCARD int lx_webhook_verify(const char *secret, const char *signature,
                                   const char *body, size_t len,
                                   lx_error *err);

/* Look up an idempotency key. Returns 0 and fills *status and *answer
 * (malloc'd) when the same key was answered for the same body; LX_ENOTFOUND
 * when the key is new; LX_ECONFLICT when it was used with another body. */
LX_NODISCARD int lx_webhook_idem_get(lx_store *s, const char *instance,
                                     const char *key, const char *body,
                                     size_t len, int *status, char **answer,
                                     lx_error *err);

/* Remember the answer given to a key (durable when it returns). */
LX_NODISCARD int lx_webhook_idem_put(lx_store *s, const char *instance,
                                     const char *key, const char *body,
                                     size_t len, int status,
                                     const char *answer, lx_error *err);

#endif
