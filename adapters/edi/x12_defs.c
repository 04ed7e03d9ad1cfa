/* adapters/edi/x12_defs.c: transaction set definitions, loaded from
 * schemas/x12/005010/ once and compiled; validation of one transaction. */
#include "adapters/edi/x12_int.h"

#include "core/json.h"
#include "core/mem.h"
#include "core/utf8.h"

#include <dirent.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ITEMS_MAX 64
#define UNBOUNDED ((size_t)-1)
#define SLOTS 4096 /* > 2x the dictionary's segments */

/* A code list compiled for lookups: its string codes sorted by length,
 * then bytes. */
typedef struct codeset {
    lx_x12_view *v; /* views of the JSON strings (defs->docs keeps them) */
    size_t n;
} codeset;

typedef struct edef {
    char req;     /* 'M', 'O' (X counts as O), 0: position not used */
    char type[3]; /* "ID", "AN", "N0".."N9", "R", "DT", "TM", "C" */
    char kind;    /* 'N', 'R', 'D' (DT), 'T' (TM), 'C', 'S' (other) */
    unsigned min, max;
} edef;

typedef struct sdef {
    char id[4];
    uint32_t key; /* id packed, for lookups */
    edef el[LX_X12_ELEMENTS_MAX];
    size_t count;
} sdef;

typedef struct node node;

typedef struct item {
    char seg[4];   /* the segment, or the loop's trigger segment */
    uint32_t key;  /* seg packed */
    size_t when_el; /* when_key's element, 0-based */
    node *loop;    /* NULL for a segment */
    char req;      /* 'M' or 'O' */
    size_t max;    /* UNBOUNDED for ">1" */
    int summary;   /* a transaction segment after the loops */
    const char *when_key;    /* "N101": the trigger must hold a code */
    const json_t *when_codes; /* borrowed from defs->docs */
    const codeset *when_set;  /* the same, compiled */
} item;

struct node {
    char id[8];
    item items[ITEMS_MAX];
    size_t count;
};

typedef struct tset {
    char id[4];
    node *root;
    const json_t *codes; /* {"INS01": [...]}, borrowed from defs->docs */
    /* The same lists by dictionary index: by_seg[seg * ELEMENTS_MAX + i]
     * (NULL: no list), built once all files are read. */
    const codeset **by_seg;
} tset;

struct lx_x12_defs {
    sdef *segs;
    size_t seg_count;
    tset *sets;
    size_t set_count;
    node **nodes; /* every node, for destroy */
    size_t node_count;
    json_t *docs; /* the loaded files, kept for code lists */
    codeset **codesets; /* every compiled list, for destroy */
    size_t codeset_count;
    /* Dictionary index by packed id: open addressing, -1 empty. */
    int32_t slot[SLOTS];
};

/* "INS" -> one integer, so that lookups compare once. */
static uint32_t pack_id(const char *id)
{
    uint32_t k = 0;
    for (size_t i = 0; i < 3 && id[i]; i++)
        k |= (uint32_t)(unsigned char)id[i] << (8 * i);
    return k;
}

static size_t slot_of(uint32_t key)
{
    return (size_t)((key * 2654435761u) >> 20) & (SLOTS - 1);
}

static int cfg(lx_error *err, const char *file, const char *what,
               const char *name)
{
    (void)lx_error_set(err, LX_ECONFIG, "%s: %s '%s'", file, what, name);
    return lx_error_at(err, file, 0, 0);
}

/* "M ID 1/3", "O AN 1/60", "M C", "" (unused position). */
static int parse_edef(const char *s, edef *e)
{
    memset(e, 0, sizeof(*e));
    if (s[0] == '\0')
        return 0;
    if (s[0] != 'M' && s[0] != 'O' && s[0] != 'X')
        return -1;
    e->req = s[0] == 'M' ? 'M' : 'O';
    if (s[1] != ' ')
        return -1;
    s += 2;
    size_t n = 0;
    while (s[n] && s[n] != ' ' && n < 2)
        n++;
    memcpy(e->type, s, n);
    e->type[n] = '\0';
    e->kind = e->type[0] == 'N'            ? 'N'
              : e->type[0] == 'R'          ? 'R'
              : strcmp(e->type, "DT") == 0 ? 'D'
              : strcmp(e->type, "TM") == 0 ? 'T'
              : strcmp(e->type, "C") == 0  ? 'C'
                                           : 'S';
    if (strcmp(e->type, "C") == 0)
        return s[n] == '\0' ? 0 : -1;
    if (s[n] != ' ')
        return -1;
    s += n + 1;
    unsigned v = 0;
    int digits = 0;
    while (*s >= '0' && *s <= '9' && v < 100000) {
        v = v * 10 + (unsigned)(*s++ - '0');
        digits++;
    }
    if (!digits || *s != '/')
        return -1;
    e->min = v;
    v = 0;
    digits = 0;
    s++;
    while (*s >= '0' && *s <= '9' && v < 100000) {
        v = v * 10 + (unsigned)(*s++ - '0');
        digits++;
    }
    e->max = v;
    return digits && *s == '\0' && e->min <= e->max && e->max > 0 ? 0 : -1;
}

