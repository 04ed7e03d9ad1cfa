/* adapters/edi/edifact_parse.c: segments to the interchange tree, with the
 * envelope rules of ISO 9735-1 section 9 (UNB/UNZ, UNG/UNE, UNH/UNT). */
#include "adapters/edi/edifact_int.h"

#include "adapters/edi/edi_loan.h"
#include "core/mem.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A message whose body JSON waits for lx_edifact_msg_tree. */
typedef struct lazy {
    json_t *msg;              /* borrowed from the tree */
    size_t seg_first, seg_count; /* store->segs */
    int applied;              /* placed by a definition: puts below */
    size_t put_first;
} lazy;

struct lx_edifact_msg {
    json_t *root;
    char *input; /* the store's base */
    size_t input_cap;
    lx_edifact_store store;
    lx_edifact_puts puts;
    lazy *lazies;
    size_t lazy_count, lazy_cap;
    lx_edifact_scratch *scratch; /* whose buffers the above are, or NULL */
};

/* The compact form's buffers, lent by a reader to one message at a time
 * (edifact_int.h, edi_loan.h). */
struct lx_edifact_scratch {
    lx_edi_loan loan;
    char *input;
    size_t input_cap;
    lx_edifact_store store;
    lx_edifact_puts puts;
    lazy *lazies;
    size_t lazy_cap;
};

lx_edifact_scratch *lx_edifact_scratch_new(void)
{
    lx_edifact_scratch *sc = lx_xcalloc(1, sizeof(*sc));
    lx_edi_loan_init(&sc->loan);
    return sc;
}

void lx_edifact_scratch_release(lx_edifact_scratch **scp)
{
    if (scp == NULL || *scp == NULL)
        return;
    lx_edifact_scratch *sc = *scp;
    *scp = NULL;
    if (!lx_edi_loan_unref(&sc->loan))
        return;
    free(sc->input);
    lx_edifact_store_fini(&sc->store);
    free(sc->puts.items);
    free(sc->lazies);
    free(sc);
}

/* Take the scratch's buffers for doc when they are free (1), else leave
 * doc to allocate its own (0). */
static int borrow(lx_edifact_msg *doc, lx_edifact_scratch *sc, size_t len)
{
    if (sc == NULL || !lx_edi_loan_take(&sc->loan))
        return 0;
    doc->scratch = sc;
    if (sc->store.segs == NULL)
        lx_edifact_store_reserve(&sc->store, len);
    doc->store = sc->store;
    doc->store.base = NULL;
    doc->store.text_len = 0;
    doc->store.comp_count = doc->store.part_count = 0;
    doc->store.elem_count = doc->store.seg_count = 0;
    if (sc->input_cap < len) {
        free(sc->input);
        sc->input_cap = len;
        sc->input = lx_xmalloc(len);
    }
    doc->input = sc->input;
    doc->input_cap = sc->input_cap;
    doc->puts = sc->puts;
    doc->puts.count = 0;
    doc->lazies = sc->lazies;
    doc->lazy_cap = sc->lazy_cap;
    doc->lazy_count = 0;
    /* The message owns them until drop_compact gives them back. */
    memset((char *)sc + offsetof(lx_edifact_scratch, input), 0,
           sizeof(*sc) - offsetof(lx_edifact_scratch, input));
    return 1;
}

/* Free the compact form of doc, or hand its buffers back to the scratch
 * they came from (grown, maybe). */
static void drop_compact(lx_edifact_msg *doc)
{
    lx_edifact_scratch *sc = doc->scratch;
    if (sc != NULL) {
        sc->input = doc->input;
        sc->input_cap = doc->input_cap;
        sc->store = doc->store;
        sc->puts = doc->puts;
        sc->lazies = doc->lazies;
        sc->lazy_cap = doc->lazy_cap;
        lx_edi_loan_return(&sc->loan);
        lx_edifact_scratch_release(&doc->scratch);
    } else {
        lx_edifact_store_fini(&doc->store);
        free(doc->input);
        free(doc->puts.items);
        free(doc->lazies);
    }
    doc->input = NULL;
    doc->input_cap = 0;
    memset(&doc->store, 0, sizeof(doc->store));
    memset(&doc->puts, 0, sizeof(doc->puts));
    doc->lazies = NULL;
    doc->lazy_count = doc->lazy_cap = 0;
}

