/* conformance/driver_external.c: an adapter that is a process of its own,
 * in any language, certified as a black box.
 *
 * The adapter folder's adapter.json names the command:
 *   {"name": "acme-roster", "version": "1.4.0", "kind": "external",
 *    "command": ["python3", "acme_roster.py"]}
 * The runner starts it in the adapter folder, with this environment:
 *   LINGUA_BUS_ROUTER, LINGUA_BUS_PUB  the hub it talks to (docs/bus.md),
 *                                      played by the runner (bus_hub.h)
 *   LINGUA_SYSTEM, LINGUA_ADAPTER      its system and instance name
 *   LINGUA_INBOX       (inbound role)  a folder where its system drops
 *                                      native documents
 *   LINGUA_TARGET_URL  (outbound role) its system's base URL, where it
 *                                      delivers the hub's events
 * Inbound, the adapter takes each file of LINGUA_INBOX, INGESTs its
 * records, and moves it to done/ once every INGEST is answered OK, or
 * writes error/<name>.err (JSON {"code", "location", "message"}) and
 * removes it when it refuses the document. Outbound, it subscribes,
 * REPLAYs from 1, and calls the target for every event not from its own
 * system. One process per role and case; each is stopped (SIGTERM, then
 * SIGKILL after a second) when the case ends, so a hanging adapter costs
 * one case timeout and nothing more. */
#include "conformance/bus_hub.h"
#include "conformance/conform_int.h"
#include "core/json.h"
#include "core/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define EXT_PROCS_MAX 4
#define EXT_ARGS_MAX 32

typedef struct ext_proc {
    pid_t pid;
    bool outbound;
    int status; /* after exit */
    bool exited;
    char system[LX_STORE_NAME_MAX + 1];
    char inbox[LX_CONFORM_PATH_MAX];
    char log[LX_CONFORM_PATH_MAX];
} ext_proc;

typedef struct ext_state {
    char adapter_dir[LX_CONFORM_PATH_MAX];
    char program[LX_CONFORM_PATH_MAX]; /* command[0], found on PATH */
    char *argv[EXT_ARGS_MAX + 1];
    char run_dir[LX_CONFORM_PATH_MAX];
    char case_dir[LX_CONFORM_PATH_MAX];
    lx_conform_bushub *bus;
    lx_conform_hub *hub;
    ext_proc procs[EXT_PROCS_MAX];
    size_t nproc;
    unsigned docs;
} ext_state;

static void ext_close(void **sp)
{
    ext_state *st = *sp;
    if (!st)
        return;
    *sp = NULL;
    lx_conform_bushub_close(&st->bus);
    if (st->run_dir[0])
        lx_conform_remove_tree(st->run_dir);
    for (size_t i = 0; st->argv[i]; i++)
        free(st->argv[i]);
    free(st);
}

/* command[0] as execve needs it: a path, searched on PATH like a shell
 * would (done here because the child may only call async-signal-safe
 * functions between fork and exec). */
static bool find_program(const char *name, char *out, size_t size)
{
    if (strchr(name, '/')) {
        snprintf(out, size, "%s", name);
        return true;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        snprintf(out, size, "%.*s/%s", (int)n, path, name);
        if (n > 0 && access(out, X_OK) == 0)
            return true;
        path += n + (path[n] == ':');
    }
    return false;
}

static int ext_open(const char *root, const char *adapter_dir,
                    const json_t *options, void **sp, lx_error *err)
{
    (void)root;
    (void)options;
    *sp = NULL;
    ext_state *st = lx_xcalloc(1, sizeof(*st));
    snprintf(st->adapter_dir, sizeof(st->adapter_dir), "%s", adapter_dir);
    char p[LX_CONFORM_PATH_MAX + 32];
    snprintf(p, sizeof(p), "%s/adapter.json", adapter_dir);
    json_t *manifest = NULL;
    int rc = lx_json_load_file(p, (size_t)1 << 20, &manifest, err);
    json_t *cmd = json_object_get(manifest, "command");
    size_t n = json_array_size(cmd);
    if (rc == 0 && (n == 0 || n > EXT_ARGS_MAX)) {
        lx_error_set(err, LX_ECONFIG,
                     "adapter.json: /command must list the program and its "
                     "arguments (1 to %d strings)",
                     EXT_ARGS_MAX);
        rc = lx_error_at(err, p, 0, 0);
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *a = json_string_value(json_array_get(cmd, i));
        if (!a) {
            lx_error_set(err, LX_ECONFIG, "adapter.json: /command/%zu must "
                                          "be a string", i);
            rc = lx_error_at(err, p, 0, 0);
        } else {
            st->argv[i] = lx_xstrdup(a);
        }
    }
    if (rc == 0 && !find_program(st->argv[0], st->program,
                                 sizeof(st->program))) {
        lx_error_set(err, LX_ENOTFOUND, "adapter.json: /command/0: no such "
                                        "program on PATH");
        rc = lx_error_at(err, p, 0, 0);
    }
    json_decref(manifest);
    if (rc == 0) {
        const char *tmp = getenv("TMPDIR");
        snprintf(st->run_dir, sizeof(st->run_dir), "%s/lx-conform-bus-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(st->run_dir)) {
            st->run_dir[0] = '\0';
            rc = lx_error_set(err, LX_EIO, "cannot make a temporary folder");
        }
    }
    if (rc == 0)
        rc = lx_conform_bushub_open(st->run_dir, &st->bus, err);
    if (rc != 0) {
        void *v = st;
        ext_close(&v);
        return rc;
    }
    *sp = st;
    return 0;
}

