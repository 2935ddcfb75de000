/*
 * smtp_load.c - the two ends of the MTA throughput benchmark
 * (bench/mta_bench.sh): an SMTP sink that discards and counts messages,
 * and a load generator that sends N messages over many concurrent SMTP
 * sessions.
 *
 *   smtp_load sink --listen 127.0.0.1:PORT [--count-file F]
 *                  [--save-last F] [--quiet]
 *   smtp_load send --to 127.0.0.1:PORT [--sessions 50] [--messages N]
 *                  [--size BYTES] [--pipelining] [--from ADDR]
 *                  [--rcpt-domain D] [--count-file F] [--timeout SECONDS]
 *
 * The sink is one thread around epoll.  It speaks enough ESMTP for an MTA's
 * client side: EHLO/HELO (advertising PIPELINING, 8BITMIME and SIZE),
 * MAIL, RCPT, DATA, RSET, NOOP and QUIT, answering commands in order so
 * pipelined input works.  Each message ending in "." is counted, and
 * counted as signed when its header holds a DKIM-Signature field.  The
 * counts and the CLOCK_MONOTONIC time of the last message are written to
 * the count file (atomically, by rename) at start, every 20 ms while they
 * change, on SIGUSR1, and on SIGTERM/SIGINT (after which the sink exits 0):
 *
 *   received=N signed=N bytes=N last_ns=N
 *
 * With --save-last, the last complete message (dot-stuffing undone) is
 * written to F, before the count file that counts it, so a script can
 * check a signature of each run.
 *
 * The sender runs --sessions threads, each one SMTP session that takes
 * messages from a shared counter until N are taken: MAIL, RCPT, DATA,
 * message, next MAIL (no RSET).  With --pipelining (and the server
 * advertising PIPELINING) MAIL, RCPT and DATA go in one write.  Every
 * message is a realistic one: Date, From, To, Subject, Message-ID and MIME
 * fields, and a text body of --size bytes (default 2048) in paragraphs of
 * wrapped lines.  It prints one line of key=value pairs:
 *
 *   accepted=  messages the MTA answered 250 to after the data
 *   elapsed=   seconds from the first connect to the last 250
 *   rate=      accepted / elapsed: the MTA's acceptance rate
 *
 * and with --count-file (the sink's), after the last 250 it waits (at most
 * --timeout seconds, default 120) until the sink has received as many
 * messages more than when the sender started, and adds
 *
 *   sink_received=, sink_signed=   what the sink got during this run
 *   e2e_elapsed=   seconds from the first connect to the sink's last
 *                  message (both clocks are CLOCK_MONOTONIC, which every
 *                  process on the machine shares)
 *   e2e_rate=      sink_received / e2e_elapsed: the end-to-end rate
 *
 * Exit status: 0 all accepted (and all delivered, with --count-file);
 * 1 a protocol or connection error (any reply that is not the expected
 * one: the session stops, the rest go on); 2 usage; 3 the sink did not get
 * every accepted message before the timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SINK_NAME "sink.invalid"
#define IN_CAP (64u * 1024u)        /* sink input buffer per connection */
#define CMD_MAX 4096u               /* longest command line accepted */
#define COUNT_EVERY_NS 20000000ull  /* count file refresh: 20 ms */
#define REPLY_MAX 8192u             /* sender: reply buffer */
#define HDR_MAX 2048u               /* sender: header of one message */
#define MAX_SESSIONS 10000

static void usage(void)
{
	fprintf(stderr,
	    "usage:\n"
	    "  smtp_load sink --listen ADDR:PORT [--count-file F]"
	    " [--save-last F] [--quiet]\n"
	    "  smtp_load send --to ADDR:PORT [--sessions N] [--messages N]"
	    " [--size BYTES]\n"
	    "                 [--pipelining] [--from ADDR] [--rcpt-domain D]\n"
	    "                 [--count-file F] [--timeout SECONDS]\n");
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* "A.B.C.D:PORT" -> sa; 0 or -1. */
static int parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;
	size_t n;

	if (colon == NULL || (n = (size_t)(colon - s)) == 0 || n >= sizeof host)
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || port <= 0 || port > 65535)
		return -1;
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -1;
	return 0;
}

