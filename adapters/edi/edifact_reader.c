/* adapters/edi/edifact_reader.c: EDIFACT messages one at a time from a
 * sliding window over a file or buffer (contract in edifact_reader.h).
 * The envelope rules mirror edifact_parse.c (ISO 9735-1 section 9). */
#include "adapters/edi/edifact_reader.h"

#include "adapters/edi/edifact_int.h"
#include "core/mem.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The end of a message that has no UNT: the segment that cut it, or the
 * end of the input (tag ""). */
typedef struct cut {
    long offset;
    long line;
    char tag[LX_EDIFACT_TAG_MAX + 1];
} cut;

struct lx_edifact_reader {
    lx_edifact_options popts;
    size_t chunk_len, max_seg, max_msg;
    FILE *fp;
    const char *mem;
    size_t mem_len, mem_pos;
    char *win;
    size_t win_len, win_cap, base;
    int eof, started;
    lx_edifact_lexer lx;
    /* A segment read but not handled yet: it first closed a message. */
    lx_edifact_token pending;
    size_t pending_start;
    int has_pending;
    /* Envelope state, as the parser's. */
    int seen_any;
    int ic_open, ic_has_unb, ic_has_una, ic_has_groups;
    int group_open, group_has_ung;
    int msg_open, msg_has_unh;
    size_t ic_messages;   /* loose messages in the interchange */
    size_t ic_ung_groups; /* UNG groups in the interchange */
    size_t group_messages;
    int unb_missing_said; /* "UNB missing" was reported in this interchange */
    char icref[LX_EDIFACT_REF_MAX];
    char gref[LX_EDIFACT_REF_MAX];
    /* Raw bytes of UNA (9), UNB, UNG and the message. */
    char una[10];
    lx_buf unb, ung, body, slice;
    /* Kept between messages so that handing out a message allocates
     * nothing large (edifact_int.h, lx_edifact_scratch): the findings of
     * each message's parse, the store of the segments lexed here, the
     * message's compact form. */
    lx_edifact_diags found;
    lx_edifact_store tokens;     /* of the segments lexed here */
    lx_edifact_scratch *scratch; /* lent to the message handed out */
    size_t body_off;
    long body_line;
    int rc; /* sticky error, or LX_ENOTFOUND once ended */
};

static void init_common(lx_edifact_reader *r,
                        const lx_edifact_reader_options *opts)
{
    if (opts) {
        r->popts = opts->parse;
        r->chunk_len = opts->chunk_len;
        r->max_seg = opts->max_segment_len;
        r->max_msg = opts->max_message_len;
    }
    if (!r->chunk_len)
        r->chunk_len = LX_EDIFACT_READER_CHUNK_DEFAULT;
    if (!r->max_seg)
        r->max_seg = LX_EDIFACT_READER_SEGMENT_MAX_DEFAULT;
    if (r->max_seg < 16)
        r->max_seg = 16;
    if (!r->max_msg)
        r->max_msg = LX_EDIFACT_READER_MESSAGE_MAX_DEFAULT;
    r->win_cap = r->chunk_len + r->max_seg;
    r->win = lx_xmalloc(r->win_cap);
    lx_buf_init(&r->unb, r->max_seg);
    lx_buf_init(&r->ung, r->max_seg);
    lx_buf_init(&r->body, r->max_msg);
    lx_buf_init(&r->slice, 0);
    lx_edifact_diags_init(&r->found);
    lx_edifact_store_init(&r->tokens);
    r->scratch = lx_edifact_scratch_new();
}

int lx_edifact_reader_open_file(const char *path,
                                const lx_edifact_reader_options *opts,
                                lx_edifact_reader **out, lx_error *err)
{
    LX_ASSERT(out != NULL && path != NULL);
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return lx_error_set(err, LX_EIO, "cannot open EDIFACT file '%s'",
                            path);
    lx_edifact_reader *r = lx_xcalloc(1, sizeof(*r));
    r->fp = fp;
    init_common(r, opts);
    *out = r;
    return 0;
}

