/* core/id.h: sortable unique identifiers (ULID).
 *
 * 26 characters of Crockford base32: 48 bits of milliseconds since the
 * epoch, then 80 random bits. Within one process ids are strictly
 * increasing even inside one millisecond (the random part is incremented),
 * so sorting by id sorts by creation. Thread-safe. */
#ifndef LX_CORE_ID_H
#define LX_CORE_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LX_ULID_LEN 26
#define LX_ULID_SIZE (LX_ULID_LEN + 1)

/* Write a new ULID and a NUL into out[LX_ULID_SIZE]. Never fails: the
 * random part comes from getrandom(2) once per process, then increments. */
void lx_ulid_new(char out[LX_ULID_SIZE]);

/* True when s[0..len) is a well-formed ULID (case-insensitive). */
bool lx_ulid_valid(const char *s, size_t len);

/* The creation time (ms since the epoch) encoded in a ULID's first ten
 * characters; 0 when s is not a ULID. */
uint64_t lx_ulid_time_ms(const char *s, size_t len);

/* Milliseconds since the epoch, wall clock. */
uint64_t lx_now_ms(void);

/* Milliseconds from a monotonic clock, for timeouts and latencies. */
uint64_t lx_mono_ms(void);

/* Format ms since the epoch as RFC 3339 UTC with milliseconds:
 * "2026-11-23T09:30:00.123Z". out needs LX_TIME_SIZE bytes. */
#define LX_TIME_SIZE 25
void lx_time_format(uint64_t ms, char out[LX_TIME_SIZE]);

#endif
