/* tests/unit/test_fhir_maps.c: the FHIR R4 mappings (schemas/maps/fhir/)
 * through the FHIR adapter (adapters/fhir/fhir.h), on the official HL7
 * examples of the corpus and on small variants of them.
 *
 * What "no loss" means here, precisely. For every corpus sample of a mapped
 * type (Patient-*, Practitioner-*, Organization-*, Coverage-* under
 * $LX_CORPUS_DIR/fhir/r4/json):
 *
 * 1. the resource maps in, and the record validates against the canonical
 *    schema of its entity (the one exception is a resource with no
 *    identifier at all: the canonical model requires one, and the adapter
 *    does not invent one; see docs/fhir-adapter.md);
 * 2. the record maps out, and the resource maps in again to the SAME
 *    record (json_equal);
 * 3. the out resource equals the original on every mapped FHIR field: the
 *    *_projection functions below extract exactly the fields that
 *    docs/fhir-adapter.md lists as mapped both ways, from both resources,
 *    and the two projections must be equal. Fields mapped one way only
 *    (date-times in a Period kept as a date, Coverage.type, the I/P/U
 *    marital codes) are in (2) but not in (3).
 *
 * References resolve through an in-memory cross-reference (xrefs below),
 * standing for the store: the samples' references are in it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "adapters/fhir/fhir.h"
#include "canonical/registry.h"
#include "core/json.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lx_fhir *fhir;
static lx_registry *registry;

#define V2_0203 "http://terminology.hl7.org/CodeSystem/v2-0203"
#define V3_MARITAL "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"
#define V3_NULL "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
#define ORG_TYPE "http://terminology.hl7.org/CodeSystem/organization-type"
#define SUB_REL "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
#define COV_CLASS "http://terminology.hl7.org/CodeSystem/coverage-class"

/* ---- the test cross-reference ------------------------------------------ */

typedef struct xref {
    const char *type, *id;    /* native */
    const char *entity, *cid; /* canonical */
} xref;

static const xref xrefs[] = {
    {"Organization", "1", "organization", "org_01JD3V8Z5Q6W7E8R9T0Y1M2N3A"},
    {"Organization", "2", "organization", "org_01JD3V8Z5Q6W7E8R9T0Y1M2N3B"},
    {"Organization", "f001", "organization", "org_01JD3V8Z5Q6W7E8R9T0Y1M2N3C"},
    {"Patient", "pat1", "person", "per_01JD3V8Z5Q6W7E8R9T0Y1M2N3D"},
    {"Patient", "4", "person", "per_01JD3V8Z5Q6W7E8R9T0Y1M2N3E"},
    {"Patient", "5", "person", "per_01JD3V8Z5Q6W7E8R9T0Y1M2N3F"},
};
#define NXREFS (sizeof(xrefs) / sizeof(xrefs[0]))

static int xref_to_canonical(void *ctx, const char *type, const char *id,
                             char *entity, size_t entity_size, char *cid,
                             size_t cid_size, lx_error *err)
{
    (void)ctx;
    (void)err;
    for (size_t i = 0; i < NXREFS; i++)
        if (strcmp(xrefs[i].type, type) == 0 && strcmp(xrefs[i].id, id) == 0) {
            snprintf(entity, entity_size, "%s", xrefs[i].entity);
            snprintf(cid, cid_size, "%s", xrefs[i].cid);
            return 0;
        }
    return LX_ENOTFOUND;
}

static int xref_to_native(void *ctx, const char *entity, const char *cid,
                          const char *want_type, char *type, size_t type_size,
                          char *id, size_t id_size, lx_error *err)
{
    (void)ctx;
    (void)err;
    for (size_t i = 0; i < NXREFS; i++)
        if (strcmp(xrefs[i].entity, entity) == 0 &&
            strcmp(xrefs[i].cid, cid) == 0 &&
            (!want_type || strcmp(want_type, xrefs[i].type) == 0)) {
            snprintf(type, type_size, "%s", xrefs[i].type);
            snprintf(id, id_size, "%s", xrefs[i].id);
            return 0;
        }
    return LX_ENOTFOUND;
}

static const lx_map_resolver resolver = {xref_to_canonical, xref_to_native,
                                         NULL, NULL};

/* Whether a FHIR literal reference ("Organization/1") is in xrefs. */
static bool resolvable(const char *ref)
{
    for (size_t i = 0; ref && i < NXREFS; i++) {
        char text[128];
        snprintf(text, sizeof(text), "%s/%s", xrefs[i].type, xrefs[i].id);
        if (strcmp(text, ref) == 0)
            return true;
    }
    return false;
}

/* ---- helpers ------------------------------------------------------------ */

static const char *corpus_dir(void)
{
    const char *d = getenv("LX_CORPUS_DIR");
    return d ? d : "/work/shared/corpus";
}

static const char *source_dir(void)
{
    const char *d = getenv("LX_SOURCE_DIR");
    return d ? d : ".";
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void report(const char *what, const lx_error *err)
{
    char buf[1024];
    lx_error_format(err, buf, sizeof(buf));
    fprintf(stderr, "%s: %s (%s)\n", what, buf, lx_error_name(err->code));
}

/* A corpus resource through lx_fhir_parse. sub: "json" or "xml". */
static json_t *corpus_resource(const char *sub, const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/fhir/r4/%s/%s", corpus_dir(), sub, name);
    size_t len;
    char *text = read_file(path, &len);
    json_t *r = NULL;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_fhir_parse(fhir, text, len,
                           strcmp(sub, "xml") == 0 ? LX_FHIR_XML : LX_FHIR_JSON,
                           LX_JSON_MAX_DEFAULT, &r, &err);
    if (rc)
        report(path, &err);
    assert_int_equal(rc, 0);
    free(text);
    return r;
}

/* Inline JSON with ' for " (readable test inputs). */
static json_t *J(const char *text)
{
    char *s = strdup(text);
    assert_non_null(s);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t je;
    json_t *v = json_loads(s, 0, &je);
    if (!v)
        fprintf(stderr, "bad test JSON: %s: %s\n", je.text, s);
    free(s);
    assert_non_null(v);
    return v;
}

static void expect_equal(const json_t *got, const json_t *want,
                         const char *what)
{
    if (json_equal(got, want))
        return;
    char *g = json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY);
    char *w = json_dumps(want, JSON_SORT_KEYS | JSON_ENCODE_ANY);
    fprintf(stderr, "%s:\n  got  %s\n  want %s\n", what, g, w);
    free(g);
    free(w);
    fail_msg("%s: not equal", what);
}

static json_t *to_canonical_ok(const json_t *resource, const char **entity)
{
    json_t *rec = NULL;
    lx_error err;
    lx_error_clear(&err);
    const char *e = NULL;
    int rc = lx_fhir_to_canonical(fhir, resource, &resolver, &e, &rec, NULL,
                                  &err);
    if (rc)
        report("to canonical", &err);
    assert_int_equal(rc, 0);
    if (entity)
        *entity = e;
    return rec;
}

static json_t *from_canonical_ok(const char *type, const json_t *record)
{
    json_t *r = NULL;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_fhir_from_canonical(fhir, type, record, &resolver, &r, &err);
    if (rc)
        report("from canonical", &err);
    assert_int_equal(rc, 0);
    return r;
}

static int validate(const char *entity, const json_t *record, lx_error *err)
{
    const lx_schema *s = NULL;
    assert_int_equal(lx_registry_get(registry, entity, NULL, &s, err), 0);
    return lx_schema_validate(s, record, err);
}

static void validate_ok(const char *entity, const json_t *record)
{
    lx_error err;
    lx_error_clear(&err);
    int rc = validate(entity, record, &err);
    if (rc)
        report(entity, &err);
    assert_int_equal(rc, 0);
}

/* ---- projections: the mapped FHIR fields -------------------------------- */

