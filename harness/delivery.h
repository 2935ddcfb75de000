/*
 * delivery.h - the delivery workers: a pool of threads that take due
 * messages from the delivery queue, run the pre-delivery hook (when
 * signing happens there), relay to the smarthost or write to the Maildir,
 * write the accounting lines, and requeue with exponential backoff or
 * remove the message from the spool.
 */
#ifndef HARNESS_DELIVERY_H
#define HARNESS_DELIVERY_H

#include <stddef.h>

#include "accounting.h"
#include "delivery_queue.h"
#include "harness_config.h"
#include "module_host.h"
#include "spool.h"

typedef struct delivery delivery;

/* Starts cfg->delivery_workers threads.  0, or -1 with err filled. */
int delivery_start(const harness_config *cfg, module_host *module,
    spool *sp, delivery_queue *q, accounting *acct, delivery **out,
    char *err, size_t errlen);
/* Stops the queue, interrupts relays in progress (except a reply to the
 * final dot), joins the threads and frees d.  What was not delivered
 * stays in the spool. */
void delivery_stop(delivery *d);

#endif
