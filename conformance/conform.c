/* conformance/conform.c: lx_conform_run: the suite, the adapter under
 * test, the hub side, one result per case. */
#include "adapters/native/native.h"
#include "conformance/conform_int.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/mem.h"

#include <dirent.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const lx_conform_driver *const drivers[] = {
    &lx_conform_driver_fhir,
    &lx_conform_driver_hropen,
    &lx_conform_driver_external,
    &lx_conform_driver_x12,
    &lx_conform_driver_edifact,
    &lx_conform_driver_rest,
};

const lx_conform_driver *lx_conform_driver_find(const char *kind)
{
    for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
        if (strcmp(drivers[i]->kind, kind) == 0)
            return drivers[i];
    return NULL;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files of a folder, sorted (at most 256). *names malloc'd. */
static size_t list_files(const char *dir, char **names, size_t max)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        if (e->d_name[0] == '.')
            continue;
        char p[LX_CONFORM_PATH_MAX + 300];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
            names[n++] = lx_xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), by_name);
    return n;
}

static void sha256_file(const char *path, char hex[LX_SHA256_HEX_SIZE])
{
    FILE *f = fopen(path, "rb");
    hex[0] = '\0';
    if (!f)
        return;
    lx_buf b;
    lx_buf_init(&b, (size_t)64 << 20);
    char chunk[8192];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = lx_buf_append(&b, chunk, n);
    fclose(f);
    uint8_t d[LX_SHA256_LEN];
    lx_sha256(b.data ? b.data : "", b.len, d);
    if (rc == 0)
        lx_hex(d, sizeof(d), hex);
    lx_buf_fini(&b);
}

/* A scratch schema root for the adapter under test: canonical/ and the
 * standard's definitions from the real root, maps/<folder>/ holding the
 * adapter folder's mapping files (not its adapter.json), so the adapter
 * loads exactly the folder under test. */
static int make_root(const char *real_root, const char *folder,
                     const char *adapter_dir, char *root, size_t size,
                     lx_error *err)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(root, size, "%s/lx-conform-root-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root))
        return lx_error_set(err, LX_EIO, "cannot make a temporary folder");
    char a[LX_CONFORM_PATH_MAX + 300], b[LX_CONFORM_PATH_MAX + 300];
    static const char *const shared[] = {"canonical", "fhir", "hropen",
                                         "x12", "edifact"};
    for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
        snprintf(a, sizeof(a), "%s/%s", real_root, shared[i]);
        snprintf(b, sizeof(b), "%s/%s", root, shared[i]);
        char abs[PATH_MAX];
        if (realpath(a, abs) && symlink(abs, b) != 0)
            return lx_error_set(err, LX_EIO, "cannot link %s", b);
    }
    snprintf(b, sizeof(b), "%s/maps", root);
    mkdir(b, 0700);
    snprintf(b, sizeof(b), "%s/maps/%s", root, folder);
    if (mkdir(b, 0700) != 0)
        return lx_error_set(err, LX_EIO, "cannot make %s", b);
    char *names[256];
    size_t n = list_files(adapter_dir, names, 256);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && strcmp(names[i], "adapter.json") != 0) {
            snprintf(a, sizeof(a), "%s/%s", adapter_dir, names[i]);
            snprintf(b, sizeof(b), "%s/maps/%s/%s", root, folder, names[i]);
            char abs[PATH_MAX];
            if (!realpath(a, abs) || symlink(abs, b) != 0)
                rc = lx_error_set(err, LX_EIO, "cannot link %s", b);
        }
        free(names[i]);
    }
    return rc;
}

/* Name, version and file hashes of the adapter folder. */
static int describe_adapter(lx_conform_report *r, const char *dir,
                            bool builtin, const char *kind, bool *external,
                            lx_error *err)
{
    char p[LX_CONFORM_PATH_MAX + 300];
    snprintf(p, sizeof(p), "%s/adapter.json", dir);
    json_t *manifest = NULL;
    if (access(p, F_OK) == 0) {
        int rc = lx_json_load_file(p, (size_t)1 << 20, &manifest, err);
        if (rc != 0)
            return rc;
        const char *mk = lx_json_str(manifest, "kind");
        *external = mk && strcmp(mk, "external") == 0;
        if (mk && !*external && strcmp(mk, kind) != 0) {
            json_decref(manifest);
            lx_error_set(err, LX_EUNSUPPORTED,
                         "the adapter is of kind '%s', the suite tests '%s' "
                         "adapters",
                         mk, kind);
            return lx_error_at(err, p, 0, 0);
        }
    }
    const char *name = lx_json_str(manifest, "name");
    const char *version = lx_json_str(manifest, "version");
    const char *base = strrchr(dir, '/');
    if (builtin)
        snprintf(r->adapter_name, sizeof(r->adapter_name), "lingua-%s", kind);
    else
        snprintf(r->adapter_name, sizeof(r->adapter_name), "%s",
                 name ? name : base ? base + 1 : dir);
    snprintf(r->adapter_version, sizeof(r->adapter_version), "%s",
             version ? version : builtin ? LX_VERSION : "unversioned");
    json_decref(manifest);
    r->adapter_files = json_array();
    char *names[256];
    size_t n = list_files(dir, names, 256);
    for (size_t i = 0; i < n; i++) {
        char hex[LX_SHA256_HEX_SIZE];
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        sha256_file(p, hex);
        json_array_append_new(r->adapter_files,
                              json_pack("{s:s,s:s}", "path", names[i],
                                        "sha256", hex));
        free(names[i]);
    }
    return 0;
}

