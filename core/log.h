/* core/log.h: the structured logger.
 *
 * One line per record on stderr, either text
 *   2026-11-23T09:30:00.123Z info  trace=01JD3W... store: opened /var/lib/lingua
 * or JSON lines ({"time":..,"level":..,"trace":..,"msg":..}) for log
 * shippers. Every record carries a trace id when one is known: pass it
 * explicitly, or set the calling thread's current trace with
 * lx_log_set_trace() (used when the argument is NULL).
 * The level check happens before any formatting. Thread-safe: one write(2)
 * per record to fd 2, so lines from threads never interleave.
 * Never log payloads or element values: they are personal data.
 *
 * Details of the two formats:
 * - text: "<time> <level padded to 5> [trace=<id> ]<message>\n". Control
 *   characters in the message or trace are written as \n, \r, \t or \xHH
 *   so that one record is always one line; other bytes are kept as they are.
 * - JSON: {"time":"..","level":"..","trace":"..","msg":".."} and "\n";
 *   "trace" is left out when there is none. Strings are escaped per RFC 8259
 *   (quotes, backslashes, control characters as \u00XX) and bytes that are
 *   not valid UTF-8 become U+FFFD, so every line is valid JSON.
 * Time is RFC 3339 UTC with milliseconds (lx_time_format in core/id.h).
 * A record longer than LX_LOG_LINE_MAX bytes is cut at a character
 * boundary and its message ends with " [truncated]". */
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

/* Ceiling of one record, newline included: PIPE_BUF on Linux, so a record
 * written to a pipe is also atomic against other processes. */
#define LX_LOG_LINE_MAX 4096

/* Ceiling of a trace id, NUL included; longer ids are cut. */
#define LX_LOG_TRACE_MAX 64

/* Process-wide settings; set them once at start-up before threads run. */
void lx_log_set_level(lx_log_level level);
lx_log_level lx_log_get_level(void);
void lx_log_set_format(lx_log_format format);
lx_log_format lx_log_get_format(void);

/* "debug", "info", "warn", "error", "off" -> level. Errors: LX_EINVAL
 * (NULL or another name; *out is then unchanged). */
int lx_log_parse_level(const char *name, lx_log_level *out, lx_error *err);

/* "text", "json" -> format. Errors: LX_EINVAL, as above. */
int lx_log_parse_format(const char *name, lx_log_format *out, lx_error *err);

/* The calling thread's current trace id (copied, cut at LX_LOG_TRACE_MAX;
 * NULL or "" clears it). It stays until changed, also across records. */
void lx_log_set_trace(const char *trace);

/* The calling thread's current trace id, or NULL. Borrowed: valid until the
 * next lx_log_set_trace() on this thread. */
const char *lx_log_get_trace(void);

/* Write one record. `trace` may be NULL or "" (the thread's current trace is
 * used, or none). Prefer the macros, which skip formatting below the level.
 * level must be LX_LOG_DEBUG..LX_LOG_ERROR (a bug otherwise); a record
 * below the current level is dropped here too. Write errors are ignored:
 * there is nowhere left to report them. */
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
