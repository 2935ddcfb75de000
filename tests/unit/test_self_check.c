/*
 * test_self_check.c - a signature that does not verify never leaves.
 *
 * The faulty signer is a key whose public half was deliberately replaced
 * by another key's (the private half, in the key's signing template, is
 * untouched): every signature it makes is wrong for its public half, as a
 * device's corrupted answer would be.  The engine drops such a signature
 * with VDKIM_ESELFCHECK ("signature-self-check-failed") when the check is
 * on (the default for RSA, dkim-verify-signatures), keeps the others, and
 * can make the dropped one again with a sound key; the policy's message
 * path then sends the message unsigned, or defers it under dkim-require.
 * With the check off, the signature goes out though the key's public
 * half (what its DNS record publishes) does not verify it: the check is
 * what stops it.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "key.h"
#include "policy_message.h"
#include "policy_model.h"
#include "signer_remake.h"
#include "suites.h"

/* Gives key another key pair's public half (taking pub): a test's fault,
 * not production's. */
static void
break_public_half(vdkim_key *key, EVP_PKEY *pub)
{
	ck_assert_ptr_nonnull(pub);
	EVP_PKEY_free(key->pkey);
	key->pkey = pub;
}

/* The key in tests/data/name, with the public half of pub. */
static vdkim_key *
faulty_key(const char *name, EVP_PKEY *pub)
{
	vdkim_key *key = td_key(name);

	break_public_half(key, pub);
	return key;
}

/* An RSA public half of another key pair. */
static EVP_PKEY *
other_rsa(void)
{
	return td_pkey("rsa1024.pem");
}

/* A signer for STD_MSG with the specs, finished; eom's answer in *rc. */
static vdkim_signer *
sign_std(const vdkim_sig_spec *specs, size_t n, vdkim_rc *rc,
    vdkim_error *err)
{
	vdkim_signer *s = NULL;

	ck_assert_int_eq(vdkim_signer_new(&s, err), VDKIM_OK);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(vdkim_signer_add(s, &specs[i], err) == VDKIM_OK,
		    "%s", err->msg);
	ck_assert_msg(vdkim_signer_message(s, STD_MSG, strlen(STD_MSG),
	    err) == VDKIM_OK, "%s", err->msg);
	*rc = vdkim_signer_eom(s, err);
	return s;
}

/* Verifies signature i of s on STD_MSG against map's records. */
static vres
verify_with(const vdkim_signer *s, size_t i, vdkim_keymap *map)
{
	size_t len, mlen;
	const char *sig = vdkim_signer_result(s, i, &len);
	char *msg;
	vres out[VRES_MAX];

	ck_assert_ptr_nonnull(sig);
	msg = xconcat(sig, len, STD_MSG, strlen(STD_MSG), &mlen);
	ck_assert_uint_eq(verify_message(msg, mlen, vdkim_keymap_lookup,
	    map, 0, FEED_WHOLE, 1, out), 1);
	free(msg);
	return out[0];
}

/* Against the records of the test keys (TK). */
static vres
verify_sig(const vdkim_signer *s, size_t i)
{
	return verify_with(s, i, TK.map);
}

/* Against a record publishing key's (broken) public half. */
static vdkim_result
verify_as_published(const vdkim_signer *s, size_t i, const vdkim_key *key,
    const char *selector)
{
	char qname[128], *rec = record_for_pkey(key->pkey, "");
	vdkim_keymap *map;
	vres v;

	snprintf(qname, sizeof(qname), "%s._domainkey.example.com", selector);
	map = keymap1(qname, rec);
	v = verify_with(s, i, map);
	vdkim_keymap_free(map);
	free(rec);
	return v.result;
}

