/*
 * test_verify_fail.c - every way a signature can fail, each asserted by
 * its result and reason code.
 *
 * Some signatures come from the engine's signer and are then damaged or
 * checked against a changed key record; others are made by hand
 * (craft_signed in helpers.c) with OpenSSL so that a tag the signer would
 * never write (a=rsa-sha1, v=2, i= outside d=, a 512-bit key...) comes
 * with an otherwise valid signature: a control signature made the same way
 * with sound tags passes, so the reason found is due to the defect alone.
 */
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "suites.h"

#define T0 ((time_t)1700000000)

/* --------------------------------------------------- engine-signed */

static char *
signed_std(vdkim_key *key, const char *selector, vdkim_sig_spec *tweak,
    size_t *slen)
{
	vdkim_sig_spec spec;

	if (tweak != NULL)
		spec = *tweak;
	else
		spec_for(&spec, key, selector);
	return sign_ok(STD_MSG, strlen(STD_MSG), &spec, 1, FEED_WHOLE, 0,
	    slen);
}

static vres
verify1(const char *msg, size_t len, vdkim_txt_lookup_fn fn, void *ctx,
    time_t now)
{
	vres res[VRES_MAX];

	ck_assert_uint_eq(verify_message(msg, len, fn, ctx, now, FEED_WHOLE, 0,
	    res), 1);
	return res[0];
}

#define ASSERT_RES(r, want_result, want_reason)                            \
	do {                                                               \
		vres r_ = (r);                                             \
		ck_assert_msg(r_.result == (want_result) &&                \
		    r_.reason == (want_reason),                            \
		    "got %s/%s (%s), want %s/%s", vdkim_result_name(       \
		    r_.result), vdkim_reason_name(r_.reason), r_.detail,   \
		    vdkim_result_name(want_result),                        \
		    vdkim_reason_name(want_reason));                       \
		ck_assert_uint_gt(strlen(r_.detail), 0);                   \
	} while (0)

START_TEST(tampered_body)
{
	size_t slen;
	char *s = signed_std(TK.rsa2048, "r2048", NULL, &slen);
	char *t = replace_once(s, "Regards.", "Regards!");

	ASSERT_RES(verify1(s, slen, vdkim_keymap_lookup, TK.map, 0),
	    VDKIM_RES_PASS, VDKIM_R_OK);
	ASSERT_RES(verify1(t, strlen(t), vdkim_keymap_lookup, TK.map, 0),
	    VDKIM_RES_FAIL, VDKIM_R_BODY_HASH_MISMATCH);
	free(t);
	/* An extra line at the end is a change too. */
	t = xconcat(s, slen, "P.S.\r\n", 6, NULL);
	ASSERT_RES(verify1(t, strlen(t), vdkim_keymap_lookup, TK.map, 0),
	    VDKIM_RES_FAIL, VDKIM_R_BODY_HASH_MISMATCH);
	free(t);
	free(s);
}
END_TEST

START_TEST(tampered_subject)
{
	for (int k = 0; k < 2; k++) {
		size_t slen;
		char *s = signed_std(k ? TK.ed : TK.rsa2048, k ? "ed" : "r2048",
		    NULL, &slen);
		char *t = replace_once(s, "Round   trip", "Round   trap");

		ASSERT_RES(verify1(t, strlen(t), vdkim_keymap_lookup, TK.map,
		    0), VDKIM_RES_FAIL, VDKIM_R_BAD_SIGNATURE);
		free(t);
		/* A changed b= value. */
		t = strstr(s, "\tb=") != NULL ?
		    replace_once(s, "\tb=", "\tb=A") :
		    replace_once(s, " b=", " b=A");
		{
			/* Keep the base64 length valid: drop one character
			 * at the end of b=. */
			char *end = strstr(t, "\r\nFrom:");
			ck_assert_ptr_nonnull(end);
			memmove(end - 1, end, strlen(end) + 1);
		}
		ASSERT_RES(verify1(t, strlen(t), vdkim_keymap_lookup, TK.map,
		    0), VDKIM_RES_FAIL, VDKIM_R_BAD_SIGNATURE);
		free(t);
		free(s);
	}
}
END_TEST