static long parse_long(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "smtp_load: %s wants a number in %ld..%ld, not "
		    "'%s'\n", opt, min, max, s);
		exit(2);
	}
	return v;
}

static void set_nodelay(int fd)
{
	int one = 1;

	/* Replies and commands are small writes: no Nagle delays. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* ================================================================ sink */

enum { ST_CMD, ST_DATA };

struct conn {
	int fd;
	int state;
	int have_mail;
	int nrcpt;
	int in_header;     /* DATA: still in the message header */
	int midline;       /* DATA: the buffer starts inside a long line */
	int is_signed;     /* DATA: a DKIM-Signature field seen */
	int quitting;      /* close once the output is written */
	int want_out;      /* EPOLLOUT registered */
	uint64_t msg_bytes;
	char *msg;         /* --save-last: the message so far, unstuffed */
	size_t msg_len, msg_cap;
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	char in[IN_CAP];
};

static volatile sig_atomic_t sink_stop, sink_dump;
static uint64_t sink_received, sink_signed, sink_bytes, sink_last_ns;
static int sink_save;              /* --save-last given */
static char *last_msg;             /* the last complete message */
static size_t last_msg_len;
static int last_msg_new;           /* not yet written out */
static size_t save_cap;            /* capacity of last_msg */

#define SAVE_MAX (1024u * 1024u)   /* --save-last keeps this much */

static void sink_on_signal(int sig)
{
	if (sig == SIGUSR1)
		sink_dump = 1;
	else
		sink_stop = 1;
}

static void write_count_file(const char *path)
{
	char tmp[4096];
	char line[256];
	int fd, n;

	if (path == NULL)
		return;
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return;
	n = snprintf(line, sizeof line,
	    "received=%" PRIu64 " signed=%" PRIu64 " bytes=%" PRIu64
	    " last_ns=%" PRIu64 "\n",
	    sink_received, sink_signed, sink_bytes, sink_last_ns);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "smtp_load sink: %s: %s\n", tmp,
		    strerror(errno));
		return;
	}
	if (write(fd, line, (size_t)n) != n || close(fd) != 0 ||
	    rename(tmp, path) != 0)
		fprintf(stderr, "smtp_load sink: writing %s: %s\n", path,
		    strerror(errno));
}

/* path gets the last complete message (as the MTA sent it, without the
 * SMTP dot-stuffing), for checking its signature afterwards. */
static void write_last_message(const char *path)
{
	char tmp[4096];
	FILE *f;

	if (path == NULL || !last_msg_new)
		return;
	last_msg_new = 0;
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return;
	f = fopen(tmp, "wb");
	if (f == NULL || fwrite(last_msg, 1, last_msg_len, f) != last_msg_len ||
	    fclose(f) != 0 || rename(tmp, path) != 0)
		fprintf(stderr, "smtp_load sink: writing %s: %s\n", path,
		    strerror(errno));
}

static void save_piece(struct conn *c, const char *p, size_t n)
{
	if (c->msg_len + n > SAVE_MAX)
		return; /* a huge message: keep its beginning only */
	if (c->msg_len + n > c->msg_cap) {
		size_t cap = c->msg_cap ? c->msg_cap : 8192;
		char *q;

		while (cap < c->msg_len + n)
			cap *= 2;
		q = realloc(c->msg, cap);
		if (q == NULL)
			return;
		c->msg = q;
		c->msg_cap = cap;
	}
	memcpy(c->msg + c->msg_len, p, n);
	c->msg_len += n;
}

static void reply(struct conn *c, const char *s)
{
	size_t n = strlen(s);

	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 1024;
		char *p;

		while (cap < c->out_len + n)
			cap *= 2;
		p = realloc(c->out, cap);
		if (p == NULL) {
			c->quitting = 1; /* drop the connection */
			return;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, s, n);
	c->out_len += n;
}

static void reset_txn(struct conn *c)
{
	c->have_mail = 0;
	c->nrcpt = 0;
}

/* Does the command line (without CRLF) start with verb, case-insensitively,
 * followed by the end or a space or ':'? */
static int is_verb(const char *line, size_t len, const char *verb)
{
	size_t n = strlen(verb);

	if (len < n || strncasecmp(line, verb, n) != 0)
		return 0;
	return len == n || line[n] == ' ' || line[n] == ':';
}

