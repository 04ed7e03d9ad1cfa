/* tests/integration/test_edi_e2e.c: X12 834 files through a real
 * `lingua serve`, in and out, with a trading partner profile.
 *
 * The hub has a partner "insurer" (ours ZZ/123456789012346, theirs
 * ZZ/123456789012345: the corpus 834s are addressed so, test usage, 999
 * acks) and
 *   insurer-in   EDI inbox for system "insurer", acks to the outbox;
 *   insurer-out  EDI outbound for "insurer", coverage.* -> 834 files in
 *                the same outbox;
 *   hr-in        EDI inbox for system "hr" (no partner: another source of
 *                enrollments);
 *   ehr-out      FHIR outbound, person.* and coverage.*, to a recording
 *                loopback FHIR server run by this process.
 * Checked, in order:
 *   1. an 834 dropped in insurer-in lands in done/, becomes a person and a
 *      coverage (events from system insurer), a 999 addressed with the
 *      partner's ids lands in the outbox (IK5 A), and the FHIR server gets
 *      a Patient and a Coverage PUT;
 *   2. an 834 from the wrong sender is refused to error/ with a readable
 *      .err that names the partner, and nothing is stored;
 *   3. an 834 dropped in hr-in (a dependent) makes insurer-out write an
 *      834 to the outbox: it parses strictly, carries the partner's ids,
 *      ISA15 T, the dependent (INS N/19/021, NM1 DOE), and control numbers
 *      after the 999's (the counters are shared); the insurer's own
 *      coverage is not echoed back to it;
 *   4. after a restart, a further 834 from hr (two coverages) gives two
 *      more files whose ISA13/GS06/ST02 are all greater than before: no
 *      control number is ever reused;
 *   5. a misspelt key in a partner profile stops `lingua serve` with the
 *      file, line and column of the key and its JSON pointer.
 * Every wait is a bounded poll. */
#include "adapters/edi/x12.h"
#include "tests/integration/harness.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static lxt_hub hub;
static lxt_client *cl;
static lxt_target *target;
static lx_x12_defs *defs;
static char dir[LXT_PATH_MAX];   /* our own temp dir: inboxes, outbox */
static char outbox[LXT_PATH_MAX];
/* Soft checks (counted in lxt_checks), scaled waits and step headings
 * come from the harness. */
#define CHECK LXT_SOFT_CHECK
#define T lxt_ms
#define step lxt_step

/* ---- the FHIR server: every PUT creates, 201 with Location ---- */

static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;
static int fake_port, fake_next;

static void fake_answer(void *ctx, const lxt_request *req, lxt_reply *rep)
{
    (void)ctx;
    char type[64] = "";
    sscanf(req->target, "/fhir/%63[A-Za-z]", type);
    if (strcmp(req->method, "PUT") != 0 || !type[0]) {
        rep->status = 400;
        return;
    }
    pthread_mutex_lock(&fake_mu);
    int id = ++fake_next;
    pthread_mutex_unlock(&fake_mu);
    rep->status = 201;
    snprintf(rep->location, sizeof(rep->location),
             "http://127.0.0.1:%d/fhir/%s/t%d/_history/1", fake_port, type,
             id);
    snprintf(rep->etag, sizeof(rep->etag), "W/\"1\"");
}

static size_t count_put(const char *type)
{
    char prefix[80];
    snprintf(prefix, sizeof(prefix), "/fhir/%s", type);
    size_t n = 0, total = lxt_target_count(target);
    for (size_t i = 0; i < total; i++) {
        const lxt_request *r = lxt_target_request(target, i);
        if (strcmp(r->method, "PUT") == 0 &&
            strncmp(r->target, prefix, strlen(prefix)) == 0)
            n++;
    }
    return n;
}

/* ---- files ---- */

/* Drop a file the way the sender contract says: hidden name, rename. */
static void drop(const char *inbox, const char *name, const char *data,
                 size_t len)
{
    char tmp[LXT_PATH_MAX + 64], final[LXT_PATH_MAX + 64];
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", inbox, name);
    snprintf(final, sizeof(final), "%s/%s", inbox, name);
    FILE *f = fopen(tmp, "wb");
    LXT_CHECK(f != NULL, "cannot write %s", tmp);
    LXT_CHECK(fwrite(data, 1, len, f) == len, "short write");
    fclose(f);
    LXT_CHECK(rename(tmp, final) == 0, "rename %s", final);
}

