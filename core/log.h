/* core/log.h: the structured logger.
 *
 * One line per record on stderr, either text
 *   2026-11-23T09:30:00.123Z info  trace=01JD3W... store: opened /var/lib/lingua
 * or JSON lines ({"time":..,"level":..,"trace":..,"msg":..}) for log
 * shippers. Every record carries a trace id when one is known: pass it
 * explicitly, or set the calling thread's current trace with
 * lx_log_set_trace() (used when the argument is NULL).
 * The level check happens before any formatting. Thread-safe: one write(2)
 * per record, so lines from threads never interleave.
 * Never log payloads or element values: they are personal data. */
#ifndef LX_CORE_LOG_H
#define LX_CORE_LOG_H

#include "core/error.h"

typedef enum lx_log_level {
    LX_LOG_DEBUG = 0,
    LX_LOG_INFO = 1,
    LX_LOG_WARN = 2,
    LX_LOG_ERROR = 3,
    LX_LOG_OFF = 4
} lx_log_level;

typedef enum lx_log_format { LX_LOG_TEXT = 0, LX_LOG_JSON = 1 } lx_log_format;

/* Process-wide settings; set them once at start-up before threads run. */
void lx_log_set_level(lx_log_level level);
lx_log_level lx_log_get_level(void);
void lx_log_set_format(lx_log_format format);

/* "debug", "info", "warn", "error", "off" -> level. Errors: LX_EINVAL. */
int lx_log_parse_level(const char *name, lx_log_level *out, lx_error *err);

/* The calling thread's current trace id (copied; NULL clears it). */
void lx_log_set_trace(const char *trace);

/* Write one record. `trace` may be NULL (the thread's current trace is used,
 * or none). Prefer the macros, which skip formatting below the level. */
void lx_log_write(lx_log_level level, const char *trace, const char *fmt, ...)
    LX_PRINTF(3, 4);

#define LX_LOG_AT(level, trace, ...)                                         \
    do {                                                                     \
        if ((level) >= lx_log_get_level())                                   \
            lx_log_write((level), (trace), __VA_ARGS__);                     \
    } while (0)
#define lx_log_debug(trace, ...) LX_LOG_AT(LX_LOG_DEBUG, trace, __VA_ARGS__)
#define lx_log_info(trace, ...) LX_LOG_AT(LX_LOG_INFO, trace, __VA_ARGS__)
#define lx_log_warn(trace, ...) LX_LOG_AT(LX_LOG_WARN, trace, __VA_ARGS__)
#define lx_log_error(trace, ...) LX_LOG_AT(LX_LOG_ERROR, trace, __VA_ARGS__)

#endif
