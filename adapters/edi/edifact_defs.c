/* adapters/edi/edifact_defs.c: message definitions loaded from data files
 * (schemas/edifact/<directory>/, format in docs/edifact.md), checked once
 * at load and then read as they are. */
#include "adapters/edi/edifact_int.h"
#include "core/json.h"
#include "core/mem.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DEFS_FILE_MAX ((size_t)4 << 20)
#define DEFS_MAX_DEPTH 8

/* The definitions compiled once at load for the compact path: formats
 * parsed, structures as arrays, segments found by hashing their tag. */
typedef struct cval {
    const char *id; /* "3035", borrowed from the JSON */
    int mandatory;
    char kind; /* 'a', 'n', 'x' (an) */
    long lo, hi;
} cval;

typedef struct cel {
    cval v;
    const cval *comps; /* NULL: a simple element */
    size_t ncomp;
} cel;

typedef struct cseg_def {
    char tag[LX_EDIFACT_TAG_MAX + 1];
    uint64_t key;
    const cel *els;
    size_t nel;
} cseg_def;

typedef struct centry centry;
typedef struct cstruct {
    const centry *e;
    size_t n;
    /* Indexes that make placing a segment O(1) per frame:
     * next_m[j], the first mandatory entry at or after j (n: none);
     * next_same[j], the next entry after j with the same tag (n: none);
     * slot[h] -> the first entry with a tag, by hash (mask: slot_mask). */
    const uint32_t *next_m, *next_same;
    const int32_t *slot;
    uint32_t slot_mask;
} cstruct;

struct centry {
    char tag[LX_EDIFACT_TAG_MAX + 1]; /* the segment, or group trigger */
    uint64_t key;
    const char *group_id;             /* NULL for a segment */
    int mandatory;
    long max;
    cstruct content; /* a group's entries */
};

typedef struct cmsg {
    const char *type;
    const json_t *def;
    cstruct root;
} cmsg;

#define CSEG_SLOTS 2048

struct lx_edifact_defs {
    char version[8];
    char release[8];
    json_t *segments; /* tag -> [element definitions] */
    json_t *messages; /* type -> message definition */
    /* Compiled: every block allocated is listed in `blocks`. */
    void **blocks;
    size_t block_count;
    cseg_def *csegs;
    size_t cseg_count;
    int32_t cseg_slot[CSEG_SLOTS]; /* -1 empty */
    cmsg *cmsgs;
    size_t cmsg_count;
    size_t max_entries; /* the longest structure or group */
};

/* ------------------------------------------------------------------ loading */

static int status_ok(const json_t *s)
{
    const char *v = json_string_value(s);
    return v != NULL && (strcmp(v, "M") == 0 || strcmp(v, "C") == 0);
}

/* "an..35", "n..15", "a1", "n3": kind and lengths. */
static int parse_format(const char *f, char *kind, long *min_len,
                        long *max_len)
{
    if (f == NULL)
        return -1;
    if (strncmp(f, "an", 2) == 0) {
        *kind = 'x';
        f += 2;
    } else if (*f == 'a' || *f == 'n') {
        *kind = *f++;
    } else {
        return -1;
    }
    int range = strncmp(f, "..", 2) == 0;
    if (range)
        f += 2;
    long n = 0;
    if (*f < '1' || *f > '9')
        return -1;
    for (; *f >= '0' && *f <= '9' && n < 100000; f++)
        n = n * 10 + (*f - '0');
    if (*f != '\0')
        return -1;
    *max_len = n;
    *min_len = range ? 0 : n;
    return 0;
}

static int load_error(lx_error *err, const char *path, const char *pointer,
                      const char *what)
{
    lx_error_set(err, LX_ESCHEMA, "%s at %s: %s", path,
                 pointer[0] ? pointer : "/", what);
    if (err != NULL)
        snprintf(err->where, sizeof err->where, "%s", path);
    return LX_ESCHEMA;
}

static int check_simple(const json_t *d)
{
    char kind;
    long lo, hi;
    return json_is_array(d) && json_array_size(d) == 3 &&
           json_is_string(json_array_get(d, 0)) &&
           status_ok(json_array_get(d, 1)) &&
           parse_format(json_string_value(json_array_get(d, 2)), &kind, &lo,
                        &hi) == 0;
}

