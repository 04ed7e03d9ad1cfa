/* tests/integration/test_fhir_rest.c: the FHIR R4 REST facade
 * (adapters/fhir/fhir_rest.h) of a real `lingua serve`, over HTTP.
 *
 * One hub with an inbound FHIR adapter at /fhir/r4 for system "ehr" and
 * limits.max_payload = 65536. Checked: the CapabilityStatement; create
 * (JSON and XML), read (JSON, Accept XML, _format), update and create by
 * PUT, versions and ETags; every refused request (malformed JSON and XML,
 * DTD and external entity, wrong resourceType, bad birthDate, unknown
 * gender, id missing or different, unknown element in JSON and XML, over
 * the payload limit, unresolvable reference) answers
 * 4xx with an OperationOutcome whose issue[0].expression locates the
 * problem, and stores nothing (STATUS last_seq and /health records are
 * unchanged); transaction Bundles are all or nothing, batch Bundles entry
 * by entry; other mapped resource types round-trip their corpus examples.
 * The status codes are those of FHIR R4 http.html (update with a missing
 * or different id: 400; an unresolvable reference: 422, not 404) and the
 * Bundle locations those of Bundle-bundle-response.json (relative to the
 * base).
 *
 * The corpus is $LX_CORPUS_DIR/fhir/r4. */
#include "adapters/fhir/fhir.h"
#include "tests/integration/harness.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PAYLOAD 65536
#define PARSE_MAX ((size_t)16 << 20)

static lxt_hub hub;
static lxt_client *cl;
static lx_fhir *fhir;
static lxt_target *probe; /* must never be called: external entity bait */
static char base[LXT_ENDPOINT_MAX + 16];
static json_t *patient_json; /* the corpus Patient-example.json */
/* Soft checks (counted in lxt_checks), scaled waits and step headings
 * come from the harness. */
#define CHECK LXT_SOFT_CHECK
#define T lxt_ms
#define step lxt_step

/* ---- calls ---- */

typedef struct reply {
    long status;
    char ct[128], location[1024], etag[256];
    char *body;
    size_t len;
    json_t *res; /* the body as a FHIR resource (JSON or XML), or NULL */
} reply;

static void reply_fini(reply *r)
{
    free(r->body);
    json_decref(r->res);
    memset(r, 0, sizeof(*r));
}

static bool ct_is(const reply *r, const char *media)
{
    return strncmp(r->ct, media, strlen(media)) == 0 &&
           (r->ct[strlen(media)] == '\0' || r->ct[strlen(media)] == ';');
}

/* path is appended to the facade's base ("" for the base itself). */
static void call(const char *method, const char *path, const char *ctype,
                 const char *accept, const char *body, size_t len, reply *r)
{
    memset(r, 0, sizeof(*r));
    char url[8192], h1[160], h2[160];
    snprintf(url, sizeof(url), "%s%s", base, path);
    const char *headers[3] = {NULL, NULL, NULL};
    size_t nh = 0;
    if (ctype) {
        snprintf(h1, sizeof(h1), "Content-Type: %s", ctype);
        headers[nh++] = h1;
    }
    if (accept) {
        snprintf(h2, sizeof(h2), "Accept: %s", accept);
        headers[nh++] = h2;
    }
    lx_http_result res;
    if (lxt_http(method, url, headers, body, len, T(10000), &res) != 0)
        LXT_FAIL("%s %s: no answer", method, url);
    r->status = res.status;
    snprintf(r->ct, sizeof(r->ct), "%s", res.content_type);
    snprintf(r->location, sizeof(r->location), "%s", res.location);
    snprintf(r->etag, sizeof(r->etag), "%s", res.etag);
    r->body = res.body;
    r->len = res.body_len;
    res.body = NULL;
    lx_http_result_fini(&res);
    if (r->len == 0)
        return;
    lx_error err;
    lx_error_clear(&err);
    if (strstr(r->ct, "xml")) {
        if (lx_fhir_parse(fhir, r->body, r->len, LX_FHIR_XML, PARSE_MAX,
                          &r->res, &err) != 0)
            LXT_SOFT_FAIL("%s %s: the XML answer does not parse: %s",
                          method, path, err.msg);
    } else {
        r->res = json_loadb(r->body, r->len, 0, NULL);
    }
}

static const char *rtype(const json_t *res)
{
    const char *t = json_string_value(json_object_get(res, "resourceType"));
    return t ? t : "";
}

static bool is_outcome(const json_t *res)
{
    return strcmp(rtype(res), "OperationOutcome") == 0 &&
           json_array_size(json_object_get(res, "issue")) > 0;
}

/* issue[0].expression[0], or NULL. */
static const char *expr0(const json_t *oo)
{
    json_t *issue = json_array_get(json_object_get(oo, "issue"), 0);
    return json_string_value(
        json_array_get(json_object_get(issue, "expression"), 0));
}

