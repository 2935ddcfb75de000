/*
 * cmd_verify.c - "vdkimctl verify": one Authentication-Results-style line
 * per signature of the message on stdin.
 *
 * Keys come from DNS, or, with --key NAME=FILE, only from the files given:
 * a private key (its public half is published), a public key in PEM, or a
 * TXT record (a zone-file line as keygen writes it, or the bare value).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base64.h"
#include "cli.h"
#include "file_read.h"
#include "vdkim/dkim.h"

#define CHUNK (64 * 1024)
#define RECORD_FILE_MAX (64 * 1024)

/* Joins the quoted strings of a zone-file line; copies a bare value. */
static char *
record_from_text(const char *text)
{
	size_t n = strlen(text);
	char *out = malloc(n + 1), *w = out;
	const char *p = strchr(text, '"');

	if (out == NULL)
		return NULL;
	if (p == NULL) {
		/* A bare value: drop the line ends. */
		for (; *text != '\0'; text++)
			if (*text != '\n' && *text != '\r')
				*w++ = *text;
		*w = '\0';
		return out;
	}
	while (p != NULL) {
		const char *q = strchr(p + 1, '"');
		if (q == NULL)
			break;
		memcpy(w, p + 1, (size_t)(q - p - 1));
		w += q - p - 1;
		p = strchr(q + 1, '"');
	}
	*w = '\0';
	return out;
}

/* The record for a public key in PEM. */
static char *
record_from_public_pem(const char *pem, size_t len, char *why, size_t wl)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL, raw[32];
	const unsigned char *pub = raw;
	size_t publen = sizeof(raw);
	const char *k = "rsa";
	char *out = NULL;
	int n;

	BIO_free(bio);
	if (pk == NULL) {
		snprintf(why, wl, "not a readable public key");
		return NULL;
	}
	if (EVP_PKEY_is_a(pk, "ED25519")) {
		k = "ed25519";
		if (EVP_PKEY_get_raw_public_key(pk, raw, &publen) != 1)
			publen = 0;
	} else if ((n = i2d_PUBKEY(pk, &der)) > 0) {
		pub = der;
		publen = (size_t)n;
	} else {
		publen = 0;
	}
	if (publen > 0 && (out = malloc(32 + base64_encoded_len(publen)))) {
		n = sprintf(out, "v=DKIM1; k=%s; p=", k);
		base64_encode(pub, publen, out + n);
	} else {
		snprintf(why, wl, "cannot encode the public key");
	}
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
	return out;
}

/* The record a --key file gives: a DNS TXT value, a public key (PEM) or
 * the private key (PEM), whose public half it then is.  A FIFO, a folder
 * or a file that cannot be read is an error naming it, never an empty
 * record. */
static char *
record_from_file(const char *path, char *why, size_t wl)
{
	vdkim_file f;
	vdkim_error err;
	char *buf, *rec = NULL;
	size_t n;

	if (vdkim_file_read(AT_FDCWD, path, "key record file",
	    RECORD_FILE_MAX, VDKIM_FILE_TEXT, VDKIM_EIO, &f, &err) !=
	    VDKIM_OK) {
		snprintf(why, wl, "%s", err.msg);
		return NULL;
	}
	buf = f.data;
	n = f.len;
	if (strstr(buf, "PRIVATE KEY") != NULL) {
		vdkim_key *key = NULL;
		if (vdkim_key_load_mem(buf, n, path, &key, &err) != VDKIM_OK ||
		    vdkim_key_dns_value(key, &rec, &err) != VDKIM_OK)
			snprintf(why, wl, "%s", err.msg);
		vdkim_key_unref(key);
	} else if (strstr(buf, "BEGIN PUBLIC KEY") != NULL) {
		char sub[200];
		rec = record_from_public_pem(buf, n, sub, sizeof(sub));
		if (rec == NULL)
			snprintf(why, wl, "%s: %s", path, sub);
	} else {
		rec = record_from_text(buf);
		if (rec == NULL)
			snprintf(why, wl, "out of memory");
	}
	vdkim_file_free(&f);
	return rec;
}

