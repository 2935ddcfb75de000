/*
 * bench_engine.c - how fast vdkim signs, measured against two yardsticks:
 * the raw OpenSSL primitive (a floor no DKIM signer can beat, since every
 * message costs at least one private-key operation) and libopendkim (what
 * MTAs use today).
 *
 * One run measures, each for a fixed time:
 *   1. OpenSSL RSA-2048 signatures/s (EVP_PKEY_sign, reused context);
 *   2. vdkim RSA-2048 relaxed/relaxed messages/s, 1 KB .. 10 MB;
 *   3. libopendkim messages/s for the same messages and key;
 *   4. body canonicalization + SHA-256 throughput, vdkim and libopendkim,
 *      against plain SHA-256;
 *   5. Ed25519: OpenSSL signatures/s against vdkim messages/s;
 *   6. vdkim with two threads sharing one key against one thread.
 * and ends with a summary of the ratios and their targets.  Rows that are
 * compared are measured interleaved (see run_rows()).  It is a
 * benchmark, not a test: it exits 0 whatever the numbers, and 1 only when
 * something could not run, or when vdkim and libopendkim disagree on a body
 * hash (then the two did not do the same work and the ratios mean nothing).
 *
 * Single-thread parts run pinned to one CPU so the scheduler cannot move
 * them mid-measurement; the two-thread part pins one thread per CPU.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h> /* opendkim/dkim.h uses bool without including it */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

/* By full path: "dkim.h" alone could resolve to a header of ours. */
#include <opendkim/dkim.h>

#include "body_canon.h"
#include "vdkim/dkim.h"

#define KB 1024u
#define MB (1024u * 1024u)
#define CHUNK (64u * KB)          /* body chunk size, as an MTA reads it */
#define CANON_BODY_BYTES (64u * MB)
#define SIG_MAX 4096              /* room for one DKIM-Signature field */

static const char *const SELECTOR = "bench";
static const char *const DOMAIN = "example.com";

/* ------------------------------------------------------------ reporting */

static int failures; /* things that could not run; makes the exit status 1 */

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	/* Whatever OpenSSL queued explains the failure; print it once here
	 * so callers need not. */
	ERR_print_errors_fp(stderr);
}

/* --------------------------------------------------------------- timing */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * What one call of a measured operation did: how many units of work
 * (messages, signatures or bytes; preset to 1) and, for an operation that
 * times only part of itself (libopendkim's dkim_body calls), the seconds of
 * that part.  timed < 0 (the preset) counts the whole call.
 */
typedef struct op_cost {
	double units;
	double timed;
} op_cost;

typedef int (*bench_op)(void *arg, op_cost *cost);

typedef struct bench_rate {
	double per_s;     /* units per counted second */
	uint64_t calls;
	double seconds;   /* counted time */
} bench_rate;

/*
 * The one timing loop behind every number: calls op until budget seconds
 * of wall time have passed (at least once) and divides the work done by
 * the time counted.  With warm, one call first runs outside the clock:
 * first-touch page faults, lazy library set-up (OpenSSL's algorithm
 * fetches) and cold caches would otherwise weigh on short measurements.
 * Returns 0, or -1 when op failed.
 */
static int measure(bench_op op, void *arg, double budget, int warm,
    bench_rate *out)
{
	double units = 0, counted = 0, start, prev, t;
	uint64_t calls = 0;
	op_cost c = { 1, -1 };

	if (warm && op(arg, &c) != 0)
		return -1;
	start = prev = now_s();
	do {
		c = (op_cost){ 1, -1 };
		if (op(arg, &c) != 0)
			return -1;
		t = now_s();
		counted += c.timed < 0 ? t - prev : c.timed;
		units += c.units;
		calls++;
		prev = t;
	} while (t - start < budget);
	out->calls = calls;
	out->seconds = counted;
	out->per_s = counted > 0 ? units / counted : 0;
	return 0;
}

/* One thread of run_parallel(). */
typedef struct thread_slot {
	bench_op op;
	void *arg;
	int cpu;
	double budget;
	pthread_barrier_t *go;
	bench_rate r;
	int rc;
} thread_slot;

static void *thread_main(void *p)
{
	thread_slot *s = p;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(s->cpu, &set);
	s->rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	if (s->rc != 0)
		fail("cannot pin a thread to CPU %d: %s", s->cpu,
		    strerror(s->rc));
	/* Everyone starts together so the measurements overlap.  Each
	 * thread is new, so each warms up (thread-local state). */
	pthread_barrier_wait(s->go);
	if (s->rc == 0)
		s->rc = measure(s->op, s->arg, s->budget, 1, &s->r);
	return NULL;
}

/*
 * Runs op in n threads at once, thread i pinned to cpus[i] with argument
 * args[i], and sums their rates: the throughput of the whole.
 */
static int run_parallel(int n, bench_op op, void *const *args,
    const int *cpus, double budget, bench_rate *total)
{
	thread_slot slot[2];
	pthread_t tid[2];
	pthread_barrier_t go;
	int i, started = 0, rc = 0;

	if (n < 1 || n > 2)
		return -1;
	if (pthread_barrier_init(&go, NULL, (unsigned)n) != 0)
		return -1;
	memset(total, 0, sizeof *total);
	for (i = 0; i < n; i++) {
		slot[i] = (thread_slot){ .op = op, .arg = args[i],
		    .cpu = cpus[i], .budget = budget, .go = &go };
		if (pthread_create(&tid[i], NULL, thread_main, &slot[i]) != 0)
			break;
		started++;
	}
	if (started < n) {
		/* The started threads wait at the barrier for good; nothing
		 * sensible is left to do in a benchmark but give up. */
		fail("cannot start %d threads", n);
		exit(1);
	}
	for (i = 0; i < n; i++) {
		pthread_join(tid[i], NULL);
		if (slot[i].rc != 0)
			rc = -1;
		total->per_s += slot[i].r.per_s;
		total->calls += slot[i].r.calls;
		if (slot[i].r.seconds > total->seconds)
			total->seconds = slot[i].r.seconds;
	}
	pthread_barrier_destroy(&go);
	return rc;
}

/* Pins the calling thread to one CPU. */
static void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0)
		fail("cannot pin to CPU %d: %s (numbers may be noisy)", cpu,
		    strerror(errno));
}

