/* tests/integration/test_hub_bus.c: the bus protocol (docs/bus.md) against
 * a real `lingua serve`.
 *
 * One hub with limits.max_payload = 2048. A SUB ("person.") and a DEALER
 * connect; 50 persons are ingested and their replies and events checked;
 * then idempotence, an update, REPLAY, GET, every documented error (each
 * ERR body checked, nothing written), a REQ client; SIGTERM must exit 0
 * and the CLI must read back what was acknowledged. */
#include "tests/integration/harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#define N 50
#define MAX_PAYLOAD 2048

static lxt_hub hub;
static lxt_client *cl;
static lxt_sub *sub;
static lxt_sub *sub_all; /* subscribed to everything: no stray publish */

static json_t *sent[N + 1];   /* the record sent for person i */
static char ids[N + 1][64];   /* its canonical id */
static json_t *live[N + 8];   /* events received on SUB, by seq */
static int nev;               /* events so far */
/* What the store must hold at the end, per person. */
static const json_t *cur[N + 1];
static int ver[N + 1];
static bool del[N + 1];
static int checks;

/* Scaled waits and step headings come from the harness. */
#define T lxt_ms
#define step lxt_step

static json_t *person(int i, const char *birth_date)
{
    static const char *const family[] = {"Lovelace", "Hopper", "G\xc3\xb6" "del",
                                         "Noether", "Turing"};
    char nid[32], given[32];
    snprintf(nid, sizeof(nid), "E-%d", i);
    snprintf(given, sizeof(given), "Given%d", i);
    char date[16];
    if (!birth_date) {
        snprintf(date, sizeof(date), "19%02d-%02d-%02d", i % 100, 1 + i % 12,
                 1 + i % 28);
        birth_date = date;
    }
    return json_pack("{s:[{s:s,s:s}],s:{s:s,s:[s]},s:s,s:s}", "identifiers",
                     "system", "urn:example:hr", "value", nid, "name",
                     "family", family[i % 5], "given", given, "birth_date",
                     birth_date, "gender", i % 2 ? "female" : "male");
}

/* An INGEST body for person i from system hr (record borrowed). */
static json_t *ingest_body(int i, const json_t *record)
{
    char nid[32];
    snprintf(nid, sizeof(nid), "E-%d", i);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:O}", "entity", "person",
                     "system", "hr", "adapter", "hr-in", "native_type",
                     "Employee", "native_id", nid, "record", record);
}

