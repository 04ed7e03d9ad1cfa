/* core/json_read.c: the in-place JSON reader behind lx_json_parse
 * (core/json_int.h).
 *
 * A recursive descent over RFC 8259 JSON that gives up (returns NULL) at
 * the first thing it does not handle or that is not valid; lx_json_parse
 * then hands the text to jansson (lx_json_parse_jansson), which either
 * reports the error or (for the few valid inputs left to it) parses it.
 * So this file never has to
 * reproduce jansson's error messages, only its successful results. */
#include "core/json_int.h"

#include "core/json.h"
#include "core/utf8.h"
#include "core/mem.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
    const unsigned char *p, *end;
} reader;

/* JSON white space (RFC 8259 section 2): space, tab, LF, CR. */
static void skip_ws(reader *r)
{
    while (r->p < r->end &&
           (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

int lx_json_hex4(const unsigned char *s, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        *v = (*v << 4) | d;
    }
    return 0;
}

/* A decoded string: a view into the input, or `heap` (the caller frees)
 * when it had escapes. */
typedef struct str {
    const char *s;
    size_t len;
    unsigned char *heap;
} str;

/* Decode the escapes of the string body [from, to) into a new buffer.
 * The body is known to hold no '"' but the escaped ones, no control
 * character and only valid UTF-8. Escaped text is never longer than its
 * source (\uXXXX: 6 bytes for at most 3; a surrogate pair: 12 for 4). */
static int unescape(const unsigned char *from, const unsigned char *to,
                    str *out)
{
    unsigned char *o = lx_xmalloc((size_t)(to - from) + 1);
    size_t n = 0;
    for (const unsigned char *s = from; s < to;) {
        if (*s != '\\') {
            o[n++] = *s++;
            continue;
        }
        s++;
        unsigned char c = *s++;
        switch (c) {
        case '"': o[n++] = '"'; break;
        case '\\': o[n++] = '\\'; break;
        case '/': o[n++] = '/'; break;
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case 'n': o[n++] = '\n'; break;
        case 'r': o[n++] = '\r'; break;
        case 't': o[n++] = '\t'; break;
        case 'u': {
            uint32_t v, lo;
            if (to - s < 4 || lx_json_hex4(s, &v) != 0)
                goto bad;
            s += 4;
            /* \u0000 is left to jansson (JSON_ALLOW_NUL: allowed in
             * values, refused in keys). */
            if (v == 0 || (v >= 0xDC00 && v <= 0xDFFF))
                goto bad;
            if (v >= 0xD800 && v <= 0xDBFF) {
                if (to - s < 6 || s[0] != '\\' || s[1] != 'u' ||
                    lx_json_hex4(s + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
                    goto bad;
                s += 6;
                v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
            }
            n += lx_utf8_put(v, o + n);
            break;
        }
        default:
            goto bad;
        }
    }
    o[n] = '\0';
    out->s = (const char *)o;
    out->len = n;
    out->heap = o;
    return 0;
bad:
    free(o);
    return -1;
}

/* Bytes that stand for themselves inside a string: printable ASCII but
 * '"' and '\\'. */
static const bool plain[256] = {
#define P(c) [c] = (c) >= 0x20 && (c) != '"' && (c) != '\\' && (c) < 0x80
#define P8(c)                                                                \
    P(c), P(c + 1), P(c + 2), P(c + 3), P(c + 4), P(c + 5), P(c + 6), P(c + 7)
    P8(0x20), P8(0x28), P8(0x30), P8(0x38), P8(0x40), P8(0x48), P8(0x50),
    P8(0x58), P8(0x60), P8(0x68), P8(0x70), P8(0x78),
#undef P8
#undef P
};

/* The string starting after its opening quote. */
static int read_string(reader *r, str *out)
{
    const unsigned char *start = r->p;
    bool escaped = false;
    for (;;) {
        /* Plain ASCII runs are the common case: one lookup per byte. */
        while (r->p < r->end && plain[*r->p])
            r->p++;
        if (r->p >= r->end)
            return -1;
        unsigned c = *r->p;
        if (c == '"')
            break;
        if (c == '\\') {
            if (r->end - r->p < 2)
                return -1;
            escaped = true;
            r->p += 2; /* the escaped character is checked by unescape */
            continue;
        }
        if (c < 0x20)
            return -1; /* a raw control character */
        uint32_t cp;
        size_t n = lx_utf8_next(r->p, r->end, &cp);
        if (n == 0)
            return -1;
        r->p += n;
    }
    const unsigned char *stop = r->p;
    r->p++; /* the closing quote */
    out->heap = NULL;
    if (!escaped) {
        out->s = (const char *)start;
        out->len = (size_t)(stop - start);
        return 0;
    }
    return unescape(start, stop, out);
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? (RFC 8259 section 6):
 * an integer without fraction or exponent, as jansson tells them. */
static json_t *read_number(reader *r)
{
    const unsigned char *start = r->p;
    bool neg = false;
    if (*r->p == '-') {
        neg = true;
        r->p++;
    }
    if (r->p >= r->end)
        return NULL;
    const unsigned char *digits = r->p;
    if (*r->p == '0') {
        r->p++;
    } else if (*r->p >= '1' && *r->p <= '9') {
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    } else {
        return NULL;
    }
    size_t ndigits = (size_t)(r->p - digits);
    bool real = false;
    if (r->p < r->end && *r->p == '.') {
        real = true;
        r->p++;
        const unsigned char *f = r->p;
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
        if (r->p == f)
            return NULL;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        real = true;
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
            r->p++;
        const unsigned char *e = r->p;
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
        if (r->p == e)
            return NULL;
    }
    if (!real) {
        /* 18 digits always fit a json_int_t (long long); longer ones are
         * left to jansson, which refuses what overflows. */
        if (ndigits > 18)
            return NULL;
        json_int_t v = 0;
        for (size_t i = 0; i < ndigits; i++)
            v = v * 10 + (digits[i] - '0');
        return json_integer(neg ? -v : v);
    }
    /* strtod needs a NUL-terminated text, and reads '.' only in a locale
     * whose decimal point it is (jansson substitutes the locale's): a
     * number it does not read whole is left to jansson. */
    char text[64];
    size_t len = (size_t)(r->p - start);
    if (len >= sizeof(text))
        return NULL;
    memcpy(text, start, len);
    text[len] = '\0';
    char *end = NULL;
    double d = strtod(text, &end);
    if (end != text + len || isinf(d))
        return NULL; /* or jansson: "real number overflow" */
    return json_real(d);
}

static bool literal(reader *r, const char *word, size_t n)
{
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return false;
    r->p += n;
    return true;
}

static json_t *read_value(reader *r, int depth);

/* Keys of one object compared one by one before jansson's hash is asked:
 * FHIR objects have a handful of keys, and a few length compares cost
 * less than a hash lookup. */
#define KEYS_TRACKED 16

static json_t *read_object(reader *r, int depth)
{
    json_t *obj = json_object();
    const char *keys[KEYS_TRACKED];
    size_t key_lens[KEYS_TRACKED];
    size_t nkeys = 0;
    bool tracked = true; /* every key so far is in keys[] */
    skip_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return obj;
    }
    for (;;) {
        if (r->p >= r->end || *r->p != '"')
            goto bad;
        r->p++;
        str key;
        if (read_string(r, &key) != 0)
            goto bad;
        /* JSON_REJECT_DUPLICATES: jansson reports the duplicate. */
        bool dup = false;
        if (tracked) {
            for (size_t i = 0; i < nkeys && !dup; i++)
                dup = key_lens[i] == key.len &&
                      memcmp(keys[i], key.s, key.len) == 0;
            /* A key decoded from escapes lives only until it is set: the
             * next keys are checked by jansson's hash instead. */
            if (nkeys == KEYS_TRACKED || key.heap) {
                tracked = false;
            } else {
                keys[nkeys] = key.s;
                key_lens[nkeys++] = key.len;
            }
        } else {
            dup = json_object_getn(obj, key.s, key.len) != NULL;
        }
        if (dup) {
            free(key.heap);
            goto bad;
        }
        skip_ws(r);
        json_t *v = NULL;
        if (r->p < r->end && *r->p == ':') {
            r->p++;
            skip_ws(r);
            v = read_value(r, depth);
        }
        if (!v || json_object_setn_new_nocheck(obj, key.s, key.len, v) != 0) {
            free(key.heap);
            goto bad;
        }
        free(key.heap);
        skip_ws(r);
        if (r->p >= r->end)
            goto bad;
        if (*r->p == '}') {
            r->p++;
            return obj;
        }
        if (*r->p != ',')
            goto bad;
        r->p++;
        skip_ws(r);
    }
bad:
    json_decref(obj);
    return NULL;
}

static json_t *read_array(reader *r, int depth)
{
    json_t *arr = json_array();
    skip_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return arr;
    }
    for (;;) {
        json_t *v = read_value(r, depth);
        if (!v || json_array_append_new(arr, v) != 0)
            goto bad;
        skip_ws(r);
        if (r->p >= r->end)
            goto bad;
        if (*r->p == ']') {
            r->p++;
            return arr;
        }
        if (*r->p != ',')
            goto bad;
        r->p++;
        skip_ws(r);
    }
bad:
    json_decref(arr);
    return NULL;
}

/* One value at r->p (white space before it already skipped). */
static json_t *read_value(reader *r, int depth)
{
    if (r->p >= r->end)
        return NULL;
    switch (*r->p) {
    case '{':
    case '[':
        if (depth >= LX_JSON_READ_DEPTH)
            return NULL;
        r->p++;
        return r->p[-1] == '{' ? read_object(r, depth + 1)
                               : read_array(r, depth + 1);
    case '"': {
        r->p++;
        str s;
        if (read_string(r, &s) != 0)
            return NULL;
        json_t *v = json_stringn_nocheck(s.s, s.len);
        free(s.heap);
        return v;
    }
    case 't':
        return literal(r, "true", 4) ? json_true() : NULL;
    case 'f':
        return literal(r, "false", 5) ? json_false() : NULL;
    case 'n':
        return literal(r, "null", 4) ? json_null() : NULL;
    default:
        if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9'))
            return read_number(r);
        return NULL;
    }
}

json_t *lx_json_read(const char *buf, size_t len)
{
    if (buf == NULL)
        return NULL;
    reader r = {(const unsigned char *)buf, (const unsigned char *)buf + len};
    skip_ws(&r);
    json_t *v = read_value(&r, 0);
    skip_ws(&r);
    if (v && r.p == r.end)
        return v;
    json_decref(v);
    return NULL;
}
