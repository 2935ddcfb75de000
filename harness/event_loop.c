/*
 * event_loop.c - epoll, a sorted timer list, a signalfd and an eventfd
 * behind the calls of event_loop.h.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "delivery_queue.h" /* monotonic_ms() */
#include "event_loop.h"

#define MAX_EVENTS 128

struct event_loop {
	int ep;
	int stopping;

	/* The events of the current iteration; event_loop_remove() clears
	 * the entries not yet dispatched that name the removed io. */
	struct epoll_event ev[MAX_EVENTS];
	int nev;
	int next_ev;

	loop_timer *timers;         /* armed, earliest first */

	loop_io sig_io;
	loop_signal_fn sig_fn;
	void *sig_ctx;

	/* Posted calls: the one part other threads touch. */
	loop_io wake_io;            /* the eventfd a post writes */
	pthread_mutex_t lock;
	loop_call_queue posted;     /* guarded by lock */
};

/* ----------------------------------------------------------- descriptors */

static uint32_t
to_epoll(unsigned events)
{
	return (events & LOOP_IN ? EPOLLIN : 0) |
	    (events & LOOP_OUT ? EPOLLOUT : 0);
}

static unsigned
from_epoll(uint32_t events)
{
	return (events & EPOLLIN ? LOOP_IN : 0) |
	    (events & EPOLLOUT ? LOOP_OUT : 0) |
	    (events & EPOLLERR ? LOOP_ERR : 0) |
	    (events & EPOLLHUP ? LOOP_HUP : 0);
}

static int
epoll_set(event_loop *l, int op, loop_io *io, unsigned events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = to_epoll(events);
	ev.data.ptr = io;
	return epoll_ctl(l->ep, op, io->fd, &ev);
}

int
event_loop_add(event_loop *l, loop_io *io, int fd, unsigned events,
    loop_io_fn fn, void *ctx)
{
	io->fd = fd;
	io->fn = fn;
	io->ctx = ctx;
	io->added = 0;
	if (epoll_set(l, EPOLL_CTL_ADD, io, events) != 0)
		return -1;
	io->events = events;
	io->added = 1;
	return 0;
}

int
event_loop_modify(event_loop *l, loop_io *io, unsigned events)
{
	if (events == io->events)
		return 0;
	if (epoll_set(l, EPOLL_CTL_MOD, io, events) != 0)
		return -1;
	io->events = events;
	return 0;
}

void
event_loop_remove(event_loop *l, loop_io *io)
{
	if (!io->added)
		return;
	epoll_ctl(l->ep, EPOLL_CTL_DEL, io->fd, NULL);
	io->added = 0;
	io->events = 0;
	/* Events already collected must not reach it: its owner may free it
	 * as soon as this returns. */
	for (int i = l->next_ev; i < l->nev; i++)
		if (l->ev[i].data.ptr == io)
			l->ev[i].data.ptr = NULL;
}

/* ---------------------------------------------------------------- timers */