/* A native adapter (.so): name and version from its descriptor (the
 * library is loaded to read them: a missing symbol or another ABI version
 * is an error of the run, located at the file), and the SHA-256 of the
 * library itself, so the certificate names the exact binary. */
static int describe_native(lx_conform_report *r, const char *path,
                           const char *suite, lx_error *err)
{
    lx_native *lib = NULL;
    int rc = lx_native_load(path, &lib, err);
    if (rc != 0)
        return rc;
    snprintf(r->adapter_name, sizeof(r->adapter_name), "%s",
             lx_native_name(lib));
    snprintf(r->adapter_version, sizeof(r->adapter_version), "%s",
             *lx_native_version(lib) ? lx_native_version(lib)
                                     : "unversioned");
    if (*lx_native_suite(lib) && strcmp(lx_native_suite(lib), suite) != 0)
        lx_log_warn(NULL,
                    "adapter %s speaks suite '%s', certified against '%s'",
                    path, lx_native_suite(lib), suite);
    lx_native_unload(&lib);
    char hex[LX_SHA256_HEX_SIZE];
    sha256_file(path, hex);
    const char *base = strrchr(path, '/');
    r->adapter_files = json_array();
    json_array_append_new(r->adapter_files,
                          json_pack("{s:s,s:s}", "path",
                                    base ? base + 1 : path, "sha256", hex));
    return 0;
}

static bool is_native(const char *target)
{
    size_t tl = target ? strlen(target) : 0;
    return tl > 3 && strcmp(target + tl - 3, ".so") == 0;
}

/* TARGET -> the adapter folder (or, for a native adapter, its file). */
static int resolve_target(const char *target, const char *schema_root,
                          const lx_conform_driver *drv, char *dir,
                          size_t size, bool *builtin, lx_error *err)
{
    *builtin = !target || strcmp(target, "builtin") == 0;
    if (*builtin) {
        char p[LX_CONFORM_PATH_MAX + 64], abs[PATH_MAX];
        snprintf(p, sizeof(p), "%s/maps/%s", schema_root, drv->map_folder);
        snprintf(dir, size, "%s", realpath(p, abs) ? abs : p);
        return 0;
    }
    struct stat st;
    if (is_native(target)) {
        if (stat(target, &st) != 0 || !S_ISREG(st.st_mode)) {
            lx_error_set(err, LX_ENOTFOUND, "no such library file");
            return lx_error_at(err, target, 0, 0);
        }
        snprintf(dir, size, "%s", target);
        return 0;
    }
    if (strstr(target, "://"))
        return lx_error_set(err, LX_EUNSUPPORTED,
                            "an external adapter is given as its folder, "
                            "whose adapter.json has \"kind\": \"external\" "
                            "and the \"command\" that starts it");
    if (stat(target, &st) != 0 || !S_ISDIR(st.st_mode)) {
        lx_error_set(err, LX_ENOTFOUND, "no adapter folder here");
        return lx_error_at(err, target, 0, 0);
    }
    snprintf(dir, size, "%s", target);
    while (strlen(dir) > 1 && dir[strlen(dir) - 1] == '/')
        dir[strlen(dir) - 1] = '\0';
    return 0;
}

void lx_conform_report_destroy(lx_conform_report **rp)
{
    lx_conform_report *r = *rp;
    if (!r)
        return;
    *rp = NULL;
    for (size_t i = 0; i < r->result_count; i++)
        lx_conform_diffs_fini(&r->results[i].msgs);
    free(r->results);
    json_decref(r->adapter_files);
    lx_conform_suite_fini(&r->suite);
    free(r);
}

int lx_conform_run(const lx_conform_options *opts, lx_conform_report **out,
                   lx_error *err)
{
    return lx_conform_run_with(opts, NULL, out, err);
}

