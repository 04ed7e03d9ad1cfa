/* canonical/schema_int.h: the compiled form shared by schema*.c (private).
 *
 * Only the schema module includes pcre2.h; nothing here leaves it. */
#ifndef LX_CANONICAL_SCHEMA_INT_H
#define LX_CANONICAL_SCHEMA_INT_H

#include "canonical/schema.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Instance types, as bits of sc_node.types. */
enum {
    SC_T_NULL = 1 << 0,
    SC_T_BOOLEAN = 1 << 1,
    SC_T_OBJECT = 1 << 2,
    SC_T_ARRAY = 1 << 3,
    SC_T_NUMBER = 1 << 4,
    SC_T_STRING = 1 << 5,
    SC_T_INTEGER = 1 << 6
};

enum sc_format {
    SC_FMT_NONE = 0,
    SC_FMT_DATE,
    SC_FMT_DATE_TIME,
    SC_FMT_EMAIL,
    SC_FMT_URI,
    SC_FMT_UUID
};

/* Keyword families present in a node (sc_node.groups): validation skips a
 * whole family with one test. */
enum {
    SC_G_NUMBER = 1 << 0, /* minimum .. multipleOf */
    SC_G_STRING = 1 << 1, /* minLength maxLength pattern format */
    SC_G_ARRAY = 1 << 2,  /* items .. contains */
    SC_G_OBJECT = 1 << 3, /* properties .. dependentSchemas */
    SC_G_APPLY = 1 << 4   /* allOf anyOf oneOf not if */
};

/* A number from the schema, kept both ways so that comparisons with
 * instance integers stay exact beyond 2^53. */
typedef struct sc_num {
    bool is_set;
    bool is_int;
    json_int_t i;
    double d;
} sc_num;

/* An exact decimal m * 10^e (|m| < 10^17), for multipleOf. */
typedef struct sc_dec {
    int64_t m;
    int e;
} sc_dec;

typedef struct sc_node sc_node;

typedef struct sc_prop {
    const char *name; /* not NUL-safe: use len */
    size_t len;
    sc_node *schema;
} sc_prop;

typedef struct sc_regex {
    pcre2_code *code;
    const char *src; /* for messages (schema text, not instance data) */
} sc_regex;

typedef struct sc_pprop {
    sc_regex re;
    sc_node *schema;
} sc_pprop;

typedef struct sc_name {
    const char *name;
    size_t len;
} sc_name;

typedef struct sc_depreq {
    const char *name;
    size_t len;
    sc_name *required;
    size_t required_count;
} sc_depreq;

typedef struct sc_list {
    sc_node **v;
    size_t count;
} sc_list;

struct sc_node {
    const char *ptr; /* JSON pointer of this schema in the document */
    unsigned index;  /* dense, 0..node_count-1 */
    signed char boolean; /* -1: object schema; 0: false; 1: true */
    unsigned char types; /* SC_T_* bits, 0 when "type" is absent */
    unsigned char format; /* enum sc_format */
    unsigned char groups; /* SC_G_* bits */

    sc_node *ref;

    json_t *const_value; /* owned copy, or NULL */
    bool has_const;
    json_t **enum_values; /* owned copies */
    size_t enum_count;
    bool has_enum;
    const char *enum_text; /* the allowed values, for messages */

    sc_num minimum, maximum, ex_minimum, ex_maximum;
    bool has_multiple_of;
    sc_num multiple_of;
    sc_dec multiple_of_dec;

    bool has_min_length, has_max_length;
    size_t min_length, max_length;
    sc_regex pattern; /* code NULL when absent */

    bool has_min_items, has_max_items, unique_items;
    size_t min_items, max_items;
    sc_list prefix_items;
    sc_node *items;
    sc_node *contains;
    bool has_min_contains, has_max_contains;
    size_t min_contains, max_contains;

