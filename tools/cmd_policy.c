/*
 * cmd_policy.c - the signing policy from the operator's side:
 * "vdkimctl config-test" (is vdkim.conf usable, and what does it mean) and
 * "vdkimctl explain" (what would the policy do with this message, and
 * why), plus what "vdkimctl sign --config" shares with them: loading a
 * policy and starting a message on the module's message path.
 *
 * explain's verdict is the outcome of the message path, signing included
 * (nothing is written): a key the policy chooses but its device cannot
 * use now makes the verdict "not signed" or "deferred" with the device's
 * reason code, as it would in the MTA.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "key_device.h"
#include "policy_device.h"
#include "policy_model.h"
#include "vdkim/dkim.h"
#include "vdkim/policy.h"

#define CHUNK (64 * 1024)
#define DEFAULT_CONFIG "/etc/vdkim/vdkim.conf"

/* explain's outcomes (its failures are exit_codes.h's). */
#define EXPLAIN_SIGN 0
#define EXPLAIN_NOSIGN 1
#define EXPLAIN_DEFER 2

/* ----------------------------------------------- a message by policy */

int
cli_message_new(const char *cmd, vdkim_policy *p, const vdkim_envelope *env,
    time_t at, int decide_only, policy_message **out)
{
	policy_message_info info;
	vdkim_error err;

	memset(&info, 0, sizeof(info));
	info.env = env;
	info.hook = POLICY_HOOK_PRE_DELIVERY;
	info.decide_at = at;
	info.decide_only = decide_only;
	if (policy_message_new(out, p, &info, &err) != VDKIM_OK)
		return cli_fail(cmd, cli_exit_for(err.rc), "%s", err.msg);
	return 0;
}

int
cli_message_decide(const char *cmd, policy_message *pm, FILE *in,
    FILE *copy)
{
	char *buf = malloc(CHUNK);
	size_t n;
	int rc = CLI_OK;

	if (buf == NULL)
		return cli_fail(cmd, CLI_OSERR, "out of memory");
	while (!policy_message_decided(pm) &&
	    (n = fread(buf, 1, CHUNK, in)) > 0) {
		if (copy != NULL && fwrite(buf, 1, n, copy) != n) {
			rc = cli_fail(cmd, CLI_CANTCREAT,
			    "cannot spool the message: %s",
			    strerror(errno));
			goto out;
		}
		if (policy_message_chunk(pm, buf, n) != VDKIM_OK) {
			rc = cli_fail(cmd, CLI_DATA,
			    "%s", policy_message_error(pm));
			goto out;
		}
	}
	if (ferror(in)) {
		rc = cli_fail(cmd, CLI_IOERR,
		    "cannot read the message: %s", strerror(errno));
		goto out;
	}
	/* A header up to the end of the input: the message has no body, and
	 * its end decides (and signs: how that went is the outcome's). */
	if (!policy_message_decided(pm))
		(void)policy_message_eom(pm);
	if (!policy_message_decided(pm)) {
		rc = cli_fail(cmd, CLI_DATA, "%s", policy_message_error(pm));
		goto out;
	}
out:
	free(buf);
	return rc;
}

/* ------------------------------------------------------------- policies */

int
cli_config_status(const char *path)
{
	return access(path, R_OK) != 0 ? CLI_NOINPUT : CLI_CONFIG;
}

int
cli_policy_load(const char *cmd, const char *path, vdkim_policy **out)
{
	return cli_policy_load_as(cmd, path, 0, out);
}

static unsigned
load_flags(int flags)
{
	return ((flags & CLI_LOAD_CHECKER) ? POLICY_LOAD_CHECKER : 0) |
	    ((flags & CLI_LOAD_KEYS_ON_DEMAND) ? POLICY_LOAD_KEYS_ON_DEMAND :
	    0);
}

int
cli_policy_load_as(const char *cmd, const char *path, int flags,
    vdkim_policy **out)
{
	vdkim_error err;

	if (policy_load(path, cli_host_blocks, load_flags(flags),
	    out, &err) != VDKIM_OK)
		return cli_fail(cmd, cli_config_status(path), "%s", err.msg);
	if ((flags & CLI_LOAD_QUIET) == 0) {
		size_t seen = 0;

		cli_policy_warnings(cmd, *out, &seen);
	}
	return 0;
}

