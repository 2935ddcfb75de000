/*
 * abi_body_bench.c - relaxed body hashing through the public ABI, against
 * OpenSSL's SHA-256 of the same bytes.
 *
 *   abi_body_bench --so build/vdkim.so --config FILE [--mb N] [--rounds N]
 *                  [--body plain|stop-heavy]   (default: both)
 *
 * A host as an MTA is one: it dlopens vdkim.so, opens the config (one
 * Ed25519 key, relaxed/relaxed: the signature itself costs next to
 * nothing) and runs messages of N MB (default 256) through msg_begin,
 * msg_chunk in 64 KB chunks, msg_end.  Each round times one such message
 * and, right after it, EVP_DigestUpdate of SHA-256 over the same bytes in
 * the same 64 KB chunks; the ratio of the two rates is computed per round
 * and the median of the rounds is printed, so that a round's load hits
 * both sides alike.  Times are the thread's CPU time: on a machine shared
 * with other work, wall time would measure the neighbours.  Two bodies:
 *   plain       text lines of words with single spaces, a blank line
 *               between paragraphs;
 *   stop-heavy  60 % of the lines need the relaxed canonicalization,
 *               each one of four ways: a double space, a tab, trailing
 *               SP/HTAB, blank lines after it.
 * The body is a 16 MB pattern sent again and again (memory stays small),
 * each chunk copied into a 64 KB buffer first, as a host reads it (the
 * copy is not timed); the rates count every byte of the body.  Exits 1 when a message could
 * not be signed.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "bench_abi.h"

#define CHUNK (64 * 1024)
#define PATTERN (16 * 1024 * 1024)
#define MAX_ROUNDS 51

static const vdkim_api *api;
static vdkim_instance *inst;

static const char HEADER[] =
    "From: \"Alice Example\" <alice@example.com>\r\n"
    "To: \"Bob Example\" <bob@example.net>\r\n"
    "Subject: a long body\r\n"
    "Date: Tue, 14 May 2024 09:30:00 +0000\r\n"
    "Message-ID: <abi-body-bench@example.com>\r\n"
    "\r\n";

static const char *const WORDS[] = {
	"the", "of", "and", "to", "in", "is", "you", "that", "it", "he",
	"was", "for", "on", "are", "as", "with", "his", "they", "at", "be",
	"this", "have", "from", "or", "one", "had", "by", "word", "but",
	"report", "quarterly", "meeting", "schedule", "attached", "please",
	"review", "budget", "customer", "invoice", "shipment", "tomorrow",
	"regards", "thanks", "infrastructure", "performance", "signature",
};
#define NWORDS (sizeof(WORDS) / sizeof(WORDS[0]))

static uint64_t
rng_next(uint64_t *s)
{
	/* splitmix64: the same text on every run */
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* One line of words, one SP between them, "." ending some sentences. */
static size_t
make_line(char *line, size_t cap, uint64_t *rng)
{
	size_t ll = 0, want = 50 + rng_next(rng) % 29;

	while (ll < want) {
		const char *w = WORDS[rng_next(rng) % NWORDS];
		size_t wl = strlen(w);
		uint64_t r = rng_next(rng);

		if (ll + wl + 4 > cap - 16)
			break;
		if (ll > 0)
			line[ll++] = ' ';
		memcpy(line + ll, w, wl);
		ll += wl;
		if (r % 9 == 0)
			line[ll++] = '.';
	}
	return ll;
}

/* Makes line[0..ll) need the relaxed canonicalization, one of four ways:
 * a double space, a tab for a space, 1 to 3 trailing SP/HTAB, or (kind 3,
 * done by the caller) blank lines after it. */
static size_t
rewrite_line(char *line, size_t ll, uint64_t r, int kind)
{
	char *sp = memchr(line + ll / 2, ' ', ll - ll / 2);

	if (sp == NULL)
		sp = memchr(line, ' ', ll);
	if (kind == 0 && sp != NULL) {
		memmove(sp + 1, sp, (size_t)(line + ll - sp));
		return ll + 1;
	}
	if (kind == 1 && sp != NULL) {
		*sp = '\t';
		return ll;
	}
	for (uint64_t k = 0; k <= (r >> 8) % 3; k++)
		line[ll++] = (r >> (16 + k)) & 1 ? '\t' : ' ';
	return ll;
}

/*
 * The 16 MB pattern.  plain: what most text is, already canonical but for
 * a blank line between paragraphs (after 1 line in 8).
 * stop-heavy: 60 % of the lines need the relaxed canonicalization, each
 * in one of rewrite_line()'s four ways.
 */
