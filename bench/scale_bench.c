/*
 * scale_bench.c - an email service provider's config: many domain-keys,
 * many virtual MTAs (issue 13).  Each figure is a ratio against a peer
 * measured in the same run.
 *
 *   scale_bench --so build/vdkim.so --dir EMPTY_DIR [--keys N]
 *               [--distinct D] [--vmtas V] [--messages M]
 *               [--ctl build/vdkimctl]
 *
 * In DIR: D distinct RSA-2048 keys, copied into N key files (file j holds
 * key j % D: keygen for 100,000 keys would take minutes), keys.conf with
 * a domain-key per file (domain dJ.example), one.conf with one of them,
 * vmta.conf with V virtual-mta blocks.  Then, in this order (the load
 * first, so its memory is measured on a fresh heap):
 *   load     vdkim_slot_new(keys.conf): wall time, RSS growth per
 *            domain-key, and OpenSSL's own PEM parse of the same N files
 *            (read + PEM_read_bio_PrivateKey, one thread) divided by the
 *            cores: the ratio load / (that)
 *   reload   unchanged: wall time, keys parsed; then 10 files rewritten
 *            with new keys: keys parsed
 *   parse    keys.conf and vmta.conf into the model (no key loaded)
 *            against reading the file twice (read(2), warm cache), and
 *            against reading it line by line (getline) twice; N/10 and
 *            V/10 too, for the growth
 *   messages 1 KB messages through vdkim.so's hooks with keys.conf
 *            (each message From: another of the N domains) against
 *            one.conf, in alternating rounds: the rate ratio
 *   explain  with --ctl VDKIMCTL: "vdkimctl explain" of one message with
 *            keys.conf against one.conf (it loads only the key the
 *            decision picks): wall and CPU time of each run, best of 3
 * The engine library gives the load and parse internals (the count of
 * keys parsed); messages go through the ABI as a host's do.  Beside wall
 * times, CPU times of this process: on a shared machine they are what a
 * neighbour disturbs least (the parse and message figures use them).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "conf_parse.h"
#include "file_read.h"
#include "policy_keys.h"
#include "policy_model.h"
#include "vdkim/policy.h"
#include "vdkim/vdkim.h"

#include "bench_abi.h"

#define CHANGED 10

static const char *dir;
static long nkeys = 100000, ndistinct = 1000, nvmtas = 10000;
static long nmessages = 2000;
static const char *ctl;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "scale_bench: %s: %s\n", what, why);
	exit(1);
}

/* This process's CPU time (all its threads): the machine the benchmark
 * runs on may be shared, and CPU time is what a busy neighbour disturbs
 * least.  Wall times are printed beside. */
static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident memory of this process, in bytes. */
static double
rss_bytes(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL || fscanf(f, "%ld %ld", &pages, &resident) != 2)
		die("/proc/self/statm", "unreadable");
	fclose(f);
	return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

static void
write_whole(const char *path, const char *data, size_t len, mode_t mode)
{
	char tmp[4096];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) != 0 ||
	    rename(tmp, path) != 0)
		die(path, strerror(errno));
}

static char *
new_pem(void)
{
	vdkim_key *k = NULL;
	vdkim_error err;
	char *pem = NULL;

	if (vdkim_key_generate(VDKIM_KEY_RSA, 2048, &k, &err) != VDKIM_OK ||
	    vdkim_key_private_pem(k, &pem, NULL, &err) != VDKIM_OK)
		die("keygen", err.msg);
	vdkim_key_unref(k);
	return pem;
}

static void
key_path(char *buf, size_t len, long j)
{
	snprintf(buf, len, "%s/keys/f%06ld.pem", dir, j);
}

