/* adapters/fhir/fhir_json.h: the JSON text of a FHIR request body to a
 * jansson tree, faster than json_loadb.
 *
 * jansson reads its input one character at a time through a callback and
 * copies every token into a growing buffer before it builds the value: for
 * a 3.7 KB Patient that is ~520,000 instructions, more than everything
 * else the FHIR facade does with the request. This reader scans the text
 * in place (a string without escapes goes from the input straight to
 * json_stringn_nocheck) and builds the same tree jansson would: the same
 * values, integers and reals told apart the same way, object keys in
 * document order.
 *
 * It only ever accepts what lx_json_parse accepts, with the same result.
 * Anything it does not handle itself, and every error, goes to
 * lx_json_parse on the same text, so that errors (message, line, column,
 * offset) and the rare inputs it leaves to jansson (a \u0000 escape, an
 * integer of more than 18 digits, nesting deeper than
 * LX_FHIR_JSON_FAST_DEPTH, a duplicated key) come out exactly as
 * lx_json_parse reports them.
 *
 * Threads: no state; any number of threads at once. */
#ifndef LX_ADAPTERS_FHIR_FHIR_JSON_H
#define LX_ADAPTERS_FHIR_FHIR_JSON_H

#include "core/error.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Nesting this reader handles itself; deeper documents go to jansson
 * (whose own limit is JSON_PARSER_MAX_DEPTH). */
#define LX_FHIR_JSON_FAST_DEPTH 256

/* Parse buf[0..len) (borrowed; need not be NUL-terminated) as
 * lx_json_parse(buf, len, where, max_len, out, err) does, with the same
 * flags (any value at the top, duplicated keys rejected, \u0000 allowed in
 * strings).
 * Ownership: *out is a new reference; NULL on error.
 * Errors: those of lx_json_parse (LX_ELIMIT over max_len, LX_ESYNTAX with
 * line, column and offset). */
LX_NODISCARD int lx_fhir_json_parse(const char *buf, size_t len,
                                    const char *where, size_t max_len,
                                    json_t **out, lx_error *err);

/* The UTF-8 sequence at s (s < end, s[0] >= 0x80) as RFC 3629 and
 * jansson's utf8_check_full allow it (no overlong form, no surrogate,
 * nothing past U+10FFFF, not cut by end): its length, the code point in
 * *cp; 0 when it is not valid (*cp untouched). */
size_t lx_fhir_utf8_next(const unsigned char *s, const unsigned char *end,
                         uint32_t *cp);

/* Code point v (at most U+10FFFF) as UTF-8 in out: its length, 1 to 4. */
size_t lx_fhir_utf8_put(uint32_t v, unsigned char out[4]);

#endif
