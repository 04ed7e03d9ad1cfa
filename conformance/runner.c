/* conformance/runner.c: the logic of each kind of case (README.md,
 * "Directions"), the same for every driver. Each case gets a fresh store
 * in a temporary folder, so cases never see each other's records. */
#include "canonical/ingest.h"
#include "conformance/conform_int.h"
#include "core/json.h"
#include "core/mem.h"

#include <dirent.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct run {
    const lx_conform_driver *drv;
    void *state;
    const lx_conform_suite *suite;
    const lx_conform_case *c;
    lx_conform_hub *hub;
    lx_conform_result *res;
    const json_t *expect;
    uint64_t base; /* last event of the case's setup (0 without one) */
} run;

/* The case could not run (bad vector, adapter unreachable): an error, not
 * a failure of the adapter. */
static void broken(run *r, const lx_error *err, const char *what)
{
    char line[800];
    r->res->status = LX_CONFORM_ERROR;
    lx_conform_diffs_add(&r->res->msgs, "%s: %s", what,
                         lx_error_format(err, line, sizeof(line)));
}

static void failed(run *r)
{
    if (r->res->status == LX_CONFORM_PASS)
        r->res->status = LX_CONFORM_FAIL;
}

/* The case's native input: "input": "file" or {"file", "format",
 * "native_type"}. *input is a new reference to the object form. */
static int read_input(run *r, json_t **input, char **doc, size_t *len)
{
    json_t *in = json_object_get(r->c->json, "input");
    lx_error err;
    lx_error_clear(&err);
    *input = json_is_string(in) ? json_pack("{s:O}", "file", in)
             : json_is_object(in) ? json_incref(in)
                                  : NULL;
    const char *file = lx_json_str(*input, "file");
    if (!file) {
        lx_error_set(&err, LX_EINVAL, "/input must name the native input");
        broken(r, &err, "case.json");
        json_decref(*input);
        *input = NULL;
        return LX_EINVAL;
    }
    if (!lx_json_str(*input, "format")) {
        const char *dot = strrchr(file, '.');
        json_object_set_new(*input, "format", json_string(dot ? dot + 1 : ""));
    }
    int rc = lx_conform_case_read(r->c, file, doc, len, &err);
    if (rc != 0) {
        broken(r, &err, "input");
        json_decref(*input);
        *input = NULL;
    }
    return rc;
}

static void show_rejection(run *r, const char *prefix, const json_t *rej)
{
    char *s = json_dumps(rej, JSON_COMPACT | JSON_SORT_KEYS);
    lx_conform_diffs_add(&r->res->msgs, "%s: %s", prefix, s ? s : "{}");
    free(s);
}

static void answer_fini(lx_conform_answer *ans)
{
    json_decref(ans->rejection);
    free(ans->reply);
    memset(ans, 0, sizeof(*ans));
}

/* Hand the input to the adapter from `system`; false when it could not run
 * or (unless rejection_ok) the adapter refused it. */
static bool ingest(run *r, const char *system, const json_t *input,
                   const char *doc, size_t len, bool rejection_ok,
                   lx_conform_answer *ans)
{
    lx_error err;
    lx_error_clear(&err);
    memset(ans, 0, sizeof(*ans));
    if (r->drv->ingest(r->state, r->hub, system, input, doc, len, ans,
                       &err) != 0) {
        broken(r, &err, "ingest");
        answer_fini(ans);
        return false;
    }
    if (!ans->accepted && !rejection_ok) {
        failed(r);
        show_rejection(r, "the adapter refused a valid document",
                       ans->rejection);
        return false;
    }
    return true;
}

/* ingest() of a document the adapter must accept. */
static bool accepted(run *r, const char *system, const json_t *input,
                     const char *doc, size_t len)
{
    lx_conform_answer ans;
    bool ok = ingest(r, system, input, doc, len, false, &ans);
    answer_fini(&ans);
    return ok;
}

typedef struct refs_ctx {
    json_t *refs;
} refs_ctx;

