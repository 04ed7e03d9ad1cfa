/* Integration: HR Open outbound ("use": "hropen", "direction": "out") on a
 * real hub. A JEDx workers request comes in through the HR Open webhook
 * (system hr); the hub stores a person and a worker; the outbound
 * instance for system payroll POSTs each change to a loopback system as a
 * JEDx workers request of one element that carries both the worker and
 * its person. Each document it sent is then POSTed to a second HR Open
 * webhook, which accepts it: what goes out is valid JEDx. */
#include "tests/integration/rest_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static lxt_hub hub;

static void accept_all(void *ctx, const lxt_request *req, lxt_reply *rep)
{
    (void)ctx, (void)req;
    rest_reply_json(rep, 200, "{}");
}

static long post(const char *path, const char *body, lx_http_result *res)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", hub.http_url, path);
    const char *headers[] = {"Content-Type: application/json", NULL};
    if (lxt_http("POST", url, headers, body, strlen(body), 10000, res) != 0)
        LXT_FAIL("POST %s: no answer", url);
    return res->status;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm((unsigned)(120 * lxt_scale()));
    lxt_target *t = lxt_target_start(accept_all, NULL);
    char extra[2048];
    snprintf(extra, sizeof(extra),
             "\"systems\": {\"hr\": {}, \"hr2\": {}, \"payroll\": {}},"
             "\"adapters\": ["
             "{\"name\": \"hr-in\", \"system\": \"hr\", \"use\": \"hropen\","
             " \"direction\": \"in\", \"employer\": {\"system\": "
             "\"urn:example:hr:org\", \"value\": \"ACME\"}},"
             "{\"name\": \"hr2-in\", \"system\": \"hr2\", \"use\": \"hropen\","
             " \"direction\": \"in\", \"employer\": {\"system\": "
             "\"urn:example:hr:org\", \"value\": \"ACME\"}},"
             "{\"name\": \"payroll-out\", \"system\": \"payroll\","
             " \"use\": \"hropen\", \"direction\": \"out\","
             " \"subscribe\": [\"person.*\", \"worker.*\"],"
             " \"transport\": {\"url\": \"http://127.0.0.1:%d/jedx/workers\"}}]",
             lxt_target_port(t));
    lxt_hub_init_http(&hub, extra);
    lxt_hub_start(&hub, 15000, true);

    printf("1. a JEDx worker in, JEDx documents out\n");
    const char *doc =
        "{\"workers\": [{\"workerID\": {\"value\": \"W9\", \"schemeId\": "
        "\"emplId\"}, \"person\": {\"name\": {\"given\": \"Rita\", \"family\": "
        "\"Roe\"}, \"birthDate\": \"1980-02-29\"},"
        " \"originalHireDate\": \"2020-01-31\","
        " \"workAssignments\": [{\"job\": {\"title\": \"Clerk\"}}]}]}";
    lx_http_result res;
    LXT_CHECK(post("/adapters/hr-in/inbound", doc, &res) == 200,
              "POST to hr-in: %ld %s", res.status, res.body);
    lx_http_result_fini(&res);
    LXT_CHECK(lxt_target_wait(t, 2, 15000 * lxt_scale()) == 0,
              "the payroll system got %zu calls, not 2",
              lxt_target_count(t));
    for (size_t i = 0; i < 2; i++) {
        const lxt_request *r = lxt_target_request(t, i);
        printf("   %s %s %s\n", r->method, r->target, r->body);
        LXT_CHECK(strcmp(r->method, "POST") == 0 &&
                      strcmp(r->target, "/jedx/workers") == 0,
                  "call %zu: %s %s", i + 1, r->method, r->target);
        json_t *sent = json_loads(r->body, 0, NULL);
        json_t *w = json_array_get(json_object_get(sent, "workers"), 0);
        LXT_CHECK(w && json_array_size(json_object_get(sent, "workers")) == 1,
                  "call %zu is not a workers request of one element", i + 1);
        json_t *wid = json_object_get(w, "workerID");
        json_t *name = json_object_get(json_object_get(w, "person"), "name");
        LXT_CHECK(strcmp(lxt_jstr(wid, "value", "workerID"), "W9") == 0 &&
                      strcmp(lxt_jstr(name, "family", "name"), "Roe") == 0 &&
                      strcmp(lxt_jstr(w, "originalHireDate", "hire"),
                             "2020-01-31") == 0,
                  "call %zu lacks the worker or its person", i + 1);
        json_decref(sent);
        printf("2.%zu what went out is accepted by an HR Open webhook\n",
               i + 1);
        LXT_CHECK(post("/adapters/hr2-in/inbound", r->body, &res) == 200,
                  "hr2-in refused call %zu: %ld %s", i + 1, res.status,
                  res.body);
        lx_http_result_fini(&res);
    }

    int rc = rest_finish(&hub);
    lxt_target_stop(&t);
    return rc;
}
