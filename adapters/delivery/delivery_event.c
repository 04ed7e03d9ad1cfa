/* adapters/delivery/delivery_event.c: see delivery_event.h.
 *
 * The lexer follows RFC 8259 and jansson's reading of it (load.c):
 * strings are valid UTF-8 without raw control characters, numbers are
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, integers without a
 * fraction or exponent become json_integer and overflow is an error,
 * a repeated object key replaces the earlier value. Whatever it does not
 * decide itself makes it give up (NULL from parse_value), and the whole
 * text goes to json_loadb: a rare path that keeps jansson's answer,
 * error or tree, for every input. */
#include "adapters/delivery/delivery_event.h"
#include "core/mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH_MAX 64
#define NUMBER_MAX 64

typedef struct lexer {
    const char *p, *end;
} lexer;

static void skip_ws(lexer *l)
{
    while (l->p < l->end &&
           (*l->p == ' ' || *l->p == '\n' || *l->p == '\r' || *l->p == '\t'))
        l->p++;
}

/* Length of the valid UTF-8 sequence starting at p (a byte >= 0x80), 0
 * when invalid: no overlong forms, no surrogates, nothing past U+10FFFF
 * (jansson's utf8_check_first and utf8_check_full). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    uint32_t v;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        v = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        v = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) ||
        (n == 4 && (v < 0x10000 || v > 0x10FFFF)))
        return 0;
    return n;
}

/* The string whose opening quote is at l->p: on success *s and *len are
 * its bytes (decoded into *owned, malloc'd, when it has escapes) and l->p
 * is past the closing quote. \u escapes are left to jansson. */
static bool lex_string(lexer *l, const char **s, size_t *len, char **owned)
{
    const unsigned char *p = (const unsigned char *)l->p + 1;
    const unsigned char *end = (const unsigned char *)l->end;
    const unsigned char *start = p;
    bool escapes = false;
    *owned = NULL;
    for (;;) {
        if (p >= end)
            return false;
        unsigned c = *p;
        if (c == '"')
            break;
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (p + 1 >= end || p[1] == 'u')
                return false;
            escapes = true;
            p += 2;
        } else if (c < 0x80) {
            p++;
        } else {
            size_t n = utf8_len(p, end);
            if (n == 0)
                return false;
            p += n;
        }
    }
    size_t raw = (size_t)(p - start);
    l->p = (const char *)p + 1;
    if (!escapes) {
        *s = (const char *)start;
        *len = raw;
        return true;
    }
    char *out = lx_xmalloc(raw + 1);
    size_t n = 0;
    for (const unsigned char *q = start; q < p; q++) {
        if (*q != '\\') {
            out[n++] = (char)*q;
            continue;
        }
        q++;
        switch (*q) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        default:
            free(out);
            return false;
        }
    }
    out[n] = '\0';
    *owned = out;
    *s = out;
    *len = n;
    return true;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static json_t *lex_number(lexer *l)
{
    const char *start = l->p, *p = l->p;
    if (p < l->end && *p == '-')
        p++;
    if (p >= l->end || !is_digit(*p))
        return NULL;
    if (*p == '0' && p + 1 < l->end && is_digit(p[1]))
        return NULL;
    const char *digits = p;
    while (p < l->end && is_digit(*p))
        p++;
    bool real = false;
    if (p < l->end && *p == '.') {
        real = true;
        p++;
        if (p >= l->end || !is_digit(*p))
            return NULL;
        while (p < l->end && is_digit(*p))
            p++;
    }
    if (p < l->end && (*p == 'e' || *p == 'E')) {
        real = true;
        p++;
        if (p < l->end && (*p == '+' || *p == '-'))
            p++;
        if (p >= l->end || !is_digit(*p))
            return NULL;
        while (p < l->end && is_digit(*p))
            p++;
    }
    l->p = p;
    if (!real) {
        /* Up to 18 digits cannot overflow a long long; longer integers
         * (and jansson's "too big integer") are left to jansson. */
        if (p - digits > 18)
            return NULL;
        long long v = 0;
        for (const char *q = digits; q < p; q++)
            v = v * 10 + (*q - '0');
        return json_integer(*start == '-' ? -v : v);
    }
    char buf[NUMBER_MAX];
    size_t n = (size_t)(p - start);
    if (n >= sizeof(buf))
        return NULL;
    memcpy(buf, start, n);
    buf[n] = '\0';
    /* strtod in the C locale, as jansson's jsonp_strtod reads it; an
     * out-of-range value is jansson's to judge. */
    errno = 0;
    char *tail;
    double v = strtod(buf, &tail);
    if (errno == ERANGE || tail != buf + n)
        return NULL;
    return json_real(v);
}

static bool lex_literal(lexer *l, const char *word, size_t n)
{
    if ((size_t)(l->end - l->p) < n || memcmp(l->p, word, n) != 0)
        return false;
    l->p += n;
    return true;
}

static json_t *parse_value(lexer *l, int depth);

