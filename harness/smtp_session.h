/*
 * smtp_session.h - one SMTP server session (RFC 5321, with PIPELINING,
 * SIZE, 8BITMIME and ENHANCEDSTATUSCODES) as a state machine without I/O.
 *
 * The event loop reads bytes into the session's input space, calls
 * smtp_session_run(), and sends what smtp_session_output() holds.  Commands
 * that arrive together (pipelining) are answered in order in one batch of
 * output.  When a message is complete, run() stops with SESSION_MESSAGE:
 * the caller takes the message, queues it elsewhere, and answers the DATA
 * with smtp_session_message_done(); input that came behind the message
 * waits in the session until then.
 */
#ifndef HARNESS_SMTP_SESSION_H
#define HARNESS_SMTP_SESSION_H

#include <stddef.h>

#include "strbuf.h"
#include "envelope.h"

typedef struct session_limits {
	const char *hostname;
	size_t max_message_size;
	size_t max_recipients;
	size_t max_line_length;    /* CRLF included, commands and data */
} session_limits;

enum session_step {
	SESSION_WAIT,     /* needs more input, or its output to drain */
	SESSION_MESSAGE,  /* a message is complete: take it */
	SESSION_CLOSE     /* send what output is left, then close */
};

/* A complete message, owned by whoever took it. */
typedef struct session_message {
	char *helo;       /* what the client said in HELO/EHLO */
	envelope env;     /* mail_from, rcpts, eight_bit */
	strbuf data;         /* the message, dot-unstuffed, CRLF line ends */
} session_message;

typedef struct smtp_session smtp_session;

/* A new session, its 220 greeting already in the output; NULL when out of
 * memory.  lim must outlive the session. */
smtp_session *smtp_session_new(const session_limits *lim);
void smtp_session_free(smtp_session *s);

/* Room for input: read at most *avail bytes to the pointer, then report
 * them with input_added(). *avail is 0 when the session wants none now. */
char *smtp_session_input_space(smtp_session *s, size_t *avail);
void smtp_session_input_added(smtp_session *s, size_t n);
/* 1 when the session would take input now (not waiting for a message to
 * be queued, not closing, output not backed up). */
int smtp_session_wants_input(const smtp_session *s);
/* 1 when input is waiting to be run. */
int smtp_session_has_input(const smtp_session *s);

enum session_step smtp_session_run(smtp_session *s);

/* After SESSION_MESSAGE: moves the message out (m is overwritten). */
void smtp_session_take_message(smtp_session *s, session_message *m);
/* The answer to the DATA ("250 2.0.0 ...", no CRLF); the session goes on. */
void smtp_session_message_done(smtp_session *s, const char *reply);
void session_message_clear(session_message *m);

/* Bytes to send, and how many were sent. */
const char *smtp_session_output(const smtp_session *s, size_t *len);
void smtp_session_output_sent(smtp_session *s, size_t n);

/* Ends the session from the server's side (timeout, shutdown): queues the
 * reply (a 421 line, no CRLF) and closes once it is sent. */
void smtp_session_abort(smtp_session *s, const char *reply);
/* 1 once the session has ended (QUIT, abort, too many errors). */
int smtp_session_closed(const smtp_session *s);

#endif
