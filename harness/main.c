/*
 * main.c - vdkim-harness: the reference MTA around vdkim.so.
 *
 *   vdkim-harness --config FILE [--check]
 *
 * Exit status: 0 after SIGTERM/SIGINT (or --check passing), 2 for a bad
 * config (including a module that refuses it), 1 when it cannot run
 * (spool, listeners).
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounting.h"
#include "delivery.h"
#include "delivery_queue.h"
#include "event_loop.h"
#include "harness_config.h"
#include "intake.h"
#include "log.h"
#include "module_host.h"
#include "reloader.h"
#include "rotation_runner.h"
#include "smtp_server.h"
#include "spool.h"

#define EXIT_CONFIG 2
#define EXIT_RUN 1

/* Everything a running harness holds, freed in reverse order. */
struct harness {
	harness_config *cfg;
	module_host *module;
	reloader *reloader;
	rotation_runner *rotation;
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
	    "  --check        parse the config, open the module, exit 0 or 2\n"
	    "  --version      print the version and exit\n"
	    "  --help         print this and exit\n");
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

static void
teardown(struct harness *h)
{
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

/* Why the harness cannot start: to the log, and to stderr as well when
 * the log is a file (whoever started it is looking at the terminal). */
static int
fail(const struct harness *h, const char *why, int status)
{
	log_msg(HLOG_ERR, "%s", why);
	if (h->cfg == NULL || h->cfg->log_file != NULL)
		fprintf(stderr, "vdkim-harness: %s\n", why);
	return status;
}

/* Parses, opens the log and the module.  EXIT_SUCCESS or EXIT_CONFIG. */
static int
configure(struct harness *h, const char *path)
{
	char err[1024];

	if (harness_config_load(path, &h->cfg, err, sizeof(err)) != 0)
		return fail(h, err, EXIT_CONFIG);
	if (log_open(h->cfg->log_file, h->cfg->log_level, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "vdkim-harness: %s\n", err);
		return EXIT_CONFIG;
	}
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
	    sizeof(err)) != 0))
		return fail(h, err, EXIT_RUN);
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
			return EXIT_CONFIG;
		}
	}
	if (config == NULL || optind != argc) {
		usage(stderr);
		return EXIT_CONFIG;
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