START_TEST(no_key)
{
	size_t slen;
	char *s = signed_std(TK.rsa2048, "r2048", NULL, &slen);
	vdkim_keymap *empty = NULL;
	vdkim_error err;

	ck_assert_int_eq(vdkim_keymap_new(&empty, &err), VDKIM_OK);
	ASSERT_RES(verify1(s, slen, vdkim_keymap_lookup, empty, 0),
	    VDKIM_RES_PERMERROR, VDKIM_R_KEY_NOT_FOUND);
	vdkim_keymap_free(empty);
	free(s);
}
END_TEST

static int tempfail_calls;
static char tempfail_qname[300];

static vdkim_lookup_rc
tempfail_lookup(void *ctx, const char *qname, char *buf, size_t buflen)
{
	ck_assert_ptr_eq(ctx, &tempfail_calls);
	ck_assert_uint_ge(buflen, 1024);
	(void)buf;
	tempfail_calls++;
	snprintf(tempfail_qname, sizeof(tempfail_qname), "%s", qname);
	return VDKIM_LOOKUP_TEMPFAIL;
}

START_TEST(lookup_tempfail)
{
	size_t slen;
	char *s = signed_std(TK.ed, "ed", NULL, &slen);

	tempfail_calls = 0;
	ASSERT_RES(verify1(s, slen, tempfail_lookup, &tempfail_calls, 0),
	    VDKIM_RES_TEMPERROR, VDKIM_R_KEY_TEMPFAIL);
	ck_assert_int_eq(tempfail_calls, 1);
	ck_assert_str_eq(tempfail_qname, "ed._domainkey.example.com");
	free(s);
}
END_TEST

/* Verifies the r2048 (or ed) signature against a replaced key record. */
static vres
with_record(int ed, const char *record)
{
	size_t slen;
	char *s = signed_std(ed ? TK.ed : TK.rsa2048, ed ? "ed" : "r2048",
	    NULL, &slen);
	vdkim_keymap *map = keymap1(ed ? "ed._domainkey.example.com" :
	    "r2048._domainkey.example.com", record);
	vres r = verify1(s, slen, vdkim_keymap_lookup, map, 0);

	vdkim_keymap_free(map);
	free(s);
	return r;
}

/* The published record of a key with tags inserted after "v=DKIM1; ". */
static char *
record_with(vdkim_key *key, const char *extra)
{
	char *rec = key_record_of(key);
	char *out;

	ck_assert(strncmp(rec, "v=DKIM1; ", 9) == 0);
	out = xconcat("v=DKIM1; ", 9, extra, strlen(extra), NULL);
	{
		char *o2 = xconcat(out, strlen(out), rec + 9, strlen(rec + 9),
		    NULL);
		free(out);
		out = o2;
	}
	free(rec);
	return out;
}

START_TEST(key_record_problems)
{
	char *rec;

	/* Control: the record with harmless extra tags passes. */
	rec = record_with(TK.rsa2048, "h=sha1:sha256; s=email; n=notes; ");
	ASSERT_RES(with_record(0, rec), VDKIM_RES_PASS, VDKIM_R_OK);
	free(rec);

	ASSERT_RES(with_record(0, "v=DKIM1; k=rsa; p=MIIB!!!"),
	    VDKIM_RES_PERMERROR, VDKIM_R_KEY_SYNTAX);
	ASSERT_RES(with_record(0, "v=DKIM1; k=rsa"), VDKIM_RES_PERMERROR,
	    VDKIM_R_KEY_SYNTAX);
	ASSERT_RES(with_record(0, "v=DKIM1; k=rsa; p"), VDKIM_RES_PERMERROR,
	    VDKIM_R_KEY_SYNTAX);
	ASSERT_RES(with_record(0, "v=DKIM1; k=rsa; p="), VDKIM_RES_PERMERROR,
	    VDKIM_R_KEY_REVOKED);
	ASSERT_RES(with_record(1, "v=DKIM1; k=ed25519; p="),
	    VDKIM_RES_PERMERROR, VDKIM_R_KEY_REVOKED);

	rec = record_with(TK.rsa2048, "h=sha1; ");
	ASSERT_RES(with_record(0, rec), VDKIM_RES_PERMERROR,
	    VDKIM_R_KEY_HASH_RESTRICTED);
	free(rec);

	rec = record_with(TK.rsa2048, "s=other; ");
	ASSERT_RES(with_record(0, rec), VDKIM_RES_PERMERROR,
	    VDKIM_R_KEY_SERVICE);
	free(rec);

	/* An Ed25519 record for an RSA signature and the reverse. */
	rec = key_record_of(TK.ed);
	ASSERT_RES(with_record(0, rec), VDKIM_RES_PERMERROR,
	    VDKIM_R_KEY_TYPE_MISMATCH);
	free(rec);
	{
		/* An RSA record where the Ed25519 key should be. */
		rec = key_record_of(TK.rsa2048);
		ASSERT_RES(with_record(1, rec), VDKIM_RES_PERMERROR,
		    VDKIM_R_KEY_TYPE_MISMATCH);
		free(rec);
	}
	/* The wrong RSA key. */
	rec = key_record_of(TK.rsa4096);
	ASSERT_RES(with_record(0, rec), VDKIM_RES_FAIL,
	    VDKIM_R_BAD_SIGNATURE);
	free(rec);

	/* Testing mode is reported, the result unchanged. */
	rec = record_with(TK.ed, "t=y; ");
	{
		vres r = with_record(1, rec);
		ASSERT_RES(r, VDKIM_RES_PASS, VDKIM_R_OK);
		ck_assert_int_eq(r.testing, 1);
	}
	free(rec);
}
END_TEST