/* ------------------------------------------------------------- messages */

/* xorshift64*: deterministic, so every run and every library sees the
 * same bytes. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static const char *const WORDS[] = {
	"the", "of", "and", "to", "in", "a", "is", "that", "for", "it",
	"as", "was", "with", "be", "by", "on", "not", "he", "this", "are",
	"or", "his", "from", "at", "which", "but", "have", "an", "had",
	"they", "you", "were", "their", "one", "all", "we", "can", "her",
	"has", "there", "been", "if", "more", "when", "will", "would",
	"who", "so", "no", "message", "delivery", "report", "quarterly",
	"meeting", "schedule", "attached", "please", "review", "budget",
	"customer", "invoice", "shipment", "tomorrow", "regards", "thanks",
	"infrastructure", "performance", "signature", "October", "Monday",
};
#define NWORDS (sizeof WORDS / sizeof WORDS[0])

/*
 * A text body of about size bytes (never more): CRLF lines of about 70
 * characters (50 to about 95), a blank line between paragraphs, two spaces
 * after some sentences and a trailing space on some lines, so that relaxed
 * canonicalization has real work and the simple/relaxed difference shows.
 */
static char *make_body(size_t size, size_t *len)
{
	uint64_t rng = 0x9E3779B97F4A7C15ULL;
	char *b = malloc(size + 1);
	size_t n = 0;

	if (b == NULL)
		return NULL;
	for (;;) {
		char line[128];
		size_t ll = 0, want = 50 + rng_next(&rng) % 29;

		while (ll < want) {
			const char *w = WORDS[rng_next(&rng) % NWORDS];
			size_t wl = strlen(w);
			uint64_t r = rng_next(&rng);

			if (ll + wl + 3 > sizeof line - 4)
				break;
			if (ll > 0)
				line[ll++] = ' ';
			memcpy(line + ll, w, wl);
			ll += wl;
			if (r % 9 == 0) { /* end of a sentence */
				line[ll++] = '.';
				if (r % 4 == 0) /* some typists' two spaces */
					line[ll++] = ' ';
			}
		}
		if (rng_next(&rng) % 16 == 0)
			line[ll++] = ' ';
		line[ll++] = '\r';
		line[ll++] = '\n';
		if (rng_next(&rng) % 8 == 0) {
			line[ll++] = '\r';
			line[ll++] = '\n';
		}
		if (n + ll > size)
			break;
		memcpy(b + n, line, ll);
		n += ll;
	}
	b[n] = '\0';
	*len = n;
	return b;
}

/*
 * Prints what the relaxed canonicalizer has to rewrite in body, so a
 * reader can judge how typical the text is.
 */
static void print_body_stats(const char *body, size_t len)
{
	size_t i, lines = 0, blank = 0, dbl = 0, trailing = 0;

	for (i = 0; i < len; i++) {
		if (body[i] == '\n') {
			lines++;
			if (i >= 2 && body[i - 2] == '\n')
				blank++;
			if (i >= 2 && body[i - 2] == ' ')
				trailing++;
		} else if (body[i] == ' ' && i > 0 && body[i - 1] == ' ') {
			dbl++;
		}
	}
	printf("  body text: %zu lines of %.1f bytes on average (CRLF "
	    "included); per 100 lines:\n  %.1f blank, %.1f with a trailing "
	    "space, %.1f double spaces\n", lines,
	    lines ? (double)len / (double)lines : 0.0,
	    lines ? 100.0 * (double)blank / (double)lines : 0.0,
	    lines ? 100.0 * (double)trailing / (double)lines : 0.0,
	    lines ? 100.0 * (double)dbl / (double)lines : 0.0);
}

/* Typical header fields, each with its line end (vdkim takes it; the
 * libopendkim calls strip it, as its API wants). */
static const char *const HEADERS[] = {
	"From: \"Alice Example\" <alice@example.com>\r\n",
	"To: \"Bob Example\" <bob@example.net>\r\n",
	"Subject: Quarterly report and notes from Tuesday's meeting\r\n",
	"Date: Tue, 14 May 2024 09:30:00 +0000\r\n",
	"Message-ID: <20240514093000.4242@mail.example.com>\r\n",
	"MIME-Version: 1.0\r\n",
	"Content-Type: text/plain; charset=\"utf-8\"\r\n",
};
#define NHEADERS (sizeof HEADERS / sizeof HEADERS[0])

typedef struct message {
	const char *label;
	const char *body; /* a prefix of the shared corpus */
	size_t body_len;
	size_t total;     /* headers + blank line + body */
} message;

static size_t headers_len(void)
{
	size_t i, n = 2; /* the blank line */

	for (i = 0; i < NHEADERS; i++)
		n += strlen(HEADERS[i]);
	return n;
}

/* A message of at most size bytes whose body is the corpus cut at a line
 * end: every size shares one generated text. */
static message make_message(const char *label, size_t size,
    const char *corpus, size_t corpus_len)
{
	message m = { label, corpus, 0, 0 };
	size_t n = size - headers_len();

	if (n >= corpus_len) {
		n = corpus_len;
	} else {
		while (n > 0 && corpus[n - 1] != '\n')
			n--;
	}
	m.body_len = n;
	m.total = headers_len() + n;
	return m;
}

/*
 * Feeds data to fn in CHUNK-byte pieces: the one body loop for vdkim's
 * signer, its canonicalizer and libopendkim.  Returns 0 or fn's failure.
 */
static int feed(const char *data, size_t len,
    int (*fn)(void *ctx, const char *p, size_t n), void *ctx)
{
	while (len > 0) {
		size_t n = len < CHUNK ? len : CHUNK;
		int rc = fn(ctx, data, n);

		if (rc != 0)
			return rc;
		data += n;
		len -= n;
	}
	return 0;
}

/*
 * Copies the bh= value of a DKIM-Signature field into out, folding
 * whitespace removed, so two signers' body hashes can be compared.
 */
