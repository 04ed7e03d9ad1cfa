/* Tests of the conformance runner (conformance/conform.h): the built-in
 * adapters pass their suites, broken adapters fail the right cases with
 * messages that point at the cause, bad vectors and hanging adapters are
 * errors of their case, and the reports and certificate say so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conformance/conform_int.h"
#include "conformance/report.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/log.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char src[2048];

static const char *source_dir(void)
{
    const char *d = getenv("LX_SOURCE_DIR");
    snprintf(src, sizeof(src), "%s", d ? d : ".");
    return src;
}

static void suite_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/conformance/suites/%s", source_dir(), name);
}

static void schema_root(char *out, size_t size)
{
    snprintf(out, size, "%s/schemas", source_dir());
}

static lx_conform_report *run(const char *suite, const char *adapter,
                              const char *only,
                              const lx_conform_driver *drv,
                              unsigned timeout_ms)
{
    char dir[4096], root[4096];
    if (suite[0] == '/')
        snprintf(dir, sizeof(dir), "%s", suite);
    else
        suite_path(dir, sizeof(dir), suite);
    schema_root(root, sizeof(root));
    lx_conform_options o = {.suite_dir = dir,
                            .adapter = adapter,
                            .schema_root = root,
                            .only = only,
                            .timeout_ms = timeout_ms};
    lx_conform_report *r = NULL;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_conform_run_with(&o, drv, &r, &err);
    if (rc != 0)
        fprintf(stderr, "lx_conform_run: %s (%s)\n", err.msg, err.where);
    assert_int_equal(rc, 0);
    return r;
}

/* The case's result object in the JSON report (borrowed from report). */
static json_t *case_of(json_t *report, const char *id)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(report, "cases"), i, c)
    {
        if (strcmp(lx_json_str(c, "id"), id) == 0)
            return c;
    }
    fail_msg("no case %s in the report", id);
    return NULL;
}

static const char *status_of(json_t *report, const char *id)
{
    return lx_json_str(case_of(report, id), "status");
}

/* True when one of the case's messages contains `text`. */
static bool says(json_t *report, const char *id, const char *text)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(case_of(report, id), "messages"), i, m)
    {
        if (strstr(json_string_value(m), text))
            return true;
    }
    return false;
}

/* assert_true(says(...)), showing what the case said instead. */
static void assert_says(json_t *report, const char *id, const char *text)
{
    if (says(report, id, text))
        return;
    size_t i;
    json_t *m;
    fprintf(stderr, "case %s does not say '%s'; it says:\n", id, text);
    json_array_foreach(json_object_get(case_of(report, id), "messages"), i, m)
        fprintf(stderr, "  %s\n", json_string_value(m));
    fail();
}

static void assert_all_pass(lx_conform_report *r, size_t at_least)
{
    lx_conform_counts c;
    lx_conform_report_counts(r, &c);
    if (c.passed != c.total)
        lx_conform_report_print(r, stderr, false);
    assert_true(c.total >= at_least);
    assert_int_equal(c.passed, c.total);
    assert_int_equal(c.must_failed, 0);
}

static void test_conform_builtin_fhir_adapter_passes_its_suite(void **state)
{
    (void)state;
    lx_conform_report *r = run("fhir-r4", "builtin", NULL, NULL, 0);
    assert_all_pass(r, 12);
    json_t *cert = lx_conform_certificate(r);
    assert_non_null(cert);
    assert_string_equal(lx_json_str(json_object_get(cert, "suite"), "name"),
                        "fhir-r4");
    json_decref(cert);
    lx_conform_report_destroy(&r);
    assert_null(r);
}

static void test_conform_builtin_hropen_adapter_passes_its_suite(void **state)
{
    (void)state;
    lx_conform_report *r = run("hropen-4", "builtin", NULL, NULL, 0);
    assert_all_pass(r, 14);
    lx_conform_report_destroy(&r);
}

