/*
 * fuzz_sign.c - the signer on a raw message, in arbitrary chunkings.
 *
 * Input: an options byte (key, canonicalizations, l=, i=), a chunking
 * byte, then the message.  The signer must sign or return an error with a
 * sentence; the same message in one piece and in the chosen chunking must
 * give the same result, byte for byte (a fixed time: RSA PKCS#1 v1.5 and
 * Ed25519 signatures are deterministic); and a fresh signature must verify
 * with the engine's own verifier.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

typedef struct signed_msg {
	vdkim_rc rc;
	char *sig;      /* the DKIM-Signature field, malloc'd */
	size_t len;
} signed_msg;

static void
sign(const uint8_t *msg, size_t len, uint8_t opts, int chunked,
    uint8_t seed, signed_msg *out)
{
	const fuzz_keys *k = fuzz_keys_get();
	vdkim_signer *s = NULL;
	vdkim_sig_spec spec;
	vdkim_error err;
	fuzz_chunker c;
	size_t off = 0;
	const char *r;

	memset(out, 0, sizeof(*out));
	vdkim_sig_spec_init(&spec);
	spec.key = (opts & 1) ? k->ed : k->rsa;
	spec.domain = FUZZ_DOMAIN;
	spec.selector = (opts & 1) ? FUZZ_SEL_ED : FUZZ_SEL_RSA;
	spec.header_canon = (opts & 2) ? VDKIM_CANON_RELAXED :
	    VDKIM_CANON_SIMPLE;
	spec.body_canon = (opts & 4) ? VDKIM_CANON_RELAXED :
	    VDKIM_CANON_SIMPLE;
	spec.body_length = (opts & 8) != 0;
	spec.identity = (opts & 16) ? "user@mail." FUZZ_DOMAIN : NULL;
	spec.expire_after = (opts & 32) ? 3600 : 0;
	spec.now = FUZZ_NOW;
	FUZZ_CHECK(vdkim_signer_new(&s, &err) == VDKIM_OK, "%s", err.msg);
	FUZZ_CHECK(vdkim_signer_add(s, &spec, &err) == VDKIM_OK, "%s",
	    err.msg);
	fuzz_chunker_init(&c, seed);
	out->rc = VDKIM_OK;
	while (out->rc == VDKIM_OK && off < len) {
		size_t n = chunked ? fuzz_chunk_next(&c, len - off) : len - off;

		out->rc = vdkim_signer_message(s, msg + off, n, &err);
		off += n;
	}
	if (out->rc == VDKIM_OK)
		out->rc = vdkim_signer_eom(s, &err);
	if (out->rc == VDKIM_OK) {
		FUZZ_CHECK(vdkim_signer_count(s) == 1, "%zu signatures",
		    vdkim_signer_count(s));
		r = vdkim_signer_result(s, 0, &out->len);
		FUZZ_CHECK(r != NULL && out->len == strlen(r),
		    "no signature after eom");
		out->sig = malloc(out->len + 1);
		FUZZ_CHECK(out->sig != NULL, "out of memory");
		memcpy(out->sig, r, out->len + 1);
	} else {
		FUZZ_CHECK(err.msg[0] != '\0', "rc %s without a sentence",
		    vdkim_rc_name(out->rc));
		/* A failed signer stays failed. */
		FUZZ_CHECK(vdkim_signer_eom(s, NULL) != VDKIM_OK,
		    "eom after a failure succeeded");
	}
	vdkim_signer_free(s);
}

/* The signature on top of the message must verify. */
static void
check_verifies(const signed_msg *sm, const uint8_t *msg, size_t len)
{
	const fuzz_keys *k = fuzz_keys_get();
	const vdkim_sig_result *r;
	vdkim_verifier *v = NULL;
	vdkim_error err;

	FUZZ_CHECK(vdkim_verifier_new(fuzz_keys_lookup, (void *)k, &v, &err)
	    == VDKIM_OK, "%s", err.msg);
	vdkim_verifier_set_time(v, FUZZ_NOW);
	FUZZ_CHECK(vdkim_verifier_message(v, sm->sig, sm->len, &err) ==
	    VDKIM_OK, "verifying the fresh signature: %s", err.msg);
	FUZZ_CHECK(vdkim_verifier_message(v, msg, len, &err) == VDKIM_OK &&
	    vdkim_verifier_eom(v, &err) == VDKIM_OK,
	    "verifying a message the signer took: %s", err.msg);
	r = vdkim_verifier_result(v, 0);
	FUZZ_CHECK(r != NULL, "the fresh signature has no result");
	FUZZ_CHECK(r->result == VDKIM_RES_PASS,
	    "the fresh signature does not verify: %s (%s): %s\n%s",
	    vdkim_result_name(r->result), vdkim_reason_name(r->reason),
	    r->detail, sm->sig);
	vdkim_verifier_free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	signed_msg whole, split;

	if (size < 2)
		return 0;
	sign(data + 2, size - 2, data[0], 0, 0, &whole);
	sign(data + 2, size - 2, data[0], 1, data[1], &split);
	FUZZ_CHECK(whole.rc == split.rc, "%s whole, %s chunked",
	    vdkim_rc_name(whole.rc), vdkim_rc_name(split.rc));
	if (whole.rc == VDKIM_OK) {
		FUZZ_CHECK(whole.len == split.len &&
		    memcmp(whole.sig, split.sig, whole.len) == 0,
		    "the chunking changed the signature:\n%s\n%s", whole.sig,
		    split.sig);
		check_verifies(&whole, data + 2, size - 2);
	}
	free(whole.sig);
	free(split.sig);
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