static int add_ref(void *ctx, uint64_t seq, const char *event, size_t len)
{
    refs_ctx *rc = ctx;
    json_t *ev = json_loadb(event, len, 0, NULL);
    (void)seq;
    if (ev)
        json_array_append_new(
            rc->refs,
            json_pack("{s:s?,s:s?,s:s?,s:s?}", "entity",
                      lx_json_str(ev, "entity"), "canonical_id",
                      lx_json_str(ev, "canonical_id"), "type",
                      lx_json_str(ev, "type"), "system",
                      lx_json_str(json_object_get(ev, "origin"), "system")));
    json_decref(ev);
    return 0;
}

/* Events with seq >= from, as [{"entity","canonical_id","type","system"}]
 * (new reference). */
static json_t *events_from(run *r, uint64_t from)
{
    refs_ctx ctx = {json_array()};
    lx_store_flush(r->hub->store);
    if (lx_store_events(r->hub->store, from, 0, add_ref, &ctx, NULL, NULL) !=
        0) {
        json_decref(ctx.refs);
        return json_array();
    }
    return ctx.refs;
}

/* Store canonical records as the runner's own system would. items:
 * [{"entity","record","native_type"?,"native_id"?}], or {"entity",
 * "native_type", "native_id", "delete": true} to delete the record the
 * runner's system stored under that id. */
static int seed_items(run *r, const json_t *items, lx_error *err)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        lx_upsert u = {.entity = lx_json_str(it, "entity"),
                       .system = LX_CONFORM_SEED_SYSTEM,
                       .adapter = "conformance",
                       .native_type = lx_json_str(it, "native_type"),
                       .native_id = lx_json_str(it, "native_id"),
                       .record = json_object_get(it, "record")};
        if (json_is_true(json_object_get(it, "delete"))) {
            u.op = LX_STORE_DELETE;
            if (!u.entity || !u.native_id)
                return lx_error_set(err, LX_EINVAL,
                                    "seed item %zu: a delete needs "
                                    "\"entity\" and \"native_id\"",
                                    i);
        } else if (!u.entity || !json_is_object(u.record))
            return lx_error_set(err, LX_EINVAL,
                                "seed item %zu needs \"entity\" and an "
                                "object \"record\"",
                                i);
        int rc = lx_ingest_check(r->hub->registry, &u, err);
        lx_upsert_result res;
        if (rc == 0 && (rc = lx_store_upsert(r->hub->store, &u, &res)) != 0)
            *err = res.err;
        if (rc != 0) {
            lx_error_prefix(err, "seed item %zu", i);
            return rc;
        }
    }
    return 0;
}

/* A JSON member that is a file name (read from the case folder) or the
 * value itself. New reference or NULL (r->res says why). */
static json_t *file_or_value(run *r, const json_t *v, const char *what)
{
    if (!json_is_string(v))
        return v ? json_incref((json_t *)v) : NULL;
    json_t *out = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (lx_conform_case_json(r->c, json_string_value(v), &out, &err) != 0)
        broken(r, &err, what);
    return out;
}

static bool seed(run *r)
{
    json_t *items = file_or_value(r, json_object_get(r->c->json, "seed"),
                                  "seed");
    if (!items) {
        if (r->res->status == LX_CONFORM_PASS) {
            lx_error err;
            lx_error_set(&err, LX_EINVAL, "/seed must list canonical records");
            broken(r, &err, "case.json");
        }
        return false;
    }
    lx_error err;
    lx_error_clear(&err);
    int rc = seed_items(r, items, &err);
    json_decref(items);
    if (rc != 0)
        broken(r, &err, "seed");
    return rc == 0;
}

/* Wait (bounded by the case timeout) until the delivery is done with
 * every event up to `last`. */
static bool delivered_all(run *r, void *out, uint64_t last)
{
    struct timespec pause = {0, 2 * 1000 * 1000};
    for (unsigned waited = 0; waited <= r->hub->timeout_ms; waited += 2) {
        if (r->drv->out_cursor(out) >= last)
            return true;
        nanosleep(&pause, NULL);
    }
    return false;
}

/* Wait (bounded by the case timeout) for the sentinel's call; a driver
 * that can tell the delivery died (out_error) ends the wait early with
 * its reason. False with err filled when the call did not come. */