static void test_conform_builtin_edi_and_rest_adapters_pass_their_suites(
    void **state)
{
    (void)state;
    static const struct {
        const char *suite;
        size_t at_least;
    } suites[] = {{"x12-005010", 23}, {"edifact-d96a", 14}, {"rest-json", 14}};
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
        lx_conform_report *r = run(suites[i].suite, "builtin", NULL, NULL, 0);
        assert_all_pass(r, suites[i].at_least);
        lx_conform_report_destroy(&r);
    }
}

/* ---- EDI: a lost acknowledgement, an outbox without echo suppression ---- */

static int mute_ingest(void *st, lx_conform_hub *hub, const char *system,
                       const json_t *input, const char *doc, size_t len,
                       lx_conform_answer *ans, lx_error *err)
{
    int rc = lx_conform_driver_x12.ingest(st, hub, system, input, doc, len,
                                          ans, err);
    free(ans->reply); /* the 999 never reaches the partner */
    ans->reply = NULL;
    return rc;
}

static int deaf_edi_out_start(void *st, lx_conform_hub *hub,
                              const char *system, const json_t *options,
                              void **out, lx_error *err)
{
    (void)system;
    return lx_conform_driver_x12.out_start(st, hub, "someone-else", options,
                                           out, err);
}

static void test_conform_edi_acknowledgement_and_echo_are_checked(void **state)
{
    (void)state;
    lx_conform_driver mute = lx_conform_driver_x12;
    mute.ingest = mute_ingest;
    lx_conform_report *r = run("x12-005010", "builtin", "order-inbound", &mute,
                               0);
    json_t *rep = lx_conform_report_json(r);
    assert_string_equal(status_of(rep, "order-inbound"), "fail");
    assert_says(rep, "order-inbound", "the adapter sent no acknowledgement");
    json_decref(rep);
    lx_conform_report_destroy(&r);

    lx_conform_driver deaf = lx_conform_driver_x12;
    deaf.out_start = deaf_edi_out_start;
    r = run("x12-005010", "builtin", "order-echo", &deaf, 0);
    rep = lx_conform_report_json(r);
    assert_string_equal(status_of(rep, "order-echo"), "fail");
    /* The outbox file is the call: its name with the number masked. */
    assert_says(rep, "order-echo",
                "was sent back to it: WRITE partner-{n}-850.x12");
    json_decref(rep);
    lx_conform_report_destroy(&r);
}

/* ---- REST: an adapter that forgets the id it was given ---- */

static int no_update_out_start(void *st, lx_conform_hub *hub,
                               const char *system, const json_t *options,
                               void **out, lx_error *err)
{
    /* Without an update route every change is a create again. */
    json_t *o = json_deep_copy(options);
    json_object_del(o, "update");
    int rc = lx_conform_driver_rest.out_start(st, hub, system, o, out, err);
    json_decref(o);
    return rc;
}

static void test_conform_rest_second_change_must_be_an_update(void **state)
{
    (void)state;
    lx_conform_driver forgetful = lx_conform_driver_rest;
    forgetful.out_start = no_update_out_start;
    lx_conform_report *r = run("rest-json", "builtin",
                               "holder-outbound-update", &forgetful, 0);
    json_t *rep = lx_conform_report_json(r);
    assert_string_equal(status_of(rep, "holder-outbound-update"), "fail");
    assert_says(rep, "holder-outbound-update",
                "call 2 /method: expected \"PUT\", got \"POST\"");
    json_decref(rep);
    lx_conform_report_destroy(&r);
}

/* ---- a broken copy of the FHIR mapping folder ---- */

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[4096];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
            remove_dir(p);
        else
            unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* A copy of schemas/maps/fhir whose Patient mapping swaps male and female
 * (a wrong code mapping that still inverts cleanly) and has lost its
 * birthDate rule (a dropped field). */
