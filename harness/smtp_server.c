/*
 * smtp_server.c - listeners, sessions and the event loop.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "delivery_queue.h"
#include "log.h"
#include "smtp_server.h"
#include "smtp_session.h"
#include "task_pool.h"

#define MAX_EVENTS 128
#define SWEEP_MS 1000
#define LISTEN_BACKLOG 1024

/* Every object registered with epoll starts with its kind. */
enum src_kind { SRC_LISTENER, SRC_CONN, SRC_SIGNAL, SRC_POOL };

struct listener_sock {
	enum src_kind kind;
	int fd;
	int paused;                 /* out of descriptors: retried later */
	const hc_listener *l;
};

struct conn {
	enum src_kind kind;
	int fd;
	smtp_session *s;
	const hc_listener *l;
	char peer[NET_ADDR_TEXT];
	uint64_t start_ms;
	uint64_t last_ms;           /* the last bytes from the client */
	uint32_t events;            /* what epoll watches for it */
	int busy;                   /* its message is on the task pool */
	int eof;                    /* the client sent all it will send */
	int gone;                   /* the connection broke while busy */
	int dead;                   /* closed; freed after this batch */
	struct conn *prev;
	struct conn *next;
};

/* A finished message on its way through the task pool. */
struct intake_job {
	task t;                     /* first: the pool links tasks */
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
	server_reload_fn on_reload;
	void *reload_ctx;
	int ep;
	enum src_kind sig_kind;     /* epoll tag of sig_fd */
	int sig_fd;
	enum src_kind pool_kind;    /* epoll tag of the pool's fd */
	task_pool *pool;
	struct listener_sock *ls;
	size_t nls;
	struct conn *conns;
	struct conn *dead;          /* closed during the current batch */
	size_t nconns;
	size_t njobs;
	int stopping;
	uint64_t last_sweep_ms;
};

/* ------------------------------------------------------------ set-up */

static void
run_intake(task *t, void *ctx)
{
	struct intake_job *job = (struct intake_job *)t;
	const smtp_server *s = ctx;

	intake_message(s->in, job->l, job->peer, &job->m, job->reply,
	    sizeof(job->reply));
}

static int
watch(smtp_server *s, int fd, uint32_t events, void *tag)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = tag;
	return epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
}

