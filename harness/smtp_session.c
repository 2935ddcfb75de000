/*
 * smtp_session.c - the SMTP server's protocol state machine.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain_name.h"
#include "dot_codec.h"
#include "smtp_session.h"

/* Input read at once in the DATA phase.  Between messages the input
 * buffer holds one command line, so an idle session costs about 1 KB. */
#define INPUT_DATA (64 * 1024)
/* Past this much unsent output, stop running commands: a pipelining
 * client that never reads its replies must not make us buffer forever. */
#define OUTPUT_HIGH (64 * 1024)
/* 5xx answers before the session is ended (RFC 5321 lets servers give up
 * on clients that keep sending errors). */
#define MAX_ERRORS 20
#define ADDRESS_MAX 256

enum phase {
	PH_IDLE,   /* no transaction (HELO may or may not have been said) */
	PH_MAIL,   /* MAIL accepted; RCPTs may follow */
	PH_DATA,   /* receiving the message */
	PH_BUSY,   /* the message is being queued; input waits */
	PH_CLOSED  /* QUIT or abort: only output is left */
};

struct smtp_session {
	const session_limits *lim;
	enum phase phase;
	char *helo;             /* NULL until HELO/EHLO */
	strbuf in;
	size_t in_cap;          /* the input buffer's usable size */
	int discarding;         /* inside an over-long command line */
	int errors;
	strbuf out;
	envelope env;           /* the transaction */
	strbuf data;
	dot_decoder dec;
};

static void
reply(smtp_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
reply(smtp_session *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (line[0] == '5')
		s->errors++;
	sb_adds(&s->out, line);
	sb_add(&s->out, "\r\n", 2);
}

static void
reset_transaction(smtp_session *s)
{
	envelope_clear(&s->env);
	sb_free(&s->data);
	s->phase = s->phase == PH_CLOSED ? PH_CLOSED : PH_IDLE;
}

smtp_session *
smtp_session_new(const session_limits *lim)
{
	smtp_session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->lim = lim;
	s->phase = PH_IDLE;
	s->in_cap = lim->max_line_length + 2;
	sb_init(&s->in);
	sb_init(&s->out);
	sb_init(&s->data);
	envelope_init(&s->env);
	reply(s, "220 %s ESMTP vdkim-harness", lim->hostname);
	if (sb_reserve(&s->in, s->in_cap) != 0 || s->out.failed) {
		smtp_session_free(s);
		return NULL;
	}
	return s;
}

void
smtp_session_free(smtp_session *s)
{
	if (s == NULL)
		return;
	sb_free(&s->in);
	sb_free(&s->out);
	sb_free(&s->data);
	envelope_clear(&s->env);
	free(s->helo);
	free(s);
}

/* ------------------------------------------------------------ input */

char *
smtp_session_input_space(smtp_session *s, size_t *avail)
{
	/* A message arrives in large reads; grow once it starts.  When
	 * that fails the smaller buffer still works, so the failure is not
	 * kept (this buffer is filled by recv(), never by sb_add()). */
	if (s->phase == PH_DATA && s->in_cap < INPUT_DATA &&
	    sb_try_reserve(&s->in, INPUT_DATA - s->in.len) == 0)
		s->in_cap = INPUT_DATA;
	*avail = smtp_session_wants_input(s) ? s->in_cap - s->in.len : 0;
	return s->in.s + s->in.len;
}

void
smtp_session_input_added(smtp_session *s, size_t n)
{
	sb_commit(&s->in, n);
}

int
smtp_session_wants_input(const smtp_session *s)
{
	return s->phase != PH_BUSY && s->phase != PH_CLOSED &&
	    s->in.len < s->in_cap && s->out.len <= OUTPUT_HIGH;
}

int
smtp_session_has_input(const smtp_session *s)
{
	return s->in.len > 0 && s->phase != PH_CLOSED;
}

const char *
smtp_session_output(const smtp_session *s, size_t *len)
{
	*len = s->out.len;
	return s->out.s;
}

void
smtp_session_output_sent(smtp_session *s, size_t n)
{
	sb_consume(&s->out, n);
}

int
smtp_session_closed(const smtp_session *s)
{
	return s->phase == PH_CLOSED;
}

void
smtp_session_abort(smtp_session *s, const char *line)
{
	if (s->phase == PH_CLOSED)
		return;
	reply(s, "%s", line);
	reset_transaction(s);
	s->phase = PH_CLOSED;
}

/* ---------------------------------------------------------- parsing */

/* 1 when every byte of t is ASCII. */
static int
is_ascii(const char *t)
{
	for (; *t != '\0'; t++)
		if ((unsigned char)*t >= 0x80)
			return 0;
	return 1;
}

/* 1 when every byte of t is printable ASCII (no space either). */
static int
is_printable(const char *t)
{
	for (; *t != '\0'; t++)
		if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f)
			return 0;
	return 1;
}