/* "REF M 1", "DTP O >1", "N1 O 200". */
static int parse_item(const char *s, item *it)
{
    size_t n = 0;
    memset(it, 0, sizeof(*it));
    while (s[n] && s[n] != ' ' && n < 3)
        n++;
    if (n < 2 || s[n] != ' ')
        return -1;
    memcpy(it->seg, s, n);
    it->key = pack_id(it->seg);
    s += n + 1;
    if ((s[0] != 'M' && s[0] != 'O') || s[1] != ' ')
        return -1;
    it->req = s[0];
    s += 2;
    if (strcmp(s, ">1") == 0) {
        it->max = UNBOUNDED;
        return 0;
    }
    size_t v = 0;
    while (*s >= '0' && *s <= '9' && v < 10000000)
        v = v * 10 + (size_t)(*s++ - '0');
    it->max = v;
    return *s == '\0' && v > 0 ? 0 : -1;
}

static int view_cmp(const void *a, const void *b)
{
    const lx_x12_view *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return memcmp(x->ptr, y->ptr, x->len);
}

static const codeset *compile_codes(lx_x12_defs *d, const json_t *list)
{
    codeset *cs = lx_xcalloc(1, sizeof(*cs));
    size_t i;
    json_t *c;
    cs->v = lx_xcalloc(json_array_size(list) + 1, sizeof(*cs->v));
    json_array_foreach(list, i, c) {
        if (!json_is_string(c))
            continue;
        cs->v[cs->n].ptr = json_string_value(c);
        cs->v[cs->n].len = json_string_length(c);
        cs->n++;
    }
    qsort(cs->v, cs->n, sizeof(*cs->v), view_cmp);
    d->codesets = lx_xrealloc(d->codesets,
                              (d->codeset_count + 1) * sizeof(codeset *));
    d->codesets[d->codeset_count++] = cs;
    return cs;
}

static int in_codes(const codeset *cs, const char *s, size_t n)
{
    lx_x12_view key = {s, n};
    return bsearch(&key, cs->v, cs->n, sizeof(*cs->v), view_cmp) != NULL;
}

static int parse_max(const json_t *m, size_t *max)
{
    if (!m) {
        *max = UNBOUNDED;
        return 0;
    }
    if (json_is_integer(m) && json_integer_value(m) > 0) {
        *max = (size_t)json_integer_value(m);
        return 0;
    }
    if (json_is_string(m) && strcmp(json_string_value(m), ">1") == 0) {
        *max = UNBOUNDED;
        return 0;
    }
    return -1;
}

static int compile_node(lx_x12_defs *d, const json_t *j, node **out,
                        int depth, int is_root, const char *file,
                        lx_error *err);

static int add_items(node *n, const json_t *list, int summary,
                     const char *file, lx_error *err)
{
    size_t i;
    json_t *s;
    json_array_foreach(list, i, s) {
        if (n->count == ITEMS_MAX)
            return cfg(err, file, "too many items in loop", n->id);
        item *it = &n->items[n->count];
        if (!json_is_string(s) || parse_item(json_string_value(s), it) != 0)
            return cfg(err, file, "bad segment entry (\"ID M|O max\") in",
                       n->id);
        it->summary = summary;
        n->count++;
    }
    return 0;
}