static int check_segment(const char *path, const char *tag, const json_t *els,
                         lx_error *err)
{
    char ptr[128];
    if (!json_is_array(els))
        return load_error(err, path, tag, "a segment is an array of elements");
    size_t i;
    const json_t *e;
    json_array_foreach(els, i, e)
    {
        snprintf(ptr, sizeof ptr, "/segments/%s/%zu", tag, i);
        if (check_simple(e))
            continue;
        const json_t *comps = json_array_get(e, 2);
        int ok = json_is_array(e) && json_array_size(e) == 3 &&
                 status_ok(json_array_get(e, 1)) && json_is_array(comps);
        size_t j;
        const json_t *c;
        json_array_foreach(comps, j, c) ok = ok && check_simple(c);
        if (!ok)
            return load_error(err, path, ptr,
                              "an element is [id, \"M\"|\"C\", format] or "
                              "[id, \"M\"|\"C\", [components]]");
    }
    return 0;
}

static int check_structure(const char *path, const json_t *entries,
                           char *ptr, size_t ptr_size, int depth,
                           lx_error *err)
{
    if (depth > DEFS_MAX_DEPTH)
        return load_error(err, path, ptr, "groups nested too deep");
    if (!json_is_array(entries) || json_array_size(entries) == 0)
        return load_error(err, path, ptr, "a structure is a non-empty array");
    size_t base = strlen(ptr);
    size_t i;
    const json_t *e;
    json_array_foreach(entries, i, e)
    {
        ptr[base] = '\0';
        lx_json_pointer_append_index(ptr, ptr_size, i);
        size_t n = json_array_size(e);
        if (!json_is_array(e) || (n != 3 && n != 4) ||
            !json_is_string(json_array_get(e, 0)) ||
            !status_ok(json_array_get(e, 1)) ||
            json_integer_value(json_array_get(e, 2)) < 1)
            return load_error(err, path, ptr,
                              "an entry is [tag, \"M\"|\"C\", max] or "
                              "[group, \"M\"|\"C\", max, [entries]]");
        if (n == 4) {
            const json_t *content = json_array_get(e, 3);
            const json_t *trigger = json_array_get(content, 0);
            if (json_array_size(trigger) != 3 ||
                strcmp(json_string_value(json_array_get(trigger, 1)), "M") !=
                    0)
                return load_error(err, path, ptr,
                                  "a group starts with a mandatory segment");
            lx_json_pointer_append_index(ptr, ptr_size, 3);
            int rc = check_structure(path, content, ptr, ptr_size, depth + 1,
                                     err);
            if (rc != 0)
                return rc;
        }
    }
    ptr[base] = '\0';
    return 0;
}

static int load_file(lx_edifact_defs *defs, const char *path, lx_error *err)
{
    json_t *doc = NULL;
    int rc = lx_json_load_file(path, DEFS_FILE_MAX, &doc, err);
    if (rc != 0)
        return rc;
    const char *version = lx_json_str(doc, "version");
    const char *release = lx_json_str(doc, "release");
    if (json_integer_value(json_object_get(doc, "format")) != 1 ||
        version == NULL || release == NULL)
        rc = load_error(err, path, "",
                        "needs \"format\": 1, \"version\" and \"release\"");
    else if (defs->version[0] == '\0') {
        snprintf(defs->version, sizeof defs->version, "%s", version);
        snprintf(defs->release, sizeof defs->release, "%s", release);
    } else if (strcmp(defs->version, version) != 0 ||
               strcmp(defs->release, release) != 0) {
        rc = load_error(err, path, "/release",
                        "files of one directory must share version and "
                        "release");
    }
    const json_t *segs = json_object_get(doc, "segments");
    const char *tag;
    json_t *els;
    if (rc == 0 && segs != NULL) {
        json_object_foreach((json_t *)segs, tag, els)
        {
            rc = check_segment(path, tag, els, err);
            if (rc != 0)
                break;
            json_object_set(defs->segments, tag, els);
        }
    }
    const char *type = lx_json_str(doc, "message");
    if (rc == 0 && type != NULL) {
        char ptr[256] = "/structure";
        rc = check_structure(path, json_object_get(doc, "structure"), ptr,
                             sizeof ptr, 0, err);
        if (rc == 0)
            json_object_set(defs->messages, type, doc);
    }
    json_decref(doc);
    return rc;
}

