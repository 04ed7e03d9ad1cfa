/* adapters/map/map_path_parse.c: the path grammar (see map_path.c and
 * docs/mapping.md, "Paths"):
 *   path     alt ( '|' alt )*
 *   alt      [ '$' ] ( pointer | dotted | '' | '.' | '/' )
 *   pointer  ( '/' token selector* )+      token: RFC 6901, digits index
 *   dotted   seg ( '.' seg )*              seg: name selector* (a leading
 *                                          selector-only seg is allowed)
 *   selector '[' ( n | -1 | '*' | test ( ',' test )* ) ']'
 *   test     key ( '=' | '!=' ) value | key | '!' key
 *   key      dotted, keys and [n] only;  value  bare, 'quoted', "quoted"
 * Paths are parsed once, when the mapping compiles, into arena steps. */
#include "adapters/map/map_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* ---- parsing ---- */

typedef struct parser {
    mp_arena *a;
    const char *text; /* whole path text, for positions */
    char *why;
    size_t why_size;
} parser;

static int perr(parser *ps, const char *at, const char *what)
{
    snprintf(ps->why, ps->why_size, "%s at character %zu", what,
             (size_t)(at - ps->text) + 1);
    return LX_ESYNTAX;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

static const char *trim_end(const char *b, const char *e)
{
    while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    return e;
}

/* The ']' closing the '[' at p, skipping quotes and nested brackets. */
static const char *close_bracket(const char *p, const char *end)
{
    int depth = 0;
    char quote = 0;
    for (; p < end; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '[') {
            depth++;
        } else if (*p == ']') {
            if (--depth == 0)
                return p;
        }
    }
    return NULL;
}

/* Next occurrence of c at depth 0 outside quotes in [p, end), or NULL. */
static const char *find_top(const char *p, const char *end, char c)
{
    int depth = 0;
    char quote = 0;
    for (; p < end; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '[') {
            depth++;
        } else if (*p == ']') {
            depth--;
        } else if (*p == c && depth == 0) {
            return p;
        }
    }
    return NULL;
}

static bool parse_long(const char *b, const char *e, long *out)
{
    bool neg = false;
    if (b < e && *b == '-') {
        neg = true;
        b++;
    }
    if (b == e || e - b > 9)
        return false;
    long v = 0;
    for (const char *p = b; p < e; p++) {
        if (!isdigit((unsigned char)*p))
            return false;
        v = v * 10 + (*p - '0');
    }
    *out = neg ? -v : v;
    return true;
}

static int parse_alt(parser *ps, const char *b, const char *e, mp_path *out,
                     bool key_only);

static int parse_cond(parser *ps, const char *b, const char *e, mp_cond *c)
{
    b = skip_ws(b, e);
    e = trim_end(b, e);
    if (b == e)
        return perr(ps, b, "empty test in a filter");
    const char *key_b = b, *key_e = e;
    if (*b == '!') {
        c->op = MP_MISSING;
        key_b = b + 1;
    } else {
        const char *eq = find_top(b, e, '=');
        if (!eq) {
            c->op = MP_EXISTS;
        } else {
            c->op = MP_EQ;
            key_e = eq;
            if (eq > b && eq[-1] == '!') {
                c->op = MP_NE;
                key_e = eq - 1;
            }
            const char *vb = skip_ws(eq + 1, e);
            const char *ve = e;
            if (vb < ve && (*vb == '\'' || *vb == '"')) {
                if (ve - vb < 2 || ve[-1] != *vb)
                    return perr(ps, vb, "unterminated quoted value");
                vb++;
                ve--;
                if (memchr(vb, vb[-1], (size_t)(ve - vb)))
                    return perr(ps, vb, "quote inside a quoted value");
            } else if (vb == ve) {
                return perr(ps, vb, "missing value after '='");
            }
            c->value = mp_strndup(ps->a, vb, (size_t)(ve - vb));
            c->value_len = (size_t)(ve - vb);
        }
    }
    key_b = skip_ws(key_b, key_e);
    key_e = trim_end(key_b, key_e);
    if (key_b == key_e)
        return perr(ps, key_b, "missing key in a filter");
    mp_path *key = mp_alloc(ps->a, sizeof(*key));
    int rc = parse_alt(ps, key_b, key_e, key, true);
    if (rc)
        return rc;
    key->text = mp_strndup(ps->a, key_b, (size_t)(key_e - key_b));
    c->key = key;
    return 0;
}