static int compile_node(lx_x12_defs *d, const json_t *j, node **out,
                        int depth, int is_root, const char *file,
                        lx_error *err)
{
    node *n = lx_xcalloc(1, sizeof(*n));
    size_t i;
    json_t *l;
    int rc;
    *out = n;
    d->nodes = lx_xrealloc(d->nodes, (d->node_count + 1) * sizeof(node *));
    d->nodes[d->node_count++] = n;
    snprintf(n->id, sizeof(n->id), "%s",
             is_root ? "" : (lx_json_str(j, "id") ? lx_json_str(j, "id")
                                                  : "?"));
    if (depth > LX_X12_LOOP_DEPTH_MAX)
        return cfg(err, file, "loops nested too deep at", n->id);
    rc = add_items(n, json_object_get(j, "segments"), 0, file, err);
    if (rc < 0)
        return rc;
    if (!is_root) {
        const char *trigger = lx_json_str(j, "trigger");
        if (n->count == 0 || (trigger && strcmp(trigger, n->items[0].seg)))
            return cfg(err, file, "trigger is not the first segment of loop",
                       n->id);
    }
    json_array_foreach(json_object_get(j, "loops"), i, l) {
        if (n->count == ITEMS_MAX)
            return cfg(err, file, "too many items in loop", n->id);
        item *it = &n->items[n->count++];
        memset(it, 0, sizeof(*it));
        rc = compile_node(d, l, &it->loop, depth + 1, 0, file, err);
        if (rc < 0)
            return rc;
        memcpy(it->seg, it->loop->items[0].seg, sizeof(it->seg));
        it->key = it->loop->items[0].key;
        const char *req = lx_json_str(l, "req");
        it->req = req && req[0] == 'M' ? 'M' : 'O';
        if (parse_max(json_object_get(l, "max"), &it->max) != 0)
            return cfg(err, file, "bad max of loop", it->loop->id);
        const json_t *when = json_object_get(l, "when");
        if (when) {
            const char *key;
            json_t *codes;
            json_object_foreach((json_t *)when, key, codes) {
                size_t kl = strlen(key);
                it->when_key = key;
                it->when_codes = codes;
                it->when_set = compile_codes(d, codes);
                /* "N101": the element number is the last two digits. */
                if (kl < 4 || key[kl - 2] < '0' || key[kl - 2] > '9' ||
                    key[kl - 1] < '0' || key[kl - 1] > '9' ||
                    (key[kl - 2] == '0' && key[kl - 1] == '0'))
                    return cfg(err, file, "bad \"when\" element of loop",
                               it->loop->id);
                it->when_el = (size_t)((key[kl - 2] - '0') * 10 +
                                       (key[kl - 1] - '0') - 1);
            }
        }
    }
    if (is_root)
        rc = add_items(n, json_object_get(j, "summary"), 1, file, err);
    return rc;
}

static int load_dictionary(lx_x12_defs *d, const json_t *j, const char *file,
                           lx_error *err)
{
    const char *id;
    json_t *els;
    json_object_foreach(json_object_get(j, "segments"), id, els) {
        size_t i;
        json_t *e;
        d->segs = lx_xrealloc(d->segs, (d->seg_count + 1) * sizeof(sdef));
        sdef *s = &d->segs[d->seg_count++];
        memset(s, 0, sizeof(*s));
        snprintf(s->id, sizeof(s->id), "%s", id);
        s->key = pack_id(s->id);
        json_array_foreach(els, i, e) {
            if (i >= LX_X12_ELEMENTS_MAX || !json_is_string(e) ||
                parse_edef(json_string_value(e), &s->el[i]) != 0)
                return cfg(err, file, "bad element (\"M|O TYPE min/max\") in",
                           id);
            s->count = i + 1;
        }
    }
    return 0;
}

static long seg_index(const lx_x12_defs *d, uint32_t key)
{
    if (!d)
        return -1;
    for (size_t k = slot_of(key);; k = (k + 1) & (SLOTS - 1)) {
        int32_t i = d->slot[k];
        if (i < 0 || d->segs[i].key == key)
            return i;
    }
}

/* The lookup tables, once every file is read: the dictionary by packed
 * id (the first definition of an id wins, as a linear search found it)
 * and each set's code lists by dictionary index and element. */
