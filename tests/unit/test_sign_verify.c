/*
 * test_sign_verify.c - signing and verifying through the public API:
 * round trips over keys, canonicalizations, line ends, body shapes and
 * feeding modes; the signature options (i=, x=, l=, over-signing, h=);
 * the emitted field's folding; and misuse of the signer and verifier.
 */
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "suites.h"

#define T0 ((time_t)1700000000)

/* Bare LF turned into CRLF (CRLF left alone). */
static char *
to_crlf(const char *s, size_t n, size_t *outlen)
{
	char *d = malloc(2 * n + 1);
	size_t w = 0;

	ck_assert_ptr_nonnull(d);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			d[w++] = '\r';
		d[w++] = s[i];
	}
	d[w] = '\0';
	*outlen = w;
	return d;
}

/* The header part of STD_MSG (up to, not including, the empty line). */
static size_t
std_header_len(void)
{
	const char *p = strstr(STD_MSG, "\r\n\r\n");

	ck_assert_ptr_nonnull(p);
	return (size_t)(p - STD_MSG) + 2;
}

enum body_shape { BODY_NORMAL, BODY_NO_FINAL_EOL, BODY_EMPTY, BODY_NONE,
	BODY_SHAPES };

static char *
std_variant(int shape, int lf, size_t *len)
{
	size_t hl = std_header_len(), n;
	char *m, *out;

	switch (shape) {
	case BODY_NORMAL:
		m = xstrdup(STD_MSG);
		break;
	case BODY_NO_FINAL_EOL:
		{
			static const char body[] = "\r\nHello Bob,\r\n"
			    "  indented  \r\n\r\nRegards.";
			m = xconcat(STD_MSG, hl, body, strlen(body), NULL);
		}
		ck_assert_str_eq(m + strlen(m) - 9, "\nRegards.");
		break;
	case BODY_EMPTY:
		m = xconcat(STD_MSG, hl, "\r\n", 2, NULL);
		break;
	default:
		m = xmemdup(STD_MSG, hl);
		break;
	}
	n = strlen(m);
	if (!lf) {
		*len = n;
		return m;
	}
	out = to_lf(m, n, len);
	free(m);
	return out;
}

static vdkim_key *
key_by_index(int k, const char **selector, unsigned *bits)
{
	switch (k) {
	case 0:
		*selector = "r1024";
		*bits = 1024;
		return TK.rsa1024;
	case 1:
		*selector = "r2048";
		*bits = 2048;
		return TK.rsa2048;
	case 2:
		*selector = "r4096";
		*bits = 4096;
		return TK.rsa4096;
	default:
		*selector = "ed";
		*bits = 256;
		return TK.ed;
	}
}

/* The body of a message as the reference splitter sees it, hashed with
 * the reference canonicalizer. */
static void
expected_bh(const char *msg, size_t len, vdkim_canon bc, char out[45])
{
	tmsg m;
	size_t clen;
	unsigned char *c;

	tmsg_parse(&m, msg, len);
	c = ref_body_canon((const unsigned char *)m.body, m.blen, bc, &clen);
	sha256_b64(c, clen, out);
	free(c);
}

/* Counts the entries of h= equal to name (case-insensitive). */
static int
h_count(const char *h, const char *name)
{
	int n = 0;
	size_t len = strlen(name);

	while (*h != '\0') {
		const char *end = strchr(h, ':');
		size_t l = end ? (size_t)(end - h) : strlen(h);
		if (l == len && strncasecmp(h, name, len) == 0)
			n++;
		h += l;
		if (*h == ':')
			h++;
	}
	return n;
}

/* --------------------------------------------------------- round trips */

/* _i: key (0..3) * 4 + canon combination (0..3). */
START_TEST(roundtrip)
{
	int k = _i / 4, hc = (_i % 4) / 2, bc = _i % 2;
	const char *selector;
	unsigned bits;
	vdkim_key *key = key_by_index(k, &selector, &bits);
	vdkim_sig_spec spec;
	int n = 0;

	spec_for(&spec, key, selector);
	spec.header_canon = (vdkim_canon)hc;
	spec.body_canon = (vdkim_canon)bc;
	for (int lf = 0; lf < 2; lf++) {
		for (int shape = 0; shape < BODY_SHAPES; shape++, n++) {
			size_t len, slen, hlen;
			char *msg = std_variant(shape, lf, &len);
			char *signed_msg = NULL;
			int smode = (n + _i) % FEED_NMODES;
			int vmode = (n + _i + 1) % FEED_NMODES;
			int added = -1;
			vdkim_error err;
			char tag[1024], bh[45];
			vres res[VRES_MAX];

			ck_assert_int_eq(sign_message(msg, len, &spec, 1, smode,
			    (uint64_t)n, &signed_msg, &slen, &added, &err),
			    VDKIM_OK);
			hlen = slen - len;
			/* The field: folded, in the message's line ends. */
			check_folded(signed_msg, hlen, !lf);
			ck_assert_int_eq(added, shape == BODY_NO_FINAL_EOL);
			ck_assert(sig_tag(signed_msg, hlen, "a", tag,
			    sizeof(tag)));
			ck_assert_str_eq(tag, vdkim_alg_name(
			    vdkim_key_get_alg(key)));
			ck_assert(sig_tag(signed_msg, hlen, "c", tag,
			    sizeof(tag)));
			ck_assert_str_eq(tag, hc ? (bc ? "relaxed/relaxed" :
			    "relaxed/simple") : (bc ? "simple/relaxed" :
			    "simple/simple"));
			ck_assert(sig_tag(signed_msg, hlen, "d", tag,
			    sizeof(tag)));
			ck_assert_str_eq(tag, "example.com");
			ck_assert(sig_tag(signed_msg, hlen, "s", tag,
			    sizeof(tag)));
			ck_assert_str_eq(tag, selector);
			ck_assert(sig_tag(signed_msg, hlen, "bh", tag,
			    sizeof(tag)));
			expected_bh(msg, len, (vdkim_canon)bc, bh);
			ck_assert_str_eq(tag, bh);
			ck_assert(!sig_tag(signed_msg, hlen, "l", tag,
			    sizeof(tag)));
			ck_assert(!sig_tag(signed_msg, hlen, "x", tag,
			    sizeof(tag)));

			ck_assert_uint_eq(verify_message(signed_msg, slen,
			    vdkim_keymap_lookup, TK.map, 0, vmode, (uint64_t)n,
			    res), 1);
			ck_assert_msg(res[0].result == VDKIM_RES_PASS,
			    "lf=%d shape=%d modes=%d/%d: %s (%s)", lf, shape,
			    smode, vmode, vdkim_reason_name(res[0].reason),
			    res[0].detail);
			ck_assert_int_eq(res[0].reason, VDKIM_R_OK);
			ck_assert_int_eq(res[0].alg, vdkim_key_get_alg(key));
			ck_assert_uint_eq(res[0].key_bits, bits);
			ck_assert_str_eq(res[0].domain, "example.com");
			ck_assert_str_eq(res[0].selector, selector);
			ck_assert_str_eq(res[0].identity, "@example.com");
			ck_assert_int_eq(res[0].testing, 0);

			/* A message signed with bare LF still verifies once it
			 * travels with CRLF. */
			if (lf) {
				size_t clen;
				char *crlf = to_crlf(signed_msg, slen, &clen);
				ck_assert_uint_eq(verify_message(crlf, clen,
				    vdkim_keymap_lookup, TK.map, 0, FEED_WHOLE,
				    0, res), 1);
				ck_assert_msg(res[0].result == VDKIM_RES_PASS,
				    "LF->CRLF shape=%d: %s", shape,
				    res[0].detail);
				free(crlf);
			}
			/* A message signed without a final line end verifies
			 * with one added. */
			if (shape == BODY_NO_FINAL_EOL) {
				char *fixed = xconcat(signed_msg, slen,
				    lf ? "\n" : "\r\n", lf ? 1 : 2, &slen);
				ck_assert_uint_eq(verify_message(fixed, slen,
				    vdkim_keymap_lookup, TK.map, 0, FEED_WHOLE,
				    0, res), 1);
				ck_assert_int_eq(res[0].result,
				    VDKIM_RES_PASS);
				free(fixed);
			}
			free(signed_msg);
			free(msg);
		}
	}
}
END_TEST

