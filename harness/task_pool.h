/*
 * task_pool.h - run this off the loop, then call back on the loop.
 *
 * A few worker threads run the blocking part of a job (the pre-queue hook
 * and the spool's fsync today; a module reload or a key check tomorrow)
 * so that the event loop (event_loop.h) never waits for it, and hand the
 * job back to the loop thread when it is done:
 *
 *   struct reload_job { task t; module_host *m; int rc; char err[512]; };
 *
 *   static void reload_work(task *t)     on a worker: may block
 *   {
 *       struct reload_job *j = (struct reload_job *)t;
 *       j->rc = module_host_reload(j->m, j->err, sizeof(j->err));
 *   }
 *   static void reload_done(task *t)     on the loop thread, afterwards
 *   {
 *       struct reload_job *j = (struct reload_job *)t;
 *       log_msg(...j->rc, j->err...);
 *       free(j);
 *   }
 *
 *   task_pool_submit(pool, &j->t, reload_work, reload_done);
 *
 * work() must not touch what the loop owns (sessions, timers, the loop
 * itself): it gets only its job.  done() runs among the loop's callbacks
 * (at the end of an iteration, see event_loop_post), where it may use
 * anything the loop owns; it is where the job is freed.
 *
 * A task is embedded in the caller's job struct (first, so that a job
 * pointer and its task pointer are the same); the pool never allocates or
 * frees tasks, it only links them.
 */
#ifndef HARNESS_TASK_POOL_H
#define HARNESS_TASK_POOL_H

#include "event_loop.h"

typedef struct task task;
typedef void (*task_fn)(task *t);

/* The fields are the pool's and the loop's. */
struct task {
	loop_call call;             /* in the pool's queue, then posted */
	task_fn work;
	task_fn done;
};

typedef struct task_pool task_pool;

/* nthreads threads whose finished tasks go back to loop.  0, or -1
 * (errno) when the threads cannot be made. */
int task_pool_new(event_loop *loop, int nthreads, task_pool **out);
/* Queues t: work(t) runs on whichever thread is free, in submission
 * order, then done(t) on the loop thread.  Loop thread only. */
void task_pool_submit(task_pool *p, task *t, task_fn work, task_fn done);
/* Runs what is queued, stops the threads and frees the pool; NULL is
 * fine.  The finished tasks' done() calls are then posted to the loop but
 * not yet run: event_loop_run_posted() runs them. */
void task_pool_free(task_pool *p);

#endif
