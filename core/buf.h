/* core/buf.h: a growable byte buffer with a ceiling.
 *
 * Every growable buffer in Lingua has a maximum: appends past it fail with
 * LX_ELIMIT and leave the buffer as it was, so a hostile input can never
 * make one grow without bound. The content is always NUL-terminated. */
#ifndef LX_CORE_BUF_H
#define LX_CORE_BUF_H

#include "core/error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct lx_buf {
    char *data; /* owned; NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* ceiling on len; 0 means SIZE_MAX / 2 */
} lx_buf;

/* Storage provided by the caller: { NULL, 0, 0, max }. */
void lx_buf_init(lx_buf *b, size_t max);
void lx_buf_fini(lx_buf *b);
void lx_buf_reset(lx_buf *b); /* len = 0, keeps the storage */

/* Append bytes / a C string / printf output. Errors: LX_ELIMIT. */
/* Make room for n more bytes at once (a body whose length is announced):
 * one allocation instead of doubling from 256. Errors: LX_ELIMIT past max. */
LX_NODISCARD int lx_buf_reserve(lx_buf *b, size_t n);
LX_NODISCARD int lx_buf_append(lx_buf *b, const void *p, size_t n);
LX_NODISCARD int lx_buf_puts(lx_buf *b, const char *s);
LX_NODISCARD int lx_buf_printf(lx_buf *b, const char *fmt, ...) LX_PRINTF(2, 3);

/* Append s[0..n) as a JSON string literal with quotes (RFC 8259 escaping;
 * bytes >= 0x80 are copied as they are: the input is UTF-8). */
LX_NODISCARD int lx_buf_json_string(lx_buf *b, const char *s, size_t n);

/* Append v as 8 big-endian bytes (LMDB keys sort as numbers this way). */
LX_NODISCARD int lx_buf_u64be(lx_buf *b, uint64_t v);

/* Take the data: the caller owns it (free()); the buffer is empty after. */
char *lx_buf_take(lx_buf *b, size_t *len);

void lx_u64be_put(uint8_t out[8], uint64_t v);
uint64_t lx_u64be_get(const uint8_t in[8]);

#endif
