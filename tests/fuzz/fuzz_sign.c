/*
 * fuzz_sign.c - the signer on a raw message, in arbitrary chunkings.
 *
 * Input: an options byte (key, canonicalizations, l=, i=, x=), a chunking
 * byte, then the message.  With the options' bit 6 the message's first
 * line gives the spec's strings instead, TAB-separated:
 * DOMAIN SELECTOR IDENTITY HEADERS EXTRA-HEADERS OVERSIGN (lists
 * colon-separated; an empty field: the default, or with bit 7 the
 * default list named), so spec checks are fuzzed too.  The signer must sign or return an error with a
 * sentence; the same message in one piece and in the chosen chunking must
 * give the same result, byte for byte (a fixed time: RSA PKCS#1 v1.5 and
 * Ed25519 signatures are deterministic); and a fresh signature must verify
 * with the engine's own verifier.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_common.h"

/* The spec's strings from the input (bit 6), split in place. */
typedef struct spec_text {
	char *buf;
	const char *domain, *selector, *identity;
	const char **lists[3];  /* headers, extra, oversign; NULL: default */
} spec_text;

/* A colon-separated list, NULL-terminated, pointing into s. */
static const char **
split_list(char *s)
{
	size_t n = 1;
	const char **v;

	if (s == NULL || *s == '\0')
		return NULL;
	for (char *p = s; *p; p++)
		n += *p == ':';
	v = calloc(n + 1, sizeof(*v));
	FUZZ_CHECK(v != NULL, "out of memory");
	n = 0;
	for (char *tok = strtok(s, ":"); tok != NULL; tok = strtok(NULL, ":"))
		v[n++] = tok;
	return v;
}

/* Takes the first line of *msg as spec text; the message goes on after
 * it. */
static void
spec_text_take(spec_text *t, const uint8_t **msg, size_t *len)
{
	const uint8_t *nl = memchr(*msg, '\n', *len);
	size_t n = nl != NULL ? (size_t)(nl - *msg) : *len;
	char *f[6] = { NULL };
	char *p;

	memset(t, 0, sizeof(*t));
	t->buf = malloc(n + 1);
	FUZZ_CHECK(t->buf != NULL, "out of memory");
	memcpy(t->buf, *msg, n);
	t->buf[n] = '\0';
	*msg += nl != NULL ? n + 1 : n;
	*len -= nl != NULL ? n + 1 : n;
	p = t->buf;
	for (int i = 0; i < 6 && p != NULL; i++) {
		f[i] = p;
		p = strchr(p, '\t');
		if (p != NULL)
			*p++ = '\0';
	}
	t->domain = f[0] != NULL && *f[0] ? f[0] : FUZZ_DOMAIN;
	t->selector = f[1] != NULL && *f[1] ? f[1] : NULL;
	t->identity = f[2] != NULL && *f[2] ? f[2] : NULL;
	for (int i = 0; i < 3; i++)
		t->lists[i] = split_list(f[3 + i]);
}

static void
spec_text_free(spec_text *t)
{
	for (int i = 0; i < 3; i++)
		free(t->lists[i]);
	free(t->buf);
}

typedef struct signed_msg {
	vdkim_rc rc;
	char *sig;      /* the DKIM-Signature field, malloc'd */
	size_t len;
	int added_eol;  /* the body's last line lacked its line end */
} signed_msg;

static void
sign(const uint8_t *msg, size_t len, uint8_t opts, const spec_text *t,
    int chunked, uint8_t seed, signed_msg *out)
{
	const fuzz_keys *k = fuzz_keys_get();
	vdkim_signer *s = NULL;
	vdkim_sig_spec spec;
	vdkim_error err;
	fuzz_chunker c;
	size_t off = 0, rlen;
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
	if (t != NULL) {
		spec.domain = t->domain;
		if (t->selector != NULL)
			spec.selector = t->selector;
		spec.identity = t->identity;
		/* Bit 7: the default set named explicitly. */
		spec.headers = t->lists[0] != NULL || !(opts & 128) ?
		    t->lists[0] : vdkim_default_headers();
		spec.extra_headers = t->lists[1];
		spec.oversign = t->lists[2];
		spec.expire_after = (opts & 32) ? -1 : 0;
	}
	FUZZ_CHECK(vdkim_signer_new(&s, &err) == VDKIM_OK, "%s", err.msg);
	out->rc = vdkim_signer_add(s, &spec, &err);
	if (out->rc != VDKIM_OK) {
		/* Only a spec from the input may be refused. */
		FUZZ_CHECK(t != NULL && out->rc == VDKIM_EINVAL &&
		    err.msg[0] != '\0', "signer_add: %s", err.msg);
		vdkim_signer_free(s);
		return;
	}
	fuzz_chunker_init(&c, seed);
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
		/* The signature's line ends are the message's. */
		FUZZ_CHECK(out->len >= 2 && strcmp(r + out->len - strlen(
		    vdkim_signer_eol(s)), vdkim_signer_eol(s)) == 0,
		    "the signature does not end with the message's line end");
		out->added_eol = vdkim_signer_added_final_eol(s);
		FUZZ_CHECK(vdkim_signer_result(s, 1, &rlen) == NULL,
		    "a result past the count");
		/* The signer is done: no spec is taken now. */
		FUZZ_CHECK(vdkim_signer_add(s, &spec, NULL) == VDKIM_ESTATE,
		    "a spec taken after the message");
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
	const uint8_t *msg = data + 2;
	size_t len = size - 2;
	signed_msg whole, split;
	spec_text t, *tp = NULL;

	if (size < 2)
		return 0;
	if (data[0] & 64) {
		spec_text_take(&t, &msg, &len);
		tp = &t;
	}
	sign(msg, len, data[0], tp, 0, 0, &whole);
	sign(msg, len, data[0], tp, 1, data[1], &split);
	FUZZ_CHECK(whole.rc == split.rc, "%s whole, %s chunked",
	    vdkim_rc_name(whole.rc), vdkim_rc_name(split.rc));
	if (whole.rc == VDKIM_OK) {
		FUZZ_CHECK(whole.len == split.len &&
		    memcmp(whole.sig, split.sig, whole.len) == 0,
		    "the chunking changed the signature:\n%s\n%s", whole.sig,
		    split.sig);
		FUZZ_CHECK(whole.added_eol == split.added_eol,
		    "the chunking changed added_final_eol");
		/* The key map knows our selectors of our domain only. */
		if (tp == NULL || (strcasecmp(t.domain, FUZZ_DOMAIN) == 0 &&
		    t.selector == NULL))
			check_verifies(&whole, msg, len);
	}
	free(whole.sig);
	free(split.sig);
	if (tp != NULL)
		spec_text_free(tp);
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