static void sink_command(struct conn *c, const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	if (is_verb(line, len, "EHLO")) {
		reset_txn(c);
		reply(c, "250-" SINK_NAME "\r\n250-PIPELINING\r\n"
		    "250-8BITMIME\r\n250 SIZE 104857600\r\n");
	} else if (is_verb(line, len, "HELO")) {
		reset_txn(c);
		reply(c, "250 " SINK_NAME "\r\n");
	} else if (is_verb(line, len, "MAIL")) {
		if (c->have_mail) {
			reply(c, "503 5.5.1 nested MAIL command\r\n");
		} else {
			c->have_mail = 1;
			c->nrcpt = 0;
			reply(c, "250 2.1.0 ok\r\n");
		}
	} else if (is_verb(line, len, "RCPT")) {
		if (!c->have_mail) {
			reply(c, "503 5.5.1 need MAIL first\r\n");
		} else {
			c->nrcpt++;
			reply(c, "250 2.1.5 ok\r\n");
		}
	} else if (is_verb(line, len, "DATA")) {
		if (c->nrcpt == 0) {
			reply(c, "503 5.5.1 need RCPT first\r\n");
		} else {
			c->state = ST_DATA;
			c->msg_len = 0;
			c->in_header = 1;
			c->midline = 0;
			c->is_signed = 0;
			c->msg_bytes = 0;
			reply(c, "354 go ahead\r\n");
		}
	} else if (is_verb(line, len, "RSET")) {
		reset_txn(c);
		reply(c, "250 2.0.0 ok\r\n");
	} else if (is_verb(line, len, "NOOP")) {
		reply(c, "250 2.0.0 ok\r\n");
	} else if (is_verb(line, len, "QUIT")) {
		reply(c, "221 2.0.0 bye\r\n");
		c->quitting = 1;
	} else {
		reply(c, "502 5.5.2 command not implemented\r\n");
	}
}

/* One line of message data (with its line end, or a piece of a long line
 * when ends_line is 0).  Returns 1 at the terminating ".". */
static int sink_data_line(struct conn *c, const char *p, size_t n,
    int ends_line)
{
	int at_start = !c->midline;

	c->midline = !ends_line;
	if (at_start && ends_line &&
	    ((n == 3 && memcmp(p, ".\r\n", 3) == 0) ||
	    (n == 2 && memcmp(p, ".\n", 2) == 0))) {
		sink_received++;
		sink_signed += (uint64_t)c->is_signed;
		sink_bytes += c->msg_bytes;
		sink_last_ns = now_ns();
		if (sink_save) {
			/* Keep this message: swap buffers, no copy. */
			char *t = last_msg;
			size_t tcap = c->msg_cap;

			last_msg = c->msg;
			last_msg_len = c->msg_len;
			last_msg_new = 1;
			c->msg = t;
			c->msg_cap = t != NULL ? save_cap : 0;
			save_cap = tcap;
			c->msg_len = 0;
		}
		c->state = ST_CMD;
		reset_txn(c);
		reply(c, "250 2.0.0 ok\r\n");
		return 1;
	}
	c->msg_bytes += n;
	if (sink_save) {
		if (at_start && p[0] == '.')
			save_piece(c, p + 1, n - 1);
		else
			save_piece(c, p, n);
	}
	if (at_start && c->in_header) {
		if ((n == 2 && p[0] == '\r' && p[1] == '\n') ||
		    (n == 1 && p[0] == '\n'))
			c->in_header = 0;
		else if (n >= 15 && strncasecmp(p, "DKIM-Signature:", 15) == 0)
			c->is_signed = 1;
	}
	return 0;
}

/* Consumes what can be consumed of c->in. */
static void sink_process(struct conn *c)
{
	size_t off = 0;

	while (off < c->in_len && !c->quitting) {
		char *p = c->in + off;
		size_t avail = c->in_len - off;
		char *nl = memchr(p, '\n', avail);

		if (c->state == ST_CMD) {
			if (nl == NULL) {
				if (avail >= CMD_MAX) {
					reply(c, "500 5.5.2 line too long\r\n");
					c->quitting = 1;
				}
				break;
			}
			sink_command(c, p, (size_t)(nl - p));
			off += (size_t)(nl - p) + 1;
		} else if (nl != NULL) {
			size_t n = (size_t)(nl - p) + 1;

			sink_data_line(c, p, n, 1);
			off += n;
		} else {
			/* A line longer than the buffer: pass it on in
			 * pieces; shorter partial lines wait for more. */
			if (off == 0 && avail == IN_CAP) {
				sink_data_line(c, p, avail, 0);
				off += avail;
			}
			break;
		}
	}
	if (off > 0) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
}