START_TEST(strict_identity)
{
	char *rec = record_with(TK.ed, "t=s; ");
	vdkim_keymap *map = keymap1("ed._domainkey.example.com", rec);
	vdkim_sig_spec spec;
	size_t slen;
	char *s;

	/* i= in a subdomain of d= with t=s: refused. */
	spec_for(&spec, TK.ed, "ed");
	spec.identity = "joe@mail.example.com";
	s = signed_std(NULL, NULL, &spec, &slen);
	ASSERT_RES(verify1(s, slen, vdkim_keymap_lookup, map, 0),
	    VDKIM_RES_PERMERROR, VDKIM_R_KEY_STRICT_IDENTITY);
	/* The same without t=s passes. */
	ASSERT_RES(verify1(s, slen, vdkim_keymap_lookup, TK.map, 0),
	    VDKIM_RES_PASS, VDKIM_R_OK);
	free(s);
	/* i= in d= itself, or no i= at all, passes with t=s. */
	spec.identity = "joe@EXAMPLE.com";
	s = signed_std(NULL, NULL, &spec, &slen);
	ASSERT_RES(verify1(s, slen, vdkim_keymap_lookup, map, 0),
	    VDKIM_RES_PASS, VDKIM_R_OK);
	free(s);
	spec.identity = NULL;
	s = signed_std(NULL, NULL, &spec, &slen);
	ASSERT_RES(verify1(s, slen, vdkim_keymap_lookup, map, 0),
	    VDKIM_RES_PASS, VDKIM_R_OK);
	free(s);
	vdkim_keymap_free(map);
	free(rec);
}
END_TEST

START_TEST(timestamps)
{
	vdkim_sig_spec spec;
	size_t slen;
	char *s;

	spec_for(&spec, TK.ed, "ed");
	/* Signed an hour "later" than the verifier's clock. */
	spec.now = T0 + 3600;
	s = signed_std(NULL, NULL, &spec, &slen);
	ASSERT_RES(verify1(s, slen, vdkim_keymap_lookup, TK.map, T0),
	    VDKIM_RES_PERMERROR, VDKIM_R_FUTURE_TIMESTAMP);
	/* A few minutes of clock skew are tolerated. */
	ASSERT_RES(verify1(s, slen, vdkim_keymap_lookup, TK.map, T0 + 3500),
	    VDKIM_RES_PASS, VDKIM_R_OK);
	free(s);
	/* Expired. */
	spec.now = T0;
	spec.expire_after = 60;
	s = signed_std(NULL, NULL, &spec, &slen);
	ASSERT_RES(verify1(s, slen, vdkim_keymap_lookup, TK.map, T0 + 61),
	    VDKIM_RES_PERMERROR, VDKIM_R_EXPIRED);
	ASSERT_RES(verify1(s, slen, vdkim_keymap_lookup, TK.map, T0 + 59),
	    VDKIM_RES_PASS, VDKIM_R_OK);
	free(s);
}
END_TEST