/* Names in d that start with prefix (NULL: any visible name) and contain
 * infix, sorted; returns how many (at most max). */
static size_t list(const char *d, const char *prefix, const char *infix,
                   char names[][256], size_t max)
{
    DIR *dh = opendir(d);
    size_t n = 0;
    struct dirent *e;
    while (dh && (e = readdir(dh)) != NULL && n < max) {
        if (e->d_name[0] == '.' ||
            (prefix && strncmp(e->d_name, prefix, strlen(prefix)) != 0) ||
            (infix && !strstr(e->d_name, infix)))
            continue;
        snprintf(names[n++], 256, "%s", e->d_name);
    }
    if (dh)
        closedir(dh);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char t[256];
            memcpy(t, names[j], 256);
            memcpy(names[j], names[j - 1], 256);
            memcpy(names[j - 1], t, 256);
        }
    return n;
}

static size_t wait_files(const char *d, const char *prefix, const char *infix,
                         size_t n, int timeout_ms, const char *what)
{
    char names[64][256];
    uint64_t deadline = lxt_now_ms() + (uint64_t)timeout_ms;
    size_t got;
    while ((got = list(d, prefix, infix, names, 64)) < n) {
        if (lxt_now_ms() >= deadline)
            LXT_FAIL("%s: %zu file(s) %s*%s* in %s after %d ms, expected %zu",
                     what, got, prefix ? prefix : "", infix ? infix : "", d,
                     timeout_ms, n);
        lxt_sleep_ms(50);
    }
    return got;
}

static json_t *parse_file(const char *path)
{
    size_t len;
    char *text = lxt_read_file(path, &len);
    lx_x12_doc *doc = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (lx_x12_parse(text, len, defs, 0, &doc, &err) != 0)
        LXT_FAIL("%s does not parse strictly: %s (%s)", path, err.msg,
                 err.where);
    json_t *tree = json_incref(lx_x12_doc_tree(doc));
    lx_x12_doc_destroy(&doc);
    free(text);
    return tree;
}

/* A string member at a JSON pointer without escapes, "" when absent. */
static const char *at(const json_t *v, const char *ptr)
{
    char tok[64];
    while (v && *ptr == '/') {
        ptr++;
        size_t n = strcspn(ptr, "/");
        snprintf(tok, sizeof(tok), "%.*s", (int)n, ptr);
        ptr += n;
        v = json_is_array(v) ? json_array_get(v, strtoul(tok, NULL, 10))
                             : json_object_get(v, tok);
    }
    return json_is_string(v) ? json_string_value(v) : "";
}

static json_t *replay_all(void)
{
    json_t *events = json_array(), *end = NULL;
    LXT_CHECK(lxt_replay(cl, 1, 0, T(5000), events, &end) == 0, "replay");
    json_decref(end);
    return events;
}

/* Control numbers of one interchange we wrote. */
typedef struct numbers {
    unsigned long long isa13, gs06, st02;
} numbers;

static numbers numbers_of(const json_t *t)
{
    numbers n;
    n.isa13 = strtoull(at(t, "/interchanges/0/ISA/ISA13"), NULL, 10);
    n.gs06 = strtoull(at(t, "/interchanges/0/groups/0/GS/GS06"), NULL, 10);
    n.st02 = strtoull(at(t, "/interchanges/0/groups/0/transactions/0/ST/ST02"),
                      NULL, 10);
    return n;
}

/* ---- the steps ---- */