static const char *str_of(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* The id in a Location "[base]/Patient/{id}/_history/{vid}" (absolute or
 * not) into id; the version into *vid. false when it is not that form. */
static bool parse_location(const char *loc, const char *type, char *id,
                           size_t size, long *vid)
{
    char pat[80];
    snprintf(pat, sizeof(pat), "/%s/", type);
    const char *p = strstr(loc, pat);
    if (!p)
        return false;
    p += strlen(pat);
    size_t n = strcspn(p, "/");
    if (n == 0 || n >= size || strncmp(p + n, "/_history/", 10) != 0)
        return false;
    memcpy(id, p, n);
    id[n] = '\0';
    char *end = NULL;
    *vid = strtol(p + n + 10, &end, 10);
    return end && *end == '\0' && *vid > 0;
}

static char *dump(const json_t *v)
{
    return lxt_jdump(v);
}

/* The mapped part of got equals that of want. */
static void check_patient(const json_t *want, const json_t *got,
                          const char *what)
{
    json_t *a = lxt_patient_projection(want), *b = lxt_patient_projection(got);
    bool eq = json_equal(a, b);
    if (!eq) {
        char *sa = dump(a), *sb = dump(b);
        LXT_SOFT_FAIL("%s: the mapped fields differ\n  want %s\n  got  %s",
                      what, sa, sb);
        free(sa);
        free(sb);
    }
    lxt_checks++;
    json_decref(a);
    json_decref(b);
}

/* ---- what the store holds ---- */

typedef struct counts {
    json_int_t last_seq, records;
} counts;

static counts store_counts(void)
{
    counts c = {-1, -1};
    char status[16];
    json_t *reply_body = NULL, *body = json_object();
    if (lxt_call(cl, "STATUS", body, T(5000), status, &reply_body) != 0 ||
        strcmp(status, "OK") != 0)
        LXT_FAIL("STATUS does not answer OK");
    c.last_seq = lxt_jint(reply_body, "last_seq", "STATUS");
    json_decref(reply_body);
    json_decref(body);
    char url[LXT_ENDPOINT_MAX + 16];
    snprintf(url, sizeof(url), "%s/health", hub.http_url);
    lx_http_result res;
    if (lxt_http("GET", url, NULL, NULL, 0, T(5000), &res) != 0 ||
        res.status != 200)
        LXT_FAIL("GET /health does not answer 200");
    json_t *h = json_loadb(res.body, res.body_len, 0, NULL);
    c.records = lxt_jint(h, "records", "/health");
    json_decref(h);
    lx_http_result_fini(&res);
    return c;
}

static void check_unchanged(counts before, const char *what)
{
    counts now = store_counts();
    CHECK(now.last_seq == before.last_seq && now.records == before.records,
          "%s stored something: last_seq %lld -> %lld, records %lld -> %lld",
          what, (long long)before.last_seq, (long long)now.last_seq,
          (long long)before.records, (long long)now.records);
}

/* ---- steps ---- */

static void capability(json_t **types)
{
    step("metadata: CapabilityStatement");
    reply r;
    call("GET", "/metadata", NULL, NULL, NULL, 0, &r);
    CHECK(r.status == 200, "status %ld", r.status);
    CHECK(ct_is(&r, "application/fhir+json"), "content type %s", r.ct);
    CHECK(strcmp(rtype(r.res), "CapabilityStatement") == 0, "%s",
          rtype(r.res));
    const char *fv = json_string_value(json_object_get(r.res, "fhirVersion"));
    CHECK(fv && strncmp(fv, "4.0", 3) == 0, "fhirVersion %s", fv ? fv : "-");
    json_t *rest = json_array_get(json_object_get(r.res, "rest"), 0);
    CHECK(json_is_string(json_object_get(rest, "mode")) &&
              strcmp(json_string_value(json_object_get(rest, "mode")),
                     "server") == 0,
          "rest[0].mode");
    *types = json_array();
    bool patient = false;
    size_t i;
    json_t *res;
    json_array_foreach(json_object_get(rest, "resource"), i, res)
    {
        const char *t = json_string_value(json_object_get(res, "type"));
        if (!t)
            continue;
        json_array_append_new(*types, json_string(t));
        if (strcmp(t, "Patient") != 0)
            continue;
        patient = true;
        static const char *const want[] = {"read", "create", "update",
                                           "delete"};
        for (size_t w = 0; w < 4; w++) {
            bool found = false;
            size_t k;
            json_t *it;
            json_array_foreach(json_object_get(res, "interaction"), k, it)
            {
                const char *c = json_string_value(json_object_get(it, "code"));
                found |= c && strcmp(c, want[w]) == 0;
            }
            CHECK(found, "Patient interaction %s is not listed", want[w]);
        }
    }
    CHECK(patient, "Patient is not listed");
    /* Invariant cpb-14: kind = instance requires implementation. */
    const char *kind = json_string_value(json_object_get(r.res, "kind"));
    CHECK(!kind || strcmp(kind, "instance") != 0 ||
              json_object_get(r.res, "implementation"),
          "kind \"instance\" without \"implementation\" (cpb-14)");
    reply_fini(&r);

    reply x;
    call("GET", "/metadata", NULL, "application/fhir+xml", NULL, 0, &x);
    CHECK(x.status == 200 && ct_is(&x, "application/fhir+xml") &&
              strcmp(rtype(x.res), "CapabilityStatement") == 0,
          "metadata as XML: %ld %s", x.status, x.ct);
    reply_fini(&x);
    char *names = dump(*types);
    printf("   mapped resource types: %s\n", names);
    free(names);
}

/* POST the corpus Patient as JSON; returns its id in id. */
/* A write's answer is the resource as a GET right after it reads it from
 * the store, byte for byte: what holds the answer built from the record in
 * memory (instead of read back) against the stored one. */
static void answer_is_stored(const reply *w, const char *type, const char *id,
                             const char *what)
{
    char path[256];
    snprintf(path, sizeof(path), "/%s/%s", type, id);
    reply g;
    call("GET", path, NULL, NULL, NULL, 0, &g);
    CHECK(g.status == 200 && strcmp(g.etag, w->etag) == 0,
          "%s: GET %ld ETag %s, the write's ETag %s", what, g.status, g.etag,
          w->etag);
    CHECK(w->body && g.body && w->len == g.len &&
              memcmp(w->body, g.body, g.len) == 0,
          "%s: the answer differs from the stored resource:\n  answer %.*s"
          "\n  GET    %.*s",
          what, (int)w->len, w->body ? w->body : "", (int)g.len,
          g.body ? g.body : "");
    reply_fini(&g);
}

static void create_json(char *id, size_t size)
{
    step("POST Patient (JSON, corpus Patient-example.json)");
    size_t len;
    char *text = lxt_corpus_file("fhir/r4/json/Patient-example.json", &len);
    counts before = store_counts();
    reply r;
    call("POST", "/Patient", "application/fhir+json", NULL, text, len, &r);
    free(text);
    long vid = 0;
    CHECK(r.status == 201, "status %ld: %s", r.status, r.body);
    CHECK(ct_is(&r, "application/fhir+json"), "content type %s", r.ct);
    if (!parse_location(r.location, "Patient", id, size, &vid))
        LXT_FAIL("Location '%s' is not [base]/Patient/{id}/_history/{vid}",
                 r.location);
    CHECK(vid == 1, "Location version %ld", vid);
    CHECK(strcmp(id, "example") != 0, "the server must assign the id of a "
                                      "create, not take the body's");
    CHECK(strcmp(r.etag, "W/\"1\"") == 0, "ETag %s", r.etag);
    CHECK(strcmp(rtype(r.res), "Patient") == 0, "body %s", rtype(r.res));
    const char *bid = json_string_value(json_object_get(r.res, "id"));
    CHECK(bid && strcmp(bid, id) == 0, "body id %s, Location id %s",
          bid ? bid : "-", id);
    /* resourceType first, then id, as FHIR JSON is usually written. */
    char head[128];
    snprintf(head, sizeof(head),
             "{\"resourceType\":\"Patient\",\"id\":\"%s\"", id);
    CHECK(r.body && strncmp(r.body, head, strlen(head)) == 0,
          "the answer starts %.60s", r.body ? r.body : "");
    check_patient(patient_json, r.res, "POST answer");
    answer_is_stored(&r, "Patient", id, "POST answer");
    counts after = store_counts();
    CHECK(after.last_seq == before.last_seq + 1 &&
              after.records == before.records + 1,
          "one create: last_seq %lld -> %lld, records %lld -> %lld",
          (long long)before.last_seq, (long long)after.last_seq,
          (long long)before.records, (long long)after.records);
    reply_fini(&r);
}

static void read_back(const char *id)
{
    step("GET Patient/{id}: JSON, Accept XML, _format=xml, _format wins");
    char path[256];
    snprintf(path, sizeof(path), "/Patient/%s", id);
    reply r;
    call("GET", path, NULL, NULL, NULL, 0, &r);
    CHECK(r.status == 200, "status %ld", r.status);
    CHECK(ct_is(&r, "application/fhir+json"), "content type %s", r.ct);
    CHECK(strcmp(r.etag, "W/\"1\"") == 0, "ETag %s", r.etag);
    const char *vid = json_string_value(
        json_object_get(json_object_get(r.res, "meta"), "versionId"));
    CHECK(vid && strcmp(vid, "1") == 0, "meta.versionId %s", vid ? vid : "-");
    CHECK(json_is_string(json_object_get(json_object_get(r.res, "meta"),
                                         "lastUpdated")),
          "meta.lastUpdated");
    const char *bid = json_string_value(json_object_get(r.res, "id"));
    CHECK(bid && strcmp(bid, id) == 0, "id %s", bid ? bid : "-");
    check_patient(patient_json, r.res, "GET JSON");
    reply_fini(&r);

    static const struct {
        const char *query, *accept, *media;
    } variants[] = {
        {"", "application/fhir+xml", "application/fhir+xml"},
        {"?_format=xml", NULL, "application/fhir+xml"},
        {"?_format=application/fhir%2Bxml", NULL, "application/fhir+xml"},
        {"?_format=json", "application/fhir+xml", "application/fhir+json"},
    };
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        char p2[300];
        snprintf(p2, sizeof(p2), "%s%s", path, variants[i].query);
        call("GET", p2, NULL, variants[i].accept, NULL, 0, &r);
        CHECK(r.status == 200 && ct_is(&r, variants[i].media),
              "GET %s Accept %s: %ld %s", p2,
              variants[i].accept ? variants[i].accept : "-", r.status, r.ct);
        CHECK(strcmp(rtype(r.res), "Patient") == 0, "GET %s: %s", p2,
              rtype(r.res));
        if (strstr(variants[i].media, "xml"))
            CHECK(strstr(r.body, "<Patient xmlns=\"http://hl7.org/fhir\"") !=
                      NULL,
                  "GET %s: not a FHIR XML Patient", p2);
        check_patient(patient_json, r.res, p2);
        reply_fini(&r);
    }
}

