/*
 * signals.h - vdkim-milter's signals, taken by one thread of its own.
 *
 * SIGHUP and SIGUSR1 reload (reload.c), SIGTERM and SIGINT stop
 * (smfi_stop).  libmilter's smfi_main() starts a thread that sigwait()s
 * on SIGHUP, SIGTERM and SIGINT and stops the milter on SIGHUP; a
 * process-directed signal goes to any thread that waits for it, so while
 * that thread waits no SIGHUP is safe (a handler in the main thread loses
 * the race whenever the main thread already has a signal pending).  So
 * libmilter's thread never waits: this program's sigwait() (signals.c)
 * parks it, and the only thread that takes signals is ours.
 */
#ifndef MILTER_SIGNALS_H
#define MILTER_SIGNALS_H

#include <pthread.h>

#include "session.h"

/* Blocks SIGHUP, SIGUSR1, SIGTERM and SIGINT in the calling thread, which
 * must be the main one, before it starts any other: every thread made
 * later inherits the mask.  0 or -1. */
int signals_block(void);

/* Starts the signal thread for app.  0, or -1 (errno set). */
int signals_start(milter_app *app, pthread_t *tid);

/* After smfi_main() has returned: ends the signal thread (if smfi_main
 * ended on its own, the thread is still waiting) and joins it. */
void signals_stop(pthread_t tid);

#endif
