/*
 * test_policy_message.c - one message's path through the policy
 * (module/policy/policy_message.h), which vdkim.so and vdkimctl share:
 * every way of feeding a message (one chunk, bytes, random chunkings,
 * field by field) gives the same signatures, the same X-DKIM-Options
 * ranges and the same outcome; the signatures verify on the message the
 * host sends (with those ranges cut out); a header the engine cannot read
 * is refused at the door and let go once queued, its X-DKIM-Options still
 * removed; the header is bounded by the engine's limits; decide-only
 * messages keep their header; calls out of order are refused.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "helpers.h"
#include "policy_message.h"
#include "suites.h"

#define CLOCK ((time_t)1700000000)

static char tmpdir[1024];
static char conf_path[PATH_MAX];

static const char PM_CONF[] =
    "source trusted {\n"
    "\tprocess-x-dkim-options = yes\n"
    "}\n"
    "domain-key = \"pm,example.com,%s/rsa.pem\"\n"
    "domain-key = \"alt,example.com,%s/ed.pem\"\n"
    "domain \"*\" {\n"
    "\tdkim-sign = yes\n"
    "}\n"
    "virtual-mta v {\n"
    "}\n"
    "virtual-mta off {\n"
    "\tdomain \"*\" {\n"
    "\t\tdkim-sign = no\n"
    "\t}\n"
    "}\n";

/* X-DKIM-Options first and in the middle, a folded field, a body. */
static const char MSG[] =
    "X-DKIM-Options: s=alt; d=example.com\r\n"
    "From: Alice <alice@example.com>\r\n"
    "To: Bob <bob@example.net>\r\n"
    "Subject: a folded\r\n"
    "\tsubject\r\n"
    "x-dkim-options : s=alt; d=example.com\r\n"
    "Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
    "Message-ID: <pm-1@example.com>\r\n"
    "\r\n"
    "Hello Bob,\r\n"
    "  this  is the body.\r\n";

static void
copy_key(const char *src, const char *dst)
{
	char path[PATH_MAX];
	size_t len;
	char *data = td_read(src, &len);

	snprintf(path, sizeof(path), "%s/%s", tmpdir, dst);
	write_file(path, data, len, 0600);
	free(data);
}

static void
pm_setup(void)
{
	const char *base = getenv("TMPDIR");
	char text[sizeof(PM_CONF) + 2 * sizeof(tmpdir)];

	snprintf(tmpdir, sizeof(tmpdir), "%s/vdkim-pm-XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	ck_assert_msg(mkdtemp(tmpdir) != NULL, "mkdtemp: %s",
	    strerror(errno));
	copy_key("rsa2048.pem", "rsa.pem");
	copy_key("ed25519.pem", "ed.pem");
	snprintf(text, sizeof(text), PM_CONF, tmpdir, tmpdir);
	snprintf(conf_path, sizeof(conf_path), "%s/pm.conf", tmpdir);
	write_file(conf_path, text, strlen(text), 0644);
}

static void
pm_teardown(void)
{
	if (tmpdir[0] != '\0')
		rm_tree(tmpdir);
	tmpdir[0] = '\0';
}

static vdkim_policy *
load(void)
{
	vdkim_policy *p = NULL;
	vdkim_error err;

	ck_assert_msg(vdkim_policy_load(conf_path, &p, &err) == VDKIM_OK,
	    "%s", err.msg);
	return p;
}

static time_t
fixed_clock(void *arg)
{
	(void)arg;
	return CLOCK;
}

/* A message for VMTA vmta from source, at the fixed clock. */
static policy_message *
start(vdkim_policy *p, const char *vmta, const char *source,
    policy_hook hook, int decide_only)
{
	vdkim_envelope env;
	policy_message_info info;
	policy_message *pm = NULL;
	vdkim_error err;

	memset(&env, 0, sizeof(env));
	env.size = sizeof(env);
	env.vmta = vmta;
	env.source = source;
	env.rcpt_domain = "example.net";
	memset(&info, 0, sizeof(info));
	info.env = &env; /* copied: this one goes out of scope */
	info.hook = hook;
	info.now = fixed_clock;
	info.decide_only = decide_only;
	ck_assert_msg(policy_message_new(&pm, p, &info, &err) == VDKIM_OK,
	    "%s", err.msg);
	return pm;
}

