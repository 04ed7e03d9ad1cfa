/* adapters/map/map_transform.c: value transforms, both ways.
 *
 * Transforms are written in the "in" sense (native -> canonical); "out"
 * runs the inverse. Messages give the reason only, never the value: the
 * caller prefixes the rule and the source path. */
#include "adapters/map/map_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int need_string(const json_t *in, const char *name, lx_error *err)
{
    if (json_is_string(in))
        return 0;
    return lx_error_set(err, LX_EINVAL, "'%s' needs a string, not %s", name,
                        json_is_object(in)   ? "an object"
                        : json_is_array(in)  ? "an array"
                        : json_is_number(in) ? "a number"
                                             : "a boolean");
}

static int apply_trim(const json_t *in, json_t **out)
{
    const char *s = json_string_value(in);
    size_t len = json_string_length(in);
    size_t b = 0, e = len;
    while (b < e && isspace((unsigned char)s[b]))
        b++;
    while (e > b && isspace((unsigned char)s[e - 1]))
        e--;
    *out = json_stringn_nocheck(s + b, e - b);
    return 0;
}

static int apply_case(const json_t *in, bool upper, json_t **out)
{
    size_t len = json_string_length(in);
    char *d = malloc(len + 1);
    LX_ASSERT(d != NULL);
    const char *s = json_string_value(in);
    /* ASCII only: case rules beyond it depend on the language. */
    for (size_t i = 0; i < len; i++)
        d[i] = (char)(upper ? toupper((unsigned char)s[i])
                            : tolower((unsigned char)s[i]));
    d[len] = '\0';
    *out = json_stringn_nocheck(d, len);
    free(d);
    return 0;
}

static int apply_prefix(const mp_xform *x, lx_map_dir dir, const json_t *in,
                        json_t **out, lx_error *err)
{
    const char *s = json_string_value(in);
    size_t len = json_string_length(in);
    if (dir == LX_MAP_OUT) {
        if (len < x->prefix_len || memcmp(s, x->prefix, x->prefix_len) != 0)
            return lx_error_set(err, LX_EINVAL,
                                "does not start with the prefix '%s'",
                                x->prefix);
        *out = json_stringn_nocheck(s + x->prefix_len, len - x->prefix_len);
        return 0;
    }
    if (len + x->prefix_len > MP_VALUE_MAX)
        return lx_error_set(err, LX_ELIMIT, "value over %zu bytes",
                            MP_VALUE_MAX);
    char *d = malloc(len + x->prefix_len + 1);
    LX_ASSERT(d != NULL);
    memcpy(d, x->prefix, x->prefix_len);
    memcpy(d + x->prefix_len, s, len);
    *out = json_stringn_nocheck(d, len + x->prefix_len);
    free(d);
    return 0;
}

static int apply_date(const mp_xform *x, lx_map_dir dir, const json_t *in,
                      json_t **out, lx_error *err)
{
    const mp_datefmt *from = x->date[MP_SRC(dir)], *to = x->date[MP_DST(dir)];
    mp_datetime dt;
    if (!mp_date_parse(from, json_string_value(in), json_string_length(in),
                       &dt))
        return lx_error_set(err, LX_EINVAL, "not a date in format %s",
                            from->text);
    bool from_zone = from->fields & MP_F_ZONE, to_zone = to->fields & MP_F_ZONE;
    if (to_zone && !from_zone) {
        /* compile made sure "zone" is given */
        dt.has_zone = true;
        dt.zone_min = x->zone_min;
    } else if (from_zone && !to_zone && x->has_zone) {
        mp_date_to_zone(&dt, x->zone_min);
    }
    char buf[64];
    size_t n = mp_date_format(to, &dt, buf, sizeof(buf));
    if (n == 0)
        return lx_error_set(err, LX_EINVAL,
                            "date out of the range of format %s", to->text);
    *out = json_stringn_nocheck(buf, n);
    return 0;
}

/* ---- numbers ---- */

#define NUM_DIGITS_MAX 40

/* Parse text into sign, integer digits and fraction digits (C locale
 * decimal string "[-]int.frac" in buf). */