int lx_edifact_reader_open_mem(const char *buf, size_t len,
                               const lx_edifact_reader_options *opts,
                               lx_edifact_reader **out, lx_error *err)
{
    LX_ASSERT(out != NULL);
    *out = NULL;
    if (!buf && len > 0)
        return lx_error_set(err, LX_EINVAL, "EDIFACT buffer is NULL");
    lx_edifact_reader *r = lx_xcalloc(1, sizeof(*r));
    r->mem = buf ? buf : "";
    r->mem_len = len;
    init_common(r, opts);
    *out = r;
    return 0;
}

void lx_edifact_reader_close(lx_edifact_reader **rp)
{
    if (!rp || !*rp)
        return;
    lx_edifact_reader *r = *rp;
    if (r->fp)
        fclose(r->fp);
    if (r->has_pending)
        json_decref(r->pending.elements);
    free(r->win);
    lx_buf_fini(&r->unb);
    lx_buf_fini(&r->ung);
    lx_buf_fini(&r->body);
    lx_buf_fini(&r->slice);
    lx_edifact_diags_fini(&r->found);
    lx_edifact_store_fini(&r->tokens);
    lx_edifact_scratch_release(&r->scratch);
    free(r);
    *rp = NULL;
}

size_t lx_edifact_reader_offset(const lx_edifact_reader *r)
{
    return r->base + r->lx.pos;
}

/* ---- the window ------------------------------------------------------ */

/* Drop win[0..lx.pos), read one chunk after the rest and rebase the lexer
 * (buf, len and pos are the only fields tied to where the bytes sit; its
 * line count goes on). */
static int refill(lx_edifact_reader *r, lx_error *err)
{
    size_t keep = r->win_len - r->lx.pos;
    if (r->lx.pos > 0) {
        memmove(r->win, r->win + r->lx.pos, keep);
        r->base += r->lx.pos;
        r->win_len = keep;
    }
    size_t room = r->win_cap - r->win_len;
    if (room > r->chunk_len)
        room = r->chunk_len;
    size_t got = 0;
    if (room > 0 && !r->eof) {
        if (r->fp) {
            got = fread(r->win + r->win_len, 1, room, r->fp);
            if (got < room && ferror(r->fp))
                return lx_error_set(err, LX_EIO, "cannot read EDIFACT input");
        } else {
            got = r->mem_len - r->mem_pos;
            if (got > room)
                got = room;
            memcpy(r->win + r->win_len, r->mem + r->mem_pos, got);
            r->mem_pos += got;
        }
        if (got == 0)
            r->eof = 1;
    }
    r->win_len += got;
    r->lx.buf = r->win;
    r->lx.len = r->win_len;
    r->lx.pos = 0;
    return 0;
}

static int rebased(lx_edifact_reader *r, int rc, lx_error *err)
{
    if (err && err->offset >= 0)
        err->offset += (long)r->base;
    return rc;
}

static int is_tag_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Inside a message the reader only needs where a data segment ends: its
 * elements are built once, by the parse of the message's bytes. So a
 * plain data segment (tag, then an element separator or the terminator)
 * is skipped here without building its elements, honouring the release
 * character (ISO 9735-1, 7.4: "?'" is a quote, not a terminator). Returns
 * 1 when skipped, 0 when the lexer must read it (a service segment, an
 * odd tag, a segment cut by the end of the window). */
