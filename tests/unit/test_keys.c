/*
 * test_keys.c - private keys (loading, refusing, generating, exporting),
 * DNS key records (parsing, verifying) and the zone-file line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "base64.h"
#include "helpers.h"
#include "key.h"
#include "key_record.h"
#include "suites.h"

#define RFC8463_ED_RECORD \
	"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RFC8463_RSA_RECORD \
	"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzW" \
	"RiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3Fu" \
	"tACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO" \
	"2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"

static vdkim_rc
load(const char *name, vdkim_key **key, vdkim_error *err)
{
	*key = NULL;
	memset(err, 0, sizeof(*err));
	return vdkim_key_load_file(td_path(name), key, err);
}

/* ---------------------------------------------------------- loading */

START_TEST(load_rsa_sizes)
{
	static const struct {
		const char *file;
		unsigned bits;
		int warns;
	} ok[] = {
		{ "rsa1024.pem", 1024, 1 },
		{ "rsa2048.pem", 2048, 0 },
		{ "rsa4096.pem", 4096, 0 },
		{ "rsa2048_pkcs1.pem", 2048, 0 },
		{ "rfc8463_rsa.pem", 1024, 1 },
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		vdkim_key *key;
		vdkim_error err;

		ck_assert_msg(load(ok[i].file, &key, &err) == VDKIM_OK,
		    "%s: %s", ok[i].file, err.msg);
		ck_assert_int_eq(vdkim_key_get_type(key), VDKIM_KEY_RSA);
		ck_assert_uint_eq(vdkim_key_get_bits(key), ok[i].bits);
		ck_assert_int_eq(vdkim_key_get_alg(key), VDKIM_ALG_RSA_SHA256);
		if (ok[i].warns) {
			ck_assert_ptr_nonnull(vdkim_key_warning(key));
			ck_assert_ptr_nonnull(strstr(vdkim_key_warning(key),
			    "1024"));
		} else {
			ck_assert_ptr_null(vdkim_key_warning(key));
		}
		vdkim_key_unref(key);
	}
}
END_TEST

START_TEST(load_refused_sizes)
{
	static const char *const files[] = { "rsa512.pem", "rsa4608.pem" };

	for (size_t i = 0; i < 2; i++) {
		vdkim_key *key;
		vdkim_error err;

		ck_assert_int_eq(load(files[i], &key, &err), VDKIM_EKEYSIZE);
		ck_assert_int_eq(err.rc, VDKIM_EKEYSIZE);
		ck_assert_ptr_null(key);
		ck_assert_ptr_nonnull(strstr(err.msg, i == 0 ? "512" :
		    "4608"));
		/* The message names the file. */
		ck_assert_ptr_nonnull(strstr(err.msg, files[i]));
	}
}
END_TEST