static char *
make_pattern(int stop_heavy, size_t *len)
{
	uint64_t rng = stop_heavy ? 0x5EEDULL : 0x9E3779B97F4A7C15ULL;
	char *b = malloc(PATTERN);
	size_t n = 0;

	if (b == NULL)
		return NULL;
	for (;;) {
		char line[160];
		size_t ll = make_line(line, sizeof(line), &rng);
		uint64_t r = rng_next(&rng);
		int kind = -1, blanks = 0;

		if (stop_heavy && r % 100 < 68)
			kind = (int)((r >> 32) % 4);
		if (kind >= 0 && kind < 3)
			ll = rewrite_line(line, ll, r, kind);
		line[ll++] = '\r';
		line[ll++] = '\n';
		if (kind == 3)
			blanks = 1 + (int)((r >> 40) % 2);
		else if (!stop_heavy && (r >> 8) % 8 == 0)
			blanks = 1;
		for (; blanks > 0; blanks--) {
			line[ll++] = '\r';
			line[ll++] = '\n';
		}
		if (n + ll > PATTERN)
			break;
		memcpy(b + n, line, ll);
		n += ll;
	}
	*len = n;
	return b;
}

/* Per 100 lines of the pattern: how many the relaxed canonicalization
 * changes or must hold (WSP runs, tabs, trailing WSP, blank lines). */
static double
rewritten_share(const char *b, size_t n)
{
	size_t lines = 0, marked = 0, start = 0;

	for (size_t i = 0; i < n; i++) {
		if (b[i] != '\n')
			continue;
		const char *l = b + start;
		size_t ll = i - start; /* CR included */
		int mark = ll <= 1 || memchr(l, '\t', ll) != NULL ||
		    memmem(l, ll, "  ", 2) != NULL || (ll >= 2 &&
		    (l[ll - 2] == ' ' || l[ll - 2] == '\t'));

		/* a blank line marks the line it follows */
		if (ll <= 1 && lines > 0 && mark)
			mark = 0;
		if (i + 2 < n && b[i + 1] == '\r' && b[i + 2] == '\n')
			mark = 1;
		lines++;
		marked += mark != 0;
		start = i + 1;
	}
	return lines ? 100.0 * (double)marked / (double)lines : 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Calls fn on total bytes of the pattern, CHUNK at a time, as a host
 * does: each chunk is first read into the host's buffer (a copy here, a
 * read() from the spool or the socket in an MTA) and handed over from
 * there.  Returns the CPU seconds spent in fn alone, or -1.
 */
typedef int (*chunk_fn)(void *ctx, const char *p, size_t n);

static double
feed(const char *pat, size_t plen, size_t total, chunk_fn fn, void *ctx)
{
	static char buf[CHUNK];
	size_t off = 0;
	double t = 0;

	while (total > 0) {
		size_t n = total < CHUNK ? total : CHUNK;
		double t0;

		if (n > plen - off)
			n = plen - off;
		memcpy(buf, pat + off, n);
		t0 = now_s();
		if (fn(ctx, buf, n) != 0)
			return -1;
		t += now_s() - t0;
		total -= n;
		off = off + n == plen ? 0 : off + n;
	}
	return t;
}

static int
vd_chunk(void *ctx, const char *p, size_t n)
{
	return api->msg_chunk(ctx, p, n);
}

static int
sha_chunk(void *ctx, const char *p, size_t n)
{
	return EVP_DigestUpdate(ctx, p, n) == 1 ? 0 : -1;
}

/* One message through the module; seconds, or -1. */
static double
vd_message(const char *pat, size_t plen, size_t total)
{
	vdkim_msg_info info;
	vdkim_hook_result res;
	vdkim_msg *m = NULL;
	char err[256];
	double t0 = now_s(), t, tc;
	int rc;

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.rcpt_domain = "example.net";
	info.queue_id = "ABIBODYBENCH";
	if (api->msg_begin(inst, VDKIM_HOOK_PRE_DELIVERY, &info, &m, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "abi_body_bench: %s\n", err);
		return -1;
	}
	memset(&res, 0, sizeof(res));
	res.size = sizeof(res);
	rc = api->msg_chunk(m, HEADER, sizeof(HEADER) - 1);
	t = now_s() - t0;
	tc = rc == 0 ? feed(pat, plen, total, vd_chunk, m) : -1;
	t0 = now_s();
	rc = tc < 0 || api->msg_end(m, &res) != 0 || res.nsigned != 1 ?
	    -1 : 0;
	t += tc + now_s() - t0;
	if (rc != 0)
		fprintf(stderr, "abi_body_bench: not signed: %s\n",
		    res.reason ? res.reason : "msg_chunk or msg_end failed");
	api->msg_free(m);
	return rc == 0 ? t : -1;
}