typedef struct parser {
    const lx_edifact_options *opts;
    lx_edifact_diags *diags;
    lx_error *err;
    lx_edifact_lexer lx;
    json_t *interchanges; /* borrowed from the root */
    json_t *ic;           /* current interchange, NULL between them */
    json_t *group;        /* current group (with or without UNG) */
    int group_has_ung;
    json_t *msg;          /* current message */
    size_t lazy;          /* its doc->lazies index */
    size_t unh;           /* store->segs index of its UNH, or SIZE_MAX */
    long msg_segments;    /* UNH..current, for UNT01 */
    lx_edifact_msg *doc;
    char icref[LX_EDIFACT_REF_MAX];
    char gref[LX_EDIFACT_REF_MAX];
    char mref[LX_EDIFACT_REF_MAX];
} parser;

static void copy_ref(char dst[LX_EDIFACT_REF_MAX], const json_t *elements,
                     size_t element)
{
    const char *v =
        json_string_value(json_array_get(json_array_get(elements, element), 0));
    snprintf(dst, LX_EDIFACT_REF_MAX, "%s", v ? v : "");
}

/* The first component of an element, "" when absent. */
static const char *elem0(const json_t *elements, size_t element)
{
    const char *v =
        json_string_value(json_array_get(json_array_get(elements, element), 0));
    return v ? v : "";
}

/* A broken envelope rule: an error, or a finding when lenient. */
static int envelope(parser *p, int code, const lx_edifact_token *tok,
                    long seg_pos, int element, const char *rule)
{
    lx_edifact_diag dg;
    memset(&dg, 0, sizeof dg);
    dg.code = code;
    dg.is_envelope = 1;
    memcpy(dg.interchange_ref, p->icref, sizeof dg.interchange_ref);
    memcpy(dg.group_ref, p->gref, sizeof dg.group_ref);
    memcpy(dg.message_ref, p->mref, sizeof dg.message_ref);
    dg.segment_pos = seg_pos;
    if (tok != NULL)
        memcpy(dg.segment_tag, tok->tag, sizeof dg.segment_tag);
    dg.element = element;
    dg.line = tok ? tok->line : p->lx.line;
    dg.offset = tok ? (long)tok->offset : (long)p->lx.pos;
    snprintf(dg.msg, sizeof dg.msg, "%s", rule);
    lx_edifact_diags_add(p->diags, &dg);
    if (p->opts->flags & LX_EDIFACT_LENIENT)
        return 0;
    /* err->where is the position without the rule; the message both. */
    char where[LX_ERROR_WHERE_MAX];
    char full[LX_ERROR_MSG_MAX];
    lx_edifact_diag_format(&dg, full, sizeof full);
    dg.msg[0] = '\0';
    lx_edifact_diag_format(&dg, where, sizeof where);
    char *tail = strstr(where, ": ");
    if (tail != NULL)
        *tail = '\0';
    lx_error_set(p->err, LX_ESCHEMA, "%s", full);
    if (p->err != NULL) {
        snprintf(p->err->where, sizeof p->err->where, "%s", where);
        p->err->line = dg.line;
        p->err->offset = dg.offset;
    }
    return LX_ESCHEMA;
}

static int count_matches(const json_t *elements, size_t element, size_t n)
{
    const char *v = elem0(elements, element);
    size_t got = 0;
    if (*v == '\0')
        return 0;
    for (; *v; v++) {
        if (*v < '0' || *v > '9' || got > 100000000)
            return 0;
        got = got * 10 + (size_t)(*v - '0');
    }
    return got == n;
}

static void apply_definition(parser *p)
{
    if (p->opts->defs == NULL || p->msg == NULL || p->unh == SIZE_MAX)
        return;
    lx_edifact_msg *doc = p->doc;
    lazy *lz = &doc->lazies[p->lazy];
    lz->put_first = doc->puts.count;
    lz->applied = lx_edifact_apply_compact(
        p->opts->defs, &doc->store, &doc->store.segs[p->unh],
        doc->store.segs + lz->seg_first, lz->seg_count, p->lx.delims.decimal,
        p->icref, p->gref, p->diags, &doc->puts);
}

