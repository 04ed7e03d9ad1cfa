/* adapters/map/map_compile_int.h: what the two halves of the compiler
 * share (private): map_compile.c reads the file, its rules and steps;
 * map_compile_value.c the values inside rules: code tables, transforms,
 * conditions. */
#ifndef LX_ADAPTERS_MAP_COMPILE_INT_H
#define LX_ADAPTERS_MAP_COMPILE_INT_H

#include "adapters/map/map_int.h"

#define PTR_MAX 256   /* a JSON pointer into the mapping file */
#define NUM_MAX 48    /* a rule number, "3.2.1" */
#define LABEL_MAX 160 /* "rule 'family' (#3.1)" */

typedef struct mc_ctx {
    lx_map *m;
    const char *text; /* may be NULL */
    size_t len;
    const char *name;
    const char *base_dir;
    lx_error *err;
    size_t rule_total;
    /* named tables */
    const char **table_names;
    mp_table **named;
    size_t named_count;
    /* rule ids seen, to refuse duplicates */
    const char **ids;
    size_t id_count;
} mc_ctx;

/* Fail with code at JSON pointer ptr, in rule ctx (NULL outside rules):
 * err gets the file, line and column, and "ctx at ptr: message". Returns
 * code. */
int mc_fail(mc_ctx *c, int code, const char *ptr, const char *ctx,
            const char *fmt, ...) LX_PRINTF(5, 6);

/* dst (PTR_MAX bytes) = base + one token / one index. */
void mc_ptr_key(char *dst, const char *base, const char *key);
void mc_ptr_index(char *dst, const char *base, size_t i);

/* A copy of v the map keeps (and frees with itself). */
json_t *mc_keep_value(mc_ctx *c, const json_t *v);

/* "an object", "a string", ... */
const char *mc_type_name(const json_t *v);

/* Refuse members of obj not in allowed (NULL-terminated); `what` names
 * obj in the message ("a copy rule"). */
int mc_check_keys(mc_ctx *c, const json_t *obj, const char *ptr,
                  const char *ctx, const char *what,
                  const char *const *allowed);

/* A non-empty string member, or NULL when absent and not required. */
int mc_get_string(mc_ctx *c, const json_t *obj, const char *key,
                  const char *ptr, const char *ctx, bool required,
                  const char **out);

/* Parse the path string v. */
int mc_path(mc_ctx *c, const json_t *v, const char *ptr, const char *ctx,
            const mp_path **out);

/* map_compile_value.c: the file's "tables", a rule's "transform" and
 * "when". */
int mc_tables(mc_ctx *c, const json_t *tables);
int mc_xforms(mc_ctx *c, const json_t *arr, const char *ptr, const char *ctx,
              mp_rule *r);
int mc_when(mc_ctx *c, const json_t *v, const char *ptr, const char *ctx,
            mp_rule *r);

#endif