static bool wait_sentinel(run *r, void *out, const char *marker, size_t *at,
                          lx_error *err)
{
    unsigned slice = r->drv->out_error ? 50 : r->hub->timeout_ms;
    for (unsigned waited = 0; waited < r->hub->timeout_ms; waited += slice) {
        if (lx_conform_target_wait(r->hub->target, marker, slice, at))
            return true;
        if (r->drv->out_error && r->drv->out_error(out, err) != 0)
            return false;
    }
    lx_error_set(err, LX_ETIMEOUT,
                 "the adapter did not deliver the sentinel change within %u "
                 "ms (it hangs, or stops at an earlier event)",
                 r->hub->timeout_ms);
    return false;
}

/* Run the adapter's delivery as `system` over every event in the store,
 * then a sentinel change: the calls made before the sentinel's call are
 * the adapter's answer to the case (calls keep event order). New
 * reference, or NULL when the delivery could not run. */
static json_t *deliver(run *r, const char *system, const json_t *headers,
                       const json_t *query)
{
    lx_error err;
    lx_error_clear(&err);
    const json_t *sentinel = json_object_get(r->suite->json, "sentinel");
    const char *marker = lx_json_str(sentinel, "marker");
    if (!marker) {
        lx_error_set(&err, LX_EINVAL, "suite.json: /sentinel needs "
                                      "\"marker\" and \"items\"");
        broken(r, &err, "suite");
        return NULL;
    }
    /* The suite may name headers and query parameters worth showing in
     * every call (an unexpected call is described with them). */
    const json_t *cap = json_object_get(r->suite->json, "capture");
    json_t *h = json_array(), *q = json_array();
    if (headers)
        json_array_extend(h, (json_t *)headers);
    if (query)
        json_array_extend(q, (json_t *)query);
    json_array_extend(h, json_object_get(cap, "headers"));
    json_array_extend(q, json_object_get(cap, "query"));
    lx_conform_target_reset(r->hub->target, h, q);
    json_decref(h);
    json_decref(q);
    void *out = NULL;
    json_t *opts = json_object();
    json_object_update(opts, json_object_get(r->suite->json, "options"));
    json_object_update(opts, json_object_get(r->c->json, "options"));
    int rc = r->drv->out_start(r->state, r->hub, system, opts, &out, &err);
    json_decref(opts);
    if (rc != 0) {
        broken(r, &err, "delivery");
        return NULL;
    }
    json_t *calls = NULL;
    int seeded = seed_items(r, json_object_get(sentinel, "items"), &err);
    uint64_t last = lx_store_last_seq(r->hub->store);
    if (seeded != 0) {
        broken(r, &err, "sentinel");
    } else {
        r->drv->out_notify(out);
        size_t at = 0;
        if (!wait_sentinel(r, out, marker, &at, &err)) {
            broken(r, &err, "delivery");
        } else if (r->drv->out_cursor && !delivered_all(r, out, last)) {
            lx_error_set(&err, LX_ETIMEOUT,
                         "the adapter delivered the sentinel change but "
                         "not every earlier one within %u ms",
                         r->hub->timeout_ms);
            broken(r, &err, "delivery");
        } else {
            /* The case's calls: all but the sentinel's, or, without a
             * cursor to wait for, those before the sentinel's. */
            json_t *all = lx_conform_target_calls(r->hub->target);
            calls = json_array();
            size_t n = r->drv->out_cursor ? json_array_size(all) : at;
            for (size_t i = 0; i < n; i++)
                if (!lx_conform_call_has(json_array_get(all, i), marker))
                    json_array_append(calls, json_array_get(all, i));
            json_decref(all);
        }
    }
    r->drv->out_stop(&out);
    return calls;
}

static void describe_call(char *buf, size_t size, const json_t *call)
{
    const char *k;
    json_t *v;
    size_t n = (size_t)snprintf(buf, size, "%s %s",
                                lx_json_str(call, "method"),
                                lx_json_str(call, "path"));
    char sep = '?';
    json_object_foreach(json_object_get(call, "query"), k, v)
    {
        if (n < size)
            n += (size_t)snprintf(buf + n, size - n, "%c%s=%s", sep, k,
                                  json_string_value(v));
        sep = '&';
    }
}