void
cli_policy_warnings(const char *cmd, const vdkim_policy *p, size_t *seen)
{
	for (; *seen < vdkim_policy_warning_count(p); (*seen)++)
		fprintf(stderr, "vdkimctl %s: %s: %s\n", cmd,
		    vdkim_policy_warning_is_error(p, *seen) ? "error" :
		    "warning", vdkim_policy_warning(p, *seen));
}

const char *
cli_why_hint(vdkim_why why)
{
	switch (why) {
	case VDKIM_WHY_OK:
		return "";
	case VDKIM_WHY_UNKNOWN_VMTA:
		return "add a virtual-mta block of that name, or give the "
		    "name the config uses";
	case VDKIM_WHY_DISABLED:
		return "set dkim-sign yes in a domain block matching the "
		    "recipient domain (in the virtual-mta, its pool or the "
		    "global scope)";
	case VDKIM_WHY_NO_IDENTITY:
		return "give the message a From: address, or set "
		    "dkim-identity to an address or @domain";
	case VDKIM_WHY_NO_KEY:
		return "add a domain-key for the identity's domain (or a "
		    "parent, or *), or set dkim-identity-fallback";
	case VDKIM_WHY_KEY_NOT_LOADED:
		return "fix the key file named by the domain-key (see "
		    "vdkimctl config-test)";
	case VDKIM_WHY_NOT_ALIGNED:
		return "add a domain-key whose domain aligns with the From: "
		    "domain, or set dkim-align off";
	case VDKIM_WHY_OPTIONS_REFUSED:
		return "set process-x-dkim-options yes in the source's block "
		    "if this source may choose keys; if it may, make its i= "
		    "an address within the signing domain";
	case VDKIM_WHY_OPTIONS_INVALID:
		return "fix the X-DKIM-Options field (s=, d=, i=, key-list=)";
	case VDKIM_WHY_OPTIONS_NO_KEY:
		return "make X-DKIM-Options name a loaded key, or add it "
		    "(domain-key, domain-key-list)";
	case VDKIM_WHY_BAD_MESSAGE:
		return "fix the message's From:/Sender: fields";
	case VDKIM_WHY_MULTIPLE_FROM:
		return "send the message with one From: field (several "
		    "authors go in one field, with a Sender:)";
	case VDKIM_WHY_DNS_MISSING:
	case VDKIM_WHY_DNS_MISMATCH:
	case VDKIM_WHY_KEY_DNS_MISMATCH:
		return "publish the key's record (vdkimctl dns-record prints "
		    "it), then run vdkimctl check-dns and reload";
	case VDKIM_WHY_ROTATION_HELD:
		return "publish the held-back selector's record (vdkimctl "
		    "rotation prepare prints it), then run vdkimctl rotation "
		    "check; it takes over publish-ahead after it is seen";
	case VDKIM_WHY_ROTATION_NOT_IN_DNS:
		return "publish the selector's record again (vdkimctl rotation "
		    "plan shows it), then run vdkimctl rotation check";
	case VDKIM_WHY_ROTATION_UNVERIFIED:
		return "publish the schedule's records and run vdkimctl "
		    "rotation check (vdkimctl rotation plan shows the state)";
	}
	return "";
}

/* ---------------------------------------------------------- config-test */

