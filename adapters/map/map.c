/* adapters/map/map.c: loading a mapping file, and the compiled map's
 * accessors and destructor. */
#include "adapters/map/map_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int lx_map_load(const char *path, lx_map **out, lx_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        lx_error_set(err, LX_EIO, "cannot open mapping: %s", strerror(e));
        if (err)
            err->lib_code = e;
        return lx_error_at(err, path, 0, 0);
    }
    lx_buf b;
    lx_buf_init(&b, LX_MAP_FILE_MAX);
    char chunk[16384];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = lx_buf_append(&b, chunk, n);
    bool bad = ferror(f);
    fclose(f);
    if (rc || bad) {
        lx_buf_fini(&b);
        if (rc)
            lx_error_set(err, LX_ELIMIT, "mapping over %zu bytes",
                         LX_MAP_FILE_MAX);
        else
            lx_error_set(err, LX_EIO, "cannot read mapping");
        return lx_error_at(err, path, 0, 0);
    }
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    rc = lx_map_compile_text(b.data ? b.data : "", b.len, path, dir, out, err);
    lx_buf_fini(&b);
    return rc;
}

void lx_map_destroy(lx_map **mp)
{
    if (!mp || !*mp)
        return;
    lx_map *m = *mp;
    for (size_t i = 0; i < m->table_count; i++) {
        mp_hash_fini(&m->tables[i]->dir[0]);
        mp_hash_fini(&m->tables[i]->dir[1]);
    }
    free(m->tables);
    for (size_t i = 0; i < m->value_count; i++)
        json_decref(m->values[i]);
    free(m->values);
    for (size_t i = 0; i < m->regex_count; i++) {
        regfree(m->regexes[i]);
        free(m->regexes[i]);
    }
    free(m->regexes);
    for (size_t i = 0; i < m->step_count; i++)
        lx_xslt_destroy(&m->steps[i].xslt);
    mp_arena_fini(&m->arena);
    free(m);
    *mp = NULL;
}

const char *lx_map_id(const lx_map *m) { return m->id; }
const char *lx_map_entity(const lx_map *m) { return m->entity; }
const char *lx_map_native_type(const lx_map *m) { return m->native_type; }

bool lx_map_input_is_text(const lx_map *m, lx_map_dir dir)
{
    if (dir == LX_MAP_OUT && m->has_rules)
        return false;
    for (size_t k = 0; k < m->step_count; k++) {
        size_t i = dir == LX_MAP_IN ? k : m->step_count - 1 - k;
        if (m->steps[i].dirs & MP_DIR_BIT(dir))
            return m->steps[i].input == LX_XSLT_XML;
    }
    return false;
}
