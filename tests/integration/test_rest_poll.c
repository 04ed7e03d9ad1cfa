/* Integration: the REST adapter polls a system for records changed since
 * a cursor, page by page, and resumes from the cursor it saved after a
 * restart of the real hub.
 *
 * The loopback system serves:
 *   GET /api/holders?since=            page 1: h-p1, h-p2, next = page 2
 *   GET /api/holders/page2?token=abc   page 2: h-p3, h-p4 (updated_at ...04Z)
 *                                      - but 503 while "down"
 *   GET /api/holders?since=<...04Z>    page 3: h-p5 (updated_at ...05Z)
 *   GET /api/holders?since=<...05Z>    nothing new
 * Phase 1: the hub stores page 1, then page 2 fails (503) and is retried;
 * the hub is stopped there. Phase 2: the system is up again and the hub
 * restarted: it must resume at page 2 (not refetch page 1), then follow
 * the cursor from page 2's last record to page 3. Each page with records
 * is served exactly once, every holder is stored once (version 1). */
#include "tests/integration/rest_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static lxt_hub hub;

typedef struct system_state {
    pthread_mutex_t mu;
    bool down;            /* page 2 answers 503 */
    int page1, page2_ok, page2_down, page3, empty, unexpected;
    int order[64];        /* which page each request was (1,2,3,0 empty,-1) */
    size_t count;
} system_state;

static system_state sys_ = {.mu = PTHREAD_MUTEX_INITIALIZER, .down = true};

#define ITEM(id, emp, t)                                                     \
    "{\"id\":\"" id "\",\"employee_no\":\"" emp "\",\"last_name\":\"Poll\"," \
    "\"updated_at\":\"2026-01-01T00:00:0" t "Z\"}"

static void serve(void *ctx, const lxt_request *req, lxt_reply *rep)
{
    system_state *s = ctx;
    pthread_mutex_lock(&s->mu);
    int which = -1;
    if (strcmp(req->method, "GET") != 0) {
        rep->status = 405;
    } else if (strcmp(req->target, "/api/holders?since=") == 0) {
        which = 1;
        s->page1++;
        rest_reply_json(rep, 200,
                        "{\"items\":[" ITEM("h-p1", "E-P1", "1") "," ITEM(
                            "h-p2", "E-P2", "2") "],"
                        "\"next\":\"/api/holders/page2?token=abc\"}");
    } else if (strcmp(req->target, "/api/holders/page2?token=abc") == 0) {
        which = 2;
        if (s->down) {
            s->page2_down++;
            rest_reply_json(rep, 503, "{\"error\":\"maintenance\"}");
        } else {
            s->page2_ok++;
            rest_reply_json(rep, 200,
                            "{\"items\":[" ITEM("h-p3", "E-P3", "3") "," ITEM(
                                "h-p4", "E-P4", "4") "],\"next\":null}");
        }
    } else if (strcmp(req->target,
                      "/api/holders?since=2026-01-01T00%3A00%3A04Z") == 0) {
        which = 3;
        s->page3++;
        rest_reply_json(rep, 200,
                        "{\"items\":[" ITEM("h-p5", "E-P5", "5") "]}");
    } else if (strcmp(req->target,
                      "/api/holders?since=2026-01-01T00%3A00%3A05Z") == 0) {
        which = 0;
        s->empty++;
        rest_reply_json(rep, 200, "{\"items\":[],\"next\":\"\"}");
    } else {
        s->unexpected++;
        fprintf(stderr, "unexpected request %s %s\n", req->method,
                req->target);
        rest_reply_json(rep, 404, "{}");
    }
    if (s->count < sizeof(s->order) / sizeof(s->order[0]))
        s->order[s->count] = which;
    s->count++;
    pthread_mutex_unlock(&s->mu);
}

static int get(int *field)
{
    pthread_mutex_lock(&sys_.mu);
    int v = *field;
    pthread_mutex_unlock(&sys_.mu);
    return v;
}