static int skip_data_segment(lx_edifact_reader *r, lx_edifact_token *tok)
{
    lx_edifact_lexer *lx = &r->lx;
    const lx_edifact_delims *d = &lx->delims;
    size_t pos = lx->pos;
    long line = lx->line;
    while (pos < lx->len && (lx->buf[pos] == '\r' || lx->buf[pos] == '\n')) {
        if (lx->buf[pos] == '\n')
            line++;
        pos++;
    }
    size_t at = pos, n = 0;
    while (pos < lx->len && n < LX_EDIFACT_TAG_MAX && is_tag_char(lx->buf[pos]))
        tok->tag[n++] = lx->buf[pos++];
    tok->tag[n] = '\0';
    if (n == 0 || pos >= lx->len ||
        (lx->buf[pos] != d->element && lx->buf[pos] != d->segment) ||
        (n == 3 && tok->tag[0] == 'U' && tok->tag[1] == 'N' &&
         strchr("ABZGEHT", tok->tag[2]) != NULL) ||
        lx->segment_count >= lx->max_segments)
        return 0;
    tok->offset = at;
    tok->line = line;
    /* Common case: no release character before the terminator; then the
     * terminator ends it and only line feeds need counting. */
    const char *term = memchr(lx->buf + pos, d->segment, lx->len - pos);
    if (term != NULL &&
        (d->release == '\0' ||
         memchr(lx->buf + pos, d->release, (size_t)(term - (lx->buf + pos))) ==
             NULL)) {
        for (const char *nl = lx->buf + pos;
             (nl = memchr(nl, '\n', (size_t)(term - nl))) != NULL; nl++)
            line++;
        lx->pos = (size_t)(term - lx->buf) + 1;
        lx->line = line;
        lx->segment_count++;
        tok->elements = NULL;
        return 1;
    }
    for (; pos < lx->len; pos++) {
        char c = lx->buf[pos];
        if (c == '\n')
            line++;
        if (c == d->release && d->release != '\0') {
            if (++pos >= lx->len)
                return 0;
            if (lx->buf[pos] == '\n')
                line++;
        } else if (c == d->segment) {
            lx->pos = pos + 1;
            lx->line = line;
            lx->segment_count++;
            tok->elements = NULL;
            return 1;
        }
    }
    return 0;
}

/* The next segment in *tok (offset relative to the window); *start is
 * where the line ends before it began. 1, 0 at the end, or an error. */
static int next_segment(lx_edifact_reader *r, lx_edifact_token *tok,
                        size_t *start, lx_error *err)
{
    if (!r->started) {
        /* The lexer skips a byte order mark at its start: have 3 bytes. */
        while (!r->eof && r->win_len < 3) {
            int rc = refill(r, err);
            if (rc < 0)
                return rc;
        }
        lx_edifact_lexer_init(&r->lx, r->win, r->win_len, SIZE_MAX);
        r->started = 1;
    }
    for (;;) {
        if (!r->eof && r->win_len - r->lx.pos < r->max_seg) {
            int rc = refill(r, err);
            if (rc < 0)
                return rc;
        }
        lx_edifact_lexer saved = r->lx;
        *start = r->lx.pos;
        memset(tok, 0, sizeof(*tok));
        if (r->msg_open && skip_data_segment(r, tok))
            return 1;
        int rc = lx_edifact_lex_token(&r->lx, &r->tokens, tok, err);
        if (r->eof || rc == 1)
            return rc < 0 ? rebased(r, rc, err) : rc;
        /* Cut by the end of the window: read on from where this call
         * began, unless the window is full from there already. */
        int full = saved.pos == 0 && r->win_len == r->win_cap;
        if (rc == 0 && full)
            continue; /* a long run of line ends: keep them consumed */
        /* The lexer failed at the end of the window (or before a UNA it
         * could not read whole there): the segment did not fit. */
        int at_window_end = r->lx.len - r->lx.pos < 9;
        r->lx = saved;
        if (full) {
            if (rc < 0 && !at_window_end)
                return rebased(r, rc, err);
            (void)lx_error_set(err, LX_ELIMIT,
                               "segment %zu at line %ld: longer than %zu "
                               "bytes",
                               r->lx.segment_count + 1, r->lx.line,
                               r->max_seg);
            if (err) {
                err->offset = (long)r->base;
                err->line = r->lx.line;
            }
            return LX_ELIMIT;
        }
        rc = refill(r, err);
        if (rc < 0)
            return rc;
    }
}

