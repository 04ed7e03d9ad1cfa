/* adapters/rest/rest_pointer.h: JSON pointers (RFC 6901) into the native
 * documents of the REST adapter: where the records of a page are, where a
 * record's id is, where the next page's URL is. */
#ifndef LX_ADAPTERS_REST_POINTER_H
#define LX_ADAPTERS_REST_POINTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The value at ptr ("" is doc itself), borrowed from doc; NULL when the
 * pointer does not resolve or is not a pointer. */
const json_t *lx_rest_pointer_get(const json_t *doc, const char *ptr);

/* Whether ptr is "" or starts with '/' and escapes '~' properly. */
bool lx_rest_pointer_valid(const char *ptr);

/* A scalar as text into buf[size]: a string as is, an integer or a real
 * in decimal, true/false. false for null, objects, arrays, an empty
 * string, or text that does not fit. */
bool lx_rest_scalar_text(const json_t *v, char *buf, size_t size);

#endif