static void body_hash_of(const char *sig, char *out, size_t outsz)
{
	const char *p = strstr(sig, "bh=");
	size_t n = 0;

	if (p != NULL) {
		for (p += 3; *p != '\0' && *p != ';' && n + 1 < outsz; p++) {
			if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
				out[n++] = *p;
		}
	}
	out[n] = '\0';
}

/* --------------------------------------------------------- raw OpenSSL */

typedef struct pkey_job {
	EVP_PKEY_CTX *rsa;   /* RSA: EVP_PKEY_sign, PKCS#1 v1.5, SHA-256 */
	EVP_MD_CTX *ed;      /* Ed25519: EVP_DigestSign, no digest */
	unsigned char digest[32];
	unsigned char sig[512];
} pkey_job;

/*
 * The context is set up once and reused, as "openssl speed" does: what is
 * left per call is the private-key operation itself.  (OpenSSL 3.0 lets
 * EVP_DigestSign() run again on the same Ed25519 context; should a later
 * version refuse, the row reports FAILED rather than a wrong number.)
 */
static int pkey_job_init(pkey_job *j, EVP_PKEY *key)
{
	memset(j, 0, sizeof *j);
	/* DKIM signs a SHA-256 digest; any fixed 32 bytes cost the same. */
	memset(j->digest, 0x5a, sizeof j->digest);
	if (EVP_PKEY_is_a(key, "ED25519")) {
		j->ed = EVP_MD_CTX_new();
		if (j->ed == NULL ||
		    EVP_DigestSignInit(j->ed, NULL, NULL, NULL, key) != 1)
			goto fail;
		return 0;
	}
	j->rsa = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	if (j->rsa == NULL || EVP_PKEY_sign_init(j->rsa) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(j->rsa, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(j->rsa, EVP_sha256()) != 1)
		goto fail;
	return 0;
fail:
	fail("cannot set up an OpenSSL signing context");
	EVP_PKEY_CTX_free(j->rsa);
	EVP_MD_CTX_free(j->ed);
	memset(j, 0, sizeof *j);
	return -1;
}

static void pkey_job_cleanup(pkey_job *j)
{
	EVP_PKEY_CTX_free(j->rsa);
	EVP_MD_CTX_free(j->ed);
}

static int op_pkey_sign(void *arg, op_cost *cost)
{
	pkey_job *j = arg;
	size_t len = sizeof j->sig;
	int ok;

	(void)cost;
	if (j->rsa != NULL)
		ok = EVP_PKEY_sign(j->rsa, j->sig, &len, j->digest,
		    sizeof j->digest);
	else
		ok = EVP_DigestSign(j->ed, j->sig, &len, j->digest,
		    sizeof j->digest);
	if (ok != 1) {
		fail("OpenSSL signing failed");
		return -1;
	}
	return 0;
}

/* Plain SHA-256 over the same bytes the canonicalizers get. */
typedef struct bytes_job {
	const char *data;
	size_t len;
} bytes_job;

static int op_sha256(void *arg, op_cost *cost)
{
	bytes_job *j = arg;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen;

	if (EVP_Digest(j->data, j->len, md, &mdlen, EVP_sha256(), NULL) != 1) {
		fail("EVP_Digest failed");
		return -1;
	}
	cost->units = (double)j->len;
	return 0;
}

/* Generates a key and writes it as PKCS#8 PEM (NUL-terminated, for
 * libopendkim and vdkim_key_load_mem). */
static EVP_PKEY *make_key(const char *type, char **pem)
{
	EVP_PKEY *key;
	BIO *bio = NULL;
	char *data;
	long len;

	*pem = NULL;
	if (strcmp(type, "RSA") == 0)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else
		key = EVP_PKEY_Q_keygen(NULL, NULL, type);
	if (key == NULL)
		goto fail;
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0,
	    NULL, NULL) != 1)
		goto fail;
	len = BIO_get_mem_data(bio, &data);
	*pem = malloc((size_t)len + 1);
	if (*pem == NULL)
		goto fail;
	memcpy(*pem, data, (size_t)len);
	(*pem)[len] = '\0';
	BIO_free(bio);
	return key;
fail:
	fail("cannot generate a %s key", type);
	BIO_free(bio);
	EVP_PKEY_free(key);
	return NULL;
}

/* ---------------------------------------------------------------- vdkim */

typedef struct vd_job {
	const message *msg;
	vdkim_key *key;
	int check;  /* the self-check: 0 the spec's default, 1 on, 2 off */
} vd_job;

static int vd_body(void *ctx, const char *p, size_t n)
{
	vdkim_error err;

	err.msg[0] = '\0'; /* in case a failing call leaves it unset */
	if (vdkim_signer_body(ctx, p, n, &err) != VDKIM_OK) {
		fail("vdkim_signer_body: %s", err.msg);
		return -1;
	}
	return 0;
}

/*
 * Signs one message the way an MTA would: a fresh signer per message, the
 * key loaded once.  When sig is not NULL the DKIM-Signature is copied to
 * it.
 */