/* ---- envelope rules -------------------------------------------------- */

static const char *elem0(const json_t *elements, size_t element)
{
    const char *v =
        json_string_value(json_array_get(json_array_get(elements, element), 0));
    return v ? v : "";
}

static void copy_ref(char dst[LX_EDIFACT_REF_MAX], const json_t *elements,
                     size_t element)
{
    snprintf(dst, LX_EDIFACT_REF_MAX, "%s", elem0(elements, element));
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

/* Without LENIENT an envelope finding fails as lx_edifact_parse does:
 * err->where is the position, the message position and rule. */
static int strict_fail(const lx_edifact_diag *dg, lx_error *err)
{
    char where[LX_ERROR_WHERE_MAX];
    char full[LX_ERROR_MSG_MAX];
    lx_edifact_diag pos = *dg;
    lx_edifact_diag_format(dg, full, sizeof full);
    pos.msg[0] = '\0';
    lx_edifact_diag_format(&pos, where, sizeof where);
    char *tail = strstr(where, ": ");
    if (tail != NULL)
        *tail = '\0';
    (void)lx_error_set(err, LX_ESCHEMA, "%s", full);
    if (err != NULL) {
        snprintf(err->where, sizeof err->where, "%s", where);
        err->line = dg->line;
        err->offset = dg->offset;
    }
    return LX_ESCHEMA;
}

/* An envelope finding at tok (NULL: the end of the input). */
static int envelope(lx_edifact_reader *r, lx_edifact_diags *diags, int code,
                    const lx_edifact_token *tok, int element,
                    const char *rule, lx_error *err)
{
    lx_edifact_diag dg;
    memset(&dg, 0, sizeof dg);
    dg.code = code;
    dg.is_envelope = 1;
    memcpy(dg.interchange_ref, r->icref, sizeof dg.interchange_ref);
    memcpy(dg.group_ref, r->gref, sizeof dg.group_ref);
    if (tok != NULL)
        memcpy(dg.segment_tag, tok->tag, sizeof dg.segment_tag);
    dg.element = element;
    dg.line = tok ? tok->line : r->lx.line;
    dg.offset = tok ? (long)(r->base + tok->offset)
                    : (long)(r->base + r->lx.pos);
    snprintf(dg.msg, sizeof dg.msg, "%s", rule);
    lx_edifact_diags_add(diags, &dg);
    if (r->popts.flags & LX_EDIFACT_LENIENT)
        return 0;
    return strict_fail(&dg, err);
}

static void close_group(lx_edifact_reader *r)
{
    r->group_open = 0;
    r->group_has_ung = 0;
    r->gref[0] = '\0';
}

/* close_group of the parser, the message being closed already. */
static int end_group(lx_edifact_reader *r, lx_edifact_diags *diags,
                     const lx_edifact_token *tok, lx_error *err)
{
    int rc = 0;
    if (r->group_open && r->group_has_ung)
        rc = envelope(r, diags, LX_EDIFACT_UC_MISSING, tok, 0,
                      "UNE missing before this segment", err);
    close_group(r);
    return rc;
}

static int end_interchange(lx_edifact_reader *r, lx_edifact_diags *diags,
                           const lx_edifact_token *tok, lx_error *err)
{
    int rc = end_group(r, diags, tok, err);
    if (rc == 0 && r->ic_open && r->ic_has_unb)
        rc = envelope(r, diags, LX_EDIFACT_UC_MISSING, tok, 0,
                      tok ? "UNZ missing before this segment"
                          : "UNZ missing at the end of input",
                      err);
    r->ic_open = 0;
    r->icref[0] = '\0';
    return rc;
}

static void open_interchange(lx_edifact_reader *r, int has_unb)
{
    r->ic_open = 1;
    r->ic_has_unb = has_unb;
    r->ic_has_una = r->lx.una_pending;
    r->lx.una_pending = 0;
    r->ic_has_groups = 0;
    r->ic_messages = 0;
    r->ic_ung_groups = 0;
    r->unb_missing_said = 0;
    lx_buf_reset(&r->unb);
    if (r->lx.una[0] != '\0') {
        memcpy(r->una, "UNA", 3);
        memcpy(r->una + 3, r->lx.una, 6);
        r->una[9] = '\0';
    }
}

static int ensure_interchange(lx_edifact_reader *r, lx_edifact_diags *diags,
                              const lx_edifact_token *tok, lx_error *err)
{
    if (r->ic_open)
        return 0;
    open_interchange(r, 0);
    r->unb_missing_said = 1;
    return envelope(r, diags, LX_EDIFACT_UC_MISSING, tok, 0,
                    "UNB missing before this segment", err);
}

static int raw(lx_edifact_reader *r, lx_buf *b, size_t from,
               const lx_edifact_token *tok, lx_error *err)
{
    if (lx_buf_append(b, r->win + from, r->lx.pos - from) < 0) {
        (void)lx_error_set(err, LX_ELIMIT,
                           "segment %zu (%s) at line %ld: message or "
                           "envelope segment over its ceiling",
                           r->lx.segment_count, tok->tag, tok->line);
        if (err) {
            err->offset = (long)(r->base + tok->offset);
            err->line = tok->line;
        }
        return LX_ELIMIT;
    }
    return 0;
}

/* A message starts at tok (UNH, or a data segment without UNH). */
static int open_message(lx_edifact_reader *r, lx_edifact_diags *diags,
                        const lx_edifact_token *tok, int with_unh,
                        lx_error *err)
{
    int rc = 0;
    if (!r->group_open && r->ic_has_groups) {
        rc = envelope(r, diags, LX_EDIFACT_UC_NOT_SUPPORTED_HERE, tok, 0,
                      "message outside a functional group", err);
        r->group_open = 1;
        r->group_has_ung = 0;
        r->group_messages = 0;
    }
    if (rc < 0)
        return rc;
    if (r->group_open)
        r->group_messages++;
    else
        r->ic_messages++;
    r->msg_open = 1;
    r->msg_has_unh = with_unh;
    r->body_off = r->base + tok->offset;
    r->body_line = tok->line;
    lx_buf_reset(&r->body);
    return raw(r, &r->body, tok->offset, tok, err);
}

/* ---- one message ----------------------------------------------------- */

static size_t count_lines(const lx_buf *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->len; i++)
        n += b->data[i] == '\n';
    return n;
}