/* One selector: the text between '[' and ']'. */
static int parse_selector(parser *ps, const char *b, const char *e, mp_step *s,
                          bool key_only)
{
    b = skip_ws(b, e);
    e = trim_end(b, e);
    if (b == e)
        return perr(ps, b, "empty selector '[]' (use '[*]' for all)");
    long n;
    if (e - b == 1 && *b == '*') {
        s->kind = MP_ALL;
    } else if (parse_long(b, e, &n)) {
        if (n < -1)
            return perr(ps, b, "negative index other than -1");
        s->kind = MP_INDEX;
        s->index = n;
    } else {
        s->kind = MP_FILTER;
        mp_cond conds[MP_FILTER_CONDS_MAX];
        size_t count = 0;
        const char *p = b;
        for (;;) {
            const char *comma = find_top(p, e, ',');
            const char *ce = comma ? comma : e;
            if (count == MP_FILTER_CONDS_MAX)
                return perr(ps, p, "too many tests in one filter");
            memset(&conds[count], 0, sizeof(conds[count]));
            int rc = parse_cond(ps, p, ce, &conds[count]);
            if (rc)
                return rc;
            count++;
            if (!comma)
                break;
            p = comma + 1;
        }
        mp_cond *c = mp_alloc(ps->a, count * sizeof(*c));
        memcpy(c, conds, count * sizeof(*c));
        s->conds = c;
        s->cond_count = count;
    }
    if (key_only && (s->kind != MP_INDEX || s->index < 0))
        return perr(ps, b, "only [n] selectors inside a filter key");
    return 0;
}

static int add_step(parser *ps, const char *at, mp_step *steps, size_t *n,
                    const mp_step *s)
{
    if (*n == MP_PATH_STEPS_MAX)
        return perr(ps, at, "too many steps");
    steps[(*n)++] = *s;
    return 0;
}

/* Selectors following a name: "[..][..]"; *pp advances past them. */
static int parse_selectors(parser *ps, const char **pp, const char *e,
                           mp_step *steps, size_t *n, bool key_only)
{
    const char *p = *pp;
    while (p < e && *p == '[') {
        const char *close = close_bracket(p, e);
        if (!close)
            return perr(ps, p, "missing ']'");
        mp_step s;
        memset(&s, 0, sizeof(s));
        int rc = parse_selector(ps, p + 1, close, &s, key_only);
        if (rc == 0)
            rc = add_step(ps, p, steps, n, &s);
        if (rc)
            return rc;
        p = close + 1;
    }
    *pp = p;
    return 0;
}

static int add_key(parser *ps, const char *b, const char *e, mp_step *steps,
                   size_t *n, bool pointer)
{
    mp_step s;
    memset(&s, 0, sizeof(s));
    long idx;
    if (pointer && parse_long(b, e, &idx) && idx >= 0 && *b != '-') {
        /* RFC 6901: a token of digits indexes an array. */
        s.kind = MP_INDEX;
        s.index = idx;
        return add_step(ps, b, steps, n, &s);
    }
    char *key = mp_alloc(ps->a, (size_t)(e - b) + 1);
    size_t k = 0;
    for (const char *p = b; p < e; p++) {
        if (pointer && *p == '~') {
            if (p + 1 < e && (p[1] == '0' || p[1] == '1')) {
                key[k++] = p[1] == '0' ? '~' : '/';
                p++;
                continue;
            }
            return perr(ps, p, "'~' not followed by 0 or 1");
        }
        key[k++] = *p;
    }
    key[k] = '\0';
    s.kind = MP_KEY;
    s.key = key;
    return add_step(ps, b, steps, n, &s);
}

static bool name_char(char c)
{
    return c != '.' && c != '[' && c != ']' && c != '/' && c != '|' &&
           c != '$' && c != '=' && c != ',' && c != '!' && c != '\'' &&
           c != '"' && !isspace((unsigned char)c);
}