static void
make_configs(void)
{
	char path[4096], kp[4096];
	double t0 = now_s();
	char **pem = calloc((size_t)ndistinct, sizeof(*pem));
	FILE *c, *one, *v;

	snprintf(path, sizeof(path), "%s/keys", dir);
	if (pem == NULL || mkdir(path, 0700) != 0)
		die(path, strerror(errno));
	for (long i = 0; i < ndistinct; i++)
		pem[i] = new_pem();
	fprintf(stderr, "scale_bench: %ld RSA-2048 keys made in %.1f s\n",
	    ndistinct, now_s() - t0);
	snprintf(path, sizeof(path), "%s/keys.conf", dir);
	c = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/one.conf", dir);
	one = fopen(path, "w");
	if (c == NULL || one == NULL)
		die(path, strerror(errno));
	for (long j = 0; j < nkeys; j++) {
		key_path(kp, sizeof(kp), j);
		write_whole(kp, pem[j % ndistinct], strlen(pem[j % ndistinct]),
		    0600);
		fprintf(c, "domain-key = \"s1,d%06ld.example,%s\"\n", j, kp);
		if (j == 0)
			fprintf(one, "domain-key = \"s1,d%06ld.example,%s\"\n",
			    j, kp);
	}
	fprintf(c, "domain \"*\" {\n\tdkim-sign = yes\n}\n");
	fprintf(one, "domain \"*\" {\n\tdkim-sign = yes\n}\n");
	fclose(c);
	fclose(one);
	snprintf(path, sizeof(path), "%s/vmta.conf", dir);
	if ((v = fopen(path, "w")) == NULL)
		die(path, strerror(errno));
	for (long i = 0; i < nvmtas; i++)
		fprintf(v, "# tenant %ld\nvirtual-mta v%ld {\n\tdomain \"*\" "
		    "{\n\t\tdkim-sign = yes\n\t}\n}\n", i, i);
	fclose(v);
	for (long i = 0; i < ndistinct; i++)
		free(pem[i]);
	free(pem);
}

/* ------------------------------------------------------------ load */

/* OpenSSL alone: every key file read and parsed, one thread. */
static double
openssl_pem_parse(double *cpu)
{
	char kp[4096];
	double t0 = now_s(), c0 = cpu_s();

	for (long j = 0; j < nkeys; j++) {
		BIO *b;
		EVP_PKEY *pk;

		key_path(kp, sizeof(kp), j);
		b = BIO_new_file(kp, "r");
		pk = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
		if (pk == NULL)
			die(kp, "OpenSSL cannot parse it");
		EVP_PKEY_free(pk);
		BIO_free(b);
	}
	*cpu = cpu_s() - c0;
	return now_s() - t0;
}

static void
bench_load(void)
{
	char path[4096], kp[4096];
	vdkim_slot *slot = NULL;
	vdkim_policy *p;
	vdkim_error err;
	double r0, r1, t0, c0, load, load_cpu, peer, peer_cpu, reload;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	size_t files, parsed;

	snprintf(path, sizeof(path), "%s/keys.conf", dir);
	r0 = rss_bytes();
	t0 = now_s();
	c0 = cpu_s();
	if (vdkim_slot_new(path, NULL, &slot, &err) != VDKIM_OK)
		die(path, err.msg);
	load = now_s() - t0;
	load_cpu = cpu_s() - c0;
	r1 = rss_bytes();
	p = vdkim_slot_acquire(slot);
	files = policy_key_files_count(p);
	parsed = policy_keys_parsed(p);
	if (vdkim_policy_warning_count(p) > 0)
		die(path, vdkim_policy_warning(p, 0));
	vdkim_policy_unref(p);
	peer = openssl_pem_parse(&peer_cpu);
	printf("cold load of %ld domain-keys (%ld distinct RSA-2048 keys), "
	    "%ld cores (wall s, CPU s):\n", nkeys, ndistinct, cores);
	printf("  vdkim load (config + %zu files, %zu keys parsed) %8.3f "
	    "%8.3f\n", files, parsed, load, load_cpu);
	printf("  OpenSSL PEM parse of the same files, 1 thread   %8.3f "
	    "%8.3f\n", peer, peer_cpu);
	printf("  ratio load / (OpenSSL / %ld cores), wall         %8.3f "
	    "(goal <= 1.3)\n", cores, load / (peer / (double)cores));
	printf("  ratio of CPU times, load / OpenSSL (ideal cores) %8.3f\n",
	    load_cpu / peer_cpu);
	printf("  memory: RSS growth / domain-key              %8.0f bytes "
	    "(goal <= 6144)\n", (r1 - r0) / (double)nkeys);

	t0 = now_s();
	c0 = cpu_s();
	if (vdkim_slot_reload(slot, &err) != VDKIM_OK)
		die("reload", err.msg);
	reload = now_s() - t0;
	p = vdkim_slot_acquire(slot);
	printf("reload, nothing changed: %.3f s (CPU %.3f s), %zu keys parsed "
	    "(goal < 1 s, 0)\n", reload, cpu_s() - c0,
	    policy_keys_parsed(p));
	vdkim_policy_unref(p);
	for (long i = 0; i < CHANGED; i++) {
		char *pem = new_pem();

		key_path(kp, sizeof(kp), i * (nkeys / CHANGED));
		write_whole(kp, pem, strlen(pem), 0600);
		free(pem);
	}
	t0 = now_s();
	c0 = cpu_s();
	if (vdkim_slot_reload(slot, &err) != VDKIM_OK)
		die("reload", err.msg);
	reload = now_s() - t0;
	p = vdkim_slot_acquire(slot);
	printf("reload, %d key files rewritten with new keys: %.3f s (CPU "
	    "%.3f s), %zu keys parsed (goal %d)\n", CHANGED, reload,
	    cpu_s() - c0, policy_keys_parsed(p), CHANGED);
	vdkim_policy_unref(p);
	vdkim_slot_free(slot);
}