/* The corpus XML Patient with its identifier value replaced (a create), and
 * once as it is (the same identifier as the JSON one). */
static void create_xml(void)
{
    step("POST Patient (XML, corpus patient-example.xml)");
    size_t len;
    char *xml = lxt_corpus_file("fhir/r4/xml/patient-example.xml", &len);
    const char *v = strstr(xml, "<value value=\"12345\"/>");
    LXT_CHECK(v != NULL, "the corpus XML Patient changed");
    char *fresh = malloc(len + 16);
    LXT_CHECK(fresh != NULL, "out of memory");
    int n = snprintf(fresh, len + 16, "%.*s<value value=\"X-12345\"/>%s",
                     (int)(v - xml), xml, v + strlen("<value value=\"12345\"/>"));
    json_t *want = json_deep_copy(patient_json);
    json_object_set_new(json_array_get(json_object_get(want, "identifier"), 0),
                        "value", json_string("X-12345"));
    reply r;
    call("POST", "/Patient", "application/fhir+xml", NULL, fresh, (size_t)n,
         &r);
    char id[128];
    long vid = 0;
    CHECK(r.status == 201, "status %ld: %s", r.status, r.body);
    CHECK(ct_is(&r, "application/fhir+xml"), "the answer follows the "
                                             "request's format: %s",
          r.ct);
    CHECK(parse_location(r.location, "Patient", id, sizeof(id), &vid) &&
              vid == 1,
          "Location %s", r.location);
    CHECK(strcmp(r.etag, "W/\"1\"") == 0, "ETag %s", r.etag);
    check_patient(want, r.res, "POST XML answer");
    reply_fini(&r);
    char path[256];
    snprintf(path, sizeof(path), "/Patient/%s", id);
    call("GET", path, NULL, "application/fhir+json", NULL, 0, &r);
    CHECK(r.status == 200, "GET after XML create: %ld", r.status);
    check_patient(want, r.res, "GET after XML create");
    reply_fini(&r);
    json_decref(want);
    free(fresh);

    /* The same person again (identifier urn:oid:...|12345 is known): the
     * hub links it to the record the JSON create made; a create is still
     * answered 201 Created (FHIR R4 http.html, create). */
    counts before = store_counts();
    call("POST", "/Patient", "application/fhir+xml", NULL, xml, len, &r);
    CHECK(r.status == 201, "status %ld: %s", r.status, r.body);
    check_patient(patient_json, r.res, "POST XML (known identifier)");
    counts after = store_counts();
    printf("   same identifier again: %ld, records %lld -> %lld\n", r.status,
           (long long)before.records, (long long)after.records);
    reply_fini(&r);
    free(xml);
}