static const char *str_member(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static json_t *call_ok(const char *cmd, const json_t *body, const char *what)
{
    char status[16];
    json_t *reply = NULL;
    int r = lxt_call(cl, cmd, body, T(5000), status, &reply);
    if (r != 0)
        LXT_FAIL("%s: no valid reply (%d)", what, r);
    if (strcmp(status, "OK") != 0 || !json_is_object(reply)) {
        char *t = lxt_jdump(reply);
        LXT_FAIL("%s: expected OK, got %s %s", what, status, t);
    }
    checks++;
    return reply;
}

/* Send a raw body text and expect ERR with `code`, and `where` when not
 * NULL. Returns the ERR body (caller decrefs). */
static json_t *expect_err_text(const char *cmd, const char *body, size_t len,
                               const char *code, const char *where,
                               const char *what)
{
    char status[16];
    json_t *reply = NULL;
    int r = lxt_call_text(cl, cmd, body, len, T(5000), status, &reply, NULL);
    if (r != 0)
        LXT_FAIL("%s: no valid reply (%d)", what, r);
    char *t = lxt_jdump(reply);
    const char *got = str_member(reply, "code");
    const char *msg = str_member(reply, "message");
    const char *w = str_member(reply, "where");
    if (strcmp(status, "ERR") != 0)
        LXT_SOFT_FAIL("%s: expected ERR %s, got %s %s", what, code, status, t);
    else if (!json_is_object(reply))
        LXT_SOFT_FAIL("%s: ERR body is not an object: %s", what, t);
    else if (!got || strcmp(got, code) != 0)
        LXT_SOFT_FAIL("%s: expected code %s, got %s", what, code, t);
    else if (!msg || !*msg)
        LXT_SOFT_FAIL("%s: ERR without a message: %s", what, t);
    else if (where && (!w || strcmp(w, where) != 0))
        LXT_SOFT_FAIL("%s: expected where \"%s\", got %s", what, where, t);
    printf("   %-34s -> %s\n", what, t);
    free(t);
    checks++;
    return reply;
}

static json_t *expect_err(const char *cmd, const json_t *body,
                          const char *code, const char *where,
                          const char *what)
{
    char *txt = json_dumps(body, JSON_COMPACT);
    json_t *r = expect_err_text(cmd, txt, strlen(txt), code, where, what);
    free(txt);
    return r;
}

static json_t *status_now(void)
{
    json_t *b = json_object();
    json_t *st = call_ok("STATUS", b, "STATUS");
    json_decref(b);
    return st;
}

static void expect_no_event(int ms, const char *what)
{
    char topic[64];
    json_t *ev = NULL;
    lxt_msg raw;
    if (lxt_sub_recv(sub, ms, topic, &ev, &raw) == 0) {
        char *t = lxt_jdump(ev);
        LXT_FAIL("%s: unexpected event %s %s", what, topic, t);
    }
    checks++;
}

static json_t *next_event(const char *want_topic, const char *what)
{
    char topic[64];
    json_t *ev = NULL;
    lxt_msg raw;
    if (lxt_sub_recv(sub, T(5000), topic, &ev, &raw) != 0)
        LXT_FAIL("%s: no event on SUB", what);
    if (raw.count != 2)
        LXT_FAIL("%s: an event is 2 frames, got %d", what, raw.count);
    lxt_msg_fini(&raw);
    if (!json_is_object(ev))
        LXT_FAIL("%s: event body is not a JSON object", what);
    if (strcmp(topic, want_topic) != 0)
        LXT_FAIL("%s: topic %s, expected %s", what, topic, want_topic);
    const char *type = lxt_jstr(ev, "type", what);
    if (strcmp(type, topic) != 0)
        LXT_FAIL("%s: type %s differs from topic %s", what, type, topic);
    checks++;
    return ev;
}

/* The members every event has (docs/bus.md, "Events"). */
static void check_event(const json_t *ev, int seq, int i, int version,
                        const json_t *record, const char *trace,
                        const char *what)
{
    char *t = lxt_jdump(ev);
    LXT_CHECK(lxt_jint(ev, "seq", what) == seq, "%s: seq: %s", what, t);
    const char *id = lxt_jstr(ev, "id", what);
    LXT_CHECK(strlen(id) == 26, "%s: id is not a ULID: %s", what, t);
    LXT_CHECK(strcmp(lxt_jstr(ev, "entity", what), "person") == 0, "%s", t);
    LXT_CHECK(strcmp(lxt_jstr(ev, "canonical_id", what), ids[i]) == 0,
              "%s: canonical_id differs from the reply's %s: %s", what,
              ids[i], t);
    LXT_CHECK(lxt_jint(ev, "version", what) == version, "%s: %s", what, t);
    const char *time = lxt_jstr(ev, "time", what);
    LXT_CHECK(strlen(time) == 24 && time[10] == 'T' && time[23] == 'Z',
              "%s: time is not RFC 3339 UTC with ms: %s", what, t);
    json_t *o = json_object_get(ev, "origin");
    LXT_CHECK(json_is_object(o), "%s: origin: %s", what, t);
    char nid[32];
    snprintf(nid, sizeof(nid), "E-%d", i);
    LXT_CHECK(strcmp(lxt_jstr(o, "system", what), "hr") == 0, "%s", t);
    LXT_CHECK(strcmp(lxt_jstr(o, "adapter", what), "hr-in") == 0, "%s", t);
    LXT_CHECK(strcmp(lxt_jstr(o, "native_id", what), nid) == 0, "%s", t);
    if (trace)
        LXT_CHECK(strcmp(lxt_jstr(o, "trace", what), trace) == 0,
                  "%s: origin.trace differs from the reply's %s: %s", what,
                  trace, t);
    LXT_CHECK(json_equal(json_object_get(ev, "record"), record),
              "%s: record differs from what was sent: %s", what, t);
    LXT_CHECK(json_is_array(json_object_get(ev, "changed")),
              "%s: changed: %s", what, t);
    free(t);
    checks++;
}

static void ingest_all(void)
{
    step("ingest 50 persons over ROUTER");
    for (int i = 1; i <= N; i++) {
        char what[64];
        snprintf(what, sizeof(what), "INGEST person %d", i);
        sent[i] = person(i, NULL);
        json_t *b = ingest_body(i, sent[i]);
        if (i == 1)
            json_object_set_new(b, "trace", json_string("trace-one"));
        json_t *r = call_ok("INGEST", b, what);
        char *t = lxt_jdump(r);
        const char *id = lxt_jstr(r, "canonical_id", what);
        LXT_CHECK(strncmp(id, "per_", 4) == 0 && strlen(id) > 4,
                  "%s: %s", what, t);
        snprintf(ids[i], sizeof(ids[i]), "%s", id);
        LXT_CHECK(lxt_jint(r, "version", what) == 1, "%s: %s", what, t);
        LXT_CHECK(lxt_jint(r, "seq", what) == i, "%s: %s", what, t);
        LXT_CHECK(lxt_jbool(r, "created", what), "%s: %s", what, t);
        LXT_CHECK(!lxt_jbool(r, "unchanged", what), "%s: %s", what, t);
        const char *trace = lxt_jstr(r, "trace", what);
        LXT_CHECK(*trace, "%s: empty trace: %s", what, t);
        if (i == 1)
            LXT_CHECK(strcmp(trace, "trace-one") == 0,
                      "%s: the given trace is not kept: %s", what, t);
        for (int j = 1; j < i; j++)
            LXT_CHECK(strcmp(ids[j], id) != 0, "%s: id of person %d reused",
                      what, j);
        /* Keep the trace to compare with the event. */
        json_object_set_new(sent[i], "__trace", json_string(trace));
        free(t);
        json_decref(r);
        json_decref(b);
    }

    step("receive the 50 events on SUB");
    for (int i = 1; i <= N; i++) {
        char what[64];
        snprintf(what, sizeof(what), "event %d", i);
        json_t *ev = next_event("person.created", what);
        json_t *trace = json_incref(json_object_get(sent[i], "__trace"));
        json_object_del(sent[i], "__trace");
        check_event(ev, i, i, 1, sent[i], json_string_value(trace), what);
        json_decref(trace);
        json_t *ch = json_object_get(ev, "changed");
        LXT_CHECK(json_array_size(ch) == 0, "%s: changed on create", what);
        live[i] = ev;
        cur[i] = sent[i];
        ver[i] = 1;
    }
    nev = N;
}

/* The same record again, its keys in another order: unchanged. */
static void ingest_same_again(void)
{
    step("ingest an identical record: unchanged, no event");
    json_t *copy = json_object();
    const char *keys[] = {"gender", "birth_date", "name", "identifiers"};
    for (size_t k = 0; k < 4; k++)
        json_object_set(copy, keys[k], json_object_get(sent[5], keys[k]));
    LXT_CHECK(json_equal(copy, sent[5]), "copy");
    json_t *b = ingest_body(5, copy);
    json_t *r = call_ok("INGEST", b, "INGEST same");
    char *t = lxt_jdump(r);
    LXT_CHECK(lxt_jbool(r, "unchanged", "same"), "%s", t);
    LXT_CHECK(!lxt_jbool(r, "created", "same"), "%s", t);
    LXT_CHECK(lxt_jint(r, "seq", "same") == 0, "%s", t);
    LXT_CHECK(lxt_jint(r, "version", "same") == 1, "%s", t);
    LXT_CHECK(strcmp(lxt_jstr(r, "canonical_id", "same"), ids[5]) == 0, "%s",
              t);
    free(t);
    json_decref(r);
    json_decref(b);
    json_decref(copy);
    expect_no_event(T(300), "after an unchanged ingest");
    json_t *st = status_now();
    LXT_CHECK(lxt_jint(st, "last_seq", "STATUS") == N, "last_seq moved");
    json_decref(st);
}

static json_t *updated7;

static void ingest_update(void)
{
    step("update person 7: version 2, person.updated with changed");
    updated7 = person(7, "1815-12-11");
    json_t *b = ingest_body(7, updated7);
    json_t *r = call_ok("INGEST", b, "INGEST update");
    char *t = lxt_jdump(r);
    LXT_CHECK(lxt_jint(r, "version", "update") == 2, "%s", t);
    LXT_CHECK(lxt_jint(r, "seq", "update") == N + 1, "%s", t);
    LXT_CHECK(!lxt_jbool(r, "created", "update"), "%s", t);
    LXT_CHECK(!lxt_jbool(r, "unchanged", "update"), "%s", t);
    LXT_CHECK(strcmp(lxt_jstr(r, "canonical_id", "update"), ids[7]) == 0,
              "%s", t);
    json_t *ev = next_event("person.updated", "update event");
    check_event(ev, N + 1, 7, 2, updated7, lxt_jstr(r, "trace", "update"),
                "update event");
    json_t *ch = json_object_get(ev, "changed");
    char *tc = lxt_jdump(ch);
    LXT_CHECK(json_array_size(ch) == 1 &&
                  json_is_string(json_array_get(ch, 0)) &&
                  strcmp(json_string_value(json_array_get(ch, 0)),
                         "/birth_date") == 0,
              "changed should be [\"/birth_date\"], is %s", tc);
    free(tc);
    live[N + 1] = ev;
    nev = N + 1;
    cur[7] = updated7;
    ver[7] = 2;
    free(t);
    json_decref(r);
    json_decref(b);
}

static void replay(void)
{
    step("REPLAY from 10: events 10..51 as published, then END");
    json_t *evs = json_array();
    json_t *end = NULL;
    int r = lxt_replay(cl, 10, 0, T(10000), evs, &end);
    char *te = lxt_jdump(end);
    LXT_CHECK(r == 0, "REPLAY: %d %s", r, te);
    LXT_CHECK(json_array_size(evs) == N + 1 - 10 + 1,
              "REPLAY returned %zu events", json_array_size(evs));
    for (size_t k = 0; k < json_array_size(evs); k++) {
        json_t *e = json_array_get(evs, k);
        int seq = 10 + (int)k;
        LXT_CHECK(lxt_jint(e, "seq", "replay") == seq, "order at %d", seq);
        char *a = lxt_jdump(e), *b = lxt_jdump(live[seq]);
        LXT_CHECK(json_equal(e, live[seq]),
                  "replayed event %d differs from the published one:\n %s\n %s",
                  seq, a, b);
        free(a);
        free(b);
    }
    LXT_CHECK(lxt_jint(end, "last_seq", "END") == N + 1, "END %s", te);
    LXT_CHECK(lxt_jint(end, "next", "END") == N + 2, "END %s", te);
    free(te);
    json_decref(end);
    json_decref(evs);
    checks++;

    step("REPLAY paging: from 1 limit 20, then from next");
    evs = json_array();
    r = lxt_replay(cl, 1, 20, T(10000), evs, &end);
    te = lxt_jdump(end);
    LXT_CHECK(r == 0 && json_array_size(evs) == 20, "page 1: %zu %s",
              json_array_size(evs), te);
    LXT_CHECK(lxt_jint(end, "next", "END") == 21, "page 1 END %s", te);
    LXT_CHECK(lxt_jint(end, "last_seq", "END") == N + 1, "END %s", te);
    for (size_t k = 0; k < 20; k++)
        LXT_CHECK(json_equal(json_array_get(evs, k), live[k + 1]),
                  "page 1 event %zu", k + 1);
    free(te);
    json_decref(end);
    json_decref(evs);

    step("REPLAY past the end: no event, END");
    evs = json_array();
    r = lxt_replay(cl, N + 2, 0, T(10000), evs, &end);
    te = lxt_jdump(end);
    LXT_CHECK(r == 0 && json_array_size(evs) == 0, "past end: %s", te);
    LXT_CHECK(lxt_jint(end, "last_seq", "END") == N + 1, "END %s", te);
    LXT_CHECK(lxt_jint(end, "next", "END") == N + 2, "END %s", te);
    free(te);
    json_decref(end);
    json_decref(evs);
    checks += 2;
}

static void get(void)
{
    step("GET by id and by cross-reference");
    json_t *b = json_pack("{s:s,s:s}", "entity", "person", "id", ids[3]);
    json_t *r = call_ok("GET", b, "GET by id");
    char *t = lxt_jdump(r);
    LXT_CHECK(strcmp(lxt_jstr(r, "entity", "GET"), "person") == 0, "%s", t);
    LXT_CHECK(strcmp(lxt_jstr(r, "id", "GET"), ids[3]) == 0, "%s", t);
    LXT_CHECK(lxt_jint(r, "version", "GET") == 1, "%s", t);
    LXT_CHECK(!lxt_jbool(r, "deleted", "GET"), "%s", t);
    lxt_jstr(r, "time", "GET");
    LXT_CHECK(json_equal(json_object_get(r, "record"), sent[3]), "%s", t);
    free(t);
    json_decref(r);
    json_decref(b);

    b = json_pack("{s:s,s:s,s:s}", "system", "hr", "native_type", "Employee",
                  "native_id", "E-7");
    r = call_ok("GET", b, "GET by xref");
    t = lxt_jdump(r);
    LXT_CHECK(strcmp(lxt_jstr(r, "id", "GET"), ids[7]) == 0, "%s", t);
    LXT_CHECK(lxt_jint(r, "version", "GET") == 2, "%s", t);
    LXT_CHECK(json_equal(json_object_get(r, "record"), updated7), "%s", t);
    free(t);
    json_decref(r);
    json_decref(b);

    b = json_pack("{s:s,s:s}", "entity", "person", "id",
                  "per_00000000000000000000000000");
    json_decref(expect_err("GET", b, "LX_ENOTFOUND", NULL, "GET unknown id"));
    json_decref(b);
    b = json_pack("{s:s,s:s,s:s}", "system", "hr", "native_type", "Employee",
                  "native_id", "E-999");
    json_decref(
        expect_err("GET", b, "LX_ENOTFOUND", NULL, "GET unknown native id"));
    json_decref(b);
}

/* Send frames as given and expect one 3-frame ERR reply echoing `rid`.
 * Every earlier request has been answered, so the next message that
 * arrives is the reply to this one, whatever it looks like. */
static void expect_frame_err(int count, const char *const frames[],
                             const char *rid, const char *what)
{
    size_t lens[8];
    for (int i = 0; i < count; i++)
        lens[i] = strlen(frames[i]);
    LXT_CHECK(lxt_client_send(cl, count, frames, lens) == 0, "%s: send",
              what);
    lxt_msg m;
    if (lxt_client_recv(cl, T(5000), &m) != 0) {
        LXT_SOFT_FAIL("%s: no reply", what);
        return;
    }
    char shown[512] = "";
    for (int i = 0; i < m.count && i < LXT_FRAMES_MAX; i++) {
        size_t used = strlen(shown);
        snprintf(shown + used, sizeof(shown) - used, "%s[%s]", i ? " " : "",
                 m.data[i]);
    }
    printf("   %-34s -> %d frames: %s\n", what, m.count, shown);
    json_t *b = m.count == 3 ? json_loadb(m.data[2], m.len[2], 0, NULL)
                             : NULL;
    if (m.count != 3)
        LXT_SOFT_FAIL("%s: the reply is %d frames, not 3 [status, request "
                      "id, body]: %s", what, m.count, shown);
    else if (strcmp(m.data[0], "ERR") != 0)
        LXT_SOFT_FAIL("%s: status %s, expected ERR", what, m.data[0]);
    else if (strcmp(m.data[1], rid) != 0)
        LXT_SOFT_FAIL("%s: request id not echoed in frame 2: %s", what,
                      shown);
    else if (!json_is_string(json_object_get(b, "code")))
        LXT_SOFT_FAIL("%s: ERR body without code", what);
    json_decref(b);
    lxt_msg_fini(&m);
    checks++;
}

static void errors(void)
{
    step("errors: each an ERR that locates the problem, nothing written");
    static const char bad_json[] =
        "{\"entity\": \"person\",\n \"system\": \"hr\", \"record\": {";
    json_t *r = expect_err_text("INGEST", bad_json, strlen(bad_json),
                                "LX_ESYNTAX", NULL, "malformed JSON");
    LXT_CHECK(json_is_integer(json_object_get(r, "line")) &&
                  json_is_integer(json_object_get(r, "column")),
              "LX_ESYNTAX without line and column");
    LXT_CHECK(json_integer_value(json_object_get(r, "line")) == 2,
              "LX_ESYNTAX line should be 2");
    json_decref(r);

    json_t *rec = person(60, NULL);
    json_t *b = ingest_body(60, rec);
    json_object_set_new(b, "entity", json_string("spaceship"));
    json_decref(expect_err("INGEST", b, "LX_ENOTFOUND", NULL,
                           "unknown entity"));
    json_decref(b);

    json_t *bad = json_deep_copy(rec);
    json_object_set_new(bad, "nickname", json_string("Ada"));
    b = ingest_body(60, bad);
    json_decref(expect_err("INGEST", b, "LX_ESCHEMA", "/nickname",
                           "unknown field"));
    json_decref(b);
    json_decref(bad);

    bad = json_deep_copy(rec);
    json_object_set_new(bad, "birth_date", json_string("1815-13-10"));
    b = ingest_body(60, bad);
    json_decref(expect_err("INGEST", b, "LX_ESCHEMA", "/birth_date",
                           "bad date"));
    json_decref(b);
    json_decref(bad);

    bad = json_deep_copy(rec);
    json_object_del(bad, "identifiers");
    json_object_set_new(bad, "identifiers", json_pack("[{s:s}]", "system",
                                                      "urn:example:hr"));
    b = ingest_body(60, bad);
    json_decref(expect_err("INGEST", b, "LX_ESCHEMA", NULL,
                           "identifier without value"));
    json_decref(b);
    json_decref(bad);

    b = ingest_body(60, rec);
    json_object_del(b, "system");
    json_decref(expect_err("INGEST", b, "LX_EINVAL", "/system",
                           "missing system"));
    json_decref(b);

    b = ingest_body(60, rec);
    json_object_del(b, "record");
    json_decref(expect_err("INGEST", b, "LX_EINVAL", "/record",
                           "upsert without record"));
    json_decref(b);

    json_decref(expect_err_text("INGEST", "[1,2]", 5, "LX_EINVAL", NULL,
                                "body not an object"));

    /* A valid request made bigger than limits.max_payload by whitespace,
     * so that only the size is wrong. */
    b = ingest_body(60, rec);
    char *txt = json_dumps(b, JSON_COMPACT);
    size_t big = MAX_PAYLOAD + 512;
    char *pad = malloc(big + 1);
    LXT_CHECK(pad != NULL, "oom");
    size_t tl = strlen(txt);
    memcpy(pad, txt, tl - 1);
    memset(pad + tl - 1, ' ', big - tl);
    pad[big - 1] = '}';
    pad[big] = '\0';
    json_t *parsed = json_loads(pad, 0, NULL);
    LXT_CHECK(parsed != NULL, "the padded body is valid JSON");
    json_decref(parsed);
    json_decref(expect_err_text("INGEST", pad, big, "LX_ELIMIT", NULL,
                                "body over max_payload"));
    free(pad);
    free(txt);
    json_decref(b);

    b = json_object();
    json_decref(expect_err("FROB", b, "LX_EUNSUPPORTED", NULL,
                           "unknown command"));
    json_decref(b);

    b = json_pack("{s:s}", "from", "ten");
    json_decref(expect_err("REPLAY", b, "LX_EINVAL", NULL, "REPLAY bad from"));
    json_decref(b);

    step("wrong frame counts");
    char rid[64];
    lxt_client_rid(cl, rid);
    const char *two[] = {"INGEST", rid};
    expect_frame_err(2, two, rid, "2 frames");
    lxt_client_rid(cl, rid);
    const char *four[] = {"STATUS", rid, "{}", "extra"};
    expect_frame_err(4, four, rid, "4 frames");
    lxt_client_rid(cl, rid);
    const char *empty_cmd[] = {"", rid, "{}"};
    expect_frame_err(3, empty_cmd, rid, "empty command");
    json_decref(rec);

    step("nothing was written by the errors");
    expect_no_event(T(300), "after the errors");
    json_t *st = status_now();
    char *t = lxt_jdump(st);
    LXT_CHECK(lxt_jint(st, "last_seq", "STATUS") == N + 1, "%s", t);
    LXT_CHECK(lxt_jint(st, "events", "STATUS") == N + 1, "%s", t);
    LXT_CHECK(lxt_jint(st, "records", "STATUS") == N, "%s", t);
    /* docs/bus.md, STATUS: the documented members. */
    static const char *const members[] = {"map_size", "used_size",
                                          "published", "dropped"};
    for (size_t k = 0; k < 4; k++)
        if (!json_is_integer(json_object_get(st, members[k])))
            LXT_SOFT_FAIL("STATUS has no integer \"%s\": %s", members[k], t);
    printf("   STATUS %s\n", t);
    free(t);
    json_decref(st);
}

/* docs/bus.md, INGEST: "else by any of the record's identifiers already
 * known for the entity: so a second system's copy of the same person links
 * to the same canonical record"; and op "delete". */
static json_t *linked5;

static void link_and_delete(void)
{
    step("a second system's copy links by identifier");
    linked5 = json_deep_copy(sent[5]);
    json_object_set_new(json_object_get(linked5, "name"), "given",
                        json_pack("[s]", "Augusta"));
    json_t *b = json_pack("{s:s,s:s,s:s,s:s,s:O}", "entity", "person",
                          "system", "crm", "native_type", "Contact",
                          "native_id", "C-5", "record", linked5);
    json_t *r = call_ok("INGEST", b, "INGEST from crm");
    char *t = lxt_jdump(r);
    LXT_CHECK(strcmp(lxt_jstr(r, "canonical_id", "link"), ids[5]) == 0,
              "the crm copy did not link to person 5 (%s): %s", ids[5], t);
    LXT_CHECK(!lxt_jbool(r, "created", "link") &&
                  lxt_jint(r, "version", "link") == 2 &&
                  lxt_jint(r, "seq", "link") == N + 2, "%s", t);
    free(t);
    json_decref(b);
    json_t *ev = next_event("person.updated", "crm event");
    t = lxt_jdump(ev);
    LXT_CHECK(lxt_jint(ev, "seq", "crm event") == N + 2 &&
                  strcmp(lxt_jstr(ev, "canonical_id", "ev"), ids[5]) == 0 &&
                  json_equal(json_object_get(ev, "record"), linked5),
              "crm event: %s", t);
    json_t *o = json_object_get(ev, "origin");
    LXT_CHECK(strcmp(lxt_jstr(o, "system", "origin"), "crm") == 0 &&
                  strcmp(lxt_jstr(o, "native_id", "origin"), "C-5") == 0,
              "crm event origin: %s", t);
    json_t *ch = json_object_get(ev, "changed");
    LXT_CHECK(json_array_size(ch) >= 1, "crm event changed: %s", t);
    for (size_t k = 0; k < json_array_size(ch); k++) {
        const char *ptr = json_string_value(json_array_get(ch, k));
        LXT_CHECK(ptr && strncmp(ptr, "/name/given", 11) == 0,
                  "crm event: changed lists more than /name/given: %s", t);
    }
    free(t);
    live[N + 2] = ev;
    json_decref(r);
    b = json_pack("{s:s,s:s,s:s}", "system", "crm", "native_type", "Contact",
                  "native_id", "C-5");
    r = call_ok("GET", b, "GET by the crm xref");
    LXT_CHECK(strcmp(lxt_jstr(r, "id", "GET"), ids[5]) == 0 &&
                  lxt_jint(r, "version", "GET") == 2,
              "GET by the crm xref");
    json_decref(r);
    json_decref(b);
    cur[5] = linked5;
    ver[5] = 2;

    step("delete person 9: person.deleted with the last content");
    b = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "entity", "person", "system",
                  "hr", "adapter", "hr-in", "native_type", "Employee",
                  "native_id", "E-9", "op", "delete");
    r = call_ok("INGEST", b, "INGEST delete");
    t = lxt_jdump(r);
    LXT_CHECK(strcmp(lxt_jstr(r, "canonical_id", "delete"), ids[9]) == 0 &&
                  lxt_jint(r, "version", "delete") == 2 &&
                  lxt_jint(r, "seq", "delete") == N + 3 &&
                  !lxt_jbool(r, "unchanged", "delete"),
              "delete: %s", t);
    free(t);
    ev = next_event("person.deleted", "delete event");
    check_event(ev, N + 3, 9, 2, sent[9], lxt_jstr(r, "trace", "delete"),
                "delete event");
    live[N + 3] = ev;
    json_decref(r);
    json_decref(b);
    b = json_pack("{s:s,s:s}", "entity", "person", "id", ids[9]);
    r = call_ok("GET", b, "GET deleted");
    LXT_CHECK(lxt_jbool(r, "deleted", "GET deleted") &&
                  lxt_jint(r, "version", "GET deleted") == 2,
              "GET of a deleted record");
    json_decref(r);
    json_decref(b);
    del[9] = true;
    ver[9] = 2;
    nev = N + 3;
    expect_no_event(T(200), "after the delete");
}