static int is_group(const json_t *entry);
static const char *entry_tag(const json_t *entry);

/* ---- compiled form ---------------------------------------------------- */

static void *block(lx_edifact_defs *defs, size_t n, size_t size)
{
    void *p = lx_xcalloc(n ? n : 1, size);
    defs->blocks = lx_xrealloc(defs->blocks,
                               (defs->block_count + 1) * sizeof(void *));
    defs->blocks[defs->block_count++] = p;
    return p;
}

static uint32_t tag_hash(uint64_t key)
{
    return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 40);
}

static long cseg_find(const lx_edifact_defs *defs, uint64_t key)
{
    for (uint32_t k = tag_hash(key) & (CSEG_SLOTS - 1);;
         k = (k + 1) & (CSEG_SLOTS - 1)) {
        int32_t i = defs->cseg_slot[k];
        if (i < 0 || defs->csegs[i].key == key)
            return i;
    }
}

/* The formats were checked by check_segment at load. */
static void compile_val(const json_t *d, cval *v)
{
    v->id = json_string_value(json_array_get(d, 0));
    v->mandatory = strcmp(json_string_value(json_array_get(d, 1)), "M") == 0;
    if (parse_format(json_string_value(json_array_get(d, 2)), &v->kind,
                     &v->lo, &v->hi) != 0)
        v->kind = 0; /* composite: no format of its own */
}

static void index_struct(lx_edifact_defs *defs, cstruct *cs)
{
    uint32_t *next_m = block(defs, cs->n + 1, sizeof(uint32_t));
    uint32_t *next_same = block(defs, cs->n + 1, sizeof(uint32_t));
    uint32_t size = 8;
    while (size < 2 * cs->n)
        size *= 2;
    int32_t *slot = block(defs, size, sizeof(int32_t));
    for (uint32_t h = 0; h < size; h++)
        slot[h] = -1;
    next_m[cs->n] = (uint32_t)cs->n;
    for (size_t j = cs->n; j-- > 0;)
        next_m[j] = cs->e[j].mandatory ? (uint32_t)j : next_m[j + 1];
    for (size_t j = 0; j < cs->n; j++) {
        next_same[j] = (uint32_t)cs->n;
        for (size_t k = j + 1; k < cs->n; k++)
            if (cs->e[k].key == cs->e[j].key) {
                next_same[j] = (uint32_t)k;
                break;
            }
        uint32_t h = tag_hash(cs->e[j].key) & (size - 1);
        while (slot[h] >= 0 && cs->e[slot[h]].key != cs->e[j].key)
            h = (h + 1) & (size - 1);
        if (slot[h] < 0)
            slot[h] = (int32_t)j;
    }
    cs->next_m = next_m;
    cs->next_same = next_same;
    cs->slot = slot;
    cs->slot_mask = size - 1;
}

/* The first entry at or after `from` whose tag is key, or n. */
static size_t struct_find(const cstruct *cs, uint64_t key, size_t from)
{
    uint32_t h = tag_hash(key) & cs->slot_mask;
    while (cs->slot[h] >= 0 && cs->e[cs->slot[h]].key != key)
        h = (h + 1) & cs->slot_mask;
    if (cs->slot[h] < 0)
        return cs->n;
    size_t k = (size_t)cs->slot[h];
    while (k < from)
        k = cs->next_same[k];
    return k;
}

static cstruct compile_struct(lx_edifact_defs *defs, const json_t *entries)
{
    cstruct cs;
    memset(&cs, 0, sizeof cs);
    cs.n = json_array_size(entries);
    centry *e = block(defs, cs.n, sizeof(centry));
    cs.e = e;
    if (cs.n > defs->max_entries)
        defs->max_entries = cs.n;
    for (size_t i = 0; i < cs.n; i++) {
        const json_t *j = json_array_get(entries, i);
        const char *tag = entry_tag(j);
        snprintf(e[i].tag, sizeof e[i].tag, "%s", tag ? tag : "");
        e[i].key = lx_edifact_tag_key(e[i].tag);
        e[i].mandatory =
            strcmp(json_string_value(json_array_get(j, 1)), "M") == 0;
        e[i].max = (long)json_integer_value(json_array_get(j, 2));
        if (is_group(j)) {
            e[i].group_id = json_string_value(json_array_get(j, 0));
            e[i].content = compile_struct(defs, json_array_get(j, 3));
        }
    }
    index_struct(defs, &cs);
    return cs;
}