static void broken_fhir_copy(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/lx-test-conform-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char maps[4096];
    snprintf(maps, sizeof(maps), "%s/schemas/maps/fhir", source_dir());
    static const char *const files[] = {"coverage.json", "organization.json",
                                        "practitioner.json"};
    char a[4096], b[4096];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(a, sizeof(a), "%s/%s", maps, files[i]);
        snprintf(b, sizeof(b), "%s/%s", dir, files[i]);
        copy_file(a, b);
    }
    snprintf(a, sizeof(a), "%s/patient.json", maps);
    json_t *m = json_load_file(a, 0, NULL);
    assert_non_null(m);
    json_t *gender =
        json_object_get(json_object_get(json_object_get(m, "tables"), "gender"),
                        "in");
    json_object_set_new(gender, "male", json_string("female"));
    json_object_set_new(gender, "female", json_string("male"));
    json_t *rules = json_object_get(m, "rules");
    size_t i;
    json_t *rule;
    bool dropped = false;
    json_array_foreach(rules, i, rule)
    {
        if (strcmp(lx_json_str(rule, "id"), "birth-date") == 0) {
            json_array_remove(rules, i);
            dropped = true;
            break;
        }
    }
    assert_true(dropped);
    snprintf(b, sizeof(b), "%s/patient.json", dir);
    assert_int_equal(json_dump_file(m, b, JSON_INDENT(2)), 0);
    json_decref(m);
    snprintf(b, sizeof(b), "%s/adapter.json", dir);
    FILE *f = fopen(b, "w");
    assert_non_null(f);
    fputs("{\"name\": \"acme-fhir\", \"version\": \"2.3.1\", \"kind\": "
          "\"fhir\"}\n",
          f);
    fclose(f);
}

static void test_conform_broken_fhir_copy_fails_the_right_cases(void **state)
{
    (void)state;
    char dir[4096];
    broken_fhir_copy(dir, sizeof(dir));
    lx_conform_report *r = run("fhir-r4", dir, NULL, NULL, 0);
    json_t *rep = lx_conform_report_json(r);
    /* The wrong code, in and out, named with both values. */
    assert_string_equal(status_of(rep, "patient-inbound-json"), "fail");
    assert_says(rep, "patient-inbound-json",
                     "record 1 (person)/gender: expected \"male\", got "
                     "\"female\"");
    assert_says(rep, "patient-inbound-xml",
                     "record 1 (person)/gender: expected \"male\"");
    assert_says(rep, "patient-outbound-json",
                     "call 1 body/gender: expected \"male\", got "
                     "\"female\"");
    /* The dropped field, wherever it should have been. */
    assert_says(rep, "patient-inbound-json",
                     "record 1 (person)/birth_date: missing (expected "
                     "\"1974-12-25\")");
    assert_says(rep, "patient-outbound-json",
                     "call 1 body/birthDate: missing (expected "
                     "\"1974-12-25\")");
    assert_says(rep, "patient-roundtrip", "call 1 body/birthDate: "
                                               "missing");
    /* A swapped table inverts cleanly: the round trip keeps the gender,
     * which is why the suite checks each direction on its own. */
    assert_false(says(rep, "patient-roundtrip", "/gender"));
    /* Without its rule, an impossible birthDate is no longer refused. */
    assert_string_equal(status_of(rep, "patient-negative-bad-date"), "fail");
    assert_says(rep, "patient-negative-bad-date",
                     "the adapter accepted a document it must refuse");
    /* What the breakage does not touch still passes. */
    assert_string_equal(status_of(rep, "patient-echo"), "pass");
    assert_string_equal(status_of(rep, "patient-idempotency"), "pass");
    assert_string_equal(status_of(rep, "organization-inbound-json"), "pass");
    assert_string_equal(lx_json_str(json_object_get(rep, "adapter"), "name"),
                        "acme-fhir");
    json_decref(rep);
    assert_null(lx_conform_certificate(r));

    /* The report folder: no certificate, and a stale one is removed. */
    char out[4200], p[4300];
    snprintf(out, sizeof(out), "%s/report", dir);
    assert_int_equal(mkdir(out, 0700), 0);
    snprintf(p, sizeof(p), "%s/certificate.json", out);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("{}", f);
    fclose(f);
    bool certified = true;
    lx_error err;
    assert_int_equal(lx_conform_report_write(r, out, &certified, &err), 0);
    assert_false(certified);
    assert_int_not_equal(access(p, F_OK), 0);
    snprintf(p, sizeof(p), "%s/junit.xml", out);
    json_t *dummy = NULL;
    assert_int_equal(access(p, R_OK), 0);
    (void)dummy;
    lx_conform_report_destroy(&r);
    remove_dir(dir);
}

