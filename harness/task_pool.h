/*
 * task_pool.h - a few threads that run the blocking part of accepting a
 * message (the pre-queue hook, the spool's fsync) off the event loop, and
 * hand finished tasks back to it through an eventfd.
 *
 * A task is embedded in the caller's job struct; the pool never allocates
 * or frees tasks, it only links them.
 */
#ifndef HARNESS_TASK_POOL_H
#define HARNESS_TASK_POOL_H

typedef struct task {
	struct task *next;
} task;

typedef void (*task_fn)(task *t, void *ctx);

typedef struct task_pool task_pool;

/* nthreads threads that call run(t, ctx) for each task submitted.
 * 0, or -1 (errno) when the threads or the eventfd cannot be made. */
int task_pool_new(int nthreads, task_fn run, void *ctx, task_pool **out);
/* Queues t (run in submission order, by whichever thread is free). */
void task_pool_submit(task_pool *p, task *t);
/* Readable when finished tasks wait to be collected. */
int task_pool_fd(const task_pool *p);
/* The finished tasks, oldest first (linked through next); NULL if none. */
task *task_pool_collect(task_pool *p);
/* Runs what is queued, stops the threads and frees the pool.  Returns
 * the tasks finished but never collected, for the caller to free. */
task *task_pool_free(task_pool *p);

#endif