static void index_defs(lx_x12_defs *d)
{
    for (size_t k = 0; k < SLOTS; k++)
        d->slot[k] = -1;
    for (size_t i = 0; i < d->seg_count && i < SLOTS / 2; i++) {
        size_t k = slot_of(d->segs[i].key);
        while (d->slot[k] >= 0 && d->segs[d->slot[k]].key != d->segs[i].key)
            k = (k + 1) & (SLOTS - 1);
        if (d->slot[k] < 0)
            d->slot[k] = (int32_t)i;
    }
    for (size_t t = 0; t < d->set_count; t++) {
        tset *ts = &d->sets[t];
        const char *key;
        json_t *codes;
        ts->by_seg = lx_xcalloc(d->seg_count * LX_X12_ELEMENTS_MAX + 1,
                                sizeof(*ts->by_seg));
        json_object_foreach((json_t *)ts->codes, key, codes) {
            size_t kl = strlen(key);
            if (kl < 4 || kl > 5 || key[kl - 2] < '0' || key[kl - 2] > '9' ||
                key[kl - 1] < '0' || key[kl - 1] > '9')
                continue; /* never an element key: never looked up */
            char id[4] = {0};
            memcpy(id, key, kl - 2);
            size_t el = (size_t)((key[kl - 2] - '0') * 10 + key[kl - 1] - '0');
            long si = seg_index(d, pack_id(id));
            if (si >= 0 && el >= 1 && strcmp(d->segs[si].id, id) == 0 &&
                json_is_array(codes))
                ts->by_seg[(size_t)si * LX_X12_ELEMENTS_MAX + el - 1] =
                    compile_codes(d, codes);
        }
    }
}

int lx_x12_defs_load(const char *dir, lx_x12_defs **out, lx_error *err)
{
    char path[1024];
    struct dirent *e;
    int rc = 0;
    LX_ASSERT(dir != NULL && out != NULL);
    *out = NULL;
    DIR *dh = opendir(dir);
    if (!dh) {
        (void)lx_error_set(err, LX_EIO, "cannot open X12 definitions");
        return lx_error_at(err, dir, 0, 0);
    }
    lx_x12_defs *d = lx_xcalloc(1, sizeof(*d));
    d->docs = json_array();
    while (rc == 0 && (e = readdir(dh)) != NULL) {
        size_t n = strlen(e->d_name);
        json_t *j = NULL;
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        rc = lx_json_load_file(path, 1 << 20, &j, err);
        if (rc < 0)
            break;
        json_array_append_new(d->docs, j);
        if (json_object_get(j, "segments") &&
            json_is_object(json_object_get(j, "segments"))) {
            rc = load_dictionary(d, j, path, err);
            continue;
        }
        const char *id = lx_json_str(j, "id");
        if (!id || strlen(id) != 3) {
            rc = cfg(err, path, "transaction set without a 3-digit", "id");
            break;
        }
        d->sets = lx_xrealloc(d->sets, (d->set_count + 1) * sizeof(tset));
        tset *t = &d->sets[d->set_count++];
        memset(t, 0, sizeof(*t));
        snprintf(t->id, sizeof(t->id), "%s", id);
        t->codes = json_object_get(j, "codes");
        rc = compile_node(d, j, &t->root, 0, 1, path, err);
    }
    closedir(dh);
    if (rc == 0)
        index_defs(d);
    if (rc < 0) {
        lx_x12_defs_destroy(&d);
        return rc;
    }
    *out = d;
    return 0;
}

void lx_x12_defs_destroy(lx_x12_defs **defs)
{
    if (!defs || !*defs)
        return;
    lx_x12_defs *d = *defs;
    for (size_t i = 0; i < d->node_count; i++)
        free(d->nodes[i]);
    free(d->nodes);
    free(d->segs);
    for (size_t i = 0; i < d->set_count; i++)
        free(d->sets[i].by_seg);
    for (size_t i = 0; i < d->codeset_count; i++) {
        free(d->codesets[i]->v);
        free(d->codesets[i]);
    }
    free(d->codesets);
    free(d->sets);
    json_decref(d->docs);
    free(d);
    *defs = NULL;
}

static const tset *find_set(const lx_x12_defs *d, const char *id)
{
    for (size_t i = 0; d && i < d->set_count; i++)
        if (strcmp(d->sets[i].id, id) == 0)
            return &d->sets[i];
    return NULL;
}

int lx_x12_defs_has_set(const lx_x12_defs *defs, const char *id)
{
    return find_set(defs, id) != NULL;
}

/* ---- elements -------------------------------------------------------- */

typedef struct ctx {
    const lx_x12_defs *defs;
    const tset *set;
    lx_x12_doc *doc;
    const lx_x12_where *w;
    const lx_x12_body *body;
    lx_x12_lazy *lz;
} ctx;

/* Byte offset of the segment at SE-count position pos (2 = the first
 * after ST), or -1 past the body (the SE itself) or in an empty body. */