/* The same message in every mode gives the same signature (Ed25519 is
 * deterministic, and the time is fixed). */
START_TEST(modes_agree)
{
	vdkim_sig_spec spec;
	char *first = NULL;
	size_t flen = 0;

	spec_for(&spec, TK.ed, "ed");
	spec.now = T0;
	for (int lf = 0; lf < 2; lf++) {
		size_t len;
		char *msg = std_variant(BODY_NORMAL, lf, &len);

		for (int mode = 0; mode < FEED_NMODES; mode++) {
			for (uint64_t seed = 0; seed < 3; seed++) {
				size_t slen;
				char *s = sign_ok(msg, len, &spec, 1, mode,
				    seed, &slen);
				char *c = lf ? to_lf(s, slen - len, &slen) :
				    xmemdup(s, slen - len);

				if (lf) {
					/* The LF result is the CRLF one with
					 * LF line ends. */
					size_t l2;
					char *f2 = to_lf(first, flen, &l2);
					ck_assert_str_eq(c, f2);
					free(f2);
				} else if (first == NULL) {
					first = xstrdup(c);
					flen = strlen(first);
				} else {
					ck_assert_str_eq(c, first);
				}
				free(c);
				free(s);
			}
		}
		free(msg);
	}
	free(first);
}
END_TEST

START_TEST(dual_signing)
{
	vdkim_sig_spec specs[2];
	size_t len = strlen(STD_MSG), slen;
	char *s;
	vres res[VRES_MAX];

	spec_for(&specs[0], TK.rsa2048, "r2048");
	spec_for(&specs[1], TK.ed, "ed");
	specs[1].header_canon = VDKIM_CANON_SIMPLE;
	specs[1].body_canon = VDKIM_CANON_SIMPLE;
	for (int mode = 0; mode < FEED_NMODES; mode++) {
		s = sign_ok(STD_MSG, len, specs, 2, mode, 7, &slen);
		ck_assert_uint_eq(verify_message(s, slen, vdkim_keymap_lookup,
		    TK.map, 0, (mode + 1) % FEED_NMODES, 3, res), 2);
		ck_assert_int_eq(res[0].result, VDKIM_RES_PASS);
		ck_assert_int_eq(res[0].alg, VDKIM_ALG_RSA_SHA256);
		ck_assert_str_eq(res[0].selector, "r2048");
		ck_assert_int_eq(res[1].result, VDKIM_RES_PASS);
		ck_assert_int_eq(res[1].alg, VDKIM_ALG_ED25519_SHA256);
		ck_assert_str_eq(res[1].selector, "ed");
		free(s);
	}
	/* Eight at once, every key and canonicalization. */
	{
		vdkim_sig_spec many[VDKIM_MAX_SIGNATURES];
		for (int i = 0; i < VDKIM_MAX_SIGNATURES; i++) {
			const char *sel;
			unsigned bits;
			vdkim_key *k = key_by_index(i % 4, &sel, &bits);
			spec_for(&many[i], k, sel);
			many[i].header_canon = (vdkim_canon)(i / 4);
			many[i].body_canon = (vdkim_canon)(i % 2);
		}
		s = sign_ok(STD_MSG, len, many, VDKIM_MAX_SIGNATURES,
		    FEED_CHUNKS, 11, &slen);
		ck_assert_uint_eq(verify_message(s, slen, vdkim_keymap_lookup,
		    TK.map, 0, FEED_CHUNKS, 5, res), VDKIM_MAX_SIGNATURES);
		for (int i = 0; i < VDKIM_MAX_SIGNATURES; i++)
			ck_assert_msg(res[i].result == VDKIM_RES_PASS,
			    "signature %d: %s", i, res[i].detail);
		free(s);
	}
}
END_TEST

START_TEST(default_h_tag)
{
	vdkim_sig_spec spec;
	size_t len = strlen(STD_MSG), slen;
	char *s, h[1024];

	spec_for(&spec, TK.ed, "ed");
	s = sign_ok(STD_MSG, len, &spec, 1, FEED_WHOLE, 0, &slen);
	ck_assert(sig_tag(s, slen - len, "h", h, sizeof(h)));
	/* From over-signed by default; the rest once as present. */
	ck_assert_int_eq(h_count(h, "From"), 2);
	ck_assert_int_eq(h_count(h, "To"), 1);
	ck_assert_int_eq(h_count(h, "Subject"), 1);
	ck_assert_int_eq(h_count(h, "Date"), 1);
	ck_assert_int_eq(h_count(h, "Message-ID"), 1);
	/* Absent fields and trace fields are not listed. */
	ck_assert_int_eq(h_count(h, "Received"), 0);
	ck_assert_int_eq(h_count(h, "Cc"), 0);
	ck_assert_int_eq(h_count(h, "Reply-To"), 0);
	ck_assert_int_eq(h_count(h, "DKIM-Signature"), 0);
	free(s);
}
END_TEST