static int parse_alt(parser *ps, const char *b, const char *e, mp_path *out,
                     bool key_only)
{
    mp_step steps[MP_PATH_STEPS_MAX];
    size_t n = 0;
    const char *p = b;
    if (p < e && *p == '$') {
        if (key_only)
            return perr(ps, p, "'$' inside a filter");
        out->absolute = true;
        p++;
        if (p < e && *p != '.' && *p != '/')
            return perr(ps, p, "'$' is followed by '.' or '/'");
    }
    if (p == e || (e - p == 1 && (*p == '.' || *p == '/'))) {
        /* the context itself */
    } else if (*p == '/') {
        if (key_only)
            return perr(ps, p, "a JSON pointer inside a filter");
        while (p < e) {
            if (*p != '/')
                return perr(ps, p, "expected '/'");
            p++;
            const char *tb = p;
            while (p < e && *p != '/' && *p != '[' && *p != ']')
                p++;
            if (p == tb)
                return perr(ps, p, "empty pointer token");
            int rc = add_key(ps, tb, p, steps, &n, true);
            if (rc == 0)
                rc = parse_selectors(ps, &p, e, steps, &n, false);
            if (rc)
                return rc;
            if (p < e && *p != '/')
                return perr(ps, p, "unexpected character");
        }
    } else {
        if (out->absolute && *p == '.')
            p++;
        bool first = true;
        while (p < e) {
            const char *nb = p;
            while (p < e && name_char(*p))
                p++;
            if (p == nb && !(first && p < e && *p == '['))
                return perr(ps, p,
                            p < e ? "unexpected character" : "empty name");
            if (p > nb) {
                int rc = add_key(ps, nb, p, steps, &n, false);
                if (rc)
                    return rc;
            }
            int rc = parse_selectors(ps, &p, e, steps, &n, key_only);
            if (rc)
                return rc;
            first = false;
            if (p == e)
                break;
            if (*p != '.')
                return perr(ps, p, "unexpected character");
            p++;
            if (p == e)
                return perr(ps, p, "path ends with '.'");
        }
    }
    mp_step *copy = mp_alloc(ps->a, (n ? n : 1) * sizeof(*copy));
    memcpy(copy, steps, n * sizeof(*copy));
    out->steps = copy;
    out->step_count = n;
    return 0;
}

int mp_path_parse(mp_arena *a, const char *text, const mp_path **out, char *why,
                  size_t why_size)
{
    parser ps = {a, text, why, why_size};
    const char *end = text + strlen(text);
    const char *p = text;
    mp_path *first = NULL, *last = NULL;
    size_t alts = 0;
    for (;;) {
        const char *bar = find_top(p, end, '|');
        const char *ae = bar ? bar : end;
        const char *b = skip_ws(p, ae);
        const char *e = trim_end(b, ae);
        if (b == e && (bar || alts > 0))
            return perr(&ps, b, "empty alternative");
        if (++alts > MP_PATH_ALTS_MAX)
            return perr(&ps, b, "too many alternatives");
        mp_path *alt = mp_alloc(a, sizeof(*alt));
        int rc = parse_alt(&ps, b, e, alt, false);
        if (rc)
            return rc;
        alt->text = mp_strndup(a, b, (size_t)(e - b));
        if (last)
            last->next = alt;
        else
            first = alt;
        last = alt;
        if (!bar)
            break;
        p = bar + 1;
    }
    *out = first;
    return 0;
}

bool mp_path_writable(const mp_path *p, bool each_target, char *why,
                      size_t why_size)
{
    for (size_t i = 0; i < p->step_count; i++) {
        const mp_step *s = &p->steps[i];
        bool last = i + 1 == p->step_count;
        if (s->kind == MP_ALL && !last) {
            snprintf(why, why_size,
                     "'[*]' can only end a path that is "
                     "written");
            return false;
        }
        if (s->kind == MP_INDEX && s->index < 0) {
            snprintf(why, why_size, "'[-1]' cannot be written");
            return false;
        }
        if (s->kind != MP_FILTER)
            continue;
        for (size_t k = 0; k < s->cond_count; k++) {
            int op = s->conds[k].op;
            if (op == MP_EQ)
                continue;
            if (each_target && last && op == MP_EXISTS)
                continue;
            snprintf(why, why_size,
                     "the filter test on '%s' selects but cannot create an "
                     "element; only key=value tests are written",
                     s->conds[k].key->text);
            return false;
        }
    }
    return true;
}

bool mp_path_ends_all(const mp_path *p)
{
    return p->step_count > 0 && p->steps[p->step_count - 1].kind == MP_ALL;
}
