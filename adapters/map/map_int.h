/* adapters/map/map_int.h: the compiled program, shared by map_*.c
 * (private to the mapping engine).
 *
 * Everything a compiled map holds lives in its arena and is freed at once
 * by lx_map_destroy; the few owned resources that are not arena memory
 * (JSON values of tables and constants, regular expressions, stylesheets)
 * are listed in the map and released there too. Nothing here changes after
 * compilation, which is what makes a map safe to run from many threads. */
#ifndef LX_ADAPTERS_MAP_INT_H
#define LX_ADAPTERS_MAP_INT_H

#include "adapters/map/map.h"
#include "adapters/map/xslt.h"
#include "core/buf.h"

#include <regex.h>
#include <stdint.h>

/* ---- ceilings ---- */

#define MP_PATH_STEPS_MAX 32           /* steps in one path */
#define MP_PATH_ALTS_MAX 8             /* '|' alternatives in one path */
#define MP_FILTER_CONDS_MAX 8          /* tests in one [..] */
#define MP_DEPTH_MAX 16                /* nesting of object/each rules */
#define MP_RULES_MAX 4096              /* rules in one file, all levels */
#define MP_TABLE_MAX 65536             /* entries in one code table */
#define MP_VALUE_MAX ((size_t)1 << 20) /* one string a rule produces */
#define MP_REC_MAX (2 * MP_PATH_STEPS_MAX + 2)

/* ---- arena ---- */

typedef struct mp_chunk mp_chunk;
typedef struct mp_arena {
    mp_chunk *head;
} mp_arena;

/* Zeroed, aligned for any type; aborts on exhaustion like lx_xmalloc. */
void *mp_alloc(mp_arena *a, size_t n);
char *mp_strndup(mp_arena *a, const char *s, size_t n);
char *mp_strdup(mp_arena *a, const char *s);
void mp_arena_fini(mp_arena *a);

/* ---- sides and directions ---- */

/* A rule's two sides. MP_NATIVE == LX_MAP_IN on purpose: the source side
 * of a run is the side numbered like its direction, the target the other. */
enum { MP_NATIVE = 0, MP_CANONICAL = 1 };
#define MP_SRC(dir) ((int)(dir))
#define MP_DST(dir) (1 - (int)(dir))

#define MP_DIR_IN 1u
#define MP_DIR_OUT 2u
#define MP_DIR_BIT(dir) ((dir) == LX_MAP_IN ? MP_DIR_IN : MP_DIR_OUT)

/* ---- paths (map_path.c) ---- */

enum mp_step_kind { MP_KEY, MP_INDEX, MP_ALL, MP_FILTER };
enum mp_cmp { MP_EQ, MP_NE, MP_EXISTS, MP_MISSING };

typedef struct mp_path mp_path;

/* One test of a filter: name[use=official], identifier[value],
 * telecom[!period]. */
typedef struct mp_cond {
    const mp_path *key; /* relative to the element; keys and indexes only */
    int op;             /* enum mp_cmp */
    const char *value;  /* MP_EQ, MP_NE: compared with the text form */
    size_t value_len;
} mp_cond;

typedef struct mp_step {
    int kind;             /* enum mp_step_kind */
    const char *key;      /* MP_KEY: NUL-terminated */
    long index;           /* MP_INDEX: >= 0, or -1 for the last element */
    const mp_cond *conds; /* MP_FILTER: all must hold */
    size_t cond_count;
} mp_step;

struct mp_path {
    const char *text; /* this alternative as written, for messages */
    bool absolute;    /* '$': from the root of the whole input */
    const mp_step *steps;
    size_t step_count;
    const mp_path *next; /* the next '|' alternative, or NULL */
};

/* Parse `text` (NUL-terminated). On error returns LX_ESYNTAX with the
 * reason, in why, naming the character position. */
int mp_path_parse(mp_arena *a, const char *text, const mp_path **out, char *why,
                  size_t why_size);

/* Whether writing through the first alternative is possible: no '!=',
 * '!key' or '[-1]' selectors, '[*]' only last; with each_target, a
 * trailing filter may hold existence tests (they are not written). Sets
 * why when not. */
