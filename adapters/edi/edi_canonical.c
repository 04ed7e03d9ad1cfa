/* adapters/edi/edi_canonical.c: walk parsed X12 and EDIFACT trees, run the
 * mappings that cover their parts, hand the canonical records over.
 * Which mapping applies where is each file's "native.type"
 * (edi_canonical.h); nothing here knows a field. */
#include "adapters/edi/edi_canonical.h"

#include "adapters/map/map.h"
#include "core/mem.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TYPE_PARTS_MAX 3
#define PART_MAX 16

typedef struct edi_map {
    lx_map *map;
    int is_edifact;
    size_t part_count; /* "834/2000/2300": 3 */
    char parts[TYPE_PARTS_MAX][PART_MAX];
} edi_map;

struct lx_edi_maps {
    edi_map items[2 * LX_EDI_MAPS_MAX];
    size_t count;
};

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Split "834/2000/2300" into parts; 0 or LX_ECONFIG. */
static int split_type(edi_map *em, const char *type, const char *file,
                      lx_error *err)
{
    size_t n = 0;
    const char *p = type;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (n == TYPE_PARTS_MAX || len == 0 || len >= PART_MAX) {
            lx_error_set(err, LX_ECONFIG,
                         "native.type must be SET, SET/LOOP or SET/LOOP/LOOP");
            return lx_error_at(err, file, 0, 0);
        }
        memcpy(em->parts[n], p, len);
        em->parts[n][len] = '\0';
        n++;
        p = slash ? slash + 1 : p + len;
    }
    if (n == 0 || (em->is_edifact && n != 1)) {
        lx_error_set(err, LX_ECONFIG, "native.type: %s",
                     em->is_edifact ? "an EDIFACT message type"
                                    : "SET, SET/LOOP or SET/LOOP/LOOP");
        return lx_error_at(err, file, 0, 0);
    }
    em->part_count = n;
    return 0;
}

static int load_dir(lx_edi_maps *m, const char *dir, int is_edifact,
                    lx_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* a missing folder holds no mapping */
    char *names[LX_EDI_MAPS_MAX];
    size_t count = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || e->d_name[0] == '.' ||
            strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        if (count == LX_EDI_MAPS_MAX) {
            rc = lx_error_set(err, LX_ELIMIT, "more than %d mapping files",
                              LX_EDI_MAPS_MAX);
            lx_error_at(err, dir, 0, 0);
            break;
        }
        names[count++] = lx_xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, count, sizeof(names[0]), cmp_names);
    for (size_t i = 0; i < count && rc == 0; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        edi_map *em = &m->items[m->count];
        memset(em, 0, sizeof(*em));
        em->is_edifact = is_edifact;
        rc = lx_map_load(path, &em->map, err);
        if (rc != 0)
            break;
        const char *type = lx_map_native_type(em->map);
        if (!type || !lx_map_entity(em->map)) {
            rc = lx_error_set(err, LX_ECONFIG,
                              "a mapping of EDI needs native.type and "
                              "canonical.entity");
            lx_error_at(err, path, 0, 0);
        } else {
            rc = split_type(em, type, path, err);
        }
        if (rc != 0)
            lx_map_destroy(&em->map);
        else
            m->count++;
    }
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    return rc;
}

int lx_edi_maps_load(const char *schemas_root, lx_edi_maps **out,
                     lx_error *err)
{
    LX_ASSERT(schemas_root && out);
    *out = NULL;
    lx_edi_maps *m = lx_xcalloc(1, sizeof(*m));
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/maps/x12", schemas_root);
    int rc = load_dir(m, dir, 0, err);
    if (rc == 0) {
        snprintf(dir, sizeof(dir), "%s/maps/edifact", schemas_root);
        rc = load_dir(m, dir, 1, err);
    }
    if (rc != 0) {
        lx_edi_maps_destroy(&m);
        return rc;
    }
    *out = m;
    return 0;
}

