/*
 * key_device.c - signing with a key held by a device.
 *
 * Per process, a device key has a handle (the EVP_PKEY the backend gave,
 * in a session of its device) and a signing context set up once, copied
 * per signature.  A handle opened by another process (before fork) is
 * never used: the child opens its own.  A failure retires the handle and
 * its session; the next attempt, no sooner than retry-interval later,
 * opens the key afresh, so signing resumes by itself when the device is
 * back, and a device that is gone costs a quick refusal per message.
 *
 * The handle (struct dev_key) is shared: a reload that keeps the device
 * and the URI gives the new policy's key the old key's handle
 * (key_device_carry), so the new policy signs with what is open already
 * (a TPM's object handle cannot be opened twice in one session and closed
 * once).  What is the policy's own, the software fallback, is per key
 * (struct dev_key_use).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "error.h"
#include "key_device.h"
#include "key_record.h"

struct dev_key {
	atomic_int refs;           /* the keys using the handle */
	device *dev;
	char *uri;
	pthread_mutex_t lock;      /* guards everything below */
	pid_t pid;                 /* the process that opened pkey */
	dev_session *sess;         /* pkey's session (referenced) */
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *tmpl;        /* RSA PKCS#1 v1.5 / SHA-256, ready */
	unsigned char *pub_der;    /* the public key first seen */
	int pub_len;
	/* The same, parsed: set once (release) when the device is first
	 * reached, read without the lock (acquire) by the self-check of a
	 * key loaded while the device was away. */
	_Atomic(EVP_PKEY *) pub;
	time_t next_try;           /* no reopening before this */
	vdkim_error last;          /* what the last attempt met */
};

/* One vdkim_key's context: the shared handle, the policy's fallback. */
struct dev_key_use {
	struct dev_key *dk;
	vdkim_key *fallback;       /* software key, or NULL */
};

static time_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Forgets the handle; frees it only in the process that opened it. */
static void
drop_handle(struct dev_key *dk, int retire)
{
	device *d = dk->dev;
	vdkim_error ignored;

	if (dk->pid == getpid() && dk->sess != NULL) {
		/* Freeing a device key talks to the device (a TPM flushes
		 * its handle): under the device's lock. */
		if (device_enter(d, &ignored) == VDKIM_OK) {
			EVP_PKEY_CTX_free(dk->tmpl);
			EVP_PKEY_free(dk->pkey);
			device_leave(d);
		}
		if (retire)
			device_retire(d, dk->sess);
		session_unref(d, dk->sess);
	}
	dk->tmpl = NULL;
	dk->pkey = NULL;
	dk->sess = NULL;
	dk->pid = getpid();
}

static vdkim_rc
make_template(struct dev_key *dk, dev_session *s, EVP_PKEY *pkey,
    EVP_PKEY_CTX **out, vdkim_error *err)
{
	EVP_PKEY_CTX *c;

	ERR_clear_error();
	c = EVP_PKEY_CTX_new_from_pkey(s->libctx, pkey, dk->dev->cfg.propq);
	if (c == NULL || EVP_PKEY_sign_init(c) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) != 1) {
		EVP_PKEY_CTX_free(c);
		return device_fail(dk->dev, err, VDKIM_EDEV_ERROR,
		    "setting up RSA signing with the key");
	}
	*out = c;
	return VDKIM_OK;
}

/* 1 when pkey's public half is the one first seen, 0 when it differs,
 * -1 when it cannot be encoded. */
static int
same_public(const struct dev_key *dk, EVP_PKEY *pkey)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(pkey, &der), same;

	if (n <= 0)
		return -1;
	same = n == dk->pub_len && memcmp(der, dk->pub_der, (size_t)n) == 0;
	OPENSSL_free(der);
	return same;
}

/* Makes the public key first seen readable by key_backend.public_key
 * (dk->lock held; once per handle). */
static void
publish_public(struct dev_key *dk)
{
	const unsigned char *p = dk->pub_der;
	EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, dk->pub_len);

	/* Without it the self-check of a key loaded while the device was
	 * away fails and says so: nothing unchecked leaves. */
	atomic_store_explicit(&dk->pub, pub, memory_order_release);
}

