/* adapters/delivery/delivery.c: see delivery.h.
 *
 * The thread keeps a window of events read after the cursor (a ring, in
 * log order) and a fixed set of jobs, one per call in flight or waiting
 * for its retry. Each pass: move the calls on (curl multi), handle the
 * finished ones, start the events that may start, advance the cursor over
 * the finished prefix of the window, then wait for the network, a
 * notification or the next retry. */
#include "adapters/delivery/delivery.h"
#include "adapters/delivery/delivery_book.h"
#include "adapters/delivery/delivery_event.h"
#include "core/buf.h"
#include "core/id.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define FETCH_MAX 64
#define PATTERNS_MAX 32
#define CONCURRENCY_MAX 256
#define WINDOW_LIMIT 4096
#define REQUESTS_EVERY_MS 500
#define IDLE_WAIT_MS 1000
#define SHARED_EVENTS 512

typedef enum outcome { DELIVERED, SKIPPED, REFUSED } outcome;

/* Why an event was refused: what goes into its dead letter. */
typedef struct failure {
    char reason[512];
    long status;
    char url[LX_DELIVERY_URL_MAX];
    char method[16];
    char response[2048]; /* the start of the target's answer */
    unsigned attempts;
} failure;

/* One event of the window. */
typedef struct slot {
    uint64_t seq;
    json_t *ev;     /* parsed; NULL once done */
    uint64_t key;   /* hash of the canonical id: same record, same key */
    bool refs;      /* the record refers to other records */
    bool done;
    bool active;    /* a job holds it */
} slot;

/* One event being delivered: its call in flight, or waiting for a retry. */
typedef struct job {
    bool used;
    slot *s;          /* NULL for a dead letter being replayed */
    uint64_t seq;
    json_t *ev;       /* borrowed from s, owned when replaying */
    lx_outbound_call call;
    failure f;
    unsigned attempts; /* made so far */
    bool in_flight;
    bool waiting;     /* for its retry, until due_ms */
    uint64_t due_ms;
} job;

struct lx_delivery {
    lx_store *store;
    lx_outbound_ops ops;
    char instance[LX_STORE_NAME_MAX + 1];
    char *trace_head;  /* a trace step's start, up to "instance":"..." */
    char cursor_name[LX_STORE_NAME_MAX + 1];
    char system[LX_STORE_NAME_MAX + 1];
    char *patterns[PATTERNS_MAX + 1];
    unsigned base_ms, max_ms, cursor_interval_ms, max_attempts;
    long timeout_ms;
    unsigned concurrency;
    uint64_t max_lag;
    lx_http_multi *multi;

    pthread_t thread;
    atomic_bool stop, notified;

    /* The window: slots[(head + i) % window_max] for i < window_count. */
    slot *slots;
    size_t window_max, head, window_count;
    uint64_t next_seq;     /* next event to read */
    bool log_end;          /* the last read reached the end of the log */
    job *jobs;             /* concurrency of them */
    size_t jobs_used, retrying;
    uint64_t rewind_to;    /* operator's rewind, pending; 0 none */
    bool book_wait;        /* an event waits for its record's target id */
    bool lag_reported;
    uint64_t when_ms;      /* trace steps: the time last formatted */
    char when[LX_TIME_SIZE];

    /* Target ids, trace steps and the cursor: written by its own thread. */
    lx_delivery_book *book;
    /* Events parsed by any delivery of this store (shared_events). */
    lx_delivery_events *events;

    _Atomic uint64_t cursor, delivered, skipped, refused, retries;
    atomic_uint in_flight;
    atomic_bool failing;
};

bool lx_delivery_topic_matches(const char *const *patterns, const char *topic)
{
    if (!patterns || !patterns[0])
        return true;
    for (size_t i = 0; patterns[i]; i++) {
        const char *p = patterns[i];
        size_t pl = strlen(p);
        if (strcmp(p, "*") == 0 || strcmp(p, topic) == 0)
            return true;
        /* "person.*": the entity part must match exactly. */
        if (pl >= 2 && p[pl - 1] == '*' && p[pl - 2] == '.' &&
            strncmp(p, topic, pl - 1) == 0)
            return true;
    }
    return false;
}

void lx_delivery_notify(lx_delivery *d)
{
    /* One wakeup (an eventfd write, on the store's completer thread) per
     * batch of events: while the flag is still set the thread has not
     * read the log since the last wakeup, and will see these events too
     * when it does (fill_window clears the flag before reading). */
    if (!atomic_exchange(&d->notified, true))
        lx_http_multi_wakeup(d->multi);
}

/* The deliveries of one store (one hub) share the events they parsed: each
 * event is parsed once, not once per instance (delivery_event.h). The
 * cache lives as long as a delivery of its store runs. */
