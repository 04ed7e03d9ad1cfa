/* core/json_write.c: JSON text byte for byte as jansson's json_dumps
 * writes it, fast (lx_json_write, core/json_int.h).
 *
 * json_dumps(JSON_COMPACT | JSON_SORT_KEYS) costs ~120,000 instructions for
 * a 1 KiB record (a loop check through a hash table per container, a qsort
 * and a malloc per object, a UTF-8 decode and re-encode per character),
 * half the cost of a whole upsert; without the sort ~24,000 for a small
 * FHIR Patient. This writes the very same bytes in a fraction of that:
 * runs of plain characters are copied at once and small objects' keys are
 * sorted on the stack. Reals (each on its own) are written by jansson;
 * anything unusual (invalid UTF-8, nesting deeper than
 * LX_JSON_WRITE_DEPTH_MAX) makes the whole value go to jansson, so the
 * output is always jansson's: content hashes of records stored before stay
 * valid (tests/unit/test_json_write.c compares them). */
#include "core/json_int.h"
#include "core/json.h"
#include "core/mem.h"
#include "core/utf8.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Keys of an object this small are sorted on the stack. */
#define KEYS_ON_STACK 32

/* The text being written: grown by doubling, so each token costs a
 * bounds check and a copy rather than a call. */
typedef struct text {
    char *data;
    size_t len, cap;
} text;

static void reserve(text *t, size_t n)
{
    if (t->cap - t->len >= n)
        return;
    size_t cap = t->cap ? t->cap : 1024;
    while (cap - t->len < n)
        cap *= 2;
    t->data = lx_xrealloc(t->data, cap);
    t->cap = cap;
}

static void put(text *t, const void *p, size_t n)
{
    reserve(t, n);
    memcpy(t->data + t->len, p, n);
    t->len += n;
}

static void put_char(text *t, char c)
{
    reserve(t, 1);
    t->data[t->len++] = c;
}

typedef struct key_ref {
    const char *key;
    size_t len;
    json_t *value;
} key_ref;

/* What a byte is inside a string literal: 0 written as it is (printable
 * ASCII but '"' and '\\'), 1 escaped (those two and the controls), 2 the
 * lead of a UTF-8 sequence (checked, then copied). */
static const unsigned char kind_of[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* Returned (instead of 0) by the writers below for what is left to
 * jansson. */
#define TEXT_FALLBACK 1

/* A string literal as jansson writes it without JSON_ENSURE_ASCII or
 * JSON_ESCAPE_SLASH: '"', '\\' and controls escaped (\b \f \n \r \t, else
 * \u00XX in capitals), everything else as it is. Example: "a\"b\u0001". */
/* Whether the 8 bytes at p are all written as they are, 8 at a time: a
 * byte below 0x20, '"', '\\' or from 0x80 sets its top bit in t. A
 * borrow may flag a plain byte after one of those too, which only sends
 * that word through the byte loop. */
static bool plain8(const unsigned char *p)
{
    const uint64_t ones = 0x0101010101010101u, tops = 0x8080808080808080u;
    uint64_t x;
    memcpy(&x, p, 8);
    uint64_t t = (x - ones * 0x20) | ((x ^ ones * '"') - ones) |
                 ((x ^ ones * '\\') - ones) | x;
    return (t & tops) == 0;
}

static int put_string(text *t, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    put_char(t, '"');
    size_t run = 0;
    for (size_t i = 0; i < n;) {
        if (n - i >= 8 && plain8(s + i)) {
            i += 8;
            continue;
        }
        unsigned char k = kind_of[s[i]];
        if (k == 0) {
            i++;
            continue;
        }
        if (k == 2) {
            uint32_t cp;
            size_t len = lx_utf8_next(s + i, s + n, &cp);
            if (len == 0)
                return TEXT_FALLBACK;
            i += len;
            continue;
        }
        unsigned c = s[i];
        char esc[8] = {'\\', 0};
        size_t el = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc, "\\u00", 4);
            esc[4] = "0123456789ABCDEF"[c >> 4];
            esc[5] = "0123456789ABCDEF"[c & 15];
            el = 6;
        }
        put(t, str + run, i - run);
        put(t, esc, el);
        i++;
        run = i;
    }
    put(t, str + run, n - run);
    put_char(t, '"');
    return 0;
}

