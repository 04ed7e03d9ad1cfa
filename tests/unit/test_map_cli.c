/* tests/unit/test_map_cli.c: `lingua map test` and `lingua map check`
 * (appliance/cli_map.c), run in-process with stdout and stderr captured. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "appliance/cli.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int lx_cli_map(int argc, char **argv);

typedef struct captured {
    int rc;
    char out[65536];
    char err[8192];
} captured;

static void slurp(FILE *f, char *buf, size_t size)
{
    rewind(f);
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Run `lingua map ARGS...` (NULL-terminated). */
static captured *cli(const char *first, ...)
{
    char *argv[16];
    int argc = 0;
    argv[argc++] = (char *)"map";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && argc < 15; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    captured *c = calloc(1, sizeof(*c));
    fflush(stdout);
    fflush(stderr);
    int o = dup(1), e = dup(2);
    FILE *fo = tmpfile(), *fe = tmpfile();
    dup2(fileno(fo), 1);
    dup2(fileno(fe), 2);
    c->rc = lx_cli_map(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(o, 1);
    dup2(e, 2);
    close(o);
    close(e);
    slurp(fo, c->out, sizeof(c->out));
    slurp(fe, c->err, sizeof(c->err));
    return c;
}

static void expect_in(const char *text, const char *part)
{
    if (!strstr(text, part))
        fprintf(stderr, "output:\n%s\nlacks: %s\n", text, part);
    assert_non_null(strstr(text, part));
}

static char map_path[1024], patient_path[1024], xref_path[64],
    canonical_path[64];

static const char *data(const char *name, char *buf, size_t size)
{
    const char *src = getenv("LX_SOURCE_DIR");
    snprintf(buf, size, "%s/tests/unit/data/map/%s", src ? src : ".", name);
    return buf;
}

static void write_file(char *path, const char *text)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    data("fhir-patient.json", map_path, sizeof(map_path));
    const char *corpus = getenv("LX_CORPUS_DIR");
    snprintf(patient_path, sizeof(patient_path),
             "%s/fhir/r4/json/Patient-example.json",
             corpus ? corpus : "../shared/corpus");
    snprintf(xref_path, sizeof(xref_path), "/tmp/lx-map-xref-XXXXXX");
    write_file(xref_path, "{\"Organization/1\": "
                          "\"organization/org_01JD3V8Z5Q6W7E8R9T0Y1U2I3O\"}");
    snprintf(canonical_path, sizeof(canonical_path), "/tmp/lx-map-can-XXXXXX");
    write_file(canonical_path,
               "{\"name\": {\"family\": \"Lee\", \"given\": [\"Ann\"]},"
               " \"gender\": \"female\", \"managing_organization\":"
               " {\"entity\": \"organization\","
               " \"id\": \"org_01JD3V8Z5Q6W7E8R9T0Y1U2I3O\"}}");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(xref_path);
    unlink(canonical_path);
    return 0;
}

static void test_map_cli_test_prints_the_canonical_record(void **state)
{
    (void)state;
    captured *c =
        cli("test", map_path, patient_path, "--xref", xref_path, NULL);
    assert_int_equal(c->rc, 0);
    expect_in(c->out, "\"family\": \"Chalmers\"");
    expect_in(c->out, "\"id\": \"org_01JD3V8Z5Q6W7E8R9T0Y1U2I3O\"");
    assert_string_equal(c->err, "");
    json_error_t je;
    json_t *v = json_loads(c->out, 0, &je);
    assert_non_null(v);
    /* keys in rule order, not sorted */
    assert_true(strstr(c->out, "\"identifiers\"") < strstr(c->out, "\"name\""));
    json_decref(v);
    free(c);
}

static void test_map_cli_trace_prints_field_lineage(void **state)
{
    (void)state;
    captured *c = cli("test", map_path, patient_path, "--trace", "--xref",
                      xref_path, NULL);
    assert_int_equal(c->rc, 0);
    expect_in(c->out, "\nlineage (25 fields):\n");
    expect_in(c->out, "/name/family               <- rule 'family' (#3.1) "
                      "from Patient.name[0].family\n");
    expect_in(c->out, "/contacts/0/value          <- rule 'contact-value' "
                      "(#4.2) from Patient.telecom[1].value\n");
    free(c);
    c = cli("test", map_path, patient_path, "--trace", "--json", "--xref",
            xref_path, NULL);
    assert_int_equal(c->rc, 0);
    json_error_t je;
    json_t *v = json_loads(c->out, 0, &je);
    assert_non_null(v);
    assert_true(json_is_object(json_object_get(v, "output")));
    assert_int_equal(json_array_size(json_object_get(v, "lineage")), 25);
    json_decref(v);
    free(c);
}

