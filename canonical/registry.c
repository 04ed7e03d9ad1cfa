/* canonical/registry.c: see registry.h.
 *
 * Folder and file names are read first and sorted, so that loading (and
 * the first error reported) does not depend on readdir order. */
#include "canonical/registry.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/mem.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PATH_MAX_LEN 4096
#define VERSION_MAX 9999u

typedef struct version {
    unsigned number;
    char name[16]; /* "v12" */
    lx_schema *schema;
} version;

typedef struct entity {
    char *name;
    version *versions; /* sorted by number */
    size_t count;
} entity;

struct lx_registry {
    entity *entities; /* sorted by name */
    size_t count;
};

static bool valid_entity(const char *s)
{
    if (!(*s >= 'a' && *s <= 'z'))
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    return strlen(s) < LX_REGISTRY_NAME_MAX;
}

/* "v12" (with `suffix` after the digits, "" or ".json") -> 12; 0 when the
 * name is not a version. */
static unsigned version_number(const char *s, const char *suffix)
{
    if (s[0] != 'v' || !(s[1] >= '1' && s[1] <= '9'))
        return 0;
    unsigned n = 0;
    const char *p = s + 1;
    for (; *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (unsigned)(*p - '0');
        if (n > VERSION_MAX)
            return 0;
    }
    return strcmp(p, suffix) == 0 ? n : 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_version(const void *a, const void *b)
{
    unsigned x = ((const version *)a)->number, y = ((const version *)b)->number;
    return x < y ? -1 : x > y;
}

static int path_join(char *out, const char *a, const char *b, lx_error *err)
{
    int n = snprintf(out, PATH_MAX_LEN, "%s/%s", a, b);
    if (n < 0 || n >= PATH_MAX_LEN) {
        lx_error_set(err, LX_ELIMIT, "path longer than %d bytes",
                     PATH_MAX_LEN - 1);
        return lx_error_at(err, a, 0, 0);
    }
    return 0;
}

static int io_error(lx_error *err, const char *what, const char *path, int e)
{
    lx_error_set(err, e == ENOENT ? LX_ENOTFOUND : LX_EIO, "cannot %s: %s",
                 what, strerror(e));
    if (err)
        err->lib_code = e;
    return lx_error_at(err, path, 0, 0);
}

/* The sorted names in dir, hidden ones left out. */
static int list_dir(const char *dir, char ***names, size_t *count,
                    lx_error *err)
{
    *names = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d)
        return io_error(err, "open the schema directory", dir, errno);
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (*count == cap) {
            cap = cap ? 2 * cap : 16;
            *names = lx_xrealloc(*names, cap * sizeof(**names));
        }
        (*names)[(*count)++] = lx_xstrdup(de->d_name);
    }
    closedir(d);
    if (*count)
        qsort(*names, *count, sizeof(**names), cmp_str);
    return 0;
}

static void free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

