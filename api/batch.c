/*
 * batch.c - the hook ABI's batches: many messages signed at once from one
 * thread, so that a device answering asynchronously (an offload card) is
 * kept busy.  Each message's signing (msg_finish) runs in an async_pool
 * job; msg_end then answers at once from what the job found.
 */
#include <stdio.h>
#include <stdlib.h>

#include "async_pool.h"
#include "instance.h"

struct vdkim_batch {
	vdkim_instance *inst;
	async_pool *pool;
};

#define BATCH_MAX 4096

static void
finish_job(void *arg)
{
	msg_finish(arg);
}

int
batch_new(vdkim_instance *inst, unsigned max_in_flight, vdkim_batch **out,
    char *err, size_t errlen)
{
	vdkim_batch *b;

	if (inst == NULL || out == NULL || max_in_flight == 0 ||
	    max_in_flight > BATCH_MAX) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "vdkim: batch_new needs an "
			    "instance and 1 to %d messages in flight",
			    BATCH_MAX);
		return -1;
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL || (b->pool = async_pool_new(max_in_flight)) == NULL) {
		free(b);
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "vdkim: out of memory");
		return -1;
	}
	b->inst = inst_ref(inst);
	*out = b;
	return 0;
}

int
batch_submit(vdkim_batch *b, vdkim_msg *m)
{
	if (b == NULL || m == NULL)
		return -1;
	return async_pool_start(b->pool, finish_job, m);
}

int
batch_poll(vdkim_batch *b, int timeout_ms, vdkim_msg **done, size_t max)
{
	if (b == NULL || done == NULL || max == 0)
		return -1;
	return (int)async_pool_poll(b->pool, timeout_ms, (void **)done, max);
}

unsigned
batch_outstanding(const vdkim_batch *b)
{
	return b != NULL ? (unsigned)async_pool_outstanding(b->pool) : 0;
}

void
batch_free(vdkim_batch *b)
{
	if (b == NULL)
		return;
	async_pool_free(b->pool);
	inst_unref(b->inst);
	free(b);
}
