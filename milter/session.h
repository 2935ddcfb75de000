/*
 * session.h - libmilter's callbacks: one SMTP connection's messages,
 * streamed to vdkim.so's pre-queue hook and signed at end of message.
 *
 * libmilter gives callbacks no pointer of the program's, only the
 * connection's private one, so the program's state is bound once, before
 * smfi_main(), and only read afterwards (the session count has its lock).
 */
#ifndef MILTER_SESSION_H
#define MILTER_SESSION_H

#include <pthread.h>

#include <libmilter/mfapi.h>

#include "milter_config.h"
#include "module_link.h"

typedef struct milter_app {
	const milter_config *cfg;
	module_link *module;
	pthread_mutex_t lock;     /* guards open_sessions */
	pthread_cond_t idle;      /* signalled when open_sessions drops to 0 */
	unsigned open_sessions;
} milter_app;

/* Binds app (which must outlive every callback) and returns the filter
 * description for smfi_register(). */
struct smfiDesc *session_filter(milter_app *app);
/* Waits up to seconds for the open connections to end.  0 when none is
 * left, -1 when some still are. */
int session_wait_idle(milter_app *app, int seconds);

#endif
