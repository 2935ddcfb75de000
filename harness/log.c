/*
 * log.c - the process log (log.h): one sink, chosen at log_open.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "log_syslog.h"
#include "reopen_file.h"

#define LOG_LINE_MAX 2048

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
/* Before log_open and after log_close, lines are dropped: the daemons
 * say why they cannot start on stderr themselves. */
static enum log_sink log_sink = LOG_SINK_NONE;
static int log_max_level = HLOG_INFO;
static reopen_file *log_file;
static log_syslog *log_sys;

/* 1 when stderr is the journal: JOURNAL_STREAM ("DEVICE:INODE", set by
 * systemd) names the stream stderr is, not one inherited from a parent
 * whose stderr was the journal. */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

static void
close_sinks(void)
{
	reopen_file_close(log_file);
	log_file = NULL;
	log_syslog_free(log_sys);
	log_sys = NULL;
}

int
log_open(const log_settings *s, char *err, size_t errlen)
{
	reopen_file *file = NULL;
	log_syslog *sys = NULL;
	enum log_sink sink;

	if (s->file != NULL) {
		if (reopen_file_open(s->file, "log", &file, err, errlen) != 0)
			return -1;
		sink = LOG_SINK_FILE;
	} else if (stderr_is_journal()) {
		sink = LOG_SINK_JOURNAL;
	} else {
		sys = log_syslog_new(s->ident, s->socket != NULL ? s->socket :
		    LOG_DEFAULT_SOCKET, s->facility);
		if (sys == NULL) {
			snprintf(err, errlen, "log-socket %s: the path is too "
			    "long (or out of memory)", s->socket != NULL ?
			    s->socket : LOG_DEFAULT_SOCKET);
			return -1;
		}
		sink = LOG_SINK_SYSLOG;
	}
	pthread_mutex_lock(&log_lock);
	close_sinks();
	log_file = file;
	log_sys = sys;
	log_sink = sink;
	log_max_level = s->max_level;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

int
log_reopen(char *err, size_t errlen)
{
	int rc = 0;

	pthread_mutex_lock(&log_lock);
	if (log_file != NULL)
		rc = reopen_file_reopen(log_file, err, errlen);
	pthread_mutex_unlock(&log_lock);
	return rc;
}

void
log_close(void)
{
	pthread_mutex_lock(&log_lock);
	close_sinks();
	log_sink = LOG_SINK_NONE;
	pthread_mutex_unlock(&log_lock);
}

enum log_sink
log_sink_now(void)
{
	enum log_sink s;

	pthread_mutex_lock(&log_lock);
	s = log_sink;
	pthread_mutex_unlock(&log_lock);
	return s;
}

int
log_facility_value(const char *name)
{
	static const struct {
		const char *name;
		int value;
	} facilities[] = {
		{ "user", 1 << 3 }, { "mail", 2 << 3 }, { "daemon", 3 << 3 },
		{ "local0", 16 << 3 }, { "local1", 17 << 3 },
		{ "local2", 18 << 3 }, { "local3", 19 << 3 },
		{ "local4", 20 << 3 }, { "local5", 21 << 3 },
		{ "local6", 22 << 3 }, { "local7", 23 << 3 },
	};

	for (size_t i = 0; i < sizeof(facilities) / sizeof(*facilities); i++)
		if (strcmp(name, facilities[i].name) == 0)
			return facilities[i].value;
	return -1;
}

void
log_timestamp(char *out, size_t outlen)
{
	struct timespec ts;
	struct tm tm;
	char day[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outlen, "%s.%03ldZ", day, ts.tv_nsec / 1000000);
}

static const char *
level_name(int level)
{
	if (level <= HLOG_ERR)
		return "error";
	if (level <= HLOG_WARNING)
		return "warning";
	if (level <= HLOG_NOTICE)
		return "notice";
	if (level <= HLOG_INFO)
		return "info";
	return "debug";
}

size_t
log_escape_byte(unsigned char c, char out[LOG_ESCAPE_MAX])
{
	if (c == '\\')
		return (size_t)snprintf(out, LOG_ESCAPE_MAX, "\\\\");
	if (c < 0x20 || c >= 0x7f)
		return (size_t)snprintf(out, LOG_ESCAPE_MAX, "\\x%02x", c);
	out[0] = (char)c;
	out[1] = '\0';
	return 1;
}

/* Appends text escaped (log_escape_byte) to line[0, n), so that one event
 * stays one line of plain text; cut at cap - 1 bytes (room for the line
 * end), never inside an escape.  Returns the new length. */
static size_t
add_escaped(char *line, size_t n, size_t cap, const char *text)
{
	char esc[LOG_ESCAPE_MAX];
	size_t el;

	for (size_t i = 0; text[i] != '\0'; i++) {
		el = log_escape_byte((unsigned char)text[i], esc);
		if (n + el > cap - 1)
			break;
		memcpy(line + n, esc, el);
		n += el;
	}
	return n;
}

/* The line as the sink wants it: "TIME LEVEL " for a file, "<N>" for
 * the journal (which stamps the time itself), nothing for syslog (the
 * datagram carries both). */
static size_t
line_prefix(enum log_sink sink, int level, char *line, size_t cap)
{
	char ts[32];
	int w;

	if (sink == LOG_SINK_FILE) {
		log_timestamp(ts, sizeof(ts));
		w = snprintf(line, cap, "%s %s ", ts, level_name(level));
	} else if (sink == LOG_SINK_JOURNAL) {
		w = snprintf(line, cap, "<%d>", level & 7);
	} else {
		w = 0;
	}
	return w < 0 ? 0 : (size_t)w < cap ? (size_t)w : cap - 1;
}

static void
emit(int level, const char *text)
{
	char line[LOG_LINE_MAX];
	size_t n;

	/* syslog's eight levels; a module's odd level is kept in range. */
	if (level < 0)
		level = 0;
	if (level > HLOG_DEBUG)
		level = HLOG_DEBUG;
	pthread_mutex_lock(&log_lock);
	if (level > log_max_level || log_sink == LOG_SINK_NONE) {
		pthread_mutex_unlock(&log_lock);
		return;
	}
	n = line_prefix(log_sink, level, line, sizeof(line));
	n = add_escaped(line, n, sizeof(line), text);
	/* A log that cannot be written has nowhere to report to. */
	if (log_sink == LOG_SINK_SYSLOG) {
		log_syslog_send(log_sys, level, line, n);
	} else {
		line[n++] = '\n';
		if (log_sink == LOG_SINK_FILE) {
			(void)reopen_file_write(log_file, line, n);
		} else {
			ssize_t r = write(STDERR_FILENO, line, n);
			(void)r;
		}
	}
	pthread_mutex_unlock(&log_lock);
}

void
log_msg(int level, const char *fmt, ...)
{
	char text[LOG_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	emit(level, text);
}

void
log_module_line(void *ctx, int level, const char *line)
{
	(void)ctx;
	if (line != NULL)
		emit(level, line);
}
