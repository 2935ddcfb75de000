/*
 * main.c - vdkim-milter: vdkim.so behind the Sendmail 8 milter protocol,
 * for Postfix (smtpd_milters, non_smtpd_milters) and Sendmail.
 *
 *   vdkim-milter --config FILE [--check]
 *
 * Runs in the foreground.  SIGHUP and SIGUSR1 reload the module's config;
 * SIGTERM and SIGINT stop.  Exit status: 0 after a stop (or --check
 * passing), 2 for a bad config (including one the module refuses), 1 when
 * it cannot run (socket, threads).
 *
 * Signals.  libmilter's smfi_main() starts a thread that sigwait()s on
 * SIGHUP, SIGTERM and SIGINT and *stops* the milter on SIGHUP, while
 * operators and systemd's ExecReload send SIGHUP to reload.  So smfi_main
 * runs in a thread of its own, made with every one of those signals
 * blocked (every libmilter thread inherits that mask), and the main thread
 * alone leaves SIGHUP and SIGUSR1 unblocked, with a handler, for all of
 * its life.  Linux gives a signal sent to the process to its main thread
 * first whenever that thread does not block it, so SIGHUP reaches our
 * handler rather than libmilter's sigwait.  SIGTERM and SIGINT stay
 * blocked here: libmilter's thread takes them and smfi_main returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "milter_config.h"
#include "metrics_http.h"
#include "module_link.h"
#include "session.h"

#define EXIT_CONFIG 2
#define EXIT_RUN 1

/* The handler's only way out: one byte per event ('R' reload, 'S' the
 * milter thread ended) into a pipe the main thread reads. */
static int wake_fd = -1;

static void
on_reload_signal(int signo)
{
	int saved = errno;
	char c = 'R';

	(void)signo;
	if (write(wake_fd, &c, 1) < 0) {
		/* the pipe is full: a reload is pending anyway */
	}
	errno = saved;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: vdkim-milter --config FILE [--check] | --version | --help\n"
	    "  --config FILE  the vdkim config: the module's policy and a\n"
	    "                 milter { } block with the milter's settings\n"
	    "  --check        parse the config, open the module, exit 0 or 2\n"
	    "  --version      print the version and exit\n"
	    "  --help         print this and exit\n");
}

static int
fail(const milter_config *cfg, const char *why, int status)
{
	log_msg(HLOG_ERR, "%s", why);
	if (cfg == NULL || cfg->log_file != NULL)
		fprintf(stderr, "vdkim-milter: %s\n", why);
	return status;
}

