/* adapters/rest/rest_template.h: URL templates of the REST adapter.
 *
 * A template is text with placeholders in braces: "/holders/{native_id}",
 * "/items?since={cursor}", "/people/{/identifiers/0/value}". The caller
 * says what each name means; this module only cuts the text and escapes
 * the values (RFC 3986 percent-encoding, so a value never adds a path
 * segment or a query parameter). "{{" and "}}" are literal braces. */
#ifndef LX_ADAPTERS_REST_TEMPLATE_H
#define LX_ADAPTERS_REST_TEMPLATE_H

#include "core/error.h"

#include <stdbool.h>
#include <stddef.h>

/* Longest placeholder name. */
#define LX_REST_VAR_MAX 256

/* The value of placeholder `name`, or NULL when it has none (the
 * expansion then fails naming the placeholder). The value may be written
 * into scratch[size] and returned; it is copied before the next call. */
typedef const char *(*lx_rest_var_fn)(void *ctx, const char *name,
                                      char *scratch, size_t size);

/* Expand tpl into out[size] (NUL-terminated). Values are percent-escaped
 * unless `raw`. Errors: LX_EINVAL (an unclosed or empty brace, a
 * placeholder without a value: the message names it, never a value),
 * LX_ELIMIT (the result does not fit). */
LX_NODISCARD int lx_rest_template_expand(const char *tpl, lx_rest_var_fn fn,
                                         void *ctx, bool raw, char *out,
                                         size_t size, lx_error *err);

/* Check tpl's syntax and that each placeholder is one `known` accepts
 * (known may be NULL: any name). For configuration time. Errors:
 * LX_EINVAL naming the placeholder. */
typedef bool (*lx_rest_var_known_fn)(const char *name);
LX_NODISCARD int lx_rest_template_check(const char *tpl,
                                        lx_rest_var_known_fn known,
                                        lx_error *err);

#endif
