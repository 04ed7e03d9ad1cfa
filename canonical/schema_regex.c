/* canonical/schema_regex.c: "pattern" and "patternProperties" on PCRE2.
 *
 * Patterns are compiled once (and JIT-compiled when the platform allows)
 * and shared by every validating thread: pcre2_code is read-only during
 * matching. Each match needs its own pcre2_match_data, so the schema keeps
 * a small free list of them; a validation call takes one on its first
 * pattern and gives it back at the end, and no allocation happens once
 * every thread has one. */
#include "canonical/schema_int.h"
#include "core/mem.h"

#include <stdio.h>
#include <string.h>

/* Free match data kept beyond this many would only serve a burst. */
#define SC_MDPOOL_KEEP 64

/* Bounds on one match (a hostile pattern/instance pair must not stall a
 * worker): backtracking steps and KiB of heap for backtracking frames. */
#define SC_MATCH_LIMIT 1000000u
#define SC_HEAP_LIMIT_KIB 8192u

/* ECMA-262 accepts the long General_Category names of Unicode (UAX #44,
 * PropertyValueAliases.txt) in \p{...}, PCRE2 10.42 only the short ones.
 * Example: ^\p{Letter}+$ (JSON Schema Test Suite, pattern.json). */
static const struct {
    const char *name, *alias;
} gc_names[] = {
    {"Letter", "L"},
    {"Cased_Letter", "LC"},
    {"Uppercase_Letter", "Lu"},
    {"Lowercase_Letter", "Ll"},
    {"Titlecase_Letter", "Lt"},
    {"Modifier_Letter", "Lm"},
    {"Other_Letter", "Lo"},
    {"Mark", "M"},
    {"Combining_Mark", "M"},
    {"Nonspacing_Mark", "Mn"},
    {"Spacing_Mark", "Mc"},
    {"Enclosing_Mark", "Me"},
    {"Number", "N"},
    {"Decimal_Number", "Nd"},
    {"digit", "Nd"},
    {"Letter_Number", "Nl"},
    {"Other_Number", "No"},
    {"Punctuation", "P"},
    {"punct", "P"},
    {"Connector_Punctuation", "Pc"},
    {"Dash_Punctuation", "Pd"},
    {"Open_Punctuation", "Ps"},
    {"Close_Punctuation", "Pe"},
    {"Initial_Punctuation", "Pi"},
    {"Final_Punctuation", "Pf"},
    {"Other_Punctuation", "Po"},
    {"Symbol", "S"},
    {"Math_Symbol", "Sm"},
    {"Currency_Symbol", "Sc"},
    {"Modifier_Symbol", "Sk"},
    {"Other_Symbol", "So"},
    {"Separator", "Z"},
    {"Space_Separator", "Zs"},
    {"Line_Separator", "Zl"},
    {"Paragraph_Separator", "Zp"},
    {"Other", "C"},
    {"Control", "Cc"},
    {"cntrl", "Cc"},
    {"Format", "Cf"},
    {"Surrogate", "Cs"},
    {"Private_Use", "Co"},
    {"Unassigned", "Cn"},
};

/* Copy src[0..len) to a malloc'd string, rewriting \p{Long_Name},
 * \p{General_Category=X} and \p{gc=X} (and \P) to PCRE2's short names.
 * Other escapes are copied as they are. */
static char *ecma_to_pcre(const char *src, size_t len, size_t *out_len)
{
    char *d = lx_xmalloc(len + 1); /* rewriting never lengthens */
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] != '\\' || i + 1 >= len) {
            d[o++] = src[i];
            continue;
        }
        char e = src[i + 1];
        const char *close = (e == 'p' || e == 'P') && i + 2 < len &&
                                    src[i + 2] == '{'
                                ? memchr(src + i + 3, '}', len - i - 3)
                                : NULL;
        if (!close) {
            d[o++] = src[i++];
            d[o++] = src[i];
            continue;
        }
        const char *name = src + i + 3;
        size_t n = (size_t)(close - name);
        static const char *const prefixes[] = {"General_Category=", "gc="};
        for (size_t k = 0; k < 2; k++) {
            size_t pl = strlen(prefixes[k]);
            if (n > pl && memcmp(name, prefixes[k], pl) == 0) {
                name += pl;
                n -= pl;
            }
        }
        for (size_t k = 0; k < sizeof(gc_names) / sizeof(gc_names[0]); k++) {
            if (strlen(gc_names[k].name) == n &&
                memcmp(gc_names[k].name, name, n) == 0) {
                name = gc_names[k].alias;
                n = strlen(name);
                break;
            }
        }
        d[o++] = '\\';
        d[o++] = e;
        d[o++] = '{';
        memcpy(d + o, name, n);
        o += n;
        d[o++] = '}';
        i = (size_t)(close - src);
    }
    d[o] = '\0';
    *out_len = o;
    return d;
}

