/* appliance/cli.c: command dispatch and what the commands share. */
#include "appliance/cli.h"
#include "core/json.h"

#include <jansson.h>
#include <string.h>

static const char usage[] =
    "usage: lingua COMMAND [OPTIONS]\n"
    "\n"
    "Lingua keeps a canonical copy of the records your systems exchange and\n"
    "publishes every change as an event.\n"
    "\n"
    "commands:\n"
    "  serve --config FILE          run the hub\n"
    "  ingest FILE --entity E --system S [--native-id ID]\n"
    "                               store a canonical record (via the hub or\n"
    "                               offline on the data directory)\n"
    "  get ENTITY ID                print a record\n"
    "  history ENTITY ID            print every version of a record\n"
    "  events --from SEQ [--follow] print events from the log\n"
    "  xref SYSTEM TYPE NATIVE_ID   find the canonical record of a native id\n"
    "  schema validate ENTITY FILE  check a record against its schema\n"
    "  map test MAPFILE INPUT [--reverse] [--trace]\n"
    "                               run a mapping on a document\n"
    "  map check MAPFILE            compile a mapping and report errors\n"
    "  dlq list|show|replay|drop    dead letters of outbound deliveries\n"
    "  replay --subscriber NAME --from SEQ\n"
    "                               deliver events again to an adapter\n"
    "  trace ID | trace --record ENTITY ID\n"
    "                               the story of a message or a record\n"
    "  edi acks SYSTEM              acknowledgements a partner sent back\n"
    "  conform --suite S --adapter A [--report DIR]\n"
    "                               certify an adapter against a conformance\n"
    "                               suite\n"
    "  stand-in --listen HOST:PORT  a loopback stand-in for a target system\n"
    "  bus keygen FILE | bus key FILE\n"
    "                               make a CURVE keypair for the bus, print\n"
    "                               a key file's public key\n"
    "  version                      print the version\n"
    "\n"
    "Run 'lingua COMMAND --help' for the options of a command.\n"
    "exit codes: 0 ok, 1 invalid or not found, 2 usage, 3 hub, store or\n"
    "configuration unavailable\n";

int lx_cli_exit_for(int code)
{
    switch (code) {
    case 0:
        return LX_EXIT_OK;
    case LX_ESYNTAX:
    case LX_ESCHEMA:
    case LX_ELIMIT:
    case LX_ENOTFOUND:
    case LX_ECONFLICT:
    case LX_EINVAL:
        return LX_EXIT_DATA;
    default:
        return LX_EXIT_ENV;
    }
}

const char *lx_cli_error_line(const lx_error *err, char *buf, size_t len)
{
    if (err->where[0] && err->line == 0 && strstr(err->msg, err->where))
        snprintf(buf, len, "%s", err->msg); /* the message says where */
    else
        lx_error_format(err, buf, len);
    return buf;
}

int lx_cli_fail(const char *context, const lx_error *err)
{
    char line[1024];
    lx_cli_error_line(err, line, sizeof(line));
    fprintf(stderr, "lingua: %s: %s\n", context, line);
    return lx_cli_exit_for(err->code);
}

void lx_cli_print_json(FILE *f, const json_t *v, int compact)
{
    size_t flags = JSON_ENCODE_ANY |
                   (compact ? JSON_COMPACT : JSON_INDENT(2) | JSON_SORT_KEYS);
    char *s = json_dumps(v, flags);
    if (s) {
        fputs(s, f);
        fputc('\n', f);
        free(s);
    }
}

int lx_cli_main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? LX_EXIT_USAGE : LX_EXIT_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } commands[] = {
        {"serve", lx_cli_serve},   {"ingest", lx_cli_ingest},
        {"get", lx_cli_get},       {"history", lx_cli_history},
        {"xref", lx_cli_xref},     {"events", lx_cli_events},
        {"schema", lx_cli_schema}, {"map", lx_cli_map},
        {"dlq", lx_cli_dlq},       {"replay", lx_cli_replay},
        {"trace", lx_cli_trace},
        {"stand-in", lx_cli_standin},
        {"edi", lx_cli_edi},
        {"conform", lx_cli_conform},
        {"bus", lx_cli_bus},
    };
    const char *cmd = argv[1];
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("lingua %s\n", LX_VERSION);
        return LX_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "lingua: unknown command '%s'\n\n%s", cmd, usage);
    return LX_EXIT_USAGE;
}
