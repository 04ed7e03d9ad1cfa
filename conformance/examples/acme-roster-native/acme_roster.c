/* acme_roster.c: Acme Roster <-> Lingua as a native adapter (.so).
 *
 * Acme Roster is a made-up staff rostering product (the same one as the
 * Python example in ../acme-roster/). Its staff records look like this,
 * and its REST API takes them at PUT /staff/{staffId}:
 *
 *     {"staffId": "S-100", "surname": "Okafor", "forenames": ["Chidi"],
 *      "sex": "M", "dob": "1990-07-01", "email": "chidi@acme.example"}
 *
 * Each one is a canonical `person`. This file is what a vendor writes: it
 * includes only lingua_adapter.h (the ABI) and uses jansson as its own
 * JSON library (any would do: only JSON text crosses the boundary).
 *
 *     cc -std=c11 -shared -fPIC -I<lingua>/adapters/native \
 *        -o acme_roster.so acme_roster.c -ljansson
 *     lingua conform --suite <lingua>/conformance/examples/acme-roster/suite \
 *                    --adapter ./acme_roster.so --report out/
 *
 * Variants the tests build from this file (never ship them):
 *   -DACME_BROKEN        maps sex M to "female" and drops the e-mail on the
 *                        way out: the runner must fail the right cases
 *   -DACME_CRASH         faults (SIGSEGV) on sex "Q", never returns on an
 *                        impossible date and aborts on a person without
 *                        gender on the way out: the runner must survive
 *   -DACME_ABI_VERSION=N claims another ABI version: refused at load */
#if defined(ACME_CRASH) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* nanosleep, for the endless loop */
#endif
#include "lingua_adapter.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef ACME_ABI_VERSION
#define ACME_ABI_VERSION LINGUA_ADAPTER_ABI_VERSION
#endif

#define STAFF_SYSTEM "urn:acme:roster:staff"

typedef struct acme {
    const lingua_host *host; /* valid until close */
} acme;

static const char *const sex_codes[] = {"M", "F", "X", "U"};
static const char *const genders[] = {"male", "female", "other", "unknown"};

static int refuse(lingua_status *st, int code, const char *location,
                  const char *message)
{
    st->code = code;
    snprintf(st->location, sizeof(st->location), "%s", location);
    snprintf(st->message, sizeof(st->message), "%s", message);
    return code;
}

static int acme_open(const char *config, size_t config_len,
                     const lingua_host *host, void **instance,
                     lingua_status *st)
{
    /* Acme takes no settings; a configuration that is not an object is
     * still a mistake worth saying. */
    json_t *conf = json_loadb(config, config_len, 0, NULL);
    int ok = json_is_object(conf);
    json_decref(conf);
    if (!ok)
        return refuse(st, LINGUA_ECONFIG, "", "the configuration must be a "
                                              "JSON object");
    acme *a = calloc(1, sizeof(*a));
    if (!a)
        return refuse(st, LINGUA_ELIMIT, "", "out of memory");
    a->host = host;
    *instance = a;
    return LINGUA_OK;
}

static void acme_close(void *instance)
{
    free(instance);
}

/* ---- inbound: a staff record becomes a person ---- */