/* The value at a path of object members and array indexes separated by
 * dots ("type.coding.0.code"), or NULL. */
static const json_t *at(const json_t *v, const char *path)
{
    const char *p = path;
    while (v && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char key[64];
        assert_true(n < sizeof(key));
        memcpy(key, p, n);
        key[n] = '\0';
        if (json_is_array(v)) {
            char *end;
            long i = strtol(key, &end, 10);
            v = *end || i < 0 ? NULL : json_array_get(v, (size_t)i);
        } else {
            v = json_object_get(v, key);
        }
        p = dot ? dot + 1 : p + n;
    }
    return v;
}

static const char *str_at(const json_t *v, const char *path)
{
    return json_string_value(at(v, path));
}

static void put(json_t *o, const char *key, const json_t *v)
{
    if (v)
        json_object_set_new(o, key, json_deep_copy(v));
}

static void put_at(json_t *o, const char *key, const json_t *v,
                   const char *path)
{
    put(o, key, at(v, path));
}

static void put_str(json_t *o, const char *key, const char *s)
{
    if (s)
        json_object_set_new(o, key, json_string(s));
}

static bool in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; s && list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

/* The code of the first coding of CodeableConcept cc in `system` (NULL: a
 * coding without a system). */
static const char *coding_code(const json_t *cc, const char *system)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(cc, "coding"), i, c)
    {
        const char *s = str_at(c, "system");
        if (system ? s && strcmp(s, system) == 0 : !s)
            return str_at(c, "code");
    }
    return NULL;
}

/* A full date, YYYY-MM-DD: what a canonical period holds exactly. */
static bool is_full_date(const char *s)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    return true;
}

static void put_period(json_t *o, const json_t *period)
{
    const char *s = str_at(period, "start"), *e = str_at(period, "end");
    if (is_full_date(s))
        put_str(o, "start", s);
    if (is_full_date(e))
        put_str(o, "end", e);
}

static json_t *identifiers_projection(const json_t *r,
                                      const char *const *types)
{
    json_t *a = json_array();
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(r, "identifier"), i, e)
    {
        if (!at(e, "system") || !at(e, "value"))
            continue;
        json_t *o = json_object();
        put_at(o, "system", e, "system");
        put_at(o, "value", e, "value");
        put_at(o, "use", e, "use");
        const char *t = coding_code(at(e, "type"), V2_0203);
        if (in_list(t, types))
            put_str(o, "type", t);
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *telecom_projection(const json_t *r)
{
    json_t *a = json_array();
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(r, "telecom"), i, e)
    {
        if (!at(e, "system") || !at(e, "value"))
            continue;
        json_t *o = json_object();
        put_at(o, "system", e, "system");
        put_at(o, "value", e, "value");
        put_at(o, "use", e, "use");
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *address_projection(const json_t *r)
{
    static const char *const fields[] = {
        "use",   "type",       "line",    "city", "district",
        "state", "postalCode", "country", NULL};
    json_t *a = json_array();
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(r, "address"), i, e)
    {
        json_t *o = json_object();
        for (size_t k = 0; fields[k]; k++)
            put_at(o, fields[k], e, fields[k]);
        put_period(o, at(e, "period"));
        json_array_append_new(a, o);
    }
    return a;
}

/* A Reference as the mappings carry it: a literal reference the
 * cross-reference knows, else (no literal reference) an identifier with a
 * system and a value. Unresolved literal references are not carried. */
static void put_reference(json_t *o, const char *key, const json_t *ref)
{
    const char *lit = str_at(ref, "reference");
    if (lit) {
        if (resolvable(lit))
            put_str(o, key, lit);
        return;
    }
    if (at(ref, "identifier.system") && at(ref, "identifier.value"))
        put(o, key, at(ref, "identifier"));
}

static const char *const person_id_types[] = {"MR", "SS",  "TAX", "EI",
                                              "DL", "PPN", "NPI", NULL};

/* Patient and Practitioner: the person fields. */
static json_t *person_projection(const json_t *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "identifier",
                        identifiers_projection(r, person_id_types));
    const json_t *names = json_object_get(r, "name"), *name = NULL, *n;
    size_t i;
    json_array_foreach(names, i, n)
    {
        const char *use = str_at(n, "use");
        if (use && strcmp(use, "official") == 0) {
            name = n;
            break;
        }
    }
    if (!name)
        name = json_array_get(names, 0);
    static const char *const name_fields[] = {"family", "given", "prefix",
                                              "suffix", "text",  NULL};
    for (size_t k = 0; name && name_fields[k]; k++)
        put_at(o, name_fields[k], name, name_fields[k]);
    json_object_set_new(o, "telecom", telecom_projection(r));
    put_at(o, "gender", r, "gender");
    put_at(o, "birthDate", r, "birthDate");
    json_object_set_new(o, "address", address_projection(r));
    return o;
}

static json_t *patient_projection(const json_t *r)
{
    json_t *o = person_projection(r);
    put_at(o, "deceasedBoolean", r, "deceasedBoolean");
    const char *dt = str_at(r, "deceasedDateTime");
    if (dt && strchr(dt, 'T'))
        put_str(o, "deceasedDateTime", dt);
    /* I, P and U read as separated, married and single, written back as
     * L, M and S: one-way, not projected. */
    static const char *const marital[] = {"A", "D", "L", "M",
                                          "S", "T", "W", NULL};
    const json_t *ms = at(r, "maritalStatus");
    const char *code = coding_code(ms, V3_MARITAL);
    if (!code)
        code = coding_code(ms, NULL);
    if (in_list(code, marital))
        put_str(o, "maritalStatus", code);
    const char *unk = coding_code(ms, V3_NULL);
    if (unk && strcmp(unk, "UNK") == 0)
        put_str(o, "maritalStatus", unk);
    const json_t *comms = json_object_get(r, "communication"), *c;
    const json_t *pref = NULL;
    size_t i;
    json_array_foreach(comms, i, c)
    {
        if (json_is_true(at(c, "preferred"))) {
            pref = c;
            break;
        }
    }
    const char *lang =
        pref ? coding_code(at(pref, "language"), "urn:ietf:bcp:47") : NULL;
    if (!lang)
        lang = str_at(pref ? pref : json_array_get(comms, 0),
                      "language.coding.0.code");
    put_str(o, "language", lang);
    return o;
}

static json_t *practitioner_projection(const json_t *r)
{
    json_t *o = person_projection(r);
    json_t *a = json_array();
    size_t i;
    const json_t *q;
    json_array_foreach(json_object_get(r, "qualification"), i, q)
    {
        if (!at(q, "code.coding.0.code"))
            continue;
        json_t *e = json_object();
        put_at(e, "code", q, "code.coding.0.code");
        put_at(e, "system", q, "code.coding.0.system");
        const json_t *d = at(q, "code.text");
        put(e, "display", d ? d : at(q, "code.coding.0.display"));
        put_period(e, at(q, "period"));
        put_reference(e, "issuer", at(q, "issuer"));
        json_array_append_new(a, e);
    }
    json_object_set_new(o, "qualification", a);
    return o;
}

static json_t *organization_projection(const json_t *r)
{
    static const char *const id_types[] = {"TAX", "NPI", "PRN", "NIIP", NULL};
    static const char *const org_types[] = {
        "prov", "dept", "team", "govt", "ins", "pay",   "edu",
        "reli", "crs",  "cg",   "bus",  "other", NULL};
    json_t *o = json_object();
    json_object_set_new(o, "identifier", identifiers_projection(r, id_types));
    put_at(o, "name", r, "name");
    put_at(o, "alias", r, "alias");
    const char *t = coding_code(at(r, "type.0"), ORG_TYPE);
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(r, "type"), i, e)
    {
        if (!t)
            t = coding_code(e, ORG_TYPE);
    }
    if (in_list(t, org_types))
        put_str(o, "type", t);
    put_at(o, "active", r, "active");
    json_object_set_new(o, "telecom", telecom_projection(r));
    json_object_set_new(o, "address", address_projection(r));
    put_reference(o, "partOf", at(r, "partOf"));
    return o;
}

