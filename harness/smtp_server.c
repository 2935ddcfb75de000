/*
 * smtp_server.c - listeners and sessions on the event loop (event_loop.c).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "delivery_queue.h"
#include "log.h"
#include "smtp_server.h"
#include "smtp_session.h"
#include "task_pool.h"

#define SWEEP_MS 1000
#define LISTEN_BACKLOG 1024

struct listener_sock {
	smtp_server *server;
	loop_io io;
	int fd;
	int paused;                 /* out of descriptors: retried later */
	const hc_listener *l;
};

struct conn {
	smtp_server *server;
	loop_io io;
	int fd;
	smtp_session *s;
	const hc_listener *l;
	char peer[NET_ADDR_TEXT];
	uint64_t start_ms;
	uint64_t last_ms;           /* the last bytes from the client */
	int busy;                   /* its message is on the task pool */
	int eof;                    /* the client sent all it will send */
	int gone;                   /* the connection broke while busy */
	int dead;                   /* closed; freed by reap() */
	struct conn *prev;
	struct conn *next;
};

/* A finished message on its way through the task pool. */
struct intake_job {
	task t;                     /* first: the pool links tasks */
	smtp_server *s;
	struct conn *c;
	const hc_listener *l;
	char peer[NET_ADDR_TEXT];
	session_message m;
	char reply[600];
};

struct smtp_server {
	const harness_config *cfg;
	const intake *in;
	session_limits lim;
	event_loop *loop;
	loop_timer sweep_timer;
	task_pool *pool;
	struct listener_sock *ls;
	size_t nls;
	struct conn *conns;
	/* Closed sessions, freed at the top of the loop (reap), never while
	 * a callback further up the stack may still look at them. */
	struct conn *dead;
	loop_call reap_call;
	int reap_posted;
	size_t nconns;
	size_t njobs;
	int stopping;
	int freeing;                /* smtp_server_free: jobs come back unseen */
};

static void sweep(void *ctx);
static void listener_event(void *ctx, unsigned ready);
static void conn_event(void *ctx, unsigned ready);

/* ------------------------------------------------------------ set-up */

/* On an intake worker: queue the message (pre-queue hook, spool). */
static void
run_intake(task *t)
{
	struct intake_job *job = (struct intake_job *)t;

	intake_message(job->s->in, job->l, job->peer, &job->m, job->reply,
	    sizeof(job->reply));
}

static int
open_listener(smtp_server *s, struct listener_sock *ls, char *err,
    size_t errlen)
{
	const net_addr *a = &ls->l->addr;
	int one = 1;

	ls->server = s;
	ls->fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (ls->fd < 0) {
		snprintf(err, errlen, "listener %s: socket: %s", ls->l->name,
		    strerror(errno));
		return -1;
	}
	setsockopt(ls->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->ss.ss_family == AF_INET6)
		setsockopt(ls->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		    sizeof(one));
	if (bind(ls->fd, (const struct sockaddr *)&a->ss, a->len) != 0 ||
	    listen(ls->fd, LISTEN_BACKLOG) != 0 ||
	    event_loop_add(s->loop, &ls->io, ls->fd, LOOP_IN, listener_event,
	    ls) != 0) {
		snprintf(err, errlen, "listener %s: cannot listen on %s: %s",
		    ls->l->name, a->text, strerror(errno));
		return -1;
	}
	log_msg(HLOG_INFO, "listening on %s (listener %s, source %s)",
	    a->text, ls->l->name, ls->l->source);
	return 0;
}