void lx_edi_maps_destroy(lx_edi_maps **maps)
{
    if (!maps || !*maps)
        return;
    for (size_t i = 0; i < (*maps)->count; i++)
        lx_map_destroy(&(*maps)->items[i].map);
    free(*maps);
    *maps = NULL;
}

json_t *lx_edi_native_clean(const json_t *native)
{
    if (json_is_object(native)) {
        json_t *o = json_object();
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)native, k, v)
        {
            if (json_is_string(v) && json_string_length(v) == 0)
                continue; /* an empty X12 element: absent */
            json_object_set_new(o, k, lx_edi_native_clean(v));
        }
        return o;
    }
    if (json_is_array(native)) {
        json_t *a = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(native, i, v)
        {
            /* An empty EDIFACT component keeps its position, as null. */
            if (json_is_string(v) && json_string_length(v) == 0)
                json_array_append_new(a, json_null());
            else
                json_array_append_new(a, lx_edi_native_clean(v));
        }
        return a;
    }
    return json_deep_copy(native);
}

/* Map `input` (owned: released here) and hand the record to fn. */
static int deliver(const edi_map *em, json_t *input, lx_edi_record_fn fn,
                   void *ctx, const char *where, lx_error *err)
{
    json_t *record = NULL;
    int rc = lx_map_run(em->map, LX_MAP_IN, input, NULL, &record, NULL, err);
    json_decref(input);
    if (rc != 0) {
        lx_error_prefix(err, "%s: mapping '%s'", where, lx_map_id(em->map));
        return rc;
    }
    const char *id = json_string_value(
        json_object_get(json_array_get(json_object_get(record, "identifiers"),
                                       0),
                        "value"));
    rc = fn(ctx, lx_map_entity(em->map), lx_map_native_type(em->map),
            id ? id : "", record);
    json_decref(record);
    return rc;
}

static const char *or_q(const char *s)
{
    return s ? s : "?";
}

/* The transaction's header as a loop map sees it: its segments and its
 * loops other than `loop_id`. New reference. */
static json_t *x12_header(const json_t *txn, const char *loop_id)
{
    json_t *h = json_object();
    json_t *segs = json_object_get(txn, "segments");
    json_object_set_new(h, "segments",
                        segs ? json_deep_copy(segs) : json_array());
    json_t *loops = json_array();
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(txn, "loops"), i, l)
    {
        const char *id = json_string_value(json_object_get(l, "id"));
        if (!id || strcmp(id, loop_id) != 0)
            json_array_append(loops, l);
    }
    json_object_set_new(h, "loops", loops);
    return h;
}

/* Loop `parent` with, of its `sub_id` loops, only `keep`. New reference. */
static json_t *with_one_sub(const json_t *parent, const char *sub_id,
                            const json_t *keep)
{
    json_t *copy = json_copy((json_t *)parent);
    json_t *loops = json_array();
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(parent, "loops"), i, l)
    {
        const char *id = json_string_value(json_object_get(l, "id"));
        if (l == keep || !id || strcmp(id, sub_id) != 0)
            json_array_append(loops, l);
    }
    json_object_set_new(copy, "loops", loops);
    return copy;
}

