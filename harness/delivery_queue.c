/*
 * delivery_queue.c - a binary min-heap on due time, behind a mutex and a
 * condition variable on the monotonic clock (wall clock jumps must not
 * stall or rush retries).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "delivery_queue.h"

struct delivery_queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	dq_item **heap;
	size_t n;
	size_t cap;
	int stopped;
};

uint64_t
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

delivery_queue *
delivery_queue_new(void)
{
	delivery_queue *q = calloc(1, sizeof(*q));
	pthread_condattr_t attr;

	if (q == NULL)
		return NULL;
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &attr);
	pthread_condattr_destroy(&attr);
	return q;
}

void
delivery_queue_free(delivery_queue *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < q->n; i++)
		dq_item_free(q->heap[i]);
	free(q->heap);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

dq_item *
dq_item_new(const char *id, envelope *env)
{
	dq_item *it = calloc(1, sizeof(*it));

	if (it == NULL) {
		envelope_clear(env);
		return NULL;
	}
	strncpy(it->id, id, sizeof(it->id) - 1);
	envelope_init(&it->env);
	envelope_move(&it->env, env);
	return it;
}

void
dq_item_free(dq_item *it)
{
	if (it == NULL)
		return;
	envelope_clear(&it->env);
	free(it);
}

static void
swap(dq_item **a, dq_item **b)
{
	dq_item *t = *a;

	*a = *b;
	*b = t;
}

static void
sift_up(dq_item **h, size_t i)
{
	while (i > 0 && h[(i - 1) / 2]->due_ms > h[i]->due_ms) {
		swap(&h[(i - 1) / 2], &h[i]);
		i = (i - 1) / 2;
	}
}

static void
sift_down(dq_item **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && h[l]->due_ms < h[m]->due_ms)
			m = l;
		if (r < n && h[r]->due_ms < h[m]->due_ms)
			m = r;
		if (m == i)
			return;
		swap(&h[m], &h[i]);
		i = m;
	}
}

int
delivery_queue_push(delivery_queue *q, dq_item *it)
{
	pthread_mutex_lock(&q->lock);
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		dq_item **h = realloc(q->heap, cap * sizeof(*h));
		if (h == NULL) {
			pthread_mutex_unlock(&q->lock);
			return -1;
		}
		q->heap = h;
		q->cap = cap;
	}
	q->heap[q->n] = it;
	sift_up(q->heap, q->n);
	q->n++;
	/* The new item may be due before what the sleepers wait for. */
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

/* Takes the earliest item off the heap (q->lock held, q->n > 0). */
static dq_item *
take_first(delivery_queue *q)
{
	dq_item *it = q->heap[0];

	q->heap[0] = q->heap[--q->n];
	sift_down(q->heap, q->n, 0);
	return it;
}

dq_item *
delivery_queue_pop(delivery_queue *q)
{
	dq_item *it = NULL;

	pthread_mutex_lock(&q->lock);
	while (!q->stopped) {
		uint64_t now = monotonic_ms();
		struct timespec until;

		if (q->n == 0) {
			pthread_cond_wait(&q->cond, &q->lock);
			continue;
		}
		if (q->heap[0]->due_ms <= now) {
			it = take_first(q);
			/* Another worker may take the next one. */
			if (q->n > 0)
				pthread_cond_signal(&q->cond);
			break;
		}
		until.tv_sec = (time_t)(q->heap[0]->due_ms / 1000);
		until.tv_nsec = (long)(q->heap[0]->due_ms % 1000) * 1000000;
		pthread_cond_timedwait(&q->cond, &q->lock, &until);
	}
	pthread_mutex_unlock(&q->lock);
	return it;
}

dq_item *
delivery_queue_take_due(delivery_queue *q)
{
	dq_item *it = NULL;

	pthread_mutex_lock(&q->lock);
	if (!q->stopped && q->n > 0 && q->heap[0]->due_ms <= monotonic_ms())
		it = take_first(q);
	pthread_mutex_unlock(&q->lock);
	return it;
}

void
delivery_queue_stop(delivery_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->stopped = 1;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

dq_state
delivery_queue_state(delivery_queue *q)
{
	dq_state st;

	pthread_mutex_lock(&q->lock);
	st.length = q->n;
	st.stopped = q->stopped;
	pthread_mutex_unlock(&q->lock);
	return st;
}