static void compile_defs(lx_edifact_defs *defs)
{
    for (size_t k = 0; k < CSEG_SLOTS; k++)
        defs->cseg_slot[k] = -1;
    size_t n = json_object_size(defs->segments);
    defs->csegs = block(defs, n, sizeof(cseg_def));
    const char *tag;
    json_t *els;
    json_object_foreach(defs->segments, tag, els)
    {
        if (defs->cseg_count >= CSEG_SLOTS / 2)
            break;
        cseg_def *sd = &defs->csegs[defs->cseg_count];
        snprintf(sd->tag, sizeof sd->tag, "%s", tag);
        sd->key = lx_edifact_tag_key(sd->tag);
        if (cseg_find(defs, sd->key) >= 0)
            continue;
        sd->nel = json_array_size(els);
        cel *ce = block(defs, sd->nel, sizeof(cel));
        sd->els = ce;
        for (size_t i = 0; i < sd->nel; i++) {
            const json_t *d = json_array_get(els, i);
            compile_val(d, &ce[i].v);
            const json_t *cd = json_array_get(d, 2);
            if (json_is_array(cd)) {
                ce[i].ncomp = json_array_size(cd);
                cval *cv = block(defs, ce[i].ncomp, sizeof(cval));
                for (size_t j = 0; j < ce[i].ncomp; j++)
                    compile_val(json_array_get(cd, j), &cv[j]);
                ce[i].comps = cv;
            }
        }
        uint32_t k = tag_hash(sd->key) & (CSEG_SLOTS - 1);
        while (defs->cseg_slot[k] >= 0)
            k = (k + 1) & (CSEG_SLOTS - 1);
        defs->cseg_slot[k] = (int32_t)defs->cseg_count++;
    }
    defs->cmsgs = block(defs, json_object_size(defs->messages), sizeof(cmsg));
    const char *type;
    json_t *def;
    json_object_foreach(defs->messages, type, def)
    {
        cmsg *m = &defs->cmsgs[defs->cmsg_count++];
        m->type = type;
        m->def = def;
        m->root = compile_struct(defs, json_object_get(def, "structure"));
    }
}

int lx_edifact_defs_load(const char *dir, lx_edifact_defs **out, lx_error *err)
{
    LX_ASSERT(dir != NULL && out != NULL);
    *out = NULL;
    DIR *d = opendir(dir);
    if (d == NULL)
        return lx_error_set(err, LX_EIO, "cannot open directory '%s'", dir);
    lx_edifact_defs *defs = lx_xcalloc(1, sizeof *defs);
    defs->segments = json_object();
    defs->messages = json_object();
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0 ||
            de->d_name[0] == '.')
            continue;
        char path[1024];
        int w = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (w < 0 || (size_t)w >= sizeof path)
            rc = lx_error_set(err, LX_ELIMIT, "path too long in '%s'", dir);
        else
            rc = load_file(defs, path, err);
    }
    closedir(d);
    if (rc == 0 && json_object_size(defs->messages) == 0)
        rc = lx_error_set(err, LX_ESCHEMA, "%s: no message definitions", dir);
    if (rc == 0)
        compile_defs(defs);
    if (rc != 0) {
        lx_edifact_defs_destroy(&defs);
        return rc;
    }
    *out = defs;
    return 0;
}

void lx_edifact_defs_destroy(lx_edifact_defs **defs)
{
    if (defs == NULL || *defs == NULL)
        return;
    json_decref((*defs)->segments);
    json_decref((*defs)->messages);
    for (size_t i = 0; i < (*defs)->block_count; i++)
        free((*defs)->blocks[i]);
    free((*defs)->blocks);
    free(*defs);
    *defs = NULL;
}

const char *lx_edifact_defs_version(const lx_edifact_defs *defs)
{
    LX_ASSERT(defs != NULL);
    return defs->version;
}

const char *lx_edifact_defs_release(const lx_edifact_defs *defs)
{
    LX_ASSERT(defs != NULL);
    return defs->release;
}

int lx_edifact_defs_has_message(const lx_edifact_defs *defs, const char *type)
{
    LX_ASSERT(defs != NULL && type != NULL);
    return json_object_get(defs->messages, type) != NULL;
}