/*
 * The EHLO/HELO argument goes into the Received: field as it is: a
 * Domain or an address-literal (RFC 5321 4.1.2), with what real clients
 * send beside the grammar (underscores, a final dot), and never a
 * control byte, an 8-bit byte or a space.
 */
static int
helo_is_valid(const char *h)
{
	size_t n = strlen(h);
	char name[256];

	if (h[0] == '[') {
		/* dcontent: printable ASCII but "[", "\\" and "]". */
		if (n < 3 || h[n - 1] != ']')
			return 0;
		for (size_t i = 1; i < n - 1; i++) {
			unsigned char c = (unsigned char)h[i];
			if (c <= 0x20 || c >= 0x7f || strchr("[\\]", c) != NULL)
				return 0;
		}
		return 1;
	}
	if (n > 0 && h[n - 1] == '.')
		n--;
	if (n == 0 || n >= sizeof(name))
		return 0;
	memcpy(name, h, n);
	name[n] = '\0';
	return domain_is_valid(name);
}

/* Skips spaces. */
static const char *
skip_sp(const char *p)
{
	while (*p == ' ')
		p++;
	return p;
}

/*
 * Reads a path ("<local@domain>", lenient: also without brackets; an
 * RFC 5321 source route "@a,@b:" is dropped) into out.  *rest points after
 * it.  Returns 0, or -1 when it is not an address.
 */
