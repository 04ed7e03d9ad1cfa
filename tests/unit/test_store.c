/* Unit tests of the canonical store (canonical/store.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "canonical/store.h"
#include "core/id.h"
#include "core/json.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fixture {
    char dir[256];
    lx_store *store;
} fixture;

static void rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static lx_store *open_store(const char *dir, size_t map, size_t max_map)
{
    lx_store_options o = {.dir = dir, .map_size = map, .max_map_size = max_map,
                          .no_sync = true};
    lx_store *s = NULL;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_store_open(&o, &s, &err);
    if (rc != 0)
        fprintf(stderr, "open: %s\n", err.msg);
    assert_int_equal(rc, 0);
    return s;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/lx-test-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->store = open_store(f->dir, 0, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    lx_store_close(&f->store);
    rm_rf(f->dir);
    free(f);
    return 0;
}

static json_t *person(const char *family, const char *id_value)
{
    json_t *r = json_pack("{s:[{s:s,s:s}],s:{s:s,s:[s]}}", "identifiers",
                          "system", "urn:example:hr", "value", id_value,
                          "name", "family", family, "given", "Ada");
    assert_non_null(r);
    return r;
}

static int upsert(lx_store *s, const char *system, const char *native_id,
                  json_t *rec, lx_upsert_result *res)
{
    lx_upsert u = {.entity = "person", .system = system,
                   .native_type = "Employee", .native_id = native_id,
                   .record = rec};
    int rc = lx_store_upsert(s, &u, res);
    json_decref(rec);
    return rc;
}

static void test_store_upsert_creates_version_one_and_event_one(void **state)
{
    fixture *f = *state;
    lx_upsert_result res;
    assert_int_equal(upsert(f->store, "hr", "E-1", person("Lovelace", "1"),
                            &res), 0);
    assert_true(res.created);
    assert_false(res.unchanged);
    assert_int_equal(res.version, 1);
    assert_int_equal(res.seq, 1);
    assert_memory_equal(res.canonical_id, "per_", 4);
    assert_int_equal(strlen(res.canonical_id), 4 + 26);

    json_t *rec = NULL;
    lx_record_meta meta;
    assert_int_equal(lx_store_get(f->store, "person", res.canonical_id, &rec,
                                  &meta, NULL), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(rec, "name"),
                                          "family")),
        "Lovelace");
    assert_int_equal(meta.version, 1);
    assert_int_equal(meta.seq, 1);
    json_decref(rec);
    assert_int_equal(lx_store_last_seq(f->store), 1);
}

static void test_store_same_content_is_unchanged_no_event(void **state)
{
    fixture *f = *state;
    lx_upsert_result a, b;
    assert_int_equal(upsert(f->store, "hr", "E-1", person("Lovelace", "1"),
                            &a), 0);
    /* Same content, keys in another order: the canonical form is equal. */
    json_t *r = json_pack("{s:{s:[s],s:s},s:[{s:s,s:s}]}", "name", "given",
                          "Ada", "family", "Lovelace", "identifiers", "value",
                          "1", "system", "urn:example:hr");
    assert_int_equal(upsert(f->store, "hr", "E-1", r, &b), 0);
    assert_true(b.unchanged);
    assert_int_equal(b.seq, 0);
    assert_int_equal(b.version, 1);
    assert_string_equal(a.canonical_id, b.canonical_id);
    assert_int_equal(lx_store_last_seq(f->store), 1);
}

typedef struct collected {
    json_t *events;
} collected;

static int collect(void *ctx, uint64_t seq, const char *ev, size_t len)
{
    collected *c = ctx;
    json_t *e = json_loadb(ev, len, 0, NULL);
    assert_non_null(e);
    assert_int_equal(json_integer_value(json_object_get(e, "seq")), seq);
    json_array_append_new(c->events, e);
    return 0;
}