/* Parse [UNA] [UNB] [UNG] + the message's bytes, keep the message's own
 * findings (positions mapped back to the input) and shape the tree. */
static int emit(lx_edifact_reader *r, const cut *c, lx_edifact_msg **out,
                lx_edifact_diags *diags, lx_error *err)
{
    lx_buf_reset(&r->slice);
    int rc = 0;
    if (r->una[0] != '\0')
        rc = lx_buf_append(&r->slice, r->una, 9);
    if (rc == 0 && r->ic_has_unb)
        rc = lx_buf_append(&r->slice, r->unb.data, r->unb.len);
    if (rc == 0 && r->group_has_ung)
        rc = lx_buf_append(&r->slice, r->ung.data, r->ung.len);
    size_t prefix_len = r->slice.len;
    long prefix_lines = (long)count_lines(&r->slice);
    if (rc == 0)
        rc = lx_buf_append(&r->slice, r->body.data, r->body.len);
    if (rc < 0)
        return lx_error_set(err, LX_ELIMIT, "message too large");
    r->msg_open = 0;

    lx_edifact_options o = r->popts;
    o.flags |= LX_EDIFACT_LENIENT;
    o.max_len = r->slice.len;
    lx_edifact_diags *found = &r->found;
    found->count = 0;
    found->dropped = 0;
    lx_edifact_msg *doc = NULL;
    rc = lx_edifact_parse_msg(r->slice.data, r->slice.len, &o, r->scratch,
                              &doc, found, err);
    if (rc < 0) {
        if (err && err->offset >= (long)prefix_len)
            err->offset = (long)r->body_off + (err->offset - (long)prefix_len);
        return rc;
    }
    lx_edifact_diag fail;
    int has_fail = 0;
    for (size_t i = 0; i < found->count; i++) {
        lx_edifact_diag dg = found->items[i];
        if (dg.offset >= (long)r->slice.len) {
            /* The slice ends where the input went on: only the missing
             * UNT is real; it is located at the segment that cut it. */
            if (strcmp(dg.msg, "UNT missing before this segment") != 0)
                continue;
            dg.offset = c->offset;
            dg.line = c->line;
            memcpy(dg.segment_tag, c->tag, sizeof dg.segment_tag);
        } else if (dg.offset >= 0 && dg.offset < (long)prefix_len) {
            continue; /* UNB/UNG findings: reported at UNB/UNG */
        } else if (strcmp(dg.msg, "UNB missing before this segment") == 0) {
            continue; /* reported by the reader, once per interchange */
        } else {
            if (dg.offset >= 0)
                dg.offset = (long)r->body_off + (dg.offset - (long)prefix_len);
            if (dg.line > 0)
                dg.line = r->body_line + (dg.line - 1 - prefix_lines);
        }
        lx_edifact_diags_add(diags, &dg);
        if (dg.is_envelope && !has_fail) {
            fail = dg;
            has_fail = 1;
        }
    }

    json_t *tree = lx_edifact_msg_root(doc);
    json_t *ic = json_array_get(json_object_get(tree, "interchanges"), 0);
    if (!r->ic_has_una)
        json_object_del(ic, "UNA");
    if (r->group_open && !r->group_has_ung) {
        /* A message outside a group in an interchange that has groups
         * sits in a group without UNG, as the parser places it. */
        json_t *g = json_pack("{s:O}", "messages",
                              json_object_get(ic, "messages"));
        json_object_del(ic, "messages");
        json_object_set_new(ic, "groups", json_pack("[o]", g));
    }
    if (has_fail && !(r->popts.flags & LX_EDIFACT_LENIENT)) {
        lx_edifact_msg_destroy(&doc);
        return strict_fail(&fail, err);
    }
    *out = doc;
    return 0;
}

