/* tests/integration/harness.h: run a real `lingua serve` for a test and
 * talk to it the way an external adapter does.
 *
 * The harness speaks docs/bus.md with libzmq directly (not through
 * core/bus.h), so that the tests check the wire protocol itself and can
 * send malformed messages. It starts the hub as a child process with a
 * temporary directory (config, data dir, log), loopback endpoints on free
 * ports, and waits until the ROUTER answers STATUS.
 *
 * No orphans: every hub is registered; an atexit handler and handlers for
 * SIGINT, SIGTERM, SIGHUP, SIGALRM and SIGABRT kill it (SIGKILL) and
 * remove its directory; the child also asks the kernel for SIGKILL when
 * the test process dies (PR_SET_PDEATHSIG), which covers crashes and
 * ctest's own timeout. Set LXT_KEEP=1 to keep the directories.
 *
 * A hub may also serve HTTP (lxt_hub_init_http: a free loopback port in
 * "http": {"listen"}, and readiness waits for GET /health too); lxt_http
 * calls it. lxt_target is a recording HTTP/1.1 server on loopback that
 * stands for a partner system the hub delivers to: it is written on raw
 * sockets, not with the hub's own HTTP code, so that the tests see exactly
 * what went over the wire (request-target with its escaping, headers,
 * body).
 *
 * Environment: LX_LINGUA (the lingua binary), LX_SCHEMAS_DIR (the
 * canonical schemas), LX_CORPUS_DIR (the shared corpus, for the tests that
 * read it). Every wait is bounded; timeouts are multiplied by lxt_scale()
 * (3 under AddressSanitizer, or $LXT_SCALE).
 *
 * Threads: a lxt_client belongs to the thread that uses it; the hub
 * functions and lxt_http are for the main thread; a target runs its own
 * threads and its accessors may be called from any thread. */
#ifndef LX_TESTS_INTEGRATION_HARNESS_H
#define LX_TESTS_INTEGRATION_HARNESS_H

#include "core/http_client.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- failing ---- */

/* Print "FAIL file:line: message", the hub's log tail, and exit(1) (the
 * atexit handler then kills the hub and removes its directory). */
#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 3, 4)))
#endif
void lxt_fail_at(const char *file, int line, const char *fmt, ...);

#define LXT_FAIL(...) lxt_fail_at(__FILE__, __LINE__, __VA_ARGS__)
#define LXT_CHECK(cond, ...)                                                 \
    do {                                                                     \
        if (!(cond))                                                         \
            lxt_fail_at(__FILE__, __LINE__, "check failed: " #cond ": "      \
                        __VA_ARGS__);                                        \
    } while (0)

/* A check whose failure does not stop the test: it is printed and
 * counted, and lxt_soft_failures() tells the total (fail at the end). Used
 * for independent checks such as one error case among many, so that one
 * run reports all of them. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void lxt_soft_fail_at(const char *file, int line, const char *fmt, ...);
int lxt_soft_failures(void);
#define LXT_SOFT_FAIL(...) lxt_soft_fail_at(__FILE__, __LINE__, __VA_ARGS__)

/* A soft check that is also counted in lxt_checks, so a test can end with
 * "N checks, M failed". Main thread only (the counter is plain). */
extern int lxt_checks;
#define LXT_SOFT_CHECK(cond, ...)                                            \
    do {                                                                     \
        lxt_checks++;                                                        \
        if (!(cond))                                                         \
            LXT_SOFT_FAIL("check failed: " #cond ": " __VA_ARGS__);          \
    } while (0)

/* Print "-- what" as the heading of the next checks. */
void lxt_step(const char *what);

/* A check of behaviour the hub is known to get wrong, reported to its
 * owners under a short id: when `ok` is false it prints "KNOWN DEVIATION
 * <id>: ..." and counts it, and fails the test only when LXT_STRICT=1;
 * when `ok` holds it prints that <id> no longer reproduces (remove the
 * mark). Everything else a test checks fails it. */
#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
void lxt_known_at(const char *file, int line, bool ok, const char *id,
                  const char *fmt, ...);
int lxt_known_deviations(void);
#define LXT_KNOWN(ok, id, ...) lxt_known_at(__FILE__, __LINE__, (ok), id,   \
                                            __VA_ARGS__)

