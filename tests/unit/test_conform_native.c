/* Tests of native adapters: the loader (adapters/native/native.h) refuses
 * what is not an adapter with a located reason, converts the ABI's calls
 * both ways with the Acme Roster example (conformance/examples/
 * acme-roster-native/), and the conformance runner survives a crashing and
 * a hanging adapter and leaves no child process behind. The libraries are
 * built by the example's CMakeLists.txt next to the lingua binary
 * (LX_LINGUA). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "adapters/native/native.h"
#include "conformance/conform.h"
#include "core/json.h"
#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* <build>/conformance/examples/acme-roster-native/<name>.so */
static void lib_path(char *out, size_t size, const char *name)
{
    const char *lingua = getenv("LX_LINGUA");
    assert_non_null(lingua);
    const char *slash = strrchr(lingua, '/');
    int n = slash ? (int)(slash - lingua) : 1;
    snprintf(out, size, "%.*s/conformance/examples/acme-roster-native/%s.so",
             n, slash ? lingua : ".", name);
}

static lx_native *load(const char *name)
{
    char p[4096];
    lib_path(p, sizeof(p), name);
    lx_native *lib = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (lx_native_load(p, &lib, &err) != 0)
        fail_msg("cannot load %s: %s", p, err.msg);
    return lib;
}

static void test_native_load_refuses_what_is_not_an_adapter(void **state)
{
    (void)state;
    char p[4096];
    lx_native *lib = NULL;
    lx_error err;

    lx_error_clear(&err);
    assert_int_equal(lx_native_load("/nonexistent/acme.so", &lib, &err),
                     LX_ENOTFOUND);
    assert_string_equal(err.where, "/nonexistent/acme.so");
    assert_null(lib);

    lib_path(p, sizeof(p), "not_an_adapter");
    lx_error_clear(&err);
    assert_int_equal(lx_native_load(p, &lib, &err), LX_EUNSUPPORTED);
    assert_string_equal(err.where, p);
    assert_non_null(strstr(err.msg, "no symbol 'lingua_adapter_v1'"));

    lib_path(p, sizeof(p), "acme_roster_abi99");
    lx_error_clear(&err);
    assert_int_equal(lx_native_load(p, &lib, &err), LX_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "adapter ABI version 99, this Lingua "
                                    "speaks version 1"));

    /* Not a shared object at all: the dynamic loader's own words. */
    char fake[64];
    snprintf(fake, sizeof(fake), "/tmp/lx-test-native-%d.so", (int)getpid());
    FILE *f = fopen(fake, "w");
    assert_non_null(f);
    fputs("not an ELF file\n", f);
    fclose(f);
    lx_error_clear(&err);
    assert_int_equal(lx_native_load(fake, &lib, &err), LX_EIO);
    assert_non_null(strstr(err.msg, "cannot load the library"));
    unlink(fake);
    assert_null(lib);
}

/* A host that keeps what the adapter ingests, or refuses it. */
typedef struct host_log {
    json_t *records;   /* [{"entity","native_type","native_id","record"}] */
    int refuse;        /* answer this code instead of storing */
} host_log;

static int host_ingest(void *ctx, const char *entity, const char *native_type,
                       const char *native_id, const json_t *record,
                       lx_error *err)
{
    host_log *h = ctx;
    if (h->refuse) {
        lx_error_set(err, h->refuse, "format date: not a calendar date");
        return lx_error_at(err, "/birth_date", 0, 0);
    }
    json_array_append_new(h->records,
                          json_pack("{s:s,s:s?,s:s?,s:O?}", "entity", entity,
                                    "native_type", native_type, "native_id",
                                    native_id, "record", record));
    return 0;
}

static const char staff[] =
    "{\"staffId\": \"S-100\", \"surname\": \"Okafor\", \"forenames\": "
    "[\"Chidi\"], \"sex\": \"M\", \"dob\": \"1990-07-01\", \"email\": "
    "\"chidi@acme.example\"}";

