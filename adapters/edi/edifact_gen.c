/* adapters/edi/edifact_gen.c: the interchange tree back to EDIFACT text. */
#include "adapters/edi/edifact.h"
#include "core/json.h"

#include <stdio.h>
#include <string.h>

typedef struct gen {
    const lx_edifact_gen_options *opts;
    lx_buf *out;
    lx_error *err;
    lx_edifact_delims d;
    char where[LX_ERROR_WHERE_MAX];
    size_t segments; /* written in the current message */
} gen;

static int shape_error(gen *g, const char *what)
{
    lx_error_set(g->err, LX_EINVAL, "%s: %s", g->where[0] ? g->where : "/",
                 what);
    if (g->err != NULL)
        snprintf(g->err->where, sizeof g->err->where, "%s", g->where);
    return LX_EINVAL;
}

static int put_value(gen *g, const char *s, size_t n)
{
    const lx_edifact_delims *d = &g->d;
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c != d->component && c != d->element && c != d->segment &&
            !(d->release != '\0' && c == d->release) &&
            !(d->repetition != '\0' && c == d->repetition))
            continue;
        if (d->release == '\0')
            return lx_error_set(g->err, LX_ESYNTAX,
                                "%s: a value holds a service character and "
                                "there is no release character",
                                g->where);
        int rc = lx_buf_append(g->out, s + start, i - start);
        if (rc == 0)
            rc = lx_buf_append(g->out, &d->release, 1);
        if (rc != 0)
            return rc;
        start = i;
    }
    return lx_buf_append(g->out, s + start, n - start);
}