int sc_regex_compile(lx_schema *s, const char *src, size_t len, sc_regex *out,
                     char *msg, size_t msg_size)
{
    int code;
    PCRE2_SIZE offset;
    size_t plen;
    char *pattern = ecma_to_pcre(src, len, &plen);
    /* ECMA-262 "u" mode is the reference (2020-12 validation 6.3.3):
     * UTF for code points, UCP so that \p{...} and case folding are
     * Unicode-aware, DOLLAR_ENDONLY because ECMA's "$" does not match
     * before a final newline. */
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, plen,
                                   PCRE2_UTF | PCRE2_UCP |
                                       PCRE2_DOLLAR_ENDONLY,
                                   &code, &offset, NULL);
    free(pattern);
    if (!re) {
        PCRE2_UCHAR text[160];
        if (pcre2_get_error_message(code, text, sizeof(text)) < 0)
            snprintf((char *)text, sizeof(text), "error %d", code);
        snprintf(msg, msg_size,
                 "invalid regular expression at offset %zu: %s",
                 (size_t)offset, (const char *)text);
        return LX_ESCHEMA;
    }
    /* Without JIT support pcre2_match simply interprets. */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    if (s->code_count == s->code_cap) {
        s->code_cap = s->code_cap ? 2 * s->code_cap : 8;
        s->codes = lx_xrealloc(s->codes, s->code_cap * sizeof(*s->codes));
    }
    s->codes[s->code_count++] = re;
    out->code = re;
    out->src = sc_arena_strndup(&s->arena, src, len);
    return 0;
}

sc_mdpool *sc_mdpool_new(void)
{
    sc_mdpool *p = lx_xcalloc(1, sizeof(*p));
    LX_ASSERT(pthread_mutex_init(&p->mu, NULL) == 0);
    return p;
}

void sc_mdpool_destroy(sc_mdpool **pp)
{
    if (!pp || !*pp)
        return;
    sc_mdpool *p = *pp;
    for (size_t i = 0; i < p->count; i++)
        pcre2_match_data_free(p->v[i]);
    free(p->v);
    pthread_mutex_destroy(&p->mu);
    free(p);
    *pp = NULL;
}

pcre2_match_data *sc_mdpool_take(sc_mdpool *p)
{
    pcre2_match_data *md = NULL;
    LX_ASSERT(pthread_mutex_lock(&p->mu) == 0);
    if (p->count > 0)
        md = p->v[--p->count];
    pthread_mutex_unlock(&p->mu);
    if (!md) {
        /* One ovector pair is enough: we only ask whether it matches. */
        md = pcre2_match_data_create(1, NULL);
        if (!md) {
            fprintf(stderr, "lingua: out of memory (pcre2 match data)\n");
            abort();
        }
    }
    return md;
}

void sc_mdpool_give(sc_mdpool *p, pcre2_match_data *md)
{
    if (!md)
        return;
    LX_ASSERT(pthread_mutex_lock(&p->mu) == 0);
    if (p->count < SC_MDPOOL_KEEP) {
        if (p->count == p->cap) {
            p->cap = p->cap ? 2 * p->cap : 4;
            p->v = lx_xrealloc(p->v, p->cap * sizeof(*p->v));
        }
        p->v[p->count++] = md;
        md = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    pcre2_match_data_free(md); /* NULL is fine */
}

pcre2_match_context *sc_match_context_new(void)
{
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    if (!mc) {
        fprintf(stderr, "lingua: out of memory (pcre2 match context)\n");
        abort();
    }
    pcre2_set_match_limit(mc, SC_MATCH_LIMIT);
    pcre2_set_heap_limit(mc, SC_HEAP_LIMIT_KIB);
    return mc;
}

int sc_regex_match(const lx_schema *s, const sc_regex *re,
                   pcre2_match_data *md, const char *str, size_t len)
{
    int rc = pcre2_match(re->code, (PCRE2_SPTR)str, len, 0, 0, md, s->mctx);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* JIT's small stack: interpret */
        rc = pcre2_match(re->code, (PCRE2_SPTR)str, len, 0, PCRE2_NO_JIT, md,
                         s->mctx);
    if (rc >= 0) /* 0: matched, ovector too small for the groups */
        return 1;
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
        rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT)
        return LX_ELIMIT;
    return 0; /* no match, or not UTF-8 (jansson strings always are) */
}
