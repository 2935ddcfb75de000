/*
 * abi_test.c - the ABI test of vdkim.so: loads the module with dlopen() the
 * way an MTA does, and drives every entry point of include/vdkim/vdkim.h.
 *
 *   abi_test MODULE.so WORKDIR
 *
 * WORKDIR holds keys made by "vdkimctl keygen" for example.com (see
 * tests/abi/run.sh): rsa1, ed1, rsa2 and ed2 (.private).  The test writes
 * its configs there.  The signatures the module makes are checked with the
 * engine's own verifier (the static build/libvdkim.a linked into this
 * program), against the DNS records of those keys.
 *
 * Tests run in forked children (Check's default), so a crash inside the
 * module fails one test, not the run.  Helpers used from worker threads
 * and from fork()ed children never call ck_assert: they return non-zero
 * with a sentence, which the test then asserts on.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "vdkim/dkim.h"
#include "vdkim/vdkim.h"
#include "rand_count.h"
#include "work_keys.h"

#define FIXED_NOW ((time_t)1700000000) /* 2023-11-14 22:13:20 UTC */
#define SIGS_A "d=example.com s=rsa1; d=example.com s=ed1"
#define SIGS_B "d=example.com s=rsa2; d=example.com s=ed2"

/* ------------------------------------------------------------ globals */

static const char *g_so_path;   /* the module under test */
static char g_work[2048];       /* WORKDIR, absolute */
static void *g_dl;              /* dlopen() handle */
static vdkim_get_api_fn g_get;  /* its vdkim_get_api */
static const vdkim_api *A;      /* the table for VDKIM_ABI_VERSION */
static vdkim_keymap *g_keys;    /* DNS records of the WORKDIR keys */

#ifdef __SANITIZE_ADDRESS__
/*
 * Defaults for the sanitizer build (ASAN_OPTIONS still overrides them):
 * as in the unit tests, a smaller quarantine keeps LeakSanitizer at the
 * exit of every forked test cheap.  intercept_tls_get_addr=0: the module
 * is dlopen()ed and has _Thread_local data (module/conf_parse.c), i.e.
 * dynamic TLS, and with GCC 12's libasan on glibc 2.36 LeakSanitizer's
 * tracer then crashes now and then ("Tracer caught signal 11") while it
 * walks the threads' dynamic TLS blocks.
 */
const char *__asan_default_options(void)
    __attribute__((visibility("default")));

const char *
__asan_default_options(void)
{
	return "quarantine_size_mb=64:intercept_tls_get_addr=0";
}
#endif

/* ------------------------------------------------------------- random */

typedef struct rng {
	uint64_t s;
} rng;

static void
rng_seed(rng *r, uint64_t seed)
{
	r->s = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
	if (r->s == 0)
		r->s = 1;
}

static uint64_t
rng_next(rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}

static size_t
rng_below(rng *r, size_t n)
{
	return n == 0 ? 0 : (size_t)(rng_next(r) >> 11) % n;
}

/* ------------------------------------------------------------ strings */

static void
fmt(char *buf, size_t len, const char *f, ...)
    __attribute__((format(printf, 3, 4)));

static void
fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, len, f, ap);
	va_end(ap);
}

static char *
xmemdup(const void *p, size_t n)
{
	char *d = malloc(n + 1);

	if (d == NULL)
		abort();
	if (n > 0)
		memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

static char *
xstrdup(const char *s)
{
	return xmemdup(s, strlen(s));
}

/* Every "@W@" in t replaced by the work dir; malloc'd. */
static char *
subst_work(const char *t)
{
	size_t wl = strlen(g_work), n = 0;
	const char *p;
	char *d, *w;

	for (p = t; (p = strstr(p, "@W@")) != NULL; p += 3)
		n++;
	d = malloc(strlen(t) + n * wl + 1);
	if (d == NULL)
		abort();
	for (w = d, p = t; *p;) {
		if (strncmp(p, "@W@", 3) == 0) {
			memcpy(w, g_work, wl);
			w += wl;
			p += 3;
		} else {
			*w++ = *p++;
		}
	}
	*w = '\0';
	return d;
}

/* Every CRLF turned into LF; malloc'd. */
static char *
to_lf(const char *s, size_t n, size_t *outlen)
{
	char *d = malloc(n + 1);
	size_t w = 0;

	if (d == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '\r' && i + 1 < n && s[i + 1] == '\n'))
			d[w++] = s[i];
	d[w] = '\0';
	*outlen = w;
	return d;
}

/* ------------------------------------------------------------- files */

/* WORKDIR/name (static buffer per call site is not enough: malloc'd). */
static char *
work_path(const char *name)
{
	char buf[4096];

	fmt(buf, sizeof(buf), "%s/%s", g_work, name);
	return xstrdup(buf);
}

/* Writes text to path the way an operator's tool should: a temporary file
 * in the same folder, then rename() over the old one. */
static int
write_atomic(const char *path, const char *text)
{
	char tmp[4200];
	FILE *f;
	size_t n = strlen(text);

	fmt(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	if (fwrite(text, 1, n, f) != n) {
		fclose(f);
		return -1;
	}
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

/* Writes the config template (with @W@ for the work dir) to
 * WORKDIR/name; returns the path, malloc'd.  Fails the test on error. */
static char *
write_conf(const char *name, const char *tmpl)
{
	char *path = work_path(name), *text = subst_work(tmpl);

	ck_assert_msg(write_atomic(path, text) == 0, "cannot write %s: %s",
	    path, strerror(errno));
	free(text);
	return path;
}

/* ------------------------------------------------------------ configs */

/* The main policy: one VMTA per behaviour under test. */
static const char CONF_MAIN[] =
    "# vdkim ABI test: the main policy\n"
    "domain-key = \"rsa1,example.com,@W@/rsa1.private\"\n"
    "domain-key = \"ed1,example.com,@W@/ed1.private\"\n"
    "\n"
    "source trusted {\n"
    "    process-x-dkim-options = yes\n"
    "}\n"
    "\n"
    "# Two signatures: RSA first, Ed25519 second.\n"
    "virtual-mta signer {\n"
    "    domain \"*\" {\n"
    "        dkim-sign = yes\n"
    "        dkim-algorithm = rsa-sha256\n"
    "        second-dkim-sign = yes\n"
    "        second-dkim-algorithm = ed25519-sha256\n"
    "    }\n"
    "}\n"
    "virtual-mta nosign {\n"
    "    domain \"*\" {\n"
    "        dkim-sign = no\n"
    "    }\n"
    "}\n"
    "virtual-mta require {\n"
    "    domain \"*\" {\n"
    "        dkim-sign = yes\n"
    "        dkim-require = yes\n"
    "    }\n"
    "}\n"
    "# Its key file does not exist: the key is not loaded.\n"
    "virtual-mta broken {\n"
    "    domain-key = \"gone,broken.example,@W@/gone.private\"\n"
    "    domain \"*\" {\n"
    "        dkim-sign = yes\n"
    "        dkim-require = yes\n"
    "    }\n"
    "}\n"
    "# One signature, any algorithm: X-DKIM-Options may name the key.\n"
    "virtual-mta xopt {\n"
    "    domain \"*\" {\n"
    "        dkim-sign = yes\n"
    "    }\n"
    "}\n";

/* Reload configs: the same VMTA, selectors rsa1/ed1 (A) or rsa2/ed2 (B). */
static const char CONF_A[] =
    "domain-key = \"rsa1,example.com,@W@/rsa1.private\"\n"
    "domain-key = \"ed1,example.com,@W@/ed1.private\"\n"
    "virtual-mta signer {\n"
    "    domain \"*\" {\n"
    "        dkim-sign = yes\n"
    "        dkim-algorithm = rsa-sha256\n"
    "        second-dkim-sign = yes\n"
    "        second-dkim-algorithm = ed25519-sha256\n"
    "    }\n"
    "}\n";

static const char CONF_B[] =
    "domain-key = \"rsa2,example.com,@W@/rsa2.private\"\n"
    "domain-key = \"ed2,example.com,@W@/ed2.private\"\n"
    "virtual-mta signer {\n"
    "    domain \"*\" {\n"
    "        dkim-sign = yes\n"
    "        dkim-algorithm = rsa-sha256\n"
    "        second-dkim-sign = yes\n"
    "        second-dkim-algorithm = ed25519-sha256\n"
    "    }\n"
    "}\n";

/* A bad boolean on line 5. */
#define CONF_BROKEN_LINE 5
static const char CONF_BROKEN[] =
    "domain-key = \"rsa2,example.com,@W@/rsa2.private\"\n"
    "\n"
    "virtual-mta signer {\n"
    "    domain \"*\" {\n"
    "        dkim-sign = maybe\n"
    "    }\n"
    "}\n";

/* ----------------------------------------------------------- messages */

static const char MSG_STD[] =
    "From: Alice Example <alice@example.com>\r\n"
    "To: Bob <bob@example.net>\r\n"
    "Subject: the vdkim ABI test,\r\n"
    "\tfolded over two lines\r\n"
    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    "Message-ID: <abi-test-1@example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Hello Bob,\r\n"
    "\r\n"
    "this  body has   runs of spaces,\ttabs \t \r\n"
    "and trailing white space   \r\n"
    ".a line starting with a dot\r\n"
    "\r\n"
    "\r\n";

/* A message from domain from (CRLF), extra fields before the body. */
static char *
make_msg(const char *from, const char *extra, size_t *len)
{
	char buf[4096];

	fmt(buf, sizeof(buf),
	    "From: <%s>\r\n"
	    "To: bob@example.net\r\n"
	    "Subject: test\r\n"
	    "Message-ID: <m@%s>\r\n"
	    "%s"
	    "\r\n"
	    "Body.\r\n", from, from, extra ? extra : "");
	*len = strlen(buf);
	return xstrdup(buf);
}

/* MSG_STD's header and a body of about size bytes of varied lines. */
static char *
make_big(size_t size, uint64_t seed, size_t *len)
{
	static const char words[] = "lorem ipsum  dolor\tsit amet, "
	    "consectetur   adipiscing elit ";
	const char *hdr_end = strstr(MSG_STD, "\r\n\r\n") + 4;
	size_t hl = (size_t)(hdr_end - MSG_STD), cap = hl + size + 256, n;
	char *d = malloc(cap);
	rng r;

	if (d == NULL)
		abort();
	rng_seed(&r, seed);
	memcpy(d, MSG_STD, hl);
	n = hl;
	while (n < hl + size) {
		size_t ll = rng_below(&r, 100);
		for (size_t i = 0; i < ll; i++)
			d[n++] = words[rng_below(&r, sizeof(words) - 1)];
		if (rng_below(&r, 10) == 0)
			d[n++] = ' ';
		d[n++] = '\r';
		d[n++] = '\n';
	}
	memcpy(d + n, "\r\n\r\n", 4);
	n += 4;
	d[n] = '\0';
	*len = n;
	return d;
}

/* The message without its X-DKIM-Options fields (continuation lines
 * included), as the host must send it. malloc'd. */
static char *
strip_xopts(const char *msg, size_t len, size_t *outlen)
{
	char *d = malloc(len + 1);
	size_t w = 0, i = 0;
	int in_header = 1, skipping = 0;

	if (d == NULL)
		abort();
	while (i < len) {
		const char *nl = memchr(msg + i, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - (msg + i)) + 1 : len - i;
		const char *line = msg + i;

		if (in_header) {
			if (ll <= 2 && (line[0] == '\n' || (line[0] == '\r' &&
			    ll == 2))) {
				in_header = 0;
				skipping = 0;
			} else if (line[0] == ' ' || line[0] == '\t') {
				/* a continuation: keep or drop with its field */
			} else {
				skipping = ll >= 15 &&
				    strncasecmp(line, "X-DKIM-Options", 14) == 0 &&
				    (line[14] == ':' || line[14] == ' ' ||
				    line[14] == '\t');
			}
		}
		if (!skipping || !in_header) {
			memcpy(d + w, line, ll);
			w += ll;
		}
		i += ll;
	}
	d[w] = '\0';
	*outlen = w;
	return d;
}

/* How many "DKIM-Signature:" fields begin a line of text. */
static int
count_sig_fields(const char *text, size_t len)
{
	int n = 0;

	for (size_t i = 0; i < len; i++)
		if ((i == 0 || text[i - 1] == '\n') && len - i >= 15 &&
		    strncasecmp(text + i, "DKIM-Signature:", 15) == 0)
			n++;
	return n;
}

/* 0 when every line of text ends in CRLF (crlf) or a bare LF (!crlf), and
 * text ends with a line end. */
static int
check_eols(const char *text, size_t len, int crlf, char *why, size_t wl)
{
	if (len == 0 || text[len - 1] != '\n') {
		fmt(why, wl, "the added fields do not end with a line end");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (crlf && text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) {
			fmt(why, wl, "bare LF at byte %zu of the added fields "
			    "of a CRLF message", i);
			return -1;
		}
		if (crlf && text[i] == '\r' && (i + 1 >= len ||
		    text[i + 1] != '\n')) {
			fmt(why, wl, "bare CR at byte %zu of the added fields",
			    i);
			return -1;
		}
		if (!crlf && text[i] == '\r') {
			fmt(why, wl, "CR at byte %zu of the added fields of a "
			    "bare-LF message", i);
			return -1;
		}
	}
	return 0;
}

/*
 * The value of tag name in the k-th DKIM-Signature field of text (FWS
 * removed) into buf.  Returns 0 when found.
 */
static int
sig_tag(const char *text, size_t len, int k, const char *name, char *buf,
    size_t buflen)
{
	char *u = malloc(len + 1), *p, *save = NULL;
	size_t w = 0;
	int idx = -1, found = -1;

	if (u == NULL)
		abort();
	/* Unfold and drop white space: tag values are compared without it. */
	for (size_t i = 0; i < len; i++) {
		if ((i == 0 || text[i - 1] == '\n') && len - i >= 15 &&
		    strncasecmp(text + i, "DKIM-Signature:", 15) == 0) {
			idx++;
			if (idx > k)
				break;
		}
		if (idx != k)
			continue;
		if (text[i] == '\r' || text[i] == '\n' || text[i] == ' ' ||
		    text[i] == '\t')
			continue;
		u[w++] = text[i];
	}
	u[w] = '\0';
	p = strchr(u, ':');
	for (p = p ? strtok_r(p + 1, ";", &save) : NULL; p != NULL;
	    p = strtok_r(NULL, ";", &save)) {
		size_t nl = strlen(name);
		if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
			fmt(buf, buflen, "%s", p + nl + 1);
			found = 0;
			break;
		}
	}
	free(u);
	return found;
}

/* ------------------------------------------------- the host's callbacks */

typedef struct logline {
	int level;
	char *text;
} logline;

typedef struct hostctx {
	pthread_mutex_t mu;
	logline *lines;
	size_t n, cap;
	time_t fixed;         /* the clock, 0: the real time */
	unsigned long nows;   /* calls of now() */
} hostctx;

static hostctx HC = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0, 0 };

static void
host_log(void *ctx, int level, const char *line)
{
	hostctx *h = ctx;

	pthread_mutex_lock(&h->mu);
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		logline *l = realloc(h->lines, cap * sizeof(*l));
		if (l == NULL)
			abort();
		h->lines = l;
		h->cap = cap;
	}
	h->lines[h->n].level = level;
	h->lines[h->n].text = xstrdup(line ? line : "(null)");
	h->n++;
	pthread_mutex_unlock(&h->mu);
}

static time_t
host_now(void *ctx)
{
	hostctx *h = ctx;
	time_t t;

	pthread_mutex_lock(&h->mu);
	h->nows++;
	t = h->fixed;
	pthread_mutex_unlock(&h->mu);
	return t ? t : time(NULL);
}