static json_t *parse_object(lexer *l, int depth)
{
    json_t *o = json_object();
    l->p++; /* '{' */
    skip_ws(l);
    if (l->p < l->end && *l->p == '}') {
        l->p++;
        return o;
    }
    for (;;) {
        if (l->p >= l->end || *l->p != '"')
            break;
        const char *key;
        size_t key_len;
        char *owned;
        if (!lex_string(l, &key, &key_len, &owned))
            break;
        skip_ws(l);
        json_t *v = NULL;
        if (l->p < l->end && *l->p == ':') {
            l->p++;
            skip_ws(l);
            v = parse_value(l, depth + 1);
        }
        /* No NUL can be in a key: raw control characters and \u escapes
         * are left to jansson. */
        if (!v || json_object_setn_new_nocheck(o, key, key_len, v) != 0) {
            free(owned);
            break;
        }
        free(owned);
        skip_ws(l);
        if (l->p < l->end && *l->p == ',') {
            l->p++;
            skip_ws(l);
            continue;
        }
        if (l->p < l->end && *l->p == '}') {
            l->p++;
            return o;
        }
        break;
    }
    json_decref(o);
    return NULL;
}

static json_t *parse_array(lexer *l, int depth)
{
    json_t *a = json_array();
    l->p++; /* '[' */
    skip_ws(l);
    if (l->p < l->end && *l->p == ']') {
        l->p++;
        return a;
    }
    for (;;) {
        json_t *v = parse_value(l, depth + 1);
        if (!v || json_array_append_new(a, v) != 0)
            break;
        skip_ws(l);
        if (l->p < l->end && *l->p == ',') {
            l->p++;
            skip_ws(l);
            continue;
        }
        if (l->p < l->end && *l->p == ']') {
            l->p++;
            return a;
        }
        break;
    }
    json_decref(a);
    return NULL;
}

/* The value at l->p (white space already skipped), or NULL: not handled
 * here (the caller gives the whole text to jansson). */
static json_t *parse_value(lexer *l, int depth)
{
    if (l->p >= l->end || depth > DEPTH_MAX)
        return NULL;
    switch (*l->p) {
    case '{':
        return parse_object(l, depth);
    case '[':
        return parse_array(l, depth);
    case '"': {
        const char *s;
        size_t n;
        char *owned;
        if (!lex_string(l, &s, &n, &owned))
            return NULL;
        json_t *v = json_stringn_nocheck(s, n);
        free(owned);
        return v;
    }
    case 't':
        return lex_literal(l, "true", 4) ? json_true() : NULL;
    case 'f':
        return lex_literal(l, "false", 5) ? json_false() : NULL;
    case 'n':
        return lex_literal(l, "null", 4) ? json_null() : NULL;
    default:
        return lex_number(l);
    }
}

json_t *lx_delivery_event_parse(const char *text, size_t len)
{
    lexer l = {text, text + len};
    skip_ws(&l);
    json_t *v = NULL;
    /* jansson without JSON_DECODE_ANY takes an object or an array only. */
    if (l.p < l.end && (*l.p == '{' || *l.p == '['))
        v = parse_value(&l, 0);
    if (v) {
        skip_ws(&l);
        if (l.p == l.end)
            return v;
        json_decref(v);
    }
    return json_loadb(text, len, 0, NULL);
}

/* ---- the cache ---- */

typedef struct entry {
    uint64_t seq;
    json_t *ev;
} entry;

struct lx_delivery_events {
    pthread_mutex_t lock;
    size_t capacity;
    entry *entries; /* entries[seq % capacity] */
};

lx_delivery_events *lx_delivery_events_new(size_t capacity)
{
    lx_delivery_events *c = lx_xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    c->capacity = capacity ? capacity : 1;
    c->entries = lx_xcalloc(c->capacity, sizeof(*c->entries));
    return c;
}

void lx_delivery_events_destroy(lx_delivery_events **cp)
{
    lx_delivery_events *c = *cp;
    if (!c)
        return;
    *cp = NULL;
    for (size_t i = 0; i < c->capacity; i++)
        json_decref(c->entries[i].ev);
    pthread_mutex_destroy(&c->lock);
    free(c->entries);
    free(c);
}

json_t *lx_delivery_events_get(lx_delivery_events *c, uint64_t seq,
                               const char *text, size_t len)
{
    if (!c)
        return lx_delivery_event_parse(text, len);
    entry *e = &c->entries[seq % c->capacity];
    pthread_mutex_lock(&c->lock);
    json_t *ev = e->seq == seq ? json_incref(e->ev) : NULL;
    pthread_mutex_unlock(&c->lock);
    if (ev)
        return ev;
    /* Parsed outside the lock: two deliveries asking at once may both
     * parse; the later simply replaces an equal tree. */
    ev = lx_delivery_event_parse(text, len);
    if (!ev)
        return NULL;
    json_t *old = NULL;
    pthread_mutex_lock(&c->lock);
    if (e->seq <= seq) {
        old = e->ev;
        e->seq = seq;
        e->ev = json_incref(ev);
    }
    pthread_mutex_unlock(&c->lock);
    json_decref(old);
    return ev;
}
