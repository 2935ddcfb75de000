/*
 * opendkim_peer - sign and verify messages with libopendkim, as a reference
 * implementation for the interop tests.
 *
 *   opendkim_peer verify FILE...
 *       Verifies each message; keys come from DNS through libopendkim's
 *       default resolver (/etc/resolv.conf).  Prints one line per
 *       signature:
 *           FILE dkim=RESULT d=D s=S a=ALG [error text]
 *       RESULT is pass, fail, neutral, temperror, permerror, or "none"
 *       for a message without signature.  Exit status 0 only when every
 *       file has at least one passing signature; 1 otherwise; 2 on usage
 *       or setup errors.
 *
 *   opendkim_peer features
 *       Prints the library version and whether it has Ed25519.
 *
 *   opendkim_peer sign --key FILE --selector S --domain D
 *                      [--alg rsa-sha256|ed25519-sha256]
 *                      [--canon HEADER/BODY] [--margin N] < msg > signed
 *       Prints the message with a DKIM-Signature field prepended (every
 *       header field is signed, libopendkim's default).
 *
 * Messages may use CRLF or bare LF line ends.  libopendkim wants header
 * fields without their final CRLF (folds as CRLF inside) and the body with
 * CRLF line ends, so bare LFs are converted when feeding it, and a missing
 * final line end is added (as SMTP transport would); the signed output
 * keeps the input bytes and uses the input's line end for the new field.
 *
 * libopendkim 2.11 bug worked around: with ed25519-sha256 and simple
 * header canonicalization it hashes its DKIM-Signature folded one way
 * ("...; b=" on the h= line) and returns it folded another way (b= on a
 * line of its own), so its own signatures do not verify.  For that case
 * the peer disables folding (dkim_set_margin 0) unless --margin is given;
 * "--margin 75" reproduces the bug.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <dkim.h>

#define DNS_TIMEOUT 5 /* seconds */

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static int buf_add(struct buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		unsigned char *np;

		while (cap < b->len + len + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (np == NULL)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
	return 0;
}

static int read_stream(FILE *f, struct buf *b)
{
	unsigned char tmp[65536];
	size_t n;

	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		if (buf_add(b, tmp, n) != 0)
			return -1;
	if (ferror(f))
		return -1;
	if (b->p == NULL && buf_add(b, "", 0) != 0)
		return -1;
	return 0;
}

static int read_file(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	int rc;

	if (f == NULL)
		return -1;
	rc = read_stream(f, b);
	fclose(f);
	return rc;
}

/* Length of the line starting at msg[i] without its end, and the index of
 * the next line in *next. */
static size_t line_at(const struct buf *m, size_t i, size_t *next)
{
	const unsigned char *nl = memchr(m->p + i, '\n', m->len - i);
	size_t end;

	if (nl == NULL) {
		*next = m->len;
		return m->len - i;
	}
	end = (size_t)(nl - m->p);
	*next = end + 1;
	if (end > i && m->p[end - 1] == '\r')
		end--;
	return end - i;
}

/*
 * Feeds the message to a handle: header fields one by one (CRLF inside
 * folded fields, no final CRLF), end of header, body with CRLF line ends.
 * Returns DKIM_STAT_OK or the first failing status; *where names the step.
 */
static DKIM_STAT feed(DKIM *dkim, const struct buf *m, const char **where)
{
	struct buf field = {0}, body = {0};
	size_t i = 0, next, len;
	DKIM_STAT st = DKIM_STAT_OK;

	/* header */
	while (i < m->len) {
		len = line_at(m, i, &next);
		if (len == 0) { /* the blank line */
			i = next;
			break;
		}
		if ((m->p[i] == ' ' || m->p[i] == '\t') && field.len > 0) {
			if (buf_add(&field, "\r\n", 2) || buf_add(&field, m->p + i, len))
				goto nomem;
		} else {
			if (field.len > 0) {
				st = dkim_header(dkim, field.p, field.len);
				if (st != DKIM_STAT_OK) {
					*where = "dkim_header";
					goto out;
				}
				field.len = 0;
			}
			if (buf_add(&field, m->p + i, len))
				goto nomem;
		}
		i = next;
	}
	if (field.len > 0) {
		st = dkim_header(dkim, field.p, field.len);
		if (st != DKIM_STAT_OK) {
			*where = "dkim_header";
			goto out;
		}
	}
	st = dkim_eoh(dkim);
	if (st != DKIM_STAT_OK) {
		*where = "dkim_eoh";
		goto out;
	}

	/* body: bare LF -> CRLF, fed in chunks of about 64 KiB */
	while (i < m->len) {
		const unsigned char *nl = memchr(m->p + i, '\n', m->len - i);

		if (nl == NULL) {
			/* The last line has no line end.  Over SMTP a message
			 * always ends in CRLF, and libopendkim's relaxed body
			 * canonicalization refuses a body without it ("CRLF at
			 * end of body missing"), so add it: RFC 6376 treats
			 * the body as if it were there anyway. */
			if (buf_add(&body, m->p + i, m->len - i) ||
			    buf_add(&body, "\r\n", 2))
				goto nomem;
			i = m->len;
		} else {
			size_t end = (size_t)(nl - m->p);

			if (end > i && m->p[end - 1] == '\r')
				end--;
			if (buf_add(&body, m->p + i, end - i) ||
			    buf_add(&body, "\r\n", 2))
				goto nomem;
			i = (size_t)(nl - m->p) + 1;
		}
		if (body.len >= 65536 || i >= m->len) {
			st = dkim_body(dkim, body.p, body.len);
			if (st != DKIM_STAT_OK) {
				*where = "dkim_body";
				goto out;
			}
			body.len = 0;
		}
	}
	goto out;
nomem:
	st = DKIM_STAT_NORESOURCE;
	*where = "out of memory";
out:
	free(field.p);
	free(body.p);
	return st;
}

static const char *alg_name(DKIM_SIGINFO *sig)
{
	dkim_alg_t alg = DKIM_SIGN_UNKNOWN;

	if (dkim_sig_getsignalg(sig, &alg) != DKIM_STAT_OK)
		return "?";
	switch (alg) {
	case DKIM_SIGN_RSASHA1:
		return "rsa-sha1";
	case DKIM_SIGN_RSASHA256:
		return "rsa-sha256";
	case DKIM_SIGN_ED25519SHA256:
		return "ed25519-sha256";
	default:
		return "?";
	}
}

static const char *str_or(const unsigned char *s, const char *dflt)
{
	return s != NULL ? (const char *)s : dflt;
}

/* pass, fail, temperror or permerror for one processed signature. */
static const char *sig_result(DKIM_SIGINFO *sig, const char **why)
{
	unsigned int flags = dkim_sig_getflags(sig);
	int err = dkim_sig_geterror(sig);
	int bh = dkim_sig_getbh(sig);
	const char *es = dkim_sig_geterrorstr(err);

	*why = es != NULL ? es : "unknown error";
	if (flags & DKIM_SIGFLAG_IGNORE) {
		*why = "signature ignored";
		return "neutral";
	}
	if (!(flags & DKIM_SIGFLAG_PROCESSED)) {
		if (err == DKIM_SIGERROR_OK)
			*why = "signature not processed";
		return err == DKIM_SIGERROR_KEYFAIL ? "temperror" : "permerror";
	}
	if ((flags & DKIM_SIGFLAG_PASSED) && bh == DKIM_SIGBH_MATCH) {
		*why = "";
		return "pass";
	}
	if ((flags & DKIM_SIGFLAG_PASSED) && bh == DKIM_SIGBH_MISMATCH) {
		*why = "body hash mismatch";
		return "fail";
	}
	switch (err) {
	case DKIM_SIGERROR_OK:
	case DKIM_SIGERROR_BADSIG:
		if (bh == DKIM_SIGBH_MISMATCH)
			*why = "body hash mismatch (and bad signature)";
		else if (err == DKIM_SIGERROR_OK)
			*why = "signature did not verify";
		return "fail";
	case DKIM_SIGERROR_KEYFAIL:
		return "temperror";
	default:
		return "permerror";
	}
}

static int verify_file(DKIM_LIB *lib, const char *path)
{
	struct buf m = {0};
	DKIM *dkim;
	DKIM_STAT st;
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0, k, passed = 0;
	const char *where = "";

	if (read_file(path, &m) != 0) {
		printf("%s dkim=error (cannot read: %s)\n", path, strerror(errno));
		free(m.p);
		return 0;
	}
	dkim = dkim_verify(lib, (const unsigned char *)path, NULL, &st);
	if (dkim == NULL) {
		printf("%s dkim=error (dkim_verify: %s)\n", path,
		    dkim_getresultstr(st));
		free(m.p);
		return 0;
	}
	st = feed(dkim, &m, &where);
	if (st == DKIM_STAT_NOSIG) {
		printf("%s dkim=none (no signature)\n", path);
		goto done;
	}
	if (st == DKIM_STAT_OK)
		st = dkim_eom(dkim, NULL);
	else if (strcmp(where, "dkim_eoh") != 0 && strcmp(where, "dkim_body") != 0) {
		printf("%s dkim=error (%s: %s%s%s)\n", path, where,
		    dkim_getresultstr(st), dkim_geterror(dkim) ? ": " : "",
		    str_or((const unsigned char *)dkim_geterror(dkim), ""));
		goto done;
	}
	/* Signature results are what counts; st only for the log. */
	if (dkim_getsiglist(dkim, &sigs, &nsigs) != DKIM_STAT_OK || nsigs == 0) {
		printf("%s dkim=none (%s%s%s)\n", path, dkim_getresultstr(st),
		    dkim_geterror(dkim) ? ": " : "",
		    str_or((const unsigned char *)dkim_geterror(dkim), ""));
		goto done;
	}
	for (k = 0; k < nsigs; k++) {
		const char *why = "";
		const char *res = sig_result(sigs[k], &why);
		unsigned int bits = 0;

		if (strcmp(res, "pass") == 0)
			passed++;
		(void)dkim_sig_getkeysize(sigs[k], &bits);
		printf("%s dkim=%s d=%s s=%s a=%s bits=%u%s%s%s\n", path, res,
		    str_or(dkim_sig_getdomain(sigs[k]), "?"),
		    str_or(dkim_sig_getselector(sigs[k]), "?"),
		    alg_name(sigs[k]), bits, *why ? " (" : "", why,
		    *why ? ")" : "");
	}
done:
	dkim_free(dkim);
	free(m.p);
	fflush(stdout);
	return passed > 0;
}

static int usage(void)
{
	fprintf(stderr,
	    "usage: opendkim_peer verify FILE...\n"
	    "       opendkim_peer sign --key FILE --selector S --domain D\n"
	    "                     [--alg rsa-sha256|ed25519-sha256]"
	    " [--canon H/B] [--margin N] < msg\n"
	    "       opendkim_peer features\n");
	return 2;
}

static int parse_canon(const char *s, dkim_canon_t *out)
{
	if (strcmp(s, "simple") == 0)
		*out = DKIM_CANON_SIMPLE;
	else if (strcmp(s, "relaxed") == 0)
		*out = DKIM_CANON_RELAXED;
	else
		return -1;
	return 0;
}

static int do_sign(DKIM_LIB *lib, int argc, char **argv)
{
	const char *keyfile = NULL, *selector = NULL, *domain = NULL;
	const char *algs = "rsa-sha256", *canons = "relaxed/relaxed";
	const char *margins = NULL;
	dkim_canon_t hc, bc;
	dkim_alg_t alg;
	struct buf key = {0}, m = {0};
	char hcs[16], *slash;
	DKIM *dkim = NULL;
	DKIM_STAT st;
	unsigned char *sig = NULL;
	size_t siglen = 0, i;
	const char *where = "", *eol;
	int k, rc = 1;

	for (k = 0; k < argc; k++) {
		const char **dst = NULL;

		if (strcmp(argv[k], "--key") == 0)
			dst = &keyfile;
		else if (strcmp(argv[k], "--selector") == 0)
			dst = &selector;
		else if (strcmp(argv[k], "--domain") == 0)
			dst = &domain;
		else if (strcmp(argv[k], "--alg") == 0)
			dst = &algs;
		else if (strcmp(argv[k], "--canon") == 0)
			dst = &canons;
		else if (strcmp(argv[k], "--margin") == 0)
			dst = &margins;
		if (dst == NULL || k + 1 >= argc)
			return usage();
		*dst = argv[++k];
	}
	if (keyfile == NULL || selector == NULL || domain == NULL)
		return usage();
	if (strcmp(algs, "rsa-sha256") == 0)
		alg = DKIM_SIGN_RSASHA256;
	else if (strcmp(algs, "ed25519-sha256") == 0)
		alg = DKIM_SIGN_ED25519SHA256;
	else {
		fprintf(stderr, "opendkim_peer: unknown algorithm %s\n", algs);
		return 2;
	}
	slash = strchr(canons, '/');
	if (slash == NULL || (size_t)(slash - canons) >= sizeof hcs) {
		fprintf(stderr, "opendkim_peer: bad --canon %s\n", canons);
		return 2;
	}
	memcpy(hcs, canons, (size_t)(slash - canons));
	hcs[slash - canons] = '\0';
	if (parse_canon(hcs, &hc) || parse_canon(slash + 1, &bc)) {
		fprintf(stderr, "opendkim_peer: bad --canon %s\n", canons);
		return 2;
	}
	if (read_file(keyfile, &key) != 0) {
		fprintf(stderr, "opendkim_peer: %s: %s\n", keyfile, strerror(errno));
		goto out;
	}
	if (read_stream(stdin, &m) != 0) {
		fprintf(stderr, "opendkim_peer: cannot read the message\n");
		goto out;
	}
	dkim = dkim_sign(lib, (const unsigned char *)"peer", NULL,
	    (dkim_sigkey_t)key.p, (const unsigned char *)selector,
	    (const unsigned char *)domain, hc, bc, alg, -1, &st);
	if (dkim == NULL) {
		fprintf(stderr, "opendkim_peer: dkim_sign: %s\n",
		    dkim_getresultstr(st));
		goto out;
	}
	if (margins != NULL || (alg == DKIM_SIGN_ED25519SHA256 &&
	    hc == DKIM_CANON_SIMPLE)) {
		int margin = margins != NULL ? atoi(margins) : 0;

		if (dkim_set_margin(dkim, margin) != DKIM_STAT_OK) {
			fprintf(stderr, "opendkim_peer: bad --margin\n");
			goto out;
		}
	}
	st = feed(dkim, &m, &where);
	if (st == DKIM_STAT_OK) {
		where = "dkim_eom";
		st = dkim_eom(dkim, NULL);
	}
	if (st == DKIM_STAT_OK) {
		where = "dkim_getsighdr_d";
		st = dkim_getsighdr_d(dkim, strlen(DKIM_SIGNHEADER) + 2, &sig,
		    &siglen);
	}
	if (st != DKIM_STAT_OK) {
		const char *e = dkim_geterror(dkim);

		fprintf(stderr, "opendkim_peer: %s: %s%s%s\n", where,
		    dkim_getresultstr(st), e ? ": " : "", e ? e : "");
		goto out;
	}
	/* The message's own line end for the new field. */
	{
		const unsigned char *nl = memchr(m.p, '\n', m.len);

		eol = (nl != NULL && nl > m.p && nl[-1] == '\r') || nl == NULL
		    ? "\r\n" : "\n";
	}
	printf("%s: ", DKIM_SIGNHEADER);
	for (i = 0; i < siglen; i++) {
		if (sig[i] == '\r' && i + 1 < siglen && sig[i + 1] == '\n')
			continue; /* the LF prints eol */
		if (sig[i] == '\n')
			fputs(eol, stdout);
		else
			putchar(sig[i]);
	}
	fputs(eol, stdout);
	if (fwrite(m.p, 1, m.len, stdout) != m.len || fflush(stdout) != 0) {
		fprintf(stderr, "opendkim_peer: write error\n");
		goto out;
	}
	rc = 0;
out:
	if (dkim != NULL)
		dkim_free(dkim);
	if (key.p != NULL)
		memset(key.p, 0, key.len);
	free(key.p);
	free(m.p);
	return rc;
}

int main(int argc, char **argv)
{
	DKIM_LIB *lib;
	unsigned int timeout = DNS_TIMEOUT;
	int rc, k, all = 1;

	if (argc < 2)
		return usage();
	lib = dkim_init(NULL, NULL);
	if (lib == NULL) {
		fprintf(stderr, "opendkim_peer: dkim_init failed\n");
		return 2;
	}
	(void)dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_TIMEOUT, &timeout,
	    sizeof timeout);

	if (strcmp(argv[1], "verify") == 0) {
		if (argc < 3) {
			dkim_close(lib);
			return usage();
		}
		for (k = 2; k < argc; k++)
			if (!verify_file(lib, argv[k]))
				all = 0;
		rc = all ? 0 : 1;
	} else if (strcmp(argv[1], "sign") == 0) {
		rc = do_sign(lib, argc - 2, argv + 2);
	} else if (strcmp(argv[1], "features") == 0) {
		printf("libopendkim 0x%08x ed25519=%s sha256=%s\n",
		    dkim_libversion(),
		    dkim_libfeature(lib, DKIM_FEATURE_ED25519) ? "yes" : "no",
		    dkim_libfeature(lib, DKIM_FEATURE_SHA256) ? "yes" : "no");
		rc = 0;
	} else {
		rc = usage();
	}
	dkim_close(lib);
	return rc;
}
