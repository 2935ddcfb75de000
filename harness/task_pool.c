/*
 * task_pool.c - worker threads with a FIFO in; finished tasks go back
 * through event_loop_post().
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

#include "task_pool.h"

struct task_pool {
	event_loop *loop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	loop_call_queue pending;    /* guarded by lock; tasks by their call */
	int stopping;               /* guarded by lock */
	pthread_t *threads;
	int nthreads;
};

static task *
task_of(loop_call *c)
{
	return (task *)((char *)c - offsetof(task, call));
}

/* On the loop thread: the task's own completion. */
static void
finished(loop_call *c)
{
	task *t = task_of(c);

	t->done(t);
}

static void *
worker(void *arg)
{
	task_pool *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		loop_call *c = loop_call_queue_pop(&p->pending);
		task *t;

		if (c == NULL) {
			if (p->stopping)
				break;
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		t = task_of(c);
		t->work(t);
		event_loop_post(p->loop, &t->call, finished);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int
task_pool_new(event_loop *loop, int nthreads, task_pool **out)
{
	task_pool *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (p == NULL)
		return -1;
	p->threads = calloc((size_t)nthreads, sizeof(*p->threads));
	if (p->threads == NULL) {
		free(p);
		return -1;
	}
	p->loop = loop;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	for (; p->nthreads < nthreads; p->nthreads++) {
		int rc = pthread_create(&p->threads[p->nthreads], NULL, worker,
		    p);
		if (rc != 0) {
			task_pool_free(p); /* nothing was submitted yet */
			errno = rc;
			return -1;
		}
	}
	*out = p;
	return 0;
}

void
task_pool_submit(task_pool *p, task *t, task_fn work, task_fn done)
{
	t->work = work;
	t->done = done;
	pthread_mutex_lock(&p->lock);
	loop_call_queue_push(&p->pending, &t->call);
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void
task_pool_free(task_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}
