/* tests/integration/test_fhir_e2e.c: a FHIR Patient from one system's
 * FHIR client, through a real `lingua serve`, to another system's FHIR
 * server.
 *
 * The test process runs a recording FHIR target (lxt_target: raw sockets,
 * every request kept as sent) that creates on a conditional update and
 * answers 201 with Location http://127.0.0.1:PORT/<base>/Patient/<its
 * id>/_history/1. The hub has
 *   ehr-in        inbound facade /fhir/r4 for system "ehr";
 *   registry-in   inbound facade /fhir/registry for system "registry";
 *   registry-out  outbound to the target's /fhir (JSON), system
 *                 "registry", subscribed to person.*;
 *   archive-out   outbound to the target's /fhirxml (XML), system
 *                 "archive", subscribed to everything.
 * Checked, in order:
 *   1. POST the corpus Patient to ehr-in: 201, Location, ETag;
 *   2. the target gets exactly one PUT /fhir/Patient?identifier=<system>
 *      %7C<value> (conditional update on the first identifier, escaped),
 *      Content-Type application/fhir+json, a Patient whose mapped fields
 *      equal the original's;
 *   3. `lingua xref registry Patient <target id>` finds the canonical
 *      person the ehr's Patient is;
 *   4. a second change (PUT [base]/Patient/<id>, new address) goes out as
 *      PUT /fhir/Patient/<target id>, a direct update with that id;
 *   5. changes made by the registry itself (PUT via registry-in, INGEST
 *      over the bus) are not delivered back to it, but are to archive;
 *   6. the XML variant: PUT /fhirxml/..., application/fhir+xml, parsing
 *      back to the same Patient (and valid against fhir-single.xsd when
 *      xmllint is installed);
 *   7. a delete goes out as DELETE <base>/Patient/<target id>;
 *   8. the other mapped resource types, when there are any, reach the
 *      archive as XML, as their own type, references translated to the
 *      archive's ids.
 * Every wait is a bounded poll. Known deviation D13 (LXT_KNOWN, reported
 * to the adapter's owners): Practitioner and Patient both map to the
 * canonical person, and the outbound adapter sends every person as the
 * entity's first mapping, so a Practitioner goes out as a Patient (to the
 * archive, and to the registry, which takes person.*). */
#include "adapters/fhir/fhir.h"
#include "tests/integration/harness.h"

#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static lxt_hub hub;
static lxt_client *cl;
static lx_fhir *fhir;
static lxt_target *target;
static json_t *original; /* the corpus Patient-example.json */
/* Soft checks (counted in lxt_checks), scaled waits and step headings
 * come from the harness. */
#define CHECK LXT_SOFT_CHECK
#define T lxt_ms
#define step lxt_step

/* ---- the FHIR target ----
 * A conditional update PUT <base>/<Type>?identifier=s|v finds the id it
 * gave that identifier, or makes one; PUT <base>/<Type>/<id> updates (or
 * creates) that id; DELETE answers 204. Answers carry Location and ETag;
 * JSON answers also a small body with the id. */

#define TARGET_IDS_MAX 256

typedef struct fake_server {
    pthread_mutex_t mu;
    int port;
    int next;
    char key[TARGET_IDS_MAX][512]; /* base/type?identifier */
    char id[TARGET_IDS_MAX][32];
    int version[TARGET_IDS_MAX];
    int count;
} fake_server;

static fake_server fake = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int fake_slot(const char *key, bool *created)
{
    for (int i = 0; i < fake.count; i++)
        if (strcmp(fake.key[i], key) == 0) {
            *created = false;
            return i;
        }
    if (fake.count == TARGET_IDS_MAX)
        return -1;
    int i = fake.count++;
    snprintf(fake.key[i], sizeof(fake.key[i]), "%s", key);
    fake.id[i][0] = '\0';
    fake.version[i] = 0;
    *created = true;
    return i;
}

