/* conformance/compare_edi.c: the EDI normal form of compare.h, read with
 * the adapters' own tokenizers (adapters/edi/x12.h, edifact.h) so that the
 * suite and the hub agree on what a segment is. */
#include "adapters/edi/edifact.h"
#include "adapters/edi/x12.h"
#include "conformance/compare.h"

#include <string.h>

/* Elements that differ between two correct runs: control numbers (never
 * reused, so never the same twice) and the time the envelope was made.
 * X12.5/X12.6 ISA09 date, ISA10 time, ISA13, GS04 date, GS05 time, GS06,
 * ST02, SE02, GE02, IEA02; ISO 9735 UNB S004 date/time and 0020, UNG S004
 * and 0048, UNH 0062, UNT 0062, UNE 0048, UNZ 0020. */
static bool volatile_element(const char *tag, size_t n)
{
    static const struct {
        const char *tag;
        unsigned mask; /* bit n: element n (1-based) */
    } rules[] = {
        {"ISA", 1u << 9 | 1u << 10 | 1u << 13},
        {"GS", 1u << 4 | 1u << 5 | 1u << 6},
        {"ST", 1u << 2},
        {"SE", 1u << 2},
        {"GE", 1u << 2},
        {"IEA", 1u << 2},
        {"UNB", 1u << 4 | 1u << 5},
        {"UNG", 1u << 4 | 1u << 5},
        {"UNH", 1u << 1},
        {"UNT", 1u << 2},
        {"UNE", 1u << 2},
        {"UNZ", 1u << 2},
    };
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (strcmp(rules[i].tag, tag) == 0)
            return n < 32 && (rules[i].mask >> n & 1u);
    return false;
}

/* Trailing empty elements and components carry nothing (X12.6, ISO 9735
 * section 7.1): "N4*A*B**~" and "N4*A*B~" are the same segment. */
static void trim_trailing(json_t *arr, size_t keep)
{
    while (json_array_size(arr) > keep) {
        json_t *last = json_array_get(arr, json_array_size(arr) - 1);
        if (!(json_is_string(last) && json_string_length(last) == 0) &&
            !(json_is_array(last) && json_array_size(last) == 0))
            break;
        json_array_remove(arr, json_array_size(arr) - 1);
    }
}

/* One element: a string, or an array of components when it has several. */
static json_t *element(json_t *components)
{
    trim_trailing(components, 0);
    if (json_array_size(components) == 0) {
        json_decref(components);
        return json_string("");
    }
    if (json_array_size(components) == 1 &&
        json_is_string(json_array_get(components, 0))) {
        json_t *s = json_incref(json_array_get(components, 0));
        json_decref(components);
        return s;
    }
    return components;
}

static void finish_segment(json_t *seg, json_t *out)
{
    const char *tag = json_string_value(json_array_get(seg, 0));
    for (size_t i = 1; i < json_array_size(seg); i++)
        if (volatile_element(tag, i))
            json_array_set_new(seg, i, json_string("#"));
    trim_trailing(seg, 1);
    json_array_append_new(out, seg);
}

static int read_x12(const char *s, size_t len, json_t *out, lx_error *err)
{
    lx_x12_tokenizer t;
    lx_x12_tokenizer_init(&t, s, len);
    lx_x12_segment seg;
    int rc;
    while ((rc = lx_x12_tokenizer_next(&t, &seg, err)) == 1) {
        char comp = lx_x12_tokenizer_delims(&t)->component;
        bool isa = seg.id.len == 3 && memcmp(seg.id.ptr, "ISA", 3) == 0;
        json_t *js = json_array();
        json_array_append_new(js, json_stringn(seg.id.ptr, seg.id.len));
        for (size_t i = 0; i < seg.element_count; i++) {
            const lx_x12_view *v = &seg.elements[i];
            /* ISA's own separators (ISA11, ISA16) are not data. */
            if (isa && (i == 10 || i == 15)) {
                json_array_append_new(js, json_string("#"));
                continue;
            }
            json_t *comps = json_array();
            size_t a = 0;
            for (size_t j = 0; j <= v->len; j++)
                if (j == v->len || (!isa && v->ptr[j] == comp)) {
                    json_array_append_new(comps,
                                          json_stringn(v->ptr + a, j - a));
                    a = j + 1;
                }
            /* ISA elements are fixed width: padding is not data. */
            if (isa) {
                const char *p = json_string_value(json_array_get(comps, 0));
                size_t n = strlen(p);
                while (n > 0 && p[n - 1] == ' ')
                    n--;
                json_array_set_new(comps, 0, json_stringn(p, n));
            }
            json_array_append_new(js, element(comps));
        }
        finish_segment(js, out);
    }
    return rc < 0 ? rc : 0;
}

