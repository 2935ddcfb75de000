/*
 * cmd_sign.c - "vdkimctl sign": the message on stdin, signed on stdout.
 *
 * The input is streamed through the signer and spooled to an unlinked
 * temporary file at the same time, so memory stays flat whatever the size;
 * nothing is written to stdout until every signature is made.
 *
 * The signatures are those the options name (--domain, --selector, --key),
 * or those the policy decides (--config, --vmta): then the message goes
 * through the module's message path (policy_message), which decides at
 * the end of the header and signs the rest as it streams; X-DKIM-Options
 * fields are left out of both the signed and the written message when the
 * decision says so.  What is written and the exit status follow the
 * path's outcome, the answer vdkim.so gives the MTA for the same message:
 * not signed (by choice or because the signature could not be made, a
 * device out of reach) is the message unchanged and exit 0, deferred is
 * nothing and exit 75.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "interval.h"
#include "strbuf.h"
#include "vdkim/dkim.h"

#define CHUNK (64 * 1024)

struct sign_opts {
	const char *domain, *identity;
	const char *selectors[VDKIM_MAX_SIGNATURES];
	const char *keys[VDKIM_MAX_SIGNATURES];
	size_t nsel, nkeys;
	vdkim_alg alg;
	vdkim_canon hcanon, bcanon;
	char **headers, **extra, **oversign;
	long expire_after;
	int body_length, no_timestamp;
	int explicit_opts;     /* an option --config cannot go with */
	const char *config;    /* sign by policy */
	time_t now;            /* --time: the clock the policy decides by */
	vdkim_envelope env;
	int env_opts;          /* an option that needs --config */
};

static int
parse_canon(const char *arg, struct sign_opts *o)
{
	char h[16];
	const char *slash = strchr(arg, '/');
	size_t hl = slash ? (size_t)(slash - arg) : strlen(arg);

	if (hl >= sizeof(h))
		return -1;
	memcpy(h, arg, hl);
	h[hl] = '\0';
	if (vdkim_canon_from_name(h, &o->hcanon) != 0)
		return -1;
	/* "relaxed" alone means relaxed/simple, as in c= (RFC 6376 3.5). */
	o->bcanon = VDKIM_CANON_SIMPLE;
	return slash ? vdkim_canon_from_name(slash + 1, &o->bcanon) : 0;
}