/* ----------------------------------------------------------- parse */

/* The parse figures are CPU times of this one thread (best of 3). */

/* Best of 3: read(2) of the whole file, twice. */
static double
read_twice(const char *path)
{
	double best = 1e9;

	for (int r = 0; r < 3; r++) {
		double t0 = cpu_s();

		for (int k = 0; k < 2; k++) {
			vdkim_file f;
			vdkim_error err;

			if (vdkim_file_read(AT_FDCWD, path, "config", 1 << 30,
			    0, VDKIM_EIO, &f, &err) != VDKIM_OK)
				die(path, err.msg);
			vdkim_file_free(&f);
		}
		if (cpu_s() - t0 < best)
			best = cpu_s() - t0;
	}
	return best;
}

/* Best of 3: getline() over the file, twice. */
static double
getline_twice(const char *path)
{
	double best = 1e9;
	char *line = NULL;
	size_t cap = 0;

	for (int r = 0; r < 3; r++) {
		double t0 = cpu_s();

		for (int k = 0; k < 2; k++) {
			FILE *f = fopen(path, "r");
			size_t n = 0;

			if (f == NULL)
				die(path, strerror(errno));
			while (getline(&line, &cap, f) > 0)
				n++;
			fclose(f);
			if (n == 0)
				die(path, "empty");
		}
		if (cpu_s() - t0 < best)
			best = cpu_s() - t0;
	}
	free(line);
	return best;
}

/* Best of 3: the config into the model, no key loaded. */
static double
parse_only(const char *path)
{
	double best = 1e9;

	for (int r = 0; r < 3; r++) {
		vdkim_policy *p = calloc(1, sizeof(*p));
		vdkim_error err;
		double t0 = cpu_s();

		if (p == NULL || (p->path = strdup(path)) == NULL)
			die(path, "out of memory");
		if (conf_parse_file(path, NULL, p, &err) != VDKIM_OK)
			die(path, err.msg);
		if (cpu_s() - t0 < best)
			best = cpu_s() - t0;
		policy_free(p);
	}
	return best;
}

/* The first `lines` lines of src into dst (a smaller file of the same
 * kind, for the growth). */
static void
head_of(const char *src, const char *dst, long lines)
{
	FILE *in = fopen(src, "r"), *out = fopen(dst, "w");
	char *line = NULL;
	size_t cap = 0;

	if (in == NULL || out == NULL)
		die(dst, strerror(errno));
	while (lines-- > 0 && getline(&line, &cap, in) > 0)
		fputs(line, out);
	fclose(in);
	fclose(out);
	free(line);
}

static void
bench_parse_one(const char *what, const char *name, long count,
    long lines_per)
{
	char path[4096], small[4096];
	double parse, rd, gl, parse_s;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(small, sizeof(small), "%s/small-%s", dir, name);
	head_of(path, small, count / 10 * lines_per);
	parse = parse_only(path);
	rd = read_twice(path);
	gl = getline_twice(path);
	parse_s = parse_only(small);
	printf("parse %ld %s: %.3f s; ratio / read(2) twice %.1f, / getline "
	    "twice %.2f; %ld vs %ld: time x %.1f (linear: 10)\n", count, what,
	    parse, parse / rd, parse / gl, count, count / 10,
	    parse / parse_s);
}