/* --------------------------------------------------------------- entries */

static int is_group(const json_t *entry)
{
    return json_array_size(entry) == 4;
}

static const char *entry_tag(const json_t *entry)
{
    if (is_group(entry))
        entry = json_array_get(json_array_get(entry, 3), 0);
    return json_string_value(json_array_get(entry, 0));
}

/* ------------------------------------------------- validation, compact form
 * The same rules as above on the lexer's store and the compiled
 * definitions: no JSON is read or built while validating. */

typedef struct cframe {
    const cstruct *content;
    uint32_t node; /* 0: the message, k: the k-th group opened */
    size_t idx;
    long *counts;
} cframe;

typedef struct capplier {
    const lx_edifact_defs *defs;
    const lx_edifact_store *s;
    char decimal;
    lx_edifact_diags *diags;
    lx_edifact_diag base;
    cframe stack[DEFS_MAX_DEPTH + 2];
    int depth;
    long *pool; /* counts of every frame: max_entries each */
    uint32_t groups;
    lx_edifact_puts *puts;
} capplier;

static void cfinding(capplier *a, int code, long pos, const char *tag,
                     int element, int component, const char *fmt, ...)
    LX_PRINTF(7, 8);

static void cfinding(capplier *a, int code, long pos, const char *tag,
                     int element, int component, const char *fmt, ...)
{
    lx_edifact_diag dg = a->base;
    dg.code = code;
    dg.segment_pos = pos;
    if (tag != NULL)
        snprintf(dg.segment_tag, sizeof dg.segment_tag, "%s", tag);
    dg.element = element;
    dg.component = component;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dg.msg, sizeof dg.msg, fmt, ap);
    va_end(ap);
    lx_edifact_diags_add(a->diags, &dg);
}

static void cpush(capplier *a, const cstruct *content, uint32_t node)
{
    LX_ASSERT(a->depth + 1 < DEFS_MAX_DEPTH + 2);
    cframe *f = &a->stack[++a->depth];
    f->content = content;
    f->node = node;
    f->idx = 0;
    f->counts = a->pool + (size_t)a->depth * (a->defs->max_entries + 1);
    memset(f->counts, 0, (content->n + 1) * sizeof(long));
}

static void cadvance(capplier *a, cframe *f, size_t to, long pos)
{
    const cstruct *cs = f->content;
    for (size_t j = f->idx < cs->n ? cs->next_m[f->idx] : cs->n; j < to;
         j = cs->next_m[j + 1]) {
        const centry *e = &cs->e[j];
        if (f->counts[j] == 0) {
            if (e->group_id)
                cfinding(a, LX_EDIFACT_UC_MISSING, pos, NULL, 0, 0,
                         "mandatory segment group %s missing", e->group_id);
            else
                cfinding(a, LX_EDIFACT_UC_MISSING, pos, NULL, 0, 0,
                         "mandatory segment %s missing", e->tag);
        }
    }
    if (to > f->idx)
        f->idx = to;
}

static void cpop(capplier *a, long pos)
{
    cframe *f = &a->stack[a->depth];
    cadvance(a, f, f->content->n, pos);
    a->depth--;
}

/* A value (ptr, n), cut at a NUL as the JSON string's C view was. */
static void ccheck_value(capplier *a, long pos, const char *tag, int element,
                         int component, const cval *def, const char *v,
                         size_t n)
{
    /* an..35 with n bytes <= 35: no character count can break a rule. */
    if (def->kind == 'x' && def->lo == 0 && (long)n <= def->hi)
        return;
    const char *end = v;
    size_t len = 0;
    for (; end < v + n && *end != '\0'; end++)
        len += ((unsigned char)*end & 0xC0) != 0x80;
    if (def->kind == 'n') {
        const char *p = v;
        int marks = 0;
        len = 0;
        if (p < end && *p == '-')
            p++;
        for (; p < end; p++) {
            if (*p >= '0' && *p <= '9')
                len++;
            else if ((*p == a->decimal || *p == '.' || *p == ',') &&
                     marks == 0)
                marks++;
            else
                break;
        }
        if (p != end || len == 0) {
            cfinding(a, LX_EDIFACT_UC_INVALID_CHARS, pos, tag, element,
                     component, "not numeric (%s)", def->id);
            return;
        }
    } else if (def->kind == 'a') {
        for (const char *p = v; p < end; p++)
            if (*p >= '0' && *p <= '9') {
                cfinding(a, LX_EDIFACT_UC_INVALID_CHARS, pos, tag, element,
                         component, "digits in an alphabetic element (%s)",
                         def->id);
                return;
            }
    } else if (def->kind == 0) {
        return;
    }
    if ((long)len > def->hi)
        cfinding(a, LX_EDIFACT_UC_TOO_LONG, pos, tag, element, component,
                 "too long (%s, max %ld)", def->id, def->hi);
    else if ((long)len < def->lo)
        cfinding(a, LX_EDIFACT_UC_TOO_SHORT, pos, tag, element, component,
                 "too short (%s, %ld characters)", def->id, def->lo);
}