bool mp_path_writable(const mp_path *p, bool each_target, char *why,
                      size_t why_size);

/* Whether the last step of the first alternative is '[*]'. */
bool mp_path_ends_all(const mp_path *p);

/* The concrete location of a match: keys and indexes from the context. */
typedef struct mp_rec {
    size_t depth;
    struct {
        const char *key; /* NULL: an index */
        size_t index;
    } seg[MP_REC_MAX];
} mp_rec;

/* First match (a non-null value) of the first alternative that has one;
 * relative paths start at ctx, absolute ones at root. Borrowed or NULL. */
const json_t *mp_path_first(const mp_path *p, const json_t *root,
                            const json_t *ctx);

/* Every match of the first alternative that has any, in document order.
 * With flatten, a matched array contributes its elements (each rules).
 * fn returns non-zero to stop (and that value is returned). */
typedef int (*mp_match_fn)(void *arg, const json_t *v, size_t ordinal);
int mp_path_each(const mp_path *p, const json_t *root, const json_t *ctx,
                 bool flatten, mp_match_fn fn, void *arg);

/* Path styles for messages and lineage: native paths are dotted
 * ("name[0].given[1]"), canonical ones JSON pointers ("/name/given/1"). */
enum { MP_STYLE_DOTTED = 0, MP_STYLE_POINTER = 1 };
#define MP_STYLE_OF(side)                                                      \
    ((side) == MP_NATIVE ? MP_STYLE_DOTTED : MP_STYLE_POINTER)

/* Append the concrete location of match number `ordinal` (as counted by
 * mp_path_each / mp_path_first with ordinal 0) to b; when the matching
 * alternative is absolute ('$'), b is first cut back to root_len (the
 * length of the root's own prefix). Returns false when there is no such
 * match (b unchanged). */
bool mp_path_locate(const mp_path *p, const json_t *root, const json_t *ctx,
                    bool flatten, size_t ordinal, int style, lx_buf *b,
                    size_t root_len);

/* Append s to a message or lineage buffer: past the buffer's ceiling the
 * text is only cut short. */
void mp_buf_puts(lx_buf *b, const char *s);

/* Append rec's segments to b in a style. */
void mp_rec_format(const mp_rec *rec, int style, lx_buf *b);

/* Where a write lands, for lineage: rec receives the concrete location
 * and created() is told of each field a filter created. */
typedef struct mp_wtrace {
    mp_rec rec;
    void (*created)(void *arg, const mp_rec *at, const mp_path *key);
    void *arg;
} mp_wtrace;

/* Write value (stolen, even on error) at p's first alternative below
 * *slot, creating objects and arrays on the way ("name[use=official]"
 * creates {"use": "official"} when no element matches). An object written
 * where an object is merges into it; '[*]' appends. wt may be NULL.
 * Errors: LX_ECONFLICT (the target holds another shape) with why. */
int mp_path_write(const mp_path *p, json_t **slot, json_t *value, mp_wtrace *wt,
                  char *why, size_t why_size);

/* Append element (stolen) to the array at p (each rules): p's trailing
 * '[*]' or filter is the element selector, its equality tests are written
 * into the element. Errors as mp_path_write. */
int mp_path_append(const mp_path *p, json_t **slot, json_t *element,
                   mp_wtrace *wt, char *why, size_t why_size);

/* Text form of a scalar for comparisons and code tables: strings as they
 * are, integers in decimal, reals shortest, true/false. Returns false for
 * null, objects and arrays. *s may point into buf (size >= 32). */
bool mp_scalar_text(const json_t *v, char *buf, size_t size, const char **s,
                    size_t *len);

/* ---- code tables (map_table.c) ---- */

enum mp_unmapped {
    MP_UNMAPPED_ERROR = 0,
    MP_UNMAPPED_PASS,
    MP_UNMAPPED_DROP,
    MP_UNMAPPED_VALUE
};

typedef struct mp_hentry {
    const char *key; /* NULL: empty slot */
    size_t key_len;
    uint32_t hash;
    json_t *value; /* owned by the table */
} mp_hentry;