START_TEST(too_many_signatures)
{
	for (int extra = 1; extra <= 3; extra += 2) {
		size_t slen, len = strlen(STD_MSG), hlen, total;
		char *s = signed_std(TK.ed, "ed", NULL, &slen), *m;
		size_t nsig = VDKIM_MAX_VERIFY + (size_t)extra, n;
		vres res[VRES_MAX];

		hlen = slen - len;
		m = malloc(nsig * hlen + len + 1);
		ck_assert_ptr_nonnull(m);
		for (size_t i = 0; i < nsig; i++)
			memcpy(m + i * hlen, s, hlen);
		memcpy(m + nsig * hlen, STD_MSG, len + 1);
		total = nsig * hlen + len;
		n = verify_message(m, total, vdkim_keymap_lookup, TK.map, 0,
		    FEED_WHOLE, 0, res);
		ck_assert_uint_ge(n, VDKIM_MAX_VERIFY + 1);
		ck_assert_uint_le(n, nsig);
		for (size_t i = 0; i < VDKIM_MAX_VERIFY; i++)
			ASSERT_RES(res[i], VDKIM_RES_PASS, VDKIM_R_OK);
		for (size_t i = VDKIM_MAX_VERIFY; i < n; i++)
			ASSERT_RES(res[i], VDKIM_RES_NEUTRAL,
			    VDKIM_R_TOO_MANY_SIGNATURES);
		free(m);
		free(s);
	}
}
END_TEST

/* ----------------------------------------------------------- crafted */

static EVP_PKEY *pk2048, *pk1024, *pk512, *pked;
static vdkim_keymap *cmap;

static void
crafted_setup(void)
{
	char *rec;

	tk_setup();
	pk2048 = td_pkey("rsa2048.pem");
	pk1024 = td_pkey("rsa1024.pem");
	pk512 = td_pkey("rsa512.pem");
	pked = td_pkey("ed25519.pem");
	rec = record_for_pkey(pk2048, NULL);
	cmap = keymap1("c2048._domainkey.example.com", rec);
	free(rec);
	rec = record_for_pkey(pk1024, NULL);
	keymap_add(cmap, "c1024._domainkey.example.com", rec);
	free(rec);
	rec = record_for_pkey(pk512, NULL);
	keymap_add(cmap, "c512._domainkey.example.com", rec);
	free(rec);
	rec = record_for_pkey(pked, NULL);
	keymap_add(cmap, "ced._domainkey.example.com", rec);
	free(rec);
}

static void
crafted_teardown(void)
{
	EVP_PKEY_free(pk2048);
	EVP_PKEY_free(pk1024);
	EVP_PKEY_free(pk512);
	EVP_PKEY_free(pked);
	vdkim_keymap_free(cmap);
	tk_teardown();
}

#define GOOD_TAGS \
	"v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=c2048;\r\n" \
	"\tt=1700000000; h=From:To:Subject; bh=%BH%; b="
#define GOOD_H "From:To:Subject"

static vres
crafted(EVP_PKEY *pk, const char *tags, const char *hnames)
{
	size_t len;
	char *m = craft_signed(pk, tags, hnames, VDKIM_CANON_RELAXED,
	    VDKIM_CANON_RELAXED, STD_MSG, strlen(STD_MSG), &len);
	vres r = verify1(m, len, vdkim_keymap_lookup, cmap, T0 + 60);

	free(m);
	return r;
}