static void ccheck_segment(capplier *a, const lx_edifact_cseg *seg)
{
    long si = cseg_find(a->defs, seg->key);
    if (si < 0)
        return;
    const cseg_def *sd = &a->defs->csegs[si];
    const lx_edifact_store *s = a->s;
    const char *tag = seg->tag;
    long pos = seg->pos;
    if (seg->elems.count > sd->nel)
        cfinding(a, LX_EDIFACT_UC_TOO_MANY_CONSTITUENTS, pos, tag,
                 (int)sd->nel + 1, 0, "more data elements than defined (%zu)",
                 sd->nel);
    for (size_t i = 0; i < sd->nel; i++) {
        const cel *d = &sd->els[i];
        const lx_edifact_range *part = NULL;
        if (i < seg->elems.count) {
            const lx_edifact_range *e = &s->elems[seg->elems.first + i];
            if (e->count > 1) {
                cfinding(a, LX_EDIFACT_UC_TOO_MANY_REPEATS, pos, tag,
                         (int)i + 1, 0, "element %s does not repeat",
                         d->v.id);
                continue;
            }
            part = &s->parts[e->first];
        }
        int empty = 1;
        for (uint32_t j = 0; part && empty && j < part->count; j++)
            empty = s->comps[part->first + j].count == 0;
        if (empty) {
            if (d->v.mandatory)
                cfinding(a, LX_EDIFACT_UC_MISSING, pos, tag, (int)i + 1, 0,
                         "mandatory element %s missing", d->v.id);
            continue;
        }
        const lx_edifact_range *comps = &s->comps[part->first];
        if (d->comps == NULL) {
            if (part->count > 1)
                cfinding(a, LX_EDIFACT_UC_TOO_MANY_CONSTITUENTS, pos, tag,
                         (int)i + 1, 2, "simple element %s has components",
                         d->v.id);
            ccheck_value(a, pos, tag, (int)i + 1, 0, &d->v,
                         lx_edifact_comp_text(s, &comps[0]), comps[0].count);
            continue;
        }
        if (part->count > d->ncomp)
            cfinding(a, LX_EDIFACT_UC_TOO_MANY_CONSTITUENTS, pos, tag,
                     (int)i + 1, (int)d->ncomp + 1,
                     "more components than defined in %s (%zu)", d->v.id,
                     d->ncomp);
        for (size_t j = 0; j < d->ncomp; j++) {
            const cval *cd = &d->comps[j];
            if (j >= part->count || comps[j].count == 0 ||
                lx_edifact_comp_text(s, &comps[j])[0] == '\0') {
                if (cd->mandatory)
                    cfinding(a, LX_EDIFACT_UC_MISSING, pos, tag, (int)i + 1,
                             (int)j + 1, "mandatory component %s missing",
                             cd->id);
                continue;
            }
            ccheck_value(a, pos, tag, (int)i + 1, (int)j + 1, cd,
                         lx_edifact_comp_text(s, &comps[j]), comps[j].count);
        }
    }
}

static int clocate(const capplier *a, uint64_t key, size_t *entry)
{
    for (int d = a->depth; d >= 0; d--) {
        const cframe *f = &a->stack[d];
        size_t from = d > 0 && f->idx == 0 ? 1 : f->idx;
        size_t k = struct_find(f->content, key, from);
        if (k < f->content->n) {
            *entry = k;
            return d;
        }
    }
    return -1;
}