static int read_file(const char *path, char **out, size_t *len, lx_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return io_error(err, "open", path, errno);
    size_t cap = 8192, n = 0;
    char *buf = lx_xmalloc(cap);
    int rc = 0;
    for (;;) {
        if (n == cap) {
            if (cap > LX_REGISTRY_FILE_MAX) {
                lx_error_set(err, LX_ELIMIT,
                             "schema file larger than %zu bytes",
                             LX_REGISTRY_FILE_MAX);
                rc = lx_error_at(err, path, 0, 0);
                break;
            }
            cap *= 2;
            buf = lx_xrealloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                rc = io_error(err, "read", path, EIO);
            break;
        }
    }
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* Locate a schema error (err->where holds its JSON pointer) in the file. */
static int locate(lx_error *err, const char *path, const char *text,
                  size_t len)
{
    if (!err)
        return LX_EINVAL;
    long line = 0, column = 0;
    char ptr[LX_ERROR_WHERE_MAX];
    snprintf(ptr, sizeof(ptr), "%s", err->where);
    if (lx_json_locate(text, len, ptr, &line, &column) != 0)
        line = column = 0;
    return lx_error_at(err, path, line, column);
}

static int load_version(const char *path, const char *label, lx_schema **out,
                        lx_error *err)
{
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(path, &text, &len, err);
    if (rc)
        return rc;
    json_t *doc = NULL;
    rc = lx_json_parse(text, len, path, LX_REGISTRY_FILE_MAX, &doc, err);
    if (rc == 0) {
        const json_t *dialect = json_object_get(doc, "$schema");
        if (dialect && !(json_is_string(dialect) &&
                         strcmp(json_string_value(dialect),
                                LX_REGISTRY_DRAFT) == 0)) {
            lx_error_set(err, LX_ESCHEMA,
                         "schema %s at /$schema: only \"%s\" is supported",
                         label, LX_REGISTRY_DRAFT);
            lx_error_at(err, "/$schema", 0, 0);
            rc = locate(err, path, text, len);
        }
    }
    if (rc == 0) {
        rc = lx_schema_compile(doc, label, out, err);
        if (rc)
            locate(err, path, text, len);
    }
    json_decref(doc);
    free(text);
    return rc;
}

static void entity_fini(entity *e)
{
    for (size_t i = 0; i < e->count; i++)
        lx_schema_destroy(&e->versions[i].schema);
    free(e->versions);
    free(e->name);
    memset(e, 0, sizeof(*e));
}

/* Load the versions in folder `path` of entity `name`. */
static int load_entity(const char *path, const char *name, entity *e,
                       lx_error *err)
{
    char **files;
    size_t count;
    int rc = list_dir(path, &files, &count, err);
    if (rc)
        return rc;
    e->name = lx_xstrdup(name);
    e->versions = lx_xcalloc(count ? count : 1, sizeof(*e->versions));
    for (size_t i = 0; i < count && rc == 0; i++) {
        size_t n = strlen(files[i]);
        if (n < 5 || strcmp(files[i] + n - 5, ".json") != 0)
            continue; /* notes, editor files: not schemas */
        char file[PATH_MAX_LEN];
        if ((rc = path_join(file, path, files[i], err)))
            break;
        unsigned number = version_number(files[i], ".json");
        if (number == 0) {
            lx_error_set(err, LX_EINVAL,
                         "schema files are named v1.json, v2.json, ... "
                         "(up to v%u, no leading zeros)",
                         VERSION_MAX);
            rc = lx_error_at(err, file, 0, 0);
            break;
        }
        version *v = &e->versions[e->count];
        v->number = number;
        snprintf(v->name, sizeof(v->name), "v%u", number);
        char label[LX_REGISTRY_NAME_MAX + 16];
        snprintf(label, sizeof(label), "%s/%s", name, v->name);
        if ((rc = load_version(file, label, &v->schema, err)))
            break;
        e->count++;
    }
    free_names(files, count);
    if (rc == 0)
        qsort(e->versions, e->count, sizeof(*e->versions), cmp_version);
    return rc;
}

int lx_registry_load(const char *dir, lx_registry **out, lx_error *err)
{
    LX_ASSERT(dir != NULL && out != NULL);
    *out = NULL;
    char **names;
    size_t count;
    int rc = list_dir(dir, &names, &count, err);
    if (rc)
        return rc;
    lx_registry *reg = lx_xcalloc(1, sizeof(*reg));
    reg->entities = lx_xcalloc(count ? count : 1, sizeof(*reg->entities));
    for (size_t i = 0; i < count && rc == 0; i++) {
        char path[PATH_MAX_LEN];
        struct stat st;
        if ((rc = path_join(path, dir, names[i], err)))
            break;
        if (stat(path, &st) != 0) {
            rc = io_error(err, "stat", path, errno);
            break;
        }
        if (!S_ISDIR(st.st_mode))
            continue; /* a file beside the entity folders: not a schema */
        if (!valid_entity(names[i])) {
            lx_error_set(err, LX_EINVAL,
                         "entity folder names are a lower-case letter, then "
                         "lower-case letters, digits and '_' (at most %d)",
                         LX_REGISTRY_NAME_MAX - 1);
            rc = lx_error_at(err, path, 0, 0);
            break;
        }
        entity *e = &reg->entities[reg->count];
        rc = load_entity(path, names[i], e, err);
        if (rc == 0 && e->count > 0)
            reg->count++;
        else
            entity_fini(e);
    }
    free_names(names, count);
    if (rc == 0 && reg->count == 0) {
        lx_error_set(err, LX_ENOTFOUND,
                     "no schema found (expected <entity>/v1.json files)");
        rc = lx_error_at(err, dir, 0, 0);
    }
    if (rc) {
        lx_registry_destroy(&reg);
        return rc;
    }
    *out = reg; /* names were sorted, so entities are */
    return 0;
}

void lx_registry_destroy(lx_registry **rp)
{
    if (!rp || !*rp)
        return;
    lx_registry *reg = *rp;
    for (size_t i = 0; i < reg->count; i++)
        entity_fini(&reg->entities[i]);
    free(reg->entities);
    free(reg);
    *rp = NULL;
}

static const entity *find_entity(const lx_registry *reg, const char *name)
{
    size_t lo = 0, hi = reg->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(reg->entities[mid].name, name);
        if (r == 0)
            return &reg->entities[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int lx_registry_get(const lx_registry *reg, const char *name,
                    const char *ver, const lx_schema **out, lx_error *err)
{
    LX_ASSERT(reg != NULL && out != NULL);
    *out = NULL;
    const entity *e = name ? find_entity(reg, name) : NULL;
    lx_buf known;
    lx_buf_init(&known, 512);
    int rc = 0;
    if (!e) {
        for (size_t i = 0; i < reg->count && rc == 0; i++)
            rc = lx_buf_printf(&known, "%s%s", i ? ", " : "",
                               reg->entities[i].name);
        /* The name is echoed only when it is a valid entity name: it
         * comes from a request and must not carry data into logs. */
        lx_error_set(err, LX_ENOTFOUND, "unknown entity type%s%s%s (known: "
                                        "%s%s)",
                     name && valid_entity(name) ? " '" : "",
                     name && valid_entity(name) ? name : "",
                     name && valid_entity(name) ? "'" : "",
                     known.data ? known.data : "none", rc ? ", ..." : "");
        lx_buf_fini(&known);
        return lx_error_at(err, "/entity", 0, 0);
    }
    if (!ver) {
        *out = e->versions[e->count - 1].schema;
        lx_buf_fini(&known);
        return 0;
    }
    unsigned number = version_number(ver, "");
    for (size_t i = 0; i < e->count && number; i++) {
        if (e->versions[i].number == number) {
            *out = e->versions[i].schema;
            lx_buf_fini(&known);
            return 0;
        }
    }
    for (size_t i = 0; i < e->count && rc == 0; i++)
        rc = lx_buf_printf(&known, "%s%s", i ? ", " : "",
                           e->versions[i].name);
    if (number)
        lx_error_set(err, LX_ENOTFOUND,
                     "entity type '%s' has no version v%u (known: %s)",
                     e->name, number, known.data ? known.data : "none");
    else
        lx_error_set(err, LX_EINVAL,
                     "a version is written v1, v2, ... (entity type '%s' "
                     "has: %s)",
                     e->name, known.data ? known.data : "none");
    lx_buf_fini(&known);
    return lx_error_at(err, "/version", 0, 0);
}

size_t lx_registry_count(const lx_registry *reg) { return reg->count; }

const char *lx_registry_entity(const lx_registry *reg, size_t i)
{
    return i < reg->count ? reg->entities[i].name : NULL;
}

unsigned lx_registry_latest(const lx_registry *reg, const char *name)
{
    const entity *e = find_entity(reg, name);
    return e ? e->versions[e->count - 1].number : 0;
}
