/*
 * main.c - vdkim-harness: the reference MTA around vdkim.so.
 *
 *   vdkim-harness --config FILE [--check]
 *
 * Exit status (sysexits.h): 0 after SIGTERM/SIGINT (or --check
 * passing), 64 for a bad command line, 66 when the config file cannot be
 * read, 78 for a bad config (including a module that refuses it), 69 when
 * it cannot run (spool, listeners).
 *
 * SIGHUP reloads the module's config and reopens the log and accounting
 * files (logrotate without copytruncate).
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "accounting.h"
#include "delivery.h"
#include "delivery_queue.h"
#include "event_loop.h"
#include "harness_config.h"
#include "intake.h"
#include "log.h"
#include "module_host.h"
#include "metrics_http.h"
#include "reloader.h"
#include "rotation_runner.h"
#include "smtp_server.h"
#include "spool.h"

#define EXIT_CONFIG EX_CONFIG
#define EXIT_RUN EX_UNAVAILABLE

/* Everything a running harness holds, freed in reverse order. */
struct harness {
	harness_config *cfg;
	module_host *module;
	reloader *reloader;
	rotation_runner *rotation;
	metrics_http *metrics;
	accounting *acct;
	spool *spool;
	delivery_queue *queue;
	event_loop *loop;
	intake in;
	smtp_server *server;
	delivery *delivery;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: vdkim-harness --config FILE [--check] | --version | --help\n"
	    "  --config FILE  the vdkim config: the module's policy and a\n"
	    "                 harness { } block with the harness's settings\n"
	    "  --check        parse the config, open the module, exit 0 or 78\n"
	    "  --version      print the version and exit\n"
	    "  --help         print this and exit\n");
}

/* SIGHUP: the log and accounting files opened again at their paths (a
 * file logrotate moved away keeps what was written to it). */
static void
reopen_files(struct harness *h)
{
	char err[512];

	if (log_reopen(err, sizeof(err)) != 0)
		log_msg(HLOG_ERR, "SIGHUP: %s; still writing to the old log file",
		    err);
	if (accounting_reopen(h->acct, err, sizeof(err)) != 0)
		log_msg(HLOG_ERR, "SIGHUP: %s; still writing to the old "
		    "accounting file", err);
}

/* On the loop: SIGHUP reloads (on the reloader's thread: the loop goes on
 * serving sessions; the harness's own settings need a restart, since
 * listeners and the spool cannot change under a running queue), SIGTERM
 * and SIGINT stop. */
static void
on_signal(void *ctx, int signo)
{
	struct harness *h = ctx;

	if (signo == SIGHUP) {
		reopen_files(h);
		reloader_request(h->reloader, "SIGHUP");
	} else {
		log_msg(HLOG_INFO, "signal %d: stopping", signo);
		smtp_server_stop(h->server);
	}
}

/* Each queued message found in the spool at start goes to the queue. */
static void
recovered(void *ctx, const char *id, envelope *env)
{
	struct harness *h = ctx;
	dq_item *it = dq_item_new(id, env);

	if (it == NULL) {
		log_msg(HLOG_ERR, "%s: out of memory while recovering", id);
		return;
	}
	it->due_ms = monotonic_ms();
	if (delivery_queue_push(h->queue, it) != 0) {
		log_msg(HLOG_ERR, "%s: out of memory while recovering", id);
		dq_item_free(it);
	}
}

/* GET /metrics: the module's counters (its server's thread). */
static char *
metrics_body(void *ctx, size_t *len, char *why, size_t whylen)
{
	return module_host_stats(ctx, len, why, whylen);
}

static void
metrics_release(void *ctx, char *body)
{
	module_host_stats_free(ctx, body);
}

static void
teardown(struct harness *h)
{
	metrics_http_stop(h->metrics);
	rotation_runner_stop(h->rotation);
	reloader_stop(h->reloader);
	delivery_stop(h->delivery);
	smtp_server_free(h->server);
	event_loop_free(h->loop);
	delivery_queue_free(h->queue);
	spool_close(h->spool);
	accounting_close(h->acct);
	module_host_free(h->module);
	harness_config_free(h->cfg);
	log_close();
}

/* The signals the event loop takes (on_signal). */
static const int loop_signals[] = { SIGTERM, SIGINT, SIGHUP };
#define NLOOP_SIGNALS (sizeof(loop_signals) / sizeof(loop_signals[0]))

/* Signals are taken by the event loop's signalfd: block them in every
 * thread, which means before the first one is created. */
