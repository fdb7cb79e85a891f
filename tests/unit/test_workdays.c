/*
 * Unit tests of workdays: civil-date arithmetic, the shipped calendar
 * (deploy/holidays.txt) against the State Council notices for 2025 and 2026,
 * deadlines across the Spring Festival and National Day, the Monday-Friday
 * fallback outside the declared years, and the file's error messages.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "workdays.h"

#define SHIPPED TIPD_SOURCE_DIR "/deploy/holidays.txt"

static struct workdays_date date(int y, int m, int d)
{
    struct workdays_date out = {y, m, d};
    return out;
}

/* "YYYY-MM-DD" of a date, for comparisons that print well. */
static const char *text(struct workdays_date d, char out[48])
{
    snprintf(out, 48, "%04d-%02d-%02d", d.year, d.month, d.day);
    return out;
}

/* The deadline as text, or "error N"; *fallback gets the flag. */
static const char *deadline(const struct workdays *w, int y, int m, int d,
                            int n, bool *fallback, char out[48])
{
    struct workdays_date due;
    int rc = workdays_add(w, date(y, m, d), n, &due, fallback);
    if (rc != 0) {
        snprintf(out, 48, "error %d", rc);
        return out;
    }
    return text(due, out);
}

static int load_shipped(struct workdays *w)
{
    char err[256] = "";
    workdays_init(w);
    int rc = workdays_load(w, SHIPPED, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    return rc;
}

void test_workdays_civil_dates(void)
{
    char buf[48];
    CHECK_INT(workdays_days_from_civil(1970, 1, 1), 0);
    CHECK_INT(workdays_days_from_civil(2000, 3, 1), 11017);
    CHECK_INT(workdays_days_from_civil(2026, 2, 13), 20497);
    CHECK_STR(text(workdays_civil_from_days(20497), buf), "2026-02-13");
    CHECK_INT(workdays_weekday(0), 4); /* 1970-01-01, a Thursday */
    CHECK_INT(workdays_weekday(20497), 5);
    CHECK_INT(workdays_weekday(workdays_days_from_civil(2026, 2, 14)), 6);
    CHECK_INT(workdays_weekday(workdays_days_from_civil(2025, 9, 28)), 7);

    /* Every day from 1970 to 2100 goes there and back, one day apart. */
    long last = workdays_days_from_civil(2100, 12, 31);
    for (long z = 0; z <= last; z++) {
        struct workdays_date c = workdays_civil_from_days(z);
        CHECK(workdays_date_valid(c.year, c.month, c.day));
        CHECK_INT(workdays_days_from_civil(c.year, c.month, c.day), z);
    }

    CHECK(workdays_date_valid(2024, 2, 29));
    CHECK(workdays_date_valid(2000, 2, 29));
    CHECK(!workdays_date_valid(2100, 2, 29));
    CHECK(!workdays_date_valid(2026, 2, 29));
    CHECK(!workdays_date_valid(2026, 4, 31));
    CHECK(!workdays_date_valid(2026, 13, 1));
    CHECK(!workdays_date_valid(2026, 0, 1));
    CHECK(!workdays_date_valid(2026, 1, 0));
    CHECK(!workdays_date_valid(1969, 12, 31));
    CHECK(!workdays_date_valid(10000, 1, 1));
}

void test_workdays_shipped_calendar(void)
{
    struct workdays w;
    CHECK_INT(load_shipped(&w), 0);
    CHECK(workdays_covers(&w, 2025));
    CHECK(workdays_covers(&w, 2026));
    CHECK(!workdays_covers(&w, 2024));
    CHECK(!workdays_covers(&w, 2027));

    /* Spring Festival 2026: Saturday 14 Feb worked, 15-23 Feb off. */
    CHECK(workdays_is_workday(&w, 2026, 2, 13));
    CHECK(workdays_is_workday(&w, 2026, 2, 14));
    for (int d = 15; d <= 23; d++)
        CHECK(!workdays_is_workday(&w, 2026, 2, d));
    CHECK(workdays_is_workday(&w, 2026, 2, 24));
    CHECK(!workdays_is_workday(&w, 2026, 2, 21)); /* a Saturday */
    CHECK(workdays_is_workday(&w, 2026, 2, 28));  /* Saturday, worked */
    CHECK(!workdays_is_workday(&w, 2026, 3, 7));  /* an ordinary Saturday */

    /* National Day 2025: 1-8 Oct off, Sunday 28 Sep and Saturday 11 Oct
     * worked. */
    CHECK(!workdays_is_workday(&w, 2025, 9, 27));
    CHECK(workdays_is_workday(&w, 2025, 9, 28));
    CHECK(workdays_is_workday(&w, 2025, 9, 30));
    for (int d = 1; d <= 8; d++)
        CHECK(!workdays_is_workday(&w, 2025, 10, d));
    CHECK(workdays_is_workday(&w, 2025, 10, 9));
    CHECK(workdays_is_workday(&w, 2025, 10, 11));
    CHECK(!workdays_is_workday(&w, 2025, 10, 12));

    /* The rest of both notices, a day of each entry. */
    CHECK(!workdays_is_workday(&w, 2025, 1, 1));
    CHECK(workdays_is_workday(&w, 2025, 1, 26));
    CHECK(!workdays_is_workday(&w, 2025, 2, 4));
    CHECK(workdays_is_workday(&w, 2025, 2, 8));
    CHECK(!workdays_is_workday(&w, 2025, 4, 4));
    CHECK(workdays_is_workday(&w, 2025, 4, 27));
    CHECK(!workdays_is_workday(&w, 2025, 5, 5));
    CHECK(!workdays_is_workday(&w, 2025, 6, 2));
    CHECK(!workdays_is_workday(&w, 2026, 1, 2));
    CHECK(workdays_is_workday(&w, 2026, 1, 4));
    CHECK(!workdays_is_workday(&w, 2026, 4, 6));
    CHECK(!workdays_is_workday(&w, 2026, 5, 5));
    CHECK(workdays_is_workday(&w, 2026, 5, 9));
    CHECK(!workdays_is_workday(&w, 2026, 6, 19));
    CHECK(workdays_is_workday(&w, 2026, 9, 20));
    CHECK(!workdays_is_workday(&w, 2026, 9, 25));
    CHECK(!workdays_is_workday(&w, 2026, 10, 7));
    CHECK(workdays_is_workday(&w, 2026, 10, 8));
    CHECK(workdays_is_workday(&w, 2026, 10, 10));
    CHECK(!workdays_is_workday(&w, 2026, 2, 30)); /* no such date */

    /* Both years have 248 working days: nothing missing, nothing extra. */
    for (int y = 2025; y <= 2026; y++) {
        int count = 0;
        for (int m = 1; m <= 12; m++)
            for (int d = 1; d <= 31; d++)
                count += workdays_is_workday(&w, y, m, d);
        CHECK_INT(count, 248);
    }
    workdays_cleanup(&w);
}

void test_workdays_deadlines_spring_festival(void)
{
    struct workdays w;
    char buf[48];
    bool fb = true;
    CHECK_INT(load_shipped(&w), 0);

    /* Received Friday 13 Feb 2026: Saturday 14 is working day 1, the
     * festival runs to Monday 23, then 24-27 Feb are days 2 to 5. */
    CHECK_STR(deadline(&w, 2026, 2, 13, 5, &fb, buf), "2026-02-27");
    CHECK(!fb);
    CHECK_STR(deadline(&w, 2026, 2, 13, 1, &fb, buf), "2026-02-14");
    CHECK_STR(deadline(&w, 2026, 2, 13, 2, &fb, buf), "2026-02-24");
    /* 15 working days, with Saturday 28 Feb worked on the way. */
    CHECK_STR(deadline(&w, 2026, 2, 13, 15, &fb, buf), "2026-03-12");
    /* The receipt day is never counted, worked or not. */
    CHECK_STR(deadline(&w, 2026, 2, 14, 1, &fb, buf), "2026-02-24");
    CHECK_STR(deadline(&w, 2026, 2, 21, 5, &fb, buf), "2026-02-28");
    CHECK_STR(deadline(&w, 2026, 2, 13, 0, &fb, buf), "2026-02-13");
    CHECK(!fb);
    /* New Year 2026: 1-3 Jan off, Sunday 4 Jan worked. */
    CHECK_STR(deadline(&w, 2025, 12, 31, 1, &fb, buf), "2026-01-04");
    CHECK(!fb);
    workdays_cleanup(&w);
}

void test_workdays_deadlines_national_day(void)
{
    struct workdays w;
    char buf[48];
    bool fb = true;
    CHECK_INT(load_shipped(&w), 0);

    /* Friday 26 Sep 2025: Saturday 27 is off, Sunday 28 is worked. */
    CHECK_STR(deadline(&w, 2025, 9, 26, 1, &fb, buf), "2025-09-28");
    CHECK(!fb);
    /* Tuesday 30 Sep: 1-8 Oct off, then 9, 10, Saturday 11, 13, 14. */
    CHECK_STR(deadline(&w, 2025, 9, 30, 5, &fb, buf), "2025-10-14");
    CHECK_STR(deadline(&w, 2025, 9, 30, 15, &fb, buf), "2025-10-28");
    CHECK_STR(deadline(&w, 2025, 10, 1, 3, &fb, buf), "2025-10-11");
    CHECK(!fb);
    workdays_cleanup(&w);
}

void test_workdays_fallback_outside_known_years(void)
{
    struct workdays w;
    char buf[48];
    bool fb = false;
    CHECK_INT(load_shipped(&w), 0);

    /* Ends on 31 Dec 2026, the last known day: no fallback. */
    CHECK_STR(deadline(&w, 2026, 12, 24, 5, &fb, buf), "2026-12-31");
    CHECK(!fb);
    /* Runs into 2027, which is counted Monday to Friday (1 Jan is a
     * Friday and counts, although it will surely be a day off). */
    CHECK_STR(deadline(&w, 2026, 12, 28, 5, &fb, buf), "2027-01-04");
    CHECK(fb);
    CHECK(workdays_is_workday(&w, 2027, 1, 1));
    CHECK(!workdays_is_workday(&w, 2027, 1, 2));
    /* Wholly in 2024. */
    fb = false;
    CHECK_STR(deadline(&w, 2024, 12, 20, 1, &fb, buf), "2024-12-23");
    CHECK(fb);
    CHECK(workdays_is_workday(&w, 2024, 10, 1)); /* a Tuesday */
    /* Received in 2024, but every counted day is in 2025. */
    CHECK_STR(deadline(&w, 2024, 12, 31, 1, &fb, buf), "2025-01-02");
    CHECK(!fb);

    /* An empty calendar knows no year at all. */
    struct workdays empty;
    workdays_init(&empty);
    CHECK_STR(deadline(&empty, 2026, 2, 13, 5, &fb, buf), "2026-02-20");
    CHECK(fb);
    CHECK(workdays_is_workday(&empty, 2026, 2, 16));

    /* Bad arguments leave the outputs alone. */
    fb = true;
    CHECK_STR(deadline(&w, 2026, 2, 30, 5, &fb, buf), "error -22");
    CHECK_STR(deadline(&w, 2026, 2, 13, -1, &fb, buf), "error -22");
    CHECK_STR(deadline(&w, 2026, 2, 13, WORKDAYS_MAX_ADD + 1, &fb, buf),
              "error -22");
    CHECK_STR(deadline(&w, 9999, 12, 31, 1, &fb, buf), "error -34");
    CHECK(fb);
    CHECK_STR(deadline(&w, 2026, 2, 13, WORKDAYS_MAX_ADD, &fb, buf),
              "2030-01-01");
    CHECK(fb);
    workdays_cleanup(&w);
}

/* The base of most error cases: a valid 2026 start. */
#define Y26 "year 2026\noff 2026-01-01..2026-01-03\n"

void test_workdays_malformed_lines(void)
{
    static const struct {
        const char *text, *err;
    } cases[] = {
        {Y26 "holiday 2026-02-16\n",
         "holidays.txt:3: unknown keyword 'holiday' (expected year, off or "
         "work)"},
        {Y26 "off 2026-02-30\n", "holidays.txt:3: 2026-02-30 is not a date"},
        {Y26 "off 2026-2-16\n", "holidays.txt:3: 2026-2-16 is not a date"},
        {Y26 "off 2026-02-15..2026-02-3x\n",
         "holidays.txt:3: 2026-02-3x is not a date"},
        {Y26 "off 2026-02-23..2026-02-15\n",
         "holidays.txt:3: 2026-02-23..2026-02-15 ends before it starts"},
        {Y26 "off 2026-02-15..2026-02-23\n\noff 2026-02-16\n",
         "holidays.txt:5: 2026-02-16 is listed twice as off"},
        {Y26 "work 2026-02-14\nwork 2026-02-14 # again\n",
         "holidays.txt:4: 2026-02-14 is listed twice as work"},
        {Y26 "off 2026-02-13..2026-02-16\nwork 2026-02-14\n",
         "holidays.txt:4: 2026-02-14 is both off and work"},
        {Y26 "work 2026-02-16\n",
         "holidays.txt:3: 2026-02-16 is a Monday: a work day must be a "
         "Saturday or Sunday (Monday to Friday are working days anyway)"},
        {Y26 "off 2026-03-07..2026-03-08\n",
         "holidays.txt:3: off 2026-03-07..2026-03-08 holds only Saturdays "
         "and Sundays, which are off anyway (a wrong date?)"},
        {Y26 "off 2026-12-31..2027-01-01\n",
         "holidays.txt:3: 2027-01-01 is in 2027, which no 'year 2027' line "
         "above declares"},
        {"off 2026-01-01\nyear 2026\n",
         "holidays.txt:1: 2026-01-01 is in 2026, which no 'year 2026' line "
         "above declares"},
        {Y26 "year 2026\n",
         "holidays.txt:3: year 2026 is declared twice (first on line 1)"},
        {"year 26\n", "holidays.txt:1: 26 is not a year (1970..9999)"},
        {"year 1969\n", "holidays.txt:1: 1969 is not a year (1970..9999)"},
        {Y26 "off\n",
         "holidays.txt:3: 'off' needs a date YYYY-MM-DD or a range FROM..TO"},
        {"year\n", "holidays.txt:1: 'year' needs a year, as in 'year 2027'"},
        {Y26 "off 2026-02-15 .. 2026-02-23\n",
         "holidays.txt:3: unexpected '.. 2026-02-23' after '2026-02-15'"},
        {Y26 "year 2027\n",
         "holidays.txt:3: year 2027 has no weekday off (every year has New "
         "Year's Day): list its days off, or leave the year out until they "
         "are announced"},
        {"# nothing yet\n\n",
         "holidays.txt: declares no year (expected lines like 'year 2026')"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct workdays w;
        char err[256] = "";
        workdays_init(&w);
        int rc = workdays_parse(&w, cases[i].text, strlen(cases[i].text),
                                "holidays.txt", err, sizeof(err));
        CHECK_INT(rc, -EINVAL);
        CHECK_STR(err, cases[i].err);
        CHECK(!workdays_covers(&w, 2026));
    }

    /* A NUL byte, and a message cut to a small buffer. */
    struct workdays w;
    char err[256] = "";
    workdays_init(&w);
    CHECK_INT(workdays_parse(&w, "year 2026\0x\n", 12, "h", err, sizeof(err)),
              -EINVAL);
    CHECK_STR(err, "h:1: NUL byte in the line");
    char small[8];
    memset(small, 'x', sizeof(small));
    CHECK_INT(workdays_parse(&w, "yer 2026\n", 9, "holidays.txt", small,
                             sizeof(small)),
              -EINVAL);
    CHECK_STR(small, "holiday");
    CHECK_INT(workdays_parse(&w, "yer 2026\n", 9, "holidays.txt", NULL, 0),
              -EINVAL);

    /* What is accepted: comments, blanks, tabs, CRLF, no final newline, a
     * New Year range across two declared years. */
    const char *good = "# calendar\r\n"
                       "\tyear 2025   # declared\r\n"
                       "off 2025-01-01\r\n"
                       "year 2026\n"
                       "off\t2025-12-31..2026-01-02\n"
                       "work 2026-01-04";
    CHECK_INT(workdays_parse(&w, good, strlen(good), "h", err, sizeof(err)), 0);
    CHECK(!workdays_is_workday(&w, 2025, 12, 31));
    CHECK(!workdays_is_workday(&w, 2026, 1, 2));
    CHECK(workdays_is_workday(&w, 2026, 1, 4));
    CHECK(workdays_is_workday(&w, 2025, 12, 30));
}

void test_workdays_failed_reload_keeps_calendar(void)
{
    struct workdays w;
    char err[512] = "";
    CHECK_INT(load_shipped(&w), 0);

    /* From memory. */
    const char *bad = "year 2026\noff 2026-01-01\nwork 2026-02-16\n";
    CHECK_INT(workdays_parse(&w, bad, strlen(bad), "x", err, sizeof(err)),
              -EINVAL);
    CHECK(workdays_covers(&w, 2025));
    CHECK(workdays_is_workday(&w, 2026, 2, 14));
    CHECK(!workdays_is_workday(&w, 2026, 2, 16));

    /* A file that is missing. */
    CHECK_INT(workdays_load(&w, "/nonexistent/holidays.txt", err, sizeof(err)),
              -ENOENT);
    CHECK_STR(err, "/nonexistent/holidays.txt: cannot open: No such file or "
                   "directory");
    CHECK(workdays_is_workday(&w, 2026, 2, 14));

    /* A file with a wrong line: the message names the path and the line. */
    char path[] = "/tmp/tipd-workdays-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *body = "year 2027\noff 2027-01-01\noff 2027-02-29\n";
    ssize_t wrote = write(fd, body, strlen(body));
    close(fd);
    int rc = workdays_load(&w, path, err, sizeof(err));
    unlink(path);
    CHECK_INT(wrote, (long long)strlen(body));
    CHECK_INT(rc, -EINVAL);
    char want[256];
    snprintf(want, sizeof(want), "%s:3: 2027-02-29 is not a date", path);
    CHECK_STR(err, want);
    CHECK(!workdays_covers(&w, 2027));
    CHECK(workdays_covers(&w, 2026));
    CHECK(!workdays_is_workday(&w, 2025, 10, 8));

    /* A good reload replaces the calendar. */
    const char *next = "year 2027\noff 2027-01-01\n";
    CHECK_INT(workdays_parse(&w, next, strlen(next), "x", err, sizeof(err)), 0);
    CHECK(workdays_covers(&w, 2027));
    CHECK(!workdays_covers(&w, 2026));
    CHECK(!workdays_is_workday(&w, 2027, 1, 1));
    workdays_cleanup(&w);
    CHECK(!workdays_covers(&w, 2027));
}