int
cmd_config_test(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = DEFAULT_CONFIG, *user = NULL;
	vdkim_policy *p = NULL;
	vdkim_error err;
	char *text = NULL;
	size_t nerr = 0;
	int c, access_rc = 0;

	while ((c = cli_getopt("config-test", argc, argv, opts)) != -1) {
		if (c == 'c')
			path = optarg;
		else if (c == 'u')
			user = optarg;
		else
			return CLI_USAGE;
	}
	if (optind != argc)
		return cli_fail("config-test", CLI_USAGE,
		    "unexpected argument \"%s\" "
		    "(use --config FILE)", argv[optind]);
	if (vdkim_policy_load_skipping(path, cli_host_blocks, &p, &err) !=
	    VDKIM_OK) {
		printf("error: %s\nconfig has 1 error(s)\n", err.msg);
		return cli_config_status(path);
	}
	for (size_t i = 0; i < vdkim_policy_warning_count(p); i++) {
		int is_error = vdkim_policy_warning_is_error(p, i);

		printf("%s: %s\n", is_error ? "error" : "warning",
		    vdkim_policy_warning(p, i));
		nerr += is_error != 0;
	}
	if (vdkim_policy_describe(p, &text, &err) != VDKIM_OK) {
		vdkim_policy_unref(p);
		return cli_fail("config-test", cli_exit_for(err.rc),
		    "%s", err.msg);
	}
	fputs(text, stdout);
	if (*text != '\0' && text[strlen(text) - 1] != '\n')
		putchar('\n');
	free(text);
	if (nerr == 0)
		printf("config OK\n");
	else
		printf("config has %zu error(s)\n", nerr);
	/* The files as the MTA's user opens them (cmd_access.c). */
	if (user != NULL)
		access_rc = cli_access_test(p, user);
	vdkim_policy_unref(p);
	if (fflush(stdout) != 0)
		return cli_fail("config-test", CLI_IOERR, "cannot write: %s",
		    strerror(errno));
	return access_rc != 0 ? access_rc : nerr == 0 ? 0 : CLI_CONFIG;
}

/* -------------------------------------------------------------- explain */

static void
print_list(const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		printf("%s%s", i ? ", " : "", list[i]);
}