static int x12_txn(const lx_edi_maps *maps, const json_t *txn,
                   lx_edi_record_fn fn, void *ctx, const char *where,
                   lx_error *err)
{
    const char *set = json_string_value(json_object_get(txn, "set"));
    if (!set)
        return 0;
    json_t *clean = lx_edi_native_clean(txn);
    int rc = 0;
    /* Whole-transaction maps. */
    for (size_t k = 0; k < maps->count && rc == 0; k++) {
        const edi_map *em = &maps->items[k];
        if (!em->is_edifact && em->part_count == 1 &&
            strcmp(em->parts[0], set) == 0)
            rc = deliver(em, json_incref(clean), fn, ctx, where, err);
    }
    /* Loop maps: per top-level loop, its own map(s) then its sub-loops'
     * (an 834 member: person, then a coverage per 2300). */
    size_t i;
    json_t *loop;
    json_array_foreach(json_object_get(clean, "loops"), i, loop)
    {
        const char *lid = json_string_value(json_object_get(loop, "id"));
        for (size_t k = 0; k < maps->count && rc == 0 && lid; k++) {
            const edi_map *em = &maps->items[k];
            if (em->is_edifact || em->part_count < 2 ||
                strcmp(em->parts[0], set) != 0 ||
                strcmp(em->parts[1], lid) != 0)
                continue;
            json_t *header = x12_header(clean, lid);
            if (em->part_count == 2) {
                json_t *in = json_copy(loop);
                json_object_set(in, "header", header);
                rc = deliver(em, in, fn, ctx, where, err);
            } else {
                size_t j;
                json_t *sub;
                json_array_foreach(json_object_get(loop, "loops"), j, sub)
                {
                    const char *sid =
                        json_string_value(json_object_get(sub, "id"));
                    if (rc != 0 || !sid || strcmp(sid, em->parts[2]) != 0)
                        continue;
                    json_t *in = with_one_sub(loop, em->parts[2], sub);
                    json_object_set(in, "header", header);
                    rc = deliver(em, in, fn, ctx, where, err);
                }
            }
            json_decref(header);
        }
        if (rc != 0)
            break;
    }
    json_decref(clean);
    return rc;
}

int lx_edi_x12_to_canonical(const lx_edi_maps *maps, const json_t *x12_tree,
                            lx_edi_record_fn fn, void *ctx, lx_error *err)
{
    LX_ASSERT(maps && x12_tree && fn);
    size_t a, b, c;
    json_t *ic, *grp, *txn;
    json_array_foreach(json_object_get(x12_tree, "interchanges"), a, ic)
    {
        json_array_foreach(json_object_get(ic, "groups"), b, grp)
        {
            json_array_foreach(json_object_get(grp, "transactions"), c, txn)
            {
                char where[96];
                snprintf(where, sizeof(where), "ISA %s GS %s ST %s",
                         or_q(json_string_value(json_object_get(
                             json_object_get(ic, "ISA"), "ISA13"))),
                         or_q(json_string_value(json_object_get(
                             json_object_get(grp, "GS"), "GS06"))),
                         or_q(json_string_value(json_object_get(
                             json_object_get(txn, "ST"), "ST02"))));
                int rc = x12_txn(maps, txn, fn, ctx, where, err);
                if (rc != 0) {
                    lx_error_at(err, where, 0, 0);
                    return rc;
                }
            }
        }
    }
    return 0;
}

/* First component of a service segment element: UNB [..., [ref]]. */
static const char *service_ref(const json_t *seg, size_t element)
{
    return json_string_value(json_array_get(json_array_get(seg, element), 0));
}

static int edifact_msg(const lx_edi_maps *maps, const json_t *ic,
                       const json_t *msg, lx_edi_record_fn fn, void *ctx,
                       lx_error *err)
{
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (!type || !json_object_get(msg, "groups"))
        return 0; /* no definition applied: left flat, not mapped */
    char where[96];
    snprintf(where, sizeof(where), "UNB %s UNH %s",
             or_q(service_ref(json_object_get(ic, "UNB"), 4)),
             or_q(service_ref(json_object_get(msg, "UNH"), 0)));
    for (size_t k = 0; k < maps->count; k++) {
        const edi_map *em = &maps->items[k];
        if (!em->is_edifact || strcmp(em->parts[0], type) != 0)
            continue;
        int rc = deliver(em, lx_edi_native_clean(msg), fn, ctx, where, err);
        if (rc != 0) {
            lx_error_at(err, where, 0, 0);
            return rc;
        }
    }
    return 0;
}

