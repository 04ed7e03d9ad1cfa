/* adapters/edi/x12_defs.c: transaction set definitions, loaded from
 * schemas/x12/005010/ once and compiled; validation of one transaction. */
#include "adapters/edi/x12_int.h"

#include "core/json.h"
#include "core/mem.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

#define ITEMS_MAX 64
#define UNBOUNDED ((size_t)-1)

typedef struct edef {
    char req;     /* 'M', 'O' (X counts as O), 0: position not used */
    char type[3]; /* "ID", "AN", "N0".."N9", "R", "DT", "TM", "C" */
    unsigned min, max;
} edef;

typedef struct sdef {
    char id[4];
    edef el[LX_X12_ELEMENTS_MAX];
    size_t count;
} sdef;

typedef struct node node;

typedef struct item {
    char seg[4];   /* the segment, or the loop's trigger segment */
    node *loop;    /* NULL for a segment */
    char req;      /* 'M' or 'O' */
    size_t max;    /* UNBOUNDED for ">1" */
    int summary;   /* a transaction segment after the loops */
    const char *when_key;    /* "N101": the trigger must hold a code */
    const json_t *when_codes; /* borrowed from defs->docs */
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
} tset;

struct lx_x12_defs {
    sdef *segs;
    size_t seg_count;
    tset *sets;
    size_t set_count;
    node **nodes; /* every node, for destroy */
    size_t node_count;
    json_t *docs; /* the loaded files, kept for code lists */
};

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
        const char *req = lx_json_str(l, "req");
        it->req = req && req[0] == 'M' ? 'M' : 'O';
        if (parse_max(json_object_get(l, "max"), &it->max) != 0)
            return cfg(err, file, "bad max of loop", it->loop->id);
        const json_t *when = json_object_get(l, "when");
        if (when) {
            const char *key;
            json_t *codes;
            json_object_foreach((json_t *)when, key, codes) {
                it->when_key = key;
                it->when_codes = codes;
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

static const sdef *find_seg(const lx_x12_defs *d, const char *id)
{
    for (size_t i = 0; d && i < d->seg_count; i++)
        if (strcmp(d->segs[i].id, id) == 0)
            return &d->segs[i];
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
} ctx;

/* Byte offset of the segment at SE-count position pos (2 = the first
 * after ST), or -1 past the body (the SE itself) or in an empty body. */
static long offset_at(const ctx *c, size_t pos)
{
    size_t n = json_array_size(c->body->segments);
    return pos >= 2 && pos - 2 < n && c->body->offsets
               ? c->body->offsets[pos - 2]
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
                               const json_t *codes, const char **rule)
{
    size_t len = n;
    if (e->type[0] == 'N' || e->type[0] == 'R') {
        /* Signs and the decimal point do not count in the length. */
        size_t dots = 0, i = 0;
        if (n > 0 && s[0] == '-')
            i = 1, len--;
        for (; i < n; i++) {
            if (s[i] == '.' && e->type[0] == 'R' && dots++ == 0) {
                len--;
                continue;
            }
            if (!digit(s[i])) {
                *rule = "invalid character in a numeric element";
                return "6";
            }
        }
    } else if (strcmp(e->type, "DT") == 0 && !valid_date(s, n)) {
        *rule = "invalid date";
        return "8";
    } else if (strcmp(e->type, "TM") == 0 && !valid_time(s, n)) {
        *rule = "invalid time";
        return "9";
    } else {
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
                *rule = "invalid character";
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
    if (codes && json_is_array(codes)) {
        size_t i;
        json_t *c;
        json_array_foreach(codes, i, c) {
            const char *v = json_string_value(c);
            if (v && strlen(v) == n && memcmp(v, s, n) == 0)
                return NULL;
        }
        *rule = "invalid code value";
        return "7";
    }
    return NULL;
}

static void check_elements(ctx *c, const json_t *seg, size_t pos,
                           const char *loop_id)
{
    const char *id = lx_json_str(seg, "id");
    const sdef *sd = find_seg(c->defs, id);
    long off = offset_at(c, pos);
    char key[8];
    if (!sd)
        return;
    for (size_t i = 0; i < LX_X12_ELEMENTS_MAX; i++) {
        snprintf(key, sizeof(key), "%s%02zu", id, i + 1);
        const json_t *v = json_object_get(seg, key);
        int empty = !v || (json_is_string(v) && json_string_length(v) == 0);
        if (i >= sd->count || sd->el[i].req == 0) {
            if (!empty)
                lx_x12_diag_add(c->doc, c->w, LX_X12_LEVEL_ELEMENT, "3", id,
                                loop_id, pos, i + 1, 0, off,
                                "too many data elements");
            if (i >= sd->count && !v)
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
        if (strcmp(e->type, "C") == 0)
            continue; /* Components are not described yet. */
        /* A simple element that holds a component separator is text
         * written with ':' in a 004010 file more often than an error:
         * not reported. */
        if (!json_is_string(v))
            continue;
        const char *rule = NULL;
        const json_t *codes = c->set ? json_object_get(c->set->codes, key)
                                     : NULL;
        const char *code = check_value(e, json_string_value(v),
                                       json_string_length(v), codes, &rule);
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
    json_t *out; /* the loop object (or the transaction) */
} frame;

static int item_matches(const item *it, const json_t *seg, const char *id)
{
    if (strcmp(it->seg, id) != 0)
        return 0;
    if (!it->loop || !it->when_key)
        return 1;
    const char *v = json_string_value(json_object_get(seg, it->when_key));
    size_t i;
    json_t *c;
    json_array_foreach(it->when_codes, i, c)
        if (v && json_string_value(c) && strcmp(v, json_string_value(c)) == 0)
            return 1;
    return 0;
}

/* The item of frame f that takes seg, or -1. A loop's trigger (item 0)
 * starts a new occurrence of that loop in the parent, never a repeat. */
static long find_item(const frame *f, int is_loop, const json_t *seg,
                      const char *id)
{
    size_t from = f->pos;
    if (is_loop && from == 0)
        from = 1;
    for (size_t k = from; k < f->def->count; k++) {
        const item *it = &f->def->items[k];
        if (!item_matches(it, seg, id))
            continue;
        if (it->loop || f->counts[k] < it->max)
            return (long)k;
        /* Full: a later entry for the same segment may take it. */
        for (size_t m = k + 1; m < f->def->count; m++)
            if (!f->def->items[m].loop &&
                item_matches(&f->def->items[m], seg, id))
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

static json_t *list_of(json_t *node_out, const char *name)
{
    json_t *a = json_object_get(node_out, name);
    if (!a) {
        a = json_array();
        json_object_set_new(node_out, name, a);
    }
    return a;
}

static int in_def(const node *n, const char *id, int depth)
{
    for (size_t k = 0; k < n->count && depth < LX_X12_LOOP_DEPTH_MAX; k++)
        if (strcmp(n->items[k].seg, id) == 0 ||
            (n->items[k].loop && in_def(n->items[k].loop, id, depth + 1)))
            return 1;
    return 0;
}

static void structure(ctx *c, json_t *txn)
{
    frame *stack = lx_xcalloc(LX_X12_LOOP_DEPTH_MAX + 2, sizeof(*stack));
    size_t top = 0, i;
    json_t *seg;
    stack[0].def = c->set->root;
    stack[0].out = txn;
    list_of(txn, "segments");
    json_array_foreach(c->body->segments, i, seg) {
        const char *id = lx_json_str(seg, "id");
        size_t pos = i + 2;
        long k = -1;
        size_t d = top + 1;
        while (d-- > 0) {
            k = find_item(&stack[d], d > 0, seg, id);
            if (k >= 0)
                break;
        }
        if (k < 0) {
            frame *f = &stack[top];
            int earlier = 0;
            for (size_t s = 0; s <= top; s++)
                for (size_t m = 0; m < stack[s].pos; m++)
                    earlier |= strcmp(stack[s].def->items[m].seg, id) == 0;
            const char *code = earlier                        ? "7"
                               : in_def(c->set->root, id, 0) ? "2"
                               : find_seg(c->defs, id)       ? "6"
                                                             : "1";
            lx_x12_diag_add(c->doc, c->w, LX_X12_LEVEL_SEGMENT, code, id,
                            f->def->id, pos, 0, 0, c->body->offsets[i], "%s",
                            code[0] == '7'   ? "segment not in proper sequence"
                            : code[0] == '2' ? "unexpected segment"
                            : code[0] == '6'
                                ? "segment not in defined transaction set"
                                : "unrecognized segment id");
            int summary = top == 0 && f->pos < f->def->count &&
                          f->def->items[f->pos].summary;
            json_array_append(list_of(f->out, summary ? "summary"
                                                      : "segments"),
                              seg);
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
                                it->loop->id, pos, 0, 0, c->body->offsets[i],
                                "loop %s occurs over its maximum %zu times",
                                it->loop->id, it->max);
            if (top + 1 > LX_X12_LOOP_DEPTH_MAX)
                continue; /* compile_node bounds the depth */
            json_t *lo = json_object();
            json_object_set_new(lo, "id", json_string(it->loop->id));
            json_array_append(list_of(lo, "segments"), seg);
            json_array_append_new(list_of(f->out, "loops"), lo);
            top++;
            memset(&stack[top], 0, sizeof(stack[top]));
            stack[top].def = it->loop;
            stack[top].out = lo;
            stack[top].counts[0] = 1;
            check_elements(c, seg, pos, it->loop->id);
            continue;
        }
        if (f->counts[k] > it->max)
            lx_x12_diag_add(c->doc, c->w, LX_X12_LEVEL_SEGMENT, "5", id,
                            f->def->id, pos, 0, 0, c->body->offsets[i],
                            "segment exceeds its maximum use %zu", it->max);
        json_array_append(list_of(f->out, it->summary ? "summary" : "segments"),
                          seg);
        check_elements(c, seg, pos, f->def->id);
    }
    size_t end = json_array_size(c->body->segments) + 2;
    for (;;) {
        missing(c, &stack[top], stack[top].pos, stack[top].def->count, end);
        if (top == 0)
            break;
        top--;
    }
    free(stack);
}

void lx_x12_defs_apply(const lx_x12_defs *defs, const lx_x12_body *body,
                       json_t *txn, lx_x12_doc *doc, const lx_x12_where *w)
{
    ctx c = {defs, find_set(defs, w->set), doc, w, body};
    if (c.set) {
        structure(&c, txn);
        return;
    }
    json_object_set(txn, "segments", body->segments);
    size_t i;
    json_t *seg;
    json_array_foreach(body->segments, i, seg)
        check_elements(&c, seg, i + 2, NULL);
}
