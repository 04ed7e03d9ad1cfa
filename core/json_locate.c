/* core/json_locate.c: lx_json_locate (see json.h).
 *
 * A forward-only scanner, not a parser: the text was already accepted by
 * jansson, so this only follows the pointer through it. It never recurses
 * (a skipped container is counted through, not descended into) and checks
 * every index against len, so garbage or truncated text ends in
 * LX_ENOTFOUND, never in a read out of bounds. */
#include "core/json.h"
#include "core/json_int.h"
#include "core/utf8.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef struct scanner {
    const unsigned char *s;
    size_t len;
    size_t pos;
} scanner;

/* RFC 8259 section 2: insignificant whitespace is exactly these four. */
static void skip_ws(scanner *sc)
{
    while (sc->pos < sc->len) {
        unsigned char c = sc->s[sc->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        sc->pos++;
    }
}

/* Consume c (after whitespace) or fail. */
static bool expect(scanner *sc, unsigned char c)
{
    skip_ws(sc);
    if (sc->pos >= sc->len || sc->s[sc->pos] != c)
        return false;
    sc->pos++;
    return true;
}

/* The reference token being matched: pointer[0..len) still carrying its
 * RFC 6901 escapes ("~0" is '~', "~1" is '/'), read one byte at a time. */
typedef struct token {
    const char *p;
    size_t len;
    size_t at;
} token;

/* Next unescaped byte of the token, or -1 at its end. */
static int token_next(token *t)
{
    if (t->at >= t->len)
        return -1;
    unsigned char c = (unsigned char)t->p[t->at++];
    if (c == '~') {
        /* Validated by check_pointer: always followed by '0' or '1'. */
        c = t->p[t->at++] == '0' ? '~' : '/';
    }
    return c;
}

/* Four hex digits at s[pos..pos+4), or -1. */
static long hex4(const scanner *sc, size_t pos)
{
    uint32_t v;
    if (pos > sc->len || sc->len - pos < 4 ||
        lx_json_hex4(sc->s + pos, &v) != 0)
        return -1;
    return (long)v;
}

/* Scan the string whose opening quote is at sc->pos, leaving sc->pos after
 * the closing quote. When t is not NULL, also decode the string's escapes
 * (RFC 8259 section 7, "\u00e9" and surrogate pairs like "\ud83d\ude00"
 * included) and compare the result with the token: *equal says whether
 * they are the same bytes. Returns false on an unterminated string. */
static bool scan_string(scanner *sc, token *t, bool *equal)
{
    bool same = true;
    sc->pos++; /* the opening quote */
    while (sc->pos < sc->len) {
        unsigned char c = sc->s[sc->pos];
        unsigned char bytes[4];
        size_t n = 0;
        if (c == '"') {
            sc->pos++;
            if (t) {
                if (token_next(t) != -1)
                    same = false;
                *equal = same;
            }
            return true;
        }
        if (c != '\\') {
            bytes[n++] = c;
            sc->pos++;
        } else {
            if (sc->pos + 1 >= sc->len)
                return false;
            unsigned char e = sc->s[sc->pos + 1];
            sc->pos += 2;
            switch (e) {
            case 'b': bytes[n++] = '\b'; break;
            case 'f': bytes[n++] = '\f'; break;
            case 'n': bytes[n++] = '\n'; break;
            case 'r': bytes[n++] = '\r'; break;
            case 't': bytes[n++] = '\t'; break;
            case 'u': {
                long hi = hex4(sc, sc->pos);
                if (hi < 0) {
                    same = false; /* jansson would not have accepted it */
                    break;
                }
                sc->pos += 4;
                unsigned long cp = (unsigned long)hi;
                if (hi >= 0xD800 && hi <= 0xDBFF && sc->pos + 1 < sc->len &&
                    sc->s[sc->pos] == '\\' && sc->s[sc->pos + 1] == 'u') {
                    long lo = hex4(sc, sc->pos + 2);
                    if (lo >= 0xDC00 && lo <= 0xDFFF) {
                        cp = 0x10000 + (((unsigned long)hi - 0xD800) << 10) +
                             ((unsigned long)lo - 0xDC00);
                        sc->pos += 6;
                    }
                }
                if (cp >= 0xD800 && cp <= 0xDFFF)
                    same = false; /* a lone surrogate has no UTF-8 form */
                else
                    n = lx_utf8_put((uint32_t)cp, bytes);
                break;
            }
            default: bytes[n++] = e; break; /* '"', '\\', '/' */
            }
        }
        if (t && same)
            for (size_t i = 0; i < n; i++)
                if (token_next(t) != bytes[i]) {
                    same = false;
                    break;
                }
    }
    return false;
}

/* Skip the value starting at sc->pos (after whitespace). Containers are
 * skipped by counting brackets outside strings, so no depth limit is
 * needed. Returns false when the text ends first. */
static bool skip_value(scanner *sc)
{
    skip_ws(sc);
    if (sc->pos >= sc->len)
        return false;
    unsigned char c = sc->s[sc->pos];
    if (c == '"')
        return scan_string(sc, NULL, NULL);
    if (c == '{' || c == '[') {
        size_t depth = 0;
        while (sc->pos < sc->len) {
            c = sc->s[sc->pos];
            if (c == '"') {
                if (!scan_string(sc, NULL, NULL))
                    return false;
                continue;
            }
            sc->pos++;
            if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (--depth == 0)
                    return true;
            }
        }
        return false;
    }
    /* A number or a literal: runs to the next delimiter. */
    size_t start = sc->pos;
    while (sc->pos < sc->len) {
        c = sc->s[sc->pos];
        if (c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' ||
            c == '\n' || c == '\r' || c == '"' || c == '{' || c == '[' ||
            c == ':')
            break;
        sc->pos++;
    }
    return sc->pos > start;
}

