/* core/log.c: see log.h.
 *
 * A record is built in one fixed-size stack buffer and handed to write(2)
 * once, so nothing allocates and records from threads never interleave. */
#include "core/log.h"
#include "core/id.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

/* Relaxed atomics: the settings are written once at start-up (log.h), but
 * reading them from every thread must not be a data race for TSan. */
static atomic_int g_level = LX_LOG_INFO;
static atomic_int g_format = LX_LOG_TEXT;

static _Thread_local char t_trace[LX_LOG_TRACE_MAX];

static const char truncated_mark[] = " [truncated]";

/* Level names, padded for the text format so that messages line up. */
static const char *const level_names[] = {"debug", "info", "warn", "error",
                                          "off"};
static const char *const level_padded[] = {"debug", "info ", "warn ",
                                           "error"};

void lx_log_set_level(lx_log_level level)
{
    LX_ASSERT(level >= LX_LOG_DEBUG && level <= LX_LOG_OFF);
    atomic_store_explicit(&g_level, (int)level, memory_order_relaxed);
}

lx_log_level lx_log_get_level(void)
{
    return (lx_log_level)atomic_load_explicit(&g_level, memory_order_relaxed);
}

void lx_log_set_format(lx_log_format format)
{
    LX_ASSERT(format == LX_LOG_TEXT || format == LX_LOG_JSON);
    atomic_store_explicit(&g_format, (int)format, memory_order_relaxed);
}

lx_log_format lx_log_get_format(void)
{
    return (lx_log_format)atomic_load_explicit(&g_format,
                                               memory_order_relaxed);
}

int lx_log_parse_level(const char *name, lx_log_level *out, lx_error *err)
{
    if (name) {
        for (int i = LX_LOG_DEBUG; i <= LX_LOG_OFF; i++) {
            if (strcmp(name, level_names[i]) == 0) {
                *out = (lx_log_level)i;
                return 0;
            }
        }
    }
    return lx_error_set(err, LX_EINVAL,
                        "log level must be one of debug, info, warn, error, "
                        "off");
}

int lx_log_parse_format(const char *name, lx_log_format *out, lx_error *err)
{
    if (name && strcmp(name, "text") == 0) {
        *out = LX_LOG_TEXT;
        return 0;
    }
    if (name && strcmp(name, "json") == 0) {
        *out = LX_LOG_JSON;
        return 0;
    }
    return lx_error_set(err, LX_EINVAL, "log format must be text or json");
}

/* Length of the well-formed UTF-8 sequence at s[0..n), or 0 when the bytes
 * there are not one (RFC 3629 section 4: no overlongs, no surrogates, no
 * code points above U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* The record under construction. `limit` is where the message must stop so
 * that the closing part still fits; `cut` records that it did stop. */
typedef struct line_buf {
    char data[LX_LOG_LINE_MAX];
    size_t len;
    size_t limit;
    bool cut;
} line_buf;

/* Append n bytes as a whole or not at all. */
static bool put(line_buf *b, const char *s, size_t n)
{
    if (n > b->limit - b->len) {
        b->cut = true;
        return false;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return true;
}

static bool puts_(line_buf *b, const char *s) { return put(b, s, strlen(s)); }

/* Append s[0..n) escaped for the format; stops at the limit on a character
 * boundary, never inside an escape or a UTF-8 sequence. */
static void put_escaped(line_buf *b, const char *s, size_t n,
                        lx_log_format format)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        char esc[8];
        size_t esc_len = 0;
        size_t used = 1;
        if (c == '\n' || c == '\r' || c == '\t') {
            esc[0] = '\\';
            esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            esc_len = 2;
        } else if (c < 0x20 || c == 0x7f) {
            if (format == LX_LOG_JSON) {
                memcpy(esc, "\\u00", 4);
                esc_len = 4;
            } else {
                memcpy(esc, "\\x", 2);
                esc_len = 2;
            }
            esc[esc_len++] = hex[c >> 4];
            esc[esc_len++] = hex[c & 15];
        } else if (format == LX_LOG_JSON && (c == '"' || c == '\\')) {
            esc[0] = '\\';
            esc[1] = (char)c;
            esc_len = 2;
        } else if (c >= 0x80) {
            used = utf8_len(u + i, n - i);
            if (used == 0) {
                used = 1;
                if (format == LX_LOG_JSON) {
                    memcpy(esc, "\\ufffd", 6);
                    esc_len = 6;
                }
            }
        }
        bool ok = esc_len ? put(b, esc, esc_len) : put(b, s + i, used);
        if (!ok)
            return;
        i += used;
    }
}