enum { BY_WHOLE, BY_BYTES, BY_CHUNKS, BY_FIELDS };

/* Feeds msg in the way asked; the first failure's code. */
static vdkim_rc
feed(policy_message *pm, const char *msg, size_t len, int how,
    uint64_t seed)
{
	vdkim_rc rc = VDKIM_OK;
	trng r;
	tmsg t;

	switch (how) {
	case BY_WHOLE:
		rc = policy_message_chunk(pm, msg, len);
		break;
	case BY_BYTES:
		for (size_t i = 0; i < len && rc == VDKIM_OK; i++)
			rc = policy_message_chunk(pm, msg + i, 1);
		break;
	case BY_CHUNKS:
		trng_seed(&r, seed);
		for (size_t i = 0, n; i < len && rc == VDKIM_OK; i += n) {
			n = 1 + trng_below(&r, 40);
			if (n > len - i)
				n = len - i;
			rc = policy_message_chunk(pm, msg + i, n);
		}
		break;
	case BY_FIELDS:
		tmsg_parse(&t, msg, len);
		for (size_t i = 0; i < t.nfields && rc == VDKIM_OK; i++)
			rc = policy_message_header(pm, t.field[i], t.flen[i]);
		if (rc == VDKIM_OK)
			rc = policy_message_eoh(pm);
		if (rc == VDKIM_OK && t.blen > 0)
			rc = policy_message_body(pm, t.body, t.blen);
		break;
	}
	return rc == VDKIM_OK ? policy_message_eom(pm) : rc;
}

/* What a message came to, for comparing ways of feeding it. */
typedef struct result {
	policy_outcome out;
	char code[64], reason[VDKIM_ERRMSG_MAX];
	char *sigs;
	size_t siglen;
	int strip;
	size_t nremoved, off[8], len[8];
} result;

static void
run(vdkim_policy *p, const char *vmta, const char *msg, int how,
    uint64_t seed, result *res)
{
	policy_message *pm = start(p, vmta, "trusted",
	    POLICY_HOOK_PRE_DELIVERY, 0);
	const char *s;

	memset(res, 0, sizeof(*res));
	feed(pm, msg, strlen(msg), how, seed);
	policy_message_outcome(pm, &res->out);
	snprintf(res->code, sizeof(res->code), "%s", res->out.reason_code);
	snprintf(res->reason, sizeof(res->reason), "%s", res->out.reason);
	s = policy_message_signatures(pm, &res->siglen);
	res->sigs = xmemdup(s, res->siglen);
	res->strip = policy_message_strip(pm);
	res->nremoved = policy_message_removed_count(pm);
	ck_assert_uint_le(res->nremoved, 8);
	for (size_t k = 0; k < res->nremoved; k++)
		policy_message_removed(pm, k, &res->off[k], &res->len[k]);
	policy_message_free(pm);
}

static void
expect_same(const result *a, const result *b, const char *how)
{
	ck_assert_msg(a->out.action == b->out.action, "%s: action", how);
	ck_assert_uint_eq(a->out.nsigned, b->out.nsigned);
	ck_assert_str_eq(a->code, b->code);
	ck_assert_str_eq(a->reason, b->reason);
	ck_assert_msg(a->siglen == b->siglen &&
	    memcmp(a->sigs, b->sigs, a->siglen) == 0,
	    "%s: other signatures:\n%.*s\n%.*s", how, (int)a->siglen, a->sigs,
	    (int)b->siglen, b->sigs);
	ck_assert_int_eq(a->strip, b->strip);
	ck_assert_uint_eq(a->nremoved, b->nremoved);
	for (size_t k = 0; k < a->nremoved; k++) {
		ck_assert_uint_eq(a->off[k], b->off[k]);
		ck_assert_uint_eq(a->len[k], b->len[k]);
	}
}

/* The message the host sends: signatures, then msg without the removed
 * ranges.  malloc'd. */
