/* core/json_int.h: the two halves of lx_json_parse, and the fast writer
 * behind the dumps, for core/json.c and for the tests that hold each
 * against jansson.
 *
 * jansson reads its input one character at a time through a callback and
 * copies every token into a growing buffer before it builds the value:
 * for a 3.7 KB FHIR Patient that is ~520,000 instructions, more than
 * everything else a request costs. lx_json_read scans the text in place
 * (a string without escapes goes from the input straight to
 * json_stringn_nocheck) and builds the tree jansson would: the same
 * values, integers and reals told apart the same way, object keys in
 * document order. It gives up on anything it does not handle itself and on
 * every error; lx_json_parse then asks jansson, so errors (message, line,
 * column, offset) and the rare inputs left to it (a \u0000 escape, an
 * integer of more than 18 digits, nesting deeper than LX_JSON_READ_DEPTH,
 * a duplicated key, a real strtod cannot read whole) come out exactly as
 * jansson reports them.
 *
 * Threads: no state; any number of threads at once. */
#ifndef LX_CORE_JSON_INT_H
#define LX_CORE_JSON_INT_H

#include "core/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Nesting lx_json_read handles itself; deeper documents go to jansson
 * (whose own limit is JSON_PARSER_MAX_DEPTH). */
#define LX_JSON_READ_DEPTH 256

/* buf[0..len) (borrowed; need not be NUL-terminated) as one JSON value
 * with lx_json_parse's rules (any value at the top, duplicated keys
 * refused, \u0000 allowed): a new reference, or NULL when the reader
 * leaves the text to jansson (an error, or one of the rare inputs above). */
json_t *lx_json_read(const char *buf, size_t len);

/* The four hex digits at s (s[0..4) must be readable) as a \uXXXX
 * escape's value in *v: 0, or -1 when one is not a hex digit. Shared by
 * the reader and lx_json_locate's scanner. */
int lx_json_hex4(const unsigned char *s, uint32_t *v);

/* Nesting lx_json_write writes itself; deeper values go to jansson. */
#define LX_JSON_WRITE_DEPTH_MAX 64

/* v as json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY, plus JSON_SORT_KEYS
 * when sort_keys) writes it, byte for byte: malloc'd (free()),
 * NUL-terminated, its length in *len (may be NULL); NULL when it leaves v
 * to jansson (invalid UTF-8, nesting past LX_JSON_WRITE_DEPTH_MAX). The
 * writer behind lx_json_dump_canonical and lx_json_dump_compact. */
char *lx_json_write(const json_t *v, bool sort_keys, size_t *len);

/* lx_json_parse done by jansson alone (json_loadb). Same contract. */
LX_NODISCARD int lx_json_parse_jansson(const char *buf, size_t len,
                                       const char *where, size_t max_len,
                                       json_t **out, lx_error *err);

#endif
