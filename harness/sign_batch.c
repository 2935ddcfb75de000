/*
 * sign_batch.c - a delivery worker's signatures in flight: the module's
 * batch and a table from its messages back to the caller's tags.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sign_batch.h"

struct slot {
	vdkim_msg *vm;       /* NULL: free */
	void *tag;
};

struct sign_batch {
	module_host *m;
	vdkim_batch *b;
	struct slot *slots;
	vdkim_msg **done;    /* batch_poll's answer, max entries */
	unsigned max;
	unsigned used;
	unsigned peak;
	uint64_t total;
};

sign_batch *
sign_batch_new(module_host *m, unsigned max_in_flight, char *err,
    size_t errlen)
{
	sign_batch *sb = calloc(1, sizeof(*sb));

	if (sb == NULL || max_in_flight == 0 ||
	    (sb->slots = calloc(max_in_flight, sizeof(*sb->slots))) == NULL ||
	    (sb->done = calloc(max_in_flight, sizeof(*sb->done))) == NULL) {
		snprintf(err, errlen, max_in_flight == 0 ? "a batch of 0" :
		    "out of memory");
		if (sb != NULL) {
			free(sb->slots);
			free(sb);
		}
		return NULL;
	}
	sb->m = m;
	sb->max = max_in_flight;
	sb->b = module_host_batch_new(m, max_in_flight, err, errlen);
	if (sb->b == NULL) {
		free(sb->done);
		free(sb->slots);
		free(sb);
		return NULL;
	}
	return sb;
}

void
sign_batch_free(sign_batch *sb)
{
	if (sb == NULL)
		return;
	/* batch_free waits for the outstanding; msg_free then frees them. */
	module_host_batch_free(sb->m, sb->b);
	for (unsigned i = 0; i < sb->max; i++) {
		if (sb->slots[i].vm != NULL) {
			hook_outcome ho;

			module_host_end(sb->m, sb->slots[i].vm, &ho);
			hook_outcome_clear(&ho);
		}
	}
	free(sb->done);
	free(sb->slots);
	free(sb);
}

unsigned
sign_batch_room(const sign_batch *sb)
{
	return sb->max - sb->used;
}

unsigned
sign_batch_outstanding(const sign_batch *sb)
{
	return sb->used;
}

unsigned
sign_batch_peak(const sign_batch *sb)
{
	return sb->peak;
}

uint64_t
sign_batch_total(const sign_batch *sb)
{
	return sb->total;
}

int
sign_batch_start(sign_batch *sb, void *tag, const vdkim_msg_info *info,
    const seglist *msg, hook_outcome *now)
{
	vdkim_msg *vm;
	unsigned i;

	if (module_host_begin(sb->m, VDKIM_HOOK_PRE_DELIVERY, info, msg, &vm,
	    now) != 0)
		return 1;
	for (i = 0; i < sb->max && sb->slots[i].vm != NULL; i++)
		;
	if (i == sb->max || module_host_batch_submit(sb->m, sb->b, vm) != 0) {
		/* No room: msg_end signs it here and now, as without a
		 * batch. */
		module_host_end(sb->m, vm, now);
		return 1;
	}
	sb->slots[i].vm = vm;
	sb->slots[i].tag = tag;
	sb->used++;
	sb->total++;
	if (sb->used > sb->peak)
		sb->peak = sb->used;
	return 0;
}

size_t
sign_batch_collect(sign_batch *sb, int timeout_ms, sb_done *out, size_t max)
{
	size_t got = 0;
	int n;

	if (sb->used == 0 || max == 0)
		return 0;
	if (max > sb->max)
		max = sb->max;
	n = module_host_batch_poll(sb->m, sb->b, timeout_ms, sb->done, max);
	for (int k = 0; k < n; k++) {
		unsigned i;

		for (i = 0; i < sb->max && sb->slots[i].vm != sb->done[k]; i++)
			;
		if (i == sb->max)
			continue; /* not ours: cannot happen */
		out[got].tag = sb->slots[i].tag;
		module_host_end(sb->m, sb->slots[i].vm, &out[got].ho);
		sb->slots[i].vm = NULL;
		sb->slots[i].tag = NULL;
		sb->used--;
		got++;
	}
	return got;
}