/* The first Coverage.class of a coverage-class type code. */
static const json_t *coverage_class(const json_t *r, const char *code)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(r, "class"), i, c)
    {
        const char *k = str_at(c, "type.coding.0.code");
        if (k && strcmp(k, code) == 0)
            return c;
    }
    return NULL;
}

static json_t *coverage_projection(const json_t *r)
{
    static const char *const id_types[] = {"MB", "SN", NULL};
    static const char *const rel[] = {"self", "spouse", "child", "common",
                                      "other", NULL};
    json_t *o = json_object();
    json_object_set_new(o, "identifier", identifiers_projection(r, id_types));
    put_at(o, "status", r, "status");
    /* Without a subscriber, the beneficiary subscribes (coverage.json). */
    const json_t *sub = at(r, "subscriber");
    if (!at(sub, "reference") && !at(sub, "identifier.value"))
        sub = at(r, "beneficiary");
    put_reference(o, "subscriber", sub);
    put_reference(o, "beneficiary", at(r, "beneficiary"));
    const json_t *rc = at(r, "relationship");
    const char *code = coding_code(rc, SUB_REL);
    if (!code)
        code = str_at(rc, "coding.0.code");
    if (in_list(code, rel))
        put_str(o, "relationship", code);
    const char *payor = str_at(r, "payor.0.reference");
    if (payor && strncmp(payor, "Organization/", 13) == 0)
        put_reference(o, "payor", at(r, "payor.0"));
    json_t *p = json_object();
    put_period(p, at(r, "period"));
    json_object_set_new(o, "period", p);
    static const char *const classes[] = {"plan", "group"};
    for (size_t k = 0; k < 2; k++) {
        const json_t *c = coverage_class(r, classes[k]);
        if (!c)
            continue;
        json_t *x = json_object();
        put_at(x, "value", c, "value");
        put_at(x, "name", c, "name");
        json_object_set(o, classes[k], x);
        json_decref(x);
    }
    return o;
}

static json_t *projection(const char *type, const json_t *r)
{
    if (strcmp(type, "Patient") == 0)
        return patient_projection(r);
    if (strcmp(type, "Practitioner") == 0)
        return practitioner_projection(r);
    if (strcmp(type, "Organization") == 0)
        return organization_projection(r);
    if (strcmp(type, "Coverage") == 0)
        return coverage_projection(r);
    fail_msg("no projection for %s", type);
    return NULL;
}

/* Whether a resource has an identifier the mappings carry. */
static bool has_identifier(const json_t *r)
{
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(r, "identifier"), i, e)
    {
        if (at(e, "system") && at(e, "value"))
            return true;
    }
    return false;
}

/* The out resource is well-formed FHIR as far as the XML codec can tell:
 * it serializes (every value of its element's JSON type: a boolean is not
 * "true") and parses back to the same JSON (every repeating element an
 * array, every other one not). */
static void expect_valid_fhir(const json_t *resource, const char *what)
{
    lx_buf b;
    lx_buf_init(&b, LX_JSON_MAX_DEFAULT);
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_fhir_serialize(fhir, resource, LX_FHIR_XML, &b, &err);
    if (rc)
        report(what, &err);
    assert_int_equal(rc, 0);
    json_t *back = NULL;
    rc = lx_fhir_parse(fhir, b.data, b.len, LX_FHIR_XML, LX_JSON_MAX_DEFAULT,
                       &back, &err);
    if (rc)
        report(what, &err);
    assert_int_equal(rc, 0);
    expect_equal(back, resource, what);
    json_decref(back);
    lx_buf_fini(&b);
}

/* In, validate, out, in again; compare records and projections. Returns
 * whether the record validated (false only for a resource without an
 * identifier, which must then fail on the required identifiers). */
static bool round_trip(const char *name, const json_t *resource)
{
    const char *type = json_string_value(at(resource, "resourceType"));
    assert_non_null(type);
    const char *entity = NULL;
    json_t *rec = to_canonical_ok(resource, &entity);
    assert_string_equal(entity, lx_fhir_entity_of(fhir, type));
    lx_error err;
    lx_error_clear(&err);
    int rc = validate(entity, rec, &err);
    if (has_identifier(resource)) {
        if (rc)
            report(name, &err);
        assert_int_equal(rc, 0);
    } else {
        assert_int_equal(rc, LX_ESCHEMA);
        assert_string_equal(err.where, "");
        assert_non_null(strstr(err.msg, "'identifiers'"));
    }
    json_t *out = from_canonical_ok(type, rec);
    assert_string_equal(json_string_value(at(out, "resourceType")), type);
    char what[256];
    snprintf(what, sizeof(what), "%s: out(in(r)) through XML", name);
    expect_valid_fhir(out, what);
    json_t *again = to_canonical_ok(out, NULL);
    snprintf(what, sizeof(what), "%s: in(out(in(r))) == in(r)", name);
    expect_equal(again, rec, what);
    json_t *p0 = projection(type, resource), *p1 = projection(type, out);
    snprintf(what, sizeof(what), "%s: mapped fields of out(in(r)) and r",
             name);
    expect_equal(p1, p0, what);
    json_decref(p0);
    json_decref(p1);
    json_decref(again);
    json_decref(out);
    json_decref(rec);
    return rc == 0;
}

/* ---- setup -------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    char path[1024];
    lx_error err;
    lx_error_clear(&err);
    snprintf(path, sizeof(path), "%s/schemas", source_dir());
    if (lx_fhir_open(path, &fhir, &err) != 0) {
        report("lx_fhir_open", &err);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/schemas/canonical", source_dir());
    if (lx_registry_load(path, &registry, &err) != 0) {
        report("lx_registry_load", &err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lx_fhir_close(&fhir);
    lx_registry_destroy(&registry);
    return 0;
}

/* ---- the adapter and its mappings ---------------------------------------- */

static void test_fhir_maps_four_resource_types_are_mapped(void **state)
{
    (void)state;
    static const char *const pairs[][2] = {
        {"Coverage", "coverage"},
        {"Organization", "organization"},
        {"Patient", "person"},
        {"Practitioner", "person"},
    };
    assert_int_equal(lx_fhir_type_count(fhir), 4);
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(lx_fhir_type_at(fhir, i), pairs[i][0]);
        assert_string_equal(lx_fhir_entity_of(fhir, pairs[i][0]), pairs[i][1]);
    }
    /* A person goes out as a Patient unless a Practitioner is asked for. */
    assert_string_equal(lx_fhir_type_for(fhir, "person", NULL), "Patient");
    assert_string_equal(lx_fhir_type_for(fhir, "person", "Practitioner"),
                        "Practitioner");
}

/* ---- every corpus sample ------------------------------------------------- */

static const char *const sample_prefixes[] = {"Patient-", "Practitioner-",
                                              "Organization-", "Coverage-"};

/* The corpus' JSON samples in name order, so that a failure is always met
 * at the same sample (free each name and the list). */
static int corpus_samples(struct dirent ***names)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/fhir/r4/json", corpus_dir());
    int n = scandir(dir, names, NULL, alphasort);
    assert_true(n > 0);
    return n;
}

/* Which of sample_prefixes a file name has: 0..3, or -1. */
static int sample_kind(const char *name)
{
    for (int k = 0; k < 4; k++)
        if (strncmp(name, sample_prefixes[k], strlen(sample_prefixes[k])) ==
            0)
            return k;
    return -1;
}