/* Collect the header and query names the expected calls mention. */
static void names_of(const json_t *requests, json_t **headers,
                     json_t **query)
{
    *headers = json_array();
    *query = json_array();
    size_t i;
    json_t *q;
    json_array_foreach(requests, i, q)
    {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(q, "headers"), k, v)
            json_array_append_new(*headers, json_string(k));
        json_object_foreach(json_object_get(q, "query"), k, v)
            json_array_append_new(*query, json_string(k));
    }
}

static void compare_body(run *r, const char *file, const char *actual,
                         size_t actual_len, const char *base)
{
    char *exp = NULL;
    size_t len = 0;
    lx_error err;
    lx_error_clear(&err);
    if (lx_conform_case_read(r->c, file, &exp, &len, &err) != 0) {
        broken(r, &err, "expected document");
        return;
    }
    if (!lx_conform_doc_equal(lx_conform_doc_of(file), exp, len, actual,
                              actual_len, base, &r->res->msgs))
        failed(r);
    free(exp);
}

static void compare_calls(run *r, const json_t *requests, const json_t *calls)
{
    size_t ne = json_array_size(requests), na = json_array_size(calls);
    char what[600];
    if (ne != na) {
        failed(r);
        lx_conform_diffs_add(&r->res->msgs,
                             "calls: expected %zu, the adapter made %zu", ne,
                             na);
        for (size_t i = ne; i < na; i++) {
            describe_call(what, sizeof(what), json_array_get(calls, i));
            lx_conform_diffs_add(&r->res->msgs, "call %zu: unexpected %s",
                                 i + 1, what);
        }
    }
    for (size_t i = 0; i < ne && i < na; i++) {
        const json_t *q = json_array_get(requests, i);
        const json_t *call = json_array_get(calls, i);
        char base[64];
        snprintf(base, sizeof(base), "call %zu ", i + 1);
        json_t *head = json_object();
        static const char *const parts[] = {"method", "path", "query",
                                            "headers"};
        for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++)
            if (json_object_get(q, parts[k]))
                json_object_set(head, parts[k], json_object_get(q, parts[k]));
        /* Only what the vector names is compared: a header or parameter
         * it does not mention is the adapter's business. */
        json_t *got = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(head, k, v)
        {
            json_t *av = json_object_get(call, k);
            if (json_is_object(v) && json_is_object(av)) {
                json_t *sub = json_object();
                const char *k2;
                json_t *v2;
                json_object_foreach(v, k2, v2)
                {
                    if (json_object_get(av, k2))
                        json_object_set(sub, k2, json_object_get(av, k2));
                }
                json_object_set_new(got, k, sub);
            } else if (av) {
                json_object_set(got, k, av);
            }
        }
        if (!lx_conform_json_equal(head, got, base, &r->res->msgs))
            failed(r);
        json_decref(head);
        json_decref(got);
        const char *body = lx_json_str(q, "body");
        if (body) {
            const char *a = lx_json_str(call, "body");
            snprintf(base, sizeof(base), "call %zu body", i + 1);
            compare_body(r, body, a, a ? strlen(a) : 0, base);
        }
    }
}

/* The document the adapter renders from the stored records (refs);
 * false, with the case failed and why, when it cannot. */
static bool render(run *r, const char *system, const json_t *refs,
                   char **doc, size_t *len)
{
    lx_error err;
    lx_error_clear(&err);
    if (r->drv->render(r->state, r->hub, system, refs, doc, len, &err) == 0)
        return true;
    failed(r);
    char line[800];
    lx_conform_diffs_add(&r->res->msgs,
                         "the adapter cannot render the records: %s",
                         lx_error_format(&err, line, sizeof(line)));
    return false;
}

/* What the adapter sends for the records in the store now: its calls to
 * the target, or for an adapter without an outbound transport the
 * document it renders. Compared with expect.requests / expect.document. */
