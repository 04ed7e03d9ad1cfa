/* appliance/cli_serve.c: `lingua serve`. */
#include "appliance/cli.h"
#include "appliance/hub.h"
#include "core/config.h"
#include "core/log.h"

#include <fcntl.h>
#include <stdlib.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t any_flag, stop_flag, reload_flag;
static int wake_pipe[2] = {-1, -1};

/* Signal handlers set flags and wake the loop; nothing else runs here. */
static void on_signal(int sig)
{
    if (sig == SIGHUP)
        reload_flag = 1;
    else
        stop_flag = 1;
    any_flag = 1;
    if (wake_pipe[1] >= 0) {
        ssize_t n = write(wake_pipe[1], "x", 1);
        (void)n;
    }
}

static const char serve_usage[] =
    "usage: lingua serve --config FILE [--check-config]\n"
    "\n"
    "Run the hub: open the canonical store under data_dir, load the\n"
    "canonical schemas, publish events on bus.pub and answer requests on\n"
    "bus.router (see docs/bus.md). SIGTERM or SIGINT stop it cleanly after\n"
    "the queued writes are committed. SIGHUP reloads the configuration and\n"
    "the canonical schemas; a configuration that does not validate is\n"
    "refused and the running one is kept.\n"
    "\n"
    "  --config FILE    the appliance configuration (JSON)\n"
    "  --check-config   validate the configuration and exit (0 when valid)\n";

int lx_cli_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *config = NULL;
    int check = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:kh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'k': check = 1; break;
        case 'h': fputs(serve_usage, stdout); return LX_EXIT_OK;
        default: fputs(serve_usage, stderr); return LX_EXIT_USAGE;
        }
    }
    if (!config || optind != argc) {
        fputs(serve_usage, stderr);
        return LX_EXIT_USAGE;
    }
    lx_config *cfg = NULL;
    lx_error err;
    lx_error_clear(&err);
    if (lx_config_load(config, &cfg, &err) != 0) {
        lx_cli_fail("invalid configuration", &err);
        return LX_EXIT_ENV;
    }
    if (check) {
        printf("%s: configuration is valid\n", config);
        lx_config_destroy(&cfg);
        return LX_EXIT_OK;
    }
    lx_log_set_level(cfg->log_level);
    lx_log_set_format(cfg->log_format);

    if (pipe(wake_pipe) == 0) {
        fcntl(wake_pipe[0], F_SETFL, O_NONBLOCK);
        fcntl(wake_pipe[1], F_SETFL, O_NONBLOCK);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    lx_hub *hub = NULL;
    if (lx_hub_open(cfg, &hub, &err) != 0) {
        char text[LX_ERROR_WHERE_MAX + LX_ERROR_MSG_MAX + 64];
        lx_log_error(NULL, "cannot start the hub: %s",
                     lx_error_format(&err, text, sizeof(text)));
        lx_config_destroy(&cfg);
        return LX_EXIT_ENV;
    }
    lx_log_info(NULL, "lingua %s serving (pid %ld)", LX_VERSION,
                (long)getpid());
    /* A line on stdout that scripts and tests can wait for. */
    printf("lingua: hub ready (router %s, pub %s)\n", cfg->bus_router,
           cfg->bus_pub);
    fflush(stdout);
    /* Configurations replaced by a reload stay alive until exit: the hub
     * may still hold pointers into them (a few KiB each). */
    lx_config **retired = NULL;
    size_t retired_count = 0;
    while (!stop_flag) {
        lx_hub_run(hub, &any_flag, wake_pipe[0]);
        any_flag = 0;
        if (!reload_flag)
            continue;
        reload_flag = 0;
        lx_config *next = NULL;
        lx_error_clear(&err);
        if (lx_config_load(config, &next, &err) != 0 ||
            lx_hub_reload(hub, next, &err) != 0) {
            char line[1024];
            lx_log_error(NULL, "reload refused, keeping the running "
                               "configuration: %s",
                         lx_error_format(&err, line, sizeof(line)));
            lx_config_destroy(&next);
            continue;
        }
        retired = realloc(retired, (retired_count + 1) * sizeof(*retired));
        LX_ASSERT(retired);
        retired[retired_count++] = cfg;
        cfg = next;
    }
    lx_log_info(NULL, "stopping: committing queued writes");
    lx_hub_close(&hub);
    lx_config_destroy(&cfg);
    for (size_t i = 0; i < retired_count; i++)
        lx_config_destroy(&retired[i]);
    free(retired);
    lx_log_info(NULL, "stopped");
    return LX_EXIT_OK;
}
