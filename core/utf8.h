/* core/utf8.h: UTF-8 sequences one at a time.
 *
 * Several readers decide byte by byte what to do with text (the JSON
 * readers, the FHIR XML writer, the X12 element check); they need the same
 * answer as jansson's own check (RFC 3629: no overlong form, no surrogate,
 * nothing past U+10FFFF), so there is one decoder.
 *
 * Threads: no state. */
#ifndef LX_CORE_UTF8_H
#define LX_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The UTF-8 sequence at s (s < end, s[0] >= 0x80): its length, the code
 * point in *cp; 0 when it is not valid or is cut by end (*cp untouched). */
size_t lx_utf8_next(const unsigned char *s, const unsigned char *end,
                    uint32_t *cp);

/* Code point v (at most U+10FFFF) as UTF-8 in out: its length, 1 to 4. */
size_t lx_utf8_put(uint32_t v, unsigned char out[4]);

/* Whether s[0..len) is valid UTF-8; when it is not, *bad (may be NULL)
 * receives the offset of the first byte that is not. */
bool lx_utf8_valid(const char *s, size_t len, size_t *bad);

#endif