static void inbound_834(void)
{
    step("834 in the insurer's inbox: records, events, 999, FHIR PUTs");
    size_t len;
    char *data = lxt_corpus_file(
        "x12/834/lfh_x12__834_add-subscriber-coverage.834", &len);
    char inbox[LXT_PATH_MAX + 16], done[LXT_PATH_MAX + 32];
    snprintf(inbox, sizeof(inbox), "%s/insurer-in", dir);
    snprintf(done, sizeof(done), "%s/done", inbox);
    drop(inbox, "0001-enroll.834", data, len);
    free(data);
    wait_files(done, "0001-enroll.834", NULL, 1, T(10000), "handled file");

    json_t *events = replay_all();
    size_t i;
    json_t *ev;
    int persons = 0, coverages = 0;
    json_array_foreach(events, i, ev)
    {
        const char *type = lxt_jstr(ev, "type", "event type");
        const char *sys = at(ev, "/origin/system");
        CHECK(strcmp(sys, "insurer") == 0, "event from %s", sys);
        if (strcmp(type, "person.created") == 0) {
            persons++;
            CHECK(strcmp(at(ev, "/record/name/family"), "SMITH") == 0,
                  "person name");
        } else if (strcmp(type, "coverage.created") == 0) {
            coverages++;
            CHECK(strcmp(at(ev, "/record/plan/type"), "dental") == 0,
                  "coverage plan");
            CHECK(strcmp(at(ev, "/record/maintenance"), "created") == 0,
                  "HD01 021 is 'created'");
        }
    }
    CHECK(persons == 1 && coverages == 1, "%d persons, %d coverages",
          persons, coverages);
    json_decref(events);

    char names[8][256];
    wait_files(outbox, "insurer-", "-999.x12", 1, T(5000), "999 ack");
    size_t n = list(outbox, "insurer-", "-999.x12", names, 8);
    CHECK(n == 1, "%zu acks", n);
    char path[LXT_PATH_MAX + 300];
    snprintf(path, sizeof(path), "%s/%s", outbox, names[0]);
    json_t *ack = parse_file(path);
    CHECK(strcmp(at(ack, "/interchanges/0/ISA/ISA06"), "123456789012346") == 0,
          "ack sender is us");
    CHECK(strcmp(at(ack, "/interchanges/0/ISA/ISA08"), "123456789012345") == 0,
          "ack receiver is the partner");
    CHECK(strcmp(at(ack, "/interchanges/0/ISA/ISA15"), "T") == 0, "test");
    CHECK(strcmp(at(ack, "/interchanges/0/groups/0/GS/GS01"), "FA") == 0,
          "functional acknowledgement group");
    CHECK(strcmp(at(ack, "/interchanges/0/groups/0/transactions/0/ST/ST01"),
                 "999") == 0,
          "a 999");
    json_decref(ack);
    char *text = lxt_read_file(path, &len);
    CHECK(strstr(text, "IK5*A") != NULL, "accepted");
    CHECK(strstr(text, "AK1*BE*20213*005010X220A1") != NULL,
          "acknowledges the received group");
    free(text);

    uint64_t deadline = lxt_now_ms() + (uint64_t)T(10000);
    while ((count_put("Patient") < 1 || count_put("Coverage") < 1) &&
           lxt_now_ms() < deadline)
        lxt_target_wait(target, lxt_target_count(target) + 1, 100);
    CHECK(count_put("Patient") == 1, "%zu Patient PUTs", count_put("Patient"));
    CHECK(count_put("Coverage") == 1, "%zu Coverage PUTs",
          count_put("Coverage"));
    for (size_t k = 0; k < lxt_target_count(target); k++) {
        const lxt_request *r = lxt_target_request(target, k);
        json_t *body = json_loads(r->body, 0, NULL);
        const char *rt = at(body, "/resourceType");
        if (strcmp(rt, "Patient") == 0)
            CHECK(strcmp(at(body, "/name/0/family"), "SMITH") == 0,
                  "Patient family name");
        else if (strcmp(rt, "Coverage") == 0)
            CHECK(strcmp(at(body, "/beneficiary/type"), "Patient") == 0 &&
                      strcmp(at(body, "/beneficiary/identifier/value"),
                             "123456789") == 0 &&
                      strcmp(at(body, "/identifier/0/value"),
                             "123456789:DEN") == 0,
                  "Coverage of the member's Patient (by member id): %s",
                  r->body);
        else
            CHECK(false, "unexpected resource %s", rt);
        json_decref(body);
    }
}

