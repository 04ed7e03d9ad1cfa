/* adapters/rest/rest_auth.h: how the REST adapter authenticates its calls
 * to a system (outbound deliveries and inbound polling).
 *
 * The "auth" object of an adapter instance (docs/rest-adapter.md):
 *   {"type": "none"}
 *   {"type": "basic", "username": "u", "password_env": "VAR"}
 *   {"type": "bearer", "token_env": "VAR"}
 *   {"type": "api_key", "header": "X-API-Key", "key_env": "VAR"}
 *   {"type": "oauth2", "token_url": "http://...", "client_id": "id",
 *    "client_secret_env": "VAR", "scope": "a b", "client_auth": "basic" |
 *    "body", "refresh_before_s": 30}
 * Each secret is read from the environment variable its "*_env" member
 * names (a literal "password", "token", "key" or "client_secret" is
 * accepted for tests). Secrets are never logged nor put in an error.
 *
 * OAuth2 is the client credentials grant (RFC 6749 section 4.4): the token
 * is fetched on first use, cached, and fetched again once it is within
 * refresh_before_s of its expires_in (at most half its lifetime), so calls
 * never carry an expired token; a 401 from the system makes the caller
 * ask again with `force`, which fetches a new token (once per 401).
 *
 * Threads: an lx_rest_auth may be used by several threads at once (a
 * mutex guards the token and the token endpoint's HTTP client). */
#ifndef LX_ADAPTERS_REST_AUTH_H
#define LX_ADAPTERS_REST_AUTH_H

#include "core/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct lx_rest_auth lx_rest_auth;

/* Read the "auth" object (NULL: none). Secrets are read now.
 * Ownership: *out is the caller's (lx_rest_auth_destroy).
 * Errors: LX_ECONFIG, the message starting with the member
 * ("auth/token_url: ..."). */
LX_NODISCARD int lx_rest_auth_new(const json_t *conf, lx_rest_auth **out,
                                  lx_error *err);
void lx_rest_auth_destroy(lx_rest_auth **a);

/* Whether the header changes over time (OAuth2): a caller that keeps a
 * call for retries asks again before each attempt. */
bool lx_rest_auth_is_dynamic(const lx_rest_auth *a);

/* The header line to send ("Authorization: Bearer ..."), malloc'd, in
 * *line; NULL when the type is none. force discards a cached OAuth2
 * token first (the system answered 401). timeout_ms bounds a token call.
 * Errors (OAuth2 only): LX_EREMOTE, LX_ETIMEOUT (token endpoint
 * unreachable or 5xx: worth retrying), LX_EINVAL (it refused the client
 * or answered no access_token). */
LX_NODISCARD int lx_rest_auth_header(lx_rest_auth *a, bool force,
                                     long timeout_ms, char **line,
                                     lx_error *err);

/* Tokens fetched so far (OAuth2; for tests and /metrics). */
uint64_t lx_rest_auth_token_count(lx_rest_auth *a);

#endif
