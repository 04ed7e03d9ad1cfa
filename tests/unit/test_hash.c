/* tests/unit/test_hash.c: SHA-256 against the published test vectors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/hash.h"

#include <string.h>

static void sha256_hex(const char *s, size_t len, char out[LX_SHA256_HEX_SIZE])
{
    uint8_t d[LX_SHA256_LEN];
    lx_sha256(s, len, d);
    lx_hex(d, sizeof(d), out);
}

/* FIPS 180-2 appendix B and the NIST CAVP short messages. */
static void test_sha256_of_empty_input(void **state)
{
    (void)state;
    char hex[LX_SHA256_HEX_SIZE];
    sha256_hex("", 0, hex);
    assert_string_equal(
        hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_sha256_of_abc(void **state)
{
    (void)state;
    char hex[LX_SHA256_HEX_SIZE];
    sha256_hex("abc", 3, hex);
    assert_string_equal(
        hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_sha256_of_two_block_message(void **state)
{
    (void)state;
    static const char msg[] =
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    char hex[LX_SHA256_HEX_SIZE];
    sha256_hex(msg, strlen(msg), hex);
    assert_string_equal(
        hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_sha256_hashes_embedded_nul_bytes(void **state)
{
    (void)state;
    char a[LX_SHA256_HEX_SIZE], b[LX_SHA256_HEX_SIZE];
    sha256_hex("a\0b", 3, a);
    sha256_hex("a", 1, b);
    assert_string_not_equal(a, b);
}

static void test_hex_is_lower_case_and_nul_terminated(void **state)
{
    (void)state;
    static const uint8_t bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char out[2 * sizeof(bytes) + 2];
    memset(out, 'X', sizeof(out));
    lx_hex(bytes, sizeof(bytes), out);
    assert_string_equal(out, "00017f80abff");
    assert_int_equal(out[sizeof(out) - 1], 'X');
}

static void test_hex_of_nothing_is_empty(void **state)
{
    (void)state;
    char out[1] = {'X'};
    lx_hex((const uint8_t *)"", 0, out);
    assert_string_equal(out, "");
}

static void test_hmac_sha256_rfc4231_case_2(void **state)
{
    (void)state;
    uint8_t mac[LX_SHA256_LEN];
    char hex[LX_SHA256_HEX_SIZE];
    const char *data = "what do ya want for nothing?";
    lx_hmac_sha256("Jefe", 4, data, strlen(data), mac);
    lx_hex(mac, sizeof(mac), hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739"
                             "839dec58b964ec3843");
    uint8_t other[LX_SHA256_LEN];
    memcpy(other, mac, sizeof(mac));
    assert_true(lx_equal_ct(mac, other, sizeof(mac)));
    other[31] ^= 1;
    assert_false(lx_equal_ct(mac, other, sizeof(mac)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_sha256_rfc4231_case_2),
        cmocka_unit_test(test_sha256_of_empty_input),
        cmocka_unit_test(test_sha256_of_abc),
        cmocka_unit_test(test_sha256_of_two_block_message),
        cmocka_unit_test(test_sha256_hashes_embedded_nul_bytes),
        cmocka_unit_test(test_hex_is_lower_case_and_nul_terminated),
        cmocka_unit_test(test_hex_of_nothing_is_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
