/* Integration: a native adapter (.so) run by a real hub, the very library
 * `lingua conform` certifies (conformance/examples/acme-roster-native,
 * $LX_ACME_SO).
 *
 * One hub, systems acme (the adapter's), hr and archive:
 *   acme-in      native, inbound: staff records POSTed to
 *                /adapters/acme-in/inbound (library path relative to the
 *                configuration file)
 *   acme-out     native, outbound to the "acme" loopback target
 *   archive-out  native, outbound to the "archive" target, with an outbox
 *                too (so its HTTP calls go through the instance's own
 *                perform, not the engine's)
 *   files-out    native_outbox.so ($LX_OUTBOX_SO, config {"prefix":
 *                "staff"}): each person change is a file in "files/"
 *   files-in     native_outbox.so inbound: refuses with HTTP 409
 *   1. a staff record becomes a person (cross-reference acme Staff S-100);
 *      acme-out does not get it back (echo suppression), archive-out does
 *   2. a person from hr becomes PUT /api/staff/E-200 with the staff body;
 *      its staffId is kept (acme Staff E-200), and the delete of that
 *      person is a DELETE on it
 *   3. refused documents (not JSON, a sex outside M F X U, an impossible
 *      date the hub refuses) are answered with the adapter's located error
 *      and store nothing; an adapter's own HTTP status is the answer's
 *   4. FILE requests: whole files in the outbox, a second one for the same
 *      name gets a counter
 *   5. a library that does not exist, a file that is not an adapter, an
 *      open() that refuses its config: the hub does not start and says
 *      which adapter, which member and why. */
#include "tests/integration/rest_util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Acme's staff record (its example, acme_roster.c). */
#define STAFF_S100                                                          \
    "{\"staffId\":\"S-100\",\"surname\":\"Okafor\","                         \
    "\"forenames\":[\"Chidi\"],\"sex\":\"M\",\"dob\":\"1990-07-01\","        \
    "\"email\":\"chidi@acme.example\"}"

static lxt_hub hub;
static lxt_target *acme, *archive;
static lxt_client *bus;

static void serve(void *ctx, const lxt_request *req, lxt_reply *rep)
{
    (void)ctx;
    (void)req;
    rest_reply_json(rep, 200, "{}");
}

static long post_to(const char *instance, const char *body,
                    lx_http_result *res)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/adapters/%s/inbound", hub.http_url,
             instance);
    const char *headers[] = {"Content-Type: application/json", NULL};
    if (lxt_http("POST", url, headers, body, strlen(body), 10000, res) != 0)
        LXT_FAIL("POST %s: no answer", url);
    return res->status;
}

static long post(const char *body, lx_http_result *res)
{
    return post_to("acme-in", body, res);
}

static void expect_refused(const char *what, const char *body, long status,
                           const char *code, const char *where,
                           const char *staff_id)
{
    lx_http_result res;
    long got = post(body, &res);
    json_t *answer = json_loads(res.body ? res.body : "", 0, NULL);
    const char *c = lxt_jstr(answer, "code", "answer");
    const char *w = json_string_value(json_object_get(answer, "where"));
    printf("   %s: %ld %s\n", what, got, res.body);
    LXT_SOFT_CHECK(got == status && strcmp(c, code) == 0 && w &&
                       strstr(w, where) != NULL,
                   "%s: %ld %s (expected %ld %s at %s)", what, got, res.body,
                   status, code, where);
    json_decref(answer);
    lx_http_result_fini(&res);
    json_t *v = rest_xref(&hub, "acme", "Staff", staff_id);
    LXT_SOFT_CHECK(v == NULL, "%s: staff %s was stored", what, staff_id);
    json_decref(v);
}

static void ingest_hr(const char *id, bool del)
{
    char body[1024];
    if (del)
        snprintf(body, sizeof(body),
                 "{\"entity\":\"person\",\"system\":\"hr\",\"native_type\":"
                 "\"Employee\",\"native_id\":\"%s\",\"op\":\"delete\"}",
                 id);
    else
        snprintf(body, sizeof(body),
                 "{\"entity\":\"person\",\"system\":\"hr\",\"native_type\":"
                 "\"Employee\",\"native_id\":\"%s\",\"record\":{"
                 "\"identifiers\":[{\"system\":\"urn:example:hr\","
                 "\"value\":\"%s\"}],\"name\":{\"family\":\"Mensah\","
                 "\"given\":[\"Ama\"]},\"gender\":\"female\","
                 "\"birth_date\":\"1985-03-14\"}}",
                 id, id);
    char status[16];
    json_t *reply = NULL;
    int rc = lxt_call_text(bus, "INGEST", body, strlen(body),
                           10000 * lxt_scale(), status, &reply, NULL);
    LXT_CHECK(rc == 0 && strcmp(status, "OK") == 0, "INGEST %s: %d %s", id,
              rc, status);
    json_decref(reply);
}

