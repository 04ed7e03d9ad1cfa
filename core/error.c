/* core/error.c: see error.h. */
#include "core/error.h"

#include <stdarg.h>
#include <string.h>

void lx_error_clear(lx_error *err)
{
    if (!err)
        return;
    memset(err, 0, sizeof(*err));
    err->offset = -1;
}

int lx_error_set(lx_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

int lx_error_vset(lx_error *err, int code, const char *fmt, va_list ap)
{
    if (!err)
        return code;
    err->code = code;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    return code;
}

int lx_error_at(lx_error *err, const char *where, long line, long column)
{
    if (!err)
        return LX_EINVAL;
    snprintf(err->where, sizeof(err->where), "%s", where ? where : "");
    err->line = line;
    err->column = column;
    return err->code;
}

void lx_error_prefix(lx_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char pre[LX_ERROR_MSG_MAX], old[LX_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof(pre), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    snprintf(err->msg, sizeof(err->msg), "%s: %s", pre, old);
}

const char *lx_strerror(int code)
{
    switch (code) {
    case LX_OK:
        return "success";
#define LX_ERR_CASE(name, value, msg)                                        \
    case name:                                                               \
        return msg;
        LX_ERRORS(LX_ERR_CASE)
#undef LX_ERR_CASE
    }
    return "unknown error";
}

const char *lx_error_name(int code)
{
    switch (code) {
    case LX_OK:
        return "LX_OK";
#define LX_ERR_NAME(name, value, msg)                                        \
    case name:                                                               \
        return #name;
        LX_ERRORS(LX_ERR_NAME)
#undef LX_ERR_NAME
    }
    return "LX_EUNKNOWN";
}

const char *lx_error_format(const lx_error *err, char *buf, size_t len)
{
    LX_ASSERT(buf && len > 0);
    if (!err || err->code == 0) {
        snprintf(buf, len, "no error");
        return buf;
    }
    const char *msg = err->msg[0] ? err->msg : lx_strerror(err->code);
    if (err->where[0] && err->line > 0 && err->column > 0)
        snprintf(buf, len, "%s:%ld:%ld: %s", err->where, err->line,
                 err->column, msg);
    else if (err->where[0] && err->line > 0)
        snprintf(buf, len, "%s:%ld: %s", err->where, err->line, msg);
    else if (err->where[0])
        snprintf(buf, len, "%s: %s", err->where, msg);
    else
        snprintf(buf, len, "%s", msg);
    return buf;
}

void lx_panic(const char *file, int line, const char *what)
{
    fprintf(stderr, "lingua: bug: %s:%d: assertion failed: %s\n", file, line,
            what);
    abort();
}
