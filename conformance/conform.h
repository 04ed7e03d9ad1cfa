/* conformance/conform.h: the adapter certification runner.
 *
 * A suite is a folder of test vectors (conformance/README.md has the
 * format): conformance/suites/<suite>/suite.json and one folder per case
 * with its case.json, native input and expected output. The runner plays
 * the hub toward the adapter under test (a temporary canonical store per
 * case) and the target system (a loopback HTTP server that records every
 * call), runs each case, compares semantically (compare.h) and keeps one
 * result per case. Report writers (report.h) turn the results into a
 * console summary, JUnit XML, JSON, HTML and, when every MUST case passes,
 * a certificate.
 *
 * Bad vectors and adapters that fail, hang or cannot be reached are case
 * results (status "error" with the case id and the reason), never a crash
 * or an endless wait: every wait is bounded by the case timeout.
 *
 * Threads: one run at a time per lx_conform_report; the runner starts its
 * own threads (HTTP target, deliveries) and joins them before returning. */
#ifndef LX_CONFORMANCE_CONFORM_H
#define LX_CONFORMANCE_CONFORM_H

#include "core/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct lx_conform_report lx_conform_report; /* opaque */

typedef struct lx_conform_options {
    const char *suite_dir;   /* conformance/suites/fhir-r4 */
    const char *adapter;     /* TARGET: a declarative adapter folder (a
                                folder of mapping files, with or without
                                adapter.json), an external adapter's
                                folder, a native adapter's .so (run in a
                                child process per case), "builtin" for the
                                shipped mappings of the suite's kind */
    const char *schema_root; /* the folder holding canonical/, fhir/,
                                hropen/, maps/ (default LX_DEFAULT_SCHEMAS
                                /..) */
    const char *only;        /* run only the case with this id (or NULL) */
    unsigned timeout_ms;     /* per case (default 10000) */
} lx_conform_options;

/* Result of one case. */
typedef enum lx_conform_status {
    LX_CONFORM_PASS = 0,
    LX_CONFORM_FAIL = 1,  /* the adapter's behaviour differs */
    LX_CONFORM_ERROR = 2, /* the case could not run: bad vector, adapter
                             unreachable, timeout */
    LX_CONFORM_SKIP = 3   /* the case does not apply to this adapter */
} lx_conform_status;

/* Run a suite against an adapter. *out receives the report, even when
 * cases fail or error (look at the counts); NULL on error.
 * Errors (nothing run): LX_ENOTFOUND / LX_EIO (suite folder, suite.json,
 * adapter folder), LX_ESYNTAX / LX_EINVAL (suite.json), LX_EUNSUPPORTED
 * (a kind of adapter or suite the runner has no driver for; a .so
 * without the entry symbol or of another ABI version), the errors of
 * loading the adapter (a mapping that does not compile, named by its
 * file; a native adapter's open() refusing the suite's options, with its
 * message). */
LX_NODISCARD int lx_conform_run(const lx_conform_options *opts,
                                lx_conform_report **out, lx_error *err);

void lx_conform_report_destroy(lx_conform_report **r);

/* Where a suite named on the command line lives: NAME itself when it is a
 * folder holding suite.json, else <suites>/NAME with <suites> from the
 * environment variable LINGUA_CONFORMANCE_SUITES or the source tree's
 * conformance/suites. Errors: LX_ENOTFOUND (the message lists where it
 * looked). */
LX_NODISCARD int lx_conform_suite_find(const char *name, char *out,
                                       size_t size, lx_error *err);

/* Counts of a report. must_failed counts MUST cases that failed or could
 * not run: a certificate is issued only when it is 0. */
typedef struct lx_conform_counts {
    size_t total, passed, failed, errors, skipped, must_failed;
} lx_conform_counts;
void lx_conform_report_counts(const lx_conform_report *r,
                              lx_conform_counts *out);

/* The whole report as JSON (new reference): suite, adapter, counts, date,
 * and per case its id, title, direction, level, section, status, time and
 * messages (each failure names a path with both values). */
json_t *lx_conform_report_json(const lx_conform_report *r);

#endif