static void test_store_update_reports_changed_pointers(void **state)
{
    fixture *f = *state;
    lx_upsert_result a, b;
    assert_int_equal(upsert(f->store, "hr", "E-1", person("Lovelace", "1"),
                            &a), 0);
    assert_int_equal(upsert(f->store, "hr", "E-1", person("Byron", "1"), &b),
                     0);
    assert_int_equal(b.version, 2);
    assert_int_equal(b.seq, 2);
    assert_false(b.created);

    collected c = {json_array()};
    uint64_t next = 0;
    assert_int_equal(lx_store_events(f->store, 1, 0, collect, &c, &next, NULL),
                     0);
    assert_int_equal(next, 3);
    assert_int_equal(json_array_size(c.events), 2);
    json_t *e1 = json_array_get(c.events, 0), *e2 = json_array_get(c.events, 1);
    assert_string_equal(json_string_value(json_object_get(e1, "type")),
                        "person.created");
    assert_string_equal(json_string_value(json_object_get(e2, "type")),
                        "person.updated");
    json_t *changed = json_object_get(e2, "changed");
    assert_int_equal(json_array_size(changed), 1);
    assert_string_equal(json_string_value(json_array_get(changed, 0)),
                        "/name/family");
    json_t *origin = json_object_get(e2, "origin");
    assert_string_equal(json_string_value(json_object_get(origin, "system")),
                        "hr");
    assert_string_equal(json_string_value(json_object_get(origin, "native_id")),
                        "E-1");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(e2, "record"), "name"), "family")),
        "Byron");
    json_decref(c.events);

    json_t *hist = NULL;
    assert_int_equal(lx_store_history(f->store, "person", a.canonical_id, &hist,
                                      NULL), 0);
    assert_int_equal(json_array_size(hist), 2);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(hist, 1), "version")),
        2);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(hist, 0), "system")),
                        "hr");
    json_decref(hist);
}

static void test_store_second_system_matches_by_identifier(void **state)
{
    fixture *f = *state;
    lx_upsert_result a, b;
    assert_int_equal(upsert(f->store, "hr", "E-1", person("Lovelace", "77"),
                            &a), 0);
    assert_int_equal(upsert(f->store, "ehr", "P-9", person("Lovelace", "77"),
                            &b), 0);
    assert_string_equal(a.canonical_id, b.canonical_id);
    assert_true(b.unchanged);

    char entity[LX_STORE_NAME_MAX + 1], id[LX_STORE_ID_SIZE];
    assert_int_equal(lx_store_xref_find(f->store, "ehr", "Employee", "P-9",
                                        entity, id, NULL), 0);
    assert_string_equal(entity, "person");
    assert_string_equal(id, a.canonical_id);
    json_t *list = NULL;
    assert_int_equal(lx_store_xref_list(f->store, "person", a.canonical_id,
                                        &list, NULL), 0);
    assert_int_equal(json_array_size(list), 2);
    json_decref(list);
    assert_int_equal(lx_store_ident_find(f->store, "person", "urn:example:hr",
                                         "77", id, NULL), 0);
    assert_string_equal(id, a.canonical_id);
    lx_error err;
    assert_int_equal(lx_store_xref_find(f->store, "ehr", "Employee", "nope",
                                        entity, id, &err), LX_ENOTFOUND);
}

static void test_store_delete_writes_version_and_deleted_event(void **state)
{
    fixture *f = *state;
    lx_upsert_result a, d;
    assert_int_equal(upsert(f->store, "hr", "E-1", person("Lovelace", "1"),
                            &a), 0);
    lx_upsert u = {.op = LX_STORE_DELETE, .entity = "person", .system = "hr",
                   .native_type = "Employee", .native_id = "E-1"};
    assert_int_equal(lx_store_upsert(f->store, &u, &d), 0);
    assert_int_equal(d.version, 2);
    json_t *rec = NULL;
    lx_record_meta meta;
    assert_int_equal(lx_store_get(f->store, "person", a.canonical_id, &rec,
                                  &meta, NULL), 0);
    assert_true(meta.deleted);
    json_decref(rec);
    /* Deleting again changes nothing. */
    assert_int_equal(lx_store_upsert(f->store, &u, &d), 0);
    assert_true(d.unchanged);
    u.native_id = "never-seen";
    assert_int_equal(lx_store_upsert(f->store, &u, &d), LX_ENOTFOUND);
}

