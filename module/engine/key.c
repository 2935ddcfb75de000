/*
 * key.c - loading, generating and using private keys.
 *
 * Keys are read and parsed once; signing a message never touches a file or
 * PEM text again.  Buffers that held key material are wiped before they are
 * freed, and EVP_PKEY_free clears the key's own storage.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "base64.h"
#include "error.h"
#include "key.h"
#include "key_proc.h"
#include "secret.h"

/* Never prompt for a passphrase: the host has no terminal. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int
make_templates(vdkim_key *key)
{
	if (key->type == VDKIM_KEY_RSA)
		return key_proc_init(key);
	/* Ed25519 is "pure": no digest of its own, it signs the bytes. */
	key->ed_tmpl = EVP_MD_CTX_new();
	return key->ed_tmpl == NULL ||
	    EVP_DigestSignInit_ex(key->ed_tmpl, NULL, NULL, NULL, NULL,
		key->pkey, NULL) != 1 ? -1 : 0;
}

/*
 * One signature at load time, on the path messages take.  A key OpenSSL
 * cannot sign with is refused here, naming its file, instead of failing
 * every message.  And the work OpenSSL does on first use that processes
 * may share (fetching the SHA-256 and signature implementations, seeding
 * the random generator) is done once in the process that loads the
 * config, instead of again in every process a forking host starts from
 * it.  RSA blinding is not shared: a forked child makes its own on its
 * first signature (key_proc.h).
 */
static vdkim_rc
key_self_test(const vdkim_key *key, const char *label, vdkim_error *err)
{
	unsigned char digest[32], sig[KEY_MAX_SIG_BYTES];
	unsigned int dlen = 0;
	size_t siglen;
	vdkim_error e;

	if (EVP_Digest(label, strlen(label), digest, &dlen, EVP_sha256(),
	    NULL) != 1 || dlen != sizeof(digest))
		return vdkim_fail_ssl(err, VDKIM_ECRYPTO, "%s: SHA-256 is not "
		    "available", label);
	if (key_sign_digest(key, digest, dlen, sig, &siglen, &e) != VDKIM_OK)
		return vdkim_fail(err, VDKIM_ECRYPTO, "%s: the key cannot sign "
		    "(%s)", label, e.msg);
	return VDKIM_OK;
}

vdkim_rc
key_check_pkey(EVP_PKEY *pkey, const char *label, vdkim_key_type *type,
    unsigned *bits, char *warning, size_t wlen, vdkim_error *err)
{
	*bits = (unsigned)EVP_PKEY_get_bits(pkey);
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		*type = VDKIM_KEY_RSA;
		if (*bits < VDKIM_RSA_MIN_BITS)
			return vdkim_fail(err, VDKIM_EKEYSIZE,
			    "%s: RSA key of %u bits refused: DKIM keys must "
			    "have at least %u bits (RFC 8301)", label, *bits,
			    VDKIM_RSA_MIN_BITS);
		if (*bits > VDKIM_RSA_MAX_BITS)
			return vdkim_fail(err, VDKIM_EKEYSIZE,
			    "%s: RSA key of %u bits refused: verifiers are "
			    "only required to handle up to %u bits", label,
			    *bits, VDKIM_RSA_MAX_BITS);
		if (*bits < VDKIM_RSA_WARN_BITS && warning != NULL) {
			char raw[VDKIM_ERRMSG_MAX];

			/* label may be a key URI: masked like errors. */
			snprintf(raw, sizeof(raw), "%s: RSA key of %u bits: "
			    "keys under %u bits are weak and some receivers "
			    "distrust them", label, *bits,
			    VDKIM_RSA_WARN_BITS);
			vdkim_mask_pin(raw, warning, wlen);
		}
		return VDKIM_OK;
	}
	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		*type = VDKIM_KEY_ED25519;
		return VDKIM_OK;
	}
	return vdkim_fail(err, VDKIM_EKEY, "%s: unsupported key type %s: DKIM "
	    "signs with RSA or Ed25519", label,
	    EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) :
	    "(unknown)");
}

vdkim_rc
key_from_pkey(EVP_PKEY *pkey, const char *label, vdkim_key **out,
    vdkim_error *err)
{
	vdkim_key *key;
	vdkim_key_type type;
	unsigned bits;
	char warning[sizeof(key->warning)] = "";
	vdkim_rc rc;

	rc = key_check_pkey(pkey, label, &type, &bits, warning,
	    sizeof(warning), err);
	if (rc != VDKIM_OK) {
		EVP_PKEY_free(pkey);
		return rc;
	}
	key = calloc(1, sizeof(*key));
	if (key == NULL) {
		EVP_PKEY_free(pkey);
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	}
	atomic_init(&key->refs, 1);
	key->pkey = pkey;
	key->type = type;
	key->bits = bits;
	if (make_templates(key) != 0) {
		vdkim_key_unref(key);
		return vdkim_fail_ssl(err, VDKIM_ECRYPTO, "%s: cannot set up "
		    "signing with this key", label);
	}
	if ((rc = key_self_test(key, label, err)) != VDKIM_OK) {
		vdkim_key_unref(key);
		return rc;
	}
	memcpy(key->warning, warning, sizeof(key->warning));
	*out = key;
	return VDKIM_OK;
}

