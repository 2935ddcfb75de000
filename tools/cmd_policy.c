/*
 * cmd_policy.c - the signing policy from the operator's side:
 * "vdkimctl config-test" (is vdkim.conf usable, and what does it mean) and
 * "vdkimctl explain" (what would the policy do with this message, and
 * why), plus what "vdkimctl sign --config" shares with them: reading a
 * message's header and loading a policy.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "error.h"
#include "msg_split.h"
#include "vdkim/dkim.h"
#include "vdkim/policy.h"

#define CHUNK (64 * 1024)
#define DEFAULT_CONFIG "/etc/vdkim/vdkim.conf"

/* explain's exit statuses. */
#define EXPLAIN_SIGN 0
#define EXPLAIN_NOSIGN 1
#define EXPLAIN_DEFER 2
#define EXPLAIN_ERROR 3

/* ------------------------------------------------------ reading a header */

static int
is_options_field(const char *f, size_t len)
{
	static const char name[] = "X-DKIM-Options";
	size_t nl = sizeof(name) - 1, i = nl;

	if (len <= nl || strncasecmp(f, name, nl) != 0)
		return 0;
	while (i < len && (f[i] == ' ' || f[i] == '\t'))
		i++;
	return i < len && f[i] == ':';
}

static vdkim_rc
head_field(void *ctx, const char *field, size_t len, vdkim_error *err)
{
	cli_head *h = ctx;
	size_t vlen = len;
	char *copy;

	if (h->n >= VDKIM_MAX_HEADER_FIELDS)
		return vdkim_fail(err, VDKIM_ELIMIT, "the message has more "
		    "than %d header fields", VDKIM_MAX_HEADER_FIELDS);
	if (h->bytes + len > VDKIM_MAX_HEADER_BYTES)
		return vdkim_fail(err, VDKIM_ELIMIT, "the message header is "
		    "larger than %d bytes", VDKIM_MAX_HEADER_BYTES);
	if (h->n == h->cap) {
		size_t ncap = h->cap ? h->cap * 2 : 32;
		vdkim_header *nf = realloc(h->fields, ncap * sizeof(*nf));
		long *no;
		size_t *nr;
		unsigned char *nx;

		if (nf != NULL)
			h->fields = nf;
		no = nf ? realloc(h->offset, ncap * sizeof(*no)) : NULL;
		if (no != NULL)
			h->offset = no;
		nr = no ? realloc(h->rawlen, ncap * sizeof(*nr)) : NULL;
		if (nr != NULL)
			h->rawlen = nr;
		nx = nr ? realloc(h->is_options, ncap) : NULL;
		if (nx == NULL)
			return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
		h->is_options = nx;
		h->cap = ncap;
	}
	/* "Name: value" as in the message, without its last line end. */
	if (vlen > 0 && field[vlen - 1] == '\n')
		vlen--;
	if (vlen > 0 && field[vlen - 1] == '\r')
		vlen--;
	copy = malloc(vlen + 1);
	if (copy == NULL)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	memcpy(copy, field, vlen);
	copy[vlen] = '\0';
	h->fields[h->n].field = copy;
	h->fields[h->n].len = vlen;
	/* The splitter holds every header byte but the empty line, so the
	 * fields lie end to end from the first byte of the message. */
	h->offset[h->n] = (long)h->bytes;
	h->rawlen[h->n] = len;
	h->is_options[h->n] = (unsigned char)is_options_field(field, vlen);
	h->n++;
	h->bytes += len;
	return VDKIM_OK;
}

static vdkim_rc
head_eoh(void *ctx, vdkim_error *err)
{
	(void)err;
	((cli_head *)ctx)->complete = 1;
	return VDKIM_OK;
}

static vdkim_rc
head_body(void *ctx, const void *data, size_t len, vdkim_error *err)
{
	(void)ctx;
	(void)data;
	(void)len;
	(void)err;
	return VDKIM_OK;
}

static const msg_split_ops head_ops = { head_field, head_eoh, head_body };

