/*
 * fuzz_decide.c - the policy decision from From:, Sender: and
 * X-DKIM-Options (and the envelope sender).  A decision to sign must be
 * one the signer takes: every spec's i= passes the signer's own identity
 * check, inside d=, and vdkim_signer_add() accepts the spec.
 *
 * Input: a byte choosing the VMTA and source, then From, Sender,
 * X-DKIM-Options and MAIL FROM values separated by NUL bytes (an empty
 * or missing part: no such field).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_policy.h"
#include "identity.h"
#include "vdkim/policy.h"

static vdkim_policy *policy;

static const char *const vmtas[] = { "v", "fixed", "strict", NULL };

/* The next NUL-separated part, as a malloc'd string ("" past the end). */
static char *
next_part(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nul = memchr(*p, '\0', (size_t)(end - *p));
	size_t n = nul != NULL ? (size_t)(nul - *p) : (size_t)(end - *p);
	char *s = malloc(n + 1);

	FUZZ_CHECK(s != NULL, "out of memory");
	memcpy(s, *p, n);
	s[n] = '\0';
	*p += nul != NULL ? n + 1 : n;
	return s;
}

static size_t
add_field(vdkim_header *h, char **store, const char *name, const char *v)
{
	size_t n = strlen(name) + 2 + strlen(v) + 1;

	if (v[0] == '\0')
		return 0;
	*store = malloc(n);
	FUZZ_CHECK(*store != NULL, "out of memory");
	h->len = (size_t)snprintf(*store, n, "%s: %s", name, v);
	h->field = *store;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 1, *end = data + size;
	char *from, *sender, *opts, *mfrom, *store[3] = { NULL, NULL, NULL };
	vdkim_header hdrs[3];
	vdkim_envelope env;
	vdkim_decision d;
	vdkim_error err;
	size_t nh = 0;
	vdkim_rc rc;

	if (size < 1)
		return 0;
	from = next_part(&p, end);
	sender = next_part(&p, end);
	opts = next_part(&p, end);
	mfrom = next_part(&p, end);
	nh += add_field(&hdrs[nh], &store[nh], "From", from);
	nh += add_field(&hdrs[nh], &store[nh], "Sender", sender);
	nh += add_field(&hdrs[nh], &store[nh], "X-DKIM-Options", opts);

	memset(&env, 0, sizeof(env));
	env.size = sizeof(env);
	env.vmta = vmtas[data[0] % 4];
	env.source = (data[0] & 4) ? "trusted" : NULL;
	env.mail_from = mfrom[0] != '\0' ? mfrom : NULL;
	env.rcpt_domain = (data[0] & 8) ? "dest.example" : NULL;

	err.msg[0] = '\0';
	rc = vdkim_policy_decide(policy, &env, hdrs, nh, FUZZ_NOW, &d, &err);
	FUZZ_CHECK(rc == VDKIM_OK, "decide: %s", err.msg);
	if (d.verdict == VDKIM_VERDICT_SIGN) {
		FUZZ_CHECK(d.nsigs >= 1 && d.nsigs <= VDKIM_POLICY_MAX_SIGS,
		    "sign with %zu signatures", d.nsigs);
		for (size_t i = 0; i < d.nsigs; i++) {
			const vdkim_sig_spec *sp = &d.specs[i];
			vdkim_signer *s = NULL;
			char why[256];

			if (sp->identity != NULL)
				FUZZ_CHECK(identity_check(sp->identity,
				    sp->domain, why, sizeof(why)) == 0,
				    "the decision's i=%s for d=%s: %s",
				    sp->identity, sp->domain, why);
			FUZZ_CHECK(vdkim_signer_new(&s, &err) == VDKIM_OK,
			    "%s", err.msg);
			FUZZ_CHECK(vdkim_signer_add(s, sp, &err) == VDKIM_OK,
			    "the signer refuses the decision (d=%s s=%s "
			    "i=%s): %s", sp->domain, sp->selector,
			    sp->identity ? sp->identity : "(none)", err.msg);
			vdkim_signer_free(s);
		}
	} else {
		FUZZ_CHECK(d.why != VDKIM_WHY_OK && d.detail[0] != '\0',
		    "%s without a reason", vdkim_verdict_name(d.verdict));
	}
	for (size_t i = 0; i < 3; i++)
		free(store[i]);
	free(from);
	free(sender);
	free(opts);
	free(mfrom);
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	vdkim_error err;

	(void)argc;
	(void)argv;
	if (vdkim_policy_load(fuzz_policy_config(NULL), &policy, &err) !=
	    VDKIM_OK) {
		fprintf(stderr, "fuzz set-up: the policy: %s\n", err.msg);
		abort();
	}
	fuzz_policy_remove();
	for (size_t i = 0; i < vdkim_policy_warning_count(policy); i++)
		if (vdkim_policy_warning_is_error(policy, i))
			fprintf(stderr, "fuzz set-up: %s\n",
			    vdkim_policy_warning(policy, i));
	return 0;
}
