/*
 * fuzz_body_canon.c - the streaming body canonicalizer (with its
 * vectorised fast path, AVX2 where the CPU has it) against a plain
 * reference written here from RFC 6376 3.4.3 and 3.4.4, through the
 * public canon API only (body_canon.h): the same digest and the same
 * canonical length, for both canonicalizations, any l=, any chunking.
 *
 * Input: a byte for the canonicalization and the chunking, a byte for
 * l=, then the body.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "body_canon.h"
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char got[EVP_MAX_MD_SIZE], want[EVP_MAX_MD_SIZE];
	unsigned glen = 0, wlen = 0;
	int relaxed;
	int64_t limit;
	const uint8_t *body;
	size_t blen, rlen, off = 0, hashed;
	unsigned char *ref;
	uint64_t total = 0;
	fuzz_chunker c;
	body_canon bc;

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

	memset(&bc, 0, sizeof(bc));
	FUZZ_CHECK(body_canon_init(&bc, relaxed ? VDKIM_CANON_RELAXED :
	    VDKIM_CANON_SIMPLE, EVP_sha256(), limit) == 0, "init failed");
	fuzz_chunker_init(&c, data[0] >> 1);
	while (off < blen) {
		size_t n = fuzz_chunk_next(&c, blen - off);

		FUZZ_CHECK(body_canon_update(&bc, body + off, n) == 0,
		    "update failed");
		off += n;
	}
	FUZZ_CHECK(body_canon_final(&bc, got, &glen, &total) == 0,
	    "final failed");
	body_canon_cleanup(&bc);

	FUZZ_CHECK(total == rlen, "%s: canonical length %llu, reference %zu",
	    relaxed ? "relaxed" : "simple", (unsigned long long)total, rlen);
	FUZZ_CHECK(glen == wlen && memcmp(got, want, glen) == 0,
	    "%s, l=%lld: the digest differs from the reference's",
	    relaxed ? "relaxed" : "simple", (long long)limit);
	FUZZ_CHECK(body_canon_lacked_final_eol(&bc) ==
	    (blen > 0 && body[blen - 1] != '\n'),
	    "lacked_final_eol says %d", body_canon_lacked_final_eol(&bc));
	free(ref);
	return 0;
}