static long offset_at(const ctx *c, size_t pos)
{
    return pos >= 2 && pos - 2 < c->body->count
               ? c->body->segs[pos - 2].offset
               : -1;
}

static int digit(char c)
{
    return c >= '0' && c <= '9';
}

static unsigned num(const char *s, size_t n)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    return v;
}

/* DT is CCYYMMDD (or YYMMDD in ISA/GS of older versions), X12.6. */
static int valid_date(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!digit(s[i]))
            return 0;
    if (n != 8 && n != 6)
        return 0;
    unsigned y = n == 8 ? num(s, 4) : 2000 + num(s, 2);
    unsigned m = num(s + n - 4, 2), d = num(s + n - 2, 2);
    static const unsigned days[] = {31, 29, 31, 30, 31, 30,
                                    31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1 || d > days[m - 1])
        return 0;
    return !(m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 || y % 400 == 0)));
}

/* TM is HHMM[SS[d..d]]. */
static int valid_time(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!digit(s[i]))
            return 0;
    if (n < 4 || num(s, 2) > 23 || num(s + 2, 2) > 59)
        return 0;
    return n < 6 || num(s + 4, 2) <= 59;
}

/* Length and characters of a simple value; returns the AK4/IK4 code or
 * NULL and the rule in *rule. */
static const char *check_value(const edef *e, const char *s, size_t n,
                               const codeset *codes, const char **rule)
{
    size_t len = n;
    if (e->kind == 'N' || e->kind == 'R') {
        /* Signs and the decimal point do not count in the length. */
        size_t dots = 0, i = 0;
        if (n > 0 && s[0] == '-')
            i = 1, len--;
        for (; i < n; i++) {
            if (s[i] == '.' && e->kind == 'R' && dots++ == 0) {
                len--;
                continue;
            }
            if (!digit(s[i])) {
                *rule = "invalid character in a numeric element";
                return "6";
            }
        }
    } else if (e->kind == 'D' && !valid_date(s, n)) {
        *rule = "invalid date";
        return "8";
    } else if (e->kind == 'T' && !valid_time(s, n)) {
        *rule = "invalid time";
        return "9";
    } else {
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
                *rule = "invalid character";
                return "6";
            }
        /* Past ASCII only UTF-8 can go into the tree (a JSON string): a
         * Latin-1 name would otherwise vanish from it without a word. */
        if (!lx_utf8_valid(s, n, NULL)) {
            *rule = "invalid character (not UTF-8)";
            return "6";
        }
    }
    if (len < e->min) {
        *rule = "data element too short";
        return "4";
    }
    if (len > e->max) {
        *rule = "data element too long";
        return "5";
    }
    if (codes) {
        if (in_codes(codes, s, n))
            return NULL;
        *rule = "invalid code value";
        return "7";
    }
    return NULL;
}

/* A value the tree holds as a string: no component or repetition
 * separator in it (else it becomes an array). */
static int is_simple(lx_x12_view v, const lx_x12_delims *d)
{
    return !(v.len > 0 &&
             ((d->repetition && memchr(v.ptr, d->repetition, v.len)) ||
              memchr(v.ptr, d->component, v.len)));
}

static void check_elements(ctx *c, const lx_x12_cseg *seg, size_t pos,
                           const char *loop_id)
{
    long si = seg_index(c->defs, pack_id(seg->id));
    if (si < 0)
        return;
    const sdef *sd = &c->defs->segs[si];
    const char *id = seg->id;
    const lx_x12_view *els = c->body->els + seg->first;
    const codeset **codes =
        c->set ? c->set->by_seg + (size_t)si * LX_X12_ELEMENTS_MAX : NULL;
    long off = offset_at(c, pos);
    for (size_t i = 0; i < LX_X12_ELEMENTS_MAX; i++) {
        int present = i < seg->count;
        int empty = !present || els[i].len == 0;
        if (i >= sd->count || sd->el[i].req == 0) {
            if (!empty)
                lx_x12_diag_add(c->doc, c->w, LX_X12_LEVEL_ELEMENT, "3", id,
                                loop_id, pos, i + 1, 0, off,
                                "too many data elements");
            if (i >= sd->count && !present)
                break;
            continue;
        }
        const edef *e = &sd->el[i];
        if (empty) {
            if (e->req == 'M')
                lx_x12_diag_add(c->doc, c->w, LX_X12_LEVEL_ELEMENT, "1", id,
                                loop_id, pos, i + 1, 0, off,
                                "mandatory data element missing");
            continue;
        }
        if (e->kind == 'C')
            continue; /* Components are not described yet. */
        /* A simple element that holds a component separator is text
         * written with ':' in a 004010 file more often than an error:
         * not reported. */
        if (!is_simple(els[i], &c->body->delims))
            continue;
        const char *rule = NULL;
        const char *code = check_value(e, els[i].ptr, els[i].len,
                                       codes ? codes[i] : NULL, &rule);
        if (code)
            lx_x12_diag_add(c->doc, c->w, LX_X12_LEVEL_ELEMENT, code, id,
                            loop_id, pos, i + 1, 0, off, "%s", rule);
    }
}

