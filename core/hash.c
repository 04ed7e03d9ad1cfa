/* core/hash.c: see hash.h. OpenSSL's one-shot EVP digest. */
#include "core/hash.h"
#include "core/error.h"

#include <openssl/evp.h>

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