START_TEST(crafted_controls)
{
	vres r;
	size_t len;
	char *m;

	r = crafted(pk2048, GOOD_TAGS, GOOD_H);
	ASSERT_RES(r, VDKIM_RES_PASS, VDKIM_R_OK);
	ck_assert_uint_eq(r.key_bits, 2048);
	r = crafted(pk1024, "v=1; a=rsa-sha256; c=relaxed/relaxed; "
	    "d=example.com; s=c1024; h=From:To:Subject; bh=%BH%; b=", GOOD_H);
	ASSERT_RES(r, VDKIM_RES_PASS, VDKIM_R_OK);
	ck_assert_uint_eq(r.key_bits, 1024);
	r = crafted(pked, "v=1; a=ed25519-sha256; c=relaxed/relaxed; "
	    "d=example.com; s=ced; h=From:To:Subject; bh=%BH%; b=", GOOD_H);
	ASSERT_RES(r, VDKIM_RES_PASS, VDKIM_R_OK);
	/* Tags in any order, q=dns/txt, i= in d=, names in any case, no c=
	 * (simple/simple), l= exact. */
	m = craft_signed(pk2048, "s=c2048; d=example.com; bh=%BH%; v=1; "
	    "q=dns/txt; i=x@sub.example.com; a=rsa-sha256; h=from:TO; b=",
	    "from:TO", VDKIM_CANON_SIMPLE, VDKIM_CANON_SIMPLE, STD_MSG,
	    strlen(STD_MSG), &len);
	ASSERT_RES(verify1(m, len, vdkim_keymap_lookup, cmap, 0),
	    VDKIM_RES_PASS, VDKIM_R_OK);
	free(m);
	/* b= not last, folded tags, unknown tags ignored. */
	r = crafted(pk2048, "v=1; a=rsa-sha256; b=%B%;\r\n\tbh=%BH%; "
	    "c=relaxed/relaxed; zz=unknown tag; d=example.com;\r\n s=c2048; "
	    "h=From : To :\r\n Subject", GOOD_H);
	ASSERT_RES(r, VDKIM_RES_PASS, VDKIM_R_OK);
	r = crafted(pked, "b=%B%; v=1; a=ed25519-sha256; bh=%BH%; "
	    "c=relaxed/relaxed; d=example.com; s=ced; h=From:To:Subject",
	    GOOD_H);
	ASSERT_RES(r, VDKIM_RES_PASS, VDKIM_R_OK);
	/* An h= entry for an absent field (a null string) is fine. */
	r = crafted(pk2048, "v=1; a=rsa-sha256; c=relaxed/relaxed; "
	    "d=example.com; s=c2048; h=From:X-Absent:From; bh=%BH%; b=",
	    "From:X-Absent:From");
	ASSERT_RES(r, VDKIM_RES_PASS, VDKIM_R_OK);
}
END_TEST

/*
 * h= selects instances bottom-up (RFC 6376 5.4.2), checked against the
 * crafted signer's own selection rather than the engine's signer (which
 * shares the engine's selection code).
 */
START_TEST(crafted_bottom_up)
{
	static const char msg[] =
	    "To: first@example.net\r\n"
	    "From: alice@example.com\r\n"
	    "To: second@example.net\r\n"
	    "Subject: two To fields\r\n"
	    "\r\n"
	    "body\r\n";
	static const char tags[] = "v=1; a=rsa-sha256; c=simple/relaxed; "
	    "d=example.com; s=c2048; h=From:To:Subject; bh=%BH%; b=";
	size_t len;
	char *m = craft_signed(pk2048, tags, "From:To:Subject",
	    VDKIM_CANON_SIMPLE, VDKIM_CANON_RELAXED, msg, strlen(msg), &len);
	char *t;

	/* One To in h=: the bottom one is signed. */
	ASSERT_RES(verify1(m, len, vdkim_keymap_lookup, cmap, 0),
	    VDKIM_RES_PASS, VDKIM_R_OK);
	/* Changing the top one (unsigned) does not matter... */
	t = replace_once(m, "first@", "third@");
	ASSERT_RES(verify1(t, strlen(t), vdkim_keymap_lookup, cmap, 0),
	    VDKIM_RES_PASS, VDKIM_R_OK);
	free(t);
	/* ... changing the bottom one does. */
	t = replace_once(m, "second@", "third@");
	ASSERT_RES(verify1(t, strlen(t), vdkim_keymap_lookup, cmap, 0),
	    VDKIM_RES_FAIL, VDKIM_R_BAD_SIGNATURE);
	free(t);
	free(m);
}
END_TEST