START_TEST(explicit_h_lists)
{
	static const char *const headers[] = { "Subject", "DKIM-Signature",
		"subject", NULL };
	static const char *const extra[] = { "Received", "X-Absent", NULL };
	static const char *const none[] = { NULL };
	vdkim_sig_spec spec;
	size_t len = strlen(STD_MSG), slen;
	char *s, h[1024], t[64];
	vres res[VRES_MAX];

	spec_for(&spec, TK.ed, "ed");
	spec.headers = headers;
	spec.extra_headers = extra;
	spec.oversign = none;
	spec.add_timestamp = 0;
	s = sign_ok(STD_MSG, len, &spec, 1, FEED_FIELDS, 0, &slen);
	ck_assert(sig_tag(s, slen - len, "h", h, sizeof(h)));
	/* From is always signed; names are deduplicated; DKIM-Signature is
	 * never signed; an absent extra name is not listed. */
	ck_assert_int_eq(h_count(h, "From"), 1);
	ck_assert_int_eq(h_count(h, "Subject"), 1);
	ck_assert_int_eq(h_count(h, "Received"), 1);
	ck_assert_int_eq(h_count(h, "X-Absent"), 0);
	ck_assert_int_eq(h_count(h, "To"), 0);
	ck_assert_int_eq(h_count(h, "DKIM-Signature"), 0);
	/* add_timestamp = 0 and no expiry: no t=. */
	ck_assert(!sig_tag(s, slen - len, "t", t, sizeof(t)));
	ck_assert_uint_eq(verify_message(s, slen, vdkim_keymap_lookup, TK.map,
	    0, FEED_WHOLE, 0, res), 1);
	ck_assert_int_eq(res[0].result, VDKIM_RES_PASS);
	free(s);
}
END_TEST

/* ------------------------------------------------------------- options */

START_TEST(identity_inside)
{
	static const char *const ids[] = { "user@example.com",
		"@example.com", "joe@mail.example.com", "x@A.B.EXAMPLE.COM",
		"first.last+tag@example.com", "\"odd..dots\"@example.com",
		"!#$%&'*+-/?^_`{|}~@example.com" };
	vdkim_sig_spec spec;
	size_t len = strlen(STD_MSG), slen;

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char *s, tag[256];
		vres res[VRES_MAX];

		spec_for(&spec, TK.rsa2048, "r2048");
		spec.identity = ids[i];
		s = sign_ok(STD_MSG, len, &spec, 1, FEED_WHOLE, 0, &slen);
		ck_assert(sig_tag(s, slen - len, "i", tag, sizeof(tag)));
		ck_assert_str_eq(tag, ids[i]);
		ck_assert_uint_eq(verify_message(s, slen, vdkim_keymap_lookup,
		    TK.map, 0, FEED_WHOLE, 0, res), 1);
		ck_assert_int_eq(res[0].result, VDKIM_RES_PASS);
		ck_assert_str_eq(res[0].identity, ids[i]);
		free(s);
	}
}
END_TEST

START_TEST(identity_outside)
{
	static const char *const ids[] = { "user@example.org",
		"user@badexample.com", "user@com", "no-at-sign",
		"a;b@example.com", "a b@example.com", "user@",
		"user@exa..mple.com",
		/* i= is dkim-quoted-printable: "=" starts an escape, and
		 * 8-bit bytes, controls and spaces must be encoded, which
		 * the signer does not do. */
		"a=b@example.com", "b\xc3\xbc@example.com", "a\tb@example.com",
		"a\x7f@example.com", "\"a b\"@example.com",
		/* RFC 5321 Dot-string; a local-part of at most 64 bytes. */
		"a..b@example.com", ".a@example.com", "a.@example.com",
		"\"open@example.com", "\"a\"b\"@example.com",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"@example.com" };
	vdkim_signer *s;
	vdkim_error err;

	ck_assert_int_eq(vdkim_signer_new(&s, &err), VDKIM_OK);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		vdkim_sig_spec spec;

		spec_for(&spec, TK.ed, "ed");
		spec.identity = ids[i];
		err.rc = VDKIM_OK;
		ck_assert_msg(vdkim_signer_add(s, &spec, &err) == VDKIM_EINVAL,
		    "i=%s accepted", ids[i]);
		ck_assert_int_eq(err.rc, VDKIM_EINVAL);
	}
	/* Nothing was added. */
	ck_assert_int_eq(vdkim_signer_eoh(s, &err), VDKIM_ESTATE);
	vdkim_signer_free(s);
}
END_TEST

START_TEST(expiry)
{
	vdkim_sig_spec spec;
	size_t len = strlen(STD_MSG), slen;
	char *s, tag[64];
	vres res[VRES_MAX];

	spec_for(&spec, TK.ed, "ed");
	spec.now = T0;
	spec.expire_after = 3600;
	s = sign_ok(STD_MSG, len, &spec, 1, FEED_WHOLE, 0, &slen);
	ck_assert(sig_tag(s, slen - len, "t", tag, sizeof(tag)));
	ck_assert_str_eq(tag, "1700000000");
	ck_assert(sig_tag(s, slen - len, "x", tag, sizeof(tag)));
	ck_assert_str_eq(tag, "1700003600");
	ck_assert_uint_eq(verify_message(s, slen, vdkim_keymap_lookup, TK.map,
	    T0 + 60, FEED_WHOLE, 0, res), 1);
	ck_assert_int_eq(res[0].result, VDKIM_RES_PASS);
	ck_assert_uint_eq(verify_message(s, slen, vdkim_keymap_lookup, TK.map,
	    T0 + 3600, FEED_WHOLE, 0, res), 1);
	ck_assert_int_eq(res[0].result, VDKIM_RES_PASS);
	ck_assert_uint_eq(verify_message(s, slen, vdkim_keymap_lookup, TK.map,
	    T0 + 3601, FEED_WHOLE, 0, res), 1);
	ck_assert_int_eq(res[0].result, VDKIM_RES_PERMERROR);
	ck_assert_int_eq(res[0].reason, VDKIM_R_EXPIRED);
	free(s);
	/* t= is written with x= even when timestamps are off. */
	spec.add_timestamp = 0;
	s = sign_ok(STD_MSG, len, &spec, 1, FEED_WHOLE, 0, &slen);
	ck_assert(sig_tag(s, slen - len, "t", tag, sizeof(tag)));
	ck_assert(sig_tag(s, slen - len, "x", tag, sizeof(tag)));
	free(s);
	/* A negative interval is refused. */
	{
		vdkim_signer *sg;
		vdkim_error err;
		spec.expire_after = -5;
		ck_assert_int_eq(vdkim_signer_new(&sg, &err), VDKIM_OK);
		ck_assert_int_eq(vdkim_signer_add(sg, &spec, &err),
		    VDKIM_EINVAL);
		vdkim_signer_free(sg);
	}
}
END_TEST

