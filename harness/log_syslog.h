/*
 * log_syslog.h - lines to the local syslog daemon (rsyslog, journald's
 * /dev/log), as RFC 3164 datagrams over a unix socket:
 *
 *   <PRI>Mmm dd hh:mm:ss IDENT[PID]: text
 *
 * PRI = facility + level.  Sent with MSG_DONTWAIT: a daemon that is down
 * or behind costs the line, never a blocked thread.  A socket found gone
 * (the syslog daemon restarted) is reconnected once per line.  Not
 * thread-safe: log.c calls it under its lock.
 */
#ifndef HARNESS_LOG_SYSLOG_H
#define HARNESS_LOG_SYSLOG_H

#include <stddef.h>

typedef struct log_syslog log_syslog;

/* Copies ident and path; never fails for a missing socket (the lines
 * wait for it).  NULL when out of memory. */
log_syslog *log_syslog_new(const char *ident, const char *path,
    int facility);
/* Sends text (one line, already escaped) at level. */
void log_syslog_send(log_syslog *s, int level, const char *text,
    size_t len);
void log_syslog_free(log_syslog *s);

#endif