static void sink_close(int ep, struct conn *c)
{
	(void)epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	free(c->msg);
	free(c);
}

/* Writes what it can; 0 fine (maybe more later), -1 connection gone. */
static int sink_flush(int ep, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = write(c->fd, c->out + c->out_off,
		    c->out_len - c->out_off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		c->out_off += (size_t)w;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		if (c->quitting)
			return -1;
	}
	{
		int want = c->out_len > 0;

		if (want != c->want_out) {
			struct epoll_event ev;

			ev.events = want ? EPOLLOUT : EPOLLIN;
			ev.data.ptr = c;
			if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
				return -1;
			c->want_out = want;
		}
	}
	return 0;
}

static void sink_accept(int ep, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev;
		struct conn *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				fprintf(stderr, "smtp_load sink: accept: %s\n",
				    strerror(errno));
			return;
		}
		set_nodelay(fd);
		c = calloc(1, sizeof *c);
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
			continue;
		}
		reply(c, "220 " SINK_NAME " ESMTP smtp_load sink\r\n");
		if (sink_flush(ep, c) != 0)
			sink_close(ep, c);
	}
}

static int run_sink(int argc, char **argv)
{
	const char *listen_at = NULL, *count_file = NULL, *save_last = NULL;
	struct sockaddr_in sa;
	struct sigaction act;
	struct epoll_event ev, evs[256];
	uint64_t last_write = 0, written_received = 0;
	int quiet = 0, lfd, ep, one = 1, i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen_at = argv[++i];
		else if (strcmp(argv[i], "--count-file") == 0 && i + 1 < argc)
			count_file = argv[++i];
		else if (strcmp(argv[i], "--save-last") == 0 && i + 1 < argc)
			save_last = argv[++i];
		else if (strcmp(argv[i], "--quiet") == 0)
			quiet = 1;
		else
			usage();
	}
	if (listen_at == NULL || parse_addr(listen_at, &sa) != 0)
		usage();
	sink_save = save_last != NULL;

	memset(&act, 0, sizeof act);
	act.sa_handler = sink_on_signal; /* no SA_RESTART: epoll_wait wakes */
	sigemptyset(&act.sa_mask);
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	sigaction(SIGUSR1, &act, NULL);
	signal(SIGPIPE, SIG_IGN);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(lfd, 4096) != 0) {
		fprintf(stderr, "smtp_load sink: cannot listen on %s: %s\n",
		    listen_at, strerror(errno));
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		fprintf(stderr, "smtp_load sink: epoll: %s\n", strerror(errno));
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = NULL; /* NULL marks the listener */
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	write_count_file(count_file);
	if (!quiet)
		fprintf(stderr, "smtp_load sink: listening on %s\n", listen_at);

	while (!sink_stop) {
		int n = epoll_wait(ep, evs, 256, 20);
		uint64_t t;

		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "smtp_load sink: epoll_wait: %s\n",
			    strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c == NULL) {
				sink_accept(ep, lfd);
				continue;
			}
			if (evs[i].events & EPOLLOUT) {
				if (sink_flush(ep, c) != 0) {
					sink_close(ep, c);
					continue;
				}
				if (c->want_out)
					continue;
				/* Input that waited behind the output. */
				sink_process(c);
				if (sink_flush(ep, c) != 0)
					sink_close(ep, c);
				continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
				ssize_t r = read(c->fd, c->in + c->in_len,
				    IN_CAP - c->in_len);

				if (r < 0 && (errno == EAGAIN ||
				    errno == EINTR))
					continue;
				if (r <= 0) {
					sink_close(ep, c);
					continue;
				}
				c->in_len += (size_t)r;
				sink_process(c);
				if (sink_flush(ep, c) != 0)
					sink_close(ep, c);
			}
		}
		t = now_ns();
		if (sink_dump || (sink_received != written_received &&
		    t - last_write >= COUNT_EVERY_NS)) {
			write_last_message(save_last);
			write_count_file(count_file);
			written_received = sink_received;
			last_write = t;
			if (sink_dump && !quiet)
				fprintf(stderr, "smtp_load sink: received=%"
				    PRIu64 " signed=%" PRIu64 "\n",
				    sink_received, sink_signed);
			sink_dump = 0;
		}
	}
	write_last_message(save_last);
	write_count_file(count_file);
	if (!quiet)
		fprintf(stderr, "smtp_load sink: stopping: received=%" PRIu64
		    " signed=%" PRIu64 " bytes=%" PRIu64 "\n",
		    sink_received, sink_signed, sink_bytes);
	return 0;
}