/* RFC 6901 section 4: '~' must be followed by '0' or '1'. */
static bool check_pointer(const char *pointer)
{
    if (pointer[0] != '\0' && pointer[0] != '/')
        return false;
    for (const char *p = pointer; *p; p++)
        if (*p == '~' && p[1] != '0' && p[1] != '1')
            return false;
    return true;
}

/* RFC 6901 section 4: an array index is "0" or digits without a leading
 * zero; "-" (past the end) and anything else never resolve. */
static bool parse_index(const char *p, size_t len, size_t *out)
{
    if (len == 0 || (len > 1 && p[0] == '0'))
        return false;
    size_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        size_t d = (size_t)(p[i] - '0');
        if (v > (SIZE_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Find member `t` in the object whose '{' is at sc->pos; on success
 * sc->pos is at the member's value. */
static bool find_member(scanner *sc, token *t)
{
    sc->pos++; /* '{' */
    skip_ws(sc);
    if (sc->pos < sc->len && sc->s[sc->pos] == '}')
        return false;
    for (;;) {
        skip_ws(sc);
        if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
            return false;
        t->at = 0;
        bool equal = false;
        if (!scan_string(sc, t, &equal) || !expect(sc, ':'))
            return false;
        skip_ws(sc);
        if (equal)
            return sc->pos < sc->len;
        if (!skip_value(sc))
            return false;
        skip_ws(sc);
        if (sc->pos >= sc->len || sc->s[sc->pos] != ',')
            return false; /* '}' ends the object; anything else is garbage */
        sc->pos++;
    }
}

/* Find element `index` in the array whose '[' is at sc->pos. */
static bool find_element(scanner *sc, size_t index)
{
    sc->pos++; /* '[' */
    skip_ws(sc);
    if (sc->pos < sc->len && sc->s[sc->pos] == ']')
        return false;
    for (size_t i = 0;; i++) {
        skip_ws(sc);
        if (i == index)
            return sc->pos < sc->len;
        if (!skip_value(sc))
            return false;
        skip_ws(sc);
        if (sc->pos >= sc->len || sc->s[sc->pos] != ',')
            return false;
        sc->pos++;
    }
}

/* Line and column of s[pos] the way jansson counts them (load.c,
 * stream_get): lines end at '\n' only, and the column counts characters,
 * that is bytes that start a UTF-8 sequence, so "é" is one column. */
static void position(const unsigned char *s, size_t pos, long *line,
                     long *column)
{
    long l = 1, c = 1;
    for (size_t i = 0; i < pos; i++) {
        if (s[i] == '\n') {
            l++;
            c = 1;
        } else if (s[i] < 0x80 || (s[i] >= 0xC2 && s[i] <= 0xF4)) {
            c++;
        }
    }
    *line = l;
    *column = c;
}

int lx_json_locate(const char *text, size_t len, const char *pointer,
                   long *line, long *column)
{
    LX_ASSERT(line && column);
    *line = 0;
    *column = 0;
    if (!text || !pointer || !check_pointer(pointer))
        return LX_EINVAL;

    scanner sc = {(const unsigned char *)text, len, 0};
    skip_ws(&sc);
    if (sc.pos >= sc.len)
        return LX_ENOTFOUND;

    const char *p = pointer;
    while (*p == '/') {
        const char *start = p + 1;
        const char *end = strchr(start, '/');
        if (!end)
            end = start + strlen(start);
        token t = {start, (size_t)(end - start), 0};
        unsigned char c = sc.s[sc.pos];
        bool found;
        if (c == '{') {
            found = find_member(&sc, &t);
        } else if (c == '[') {
            size_t index;
            found = parse_index(t.p, t.len, &index) &&
                    find_element(&sc, index);
        } else {
            found = false;
        }
        if (!found)
            return LX_ENOTFOUND;
        p = end;
    }
    position(sc.s, sc.pos, line, column);
    return 0;
}
