/* Integration: the store's map is full (store.max_size_mb reached, the
 * same refusal as a full disk). Ingest is refused with a clear error,
 * what was acknowledged before stays readable, nothing half-written
 * appears, and once there is room again (a larger ceiling and a restart)
 * the hub takes writes again. Real hub process, real HTTP on 127.0.0.1. */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ATTEMPTS_MAX 20000

static lxt_hub hub;

static long post_patient(const char *url, int n, lx_http_result *res)
{
    char body[1024];
    /* Sizeable records, so the 2 MiB map fills after a few hundred. */
    snprintf(body, sizeof(body),
             "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":"
             "\"urn:lingua-test:full\",\"value\":\"P-%06d\"}],\"name\":[{"
             "\"family\":\"Full-%06d\",\"given\":[\"Aaaaaaaaaaaaaaaaaaaa\","
             "\"Bbbbbbbbbbbbbbbbbbbbbbbbbb\"]}],\"address\":[{\"line\":["
             "\"%d Long Street Name That Takes Some Room In The Map\"],"
             "\"city\":\"Springfield\",\"postalCode\":\"62701\"}],"
             "\"telecom\":[{\"system\":\"email\",\"value\":"
             "\"person.%06d@example.org\"}]}",
             n, n, n, n);
    const char *headers[] = {"Content-Type: application/fhir+json", NULL};
    if (lxt_http("POST", url, headers, body, strlen(body), 20000, res) != 0)
        LXT_FAIL("POST %s: no answer", url);
    return res->status;
}

/* Replace the first `from` by `to` in the configuration file. */
static void edit_config(const char *from, const char *to)
{
    size_t len;
    char *text = lxt_read_file(hub.config, &len);
    char *at = strstr(text, from);
    LXT_CHECK(at != NULL, "config holds %s", from);
    FILE *f = fopen(hub.config, "w");
    LXT_CHECK(f != NULL, "rewrite %s", hub.config);
    fprintf(f, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    fclose(f);
    free(text);
}

/* GET Patient/<id> answers 200 with the family name of patient n. */
static void check_readable(const char *base, const char *id, int n)
{
    char url[512], family[32];
    snprintf(url, sizeof(url), "%s/fhir/r4/Patient/%s", base, id);
    snprintf(family, sizeof(family), "Full-%06d", n);
    lx_http_result res;
    LXT_CHECK(lxt_http("GET", url, NULL, NULL, 0, 10000, &res) == 0 &&
                  res.status == 200 && strstr(res.body, family),
              "GET %s: %ld %s", url, res.status, res.body);
    lx_http_result_fini(&res);
}

static void id_of(const lx_http_result *res, char *out, size_t size)
{
    const char *p = strstr(res->location, "/Patient/");
    LXT_CHECK(p != NULL, "Location %s", res->location);
    p += 9;
    size_t n = strcspn(p, "/");
    LXT_CHECK(n > 0 && n < size, "Location %s", res->location);
    memcpy(out, p, n);
    out[n] = '\0';
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm((unsigned)(240 * lxt_scale()));
    lxt_hub_init_http(&hub,
                      "\"store\": {\"map_size_mb\": 1, \"max_size_mb\": 2, "
                      "\"sync\": false}, "
                      "\"systems\": {\"ehr\": {}}, \"adapters\": [{\"name\": "
                      "\"ehr-in\", \"system\": \"ehr\", \"use\": \"fhir\", "
                      "\"direction\": \"in\"}]");
    lxt_hub_start(&hub, 15000, true);
    char url[256];
    snprintf(url, sizeof(url), "%s/fhir/r4/Patient", hub.http_url);

    /* Fill the map. */
    char first_id[64] = "", last_id[64] = "";
    int accepted = 0, n;
    lx_http_result res;
    for (n = 0; n < ATTEMPTS_MAX; n++) {
        long st = post_patient(url, n, &res);
        if (st != 201) {
            break;
        }
        id_of(&res, n == 0 ? first_id : last_id,
              n == 0 ? sizeof(first_id) : sizeof(last_id));
        accepted++;
        lx_http_result_fini(&res);
    }
    LXT_CHECK(n < ATTEMPTS_MAX, "the 2 MiB map never filled (%d POSTs)", n);
    LXT_CHECK(accepted > 10, "only %d patients fit", accepted);
    printf("map full after %d patients: %ld %s\n", accepted, res.status,
           res.body);
    /* Refused as unavailable (retry later), with a message that says why. */
    LXT_CHECK(res.status == 503, "full store answers %ld", res.status);
    LXT_CHECK(strstr(res.body, "OperationOutcome") &&
                  (strstr(res.body, "full") || strstr(res.body, "ceiling")),
              "the refusal says the store is full: %s", res.body);
    lx_http_result_fini(&res);
    /* Still refused on a second try; reads keep working. */
    LXT_CHECK(post_patient(url, n, &res) == 503, "second try: %ld",
              res.status);
    lx_http_result_fini(&res);
    check_readable(hub.http_url, first_id, 0);
    if (accepted > 1)
        check_readable(hub.http_url, last_id, accepted - 1);
    char health[256];
    snprintf(health, sizeof(health), "%s/health", hub.http_url);
    LXT_CHECK(lxt_http("GET", health, NULL, NULL, 0, 10000, &res) == 0 &&
                  res.status == 200,
              "GET /health on a full store: %ld", res.status);
    lx_http_result_fini(&res);

    /* Stop cleanly, give the store room, start again. */
    int st = lxt_hub_stop(&hub, SIGTERM, 15000);
    LXT_CHECK(st == 0, "hub exit status %d", st);
    edit_config("\"max_size_mb\": 2", "\"max_size_mb\": 64");
    lxt_hub_start(&hub, 15000, false);
    check_readable(hub.http_url, first_id, 0);
    if (accepted > 1)
        check_readable(hub.http_url, last_id, accepted - 1);
    /* The refused patient was never stored: its first POST now creates. */
    LXT_CHECK(post_patient(url, accepted, &res) == 201,
              "POST after room returned: %ld %s", res.status, res.body);
    lx_http_result_fini(&res);

    /* Exactly the acknowledged records exist: the event log holds one
     * created event per 201 (nothing half-written from the refusals). */
    char data[LXT_PATH_MAX + 16];
    snprintf(data, sizeof(data), "%s", hub.config);
    const char *lingua = lxt_env_path("LX_LINGUA");
    st = lxt_hub_stop(&hub, SIGTERM, 15000);
    LXT_CHECK(st == 0, "hub exit status %d", st);
    char *out = NULL;
    const char *argv[] = {lingua, "events", "--from", "1", "--config", data,
                          NULL};
    int rc = lxt_run(argv, 30000, &out, NULL, (size_t)16 << 20);
    LXT_CHECK(rc == 0, "lingua events: exit %d", rc);
    int events = 0;
    for (const char *p = out; (p = strstr(p, "person.created")); p++)
        events++;
    free(out);
    LXT_CHECK(events == accepted + 1, "%d created events for %d accepted "
                                      "POSTs",
              events, accepted + 1);
    lxt_hub_check_log(&hub);
    lxt_hub_destroy(&hub);
    if (lxt_soft_failures())
        return 1;
    printf("test_store_full: ok (%d patients before the ceiling)\n",
           accepted);
    return 0;
}