static int put_integer(text *b, json_int_t v)
{
    char d[24];
    size_t i = sizeof(d);
    /* Through unsigned arithmetic, so the most negative value works. */
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v
                                  : (unsigned long long)v;
    do {
        d[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        d[--i] = '-';
    put(b, d + i, sizeof(d) - i);
    return 0;
}

/* Reals are rare in records and their shortest round-trip form is
 * jansson's business ("%.17g", ".0" added, exponent trimmed): it writes a
 * real the same wherever it stands. */
static int put_real(text *b, const json_t *v)
{
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!t)
        return TEXT_FALLBACK;
    put(b, t, strlen(t));
    free(t);
    return 0;
}

/* jansson's own order for JSON_SORT_KEYS: bytes, then the shorter first. */
static int key_cmp(const key_ref *a, const key_ref *b)
{
    int r = memcmp(a->key, b->key, a->len < b->len ? a->len : b->len);
    return r ? r : (a->len > b->len) - (a->len < b->len);
}

static int put_value(text *b, const json_t *v, bool sort, int depth);

static int put_object(text *b, const json_t *o, bool sort, int depth)
{
    size_t n = json_object_size(o);
    if (!sort) {
        int rc = 0;
        bool first = true;
        put_char(b, '{');
        for (void *it = json_object_iter((json_t *)o); rc == 0 && it;
             it = json_object_iter_next((json_t *)o, it)) {
            if (!first)
                put_char(b, ',');
            first = false;
            rc = put_string(b, json_object_iter_key(it),
                            json_object_iter_key_len(it));
            put_char(b, ':');
            rc = rc ? rc : put_value(b, json_object_iter_value(it), sort,
                                     depth + 1);
        }
        put_char(b, '}');
        return rc;
    }
    key_ref stack[KEYS_ON_STACK];
    key_ref *keys = n <= KEYS_ON_STACK ? stack : malloc(n * sizeof(*keys));
    if (!keys)
        return TEXT_FALLBACK;
    size_t count = 0;
    for (void *it = json_object_iter((json_t *)o); it && count < n;
         it = json_object_iter_next((json_t *)o, it)) {
        key_ref k = {json_object_iter_key(it), json_object_iter_key_len(it),
                     json_object_iter_value(it)};
        /* Insertion sort: records have a handful of keys per object. */
        size_t j = count++;
        while (j > 0 && key_cmp(&keys[j - 1], &k) > 0) {
            keys[j] = keys[j - 1];
            j--;
        }
        keys[j] = k;
    }
    int rc = 0;
    put_char(b, '{');
    for (size_t i = 0; rc == 0 && i < count; i++) {
        if (i)
            put_char(b, ',');
        rc = put_string(b, keys[i].key, keys[i].len);
        put_char(b, ':');
        rc = rc ? rc : put_value(b, keys[i].value, sort, depth + 1);
    }
    put_char(b, '}');
    if (keys != stack)
        free(keys);
    return rc;
}

static int put_value(text *b, const json_t *v, bool sort, int depth)
{
    if (depth > LX_JSON_WRITE_DEPTH_MAX)
        return TEXT_FALLBACK;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return put_object(b, v, sort, depth);
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        int rc = 0;
        put_char(b, '[');
        for (size_t i = 0; rc == 0 && i < n; i++) {
            if (i)
                put_char(b, ',');
            rc = put_value(b, json_array_get(v, i), sort, depth + 1);
        }
        put_char(b, ']');
        return rc;
    }
    case JSON_STRING:
        return put_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return put_integer(b, json_integer_value(v));
    case JSON_REAL:
        return put_real(b, v);
    case JSON_TRUE:
        put(b, "true", 4);
        return 0;
    case JSON_FALSE:
        put(b, "false", 5);
        return 0;
    case JSON_NULL:
        put(b, "null", 4);
        return 0;
    }
    return TEXT_FALLBACK;
}

char *lx_json_write(const json_t *v, bool sort_keys, size_t *len)
{
    text t = {NULL, 0, 0};
    if (put_value(&t, v, sort_keys, 0) != 0) {
        free(t.data);
        return NULL;
    }
    put_char(&t, '\0');
    if (len)
        *len = t.len - 1;
    return t.data;
}