static void fake_answer(void *ctx, const lxt_request *req, lxt_reply *rep)
{
    (void)ctx;
    char path[4096];
    snprintf(path, sizeof(path), "%s", req->target);
    char *query = strchr(path, '?');
    if (query)
        *query++ = '\0';
    /* <base>/<Type>[/<id>] with base /fhir or /fhirxml. */
    char *type = strchr(path + 1, '/');
    if (!type) {
        rep->status = 404;
        return;
    }
    *type++ = '\0';
    char *rid = strchr(type, '/');
    if (rid)
        *rid++ = '\0';
    bool xml = strcmp(path, "/fhirxml") == 0;
    pthread_mutex_lock(&fake.mu);
    int slot = -1;
    bool created = false;
    char key[512];
    if (strcmp(req->method, "PUT") == 0 && !rid && query &&
        strncmp(query, "identifier=", 11) == 0) {
        snprintf(key, sizeof(key), "%s/%s?%s", path, type, query);
        slot = fake_slot(key, &created);
        if (slot >= 0 && created)
            snprintf(fake.id[slot], sizeof(fake.id[slot]), "%s-%d",
                     xml ? "arc" : "reg", ++fake.next);
    } else if ((strcmp(req->method, "PUT") == 0 ||
                strcmp(req->method, "DELETE") == 0) &&
               rid && *rid && !query) {
        /* Find the slot that holds this id. */
        for (int i = 0; i < fake.count && slot < 0; i++)
            if (strcmp(fake.id[i], rid) == 0 &&
                strncmp(fake.key[i], path, strlen(path)) == 0)
                slot = i;
        if (slot < 0) {
            snprintf(key, sizeof(key), "%s/%s/%s", path, type, rid);
            slot = fake_slot(key, &created);
            if (slot >= 0)
                snprintf(fake.id[slot], sizeof(fake.id[slot]), "%s", rid);
        }
    }
    if (slot < 0) {
        pthread_mutex_unlock(&fake.mu);
        rep->status = 400;
        return;
    }
    if (strcmp(req->method, "DELETE") == 0) {
        pthread_mutex_unlock(&fake.mu);
        rep->status = 204;
        return;
    }
    int v = ++fake.version[slot];
    char id[32];
    snprintf(id, sizeof(id), "%s", fake.id[slot]);
    pthread_mutex_unlock(&fake.mu);
    rep->status = created ? 201 : 200;
    snprintf(rep->location, sizeof(rep->location),
             "http://127.0.0.1:%d%s/%s/%s/_history/%d", fake.port, path, type,
             id, v);
    snprintf(rep->etag, sizeof(rep->etag), "W/\"%d\"", v);
    if (!xml) {
        json_t *b = json_pack("{s:s,s:s,s:{s:s}}", "resourceType", type, "id",
                              id, "meta", "versionId", rep->etag + 3);
        /* versionId without the W/" prefix and the closing quote. */
        char vs[16];
        snprintf(vs, sizeof(vs), "%d", v);
        json_object_set_new(json_object_get(b, "meta"), "versionId",
                            json_string(vs));
        rep->body = json_dumps(b, JSON_COMPACT);
        rep->body_len = strlen(rep->body);
        json_decref(b);
        snprintf(rep->content_type, sizeof(rep->content_type),
                 "application/fhir+json");
    }
}

/* Requests whose target starts with prefix ("/fhir/", "/fhirxml/"). */
static size_t count_under(const char *prefix)
{
    size_t n = 0, total = lxt_target_count(target);
    for (size_t i = 0; i < total; i++)
        if (strncmp(lxt_target_request(target, i)->target, prefix,
                    strlen(prefix)) == 0)
            n++;
    return n;
}

/* The k-th request under prefix, or NULL. */
static const lxt_request *nth_under(const char *prefix, size_t k)
{
    size_t total = lxt_target_count(target);
    for (size_t i = 0; i < total; i++) {
        const lxt_request *r = lxt_target_request(target, i);
        if (strncmp(r->target, prefix, strlen(prefix)) == 0 && k-- == 0)
            return r;
    }
    return NULL;
}

/* Poll until n requests arrived under prefix; fails the test otherwise. */
static void wait_under(const char *prefix, size_t n, int timeout_ms,
                       const char *what)
{
    uint64_t deadline = lxt_now_ms() + (uint64_t)timeout_ms;
    while (count_under(prefix) < n) {
        if (lxt_now_ms() >= deadline) {
            size_t total = lxt_target_count(target);
            fprintf(stderr, "requests received so far (%zu):\n", total);
            for (size_t i = 0; i < total; i++)
                fprintf(stderr, "  %s %s\n",
                        lxt_target_request(target, i)->method,
                        lxt_target_request(target, i)->target);
            LXT_FAIL("%s: %zu request(s) under %s after %d ms, expected %zu",
                     what, count_under(prefix), prefix, timeout_ms, n);
        }
        lxt_target_wait(target, lxt_target_count(target) + 1, 50);
    }
}

/* ---- helpers ---- */

/* RFC 3986 percent-encoding of a query value: unreserved characters stay,
 * the rest is %XX. */
