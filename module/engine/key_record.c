/*
 * key_record.c - parsing DKIM key records and verifying with them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "base64.h"
#include "key_record.h"
#include "tag_list.h"

#define KEY_RECORD_MAX_P 2048 /* decoded bytes; RSA-8192 would need ~1100 */

/*
 * True when the colon-separated list has item (case-insensitive), ignoring
 * FWS around items.
 */
static int
list_has(const char *list, const char *item)
{
	size_t n = strlen(item);

	while (*list != '\0') {
		const char *end;
		size_t len;

		while (tag_is_fws((unsigned char)*list))
			list++;
		end = strchr(list, ':');
		len = end ? (size_t)(end - list) : strlen(list);
		while (len > 0 && tag_is_fws((unsigned char)list[len - 1]))
			len--;
		if (len == n && strncasecmp(list, item, n) == 0)
			return 1;
		if (end == NULL)
			break;
		list = end + 1;
	}
	return 0;
}

static vdkim_reason
syntax(char *why, size_t whylen, const char *what)
{
	snprintf(why, whylen, "%s", what);
	return VDKIM_R_KEY_SYNTAX;
}

static EVP_PKEY *
decode_rsa(const unsigned char *der, long n)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, n);

	if (pkey == NULL) {
		/* Some old records hold a bare PKCS#1 RSAPublicKey. */
		p = der;
		pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, n);
	}
	if (pkey != NULL && !EVP_PKEY_is_a(pkey, "RSA")) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	ERR_clear_error();
	return pkey;
}

vdkim_reason
key_record_parse(const char *text, key_record *rec, char *why, size_t whylen)
{
	tag_list tl;
	const char *v, *k, *p, *h, *s, *t;
	unsigned char raw[KEY_RECORD_MAX_P];
	long n;
	char tlwhy[160];

	memset(rec, 0, sizeof(*rec));
	if (tag_list_parse(&tl, text, strlen(text), tlwhy, sizeof(tlwhy)) != 0)
		return syntax(why, whylen, tlwhy);
	v = tag_list_get(&tl, "v");
	k = tag_list_get(&tl, "k");
	p = tag_list_get(&tl, "p");
	h = tag_list_get(&tl, "h");
	s = tag_list_get(&tl, "s");
	t = tag_list_get(&tl, "t");
	/* v=, when present, must be first and "DKIM1" (RFC 6376 3.6.1). */
	if (v != NULL && (strcmp(tl.tags[0].name, "v") != 0 ||
	    strcmp(v, "DKIM1") != 0)) {
		tag_list_free(&tl);
		return syntax(why, whylen, "v= must be first and \"DKIM1\"");
	}
	if (p == NULL) {
		tag_list_free(&tl);
		return syntax(why, whylen, "the record has no p= tag");
	}
	rec->type = VDKIM_KEY_RSA;
	if (k != NULL && strcmp(k, "rsa") != 0) {
		if (strcmp(k, "ed25519") != 0) {
			snprintf(why, whylen, "unknown key type k=%s", k);
			tag_list_free(&tl);
			return VDKIM_R_KEY_TYPE_MISMATCH;
		}
		rec->type = VDKIM_KEY_ED25519;
	}
	rec->sha256_allowed = h == NULL || list_has(h, "sha256");
	rec->email_allowed = s == NULL || list_has(s, "*") ||
	    list_has(s, "email");
	rec->testing = t != NULL && list_has(t, "y");
	rec->strict = t != NULL && list_has(t, "s");
	n = base64_decode(p, strlen(p), raw, sizeof(raw));
	tag_list_free(&tl);
	if (n < 0)
		return syntax(why, whylen, "p= is not valid base64");
	if (n == 0) {
		rec->revoked = 1;
		return VDKIM_R_OK;
	}
	if (rec->type == VDKIM_KEY_RSA) {
		rec->pkey = decode_rsa(raw, n);
		if (rec->pkey == NULL)
			return syntax(why, whylen,
			    "p= does not hold an RSA public key");
		rec->bits = (unsigned)EVP_PKEY_get_bits(rec->pkey);
	} else {
		if (n != 32)
			return syntax(why, whylen, "an Ed25519 p= must be 32 "
			    "bytes (RFC 8463)");
		rec->pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519",
		    NULL, raw, 32);
		if (rec->pkey == NULL) {
			ERR_clear_error();
			return syntax(why, whylen,
			    "p= is not a usable Ed25519 key");
		}
		rec->bits = 256;
	}
	return VDKIM_R_OK;
}

void
key_record_free(key_record *rec)
{
	EVP_PKEY_free(rec->pkey);
	rec->pkey = NULL;
}

int
key_record_verify(const key_record *rec, const unsigned char *digest,
    size_t dlen, const unsigned char *sig, size_t siglen)
{
	int ok = 0;

	if (rec->pkey == NULL)
		return 0;
	if (rec->type == VDKIM_KEY_RSA) {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, rec->pkey,
		    NULL);
		ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
		    EVP_PKEY_verify(ctx, sig, siglen, digest, dlen) == 1;
		EVP_PKEY_CTX_free(ctx);
	} else {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		ok = md != NULL && EVP_DigestVerifyInit_ex(md, NULL, NULL, NULL,
		    NULL, rec->pkey, NULL) == 1 &&
		    EVP_DigestVerify(md, sig, siglen, digest, dlen) == 1;
		EVP_MD_CTX_free(md);
	}
	ERR_clear_error();
	return ok;
}
