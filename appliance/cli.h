/* appliance/cli.h: the `lingua` command line.
 *
 * main() only calls lx_cli_main, so every command is reachable from tests.
 * Exit codes are part of the interface (scripts depend on them): */
#ifndef LX_APPLIANCE_CLI_H
#define LX_APPLIANCE_CLI_H

#include "core/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

enum lx_exit {
    LX_EXIT_OK = 0,
    LX_EXIT_DATA = 1,  /* the input or the record: invalid, not found */
    LX_EXIT_USAGE = 2, /* wrong command line */
    LX_EXIT_ENV = 3    /* cannot reach the hub, open the store, read config */
};

/* Run `lingua argv[1] ...`. Output on stdout, diagnostics on stderr. */
int lx_cli_main(int argc, char **argv);

/* ---- shared by the command implementations (cli_*.c) ---- */

/* Where a command finds its data: the options every command accepts. */
typedef struct lx_cli_target {
    const char *config;   /* --config FILE */
    const char *data_dir; /* --data-dir DIR */
    const char *hub;      /* --hub ENDPOINT (ROUTER) */
    const char *pub;      /* --pub ENDPOINT (for --follow) */
    const char *schemas;  /* --schemas DIR */
} lx_cli_target;

/* Print "lingua: <context>: <error>" with its location to stderr and return
 * the exit code for the error's code. */
int lx_cli_fail(const char *context, const lx_error *err);

/* One line for an error: "where:line:col: message", or the message alone
 * when it already names its location. Returns buf. */
const char *lx_cli_error_line(const lx_error *err, char *buf, size_t len);

/* Exit code for an error code. */
int lx_cli_exit_for(int code);

/* The keys the CLI uses on the hub's bus: with bus.curve in cfg, the
 * hub's own key file, which the bus admits as "operator" (whoever may read
 * that file runs the appliance); *keys then points at ck, which points
 * into kp. Without (or with no cfg): *keys = NULL, a plain connection.
 * Errors: the key file's (lx_bus_key_read). */
struct lx_config;
struct lx_bus_keypair;
struct lx_bus_client_keys;
LX_NODISCARD int lx_cli_bus_keys(const struct lx_config *cfg,
                                 struct lx_bus_keypair *kp,
                                 struct lx_bus_client_keys *ck,
                                 const struct lx_bus_client_keys **keys,
                                 lx_error *err);

/* Print a JSON value (pretty unless compact) and a newline to f. */
void lx_cli_print_json(FILE *f, const json_t *v, int compact);

int lx_cli_serve(int argc, char **argv);
int lx_cli_ingest(int argc, char **argv);
int lx_cli_get(int argc, char **argv);
int lx_cli_history(int argc, char **argv);
int lx_cli_xref(int argc, char **argv);
int lx_cli_events(int argc, char **argv);
int lx_cli_schema(int argc, char **argv);
int lx_cli_map(int argc, char **argv);
int lx_cli_dlq(int argc, char **argv);
int lx_cli_replay(int argc, char **argv);
int lx_cli_trace(int argc, char **argv);
int lx_cli_conform(int argc, char **argv);
int lx_cli_bus(int argc, char **argv);
int lx_cli_standin(int argc, char **argv);
int lx_cli_edi(int argc, char **argv);

/* Open the store of --data-dir, else of --config's data_dir, else
 * $LINGUA_DATA_DIR, else /var/lib/lingua (cli_dlq.c). Prints the error and
 * returns an exit code on failure. */
struct lx_store;
int lx_cli_state_store(const char *data_dir, const char *config,
                       bool read_only, struct lx_store **out);

#endif