static void expect_output(run *r, const char *system)
{
    const json_t *requests = json_object_get(r->expect, "requests");
    const char *document = lx_json_str(r->expect, "document");
    if (r->drv->out_start) {
        if (!json_is_array(requests)) {
            lx_error err;
            lx_error_set(&err, LX_EINVAL, "/expect/requests must list the "
                                          "calls this adapter makes");
            broken(r, &err, "case.json");
            return;
        }
        json_t *h, *q;
        names_of(requests, &h, &q);
        json_t *calls = deliver(r, system, h, q);
        json_decref(h);
        json_decref(q);
        if (calls)
            compare_calls(r, requests, calls);
        json_decref(calls);
        return;
    }
    if (!document) {
        lx_error err;
        lx_error_set(&err, LX_EINVAL, "/expect/document must name the "
                                      "document this adapter renders");
        broken(r, &err, "case.json");
        return;
    }
    json_t *refs = events_from(r, r->base + 1);
    char *doc = NULL;
    size_t len = 0;
    if (render(r, system, refs, &doc, &len))
        compare_body(r, document, doc, len, "document");
    free(doc);
    json_decref(refs);
}

/* "setup": native documents the adapter's system sent before the case
 * (the Patient a Coverage refers to), accepted from the same system. */
static bool setup(run *r)
{
    const json_t *list = json_object_get(r->c->json, "setup");
    size_t i;
    json_t *name;
    json_array_foreach(list, i, name)
    {
        char *doc = NULL;
        size_t len = 0;
        lx_error err;
        lx_error_clear(&err);
        json_t *in = json_is_string(name) ? json_pack("{s:O}", "file", name)
                                          : json_deep_copy(name);
        const char *file = lx_json_str(in, "file");
        if (!file || lx_conform_case_read(r->c, file, &doc, &len, &err) != 0) {
            if (!file)
                lx_error_set(&err, LX_EINVAL, "/setup lists inputs (a file "
                                              "name or {\"file\", ...})");
            broken(r, &err, "setup");
            json_decref(in);
            return false;
        }
        const char *dot = strrchr(file, '.');
        if (!lx_json_str(in, "format"))
            json_object_set_new(in, "format", json_string(dot ? dot + 1 : ""));
        bool ok = accepted(r, LX_CONFORM_SYSTEM_IN, in, doc, len);
        json_decref(in);
        free(doc);
        if (!ok)
            return false;
    }
    r->base = lx_store_last_seq(r->hub->store);
    return true;
}

/* expect.acknowledgement: the acknowledgement the adapter sent back for
 * the case's input (EDI 999/997/TA1/CONTRL), compared as its file's kind. */
static void expect_reply(run *r, const lx_conform_answer *ans)
{
    const char *file = lx_json_str(r->expect, "acknowledgement");
    if (!file)
        return;
    if (!ans->reply) {
        failed(r);
        lx_conform_diffs_add(&r->res->msgs, "the adapter sent no "
                                            "acknowledgement");
        return;
    }
    compare_body(r, file, ans->reply, ans->reply_len, "acknowledgement");
}

static void case_inbound(run *r, const json_t *input, const char *doc,
                         size_t len)
{
    lx_conform_answer ans;
    bool ok = ingest(r, LX_CONFORM_SYSTEM_IN, input, doc, len, false, &ans);
    if (ok)
        expect_reply(r, &ans);
    answer_fini(&ans);
    if (!ok)
        return;
    json_t *expected = file_or_value(r, json_object_get(r->expect, "records"),
                                     "expected records");
    if (!json_is_array(expected)) {
        if (r->res->status == LX_CONFORM_PASS) {
            lx_error err;
            lx_error_set(&err, LX_EINVAL, "/expect/records must list "
                                          "{entity, record}");
            broken(r, &err, "case.json");
        }
        json_decref(expected);
        return;
    }
    json_t *refs = events_from(r, r->base + 1);
    size_t ne = json_array_size(expected), na = json_array_size(refs);
    if (ne != na) {
        failed(r);
        lx_conform_diffs_add(&r->res->msgs,
                             "records: expected %zu, the adapter stored %zu",
                             ne, na);
    }
    for (size_t i = 0; i < ne && i < na; i++) {
        const json_t *e = json_array_get(expected, i);
        const json_t *ref = json_array_get(refs, i);
        const char *entity = lx_json_str(ref, "entity");
        char base[128];
        snprintf(base, sizeof(base), "record %zu (%s)", i + 1,
                 entity ? entity : "?");
        const char *ee = lx_json_str(e, "entity");
        if (!ee || !entity || strcmp(ee, entity) != 0) {
            failed(r);
            lx_conform_diffs_add(&r->res->msgs, "%s: expected a %s", base,
                                 ee ? ee : "?");
            continue;
        }
        json_t *stored = NULL;
        lx_error err;
        lx_error_clear(&err);
        if (lx_store_get(r->hub->store, entity,
                         lx_json_str(ref, "canonical_id"), &stored, NULL,
                         &err) != 0) {
            broken(r, &err, base);
            continue;
        }
        if (!lx_conform_json_equal(json_object_get(e, "record"), stored, base,
                                   &r->res->msgs))
            failed(r);
        json_decref(stored);
    }
    json_decref(refs);
    json_decref(expected);
}