static char *
as_sent(const result *r, const char *msg, size_t *outlen)
{
	size_t len = strlen(msg), w = r->siglen, at = 0;
	char *out = malloc(r->siglen + len + 1);

	ck_assert_ptr_nonnull(out);
	memcpy(out, r->sigs, r->siglen);
	for (size_t k = 0; k <= r->nremoved; k++) {
		size_t end = k < r->nremoved ? r->off[k] : len;

		memcpy(out + w, msg + at, end - at);
		w += end - at;
		at = k < r->nremoved ? r->off[k] + r->len[k] : len;
	}
	out[w] = '\0';
	*outlen = w;
	return out;
}

static void
expect_verifies(const result *r, const char *msg)
{
	vdkim_key *ed = td_key("ed25519.pem");
	char *rec = key_record_of(ed);
	vdkim_keymap *map = keymap1("alt._domainkey.example.com", rec);
	vres v[VRES_MAX];
	size_t len, n;
	char *sent = as_sent(r, msg, &len);

	ck_assert_ptr_null(strcasestr(sent, "X-DKIM-Options"));
	n = verify_message(sent, len, vdkim_keymap_lookup, map, 0,
	    FEED_WHOLE, 1, v);
	ck_assert_uint_eq(n, 1);
	ck_assert_msg(v[0].result == VDKIM_RES_PASS, "%s: %s",
	    vdkim_result_name(v[0].result), v[0].detail);
	ck_assert_str_eq(v[0].selector, "alt");
	free(sent);
	vdkim_keymap_free(map);
	free(rec);
	vdkim_key_unref(ed);
}

static void
check_all_ways(const char *msg)
{
	vdkim_policy *p = load();
	result whole, other;
	char how[64];

	run(p, "v", msg, BY_WHOLE, 0, &whole);
	ck_assert_int_eq(whole.out.action, POLICY_ACTION_CONTINUE);
	ck_assert_uint_eq(whole.out.nsigned, 1);
	ck_assert_str_eq(whole.code, "ok");
	ck_assert_int_eq(whole.strip, 1);
	ck_assert_uint_eq(whole.nremoved, 2);
	/* The ranges are the X-DKIM-Options fields, line ends included. */
	for (size_t k = 0; k < 2; k++) {
		ck_assert_int_eq(strncasecmp(msg + whole.off[k],
		    "X-DKIM-Options", 14), 0);
		ck_assert_int_eq(msg[whole.off[k] + whole.len[k] - 1], '\n');
	}
	expect_verifies(&whole, msg);
	run(p, "v", msg, BY_BYTES, 0, &other);
	expect_same(&whole, &other, "bytes");
	free(other.sigs);
	run(p, "v", msg, BY_FIELDS, 0, &other);
	expect_same(&whole, &other, "fields");
	free(other.sigs);
	for (uint64_t seed = 1; seed <= 40; seed++) {
		snprintf(how, sizeof(how), "chunks, seed %llu",
		    (unsigned long long)seed);
		run(p, "v", msg, BY_CHUNKS, seed, &other);
		expect_same(&whole, &other, how);
		free(other.sigs);
	}
	free(whole.sigs);
	vdkim_policy_unref(p);
}

START_TEST(any_chunking_same_result)
{
	check_all_ways(MSG);
}
END_TEST

START_TEST(any_chunking_same_result_lf)
{
	size_t len;
	char *lf = to_lf(MSG, strlen(MSG), &len);

	check_all_ways(lf);
	free(lf);
}
END_TEST

/* The last line lacks its line end: the host appends the one signed. */
START_TEST(final_eol)
{
	static const char msg[] =
	    "From: alice@example.com\r\n\r\nno line end";
	vdkim_policy *p = load();
	policy_message *pm = start(p, "v", NULL, POLICY_HOOK_PRE_DELIVERY, 0);

	ck_assert_int_eq(feed(pm, msg, strlen(msg), BY_WHOLE, 0), VDKIM_OK);
	ck_assert_str_eq(policy_message_final_eol(pm), "\r\n");
	policy_message_free(pm);
	pm = start(p, "v", NULL, POLICY_HOOK_PRE_DELIVERY, 0);
	ck_assert_int_eq(feed(pm, "From: a@example.com\n\nbody", 26,
	    BY_WHOLE, 0), VDKIM_OK);
	ck_assert_str_eq(policy_message_final_eol(pm), "\n");
	policy_message_free(pm);
	pm = start(p, "v", NULL, POLICY_HOOK_PRE_DELIVERY, 0);
	ck_assert_int_eq(feed(pm, MSG, strlen(MSG), BY_WHOLE, 0), VDKIM_OK);
	ck_assert_str_eq(policy_message_final_eol(pm), "");
	policy_message_free(pm);
	vdkim_policy_unref(p);
}
END_TEST

