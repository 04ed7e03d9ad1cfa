/* core/hash.c: see hash.h. OpenSSL's one-shot EVP digest. */
#include "core/hash.h"
#include "core/error.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

void lx_sha256(const void *data, size_t len, uint8_t out[LX_SHA256_LEN])
{
    unsigned int n = 0;
    int ok = EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
    LX_ASSERT(ok == 1 && n == LX_SHA256_LEN);
}

void lx_hex(const uint8_t *bytes, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * len] = '\0';
}

void lx_hmac_sha256(const void *key, size_t key_len, const void *data,
                    size_t len, uint8_t out[LX_SHA256_LEN])
{
    unsigned int n = 0;
    uint8_t *r = HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n);
    LX_ASSERT(r != NULL && n == LX_SHA256_LEN);
}

bool lx_equal_ct(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}
