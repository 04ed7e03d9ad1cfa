/* Integration: the REST adapter's outbound calls on a real hub.
 *
 * Two loopback systems:
 *   badge   POST /api/holders -> 201 + Location .../holders/h-<employee>
 *           (422 for employee E-BAD), PUT and DELETE /api/holders/h-...
 *   secure  POST /oauth/token (client credentials, expires_in 2 s) and
 *           POST /secure/holders, which accepts only a live token (401
 *           for an expired one, and once on demand for a revoked one)
 * Persons are ingested from system "hr" over the bus.
 *   1. OAuth2: the first call fetches a token; a call 1.3 s later carries
 *      a second token fetched before the first expired; a 401 makes the
 *      adapter fetch a third token and try again, which succeeds.
 *   2. create -> the id from Location goes into the cross-reference ->
 *      a change is a PUT on /api/holders/<that id> -> a delete is a DELETE
 *      there.
 *   3. a 4xx is not retried: the event is in the dead-letter list and
 *      delivery goes on with the next person. */
#include "tests/integration/rest_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOKEN_LIFE_MS 2000

static lxt_hub hub;
static lxt_target *badge, *secure;
static int badge_port;

typedef struct secure_state {
    pthread_mutex_t mu;
    int tokens;
    uint64_t issued_ms[16];
    bool bad_client;        /* the token request lacked the client's Basic */
    bool revoke;            /* answer the next call 401 */
    int ok, expired, revoked, unknown;
    char last_ok_token[32];
} secure_state;

static secure_state sec = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void badge_serve(void *ctx, const lxt_request *req, lxt_reply *rep)
{
    (void)ctx;
    if (strcmp(req->method, "POST") == 0 &&
        strcmp(req->target, "/api/holders") == 0) {
        if (strstr(req->body, "E-BAD")) {
            rest_reply_json(rep, 422, "{\"error\":\"employee unknown\"}");
            return;
        }
        /* The holder's id is made of the employee number, so that it
         * does not depend on the order of concurrent deliveries. */
        json_t *b = json_loads(req->body, 0, NULL);
        const char *emp = json_string_value(json_object_get(b, "employee_no"));
        snprintf(rep->location, sizeof(rep->location),
                 "http://127.0.0.1:%d/api/holders/h-%s", badge_port,
                 emp ? emp : "none");
        json_decref(b);
        rest_reply_json(rep, 201, "{}");
    } else if ((strcmp(req->method, "PUT") == 0 ||
                strcmp(req->method, "DELETE") == 0) &&
               strncmp(req->target, "/api/holders/h-", 15) == 0) {
        rest_reply_json(rep, 200, "{}");
    } else {
        rest_reply_json(rep, 404, "{}");
    }
}

static void secure_serve(void *ctx, const lxt_request *req, lxt_reply *rep)
{
    (void)ctx;
    pthread_mutex_lock(&sec.mu);
    if (strcmp(req->target, "/oauth/token") == 0) {
        /* "lingua:client-secret-for-tests" in Basic (RFC 6749 2.3.1). */
        if (strcmp(req->authorization, "Basic bGluZ3VhOmNsaWVudC1zZWNyZXQtZm9yLXRlc3Rz") != 0 ||
            !strstr(req->body, "grant_type=client_credentials"))
            sec.bad_client = true;
        int k = sec.tokens < 16 ? sec.tokens : 15;
        sec.issued_ms[k] = lxt_now_ms();
        sec.tokens++;
        char body[128];
        snprintf(body, sizeof(body),
                 "{\"access_token\":\"tok-%d\",\"token_type\":\"Bearer\","
                 "\"expires_in\":%d}",
                 k + 1, TOKEN_LIFE_MS / 1000);
        rest_reply_json(rep, 200, body);
    } else if (strcmp(req->target, "/secure/holders") == 0) {
        int k = 0;
        if (sscanf(req->authorization, "Bearer tok-%d", &k) != 1 || k < 1 ||
            k > sec.tokens) {
            sec.unknown++;
            rest_reply_json(rep, 401, "{}");
        } else if (lxt_now_ms() >= sec.issued_ms[k - 1] + TOKEN_LIFE_MS) {
            sec.expired++;
            rest_reply_json(rep, 401, "{}");
        } else if (sec.revoke) {
            sec.revoke = false;
            sec.revoked++;
            rest_reply_json(rep, 401, "{}");
        } else {
            sec.ok++;
            snprintf(sec.last_ok_token, sizeof(sec.last_ok_token), "tok-%d",
                     k);
            snprintf(rep->location, sizeof(rep->location),
                     "/secure/holders/s-%d", sec.ok);
            rest_reply_json(rep, 201, "{}");
        }
    } else {
        rest_reply_json(rep, 404, "{}");
    }
    pthread_mutex_unlock(&sec.mu);
}

static lxt_client *bus;