static const lxt_request *request_of(lxt_target *t, size_t i)
{
    LXT_CHECK(lxt_target_wait(t, i + 1, 15000 * lxt_scale()) == 0,
              "request %zu never came", i + 1);
    return lxt_target_request(t, i);
}

/* files/staff-<cid><counter>.json appears (bounded wait) holding `text`. */
static void expect_file(const char *cid, const char *counter,
                        const char *text)
{
    char path[LXT_PATH_MAX + 128];
    snprintf(path, sizeof(path), "%s/files/staff-%s%s.json", hub.root, cid,
             counter);
    uint64_t deadline = lxt_now_ms() + 15000 * (uint64_t)lxt_scale();
    while (access(path, F_OK) != 0 && lxt_now_ms() < deadline)
        lxt_sleep_ms(20);
    if (access(path, F_OK) != 0) {
        LXT_SOFT_FAIL("%s never appeared", path);
        return;
    }
    char *data = lxt_read_file(path, NULL);
    printf("   %s: %s\n", strrchr(path, '/') + 1, data);
    LXT_SOFT_CHECK(strstr(data, text) != NULL, "%s does not hold %s", path,
                   text);
    free(data);
}

/* A hub whose only adapter loads `library` with `config` (JSON text): it
 * must not start, and its log must say /adapters/0/<member> and `why`. */