START_TEST(load_ed25519)
{
	vdkim_key *key;
	vdkim_error err;
	char *rec;

	ck_assert_int_eq(load("ed25519.pem", &key, &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_key_get_type(key), VDKIM_KEY_ED25519);
	ck_assert_int_eq(vdkim_key_get_alg(key), VDKIM_ALG_ED25519_SHA256);
	/* The same size the verifier reports for Ed25519 keys. */
	ck_assert_uint_eq(vdkim_key_get_bits(key), 256);
	ck_assert_ptr_null(vdkim_key_warning(key));
	rec = key_record_of(key);
	ck_assert_ptr_nonnull(strstr(rec, "v=DKIM1; k=ed25519; p="));
	/* p= is the raw 32-byte key: 44 base64 characters. */
	ck_assert_uint_eq(strlen(strstr(rec, "p=") + 2), 44);
	free(rec);
	vdkim_key_unref(key);
}
END_TEST

START_TEST(load_ed25519_seed)
{
	vdkim_key *key = NULL;
	vdkim_error err;
	size_t len;
	char *seed = td_read("rfc8463_ed25519.seed", &len);
	char *rec;

	/* RFC 8463's base64 seed, with its newline. */
	ck_assert_int_eq(vdkim_key_load_mem(seed, len, "seed", &key, &err),
	    VDKIM_OK);
	ck_assert_int_eq(vdkim_key_get_type(key), VDKIM_KEY_ED25519);
	rec = key_record_of(key);
	ck_assert_str_eq(rec, RFC8463_ED_RECORD);
	free(rec);
	vdkim_key_unref(key);
	/* The same through the file loader. */
	ck_assert_int_eq(load("rfc8463_ed25519.seed", &key, &err), VDKIM_OK);
	rec = key_record_of(key);
	ck_assert_str_eq(rec, RFC8463_ED_RECORD);
	free(rec);
	vdkim_key_unref(key);
	free(seed);
}
END_TEST

START_TEST(load_ed25519_pair)
{
	unsigned char raw[64];
	char b64[100];
	vdkim_key *key = NULL;
	vdkim_error err;
	long n;
	char *rec;

	/* seed + public key (64 bytes) is accepted when they match... */
	n = base64_decode("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=", 44,
	    raw, 32);
	ck_assert_int_eq(n, 32);
	n = base64_decode("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", 44,
	    raw + 32, 32);
	ck_assert_int_eq(n, 32);
	b64_encode_ossl(raw, 64, b64);
	ck_assert_int_eq(vdkim_key_load_mem(b64, strlen(b64), "pair", &key,
	    &err), VDKIM_OK);
	rec = key_record_of(key);
	ck_assert_str_eq(rec, RFC8463_ED_RECORD);
	free(rec);
	vdkim_key_unref(key);
	/* ... and refused when the public half is wrong. */
	raw[40] ^= 1;
	b64_encode_ossl(raw, 64, b64);
	key = NULL;
	ck_assert_int_eq(vdkim_key_load_mem(b64, strlen(b64), "pair", &key,
	    &err), VDKIM_EKEY);
	ck_assert_ptr_null(key);
	/* 31 bytes is neither form. */
	b64_encode_ossl(raw, 31, b64);
	ck_assert_int_eq(vdkim_key_load_mem(b64, strlen(b64), "short", &key,
	    &err), VDKIM_EKEY);
	ck_assert_ptr_nonnull(strstr(err.msg, "short"));
}
END_TEST

START_TEST(load_errors)
{
	vdkim_key *key;
	vdkim_error err;
	char path[4200];

	/* A missing file: VDKIM_EIO naming the file. */
	key = NULL;
	err.rc = VDKIM_OK;
	ck_assert_int_eq(vdkim_key_load_file(td_path("no-such-key.pem"), &key,
	    &err), VDKIM_EIO);
	ck_assert_int_eq(err.rc, VDKIM_EIO);
	ck_assert_ptr_nonnull(strstr(err.msg, "no-such-key.pem"));
	ck_assert_ptr_null(key);
	/* A directory. */
	snprintf(path, sizeof(path), "%s", td_path(""));
	ck_assert_int_eq(vdkim_key_load_file(path, &key, &err), VDKIM_EIO);
	ck_assert_ptr_nonnull(strstr(err.msg, "tests/data"));
	ck_assert_ptr_null(key);
	/* Garbage (base64 of random bytes, not a seed). */
	ck_assert_int_eq(load("garbage.pem", &key, &err), VDKIM_EKEY);
	ck_assert_ptr_nonnull(strstr(err.msg, "garbage.pem"));
	ck_assert_ptr_null(key);
	/* A PEM block that does not hold a key. */
	ck_assert_int_eq(load("bad_pem.pem", &key, &err), VDKIM_EKEY);
	ck_assert_ptr_null(key);
	/* An encrypted key: refused, never a passphrase prompt. */
	ck_assert_int_eq(load("rsa2048_encrypted.pem", &key, &err),
	    VDKIM_EKEY);
	ck_assert_ptr_nonnull(strstr(err.msg, "rsa2048_encrypted.pem"));
	ck_assert_ptr_null(key);
	/* A public key is not a private key. */
	{
		EVP_PKEY *p = td_pkey("rsa2048.pem");
		BIO *bio = BIO_new(BIO_s_mem());
		char *data;
		long n;
		ck_assert_ptr_nonnull(bio);
		ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, p), 1);
		n = BIO_get_mem_data(bio, &data);
		ck_assert_int_eq(vdkim_key_load_mem(data, (size_t)n, "pub", &key,
		    &err), VDKIM_EKEY);
		ck_assert_ptr_null(key);
		BIO_free(bio);
		EVP_PKEY_free(p);
	}
	/* A key type DKIM does not sign with. */
	ck_assert_int_eq(load("ec_p256.pem", &key, &err), VDKIM_EKEY);
	ck_assert_ptr_null(key);
	/* An empty key, and no data at all. */
	ck_assert_int_eq(vdkim_key_load_mem("", 0, "empty", &key, &err),
	    VDKIM_EKEY);
	ck_assert_int_eq(vdkim_key_load_mem(NULL, 5, "null", &key, &err),
	    VDKIM_EINVAL);
	ck_assert_int_eq(vdkim_key_load_file(NULL, &key, &err), VDKIM_EINVAL);
	/* A PEM cut in the middle. */
	{
		size_t len;
		char *pem = td_read("rsa2048.pem", &len);
		ck_assert_int_eq(vdkim_key_load_mem(pem, len / 2, "half", &key,
		    &err), VDKIM_EKEY);
		ck_assert_ptr_null(key);
		free(pem);
	}
	/* /dev/null is not a regular file. */
	ck_assert_int_eq(vdkim_key_load_file("/dev/null", &key, &err),
	    VDKIM_EIO);
}
END_TEST

