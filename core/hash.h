/* core/hash.h: content hashing (SHA-256).
 *
 * Records are hashed in their canonical serialization (keys sorted, compact,
 * see lx_json_dump_canonical in json.h) so that key order or whitespace in
 * the input never makes two equal records look different. */
#ifndef LX_CORE_HASH_H
#define LX_CORE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LX_SHA256_LEN 32
#define LX_SHA256_HEX_SIZE (2 * LX_SHA256_LEN + 1)

void lx_sha256(const void *data, size_t len, uint8_t out[LX_SHA256_LEN]);

/* HMAC-SHA256 of data under key (RFC 2104). */
void lx_hmac_sha256(const void *key, size_t key_len, const void *data,
                    size_t len, uint8_t out[LX_SHA256_LEN]);

/* Constant-time comparison of n bytes (for signatures): true when equal. */
bool lx_equal_ct(const void *a, const void *b, size_t n);

/* Lower-case hex of a digest, NUL-terminated. */
void lx_hex(const uint8_t *bytes, size_t len, char *out);

#endif