static void wrong_sender(void)
{
    step("834 from another sender: refused to error/ with a report");
    size_t len;
    char *data = lxt_corpus_file(
        "x12/834/lfh_x12__834_add-subscriber-coverage.834", &len);
    /* ISA06 is bytes 35..49 of the fixed-width ISA. */
    LXT_CHECK(len > 106 && memcmp(data + 35, "123456789012345", 15) == 0,
              "corpus ISA06");
    memcpy(data + 35, "SOMEONEELSE    ", 15);
    json_t *before = replay_all();
    char inbox[LXT_PATH_MAX + 16], error[LXT_PATH_MAX + 32];
    snprintf(inbox, sizeof(inbox), "%s/insurer-in", dir);
    snprintf(error, sizeof(error), "%s/error", inbox);
    drop(inbox, "0002-stranger.834", data, len);
    free(data);
    wait_files(error, "0002-stranger.834", ".err", 1, T(10000),
               "error report");
    char names[4][256], path[LXT_PATH_MAX + 300];
    list(error, "0002-stranger.834", ".err", names, 4);
    snprintf(path, sizeof(path), "%s/%s", error, names[0]);
    char *report = lxt_read_file(path, &len);
    CHECK(strstr(report, "partner insurer") != NULL, "report: %s", report);
    CHECK(strstr(report, "ISA") != NULL, "report names the segment");
    CHECK(strstr(report, "SOMEONEELSE") == NULL, "no value quoted");
    free(report);
    json_t *after = replay_all();
    CHECK(json_array_size(after) == json_array_size(before),
          "nothing stored (%zu -> %zu events)", json_array_size(before),
          json_array_size(after));
    json_decref(before);
    json_decref(after);
}

static numbers outbound_834(void)
{
    step("834 from hr: insurer-out writes an 834 for the partner");
    size_t len;
    char *data = lxt_corpus_file("x12/834/lfh_x12__834_add-dependent.834",
                                 &len);
    char inbox[LXT_PATH_MAX + 16];
    snprintf(inbox, sizeof(inbox), "%s/hr-in", dir);
    drop(inbox, "0001-dependent.834", data, len);
    free(data);
    wait_files(outbox, "insurer-", "-834.x12", 1, T(10000), "outbound 834");
    char names[8][256], path[LXT_PATH_MAX + 300];
    size_t n = list(outbox, "insurer-", "-834.x12", names, 8);
    CHECK(n == 1, "%zu 834 files (the insurer's own coverage is not echoed)",
          n);
    snprintf(path, sizeof(path), "%s/%s", outbox, names[0]);
    json_t *t = parse_file(path);
    CHECK(strcmp(at(t, "/interchanges/0/ISA/ISA05"), "ZZ") == 0, "ISA05");
    CHECK(strcmp(at(t, "/interchanges/0/ISA/ISA06"), "123456789012346") == 0,
          "sender is us");
    CHECK(strcmp(at(t, "/interchanges/0/ISA/ISA08"), "123456789012345") == 0,
          "receiver is the partner");
    CHECK(strcmp(at(t, "/interchanges/0/ISA/ISA15"), "T") == 0, "test usage");
    CHECK(strcmp(at(t, "/interchanges/0/groups/0/GS/GS01"), "BE") == 0, "BE");
    const char *m = "/interchanges/0/groups/0/transactions/0/loops/2";
    char p[160];
    snprintf(p, sizeof(p), "%s/segments/0/INS01", m);
    CHECK(strcmp(at(t, p), "N") == 0, "dependent");
    snprintf(p, sizeof(p), "%s/segments/0/INS02", m);
    CHECK(strcmp(at(t, p), "19") == 0, "child");
    snprintf(p, sizeof(p), "%s/segments/0/INS03", m);
    CHECK(strcmp(at(t, p), "021") == 0, "created is 021");
    snprintf(p, sizeof(p), "%s/loops/0/segments/0/NM103", m);
    CHECK(strcmp(at(t, p), "DOE") == 0, "member name");
    snprintf(p, sizeof(p), "%s/loops/1/segments/0/HD03", m);
    CHECK(strcmp(at(t, p), "HLT") == 0, "health plan");
    numbers n1 = numbers_of(t);
    json_decref(t);
    /* The 999 took the partner's first ISA13: the counter is shared. */
    list(outbox, "insurer-", "-999.x12", names, 8);
    snprintf(path, sizeof(path), "%s/%s", outbox, names[0]);
    json_t *ack = parse_file(path);
    numbers a = numbers_of(ack);
    json_decref(ack);
    CHECK(n1.isa13 > a.isa13 && n1.gs06 > a.gs06,
          "834 ISA13 %llu GS06 %llu after the 999's %llu %llu", n1.isa13,
          n1.gs06, a.isa13, a.gs06);
    return n1;
}