int
smtp_server_new(const harness_config *cfg, const intake *in,
    event_loop *loop, smtp_server **out, char *err, size_t errlen)
{
	smtp_server *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->cfg = cfg;
	s->in = in;
	s->loop = loop;
	s->lim.hostname = cfg->hostname;
	s->lim.max_message_size = cfg->max_message_size;
	s->lim.max_recipients = cfg->max_recipients;
	s->lim.max_line_length = cfg->max_line_length;
	s->ls = calloc(cfg->nlisteners, sizeof(*s->ls));
	if (s->ls == NULL) {
		snprintf(err, errlen, "cannot start the server: out of memory");
		goto fail;
	}
	for (size_t i = 0; i < cfg->nlisteners; i++)
		s->ls[i].fd = -1;
	for (; s->nls < cfg->nlisteners; s->nls++) {
		s->ls[s->nls].l = &cfg->listeners[s->nls];
		if (open_listener(s, &s->ls[s->nls], err, errlen) != 0) {
			s->nls++;
			goto fail;
		}
	}
	if (task_pool_new(loop, cfg->intake_workers, &s->pool) != 0) {
		snprintf(err, errlen, "cannot start the intake workers: %s",
		    strerror(errno));
		goto fail;
	}
	loop_timer_start(loop, &s->sweep_timer, SWEEP_MS, sweep, s);
	*out = s;
	return 0;
fail:
	smtp_server_free(s);
	return -1;
}

/* ------------------------------------------------------- connections */

/* Frees the closed sessions; ends the loop once a stop has drained. */
static void
reap(loop_call *call)
{
	smtp_server *s = (smtp_server *)((char *)call -
	    offsetof(smtp_server, reap_call));

	s->reap_posted = 0;
	while (s->dead != NULL) {
		struct conn *c = s->dead;
		s->dead = c->next;
		smtp_session_free(c->s);
		free(c);
		s->nconns--;
	}
	if (s->stopping && s->nconns == 0 && s->njobs == 0)
		event_loop_stop(s->loop);
}

static void
schedule_reap(smtp_server *s)
{
	if (!s->reap_posted) {
		s->reap_posted = 1;
		event_loop_post(s->loop, &s->reap_call, reap);
	}
}

static void
conn_close(smtp_server *s, struct conn *c)
{
	if (c->dead)
		return;
	log_msg(HLOG_DEBUG, "session from %s closed", c->peer);
	event_loop_remove(s->loop, &c->io);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->dead = 1;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	/* Callbacks further up the stack may still look at it. */
	c->next = s->dead;
	s->dead = c;
	schedule_reap(s);
}

/* The connection broke.  A session whose message is being queued stays
 * until the pool is done with it. */
static void
conn_lost(smtp_server *s, struct conn *c)
{
	if (!c->busy) {
		conn_close(s, c);
		return;
	}
	c->gone = 1;
	event_loop_remove(s->loop, &c->io);
}

static void
set_events(smtp_server *s, struct conn *c)
{
	size_t pending;

	if (c->dead || c->gone)
		return;
	smtp_session_output(c->s, &pending);
	/* On failure the old events stay, and the next change tries again. */
	event_loop_modify(s->loop, &c->io,
	    (!c->eof && smtp_session_wants_input(c->s) ? LOOP_IN : 0) |
	    (pending > 0 ? LOOP_OUT : 0));
}

/* Sends what output the socket takes now.  -1 when the client is gone. */
static int
conn_flush(smtp_server *s, struct conn *c)
{
	const char *p;
	size_t n;

	for (p = smtp_session_output(c->s, &n); n > 0;
	    p = smtp_session_output(c->s, &n)) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			smtp_session_output_sent(c->s, (size_t)w);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		conn_lost(s, c);
		return -1;
	}
	return 0;
}

static void job_done(task *t);

static void
submit(smtp_server *s, struct conn *c)
{
	struct intake_job *job = calloc(1, sizeof(*job));
	session_message m;

	if (job == NULL) {
		smtp_session_take_message(c->s, &m);
		session_message_clear(&m);
		smtp_session_message_done(c->s, "451 4.3.0 Out of memory");
		return;
	}
	job->s = s;
	job->c = c;
	job->l = c->l;
	snprintf(job->peer, sizeof(job->peer), "%s", c->peer);
	smtp_session_take_message(c->s, &job->m);
	c->busy = 1;
	s->njobs++;
	task_pool_submit(s->pool, &job->t, run_intake, job_done);
}

/* Runs what input the session has, sends the answers, and starts queueing
 * a finished message. */
