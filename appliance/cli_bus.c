/* appliance/cli_bus.c: `lingua bus keygen|key` and the CLI's own keys on a
 * secured bus (docs/bus.md "Security"). */
#include "appliance/cli.h"
#include "core/bus.h"
#include "core/config.h"

#include <stdio.h>
#include <string.h>

static const char bus_usage[] =
    "usage: lingua bus keygen FILE\n"
    "       lingua bus key FILE\n"
    "\n"
    "keygen writes a new CURVE keypair to FILE (mode 0600, never over an\n"
    "existing file) and prints its public key: the hub's key goes in\n"
    "bus.curve.key_file; a client's public key goes in bus.curve.clients,\n"
    "and the client keeps its file. key prints the public key of a key\n"
    "file (the hub's, for the clients to connect with).\n";

int lx_cli_bus_keys(const lx_config *cfg, lx_bus_keypair *kp,
                    lx_bus_client_keys *ck, const lx_bus_client_keys **keys,
                    lx_error *err)
{
    *keys = NULL;
    if (!cfg || !cfg->bus_key_file)
        return 0;
    int rc = lx_bus_key_read(cfg->bus_key_file, false, kp, err);
    if (rc != 0)
        return rc;
    ck->server_public_key = kp->public_key;
    ck->own = kp;
    *keys = ck;
    return 0;
}

int lx_cli_bus(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
                      strcmp(argv[1], "-h") == 0)) {
        fputs(bus_usage, stdout);
        return LX_EXIT_OK;
    }
    if (argc != 3 ||
        (strcmp(argv[1], "keygen") != 0 && strcmp(argv[1], "key") != 0)) {
        fputs(bus_usage, stderr);
        return LX_EXIT_USAGE;
    }
    lx_error err;
    lx_error_clear(&err);
    lx_bus_keypair kp;
    int rc = strcmp(argv[1], "keygen") == 0
                 ? lx_bus_key_write(argv[2], &kp, &err)
                 : lx_bus_key_read(argv[2], true, &kp, &err);
    if (rc != 0)
        return lx_cli_fail(argv[1], &err);
    printf("%s\n", kp.public_key);
    memset(&kp, 0, sizeof(kp));
    return LX_EXIT_OK;
}
