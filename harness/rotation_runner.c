/*
 * rotation_runner.c - the harness's periodic rotation checker.
 *
 * vdkim.so exports nothing but its ABI, so the checker runs as its own
 * process (vdkimctl, spawned with posix_spawn: this process has threads,
 * and a child of a threaded process may only exec).  It writes the state
 * file; the reload that follows makes the module read it, parse and load
 * everything anew and swap it in atomically, as SIGHUP does.  A check
 * that could not reach DNS (exit 3) recorded nothing: no reload.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "log.h"
#include "rotation_runner.h"

extern char **environ;

struct rotation_runner {
	char *vdkimctl, *config;
	int interval;
	module_host *module;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop;                 /* guarded by lock */
	pid_t child;              /* guarded by lock; 0 when none */
};

static const char *
check_meaning(int status)
{
	switch (status) {
	case 0: return "all selectors in use are in DNS";
	case 1: return "signing is broken for a domain (see vdkimctl rotation "
	    "plan)";
	case 2: return "a selector is held back or will be late";
	case 3: return "DNS did not answer; nothing recorded";
	default: return "the check could not run";
	}
}

/* One check; returns its exit status, or -1 when it could not run. */
static int
run_check(rotation_runner *r)
{
	char *argv[] = { r->vdkimctl, (char *)"rotation", (char *)"check",
	    (char *)"--config", r->config, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none;
	pid_t pid;
	int status, rc;

	/* The harness blocks signals for its signalfd; the child must not
	 * inherit that, nor our descriptors beyond the standard ones. */
	sigemptyset(&none);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pthread_mutex_lock(&r->lock);
	rc = r->stop ? ECANCELED : posix_spawn(&pid, r->vdkimctl, &fa, &attr,
	    argv, environ);
	if (rc == 0)
		r->child = pid;
	pthread_mutex_unlock(&r->lock);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		if (rc != ECANCELED)
			log_msg(HLOG_ERR, "rotation check: cannot run %s: %s",
			    r->vdkimctl, strerror(rc));
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&r->lock);
	r->child = 0;
	pthread_mutex_unlock(&r->lock);
	if (!WIFEXITED(status)) {
		log_msg(HLOG_ERR, "rotation check: %s ended by signal %d",
		    r->vdkimctl, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		return -1;
	}
	return WEXITSTATUS(status);
}

static void *
runner_main(void *arg)
{
	rotation_runner *r = arg;
	struct timespec due;
	char err[512];

	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		int status;

		pthread_mutex_unlock(&r->lock);
		status = run_check(r);
		if (status >= 0)
			log_msg(status == 0 ? HLOG_INFO : HLOG_ERR, "rotation "
			    "check: exit %d: %s", status, check_meaning(status));
		if (status >= 0 && status <= 2) {
			if (module_host_reload(r->module, err, sizeof(err)) == 0)
				log_msg(HLOG_INFO, "rotation check: module "
				    "reloaded with the new results");
			else
				log_msg(HLOG_ERR, "rotation check: reload "
				    "failed, the old policy stays: %s", err);
		}
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
rotation_runner_start(const char *vdkimctl, const char *config,
    int interval, module_host *m, rotation_runner **out, char *err,
    size_t errlen)
{
	rotation_runner *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;
	int rc;

	*out = NULL;
	if (r == NULL || (r->vdkimctl = strdup(vdkimctl)) == NULL ||
	    (r->config = realpath(config, NULL)) == NULL) {
		snprintf(err, errlen, "rotation check: %s", r == NULL ||
		    r->vdkimctl == NULL ? "out of memory" : strerror(errno));
		if (r != NULL)
			free(r->vdkimctl);
		free(r);
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
		snprintf(err, errlen, "rotation check: cannot start its thread: "
		    "%s", strerror(rc));
		pthread_cond_destroy(&r->wake);
		pthread_mutex_destroy(&r->lock);
		free(r->vdkimctl);
		free(r->config);
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
	if (r->child > 0)
		kill(r->child, SIGTERM); /* our own child, still running */
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r->vdkimctl);
	free(r->config);
	free(r);
}