static void test_fhir_maps_every_corpus_sample_validates_and_round_trips(
    void **state)
{
    (void)state;
    const char *const *prefixes = sample_prefixes;
    size_t seen[4] = {0}, valid[4] = {0};
    struct dirent **names = NULL;
    int n = corpus_samples(&names);
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        int k = sample_kind(name);
        if (k >= 0) {
            json_t *r = corpus_resource("json", name);
            seen[k]++;
            if (round_trip(name, r))
                valid[k]++;
            else
                fprintf(stderr, "note: %s has no identifier: the canonical "
                                "schema refuses it (as documented)\n",
                        name);
            json_decref(r);
        }
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    size_t total = 0, total_valid = 0;
    for (size_t k = 0; k < 4; k++) {
        fprintf(stderr, "%-14s %zu samples, %zu valid records\n",
                prefixes[k], seen[k], valid[k]);
        total += seen[k];
        total_valid += valid[k];
    }
    /* The corpus as of SOURCES.md: 5 Patients, 3 Practitioners, 4
     * Organizations (Organization-hl7 has no identifier), 3 Coverages. */
    assert_int_equal(seen[0], 5);
    assert_int_equal(seen[1], 3);
    assert_int_equal(seen[2], 4);
    assert_int_equal(seen[3], 3);
    assert_int_equal(total, 15);
    assert_int_equal(total_valid, 14);
}

/* The record with every object's keys in reverse order (a new tree). */
static json_t *keys_reversed(const json_t *v)
{
    if (json_is_array(v)) {
        json_t *a = json_array();
        for (size_t i = 0; i < json_array_size(v); i++)
            json_array_append_new(a, keys_reversed(json_array_get(v, i)));
        return a;
    }
    if (!json_is_object(v))
        return json_deep_copy(v);
    size_t n = json_object_size(v), k = 0;
    const char **keys = calloc(n ? n : 1, sizeof(*keys));
    assert_non_null(keys);
    const char *key;
    json_t *item;
    json_object_foreach((json_t *)v, key, item)
        keys[k++] = key;
    json_t *o = json_object();
    while (k-- > 0)
        json_object_set_new(o, keys[k],
                            keys_reversed(json_object_get(v, keys[k])));
    free(keys);
    return o;
}

/* The answer's JSON text (what the REST facade sends) for `record`. */
static char *answer_text(const char *type, const json_t *record)
{
    json_t *out = NULL;
    lx_error err;
    lx_error_clear(&err);
    int rc = lx_fhir_from_canonical_with_id(fhir, type, "the-id", record,
                                            &resolver, &out, &err);
    if (rc)
        report(type, &err);
    assert_int_equal(rc, 0);
    char *text = lx_json_dump_compact(out, NULL);
    assert_non_null(text);
    json_decref(out);
    return text;
}

/* A write's answer is the reverse mapping of what the store then holds:
 * the record's canonical text (sorted keys) read back. The record the
 * facade mapped itself gives the same bytes: the answer does not depend
 * on the order of the record's keys nor on the text's round trip, so a
 * write can be answered from the record in memory once the store says
 * which version and time it committed. Held on
 * every corpus sample, and with every object's keys reversed. */
static void test_fhir_maps_answer_from_the_record_equals_the_stored_one(
    void **state)
{
    (void)state;
    struct dirent **names = NULL;
    int n = corpus_samples(&names);
    size_t compared = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (sample_kind(name) >= 0) {
            json_t *r = corpus_resource("json", name);
            const char *type = json_string_value(at(r, "resourceType"));
            json_t *rec = to_canonical_ok(r, NULL);
            size_t len = 0;
            char *stored_text = lx_json_dump_canonical(rec, &len);
            json_t *stored = lx_json_load_own(stored_text, len, NULL);
            assert_non_null(stored);
            json_t *reversed = keys_reversed(rec);
            char *from_memory = answer_text(type, rec);
            char *from_store = answer_text(type, stored);
            char *from_reversed = answer_text(type, reversed);
            if (strcmp(from_memory, from_store) != 0)
                fprintf(stderr, "%s:\n  memory %s\n  store  %s\n", name,
                        from_memory, from_store);
            assert_string_equal(from_memory, from_store);
            assert_string_equal(from_reversed, from_store);
            compared++;
            free(from_memory);
            free(from_store);
            free(from_reversed);
            free(stored_text);
            json_decref(reversed);
            json_decref(stored);
            json_decref(rec);
            json_decref(r);
        }
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    assert_int_equal(compared, 15);
}

/* What the corpus samples give, field by field, for one of each type. */
static void test_fhir_maps_patient_example_gives_the_documented_record(
    void **state)
{
    (void)state;
    json_t *r = corpus_resource("json", "Patient-example.json");
    json_t *rec = to_canonical_ok(r, NULL);
    json_t *want = J(
        "{'identifiers': [{'system': 'urn:oid:1.2.36.146.595.217.0.1', "
        "'value': '12345', 'type': 'mrn', 'use': 'usual'}],"
        "'name': {'family': 'Chalmers', 'given': ['Peter', 'James']},"
        "'contacts': [{'system': 'phone', 'value': '(03) 5555 6473', "
        "'use': 'work'}, {'system': 'phone', 'value': '(03) 3410 5613', "
        "'use': 'mobile'}, {'system': 'phone', 'value': '(03) 5555 8834', "
        "'use': 'old'}],"
        "'gender': 'male', 'birth_date': '1974-12-25', 'deceased': false,"
        "'addresses': [{'use': 'home', 'type': 'both', "
        "'lines': ['534 Erewhon St'], 'city': 'PleasantVille', "
        "'district': 'Rainbow', 'state': 'Vic', 'postal_code': '3999', "
        "'period': {'start': '1974-12-25'}}]}");
    expect_equal(rec, want, "Patient-example");
    json_decref(want);
    json_decref(rec);
    json_decref(r);

    r = corpus_resource("json", "Patient-f001.json");
    rec = to_canonical_ok(r, NULL);
    assert_string_equal(str_at(rec, "marital_status"), "married");
    assert_string_equal(str_at(rec, "language"), "nl");
    assert_string_equal(str_at(rec, "addresses.0.country"), "NLD");
    assert_string_equal(str_at(rec, "name.suffix.0"), "MSc");
    /* The identifier without a value is left out. */
    assert_int_equal(json_array_size(at(rec, "identifiers")), 1);
    json_t *out = from_canonical_ok("Patient", rec);
    json_t *want_comm =
        J("[{'language': {'coding': [{'system': 'urn:ietf:bcp:47', "
          "'code': 'nl'}]}, 'preferred': true}]");
    expect_equal(at(out, "communication"), want_comm,
                 "Patient-f001 communication");
    json_decref(want_comm);
    json_decref(out);
    json_decref(rec);
    json_decref(r);
}