/* Environment and clocks. lxt_env_path aborts when the variable is unset. */
const char *lxt_env_path(const char *name);
int lxt_scale(void);
/* ms milliseconds scaled for slow builds: ms * lxt_scale(). */
int lxt_ms(int ms);
uint64_t lxt_now_ms(void); /* monotonic */
void lxt_sleep_ms(int ms);

/* ---- the hub process ---- */

#define LXT_PATH_MAX 512
#define LXT_ENDPOINT_MAX 64
#define LXT_EXTRA_MAX 8192

typedef struct lxt_hub {
    char root[LXT_PATH_MAX];     /* temporary directory, removed at the end */
    char data_dir[LXT_PATH_MAX]; /* root/data */
    char config[LXT_PATH_MAX];   /* root/lingua.json */
    char log[LXT_PATH_MAX];      /* root/hub.log: the hub's stdout+stderr */
    char pub[LXT_ENDPOINT_MAX];    /* tcp://127.0.0.1:port */
    char router[LXT_ENDPOINT_MAX];
    char http[LXT_ENDPOINT_MAX];     /* "127.0.0.1:port", "" without HTTP */
    char http_url[LXT_ENDPOINT_MAX]; /* "http://127.0.0.1:port" or "" */
    char extra[LXT_EXTRA_MAX]; /* extra top-level config members, or "" */
    char bus_curve[1024]; /* "bus": {"curve": <this>} when not "" */
    bool with_http;    /* lxt_hub_init_http */
    pid_t pid;         /* 0 when not running */
    int starts;        /* how many times it was started */
} lxt_hub;

/* Make the temporary directory, pick free loopback ports and write the
 * configuration. `extra` (may be NULL, at most LXT_EXTRA_MAX - 1 bytes) is
 * text inserted as more top-level members, e.g.
 * "\"limits\": {\"max_payload\": 2048}"; a member named here replaces
 * the harness's own ("systems" for instance). Fails the test on error.
 * Registers h for cleanup. */
void lxt_hub_init(lxt_hub *h, const char *extra);

/* lxt_hub_init, and the hub also serves HTTP on a free loopback port:
 * "http": {"listen": h->http} is written after `extra` is merged, new
 * ports are picked for it like for the bus, and lxt_hub_wait_ready also
 * waits for GET /health to answer 200. */
void lxt_hub_init_http(lxt_hub *h, const char *extra);

/* Secure the hub's bus: `curve_json` becomes "bus": {"curve": ...} of the
 * configuration (rewritten now; takes effect at the next start). */
void lxt_hub_set_bus_curve(lxt_hub *h, const char *curve_json);

/* CURVE keys for every lxt_client and lxt_sub created from now on (the
 * hub's readiness check included): the hub's public key and the client's
 * keypair, Z85 text; NULL server_public for plain clients again. Main
 * thread, before the clients are made. */
void lxt_curve_keys(const char *server_public, const char *public_key,
                    const char *secret_key);

/* Start `lingua serve --config` (stdout and stderr appended to h->log).
 * Returns at once; see lxt_hub_wait_ready. */
void lxt_hub_spawn(lxt_hub *h);

/* Wait until the hub answers STATUS with OK (and, with HTTP, GET /health
 * with 200). Returns 0, or -1 when the process exited (*exit_status = its
 * wait status) or timeout_ms passed. */
int lxt_hub_wait_ready(lxt_hub *h, int timeout_ms, int *exit_status);

/* Spawn and wait ready; when the first start fails because a port was
 * taken meanwhile, pick new ports (only when allow_new_ports) and retry,
 * at most 3 times. Fails the test when the hub does not come up. */
void lxt_hub_start(lxt_hub *h, int timeout_ms, bool allow_new_ports);

