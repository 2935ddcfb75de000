/*
 * delivery_queue.h - queued messages waiting for their next delivery
 * attempt, in memory, ordered by when that attempt is due.
 *
 * Intake threads push, delivery workers pop: pop() sleeps until the
 * earliest item is due, or the queue is stopped.  Retry state (attempts,
 * the next time) lives only here: after a restart every queued message is
 * tried at once, then backs off from the start again.
 */
#ifndef HARNESS_DELIVERY_QUEUE_H
#define HARNESS_DELIVERY_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "spool.h"

typedef struct dq_item {
	char id[SPOOL_ID_MAX];
	envelope env;        /* owned; the recipients still to do */
	uint64_t due_ms;     /* monotonic clock */
	int attempts;        /* attempts made so far */
} dq_item;

typedef struct delivery_queue delivery_queue;

/* NULL when out of memory. */
delivery_queue *delivery_queue_new(void);
/* Frees the queue and every item still in it. */
void delivery_queue_free(delivery_queue *q);

/* A new item with a copy of id, taking env's contents; NULL when out of
 * memory (env is then cleared). */
dq_item *dq_item_new(const char *id, envelope *env);
void dq_item_free(dq_item *it);

/* Takes the item; it is due at due_ms. */
int delivery_queue_push(delivery_queue *q, dq_item *it);
/* The earliest item once it is due; NULL once the queue is stopped. */
dq_item *delivery_queue_pop(delivery_queue *q);
/* The earliest item if it is due now, else NULL at once (also once the
 * queue is stopped). */
dq_item *delivery_queue_take_due(delivery_queue *q);
/* Wakes every pop() for good. */
void delivery_queue_stop(delivery_queue *q);

/* The queue at one instant (read under its lock). */
typedef struct dq_state {
	size_t length;  /* items queued, due or not */
	int stopped;    /* delivery_queue_stop() was called */
} dq_state;
dq_state delivery_queue_state(delivery_queue *q);

/* Milliseconds on the monotonic clock. */
uint64_t monotonic_ms(void);

#endif
