/*
 * rotation_runner.c - the harness's periodic key check.
 *
 * The check runs in this process, through the module's ABI (check_keys):
 * the module looks the rotation schedules' selectors up in DNS and records
 * the answers in their state files.  It waits on DNS and the disk, so it
 * has a thread of its own, never the event loop's.  The reload that
 * follows makes the module read the state files, parse and load
 * everything anew and swap it in atomically, as SIGHUP does.  A check
 * that could not reach DNS recorded nothing: no reload.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "rotation_runner.h"

struct rotation_runner {
	int interval;
	module_host *module;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop;                 /* guarded by lock */
};

static const char *
outcome_name(int outcome)
{
	switch (outcome) {
	case VDKIM_CHECK_OK: return "ok: all selectors in use are in DNS";
	case VDKIM_CHECK_BROKEN: return "broken: signing is broken for a "
	    "domain (see vdkimctl rotation plan)";
	case VDKIM_CHECK_ATTENTION: return "attention: a selector is held "
	    "back or will be late";
	case VDKIM_CHECK_DNS_DOWN: return "dns-down: DNS did not answer; "
	    "nothing recorded";
	default: return "unknown";
	}
}

/* One check, and the reload when it recorded something. */
static void
run_check(rotation_runner *r)
{
	vdkim_check_summary sum;
	char err[512];

	if (module_host_check_keys(r->module, &sum, err, sizeof(err)) != 0) {
		log_msg(HLOG_ERR, "key check: could not run: %s", err);
		return;
	}
	log_msg(sum.outcome == VDKIM_CHECK_OK ? HLOG_INFO : HLOG_ERR,
	    "key check done: %s (%u domain(s), %u lookup(s))",
	    outcome_name(sum.outcome), sum.domains, sum.lookups);
	if (!sum.reload)
		return;
	if (module_host_reload(r->module, err, sizeof(err)) == 0)
		log_msg(HLOG_INFO, "key check: module reloaded with the new "
		    "results");
	else
		log_msg(HLOG_ERR, "key check: reload failed, the old policy "
		    "stays: %s", err);
}

static void *
runner_main(void *arg)
{
	rotation_runner *r = arg;
	struct timespec due;

	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		pthread_mutex_unlock(&r->lock);
		run_check(r);
		clock_gettime(CLOCK_MONOTONIC, &due);
		due.tv_sec += r->interval;
		pthread_mutex_lock(&r->lock);
		while (!r->stop && pthread_cond_timedwait(&r->wake, &r->lock,
		    &due) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int
rotation_runner_start(int interval, module_host *m, rotation_runner **out,
    char *err, size_t errlen)
{
	rotation_runner *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;
	int rc;

	*out = NULL;
	if (r == NULL) {
		snprintf(err, errlen, "key check: out of memory");
		return -1;
	}
	r->interval = interval;
	r->module = m;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->wake, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&r->thread, NULL, runner_main, r);
	if (rc != 0) {
		snprintf(err, errlen, "key check: cannot start its thread: %s",
		    strerror(rc));
		pthread_cond_destroy(&r->wake);
		pthread_mutex_destroy(&r->lock);
		free(r);
		return -1;
	}
	*out = r;
	return 0;
}

void
rotation_runner_stop(rotation_runner *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	/* A check in progress ends first: its DNS waits are bounded by the
	 * resolver's timeouts. */
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