int lx_conform_run_with(const lx_conform_options *opts,
                        const lx_conform_driver *forced,
                        lx_conform_report **out, lx_error *err)
{
    *out = NULL;
    char real_root[LX_CONFORM_PATH_MAX];
    snprintf(real_root, sizeof(real_root), "%s",
             opts->schema_root ? opts->schema_root : LX_DEFAULT_SCHEMAS "/..");
    lx_conform_report *r = lx_xcalloc(1, sizeof(*r));
    int rc = lx_conform_suite_load(opts->suite_dir, &r->suite, err);
    const lx_conform_driver *drv = NULL;
    if (rc == 0 && forced && strcmp(forced->kind, r->suite.kind) == 0)
        drv = forced;
    if (rc == 0 && !drv && !(drv = lx_conform_driver_find(r->suite.kind)))
        rc = lx_error_set(err, LX_EUNSUPPORTED,
                          "suite '%s': no driver for adapters of kind '%s'",
                          r->suite.name, r->suite.kind);
    bool builtin = false;
    if (rc == 0)
        rc = resolve_target(opts->adapter, real_root, drv, r->adapter_path,
                            sizeof(r->adapter_path), &builtin, err);
    bool external = false, native = !builtin && is_native(opts->adapter);
    if (rc == 0 && native)
        rc = describe_native(r, r->adapter_path, r->suite.name, err);
    else if (rc == 0)
        rc = describe_adapter(r, r->adapter_path, builtin, drv->kind,
                              &external, err);
    /* A native adapter runs in the runner's children whatever the
     * standard (driver_native.c). */
    if (rc == 0 && native)
        drv = forced && strcmp(forced->kind, "native") == 0
                  ? forced
                  : &lx_conform_driver_native;
    /* An external adapter is run as a process whatever the standard. */
    if (rc == 0 && external)
        drv = forced && strcmp(forced->kind, "external") == 0
                  ? forced
                  : &lx_conform_driver_external;
    if (rc != 0) {
        lx_conform_report_destroy(&r);
        return rc;
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(r->date, sizeof(r->date), "%Y-%m-%dT%H:%M:%SZ", &tm);

    char root[LX_CONFORM_PATH_MAX];
    root[0] = '\0';
    rc = make_root(real_root, drv->map_folder, r->adapter_path, root,
                   sizeof(root), err);
    void *state = NULL;
    lx_registry *reg = NULL;
    lx_conform_hub hub = {.timeout_ms = opts->timeout_ms ? opts->timeout_ms
                                                         : 10000};
    char path[LX_CONFORM_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/canonical", root);
    if (rc == 0)
        rc = lx_registry_load(path, &reg, err);
    if (rc == 0) {
        rc = drv->open(root, r->adapter_path,
                       json_object_get(r->suite.json, "options"), &state, err);
        if (rc != 0)
            lx_error_prefix(err, "adapter %s", r->adapter_path);
    }
    if (rc == 0)
        rc = lx_conform_target_start(&hub.target, err);
    if (rc == 0) {
        hub.registry = reg;
        r->results = lx_xcalloc(r->suite.case_count ? r->suite.case_count : 1,
                                sizeof(*r->results));
        for (size_t i = 0; i < r->suite.case_count; i++) {
            const lx_conform_case *c = &r->suite.cases[i];
            if (opts->only && strcmp(opts->only, c->id) != 0)
                continue;
            lx_conform_case_run(drv, state, &r->suite, c, &hub,
                                &r->results[r->result_count++]);
        }
    }
    lx_conform_target_stop(&hub.target);
    if (state)
        drv->close(&state);
    lx_registry_destroy(&reg);
    if (root[0])
        lx_conform_remove_tree(root);
    if (rc != 0) {
        lx_conform_report_destroy(&r);
        return rc;
    }
    *out = r;
    return 0;
}

void lx_conform_report_counts(const lx_conform_report *r,
                              lx_conform_counts *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < r->result_count; i++) {
        const lx_conform_result *res = &r->results[i];
        c->total++;
        switch (res->status) {
        case LX_CONFORM_PASS: c->passed++; break;
        case LX_CONFORM_FAIL: c->failed++; break;
        case LX_CONFORM_ERROR: c->errors++; break;
        case LX_CONFORM_SKIP: c->skipped++; break;
        }
        if ((res->status == LX_CONFORM_FAIL ||
             res->status == LX_CONFORM_ERROR) &&
            strcmp(res->c->level, "MUST") == 0)
            c->must_failed++;
    }
}

int lx_conform_suite_find(const char *name, char *out, size_t size,
                          lx_error *err)
{
    char probe[LX_CONFORM_PATH_MAX + 300];
    snprintf(probe, sizeof(probe), "%s/suite.json", name);
    if (access(probe, R_OK) == 0) {
        snprintf(out, size, "%s", name);
        return 0;
    }
    const char *env = getenv("LINGUA_CONFORMANCE_SUITES");
    const char *suites = env && *env ? env : LX_DEFAULT_SUITES;
    if (!strchr(name, '/')) {
        snprintf(probe, sizeof(probe), "%s/%s/suite.json", suites, name);
        if (access(probe, R_OK) == 0) {
            snprintf(out, size, "%s/%s", suites, name);
            return 0;
        }
    }
    return lx_error_set(err, LX_ENOTFOUND,
                        "no suite '%s' (looked for %s/suite.json and "
                        "%s/%s/suite.json)",
                        name, name, suites, name);
}
