/* Unit tests of webhook signatures and idempotency keys
 * (adapters/transport/webhook.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "adapters/transport/webhook.h"
#include "core/hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void sign(const char *secret, const char *body, char out[80])
{
    uint8_t mac[LX_SHA256_LEN];
    char hex[LX_SHA256_HEX_SIZE];
    lx_hmac_sha256(secret, strlen(secret), body, strlen(body), mac);
    lx_hex(mac, sizeof(mac), hex);
    snprintf(out, 80, "sha256=%s", hex);
}

static void test_webhook_signature_accepted_and_rejected(void **state)
{
    (void)state;
    const char *body = "{\"workers\":[]}";
    char sig[80];
    sign("s3cret", body, sig);
    lx_error err;
    assert_int_equal(lx_webhook_verify("s3cret", sig, body, strlen(body),
                                       &err), 0);
    /* Bare hex is accepted too. */
    assert_int_equal(lx_webhook_verify("s3cret", sig + 7, body, strlen(body),
                                       &err), 0);
    /* Another secret, another body, no signature, garbage. */
    assert_int_equal(lx_webhook_verify("other", sig, body, strlen(body), &err),
                     LX_EINVAL);
    assert_non_null(strstr(err.msg, "does not match"));
    assert_int_equal(lx_webhook_verify("s3cret", sig, "{}", 2, &err),
                     LX_EINVAL);
    assert_int_equal(lx_webhook_verify("s3cret", NULL, body, strlen(body),
                                       &err), LX_EINVAL);
    assert_non_null(strstr(err.msg, "not signed"));
    assert_int_equal(lx_webhook_verify("s3cret", "sha256=zz", body,
                                       strlen(body), &err), LX_EINVAL);
}

static void test_webhook_idempotency_replays_and_refuses_reuse(void **state)
{
    (void)state;
    char dir[] = "/tmp/lx-test-webhook-XXXXXX";
    assert_non_null(mkdtemp(dir));
    lx_store_options o = {.dir = dir, .no_sync = true};
    lx_store *s = NULL;
    assert_int_equal(lx_store_open(&o, &s, NULL), 0);
    lx_error err;
    int status = 0;
    char *answer = NULL;
    assert_int_equal(lx_webhook_idem_get(s, "hr-in", "k1", "a", 1, &status,
                                         &answer, &err),
                     LX_ENOTFOUND);
    assert_int_equal(lx_webhook_idem_put(s, "hr-in", "k1", "a", 1, 200,
                                         "{\"ok\":1}", &err), 0);
    assert_int_equal(lx_webhook_idem_get(s, "hr-in", "k1", "a", 1, &status,
                                         &answer, &err), 0);
    assert_int_equal(status, 200);
    assert_string_equal(answer, "{\"ok\":1}");
    free(answer);
    assert_int_equal(lx_webhook_idem_get(s, "hr-in", "k1", "b", 1, &status,
                                         &answer, &err),
                     LX_ECONFLICT);
    assert_null(answer);
    /* Keys are per adapter instance. */
    assert_int_equal(lx_webhook_idem_get(s, "other-in", "k1", "a", 1, &status,
                                         &answer, &err),
                     LX_ENOTFOUND);
    lx_store_close(&s);
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_webhook_signature_accepted_and_rejected),
        cmocka_unit_test(test_webhook_idempotency_replays_and_refuses_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