static int close_message(parser *p, const lx_edifact_token *tok)
{
    if (p->msg == NULL)
        return 0;
    int rc = 0;
    if (json_object_get(p->msg, "UNH") != NULL)
        rc = envelope(p, LX_EDIFACT_UC_MISSING, tok, p->msg_segments + 1, 0,
                      "UNT missing before this segment");
    apply_definition(p);
    p->msg = NULL;
    p->mref[0] = '\0';
    return rc;
}

static int close_group(parser *p, const lx_edifact_token *tok)
{
    int rc = close_message(p, tok);
    if (rc == 0 && p->group != NULL && p->group_has_ung)
        rc = envelope(p, LX_EDIFACT_UC_MISSING, tok, 0, 0,
                      "UNE missing before this segment");
    p->group = NULL;
    p->group_has_ung = 0;
    p->gref[0] = '\0';
    return rc;
}

static size_t count_ung_groups(const json_t *ic)
{
    size_t n = 0, i;
    json_t *g;
    json_array_foreach(json_object_get(ic, "groups"), i, g)
    {
        if (json_object_get(g, "UNG") != NULL)
            n++;
    }
    return n;
}

static int close_interchange(parser *p, const lx_edifact_token *tok)
{
    int rc = close_group(p, tok);
    if (rc == 0 && p->ic != NULL && json_object_get(p->ic, "UNB") != NULL &&
        json_object_get(p->ic, "UNZ") == NULL)
        rc = envelope(p, LX_EDIFACT_UC_MISSING, tok, 0, 0,
                      tok ? "UNZ missing before this segment"
                          : "UNZ missing at the end of input");
    p->ic = NULL;
    p->icref[0] = '\0';
    return rc;
}

static void open_interchange(parser *p, json_t *unb)
{
    p->ic = json_object();
    if (p->lx.una_pending) {
        json_object_set_new(p->ic, "UNA", json_string(p->lx.una));
        p->lx.una_pending = 0;
    }
    if (unb != NULL)
        json_object_set(p->ic, "UNB", unb);
    json_array_append_new(p->interchanges, p->ic);
}

static int on_unb(parser *p, const lx_edifact_token *tok)
{
    int rc = close_interchange(p, tok);
    if (rc != 0)
        return rc;
    open_interchange(p, tok->elements);
    copy_ref(p->icref, tok->elements, 4);
    int v = p->lx.syntax_version;
    if (v < 1 || v > 4)
        return envelope(p, LX_EDIFACT_UC_SYNTAX_VERSION, tok, 0, 1,
                        "syntax version not supported (1 to 4)");
    if (p->icref[0] == '\0')
        return envelope(p, LX_EDIFACT_UC_MISSING, tok, 0, 5,
                        "interchange control reference missing");
    return 0;
}

static int ensure_interchange(parser *p, const lx_edifact_token *tok)
{
    if (p->ic != NULL)
        return 0;
    open_interchange(p, NULL);
    return envelope(p, LX_EDIFACT_UC_MISSING, tok, 0, 0,
                    "UNB missing before this segment");
}

static int on_ung(parser *p, const lx_edifact_token *tok)
{
    int rc = ensure_interchange(p, tok);
    if (rc == 0)
        rc = close_group(p, tok);
    if (rc != 0)
        return rc;
    json_t *groups = json_object_get(p->ic, "groups");
    if (groups == NULL) {
        groups = json_array();
        json_object_set_new(p->ic, "groups", groups);
        json_t *loose = json_object_get(p->ic, "messages");
        if (loose != NULL) {
            /* Messages before the first UNG keep their place in a group
             * without UNG/UNE. */
            json_t *g = json_object();
            json_object_set(g, "messages", loose);
            json_array_append_new(groups, g);
            json_object_del(p->ic, "messages");
            rc = envelope(p, LX_EDIFACT_UC_NOT_SUPPORTED_HERE, tok, 0, 0,
                          "messages outside functional groups");
            if (rc != 0)
                return rc;
        }
    }
    p->group = json_object();
    p->group_has_ung = 1;
    json_object_set(p->group, "UNG", tok->elements);
    json_object_set_new(p->group, "messages", json_array());
    json_array_append_new(groups, p->group);
    copy_ref(p->gref, tok->elements, 4);
    if (p->gref[0] == '\0')
        return envelope(p, LX_EDIFACT_UC_MISSING, tok, 0, 5,
                        "group reference number missing");
    return 0;
}

