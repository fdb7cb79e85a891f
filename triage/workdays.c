/*
 * workdays: a bitmap per declared year, and civil dates as day numbers.
 *
 * Every date is turned into its number of days since 1970-01-01 (Howard
 * Hinnant's days_from_civil, exact for the proleptic Gregorian calendar), so
 * "the next day" is +1 and the weekday is a remainder, with no time_t and no
 * time zone anywhere. A declared year keeps two bitmaps indexed by day of
 * year, one for days off and one for make-up working days; a date's status
 * is one bit test after a linear search of at most WORKDAYS_MAX_YEARS years.
 * workdays_add simply walks forward one day at a time: deadlines are a few
 * weeks long, and WORKDAYS_MAX_ADD bounds the walk.
 *
 * The parser builds the whole calendar in a private struct and copies it
 * over the caller's only at the end, after every check has passed, which is
 * what makes a failed reload harmless.
 */
#include "workdays.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oom.h"

static const char *const weekday_names[] = {
    "",         "Monday", "Tuesday",  "Wednesday",
    "Thursday", "Friday", "Saturday", "Sunday",
};

bool workdays_date_valid(int y, int m, int d)
{
    static const int month_days[12] = {31, 28, 31, 30, 31, 30,
                                       31, 31, 30, 31, 30, 31};
    if (y < WORKDAYS_MIN_YEAR || y > WORKDAYS_MAX_YEAR || m < 1 || m > 12 ||
        d < 1)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= month_days[m - 1] + (m == 2 && leap);
}

/* The year runs from March so that the leap day is its last day; the years
 * are all positive here, so the eras' divisions need no negative case. */