/* Send `sig` and wait up to timeout_ms for the exit; if it does not exit,
 * SIGKILL it. Returns the wait status (as from waitpid) of the exit, or -1
 * when it had to be killed after the timeout. No-op (-2) when not running. */
int lxt_hub_stop(lxt_hub *h, int sig, int timeout_ms);

/* Kill if running, remove the directory (unless LXT_KEEP), unregister. */
void lxt_hub_destroy(lxt_hub *h);

/* Scan the hub's log (every start so far) for sanitizer reports and
 * assertion failures ("Sanitizer", "runtime error:", "lingua: bug:");
 * each one found is a soft failure. Returns how many were found. */
int lxt_hub_check_log(const lxt_hub *h);

/* Print the last `max_bytes` of the hub's log to stderr. */
void lxt_hub_dump_log(const lxt_hub *h, size_t max_bytes);

/* ---- running the CLI ---- */

/* Run argv (argv[0] a path) with stdout captured into *out (malloc'd,
 * NUL-terminated, at most out_max bytes kept) and stderr into *errout
 * (may be NULL: then it goes to the test's stderr). Returns the exit code,
 * or -1 when it timed out (killed) or died by a signal. */
int lxt_run(const char *const argv[], int timeout_ms, char **out,
            char **errout, size_t out_max);

/* ---- a DEALER client ---- */

#define LXT_FRAMES_MAX 8

/* One received multipart message; frames are NUL-terminated copies. */
typedef struct lxt_msg {
    int count; /* frames received (may exceed LXT_FRAMES_MAX: not kept) */
    char *data[LXT_FRAMES_MAX];
    size_t len[LXT_FRAMES_MAX];
} lxt_msg;
void lxt_msg_fini(lxt_msg *m);

typedef struct lxt_client lxt_client;

/* A DEALER connected to `endpoint` (reconnects by itself). */
lxt_client *lxt_client_new(const char *endpoint);
void lxt_client_destroy(lxt_client **c);

/* Send frames as one multipart message. 0 or -1. */
int lxt_client_send(lxt_client *c, int count, const char *const frames[],
                    const size_t lens[]);

/* Receive one message, waiting up to timeout_ms. 0 or -1 (timeout). */
int lxt_client_recv(lxt_client *c, int timeout_ms, lxt_msg *out);

/* A fresh request id (unique in this process). */
void lxt_client_rid(lxt_client *c, char rid[64]);

/* Send [command, fresh rid, body[0..len)] and wait for the reply that
 * echoes the rid, skipping others (late answers to timed-out requests).
 * On success, status gets "OK"/"ERR"/... and *reply the parsed body
 * (NULL when it is not JSON). Returns 0, -1 (timeout) or -2 (a reply that
 * is not 3 frames: the raw message is left in *raw when raw is not NULL). */
int lxt_call_text(lxt_client *c, const char *command, const char *body,
                  size_t len, int timeout_ms, char status[16],
                  json_t **reply, lxt_msg *raw);

/* The same with a JSON body (borrowed), serialized compactly. */
int lxt_call(lxt_client *c, const char *command, const json_t *body,
             int timeout_ms, char status[16], json_t **reply);

/* REPLAY {"from", "limit"} (limit 0: not sent): appends each EVENT body to
 * `events` (a JSON array) and sets *end to the END body. Returns 0, -1
 * (timeout), -2 (unexpected reply; *end then holds the ERR body, if any). */
int lxt_replay(lxt_client *c, uint64_t from, size_t limit, int timeout_ms,
               json_t *events, json_t **end);

/* ---- a SUB client ---- */

typedef struct lxt_sub lxt_sub;

/* A SUB on `endpoint` subscribed to `prefix`; returns after the
 * connection's handshake succeeded and the subscription had time to reach
 * the hub (bounded by timeout_ms; fails the test otherwise). */
lxt_sub *lxt_sub_new(const char *endpoint, const char *prefix,
                     int timeout_ms);
void lxt_sub_destroy(lxt_sub **s);