/* staff -> person (new reference), or NULL with *st saying why. */
static json_t *staff_to_person(const json_t *staff, const char **sid,
                               lingua_status *st)
{
    if (!json_is_object(staff)) {
        refuse(st, LINGUA_EINVAL, "", "a staff record is a JSON object");
        return NULL;
    }
    *sid = json_string_value(json_object_get(staff, "staffId"));
    if (!*sid || !**sid) {
        refuse(st, LINGUA_EINVAL, "/staffId", "staffId is required");
        return NULL;
    }
    const char *gender = NULL;
    const json_t *sex = json_object_get(staff, "sex");
    if (sex) {
        for (size_t i = 0; i < 4 && !gender; i++)
            if (json_is_string(sex) &&
                strcmp(json_string_value(sex), sex_codes[i]) == 0)
                gender = genders[i];
        if (!gender) {
#ifdef ACME_CRASH
            /* A bug, on purpose: the segmentation fault a NULL write
             * gives (raised, so that a sanitizer build of this example
             * does not report the write and exit 1 instead). */
            raise(SIGSEGV);
#endif
            refuse(st, LINGUA_EINVAL, "/sex", "sex must be one of M, F, X, U");
            return NULL;
        }
#ifdef ACME_BROKEN
        if (strcmp(gender, "male") == 0)
            gender = "female"; /* the wrong code, on purpose */
#endif
    }
    json_t *person = json_pack("{s:[{s:s,s:s}]}", "identifiers", "system",
                               STAFF_SYSTEM, "value", *sid);
    json_t *name = json_object();
    if (json_object_get(staff, "surname"))
        json_object_set(name, "family", json_object_get(staff, "surname"));
    if (json_array_size(json_object_get(staff, "forenames")))
        json_object_set(name, "given", json_object_get(staff, "forenames"));
    if (json_object_size(name))
        json_object_set(person, "name", name);
    json_decref(name);
    if (gender)
        json_object_set_new(person, "gender", json_string(gender));
    if (json_object_get(staff, "dob")) {
#ifdef ACME_CRASH
        const char *dob = json_string_value(json_object_get(staff, "dob"));
        if (dob && strcmp(dob, "1990-02-30") == 0)
            for (;;) { /* an endless loop, on purpose */
                struct timespec ts = {1, 0};
                nanosleep(&ts, NULL);
            }
#endif
        json_object_set(person, "birth_date", json_object_get(staff, "dob"));
    }
    const char *email = json_string_value(json_object_get(staff, "email"));
    if (email && *email)
        json_object_set_new(person, "contacts",
                            json_pack("[{s:s,s:s}]", "system", "email",
                                      "value", email));
    return person;
}

static int acme_inbound(void *instance, const lingua_document *doc,
                        lingua_status *st)
{
    acme *a = instance;
    json_error_t je;
    json_t *staff = json_loadb(doc->data, doc->len, 0, &je);
    if (!staff) {
        char where[64];
        snprintf(where, sizeof(where), "line %d column %d", je.line,
                 je.column);
        return refuse(st, LINGUA_ESYNTAX, where, "not JSON");
    }
    const char *sid = NULL;
    json_t *person = staff_to_person(staff, &sid, st);
    int rc = person ? LINGUA_OK : st->code;
    if (!person && a->host->log) /* where and why, never the value */
        a->host->log(a->host->ctx, 2, "staff record refused");
    if (person) {
        char *text = json_dumps(person, JSON_COMPACT);
        lingua_record rec = {.entity = "person",
                             .native_type = "Staff",
                             .native_id = sid,
                             .json = text,
                             .json_len = text ? strlen(text) : 0};
        /* The hub validates and stores; its refusal (an impossible date:
         * LINGUA_ESCHEMA at /birth_date) is ours to pass on. */
        rc = text ? a->host->ingest(a->host->ctx, &rec, st)
                  : refuse(st, LINGUA_ELIMIT, "", "out of memory");
        free(text);
    }
    json_decref(person);
    json_decref(staff);
    return rc;
}

/* ---- outbound: a person becomes PUT /staff/{staffId} ---- */

/* The staffId of a person: Acme's own identifier, else the first. */
static const char *staff_id_of(const json_t *person)
{
    const json_t *ids = json_object_get(person, "identifiers");
    size_t i;
    const json_t *id;
    json_array_foreach(ids, i, id)
    {
        const char *sys = json_string_value(json_object_get(id, "system"));
        if (sys && strcmp(sys, STAFF_SYSTEM) == 0)
            return json_string_value(json_object_get(id, "value"));
    }
    return json_string_value(json_object_get(json_array_get(ids, 0),
                                             "value"));
}

static json_t *person_to_staff(const json_t *person, const char *sid)
{
    json_t *staff = json_pack("{s:s}", "staffId", sid);
    const json_t *name = json_object_get(person, "name");
    if (json_object_get(name, "family"))
        json_object_set(staff, "surname", json_object_get(name, "family"));
    if (json_array_size(json_object_get(name, "given")))
        json_object_set(staff, "forenames", json_object_get(name, "given"));
    const char *gender = json_string_value(json_object_get(person, "gender"));
    for (size_t i = 0; gender && i < 4; i++)
        if (strcmp(gender, genders[i]) == 0)
            json_object_set_new(staff, "sex", json_string(sex_codes[i]));
    if (json_object_get(person, "birth_date"))
        json_object_set(staff, "dob", json_object_get(person, "birth_date"));
#ifndef ACME_BROKEN
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(person, "contacts"), i, c)
    {
        const char *sys = json_string_value(json_object_get(c, "system"));
        if (sys && strcmp(sys, "email") == 0 &&
            json_object_get(c, "value")) {
            json_object_set(staff, "email", json_object_get(c, "value"));
            break;
        }
    }