START_TEST(body_length)
{
	for (int bc = 0; bc < 2; bc++) {
		vdkim_sig_spec spec;
		size_t len = strlen(STD_MSG), slen, alen, rlen;
		char *s, *appended, tag[64], want[32];
		vres res[VRES_MAX];
		tmsg m;
		unsigned char *ref;

		spec_for(&spec, TK.rsa1024, "r1024");
		spec.body_canon = (vdkim_canon)bc;
		spec.body_length = 1;
		s = sign_ok(STD_MSG, len, &spec, 1, FEED_CHUNKS, 1, &slen);
		ck_assert(sig_tag(s, slen - len, "l", tag, sizeof(tag)));
		/* l= is the canonical body length. */
		tmsg_parse(&m, STD_MSG, len);
		ref = ref_body_canon((const unsigned char *)m.body, m.blen,
		    (vdkim_canon)bc, &rlen);
		free(ref);
		snprintf(want, sizeof(want), "%zu", rlen);
		ck_assert_str_eq(tag, want);
		ck_assert_uint_eq(verify_message(s, slen, vdkim_keymap_lookup,
		    TK.map, 0, FEED_WHOLE, 0, res), 1);
		ck_assert_int_eq(res[0].result, VDKIM_RES_PASS);
		/* Text appended to the body is outside l=: still a pass. */
		appended = xconcat(s, slen, "-- \r\nAppended by a list\r\n",
		    25, &alen);
		ck_assert_uint_eq(verify_message(appended, alen,
		    vdkim_keymap_lookup, TK.map, 0, FEED_BYTES, 0, res), 1);
		ck_assert_msg(res[0].result == VDKIM_RES_PASS, "%s",
		    res[0].detail);
		free(appended);
		free(s);
		/* Without l= the same appendix breaks the body hash. */
		spec.body_length = 0;
		s = sign_ok(STD_MSG, len, &spec, 1, FEED_CHUNKS, 1, &slen);
		ck_assert(!sig_tag(s, slen - len, "l", tag, sizeof(tag)));
		appended = xconcat(s, slen, "-- \r\nAppended by a list\r\n",
		    25, &alen);
		ck_assert_uint_eq(verify_message(appended, alen,
		    vdkim_keymap_lookup, TK.map, 0, FEED_WHOLE, 0, res), 1);
		ck_assert_int_eq(res[0].result, VDKIM_RES_FAIL);
		ck_assert_int_eq(res[0].reason, VDKIM_R_BODY_HASH_MISMATCH);
		free(appended);
		free(s);
	}
}
END_TEST

/* Inserts text right after the signature fields (at the top of the
 * original header) or before the empty line (at its bottom). */
static char *
insert_field(const char *signed_msg, size_t slen, size_t siglen,
    const char *field, int at_bottom, size_t *outlen)
{
	size_t at = siglen;
	char *a, *b;

	if (at_bottom) {
		const char *p = strstr(signed_msg, "\r\n\r\n");
		ck_assert_ptr_nonnull(p);
		at = (size_t)(p - signed_msg) + 2;
	}
	a = xconcat(signed_msg, at, field, strlen(field), NULL);
	b = xconcat(a, strlen(a), signed_msg + at, slen - at, outlen);
	free(a);
	return b;
}

START_TEST(oversigned_from)
{
	vdkim_sig_spec spec;
	size_t len = strlen(STD_MSG), slen, tlen;
	char *s, *t;
	vres res[VRES_MAX];

	spec_for(&spec, TK.rsa2048, "r2048");
	s = sign_ok(STD_MSG, len, &spec, 1, FEED_WHOLE, 0, &slen);
	for (int bottom = 0; bottom < 2; bottom++) {
		t = insert_field(s, slen, slen - len,
		    "From: Mallory <mallory@example.org>\r\n", bottom, &tlen);
		ck_assert_uint_eq(verify_message(t, tlen, vdkim_keymap_lookup,
		    TK.map, 0, FEED_WHOLE, 0, res), 1);
		ck_assert_msg(res[0].result == VDKIM_RES_FAIL,
		    "a second From (bottom=%d) was not noticed", bottom);
		ck_assert_int_eq(res[0].reason, VDKIM_R_BAD_SIGNATURE);
		free(t);
	}
	free(s);
}
END_TEST

START_TEST(oversigned_reply_to)
{
	static const char *const over[] = { "From", "Reply-To", NULL };
	vdkim_sig_spec spec;
	size_t len = strlen(STD_MSG), slen, tlen;
	char *s, *t, h[1024];
	vres res[VRES_MAX];

	/* Not over-signed: a Reply-To added later is just unsigned. */
	spec_for(&spec, TK.ed, "ed");
	s = sign_ok(STD_MSG, len, &spec, 1, FEED_WHOLE, 0, &slen);
	ck_assert(sig_tag(s, slen - len, "h", h, sizeof(h)));
	ck_assert_int_eq(h_count(h, "Reply-To"), 0);
	t = insert_field(s, slen, slen - len, "Reply-To: x@example.org\r\n", 1,
	    &tlen);
	ck_assert_uint_eq(verify_message(t, tlen, vdkim_keymap_lookup, TK.map,
	    0, FEED_WHOLE, 0, res), 1);
	ck_assert_int_eq(res[0].result, VDKIM_RES_PASS);
	free(t);
	free(s);
	/* Over-signed: listed once although absent, and adding one breaks
	 * the signature. */
	spec.oversign = over;
	s = sign_ok(STD_MSG, len, &spec, 1, FEED_WHOLE, 0, &slen);
	ck_assert(sig_tag(s, slen - len, "h", h, sizeof(h)));
	ck_assert_int_eq(h_count(h, "Reply-To"), 1);
	ck_assert_int_eq(h_count(h, "From"), 2);
	ck_assert_uint_eq(verify_message(s, slen, vdkim_keymap_lookup, TK.map,
	    0, FEED_WHOLE, 0, res), 1);
	ck_assert_int_eq(res[0].result, VDKIM_RES_PASS);
	for (int bottom = 0; bottom < 2; bottom++) {
		t = insert_field(s, slen, slen - len,
		    "Reply-To: x@example.org\r\n", bottom, &tlen);
		ck_assert_uint_eq(verify_message(t, tlen, vdkim_keymap_lookup,
		    TK.map, 0, FEED_WHOLE, 0, res), 1);
		ck_assert_int_eq(res[0].result, VDKIM_RES_FAIL);
		ck_assert_int_eq(res[0].reason, VDKIM_R_BAD_SIGNATURE);
		free(t);
	}
	free(s);
}
END_TEST

static const char REPEATED_MSG[] =
    "Received: from b by c; Tue, 02 Jan 2024 10:00:02 +0000\r\n"
    "Received: from a by b; Tue, 02 Jan 2024 10:00:01 +0000\r\n"
    "From: alice@example.com\r\n"
    "To: first@example.net\r\n"
    "To: second@example.net\r\n"
    "Subject: repeated\r\n"
    "\r\n"
    "body\r\n";

