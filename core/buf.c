/* core/buf.c: see buf.h. */
#include "core/buf.h"
#include "core/mem.h"

#include <stdarg.h>
#include <string.h>

void lx_buf_init(lx_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : SIZE_MAX / 2;
}

void lx_buf_fini(lx_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void lx_buf_reset(lx_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int reserve(lx_buf *b, size_t extra)
{
    if (extra > b->max - b->len)
        return LX_ELIMIT;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    b->data = lx_xrealloc(b->data, cap);
    b->cap = cap;
    return 0;
}

int lx_buf_reserve(lx_buf *b, size_t n)
{
    if (n > b->max - b->len)
        return LX_ELIMIT;
    size_t need = b->len + n + 1;
    if (need > b->cap) {
        b->data = lx_xrealloc(b->data, need);
        b->cap = need;
    }
    return 0;
}

int lx_buf_append(lx_buf *b, const void *p, size_t n)
{
    if (reserve(b, n) != 0)
        return LX_ELIMIT;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int lx_buf_puts(lx_buf *b, const char *s) { return lx_buf_append(b, s, strlen(s)); }

int lx_buf_printf(lx_buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    int rc = n < 0 ? LX_EINVAL : reserve(b, (size_t)n);
    if (rc == 0) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
    return rc;
}

int lx_buf_json_string(lx_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = b->len;
    int rc = lx_buf_append(b, "\"", 1);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[7];
        size_t k = 0;
        switch (c) {
        case '"': esc[k++] = '\\'; esc[k++] = '"'; break;
        case '\\': esc[k++] = '\\'; esc[k++] = '\\'; break;
        case '\n': esc[k++] = '\\'; esc[k++] = 'n'; break;
        case '\r': esc[k++] = '\\'; esc[k++] = 'r'; break;
        case '\t': esc[k++] = '\\'; esc[k++] = 't'; break;
        default:
            if (c < 0x20) {
                memcpy(esc, "\\u00", 4);
                k = 4;
                esc[k++] = hex[c >> 4];
                esc[k++] = hex[c & 15];
            }
        }
        rc = k ? lx_buf_append(b, esc, k) : lx_buf_append(b, s + i, 1);
    }
    if (rc == 0)
        rc = lx_buf_append(b, "\"", 1);
    if (rc != 0) {
        b->len = start;
        if (b->data)
            b->data[start] = '\0';
    }
    return rc;
}

void lx_u64be_put(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

uint64_t lx_u64be_get(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | in[i];
    return v;
}

int lx_buf_u64be(lx_buf *b, uint64_t v)
{
    uint8_t k[8];
    lx_u64be_put(k, v);
    return lx_buf_append(b, k, 8);
}

char *lx_buf_take(lx_buf *b, size_t *len)
{
    if (!b->data) {
        b->data = lx_xmalloc(1);
        b->data[0] = '\0';
    }
    char *d = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}