/* "7 days", "12 hours", "90 seconds". */
static void
print_interval(long secs)
{
	static const struct { long n; const char *unit; } units[] = {
		{ 7 * 86400, "week" }, { 86400, "day" }, { 3600, "hour" },
		{ 60, "minute" }, { 1, "second" }
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (secs % units[i].n == 0) {
			printf("%ld %s%s", secs / units[i].n, units[i].unit,
			    secs / units[i].n == 1 ? "" : "s");
			return;
		}
}

/* The names of list the message has (those h= will hold). */
static void
print_present(const char *const *list, const policy_message *pm)
{
	size_t n = 0;

	for (size_t i = 0; list[i] != NULL; i++)
		if (policy_message_has_field(pm, list[i]))
			printf("%s%s", n++ ? ", " : "", list[i]);
	if (n == 0)
		printf("none");
}

static void
print_signature(size_t i, const vdkim_sig_spec *sp,
    const policy_message *pm)
{
	const char *const *set = sp->headers ? sp->headers :
	    vdkim_default_headers();

	printf("signature %zu: d=%s s=%s i=%s\n", i + 1, sp->domain,
	    sp->selector, sp->identity ? sp->identity : "none");
	printf("  algorithm:        %s", vdkim_alg_name(vdkim_key_get_alg(
	    sp->key)));
	if (policy_key_unopened(sp->key))
		printf(" (key on device %s, not reached when the config was "
		    "loaded: its size is unknown)\n", key_device_name(sp->key));
	else if (vdkim_key_get_type(sp->key) == VDKIM_KEY_RSA)
		printf(" (%u-bit key)\n", vdkim_key_get_bits(sp->key));
	else
		printf(" (Ed25519 key)\n");
	printf("  canonicalization: %s/%s (header/body)\n",
	    vdkim_canon_name(sp->header_canon),
	    vdkim_canon_name(sp->body_canon));
	printf("  header set:       ");
	if (sp->headers == NULL) {
		printf("default set (");
		print_list(set);
		printf(")");
	} else {
		print_list(set);
	}
	if (sp->extra_headers != NULL && sp->extra_headers[0] != NULL) {
		printf(", plus ");
		print_list(sp->extra_headers);
	}
	printf("\n  signed here (h=): ");
	print_present(set, pm);
	printf("\n  over-signed:      ");
	if (sp->oversign == NULL)
		printf("From");
	else if (sp->oversign[0] == NULL)
		printf("none");
	else
		print_list(sp->oversign);
	printf("\n  expire-after:     ");
	if (sp->expire_after > 0) {
		print_interval(sp->expire_after);
		printf(" after signing (x=)\n");
	} else {
		printf("never (no x=)\n");
	}
	printf("  timestamp t=:     %s\n", sp->add_timestamp ? "yes" : "no");
	printf("  body length l=:   %s\n", sp->body_length ? "yes" : "no");
}

/* What to change when the policy chose to sign but the signature could
 * not be made, by the outcome's reason code. */
static const char *
signing_hint(const char *code)
{
	static const struct { vdkim_rc rc; const char *hint; } hints[] = {
		{ VDKIM_EDEV_UNAVAILABLE, "bring the device back (vdkimctl "
		    "config-test shows what it met); signing resumes by itself "
		    "once it answers, or give the key a domain-key-fallback" },
		{ VDKIM_EDEV_PIN, "fix the PIN the device's block gives "
		    "(pin-file or pin-env), then reload the config" },
		{ VDKIM_EDEV_TIMEOUT, "find why the device answers slowly, or "
		    "raise the timeout of its block" },
		{ VDKIM_EDEV_ERROR, "check the device and its key (vdkimctl "
		    "config-test; the device's own log)" },
	};

	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (strcmp(code, vdkim_rc_name(hints[i].rc)) == 0)
			return hints[i].hint;
	return "fix what the sentence above names";
}

/*
 * Reads the message on in into two messages on the module's path: pm
 * only decides (its header stays, for what h= will hold), ps runs as
 * vdkim.so runs it, signing included, so that its outcome is the verdict
 * (a key the device cannot use shows there).  0, or the exit status
 * after saying why the message cannot be read.
 */
static int
explain_feed(policy_message *pm, policy_message *ps, FILE *in)
{
	char *buf = malloc(CHUNK);
	size_t n;
	int rc = CLI_OK;

	if (buf == NULL)
		return cli_fail("explain", CLI_OSERR, "out of memory");
	while ((n = fread(buf, 1, CHUNK, in)) > 0) {
		if (policy_message_chunk(pm, buf, n) != VDKIM_OK) {
			rc = cli_fail("explain", CLI_DATA,
			    "%s", policy_message_error(pm));
			goto out;
		}
		/* A failure here is ps's outcome, shown as the verdict. */
		(void)policy_message_chunk(ps, buf, n);
	}
	if (ferror(in)) {
		rc = cli_fail("explain", CLI_IOERR,
		    "cannot read the message: %s",
		    strerror(errno));
		goto out;
	}
	if (policy_message_eom(pm) != VDKIM_OK) {
		rc = cli_fail("explain", CLI_DATA,
		    "%s", policy_message_error(pm));
		goto out;
	}
	(void)policy_message_eom(ps);
out:
	free(buf);
	return rc;
}

/* The verdict for a message that would not be signed; the exit status. */
static int
explain_unsigned(const policy_outcome *out, const vdkim_decision *d,
    const policy_message *pm)
{
	int defer = out->action != POLICY_ACTION_CONTINUE;
	vdkim_verdict v = defer ? VDKIM_VERDICT_DEFER : VDKIM_VERDICT_NOSIGN;
	/* The policy chose keys, but the signatures could not be made. */
	int failed = d->verdict == VDKIM_VERDICT_SIGN;
	const char *hint = failed ? signing_hint(out->reason_code) :
	    cli_why_hint(d->why);

	printf("verdict: %s (%s): %s\n", vdkim_verdict_name(v),
	    out->reason_code, defer ? "the message would be deferred, not "
	    "sent unsigned (dkim-require yes)" : "the message would be sent "
	    "unsigned");
	printf("why: %s\n", out->reason[0] ? out->reason : out->reason_code);
	if (*hint != '\0')
		printf("to change: %s\n", hint);
	if (failed) {
		printf("the policy chose %zu signature%s, which could not be "
		    "made:\n", d->nsigs, d->nsigs == 1 ? "" : "s");
		for (size_t i = 0; i < d->nsigs; i++)
			print_signature(i, &d->specs[i], pm);
	}
	return defer ? EXPLAIN_DEFER : EXPLAIN_NOSIGN;
}

int
cmd_explain(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "vmta", required_argument, NULL, 'v' },
		{ "pool", required_argument, NULL, 'p' },
		{ "source", required_argument, NULL, 's' },
		{ "rcpt-domain", required_argument, NULL, 'r' },
		{ "mail-from", required_argument, NULL, 'm' },
		{ "time", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = NULL;
	vdkim_envelope env;
	vdkim_policy *p = NULL;
	size_t seen = 0;
	policy_message *pm = NULL, *ps = NULL;
	const vdkim_decision *d;
	policy_outcome res;
	time_t now = 0;
	int c, rc;

	memset(&env, 0, sizeof(env));
	env.size = sizeof(env);
	while ((c = cli_getopt("explain", argc, argv, opts)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'v': env.vmta = optarg; break;
		case 'p': env.pool = optarg; break;
		case 's': env.source = optarg; break;
		case 'r': env.rcpt_domain = optarg; break;
		case 'm': env.mail_from = optarg; break;
		case 't':
			if (cli_parse_time("explain", optarg, &now) != 0)
				return CLI_USAGE;
			break;
		default:
			return CLI_USAGE;
		}
	}
	if (optind != argc)
		return cli_fail("explain", CLI_USAGE, "unexpected argument "
		    "\"%s\" (the message is read from stdin)", argv[optind]);
	if (path == NULL || env.vmta == NULL)
		return cli_fail("explain", CLI_USAGE, "%s is missing",
		    path == NULL && env.vmta == NULL ? "--config FILE and "
		    "--vmta NAME are" : path == NULL ? "--config FILE" :
		    "--vmta NAME");
	if (now == 0)
		now = time(NULL);
	if ((rc = cli_policy_load_as("explain", path, CLI_LOAD_KEYS_ON_DEMAND,
	    &p)) != 0)
		goto out;
	seen = vdkim_policy_warning_count(p);
	if ((rc = cli_message_new("explain", p, &env, now, 1, &pm)) != 0 ||
	    (rc = cli_message_new("explain", p, &env, now, 0, &ps)) != 0 ||
	    (rc = explain_feed(pm, ps, stdin)) != 0)
		goto out;
	d = policy_message_decision(pm);
	policy_message_outcome(ps, &res);
	if (res.nsigned > 0) {
		printf("verdict: %s: the message would be signed (%zu "
		    "signature%s)\n", vdkim_verdict_name(VDKIM_VERDICT_SIGN),
		    res.nsigned, res.nsigned == 1 ? "" : "s");
		for (size_t i = 0; i < d->nsigs; i++)
			print_signature(i, &d->specs[i], pm);
		rc = EXPLAIN_SIGN;
	} else {
		rc = explain_unsigned(&res, d, pm);
	}
	if (d->verdict == VDKIM_VERDICT_SIGN && d->why != VDKIM_WHY_OK) {
		printf("note: %s: %s\n", vdkim_why_name(d->why), d->detail);
		if (*cli_why_hint(d->why) != '\0')
			printf("  to change: %s\n", cli_why_hint(d->why));
	}
	if (d->verdict == VDKIM_VERDICT_SIGN && !d->aligned &&
	    d->why != VDKIM_WHY_NOT_ALIGNED)
		printf("note: d=%s does not align with the From: domain "
		    "(DMARC)\n", d->specs[0].domain);
	if (d->strip_x_dkim_options) {
		size_t k = policy_message_removed_count(pm);

		printf("note: X-DKIM-Options removed before sending (%zu "
		    "field%s)\n", k, k == 1 ? "" : "s");
	}
	if (fflush(stdout) != 0) {
		rc = cli_fail("explain", CLI_IOERR, "cannot write: %s",
		    strerror(errno));
	}
out:
	/* The picked key's warnings, loaded on demand. */
	if (p != NULL)
		cli_policy_warnings("explain", p, &seen);
	policy_message_free(ps);
	policy_message_free(pm);
	vdkim_policy_unref(p);
	return rc;
}
