/*
 * intake.h - what happens between the end of DATA and the reply to it:
 * the VMTA is chosen, the message is split per recipient domain, a
 * Received: field is added, the pre-queue hook runs (when signing happens
 * there), and the message is spooled durably and queued for delivery.
 *
 * It blocks (hook, fsync), so the event loop runs it on the task pool.
 */
#ifndef HARNESS_INTAKE_H
#define HARNESS_INTAKE_H

#include <stddef.h>

#include "delivery_queue.h"
#include "harness_config.h"
#include "module_host.h"
#include "smtp_session.h"
#include "spool.h"

typedef struct intake {
	const harness_config *cfg;
	module_host *module;
	spool *spool;
	delivery_queue *queue;
} intake;

/*
 * Queues m, received on listener l from peer, and writes the answer to the
 * DATA into reply (one SMTP line without CRLF): 250 once everything is
 * durable, or the module's 4xx/5xx, or 451 when the spool failed (then
 * nothing stays queued).  m is left to the caller to free.
 */
void intake_message(const intake *in, const hc_listener *l, const char *peer,
    session_message *m, char *reply, size_t replylen);

#endif