/* Checks the key against what it was; records its public half. */
static vdkim_rc
check_identity(struct dev_key *dk, EVP_PKEY *pkey, vdkim_error *err)
{
	int same;

	if (!EVP_PKEY_is_a(pkey, "RSA"))
		return vdkim_fail(err, VDKIM_EDEV_ERROR, "device %s: the key at "
		    "%s is not an RSA key (device keys must be RSA)",
		    dk->dev->cfg.name, dk->uri);
	if (dk->pub_der == NULL) {
		dk->pub_len = i2d_PUBKEY(pkey, &dk->pub_der);
		same = dk->pub_len > 0 ? 1 : -1;
		if (same > 0)
			publish_public(dk);
	} else {
		same = same_public(dk, pkey);
	}
	if (same < 0)
		return device_fail(dk->dev, err, VDKIM_EDEV_ERROR,
		    "reading the key's public half");
	if (same == 0)
		return vdkim_fail(err, VDKIM_EDEV_ERROR, "device %s: the key at "
		    "%s is no longer the one loaded with the config (its "
		    "public key differs): reload the config", dk->dev->cfg.name,
		    dk->uri);
	return VDKIM_OK;
}

/* key_backend.public_key */
static EVP_PKEY *
dev_key_public(void *key_ctx)
{
	struct dev_key_use *u = key_ctx;
	EVP_PKEY *pub = atomic_load_explicit(&u->dk->pub,
	    memory_order_acquire);

	if (pub != NULL && EVP_PKEY_up_ref(pub) != 1)
		pub = NULL;
	return pub;
}

/* Opens the key in this process (dk->lock held). */
static vdkim_rc
open_handle(struct dev_key *dk, vdkim_error *err)
{
	device *d = dk->dev;
	dev_session *s;
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *tmpl = NULL;
	vdkim_rc rc;

	rc = device_session(d, &s, err);
	if (rc != VDKIM_OK)
		return rc;
	rc = device_enter(d, err);
	if (rc != VDKIM_OK) {
		session_unref(d, s);
		return rc;
	}
	rc = device_load_key(d, s, dk->uri, &pkey, err);
	if (rc == VDKIM_OK)
		rc = check_identity(dk, pkey, err);
	if (rc == VDKIM_OK)
		rc = make_template(dk, s, pkey, &tmpl, err);
	if (rc != VDKIM_OK)
		EVP_PKEY_free(pkey);
	device_leave(d);
	if (rc != VDKIM_OK) {
		/* The session may be what failed (token gone, TPM link
		 * lost): the next attempt starts from a fresh one. */
		if (rc == VDKIM_EDEV_UNAVAILABLE || rc == VDKIM_EDEV_ERROR)
			device_retire(d, s);
		session_unref(d, s);
		return rc;
	}
	dk->pkey = pkey;
	dk->tmpl = tmpl;
	dk->sess = s;
	dk->pid = getpid();
	return VDKIM_OK;
}

/* Takes dk->lock, waiting no longer than the device would be waited for. */
static vdkim_rc
lock_key(struct dev_key *dk, vdkim_error *err)
{
	if (device_timedlock(dk->dev, &dk->lock) != 0)
		return vdkim_fail(err, VDKIM_EDEV_TIMEOUT, "device %s: the key "
		    "%s is being opened by another thread for over %ld ms",
		    dk->dev->cfg.name, dk->uri, dk->dev->cfg.timeout_ms);
	return VDKIM_OK;
}

/*
 * A copy of the signing context and a reference to its session, opening
 * the key when this process has no handle and the retry time has come.
 */
static vdkim_rc
get_context(struct dev_key *dk, EVP_PKEY_CTX **ctx, dev_session **sess,
    vdkim_error *err)
{
	vdkim_rc rc = lock_key(dk, err);

	if (rc != VDKIM_OK)
		return rc;
	if (dk->pid != getpid()) {
		/* Forked: the handle is the parent's; open our own now. */
		drop_handle(dk, 0);
		dk->next_try = 0;
	} else if (dk->sess != NULL && atomic_load(&dk->sess->retired)) {
		/* Another key found the session broken: let go of it, so the
		 * device can start afresh (an engine only restarts once no
		 * key holds its old session), and open in the new one. */
		drop_handle(dk, 0);
	}
	if (dk->tmpl == NULL) {
		time_t now = mono_now();

		if (now < dk->next_try) {
			rc = vdkim_fail(err, dk->last.rc, "%s (next attempt "
			    "in %lds)", dk->last.msg,
			    (long)(dk->next_try - now));
		} else {
			rc = open_handle(dk, err);
			if (rc != VDKIM_OK) {
				dk->last = *err;
				dk->next_try = now + dk->dev->cfg.retry_s;
			}
		}
	}
	if (rc == VDKIM_OK) {
		*ctx = EVP_PKEY_CTX_dup(dk->tmpl);
		*sess = dk->sess;
		if (*ctx == NULL)
			rc = device_fail(dk->dev, err, VDKIM_EDEV_ERROR,
			    "copying the signing context");
		else
			atomic_fetch_add(&dk->sess->refs, 1);
	}
	pthread_mutex_unlock(&dk->lock);
	return rc;
}