static json_t *simple_patient(const char *id, const char *value,
                              const char *birth)
{
    json_t *p = json_pack("{s:s,s:[{s:s,s:s}],s:[{s:s,s:[s]}],s:s,s:s}",
                          "resourceType", "Patient", "identifier", "system",
                          "urn:lingua:test", "value", value, "name", "family",
                          "Put", "given", "Tess", "gender", "female",
                          "birthDate", birth);
    if (id)
        json_object_set_new(p, "id", json_string(id));
    return p;
}

static void put_json(const char *path, const json_t *res, reply *r)
{
    char *t = json_dumps(res, JSON_COMPACT);
    call("PUT", path, "application/fhir+json", NULL, t, strlen(t), r);
    free(t);
}

static void put_and_delete(void)
{
    step("PUT Patient/{id}: create, update (version 2), unchanged");
    reply r;
    json_t *p = simple_patient("rest-put-1", "put-1", "1990-01-02");
    put_json("/Patient/rest-put-1", p, &r);
    char id[128];
    long vid = 0;
    CHECK(r.status == 201, "PUT create: %ld %s", r.status, r.body);
    CHECK(strcmp(r.etag, "W/\"1\"") == 0, "ETag %s", r.etag);
    CHECK(parse_location(r.location, "Patient", id, sizeof(id), &vid) &&
              strcmp(id, "rest-put-1") == 0 && vid == 1,
          "Location %s", r.location);
    check_patient(p, r.res, "PUT create answer");
    answer_is_stored(&r, "Patient", "rest-put-1", "PUT create answer");
    reply_fini(&r);
    json_object_set_new(p, "birthDate", json_string("1991-03-04"));
    put_json("/Patient/rest-put-1", p, &r);
    CHECK(r.status == 200, "PUT update: %ld %s", r.status, r.body);
    CHECK(strcmp(r.etag, "W/\"2\"") == 0, "ETag %s", r.etag);
    CHECK(parse_location(r.location, "Patient", id, sizeof(id), &vid) &&
              vid == 2,
          "Location %s", r.location);
    answer_is_stored(&r, "Patient", "rest-put-1", "PUT update answer");
    reply_fini(&r);
    counts same_before = store_counts();
    put_json("/Patient/rest-put-1", p, &r);
    CHECK(r.status == 200 && strcmp(r.etag, "W/\"2\"") == 0,
          "PUT unchanged: %ld ETag %s", r.status, r.etag);
    answer_is_stored(&r, "Patient", "rest-put-1", "PUT unchanged answer");
    check_unchanged(same_before, "PUT of the same content");
    reply_fini(&r);
    call("GET", "/Patient/rest-put-1", NULL, NULL, NULL, 0, &r);
    const char *v = json_string_value(
        json_object_get(json_object_get(r.res, "meta"), "versionId"));
    CHECK(r.status == 200 && v && strcmp(v, "2") == 0 &&
              strcmp(r.etag, "W/\"2\"") == 0,
          "GET after update: %ld versionId %s ETag %s", r.status,
          v ? v : "-", r.etag);
    check_patient(p, r.res, "GET after update");
    reply_fini(&r);

    step("PUT with a body id different from the URL");
    counts before = store_counts();
    json_t *other = simple_patient("other-id", "put-2", "1990-01-02");
    put_json("/Patient/rest-put-2", other, &r);
    CHECK(r.status == 400, "http.html (update) requires 400, got %ld",
          r.status);
    CHECK(is_outcome(r.res), "not an OperationOutcome: %s", r.body);
    CHECK(expr0(r.res) && strcmp(expr0(r.res), "Patient.id") == 0,
          "expression %s", expr0(r.res) ? expr0(r.res) : "(none)");
    check_unchanged(before, "PUT with a mismatched id");
    reply_fini(&r);
    json_decref(other);

    step("PUT without an id in the body");
    json_t *noid = simple_patient(NULL, "put-3", "1990-01-02");
    before = store_counts();
    put_json("/Patient/rest-put-3", noid, &r);
    CHECK(r.status == 400 && is_outcome(r.res),
          "http.html (update) requires 400, got %ld", r.status);
    CHECK(expr0(r.res) && strncmp(expr0(r.res), "Patient", 7) == 0,
          "expression %s", expr0(r.res) ? expr0(r.res) : "(none)");
    check_unchanged(before, "PUT without an id");
    reply_fini(&r);
    json_decref(noid);

    step("GET unknown, DELETE, GET deleted (410)");
    call("GET", "/Patient/no-such-patient", NULL, NULL, NULL, 0, &r);
    CHECK(r.status == 404 && is_outcome(r.res), "GET unknown: %ld %s",
          r.status, r.body);
    reply_fini(&r);
    call("GET", "/Spaceship/1", NULL, NULL, NULL, 0, &r);
    CHECK(r.status == 404 && is_outcome(r.res), "GET unknown type: %ld %s",
          r.status, r.body);
    reply_fini(&r);
    before = store_counts();
    call("DELETE", "/Patient/rest-put-1", NULL, NULL, NULL, 0, &r);
    CHECK(r.status == 204, "DELETE: %ld %s", r.status, r.body);
    reply_fini(&r);
    counts after = store_counts();
    CHECK(after.last_seq == before.last_seq + 1, "DELETE is one event");
    call("GET", "/Patient/rest-put-1", NULL, NULL, NULL, 0, &r);
    CHECK(r.status == 410 && is_outcome(r.res), "GET deleted: %ld %s",
          r.status, r.body);
    reply_fini(&r);
    call("DELETE", "/Patient/rest-put-1", NULL, NULL, NULL, 0, &r);
    CHECK(r.status == 204 || r.status == 200, "DELETE again: %ld",
          r.status);
    reply_fini(&r);
    json_decref(p);
}

/* ---- refused requests ---- */

typedef struct bad_case {
    const char *name, *path, *ctype;
    char *body;
    size_t len;
    int status;        /* the status FHIR asks for; 0: any 4xx */
    const char *expr;  /* issue[0].expression[0] exactly; NULL: any */
    const char *expr_has; /* or one containing this */
    const char *expr_alt; /* or exactly this */
} bad_case;