void
loop_timer_stop(event_loop *l, loop_timer *t)
{
	loop_timer **pp;

	if (!t->armed)
		return;
	for (pp = &l->timers; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	t->armed = 0;
	t->next = NULL;
}

void
loop_timer_start(event_loop *l, loop_timer *t, uint64_t ms,
    loop_timer_fn fn, void *ctx)
{
	loop_timer **pp;

	loop_timer_stop(l, t);
	t->due_ms = monotonic_ms() + ms;
	t->fn = fn;
	t->ctx = ctx;
	t->armed = 1;
	/* A harness has a handful of timers: a sorted list is enough. */
	for (pp = &l->timers; *pp != NULL && (*pp)->due_ms <= t->due_ms;
	    pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
}

/* epoll_wait's timeout: until the earliest timer, or forever. */
static int
wait_ms(const event_loop *l)
{
	uint64_t now;

	if (l->timers == NULL)
		return -1;
	now = monotonic_ms();
	if (l->timers->due_ms <= now)
		return 0;
	if (l->timers->due_ms - now > 60000)
		return 60000;
	return (int)(l->timers->due_ms - now);
}

static void
run_timers(event_loop *l)
{
	uint64_t now = monotonic_ms();

	/* One at a time from the front: a callback may start or stop any
	 * timer, itself included. */
	while (l->timers != NULL && l->timers->due_ms <= now) {
		loop_timer *t = l->timers;

		loop_timer_stop(l, t);
		t->fn(t->ctx);
	}
}

/* --------------------------------------------------------------- signals */

static void
on_signalfd(void *ctx, unsigned ready)
{
	event_loop *l = ctx;
	struct signalfd_siginfo si;

	(void)ready;
	while (read(l->sig_io.fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		l->sig_fn(l->sig_ctx, (int)si.ssi_signo);
}

int
event_loop_signals(event_loop *l, const int *signos, size_t n,
    loop_signal_fn fn, void *ctx, char *err, size_t errlen)
{
	sigset_t sigs;
	int fd;

	if (l->sig_fn != NULL) {
		snprintf(err, errlen, "signals are already taken by this loop");
		return -1;
	}
	sigemptyset(&sigs);
	for (size_t i = 0; i < n; i++)
		sigaddset(&sigs, signos[i]);
	fd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0 || event_loop_add(l, &l->sig_io, fd, LOOP_IN, on_signalfd,
	    l) != 0) {
		snprintf(err, errlen, "signalfd: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		l->sig_io.fd = -1;
		return -1;
	}
	l->sig_fn = fn;
	l->sig_ctx = ctx;
	return 0;
}

/* ---------------------------------------------------------- posted calls */

void
loop_call_queue_push(loop_call_queue *q, loop_call *c)
{
	c->next = NULL;
	if (q->tail != NULL)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
}

loop_call *
loop_call_queue_pop(loop_call_queue *q)
{
	loop_call *c = q->head;

	if (c != NULL) {
		q->head = c->next;
		if (q->head == NULL)
			q->tail = NULL;
		c->next = NULL;
	}
	return c;
}

void
event_loop_post(event_loop *l, loop_call *c, loop_call_fn fn)
{
	uint64_t one = 1;

	c->fn = fn;
	pthread_mutex_lock(&l->lock);
	loop_call_queue_push(&l->posted, c);
	pthread_mutex_unlock(&l->lock);
	/* The counter only wakes the loop; its value is ignored. */
	if (write(l->wake_io.fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, so the loop is woken anyway. */
	}
}

void
event_loop_run_posted(event_loop *l)
{
	for (;;) {
		loop_call *c;

		/* Taken one at a time: fn may post again, or free c. */
		pthread_mutex_lock(&l->lock);
		c = loop_call_queue_pop(&l->posted);
		pthread_mutex_unlock(&l->lock);
		if (c == NULL)
			return;
		c->fn(c);
	}
}

/* The eventfd only wakes the loop: the calls run at the iteration's end. */
static void
on_wake(void *ctx, unsigned ready)
{
	event_loop *l = ctx;
	uint64_t n;

	(void)ready;
	if (read(l->wake_io.fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: a post's wake-up was read by an earlier call. */
	}
}

/* --------------------------------------------------------------- the loop */

int
event_loop_new(event_loop **out, char *err, size_t errlen)
{
	event_loop *l = calloc(1, sizeof(*l));

	*out = NULL;
	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	l->sig_io.fd = -1;
	l->wake_io.fd = -1;
	pthread_mutex_init(&l->lock, NULL);
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep >= 0)
		l->wake_io.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->ep < 0 || l->wake_io.fd < 0 || event_loop_add(l, &l->wake_io,
	    l->wake_io.fd, LOOP_IN, on_wake, l) != 0) {
		snprintf(err, errlen, "cannot start the event loop: %s",
		    strerror(errno));
		event_loop_free(l); /* closes what was opened */
		return -1;
	}
	*out = l;
	return 0;
}

int
event_loop_run(event_loop *l, char *err, size_t errlen)
{
	while (!l->stopping) {
		int n = epoll_wait(l->ep, l->ev, MAX_EVENTS, wait_ms(l));

		if (n < 0 && errno != EINTR) {
			snprintf(err, errlen, "epoll_wait: %s", strerror(errno));
			return -1;
		}
		l->nev = n < 0 ? 0 : n;
		for (l->next_ev = 0; l->next_ev < l->nev;) {
			struct epoll_event *e = &l->ev[l->next_ev++];
			loop_io *io = e->data.ptr;

			if (io != NULL)
				io->fn(io->ctx, from_epoll(e->events));
		}
		l->nev = l->next_ev = 0;
		run_timers(l);
		event_loop_run_posted(l);
	}
	return 0;
}

void
event_loop_stop(event_loop *l)
{
	l->stopping = 1;
}

void
event_loop_free(event_loop *l)
{
	if (l == NULL)
		return;
	if (l->sig_io.fd >= 0)
		close(l->sig_io.fd);
	if (l->wake_io.fd >= 0)
		close(l->wake_io.fd);
	if (l->ep >= 0)
		close(l->ep);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