static int
parse_options(int argc, char **argv, struct sign_opts *o)
{
	static const struct option opts[] = {
		{ "domain", required_argument, NULL, 'd' },
		{ "selector", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ "algorithm", required_argument, NULL, 'a' },
		{ "canon", required_argument, NULL, 'c' },
		{ "headers", required_argument, NULL, 'h' },
		{ "extra-headers", required_argument, NULL, 'e' },
		{ "oversign", required_argument, NULL, 'o' },
		{ "identity", required_argument, NULL, 'i' },
		{ "expire-after", required_argument, NULL, 'x' },
		{ "body-length", no_argument, NULL, 'l' },
		{ "no-timestamp", no_argument, NULL, 'T' },
		{ "config", required_argument, NULL, 'C' },
		{ "vmta", required_argument, NULL, 'V' },
		{ "pool", required_argument, NULL, 'P' },
		{ "source", required_argument, NULL, 'S' },
		{ "rcpt-domain", required_argument, NULL, 'R' },
		{ "mail-from", required_argument, NULL, 'M' },
		{ "time", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = cli_getopt("sign", argc, argv, opts)) != -1) {
		char ***list = NULL;

		o->explicit_opts |= strchr("CVPSRMN", c) == NULL;
		o->env_opts |= strchr("VPSRMN", c) != NULL;
		switch (c) {
		case 'C': o->config = optarg; break;
		case 'V': o->env.vmta = optarg; break;
		case 'P': o->env.pool = optarg; break;
		case 'S': o->env.source = optarg; break;
		case 'R': o->env.rcpt_domain = optarg; break;
		case 'M': o->env.mail_from = optarg; break;
		case 'N':
			if (cli_parse_time("sign", optarg, &o->now) != 0)
				return CLI_USAGE;
			break;
		case 'd': o->domain = optarg; break;
		case 'i': o->identity = optarg; break;
		case 'l': o->body_length = 1; break;
		case 'T': o->no_timestamp = 1; break;
		case 's':
		case 'k':
			if ((c == 's' ? o->nsel : o->nkeys) ==
			    VDKIM_MAX_SIGNATURES)
				return cli_fail("sign", CLI_USAGE, "at most %d "
				    "signatures", VDKIM_MAX_SIGNATURES);
			if (c == 's')
				o->selectors[o->nsel++] = optarg;
			else
				o->keys[o->nkeys++] = optarg;
			break;
		case 'a':
			o->alg = vdkim_alg_from_name(optarg);
			if (o->alg != VDKIM_ALG_RSA_SHA256 &&
			    o->alg != VDKIM_ALG_ED25519_SHA256)
				return cli_fail("sign", CLI_USAGE,
				    "--algorithm must be "
				    "rsa-sha256 or ed25519-sha256, not \"%s\"",
				    optarg);
			break;
		case 'c':
			if (parse_canon(optarg, o) != 0)
				return cli_fail("sign", CLI_USAGE,
				    "--canon must be "
				    "HEADER/BODY with simple or relaxed, not "
				    "\"%s\"", optarg);
			break;
		case 'x':
			if (interval_parse(optarg, &o->expire_after) != 0 ||
			    o->expire_after == 0)
				return cli_fail("sign", CLI_USAGE,
				    "--expire-after must "
				    "be an interval such as 3600, 30m, 12h, "
				    "7d, not \"%s\"", optarg);
			break;
		case 'h': list = &o->headers; break;
		case 'e': list = &o->extra; break;
		case 'o': list = &o->oversign; break;
		default:
			return CLI_USAGE;
		}
		if (list != NULL) {
			free(*list);
			*list = cli_split_list(optarg);
			if (*list == NULL)
				return cli_fail("sign", CLI_OSERR,
				    "out of memory");
		}
	}
	if (optind != argc)
		return cli_fail("sign", CLI_USAGE,
		    "unexpected argument \"%s\" (the "
		    "message is read from stdin)", argv[optind]);
	if (o->config != NULL) {
		if (o->explicit_opts)
			return cli_fail("sign", CLI_USAGE,
			    "with --config the policy "
			    "chooses the signatures: --domain, --selector, "
			    "--key and the signature options do not apply");
		if (o->env.vmta == NULL)
			return cli_fail("sign", CLI_USAGE,
			    "--config needs --vmta");
		return 0;
	}
	if (o->env_opts)
		return cli_fail("sign", CLI_USAGE, "--vmta, --pool, --source, "
		    "--rcpt-domain, --mail-from and --time go with --config");
	if (o->domain == NULL || o->nsel == 0 || o->nkeys == 0)
		return cli_fail("sign", CLI_USAGE,
		    "--domain, --selector and --key are "
		    "required");
	if (o->nsel != o->nkeys)
		return cli_fail("sign", CLI_USAGE,
		    "give one --selector for each --key "
		    "(%zu selectors, %zu keys)", o->nsel, o->nkeys);
	return 0;
}

/* An unlinked temporary file to hold the message while it is signed;
 * NULL after saying why. */