static void case_idempotency(run *r, const json_t *input, const char *doc,
                             size_t len)
{
    if (!accepted(r, LX_CONFORM_SYSTEM_IN, input, doc, len))
        return;
    uint64_t first = lx_store_last_seq(r->hub->store);
    if (first == r->base) {
        failed(r);
        lx_conform_diffs_add(&r->res->msgs, "the first document stored "
                                            "nothing");
        return;
    }
    if (!accepted(r, LX_CONFORM_SYSTEM_IN, input, doc, len))
        return;
    json_t *again = events_from(r, first + 1);
    size_t i;
    json_t *ref;
    json_array_foreach(again, i, ref)
    {
        failed(r);
        json_t *hist = NULL;
        size_t versions = 0;
        if (lx_store_history(r->hub->store, lx_json_str(ref, "entity"),
                             lx_json_str(ref, "canonical_id"), &hist,
                             NULL) == 0)
            versions = json_array_size(hist);
        json_decref(hist);
        lx_conform_diffs_add(&r->res->msgs,
                             "the same document twice: %s %s has %zu "
                             "versions (expected 1): the second copy was "
                             "stored as a change (%s)",
                             lx_json_str(ref, "entity"),
                             lx_json_str(ref, "canonical_id"), versions,
                             lx_json_str(ref, "type"));
    }
    json_decref(again);
}

static void case_echo(run *r, const json_t *input, const char *doc,
                      size_t len)
{
    if (r->drv->out_start) {
        /* The change comes from the system the adapter delivers to: it
         * must not go back there (DESIGN.md, "Deliver"). */
        if (!accepted(r, LX_CONFORM_SYSTEM_OUT, input, doc, len))
            return;
        json_t *calls = deliver(r, LX_CONFORM_SYSTEM_OUT, NULL, NULL);
        size_t i;
        json_t *call;
        json_array_foreach(calls, i, call)
        {
            char what[600];
            describe_call(what, sizeof(what), call);
            failed(r);
            lx_conform_diffs_add(&r->res->msgs,
                                 "echo: a change that came from the "
                                 "adapter's own system was sent back to "
                                 "it: %s",
                                 what);
        }
        json_decref(calls);
        return;
    }
    /* No outbound transport: the document the adapter makes of the hub's
     * record, sent back by its system, must change nothing (the loop ends
     * at the first echo). */
    if (!accepted(r, LX_CONFORM_SYSTEM_IN, input, doc, len))
        return;
    uint64_t first = lx_store_last_seq(r->hub->store);
    json_t *refs = events_from(r, r->base + 1);
    char *echo = NULL;
    size_t elen = 0;
    if (render(r, LX_CONFORM_SYSTEM_IN, refs, &echo, &elen) &&
        accepted(r, LX_CONFORM_SYSTEM_IN, input, echo, elen)) {
        json_t *again = events_from(r, first + 1);
        size_t i;
        json_t *ref;
        json_array_foreach(again, i, ref)
        {
            failed(r);
            lx_conform_diffs_add(&r->res->msgs,
                                 "echo: the adapter's own rendering of %s "
                                 "%s came back as a change (%s): its "
                                 "mapping is not its own inverse",
                                 lx_json_str(ref, "entity"),
                                 lx_json_str(ref, "canonical_id"),
                                 lx_json_str(ref, "type"));
        }
        json_decref(again);
    }
    free(echo);
    json_decref(refs);
}