static void test_fhir_maps_practitioner_qualification_is_a_role(void **state)
{
    (void)state;
    json_t *r = corpus_resource("json", "Practitioner-example.json");
    json_t *rec = to_canonical_ok(r, NULL);
    /* period.start "1995" is a year, not a canonical date: left out; the
     * issuer has a display only: nothing to refer to. */
    json_t *want = J("[{'code': 'BS', "
                     "'system': 'http://terminology.hl7.org/CodeSystem/"
                     "v2-0360/2.7', 'display': 'Bachelor of Science'}]");
    expect_equal(at(rec, "roles"), want, "Practitioner-example roles");
    json_decref(want);
    validate_ok("person", rec);
    json_decref(rec);

    /* An issuer the cross-reference knows becomes an organization
     * reference, and goes back out as the same literal reference. */
    json_t *q = (json_t *)at(r, "qualification.0");
    json_object_set_new(q, "issuer", J("{'reference': 'Organization/1'}"));
    json_object_set_new(q, "period", J("{'start': '1995-09-01', "
                                       "'end': '1999-06-30T12:00:00+02:00'}"));
    rec = to_canonical_ok(r, NULL);
    want = J("{'code': 'BS', "
             "'system': 'http://terminology.hl7.org/CodeSystem/v2-0360/2.7', "
             "'display': 'Bachelor of Science', "
             "'period': {'start': '1995-09-01', 'end': '1999-06-30'}, "
             "'organization': {'entity': 'organization', "
             "'id': 'org_01JD3V8Z5Q6W7E8R9T0Y1M2N3A'}}");
    expect_equal(at(rec, "roles.0"), want, "role with issuer");
    json_decref(want);
    validate_ok("person", rec);
    json_t *out = from_canonical_ok("Practitioner", rec);
    assert_string_equal(str_at(out, "qualification.0.issuer.reference"),
                        "Organization/1");
    assert_string_equal(str_at(out, "qualification.0.period.end"),
                        "1999-06-30");
    json_decref(out);
    json_decref(rec);

    /* Unresolved: the issuer is left out, the role stays. */
    json_object_set_new(q, "issuer", J("{'reference': 'Organization/404'}"));
    rec = to_canonical_ok(r, NULL);
    assert_null(at(rec, "roles.0.organization"));
    assert_string_equal(str_at(rec, "roles.0.code"), "BS");
    json_decref(rec);

    /* A logical reference stays a reference by identifier, both ways. */
    json_object_set_new(q, "issuer",
                        J("{'identifier': {'system': 'urn:example:univ', "
                          "'value': 'EU-1'}, 'display': 'Example U'}"));
    rec = to_canonical_ok(r, NULL);
    want = J("{'entity': 'organization', 'identifier': "
             "{'system': 'urn:example:univ', 'value': 'EU-1'}}");
    expect_equal(at(rec, "roles.0.organization"), want, "issuer identifier");
    json_decref(want);
    validate_ok("person", rec);
    out = from_canonical_ok("Practitioner", rec);
    want = J("{'type': 'Organization', 'identifier': "
             "{'system': 'urn:example:univ', 'value': 'EU-1'}}");
    expect_equal(at(out, "qualification.0.issuer"), want, "issuer out");
    json_decref(want);
    json_decref(out);
    json_decref(rec);
    json_decref(r);
}

static void test_fhir_maps_organization_fields_and_part_of(void **state)
{
    (void)state;
    json_t *r = corpus_resource("json", "Organization-f001.json");
    json_t *rec = to_canonical_ok(r, NULL);
    /* type[0] is a Dutch code (V6) and an organization-type code (prov):
     * the latter is the one the canonical type takes. */
    assert_string_equal(str_at(rec, "type"), "provider");
    assert_int_equal(json_array_size(at(rec, "addresses")), 2);
    json_t *out = from_canonical_ok("Organization", rec);
    json_t *want = J("[{'coding': [{'system': '" ORG_TYPE "', "
                     "'code': 'prov'}]}]");
    expect_equal(at(out, "type"), want, "Organization.type is a list");
    json_decref(want);
    json_decref(out);
    json_decref(rec);

    /* partOf, known to the cross-reference. */
    json_object_set_new(r, "active", json_true());
    json_object_set_new(r, "partOf", J("{'reference': 'Organization/1'}"));
    rec = to_canonical_ok(r, NULL);
    want = J("{'entity': 'organization', "
             "'id': 'org_01JD3V8Z5Q6W7E8R9T0Y1M2N3A'}");
    expect_equal(at(rec, "part_of"), want, "part_of");
    json_decref(want);
    assert_true(json_is_true(at(rec, "active")));
    validate_ok("organization", rec);
    round_trip("Organization-f001 + partOf", r);
    json_decref(rec);

    /* Also as an absolute URL or a version-specific reference. */
    json_object_set_new(
        r, "partOf",
        J("{'reference': "
          "'http://example.org/fhir/Organization/1/_history/3'}"));
    rec = to_canonical_ok(r, NULL);
    assert_string_equal(str_at(rec, "part_of.id"),
                        "org_01JD3V8Z5Q6W7E8R9T0Y1M2N3A");
    json_decref(rec);

    /* Unresolved: dropped (the organization is still taken). */
    json_object_set_new(r, "partOf", J("{'reference': 'Organization/404'}"));
    rec = to_canonical_ok(r, NULL);
    assert_null(at(rec, "part_of"));
    validate_ok("organization", rec);
    json_decref(rec);

    /* A reference to another entity is an error, whatever the policy. */
    json_object_set_new(r, "partOf", J("{'reference': 'Patient/pat1'}"));
    json_t *bad = NULL;
    const char *entity = NULL;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(lx_fhir_to_canonical(fhir, r, &resolver, &entity, &bad,
                                          NULL, &err),
                     LX_EINVAL);
    assert_null(bad);
    assert_string_equal(err.where, "Organization.partOf.reference");

    /* By identifier: kept as a canonical reference by identifier. */
    json_object_set_new(r, "partOf",
                        J("{'identifier': {'system': 'urn:oid:2.16.528.1', "
                          "'value': '1'}}"));
    rec = to_canonical_ok(r, NULL);
    want = J("{'entity': 'organization', 'identifier': "
             "{'system': 'urn:oid:2.16.528.1', 'value': '1'}}");
    expect_equal(at(rec, "part_of"), want, "part_of by identifier");
    json_decref(want);
    validate_ok("organization", rec);
    round_trip("Organization-f001 + partOf by identifier", r);
    json_decref(rec);
    json_decref(r);
}

static void test_fhir_maps_coverage_fields(void **state)
{
    (void)state;
    json_t *r = corpus_resource("json", "Coverage-7546D.json");
    json_t *rec = to_canonical_ok(r, NULL);
    /* Subscriber and beneficiary are Patient/5 and the relationship is
     * self: the canonical beneficiary is absent (canonical-model.md). */
    json_t *want = J(
        "{'identifiers': [{'system': 'http://xyz.com/codes/identifier', "
        "'value': 'AB98761'}], 'status': 'active',"
        "'subscriber': {'entity': 'person', "
        "'id': 'per_01JD3V8Z5Q6W7E8R9T0Y1M2N3F'},"
        "'relationship': 'self',"
        "'payor': {'entity': 'organization', "
        "'id': 'org_01JD3V8Z5Q6W7E8R9T0Y1M2N3B'},"
        "'period': {'start': '2011-03-17', 'end': '2012-03-17'},"
        "'plan': {'code': 'BG4352', 'name': 'Full Coverage: Medical, "
        "Dental, Pharmacy, Vision, EHC', 'type': 'health'},"
        "'group': {'identifier': {'system': "
        "'urn:lingua:coverage-class:group', 'value': 'WESTAIR'}, "
        "'name': 'Western Airlines'}}");
    expect_equal(rec, want, "Coverage-7546D");
    json_decref(want);
    json_t *out = from_canonical_ok("Coverage", rec);
    assert_string_equal(str_at(out, "beneficiary.reference"), "Patient/5");
    assert_string_equal(str_at(out, "type.coding.0.code"), "HIP");
    json_decref(out);
    json_decref(rec);
    json_decref(r);

    /* Self-pay: the payor is the Patient, which has no canonical place. */
    r = corpus_resource("json", "Coverage-SP1234.json");
    rec = to_canonical_ok(r, NULL);
    assert_null(at(rec, "payor"));
    assert_null(at(rec, "plan"));
    json_decref(rec);
    json_decref(r);
}

