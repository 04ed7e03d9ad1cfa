/* canonical/schema_uri.c: URI reference resolution for $id and $ref
 * (RFC 3986 section 5.2). Compile time only, so plain malloc'd strings. */
#include "canonical/schema_int.h"
#include "core/mem.h"

#include <string.h>

typedef struct part {
    const char *p;
    size_t n;
    bool has;
} part;

typedef struct uri {
    part scheme, authority, path, query, fragment;
} uri;

static bool scheme_char(char c, bool first)
{
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (first)
        return alpha;
    return alpha || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

/* RFC 3986 appendix B, without the regex. */
static void split(const char *s, uri *u)
{
    memset(u, 0, sizeof(*u));
    size_t n = strlen(s), i = 0;
    while (i < n && scheme_char(s[i], i == 0))
        i++;
    if (i > 0 && i < n && s[i] == ':') {
        u->scheme = (part){s, i, true};
        s += i + 1;
        n -= i + 1;
    }
    if (n >= 2 && s[0] == '/' && s[1] == '/') {
        size_t j = 2;
        while (j < n && s[j] != '/' && s[j] != '?' && s[j] != '#')
            j++;
        u->authority = (part){s + 2, j - 2, true};
        s += j;
        n -= j;
    }
    size_t j = 0;
    while (j < n && s[j] != '?' && s[j] != '#')
        j++;
    u->path = (part){s, j, true};
    s += j;
    n -= j;
    if (n > 0 && s[0] == '?') {
        j = 1;
        while (j < n && s[j] != '#')
            j++;
        u->query = (part){s + 1, j - 1, true};
        s += j;
        n -= j;
    }
    if (n > 0 && s[0] == '#')
        u->fragment = (part){s + 1, n - 1, true};
}

/* Section 5.2.4 remove_dot_segments, writing into out (capacity >= n+1). */
static size_t remove_dots(const char *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    while (i < n) {
        const char *p = in + i;
        size_t left = n - i;
        if (left >= 3 && memcmp(p, "../", 3) == 0) {
            i += 3;
        } else if (left >= 2 && memcmp(p, "./", 2) == 0) {
            i += 2;
        } else if (left >= 3 && memcmp(p, "/./", 3) == 0) {
            i += 2;
        } else if (left == 2 && memcmp(p, "/.", 2) == 0) {
            out[o++] = '/';
            i += 2;
        } else if ((left >= 4 && memcmp(p, "/../", 4) == 0) ||
                   (left == 3 && memcmp(p, "/..", 3) == 0)) {
            i += 3;
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
            if (left == 3)
                out[o++] = '/';
        } else if ((left == 1 && p[0] == '.') ||
                   (left == 2 && memcmp(p, "..", 2) == 0)) {
            i = n;
        } else {
            /* Move one segment, with its leading '/' if any. */
            size_t j = in[i] == '/' ? i + 1 : i;
            while (j < n && in[j] != '/')
                j++;
            memcpy(out + o, in + i, j - i);
            o += j - i;
            i = j;
        }
    }
    out[o] = '\0';
    return o;
}

char *sc_uri_resolve(const char *base, const char *ref)
{
    uri b, r;
    split(base, &b);
    split(ref, &r);
    size_t cap = strlen(base) + strlen(ref) + 8;
    char *merged = lx_xmalloc(cap);
    char *path = lx_xmalloc(cap);
    part scheme = b.scheme, auth = b.authority, query;
    size_t plen;
    if (r.scheme.has) {
        scheme = r.scheme;
        auth = r.authority;
        plen = remove_dots(r.path.p, r.path.n, path);
        query = r.query;
    } else if (r.authority.has) {
        auth = r.authority;
        plen = remove_dots(r.path.p, r.path.n, path);
        query = r.query;
    } else if (r.path.n == 0) {
        memcpy(path, b.path.p, b.path.n);
        plen = b.path.n;
        path[plen] = '\0';
        query = r.query.has ? r.query : b.query;
    } else {
        if (r.path.p[0] == '/') {
            plen = remove_dots(r.path.p, r.path.n, path);
        } else {
            /* Section 5.2.3 merge. */
            size_t m = 0;
            if (b.authority.has && b.path.n == 0) {
                merged[m++] = '/';
            } else {
                size_t keep = b.path.n;
                while (keep > 0 && b.path.p[keep - 1] != '/')
                    keep--;
                memcpy(merged, b.path.p, keep);
                m = keep;
            }
            memcpy(merged + m, r.path.p, r.path.n);
            m += r.path.n;
            plen = remove_dots(merged, m, path);
        }
        query = r.query;
    }
    size_t out_cap = scheme.n + auth.n + plen + query.n + r.fragment.n + 8;
    char *out = lx_xmalloc(out_cap);
    size_t o = 0;
    if (scheme.has) {
        memcpy(out + o, scheme.p, scheme.n);
        o += scheme.n;
        out[o++] = ':';
    }
    if (auth.has) {
        out[o++] = '/';
        out[o++] = '/';
        memcpy(out + o, auth.p, auth.n);
        o += auth.n;
    }
    memcpy(out + o, path, plen);
    o += plen;
    if (query.has) {
        out[o++] = '?';
        memcpy(out + o, query.p, query.n);
        o += query.n;
    }
    if (r.fragment.has) {
        out[o++] = '#';
        memcpy(out + o, r.fragment.p, r.fragment.n);
        o += r.fragment.n;
    }
    out[o] = '\0';
    free(merged);
    free(path);
    return out;
}
