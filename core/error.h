/* core/error.h: the one error table and the located error value.
 *
 * Every fallible function in Lingua returns 0 or a negative LX_E* code and
 * takes `lx_error *err` last (err may be NULL). lx_error is fixed-size and
 * never allocates, so it can be filled on any path, including out of memory
 * in a third-party library. Messages name the position and the rule, never
 * the value: values are personal data. */
#ifndef LX_CORE_ERROR_H
#define LX_CORE_ERROR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(__GNUC__)
#define LX_NODISCARD __attribute__((warn_unused_result))
#define LX_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define LX_NORETURN __attribute__((noreturn))
#else
#define LX_NODISCARD
#define LX_PRINTF(f, a)
#define LX_NORETURN
#endif

/* X(name, value, message). Values are stable: they appear in the bus
 * protocol and in exit codes. */
#define LX_ERRORS(X)                                                         \
    X(LX_EINVAL, -1, "invalid argument")                                     \
    X(LX_ESYNTAX, -2, "syntax error")                                        \
    X(LX_ESCHEMA, -3, "schema violation")                                    \
    X(LX_ELIMIT, -4, "limit exceeded")                                       \
    X(LX_ENOTFOUND, -5, "not found")                                         \
    X(LX_ECONFLICT, -6, "conflict")                                          \
    X(LX_ESTORE, -7, "store error")                                          \
    X(LX_EIO, -8, "i/o error")                                               \
    X(LX_EREMOTE, -9, "remote error")                                        \
    X(LX_EFULL, -10, "store full")                                           \
    X(LX_ECONFIG, -11, "configuration error")                                \
    X(LX_ETIMEOUT, -12, "timed out")                                         \
    X(LX_ECLOSED, -13, "closed")                                             \
    X(LX_EUNSUPPORTED, -14, "unsupported")

enum lx_code {
    LX_OK = 0,
#define LX_ERR_ENUM(name, value, msg) name = value,
    LX_ERRORS(LX_ERR_ENUM)
#undef LX_ERR_ENUM
};

#define LX_ERROR_WHERE_MAX 256
#define LX_ERROR_MSG_MAX 512

typedef struct lx_error {
    int code;      /* LX_E* or 0 */
    int lib_code;  /* the underlying library's code (errno, MDB_*, ...), or 0 */
    long line;     /* 1-based, 0 when not known */
    long column;   /* 1-based, 0 when not known */
    long offset;   /* byte offset in the input, -1 when not known */
    char where[LX_ERROR_WHERE_MAX]; /* file, JSON pointer or segment path */
    char msg[LX_ERROR_MSG_MAX];
} lx_error;

/* Clear err (no-op when err is NULL). */
void lx_error_clear(lx_error *err);

/* Fill err with code and a printf-style message; returns code so that
 * `return lx_error_set(err, LX_ESYNTAX, "...");` reads naturally.
 * Location fields are left as they are (set them with lx_error_at_*). */
int lx_error_set(lx_error *err, int code, const char *fmt, ...)
    LX_PRINTF(3, 4);

/* The same with a va_list. */
int lx_error_vset(lx_error *err, int code, const char *fmt, va_list ap)
    LX_PRINTF(3, 0);

/* Locate err at `where` (a file name or a JSON pointer) and a line/column
 * (0 for unknown). Returns err->code, or LX_EINVAL when err is NULL. */
int lx_error_at(lx_error *err, const char *where, long line, long column);

/* Prefix err->msg with a context string: "ctx: old message". */
void lx_error_prefix(lx_error *err, const char *fmt, ...) LX_PRINTF(2, 3);

/* Static text of a code ("syntax error"), and its name ("LX_ESYNTAX"). */
const char *lx_strerror(int code);
const char *lx_error_name(int code);

/* Format err as one line: "where:line:col: message" with the parts known.
 * Always NUL-terminates buf (len > 0). Returns buf. */
const char *lx_error_format(const lx_error *err, char *buf, size_t len);

/* Contract violations (bugs, not bad data): always on, print and abort. */
LX_NORETURN void lx_panic(const char *file, int line, const char *what);
#define LX_ASSERT(cond)                                                      \
    do {                                                                     \
        if (!(cond))                                                         \
            lx_panic(__FILE__, __LINE__, #cond);                             \
    } while (0)

#endif
