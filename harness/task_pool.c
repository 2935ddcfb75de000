/*
 * task_pool.c - worker threads with a FIFO in and a FIFO out.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "task_pool.h"

struct fifo {
	task *head;
	task *tail;
};

struct task_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct fifo pending;
	struct fifo done;
	int stopping;
	int event_fd;
	task_fn run;
	void *ctx;
	pthread_t *threads;
	int nthreads;
};

static void
fifo_push(struct fifo *f, task *t)
{
	t->next = NULL;
	if (f->tail != NULL)
		f->tail->next = t;
	else
		f->head = t;
	f->tail = t;
}

static task *
fifo_pop(struct fifo *f)
{
	task *t = f->head;

	if (t != NULL) {
		f->head = t->next;
		if (f->head == NULL)
			f->tail = NULL;
		t->next = NULL;
	}
	return t;
}

static void *
worker(void *arg)
{
	task_pool *p = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		task *t = fifo_pop(&p->pending);

		if (t == NULL) {
			if (p->stopping)
				break;
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		p->run(t, p->ctx);
		pthread_mutex_lock(&p->lock);
		fifo_push(&p->done, t);
		/* The counter only wakes the loop; its value is ignored. */
		if (write(p->event_fd, &one, sizeof(one)) < 0) {
			/* EAGAIN: already signalled, nothing is lost. */
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int
task_pool_new(int nthreads, task_fn run, void *ctx, task_pool **out)
{
	task_pool *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (p == NULL)
		return -1;
	p->threads = calloc((size_t)nthreads, sizeof(*p->threads));
	p->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->threads == NULL || p->event_fd < 0) {
		if (p->event_fd >= 0)
			close(p->event_fd);
		free(p->threads);
		free(p);
		return -1;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->run = run;
	p->ctx = ctx;
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
task_pool_submit(task_pool *p, task *t)
{
	pthread_mutex_lock(&p->lock);
	fifo_push(&p->pending, t);
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

int
task_pool_fd(const task_pool *p)
{
	return p->event_fd;
}

task *
task_pool_collect(task_pool *p)
{
	uint64_t n;
	task *list;

	if (read(p->event_fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: nothing signalled; the list may still hold tasks
		 * signalled in an earlier read. */
	}
	pthread_mutex_lock(&p->lock);
	list = p->done.head;
	p->done.head = p->done.tail = NULL;
	pthread_mutex_unlock(&p->lock);
	return list;
}

task *
task_pool_free(task_pool *p)
{
	task *left;

	if (p == NULL)
		return NULL;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	left = p->done.head;
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	close(p->event_fd);
	free(p->threads);
	free(p);
	return left;
}
