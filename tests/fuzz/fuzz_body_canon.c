/*
 * fuzz_body_canon.c - the streaming body canonicalizer against a plain
 * reference written here from RFC 6376 3.4.3 and 3.4.4, through the
 * public canon API only (body_canon.h): the same digest and the same
 * canonical length, for both canonicalizations, any l=, any chunking.
 * Both builds are checked: the engine's (its AVX2 fast path where the CPU
 * has it) and the same source without AVX2 (body_canon_plain.c).
 *
 * Input: a byte for the canonicalization and the chunking, a byte for
 * l=, then the body.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "body_canon.h"
#include "body_canon_plain.h"
#include "fuzz_common.h"

/*
 * The reference, on the whole body at once, as the engine defines its
 * input (body_canon.h): a line ends at CRLF or at a bare LF (the message
 * will travel with CRLF); a CR not followed by LF is content; a last
 * line without a line end gets one.  Relaxed: runs of SP/HTAB become one
 * SP, none at a line's end.  Empty lines at the end go; an empty simple
 * body is one CRLF.  Returns the canonical body (malloc'd), its length in
 * *olen.
 */
static unsigned char *
reference(const unsigned char *in, size_t len, int relaxed, size_t *olen)
{
	/* Each input byte gives at most one output byte, each line end
	 * two, plus the CRLF of a simple empty body. */
	unsigned char *out = malloc(2 * len + 3);
	size_t o = 0, keep = 0, i = 0;

	if (out == NULL)
		abort();
	while (i < len) {
		size_t end = i, next;
		size_t line_start = o;

		while (end < len && in[end] != '\n')
			end++;
		next = end < len ? end + 1 : end;
		/* CRLF: the CR belongs to the line end. */
		if (end < len && end > i && in[end - 1] == '\r')
			end--;
		for (size_t j = i; j < end; j++) {
			unsigned char c = in[j];

			if (relaxed && (c == ' ' || c == '\t')) {
				size_t k = j;

				while (k < end && (in[k] == ' ' || in[k] == '\t'))
					k++;
				if (k < end)
					out[o++] = ' ';
				j = k - 1;
				continue;
			}
			out[o++] = c;
		}
		out[o++] = '\r';
		out[o++] = '\n';
		/* Up to here is kept unless only empty lines follow. */
		if (o - line_start > 2)
			keep = o;
		i = next;
	}
	o = keep;
	if (!relaxed && o == 0) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	*olen = o;
	return out;
}

static void
sha256(const unsigned char *p, size_t n, unsigned char *md, unsigned *mdlen)
{
	FUZZ_CHECK(EVP_Digest(p, n, md, mdlen, EVP_sha256(), NULL) == 1,
	    "SHA-256 failed");
}

/* One build of the canon API. */
typedef struct canon_build {
	int (*init)(body_canon *, vdkim_canon, const EVP_MD *, int64_t);
	int (*update)(body_canon *, const void *, size_t);
	int (*final)(body_canon *, unsigned char *, unsigned *, uint64_t *);
	int (*lacked_final_eol)(const body_canon *);
	void (*cleanup)(body_canon *);
} canon_build;

static const canon_build engine_build = {
	body_canon_init, body_canon_update, body_canon_final,
	body_canon_lacked_final_eol, body_canon_cleanup
};
static const canon_build plain_build = {
	plain_body_canon_init, plain_body_canon_update, plain_body_canon_final,
	plain_body_canon_lacked_final_eol, plain_body_canon_cleanup
};

static void
run_build(const canon_build *b, const char *name, const uint8_t *body,
    size_t blen, int relaxed, int64_t limit, uint32_t seed, size_t rlen,
    const unsigned char *want, unsigned wlen)
{
	unsigned char got[EVP_MAX_MD_SIZE];
	unsigned glen = 0;
	uint64_t total = 0;
	size_t off = 0;
	fuzz_chunker c;
	body_canon bc;

	memset(&bc, 0, sizeof(bc));
	FUZZ_CHECK(b->init(&bc, relaxed ? VDKIM_CANON_RELAXED :
	    VDKIM_CANON_SIMPLE, EVP_sha256(), limit) == 0, "%s: init failed",
	    name);
	fuzz_chunker_init(&c, seed);
	while (off < blen) {
		size_t n = fuzz_chunk_next(&c, blen - off);

		FUZZ_CHECK(b->update(&bc, body + off, n) == 0,
		    "%s: update failed", name);
		off += n;
	}
	FUZZ_CHECK(b->final(&bc, got, &glen, &total) == 0, "%s: final failed",
	    name);
	b->cleanup(&bc);
	FUZZ_CHECK(total == rlen, "%s, %s: canonical length %llu, reference "
	    "%zu", name, relaxed ? "relaxed" : "simple",
	    (unsigned long long)total, rlen);
	FUZZ_CHECK(glen == wlen && memcmp(got, want, glen) == 0,
	    "%s, %s, l=%lld: the digest differs from the reference's", name,
	    relaxed ? "relaxed" : "simple", (long long)limit);
	FUZZ_CHECK(b->lacked_final_eol(&bc) ==
	    (blen > 0 && body[blen - 1] != '\n'),
	    "%s: lacked_final_eol says %d", name, b->lacked_final_eol(&bc));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char want[EVP_MAX_MD_SIZE];
	unsigned wlen = 0;
	int relaxed;
	int64_t limit;
	const uint8_t *body;
	size_t blen, rlen, hashed;
	unsigned char *ref;

	if (size < 2)
		return 0;
	relaxed = data[0] & 1;
	/* Mostly the whole body; else a small l=, where its edge is. */
	limit = (data[1] & 0x80) ? (int64_t)(data[1] & 0x7f) * 3 : -1;
	body = data + 2;
	blen = size - 2;

	ref = reference(body, blen, relaxed, &rlen);
	hashed = limit >= 0 && (uint64_t)limit < rlen ? (size_t)limit : rlen;
	sha256(ref, hashed, want, &wlen);

	run_build(&engine_build, "engine", body, blen, relaxed, limit,
	    data[0] >> 1, rlen, want, wlen);
	run_build(&plain_build, "without AVX2", body, blen, relaxed, limit,
	    data[0] >> 1, rlen, want, wlen);
	free(ref);
	return 0;
}