START_TEST(repeated_fields_bottom_up)
{
	static const char *const extra[] = { "Received", NULL };
	vdkim_sig_spec spec;
	size_t len = strlen(REPEATED_MSG), slen;
	char *s, h[1024];
	vres res[VRES_MAX];
	static const char *const swaps[][2] = {
		{ "To: first@example.net\r\nTo: second@example.net\r\n",
		  "To: second@example.net\r\nTo: first@example.net\r\n" },
		{ "Received: from b by c; Tue, 02 Jan 2024 10:00:02 +0000\r\n"
		  "Received: from a by b; Tue, 02 Jan 2024 10:00:01 +0000\r\n",
		  "Received: from a by b; Tue, 02 Jan 2024 10:00:01 +0000\r\n"
		  "Received: from b by c; Tue, 02 Jan 2024 10:00:02 +0000\r\n" },
	};

	for (int hc = 0; hc < 2; hc++) {
		spec_for(&spec, TK.ed, "ed");
		spec.extra_headers = extra;
		spec.header_canon = (vdkim_canon)hc;
		s = sign_ok(REPEATED_MSG, len, &spec, 1, FEED_FIELDS, 0,
		    &slen);
		ck_assert(sig_tag(s, slen - len, "h", h, sizeof(h)));
		ck_assert_int_eq(h_count(h, "To"), 2);
		ck_assert_int_eq(h_count(h, "Received"), 2);
		ck_assert_uint_eq(verify_message(s, slen, vdkim_keymap_lookup,
		    TK.map, 0, FEED_WHOLE, 0, res), 1);
		ck_assert_int_eq(res[0].result, VDKIM_RES_PASS);
		for (size_t i = 0; i < 2; i++) {
			char *t = replace_once(s, swaps[i][0], swaps[i][1]);
			ck_assert_uint_eq(verify_message(t, strlen(t),
			    vdkim_keymap_lookup, TK.map, 0, FEED_WHOLE, 0,
			    res), 1);
			ck_assert_msg(res[0].result == VDKIM_RES_FAIL,
			    "swapping %s fields went unnoticed",
			    i == 0 ? "To" : "Received");
			ck_assert_int_eq(res[0].reason,
			    VDKIM_R_BAD_SIGNATURE);
			free(t);
		}
		free(s);
	}
}
END_TEST

START_TEST(relaxed_tolerates_rewrites)
{
	vdkim_sig_spec spec;
	size_t len = strlen(STD_MSG), slen;
	char *s, *t, *u;
	vres res[VRES_MAX];

	/* relaxed/relaxed survives refolding and case changes in names and
	 * white-space changes in the body; simple/simple does not. */
	for (int c = 0; c < 2; c++) {
		spec_for(&spec, TK.ed, "ed");
		spec.header_canon = spec.body_canon = (vdkim_canon)c;
		s = sign_ok(STD_MSG, len, &spec, 1, FEED_WHOLE, 0, &slen);
		t = replace_once(s, "Subject: Round   trip\r\n  folded",
		    "SUBJECT:\tRound trip\r\n\tfolded");
		u = replace_once(t, "  this line has   extra  spaces \t \r\n",
		    " this line has extra spaces\r\n");
		ck_assert_uint_eq(verify_message(u, strlen(u),
		    vdkim_keymap_lookup, TK.map, 0, FEED_WHOLE, 0, res), 1);
		if (c == VDKIM_CANON_RELAXED) {
			ck_assert_msg(res[0].result == VDKIM_RES_PASS, "%s",
			    res[0].detail);
		} else {
			ck_assert_int_eq(res[0].result, VDKIM_RES_FAIL);
			ck_assert_int_eq(res[0].reason,
			    VDKIM_R_BODY_HASH_MISMATCH);
		}
		free(u);
		free(t);
		free(s);
	}
}
END_TEST

/*
 * Whatever the signer accepts to sign, its own verifier must accept: an
 * unusual but valid input is either refused up front (VDKIM_EINVAL at
 * vdkim_signer_add) or signed so that the signature passes.
 */
static void
sign_refuse_or_pass(const char *msg, const vdkim_sig_spec *spec,
    const char *what)
{
	vdkim_error err = { VDKIM_OK, "" };
	char *s = NULL;
	size_t slen;
	vres res[VRES_MAX];
	vdkim_rc rc = sign_message(msg, strlen(msg), spec, 1, FEED_WHOLE, 0,
	    &s, &slen, NULL, &err);

	if (rc != VDKIM_OK) {
		ck_assert_msg(rc == VDKIM_EINVAL || rc == VDKIM_ELIMIT,
		    "%s: refused with %s: %s", what, vdkim_rc_name(rc),
		    err.msg);
		return;
	}
	ck_assert_uint_eq(verify_message(s, slen, vdkim_keymap_lookup, TK.map,
	    0, FEED_WHOLE, 0, res), 1);
	ck_assert_msg(res[0].result == VDKIM_RES_PASS,
	    "%s: the signer's output does not verify: %s/%s (%s)", what,
	    vdkim_result_name(res[0].result),
	    vdkim_reason_name(res[0].reason), res[0].detail);
	free(s);
}

START_TEST(long_identity)
{
	char id[700];
	vdkim_sig_spec spec;

	memset(id, 'a', 600);
	strcpy(id + 600, "@example.com");
	spec_for(&spec, TK.ed, "ed");
	spec.identity = id;
	sign_refuse_or_pass(STD_MSG, &spec, "a 612-byte i=");
}
END_TEST

START_TEST(long_header_name)
{
	char name[700], *msg;
	const char *extra[2] = { name, NULL };
	vdkim_sig_spec spec;

	memset(name, 'X', 600);
	name[600] = '\0';
	msg = malloc(strlen(STD_MSG) + 700);
	ck_assert_ptr_nonnull(msg);
	sprintf(msg, "%s: value\r\n%s", name, STD_MSG);
	spec_for(&spec, TK.ed, "ed");
	spec.extra_headers = extra;
	sign_refuse_or_pass(msg, &spec, "a 600-byte field name in h=");
	free(msg);
}
END_TEST

START_TEST(many_instances)
{
	static const char *const extra[] = { "X-Trace", NULL };
	size_t n = 300, w = 0;
	char *msg = malloc(n * 32 + strlen(STD_MSG) + 1);
	vdkim_sig_spec spec;

	ck_assert_ptr_nonnull(msg);
	for (size_t i = 0; i < n; i++)
		w += (size_t)sprintf(msg + w, "X-Trace: hop %zu\r\n", i);
	strcpy(msg + w, STD_MSG);
	spec_for(&spec, TK.ed, "ed");
	spec.extra_headers = extra;
	sign_refuse_or_pass(msg, &spec, "300 instances of a signed field");
	free(msg);
}
END_TEST