typedef struct shared_events {
    lx_store *store;
    lx_delivery_events *cache;
    unsigned users;
    struct shared_events *next;
} shared_events;

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static shared_events *shared_list;

static lx_delivery_events *events_acquire(lx_store *store)
{
    pthread_mutex_lock(&shared_lock);
    shared_events *e = shared_list;
    while (e && e->store != store)
        e = e->next;
    if (!e) {
        e = lx_xcalloc(1, sizeof(*e));
        e->store = store;
        e->cache = lx_delivery_events_new(SHARED_EVENTS);
        e->next = shared_list;
        shared_list = e;
    }
    e->users++;
    pthread_mutex_unlock(&shared_lock);
    return e->cache;
}

static void events_release(lx_store *store)
{
    pthread_mutex_lock(&shared_lock);
    for (shared_events **p = &shared_list; *p; p = &(*p)->next) {
        shared_events *e = *p;
        if (e->store != store)
            continue;
        if (--e->users == 0) {
            *p = e->next;
            lx_delivery_events_destroy(&e->cache);
            free(e);
        }
        break;
    }
    pthread_mutex_unlock(&shared_lock);
}

/* Exponential backoff with jitter: a uniformly random delay between half
 * and all of min(max, base * 2^attempt), so many deliveries retrying one
 * target do not hammer it in step. */
static unsigned backoff_ms(const lx_delivery *d, unsigned attempt)
{
    uint64_t delay = d->base_ms;
    for (unsigned i = 0; i < attempt && delay < d->max_ms; i++)
        delay *= 2;
    if (delay > d->max_ms)
        delay = d->max_ms;
    uint32_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r = (uint32_t)lx_mono_ms();
    return (unsigned)(delay / 2 + r % (delay / 2 + 1));
}

static void call_release(lx_outbound_call *call)
{
    free(call->body);
    for (size_t i = 0; i < sizeof(call->extra) / sizeof(call->extra[0]); i++)
        free(call->extra[i]);
    memset(call, 0, sizeof(*call));
}

