/* canonical/registry.c: see registry.h. */
#include "canonical/registry.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/mem.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_FILE_MAX ((size_t)4 << 20)

typedef struct version {
    unsigned number;
    char name[16];
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
    return strlen(s) <= 64;
}

/* "v12.json" -> 12; 0 when the name is not a version file. */
static unsigned version_number(const char *file)
{
    if (file[0] != 'v' || !(file[1] >= '1' && file[1] <= '9'))
        return 0;
    char *end = NULL;
    unsigned long n = strtoul(file + 1, &end, 10);
    if (strcmp(end, ".json") != 0 || n > 9999)
        return 0;
    return (unsigned)n;
}

static int cmp_entity(const void *a, const void *b)
{
    return strcmp(((const entity *)a)->name, ((const entity *)b)->name);
}

static int cmp_version(const void *a, const void *b)
{
    unsigned x = ((const version *)a)->number, y = ((const version *)b)->number;
    return x < y ? -1 : x > y;
}

static int load_entity(const char *dir, const char *name, entity *e,
                       lx_error *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    DIR *d = opendir(path);
    if (!d)
        return 0; /* a plain file beside the entity folders: not ours */
    e->name = lx_xstrdup(name);
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        unsigned n = version_number(de->d_name);
        if (n == 0) {
            if (strstr(de->d_name, ".json")) {
                lx_error_set(err, LX_EINVAL, "schema files are named v1.json, "
                                             "v2.json, ...");
                snprintf(path, sizeof(path), "%s/%s/%s", dir, name,
                         de->d_name);
                rc = lx_error_at(err, path, 0, 0);
            }
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s/%s", dir, name, de->d_name);
        json_t *doc = NULL;
        rc = lx_json_load_file(path, SCHEMA_FILE_MAX, &doc, err);
        if (rc != 0)
            break;
        char label[128];
        snprintf(label, sizeof(label), "%s/v%u", name, n);
        lx_schema *s = NULL;
        rc = lx_schema_compile(doc, label, &s, err);
        json_decref(doc);
        if (rc != 0) {
            char where[LX_ERROR_WHERE_MAX];
            snprintf(where, sizeof(where), "%s", err ? err->where : "");
            lx_error_prefix(err, "schema %s", where[0] ? where : "(root)");
            lx_error_at(err, path, 0, 0);
            break;
        }
        e->versions = lx_xrealloc(e->versions,
                                  (e->count + 1) * sizeof(*e->versions));
        version *v = &e->versions[e->count++];
        v->number = n;
        snprintf(v->name, sizeof(v->name), "v%u", n);
        v->schema = s;
    }
    closedir(d);
    if (rc == 0)
        qsort(e->versions, e->count, sizeof(*e->versions), cmp_version);
    return rc;
}

int lx_registry_load(const char *dir, lx_registry **out, lx_error *err)
{
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        lx_error_set(err, e == ENOENT ? LX_ENOTFOUND : LX_EIO,
                     "cannot open the schema directory: %s", strerror(e));
        return lx_error_at(err, dir, 0, 0);
    }
    lx_registry *reg = lx_xcalloc(1, sizeof(*reg));
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        entity e = {0};
        rc = load_entity(dir, de->d_name, &e, err);
        if (rc == 0 && e.name && e.count > 0 && !valid_entity(e.name)) {
            lx_error_set(err, LX_EINVAL, "entity folder names are lower case "
                                         "letters, digits and '_'");
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", dir, e.name);
            rc = lx_error_at(err, path, 0, 0);
        }
        if (rc == 0 && e.count > 0) {
            reg->entities = lx_xrealloc(reg->entities, (reg->count + 1) *
                                                           sizeof(entity));
            reg->entities[reg->count++] = e;
        } else {
            for (size_t i = 0; i < e.count; i++)
                lx_schema_destroy(&e.versions[i].schema);
            free(e.versions);
            free(e.name);
        }
    }
    closedir(d);
    if (rc == 0 && reg->count == 0) {
        lx_error_set(err, LX_ENOTFOUND, "no schema found (expected "
                                        "<entity>/v1.json files)");
        rc = lx_error_at(err, dir, 0, 0);
    }
    if (rc != 0) {
        lx_registry_destroy(&reg);
        return rc;
    }
    qsort(reg->entities, reg->count, sizeof(entity), cmp_entity);
    *out = reg;
    return 0;
}

void lx_registry_destroy(lx_registry **rp)
{
    lx_registry *reg = *rp;
    if (!reg)
        return;
    *rp = NULL;
    for (size_t i = 0; i < reg->count; i++) {
        entity *e = &reg->entities[i];
        for (size_t j = 0; j < e->count; j++)
            lx_schema_destroy(&e->versions[j].schema);
        free(e->versions);
        free(e->name);
    }
    free(reg->entities);
    free(reg);
}

int lx_registry_get(const lx_registry *reg, const char *entity_name,
                    const char *ver, const lx_schema **out, lx_error *err)
{
    *out = NULL;
    entity key = {.name = (char *)entity_name};
    const entity *e = bsearch(&key, reg->entities, reg->count, sizeof(entity),
                              cmp_entity);
    lx_buf known;
    lx_buf_init(&known, 1024);
    if (!e) {
        for (size_t i = 0; i < reg->count; i++)
            if (lx_buf_printf(&known, "%s%s", i ? ", " : "",
                              reg->entities[i].name) != 0)
                break;
        lx_error_set(err, LX_ENOTFOUND, "unknown entity type (known: %s)",
                     known.data ? known.data : "none");
        lx_buf_fini(&known);
        return lx_error_at(err, "/entity", 0, 0);
    }
    if (!ver) {
        *out = e->versions[e->count - 1].schema;
        return 0;
    }
    for (size_t i = 0; i < e->count; i++)
        if (strcmp(e->versions[i].name, ver) == 0) {
            *out = e->versions[i].schema;
            return 0;
        }
    for (size_t i = 0; i < e->count; i++)
        if (lx_buf_printf(&known, "%s%s", i ? ", " : "",
                          e->versions[i].name) != 0)
            break;
    lx_error_set(err, LX_ENOTFOUND, "no version %s of %s (known: %s)", ver,
                 entity_name, known.data ? known.data : "none");
    lx_buf_fini(&known);
    return LX_ENOTFOUND;
}

size_t lx_registry_count(const lx_registry *reg) { return reg->count; }

const char *lx_registry_entity(const lx_registry *reg, size_t i)
{
    return i < reg->count ? reg->entities[i].name : NULL;
}