int
cli_head_read(const char *cmd, FILE *in, FILE *copy, cli_head *h)
{
	msg_split split;
	vdkim_error err;
	char *buf = malloc(CHUNK);
	size_t n;
	int rc = 1;

	memset(h, 0, sizeof(*h));
	msg_split_init(&split, &head_ops, h);
	if (buf == NULL) {
		cli_error(cmd, "out of memory");
		goto out;
	}
	while (!h->complete && (n = fread(buf, 1, CHUNK, in)) > 0) {
		if (copy != NULL && fwrite(buf, 1, n, copy) != n) {
			cli_error(cmd, "cannot spool the message: %s",
			    strerror(errno));
			goto out;
		}
		if (msg_split_feed(&split, buf, n, &err) != VDKIM_OK) {
			cli_error(cmd, "%s", err.msg);
			goto out;
		}
	}
	if (ferror(in)) {
		cli_error(cmd, "cannot read the message: %s", strerror(errno));
		goto out;
	}
	if (!h->complete && msg_split_finish(&split, &err) != VDKIM_OK) {
		cli_error(cmd, "%s", err.msg);
		goto out;
	}
	rc = 0;
out:
	msg_split_free(&split);
	free(buf);
	return rc;
}

void
cli_head_free(cli_head *h)
{
	for (size_t i = 0; i < h->n; i++)
		free((char *)h->fields[i].field);
	free(h->fields);
	free(h->offset);
	free(h->rawlen);
	free(h->is_options);
	memset(h, 0, sizeof(*h));
}

/* ------------------------------------------------------------- policies */

int
cli_policy_load(const char *cmd, const char *path, vdkim_policy **out)
{
	vdkim_error err;

	if (vdkim_policy_load_skipping(path, cli_host_blocks, out, &err) !=
	    VDKIM_OK)
		return cli_error(cmd, "%s", err.msg);
	for (size_t i = 0; i < vdkim_policy_warning_count(*out); i++)
		fprintf(stderr, "vdkimctl %s: %s: %s\n", cmd,
		    vdkim_policy_warning_is_error(*out, i) ? "error" :
		    "warning", vdkim_policy_warning(*out, i));
	return 0;
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
		    "if this source may choose keys";
	case VDKIM_WHY_OPTIONS_INVALID:
		return "fix the X-DKIM-Options field (s=, d=, i=, key-list=)";
	case VDKIM_WHY_OPTIONS_NO_KEY:
		return "make X-DKIM-Options name a loaded key, or add it "
		    "(domain-key, domain-key-list)";
	case VDKIM_WHY_BAD_MESSAGE:
		return "fix the message's From:/Sender: fields";
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
		{ NULL, 0, NULL, 0 }
	};
	const char *path = DEFAULT_CONFIG;
	vdkim_policy *p = NULL;
	vdkim_error err;
	char *text = NULL;
	size_t nerr = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'c')
			return cli_error("config-test", "unknown option (see "
			    "vdkimctl help)");
		path = optarg;
	}
	if (optind != argc)
		return cli_error("config-test", "unexpected argument \"%s\" "
		    "(use --config FILE)", argv[optind]);
	if (vdkim_policy_load_skipping(path, cli_host_blocks, &p, &err) !=
	    VDKIM_OK) {
		printf("error: %s\nconfig has 1 error(s)\n", err.msg);
		return 1;
	}
	for (size_t i = 0; i < vdkim_policy_warning_count(p); i++) {
		int is_error = vdkim_policy_warning_is_error(p, i);

		printf("%s: %s\n", is_error ? "error" : "warning",
		    vdkim_policy_warning(p, i));
		nerr += is_error != 0;
	}
	if (vdkim_policy_describe(p, &text, &err) != VDKIM_OK) {
		vdkim_policy_unref(p);
		return cli_error("config-test", "%s", err.msg);
	}
	fputs(text, stdout);
	if (*text != '\0' && text[strlen(text) - 1] != '\n')
		putchar('\n');
	free(text);
	vdkim_policy_unref(p);
	if (nerr == 0)
		printf("config OK\n");
	else
		printf("config has %zu error(s)\n", nerr);
	if (fflush(stdout) != 0)
		return cli_error("config-test", "cannot write: %s",
		    strerror(errno));
	return nerr == 0 ? 0 : 1;
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

static int
head_has(const cli_head *h, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < h->n; i++) {
		const char *f = h->fields[i].field;
		size_t k = nl;

		if (h->fields[i].len <= nl || strncasecmp(f, name, nl) != 0)
			continue;
		while (k < h->fields[i].len && (f[k] == ' ' || f[k] == '\t'))
			k++;
		if (k < h->fields[i].len && f[k] == ':')
			return 1;
	}
	return 0;
}

