/*
 * smtp_client.c - the SMTP client for the smarthost.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dot_codec.h"
#include "smtp_client.h"

#define OUT_BUF (64 * 1024)
#define IN_BUF 4096
#define QUIT_TIMEOUT_S 2

enum { EXT_SIZE = 1, EXT_8BITMIME = 2 };

struct smtp_client {
	int fd;
	int timeout_ms;
	int cancel_fd;
	int ext;                 /* EXT_* the server announced */
	char peer[NET_ADDR_TEXT];
	char in[IN_BUF];
	size_t in_len;
	char out[OUT_BUF];
	size_t out_len;
	char failure[256];       /* why the connection broke */
};

/* Notes why the connection broke (the first reason wins). */
static int
broken(smtp_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
broken(smtp_client *c, const char *fmt, ...)
{
	va_list ap;

	if (c->failure[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(c->failure, sizeof(c->failure), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Waits until fd is ready for events; -1 (and why) on timeout, cancel or
 * error.  cancel: watch cancel_fd. */
static int
wait_for(smtp_client *c, short events, int cancel)
{
	struct pollfd p[2];
	int n;

	p[0].fd = c->fd;
	p[0].events = events;
	p[1].fd = cancel ? c->cancel_fd : -1;
	p[1].events = POLLIN;
	for (;;) {
		n = poll(p, 2, c->timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return broken(c, "poll: %s", strerror(errno));
		if (n == 0)
			return broken(c, "no answer from %s within %d s",
			    c->peer, c->timeout_ms / 1000);
		if (p[1].revents != 0)
			return broken(c, "abandoned: the harness is stopping");
		return 0;
	}
}

/*
 * One send() (sending) or recv() of up to len bytes at buf, tried again
 * when interrupted and, when the socket is not ready, once it is (or
 * cancel_fd fires, with cancel).  Returns the bytes moved, never 0, or -1
 * with c broken (for a recv, also when the server closed).
 */
static ssize_t
transfer(smtp_client *c, int sending, char *buf, size_t len, int cancel)
{
	for (;;) {
		ssize_t r = sending ? send(c->fd, buf, len, MSG_NOSIGNAL) :
		    recv(c->fd, buf, len, 0);

		if (r > 0)
			return r;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_for(c, sending ? POLLOUT : POLLIN, cancel) != 0)
				return -1;
			continue;
		}
		if (sending)
			return broken(c, "sending to %s: %s", c->peer,
			    r < 0 ? strerror(errno) : "nothing sent");
		return broken(c, "%s closed the connection%s%s", c->peer,
		    r < 0 ? ": " : "", r < 0 ? strerror(errno) : "");
	}
}

static int
flush_out(smtp_client *c, int cancel)
{
	size_t off = 0;

	while (off < c->out_len) {
		ssize_t w = transfer(c, 1, c->out + off, c->out_len - off,
		    cancel);

		if (w < 0)
			return -1;
		off += (size_t)w;
	}
	c->out_len = 0;
	return 0;
}

/* Buffers bytes for the server (the dot encoder's sink too). */
static int
put(void *ctx, const char *data, size_t len)
{
	smtp_client *c = ctx;

	while (len > 0) {
		size_t n = OUT_BUF - c->out_len < len ? OUT_BUF - c->out_len :
		    len;
		memcpy(c->out + c->out_len, data, n);
		c->out_len += n;
		data += n;
		len -= n;
		if (c->out_len == OUT_BUF && flush_out(c, 1) != 0)
			return -1;
	}
	return 0;
}

static int
command(smtp_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
command(smtp_client *c, const char *fmt, ...)
{
	char line[1100];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return broken(c, "command too long");
	memcpy(line + n, "\r\n", 2);
	if (put(c, line, (size_t)n + 2) != 0)
		return -1;
	return flush_out(c, 1);
}

/* One line from the server into line (CRLF removed); -1 on failure. */
static int
read_line(smtp_client *c, char *line, size_t linelen, int cancel)
{
	for (;;) {
		char *nl = memchr(c->in, '\n', c->in_len);
		ssize_t r;

		if (nl != NULL) {
			size_t n = (size_t)(nl - c->in), keep = n;
			if (keep > 0 && c->in[keep - 1] == '\r')
				keep--;
			if (keep >= linelen)
				keep = linelen - 1;
			memcpy(line, c->in, keep);
			line[keep] = '\0';
			memmove(c->in, nl + 1, c->in_len - n - 1);
			c->in_len -= n + 1;
			return 0;
		}
		if (c->in_len == sizeof(c->in))
			return broken(c, "%s sent a line over %d bytes", c->peer,
			    IN_BUF);
		r = transfer(c, 0, c->in + c->in_len, sizeof(c->in) - c->in_len,
		    cancel);
		if (r < 0)
			return -1;
		c->in_len += (size_t)r;
	}
}

/* Reads a whole (maybe multi-line) reply into r; with ext set, notes the
 * EHLO keywords.  -1 when the connection failed (r->code 0). */
static int
read_reply(smtp_client *c, smtp_reply *r, int *ext, int cancel)
{
	char line[512];

	r->code = 0;
	for (;;) {
		if (read_line(c, line, sizeof(line), cancel) != 0) {
			snprintf(r->text, sizeof(r->text), "%s", c->failure);
			return -1;
		}
		if (strlen(line) < 3 || line[0] < '2' || line[0] > '5' ||
		    line[1] < '0' || line[1] > '9' || line[2] < '0' ||
		    line[2] > '9' || (line[3] != '\0' && line[3] != ' ' &&
		    line[3] != '-')) {
			broken(c, "%s answered nonsense: \"%.80s\"", c->peer,
			    line);
			snprintf(r->text, sizeof(r->text), "%s", c->failure);
			return -1;
		}
		if (ext != NULL) {
			const char *kw = line + 4;
			if (line[3] == '\0')
				kw = "";
			if (strncasecmp(kw, "SIZE", 4) == 0 &&
			    (kw[4] == '\0' || kw[4] == ' '))
				*ext |= EXT_SIZE;
			else if (strcasecmp(kw, "8BITMIME") == 0)
				*ext |= EXT_8BITMIME;
		}
		if (line[3] != '-') {
			r->code = atoi(line);
			snprintf(r->text, sizeof(r->text), "%s", line);
			return 0;
		}
	}
}

/* A command and its reply; -1 when the connection failed. */
static int
exchange(smtp_client *c, smtp_reply *r, const char *what)
{
	if (command(c, "%s", what) != 0) {
		r->code = 0;
		snprintf(r->text, sizeof(r->text), "%s", c->failure);
		return -1;
	}
	return read_reply(c, r, NULL, 1);
}

static int
connect_to(smtp_client *c, const net_addr *to)
{
	int err = 0;
	socklen_t len = sizeof(err);

	c->fd = socket(to->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return broken(c, "socket: %s", strerror(errno));
	if (connect(c->fd, (const struct sockaddr *)&to->ss, to->len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return broken(c, "connect to %s: %s", c->peer, strerror(errno));
	if (wait_for(c, POLLOUT, 1) != 0)
		return -1;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0)
		return broken(c, "connect to %s: %s", c->peer, strerror(err));
	return 0;
}

int
smtp_client_open(const net_addr *to, const char *helo_name, int timeout_s,
    int cancel_fd, smtp_client **out, smtp_reply *why)
{
	smtp_client *c = calloc(1, sizeof(*c));
	char cmd[300];

	*out = NULL;
	why->code = 0;
	if (c == NULL) {
		snprintf(why->text, sizeof(why->text), "out of memory");
		return -1;
	}
	c->fd = -1;
	c->timeout_ms = timeout_s * 1000;
	c->cancel_fd = cancel_fd;
	snprintf(c->peer, sizeof(c->peer), "%s", to->text);
	if (connect_to(c, to) != 0) {
		snprintf(why->text, sizeof(why->text), "%s", c->failure);
		goto fail;
	}
	if (read_reply(c, why, NULL, 1) != 0)
		goto fail;
	if (why->code != 220)
		goto fail;
	snprintf(cmd, sizeof(cmd), "EHLO %s", helo_name);
	if (command(c, "%s", cmd) != 0 || read_reply(c, why, &c->ext, 1) != 0)
		goto fail_io;
	if (why->code / 100 != 2) {
		/* An old server: plain HELO, no extensions. */
		c->ext = 0;
		snprintf(cmd, sizeof(cmd), "HELO %s", helo_name);
		if (exchange(c, why, cmd) != 0)
			goto fail;
		if (why->code / 100 != 2)
			goto fail;
	}
	*out = c;
	return 0;
fail_io:
	why->code = 0;
	snprintf(why->text, sizeof(why->text), "%s", c->failure);
fail:
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return -1;
}

void
smtp_client_close(smtp_client *c)
{
	smtp_reply r;

	if (c == NULL)
		return;
	if (c->failure[0] == '\0') {
		c->timeout_ms = QUIT_TIMEOUT_S * 1000;
		exchange(c, &r, "QUIT");
	}
	close(c->fd);
	free(c);
}

int
smtp_client_reset(smtp_client *c)
{
	smtp_reply r;

	if (c->failure[0] != '\0' || exchange(c, &r, "RSET") != 0)
		return -1;
	return r.code / 100 == 2 ? 0 : -1;
}

/* Fills the replies from index i on with the connection's failure. */
static void
fail_rest(smtp_client *c, smtp_txn *t, size_t i)
{
	for (; i < t->nrcpts; i++) {
		t->rcpt_replies[i].code = 0;
		snprintf(t->rcpt_replies[i].text,
		    sizeof(t->rcpt_replies[i].text), "%s", c->failure);
	}
	if (t->final.code == 0)
		snprintf(t->final.text, sizeof(t->final.text), "%s",
		    c->failure);
}

/* Sends the message, dot-stuffed, and the final dot. */
static int
send_body(smtp_client *c, const seglist *msg)
{
	dot_encoder e;

	dot_encoder_init(&e, put, c);
	for (size_t i = 0; i < msg->n; i++)
		if (dot_encode(&e, msg->v[i].iov_base, msg->v[i].iov_len) != 0)
			return -1;
	if (dot_encode_end(&e) != 0)
		return -1;
	return flush_out(c, 1);
}

/* The connection broke during the data phase: the accepted recipients
 * get no verdict (final says why). */
static int
data_failed(smtp_client *c, smtp_txn *t)
{
	t->final.code = 0;
	snprintf(t->final.text, sizeof(t->final.text), "%s", c->failure);
	return -1;
}

int
smtp_client_send(smtp_client *c, smtp_txn *t)
{
	char cmd[700], params[64] = "";
	size_t i, accepted = 0;

	t->data_sent = 0;
	t->final.code = 0;
	t->final.text[0] = '\0';
	if (c->ext & EXT_SIZE)
		snprintf(params, sizeof(params), " SIZE=%zu", t->msg->total);
	if (t->eight_bit && (c->ext & EXT_8BITMIME))
		strncat(params, " BODY=8BITMIME", sizeof(params) -
		    strlen(params) - 1);
	snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s>%s", t->mail_from, params);
	if (exchange(c, &t->final, cmd) != 0) {
		fail_rest(c, t, 0);
		return -1;
	}
	if (t->final.code / 100 != 2) {
		for (i = 0; i < t->nrcpts; i++)
			t->rcpt_replies[i] = t->final;
		return 0;
	}
	for (i = 0; i < t->nrcpts; i++) {
		snprintf(cmd, sizeof(cmd), "RCPT TO:<%s>", t->rcpts[i]);
		if (exchange(c, &t->rcpt_replies[i], cmd) != 0) {
			fail_rest(c, t, i + 1);
			return -1;
		}
		if (t->rcpt_replies[i].code / 100 == 2)
			accepted++;
	}
	if (accepted == 0) {
		snprintf(t->final.text, sizeof(t->final.text), "no recipient "
		    "accepted");
		return smtp_client_reset(c);
	}
	if (exchange(c, &t->final, "DATA") != 0)
		return data_failed(c, t);
	if (t->final.code != 354)
		return smtp_client_reset(c);
	if (send_body(c, t->msg) != 0)
		return data_failed(c, t);
	t->data_sent = 1;
	/* Past the dot: wait for the verdict even while stopping. */
	if (read_reply(c, &t->final, NULL, 0) != 0)
		return -1;
	return 0;
}
