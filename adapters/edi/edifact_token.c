/* adapters/edi/edifact_token.c: service characters and the segment
 * tokenizer (ISO 9735-1 and -4, sections 4 and 7). */
#include "adapters/edi/edifact_int.h"

#include "core/mem.h"
#include "core/utf8.h"

#include <stdio.h>
#include <stdlib.h>

#include <string.h>

void lx_edifact_delims_default(lx_edifact_delims *d, int syntax_version)
{
    LX_ASSERT(d != NULL);
    d->component = ':';
    d->element = '+';
    d->decimal = '.';
    d->release = '?';
    d->repetition = syntax_version >= 4 ? '*' : '\0';
    d->segment = '\'';
}

static int is_alnum_upper(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int lx_edifact_delims_from_una(const char una[6], lx_edifact_delims *d,
                               lx_error *err)
{
    LX_ASSERT(una != NULL && d != NULL);
    /* UNA is fixed: component, element, decimal mark, release, repetition
     * (reserved in syntax 3, a space there), terminator. The decimal mark
     * and the repetition may be a space; the separators may not.
     * Example: UNA:+.? ' */
    static const int separator[6] = {1, 1, 0, 0, 0, 1};
    for (int i = 0; i < 6; i++) {
        char c = una[i];
        if (c == '\r' || c == '\n' || (c != ' ' && is_alnum_upper(c)) ||
            (c >= 'a' && c <= 'z'))
            return lx_error_set(err, LX_ESYNTAX,
                                "UNA character %d: not usable as a service "
                                "character",
                                i + 1);
        if (separator[i] && c == ' ')
            return lx_error_set(err, LX_ESYNTAX,
                                "UNA character %d: a separator cannot be a "
                                "space",
                                i + 1);
        for (int j = 0; j < i; j++)
            if (una[j] == c && c != ' ')
                return lx_error_set(err, LX_ESYNTAX,
                                    "UNA characters %d and %d are the same",
                                    j + 1, i + 1);
    }
    d->component = una[0];
    d->element = una[1];
    d->decimal = una[2];
    d->release = una[3] == ' ' ? '\0' : una[3];
    d->repetition = una[4] == ' ' ? '\0' : una[4];
    d->segment = una[5];
    return 0;
}

void lx_edifact_lexer_init(lx_edifact_lexer *lx, const char *buf, size_t len,
                           size_t max_segments)
{
    LX_ASSERT(lx != NULL && (buf != NULL || len == 0));
    memset(lx, 0, sizeof *lx);
    lx->buf = buf;
    lx->len = len;
    lx->line = 1;
    lx->max_segments =
        max_segments ? max_segments : LX_EDIFACT_MAX_SEGMENTS_DEFAULT;
    lx_edifact_delims_default(&lx->delims, 3);
    /* A UTF-8 byte order mark is not part of the interchange. */
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        lx->pos = 3;
}

static int lex_error(lx_edifact_lexer *lx, size_t offset, long line, int code,
                     lx_error *err, const char *rule)
{
    lx_error_set(err, code, "segment %zu at line %ld: %s",
                 lx->segment_count + 1, line, rule);
    if (err != NULL) {
        err->offset = (long)offset;
        err->line = line;
    }
    return code;
}

static void skip_line_ends(lx_edifact_lexer *lx)
{
    while (lx->pos < lx->len &&
           (lx->buf[lx->pos] == '\r' || lx->buf[lx->pos] == '\n')) {
        if (lx->buf[lx->pos] == '\n')
            lx->line++;
        lx->pos++;
    }
}

/* The repetition separator is active from syntax version 4 on; it is the
 * UNA's fifth character when a UNA was read, else '*' (ISO 9735-4, 7.1). */
static void apply_syntax_version(lx_edifact_lexer *lx, int version)
{
    lx->syntax_version = version;
    if (version < 4)
        lx->delims.repetition = '\0';
    else if (lx->una[0] != '\0')
        lx->delims.repetition = lx->una[4] == ' ' ? '\0' : lx->una[4];
    else
        lx->delims.repetition = '*';
}

static int read_una(lx_edifact_lexer *lx, lx_error *err)
{
    size_t at = lx->pos;
    if (lx->len - at < 9)
        return lex_error(lx, at, lx->line, LX_ESYNTAX, err,
                         "UNA shorter than 9 characters");
    lx_edifact_delims d;
    lx_error sub;
    lx_error_clear(&sub);
    if (lx_edifact_delims_from_una(lx->buf + at + 3, &d, &sub) != 0)
        return lex_error(lx, at, lx->line, LX_ESYNTAX, err, sub.msg);
    memcpy(lx->una, lx->buf + at + 3, 6);
    lx->una[6] = '\0';
    lx->una_pending = 1;
    /* The repetition separator waits for UNB's syntax version. */
    d.repetition = lx->delims.repetition;
    lx->delims = d;
    lx->pos = at + 9;
    return 0;
}

/* ---- the compact store ---------------------------------------------- */

void lx_edifact_store_init(lx_edifact_store *s)
{
    memset(s, 0, sizeof(*s));
}

void lx_edifact_store_reserve(lx_edifact_store *s, size_t len)
{
    memset(s, 0, sizeof(*s));
    if (len > ((size_t)1 << 20))
        len = (size_t)1 << 20;
    /* Generous for typical data: a segment is rarely under 8 bytes, a
     * component under 3. */
    s->text_cap = 256;
    s->seg_cap = len / 8 + 16;
    s->elem_cap = s->part_cap = len / 4 + 16;
    s->comp_cap = len / 3 + 16;
    s->text = lx_xmalloc(s->text_cap);
    s->segs = lx_xmalloc(s->seg_cap * sizeof(*s->segs));
    s->elems = lx_xmalloc(s->elem_cap * sizeof(*s->elems));
    s->parts = lx_xmalloc(s->part_cap * sizeof(*s->parts));
    s->comps = lx_xmalloc(s->comp_cap * sizeof(*s->comps));
}

void lx_edifact_store_fini(lx_edifact_store *s)
{
    free(s->text);
    free(s->comps);
    free(s->parts);
    free(s->elems);
    free(s->segs);
    memset(s, 0, sizeof(*s));
}

static void text_append(lx_edifact_store *s, const char *p, size_t n)
{
    if (s->text_len + n > s->text_cap) {
        while (s->text_len + n > s->text_cap)
            s->text_cap = s->text_cap ? s->text_cap * 2 : 4096;
        s->text = lx_xrealloc(s->text, s->text_cap);
    }
    memcpy(s->text + s->text_len, p, n);
    s->text_len += n;
}

/* The bytes that end a run of ordinary text, as a 256-bit set, cached
 * in the store for the delimiters it was built for. */
static void special_add(uint64_t bits[4], char c)
{
    unsigned char u = (unsigned char)c;
    bits[u >> 6] |= (uint64_t)1 << (u & 63);
}

static const uint64_t *specials(lx_edifact_store *s, const lx_edifact_delims *d)
{
    if (s->special_ok && memcmp(&s->special_for, d, sizeof(*d)) == 0)
        return s->special;
    memset(s->special, 0, sizeof(s->special));
    special_add(s->special, d->component);
    special_add(s->special, d->element);
    special_add(s->special, d->segment);
    special_add(s->special, '\n');
    if (d->release != '\0')
        special_add(s->special, d->release);
    if (d->repetition != '\0')
        special_add(s->special, d->repetition);
    s->special_for = *d;
    s->special_ok = 1;
    return s->special;
}

static inline int is_special(const uint64_t bits[4], char c)
{
    unsigned char u = (unsigned char)c;
    return (int)((bits[u >> 6] >> (u & 63)) & 1);
}

static int read_elements(lx_edifact_lexer *lx, lx_edifact_store *s,
                         lx_edifact_cseg *seg, lx_error *err)
{
    const lx_edifact_delims *d = &lx->delims;
    const uint64_t *set = specials(s, d);
    const char *buf = lx->buf;
    const size_t len = lx->len;
    size_t pos = lx->pos;
    const char *rule = NULL;
    int code = 0;
    /* The element being read: its parts (repetitions) start at part_first,
     * the current part's components at comp_first; the current component
     * starts at comp_start in buf, or, once a release character made it
     * differ from its input, at text_start in store->text. */
    size_t part_first = s->part_count, comp_first = s->comp_count;
    size_t comp_start = pos, text_start = 0;
    int escaped = 0;
    /* pos is just after the element separator that follows the tag. */
    for (;;) {
        /* Ordinary bytes are skipped in one run up to the next service
         * character or line feed (copied only in an escaped value). */
        size_t run = pos;
        while (run < len && !is_special(set, buf[run]))
            run++;
        if (escaped && run > pos)
            text_append(s, buf + pos, run - pos);
        pos = run;
        if (pos >= len) {
            code = LX_ESYNTAX;
            rule = "segment not terminated";
            break;
        }
        size_t at = pos;
        char c = buf[pos++];
        if (c == '\n')
            lx->line++;
        if (c == d->release && d->release != '\0') {
            if (pos >= len) {
                code = LX_ESYNTAX;
                rule = "release character at the end of input";
                break;
            }
            if (!escaped) {
                escaped = 1;
                text_start = s->text_len;
                text_append(s, buf + comp_start, at - comp_start);
            }
            c = buf[pos++];
            if (c == '\n')
                lx->line++;
            text_append(s, &c, 1);
            continue;
        }
        int is_rep = c == d->repetition && d->repetition != '\0';
        if (c != d->component && c != d->element && c != d->segment &&
            !is_rep) {
            if (escaped)
                text_append(s, &c, 1); /* a line feed inside a value */
            continue;
        }
        /* The end of a component. */
        if (s->comp_count - comp_first >= LX_EDIFACT_MAX_COMPONENTS) {
            code = LX_ELIMIT;
            rule = "too many components";
            break;
        }
        LX_EDI_GROW(s->comps, s->comp_count, s->comp_cap);
        lx_edifact_range *cr = &s->comps[s->comp_count++];
        if (escaped) {
            cr->first = (uint32_t)text_start | LX_EDIFACT_IN_TEXT;
            cr->count = (uint32_t)(s->text_len - text_start);
        } else {
            cr->first = (uint32_t)comp_start;
            cr->count = (uint32_t)(at - comp_start);
        }
        escaped = 0;
        comp_start = pos;
        if (c == d->component)
            continue;
        if (is_rep && s->part_count - part_first >= LX_EDIFACT_MAX_REPEATS) {
            code = LX_ELIMIT;
            rule = "too many repetitions";
            break;
        }
        if (!is_rep &&
            s->elem_count - seg->elems.first >= LX_EDIFACT_MAX_ELEMENTS) {
            code = LX_ELIMIT;
            rule = "too many data elements";
            break;
        }
        LX_EDI_GROW(s->parts, s->part_count, s->part_cap);
        s->parts[s->part_count].first = (uint32_t)comp_first;
        s->parts[s->part_count].count = (uint32_t)(s->comp_count - comp_first);
        s->part_count++;
        comp_first = s->comp_count;
        if (is_rep)
            continue;
        LX_EDI_GROW(s->elems, s->elem_count, s->elem_cap);
        s->elems[s->elem_count].first = (uint32_t)part_first;
        s->elems[s->elem_count].count = (uint32_t)(s->part_count - part_first);
        s->elem_count++;
        part_first = s->part_count;
        if (c == d->segment)
            break;
    }
    lx->pos = pos;
    seg->elems.count = (uint32_t)(s->elem_count - seg->elems.first);
    if (code != 0)
        return lex_error(lx, seg->offset, seg->line, code, err, rule);
    return 0;
}

static void add_json_part(lx_edifact_store *s, const json_t *comps)
{
    size_t first = s->comp_count, i;
    const json_t *c;
    json_array_foreach(comps, i, c)
    {
        LX_EDI_GROW(s->comps, s->comp_count, s->comp_cap);
        size_t n = json_is_string(c) ? json_string_length(c) : 0;
        s->comps[s->comp_count].first =
            (uint32_t)s->text_len | LX_EDIFACT_IN_TEXT;
        s->comps[s->comp_count].count = (uint32_t)n;
        s->comp_count++;
        if (n > 0)
            text_append(s, json_string_value(c), n);
    }
    LX_EDI_GROW(s->parts, s->part_count, s->part_cap);
    s->parts[s->part_count].first = (uint32_t)first;
    s->parts[s->part_count].count = (uint32_t)(s->comp_count - first);
    s->part_count++;
}

void lx_edifact_store_add_json(lx_edifact_store *s, const char *tag, long pos,
                               const json_t *elements)
{
    lx_edifact_cseg seg;
    memset(&seg, 0, sizeof seg);
    snprintf(seg.tag, sizeof seg.tag, "%s", tag);
    seg.key = lx_edifact_tag_key(seg.tag);
    seg.pos = pos;
    seg.elems.first = (uint32_t)s->elem_count;
    size_t i;
    const json_t *e;
    json_array_foreach(elements, i, e)
    {
        size_t first = s->part_count;
        const json_t *reps = json_object_get(e, "repeats");
        if (json_is_object(e)) {
            size_t k;
            const json_t *r;
            json_array_foreach(reps, k, r) add_json_part(s, r);
            if (s->part_count - first < 2) /* an object always repeats */
                add_json_part(s, NULL);
        } else {
            add_json_part(s, e);
        }
        LX_EDI_GROW(s->elems, s->elem_count, s->elem_cap);
        s->elems[s->elem_count].first = (uint32_t)first;
        s->elems[s->elem_count].count = (uint32_t)(s->part_count - first);
        s->elem_count++;
    }
    seg.elems.count = (uint32_t)(s->elem_count - seg.elems.first);
    LX_EDI_GROW(s->segs, s->seg_count, s->seg_cap);
    s->segs[s->seg_count++] = seg;
}

const char *lx_edifact_cseg_comp(const lx_edifact_store *s,
                                 const lx_edifact_cseg *seg, size_t e,
                                 size_t c, size_t *len)
{
    *len = 0;
    if (e >= seg->elems.count)
        return "";
    const lx_edifact_range *el = &s->elems[seg->elems.first + e];
    if (el->count != 1)
        return "";
    const lx_edifact_range *part = &s->parts[el->first];
    if (c >= part->count)
        return "";
    const lx_edifact_range *comp = &s->comps[part->first + c];
    *len = comp->count;
    return lx_edifact_comp_text(s, comp);
}

/* A component's text as a JSON string, which must be UTF-8. UTF-8 text
 * (UNOW/UNOY, and the many UNOC senders who write UTF-8 anyway) is kept
 * as it is; other bytes past ASCII are read as ISO 8859-1, UNOC's
 * repertoire and by far the most common one, rather than put into the
 * tree as invalid UTF-8 that no JSON reader would take back. */
static json_t *make_string(const char *v, size_t n)
{
    size_t i = 0;
    while (i < n && (unsigned char)v[i] < 0x80)
        i++;
    if (i == n || lx_utf8_valid(v + i, n - i, NULL))
        return json_stringn_nocheck(v, n);
    unsigned char *u = lx_xmalloc(2 * n + 1);
    size_t m = 0;
    for (i = 0; i < n; i++)
        m += lx_utf8_put((unsigned char)v[i], u + m);
    json_t *j = json_stringn_nocheck((const char *)u, m);
    free(u);
    return j;
}

/* With t, a value shared with equal bytes of the same build: looked up
 * before the check, which equal bytes pass or fail alike. */
static json_t *value_string(const char *v, size_t n, lx_edi_intern *t)
{
    if (t == NULL)
        return make_string(v, n);
    lx_edi_intern_slot *slot;
    json_t *j = lx_edi_intern_find(t, v, n, &slot);
    if (j == NULL) {
        j = make_string(v, n);
        lx_edi_intern_keep(slot, v, n, j);
    }
    return j;
}

static json_t *part_json(const lx_edifact_store *s, const lx_edifact_range *p,
                         lx_edi_intern *t)
{
    json_t *a = json_array();
    for (uint32_t i = 0; i < p->count; i++) {
        const lx_edifact_range *c = &s->comps[p->first + i];
        const char *v = c->count ? lx_edifact_comp_text(s, c) : "";
        json_array_append_new(a, value_string(v, c->count, t));
    }
    return a;
}

json_t *lx_edifact_cseg_elements(const lx_edifact_store *s,
                                 const lx_edifact_cseg *seg, lx_edi_intern *t)
{
    json_t *els = json_array();
    for (uint32_t i = 0; i < seg->elems.count; i++) {
        const lx_edifact_range *e = &s->elems[seg->elems.first + i];
        json_t *v;
        if (e->count == 1) {
            v = part_json(s, &s->parts[e->first], t);
        } else {
            json_t *reps = json_array();
            for (uint32_t k = 0; k < e->count; k++)
                json_array_append_new(reps,
                                      part_json(s, &s->parts[e->first + k], t));
            v = json_object();
            json_object_set_new_nocheck(v, "repeats", reps);
        }
        json_array_append_new(els, v);
    }
    return els;
}

/* UNB S001 (syntax identifier:version), e.g. UNB+UNOC:4+... */
static int unb_syntax_version(const lx_edifact_store *s,
                              const lx_edifact_cseg *seg)
{
    size_t n;
    const char *v = lx_edifact_cseg_comp(s, seg, 0, 1, &n);
    if (n != 1 || v[0] < '0' || v[0] > '9')
        return 0;
    return v[0] - '0';
}

int lx_edifact_lex(lx_edifact_lexer *lx, lx_edifact_store *s, lx_error *err)
{
    LX_ASSERT(lx != NULL && s != NULL);
    LX_ASSERT(s->base == NULL || s->base == lx->buf);
    s->base = lx->buf;
    if (lx->len >= LX_EDIFACT_IN_TEXT)
        return lex_error(lx, lx->pos, lx->line, LX_ELIMIT, err,
                         "input over 2 GiB");
    for (;;) {
        skip_line_ends(lx);
        if (lx->pos >= lx->len)
            return 0;
        if (lx->len - lx->pos >= 3 &&
            memcmp(lx->buf + lx->pos, "UNA", 3) == 0) {
            int rc = read_una(lx, err);
            if (rc != 0)
                return rc;
            continue;
        }
        break;
    }
    if (lx->segment_count >= lx->max_segments)
        return lex_error(lx, lx->pos, lx->line, LX_ELIMIT, err,
                         "too many segments");
    lx_edifact_cseg seg;
    memset(&seg, 0, sizeof seg);
    seg.offset = lx->pos;
    seg.line = lx->line;
    seg.elems.first = (uint32_t)s->elem_count;
    size_t n = 0;
    while (lx->pos < lx->len && n < LX_EDIFACT_TAG_MAX &&
           is_alnum_upper(lx->buf[lx->pos]))
        seg.tag[n++] = lx->buf[lx->pos++];
    seg.tag[n] = '\0';
    if (n == 0)
        return lex_error(lx, seg.offset, seg.line, LX_ESYNTAX, err,
                         "segment tag expected (letters or digits)");
    if (lx->pos >= lx->len)
        return lex_error(lx, seg.offset, seg.line, LX_ESYNTAX, err,
                         "segment not terminated");
    char c = lx->buf[lx->pos];
    /* UNB carries the syntax version and never repeats an element, so it
     * is read without a repetition separator whatever came before. */
    int is_unb = n == 3 && memcmp(seg.tag, "UNB", 3) == 0;
    if (is_unb)
        lx->delims.repetition = '\0';
    if (c == lx->delims.segment) {
        lx->pos++;
    } else if (c == lx->delims.element) {
        lx->pos++;
        int rc = read_elements(lx, s, &seg, err);
        if (rc != 0)
            return rc;
    } else {
        return lex_error(lx, seg.offset, seg.line, LX_ESYNTAX, err,
                         c == lx->delims.component
                             ? "segment tag with components is not supported"
                             : "segment tag not followed by a separator");
    }
    seg.key = lx_edifact_tag_key(seg.tag);
    LX_EDI_GROW(s->segs, s->seg_count, s->seg_cap);
    s->segs[s->seg_count++] = seg;
    if (is_unb)
        apply_syntax_version(lx, unb_syntax_version(s, &seg));
    lx->segment_count++;
    return 1;
}

int lx_edifact_lex_token(lx_edifact_lexer *lx, lx_edifact_store *s,
                         lx_edifact_token *tok, lx_error *err)
{
    LX_ASSERT(lx != NULL && s != NULL && tok != NULL);
    memset(tok, 0, sizeof *tok);
    s->base = NULL;
    s->text_len = 0;
    s->comp_count = s->part_count = s->elem_count = s->seg_count = 0;
    int rc = lx_edifact_lex(lx, s, err);
    if (rc == 1) {
        const lx_edifact_cseg *seg = &s->segs[0];
        memcpy(tok->tag, seg->tag, sizeof tok->tag);
        tok->offset = seg->offset;
        tok->line = seg->line;
        tok->elements = lx_edifact_cseg_elements(s, seg, NULL);
    }
    return rc;
}

int lx_edifact_lexer_next(lx_edifact_lexer *lx, lx_edifact_token *tok,
                          lx_error *err)
{
    lx_edifact_store s;
    lx_edifact_store_init(&s);
    int rc = lx_edifact_lex_token(lx, &s, tok, err);
    lx_edifact_store_fini(&s);
    return rc;
}