static void after_restart(numbers before)
{
    step("restart; two more coverages: control numbers never reused");
    int st = lxt_hub_stop(&hub, SIGTERM, T(10000));
    CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit 0x%x",
          (unsigned)st);
    lxt_hub_start(&hub, T(15000), false);
    size_t len;
    char *data = lxt_corpus_file(
        "x12/834/lfh_x12__834_enroll-employee-multiple-products.834", &len);
    char inbox[LXT_PATH_MAX + 16];
    snprintf(inbox, sizeof(inbox), "%s/hr-in", dir);
    drop(inbox, "0002-products.834", data, len);
    free(data);
    wait_files(outbox, "insurer-", "-834.x12", 3, T(15000), "two more 834s");
    char names[8][256], path[LXT_PATH_MAX + 300];
    size_t n = list(outbox, "insurer-", "-834.x12", names, 8);
    CHECK(n == 3, "%zu 834 files", n);
    numbers prev = before;
    char plans[3] = "";
    for (size_t i = 1; i < n && i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", outbox, names[i]);
        json_t *t = parse_file(path);
        numbers k = numbers_of(t);
        CHECK(k.isa13 > prev.isa13 && k.gs06 > prev.gs06 &&
                  k.st02 > prev.st02,
              "%s: %llu/%llu/%llu after %llu/%llu/%llu", names[i], k.isa13,
              k.gs06, k.st02, prev.isa13, prev.gs06, prev.st02);
        const char *hd03 = at(
            t, "/interchanges/0/groups/0/transactions/0/loops/2/loops/1/"
               "segments/0/HD03");
        plans[i - 1] = hd03[0];
        const char *ins01 = at(
            t, "/interchanges/0/groups/0/transactions/0/loops/2/segments/0/"
               "INS01");
        CHECK(strcmp(ins01, "Y") == 0, "subscriber");
        prev = k;
        json_decref(t);
    }
    CHECK((plans[0] == 'H' && plans[1] == 'V') ||
              (plans[0] == 'V' && plans[1] == 'H'),
          "HLT and VIS (%c %c)", plans[0], plans[1]);
}