typedef struct mp_hash {
    mp_hentry *slots; /* power of two; at most half full */
    size_t mask;
    size_t count;
    int unmapped;     /* enum mp_unmapped */
    json_t *fallback; /* MP_UNMAPPED_VALUE, owned */
} mp_hash;

typedef struct mp_table {
    const char *name;
    mp_hash dir[2];     /* [LX_MAP_IN] native code -> canonical, [OUT] */
    bool bijective;     /* "in" is one-to-one ("out" is its inverse) */
    bool explicit_out;  /* "out" written in the file */
    char conflict[160]; /* why not bijective, for messages */
} mp_table;

/* Lookup: *out borrowed or NULL when unmapped. */
const json_t *mp_hash_get(const mp_hash *h, const char *key, size_t len);
/* Insert (value stolen); returns false when the key is already there. */
bool mp_hash_put(mp_hash *h, mp_arena *a, const char *key, size_t len,
                 json_t *value);
void mp_hash_init(mp_hash *h, mp_arena *a, size_t expected);
void mp_hash_fini(mp_hash *h);

/* ---- dates (map_date.c) ---- */

enum {
    MP_F_YEAR = 1 << 0,
    MP_F_MONTH = 1 << 1,
    MP_F_DAY = 1 << 2,
    MP_F_HOUR = 1 << 3,
    MP_F_MINUTE = 1 << 4,
    MP_F_SECOND = 1 << 5,
    MP_F_FRACTION = 1 << 6,
    MP_F_ZONE = 1 << 7
};
#define MP_F_TIME (MP_F_HOUR | MP_F_MINUTE | MP_F_SECOND | MP_F_FRACTION)

typedef struct mp_datefmt {
    const char *text;    /* as written, e.g. "CCYYMMDD" or "iso-date" */
    const char *picture; /* after presets, e.g. "YYYY-MM-DD" */
    struct {
        int tok; /* a MP_F_* field, or 0 for a literal */
        char lit;
    } items[40];
    size_t count;
    unsigned fields;
} mp_datefmt;

typedef struct mp_datetime {
    int year, month, day, hour, minute, second;
    char fraction[10]; /* digits, NUL-terminated, "" when none */
    bool has_zone;
    int zone_min; /* offset east of UTC, minutes */
} mp_datetime;

int mp_date_compile(mp_arena *a, const char *text, const mp_datefmt **out,
                    char *why, size_t why_size);
/* false when s[0..len) does not match the picture or is not a real date */
bool mp_date_parse(const mp_datefmt *f, const char *s, size_t len,
                   mp_datetime *dt);
/* Returns the length written (< size), NUL-terminated. */
size_t mp_date_format(const mp_datefmt *f, const mp_datetime *dt, char *buf,
                      size_t size);
/* Move dt to offset zone_min (it must have a zone). */
void mp_date_to_zone(mp_datetime *dt, int zone_min);
/* Parse "+01:00", "-0500", "Z" into minutes. */
bool mp_zone_parse(const char *s, int *zone_min);

/* ---- transforms (map_transform.c) ---- */

enum mp_xkind {
    MP_X_TRIM,
    MP_X_UPPER,
    MP_X_LOWER,
    MP_X_PREFIX,
    MP_X_DATE,
    MP_X_NUMBER,
    MP_X_MAP
};

/* How a transform runs backwards. */
enum mp_inv {
    MP_INV_EXACT = 0, /* a true inverse (date formats, prefix, number) */
    MP_INV_NORMALIZE, /* skipped on the way back (trim, case) */
    MP_INV_EXPLICIT,  /* a code table with its own "out" part */
    MP_INV_NONE       /* one-way */
};

typedef struct mp_xform {
    int kind;            /* enum mp_xkind */
    const char *name;    /* "date", for messages */
    int inv;             /* enum mp_inv */
    bool can[2];         /* runs [LX_MAP_IN], [LX_MAP_OUT] */
    const char *one_way; /* why, when inv is MP_INV_NONE or not bijective */
    /* MP_X_PREFIX */
    const char *prefix;
    size_t prefix_len;
    /* MP_X_DATE */
    const mp_datefmt *date[2]; /* [MP_NATIVE], [MP_CANONICAL] */
    bool has_zone;
    int zone_min;
    /* MP_X_NUMBER */
    int implied_decimals; /* -1: none */
    int decimals;         /* -1: as the value has them */
    char decimal_mark;
    bool integer;
    /* MP_X_MAP */
    const mp_table *table;
} mp_xform;