#endif
    return staff;
}

/* "S 1/2" -> "S%201%2F2": a staffId is one path segment. */
static char *path_of(const char *sid)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(sid);
    char *p = malloc(sizeof("/staff/") + 3 * n);
    if (!p)
        return NULL;
    memcpy(p, "/staff/", 7);
    char *o = p + 7;
    for (const unsigned char *s = (const unsigned char *)sid; *s; s++) {
        if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
            (*s >= '0' && *s <= '9') || strchr("-._~", *s)) {
            *o++ = (char)*s;
        } else {
            *o++ = '%';
            *o++ = hex[*s >> 4];
            *o++ = hex[*s & 15];
        }
    }
    *o = '\0';
    return p;
}

static int acme_outbound(void *instance, const lingua_event *ev,
                         lingua_request *req, lingua_status *st)
{
    (void)instance;
    json_t *event = json_loadb(ev->json, ev->len, 0, NULL);
    const char *entity = json_string_value(json_object_get(event, "entity"));
    const char *type = json_string_value(json_object_get(event, "type"));
    if (!entity || strcmp(entity, "person") != 0 || !type) {
        json_decref(event);
        return LINGUA_SKIP; /* Acme keeps staff only */
    }
    size_t tl = strlen(type);
    int deleted = tl > 8 && strcmp(type + tl - 8, ".deleted") == 0;
    const json_t *person = json_object_get(event, "record");
    /* A delete carries no record: the staffId is the one kept when the
     * person was sent (target_id below). */
    const char *sid = deleted ? ev->target_id : staff_id_of(person);
    if (!sid || !*sid) {
        json_decref(event);
        return deleted ? LINGUA_SKIP
                       : refuse(st, LINGUA_EINVAL, "/record/identifiers",
                                "a person without identifiers has no "
                                "staffId");
    }
#ifdef ACME_CRASH
    if (!deleted && !json_object_get(person, "gender"))
        abort(); /* a bug, on purpose: the runner's sentinel has none */
#endif
    const char *event_id = json_string_value(json_object_get(event, "id"));
    req->kind = LINGUA_REQUEST_HTTP;
    snprintf(req->method, sizeof(req->method), "%s",
             deleted ? "DELETE" : "PUT");
    snprintf(req->native_type, sizeof(req->native_type), "Staff");
    req->path = path_of(sid);
    /* The event id is stable across redeliveries: Acme uses it to drop
     * a repeated call (delivery is at least once). */
    size_t hl = 80 + (event_id ? strlen(event_id) : 0);
    req->headers = malloc(hl);
    if (req->headers)
        snprintf(req->headers, hl,
                 "Content-Type: application/json\nX-Lingua-Event-Id: %s",
                 event_id ? event_id : "");
    if (!deleted) {
        json_t *staff = person_to_staff(person, sid);
        req->body = json_dumps(staff, JSON_COMPACT);
        req->body_len = req->body ? strlen(req->body) : 0;
        json_decref(staff);
    }
    json_decref(event);
    if (!req->path || !req->headers || (!deleted && !req->body))
        return refuse(st, LINGUA_ELIMIT, "", "out of memory");
    return LINGUA_OK;
}

static void acme_free_request(void *instance, lingua_request *req)
{
    (void)instance;
    free(req->path);
    free(req->headers);
    free(req->body);
}

/* Acme's id of a person is its staffId: kept so that a later delete
 * (which carries no record) knows where to go. */
static int acme_target_id(void *instance, const lingua_event *ev,
                          const lingua_response *res, char *id, size_t size)
{
    (void)instance;
    (void)res;
    json_t *event = json_loadb(ev->json, ev->len, 0, NULL);
    const char *sid = staff_id_of(json_object_get(event, "record"));
    int found = sid && *sid && strlen(sid) < size;
    if (found)
        snprintf(id, size, "%s", sid);
    json_decref(event);
    return found;
}

static const struct lingua_adapter acme_adapter = {
    .abi_version = ACME_ABI_VERSION,
    .size = sizeof(struct lingua_adapter),
    .name = "acme-roster-native",
    .version = "1.0.0",
    .suite = "acme-roster",
    .open = acme_open,
    .close = acme_close,
    .inbound = acme_inbound,
    .outbound = acme_outbound,
    .free_request = acme_free_request,
    .target_id = acme_target_id,
};

LINGUA_ADAPTER_EXPORT const struct lingua_adapter *lingua_adapter_v1(void)
{
    return &acme_adapter;
}
