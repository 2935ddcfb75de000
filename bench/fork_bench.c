/*
 * fork_bench.c - what a forked child's first signature costs, through
 * vdkim.so loaded as a forking host (Exim) loads it.
 *
 *   fork_bench --so build/vdkim.so --config FILE [--rounds N]
 *
 * The config names one software RSA key.  The host opens it and signs
 * (the load signs once more), then, round after round, times:
 *   warm   a 1 KB message signed in the host itself (median of 5);
 *   first  the first message a freshly forked child signs: the child makes
 *          its own copy of the key and, on this signature, fresh RSA
 *          blinding (module/engine/key_proc.h);
 *   second the child's next message;
 *   fork+1 the whole CPU cost of a child that signs one message: the
 *          fork() call in the host plus the child's CPU until the message
 *          is signed;
 *   fork+0 the same for a child that signs nothing.
 * All are CPU times (the process's own clock; a child's starts at zero).
 * Each ratio is the median of the ratios computed round by round, so a
 * round's load affects both sides alike.  Exits 1 when a message could
 * not be signed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_abi.h"

#define MAX_ROUNDS 201
#define WARM_PER_ROUND 5

static const vdkim_api *api;
static vdkim_instance *inst;
static char message[2048];

static double
cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Signs the message once; 0 when it came back signed. */
static int
sign_one(void)
{
	char err[256];

	if (bench_abi_sign(api, inst, "FORKBENCH", message, strlen(message),
	    err, sizeof(err)) == 0)
		return 0;
	fprintf(stderr, "fork_bench: %s\n", err);
	return -1;
}

/* Minor page faults of this process so far: in a fresh child, mostly
 * the copies of pages it shares with its parent and writes to. */
static double
faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_minflt;
}

/* What a child measured, in microseconds of its CPU (faults: of its
 * first signature). */
struct child_times {
	double first, second, upto_first, faults;
};

/*
 * Forks a child that signs `sign` messages (0 or 2) and reports its times;
 * *fork_cpu gets the fork() call's CPU in the host.  0, or -1.
 */
static int
run_child(int sign, struct child_times *t, double *fork_cpu)
{
	int pfd[2], status;
	double c0;
	pid_t pid;

	if (pipe(pfd) != 0)
		return -1;
	c0 = cpu_us();
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct child_times ct = { 0, 0, 0, 0 };
		double a, f;
		int rc = 0;

		close(pfd[0]);
		if (sign) {
			f = faults();
			a = cpu_us();
			rc |= sign_one();
			ct.upto_first = cpu_us();
			ct.first = ct.upto_first - a;
			ct.faults = faults() - f;
			a = cpu_us();
			rc |= sign_one();
			ct.second = cpu_us() - a;
		} else {
			ct.upto_first = cpu_us();
		}
		if (rc != 0 || write(pfd[1], &ct, sizeof(ct)) != sizeof(ct))
			_exit(1);
		_exit(0);
	}
	*fork_cpu = cpu_us() - c0;
	close(pfd[1]);
	if (read(pfd[0], t, sizeof(*t)) != sizeof(*t))
		t = NULL;
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || t == NULL)
		return -1;
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "so", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "rounds", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	static double warm[MAX_ROUNDS], first[MAX_ROUNDS], second[MAX_ROUNDS];
	static double fork1[MAX_ROUNDS], fork0[MAX_ROUNDS], flt[MAX_ROUNDS];
	static double r_first[MAX_ROUNDS], r_second[MAX_ROUNDS];
	static double r_fork1[MAX_ROUNDS], r_extra[MAX_ROUNDS];
	const char *so = "build/vdkim.so", *config = NULL;
	int rounds = 21, c;
	char err[512];

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': so = optarg; break;
		case 'c': config = optarg; break;
		case 'r': rounds = atoi(optarg); break;
		default: return 2;
		}
	}
	if (config == NULL || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: fork_bench --config FILE [--so SO] "
		    "[--rounds 1..%d]\n", MAX_ROUNDS);
		return 2;
	}
	snprintf(message, sizeof(message), "From: a@example.com\r\n"
	    "To: b@example.net\r\nSubject: fork bench\r\n"
	    "Message-ID: <fork-bench@example.com>\r\n\r\n");
	while (strlen(message) < 1024)
		strcat(message, "A line of a body of about one kilobyte.\r\n");
	if (bench_abi_load(so, &api, err, sizeof(err)) != 0 ||
	    api->open(config, NULL, &inst, err, sizeof(err)) != 0) {
		fprintf(stderr, "fork_bench: %s\n", err);
		return 2;
	}
	if (sign_one() != 0)
		return 1;
	for (int r = 0; r < rounds; r++) {
		double w[WARM_PER_ROUND], fc1, fc0;
		struct child_times t1, t0;

		for (int i = 0; i < WARM_PER_ROUND; i++) {
			double a = cpu_us();
			if (sign_one() != 0)
				return 1;
			w[i] = cpu_us() - a;
		}
		warm[r] = median(w, WARM_PER_ROUND);
		if (run_child(1, &t1, &fc1) != 0 || run_child(0, &t0, &fc0) != 0) {
			fprintf(stderr, "fork_bench: a child failed\n");
			return 1;
		}
		first[r] = t1.first;
		second[r] = t1.second;
		flt[r] = t1.faults;
		fork1[r] = fc1 + t1.upto_first;
		fork0[r] = fc0 + t0.upto_first;
		r_first[r] = first[r] / warm[r];
		r_second[r] = second[r] / warm[r];
		r_fork1[r] = fork1[r] / warm[r];
		r_extra[r] = (first[r] - second[r]) / warm[r];
	}
	printf("fork bench: RSA-2048, 1 KB messages, %d rounds, CPU time "
	    "(medians)\n", rounds);
	{
		/* The rows: label, the rounds' values, and how to print them. */
		static const struct row {
			const char *label, *fmt;
			double *v;
		} rows[] = {
			{ "warm signature in the host", "%9.1f us", warm },
			{ "child's first signature", "%9.1f us", first },
			{ "  its minor page faults (copy on write)", "%9.0f", flt },
			{ "child's second signature", "%9.1f us", second },
			{ "fork + child up to its first signature", "%9.1f us",
			    fork1 },
			{ "fork + child that signs nothing", "%9.1f us", fork0 },
			{ "ratio child's first / warm", "%9.2f", r_first },
			{ "ratio child's second / warm", "%9.2f", r_second },
			{ "ratio (first - second) / warm: fresh state", "%9.2f",
			    r_extra },
			{ "ratio fork + first signature / warm", "%9.2f",
			    r_fork1 },
		};

		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			printf("  %-46s ", rows[i].label);
			printf(rows[i].fmt, median(rows[i].v, rounds));
			putchar('\n');
		}
	}
	api->close(inst);
	return 0;
}