static int on_une(parser *p, const lx_edifact_token *tok)
{
    int rc = close_message(p, tok);
    if (rc != 0)
        return rc;
    if (p->group == NULL || !p->group_has_ung)
        return envelope(p, LX_EDIFACT_UC_NOT_SUPPORTED_HERE, tok, 0, 0,
                        "UNE without UNG");
    json_object_set(p->group, "UNE", tok->elements);
    size_t n = json_array_size(json_object_get(p->group, "messages"));
    rc = 0;
    if (!count_matches(tok->elements, 0, n))
        rc = envelope(p, LX_EDIFACT_UC_COUNT_MISMATCH, tok, 0, 1,
                      "UNE01 does not match the number of messages in the "
                      "group");
    if (rc == 0 && strcmp(elem0(tok->elements, 1), p->gref) != 0)
        rc = envelope(p, LX_EDIFACT_UC_REFS_DO_NOT_MATCH, tok, 0, 2,
                      "UNE02 does not match UNG05");
    p->group = NULL;
    p->group_has_ung = 0;
    p->gref[0] = '\0';
    return rc;
}

static void set_type(json_t *msg, const json_t *unh)
{
    const json_t *s009 = json_array_get(unh, 1);
    static const char *const names[] = {"type", "version", "release"};
    for (size_t i = 0; i < 3; i++) {
        const char *v = json_string_value(json_array_get(s009, i));
        if (v != NULL)
            json_object_set_new(msg, names[i], json_string(v));
    }
}

/* Where a new message goes: the open group, a group without UNG when the
 * interchange uses groups, or the interchange's own list. */
static int message_list(parser *p, const lx_edifact_token *tok, json_t **list)
{
    int rc = 0;
    *list = NULL;
    if (p->group == NULL && json_object_get(p->ic, "groups") != NULL) {
        rc = envelope(p, LX_EDIFACT_UC_NOT_SUPPORTED_HERE, tok, 0, 0,
                      "message outside a functional group");
        p->group = json_object();
        p->group_has_ung = 0;
        json_object_set_new(p->group, "messages", json_array());
        json_array_append_new(json_object_get(p->ic, "groups"), p->group);
    }
    if (p->group != NULL) {
        *list = json_object_get(p->group, "messages");
    } else {
        *list = json_object_get(p->ic, "messages");
        if (*list == NULL) {
            *list = json_array();
            json_object_set_new(p->ic, "messages", *list);
        }
    }
    return rc;
}

static int open_message(parser *p, const lx_edifact_token *tok, int with_unh)
{
    json_t *list;
    int rc = message_list(p, tok, &list);
    p->msg = json_object();
    if (with_unh) {
        json_object_set(p->msg, "UNH", tok->elements);
        set_type(p->msg, tok->elements);
        copy_ref(p->mref, tok->elements, 0);
    }
    json_object_set_new(p->msg, "segments", json_array());
    json_array_append_new(list, p->msg);
    p->msg_segments = with_unh ? 1 : 0;
    lx_edifact_msg *doc = p->doc;
    LX_EDI_GROW(doc->lazies, doc->lazy_count, doc->lazy_cap);
    p->lazy = doc->lazy_count++;
    memset(&doc->lazies[p->lazy], 0, sizeof(lazy));
    doc->lazies[p->lazy].msg = p->msg;
    /* The body follows: a UNH is the last segment read. */
    p->unh = with_unh ? doc->store.seg_count - 1 : SIZE_MAX;
    doc->lazies[p->lazy].seg_first =
        with_unh ? doc->store.seg_count : doc->store.seg_count - 1;
    if (rc == 0 && with_unh && p->mref[0] == '\0')
        rc = envelope(p, LX_EDIFACT_UC_MISSING, tok, 1, 1,
                      "message reference number missing");
    return rc;
}

static int on_unh(parser *p, const lx_edifact_token *tok)
{
    int rc = ensure_interchange(p, tok);
    if (rc == 0)
        rc = close_message(p, tok);
    if (rc == 0)
        rc = open_message(p, tok, 1);
    return rc;
}

