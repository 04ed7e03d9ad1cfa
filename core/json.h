/* core/json.h: jansson helpers every module shares.
 *
 * jansson's own ownership rule holds: functions named *_new steal the
 * reference they are given, the others borrow. Here a json_t ** parameter
 * receives a new reference the caller owns (json_decref). */
#ifndef LX_CORE_JSON_H
#define LX_CORE_JSON_H

#include "core/error.h"

#include <jansson.h>
#include <stddef.h>

/* Default ceiling of one payload (16 MiB); configurable in the appliance. */
#define LX_JSON_MAX_DEFAULT ((size_t)16 << 20)

/* Parse buf[0..len) as one JSON value (any type; no trailing data).
 * `where` names the input in errors (file name, "request body", ...).
 * Errors: LX_ELIMIT when len > max_len, LX_ESYNTAX with line, column and
 * offset. *out is NULL on error. */
LX_NODISCARD int lx_json_parse(const char *buf, size_t len, const char *where,
                               size_t max_len, json_t **out, lx_error *err);

/* JSON text Lingua wrote itself (stored records, events, history): what
 * json_loadb(buf, len, 0, je) answers (an object or an array; NULL with
 * je filled, when je is not NULL, on error), read by lx_json_parse's
 * in-place reader first. New reference. */
json_t *lx_json_load_own(const char *buf, size_t len, json_error_t *je);

/* Read and parse a whole file. Errors: LX_EIO (cannot open/read), LX_ELIMIT,
 * LX_ESYNTAX located at path:line:column. */
LX_NODISCARD int lx_json_load_file(const char *path, size_t max_len,
                                   json_t **out, lx_error *err);

/* Serialize compactly with object keys sorted: the canonical form that
 * content hashes are computed on, byte for byte jansson's
 * json_dumps(JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) (written
 * by lx_json_write, ~10x cheaper). Returns a malloc'd string (free()), its
 * length in *len when len is not NULL. Aborts on out of memory. */
char *lx_json_dump_canonical(const json_t *v, size_t *len);

/* The same, keys in the object's order: json_dumps(v, JSON_COMPACT |
 * JSON_ENCODE_ANY) byte for byte. NULL when jansson cannot write v
 * (invalid UTF-8 in a string). */
char *lx_json_dump_compact(const json_t *v, size_t *len);

/* Append one reference token to a JSON pointer in buf[size], escaping '~'
 * as "~0" and '/' as "~1" (RFC 6901). Truncates at size. */
void lx_json_pointer_append(char *buf, size_t size, const char *token);

/* Same for an array index. */
void lx_json_pointer_append_index(char *buf, size_t size, size_t index);

/* Find where the value at `pointer` (RFC 6901, "" is the root) starts in
 * the JSON text[0..len): 1-based line and column of its first character.
 * Used to locate semantic errors (wrong type, unknown key) in a file that
 * jansson has already parsed. For an object member the position is that of
 * its VALUE, not of its name: in {"a": 1} "/a" is line 1, column 7.
 * Lines and columns are counted the way jansson counts them in syntax
 * errors, so both kinds of error agree: a line ends at '\n' only, and a
 * column counts characters (bytes that start a UTF-8 sequence), not bytes.
 * Member names are compared after decoding both sides: the token's "~0"
 * and "~1" and the JSON string's escapes, "\u00e9" and surrogate pairs
 * included. Array tokens are indices ("0", "12"; "-" never resolves).
 * The text is not validated, but any input is safe: the scan is bounded by
 * len, never recurses and never allocates.
 * Returns 0, LX_ENOTFOUND when the pointer does not resolve in the text,
 * or LX_EINVAL when pointer is not a valid RFC 6901 pointer (not "" and not
 * starting with '/', or '~' not followed by '0' or '1'); line and column
 * are 0 on error. */
int lx_json_locate(const char *text, size_t len, const char *pointer,
                   long *line, long *column);

/* An error as a JSON object {"code": "LX_ESCHEMA", "message": ...,
 * "where": ..., "line": .., "column": ..} (location members only when
 * known). New reference. */
json_t *lx_json_from_error(const lx_error *err);

/* Borrowed string member or NULL when absent or not a string. */
const char *lx_json_str(const json_t *obj, const char *key);

#endif