static void refuse(const bad_case *c)
{
    step(c->name);
    counts before = store_counts();
    reply r;
    call(strstr(c->path, "/Patient/") ? "PUT" : "POST", c->path, c->ctype,
         NULL, c->body, c->len, &r);
    CHECK(r.status >= 400 && r.status < 500, "%s: status %ld", c->name,
          r.status);
    if (c->status)
        CHECK(r.status == c->status, "%s: expected %d, got %ld", c->name,
              c->status, r.status);
    bool oo = is_outcome(r.res) && (ct_is(&r, "application/fhir+json") ||
                                    ct_is(&r, "application/fhir+xml"));
    CHECK(oo, "%s: not an OperationOutcome (%s): %.300s", c->name, r.ct,
          r.body ? r.body : "");
    const char *e = expr0(r.res);
    bool eok = e && (c->expr ? strcmp(e, c->expr) == 0
                             : !c->expr_has || strstr(e, c->expr_has));
    if (e && c->expr_alt && strcmp(e, c->expr_alt) == 0)
        eok = true;
    char want[160];
    snprintf(want, sizeof(want), "%s%s%s%s%s", c->expr ? c->expr : "",
             c->expr_has ? "one containing " : "",
             c->expr_has ? c->expr_has : "", c->expr_alt ? " or " : "",
             c->expr_alt ? c->expr_alt : "");
    if (!c->expr && !c->expr_has)
        snprintf(want, sizeof(want), "any");
    CHECK(eok, "%s: issue[0].expression: expected %s, got %s", c->name, want,
          e ? e : "none");
    check_unchanged(before, c->name);
    reply_fini(&r);
}

static char *text_of(const json_t *v, size_t *len)
{
    char *t = json_dumps(v, JSON_COMPACT);
    *len = strlen(t);
    return t;
}