START_TEST(signature_field_variants)
{
	vdkim_sig_spec spec;
	size_t len = strlen(STD_MSG), slen;
	vres res[VRES_MAX];

	for (int hc = 0; hc < 2; hc++) {
		char *s, *t, *moved;
		size_t hlen;

		spec_for(&spec, TK.ed, "ed");
		spec.header_canon = (vdkim_canon)hc;
		s = sign_ok(STD_MSG, len, &spec, 1, FEED_WHOLE, 0, &slen);
		hlen = slen - len;
		/* The field name in another case: found either way; relaxed
		 * ignores the change, simple does not. */
		t = replace_once(s, "DKIM-Signature:", "dkim-signature:");
		ck_assert_uint_eq(verify_message(t, slen, vdkim_keymap_lookup,
		    TK.map, 0, FEED_WHOLE, 0, res), 1);
		if (hc == VDKIM_CANON_RELAXED)
			ck_assert_int_eq(res[0].result, VDKIM_RES_PASS);
		else
			ck_assert_int_eq(res[0].reason,
			    VDKIM_R_BAD_SIGNATURE);
		free(t);
		/* The field moved below the others (after Received, just
		 * before the empty line): still found and passing. */
		{
			const char *eoh = strstr(s, "\r\n\r\n");
			size_t at = (size_t)(eoh - s) + 2;
			char *a = xconcat(s + hlen, at - hlen, s, hlen, NULL);
			moved = xconcat(a, strlen(a), s + at, slen - at, NULL);
			free(a);
		}
		ck_assert_uint_eq(verify_message(moved, slen,
		    vdkim_keymap_lookup, TK.map, 0, FEED_FIELDS, 0, res), 1);
		ck_assert_int_eq(res[0].result, VDKIM_RES_PASS);
		free(moved);
		free(s);
	}
}
END_TEST

/* -------------------------------------------------------- the field */

START_TEST(folding_long_values)
{
	static const char *const extra[] = {
		"X-Long-Header-Name-Number-One", "X-Long-Header-Name-Number-Two",
		"X-Long-Header-Name-Number-Three", "List-Unsubscribe",
		"X-Mailer", "X-Campaign-Identifier", NULL };
	const char *msg =
	    "From: a@example.com\r\nTo: b@example.net\r\nSubject: s\r\n"
	    "X-Long-Header-Name-Number-One: 1\r\n"
	    "X-Long-Header-Name-Number-Two: 2\r\n"
	    "X-Long-Header-Name-Number-Three: 3\r\n"
	    "X-Mailer: m\r\nX-Campaign-Identifier: c\r\n"
	    "List-Unsubscribe: <mailto:u@example.com>\r\n\r\nbody\r\n";

	for (int k = 0; k < 4; k++) {
		for (int lf = 0; lf < 2; lf++) {
			const char *sel;
			unsigned bits;
			vdkim_sig_spec spec;
			size_t len, slen;
			char *m = lf ? to_lf(msg, strlen(msg), &len) :
			    xstrdup(msg);
			char *s;
			vres res[VRES_MAX];

			len = strlen(m);
			vdkim_key *key = key_by_index(k, &sel, &bits);
			spec_for(&spec, key, sel);
			spec.domain = "mail.subdomain.of.a.rather.long."
			    "example.com";
			spec.identity = "some.local+tag@mail."
			    "subdomain.of.a.rather.long.example.com";
			spec.extra_headers = extra;
			spec.expire_after = 86400;
			spec.body_length = 1;
			s = sign_ok(m, len, &spec, 1, FEED_WHOLE, 0, &slen);
			check_folded(s, slen - len, !lf);
			/* The folded field still verifies. */
			{
				vdkim_keymap *map;
				char qname[256], *rec;
				snprintf(qname, sizeof(qname),
				    "%s._domainkey.%s", sel, spec.domain);
				rec = key_record_of(spec.key);
				map = keymap1(qname, rec);
				ck_assert_uint_eq(verify_message(s, slen,
				    vdkim_keymap_lookup, map, 0, FEED_WHOLE, 0,
				    res), 1);
				ck_assert_msg(res[0].result == VDKIM_RES_PASS,
				    "%s", res[0].detail);
				vdkim_keymap_free(map);
				free(rec);
			}
			free(s);
			free(m);
		}
	}
}
END_TEST

