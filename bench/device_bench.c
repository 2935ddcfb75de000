/*
 * device_bench.c - signatures per second through vdkim.so, loaded as a
 * host loads it, with whatever keys the config names (files, PKCS#11
 * tokens, TPMs, offload cards).
 *
 *   device_bench --so build/vdkim.so --config FILE --from a@example.com
 *       [--mode sync|async] [--messages N] [--threads T] [--in-flight K]
 *       [--out DIR --keep M]
 *
 * sync: T threads each run msg_begin/msg_chunk/msg_end, one message at a
 * time, as a host's delivery workers do.  async: one thread keeps up to K
 * messages in flight through a batch (batch_submit / batch_poll).  Every
 * message must come back signed; the first M signed messages are written
 * to DIR (for verifiers).  Prints one line:
 *   mode=... messages=N signed=S failed=F seconds=X rate=R [reason=...]
 * and exits 1 when any message failed.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_abi.h"

static const vdkim_api *api;
static vdkim_instance *inst;
static char message[1024];
static const char *out_dir;
static long keep;
static atomic_long signed_n, failed_n, kept_n;
static char last_reason[512];
static pthread_mutex_t reason_lock = PTHREAD_MUTEX_INITIALIZER;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static vdkim_msg *
begin(long i)
{
	vdkim_msg_info info;
	vdkim_msg *m = NULL;
	char qid[32], err[256];

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.rcpt_domain = "example.net";
	snprintf(qid, sizeof(qid), "B%ld", i);
	info.queue_id = qid;
	if (api->msg_begin(inst, VDKIM_HOOK_PRE_DELIVERY, &info, &m, err,
	    sizeof(err)) != 0)
		return NULL;
	api->msg_chunk(m, message, strlen(message));
	return m;
}

static void
account(vdkim_msg *m)
{
	vdkim_hook_result res;

	memset(&res, 0, sizeof(res));
	res.size = sizeof(res);
	if (m == NULL || api->msg_end(m, &res) != 0 || res.nsigned < 1) {
		atomic_fetch_add(&failed_n, 1);
		pthread_mutex_lock(&reason_lock);
		snprintf(last_reason, sizeof(last_reason), "%s: %s",
		    m && res.reason_code ? res.reason_code : "error",
		    m && res.reason ? res.reason : "no answer");
		pthread_mutex_unlock(&reason_lock);
	} else {
		long k = atomic_fetch_add(&signed_n, 1);

		if (out_dir != NULL && k < keep) {
			char path[4096];
			FILE *f;

			snprintf(path, sizeof(path), "%s/signed.%ld.eml",
			    out_dir, atomic_fetch_add(&kept_n, 1));
			if ((f = fopen(path, "w")) != NULL) {
				fwrite(res.add_headers, 1, res.add_headers_len,
				    f);
				fputs(message, f);
				fclose(f);
			}
		}
	}
	if (m != NULL)
		api->msg_free(m);
}

struct worker {
	long from, to;
};

static void *
sync_worker(void *arg)
{
	struct worker *w = arg;

	for (long i = w->from; i < w->to; i++)
		account(begin(i));
	return NULL;
}

static int
run_async(long n, unsigned in_flight)
{
	vdkim_batch *b;
	vdkim_msg *done[256];
	char err[256];
	long started = 0, finished = 0;

	if (!VDKIM_API_HAS(api, batch_free)) {
		fprintf(stderr, "device_bench: this vdkim.so has no batches\n");
		return -1;
	}
	if (api->batch_new(inst, in_flight, &b, err, sizeof(err)) != 0) {
		fprintf(stderr, "device_bench: %s\n", err);
		return -1;
	}
	while (finished < n) {
		int got;

		while (started < n && api->batch_outstanding(b) < in_flight) {
			vdkim_msg *m = begin(started++);

			if (m == NULL || api->batch_submit(b, m) != 0) {
				account(m); /* counted as failed */
				finished++;
			}
		}
		got = api->batch_poll(b, 1000, done, 256);
		for (int i = 0; i < got; i++)
			account(done[i]);
		finished += got > 0 ? got : 0;
	}
	api->batch_free(b);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "so", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "from", required_argument, NULL, 'f' },
		{ "mode", required_argument, NULL, 'm' },
		{ "messages", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "in-flight", required_argument, NULL, 'k' },
		{ "out", required_argument, NULL, 'o' },
		{ "keep", required_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 }
	};
	const char *so = "build/vdkim.so", *config = NULL, *from = NULL;
	const char *mode = "sync";
	long n = 100, threads = 1, in_flight = 64;
	char err[512];
	double t0, secs;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': so = optarg; break;
		case 'c': config = optarg; break;
		case 'f': from = optarg; break;
		case 'm': mode = optarg; break;
		case 'n': n = atol(optarg); break;
		case 't': threads = atol(optarg); break;
		case 'k': in_flight = atol(optarg); break;
		case 'o': out_dir = optarg; break;
		case 'K': keep = atol(optarg); break;
		default: return 2;
		}
	}
	if (config == NULL || from == NULL || n < 1 || threads < 1 ||
	    threads > 256 || in_flight < 1) {
		fprintf(stderr, "usage: device_bench --config FILE --from ADDR "
		    "[--so SO] [--mode sync|async] [--messages N] [--threads T] "
		    "[--in-flight K] [--out DIR --keep M]\n");
		return 2;
	}
	snprintf(message, sizeof(message), "From: %s\r\nTo: b@example.net\r\n"
	    "Subject: device bench\r\nMessage-ID: <bench@example.com>\r\n\r\n"
	    "A short body, as most mail is.\r\n", from);
	if (bench_abi_load(so, &api, err, sizeof(err)) != 0 ||
	    api->open(config, NULL, &inst, err, sizeof(err)) != 0) {
		fprintf(stderr, "device_bench: %s\n", err);
		return 2;
	}
	t0 = now_s();
	if (strcmp(mode, "async") == 0) {
		if (run_async(n, (unsigned)in_flight) != 0)
			return 2;
	} else {
		pthread_t tid[256];
		struct worker w[256];

		for (long i = 0; i < threads; i++) {
			w[i].from = n * i / threads;
			w[i].to = n * (i + 1) / threads;
			pthread_create(&tid[i], NULL, sync_worker, &w[i]);
		}
		for (long i = 0; i < threads; i++)
			pthread_join(tid[i], NULL);
	}
	secs = now_s() - t0;
	printf("mode=%s messages=%ld signed=%ld failed=%ld seconds=%.3f "
	    "rate=%.1f%s%s\n", mode, n, atomic_load(&signed_n),
	    atomic_load(&failed_n), secs, (double)atomic_load(&signed_n) / secs,
	    last_reason[0] ? " reason=" : "", last_reason);
	api->close(inst);
	return atomic_load(&failed_n) > 0 ? 1 : 0;
}
