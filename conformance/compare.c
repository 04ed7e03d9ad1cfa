/* conformance/compare.c: see compare.h. JSON and text comparison; the XML
 * and EDI normal forms are in compare_xml.c and compare_edi.c. */
#include "conformance/compare.h"
#include "core/json.h"
#include "core/mem.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

void lx_conform_diffs_init(lx_conform_diffs *d)
{
    memset(d, 0, sizeof(*d));
}

void lx_conform_diffs_fini(lx_conform_diffs *d)
{
    for (size_t i = 0; i < d->count; i++)
        free(d->lines[i]);
    memset(d, 0, sizeof(*d));
}

void lx_conform_diffs_add(lx_conform_diffs *d, const char *fmt, ...)
{
    d->total++;
    if (d->count == LX_CONFORM_DIFFS_MAX)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    d->lines[d->count++] = lx_xstrdup(line);
}

/* A value as it reads in a diff line: compact JSON, cut to
 * LX_CONFORM_VALUE_MAX characters. */
static void show(const json_t *v, char *out, size_t size)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    size_t n = s ? strlen(s) : 0;
    if (n > LX_CONFORM_VALUE_MAX)
        snprintf(out, size, "%.*s...", LX_CONFORM_VALUE_MAX, s);
    else
        snprintf(out, size, "%s", s ? s : "?");
    free(s);
}

static const char *shown(const json_t *v, char buf[LX_CONFORM_VALUE_MAX + 8])
{
    show(v, buf, LX_CONFORM_VALUE_MAX + 8);
    return buf;
}

/* JSON numbers are values, not texts (RFC 8259 section 6): 1, 1.0 and
 * 1e0 are the same number. */
static bool numbers_equal(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b))
        return json_integer_value(a) == json_integer_value(b);
    double x = json_number_value(a), y = json_number_value(b);
    return x == y || fabs(x - y) <= 1e-12 * fmax(fabs(x), fabs(y));
}

static bool walk(const json_t *e, const json_t *a, char *path, size_t size,
                 lx_conform_diffs *d)
{
    char eb[LX_CONFORM_VALUE_MAX + 8], ab[LX_CONFORM_VALUE_MAX + 8];
    const char *p = path[0] ? path : "/";
    if (json_is_string(e) && strcmp(json_string_value(e), LX_CONFORM_ANY) == 0)
        return true;
    if (json_is_number(e) && json_is_number(a)) {
        if (numbers_equal(e, a))
            return true;
        lx_conform_diffs_add(d, "%s: expected %s, got %s", p, shown(e, eb),
                             shown(a, ab));
        return false;
    }
    if (json_typeof(e) != json_typeof(a) &&
        !(json_is_boolean(e) && json_is_boolean(a))) {
        lx_conform_diffs_add(d, "%s: expected %s, got %s", p, shown(e, eb),
                             shown(a, ab));
        return false;
    }
    size_t len = strlen(path);
    bool same = true;
    if (json_is_object(e)) {
        const char *k;
        json_t *ev;
        json_object_foreach((json_t *)e, k, ev)
        {
            lx_json_pointer_append(path, size, k);
            json_t *av = json_object_get(a, k);
            if (!av) {
                lx_conform_diffs_add(d, "%s: missing (expected %s)", path,
                                     shown(ev, eb));
                same = false;
            } else if (!walk(ev, av, path, size, d)) {
                same = false;
            }
            path[len] = '\0';
        }
        json_t *av;
        json_object_foreach((json_t *)a, k, av)
        {
            if (json_object_get(e, k))
                continue;
            lx_json_pointer_append(path, size, k);
            lx_conform_diffs_add(d, "%s: unexpected member (got %s)", path,
                                 shown(av, ab));
            path[len] = '\0';
            same = false;
        }
        return same;
    }
    if (json_is_array(e)) {
        size_t ne = json_array_size(e), na = json_array_size(a);
        for (size_t i = 0; i < ne || i < na; i++) {
            lx_json_pointer_append_index(path, size, i);
            if (i >= na)
                lx_conform_diffs_add(d, "%s: missing (expected %s)", path,
                                     shown(json_array_get(e, i), eb));
            else if (i >= ne)
                lx_conform_diffs_add(d, "%s: unexpected item (got %s)", path,
                                     shown(json_array_get(a, i), ab));
            if (i >= na || i >= ne ||
                !walk(json_array_get(e, i), json_array_get(a, i), path, size,
                      d))
                same = false;
            path[len] = '\0';
        }
        return same;
    }
    if (json_is_string(e)) {
        if (strcmp(json_string_value(e), json_string_value(a)) == 0)
            return true;
    } else if (json_equal((json_t *)e, (json_t *)a)) {
        return true; /* true, false, null */
    }
    lx_conform_diffs_add(d, "%s: expected %s, got %s", p, shown(e, eb),
                         shown(a, ab));
    return false;
}