static int ctag_in(const cstruct *content, uint64_t key, int depth)
{
    for (size_t i = 0; i < content->n; i++) {
        const centry *e = &content->e[i];
        if (e->key == key)
            return 1;
        if (e->group_id && depth < DEFS_MAX_DEPTH &&
            ctag_in(&e->content, key, depth + 1))
            return 1;
    }
    return 0;
}

static void cput(capplier *a, uint32_t node, uint32_t kind, const char *gid)
{
    lx_edifact_puts *p = a->puts;
    LX_EDI_GROW(p->items, p->count, p->cap);
    p->items[p->count].node = node;
    p->items[p->count].kind = kind;
    p->items[p->count].group_id = gid;
    p->count++;
}

static void cplace(capplier *a, const lx_edifact_cseg *seg)
{
    const char *tag = seg->tag;
    long pos = seg->pos;
    size_t k = 0;
    int d = clocate(a, seg->key, &k);
    if (d < 0) {
        int known = ctag_in(a->stack[0].content, seg->key, 0);
        cfinding(a, LX_EDIFACT_UC_NOT_SUPPORTED_HERE, pos, tag, 0, 0, "%s",
                 known ? "segment out of order or in the wrong group"
                       : "segment not defined in this message");
        cput(a, a->stack[a->depth].node, LX_EDIFACT_PUT_SEGMENTS, NULL);
        return;
    }
    while (a->depth > d)
        cpop(a, pos);
    cframe *f = &a->stack[a->depth];
    cadvance(a, f, k, pos);
    const centry *e = &f->content->e[k];
    f->counts[k]++;
    if (e->group_id) {
        if (f->counts[k] > e->max)
            cfinding(a, LX_EDIFACT_UC_TOO_MANY_GROUP_REPEATS, pos, tag, 0, 0,
                     "segment group %s repeats more than %ld times",
                     e->group_id, e->max);
        cput(a, f->node, LX_EDIFACT_PUT_GROUP, e->group_id);
        cpush(a, &e->content, ++a->groups);
        a->stack[a->depth].counts[0] = 1;
    } else {
        if (f->counts[k] > e->max)
            cfinding(a, LX_EDIFACT_UC_TOO_MANY_REPEATS, pos, tag, 0, 0,
                     "segment repeats more than %ld times", e->max);
        cput(a, f->node, LX_EDIFACT_PUT_SEGMENTS, NULL);
    }
    ccheck_segment(a, seg);
}

static int cstr_is(const char *v, size_t n, const char *want)
{
    return want != NULL && strlen(want) == n && memcmp(v, want, n) == 0;
}

/* find_definition on the UNH's S009 (type, version, release). */
static const cmsg *cfind(const lx_edifact_defs *defs,
                         const lx_edifact_store *s, const lx_edifact_cseg *unh)
{
    size_t tn, vn, rn;
    const char *t = lx_edifact_cseg_comp(s, unh, 1, 0, &tn);
    const char *v = lx_edifact_cseg_comp(s, unh, 1, 1, &vn);
    const char *r = lx_edifact_cseg_comp(s, unh, 1, 2, &rn);
    /* Absent components have no "type"/"version"/"release" member. */
    if (unh->elems.count < 2 ||
        s->elems[unh->elems.first + 1].count != 1 ||
        s->parts[s->elems[unh->elems.first + 1].first].count < 3)
        return NULL;
    for (size_t i = 0; i < defs->cmsg_count; i++) {
        const cmsg *m = &defs->cmsgs[i];
        if (!cstr_is(t, tn, m->type))
            continue;
        const json_t *match = json_object_get(m->def, "match");
        if (match == NULL)
            return cstr_is(v, vn, defs->version) &&
                           cstr_is(r, rn, defs->release)
                       ? m
                       : NULL;
        size_t j;
        const json_t *pair;
        json_array_foreach(match, j, pair)
        {
            if (cstr_is(v, vn, json_string_value(json_array_get(pair, 0))) &&
                cstr_is(r, rn, json_string_value(json_array_get(pair, 1))))
                return m;
        }
        return NULL;
    }
    return NULL;
}