/* An Ed25519 key as base64 of the 32-byte seed or the 64-byte seed+pub. */
static vdkim_rc
load_raw_ed25519(const char *text, size_t len, const char *label,
    vdkim_key **out, vdkim_error *err)
{
	unsigned char raw[64], pub[32];
	size_t publen = sizeof(pub);
	long n = base64_decode(text, len, raw, sizeof(raw));
	EVP_PKEY *pkey;

	if (n != 32 && n != 64) {
		OPENSSL_cleanse(raw, sizeof(raw));
		return vdkim_fail(err, VDKIM_EKEY,
		    "%s: not a private key: expected PEM (\"-----BEGIN ... "
		    "PRIVATE KEY-----\") or base64 of a 32-byte Ed25519 seed",
		    label);
	}
	pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, raw, 32);
	if (pkey == NULL) {
		OPENSSL_cleanse(raw, sizeof(raw));
		return vdkim_fail_ssl(err, VDKIM_EKEY,
		    "%s: cannot use the Ed25519 seed", label);
	}
	if (n == 64 && (EVP_PKEY_get_raw_public_key(pkey, pub, &publen) != 1
	    || publen != 32 || memcmp(pub, raw + 32, 32) != 0)) {
		OPENSSL_cleanse(raw, sizeof(raw));
		EVP_PKEY_free(pkey);
		return vdkim_fail(err, VDKIM_EKEY,
		    "%s: the Ed25519 public half does not match the seed",
		    label);
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	return key_from_pkey(pkey, label, out, err);
}

vdkim_rc
vdkim_key_load_mem(const void *data, size_t len, const char *label,
    vdkim_key **out, vdkim_error *err)
{
	BIO *bio;
	EVP_PKEY *pkey;

	if (data == NULL || out == NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "no key data given");
	if (label == NULL)
		label = "key";
	if (len == 0)
		return vdkim_fail(err, VDKIM_EKEY, "%s: the key is empty",
		    label);
	if (memmem(data, len, "-----BEGIN", 10) == NULL)
		return load_raw_ed25519(data, len, label, out, err);
	if (memmem(data, len, "ENCRYPTED", 9) != NULL)
		return vdkim_fail(err, VDKIM_EKEY,
		    "%s: the key is encrypted; vdkim needs an unencrypted "
		    "key file (mode 0600) or a key held by a device", label);
	if (len > INT_MAX)
		return vdkim_fail(err, VDKIM_EKEY, "%s: too large", label);
	bio = BIO_new_mem_buf(data, (int)len);
	if (bio == NULL)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, no_passphrase, NULL, NULL,
	    NULL);
	BIO_free(bio);
	if (pkey == NULL)
		return vdkim_fail_ssl(err, VDKIM_EKEY,
		    "%s: not a usable PEM private key", label);
	return key_from_pkey(pkey, label, out, err);
}

vdkim_rc
key_load_file_mode(const char *path, mode_t refuse, mode_t *mode,
    vdkim_key **out, vdkim_error *err)
{
	vdkim_secret file;
	vdkim_rc rc;

	if (path == NULL || out == NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "no key file given");
	rc = vdkim_secret_read(path, "key file", refuse, KEY_FILE_MAX,
	    VDKIM_EIO, &file, err);
	if (rc != VDKIM_OK)
		return rc;
	if (mode != NULL)
		*mode = file.mode;
	rc = vdkim_key_load_mem(file.data, file.len, path, out, err);
	vdkim_secret_free(&file);
	return rc;
}

vdkim_rc
vdkim_key_load_file(const char *path, vdkim_key **out, vdkim_error *err)
{
	/* Who may change the file is the caller's rule (the policy's). */
	return key_load_file_mode(path, 0, NULL, out, err);
}

