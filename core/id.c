/* core/id.c: see id.h. */
#include "core/id.h"
#include "core/error.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t last_ms;
static uint8_t last_rand[10];
static bool seeded;

uint64_t lx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t lx_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void fill_random(uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        LX_ASSERT(n > 0);
        got += (size_t)n;
    }
}

void lx_ulid_new(char out[LX_ULID_SIZE])
{
    uint8_t b[16];
    uint64_t ms = lx_now_ms();

    pthread_mutex_lock(&lock);
    if (!seeded || ms > last_ms) {
        fill_random(last_rand, sizeof(last_rand));
        seeded = true;
        if (ms > last_ms)
            last_ms = ms;
    } else {
        /* Same millisecond (or the clock stepped back): keep the old time
         * and increment the random part, so ids stay monotonic. */
        for (int i = 9; i >= 0; i--)
            if (++last_rand[i] != 0)
                break;
    }
    ms = last_ms;
    for (int i = 5; i >= 0; i--) {
        b[i] = (uint8_t)(ms & 0xff);
        ms >>= 8;
    }
    memcpy(b + 6, last_rand, 10);
    pthread_mutex_unlock(&lock);

    /* 128 bits as 26 base32 digits: the first digit holds 3 bits. */
    int bit = -2;
    for (int i = 0; i < LX_ULID_LEN; i++, bit += 5) {
        unsigned v = 0;
        for (int k = 0; k < 5; k++) {
            int pos = bit + k;
            v <<= 1;
            if (pos >= 0)
                v |= (b[pos / 8] >> (7 - pos % 8)) & 1u;
        }
        out[i] = crockford[v];
    }
    out[LX_ULID_LEN] = '\0';
}

bool lx_ulid_valid(const char *s, size_t len)
{
    if (len != LX_ULID_LEN)
        return false;
    if (s[0] < '0' || s[0] > '7')
        return false; /* the first digit carries only 3 bits */
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (!strchr(crockford, c) || c == '\0')
            return false;
    }
    return true;
}

void lx_time_format(uint64_t ms, char out[LX_TIME_SIZE])
{
    time_t secs = (time_t)(ms / 1000u);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, LX_TIME_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000u));
}

uint64_t lx_ulid_time_ms(const char *s, size_t len)
{
    if (!lx_ulid_valid(s, len))
        return 0;
    uint64_t ms = 0;
    for (int i = 0; i < 10; i++) {
        char c = s[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        const char *p = strchr(crockford, c);
        ms = (ms << 5) | (uint64_t)(p - crockford);
    }
    return ms;
}