START_TEST(faulty_rsa_dropped_others_made)
{
	vdkim_key *bad = faulty_key("rsa2048.pem", other_rsa());
	vdkim_sig_spec specs[2];
	vdkim_error err;
	vdkim_rc rc;
	vdkim_signer *s;

	spec_for(&specs[0], bad, "r2048");
	spec_for(&specs[1], TK.ed, "ed");
	s = sign_std(specs, 2, &rc, &err);
	ck_assert_int_eq(rc, VDKIM_ESELFCHECK);
	ck_assert_int_eq(err.rc, VDKIM_ESELFCHECK);
	ck_assert_str_eq(vdkim_rc_name(rc), "signature-self-check-failed");
	ck_assert_msg(strstr(err.msg, "d=example.com s=r2048") != NULL &&
	    strstr(err.msg, "does not verify") != NULL, "%s", err.msg);
	ck_assert_uint_eq(vdkim_signer_count(s), 2);
	ck_assert_ptr_null(vdkim_signer_result(s, 0, NULL));
	ck_assert_int_eq(verify_sig(s, 1).result, VDKIM_RES_PASS);

	/* The same key pair held elsewhere makes it again, checked. */
	ck_assert_int_eq(signer_remake(s, 1, TK.rsa2048, &err), VDKIM_ESTATE);
	ck_assert_int_eq(signer_remake(s, 0, bad, &err), VDKIM_ESELFCHECK);
	ck_assert_ptr_null(vdkim_signer_result(s, 0, NULL));
	ck_assert_msg(signer_remake(s, 0, TK.rsa2048, &err) == VDKIM_OK,
	    "%s", err.msg);
	ck_assert_int_eq(verify_sig(s, 0).result, VDKIM_RES_PASS);
	vdkim_signer_free(s);
	vdkim_key_unref(bad);
}
END_TEST

/* Software RSA: the check on (the default, or asked) drops the signature;
 * off, the wrong signature is released and fails at the receiver. */
START_TEST(software_rsa_on_off)
{
	vdkim_key *bad = faulty_key("rsa2048.pem", other_rsa());
	static const int modes[] = { VDKIM_SELF_CHECK_DEFAULT, 1, 0 };
	vdkim_sig_spec spec;
	vdkim_error err;
	vdkim_rc rc;

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		vdkim_signer *s;

		spec_for(&spec, bad, "r2048");
		ck_assert_int_eq(spec.self_check, VDKIM_SELF_CHECK_DEFAULT);
		spec.self_check = modes[m];
		s = sign_std(&spec, 1, &rc, &err);
		if (modes[m] != 0) {
			ck_assert_int_eq(rc, VDKIM_ESELFCHECK);
			ck_assert_ptr_null(vdkim_signer_result(s, 0, NULL));
		} else {
			/* Released: a receiver holding the key's public
			 * half (its DNS record) would find it bad. */
			ck_assert_msg(rc == VDKIM_OK, "%s", err.msg);
			ck_assert_int_eq(verify_as_published(s, 0, bad,
			    "r2048"), VDKIM_RES_FAIL);
		}
		vdkim_signer_free(s);
	}
	/* A sound key passes its check. */
	spec_for(&spec, TK.rsa2048, "r2048");
	spec.self_check = 1;
	vdkim_signer_free(sign_std(&spec, 1, &rc, &err));
	ck_assert_msg(rc == VDKIM_OK, "%s", err.msg);
	vdkim_key_unref(bad);
}
END_TEST