vdkim_rc
vdkim_key_generate(vdkim_key_type type, unsigned bits, vdkim_key **out,
    vdkim_error *err)
{
	EVP_PKEY *pkey;

	if (out == NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "no output key given");
	if (type == VDKIM_KEY_RSA) {
		if (bits == 0)
			bits = 2048;
		if (bits < VDKIM_RSA_MIN_BITS || bits > VDKIM_RSA_MAX_BITS)
			return vdkim_fail(err, VDKIM_EKEYSIZE,
			    "RSA keys must have %u to %u bits, not %u",
			    VDKIM_RSA_MIN_BITS, VDKIM_RSA_MAX_BITS, bits);
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	} else if (type == VDKIM_KEY_ED25519) {
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	} else {
		return vdkim_fail(err, VDKIM_EINVAL, "unknown key type %d",
		    (int)type);
	}
	if (pkey == NULL)
		return vdkim_fail_ssl(err, VDKIM_ECRYPTO,
		    "key generation failed");
	return key_from_pkey(pkey, "generated key", out, err);
}

vdkim_rc
vdkim_key_private_pem(const vdkim_key *key, char **pem, size_t *len,
    vdkim_error *err)
{
	BIO *bio;
	char *data;
	long n;

	if (key->backend != NULL)
		return vdkim_fail(err, VDKIM_EKEY, "the key is held by a "
		    "device and never leaves it");
	bio = BIO_new(BIO_s_secmem());
	if (bio == NULL)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	if (PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL,
	    NULL) != 1) {
		BIO_free(bio);
		return vdkim_fail_ssl(err, VDKIM_ECRYPTO,
		    "cannot write the private key as PEM");
	}
	n = BIO_get_mem_data(bio, &data);
	*pem = malloc((size_t)n + 1);
	if (*pem == NULL) {
		BIO_free(bio);
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	}
	memcpy(*pem, data, (size_t)n);
	(*pem)[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	BIO_free(bio); /* a secure-memory BIO clears itself */
	return VDKIM_OK;
}

vdkim_rc
vdkim_key_dns_value(const vdkim_key *key, char **value, vdkim_error *err)
{
	unsigned char *der = NULL, raw[32];
	const unsigned char *pub;
	size_t publen;
	int n;
	char *out;
	const char *k = key->type == VDKIM_KEY_RSA ? "rsa" : "ed25519";

	if (key->pkey == NULL)
		return vdkim_fail(err, VDKIM_EDEV_UNAVAILABLE, "the key's device "
		    "has not been reached yet: its public key is unknown");
	if (key->type == VDKIM_KEY_RSA) {
		/* p= is the DER SubjectPublicKeyInfo (RFC 6376 3.6.1). */
		n = i2d_PUBKEY(key->pkey, &der);
		if (n <= 0)
			return vdkim_fail_ssl(err, VDKIM_ECRYPTO,
			    "cannot encode the public key");
		pub = der;
		publen = (size_t)n;
	} else {
		/* p= is the raw 32-byte key (RFC 8463 4.2). */
		publen = sizeof(raw);
		if (EVP_PKEY_get_raw_public_key(key->pkey, raw, &publen) != 1)
			return vdkim_fail_ssl(err, VDKIM_ECRYPTO,
			    "cannot extract the Ed25519 public key");
		pub = raw;
	}
	out = malloc(32 + base64_encoded_len(publen));
	if (out == NULL) {
		OPENSSL_free(der);
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	}
	n = sprintf(out, "v=DKIM1; k=%s; p=", k);
	base64_encode(pub, publen, out + n);
	OPENSSL_free(der);
	*value = out;
	return VDKIM_OK;
}

vdkim_rc
key_sign_digest(const vdkim_key *key, const unsigned char *digest,
    size_t dlen, unsigned char *sig, size_t *siglen, vdkim_error *err)
{
	vdkim_rc rc = VDKIM_OK;

	if (key->backend != NULL)
		return key->backend->sign(key->backend_ctx, digest, dlen, sig,
		    siglen, err);
	*siglen = KEY_MAX_SIG_BYTES;
	if (key->type == VDKIM_KEY_RSA) {
		EVP_PKEY_CTX *tmpl = key_proc_template(key, err), *ctx;

		if (tmpl == NULL)
			return VDKIM_ECRYPTO;
		ctx = EVP_PKEY_CTX_dup(tmpl);
		if (ctx == NULL ||
		    EVP_PKEY_sign(ctx, sig, siglen, digest, dlen) != 1)
			rc = vdkim_fail_ssl(err, VDKIM_ECRYPTO,
			    "RSA signing failed");
		EVP_PKEY_CTX_free(ctx);
	} else {
		/* RFC 8463 3: Ed25519 signs the SHA-256 digest as a message. */
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		if (md == NULL || EVP_MD_CTX_copy_ex(md, key->ed_tmpl) != 1 ||
		    EVP_DigestSign(md, sig, siglen, digest, dlen) != 1)
			rc = vdkim_fail_ssl(err, VDKIM_ECRYPTO,
			    "Ed25519 signing failed");
		EVP_MD_CTX_free(md);
	}
	return rc;
}

