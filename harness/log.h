/*
 * log.h - one line per event, with a timestamp, to the log file or stderr.
 *
 * There is one log per process: every thread (the event loop, intake and
 * delivery workers) and the module's log callback write to it, so it is a
 * process-wide object behind a mutex rather than something passed around.
 * A line is written with a single write(2), so lines from different threads
 * never interleave.
 */
#ifndef HARNESS_LOG_H
#define HARNESS_LOG_H

#include <stddef.h>

/* The module's levels (vdkim.h), which are syslog's. */
enum hlog_level {
	HLOG_ERR = 3,
	HLOG_WARNING = 4,
	HLOG_INFO = 6,
	HLOG_DEBUG = 7
};

/* Sends the log to path (appending; NULL: stderr) and drops lines above
 * max_level.  Returns 0, or -1 with err filled. */
int log_open(const char *path, int max_level, char *err, size_t errlen);
void log_close(void);

void log_msg(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The vdkim_host log callback: the module's lines, marked as such. */
void log_module_line(void *ctx, int level, const char *line);

/*
 * What the log and the accounting file write for the byte c: itself when
 * it is printable ASCII, "\\" for a backslash, "\xHH" for anything else
 * (control bytes, DEL, 8-bit bytes), so that what a client or a relay
 * sent (a CR, a terminal escape, a line break) can neither forge a line
 * nor reach a terminal.  out gets the NUL-terminated form; returns its
 * length.
 */
#define LOG_ESCAPE_MAX 5
size_t log_escape_byte(unsigned char c, char out[LOG_ESCAPE_MAX]);

/* "2026-11-23T07:01:04.123Z" (UTC) into out (at least 32 bytes). */
void log_timestamp(char *out, size_t outlen);

#endif