static void reap(ext_proc *p)
{
    int status;
    if (!p->exited && waitpid(p->pid, &status, WNOHANG) == p->pid) {
        p->exited = true;
        p->status = WIFEXITED(status) ? WEXITSTATUS(status)
                                      : 128 + WTERMSIG(status);
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Stop one process we started: SIGTERM, a second to go, then SIGKILL. */
static void stop_proc(ext_proc *p)
{
    reap(p);
    if (!p->exited) {
        kill(p->pid, SIGTERM);
        for (int i = 0; i < 100 && !p->exited; i++) {
            sleep_ms(10);
            reap(p);
        }
        if (!p->exited) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, NULL, 0);
            p->exited = true;
        }
    }
}

static void ext_begin(void *state, lx_conform_hub *hub)
{
    ext_state *st = state;
    st->hub = hub;
    st->nproc = 0;
    snprintf(st->case_dir, sizeof(st->case_dir), "%s/case-XXXXXX",
             st->run_dir);
    if (!mkdtemp(st->case_dir))
        st->case_dir[0] = '\0';
    lx_conform_bushub_attach(st->bus, hub->store, hub->registry);
}

static void ext_end(void *state, lx_conform_hub *hub)
{
    ext_state *st = state;
    (void)hub;
    for (size_t i = 0; i < st->nproc; i++)
        stop_proc(&st->procs[i]);
    st->nproc = 0;
    lx_conform_bushub_detach(st->bus);
    if (st->case_dir[0])
        lx_conform_remove_tree(st->case_dir);
    st->case_dir[0] = '\0';
}

/* The child's environment: ours without LINGUA_*, plus the contract's. */
static char **child_env(const char *const *vars, size_t nvars)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = lx_xcalloc(n + nvars + 1, sizeof(*env));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LINGUA_", 7) != 0)
            env[k++] = environ[i];
    for (size_t i = 0; i < nvars; i++)
        env[k++] = (char *)vars[i];
    return env;
}

static int spawn(ext_state *st, const char *system, bool outbound,
                 ext_proc **out, lx_error *err)
{
    *out = NULL;
    if (!st->case_dir[0])
        return lx_error_set(err, LX_EIO, "no case folder");
    if (st->nproc == EXT_PROCS_MAX)
        return lx_error_set(err, LX_ELIMIT, "too many adapter processes");
    ext_proc *p = &st->procs[st->nproc];
    memset(p, 0, sizeof(*p));
    p->outbound = outbound;
    snprintf(p->system, sizeof(p->system), "%s", system);
    const char *role = outbound ? "out" : "in";
    snprintf(p->log, sizeof(p->log), "%s/%s-%s.log", st->case_dir, system,
             role);
    char v[6][LX_CONFORM_PATH_MAX + 64];
    snprintf(v[0], sizeof(v[0]), "LINGUA_BUS_ROUTER=%s",
             lx_conform_bushub_router(st->bus));
    snprintf(v[1], sizeof(v[1]), "LINGUA_BUS_PUB=%s",
             lx_conform_bushub_pub(st->bus));
    snprintf(v[2], sizeof(v[2]), "LINGUA_SYSTEM=%s", system);
    snprintf(v[3], sizeof(v[3]), "LINGUA_ADAPTER=conformance-%s", role);
    if (outbound) {
        snprintf(v[4], sizeof(v[4]), "LINGUA_TARGET_URL=%s",
                 lx_conform_target_url(st->hub->target));
    } else {
        snprintf(p->inbox, sizeof(p->inbox), "%s/inbox-%s", st->case_dir,
                 system);
        char sub[LX_CONFORM_PATH_MAX + 16];
        mkdir(p->inbox, 0700);
        snprintf(sub, sizeof(sub), "%s/done", p->inbox);
        mkdir(sub, 0700);
        snprintf(sub, sizeof(sub), "%s/error", p->inbox);
        mkdir(sub, 0700);
        snprintf(v[4], sizeof(v[4]), "LINGUA_INBOX=%s", p->inbox);
    }
    const char *vars[5] = {v[0], v[1], v[2], v[3], v[4]};
    char **env = child_env(vars, 5);
    int log = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = fork();
    if (pid == 0) {
        /* Only async-signal-safe calls from here to exec. */
        if (log >= 0) {
            dup2(log, 1);
            dup2(log, 2);
        }
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        if (chdir(st->adapter_dir) != 0)
            _exit(126);
        execve(st->program, st->argv, env);
        _exit(127);
    }
    if (log >= 0)
        close(log);
    free(env);
    if (pid < 0)
        return lx_error_set(err, LX_EIO, "cannot start the adapter: %s",
                            strerror(errno));
    p->pid = pid;
    st->nproc++;
    *out = p;
    return 0;
}