static int
parse_path(const char *p, char *out, size_t outlen, const char **rest)
{
	const char *start, *end;
	int quoted = 0;
	size_t n;

	p = skip_sp(p);
	if (*p == '<') {
		start = ++p;
		for (; *p != '\0' && (quoted || *p != '>'); p++) {
			if (*p == '"')
				quoted = !quoted;
			else if (*p == '\\' && quoted && p[1] != '\0')
				p++;
		}
		if (*p != '>')
			return -1;
		end = p++;
	} else {
		start = p;
		p += strcspn(p, " ");
		end = p;
	}
	if (start < end && *start == '@') {
		const char *colon = memchr(start, ':', (size_t)(end - start));
		if (colon == NULL)
			return -1;
		start = colon + 1;
	}
	n = (size_t)(end - start);
	if (n >= outlen)
		return -1;
	for (const char *c = start; c < end; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return -1;
	memcpy(out, start, n);
	out[n] = '\0';
	*rest = p;
	return 0;
}

/* The next "KEY=VALUE" (or "KEY") parameter of rest into key and value;
 * 0 when there is none left. */
static int
next_param(const char **rest, char *key, size_t keylen, char *value,
    size_t valuelen)
{
	const char *p = skip_sp(*rest), *eq, *end;
	size_t kl, vl;

	if (*p == '\0')
		return 0;
	end = p + strcspn(p, " ");
	eq = memchr(p, '=', (size_t)(end - p));
	kl = (size_t)((eq != NULL ? eq : end) - p);
	vl = eq != NULL ? (size_t)(end - eq - 1) : 0;
	if (kl >= keylen)
		kl = keylen - 1;
	if (vl >= valuelen)
		vl = valuelen - 1;
	memcpy(key, p, kl);
	key[kl] = '\0';
	if (eq != NULL)
		memcpy(value, eq + 1, vl);
	value[vl] = '\0';
	*rest = end;
	return 1;
}

/*
 * One parameter of MAIL (eight_bit not NULL: SIZE and BODY are known,
 * BODY=8BITMIME sets *eight_bit) or of RCPT (eight_bit NULL: none is).
 * 0, or -1 after the reply that refuses it.
 */
static int
take_param(smtp_session *s, const char *key, const char *value,
    int *eight_bit)
{
	if (eight_bit != NULL && strcasecmp(key, "SIZE") == 0) {
		char *end;
		unsigned long long size = strtoull(value, &end, 10);

		if (value[0] == '\0' || *end != '\0') {
			reply(s, "501 5.5.4 Syntax: SIZE=number");
			return -1;
		}
		if (size > s->lim->max_message_size) {
			reply(s, "552 5.3.4 Message size exceeds the limit of "
			    "%zu bytes", s->lim->max_message_size);
			return -1;
		}
		return 0;
	}
	if (eight_bit != NULL && strcasecmp(key, "BODY") == 0) {
		if (strcasecmp(value, "8BITMIME") == 0)
			*eight_bit = 1;
		else if (strcasecmp(value, "7BIT") != 0) {
			reply(s, "501 5.5.4 Syntax: BODY=7BIT or BODY=8BITMIME");
			return -1;
		}
		return 0;
	}
	reply(s, "555 5.5.4 Unsupported parameter %s", key);
	return -1;
}

/*
 * The arguments of MAIL ("FROM:<path> params", verb "MAIL", kw "FROM:")
 * or RCPT ("TO:<path>"): the address into addr (ADDRESS_MAX bytes), each
 * parameter through take_param.  0, or -1 after the reply that refuses
 * them.
 */
static int
command_args(smtp_session *s, const char *arg, const char *verb,
    const char *kw, char *addr, int *eight_bit)
{
	size_t kl = strlen(kw);
	char key[32], value[64];
	const char *rest;

	if (strncasecmp(arg, kw, kl) != 0 ||
	    parse_path(arg + kl, addr, ADDRESS_MAX, &rest) != 0) {
		reply(s, "501 5.5.4 Syntax: %s %s<address>", verb, kw);
		return -1;
	}
	/* An 8-bit address needs SMTPUTF8 (RFC 6531 3.5), which the
	 * harness does not offer. */
	if (!is_ascii(addr)) {
		reply(s, "553 5.6.7 %s address with 8-bit bytes: SMTPUTF8 is "
		    "not supported", verb);
		return -1;
	}
	while (next_param(&rest, key, sizeof(key), value, sizeof(value))) {
		/* Never echoed back (555) with bytes that are not text. */
		if (!is_printable(key) || !is_printable(value)) {
			reply(s, "501 5.5.4 Syntax: %s parameters are "
			    "printable ASCII", verb);
			return -1;
		}
		if (take_param(s, key, value, eight_bit) != 0)
			return -1;
	}
	return 0;
}

/* ----------------------------------------------------------- commands */

static void
cmd_helo(smtp_session *s, const char *arg, int extended)
{
	size_t n = strcspn(arg, " ");
	char *helo;

	if (n == 0) {
		reply(s, "501 5.5.4 Syntax: %s hostname",
		    extended ? "EHLO" : "HELO");
		return;
	}
	helo = strndup(arg, n);
	if (helo == NULL) {
		reply(s, "451 4.3.0 Out of memory");
		return;
	}
	if (!helo_is_valid(helo)) {
		free(helo);
		reply(s, "501 5.5.2 Syntax: %s hostname (a domain name or an "
		    "address literal such as [192.0.2.1])",
		    extended ? "EHLO" : "HELO");
		return;
	}
	free(s->helo);
	s->helo = helo;
	reset_transaction(s);
	if (!extended) {
		reply(s, "250 %s", s->lim->hostname);
		return;
	}
	reply(s, "250-%s", s->lim->hostname);
	reply(s, "250-PIPELINING");
	reply(s, "250-SIZE %zu", s->lim->max_message_size);
	reply(s, "250-8BITMIME");
	reply(s, "250 ENHANCEDSTATUSCODES");
}

static void
cmd_mail(smtp_session *s, const char *arg)
{
	char addr[ADDRESS_MAX];
	int eight_bit = 0;

	if (s->helo == NULL) {
		reply(s, "503 5.5.1 Error: send HELO or EHLO first");
		return;
	}
	if (s->phase != PH_IDLE) {
		reply(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (command_args(s, arg, "MAIL", "FROM:", addr, &eight_bit) != 0)
		return;
	envelope_clear(&s->env);
	s->env.mail_from = strdup(addr);
	if (s->env.mail_from == NULL) {
		reply(s, "451 4.3.0 Out of memory");
		return;
	}
	s->env.eight_bit = eight_bit;
	s->phase = PH_MAIL;
	reply(s, "250 2.1.0 Ok");
}

static int
is_duplicate(const envelope *e, const char *addr)
{
	for (size_t i = 0; i < e->nrcpts; i++)
		if (strcasecmp(e->rcpts[i], addr) == 0)
			return 1;
	return 0;
}

static void
cmd_rcpt(smtp_session *s, const char *arg)
{
	char addr[ADDRESS_MAX];

	if (s->phase != PH_MAIL) {
		reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (command_args(s, arg, "RCPT", "TO:", addr, NULL) != 0)
		return;
	if (address_domain(addr)[0] == '\0' &&
	    strcasecmp(addr, "postmaster") != 0) {
		reply(s, "501 5.1.3 Bad recipient address syntax: <%s>", addr);
		return;
	}
	if (s->env.nrcpts >= s->lim->max_recipients) {
		reply(s, "452 4.5.3 Error: too many recipients (at most %zu "
		    "per message)", s->lim->max_recipients);
		return;
	}
	if (!is_duplicate(&s->env, addr) &&
	    envelope_add_rcpt(&s->env, addr) != 0) {
		reply(s, "451 4.3.0 Out of memory");
		return;
	}
	reply(s, "250 2.1.5 Ok");
}

static void
cmd_data(smtp_session *s, const char *arg)
{
	if (*arg != '\0') {
		reply(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (s->phase != PH_MAIL) {
		reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->env.nrcpts == 0) {
		reply(s, "503 5.5.1 Error: need RCPT command");
		return;
	}
	sb_free(&s->data);
	dot_decoder_init(&s->dec, &s->data, s->lim->max_line_length,
	    s->lim->max_message_size);
	s->phase = PH_DATA;
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

/* After the end-of-data line: SESSION_MESSAGE, or an error answered. */
static enum session_step
end_of_data(smtp_session *s)
{
	s->phase = PH_MAIL;
	if (s->dec.too_long) {
		reply(s, "500 5.5.2 Message has a line longer than %zu bytes",
		    s->lim->max_line_length);
	} else if (s->dec.too_big) {
		reply(s, "552 5.3.4 Message too big (the limit is %zu bytes)",
		    s->lim->max_message_size);
	} else if (s->data.failed) {
		reply(s, "451 4.3.0 Out of memory");
	} else {
		s->env.eight_bit |= s->dec.eight_bit;
		s->phase = PH_BUSY;
		return SESSION_MESSAGE;
	}
	reset_transaction(s);
	return SESSION_WAIT;
}

struct command {
	const char *verb;
	enum { C_HELO, C_EHLO, C_MAIL, C_RCPT, C_DATA, C_RSET, C_NOOP,
	    C_QUIT, C_VRFY, C_HELP, C_NOTIMPL } id;
};

static const struct command commands[] = {
	{ "HELO", C_HELO }, { "EHLO", C_EHLO }, { "MAIL", C_MAIL },
	{ "RCPT", C_RCPT }, { "DATA", C_DATA }, { "RSET", C_RSET },
	{ "NOOP", C_NOOP }, { "QUIT", C_QUIT }, { "VRFY", C_VRFY },
	{ "HELP", C_HELP }, { "STARTTLS", C_NOTIMPL }, { "AUTH", C_NOTIMPL },
	{ "BDAT", C_NOTIMPL }, { "ETRN", C_NOTIMPL }, { "EXPN", C_NOTIMPL },
	{ "TURN", C_NOTIMPL },
};

/* One command line (line end removed, NUL-terminated). */
static enum session_step
command(smtp_session *s, char *line)
{
	size_t vl = strcspn(line, " ");
	const char *arg = skip_sp(line + vl);
	const struct command *c = NULL;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strlen(commands[i].verb) == vl &&
		    strncasecmp(line, commands[i].verb, vl) == 0)
			c = &commands[i];
	if (c == NULL) {
		reply(s, "500 5.5.2 Error: command not recognized");
		return SESSION_WAIT;
	}
	switch (c->id) {
	case C_HELO:
	case C_EHLO:
		cmd_helo(s, arg, c->id == C_EHLO);
		break;
	case C_MAIL:
		cmd_mail(s, arg);
		break;
	case C_RCPT:
		cmd_rcpt(s, arg);
		break;
	case C_DATA:
		cmd_data(s, arg);
		break;
	case C_RSET:
		reset_transaction(s);
		reply(s, "250 2.0.0 Ok");
		break;
	case C_NOOP:
		reply(s, "250 2.0.0 Ok");
		break;
	case C_QUIT:
		reply(s, "221 2.0.0 %s closing connection", s->lim->hostname);
		reset_transaction(s);
		s->phase = PH_CLOSED;
		return SESSION_CLOSE;
	case C_VRFY:
		reply(s, "252 2.5.2 Cannot VRFY user; send a message to try");
		break;
	case C_HELP:
		reply(s, "214 2.0.0 EHLO HELO MAIL RCPT DATA RSET NOOP QUIT "
		    "VRFY HELP");
		break;
	case C_NOTIMPL:
		reply(s, "502 5.5.1 Error: command not implemented");
		break;
	}
	return SESSION_WAIT;
}

/* Takes one command line off the input at *pos, if a whole one is there.
 * Returns 1 when a line was handled, 0 when more input is needed. */
static int
next_command(smtp_session *s, size_t *pos, enum session_step *step)
{
	char *p = s->in.s + *pos;
	size_t avail = s->in.len - *pos, len;
	char *nl = memchr(p, '\n', avail);

	if (nl == NULL) {
		if (avail >= s->lim->max_line_length) {
			/* Over the limit already: drop it up to its end. */
			s->discarding = 1;
			*pos = s->in.len;
		}
		return 0;
	}
	len = (size_t)(nl - p) + 1;
	*pos += len;
	if (s->discarding || len > s->lim->max_line_length) {
		s->discarding = 0;
		reply(s, "500 5.5.2 Error: line too long (the limit is %zu "
		    "bytes)", s->lim->max_line_length);
		return 1;
	}
	len--; /* the LF */
	if (len > 0 && p[len - 1] == '\r')
		len--;
	if (memchr(p, '\0', len) != NULL) {
		reply(s, "500 5.5.2 Error: NUL byte in command");
		return 1;
	}
	p[len] = '\0';
	*step = command(s, p);
	return 1;
}

enum session_step
smtp_session_run(smtp_session *s)
{
	enum session_step step = SESSION_WAIT;
	size_t pos = 0;

	while (step == SESSION_WAIT && s->out.len <= OUTPUT_HIGH) {
		if (s->phase == PH_BUSY || s->phase == PH_CLOSED)
			break;
		if (s->errors >= MAX_ERRORS) {
			smtp_session_abort(s, "421 4.7.0 Too many errors, "
			    "closing connection");
			break;
		}
		if (s->phase == PH_DATA) {
			int done;
			pos += dot_decode(&s->dec, s->in.s + pos,
			    s->in.len - pos, &done);
			if (!done)
				break;
			step = end_of_data(s);
			continue;
		}
		if (!next_command(s, &pos, &step))
			break;
	}
	sb_consume(&s->in, pos);
	if (s->phase == PH_CLOSED)
		return SESSION_CLOSE;
	return step;
}

void
smtp_session_take_message(smtp_session *s, session_message *m)
{
	m->helo = s->helo != NULL ? strdup(s->helo) : NULL;
	envelope_init(&m->env);
	envelope_move(&m->env, &s->env);
	m->data = s->data;
	sb_init(&s->data);
}

void
smtp_session_message_done(smtp_session *s, const char *line)
{
	if (s->phase != PH_BUSY)
		return;
	reply(s, "%s", line);
	s->phase = PH_IDLE;
	reset_transaction(s);
}

void
session_message_clear(session_message *m)
{
	free(m->helo);
	m->helo = NULL;
	envelope_clear(&m->env);
	sb_free(&m->data);
}