static void
hc_reset(time_t fixed)
{
	pthread_mutex_lock(&HC.mu);
	for (size_t i = 0; i < HC.n; i++)
		free(HC.lines[i].text);
	HC.n = 0;
	HC.fixed = fixed;
	HC.nows = 0;
	pthread_mutex_unlock(&HC.mu);
}

static vdkim_host
make_host(time_t fixed)
{
	vdkim_host h;

	hc_reset(fixed);
	memset(&h, 0, sizeof(h));
	h.size = sizeof(h);
	h.ctx = &HC;
	h.log = host_log;
	h.now = host_now;
	return h;
}

/* How many log lines contain every one of the (NULL-terminated) needles,
 * at level (or any level when level < 0); *last gets the last one. */
static size_t
log_count(int level, const char **last, ...)
{
	va_list ap;
	const char *need[8];
	size_t nn = 0, count = 0;

	va_start(ap, last);
	while (nn < 8 && (need[nn] = va_arg(ap, const char *)) != NULL)
		nn++;
	va_end(ap);
	pthread_mutex_lock(&HC.mu);
	for (size_t i = 0; i < HC.n; i++) {
		size_t k;
		if (level >= 0 && HC.lines[i].level != level)
			continue;
		for (k = 0; k < nn; k++)
			if (strstr(HC.lines[i].text, need[k]) == NULL)
				break;
		if (k == nn) {
			count++;
			if (last != NULL)
				*last = HC.lines[i].text;
		}
	}
	pthread_mutex_unlock(&HC.mu);
	return count;
}

/* The whole log, for failure messages (static buffer). */
static const char *
log_dump(void)
{
	static char buf[8192];
	size_t w = 0;

	buf[0] = '\0';
	pthread_mutex_lock(&HC.mu);
	for (size_t i = 0; i < HC.n && w < sizeof(buf) - 1; i++)
		w += (size_t)snprintf(buf + w, sizeof(buf) - w, "\n  [%d] %s",
		    HC.lines[i].level, HC.lines[i].text);
	pthread_mutex_unlock(&HC.mu);
	return buf;
}

/* --------------------------------------------------- running a message */

enum feed_mode { FEED_ONE = 0, FEED_BYTES, FEED_RANDOM, FEED_NMODES };

static const char *const feed_names[] = { "one chunk", "1-byte chunks",
    "random chunks" };

static const int hooks[] = { VDKIM_HOOK_PRE_QUEUE, VDKIM_HOOK_PRE_DELIVERY };

static const char *
hook_str(int hook)
{
	return hook == VDKIM_HOOK_PRE_QUEUE ? "pre-queue" : "pre-delivery";
}

/* What msg_end answered, copied out before msg_free. */
typedef struct outcome {
	int chunk_rc;           /* the first -1 of msg_chunk, else 0 */
	int action, nsigned, strip;
	char *add;              /* add_headers */
	size_t addlen;
	char code[128], reason[1024], smtp[1024], sigs[1024];
} outcome;

static void
outcome_free(outcome *o)
{
	free(o->add);
	o->add = NULL;
}

/* Feeds msg in the given chunking; returns the first -1 of msg_chunk. */
static int
feed(vdkim_msg *m, const char *msg, size_t len, int mode, uint64_t seed)
{
	rng r;
	size_t off = 0;

	rng_seed(&r, seed);
	while (off < len) {
		size_t n;
		switch (mode) {
		case FEED_ONE:
			n = len;
			break;
		case FEED_BYTES:
			n = 1;
			break;
		default:
			n = rng_below(&r, 8) == 0 ? 1 + rng_below(&r, 4096) :
			    rng_below(&r, 40);
			break;
		}
		if (n > len - off)
			n = len - off;
		if (A->msg_chunk(m, msg + off, n) != 0)
			return -1;
		off += n;
	}
	return 0;
}

/*
 * msg_end with a fresh result and the checks every answer must pass;
 * copies the answer into o.  0, or -1 with why.
 */
static int
end_msg(vdkim_msg *m, outcome *o, char *why, size_t wl)
{
	vdkim_hook_result res;

	memset(&res, 0xA5, sizeof(res)); /* nothing may be left unset */
	res.size = sizeof(res);
	if (A->msg_end(m, &res) != 0) {
		fmt(why, wl, "msg_end returned -1 for a well-formed call");
		return -1;
	}
	if (res.size < sizeof(res)) {
		fmt(why, wl, "msg_end set res.size to %zu", res.size);
		return -1;
	}
	if (res.add_headers == NULL || res.reason_code == NULL ||
	    res.reason == NULL || res.signatures == NULL) {
		fmt(why, wl, "msg_end left add_headers, reason_code, reason or "
		    "signatures NULL");
		return -1;
	}
	if (res.action != VDKIM_ACTION_CONTINUE && (res.smtp_reply == NULL ||
	    res.smtp_reply[0] == '\0')) {
		fmt(why, wl, "action %d without an smtp_reply", res.action);
		return -1;
	}
	if (strlen(res.add_headers) != res.add_headers_len) {
		fmt(why, wl, "add_headers_len %zu, but add_headers holds %zu "
		    "bytes", res.add_headers_len, strlen(res.add_headers));
		return -1;
	}
	if ((res.nsigned == 0) != (res.add_headers_len == 0) ||
	    res.nsigned < 0 || res.nsigned > 2 ||
	    count_sig_fields(res.add_headers, res.add_headers_len) !=
	    res.nsigned) {
		fmt(why, wl, "nsigned %d, but add_headers holds %d "
		    "DKIM-Signature fields", res.nsigned,
		    count_sig_fields(res.add_headers, res.add_headers_len));
		return -1;
	}
	if (res.nsigned > 0 && res.action != VDKIM_ACTION_CONTINUE) {
		fmt(why, wl, "signed, but action %d", res.action);
		return -1;
	}
	if (res.strip_x_dkim_options != 0 && res.strip_x_dkim_options != 1) {
		fmt(why, wl, "strip_x_dkim_options is %d",
		    res.strip_x_dkim_options);
		return -1;
	}
	o->action = res.action;
	o->nsigned = res.nsigned;
	o->strip = res.strip_x_dkim_options;
	o->add = xmemdup(res.add_headers, res.add_headers_len);
	o->addlen = res.add_headers_len;
	fmt(o->code, sizeof(o->code), "%s", res.reason_code);
	fmt(o->reason, sizeof(o->reason), "%s", res.reason);
	fmt(o->smtp, sizeof(o->smtp), "%s", res.smtp_reply ?
	    res.smtp_reply : "");
	fmt(o->sigs, sizeof(o->sigs), "%s", res.signatures);
	return 0;
}

/* One message through one hook: begin, feed, end, free. 0 or -1 + why. */
static int
run_msg(vdkim_instance *inst, int hook, const vdkim_msg_info *info,
    const char *msg, size_t len, int mode, uint64_t seed, outcome *o,
    char *why, size_t wl)
{
	vdkim_msg *m = NULL;
	char err[512] = "";
	int rc;

	memset(o, 0, sizeof(*o));
	if (A->msg_begin(inst, hook, info, &m, err, sizeof(err)) != 0) {
		fmt(why, wl, "msg_begin failed: %s", err);
		return -1;
	}
	if (m == NULL) {
		fmt(why, wl, "msg_begin returned 0 without a message");
		return -1;
	}
	o->chunk_rc = feed(m, msg, len, mode, seed);
	rc = end_msg(m, o, why, wl);
	A->msg_free(m);
	return rc;
}

static vdkim_msg_info
make_info(const char *vmta, const char *qid)
{
	vdkim_msg_info info;

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.vmta = vmta;
	info.source = "smtp-in";
	info.mail_from = "bounces@example.com";
	info.rcpt_domain = "example.net";
	info.queue_id = qid;
	return info;
}

/* ---------------------------------------------------------- verifying */

/*
 * Verifies add (the fields the module made) prepended to msg with the
 * engine's verifier and the WORKDIR keys.  0 when there are exactly
 * expect signatures and all pass; their "d=... s=..." list goes to sigs.
 */
static int
verify(const char *add, size_t addlen, const char *msg, size_t len,
    time_t now, int expect, char *sigs, size_t sigslen, char *why, size_t wl)
{
	vdkim_verifier *v = NULL;
	vdkim_error e;
	size_t n, used = 0;
	int rc = 0;

	if (sigs != NULL && sigslen > 0)
		sigs[0] = '\0';
	if (vdkim_verifier_new(vdkim_keymap_lookup, g_keys, &v, &e) !=
	    VDKIM_OK) {
		fmt(why, wl, "vdkim_verifier_new: %s", e.msg);
		return -1;
	}
	if (now != 0)
		vdkim_verifier_set_time(v, now);
	if (vdkim_verifier_message(v, add, addlen, &e) != VDKIM_OK ||
	    vdkim_verifier_message(v, msg, len, &e) != VDKIM_OK ||
	    vdkim_verifier_eom(v, &e) != VDKIM_OK) {
		fmt(why, wl, "the verifier failed: %s", e.msg);
		vdkim_verifier_free(v);
		return -1;
	}
	n = vdkim_verifier_count(v);
	if (n != (size_t)expect) {
		fmt(why, wl, "the verifier found %zu signatures, expected %d",
		    n, expect);
		rc = -1;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		const vdkim_sig_result *r = vdkim_verifier_result(v, i);
		if (r->result != VDKIM_RES_PASS) {
			fmt(why, wl, "signature %zu (d=%s s=%s) did not verify: "
			    "%s, %s: %s", i, r->domain, r->selector,
			    vdkim_result_name(r->result),
			    vdkim_reason_name(r->reason), r->detail);
			rc = -1;
		}
		if (sigs != NULL && used < sigslen)
			used += (size_t)snprintf(sigs + used, sigslen - used,
			    "%sd=%s s=%s", i ? "; " : "", r->domain,
			    r->selector);
	}
	vdkim_verifier_free(v);
	return rc;
}

/*
 * The common case: msg through one hook must be signed twice (RSA and
 * Ed25519), with CRLF or LF fields as the message has them, the signatures
 * text must be one of the expected ones (NULL: any of A and B) and match
 * what the verifier sees, and both signatures must pass.
 */
static int
sign_verify(vdkim_instance *inst, int hook, const vdkim_msg_info *info,
    const char *msg, size_t len, int mode, uint64_t seed,
    const char *want_sigs, time_t now, outcome *out, char *why, size_t wl)
{
	outcome o;
	char seen[1024], sub[1024];
	int crlf = memchr(msg, '\r', len) != NULL;

	if (run_msg(inst, hook, info, msg, len, mode, seed, &o, sub,
	    sizeof(sub)) != 0)
		goto fail;
	if (o.action != VDKIM_ACTION_CONTINUE || o.nsigned != 2 ||
	    o.chunk_rc != 0) {
		fmt(sub, sizeof(sub), "action %d, nsigned %d, chunk rc %d, "
		    "reason %s: %s", o.action, o.nsigned, o.chunk_rc, o.code,
		    o.reason);
		goto fail;
	}
	if (strcmp(o.code, "ok") != 0) {
		fmt(sub, sizeof(sub), "signed, but reason_code \"%s\" (%s)",
		    o.code, o.reason);
		goto fail;
	}
	if (want_sigs != NULL ? strcmp(o.sigs, want_sigs) != 0 :
	    strcmp(o.sigs, SIGS_A) != 0 && strcmp(o.sigs, SIGS_B) != 0) {
		fmt(sub, sizeof(sub), "signatures \"%s\", expected \"%s\"",
		    o.sigs, want_sigs ? want_sigs : SIGS_A "\" or \"" SIGS_B);
		goto fail;
	}
	if (check_eols(o.add, o.addlen, crlf, sub, sizeof(sub)) != 0)
		goto fail;
	if (verify(o.add, o.addlen, msg, len, now, 2, seen, sizeof(seen), sub,
	    sizeof(sub)) != 0)
		goto fail;
	if (strcmp(seen, o.sigs) != 0) {
		fmt(sub, sizeof(sub), "the module says it signed \"%s\", the "
		    "verifier sees \"%s\"", o.sigs, seen);
		goto fail;
	}
	if (out != NULL)
		*out = o;
	else
		outcome_free(&o);
	return 0;
fail:
	fmt(why, wl, "%s, %s, %s (seed %llu): %s", info && info->size >=
	    offsetof(vdkim_msg_info, pool) && info->vmta ? info->vmta :
	    "(no vmta)", hook_str(hook), feed_names[mode],
	    (unsigned long long)seed, sub);
	outcome_free(&o);
	return -1;
}

/* Opens CONF_MAIN with the capturing host; fails the test on error. */
static vdkim_instance *
open_main(time_t fixed, vdkim_host *host)
{
	char err[512] = "", *path = write_conf("main.conf", CONF_MAIN);
	vdkim_instance *inst = NULL;

	*host = make_host(fixed);
	ck_assert_msg(A->open(path, host, &inst, err, sizeof(err)) == 0,
	    "open %s: %s", path, err);
	ck_assert_ptr_nonnull(inst);
	free(path);
	return inst;
}

/* ========================================================= check_keys */

/* A rotation schedule with no key yet, its state file in @W@/STATE_DIR. */
static const char CONF_ROT_TMPL[] =
    "dkim-rotation q {\n"
    "  selector-pattern = \"k%%Yq%%Q\"\n"
    "  period = quarterly\n"
    "  key-dir = \"@W@/rotkeys\"\n"
    "  algorithm = ed25519-sha256\n"
    "  state-file = \"@W@/%s/rot.state\"\n"
    "}\n"
    "dkim-rotation-key = \"q,rot.example\"\n";

static vdkim_instance *
open_rot(const char *state_dir, vdkim_host *host)
{
	char tmpl[1024], err[512] = "", *path;
	vdkim_instance *inst = NULL;

	fmt(tmpl, sizeof(tmpl), CONF_ROT_TMPL, state_dir);
	path = write_conf("rot.conf", tmpl);
	*host = make_host(0);
	ck_assert_msg(A->open(path, host, &inst, err, sizeof(err)) == 0,
	    "open %s: %s", path, err);
	free(path);
	return inst;
}

/* check_keys with a summary whose fields are garbage until filled. */
static int
check_keys(vdkim_instance *inst, vdkim_check_summary *sum, char *err,
    size_t errlen)
{
	memset(sum, 0xff, sizeof(*sum));
	sum->size = sizeof(*sum);
	return A->check_keys(inst, 0, sum, err, errlen);
}

START_TEST(check_keys_without_schedules)
{
	vdkim_host host;
	vdkim_instance *inst = open_main(0, &host);
	vdkim_check_summary sum;
	char err[256] = "";

	ck_assert(VDKIM_API_HAS(A, check_keys));
	ck_assert_int_eq(check_keys(inst, &sum, err, sizeof(err)), 0);
	ck_assert_int_eq(sum.outcome, VDKIM_CHECK_OK);
	ck_assert_int_eq(sum.reload, 0);
	ck_assert_uint_eq(sum.domains, 0);
	ck_assert_uint_eq(sum.lookups, 0);
	/* A summary without its size is refused, said. */
	sum.size = 0;
	ck_assert_int_eq(A->check_keys(inst, 0, &sum, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "summary"));
	A->close(inst);
}
END_TEST

