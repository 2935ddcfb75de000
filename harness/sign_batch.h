/*
 * sign_batch.h - the pre-delivery signatures one delivery worker keeps in
 * flight at once (sign-batch), through the module's batches: for devices
 * that answer asynchronously (an offload card), so that the worker does
 * not wait for each signature in turn.  Each message carries a tag of the
 * caller's; it comes back with the module's answer.
 *
 * A message's bytes must stay in place until it comes back.
 */
#ifndef HARNESS_SIGN_BATCH_H
#define HARNESS_SIGN_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "module_host.h"
#include "segments.h"

typedef struct sign_batch sign_batch;

typedef struct sb_done {
	void *tag;
	hook_outcome ho;     /* owned by the caller now */
} sb_done;

/* Up to max_in_flight at once; NULL with err filled when the module has
 * no batches or refuses. */
sign_batch *sign_batch_new(module_host *m, unsigned max_in_flight,
    char *err, size_t errlen);
/* Waits for what is in flight (answers dropped; collect them first). */
void sign_batch_free(sign_batch *b);

unsigned sign_batch_room(const sign_batch *b);
unsigned sign_batch_outstanding(const sign_batch *b);
/* The most messages that were in flight at once, and how many went
 * through the batch. */
unsigned sign_batch_peak(const sign_batch *b);
uint64_t sign_batch_total(const sign_batch *b);

/*
 * Starts the pre-delivery hook on msg.  0: in flight, it comes back from
 * sign_batch_collect.  1: answered at once (the module could not start
 * it, or the batch is full): *now is the answer.
 */
int sign_batch_start(sign_batch *b, void *tag, const vdkim_msg_info *info,
    const seglist *msg, hook_outcome *now);
/* Waits up to timeout_ms (-1: until one is done) and hands back up to
 * max finished messages with their answers; their number. */
size_t sign_batch_collect(sign_batch *b, int timeout_ms, sb_done *out,
    size_t max);

#endif
