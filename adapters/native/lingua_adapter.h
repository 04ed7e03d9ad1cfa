/* lingua_adapter.h: the C ABI of native Lingua adapters, version 1.
 *
 * A native adapter is a shared library (.so) that translates one system's
 * documents to Lingua's canonical records and canonical change events to
 * that system's requests. This header is the whole contract: a vendor
 * compiles against it alone (C99 or later, no other Lingua header, no
 * JSON library of ours), e.g.
 *
 *     cc -std=c11 -shared -fPIC -I/path/to/lingua/adapters/native \
 *        -o acme.so acme.c
 *
 * and certifies the result with
 *
 *     lingua conform --suite SUITE --adapter ./acme.so --report out/
 *
 * Across the boundary there are only plain C types: JSON travels as UTF-8
 * text (pointer + length, not necessarily NUL-terminated unless said so),
 * errors as an int code plus a fixed-size lingua_status the caller
 * provides.
 *
 * Entry point. The library exports one function named by
 * LINGUA_ADAPTER_ENTRY:
 *
 *     const struct lingua_adapter *lingua_adapter_v1(void);
 *
 * returning a descriptor with static storage duration whose abi_version
 * is LINGUA_ADAPTER_ABI_VERSION and whose size is
 * sizeof(struct lingua_adapter) as the adapter was compiled. The host
 * refuses a library without the symbol or with another abi_version.
 * Later versions only append members (and bump the symbol's number when
 * a member changes meaning), so `size` tells the host which members
 * exist.
 *
 * Life cycle. The host calls open() once per adapter instance with the
 * instance's configuration and the host's callbacks, then any number of
 * inbound() and outbound() calls, then close(). The library is loaded
 * with RTLD_NOW | RTLD_LOCAL: it must resolve every symbol it needs from
 * its own dependencies (link them: -lfoo), not from the host.
 *
 * Threads. The host never calls one instance from two threads at the same
 * time, but successive calls may come from different threads; instances
 * are independent (the adapter must not keep per-instance state in
 * globals). The lingua_host callbacks may be called only from inside the
 * inbound() call they belong to, on its thread.
 *
 * Memory. Everything the host passes in is borrowed for the duration of
 * the call: copy what must outlive it. What the adapter returns in a
 * lingua_request (path, headers, body) is the adapter's, allocated as it
 * likes, and handed back to its free_request() exactly once after the
 * host is done with it, also when the host gives up on the call. A
 * lingua_status is the caller's fixed-size storage: the callee writes NUL-
 * terminated text into it (truncating), never a pointer.
 *
 * Messages name the position and the rule, never the value: values are
 * personal data, and the host logs messages and puts them in reports.
 *
 * Echo suppression and idempotency. The host never hands outbound() an
 * event whose origin is the adapter's own system (the change came from
 * there), and it stores a record that did not change as no change (no
 * version, no event), so a document received twice makes one version as
 * long as the adapter maps it to the same records with the same
 * native_type and native_id. Each event carries its "id", stable across
 * redeliveries: send it as an idempotency key when the system takes one
 * (delivery is at least once). */
#ifndef LINGUA_ADAPTER_H
#define LINGUA_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LINGUA_ADAPTER_ABI_VERSION 1u
#define LINGUA_ADAPTER_ENTRY "lingua_adapter_v1"

/* Result codes: 0, or Lingua's own error codes (the same values as the
 * LX_E* table, names "LX_EINVAL" ... in reports). */
#define LINGUA_OK 0
#define LINGUA_EINVAL (-1)      /* a document or value the rules refuse */
#define LINGUA_ESYNTAX (-2)     /* not well-formed (not JSON, not XML) */
#define LINGUA_ESCHEMA (-3)     /* a canonical record its schema refuses */
#define LINGUA_ELIMIT (-4)      /* too large, too deep */
#define LINGUA_ENOTFOUND (-5)   /* a referenced record is unknown */
#define LINGUA_ECONFLICT (-6)
#define LINGUA_ESTORE (-7)      /* the host could not store */
#define LINGUA_EIO (-8)
#define LINGUA_EREMOTE (-9)
#define LINGUA_ECONFIG (-11)    /* open(): a configuration it cannot use */
#define LINGUA_EUNSUPPORTED (-14) /* a document type it does not map */
/* outbound() only: nothing to send for this event (not an entity the
 * system takes, a delete it is not told about). Not an error. */