/* SHA-256 of the same bytes (header included); seconds, or -1. */
static double
sha_message(const char *pat, size_t plen, size_t total)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dl;
	double t0 = now_s(), t, tc = -1;
	int rc;

	rc = md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, HEADER, sizeof(HEADER) - 1) != 1;
	t = now_s() - t0;
	if (rc == 0)
		tc = feed(pat, plen, total, sha_chunk, md);
	t0 = now_s();
	rc = tc < 0 || EVP_DigestFinal_ex(md, d, &dl) != 1 ? -1 : 0;
	t += tc + now_s() - t0;
	EVP_MD_CTX_free(md);
	return rc == 0 ? t : -1;
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

/* Rounds of one body; prints its line.  0, or -1. */
static int
run_body(const char *name, int stop_heavy, size_t total, int rounds,
    double target)
{
	size_t plen;
	char *pat = make_pattern(stop_heavy, &plen);
	double ratio[MAX_ROUNDS], vd[MAX_ROUNDS], sha[MAX_ROUNDS], share;

	if (pat == NULL) {
		fprintf(stderr, "abi_body_bench: out of memory\n");
		return -1;
	}
	share = rewritten_share(pat, plen);
	/* A warm-up message: page faults, the key's first use. */
	if (vd_message(pat, plen, 4 * CHUNK) < 0) {
		free(pat);
		return -1;
	}
	for (int r = 0; r < rounds; r++) {
		double tv = vd_message(pat, plen, total);
		double ts = sha_message(pat, plen, total);

		if (tv <= 0 || ts <= 0) {
			free(pat);
			return -1;
		}
		ratio[r] = ts / tv;
		vd[r] = (double)total / tv / 1e9;
		sha[r] = (double)total / ts / 1e9;
	}
	free(pat);
	printf("  %-11s  %3.0f %% of lines rewritten  vdkim %5.2f GB/s  "
	    "SHA-256 %5.2f GB/s  ratio %5.2f (target >= %.2f: %s)\n", name,
	    share, median(vd, rounds),
	    median(sha, rounds), median(ratio, rounds), target,
	    median(ratio, rounds) >= target ? "met" : "NOT met");
	return 0;
}

static int
open_module(const char *so, const char *config)
{
	char why[512] = "";

	if (bench_abi_load(so, &api, why, sizeof(why)) != 0 ||
	    api->open(config, NULL, &inst, why, sizeof(why)) != 0) {
		fprintf(stderr, "abi_body_bench: %s\n", why);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "so", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "mb", required_argument, NULL, 'm' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "body", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 }
	};
	const char *so = NULL, *config = NULL, *body = "";
	long mb = 256, rounds = 5;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's': so = optarg; break;
		case 'c': config = optarg; break;
		case 'm': mb = strtol(optarg, NULL, 10); break;
		case 'r': rounds = strtol(optarg, NULL, 10); break;
		case 'b': body = optarg; break;
		default: so = NULL; break;
		}
	}
	if (so == NULL || config == NULL || mb < 1 || mb > 4096 ||
	    rounds < 1 || rounds > MAX_ROUNDS || (body[0] != '\0' &&
	    strcmp(body, "plain") != 0 && strcmp(body, "stop-heavy") != 0)) {
		fprintf(stderr, "usage: abi_body_bench --so vdkim.so --config "
		    "FILE [--mb 1..4096] [--rounds 1..%d] [--body plain|stop-heavy]\n",
		    MAX_ROUNDS);
		return 2;
	}
	if (open_module(so, config) != 0)
		return 1;
	printf("Relaxed body through vdkim.so (msg_chunk, 64 KB chunks, "
	    "%ld MB per message)\nagainst OpenSSL SHA-256 of the same bytes, "
	    "median of %ld rounds:\n", mb, rounds);
	rc = (strcmp(body, "stop-heavy") != 0 && run_body("plain", 0,
	    (size_t)mb << 20, (int)rounds, 0.85) != 0) ||
	    (strcmp(body, "plain") != 0 && run_body("stop-heavy", 1,
	    (size_t)mb << 20, (int)rounds, 0.70) != 0);
	api->close(inst);
	return rc ? 1 : 0;
}
