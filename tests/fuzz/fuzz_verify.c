/*
 * fuzz_verify.c - a raw message through the verifier, keys from the
 * static map (RFC 8463's records: no network).
 *
 * Input: one byte choosing the chunking, then the message.  The message
 * is verified whole and in that chunking: the results must be the same.
 */
#include <string.h>

#include "fuzz_common.h"

#define MAX_RESULTS VDKIM_MAX_VERIFY

typedef struct outcome {
	vdkim_rc rc;
	size_t n;
	vdkim_result res[MAX_RESULTS + 1];
	vdkim_reason why[MAX_RESULTS + 1];
} outcome;

static void
verify(const uint8_t *msg, size_t len, int chunked, uint8_t seed,
    outcome *o)
{
	const fuzz_keys *k = fuzz_keys_get();
	vdkim_verifier *v = NULL;
	vdkim_error err;
	fuzz_chunker c;
	size_t off = 0;

	memset(o, 0, sizeof(*o));
	o->rc = vdkim_verifier_new(fuzz_keys_lookup, (void *)k, &v, &err);
	FUZZ_CHECK(o->rc == VDKIM_OK, "verifier_new: %s", err.msg);
	vdkim_verifier_set_time(v, FUZZ_NOW);
	fuzz_chunker_init(&c, seed);
	while (o->rc == VDKIM_OK && off < len) {
		size_t n = chunked ? fuzz_chunk_next(&c, len - off) : len - off;

		o->rc = vdkim_verifier_message(v, msg + off, n, &err);
		off += n;
	}
	if (o->rc == VDKIM_OK)
		o->rc = vdkim_verifier_eom(v, &err);
	if (o->rc == VDKIM_OK) {
		o->n = vdkim_verifier_count(v);
		FUZZ_CHECK(o->n <= MAX_RESULTS + 1, "%zu results", o->n);
		for (size_t i = 0; i < o->n; i++) {
			const vdkim_sig_result *r = vdkim_verifier_result(v, i);

			FUZZ_CHECK(r != NULL, "result %zu missing", i);
			/* Every result names itself: strings never NULL. */
			FUZZ_CHECK(r->domain != NULL && r->selector != NULL &&
			    r->identity != NULL, "result %zu: a NULL name", i);
			FUZZ_CHECK(memchr(r->detail, '\0', sizeof(r->detail))
			    != NULL, "result %zu: detail not terminated", i);
			o->res[i] = r->result;
			o->why[i] = r->reason;
		}
		FUZZ_CHECK(vdkim_verifier_result(v, o->n) == NULL,
		    "a result past the count");
	} else {
		FUZZ_CHECK(err.msg[0] != '\0', "rc %d without a sentence",
		    (int)o->rc);
	}
	vdkim_verifier_free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	outcome whole, split;

	if (size < 1)
		return 0;
	verify(data + 1, size - 1, 0, data[0], &whole);
	verify(data + 1, size - 1, 1, data[0], &split);
	FUZZ_CHECK(whole.rc == split.rc, "rc %d whole, %d chunked",
	    (int)whole.rc, (int)split.rc);
	FUZZ_CHECK(whole.n == split.n, "%zu results whole, %zu chunked",
	    whole.n, split.n);
	for (size_t i = 0; i < whole.n; i++)
		FUZZ_CHECK(whole.res[i] == split.res[i] &&
		    whole.why[i] == split.why[i],
		    "signature %zu: %s/%s whole, %s/%s chunked", i,
		    vdkim_result_name(whole.res[i]),
		    vdkim_reason_name(whole.why[i]),
		    vdkim_result_name(split.res[i]),
		    vdkim_reason_name(split.why[i]));
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_keys_get();
	return 0;
}
