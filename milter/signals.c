/*
 * signals.c - one thread takes vdkim-milter's signals (signals.h says why
 * libmilter's own signal thread must never take one).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "reload.h"
#include "signals.h"

static void
our_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

/*
 * libmilter's signal thread calls sigwait() with SIGHUP in its set (its
 * only caller here: the signal thread below uses sigwaitinfo()); a
 * definition in the program, exported (the build hides symbols by
 * default), takes precedence over libc's for the shared libmilter.  That thread parks here for good, so that it never takes a
 * SIGHUP meant as a reload; stops go through smfi_stop().  Any other
 * caller gets sigwait()'s usual behaviour.
 */
int sigwait(const sigset_t *set, int *sig)
    __attribute__((visibility("default")));

int
sigwait(const sigset_t *set, int *sig)
{
	int s;

	if (sigismember(set, SIGHUP) == 1)
		for (;;)
			pause(); /* every signal it could take is blocked */
	do
		s = sigwaitinfo(set, NULL);
	while (s < 0 && errno == EINTR);
	if (s < 0)
		return errno;
	*sig = s;
	return 0;
}

int
signals_block(void)
{
	sigset_t set;

	our_set(&set);
	return pthread_sigmask(SIG_BLOCK, &set, NULL) == 0 ? 0 : -1;
}

static void *
signal_thread(void *arg)
{
	milter_app *a = arg;
	sigset_t set;
	char err[512];
	int sig;

	our_set(&set);
	for (;;) {
		sig = sigwaitinfo(&set, NULL);
		if (sig < 0) {
			if (errno != EINTR)
				log_msg(HLOG_ERR, "sigwaitinfo: %s",
				    strerror(errno));
			continue;
		}
		if (sig == SIGHUP || sig == SIGUSR1) {
			/* First the log at its path (logrotate moved it
			 * away), so that what the reload says lands in the
			 * new file. */
			if (log_reopen(err, sizeof(err)) != 0)
				log_msg(HLOG_ERR, "the log file: %s; still "
				    "writing to the old one", err);
			log_msg(HLOG_INFO, "%s: reloading",
			    sig == SIGHUP ? "SIGHUP" : "SIGUSR1");
			reload_all(a);
			continue;
		}
		if (a->stopping == 0)
			log_msg(HLOG_INFO, "%s: stopping",
			    sig == SIGTERM ? "SIGTERM" : "SIGINT");
		smfi_stop();
		return NULL;
	}
}

int
signals_start(milter_app *a, pthread_t *tid)
{
	int rc = pthread_create(tid, NULL, signal_thread, a);

	if (rc != 0)
		errno = rc;
	return rc == 0 ? 0 : -1;
}

void
signals_stop(pthread_t tid)
{
	/* Directed at the thread: nobody else waits for SIGTERM. */
	pthread_kill(tid, SIGTERM);
	pthread_join(tid, NULL);
}