/* Decimal digits of v into out (at least 21 bytes); returns the length. */
static size_t u64_text(uint64_t v, char *out)
{
    char tmp[21];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static int buf_u64(lx_buf *b, uint64_t v)
{
    char t[21];
    return lx_buf_append(b, t, u64_text(v, t));
}

/* One attempt, for `lingua trace`: target, status, latency, error. Written
 * piece by piece rather than built as a jansson object or with printf: one
 * step per call, and those cost as much as a fifth of the call. The time
 * is formatted once per millisecond. */
static void trace_attempt(lx_delivery *d, const char *trace, long long seq,
                          unsigned attempt, const lx_http_call *call,
                          long status, double ms, const char *error)
{
    if (!trace || !*trace)
        return;
    uint64_t now = lx_now_ms();
    if (now != d->when_ms) {
        lx_time_format(now, d->when);
        d->when_ms = now;
    }
    /* latency_ms with three decimals, as "%.3f" writes it. */
    uint64_t us = ms > 0 ? (uint64_t)(ms * 1000.0 + 0.5) : 0;
    char frac[4] = {(char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10),
                    (char)('0' + us % 10), '\0'};
    lx_buf b;
    lx_buf_init(&b, 4 * LX_DELIVERY_URL_MAX + 4096);
    int rc = lx_buf_puts(&b, "{\"step\":\"delivery\",\"time\":\"");
    rc = rc ? rc : lx_buf_puts(&b, d->when);
    rc = rc ? rc : lx_buf_puts(&b, d->trace_head); /* ","instance":"..." */
    rc = rc ? rc : lx_buf_puts(&b, ",\"seq\":");
    if (seq < 0)
        rc = rc ? rc : lx_buf_puts(&b, "-");
    rc = rc ? rc : buf_u64(&b, seq < 0 ? 0 - (uint64_t)seq : (uint64_t)seq);
    rc = rc ? rc : lx_buf_puts(&b, ",\"attempt\":");
    rc = rc ? rc : buf_u64(&b, attempt);
    rc = rc ? rc : lx_buf_puts(&b, ",\"method\":");
    rc = rc ? rc : lx_buf_json_string(&b, call->method, strlen(call->method));
    rc = rc ? rc : lx_buf_puts(&b, ",\"url\":");
    rc = rc ? rc : lx_buf_json_string(&b, call->url, strlen(call->url));
    rc = rc ? rc : lx_buf_puts(&b, ",\"status\":");
    if (status < 0)
        rc = rc ? rc : lx_buf_puts(&b, "-");
    rc = rc ? rc : buf_u64(&b, status < 0 ? 0 - (uint64_t)status
                                          : (uint64_t)status);
    rc = rc ? rc : lx_buf_puts(&b, ",\"latency_ms\":");
    rc = rc ? rc : buf_u64(&b, us / 1000);
    rc = rc ? rc : lx_buf_puts(&b, ".");
    rc = rc ? rc : lx_buf_puts(&b, frac);
    if (error) {
        /* Transport errors read "METHOD URL: reason": the URL is already
         * in the step. */
        const char *reason = strstr(error, ": ");
        reason = reason ? reason + 2 : error;
        rc = rc ? rc : lx_buf_puts(&b, ",\"error\":");
        rc = rc ? rc : lx_buf_json_string(&b, reason, strlen(reason));
    }
    rc = rc ? rc : lx_buf_puts(&b, "}");
    if (rc != 0) {
        lx_buf_fini(&b);
        return;
    }
    lx_delivery_book_trace(d->book, lx_xstrdup(trace), lx_buf_take(&b, NULL));
}

static void note_response(failure *f, const lx_http_result *res)
{
    f->status = res->status;
    size_t n = res->body_len < sizeof(f->response) - 1
                   ? res->body_len
                   : sizeof(f->response) - 1;
    if (res->body)
        memcpy(f->response, res->body, n);
    f->response[n] = '\0';
}

/* Whether a canonical record refers to other records ({"entity": ..,
 * "id" | "identifier": ..} anywhere in it). */
static bool has_reference(const json_t *v, int depth)
{
    if (depth > 32)
        return false;
    if (json_is_object(v)) {
        if (json_object_get(v, "entity") &&
            (json_object_get(v, "id") || json_object_get(v, "identifier")))
            return true;
        const char *k;
        json_t *c;
        json_object_foreach((json_t *)v, k, c)
        {
            if (has_reference(c, depth + 1))
                return true;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
        {
            if (has_reference(c, depth + 1))
                return true;
        }
    }
    return false;
}

/* Dead letters live in the store's state under
 * "dlq/<instance>/<seq, 20 digits>", so they sort by sequence and survive
 * restarts; `lingua dlq` lists, shows, replays and drops them. */
static void dead_letter_key(const lx_delivery *d, uint64_t seq, char *key,
                            size_t size)
{
    snprintf(key, size, "dlq/%s/%020llu", d->instance,
             (unsigned long long)seq);
}

static void dead_letter(lx_delivery *d, uint64_t seq, const json_t *ev,
                        const failure *f)
{
    char key[LX_STORE_KEY_MAX + 1], when[LX_TIME_SIZE];
    dead_letter_key(d, seq, key, sizeof(key));
    lx_time_format(lx_now_ms(), when);
    json_t *o = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:i,s:s}",
                          "instance", d->instance, "seq", (json_int_t)seq,
                          "event_id", lx_json_str(ev, "id") ? lx_json_str(ev, "id") : "",
                          "type", lx_json_str(ev, "type") ? lx_json_str(ev, "type") : "",
                          "canonical_id",
                          lx_json_str(ev, "canonical_id") ? lx_json_str(ev, "canonical_id") : "",
                          "reason", f->reason, "time", when, "attempts",
                          (int)f->attempts, "state", "dead");
    if (f->url[0]) {
        json_object_set_new(o, "request", json_pack("{s:s,s:s}", "method",
                                                     f->method, "url",
                                                     f->url));
        json_object_set_new(o, "response",
                            json_pack("{s:I,s:s}", "status",
                                      (json_int_t)f->status, "body",
                                      f->response));
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    lx_error err;
    lx_error_clear(&err);
    if (!text || lx_store_state_put(d->store, key, text, strlen(text),
                                    &err) != 0)
        lx_log_error(NULL, "deliver %s: cannot write the dead letter of "
                           "event %llu: %s",
                     d->instance, (unsigned long long)seq, err.msg);
    free(text);
}

/* FNV-1a of the canonical id: events of one record share it. Two records
 * that collide are merely kept in order with each other. */
static uint64_t record_key(const char *cid)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)(cid ? cid : "");
         *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h;
}

static const char *trace_of(const json_t *ev)
{
    return lx_json_str(json_object_get(ev, "origin"), "trace");
}

/* ---- the end of an event ---- */

static void job_release(lx_delivery *d, job *j)
{
    call_release(&j->call);
    if (!j->s)
        json_decref(j->ev);
    if (j->attempts > 1 || j->waiting)
        d->retrying--;
    memset(j, 0, sizeof(*j));
    d->jobs_used--;
    atomic_store(&d->failing, d->retrying > 0);
}

