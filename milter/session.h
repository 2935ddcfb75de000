/*
 * session.h - libmilter's callbacks: one SMTP connection's messages,
 * streamed to vdkim.so's pre-queue hook and signed at end of message.
 *
 * libmilter gives callbacks no pointer of the program's, only the
 * connection's private one, so the program's state is bound once, before
 * smfi_main().  The settings may be replaced by a reload: each connection
 * holds the ones it started a message with (a reference count under the
 * lock) until its next message, and the last holder frees replaced ones.
 */
#ifndef MILTER_SESSION_H
#define MILTER_SESSION_H

#include <pthread.h>

#include <libmilter/mfapi.h>

#include "milter_config.h"
#include "module_link.h"

typedef struct milter_app {
	milter_config *cfg;       /* swapped under lock (session_config_swap) */
	module_link *module;
	_Atomic int stopping;     /* smfi_main has returned */
	pthread_mutex_t lock;     /* guards open_sessions, cfg, cfg->refs */
	pthread_cond_t idle;      /* signalled when open_sessions drops to 0 */
	unsigned open_sessions;
} milter_app;

/* Binds app (which must outlive every callback) and returns the filter
 * description for smfi_register(). */
struct smfiDesc *session_filter(milter_app *app);
/* Waits up to seconds for the open connections to end.  0 when none is
 * left, -1 when some still are. */
int session_wait_idle(milter_app *app, int seconds);
/* Makes cfg the settings of every message begun from now on; the old
 * ones are freed now, or by the last connection still using them. */
void session_config_swap(milter_app *app, milter_config *cfg);

#endif