/* ---- a delivery that does not suppress echoes ---- */

static int deaf_out_start(void *st, lx_conform_hub *hub, const char *system,
                          const json_t *options, void **out, lx_error *err)
{
    (void)system;
    /* Configured for a system that is not the one it delivers to: every
     * change looks foreign to it, its own included. */
    return lx_conform_driver_fhir.out_start(st, hub, "someone-else", options,
                                            out, err);
}

static void test_conform_delivery_without_echo_suppression_fails_echo(
    void **state)
{
    (void)state;
    lx_conform_driver deaf = lx_conform_driver_fhir;
    deaf.out_start = deaf_out_start;
    lx_conform_report *r = run("fhir-r4", "builtin", "patient-echo", &deaf, 0);
    json_t *rep = lx_conform_report_json(r);
    assert_string_equal(status_of(rep, "patient-echo"), "fail");
    assert_says(rep, "patient-echo",
                     "echo: a change that came from the adapter's own "
                     "system was sent back to it: PUT /Patient?identifier="
                     "urn:oid:1.2.36.146.595.217.0.1|12345");
    json_decref(rep);
    lx_conform_report_destroy(&r);
}

/* ---- an adapter that hangs ---- */

static int stuck_out_start(void *st, lx_conform_hub *hub, const char *system,
                           const json_t *options, void **out, lx_error *err)
{
    (void)st;
    (void)hub;
    (void)system;
    (void)options;
    (void)err;
    static int token;
    *out = &token; /* accepts the job, never calls the target */
    return 0;
}

static void stuck_out_stop(void **out)
{
    *out = NULL;
}

static void stuck_out_notify(void *out)
{
    (void)out;
}

static void test_conform_hanging_adapter_is_an_error_of_its_case(void **state)
{
    (void)state;
    lx_conform_driver stuck = lx_conform_driver_fhir;
    stuck.out_start = stuck_out_start;
    stuck.out_stop = stuck_out_stop;
    stuck.out_notify = stuck_out_notify;
    lx_conform_report *r = run("fhir-r4", "builtin", NULL, &stuck, 300);
    json_t *rep = lx_conform_report_json(r);
    assert_string_equal(status_of(rep, "patient-outbound-json"), "error");
    assert_says(rep, "patient-outbound-json",
                     "did not deliver the sentinel change within 300 ms");
    assert_string_equal(status_of(rep, "patient-echo"), "error");
    /* The cases that need no delivery still ran and passed. */
    assert_string_equal(status_of(rep, "patient-inbound-json"), "pass");
    lx_conform_counts c;
    lx_conform_report_counts(r, &c);
    /* Every case that needs a delivery: the outbound ones, the round
     * trip, the echo. */
    json_t *cases = json_object_get(rep, "cases");
    size_t need = 0, i;
    json_t *one;
    json_array_foreach(cases, i, one)
    {
        const char *d = lx_json_str(one, "direction");
        need += strcmp(d, "outbound") == 0 || strcmp(d, "roundtrip") == 0 ||
                strcmp(d, "echo") == 0;
    }
    assert_true(need >= 4);
    assert_int_equal(c.errors, need);
    json_decref(rep);
    lx_conform_report_destroy(&r);
}

/* ---- malformed vectors ---- */

