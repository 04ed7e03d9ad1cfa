/* conformance/conform_int.h: what the runner, the vector reader, the
 * drivers and the report writers share.
 *
 * A driver connects the runner to one kind of adapter. The runner owns the
 * hub side (a fresh store per case, the event log, the loopback target)
 * and the case logic; a driver only knows how to hand the adapter a native
 * document and how to make it deliver or render canonical changes. Adding
 * a suite for another standard (X12, EDIFACT, REST) or another kind of
 * target (a native .so, an external process over the bus) means adding a
 * driver to the table in driver.c, nothing else. */
#ifndef LX_CONFORMANCE_CONFORM_INT_H
#define LX_CONFORMANCE_CONFORM_INT_H

#include "adapters/delivery/delivery.h"
#include "canonical/registry.h"
#include "canonical/store.h"
#include "conformance/compare.h"
#include "conformance/conform.h"
#include "conformance/target.h"

#include <stdint.h>

#define LX_CONFORM_PATH_MAX 4096
#define LX_CONFORM_CASES_MAX 512
/* The system the runner's own canonical changes come from (seeds,
 * sentinels): never the adapter's. */
#define LX_CONFORM_SEED_SYSTEM "lingua-conformance"
/* The systems the adapter under test is configured for: inbound documents
 * come from SYSTEM_IN, deliveries go to SYSTEM_OUT (round trips cross
 * them; echo cases use one system both ways). */
#define LX_CONFORM_SYSTEM_IN "conformance-source"
#define LX_CONFORM_SYSTEM_OUT "conformance-target"

/* ---- vectors (vector.c) ---- */

typedef struct lx_conform_case {
    char dir[LX_CONFORM_PATH_MAX]; /* the case folder */
    char id[128];
    char title[256];
    char direction[16]; /* inbound outbound roundtrip idempotency echo
                           negative */
    char level[8];      /* MUST SHOULD */
    char section[256];
    char entity[64];
    json_t *json;       /* case.json (owned); NULL when it did not load */
    lx_error load_err;  /* why the case folder is malformed (code != 0) */
} lx_conform_case;

typedef struct lx_conform_suite {
    char dir[LX_CONFORM_PATH_MAX];
    char name[64];
    char version[32];
    char standard[64];
    char kind[32];      /* the driver: "fhir", "hropen" */
    json_t *json;       /* suite.json (owned) */
    lx_conform_case *cases; /* sorted by folder name */
    size_t case_count;
} lx_conform_suite;

/* Load suite.json and every case folder (malformed cases are kept with
 * their load_err). Errors: those of reading suite.json. */
LX_NODISCARD int lx_conform_suite_load(const char *dir,
                                       lx_conform_suite *out, lx_error *err);
void lx_conform_suite_fini(lx_conform_suite *s);

/* Read a case file (name relative to the case folder) whole. *data is
 * malloc'd and NUL-terminated. Errors: LX_EINVAL (a name leaving the
 * folder), LX_EIO, LX_ELIMIT (over 16 MiB). */
LX_NODISCARD int lx_conform_case_read(const lx_conform_case *c,
                                      const char *name, char **data,
                                      size_t *len, lx_error *err);
/* The same, parsed as JSON. */
LX_NODISCARD int lx_conform_case_json(const lx_conform_case *c,
                                      const char *name, json_t **out,
                                      lx_error *err);

/* ---- the hub side of one case (runner.c) ---- */

typedef struct lx_conform_hub {
    lx_store *store;
    const lx_registry *registry;
    lx_conform_target *target; /* the loopback target system */
    unsigned timeout_ms;
    /* suite.json "options" overlaid with case.json "options" (borrowed,
     * for the case): drivers whose inbound side has settings too (an EDI
     * partner's acknowledgement) read them here. */
    const json_t *options;
} lx_conform_hub;

/* What the adapter answered to one native document. */
typedef struct lx_conform_answer {
    bool accepted;
    /* For a rejection: {"status": 422 (HTTP drivers), "code": "invalid"
     * (the adapter's own code: a FHIR issue type, an LX_E* name),
     * "location": "Patient.gender" (FHIRPath, JSON pointer, segment),
     * "message": "..."}; the members the adapter can say. */
    json_t *rejection;
    /* What the adapter sent its system back besides the answer (an EDI
     * acknowledgement: 999, 997, TA1, CONTRL), malloc'd, or NULL; the
     * runner compares it with expect.acknowledgement and frees it. */
    char *reply;
    size_t reply_len;
} lx_conform_answer;

/* ---- drivers (driver_*.c, table in driver.c) ---- */

