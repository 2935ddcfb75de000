/*
 * test_canon.c - header and body canonicalization (RFC 6376 3.4).
 *
 * The RFC's own example (3.4.5) and the empty-body rules are checked by
 * hashing: the engine's digest must equal the SHA-256 of the canonical text
 * the RFC prints.  Then body_canon is compared with the naive reference
 * canonicalizer of helpers.c over thousands of random bodies fed in random
 * chunkings, with and without l= limits.
 */
#include <stdlib.h>
#include <string.h>

#include "body_canon.h"
#include "body_set.h"
#include "header_canon.h"
#include "helpers.h"
#include "suites.h"

/* The SHA-256 of the given header fields as header_canon_hash makes it. */
static void
hash_headers(vdkim_canon canon, const char *const *fields, size_t n,
    int last_crlf, unsigned char out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned len = 0;

	ck_assert_ptr_nonnull(md);
	ck_assert_int_eq(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(header_canon_hash(md, canon, fields[i],
		    strlen(fields[i]), i + 1 < n || last_crlf), 0);
	ck_assert_int_eq(EVP_DigestFinal_ex(md, out, &len), 1);
	ck_assert_uint_eq(len, 32);
	EVP_MD_CTX_free(md);
}

static void
assert_header_canon(vdkim_canon canon, const char *const *fields, size_t n,
    const char *expected)
{
	unsigned char got[32], want[32];

	hash_headers(canon, fields, n, 1, got);
	sha256(expected, strlen(expected), want);
	ck_assert_msg(memcmp(got, want, 32) == 0,
	    "%s header canonicalization differs from \"%s\"",
	    vdkim_canon_name(canon), expected);
}

/* Canonicalizes body[0..n) in one piece; returns the digest and total. */
static void
body_digest(vdkim_canon canon, const void *body, size_t n, int64_t limit,
    unsigned char out[32], uint64_t *total)
{
	body_canon bc;
	unsigned dlen = 0;

	ck_assert_int_eq(body_canon_init(&bc, canon, EVP_sha256(), limit), 0);
	ck_assert_int_eq(body_canon_update(&bc, body, n), 0);
	ck_assert_int_eq(body_canon_final(&bc, out, &dlen, total), 0);
	ck_assert_uint_eq(dlen, 32);
	body_canon_cleanup(&bc);
}

static void
assert_body_canon(vdkim_canon canon, const char *body, const char *expected)
{
	unsigned char got[32], want[32];
	uint64_t total = 0;

	body_digest(canon, body, strlen(body), -1, got, &total);
	sha256(expected, strlen(expected), want);
	ck_assert_msg(memcmp(got, want, 32) == 0,
	    "%s body canonicalization differs from \"%s\"",
	    vdkim_canon_name(canon), expected);
	ck_assert_uint_eq(total, strlen(expected));
}

/* ------------------------------------------------ RFC 6376 3.4.5 example */

/*
 *   A: <SP> X <CRLF>
 *   B <SP> : <SP> Y <HTAB><CRLF>
 *   <HTAB> Z <SP><SP><CRLF>
 *   <CRLF>
 *   <SP> C <SP><CRLF>
 *   D <SP><HTAB><SP> E <CRLF>
 *   <CRLF>
 *   <CRLF>
 */
static const char *const rfc_fields[] = {
	"A: X\r\n",
	"B : Y\t\r\n\tZ  \r\n",
};
static const char rfc_body[] = " C \r\nD \t E\r\n\r\n\r\n";

START_TEST(rfc6376_header_relaxed)
{
	assert_header_canon(VDKIM_CANON_RELAXED, rfc_fields, 2,
	    "a:X\r\nb:Y Z\r\n");
}
END_TEST

START_TEST(rfc6376_header_simple)
{
	assert_header_canon(VDKIM_CANON_SIMPLE, rfc_fields, 2,
	    "A: X\r\nB : Y\t\r\n\tZ  \r\n");
}
END_TEST

START_TEST(rfc6376_body_relaxed)
{
	assert_body_canon(VDKIM_CANON_RELAXED, rfc_body, " C\r\nD E\r\n");
}
END_TEST

START_TEST(rfc6376_body_simple)
{
	assert_body_canon(VDKIM_CANON_SIMPLE, rfc_body, " C \r\nD \t E\r\n");
}
END_TEST

/* The RFC example fed in every 2-way and 3-way split. */
START_TEST(rfc6376_body_splits)
{
	static const char *const expected[2] = {
		" C \r\nD \t E\r\n", " C\r\nD E\r\n"
	};
	size_t n = strlen(rfc_body);

	for (int c = 0; c < 2; c++) {
		unsigned char want[32];

		sha256(expected[c], strlen(expected[c]), want);
		for (size_t a = 0; a <= n; a++) {
			for (size_t b = a; b <= n; b++) {
				body_canon bc;
				unsigned char got[32];
				unsigned dlen;

				ck_assert_int_eq(body_canon_init(&bc,
				    (vdkim_canon)c, EVP_sha256(), -1), 0);
				ck_assert_int_eq(body_canon_update(&bc,
				    rfc_body, a), 0);
				ck_assert_int_eq(body_canon_update(&bc,
				    rfc_body + a, b - a), 0);
				ck_assert_int_eq(body_canon_update(&bc,
				    rfc_body + b, n - b), 0);
				ck_assert_int_eq(body_canon_final(&bc, got,
				    &dlen, NULL), 0);
				body_canon_cleanup(&bc);
				ck_assert_msg(memcmp(got, want, 32) == 0,
				    "%s split at %zu,%zu",
				    vdkim_canon_name((vdkim_canon)c), a, b);
			}
		}
	}
}
END_TEST

/* ---------------------------------------------------------- empty bodies */

START_TEST(empty_body_hashes)
{
	unsigned char d[32];
	char b64[45];
	uint64_t total = 99;

	/* Simple: an empty body is one CRLF (RFC 6376 3.4.3). */
	body_digest(VDKIM_CANON_SIMPLE, "", 0, -1, d, &total);
	b64_encode_ossl(d, 32, b64);
	ck_assert_str_eq(b64, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
	ck_assert_uint_eq(total, 2);
	/* Relaxed: an empty body stays empty (RFC 6376 3.4.4). */
	body_digest(VDKIM_CANON_RELAXED, "", 0, -1, d, &total);
	b64_encode_ossl(d, 32, b64);
	ck_assert_str_eq(b64, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	ck_assert_uint_eq(total, 0);
}
END_TEST

START_TEST(blank_only_bodies)
{
	/* Bodies made only of empty lines reduce to the empty body. */
	static const char *const blank[] = { "\r\n", "\r\n\r\n\r\n", "\n",
		"\n\n", "\r\n\n\r\n" };

	for (size_t i = 0; i < sizeof(blank) / sizeof(blank[0]); i++) {
		assert_body_canon(VDKIM_CANON_SIMPLE, blank[i], "\r\n");
		assert_body_canon(VDKIM_CANON_RELAXED, blank[i], "");
	}
	/* Relaxed also drops lines of white space only; simple keeps them. */
	assert_body_canon(VDKIM_CANON_RELAXED, " \t \r\n\t\r\n  ", "");
	assert_body_canon(VDKIM_CANON_SIMPLE, " \t \r\n\t\r\n",
	    " \t \r\n\t\r\n");
}
END_TEST

/* ------------------------------------------------- more body details */

START_TEST(body_details)
{
	/* A last line without a line end gets one. */
	assert_body_canon(VDKIM_CANON_SIMPLE, "abc", "abc\r\n");
	assert_body_canon(VDKIM_CANON_RELAXED, "abc  ", "abc\r\n");
	/* Bare LF counts as CRLF. */
	assert_body_canon(VDKIM_CANON_SIMPLE, "a\nb\n\n", "a\r\nb\r\n");
	assert_body_canon(VDKIM_CANON_RELAXED, "a \nb\t\n\n", "a\r\nb\r\n");
	/* A bare CR is content. */
	assert_body_canon(VDKIM_CANON_SIMPLE, "a\rb\r\n", "a\rb\r\n");
	assert_body_canon(VDKIM_CANON_SIMPLE, "a\r\r\n", "a\r\r\n");
	assert_body_canon(VDKIM_CANON_RELAXED, "a \r b\r\n", "a \r b\r\n");
	/* Empty lines inside the body are kept. */
	assert_body_canon(VDKIM_CANON_RELAXED, "a\r\n\r\n \r\nb\r\n\r\n",
	    "a\r\n\r\n\r\nb\r\n");
	/* Leading WSP is reduced, not removed, by relaxed. */
	assert_body_canon(VDKIM_CANON_RELAXED, "\t\t x", " x\r\n");
}
END_TEST

START_TEST(body_lacked_final_eol)
{
	static const struct {
		const char *body;
		int lacked;
	} cases[] = {
		{ "", 0 }, { "a", 1 }, { "a\r\n", 0 }, { "a\n", 0 },
		{ "a\r", 1 }, { "a\r\n ", 1 }, { "\r\n\r\n", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		body_canon bc;

		ck_assert_int_eq(body_canon_init(&bc, VDKIM_CANON_RELAXED,
		    EVP_sha256(), -1), 0);
		ck_assert_int_eq(body_canon_update(&bc, cases[i].body,
		    strlen(cases[i].body)), 0);
		ck_assert_msg(body_canon_lacked_final_eol(&bc) ==
		    cases[i].lacked, "case %zu", i);
		body_canon_cleanup(&bc);
	}
}
END_TEST

START_TEST(body_limit)
{
	unsigned char got[32], want[32];
	uint64_t total = 0;

	/* l= caps what is hashed, not the reported total. */
	body_digest(VDKIM_CANON_SIMPLE, "Hello\r\nWorld\r\n", 14, 7, got,
	    &total);
	sha256("Hello\r\n", 7, want);
	ck_assert_mem_eq(got, want, 32);
	ck_assert_uint_eq(total, 14);
	body_digest(VDKIM_CANON_RELAXED, "Hello\r\n", 7, 0, got, &total);
	sha256("", 0, want);
	ck_assert_mem_eq(got, want, 32);
	ck_assert_uint_eq(total, 7);
	/* A limit past the end hashes the whole body. */
	body_digest(VDKIM_CANON_RELAXED, "Hi", 2, 1000, got, &total);
	sha256("Hi\r\n", 4, want);
	ck_assert_mem_eq(got, want, 32);
	ck_assert_uint_eq(total, 4);
	/* The CRLF of an empty simple body is counted against l= too. */
	body_digest(VDKIM_CANON_SIMPLE, "", 0, 1, got, &total);
	sha256("\r", 1, want);
	ck_assert_mem_eq(got, want, 32);
	ck_assert_uint_eq(total, 2);
}
END_TEST

/* ------------------------------------------------------- header details */

START_TEST(header_details)
{
	static const char *const f1[] = { "SUBJect \t:  hello \t world  \r\n" };
	static const char *const f2[] = { "Subject: a\r\n\tb\r\n  c\r\n" };
	static const char *const f3[] = { "X-Empty:\r\n" };
	static const char *const f4[] = { "X-Blank: \t \r\n" };
	static const char *const f5[] = { "X-LF: a\n b" };
	static const char *const f6[] = { "X-Raw:\t v \r\n" };
	static const char *const f7[] = { "Subject:\r\n folded start\r\n" };

	assert_header_canon(VDKIM_CANON_RELAXED, f1, 1,
	    "subject:hello world\r\n");
	assert_header_canon(VDKIM_CANON_SIMPLE, f1, 1,
	    "SUBJect \t:  hello \t world  \r\n");
	assert_header_canon(VDKIM_CANON_RELAXED, f2, 1, "subject:a b c\r\n");
	assert_header_canon(VDKIM_CANON_SIMPLE, f2, 1,
	    "Subject: a\r\n\tb\r\n  c\r\n");
	assert_header_canon(VDKIM_CANON_RELAXED, f3, 1, "x-empty:\r\n");
	assert_header_canon(VDKIM_CANON_RELAXED, f4, 1, "x-blank:\r\n");
	/* Bare LF inside a field is CRLF; a missing final line end is
	 * supplied by with_crlf. */
	assert_header_canon(VDKIM_CANON_SIMPLE, f5, 1, "X-LF: a\r\n b\r\n");
	assert_header_canon(VDKIM_CANON_RELAXED, f5, 1, "x-lf:a b\r\n");
	assert_header_canon(VDKIM_CANON_SIMPLE, f6, 1, "X-Raw:\t v \r\n");
	assert_header_canon(VDKIM_CANON_RELAXED, f7, 1,
	    "subject:folded start\r\n");
}
END_TEST

START_TEST(header_without_crlf)
{
	/* with_crlf = 0 (the DKIM-Signature field itself): no line end. */
	static const char *const f[] = { "DKIM-Signature: v=1;\r\n b=" };
	unsigned char got[32], want[32];

	hash_headers(VDKIM_CANON_RELAXED, f, 1, 0, got);
	sha256("dkim-signature:v=1; b=", 22, want);
	ck_assert_mem_eq(got, want, 32);
	hash_headers(VDKIM_CANON_SIMPLE, f, 1, 0, got);
	sha256("DKIM-Signature: v=1;\r\n b=", 25, want);
	ck_assert_mem_eq(got, want, 32);
}
END_TEST

/* ---------------------------------------------- the property test */

#define PROP_BODIES 3000

/* A random body from an alphabet rich in the bytes that matter. */
/*
 * One line of text that the relaxed canonicalization must rewrite or look
 * at, in the ways real text does (the benchmark's stop-heavy mix): words
 * with double spaces, tabs and SP+TAB between them, trailing SP/HTAB,
 * runs of blank lines after it, some of them with only WSP; a bare LF now
 * and then.  At most max bytes.
 */
static size_t
stop_heavy_line(trng *r, unsigned char *buf, size_t max)
{
	static const char *const seps[] = { " ", "  ", "\t", " \t", "\t\t ",
	    " ", " ", " " };
	static const char *const ends[] = { "\r\n", "\r\n", "\r\n", " \r\n",
	    "\t\r\n", " \t \r\n", "\n", " \n", "\r\n\r\n", "\r\n \r\n",
	    "\r\n\r\n\r\n", "\r\n\t\r\n\r\n" };
	size_t n = 0, words = 1 + trng_below(r, 12);
	const char *e;

	for (size_t w = 0; w < words; w++) {
		const char *sep = seps[trng_below(r, 8)];
		size_t len = 1 + trng_below(r, 9);

		for (; w > 0 && *sep != '\0' && n < max; sep++)
			buf[n++] = (unsigned char)*sep;
		for (size_t i = 0; i < len && n < max; i++)
			buf[n++] = (unsigned char)('a' + trng_below(r, 26));
	}
	for (e = ends[trng_below(r, 12)]; *e != '\0' && n < max; e++)
		buf[n++] = (unsigned char)*e;
	return n;
}

static size_t
random_body(trng *r, unsigned char *buf, size_t max)
{
	static const char alpha[] = " \t\r\na.";
	static const char *const pieces[] = {
		"\r\n", "\n", "\r", "\r\r\n", " \r\n", "\t\n", "\n\r",
		" \t ", "\r\n\r\n", "\r\n \r\n", ".\r\n", "a \t b",
	};
	size_t target, n = 0;

	/* Mostly short bodies, some up to a few KB. */
	switch (trng_below(r, 4)) {
	case 0:
		target = trng_below(r, 16);
		break;
	case 1:
		target = trng_below(r, 200);
		break;
	default:
		target = trng_below(r, max);
		break;
	}
	while (n < target) {
		size_t k, len;

		switch (trng_below(r, 9)) {
		case 0: /* one byte from the rich alphabet, or any byte */
			buf[n++] = trng_below(r, 8) == 0 ?
			    (unsigned char)trng_next(r) :
			    (unsigned char)alpha[trng_below(r, 6)];
			break;
		case 1: /* a run of one special byte */
			len = 1 + trng_below(r, 80);
			k = trng_below(r, 6);
			for (size_t i = 0; i < len && n < max; i++)
				buf[n++] = (unsigned char)alpha[k];
			break;
		case 2: { /* a piece */
			const char *p = pieces[trng_below(r,
			    sizeof(pieces) / sizeof(pieces[0]))];
			for (; *p != '\0' && n < max; p++)
				buf[n++] = (unsigned char)*p;
			break;
		}
		case 4: /* a stop-heavy line (what relaxed rewrites) */
			n += stop_heavy_line(r, buf + n, max - n);
			break;
		case 3: /* a long run without specials (the fast path) */
			len = 65 + trng_below(r, 400);
			for (size_t i = 0; i < len && n < max; i++)
				buf[n++] = (unsigned char)('a' +
				    trng_below(r, 26));
			break;
		default: /* a text line: words and single spaces */
			len = 20 + trng_below(r, 200);
			for (size_t i = 0; i < len && n < max; i++)
				buf[n++] = trng_below(r, 6) == 0 ? ' ' :
				    (unsigned char)('a' + trng_below(r, 26));
			k = trng_below(r, 4);
			if (k < 2 && n + 2 <= max) {
				buf[n++] = '\r';
				buf[n++] = '\n';
			} else if (k == 2 && n < max) {
				buf[n++] = '\n';
			}
			break;
		}
		if (n >= max)
			break;
	}
	return n;
}

enum { SPLIT_WHOLE, SPLIT_RANDOM, SPLIT_BYTES, SPLIT_CRLF, SPLIT_N };

/* The scans to test: every one this CPU can run (they must all give the
 * reference's hash). */
static int
scans_supported(body_canon_scan *out)
{
	int n = 0;

	for (int s = BODY_SCAN_GENERIC; s <= BODY_SCAN_AVX512; s++)
		if (body_canon_scan_supported((body_canon_scan)s))
			out[n++] = (body_canon_scan)s;
	return n;
}

static void
engine_digest(vdkim_canon canon, const unsigned char *body, size_t n,
    int64_t limit, int split, trng *r, body_canon_scan scan,
    unsigned char out[32], uint64_t *total, int *lacked)
{
	body_canon bc;
	unsigned dlen = 0;
	size_t i = 0;

	ck_assert_int_eq(body_canon_init(&bc, canon, EVP_sha256(), limit), 0);
	bc.scan = scan;
	switch (split) {
	case SPLIT_WHOLE:
		ck_assert_int_eq(body_canon_update(&bc, body, n), 0);
		break;
	case SPLIT_BYTES:
		for (; i < n; i++)
			ck_assert_int_eq(body_canon_update(&bc, body + i, 1),
			    0);
		break;
	case SPLIT_CRLF:
		/* Cut between the CR and the LF of every CRLF; an empty
		 * update in between for good measure. */
		while (i < n) {
			size_t j = i;
			while (j < n && !(j > i && body[j] == '\n' &&
			    body[j - 1] == '\r'))
				j++;
			ck_assert_int_eq(body_canon_update(&bc, body + i,
			    j - i), 0);
			ck_assert_int_eq(body_canon_update(&bc, body + j, 0),
			    0);
			i = j;
		}
		break;
	default:
		while (i < n) {
			size_t take = trng_below(r, 3) == 0 ?
			    1 + trng_below(r, 3) : trng_below(r, 4) == 0 ?
			    1 + trng_below(r, 9000) : 1 + trng_below(r, 700);
			if (take > n - i)
				take = n - i;
			ck_assert_int_eq(body_canon_update(&bc, body + i,
			    take), 0);
			i += take;
		}
		break;
	}
	*lacked = body_canon_lacked_final_eol(&bc);
	ck_assert_int_eq(body_canon_final(&bc, out, &dlen, total), 0);
	ck_assert_uint_eq(dlen, 32);
	body_canon_cleanup(&bc);
}

START_TEST(body_canon_matches_reference)
{
	static unsigned char body[4096];
	body_canon_scan scans[3];
	int nscans = scans_supported(scans);
	trng r;
	unsigned long runs = 0;

	trng_seed(&r, 0x5eed0000u + (uint64_t)_i);
	for (int iter = 0; iter < PROP_BODIES; iter++) {
		size_t n = random_body(&r, body, sizeof(body));
		int want_lacked = n > 0 && body[n - 1] != '\n';

		for (int c = 0; c < 2; c++) {
			size_t rlen;
			unsigned char *ref = ref_body_canon(body, n,
			    (vdkim_canon)c, &rlen);
			/* Half the bodies with an l= limit somewhere in or
			 * just past the canonical body. */
			int64_t limit = iter % 2 == 0 ? -1 :
			    (int64_t)trng_below(&r, rlen + 4);
			size_t hashed = limit < 0 || (size_t)limit > rlen ?
			    rlen : (size_t)limit;
			unsigned char want[32];

			sha256(ref, hashed, want);
			for (int split = 0; split < SPLIT_N; split++) {
				unsigned char got[32];
				uint64_t total = 0;
				int lacked = -1;

				/* Random chunks through every scan. */
				body_canon_scan scan = scans[split ==
				    SPLIT_RANDOM ? iter % nscans : nscans - 1];

				if (split == SPLIT_BYTES && n > 1500)
					continue;
				engine_digest((vdkim_canon)c, body, n, limit,
				    split, &r, scan, got, &total, &lacked);
				runs++;
				if (memcmp(got, want, 32) != 0 ||
				    total != rlen) {
					char hex[600 * 4 + 1];
					size_t w = 0;
					for (size_t k = 0; k < n && k < 600;
					    k++) {
						unsigned char b = body[k];
						if (b >= 0x20 && b < 0x7f &&
						    b != '\\')
							hex[w++] = (char)b;
						else
							w += (size_t)sprintf(
							    hex + w, "\\x%02x",
							    b);
					}
					hex[w] = '\0';
					ck_abort_msg("%s body %d, split %d, "
					    "scan %d, l=%lld: engine total "
					    "%llu, reference %zu; body \"%s\"",
					    vdkim_canon_name((vdkim_canon)c),
					    iter, split, (int)scan,
					    (long long)limit,
					    (unsigned long long)total, rlen,
					    hex);
				}
				ck_assert_int_eq(lacked, want_lacked);
			}
			free(ref);
		}
	}
	ck_assert_uint_gt(runs, PROP_BODIES * 2 * 3);
}
END_TEST

/*
 * Long stop-heavy bodies (many scan windows, runs cut at window ends,
 * chunks of up to 9,000 bytes), through every scan the CPU has, against
 * the reference: the benchmark's kind of text, where the fast path meets
 * a stop every line or two.
 */
START_TEST(stop_heavy_matches_reference)
{
	enum { LONG_BODY = 48 * 1024, LONG_BODIES = 60 };
	unsigned char *body = malloc(LONG_BODY);
	body_canon_scan scans[3];
	int nscans = scans_supported(scans);
	trng r;

	ck_assert_ptr_nonnull(body);
	trng_seed(&r, 0x570bULL + (uint64_t)_i);
	for (int iter = 0; iter < LONG_BODIES; iter++) {
		size_t n = 0, target = 8192 + trng_below(&r, LONG_BODY - 8192);

		while (n < target) {
			/* Mostly stop-heavy lines, some clean ones. */
			if (trng_below(&r, 5) < 3) {
				n += stop_heavy_line(&r, body + n, target - n);
				continue;
			}
			for (size_t k = 20 + trng_below(&r, 60);
			    k > 0 && n < target; k--)
				body[n++] = k % 6 == 0 ? ' ' :
				    (unsigned char)('a' + trng_below(&r, 26));
			for (const char *e = "\r\n"; *e != '\0' && n < target;
			    e++)
				body[n++] = (unsigned char)*e;
		}
		for (int c = 0; c < 2; c++) {
			size_t rlen;
			unsigned char *ref = ref_body_canon(body, n,
			    (vdkim_canon)c, &rlen);
			unsigned char want[32];

			sha256(ref, rlen, want);
			free(ref);
			for (int s = 0; s < nscans; s++) {
				for (int split = 0; split < SPLIT_N; split++) {
					unsigned char got[32];
					uint64_t total = 0;
					int lacked;

					if (split == SPLIT_BYTES)
						continue;
					engine_digest((vdkim_canon)c, body, n,
					    -1, split, &r, scans[s], got,
					    &total, &lacked);
					ck_assert_msg(memcmp(got, want, 32) ==
					    0 && total == rlen, "%s long body "
					    "%d (%zu bytes), split %d, scan %d",
					    vdkim_canon_name((vdkim_canon)c),
					    iter, n, split, (int)scans[s]);
				}
			}
		}
	}
	free(body);
}
END_TEST

/* The reference itself on hand-checked inputs, so that it can be
 * trusted as an oracle. */
START_TEST(reference_sanity)
{
	static const struct {
		const char *in;
		const char *simple, *relaxed;
	} cases[] = {
		{ "", "\r\n", "" },
		{ " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n",
		  " C\r\nD E\r\n" },
		{ "a\nb", "a\r\nb\r\n", "a\r\nb\r\n" },
		{ "a\r\r\n", "a\r\r\n", "a\r\r\n" },
		{ "x \t\r\n\r\n \r\ny", "x \t\r\n\r\n \r\ny\r\n",
		  "x\r\n\r\n\r\ny\r\n" },
		{ "\r", "\r\r\n", "\r\r\n" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n;
		unsigned char *s = ref_body_canon(
		    (const unsigned char *)cases[i].in, strlen(cases[i].in),
		    VDKIM_CANON_SIMPLE, &n);
		ck_assert_uint_eq(n, strlen(cases[i].simple));
		ck_assert_mem_eq(s, cases[i].simple, n);
		free(s);
		s = ref_body_canon((const unsigned char *)cases[i].in,
		    strlen(cases[i].in), VDKIM_CANON_RELAXED, &n);
		ck_assert_uint_eq(n, strlen(cases[i].relaxed));
		ck_assert_mem_eq(s, cases[i].relaxed, n);
		free(s);
	}
}
END_TEST

/* Long runs through the vectorised scan: lines far over 64 bytes, with
 * the special byte at every offset of a 32-byte block. */
START_TEST(fast_path_offsets)
{
	static const char specials[] = { '\t', '\n', '\r', ' ' };
	unsigned char body[400];

	for (size_t s = 0; s < sizeof(specials); s++) {
		for (size_t pos = 1; pos < 200; pos++) {
			for (int c = 0; c < 2; c++) {
				size_t rlen;
				unsigned char *ref, want[32], got[32];
				uint64_t total;
				body_canon bc;
				unsigned dlen;

				for (size_t k = 0; k < sizeof(body); k++)
					body[k] = (unsigned char)('a' + k % 26);
				body[pos] = (unsigned char)specials[s];
				body[pos + 1] = (unsigned char)specials[s];
				body[sizeof(body) - 2] = '\r';
				body[sizeof(body) - 1] = '\n';
				ref = ref_body_canon(body, sizeof(body),
				    (vdkim_canon)c, &rlen);
				sha256(ref, rlen, want);
				free(ref);
				/* One chunk, and two chunks cut near pos. */
				body_digest((vdkim_canon)c, body,
				    sizeof(body), -1, got, &total);
				ck_assert_msg(memcmp(got, want, 32) == 0,
				    "special 0x%02x at %zu, %s", specials[s],
				    pos, vdkim_canon_name((vdkim_canon)c));
				ck_assert_uint_eq(total, rlen);
				ck_assert_int_eq(body_canon_init(&bc,
				    (vdkim_canon)c, EVP_sha256(), -1), 0);
				ck_assert_int_eq(body_canon_update(&bc, body,
				    pos + 1), 0);
				ck_assert_int_eq(body_canon_update(&bc,
				    body + pos + 1, sizeof(body) - pos - 1),
				    0);
				ck_assert_int_eq(body_canon_final(&bc, got,
				    &dlen, NULL), 0);
				body_canon_cleanup(&bc);
				ck_assert_msg(memcmp(got, want, 32) == 0,
				    "split: special 0x%02x at %zu, %s",
				    specials[s], pos,
				    vdkim_canon_name((vdkim_canon)c));
			}
		}
	}
}
END_TEST

START_TEST(cleanup_is_safe)
{
	body_canon bc;
	unsigned char d[64];
	unsigned dlen;

	memset(&bc, 0, sizeof(bc));
	body_canon_cleanup(&bc); /* zeroed */
	ck_assert_int_eq(body_canon_init(&bc, VDKIM_CANON_SIMPLE,
	    EVP_sha256(), -1), 0);
	body_canon_cleanup(&bc);
	body_canon_cleanup(&bc); /* twice */
	ck_assert_ptr_null(bc.md);
	/* final after cleanup refuses instead of crashing. */
	ck_assert_int_eq(body_canon_final(&bc, d, &dlen, NULL), -1);
}
END_TEST

/* ------------------------------------------------------------ body_set */

START_TEST(body_set_shares_hashes)
{
	body_set bs;
	static const char body[] = "Hello  there \r\n\r\nbye";
	int a, b, c, d;

	body_set_init(&bs);
	a = body_set_get(&bs, VDKIM_CANON_RELAXED, -1);
	b = body_set_get(&bs, VDKIM_CANON_SIMPLE, -1);
	c = body_set_get(&bs, VDKIM_CANON_RELAXED, 5);
	d = body_set_get(&bs, VDKIM_CANON_RELAXED, -1);
	ck_assert_int_ge(a, 0);
	ck_assert_int_ne(a, b);
	ck_assert_int_ne(a, c);
	ck_assert_int_ne(b, c);
	ck_assert_int_eq(a, d); /* shared, not a second hash */
	ck_assert_uint_eq(bs.n, 3);
	ck_assert_int_eq(body_set_update(&bs, body, 10), 0);
	ck_assert_int_eq(body_set_update(&bs, body + 10, sizeof(body) - 11),
	    0);
	ck_assert_int_eq(body_set_lacked_final_eol(&bs), 1);
	ck_assert_int_eq(body_set_final(&bs), 0);
	{
		unsigned char want[32];
		sha256("Hello there\r\n\r\nbye\r\n", 20, want);
		ck_assert_uint_eq(bs.h[a]->dlen, 32);
		ck_assert_mem_eq(bs.h[a]->digest, want, 32);
		ck_assert_uint_eq(bs.h[a]->total, 20);
		sha256("Hello  there \r\n\r\nbye\r\n", 22, want);
		ck_assert_mem_eq(bs.h[b]->digest, want, 32);
		sha256("Hello", 5, want);
		ck_assert_mem_eq(bs.h[c]->digest, want, 32);
		ck_assert_uint_eq(bs.h[c]->total, 20);
	}
	body_set_free(&bs);
	ck_assert_uint_eq(bs.n, 0);
}
END_TEST

START_TEST(body_set_full)
{
	body_set bs;

	body_set_init(&bs);
	for (int i = 0; i < BODY_SET_MAX; i++)
		ck_assert_int_eq(body_set_get(&bs, VDKIM_CANON_SIMPLE, i), i);
	ck_assert_int_eq(body_set_get(&bs, VDKIM_CANON_SIMPLE, 1000), -1);
	/* An existing one is still found. */
	ck_assert_int_eq(body_set_get(&bs, VDKIM_CANON_SIMPLE, 3), 3);
	ck_assert_int_eq(body_set_lacked_final_eol(&bs), 0);
	body_set_free(&bs);
	/* An empty set. */
	body_set_init(&bs);
	ck_assert_int_eq(body_set_final(&bs), 0);
	ck_assert_int_eq(body_set_lacked_final_eol(&bs), 0);
	body_set_free(&bs);
}
END_TEST

Suite *
canon_suite(void)
{
	Suite *s = suite_create("canon");
	TCase *rfc = tcase_create("rfc6376");
	TCase *det = tcase_create("details");
	TCase *prop = tcase_create("property");

	tcase_set_timeout(rfc, TEST_TIMEOUT);
	tcase_add_test(rfc, rfc6376_header_relaxed);
	tcase_add_test(rfc, rfc6376_header_simple);
	tcase_add_test(rfc, rfc6376_body_relaxed);
	tcase_add_test(rfc, rfc6376_body_simple);
	tcase_add_test(rfc, rfc6376_body_splits);
	tcase_add_test(rfc, empty_body_hashes);
	tcase_add_test(rfc, blank_only_bodies);
	suite_add_tcase(s, rfc);

	tcase_set_timeout(det, TEST_TIMEOUT);
	tcase_add_test(det, body_details);
	tcase_add_test(det, body_lacked_final_eol);
	tcase_add_test(det, body_limit);
	tcase_add_test(det, header_details);
	tcase_add_test(det, header_without_crlf);
	tcase_add_test(det, cleanup_is_safe);
	tcase_add_test(det, body_set_shares_hashes);
	tcase_add_test(det, body_set_full);
	suite_add_tcase(s, det);

	tcase_set_timeout(prop, 240);
	tcase_add_test(prop, reference_sanity);
	tcase_add_loop_test(prop, body_canon_matches_reference, 0, 2);
	tcase_add_test(prop, fast_path_offsets);
	tcase_add_loop_test(prop, stop_heavy_matches_reference, 0, 2);
	suite_add_tcase(s, prop);
	return s;
}