static void write_text(const char *dir, const char *name, const char *text)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void make_case(const char *suite, const char *name,
                      const char *case_json)
{
    char d[4096];
    snprintf(d, sizeof(d), "%s/%s", suite, name);
    assert_int_equal(mkdir(d, 0700), 0);
    if (case_json)
        write_text(d, "case.json", case_json);
}

#define CASE_HEAD                                                            \
    "{\"title\": \"t\", \"standard\": \"s\", \"version\": \"v\", "        \
    "\"section\": \"x\", \"entity\": \"person\", \"level\": \"MUST\", "

static void test_conform_malformed_vectors_are_errors_with_their_id(
    void **state)
{
    (void)state;
    char dir[64] = "/tmp/lx-test-conform-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char from[4096], to[4200];
    suite_path(from, sizeof(from), "fhir-r4");
    strcat(from, "/suite.json");
    snprintf(to, sizeof(to), "%s/suite.json", dir);
    copy_file(from, to);
    make_case(dir, "a-no-case-json", NULL);
    make_case(dir, "b-not-json", "{\"id\": ");
    make_case(dir, "c-no-direction", CASE_HEAD "\"id\": \"c\"}");
    make_case(dir, "d-missing-input",
              CASE_HEAD "\"id\": \"d\", \"direction\": \"inbound\", "
                        "\"input\": \"nowhere.json\", \"expect\": "
                        "{\"records\": []}}");
    make_case(dir, "e-escapes-folder",
              CASE_HEAD "\"id\": \"e\", \"direction\": \"negative\", "
                        "\"input\": \"../../etc/passwd\", \"expect\": {}}");
    make_case(dir, "f-bad-expected",
              CASE_HEAD "\"id\": \"f\", \"direction\": \"inbound\", "
                        "\"input\": \"in.json\", \"expect\": "
                        "{\"records\": \"missing.json\"}}");
    char f[4200];
    snprintf(f, sizeof(f), "%s/f-bad-expected", dir);
    write_text(f, "in.json",
               "{\"resourceType\": \"Patient\", \"identifier\": [{\"system\":"
               " \"urn:x\", \"value\": \"1\"}]}");
    lx_conform_report *r = run(dir, "builtin", NULL, NULL, 1000);
    json_t *rep = lx_conform_report_json(r);
    assert_string_equal(status_of(rep, "a-no-case-json"), "error");
    assert_says(rep, "a-no-case-json", "case.json");
    assert_string_equal(status_of(rep, "b-not-json"), "error");
    assert_says(rep, "b-not-json", "malformed case");
    assert_string_equal(status_of(rep, "c"), "error");
    assert_says(rep, "c", "/direction");
    assert_string_equal(status_of(rep, "d"), "error");
    assert_says(rep, "d", "nowhere.json");
    assert_string_equal(status_of(rep, "e"), "error");
    assert_says(rep, "e", "without '..'");
    assert_string_equal(status_of(rep, "f"), "error");
    assert_says(rep, "f", "missing.json");
    lx_conform_counts c;
    lx_conform_report_counts(r, &c);
    assert_int_equal(c.errors, 6);
    assert_int_equal(c.must_failed, 6);
    assert_null(lx_conform_certificate(r));
    json_decref(rep);
    lx_conform_report_destroy(&r);
    remove_dir(dir);
}