START_TEST(check_keys_records_and_says_reload)
{
	vdkim_host host;
	vdkim_instance *inst;
	vdkim_check_summary sum;
	char err[256] = "", *state = work_path("rot/rot.state");
	char *dir = work_path("rot"), *keys = work_path("rotkeys");
	struct stat st;

	mkdir(dir, 0700);
	mkdir(keys, 0700);
	free(dir);
	free(keys);
	unlink(state);
	inst = open_rot("rot", &host);
	/* No key in the key-dir: nothing to look up, nothing can sign. */
	ck_assert_int_eq(check_keys(inst, &sum, err, sizeof(err)), 0);
	ck_assert_int_eq(sum.outcome, VDKIM_CHECK_BROKEN);
	ck_assert_uint_eq(sum.domains, 1);
	ck_assert_uint_eq(sum.lookups, 0);
	ck_assert_int_eq(sum.reload, 1);
	/* The state file is written; the finding is logged as an error. */
	ck_assert_int_eq(stat(state, &st), 0);
	ck_assert_uint_eq(log_count(VDKIM_LOG_ERR, NULL, "vdkim: key check: "
	    "rot.example: BROKEN rotation-unverified", NULL), 1);
	ck_assert_int_eq(A->reload(inst, err, sizeof(err)), 0);
	A->close(inst);
	free(state);
}
END_TEST

