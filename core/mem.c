/* core/mem.c: see mem.h. */
#include "core/mem.h"
#include "core/error.h"

#include <string.h>

static void *check(void *p, size_t n)
{
    if (!p && n) {
        fprintf(stderr, "lingua: out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

void *lx_xmalloc(size_t n) { return check(malloc(n ? n : 1), n); }

void *lx_xcalloc(size_t count, size_t n)
{
    return check(calloc(count ? count : 1, n ? n : 1), count * n);
}

void *lx_xrealloc(void *p, size_t n) { return check(realloc(p, n ? n : 1), n); }

char *lx_xstrdup(const char *s) { return lx_xstrndup(s, strlen(s)); }

char *lx_xstrndup(const char *s, size_t n)
{
    char *d = lx_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}