/* A header the engine cannot read: refused at the door, let go once
 * queued; X-DKIM-Options still never leaves. */
START_TEST(bad_header)
{
	static const char msg[] =
	    "X-DKIM-Options: s=alt\r\n"
	    "From alice@example.com\r\n"
	    "\r\nbody\r\n";
	vdkim_policy *p = load();
	policy_hook hooks[] = { POLICY_HOOK_PRE_QUEUE,
	    POLICY_HOOK_PRE_DELIVERY };

	for (size_t i = 0; i < 2; i++) {
		policy_message *pm = start(p, "v", "trusted", hooks[i], 0);
		policy_outcome out;
		size_t off, len;

		ck_assert_int_eq(policy_message_chunk(pm, msg, strlen(msg)),
		    VDKIM_ESYNTAX);
		/* The first failure stays. */
		ck_assert_int_eq(policy_message_chunk(pm, "x", 1),
		    VDKIM_ESYNTAX);
		ck_assert_int_eq(policy_message_eom(pm), VDKIM_ESYNTAX);
		ck_assert_int_eq(policy_message_decided(pm), 0);
		ck_assert_ptr_null(policy_message_decision(pm));
		policy_message_outcome(pm, &out);
		ck_assert_int_eq(out.action, i == 0 ? POLICY_ACTION_REJECT :
		    POLICY_ACTION_CONTINUE);
		ck_assert_str_eq(out.reason_code, "bad-message");
		ck_assert_ptr_nonnull(strstr(out.reason, "no colon"));
		ck_assert_str_eq(out.reason, policy_message_error(pm));
		ck_assert_uint_eq(out.nsigned, 0);
		ck_assert_int_eq(policy_message_strip(pm), 1);
		ck_assert_uint_eq(policy_message_removed_count(pm), 1);
		policy_message_removed(pm, 0, &off, &len);
		ck_assert_uint_eq(off, 0);
		ck_assert_uint_eq(len, strlen("X-DKIM-Options: s=alt\r\n"));
		policy_message_free(pm);
	}
	vdkim_policy_unref(p);
}
END_TEST

/* The header is held, but only up to the engine's limits. */
START_TEST(header_bounded)
{
	vdkim_policy *p = load();
	policy_message *pm = start(p, "v", NULL, POLICY_HOOK_PRE_QUEUE, 0);
	static char field[8192];
	policy_outcome out;
	vdkim_rc rc = VDKIM_OK;
	size_t fed = 0;

	memset(field, 'a', sizeof(field));
	memcpy(field, "X-Pad: ", 7);
	field[sizeof(field) - 2] = '\r';
	field[sizeof(field) - 1] = '\n';
	while (rc == VDKIM_OK && fed <= 2 * (size_t)VDKIM_MAX_HEADER_BYTES) {
		rc = policy_message_chunk(pm, field, sizeof(field));
		fed += sizeof(field);
	}
	ck_assert_int_eq(rc, VDKIM_ELIMIT);
	policy_message_eom(pm);
	policy_message_outcome(pm, &out);
	ck_assert_int_eq(out.action, POLICY_ACTION_REJECT);
	ck_assert_str_eq(out.reason_code, "bad-message");
	ck_assert_ptr_nonnull(strstr(out.reason, "larger than"));
	policy_message_free(pm);

	/* Too many fields, each small. */
	pm = start(p, "v", NULL, POLICY_HOOK_PRE_QUEUE, 0);
	rc = VDKIM_OK;
	for (int i = 0; rc == VDKIM_OK && i <= VDKIM_MAX_HEADER_FIELDS; i++)
		rc = policy_message_header(pm, "X-A: 1\r\n", 8);
	ck_assert_int_eq(rc, VDKIM_ELIMIT);
	policy_message_free(pm);
	vdkim_policy_unref(p);
}
END_TEST