bool lx_conform_json_equal(const json_t *expected, const json_t *actual,
                           const char *base, lx_conform_diffs *d)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s", base ? base : "");
    if (!expected || !actual) {
        if (expected == actual)
            return true;
        lx_conform_diffs_add(d, "%s: %s", path[0] ? path : "/",
                             expected ? "missing" : "unexpected");
        return false;
    }
    return walk(expected, actual, path, sizeof(path), d);
}

lx_conform_doc lx_conform_doc_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return LX_CONFORM_DOC_TEXT;
    static const char *const edi[] = {".x12", ".edi", ".edifact", ".834",
                                      ".850", ".810", ".997", ".999",
                                      ".ta1", ".contrl"};
    if (strcasecmp(dot, ".json") == 0)
        return LX_CONFORM_DOC_JSON;
    if (strcasecmp(dot, ".xml") == 0)
        return LX_CONFORM_DOC_XML;
    for (size_t i = 0; i < sizeof(edi) / sizeof(edi[0]); i++)
        if (strcasecmp(dot, edi[i]) == 0)
            return LX_CONFORM_DOC_EDI;
    return LX_CONFORM_DOC_TEXT;
}

/* Text with its line endings made LF and trailing blanks cut, split into
 * a JSON array of lines so that a difference names its line. */
static json_t *text_lines(const char *s, size_t len)
{
    json_t *lines = json_array();
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != '\n' && s[j] != '\r')
            j++;
        size_t k = j;
        while (k > i && (s[k - 1] == ' ' || s[k - 1] == '\t'))
            k--;
        json_array_append_new(lines, json_stringn_nocheck(s + i, k - i));
        if (j < len && s[j] == '\r' && j + 1 < len && s[j + 1] == '\n')
            j++;
        i = j + 1;
    }
    while (json_array_size(lines) > 0) {
        const char *last =
            json_string_value(json_array_get(lines, json_array_size(lines) - 1));
        if (last[0])
            break;
        json_array_remove(lines, json_array_size(lines) - 1);
    }
    return lines;
}

static int normalize(lx_conform_doc kind, const char *s, size_t len,
                     json_t **out, lx_error *err)
{
    switch (kind) {
    case LX_CONFORM_DOC_JSON:
        return lx_json_parse(s, len, "document", LX_JSON_MAX_DEFAULT, out,
                             err);
    case LX_CONFORM_DOC_XML:
        return lx_conform_xml_normalize(s, len, out, err);
    case LX_CONFORM_DOC_EDI:
        return lx_conform_edi_normalize(s, len, out, err);
    case LX_CONFORM_DOC_TEXT:
        break;
    }
    *out = text_lines(s, len);
    return 0;
}

bool lx_conform_doc_equal(lx_conform_doc kind, const char *expected,
                          size_t expected_len, const char *actual,
                          size_t actual_len, const char *base,
                          lx_conform_diffs *d)
{
    static const char *const names[] = {"text", "JSON", "XML", "EDI"};
    json_t *e = NULL, *a = NULL;
    lx_error err;
    lx_error_clear(&err);
    char line[600];
    if (normalize(kind, expected, expected_len, &e, &err) != 0) {
        lx_conform_diffs_add(d, "%s: the expected document is not %s: %s",
                             base[0] ? base : "/", names[kind],
                             lx_error_format(&err, line, sizeof(line)));
        return false;
    }
    if (normalize(kind, actual ? actual : "", actual ? actual_len : 0, &a,
                  &err) != 0) {
        lx_conform_diffs_add(d, "%s: the adapter's document is not %s: %s",
                             base[0] ? base : "/", names[kind],
                             lx_error_format(&err, line, sizeof(line)));
        json_decref(e);
        return false;
    }
    bool same = kind == LX_CONFORM_DOC_EDI   ? lx_conform_edi_equal(e, a, base, d)
                : kind == LX_CONFORM_DOC_XML ? lx_conform_xml_equal(e, a, base, d)
                                             : lx_conform_json_equal(e, a, base, d);
    json_decref(e);
    json_decref(a);
    return same;
}
