/* conformance/report.h: what a conformance run leaves behind.
 *
 *   console           one line per case that did not pass (with its
 *                     messages), then the counts
 *   report.json       lx_conform_report_json
 *   junit.xml         JUnit XML for the vendor's CI: one testsuite, one
 *                     testcase per case (classname = suite.direction),
 *                     <failure> or <error> with the messages, <skipped>
 *   report.html       one self-contained page (inline CSS, no script, no
 *                     external resource)
 *   certificate.json  only when every MUST case passed: adapter name,
 *                     version, SHA-256 of each of its files, suite name
 *                     and version, counts, date */
#ifndef LX_CONFORMANCE_REPORT_H
#define LX_CONFORMANCE_REPORT_H

#include "conformance/conform.h"
#include "core/buf.h"

#include <stdio.h>

/* Print the summary; verbose adds one line per passing case. */
void lx_conform_report_print(const lx_conform_report *r, FILE *f,
                             bool verbose);

/* The certificate (new reference), or NULL when a MUST case did not
 * pass or no case ran. */
json_t *lx_conform_certificate(const lx_conform_report *r);

/* JUnit XML and HTML texts, appended to out. Errors: LX_ELIMIT (out's
 * ceiling). */
LX_NODISCARD int lx_conform_report_junit(const lx_conform_report *r,
                                         lx_buf *out, lx_error *err);
LX_NODISCARD int lx_conform_report_html(const lx_conform_report *r,
                                        lx_buf *out, lx_error *err);

/* Write report.json, junit.xml, report.html and (when earned)
 * certificate.json into dir (created when missing). *certified (may be
 * NULL) says whether the certificate was written; an old certificate in
 * dir is removed when not earned. Errors: LX_EIO naming the file. */
LX_NODISCARD int lx_conform_report_write(const lx_conform_report *r,
                                         const char *dir, bool *certified,
                                         lx_error *err);

/* Append s with &, <, >, " and ' escaped (XML and HTML text and
 * attributes). */
LX_NODISCARD int lx_conform_escape(lx_buf *out, const char *s);

#endif
