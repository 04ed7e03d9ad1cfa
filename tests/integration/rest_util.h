/* tests/integration/rest_util.h: what the REST adapter's integration
 * tests share. */
#ifndef LX_TESTS_INTEGRATION_REST_UTIL_H
#define LX_TESTS_INTEGRATION_REST_UTIL_H

#include "tests/integration/harness.h"

#include <jansson.h>

/* `lingua xref SYSTEM TYPE ID --data-dir <hub's>` (safe while the hub
 * runs): the record view (new reference: {"entity", "id", "version",
 * "xrefs", "record", ...}), or NULL when no such cross-reference. */
json_t *rest_xref(const lxt_hub *h, const char *system, const char *type,
                  const char *id);

/* Wait (bounded) until rest_xref finds it; the view or NULL. */
json_t *rest_wait_xref(const lxt_hub *h, const char *system, const char *type,
                       const char *id, int timeout_ms);

/* Stop the hub when it runs (SIGTERM, it must exit 0), scan its log, destroy it;
 * then the test's exit code: 1 with "FAIL" when a soft check failed,
 * else 0 with "PASS". */
int rest_finish(lxt_hub *h);

/* Stop the hub with SIGTERM and check that it exited 0. */
void rest_stop(lxt_hub *h);

/* "sha256=<hex>" of HMAC-SHA256(secret, body). */
void rest_sign(const char *secret, const char *body, char out[80]);

/* A reply with a JSON body (copied) and a status. */
void rest_reply_json(lxt_reply *rep, int status, const char *json);

#endif