/* docs/bus.md: a REQ socket works for single-reply commands. */
static void req_socket(void)
{
    step("a REQ client gets STATUS");
    void *ctx = zmq_ctx_new();
    void *req = zmq_socket(ctx, ZMQ_REQ);
    int linger = 0;
    zmq_setsockopt(req, ZMQ_LINGER, &linger, sizeof(linger));
    LXT_CHECK(zmq_connect(req, hub.router) == 0, "REQ connect");
    zmq_send(req, "STATUS", 6, ZMQ_SNDMORE);
    zmq_send(req, "req-1", 5, ZMQ_SNDMORE);
    zmq_send(req, "{}", 2, 0);
    zmq_pollitem_t it = {req, 0, ZMQ_POLLIN, 0};
    LXT_CHECK(zmq_poll(&it, 1, T(5000)) == 1, "REQ: no reply");
    char f[3][256];
    int n = 0, more = 1;
    while (more && n < 3) {
        int len = zmq_recv(req, f[n], sizeof(f[n]) - 1, 0);
        LXT_CHECK(len >= 0, "REQ recv");
        f[n][len < (int)sizeof(f[n]) ? len : (int)sizeof(f[n]) - 1] = '\0';
        n++;
        size_t ms = sizeof(more);
        zmq_getsockopt(req, ZMQ_RCVMORE, &more, &ms);
    }
    LXT_CHECK(n == 3 && !more, "REQ reply is not 3 frames");
    LXT_CHECK(strcmp(f[0], "OK") == 0 && strcmp(f[1], "req-1") == 0,
              "REQ reply %s %s", f[0], f[1]);
    zmq_close(req);
    zmq_ctx_term(ctx);
    checks++;
}