int lx_edifact_apply_compact(const lx_edifact_defs *defs,
                             const lx_edifact_store *s,
                             const lx_edifact_cseg *unh,
                             const lx_edifact_cseg *segs, size_t n,
                             char decimal, const char *interchange_ref,
                             const char *group_ref,
                             lx_edifact_diags *diags, lx_edifact_puts *puts)
{
    LX_ASSERT(defs != NULL && s != NULL && unh != NULL);
    const cmsg *m = cfind(defs, s, unh);
    if (m == NULL)
        return 0;
    capplier a;
    memset(&a, 0, sizeof a);
    a.defs = defs;
    a.s = s;
    a.decimal = decimal;
    a.diags = diags;
    a.puts = puts;
    a.base.offset = -1;
    snprintf(a.base.interchange_ref, sizeof a.base.interchange_ref, "%s",
             interchange_ref ? interchange_ref : "");
    snprintf(a.base.group_ref, sizeof a.base.group_ref, "%s",
             group_ref ? group_ref : "");
    size_t rn;
    const char *ref = lx_edifact_cseg_comp(s, unh, 0, 0, &rn);
    const char *nul = memchr(ref, '\0', rn);
    if (nul != NULL)
        rn = (size_t)(nul - ref);
    if (rn >= sizeof a.base.message_ref)
        rn = sizeof a.base.message_ref - 1;
    memcpy(a.base.message_ref, ref, rn);
    a.base.message_ref[rn] = '\0';
    long pool[(DEFS_MAX_DEPTH + 2) * 64];
    size_t need = (DEFS_MAX_DEPTH + 2) * (defs->max_entries + 1);
    a.pool = need <= sizeof pool / sizeof pool[0]
                 ? pool
                 : lx_xmalloc(need * sizeof(long));
    a.depth = -1;
    cpush(&a, &m->root, 0);
    long last = 1;
    for (size_t i = 0; i < n; i++) {
        cplace(&a, &segs[i]);
        last = segs[i].pos;
    }
    while (a.depth >= 0)
        cpop(&a, last + 1);
    if (a.pool != pool)
        free(a.pool);
    return 1;
}

static json_t *flat_segment(void *ctx, size_t i)
{
    return json_incref(json_array_get((const json_t *)ctx, i));
}

/* The JSON form, through the compact one: the message's flat segments
 * (and a UNH made of its type, version and release) are copied into a
 * store, validated, and put back in their groups. */
int lx_edifact_message_apply(const lx_edifact_defs *defs, json_t *msg,
                             char decimal, const char *interchange_ref,
                             const char *group_ref, lx_edifact_diags *diags)
{
    LX_ASSERT(defs != NULL && msg != NULL);
    json_t *flat = json_object_get(msg, "segments");
    const char *type = lx_json_str(msg, "type");
    const char *version = lx_json_str(msg, "version");
    const char *release = lx_json_str(msg, "release");
    if (!json_is_array(flat) || json_object_get(msg, "groups") != NULL ||
        type == NULL || version == NULL || release == NULL)
        return 0;
    lx_edifact_store s;
    lx_edifact_store_init(&s);
    const json_t *unh_json = json_object_get(msg, "UNH");
    json_t *unh = json_pack("[[O], [s, s, s]]",
                            json_array_get(json_array_get(unh_json, 0), 0)
                                ? json_array_get(json_array_get(unh_json, 0),
                                                 0)
                                : json_string(""),
                            type, version, release);
    lx_edifact_store_add_json(&s, "UNH", 1, unh);
    json_decref(unh);
    size_t i;
    json_t *seg;
    json_array_foreach(flat, i, seg)
    {
        lx_edifact_store_add_json(
            &s, lx_json_str(seg, "id") ? lx_json_str(seg, "id") : "",
            (long)json_integer_value(json_object_get(seg, "pos")),
            json_object_get(seg, "elements"));
    }
    lx_edifact_puts puts;
    memset(&puts, 0, sizeof puts);
    int applied = lx_edifact_apply_compact(defs, &s, &s.segs[0], s.segs + 1,
                                           s.seg_count - 1, decimal,
                                           interchange_ref, group_ref, diags,
                                           &puts);
    if (applied) {
        json_incref(flat);
        json_object_set_new(msg, "segments", json_array());
        lx_edifact_place_json(msg, puts.items, json_array_size(flat),
                              flat_segment, flat, NULL);
        json_decref(flat);
    }
    free(puts.items);
    lx_edifact_store_fini(&s);
    return applied;
}