    sc_prop *props; /* in document order: errors come in that order */
    sc_prop **props_sorted; /* by (len, bytes), for binary search */
    size_t prop_count;
    sc_pprop *pprops;
    size_t pprop_count;
    sc_node *additional;
    sc_name *required;
    size_t required_count;
    bool has_min_props, has_max_props;
    size_t min_props, max_props;
    sc_node *property_names;
    sc_depreq *dep_required;
    size_t dep_required_count;
    sc_prop *dep_schemas;
    size_t dep_schema_count;

    sc_list all_of, any_of, one_of;
    sc_node *not_schema;
    sc_node *if_schema, *then_schema, *else_schema;
};

/* Bump allocator: everything compiled lives until lx_schema_destroy. */
typedef struct sc_block sc_block;
typedef struct sc_arena {
    sc_block *head;
} sc_arena;

void *sc_arena_alloc(sc_arena *a, size_t n); /* zeroed, aborts on OOM */
char *sc_arena_strndup(sc_arena *a, const char *s, size_t n);
void sc_arena_free(sc_arena *a);

/* Free match data kept for reuse by validating threads. */
typedef struct sc_mdpool {
    pthread_mutex_t mu;
    pcre2_match_data **v;
    size_t count, cap;
} sc_mdpool;

struct lx_schema {
    char *name;
    sc_arena arena;
    sc_node *root;
    size_t node_count;
    pcre2_match_context *mctx; /* shared read-only by all matches */
    sc_mdpool *pool;           /* mutable behind a const lx_schema * */
    pcre2_code **codes;        /* every compiled regex, to free */
    size_t code_count, code_cap;
    json_t **values; /* every enum/const copy, to decref */
    size_t value_count, value_cap;
};

/* Build the compiled tree (schema.c). */
int sc_compile(lx_schema *s, const json_t *doc, lx_error *err);

/* Regular expressions (schema_regex.c). */
int sc_regex_compile(lx_schema *s, const char *src, size_t len, sc_regex *out,
                     char *msg, size_t msg_size);
pcre2_match_data *sc_mdpool_take(sc_mdpool *p);
void sc_mdpool_give(sc_mdpool *p, pcre2_match_data *md);
void sc_mdpool_destroy(sc_mdpool **p);
sc_mdpool *sc_mdpool_new(void);
/* The shared match context with our match and heap limits. */
pcre2_match_context *sc_match_context_new(void);
/* 1 match, 0 no match, LX_ELIMIT when a match limit was hit. */
int sc_regex_match(const lx_schema *s, const sc_regex *re,
                   pcre2_match_data *md, const char *str, size_t len);

/* Numbers (schema_number.c). */
void sc_num_from_json(const json_t *v, sc_num *out);
int sc_num_cmp(const json_t *v, const sc_num *n); /* -1, 0, 1 */
int sc_json_num_cmp(const json_t *a, const json_t *b);
bool sc_dec_from_double(double d, sc_dec *out);
bool sc_is_multiple(const json_t *v, const sc_num *div, const sc_dec *dd);
bool sc_is_integer(const json_t *v);
/* Deep equality where numbers compare mathematically. Never recurses
 * deeper than LX_SCHEMA_DEPTH_MAX: *too_deep is set instead. */
bool sc_json_equal(const json_t *a, const json_t *b, bool *too_deep);
/* A hash consistent with sc_json_equal (0 and *too_deep when too deep). */
uint64_t sc_json_hash(const json_t *v, bool *too_deep);

/* Formats (schema_format.c): true when s[0..len) is valid. */
bool sc_format_date(const char *s, size_t len);
bool sc_format_date_time(const char *s, size_t len);
bool sc_format_email(const char *s, size_t len);
bool sc_format_uri(const char *s, size_t len);
bool sc_format_uuid(const char *s, size_t len);

/* URI references (schema_uri.c): resolve `ref` against the absolute URI
 * `base` (RFC 3986 section 5.2). Returns a malloc'd string. */
char *sc_uri_resolve(const char *base, const char *ref);

#endif