static int
add_key_option(vdkim_keymap *map, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char qname[512], why[600];
	char *rec;
	vdkim_error err;
	int rc = 0;

	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(qname) ||
	    strstr(arg, "._domainkey.") == NULL || strstr(arg, "._domainkey.") > eq)
		return cli_fail("verify", CLI_USAGE, "--key takes "
		    "SELECTOR._domainkey.DOMAIN=FILE, not \"%s\"", arg);
	memcpy(qname, arg, (size_t)(eq - arg));
	qname[eq - arg] = '\0';
	rec = record_from_file(eq + 1, why, sizeof(why));
	if (rec == NULL)
		return cli_fail("verify", CLI_NOINPUT, "%s", why);
	if (vdkim_keymap_add(map, qname, rec, &err) != VDKIM_OK)
		rc = cli_fail("verify", cli_exit_for(err.rc), "%s", err.msg);
	free(rec);
	return rc;
}

static void
print_result(const vdkim_sig_result *r)
{
	printf("dkim=%s (%s: %s) header.d=%s header.s=%s header.a=%s "
	    "header.i=%s\n", vdkim_result_name(r->result),
	    vdkim_reason_name(r->reason), r->detail, r->domain, r->selector,
	    vdkim_alg_name(r->alg), r->identity);
}

int
cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	vdkim_keymap *map = NULL;
	vdkim_verifier *v = NULL;
	vdkim_error err;
	char *buf = NULL;
	size_t n, pass = 0;
	int c, rc = 1;

	while ((c = cli_getopt("verify", argc, argv, opts)) != -1) {
		if (c != 'k') {
			rc = CLI_USAGE;
			goto out;
		}
		if (map == NULL && vdkim_keymap_new(&map, &err) != VDKIM_OK) {
			rc = cli_fail("verify", cli_exit_for(err.rc),
			    "%s", err.msg);
			goto out;
		}
		if ((rc = add_key_option(map, optarg)) != 0)
			goto out;
	}
	if (optind != argc) {
		rc = cli_fail("verify", CLI_USAGE,
		    "unexpected argument \"%s\" (the message "
		    "is read from stdin)", argv[optind]);
		goto out;
	}
	if (vdkim_verifier_new(map ? vdkim_keymap_lookup : NULL, map, &v,
	    &err) != VDKIM_OK) {
		rc = cli_fail("verify", cli_exit_for(err.rc), "%s", err.msg);
		goto out;
	}
	buf = malloc(CHUNK);
	if (buf == NULL) {
		rc = cli_fail("verify", CLI_OSERR, "out of memory");
		goto out;
	}
	/* From here on, a message that does not verify is the outcome 1. */
	rc = 1;
	while ((n = fread(buf, 1, CHUNK, stdin)) > 0) {
		if (vdkim_verifier_message(v, buf, n, &err) != VDKIM_OK) {
			printf("dkim=permerror (malformed-message: %s)\n",
			    err.msg);
			goto out;
		}
	}
	if (ferror(stdin)) {
		rc = cli_fail("verify", CLI_IOERR,
		    "cannot read the message: %s",
		    strerror(errno));
		goto out;
	}
	if (vdkim_verifier_eom(v, &err) != VDKIM_OK) {
		printf("dkim=permerror (malformed-message: %s)\n", err.msg);
		goto out;
	}
	if (vdkim_verifier_count(v) == 0)
		printf("dkim=none (no-signature: the message has no "
		    "DKIM-Signature field)\n");
	for (size_t i = 0; i < vdkim_verifier_count(v); i++) {
		const vdkim_sig_result *r = vdkim_verifier_result(v, i);
		print_result(r);
		pass += r->result == VDKIM_RES_PASS;
	}
	rc = pass > 0 ? 0 : 1;
out:
	free(buf);
	vdkim_verifier_free(v);
	vdkim_keymap_free(map);
	return rc;
}