static int vd_sign(const vd_job *j, char *sig, size_t sigsz)
{
	vdkim_signer *s = NULL;
	vdkim_sig_spec spec;
	vdkim_error err;
	const char *res, *what;
	size_t i, len = 0;

	err.msg[0] = '\0';
	vdkim_sig_spec_init(&spec);
	spec.key = j->key;
	spec.domain = DOMAIN;
	spec.selector = SELECTOR;
	spec.header_canon = VDKIM_CANON_RELAXED;
	spec.body_canon = VDKIM_CANON_RELAXED;
	if (j->check != 0)
		spec.self_check = j->check == 1;
	what = "vdkim_signer_new";
	if (vdkim_signer_new(&s, &err) != VDKIM_OK)
		goto fail;
	what = "vdkim_signer_add";
	if (vdkim_signer_add(s, &spec, &err) != VDKIM_OK)
		goto fail;
	what = "vdkim_signer_header";
	for (i = 0; i < NHEADERS; i++) {
		if (vdkim_signer_header(s, HEADERS[i], strlen(HEADERS[i]),
		    &err) != VDKIM_OK)
			goto fail;
	}
	what = "vdkim_signer_eoh";
	if (vdkim_signer_eoh(s, &err) != VDKIM_OK)
		goto fail;
	if (feed(j->msg->body, j->msg->body_len, vd_body, s) != 0) {
		vdkim_signer_free(s);
		return -1;
	}
	what = "vdkim_signer_eom";
	if (vdkim_signer_eom(s, &err) != VDKIM_OK)
		goto fail;
	/* Reading the result is part of the work: an application cannot
	 * skip it, so a signature computed lazily would still be timed. */
	res = vdkim_signer_count(s) == 1 ? vdkim_signer_result(s, 0, &len)
	    : NULL;
	if (res == NULL || len == 0 ||
	    strncmp(res, "DKIM-Signature:", 15) != 0) {
		fail("vdkim produced no DKIM-Signature");
		vdkim_signer_free(s);
		return -1;
	}
	if (sig != NULL)
		snprintf(sig, sigsz, "%.*s", (int)len, res);
	vdkim_signer_free(s);
	return 0;
fail:
	fail("%s: %s", what, err.msg);
	vdkim_signer_free(s);
	return -1;
}

static int op_vd_sign(void *arg, op_cost *cost)
{
	(void)cost;
	return vd_sign(arg, NULL, 0);
}

static vdkim_key *vd_load_key(const char *pem, const char *label)
{
	vdkim_key *key = NULL;
	vdkim_error err;

	err.msg[0] = '\0';
	if (pem == NULL)
		return NULL;
	if (vdkim_key_load_mem(pem, strlen(pem), label, &key, &err) !=
	    VDKIM_OK) {
		fail("vdkim_key_load_mem: %s", err.msg);
		return NULL;
	}
	return key;
}

/* vdkim's body canonicalizer and hasher on its own. */
typedef struct canon_job {
	const char *data;
	size_t len;
	vdkim_canon canon;
	body_canon bc;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen;
} canon_job;

static int canon_update(void *ctx, const char *p, size_t n)
{
	return body_canon_update(ctx, p, n);
}

static int op_canon(void *arg, op_cost *cost)
{
	canon_job *j = arg;
	int rc;

	if (body_canon_init(&j->bc, j->canon, EVP_sha256(), -1) != 0) {
		fail("body_canon_init failed");
		return -1;
	}
	rc = feed(j->data, j->len, canon_update, &j->bc);
	if (rc == 0)
		rc = body_canon_final(&j->bc, j->digest, &j->dlen, NULL);
	body_canon_cleanup(&j->bc);
	if (rc != 0) {
		fail("body canonicalization failed");
		return -1;
	}
	cost->units = (double)j->len;
	return 0;
}

/* ---------------------------------------------------------- libopendkim */

typedef struct od_job {
	DKIM_LIB *lib;
	const message *msg;
	unsigned char *pem;  /* dkim_sign() takes the key text each time */
	dkim_canon_t canon;  /* for both header and body */
} od_job;

/* libopendkim's strings for messages; it may have none. */
static const char *od_str(const char *s)
{
	return s != NULL ? s : "no detail";
}

static int od_body(void *ctx, const char *p, size_t n)
{
	DKIM_STAT st = dkim_body(ctx, (u_char *)p, n);

	if (st != DKIM_STAT_OK) {
		fail("dkim_body: %s", od_str(dkim_getresultstr(st)));
		return -1;
	}
	return 0;
}

/*
 * Signs one message as libopendkim applications do: dkim_sign() with the
 * PEM text (the library parses the key for every message), the calls of
 * the streaming API, then the signature field.  The field is written to
 * sig; *body_s receives the time spent in dkim_body(), which is where
 * libopendkim canonicalizes and hashes the body.
 */
static int od_sign(const od_job *j, char *sig, size_t sigsz, double *body_s)
{
	DKIM_STAT st;
	DKIM *d;
	size_t i;
	double t;
	const char *what;

	d = dkim_sign(j->lib, (const unsigned char *)"bench", NULL, j->pem,
	    (const unsigned char *)SELECTOR, (const unsigned char *)DOMAIN,
	    j->canon, j->canon, DKIM_SIGN_RSASHA256, -1, &st);
	if (d == NULL) {
		fail("dkim_sign: %s", od_str(dkim_getresultstr(st)));
		return -1;
	}
	what = "dkim_header";
	for (i = 0; i < NHEADERS; i++) {
		/* Without the line end: libopendkim adds it. */
		st = dkim_header(d, (u_char *)HEADERS[i],
		    strlen(HEADERS[i]) - 2);
		if (st != DKIM_STAT_OK)
			goto fail;
	}
	what = "dkim_eoh";
	if ((st = dkim_eoh(d)) != DKIM_STAT_OK)
		goto fail;
	t = now_s();
	if (feed(j->msg->body, j->msg->body_len, od_body, d) != 0) {
		dkim_free(d);
		return -1;
	}
	*body_s = now_s() - t;
	what = "dkim_eom";
	if ((st = dkim_eom(d, NULL)) != DKIM_STAT_OK)
		goto fail;
	what = "dkim_getsighdr";
	st = dkim_getsighdr(d, (u_char *)sig, sigsz,
	    strlen(DKIM_SIGNHEADER) + 2);
	if (st != DKIM_STAT_OK)
		goto fail;
	dkim_free(d);
	return 0;
fail:
	fail("%s: %s (%s)", what, od_str(dkim_getresultstr(st)),
	    od_str(dkim_geterror(d)));
	dkim_free(d);
	return -1;
}

/* Whole messages per second. */
static int op_od_sign(void *arg, op_cost *cost)
{
	char sig[SIG_MAX];
	double body_s;

	(void)cost;
	return od_sign(arg, sig, sizeof sig, &body_s);
}

/* Body bytes per second of dkim_body() alone. */
static int op_od_body(void *arg, op_cost *cost)
{
	od_job *j = arg;
	char sig[SIG_MAX];

	if (od_sign(j, sig, sizeof sig, &cost->timed) != 0)
		return -1;
	cost->units = (double)j->msg->body_len;
	return 0;
}

/* ------------------------------------------------------------- the run */