static void test_fhir_maps_coverage_person_references(void **state)
{
    (void)state;
    json_t *r = corpus_resource("json", "Coverage-9876B1.json");
    json_t *rec;

    /* A dependent: subscriber and beneficiary both kept. */
    json_object_set_new(r, "subscriber", J("{'reference': 'Patient/pat1'}"));
    json_object_set_new(r, "relationship",
                        J("{'coding': [{'system': '" SUB_REL "', "
                          "'code': 'child'}]}"));
    rec = to_canonical_ok(r, NULL);
    assert_string_equal(str_at(rec, "subscriber.id"),
                        "per_01JD3V8Z5Q6W7E8R9T0Y1M2N3D");
    assert_string_equal(str_at(rec, "beneficiary.id"),
                        "per_01JD3V8Z5Q6W7E8R9T0Y1M2N3E");
    assert_string_equal(str_at(rec, "relationship"), "child");
    validate_ok("coverage", rec);
    round_trip("Coverage-9876B1 with a child", r);
    json_decref(rec);

    /* common (common-law spouse) is the canonical domestic_partner. */
    json_object_set_new(r, "relationship", J("{'coding': [{'code': "
                                             "'common'}]}"));
    rec = to_canonical_ok(r, NULL);
    assert_string_equal(str_at(rec, "relationship"), "domestic_partner");
    json_decref(rec);

    /* No relationship at all: the beneficiary is kept. */
    json_object_del(r, "relationship");
    rec = to_canonical_ok(r, NULL);
    assert_string_equal(str_at(rec, "beneficiary.id"),
                        "per_01JD3V8Z5Q6W7E8R9T0Y1M2N3E");
    assert_null(at(rec, "relationship"));
    round_trip("Coverage-9876B1 without relationship", r);
    json_decref(rec);

    /* Only a beneficiary: it is the subscriber. */
    json_object_del(r, "subscriber");
    rec = to_canonical_ok(r, NULL);
    assert_string_equal(str_at(rec, "subscriber.id"),
                        "per_01JD3V8Z5Q6W7E8R9T0Y1M2N3E");
    assert_null(at(rec, "beneficiary"));
    validate_ok("coverage", rec);
    json_t *out = from_canonical_ok("Coverage", rec);
    assert_string_equal(str_at(out, "subscriber.reference"), "Patient/4");
    assert_string_equal(str_at(out, "beneficiary.reference"), "Patient/4");
    json_decref(out);
    json_decref(rec);

    /* Logical references (identifiers): references by identifier. */
    json_object_set_new(r, "subscriber",
                        J("{'identifier': {'system': 'urn:example:member', "
                          "'value': 'M-1'}}"));
    json_object_set_new(r, "beneficiary",
                        J("{'identifier': {'system': 'urn:example:member', "
                          "'value': 'M-2'}}"));
    json_object_set_new(r, "relationship",
                        J("{'coding': [{'code': 'spouse'}]}"));
    rec = to_canonical_ok(r, NULL);
    json_t *want = J("{'entity': 'person', 'identifier': "
                     "{'system': 'urn:example:member', 'value': 'M-1'}}");
    expect_equal(at(rec, "subscriber"), want, "subscriber by identifier");
    json_decref(want);
    want = J("{'entity': 'person', 'identifier': "
             "{'system': 'urn:example:member', 'value': 'M-2'}}");
    expect_equal(at(rec, "beneficiary"), want, "beneficiary by identifier");
    json_decref(want);
    validate_ok("coverage", rec);
    round_trip("Coverage-9876B1 by identifiers", r);
    json_decref(rec);

    /* A payor by identifier, typed Organization. */
    json_object_set_new(r, "payor",
                        J("[{'type': 'Organization', 'identifier': "
                          "{'system': 'urn:example:payor', 'value': 'P-9'}}]"));
    rec = to_canonical_ok(r, NULL);
    want = J("{'entity': 'organization', 'identifier': "
             "{'system': 'urn:example:payor', 'value': 'P-9'}}");
    expect_equal(at(rec, "payor"), want, "payor by identifier");
    json_decref(want);
    validate_ok("coverage", rec);
    round_trip("Coverage-9876B1 with a payor by identifier", r);
    json_decref(rec);

    json_t *bad = NULL;
    const char *entity = NULL;
    lx_error err;

    /* An unknown payor: refused. */
    json_object_set_new(r, "payor", J("[{'reference': 'Organization/404'}]"));
    lx_error_clear(&err);
    assert_int_equal(lx_fhir_to_canonical(fhir, r, &resolver, &entity, &bad,
                                          NULL, &err),
                     LX_ENOTFOUND);
    assert_string_equal(err.where, "Coverage.payor[0].reference");
    json_object_set_new(r, "payor", J("[{'reference': 'Organization/2'}]"));

    /* The subscriber is not known to the hub: the coverage is refused. */
    json_object_set_new(r, "subscriber", J("{'reference': 'Patient/404'}"));
    lx_error_clear(&err);
    assert_int_equal(lx_fhir_to_canonical(fhir, r, &resolver, &entity, &bad,
                                          NULL, &err),
                     LX_ENOTFOUND);
    assert_null(bad);
    assert_string_equal(err.where, "Coverage.subscriber.reference");
    assert_non_null(strstr(err.msg, "rule 'subscriber'"));

    /* Nor without a resolver. */
    json_object_set_new(r, "subscriber", J("{'reference': 'Patient/4'}"));
    lx_error_clear(&err);
    assert_int_equal(
        lx_fhir_to_canonical(fhir, r, NULL, &entity, &bad, NULL, &err),
        LX_ENOTFOUND);
    assert_null(bad);
    json_decref(r);
}

/* ---- XML and JSON of one resource ---------------------------------------- */

static void test_fhir_maps_xml_twins_give_the_json_twins_records(void **state)
{
    (void)state;
    /* corpus SOURCES.md: the XML twin of each JSON file. */
    static const char *const twins[][2] = {
        {"patient-example.xml", "Patient-example.json"},
        {"practitioner-example.xml", "Practitioner-example.json"},
        {"organization-example.xml", "Organization-hl7.json"},
        {"coverage-example.xml", "Coverage-9876B1.json"},
    };
    for (size_t i = 0; i < sizeof(twins) / sizeof(twins[0]); i++) {
        json_t *x = corpus_resource("xml", twins[i][0]);
        json_t *j = corpus_resource("json", twins[i][1]);
        const char *ex = NULL, *ej = NULL;
        json_t *rx = to_canonical_ok(x, &ex), *rj = to_canonical_ok(j, &ej);
        assert_string_equal(ex, ej);
        assert_true(json_object_size(rj) >= 3);
        expect_equal(rx, rj, twins[i][0]);
        json_decref(rx);
        json_decref(rj);
        json_decref(x);
        json_decref(j);
    }
}

/* ---- bad input ---------------------------------------------------------- */

static void test_fhir_maps_unknown_gender_is_a_located_error(void **state)
{
    (void)state;
    json_t *r = corpus_resource("json", "Patient-example.json");
    json_object_set_new(r, "gender", json_string("robot"));
    json_t *rec = NULL;
    const char *entity = NULL;
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(
        lx_fhir_to_canonical(fhir, r, &resolver, &entity, &rec, NULL, &err),
        LX_EINVAL);
    assert_null(rec);
    assert_string_equal(err.where, "Patient.gender");
    assert_non_null(strstr(err.msg, "rule 'gender'"));
    assert_non_null(strstr(err.msg, "table 'gender'"));
    /* Never the value: values are personal data. */
    assert_null(strstr(err.msg, "robot"));
    json_decref(r);

    /* The same for a Practitioner. */
    r = corpus_resource("json", "Practitioner-f001.json");
    json_object_set_new(r, "gender", json_string("M"));
    lx_error_clear(&err);
    assert_int_equal(
        lx_fhir_to_canonical(fhir, r, &resolver, &entity, &rec, NULL, &err),
        LX_EINVAL);
    assert_string_equal(err.where, "Practitioner.gender");
    json_decref(r);
}

