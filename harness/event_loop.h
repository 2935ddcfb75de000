/*
 * event_loop.h - the harness's one event loop: descriptors with callbacks,
 * timers, signals, and calls posted to it from other threads.
 *
 * One thread runs the loop (event_loop_run) and every callback below runs
 * on that thread, one at a time, so what the callbacks share needs no
 * lock.  Every function here is for that thread only, except
 * event_loop_post(), which any thread may call.
 *
 * An iteration: wait (epoll, level-triggered) until a descriptor is ready,
 * the next timer is due or a call was posted; then the ready descriptors'
 * callbacks, then the due timers', then every posted call (also those
 * posted meanwhile), oldest first.  A posted call therefore runs at the
 * top of the loop, never inside another callback: the place to free what
 * a callback could not free while its caller still used it.
 *
 * The loop never allocates or frees its users' objects: a descriptor's
 * loop_io, a loop_timer and a loop_call are embedded in the caller's own
 * structs and only linked by the loop.  After event_loop_remove() or
 * loop_timer_stop() returns, the loop no longer refers to that object
 * (not even from events already collected in this iteration), so it may
 * be freed at once.
 *
 * Blocking work off the loop (a module call: signing, a reload, a key
 * check; an fsync) runs in one of two ways, and its result comes back on
 * the loop thread through event_loop_post():
 *   - on worker threads: task_pool.h, task_pool_submit(pool, &job->task,
 *     work, done): work(task) on a worker, then done(task) on the loop;
 *   - on a thread of one's own: do the work there, then
 *     event_loop_post(loop, &job->call, done).
 * Either way done() is where the result meets the loop's state (sessions,
 * logs of what the loop owns) and where the job is freed.
 *
 * Signals: event_loop_signals() takes them through a signalfd, so their
 * handler is an ordinary callback on the loop thread.  The caller must
 * block those signals in every thread (pthread_sigmask) before the first
 * thread is created; otherwise a thread without them blocked gets them.
 */
#ifndef HARNESS_EVENT_LOOP_H
#define HARNESS_EVENT_LOOP_H

#include <stddef.h>
#include <stdint.h>

typedef struct event_loop event_loop;

/* What a descriptor is watched for, and what it is ready for. */
enum {
	LOOP_IN = 1,    /* readable (or a listener has a connection) */
	LOOP_OUT = 2,   /* writable */
	LOOP_ERR = 4,   /* reported whether watched or not */
	LOOP_HUP = 8    /* reported whether watched or not */
};

/* ---------------------------------------------------------- descriptors */

typedef void (*loop_io_fn)(void *ctx, unsigned ready);

/* A descriptor in the loop.  The fields are the loop's. */
typedef struct loop_io {
	int fd;
	unsigned events;            /* what is watched now */
	int added;                  /* in the loop's epoll set */
	loop_io_fn fn;
	void *ctx;
} loop_io;

/* Watches fd for events (LOOP_IN | LOOP_OUT, or 0 for errors only) and
 * calls fn(ctx, ready) while it is ready.  io is the caller's and must
 * stay put until event_loop_remove().  0, or -1 with errno. */
int event_loop_add(event_loop *l, loop_io *io, int fd, unsigned events,
    loop_io_fn fn, void *ctx);
/* Watches for other events (nothing is done when they are the same).
 * 0, or -1 with errno. */
int event_loop_modify(event_loop *l, loop_io *io, unsigned events);
/* Stops watching (no-op when io is not in the loop).  The descriptor stays
 * open: the caller closes it, after this call. */
void event_loop_remove(event_loop *l, loop_io *io);

/* ---------------------------------------------------------------- timers */

typedef void (*loop_timer_fn)(void *ctx);

/* A one-shot timer.  Zeroed before its first start (e.g. in a calloc'd
 * struct); the fields are the loop's. */
typedef struct loop_timer {
	uint64_t due_ms;            /* monotonic_ms() */
	int armed;
	loop_timer_fn fn;
	void *ctx;
	struct loop_timer *next;
} loop_timer;

/* Calls fn(ctx) once, after ms milliseconds (re-arms a timer already
 * armed).  A periodic timer starts itself again from its callback. */
void loop_timer_start(event_loop *l, loop_timer *t, uint64_t ms,
    loop_timer_fn fn, void *ctx);
/* Disarms t; no-op when it is not armed. */
void loop_timer_stop(event_loop *l, loop_timer *t);

/* --------------------------------------------------------------- signals */

typedef void (*loop_signal_fn)(void *ctx, int signo);

/* Delivers signos[0..n) to fn(ctx, signo) on the loop thread, one call
 * per signal received.  Once per loop.  The signals must be blocked in
 * every thread (see above).  0, or -1 with err filled. */
int event_loop_signals(event_loop *l, const int *signos, size_t n,
    loop_signal_fn fn, void *ctx, char *err, size_t errlen);

/* ------------------------------------------------- calls from any thread */

typedef struct loop_call loop_call;
typedef void (*loop_call_fn)(loop_call *c);

/* A call posted to the loop, embedded in the caller's job.  The fields are
 * the loop's from event_loop_post() until fn runs. */
struct loop_call {
	loop_call *next;
	loop_call_fn fn;
};

/* A FIFO of calls, for the loop's posted calls and a task pool's queue.
 * Not locked: its owner's lock guards it. */
typedef struct loop_call_queue {
	loop_call *head;
	loop_call *tail;
} loop_call_queue;

void loop_call_queue_push(loop_call_queue *q, loop_call *c);
/* The oldest call, unlinked; NULL when empty. */
loop_call *loop_call_queue_pop(loop_call_queue *q);

/* From any thread: fn(c) will run on the loop thread, at the end of the
 * current or next iteration, after the calls posted before it.  Never
 * fails and never blocks for long (a mutex and an eventfd write).  The
 * caller gives c up until fn runs; fn may free it. */
void event_loop_post(event_loop *l, loop_call *c, loop_call_fn fn);
/* Runs every call posted so far, now, on this thread: for teardown after
 * the loop has stopped (or failed), so that each job reaches its owner's
 * fn and is freed; the owner's fn should know it is being torn down. */
void event_loop_run_posted(event_loop *l);

/* --------------------------------------------------------------- the loop */

/* An empty loop.  0, or -1 with err filled. */
int event_loop_new(event_loop **out, char *err, size_t errlen);
/* Runs iterations until event_loop_stop().  0, or -1 with err filled when
 * waiting failed (the loop cannot go on). */
int event_loop_run(event_loop *l, char *err, size_t errlen);
/* event_loop_run returns after the current iteration. */
void event_loop_stop(event_loop *l);
/* Frees the loop; NULL is fine.  Its users' descriptors are not closed,
 * and calls posted but never run are dropped unseen: run them first
 * (event_loop_run_posted) when they hold anything. */
void event_loop_free(event_loop *l);

#endif
