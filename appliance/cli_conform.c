/* appliance/cli_conform.c: `lingua conform`: certify an adapter against a
 * conformance suite (conformance/README.md).
 *
 *   lingua conform --suite NAME --adapter TARGET [--report DIR]
 *                  [--case ID] [--timeout-ms N] [--schemas DIR] [--verbose]
 *
 * Exit codes: 0 every MUST case passed (with --report, certificate.json is
 * written), 1 not conformant, 2 usage, 3 the suite, the adapter or the
 * report folder cannot be used (a .so without the lingua_adapter_v1
 * symbol, of another ABI version, or whose open() refuses the suite's
 * options, too). */
#include "appliance/cli.h"
#include "conformance/conform.h"
#include "conformance/report.h"
#include "core/log.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char conform_usage[] =
    "usage: lingua conform --suite NAME --adapter TARGET [--report DIR]\n"
    "                      [--case ID] [--timeout-ms N] [--schemas DIR]\n"
    "                      [--verbose]\n"
    "\n"
    "Run a conformance suite against an adapter and say whether it may be\n"
    "certified. The runner plays the hub (a temporary store per case) and\n"
    "the target system (a loopback HTTP server).\n"
    "\n"
    "  --suite NAME      fhir-r4, hropen-4, ... (conformance/suites/NAME,\n"
    "                    or LINGUA_CONFORMANCE_SUITES/NAME), or a suite\n"
    "                    folder\n"
    "  --adapter TARGET  a declarative adapter folder (its mapping files,\n"
    "                    and adapter.json with name and version), an\n"
    "                    external adapter's folder (adapter.json with\n"
    "                    \"kind\": \"external\" and its \"command\"), a\n"
    "                    native adapter (a .so built against\n"
    "                    adapters/native/lingua_adapter.h), or 'builtin'\n"
    "                    for the shipped adapter of the suite\n"
    "  --report DIR      write report.json, junit.xml, report.html and,\n"
    "                    when every MUST case passes, certificate.json\n"
    "  --case ID         run one case only\n"
    "  --timeout-ms N    per case (default 10000)\n"
    "  --schemas DIR     the canonical schema folder (schemas/canonical);\n"
    "                    its parent holds the standards' definitions\n"
    "  --verbose         list passing cases too\n"
    "\n"
    "exit codes: 0 conformant, 1 not conformant, 2 usage, 3 the suite, the\n"
    "adapter or the report folder cannot be used\n";

int lx_cli_conform(int argc, char **argv)
{
    enum { O_SUITE = 1000, O_ADAPTER, O_REPORT, O_CASE, O_TIMEOUT, O_SCHEMAS,
           O_VERBOSE, O_HELP };
    static const struct option longopts[] = {
        {"suite", required_argument, NULL, O_SUITE},
        {"adapter", required_argument, NULL, O_ADAPTER},
        {"report", required_argument, NULL, O_REPORT},
        {"case", required_argument, NULL, O_CASE},
        {"timeout-ms", required_argument, NULL, O_TIMEOUT},
        {"schemas", required_argument, NULL, O_SCHEMAS},
        {"verbose", no_argument, NULL, O_VERBOSE},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    const char *suite = NULL, *report = NULL, *schemas = NULL;
    lx_conform_options o = {.adapter = NULL};
    bool verbose = false;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case O_SUITE: suite = optarg; break;
        case O_ADAPTER: o.adapter = optarg; break;
        case O_REPORT: report = optarg; break;
        case O_CASE: o.only = optarg; break;
        case O_SCHEMAS: schemas = optarg; break;
        case O_VERBOSE: verbose = true; break;
        case O_TIMEOUT: {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || v == 0 || v > 600000) {
                fprintf(stderr, "lingua: conform: --timeout-ms takes 1 to "
                                "600000\n");
                return LX_EXIT_USAGE;
            }
            o.timeout_ms = (unsigned)v;
            break;
        }
        case O_HELP: fputs(conform_usage, stdout); return LX_EXIT_OK;
        default:
            fprintf(stderr, "lingua: conform: unknown option '%s'\n\n%s",
                    argv[optind - 1], conform_usage);
            return LX_EXIT_USAGE;
        }
    }
    if (!suite || !o.adapter || optind != argc) {
        fprintf(stderr, "lingua: conform: --suite and --adapter are "
                        "required\n\n%s",
                conform_usage);
        return LX_EXIT_USAGE;
    }
    char root[4096];
    if (schemas) {
        snprintf(root, sizeof(root), "%s/..", schemas);
        o.schema_root = root;
    }
    lx_error err;
    lx_error_clear(&err);
    char dir[4096];
    if (lx_conform_suite_find(suite, dir, sizeof(dir), &err) != 0) {
        lx_cli_fail("conform", &err);
        return LX_EXIT_ENV;
    }
    o.suite_dir = dir;
    /* The adapters' own progress lines would bury the summary. */
    if (!verbose)
        lx_log_set_level(LX_LOG_WARN);
    lx_conform_report *r = NULL;
    if (lx_conform_run(&o, &r, &err) != 0) {
        lx_cli_fail("conform", &err);
        return LX_EXIT_ENV;
    }
    lx_conform_report_print(r, stdout, verbose);
    int code = LX_EXIT_OK;
    if (report) {
        bool certified = false;
        if (lx_conform_report_write(r, report, &certified, &err) != 0) {
            lx_cli_fail("conform: report", &err);
            code = LX_EXIT_ENV;
        } else if (certified) {
            printf("certificate: %s/certificate.json\n", report);
        }
    }
    lx_conform_counts c;
    lx_conform_report_counts(r, &c);
    lx_conform_report_destroy(&r);
    if (code == LX_EXIT_OK && (c.must_failed != 0 || c.total == 0))
        code = LX_EXIT_DATA;
    return code;
}