static char *cli(int want_exit, const char *what, const char *a1,
                 const char *a2, const char *a3, const char *a4,
                 const char *a5, const char *a6, const char *a7)
{
    const char *argv[] = {lxt_env_path("LX_LINGUA"), a1, a2, a3, a4, a5, a6,
                          a7, NULL};
    char *out = NULL, *err = NULL;
    int code = lxt_run(argv, T(20000), &out, &err, 1 << 20);
    if (code != want_exit)
        LXT_FAIL("%s: exit %d, expected %d; stderr: %s", what, code,
                 want_exit, err);
    free(err);
    checks++;
    return out;
}

static void check_cli(void)
{
    step("lingua get / xref / history / events on the data dir");
    const char *dd = hub.data_dir;
    for (int i = 1; i <= N; i++) {
        char *out = cli(0, "lingua get", "get", "person", ids[i],
                        "--data-dir", dd, NULL, NULL);
        json_t *v = json_loads(out, 0, NULL);
        LXT_CHECK(json_is_object(v), "lingua get %d: not JSON: %s", i, out);
        LXT_CHECK(lxt_jint(v, "version", "get") == ver[i] &&
                      lxt_jbool(v, "deleted", "get") == del[i],
                  "lingua get %d: %s", i, out);
        LXT_CHECK(json_equal(json_object_get(v, "record"), cur[i]),
                  "lingua get %d: record differs: %s", i, out);
        json_decref(v);
        free(out);
    }

    char *out = cli(0, "lingua xref", "xref", "hr", "Employee", "E-7",
                    "--data-dir", dd, NULL);
    json_t *v = json_loads(out, 0, NULL);
    LXT_CHECK(json_is_object(v) &&
                  strcmp(lxt_jstr(v, "id", "xref"), ids[7]) == 0,
              "lingua xref: %s", out);
    json_decref(v);
    free(out);

    out = cli(0, "lingua history", "history", "person", ids[7], "--data-dir",
              dd, NULL, NULL);
    v = json_loads(out, 0, NULL);
    LXT_CHECK(json_is_array(v) && json_array_size(v) == 2,
              "lingua history: two versions expected: %s", out);
    LXT_CHECK(json_equal(json_object_get(json_array_get(v, 0), "record"),
                         sent[7]) &&
                  json_equal(json_object_get(json_array_get(v, 1), "record"),
                             updated7),
              "lingua history: records: %s", out);
    json_decref(v);
    free(out);

    out = cli(0, "lingua events", "events", "--from", "1", "--data-dir", dd,
              NULL, NULL);
    int seq = 0;
    char *save = out;
    for (char *line = out; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        json_t *e = json_loads(line, 0, NULL);
        seq++;
        LXT_CHECK(seq <= nev, "lingua events: too many lines");
        LXT_CHECK(json_equal(e, live[seq]),
                  "lingua events: line %d differs from the published event",
                  seq);
        json_decref(e);
        line = nl ? nl + 1 : NULL;
    }
    LXT_CHECK(seq == nev, "lingua events printed %d events, expected %d",
              seq, nev);
    free(save);

    out = cli(0, "lingua events --from 45", "events", "--from", "45",
              "--data-dir", dd, NULL, NULL);
    int lines = 0;
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    LXT_CHECK(lines == nev - 45 + 1, "events --from 45: %d lines", lines);
    free(out);

    step("CLI exit codes: 1 not found, 2 usage, 3 no store");
    free(cli(1, "get unknown", "get", "person",
             "per_00000000000000000000000000", "--data-dir", dd, NULL, NULL));
    free(cli(1, "xref unknown", "xref", "hr", "Employee", "E-999",
             "--data-dir", dd, NULL));
    free(cli(2, "get without id", "get", "person", "--data-dir", dd, NULL,
             NULL, NULL));
    char nodir[LXT_PATH_MAX + 16];
    snprintf(nodir, sizeof(nodir), "%s/nothing-here", hub.root);
    free(cli(3, "get without store", "get", "person", ids[1], "--data-dir",
             nodir, NULL, NULL));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm((unsigned)(150 * lxt_scale()));
    uint64_t t0 = lxt_now_ms();
    char extra[128];
    snprintf(extra, sizeof(extra), "\"limits\": {\"max_payload\": %d}",
             MAX_PAYLOAD);
    lxt_hub_init(&hub, extra);
    step("start lingua serve");
    lxt_hub_start(&hub, T(15000), true);
    printf("   hub pid %ld, router %s, pub %s, dir %s\n", (long)hub.pid,
           hub.router, hub.pub, hub.root);
    sub = lxt_sub_new(hub.pub, "person.", T(5000));
    sub_all = lxt_sub_new(hub.pub, "", T(5000));
    cl = lxt_client_new(hub.router);

    json_t *st = status_now();
    LXT_CHECK(lxt_jint(st, "last_seq", "STATUS") == 0, "fresh store");
    json_decref(st);

    ingest_all();
    ingest_same_again();
    ingest_update();
    replay();
    get();
    errors();
    link_and_delete();
    req_socket();

    step("SUB to everything: every event once, and heartbeats");
    {
        /* docs/bus.md: besides events, only the heartbeat (topic
         * _hub.heartbeat, {"last_seq", "time"}, once a second). */
        int count = 0, beats = 0;
        json_int_t beat_seq = 0;
        char topic[64];
        json_t *ev = NULL;
        /* Until every event and a heartbeat that has seen them all came
         * (heartbeats are 1 s apart), bounded. */
        uint64_t until = lxt_now_ms() + (uint64_t)T(5000);
        for (int guard = 0; guard < 5000 && lxt_now_ms() < until; guard++) {
            if (count == nev && beat_seq == nev)
                break;
            if (lxt_sub_recv(sub_all, 200, topic, &ev, NULL) != 0)
                continue;
            char *t = lxt_jdump(ev);
            if (strcmp(topic, "_hub.heartbeat") == 0) {
                json_t *ls = json_object_get(ev, "last_seq");
                json_t *tm = json_object_get(ev, "time");
                if (!json_is_integer(ls) || !json_is_string(tm) ||
                    json_integer_value(ls) < beat_seq ||
                    json_integer_value(ls) > nev)
                    LXT_SOFT_FAIL("bad heartbeat: %s", t);
                else
                    beat_seq = json_integer_value(ls);
                beats++;
            } else {
                count++;
                json_t *seq = json_object_get(ev, "seq");
                int n = json_is_integer(seq) ? (int)json_integer_value(seq)
                                             : 0;
                if (n != count || n > nev || !json_equal(ev, live[n]) ||
                    strcmp(topic, lxt_jstr(ev, "type", "event")) != 0)
                    LXT_SOFT_FAIL("message %d on a SUB to everything: "
                                  "topic %s, %s", count, topic, t);
            }
            free(t);
            json_decref(ev);
        }
        if (count != nev)
            LXT_SOFT_FAIL("a SUB to everything got %d events, expected %d",
                          count, nev);
        if (beats == 0 || beat_seq != nev)
            LXT_SOFT_FAIL("heartbeats: %d, last one with last_seq %lld",
                          beats, (long long)beat_seq);
        printf("   %d events, %d heartbeats\n", count, beats);
        checks++;
    }

    step("SIGTERM: the hub exits 0");
    lxt_client_destroy(&cl);
    lxt_sub_destroy(&sub);
    lxt_sub_destroy(&sub_all);
    int ws = lxt_hub_stop(&hub, SIGTERM, T(10000));
    LXT_CHECK(ws >= 0, "the hub did not exit within %d ms of SIGTERM",
              T(10000));
    LXT_CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0,
              "the hub's exit status is 0x%x", (unsigned)ws);
    checks++;

    check_cli();

    for (int i = 0; i <= nev; i++)
        json_decref(live[i]);
    json_decref(linked5);
    for (int i = 0; i <= N; i++)
        json_decref(sent[i]);
    json_decref(updated7);
    lxt_hub_check_log(&hub);
    lxt_hub_destroy(&hub);
    if (lxt_soft_failures() > 0) {
        fprintf(stderr, "FAIL test_hub_bus: %d check(s) failed (see above)\n",
                lxt_soft_failures());
        return 1;
    }
    printf("PASS test_hub_bus: %d checks in %llu ms\n", checks,
           (unsigned long long)(lxt_now_ms() - t0));
    return 0;
}