static void test_fhir_maps_bad_birth_date_is_refused_at_birth_date(
    void **state)
{
    (void)state;
    static const char *const bad[] = {"1974-13-25", "1974-02-30", "25/12/1974",
                                      "1974"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *r = corpus_resource("json", "Patient-example.json");
        json_object_set_new(r, "birthDate", json_string(bad[i]));
        json_t *rec = NULL;
        const char *entity = NULL;
        lx_error err;
        lx_error_clear(&err);
        lx_map_trace *trace = lx_map_trace_new();
        assert_int_equal(lx_fhir_to_canonical(fhir, r, &resolver, &entity,
                                              &rec, trace, &err),
                         0);
        lx_error_clear(&err);
        assert_int_equal(validate(entity, rec, &err), LX_ESCHEMA);
        assert_string_equal(err.where, "/birth_date");
        /* The adapter can point the sender at the FHIR element. */
        assert_string_equal(lx_fhir_path_for(trace, err.where),
                            "Patient.birthDate");
        lx_map_trace_destroy(&trace);
        json_decref(rec);
        json_decref(r);
    }
}

static void test_fhir_maps_coverage_without_a_person_is_refused(void **state)
{
    (void)state;
    json_t *r = corpus_resource("json", "Coverage-9876B1.json");
    json_object_del(r, "subscriber");
    json_object_del(r, "beneficiary");
    json_t *rec = to_canonical_ok(r, NULL);
    assert_null(at(rec, "subscriber"));
    lx_error err;
    lx_error_clear(&err);
    assert_int_equal(validate("coverage", rec, &err), LX_ESCHEMA);
    assert_string_equal(err.where, "");
    assert_non_null(strstr(err.msg, "'subscriber'"));
    json_decref(rec);

    /* A beneficiary with a display only is no person reference either. */
    json_object_set_new(r, "beneficiary", J("{'display': 'Jane Doe'}"));
    rec = to_canonical_ok(r, NULL);
    lx_error_clear(&err);
    assert_int_equal(validate("coverage", rec, &err), LX_ESCHEMA);
    assert_non_null(strstr(err.msg, "'subscriber'"));
    json_decref(rec);
    json_decref(r);
}

static void test_fhir_maps_required_bindings_refuse_unknown_codes(
    void **state)
{
    (void)state;
    static const struct {
        const char *file, *member, *value, *where;
    } cases[] = {
        {"Coverage-7546D.json", "status", "suspended", "Coverage.status"},
        {"Organization-1.json", "telecom",
         "[{'system': 'pigeon', 'value': 'x'}]",
         "Organization.telecom[0].system"},
        {"Patient-example.json", "address", "[{'use': 'holiday'}]",
         "Patient.address[0].use"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *r = corpus_resource("json", cases[i].file);
        json_t *v = cases[i].value[0] == '['
                        ? J(cases[i].value)
                        : json_string(cases[i].value);
        json_object_set_new(r, cases[i].member, v);
        json_t *rec = NULL;
        const char *entity = NULL;
        lx_error err;
        lx_error_clear(&err);
        assert_int_equal(lx_fhir_to_canonical(fhir, r, &resolver, &entity,
                                              &rec, NULL, &err),
                         LX_EINVAL);
        assert_string_equal(err.where, cases[i].where);
        json_decref(r);
    }
}

/* ---- Patient details ---------------------------------------------------- */

static void test_fhir_maps_patient_deceased_marital_status_language(
    void **state)
{
    (void)state;
    json_t *r = corpus_resource("json", "Patient-f001.json");
    json_object_del(r, "deceasedBoolean");

    json_object_set_new(r, "deceasedDateTime",
                        json_string("2015-02-14T13:42:00+10:00"));
    json_t *rec = to_canonical_ok(r, NULL);
    assert_string_equal(str_at(rec, "deceased"), "2015-02-14T13:42:00+10:00");
    validate_ok("person", rec);
    round_trip("Patient-f001 deceasedDateTime", r);
    json_decref(rec);

    /* A date of death without a time: deceased, date unknown. */
    json_object_set_new(r, "deceasedDateTime", json_string("2015-02"));
    rec = to_canonical_ok(r, NULL);
    assert_true(json_is_true(at(rec, "deceased")));
    json_t *out = from_canonical_ok("Patient", rec);
    assert_true(json_is_true(at(out, "deceasedBoolean")));
    assert_null(at(out, "deceasedDateTime"));
    json_decref(out);
    json_decref(rec);
    json_object_del(r, "deceasedDateTime");

    /* Marital status: the v3 codes, UNK from NullFlavor, one-way codes. */
    static const struct {
        const char *system, *code, *canonical, *back;
    } ms[] = {
        {V3_MARITAL, "A", "annulled", "A"},
        {V3_MARITAL, "D", "divorced", "D"},
        {V3_MARITAL, "L", "separated", "L"},
        {V3_MARITAL, "S", "single", "S"},
        {V3_MARITAL, "T", "domestic_partner", "T"},
        {V3_MARITAL, "W", "widowed", "W"},
        {V3_MARITAL, "I", "separated", "L"},
        {V3_MARITAL, "P", "married", "M"},
        {V3_MARITAL, "U", "single", "S"},
        {V3_NULL, "UNK", "unknown", "UNK"},
        {NULL, "M", "married", "M"},
    };
    for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
        json_t *cc = ms[i].system
                         ? json_pack("{s:[{s:s,s:s}]}", "coding", "system",
                                     ms[i].system, "code", ms[i].code)
                         : json_pack("{s:[{s:s}]}", "coding", "code",
                                     ms[i].code);
        json_object_set_new(r, "maritalStatus", cc);
        rec = to_canonical_ok(r, NULL);
        assert_string_equal(str_at(rec, "marital_status"), ms[i].canonical);
        validate_ok("person", rec);
        out = from_canonical_ok("Patient", rec);
        assert_string_equal(str_at(out, "maritalStatus.coding.0.code"),
                            ms[i].back);
        assert_string_equal(str_at(out, "maritalStatus.coding.0.system"),
                            strcmp(ms[i].back, "UNK") == 0 ? V3_NULL
                                                           : V3_MARITAL);
        json_decref(out);
        json_decref(rec);
    }
    /* Another code system's status is left out, not misread. */
    json_object_set_new(r, "maritalStatus",
                        J("{'coding': [{'system': 'urn:example:ms', "
                          "'code': 'M'}]}"));
    rec = to_canonical_ok(r, NULL);
    assert_null(at(rec, "marital_status"));
    json_decref(rec);

    /* The preferred language, not the first. */
    json_object_set_new(
        r, "communication",
        J("[{'language': {'coding': [{'system': 'urn:ietf:bcp:47', "
          "'code': 'fr'}]}}, {'language': {'coding': [{'system': "
          "'urn:ietf:bcp:47', 'code': 'en-GB'}]}, 'preferred': true}]"));
    rec = to_canonical_ok(r, NULL);
    assert_string_equal(str_at(rec, "language"), "en-GB");
    validate_ok("person", rec);
    json_decref(rec);
    json_decref(r);
}

/* ---- transaction Bundles ------------------------------------------------- */

static void bundle_entries(const char *sub, const char *name, json_t *records)
{
    json_t *b = corpus_resource(sub, name);
    size_t i, mapped = 0, unsupported = 0, none = 0;
    const json_t *e;
    json_array_foreach(json_object_get(b, "entry"), i, e)
    {
        const json_t *r = json_object_get(e, "resource");
        if (!r) {
            none++; /* DELETE and GET entries carry no resource */
            continue;
        }
        json_t *rec = NULL;
        const char *entity = NULL;
        lx_error err;
        lx_error_clear(&err);
        int rc = lx_fhir_to_canonical(fhir, r, &resolver, &entity, &rec, NULL,
                                      &err);
        const char *type = str_at(r, "resourceType");
        if (lx_fhir_entity_of(fhir, type)) {
            if (rc)
                report(type, &err);
            assert_int_equal(rc, 0);
            assert_string_equal(entity, lx_fhir_entity_of(fhir, type));
            json_array_append_new(records, rec);
            mapped++;
        } else {
            assert_int_equal(rc, LX_EUNSUPPORTED);
            assert_string_equal(err.where, "resourceType");
            assert_non_null(strstr(err.msg, type));
            assert_null(rec);
            unsupported++;
        }
    }
    fprintf(stderr, "%s: %zu entries mapped, %zu unsupported, %zu without "
                    "a resource\n",
            name, mapped, unsupported, none);
    /* 5 Patients, 1 Parameters ($lookup), 4 DELETE/GET entries. */
    assert_int_equal(mapped, 5);
    assert_int_equal(unsupported, 1);
    assert_int_equal(none, 4);
    json_decref(b);
}