/* ================================================================ send */

struct send_cfg {
	struct sockaddr_in to;
	const char *to_text;
	long sessions;
	long messages;
	long size;
	int pipelining;
	const char *from;
	const char *rcpt_domain;
	const char *count_file;
	long timeout;
	char *body;        /* wire form: dot-stuffed, ends with ".\r\n" */
	size_t body_len;
	uint64_t start_ns;
};

static struct send_cfg cfg;
static atomic_long next_msg, n_accepted;
static atomic_int n_errors_printed;
static _Atomic uint64_t last_accept_ns;

static void send_error(long session, const char *fmt, ...)
{
	va_list ap;

	/* Many sessions failing alike would flood the terminal. */
	if (atomic_fetch_add(&n_errors_printed, 1) >= 10)
		return;
	fprintf(stderr, "smtp_load send: session %ld: ", session);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The body: paragraphs of lines of about 72 characters, made of common
 * words, --size bytes in all; then dot-stuffed and terminated. */
static void make_body(void)
{
	static const char *const words[] = {
		"the", "quarterly", "report", "shows", "that", "our", "team",
		"delivered", "all", "planned", "features", "on", "time", "and",
		"within", "budget", "please", "review", "attached", "figures",
		"before", "meeting", "next", "week", "customers", "asked",
		"for", "better", "support", "of", "their", "existing",
		"accounts", "we", "will", "discuss", "options", "with",
		"engineering", "sales", "regarding", "pricing", "changes",
		"in", "second", "half", "year", "thank", "you", "everyone",
		"hard", "work", "schedule", "update", "follows", "below",
	};
	size_t nwords = sizeof words / sizeof words[0];
	size_t target = (size_t)cfg.size, len = 0, col = 0, nlines = 0;
	uint32_t x = 2463534242u;
	char *raw = malloc(target + 128);
	char *out;
	size_t i, o;

	if (raw == NULL) {
		perror("smtp_load send");
		exit(1);
	}
	while (len < target) {
		const char *w;
		size_t wl;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		w = words[x % nwords];
		wl = strlen(w);
		if (col > 0 && col + 1 + wl > 72) {
			memcpy(raw + len, "\r\n", 2);
			len += 2;
			col = 0;
			if (++nlines % 6 == 0) { /* paragraph break */
				memcpy(raw + len, "\r\n", 2);
				len += 2;
			}
			continue;
		}
		if (col > 0) {
			raw[len++] = ' ';
			col++;
		}
		memcpy(raw + len, w, wl);
		len += wl;
		col += wl;
	}
	if (col > 0) {
		memcpy(raw + len, "\r\n", 2);
		len += 2;
	}
	/* Dot-stuffing (none is needed for these words, but be correct). */
	out = malloc(2 * len + 8);
	if (out == NULL) {
		perror("smtp_load send");
		exit(1);
	}
	for (i = 0, o = 0; i < len; i++) {
		if (raw[i] == '.' && (i == 0 || raw[i - 1] == '\n'))
			out[o++] = '.';
		out[o++] = raw[i];
	}
	memcpy(out + o, ".\r\n", 3);
	o += 3;
	free(raw);
	cfg.body = out;
	cfg.body_len = o;
}

struct reader {
	int fd;
	size_t len;
	char buf[REPLY_MAX];
};

/* Reads one reply, multi-line or not.  Returns its code, or -1 on a
 * broken connection, timeout or malformed reply.  text gets the last line
 * (for errors); *pipelining is set when a line says PIPELINING. */
static int read_reply(struct reader *r, char *text, size_t textlen,
    int *pipelining)
{
	for (;;) {
		char *nl = memchr(r->buf, '\n', r->len);

		if (nl != NULL) {
			size_t n = (size_t)(nl - r->buf) + 1;
			int code = -1, last;

			if (n >= 4 && r->buf[0] >= '2' && r->buf[0] <= '5' &&
			    r->buf[1] >= '0' && r->buf[1] <= '9' &&
			    r->buf[2] >= '0' && r->buf[2] <= '9')
				code = (r->buf[0] - '0') * 100 +
				    (r->buf[1] - '0') * 10 + (r->buf[2] - '0');
			last = n >= 4 && r->buf[3] != '-';
			if (pipelining != NULL && n >= 14 &&
			    strncasecmp(r->buf + 4, "PIPELINING", 10) == 0)
				*pipelining = 1;
			if (text != NULL) {
				size_t k = n < textlen ? n : textlen - 1;

				memcpy(text, r->buf, k);
				while (k > 0 && (text[k - 1] == '\n' ||
				    text[k - 1] == '\r'))
					k--;
				text[k] = '\0';
			}
			memmove(r->buf, r->buf + n, r->len - n);
			r->len -= n;
			if (code < 0)
				return -1;
			if (last)
				return code;
			continue;
		}
		if (r->len == sizeof r->buf)
			return -1; /* a line longer than any reply */
		{
			ssize_t k = read(r->fd, r->buf + r->len,
			    sizeof r->buf - r->len);

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				if (text != NULL)
					snprintf(text, textlen, "%s",
					    k == 0 ? "connection closed" :
					    errno == EAGAIN ?
					    "timeout waiting for a reply" :
					    strerror(errno));
				return -1;
			}
			r->len += (size_t)k;
		}
	}
}