static FILE *
spool_open(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;
	FILE *f;

	snprintf(path, sizeof(path), "%s/vdkimctl.XXXXXX",
	    dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd >= 0)
		unlink(path);
	f = fd >= 0 ? fdopen(fd, "w+") : NULL;
	if (f == NULL) {
		cli_fail("sign", CLI_CANTCREAT,
		    "cannot create a temporary file: %s",
		    strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return f;
}

/* Moves to the spool's end, where pump() appends what stdin still has. */
static int
spool_seek_end(FILE *spool)
{
	if (fseek(spool, 0, SEEK_END) == 0)
		return 0;
	return cli_fail("sign", CLI_CANTCREAT, "cannot spool the message: %s",
	    strerror(errno));
}

/* Where pump() hands the bytes it reads: 0, or the exit status after
 * saying why. */
typedef int (*sink_fn)(void *ctx, const char *data, size_t len);

static int
to_signer(void *ctx, const char *data, size_t len)
{
	vdkim_error err;

	if (vdkim_signer_message(ctx, data, len, &err) == VDKIM_OK)
		return 0;
	return cli_fail("sign", cli_exit_for(err.rc), "%s", err.msg);
}

static int
to_message(void *ctx, const char *data, size_t len)
{
	if (policy_message_chunk(ctx, data, len) == VDKIM_OK)
		return 0;
	return cli_fail("sign", CLI_DATA, "%s", policy_message_error(ctx));
}

/*
 * Copies the whole spool to stdout, leaving out the fields strip removes
 * (NULL: none).  Returns 0, 1 when the spool cannot be read, -1 when
 * stdout fails.
 */
static int
spool_copy(FILE *spool, const policy_message *strip)
{
	size_t nskip = strip != NULL ? policy_message_removed_count(strip) : 0;
	size_t pos = 0, n, k = 0, off = 0, len = 0;
	char *buf = malloc(CHUNK);
	int rc = 0;

	if (buf == NULL)
		return 1;
	if (nskip > 0)
		policy_message_removed(strip, 0, &off, &len);
	rewind(spool);
	while (rc == 0 && (n = fread(buf, 1, CHUNK, spool)) > 0) {
		size_t i = 0;

		while (rc == 0 && i < n) {
			size_t at = pos + i, run = n - i;

			if (k < nskip && off + len <= at) {
				/* Past the field k: on to the next one. */
				if (++k < nskip)
					policy_message_removed(strip, k, &off,
					    &len);
				continue;
			}
			if (k < nskip && off <= at) {
				size_t skip = off + len - at;
				i += skip < run ? skip : run;
				continue;
			}
			if (k < nskip && off - at < run)
				run = off - at;
			if (cli_write(stdout, buf + i, run) != 0)
				rc = -1;
			i += run;
		}
		pos += n;
	}
	if (rc == 0 && ferror(spool))
		rc = 1;
	free(buf);
	return rc;
}

/* Writes the signatures, then the spooled message without the fields of
 * strip, then eol: the line end the message lacked, as SMTP will add it
 * (the signatures cover it). */
static int
emit(const char *sigs, size_t siglen, FILE *spool,
    const policy_message *strip, const char *eol)
{
	int rc = cli_write(stdout, sigs, siglen);

	if (rc == 0) {
		int crc = spool_copy(spool, strip);
		if (crc == 1)
			return cli_fail("sign", CLI_IOERR,
			    "cannot read the spooled "
			    "message: %s", strerror(errno));
		rc = crc;
	}
	rc |= cli_write(stdout, eol, strlen(eol));
	if (fflush(stdout) != 0)
		rc = -1;
	return rc ? cli_fail("sign", CLI_IOERR,
	    "cannot write the signed message: %s",
	    strerror(errno)) : 0;
}

/* Reads the rest of stdin into the spool and through sink.  Returns 0, or
 * the exit status after saying why. */
static int
pump(FILE *spool, sink_fn sink, void *ctx)
{
	char *buf = malloc(CHUNK);
	size_t n;
	int rc;

	if (buf == NULL)
		return cli_fail("sign", CLI_OSERR, "out of memory");
	while ((n = fread(buf, 1, CHUNK, stdin)) > 0) {
		if (fwrite(buf, 1, n, spool) != n) {
			rc = cli_fail("sign", CLI_CANTCREAT,
			    "cannot spool the message: %s",
			    strerror(errno));
			goto out;
		}
		if ((rc = sink(ctx, buf, n)) != 0)
			goto out;
	}
	if (ferror(stdin)) {
		rc = cli_fail("sign", CLI_IOERR, "cannot read the message: %s",
		    strerror(errno));
		goto out;
	}
	if (fflush(spool) != 0) {
		rc = cli_fail("sign", CLI_CANTCREAT,
		    "cannot spool the message: %s",
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

/* The message through s, then the signatures and the message on
 * stdout. */
static int
finish(vdkim_signer *s, FILE *spool)
{
	vdkim_error err;
	strbuf sigs;
	int rc;

	if ((rc = pump(spool, to_signer, s)) != 0)
		return rc;
	if (vdkim_signer_eom(s, &err) != VDKIM_OK)
		return cli_fail("sign", cli_exit_for(err.rc), "%s", err.msg);
	sb_init(&sigs);
	for (size_t i = 0; i < vdkim_signer_count(s); i++) {
		size_t len;
		const char *h = vdkim_signer_result(s, i, &len);
		sb_add(&sigs, h, len);
	}
	if (sigs.failed) {
		sb_free(&sigs);
		return cli_fail("sign", CLI_OSERR, "out of memory");
	}
	rc = emit(sigs.s != NULL ? sigs.s : "", sigs.len, spool, NULL,
	    vdkim_signer_added_final_eol(s) ? vdkim_signer_eol(s) : "");
	sb_free(&sigs);
	return rc;
}

static int
sign_explicit(const struct sign_opts *o)
{
	vdkim_key *keys[VDKIM_MAX_SIGNATURES] = { NULL };
	vdkim_signer *s = NULL;
	vdkim_error err;
	FILE *spool = NULL;
	int rc = CLI_SOFTWARE;

	for (size_t i = 0; i < o->nkeys; i++) {
		vdkim_sig_spec spec;

		if (vdkim_key_load_file(o->keys[i], &keys[i], &err) !=
		    VDKIM_OK) {
			rc = cli_fail("sign", cli_exit_for(err.rc),
			    "%s", err.msg);
			goto out;
		}
		if (vdkim_key_warning(keys[i]) != NULL)
			fprintf(stderr, "vdkimctl sign: warning: %s\n",
			    vdkim_key_warning(keys[i]));
		if (o->alg != VDKIM_ALG_NONE &&
		    vdkim_key_get_alg(keys[i]) != o->alg) {
			rc = cli_fail("sign", CLI_DATA,
			    "%s makes %s signatures, but "
			    "--algorithm %s was asked for", o->keys[i],
			    vdkim_alg_name(vdkim_key_get_alg(keys[i])),
			    vdkim_alg_name(o->alg));
			goto out;
		}
		if (s == NULL && vdkim_signer_new(&s, &err) != VDKIM_OK) {
			rc = cli_fail("sign", cli_exit_for(err.rc),
			    "%s", err.msg);
			goto out;
		}
		vdkim_sig_spec_init(&spec);
		spec.key = keys[i];
		spec.domain = o->domain;
		spec.selector = o->selectors[i];
		spec.identity = o->identity;
		spec.header_canon = o->hcanon;
		spec.body_canon = o->bcanon;
		spec.headers = (const char *const *)o->headers;
		spec.extra_headers = (const char *const *)o->extra;
		spec.oversign = (const char *const *)o->oversign;
		spec.expire_after = o->expire_after;
		spec.body_length = o->body_length;
		spec.add_timestamp = !o->no_timestamp;
		if (vdkim_signer_add(s, &spec, &err) != VDKIM_OK) {
			rc = cli_fail("sign", cli_exit_for(err.rc),
			    "%s", err.msg);
			goto out;
		}
	}
	spool = spool_open();
	rc = spool != NULL ? finish(s, spool) : CLI_CANTCREAT;
out:
	if (spool != NULL)
		fclose(spool);
	vdkim_signer_free(s);
	for (size_t i = 0; i < VDKIM_MAX_SIGNATURES; i++)
		vdkim_key_unref(keys[i]);
	return rc;
}

/*
 * What the message path answered, as vdkim.so would tell the MTA, turned
 * into the command's output: signed or not signed, the message on stdout
 * (exit 0); deferred, nothing written (exit EX_TEMPFAIL).  Every answer
 * but a clean signature says why on stderr, with its reason code.  (A
 * refusal is an answer at the door only; vdkimctl's message runs as
 * pre-delivery, so it would be an error here.)  The same rule
 * holds whether the policy chose not to sign or the signature could not
 * be made (a device out of reach, a failed signing): the outcome is one.
 */
static int
answer(policy_message *pm, FILE *spool)
{
	policy_outcome out;
	const char *sigs;
	size_t siglen;

	policy_message_outcome(pm, &out);
	switch (out.action) {
	case POLICY_ACTION_DEFER:
		fprintf(stderr, "vdkimctl sign: deferred (%s): %s\n",
		    out.reason_code, out.reason);
		return EX_TEMPFAIL;
	case POLICY_ACTION_REJECT:
		return cli_fail("sign", CLI_DATA,
		    "refused (%s): %s", out.reason_code,
		    out.reason);
	case POLICY_ACTION_CONTINUE:
		break;
	}
	if (out.nsigned == 0)
		fprintf(stderr, "vdkimctl sign: not signed (%s): %s\n",
		    out.reason_code, out.reason);
	else if (strcmp(out.reason_code, vdkim_why_name(VDKIM_WHY_OK)) != 0)
		fprintf(stderr, "vdkimctl sign: note (%s): %s\n",
		    out.reason_code, out.reason);
	/* Unsigned, the message goes as vdkim.so lets it go: without the
	 * X-DKIM-Options fields when the decision removes them. */
	sigs = policy_message_signatures(pm, &siglen);
	return emit(sigs, siglen, spool, pm, policy_message_final_eol(pm));
}

/*
 * Signs as the policy decides, through the module's own message path
 * (policy_message, as vdkim.so does), and answers as vdkim.so would
 * (answer()).  The message is read whole, spooled and fed; only a
 * message the engine cannot read stops it early (an error, as a refusal
 * at the door).
 */
static int
sign_by_policy(const struct sign_opts *o)
{
	vdkim_policy *p = NULL;
	policy_message *pm = NULL;
	FILE *spool = NULL;
	size_t seen = 0;
	int rc;

	/* --time moves the policy's clock (which rotating selector signs);
	 * t= stays the real time of signing. */
	if ((rc = cli_policy_load_as("sign", o->config,
	    CLI_LOAD_KEYS_ON_DEMAND, &p)) != 0)
		goto out;
	seen = vdkim_policy_warning_count(p);
	if ((rc = cli_message_new("sign", p, &o->env, o->now, 0, &pm)) != 0)
		goto out;
	spool = spool_open();
	if (spool == NULL) {
		rc = CLI_CANTCREAT;
		goto out;
	}
	if ((rc = cli_message_decide("sign", pm, stdin, spool)) != 0)
		goto out;
	/* The rest of the message, through the path and into the spool. */
	if ((rc = spool_seek_end(spool)) != 0 ||
	    (rc = pump(spool, to_message, pm)) != 0)
		goto out;
	(void)policy_message_eom(pm); /* the outcome says how it went */
	rc = answer(pm, spool);
out:
	/* The picked key's warnings, loaded on demand. */
	if (p != NULL)
		cli_policy_warnings("sign", p, &seen);
	if (spool != NULL)
		fclose(spool);
	policy_message_free(pm);
	vdkim_policy_unref(p);
	return rc;
}

int
cmd_sign(int argc, char **argv)
{
	struct sign_opts o;
	int rc;

	memset(&o, 0, sizeof(o));
	o.hcanon = o.bcanon = VDKIM_CANON_RELAXED;
	o.env.size = sizeof(o.env);
	if ((rc = parse_options(argc, argv, &o)) == 0)
		rc = o.config != NULL ? sign_by_policy(&o) : sign_explicit(&o);
	free(o.headers);
	free(o.extra);
	free(o.oversign);
	return rc;
}