/* Receive one event: 0 with topic and *event (parsed; NULL when not
 * JSON) and the raw message in *raw (may be NULL), or -1 on timeout. */
int lxt_sub_recv(lxt_sub *s, int timeout_ms, char topic[64], json_t **event,
                 lxt_msg *raw);

/* ---- HTTP calls ---- */

/* One call with the harness's keep-alive client (main thread only).
 * headers: "Name: value" lines, NULL-ended, or NULL. Returns 0 with *res
 * filled (any status), or -1 on a transport error or timeout (the message
 * is printed; *res is initialised either way). The caller releases *res
 * with lx_http_result_fini. */
int lxt_http(const char *method, const char *url, const char *const headers[],
             const char *body, size_t len, int timeout_ms,
             lx_http_result *res);

/* ---- a recording HTTP target ---- */

/* One request as the target received it. */
typedef struct lxt_request {
    char method[16];
    char target[4096];       /* the request-target as sent: path?query */
    char content_type[256];  /* "" when absent */
    char accept[256];        /* "" when absent */
    char authorization[256]; /* "" when absent */
    bool chunked;            /* Transfer-Encoding: chunked (refused 411) */
    char *body;              /* NUL-terminated copy ("" when none) */
    size_t body_len;
} lxt_request;

/* What the responder answers. status defaults to 200; the strings are
 * copied; body (may be NULL) is malloc'd and freed by the target. */
typedef struct lxt_reply {
    int status;
    char location[1024];    /* "" : no Location header */
    char etag[64];          /* "" : no ETag header */
    char content_type[128]; /* "" : application/fhir+json when a body */
    char *body;
    size_t body_len;
} lxt_reply;

/* Called on a connection thread, once per request, after the request was
 * recorded; several may run at once. */
typedef void (*lxt_target_fn)(void *ctx, const lxt_request *req,
                              lxt_reply *rep);

typedef struct lxt_target lxt_target;

/* Listen on 127.0.0.1 on a free port below the ephemeral range (HTTP/1.1,
 * keep-alive, Content-Length bodies up to 16 MiB, Expect: 100-continue).
 * Fails the test on error. Safe to call before lxt_hub_init. */
lxt_target *lxt_target_start(lxt_target_fn fn, void *ctx);
int lxt_target_port(const lxt_target *t);
/* Requests recorded so far. */
size_t lxt_target_count(lxt_target *t);
/* Wait until at least n requests were recorded: 0, or -1 after
 * timeout_ms. */
int lxt_target_wait(lxt_target *t, size_t n, int timeout_ms);
/* The i-th request, borrowed until lxt_target_stop; NULL past the end. */
const lxt_request *lxt_target_request(lxt_target *t, size_t i);
/* Close the listener and every connection, join the threads, free. */
void lxt_target_stop(lxt_target **t);

/* ---- files and the FHIR corpus ---- */

/* The whole file, NUL-terminated (malloc'd); fails the test on error. */
char *lxt_read_file(const char *path, size_t *len);
/* $LX_CORPUS_DIR/rel, read whole (fails the test when unset or absent). */
char *lxt_corpus_file(const char *rel, size_t *len);

/* The part of a FHIR Patient that schemas/maps/fhir/patient.json carries
 * to the canonical person and back, as a new JSON object to compare with
 * json_equal: identifier[value]{system,value,use}, the official name else
 * the first {family,given,prefix,suffix}, telecom[value]{system,value,
 * use}, gender, birthDate, address[]{use,type,line,city,district,state,
 * postalCode,country,period{start,end}}; absent members stay absent. */
json_t *lxt_patient_projection(const json_t *patient);

/* ---- JSON helpers ---- */

/* Member access that fails the test with `what` when the type is wrong. */
const char *lxt_jstr(const json_t *o, const char *key, const char *what);
json_int_t lxt_jint(const json_t *o, const char *key, const char *what);
bool lxt_jbool(const json_t *o, const char *key, const char *what);

/* Compact text of v (static buffer per thread is not used: malloc'd). */
char *lxt_jdump(const json_t *v);

#endif