/* ---- loops ----------------------------------------------------------- */

typedef struct frame {
    const node *def;
    size_t pos; /* current item */
    size_t counts[ITEMS_MAX];
    uint32_t out; /* the node instance: 0 the transaction, k the k-th loop */
} frame;

static int item_matches(const ctx *c, const item *it, const lx_x12_cseg *seg,
                        uint32_t key)
{
    if (it->key != key)
        return 0;
    if (!it->loop || !it->when_key)
        return 1;
    if (it->when_el >= seg->count)
        return 0;
    lx_x12_view v = c->body->els[seg->first + it->when_el];
    if (!is_simple(v, &c->body->delims))
        return 0;
    return in_codes(it->when_set, v.ptr, v.len);
    return 0;
}

/* The item of frame f that takes seg, or -1. A loop's trigger (item 0)
 * starts a new occurrence of that loop in the parent, never a repeat. */
static long find_item(const ctx *c, const frame *f, int is_loop,
                      const lx_x12_cseg *seg, uint32_t key)
{
    size_t from = f->pos;
    if (is_loop && from == 0)
        from = 1;
    for (size_t k = from; k < f->def->count; k++) {
        const item *it = &f->def->items[k];
        if (!item_matches(c, it, seg, key))
            continue;
        if (it->loop || f->counts[k] < it->max)
            return (long)k;
        /* Full: a later entry for the same segment may take it. */
        for (size_t m = k + 1; m < f->def->count; m++)
            if (!f->def->items[m].loop &&
                item_matches(c, &f->def->items[m], seg, key))
                return (long)m;
        return (long)k;
    }
    return -1;
}

static void missing(ctx *c, const frame *f, size_t from, size_t to,
                    size_t pos)
{
    for (size_t k = from; k < to; k++) {
        const item *it = &f->def->items[k];
        if (it->req == 'M' && f->counts[k] == 0)
            lx_x12_diag_add(c->doc, c->w, LX_X12_LEVEL_SEGMENT, "3", it->seg,
                            f->def->id, pos, 0, 0,
                            offset_at(c, pos),
                            "required %s %s missing%s%s",
                            it->loop ? "loop starting with" : "segment",
                            it->seg, f->def->id[0] ? " in loop " : "",
                            f->def->id);
    }
}

static int in_def(const node *n, uint32_t key, int depth)
{
    for (size_t k = 0; k < n->count && depth < LX_X12_LOOP_DEPTH_MAX; k++)
        if (n->items[k].key == key ||
            (n->items[k].loop && in_def(n->items[k].loop, key, depth + 1)))
            return 1;
    return 0;
}

static void put(ctx *c, uint32_t node_inst, uint32_t kind)
{
    lx_x12_doc *doc = c->doc;
    LX_EDI_GROW(doc->puts, doc->put_count, doc->put_cap);
    doc->puts[doc->put_count].node = node_inst;
    doc->puts[doc->put_count].kind = kind;
    doc->put_count++;
}

static uint32_t open_loop(ctx *c, const char *id)
{
    lx_x12_doc *doc = c->doc;
    LX_EDI_GROW(doc->loops, doc->loop_count, doc->loop_cap);
    memcpy(doc->loops[doc->loop_count].id, id,
           sizeof(doc->loops[doc->loop_count].id)); /* node.id: char[8] */
    doc->loop_count++;
    return (uint32_t)++c->lz->loop_count;
}

