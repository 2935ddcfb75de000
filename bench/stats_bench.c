/*
 * stats_bench.c - what the counters cost: messages signed through vdkim.so
 * (as a host signs them: msg_begin, msg_chunk, msg_end, msg_free) with the
 * counters off (stats-counters = no) and on, in the costliest place they
 * can be: a stats-file, shared memory every process of a host writes.
 *
 *   stats_bench --so build/vdkim.so --off FILE --on FILE [--rounds N]
 *               [--per-round N]
 *
 * Both configs sign with the same key; rounds alternate off and on, each
 * timed in the thread's CPU clock, and the ratio off/on of each round is
 * taken: the median of those is the throughput with counters against
 * without, so a round's load affects both sides alike.  Exits 1 when a
 * message is not signed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_abi.h"

#define MAX_ROUNDS 101

static const vdkim_api *api;
static const char message[] =
    "From: Alice <alice@example.com>\r\n"
    "To: Bob <bob@example.org>\r\n"
    "Subject: the counters' cost\r\n"
    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    "Message-ID: <stats-bench@example.com>\r\n"
    "\r\n"
    "A short body, as most mail is.\r\n";

static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* n messages through inst: their CPU seconds, or -1 when one is not
 * signed. */
static double
sign_n(vdkim_instance *inst, int n)
{
	vdkim_msg_info info = { sizeof(info), "bench", NULL, "in",
	    "alice@example.com", "example.org", NULL };
	double t0 = cpu_s();

	for (int i = 0; i < n; i++) {
		vdkim_hook_result res;
		vdkim_msg *m = NULL;

		memset(&res, 0, sizeof(res));
		res.size = sizeof(res);
		if (api->msg_begin(inst, VDKIM_HOOK_PRE_DELIVERY, &info, &m,
		    NULL, 0) != 0 || api->msg_chunk(m, message,
		    sizeof(message) - 1) != 0 || api->msg_end(m, &res) != 0 ||
		    res.nsigned != 1) {
			api->msg_free(m);
			return -1;
		}
		api->msg_free(m);
	}
	return cpu_s() - t0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static vdkim_instance *
open_conf(const char *path)
{
	vdkim_instance *inst = NULL;
	char err[512];

	if (api->open(path, NULL, &inst, err, sizeof(err)) != 0) {
		fprintf(stderr, "stats_bench: %s: %s\n", path, err);
		exit(1);
	}
	return inst;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "so", required_argument, NULL, 's' },
		{ "off", required_argument, NULL, 'f' },
		{ "on", required_argument, NULL, 'n' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "per-round", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	const char *so = NULL, *off_conf = NULL, *on_conf = NULL;
	int rounds = 21, per = 2000, c;
	double ratio[MAX_ROUNDS], off_rate[MAX_ROUNDS], on_rate[MAX_ROUNDS];
	vdkim_instance *off, *on;
	char err[256];

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': so = optarg; break;
		case 'f': off_conf = optarg; break;
		case 'n': on_conf = optarg; break;
		case 'r': rounds = atoi(optarg); break;
		case 'p': per = atoi(optarg); break;
		default: return 2;
		}
	}
	if (so == NULL || off_conf == NULL || on_conf == NULL || rounds < 1 ||
	    rounds > MAX_ROUNDS || per < 1) {
		fprintf(stderr, "usage: stats_bench --so SO --off FILE --on FILE "
		    "[--rounds 1..%d] [--per-round N]\n", MAX_ROUNDS);
		return 2;
	}
	if (bench_abi_load(so, &api, err, sizeof(err)) != 0) {
		fprintf(stderr, "stats_bench: %s\n", err);
		return 1;
	}
	off = open_conf(off_conf);
	on = open_conf(on_conf);
	if (sign_n(off, per / 10 + 1) < 0 || sign_n(on, per / 10 + 1) < 0) {
		fprintf(stderr, "stats_bench: a message was not signed\n");
		return 1;
	}
	for (int r = 0; r < rounds; r++) {
		/* Alternate which goes first, so neither always runs warm. */
		double a, b;

		if (r % 2 == 0) {
			a = sign_n(off, per);
			b = sign_n(on, per);
		} else {
			b = sign_n(on, per);
			a = sign_n(off, per);
		}
		if (a <= 0 || b <= 0) {
			fprintf(stderr, "stats_bench: a message was not signed\n");
			return 1;
		}
		off_rate[r] = per / a;
		on_rate[r] = per / b;
		ratio[r] = a / b;
	}
	printf("counters  %d rounds of %d messages each way (medians)\n",
	    rounds, per);
	printf("  off (stats-counters = no)   %10.0f msg/s\n",
	    median(off_rate, rounds));
	printf("  on  (stats-file, shared)    %10.0f msg/s\n",
	    median(on_rate, rounds));
	{
		double q = median(ratio, rounds);

		printf("  on/off throughput ratio     %10.4f  (cost %.2f %%)\n", q,
		    (1.0 - q) * 100.0);
	}
	api->close(off);
	api->close(on);
	return 0;
}