static void test_conform_unusable_targets_are_refused_before_running(
    void **state)
{
    (void)state;
    char dir[4096], root[4096];
    suite_path(dir, sizeof(dir), "fhir-r4");
    schema_root(root, sizeof(root));
    lx_conform_options o = {.suite_dir = dir, .schema_root = root};
    lx_conform_report *r = NULL;
    lx_error err;
    o.adapter = "/nonexistent/adapter";
    assert_int_equal(lx_conform_run(&o, &r, &err), LX_ENOTFOUND);
    assert_null(r);
    o.adapter = "/opt/acme/libacme.so"; /* a native adapter that is not there */
    assert_int_equal(lx_conform_run(&o, &r, &err), LX_ENOTFOUND);
    assert_string_equal(err.where, "/opt/acme/libacme.so");
    char maps[4096];
    snprintf(maps, sizeof(maps), "%s/maps/hropen", root);
    o.adapter = maps; /* an HR Open folder under the FHIR suite */
    assert_int_not_equal(lx_conform_run(&o, &r, &err), 0);
    assert_null(r);
    o.suite_dir = "/nonexistent/suite";
    o.adapter = "builtin";
    assert_int_equal(lx_conform_run(&o, &r, &err), LX_EIO);
    char found[4096];
    assert_int_equal(lx_conform_suite_find("no-such-suite", found,
                                           sizeof(found), &err),
                     LX_ENOTFOUND);
}

static void test_conform_reports_and_certificate(void **state)
{
    (void)state;
    lx_conform_report *r = run("fhir-r4", "builtin", NULL, NULL, 0);
    char dir[64] = "/tmp/lx-test-conform-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char out[128];
    snprintf(out, sizeof(out), "%s/report", dir);
    bool certified = false;
    lx_error err;
    assert_int_equal(lx_conform_report_write(r, out, &certified, &err), 0);
    assert_true(certified);
    char p[256];
    snprintf(p, sizeof(p), "%s/certificate.json", out);
    json_t *cert = json_load_file(p, 0, NULL);
    assert_non_null(cert);
    json_t *adapter = json_object_get(cert, "adapter");
    assert_string_equal(lx_json_str(adapter, "name"), "lingua-fhir");
    assert_string_equal(lx_json_str(json_object_get(cert, "suite"), "version"),
                        "1.0.0");
    assert_non_null(lx_json_str(cert, "date"));
    /* The hash of the adapter's patient.json is the file's own. */
    char maps[4096];
    snprintf(maps, sizeof(maps), "%s/schemas/maps/fhir/patient.json",
             source_dir());
    FILE *f = fopen(maps, "rb");
    assert_non_null(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    uint8_t d[LX_SHA256_LEN];
    char hex[LX_SHA256_HEX_SIZE];
    lx_sha256(buf, n, d);
    lx_hex(d, sizeof(d), hex);
    bool hashed = false;
    size_t i;
    json_t *file;
    json_array_foreach(json_object_get(adapter, "files"), i, file)
    {
        if (strcmp(lx_json_str(file, "path"), "patient.json") == 0)
            hashed = strcmp(lx_json_str(file, "sha256"), hex) == 0;
    }
    assert_true(hashed);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(cert, "counts"), "must_failed")),
                     0);
    json_decref(cert);

    snprintf(p, sizeof(p), "%s/junit.xml", out);
    f = fopen(p, "rb");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_non_null(strstr(buf, "<testsuite name=\"fhir-r4\""));
    assert_non_null(strstr(
        buf, "<testcase name=\"patient-echo\" classname=\"fhir-r4.echo\""));
    json_t *x = NULL;
    assert_int_equal(lx_conform_xml_normalize(buf, n, &x, &err), 0);
    json_decref(x);

    snprintf(p, sizeof(p), "%s/report.html", out);
    f = fopen(p, "rb");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_non_null(strstr(buf, "patient-roundtrip"));
    assert_null(strstr(buf, "<script"));
    assert_null(strstr(buf, "http://"));
    assert_null(strstr(buf, "https://"));

    snprintf(p, sizeof(p), "%s/report.json", out);
    json_t *rep = json_load_file(p, 0, NULL);
    assert_non_null(rep);
    assert_int_equal(json_array_size(json_object_get(rep, "cases")),
                     json_integer_value(json_object_get(
                         json_object_get(rep, "counts"), "total")));
    json_decref(rep);
    lx_conform_report_destroy(&r);
    remove_dir(dir);
}

/* ---- external adapters that exit or hang ---- */

