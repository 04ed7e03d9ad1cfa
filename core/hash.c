/* core/hash.c: see hash.h. OpenSSL's one-shot EVP digest. */
#include "core/hash.h"
#include "core/error.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>

/* The implementation fetched once: EVP_sha256() makes OpenSSL 3 look it up
 * again in its provider on every digest (a fifth of hashing 1 KiB). */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void lx_sha256(const void *data, size_t len, uint8_t out[LX_SHA256_LEN])
{
    unsigned int n = 0;
    pthread_once(&sha256_once, sha256_fetch);
    int ok = EVP_Digest(data, len, out, &n,
                        sha256_md ? sha256_md : EVP_sha256(), NULL);
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