/* After a failed signature: retire the handle so the next one reopens. */
static void
after_failure(struct dev_key *dk, dev_session *s, const vdkim_error *err)
{
	if (pthread_mutex_lock(&dk->lock) != 0)
		return;
	if (dk->sess == s && dk->pid == getpid()) {
		drop_handle(dk, 1);
		dk->last = *err;
		dk->next_try = mono_now() + dk->dev->cfg.retry_s;
	}
	pthread_mutex_unlock(&dk->lock);
}

/* Signs through the device itself, never the fallback. */
static vdkim_rc
device_sign(struct dev_key *dk, const unsigned char *digest, size_t dlen,
    unsigned char *sig, size_t *siglen, vdkim_error *err)
{
	device *d = dk->dev;
	EVP_PKEY_CTX *ctx = NULL;
	dev_session *s = NULL;
	vdkim_rc rc;

	*siglen = KEY_MAX_SIG_BYTES;
	rc = get_context(dk, &ctx, &s, err);
	if (rc == VDKIM_OK) {
		rc = device_enter(d, err);
		if (rc == VDKIM_OK) {
			ERR_clear_error();
			if (EVP_PKEY_sign(ctx, sig, siglen, digest, dlen) != 1)
				rc = device_fail(d, err, VDKIM_EDEV_ERROR,
				    "signing");
			EVP_PKEY_CTX_free(ctx);
			device_leave(d);
		} else {
			/* Not freed without the device's turn; it is a
			 * copy of a context whose key stays referenced. */
			EVP_PKEY_CTX_free(ctx);
		}
		if (rc != VDKIM_OK && rc != VDKIM_EDEV_TIMEOUT)
			after_failure(dk, s, err);
		session_unref(d, s);
	}
	return rc;
}

/* key_backend.sign */
static vdkim_rc
dev_key_sign(void *key_ctx, const unsigned char *digest, size_t dlen,
    unsigned char *sig, size_t *siglen, vdkim_error *err)
{
	struct dev_key_use *u = key_ctx;
	vdkim_rc rc = device_sign(u->dk, digest, dlen, sig, siglen, err);

	if (rc != VDKIM_OK && u->fallback != NULL)
		return key_sign_digest(u->fallback, digest, dlen, sig, siglen,
		    err);
	return rc;
}

static void
dev_key_unref(struct dev_key *dk)
{
	if (atomic_fetch_sub(&dk->refs, 1) != 1)
		return;
	drop_handle(dk, 0);
	OPENSSL_free(dk->pub_der);
	EVP_PKEY_free(atomic_load(&dk->pub));
	pthread_mutex_destroy(&dk->lock);
	device_unref(dk->dev);
	free(dk->uri);
	free(dk);
}

/* key_backend.free */
static void
dev_key_free(void *ctx)
{
	struct dev_key_use *u = ctx;

	if (u == NULL)
		return;
	vdkim_key_unref(u->fallback);
	dev_key_unref(u->dk);
	free(u);
}

/* key_backend.name */
static const char *
dev_key_name(const void *ctx)
{
	const struct dev_key_use *u = ctx;

	return u->dk->dev->cfg.name;
}

/* How the engine's key reaches a device key. */
static const key_backend dev_key_backend = {
	dev_key_sign, dev_key_free, dev_key_name, dev_key_public
};

/* A key using the handle dk (taking the caller's reference to it). */
static vdkim_rc
new_use(struct dev_key *dk, vdkim_key **out, vdkim_error *err)
{
	struct dev_key_use *u = calloc(1, sizeof(*u));
	vdkim_rc rc;

	if (u == NULL) {
		dev_key_unref(dk);
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	}
	u->dk = dk;
	rc = key_new_external(&dev_key_backend, u, out, err);
	if (rc != VDKIM_OK)
		dev_key_free(u);
	return rc;
}

/* The key's public half, type and size, from what dk first saw. */
static vdkim_rc
set_public(vdkim_key *key, const struct dev_key *dk, vdkim_error *err)
{
	const unsigned char *p = dk->pub_der;

	key->pkey = d2i_PUBKEY(NULL, &p, dk->pub_len);
	if (key->pkey == NULL)
		return vdkim_fail_ssl(err, VDKIM_ECRYPTO, "device %s: cannot "
		    "read the public key of %s", dk->dev->cfg.name, dk->uri);
	return key_check_pkey(key->pkey, dk->uri, &key->type, &key->bits,
	    key->warning, sizeof(key->warning), err);
}