START_TEST(load_mem_matches_file)
{
	size_t len;
	char *pem = td_read("rsa2048.pem", &len);
	vdkim_key *a, *b;
	vdkim_error err;
	char *ra, *rb;

	ck_assert_int_eq(vdkim_key_load_mem(pem, len, NULL, &a, &err),
	    VDKIM_OK);
	ck_assert_int_eq(load("rsa2048_pkcs1.pem", &b, &err), VDKIM_OK);
	ra = key_record_of(a);
	rb = key_record_of(b);
	ck_assert_str_eq(ra, rb);
	/* The record's key is the one OpenSSL derives. */
	{
		EVP_PKEY *p = td_pkey("rsa2048.pem");
		char *rc = record_for_pkey(p, NULL);
		ck_assert_str_eq(ra, rc);
		free(rc);
		EVP_PKEY_free(p);
	}
	free(ra);
	free(rb);
	vdkim_key_unref(a);
	vdkim_key_unref(b);
	free(pem);
}
END_TEST

START_TEST(rfc8463_rsa_record)
{
	vdkim_key *key;
	vdkim_error err;
	char *rec;

	ck_assert_int_eq(load("rfc8463_rsa.pem", &key, &err), VDKIM_OK);
	rec = key_record_of(key);
	ck_assert_str_eq(rec, RFC8463_RSA_RECORD);
	free(rec);
	vdkim_key_unref(key);
}
END_TEST

START_TEST(refcount)
{
	vdkim_key *key = td_key("ed25519.pem");

	ck_assert_ptr_eq(vdkim_key_ref(key), key);
	ck_assert_int_eq(atomic_load(&key->refs), 2);
	vdkim_key_unref(key);
	ck_assert_int_eq(atomic_load(&key->refs), 1);
	vdkim_key_unref(key);
	/* NULL is accepted by both. */
	ck_assert_ptr_null(vdkim_key_ref(NULL));
	vdkim_key_unref(NULL);
}
END_TEST

