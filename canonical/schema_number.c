/* canonical/schema_number.c: exact number comparison, multipleOf and
 * number-aware equality for the schema validator.
 *
 * JSON Schema numbers are mathematical values (2020-12 core, section
 * 4.2.2): 1 and 1.0 are the same number, and 1.0 is an integer. jansson
 * keeps integers as json_int_t and the rest as double, so every
 * comparison here handles the four combinations without losing precision
 * above 2^53. */
#include "canonical/schema_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -1, 0, 1 as i <, =, > d, exactly. d is finite (JSON has no NaN/inf). */
static int cmp_int_double(json_int_t i, double d)
{
    /* 2^63 is exactly representable; every json_int_t is below it. */
    if (d >= 9223372036854775808.0)
        return -1;
    if (d < -9223372036854775808.0)
        return 1;
    double t = trunc(d);
    json_int_t ti = (json_int_t)t; /* exact: |t| < 2^63 */
    if (i < ti)
        return -1;
    if (i > ti)
        return 1;
    double frac = d - t;
    return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

static int cmp_double(double a, double b) { return a < b ? -1 : a > b; }

void sc_num_from_json(const json_t *v, sc_num *out)
{
    out->is_set = true;
    if (json_is_integer(v)) {
        out->is_int = true;
        out->i = json_integer_value(v);
        out->d = (double)out->i;
    } else {
        out->is_int = false;
        out->i = 0;
        out->d = json_real_value(v);
    }
}

int sc_num_cmp(const json_t *v, const sc_num *n)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (n->is_int)
            return i < n->i ? -1 : i > n->i;
        return cmp_int_double(i, n->d);
    }
    double d = json_real_value(v);
    if (n->is_int)
        return -cmp_int_double(n->i, d);
    return cmp_double(d, n->d);
}

int sc_json_num_cmp(const json_t *a, const json_t *b)
{
    sc_num n;
    sc_num_from_json(b, &n);
    return sc_num_cmp(a, &n);
}

bool sc_is_integer(const json_t *v)
{
    if (json_is_integer(v))
        return true;
    if (!json_is_real(v))
        return false;
    double d = json_real_value(v);
    return isfinite(d) && d == trunc(d);
}

/* The decimal a user typed is recovered from the double: 15 significant
 * digits always round-trip a decimal of at most 15 digits (DBL_DIG), and
 * 17 digits round-trip any double. Example: 0.0075 -> 75 * 10^-4. */
bool sc_dec_from_double(double d, sc_dec *out)
{
    if (!isfinite(d))
        return false;
    char buf[64];
    int prec = 14;
    snprintf(buf, sizeof(buf), "%.*e", prec, d);
    if (strtod(buf, NULL) != d) {
        prec = 16;
        snprintf(buf, sizeof(buf), "%.*e", prec, d);
    }
    /* buf is [-]D.DDDDe[+-]X */
    const char *p = buf;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    int64_t m = 0;
    int digits = 0;
    for (; *p && *p != 'e'; p++) {
        if (*p == '.')
            continue;
        m = m * 10 + (*p - '0');
        digits++;
    }
    if (*p != 'e')
        return false;
    long ex = strtol(p + 1, NULL, 10);
    int e = (int)ex - (digits - 1);
    if (m == 0) {
        e = 0;
    } else {
        while (m % 10 == 0) {
            m /= 10;
            e++;
        }
    }
    out->m = neg ? -m : m;
    out->e = e;
    return true;
}

/* (r * 10) mod m without overflow for any m < 2^63. */
static uint64_t mul10_mod(uint64_t r, uint64_t m)
{
    uint64_t acc = 0;
    for (int k = 0; k < 10; k++) {
        acc += r;
        if (acc >= m)
            acc -= m;
    }
    return acc;
}

/* Is X * 10^a a multiple of M * 10^b (X, M > 0, M < 2^63)? */
static bool dec_multiple(uint64_t x, int a, uint64_t m, int b)
{
    int k = a - b;
    if (k >= 0) {
        uint64_t r = x % m;
        for (int j = 0; j < k && r != 0; j++)
            r = mul10_mod(r, m);
        return r == 0;
    }
    /* x / (m * 10^-k): the divisor must not exceed x. */
    uint64_t div = m;
    for (int j = 0; j < -k; j++) {
        if (div > x / 10)
            return false;
        div *= 10;
    }
    return x % div == 0;
}

