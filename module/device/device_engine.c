/*
 * device_engine.c - devices behind an OpenSSL ENGINE (libp11's "pkcs11").
 *
 * ENGINEs are deprecated in OpenSSL 3 and gone in OpenSSL 4, so this path
 * is built only with VDKIM_ENGINE=1 (the default on Debian 12's 3.0) and
 * when OpenSSL still declares the ENGINE API; the provider path is the
 * main one.  Deprecation warnings are silenced for this file alone.
 *
 * OpenSSL keeps ENGINEs in a process-wide list: that global state cannot
 * be avoided on this path.  vdkim stays out of it: each session is a
 * private instance loaded through "dynamic" with LIST_ADD=0, so it is not
 * in the list, is never shared with an engine the host configured, and is
 * never made a default for any algorithm (the host's TLS is untouched).
 *
 * The instance is the device's, not a session's (d->backend_state):
 * OpenSSL cannot load a second instance of a dynamic engine into a process
 * while one exists (nor in a child while the parent's copy does), so the
 * instance outlives sessions: a new session (after a failure, or in a
 * forked child) reuses it.  Each session holds the instance's only
 * functional reference (keys do not: engine_load_key), so once every key
 * has let go of a retired session, ENGINE_finish shuts libp11 down and the
 * next session's ENGINE_init starts it again with fresh slots and object
 * handles: a token that comes back is used again without a restart.
 * libp11 notices a fork itself and starts its PKCS#11 module again in the
 * child; the parent's key handles are never used there.
 *
 * For the same reason a reload that changes a device's other settings
 * (its PIN file, retry-interval, ...) shares the old device's instance
 * (engine_share): a new one could not be loaded while the old policy,
 * still signing the messages under way, holds it.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/opensslconf.h>

#include "device_backend.h"
#include "error.h"

#if defined(VDKIM_ENGINE) && VDKIM_ENGINE && !defined(OPENSSL_NO_ENGINE) && \
    !defined(OPENSSL_NO_DEPRECATED_3_0)

#include <openssl/engine.h>
#include <openssl/ui.h>

int
engine_supported(void)
{
	return 1;
}

/* ENGINESDIR as the library reports it: ENGINESDIR: "/usr/lib/..." */
static int
engines_dir(char *buf, size_t len)
{
	const char *v = OpenSSL_version(OPENSSL_ENGINES_DIR);
	const char *q1 = v ? strchr(v, '"') : NULL;
	const char *q2 = q1 ? strchr(q1 + 1, '"') : NULL;

	if (q2 == NULL || (size_t)(q2 - q1 - 1) >= len)
		return -1;
	memcpy(buf, q1 + 1, (size_t)(q2 - q1 - 1));
	buf[q2 - q1 - 1] = '\0';
	return 0;
}

/* One "NAME" or "NAME:VALUE" control command. */
static int
run_cmd(ENGINE *e, const char *cmd)
{
	const char *colon = strchr(cmd, ':');
	char name[128];

	if (colon == NULL)
		return ENGINE_ctrl_cmd_string(e, cmd, NULL, 0);
	if ((size_t)(colon - cmd) >= sizeof(name))
		return 0;
	memcpy(name, cmd, (size_t)(colon - cmd));
	name[colon - cmd] = '\0';
	return ENGINE_ctrl_cmd_string(e, name, colon + 1, 0);
}

static vdkim_rc
engine_open(device *d, dev_session *s, vdkim_error *err)
{
	char dir[512];
	ENGINE *e;
	int ok;
	vdkim_rc code = VDKIM_EDEV_UNAVAILABLE;
	const char *what;

	if (d->backend_state != NULL) {
		/* The kept instance (above).  When no session holds it,
		 * its functional count is 0 (engine_load_key keeps keys from
		 * holding it) and this starts libp11 afresh: module, slots,
		 * token, login and object handles are looked up again, which
		 * is how a token that came back is found. */
		ERR_clear_error();
		if (!ENGINE_init(d->backend_state))
			return device_fail(d, err, VDKIM_EDEV_UNAVAILABLE,
			    "initialising the engine");
		s->engine = d->backend_state;
		return VDKIM_OK;
	}
	ERR_clear_error();
	e = ENGINE_by_id("dynamic");
	if (e == NULL)
		return device_fail(d, err, VDKIM_EDEV_ERROR,
		    "finding OpenSSL's dynamic engine loader");
	if (d->cfg.so_path != NULL)
		ok = ENGINE_ctrl_cmd_string(e, "SO_PATH", d->cfg.so_path, 0) &&
		    ENGINE_ctrl_cmd_string(e, "ID", d->cfg.module, 0);
	else
		ok = engines_dir(dir, sizeof(dir)) == 0 &&
		    ENGINE_ctrl_cmd_string(e, "ID", d->cfg.module, 0) &&
		    ENGINE_ctrl_cmd_string(e, "DIR_LOAD", "2", 0) &&
		    ENGINE_ctrl_cmd_string(e, "DIR_ADD", dir, 0);
	ok = ok && ENGINE_ctrl_cmd_string(e, "LIST_ADD", "0", 0) &&
	    ENGINE_ctrl_cmd_string(e, "LOAD", NULL, 0);
	if (!ok) {
		what = "loading the engine";
		goto fail;
	}
	if (d->cfg.module_path != NULL &&
	    !ENGINE_ctrl_cmd_string(e, "MODULE_PATH", d->cfg.module_path, 0)) {
		what = "setting its MODULE_PATH";
		goto fail;
	}
	for (size_t i = 0; i < d->cfg.ninit; i++)
		if (!run_cmd(e, d->cfg.init_cmds[i])) {
			code = VDKIM_EDEV_ERROR;
			what = "an init-command";
			goto fail;
		}
	if (!ENGINE_init(e)) {
		what = "initialising the engine";
		goto fail;
	}
	/* The structural reference is the device's (engine_release), the
	 * functional one the session's (engine_close). */
	d->backend_state = e;
	d->backend_pid = getpid();
	s->engine = e;
	return VDKIM_OK;
fail:
	ENGINE_free(e);
	return device_fail(d, err, code, what);
}