static int read_edifact(const char *s, size_t len, json_t *out,
                        lx_error *err)
{
    lx_edifact_lexer lx;
    lx_edifact_lexer_init(&lx, s, len, 0);
    lx_edifact_token tok;
    int rc;
    while ((rc = lx_edifact_lexer_next(&lx, &tok, err)) == 1) {
        json_t *js = json_array();
        json_array_append_new(js, json_string(tok.tag));
        size_t i;
        json_t *el;
        json_array_foreach(tok.elements, i, el)
        {
            if (json_is_array(el))
                json_array_append_new(js, element(json_copy(el)));
            else
                json_array_append(js, el); /* {"repeats": ...} */
        }
        json_decref(tok.elements);
        finish_segment(js, out);
    }
    return rc < 0 ? rc : 0;
}

int lx_conform_edi_normalize(const char *edi, size_t len, json_t **out,
                             lx_error *err)
{
    *out = NULL;
    size_t p = 0;
    if (len >= 3 && memcmp(edi, "\xEF\xBB\xBF", 3) == 0)
        p = 3;
    while (p < len && (edi[p] == ' ' || edi[p] == '\r' || edi[p] == '\n' ||
                       edi[p] == '\t'))
        p++;
    json_t *segs = json_array();
    int rc;
    if (len - p >= 3 && memcmp(edi + p, "ISA", 3) == 0)
        rc = read_x12(edi + p, len - p, segs, err);
    else if (len - p >= 3 && (memcmp(edi + p, "UNA", 3) == 0 ||
                              memcmp(edi + p, "UNB", 3) == 0))
        rc = read_edifact(edi + p, len - p, segs, err);
    else
        rc = lx_error_set(err, LX_ESYNTAX, "neither an X12 interchange (ISA) "
                                           "nor an EDIFACT one (UNA, UNB)");
    if (rc != 0) {
        json_decref(segs);
        return rc;
    }
    *out = segs;
    return 0;
}

bool lx_conform_edi_equal(const json_t *expected, const json_t *actual,
                          const char *base, lx_conform_diffs *d)
{
    bool same = true;
    size_t ne = json_array_size(expected), na = json_array_size(actual);
    for (size_t i = 0; i < ne || i < na; i++) {
        json_t *e = json_array_get(expected, i), *a = json_array_get(actual, i);
        const char *tag = json_string_value(json_array_get(e ? e : a, 0));
        char where[200];
        snprintf(where, sizeof(where), "%ssegment %zu (%s)", base, i + 1,
                 tag ? tag : "?");
        if (!a) {
            lx_conform_diffs_add(d, "%s: missing", where);
            same = false;
        } else if (!e) {
            lx_conform_diffs_add(d, "%s: unexpected segment", where);
            same = false;
        } else {
            const char *atag = json_string_value(json_array_get(a, 0));
            if (!atag || strcmp(atag, tag ? tag : "") != 0) {
                lx_conform_diffs_add(d, "%s: got segment %s instead", where,
                                     atag ? atag : "?");
                same = false;
                continue;
            }
            /* The element numbers of the standard (INS03) read as
             * "segment 4 (INS)/3". */
            if (!lx_conform_json_equal(e, a, where, d))
                same = false;
        }
    }
    return same;
}