/* Ed25519: checked when asked, not by default (conf-examples/README.md). */
START_TEST(ed25519_default_and_on)
{
	vdkim_key *bad = faulty_key("ed25519.pem", td_pkey("rsa2048.pem"));
	vdkim_sig_spec spec;
	vdkim_error err;
	vdkim_rc rc;
	vdkim_signer *s;

	/* An RSA public half for an Ed25519 key: the check cannot verify. */
	spec_for(&spec, bad, "ed");
	spec.self_check = 1;
	s = sign_std(&spec, 1, &rc, &err);
	ck_assert_int_ne(rc, VDKIM_OK);
	ck_assert_ptr_null(vdkim_signer_result(s, 0, NULL));
	vdkim_signer_free(s);
	vdkim_key_unref(bad);

	bad = faulty_key("ed25519.pem",
	    EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
	spec_for(&spec, bad, "ed");
	spec.self_check = 1;
	s = sign_std(&spec, 1, &rc, &err);
	ck_assert_int_eq(rc, VDKIM_ESELFCHECK);
	ck_assert_msg(strstr(err.msg, "Ed25519") != NULL, "%s", err.msg);
	vdkim_signer_free(s);
	spec.self_check = VDKIM_SELF_CHECK_DEFAULT;
	s = sign_std(&spec, 1, &rc, &err);
	ck_assert_int_eq(rc, VDKIM_OK);
	ck_assert_int_eq(verify_as_published(s, 0, bad, "ed"),
	    VDKIM_RES_FAIL);
	vdkim_signer_free(s);
	vdkim_key_unref(bad);
}
END_TEST

/* A caller built against the spec before self_check gets the default. */
START_TEST(older_spec_size)
{
	vdkim_key *bad = faulty_key("rsa2048.pem", other_rsa());
	vdkim_sig_spec spec;
	vdkim_error err;
	vdkim_rc rc;

	spec_for(&spec, bad, "r2048");
	spec.size = offsetof(vdkim_sig_spec, self_check);
	spec.self_check = 0; /* not there for such a caller: ignored */
	vdkim_signer_free(sign_std(&spec, 1, &rc, &err));
	ck_assert_int_eq(rc, VDKIM_ESELFCHECK);
	{
		vdkim_signer *s = NULL;

		ck_assert_int_eq(vdkim_signer_new(&s, &err), VDKIM_OK);
		spec.size = offsetof(vdkim_sig_spec, self_check) - 1;
		ck_assert_int_eq(vdkim_signer_add(s, &spec, &err),
		    VDKIM_EINVAL);
		vdkim_signer_free(s);
	}
	vdkim_key_unref(bad);
}
END_TEST

/* ------------------------------------------------------ the policy */

static char tmpdir[PATH_MAX];

static const char *
write_conf(const char *body)
{
	static char path[PATH_MAX + 16];
	char text[PATH_MAX + 1024];
	size_t len;
	char *key = td_read("rsa2048.pem", &len);
	char kpath[PATH_MAX + 16];

	snprintf(kpath, sizeof(kpath), "%s/rsa.pem", tmpdir);
	write_file(kpath, key, len, 0600);
	free(key);
	snprintf(text, sizeof(text), "domain-key = \"sc,example.com,%s\"\n"
	    "domain \"*\" {\n\tdkim-sign = yes\n%s}\n", kpath, body);
	snprintf(path, sizeof(path), "%s/sc.conf", tmpdir);
	write_file(path, text, strlen(text), 0644);
	return path;
}

static void
sc_setup(void)
{
	const char *base = getenv("TMPDIR");

	tk_setup();
	snprintf(tmpdir, sizeof(tmpdir), "%s/vdkim-sc-XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	ck_assert_msg(mkdtemp(tmpdir) != NULL, "mkdtemp: %s",
	    strerror(errno));
}

static void
sc_teardown(void)
{
	if (tmpdir[0] != '\0')
		rm_tree(tmpdir);
	tmpdir[0] = '\0';
	tk_teardown();
}

/* STD_MSG through the policy in body (a domain block's lines), with its
 * key made faulty; the outcome, the signatures' length in *siglen. */
static policy_outcome
through_policy(const char *body, size_t *siglen, char *reason, size_t rlen)
{
	vdkim_policy *p = NULL;
	vdkim_error err;
	vdkim_envelope env;
	policy_message_info info;
	policy_message *pm = NULL;
	policy_outcome out;

	ck_assert_msg(vdkim_policy_load(write_conf(body), &p, &err) ==
	    VDKIM_OK, "%s", err.msg);
	ck_assert_uint_eq(p->nkeytab, 1);
	ck_assert_ptr_nonnull(p->keytab[0].key);
	break_public_half(p->keytab[0].key, other_rsa());
	memset(&env, 0, sizeof(env));
	env.size = sizeof(env);
	env.rcpt_domain = "example.net";
	memset(&info, 0, sizeof(info));
	info.env = &env;
	info.hook = POLICY_HOOK_PRE_DELIVERY;
	ck_assert_int_eq(policy_message_new(&pm, p, &info, &err), VDKIM_OK);
	(void)policy_message_chunk(pm, STD_MSG, strlen(STD_MSG));
	(void)policy_message_eom(pm);
	policy_message_outcome(pm, &out);
	policy_message_signatures(pm, siglen);
	snprintf(reason, rlen, "%s", out.reason);
	out.reason = NULL; /* freed with pm */
	policy_message_free(pm);
	vdkim_policy_unref(p);
	return out;
}

START_TEST(policy_defers_or_sends_unsigned)
{
	char reason[VDKIM_ERRMSG_MAX];
	size_t siglen;
	policy_outcome out;

	/* The default for RSA: checked; dkim-require defers. */
	out = through_policy("\tdkim-require = yes\n", &siglen, reason,
	    sizeof(reason));
	ck_assert_int_eq(out.action, POLICY_ACTION_DEFER);
	ck_assert_str_eq(out.reason_code, "signature-self-check-failed");
	ck_assert_msg(strstr(reason, "s=sc") != NULL, "%s", reason);
	ck_assert_uint_eq(out.nsigned, 0);
	ck_assert_uint_eq(siglen, 0);

	/* Without dkim-require: on, unsigned, with the reason. */
	out = through_policy("\tdkim-verify-signatures = yes\n", &siglen,
	    reason, sizeof(reason));
	ck_assert_int_eq(out.action, POLICY_ACTION_CONTINUE);
	ck_assert_str_eq(out.reason_code, "signature-self-check-failed");
	ck_assert_uint_eq(out.nsigned, 0);
	ck_assert_uint_eq(siglen, 0);

	/* Turned off: the wrong signature leaves, as configured. */
	out = through_policy("\tdkim-verify-signatures = no\n"
	    "\tdkim-require = yes\n", &siglen, reason, sizeof(reason));
	ck_assert_int_eq(out.action, POLICY_ACTION_CONTINUE);
	ck_assert_str_eq(out.reason_code, "ok");
	ck_assert_uint_eq(out.nsigned, 1);
	ck_assert_uint_gt(siglen, 0);
}
END_TEST

/* The directive is a dkim-* option: second-, in every domain block, and
 * shown by describe. */
START_TEST(policy_directive_described)
{
	vdkim_policy *p = NULL;
	vdkim_error err;
	char *text = NULL;

	ck_assert_msg(vdkim_policy_load(write_conf(
	    "\tdkim-verify-signatures = no\n"
	    "\tsecond-dkim-verify-signatures = yes\n"), &p, &err) == VDKIM_OK,
	    "%s", err.msg);
	ck_assert_int_eq(vdkim_policy_describe(p, &text, &err), VDKIM_OK);
	ck_assert_msg(strstr(text, " dkim-verify-signatures=no") != NULL &&
	    strstr(text, "second-dkim-verify-signatures=yes") != NULL, "%s",
	    text);
	free(text);
	vdkim_policy_unref(p);
	ck_assert_int_ne(vdkim_policy_load(write_conf(
	    "\tdkim-verify-signatures = sometimes\n"), &p, &err), VDKIM_OK);
}
END_TEST

Suite *
self_check_suite(void)
{
	Suite *s = suite_create("self_check");
	TCase *tc = tcase_create("self_check");

	tcase_add_checked_fixture(tc, sc_setup, sc_teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, faulty_rsa_dropped_others_made);
	tcase_add_test(tc, software_rsa_on_off);
	tcase_add_test(tc, ed25519_default_and_on);
	tcase_add_test(tc, older_spec_size);
	tcase_add_test(tc, policy_defers_or_sends_unsigned);
	tcase_add_test(tc, policy_directive_described);
	suite_add_tcase(s, tc);
	return s;
}
