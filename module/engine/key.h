/*
 * key.h - the signing key object (internal view).
 *
 * A vdkim_key is parsed once and then only read: any number of threads may
 * sign with it at once.  The reference count changes, and so does, once in
 * each process that signs with an RSA key, the list of per-process signing
 * states (key_proc.h), both atomically.
 */
#ifndef VDKIM_KEY_H
#define VDKIM_KEY_H

#include <stdatomic.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "vdkim/dkim.h"

/*
 * A key whose private half is held elsewhere (a device: key_device.c, in
 * the layer above).  The engine signs with it and frees it only through
 * this table, so it never needs to know what holds it.
 */
typedef struct key_backend {
	/* As key_sign_digest, with the backend's context. */
	vdkim_rc (*sign)(void *ctx, const unsigned char *digest, size_t dlen,
	    unsigned char *sig, size_t *siglen, vdkim_error *err);
	/* Frees the context (the key's last reference went). */
	void (*free)(void *ctx);
	/* What holds the key, for messages (a device's name). */
	const char *(*name)(const void *ctx);
	/* The public half as the holder knows it now, referenced (the
	 * caller frees it), or NULL while the holder was never reached: a
	 * key whose device came back after the config loaded still has its
	 * signatures checked. */
	EVP_PKEY *(*public_key)(void *ctx);
} key_backend;

struct key_proc; /* key_proc.c */

struct vdkim_key {
	atomic_int refs;
	EVP_PKEY *pkey;
	/*
	 * Signing contexts set up once (algorithm fetched, padding and digest
	 * chosen) and duplicated per message: a copy costs far less than a
	 * fresh set-up, and the templates themselves are never modified, so
	 * threads may copy them at once.  An RSA template belongs to one
	 * process, which holds the key's blinding (key_proc.h): a forked
	 * child makes its own on its first signature.
	 */
	_Atomic(struct key_proc *) rsa_proc; /* RSA: key_proc_template */
	EVP_MD_CTX *ed_tmpl;      /* Ed25519: EVP_DigestSign ready */
	vdkim_key_type type;
	unsigned bits;
	char warning[160]; /* empty when there is nothing to say */
	/* A key held elsewhere (key_backend): pkey is then only its public
	 * half (NULL until the holder was first reached), and signing goes
	 * through the backend.  NULL for a software key. */
	const key_backend *backend;
	void *backend_ctx;
};

/* The largest key file read (a PEM RSA-4096 key is about 3.3 KB). */
#define KEY_FILE_MAX (64 * 1024)

/* The largest signature any accepted key makes (RSA-4096). */
#define KEY_MAX_SIG_BYTES 512

/*
 * Signs a SHA-256 digest: RSASSA-PKCS1-v1_5 for RSA, Ed25519 over the
 * 32-byte digest for Ed25519 (RFC 8463 3).  sig holds KEY_MAX_SIG_BYTES.
 */
vdkim_rc key_sign_digest(const vdkim_key *key, const unsigned char *digest,
    size_t dlen, unsigned char *sig, size_t *siglen, vdkim_error *err);

/*
 * Checks sig over digest with the key's public half, as a receiver will:
 * VDKIM_OK when it verifies, VDKIM_ESELFCHECK when it does not (a fault
 * in the signer: the signature must not leave) or when the public half
 * is unknown (a device not reached when the key was loaded), and
 * VDKIM_ECRYPTO or VDKIM_ENOMEM when the check itself cannot be made.
 */
vdkim_rc key_verify_digest(const vdkim_key *key, const unsigned char *digest,
    size_t dlen, const unsigned char *sig, size_t siglen, vdkim_error *err);

/* 1 when signatures made with key are to be checked before they leave:
 * always for a device's key, else as asked (self_check is
 * vdkim_sig_spec.self_check: 1, 0, or VDKIM_SELF_CHECK_DEFAULT). */
int key_wants_self_check(const vdkim_key *key, int self_check);

/* Checks that pkey suits DKIM (RSA 1024..4096 bits, or Ed25519); fills
 * type, bits and the warning (NULL: none wanted). */
vdkim_rc key_check_pkey(EVP_PKEY *pkey, const char *label,
    vdkim_key_type *type, unsigned *bits, char *warning, size_t wlen,
    vdkim_error *err);

/* Wraps an EVP_PKEY (taking ownership) after checking type and size. */
vdkim_rc key_from_pkey(EVP_PKEY *pkey, const char *label, vdkim_key **out,
    vdkim_error *err);

/*
 * A key held elsewhere: signing and freeing go to backend, with ctx, which
 * the key owns once this succeeds (on failure the caller still does).  It
 * is taken for RSA with no public half until the caller fills them in
 * (pkey, then key_check_pkey).
 */
vdkim_rc key_new_external(const key_backend *backend, void *ctx,
    vdkim_key **out, vdkim_error *err);
/* The backend's context when key is held by backend, else NULL. */
void *key_external_ctx(const vdkim_key *key, const key_backend *backend);
/* 1 when the key's private half is held elsewhere. */
int key_is_external(const vdkim_key *key);
/* What holds the key (its backend's name), or NULL for a software key. */
const char *key_holder_name(const vdkim_key *key);

/*
 * vdkim_key_load_file, refusing a file whose mode has any bit of refuse
 * (S_IWGRP | S_IWOTH: others could replace the key; secret.h reads it);
 * *mode, when not NULL, gets the file's permission bits (to warn about a
 * key every user can read).
 */
vdkim_rc key_load_file_mode(const char *path, mode_t refuse, mode_t *mode,
    vdkim_key **out, vdkim_error *err);

#endif