static int write_all_v(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	struct iovec iov;

	iov.iov_base = (void *)p;
	iov.iov_len = n;
	return write_all_v(fd, &iov, 1);
}

static void note_accept(void)
{
	uint64_t t = now_ns(), prev = atomic_load(&last_accept_ns);

	while (t > prev &&
	    !atomic_compare_exchange_weak(&last_accept_ns, &prev, t))
		;
	atomic_fetch_add(&n_accepted, 1);
}

static size_t make_header(char *h, size_t cap, long msg, long session)
{
	static const char *const days[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
		"Oct", "Nov", "Dec" };
	time_t t = time(NULL);
	struct tm tm;
	int n;

	gmtime_r(&t, &tm);
	n = snprintf(h, cap,
	    "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n"
	    "From: \"Load Test\" <%s>\r\n"
	    "To: \"Recipient %ld\" <user%ld@%s>\r\n"
	    "Subject: Quarterly report draft, message %ld of session %ld\r\n"
	    "Message-ID: <%ld.%ld.%lld.%ld@smtp-load.invalid>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=\"us-ascii\"; format=flowed\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n"
	    "X-Mailer: smtp_load\r\n"
	    "\r\n",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    cfg.from, msg, msg % 1000, cfg.rcpt_domain, msg, session,
	    msg, session, (long long)t, (long)getpid());
	if (n < 0 || (size_t)n >= cap)
		return 0;
	return (size_t)n;
}

