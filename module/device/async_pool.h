/*
 * async_pool.h - many signatures in flight from one thread.
 *
 * Offload cards (Intel QAT and the like) reach their rate only with dozens
 * of requests outstanding.  A pool runs each piece of work in an OpenSSL
 * ASYNC job: when the device's provider or engine pauses the job
 * (ASYNC_pause_job) and hands a wait fd to the job's ASYNC_WAIT_CTX, the
 * pool moves on to the next piece, and resumes a job when its fd becomes
 * readable.  Devices that never pause simply finish in the first run.
 * Where ASYNC jobs are not available the work runs inline.
 *
 * A pool belongs to one thread: OpenSSL resumes a job only on the thread
 * that started it.  Memory is bounded by max jobs (each has its own stack,
 * OpenSSL's, 32 KiB).
 */
#ifndef VDKIM_ASYNC_POOL_H
#define VDKIM_ASYNC_POOL_H

#include <stddef.h>

typedef struct async_pool async_pool;
typedef void (*async_fn)(void *arg);

async_pool *async_pool_new(size_t max);
/* Starts fn(arg).  0: accepted (finished or pending; poll reports it);
 * -1: max pieces are already pending, or no memory. */
int async_pool_start(async_pool *a, async_fn fn, void *arg);
/* Waits up to timeout_ms (-1: until one finishes) and resumes what is
 * ready; writes the args of finished pieces to done (at most max) and
 * returns their number. */
size_t async_pool_poll(async_pool *a, int timeout_ms, void **done,
    size_t max);
/* Pieces started and not yet returned by poll. */
size_t async_pool_outstanding(const async_pool *a);
/* Finishes what is pending (waiting for it), then frees. */
void async_pool_free(async_pool *a);

#endif
