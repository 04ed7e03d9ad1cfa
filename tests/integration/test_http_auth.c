/* Integration: once the configuration sets an API token, every HTTP
 * request that writes needs "Authorization: Bearer <token>"; reads and
 * health checks do not. Real hub process, real HTTP on 127.0.0.1. */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOKEN "t0ken-for-tests-0123456789"

static lxt_hub hub;

static long post(const char *url, const char *auth, const char *body,
                 lx_http_result *res)
{
    const char *headers[3] = {"Content-Type: application/fhir+json", auth,
                              NULL};
    if (lxt_http("POST", url, headers, body, strlen(body), 10000, res) != 0)
        LXT_FAIL("POST %s: no answer", url);
    return res->status;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm((unsigned)(60 * lxt_scale()));
    lxt_hub_init_http(&hub,
                      "\"security\": {\"api_token\": \"" TOKEN "\"}, "
                      "\"systems\": {\"ehr\": {}}, \"adapters\": [{\"name\": "
                      "\"ehr-in\", \"system\": \"ehr\", \"use\": \"fhir\", "
                      "\"direction\": \"in\"}]");
    lxt_hub_start(&hub, 15000, true);
    char url[256], health[256];
    snprintf(url, sizeof(url), "%s/fhir/r4/Patient", hub.http_url);
    snprintf(health, sizeof(health), "%s/health", hub.http_url);
    const char *patient =
        "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":"
        "\"urn:x\",\"value\":\"1\"}],\"name\":[{\"family\":\"Auth\"}]}";

    lx_http_result res;
    /* Reads need no token. */
    LXT_CHECK(lxt_http("GET", health, NULL, NULL, 0, 10000, &res) == 0 &&
                  res.status == 200,
              "GET /health without a token: %ld", res.status);
    lx_http_result_fini(&res);
    /* Writes do. */
    LXT_CHECK(post(url, NULL, patient, &res) == 401,
              "POST without a token: %ld", res.status);
    LXT_CHECK(strstr(res.body, "Bearer") != NULL, "401 body says Bearer");
    lx_http_result_fini(&res);
    LXT_CHECK(post(url, "Authorization: Bearer wrong-token-0123456789",
                   patient, &res) == 401,
              "POST with a wrong token: %ld", res.status);
    lx_http_result_fini(&res);
    LXT_CHECK(post(url, "Authorization: Basic " TOKEN, patient, &res) == 401,
              "POST with another scheme: %ld", res.status);
    lx_http_result_fini(&res);
    LXT_CHECK(post(url, "Authorization: Bearer " TOKEN, patient, &res) == 201,
              "POST with the token: %ld (%s)", res.status, res.body);
    lx_http_result_fini(&res);
    int st = lxt_hub_stop(&hub, SIGTERM, 10000);
    LXT_CHECK(st == 0, "hub exit status %d", st);
    lxt_hub_destroy(&hub);
    printf("test_http_auth: ok\n");
    return 0;
}