static void
block_signals(void)
{
	sigset_t sigs;

	sigemptyset(&sigs);
	for (size_t i = 0; i < NLOOP_SIGNALS; i++)
		sigaddset(&sigs, loop_signals[i]);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Why the harness cannot start: to the log, and to stderr as well unless
 * the log is stderr (whoever started it is looking at the terminal). */
static int
fail(const struct harness *h, const char *why, int status)
{
	(void)h;
	log_msg(HLOG_ERR, "%s", why);
	if (log_sink_now() != LOG_SINK_JOURNAL)
		fprintf(stderr, "vdkim-harness: %s\n", why);
	return status;
}

/* Parses, opens the log and the module.  EXIT_SUCCESS, EX_NOINPUT (no
 * config file to read) or EXIT_CONFIG. */
static int
configure(struct harness *h, const char *path)
{
	char err[1024];
	log_settings ls;

	if (harness_config_load(path, &h->cfg, err, sizeof(err)) != 0)
		return fail(h, err, access(path, R_OK) != 0 ? EX_NOINPUT :
		    EXIT_CONFIG);
	ls.ident = "vdkim-harness";
	ls.file = h->cfg->log_file;
	ls.socket = h->cfg->log_socket;
	ls.facility = h->cfg->log_facility;
	ls.max_level = h->cfg->log_level;
	if (log_open(&ls, err, sizeof(err)) != 0)
		return fail(h, err, EX_CANTCREAT);
	if (module_host_load(h->cfg->module, path, &h->module, err,
	    sizeof(err)) != 0 ||
	    accounting_open(h->cfg->accounting_file, &h->acct, err,
	    sizeof(err)) != 0)
		return fail(h, err, EXIT_CONFIG);
	return EXIT_SUCCESS;
}

/* Spool, queue, listeners, workers; then the loop until a stop signal. */
static int
run(struct harness *h)
{
	char err[1024];
	long found;

	if (spool_open(h->cfg->spool_dir, &h->spool, err, sizeof(err)) != 0)
		return fail(h, err, EXIT_RUN);
	if ((h->queue = delivery_queue_new()) == NULL)
		return fail(h, "out of memory", EXIT_RUN);
	found = spool_recover(h->spool, recovered, h, err, sizeof(err));
	if (found < 0)
		return fail(h, err, EXIT_RUN);
	log_msg(HLOG_INFO, "spool %s: %ld queued message(s) to deliver",
	    h->cfg->spool_dir, found);
	h->in.cfg = h->cfg;
	h->in.module = h->module;
	h->in.spool = h->spool;
	h->in.queue = h->queue;
	if (reloader_start(h->module, h->cfg->path, &h->reloader, err,
	    sizeof(err)) != 0 ||
	    event_loop_new(&h->loop, err, sizeof(err)) != 0 ||
	    event_loop_signals(h->loop, loop_signals, NLOOP_SIGNALS, on_signal,
	    h, err, sizeof(err)) != 0 ||
	    smtp_server_new(h->cfg, &h->in, h->loop, &h->server, err,
	    sizeof(err)) != 0 ||
	    delivery_start(h->cfg, h->module, h->spool, h->queue, h->acct,
	    &h->delivery, err, sizeof(err)) != 0 ||
	    (h->cfg->rotation_check && rotation_runner_start(
	    h->cfg->rotation_check_interval, h->module, &h->rotation, err,
	    sizeof(err)) != 0) ||
	    (h->cfg->metrics_text != NULL && metrics_http_start(
	    &h->cfg->metrics, metrics_body, metrics_release, h->module,
	    &h->metrics, err, sizeof(err)) != 0))
		return fail(h, err, EXIT_RUN);
	if (h->metrics != NULL)
		log_msg(HLOG_INFO, "GET /metrics on %s", h->cfg->metrics_text);
	log_msg(HLOG_INFO, "vdkim-harness running as %s: module %s, signing "
	    "at %s, delivering to %s %s, %d delivery worker(s)",
	    h->cfg->hostname, module_host_version(h->module),
	    h->cfg->sign_at == SIGN_AT_PRE_QUEUE ? "pre-queue" : "pre-delivery",
	    h->cfg->maildir != NULL ? "Maildir" : "smarthost",
	    h->cfg->maildir != NULL ? h->cfg->maildir : h->cfg->smarthost_text,
	    h->cfg->delivery_workers);
	if (event_loop_run(h->loop, err, sizeof(err)) != 0) {
		log_msg(HLOG_ERR, "%s", err);
		return fail(h, "the event loop failed", EXIT_RUN);
	}
	log_msg(HLOG_INFO, "stopped; %zu message(s) left queued for the next "
	    "start", delivery_queue_state(h->queue).length);
	return EXIT_SUCCESS;
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
	struct harness h;
	const char *config = NULL;
	int check = 0, opt, rc;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'k':
			check = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("vdkim-harness (vdkim) %s\n", VDKIM_VERSION);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (config == NULL || optind != argc) {
		if (config == NULL)
			fprintf(stderr, "vdkim-harness: --config FILE is "
			    "missing\n");
		else
			fprintf(stderr, "vdkim-harness: unexpected argument "
			    "\"%s\"\n", argv[optind]);
		usage(stderr);
		return EX_USAGE;
	}
	block_signals();
	memset(&h, 0, sizeof(h));
	rc = configure(&h, config);
	if (rc == EXIT_SUCCESS && check)
		printf("vdkim-harness: %s OK (module %s)\n", config,
		    module_host_version(h.module));
	else if (rc == EXIT_SUCCESS)
		rc = run(&h);
	teardown(&h);
	return rc;
}