static void case_negative(run *r, const json_t *input, const char *doc,
                          size_t len)
{
    lx_conform_answer ans;
    if (!ingest(r, LX_CONFORM_SYSTEM_IN, input, doc, len, true, &ans))
        return;
    const json_t *want = json_object_get(r->expect, "rejection");
    if (ans.accepted) {
        failed(r);
        lx_conform_diffs_add(&r->res->msgs,
                             "the adapter accepted a document it must refuse");
    } else if (json_is_object(want)) {
        json_t *got = json_object();
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)want, k, v)
            json_object_set(got, k, json_object_get(ans.rejection, k));
        if (!lx_conform_json_equal(want, got, "rejection", &r->res->msgs)) {
            failed(r);
            show_rejection(r, "the adapter answered", ans.rejection);
        }
        json_decref(got);
    }
    expect_reply(r, &ans);
    answer_fini(&ans);
    uint64_t seq = lx_store_last_seq(r->hub->store);
    if (seq != r->base) {
        failed(r);
        lx_conform_diffs_add(&r->res->msgs,
                             "a refused document changed the store (%llu "
                             "events)",
                             (unsigned long long)(seq - r->base));
    }
}

static void remove_depth(const char *dir, int depth)
{
    DIR *d = depth < 16 ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[LX_CONFORM_PATH_MAX + 300];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            remove_depth(p, depth + 1);
        else
            unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

void lx_conform_remove_tree(const char *dir)
{
    remove_depth(dir, 0);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void lx_conform_case_run(const lx_conform_driver *drv, void *state,
                         const lx_conform_suite *suite,
                         const lx_conform_case *c, lx_conform_hub *hub,
                         lx_conform_result *res)
{
    memset(res, 0, sizeof(*res));
    res->c = c;
    lx_conform_diffs_init(&res->msgs);
    double t0 = now_ms();
    run r = {.drv = drv, .state = state, .suite = suite, .c = c, .hub = hub,
             .res = res, .expect = json_object_get(c->json, "expect")};
    if (!c->json) {
        broken(&r, &c->load_err, "malformed case");
        return;
    }
    const char *tmp = getenv("TMPDIR");
    char dir[LX_CONFORM_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/lx-conform-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    lx_error err;
    lx_error_clear(&err);
    if (!mkdtemp(dir)) {
        lx_error_set(&err, LX_EIO, "cannot make a temporary folder");
        broken(&r, &err, "hub");
        return;
    }
    lx_store_options so = {.dir = dir, .map_size = 8u << 20, .no_sync = true};
    if (lx_store_open(&so, &hub->store, &err) != 0) {
        broken(&r, &err, "hub");
        lx_conform_remove_tree(dir);
        return;
    }
    json_t *opts = json_object();
    json_object_update(opts, json_object_get(suite->json, "options"));
    json_object_update(opts, json_object_get(c->json, "options"));
    hub->options = opts;
    if (drv->begin)
        drv->begin(state, hub);
    json_t *input = NULL;
    char *doc = NULL;
    size_t len = 0;
    const char *d = c->direction;
    if (strcmp(d, "outbound") == 0) {
        if (seed(&r))
            expect_output(&r, LX_CONFORM_SYSTEM_OUT);
    } else if (setup(&r) && read_input(&r, &input, &doc, &len) == 0) {
        if (strcmp(d, "inbound") == 0) {
            case_inbound(&r, input, doc, len);
        } else if (strcmp(d, "roundtrip") == 0) {
            if (accepted(&r, LX_CONFORM_SYSTEM_IN, input, doc, len))
                expect_output(&r, LX_CONFORM_SYSTEM_OUT);
        } else if (strcmp(d, "idempotency") == 0) {
            case_idempotency(&r, input, doc, len);
        } else if (strcmp(d, "echo") == 0) {
            case_echo(&r, input, doc, len);
        } else {
            case_negative(&r, input, doc, len);
        }
    }
    json_decref(input);
    free(doc);
    if (drv->end)
        drv->end(state, hub);
    hub->options = NULL;
    json_decref(opts);
    lx_store_close(&hub->store);
    lx_conform_remove_tree(dir);
    res->ms = now_ms() - t0;
}