static void test_store_rejects_bad_names_without_writing(void **state)
{
    fixture *f = *state;
    lx_upsert_result r;
    json_t *rec = person("X", "1");
    lx_upsert u = {.entity = "person", .system = "h r", .record = rec};
    assert_int_equal(lx_store_upsert(f->store, &u, &r), LX_EINVAL);
    u.system = NULL;
    assert_int_equal(lx_store_upsert(f->store, &u, &r), LX_EINVAL);
    u.system = "hr";
    u.record = NULL;
    assert_int_equal(lx_store_upsert(f->store, &u, &r), LX_EINVAL);
    json_decref(rec);
    assert_int_equal(lx_store_last_seq(f->store), 0);
}

static void test_store_cursor_roundtrip_and_reopen_keeps_sequence(void **state)
{
    fixture *f = *state;
    lx_upsert_result r;
    assert_int_equal(upsert(f->store, "hr", "E-1", person("A", "1"), &r), 0);
    assert_int_equal(upsert(f->store, "hr", "E-2", person("B", "2"), &r), 0);
    assert_int_equal(lx_store_cursor_set(f->store, "ehr-out", 2, NULL), 0);
    lx_store_close(&f->store);
    f->store = open_store(f->dir, 0, 0);
    uint64_t c = 0;
    assert_int_equal(lx_store_cursor_get(f->store, "ehr-out", &c, NULL), 0);
    assert_int_equal(c, 2);
    assert_int_equal(lx_store_last_seq(f->store), 2);
    assert_int_equal(upsert(f->store, "hr", "E-3", person("C", "3"), &r), 0);
    assert_int_equal(r.seq, 3);
}

typedef struct writer_arg {
    lx_store *s;
    int thread, count;
} writer_arg;

static void *writer(void *p)
{
    writer_arg *a = p;
    for (int i = 0; i < a->count; i++) {
        char nid[32], val[32];
        snprintf(nid, sizeof(nid), "T%d-%d", a->thread, i);
        snprintf(val, sizeof(val), "%d-%d", a->thread, i);
        lx_upsert_result r;
        if (upsert(a->s, "hr", nid, person("Concurrent", val), &r) != 0)
            fprintf(stderr, "upsert failed: %s\n", r.err.msg);
    }
    return NULL;
}

static int count_seq(void *ctx, uint64_t seq, const char *ev, size_t len)
{
    (void)ev;
    (void)len;
    uint64_t *expect = ctx;
    assert_int_equal(seq, *expect);
    (*expect)++;
    return 0;
}

