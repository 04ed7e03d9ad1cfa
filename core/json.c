/* core/json.c: see json.h (lx_json_locate lives in json_locate.c). */
#include "core/json.h"
#include "core/json_int.h"
#include "core/mem.h"

#include <errno.h>
#include <string.h>

int lx_json_parse(const char *buf, size_t len, const char *where,
                  size_t max_len, json_t **out, lx_error *err)
{
    *out = NULL;
    if (len <= max_len) {
        *out = lx_json_read(buf, len);
        if (*out)
            return 0;
    }
    return lx_json_parse_jansson(buf, len, where, max_len, out, err);
}

json_t *lx_json_load_own(const char *buf, size_t len, json_error_t *je)
{
    json_t *v = lx_json_read(buf, len);
    if (v && (json_is_object(v) || json_is_array(v)))
        return v;
    json_decref(v);
    return json_loadb(buf, len, 0, je);
}

int lx_json_parse_jansson(const char *buf, size_t len, const char *where,
                          size_t max_len, json_t **out, lx_error *err)
{
    *out = NULL;
    if (len > max_len) {
        lx_error_set(err, LX_ELIMIT,
                     "payload of %zu bytes is over the limit of %zu bytes",
                     len, max_len);
        return lx_error_at(err, where, 0, 0);
    }
    json_error_t je;
    /* JSON_REJECT_DUPLICATES: a duplicated key is ambiguous input; we would
     * otherwise silently keep the last one. */
    json_t *v = json_loadb(buf, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES |
                                         JSON_ALLOW_NUL, &je);
    if (!v) {
        lx_error_set(err, LX_ESYNTAX, "invalid JSON: %s", je.text);
        lx_error_at(err, where, je.line > 0 ? je.line : 0,
                    je.column > 0 ? je.column : 0);
        if (err)
            err->offset = je.position;
        return LX_ESYNTAX;
    }
    *out = v;
    return 0;
}

int lx_json_load_file(const char *path, size_t max_len, json_t **out,
                      lx_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        lx_error_set(err, LX_EIO, "cannot open: %s", strerror(e));
        if (err)
            err->lib_code = e;
        return lx_error_at(err, path, 0, 0);
    }
    size_t cap = 65536, len = 0;
    char *buf = lx_xmalloc(cap);
    for (;;) {
        if (len == cap) {
            if (cap > max_len)
                break;
            cap *= 2;
            buf = lx_xrealloc(buf, cap);
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    int rerr = ferror(f);
    fclose(f);
    int rc;
    if (rerr) {
        lx_error_set(err, LX_EIO, "cannot read");
        rc = lx_error_at(err, path, 0, 0);
    } else {
        rc = lx_json_parse(buf, len, path, max_len, out, err);
    }
    free(buf);
    return rc;
}

char *lx_json_dump_canonical(const json_t *v, size_t *len)
{
    char *s = lx_json_write(v, true, len);
    if (s)
        return s;
    /* Something only jansson writes exactly as jansson does. */
    s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    LX_ASSERT(s != NULL);
    if (len)
        *len = strlen(s);
    return s;
}

char *lx_json_dump_compact(const json_t *v, size_t *len)
{
    char *s = lx_json_write(v, false, len);
    if (s)
        return s;
    s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s && len)
        *len = strlen(s);
    return s;
}

void lx_json_pointer_append(char *buf, size_t size, const char *token)
{
    size_t n = strlen(buf);
    if (n + 1 >= size)
        return;
    buf[n++] = '/';
    for (const char *p = token; *p && n + 1 < size; p++) {
        if (*p == '~' || *p == '/') {
            if (n + 2 >= size)
                break;
            buf[n++] = '~';
            buf[n++] = *p == '~' ? '0' : '1';
        } else {
            buf[n++] = *p;
        }
    }
    buf[n] = '\0';
}

void lx_json_pointer_append_index(char *buf, size_t size, size_t index)
{
    char tok[32];
    snprintf(tok, sizeof(tok), "%zu", index);
    lx_json_pointer_append(buf, size, tok);
}

const char *lx_json_str(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *lx_json_from_error(const lx_error *err)
{
    json_t *o = json_object();
    json_object_set_new(o, "code", json_string(lx_error_name(err->code)));
    json_object_set_new(o, "message",
                        json_string(err->msg[0] ? err->msg
                                                : lx_strerror(err->code)));
    if (err->where[0] || err->code == LX_ESCHEMA)
        json_object_set_new(o, "where", json_string(err->where));
    if (err->line > 0)
        json_object_set_new(o, "line", json_integer(err->line));
    if (err->column > 0)
        json_object_set_new(o, "column", json_integer(err->column));
    return o;
}