static void
engine_close(dev_session *s)
{
	if (s->engine != NULL)
		ENGINE_finish(s->engine); /* the instance stays */
	s->engine = NULL;
}

static void
engine_release(device *d)
{
	ENGINE *e = d->backend_state;

	/* A child leaves the parent's instance alone, as with sessions. */
	if (e == NULL || d->backend_pid != getpid())
		return;
	ENGINE_free(e);
	d->backend_state = NULL;
}

/*
 * The instance of prev, when d's would be made from the same engine, the
 * same PKCS#11 module and the same init-commands, and prev's was made in
 * this process.  Each device holds a structural reference of its own.
 */
static void
engine_share(device *d, device *prev)
{
	ENGINE *e = prev->backend_state;

	if (e == NULL || prev->backend_pid != getpid() ||
	    d->backend_state != NULL ||
	    !dev_same_text(d->cfg.module, prev->cfg.module) ||
	    !dev_same_text(d->cfg.so_path, prev->cfg.so_path) ||
	    !dev_same_text(d->cfg.module_path, prev->cfg.module_path) ||
	    !dev_same_list(d->cfg.init_cmds, d->cfg.ninit, prev->cfg.init_cmds,
	    prev->cfg.ninit))
		return;
	if (!ENGINE_up_ref(e))
		return; /* d then tries an instance of its own */
	d->backend_state = e;
	d->backend_pid = getpid();
}

static vdkim_rc
engine_load_key(device *d, dev_session *s, const char *uri,
    const device_credentials *c, EVP_PKEY **out, vdkim_error *err)
{
	ENGINE *e = s->engine;

	/* libp11 logs in with the PIN given by control, else asks the UI. */
	if (c->pin == NULL || ENGINE_ctrl_cmd_string(e, "PIN", c->pin, 0))
		*out = ENGINE_load_private_key(e, uri, c->ui, c->pin);
	if (*out == NULL)
		return device_fail(d, err, VDKIM_EDEV_UNAVAILABLE,
		    "opening the key");
	/*
	 * libp11 (0.4.12) keeps the EVP_PKEY it hands out in its own key
	 * cache and sets the key's engine, a functional reference to the
	 * instance.  That reference lives as long as the cache, and the
	 * cache as long as the instance: the instance's functional count
	 * never reaches 0 again, so ENGINE_finish never reaches libp11,
	 * its slots, token and object handles are never looked up anew,
	 * and a token that went away and came back stays unusable
	 * ("Object handle invalid") until the process ends.  The key does
	 * not need the reference: its RSA method (libp11's) does the
	 * signing.  Dropping it makes the session's ENGINE_init the only
	 * one, so a retired session's ENGINE_finish shuts libp11 down and
	 * the next session starts it afresh (engine_open).
	 */
	if (!EVP_PKEY_set1_engine(*out, NULL)) {
		EVP_PKEY_free(*out);
		*out = NULL;
		return device_fail(d, err, VDKIM_EDEV_ERROR,
		    "detaching the key from the engine");
	}
	return VDKIM_OK;
}

const device_ops device_engine_ops = {
	engine_open, engine_close, engine_load_key, engine_release,
	engine_share
};

#else /* no ENGINE path in this build */

int
engine_supported(void)
{
	return 0;
}

static vdkim_rc
engine_open(device *d, dev_session *s, vdkim_error *err)
{
	(void)s;
	return vdkim_fail(err, VDKIM_EDEV_UNAVAILABLE, "device %s: this vdkim "
	    "was built without the ENGINE path (VDKIM_ENGINE=0, or an OpenSSL "
	    "without ENGINEs); use an openssl-provider", d->cfg.name);
}

static void
engine_close(dev_session *s)
{
	(void)s;
}

static vdkim_rc
engine_load_key(device *d, dev_session *s, const char *uri,
    const device_credentials *c, EVP_PKEY **out, vdkim_error *err)
{
	(void)uri;
	(void)c;
	*out = NULL;
	return engine_open(d, s, err);
}

const device_ops device_engine_ops = {
	engine_open, engine_close, engine_load_key, NULL, NULL
};

#endif