static void test_store_concurrent_writers_get_gapless_sequence(void **state)
{
    fixture *f = *state;
    enum { THREADS = 8, EACH = 200 };
    pthread_t t[THREADS];
    writer_arg a[THREADS];
    for (int i = 0; i < THREADS; i++) {
        a[i] = (writer_arg){f->store, i, EACH};
        pthread_create(&t[i], NULL, writer, &a[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(lx_store_last_seq(f->store), THREADS * EACH);
    uint64_t expect = 1;
    assert_int_equal(lx_store_events(f->store, 1, 0, count_seq, &expect, NULL,
                                     NULL), 0);
    assert_int_equal(expect, THREADS * EACH + 1);
    lx_store_stats st;
    assert_int_equal(lx_store_stats_get(f->store, &st, NULL), 0);
    assert_int_equal(st.records, THREADS * EACH);
    /* Group commit: fewer transactions than upserts. */
    assert_true(st.commits < (uint64_t)THREADS * EACH);
}

static void test_store_map_grows_by_itself(void **state)
{
    fixture *f = *state;
    lx_store_close(&f->store);
    rm_rf(f->dir);
    f->store = open_store(f->dir, (size_t)1 << 20, 0);
    char big[2048];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (int i = 0; i < 2000; i++) {
        char nid[32];
        snprintf(nid, sizeof(nid), "%d", i);
        json_t *r = person(big, nid);
        lx_upsert_result res;
        assert_int_equal(upsert(f->store, "hr", nid, r, &res), 0);
    }
    lx_store_stats st;
    assert_int_equal(lx_store_stats_get(f->store, &st, NULL), 0);
    assert_true(st.map_size > ((size_t)1 << 20));
    assert_int_equal(st.records, 2000);
}

static void test_store_full_at_ceiling_is_refused_and_store_still_reads(
    void **state)
{
    fixture *f = *state;
    lx_store_close(&f->store);
    rm_rf(f->dir);
    f->store = open_store(f->dir, (size_t)1 << 20, (size_t)2 << 20);
    char big[4096];
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    int full_at = -1;
    char first_id[LX_STORE_ID_SIZE] = "";
    for (int i = 0; i < 2000 && full_at < 0; i++) {
        char nid[32];
        snprintf(nid, sizeof(nid), "%d", i);
        lx_upsert_result res;
        int rc = upsert(f->store, "hr", nid, person(big, nid), &res);
        if (rc == LX_EFULL)
            full_at = i;
        else
            assert_int_equal(rc, 0);
        if (i == 0)
            snprintf(first_id, sizeof(first_id), "%s", res.canonical_id);
    }
    assert_true(full_at > 0);
    uint64_t last = lx_store_last_seq(f->store);
    assert_int_equal(last, (uint64_t)full_at);
    json_t *rec = NULL;
    assert_int_equal(lx_store_get(f->store, "person", first_id, &rec, NULL,
                                  NULL), 0);
    json_decref(rec);
    /* A small cursor write still fits or fails cleanly; reopening works. */
    lx_store_close(&f->store);
    f->store = open_store(f->dir, (size_t)1 << 20, (size_t)2 << 20);
    assert_int_equal(lx_store_last_seq(f->store), last);
}

static void test_store_read_only_reads_and_refuses_writes(void **state)
{
    fixture *f = *state;
    lx_upsert_result r;
    assert_int_equal(upsert(f->store, "hr", "E-1", person("A", "1"), &r), 0);
    /* LMDB forbids one environment open twice in a process: close first.
     * Reading while another process writes is covered by the integration
     * tests (the CLI reads a running hub's store). */
    lx_store_close(&f->store);
    lx_store_options o = {.dir = f->dir, .read_only = true};
    lx_store *ro = NULL;
    assert_int_equal(lx_store_open(&o, &ro, NULL), 0);
    assert_int_equal(lx_store_last_seq(ro), 1);
    json_t *rec = NULL;
    assert_int_equal(lx_store_get(ro, "person", r.canonical_id, &rec, NULL,
                                  NULL), 0);
    json_decref(rec);
    json_t *rec2 = person("B", "2");
    lx_upsert u = {.entity = "person", .system = "hr", .record = rec2};
    assert_int_equal(lx_store_upsert(ro, &u, &r), LX_ECLOSED);
    json_decref(rec2);
    lx_store_close(&ro);
    f->store = open_store(f->dir, 0, 0);

    lx_store_options none = {.dir = "/tmp/lx-no-such-dir", .read_only = true};
    lx_error err;
    assert_int_equal(lx_store_open(&none, &ro, &err), LX_ENOTFOUND);
    assert_null(ro);
}

static void test_store_xref_link_records_target_id_without_event(void **state)
{
    fixture *f = *state;
    lx_upsert_result r;
    assert_int_equal(upsert(f->store, "hr", "E-1", person("A", "1"), &r), 0);
    assert_int_equal(lx_store_xref_link(f->store, "person", r.canonical_id,
                                        "ehr", "Patient", "p-42", NULL), 0);
    char entity[LX_STORE_NAME_MAX + 1], id[LX_STORE_ID_SIZE];
    assert_int_equal(lx_store_xref_find(f->store, "ehr", "Patient", "p-42",
                                        entity, id, NULL), 0);
    assert_string_equal(id, r.canonical_id);
    assert_int_equal(lx_store_last_seq(f->store), 1);
    lx_error err;
    assert_int_equal(lx_store_xref_link(f->store, "person", "per_nope", "ehr",
                                        "Patient", "p-43", &err),
                     LX_ENOTFOUND);
    assert_int_equal(lx_store_xref_link(f->store, "person", r.canonical_id,
                                        "ehr", "Patient", "", &err),
                     LX_EINVAL);
}

static void test_store_group_is_all_or_nothing(void **state)
{
    fixture *f = *state;
    json_t *a = person("A", "g1"), *b = person("B", "g2");
    lx_upsert ok[2] = {
        {.entity = "person", .system = "hr", .native_id = "G-1", .record = a},
        {.entity = "person", .system = "hr", .native_id = "G-2", .record = b}};
    lx_upsert_result res[2];
    assert_int_equal(lx_store_upsert_group(f->store, ok, 2, res, NULL), 0);
    assert_true(res[0].created && res[1].created);
    assert_int_equal(res[0].seq, 1);
    assert_int_equal(res[1].seq, 2);

    /* The second change deletes something that does not exist: the first
     * (a new person) must not be applied either. */
    json_t *c = person("C", "g3");
    lx_upsert bad[2] = {
        {.entity = "person", .system = "hr", .native_id = "G-3", .record = c},
        {.op = LX_STORE_DELETE, .entity = "person", .system = "hr",
         .native_id = "nobody"}};
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_store_upsert_group(f->store, bad, 2, res, &err),
                     LX_ENOTFOUND);
    assert_non_null(strstr(err.msg, "change 1"));
    assert_int_equal(res[0].code, LX_ECONFLICT);
    assert_int_equal(res[1].code, LX_ENOTFOUND);
    assert_int_equal(lx_store_last_seq(f->store), 2);
    char entity[LX_STORE_NAME_MAX + 1], id[LX_STORE_ID_SIZE];
    assert_int_equal(lx_store_xref_find(f->store, "hr", "person", "G-3",
                                        entity, id, NULL), LX_ENOTFOUND);
    /* The store goes on: the next change gets the next sequence. */
    lx_upsert_result r;
    assert_int_equal(upsert(f->store, "hr", "G-4", person("D", "g4"), &r), 0);
    assert_int_equal(r.seq, 3);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

typedef struct seen {
    char keys[8][64];
    size_t n;
} seen;

static int collect_keys(void *ctx, const char *key, const char *v, size_t len)
{
    (void)v;
    (void)len;
    seen *x = ctx;
    if (x->n < 8)
        snprintf(x->keys[x->n++], 64, "%s", key);
    return 0;
}

static void test_store_state_put_get_list_delete(void **state)
{
    fixture *f = *state;
    assert_int_equal(lx_store_state_put(f->store, "dlq/a/2", "{\"x\":2}", 7,
                                        NULL), 0);
    assert_int_equal(lx_store_state_put(f->store, "dlq/a/1", "{\"x\":1}", 7,
                                        NULL), 0);
    assert_int_equal(lx_store_state_put(f->store, "dlq/b/1", "b", 1, NULL), 0);
    char *v = NULL;
    size_t len = 0;
    assert_int_equal(lx_store_state_get(f->store, "dlq/a/1", &v, &len, NULL),
                     0);
    assert_string_equal(v, "{\"x\":1}");
    free(v);
    seen x = {.n = 0};
    assert_int_equal(lx_store_state_list(f->store, "dlq/a/", collect_keys, &x,
                                         NULL), 0);
    assert_int_equal(x.n, 2);
    assert_string_equal(x.keys[0], "dlq/a/1");
    assert_string_equal(x.keys[1], "dlq/a/2");
    assert_int_equal(lx_store_state_del(f->store, "dlq/a/1", NULL), 0);
    assert_int_equal(lx_store_state_del(f->store, "dlq/a/1", NULL), 0);
    lx_error err;
    assert_int_equal(lx_store_state_get(f->store, "dlq/a/1", &v, &len, &err),
                     LX_ENOTFOUND);
    assert_int_equal(lx_store_state_put(f->store, "", "x", 1, &err),
                     LX_EINVAL);
    /* No event, no version: state is bookkeeping. */
    assert_int_equal(lx_store_last_seq(f->store), 0);
}

static void test_store_counter_is_monotonic_across_reopen(void **state)
{
    fixture *f = *state;
    uint64_t v = 0;
    assert_int_equal(lx_store_counter_next(f->store, "isa13/acme", 1, 999999999,
                                           &v, NULL), 0);
    assert_int_equal(v, 1);
    assert_int_equal(lx_store_counter_next(f->store, "isa13/acme", 1, 999999999,
                                           &v, NULL), 0);
    assert_int_equal(v, 2);
    lx_store_close(&f->store);
    f->store = open_store(f->dir, 0, 0);
    assert_int_equal(lx_store_counter_next(f->store, "isa13/acme", 1, 999999999,
                                           &v, NULL), 0);
    assert_int_equal(v, 3);
    /* A floor lifts it; a ceiling ends it. */
    assert_int_equal(lx_store_counter_next(f->store, "gs06", 100, 101, &v,
                                           NULL), 0);
    assert_int_equal(v, 100);
    assert_int_equal(lx_store_counter_next(f->store, "gs06", 100, 101, &v,
                                           NULL), 0);
    assert_int_equal(v, 101);
    lx_error err;
    assert_int_equal(lx_store_counter_next(f->store, "gs06", 100, 101, &v,
                                           &err), LX_ELIMIT);
}

static void test_store_traces_record_changes_and_expire(void **state)
{
    fixture *f = *state;
    lx_store_close(&f->store);
    lx_store_options o = {.dir = f->dir, .no_sync = true, .traces = true};
    assert_int_equal(lx_store_open(&o, &f->store, NULL), 0);
    json_t *r = person("T", "t1");
    lx_upsert u = {.entity = "person", .system = "hr", .native_id = "T-1",
                   .trace = "01M86D1C6DDWVCNSMTBFZ528W3",
                   .note = "{\"transport\":\"test\"}", .record = r};
    lx_upsert_result res;
    assert_int_equal(lx_store_upsert(f->store, &u, &res), 0);
    assert_int_equal(lx_store_upsert(f->store, &u, &res), 0); /* unchanged */
    json_decref(r);
    const char *traces[] = {"01M86D1C6DDWVCNSMTBFZ528W3"};
    const char *steps[] = {"{\"step\":\"delivery\",\"status\":200}"};
    assert_int_equal(lx_store_trace_add(f->store, traces, steps, 1, NULL), 0);
    json_t *st = NULL;
    assert_int_equal(lx_store_trace_get(f->store, traces[0], &st, NULL), 0);
    assert_int_equal(json_array_size(st), 3);
    json_t *first = json_array_get(st, 0);
    assert_string_equal(lx_json_str(first, "step"), "created");
    assert_string_equal(lx_json_str(json_object_get(first, "received"),
                                    "transport"),
                        "test");
    assert_string_equal(lx_json_str(json_array_get(st, 1), "step"),
                        "unchanged");
    assert_string_equal(lx_json_str(json_array_get(st, 2), "step"),
                        "delivery");
    json_decref(st);
    /* Expiry: nothing is older than an hour ago; everything is older than
     * a minute from now. */
    size_t removed = 99;
    assert_int_equal(lx_store_trace_expire(f->store, lx_now_ms() - 3600000, 0,
                                           &removed, NULL), 0);
    assert_int_equal(removed, 0);
    assert_int_equal(lx_store_trace_expire(f->store, lx_now_ms() + 60000, 0,
                                           &removed, NULL), 0);
    assert_int_equal(removed, 3);
    lx_error err;
    assert_int_equal(lx_store_trace_get(f->store, traces[0], &st, &err),
                     LX_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_store_upsert_creates_version_one_and_event_one),
        T(test_store_same_content_is_unchanged_no_event),
        T(test_store_update_reports_changed_pointers),
        T(test_store_second_system_matches_by_identifier),
        T(test_store_delete_writes_version_and_deleted_event),
        T(test_store_rejects_bad_names_without_writing),
        T(test_store_cursor_roundtrip_and_reopen_keeps_sequence),
        T(test_store_concurrent_writers_get_gapless_sequence),
        T(test_store_map_grows_by_itself),
        T(test_store_full_at_ceiling_is_refused_and_store_still_reads),
        T(test_store_read_only_reads_and_refuses_writes),
        T(test_store_xref_link_records_target_id_without_event),
        T(test_store_group_is_all_or_nothing),
        T(test_store_state_put_get_list_delete),
        T(test_store_counter_is_monotonic_across_reopen),
        T(test_store_traces_record_changes_and_expire),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
