/*
 * device.c - a declared device: its sessions per process, its lock, its
 * PIN, and what its failures mean.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ui.h>

#include "device_backend.h"
#include "error.h"
#include "secret.h"

#define PIN_MAX 256
#define PIN_FILE_MAX 4096 /* the first line is the PIN */

static void
free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
dev_config_free(dev_config *c)
{
	free(c->name);
	free(c->module);
	free(c->so_path);
	free(c->module_path);
	free_strings(c->init_cmds, c->ninit);
	free(c->propq);
	free(c->ossl_config);
	free(c->pin_file);
	free(c->pin_env);
	free_strings(c->schemes, c->nschemes);
	memset(c, 0, sizeof(*c));
}

device *
device_new(dev_config *cfg)
{
	device *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	atomic_init(&d->refs, 1);
	d->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	d->ops = d->cfg.kind == DEV_ENGINE ? &device_engine_ops :
	    &device_provider_ops;
	pthread_mutex_init(&d->call_lock, NULL);
	pthread_mutex_init(&d->sess_lock, NULL);
	return d;
}

int
dev_same_text(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

int
dev_same_list(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

int
dev_config_same(const dev_config *a, const dev_config *b)
{
	return a->kind == b->kind && dev_same_text(a->name, b->name) &&
	    dev_same_text(a->module, b->module) &&
	    dev_same_text(a->so_path, b->so_path) &&
	    dev_same_text(a->module_path, b->module_path) &&
	    dev_same_list(a->init_cmds, a->ninit, b->init_cmds, b->ninit) &&
	    dev_same_text(a->propq, b->propq) &&
	    dev_same_text(a->ossl_config, b->ossl_config) &&
	    dev_same_text(a->pin_file, b->pin_file) &&
	    dev_same_text(a->pin_env, b->pin_env) &&
	    dev_same_list(a->schemes, a->nschemes, b->schemes, b->nschemes) &&
	    a->serialize == b->serialize && a->retry_s == b->retry_s &&
	    a->timeout_ms == b->timeout_ms;
}

void
device_share_backend(device *d, device *prev)
{
	if (d == prev || d->ops != prev->ops || d->ops->share == NULL)
		return;
	/* prev's backend state is set when its first session opens, under
	 * its sess_lock (device_session). */
	pthread_mutex_lock(&prev->sess_lock);
	d->ops->share(d, prev);
	pthread_mutex_unlock(&prev->sess_lock);
}

device *
device_ref(device *d)
{
	if (d != NULL)
		atomic_fetch_add(&d->refs, 1);
	return d;
}

void
device_unref(device *d)
{
	if (d == NULL || atomic_fetch_sub(&d->refs, 1) != 1)
		return;
	if (d->sess != NULL)
		session_unref(d, d->sess);
	if (d->ops->release != NULL)
		d->ops->release(d);
	pthread_mutex_destroy(&d->call_lock);
	pthread_mutex_destroy(&d->sess_lock);
	dev_config_free(&d->cfg);
	free(d);
}

int
device_is_uri(const char *t)
{
	const char *p = t;

	if (p == NULL)
		return 0;
	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return 0;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	    (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.')
		p++;
	return *p == ':' && p - t >= 2; /* "C:" is not a scheme */
}

int
device_handles(const device *d, const char *uri)
{
	size_t n = strcspn(uri, ":");

	for (size_t i = 0; i < d->cfg.nschemes; i++)
		if (strlen(d->cfg.schemes[i]) == n &&
		    strncasecmp(d->cfg.schemes[i], uri, n) == 0)
			return 1;
	return 0;
}

/* ------------------------------------------------------------ locking */

int
device_timedlock(const device *d, pthread_mutex_t *m)
{
	struct timespec until;

	if (pthread_mutex_trylock(m) == 0)
		return 0; /* not contended: no clock read */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += d->cfg.timeout_ms / 1000;
	until.tv_nsec += (d->cfg.timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	return pthread_mutex_timedlock(m, &until);
}

/*
 * A call into the device starts with OpenSSL's error queue empty, so the
 * errors device_fail reports are the call's own, and leaves it empty, so
 * what a device leaves behind when it succeeds (SoftHSM2's failed lookup
 * of an "rdrand" engine at every start) never shows up in a later,
 * unrelated sentence.  Hence the clearing even when not serialised.
 */
vdkim_rc
device_enter(device *d, vdkim_error *err)
{
	int rc;

	ERR_clear_error();
	if (!d->cfg.serialize)
		return VDKIM_OK;
	rc = device_timedlock(d, &d->call_lock);
	if (rc == ETIMEDOUT)
		return vdkim_fail(err, VDKIM_EDEV_TIMEOUT, "device %s: busy, "
		    "no turn within %ld ms (a call into it is hanging, or "
		    "raise its timeout)", d->cfg.name, d->cfg.timeout_ms);
	if (rc != 0)
		return vdkim_fail(err, VDKIM_EDEV_ERROR, "device %s: cannot "
		    "take its lock: %s", d->cfg.name, strerror(rc));
	return VDKIM_OK;
}

void
device_leave(device *d)
{
	ERR_clear_error();
	if (d->cfg.serialize)
		pthread_mutex_unlock(&d->call_lock);
}

/* ----------------------------------------------------------- sessions */

void
session_unref(device *d, dev_session *s)
{
	vdkim_error ignored;

	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	/*
	 * A session opened by another process (our parent, before fork) is
	 * left as it is: closing it here could log the parent out of its
	 * token or close the TPM connection it still uses.  The memory is
	 * the child's copy; it is bounded (one session per device).
	 */
	if (s->pid != getpid())
		return;
	if (device_enter(d, &ignored) != VDKIM_OK)
		return; /* a hung device: leak the session, do not hang too */
	d->ops->close(s);
	device_leave(d);
	free(s);
}

vdkim_rc
device_session(device *d, dev_session **out, vdkim_error *err)
{
	pid_t pid = getpid();
	dev_session *s;
	vdkim_rc rc;

	pthread_mutex_lock(&d->sess_lock);
	if (d->sess != NULL && d->sess->pid != pid)
		d->sess = NULL; /* the parent's: never used here */
	if (d->sess != NULL) {
		atomic_fetch_add(&d->sess->refs, 1);
		*out = d->sess;
		pthread_mutex_unlock(&d->sess_lock);
		return VDKIM_OK;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		pthread_mutex_unlock(&d->sess_lock);
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	}
	s->pid = pid;
	rc = device_enter(d, err);
	if (rc == VDKIM_OK) {
		rc = d->ops->open(d, s, err);
		if (rc != VDKIM_OK)
			d->ops->close(s); /* what was opened of it */
		device_leave(d);
	}
	if (rc != VDKIM_OK) {
		free(s);
		pthread_mutex_unlock(&d->sess_lock);
		return rc;
	}
	atomic_init(&s->refs, 2); /* the device's and the caller's */
	atomic_init(&s->retired, 0);
	d->sess = s;
	*out = s;
	pthread_mutex_unlock(&d->sess_lock);
	return VDKIM_OK;
}

vdkim_rc
device_load_key(device *d, dev_session *s, const char *uri, EVP_PKEY **out,
    vdkim_error *err)
{
	device_credentials c;
	vdkim_rc rc;

	*out = NULL;
	rc = device_credentials_get(d, &c, err);
	if (rc != VDKIM_OK)
		return rc;
	ERR_clear_error();
	rc = d->ops->load_key(d, s, uri, &c, out, err);
	device_credentials_free(&c);
	return rc;
}

void
device_retire(device *d, dev_session *s)
{
	int was_current;

	atomic_store(&s->retired, 1);
	pthread_mutex_lock(&d->sess_lock);
	was_current = d->sess == s;
	if (was_current)
		d->sess = NULL;
	pthread_mutex_unlock(&d->sess_lock);
	if (was_current)
		session_unref(d, s);
}

/* ---------------------------------------------------------------- PIN */

vdkim_rc
device_pin(const device *d, char **pin, vdkim_error *err)
{
	vdkim_secret file;
	vdkim_error why;
	size_t n;

	*pin = NULL;
	if (d->cfg.pin_env != NULL) {
		const char *v = getenv(d->cfg.pin_env);

		if (v == NULL)
			return vdkim_fail(err, VDKIM_EDEV_PIN, "device %s: "
			    "the environment variable %s (pin-env) is not set",
			    d->cfg.name, d->cfg.pin_env);
		*pin = strdup(v);
		return *pin ? VDKIM_OK : vdkim_fail(err, VDKIM_ENOMEM,
		    "out of memory");
	}
	if (d->cfg.pin_file == NULL)
		return VDKIM_OK;
	/* The PIN opens the device to whoever reads it: only the file's
	 * owner may (no group either, unlike a key file, which a service
	 * group may read: the device holds the key, the PIN is all it
	 * takes to use it). */
	if (vdkim_secret_read(d->cfg.pin_file, "pin-file", S_IRWXG | S_IRWXO,
	    PIN_FILE_MAX, VDKIM_EDEV_PIN, &file, &why) != VDKIM_OK)
		return vdkim_fail(err, why.rc, "device %s: %s", d->cfg.name,
		    why.msg);
	n = strcspn(file.data, "\r\n");
	if (n == 0 || n > PIN_MAX) {
		vdkim_secret_free(&file);
		return vdkim_fail(err, VDKIM_EDEV_PIN, "device %s: the pin-file "
		    "%s holds no PIN on its first line (or one over %d "
		    "bytes)", d->cfg.name, d->cfg.pin_file, PIN_MAX);
	}
	*pin = strndup(file.data, n);
	vdkim_secret_free(&file);
	return *pin ? VDKIM_OK : vdkim_fail(err, VDKIM_ENOMEM,
	    "out of memory");
}

int
device_pin_cb(char *buf, int size, int rwflag, void *u)
{
	const char *pin = u;
	int n;

	(void)rwflag;
	if (pin == NULL)
		return -1;
	n = (int)strlen(pin);
	if (n > size)
		return -1;
	memcpy(buf, pin, (size_t)n);
	return n;
}

vdkim_rc
device_credentials_get(const device *d, device_credentials *c,
    vdkim_error *err)
{
	vdkim_rc rc;

	c->ui = NULL;
	rc = device_pin(d, &c->pin, err);
	if (rc != VDKIM_OK)
		return rc;
	c->ui = UI_UTIL_wrap_read_pem_callback(device_pin_cb, 0);
	if (c->ui == NULL) {
		device_credentials_free(c);
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	}
	return VDKIM_OK;
}

void
device_credentials_free(device_credentials *c)
{
	if (c->ui != NULL)
		UI_destroy_method(c->ui);
	c->ui = NULL;
	if (c->pin != NULL) {
		OPENSSL_cleanse(c->pin, strlen(c->pin));
		free(c->pin);
	}
	c->pin = NULL;
}

/* ------------------------------------------------------------- errors */

/* OpenSSL's ENGINE_R_NO_SUCH_ENGINE and ENGINE_R_DSO_NOT_FOUND (engineerr.h,
 * which a build without ENGINEs may not have): the queue of a process
 * holds them whichever path the device takes. */
#define ENGINE_REASON_NO_SUCH_ENGINE 116
#define ENGINE_REASON_DSO_NOT_FOUND 132

/* Where skip_engine_probe is in the queue. */
typedef struct engine_probe {
	const device *d;
	int in_probe; /* inside a lookup's errors */
} engine_probe;

static int
has_any(const char *text, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strcasestr(text, *words) != NULL)
			return 1;
	return 0;
}

/*
 * What a failure means, from the words of the OpenSSL error queue.  The
 * backends report through OpenSSL's queue only, each in its own words
 * (libp11 names PKCS#11 return values, tpm2-openssl TSS2 codes), so the
 * words are the one thing they share.
 */
static vdkim_rc
classify(const char *text, vdkim_rc dflt)
{
	static const char *const pin[] = { "auth fail", "authorization",
	    "bad auth", "passphrase", NULL };
	static const char *const gone[] = { "not present", "no token",
	    "token not", "removed", "no such", "not found", "cannot find",
	    "could not find", "unable to find", "no slot", "IO failure",
	    "connect", "refused", "could not load", "unable to load",
	    "TCTI", "no matching", "device not", NULL };
	static const char *const slow[] = { "timeout", "timed out", NULL };

	/* "PIN" in capitals only: "pin" is inside too many words. */
	if (strstr(text, "PIN") != NULL || has_any(text, pin))
		return VDKIM_EDEV_PIN;
	if (has_any(text, slow))
		return VDKIM_EDEV_TIMEOUT;
	if (has_any(text, gone))
		return VDKIM_EDEV_UNAVAILABLE;
	return dflt;
}

/*
 * 1 for the errors of a lookup, inside the failed call, of an ENGINE
 * that is not the device's: SoftHSM2's C_Initialize asks OpenSSL for the
 * "rdrand" engine, which Debian's OpenSSL 3 does not have, and goes on
 * without it; the "no such engine" and the failed loading of rdrand.so
 * before it stay in the queue and would hide the device's own error.
 * Called newest first: the "no such engine" comes before (is newer than)
 * the DSO and "dso not found" errors of the same lookup.
 */
static int
skip_engine_probe(unsigned long code, const char *data, void *arg)
{
	engine_probe *p = arg;
	int lib = ERR_GET_LIB(code), reason = ERR_GET_REASON(code);
	char own[160];

	if (lib == ERR_LIB_ENGINE && reason == ENGINE_REASON_NO_SUCH_ENGINE) {
		snprintf(own, sizeof(own), "id=%s", p->d->cfg.module);
		p->in_probe = p->d->cfg.kind != DEV_ENGINE ||
		    strcmp(data, own) != 0;
		return p->in_probe;
	}
	if (p->in_probe && (lib == ERR_LIB_DSO || (lib == ERR_LIB_ENGINE &&
	    reason == ENGINE_REASON_DSO_NOT_FOUND)))
		return 1;
	p->in_probe = 0;
	return 0;
}

vdkim_rc
device_fail(const device *d, vdkim_error *err, vdkim_rc dflt,
    const char *what)
{
	engine_probe probe = { d, 0 };
	char text[VDKIM_ERRMSG_MAX];
	vdkim_rc rc;

	/* Newest first: the failure, then the device's own words for it
	 * (a PKCS#11 module's CKR_..., a TSS2 code), then OpenSSL's. */
	if (vdkim_ssl_errors(text, sizeof(text), skip_engine_probe,
	    &probe) == 0)
		snprintf(text, sizeof(text), "no detail from the device");
	rc = classify(text, dflt);
	return vdkim_fail(err, rc, "device %s: %s failed (%s): %s",
	    d->cfg.name, what, vdkim_rc_name(rc), text);
}
