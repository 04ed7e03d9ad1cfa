/* canonical/schema_format.c: the asserted "format" values.
 *
 * Each checker reads s[0..len) as bytes; anything outside ASCII is invalid
 * in these formats, so a Bengali digit or an en dash is simply a character
 * that is not in the grammar. */
#include "canonical/schema_int.h"

#include <string.h>

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* n ASCII digits at s as a number, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
    if (month == 2) {
        bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        return leap ? 29 : 28;
    }
    return days[month - 1];
}

/* RFC 3339 section 5.6 full-date: date-fullyear "-" date-month "-"
 * date-mday, e.g. 1963-06-19; the day is checked against the month and
 * the Gregorian leap year rule (2100-02-29 is invalid). */
bool sc_format_date(const char *s, size_t len)
{
    if (len != 10 || s[4] != '-' || s[7] != '-')
        return false;
    int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
    if (y < 0 || m < 1 || m > 12 || d < 1)
        return false;
    return d <= days_in_month(y, m);
}

/* RFC 3339 section 5.6 date-time: full-date "T" partial-time time-offset,
 * e.g. 1990-12-31T15:59:50.123-08:00; "T" and "Z" may be lower case
 * (section 5.6 note). A leap second (":60") is only valid when the time
 * is 23:59 in UTC once the offset is applied (section 5.7). */
bool sc_format_date_time(const char *s, size_t len)
{
    if (len < 20 || !sc_format_date(s, 10) || (s[10] != 'T' && s[10] != 't'))
        return false;
    const char *t = s + 11;
    if (t[2] != ':' || t[5] != ':')
        return false;
    int hh = digits(t, 2), mm = digits(t + 3, 2), ss = digits(t + 6, 2);
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60)
        return false;
    size_t i = 19;
    if (i < len && s[i] == '.') {
        size_t start = ++i;
        while (i < len && is_digit(s[i]))
            i++;
        if (i == start)
            return false;
    }
    if (i >= len)
        return false;
    int offset_min = 0;
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        if (len - i != 6 || s[i + 3] != ':')
            return false;
        int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return false;
        offset_min = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return false;
    }
    if (i != len)
        return false;
    if (ss == 60) {
        int utc = ((hh * 60 + mm - offset_min) % 1440 + 1440) % 1440;
        if (utc != 23 * 60 + 59)
            return false;
    }
    return true;
}

/* RFC 4122 section 3 string form: 8-4-4-4-12 hex digits, any case, any
 * version or variant, e.g. 2eb8aa08-aa98-11ea-b4aa-73b441d16380. */
bool sc_format_uuid(const char *s, size_t len)
{
    if (len != 36)
        return false;
    for (size_t i = 0; i < len; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i]))
            return false;
    }
    return true;
}

/* RFC 3986 section 3.2.2 dec-octet "." x3: no leading zeros, 0..255. */
static bool ipv4(const char *s, size_t len)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= len || s[i] != '.')
                return false;
            i++;
        }
        size_t start = i;
        int v = 0;
        while (i < len && is_digit(s[i]) && i - start < 3)
            v = v * 10 + (s[i++] - '0');
        size_t n = i - start;
        if (n == 0 || v > 255 || (n > 1 && s[start] == '0'))
            return false;
    }
    return i == len;
}

/* RFC 4291 section 2.2 text form, as in RFC 3986 IPv6address: eight
 * groups of 1-4 hex digits, one "::" for a run of zero groups, and an
 * optional dotted IPv4 tail counting as two groups (::ffff:1.2.3.4). */
static bool ipv6(const char *s, size_t len)
{
    size_t i = 0;
    int groups = 0;
    bool compressed = false;
    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        compressed = true;
        i = 2;
    } else if (len == 0 || s[0] == ':') {
        return false;
    }
    while (i < len) {
        size_t j = i;
        while (j < len && is_hex(s[j]) && j - i < 5)
            j++;
        if (j < len && s[j] == '.') {
            if (!ipv4(s + i, len - i))
                return false;
            groups += 2;
            i = len;
            break;
        }
        if (j == i || j - i > 4)
            return false;
        groups++;
        i = j;
        if (i == len)
            break;
        if (s[i] != ':')
            return false;
        i++;
        if (i < len && s[i] == ':') {
            if (compressed)
                return false;
            compressed = true;
            i++;
        } else if (i == len) {
            return false;
        }
    }
    return compressed ? groups <= 7 : groups == 8;
}

/* RFC 5321 section 4.1.2: Let-dig [Ldh-str] labels separated by dots,
 * each at most 63 octets, the whole at most 255. */
static bool domain(const char *s, size_t len)
{
    if (len == 0 || len > 255)
        return false;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            size_t n = i - start;
            if (n == 0 || n > 63 || s[start] == '-' || s[i - 1] == '-')
                return false;
            start = i + 1;
            continue;
        }
        if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-')
            return false;
    }
    return true;
}

