/*
 * log: one line per event on stderr, in logfmt:
 *
 *     ts=2026-11-22T18:30:00.123Z level=info event=listen port=8080
 *
 * The caller supplies the event name and the key=value pairs. What never
 * goes into a log line, by rule of this project: a client's address (tipd
 * never formats one anywhere), report content, receipt codes, tokens and
 * phone numbers. Each line is written with a single write(2) so lines from
 * worker threads never interleave; embedded newlines are flattened so one
 * event stays one line.
 */
#ifndef TIPD_LOG_H
#define TIPD_LOG_H

#define LOG_LEVEL_MAP(X)                                                       \
    X(DEBUG, "debug")                                                          \
    X(INFO, "info")                                                            \
    X(WARN, "warn")                                                            \
    X(ERROR, "error")

enum log_level {
#define X(name, text) LOG_##name,
    LOG_LEVEL_MAP(X)
#undef X
};

/* Returns the level named by text, or -1. */
int log_level_parse(const char *text);
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);

/* fmt formats the key=value pairs that follow event=NAME. */
void log_event(enum log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(...) log_event(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_event(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_event(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_event(LOG_ERROR, __VA_ARGS__)

#endif