START_TEST(check_keys_cannot_lock)
{
	vdkim_host host;
	vdkim_instance *inst = open_rot("no-such-dir", &host);
	vdkim_check_summary sum;
	char err[256] = "";

	ck_assert_int_eq(check_keys(inst, &sum, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no-such-dir/rot.state.lock"));
	ck_assert_uint_eq(log_count(VDKIM_LOG_ERR, NULL, "vdkim: key check "
	    "failed: ", NULL), 1);
	A->close(inst);
}
END_TEST

/* ====================================================== host blocks */

START_TEST(open_host_registers_its_block)
{
	char err[512] = "", *text, *path;
	vdkim_host host = make_host(0);
	vdkim_instance *inst = NULL;
	size_t n = strlen(CONF_MAIN);

	/* CONF_MAIN, a block of our own, and the shipped hosts' blocks. */
	text = malloc(n + 128);
	ck_assert_ptr_nonnull(text);
	memcpy(text, CONF_MAIN, n);
	strcpy(text + n, "mymta {\n  listen = \"x\"\n}\nharness {\n  a = 1\n}\n"
	    "milter {\n  b = 2\n}\n");
	path = write_conf("blocks.conf", text);
	free(text);
	/* Not registered: our block is an unknown directive. */
	ck_assert_int_eq(A->open(path, &host, &inst, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "unknown directive") != NULL &&
	    strstr(err, "mymta") != NULL, "%s", err);
	/* Registered: skipped, and the shipped hosts' blocks too, also on
	 * reload (the module keeps its own copy of the name). */
	{
		char name[] = "mymta";
		host.config_block = name;
		ck_assert_msg(A->open(path, &host, &inst, err, sizeof(err)) ==
		    0, "%s", err);
		name[0] = 'X';
	}
	ck_assert_msg(A->reload(inst, err, sizeof(err)) == 0, "%s", err);
	A->close(inst);
	free(path);
}
END_TEST

/* ===================================================== vdkim_get_api */

START_TEST(get_api_exports_one_symbol)
{
	/* Names the module uses inside; none may be visible to the host. */
	static const char *const hidden[] = { "vdkim_signer_new",
	    "vdkim_verifier_new", "vdkim_key_load_file", "vdkim_policy_load",
	    "vdkim_slot_new", "vdkim_policy_decide", "inst_open",
	    "msg_begin", "msg_end", "api_v1", NULL };
	void *again;

	ck_assert_ptr_nonnull(g_get);
	for (size_t i = 0; hidden[i] != NULL; i++)
		ck_assert_msg(dlsym(g_dl, hidden[i]) == NULL, "%s exports %s "
		    "(only vdkim_get_api may be visible)", g_so_path,
		    hidden[i]);
	/* A second dlopen of the same file is the same module. */
	again = dlopen(g_so_path, RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(again != NULL, "dlopen again: %s", dlerror());
	ck_assert_ptr_eq(dlsym(again, "vdkim_get_api"), (void *)g_get);
	dlclose(again);
}
END_TEST

START_TEST(get_api_current)
{
	const vdkim_api *api = NULL;
	char err[256] = "untouched";

	ck_assert_int_eq(g_get(VDKIM_ABI_VERSION, &api, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(api);
	ck_assert_uint_ge(api->size, sizeof(vdkim_api));
	ck_assert_uint_eq(api->abi_version, VDKIM_ABI_VERSION);
	ck_assert_ptr_nonnull(api->module_version);
	ck_assert_msg(api->module_version[0] != '\0', "empty module_version");
	ck_assert_ptr_nonnull(api->open);
	ck_assert_ptr_nonnull(api->reload);
	ck_assert_ptr_nonnull(api->close);
	ck_assert_ptr_nonnull(api->msg_begin);
	ck_assert_ptr_nonnull(api->msg_chunk);
	ck_assert_ptr_nonnull(api->msg_end);
	ck_assert_ptr_nonnull(api->msg_free);
	/* No err buffer at all is fine too. */
	api = NULL;
	ck_assert_int_eq(g_get(VDKIM_ABI_VERSION, &api, NULL, 0), 0);
	ck_assert_ptr_eq(api, A);
}
END_TEST

static const unsigned bad_versions[] = { 999, 0, VDKIM_ABI_VERSION + 1 };

START_TEST(get_api_wrong_version)
{
	unsigned v = bad_versions[_i];
	const vdkim_api *api = (const vdkim_api *)&v; /* must become NULL */
	char err[256] = "", want_host[64], want_mod[64];

	ck_assert_int_eq(g_get(v, &api, err, sizeof(err)), -1);
	ck_assert_msg(api == NULL, "*api not set to NULL on refusal");
	fmt(want_host, sizeof(want_host), "version %u", v);
	fmt(want_mod, sizeof(want_mod), "version %u", VDKIM_ABI_VERSION);
	ck_assert_msg(strstr(err, want_host) != NULL && strstr(err,
	    want_mod) != NULL, "the refusal of ABI %u does not name both "
	    "versions: \"%s\"", v, err);
	ck_assert_msg(strlen(err) > 30 && strchr(err, '\n') == NULL,
	    "not one sentence: \"%s\"", err);
	/* No buffer, and a buffer too small: no crash, NUL-terminated. */
	api = (const vdkim_api *)&v;
	ck_assert_int_eq(g_get(v, &api, NULL, 0), -1);
	ck_assert_ptr_null(api);
	{
		char small[12];
		memset(small, 'x', sizeof(small));
		ck_assert_int_eq(g_get(v, &api, small, 8), -1);
		ck_assert_msg(memchr(small, '\0', 8) != NULL,
		    "err not NUL-terminated within errlen");
		ck_assert_msg(small[8] == 'x' && small[11] == 'x',
		    "err written past errlen");
	}
}
END_TEST

START_TEST(get_api_null_pointer)
{
	char err[256] = "";

	ck_assert_int_eq(g_get(VDKIM_ABI_VERSION, NULL, err, sizeof(err)), -1);
	ck_assert_msg(err[0] != '\0', "no sentence for a NULL api pointer");
	ck_assert_int_eq(g_get(999, NULL, err, sizeof(err)), -1);
	ck_assert_int_eq(g_get(VDKIM_ABI_VERSION, NULL, NULL, 0), -1);
}
END_TEST

/* =============================================================== open */

START_TEST(open_missing_file)
{
	char err[512] = "", *path = work_path("no-such-dir/vdkim.conf");
	vdkim_instance *inst = (vdkim_instance *)&err;
	vdkim_host host = make_host(0);

	ck_assert_int_eq(A->open(path, &host, &inst, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, path) != NULL, "the error does not name "
	    "%s: \"%s\"", path, err);
	/* Without an error buffer, and without a host. */
	ck_assert_int_eq(A->open(path, &host, &inst, NULL, 0), -1);
	ck_assert_int_eq(A->open(path, NULL, &inst, err, sizeof(err)), -1);
	/* No path, no out pointer. */
	ck_assert_int_eq(A->open(NULL, &host, &inst, err, sizeof(err)), -1);
	ck_assert_msg(err[0] != '\0', "no sentence for a NULL config path");
	{
		char *good = write_conf("main.conf", CONF_MAIN);
		err[0] = '\0';
		ck_assert_int_eq(A->open(good, &host, NULL, err, sizeof(err)),
		    -1);
		ck_assert_msg(err[0] != '\0', "no sentence for a NULL out "
		    "pointer");
		free(good);
	}
	free(path);
}
END_TEST

START_TEST(open_syntax_error)
{
	char err[512] = "", want[4200];
	char *path = write_conf("broken.conf", CONF_BROKEN);
	vdkim_instance *inst = NULL;
	vdkim_host host = make_host(0);

	ck_assert_int_eq(A->open(path, &host, &inst, err, sizeof(err)), -1);
	fmt(want, sizeof(want), "%s:%d: ", path, CONF_BROKEN_LINE);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "expected "
	    "\"%s...\", got \"%s\"", want, err);
	ck_assert_msg(strstr(err, "dkim-sign") != NULL, "the error does not "
	    "name the directive: \"%s\"", err);
	free(path);
}
END_TEST

START_TEST(open_host_too_small)
{
	char err[512] = "", *path = write_conf("main.conf", CONF_MAIN);
	vdkim_instance *inst = NULL;
	vdkim_host host = make_host(0);
	static const size_t sizes[] = { 0, 1, sizeof(size_t) };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		host.size = sizes[i];
		err[0] = '\0';
		inst = NULL;
		ck_assert_msg(A->open(path, &host, &inst, err, sizeof(err)) ==
		    -1, "a vdkim_host of size %zu was accepted", sizes[i]);
		ck_assert_msg(strlen(err) > 20, "refused without a sentence "
		    "(size %zu): \"%s\"", sizes[i], err);
		ck_assert_ptr_null(inst);
	}
	ck_assert_uint_eq(log_count(-1, NULL, "", NULL), 0);
	free(path);
}
END_TEST

/* A now() that must not be called: it lies past the host's size. */
static time_t
poison_now(void *ctx)
{
	(void)ctx;
	abort();
}

START_TEST(open_host_without_now)
{
	/* A host built before the now field existed: size stops before it.
	 * The module must use time(NULL) and never touch the field. */
	char why[1024] = "", t[64];
	vdkim_host host = make_host(0);
	vdkim_instance *inst = NULL;
	char err[512] = "", *path = write_conf("main.conf", CONF_MAIN);
	vdkim_msg_info info = make_info("signer", "Q-OLDHOST");
	outcome o;
	time_t before = time(NULL), after;

	host.size = offsetof(vdkim_host, now);
	host.now = poison_now;
	ck_assert_msg(A->open(path, &host, &inst, err, sizeof(err)) == 0,
	    "open with an older vdkim_host: %s", err);
	ck_assert_msg(sign_verify(inst, VDKIM_HOOK_PRE_DELIVERY, &info,
	    MSG_STD, strlen(MSG_STD), FEED_ONE, 1, SIGS_A, 0, &o, why,
	    sizeof(why)) == 0, "%s", why);
	after = time(NULL);
	ck_assert_int_eq(sig_tag(o.add, o.addlen, 0, "t", t, sizeof(t)), 0);
	ck_assert_msg(atoll(t) >= (long long)before && atoll(t) <=
	    (long long)after, "t=%s is not the real time", t);
	ck_assert_uint_eq(log_count(-1, NULL, "Q-OLDHOST", NULL), 1);
	outcome_free(&o);
	A->close(inst);
	free(path);
}
END_TEST

START_TEST(open_null_host_is_quiet)
{
	char err[512] = "", rerr[512] = "", why[1024] = "";
	char *path = write_conf("quiet.conf", CONF_MAIN);
	char *cap = work_path("quiet.out");
	vdkim_instance *inst = NULL;
	vdkim_msg_info info = make_info("signer", "Q-QUIET");
	int fd, save1, save2, rc_open, rc_sign, rc_bad, rc_reload = 0;
	struct stat st;
	outcome o;
	size_t blen;
	char *bad = make_msg("x@broken.example", NULL, &blen);
	vdkim_msg_info binfo = make_info("broken", "Q-QUIET2");

	/* Everything the module might print goes to a file. */
	fflush(stdout);
	fflush(stderr);
	fd = open(cap, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	save1 = dup(1);
	save2 = dup(2);
	dup2(fd, 1);
	dup2(fd, 2);
	rc_open = A->open(path, NULL, &inst, err, sizeof(err));
	rc_sign = rc_open == 0 ? sign_verify(inst, VDKIM_HOOK_PRE_QUEUE, &info,
	    MSG_STD, strlen(MSG_STD), FEED_RANDOM, 2, SIGS_A, 0, NULL, why,
	    sizeof(why)) : -1;
	/* A deferred message and a reload failure: logged lines, if a host
	 * had a log callback. */
	rc_bad = rc_open == 0 ? run_msg(inst, VDKIM_HOOK_PRE_DELIVERY, &binfo,
	    bad, blen, FEED_ONE, 0, &o, why, sizeof(why)) : -1;
	if (rc_bad == 0)
		outcome_free(&o);
	if (rc_open == 0) {
		free(write_conf("quiet.conf", CONF_BROKEN));
		rc_reload = A->reload(inst, rerr, sizeof(rerr));
	}
	fflush(stdout);
	fflush(stderr);
	dup2(save1, 1);
	dup2(save2, 2);
	close(save1);
	close(save2);
	close(fd);
	ck_assert_msg(rc_open == 0, "open with host NULL: %s", err);
	ck_assert_msg(rc_sign == 0, "%s", why);
	ck_assert_msg(rc_bad == 0, "%s", why);
	ck_assert_msg(rc_reload == -1, "reload of a broken config: %d",
	    rc_reload);
	ck_assert_int_eq(stat(cap, &st), 0);
	ck_assert_msg(st.st_size == 0, "the module printed %lld bytes to "
	    "stdout/stderr (see %s)", (long long)st.st_size, cap);
	A->close(inst);
	A->close(NULL);
	free(bad);
	free(path);
	free(cap);
}
END_TEST

START_TEST(open_good_config)
{
	char err[512] = "", *path = write_conf("main.conf", CONF_MAIN);
	vdkim_instance *inst = NULL;
	vdkim_host host = make_host(0);
	const char *line = NULL;

	ck_assert_msg(A->open(path, &host, &inst, err, sizeof(err)) == 0,
	    "open %s: %s", path, err);
	ck_assert_ptr_nonnull(inst);
	/* The key of virtual-mta broken is missing: said at open, as an
	 * error, naming the file. */
	ck_assert_msg(log_count(VDKIM_LOG_ERR, &line, "gone.private", NULL) ==
	    1, "no error line about the missing key at open:%s", log_dump());
	A->close(inst);
	A->close(NULL);
	/* A newer host's bigger struct: what the module knows is read. */
	{
		struct {
			vdkim_host h;
			char future[64];
		} big;
		memset(&big, 0x5A, sizeof(big));
		big.h = make_host(0);
		big.h.size = sizeof(big);
		ck_assert_msg(A->open(path, &big.h, &inst, err, sizeof(err)) ==
		    0, "open with a bigger vdkim_host: %s", err);
		ck_assert_msg(log_count(VDKIM_LOG_DEBUG, NULL, "loaded", NULL) == 1,
		    "nothing logged through the bigger host:%s", log_dump());
		A->close(inst);
	}
	/* Without a log callback, without a host: the same config opens. */
	host.log = NULL;
	ck_assert_int_eq(A->open(path, &host, &inst, err, sizeof(err)), 0);
	A->close(inst);
	ck_assert_int_eq(A->open(path, NULL, &inst, err, sizeof(err)), 0);
	A->close(inst);
	free(path);
}
END_TEST

/* ================================================= messages: signing */

START_TEST(sign_both_hooks_all_chunkings)
{
	vdkim_host host;
	vdkim_instance *inst = open_main(0, &host);
	char why[2048], qid[64], t[64];
	size_t biglen;
	char *big = make_big(200000, 7, &biglen);
	const struct {
		const char *msg;
		size_t len;
	} msgs[] = { { MSG_STD, strlen(MSG_STD) }, { big, biglen } };
	int n = 0;

	for (size_t k = 0; k < 2; k++)
		for (size_t h = 0; h < 2; h++)
			for (int mode = 0; mode < FEED_NMODES; mode++)
				for (uint64_t seed = 1; seed <= (mode ==
				    FEED_RANDOM ? 3 : 1); seed++) {
			outcome o;
			vdkim_msg_info info;
			const char *line = NULL;

			if (k == 1 && mode == FEED_BYTES && h == 1)
				continue; /* 200 KB byte by byte: once */
			fmt(qid, sizeof(qid), "Q-SIGN-%d", n++);
			info = make_info("signer", qid);
			ck_assert_msg(sign_verify(inst, hooks[h], &info,
			    msgs[k].msg, msgs[k].len, mode, seed, SIGS_A, 0,
			    &o, why, sizeof(why)) == 0, "%s", why);
			ck_assert_msg(check_eols(o.add, o.addlen, 1, why,
			    sizeof(why)) == 0, "%s", why);
			ck_assert_int_eq(o.strip, 0);
			/* RSA first, Ed25519 second. */
			ck_assert_int_eq(sig_tag(o.add, o.addlen, 0, "a", t,
			    sizeof(t)), 0);
			ck_assert_str_eq(t, "rsa-sha256");
			ck_assert_int_eq(sig_tag(o.add, o.addlen, 1, "a", t,
			    sizeof(t)), 0);
			ck_assert_str_eq(t, "ed25519-sha256");
			/* One log line for the message, saying signed. */
			ck_assert_msg(log_count(-1, &line, qid, NULL) == 1,
			    "%s: expected one log line:%s", qid, log_dump());
			ck_assert_msg(strstr(line, "signed") != NULL &&
			    strstr(line, "unsigned") == NULL,
			    "log line does not say signed: %s", line);
			outcome_free(&o);
		}
	A->close(inst);
	free(big);
}
END_TEST

START_TEST(sign_bare_lf)
{
	vdkim_host host;
	vdkim_instance *inst = open_main(0, &host);
	char why[2048];
	size_t lflen, biglen, biglflen;
	char *lf = to_lf(MSG_STD, strlen(MSG_STD), &lflen);
	char *big = make_big(50000, 11, &biglen);
	char *biglf = to_lf(big, biglen, &biglflen);

	for (size_t h = 0; h < 2; h++)
		for (int mode = 0; mode < FEED_NMODES; mode++) {
			outcome o;
			vdkim_msg_info info = make_info("signer", "Q-LF");
			ck_assert_msg(sign_verify(inst, hooks[h], &info, lf,
			    lflen, mode, 5, SIGS_A, 0, &o, why, sizeof(why)) ==
			    0, "bare LF: %s", why);
			ck_assert_msg(check_eols(o.add, o.addlen, 0, why,
			    sizeof(why)) == 0, "%s", why);
			outcome_free(&o);
			ck_assert_msg(sign_verify(inst, hooks[h], &info, biglf,
			    biglflen, mode == FEED_BYTES ? FEED_RANDOM : mode,
			    6, SIGS_A, 0, NULL, why, sizeof(why)) == 0,
			    "bare LF, 50 KB: %s", why);
		}
	A->close(inst);
	free(lf);
	free(big);
	free(biglf);
}
END_TEST

START_TEST(sign_header_only_message)
{
	/* No empty line, no body: msg_end ends the header itself. */
	static const char msg[] = "From: alice@example.com\r\n"
	    "To: bob@example.net\r\nSubject: no body\r\n";
	vdkim_host host;
	vdkim_instance *inst = open_main(0, &host);
	char why[2048];
	vdkim_msg_info info = make_info("signer", "Q-NOBODY");

	for (size_t h = 0; h < 2; h++)
		for (int mode = 0; mode < FEED_NMODES; mode++)
			ck_assert_msg(sign_verify(inst, hooks[h], &info, msg,
			    strlen(msg), mode, 3, SIGS_A, 0, NULL, why,
			    sizeof(why)) == 0, "header only: %s", why);
	A->close(inst);
}
END_TEST

START_TEST(sign_fixed_clock)
{
	vdkim_host host;
	vdkim_instance *inst = open_main(FIXED_NOW, &host);
	char why[2048], t[64], want[64];
	outcome o;
	vdkim_msg_info info = make_info("signer", "Q-CLOCK");

	fmt(want, sizeof(want), "%lld", (long long)FIXED_NOW);
	for (size_t h = 0; h < 2; h++) {
		ck_assert_msg(sign_verify(inst, hooks[h], &info, MSG_STD,
		    strlen(MSG_STD), FEED_RANDOM, 9, SIGS_A, FIXED_NOW + 60,
		    &o, why, sizeof(why)) == 0, "%s", why);
		for (int k = 0; k < 2; k++) {
			ck_assert_msg(sig_tag(o.add, o.addlen, k, "t", t,
			    sizeof(t)) == 0, "signature %d has no t=", k);
			ck_assert_msg(strcmp(t, want) == 0, "signature %d: "
			    "t=%s, the host's clock says %s", k, t, want);
		}
		outcome_free(&o);
	}
	ck_assert_msg(HC.nows > 0, "the host's now() was never called");
	A->close(inst);
}
END_TEST

/* ======================================== messages: not signed, stopped */

START_TEST(nosign_disabled)
{
	vdkim_host host;
	vdkim_instance *inst = open_main(0, &host);
	char why[2048];
	outcome o;
	vdkim_msg_info info = make_info("nosign", "Q-NOSIGN");

	for (size_t h = 0; h < 2; h++)
		for (int mode = 0; mode < FEED_NMODES; mode++) {
			const char *line = NULL;
			hc_reset(0);
			ck_assert_msg(run_msg(inst, hooks[h], &info, MSG_STD,
			    strlen(MSG_STD), mode, 4, &o, why, sizeof(why)) ==
			    0, "%s", why);
			ck_assert_int_eq(o.action, VDKIM_ACTION_CONTINUE);
			ck_assert_int_eq(o.nsigned, 0);
			ck_assert_str_eq(o.add, "");
			ck_assert_str_eq(o.sigs, "");
			ck_assert_str_eq(o.code, "signing-disabled");
			ck_assert_msg(strlen(o.reason) > 20, "no sentence: %s",
			    o.reason);
			ck_assert_msg(log_count(-1, &line, "Q-NOSIGN", NULL) ==
			    1, "expected one log line:%s", log_dump());
			ck_assert_msg(strstr(line, "signing-disabled") != NULL,
			    "log line without the reason: %s", line);
			outcome_free(&o);
		}
	A->close(inst);
}
END_TEST

START_TEST(nosign_no_vmta_uses_global_scope)
{
	/* No VMTA named and no "default" defined: the global scope, which
	 * does not sign here (not unknown-vmta). */
	vdkim_host host;
	vdkim_instance *inst = open_main(0, &host);
	char why[2048];
	outcome o;
	vdkim_msg_info info = make_info(NULL, "Q-NOVMTA");

	ck_assert_msg(run_msg(inst, VDKIM_HOOK_PRE_QUEUE, &info, MSG_STD,
	    strlen(MSG_STD), FEED_ONE, 0, &o, why, sizeof(why)) == 0, "%s",
	    why);
	ck_assert_int_eq(o.action, VDKIM_ACTION_CONTINUE);
	ck_assert_int_eq(o.nsigned, 0);
	ck_assert_str_eq(o.code, "signing-disabled");
	outcome_free(&o);
	A->close(inst);
}
END_TEST

/* A DEFER answer: 451 4.7.5 with the reason. */
static void
check_defer(const outcome *o, const char *code)
{
	ck_assert_msg(o->action == VDKIM_ACTION_DEFER, "action %d, expected "
	    "DEFER (%s: %s)", o->action, o->code, o->reason);
	ck_assert_int_eq(o->nsigned, 0);
	ck_assert_str_eq(o->add, "");
	ck_assert_str_eq(o->code, code);
	ck_assert_msg(strncmp(o->smtp, "451 4.7.5", 9) == 0, "smtp_reply "
	    "\"%s\"", o->smtp);
	ck_assert_msg(strchr(o->smtp, '\r') == NULL && strchr(o->smtp, '\n') ==
	    NULL, "smtp_reply holds a line end: \"%s\"", o->smtp);
	ck_assert_msg(strlen(o->reason) > 20, "no sentence: \"%s\"",
	    o->reason);
}

START_TEST(defer_no_key)
{
	vdkim_host host;
	vdkim_instance *inst = open_main(0, &host);
	char why[2048];
	outcome o;
	size_t len;
	char *msg = make_msg("carol@nokey.example", NULL, &len);
	vdkim_msg_info info = make_info("require", "Q-NOKEY");

	for (size_t h = 0; h < 2; h++)
		for (int mode = 0; mode < FEED_NMODES; mode++) {
			const char *line = NULL;
			hc_reset(0);
			ck_assert_msg(run_msg(inst, hooks[h], &info, msg, len,
			    mode, 8, &o, why, sizeof(why)) == 0, "%s", why);
			check_defer(&o, "no-key");
			ck_assert_msg(strstr(o.reason, "nokey.example") != NULL,
			    "the reason does not name the domain: %s",
			    o.reason);
			ck_assert_msg(log_count(-1, &line, "Q-NOKEY", NULL) ==
			    1, "expected one log line:%s", log_dump());
			ck_assert_msg(strstr(line, "no-key") != NULL, "log "
			    "line without the reason: %s", line);
			outcome_free(&o);
		}
	free(msg);
	A->close(inst);
}
END_TEST

START_TEST(defer_key_not_loaded)
{
	vdkim_host host;
	vdkim_instance *inst = open_main(0, &host);
	char why[2048];
	outcome o;
	size_t len;
	char *msg = make_msg("dave@broken.example", NULL, &len);
	vdkim_msg_info info = make_info("broken", "Q-NOTLOADED");

	for (size_t h = 0; h < 2; h++)
		for (int mode = 0; mode < FEED_NMODES; mode++) {
			hc_reset(0);
			ck_assert_msg(run_msg(inst, hooks[h], &info, msg, len,
			    mode, 10, &o, why, sizeof(why)) == 0, "%s", why);
			check_defer(&o, "key-not-loaded");
			ck_assert_msg(strstr(o.reason, "gone.private") != NULL ||
			    strstr(o.reason, "gone") != NULL, "the reason does "
			    "not name the key: %s", o.reason);
			ck_assert_msg(log_count(-1, NULL, "Q-NOTLOADED",
			    "key-not-loaded", NULL) == 1, "expected one log "
			    "line:%s", log_dump());
			outcome_free(&o);
		}
	free(msg);
	A->close(inst);
}
END_TEST

START_TEST(unknown_vmta)
{
	vdkim_host host;
	vdkim_instance *inst = open_main(0, &host);
	char why[2048];
	outcome o;
	vdkim_msg_info info = make_info("no-such-vmta", "Q-UNKNOWN");

	for (size_t h = 0; h < 2; h++) {
		hc_reset(0);
		ck_assert_msg(run_msg(inst, hooks[h], &info, MSG_STD,
		    strlen(MSG_STD), FEED_RANDOM, 12, &o, why, sizeof(why)) ==
		    0, "%s", why);
		ck_assert_str_eq(o.code, "unknown-vmta");
		ck_assert_int_eq(o.nsigned, 0);
		ck_assert_int_eq(o.action, VDKIM_ACTION_CONTINUE);
		ck_assert_msg(strstr(o.reason, "no-such-vmta") != NULL,
		    "the reason does not name the VMTA: %s", o.reason);
		ck_assert_msg(log_count(-1, NULL, "Q-UNKNOWN", "unknown-vmta",
		    NULL) == 1, "expected one log line:%s", log_dump());
		outcome_free(&o);
	}
	A->close(inst);
}
END_TEST

/* ====================================================== X-DKIM-Options */

/* Signs msg through VMTA xopt from source; the host then removes the
 * field, and the single signature must verify with selector want_s. */
static void
xopt_case(vdkim_instance *inst, const char *source, const char *msg,
    const char *want_s, const char *want_code)
{
	char why[2048], h[1024], s[64];
	size_t len = strlen(msg), slen;
	char *sent;

	for (size_t k = 0; k < 2; k++)
		for (int mode = 0; mode < FEED_NMODES; mode++) {
			outcome o;
			vdkim_msg_info info = make_info("xopt", "Q-XOPT");
			info.source = source;
			ck_assert_msg(run_msg(inst, hooks[k], &info, msg, len,
			    mode, 13, &o, why, sizeof(why)) == 0, "%s", why);
			ck_assert_msg(o.action == VDKIM_ACTION_CONTINUE &&
			    o.nsigned == 1, "source %s: action %d nsigned %d "
			    "(%s: %s)", source, o.action, o.nsigned, o.code,
			    o.reason);
			ck_assert_msg(o.strip == 1, "source %s, %s: "
			    "strip_x_dkim_options is 0 with an X-DKIM-Options "
			    "field", source, hook_str(hooks[k]));
			ck_assert_str_eq(o.code, want_code);
			ck_assert_int_eq(sig_tag(o.add, o.addlen, 0, "s", s,
			    sizeof(s)), 0);
			ck_assert_str_eq(s, want_s);
			/* The field was not signed: removing it is safe. */
			ck_assert_int_eq(sig_tag(o.add, o.addlen, 0, "h", h,
			    sizeof(h)), 0);
			ck_assert_msg(strcasestr(h, "x-dkim-options") == NULL,
			    "X-DKIM-Options is signed: h=%s", h);
			sent = strip_xopts(msg, len, &slen);
			ck_assert_msg(strcasestr(sent, "X-DKIM-Options") ==
			    NULL, "test bug: field not stripped");
			ck_assert_msg(verify(o.add, o.addlen, sent, slen, 0, 1,
			    NULL, 0, why, sizeof(why)) == 0, "source %s, %s, "
			    "%s, after removing X-DKIM-Options: %s", source,
			    hook_str(hooks[k]), feed_names[mode], why);
			free(sent);
			outcome_free(&o);
		}
}

START_TEST(x_dkim_options)
{
	static const char msg[] =
	    "From: alice@example.com\r\n"
	    "To: bob@example.net\r\n"
	    "X-DKIM-Options: s=ed1;\r\n"
	    "\td=example.com\r\n"
	    "Subject: options\r\n"
	    "\r\n"
	    "Body.\r\n";
	vdkim_host host;
	vdkim_instance *inst = open_main(0, &host);

	/* Honoured: the field picks ed1 over the first key (rsa1). */
	xopt_case(inst, "trusted", msg, "ed1", "ok");
	/* Refused (the source may not): the usual key, still stripped. */
	xopt_case(inst, "smtp-in", msg, "rsa1", "x-dkim-options-refused");
	A->close(inst);
}
END_TEST

/* ========================================================= bad message */

static const char MSG_BAD[] =
    "From: alice@example.com\r\n"
    "To: bob@example.net\r\n"
    "this line is not a header field\r\n"
    "Subject: broken\r\n"
    "\r\n"
    "Body.\r\n";

START_TEST(bad_message_pre_queue_rejects)
{
	vdkim_host host;
	vdkim_instance *inst = open_main(0, &host);
	char why[2048];
	outcome o;
	vdkim_msg_info info = make_info("signer", "Q-BADPQ");

	for (int mode = 0; mode < FEED_NMODES; mode++) {
		hc_reset(0);
		ck_assert_msg(run_msg(inst, VDKIM_HOOK_PRE_QUEUE, &info, MSG_BAD,
		    strlen(MSG_BAD), mode, 14, &o, why, sizeof(why)) == 0, "%s",
		    why);
		ck_assert_msg(o.action == VDKIM_ACTION_REJECT, "%s: action %d "
		    "(%s: %s)", feed_names[mode], o.action, o.code, o.reason);
		ck_assert_msg(strncmp(o.smtp, "550", 3) == 0, "smtp_reply "
		    "\"%s\"", o.smtp);
		ck_assert_str_eq(o.code, "bad-message");
		ck_assert_int_eq(o.nsigned, 0);
		ck_assert_str_eq(o.add, "");
		ck_assert_msg(log_count(-1, NULL, "Q-BADPQ", "bad-message",
		    NULL) == 1, "expected one log line:%s", log_dump());
		outcome_free(&o);
	}
	A->close(inst);
}
END_TEST

START_TEST(bad_message_pre_delivery_continues)
{
	vdkim_host host;
	vdkim_instance *inst = open_main(0, &host);
	char why[2048];
	outcome o;
	vdkim_msg_info info = make_info("signer", "Q-BADPD");

	for (int mode = 0; mode < FEED_NMODES; mode++) {
		hc_reset(0);
		ck_assert_msg(run_msg(inst, VDKIM_HOOK_PRE_DELIVERY, &info,
		    MSG_BAD, strlen(MSG_BAD), mode, 15, &o, why, sizeof(why)) ==
		    0, "%s", why);
		ck_assert_msg(o.action == VDKIM_ACTION_CONTINUE, "%s: action %d "
		    "(%s: %s)", feed_names[mode], o.action, o.code, o.reason);
		ck_assert_int_eq(o.nsigned, 0);
		ck_assert_str_eq(o.add, "");
		ck_assert_str_eq(o.code, "bad-message");
		ck_assert_msg(log_count(-1, NULL, "Q-BADPD", "bad-message",
		    NULL) == 1, "expected one log line:%s", log_dump());
		outcome_free(&o);
	}
	A->close(inst);
}
END_TEST

START_TEST(bad_message_still_strips_x_dkim_options)
{
	/* X-DKIM-Options "is always to be removed before the message leaves"
	 * (conf-examples/README.md).  A pre-delivery message with a broken
	 * header goes on unsigned: the field it carries, seen before the
	 * broken line, must still be flagged for removal. */
	static const char msg[] =
	    "From: alice@example.com\r\n"
	    "X-DKIM-Options: s=ed1; d=example.com; key-list=tenant42\r\n"
	    "this line is not a header field\r\n"
	    "Subject: broken\r\n"
	    "\r\n"
	    "Body.\r\n";
	vdkim_host host;
	vdkim_instance *inst = open_main(0, &host);
	char why[2048];
	outcome o;
	vdkim_msg_info info = make_info("xopt", "Q-BADXOPT");

	info.source = "trusted";
	for (int mode = 0; mode < FEED_NMODES; mode++) {
		ck_assert_msg(run_msg(inst, VDKIM_HOOK_PRE_DELIVERY, &info, msg,
		    strlen(msg), mode, 17, &o, why, sizeof(why)) == 0, "%s",
		    why);
		ck_assert_int_eq(o.action, VDKIM_ACTION_CONTINUE);
		ck_assert_str_eq(o.code, "bad-message");
		ck_assert_msg(o.strip == 1, "%s: a message leaving unsigned "
		    "(bad-message) keeps its X-DKIM-Options field: "
		    "strip_x_dkim_options is 0", feed_names[mode]);
		outcome_free(&o);
	}
	A->close(inst);
}
END_TEST

START_TEST(unsigned_still_strips_x_dkim_options)
{
	static const char msg[] =
	    "From: alice@example.com\r\n"
	    "X-DKIM-Options: s=ed1\r\n"
	    "Subject: options\r\n"
	    "\r\n"
	    "Body.\r\n";
	/* Unsigned by policy, and unsigned for an unknown VMTA. */
	static const char *const vmtas[] = { "nosign", "no-such-vmta" };
	static const char *const codes[] = { "signing-disabled",
	    "unknown-vmta" };
	vdkim_host host;
	vdkim_instance *inst = open_main(0, &host);
	char why[2048];
	outcome o;

	for (size_t v = 0; v < 2; v++)
		for (size_t h = 0; h < 2; h++) {
			vdkim_msg_info info = make_info(vmtas[v], "Q-XSTRIP");
			ck_assert_msg(run_msg(inst, hooks[h], &info, msg,
			    strlen(msg), FEED_RANDOM, 18, &o, why,
			    sizeof(why)) == 0, "%s", why);
			ck_assert_msg(strcmp(o.code, codes[v]) == 0,
			    "vmta %s: reason %s", vmtas[v], o.code);
			ck_assert_int_eq(o.nsigned, 0);
			ck_assert_msg(o.strip == 1, "vmta %s, %s: "
			    "strip_x_dkim_options is 0", vmtas[v],
			    hook_str(hooks[h]));
			outcome_free(&o);
		}
	A->close(inst);
}
END_TEST

/* ==================================================== argument checks */

START_TEST(msg_end_small_result)
{
	vdkim_host host;
	vdkim_instance *inst = open_main(0, &host);
	vdkim_msg_info info = make_info("signer", "Q-SMALLRES");
	vdkim_msg *m = NULL;
	vdkim_hook_result res;
	char err[512] = "", why[2048];
	outcome o;

	ck_assert_int_eq(A->msg_begin(inst, VDKIM_HOOK_PRE_QUEUE, &info, &m,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(feed(m, MSG_STD, strlen(MSG_STD), FEED_ONE, 0), 0);
	memset(&res, 0, sizeof(res));
	res.size = sizeof(res) - 1;
	ck_assert_int_eq(A->msg_end(m, &res), -1);
	res.size = offsetof(vdkim_hook_result, reason_code);
	ck_assert_int_eq(A->msg_end(m, &res), -1);
	res.size = 0;
	ck_assert_int_eq(A->msg_end(m, &res), -1);
	ck_assert_int_eq(A->msg_end(m, NULL), -1);
	ck_assert_int_eq(A->msg_end(NULL, &res), -1);
	/* The refusals changed nothing: the message still ends well. */
	ck_assert_msg(end_msg(m, &o, why, sizeof(why)) == 0, "%s", why);
	ck_assert_int_eq(o.nsigned, 2);
	ck_assert_msg(verify(o.add, o.addlen, MSG_STD, strlen(MSG_STD), 0, 2,
	    NULL, 0, why, sizeof(why)) == 0, "%s", why);
	ck_assert_msg(log_count(-1, NULL, "Q-SMALLRES", NULL) == 1,
	    "expected one log line:%s", log_dump());
	outcome_free(&o);
	A->msg_free(m);
	A->close(inst);
}
END_TEST

START_TEST(msg_begin_bad_arguments)
{
	vdkim_host host;
	vdkim_instance *inst = open_main(0, &host);
	vdkim_msg_info info = make_info("signer", "Q-BEGIN");
	vdkim_msg *m;
	char err[512];
	static const int bad_hooks[] = { 0, 3, -1, 100 };

	for (size_t i = 0; i < sizeof(bad_hooks) / sizeof(bad_hooks[0]); i++) {
		m = NULL;
		err[0] = '\0';
		ck_assert_msg(A->msg_begin(inst, bad_hooks[i], &info, &m, err,
		    sizeof(err)) == -1, "hook point %d accepted",
		    bad_hooks[i]);
		ck_assert_msg(strlen(err) > 20, "hook %d refused without a "
		    "sentence: \"%s\"", bad_hooks[i], err);
		ck_assert_ptr_null(m);
	}
	err[0] = '\0';
	ck_assert_int_eq(A->msg_begin(inst, VDKIM_HOOK_PRE_QUEUE, NULL, &m, err,
	    sizeof(err)), -1);
	ck_assert_msg(strlen(err) > 20, "NULL info refused without a "
	    "sentence: \"%s\"", err);
	info.size = 0;
	err[0] = '\0';
	ck_assert_int_eq(A->msg_begin(inst, VDKIM_HOOK_PRE_QUEUE, &info, &m,
	    err, sizeof(err)), -1);
	ck_assert_msg(strlen(err) > 20, "info.size 0 refused without a "
	    "sentence: \"%s\"", err);
	info.size = sizeof(info);
	ck_assert_int_eq(A->msg_begin(NULL, VDKIM_HOOK_PRE_QUEUE, &info, &m,
	    err, sizeof(err)), -1);
	ck_assert_int_eq(A->msg_begin(inst, VDKIM_HOOK_PRE_QUEUE, &info, NULL,
	    err, sizeof(err)), -1);
	/* No error buffer. */
	ck_assert_int_eq(A->msg_begin(inst, 0, &info, &m, NULL, 0), -1);
	/* Safe no-ops. */
	A->msg_free(NULL);
	A->close(NULL);
	ck_assert_int_eq(A->msg_chunk(NULL, "x", 1), -1);
	ck_assert_int_eq(A->reload(NULL, err, sizeof(err)), -1);
	/* Nothing was logged for refused calls. */
	ck_assert_uint_eq(log_count(-1, NULL, "Q-BEGIN", NULL), 0);
	A->close(inst);
}
END_TEST

START_TEST(msg_info_smaller_size)
{
	/* A host built against an older, smaller vdkim_msg_info: only size
	 * and vmta.  What lies past its size is garbage the module must not
	 * read. */
	struct {
		vdkim_msg_info info;
		char pad[64];
	} buf;
	vdkim_host host;
	vdkim_instance *inst = open_main(0, &host);
	char why[2048];
	outcome o;

	memset(&buf, 0, sizeof(buf));
	buf.info.size = offsetof(vdkim_msg_info, pool);
	buf.info.vmta = "signer";
	buf.info.pool = (const char *)(uintptr_t)0x10;   /* poison */
	buf.info.source = (const char *)(uintptr_t)0x18;
	buf.info.mail_from = (const char *)(uintptr_t)0x20;
	buf.info.rcpt_domain = (const char *)(uintptr_t)0x28;
	buf.info.queue_id = (const char *)(uintptr_t)0x30;
	for (size_t h = 0; h < 2; h++) {
		ck_assert_msg(sign_verify(inst, hooks[h], &buf.info, MSG_STD,
		    strlen(MSG_STD), FEED_RANDOM, 16, SIGS_A, 0, &o, why,
		    sizeof(why)) == 0, "%s", why);
		outcome_free(&o);
	}
	/* Size and vmta only, vmta unknown: still read correctly. */
	buf.info.vmta = "nosign";
	ck_assert_msg(run_msg(inst, VDKIM_HOOK_PRE_QUEUE, &buf.info, MSG_STD,
	    strlen(MSG_STD), FEED_ONE, 0, &o, why, sizeof(why)) == 0, "%s",
	    why);
	ck_assert_str_eq(o.code, "signing-disabled");
	outcome_free(&o);
	/* A newer host's bigger struct. */
	memset(&buf, 0x5A, sizeof(buf));
	buf.info = make_info("signer", "Q-BIGINFO");
	buf.info.size = sizeof(buf);
	ck_assert_msg(sign_verify(inst, VDKIM_HOOK_PRE_QUEUE, &buf.info,
	    MSG_STD, strlen(MSG_STD), FEED_ONE, 0, SIGS_A, 0, NULL, why,
	    sizeof(why)) == 0, "bigger vdkim_msg_info: %s", why);
	ck_assert_uint_eq(log_count(-1, NULL, "Q-BIGINFO", NULL), 1);
	/* The info is copied at msg_begin: the host may reuse its strings. */
	{
		char vmta[32] = "signer";
		vdkim_msg_info info = make_info(vmta, "Q-COPY");
		vdkim_msg *m = NULL;
		char err[256];
		ck_assert_int_eq(A->msg_begin(inst, VDKIM_HOOK_PRE_DELIVERY,
		    &info, &m, err, sizeof(err)), 0);
		strcpy(vmta, "nosign");
		memset(&info, 0, sizeof(info));
		ck_assert_int_eq(feed(m, MSG_STD, strlen(MSG_STD), FEED_ONE, 0),
		    0);
		ck_assert_msg(end_msg(m, &o, why, sizeof(why)) == 0, "%s", why);
		ck_assert_msg(o.nsigned == 2, "the module kept the host's "
		    "vmta pointer instead of a copy (%s)", o.code);
		outcome_free(&o);
		A->msg_free(m);
	}
	A->close(inst);
}
END_TEST

START_TEST(msg_chunk_edge_cases)
{
	vdkim_host host;
	vdkim_instance *inst = open_main(0, &host);
	vdkim_msg_info info = make_info("signer", "Q-CHUNK");
	vdkim_msg *m = NULL;
	char err[256], why[2048];
	outcome o;
	size_t n = strlen(MSG_STD);

	ck_assert_int_eq(A->msg_begin(inst, VDKIM_HOOK_PRE_QUEUE, &info, &m,
	    err, sizeof(err)), 0);
	/* Empty chunks anywhere change nothing. */
	ck_assert_int_eq(A->msg_chunk(m, "", 0), 0);
	ck_assert_int_eq(A->msg_chunk(m, MSG_STD, n / 2), 0);
	ck_assert_int_eq(A->msg_chunk(m, MSG_STD, 0), 0);
	ck_assert_int_eq(A->msg_chunk(m, MSG_STD + n / 2, n - n / 2), 0);
	ck_assert_msg(end_msg(m, &o, why, sizeof(why)) == 0, "%s", why);
	ck_assert_msg(verify(o.add, o.addlen, MSG_STD, n, 0, 2, NULL, 0, why,
	    sizeof(why)) == 0, "%s", why);
	outcome_free(&o);
	A->msg_free(m);
	/* A message begun and freed without an end: no leak, no log. */
	ck_assert_int_eq(A->msg_begin(inst, VDKIM_HOOK_PRE_QUEUE, &info, &m,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(A->msg_chunk(m, MSG_STD, 40), 0);
	A->msg_free(m);
	ck_assert_int_eq(A->msg_begin(inst, VDKIM_HOOK_PRE_QUEUE, &info, &m,
	    err, sizeof(err)), 0);
	A->msg_free(m);
	ck_assert_uint_eq(log_count(-1, NULL, "Q-CHUNK", NULL), 1);
	A->close(inst);
}
END_TEST

/* ============================================================= reload */

/* The reload error must start with "PATH:LINE: ". */
static void
check_file_line(const char *err, const char *path, int line)
{
	char want[4200];

	fmt(want, sizeof(want), "%s:%d: ", path, line);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "expected "
	    "\"%s...\", got \"%s\"", want, err);
}

START_TEST(reload_selector)
{
	vdkim_host host = make_host(0);
	char err[512] = "", why[2048];
	char *path = write_conf("reload.conf", CONF_A);
	vdkim_instance *inst = NULL;
	vdkim_msg_info info = make_info("signer", "Q-RELOAD");

	ck_assert_msg(A->open(path, &host, &inst, err, sizeof(err)) == 0,
	    "open: %s", err);
	ck_assert_msg(sign_verify(inst, VDKIM_HOOK_PRE_DELIVERY, &info, MSG_STD,
	    strlen(MSG_STD), FEED_RANDOM, 20, SIGS_A, 0, NULL, why,
	    sizeof(why)) == 0, "before reload: %s", why);

	/* A different selector. */
	free(write_conf("reload.conf", CONF_B));
	ck_assert_msg(A->reload(inst, err, sizeof(err)) == 0, "reload: %s",
	    err);
	for (size_t h = 0; h < 2; h++)
		ck_assert_msg(sign_verify(inst, hooks[h], &info, MSG_STD,
		    strlen(MSG_STD), FEED_RANDOM, 21, SIGS_B, 0, NULL, why,
		    sizeof(why)) == 0, "after reload: %s", why);

	/* A broken file: refused, the previous config stays. */
	hc_reset(0);
	free(write_conf("reload.conf", CONF_BROKEN));
	err[0] = '\0';
	ck_assert_int_eq(A->reload(inst, err, sizeof(err)), -1);
	check_file_line(err, path, CONF_BROKEN_LINE);
	ck_assert_msg(log_count(VDKIM_LOG_ERR, NULL, path, NULL) >= 1,
	    "the failed reload was not logged as an error:%s", log_dump());
	for (size_t h = 0; h < 2; h++)
		ck_assert_msg(sign_verify(inst, hooks[h], &info, MSG_STD,
		    strlen(MSG_STD), FEED_RANDOM, 22, SIGS_B, 0, NULL, why,
		    sizeof(why)) == 0, "after a failed reload: %s", why);

	/* A missing file: refused too, naming it. */
	ck_assert_int_eq(unlink(path), 0);
	err[0] = '\0';
	ck_assert_int_eq(A->reload(inst, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, path) != NULL, "the error does not name "
	    "%s: %s", path, err);
	ck_assert_msg(sign_verify(inst, VDKIM_HOOK_PRE_QUEUE, &info, MSG_STD,
	    strlen(MSG_STD), FEED_ONE, 0, SIGS_B, 0, NULL, why, sizeof(why)) ==
	    0, "after a reload of a missing file: %s", why);

	/* Fixed: back to A. */
	free(write_conf("reload.conf", CONF_A));
	ck_assert_msg(A->reload(inst, err, sizeof(err)) == 0, "reload: %s",
	    err);
	ck_assert_msg(sign_verify(inst, VDKIM_HOOK_PRE_QUEUE, &info, MSG_STD,
	    strlen(MSG_STD), FEED_BYTES, 0, SIGS_A, 0, NULL, why,
	    sizeof(why)) == 0, "after the fix: %s", why);
	A->close(inst);
	free(path);
}
END_TEST

START_TEST(reload_message_in_flight)
{
	vdkim_host host = make_host(0);
	char err[512] = "", why[2048];
	char *path = write_conf("inflight.conf", CONF_A);
	vdkim_instance *inst = NULL;
	vdkim_msg_info info = make_info("signer", "Q-INFLIGHT");
	vdkim_msg *m0 = NULL, *m1 = NULL, *m2 = NULL;
	outcome o0, o1, o2;
	size_t n = strlen(MSG_STD), half = 60;

	ck_assert_msg(A->open(path, &host, &inst, err, sizeof(err)) == 0,
	    "open: %s", err);
	/* m0: begun, nothing fed; m1: half its header fed. */
	ck_assert_int_eq(A->msg_begin(inst, VDKIM_HOOK_PRE_QUEUE, &info, &m0,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(A->msg_begin(inst, VDKIM_HOOK_PRE_DELIVERY, &info,
	    &m1, err, sizeof(err)), 0);
	ck_assert_int_eq(A->msg_chunk(m1, MSG_STD, half), 0);

	free(write_conf("inflight.conf", CONF_B));
	ck_assert_msg(A->reload(inst, err, sizeof(err)) == 0, "reload: %s",
	    err);
	ck_assert_int_eq(A->msg_begin(inst, VDKIM_HOOK_PRE_QUEUE, &info, &m2,
	    err, sizeof(err)), 0);
	/* And once more, so that the first policy has no other holder. */
	free(write_conf("inflight.conf", CONF_B));
	ck_assert_msg(A->reload(inst, err, sizeof(err)) == 0, "reload: %s",
	    err);

	ck_assert_int_eq(A->msg_chunk(m1, MSG_STD + half, n - half), 0);
	ck_assert_int_eq(feed(m0, MSG_STD, n, FEED_RANDOM, 23), 0);
	ck_assert_int_eq(feed(m2, MSG_STD, n, FEED_RANDOM, 24), 0);
	ck_assert_msg(end_msg(m1, &o1, why, sizeof(why)) == 0, "%s", why);
	ck_assert_msg(end_msg(m0, &o0, why, sizeof(why)) == 0, "%s", why);
	ck_assert_msg(end_msg(m2, &o2, why, sizeof(why)) == 0, "%s", why);
	ck_assert_msg(strcmp(o0.sigs, SIGS_A) == 0, "begun before the reload, "
	    "nothing fed: signed \"%s\", expected the old \"%s\"", o0.sigs,
	    SIGS_A);
	ck_assert_msg(strcmp(o1.sigs, SIGS_A) == 0, "begun before the reload, "
	    "half fed: signed \"%s\", expected the old \"%s\"", o1.sigs,
	    SIGS_A);
	ck_assert_msg(strcmp(o2.sigs, SIGS_B) == 0, "begun after the reload: "
	    "signed \"%s\", expected \"%s\"", o2.sigs, SIGS_B);
	ck_assert_msg(verify(o0.add, o0.addlen, MSG_STD, n, 0, 2, NULL, 0, why,
	    sizeof(why)) == 0, "m0: %s", why);
	ck_assert_msg(verify(o1.add, o1.addlen, MSG_STD, n, 0, 2, NULL, 0, why,
	    sizeof(why)) == 0, "m1: %s", why);
	ck_assert_msg(verify(o2.add, o2.addlen, MSG_STD, n, 0, 2, NULL, 0, why,
	    sizeof(why)) == 0, "m2: %s", why);
	outcome_free(&o0);
	outcome_free(&o1);
	outcome_free(&o2);
	A->msg_free(m0);
	A->msg_free(m1);
	A->msg_free(m2);
	A->close(inst);
	free(path);
}
END_TEST

START_TEST(reload_logs_key_warnings)
{
	/* open() reports every key that failed to load through the host's
	 * log (open_good_config).  A reload that brings in such a key must
	 * say so too: it succeeds (keys never fail a load), so the log is
	 * the operator's only warning before messages start answering
	 * key-not-loaded. */
	vdkim_host host = make_host(0);
	char err[512] = "", why[2048];
	char *path = write_conf("reload-warn.conf", CONF_A);
	vdkim_instance *inst = NULL;
	outcome o;
	size_t len;
	char *msg = make_msg("dave@broken.example", NULL, &len);
	vdkim_msg_info info = make_info("broken", "Q-RWARN");

	ck_assert_msg(A->open(path, &host, &inst, err, sizeof(err)) == 0,
	    "open: %s", err);
	ck_assert_uint_eq(log_count(VDKIM_LOG_ERR, NULL, "", NULL), 0);
	free(write_conf("reload-warn.conf", CONF_MAIN));
	ck_assert_msg(A->reload(inst, err, sizeof(err)) == 0, "reload: %s",
	    err);
	/* The unusable key is reported when the config is loaded... */
	ck_assert_msg(log_count(-1, NULL, "gone.private", NULL) >= 1,
	    "reload loaded a config whose key gone.private failed to load, "
	    "and logged nothing about it:%s", log_dump());
	/* ...and the new config is in force. */
	ck_assert_msg(run_msg(inst, VDKIM_HOOK_PRE_DELIVERY, &info, msg, len,
	    FEED_ONE, 0, &o, why, sizeof(why)) == 0, "%s", why);
	ck_assert_str_eq(o.code, "key-not-loaded");
	outcome_free(&o);
	free(msg);
	A->close(inst);
	free(path);
}
END_TEST

/* ============================================================ threads */

#define NTHREADS 8
#define NPERTHREAD 100

typedef struct worker {
	pthread_t t;
	int id;
	vdkim_instance *inst;
	int failures;
	char first[2048];
} worker;

static volatile int g_workers_left;
static pthread_mutex_t g_left_mu = PTHREAD_MUTEX_INITIALIZER;

static void *
worker_main(void *arg)
{
	worker *w = arg;
	size_t lflen;
	char *lf = to_lf(MSG_STD, strlen(MSG_STD), &lflen);

	for (int i = 0; i < NPERTHREAD; i++) {
		char qid[64], why[2048];
		vdkim_msg_info info;
		int lfmsg = i % 5 == 4;

		fmt(qid, sizeof(qid), "T%02d-%04d", w->id, i);
		info = make_info("signer", qid);
		if (sign_verify(w->inst, hooks[i % 2], &info,
		    lfmsg ? lf : MSG_STD, lfmsg ? lflen : strlen(MSG_STD),
		    i % 7 == 0 ? FEED_BYTES : FEED_RANDOM,
		    (uint64_t)w->id * 1000 + (uint64_t)i, NULL, 0, NULL, why,
		    sizeof(why)) != 0) {
			if (w->failures++ == 0)
				fmt(w->first, sizeof(w->first), "%s: %s", qid,
				    why);
		}
	}
	free(lf);
	pthread_mutex_lock(&g_left_mu);
	g_workers_left--;
	pthread_mutex_unlock(&g_left_mu);
	return NULL;
}

static int
workers_left(void)
{
	int n;

	pthread_mutex_lock(&g_left_mu);
	n = g_workers_left;
	pthread_mutex_unlock(&g_left_mu);
	return n;
}

START_TEST(threads_with_reloads)
{
	vdkim_host host = make_host(0);
	char err[512] = "", why[2048];
	char *path = write_conf("threads.conf", CONF_A);
	vdkim_instance *inst = NULL;
	worker w[NTHREADS];
	int reloads = 0, during = 0, total = 0;
	struct timespec ts = { 0, 15 * 1000 * 1000 };

	ck_assert_msg(A->open(path, &host, &inst, err, sizeof(err)) == 0,
	    "open: %s", err);
	g_workers_left = NTHREADS;
	for (int i = 0; i < NTHREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].id = i;
		w[i].inst = inst;
		ck_assert_int_eq(pthread_create(&w[i].t, NULL, worker_main,
		    &w[i]), 0);
	}
	/* Reload between A and B while the workers sign: at least a few
	 * times, then on until they are done. */
	while (reloads < 4 || (workers_left() > 0 && reloads < 200)) {
		nanosleep(&ts, NULL);
		free(write_conf("threads.conf", reloads % 2 ? CONF_A :
		    CONF_B));
		if (A->reload(inst, err, sizeof(err)) != 0) {
			for (int i = 0; i < NTHREADS; i++)
				pthread_join(w[i].t, NULL);
			ck_abort_msg("reload %d failed: %s", reloads, err);
		}
		reloads++;
		if (workers_left() > 0)
			during++;
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(w[i].t, NULL);
		total += w[i].failures;
	}
	for (int i = 0; i < NTHREADS; i++)
		ck_assert_msg(w[i].failures == 0, "thread %d: %d of %d messages "
		    "failed; the first: %s", i, w[i].failures, NPERTHREAD,
		    w[i].first);
	ck_assert_int_eq(total, 0);
	ck_assert_msg(during >= 1, "no reload happened while the threads "
	    "signed (%d reloads)", reloads);
	/* One log line per message, saying signed. */
	for (int i = 0; i < NTHREADS; i++)
		for (int k = 0; k < NPERTHREAD; k++) {
			char qid[64];
			const char *line = NULL;
			fmt(qid, sizeof(qid), "T%02d-%04d ", i, k);
			ck_assert_msg(log_count(-1, &line, qid, NULL) == 1,
			    "%s: %zu log lines", qid, log_count(-1, NULL, qid,
			    NULL));
			ck_assert_msg(strstr(line, "signed") != NULL &&
			    strstr(line, "unsigned") == NULL, "%s", line);
		}
	/* After the last reload, new messages use its selector. */
	{
		vdkim_msg_info info = make_info("signer", "Q-AFTER");
		ck_assert_msg(sign_verify(inst, VDKIM_HOOK_PRE_QUEUE, &info,
		    MSG_STD, strlen(MSG_STD), FEED_ONE, 0, reloads % 2 ?
		    SIGS_B : SIGS_A, 0, NULL, why, sizeof(why)) == 0, "%s",
		    why);
	}
	A->close(inst);
	free(path);
}
END_TEST

typedef struct reloader {
	pthread_t t;
	vdkim_instance *inst;  /* reloaded; NULL: open and close path */
	const char *path;
	int rounds, fails;
	char first[512];
} reloader;

static void *
reloader_main(void *arg)
{
	reloader *r = arg;

	for (int i = 0; i < r->rounds; i++) {
		char err[512] = "";
		int rc;
		if (r->inst != NULL) {
			rc = A->reload(r->inst, err, sizeof(err));
		} else {
			vdkim_instance *inst = NULL;
			rc = A->open(r->path, NULL, &inst, err, sizeof(err));
			A->close(rc == 0 ? inst : NULL);
		}
		if (rc != 0 && r->fails++ == 0)
			fmt(r->first, sizeof(r->first), "round %d: %s", i, err);
	}
	return NULL;
}

START_TEST(threads_concurrent_parses)
{
	/* Two instances reloaded at once from two threads, a third thread
	 * opening and closing instances, while this one signs: configs are
	 * parsed concurrently (libconfuse is not reentrant by itself). */
	vdkim_host host = make_host(0);
	char err[512] = "", why[2048];
	char *p1 = write_conf("par-1.conf", CONF_MAIN);
	char *p2 = write_conf("par-2.conf", CONF_A);
	char *p3 = write_conf("par-3.conf", CONF_B);
	vdkim_instance *i1 = NULL, *i2 = NULL;
	reloader r[3];

	ck_assert_msg(A->open(p1, &host, &i1, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_msg(A->open(p2, &host, &i2, err, sizeof(err)) == 0, "%s",
	    err);
	memset(r, 0, sizeof(r));
	r[0].inst = i1;
	r[1].inst = i2;
	r[2].path = p3;
	for (int k = 0; k < 3; k++) {
		r[k].rounds = 40;
		ck_assert_int_eq(pthread_create(&r[k].t, NULL, reloader_main,
		    &r[k]), 0);
	}
	for (int i = 0; i < 20; i++) {
		vdkim_msg_info info = make_info("signer", "Q-PAR");
		int rc = sign_verify(i % 2 ? i1 : i2, hooks[i % 2], &info,
		    MSG_STD, strlen(MSG_STD), FEED_RANDOM, (uint64_t)i + 300,
		    SIGS_A, 0, NULL, why, sizeof(why));
		if (rc != 0) {
			for (int k = 0; k < 3; k++)
				pthread_join(r[k].t, NULL);
			ck_abort_msg("message %d: %s", i, why);
		}
	}
	for (int k = 0; k < 3; k++)
		pthread_join(r[k].t, NULL);
	for (int k = 0; k < 3; k++)
		ck_assert_msg(r[k].fails == 0, "%s %s: %d of %d failed; the "
		    "first: %s", r[k].inst ? "reload" : "open", k == 0 ? p1 :
		    k == 1 ? p2 : p3, r[k].fails, r[k].rounds, r[k].first);
	A->close(i1);
	A->close(i2);
	free(p1);
	free(p2);
	free(p3);
}
END_TEST

/* =============================================================== fork */

START_TEST(fork_child_signs)
{
	vdkim_host host;
	vdkim_instance *inst = open_main(0, &host);
	char why[2048];
	int pfd[2], status = 0;
	pid_t pid;
	vdkim_msg_info info = make_info("signer", "Q-PARENT0");

	/* Used once before the fork, as a running MTA would have. */
	ck_assert_msg(sign_verify(inst, VDKIM_HOOK_PRE_QUEUE, &info, MSG_STD,
	    strlen(MSG_STD), FEED_ONE, 0, SIGS_A, 0, NULL, why,
	    sizeof(why)) == 0, "%s", why);
	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The child: no ck_assert here, the answer is the status. */
		int rc = 0;
		close(pfd[0]);
		for (int i = 0; i < 10 && rc == 0; i++) {
			char qid[32];
			fmt(qid, sizeof(qid), "Q-CHILD-%d", i);
			info = make_info("signer", qid);
			if (sign_verify(inst, hooks[i % 2], &info, MSG_STD,
			    strlen(MSG_STD), FEED_RANDOM, (uint64_t)i + 100,
			    SIGS_A, 0, NULL, why, sizeof(why)) != 0)
				rc = 1;
		}
		if (rc == 0 && log_count(-1, NULL, "Q-CHILD-9", NULL) != 1) {
			fmt(why, sizeof(why), "the child's message was not "
			    "logged through the host callback");
			rc = 2;
		}
		if (rc != 0 && write(pfd[1], why, strlen(why)) < 0)
			rc = 3;
		close(pfd[1]);
		A->close(inst);
		_exit(rc);
	}
	close(pfd[1]);
	/* The parent goes on meanwhile. */
	for (int i = 0; i < 10; i++) {
		char qid[32];
		fmt(qid, sizeof(qid), "Q-PARENT-%d", i);
		info = make_info("signer", qid);
		ck_assert_msg(sign_verify(inst, hooks[i % 2], &info, MSG_STD,
		    strlen(MSG_STD), FEED_RANDOM, (uint64_t)i + 200, SIGS_A, 0,
		    NULL, why, sizeof(why)) == 0, "parent: %s", why);
	}
	{
		char cwhy[2048];
		ssize_t got = read(pfd[0], cwhy, sizeof(cwhy) - 1);
		cwhy[got > 0 ? got : 0] = '\0';
		close(pfd[0]);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status), "the child died (signal %d)",
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		ck_assert_msg(WEXITSTATUS(status) == 0, "the child failed "
		    "(status %d): %s", WEXITSTATUS(status), cwhy);
	}
	/* The child's lines went to its own copy of the log. */
	ck_assert_uint_eq(log_count(-1, NULL, "Q-CHILD-", NULL), 0);
	ck_assert_uint_eq(log_count(-1, NULL, "Q-PARENT-", NULL), 10);
	A->close(inst);
}
END_TEST

/* ========================================================= fork: blinding */

/*
 * One RSA key, one signature per message: every draw of randomness while a
 * message is signed is then that key's (RSA blinding), which the tests
 * below count (rand_count.c).
 */
static const char CONF_ONE_RSA[] =
    "domain-key = \"rsa1,example.com,@W@/rsa1.private\"\n"
    "virtual-mta signer {\n"
    "    domain \"*\" {\n"
    "        dkim-sign = yes\n"
    "        dkim-algorithm = rsa-sha256\n"
    "    }\n"
    "}\n";

#define FORK_CHILDREN 4
#define FORK_THREADS 8
#define FORK_PER_THREAD 10

/* MSG_STD with its body grown to about 1 KB; malloc'd. */
static char *
msg_1k(size_t *len)
{
	static const char line[] = "a line of the body, long enough to make a "
	    "kilobyte in a few of them\r\n";
	size_t n = strlen(MSG_STD), ll = strlen(line), k;
	char *m = malloc(n + 16 * ll + 1);

	if (m == NULL)
		abort();
	memcpy(m, MSG_STD, n);
	for (k = 0; n + k * ll < 1024; k++)
		memcpy(m + n + k * ll, line, ll);
	*len = n + k * ll;
	m[*len] = '\0';
	return m;
}

/*
 * Signs a 1 KB message with the one key of CONF_ONE_RSA and verifies the
 * signature; *drawn (when not NULL) gets how many times the process drew
 * randomness meanwhile (meaningful in one thread only).  0, or -1 with why;
 * no ck_assert, for threads and forked children.
 */
static int
sign_one_rsa(vdkim_instance *inst, const char *qid, unsigned long *drawn,
    char *why, size_t wl)
{
	vdkim_msg_info info = make_info("signer", qid);
	size_t len;
	char *msg = msg_1k(&len), sub[1024];
	unsigned long before = rand_count_draws();
	outcome o;
	int rc = -1;

	if (run_msg(inst, VDKIM_HOOK_PRE_DELIVERY, &info, msg, len, FEED_ONE,
	    0, &o, sub, sizeof(sub)) != 0) {
		fmt(why, wl, "%s: %s", qid, sub);
		free(msg);
		return -1;
	}
	if (drawn != NULL)
		*drawn = rand_count_draws() - before;
	if (o.action != VDKIM_ACTION_CONTINUE || o.nsigned != 1)
		fmt(why, wl, "%s: action %d, nsigned %d, reason %s: %s", qid,
		    o.action, o.nsigned, o.code, o.reason);
	else if (verify(o.add, o.addlen, msg, len, 0, 1, NULL, 0, sub,
	    sizeof(sub)) != 0)
		fmt(why, wl, "%s: %s", qid, sub);
	else
		rc = 0;
	outcome_free(&o);
	free(msg);
	return rc;
}

/* Opens CONF_ONE_RSA with the counting random source in place, and signs
 * twice, as a running MTA would have before it forks. */
static vdkim_instance *
open_one_rsa_used(vdkim_host *host)
{
	char err[512] = "", why[2048], *path;
	vdkim_instance *inst = NULL;

	ck_assert_msg(rand_count_install() == 0, "OpenSSL refused the counting "
	    "random source");
	path = write_conf("one-rsa.conf", CONF_ONE_RSA);
	*host = make_host(0);
	ck_assert_msg(A->open(path, host, &inst, err, sizeof(err)) == 0,
	    "open %s: %s", path, err);
	free(path);
	ck_assert_msg(sign_one_rsa(inst, "Q-P-1", NULL, why, sizeof(why)) == 0,
	    "parent: %s", why);
	ck_assert_msg(sign_one_rsa(inst, "Q-P-2", NULL, why, sizeof(why)) == 0,
	    "parent: %s", why);
	return inst;
}

/* What a forked child reports through its pipe. */
typedef struct child_report {
	int rc;                 /* 0: every signature verified */
	unsigned long first;    /* draws of the child's first signature */
	unsigned long grand;    /* ... of its own child's first signature */
	char why[1024];
} child_report;

/* Forks; the child runs body(inst, report) and sends the report; the
 * parent gets it.  Fails the test when the child died or sent nothing. */
static void
fork_report(vdkim_instance *inst, void (*body)(vdkim_instance *,
    child_report *), child_report *rep)
{
	int pfd[2], status = 0;
	pid_t pid;
	ssize_t got;

	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		memset(rep, 0, sizeof(*rep));
		close(pfd[0]);
		body(inst, rep);
		if (write(pfd[1], rep, sizeof(*rep)) != (ssize_t)sizeof(*rep))
			rep->rc = -1;
		close(pfd[1]);
		A->close(inst);
		_exit(rep->rc == 0 ? 0 : 1);
	}
	close(pfd[1]);
	got = read(pfd[0], rep, sizeof(*rep));
	close(pfd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "the child died (signal %d)",
	    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	ck_assert_msg(got == (ssize_t)sizeof(*rep), "the child sent no report "
	    "(exit status %d)", WEXITSTATUS(status));
	rep->why[sizeof(rep->why) - 1] = '\0';
}

/* A child's first signatures; then its own child's first one. */
static void
child_signs_then_forks(vdkim_instance *inst, child_report *rep)
{
	unsigned long second;
	pid_t pid;
	int pfd[2];

	if (sign_one_rsa(inst, "Q-C-1", &rep->first, rep->why,
	    sizeof(rep->why)) != 0 || sign_one_rsa(inst, "Q-C-2", &second,
	    rep->why, sizeof(rep->why)) != 0) {
		rep->rc = 1;
		return;
	}
	if (pipe(pfd) != 0 || (pid = fork()) < 0) {
		fmt(rep->why, sizeof(rep->why), "fork: %s", strerror(errno));
		rep->rc = 1;
		return;
	}
	if (pid == 0) {
		child_report g;
		memset(&g, 0, sizeof(g));
		g.rc = sign_one_rsa(inst, "Q-G-1", &g.first, g.why,
		    sizeof(g.why));
		if (write(pfd[1], &g, sizeof(g)) != (ssize_t)sizeof(g))
			g.rc = -1;
		_exit(g.rc == 0 ? 0 : 1);
	}
	close(pfd[1]);
	{
		child_report g;
		ssize_t got = read(pfd[0], &g, sizeof(g));
		int status = 0;
		close(pfd[0]);
		waitpid(pid, &status, 0);
		if (got != (ssize_t)sizeof(g) || g.rc != 0) {
			fmt(rep->why, sizeof(rep->why), "grandchild: %s", got ==
			    (ssize_t)sizeof(g) ? g.why : "died");
			rep->rc = 1;
			return;
		}
		rep->grand = g.first;
	}
}

/*
 * The issue "Forking hosts: fresh RSA blinding in every child": a child
 * forked from a host that has used a key must not sign with the RSA
 * blinding its parent made (OpenSSL ties blinding to a thread id, which the
 * child shares, and updates it without new randomness for 32 uses).  Its
 * first signature must draw new randomness, and so must its own child's.
 */
START_TEST(fork_children_fresh_blinding)
{
	vdkim_host host;
	vdkim_instance *inst = open_one_rsa_used(&host);

	for (int c = 0; c < FORK_CHILDREN; c++) {
		child_report rep;

		fork_report(inst, child_signs_then_forks, &rep);
		ck_assert_msg(rep.rc == 0, "child %d: %s", c, rep.why);
		ck_assert_msg(rep.first > 0, "child %d: its first signature "
		    "drew no randomness: it used the RSA blinding its parent "
		    "made", c);
		ck_assert_msg(rep.grand > 0, "child %d: its child's first "
		    "signature drew no randomness: it used the RSA blinding "
		    "of the process it was forked from", c);
	}
	A->close(inst);
}
END_TEST

typedef struct signer_thread {
	pthread_t t;
	pthread_barrier_t *start;
	vdkim_instance *inst;
	int id, failures;
	char first[1024];
} signer_thread;

static void *
signer_thread_main(void *arg)
{
	signer_thread *s = arg;

	/* All at once: in a fresh child, the first use of the key races. */
	pthread_barrier_wait(s->start);
	for (int i = 0; i < FORK_PER_THREAD; i++) {
		char qid[32], why[1024];
		fmt(qid, sizeof(qid), "Q-T%d-%d", s->id, i);
		if (sign_one_rsa(s->inst, qid, NULL, why, sizeof(why)) != 0 &&
		    s->failures++ == 0)
			fmt(s->first, sizeof(s->first), "%s", why);
	}
	return NULL;
}

/* FORK_THREADS threads sign FORK_PER_THREAD messages each; 0, or -1 with
 * the first failure in why. */
static int
sign_in_threads(vdkim_instance *inst, char *why, size_t wl)
{
	signer_thread s[FORK_THREADS];
	pthread_barrier_t start;
	int n = 0, failures = 0;

	if (pthread_barrier_init(&start, NULL, FORK_THREADS) != 0) {
		fmt(why, wl, "pthread_barrier_init failed");
		return -1;
	}
	for (; n < FORK_THREADS; n++) {
		memset(&s[n], 0, sizeof(s[n]));
		s[n].start = &start;
		s[n].inst = inst;
		s[n].id = n;
		if (pthread_create(&s[n].t, NULL, signer_thread_main,
		    &s[n]) != 0)
			abort(); /* the others wait at the barrier for ever */
	}
	for (int i = 0; i < n; i++) {
		pthread_join(s[i].t, NULL);
		if (s[i].failures > 0 && failures++ == 0)
			fmt(why, wl, "thread %d: %d of %d failed; the first: %s",
			    i, s[i].failures, FORK_PER_THREAD, s[i].first);
	}
	pthread_barrier_destroy(&start);
	return failures == 0 ? 0 : -1;
}

static void
child_signs_in_threads(vdkim_instance *inst, child_report *rep)
{
	rep->rc = sign_in_threads(inst, rep->why, sizeof(rep->why));
}

/*
 * Threads of one process share its blinding as OpenSSL arranges: in the
 * parent, then in a fresh child whose threads all make their first
 * signature at once (and race to set up the child's copy of the key), and
 * in the parent again, every signature verifies.
 */
START_TEST(fork_child_threads_sign)
{
	vdkim_host host;
	vdkim_instance *inst = open_one_rsa_used(&host);
	child_report rep;
	char why[1024];

	ck_assert_msg(sign_in_threads(inst, why, sizeof(why)) == 0,
	    "parent, before the fork: %s", why);
	fork_report(inst, child_signs_in_threads, &rep);
	ck_assert_msg(rep.rc == 0, "child: %s", rep.why);
	ck_assert_msg(sign_in_threads(inst, why, sizeof(why)) == 0,
	    "parent, after the fork: %s", why);
	A->close(inst);
}
END_TEST

/* ============================================================= runner */

/* The Exim functions in a host that is not Exim: an error, not a crash. */
START_TEST(exim_functions_outside_exim)
{
	static const char *const names[] = { "vdkim_exim_prequeue",
		"vdkim_exim_predelivery", "vdkim_exim_load" };
	unsigned char *argv[2] = { (unsigned char *)"/nonexistent.conf",
		(unsigned char *)"" };

	for (size_t i = 0; i < 3; i++) {
		int (*f)(unsigned char **, int, unsigned char **);
		unsigned char *y = NULL;

		*(void **)(&f) = dlsym(g_dl, names[i]);
		ck_assert_msg(f != NULL, "%s is not exported", names[i]);
		ck_assert_int_eq(f(&y, i == 2 ? 1 : 2, argv), 3 /* ERROR */);
		ck_assert_msg(y != NULL && strstr((char *)y, "outside Exim") !=
		    NULL, "%s: %s", names[i], y ? (char *)y : "(null)");
	}
}
END_TEST

/* ============================================================== stats */

/* The snapshot in format f; fails the test on error. */
static char *
stats_text(vdkim_instance *inst, int f)
{
	char err[256] = "", *text = NULL;
	size_t len = 0;

	ck_assert_msg(A->stats(inst, f, &text, &len, err, sizeof(err)) == 0,
	    "stats: %s", err);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(len, strlen(text));
	return text;
}

/* 1 when text has the line "series value". */
static int
has_series(const char *text, const char *series, unsigned long long value)
{
	char line[512];
	const char *p;

	fmt(line, sizeof(line), "%s %llu\n", series, value);
	p = strstr(text, line);
	return p != NULL && (p == text || p[-1] == '\n');
}

static vdkim_instance *
open_stats_conf(const char *extra, vdkim_host *host)
{
	char err[512] = "", *text, *path, *sf = work_path("abi.stats");
	size_t n = strlen(CONF_MAIN) + strlen(extra) + 1;
	vdkim_instance *inst = NULL;

	unlink(sf);
	free(sf);
	text = malloc(n);
	ck_assert_ptr_nonnull(text);
	fmt(text, n, "%s%s", extra, CONF_MAIN);
	path = write_conf("stats.conf", text);
	free(text);
	*host = make_host(0);
	ck_assert_msg(A->open(path, host, &inst, err, sizeof(err)) == 0,
	    "open %s: %s", path, err);
	free(path);
	return inst;
}

/* n messages of vmta through hook, each with the outcome code. */
static void
send_n(vdkim_instance *inst, int hook, const char *vmta, const char *from,
    int n, const char *code)
{
	char why[2048];
	size_t len;
	char *msg = make_msg(from, NULL, &len);
	vdkim_msg_info info = make_info(vmta, "Q-STATS");
	outcome o;

	for (int i = 0; i < n; i++) {
		ck_assert_msg(run_msg(inst, hook, &info, msg, len, FEED_ONE, 0,
		    &o, why, sizeof(why)) == 0, "%s", why);
		ck_assert_str_eq(o.code, code);
		outcome_free(&o);
	}
	free(msg);
}

#define STATS_SF "stats-file = \"@W@/abi.stats\"\n"

START_TEST(stats_counts_a_known_mix)
{
	vdkim_host host;
	vdkim_instance *inst;
	char *t;

	ck_assert(VDKIM_API_HAS(A, stats_free));
	inst = open_stats_conf(STATS_SF, &host);
	send_n(inst, VDKIM_HOOK_PRE_QUEUE, "signer", "alice@example.com", 3,
	    "ok");
	send_n(inst, VDKIM_HOOK_PRE_DELIVERY, "nosign", "alice@example.com", 2,
	    "signing-disabled");
	send_n(inst, VDKIM_HOOK_PRE_QUEUE, "require", "carol@nokey.example", 1,
	    "no-key");
	t = stats_text(inst, VDKIM_STATS_PROMETHEUS);
	ck_assert_msg(has_series(t, "vdkim_messages_total{hook=\"pre-queue\","
	    "vmta=\"signer\",outcome=\"signed\",reason=\"ok\"}", 3), "%s", t);
	ck_assert_msg(has_series(t, "vdkim_messages_total{hook=\"pre-delivery\","
	    "vmta=\"nosign\",outcome=\"unsigned\",reason=\"signing-disabled\"}",
	    2), "%s", t);
	ck_assert_msg(has_series(t, "vdkim_messages_total{hook=\"pre-queue\","
	    "vmta=\"require\",outcome=\"deferred\",reason=\"no-key\"}", 1),
	    "%s", t);
	ck_assert_msg(has_series(t, "vdkim_signatures_total{domain="
	    "\"example.com\",selector=\"rsa1\",algorithm=\"rsa-sha256\"}", 3),
	    "%s", t);
	ck_assert_msg(has_series(t, "vdkim_signatures_total{domain="
	    "\"example.com\",selector=\"ed1\",algorithm=\"ed25519-sha256\"}",
	    3), "%s", t);
	ck_assert_msg(has_series(t, "vdkim_signing_duration_seconds_count{"
	    "kind=\"rsa\"}", 3), "%s", t);
	ck_assert_msg(has_series(t, "vdkim_signing_duration_seconds_bucket{"
	    "kind=\"rsa\",le=\"+Inf\"}", 3), "%s", t);
	ck_assert_msg(has_series(t, "vdkim_reloads_total{result=\"ok\"}", 0),
	    "%s", t);
	A->stats_free(t);
	t = stats_text(inst, VDKIM_STATS_JSON);
	ck_assert_msg(t[0] == '{' && strstr(t, "\"vmta\":\"signer\","
	    "\"outcome\":\"signed\",\"reason\":\"ok\",\"count\":3") != NULL,
	    "%s", t);
	A->stats_free(t);
	t = stats_text(inst, VDKIM_STATS_SUMMARY);
	ck_assert_msg(strstr(t, "  signer: signed 3, unsigned 0, deferred 0, "
	    "rejected 0\n") != NULL, "%s", t);
	ck_assert_msg(strstr(t, "  require: signed 0, unsigned 0, deferred 1, "
	    "rejected 0\n    deferred no-key: 1\n") != NULL, "%s", t);
	A->stats_free(t);
	A->close(inst);
}
END_TEST

/* The file is shared: a forked child's and a second instance's messages
 * add up; a reload keeps them and is counted. */
START_TEST(stats_shared_and_survive_reload)
{
	vdkim_host host, host2;
	vdkim_instance *inst, *other = NULL;
	char err[512] = "", *t, *path = work_path("stats.conf");
	int status = 0;
	pid_t pid;

	inst = open_stats_conf(STATS_SF, &host);
	send_n(inst, VDKIM_HOOK_PRE_QUEUE, "signer", "alice@example.com", 1,
	    "ok");
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* A process of its own that opens the config anew. */
		vdkim_instance *c = NULL;
		vdkim_msg *m = NULL;
		vdkim_hook_result res;
		vdkim_msg_info info = make_info("signer", "Q-CHILD");
		int rc = A->open(path, NULL, &c, NULL, 0) != 0 ||
		    A->msg_begin(c, VDKIM_HOOK_PRE_QUEUE, &info, &m, NULL, 0) !=
		    0 || A->msg_chunk(m, MSG_STD, strlen(MSG_STD)) != 0;

		memset(&res, 0, sizeof(res));
		res.size = sizeof(res);
		if (rc == 0)
			rc = A->msg_end(m, &res) != 0 || res.nsigned != 2;
		A->msg_free(m);
		A->close(c);
		_exit(rc);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	host2 = make_host(0);
	ck_assert_int_eq(A->open(path, &host2, &other, err, sizeof(err)), 0);
	send_n(other, VDKIM_HOOK_PRE_QUEUE, "signer", "alice@example.com", 1,
	    "ok");
	ck_assert_int_eq(A->reload(inst, err, sizeof(err)), 0);
	send_n(inst, VDKIM_HOOK_PRE_QUEUE, "signer", "alice@example.com", 1,
	    "ok");
	t = stats_text(other, VDKIM_STATS_PROMETHEUS);
	ck_assert_msg(has_series(t, "vdkim_messages_total{hook=\"pre-queue\","
	    "vmta=\"signer\",outcome=\"signed\",reason=\"ok\"}", 4), "%s", t);
	ck_assert_msg(has_series(t, "vdkim_reloads_total{result=\"ok\"}", 1),
	    "%s", t);
	A->stats_free(t);
	/* A failed reload is counted too. */
	free(write_conf("stats.conf", CONF_BROKEN));
	ck_assert_int_eq(A->reload(inst, err, sizeof(err)), -1);
	t = stats_text(inst, VDKIM_STATS_PROMETHEUS);
	ck_assert_msg(has_series(t, "vdkim_reloads_total{result=\"failed\"}",
	    1), "%s", t);
	A->stats_free(t);
	A->close(other);
	A->close(inst);
	free(path);
}
END_TEST

START_TEST(stats_errors)
{
	vdkim_host host;
	vdkim_instance *inst;
	char err[256] = "", *text = NULL, *sf = work_path("abi.stats");
	FILE *f;

	/* Bad arguments. */
	inst = open_stats_conf("", &host);
	ck_assert_int_eq(A->stats(inst, 99, &text, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "format"));
	ck_assert_int_eq(A->stats(NULL, VDKIM_STATS_JSON, &text, NULL, NULL,
	    0), -1);
	/* Without stats-file the counters are the process's own. */
	send_n(inst, VDKIM_HOOK_PRE_QUEUE, "nosign", "alice@example.com", 1,
	    "signing-disabled");
	text = stats_text(inst, VDKIM_STATS_PROMETHEUS);
	ck_assert(has_series(text, "vdkim_messages_total{hook=\"pre-queue\","
	    "vmta=\"nosign\",outcome=\"unsigned\",reason=\"signing-disabled\"}",
	    1));
	A->stats_free(text);
	A->close(inst);
	/* Counters turned off: said. */
	inst = open_stats_conf("stats-counters = no\n", &host);
	ck_assert_int_eq(A->stats(inst, VDKIM_STATS_JSON, &text, NULL, err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "off"));
	A->close(inst);
	/* A file that is not a stats file: logged, the instance still opens
	 * and signs, its counters in memory. */
	inst = open_stats_conf("", &host);
	A->close(inst);
	f = fopen(sf, "w");
	ck_assert_ptr_nonnull(f);
	fputs("not a stats file\n", f);
	fclose(f);
	{
		char *path = write_conf("stats2.conf", STATS_SF
		    "domain-key = \"rsa1,example.com,@W@/rsa1.private\"\n");
		vdkim_instance *i2 = NULL;

		host = make_host(0);
		hc_reset(0);
		ck_assert_int_eq(A->open(path, &host, &i2, err, sizeof(err)),
		    0);
		ck_assert_msg(log_count(VDKIM_LOG_ERR, NULL, "is not a vdkim "
		    "stats file", NULL) == 1, "%s", log_dump());
		text = stats_text(i2, VDKIM_STATS_SUMMARY);
		A->stats_free(text);
		A->close(i2);
		free(path);
	}
	free(sf);
}
END_TEST

/* The load's gauges: each key's last DNS check (from the
 * dns-check-state-file) and a rotation schedule's selector. */
START_TEST(stats_dns_and_rotation_gauges)
{
	char err[512] = "", tmpl[2048], *path, *t, *conf;
	char *state = work_path("dns.state"), *keys = work_path("rotkeys");
	char *rdir = work_path("rot");
	vdkim_instance *inst = NULL;
	vdkim_host host;
	FILE *f;

	mkdir(keys, 0700);
	mkdir(rdir, 0700);
	f = fopen(state, "w");
	ck_assert_ptr_nonnull(f);
	fputs("vdkim-dns-check-state 1\n"
	    "record example.com ed1 matching 100 1700000000\n"
	    "record example.com rsa1 mismatched 100 1700000000\nend 2\n", f);
	fclose(f);
	fmt(tmpl, sizeof(tmpl), CONF_ROT_TMPL, "rot");
	conf = malloc(strlen(tmpl) + strlen(CONF_A) + 256);
	ck_assert_ptr_nonnull(conf);
	sprintf(conf, "%s%sdns-check-state-file = \"@W@/dns.state\"\n", tmpl,
	    CONF_A);
	path = write_conf("gauges.conf", conf);
	host = make_host(FIXED_NOW + 60); /* 1700000060: a minute later */
	ck_assert_msg(A->open(path, &host, &inst, err, sizeof(err)) == 0,
	    "open: %s", err);
	t = stats_text(inst, VDKIM_STATS_PROMETHEUS);
	ck_assert_msg(has_series(t, "vdkim_key_dns_check{domain=\"example.com\","
	    "selector=\"rsa1\",verdict=\"mismatch\"}", 1), "%s", t);
	ck_assert_msg(has_series(t, "vdkim_key_dns_check{domain=\"example.com\","
	    "selector=\"ed1\",verdict=\"ok\"}", 1), "%s", t);
	ck_assert_msg(has_series(t, "vdkim_key_dns_check_age_seconds{domain="
	    "\"example.com\",selector=\"rsa1\"}", 60), "%s", t);
	/* No key in the schedule's key-dir: no selector signs, none held. */
	ck_assert_msg(has_series(t, "vdkim_rotation_selector{schedule=\"q\","
	    "domain=\"rot.example\",algorithm=\"ed25519-sha256\",selector=\"\"}",
	    1), "%s", t);
	ck_assert_msg(has_series(t, "vdkim_rotation_held{schedule=\"q\","
	    "domain=\"rot.example\",algorithm=\"ed25519-sha256\"}", 0), "%s", t);
	A->stats_free(t);
	A->close(inst);
	free(conf);
	free(path);
	free(state);
	free(keys);
	free(rdir);
}
END_TEST

static Suite *
abi_suite(void)
{
	Suite *s = suite_create("abi");
	TCase *tc;

	tc = tcase_create("get_api");
	tcase_add_test(tc, get_api_exports_one_symbol);
	tcase_add_test(tc, get_api_current);
	tcase_add_loop_test(tc, get_api_wrong_version, 0,
	    sizeof(bad_versions) / sizeof(bad_versions[0]));
	tcase_add_test(tc, get_api_null_pointer);
	suite_add_tcase(s, tc);

	tc = tcase_create("open");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, open_missing_file);
	tcase_add_test(tc, open_syntax_error);
	tcase_add_test(tc, open_host_too_small);
	tcase_add_test(tc, open_host_without_now);
	tcase_add_test(tc, open_null_host_is_quiet);
	tcase_add_test(tc, open_good_config);
	tcase_add_test(tc, open_host_registers_its_block);
	suite_add_tcase(s, tc);

	tc = tcase_create("check_keys");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, check_keys_without_schedules);
	tcase_add_test(tc, check_keys_records_and_says_reload);
	tcase_add_test(tc, check_keys_cannot_lock);
	suite_add_tcase(s, tc);

	tc = tcase_create("messages");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, sign_both_hooks_all_chunkings);
	tcase_add_test(tc, sign_bare_lf);
	tcase_add_test(tc, sign_header_only_message);
	tcase_add_test(tc, sign_fixed_clock);
	tcase_add_test(tc, nosign_disabled);
	tcase_add_test(tc, nosign_no_vmta_uses_global_scope);
	tcase_add_test(tc, defer_no_key);
	tcase_add_test(tc, defer_key_not_loaded);
	tcase_add_test(tc, unknown_vmta);
	tcase_add_test(tc, x_dkim_options);
	tcase_add_test(tc, bad_message_pre_queue_rejects);
	tcase_add_test(tc, bad_message_pre_delivery_continues);
	tcase_add_test(tc, bad_message_still_strips_x_dkim_options);
	tcase_add_test(tc, unsigned_still_strips_x_dkim_options);
	tcase_add_test(tc, msg_end_small_result);
	tcase_add_test(tc, msg_begin_bad_arguments);
	tcase_add_test(tc, msg_info_smaller_size);
	tcase_add_test(tc, msg_chunk_edge_cases);
	tcase_add_test(tc, exim_functions_outside_exim);
	suite_add_tcase(s, tc);

	tc = tcase_create("reload");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, reload_selector);
	tcase_add_test(tc, reload_message_in_flight);
	tcase_add_test(tc, reload_logs_key_warnings);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, threads_with_reloads);
	tcase_add_test(tc, threads_concurrent_parses);
	suite_add_tcase(s, tc);

	tc = tcase_create("fork");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, fork_child_signs);
	tcase_add_test(tc, fork_children_fresh_blinding);
	tcase_add_test(tc, fork_child_threads_sign);
	suite_add_tcase(s, tc);

	tc = tcase_create("stats");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, stats_counts_a_known_mix);
	tcase_add_test(tc, stats_shared_and_survive_reload);
	tcase_add_test(tc, stats_errors);
	tcase_add_test(tc, stats_dns_and_rotation_gauges);
	suite_add_tcase(s, tc);
	return s;
}

/* The DNS records of the WORKDIR keys, for the verifier. */
static int
load_keys(void)
{
	static const char *const sels[] = { "rsa1", "ed1", "rsa2", "ed2" };

	g_keys = work_keys_load("abi_test", g_work, sels,
	    sizeof(sels) / sizeof(sels[0]));
	return g_keys != NULL ? 0 : -1;
}

int
main(int argc, char **argv)
{
	SRunner *sr;
	char err[256];
	int failed;

	if (argc != 3) {
		fprintf(stderr, "usage: abi_test MODULE.so WORKDIR\n");
		return 2;
	}
	g_so_path = argv[1];
	if (realpath(argv[2], g_work) == NULL) {
		fprintf(stderr, "abi_test: %s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	g_dl = dlopen(g_so_path, RTLD_NOW | RTLD_LOCAL);
	if (g_dl == NULL) {
		fprintf(stderr, "abi_test: dlopen %s: %s\n", g_so_path,
		    dlerror());
		return 2;
	}
	*(void **)&g_get = dlsym(g_dl, "vdkim_get_api");
	if (g_get == NULL) {
		fprintf(stderr, "abi_test: %s has no vdkim_get_api\n",
		    g_so_path);
		return 2;
	}
	if (g_get(VDKIM_ABI_VERSION, &A, err, sizeof(err)) != 0) {
		fprintf(stderr, "abi_test: vdkim_get_api: %s\n", err);
		return 2;
	}
	if (load_keys() != 0)
		return 2;
	sr = srunner_create(abi_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	vdkim_keymap_free(g_keys);
	dlclose(g_dl);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