/* Envelope segments close an open message first: the message is handed
 * out and the segment handled on the next call. */
static int is_envelope_tag(const char *t)
{
    return t[0] == 'U' && t[1] == 'N' && t[3] == '\0' &&
           (t[2] == 'B' || t[2] == 'Z' || t[2] == 'G' || t[2] == 'E' ||
            t[2] == 'H');
}

static int on_segment(lx_edifact_reader *r, lx_edifact_token *tok,
                      size_t start, lx_edifact_msg **out, lx_edifact_diags *diags,
                      lx_error *err)
{
    const char *t = tok->tag;
    r->seen_any = 1;
    if (r->msg_open) {
        int is_unt = t[0] == 'U' && t[1] == 'N' && t[2] == 'T' && t[3] == '\0';
        if (!is_envelope_tag(t) && !(is_unt && !r->msg_has_unh)) {
            int rc = raw(r, &r->body, start, tok, err);
            if (rc < 0 || !is_unt)
                return rc;
            cut none = {0, 0, ""};
            return emit(r, &none, out, diags, err);
        }
        /* Cut: keep the segment for the next call. */
        cut c;
        c.offset = (long)(r->base + tok->offset);
        c.line = tok->line;
        memcpy(c.tag, tok->tag, sizeof c.tag);
        r->pending = *tok;
        r->pending_start = start;
        r->has_pending = 1;
        tok->elements = NULL;
        return emit(r, &c, out, diags, err);
    }
    int rc = 0;
    if (strcmp(t, "UNB") == 0) {
        rc = end_interchange(r, diags, tok, err);
        if (rc < 0)
            return rc;
        open_interchange(r, 1);
        rc = raw(r, &r->unb, tok->offset, tok, err);
        if (rc < 0)
            return rc;
        copy_ref(r->icref, tok->elements, 4);
        int v = r->lx.syntax_version;
        if (v < 1 || v > 4)
            return envelope(r, diags, LX_EDIFACT_UC_SYNTAX_VERSION, tok, 1,
                            "syntax version not supported (1 to 4)", err);
        if (r->icref[0] == '\0')
            return envelope(r, diags, LX_EDIFACT_UC_MISSING, tok, 5,
                            "interchange control reference missing", err);
        return 0;
    }
    if (strcmp(t, "UNZ") == 0) {
        rc = end_group(r, diags, tok, err);
        if (rc < 0)
            return rc;
        if (!r->ic_open || !r->ic_has_unb)
            return envelope(r, diags, LX_EDIFACT_UC_NOT_SUPPORTED_HERE, tok,
                            0, "UNZ without UNB", err);
        size_t n = r->ic_has_groups ? r->ic_ung_groups : r->ic_messages;
        if (!count_matches(tok->elements, 0, n))
            rc = envelope(r, diags, LX_EDIFACT_UC_COUNT_MISMATCH, tok, 1,
                          r->ic_has_groups
                              ? "UNZ01 does not match the number of "
                                "functional groups"
                              : "UNZ01 does not match the number of messages",
                          err);
        if (rc == 0 && strcmp(elem0(tok->elements, 1), r->icref) != 0)
            rc = envelope(r, diags, LX_EDIFACT_UC_REFS_DO_NOT_MATCH, tok, 2,
                          "UNZ02 does not match UNB05", err);
        r->ic_open = 0;
        r->icref[0] = '\0';
        return rc;
    }
    if (strcmp(t, "UNG") == 0) {
        rc = ensure_interchange(r, diags, tok, err);
        if (rc == 0)
            rc = end_group(r, diags, tok, err);
        if (rc < 0)
            return rc;
        if (!r->ic_has_groups) {
            r->ic_has_groups = 1;
            if (r->ic_messages > 0) {
                rc = envelope(r, diags, LX_EDIFACT_UC_NOT_SUPPORTED_HERE, tok,
                              0, "messages outside functional groups", err);
                if (rc < 0)
                    return rc;
            }
        }
        r->group_open = 1;
        r->group_has_ung = 1;
        r->group_messages = 0;
        r->ic_ung_groups++;
        lx_buf_reset(&r->ung);
        rc = raw(r, &r->ung, tok->offset, tok, err);
        if (rc < 0)
            return rc;
        copy_ref(r->gref, tok->elements, 4);
        if (r->gref[0] == '\0')
            return envelope(r, diags, LX_EDIFACT_UC_MISSING, tok, 5,
                            "group reference number missing", err);
        return 0;
    }
    if (strcmp(t, "UNE") == 0) {
        if (!r->group_open || !r->group_has_ung)
            return envelope(r, diags, LX_EDIFACT_UC_NOT_SUPPORTED_HERE, tok,
                            0, "UNE without UNG", err);
        if (!count_matches(tok->elements, 0, r->group_messages))
            rc = envelope(r, diags, LX_EDIFACT_UC_COUNT_MISMATCH, tok, 1,
                          "UNE01 does not match the number of messages in "
                          "the group",
                          err);
        if (rc == 0 && strcmp(elem0(tok->elements, 1), r->gref) != 0)
            rc = envelope(r, diags, LX_EDIFACT_UC_REFS_DO_NOT_MATCH, tok, 2,
                          "UNE02 does not match UNG05", err);
        close_group(r);
        return rc;
    }
    if (strcmp(t, "UNH") == 0) {
        rc = ensure_interchange(r, diags, tok, err);
        if (rc == 0)
            rc = open_message(r, diags, tok, 1, err);
        return rc;
    }
    if (strcmp(t, "UNT") == 0)
        return envelope(r, diags, LX_EDIFACT_UC_NOT_SUPPORTED_HERE, tok, 0,
                        "UNT without UNH", err);
    /* A data segment outside a message opens one without UNH; the parse
     * of its bytes reports "UNH missing before this segment". */
    rc = ensure_interchange(r, diags, tok, err);
    if (rc == 0 && !(r->popts.flags & LX_EDIFACT_LENIENT)) {
        lx_edifact_diag dg;
        memset(&dg, 0, sizeof dg);
        dg.code = LX_EDIFACT_UC_MISSING;
        dg.is_envelope = 1;
        memcpy(dg.interchange_ref, r->icref, sizeof dg.interchange_ref);
        memcpy(dg.group_ref, r->gref, sizeof dg.group_ref);
        memcpy(dg.segment_tag, tok->tag, sizeof dg.segment_tag);
        dg.line = tok->line;
        dg.offset = (long)(r->base + tok->offset);
        snprintf(dg.msg, sizeof dg.msg, "UNH missing before this segment");
        lx_edifact_diags_add(diags, &dg);
        return strict_fail(&dg, err);
    }
    if (rc == 0)
        rc = open_message(r, diags, tok, 0, err);
    return rc;
}