START_TEST(private_pem_roundtrip)
{
	static const char *const files[] = { "rsa1024.pem", "ed25519.pem",
		"rsa2048_pkcs1.pem" };

	for (size_t i = 0; i < 3; i++) {
		vdkim_key *a = td_key(files[i]), *b = NULL;
		vdkim_error err;
		char *pem = NULL, *ra, *rb;
		size_t len = 0;

		ck_assert_int_eq(vdkim_key_private_pem(a, &pem, &len, &err),
		    VDKIM_OK);
		ck_assert_uint_eq(len, strlen(pem));
		ck_assert_ptr_nonnull(strstr(pem,
		    "-----BEGIN PRIVATE KEY-----"));
		ck_assert_int_eq(vdkim_key_load_mem(pem, len, "pem", &b, &err),
		    VDKIM_OK);
		ra = key_record_of(a);
		rb = key_record_of(b);
		ck_assert_str_eq(ra, rb);
		OPENSSL_cleanse(pem, len);
		free(pem);
		free(ra);
		free(rb);
		vdkim_key_unref(a);
		vdkim_key_unref(b);
	}
}
END_TEST

START_TEST(generate)
{
	vdkim_key *key = NULL;
	vdkim_error err;
	char *rec;

	ck_assert_int_eq(vdkim_key_generate(VDKIM_KEY_ED25519, 0, &key, &err),
	    VDKIM_OK);
	ck_assert_int_eq(vdkim_key_get_type(key), VDKIM_KEY_ED25519);
	rec = key_record_of(key);
	ck_assert_ptr_nonnull(strstr(rec, "k=ed25519"));
	free(rec);
	vdkim_key_unref(key);
	key = NULL;
	ck_assert_int_eq(vdkim_key_generate(VDKIM_KEY_RSA, 1024, &key, &err),
	    VDKIM_OK);
	ck_assert_uint_eq(vdkim_key_get_bits(key), 1024);
	ck_assert_ptr_nonnull(vdkim_key_warning(key));
	vdkim_key_unref(key);
	key = NULL;
	ck_assert_int_eq(vdkim_key_generate(VDKIM_KEY_RSA, 512, &key, &err),
	    VDKIM_EKEYSIZE);
	ck_assert_ptr_null(key);
	ck_assert_int_eq(vdkim_key_generate(VDKIM_KEY_RSA, 8192, &key, &err),
	    VDKIM_EKEYSIZE);
	ck_assert_int_eq(vdkim_key_generate((vdkim_key_type)7, 0, &key, &err),
	    VDKIM_EINVAL);
	ck_assert_int_eq(vdkim_key_generate(VDKIM_KEY_RSA, 0, NULL, &err),
	    VDKIM_EINVAL);
	ck_assert_ptr_null(key);
}
END_TEST

/* ------------------------------------------------------- sign digest */

START_TEST(sign_digest_verifies)
{
	static const char *const files[] = { "rsa1024.pem", "rsa2048.pem",
		"rsa4096.pem", "ed25519.pem" };
	unsigned char digest[32];

	sha256("hello", 5, digest);
	for (size_t i = 0; i < 4; i++) {
		vdkim_key *key = td_key(files[i]);
		char *rec = key_record_of(key);
		key_record kr;
		unsigned char sig[KEY_MAX_SIG_BYTES];
		size_t siglen = 0;
		vdkim_error err;
		char why[160];

		ck_assert_int_eq(key_sign_digest(key, digest, 32, sig, &siglen,
		    &err), VDKIM_OK);
		ck_assert_uint_eq(siglen, vdkim_key_get_type(key) ==
		    VDKIM_KEY_RSA ? vdkim_key_get_bits(key) / 8 : 64);
		ck_assert_int_eq(key_record_parse(rec, &kr, why, sizeof(why)),
		    VDKIM_R_OK);
		ck_assert_int_eq(key_record_verify(&kr, digest, 32, sig,
		    siglen), 1);
		/* A changed digest or signature does not verify. */
		digest[0] ^= 1;
		ck_assert_int_eq(key_record_verify(&kr, digest, 32, sig,
		    siglen), 0);
		digest[0] ^= 1;
		sig[siglen / 2] ^= 0x10;
		ck_assert_int_eq(key_record_verify(&kr, digest, 32, sig,
		    siglen), 0);
		key_record_free(&kr);
		free(rec);
		vdkim_key_unref(key);
	}
}
END_TEST