static void finish_event(lx_delivery *d, job *j, outcome o)
{
    if (o == REFUSED)
        dead_letter(d, j->seq, j->ev, &j->f);
    if (!j->s) {
        /* A dead letter replayed: once delivered, it leaves the list. */
        if (o != REFUSED) {
            char key[LX_STORE_KEY_MAX + 1];
            lx_error err;
            lx_error_clear(&err);
            dead_letter_key(d, j->seq, key, sizeof(key));
            if (lx_store_state_del(d->store, key, &err) != 0)
                lx_log_error(NULL, "deliver %s: %s", d->instance, err.msg);
            atomic_fetch_add(&d->delivered, o == DELIVERED);
            lx_log_info(NULL, "deliver %s: dead letter %llu replayed",
                        d->instance, (unsigned long long)j->seq);
        }
    } else {
        if (o == DELIVERED)
            atomic_fetch_add(&d->delivered, 1);
        else if (o == SKIPPED)
            atomic_fetch_add(&d->skipped, 1);
        else
            atomic_fetch_add(&d->refused, 1);
        j->s->done = true;
        j->s->active = false;
        json_decref(j->s->ev);
        j->s->ev = NULL;
    }
    job_release(d, j);
}

/* The answer to one attempt: delivered, retried later, or refused. */
static void on_result(lx_delivery *d, job *j, int rc, lx_http_result *res,
                      const lx_error *err)
{
    const char *trace = trace_of(j->ev);
    long long seq = (long long)j->seq;
    trace_attempt(d, trace, seq, j->attempts, &j->call.http, res->status,
                  res->elapsed_ms, rc != 0 ? err->msg : NULL);
    if (rc == 0 && res->status >= 200 && res->status < 300) {
        char nid[LX_STORE_NATIVE_ID_MAX + 1] = "";
        if (d->ops.native_id)
            d->ops.native_id(d->ops.ctx, j->ev, res, nid, sizeof(nid));
        const char *entity = lx_json_str(j->ev, "entity");
        const char *cid = lx_json_str(j->ev, "canonical_id");
        if (nid[0] && entity && cid && j->call.native_type[0])
            lx_delivery_book_link(d->book, record_key(cid), entity, cid,
                                  j->call.native_type, nid);
        lx_log_debug(trace, "deliver %s: event %lld -> %s %ld in %.1f ms",
                     d->instance, seq, j->call.http.method, res->status,
                     res->elapsed_ms);
        finish_event(d, j, DELIVERED);
        return;
    }
    failure *f = &j->f;
    f->attempts = j->attempts;
    bool retry = rc != 0 || res->status >= 500 || res->status == 429 ||
                 res->status == 408;
    if (!retry || (d->max_attempts && j->attempts >= d->max_attempts)) {
        if (!retry)
            snprintf(f->reason, sizeof(f->reason), "the target answered %ld",
                     res->status);
        else if (rc != 0)
            snprintf(f->reason, sizeof(f->reason),
                     "gave up after %u attempts: %s", j->attempts, err->msg);
        else
            snprintf(f->reason, sizeof(f->reason),
                     "gave up after %u attempts: the target answered %ld",
                     j->attempts, res->status);
        note_response(f, res);
        snprintf(f->url, sizeof(f->url), "%s", j->call.http.url);
        snprintf(f->method, sizeof(f->method), "%s", j->call.http.method);
        lx_log_error(trace, "deliver %s: event %lld refused: %s %s: %s",
                     d->instance, seq, j->call.http.method,
                     j->call.http.url, f->reason);
        finish_event(d, j, REFUSED);
        return;
    }
    unsigned delay = backoff_ms(d, j->attempts - 1);
    if (rc != 0)
        lx_log_warn(trace, "deliver %s: event %lld attempt %u failed: %s; "
                           "retrying in %u ms",
                    d->instance, seq, j->attempts, err->msg, delay);
    else
        lx_log_warn(trace, "deliver %s: event %lld attempt %u: target "
                           "answered %ld; retrying in %u ms",
                    d->instance, seq, j->attempts, res->status, delay);
    if (j->attempts == 1)
        d->retrying++;
    j->waiting = true;
    j->due_ms = lx_mono_ms() + delay;
    atomic_fetch_add(&d->retries, 1);
    atomic_store(&d->failing, true);
}

/* One attempt: inline through the adapter's perform, or started on the
 * multi (answered later by collect()). */
static void attempt(lx_delivery *d, job *j)
{
    j->waiting = false;
    j->attempts++;
    lx_http_result res;
    memset(&res, 0, sizeof(res));
    lx_error err;
    lx_error_clear(&err);
    int rc;
    if (d->ops.perform) {
        rc = d->ops.perform(d->ops.ctx, &j->call, &res, &err);
    } else {
        rc = lx_http_multi_start(d->multi, &j->call.http, j, &err);
        if (rc == 0) {
            j->in_flight = true;
            atomic_fetch_add(&d->in_flight, 1);
            return;
        }
    }
    on_result(d, j, rc, &res, &err);
    lx_http_result_fini(&res);
}