static uint64_t uabs64(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

bool sc_is_multiple(const json_t *v, const sc_num *div, const sc_dec *dd)
{
    if (json_is_integer(v) && div->is_int)
        return json_integer_value(v) % div->i == 0;

    double x = json_is_integer(v) ? (double)json_integer_value(v)
                                  : json_real_value(v);
    if (x == 0)
        return true;
    /* Cheap rejection: when the true quotient is an integer N, the double
     * quotient is within a few ulps of N; far from any integer means no. */
    double q = x / div->d;
    if (isfinite(q) && fabs(q) < 1e15 &&
        fabs(q - nearbyint(q)) > 1e-9 * fmax(1.0, fabs(q)))
        return false;

    uint64_t xm;
    int xe;
    if (json_is_integer(v)) {
        xm = uabs64(json_integer_value(v));
        xe = 0;
    } else {
        sc_dec xd;
        if (!sc_dec_from_double(x, &xd))
            return false;
        xm = uabs64(xd.m);
        xe = xd.e;
    }
    return dec_multiple(xm, xe, uabs64(dd->m), dd->e);
}

static bool equal_depth(const json_t *a, const json_t *b, int depth,
                        bool *too_deep)
{
    if (json_is_number(a) && json_is_number(b))
        return sc_json_num_cmp(a, b) == 0;
    if (json_typeof(a) != json_typeof(b))
        return false;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b),
                      json_string_length(a)) == 0;
    case JSON_ARRAY: {
        size_t n = json_array_size(a);
        if (n != json_array_size(b))
            return false;
        if (n && depth >= LX_SCHEMA_DEPTH_MAX) {
            *too_deep = true;
            return false;
        }
        for (size_t i = 0; i < n; i++)
            if (!equal_depth(json_array_get(a, i),
                                     json_array_get(b, i), depth + 1,
                                     too_deep))
                return false;
        return true;
    }
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b))
            return false;
        if (json_object_size(a) && depth >= LX_SCHEMA_DEPTH_MAX) {
            *too_deep = true;
            return false;
        }
        /* jansson's iterators take a non-const object; they only read. */
        json_t *oa = (json_t *)a;
        for (void *it = json_object_iter(oa); it;
             it = json_object_iter_next(oa, it)) {
            const json_t *vb =
                json_object_getn(b, json_object_iter_key(it),
                                 json_object_iter_key_len(it));
            if (!vb || !equal_depth(json_object_iter_value(it), vb,
                                            depth + 1, too_deep))
                return false;
        }
        return true;
    }
    default: /* true, false, null */
        return true;
    }
}

bool sc_json_equal(const json_t *a, const json_t *b, bool *too_deep)
{
    return equal_depth(a, b, 0, too_deep);
}

static uint64_t mix(uint64_t h)
{
    /* splitmix64 finalizer */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t hash_depth(const json_t *v, int depth, bool *too_deep)
{
    switch (json_typeof(v)) {
    case JSON_INTEGER:
    case JSON_REAL: {
        /* Equal numbers have equal doubles (1 and 1.0); unequal ones may
         * collide, which only costs a comparison. */
        double d = json_is_integer(v) ? (double)json_integer_value(v)
                                      : json_real_value(v);
        if (d == 0)
            d = 0; /* -0.0 */
        uint64_t bits;
        memcpy(&bits, &d, sizeof(bits));
        return mix(bits ^ 0x1);
    }
    case JSON_STRING:
        return mix(hash_bytes(json_string_value(v), json_string_length(v)) ^
                   0x2);
    case JSON_ARRAY: {
        if (depth >= LX_SCHEMA_DEPTH_MAX) {
            *too_deep = true;
            return 0;
        }
        uint64_t h = 0x3;
        for (size_t i = 0; i < json_array_size(v); i++)
            h = mix(h + hash_depth(json_array_get(v, i), depth + 1,
                                   too_deep));
        return h;
    }
    case JSON_OBJECT: {
        if (depth >= LX_SCHEMA_DEPTH_MAX) {
            *too_deep = true;
            return 0;
        }
        uint64_t h = 0x4;
        json_t *o = (json_t *)v; /* iteration only reads */
        for (void *it = json_object_iter(o); it;
             it = json_object_iter_next(o, it)) {
            uint64_t kh = hash_bytes(json_object_iter_key(it),
                                     json_object_iter_key_len(it));
            /* Sum: member order must not matter. */
            h += mix(kh ^ hash_depth(json_object_iter_value(it), depth + 1,
                                     too_deep));
        }
        return mix(h);
    }
    case JSON_TRUE:
        return 0x5;
    case JSON_FALSE:
        return 0x6;
    default:
        return 0x7;
    }
}

uint64_t sc_json_hash(const json_t *v, bool *too_deep)
{
    return hash_depth(v, 0, too_deep);
}
