/* adapters/delivery/delivery.c: see delivery.h. */
#include "adapters/delivery/delivery.h"
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

#define BATCH 64
#define PATTERNS_MAX 32
#define TRACE_BATCH 256

typedef struct pending_event {
    uint64_t seq;
    char *text;
    size_t len;
} pending_event;

struct lx_delivery {
    lx_store *store;
    lx_outbound_ops ops;
    char instance[LX_STORE_NAME_MAX + 1];
    char cursor_name[LX_STORE_NAME_MAX + 1];
    char system[LX_STORE_NAME_MAX + 1];
    char *patterns[PATTERNS_MAX + 1];
    unsigned base_ms, max_ms, cursor_interval_ms, max_attempts;
    long timeout_ms;
    lx_http_client *http;

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, notified;

    /* Target ids of delivered records, written in one transaction per
     * batch of events rather than one commit (and fsync) each. */
    lx_store_link links[TRACE_BATCH];
    char *link_strings[TRACE_BATCH][4]; /* owned copies */
    size_t link_count;
    /* Trace steps of attempts, written in batches with the cursor. */
    char *trace_ids[TRACE_BATCH];
    char *trace_steps[TRACE_BATCH];
    size_t trace_count;

    _Atomic uint64_t cursor, delivered, skipped, refused, retries;
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
    pthread_mutex_lock(&d->mu);
    d->notified = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

/* Sleep up to ms, or until stop. Returns true when stopping. */
static bool wait_ms(lx_delivery *d, unsigned ms, bool wake_on_notify)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&d->mu);
    while (!d->stop && !(wake_on_notify && d->notified)) {
        if (pthread_cond_timedwait(&d->cv, &d->mu, &ts) != 0)
            break;
    }
    if (wake_on_notify)
        d->notified = false;
    bool stop = d->stop;
    pthread_mutex_unlock(&d->mu);
    return stop;
}

static bool stopping(lx_delivery *d)
{
    pthread_mutex_lock(&d->mu);
    bool s = d->stop;
    pthread_mutex_unlock(&d->mu);
    return s;
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

typedef enum outcome { DELIVERED, SKIPPED, REFUSED, STOPPED } outcome;

static void flush_links(lx_delivery *d)
{
    if (d->link_count == 0)
        return;
    lx_error err;
    lx_error_clear(&err);
    if (lx_store_xref_link_many(d->store, d->links, d->link_count, &err) !=
        0) {
        /* One bad link (a record deleted meanwhile) must not lose the
         * others: retry them one by one. */
        for (size_t i = 0; i < d->link_count; i++) {
            const lx_store_link *l = &d->links[i];
            if (lx_store_xref_link(d->store, l->entity, l->id, l->system,
                                   l->native_type, l->native_id, &err) != 0)
                lx_log_warn(NULL, "deliver %s: cannot record a target id: %s",
                            d->instance, err.msg);
        }
    }
    for (size_t i = 0; i < d->link_count; i++)
        for (int k = 0; k < 4; k++)
            free(d->link_strings[i][k]);
    d->link_count = 0;
}

static void queue_link(lx_delivery *d, const char *entity, const char *cid,
                       const char *native_type, const char *native_id)
{
    if (d->link_count == TRACE_BATCH)
        flush_links(d);
    size_t i = d->link_count++;
    d->link_strings[i][0] = lx_xstrdup(entity);
    d->link_strings[i][1] = lx_xstrdup(cid);
    d->link_strings[i][2] = lx_xstrdup(native_id);
    d->link_strings[i][3] = lx_xstrdup(native_type);
    d->links[i] = (lx_store_link){d->link_strings[i][0],
                                  d->link_strings[i][1], d->system,
                                  d->link_strings[i][3],
                                  d->link_strings[i][2]};
}

static void flush_traces(lx_delivery *d)
{
    if (d->trace_count == 0)
        return;
    lx_error err;
    lx_error_clear(&err);
    if (lx_store_trace_add(d->store, (const char *const *)d->trace_ids,
                           (const char *const *)d->trace_steps,
                           d->trace_count, &err) != 0)
        lx_log_warn(NULL, "deliver %s: cannot record trace steps: %s",
                    d->instance, err.msg);
    for (size_t i = 0; i < d->trace_count; i++) {
        free(d->trace_ids[i]);
        free(d->trace_steps[i]);
    }
    d->trace_count = 0;
}

/* One attempt, for `lingua trace`: target, status, latency, error. */
static void trace_attempt(lx_delivery *d, const char *trace, long long seq,
                          unsigned attempt, const lx_http_call *call,
                          long status, double ms, const char *error)
{
    if (!trace || !*trace)
        return;
    if (d->trace_count == TRACE_BATCH)
        flush_traces(d);
    char when[LX_TIME_SIZE];
    lx_time_format(lx_now_ms(), when);
    json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:i,s:s,s:s,s:I,s:f}", "step",
                          "delivery", "time", when, "instance", d->instance,
                          "seq", (json_int_t)seq, "attempt", (int)attempt,
                          "method", call->method, "url", call->url, "status",
                          (json_int_t)status, "latency_ms", ms);
    if (error) {
        /* Transport errors read "METHOD URL: reason": the URL is already
         * in the step. */
        const char *reason = strstr(error, ": ");
        json_object_set_new(o, "error",
                            json_string(reason ? reason + 2 : error));
    }
    d->trace_ids[d->trace_count] = lx_xstrdup(trace);
    d->trace_steps[d->trace_count] = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    d->trace_count++;
}

