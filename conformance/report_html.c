/* conformance/report_html.c: the report as one self-contained HTML page:
 * inline CSS, no script, nothing fetched, so it can be archived as a CI
 * artifact and opened anywhere. */
#include "conformance/conform_int.h"
#include "conformance/report.h"

static const char style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;"
    "vertical-align:top}"
    ".pass{color:#17692b}.fail{color:#b00020}.error{color:#a05a00}"
    ".skip{color:#666}pre{margin:0;white-space:pre-wrap;font-size:12px}"
    ".verdict{font-size:1.2em;font-weight:bold}";

static int text(lx_buf *b, const char *s)
{
    return lx_conform_escape(b, s);
}

int lx_conform_report_html(const lx_conform_report *r, lx_buf *b,
                           lx_error *err)
{
    static const char *const names[] = {"pass", "fail", "error", "skip"};
    lx_conform_counts c;
    lx_conform_report_counts(r, &c);
    int rc = lx_buf_printf(b,
                           "<!DOCTYPE html>\n<html lang=\"en\"><head>"
                           "<meta charset=\"utf-8\"><title>Conformance: ");
    if (rc == 0)
        rc = text(b, r->suite.name);
    if (rc == 0)
        rc = lx_buf_printf(b, "</title><style>%s</style></head><body>\n<h1>",
                           style);
    if (rc == 0)
        rc = text(b, r->adapter_name);
    if (rc == 0)
        rc = lx_buf_puts(b, " ");
    if (rc == 0)
        rc = text(b, r->adapter_version);
    if (rc == 0)
        rc = lx_buf_puts(b, " against ");
    if (rc == 0)
        rc = text(b, r->suite.name);
    if (rc == 0)
        rc = lx_buf_puts(b, " ");
    if (rc == 0)
        rc = text(b, r->suite.version);
    if (rc == 0)
        rc = lx_buf_printf(
            b,
            "</h1>\n<p class=\"verdict %s\">%s</p>\n<p>%zu cases: %zu "
            "passed, %zu failed, %zu errors, %zu skipped. Run ",
            c.must_failed == 0 && c.total ? "pass" : "fail",
            c.must_failed == 0 && c.total
                ? "Every MUST case passed: certificate issued."
                : "Not conformant: a MUST case did not pass.",
            c.total, c.passed, c.failed, c.errors, c.skipped);
    if (rc == 0)
        rc = text(b, r->date);
    if (rc == 0)
        rc = lx_buf_puts(b, ".</p>\n<table><tr><th>case</th><th>direction"
                            "</th><th>level</th><th>checks</th><th>result"
                            "</th></tr>\n");
    for (size_t i = 0; rc == 0 && i < r->result_count; i++) {
        const lx_conform_result *res = &r->results[i];
        rc = lx_buf_puts(b, "<tr><td>");
        if (rc == 0)
            rc = text(b, res->c->id);
        if (rc == 0)
            rc = lx_buf_puts(b, "<br><small>");
        if (rc == 0)
            rc = text(b, res->c->title);
        if (rc == 0)
            rc = lx_buf_puts(b, "</small></td><td>");
        if (rc == 0)
            rc = text(b, res->c->direction);
        if (rc == 0)
            rc = lx_buf_puts(b, "</td><td>");
        if (rc == 0)
            rc = text(b, res->c->level);
        if (rc == 0)
            rc = lx_buf_puts(b, "</td><td>");
        if (rc == 0)
            rc = text(b, res->c->section);
        if (rc == 0)
            rc = lx_buf_printf(b, "</td><td class=\"%s\">%s",
                               names[res->status], names[res->status]);
        if (rc == 0 && res->msgs.count)
            rc = lx_buf_puts(b, "<pre>");
        for (size_t k = 0; rc == 0 && k < res->msgs.count; k++) {
            rc = text(b, res->msgs.lines[k]);
            if (rc == 0)
                rc = lx_buf_puts(b, "\n");
        }
        if (rc == 0 && res->msgs.count)
            rc = lx_buf_puts(b, "</pre>");
        if (rc == 0)
            rc = lx_buf_puts(b, "</td></tr>\n");
    }
    if (rc == 0)
        rc = lx_buf_puts(b, "</table>\n</body></html>\n");
    if (rc != 0)
        return lx_error_set(err, rc, "the HTML report is too large");
    return 0;
}