static double g_secs = 2.0; /* time given to each measurement */
static int g_cpus[2];        /* CPUs for thread 0 and thread 1 */

/*
 * The host may be shared: another process running for a moment slows
 * whatever is being measured then, and a ratio of two measurements taken
 * seconds apart inherits that noise.  So the rows that get compared are
 * measured together, interleaved in short slices: up to ROUNDS rounds,
 * each giving every row 1/ROUNDS of its time (a row whose calls are long
 * stops once it has had its time), and a row's rate is the median of its
 * rounds, which a disturbance in a minority of them does not move.  The
 * summary's ratios pair the rounds too (see ratio()).
 */
#define ROUNDS 20
#define MAX_ROWS 12

/* One row's measurement, round by round. */
typedef struct series {
	double rate[ROUNDS]; /* units/s in round i (unscaled) */
	int n;               /* rounds run */
	double value;        /* the median rate x the row's scale; -1 when
			      * not measured */
} series;

typedef struct bench_row {
	const char *heading;  /* printed above the row, when not NULL */
	char label[64];
	bench_op op;
	void *args[2];        /* thread i's argument; args[0] alone when
			       * nthreads is 0 */
	int nthreads;         /* 0: on the calling thread */
	double scale;         /* rate to unit, e.g. 1e-9 for GB/s */
	const char *unit;
	const char *skip;     /* why the row cannot run, or NULL */
	series *out;          /* receives the measurement */
} bench_row;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of k sorted values. */
static double median(const double *q, int k)
{
	return k % 2 ? q[k / 2] : (q[k / 2 - 1] + q[k / 2]) / 2;
}

/* Measures rows[0..n-1] interleaved and prints one line each. */
static void run_rows(bench_row *rows, size_t n)
{
	double secs[MAX_ROWS] = { 0 };
	uint64_t calls[MAX_ROWS] = { 0 };
	int failed[MAX_ROWS] = { 0 }, round;
	size_t i;

	if (n > MAX_ROWS)
		n = MAX_ROWS; /* a programming error; the tail is not run */
	for (i = 0; i < n; i++)
		rows[i].out->n = 0;
	for (round = 0; round < ROUNDS; round++) {
		for (i = 0; i < n; i++) {
			bench_row *w = &rows[i];
			bench_rate r;
			int rc;

			if (w->skip != NULL || failed[i] || secs[i] >= g_secs)
				continue;
			if (w->nthreads == 0)
				rc = measure(w->op, w->args[0],
				    g_secs / ROUNDS, round == 0, &r);
			else
				rc = run_parallel(w->nthreads, w->op, w->args,
				    g_cpus, g_secs / ROUNDS, &r);
			if (rc != 0) {
				failed[i] = 1;
				continue;
			}
			w->out->rate[w->out->n++] = r.per_s;
			calls[i] += r.calls;
			secs[i] += r.seconds;
		}
	}
	for (i = 0; i < n; i++) {
		bench_row *w = &rows[i];
		double q[ROUNDS], med;
		int k = w->out->n;

		w->out->value = -1;
		if (w->heading != NULL)
			printf("\n%s\n", w->heading);
		if (w->skip != NULL || failed[i] || k == 0) {
			printf("  %-50s %12s  (%s)\n", w->label,
			    w->skip != NULL ? "skipped" : "FAILED",
			    w->skip != NULL ? w->skip : "see stderr");
			failures++;
			continue;
		}
		memcpy(q, w->out->rate, sizeof q);
		qsort(q, (size_t)k, sizeof q[0], cmp_double);
		med = median(q, k);
		w->out->value = med * w->scale;
		/* How much the middle half of the rounds differ says how far
		 * to trust the row. */
		printf("  %-50s %10.*f %-5s  (%llu calls, %.2f s, IQR "
		    "%.0f%%)\n", w->label, w->scale < 1e-6 ? 3 : 1,
		    w->out->value, w->unit, (unsigned long long)calls[i], secs[i],
		    med > 0 ? 100 * (q[3 * k / 4] - q[k / 4]) / med : 0.0);
	}
}

/*
 * One summary line: the product of the rates in num over the product of
 * those in den, compared with target (0: informational).  The quotient is
 * taken round by round, then the median of the rounds: rows measured in
 * the same round saw the same load, so what disturbed a round cancels out
 * of its quotient.
 */
static void ratio(const char *label, const series *const *num,
    const series *const *den, int k, double target)
{
	double q[ROUNDS], r;
	int i, m, n = ROUNDS;

	for (m = 0; m < k; m++) {
		if (num[m]->value < 0 || den[m]->value < 0)
			n = 0;
		n = num[m]->n < n ? num[m]->n : n;
		n = den[m]->n < n ? den[m]->n : n;
	}
	if (n == 0) {
		printf("  %-52s %8s\n", label, "n/a");
		return;
	}
	for (i = 0; i < n; i++) {
		q[i] = 1;
		for (m = 0; m < k; m++)
			q[i] *= num[m]->rate[i] / den[m]->rate[i];
	}
	qsort(q, (size_t)n, sizeof q[0], cmp_double);
	r = median(q, n);
	if (target > 0)
		printf("  %-52s %8.3f  target >= %.2f  %s\n", label, r, target,
		    r >= target ? "PASS" : "BELOW");
	else
		printf("  %-52s %8.3f\n", label, r);
}

/* ratio() of two rates. */
static void ratio2(const char *label, const series *num, const series *den,
    double target)
{
	ratio(label, &num, &den, 1, target);
}

static void usage(void)
{
	fputs("usage: bench_engine [--seconds S] [--quick]\n"
	    "  --seconds S  time per measurement (default 2, or "
	    "$BENCH_SECONDS)\n"
	    "  --quick      0.3 s per measurement\n", stderr);
	exit(2);
}

#define NSIZES 4

/*
 * What the sections share: inputs made once, and the rates the summary
 * divides (-1 when not measured).
 */