/* ------------------------------------------------------- key records */

static vdkim_reason
parse_rec(const char *text, key_record *kr, char *why)
{
	why[0] = '\0';
	return key_record_parse(text, kr, why, 160);
}

START_TEST(record_parse_ok)
{
	key_record kr;
	char why[160];

	ck_assert_int_eq(parse_rec(RFC8463_RSA_RECORD, &kr, why), VDKIM_R_OK);
	ck_assert_int_eq(kr.type, VDKIM_KEY_RSA);
	ck_assert_uint_eq(kr.bits, 1024);
	ck_assert_ptr_nonnull(kr.pkey);
	ck_assert_int_eq(kr.revoked, 0);
	ck_assert_int_eq(kr.sha256_allowed, 1);
	ck_assert_int_eq(kr.email_allowed, 1);
	ck_assert_int_eq(kr.testing, 0);
	ck_assert_int_eq(kr.strict, 0);
	key_record_free(&kr);
	ck_assert_ptr_null(kr.pkey);

	ck_assert_int_eq(parse_rec(RFC8463_ED_RECORD, &kr, why), VDKIM_R_OK);
	ck_assert_int_eq(kr.type, VDKIM_KEY_ED25519);
	ck_assert_uint_eq(kr.bits, 256);
	key_record_free(&kr);

	/* No v= (optional), k= defaults to rsa, flags and lists. */
	ck_assert_int_eq(parse_rec("h=sha1 : sha256; s=email:*; t=y:s; "
	    "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY"
	    "6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/"
	    "e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+"
	    "2kryOTIKT+l/K4w3QIDAQAB", &kr, why), VDKIM_R_OK);
	ck_assert_int_eq(kr.type, VDKIM_KEY_RSA);
	ck_assert_int_eq(kr.sha256_allowed, 1);
	ck_assert_int_eq(kr.email_allowed, 1);
	ck_assert_int_eq(kr.testing, 1);
	ck_assert_int_eq(kr.strict, 1);
	key_record_free(&kr);

	/* Restrictions. */
	ck_assert_int_eq(parse_rec("v=DKIM1; h=sha1; s=other; p="
	    "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=; k=ed25519", &kr,
	    why), VDKIM_R_OK);
	ck_assert_int_eq(kr.sha256_allowed, 0);
	ck_assert_int_eq(kr.email_allowed, 0);
	key_record_free(&kr);

	/* Revoked: p= empty. */
	ck_assert_int_eq(parse_rec("v=DKIM1; k=rsa; p=", &kr, why),
	    VDKIM_R_OK);
	ck_assert_int_eq(kr.revoked, 1);
	ck_assert_ptr_null(kr.pkey);
	key_record_free(&kr);

	/* FWS in p= is ignored (records split over strings often have
	 * it). */
	ck_assert_int_eq(parse_rec("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQ"
	    " HOg7hcvPapiMlrwIaaPcHURo=", &kr, why), VDKIM_R_OK);
	ck_assert_ptr_nonnull(kr.pkey);
	key_record_free(&kr);
}
END_TEST

START_TEST(record_parse_pkcs1)
{
	/* Old records hold a bare RSAPublicKey instead of the SPKI. */
	EVP_PKEY *p = td_pkey("rsa1024.pem");
	unsigned char *der = NULL;
	int n = i2d_PublicKey(p, &der);
	char b64[1024], text[1100];
	key_record kr;
	char why[160];

	ck_assert_int_gt(n, 0);
	b64_encode_ossl(der, (size_t)n, b64);
	snprintf(text, sizeof(text), "v=DKIM1; p=%s", b64);
	ck_assert_int_eq(parse_rec(text, &kr, why), VDKIM_R_OK);
	ck_assert_uint_eq(kr.bits, 1024);
	key_record_free(&kr);
	OPENSSL_free(der);
	EVP_PKEY_free(p);
}
END_TEST