static void test_native_inbound_hands_records_to_the_host(void **state)
{
    (void)state;
    lx_native *lib = load("acme_roster");
    assert_string_equal(lx_native_name(lib), "acme-roster-native");
    assert_string_equal(lx_native_version(lib), "1.0.0");
    assert_string_equal(lx_native_suite(lib), "acme-roster");
    host_log h = {.records = json_array()};
    lx_native_host host = {.system = "acme", .instance = "acme-in",
                           .ingest = host_ingest, .ctx = &h};
    lx_native_instance *inst = NULL;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_native_open(lib, NULL, &host, &inst, &err), 0);
    int status = -1;
    assert_int_equal(lx_native_inbound(inst, "acme", "json", NULL, staff,
                                       strlen(staff), &status, &err),
                     0);
    assert_int_equal(json_array_size(h.records), 1);
    json_t *r = json_array_get(h.records, 0);
    assert_string_equal(lx_json_str(r, "entity"), "person");
    assert_string_equal(lx_json_str(r, "native_type"), "Staff");
    assert_string_equal(lx_json_str(r, "native_id"), "S-100");
    json_t *want = json_loads(
        "{\"identifiers\": [{\"system\": \"urn:acme:roster:staff\", "
        "\"value\": \"S-100\"}], \"name\": {\"family\": \"Okafor\", "
        "\"given\": [\"Chidi\"]}, \"gender\": \"male\", \"birth_date\": "
        "\"1990-07-01\", \"contacts\": [{\"system\": \"email\", \"value\": "
        "\"chidi@acme.example\"}]}",
        0, NULL);
    assert_true(json_equal(want, json_object_get(r, "record")));
    json_decref(want);
    lx_native_close(&inst);
    assert_null(inst);
    json_decref(h.records);
    lx_native_unload(&lib);
    assert_null(lib);
}

static void test_native_inbound_refusals_are_located(void **state)
{
    (void)state;
    lx_native *lib = load("acme_roster");
    host_log h = {.records = json_array()};
    lx_native_host host = {.system = "acme", .ingest = host_ingest,
                           .ctx = &h};
    lx_native_instance *inst = NULL;
    lx_error err;
    assert_int_equal(lx_native_open(lib, NULL, &host, &inst, &err), 0);
    int status = 0;

    static const char broken[] = "{\"staffId\": ";
    lx_error_clear(&err);
    assert_int_equal(lx_native_inbound(inst, "acme", "json", NULL, broken,
                                       strlen(broken), &status, &err),
                     LX_ESYNTAX);
    assert_non_null(strstr(err.where, "line 1 column"));

    static const char sex[] = "{\"staffId\": \"S-1\", \"sex\": \"Q\"}";
    lx_error_clear(&err);
    assert_int_equal(lx_native_inbound(inst, "acme", "json", NULL, sex,
                                       strlen(sex), &status, &err),
                     LX_EINVAL);
    assert_string_equal(err.where, "/sex");
    assert_string_equal(err.msg, "sex must be one of M, F, X, U");
    assert_int_equal(json_array_size(h.records), 0);

    /* The host's refusal comes back through the adapter unchanged. */
    h.refuse = LX_ESCHEMA;
    lx_error_clear(&err);
    assert_int_equal(lx_native_inbound(inst, "acme", "json", NULL, staff,
                                       strlen(staff), &status, &err),
                     LX_ESCHEMA);
    assert_string_equal(err.where, "/birth_date");
    assert_non_null(strstr(err.msg, "not a calendar date"));
    lx_native_close(&inst);
    json_decref(h.records);
    lx_native_unload(&lib);
}

static int outbound(lx_native_instance *inst, const char *event,
                    const char *target_id, lx_native_request *req, bool *skip)
{
    json_t *ev = json_loads(event, 0, NULL);
    assert_non_null(ev);
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_native_outbound(inst, ev, target_id, req, skip, &err);
    json_decref(ev);
    return rc;
}