/* socket-owner, socket-group, socket-mode on a unix: socket's path. */
static int
set_socket_access(const milter_config *c, char *err, size_t errlen)
{
	const char *path = strchr(c->listen, ':') + 1;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	struct passwd *pw;
	struct group *gr;

	if (path[0] != '/')
		return 0; /* inet: nothing on disk */
	if (c->socket_owner != NULL) {
		if ((pw = getpwnam(c->socket_owner)) == NULL) {
			snprintf(err, errlen, "socket-owner %s: no such user",
			    c->socket_owner);
			return -1;
		}
		uid = pw->pw_uid;
	}
	if (c->socket_group != NULL) {
		if ((gr = getgrnam(c->socket_group)) == NULL) {
			snprintf(err, errlen, "socket-group %s: no such group",
			    c->socket_group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    chown(path, uid, gid) != 0) {
		snprintf(err, errlen, "chown %s: %s", path, strerror(errno));
		return -1;
	}
	if (c->socket_mode >= 0 && chmod(path, (mode_t)c->socket_mode) != 0) {
		snprintf(err, errlen, "chmod %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The libmilter side: the listening socket, opened before any thread. */
static int
open_listener(const milter_config *c, milter_app *a, char *err,
    size_t errlen)
{
	if (smfi_register(*session_filter(a)) != MI_SUCCESS ||
	    smfi_setconn(c->listen) != MI_SUCCESS ||
	    smfi_settimeout(c->timeout) != MI_SUCCESS) {
		snprintf(err, errlen, "libmilter refused the filter or listen "
		    "= \"%s\"", c->listen);
		return -1;
	}
	if (smfi_opensocket(1) != MI_SUCCESS) {
		snprintf(err, errlen, "cannot listen on %s (in use? the "
		    "folder missing?)", c->listen);
		return -1;
	}
	return set_socket_access(c, err, errlen);
}

static void *
milter_thread(void *arg)
{
	int *status = arg;
	char c = 'S';

	*status = smfi_main();
	if (write(wake_fd, &c, 1) < 0)
		log_msg(HLOG_ERR, "cannot wake the main thread: %s",
		    strerror(errno));
	return NULL;
}

static void
reload(milter_app *a)
{
	char err[1024];

	if (module_link_reload(a->module, err, sizeof(err)) == 0)
		log_msg(HLOG_INFO, "module config reloaded from %s (milter { } "
		    "settings take effect at the next start)", a->cfg->path);
	else
		log_msg(HLOG_ERR, "module config reload failed, the old one "
		    "stays in force: %s", err);
}

/*
 * Starts smfi_main in its thread (signals blocked, see the top), then
 * serves reload signals until it returns.  EXIT_SUCCESS or EXIT_RUN.
 */
static int
serve(milter_app *a)
{
	int fds[2], status = MI_SUCCESS;
	metrics_http *metrics = NULL;
	char err[512];
	sigset_t all, ours;
	struct sigaction sa;
	pthread_t tid;
	char c;

	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
		return fail(a->cfg, "cannot make a pipe", EXIT_RUN);
	fcntl(fds[0], F_SETFL, 0); /* the main thread blocks on it */
	wake_fd = fds[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_reload_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&ours);
	sigaddset(&ours, SIGHUP);
	sigaddset(&ours, SIGUSR1);
	sigemptyset(&all);
	sigaddset(&all, SIGHUP);
	sigaddset(&all, SIGUSR1);
	sigaddset(&all, SIGTERM);
	sigaddset(&all, SIGINT);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (pthread_create(&tid, NULL, milter_thread, &status) != 0)
		return fail(a->cfg, "cannot start the milter thread", EXIT_RUN);
	/* GET /metrics in a thread of its own, signals blocked there too. */
	if (a->cfg->metrics_text != NULL && metrics_http_start(
	    &a->cfg->metrics, module_link_stats, module_link_stats_free,
	    a->module, &metrics, err, sizeof(err)) != 0) {
		log_msg(HLOG_ERR, "%s", err);
		smfi_stop();
	} else if (metrics != NULL)
		log_msg(HLOG_INFO, "GET /metrics on %s", a->cfg->metrics_text);
	pthread_sigmask(SIG_UNBLOCK, &ours, NULL);
	log_msg(HLOG_INFO, "vdkim-milter listening on %s (module %s, VMTA "
	    "from %s, default %s)", a->cfg->listen,
	    a->module->api->module_version, a->cfg->vmta_macro,
	    a->cfg->default_vmta != NULL ? a->cfg->default_vmta : "default");
	for (;;) {
		ssize_t n = read(fds[0], &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n != 1 || c == 'S')
			break;
		log_msg(HLOG_INFO, "reload signal: reloading the module's "
		    "config");
		reload(a);
	}
	pthread_sigmask(SIG_BLOCK, &ours, NULL);
	pthread_join(tid, NULL);
	metrics_http_stop(metrics);
	if (session_wait_idle(a, a->cfg->stop_grace) != 0) {
		log_msg(HLOG_WARNING, "connections still open after %d s: "
		    "stopping without them", a->cfg->stop_grace);
		return -1;
	}
	log_msg(HLOG_INFO, "stopped");
	return status == MI_SUCCESS ? EXIT_SUCCESS : EXIT_RUN;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	milter_app a = { .lock = PTHREAD_MUTEX_INITIALIZER,
	    .idle = PTHREAD_COND_INITIALIZER };
	milter_config *cfg = NULL;
	const char *config = NULL;
	char err[1024];
	int check = 0, opt, rc;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == 'c')
			config = optarg;
		else if (opt == 'k')
			check = 1;
		else if (opt == 'V') {
			printf("vdkim-milter (vdkim) %s\n", VDKIM_VERSION);
			return EXIT_SUCCESS;
		} else {
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? EXIT_SUCCESS : EXIT_CONFIG;
		}
	}
	if (config == NULL || optind != argc) {
		usage(stderr);
		return EXIT_CONFIG;
	}
	signal(SIGPIPE, SIG_IGN);
	if (milter_config_load(config, &cfg, err, sizeof(err)) != 0)
		return fail(NULL, err, EXIT_CONFIG);
	if (log_open(cfg->log_file, cfg->log_level, err, sizeof(err)) != 0) {
		fprintf(stderr, "vdkim-milter: %s\n", err);
		milter_config_free(cfg);
		return EXIT_CONFIG;
	}
	a.cfg = cfg;
	if (module_link_open(cfg->module, config, "milter", &a.module, err,
	    sizeof(err)) != 0) {
		rc = fail(cfg, err, EXIT_CONFIG);
	} else if (check) {
		printf("vdkim-milter: %s OK (module %s)\n", config,
		    a.module->api->module_version);
		rc = EXIT_SUCCESS;
	} else if (open_listener(cfg, &a, err, sizeof(err)) != 0) {
		rc = fail(cfg, err, EXIT_RUN);
	} else {
		rc = serve(&a);
	}
	/* Connections still open at the end keep the module and the
	 * settings: the process leaves without freeing them under them. */
	if (rc < 0)
		_exit(EXIT_SUCCESS);
	module_link_close(a.module);
	milter_config_free(cfg);
	log_close();
	return rc;
}