static int number_in(const mp_xform *x, const json_t *in, json_t **out,
                     lx_error *err)
{
    char tbuf[64];
    const char *s;
    size_t len;
    if (!mp_scalar_text(in, tbuf, sizeof(tbuf), &s, &len) ||
        json_is_boolean(in))
        return lx_error_set(err, LX_EINVAL, "not a number");
    char mark = json_is_string(in) ? x->decimal_mark : '.';
    char ip[NUM_DIGITS_MAX + 1], fp[NUM_DIGITS_MAX + 1];
    size_t ni = 0, nf = 0, i = 0;
    bool neg = false, seen_mark = false;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    for (; i < len; i++) {
        char c = s[i];
        if (c == mark && !seen_mark && x->implied_decimals < 0) {
            seen_mark = true;
        } else if (isdigit((unsigned char)c)) {
            if (seen_mark ? nf == NUM_DIGITS_MAX : ni == NUM_DIGITS_MAX)
                return lx_error_set(err, LX_ELIMIT,
                                    "a number of more than "
                                    "%d digits",
                                    NUM_DIGITS_MAX);
            if (seen_mark)
                fp[nf++] = c;
            else
                ip[ni++] = c;
        } else {
            return lx_error_set(err, LX_EINVAL,
                                x->implied_decimals >= 0
                                    ? "not a number with %d implied decimals"
                                    : "not a number",
                                x->implied_decimals);
        }
    }
    if (ni + nf == 0)
        return lx_error_set(err, LX_EINVAL, "not a number");
    if (x->implied_decimals > 0) {
        /* X12 Nn: "12345" with n = 2 is 123.45. */
        size_t d = (size_t)x->implied_decimals;
        char all[NUM_DIGITS_MAX + 1];
        memcpy(all, ip, ni);
        size_t na = ni;
        while (na < d + 1) { /* left-pad so the integer part exists */
            memmove(all + 1, all, na);
            all[0] = '0';
            na++;
        }
        ni = na - d;
        memcpy(ip, all, ni);
        memcpy(fp, all + ni, d);
        nf = d;
    }
    while (nf > 0 && fp[nf - 1] == '0')
        nf--;
    if (x->integer && nf > 0)
        return lx_error_set(err, LX_EINVAL, "not a whole number");
    char dec[2 * NUM_DIGITS_MAX + 4];
    int n = snprintf(dec, sizeof(dec), "%s%.*s%s%.*s", neg ? "-" : "", (int)ni,
                     ni ? ip : "0", nf ? "." : "", (int)nf, fp);
    LX_ASSERT(n > 0 && (size_t)n < sizeof(dec));
    if (nf == 0) {
        errno = 0;
        char *end;
        long long v = strtoll(dec, &end, 10);
        if (errno == 0 && *end == '\0' && v > -(1LL << 53) && v < (1LL << 53)) {
            *out = json_integer((json_int_t)v);
            return 0;
        }
        if (x->integer)
            return lx_error_set(err, LX_ELIMIT,
                                "a whole number out of "
                                "range");
    }
    *out = json_real(strtod(dec, NULL));
    LX_ASSERT(*out != NULL);
    return 0;
}