/* Why a process is gone, with the end of its output (the vendor's own
 * diagnostics, not payloads of ours). */
static int exited_error(const ext_proc *p, lx_error *err)
{
    char tail[200] = "";
    FILE *f = fopen(p->log, "rb");
    if (f) {
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, n > 160 ? n - 160 : 0, SEEK_SET);
        size_t got = fread(tail, 1, sizeof(tail) - 1, f);
        tail[got] = '\0';
        fclose(f);
        for (char *c = tail; *c; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
    }
    return lx_error_set(err, LX_EREMOTE,
                        "the adapter exited with status %d%s%s%s", p->status,
                        p->status == 127 ? " (the command could not be run)"
                                         : "",
                        tail[0] ? "; it said: " : "", tail);
}

static ext_proc *find_proc(ext_state *st, const char *system, bool outbound)
{
    for (size_t i = 0; i < st->nproc; i++)
        if (st->procs[i].outbound == outbound &&
            strcmp(st->procs[i].system, system) == 0)
            return &st->procs[i];
    return NULL;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int ext_ingest(void *state, lx_conform_hub *hub, const char *system,
                      const json_t *input, const char *doc, size_t len,
                      lx_conform_answer *ans, lx_error *err)
{
    ext_state *st = state;
    ext_proc *p = find_proc(st, system, false);
    int rc = p ? 0 : spawn(st, system, false, &p, err);
    if (rc != 0)
        return rc;
    const char *format = lx_json_str(input, "format");
    char name[96], tmp[LX_CONFORM_PATH_MAX + 128],
        dst[LX_CONFORM_PATH_MAX + 128];
    snprintf(name, sizeof(name), "doc-%u.%s", ++st->docs,
             format && *format ? format : "dat");
    snprintf(tmp, sizeof(tmp), "%s/.%s.part", p->inbox, name);
    snprintf(dst, sizeof(dst), "%s/%s", p->inbox, name);
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fwrite(doc, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    /* Whole or not at all: the adapter never sees half a document. */
    if (!ok || rename(tmp, dst) != 0)
        return lx_error_set(err, LX_EIO, "cannot drop the document into the "
                                         "adapter's inbox");
    char done[LX_CONFORM_PATH_MAX + 128], refused[LX_CONFORM_PATH_MAX + 128];
    snprintf(done, sizeof(done), "%s/done/%s", p->inbox, name);
    snprintf(refused, sizeof(refused), "%s/error/%s.err", p->inbox, name);
    double deadline = now_ms() + hub->timeout_ms;
    while (now_ms() < deadline) {
        if (access(done, F_OK) == 0) {
            ans->accepted = true;
            return 0;
        }
        if (access(refused, F_OK) == 0) {
            sleep_ms(20); /* let the writer finish the file */
            json_t *why = NULL;
            if (lx_json_load_file(refused, (size_t)1 << 20, &why, NULL) != 0 ||
                !json_is_object(why)) {
                json_decref(why);
                why = json_pack("{s:s}", "message",
                                "(the .err file is not a JSON object)");
            }
            ans->accepted = false;
            ans->rejection = why;
            return 0;
        }
        reap(p);
        if (p->exited)
            return exited_error(p, err);
        sleep_ms(5);
    }
    return lx_error_set(err, LX_ETIMEOUT,
                        "the adapter did not take the document within %u ms "
                        "(neither done/ nor error/)",
                        hub->timeout_ms);
}

static int ext_out_start(void *state, lx_conform_hub *hub, const char *system,
                         const json_t *options, void **out, lx_error *err)
{
    ext_state *st = state;
    (void)options;
    *out = NULL;
    unsigned before = lx_conform_bushub_replays(st->bus);
    ext_proc *p = NULL;
    int rc = spawn(st, system, true, &p, err);
    if (rc != 0)
        return rc;
    /* Ready when it has replayed: its SUB socket is open by then. */
    double deadline = now_ms() + hub->timeout_ms;
    while (!lx_conform_bushub_wait_replays(st->bus, before + 1, 50)) {
        reap(p);
        if (p->exited)
            return exited_error(p, err);
        if (now_ms() > deadline)
            return lx_error_set(err, LX_ETIMEOUT,
                                "the adapter did not subscribe (no REPLAY) "
                                "within %u ms",
                                hub->timeout_ms);
    }
    *out = p;
    return 0;
}

static void ext_out_stop(void **out)
{
    ext_proc *p = *out;
    *out = NULL;
    if (p)
        stop_proc(p);
}

static void ext_out_notify(void *out)
{
    (void)out; /* events reach it on PUB as they commit */
}

const lx_conform_driver lx_conform_driver_external = {
    .kind = "external",
    .map_folder = "external",
    .open = ext_open,
    .close = ext_close,
    .begin = ext_begin,
    .end = ext_end,
    .ingest = ext_ingest,
    .out_start = ext_out_start,
    .out_stop = ext_out_stop,
    .out_notify = ext_out_notify,
};