#define LINGUA_SKIP 1

#define LINGUA_LOCATION_MAX 256
#define LINGUA_MESSAGE_MAX 512
#define LINGUA_METHOD_MAX 16
#define LINGUA_NATIVE_TYPE_MAX 64
#define LINGUA_NATIVE_ID_MAX 256

/* Why something was refused. Written by whoever returns the error code:
 * the adapter for its refusals, the host for a record it did not store. */
typedef struct lingua_status {
    int code;        /* the LINGUA_E* returned */
    int http_status; /* inbound refusals: the HTTP status the system is
                        answered with, 0 = the host's choice (422) */
    /* Where: a JSON pointer into the native document ("/sex"), a FHIRPath
     * ("Patient.gender"), an EDI segment ("segment 4 (INS)/3"), "line 3
     * column 7"; for the host's refusals, a pointer into the canonical
     * record ("/birth_date"). "" when not known. */
    char location[LINGUA_LOCATION_MAX];
    char message[LINGUA_MESSAGE_MAX];
} lingua_status;

/* One canonical record the adapter hands to the host (inbound). */
typedef struct lingua_record {
    const char *entity;      /* "person", "worker", ... (NUL-terminated) */
    const char *native_type; /* the system's type ("Staff"), or NULL */
    /* The system's id of the record, or NULL. With native_type it keys the
     * cross-reference: the same (type, id) again updates the same
     * canonical record. */
    const char *native_id;
    const char *json;        /* the canonical record: a JSON object */
    size_t json_len;
    int is_delete;           /* 1: delete the record known under
                                (native_type, native_id); json ignored */
} lingua_record;

/* What the host offers the adapter. Valid from open() to close(). */
typedef struct lingua_host {
    uint32_t abi_version; /* LINGUA_ADAPTER_ABI_VERSION of the host */
    void *ctx;            /* pass back to the callbacks */
    const char *system;   /* the adapter's system in the hub */
    const char *instance; /* the adapter instance's name */
    /* Store one record, durably, before returning. Returns 0, or a
     * LINGUA_E* code with *st saying why (LINGUA_ESCHEMA and the pointer
     * of the refused member of the record); the adapter normally refuses
     * its document with that same status. Only inside inbound(). */
    int (*ingest)(void *ctx, const lingua_record *rec, lingua_status *st);
    /* Optional diagnostics for the host's log (level 0 error, 1 warning,
     * 2 info, 3 debug); one line, no payloads. May be NULL. */
    void (*log)(void *ctx, int level, const char *line);
} lingua_host;

/* One native document the adapter's system sent. */
typedef struct lingua_document {
    const char *system;      /* who sent it (NUL-terminated) */
    const char *format;      /* "json", "xml", "x12", ... (its file
                                extension or content type), or "" */
    const char *native_type; /* the sender's hint, or NULL */
    const char *data;        /* the document, len bytes */
    size_t len;
} lingua_document;

/* One canonical change event to deliver. */
typedef struct lingua_event {
    /* The event as JSON: {"id", "seq", "type": "person.updated",
     * "entity", "canonical_id", "version", "record": {...}, "origin":
     * {"system", "adapter", "native_type", "native_id"}, "time"}; a
     * "<entity>.deleted" event carries the record's last content in
     * "record" (docs/bus.md): tell a delete by "type", not by a missing
     * record. */
    const char *json;
    size_t len;
    /* The target system's id of this record, as a previous delivery's
     * target_id() said (the cross-reference), or NULL when unknown: the
     * difference between a create and an update. NUL-terminated. */
    const char *target_id;
} lingua_event;

#define LINGUA_REQUEST_HTTP 0 /* an HTTP call to the system's base URL */
#define LINGUA_REQUEST_FILE 1 /* a file written to the system's outbox */

/* What outbound() asks the host to perform. The host zeroes it before the
 * call; the adapter fills it and owns path, headers and body until its
 * free_request(). */
