/*
 * test_rfc8463.c - RFC 8463 Appendix A: the example message with its
 * ed25519-sha256 and rsa-sha256 signatures, the published key records and
 * the published private keys (tests/data/rfc8463_*).
 */
#include <stdlib.h>
#include <string.h>

#include "body_canon.h"
#include "header_canon.h"
#include "helpers.h"
#include "key.h"
#include "suites.h"

#define RFC_T 1528637909
#define RFC_BH "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="
#define RFC_ED_B "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus" \
	"Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw=="
#define RFC_RSA_B "F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3" \
	"DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz" \
	"dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8="

static char *rfc_msg;
static size_t rfc_len;
static vdkim_keymap *rfc_map;
static vdkim_key *rfc_ed, *rfc_rsa;

static void
rfc_setup(void)
{
	size_t n;
	char *recs = td_read("rfc8463_records.txt", &n), *line, *save = NULL;
	vdkim_error err;

	rfc_msg = td_read("rfc8463_message.eml", &rfc_len);
	ck_assert_int_eq(vdkim_keymap_new(&rfc_map, &err), VDKIM_OK);
	/* One "qname record" per line. */
	for (line = strtok_r(recs, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		ck_assert_ptr_nonnull(sp);
		*sp = '\0';
		keymap_add(rfc_map, line, sp + 1);
	}
	free(recs);
	rfc_ed = td_key("rfc8463_ed25519.seed");
	rfc_rsa = td_key("rfc8463_rsa.pem");
}

static void
rfc_teardown(void)
{
	free(rfc_msg);
	vdkim_keymap_free(rfc_map);
	vdkim_key_unref(rfc_ed);
	vdkim_key_unref(rfc_rsa);
}

START_TEST(message_is_crlf)
{
	/* Every line of the stored message ends in CRLF. */
	for (size_t i = 0; i < rfc_len; i++)
		if (rfc_msg[i] == '\n')
			ck_assert_msg(i > 0 && rfc_msg[i - 1] == '\r',
			    "bare LF at %zu", i);
	ck_assert_uint_gt(rfc_len, 1000);
}
END_TEST

/* Both published signatures pass, in every feeding mode. */
START_TEST(published_signatures_pass)
{
	vres res[VRES_MAX];
	size_t n = verify_message(rfc_msg, rfc_len, vdkim_keymap_lookup,
	    rfc_map, RFC_T + 60, _i, 17, res);

	ck_assert_uint_eq(n, 2);
	ck_assert_msg(res[0].result == VDKIM_RES_PASS, "ed25519: %s (%s)",
	    vdkim_reason_name(res[0].reason), res[0].detail);
	ck_assert_int_eq(res[0].alg, VDKIM_ALG_ED25519_SHA256);
	ck_assert_str_eq(res[0].selector, "brisbane");
	ck_assert_str_eq(res[0].domain, "football.example.com");
	ck_assert_str_eq(res[0].identity, "@football.example.com");
	ck_assert_uint_eq(res[0].key_bits, 256);
	ck_assert_msg(res[1].result == VDKIM_RES_PASS, "rsa: %s (%s)",
	    vdkim_reason_name(res[1].reason), res[1].detail);
	ck_assert_int_eq(res[1].alg, VDKIM_ALG_RSA_SHA256);
	ck_assert_str_eq(res[1].selector, "test");
	ck_assert_uint_eq(res[1].key_bits, 1024);
}
END_TEST

START_TEST(published_signatures_tampered)
{
	vres res[VRES_MAX];
	char *t = replace_once(rfc_msg, "Is dinner ready?", "Is dinner ready!");

	ck_assert_uint_eq(verify_message(t, strlen(t), vdkim_keymap_lookup,
	    rfc_map, RFC_T + 60, FEED_WHOLE, 0, res), 2);
	ck_assert_int_eq(res[0].result, VDKIM_RES_FAIL);
	ck_assert_int_eq(res[0].reason, VDKIM_R_BAD_SIGNATURE);
	ck_assert_int_eq(res[1].result, VDKIM_RES_FAIL);
	ck_assert_int_eq(res[1].reason, VDKIM_R_BAD_SIGNATURE);
	free(t);
	t = replace_once(rfc_msg, "hungry yet?", "hungry yet!");
	ck_assert_uint_eq(verify_message(t, strlen(t), vdkim_keymap_lookup,
	    rfc_map, RFC_T + 60, FEED_WHOLE, 0, res), 2);
	ck_assert_int_eq(res[0].reason, VDKIM_R_BODY_HASH_MISMATCH);
	ck_assert_int_eq(res[1].reason, VDKIM_R_BODY_HASH_MISMATCH);
	free(t);
	/* Verified before the signing time (beyond the skew): refused. */
	ck_assert_uint_eq(verify_message(rfc_msg, rfc_len, vdkim_keymap_lookup,
	    rfc_map, RFC_T - 3600, FEED_WHOLE, 0, res), 2);
	ck_assert_int_eq(res[0].reason, VDKIM_R_FUTURE_TIMESTAMP);
}
END_TEST

START_TEST(body_hash_reproduced)
{
	tmsg m;
	body_canon bc;
	unsigned char d[64];
	unsigned dlen = 0;
	char b64[100];

	tmsg_parse(&m, rfc_msg, rfc_len);
	ck_assert(m.has_body);
	ck_assert_uint_eq(m.nfields, 7);
	for (int split = 0; split < 2; split++) {
		ck_assert_int_eq(body_canon_init(&bc, VDKIM_CANON_RELAXED,
		    EVP_sha256(), -1), 0);
		if (split == 0) {
			ck_assert_int_eq(body_canon_update(&bc, m.body,
			    m.blen), 0);
		} else {
			for (size_t i = 0; i < m.blen; i++)
				ck_assert_int_eq(body_canon_update(&bc,
				    m.body + i, 1), 0);
		}
		ck_assert_int_eq(body_canon_final(&bc, d, &dlen, NULL), 0);
		body_canon_cleanup(&bc);
		ck_assert_uint_eq(dlen, 32);
		b64_encode_ossl(d, 32, b64);
		ck_assert_str_eq(b64, RFC_BH);
	}
}
END_TEST

/*
 * Both signature algorithms are deterministic, so hashing the header the
 * way the RFC's signatures were made and signing the digest with the RFC's
 * private keys must give the published b= values byte for byte.
 */
static void
reproduce(size_t sigfield, vdkim_key *key, const char *want)
{
	tmsg m;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[32], sig[KEY_MAX_SIG_BYTES];
	unsigned dlen = 0;
	size_t siglen = 0, flen;
	vdkim_error err;
	char b64[KEY_MAX_SIG_BYTES * 2];
	const char *f, *b;

	tmsg_parse(&m, rfc_msg, rfc_len);
	ck_assert_ptr_nonnull(md);
	ck_assert_int_eq(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	/* h=from : to : subject : date : message-id : from : subject :
	 * date -- the last three name absent instances (null strings). */
	for (size_t i = 2; i < 7; i++)
		ck_assert_int_eq(header_canon_hash(md, VDKIM_CANON_RELAXED,
		    m.field[i], m.flen[i], 1), 0);
	/* The signature field with the b= value cut away. */
	f = m.field[sigfield];
	flen = m.flen[sigfield];
	b = strstr(f, "\r\n b=");
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_lt((size_t)(b - f), flen);
	ck_assert_int_eq(header_canon_hash(md, VDKIM_CANON_RELAXED, f,
	    (size_t)(b - f) + 5, 0), 0);
	ck_assert_int_eq(EVP_DigestFinal_ex(md, digest, &dlen), 1);
	EVP_MD_CTX_free(md);
	ck_assert_int_eq(key_sign_digest(key, digest, dlen, sig, &siglen,
	    &err), VDKIM_OK);
	b64_encode_ossl(sig, siglen, b64);
	ck_assert_str_eq(b64, want);
}

START_TEST(published_b_reproduced)
{
	reproduce(0, rfc_ed, RFC_ED_B);
	reproduce(1, rfc_rsa, RFC_RSA_B);
}
END_TEST

/* Our own signatures with the RFC's keys pass with the published
 * records. */
START_TEST(resign_with_rfc_keys)
{
	static const char *const h[] = { "from", "to", "subject", "date",
		"message-id", NULL };
	static const char *const over[] = { "from", "subject", "date", NULL };
	tmsg m;
	const char *orig;
	size_t olen, slen;
	vdkim_sig_spec specs[2];
	char *s;
	vres res[VRES_MAX];

	/* The message without its two DKIM-Signature fields. */
	tmsg_parse(&m, rfc_msg, rfc_len);
	orig = m.field[2];
	olen = rfc_len - (size_t)(orig - rfc_msg);
	ck_assert(strncmp(orig, "From: Joe SixPack", 17) == 0);

	vdkim_sig_spec_init(&specs[0]);
	specs[0].key = rfc_ed;
	specs[0].domain = "football.example.com";
	specs[0].selector = "brisbane";
	specs[0].identity = "@football.example.com";
	specs[0].now = RFC_T;
	specs[1] = specs[0];
	specs[1].key = rfc_rsa;
	specs[1].selector = "test";
	for (int variant = 0; variant < 2; variant++) {
		if (variant == 1) {
			/* The RFC's own choice of h=. */
			specs[0].headers = specs[1].headers = h;
			specs[0].oversign = specs[1].oversign = over;
			specs[1].header_canon = VDKIM_CANON_SIMPLE;
			specs[1].body_canon = VDKIM_CANON_SIMPLE;
		}
		s = sign_ok(orig, olen, specs, 2, _i, 3, &slen);
		{
			/* The relaxed body hash is the RFC's. */
			char bh[64];
			ck_assert(sig_tag(s, slen - olen, "bh", bh,
			    sizeof(bh)));
			ck_assert_str_eq(bh, RFC_BH);
		}
		ck_assert_uint_eq(verify_message(s, slen, vdkim_keymap_lookup,
		    rfc_map, RFC_T + 60, (_i + 1) % FEED_NMODES, 5, res), 2);
		ck_assert_msg(res[0].result == VDKIM_RES_PASS, "ed25519: %s",
		    res[0].detail);
		ck_assert_int_eq(res[0].alg, VDKIM_ALG_ED25519_SHA256);
		ck_assert_msg(res[1].result == VDKIM_RES_PASS, "rsa: %s",
		    res[1].detail);
		ck_assert_int_eq(res[1].alg, VDKIM_ALG_RSA_SHA256);
		ck_assert_uint_eq(res[1].key_bits, 1024);
		free(s);
	}
}
END_TEST

Suite *
rfc8463_suite(void)
{
	Suite *s = suite_create("rfc8463");
	TCase *tc = tcase_create("appendix_a");

	tcase_add_unchecked_fixture(tc, rfc_setup, rfc_teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, message_is_crlf);
	tcase_add_loop_test(tc, published_signatures_pass, 0, FEED_NMODES);
	tcase_add_test(tc, published_signatures_tampered);
	tcase_add_test(tc, body_hash_reproduced);
	tcase_add_test(tc, published_b_reproduced);
	tcase_add_loop_test(tc, resign_with_rfc_keys, 0, FEED_NMODES);
	suite_add_tcase(s, tc);
	return s;
}