typedef struct lx_conform_driver {
    const char *kind;       /* suite.json "kind" */
    const char *map_folder; /* maps/<map_folder> in the schema root */
    /* Load the adapter from a schema root whose maps/<map_folder> is the
     * adapter folder under test (adapter_dir, as given). options:
     * suite.json "options". */
    int (*open)(const char *schema_root, const char *adapter_dir,
                const json_t *options, void **state, lx_error *err);
    void (*close)(void **state);
    /* Optional: a case starts (its store is open, nothing written yet) /
     * ends (before its store closes). */
    void (*begin)(void *state, lx_conform_hub *hub);
    void (*end)(void *state, lx_conform_hub *hub);
    /* Hand the adapter one native document from `system`; it stores what
     * it maps into hub->store. input: the case's "input" object (file,
     * format, native_type). Returns 0 with *ans filled (accepted or
     * rejected), or an error when the case could not run. */
    int (*ingest)(void *state, lx_conform_hub *hub, const char *system,
                  const json_t *input, const char *doc, size_t len,
                  lx_conform_answer *ans, lx_error *err);
    /* Start delivering the hub's events to hub->target as `system`
     * (NULL: the adapter has no outbound transport; render is used).
     * options: suite.json "options" overlaid with case.json "options". */
    int (*out_start)(void *state, lx_conform_hub *hub, const char *system,
                     const json_t *options, void **out, lx_error *err);
    void (*out_stop)(void **out);
    /* Wake the delivery: new events were committed. */
    void (*out_notify)(void *out);
    /* Optional: the last event the delivery is done with (every earlier
     * one too: delivered, skipped or refused), with its calls recorded.
     * Deliveries keep event order per record only (a change waits for
     * the id its create gets while other records go on): with this the
     * runner waits for every event, not for the sentinel's call. */
    uint64_t (*out_cursor)(void *out);
    /* Optional: non-zero, with err saying why, once the delivery cannot
     * go on (the adapter's process died): the runner stops waiting for
     * the sentinel and reports that instead of a timeout. */
    int (*out_error)(void *out, lx_error *err);
    /* The native document the adapter makes of stored records (refs:
     * [{"entity","canonical_id"}] in event order), for adapters without
     * an outbound transport. *doc is malloc'd JSON text. */
    int (*render)(void *state, lx_conform_hub *hub, const char *system,
                  const json_t *refs, char **doc, size_t *len,
                  lx_error *err);
} lx_conform_driver;

/* Start the delivery engine (adapters/delivery/delivery.h) over the
 * hub's store as `system`, with the ops ops_of(adapter) fills, the way
 * the runner needs it: one call at a time (calls in event order), short
 * backoffs, two attempts, the case's timeout. Errors: lx_delivery_start's. */
LX_NODISCARD int lx_conform_delivery_start(
    lx_conform_hub *hub, const char *system,
    void (*ops_of)(void *adapter, lx_outbound_ops *ops), void *adapter,
    lx_delivery **out, lx_error *err);

/* The last event a delivery is done with (lx_delivery_stats.cursor): the
 * drivers' out_cursor. */
uint64_t lx_conform_delivery_cursor(lx_delivery *d);

/* The driver of a suite kind, or NULL. */
const lx_conform_driver *lx_conform_driver_find(const char *kind);

extern const lx_conform_driver lx_conform_driver_fhir;
extern const lx_conform_driver lx_conform_driver_hropen;
extern const lx_conform_driver lx_conform_driver_external;
extern const lx_conform_driver lx_conform_driver_x12;
extern const lx_conform_driver lx_conform_driver_edifact;
extern const lx_conform_driver lx_conform_driver_rest;
/* Native adapters (.so): chosen by the target, not by a suite's kind. */
extern const lx_conform_driver lx_conform_driver_native;

/* Remove a folder and everything in it; symbolic links are removed, never
 * followed. Bounded depth (16). */
void lx_conform_remove_tree(const char *dir);

/* lx_conform_run with a driver of the caller's instead of the table's
 * (when its kind is the suite's): the seam for drivers that wrap another
 * (tests that make an adapter misbehave, a native or external target). */
LX_NODISCARD int lx_conform_run_with(const lx_conform_options *opts,
                                     const lx_conform_driver *drv,
                                     lx_conform_report **out, lx_error *err);

/* ---- results ---- */

typedef struct lx_conform_result {
    const lx_conform_case *c;
    lx_conform_status status;
    double ms;
    lx_conform_diffs msgs; /* why it failed or could not run */
} lx_conform_result;

struct lx_conform_report {
    lx_conform_suite suite;
    char adapter_name[128];
    char adapter_version[64];
    char adapter_path[LX_CONFORM_PATH_MAX];
    json_t *adapter_files; /* [{"path","sha256"}] */
    char date[32];         /* UTC, RFC 3339 */
    lx_conform_result *results;
    size_t result_count;
};

/* Run one case (runner.c). */
/* Run one case (runner.c): hub->registry, target and timeout_ms are set;
 * the store is opened for the case and closed after it. */
void lx_conform_case_run(const lx_conform_driver *drv, void *state,
                         const lx_conform_suite *suite,
                         const lx_conform_case *c, lx_conform_hub *hub,
                         lx_conform_result *res);

#endif