static int put_components(gen *g, const json_t *comps)
{
    if (!json_is_array(comps))
        return shape_error(g, "an element is an array of strings");
    size_t i;
    const json_t *c;
    json_array_foreach(comps, i, c)
    {
        int rc = 0;
        if (i > 0)
            rc = lx_buf_append(g->out, &g->d.component, 1);
        if (rc == 0 && !json_is_string(c))
            return shape_error(g, "a component is a string");
        if (rc == 0)
            rc = put_value(g, json_string_value(c), json_string_length(c));
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int put_element(gen *g, const json_t *e)
{
    const json_t *reps = json_object_get(e, "repeats");
    if (reps == NULL)
        return put_components(g, e);
    if (!json_is_array(reps) || g->d.repetition == '\0')
        return shape_error(g, "repeats need an array and syntax version 4");
    size_t i;
    const json_t *r;
    json_array_foreach(reps, i, r)
    {
        int rc = 0;
        if (i > 0)
            rc = lx_buf_append(g->out, &g->d.repetition, 1);
        if (rc == 0)
            rc = put_components(g, r);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* tag, then the elements; `count` replaces the first element when >= 0. */
static int put_segment(gen *g, const char *tag, const json_t *elements,
                       long count)
{
    if (!json_is_array(elements))
        return shape_error(g, "segment elements must be an array");
    int rc = lx_buf_puts(g->out, tag);
    size_t i;
    const json_t *e;
    json_array_foreach(elements, i, e)
    {
        if (rc == 0)
            rc = lx_buf_append(g->out, &g->d.element, 1);
        if (rc == 0 && i == 0 && count >= 0)
            rc = lx_buf_printf(g->out, "%ld", count);
        else if (rc == 0)
            rc = put_element(g, e);
    }
    if (rc == 0)
        rc = lx_buf_append(g->out, &g->d.segment, 1);
    if (rc == 0 && g->opts->newline != NULL)
        rc = lx_buf_puts(g->out, g->opts->newline);
    return rc;
}

static long node_pos(const json_t *node)
{
    json_t *pos = json_object_get(node, "pos");
    if (json_is_integer(pos))
        return (long)json_integer_value(pos);
    json_t *first = json_array_get(json_object_get(node, "segments"), 0);
    if (first == NULL)
        first = json_array_get(json_object_get(node, "groups"), 0);
    return first ? node_pos(first) : 0;
}

static int put_body(gen *g, const json_t *node, int depth);

static int put_data_segment(gen *g, const json_t *seg)
{
    const char *id = json_string_value(json_object_get(seg, "id"));
    size_t n = id ? strlen(id) : 0;
    int ok = n > 0 && n <= LX_EDIFACT_TAG_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= '0' && id[i] <= '9');
    if (!ok)
        return shape_error(g, "a segment \"id\" is 1 to 7 capital letters "
                              "or digits");
    g->segments++;
    return put_segment(g, id, json_object_get(seg, "elements"), -1);
}

/* The segments and groups of a message or group, merged by "pos". */
static int put_body(gen *g, const json_t *node, int depth)
{
    if (depth > 32)
        return shape_error(g, "segment groups nested too deep");
    const json_t *segs = json_object_get(node, "segments");
    const json_t *groups = json_object_get(node, "groups");
    size_t i = 0, j = 0, ns = json_array_size(segs),
           ng = json_array_size(groups);
    int rc = 0;
    while (rc == 0 && (i < ns || j < ng)) {
        int take_seg;
        if (i >= ns)
            take_seg = 0;
        else if (j >= ng)
            take_seg = 1;
        else {
            long ps = node_pos(json_array_get(segs, i));
            long pg = node_pos(json_array_get(groups, j));
            take_seg = ps == 0 || pg == 0 || ps < pg;
        }
        if (take_seg)
            rc = put_data_segment(g, json_array_get(segs, i++));
        else
            rc = put_body(g, json_array_get(groups, j++), depth + 1);
    }
    return rc;
}

static int put_message(gen *g, const json_t *msg)
{
    if (!json_is_object(msg))
        return shape_error(g, "a message is an object");
    const json_t *unh = json_object_get(msg, "UNH");
    const json_t *unt = json_object_get(msg, "UNT");
    int rc = 0;
    g->segments = 0;
    if (unh != NULL) {
        g->segments++;
        rc = put_segment(g, "UNH", unh, -1);
    }
    if (rc == 0)
        rc = put_body(g, msg, 0);
    if (rc == 0 && unt != NULL) {
        g->segments++;
        rc = put_segment(g, "UNT", unt,
                         g->opts->keep_counts ? -1 : (long)g->segments);
    }
    return rc;
}

static int put_messages(gen *g, const json_t *list)
{
    size_t i;
    const json_t *m;
    size_t base = strlen(g->where);
    json_array_foreach(list, i, m)
    {
        g->where[base] = '\0';
        lx_json_pointer_append(g->where, sizeof g->where, "messages");
        lx_json_pointer_append_index(g->where, sizeof g->where, i);
        int rc = put_message(g, m);
        if (rc != 0)
            return rc;
    }
    g->where[base] = '\0';
    return 0;
}

static int syntax_version(const json_t *unb)
{
    const char *v =
        json_string_value(json_array_get(json_array_get(unb, 0), 1));
    return v != NULL && v[0] >= '0' && v[0] <= '9' && v[1] == '\0' ? v[0] - '0'
                                                                   : 3;
}

static int put_interchange(gen *g, const json_t *ic)
{
    if (!json_is_object(ic))
        return shape_error(g, "an interchange is an object");
    const json_t *unb = json_object_get(ic, "UNB");
    const char *una = g->opts->una;
    int has_una = una != NULL;
    if (una == NULL) {
        una = json_string_value(json_object_get(ic, "UNA"));
        has_una = una != NULL;
    }
    int version = syntax_version(unb);
    if (una != NULL) {
        if (strlen(una) != 6)
            return shape_error(g, "UNA needs six characters");
        int rc = lx_edifact_delims_from_una(una, &g->d, g->err);
        if (rc != 0)
            return rc;
        if (version < 4)
            g->d.repetition = '\0';
    } else {
        lx_edifact_delims_default(&g->d, version);
        /* The default repetition for syntax 4 is '*'; UNA spells it. */
        una = version >= 4 ? ":+.?*'" : ":+.? '";
    }
    int rc = 0;
    if (g->opts->write_una > 0 || (g->opts->write_una == 0 && has_una)) {
        rc = lx_buf_puts(g->out, "UNA");
        if (rc == 0)
            rc = lx_buf_append(g->out, una, 6);
        if (rc == 0 && g->opts->newline != NULL)
            rc = lx_buf_puts(g->out, g->opts->newline);
    }
    /* UNB is written without a repetition separator (it has none). */
    char rep = g->d.repetition;
    if (rc == 0 && unb != NULL) {
        g->d.repetition = '\0';
        rc = put_segment(g, "UNB", unb, -1);
        g->d.repetition = rep;
    }
    size_t base = strlen(g->where);
    const json_t *groups = json_object_get(ic, "groups");
    size_t units = 0, i;
    const json_t *grp;
    json_array_foreach(groups, i, grp)
    {
        if (rc != 0)
            break;
        g->where[base] = '\0';
        lx_json_pointer_append(g->where, sizeof g->where, "groups");
        lx_json_pointer_append_index(g->where, sizeof g->where, i);
        const json_t *ung = json_object_get(grp, "UNG");
        const json_t *une = json_object_get(grp, "UNE");
        if (ung != NULL) {
            units++;
            rc = put_segment(g, "UNG", ung, -1);
        }
        if (rc == 0)
            rc = put_messages(g, json_object_get(grp, "messages"));
        if (rc == 0 && une != NULL)
            rc = put_segment(g, "UNE", une,
                             g->opts->keep_counts
                                 ? -1
                                 : (long)json_array_size(
                                       json_object_get(grp, "messages")));
    }
    g->where[base] = '\0';
    if (rc == 0 && groups == NULL) {
        const json_t *msgs = json_object_get(ic, "messages");
        units = json_array_size(msgs);
        rc = put_messages(g, msgs);
    }
    const json_t *unz = json_object_get(ic, "UNZ");
    if (rc == 0 && unz != NULL)
        rc = put_segment(g, "UNZ", unz,
                         g->opts->keep_counts ? -1 : (long)units);
    return rc;
}

int lx_edifact_generate(const json_t *tree, const lx_edifact_gen_options *opts,
                        lx_buf *out, lx_error *err)
{
    LX_ASSERT(tree != NULL && out != NULL);
    lx_edifact_gen_options defaults;
    memset(&defaults, 0, sizeof defaults);
    gen g;
    memset(&g, 0, sizeof g);
    g.opts = opts ? opts : &defaults;
    g.out = out;
    g.err = err;
    const json_t *ics = json_object_get(tree, "interchanges");
    if (!json_is_array(ics))
        return shape_error(&g, "\"interchanges\" must be an array");
    size_t i;
    const json_t *ic;
    json_array_foreach(ics, i, ic)
    {
        g.where[0] = '\0';
        lx_json_pointer_append(g.where, sizeof g.where, "interchanges");
        lx_json_pointer_append_index(g.where, sizeof g.where, i);
        int rc = put_interchange(&g, ic);
        if (rc != 0)
            return rc;
    }
    return 0;
}