static void collect(lx_delivery *d)
{
    void *tag;
    lx_http_result res;
    int rc;
    lx_error err;
    lx_error_clear(&err);
    while (lx_http_multi_done(d->multi, &tag, &res, &rc, &err)) {
        job *j = tag;
        j->in_flight = false;
        atomic_fetch_sub(&d->in_flight, 1);
        on_result(d, j, rc, &res, &err);
        lx_http_result_fini(&res);
        lx_error_clear(&err);
    }
}

static job *free_job(lx_delivery *d)
{
    for (unsigned i = 0; i < d->concurrency; i++)
        if (!d->jobs[i].used)
            return &d->jobs[i];
    return NULL;
}

/* Prepare ev and make its first attempt. s is NULL for a replay (j then
 * owns ev). */
static void start_event(lx_delivery *d, job *j, slot *s, uint64_t seq,
                        json_t *ev)
{
    memset(j, 0, sizeof(*j));
    j->used = true;
    d->jobs_used++;
    j->s = s;
    j->seq = seq;
    j->ev = ev;
    if (s)
        s->active = true;
    /* The call is translated through the target's ids of this record (a
     * direct update) and of the records it refers to: those delivered
     * just before must be recorded first. */
    bool refs = s ? s->refs
                  : has_reference(json_object_get(ev, "record"), 0);
    uint64_t key = refs ? 0
               : s  ? s->key
                    : record_key(lx_json_str(ev, "canonical_id"));
    if (lx_delivery_book_link_pending(d->book, key)) /* refs, replays */
        lx_delivery_book_flush(d->book, atomic_load(&d->cursor), true);
    bool skip = false;
    lx_error err;
    lx_error_clear(&err);
    if (d->ops.prepare(d->ops.ctx, d->store, ev, &j->call, &skip, &err) !=
        0) {
        lx_log_error(trace_of(ev), "deliver %s: event %llu refused by the "
                                   "adapter: %s",
                     d->instance, (unsigned long long)seq, err.msg);
        snprintf(j->f.reason, sizeof(j->f.reason), "adapter: %s", err.msg);
        finish_event(d, j, REFUSED);
        return;
    }
    if (skip) {
        finish_event(d, j, SKIPPED);
        return;
    }
    if (j->call.http.timeout_ms == 0)
        j->call.http.timeout_ms = d->timeout_ms;
    attempt(d, j);
}

/* ---- the window ---- */

typedef struct fetch_ctx {
    lx_delivery *d;
    size_t room;
    size_t got;
} fetch_ctx;

static int fetch_one(void *ctx, uint64_t seq, const char *text, size_t len)
{
    fetch_ctx *fc = ctx;
    lx_delivery *d = fc->d;
    slot *s = &d->slots[(d->head + d->window_count) % d->window_max];
    memset(s, 0, sizeof(*s));
    s->seq = seq;
    d->window_count++;
    d->next_seq = seq + 1;
    fc->got++;
    /* Shared with the other deliveries of the store: never changed. */
    json_t *ev = lx_delivery_events_get(d->events, seq, text, len);
    const char *type = lx_json_str(ev, "type");
    const char *from = lx_json_str(json_object_get(ev, "origin"), "system");
    if (!ev) {
        lx_log_error(NULL, "deliver %s: event %llu is not JSON; skipped",
                     d->instance, (unsigned long long)seq);
        atomic_fetch_add(&d->refused, 1);
        s->done = true;
    } else if (!type || !lx_delivery_topic_matches(
                            (const char *const *)d->patterns, type) ||
               (from && strcmp(from, d->system) == 0)) {
        /* Not subscribed, or its own change coming back: never deliver a
         * change back to where it came from. */
        atomic_fetch_add(&d->skipped, 1);
        s->done = true;
        json_decref(ev);
    } else {
        s->ev = ev;
        s->key = record_key(lx_json_str(ev, "canonical_id"));
        s->refs = has_reference(json_object_get(ev, "record"), 0);
    }
    return fc->got >= fc->room;
}

static void fill_window(lx_delivery *d)
{
    if (atomic_exchange(&d->notified, false))
        d->log_end = false;
    if (d->log_end || d->rewind_to || d->window_count == d->window_max)
        return;
    size_t room = d->window_max - d->window_count;
    if (room > FETCH_MAX)
        room = FETCH_MAX;
    fetch_ctx fc = {d, room, 0};
    lx_error err;
    lx_error_clear(&err);
    if (lx_store_events(d->store, d->next_seq, room, fetch_one, &fc, NULL,
                        &err) != 0) {
        lx_log_error(NULL, "deliver %s: cannot read the event log: %s",
                     d->instance, err.msg);
        d->log_end = true; /* tried again within a second */
        return;
    }
    if (fc.got < room)
        d->log_end = true;
}

