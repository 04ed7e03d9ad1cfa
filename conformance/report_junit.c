/* conformance/report_junit.c: JUnit XML (the dialect Jenkins, GitLab and
 * GitHub test reporters read: testsuites > testsuite > testcase with
 * failure, error or skipped). */
#include "conformance/conform_int.h"
#include "conformance/report.h"

static int attr(lx_buf *b, const char *name, const char *value)
{
    int rc = lx_buf_printf(b, " %s=\"", name);
    if (rc == 0)
        rc = lx_conform_escape(b, value);
    return rc == 0 ? lx_buf_puts(b, "\"") : rc;
}

static int one_case(lx_buf *b, const lx_conform_report *r,
                    const lx_conform_result *res)
{
    char cls[128], time[32];
    snprintf(cls, sizeof(cls), "%s.%s", r->suite.name, res->c->direction);
    snprintf(time, sizeof(time), "%.3f", res->ms / 1000.0);
    int rc = lx_buf_puts(b, "    <testcase");
    if (rc == 0)
        rc = attr(b, "name", res->c->id);
    if (rc == 0)
        rc = attr(b, "classname", cls);
    if (rc == 0)
        rc = attr(b, "time", time);
    if (rc != 0 || res->status == LX_CONFORM_PASS)
        return rc ? rc : lx_buf_puts(b, "/>\n");
    if (res->status == LX_CONFORM_SKIP)
        return lx_buf_puts(b, "><skipped/></testcase>\n");
    const char *tag = res->status == LX_CONFORM_FAIL ? "failure" : "error";
    rc = lx_buf_printf(b, ">\n      <%s", tag);
    if (rc == 0)
        rc = attr(b, "message",
                  res->msgs.count ? res->msgs.lines[0] : "no message");
    if (rc == 0)
        rc = attr(b, "type", res->c->level);
    if (rc == 0)
        rc = lx_buf_puts(b, ">");
    if (rc == 0)
        rc = lx_conform_escape(b, res->c->section);
    for (size_t k = 0; rc == 0 && k < res->msgs.count; k++) {
        rc = lx_buf_puts(b, "\n");
        if (rc == 0)
            rc = lx_conform_escape(b, res->msgs.lines[k]);
    }
    if (rc == 0)
        rc = lx_buf_printf(b, "</%s>\n    </testcase>\n", tag);
    return rc;
}

int lx_conform_report_junit(const lx_conform_report *r, lx_buf *b,
                            lx_error *err)
{
    lx_conform_counts c;
    lx_conform_report_counts(r, &c);
    double total = 0;
    for (size_t i = 0; i < r->result_count; i++)
        total += r->results[i].ms;
    int rc = lx_buf_printf(
        b,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<testsuites name=\"lingua-conformance\" tests=\"%zu\" "
        "failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n"
        "  <testsuite",
        c.total, c.failed, c.errors, c.skipped, total / 1000.0);
    if (rc == 0)
        rc = attr(b, "name", r->suite.name);
    if (rc == 0)
        rc = lx_buf_printf(b,
                           " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
                           "skipped=\"%zu\" time=\"%.3f\"",
                           c.total, c.failed, c.errors, c.skipped,
                           total / 1000.0);
    if (rc == 0)
        rc = attr(b, "timestamp", r->date);
    if (rc == 0)
        rc = lx_buf_puts(b, ">\n    <properties>\n      <property "
                            "name=\"adapter\"");
    if (rc == 0)
        rc = attr(b, "value", r->adapter_name);
    if (rc == 0)
        rc = lx_buf_puts(b, "/>\n      <property name=\"adapter_version\"");
    if (rc == 0)
        rc = attr(b, "value", r->adapter_version);
    if (rc == 0)
        rc = lx_buf_puts(b, "/>\n      <property name=\"suite_version\"");
    if (rc == 0)
        rc = attr(b, "value", r->suite.version);
    if (rc == 0)
        rc = lx_buf_puts(b, "/>\n    </properties>\n");
    for (size_t i = 0; rc == 0 && i < r->result_count; i++)
        rc = one_case(b, r, &r->results[i]);
    if (rc == 0)
        rc = lx_buf_puts(b, "  </testsuite>\n</testsuites>\n");
    if (rc != 0)
        return lx_error_set(err, rc, "the JUnit report is too large");
    return 0;
}
