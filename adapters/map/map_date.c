/* adapters/map/map_date.c: date and date-time pictures.
 *
 * A picture is a string of tokens and literals, compiled once:
 *   YYYY or CCYY  year, 4 digits       MM  month     DD  day
 *   hh  hour 00-23    mm  minute    ss  second
 *   .fff  an optional fraction of a second ('.' and 1-9 digits)
 *   Z     a time zone: 'Z', +hh:mm, -hh:mm (or +hhmm when parsing)
 * Anything that is not a letter is a literal, and so is 'T'. X12 writes
 * its formats in capitals (D8 = CCYYMMDD, TM = HHMM); here the time
 * letters are lower case so that MM (month) and mm (minute) differ.
 * Presets: iso-date = YYYY-MM-DD, iso-datetime = YYYY-MM-DDThh:mm:ss.fffZ
 * (RFC 3339, the canonical forms). */
#include "adapters/map/map_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    const char *picture;
} presets[] = {
    {"iso-date", "YYYY-MM-DD"},
    {"iso-datetime", "YYYY-MM-DDThh:mm:ss.fffZ"},
};

static const struct {
    const char *tok;
    int field;
} tokens[] = {
    {"YYYY", MP_F_YEAR}, {"CCYY", MP_F_YEAR},     {"MM", MP_F_MONTH},
    {"DD", MP_F_DAY},    {"hh", MP_F_HOUR},       {"mm", MP_F_MINUTE},
    {"ss", MP_F_SECOND}, {".fff", MP_F_FRACTION}, {"Z", MP_F_ZONE},
};

int mp_date_compile(mp_arena *a, const char *text, const mp_datefmt **out,
                    char *why, size_t why_size)
{
    mp_datefmt *f = mp_alloc(a, sizeof(*f));
    f->text = mp_strdup(a, text);
    const char *pic = text;
    for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
        if (strcmp(text, presets[i].name) == 0)
            pic = presets[i].picture;
    f->picture = pic;
    for (const char *p = pic; *p;) {
        if (f->count == sizeof(f->items) / sizeof(f->items[0])) {
            snprintf(why, why_size, "date picture '%s' is too long", text);
            return LX_ESYNTAX;
        }
        size_t k, n = sizeof(tokens) / sizeof(tokens[0]);
        for (k = 0; k < n; k++)
            if (strncmp(p, tokens[k].tok, strlen(tokens[k].tok)) == 0)
                break;
        if (k < n) {
            if (f->fields & (unsigned)tokens[k].field) {
                snprintf(why, why_size, "date picture '%s' has '%s' twice",
                         text, tokens[k].tok);
                return LX_ESYNTAX;
            }
            f->fields |= (unsigned)tokens[k].field;
            f->items[f->count++].tok = tokens[k].field;
            p += strlen(tokens[k].tok);
            continue;
        }
        if (isalpha((unsigned char)*p) && *p != 'T') {
            snprintf(why, why_size,
                     "date picture '%s': unknown letter '%c' at character "
                     "%zu (tokens: YYYY CCYY MM DD hh mm ss .fff Z)",
                     text, *p, (size_t)(p - pic) + 1);
            return LX_ESYNTAX;
        }
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) {
            snprintf(why, why_size,
                     "date picture '%s': character %zu is "
                     "not printable ASCII",
                     text, (size_t)(p - pic) + 1);
            return LX_ESYNTAX;
        }
        f->items[f->count].tok = 0;
        f->items[f->count++].lit = *p++;
    }
    unsigned need_date = MP_F_YEAR | MP_F_MONTH | MP_F_DAY;
    unsigned date = f->fields & need_date;
    if (date != need_date && date != (MP_F_YEAR | MP_F_MONTH) &&
        date != MP_F_YEAR && date != 0) {
        snprintf(why, why_size,
                 "date picture '%s': a day needs a month and "
                 "a month needs a year",
                 text);
        return LX_ESYNTAX;
    }
    if ((f->fields & MP_F_MINUTE && !(f->fields & MP_F_HOUR)) ||
        (f->fields & MP_F_SECOND && !(f->fields & MP_F_MINUTE)) ||
        (f->fields & MP_F_FRACTION && !(f->fields & MP_F_SECOND))) {
        snprintf(why, why_size,
                 "date picture '%s': minutes need hours, "
                 "seconds minutes, fractions seconds",
                 text);
        return LX_ESYNTAX;
    }
    if (f->fields == 0) {
        snprintf(why, why_size, "date picture '%s' has no field", text);
        return LX_ESYNTAX;
    }
    *out = f;
    return 0;
}

static bool digits(const char **p, const char *end, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (*p >= end || !isdigit((unsigned char)**p))
            return false;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *out = v;
    return true;
}

static bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int month_days(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

static bool zone_at(const char **pp, const char *end, int *zone_min)
{
    const char *p = *pp;
    if (p < end && *p == 'Z') {
        *zone_min = 0;
        *pp = p + 1;
        return true;
    }
    if (p >= end || (*p != '+' && *p != '-'))
        return false;
    int sign = *p == '-' ? -1 : 1, h, m;
    p++;
    if (!digits(&p, end, 2, &h))
        return false;
    if (p < end && *p == ':')
        p++;
    if (!digits(&p, end, 2, &m) || h > 23 || m > 59)
        return false;
    *zone_min = sign * (h * 60 + m);
    *pp = p;
    return true;
}

bool mp_zone_parse(const char *s, int *zone_min)
{
    const char *end = s + strlen(s);
    return zone_at(&s, end, zone_min) && s == end;
}

bool mp_date_parse(const mp_datefmt *f, const char *s, size_t len,
                   mp_datetime *dt)
{
    memset(dt, 0, sizeof(*dt));
    dt->month = dt->day = 1;
    const char *p = s, *end = s + len;
    for (size_t i = 0; i < f->count; i++) {
        bool ok = true;
        switch (f->items[i].tok) {
        case 0:
            ok = p < end && *p == f->items[i].lit;
            p++;
            break;
        case MP_F_YEAR:
            ok = digits(&p, end, 4, &dt->year);
            break;
        case MP_F_MONTH:
            ok = digits(&p, end, 2, &dt->month) && dt->month >= 1 &&
                 dt->month <= 12;
            break;
        case MP_F_DAY:
            ok = digits(&p, end, 2, &dt->day) && dt->day >= 1;
            break;
        case MP_F_HOUR:
            ok = digits(&p, end, 2, &dt->hour) && dt->hour <= 23;
            break;
        case MP_F_MINUTE:
            ok = digits(&p, end, 2, &dt->minute) && dt->minute <= 59;
            break;
        case MP_F_SECOND:
            ok = digits(&p, end, 2, &dt->second) && dt->second <= 59;
            break;
        case MP_F_FRACTION:
            if (p < end && *p == '.') {
                size_t n = 0;
                p++;
                while (p < end && isdigit((unsigned char)*p) &&
                       n + 1 < sizeof(dt->fraction))
                    dt->fraction[n++] = *p++;
                dt->fraction[n] = '\0';
                ok = n > 0 && !(p < end && isdigit((unsigned char)*p));
            }
            break;
        case MP_F_ZONE:
            ok = zone_at(&p, end, &dt->zone_min);
            dt->has_zone = ok;
            break;
        }
        if (!ok)
            return false;
    }
    if (p != end)
        return false;
    if (f->fields & MP_F_DAY && dt->day > month_days(dt->year, dt->month))
        return false;
    return true;
}

size_t mp_date_format(const mp_datefmt *f, const mp_datetime *dt, char *buf,
                      size_t size)
{
    size_t n = 0;
    if (dt->year < 0 || dt->year > 9999)
        return 0;
    for (size_t i = 0; i < f->count; i++) {
        int w;
        size_t room = size - n;
        switch (f->items[i].tok) {
        case 0:
            w = snprintf(buf + n, room, "%c", f->items[i].lit);
            break;
        case MP_F_YEAR:
            w = snprintf(buf + n, room, "%04d", dt->year);
            break;
        case MP_F_MONTH:
            w = snprintf(buf + n, room, "%02d", dt->month);
            break;
        case MP_F_DAY:
            w = snprintf(buf + n, room, "%02d", dt->day);
            break;
        case MP_F_HOUR:
            w = snprintf(buf + n, room, "%02d", dt->hour);
            break;
        case MP_F_MINUTE:
            w = snprintf(buf + n, room, "%02d", dt->minute);
            break;
        case MP_F_SECOND:
            w = snprintf(buf + n, room, "%02d", dt->second);
            break;
        case MP_F_FRACTION:
            w = dt->fraction[0] ? snprintf(buf + n, room, ".%s", dt->fraction)
                                : 0;
            break;
        case MP_F_ZONE: {
            int z = dt->zone_min, az = z < 0 ? -z : z;
            w = z == 0 ? snprintf(buf + n, room, "Z")
                       : snprintf(buf + n, room, "%c%02d:%02d",
                                  z < 0 ? '-' : '+', az / 60, az % 60);
            break;
        }
        default:
            w = 0;
        }
        if (w < 0 || (size_t)w >= room)
            return 0;
        n += (size_t)w;
    }
    return n;
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back
 * (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms"). */
static long days_from_civil(long y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, int *y, int *m, int *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

void mp_date_to_zone(mp_datetime *dt, int zone_min)
{
    LX_ASSERT(dt->has_zone);
    long minutes = days_from_civil(dt->year, dt->month, dt->day) * 1440 +
                   dt->hour * 60 + dt->minute - dt->zone_min + zone_min;
    long days = minutes >= 0 ? minutes / 1440 : -((-minutes + 1439) / 1440);
    long rest = minutes - days * 1440;
    civil_from_days(days, &dt->year, &dt->month, &dt->day);
    dt->hour = (int)(rest / 60);
    dt->minute = (int)(rest % 60);
    dt->zone_min = zone_min;
}