static void bad_profile(void)
{
    step("a misspelt partner key: serve refuses, located at file:line:col");
    char path[LXT_PATH_MAX + 32], data[LXT_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/bad.json", dir);
    snprintf(data, sizeof(data), "%s/bad-data", dir);
    FILE *f = fopen(path, "w");
    LXT_CHECK(f != NULL, "cannot write %s", path);
    fprintf(f,
            "{\"data_dir\": \"%s\", \"schemas\": \"%s\",\n"
            " \"bus\": {\"pub\": \"%s\", \"router\": \"%s\"},\n"
            " \"systems\": {\"insurer\": {}},\n"
            " \"partners\": {\"insurer\": {\"x12\": {\n"
            "   \"ours\": {\"qualifer\": \"ZZ\", \"id\": \"US\"}}}},\n"
            " \"adapters\": [{\"name\": \"insurer-in\", \"system\": "
            "\"insurer\", \"use\": \"edi\", \"partner\": \"insurer\",\n"
            "   \"transport\": {\"inbox\": \"%s/insurer-in\"}}]}\n",
            data, lxt_env_path("LX_SCHEMAS_DIR"), hub.pub, hub.router, dir);
    fclose(f);
    const char *argv[] = {lxt_env_path("LX_LINGUA"), "serve", "--config",
                          path, NULL};
    char *out = NULL, *errout = NULL;
    int rc = lxt_run(argv, T(10000), &out, &errout, 1 << 16);
    CHECK(rc == 3, "exit code %d: %s", rc, errout ? errout : "");
    char where[LXT_PATH_MAX + 64];
    snprintf(where, sizeof(where), "%s:5:", path);
    CHECK(errout && strstr(errout, where) &&
              strstr(errout, "/partners/insurer/x12/ours/qualifer") &&
              strstr(errout, "unknown key"),
          "located error: %s", errout ? errout : "");
    free(out);
    free(errout);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm((unsigned)(150 * lxt_scale()));
    target = lxt_target_start(fake_answer, NULL);
    fake_port = lxt_target_port(target);
    snprintf(dir, sizeof(dir), "/tmp/lxt-edi-e2e-XXXXXX");
    LXT_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    const char *subs[] = {"insurer-in", "insurer-out", "hr-in"};
    for (size_t i = 0; i < 3; i++) {
        char d[LXT_PATH_MAX + 32];
        snprintf(d, sizeof(d), "%s/%s", dir, subs[i]);
        LXT_CHECK(mkdir(d, 0700) == 0, "mkdir %s", d);
    }
    snprintf(outbox, sizeof(outbox), "%s/insurer-out", dir);
    char extra[4096];
    snprintf(
        extra, sizeof(extra),
        "\"systems\": {\"insurer\": {}, \"hr\": {}, \"ehr\": {}},"
        "\"partners\": {\"insurer\": {\"usage\": \"test\", \"x12\": {"
        "  \"ours\": {\"qualifier\": \"ZZ\", \"id\": \"123456789012346\"},"
        "  \"theirs\": {\"qualifier\": \"ZZ\", \"id\": \"123456789012345\"},"
        "  \"ack\": \"999\"}}},"
        "\"adapters\": ["
        "{\"name\": \"insurer-in\", \"system\": \"insurer\", \"use\": "
        "\"edi\", \"direction\": \"in\", \"partner\": \"insurer\", "
        "\"transport\": {\"inbox\": \"%s/insurer-in\", \"poll_ms\": 100}, "
        "\"ack_outbox\": \"%s\"},"
        "{\"name\": \"insurer-out\", \"system\": \"insurer\", \"use\": "
        "\"edi\", \"direction\": \"out\", \"partner\": \"insurer\", "
        "\"subscribe\": [\"coverage.*\"], \"transport\": {\"outbox\": "
        "\"%s\"}},"
        "{\"name\": \"hr-in\", \"system\": \"hr\", \"use\": \"edi\", "
        "\"direction\": \"in\", \"transport\": {\"inbox\": \"%s/hr-in\", "
        "\"poll_ms\": 100}},"
        "{\"name\": \"ehr-out\", \"system\": \"ehr\", \"use\": \"fhir\", "
        "\"direction\": \"out\", \"subscribe\": [\"person.*\", "
        "\"coverage.*\"], \"transport\": {\"url\": "
        "\"http://127.0.0.1:%d/fhir\", \"format\": \"json\"}}]",
        dir, outbox, outbox, dir, fake_port);
    lxt_hub_init(&hub, extra);
    lxt_hub_start(&hub, T(15000), true);
    cl = lxt_client_new(hub.router);
    char sdir[LXT_PATH_MAX + 32];
    snprintf(sdir, sizeof(sdir), "%s/../x12/005010",
             lxt_env_path("LX_SCHEMAS_DIR"));
    lx_error err;
    lx_error_clear(&err);
    if (lx_x12_defs_load(sdir, &defs, &err) != 0)
        LXT_FAIL("defs %s: %s", sdir, err.msg);

    inbound_834();
    wrong_sender();
    numbers n = outbound_834();
    after_restart(n);

    step("SIGTERM: the hub exits 0, its log has no sanitizer report");
    int st = lxt_hub_stop(&hub, SIGTERM, T(10000));
    CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "exit status 0x%x", (unsigned)st);
    lxt_hub_check_log(&hub);
    bad_profile();
    lxt_client_destroy(&cl);
    lxt_target_stop(&target);
    lx_x12_defs_destroy(&defs);
    lxt_hub_destroy(&hub);
    if (!getenv("LXT_KEEP")) {
        char cmd[LXT_PATH_MAX + 16];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
    int soft = lxt_soft_failures();
    printf("%d checks, %d failed\n", lxt_checks, soft);
    return soft ? 1 : 0;
}