static int
open_listener(smtp_server *s, struct listener_sock *ls, char *err,
    size_t errlen)
{
	const net_addr *a = &ls->l->addr;
	int one = 1;

	ls->kind = SRC_LISTENER;
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
	    watch(s, ls->fd, EPOLLIN, ls) != 0) {
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
    server_reload_fn on_reload, void *reload_ctx, smtp_server **out,
    char *err, size_t errlen)
{
	smtp_server *s = calloc(1, sizeof(*s));
	sigset_t sigs;

	*out = NULL;
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->cfg = cfg;
	s->in = in;
	s->on_reload = on_reload;
	s->reload_ctx = reload_ctx;
	s->lim.hostname = cfg->hostname;
	s->lim.max_message_size = cfg->max_message_size;
	s->lim.max_recipients = cfg->max_recipients;
	s->lim.max_line_length = cfg->max_line_length;
	s->sig_kind = SRC_SIGNAL;
	s->pool_kind = SRC_POOL;
	s->sig_fd = -1;
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	s->ls = calloc(cfg->nlisteners, sizeof(*s->ls));
	if (s->ep < 0 || s->ls == NULL) {
		snprintf(err, errlen, "cannot start the server: %s",
		    s->ls == NULL ? "out of memory" : strerror(errno));
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
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	s->sig_fd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sig_fd < 0 || watch(s, s->sig_fd, EPOLLIN, &s->sig_kind) != 0) {
		snprintf(err, errlen, "signalfd: %s", strerror(errno));
		goto fail;
	}
	if (task_pool_new(cfg->intake_workers, run_intake, s, &s->pool) != 0 ||
	    watch(s, task_pool_fd(s->pool), EPOLLIN, &s->pool_kind) != 0) {
		snprintf(err, errlen, "cannot start the intake workers: %s",
		    strerror(errno));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	smtp_server_free(s);
	return -1;
}

/* ------------------------------------------------------- connections */

static void
conn_close(smtp_server *s, struct conn *c)
{
	if (c->dead)
		return;
	log_msg(HLOG_DEBUG, "session from %s closed", c->peer);
	if (c->fd >= 0)
		close(c->fd); /* also leaves the epoll set */
	c->fd = -1;
	c->dead = 1;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	/* Events of this batch may still name it: freed after the batch. */
	c->next = s->dead;
	s->dead = c;
}

static void
free_dead(smtp_server *s)
{
	while (s->dead != NULL) {
		struct conn *c = s->dead;
		s->dead = c->next;
		smtp_session_free(c->s);
		free(c);
		s->nconns--;
	}
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
	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	c->events = 0;
}

static void
set_events(smtp_server *s, struct conn *c)
{
	struct epoll_event ev;
	size_t pending;

	if (c->dead || c->gone)
		return;
	smtp_session_output(c->s, &pending);
	memset(&ev, 0, sizeof(ev));
	ev.events = (!c->eof && smtp_session_wants_input(c->s) ? EPOLLIN : 0) |
	    (pending > 0 ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (ev.events != c->events &&
	    epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = ev.events;
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
	job->c = c;
	job->l = c->l;
	snprintf(job->peer, sizeof(job->peer), "%s", c->peer);
	smtp_session_take_message(c->s, &job->m);
	c->busy = 1;
	s->njobs++;
	task_pool_submit(s->pool, &job->t);
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
conn_event(smtp_server *s, struct conn *c, uint32_t events)
{
	if (c->dead || c->gone)
		return;
	/* EPOLLHUP after our reading ended: nothing will go out either. */
	if ((events & EPOLLERR) || ((events & EPOLLHUP) && c->eof)) {
		conn_lost(s, c);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP)) {
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
				epoll_ctl(s->ep, EPOLL_CTL_DEL, ls->fd, NULL);
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
		c->kind = SRC_CONN;
		c->fd = fd;
		c->l = ls->l;
		net_addr_format((struct sockaddr *)&ss, len, c->peer,
		    sizeof(c->peer));
		c->start_ms = c->last_ms = monotonic_ms();
		if (watch(s, fd, 0, c) != 0) {
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

/* A message went through the pool: answer it and go on. */
static void
job_done(smtp_server *s, struct intake_job *job)
{
	struct conn *c = job->c;

	s->njobs--;
	c->busy = 0;
	session_message_clear(&job->m);
	if (c->gone) {
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

static void
begin_stop(smtp_server *s)
{
	struct conn *c, *next;

	if (s->stopping)
		return;
	s->stopping = 1;
	log_msg(HLOG_INFO, "stopping: no new sessions; %zu session(s), %zu "
	    "message(s) being queued", s->nconns, s->njobs);
	for (size_t i = 0; i < s->nls; i++) {
		if (s->ls[i].fd >= 0)
			close(s->ls[i].fd);
		s->ls[i].fd = -1;
	}
	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		if (!c->busy)
			conn_abort(s, c, "Service shutting down");
	}
}

static void
on_signal(smtp_server *s)
{
	struct signalfd_siginfo si;

	while (read(s->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_msg(HLOG_INFO, "SIGHUP: reloading the module's "
			    "config");
			if (s->on_reload != NULL)
				s->on_reload(s->reload_ctx);
		} else {
			log_msg(HLOG_INFO, "signal %u: stopping",
			    si.ssi_signo);
			begin_stop(s);
		}
	}
}

/* Once a second: timeouts, and listeners paused for lack of descriptors. */
static void
sweep(smtp_server *s, uint64_t now)
{
	uint64_t idle = (uint64_t)s->cfg->session_timeout * 1000;
	uint64_t life = (uint64_t)s->cfg->max_session_time * 1000;
	struct conn *c, *next;

	s->last_sweep_ms = now;
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
		    watch(s, s->ls[i].fd, EPOLLIN, &s->ls[i]) == 0)
			s->ls[i].paused = 0;
}

int
smtp_server_run(smtp_server *s)
{
	struct epoll_event ev[MAX_EVENTS];

	s->last_sweep_ms = monotonic_ms();
	while (!s->stopping || s->nconns > 0 || s->njobs > 0) {
		int n = epoll_wait(s->ep, ev, MAX_EVENTS, SWEEP_MS);
		uint64_t now;

		if (n < 0 && errno != EINTR) {
			log_msg(HLOG_ERR, "epoll_wait: %s", strerror(errno));
			return -1;
		}
		for (int i = 0; i < n; i++) {
			enum src_kind *kind = ev[i].data.ptr;

			switch (*kind) {
			case SRC_LISTENER: {
				struct listener_sock *ls = ev[i].data.ptr;
				if (!s->stopping)
					accept_all(s, ls);
				break;
			}
			case SRC_CONN:
				conn_event(s, ev[i].data.ptr, ev[i].events);
				break;
			case SRC_SIGNAL:
				on_signal(s);
				break;
			case SRC_POOL: {
				task *t = task_pool_collect(s->pool);
				while (t != NULL) {
					task *next = t->next;
					job_done(s, (struct intake_job *)t);
					t = next;
				}
				break;
			}
			}
		}
		free_dead(s);
		now = monotonic_ms();
		if (now - s->last_sweep_ms >= SWEEP_MS) {
			sweep(s, now);
			free_dead(s);
		}
	}
	return 0;
}

void
smtp_server_free(smtp_server *s)
{
	if (s == NULL)
		return;
	/* The pool first: its threads may still name sessions.  Jobs it
	 * finished that the loop never collected (the loop failed) are
	 * freed here; their messages were queued or not, as they said. */
	for (task *t = task_pool_free(s->pool); t != NULL;) {
		struct intake_job *job = (struct intake_job *)t;
		t = t->next;
		session_message_clear(&job->m);
		free(job);
	}
	while (s->conns != NULL)
		conn_close(s, s->conns);
	free_dead(s);
	for (size_t i = 0; i < s->nls; i++)
		if (s->ls[i].fd >= 0)
			close(s->ls[i].fd);
	free(s->ls);
	if (s->sig_fd >= 0)
		close(s->sig_fd);
	if (s->ep >= 0)
		close(s->ep);
	free(s);
}