static int on_unt(parser *p, const lx_edifact_token *tok)
{
    if (p->msg == NULL || json_object_get(p->msg, "UNH") == NULL) {
        int rc = close_message(p, tok);
        if (rc == 0)
            rc = envelope(p, LX_EDIFACT_UC_NOT_SUPPORTED_HERE, tok, 0, 0,
                          "UNT without UNH");
        return rc;
    }
    p->msg_segments++;
    json_object_set(p->msg, "UNT", tok->elements);
    int rc = 0;
    if (!count_matches(tok->elements, 0, (size_t)p->msg_segments))
        rc = envelope(p, LX_EDIFACT_UC_COUNT_MISMATCH, tok, p->msg_segments,
                      1,
                      "UNT01 does not match the number of segments from UNH "
                      "to UNT");
    if (rc == 0 && strcmp(elem0(tok->elements, 1), p->mref) != 0)
        rc = envelope(p, LX_EDIFACT_UC_REFS_DO_NOT_MATCH, tok,
                      p->msg_segments, 2, "UNT02 does not match UNH01");
    apply_definition(p);
    p->msg = NULL;
    p->mref[0] = '\0';
    return rc;
}

static int on_unz(parser *p, const lx_edifact_token *tok)
{
    int rc = close_group(p, tok);
    if (rc != 0)
        return rc;
    if (p->ic == NULL || json_object_get(p->ic, "UNB") == NULL)
        return envelope(p, LX_EDIFACT_UC_NOT_SUPPORTED_HERE, tok, 0, 0,
                        "UNZ without UNB");
    json_object_set(p->ic, "UNZ", tok->elements);
    /* UNZ01 counts functional groups when UNG is used, else messages. */
    size_t n;
    const char *what;
    if (json_object_get(p->ic, "groups") != NULL) {
        n = count_ung_groups(p->ic);
        what = "UNZ01 does not match the number of functional groups";
    } else {
        n = json_array_size(json_object_get(p->ic, "messages"));
        what = "UNZ01 does not match the number of messages";
    }
    if (!count_matches(tok->elements, 0, n))
        rc = envelope(p, LX_EDIFACT_UC_COUNT_MISMATCH, tok, 0, 1, what);
    if (rc == 0 && strcmp(elem0(tok->elements, 1), p->icref) != 0)
        rc = envelope(p, LX_EDIFACT_UC_REFS_DO_NOT_MATCH, tok, 0, 2,
                      "UNZ02 does not match UNB05");
    p->ic = NULL;
    p->icref[0] = '\0';
    return rc;
}

static int on_data(parser *p, const lx_edifact_token *tok)
{
    int rc = 0;
    if (p->msg == NULL) {
        rc = ensure_interchange(p, tok);
        if (rc == 0)
            rc = envelope(p, LX_EDIFACT_UC_MISSING, tok, 0, 0,
                          "UNH missing before this segment");
        if (rc == 0)
            rc = open_message(p, tok, 0);
        if (rc != 0)
            return rc;
    }
    p->msg_segments++;
    lazy *lz = &p->doc->lazies[p->lazy];
    lx_edifact_cseg *seg = &p->doc->store.segs[p->doc->store.seg_count - 1];
    LX_ASSERT(lz->seg_first + lz->seg_count == p->doc->store.seg_count - 1);
    seg->pos = p->msg_segments;
    lz->seg_count++;
    return 0;
}

static int is_service(const char *t)
{
    return t[0] == 'U' && t[1] == 'N' && t[3] == '\0' &&
           (t[2] == 'B' || t[2] == 'Z' || t[2] == 'G' || t[2] == 'E' ||
            t[2] == 'H' || t[2] == 'T');
}

static int on_segment(parser *p, const lx_edifact_token *tok)
{
    const char *t = tok->tag;
    if (!is_service(t))
        return on_data(p, tok);
    if (strcmp(t, "UNB") == 0)
        return on_unb(p, tok);
    if (strcmp(t, "UNZ") == 0)
        return on_unz(p, tok);
    if (strcmp(t, "UNG") == 0)
        return on_ung(p, tok);
    if (strcmp(t, "UNE") == 0)
        return on_une(p, tok);
    if (strcmp(t, "UNH") == 0)
        return on_unh(p, tok);
    if (strcmp(t, "UNT") == 0)
        return on_unt(p, tok);
    return on_data(p, tok);
}