static void test_native_outbound_builds_the_request(void **state)
{
    (void)state;
    lx_native *lib = load("acme_roster");
    assert_true(lx_native_has_outbound(lib));
    lx_native_host host = {.system = "acme", .ingest = host_ingest};
    lx_native_instance *inst = NULL;
    lx_error err;
    assert_int_equal(lx_native_open(lib, NULL, &host, &inst, &err), 0);
    static const char updated[] =
        "{\"id\": \"ev-1\", \"seq\": 3, \"type\": \"person.updated\", "
        "\"entity\": \"person\", \"canonical_id\": \"p1\", \"record\": "
        "{\"identifiers\": [{\"system\": \"urn:acme:roster:staff\", "
        "\"value\": \"S 1/2\"}], \"gender\": \"female\"}}";
    lx_native_request req;
    bool skip = true;
    assert_int_equal(outbound(inst, updated, NULL, &req, &skip), 0);
    assert_false(skip);
    assert_false(req.is_file);
    assert_string_equal(req.method, "PUT");
    assert_string_equal(req.path, "/staff/S%201%2F2");
    assert_string_equal(req.native_type, "Staff");
    assert_int_equal(req.header_count, 2);
    assert_string_equal(req.headers[0], "Content-Type: application/json");
    assert_string_equal(req.headers[1], "X-Lingua-Event-Id: ev-1");
    json_t *body = json_loadb(req.body, req.body_len, 0, NULL);
    assert_string_equal(lx_json_str(body, "staffId"), "S 1/2");
    assert_string_equal(lx_json_str(body, "sex"), "F");
    json_decref(body);

    lx_outbound_call call;
    memset(&call, 0, sizeof(call));
    assert_int_equal(lx_native_call_fill(&req, "http://127.0.0.1:9/api/",
                                         &call, &err),
                     0);
    assert_string_equal(call.http.url,
                        "http://127.0.0.1:9/api/staff/S%201%2F2");
    assert_string_equal(call.http.method, "PUT");
    assert_string_equal(call.http.headers[1], "X-Lingua-Event-Id: ev-1");
    assert_null(call.http.headers[2]);
    lx_native_request_fini(&req);
    /* The call does not point into the request it came from. */
    assert_string_equal(call.http.method, "PUT");
    assert_non_null(strstr(call.http.body, "\"staffId\""));
    free(call.body);
    free(call.extra[0]);

    /* After the call: Acme's id of the record is its staffId. */
    json_t *ev = json_loads(updated, 0, NULL);
    lx_http_result res;
    memset(&res, 0, sizeof(res));
    res.status = 200;
    char id[64];
    assert_true(lx_native_target_id(inst, ev, &res, id, sizeof(id)));
    assert_string_equal(id, "S 1/2");
    json_decref(ev);

    static const char org[] =
        "{\"id\": \"ev-2\", \"type\": \"organization.created\", \"entity\": "
        "\"organization\", \"canonical_id\": \"o1\", \"record\": {}}";
    assert_int_equal(outbound(inst, org, NULL, &req, &skip), 0);
    assert_true(skip);

    static const char deleted[] =
        "{\"id\": \"ev-3\", \"type\": \"person.deleted\", \"entity\": "
        "\"person\", \"canonical_id\": \"p1\"}";
    assert_int_equal(outbound(inst, deleted, NULL, &req, &skip), 0);
    assert_true(skip); /* Acme never had it */
    assert_int_equal(outbound(inst, deleted, "S-100", &req, &skip), 0);
    assert_false(skip);
    assert_string_equal(req.method, "DELETE");
    assert_string_equal(req.path, "/staff/S-100");
    assert_null(req.body);
    lx_native_request_fini(&req);
    lx_native_close(&inst);
    lx_native_unload(&lib);
}

/* The case's result in the JSON report (borrowed). */
static json_t *case_of(json_t *report, const char *id)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(report, "cases"), i, c)
        if (strcmp(lx_json_str(c, "id"), id) == 0)
            return c;
    fail_msg("no case %s in the report", id);
    return NULL;
}

static bool says(const json_t *c, const char *text)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(c, "messages"), i, m)
        if (strstr(json_string_value(m), text))
            return true;
    return false;
}

static void test_native_runner_survives_a_crash_and_a_hang(void **state)
{
    (void)state;
    lx_log_set_level(LX_LOG_ERROR);
    char suite[4096], root[4096], so[4096];
    const char *srcdir = getenv("LX_SOURCE_DIR");
    snprintf(suite, sizeof(suite),
             "%s/conformance/examples/acme-roster/suite", srcdir);
    snprintf(root, sizeof(root), "%s/schemas", srcdir);
    lib_path(so, sizeof(so), "acme_roster_crash");
    lx_conform_options o = {.suite_dir = suite, .adapter = so,
                            .schema_root = root, .timeout_ms = 3000};
    lx_conform_report *r = NULL;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_conform_run(&o, &r, &err), 0);
    json_t *j = lx_conform_report_json(r);
    json_t *c = case_of(j, "staff-negative-sex");
    assert_string_equal(lx_json_str(c, "status"), "error");
    assert_true(says(c, "the adapter crashed with signal"));
    assert_true(says(c, "during inbound"));
    c = case_of(j, "staff-negative-impossible-date");
    assert_string_equal(lx_json_str(c, "status"), "error");
    assert_true(says(c, "did not answer within 3000 ms"));
    /* A crash on the delivery thread's call ends the case at once, with
     * its reason, not after the timeout. */
    c = case_of(j, "staff-outbound");
    assert_string_equal(lx_json_str(c, "status"), "error");
    assert_true(says(c, "during outbound"));
    assert_true(json_number_value(json_object_get(c, "ms")) < 2500.0);
    /* The cases after a crash or a hang ran with a fresh child. */
    assert_string_equal(
        lx_json_str(case_of(j, "staff-negative-not-json"), "status"), "pass");
    assert_string_equal(lx_json_str(case_of(j, "staff-inbound"), "status"),
                        "pass");
    json_decref(j);
    lx_conform_report_destroy(&r);
    /* Every child was reaped: none is left running or a zombie. */
    errno = 0;
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_native_load_refuses_what_is_not_an_adapter),
        cmocka_unit_test(test_native_inbound_hands_records_to_the_host),
        cmocka_unit_test(test_native_inbound_refusals_are_located),
        cmocka_unit_test(test_native_outbound_builds_the_request),
        cmocka_unit_test(test_native_runner_survives_a_crash_and_a_hang),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
