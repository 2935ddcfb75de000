/*
 * envelope.h - what travels with a message through the queue: sender,
 * recipients, source and VMTA, and, when it was signed before queueing,
 * how; plus its text form in the spool.
 *
 * Every string is owned by the envelope (malloc'd); envelope_clear() frees
 * them all.
 */
#ifndef HARNESS_ENVELOPE_H
#define HARNESS_ENVELOPE_H

#include <stddef.h>
#include <time.h>

#include "strbuf.h"

typedef struct envelope {
	char *mail_from;     /* without angle brackets; "" is the null sender */
	char **rcpts;
	size_t nrcpts;
	size_t cap;
	int eight_bit;       /* BODY=8BITMIME, or 8-bit bytes were seen */
	char *source;        /* the listener's source name */
	char *vmta;          /* NULL: none chosen (the module's "default") */
	time_t queued;       /* when the 250 was given (wall clock) */
	/* Set when the pre-queue hook ran: its outcome, for accounting. */
	char *signatures;
	char *reason_code;
	char *reason;
} envelope;

void envelope_init(envelope *e);
void envelope_clear(envelope *e);
/* Copies addr in as a recipient.  -1 when out of memory. */
int envelope_add_rcpt(envelope *e, const char *addr);
/* Copies src's fields except the recipients into dst (initialised). */
int envelope_copy_header(envelope *dst, const envelope *src);
/* Moves src's strings into dst (dst cleared first); src is left empty. */
void envelope_move(envelope *dst, envelope *src);

/* The domain of an address: after the last '@', or "" without one. */
const char *address_domain(const char *addr);

/* The spool's text form: "KEY VALUE" lines, values %XX-escaped. */
int envelope_format(const envelope *e, strbuf *out);
/* Parses envelope_format's text.  0, or -1 with err filled. */
int envelope_parse(const char *text, size_t len, envelope *e, char *err,
    size_t errlen);

#endif