static void expect_no_start(const char *library, const char *config,
                            const char *member, const char *why)
{
    lxt_hub bad;
    char extra[2048];
    snprintf(extra, sizeof(extra),
             "\"systems\": {\"acme\": {}},"
             "\"adapters\": [{\"name\": \"acme-in\", \"system\": \"acme\","
             " \"use\": \"native\", \"direction\": \"in\","
             " \"library\": \"%s\", \"config\": %s}]",
             library, config);
    char at[64];
    snprintf(at, sizeof(at), "/adapters/0/%s", member);
    lxt_hub_init_http(&bad, extra);
    lxt_hub_spawn(&bad);
    int status = 0;
    int rc = lxt_hub_wait_ready(&bad, 15000 * lxt_scale(), &status);
    char *log = lxt_read_file(bad.log, NULL);
    char *line = strstr(log, "cannot start the hub");
    char *end = line ? strchr(line, '\n') : NULL;
    if (end)
        *end = '\0';
    printf("   %s: %s\n", library, line ? line : "(no such line)");
    LXT_SOFT_CHECK(rc == -1 && WIFEXITED(status) && WEXITSTATUS(status) == 3,
                   "%s: the hub started or exited otherwise (%d, status %d)",
                   library, rc, status);
    LXT_SOFT_CHECK(line && strstr(line, bad.config) &&
                       strstr(line, at) &&
                       strstr(line, why),
                   "%s: the log does not say where and why", library);
    free(log);
    lxt_hub_check_log(&bad); /* a failed start leaks nothing either */
    lxt_hub_destroy(&bad);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm((unsigned)(120 * lxt_scale()));
    char so[PATH_MAX];
    LXT_CHECK(realpath(lxt_env_path("LX_ACME_SO"), so) != NULL,
              "LX_ACME_SO: no such file");
    acme = lxt_target_start(serve, NULL);
    archive = lxt_target_start(serve, NULL);
    char outbox_so[PATH_MAX];
    LXT_CHECK(realpath(lxt_env_path("LX_OUTBOX_SO"), outbox_so) != NULL,
              "LX_OUTBOX_SO: no such file");
    char extra[6144];
    snprintf(
        extra, sizeof(extra),
        "\"systems\": {\"acme\": {}, \"hr\": {}, \"archive\": {},"
        "             \"files\": {}},"
        "\"adapters\": ["
        "{\"name\": \"acme-in\", \"system\": \"acme\", \"use\": \"native\","
        " \"direction\": \"in\", \"library\": \"acme_roster.so\","
        " \"config\": {}},"
        "{\"name\": \"acme-out\", \"system\": \"acme\", \"use\": \"native\","
        " \"direction\": \"out\", \"library\": \"%s\","
        " \"subscribe\": [\"person.*\"],"
        " \"transport\": {\"url\": \"http://127.0.0.1:%d/api\"},"
        " \"retry\": {\"max_attempts\": 3, \"backoff_base_ms\": 10}},"
        "{\"name\": \"archive-out\", \"system\": \"archive\","
        " \"use\": \"native\", \"direction\": \"out\", \"library\": \"%s\","
        " \"subscribe\": [\"person.*\"],"
        " \"transport\": {\"url\": \"http://127.0.0.1:%d/\","
        "                 \"outbox\": \"outbox\"},"
        " \"retry\": {\"max_attempts\": 3, \"backoff_base_ms\": 10}},"
        "{\"name\": \"files-out\", \"system\": \"files\", \"use\": \"native\","
        " \"direction\": \"out\", \"library\": \"%s\","
        " \"config\": {\"prefix\": \"staff\"}, \"subscribe\": [\"person.*\"],"
        " \"transport\": {\"outbox\": \"files\"}},"
        "{\"name\": \"files-in\", \"system\": \"files\", \"use\": \"native\","
        " \"library\": \"%s\"}]",
        so, lxt_target_port(acme), so, lxt_target_port(archive), outbox_so,
        outbox_so);
    lxt_hub_init_http(&hub, extra);
    /* Relative paths are the configuration file's: the library of
     * acme-in and archive-out's outbox live next to it. */
    char path[LXT_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/acme_roster.so", hub.root);
    LXT_CHECK(symlink(so, path) == 0, "symlink %s", path);
    snprintf(path, sizeof(path), "%s/outbox", hub.root);
    LXT_CHECK(mkdir(path, 0750) == 0, "mkdir %s", path);
    snprintf(path, sizeof(path), "%s/files", hub.root);
    LXT_CHECK(mkdir(path, 0750) == 0, "mkdir %s", path);
    lxt_hub_start(&hub, 15000, true);
    bus = lxt_client_new(hub.router);

    printf("1. a staff record becomes a person\n");
    lx_http_result res;
    long st = post(STAFF_S100, &res);
    printf("   %ld %s\n", st, res.body);
    LXT_CHECK(st == 200 && strstr(res.body, "\"entity\":\"person\"") &&
                  strstr(res.body, "\"created\":true") &&
                  strstr(res.body, "\"count\":1"),
              "POST a staff record: %ld %s", st, res.body);
    lx_http_result_fini(&res);
    json_t *view = rest_xref(&hub, "acme", "Staff", "S-100");
    LXT_CHECK(view != NULL, "xref acme Staff S-100 is missing");
    char cid_s100[64];
    snprintf(cid_s100, sizeof(cid_s100), "%s", lxt_jstr(view, "id", "id"));
    json_t *rec = json_object_get(view, "record");
    LXT_SOFT_CHECK(strcmp(lxt_jstr(json_object_get(rec, "name"), "family",
                                   "name"),
                          "Okafor") == 0 &&
                       strcmp(lxt_jstr(rec, "gender", "gender"), "male") == 0 &&
                       strcmp(lxt_jstr(rec, "birth_date", "birth_date"),
                              "1990-07-01") == 0,
                   "the stored person: %s", lxt_jdump(rec));
    json_decref(view);
    st = post(STAFF_S100, &res);
    LXT_SOFT_CHECK(st == 200 && strstr(res.body, "\"unchanged\":true") &&
                       strstr(res.body, "\"version\":1"),
                   "the same record again: %ld %s", st, res.body);
    lx_http_result_fini(&res);
    /* archive is another system: the person goes there. */
    const lxt_request *r = request_of(archive, 0);
    printf("   archive: %s %s %s\n", r->method, r->target, r->body);
    LXT_SOFT_CHECK(strcmp(r->method, "PUT") == 0 &&
                       strcmp(r->target, "/staff/S-100") == 0 &&
                       strstr(r->body, "\"staffId\":\"S-100\""),
                   "archive got %s %s", r->method, r->target);

    printf("2. a person from hr: PUT, then DELETE on the kept staffId\n");
    ingest_hr("E-200", false);
    r = request_of(acme, 0);
    printf("   acme: %s %s %s (%s)\n", r->method, r->target, r->body,
           r->content_type);
    json_t *staff = json_loads(r->body, 0, NULL);
    LXT_SOFT_CHECK(strcmp(r->method, "PUT") == 0 &&
                       strcmp(r->target, "/api/staff/E-200") == 0 &&
                       strcmp(r->content_type, "application/json") == 0,
                   "acme got %s %s", r->method, r->target);
    LXT_SOFT_CHECK(staff &&
                       strcmp(lxt_jstr(staff, "staffId", "body"), "E-200") ==
                           0 &&
                       strcmp(lxt_jstr(staff, "surname", "body"), "Mensah") ==
                           0 &&
                       strcmp(lxt_jstr(staff, "sex", "body"), "F") == 0 &&
                       strcmp(lxt_jstr(staff, "dob", "body"), "1985-03-14") ==
                           0,
                   "the staff body: %s", r->body);
    json_decref(staff);
    /* S-100 came from acme itself: skipped, before E-200 in the log. */
    LXT_SOFT_CHECK(lxt_target_count(acme) == 1,
                   "acme got %zu requests: its own staff record came back",
                   lxt_target_count(acme));
    view = rest_wait_xref(&hub, "acme", "Staff", "E-200", 10000);
    LXT_SOFT_CHECK(view != NULL, "the adapter's target_id (E-200) is not in "
                                 "the cross-reference");
    json_decref(view);
    view = rest_xref(&hub, "hr", "Employee", "E-200");
    LXT_CHECK(view != NULL, "xref hr Employee E-200 is missing");
    char cid_e200[64];
    snprintf(cid_e200, sizeof(cid_e200), "%s", lxt_jstr(view, "id", "id"));
    json_decref(view);
    ingest_hr("E-200", true);
    r = request_of(acme, 1);
    printf("   acme: %s %s\n", r->method, r->target);
    LXT_SOFT_CHECK(strcmp(r->method, "DELETE") == 0 &&
                       strcmp(r->target, "/api/staff/E-200") == 0,
                   "the delete: %s %s", r->method, r->target);
    r = request_of(archive, 2);
    LXT_SOFT_CHECK(strcmp(r->method, "DELETE") == 0 &&
                       strcmp(r->target, "/staff/E-200") == 0,
                   "archive's delete: %s %s", r->method, r->target);

    printf("3. refused documents: the adapter's located error, nothing "
           "stored\n");
    expect_refused("not JSON", "{\"staffId\": \"S-101\",\n \"sex\": }", 400,
                   "LX_ESYNTAX", "line 2", "S-101");
    expect_refused("sex Q", "{\"staffId\":\"S-102\",\"sex\":\"Q\"}", 422,
                   "LX_EINVAL", "/sex", "S-102");
    expect_refused("no staffId", "{\"surname\":\"X\"}", 422, "LX_EINVAL",
                   "/staffId", "X");
    expect_refused("an impossible date (the hub's refusal)",
                   "{\"staffId\":\"S-103\",\"dob\":\"1990-02-30\"}", 422,
                   "LX_ESCHEMA", "/birth_date", "S-103");
    st = post_to("files-in", "{}", &res);
    printf("   files-in: %ld %s\n", st, res.body);
    LXT_SOFT_CHECK(st == 409 && strstr(res.body, "\"LX_ECONFLICT\"") &&
                       strstr(res.body, "\"where\":\"/\""),
                   "the adapter's http_status: %ld %s", st, res.body);
    lx_http_result_fini(&res);

    printf("4. FILE requests: files in the outbox\n");
    expect_file(cid_s100, "", "\"family\":\"Okafor\"");
    expect_file(cid_e200, "", "\"family\":\"Mensah\"");
    expect_file(cid_e200, ".1", "deleted");
    lxt_client_destroy(&bus);
    rest_stop(&hub);

    printf("5. a library the hub cannot load or open: it does not "
           "start\n");
    expect_no_start("no-such-adapter.so", "{}", "library",
                    "no such library file");
    expect_no_start(lxt_env_path("LX_NOT_ADAPTER_SO"), "{}", "library",
                    "no symbol 'lingua_adapter_v1'");
    expect_no_start(outbox_so, "{\"prefix\": 5}", "config",
                    "/prefix: adapter open: prefix must be a string");

    int exit_code = rest_finish(&hub);
    lxt_target_stop(&acme);
    lxt_target_stop(&archive);
    return exit_code;
}