/* Start what may start, in log order. An event waits while an earlier
 * event of its record is not done, and, when its record refers to
 * others, while any earlier event is not done. */
static void dispatch(lx_delivery *d, uint64_t now)
{
    for (unsigned i = 0; i < d->concurrency; i++) {
        job *j = &d->jobs[i];
        if (j->used && j->waiting && j->due_ms <= now && !d->rewind_to)
            attempt(d, j);
    }
    if (d->rewind_to || d->retrying > 0)
        return;
    uint64_t busy[WINDOW_LIMIT];
    size_t nbusy = 0;
    for (size_t k = 0; k < d->window_count && d->jobs_used < d->concurrency;
         k++) {
        slot *s = &d->slots[(d->head + k) % d->window_max];
        if (s->done)
            continue;
        if (!s->active) {
            bool free_to_go = !(s->refs && nbusy > 0);
            for (size_t b = 0; free_to_go && b < nbusy; b++)
                free_to_go = busy[b] != s->key;
            /* The next change of a record whose target id is not written
             * yet waits for it without blocking: calls in flight meanwhile
             * must be answered (their timeouts run). */
            if (free_to_go && !s->refs &&
                lx_delivery_book_link_pending(d->book, s->key)) {
                lx_delivery_book_flush(d->book, atomic_load(&d->cursor),
                                       false);
                d->book_wait = true;
                free_to_go = false;
            }
            if (free_to_go) {
                start_event(d, free_job(d), s, s->seq, s->ev);
                if (d->retrying > 0)
                    return;
            }
        }
        if (!s->done)
            busy[nbusy++] = s->key;
    }
}

/* The cursor moves over the finished prefix of the window. */
static void advance(lx_delivery *d)
{
    while (d->window_count > 0 && d->slots[d->head].done) {
        atomic_store(&d->cursor, d->slots[d->head].seq);
        d->head = (d->head + 1) % d->window_max;
        d->window_count--;
    }
}

/* Hand the cursor (with the target ids and trace steps before it) to the
 * bookkeeping thread, unless it is still writing the previous batch. */
static void save_cursor(lx_delivery *d, bool wait)
{
    uint64_t cur = atomic_load(&d->cursor);
    uint64_t last = lx_store_last_seq(d->store);
    uint64_t lag = last > cur ? last - cur : 0;
    if (lag > d->max_lag && !d->lag_reported)
        lx_log_warn(NULL, "deliver %s: lagging, %llu events behind the log "
                          "(limit %llu)",
                    d->instance, (unsigned long long)lag,
                    (unsigned long long)d->max_lag);
    else if (lag <= d->max_lag && d->lag_reported)
        lx_log_info(NULL, "deliver %s: back within the lag limit (%llu "
                          "events behind)",
                    d->instance, (unsigned long long)lag);
    d->lag_reported = lag > d->max_lag;
    if (lx_delivery_book_dirty(d->book, cur))
        lx_delivery_book_flush(d->book, cur, wait);
}

/* Drop every job and the whole window (a rewind, or the end). Calls in
 * flight must be over or abandoned. */
static void drop_all(lx_delivery *d)
{
    for (unsigned i = 0; i < d->concurrency; i++)
        if (d->jobs[i].used)
            job_release(d, &d->jobs[i]);
    for (size_t k = 0; k < d->window_count; k++)
        json_decref(d->slots[(d->head + k) % d->window_max].ev);
    d->head = d->window_count = 0;
}

/* ---- operators' requests: replay a dead letter, rewind the cursor ---- */

typedef struct replay_list {
    uint64_t seqs[64];
    size_t n;
} replay_list;

static int collect_replays(void *ctx, const char *key, const char *value,
                           size_t len)
{
    replay_list *l = ctx;
    json_t *o = json_loadb(value, len, 0, NULL);
    const char *state = lx_json_str(o, "state");
    const char *tail = strrchr(key, '/');
    if (state && strcmp(state, "replay") == 0 && tail && l->n < 64)
        l->seqs[l->n++] = strtoull(tail + 1, NULL, 10);
    json_decref(o);
    return l->n >= 64;
}

static int take_one(void *ctx, uint64_t seq, const char *event, size_t len)
{
    json_t **ev = ctx;
    *ev = lx_delivery_event_parse(event, len); /* its own: "seq" is added */
    if (*ev)
        json_object_set_new(*ev, "seq", json_integer((json_int_t)seq));
    return 1;
}

static bool replaying(const lx_delivery *d, uint64_t seq)
{
    for (unsigned i = 0; i < d->concurrency; i++)
        if (d->jobs[i].used && !d->jobs[i].s && d->jobs[i].seq == seq)
            return true;
    return false;
}

