/*
 * main.c - vdkim-milter: vdkim.so behind the Sendmail 8 milter protocol,
 * for Postfix (smtpd_milters, non_smtpd_milters) and Sendmail.
 *
 *   vdkim-milter --config FILE [--check]
 *
 * Runs in the foreground.  SIGHUP and SIGUSR1 reload the module's config
 * and the milter { } block (reload.h; SIGHUP also reopens the log file,
 * for logrotate); SIGTERM and SIGINT stop.  Exit status (sysexits.h):
 * 0 after a stop (or --check passing), 64 for a bad command line, 66
 * when the config file cannot be read, 78 for a bad config (including
 * one the module refuses), 73 when the log file cannot be opened, 69
 * when it cannot run (socket, threads).  Signals are taken by a thread
 * of their own, never by libmilter's (signals.h).
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "milter_config.h"
#include "metrics_http.h"
#include "module_link.h"
#include "session.h"
#include "signals.h"

#define EXIT_CONFIG EX_CONFIG
#define EXIT_RUN EX_UNAVAILABLE

static void
usage(FILE *f)
{
	fprintf(f, "usage: vdkim-milter --config FILE [--check] | --version | --help\n"
	    "  --config FILE  the vdkim config: the module's policy and a\n"
	    "                 milter { } block with the milter's settings\n"
	    "  --check        parse the config, open the module, exit 0 or 78\n"
	    "  --version      print the version and exit\n"
	    "  --help         print this and exit\n");
}

/* Why the milter cannot start: to the log, and to stderr as well unless
 * the log is stderr (whoever started it is looking at the terminal). */
static int
fail(const milter_config *cfg, const char *why, int status)
{
	(void)cfg;
	log_msg(HLOG_ERR, "%s", why);
	if (log_sink_now() != LOG_SINK_JOURNAL)
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

/*
 * Serves until smfi_main returns (a stop signal, or libmilter failing),
 * then gives open connections stop-grace seconds.  EXIT_SUCCESS,
 * EXIT_RUN, or -1 when connections are still open.
 */
static int
serve(milter_app *a)
{
	pthread_t sig_tid;
	metrics_http *metrics = NULL;
	char err[512];
	int status;

	/* GET /metrics in a thread of its own (signals are blocked in every
	 * thread but signals.c's). */
	if (a->cfg->metrics_text != NULL && metrics_http_start(
	    &a->cfg->metrics, module_link_stats, module_link_stats_free,
	    a->module, &metrics, err, sizeof(err)) != 0)
		return fail(a->cfg, err, EXIT_RUN);
	if (metrics != NULL)
		log_msg(HLOG_INFO, "GET /metrics on %s", a->cfg->metrics_text);
	if (signals_start(a, &sig_tid) != 0) {
		metrics_http_stop(metrics);
		return fail(a->cfg, "cannot start the signal thread", EXIT_RUN);
	}
	log_msg(HLOG_INFO, "vdkim-milter listening on %s (module %s, VMTA "
	    "from %s, default %s)", a->cfg->listen,
	    a->module->api->module_version, a->cfg->vmta_macro,
	    a->cfg->default_vmta != NULL ? a->cfg->default_vmta : "default");
	status = smfi_main();
	a->stopping = 1;
	signals_stop(sig_tid);
	metrics_http_stop(metrics);
	if (session_wait_idle(a, a->cfg->stop_grace) != 0) {
		log_msg(HLOG_WARNING, "connections still open after %d s: "
		    "stopping without them", a->cfg->stop_grace);
		return -1;
	}
	log_msg(HLOG_INFO, "stopped");
	return status == MI_SUCCESS ? EXIT_SUCCESS : EXIT_RUN;
}

/*
 * libmilter (Debian's is built with its workers pool) starts and ends
 * worker threads as the load comes and goes, with default attributes:
 * 8 MiB stacks, of which glibc keeps only about five for reuse, so most
 * new workers map, fault in and zero fresh stacks (perf: a fifth of the
 * milter's CPU under load).  A smaller default lets glibc's stack cache
 * keep them all; 512 KiB is many times what a session, the module and
 * OpenSSL use.
 */
#define THREAD_STACK_SIZE (512u * 1024u)

static void
small_thread_stacks(void)
{
	pthread_attr_t attr;

	if (pthread_attr_init(&attr) != 0)
		return;
	if (pthread_attr_setstacksize(&attr, THREAD_STACK_SIZE) != 0 ||
	    pthread_setattr_default_np(&attr) != 0)
		log_msg(HLOG_WARNING, "cannot set the threads' stack size: "
		    "libmilter's workers keep the default");
	pthread_attr_destroy(&attr);
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
	log_settings ls;
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
			return opt == 'h' ? EXIT_SUCCESS : EX_USAGE;
		}
	}
	if (config == NULL || optind != argc) {
		if (config == NULL)
			fprintf(stderr, "vdkim-milter: --config FILE is "
			    "missing\n");
		else
			fprintf(stderr, "vdkim-milter: unexpected argument "
			    "\"%s\"\n", argv[optind]);
		usage(stderr);
		return EX_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Before any thread exists (the module may start some): every
	 * thread inherits the mask, and only signals.c's takes them. */
	if (signals_block() != 0)
		return fail(NULL, "cannot block signals", EXIT_RUN);
	small_thread_stacks();
	if (milter_config_load(config, &cfg, err, sizeof(err)) != 0)
		return fail(NULL, err, access(config, R_OK) != 0 ? EX_NOINPUT :
		    EXIT_CONFIG);
	ls.ident = "vdkim-milter";
	ls.file = cfg->log_file;
	ls.socket = cfg->log_socket;
	ls.facility = cfg->log_facility;
	ls.max_level = cfg->log_level;
	if (log_open(&ls, err, sizeof(err)) != 0) {
		fail(cfg, err, EX_CANTCREAT);
		milter_config_free(cfg);
		return EX_CANTCREAT;
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
	cfg = a.cfg; /* a reload may have replaced it */
	/* Connections still open at the end keep the module and the
	 * settings: the process leaves without freeing them under them. */
	if (rc < 0)
		_exit(EXIT_SUCCESS);
	module_link_close(a.module);
	milter_config_free(cfg);
	log_close();
	return rc;
}
