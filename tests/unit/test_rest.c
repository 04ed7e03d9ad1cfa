/* Unit tests of the REST adapter (adapters/rest/): URL templates, JSON
 * pointers, authentication settings, the mapping in both directions, the
 * inbound ingest (all or nothing, located errors), and how outbound events
 * become calls (create, then update on the cross-referenced id, then
 * delete). The hub-level behaviour is tests/integration/test_rest_*.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "adapters/rest/rest_auth.h"
#include "adapters/rest/rest_in.h"
#include "adapters/rest/rest_out.h"
#include "adapters/rest/rest_pointer.h"
#include "adapters/rest/rest_template.h"
#include "canonical/registry.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_src[1024];

static void path_of(char *out, size_t size, const char *rel)
{
    snprintf(out, size, "%s/%s", g_src, rel);
}

/* ---- templates and pointers ---- */

static const char *vars(void *ctx, const char *name, char *scratch,
                        size_t size)
{
    (void)ctx;
    if (strcmp(name, "native_id") == 0)
        return "h 1/2";
    if (strcmp(name, "n") == 0) {
        snprintf(scratch, size, "%d", 42);
        return scratch;
    }
    return NULL;
}

static void test_rest_template_escapes_values(void **state)
{
    (void)state;
    char out[128];
    lx_error err;
    assert_int_equal(lx_rest_template_expand("/holders/{native_id}?n={n}&x={{y}}",
                                             vars, NULL, false, out,
                                             sizeof(out), &err),
                     0);
    assert_string_equal(out, "/holders/h%201%2F2?n=42&x={y}");
    assert_int_equal(lx_rest_template_expand("{native_id}", vars, NULL, true,
                                             out, sizeof(out), &err),
                     0);
    assert_string_equal(out, "h 1/2");
}

static void test_rest_template_errors_name_the_placeholder(void **state)
{
    (void)state;
    char out[16];
    lx_error err;
    assert_int_equal(lx_rest_template_expand("/a/{missing}", vars, NULL,
                                             false, out, sizeof(out), &err),
                     LX_EINVAL);
    assert_non_null(strstr(err.msg, "{missing}"));
    assert_int_equal(lx_rest_template_expand("/a/{native_id", vars, NULL,
                                             false, out, sizeof(out), &err),
                     LX_EINVAL);
    assert_int_equal(lx_rest_template_expand("/a/}", vars, NULL, false, out,
                                             sizeof(out), &err),
                     LX_EINVAL);
    assert_int_equal(lx_rest_template_expand("/a/very/long/path/{n}", vars,
                                             NULL, false, out, sizeof(out),
                                             &err),
                     LX_ELIMIT);
}

static void test_rest_pointer_reads_members_and_indexes(void **state)
{
    (void)state;
    json_t *doc = json_loads("{\"items\":[{\"id\":7},{\"a/b\":\"x\"}],"
                             "\"next\":null}",
                             0, NULL);
    assert_int_equal(json_integer_value(
                         lx_rest_pointer_get(doc, "/items/0/id")),
                     7);
    assert_string_equal(json_string_value(
                            lx_rest_pointer_get(doc, "/items/1/a~1b")),
                        "x");
    assert_ptr_equal(lx_rest_pointer_get(doc, ""), doc);
    assert_null(lx_rest_pointer_get(doc, "/items/01"));
    assert_null(lx_rest_pointer_get(doc, "/items/2"));
    assert_null(lx_rest_pointer_get(doc, "items"));
    char buf[16];
    assert_true(lx_rest_scalar_text(lx_rest_pointer_get(doc, "/items/0/id"),
                                    buf, sizeof(buf)));
    assert_string_equal(buf, "7");
    assert_false(lx_rest_scalar_text(lx_rest_pointer_get(doc, "/next"), buf,
                                     sizeof(buf)));
    json_decref(doc);
}

/* ---- authentication ---- */