START_TEST(crafted_key_too_small)
{
	vres r = crafted(pk512, "v=1; a=rsa-sha256; c=relaxed/relaxed; "
	    "d=example.com; s=c512; h=From:To:Subject; bh=%BH%; b=", GOOD_H);

	ASSERT_RES(r, VDKIM_RES_PERMERROR, VDKIM_R_KEY_TOO_SMALL);
	ck_assert_uint_eq(r.key_bits, 512);
}
END_TEST

START_TEST(crafted_algorithms)
{
	vres r;

	r = crafted(pk2048, "v=1; a=rsa-sha1; c=relaxed/relaxed; "
	    "d=example.com; s=c2048; h=From:To:Subject; bh=%BH%; b=", GOOD_H);
	ASSERT_RES(r, VDKIM_RES_PERMERROR, VDKIM_R_SHA1_REFUSED);
	ck_assert_int_eq(r.alg, VDKIM_ALG_RSA_SHA1);
	r = crafted(pk2048, "v=1; a=rsa-sha512; c=relaxed/relaxed; "
	    "d=example.com; s=c2048; h=From:To:Subject; bh=%BH%; b=", GOOD_H);
	ASSERT_RES(r, VDKIM_RES_PERMERROR, VDKIM_R_UNSUPPORTED_ALG);
	r = crafted(pk2048, "v=1; a=; c=relaxed/relaxed; "
	    "d=example.com; s=c2048; h=From:To:Subject; bh=%BH%; b=", GOOD_H);
	ASSERT_RES(r, VDKIM_RES_PERMERROR, VDKIM_R_UNSUPPORTED_ALG);
	/* a= says Ed25519, the key is RSA. */
	r = crafted(pk2048, "v=1; a=ed25519-sha256; c=relaxed/relaxed; "
	    "d=example.com; s=c2048; h=From:To:Subject; bh=%BH%; b=", GOOD_H);
	ASSERT_RES(r, VDKIM_RES_PERMERROR, VDKIM_R_KEY_TYPE_MISMATCH);
}
END_TEST

START_TEST(crafted_identity)
{
	static const char *const outside[] = { "i=@example.org",
		"i=joe@badexample.com", "i=joe@com", "i=no-at-sign" };

	for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		char tags[512];

		snprintf(tags, sizeof(tags), "v=1; a=rsa-sha256; "
		    "c=relaxed/relaxed; d=example.com; %s; s=c2048; "
		    "h=From:To:Subject; bh=%%BH%%; b=", outside[i]);
		ASSERT_RES(crafted(pk2048, tags, GOOD_H), VDKIM_RES_PERMERROR,
		    VDKIM_R_IDENTITY_MISMATCH);
	}
}
END_TEST

START_TEST(crafted_header_list)
{
	ASSERT_RES(crafted(pk2048, "v=1; a=rsa-sha256; c=relaxed/relaxed; "
	    "d=example.com; s=c2048; h=To:Subject; bh=%BH%; b=", "To:Subject"),
	    VDKIM_RES_PERMERROR, VDKIM_R_FROM_NOT_SIGNED);
	ASSERT_RES(crafted(pk2048, "v=1; a=rsa-sha256; c=relaxed/relaxed; "
	    "d=example.com; s=c2048; h=From:Sub ject; bh=%BH%; b=", "From"),
	    VDKIM_RES_PERMERROR, VDKIM_R_SIG_SYNTAX);
	ASSERT_RES(crafted(pk2048, "v=1; a=rsa-sha256; c=relaxed/relaxed; "
	    "d=example.com; s=c2048; h=From::To; bh=%BH%; b=", "From:To"),
	    VDKIM_RES_PERMERROR, VDKIM_R_SIG_SYNTAX);
	ASSERT_RES(crafted(pk2048, "v=1; a=rsa-sha256; c=relaxed/relaxed; "
	    "d=example.com; s=c2048; h=; bh=%BH%; b=", ""),
	    VDKIM_RES_PERMERROR, VDKIM_R_SIG_SYNTAX);
}
END_TEST

START_TEST(crafted_versions)
{
	ASSERT_RES(crafted(pk2048, "v=2; a=rsa-sha256; c=relaxed/relaxed; "
	    "d=example.com; s=c2048; h=From:To:Subject; bh=%BH%; b=", GOOD_H),
	    VDKIM_RES_PERMERROR, VDKIM_R_UNSUPPORTED_VERSION);
	ASSERT_RES(crafted(pk2048, "v=DKIM1; a=rsa-sha256; "
	    "c=relaxed/relaxed; d=example.com; s=c2048; h=From:To:Subject; "
	    "bh=%BH%; b=", GOOD_H),
	    VDKIM_RES_PERMERROR, VDKIM_R_UNSUPPORTED_VERSION);
}
END_TEST