static bool atext(char c)
{
    return is_alpha(c) || is_digit(c) ||
           (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* RFC 5321 section 4.1.2 Mailbox = Local-part "@" ( Domain /
 * address-literal ), the local part a Dot-string or a Quoted-string, e.g.
 * "joe bloggs"@example.com or joe@[IPv6:::1]. */
bool sc_format_email(const char *s, size_t len)
{
    size_t i = 0;
    if (len > 0 && s[0] == '"') {
        for (i = 1; i < len && s[i] != '"'; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == '\\') {
                i++;
                if (i >= len || (unsigned char)s[i] < 32 ||
                    (unsigned char)s[i] > 126)
                    return false;
            } else if (c < 32 || c > 126) {
                return false;
            }
        }
        if (i >= len)
            return false;
        i++; /* closing quote */
    } else {
        bool after_dot = true; /* no leading dot, no ".." */
        for (; i < len && s[i] != '@'; i++) {
            if (s[i] == '.') {
                if (after_dot)
                    return false;
                after_dot = true;
            } else if (atext(s[i])) {
                after_dot = false;
            } else {
                return false;
            }
        }
        if (after_dot) /* empty or trailing dot */
            return false;
    }
    if (i > 64 || i >= len || s[i] != '@')
        return false;
    const char *d = s + i + 1;
    size_t dn = len - i - 1;
    if (dn >= 2 && d[0] == '[' && d[dn - 1] == ']') {
        if (dn > 7 && memcmp(d + 1, "IPv6:", 5) == 0)
            return ipv6(d + 6, dn - 7);
        return ipv4(d + 1, dn - 2);
    }
    return domain(d, dn);
}

/* RFC 3986 section 2 character classes. */
static bool unreserved(char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

static bool sub_delim(char c) { return c && strchr("!$&'()*+,;=", c); }

/* Accept chars of a class plus pct-encoded triplets over s[0..len). */
static bool uri_chars(const char *s, size_t len, const char *extra)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            if (len - i < 3 || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
                return false;
            i += 2;
        } else if (!unreserved(c) && !sub_delim(c) &&
                   !(c && strchr(extra, c))) {
            return false;
        }
    }
    return true;
}

/* RFC 3986 section 3.2.2 IP-literal = "[" ( IPv6address / IPvFuture ) "]"
 * (contents given without the brackets). */
static bool ip_literal(const char *s, size_t len)
{
    if (len > 0 && (s[0] == 'v' || s[0] == 'V')) {
        size_t i = 1;
        while (i < len && is_hex(s[i]))
            i++;
        if (i == 1 || i >= len || s[i] != '.' || i + 1 == len)
            return false;
        for (i++; i < len; i++)
            if (!unreserved(s[i]) && !sub_delim(s[i]) && s[i] != ':')
                return false;
        return true;
    }
    return ipv6(s, len);
}

/* RFC 3986 section 3.2 authority = [ userinfo "@" ] host [ ":" port ]. */
static bool authority(const char *s, size_t len)
{
    const char *at = memchr(s, '@', len);
    if (at) {
        if (!uri_chars(s, (size_t)(at - s), ":"))
            return false;
        len -= (size_t)(at - s) + 1;
        s = at + 1;
    }
    size_t host_len;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close || !ip_literal(s + 1, (size_t)(close - s) - 1))
            return false;
        host_len = (size_t)(close - s) + 1;
    } else {
        const char *colon = memchr(s, ':', len);
        host_len = colon ? (size_t)(colon - s) : len;
        if (!uri_chars(s, host_len, "")) /* reg-name; covers IPv4address */
            return false;
    }
    if (host_len == len)
        return true;
    if (s[host_len] != ':')
        return false;
    for (size_t i = host_len + 1; i < len; i++)
        if (!is_digit(s[i]))
            return false;
    return true;
}

/* RFC 3986 section 3: URI = scheme ":" hier-part [ "?" query ]
 * [ "#" fragment ], e.g. http://foo.bar/?baz=qux#quux or
 * urn:oasis:names:specification:docbook:dtd:xml:4.1.2. A relative
 * reference (//host/x, /abc, abc) is not a URI. */
bool sc_format_uri(const char *s, size_t len)
{
    if (len == 0 || !is_alpha(s[0]))
        return false;
    size_t i = 1;
    while (i < len && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' ||
                       s[i] == '-' || s[i] == '.'))
        i++;
    if (i >= len || s[i] != ':')
        return false;
    i++;
    const char *rest = s + i;
    size_t n = len - i;
    /* Split off fragment and query: neither may contain '#'. */
    const char *hash = memchr(rest, '#', n);
    size_t before_frag = hash ? (size_t)(hash - rest) : n;
    if (hash && !uri_chars(hash + 1, n - before_frag - 1, ":@/?"))
        return false;
    const char *q = memchr(rest, '?', before_frag);
    size_t hier = q ? (size_t)(q - rest) : before_frag;
    if (q && !uri_chars(q + 1, before_frag - hier - 1, ":@/?"))
        return false;
    const char *path = rest;
    size_t path_len = hier;
    if (hier >= 2 && rest[0] == '/' && rest[1] == '/') {
        const char *slash = memchr(rest + 2, '/', hier - 2);
        size_t auth_len = slash ? (size_t)(slash - rest) - 2 : hier - 2;
        if (!authority(rest + 2, auth_len))
            return false;
        path = rest + 2 + auth_len;
        path_len = hier - 2 - auth_len;
    }
    return uri_chars(path, path_len, ":@/");
}
