/*
 * log_syslog.c - lines to the local syslog socket (log_syslog.h).
 *
 * glibc's syslog(3) is not used: it blocks on a full socket and, with
 * the socket gone, may write to the console; and its socket path cannot
 * be chosen, which leaves the syslog path untestable without a private
 * /dev.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log_syslog.h"

/* Room for "<191>Mmm dd hh:mm:ss IDENT[PID]: " and the longest line. */
#define SYSLOG_PACKET_MAX 4096

struct log_syslog {
	int fd;                   /* -1: not connected */
	int facility;
	char *ident;
	struct sockaddr_un addr;
};

log_syslog *
log_syslog_new(const char *ident, const char *path, int facility)
{
	log_syslog *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->ident = strdup(ident)) == NULL ||
	    strlen(path) >= sizeof(s->addr.sun_path)) {
		free(s != NULL ? s->ident : NULL);
		free(s);
		return NULL;
	}
	s->fd = -1;
	s->facility = facility;
	s->addr.sun_family = AF_UNIX;
	memcpy(s->addr.sun_path, path, strlen(path) + 1);
	/* The zone's rules once, before any thread asks localtime_r. */
	tzset();
	return s;
}

static int
reconnect(log_syslog *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0)
		return -1;
	if (connect(s->fd, (struct sockaddr *)&s->addr, sizeof(s->addr)) != 0) {
		close(s->fd);
		s->fd = -1;
		return -1;
	}
	return 0;
}

void
log_syslog_send(log_syslog *s, int level, const char *text, size_t len)
{
	char pkt[SYSLOG_PACKET_MAX], stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	size_t n;
	int w;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	w = snprintf(pkt, sizeof(pkt), "<%d>%s %s[%ld]: ", s->facility |
	    (level & 7), stamp, s->ident, (long)getpid());
	if (w < 0 || (size_t)w >= sizeof(pkt))
		return;
	n = (size_t)w;
	if (len > sizeof(pkt) - n)
		len = sizeof(pkt) - n;
	memcpy(pkt + n, text, len);
	n += len;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (s->fd < 0 && reconnect(s) != 0)
			return;
		if (send(s->fd, pkt, n, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			return;
		/* A full socket drops the line; a gone daemon gets one
		 * reconnect. */
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			return;
		close(s->fd);
		s->fd = -1;
	}
}

void
log_syslog_free(log_syslog *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->ident);
	free(s);
}
