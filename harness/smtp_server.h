/*
 * smtp_server.h - the SMTP listeners and their sessions on the event loop
 * (event_loop.h): non-blocking sockets, a state machine per session
 * (smtp_session.c), no thread per connection.  An idle session costs a
 * descriptor and a few kilobytes, so hundreds of them never hold up the
 * others.
 *
 * Accepting a finished message blocks (the pre-queue hook, fsync), so it
 * runs on a small task pool (intake-workers threads, task_pool.h); the
 * loop resumes the session when the pool hands the answer back.
 *
 * Stopping (smtp_server_stop, e.g. on SIGTERM): listeners close at once,
 * idle sessions get a 421, sessions whose message is being queued get
 * their answer first; once no session and no message is left, the server
 * ends the loop's run (event_loop_stop).
 */
#ifndef HARNESS_SMTP_SERVER_H
#define HARNESS_SMTP_SERVER_H

#include <stddef.h>

#include "event_loop.h"
#include "harness_config.h"
#include "intake.h"

typedef struct smtp_server smtp_server;

/* Binds every listener on loop and starts the task pool; sessions run
 * when the loop does.  cfg, in and loop must outlive the server.  0, or -1
 * with err. */
int smtp_server_new(const harness_config *cfg, const intake *in,
    event_loop *loop, smtp_server **out, char *err, size_t errlen);
/* Begins the stop described above (again: no-op).  Loop thread. */
void smtp_server_stop(smtp_server *s);
/* Closes every session and listener and frees the server; NULL is fine.
 * After the loop's run (or before it ran), on the loop thread. */
void smtp_server_free(smtp_server *s);

#endif
