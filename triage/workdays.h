/*
 * workdays: the Chinese working-day calendar that case deadlines are
 * counted in ("passed on within 5 working days").
 *
 * A working day is Monday to Friday, except the public holidays the State
 * Council announces each November for the next year, plus the weekend days
 * it declares make-up working days (调休上班). Those two lists are data, not
 * code: deploy/holidays.txt holds them, one declared year at a time, and the
 * administrator adds next year's when it is announced. A date in a year the
 * file does not declare is "unknown": it is counted Monday to Friday, and
 * the computation says so (workdays_add's fallback flag) so that the caller
 * can log a warning and count it in a metric; nothing here logs.
 *
 * Dates are civil (proleptic Gregorian) dates, the date of Beijing time the
 * caller has already derived; the arithmetic is days-from-civil on plain
 * integers, with no time_t, clock or time zone.
 *
 * A calendar is plain data in caller storage (no allocation): any number of
 * threads may read one at once. workdays_load and workdays_parse write it
 * only when the whole file is valid, so a failed reload keeps the calendar
 * in use; they must not run while another thread reads the same struct (load
 * into a second one and switch pointers instead).
 *
 * The file format (deploy/holidays.txt explains it to administrators):
 *
 *     # comment; also after an entry
 *     year 2026                   the year's calendar is complete below
 *     off  2026-01-01..2026-01-03 days off (a range, both ends included)
 *     off  2026-04-06             one day off
 *     work 2026-02-14             a Saturday or Sunday that is worked
 *
 * Each `off` or `work` day must lie in a year declared by an earlier `year`
 * line. Errors: an unknown keyword, a date that does not exist, a range
 * that ends before it starts, a year declared twice, a day listed twice or
 * both off and work, a `work` day that is not a Saturday or Sunday, an `off`
 * line whose days are all Saturdays and Sundays (it would change nothing, so
 * it is a mistake), a declared year without a single weekday off (every year
 * has New Year's Day: a year declared before its days were typed in would
 * otherwise pass for a year without holidays), a file declaring no year.
 */
#ifndef TIPD_TRIAGE_WORKDAYS_H
#define TIPD_TRIAGE_WORKDAYS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WORKDAYS_MAX_YEARS 64       /* declared years in one calendar */
#define WORKDAYS_MAX_FILE (1 << 20) /* bytes of a calendar file */
#define WORKDAYS_MAX_ADD 1000       /* working days workdays_add counts */

/* A date outside these years is invalid everywhere here. */
#define WORKDAYS_MIN_YEAR 1970
#define WORKDAYS_MAX_YEAR 9999

/* A civil date. */
struct workdays_date {
    int year;  /* WORKDAYS_MIN_YEAR..WORKDAYS_MAX_YEAR */
    int month; /* 1..12 */
    int day;   /* 1..28-31 */
};

/* One declared year; bit i of a map is the year's day i (0 = 1 January). */
struct workdays_year {
    int year;
    uint8_t off[46];  /* days off */
    uint8_t work[46]; /* Saturdays and Sundays that are working days */
};

/* A calendar. Caller storage; its fields are private to workdays.c. */
struct workdays {
    struct workdays_year years[WORKDAYS_MAX_YEARS]; /* in file order */
    int year_count;
};

/* An empty calendar: no year is declared, every date counts Monday to
 * Friday with the fallback flag. */
void workdays_init(struct workdays *w);
/* Nothing to free (the calendar owns no memory); leaves w empty. */
void workdays_cleanup(struct workdays *w);

/*
 * Reads the calendar file at path (borrowed) into w. 0; or a negative errno
 * (-ENOENT and the like if the file cannot be read, -EFBIG above
 * WORKDAYS_MAX_FILE, -EINVAL if its content is wrong) with err (errlen
 * bytes, may be NULL) naming the file, the line and what is wrong, as in
 * "deploy/holidays.txt:12: 2026-02-30 is not a date", and w unchanged.
 */
int workdays_load(struct workdays *w, const char *path, char *err,
                  size_t errlen);

/* The same from len bytes of text (borrowed, need not be NUL-terminated);
 * name (borrowed) is what error messages call it. 0 or -EINVAL. */
int workdays_parse(struct workdays *w, const char *text, size_t len,
                   const char *name, char *err, size_t errlen);

/* Whether w declares year y (its dates are counted from the file). */
bool workdays_covers(const struct workdays *w, int y);

/* Whether y-m-d is a working day: from the file if its year is declared,
 * else Monday to Friday. False for a date that does not exist. */
bool workdays_is_workday(const struct workdays *w, int y, int m, int d);

/*
 * The deadline of something received on `from` and due "within n working
 * days": the n-th working day after `from`. The receipt day is day 0 and is
 * never counted, whether or not it is a working day; the deadline is the end
 * of the returned day. So with n = 5, a report received on Friday
 * 2026-02-13 is due on 2026-02-27 (Saturday 2026-02-14 is worked, then the
 * Spring Festival runs to Monday 2026-02-23); n = 0 returns `from`.
 *
 * *fallback is set to whether any of the counted days (after `from`, up to
 * and including the deadline) lies in a year w does not declare, and was
 * therefore counted Monday to Friday: the caller logs a warning and counts
 * it. 0; or -EINVAL if `from` is not a valid date or n is outside
 * 0..WORKDAYS_MAX_ADD, -ERANGE if the deadline is after WORKDAYS_MAX_YEAR;
 * *deadline and *fallback are then untouched.
 */
int workdays_add(const struct workdays *w, struct workdays_date from, int n,
                 struct workdays_date *deadline, bool *fallback);

/* Civil-date arithmetic, valid for years WORKDAYS_MIN_YEAR..MAX_YEAR. */

/* Whether y-m-d exists (in range, 29 February only in leap years). */
bool workdays_date_valid(int y, int m, int d);
/* Days since 1970-01-01 of a valid date. */
long workdays_days_from_civil(int y, int m, int d);
/* The date `days` days after 1970-01-01. */
struct workdays_date workdays_civil_from_days(long days);
/* ISO weekday of the day `days` after 1970-01-01: 1 Monday .. 7 Sunday. */
int workdays_weekday(long days);

#endif