static void test_rest_auth_headers_of_each_type(void **state)
{
    (void)state;
    setenv("LXT_REST_PW", "open sesame", 1);
    json_t *c = json_loads("{\"type\":\"basic\",\"username\":\"Aladdin\","
                           "\"password_env\":\"LXT_REST_PW\"}",
                           0, NULL);
    lx_rest_auth *a = NULL;
    lx_error err;
    char *line = NULL;
    assert_int_equal(lx_rest_auth_new(c, &a, &err), 0);
    assert_int_equal(lx_rest_auth_header(a, false, 0, &line, &err), 0);
    /* RFC 7617 section 2's example. */
    assert_string_equal(line, "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    assert_false(lx_rest_auth_is_dynamic(a));
    free(line);
    lx_rest_auth_destroy(&a);
    json_decref(c);

    c = json_loads("{\"type\":\"api_key\",\"header\":\"X-API-Key\","
                   "\"key_env\":\"LXT_REST_PW\"}",
                   0, NULL);
    assert_int_equal(lx_rest_auth_new(c, &a, &err), 0);
    assert_int_equal(lx_rest_auth_header(a, false, 0, &line, &err), 0);
    assert_string_equal(line, "X-API-Key: open sesame");
    free(line);
    lx_rest_auth_destroy(&a);
    json_decref(c);

    assert_int_equal(lx_rest_auth_new(NULL, &a, &err), 0);
    assert_int_equal(lx_rest_auth_header(a, false, 0, &line, &err), 0);
    assert_null(line);
    lx_rest_auth_destroy(&a);
}

static void test_rest_auth_missing_secret_names_the_member(void **state)
{
    (void)state;
    unsetenv("LXT_REST_UNSET");
    json_t *c = json_loads("{\"type\":\"oauth2\",\"token_url\":"
                           "\"http://127.0.0.1:1/token\",\"client_id\":\"c\","
                           "\"client_secret_env\":\"LXT_REST_UNSET\"}",
                           0, NULL);
    lx_rest_auth *a = NULL;
    lx_error err;
    assert_int_equal(lx_rest_auth_new(c, &a, &err), LX_ECONFIG);
    assert_null(a);
    assert_non_null(strstr(err.msg, "auth/client_secret_env"));
    json_decref(c);
    c = json_loads("{\"type\":\"digest\"}", 0, NULL);
    assert_int_equal(lx_rest_auth_new(c, &a, &err), LX_ECONFIG);
    assert_non_null(strstr(err.msg, "auth/type"));
    json_decref(c);
}

/* ---- the sample mapping, both directions ---- */

static void test_rest_badge_mapping_both_directions(void **state)
{
    (void)state;
    char path[1200];
    path_of(path, sizeof(path), "schemas/maps/rest/badge-person.json");
    lx_map *m = NULL;
    lx_error err;
    assert_int_equal(lx_map_load(path, &m, &err), 0);
    json_t *holder = json_loads(
        "{\"id\":\"h-17\",\"employee_no\":\"E-1001\",\"first_name\":\"Ann\","
        "\"last_name\":\"Lee\",\"email\":\"ann@example.com\"}",
        0, NULL);
    json_t *person = NULL, *back = NULL;
    assert_int_equal(lx_map_run(m, LX_MAP_IN, holder, NULL, &person, NULL,
                                &err),
                     0);
    json_t *want = json_loads(
        "{\"identifiers\":[{\"system\":\"urn:lingua:hropen:worker-id\","
        "\"value\":\"E-1001\"}],\"name\":{\"family\":\"Lee\",\"given\":"
        "[\"Ann\"]},\"contacts\":[{\"system\":\"email\",\"value\":"
        "\"ann@example.com\"}]}",
        0, NULL);
    assert_true(json_equal(person, want));
    assert_int_equal(lx_map_run(m, LX_MAP_OUT, person, NULL, &back, NULL,
                                &err),
                     0);
    /* Everything but the system's own id comes back. */
    json_object_del(holder, "id");
    assert_true(json_equal(back, holder));
    json_decref(want);
    json_decref(back);
    json_decref(person);
    json_decref(holder);
    lx_map_destroy(&m);
}

/* ---- with a store ---- */

typedef struct fixture {
    char dir[64];
    lx_store *store;
    lx_registry *reg;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/lx-test-rest-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    lx_store_options o = {.dir = f->dir, .no_sync = true};
    if (lx_store_open(&o, &f->store, NULL) != 0)
        return -1;
    char path[1200];
    path_of(path, sizeof(path), "schemas/canonical");
    if (lx_registry_load(path, &f->reg, NULL) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    lx_store_close(&f->store);
    lx_registry_destroy(&f->reg);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static lx_rest_in *badge_in(const char *items)
{
    char path[1200];
    path_of(path, sizeof(path), "schemas/maps/rest/badge-person.json");
    lx_rest_in_options o = {.map_path = path, .system = "badge",
                            .adapter = "badge-in", .items = items};
    lx_rest_in *in = NULL;
    assert_int_equal(lx_rest_in_new(&o, &in, NULL), 0);
    return in;
}

static void test_rest_in_stores_a_list_with_its_ids(void **state)
{
    fixture *f = *state;
    lx_rest_in *in = badge_in("/items");
    const char *body =
        "{\"items\":[{\"id\":\"h-1\",\"employee_no\":\"E-1\",\"last_name\":"
        "\"A\"},{\"id\":2,\"employee_no\":\"E-2\",\"last_name\":\"B\"}]}";
    json_t *answer = NULL;
    lx_error err;
    assert_int_equal(lx_rest_in_ingest(in, f->store, f->reg, body,
                                       strlen(body), "webhook", &answer, &err),
                     0);
    json_t *recs = json_object_get(answer, "records");
    assert_int_equal(json_array_size(recs), 2);
    char entity[LX_STORE_NAME_MAX + 1], id[LX_STORE_ID_SIZE];
    assert_int_equal(lx_store_xref_find(f->store, "badge", "Holder", "2",
                                        entity, id, &err),
                     0);
    assert_string_equal(entity, "person");
    assert_string_equal(id, lx_json_str(json_array_get(recs, 1),
                                        "canonical_id"));
    json_decref(answer);
    lx_rest_in_destroy(&in);
}

static void test_rest_in_bad_input_is_located_and_stores_nothing(void **state)
{
    fixture *f = *state;
    lx_rest_in *in = badge_in("/items");
    json_t *answer = NULL;
    lx_error err;
    /* Not JSON: line and column. */
    const char *bad = "{\"items\": [\n  {\"id\": 1,,}]}";
    assert_int_equal(lx_rest_in_ingest(in, f->store, f->reg, bad, strlen(bad),
                                       "webhook", &answer, &err),
                     LX_ESYNTAX);
    assert_int_equal(err.line, 2);
    /* The second record maps to an invalid person (no identifier): the
     * first one is not stored either. */
    const char *inval =
        "{\"items\":[{\"id\":\"h-9\",\"employee_no\":\"E-9\",\"last_name\":"
        "\"A\"},{\"id\":\"h-10\",\"last_name\":\"B\"}]}";
    assert_int_equal(lx_rest_in_ingest(in, f->store, f->reg, inval,
                                       strlen(inval), "webhook", &answer,
                                       &err),
                     LX_ESCHEMA);
    assert_non_null(strstr(err.msg, "/items/1: mapped record"));
    char entity[LX_STORE_NAME_MAX + 1], id[LX_STORE_ID_SIZE];
    assert_int_equal(lx_store_xref_find(f->store, "badge", "Holder", "h-9",
                                        entity, id, &err),
                     LX_ENOTFOUND);
    /* No list where "items" points. */
    const char *nolist = "{\"items\":{}}";
    assert_int_equal(lx_rest_in_ingest(in, f->store, f->reg, nolist,
                                       strlen(nolist), "webhook", &answer,
                                       &err),
                     LX_EINVAL);
    assert_string_equal(err.where, "/items");
    assert_null(answer);
    lx_rest_in_destroy(&in);
}

/* An event as the store writes it, for the outbound adapter. */
static json_t *event(const char *type, const char *cid, const char *record)
{
    json_t *ev = json_pack("{s:I,s:s,s:s,s:s,s:s}", "seq", (json_int_t)1,
                           "id", "01EVENT", "type", type, "entity", "person",
                           "canonical_id", cid);
    json_object_set_new(ev, "record", json_loads(record, 0, NULL));
    return ev;
}

static void release(lx_outbound_call *call)
{
    free(call->body);
    for (size_t i = 0; i < 4; i++)
        free(call->extra[i]);
    memset(call, 0, sizeof(*call));
}

static bool has_header(const lx_outbound_call *call, const char *line)
{
    for (size_t i = 0; call->http.headers[i]; i++)
        if (strcmp(call->http.headers[i], line) == 0)
            return true;
    return false;
}

static void test_rest_out_create_update_delete(void **state)
{
    fixture *f = *state;
    /* A person in the store, as if it came from HR. */
    const char *rec = "{\"identifiers\":[{\"system\":"
                      "\"urn:lingua:hropen:worker-id\",\"value\":\"E-5\"}],"
                      "\"name\":{\"family\":\"Lee\",\"given\":[\"Ann\"]}}";
    json_t *record = json_loads(rec, 0, NULL);
    lx_upsert u = {.entity = "person", .system = "hr", .native_type = "worker",
                   .native_id = "E-5", .record = record};
    lx_upsert_result r;
    assert_int_equal(lx_store_upsert(f->store, &u, &r), 0);
    json_decref(record);

    char maps[1200];
    path_of(maps, sizeof(maps), "schemas/maps");
    json_t *conf = json_loads(
        "{\"transport\":{\"url\":\"http://127.0.0.1:9/api/\"},"
        "\"map\":\"rest/badge-person.json\","
        "\"create\":{\"method\":\"POST\",\"path\":\"/holders\"},"
        "\"update\":{\"method\":\"PATCH\",\"path\":\"/holders/{native_id}\"},"
        "\"delete\":{\"method\":\"DELETE\",\"path\":\"/holders/{native_id}\"},"
        "\"headers\":{\"X-Source\":\"lingua\"}}",
        0, NULL);
    lx_rest_out_env env = {.system = "badge", .maps_dir = maps};
    lx_rest_out *o = NULL;
    lx_error err;
    assert_int_equal(lx_rest_out_new(conf, &env, &o, &err), 0);
    lx_outbound_ops ops;
    lx_rest_out_ops(o, &ops);
    assert_null(ops.perform); /* no OAuth2: the engine performs calls */

    /* Unknown to the system: create. */
    json_t *ev = event("person.created", r.canonical_id, rec);
    lx_outbound_call call;
    memset(&call, 0, sizeof(call));
    bool skip = false;
    assert_int_equal(ops.prepare(ops.ctx, f->store, ev, &call, &skip, &err),
                     0);
    assert_false(skip);
    assert_string_equal(call.http.method, "POST");
    assert_string_equal(call.http.url, "http://127.0.0.1:9/api/holders");
    assert_string_equal(call.native_type, "Holder");
    json_t *sent = json_loads(call.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(sent,
                                                          "employee_no")),
                        "E-5");
    json_decref(sent);
    assert_true(has_header(&call, "X-Source: lingua"));
    assert_true(has_header(&call, "Content-Type: application/json"));
    assert_true(has_header(&call, "X-Lingua-Event-Id: 01EVENT"));
    release(&call);

    /* The id of the answer's Location. */
    lx_http_result res = {.status = 201};
    snprintf(res.location, sizeof(res.location),
             "http://127.0.0.1:9/api/holders/h%%2077/");
    char nid[LX_STORE_NATIVE_ID_MAX + 1];
    ops.native_id(ops.ctx, ev, &res, nid, sizeof(nid));
    assert_string_equal(nid, "h%2077");
    assert_int_equal(lx_store_xref_link(f->store, "person", r.canonical_id,
                                        "badge", "Holder", "h 77", &err),
                     0);

    /* Known: update on its id (escaped), then delete. */
    json_decref(ev);
    ev = event("person.updated", r.canonical_id, rec);
    assert_int_equal(ops.prepare(ops.ctx, f->store, ev, &call, &skip, &err),
                     0);
    assert_string_equal(call.http.method, "PATCH");
    assert_string_equal(call.http.url,
                        "http://127.0.0.1:9/api/holders/h%2077");
    release(&call);
    json_decref(ev);
    ev = event("person.deleted", r.canonical_id, rec);
    assert_int_equal(ops.prepare(ops.ctx, f->store, ev, &call, &skip, &err),
                     0);
    assert_false(skip);
    assert_string_equal(call.http.method, "DELETE");
    assert_string_equal(call.http.url,
                        "http://127.0.0.1:9/api/holders/h%2077");
    assert_null(call.http.body);
    release(&call);
    json_decref(ev);

    /* Another entity: nothing for this system. */
    ev = event("person.updated", r.canonical_id, rec);
    json_object_set_new(ev, "entity", json_string("organization"));
    assert_int_equal(ops.prepare(ops.ctx, f->store, ev, &call, &skip, &err),
                     0);
    assert_true(skip);
    release(&call);
    json_decref(ev);
    lx_rest_out_destroy(&o);
    json_decref(conf);
}

static void test_rest_out_config_errors_name_the_member(void **state)
{
    (void)state;
    char maps[1200];
    path_of(maps, sizeof(maps), "schemas/maps");
    lx_rest_out_env env = {.system = "badge", .maps_dir = maps};
    static const struct {
        const char *conf, *member;
    } cases[] = {
        {"{\"map\":\"rest/badge-person.json\",\"create\":{\"method\":\"POST\","
         "\"path\":\"/h\"}}",
         "transport/url"},
        {"{\"transport\":{\"url\":\"http://x\"},\"map\":"
         "\"rest/badge-person.json\"}",
         "create"},
        {"{\"transport\":{\"url\":\"http://x\"},\"map\":"
         "\"rest/badge-person.json\",\"create\":{\"method\":\"FETCH\","
         "\"path\":\"/h\"}}",
         "create/method"},
        {"{\"transport\":{\"url\":\"http://x\"},\"map\":"
         "\"rest/badge-person.json\",\"create\":{\"method\":\"POST\","
         "\"path\":\"/h/{nope}\"}}",
         "create/path"},
        {"{\"transport\":{\"url\":\"http://x\"},\"map\":"
         "\"rest/badge-person.json\",\"create\":{\"method\":\"POST\","
         "\"path\":\"/h\"},\"id_from\":\"header:x\"}",
         "id_from"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *c = json_loads(cases[i].conf, 0, NULL);
        assert_non_null(c);
        lx_rest_out *o = NULL;
        lx_error err;
        assert_int_equal(lx_rest_out_new(c, &env, &o, &err), LX_ECONFIG);
        assert_null(o);
        if (strncmp(err.msg, cases[i].member, strlen(cases[i].member)) != 0)
            fail_msg("case %zu: '%s' does not start with '%s'", i, err.msg,
                     cases[i].member);
        json_decref(c);
    }
}

int main(void)
{
    const char *src = getenv("LX_SOURCE_DIR");
    snprintf(g_src, sizeof(g_src), "%s", src ? src : ".");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rest_template_escapes_values),
        cmocka_unit_test(test_rest_template_errors_name_the_placeholder),
        cmocka_unit_test(test_rest_pointer_reads_members_and_indexes),
        cmocka_unit_test(test_rest_auth_headers_of_each_type),
        cmocka_unit_test(test_rest_auth_missing_secret_names_the_member),
        cmocka_unit_test(test_rest_badge_mapping_both_directions),
        cmocka_unit_test_setup_teardown(test_rest_in_stores_a_list_with_its_ids,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_rest_in_bad_input_is_located_and_stores_nothing, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_rest_out_create_update_delete,
                                        setup, teardown),
        cmocka_unit_test(test_rest_out_config_errors_name_the_member),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