START_TEST(record_parse_errors)
{
	static const struct {
		const char *text;
		vdkim_reason want;
	} bad[] = {
		{ "v=DKIM1; k=rsa", VDKIM_R_KEY_SYNTAX },         /* no p= */
		{ "k=rsa; v=DKIM1; p=", VDKIM_R_KEY_SYNTAX },     /* v= not first */
		{ "v=DKIM2; p=", VDKIM_R_KEY_SYNTAX },
		{ "v=DKIM1; p=!!!!", VDKIM_R_KEY_SYNTAX },
		{ "v=DKIM1; p=AAAA", VDKIM_R_KEY_SYNTAX },        /* not a key */
		{ "v=DKIM1; k=ed25519; p=AAAA", VDKIM_R_KEY_SYNTAX },
		{ "v=DKIM1; p", VDKIM_R_KEY_SYNTAX },             /* tag list */
		{ "v=DKIM1; p=; p=", VDKIM_R_KEY_SYNTAX },        /* twice */
		{ "", VDKIM_R_KEY_SYNTAX },
		{ "v=DKIM1; k=dsa; p=AAAA", VDKIM_R_KEY_TYPE_MISMATCH },
		/* An Ed25519 key where RSA was announced. */
		{ "v=DKIM1; k=rsa; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		  VDKIM_R_KEY_SYNTAX },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		key_record kr;
		char why[160];

		ck_assert_msg(parse_rec(bad[i].text, &kr, why) == bad[i].want,
		    "\"%s\": not %s", bad[i].text,
		    vdkim_reason_name(bad[i].want));
		ck_assert_msg(why[0] != '\0', "\"%s\": no explanation",
		    bad[i].text);
		ck_assert_ptr_null(kr.pkey);
	}
}
END_TEST

START_TEST(record_512_bits)
{
	/* The parser reads a 512-bit key (the verifier refuses it). */
	EVP_PKEY *p = td_pkey("rsa512.pem");
	char *rec = record_for_pkey(p, NULL);
	key_record kr;
	char why[160];

	ck_assert_int_eq(parse_rec(rec, &kr, why), VDKIM_R_OK);
	ck_assert_uint_eq(kr.bits, 512);
	key_record_free(&kr);
	free(rec);
	EVP_PKEY_free(p);
}
END_TEST

/* ------------------------------------------------------ zone line */

/* Checks the line's shape and returns the joined strings (malloc'd). */
static char *
zone_strings(const char *line, const char *owner, size_t *nstrings)
{
	const char *p;
	char *joined = malloc(strlen(line) + 1);
	size_t w = 0;

	ck_assert_ptr_nonnull(joined);
	*nstrings = 0;
	ck_assert_msg(strncmp(line, owner, strlen(owner)) == 0, "line: %s",
	    line);
	p = line + strlen(owner);
	ck_assert_msg(strncmp(p, " IN TXT (", 9) == 0, "line: %s", line);
	p += 9;
	for (;;) {
		const char *q;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (*p == ')')
			break;
		ck_assert_msg(*p == '"', "unexpected 0x%02x in %s",
		    (unsigned char)*p, line);
		q = strchr(p + 1, '"');
		ck_assert_ptr_nonnull(q);
		ck_assert_msg(q - p - 1 <= 255, "a string of %d bytes",
		    (int)(q - p - 1));
		memcpy(joined + w, p + 1, (size_t)(q - p - 1));
		w += (size_t)(q - p - 1);
		(*nstrings)++;
		p = q + 1;
	}
	ck_assert_str_eq(p, ")");
	joined[w] = '\0';
	return joined;
}

START_TEST(zone_line_split)
{
	vdkim_key *key = td_key("rsa2048.pem");
	char *value = key_record_of(key), *line = NULL, *joined;
	vdkim_error err;
	size_t n;

	ck_assert_uint_gt(strlen(value), 255);
	ck_assert_int_eq(vdkim_dns_zone_line("sel", "example.com", value,
	    &line, &err), VDKIM_OK);
	joined = zone_strings(line, "sel._domainkey.example.com.", &n);
	ck_assert_str_eq(joined, value);
	ck_assert_uint_eq(n, (strlen(value) + 254) / 255);
	ck_assert_uint_ge(n, 2);
	free(joined);
	free(line);
	free(value);
	vdkim_key_unref(key);
}
END_TEST

START_TEST(zone_line_sizes)
{
	static const size_t sizes[] = { 0, 1, 254, 255, 256, 509, 510, 511,
		1000 };
	char value[1001];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *line = NULL, *joined;
		vdkim_error err;
		size_t n;

		for (size_t k = 0; k < sizes[i]; k++)
			value[k] = (char)('a' + k % 26);
		value[sizes[i]] = '\0';
		ck_assert_int_eq(vdkim_dns_zone_line("s1.sub", "example.org",
		    value, &line, &err), VDKIM_OK);
		joined = zone_strings(line, "s1.sub._domainkey.example.org.",
		    &n);
		ck_assert_str_eq(joined, value);
		ck_assert_uint_eq(n, sizes[i] == 0 ? 1 :
		    (sizes[i] + 254) / 255);
		free(joined);
		free(line);
	}
}
END_TEST

