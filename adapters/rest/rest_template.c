/* adapters/rest/rest_template.c: see rest_template.h. */
#include "adapters/rest/rest_template.h"
#include "core/http_client.h"

#include <stdlib.h>
#include <string.h>

typedef struct sink {
    char *out;
    size_t size, len;
} sink;

static int put(sink *s, const char *p, size_t n, lx_error *err)
{
    if (s->len + n >= s->size)
        return lx_error_set(err, LX_ELIMIT, "the expanded template is over "
                                            "%zu bytes", s->size - 1);
    memcpy(s->out + s->len, p, n);
    s->len += n;
    s->out[s->len] = '\0';
    return 0;
}

/* Walk tpl; for each placeholder call `each` with its name. */
typedef int (*each_fn)(void *ctx, const char *name, lx_error *err);
typedef int (*text_fn)(void *ctx, const char *p, size_t n, lx_error *err);

static int walk(const char *tpl, text_fn text, each_fn each, void *ctx,
                lx_error *err)
{
    const char *p = tpl;
    while (*p) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            int rc = text(ctx, p, 1, err);
            if (rc != 0)
                return rc;
            p += 2;
            continue;
        }
        if (*p == '}')
            return lx_error_set(err, LX_EINVAL, "template: '}' at character "
                                                "%zu has no '{' (write '}}' "
                                                "for a brace)",
                                (size_t)(p - tpl) + 1);
        if (*p != '{') {
            size_t n = strcspn(p, "{}");
            int rc = text(ctx, p, n, err);
            if (rc != 0)
                return rc;
            p += n;
            continue;
        }
        const char *end = strchr(p + 1, '}');
        size_t n = end ? (size_t)(end - p - 1) : 0;
        if (!end || n == 0 || n > LX_REST_VAR_MAX || memchr(p + 1, '{', n))
            return lx_error_set(err, LX_EINVAL, "template: the placeholder at "
                                                "character %zu is not closed, "
                                                "empty or too long",
                                (size_t)(p - tpl) + 1);
        char name[LX_REST_VAR_MAX + 1];
        memcpy(name, p + 1, n);
        name[n] = '\0';
        int rc = each(ctx, name, err);
        if (rc != 0)
            return rc;
        p = end + 1;
    }
    return 0;
}

typedef struct expand_ctx {
    sink s;
    lx_rest_var_fn fn;
    void *ctx;
    bool raw;
} expand_ctx;

static int expand_text(void *ctx, const char *p, size_t n, lx_error *err)
{
    return put(&((expand_ctx *)ctx)->s, p, n, err);
}

static int expand_var(void *ctx, const char *name, lx_error *err)
{
    expand_ctx *x = ctx;
    char scratch[1024];
    const char *v = x->fn(x->ctx, name, scratch, sizeof(scratch));
    if (!v)
        return lx_error_set(err, LX_EINVAL, "template: placeholder {%s} has "
                                            "no value here",
                            name);
    if (x->raw)
        return put(&x->s, v, strlen(v), err);
    char *e = lx_http_escape(v);
    int rc = put(&x->s, e, strlen(e), err);
    free(e);
    return rc;
}

int lx_rest_template_expand(const char *tpl, lx_rest_var_fn fn, void *ctx,
                            bool raw, char *out, size_t size, lx_error *err)
{
    expand_ctx x = {.s = {out, size, 0}, .fn = fn, .ctx = ctx, .raw = raw};
    if (size)
        out[0] = '\0';
    return walk(tpl, expand_text, expand_var, &x, err);
}

static int check_text(void *ctx, const char *p, size_t n, lx_error *err)
{
    (void)ctx, (void)p, (void)n, (void)err;
    return 0;
}

static int check_var(void *ctx, const char *name, lx_error *err)
{
    lx_rest_var_known_fn known = *(lx_rest_var_known_fn *)ctx;
    if (known && !known(name))
        return lx_error_set(err, LX_EINVAL, "template: unknown placeholder "
                                            "{%s}",
                            name);
    return 0;
}

int lx_rest_template_check(const char *tpl, lx_rest_var_known_fn known,
                           lx_error *err)
{
    return walk(tpl, check_text, check_var, &known, err);
}