static void ingest(const char *emp, const char *family, bool del)
{
    char body[1024];
    if (del)
        snprintf(body, sizeof(body),
                 "{\"entity\":\"person\",\"system\":\"hr\",\"native_type\":"
                 "\"Employee\",\"native_id\":\"%s\",\"op\":\"delete\"}",
                 emp);
    else
        snprintf(body, sizeof(body),
                 "{\"entity\":\"person\",\"system\":\"hr\",\"native_type\":"
                 "\"Employee\",\"native_id\":\"%s\",\"record\":{"
                 "\"identifiers\":[{\"system\":\"urn:lingua:hropen:worker-id\","
                 "\"value\":\"%s\"}],\"name\":{\"family\":\"%s\",\"given\":"
                 "[\"Ann\"]}}}",
                 emp, emp, family);
    char status[16];
    json_t *reply = NULL;
    int rc = lxt_call_text(bus, "INGEST", body, strlen(body),
                           10000 * lxt_scale(), status, &reply, NULL);
    LXT_CHECK(rc == 0 && strcmp(status, "OK") == 0, "INGEST %s: %d %s", emp,
              rc, status);
    json_decref(reply);
}

static int secure_get(int *field)
{
    pthread_mutex_lock(&sec.mu);
    int v = *field;
    pthread_mutex_unlock(&sec.mu);
    return v;
}

static void wait_secure(int *field, int n, const char *what)
{
    uint64_t deadline = lxt_now_ms() + 15000 * (uint64_t)lxt_scale();
    while (secure_get(field) < n) {
        if (lxt_now_ms() > deadline)
            LXT_FAIL("timed out waiting for %s", what);
        lxt_sleep_ms(10);
    }
}