static void
bench_parse(void)
{
	/* The key config ends with a 3-line domain block: for the small
	 * one, a tenth of the domain-keys (its keys are not loaded). */
	bench_parse_one("domain-key lines", "keys.conf", nkeys, 1);
	bench_parse_one("virtual-mta blocks", "vmta.conf", nvmtas, 6);
}

/* -------------------------------------------------------- messages */

static const vdkim_api *api;

static int
sign_one(vdkim_instance *inst, const char *msg, size_t len)
{
	char err[256];

	if (bench_abi_sign(api, inst, "SCALEBENCH", msg, len, err,
	    sizeof(err)) != 0)
		die("message", err);
	return 0;
}

/* One round of n messages, each From: a random one of the keys' domains:
 * messages per CPU second (the module signs in this thread). */
static double
round_rate(vdkim_instance *inst, long n, long keys, unsigned *seed)
{
	char msg[2048];
	double t0 = cpu_s();

	for (long i = 0; i < n; i++) {
		long d = keys > 1 ? (long)(rand_r(seed) % (unsigned)keys) : 0;
		int len = snprintf(msg, sizeof(msg), "From: user@d%06ld.example"
		    "\r\nTo: b@example.net\r\nSubject: scale %ld\r\n"
		    "Message-ID: <%ld@scale>\r\n\r\n", d, i, i);

		while (len < 1024)
			len += snprintf(msg + len, sizeof(msg) - (size_t)len,
			    "A line of a body of about one kilobyte.\r\n");
		sign_one(inst, msg, (size_t)len);
	}
	return (double)n / (cpu_s() - t0);
}

/* One message From: domain dJ.example. */
static void
warm_one(vdkim_instance *inst, long j)
{
	char msg[256];
	int len = snprintf(msg, sizeof(msg), "From: user@d%06ld.example\r\n"
	    "To: b@example.net\r\nSubject: warm\r\n\r\nwarm\r\n", j);

	sign_one(inst, msg, (size_t)len);
}

static void
bench_messages(const char *so)
{
	char one[4096], many[4096], err[512];
	vdkim_instance *i1 = NULL, *in = NULL;
	double n1 = 0, nn = 0, t1 = 0, tn = 0;
	unsigned seed = 13;
	const int rounds = 6;

	snprintf(one, sizeof(one), "%s/one.conf", dir);
	snprintf(many, sizeof(many), "%s/keys.conf", dir);
	if (bench_abi_load(so, &api, err, sizeof(err)) != 0 ||
	    api->open(one, NULL, &i1, err, sizeof(err)) != 0 ||
	    api->open(many, NULL, &in, err, sizeof(err)) != 0)
		die("open", err);
	/* Each key's first signature in a process sets up its signing state
	 * (key_proc.h): once per distinct key, not per message.  Every
	 * distinct key signs once before the rounds (files j < D hold them
	 * all, and the reload's 10 new keys are at j = i * N / 10). */
	{
		double c0 = cpu_s();

		round_rate(i1, 20, 1, &seed);
		for (long j = 0; j < ndistinct; j++)
			warm_one(in, j);
		for (long i = 0; i < CHANGED; i++)
			warm_one(in, i * (nkeys / CHANGED));
		printf("messages: first signature with each of the %ld keys: "
		    "%.3f CPU s\n", ndistinct + CHANGED, cpu_s() - c0);
	}
	for (int r = 0; r < rounds; r++) {
		long n = nmessages / rounds;
		double a = round_rate(i1, n, 1, &seed);
		double b = round_rate(in, n, nkeys, &seed);

		n1 += (double)n;
		t1 += (double)n / a;
		nn += (double)n;
		tn += (double)n / b;
	}
	printf("messages (1 KB, RSA-2048, through vdkim.so, per CPU s): 1 key "
	    "%.0f/s, %ld keys %.0f/s: ratio %.3f (goal >= 0.95)\n", n1 / t1,
	    nkeys,
	    nn / tn, (nn / tn) / (n1 / t1));
	api->close(i1);
	api->close(in);
}