typedef struct bench {
	DKIM_LIB *lib;
	char *corpus;
	size_t corpus_len;
	message msgs[NSIZES];
	message big;          /* the whole corpus as one body */
	EVP_PKEY *rsa, *ed;
	char *rsa_pem, *ed_pem;
	vdkim_key *vd_rsa, *vd_ed;
	int ncpus;
	int mismatches;
	series rsa_sign, ed_sign, sha256;
	series vd_msg[NSIZES], od_msg[NSIZES], vd_ed_msg;
	series canon[2], od_canon[2]; /* [0] simple, [1] relaxed */
	series vd_threads[2], raw_threads[2]; /* [n - 1]: n threads */
} bench;

static const char *const CANON_NAME[2] = { "simple", "relaxed" };
static const char *const NO_VDKIM_KEY = "the vdkim key did not load";

/* Both signers must produce the same body hash, or they did not do the
 * same work and their ratio means nothing. */
static void check_bh(bench *b, const char *what, const char *vbh,
    const char *obh)
{
	if (strcmp(vbh, obh) == 0)
		return;
	printf("  CHECK %s: vdkim bh=%s, libopendkim bh=%s: MISMATCH\n",
	    what, vbh, obh);
	b->mismatches++;
}

/* 1, 2 and 3: whole messages against the RSA floor. */
static void section_messages(bench *b)
{
	bench_row rows[1 + 2 * NSIZES];
	pkey_job pj;
	vd_job vj[NSIZES];
	od_job oj[NSIZES];
	size_t i, n = 0;

	if (pkey_job_init(&pj, b->rsa) != 0)
		failures++;
	rows[n++] = (bench_row){ .heading = "1. OpenSSL RSA-2048, one thread",
	    .label = "EVP_PKEY_sign of a SHA-256 digest",
	    .op = op_pkey_sign, .args = { &pj }, .scale = 1,
	    .unit = "sig/s", .out = &b->rsa_sign,
	    .skip = pj.rsa == NULL ? "no OpenSSL context" : NULL };
	for (i = 0; i < NSIZES; i++) {
		vj[i] = (vd_job){ &b->msgs[i], b->vd_rsa, 0 };
		rows[n] = (bench_row){ .op = op_vd_sign, .args = { &vj[i] },
		    .scale = 1, .unit = "msg/s", .out = &b->vd_msg[i],
		    .skip = b->vd_rsa == NULL ? NO_VDKIM_KEY : NULL };
		if (i == 0)
			rows[n].heading = "2. vdkim, RSA-2048, relaxed/relaxed, "
			    "one thread, new signer per message";
		snprintf(rows[n].label, sizeof rows[n].label,
		    "vdkim %s messages", b->msgs[i].label);
		n++;
	}
	for (i = 0; i < NSIZES; i++) {
		oj[i] = (od_job){ b->lib, &b->msgs[i],
		    (unsigned char *)b->rsa_pem, DKIM_CANON_RELAXED };
		rows[n] = (bench_row){ .op = op_od_sign, .args = { &oj[i] },
		    .scale = 1, .unit = "msg/s", .out = &b->od_msg[i] };
		if (i == 0)
			rows[n].heading = "3. libopendkim, same messages and "
			    "key (dkim_sign parses the PEM key per message)";
		snprintf(rows[n].label, sizeof rows[n].label,
		    "libopendkim %s messages", b->msgs[i].label);
		n++;
	}
	run_rows(rows, n);
	pkey_job_cleanup(&pj);

	for (i = 0; i < NSIZES && b->vd_rsa != NULL; i++) {
		char vs[SIG_MAX], os[SIG_MAX], vbh[128], obh[128];
		double t;

		if (vd_sign(&vj[i], vs, sizeof vs) != 0 ||
		    od_sign(&oj[i], os, sizeof os, &t) != 0)
			continue; /* already reported as FAILED */
		body_hash_of(vs, vbh, sizeof vbh);
		body_hash_of(os, obh, sizeof obh);
		check_bh(b, b->msgs[i].label, vbh, obh);
	}
}

/* 4: the body path alone. */
static void section_body(bench *b)
{
	static char heading[96];
	bench_row rows[5];
	bytes_job bj = { b->corpus, b->corpus_len };
	canon_job *cj = calloc(2, sizeof *cj); /* body_canon is ~4 KB */
	od_job oj[2];
	size_t n = 0;
	int c;

	snprintf(heading, sizeof heading, "4. body canonicalization + "
	    "SHA-256, %zu-byte body, one thread", b->corpus_len);
	rows[n++] = (bench_row){ .heading = heading,
	    .label = "OpenSSL SHA-256 alone (EVP_Digest)", .op = op_sha256,
	    .args = { &bj }, .scale = 1e-9, .unit = "GB/s",
	    .out = &b->sha256 };
	for (c = 0; c < 2; c++) {
		if (cj != NULL)
			cj[c] = (canon_job){ .data = b->corpus,
			    .len = b->corpus_len, .canon = c == 0 ?
			    VDKIM_CANON_SIMPLE : VDKIM_CANON_RELAXED };
		rows[n] = (bench_row){ .op = op_canon,
		    .args = { cj != NULL ? &cj[c] : NULL }, .scale = 1e-9,
		    .unit = "GB/s", .out = &b->canon[c],
		    .skip = cj == NULL ? "out of memory" : NULL };
		snprintf(rows[n].label, sizeof rows[n].label,
		    "vdkim body_canon %s", CANON_NAME[c]);
		n++;
		oj[c] = (od_job){ b->lib, &b->big, (unsigned char *)b->rsa_pem,
		    c == 0 ? DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED };
		rows[n] = (bench_row){ .op = op_od_body, .args = { &oj[c] },
		    .scale = 1e-9, .unit = "GB/s", .out = &b->od_canon[c] };
		snprintf(rows[n].label, sizeof rows[n].label,
		    "libopendkim dkim_body %s", CANON_NAME[c]);
		n++;
	}
	run_rows(rows, n);

	for (c = 0; c < 2; c++) {
		char vbh[128], obh[128], os[SIG_MAX];
		double t;

		/* cj[c] still holds the digest of its last run. */
		if (b->canon[c].value < 0 || b->od_canon[c].value < 0 ||
		    od_sign(&oj[c], os, sizeof os, &t) != 0)
			continue;
		EVP_EncodeBlock((unsigned char *)vbh, cj[c].digest,
		    (int)cj[c].dlen);
		body_hash_of(os, obh, sizeof obh);
		check_bh(b, CANON_NAME[c], vbh, obh);
	}
	free(cj);
}