START_TEST(signer_eol_and_final_eol)
{
	static const struct {
		const char *msg;
		const char *eol;
		int added;
	} cases[] = {
		{ "From: a@example.com\r\n\r\nbody\r\n", "\r\n", 0 },
		{ "From: a@example.com\r\n\r\nbody", "\r\n", 1 },
		{ "From: a@example.com\n\nbody", "\n", 1 },
		{ "From: a@example.com\n\nbody\n", "\n", 0 },
		{ "From: a@example.com\n\n", "\n", 0 },
		{ "From: a@example.com\n", "\n", 0 },
		{ "From: a@example.com\r\n\r\nbody\r", "\r\n", 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vdkim_signer *s;
		vdkim_error err;
		vdkim_sig_spec spec;
		const char *r;
		size_t rlen;

		spec_for(&spec, TK.ed, "ed");
		ck_assert_int_eq(vdkim_signer_new(&s, &err), VDKIM_OK);
		ck_assert_int_eq(vdkim_signer_add(s, &spec, &err), VDKIM_OK);
		ck_assert_int_eq(vdkim_signer_message(s, cases[i].msg,
		    strlen(cases[i].msg), &err), VDKIM_OK);
		ck_assert_int_eq(vdkim_signer_eom(s, &err), VDKIM_OK);
		ck_assert_str_eq(vdkim_signer_eol(s), cases[i].eol);
		ck_assert_msg(vdkim_signer_added_final_eol(s) ==
		    cases[i].added, "case %zu", i);
		r = vdkim_signer_result(s, 0, &rlen);
		ck_assert_ptr_nonnull(r);
		ck_assert_uint_eq(strlen(r), rlen);
		check_folded(r, rlen, cases[i].eol[0] == '\r');
		vdkim_signer_free(s);
	}
}
END_TEST

/* ------------------------------------------------------------- misuse */

static vdkim_signer *
new_signer(int with_spec)
{
	vdkim_signer *s = NULL;
	vdkim_error err;
	vdkim_sig_spec spec;

	ck_assert_int_eq(vdkim_signer_new(&s, &err), VDKIM_OK);
	if (with_spec) {
		spec_for(&spec, TK.ed, "ed");
		ck_assert_int_eq(vdkim_signer_add(s, &spec, &err), VDKIM_OK);
	}
	return s;
}

START_TEST(signer_misuse)
{
	vdkim_signer *s;
	vdkim_error err;
	vdkim_sig_spec spec;
	size_t len;

	/* An empty message, said to an operator as such (no call names). */
	s = new_signer(1);
	ck_assert_int_eq(vdkim_signer_eom(s, &err), VDKIM_ESTATE);
	ck_assert_str_eq(err.msg, "the message is empty (no header)");
	vdkim_signer_free(s);
	s = new_signer(1);
	ck_assert_int_eq(vdkim_signer_message(s, "", 0, &err), VDKIM_OK);
	ck_assert_int_ne(vdkim_signer_eom(s, &err), VDKIM_OK);
	ck_assert_ptr_null(strstr(err.msg, "vdkim_"));
	vdkim_signer_free(s);

	/* eom before eoh. */
	s = new_signer(1);
	ck_assert_int_eq(vdkim_signer_header(s, "From: a@example.com\r\n", 21,
	    &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_signer_eom(s, &err), VDKIM_ESTATE);
	ck_assert_int_eq(err.rc, VDKIM_ESTATE);
	ck_assert_ptr_null(strstr(err.msg, "vdkim_"));
	ck_assert_ptr_nonnull(strstr(err.msg, "before the end of its header"));
	ck_assert_uint_eq(vdkim_signer_count(s), 0);
	ck_assert_ptr_null(vdkim_signer_result(s, 0, &len));
	vdkim_signer_free(s);

	/* body before eoh. */
	s = new_signer(1);
	ck_assert_int_eq(vdkim_signer_body(s, "x", 1, &err), VDKIM_ESTATE);
	vdkim_signer_free(s);

	/* A message without From. */
	s = new_signer(1);
	ck_assert_int_eq(vdkim_signer_header(s, "To: b@example.net\r\n", 19,
	    &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_signer_eoh(s, &err), VDKIM_ESYNTAX);
	ck_assert_int_eq(err.rc, VDKIM_ESYNTAX);
	ck_assert_uint_gt(strlen(err.msg), 0);
	/* ... leaves the signer failed. */
	ck_assert_int_eq(vdkim_signer_body(s, "x", 1, &err), VDKIM_ESTATE);
	ck_assert_int_eq(vdkim_signer_eom(s, &err), VDKIM_ESTATE);
	ck_assert_ptr_nonnull(strstr(err.msg, "has already failed on this "
	    "message"));
	vdkim_signer_free(s);

	/* The same through _message(). */
	{
		const char *m = "To: b@example.net\r\nSubject: x\r\n\r\nbody\r\n";
		s = new_signer(1);
		ck_assert_int_eq(vdkim_signer_message(s, m, strlen(m), &err),
		    VDKIM_ESYNTAX);
		ck_assert_int_eq(vdkim_signer_eom(s, &err), VDKIM_ESTATE);
		vdkim_signer_free(s);
		/* ... and without an empty line: found at eom. */
		s = new_signer(1);
		ck_assert_int_eq(vdkim_signer_message(s, m, 19, &err),
		    VDKIM_OK);
		ck_assert_int_eq(vdkim_signer_eom(s, &err), VDKIM_ESYNTAX);
		vdkim_signer_free(s);
	}

	/* A header field without a colon. */
	s = new_signer(1);
	ck_assert_int_eq(vdkim_signer_header(s, "From: a@example.com\r\n", 21,
	    &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_signer_header(s, "Garbage line\r\n", 14, &err),
	    VDKIM_ESYNTAX);
	ck_assert_int_eq(vdkim_signer_eoh(s, &err), VDKIM_ESTATE);
	vdkim_signer_free(s);
	{
		const char *m = "From: a@example.com\r\nGarbage\r\n\r\nbody\r\n";
		s = new_signer(1);
		ck_assert_int_eq(vdkim_signer_message(s, m, strlen(m), &err),
		    VDKIM_ESYNTAX);
		vdkim_signer_free(s);
	}

	/* No signature requested. */
	s = new_signer(0);
	ck_assert_int_eq(vdkim_signer_header(s, "From: a@example.com\r\n", 21,
	    &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_signer_eoh(s, &err), VDKIM_ESTATE);
	vdkim_signer_free(s);

	/* add after the first header. */
	s = new_signer(1);
	ck_assert_int_eq(vdkim_signer_header(s, "From: a@example.com\r\n", 21,
	    &err), VDKIM_OK);
	spec_for(&spec, TK.rsa2048, "r2048");
	ck_assert_int_eq(vdkim_signer_add(s, &spec, &err), VDKIM_ESTATE);
	/* header after eoh, message after header. */
	ck_assert_int_eq(vdkim_signer_eoh(s, &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_signer_header(s, "To: x@example.net", 17,
	    &err), VDKIM_ESTATE);
	ck_assert_int_eq(vdkim_signer_message(s, "x", 1, &err), VDKIM_ESTATE);
	ck_assert_int_eq(vdkim_signer_eom(s, &err), VDKIM_OK);
	/* eom twice. */
	ck_assert_int_eq(vdkim_signer_eom(s, &err), VDKIM_ESTATE);
	ck_assert_uint_eq(vdkim_signer_count(s), 1);
	ck_assert_ptr_null(vdkim_signer_result(s, 1, &len));
	vdkim_signer_free(s);

	/* NULL arguments. */
	ck_assert_int_eq(vdkim_signer_new(NULL, &err), VDKIM_EINVAL);
	ck_assert_int_eq(vdkim_signer_eom(NULL, &err), VDKIM_EINVAL);
	ck_assert_int_eq(vdkim_signer_header(NULL, "a:b", 3, &err),
	    VDKIM_EINVAL);
	ck_assert_uint_eq(vdkim_signer_count(NULL), 0);
	vdkim_signer_free(NULL);
}
END_TEST

START_TEST(signer_bad_specs)
{
	static const char *const bad_names[] = { "From", "Bad Name", NULL };
	vdkim_signer *s = new_signer(0);
	vdkim_error err;
	vdkim_sig_spec spec;

	memset(&spec, 0, sizeof(spec)); /* not initialised */
	spec.key = TK.ed;
	spec.domain = "example.com";
	spec.selector = "ed";
	ck_assert_int_eq(vdkim_signer_add(s, &spec, &err), VDKIM_EINVAL);
	spec_for(&spec, NULL, "ed");
	ck_assert_int_eq(vdkim_signer_add(s, &spec, &err), VDKIM_EINVAL);
	spec_for(&spec, TK.ed, "ed");
	spec.domain = "not a domain";
	ck_assert_int_eq(vdkim_signer_add(s, &spec, &err), VDKIM_EINVAL);
	spec.domain = NULL;
	ck_assert_int_eq(vdkim_signer_add(s, &spec, &err), VDKIM_EINVAL);
	spec_for(&spec, TK.ed, "bad;selector");
	ck_assert_int_eq(vdkim_signer_add(s, &spec, &err), VDKIM_EINVAL);
	spec_for(&spec, TK.ed, "ed");
	spec.header_canon = (vdkim_canon)5;
	ck_assert_int_eq(vdkim_signer_add(s, &spec, &err), VDKIM_EINVAL);
	spec_for(&spec, TK.ed, "ed");
	spec.body_canon = (vdkim_canon)-1;
	ck_assert_int_eq(vdkim_signer_add(s, &spec, &err), VDKIM_EINVAL);
	spec_for(&spec, TK.ed, "ed");
	spec.headers = bad_names;
	ck_assert_int_eq(vdkim_signer_add(s, &spec, &err), VDKIM_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "Bad Name"));
	/* None of these was added. */
	ck_assert_int_eq(vdkim_signer_header(s, "From: a@example.com", 19,
	    &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_signer_eoh(s, &err), VDKIM_ESTATE);
	vdkim_signer_free(s);

	/* At most VDKIM_MAX_SIGNATURES. */
	s = new_signer(0);
	spec_for(&spec, TK.ed, "ed");
	for (int i = 0; i < VDKIM_MAX_SIGNATURES; i++)
		ck_assert_int_eq(vdkim_signer_add(s, &spec, &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_signer_add(s, &spec, &err), VDKIM_ELIMIT);
	vdkim_signer_free(s);
}
END_TEST

START_TEST(verifier_misuse)
{
	vdkim_verifier *v;
	vdkim_error err;

	ck_assert_int_eq(vdkim_verifier_new(vdkim_keymap_lookup, TK.map, &v,
	    &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_verifier_body(v, "x", 1, &err), VDKIM_ESTATE);
	ck_assert_int_eq(vdkim_verifier_eom(v, &err), VDKIM_ESTATE);
	ck_assert_uint_eq(vdkim_verifier_count(v), 0);
	ck_assert_ptr_null(vdkim_verifier_result(v, 0));
	vdkim_verifier_free(v);

	ck_assert_int_eq(vdkim_verifier_new(vdkim_keymap_lookup, TK.map, &v,
	    &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_verifier_header(v, "From: a@example.com\r\n",
	    21, &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_verifier_message(v, "x", 1, &err),
	    VDKIM_ESTATE);
	vdkim_verifier_free(v);

	ck_assert_int_eq(vdkim_verifier_new(vdkim_keymap_lookup, TK.map, &v,
	    &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_verifier_header(v, "no colon\r\n", 10, &err),
	    VDKIM_ESYNTAX);
	ck_assert_int_eq(vdkim_verifier_eoh(v, &err), VDKIM_ESTATE);
	vdkim_verifier_free(v);

	/* A message without signatures: no results, no error. */
	ck_assert_int_eq(vdkim_verifier_new(vdkim_keymap_lookup, TK.map, &v,
	    &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_verifier_message(v, STD_MSG, strlen(STD_MSG),
	    &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_verifier_eom(v, &err), VDKIM_OK);
	ck_assert_uint_eq(vdkim_verifier_count(v), 0);
	ck_assert_int_eq(vdkim_verifier_eom(v, &err), VDKIM_ESTATE);
	ck_assert_int_eq(vdkim_verifier_header(v, "A: b", 4, &err),
	    VDKIM_ESTATE);
	vdkim_verifier_free(v);

	ck_assert_int_eq(vdkim_verifier_new(NULL, NULL, NULL, &err),
	    VDKIM_EINVAL);
	ck_assert_int_eq(vdkim_verifier_eom(NULL, &err), VDKIM_EINVAL);
	ck_assert_uint_eq(vdkim_verifier_count(NULL), 0);
	vdkim_verifier_free(NULL);
}
END_TEST

START_TEST(keymap_lookup)
{
	char buf[64];
	vdkim_keymap *map = keymap1("Sel._DomainKey.Example.COM.", "v=DKIM1; p=");
	vdkim_error err;

	ck_assert_int_eq(vdkim_keymap_lookup(map, "sel._domainkey.example.com",
	    buf, sizeof(buf)), VDKIM_LOOKUP_FOUND);
	ck_assert_str_eq(buf, "v=DKIM1; p=");
	ck_assert_int_eq(vdkim_keymap_lookup(map,
	    "sel._domainkey.example.com.", buf, sizeof(buf)),
	    VDKIM_LOOKUP_FOUND);
	ck_assert_int_eq(vdkim_keymap_lookup(map, "other._domainkey.example.com",
	    buf, sizeof(buf)), VDKIM_LOOKUP_NOTFOUND);
	ck_assert_int_eq(vdkim_keymap_lookup(map, "sel._domainkey.example.co",
	    buf, sizeof(buf)), VDKIM_LOOKUP_NOTFOUND);
	/* A record that does not fit is not truncated. */
	ck_assert_int_eq(vdkim_keymap_lookup(map, "sel._domainkey.example.com",
	    buf, 5), VDKIM_LOOKUP_TEMPFAIL);
	ck_assert_int_eq(vdkim_keymap_add(map, NULL, "x", &err), VDKIM_EINVAL);
	ck_assert_int_eq(vdkim_keymap_lookup(NULL, "a", buf, sizeof(buf)),
	    VDKIM_LOOKUP_NOTFOUND);
	vdkim_keymap_free(map);
}
END_TEST

Suite *
sign_verify_suite(void)
{
	Suite *s = suite_create("sign_verify");
	TCase *rt = tcase_create("roundtrip");
	TCase *opt = tcase_create("options");
	TCase *mis = tcase_create("misuse");

	tcase_add_unchecked_fixture(rt, tk_setup, tk_teardown);
	tcase_set_timeout(rt, 120);
	tcase_add_loop_test(rt, roundtrip, 0, 16);
	tcase_add_test(rt, modes_agree);
	tcase_add_test(rt, dual_signing);
	suite_add_tcase(s, rt);

	tcase_add_unchecked_fixture(opt, tk_setup, tk_teardown);
	tcase_set_timeout(opt, TEST_TIMEOUT);
	tcase_add_test(opt, default_h_tag);
	tcase_add_test(opt, explicit_h_lists);
	tcase_add_test(opt, identity_inside);
	tcase_add_test(opt, identity_outside);
	tcase_add_test(opt, expiry);
	tcase_add_test(opt, body_length);
	tcase_add_test(opt, oversigned_from);
	tcase_add_test(opt, oversigned_reply_to);
	tcase_add_test(opt, repeated_fields_bottom_up);
	tcase_add_test(opt, relaxed_tolerates_rewrites);
	tcase_add_test(opt, folding_long_values);
	tcase_add_test(opt, signer_eol_and_final_eol);
	tcase_add_test(opt, signature_field_variants);
	tcase_add_test(opt, long_identity);
	tcase_add_test(opt, long_header_name);
	tcase_add_test(opt, many_instances);
	suite_add_tcase(s, opt);

	tcase_add_unchecked_fixture(mis, tk_setup, tk_teardown);
	tcase_set_timeout(mis, TEST_TIMEOUT);
	tcase_add_test(mis, signer_misuse);
	tcase_add_test(mis, signer_bad_specs);
	tcase_add_test(mis, verifier_misuse);
	tcase_add_test(mis, keymap_lookup);
	suite_add_tcase(s, mis);
	return s;
}