static void *session_main(void *arg)
{
	long id = (long)(intptr_t)arg;
	struct reader *r = calloc(1, sizeof *r);
	char text[256], hdr[HDR_MAX], cmds[1024];
	struct timeval tv;
	int fd = -1, pipelining = 0, code;

	if (r == NULL) {
		send_error(id, "out of memory");
		goto out;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&cfg.to,
	    sizeof cfg.to) != 0) {
		send_error(id, "connect %s: %s", cfg.to_text, strerror(errno));
		goto out;
	}
	set_nodelay(fd);
	tv.tv_sec = cfg.timeout;
	tv.tv_usec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	r->fd = fd;
	if ((code = read_reply(r, text, sizeof text, NULL)) != 220) {
		send_error(id, "greeting: %s", text);
		goto out;
	}
	if (write_all(fd, "EHLO smtp-load.invalid\r\n", 24) != 0 ||
	    (code = read_reply(r, text, sizeof text, &pipelining)) != 250) {
		send_error(id, "EHLO: %s", text);
		goto out;
	}
	pipelining = pipelining && cfg.pipelining;

	for (;;) {
		long msg = atomic_fetch_add(&next_msg, 1);
		struct iovec iov[3];
		size_t hl;
		int nc, c1, c2, c3;
		char t1[256], t2[256];

		if (msg >= cfg.messages)
			break;
		nc = snprintf(cmds, sizeof cmds,
		    "MAIL FROM:<%s>\r\nRCPT TO:<user%ld@%s>\r\nDATA\r\n",
		    cfg.from, msg % 1000, cfg.rcpt_domain);
		hl = make_header(hdr, sizeof hdr, msg, id);
		if (nc < 0 || (size_t)nc >= sizeof cmds || hl == 0) {
			send_error(id, "--from or --rcpt-domain too long");
			goto out;
		}
		if (pipelining) {
			if (write_all(fd, cmds, (size_t)nc) != 0) {
				send_error(id, "write: %s", strerror(errno));
				goto out;
			}
			c1 = read_reply(r, t1, sizeof t1, NULL);
			c2 = c1 < 0 ? -1 : read_reply(r, t2, sizeof t2, NULL);
			c3 = c2 < 0 ? -1 : read_reply(r, text, sizeof text,
			    NULL);
		} else {
			/* One command at a time: "MAIL..\r\n", "RCPT..\r\n",
			 * "DATA\r\n" are the three lines of cmds. */
			char *l2 = strstr(cmds, "\r\n") + 2;
			char *l3 = strstr(l2, "\r\n") + 2;

			c1 = c2 = c3 = -1;
			if (write_all(fd, cmds, (size_t)(l2 - cmds)) == 0)
				c1 = read_reply(r, t1, sizeof t1, NULL);
			if (c1 == 250 && write_all(fd, l2,
			    (size_t)(l3 - l2)) == 0)
				c2 = read_reply(r, t2, sizeof t2, NULL);
			if (c2 == 250 && write_all(fd, l3,
			    (size_t)(cmds + nc - l3)) == 0)
				c3 = read_reply(r, text, sizeof text, NULL);
		}
		if (c1 != 250 || c2 != 250 || c3 != 354) {
			send_error(id, "message %ld: %s", msg,
			    c1 != 250 ? t1 : c2 != 250 ? t2 : text);
			goto out;
		}
		iov[0].iov_base = hdr;
		iov[0].iov_len = hl;
		iov[1].iov_base = cfg.body;
		iov[1].iov_len = cfg.body_len;
		if (write_all_v(fd, iov, 2) != 0) {
			send_error(id, "message %ld: write: %s", msg,
			    strerror(errno));
			goto out;
		}
		if ((code = read_reply(r, text, sizeof text, NULL)) != 250) {
			send_error(id, "message %ld: after data: %s", msg,
			    text);
			goto out;
		}
		note_accept();
	}
	if (write_all(fd, "QUIT\r\n", 6) == 0)
		(void)read_reply(r, text, sizeof text, NULL);
	close(fd);
	free(r);
	return NULL;
out:
	if (fd >= 0)
		close(fd);
	free(r);
	return (void *)1;
}

struct counts {
	uint64_t received, is_signed, last_ns;
};

static int read_counts(const char *path, struct counts *c)
{
	char buf[512];
	unsigned long long rcv, sgn, bytes, last;
	FILE *f = fopen(path, "r");
	int ok;

	if (f == NULL)
		return -1;
	ok = fgets(buf, sizeof buf, f) != NULL &&
	    sscanf(buf, "received=%llu signed=%llu bytes=%llu last_ns=%llu",
	    &rcv, &sgn, &bytes, &last) == 4;
	fclose(f);
	if (!ok)
		return -1;
	c->received = rcv;
	c->is_signed = sgn;
	c->last_ns = last;
	return 0;
}

