/*
 * smtp_server.h - the SMTP listeners and their sessions on one epoll event
 * loop: non-blocking sockets, a state machine per session (smtp_session.c),
 * no thread per connection.  An idle session costs a descriptor and a few
 * kilobytes, so hundreds of them never hold up the others.
 *
 * Accepting a finished message blocks (the pre-queue hook, fsync), so it
 * runs on a small task pool (intake-workers threads); the loop resumes the
 * session when the pool hands the answer back.
 *
 * Signals arrive through a signalfd on the loop: SIGTERM and SIGINT stop
 * it (listeners close at once, idle sessions get a 421, sessions whose
 * message is being queued get their answer first); SIGHUP calls the reload
 * callback.  The caller must block those signals in every thread before
 * any thread is created.
 */
#ifndef HARNESS_SMTP_SERVER_H
#define HARNESS_SMTP_SERVER_H

#include <stddef.h>

#include "harness_config.h"
#include "intake.h"

typedef struct smtp_server smtp_server;

typedef void (*server_reload_fn)(void *ctx);

/* Binds every listener and starts the task pool.  0, or -1 with err. */
int smtp_server_new(const harness_config *cfg, const intake *in,
    server_reload_fn on_reload, void *reload_ctx, smtp_server **out,
    char *err, size_t errlen);
/* Runs until SIGTERM or SIGINT and every session is over.  0, or -1 when
 * the loop itself failed. */
int smtp_server_run(smtp_server *s);
void smtp_server_free(smtp_server *s);

#endif
