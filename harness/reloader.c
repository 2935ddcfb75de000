/*
 * reloader.c - one thread that reloads the module when asked.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery_queue.h" /* monotonic_ms() */
#include "log.h"
#include "reloader.h"

struct reloader {
	module_host *module;
	const char *path;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int requested;              /* guarded by lock */
	int running;                /* guarded by lock */
	int stop;                   /* guarded by lock */
};

static void
reload_once(reloader *r)
{
	char err[1024];
	uint64_t t0 = monotonic_ms();
	int rc = module_host_reload(r->module, err, sizeof(err));
	double secs = (double)(monotonic_ms() - t0) / 1000.0;

	if (rc == 0)
		log_msg(HLOG_INFO, "module config reloaded from %s in %.1f s "
		    "(harness { } settings take effect at the next start)",
		    r->path, secs);
	else
		log_msg(HLOG_ERR, "module config reload failed, the old one "
		    "stays in force: %s", err);
}

static void *
reloader_main(void *arg)
{
	reloader *r = arg;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (!r->requested && !r->stop)
			pthread_cond_wait(&r->wake, &r->lock);
		if (r->stop)
			break;
		r->requested = 0;
		r->running = 1;
		pthread_mutex_unlock(&r->lock);
		reload_once(r);
		pthread_mutex_lock(&r->lock);
		r->running = 0;
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int
reloader_start(module_host *m, const char *config_path, reloader **out,
    char *err, size_t errlen)
{
	reloader *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (r == NULL) {
		snprintf(err, errlen, "reloader: out of memory");
		return -1;
	}
	r->module = m;
	r->path = config_path;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	rc = pthread_create(&r->thread, NULL, reloader_main, r);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the reload thread: %s",
		    strerror(rc));
		pthread_cond_destroy(&r->wake);
		pthread_mutex_destroy(&r->lock);
		free(r);
		return -1;
	}
	/* A name for ps -L and debuggers; nothing depends on it. */
	pthread_setname_np(r->thread, "reload");
	*out = r;
	return 0;
}

void
reloader_request(reloader *r, const char *why)
{
	pthread_mutex_lock(&r->lock);
	if (r->running && !r->requested)
		log_msg(HLOG_INFO, "%s: a reload is in progress; another one "
		    "follows it", why);
	else if (r->requested)
		log_msg(HLOG_INFO, "%s: a reload is already waiting", why);
	else
		log_msg(HLOG_INFO, "%s: reloading the module's config in the "
		    "background (the policy in force signs meanwhile)", why);
	r->requested = 1;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
}

void
reloader_stop(reloader *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	if (r->running)
		log_msg(HLOG_INFO, "waiting for the reload in progress to end");
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