static void structure(ctx *c)
{
    /* On the stack (5 KiB): a large request here, per transaction set,
     * would make malloc consolidate the chunks of the tree the caller just
     * freed (x12_int.h, lx_x12_scratch). */
    frame stack[LX_X12_LOOP_DEPTH_MAX + 2];
    memset(stack, 0, sizeof(stack));
    size_t top = 0;
    stack[0].def = c->set->root;
    stack[0].out = 0;
    for (size_t i = 0; i < c->body->count; i++) {
        const lx_x12_cseg *seg = &c->body->segs[i];
        const char *id = seg->id;
        uint32_t key = pack_id(id);
        size_t pos = i + 2;
        long k = -1;
        size_t d = top + 1;
        while (d-- > 0) {
            k = find_item(c, &stack[d], d > 0, seg, key);
            if (k >= 0)
                break;
        }
        if (k < 0) {
            frame *f = &stack[top];
            int earlier = 0;
            for (size_t s = 0; s <= top; s++)
                for (size_t m = 0; m < stack[s].pos; m++)
                    earlier |= stack[s].def->items[m].key == key;
            const char *code = earlier                          ? "7"
                               : in_def(c->set->root, key, 0)   ? "2"
                               : seg_index(c->defs, key) >= 0   ? "6"
                                                                : "1";
            lx_x12_diag_add(c->doc, c->w, LX_X12_LEVEL_SEGMENT, code, id,
                            f->def->id, pos, 0, 0, seg->offset, "%s",
                            code[0] == '7'   ? "segment not in proper sequence"
                            : code[0] == '2' ? "unexpected segment"
                            : code[0] == '6'
                                ? "segment not in defined transaction set"
                                : "unrecognized segment id");
            int summary = top == 0 && f->pos < f->def->count &&
                          f->def->items[f->pos].summary;
            put(c, f->out,
                summary ? LX_X12_PUT_SUMMARY : LX_X12_PUT_SEGMENTS);
            check_elements(c, seg, pos, f->def->id);
            continue;
        }
        while (top > d) { /* close the loops below the one that matched */
            missing(c, &stack[top], stack[top].pos, stack[top].def->count,
                    pos);
            top--;
        }
        frame *f = &stack[top];
        missing(c, f, f->pos, (size_t)k, pos);
        const item *it = &f->def->items[k];
        f->pos = (size_t)k;
        f->counts[k]++;
        if (it->loop) {
            if (f->counts[k] > it->max)
                lx_x12_diag_add(c->doc, c->w, LX_X12_LEVEL_SEGMENT, "4", id,
                                it->loop->id, pos, 0, 0, seg->offset,
                                "loop %s occurs over its maximum %zu times",
                                it->loop->id, it->max);
            if (top + 1 > LX_X12_LOOP_DEPTH_MAX) {
                put(c, 0, LX_X12_PUT_NONE); /* compile_node bounds it */
                continue;
            }
            put(c, f->out, LX_X12_PUT_LOOP);
            uint32_t inst = open_loop(c, it->loop->id);
            top++;
            memset(&stack[top], 0, sizeof(stack[top]));
            stack[top].def = it->loop;
            stack[top].out = inst;
            stack[top].counts[0] = 1;
            check_elements(c, seg, pos, it->loop->id);
            continue;
        }
        if (f->counts[k] > it->max)
            lx_x12_diag_add(c->doc, c->w, LX_X12_LEVEL_SEGMENT, "5", id,
                            f->def->id, pos, 0, 0, seg->offset,
                            "segment exceeds its maximum use %zu", it->max);
        put(c, f->out,
            it->summary ? LX_X12_PUT_SUMMARY : LX_X12_PUT_SEGMENTS);
        check_elements(c, seg, pos, f->def->id);
    }
    size_t end = c->body->count + 2;
    for (;;) {
        missing(c, &stack[top], stack[top].pos, stack[top].def->count, end);
        if (top == 0)
            break;
        top--;
    }
}

void lx_x12_defs_apply(const lx_x12_defs *defs, const lx_x12_body *body,
                       lx_x12_doc *doc, const lx_x12_where *w,
                       lx_x12_lazy *lz)
{
    ctx c = {defs, find_set(defs, w->set), doc, w, body, lz};
    lz->put_first = doc->put_count;
    lz->loop_first = doc->loop_count;
    lz->loop_count = 0;
    if (c.set) {
        structure(&c);
        return;
    }
    for (size_t i = 0; i < body->count; i++) {
        put(&c, 0, LX_X12_PUT_SEGMENTS);
        check_elements(&c, &body->segs[i], i + 2, NULL);
    }
}
