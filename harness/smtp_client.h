/*
 * smtp_client.h - relaying to the smarthost: EHLO (HELO when refused),
 * MAIL (SIZE=, BODY=8BITMIME when offered), RCPT per recipient, DATA with
 * dot-stuffing, RSET to reuse the connection, QUIT.
 *
 * Blocking calls on a non-blocking socket: each wait is a poll() bounded by
 * the timeout and also watching cancel_fd, so a shutdown interrupts a
 * stuck relay at once.  The one wait that ignores cancel_fd is the reply
 * to the final ".": abandoning it would leave the message delivered but
 * still queued, to be delivered again.
 */
#ifndef HARNESS_SMTP_CLIENT_H
#define HARNESS_SMTP_CLIENT_H

#include <stddef.h>

#include "net_addr.h"
#include "segments.h"

/* A reply; code 0 means none came (text says what failed instead). */
typedef struct smtp_reply {
	int code;
	char text[512];   /* the reply's last line, or the failure */
} smtp_reply;

typedef struct smtp_client smtp_client;

/* Connects, reads the greeting and says EHLO.  0, or -1 with why filled
 * (a reply when the server answered, else code 0). */
int smtp_client_open(const net_addr *to, const char *helo_name,
    int timeout_s, int cancel_fd, smtp_client **out, smtp_reply *why);
/* QUIT (briefly waited for) and close. */
void smtp_client_close(smtp_client *c);
/* RSET: 0 when the connection can carry another message. */
int smtp_client_reset(smtp_client *c);

typedef struct smtp_txn {
	const char *mail_from;      /* "" for the null sender */
	char *const *rcpts;
	size_t nrcpts;
	int eight_bit;
	const seglist *msg;
	smtp_reply *rcpt_replies;   /* nrcpts of them, filled */
	smtp_reply final;           /* MAIL's failure, or DATA's answer */
	int data_sent;              /* the message went, final answers it */
} smtp_txn;

/* One transaction.  Returns 0 when the connection is still in a known
 * state (whatever the replies), -1 when it broke and must be closed; the
 * replies not received then have code 0. */
int smtp_client_send(smtp_client *c, smtp_txn *t);

#endif