static void serve_requests(lx_delivery *d)
{
    lx_error err;
    lx_error_clear(&err);
    char key[LX_STORE_KEY_MAX + 1], *value = NULL;
    snprintf(key, sizeof(key), "replay/%s", d->instance);
    if (!d->rewind_to &&
        lx_store_state_get(d->store, key, &value, NULL, &err) == 0) {
        uint64_t from = strtoull(value, NULL, 10);
        free(value);
        if (lx_store_state_del(d->store, key, &err) == 0 && from > 0) {
            lx_log_info(NULL, "deliver %s: replaying from event %llu "
                              "(operator request)",
                        d->instance, (unsigned long long)from);
            d->rewind_to = from; /* once no call is in flight */
        }
    }
    replay_list l = {.n = 0};
    snprintf(key, sizeof(key), "dlq/%s/", d->instance);
    if (d->rewind_to ||
        lx_store_state_list(d->store, key, collect_replays, &l, &err) != 0)
        return;
    for (size_t i = 0; i < l.n && d->jobs_used < d->concurrency; i++) {
        if (replaying(d, l.seqs[i]))
            continue;
        json_t *ev = NULL;
        if (lx_store_events(d->store, l.seqs[i], 1, take_one, &ev, NULL,
                            &err) != 0 ||
            !ev ||
            (uint64_t)json_integer_value(json_object_get(ev, "seq")) !=
                l.seqs[i]) {
            json_decref(ev);
            continue;
        }
        start_event(d, free_job(d), NULL, l.seqs[i], ev);
    }
}

static void rewind_now(lx_delivery *d)
{
    drop_all(d);
    atomic_store(&d->cursor, d->rewind_to - 1);
    d->next_seq = d->rewind_to;
    d->rewind_to = 0;
    d->log_end = false;
}

/* How long the thread may sleep: until the next retry, at most a second
 * (operators' requests, a missed notification), at most until the cursor
 * is due when it moved. */
static int wait_budget(const lx_delivery *d, uint64_t now,
                       uint64_t last_save, uint64_t next_requests)
{
    uint64_t until = now + IDLE_WAIT_MS;
    if (next_requests < until)
        until = next_requests;
    if (lx_delivery_book_dirty(d->book, atomic_load(&d->cursor)))
        if (last_save + d->cursor_interval_ms < until)
            until = last_save + d->cursor_interval_ms;
    for (unsigned i = 0; i < d->concurrency; i++)
        if (d->jobs[i].used && d->jobs[i].waiting && d->jobs[i].due_ms < until)
            until = d->jobs[i].due_ms;
    return until > now ? (int)(until - now) : 0;
}

static void *run(void *arg)
{
    lx_delivery *d = arg;
    uint64_t last_save = lx_mono_ms(), next_requests = 0;
    while (!atomic_load(&d->stop)) {
        uint64_t now = lx_mono_ms();
        if (now >= next_requests) {
            serve_requests(d);
            next_requests = now + REQUESTS_EVERY_MS;
            d->log_end = false; /* a missed notification costs a second */
        }
        if (d->rewind_to && atomic_load(&d->in_flight) == 0)
            rewind_now(d);
        fill_window(d);
        d->book_wait = false;
        dispatch(d, now);
        advance(d);
        now = lx_mono_ms();
        if (now - last_save >= d->cursor_interval_ms) {
            save_cursor(d, false);
            last_save = now;
        }
        /* Sleep only when nothing can move without the network, a
         * notification or time. */
        int budget = 0;
        bool can_start = !d->rewind_to && d->retrying == 0 &&
                         d->jobs_used < d->concurrency &&
                         (!d->log_end || atomic_load(&d->notified));
        bool window_full = d->window_count == d->window_max;
        if (!can_start || window_full)
            budget = wait_budget(d, now, last_save, next_requests);
        if (d->book_wait && budget > 2)
            budget = 2; /* the bookkeeping thread does not wake us */
        if (!can_start || window_full || atomic_load(&d->in_flight) > 0)
            lx_http_multi_poll(d->multi, budget);
        collect(d);
        advance(d);
    }
    save_cursor(d, true);
    return NULL;
}

static void free_delivery(lx_delivery *d)
{
    lx_http_multi_destroy(&d->multi); /* abandons calls in flight first */
    if (d->jobs)
        drop_all(d);
    lx_delivery_book_stop(&d->book);
    if (d->events)
        events_release(d->store);
    for (size_t i = 0; d->patterns[i]; i++)
        free(d->patterns[i]);
    free(d->trace_head);
    free(d->jobs);
    free(d->slots);
    free(d);
}