typedef struct lingua_request {
    int kind;                        /* LINGUA_REQUEST_HTTP or _FILE */
    char method[LINGUA_METHOD_MAX];  /* "PUT", "POST", "DELETE", ... */
    /* HTTP: the path and query relative to the system's base URL
     * ("/staff/S-100"), already percent-encoded. FILE: the file name in
     * the outbox (no '/'). NUL-terminated. */
    char *path;
    /* "Name: value" lines separated by '\n', or NULL. At most 8. */
    char *headers;
    char *body;                      /* body_len bytes, or NULL */
    size_t body_len;
    /* The native type under which the target's id of the record is kept
     * ("" = the event's entity). */
    char native_type[LINGUA_NATIVE_TYPE_MAX];
} lingua_request;

/* The system's answer to a performed request (2xx only). */
typedef struct lingua_response {
    int status;
    const char *location; /* the Location header, "" when absent */
    const char *body;     /* body_len bytes, may be NULL */
    size_t body_len;
} lingua_response;

struct lingua_adapter {
    uint32_t abi_version; /* LINGUA_ADAPTER_ABI_VERSION */
    uint32_t size;        /* sizeof(struct lingua_adapter) */
    const char *name;     /* "acme-roster": reports and certificates */
    const char *version;  /* "1.0.0" */
    /* The suite family it speaks: a standard suite ("fhir-r4",
     * "x12-005010") or a vendor suite's name ("acme-roster"); the runner
     * warns when certifying it against another. */
    const char *suite;

    /* Make an instance. config: the instance's configuration, a JSON
     * object (config_len bytes; "{}" when none). *instance: the adapter's
     * handle, passed to every other call. On failure return a LINGUA_E*
     * code (LINGUA_ECONFIG) with *st saying which member and why; close()
     * is then not called. */
    int (*open)(const char *config, size_t config_len,
                const lingua_host *host, void **instance, lingua_status *st);
    void (*close)(void *instance);

    /* Translate one native document: hand each canonical record to
     * host->ingest() and return LINGUA_OK once every one was stored, or
     * refuse the document: a LINGUA_E* code and *st (code, location,
     * message; http_status optionally). A refused document should store
     * nothing: check it whole before the first ingest(). NULL for an
     * outbound-only adapter. */
    int (*inbound)(void *instance, const lingua_document *doc,
                   lingua_status *st);

    /* Translate one event into the request that tells the system: fill
     * *req and return LINGUA_OK, or return LINGUA_SKIP (nothing to send),
     * or a LINGUA_E* code with *st (the event cannot be sent: the host
     * dead-letters it, no retry). NULL for an inbound-only adapter. */
    int (*outbound)(void *instance, const lingua_event *ev,
                    lingua_request *req, lingua_status *st);
    /* Release what outbound() put in *req (path, headers, body). Required
     * with outbound. */
    void (*free_request)(void *instance, lingua_request *req);

    /* Optional (NULL: no id is kept): after a 2xx answer to the request
     * made for ev, write the system's id of the record into id (size
     * bytes, NUL-terminated) and return 1, or return 0 when the answer
     * does not say. The next event of that record carries it as
     * target_id. */
    int (*target_id)(void *instance, const lingua_event *ev,
                     const lingua_response *res, char *id, size_t size);
};

/* The entry point's type, for dlsym(). */
typedef const struct lingua_adapter *(*lingua_adapter_entry_fn)(void);

/* The entry point itself, declared so that the adapter's definition is
 * checked against it; exported even from a library built with
 * -fvisibility=hidden. Define it as
 *     LINGUA_ADAPTER_EXPORT const struct lingua_adapter *
 *     lingua_adapter_v1(void) { return &my_descriptor; } */
#if defined(__GNUC__)
#define LINGUA_ADAPTER_EXPORT __attribute__((visibility("default")))
#else
#define LINGUA_ADAPTER_EXPORT
#endif
LINGUA_ADAPTER_EXPORT const struct lingua_adapter *lingua_adapter_v1(void);

#ifdef __cplusplus
}
#endif

#endif
