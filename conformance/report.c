/* conformance/report.c: the JSON report, the console summary, the
 * certificate and writing the report folder (JUnit in report_junit.c,
 * HTML in report_html.c). */
#include "conformance/conform_int.h"
#include "conformance/report.h"
#include "core/json.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *status_name(lx_conform_status s)
{
    static const char *const names[] = {"pass", "fail", "error", "skip"};
    return names[s];
}

static json_t *counts_json(const lx_conform_report *r)
{
    lx_conform_counts c;
    lx_conform_report_counts(r, &c);
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "total", (json_int_t)c.total,
                     "passed", (json_int_t)c.passed, "failed",
                     (json_int_t)c.failed, "errors", (json_int_t)c.errors,
                     "skipped", (json_int_t)c.skipped, "must_failed",
                     (json_int_t)c.must_failed);
}

static json_t *suite_json(const lx_conform_report *r)
{
    return json_pack("{s:s,s:s,s:s}", "name", r->suite.name, "version",
                     r->suite.version, "standard", r->suite.standard);
}

json_t *lx_conform_report_json(const lx_conform_report *r)
{
    json_t *cases = json_array();
    for (size_t i = 0; i < r->result_count; i++) {
        const lx_conform_result *res = &r->results[i];
        const lx_conform_case *c = res->c;
        json_t *msgs = json_array();
        for (size_t k = 0; k < res->msgs.count; k++)
            json_array_append_new(msgs, json_string(res->msgs.lines[k]));
        if (res->msgs.total > res->msgs.count) {
            char more[64];
            snprintf(more, sizeof(more), "... and %zu more",
                     res->msgs.total - res->msgs.count);
            json_array_append_new(msgs, json_string(more));
        }
        json_array_append_new(
            cases, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:f,s:o}", "id",
                             c->id, "title", c->title, "direction",
                             c->direction, "level", c->level, "section",
                             c->section, "entity", c->entity, "status",
                             status_name(res->status), "ms", res->ms,
                             "messages", msgs));
    }
    return json_pack("{s:o,s:{s:s,s:s,s:s,s:O},s:s,s:o,s:o}", "suite",
                     suite_json(r), "adapter", "name", r->adapter_name,
                     "version", r->adapter_version, "path", r->adapter_path,
                     "files", r->adapter_files, "date", r->date, "counts",
                     counts_json(r), "cases", cases);
}

void lx_conform_report_print(const lx_conform_report *r, FILE *f,
                             bool verbose)
{
    fprintf(f, "suite %s %s, adapter %s %s (%s)\n", r->suite.name,
            r->suite.version, r->adapter_name, r->adapter_version,
            r->adapter_path);
    for (size_t i = 0; i < r->result_count; i++) {
        const lx_conform_result *res = &r->results[i];
        if (res->status == LX_CONFORM_PASS && !verbose)
            continue;
        fprintf(f, "%-5s %-6s %s (%s; %s)\n", status_name(res->status),
                res->c->level, res->c->id, res->c->direction,
                res->c->section);
        for (size_t k = 0; k < res->msgs.count; k++)
            fprintf(f, "      %s\n", res->msgs.lines[k]);
        if (res->msgs.total > res->msgs.count)
            fprintf(f, "      ... and %zu more\n",
                    res->msgs.total - res->msgs.count);
    }
    lx_conform_counts c;
    lx_conform_report_counts(r, &c);
    fprintf(f,
            "%zu cases: %zu passed, %zu failed, %zu errors, %zu skipped; "
            "%s\n",
            c.total, c.passed, c.failed, c.errors, c.skipped,
            c.must_failed == 0 && c.total > 0
                ? "every MUST case passed"
                : "not conformant (a MUST case did not pass)");
}

json_t *lx_conform_certificate(const lx_conform_report *r)
{
    lx_conform_counts c;
    lx_conform_report_counts(r, &c);
    if (c.must_failed != 0 || c.total == 0)
        return NULL;
    return json_pack("{s:s,s:{s:s,s:s,s:O},s:o,s:o,s:s,s:s}", "certificate",
                     "lingua-conformance", "adapter", "name", r->adapter_name,
                     "version", r->adapter_version, "files",
                     r->adapter_files, "suite", suite_json(r), "counts",
                     counts_json(r), "date", r->date, "runner",
                     "lingua " LX_VERSION);
}

int lx_conform_escape(lx_buf *out, const char *s)
{
    int rc = 0;
    for (const char *p = s; rc == 0 && *p; p++) {
        switch (*p) {
        case '&': rc = lx_buf_puts(out, "&amp;"); break;
        case '<': rc = lx_buf_puts(out, "&lt;"); break;
        case '>': rc = lx_buf_puts(out, "&gt;"); break;
        case '"': rc = lx_buf_puts(out, "&quot;"); break;
        case '\'': rc = lx_buf_puts(out, "&#39;"); break;
        default:
            /* XML 1.0 cannot carry other C0 controls. */
            if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
                rc = lx_buf_puts(out, "?");
            else
                rc = lx_buf_append(out, p, 1);
        }
    }
    return rc;
}

static int write_file(const char *dir, const char *name, const char *data,
                      size_t len, lx_error *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(data, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok) {
        lx_error_set(err, LX_EIO, "cannot write the report file");
        return lx_error_at(err, path, 0, 0);
    }
    return 0;
}

static int write_json(const char *dir, const char *name, json_t *v,
                      lx_error *err)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(v);
    int rc = write_file(dir, name, s, strlen(s), err);
    free(s);
    return rc;
}

/* mkdir -p: a CI job names a report folder that does not exist yet. */
static int make_dirs(const char *dir)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s", dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return -1;
        *s = '/';
    }
    return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int lx_conform_report_write(const lx_conform_report *r, const char *dir,
                            bool *certified, lx_error *err)
{
    if (certified)
        *certified = false;
    if (make_dirs(dir) != 0) {
        lx_error_set(err, LX_EIO, "cannot make the report folder");
        return lx_error_at(err, dir, 0, 0);
    }
    int rc = write_json(dir, "report.json", lx_conform_report_json(r), err);
    lx_buf b;
    lx_buf_init(&b, (size_t)64 << 20);
    if (rc == 0 && (rc = lx_conform_report_junit(r, &b, err)) == 0)
        rc = write_file(dir, "junit.xml", b.data, b.len, err);
    lx_buf_reset(&b);
    if (rc == 0 && (rc = lx_conform_report_html(r, &b, err)) == 0)
        rc = write_file(dir, "report.html", b.data, b.len, err);
    lx_buf_fini(&b);
    if (rc != 0)
        return rc;
    json_t *cert = lx_conform_certificate(r);
    char path[4096];
    snprintf(path, sizeof(path), "%s/certificate.json", dir);
    if (!cert) {
        unlink(path); /* a stale certificate must not outlive a failure */
        return 0;
    }
    rc = write_json(dir, "certificate.json", cert, err);
    if (rc == 0 && certified)
        *certified = true;
    return rc;
}
