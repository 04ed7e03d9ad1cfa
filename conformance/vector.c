/* conformance/vector.c: reading suites and case folders (format in
 * conformance/README.md). */
#include "conformance/conform_int.h"
#include "core/json.h"
#include "core/mem.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define CASE_FILE_MAX ((size_t)16 << 20)

static const char *const directions[] = {"inbound", "outbound", "roundtrip",
                                         "idempotency", "echo", "negative"};

/* Copy a required string member of case.json, or say which is missing. */
static int member(const json_t *j, const char *key, char *out, size_t size,
                  lx_error *err)
{
    const char *v = lx_json_str(j, key);
    if (!v || !*v || strlen(v) >= size) {
        lx_error_set(err, LX_EINVAL,
                     "case.json: /%s must be a non-empty string (under %zu "
                     "characters)",
                     key, size);
        return lx_error_at(err, "case.json", 0, 0);
    }
    snprintf(out, size, "%s", v);
    return 0;
}

static int load_case(lx_conform_case *c, lx_error *err)
{
    char path[LX_CONFORM_PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/case.json", c->dir);
    int rc = lx_json_load_file(path, CASE_FILE_MAX, &c->json, err);
    if (rc != 0)
        return rc;
    if (!json_is_object(c->json))
        return lx_error_set(err, LX_EINVAL, "case.json: not a JSON object");
    static const char *const required[] = {"standard", "version"};
    if ((rc = member(c->json, "id", c->id, sizeof(c->id), err)) != 0 ||
        (rc = member(c->json, "entity", c->entity, sizeof(c->entity), err)) !=
            0 ||
        (rc = member(c->json, "direction", c->direction, sizeof(c->direction),
                     err)) != 0 ||
        (rc = member(c->json, "level", c->level, sizeof(c->level), err)) != 0 ||
        (rc = member(c->json, "title", c->title, sizeof(c->title), err)) != 0 ||
        (rc = member(c->json, "section", c->section, sizeof(c->section),
                     err)) != 0)
        return rc;
    char scratch[256];
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if ((rc = member(c->json, required[i], scratch, sizeof(scratch),
                         err)) != 0)
            return rc;
    bool known = false;
    for (size_t i = 0; i < sizeof(directions) / sizeof(directions[0]); i++)
        known = known || strcmp(c->direction, directions[i]) == 0;
    if (!known)
        return lx_error_set(err, LX_EINVAL,
                            "case.json: /direction must be inbound, "
                            "outbound, roundtrip, idempotency, echo or "
                            "negative");
    if (strcmp(c->level, "MUST") != 0 && strcmp(c->level, "SHOULD") != 0)
        return lx_error_set(err, LX_EINVAL,
                            "case.json: /level must be MUST or SHOULD");
    if (!json_is_object(json_object_get(c->json, "expect")) &&
        strcmp(c->direction, "idempotency") != 0 &&
        strcmp(c->direction, "echo") != 0)
        return lx_error_set(err, LX_EINVAL,
                            "case.json: /expect must be an object");
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int lx_conform_suite_load(const char *dir, lx_conform_suite *s,
                          lx_error *err)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    char path[LX_CONFORM_PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/suite.json", dir);
    int rc = lx_json_load_file(path, CASE_FILE_MAX, &s->json, err);
    if (rc != 0)
        return rc;
    const char *name = lx_json_str(s->json, "name");
    const char *kind = lx_json_str(s->json, "kind");
    if (!name || !kind) {
        lx_error_set(err, LX_EINVAL, "suite.json needs \"name\" and \"kind\"");
        return lx_error_at(err, path, 0, 0);
    }
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->kind, sizeof(s->kind), "%s", kind);
    const char *v = lx_json_str(s->json, "version");
    snprintf(s->version, sizeof(s->version), "%s", v ? v : "0");
    v = lx_json_str(s->json, "standard");
    snprintf(s->standard, sizeof(s->standard), "%s", v ? v : "");

    DIR *d = opendir(dir);
    if (!d) {
        lx_error_set(err, LX_EIO, "cannot read the suite folder");
        return lx_error_at(err, dir, 0, 0);
    }
    char *names[LX_CONFORM_CASES_MAX];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char sub[LX_CONFORM_PATH_MAX + 300];
        snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(sub, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (n == LX_CONFORM_CASES_MAX) {
            closedir(d);
            for (size_t i = 0; i < n; i++)
                free(names[i]);
            return lx_error_set(err, LX_ELIMIT, "more than %d cases in %s",
                                LX_CONFORM_CASES_MAX, dir);
        }
        names[n++] = lx_xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), by_name);
    s->cases = lx_xcalloc(n ? n : 1, sizeof(*s->cases));
    s->case_count = n;
    for (size_t i = 0; i < n; i++) {
        lx_conform_case *c = &s->cases[i];
        snprintf(c->dir, sizeof(c->dir), "%s/%s", dir, names[i]);
        /* Until case.json says otherwise, the folder names the case. */
        snprintf(c->id, sizeof(c->id), "%s", names[i]);
        snprintf(c->level, sizeof(c->level), "MUST");
        lx_error_clear(&c->load_err);
        if (load_case(c, &c->load_err) != 0) {
            json_decref(c->json);
            c->json = NULL;
        }
        free(names[i]);
    }
    return 0;
}

void lx_conform_suite_fini(lx_conform_suite *s)
{
    for (size_t i = 0; i < s->case_count; i++)
        json_decref(s->cases[i].json);
    free(s->cases);
    json_decref(s->json);
    memset(s, 0, sizeof(*s));
}

int lx_conform_case_read(const lx_conform_case *c, const char *name,
                         char **data, size_t *len, lx_error *err)
{
    *data = NULL;
    *len = 0;
    if (!name || !*name || name[0] == '/' || strstr(name, ".."))
        return lx_error_set(err, LX_EINVAL,
                            "a case file must be named relative to its "
                            "folder, without '..'");
    char path[LX_CONFORM_PATH_MAX + 300];
    snprintf(path, sizeof(path), "%s/%s", c->dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        lx_error_set(err, LX_EIO, "cannot open the case file");
        return lx_error_at(err, name, 0, 0);
    }
    struct stat st;
    size_t want = fstat(fileno(f), &st) == 0 && st.st_size >= 0
                      ? (size_t)st.st_size
                      : 0;
    if (want > CASE_FILE_MAX)
        want = CASE_FILE_MAX;
    char *buf = lx_xmalloc(want + 2);
    size_t n = fread(buf, 1, want + 1, f);
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad || n > CASE_FILE_MAX) {
        free(buf);
        lx_error_set(err, bad ? LX_EIO : LX_ELIMIT,
                     bad ? "cannot read the case file"
                         : "the case file is over 16 MiB");
        return lx_error_at(err, name, 0, 0);
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

int lx_conform_case_json(const lx_conform_case *c, const char *name,
                         json_t **out, lx_error *err)
{
    *out = NULL;
    char *data;
    size_t len;
    int rc = lx_conform_case_read(c, name, &data, &len, err);
    if (rc != 0)
        return rc;
    rc = lx_json_parse(data, len, name, CASE_FILE_MAX, out, err);
    free(data);
    return rc;
}