vdkim_rc
key_device_open(device *d, const char *uri, vdkim_key **out,
    vdkim_error *err)
{
	struct dev_key *dk = calloc(1, sizeof(*dk));
	vdkim_key *key;
	vdkim_rc rc;

	if (dk == NULL || (dk->uri = strdup(uri)) == NULL) {
		free(dk);
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	}
	atomic_init(&dk->refs, 1);
	dk->dev = device_ref(d);
	dk->pid = getpid();
	pthread_mutex_init(&dk->lock, NULL);
	rc = new_use(dk, &key, err);
	if (rc != VDKIM_OK)
		return rc;
	rc = open_handle(dk, err);
	if (rc != VDKIM_OK) {
		dk->last = *err;
		dk->next_try = mono_now() + d->cfg.retry_s;
		*out = key;
		return rc;
	}
	/* The public half, as a plain key, for DNS records and checks. */
	rc = set_public(key, dk, err);
	if (rc != VDKIM_OK) {
		vdkim_key_unref(key);
		return rc;
	}
	*out = key;
	return VDKIM_OK;
}

vdkim_rc
key_device_carry(const vdkim_key *old, vdkim_key **out, vdkim_error *err)
{
	const struct dev_key_use *u = key_external_ctx(old, &dev_key_backend);
	struct dev_key *dk;
	vdkim_key *key;
	vdkim_rc rc;

	*out = NULL;
	if (u == NULL || old->pkey == NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "only a device key that "
		    "was reached is carried over");
	dk = u->dk;
	atomic_fetch_add(&dk->refs, 1);
	rc = new_use(dk, &key, err);
	if (rc != VDKIM_OK)
		return rc;
	rc = set_public(key, dk, err);
	if (rc != VDKIM_OK) {
		vdkim_key_unref(key);
		return rc;
	}
	/* A reload is an explicit request: a key waiting out its
	 * retry-interval after a failure tries again at its next use. */
	pthread_mutex_lock(&dk->lock);
	if (dk->tmpl == NULL)
		dk->next_try = 0;
	pthread_mutex_unlock(&dk->lock);
	*out = key;
	return VDKIM_OK;
}

vdkim_rc
key_device_test(const vdkim_key *key, vdkim_error *err)
{
	static const char probe[] = "vdkim: a device key's test signature";
	const struct dev_key_use *u = key_external_ctx(key, &dev_key_backend);
	struct dev_key *dk = u != NULL ? u->dk : NULL;
	unsigned char digest[32], sig[KEY_MAX_SIG_BYTES];
	size_t siglen;
	key_record pub;
	vdkim_rc rc;

	if (dk == NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "not a device key");
	/* Never reached (key_device_open failed): what the open met, not
	 * the retry-interval the per-message path would wait. */
	if (key->pkey == NULL)
		return vdkim_fail(err, dk->last.rc, "%s", dk->last.msg);
	if (EVP_Digest(probe, sizeof(probe) - 1, digest, NULL, EVP_sha256(),
	    NULL) != 1)
		return vdkim_fail_ssl(err, VDKIM_ECRYPTO, "SHA-256 failed");
	rc = device_sign(dk, digest, sizeof(digest), sig, &siglen, err);
	if (rc != VDKIM_OK)
		return rc;
	memset(&pub, 0, sizeof(pub));
	pub.type = VDKIM_KEY_RSA;
	pub.pkey = key->pkey;
	if (!key_record_verify(&pub, digest, sizeof(digest), sig, siglen))
		return vdkim_fail(err, VDKIM_EDEV_ERROR, "device %s: the key at "
		    "%s made a signature its public key does not verify",
		    dk->dev->cfg.name, dk->uri);
	return VDKIM_OK;
}

vdkim_rc
key_device_set_fallback(vdkim_key *key, vdkim_key *fallback,
    vdkim_error *err)
{
	struct dev_key_use *u = key_external_ctx(key, &dev_key_backend);

	if (u == NULL || key_is_external(fallback))
		return vdkim_fail(err, VDKIM_EINVAL, "a fallback key is a "
		    "software key given to a device key");
	if (u->dk->pub_der != NULL && same_public(u->dk, fallback->pkey) != 1)
		return vdkim_fail(err, VDKIM_EKEY, "the fallback key is not the "
		    "device's key pair (its public key differs), so its "
		    "signatures would not verify against the published "
		    "record");
	u->fallback = vdkim_key_ref(fallback);
	return VDKIM_OK;
}

vdkim_key *
key_device_fallback(const vdkim_key *key)
{
	const struct dev_key_use *u = key_external_ctx(key, &dev_key_backend);

	return u != NULL ? u->fallback : NULL;
}

const char *
key_device_name(const vdkim_key *key)
{
	return key_external_ctx(key, &dev_key_backend) != NULL ?
	    key_holder_name(key) : NULL;
}