/* 5: Ed25519, where the signature is cheap and the engine shows more. */
static void section_ed25519(bench *b)
{
	pkey_job pj;
	vd_job vj = { &b->msgs[0], b->vd_ed, 0 };
	bench_row rows[2] = {
		{ .heading = "5. Ed25519, one thread",
		  .label = "EVP_DigestSign of a SHA-256 digest",
		  .op = op_pkey_sign, .args = { &pj }, .scale = 1,
		  .unit = "sig/s", .out = &b->ed_sign },
		{ .label = "vdkim 1 KB messages", .op = op_vd_sign,
		  .args = { &vj }, .scale = 1, .unit = "msg/s",
		  .out = &b->vd_ed_msg,
		  .skip = b->vd_ed == NULL ? NO_VDKIM_KEY : NULL },
	};

	if (pkey_job_init(&pj, b->ed) != 0)
		rows[0].skip = "no OpenSSL context";
	run_rows(rows, 2);
	pkey_job_cleanup(&pj);
}

/*
 * 5b: what the self-check (dkim-verify-signatures) costs: the same 1 KB
 * message signed with the check forced on and off, interleaved, so the
 * ratio is the signing rate kept with the check.
 */
static void section_self_check(bench *b)
{
	vd_job vj[4] = {
		{ &b->msgs[0], b->vd_rsa, 2 }, { &b->msgs[0], b->vd_rsa, 1 },
		{ &b->msgs[0], b->vd_ed, 2 }, { &b->msgs[0], b->vd_ed, 1 },
	};
	static const char *const label[4] = {
		"vdkim RSA-2048 1 KB, self-check off",
		"vdkim RSA-2048 1 KB, self-check on",
		"vdkim Ed25519 1 KB, self-check off",
		"vdkim Ed25519 1 KB, self-check on",
	};
	series out[4];
	bench_row rows[4];

	for (int i = 0; i < 4; i++) {
		rows[i] = (bench_row){ .op = op_vd_sign, .args = { &vj[i] },
		    .scale = 1, .unit = "msg/s", .out = &out[i],
		    .skip = vj[i].key == NULL ? NO_VDKIM_KEY : NULL };
		snprintf(rows[i].label, sizeof rows[i].label, "%s", label[i]);
	}
	rows[0].heading = "5b. the self-check before release "
	    "(dkim-verify-signatures), one thread";
	run_rows(rows, 4);
	ratio2("RSA-2048 signing rate, self-check on / off", &out[1],
	    &out[0], 0);
	ratio2("Ed25519 signing rate, self-check on / off", &out[3],
	    &out[2], 0);
}

/*
 * 6: two threads against one on the same code path (run_parallel), so
 * the ratio shows contention only.  The raw OpenSSL rows show what the
 * machine and OpenSSL themselves allow, to tell the engine's contention
 * from theirs.
 */
static void section_threads(bench *b)
{
	static char heading[96];
	vd_job vj = { &b->msgs[0], b->vd_rsa, 0 };
	pkey_job pj[2];
	bench_row rows[4];
	const char *skip = NULL;
	int n;

	snprintf(heading, sizeof heading, "6. RSA-2048 1 KB messages, "
	    "threads sharing one key (CPUs %d and %d)", g_cpus[0],
	    g_cpus[1]);
	memset(pj, 0, sizeof pj); /* cleanup-safe whatever fails */
	if (pkey_job_init(&pj[0], b->rsa) != 0 ||
	    pkey_job_init(&pj[1], b->rsa) != 0)
		skip = "no OpenSSL context";
	if (b->ncpus < 2)
		skip = "fewer than 2 CPUs available";
	for (n = 1; n <= 2; n++) {
		bench_row *v = &rows[n - 1], *o = &rows[n + 1];

		*v = (bench_row){ .op = op_vd_sign, .args = { &vj, &vj },
		    .nthreads = n, .scale = 1, .unit = "msg/s",
		    .out = &b->vd_threads[n - 1],
		    .skip = b->vd_rsa == NULL ? NO_VDKIM_KEY : skip };
		snprintf(v->label, sizeof v->label, "vdkim, %d thread%s", n,
		    n > 1 ? "s" : "");
		*o = (bench_row){ .op = op_pkey_sign,
		    .args = { &pj[0], &pj[1] }, .nthreads = n, .scale = 1,
		    .unit = "sig/s", .out = &b->raw_threads[n - 1],
		    .skip = skip };
		snprintf(o->label, sizeof o->label,
		    "OpenSSL EVP_PKEY_sign, %d thread%s", n, n > 1 ? "s" : "");
	}
	rows[0].heading = heading;
	run_rows(rows, 4);
	pkey_job_cleanup(&pj[0]);
	pkey_job_cleanup(&pj[1]);
}

