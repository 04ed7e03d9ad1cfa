/* adapters/edi/x12_token.c: delimiters from ISA, segments as views. */
#include "adapters/edi/x12.h"

#include <string.h>

const lx_x12_delims lx_x12_delims_default = {'*', '^', ':', '~'};

/* ISA01..ISA16 widths (X12.5 interchange control header). */
static const unsigned char isa_widths[16] = {2,  10, 2, 10, 2, 15, 2, 15,
                                             6,  4,  1, 5, 9,  1, 1, 1};

void lx_x12_tokenizer_init(lx_x12_tokenizer *t, const char *buf, size_t len)
{
    LX_ASSERT(t != NULL && (buf != NULL || len == 0));
    memset(t, 0, sizeof(*t));
    t->buf = buf;
    t->len = len;
    t->delims = lx_x12_delims_default;
}

const lx_x12_delims *lx_x12_tokenizer_delims(const lx_x12_tokenizer *t)
{
    return &t->delims;
}

static int is_blank(char c)
{
    return c == '\r' || c == '\n' || c == ' ' || c == '\t';
}

static int is_alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9');
}

/* Skip line breaks, blanks and "//" comment lines between segments. A
 * blank that is itself a delimiter of the interchange is data, not
 * layout, so it is never skipped. */
static void skip_layout(lx_x12_tokenizer *t)
{
    while (t->pos < t->len) {
        char c = t->buf[t->pos];
        if (is_blank(c) && c != t->delims.element &&
            c != t->delims.segment) {
            t->pos++;
        } else if (c == '/' && t->pos + 1 < t->len &&
                   t->buf[t->pos + 1] == '/') {
            while (t->pos < t->len && t->buf[t->pos] != '\n')
                t->pos++;
        } else {
            break;
        }
    }
}

static int fail(lx_error *err, int code, size_t offset, const char *fmt,
                ...) LX_PRINTF(4, 5);

static int fail(lx_error *err, int code, size_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)lx_error_vset(err, code, fmt, ap);
    va_end(ap);
    if (err)
        err->offset = (long)offset;
    return code;
}

/* ISA is fixed width and its 4th byte sets the element separator for the
 * whole interchange (X12.5), so nothing is tokenized before ISA is read.
 * Example: ISA*00*          *00*          *ZZ*ACMEHR         *... */
static int read_isa(lx_x12_tokenizer *t, lx_error *err)
{
    const char *p = t->buf + t->pos;
    size_t avail = t->len - t->pos;
    size_t at = 3;
    lx_x12_delims d;

    if (avail < 3 || memcmp(p, "ISA", 3) != 0)
        return fail(err, LX_ESYNTAX, t->pos,
                    "segment %zu: expected ISA, the interchange header",
                    t->number + 1);
    if (avail < LX_X12_ISA_LEN)
        return fail(err, LX_ESYNTAX, t->pos,
                    "segment %zu (ISA): interchange header is shorter than "
                    "its fixed %d bytes",
                    t->number + 1, LX_X12_ISA_LEN);
    d.element = p[3];
    if (is_alnum(d.element) || is_blank(d.element))
        return fail(err, LX_ESYNTAX, t->pos + 3,
                    "segment %zu (ISA): element separator must not be a "
                    "letter, digit or blank",
                    t->number + 1);
    for (int i = 0; i < 16; i++) {
        size_t end = at + 1 + isa_widths[i];
        for (size_t k = at + 1; k < end; k++)
            if (p[k] == d.element)
                return fail(err, LX_ESYNTAX, t->pos + k,
                            "segment %zu (ISA) element %d: shorter than its "
                            "fixed width %u",
                            t->number + 1, i + 1, isa_widths[i]);
        if (i < 15 && p[end] != d.element)
            return fail(err, LX_ESYNTAX, t->pos + end,
                        "segment %zu (ISA) element %d: longer than its "
                        "fixed width %u",
                        t->number + 1, i + 1, isa_widths[i]);
        at = end;
    }
    /* Here at == 104, ISA16. The terminator is the byte after it. */
    d.component = p[104];
    d.segment = p[105];
    /* From 00501 on ISA11 is the repetition separator; before, it is the
     * standards identifier 'U' (X12.5 ISA11 / ISA12). */
    d.repetition = is_alnum(p[82]) ? 0 : p[82];
    if (d.component == d.element || d.segment == d.element ||
        d.segment == d.component ||
        (d.repetition != 0 &&
         (d.repetition == d.element || d.repetition == d.component ||
          d.repetition == d.segment)) ||
        is_alnum(d.component) || is_alnum(d.segment))
        return fail(err, LX_ESYNTAX, t->pos + 104,
                    "segment %zu (ISA) element 16: delimiters are not "
                    "distinct non-alphanumeric characters",
                    t->number + 1);
    t->delims = d;
    return 0;
}

int lx_x12_tokenizer_next(lx_x12_tokenizer *t, lx_x12_segment *seg,
                          lx_error *err)
{
    LX_ASSERT(t != NULL && seg != NULL);
    skip_layout(t);
    if (t->pos >= t->len)
        return 0;
    if (!t->in_interchange ||
        (t->len - t->pos >= 4 && memcmp(t->buf + t->pos, "ISA", 3) == 0 &&
         !is_alnum(t->buf[t->pos + 3]))) {
        int rc = read_isa(t, err);
        if (rc < 0)
            return rc;
        t->number = 0;
        t->in_interchange = 1;
    }

    const char *p = t->buf + t->pos;
    size_t avail = t->len - t->pos;
    const char *end = memchr(p, t->delims.segment, avail);
    size_t seg_len = end ? (size_t)(end - p) : avail;
    size_t next = t->pos + seg_len + (end ? 1 : 0);
    if (!end) /* A last segment without its terminator: trim layout. */
        while (seg_len > 0 && is_blank(p[seg_len - 1]))
            seg_len--;

    seg->element_count = 0;
    seg->offset = t->pos;
    seg->number = ++t->number;

    size_t i = 0;
    while (i < seg_len && p[i] != t->delims.element)
        i++;
    seg->id.ptr = p;
    seg->id.len = i;
    int id_ok = i >= 2 && i <= 3;
    for (size_t k = 0; id_ok && k < i; k++)
        id_ok = (p[k] >= 'A' && p[k] <= 'Z') || (p[k] >= '0' && p[k] <= '9');
    if (!id_ok)
        return fail(err, LX_ESYNTAX, t->pos,
                    "segment %zu: segment id is not 2 or 3 upper-case "
                    "letters or digits",
                    seg->number);
    /* The ISA16 element is the component separator itself, so ISA is
     * split on the element separator only, like every segment. */
    while (i < seg_len) {
        size_t start = ++i;
        while (i < seg_len && p[i] != t->delims.element)
            i++;
        if (seg->element_count == LX_X12_ELEMENTS_MAX)
            return fail(err, LX_ELIMIT, t->pos,
                        "segment %zu (%.*s): more than %d elements",
                        seg->number, (int)seg->id.len, seg->id.ptr,
                        LX_X12_ELEMENTS_MAX);
        seg->elements[seg->element_count].ptr = p + start;
        seg->elements[seg->element_count].len = i - start;
        seg->element_count++;
    }
    t->pos = next;
    if (seg->id.len == 3 && memcmp(seg->id.ptr, "IEA", 3) == 0)
        t->in_interchange = 0;
    return 1;
}