static void
conn_advance(smtp_server *s, struct conn *c)
{
	size_t before, after;

	for (;;) {
		if (!c->busy &&
		    smtp_session_run(c->s) == SESSION_MESSAGE)
			submit(s, c);
		smtp_session_output(c->s, &before);
		if (conn_flush(s, c) != 0 || c->gone)
			return;
		smtp_session_output(c->s, &after);
		/* The session stops at a backlog of output; once that has
		 * gone out, pipelined commands may be waiting. */
		if (!c->busy && before > 0 && after == 0 &&
		    smtp_session_has_input(c->s))
			continue;
		/* Done: the session ended, or the client finished sending
		 * (it may still read: everything was answered first). */
		if ((smtp_session_closed(c->s) || c->eof) && after == 0 &&
		    !c->busy) {
			conn_close(s, c);
			return;
		}
		break;
	}
	set_events(s, c);
}

static void
conn_read(smtp_server *s, struct conn *c)
{
	size_t avail;
	char *p = smtp_session_input_space(c->s, &avail);
	ssize_t n;

	if (avail == 0)
		return;
	n = recv(c->fd, p, avail, 0);
	if (n > 0) {
		smtp_session_input_added(c->s, (size_t)n);
		c->last_ms = monotonic_ms();
	} else if (n == 0) {
		/* A half-close: what was sent is still answered. */
		log_msg(HLOG_DEBUG, "session from %s: end of input", c->peer);
		c->eof = 1;
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		log_msg(HLOG_DEBUG, "session from %s: %s", c->peer,
		    strerror(errno));
		conn_lost(s, c);
	}
}

static void
conn_event(void *ctx, unsigned ready)
{
	struct conn *c = ctx;
	smtp_server *s = c->server;

	if (c->dead || c->gone)
		return;
	/* A hang-up after our reading ended: nothing will go out either. */
	if ((ready & LOOP_ERR) || ((ready & LOOP_HUP) && c->eof)) {
		conn_lost(s, c);
		return;
	}
	if (ready & (LOOP_IN | LOOP_HUP)) {
		conn_read(s, c);
		if (c->dead || c->gone)
			return;
	}
	conn_advance(s, c);
}

/* Refuses a connection over max-sessions, politely but without waiting. */
static void
refuse(smtp_server *s, int fd)
{
	char line[300];
	int n = snprintf(line, sizeof(line), "421 4.3.2 %s Too many sessions, "
	    "try again later\r\n", s->cfg->hostname);

	if (n > 0 && send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_msg(HLOG_DEBUG, "refused a session: %s", strerror(errno));
	close(fd);
}

static void
accept_all(smtp_server *s, struct listener_sock *ls)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct conn *c;
		int one = 1;
		int fd = accept4(ls->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* Level-triggered: pause, or spin. */
				log_msg(HLOG_ERR, "listener %s: cannot accept: "
				    "%s (paused for a second)", ls->l->name,
				    strerror(errno));
				event_loop_remove(s->loop, &ls->io);
				ls->paused = 1;
			}
			return;
		}
		if (s->nconns >= s->cfg->max_sessions) {
			refuse(s, fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL || (c->s = smtp_session_new(&s->lim)) == NULL) {
			free(c);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->server = s;
		c->fd = fd;
		c->l = ls->l;
		net_addr_format((struct sockaddr *)&ss, len, c->peer,
		    sizeof(c->peer));
		c->start_ms = c->last_ms = monotonic_ms();
		if (event_loop_add(s->loop, &c->io, fd, 0, conn_event, c) != 0) {
			smtp_session_free(c->s);
			free(c);
			close(fd);
			continue;
		}
		c->next = s->conns;
		if (s->conns != NULL)
			s->conns->prev = c;
		s->conns = c;
		s->nconns++;
		log_msg(HLOG_DEBUG, "session from %s on listener %s", c->peer,
		    ls->l->name);
		conn_advance(s, c); /* the greeting */
	}
}

static void
close_listener(smtp_server *s, struct listener_sock *ls)
{
	event_loop_remove(s->loop, &ls->io);
	if (ls->fd >= 0)
		close(ls->fd);
	ls->fd = -1;
}