/* The names of list the message has (those h= will hold). */
static void
print_present(const char *const *list, const cli_head *h)
{
	size_t n = 0;

	for (size_t i = 0; list[i] != NULL; i++)
		if (head_has(h, list[i]))
			printf("%s%s", n++ ? ", " : "", list[i]);
	if (n == 0)
		printf("none");
}

static void
print_signature(size_t i, const vdkim_sig_spec *sp, const cli_head *h)
{
	const char *const *set = sp->headers ? sp->headers :
	    vdkim_default_headers();

	printf("signature %zu: d=%s s=%s i=%s\n", i + 1, sp->domain,
	    sp->selector, sp->identity ? sp->identity : "none");
	printf("  algorithm:        %s", vdkim_alg_name(vdkim_key_get_alg(
	    sp->key)));
	if (vdkim_key_get_type(sp->key) == VDKIM_KEY_RSA)
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
	print_present(set, h);
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
	vdkim_decision *d = NULL;
	vdkim_error err;
	cli_head head;
	time_t now = 0;
	int c, rc = EXPLAIN_ERROR;

	memset(&env, 0, sizeof(env));
	memset(&head, 0, sizeof(head));
	env.size = sizeof(env);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'v': env.vmta = optarg; break;
		case 'p': env.pool = optarg; break;
		case 's': env.source = optarg; break;
		case 'r': env.rcpt_domain = optarg; break;
		case 'm': env.mail_from = optarg; break;
		case 't':
			if (cli_parse_time("explain", optarg, &now) != 0)
				return EXPLAIN_ERROR;
			break;
		default:
			cli_error("explain", "unknown option (see vdkimctl "
			    "help)");
			return EXPLAIN_ERROR;
		}
	}
	if (optind != argc) {
		cli_error("explain", "unexpected argument \"%s\" (the message "
		    "is read from stdin)", argv[optind]);
		return EXPLAIN_ERROR;
	}
	if (path == NULL || env.vmta == NULL) {
		cli_error("explain", "--config and --vmta are required");
		return EXPLAIN_ERROR;
	}
	if (now == 0)
		now = time(NULL);
	d = malloc(sizeof(*d));
	if (d == NULL) {
		cli_error("explain", "out of memory");
		return EXPLAIN_ERROR;
	}
	if (cli_policy_load("explain", path, &p) != 0 ||
	    cli_head_read("explain", stdin, NULL, &head) != 0)
		goto out;
	if (vdkim_policy_decide(p, &env, head.fields, head.n, now, d, &err) !=
	    VDKIM_OK) {
		cli_error("explain", "%s", err.msg);
		goto out;
	}
	switch (d->verdict) {
	case VDKIM_VERDICT_SIGN:
		printf("verdict: %s: the message would be signed (%zu "
		    "signature%s)\n", vdkim_verdict_name(d->verdict),
		    d->nsigs, d->nsigs == 1 ? "" : "s");
		for (size_t i = 0; i < d->nsigs; i++)
			print_signature(i, &d->specs[i], &head);
		rc = EXPLAIN_SIGN;
		break;
	case VDKIM_VERDICT_NOSIGN:
	case VDKIM_VERDICT_DEFER:
		printf("verdict: %s (%s): %s\n", vdkim_verdict_name(d->verdict),
		    vdkim_why_name(d->why),
		    d->verdict == VDKIM_VERDICT_DEFER ? "the message would be "
		    "deferred, not sent unsigned (dkim-require yes)" :
		    "the message would be sent unsigned");
		printf("why: %s\n", d->detail[0] ? d->detail :
		    vdkim_why_name(d->why));
		if (*cli_why_hint(d->why) != '\0')
			printf("to change: %s\n", cli_why_hint(d->why));
		rc = d->verdict == VDKIM_VERDICT_DEFER ? EXPLAIN_DEFER :
		    EXPLAIN_NOSIGN;
		break;
	default:
		cli_error("explain", "unknown verdict %d", (int)d->verdict);
		goto out;
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
		size_t k = 0;

		for (size_t i = 0; i < head.n; i++)
			k += head.is_options[i];
		printf("note: X-DKIM-Options removed before sending (%zu "
		    "field%s)\n", k, k == 1 ? "" : "s");
	}
	if (fflush(stdout) != 0) {
		cli_error("explain", "cannot write: %s", strerror(errno));
		rc = EXPLAIN_ERROR;
	}
out:
	cli_head_free(&head);
	free(d);
	vdkim_policy_unref(p);
	return rc;
}