/* A value for the output (new reference): objects and arrays are deep
 * copies (the output is built and changed in place), scalars are shared,
 * as nothing in Lingua changes a jansson scalar after creating it (and
 * jansson's reference counts are atomic: compiled values are shared by
 * the threads that run a mapping). */
json_t *mp_value_copy(const json_t *v);

/* Apply x in direction dir to one scalar `in`. *out is a new reference, or
 * NULL when the value is dropped (a table's "drop" policy). Errors:
 * LX_EINVAL with the reason only (the caller names rule and path). */
int mp_xform_apply(const mp_xform *x, lx_map_dir dir, const json_t *in,
                   json_t **out, lx_error *err);

/* ---- lineage (map_trace.c) ---- */

void mp_trace_reset(lx_map_trace *t);
/* Copies every string. absolute: the target is from the output's root
 * already and mp_trace_rebase leaves it alone. */
void mp_trace_add(lx_map_trace *t, const char *target, const char *rule,
                  const char *rule_id, const char *source, bool absolute);
/* Prefix the targets of entries [from, count) with prefix (an element's
 * location) in a path style. */
void mp_trace_rebase(lx_map_trace *t, size_t from, size_t to,
                     const char *prefix, int style);

/* ---- rules ---- */

enum mp_rtype {
    MP_R_COPY,
    MP_R_OBJECT,
    MP_R_EACH,
    MP_R_CONST,
    MP_R_CONCAT,
    MP_R_SPLIT,
    MP_R_REF
};

enum mp_test { MP_T_EXISTS, MP_T_ABSENT, MP_T_EQUALS, MP_T_IN, MP_T_MATCHES };

typedef struct mp_when {
    int side; /* MP_NATIVE or MP_CANONICAL */
    const mp_path *path;
    int test;            /* enum mp_test */
    const char **values; /* MP_T_EQUALS (one), MP_T_IN: text forms */
    size_t *value_lens;
    size_t value_count;
    const regex_t *re; /* MP_T_MATCHES */
} mp_when;

typedef struct mp_rule mp_rule;
struct mp_rule {
    int type;               /* enum mp_rtype */
    const char *id;         /* "" when none */
    const char *label;      /* "rule 'family' (#2.1)" */
    unsigned dirs;          /* MP_DIR_IN | MP_DIR_OUT */
    const mp_path *side[2]; /* [MP_NATIVE], [MP_CANONICAL]; NULL if absent */
    /* concat / split: the side holding several paths, and those paths
     * (part_count 0: the side's one path holds an array) */
    int parts_side;
    const mp_path **parts;
    size_t part_count;
    const char *separator;
    size_t separator_len;
    const mp_xform *xforms;
    size_t xform_count;
    const mp_when *when;
    size_t when_count;
    json_t *defaults[2];     /* written at the TARGET side when the source has
                                nothing: [MP_CANONICAL] in, [MP_NATIVE] out */
    json_t *value;           /* const */
    const char *entity;      /* ref: expected canonical entity, or NULL */
    const char *native_type; /* ref: fixed native type (values are bare
                                ids), or NULL ("Type/id") */
    bool drop_unresolved;
    const mp_rule *rules; /* object, each */
    size_t rule_count;
};

/* An XSLT step (native side: in runs first, out runs last). */
typedef struct mp_xstep {
    const char *label; /* "step 'cda' (#1)" */
    unsigned dirs;
    lx_xslt *xslt;
    int input; /* LX_XSLT_XML or LX_XSLT_JSON */
    int output;
} mp_xstep;

struct lx_map {
    mp_arena arena;
    const char *id;
    const char *entity;
    const char *native_type;
    const mp_rule *rules;
    size_t rule_count;
    bool has_rules;
    mp_xstep *steps;
    size_t step_count;
    /* owned resources outside the arena */
    mp_table **tables;
    size_t table_count;
    json_t **values;
    size_t value_count;
    regex_t **regexes;
    size_t regex_count;
};

#endif
