/*
 * cmd_sign.c - "vdkimctl sign": the message on stdin, signed on stdout.
 *
 * The input is streamed through the signer and spooled to an unlinked
 * temporary file at the same time, so memory stays flat whatever the size;
 * nothing is written to stdout until every signature is made.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "interval.h"
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
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char ***list = NULL;

		switch (c) {
		case 'd': o->domain = optarg; break;
		case 'i': o->identity = optarg; break;
		case 'l': o->body_length = 1; break;
		case 'T': o->no_timestamp = 1; break;
		case 's':
		case 'k':
			if ((c == 's' ? o->nsel : o->nkeys) ==
			    VDKIM_MAX_SIGNATURES)
				return cli_error("sign", "at most %d "
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
				return cli_error("sign", "--algorithm must be "
				    "rsa-sha256 or ed25519-sha256, not \"%s\"",
				    optarg);
			break;
		case 'c':
			if (parse_canon(optarg, o) != 0)
				return cli_error("sign", "--canon must be "
				    "HEADER/BODY with simple or relaxed, not "
				    "\"%s\"", optarg);
			break;
		case 'x':
			if (interval_parse(optarg, &o->expire_after) != 0 ||
			    o->expire_after == 0)
				return cli_error("sign", "--expire-after must "
				    "be an interval such as 3600, 30m, 12h, "
				    "7d, not \"%s\"", optarg);
			break;
		case 'h': list = &o->headers; break;
		case 'e': list = &o->extra; break;
		case 'o': list = &o->oversign; break;
		default:
			return cli_error("sign", "unknown option (see "
			    "vdkimctl help)");
		}
		if (list != NULL) {
			free(*list);
			*list = cli_split_list(optarg);
			if (*list == NULL)
				return cli_error("sign", "out of memory");
		}
	}
	if (optind != argc)
		return cli_error("sign", "unexpected argument \"%s\" (the "
		    "message is read from stdin)", argv[optind]);
	if (o->domain == NULL || o->nsel == 0 || o->nkeys == 0)
		return cli_error("sign", "--domain, --selector and --key are "
		    "required");
	if (o->nsel != o->nkeys)
		return cli_error("sign", "give one --selector for each --key "
		    "(%zu selectors, %zu keys)", o->nsel, o->nkeys);
	return 0;
}

/* An unlinked temporary file to hold the message while it is signed. */
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
	if (fd < 0)
		return NULL;
	unlink(path);
	f = fdopen(fd, "w+");
	if (f == NULL)
		close(fd);
	return f;
}

static int
emit(vdkim_signer *s, FILE *spool)
{
	char *buf = malloc(CHUNK);
	size_t n;
	int rc = 0;

	if (buf == NULL)
		return cli_error("sign", "out of memory");
	for (size_t i = 0; i < vdkim_signer_count(s); i++) {
		size_t len;
		const char *h = vdkim_signer_result(s, i, &len);
		rc |= cli_write(stdout, h, len);
	}
	rewind(spool);
	while ((n = fread(buf, 1, CHUNK, spool)) > 0)
		rc |= cli_write(stdout, buf, n);
	if (ferror(spool))
		rc = -1;
	/* The line end the message lacked, as SMTP will add it. */
	if (vdkim_signer_added_final_eol(s))
		rc |= cli_write(stdout, vdkim_signer_eol(s),
		    strlen(vdkim_signer_eol(s)));
	if (fflush(stdout) != 0)
		rc = -1;
	free(buf);
	return rc ? cli_error("sign", "cannot write the signed message: %s",
	    strerror(errno)) : 0;
}

int
cmd_sign(int argc, char **argv)
{
	struct sign_opts o;
	vdkim_key *keys[VDKIM_MAX_SIGNATURES] = { NULL };
	vdkim_signer *s = NULL;
	vdkim_error err;
	FILE *spool = NULL;
	char *buf = NULL;
	size_t n;
	int rc = 1;

	memset(&o, 0, sizeof(o));
	o.hcanon = o.bcanon = VDKIM_CANON_RELAXED;
	if (parse_options(argc, argv, &o) != 0)
		goto out;
	for (size_t i = 0; i < o.nkeys; i++) {
		vdkim_sig_spec spec;

		if (vdkim_key_load_file(o.keys[i], &keys[i], &err) != VDKIM_OK) {
			cli_error("sign", "%s", err.msg);
			goto out;
		}
		if (vdkim_key_warning(keys[i]) != NULL)
			fprintf(stderr, "vdkimctl sign: warning: %s\n",
			    vdkim_key_warning(keys[i]));
		if (o.alg != VDKIM_ALG_NONE &&
		    vdkim_key_get_alg(keys[i]) != o.alg) {
			cli_error("sign", "%s makes %s signatures, but "
			    "--algorithm %s was asked for", o.keys[i],
			    vdkim_alg_name(vdkim_key_get_alg(keys[i])),
			    vdkim_alg_name(o.alg));
			goto out;
		}
		if (s == NULL && vdkim_signer_new(&s, &err) != VDKIM_OK) {
			cli_error("sign", "%s", err.msg);
			goto out;
		}
		vdkim_sig_spec_init(&spec);
		spec.key = keys[i];
		spec.domain = o.domain;
		spec.selector = o.selectors[i];
		spec.identity = o.identity;
		spec.header_canon = o.hcanon;
		spec.body_canon = o.bcanon;
		spec.headers = (const char *const *)o.headers;
		spec.extra_headers = (const char *const *)o.extra;
		spec.oversign = (const char *const *)o.oversign;
		spec.expire_after = o.expire_after;
		spec.body_length = o.body_length;
		spec.add_timestamp = !o.no_timestamp;
		if (vdkim_signer_add(s, &spec, &err) != VDKIM_OK) {
			cli_error("sign", "%s", err.msg);
			goto out;
		}
	}
	spool = spool_open();
	buf = malloc(CHUNK);
	if (spool == NULL || buf == NULL) {
		cli_error("sign", "cannot create a temporary file: %s",
		    strerror(errno));
		goto out;
	}
	while ((n = fread(buf, 1, CHUNK, stdin)) > 0) {
		if (fwrite(buf, 1, n, spool) != n) {
			cli_error("sign", "cannot spool the message: %s",
			    strerror(errno));
			goto out;
		}
		if (vdkim_signer_message(s, buf, n, &err) != VDKIM_OK) {
			cli_error("sign", "%s", err.msg);
			goto out;
		}
	}
	if (ferror(stdin)) {
		cli_error("sign", "cannot read the message: %s",
		    strerror(errno));
		goto out;
	}
	if (vdkim_signer_eom(s, &err) != VDKIM_OK) {
		cli_error("sign", "%s", err.msg);
		goto out;
	}
	rc = emit(s, spool);
out:
	free(buf);
	if (spool != NULL)
		fclose(spool);
	vdkim_signer_free(s);
	for (size_t i = 0; i < VDKIM_MAX_SIGNATURES; i++)
		vdkim_key_unref(keys[i]);
	free(o.headers);
	free(o.extra);
	free(o.oversign);
	return rc;
}