static int run_send(int argc, char **argv)
{
	pthread_t *th;
	struct counts base, cur;
	int i, bad_sessions = 0, rc = 0;
	double elapsed;
	long accepted, failed;
	char hdr[HDR_MAX];
	size_t msg_bytes;

	cfg.sessions = 50;
	cfg.messages = 1000;
	cfg.size = 2048;
	cfg.from = "sender@bench.example";
	cfg.rcpt_domain = "sink.example";
	cfg.timeout = 120;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--pipelining") == 0) {
			cfg.pipelining = 1;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "--to") == 0)
			cfg.to_text = v;
		else if (strcmp(a, "--sessions") == 0)
			cfg.sessions = parse_long(a, v, 1, MAX_SESSIONS);
		else if (strcmp(a, "--messages") == 0)
			cfg.messages = parse_long(a, v, 1, 100000000);
		else if (strcmp(a, "--size") == 0)
			cfg.size = parse_long(a, v, 0, 100000000);
		else if (strcmp(a, "--from") == 0)
			cfg.from = v;
		else if (strcmp(a, "--rcpt-domain") == 0)
			cfg.rcpt_domain = v;
		else if (strcmp(a, "--count-file") == 0)
			cfg.count_file = v;
		else if (strcmp(a, "--timeout") == 0)
			cfg.timeout = parse_long(a, v, 1, 86400);
		else
			usage();
	}
	if (cfg.to_text == NULL || parse_addr(cfg.to_text, &cfg.to) != 0)
		usage();
	signal(SIGPIPE, SIG_IGN);
	make_body();
	/* The size of a typical message on the wire, without the "." line. */
	msg_bytes = make_header(hdr, sizeof hdr, 0, 0) + cfg.body_len - 3;

	if (cfg.count_file != NULL && read_counts(cfg.count_file, &base) != 0) {
		fprintf(stderr, "smtp_load send: cannot read the sink's count "
		    "file %s\n", cfg.count_file);
		return 2;
	}

	th = calloc((size_t)cfg.sessions, sizeof *th);
	if (th == NULL) {
		perror("smtp_load send");
		return 1;
	}
	cfg.start_ns = now_ns();
	for (i = 0; i < cfg.sessions; i++) {
		if (pthread_create(&th[i], NULL, session_main,
		    (void *)(intptr_t)i) != 0) {
			fprintf(stderr, "smtp_load send: cannot start thread "
			    "%d\n", i);
			return 1;
		}
	}
	for (i = 0; i < cfg.sessions; i++) {
		void *res;

		pthread_join(th[i], &res);
		bad_sessions += res != NULL;
	}
	free(th);

	accepted = atomic_load(&n_accepted);
	failed = cfg.messages - accepted;
	elapsed = accepted > 0 ?
	    (double)(atomic_load(&last_accept_ns) - cfg.start_ns) / 1e9 :
	    (double)(now_ns() - cfg.start_ns) / 1e9;
	printf("sessions=%ld messages=%ld accepted=%ld failed=%ld "
	    "msg_bytes=%zu elapsed=%.3f rate=%.1f",
	    cfg.sessions, cfg.messages, accepted, failed,
	    msg_bytes,
	    elapsed, elapsed > 0 ? (double)accepted / elapsed : 0.0);
	if (bad_sessions > 0 || failed > 0)
		rc = 1;

	if (cfg.count_file != NULL) {
		uint64_t deadline = now_ns() +
		    (uint64_t)cfg.timeout * 1000000000ull;
		int have = 0;

		for (;;) {
			if (read_counts(cfg.count_file, &cur) == 0) {
				have = 1;
				if (cur.received - base.received >=
				    (uint64_t)accepted)
					break;
			}
			if (now_ns() >= deadline)
				break;
			usleep(5000);
		}
		if (!have) {
			printf(" sink=unreadable\n");
			return rc ? rc : 3;
		}
		{
			uint64_t got = cur.received - base.received;
			double e2e = (double)(cur.last_ns - cfg.start_ns) / 1e9;

			if (got == 0)
				e2e = 0;
			printf(" sink_received=%" PRIu64 " sink_signed=%" PRIu64
			    " e2e_elapsed=%.3f e2e_rate=%.1f%s",
			    got, cur.is_signed - base.is_signed, e2e,
			    e2e > 0 ? (double)got / e2e : 0.0,
			    got < (uint64_t)accepted ? " e2e=timeout" : "");
			if (got < (uint64_t)accepted && rc == 0)
				rc = 3;
		}
	}
	printf("\n");
	fflush(stdout);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "sink") == 0)
		return run_sink(argc - 2, argv + 2);
	if (strcmp(argv[1], "send") == 0)
		return run_send(argc - 2, argv + 2);
	usage();
	return 2;
}