static void
listener_event(void *ctx, unsigned ready)
{
	struct listener_sock *ls = ctx;

	(void)ready;
	if (!ls->server->stopping)
		accept_all(ls->server, ls);
}

/* ------------------------------------------------------------ events */

/* Ends a session from our side with a 421 (timeout, shutdown). */
static void
conn_abort(smtp_server *s, struct conn *c, const char *why)
{
	char line[300];

	snprintf(line, sizeof(line), "421 4.4.2 %s %s", s->cfg->hostname, why);
	smtp_session_abort(c->s, line);
	if (conn_flush(s, c) == 0 && !c->dead)
		conn_close(s, c);
}

/* On the loop: a message went through the pool: answer it and go on. */
static void
job_done(task *t)
{
	struct intake_job *job = (struct intake_job *)t;
	smtp_server *s = job->s;
	struct conn *c = job->c;

	s->njobs--;
	c->busy = 0;
	session_message_clear(&job->m);
	if (s->freeing) {
		/* The loop is over: the message was queued or not, as the
		 * reply says, and its session is closed without it. */
	} else if (c->gone) {
		log_msg(HLOG_INFO, "session from %s: the connection broke "
		    "before the answer to its DATA (%s)", c->peer, job->reply);
		conn_close(s, c);
	} else {
		smtp_session_message_done(c->s, job->reply);
		if (s->stopping)
			conn_abort(s, c, "Service shutting down");
		else
			conn_advance(s, c);
	}
	free(job);
}

void
smtp_server_stop(smtp_server *s)
{
	struct conn *c, *next;

	if (s->stopping)
		return;
	s->stopping = 1;
	log_msg(HLOG_INFO, "stopping: no new sessions; %zu session(s), %zu "
	    "message(s) being queued", s->nconns, s->njobs);
	for (size_t i = 0; i < s->nls; i++)
		close_listener(s, &s->ls[i]);
	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		if (!c->busy)
			conn_abort(s, c, "Service shutting down");
	}
	schedule_reap(s); /* stops the loop now if nothing is left */
}

/* Once a second: timeouts, and listeners paused for lack of descriptors. */
static void
sweep(void *ctx)
{
	smtp_server *s = ctx;
	uint64_t now = monotonic_ms();
	uint64_t idle = (uint64_t)s->cfg->session_timeout * 1000;
	uint64_t life = (uint64_t)s->cfg->max_session_time * 1000;
	struct conn *c, *next;

	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		if (c->busy)
			continue;
		if (now - c->last_ms > idle) {
			log_msg(HLOG_INFO, "session from %s: idle for %d s, "
			    "closed", c->peer, s->cfg->session_timeout);
			conn_abort(s, c, "Error: timeout exceeded");
		} else if (now - c->start_ms > life) {
			log_msg(HLOG_INFO, "session from %s: longer than %d s, "
			    "closed", c->peer, s->cfg->max_session_time);
			conn_abort(s, c, "Error: session too long");
		}
	}
	for (size_t i = 0; i < s->nls; i++)
		if (s->ls[i].paused && s->ls[i].fd >= 0 &&
		    event_loop_add(s->loop, &s->ls[i].io, s->ls[i].fd, LOOP_IN,
		    listener_event, &s->ls[i]) == 0)
			s->ls[i].paused = 0;
	loop_timer_start(s->loop, &s->sweep_timer, SWEEP_MS, sweep, s);
}

void
smtp_server_free(smtp_server *s)
{
	if (s == NULL)
		return;
	/* The pool first: its threads may still name sessions.  Jobs it
	 * finished that the loop never ran (the loop failed) come back
	 * through job_done, which only frees them now. */
	s->freeing = 1;
	task_pool_free(s->pool);
	while (s->conns != NULL)
		conn_close(s, s->conns);
	event_loop_run_posted(s->loop); /* job_done, then reap */
	loop_timer_stop(s->loop, &s->sweep_timer);
	for (size_t i = 0; i < s->nls; i++)
		close_listener(s, &s->ls[i]);
	free(s->ls);
	free(s);
}