/* ------------------------------------------------------- explain */

/* CPU time of the children waited for so far. */
static double
children_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Best of 3: "vdkimctl explain --config conf" of msg (wall s, *cpu). */
static double
explain_once(const char *conf, const char *msg, double *cpu)
{
	double best = 1e9;

	*cpu = 1e9;
	for (int r = 0; r < 3; r++) {
		double t0 = now_s(), c0 = children_cpu_s();
		int status;
		pid_t pid = fork();

		if (pid < 0)
			die("fork", strerror(errno));
		if (pid == 0) {
			int in = open(msg, O_RDONLY), out = open("/dev/null",
			    O_WRONLY);

			if (in < 0 || out < 0 || dup2(in, 0) < 0 ||
			    dup2(out, 1) < 0)
				_exit(127);
			execl(ctl, ctl, "explain", "--config", conf, "--vmta",
			    "v", (char *)NULL);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) == 127)
			die(ctl, "explain did not run");
		/* explain's own statuses say the verdict: the sign one. */
		if (WEXITSTATUS(status) != 0)
			die(conf, "explain: not the verdict sign");
		if (now_s() - t0 < best)
			best = now_s() - t0;
		if (children_cpu_s() - c0 < *cpu)
			*cpu = children_cpu_s() - c0;
	}
	return best;
}

static void
bench_explain(void)
{
	char many[4096], one[4096], msg[4096];
	double wn, cn, w1, c1;
	FILE *f;

	snprintf(many, sizeof(many), "%s/keys.conf", dir);
	snprintf(one, sizeof(one), "%s/one.conf", dir);
	snprintf(msg, sizeof(msg), "%s/explain.eml", dir);
	if ((f = fopen(msg, "w")) == NULL)
		die(msg, strerror(errno));
	/* A domain near the end of the file, and not a rewritten one. */
	fprintf(f, "From: user@d%06ld.example\r\nTo: b@example.net\r\n"
	    "Subject: explain\r\n\r\nexplain\r\n", nkeys - 1);
	fclose(f);
	wn = explain_once(many, msg, &cn);
	if ((f = fopen(msg, "w")) == NULL)
		die(msg, strerror(errno));
	fprintf(f, "From: user@d000000.example\r\nTo: b@example.net\r\n"
	    "Subject: explain\r\n\r\nexplain\r\n");
	fclose(f);
	w1 = explain_once(one, msg, &c1);
	printf("vdkimctl explain of one message, %ld domain-keys: %.3f s "
	    "(CPU %.3f s); 1 domain-key: %.3f s (CPU %.3f s); ratio of CPU "
	    "%.1f (goal: interactive, < 0.5 s)\n", nkeys, wn, cn, w1, c1,
	    cn / c1);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "so", required_argument, NULL, 's' },
		{ "dir", required_argument, NULL, 'd' },
		{ "keys", required_argument, NULL, 'k' },
		{ "distinct", required_argument, NULL, 'D' },
		{ "vmtas", required_argument, NULL, 'v' },
		{ "messages", required_argument, NULL, 'm' },
		{ "ctl", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	const char *so = "build/vdkim.so";
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': so = optarg; break;
		case 'd': dir = optarg; break;
		case 'k': nkeys = atol(optarg); break;
		case 'D': ndistinct = atol(optarg); break;
		case 'v': nvmtas = atol(optarg); break;
		case 'm': nmessages = atol(optarg); break;
		case 'c': ctl = optarg; break;
		default: return 2;
		}
	}
	if (dir == NULL || nkeys < CHANGED || ndistinct < 1 ||
	    ndistinct > nkeys || nvmtas < 10 || nmessages < 6) {
		fprintf(stderr, "usage: scale_bench --dir EMPTY_DIR [--so SO] "
		    "[--keys N>=10] [--distinct D<=N] [--vmtas V>=10] "
		    "[--messages M>=6] [--ctl VDKIMCTL]\n");
		return 2;
	}
	make_configs();
	bench_load();
	bench_parse();
	bench_messages(so);
	if (ctl != NULL)
		bench_explain();
	return 0;
}