static void external_adapter(char *dir, size_t size, const char *command)
{
    snprintf(dir, size, "/tmp/lx-test-conform-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char text[512];
    snprintf(text, sizeof(text),
             "{\"name\": \"broken\", \"version\": \"0.0.1\", "
             "\"kind\": \"external\", \"command\": %s}\n",
             command);
    write_text(dir, "adapter.json", text);
}

static void test_conform_external_adapter_that_exits_is_an_error_per_case(
    void **state)
{
    (void)state;
    char dir[4096], suite[4096];
    external_adapter(dir, sizeof(dir), "[\"sh\", \"-c\", \"echo no "
                                       "licence key >&2; exit 3\"]");
    snprintf(suite, sizeof(suite),
             "%s/conformance/examples/acme-roster/suite", source_dir());
    lx_conform_report *r = run(suite, dir, NULL, NULL, 2000);
    json_t *rep = lx_conform_report_json(r);
    assert_string_equal(status_of(rep, "staff-inbound"), "error");
    assert_says(rep, "staff-inbound",
                "the adapter exited with status 3; it said: no licence key");
    assert_string_equal(status_of(rep, "staff-outbound"), "error");
    assert_says(rep, "staff-outbound", "the adapter exited with status 3");
    lx_conform_counts c;
    lx_conform_report_counts(r, &c);
    assert_int_equal(c.errors, c.total);
    json_decref(rep);
    lx_conform_report_destroy(&r);
    remove_dir(dir);
}

static void test_conform_external_adapter_that_hangs_times_out_per_case(
    void **state)
{
    (void)state;
    char dir[4096], suite[4096];
    external_adapter(dir, sizeof(dir), "[\"sleep\", \"60\"]");
    snprintf(suite, sizeof(suite),
             "%s/conformance/examples/acme-roster/suite", source_dir());
    lx_conform_report *r = run(suite, dir, NULL, NULL, 300);
    json_t *rep = lx_conform_report_json(r);
    assert_string_equal(status_of(rep, "staff-inbound"), "error");
    assert_says(rep, "staff-inbound",
                "the adapter did not take the document within 300 ms");
    assert_string_equal(status_of(rep, "staff-outbound"), "error");
    assert_says(rep, "staff-outbound",
                "the adapter did not subscribe (no REPLAY) within 300 ms");
    json_decref(rep);
    lx_conform_report_destroy(&r);
    remove_dir(dir);
    /* A program that is not there is refused before anything runs. */
    external_adapter(dir, sizeof(dir), "[\"no-such-adapter-program\"]");
    char root[4096];
    schema_root(root, sizeof(root));
    lx_conform_options o = {.suite_dir = suite, .adapter = dir,
                            .schema_root = root};
    lx_error err;
    assert_int_equal(lx_conform_run(&o, &r, &err), LX_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/command/0"));
    remove_dir(dir);
}

int main(void)
{
    lx_log_set_level(LX_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conform_builtin_fhir_adapter_passes_its_suite),
        cmocka_unit_test(test_conform_builtin_hropen_adapter_passes_its_suite),
        cmocka_unit_test(
            test_conform_builtin_edi_and_rest_adapters_pass_their_suites),
        cmocka_unit_test(test_conform_edi_acknowledgement_and_echo_are_checked),
        cmocka_unit_test(test_conform_rest_second_change_must_be_an_update),
        cmocka_unit_test(test_conform_broken_fhir_copy_fails_the_right_cases),
        cmocka_unit_test(
            test_conform_delivery_without_echo_suppression_fails_echo),
        cmocka_unit_test(test_conform_hanging_adapter_is_an_error_of_its_case),
        cmocka_unit_test(
            test_conform_malformed_vectors_are_errors_with_their_id),
        cmocka_unit_test(
            test_conform_unusable_targets_are_refused_before_running),
        cmocka_unit_test(test_conform_reports_and_certificate),
        cmocka_unit_test(
            test_conform_external_adapter_that_exits_is_an_error_per_case),
        cmocka_unit_test(
            test_conform_external_adapter_that_hangs_times_out_per_case),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