void lx_edifact_msg_destroy(lx_edifact_msg **doc)
{
    if (doc == NULL || *doc == NULL)
        return;
    lx_edifact_msg *d = *doc;
    drop_compact(d);
    json_decref(d->root);
    free(d);
    *doc = NULL;
}

/* {"id", "pos", "elements"}. With t (a build) the id, the position and
 * equal elements are shared values (edi_intern.h); without, every value
 * is its own, as lx_edifact_place_json's JSON callers expect. */
static json_t *segment_json(const lx_edifact_store *s,
                            const lx_edifact_cseg *seg, lx_edi_intern *t)
{
    json_t *o = json_object();
    size_t n = strlen(seg->tag);
    json_object_setn_new_nocheck(
        o, "id", 2,
        t ? lx_edi_intern_string(t, seg->tag, n, 0)
          : json_stringn_nocheck(seg->tag, n));
    json_object_setn_new_nocheck(o, "pos", 3,
                                 t ? lx_edi_shared_integer(seg->pos)
                                   : json_integer(seg->pos));
    json_object_setn_new_nocheck(o, "elements", 8,
                                 lx_edifact_cseg_elements(s, seg, t));
    return o;
}

/* A node being built (the message or a group) and its member lists, made
 * on first use so that members keep the order placing JSON segments one
 * by one gave them: "segments", then "groups". */
typedef struct build_node {
    json_t *node, *segments, *groups;
} build_node;

static json_t *list_of(json_t *node, json_t **list, const char *name,
                       size_t name_len)
{
    if (*list == NULL) {
        *list = json_object_getn(node, name, name_len);
        if (*list == NULL) {
            *list = json_array();
            json_object_setn_new_nocheck(node, name, name_len, *list);
        }
    }
    return *list;
}

void lx_edifact_place_json(json_t *msg, const lx_edifact_put *puts, size_t n,
                           lx_edifact_seg_fn seg_fn, void *ctx,
                           lx_edi_intern *t)
{
    size_t opened = 0;
    for (size_t i = 0; i < n; i++)
        opened += puts[i].kind == LX_EDIFACT_PUT_GROUP;
    /* On the stack up to a size: a large request right after the caller
     * freed the previous tree makes malloc consolidate all its chunks. */
    build_node local[256];
    build_node *nodes = opened < sizeof local / sizeof *local
                            ? local
                            : lx_xmalloc((opened + 1) * sizeof(*nodes));
    memset(nodes, 0, (opened + 1) * sizeof(*nodes));
    nodes[0].node = msg;
    opened = 0;
    for (size_t i = 0; i < n; i++) {
        build_node *node = &nodes[puts[i].node];
        if (puts[i].kind == LX_EDIFACT_PUT_GROUP) {
            build_node *g = &nodes[++opened];
            g->node = json_object();
            const char *id = puts[i].group_id;
            size_t len = strlen(id);
            json_object_setn_new_nocheck(
                g->node, "id", 2,
                t ? lx_edi_intern_string(t, id, len, 0)
                  : json_stringn(id, len));
            json_array_append_new(
                list_of(node->node, &node->groups, "groups", 6), g->node);
            node = g;
        }
        json_array_append_new(
            list_of(node->node, &node->segments, "segments", 8),
            seg_fn(ctx, i));
    }
    if (nodes != local)
        free(nodes);
}

typedef struct body_ctx {
    const lx_edifact_store *s;
    size_t first;
    lx_edi_intern *t;
} body_ctx;

static json_t *body_segment(void *ctx, size_t i)
{
    const body_ctx *b = ctx;
    return segment_json(b->s, &b->s->segs[b->first + i], b->t);
}

/* Build one message body's JSON from the store. */
static void build_lazy(lx_edifact_msg *doc, const lazy *lz, lx_edi_intern *t)
{
    const lx_edifact_store *s = &doc->store;
    if (!lz->applied) {
        json_t *flat = json_object_get(lz->msg, "segments");
        for (size_t i = 0; i < lz->seg_count; i++)
            json_array_append_new(
                flat, segment_json(s, &s->segs[lz->seg_first + i], t));
        return;
    }
    body_ctx b = {s, lz->seg_first, t};
    lx_edifact_place_json(lz->msg, doc->puts.items + lz->put_first,
                          lz->seg_count, body_segment, &b, t);
}

