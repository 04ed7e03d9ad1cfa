/* Integration: the REST adapter's inbound webhook on a real hub. A badge
 * system POSTs its holder JSON to /adapters/<name>/inbound; the hub maps it
 * with schemas/maps/rest/badge-person.json and stores it with the
 * holder's id as the cross-reference. Signatures are checked (accepted,
 * missing, wrong), idempotency keys replay the first answer and refuse
 * reuse with another body, and bad input (not JSON, a record the mapping
 * makes schema-invalid, in a list with a good one) is refused with a
 * located error and stores nothing. */
#include "tests/integration/rest_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static lxt_hub hub;

static long post(const char *path, const char *body, const char *h1,
                 const char *h2, lx_http_result *res)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", hub.http_url, path);
    const char *headers[] = {"Content-Type: application/json", h1, h2, NULL};
    if (h1 == NULL)
        headers[1] = h2, headers[2] = NULL;
    if (lxt_http("POST", url, headers, body, strlen(body), 10000, res) != 0)
        LXT_FAIL("POST %s: no answer", url);
    return res->status;
}

static void expect(const char *what, const char *path, const char *body,
                   const char *h1, const char *h2, long status,
                   const char *in_answer)
{
    lx_http_result res;
    long got = post(path, body, h1, h2, &res);
    if (got != status || (in_answer && !strstr(res.body, in_answer)))
        LXT_SOFT_FAIL("%s: %ld %s (expected %ld with '%s')", what, got,
                      res.body, status, in_answer ? in_answer : "");
    else
        printf("   %s: %ld %s\n", what, got, res.body);
    lx_http_result_fini(&res);
}

static void expect_stored(const char *id, bool stored)
{
    json_t *v = rest_xref(&hub, "badge", "Holder", id);
    if ((v != NULL) != stored)
        LXT_SOFT_FAIL("holder %s: %s", id,
                      stored ? "not stored" : "stored, but must not be");
    json_decref(v);
}

#define HOLDER(id, emp)                                                     \
    "{\"id\":\"" id "\",\"employee_no\":\"" emp "\",\"first_name\":\"Ann\"," \
    "\"last_name\":\"Lee\",\"email\":\"ann@example.com\"}"

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm((unsigned)(120 * lxt_scale()));
    setenv("LXT_BADGE_SECRET", "s3cret-of-the-badge-system", 1);
    lxt_hub_init_http(
        &hub,
        "\"systems\": {\"badge\": {}},"
        "\"adapters\": ["
        "{\"name\": \"badge-in\", \"system\": \"badge\", \"use\": \"rest\","
        " \"direction\": \"in\", \"map\": \"rest/badge-person.json\"},"
        "{\"name\": \"badge-signed\", \"system\": \"badge\", \"use\": \"rest\","
        " \"direction\": \"in\", \"map\": \"rest/badge-person.json\","
        " \"transport\": {\"http\": \"/adapters/badge-signed/inbound\","
        "  \"signature\": {\"header\": \"X-Badge-Signature\","
        "                 \"secret_env\": \"LXT_BADGE_SECRET\"}}}]");
    lxt_hub_start(&hub, 15000, true);

    printf("1. a holder is stored, its id is the cross-reference\n");
    lx_http_result res;
    LXT_CHECK(post("/adapters/badge-in/inbound", HOLDER("h-1", "E-1"), NULL,
                   NULL, &res) == 200,
              "POST a holder: %ld %s", res.status, res.body);
    lx_http_result_fini(&res);
    json_t *view = rest_xref(&hub, "badge", "Holder", "h-1");
    LXT_CHECK(view != NULL, "xref badge Holder h-1 is missing");
    json_t *rec = json_object_get(view, "record");
    LXT_CHECK(strcmp(lxt_jstr(json_object_get(rec, "name"), "family", "name"),
                     "Lee") == 0,
              "the stored person's family name");
    json_decref(view);

    printf("2. signatures\n");
    const char *body = HOLDER("h-2", "E-2");
    char sig[80], line[128];
    expect("unsigned", "/adapters/badge-signed/inbound", body, NULL, NULL, 401,
           "not signed");
    expect_stored("h-2", false);
    rest_sign("another-secret", body, sig);
    snprintf(line, sizeof(line), "X-Badge-Signature: %s", sig);
    expect("wrong signature", "/adapters/badge-signed/inbound", body, line,
           NULL, 401, "does not match");
    expect_stored("h-2", false);
    rest_sign("s3cret-of-the-badge-system", body, sig);
    snprintf(line, sizeof(line), "X-Badge-Signature: %s", sig);
    expect("signed", "/adapters/badge-signed/inbound", body, line, NULL, 200,
           "\"created\":true");
    expect_stored("h-2", true);

    printf("3. idempotency keys\n");
    const char *b3 = HOLDER("h-3", "E-3");
    LXT_CHECK(post("/adapters/badge-in/inbound", b3, "Idempotency-Key: k-3",
                   NULL, &res) == 200,
              "first POST with a key: %ld", res.status);
    char *first = strdup(res.body);
    lx_http_result_fini(&res);
    LXT_CHECK(post("/adapters/badge-in/inbound", b3, "Idempotency-Key: k-3",
                   NULL, &res) == 200 &&
                  strcmp(res.body, first) == 0,
              "replayed key: %ld %s (first answer %s)", res.status, res.body,
              first);
    lx_http_result_fini(&res);
    free(first);
    expect("key reused with another body", "/adapters/badge-in/inbound",
           HOLDER("h-4", "E-4"), "Idempotency-Key: k-3", NULL, 422,
           "LX_ECONFLICT");
    expect_stored("h-4", false);

    printf("4. bad input: located errors, nothing stored\n");
    expect("not JSON", "/adapters/badge-in/inbound",
           "{\"id\": \"h-5\",\n \"employee_no\": }", NULL, NULL, 400,
           "\"line\":2");
    expect_stored("h-5", false);
    expect("schema-invalid (no employee_no: no identifier)",
           "/adapters/badge-in/inbound",
           "{\"id\":\"h-6\",\"last_name\":\"Lee\"}", NULL, NULL, 422,
           "mapped record");
    expect_stored("h-6", false);
    expect("a good and a schema-invalid record", "/adapters/badge-in/inbound",
           "[" HOLDER("h-7", "E-7") ",{\"id\":\"h-8\",\"last_name\":\"X\"}]",
           NULL, NULL, 422, "/1: mapped record");
    expect_stored("h-7", false);
    expect("a record that is not an object", "/adapters/badge-in/inbound",
           "[" HOLDER("h-9", "E-9") ",42]", NULL, NULL, 422,
           "/1: a record must be a JSON object");
    expect_stored("h-9", false);
    expect("a list of two", "/adapters/badge-in/inbound",
           "[" HOLDER("h-10", "E-10") "," HOLDER("h-11", "E-11") "]", NULL,
           NULL, 200, "h-11");
    expect_stored("h-10", true);
    expect_stored("h-11", true);

    char url[256];
    snprintf(url, sizeof(url), "%s/adapters/badge-in/inbound", hub.http_url);
    LXT_CHECK(lxt_http("GET", url, NULL, NULL, 0, 10000, &res) == 0 &&
                  res.status == 405,
              "GET the webhook: %ld", res.status);
    lx_http_result_fini(&res);

    int rc = rest_finish(&hub);
    return rc;
}