/* Drop an incomplete UTF-8 sequence that vsnprintf's truncation left at the
 * end of s[0..n); returns the new length. */
static size_t trim_partial_utf8(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t back = 0;
    while (back < 3 && back < n && (u[n - 1 - back] & 0xC0) == 0x80)
        back++;
    if (back == n)
        return n;
    size_t lead = n - 1 - back;
    if (u[lead] >= 0xC0 && utf8_len(u + lead, n - lead) == 0)
        return lead;
    return n;
}

static void write_all(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

void lx_log_set_trace(const char *trace)
{
    if (trace == t_trace)
        return; /* lx_log_set_trace(lx_log_get_trace()): already set */
    if (!trace) {
        t_trace[0] = '\0';
        return;
    }
    snprintf(t_trace, sizeof(t_trace), "%s", trace);
}

const char *lx_log_get_trace(void) { return t_trace[0] ? t_trace : NULL; }

void lx_log_write(lx_log_level level, const char *trace, const char *fmt, ...)
{
    LX_ASSERT(level >= LX_LOG_DEBUG && level <= LX_LOG_ERROR);
    if (level < lx_log_get_level())
        return;
    lx_log_format format = lx_log_get_format();
    int saved_errno = errno; /* callers often log right before using errno */

    char msg[LX_LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t msg_len;
    bool msg_cut = false;
    if (n < 0) {
        msg_len = (size_t)snprintf(msg, sizeof(msg), "(unformattable record)");
    } else if ((size_t)n >= sizeof(msg)) {
        msg_len = trim_partial_utf8(msg, sizeof(msg) - 1);
        msg_cut = true;
    } else {
        msg_len = (size_t)n;
    }

    if (!trace || !trace[0])
        trace = lx_log_get_trace();
    size_t trace_len = trace ? strnlen(trace, LX_LOG_TRACE_MAX - 1) : 0;

    char now[LX_TIME_SIZE];
    lx_time_format(lx_now_ms(), now);

    /* The closing part is reserved up front: the marker, then "\"}\n" for
     * JSON or "\n" for text. */
    const char *tail = format == LX_LOG_JSON ? "\"}\n" : "\n";
    line_buf b;
    b.len = 0;
    b.cut = false;
    b.limit = sizeof(b.data) - strlen(tail) - (sizeof(truncated_mark) - 1);

    if (format == LX_LOG_JSON) {
        puts_(&b, "{\"time\":\"");
        puts_(&b, now);
        puts_(&b, "\",\"level\":\"");
        puts_(&b, level_names[level]);
        if (trace_len) {
            puts_(&b, "\",\"trace\":\"");
            put_escaped(&b, trace, trace_len, format);
        }
        puts_(&b, "\",\"msg\":\"");
    } else {
        puts_(&b, now);
        puts_(&b, " ");
        puts_(&b, level_padded[level]);
        puts_(&b, " ");
        if (trace_len) {
            puts_(&b, "trace=");
            put_escaped(&b, trace, trace_len, format);
            puts_(&b, " ");
        }
    }
    put_escaped(&b, msg, msg_len, format);

    b.limit = sizeof(b.data);
    if (b.cut || msg_cut)
        puts_(&b, truncated_mark);
    puts_(&b, tail);
    write_all(b.data, b.len);
    errno = saved_errno;
}