static const lxt_request *badge_request(size_t i)
{
    LXT_CHECK(lxt_target_wait(badge, i + 1, 15000 * lxt_scale()) == 0,
              "badge request %zu never came", i + 1);
    return lxt_target_request(badge, i);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm((unsigned)(120 * lxt_scale()));
    setenv("LXT_SECURE_SECRET", "client-secret-for-tests", 1);
    badge = lxt_target_start(badge_serve, NULL);
    secure = lxt_target_start(secure_serve, NULL);
    badge_port = lxt_target_port(badge);
    char extra[4096];
    snprintf(
        extra, sizeof(extra),
        "\"systems\": {\"hr\": {}, \"badge\": {}, \"secure\": {}},"
        "\"adapters\": ["
        "{\"name\": \"badge-out\", \"system\": \"badge\", \"use\": \"rest\","
        " \"direction\": \"out\", \"subscribe\": [\"person.*\"],"
        " \"transport\": {\"url\": \"http://127.0.0.1:%d/api\"},"
        " \"map\": \"rest/badge-person.json\","
        " \"create\": {\"method\": \"POST\", \"path\": \"/holders\"},"
        " \"update\": {\"method\": \"PUT\", \"path\": \"/holders/{native_id}\"},"
        " \"delete\": {\"method\": \"DELETE\","
        "              \"path\": \"/holders/{native_id}\"},"
        " \"id_from\": \"location\", \"headers\": {\"X-Source\": \"lingua\"},"
        " \"retry\": {\"max_attempts\": 3, \"backoff_base_ms\": 10}},"
        "{\"name\": \"secure-out\", \"system\": \"secure\", \"use\": \"rest\","
        " \"direction\": \"out\", \"subscribe\": [\"person.*\"],"
        " \"transport\": {\"url\": \"http://127.0.0.1:%d/secure\"},"
        " \"auth\": {\"type\": \"oauth2\","
        "  \"token_url\": \"http://127.0.0.1:%d/oauth/token\","
        "  \"client_id\": \"lingua\","
        "  \"client_secret_env\": \"LXT_SECURE_SECRET\", \"scope\": \"holders\"},"
        " \"map\": \"rest/badge-person.json\","
        " \"create\": {\"method\": \"POST\", \"path\": \"/holders\"},"
        " \"retry\": {\"max_attempts\": 3, \"backoff_base_ms\": 10}}]",
        badge_port, lxt_target_port(secure), lxt_target_port(secure));
    lxt_hub_init(&hub, extra);
    lxt_hub_start(&hub, 15000, true);
    bus = lxt_client_new(hub.router);

    printf("1. OAuth2 tokens\n");
    ingest("E-1", "One", false);
    wait_secure(&sec.ok, 1, "the first secure call");
    lxt_sleep_ms(1300); /* past the refresh point (half of 2 s), not expiry */
    ingest("E-2", "Two", false);
    wait_secure(&sec.ok, 2, "the second secure call");
    pthread_mutex_lock(&sec.mu);
    int tokens = sec.tokens;
    uint64_t gap = sec.issued_ms[1] - sec.issued_ms[0];
    char second[32];
    snprintf(second, sizeof(second), "%s", sec.last_ok_token);
    sec.revoke = true;
    pthread_mutex_unlock(&sec.mu);
    printf("   %d tokens, the second %llu ms after the first; the second "
           "call carried %s\n",
           tokens, (unsigned long long)gap, second);
    LXT_CHECK(tokens == 2, "tokens fetched: %d (expected 2)", tokens);
    LXT_CHECK(gap < TOKEN_LIFE_MS, "the second token came %llu ms after the "
                                   "first: after it expired",
              (unsigned long long)gap);
    LXT_CHECK(strcmp(second, "tok-2") == 0,
              "the second call carried %s, not the new token", second);
    ingest("E-3", "Three", false);
    wait_secure(&sec.ok, 3, "the call after a 401");
    pthread_mutex_lock(&sec.mu);
    printf("   401 once: %d revoked, then %s (%d tokens)\n", sec.revoked,
           sec.last_ok_token, sec.tokens);
    LXT_CHECK(sec.revoked == 1 && sec.tokens == 3 &&
                  strcmp(sec.last_ok_token, "tok-3") == 0,
              "after a 401: revoked %d, tokens %d, accepted %s", sec.revoked,
              sec.tokens, sec.last_ok_token);
    LXT_CHECK(sec.expired == 0 && sec.unknown == 0 && !sec.bad_client,
              "expired tokens sent %d, unknown %d, bad client %d",
              sec.expired, sec.unknown, sec.bad_client);
    pthread_mutex_unlock(&sec.mu);

    printf("2. create, update, delete through the cross-reference\n");
    /* The badge system saw E-1, E-2, E-3 created (h-E-1 ...). */
    for (size_t i = 0; i < 3; i++) {
        const lxt_request *r = badge_request(i);
        LXT_CHECK(strcmp(r->method, "POST") == 0 &&
                      strcmp(r->target, "/api/holders") == 0,
                  "request %zu: %s %s", i + 1, r->method, r->target);
    }
    bool one = false;
    for (size_t i = 0; i < 3; i++) {
        json_t *b = json_loads(badge_request(i)->body, 0, NULL);
        one = one || (b && strcmp(lxt_jstr(b, "employee_no", "body"), "E-1") ==
                               0 &&
                      strcmp(lxt_jstr(b, "last_name", "body"), "One") == 0);
        json_decref(b);
    }
    LXT_CHECK(one, "no create carried E-1's mapped body");
    json_t *view = rest_wait_xref(&hub, "badge", "Holder", "h-E-1", 10000);
    LXT_CHECK(view != NULL, "the id from Location is not in the "
                            "cross-reference");
    json_t *hr = rest_xref(&hub, "hr", "Employee", "E-1");
    LXT_CHECK(hr && strcmp(lxt_jstr(view, "id", "id"),
                           lxt_jstr(hr, "id", "id")) == 0,
              "badge h-E-1 and hr E-1 are one canonical record");
    json_decref(hr);
    json_decref(view);
    ingest("E-1", "Renamed", false);
    const lxt_request *put = badge_request(3);
    printf("   %s %s %s\n", put->method, put->target, put->body);
    LXT_CHECK(strcmp(put->method, "PUT") == 0 &&
                  strcmp(put->target, "/api/holders/h-E-1") == 0 &&
                  strstr(put->body, "\"Renamed\""),
              "the change: %s %s", put->method, put->target);
    ingest("E-1", NULL, true);
    const lxt_request *del = badge_request(4);
    printf("   %s %s\n", del->method, del->target);
    LXT_CHECK(strcmp(del->method, "DELETE") == 0 &&
                  strcmp(del->target, "/api/holders/h-E-1") == 0,
              "the delete: %s %s", del->method, del->target);

    printf("3. a 4xx goes to the dead letters, delivery goes on\n");
    ingest("E-BAD", "Bad", false);
    ingest("E-4", "Four", false);
    /* Two records: delivered concurrently, in either order. */
    const lxt_request *r5 = badge_request(5);
    const lxt_request *r6 = badge_request(6);
    LXT_CHECK((strstr(r5->body, "E-BAD") && strstr(r6->body, "E-4")) ||
                  (strstr(r6->body, "E-BAD") && strstr(r5->body, "E-4")),
              "after the delete came %s and %s", r5->body, r6->body);
    lxt_sleep_ms(300); /* a blind retry would show up as another request */
    LXT_CHECK(lxt_target_count(badge) == 7,
              "%zu requests: the 422 was retried", lxt_target_count(badge));
    const char *argv[] = {lxt_env_path("LX_LINGUA"), "dlq", "list",
                          "--subscriber", "badge-out", "--data-dir",
                          hub.data_dir, NULL};
    char *out = NULL;
    int rc = lxt_run(argv, 20000 * lxt_scale(), &out, NULL, 1 << 20);
    printf("   lingua dlq list --subscriber badge-out:\n%s", out ? out : "");
    LXT_CHECK(rc == 0 && out && strstr(out, "422"),
              "lingua dlq list: exit %d", rc);
    free(out);

    lxt_client_destroy(&bus);
    int exit_code = rest_finish(&hub);
    lxt_target_stop(&badge);
    lxt_target_stop(&secure);
    return exit_code;
}