static void wait_for(int *field, int n, const char *what)
{
    uint64_t deadline = lxt_now_ms() + 15000 * (uint64_t)lxt_scale();
    while (get(field) < n) {
        if (lxt_now_ms() > deadline)
            LXT_FAIL("timed out waiting for %s", what);
        lxt_sleep_ms(20);
    }
}

static void check_holder(const char *id)
{
    json_t *v = rest_wait_xref(&hub, "badge", "Holder", id, 10000);
    if (!v) {
        LXT_SOFT_FAIL("holder %s was not stored", id);
        return;
    }
    json_int_t version = lxt_jint(v, "version", "version");
    if (version != 1)
        LXT_SOFT_FAIL("holder %s is at version %lld (stored more than once "
                      "with different content)",
                      id, (long long)version);
    json_decref(v);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm((unsigned)(120 * lxt_scale()));
    lxt_target *t = lxt_target_start(serve, &sys_);
    char extra[2048];
    snprintf(extra, sizeof(extra),
             "\"systems\": {\"badge\": {}},"
             "\"adapters\": [{\"name\": \"badge-poll\", \"system\": \"badge\","
             " \"use\": \"rest\", \"direction\": \"in\","
             " \"map\": \"rest/badge-person.json\","
             " \"poll\": {\"url\": \"http://127.0.0.1:%d/api/holders"
             "?since={cursor}\", \"interval_ms\": 100, \"items\": \"/items\","
             " \"next\": \"/next\", \"cursor_from\": \"item:/updated_at\"}}]",
             lxt_target_port(t));
    lxt_hub_init(&hub, extra);

    printf("1. page 1 is stored, page 2 is down; stop the hub there\n");
    lxt_hub_start(&hub, 15000, true);
    wait_for(&sys_.page2_down, 2, "page 2 to be tried twice");
    check_holder("h-p1");
    check_holder("h-p2");
    rest_stop(&hub);
    pthread_mutex_lock(&sys_.mu);
    size_t before = sys_.count;
    sys_.down = false;
    pthread_mutex_unlock(&sys_.mu);
    LXT_CHECK(rest_xref(&hub, "badge", "Holder", "h-p3") == NULL,
              "h-p3 stored while page 2 was down");

    printf("2. restart: resume at page 2, then follow the cursor\n");
    lxt_hub_start(&hub, 15000, false);
    wait_for(&sys_.page3, 1, "page 3");
    wait_for(&sys_.empty, 2, "two rounds with nothing new");
    check_holder("h-p3");
    check_holder("h-p4");
    check_holder("h-p5");
    rest_stop(&hub);

    pthread_mutex_lock(&sys_.mu);
    printf("   requests: page 1 x%d, page 2 x%d ok + x%d down, page 3 x%d, "
           "empty x%d, unexpected x%d; first after the restart: page %d\n",
           sys_.page1, sys_.page2_ok, sys_.page2_down, sys_.page3, sys_.empty,
           sys_.unexpected, sys_.order[before]);
    if (sys_.page1 != 1)
        LXT_SOFT_FAIL("page 1 served %d times (repeated)", sys_.page1);
    if (sys_.page2_ok != 1)
        LXT_SOFT_FAIL("page 2 served %d times", sys_.page2_ok);
    if (sys_.page3 != 1)
        LXT_SOFT_FAIL("page 3 served %d times", sys_.page3);
    if (sys_.order[before] != 2)
        LXT_SOFT_FAIL("the first request after the restart was page %d, not "
                      "the saved page 2",
                      sys_.order[before]);
    if (sys_.unexpected)
        LXT_SOFT_FAIL("%d unexpected requests", sys_.unexpected);
    pthread_mutex_unlock(&sys_.mu);

    int rc = rest_finish(&hub);
    lxt_target_stop(&t);
    return rc;
}