START_TEST(crafted_missing_tags)
{
	static const char *const tags[] = { "v=1; ", "a=rsa-sha256; ",
		"d=example.com; ", "s=c2048; ", "h=From:To:Subject; ",
		"bh=%BH%; " };
	static const char full[] = "v=1; a=rsa-sha256; c=relaxed/relaxed; "
	    "d=example.com; s=c2048; h=From:To:Subject; bh=%BH%; b=";

	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		char *t = replace_once(full, tags[i], "");
		vres r = crafted(pk2048, t, GOOD_H);
		ck_assert_msg(r.result == VDKIM_RES_PERMERROR &&
		    r.reason == VDKIM_R_SIG_SYNTAX, "without %s: %s/%s",
		    tags[i], vdkim_result_name(r.result),
		    vdkim_reason_name(r.reason));
		free(t);
	}
	/* No b= at all: made by hand, since the crafting needs one. */
	{
		static const char f[] = "DKIM-Signature: v=1; a=rsa-sha256; "
		    "d=example.com; s=c2048; h=From; bh=47DEQpj8HBSa+/TImW+5Je"
		    "uQeRkm5NMpJWZG3hSuFU=\r\n";
		char *m = xconcat(f, strlen(f), STD_MSG, strlen(STD_MSG),
		    NULL);
		ASSERT_RES(verify1(m, strlen(m), vdkim_keymap_lookup, cmap,
		    0), VDKIM_RES_PERMERROR, VDKIM_R_SIG_SYNTAX);
		free(m);
	}
}
END_TEST

START_TEST(crafted_syntax)
{
	static const struct {
		const char *tags;
		vdkim_reason reason;
	} cases[] = {
		/* Duplicate tags. */
		{ "v=1; a=rsa-sha256; d=example.com; s=c2048; d=example.com; "
		  "h=From; bh=%BH%; b=", VDKIM_R_SIG_SYNTAX },
		{ "v=1; a=rsa-sha256; d=example.com; s=c2048; h=From; h=From; "
		  "bh=%BH%; b=", VDKIM_R_SIG_SYNTAX },
		/* A broken tag list. */
		{ "v=1; a=rsa-sha256; d=example.com; s=c2048; h=From; junk; "
		  "bh=%BH%; b=", VDKIM_R_SIG_SYNTAX },
		/* Numbers. */
		{ "v=1; a=rsa-sha256; d=example.com; s=c2048; h=From; l=12a; "
		  "bh=%BH%; b=", VDKIM_R_SIG_SYNTAX },
		{ "v=1; a=rsa-sha256; d=example.com; s=c2048; h=From; t=-5; "
		  "bh=%BH%; b=", VDKIM_R_SIG_SYNTAX },
		{ "v=1; a=rsa-sha256; d=example.com; s=c2048; h=From; "
		  "t=1700000000; x=1699999999; bh=%BH%; b=",
		  VDKIM_R_SIG_SYNTAX },
		/* l= longer than the body. */
		{ "v=1; a=rsa-sha256; d=example.com; s=c2048; h=From; "
		  "l=100000; bh=%BH%; b=", VDKIM_R_SIG_SYNTAX },
		/* bh= of the wrong size, or not base64. */
		{ "v=1; a=rsa-sha256; d=example.com; s=c2048; h=From; "
		  "bh=AAAA; b=", VDKIM_R_SIG_SYNTAX },
		{ "v=1; a=rsa-sha256; d=example.com; s=c2048; h=From; "
		  "bh=%BH%!; b=", VDKIM_R_SIG_SYNTAX },
		/* Bad d= and s=. */
		{ "v=1; a=rsa-sha256; d=exa mple.com; s=c2048; h=From; "
		  "bh=%BH%; b=", VDKIM_R_SIG_SYNTAX },
		{ "v=1; a=rsa-sha256; d=example.com; s=c2048..x; h=From; "
		  "bh=%BH%; b=", VDKIM_R_SIG_SYNTAX },
		/* Canonicalizations and query methods. */
		{ "v=1; a=rsa-sha256; c=relaxed/bogus; d=example.com; s=c2048; "
		  "h=From; bh=%BH%; b=", VDKIM_R_UNSUPPORTED_CANON },
		{ "v=1; a=rsa-sha256; c=nowsp; d=example.com; s=c2048; "
		  "h=From; bh=%BH%; b=", VDKIM_R_UNSUPPORTED_CANON },
		{ "v=1; a=rsa-sha256; c=relaxed/; d=example.com; s=c2048; "
		  "h=From; bh=%BH%; b=", VDKIM_R_UNSUPPORTED_CANON },
		{ "v=1; a=rsa-sha256; q=http/well-known; d=example.com; "
		  "s=c2048; h=From; bh=%BH%; b=", VDKIM_R_UNSUPPORTED_QUERY },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vres r = crafted(pk2048, cases[i].tags, "From");
		ck_assert_msg(r.result == VDKIM_RES_PERMERROR &&
		    r.reason == cases[i].reason, "case %zu (%s): got %s/%s "
		    "(%s), want %s", i, cases[i].tags,
		    vdkim_result_name(r.result), vdkim_reason_name(r.reason),
		    r.detail, vdkim_reason_name(cases[i].reason));
	}
}
END_TEST