vdkim_rc
key_new_external(const key_backend *backend, void *ctx, vdkim_key **out,
    vdkim_error *err)
{
	vdkim_key *key = calloc(1, sizeof(*key));

	if (key == NULL)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	atomic_init(&key->refs, 1);
	key->type = VDKIM_KEY_RSA;
	key->backend = backend;
	key->backend_ctx = ctx;
	*out = key;
	return VDKIM_OK;
}

void *
key_external_ctx(const vdkim_key *key, const key_backend *backend)
{
	return key->backend == backend ? key->backend_ctx : NULL;
}

int
key_is_external(const vdkim_key *key)
{
	return key->backend != NULL;
}

const char *
key_holder_name(const vdkim_key *key)
{
	return key->backend != NULL ? key->backend->name(key->backend_ctx) :
	    NULL;
}

/*
 * The self-check costs one public-key operation: a few percent of an RSA
 * signature (the public exponent is small), several times an Ed25519
 * one.  A fresh context per check: the verify path of a device's key has
 * no template, and a fetch from OpenSSL's method cache is cheap beside
 * the signature itself (bench/bench_engine.c measures both).
 */
vdkim_rc
key_verify_digest(const vdkim_key *key, const unsigned char *digest,
    size_t dlen, const unsigned char *sig, size_t siglen, vdkim_error *err)
{
	const char *alg = key->type == VDKIM_KEY_RSA ? "RSA" : "Ed25519";
	EVP_PKEY *pub = key->pkey, *held = NULL;
	int ready, good = 0;

	if (pub == NULL && key->backend != NULL &&
	    key->backend->public_key != NULL)
		pub = held = key->backend->public_key(key->backend_ctx);
	if (pub == NULL)
		return vdkim_fail(err, VDKIM_ESELFCHECK, "the key's public "
		    "half is not known (its device has not been reached), so "
		    "its signature cannot be checked: dropped");
	ERR_clear_error();
	if (key->type == VDKIM_KEY_RSA) {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub,
		    NULL);

		ready = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1;
		if (ready)
			good = EVP_PKEY_verify(ctx, sig, siglen, digest,
			    dlen) == 1;
		EVP_PKEY_CTX_free(ctx);
	} else {
		/* RFC 8463 3: the SHA-256 digest is the message signed. */
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		ready = md != NULL && EVP_DigestVerifyInit_ex(md, NULL, NULL,
		    NULL, NULL, pub, NULL) == 1;
		if (ready)
			good = EVP_DigestVerify(md, sig, siglen, digest,
			    dlen) == 1;
		EVP_MD_CTX_free(md);
	}
	EVP_PKEY_free(held);
	if (!ready)
		return vdkim_fail_ssl(err, VDKIM_ECRYPTO, "cannot set up the "
		    "%s self-check of a signature", alg);
	/* Whatever OpenSSL says about a wrong signature is no news. */
	ERR_clear_error();
	if (!good)
		return vdkim_fail(err, VDKIM_ESELFCHECK, "the %s signature "
		    "just made does not verify with the key's public half "
		    "(a fault in the signer): dropped", alg);
	return VDKIM_OK;
}

int
key_wants_self_check(const vdkim_key *key, int self_check)
{
	if (key->backend != NULL || self_check == 1)
		return 1;
	return self_check == VDKIM_SELF_CHECK_DEFAULT &&
	    key->type == VDKIM_KEY_RSA;
}

vdkim_key_type
vdkim_key_get_type(const vdkim_key *key)
{
	return key->type;
}

unsigned
vdkim_key_get_bits(const vdkim_key *key)
{
	return key->bits;
}

vdkim_alg
vdkim_key_get_alg(const vdkim_key *key)
{
	return key->type == VDKIM_KEY_RSA ? VDKIM_ALG_RSA_SHA256 :
	    VDKIM_ALG_ED25519_SHA256;
}

const char *
vdkim_key_warning(const vdkim_key *key)
{
	return key->warning[0] != '\0' ? key->warning : NULL;
}

vdkim_key *
vdkim_key_ref(vdkim_key *key)
{
	if (key != NULL)
		atomic_fetch_add(&key->refs, 1);
	return key;
}

void
vdkim_key_unref(vdkim_key *key)
{
	if (key == NULL || atomic_fetch_sub(&key->refs, 1) != 1)
		return;
	if (key->backend != NULL)
		key->backend->free(key->backend_ctx);
	key_proc_free(key);
	EVP_MD_CTX_free(key->ed_tmpl);
	EVP_PKEY_free(key->pkey);
	OPENSSL_cleanse(key, sizeof(*key));
	free(key);
}
