/* appliance/cli_edi.c: `lingua edi acks SYSTEM`: the functional
 * acknowledgements (997/999) a trading partner sent back for the
 * interchanges the hub wrote to it (adapters/edi/ack_received.h). */
#include "appliance/cli.h"
#include "canonical/store.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char edi_usage[] =
    "usage: lingua edi acks SYSTEM [--json] [--data-dir DIR | --config FILE]\n"
    "\n"
    "List the acknowledgements (X12 997/999) the partner of SYSTEM sent back\n"
    "for our interchanges: the group acknowledged (our GS06), its status\n"
    "(accepted, accepted_with_errors, partially_accepted, rejected) and each\n"
    "transaction set's. --json prints the recorded documents.\n";

typedef struct acks {
    bool json;
    size_t n;
} acks;

static int print_ack(void *ctx, const char *key, const char *value,
                     size_t len)
{
    (void)key;
    acks *a = ctx;
    a->n++;
    json_t *o = json_loadb(value, len, 0, NULL);
    if (!o)
        return 0;
    if (a->json) {
        lx_cli_print_json(stdout, o, 1);
    } else {
        printf("group %-9s %-4s %-22s received %s (interchange %s)\n",
               json_string_value(json_object_get(o, "group")),
               json_string_value(json_object_get(o, "kind")),
               json_string_value(json_object_get(o, "status")),
               json_string_value(json_object_get(o, "received")),
               json_string_value(json_object_get(o, "interchange")));
        size_t i;
        json_t *set;
        json_array_foreach(json_object_get(o, "sets"), i, set)
        {
            const char *st = json_string_value(json_object_get(set, "status"));
            printf("  %s %s: %s\n",
                   json_string_value(json_object_get(set, "set")),
                   json_string_value(json_object_get(set, "control")),
                   st ? st : "(no status)");
        }
    }
    json_decref(o);
    return 0;
}

int lx_cli_edi(int argc, char **argv)
{
    enum { O_DATA = 1, O_CONFIG, O_JSON, O_HELP };
    static const struct option opts[] = {
        {"data-dir", required_argument, NULL, O_DATA},
        {"config", required_argument, NULL, O_CONFIG},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    const char *data_dir = NULL, *config = NULL;
    acks a = {.json = false};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_DATA: data_dir = optarg; break;
        case O_CONFIG: config = optarg; break;
        case O_JSON: a.json = true; break;
        case O_HELP: fputs(edi_usage, stdout); return LX_EXIT_OK;
        default: fputs(edi_usage, stderr); return LX_EXIT_USAGE;
        }
    }
    if (argc - optind != 2 || strcmp(argv[optind], "acks") != 0) {
        fputs(edi_usage, stderr);
        return LX_EXIT_USAGE;
    }
    const char *system = argv[optind + 1];
    lx_store *s = NULL;
    int rc = lx_cli_state_store(data_dir, config, true, &s);
    if (rc != 0)
        return rc;
    char prefix[256];
    snprintf(prefix, sizeof(prefix), "edi-ack/%s/", system);
    lx_error err;
    lx_error_clear(&err);
    rc = lx_store_state_list(s, prefix, print_ack, &a, &err);
    lx_store_close(&s);
    if (rc != 0)
        return lx_cli_fail("edi acks", &err);
    if (a.n == 0 && !a.json)
        printf("no acknowledgements received from %s\n", system);
    return LX_EXIT_OK;
}