static int number_out(const mp_xform *x, const json_t *in, json_t **out,
                      lx_error *err)
{
    double v;
    bool is_int = false;
    json_int_t iv = 0;
    if (json_is_integer(in)) {
        is_int = true;
        iv = json_integer_value(in);
        v = (double)iv;
    } else if (json_is_real(in)) {
        v = json_real_value(in);
    } else if (json_is_string(in)) {
        char *end;
        errno = 0;
        v = strtod(json_string_value(in), &end);
        if (errno || *end || end == json_string_value(in))
            return lx_error_set(err, LX_EINVAL, "not a number");
    } else {
        return lx_error_set(err, LX_EINVAL, "not a number");
    }
    int d = x->implied_decimals >= 0 ? x->implied_decimals : x->decimals;
    char buf[96];
    int n;
    if (is_int && d <= 0) {
        n = snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, iv);
    } else if (d >= 0) {
        if (v > 1e17 || v < -1e17)
            return lx_error_set(err, LX_ELIMIT, "a number out of range");
        n = snprintf(buf, sizeof(buf), "%.*f", d, v);
        /* The value must fit the decimals exactly (123.456 is not N2). */
        double back = strtod(buf, NULL);
        double tol = 1e-9 * (v < 0 ? -v : v > 1 ? v : 1);
        if (back - v > tol || v - back > tol)
            return lx_error_set(err, LX_EINVAL, "more than %d decimals", d);
    } else {
        if (x->integer && v != (double)(long long)v)
            return lx_error_set(err, LX_EINVAL, "not a whole number");
        n = snprintf(buf, sizeof(buf), "%.15g", v);
        if (strtod(buf, NULL) != v)
            n = snprintf(buf, sizeof(buf), "%.17g", v);
        if (strchr(buf, 'e') || strchr(buf, 'n') || strchr(buf, 'i'))
            return lx_error_set(err, LX_ELIMIT, "a number out of range");
    }
    LX_ASSERT(n > 0 && (size_t)n < sizeof(buf));
    if (x->implied_decimals >= 0) {
        /* drop the point, then leading zeros: 0.50 with N2 is "50" */
        char *w = buf;
        bool neg = buf[0] == '-';
        for (const char *r = buf; *r; r++)
            if (*r != '.')
                *w++ = *r;
        *w = '\0';
        char *digits = buf + (neg ? 1 : 0);
        size_t skip = 0;
        while (digits[skip] == '0' && digits[skip + 1] != '\0')
            skip++;
        memmove(digits, digits + skip, strlen(digits + skip) + 1);
        if (neg && strcmp(digits, "0") == 0)
            memmove(buf, digits, 2);
    } else if (x->decimal_mark != '.') {
        char *dot = strchr(buf, '.');
        if (dot)
            *dot = x->decimal_mark;
    }
    *out = json_string(buf);
    return 0;
}

/* ---- code tables ---- */

static int apply_map(const mp_xform *x, lx_map_dir dir, const json_t *in,
                     json_t **out, lx_error *err)
{
    const mp_hash *h = &x->table->dir[dir];
    char buf[40];
    const char *s;
    size_t len;
    if (!mp_scalar_text(in, buf, sizeof(buf), &s, &len))
        return lx_error_set(err, LX_EINVAL,
                            "code table '%s' needs a string, number or "
                            "boolean",
                            x->table->name);
    const json_t *v = mp_hash_get(h, s, len);
    if (v) {
        *out = mp_value_copy(v);
        return 0;
    }
    switch (h->unmapped) {
    case MP_UNMAPPED_PASS:
        *out = mp_value_copy(in);
        return 0;
    case MP_UNMAPPED_DROP:
        *out = NULL;
        return 0;
    case MP_UNMAPPED_VALUE:
        *out = mp_value_copy(h->fallback);
        return 0;
    }
    return lx_error_set(err, LX_EINVAL, "code not in table '%s' (%s)",
                        x->table->name, dir == LX_MAP_IN ? "in" : "out");
}

json_t *mp_value_copy(const json_t *v)
{
    if (json_is_object(v) || json_is_array(v))
        return json_deep_copy(v);
    return json_incref((json_t *)v);
}

int mp_xform_apply(const mp_xform *x, lx_map_dir dir, const json_t *in,
                   json_t **out, lx_error *err)
{
    *out = NULL;
    if (dir == LX_MAP_OUT && x->inv == MP_INV_NORMALIZE) {
        *out = mp_value_copy(in);
        return 0;
    }
    int rc;
    switch (x->kind) {
    case MP_X_TRIM:
    case MP_X_UPPER:
    case MP_X_LOWER:
    case MP_X_PREFIX:
    case MP_X_DATE:
        rc = need_string(in, x->name, err);
        if (rc)
            return rc;
        if (x->kind == MP_X_TRIM)
            return apply_trim(in, out);
        if (x->kind == MP_X_PREFIX)
            return apply_prefix(x, dir, in, out, err);
        if (x->kind == MP_X_DATE)
            return apply_date(x, dir, in, out, err);
        return apply_case(in, x->kind == MP_X_UPPER, out);
    case MP_X_NUMBER:
        return dir == LX_MAP_IN ? number_in(x, in, out, err)
                                : number_out(x, in, out, err);
    case MP_X_MAP:
        return apply_map(x, dir, in, out, err);
    }
    return lx_error_set(err, LX_EINVAL, "unknown transform");
}