START_TEST(crafted_body_length)
{
	size_t len, mlen;
	char *m, *appended;
	tmsg t;

	/* l= shorter than the body: only that much is covered. */
	m = craft_signed(pk2048, "v=1; a=rsa-sha256; c=simple/simple; "
	    "d=example.com; s=c2048; h=From; l=0; bh=47DEQpj8HBSa+/TImW+5JCeu"
	    "QeRkm5NMpJWZG3hSuFU=; b=", "From", VDKIM_CANON_SIMPLE,
	    VDKIM_CANON_SIMPLE, STD_MSG, strlen(STD_MSG), &len);
	ASSERT_RES(verify1(m, len, vdkim_keymap_lookup, cmap, 0),
	    VDKIM_RES_PASS, VDKIM_R_OK);
	/* Any body passes an l=0 signature. */
	tmsg_parse(&t, m, len);
	ck_assert(t.has_body);
	appended = xconcat(m, (size_t)(t.body - m), "Totally different\r\n",
	    19, &mlen);
	ASSERT_RES(verify1(appended, mlen, vdkim_keymap_lookup, cmap, 0),
	    VDKIM_RES_PASS, VDKIM_R_OK);
	free(appended);
	free(m);
}
END_TEST

Suite *
verify_fail_suite(void)
{
	Suite *s = suite_create("verify_fail");
	TCase *eng = tcase_create("engine_signed");
	TCase *cr = tcase_create("crafted");

	tcase_add_unchecked_fixture(eng, tk_setup, tk_teardown);
	tcase_set_timeout(eng, TEST_TIMEOUT);
	tcase_add_test(eng, tampered_body);
	tcase_add_test(eng, tampered_subject);
	tcase_add_test(eng, no_key);
	tcase_add_test(eng, lookup_tempfail);
	tcase_add_test(eng, key_record_problems);
	tcase_add_test(eng, strict_identity);
	tcase_add_test(eng, timestamps);
	tcase_add_test(eng, too_many_signatures);
	suite_add_tcase(s, eng);

	tcase_add_unchecked_fixture(cr, crafted_setup, crafted_teardown);
	tcase_set_timeout(cr, TEST_TIMEOUT);
	tcase_add_test(cr, crafted_controls);
	tcase_add_test(cr, crafted_bottom_up);
	tcase_add_test(cr, crafted_key_too_small);
	tcase_add_test(cr, crafted_algorithms);
	tcase_add_test(cr, crafted_identity);
	tcase_add_test(cr, crafted_header_list);
	tcase_add_test(cr, crafted_versions);
	tcase_add_test(cr, crafted_missing_tags);
	tcase_add_test(cr, crafted_syntax);
	tcase_add_test(cr, crafted_body_length);
	suite_add_tcase(s, cr);
	return s;
}