START_TEST(zone_line_errors)
{
	char *line = NULL;
	vdkim_error err;

	ck_assert_int_eq(vdkim_dns_zone_line("sel", "example.com",
	    "v=DKIM1; p=\"x\"", &line, &err), VDKIM_EINVAL);
	ck_assert_int_eq(vdkim_dns_zone_line("sel", "example.com",
	    "v=DKIM1; p=\\", &line, &err), VDKIM_EINVAL);
	ck_assert_int_eq(vdkim_dns_zone_line("bad sel", "example.com", "x",
	    &line, &err), VDKIM_EINVAL);
	ck_assert_int_eq(vdkim_dns_zone_line("sel", "example..com", "x",
	    &line, &err), VDKIM_EINVAL);
	ck_assert_int_eq(vdkim_dns_zone_line(NULL, "example.com", "x", &line,
	    &err), VDKIM_EINVAL);
	ck_assert_ptr_null(line);
}
END_TEST

Suite *
keys_suite(void)
{
	Suite *s = suite_create("keys");
	TCase *ld = tcase_create("load");
	TCase *rec = tcase_create("records");
	TCase *zone = tcase_create("zone_line");

	tcase_set_timeout(ld, TEST_TIMEOUT);
	tcase_add_test(ld, load_rsa_sizes);
	tcase_add_test(ld, load_refused_sizes);
	tcase_add_test(ld, load_ed25519);
	tcase_add_test(ld, load_ed25519_seed);
	tcase_add_test(ld, load_ed25519_pair);
	tcase_add_test(ld, load_errors);
	tcase_add_test(ld, load_mem_matches_file);
	tcase_add_test(ld, rfc8463_rsa_record);
	tcase_add_test(ld, refcount);
	tcase_add_test(ld, private_pem_roundtrip);
	tcase_add_test(ld, generate);
	tcase_add_test(ld, sign_digest_verifies);
	suite_add_tcase(s, ld);

	tcase_set_timeout(rec, TEST_TIMEOUT);
	tcase_add_test(rec, record_parse_ok);
	tcase_add_test(rec, record_parse_pkcs1);
	tcase_add_test(rec, record_parse_errors);
	tcase_add_test(rec, record_512_bits);
	suite_add_tcase(s, rec);

	tcase_set_timeout(zone, TEST_TIMEOUT);
	tcase_add_test(zone, zone_line_split);
	tcase_add_test(zone, zone_line_sizes);
	tcase_add_test(zone, zone_line_errors);
	suite_add_tcase(s, zone);
	return s;
}