static int at_end(lx_edifact_reader *r, lx_edifact_msg **out,
                  lx_edifact_diags *diags, lx_error *err)
{
    if (r->msg_open) {
        cut c;
        c.offset = (long)(r->base + r->lx.pos);
        c.line = r->lx.line;
        c.tag[0] = '\0';
        return emit(r, &c, out, diags, err);
    }
    int rc = end_interchange(r, diags, NULL, err);
    if (rc < 0)
        return rc;
    if (!r->seen_any)
        return lx_error_set(err, LX_ESYNTAX, "no segments in the input");
    return LX_ENOTFOUND;
}

int lx_edifact_reader_next(lx_edifact_reader *r, json_t **msg,
                           lx_edifact_diags *diags, lx_error *err)
{
    LX_ASSERT(msg != NULL);
    *msg = NULL;
    lx_edifact_msg *m = NULL;
    int rc = lx_edifact_reader_next_msg(r, &m, diags, err);
    if (rc == 0) {
        *msg = json_incref(lx_edifact_msg_tree(m));
        lx_edifact_msg_destroy(&m);
    }
    return rc;
}

int lx_edifact_reader_next_msg(lx_edifact_reader *r, lx_edifact_msg **msg,
                               lx_edifact_diags *diags, lx_error *err)
{
    LX_ASSERT(r != NULL && msg != NULL);
    *msg = NULL;
    if (r->rc < 0) {
        if (r->rc == LX_ENOTFOUND)
            return lx_error_set(err, LX_ENOTFOUND, "end of EDIFACT input");
        return lx_error_set(err, r->rc, "EDIFACT reader failed before");
    }
    int rc = 0;
    for (;;) {
        lx_edifact_token tok;
        size_t start;
        if (r->has_pending) {
            tok = r->pending;
            start = r->pending_start;
            r->has_pending = 0;
            rc = 1;
        } else {
            rc = next_segment(r, &tok, &start, err);
        }
        if (rc == 0) {
            rc = at_end(r, msg, diags, err);
            if (rc == LX_ENOTFOUND)
                (void)lx_error_set(err, LX_ENOTFOUND,
                                   "end of EDIFACT input");
            break;
        }
        if (rc < 0)
            break;
        rc = on_segment(r, &tok, start, msg, diags, err);
        json_decref(tok.elements);
        if (rc < 0 || *msg)
            break;
    }
    if (rc < 0)
        r->rc = rc;
    return rc;
}
