/* tests/integration/dlv_util.h: what the delivery tests and the delivery
 * benchmark share: a FHIR target that records which change of which
 * Patient it accepted, and can be down (503), silent or refusing (422);
 * test Patients that carry their own version; /metrics reading.
 *
 * A test Patient "<ident> version k" has the identifier
 * urn:lingua:dlv|<ident> and the name {family "Dlv", given ["V<k>"]}: the
 * mapped fields carry the version, so the target (which only sees what the
 * hub sends) and the event log (canonical records) both tell which change
 * a request or an event is.
 *
 * Threads: a dlv_target's accessors may be called from any thread; its
 * handler runs on the harness target's connection threads. */
#ifndef LX_TESTS_INTEGRATION_DLV_UTIL_H
#define LX_TESTS_INTEGRATION_DLV_UTIL_H

#include "tests/integration/harness.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DLV_IDENT_SYSTEM "urn:lingua:dlv"
#define DLV_IDENT_MAX 32

/* A soft check (the harness's LXT_SOFT_CHECK: counted in lxt_checks, a
 * failure is reported and the test goes on), and a wait of ms
 * milliseconds scaled for slow builds (lxt_ms). */
#define DLV_CHECK LXT_SOFT_CHECK
#define dlv_ms lxt_ms

/* The end of a delivery test: SIGTERM, the hub must exit 0 and its log
 * have no sanitizer report (soft checks); then it is destroyed. */
void dlv_hub_finish(lxt_hub *h);

/* Print "N checks, M failed, K known deviations"; the exit status. */
int dlv_report(void);

/* CLOCK_MONOTONIC in microseconds (the same clock as lxt_now_ms). */
uint64_t dlv_now_us(void);

/* A new Patient resource for <ident> version k; id (may be NULL) is set
 * as its "id". */
json_t *dlv_patient(const char *ident, int version, const char *id);

/* From a FHIR Patient or a canonical person record (both carry
 * identifier(s)[].value and name.given[0] / name[0].given[0]): the
 * DLV_IDENT_SYSTEM identifier's value and the version. false when either
 * is missing. */
bool dlv_identify(const json_t *patient_or_record, char ident[DLV_IDENT_MAX],
                  int *version);

/* How a dlv_target answers. */
typedef enum dlv_mode {
    DLV_UP,     /* 201 (conditional) / 200 */
    DLV_DOWN,   /* 503 until down_until_ms */
    DLV_SILENT, /* reads the request, answers nothing until down_until_ms */
    DLV_PAUSE   /* the first request waits until dlv_target_release */
} dlv_mode;

/* One accepted (2xx-answered) change. */
typedef struct dlv_got {
    char ident[DLV_IDENT_MAX];
    int version;
    uint64_t at_ms;    /* lxt_now_ms() when it arrived */
    uint64_t at_us;    /* dlv_now_us() when it arrived */
    char *projection;  /* lxt_patient_projection, compact (NULL when light) */
    char method[8];
    bool direct;       /* PUT [base]/Patient/{id}, not conditional */
} dlv_got;

typedef struct dlv_target {
    lxt_target *t;
    int port;
    pthread_mutex_t mu;
    dlv_mode mode;
    uint64_t down_until_ms;       /* DLV_DOWN, DLV_SILENT */
    char refuse[DLV_IDENT_MAX];   /* 422 for this ident, "" none */
    bool light;                   /* no projection kept (benchmark) */
    bool released;                /* DLV_PAUSE */
    dlv_got *got;
    size_t count, cap;
    uint64_t refused, unavailable, silent, unreadable;
} dlv_target;

/* Start on a free loopback port (fails the test on error). */
void dlv_target_start(dlv_target *d, dlv_mode mode, bool light);
/* Change the behaviour (thread-safe). */
void dlv_target_set(dlv_target *d, dlv_mode mode, uint64_t down_until_ms);
void dlv_target_refuse(dlv_target *d, const char *ident);
void dlv_target_release(dlv_target *d);
size_t dlv_target_count(dlv_target *d);
/* A copy of the i-th accepted change (projection borrowed until stop). */
dlv_got dlv_target_got(dlv_target *d, size_t i);
/* Wait until at least n changes were accepted: 0, or -1 after timeout. */
int dlv_target_wait(dlv_target *d, size_t n, int timeout_ms);
void dlv_target_stop(dlv_target *d);

/* The value of `family{instance="name"}` in GET /metrics, or -1 when the
 * call fails or the line is absent (main thread: uses lxt_http). */
long long dlv_metric(const lxt_hub *h, const char *family,
                     const char *instance);

/* PUT (id given) or POST a Patient to base ("http://.../fhir/r4") with
 * lxt_http. Returns the HTTP status (-1 on a transport error); the id the
 * hub gave (from Location) goes into id_out (may be NULL, 64 bytes). */
long dlv_send(const char *base, const json_t *patient, const char *id,
              char id_out[64]);

/* `lingua dlq ARGS... --data-dir <hub's>`: exit code, stdout in *out. */
int dlv_cli(const lxt_hub *h, const char *const args[], char **out);

/* The hub config members for an inbound facade "ehr-in" (system ehr) at
 * /fhir/r4 followed by `outs` (text of more adapter objects, may be "").
 * Writes into buf. */
void dlv_config(char *buf, size_t size, const char *systems,
                const char *outs);

#endif