static void test_fhir_maps_transaction_bundle_entries(void **state)
{
    (void)state;
    json_t *from_json = json_array(), *from_xml = json_array();
    bundle_entries("json", "Bundle-bundle-transaction.json", from_json);
    bundle_entries("xml", "bundle-transaction.xml", from_xml);
    expect_equal(from_xml, from_json, "bundle entries, XML and JSON");
    /* Entries with an identifier make valid persons; the others have
     * nothing to be matched on and the canonical schema says so. */
    size_t i, valid = 0;
    const json_t *rec;
    json_array_foreach(from_json, i, rec)
    {
        lx_error err;
        lx_error_clear(&err);
        if (validate("person", rec, &err) == 0)
            valid++;
        else
            assert_null(at(rec, "identifiers"));
        assert_string_equal(str_at(rec, "name.family"), "Chalmers");
    }
    assert_int_equal(valid, 2);
    json_decref(from_json);
    json_decref(from_xml);
}

/* ---- the person schema's roles ------------------------------------------- */

static void test_fhir_maps_person_roles_schema(void **state)
{
    (void)state;
    static const char *const good[] = {
        "{'identifiers': [{'system': 's', 'value': 'v'}], 'roles': []}",
        "{'identifiers': [{'system': 's', 'value': 'v'}], 'roles': [{'code': "
        "'MD', 'system': 'urn:oid:2.16.840.1.113883.18.220', 'display': "
        "'Doctor of Medicine', 'period': {'start': '2001-01-01'}, "
        "'organization': {'entity': 'organization', 'identifier': "
        "{'system': 's', 'value': 'o'}}}]}",
    };
    static const struct {
        const char *record, *where;
    } bad[] = {
        {"{'identifiers': [{'system': 's', 'value': 'v'}], 'roles': "
         "[{'system': 'urn:x'}]}",
         "/roles/0"},
        {"{'identifiers': [{'system': 's', 'value': 'v'}], 'roles': "
         "[{'code': 'MD', 'title': 'x'}]}",
         "/roles/0/title"},
        {"{'identifiers': [{'system': 's', 'value': 'v'}], 'roles': "
         "[{'code': 'MD', 'system': 'not a uri'}]}",
         "/roles/0/system"},
        {"{'identifiers': [{'system': 's', 'value': 'v'}], 'roles': "
         "[{'code': 'MD', 'organization': {'entity': 'person', "
         "'id': 'per_01JD3V8Z5Q6W7E8R9T0Y1M2N3D'}}]}",
         "/roles/0/organization/entity"},
        {"{'identifiers': [{'system': 's', 'value': 'v'}], 'roles': "
         "[{'code': 'MD', 'period': {'start': '2001'}}]}",
         "/roles/0/period/start"},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        json_t *rec = J(good[i]);
        validate_ok("person", rec);
        json_decref(rec);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *rec = J(bad[i].record);
        lx_error err;
        lx_error_clear(&err);
        assert_int_equal(validate("person", rec, &err), LX_ESCHEMA);
        assert_string_equal(err.where, bad[i].where);
        json_decref(rec);
    }
}

/* lx_fhir_json_text_to_xml is lx_fhir_parse + lx_fhir_serialize(XML) in
 * one walk: the same XML for every corpus JSON file, and the same errors
 * (code, message, FHIRPath, line, column) for bad text and bad structure. */
static void same_as_parse_then_serialize(const char *what, const char *text,
                                         size_t len)
{
    lx_error e1, e2;
    lx_error_clear(&e1);
    lx_error_clear(&e2);
    json_t *r = NULL;
    lx_buf want, got;
    lx_buf_init(&want, 0);
    lx_buf_init(&got, 0);
    int rc1 = lx_fhir_parse(fhir, text, len, LX_FHIR_JSON,
                            LX_JSON_MAX_DEFAULT, &r, &e1);
    if (rc1 == 0)
        rc1 = lx_fhir_serialize(fhir, r, LX_FHIR_XML, &want, &e1);
    json_decref(r);
    assert_int_equal(lx_buf_puts(&got, "kept"), 0);
    int rc2 = lx_fhir_json_text_to_xml(fhir, text, len, LX_JSON_MAX_DEFAULT,
                                       &got, &e2);
    if (rc1 != rc2 || strcmp(e1.msg, e2.msg) != 0 ||
        strcmp(e1.where, e2.where) != 0 || e1.line != e2.line ||
        e1.column != e2.column)
        fail_msg("%s: parse + serialize %d '%s' at '%s', text_to_xml %d '%s' "
                 "at '%s'",
                 what, rc1, e1.msg, e1.where, rc2, e2.msg, e2.where);
    if (rc1 == 0)
        assert_string_equal(got.data + 4, want.data);
    else
        assert_string_equal(got.data, "kept");
    lx_buf_fini(&want);
    lx_buf_fini(&got);
}

static void test_fhir_json_text_to_xml_is_parse_then_serialize(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/fhir/r4/json", corpus_dir());
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    size_t files = 0;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0)
            continue;
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        size_t len;
        char *text = read_file(path, &len);
        same_as_parse_then_serialize(de->d_name, text, len);
        free(text);
        files++;
    }
    closedir(d);
    assert_true(files >= 20);
    static const char *const bad[] = {
        "{\"resourceType\": \"Patient\",",
        "[1]",
        "{\"resourceType\": \"Patient\", \"name\": [{\"foo\": 1}]}",
        "{\"resourceType\": \"Patient\", \"gender\": 1}",
        "{\"resourceType\": \"Spaceship\"}",
        "{\"resourceType\": \"Patient\", \"text\": {\"status\": "
        "\"generated\", \"div\": \"<div>x</p>\"}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        same_as_parse_then_serialize(bad[i], bad[i], strlen(bad[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fhir_maps_four_resource_types_are_mapped),
        cmocka_unit_test(test_fhir_json_text_to_xml_is_parse_then_serialize),
        cmocka_unit_test(
            test_fhir_maps_every_corpus_sample_validates_and_round_trips),
        cmocka_unit_test(
            test_fhir_maps_patient_example_gives_the_documented_record),
        cmocka_unit_test(test_fhir_maps_practitioner_qualification_is_a_role),
        cmocka_unit_test(test_fhir_maps_organization_fields_and_part_of),
        cmocka_unit_test(test_fhir_maps_coverage_fields),
        cmocka_unit_test(test_fhir_maps_coverage_person_references),
        cmocka_unit_test(test_fhir_maps_xml_twins_give_the_json_twins_records),
        cmocka_unit_test(test_fhir_maps_unknown_gender_is_a_located_error),
        cmocka_unit_test(
            test_fhir_maps_bad_birth_date_is_refused_at_birth_date),
        cmocka_unit_test(test_fhir_maps_coverage_without_a_person_is_refused),
        cmocka_unit_test(
            test_fhir_maps_required_bindings_refuse_unknown_codes),
        cmocka_unit_test(
            test_fhir_maps_patient_deceased_marital_status_language),
        cmocka_unit_test(test_fhir_maps_transaction_bundle_entries),
        cmocka_unit_test(
            test_fhir_maps_answer_from_the_record_equals_the_stored_one),
        cmocka_unit_test(test_fhir_maps_person_roles_schema),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