static void test_map_cli_reverse_maps_canonical_to_native(void **state)
{
    (void)state;
    captured *c = cli("test", "--reverse", map_path, canonical_path, "--xref",
                      xref_path, NULL);
    assert_int_equal(c->rc, 0);
    expect_in(c->out, "\"resourceType\": \"Patient\"");
    expect_in(c->out, "\"reference\": \"Organization/1\"");
    expect_in(c->out, "\"use\": \"official\"");
    free(c);
}

static void test_map_cli_mapping_error_exits_1_located(void **state)
{
    (void)state;
    /* no resolver: the reference cannot be resolved */
    captured *c = cli("test", map_path, patient_path, NULL);
    assert_int_equal(c->rc, 1);
    assert_string_equal(c->out, "");
    expect_in(c->err, "lingua: map: rule 'managing-organization' (#8): source "
                      "Patient.managingOrganization.reference: no reference "
                      "resolver for this run\n");
    free(c);
    char bad[] = "/tmp/lx-map-bad-XXXXXX";
    write_file(bad, "{\"format\": 1,\n \"rules\": [{\"native\": \"a[\","
                    " \"canonical\": \"/a\"}]}");
    c = cli("check", bad, NULL);
    assert_int_equal(c->rc, 1);
    expect_in(c->err, ":2:23: rule #1 at /rules/0/native: invalid path 'a['");
    free(c);
    c = cli("test", bad, patient_path, NULL);
    assert_int_equal(c->rc, 1);
    free(c);
    unlink(bad);
}

static void test_map_cli_check_and_usage(void **state)
{
    (void)state;
    captured *c = cli("check", map_path, NULL);
    assert_int_equal(c->rc, 0);
    expect_in(c->out, "ok (fhir-r4/patient)");
    free(c);
    c = cli("check", "/nonexistent/map.json", NULL);
    assert_int_equal(c->rc, 3);
    free(c);
    c = cli("test", map_path, "/nonexistent/input.json", NULL);
    assert_int_equal(c->rc, 3);
    free(c);
    const char *usages[][4] = {{NULL},
                               {"test", NULL},
                               {"test", "a", NULL},
                               {"frobnicate", "a", NULL},
                               {"test", "a", "b", "--bogus"},
                               {"check", "a", "--trace", NULL}};
    for (size_t i = 0; i < sizeof(usages) / sizeof(usages[0]); i++) {
        c = cli(usages[i][0], usages[i][1], usages[i][2], usages[i][3], NULL);
        assert_int_equal(c->rc, 2);
        expect_in(c->err, "usage: lingua map test");
        free(c);
    }
    c = cli("test", "a", "b", "--data-dir", "/tmp", NULL);
    assert_int_equal(c->rc, 2);
    free(c);
    c = cli("--help", NULL);
    assert_int_equal(c->rc, 0);
    expect_in(c->out, "field lineage");
    free(c);
}

static void test_map_cli_xml_in_and_out(void **state)
{
    (void)state;
    char xmap[1024], xml[1024];
    data("xslt-person.json", xmap, sizeof(xmap));
    data("xslt/person.xml", xml, sizeof(xml));
    captured *c = cli("test", xmap, xml, NULL);
    assert_int_equal(c->rc, 0);
    expect_in(c->out, "\"birth_date\": \"1990-04-17\"");
    char canon[] = "/tmp/lx-map-xcan-XXXXXX";
    write_file(canon, c->out);
    free(c);
    c = cli("test", "--reverse", xmap, canon, NULL);
    assert_int_equal(c->rc, 0);
    /* the document itself, not a JSON string */
    expect_in(c->out, "<Person id=\"E-1\"><Name><Family>");
    free(c);
    unlink(canon);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_cli_test_prints_the_canonical_record),
        cmocka_unit_test(test_map_cli_trace_prints_field_lineage),
        cmocka_unit_test(test_map_cli_reverse_maps_canonical_to_native),
        cmocka_unit_test(test_map_cli_mapping_error_exits_1_located),
        cmocka_unit_test(test_map_cli_check_and_usage),
        cmocka_unit_test(test_map_cli_xml_in_and_out),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