int lx_delivery_start(lx_store *store, const lx_delivery_options *opts,
                      const lx_outbound_ops *ops, lx_delivery **out,
                      lx_error *err)
{
    *out = NULL;
    if (!opts->instance || !*opts->instance || !opts->system ||
        !*opts->system || strlen(opts->instance) + 8 > LX_STORE_NAME_MAX ||
        strlen(opts->system) > LX_STORE_NAME_MAX || !ops->prepare)
        return lx_error_set(err, LX_EINVAL, "a delivery needs an instance "
                                            "name, a system and a prepare "
                                            "function");
    if (opts->concurrency > CONCURRENCY_MAX ||
        opts->window_max > WINDOW_LIMIT)
        return lx_error_set(err, LX_EINVAL, "delivery %s: concurrency is "
                                            "1..%d, window_max up to %d",
                            opts->instance, CONCURRENCY_MAX, WINDOW_LIMIT);
    lx_delivery *d = lx_xcalloc(1, sizeof(*d));
    d->store = store;
    d->ops = *ops;
    snprintf(d->instance, sizeof(d->instance), "%s", opts->instance);
    snprintf(d->cursor_name, sizeof(d->cursor_name), "deliver:%s",
             opts->instance);
    snprintf(d->system, sizeof(d->system), "%s", opts->system);
    /* The instance's part of every trace step, escaped once. */
    lx_buf th;
    lx_buf_init(&th, 0);
    if (lx_buf_puts(&th, "\",\"instance\":") != 0 ||
        lx_buf_json_string(&th, d->instance, strlen(d->instance)) != 0)
        LX_ASSERT(!"an instance name fits");
    d->trace_head = lx_buf_take(&th, NULL);
    for (size_t i = 0; opts->subscribe && opts->subscribe[i] &&
                       i < PATTERNS_MAX;
         i++)
        d->patterns[i] = lx_xstrdup(opts->subscribe[i]);
    d->base_ms = opts->backoff_base_ms ? opts->backoff_base_ms : 200;
    d->max_ms = opts->backoff_max_ms ? opts->backoff_max_ms : 30000;
    if (d->max_ms < d->base_ms)
        d->max_ms = d->base_ms;
    d->cursor_interval_ms = opts->cursor_interval_ms
                                ? opts->cursor_interval_ms
                                : 50;
    d->timeout_ms = opts->timeout_ms ? opts->timeout_ms : 10000;
    d->max_attempts = opts->max_attempts ? opts->max_attempts : 20;
    d->concurrency = opts->concurrency ? opts->concurrency : 8;
    d->max_lag = opts->max_lag ? opts->max_lag : 10000;
    d->window_max = opts->window_max ? opts->window_max
                                     : 64 + 4 * (size_t)d->concurrency;
    if (d->window_max > WINDOW_LIMIT)
        d->window_max = WINDOW_LIMIT;
    if (d->window_max < d->concurrency)
        d->window_max = d->concurrency;
    d->slots = lx_xcalloc(d->window_max, sizeof(*d->slots));
    d->jobs = lx_xcalloc(d->concurrency, sizeof(*d->jobs));
    d->events = events_acquire(store);
    uint64_t cursor = 0;
    int rc = lx_store_cursor_get(store, d->cursor_name, &cursor, err);
    if (rc == 0)
        rc = lx_http_multi_new(d->concurrency, &d->multi, err);
    if (rc == 0)
        rc = lx_delivery_book_start(store, d->instance, d->system,
                                    d->cursor_name, cursor, &d->book, err);
    if (rc == 0) {
        atomic_store(&d->cursor, cursor);
        d->next_seq = cursor + 1;
        if (pthread_create(&d->thread, NULL, run, d) != 0)
            rc = lx_error_set(err, LX_EIO, "cannot start the delivery thread");
    }
    if (rc != 0) {
        free_delivery(d);
        return rc;
    }
    lx_log_info(NULL, "deliver %s: started for system %s after event %llu "
                      "(%u calls at once)",
                d->instance, d->system, (unsigned long long)cursor,
                d->concurrency);
    *out = d;
    return 0;
}

void lx_delivery_stop(lx_delivery **dp)
{
    lx_delivery *d = *dp;
    if (!d)
        return;
    *dp = NULL;
    atomic_store(&d->stop, true);
    lx_http_multi_wakeup(d->multi);
    pthread_join(d->thread, NULL);
    free_delivery(d);
}

void lx_delivery_stats_get(lx_delivery *d, lx_delivery_stats *out)
{
    out->cursor = atomic_load(&d->cursor);
    out->delivered = atomic_load(&d->delivered);
    out->skipped = atomic_load(&d->skipped);
    out->refused = atomic_load(&d->refused);
    out->retries = atomic_load(&d->retries);
    out->failing = atomic_load(&d->failing);
    out->in_flight = atomic_load(&d->in_flight);
    uint64_t last = lx_store_last_seq(d->store);
    out->lag = last > out->cursor ? last - out->cursor : 0;
    out->max_lag = d->max_lag;
    out->lagging = out->lag > d->max_lag;
}