static void escape(const char *s, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (o + 4 >= size)
            break;
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

/* %xx hex digits to upper case (both spellings are the same URI). */
static void norm_pct(char *s)
{
    for (; *s; s++)
        if (*s == '%' && s[1] && s[2]) {
            s[1] = (char)toupper((unsigned char)s[1]);
            s[2] = (char)toupper((unsigned char)s[2]);
        }
}

static bool media_is(const char *ct, const char *media)
{
    size_t n = strlen(media);
    return strncasecmp(ct, media, n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static void check_patient(const json_t *want, const json_t *got,
                          const char *what)
{
    json_t *a = lxt_patient_projection(want), *b = lxt_patient_projection(got);
    lxt_checks++;
    if (!json_equal(a, b)) {
        char *sa = lxt_jdump(a), *sb = lxt_jdump(b);
        LXT_SOFT_FAIL("%s: the mapped fields differ\n  want %s\n  got  %s",
                      what, sa, sb);
        free(sa);
        free(sb);
    }
    json_decref(a);
    json_decref(b);
}

static const char *rtype(const json_t *res)
{
    const char *t = json_string_value(json_object_get(res, "resourceType"));
    return t ? t : "";
}

/* The body of a recorded request as a FHIR resource (JSON or XML by its
 * Content-Type), or NULL with a soft failure. */
static json_t *body_of(const lxt_request *r)
{
    lx_error err;
    lx_error_clear(&err);
    json_t *res = NULL;
    lx_fhir_format f = strstr(r->content_type, "xml") ? LX_FHIR_XML
                                                      : LX_FHIR_JSON;
    if (lx_fhir_parse(fhir, r->body, r->body_len, f, (size_t)16 << 20, &res,
                      &err) != 0) {
        LXT_SOFT_FAIL("%s %s: the body does not parse as FHIR %s: %s",
                      r->method, r->target, f ? "XML" : "JSON", err.msg);
        return NULL;
    }
    return res;
}

typedef struct reply {
    long status;
    char location[1024], etag[256], ct[128];
    json_t *json;
    char *body;
} reply;

static void reply_fini(reply *r)
{
    json_decref(r->json);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

static void call(const char *method, const char *url, const char *body,
                 size_t len, reply *r)
{
    memset(r, 0, sizeof(*r));
    static const char *const headers[] = {
        "Content-Type: application/fhir+json",
        "Accept: application/fhir+json", NULL};
    lx_http_result res;
    if (lxt_http(method, url, headers, body, len, T(10000), &res) != 0)
        LXT_FAIL("%s %s: no answer", method, url);
    r->status = res.status;
    snprintf(r->location, sizeof(r->location), "%s", res.location);
    snprintf(r->etag, sizeof(r->etag), "%s", res.etag);
    snprintf(r->ct, sizeof(r->ct), "%s", res.content_type);
    r->json = json_loadb(res.body ? res.body : "", res.body_len, 0, NULL);
    r->body = res.body;
    res.body = NULL;
    lx_http_result_fini(&res);
}

static void put_resource(const char *url, const json_t *res, reply *r)
{
    char *t = json_dumps(res, JSON_COMPACT);
    call("PUT", url, t, strlen(t), r);
    free(t);
}

/* `lingua xref SYSTEM TYPE ID --data-dir` while the hub runs: 0 with the
 * printed record view in *out, or the exit code. */
static int cli_xref(const char *system, const char *type, const char *id,
                    json_t **out)
{
    *out = NULL;
    const char *argv[] = {lxt_env_path("LX_LINGUA"), "xref", system, type,
                          id, "--data-dir", hub.data_dir, NULL};
    char *o = NULL, *e = NULL;
    int rc = lxt_run(argv, T(10000), &o, &e, 1 << 20);
    if (rc == 0)
        *out = json_loads(o, 0, NULL);
    free(o);
    free(e);
    return rc;
}

static bool has_xref(const json_t *view, const char *system, const char *type,
                     const char *id)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(view, "xrefs"), i, x)
    {
        const char *s = json_string_value(json_object_get(x, "system"));
        const char *t = json_string_value(json_object_get(x, "native_type"));
        const char *n = json_string_value(json_object_get(x, "native_id"));
        if (s && t && n && strcmp(s, system) == 0 && strcmp(t, type) == 0 &&
            strcmp(n, id) == 0)
            return true;
    }
    return false;
}

/* xmllint against the official schema, when both exist. */
static void xsd_check(const lxt_request *r)
{
    const char *xmllint = "/usr/bin/xmllint";
    char xsd[LXT_PATH_MAX], file[LXT_PATH_MAX];
    snprintf(xsd, sizeof(xsd), "%s/fhir/r4/schema/xsd/fhir-single.xsd",
             lxt_env_path("LX_CORPUS_DIR"));
    if (access(xmllint, X_OK) != 0 || access(xsd, R_OK) != 0) {
        printf("   (xmllint or fhir-single.xsd absent: XSD check skipped)\n");
        return;
    }
    snprintf(file, sizeof(file), "%s/delivered.xml", hub.root);
    FILE *f = fopen(file, "wb");
    LXT_CHECK(f != NULL, "cannot write %s", file);
    fwrite(r->body, 1, r->body_len, f);
    fclose(f);
    const char *argv[] = {xmllint, "--noout", "--nonet", "--schema", xsd,
                          file, NULL};
    char *o = NULL, *e = NULL;
    int rc = lxt_run(argv, T(60000), &o, &e, 1 << 16);
    CHECK(rc == 0, "the delivered XML is not valid against fhir-single.xsd "
                   "(xmllint exit %d): %s",
          rc, e ? e : "");
    if (rc == 0)
        printf("   delivered XML validates against fhir-single.xsd\n");
    free(o);
    free(e);
}

/* ---- the steps ---- */

static char ehr_base[128], reg_base[128];
static char hub_id[128];      /* the ehr's id of the Patient */
static char reg_id[64];       /* the registry's (target's) id */
static char arc_id[64];       /* the archive's */
static char canonical[64];    /* the canonical person */

static void create(void)
{
    step("POST the corpus Patient to ehr-in");
    size_t len;
    char *text = lxt_corpus_file("fhir/r4/json/Patient-example.json", &len);
    char url[256];
    snprintf(url, sizeof(url), "%s/Patient", ehr_base);
    reply r;
    call("POST", url, text, len, &r);
    free(text);
    if (r.status != 201)
        LXT_FAIL("POST %s: %ld %s", url, r.status, r.body);
    CHECK(strcmp(r.etag, "W/\"1\"") == 0, "ETag %s", r.etag);
    const char *p = strstr(r.location, "/Patient/");
    LXT_CHECK(p && strstr(p, "/_history/1"), "Location %s", r.location);
    size_t n = strcspn(p + 9, "/");
    LXT_CHECK(n > 0 && n < sizeof(hub_id), "Location %s", r.location);
    memcpy(hub_id, p + 9, n);
    hub_id[n] = '\0';
    printf("   ehr id %s\n", hub_id);
    reply_fini(&r);
}

static void conditional_update(void)
{
    step("the registry gets one conditional update PUT, JSON");
    wait_under("/fhir/", 1, T(10000), "conditional update");
    /* Exactly one: nothing more arrives in a while. */
    lxt_sleep_ms(T(500));
    CHECK(count_under("/fhir/") == 1, "%zu requests, expected 1",
          count_under("/fhir/"));
    const lxt_request *r = nth_under("/fhir/", 0);
    json_t *id0 = json_array_get(json_object_get(original, "identifier"), 0);
    char es[512], ev[512], want[1200], got[4096];
    escape(json_string_value(json_object_get(id0, "system")), es, sizeof(es));
    escape(json_string_value(json_object_get(id0, "value")), ev, sizeof(ev));
    snprintf(want, sizeof(want), "/fhir/Patient?identifier=%s%%7C%s", es, ev);
    snprintf(got, sizeof(got), "%s", r->target);
    norm_pct(got);
    CHECK(strcmp(r->method, "PUT") == 0, "method %s", r->method);
    CHECK(strcmp(got, want) == 0, "URL\n  want %s\n  got  %s", want,
          r->target);
    CHECK(media_is(r->content_type, "application/fhir+json"),
          "Content-Type '%s'", r->content_type);
    json_t *body = body_of(r);
    CHECK(body && strcmp(rtype(body), "Patient") == 0,
          "not a Patient: %.200s", r->body);
    if (body)
        check_patient(original, body, "the conditional update's body");
    json_decref(body);
    printf("   %s %s (%zu bytes)\n", r->method, r->target, r->body_len);
}

static void cross_reference(void)
{
    step("lingua xref registry Patient <target id> finds the person");
    /* The registry's id is the one the target gave under /fhir. */
    pthread_mutex_lock(&fake.mu);
    for (int i = 0; i < fake.count; i++)
        if (strncmp(fake.key[i], "/fhir/", 6) == 0) {
            snprintf(reg_id, sizeof(reg_id), "%s", fake.id[i]);
            break;
        }
    pthread_mutex_unlock(&fake.mu);
    LXT_CHECK(strncmp(reg_id, "reg-", 4) == 0, "the target made no id");
    json_t *ehr = NULL;
    int rc = cli_xref("ehr", "Patient", hub_id, &ehr);
    LXT_CHECK(rc == 0 && ehr, "lingua xref ehr Patient %s: exit %d", hub_id,
              rc);
    snprintf(canonical, sizeof(canonical), "%s",
             lxt_jstr(ehr, "id", "xref ehr"));
    CHECK(strcmp(lxt_jstr(ehr, "entity", "xref ehr"), "person") == 0,
          "entity");
    json_decref(ehr);
    /* The link is written after the target's answer: poll. */
    json_t *view = NULL;
    uint64_t deadline = lxt_now_ms() + (uint64_t)T(10000);
    for (;;) {
        rc = cli_xref("registry", "Patient", reg_id, &view);
        if (rc == 0 || lxt_now_ms() >= deadline)
            break;
        lxt_sleep_ms(50);
    }
    LXT_CHECK(rc == 0 && view, "lingua xref registry Patient %s: exit %d",
              reg_id, rc);
    CHECK(strcmp(lxt_jstr(view, "id", "xref registry"), canonical) == 0,
          "registry's %s is %s, the ehr's %s is %s", reg_id,
          lxt_jstr(view, "id", "xref"), hub_id, canonical);
    CHECK(has_xref(view, "ehr", "Patient", hub_id) &&
              has_xref(view, "registry", "Patient", reg_id),
          "xrefs of %s", canonical);
    printf("   person %s: ehr/Patient/%s, registry/Patient/%s\n", canonical,
           hub_id, reg_id);
    json_decref(view);
}

/* The original with another address (and the id the ehr gave it). */
static json_t *moved(void)
{
    json_t *p = json_deep_copy(original);
    json_object_set_new(p, "id", json_string(hub_id));
    json_t *a = json_array_get(json_object_get(p, "address"), 0);
    json_object_set_new(a, "line", json_pack("[s]", "1 New Street"));
    json_object_set_new(a, "city", json_string("Newtown"));
    json_object_set_new(a, "postalCode", json_string("4000"));
    json_object_del(a, "text"); /* not mapped; keep the two in step */
    return p;
}

static void direct_update(json_t *changed)
{
    step("a second change goes out as PUT /fhir/Patient/<target id>");
    char url[256];
    snprintf(url, sizeof(url), "%s/Patient/%s", ehr_base, hub_id);
    reply r;
    put_resource(url, changed, &r);
    CHECK(r.status == 200, "PUT %s: %ld %s", url, r.status, r.body);
    CHECK(strcmp(r.etag, "W/\"2\"") == 0, "ETag %s", r.etag);
    reply_fini(&r);
    wait_under("/fhir/", 2, T(10000), "direct update");
    const lxt_request *q = nth_under("/fhir/", 1);
    char want[128];
    snprintf(want, sizeof(want), "/fhir/Patient/%s", reg_id);
    CHECK(strcmp(q->method, "PUT") == 0, "method %s", q->method);
    CHECK(strcmp(q->target, want) == 0, "URL\n  want %s\n  got  %s", want,
          q->target);
    CHECK(media_is(q->content_type, "application/fhir+json"),
          "Content-Type '%s'", q->content_type);
    json_t *body = body_of(q);
    const char *bid = json_string_value(json_object_get(body, "id"));
    CHECK(bid && strcmp(bid, reg_id) == 0, "body id %s, expected %s",
          bid ? bid : "(none)", reg_id);
    if (body)
        check_patient(changed, body, "the direct update's body");
    json_decref(body);
    printf("   %s %s\n", q->method, q->target);
}

static void echo_suppression(json_t *changed)
{
    step("changes by the registry itself are not sent back to it");
    size_t archive_before = count_under("/fhirxml/");
    /* (a) through an inbound adapter whose system is "registry". */
    json_t *p = json_deep_copy(changed);
    json_object_set_new(p, "id", json_string(reg_id));
    json_array_append_new(json_object_get(p, "telecom"),
                          json_pack("{s:s,s:s,s:s}", "system", "email",
                                    "value", "jim@registry.example", "use",
                                    "work"));
    char url[256];
    snprintf(url, sizeof(url), "%s/Patient/%s", reg_base, reg_id);
    reply r;
    put_resource(url, p, &r);
    CHECK(r.status == 200 || r.status == 201, "PUT %s: %ld %s", url,
          r.status, r.body);
    CHECK(strcmp(r.etag, "W/\"3\"") == 0,
          "the registry's PUT is version 3 of the same person: ETag %s",
          r.etag);
    reply_fini(&r);
    /* (b) over the bus, as a registry adapter would. */
    json_t *view = NULL;
    int rc = cli_xref("registry", "Patient", reg_id, &view);
    LXT_CHECK(rc == 0, "xref");
    json_t *rec = json_deep_copy(json_object_get(view, "record"));
    json_decref(view);
    json_object_set_new(json_object_get(rec, "name"), "family",
                        json_string("Chalmers-Bus"));
    json_t *ingest = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "entity",
                               "person", "system", "registry", "adapter",
                               "registry-bus", "native_type", "Patient",
                               "native_id", reg_id, "record", rec);
    char status[16];
    json_t *ok = NULL;
    rc = lxt_call(cl, "INGEST", ingest, T(10000), status, &ok);
    CHECK(rc == 0 && strcmp(status, "OK") == 0, "INGEST: %d %s", rc, status);
    CHECK(ok && strcmp(lxt_jstr(ok, "canonical_id", "INGEST"), canonical) ==
                    0,
          "INGEST went to another record");
    json_decref(ok);
    json_decref(ingest);
    /* (c) then the ehr changes the birth date: delivery is in order, so
     * once this reaches the registry the two changes before it have been
     * handled (skipped). */
    json_t *ehr = json_deep_copy(changed);
    json_object_set_new(ehr, "birthDate", json_string("1974-12-26"));
    snprintf(url, sizeof(url), "%s/Patient/%s", ehr_base, hub_id);
    put_resource(url, ehr, &r);
    CHECK(r.status == 200, "PUT %s: %ld %s", url, r.status, r.body);
    reply_fini(&r);
    wait_under("/fhir/", 3, T(10000), "the ehr's third change");
    lxt_sleep_ms(T(500));
    CHECK(count_under("/fhir/") == 3,
          "the registry got %zu requests, expected 3: its own changes came "
          "back",
          count_under("/fhir/"));
    const lxt_request *q = nth_under("/fhir/", 2);
    json_t *body = body_of(q);
    CHECK(strstr(q->body, "jim@registry.example") == NULL &&
              strstr(q->body, "Chalmers-Bus") == NULL,
          "the registry's own change was sent back: %.300s", q->body);
    if (body)
        check_patient(ehr, body, "the third change");
    json_decref(body);
    /* The archive is another system: it gets all three. */
    wait_under("/fhirxml/", archive_before + 3, T(10000),
               "the archive's copies of the three changes");
    bool email = false, bus = false;
    for (size_t i = archive_before; i < archive_before + 3; i++) {
        const lxt_request *a = nth_under("/fhirxml/", i);
        email |= strstr(a->body, "jim@registry.example") != NULL;
        bus |= strstr(a->body, "Chalmers-Bus") != NULL;
    }
    CHECK(email && bus, "the archive did not get the registry's changes "
                        "(email %d, bus %d)",
          email, bus);
    json_decref(p);
    json_decref(ehr);
}

static void xml_variant(const json_t *changed)
{
    step("the XML variant: application/fhir+xml, parses back to the same "
         "Patient");
    const lxt_request *r = nth_under("/fhirxml/", 0);
    LXT_CHECK(r != NULL, "the archive got nothing");
    json_t *id0 = json_array_get(json_object_get(original, "identifier"), 0);
    char es[512], ev[512], want[1200], got[4096];
    escape(json_string_value(json_object_get(id0, "system")), es, sizeof(es));
    escape(json_string_value(json_object_get(id0, "value")), ev, sizeof(ev));
    snprintf(want, sizeof(want), "/fhirxml/Patient?identifier=%s%%7C%s", es,
             ev);
    snprintf(got, sizeof(got), "%s", r->target);
    norm_pct(got);
    CHECK(strcmp(r->method, "PUT") == 0 && strcmp(got, want) == 0,
          "%s %s, expected PUT %s", r->method, r->target, want);
    CHECK(media_is(r->content_type, "application/fhir+xml"),
          "Content-Type '%s'", r->content_type);
    CHECK(strstr(r->body, "<Patient xmlns=\"http://hl7.org/fhir\"") != NULL,
          "not a FHIR XML Patient: %.200s", r->body);
    json_t *body = body_of(r);
    if (body)
        check_patient(original, body, "the XML conditional update");
    json_decref(body);
    xsd_check(r);
    const lxt_request *r2 = nth_under("/fhirxml/", 1);
    pthread_mutex_lock(&fake.mu);
    for (int i = 0; i < fake.count; i++)
        if (strncmp(fake.key[i], "/fhirxml/", 9) == 0) {
            snprintf(arc_id, sizeof(arc_id), "%s", fake.id[i]);
            break;
        }
    pthread_mutex_unlock(&fake.mu);
    char want2[128];
    snprintf(want2, sizeof(want2), "/fhirxml/Patient/%s", arc_id);
    CHECK(r2 && strcmp(r2->method, "PUT") == 0 &&
              strcmp(r2->target, want2) == 0,
          "second XML request %s, expected PUT %s", r2 ? r2->target : "-",
          want2);
    if (r2) {
        json_t *b2 = body_of(r2);
        if (b2)
            check_patient(changed, b2, "the XML direct update");
        json_decref(b2);
    }
}

static void deletion(void)
{
    step("a delete goes out as DELETE <base>/Patient/<target id>");
    size_t reg_before = count_under("/fhir/");
    size_t arc_before = count_under("/fhirxml/");
    char url[256];
    snprintf(url, sizeof(url), "%s/Patient/%s", ehr_base, hub_id);
    reply r;
    call("DELETE", url, NULL, 0, &r);
    CHECK(r.status == 204 || r.status == 200, "DELETE %s: %ld", url,
          r.status);
    reply_fini(&r);
    wait_under("/fhir/", reg_before + 1, T(10000), "the registry's delete");
    wait_under("/fhirxml/", arc_before + 1, T(10000), "the archive's delete");
    char want[128];
    const lxt_request *q = nth_under("/fhir/", reg_before);
    snprintf(want, sizeof(want), "/fhir/Patient/%s", reg_id);
    CHECK(strcmp(q->method, "DELETE") == 0 && strcmp(q->target, want) == 0,
          "%s %s, expected DELETE %s", q->method, q->target, want);
    q = nth_under("/fhirxml/", arc_before);
    snprintf(want, sizeof(want), "/fhirxml/Patient/%s", arc_id);
    CHECK(strcmp(q->method, "DELETE") == 0 && strcmp(q->target, want) == 0,
          "%s %s, expected DELETE %s", q->method, q->target, want);
}

/* Resources the corpus Coverage examples refer to (Patient/4, Patient/5,
 * Organization/2), created with those ids so that the references
 * resolve. */
static void prerequisites(bool organization)
{
    static const char *const pats[] = {"4", "5"};
    char url[256];
    reply r;
    for (size_t i = 0; i < 2; i++) {
        json_t *p = json_pack("{s:s,s:s,s:[{s:s,s:s}],s:[{s:s}]}",
                              "resourceType", "Patient", "id", pats[i],
                              "identifier", "system", "urn:lingua:test",
                              "value", pats[i], "name", "family", "Prereq");
        snprintf(url, sizeof(url), "%s/Patient/%s", ehr_base, pats[i]);
        put_resource(url, p, &r);
        CHECK(r.status == 201 || r.status == 200, "PUT %s: %ld %s", url,
              r.status, r.body);
        reply_fini(&r);
        json_decref(p);
    }
    if (!organization)
        return;
    json_t *o = json_pack("{s:s,s:s,s:[{s:s,s:s}],s:s}", "resourceType",
                          "Organization", "id", "2", "identifier", "system",
                          "urn:lingua:test:org", "value", "2", "name",
                          "Prereq Org");
    snprintf(url, sizeof(url), "%s/Organization/2", ehr_base);
    put_resource(url, o, &r);
    CHECK(r.status == 201 || r.status == 200, "PUT %s: %ld %s", url,
          r.status, r.body);
    reply_fini(&r);
    json_decref(o);
}

/* Every other resource type the adapter maps: its corpus examples, POSTed
 * to ehr-in, reach the archive (subscribed to everything) as XML, as
 * that resource type. */
static void other_types(void)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/metadata", ehr_base);
    reply m;
    call("GET", url, NULL, 0, &m);
    json_t *rest = json_array_get(json_object_get(m.json, "rest"), 0);
    json_t *resources = json_object_get(rest, "resource");
    char dir[LXT_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/fhir/r4/json",
             lxt_env_path("LX_CORPUS_DIR"));
    bool coverage = false, organization = false;
    size_t i;
    json_t *res;
    json_array_foreach(resources, i, res)
    {
        const char *type = json_string_value(json_object_get(res, "type"));
        coverage |= type && strcmp(type, "Coverage") == 0;
        organization |= type && strcmp(type, "Organization") == 0;
    }
    if (coverage) {
        step("the resources the Coverage examples refer to");
        prerequisites(organization);
    }
    json_array_foreach(resources, i, res)
    {
        const char *type = json_string_value(json_object_get(res, "type"));
        if (!type || strcmp(type, "Patient") == 0)
            continue;
        char what[160];
        snprintf(what, sizeof(what), "%s: corpus examples reach the archive "
                                     "as XML",
                 type);
        step(what);
        DIR *d = opendir(dir);
        LXT_CHECK(d != NULL, "cannot open %s", dir);
        struct dirent *de;
        int stored = 0, tried = 0;
        for (int guard = 0; guard < 1000 && (de = readdir(d)); guard++) {
            size_t tl = strlen(type);
            if (strncmp(de->d_name, type, tl) != 0 || de->d_name[tl] != '-')
                continue;
            char rel[LXT_PATH_MAX], prefix[128];
            snprintf(rel, sizeof(rel), "fhir/r4/json/%s", de->d_name);
            snprintf(prefix, sizeof(prefix), "/fhirxml/%s", type);
            size_t len, arc_before = count_under("/fhirxml/"),
                        reg_before = count_under("/fhir/");
            char *text = lxt_corpus_file(rel, &len);
            /* Its delivery is the conditional update on its first
             * identifier (earlier deliveries may still be arriving). */
            json_t *doc = json_loads(text, 0, NULL);
            json_t *id0 = NULL;
            size_t k;
            json_t *x;
            json_array_foreach(json_object_get(doc, "identifier"), k, x)
            {
                if (json_is_string(json_object_get(x, "value"))) {
                    id0 = x;
                    break;
                }
            }
            char es[512] = "", ev[512] = "", cond[1100] = "";
            if (id0) {
                const char *sy = json_string_value(
                    json_object_get(id0, "system"));
                escape(sy ? sy : "", es, sizeof(es));
                escape(json_string_value(json_object_get(id0, "value")), ev,
                       sizeof(ev));
                snprintf(cond, sizeof(cond), "?identifier=%s%%7C%s", es, ev);
            }
            json_decref(doc);
            snprintf(url, sizeof(url), "%s/%s", ehr_base, type);
            reply r;
            call("POST", url, text, len, &r);
            free(text);
            tried++;
            printf("   %s: POST %ld\n", de->d_name, r.status);
            bool created = r.status == 201;
            if (created && !cond[0]) {
                /* No identifier: the hub identifies it by its id in the
                 * sending system, urn:lingua:ehr:<type>|<id>. */
                char pat[80], sys[128], nid[128] = "";
                snprintf(pat, sizeof(pat), "/%s/", type);
                const char *p = strstr(r.location, pat);
                if (p)
                    snprintf(nid, sizeof(nid), "%.*s",
                             (int)strcspn(p + strlen(pat), "/"),
                             p + strlen(pat));
                snprintf(sys, sizeof(sys), "urn:lingua:ehr:%s", type);
                escape(sys, es, sizeof(es));
                escape(nid, ev, sizeof(ev));
                snprintf(cond, sizeof(cond), "?identifier=%s%%7C%s", es, ev);
            }
            reply_fini(&r);
            if (!created)
                continue;
            stored++;
            const lxt_request *q = NULL;
            uint64_t deadline = lxt_now_ms() + (uint64_t)T(10000);
            for (size_t next = arc_before; !q;) {
                for (; next < count_under("/fhirxml/") && !q; next++) {
                    const lxt_request *c = nth_under("/fhirxml/", next);
                    char got[4096];
                    snprintf(got, sizeof(got), "%s", c->target);
                    norm_pct(got);
                    const char *qm = strchr(got, '?');
                    if (qm && strcmp(qm, cond) == 0)
                        q = c;
                }
                if (q || lxt_now_ms() >= deadline)
                    break;
                lxt_target_wait(target, lxt_target_count(target) + 1, 50);
            }
            CHECK(q != NULL, "%s: no conditional update %s reached the "
                             "archive",
                  de->d_name, cond);
            if (!q)
                continue;
            printf("   -> %s %s\n", q->method, q->target);
            bool as_type = strncmp(q->target, prefix, strlen(prefix)) == 0 &&
                           (q->target[strlen(prefix)] == '?' ||
                            q->target[strlen(prefix)] == '/');
            /* Practitioner and Patient both map to person; the outbound
             * adapter picks the entity's first mapping (fhir_out.c). */
            if (strcmp(type, "Practitioner") == 0 && !as_type)
                LXT_KNOWN(false, "D13",
                          "POST [base]/%s (%s) to ehr-in: the archive got "
                          "%s %s, expected a %s",
                          type, de->d_name, q->method, q->target, type);
            else
                CHECK(as_type, "POST [base]/%s (%s): the archive got %s %s",
                      type, de->d_name, q->method, q->target);
            CHECK(strcmp(q->method, "PUT") == 0 &&
                      media_is(q->content_type, "application/fhir+xml"),
                  "%s: %s %s (%s)", de->d_name, q->method, q->target,
                  q->content_type);
            json_t *b = body_of(q);
            CHECK(b != NULL, "%s: the archive got nothing readable",
                  de->d_name);
            if (as_type)
                CHECK(b && strcmp(rtype(b), type) == 0,
                      "%s: the archive got a %s", de->d_name,
                      b ? rtype(b) : "-");
            /* References go out as the archive's own ids (its
             * cross-references), not the ehr's "Patient/4". */
            const char *sub = json_string_value(json_object_get(
                json_object_get(b, "subscriber"), "reference"));
            if (sub) {
                printf("      subscriber %s\n", sub);
                CHECK(strncmp(sub, "Patient/arc-", 12) == 0,
                      "%s: the archive's subscriber reference is %s, not "
                      "its own Patient id",
                      de->d_name, sub);
            }
            json_decref(b);
            /* The registry takes person.* only, so a Practitioner (a
             * person) reaches it too: as what? */
            if (strcmp(type, "Practitioner") != 0)
                continue;
            const lxt_request *g = NULL;
            deadline = lxt_now_ms() + (uint64_t)T(3000);
            for (size_t next = reg_before; !g;) {
                for (; next < count_under("/fhir/") && !g; next++) {
                    const lxt_request *c = nth_under("/fhir/", next);
                    char got[4096];
                    snprintf(got, sizeof(got), "%s", c->target);
                    norm_pct(got);
                    const char *qm = strchr(got, '?');
                    if (qm && strcmp(qm, cond) == 0)
                        g = c;
                }
                if (g || lxt_now_ms() >= deadline)
                    break;
                lxt_target_wait(target, lxt_target_count(target) + 1, 50);
            }
            if (g)
                printf("   -> registry (person.*): %s %s\n", g->method,
                       g->target);
        }
        closedir(d);
        CHECK(tried == 0 || stored > 0, "%s: none of %d examples accepted",
              type, tried);
    }
    reply_fini(&m);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm((unsigned)(150 * lxt_scale()));
    target = lxt_target_start(fake_answer, NULL);
    fake.port = lxt_target_port(target);
    char extra[2048];
    snprintf(
        extra, sizeof(extra),
        "\"systems\": {\"ehr\": {}, \"registry\": {}, \"archive\": {}},"
        "\"adapters\": ["
        "{\"name\": \"ehr-in\", \"system\": \"ehr\", \"use\": \"fhir\", "
        "\"direction\": \"in\", \"transport\": {\"http\": \"/fhir/r4\"}},"
        "{\"name\": \"registry-in\", \"system\": \"registry\", \"use\": "
        "\"fhir\", \"direction\": \"in\", \"transport\": {\"http\": "
        "\"/fhir/registry\"}},"
        "{\"name\": \"registry-out\", \"system\": \"registry\", \"use\": "
        "\"fhir\", \"direction\": \"out\", \"subscribe\": [\"person.*\"], "
        "\"transport\": {\"url\": \"http://127.0.0.1:%d/fhir\", \"format\": "
        "\"json\"}},"
        "{\"name\": \"archive-out\", \"system\": \"archive\", \"use\": "
        "\"fhir\", \"direction\": \"out\", \"subscribe\": [\"*\"], "
        "\"transport\": {\"url\": \"http://127.0.0.1:%d/fhirxml\", "
        "\"format\": \"xml\"}}]",
        fake.port, fake.port);
    lxt_hub_init_http(&hub, extra);
    lxt_hub_start(&hub, T(15000), true);
    snprintf(ehr_base, sizeof(ehr_base), "%s/fhir/r4", hub.http_url);
    snprintf(reg_base, sizeof(reg_base), "%s/fhir/registry", hub.http_url);
    printf("hub up: %s, target on port %d\n", hub.http_url, fake.port);

    char root[LXT_PATH_MAX];
    snprintf(root, sizeof(root), "%s/..", lxt_env_path("LX_SCHEMAS_DIR"));
    lx_error err;
    lx_error_clear(&err);
    if (lx_fhir_open(root, &fhir, &err) != 0)
        LXT_FAIL("lx_fhir_open %s: %s", root, err.msg);
    cl = lxt_client_new(hub.router);
    size_t len;
    char *text = lxt_corpus_file("fhir/r4/json/Patient-example.json", &len);
    original = json_loadb(text, len, 0, NULL);
    free(text);
    LXT_CHECK(original != NULL, "Patient-example.json");

    create();
    conditional_update();
    cross_reference();
    json_t *changed = moved();
    direct_update(changed);
    echo_suppression(changed);
    xml_variant(changed);
    deletion();
    other_types();
    json_decref(changed);

    step("SIGTERM: the hub exits 0, its log has no sanitizer report");
    int st = lxt_hub_stop(&hub, SIGTERM, T(10000));
    CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "exit status 0x%x", (unsigned)st);
    lxt_hub_check_log(&hub);
    lxt_client_destroy(&cl);
    lxt_target_stop(&target);
    lx_fhir_close(&fhir);
    json_decref(original);
    lxt_hub_destroy(&hub);
    int soft = lxt_soft_failures();
    printf("%d checks, %d failed, %d known deviations\n", lxt_checks, soft,
           lxt_known_deviations());
    return soft ? 1 : 0;
}