/* Why an event was refused: what goes into its dead letter. */
typedef struct failure {
    char reason[512];
    long status;
    char url[LX_DELIVERY_URL_MAX];
    char method[16];
    char response[2048]; /* the start of the target's answer */
    unsigned attempts;
} failure;

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

static outcome deliver(lx_delivery *d, const json_t *ev, const char *trace,
                       failure *f)
{
    memset(f, 0, sizeof(*f));
    /* A record that refers to others (a coverage to its persons) is
     * translated through the target's ids of those others: the ones
     * delivered just before must be recorded first. */
    if (d->link_count && has_reference(json_object_get(ev, "record"), 0))
        flush_links(d);
    lx_outbound_call call;
    memset(&call, 0, sizeof(call));
    bool skip = false;
    lx_error err;
    lx_error_clear(&err);
    if (d->ops.prepare(d->ops.ctx, d->store, ev, &call, &skip, &err) != 0) {
        lx_log_error(trace, "deliver %s: event %lld refused by the adapter: "
                            "%s",
                     d->instance,
                     (long long)json_integer_value(json_object_get(ev, "seq")),
                     err.msg);
        snprintf(f->reason, sizeof(f->reason), "adapter: %s", err.msg);
        call_release(&call);
        return REFUSED;
    }
    if (skip) {
        call_release(&call);
        return SKIPPED;
    }
    if (call.http.timeout_ms == 0)
        call.http.timeout_ms = d->timeout_ms;
    long long seq = (long long)json_integer_value(json_object_get(ev, "seq"));
    snprintf(f->url, sizeof(f->url), "%s", call.http.url);
    snprintf(f->method, sizeof(f->method), "%s", call.http.method);
    for (unsigned attempt = 0;; attempt++) {
        f->attempts = attempt + 1;
        lx_http_result res;
        lx_error_clear(&err);
        int rc;
        if (d->ops.perform) {
            memset(&res, 0, sizeof(res));
            rc = d->ops.perform(d->ops.ctx, &call, &res, &err);
        } else {
            rc = lx_http_client_perform(d->http, &call.http, &res, &err);
        }
        trace_attempt(d, trace, seq, attempt + 1, &call.http, res.status,
                      res.elapsed_ms, rc != 0 ? err.msg : NULL);
        if (rc == 0 && res.status >= 200 && res.status < 300) {
            char nid[LX_STORE_NATIVE_ID_MAX + 1] = "";
            if (d->ops.native_id)
                d->ops.native_id(d->ops.ctx, ev, &res, nid, sizeof(nid));
            const char *entity = lx_json_str(ev, "entity");
            const char *cid = lx_json_str(ev, "canonical_id");
            if (nid[0] && entity && cid && call.native_type[0])
                queue_link(d, entity, cid, call.native_type, nid);
            lx_log_debug(trace, "deliver %s: event %lld -> %s %ld in %.1f ms",
                         d->instance, seq, call.http.method, res.status,
                         res.elapsed_ms);
            lx_http_result_fini(&res);
            call_release(&call);
            atomic_store(&d->failing, false);
            return DELIVERED;
        }
        bool retry = rc != 0 || res.status >= 500 || res.status == 429 ||
                     res.status == 408;
        if (!retry || (d->max_attempts && attempt + 1 >= d->max_attempts)) {
            if (!retry)
                snprintf(f->reason, sizeof(f->reason),
                         "the target answered %ld", res.status);
            else if (rc != 0)
                snprintf(f->reason, sizeof(f->reason),
                         "gave up after %u attempts: %s", attempt + 1,
                         err.msg);
            else
                snprintf(f->reason, sizeof(f->reason),
                         "gave up after %u attempts: the target answered "
                         "%ld",
                         attempt + 1, res.status);
            note_response(f, &res);
            lx_log_error(trace, "deliver %s: event %lld refused: %s %s: %s",
                         d->instance, seq, call.http.method, call.http.url,
                         f->reason);
            lx_http_result_fini(&res);
            call_release(&call);
            atomic_store(&d->failing, false);
            return REFUSED;
        }
        unsigned delay = backoff_ms(d, attempt);
        if (rc != 0)
            lx_log_warn(trace, "deliver %s: event %lld attempt %u failed: %s; "
                               "retrying in %u ms",
                        d->instance, seq, attempt + 1, err.msg, delay);
        else
            lx_log_warn(trace, "deliver %s: event %lld attempt %u: target "
                               "answered %ld; retrying in %u ms",
                        d->instance, seq, attempt + 1, res.status, delay);
        lx_http_result_fini(&res);
        atomic_store(&d->failing, true);
        atomic_fetch_add(&d->retries, 1);
        if (wait_ms(d, delay, false)) {
            call_release(&call);
            return STOPPED;
        }
    }
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

static outcome handle(lx_delivery *d, uint64_t seq, const char *text,
                      size_t len)
{
    json_t *ev = json_loadb(text, len, 0, NULL);
    if (!ev) {
        lx_log_error(NULL, "deliver %s: event %llu is not JSON; skipped",
                     d->instance, (unsigned long long)seq);
        return REFUSED;
    }
    const char *type = lx_json_str(ev, "type");
    json_t *origin = json_object_get(ev, "origin");
    const char *from = lx_json_str(origin, "system");
    const char *trace = lx_json_str(origin, "trace");
    outcome o;
    failure f;
    if (!type ||
        !lx_delivery_topic_matches((const char *const *)d->patterns, type))
        o = SKIPPED;
    else if (from && strcmp(from, d->system) == 0)
        o = SKIPPED; /* never deliver a change back to where it came from */
    else
        o = deliver(d, ev, trace, &f);
    if (o == REFUSED)
        dead_letter(d, seq, ev, &f);
    json_decref(ev);
    return o;
}

typedef struct fetch_ctx {
    pending_event *list;
    size_t count;
} fetch_ctx;

static int fetch_one(void *ctx, uint64_t seq, const char *event, size_t len)
{
    fetch_ctx *f = ctx;
    f->list[f->count].seq = seq;
    f->list[f->count].text = lx_xstrndup(event, len);
    f->list[f->count].len = len;
    f->count++;
    return 0;
}

static void save_cursor(lx_delivery *d, uint64_t *saved)
{
    flush_links(d);
    flush_traces(d);
    uint64_t cur = atomic_load(&d->cursor);
    if (cur == *saved)
        return;
    lx_error err;
    lx_error_clear(&err);
    if (lx_store_cursor_set(d->store, d->cursor_name, cur, &err) != 0) {
        lx_log_error(NULL, "deliver %s: cannot save the cursor: %s",
                     d->instance, err.msg);
        return;
    }
    *saved = cur;
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

typedef struct one_event {
    char *text;
    size_t len;
    uint64_t seq;
} one_event;

static int take_one(void *ctx, uint64_t seq, const char *event, size_t len)
{
    one_event *e = ctx;
    e->text = lx_xstrndup(event, len);
    e->len = len;
    e->seq = seq;
    return 1;
}

static void serve_requests(lx_delivery *d)
{
    lx_error err;
    lx_error_clear(&err);
    char key[LX_STORE_KEY_MAX + 1], *value = NULL;
    snprintf(key, sizeof(key), "replay/%s", d->instance);
    if (lx_store_state_get(d->store, key, &value, NULL, &err) == 0) {
        uint64_t from = strtoull(value, NULL, 10);
        free(value);
        if (lx_store_state_del(d->store, key, &err) == 0 && from > 0) {
            lx_log_info(NULL, "deliver %s: replaying from event %llu "
                              "(operator request)",
                        d->instance, (unsigned long long)from);
            atomic_store(&d->cursor, from - 1);
        }
    }
    replay_list l = {.n = 0};
    snprintf(key, sizeof(key), "dlq/%s/", d->instance);
    if (lx_store_state_list(d->store, key, collect_replays, &l, &err) != 0)
        return;
    for (size_t i = 0; i < l.n && !stopping(d); i++) {
        one_event e = {NULL, 0, 0};
        if (lx_store_events(d->store, l.seqs[i], 1, take_one, &e, NULL,
                            &err) != 0 ||
            !e.text || e.seq != l.seqs[i]) {
            free(e.text);
            continue;
        }
        outcome o = handle(d, e.seq, e.text, e.len);
        free(e.text);
        if (o == STOPPED)
            break;
        if (o != REFUSED) { /* delivered now: the dead letter is done */
            dead_letter_key(d, l.seqs[i], key, sizeof(key));
            if (lx_store_state_del(d->store, key, &err) != 0)
                lx_log_error(NULL, "deliver %s: %s", d->instance, err.msg);
            atomic_fetch_add(&d->delivered, o == DELIVERED);
            lx_log_info(NULL, "deliver %s: dead letter %llu replayed",
                        d->instance, (unsigned long long)l.seqs[i]);
        }
    }
}

static void *run(void *arg)
{
    lx_delivery *d = arg;
    uint64_t saved = atomic_load(&d->cursor), last_save = lx_mono_ms();
    pending_event batch[BATCH];
    while (!stopping(d)) {
        serve_requests(d);
        /* Ids of records delivered in the previous batch are known before
         * their next changes are prepared (direct updates, not
         * conditional ones). */
        flush_links(d);
        fetch_ctx f = {batch, 0};
        lx_error err;
        lx_error_clear(&err);
        if (lx_store_events(d->store, atomic_load(&d->cursor) + 1, BATCH,
                            fetch_one, &f, NULL, &err) != 0) {
            lx_log_error(NULL, "deliver %s: cannot read the event log: %s",
                         d->instance, err.msg);
            wait_ms(d, 1000, false);
            continue;
        }
        if (f.count == 0) {
            save_cursor(d, &saved);
            wait_ms(d, 1000, true);
            continue;
        }
        size_t i = 0;
        for (; i < f.count; i++) {
            outcome o = handle(d, batch[i].seq, batch[i].text, batch[i].len);
            if (o == STOPPED)
                break;
            if (o == DELIVERED)
                atomic_fetch_add(&d->delivered, 1);
            else if (o == SKIPPED)
                atomic_fetch_add(&d->skipped, 1);
            else
                atomic_fetch_add(&d->refused, 1);
            atomic_store(&d->cursor, batch[i].seq);
            uint64_t now = lx_mono_ms();
            if (now - last_save >= d->cursor_interval_ms) {
                save_cursor(d, &saved);
                last_save = now;
            }
        }
        for (size_t k = 0; k < f.count; k++)
            free(batch[k].text);
    }
    save_cursor(d, &saved);
    return NULL;
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
    lx_delivery *d = lx_xcalloc(1, sizeof(*d));
    d->store = store;
    d->ops = *ops;
    snprintf(d->instance, sizeof(d->instance), "%s", opts->instance);
    snprintf(d->cursor_name, sizeof(d->cursor_name), "deliver:%s",
             opts->instance);
    snprintf(d->system, sizeof(d->system), "%s", opts->system);
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
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    uint64_t cursor = 0;
    int rc = lx_store_cursor_get(store, d->cursor_name, &cursor, err);
    if (rc == 0)
        rc = lx_http_client_new(&d->http, err);
    if (rc == 0) {
        atomic_store(&d->cursor, cursor);
        if (pthread_create(&d->thread, NULL, run, d) != 0)
            rc = lx_error_set(err, LX_EIO, "cannot start the delivery thread");
    }
    if (rc != 0) {
        lx_http_client_destroy(&d->http);
        for (size_t i = 0; d->patterns[i]; i++)
            free(d->patterns[i]);
        pthread_mutex_destroy(&d->mu);
        pthread_cond_destroy(&d->cv);
        free(d);
        return rc;
    }
    lx_log_info(NULL, "deliver %s: started for system %s after event %llu",
                d->instance, d->system, (unsigned long long)cursor);
    *out = d;
    return 0;
}

void lx_delivery_stop(lx_delivery **dp)
{
    lx_delivery *d = *dp;
    if (!d)
        return;
    *dp = NULL;
    pthread_mutex_lock(&d->mu);
    d->stop = true;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    lx_http_client_destroy(&d->http);
    for (size_t i = 0; d->patterns[i]; i++)
        free(d->patterns[i]);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    free(d);
}

void lx_delivery_stats_get(lx_delivery *d, lx_delivery_stats *out)
{
    out->cursor = atomic_load(&d->cursor);
    out->delivered = atomic_load(&d->delivered);
    out->skipped = atomic_load(&d->skipped);
    out->refused = atomic_load(&d->refused);
    out->retries = atomic_load(&d->retries);
    out->failing = atomic_load(&d->failing);
}
