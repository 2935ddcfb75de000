/*
 * log.h - the daemons' log (vdkim-harness, vdkim-milter): one line per
 * event, to exactly one of three places:
 *
 *   a file    when the config names one (log-file): "TIME LEVEL text"
 *             lines, appended; SIGHUP reopens it (log_reopen), so
 *             logrotate can rename it away without copytruncate;
 *   journald  when systemd started the daemon with stderr on the journal
 *             (JOURNAL_STREAM names stderr's device and inode): "<N>text"
 *             lines on stderr, N the syslog level, which journald turns
 *             into the entry's priority (sd-daemon(3));
 *   syslog    otherwise: RFC 3164 datagrams to the local syslog socket
 *             (/dev/log unless log-socket says otherwise), facility mail
 *             unless log-facility says otherwise, sent without waiting
 *             (a syslog daemon that is down or slow costs lines, never a
 *             blocked delivery).
 *
 * There is one log per process: every thread (the event loop, intake and
 * delivery workers) and the module's log callback write to it, so it is a
 * process-wide object behind a mutex rather than something passed around.
 * A line is written with a single write(2) or send(2), so lines from
 * different threads never interleave.
 */
#ifndef HARNESS_LOG_H
#define HARNESS_LOG_H

#include <stddef.h>

/* The module's levels (vdkim.h), which are syslog's. */
enum hlog_level {
	HLOG_ERR = 3,
	HLOG_WARNING = 4,
	HLOG_NOTICE = 5,
	HLOG_INFO = 6,
	HLOG_DEBUG = 7
};

/* Where the lines go (log_open picks it, see the top). */
enum log_sink {
	LOG_SINK_NONE,            /* not open yet (or closed): dropped */
	LOG_SINK_SYSLOG,
	LOG_SINK_JOURNAL,
	LOG_SINK_FILE
};

typedef struct log_settings {
	const char *ident;        /* the program's name, for syslog */
	const char *file;         /* log-file; NULL: journald or syslog */
	const char *socket;       /* log-socket; NULL: /dev/log */
	int facility;             /* a LOG_* facility (syslog.h) */
	int max_level;            /* lines above it are dropped */
} log_settings;

/* The default syslog socket and facility. */
#define LOG_DEFAULT_SOCKET "/dev/log"
#define LOG_DEFAULT_FACILITY (2 << 3) /* LOG_MAIL */

/* Opens the log as s says (strings are copied).  Returns 0, or -1 with err
 * filled (a log file that cannot be opened). */
int log_open(const log_settings *s, char *err, size_t errlen);
/* SIGHUP: the log file is opened again at its path (a new file when
 * logrotate moved the old one away); a no-op for journald and syslog
 * (whose socket is reconnected whenever a send finds it gone).  Returns
 * 0, or -1 with err filled, the old file then kept. */
int log_reopen(char *err, size_t errlen);
void log_close(void);
/* Where the lines go now. */
enum log_sink log_sink_now(void);

/* The facility called name ("mail", "daemon", "local0".."local7",
 * "user"), or -1. */
int log_facility_value(const char *name);

void log_msg(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The vdkim_host log callback: the module's lines (already "vdkim: ..."),
 * at the module's level, which is syslog's. */
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