static void refusals(void)
{
    char xxe[1024];
    snprintf(xxe, sizeof(xxe),
             "<?xml version=\"1.0\"?>\n<!DOCTYPE Patient [\n"
             "  <!ENTITY file SYSTEM \"file:///etc/passwd\">\n"
             "  <!ENTITY net SYSTEM \"http://127.0.0.1:%d/entity\">\n"
             "  <!ENTITY %% pe SYSTEM \"http://127.0.0.1:%d/dtd\"> %%pe;\n"
             "]>\n<Patient xmlns=\"http://hl7.org/fhir\"><identifier><system "
             "value=\"urn:lingua:test\"/><value value=\"&file;&net;\"/>"
             "</identifier></Patient>",
             lxt_target_port(probe), lxt_target_port(probe));
    char laughs[1024];
    snprintf(laughs, sizeof(laughs),
             "<?xml version=\"1.0\"?><!DOCTYPE lol [<!ENTITY a \"aaaaaaaa\">"
             "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c "
             "\"&b;&b;&b;&b;&b;&b;&b;&b;\">]><Patient "
             "xmlns=\"http://hl7.org/fhir\"><identifier><system "
             "value=\"urn:lingua:test\"/><value value=\"&c;\"/></identifier>"
             "</Patient>");
    json_t *bd = simple_patient(NULL, "bad-bd", "1974-13-45");
    json_t *gd = simple_patient(NULL, "bad-gender", "1974-12-25");
    json_object_set_new(gd, "gender", json_string("martian"));
    json_t *mm = simple_patient("other-id", "bad-id", "1974-12-25");
    size_t practitioner_len = 0;
    char *practitioner = lxt_corpus_file(
        "fhir/r4/json/Practitioner-example.json", &practitioner_len);
    /* Over the limit: the corpus Patient with a large narrative. */
    json_t *big = json_deep_copy(patient_json);
    size_t pad = MAX_PAYLOAD + 4096;
    char *div = malloc(pad + 128);
    LXT_CHECK(div != NULL, "out of memory");
    int dn = snprintf(div, 128, "<div xmlns=\"http://www.w3.org/1999/xhtml\">");
    memset(div + dn, 'x', pad);
    snprintf(div + dn + pad, 16, "</div>");
    json_object_set_new(json_object_get(big, "text"), "div",
                        json_string(div));
    free(div);
    static char malformed_json[] = "{\"resourceType\":\"Patient\",\"gender\":"
                                   "\"male\",";
    static char malformed_xml[] = "<Patient xmlns=\"http://hl7.org/fhir\">"
                                  "<gender value=\"male\"/>";
    static char unknown_elem[] =
        "<Patient xmlns=\"http://hl7.org/fhir\"><identifier><system "
        "value=\"urn:lingua:test\"/><value value=\"unknown-elem\"/>"
        "</identifier><favouriteColour value=\"blue\"/></Patient>";
    static char not_resource[] = "[1,2,3]";
    json_t *uj = simple_patient(NULL, "unknown-elem-json", "1974-12-25");
    json_object_set_new(uj, "favouriteColour", json_string("blue"));
    static const char *const fj = "application/fhir+json";
    static const char *const fx = "application/fhir+xml";
    size_t n_bd, n_gd, n_mm, n_big, n_uj;
    char *t_bd = text_of(bd, &n_bd), *t_gd = text_of(gd, &n_gd);
    char *t_mm = text_of(mm, &n_mm), *t_big = text_of(big, &n_big);
    char *t_uj = text_of(uj, &n_uj);
    /* Syntax errors have no element to point at: the expression names the
     * resource ("Patient"), line and column are in the diagnostics. */
    bad_case cases[] = {
        {.name = "malformed JSON", .path = "/Patient", .ctype = fj,
         .body = malformed_json, .len = strlen(malformed_json), .status = 400,
         .expr_has = "Patient"},
        {.name = "malformed XML", .path = "/Patient", .ctype = fx,
         .body = malformed_xml, .len = strlen(malformed_xml), .status = 400,
         .expr_has = "Patient"},
        {.name = "XML with a DOCTYPE and external entities (file, http, "
                 "parameter)",
         .path = "/Patient", .ctype = fx, .body = xxe, .len = strlen(xxe),
         .status = 400, .expr_has = "Patient"},
        {.name = "XML with nested internal entities (billion laughs)",
         .path = "/Patient", .ctype = fx, .body = laughs,
         .len = strlen(laughs), .status = 400, .expr_has = "Patient"},
        {.name = "JSON that is not a resource", .path = "/Patient",
         .ctype = fj, .body = not_resource, .len = strlen(not_resource),
         .expr_has = "Patient"},
        {.name = "wrong resourceType for the URL (a Practitioner to "
                 "/Patient)",
         .path = "/Patient", .ctype = fj, .body = practitioner,
         .len = practitioner_len, .expr_has = "resourceType"},
        {.name = "bad birthDate (1974-13-45)", .path = "/Patient",
         .ctype = fj, .body = t_bd, .len = n_bd,
         .expr = "Patient.birthDate"},
        {.name = "unknown gender code (martian)", .path = "/Patient",
         .ctype = fj, .body = t_gd, .len = n_gd, .expr = "Patient.gender"},
        {.name = "PUT, body id differs from the URL",
         .path = "/Patient/bad-id-url", .ctype = fj, .body = t_mm,
         .len = n_mm, .status = 400, .expr = "Patient.id"},
        {.name = "XML with an unknown element", .path = "/Patient",
         .ctype = fx, .body = unknown_elem, .len = strlen(unknown_elem),
         .expr = "Patient.favouriteColour"},
        {.name = "JSON with an unknown element", .path = "/Patient",
         .ctype = fj, .body = t_uj, .len = n_uj,
         .expr = "Patient.favouriteColour"},
        {.name = "a body over limits.max_payload (413)", .path = "/Patient",
         .ctype = fj, .body = t_big, .len = n_big, .status = 413,
         .expr_has = "Patient"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        refuse(&cases[i]);
    CHECK(lxt_target_count(probe) == 0,
          "the hub fetched an external entity: %zu request(s) reached the "
          "probe, the first %s",
          lxt_target_count(probe),
          lxt_target_count(probe) ? lxt_target_request(probe, 0)->target
                                  : "");
    free(t_bd);
    free(t_gd);
    free(t_mm);
    free(t_big);
    free(t_uj);
    json_decref(uj);
    free(practitioner);
    json_decref(bd);
    json_decref(gd);
    json_decref(mm);
    json_decref(big);

    /* The canonical person requires identifiers; a Patient without any is
     * identified by its id in the sending system (urn:lingua:<system>:
     * <type>|<id>), which is what reads and deliveries then show. */
    step("a Patient without identifiers: identified by its id in the ehr");
    json_t *noident = simple_patient(NULL, "x", "1974-12-25");
    json_object_del(noident, "identifier");
    size_t n_ni;
    char *t_ni = text_of(noident, &n_ni);
    reply r;
    call("POST", "/Patient", fj, NULL, t_ni, n_ni, &r);
    char id[128];
    long vid = 0;
    CHECK(r.status == 201 &&
              parse_location(r.location, "Patient", id, sizeof(id), &vid),
          "status %ld: %s", r.status, r.body);
    json_t *i0 = json_array_get(json_object_get(r.res, "identifier"), 0);
    CHECK(r.status != 201 ||
              (strcmp(str_of(i0, "system"), "urn:lingua:ehr:Patient") == 0 &&
               strcmp(str_of(i0, "value"), id) == 0),
          "identifier %s|%s for Patient/%s", str_of(i0, "system"),
          str_of(i0, "value"), id);
    reply_fini(&r);
    free(t_ni);
    json_decref(noident);
}

/* ---- Bundles ---- */

static json_t *entry(const json_t *resource)
{
    return json_pack("{s:O,s:{s:s,s:s}}", "resource", resource, "request",
                     "method", "POST", "url", "Patient");
}

static json_t *bundle_of(const char *type, json_t *e1, json_t *e2)
{
    return json_pack("{s:s,s:s,s:[o,o]}", "resourceType", "Bundle", "type",
                     type, "entry", e1, e2);
}

static void post_bundle(const json_t *b, reply *r)
{
    size_t len;
    char *t = text_of(b, &len);
    call("POST", "", "application/fhir+json", NULL, t, len, r);
    free(t);
}

static const json_t *entry_response(const reply *r, size_t i)
{
    return json_object_get(json_array_get(json_object_get(r->res, "entry"),
                                          i),
                           "response");
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* Check a response.location of a created entry and GET it. */
static void check_created_entry(const json_t *resp, const json_t *want)
{
    const char *loc = str(resp, "location");
    /* Bundle.entry.response.location is relative to the server base, as
     * in the corpus Bundle-bundle-response.json: "Patient/12423/_history/1". */
    CHECK(strncmp(loc, "Patient/", 8) == 0,
          "response.location \"%s\" is not relative to the base", loc);
    char id[128];
    long vid = 0;
    char full[160];
    snprintf(full, sizeof(full), "/%s", loc);
    CHECK(parse_location(full, "Patient", id, sizeof(id), &vid) && vid == 1,
          "response.location %s", loc);
    CHECK(strcmp(str(resp, "etag"), "W/\"1\"") == 0, "response.etag %s",
          str(resp, "etag"));
    char path[200];
    snprintf(path, sizeof(path), "/Patient/%s", id);
    reply g;
    call("GET", path, NULL, NULL, NULL, 0, &g);
    CHECK(g.status == 200, "GET %s after the Bundle: %ld", path, g.status);
    check_patient(want, g.res, "GET an entry created by a Bundle");
    reply_fini(&g);
}

static void bundles(void)
{
    step("transaction Bundle, 2 valid Patients");
    json_t *a = simple_patient(NULL, "tx-1", "1980-01-01");
    json_t *b = simple_patient(NULL, "tx-2", "1980-01-02");
    json_t *tx = bundle_of("transaction", entry(a), entry(b));
    counts before = store_counts();
    reply r;
    post_bundle(tx, &r);
    CHECK(r.status == 200, "status %ld: %s", r.status, r.body);
    CHECK(strcmp(rtype(r.res), "Bundle") == 0 &&
              strcmp(str(r.res, "type"), "transaction-response") == 0,
          "%s %s", rtype(r.res), str(r.res, "type"));
    CHECK(json_array_size(json_object_get(r.res, "entry")) == 2, "entries");
    for (size_t i = 0; i < 2; i++) {
        CHECK(strncmp(str(entry_response(&r, i), "status"), "201", 3) == 0,
              "entry %zu status %s", i, str(entry_response(&r, i), "status"));
        check_created_entry(entry_response(&r, i), i ? b : a);
    }
    counts after = store_counts();
    CHECK(after.records == before.records + 2, "records %lld -> %lld",
          (long long)before.records, (long long)after.records);
    reply_fini(&r);
    json_decref(tx);

    step("transaction Bundle, 1 valid + 1 invalid: nothing stored");
    json_t *c = simple_patient(NULL, "tx-3", "1980-01-03");
    json_t *d = simple_patient(NULL, "tx-4", "1980-02-30");
    tx = bundle_of("transaction", entry(c), entry(d));
    before = store_counts();
    post_bundle(tx, &r);
    CHECK(r.status >= 400 && r.status < 500, "status %ld: %s", r.status,
          r.body);
    CHECK(is_outcome(r.res), "not an OperationOutcome: %s", r.body);
    CHECK(expr0(r.res) &&
              strcmp(expr0(r.res), "Bundle.entry[1].resource.birthDate") == 0,
          "expression %s", expr0(r.res) ? expr0(r.res) : "(none)");
    check_unchanged(before, "a failed transaction");
    reply_fini(&r);
    json_decref(tx);

    step("batch Bundle, 1 valid + 1 invalid: only the valid one stored");
    json_t *e = simple_patient(NULL, "batch-1", "1980-01-05");
    json_t *f = simple_patient(NULL, "batch-2", "1980-02-31");
    json_t *batch = bundle_of("batch", entry(e), entry(f));
    before = store_counts();
    post_bundle(batch, &r);
    CHECK(r.status == 200, "status %ld: %s", r.status, r.body);
    CHECK(strcmp(str(r.res, "type"), "batch-response") == 0, "type %s",
          str(r.res, "type"));
    CHECK(strncmp(str(entry_response(&r, 0), "status"), "201", 3) == 0,
          "entry 0 status %s", str(entry_response(&r, 0), "status"));
    check_created_entry(entry_response(&r, 0), e);
    const char *s1 = str(entry_response(&r, 1), "status");
    CHECK(s1[0] == '4', "entry 1 status %s", s1);
    json_t *oo = json_object_get(entry_response(&r, 1), "outcome");
    CHECK(is_outcome(oo), "entry 1 has no OperationOutcome");
    CHECK(expr0(oo) && strstr(expr0(oo), "birthDate"),
          "entry 1's outcome: expression %s", expr0(oo) ? expr0(oo) : "none");
    counts after2 = store_counts();
    CHECK(after2.records == before.records + 1 &&
              after2.last_seq == before.last_seq + 1,
          "records %lld -> %lld, last_seq %lld -> %lld",
          (long long)before.records, (long long)after2.records,
          (long long)before.last_seq, (long long)after2.last_seq);
    reply_fini(&r);
    json_decref(batch);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(d);
    json_decref(e);
    json_decref(f);
}

/* ---- the other mapped types: their corpus examples round-trip ---- */

/* A Coverage whose subscriber is not known yet, then the resources the
 * corpus Coverage examples refer to (Patient/4, Patient/5,
 * Organization/2), created with those ids so that the references
 * resolve. */
static void coverage_references(bool organization)
{
    /* FHIR R4 http.html#trules: references between the entries of a
     * transaction resolve inside the Bundle, by fullUrl or Type/id. */
    step("transaction Bundle: a Patient and a Coverage that refers to it "
         "by its urn:uuid fullUrl");
    const char *uuid = "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a";
    json_t *pat = simple_patient(NULL, "txref-1", "1975-05-05");
    json_t *cov = json_pack(
        "{s:s,s:[{s:s,s:s}],s:s,s:{s:s},s:{s:s},s:[{s:s}]}", "resourceType",
        "Coverage", "identifier", "system", "urn:lingua:test:cov", "value",
        "txref-cov-1", "status", "active", "subscriber", "reference", uuid,
        "beneficiary", "reference", uuid, "payor", "reference", uuid);
    json_t *tx = json_pack(
        "{s:s,s:s,s:[{s:s,s:o,s:{s:s,s:s}},{s:o,s:{s:s,s:s}}]}",
        "resourceType", "Bundle", "type", "transaction", "entry", "fullUrl",
        uuid, "resource", pat, "request", "method", "POST", "url", "Patient",
        "resource", cov, "request", "method", "POST", "url", "Coverage");
    counts before0 = store_counts();
    reply r0;
    post_bundle(tx, &r0);
    CHECK(r0.status == 200, "intra-Bundle references: %ld %s", r0.status,
          r0.body);
    counts after0 = store_counts();
    CHECK(after0.records == before0.records + 2,
          "records %lld -> %lld after the Patient + Coverage transaction",
          (long long)before0.records, (long long)after0.records);
    if (r0.status == 200) {
        const char *loc = str(entry_response(&r0, 1), "location");
        char path[200];
        snprintf(path, sizeof(path), "/%.*s", (int)strcspn(loc, "_") - 1, loc);
        reply g;
        call("GET", path, NULL, NULL, NULL, 0, &g);
        /* Read back, the Coverage names its subscriber by the Patient's
         * identifier: the canonical reference the Bundle resolved to. */
        const json_t *sub = json_object_get(g.res, "subscriber");
        const json_t *ident = json_object_get(sub, "identifier");
        CHECK(g.status == 200 && strcmp(str(ident, "value"), "txref-1") == 0 &&
                  strcmp(str(ident, "system"), "urn:lingua:test") == 0,
              "GET %s: %ld %s", path, g.status, g.body);
        reply_fini(&g);
    }
    reply_fini(&r0);
    json_decref(tx);

    step("Coverage with an unknown subscriber reference");
    size_t len;
    char *text = lxt_corpus_file("fhir/r4/json/Coverage-9876B1.json", &len);
    counts before = store_counts();
    reply r;
    call("POST", "/Coverage", "application/fhir+json", NULL, text, len, &r);
    free(text);
    CHECK(r.status >= 400 && r.status < 500 && is_outcome(r.res),
          "status %ld: %s", r.status, r.body);
    CHECK(expr0(r.res) && strncmp(expr0(r.res), "Coverage.", 9) == 0,
          "expression %s", expr0(r.res) ? expr0(r.res) : "(none)");
    /* 404 says the URL names nothing (http.html); the body's content is
     * what fails: 422. */
    CHECK(r.status == 422, "an unresolvable reference: %ld, expected 422",
          r.status);
    check_unchanged(before, "a Coverage with an unknown reference");
    reply_fini(&r);

    step("the resources the Coverage examples refer to");
    static const char *const pats[] = {"4", "5"};
    for (size_t i = 0; i < 2; i++) {
        json_t *p = simple_patient(pats[i], pats[i], "1970-01-01");
        char path[64];
        snprintf(path, sizeof(path), "/Patient/%s", pats[i]);
        put_json(path, p, &r);
        CHECK(r.status == 201, "PUT %s: %ld %s", path, r.status, r.body);
        reply_fini(&r);
        json_decref(p);
    }
    if (!organization)
        return;
    json_t *o = json_pack("{s:s,s:s,s:[{s:s,s:s}],s:s}", "resourceType",
                          "Organization", "id", "2", "identifier", "system",
                          "urn:lingua:test:org", "value", "2", "name",
                          "Prereq Org");
    put_json("/Organization/2", o, &r);
    CHECK(r.status == 201, "PUT /Organization/2: %ld %s", r.status, r.body);
    reply_fini(&r);
    json_decref(o);
}

static void other_types(const json_t *types)
{
    bool coverage = false, organization = false;
    size_t k;
    json_t *tv;
    json_array_foreach(types, k, tv)
    {
        coverage |= strcmp(json_string_value(tv), "Coverage") == 0;
        organization |= strcmp(json_string_value(tv), "Organization") == 0;
    }
    if (coverage)
        coverage_references(organization);

    char dir[LXT_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/fhir/r4/json",
             lxt_env_path("LX_CORPUS_DIR"));
    size_t i;
    json_t *t;
    json_array_foreach(types, i, t)
    {
        const char *type = json_string_value(t);
        if (strcmp(type, "Patient") == 0)
            continue;
        char what[128];
        snprintf(what, sizeof(what), "%s: corpus examples", type);
        step(what);
        DIR *d = opendir(dir);
        LXT_CHECK(d != NULL, "cannot open %s", dir);
        int tried = 0, stored = 0;
        struct dirent *de;
        for (int guard = 0; guard < 1000 && (de = readdir(d)); guard++) {
            size_t tl = strlen(type);
            if (strncmp(de->d_name, type, tl) != 0 || de->d_name[tl] != '-')
                continue;
            char rel[LXT_PATH_MAX];
            snprintf(rel, sizeof(rel), "fhir/r4/json/%s", de->d_name);
            size_t len;
            char *body = lxt_corpus_file(rel, &len);
            char path[128];
            snprintf(path, sizeof(path), "/%s", type);
            reply r;
            call("POST", path, "application/fhir+json", NULL, body, len, &r);
            free(body);
            tried++;
            char id[128];
            long vid = 0;
            if ((r.status == 201 || r.status == 200) &&
                parse_location(r.location, type, id, sizeof(id), &vid)) {
                stored++;
                reply g;
                snprintf(path, sizeof(path), "/%s/%s", type, id);
                call("GET", path, NULL, "application/fhir+xml", NULL, 0, &g);
                CHECK(g.status == 200 && strcmp(rtype(g.res), type) == 0,
                      "GET %s as XML: %ld %s", path, g.status, rtype(g.res));
                reply_fini(&g);
                printf("   %s: %ld\n", de->d_name, r.status);
            } else {
                const char *diag = json_string_value(json_object_get(
                    json_array_get(json_object_get(r.res, "issue"), 0),
                    "diagnostics"));
                printf("   %s: %ld %s (expression %s)\n", de->d_name,
                       r.status, diag ? diag : "",
                       expr0(r.res) ? expr0(r.res) : "none");
                CHECK(is_outcome(r.res) && r.status >= 400 && r.status < 500,
                      "%s refused without a 4xx OperationOutcome: %ld",
                      de->d_name, r.status);
            }
            reply_fini(&r);
        }
        closedir(d);
        CHECK(tried == 0 || stored > 0,
              "%s: none of %d corpus examples is accepted", type, tried);
    }
}

static void probe_answer(void *ctx, const lxt_request *req, lxt_reply *rep)
{
    (void)ctx;
    (void)req;
    rep->status = 404;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm((unsigned)(150 * lxt_scale()));
    probe = lxt_target_start(probe_answer, NULL);
    char extra[1024];
    snprintf(extra, sizeof(extra),
             "\"limits\": {\"max_payload\": %d}, \"systems\": {\"ehr\": {}}, "
             "\"adapters\": [{\"name\": \"ehr-in\", \"system\": \"ehr\", "
             "\"use\": \"fhir\", \"direction\": \"in\", \"transport\": "
             "{\"http\": \"/fhir/r4\"}}]",
             MAX_PAYLOAD);
    lxt_hub_init_http(&hub, extra);
    snprintf(base, sizeof(base), "%s/fhir/r4", hub.http_url);
    lxt_hub_start(&hub, T(15000), true);
    printf("hub up: %s (data %s)\n", base, hub.data_dir);

    char root[LXT_PATH_MAX];
    snprintf(root, sizeof(root), "%s/..", lxt_env_path("LX_SCHEMAS_DIR"));
    lx_error err;
    lx_error_clear(&err);
    if (lx_fhir_open(root, &fhir, &err) != 0)
        LXT_FAIL("lx_fhir_open %s: %s", root, err.msg);
    cl = lxt_client_new(hub.router);
    size_t len;
    char *text = lxt_corpus_file("fhir/r4/json/Patient-example.json", &len);
    patient_json = json_loadb(text, len, 0, NULL);
    free(text);
    LXT_CHECK(patient_json != NULL, "Patient-example.json");

    json_t *types = NULL;
    capability(&types);
    char id[128];
    create_json(id, sizeof(id));
    read_back(id);
    create_xml();
    put_and_delete();
    refusals();
    bundles();
    other_types(types);
    json_decref(types);

    step("SIGTERM: the hub exits 0, its log has no sanitizer report");
    int st = lxt_hub_stop(&hub, SIGTERM, T(10000));
    CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "exit status 0x%x", (unsigned)st);
    lxt_hub_check_log(&hub);
    lxt_client_destroy(&cl);
    lxt_target_stop(&probe);
    lx_fhir_close(&fhir);
    json_decref(patient_json);
    lxt_hub_destroy(&hub);
    int soft = lxt_soft_failures();
    printf("%d checks, %d failed\n", lxt_checks, soft);
    return soft ? 1 : 0;
}