static void summary(const bench *b)
{
	const series *scale_num[2] = { &b->vd_threads[1], &b->raw_threads[0] };
	const series *scale_den[2] = { &b->vd_threads[0], &b->raw_threads[1] };
	char label[96];
	size_t i;

	printf("\nSummary (ratios of the rates above, as medians of the "
	    "rounds' ratios)\n");
	ratio2("vdkim 1 KB msg/s / OpenSSL RSA-2048 sign/s", &b->vd_msg[0],
	    &b->rsa_sign, 0.95);
	ratio2("libopendkim 1 KB msg/s / OpenSSL RSA-2048 sign/s",
	    &b->od_msg[0], &b->rsa_sign, 0);
	for (i = 0; i < NSIZES; i++) {
		snprintf(label, sizeof label, "vdkim / libopendkim, %s messages",
		    b->msgs[i].label);
		ratio2(label, &b->vd_msg[i], &b->od_msg[i], 0);
	}
	if (b->canon[1].value < 0)
		printf("  %-52s %8s\n", "vdkim relaxed body, GB/s", "n/a");
	else
		printf("  %-52s %8.3f  target >= %.2f  %s\n",
		    "vdkim relaxed body, GB/s", b->canon[1].value, 1.2,
		    b->canon[1].value >= 1.2 ? "PASS" : "BELOW");
	ratio2("vdkim relaxed body / SHA-256 alone", &b->canon[1], &b->sha256,
	    0);
	ratio2("vdkim simple body / SHA-256 alone", &b->canon[0], &b->sha256,
	    0);
	ratio2("vdkim / libopendkim body, relaxed", &b->canon[1],
	    &b->od_canon[1], 0);
	ratio2("vdkim / libopendkim body, simple", &b->canon[0],
	    &b->od_canon[0], 0);
	ratio2("vdkim Ed25519 1 KB msg/s / OpenSSL Ed25519 sign/s",
	    &b->vd_ed_msg, &b->ed_sign, 0);
	ratio2("vdkim 2 threads / 1 thread", &b->vd_threads[1],
	    &b->vd_threads[0], 1.9);
	ratio2("OpenSSL RSA sign 2 threads / 1 thread (reference)",
	    &b->raw_threads[1], &b->raw_threads[0], 0);
	/* Near 1 when vdkim adds no contention of its own: a machine whose
	 * two CPUs do not scale (shared cores, a busy host) lowers both. */
	ratio("vdkim thread scaling / OpenSSL thread scaling", scale_num,
	    scale_den, 2, 0);
	if (b->mismatches > 0)
		printf("  %d body hash MISMATCH(es) between vdkim and "
		    "libopendkim: the ratios compare unequal work\n",
		    b->mismatches);
	if (failures > 0)
		printf("  %d measurement(s) could not run (see above and "
		    "stderr)\n", failures);
}

/* Keys, messages and the libopendkim handle; 0 or -1. */
static int setup(bench *b)
{
	static const struct { const char *label; size_t size; } SIZES[] = {
		{ "1 KB", 1 * KB }, { "10 KB", 10 * KB },
		{ "100 KB", 100 * KB }, { "10 MB", 10 * MB },
	};
	size_t i;

	b->corpus = make_body(CANON_BODY_BYTES, &b->corpus_len);
	b->lib = dkim_init(NULL, NULL);
	b->rsa = make_key("RSA", &b->rsa_pem);
	b->ed = make_key("ED25519", &b->ed_pem);
	if (b->corpus == NULL || b->lib == NULL || b->rsa == NULL ||
	    b->ed == NULL) {
		fail("set-up failed (memory, libopendkim or key generation)");
		return -1;
	}
	for (i = 0; i < NSIZES; i++)
		b->msgs[i] = make_message(SIZES[i].label, SIZES[i].size,
		    b->corpus, b->corpus_len);
	b->big = make_message("64 MB", CANON_BODY_BYTES + headers_len(),
	    b->corpus, b->corpus_len);
	/* vdkim gets the very key text libopendkim gets. */
	b->vd_rsa = vd_load_key(b->rsa_pem, "bench RSA-2048 key");
	b->vd_ed = vd_load_key(b->ed_pem, "bench Ed25519 key");
	return 0;
}

static void teardown(bench *b)
{
	vdkim_key_unref(b->vd_rsa);
	vdkim_key_unref(b->vd_ed);
	EVP_PKEY_free(b->rsa);
	EVP_PKEY_free(b->ed);
	if (b->rsa_pem != NULL)
		OPENSSL_cleanse(b->rsa_pem, strlen(b->rsa_pem));
	if (b->ed_pem != NULL)
		OPENSSL_cleanse(b->ed_pem, strlen(b->ed_pem));
	free(b->rsa_pem);
	free(b->ed_pem);
	if (b->lib != NULL)
		dkim_close(b->lib);
	free(b->corpus);
}

int main(int argc, char **argv)
{
	static bench b;
	const char *env = getenv("BENCH_SECONDS");
	unsigned long v = dkim_libversion();
	cpu_set_t allowed;
	size_t i;
	int c;

	if (env != NULL && *env != '\0')
		g_secs = atof(env);
	for (c = 1; c < argc; c++) {
		if (strcmp(argv[c], "--seconds") == 0 && c + 1 < argc)
			g_secs = atof(argv[++c]);
		else if (strcmp(argv[c], "--quick") == 0)
			g_secs = 0.3;
		else
			usage();
	}
	if (!(g_secs > 0))
		usage();
	/* Rows appear as they are measured even when piped. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* The first two CPUs we may use: the first for the single-thread
	 * parts, both for the two-thread part. */
	CPU_ZERO(&allowed);
	if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
		for (c = 0; c < CPU_SETSIZE && b.ncpus < 2; c++) {
			if (CPU_ISSET(c, &allowed))
				g_cpus[b.ncpus++] = c;
		}
	}
	pin_to(g_cpus[0]);

	if (setup(&b) != 0) {
		teardown(&b);
		return 1;
	}
	printf("vdkim engine benchmark\n");
	printf("  %s, libopendkim %lu.%lu.%lu, %d CPUs\n",
	    OpenSSL_version(OPENSSL_VERSION), v >> 24, (v >> 16) & 0xff,
	    (v >> 8) & 0xff, CPU_COUNT(&allowed));
	printf("  %.2f s per measurement, interleaved in up to %d rounds "
	    "(median shown);\n  single-thread parts pinned to CPU %d; "
	    "1 KB = 1024 bytes; 1 GB/s = 10^9 bytes/s\n", g_secs, ROUNDS,
	    g_cpus[0]);
	printf("  messages: %zu header fields + text body, body fed in "
	    "%u KB chunks; bytes:", NHEADERS, CHUNK / KB);
	for (i = 0; i < NSIZES; i++)
		printf(" %s=%zu", b.msgs[i].label, b.msgs[i].total);
	printf("\n");
	print_body_stats(b.corpus, b.corpus_len);

	section_messages(&b);
	section_body(&b);
	section_ed25519(&b);
	section_self_check(&b);
	section_threads(&b);
	summary(&b);
	teardown(&b);
	return failures > 0 || b.mismatches > 0 ? 1 : 0;
}