int lx_edi_edifact_to_canonical(const lx_edi_maps *maps,
                                const json_t *edifact_tree,
                                lx_edi_record_fn fn, void *ctx, lx_error *err)
{
    LX_ASSERT(maps && edifact_tree && fn);
    size_t a, b, c;
    json_t *ic, *grp, *msg;
    json_array_foreach(json_object_get(edifact_tree, "interchanges"), a, ic)
    {
        json_array_foreach(json_object_get(ic, "messages"), c, msg)
        {
            int rc = edifact_msg(maps, ic, msg, fn, ctx, err);
            if (rc != 0)
                return rc;
        }
        json_array_foreach(json_object_get(ic, "groups"), b, grp)
        {
            json_array_foreach(json_object_get(grp, "messages"), c, msg)
            {
                int rc = edifact_msg(maps, ic, msg, fn, ctx, err);
                if (rc != 0)
                    return rc;
            }
        }
    }
    return 0;
}

/* X12 element order: "id" first, then by name (NM101 < NM102 < ... < NM110,
 * the positions being two digits). */
static int cmp_keys(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    if (strcmp(x, "id") == 0)
        return strcmp(y, "id") == 0 ? 0 : -1;
    if (strcmp(y, "id") == 0)
        return 1;
    return strcmp(x, y);
}

static void order_x12(json_t *node)
{
    if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v) order_x12(v);
        return;
    }
    if (!json_is_object(node))
        return;
    json_t *id = json_object_get(node, "id");
    if (id && !json_object_get(node, "segments")) {
        /* a segment: rebuild its members in element order */
        json_t *copy = json_copy(node); /* owns the keys sorted below */
        size_t n = json_object_size(copy), i = 0;
        const char **keys = lx_xcalloc(n ? n : 1, sizeof(*keys));
        const char *k;
        json_t *v;
        json_object_foreach(copy, k, v) keys[i++] = k;
        if (n > 1)
            qsort(keys, n, sizeof(*keys), cmp_keys);
        json_object_clear(node);
        for (i = 0; i < n; i++)
            json_object_set(node, keys[i], json_object_get(copy, keys[i]));
        json_decref(copy);
        free(keys);
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach(node, k, v) order_x12(v);
}

static const edi_map *find_type(const lx_edi_maps *maps, const char *type)
{
    for (size_t k = 0; k < maps->count; k++)
        if (strcmp(lx_map_native_type(maps->items[k].map), type) == 0)
            return &maps->items[k];
    return NULL;
}

int lx_edi_to_canonical(const lx_edi_maps *maps, const char *native_type,
                        const json_t *native, json_t **record, lx_error *err)
{
    LX_ASSERT(maps && native_type && native && record);
    *record = NULL;
    const edi_map *em = find_type(maps, native_type);
    if (!em)
        return lx_error_set(err, LX_ENOTFOUND,
                            "no mapping of native type '%s'", native_type);
    int rc = lx_map_run(em->map, LX_MAP_IN, native, NULL, record, NULL, err);
    if (rc != 0)
        lx_error_prefix(err, "mapping '%s'", lx_map_id(em->map));
    return rc;
}

int lx_edi_from_canonical(const lx_edi_maps *maps, const char *native_type,
                          const json_t *record, json_t **native, lx_error *err)
{
    LX_ASSERT(maps && native_type && record && native);
    *native = NULL;
    const edi_map *em = find_type(maps, native_type);
    if (!em)
        return lx_error_set(err, LX_ENOTFOUND,
                            "no mapping of native type '%s'", native_type);
    json_t *out = NULL;
    int rc = lx_map_run(em->map, LX_MAP_OUT, record, NULL, &out, NULL, err);
    if (rc != 0) {
        lx_error_prefix(err, "mapping '%s'", lx_map_id(em->map));
        return rc;
    }
    if (!em->is_edifact)
        order_x12(out);
    *native = out;
    return 0;
}
