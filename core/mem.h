/* core/mem.h: allocation that aborts on exhaustion.
 *
 * Input limits bound every allocation made on behalf of a message, so
 * running out of memory is a sizing bug, not a condition to recover from. */
#ifndef LX_CORE_MEM_H
#define LX_CORE_MEM_H

#include <stddef.h>

void *lx_xmalloc(size_t n);
void *lx_xcalloc(size_t count, size_t n);
void *lx_xrealloc(void *p, size_t n);
char *lx_xstrdup(const char *s);
char *lx_xstrndup(const char *s, size_t n);

#endif