json_t *lx_edifact_msg_root(lx_edifact_msg *doc)
{
    return doc->root;
}

static json_t *build_tree(lx_edifact_msg *doc, int shared)
{
    LX_ASSERT(doc != NULL);
    if (doc->lazies != NULL) {
        /* Values are shared across the whole document (a stack table). */
        lx_edi_intern t;
        lx_edi_intern_init(&t);
        for (size_t i = 0; i < doc->lazy_count; i++)
            build_lazy(doc, &doc->lazies[i], shared ? &t : NULL);
        lx_edi_intern_fini(&t);
        drop_compact(doc);
    }
    return doc->root;
}

json_t *lx_edifact_msg_tree(lx_edifact_msg *doc)
{
    return build_tree(doc, 1);
}

json_t *lx_edifact_msg_tree_unshared(lx_edifact_msg *doc)
{
    return build_tree(doc, 0);
}

int lx_edifact_parse_msg(const char *buf, size_t len,
                         const lx_edifact_options *opts,
                         lx_edifact_scratch *scratch, lx_edifact_msg **out,
                         lx_edifact_diags *diags, lx_error *err)
{
    LX_ASSERT(out != NULL && (buf != NULL || len == 0));
    *out = NULL;
    lx_edifact_options defaults;
    memset(&defaults, 0, sizeof defaults);
    if (opts == NULL)
        opts = &defaults;
    size_t max_len = opts->max_len ? opts->max_len : LX_EDIFACT_MAX_DEFAULT;
    if (len > max_len)
        return lx_error_set(err, LX_ELIMIT,
                            "interchange larger than %zu bytes", max_len);
    parser p;
    memset(&p, 0, sizeof p);
    p.opts = opts;
    p.diags = diags;
    p.err = err;
    p.unh = SIZE_MAX;
    p.doc = lx_xcalloc(1, sizeof(*p.doc));
    /* Component values are views of the input until the tree is built:
     * the doc keeps its own copy. */
    if (!borrow(p.doc, scratch, len ? len : 1)) {
        lx_edifact_store_reserve(&p.doc->store, len);
        p.doc->input = lx_xmalloc(len ? len : 1);
        p.doc->input_cap = len ? len : 1;
    }
    if (len > 0)
        memcpy(p.doc->input, buf, len);
    lx_edifact_lexer_init(&p.lx, p.doc->input, len, opts->max_segments);
    p.doc->root = json_object();
    p.interchanges = json_array();
    json_object_set_new(p.doc->root, "interchanges", p.interchanges);
    lx_edifact_store *store = &p.doc->store;
    int rc;
    for (;;) {
        rc = lx_edifact_lex(&p.lx, store, err);
        if (rc <= 0)
            break;
        const lx_edifact_cseg *seg = &store->segs[store->seg_count - 1];
        lx_edifact_token tok;
        memcpy(tok.tag, seg->tag, sizeof tok.tag);
        tok.offset = seg->offset;
        tok.line = seg->line;
        /* Only envelope segments become JSON now; data segments stay in
         * the store until the tree is asked for. */
        tok.elements =
            is_service(seg->tag) ? lx_edifact_cseg_elements(store, seg, NULL)
                                 : NULL;
        rc = on_segment(&p, &tok);
        json_decref(tok.elements);
        if (rc != 0)
            break;
    }
    if (rc == 0)
        rc = close_interchange(&p, NULL);
    if (rc == 0 && json_array_size(p.interchanges) == 0)
        rc = lx_error_set(err, LX_ESYNTAX, "no segments in the input");
    if (rc != 0) {
        lx_edifact_msg_destroy(&p.doc);
        return rc;
    }
    *out = p.doc;
    return 0;
}

int lx_edifact_parse(const char *buf, size_t len,
                     const lx_edifact_options *opts, json_t **out,
                     lx_edifact_diags *diags, lx_error *err)
{
    LX_ASSERT(out != NULL);
    *out = NULL;
    lx_edifact_msg *doc = NULL;
    int rc = lx_edifact_parse_msg(buf, len, opts, NULL, &doc, diags, err);
    if (rc != 0)
        return rc;
    *out = json_incref(lx_edifact_msg_tree(doc));
    lx_edifact_msg_destroy(&doc);
    return 0;
}
