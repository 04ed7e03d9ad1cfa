/* tests/integration/rest_util.c: see rest_util.h. */
#include "tests/integration/rest_util.h"
#include "core/hash.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

json_t *rest_xref(const lxt_hub *h, const char *system, const char *type,
                  const char *id)
{
    const char *argv[] = {lxt_env_path("LX_LINGUA"), "xref", system, type, id,
                          "--data-dir", h->data_dir, NULL};
    char *out = NULL, *errout = NULL;
    int rc = lxt_run(argv, 20000 * lxt_scale(), &out, &errout, 1 << 20);
    json_t *view = rc == 0 && out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    free(errout);
    return view;
}

json_t *rest_wait_xref(const lxt_hub *h, const char *system, const char *type,
                       const char *id, int timeout_ms)
{
    uint64_t deadline = lxt_now_ms() + (uint64_t)(timeout_ms * lxt_scale());
    for (;;) {
        json_t *v = rest_xref(h, system, type, id);
        if (v || lxt_now_ms() > deadline)
            return v;
        lxt_sleep_ms(100);
    }
}

void rest_sign(const char *secret, const char *body, char out[80])
{
    uint8_t mac[LX_SHA256_LEN];
    char hex[LX_SHA256_HEX_SIZE];
    lx_hmac_sha256(secret, strlen(secret), body, strlen(body), mac);
    lx_hex(mac, sizeof(mac), hex);
    snprintf(out, 80, "sha256=%s", hex);
}

void rest_reply_json(lxt_reply *rep, int status, const char *json)
{
    rep->status = status;
    snprintf(rep->content_type, sizeof(rep->content_type), "%s",
             "application/json");
    rep->body_len = strlen(json);
    rep->body = malloc(rep->body_len + 1);
    memcpy(rep->body, json, rep->body_len + 1);
}

void rest_stop(lxt_hub *h)
{
    int st = lxt_hub_stop(h, SIGTERM, 15000 * lxt_scale());
    LXT_CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "hub exit status %d", st);
}

int rest_finish(lxt_hub *h)
{
    if (h->pid)
        rest_stop(h);
    lxt_hub_check_log(h);
    int fails = lxt_soft_failures();
    lxt_hub_destroy(h);
    if (fails) {
        printf("FAIL: %d checks failed\n", fails);
        return 1;
    }
    printf("PASS\n");
    return 0;
}
