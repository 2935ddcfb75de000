/*
 * log.c - the process log.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 2048

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = STDERR_FILENO;
static int log_max_level = HLOG_INFO;

int
log_open(const char *path, int max_level, char *err, size_t errlen)
{
	int fd = STDERR_FILENO;

	if (path != NULL) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0) {
			snprintf(err, errlen, "%s: cannot open the log file: %s",
			    path, strerror(errno));
			return -1;
		}
	}
	pthread_mutex_lock(&log_lock);
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
	log_max_level = max_level;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

void
log_close(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = STDERR_FILENO;
	pthread_mutex_unlock(&log_lock);
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

/* Writes "TIME LEVEL text\n", text escaped (log_escape_byte) so that one
 * event stays one line of plain text; cut at LOG_LINE_MAX bytes, never
 * inside an escape. */
static void
emit(int level, const char *text)
{
	char line[LOG_LINE_MAX], ts[32], esc[LOG_ESCAPE_MAX];
	size_t n, i, el;
	int w;

	log_timestamp(ts, sizeof(ts));
	w = snprintf(line, sizeof(line), "%s %s ", ts, level_name(level));
	if (w < 0)
		return;
	n = (size_t)w < sizeof(line) ? (size_t)w : sizeof(line) - 1;
	for (i = 0; text[i] != '\0'; i++) {
		el = log_escape_byte((unsigned char)text[i], esc);
		if (n + el > sizeof(line) - 1)
			break;
		memcpy(line + n, esc, el);
		n += el;
	}
	line[n++] = '\n';
	pthread_mutex_lock(&log_lock);
	if (level <= log_max_level) {
		/* A log that cannot be written has nowhere to report to. */
		ssize_t r = write(log_fd, line, n);
		(void)r;
	}
	pthread_mutex_unlock(&log_lock);
}

void
log_msg(int level, const char *fmt, ...)
{
	char text[LOG_LINE_MAX];
	va_list ap;

	if (level > log_max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	emit(level, text);
}

void
log_module_line(void *ctx, int level, const char *line)
{
	(void)ctx;
	/* The module's lines name it already ("vdkim: ..."). */
	if (line != NULL && level <= log_max_level)
		emit(level, line);
}
