/* adapters/edi/edifact_token.c: service characters and the segment
 * tokenizer (ISO 9735-1 and -4, sections 4 and 7). */
#include "adapters/edi/edifact.h"

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

/* The element being read: components, and its repetitions when the
 * repetition separator occurs. */
typedef struct elem_state {
    json_t *comps;
    json_t *repeats;
} elem_state;

static int push_component(lx_edifact_lexer *lx, elem_state *es, lx_buf *cur,
                          const lx_edifact_token *tok, lx_error *err)
{
    if (json_array_size(es->comps) >= LX_EDIFACT_MAX_COMPONENTS)
        return lex_error(lx, tok->offset, tok->line, LX_ELIMIT, err,
                         "too many components");
    json_array_append_new(es->comps,
                          json_stringn_nocheck(cur->data ? cur->data : "",
                                               cur->len));
    lx_buf_reset(cur);
    return 0;
}

static json_t *finish_element(elem_state *es)
{
    json_t *e;
    if (es->repeats != NULL) {
        json_array_append_new(es->repeats, es->comps);
        e = json_pack("{s:o}", "repeats", es->repeats);
    } else {
        e = es->comps;
    }
    es->comps = json_array();
    es->repeats = NULL;
    return e;
}

static int read_elements(lx_edifact_lexer *lx, lx_edifact_token *tok,
                         lx_error *err)
{
    const lx_edifact_delims *d = &lx->delims;
    lx_buf cur;
    lx_buf_init(&cur, 0);
    elem_state es = {json_array(), NULL};
    int rc = 0;
    /* pos is just after the element separator that follows the tag. */
    for (;;) {
        if (lx->pos >= lx->len) {
            rc = lex_error(lx, tok->offset, tok->line, LX_ESYNTAX, err,
                           "segment not terminated");
            break;
        }
        char c = lx->buf[lx->pos++];
        if (c == '\n')
            lx->line++;
        if (d->release != '\0' && c == d->release) {
            if (lx->pos >= lx->len) {
                rc = lex_error(lx, tok->offset, tok->line, LX_ESYNTAX, err,
                               "release character at the end of input");
                break;
            }
            c = lx->buf[lx->pos++];
            if (c == '\n')
                lx->line++;
            rc = lx_buf_append(&cur, &c, 1);
        } else if (c == d->component) {
            rc = push_component(lx, &es, &cur, tok, err);
        } else if (d->repetition != '\0' && c == d->repetition) {
            rc = push_component(lx, &es, &cur, tok, err);
            if (rc == 0) {
                if (es.repeats == NULL)
                    es.repeats = json_array();
                if (json_array_size(es.repeats) >= LX_EDIFACT_MAX_REPEATS) {
                    rc = lex_error(lx, tok->offset, tok->line, LX_ELIMIT, err,
                                   "too many repetitions");
                } else {
                    json_array_append_new(es.repeats, es.comps);
                    es.comps = json_array();
                }
            }
        } else if (c == d->element || c == d->segment) {
            rc = push_component(lx, &es, &cur, tok, err);
            if (rc == 0 &&
                json_array_size(tok->elements) >= LX_EDIFACT_MAX_ELEMENTS)
                rc = lex_error(lx, tok->offset, tok->line, LX_ELIMIT, err,
                               "too many data elements");
            if (rc == 0)
                json_array_append_new(tok->elements, finish_element(&es));
            if (rc == 0 && c == d->segment)
                break;
        } else {
            rc = lx_buf_append(&cur, &c, 1);
        }
        if (rc != 0)
            break;
    }
    json_decref(es.comps);
    json_decref(es.repeats);
    lx_buf_fini(&cur);
    return rc;
}

/* UNB S001 (syntax identifier:version), e.g. UNB+UNOC:4+... */
static int unb_syntax_version(const json_t *elements)
{
    const json_t *s001 = json_array_get(elements, 0);
    const char *v = json_string_value(json_array_get(s001, 1));
    if (v == NULL || v[0] < '0' || v[0] > '9' || v[1] != '\0')
        return 0;
    return v[0] - '0';
}

int lx_edifact_lexer_next(lx_edifact_lexer *lx, lx_edifact_token *tok,
                          lx_error *err)
{
    LX_ASSERT(lx != NULL && tok != NULL);
    memset(tok, 0, sizeof *tok);
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
    tok->offset = lx->pos;
    tok->line = lx->line;
    size_t n = 0;
    while (lx->pos < lx->len && n < LX_EDIFACT_TAG_MAX &&
           is_alnum_upper(lx->buf[lx->pos]))
        tok->tag[n++] = lx->buf[lx->pos++];
    tok->tag[n] = '\0';
    if (n == 0)
        return lex_error(lx, tok->offset, tok->line, LX_ESYNTAX, err,
                         "segment tag expected (letters or digits)");
    if (lx->pos >= lx->len)
        return lex_error(lx, tok->offset, tok->line, LX_ESYNTAX, err,
                         "segment not terminated");
    char c = lx->buf[lx->pos];
    /* UNB carries the syntax version and never repeats an element, so it
     * is read without a repetition separator whatever came before. */
    if (strcmp(tok->tag, "UNB") == 0)
        lx->delims.repetition = '\0';
    tok->elements = json_array();
    if (c == lx->delims.segment) {
        lx->pos++;
    } else if (c == lx->delims.element) {
        lx->pos++;
        int rc = read_elements(lx, tok, err);
        if (rc != 0) {
            json_decref(tok->elements);
            tok->elements = NULL;
            return rc;
        }
    } else {
        json_decref(tok->elements);
        tok->elements = NULL;
        return lex_error(lx, tok->offset, tok->line, LX_ESYNTAX, err,
                         c == lx->delims.component
                             ? "segment tag with components is not supported"
                             : "segment tag not followed by a separator");
    }
    if (strcmp(tok->tag, "UNB") == 0)
        apply_syntax_version(lx, unb_syntax_version(tok->elements));
    lx->segment_count++;
    return 1;
}