long workdays_days_from_civil(int y, int m, int d)
{
    long yy = y - (m <= 2);
    long era = yy / 400;
    long yoe = yy - era * 400;                                   /* 0..399 */
    long doy = (153L * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 */
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            /* 0..146096 */
    return era * 146097 + doe - 719468;
}

struct workdays_date workdays_civil_from_days(long days)
{
    long z = days + 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    struct workdays_date out;
    out.day = (int)(doy - (153 * mp + 2) / 5 + 1);
    out.month = (int)(mp < 10 ? mp + 3 : mp - 9);
    out.year = (int)(yoe + era * 400 + (out.month <= 2));
    return out;
}

/* 1970-01-01 was a Thursday. */
int workdays_weekday(long days)
{
    long r = (days + 3) % 7;
    if (r < 0)
        r += 7;
    return (int)r + 1;
}

void workdays_init(struct workdays *w)
{
    memset(w, 0, sizeof(*w));
}

void workdays_cleanup(struct workdays *w)
{
    workdays_init(w);
}

static const struct workdays_year *find_year(const struct workdays *w, int y)
{
    for (int i = 0; i < w->year_count; i++)
        if (w->years[i].year == y)
            return &w->years[i];
    return NULL;
}

bool workdays_covers(const struct workdays *w, int y)
{
    return find_year(w, y) != NULL;
}

static bool bit(const uint8_t *map, long i)
{
    return (map[i / 8] >> (i % 8)) & 1;
}

/* Whether day number z is a working day; *known says whether its year is
 * declared (else the answer is Monday to Friday). */
static bool day_is_workday(const struct workdays *w, long z, bool *known)
{
    struct workdays_date c = workdays_civil_from_days(z);
    bool weekday = workdays_weekday(z) <= 5;
    const struct workdays_year *yr = find_year(w, c.year);
    *known = yr != NULL;
    if (yr == NULL)
        return weekday;
    long doy = z - workdays_days_from_civil(c.year, 1, 1);
    if (bit(yr->off, doy))
        return false;
    if (bit(yr->work, doy))
        return true;
    return weekday;
}

bool workdays_is_workday(const struct workdays *w, int y, int m, int d)
{
    if (!workdays_date_valid(y, m, d))
        return false;
    bool known;
    return day_is_workday(w, workdays_days_from_civil(y, m, d), &known);
}

int workdays_add(const struct workdays *w, struct workdays_date from, int n,
                 struct workdays_date *deadline, bool *fallback)
{
    if (!workdays_date_valid(from.year, from.month, from.day) || n < 0 ||
        n > WORKDAYS_MAX_ADD)
        return -EINVAL;
    long z = workdays_days_from_civil(from.year, from.month, from.day);
    long last = workdays_days_from_civil(WORKDAYS_MAX_YEAR, 12, 31);
    bool fb = false;
    for (int counted = 0; counted < n;) {
        z++;
        if (z > last)
            return -ERANGE;
        bool known;
        if (day_is_workday(w, z, &known))
            counted++;
        if (!known)
            fb = true;
    }
    *deadline = workdays_civil_from_days(z);
    *fallback = fb;
    return 0;
}

/* The parser's state: the calendar being built and where it is in the
 * text, for messages. */
struct parser {
    struct workdays cal;
    int year_line[WORKDAYS_MAX_YEARS]; /* the line declaring each year */
    const char *name;                  /* borrowed; the file's name */
    int line;                          /* 1-based; 0 for the whole file */
    char *err;                         /* borrowed; may be NULL */
    size_t errlen;
};

/* Writes "name:line: message" into the caller's err; returns -EINVAL. */
static int fail(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(struct parser *p, const char *fmt, ...)
{
    if (p->err == NULL || p->errlen == 0)
        return -EINVAL;
    int n;
    if (p->line > 0)
        n = snprintf(p->err, p->errlen, "%s:%d: ", p->name, p->line);
    else
        n = snprintf(p->err, p->errlen, "%s: ", p->name);
    if (n < 0 || (size_t)n >= p->errlen)
        return -EINVAL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* A token as it goes into a message: at most this many bytes of it. */
#define SHOWN 40
#define SHOW(s, len) ((len) > SHOWN ? SHOWN : (int)(len)), (s)

static void date_text(char out[48], long z)
{
    struct workdays_date c = workdays_civil_from_days(z);
    snprintf(out, 48, "%04d-%02d-%02d", c.year, c.month, c.day);
}

/* Parses exactly `len` decimal digits; -1 if one of them is not a digit. */
static int digits(const char *s, size_t len)
{
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* A YYYY-MM-DD date as a day number; -EINVAL with a message if it is not. */
static int parse_date(struct parser *p, const char *s, size_t len, long *z)
{
    int y = -1, m = -1, d = -1;
    if (len == 10 && s[4] == '-' && s[7] == '-') {
        y = digits(s, 4);
        m = digits(s + 5, 2);
        d = digits(s + 8, 2);
    }
    if (!workdays_date_valid(y, m, d))
        return fail(p, "%.*s is not a date", SHOW(s, len));
    *z = workdays_days_from_civil(y, m, d);
    return 0;
}

static int parse_year(struct parser *p, const char *s, size_t len)
{
    int y = len == 4 ? digits(s, 4) : -1;
    if (y < WORKDAYS_MIN_YEAR || y > WORKDAYS_MAX_YEAR)
        return fail(p, "%.*s is not a year (%d..%d)", SHOW(s, len),
                    WORKDAYS_MIN_YEAR, WORKDAYS_MAX_YEAR);
    for (int i = 0; i < p->cal.year_count; i++)
        if (p->cal.years[i].year == y)
            return fail(p, "year %d is declared twice (first on line %d)", y,
                        p->year_line[i]);
    if (p->cal.year_count == WORKDAYS_MAX_YEARS)
        return fail(p, "more than %d years declared", WORKDAYS_MAX_YEARS);
    int i = p->cal.year_count++;
    p->cal.years[i].year = y;
    p->year_line[i] = p->line;
    return 0;
}

/* An `off` or `work` entry: one date or FROM..TO, every day checked. */
static int parse_days(struct parser *p, bool off, const char *s, size_t len)
{
    const char *kw = off ? "off" : "work";
    long from, to;
    const char *dots = NULL;
    for (size_t i = 0; i + 1 < len; i++)
        if (s[i] == '.' && s[i + 1] == '.') {
            dots = s + i;
            break;
        }
    if (dots == NULL) {
        if (parse_date(p, s, len, &from) < 0)
            return -EINVAL;
        to = from;
    } else {
        size_t left = (size_t)(dots - s);
        if (parse_date(p, s, left, &from) < 0 ||
            parse_date(p, dots + 2, len - left - 2, &to) < 0)
            return -EINVAL;
        if (to < from)
            return fail(p, "%.*s ends before it starts", SHOW(s, len));
    }

    bool weekday_off = false;
    for (long z = from; z <= to; z++) {
        char date[48];
        date_text(date, z);
        int y = workdays_civil_from_days(z).year;
        struct workdays_year *yr = NULL;
        for (int i = 0; i < p->cal.year_count; i++)
            if (p->cal.years[i].year == y)
                yr = &p->cal.years[i];
        if (yr == NULL)
            return fail(p,
                        "%s is in %d, which no 'year %d' line above "
                        "declares",
                        date, y, y);
        int wd = workdays_weekday(z);
        if (!off && wd <= 5)
            return fail(p,
                        "%s is a %s: a work day must be a Saturday or "
                        "Sunday (Monday to Friday are working days anyway)",
                        date, weekday_names[wd]);
        long doy = z - workdays_days_from_civil(y, 1, 1);
        uint8_t *mine = off ? yr->off : yr->work;
        uint8_t *other = off ? yr->work : yr->off;
        if (bit(mine, doy))
            return fail(p, "%s is listed twice as %s", date, kw);
        if (bit(other, doy))
            return fail(p, "%s is both off and work", date);
        mine[doy / 8] |= (uint8_t)(1u << (doy % 8));
        if (wd <= 5)
            weekday_off = true;
    }
    if (off && !weekday_off)
        return fail(p,
                    "off %.*s holds only Saturdays and Sundays, which are "
                    "off anyway (a wrong date?)",
                    SHOW(s, len));
    return 0;
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* One line without its newline: a comment, blank, or KEYWORD ARGUMENT. */
static int parse_line(struct parser *p, const char *s, const char *e)
{
    if (memchr(s, '\0', (size_t)(e - s)) != NULL)
        return fail(p, "NUL byte in the line");
    const char *hash = memchr(s, '#', (size_t)(e - s));
    if (hash != NULL)
        e = hash;
    while (s < e && blank(*s))
        s++;
    while (e > s && blank(e[-1]))
        e--;
    if (s == e)
        return 0;

    const char *kw = s;
    while (s < e && !blank(*s))
        s++;
    size_t kwlen = (size_t)(s - kw);
    while (s < e && blank(*s))
        s++;
    const char *arg = s;
    while (s < e && !blank(*s))
        s++;
    size_t arglen = (size_t)(s - arg);
    while (s < e && blank(*s))
        s++;

    bool is_year = kwlen == 4 && memcmp(kw, "year", 4) == 0;
    bool is_off = kwlen == 3 && memcmp(kw, "off", 3) == 0;
    bool is_work = kwlen == 4 && memcmp(kw, "work", 4) == 0;
    if (!is_year && !is_off && !is_work)
        return fail(p, "unknown keyword '%.*s' (expected year, off or work)",
                    SHOW(kw, kwlen));
    if (arglen == 0)
        return fail(p, "'%.*s' needs %s", SHOW(kw, kwlen),
                    is_year ? "a year, as in 'year 2027'"
                            : "a date YYYY-MM-DD or a range FROM..TO");
    if (s < e)
        return fail(p, "unexpected '%.*s' after '%.*s'",
                    SHOW(s, (size_t)(e - s)), SHOW(arg, arglen));
    if (is_year)
        return parse_year(p, arg, arglen);
    return parse_days(p, is_off, arg, arglen);
}

/* Whole-file checks, once every line has been read. */
static int check_years(struct parser *p)
{
    p->line = 0;
    if (p->cal.year_count == 0)
        return fail(p, "declares no year (expected lines like 'year 2026')");
    for (int i = 0; i < p->cal.year_count; i++) {
        const struct workdays_year *yr = &p->cal.years[i];
        long jan1 = workdays_days_from_civil(yr->year, 1, 1);
        long days = workdays_days_from_civil(yr->year + 1, 1, 1) - jan1;
        bool weekday_off = false;
        for (long doy = 0; doy < days && !weekday_off; doy++)
            if (bit(yr->off, doy) && workdays_weekday(jan1 + doy) <= 5)
                weekday_off = true;
        if (!weekday_off) {
            p->line = p->year_line[i];
            return fail(p,
                        "year %d has no weekday off (every year has New "
                        "Year's Day): list its days off, or leave the year "
                        "out until they are announced",
                        yr->year);
        }
    }
    return 0;
}

int workdays_parse(struct workdays *w, const char *text, size_t len,
                   const char *name, char *err, size_t errlen)
{
    struct parser p;
    memset(&p, 0, sizeof(p));
    workdays_init(&p.cal);
    p.name = name;
    p.err = err;
    p.errlen = errlen;

    const char *s = text, *end = text + len;
    while (s < end) {
        p.line++;
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *e = nl != NULL ? nl : end;
        if (parse_line(&p, s, e) < 0)
            return -EINVAL;
        s = nl != NULL ? nl + 1 : end;
    }
    if (check_years(&p) < 0)
        return -EINVAL;
    *w = p.cal;
    return 0;
}

int workdays_load(struct workdays *w, const char *path, char *err,
                  size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        int rc = -errno;
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-rc));
        return rc;
    }
    char *buf = malloc((size_t)WORKDAYS_MAX_FILE + 1);
    if (buf == NULL)
        oom_abort();
    errno = 0;
    size_t len = fread(buf, 1, (size_t)WORKDAYS_MAX_FILE + 1, f);
    int rc;
    if (ferror(f)) {
        rc = errno != 0 ? -errno : -EIO;
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
    } else if (len > WORKDAYS_MAX_FILE) {
        rc = -EFBIG;
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: larger than %d bytes", path,
                     WORKDAYS_MAX_FILE);
    } else {
        rc = workdays_parse(w, buf, len, path, err, errlen);
    }
    free(buf);
    fclose(f);
    return rc;
}