/* Not signed: no signer, no signatures; the header stays. */
START_TEST(not_signed_and_decide_only)
{
	vdkim_policy *p = load();
	policy_message *pm = start(p, "off", NULL, POLICY_HOOK_PRE_DELIVERY,
	    0);
	policy_outcome out;
	size_t len;

	ck_assert_int_eq(feed(pm, MSG, strlen(MSG), BY_CHUNKS, 7), VDKIM_OK);
	policy_message_outcome(pm, &out);
	ck_assert_int_eq(out.action, POLICY_ACTION_CONTINUE);
	ck_assert_str_eq(out.reason_code, "signing-disabled");
	ck_assert_uint_eq(out.nsigned, 0);
	ck_assert_str_eq(policy_message_signatures(pm, &len), "");
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(policy_message_has_field(pm, "subject"), 1);
	policy_message_free(pm);

	/* Decide only: a SIGN verdict, no signer, the header kept. */
	pm = start(p, "v", "trusted", POLICY_HOOK_PRE_DELIVERY, 1);
	ck_assert_int_eq(policy_message_chunk(pm, MSG, 120), VDKIM_OK);
	ck_assert_int_eq(policy_message_decided(pm), 0);
	ck_assert_int_eq(policy_message_chunk(pm, MSG + 120,
	    strlen(MSG) - 120), VDKIM_OK);
	ck_assert_int_eq(policy_message_decided(pm), 1);
	ck_assert_int_eq(policy_message_decision(pm)->verdict,
	    VDKIM_VERDICT_SIGN);
	ck_assert_str_eq(policy_message_decision(pm)->specs[0].selector,
	    "alt");
	ck_assert_int_eq(policy_message_has_field(pm, "Message-ID"), 1);
	ck_assert_int_eq(policy_message_has_field(pm, "Cc"), 0);
	ck_assert_uint_eq(policy_message_removed_count(pm), 2);
	ck_assert_int_eq(policy_message_eom(pm), VDKIM_OK);
	policy_message_outcome(pm, &out);
	ck_assert_uint_eq(out.nsigned, 0);
	policy_message_free(pm);
	vdkim_policy_unref(p);
}
END_TEST

/* Chunks and fields are not mixed; nothing is fed after the end. */
START_TEST(out_of_order)
{
	vdkim_policy *p = load();
	policy_message *pm = start(p, "v", NULL, POLICY_HOOK_PRE_DELIVERY, 0);

	ck_assert_int_eq(policy_message_chunk(pm, "From: a@example.com\r\n",
	    21), VDKIM_OK);
	ck_assert_int_eq(policy_message_header(pm, "To: b@example.net", 17),
	    VDKIM_ESTATE);
	policy_message_free(pm);

	pm = start(p, "v", NULL, POLICY_HOOK_PRE_DELIVERY, 0);
	ck_assert_int_eq(policy_message_body(pm, "x", 1), VDKIM_ESTATE);
	policy_message_free(pm);

	pm = start(p, "v", NULL, POLICY_HOOK_PRE_DELIVERY, 0);
	ck_assert_int_eq(policy_message_header(pm, "From: a@example.com",
	    19), VDKIM_OK);
	ck_assert_int_eq(policy_message_eom(pm), VDKIM_OK);
	ck_assert_int_eq(policy_message_eom(pm), VDKIM_OK);
	ck_assert_int_eq(policy_message_body(pm, "x", 1), VDKIM_ESTATE);
	policy_message_free(pm);
	vdkim_policy_unref(p);
}
END_TEST

Suite *
policy_message_suite(void)
{
	Suite *s = suite_create("policy_message");
	TCase *tc = tcase_create("path");

	tcase_add_checked_fixture(tc, pm_setup, pm_teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, any_chunking_same_result);
	tcase_add_test(tc, any_chunking_same_result_lf);
	tcase_add_test(tc, final_eol);
	tcase_add_test(tc, bad_header);
	tcase_add_test(tc, header_bounded);
	tcase_add_test(tc, not_signed_and_decide_only);
	tcase_add_test(tc, out_of_order);
	suite_add_tcase(s, tc);
	return s;
}
