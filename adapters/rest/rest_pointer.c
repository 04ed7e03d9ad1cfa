/* adapters/rest/rest_pointer.c: see rest_pointer.h. */
#include "adapters/rest/rest_pointer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool lx_rest_pointer_valid(const char *ptr)
{
    if (!ptr || (*ptr && *ptr != '/'))
        return false;
    for (const char *p = ptr; *p; p++)
        if (*p == '~' && p[1] != '0' && p[1] != '1')
            return false;
    return true;
}

const json_t *lx_rest_pointer_get(const json_t *doc, const char *ptr)
{
    if (!lx_rest_pointer_valid(ptr))
        return NULL;
    const json_t *v = doc;
    const char *p = ptr;
    char tok[256];
    while (v && *p == '/') {
        p++;
        size_t n = 0;
        while (*p && *p != '/') {
            if (n + 1 >= sizeof(tok))
                return NULL;
            if (*p == '~') {
                tok[n++] = p[1] == '0' ? '~' : '/';
                p += 2;
            } else {
                tok[n++] = *p++;
            }
        }
        tok[n] = '\0';
        if (json_is_object(v)) {
            v = json_object_get(v, tok);
        } else if (json_is_array(v)) {
            if (n == 0 || strspn(tok, "0123456789") != n ||
                (n > 1 && tok[0] == '0'))
                return NULL;
            v = json_array_get(v, strtoul(tok, NULL, 10));
        } else {
            return NULL;
        }
    }
    return v;
}

bool lx_rest_scalar_text(const json_t *v, char *buf, size_t size)
{
    int n;
    if (json_is_string(v))
        n = snprintf(buf, size, "%s", json_string_value(v));
    else if (json_is_integer(v))
        n = snprintf(buf, size, "%" JSON_INTEGER_FORMAT,
                     json_integer_value(v));
    else if (json_is_real(v))
        n = snprintf(buf, size, "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        n = snprintf(buf, size, "%s", json_is_true(v) ? "true" : "false");
    else
        return false;
    return n > 0 && (size_t)n < size;
}
