/*
 * device.h - signing devices: PKCS#11 tokens through an OpenSSL ENGINE,
 * TPMs, offload cards and tokens through OpenSSL 3 providers.
 *
 * A device is declared in the config (openssl-provider / openssl-engine
 * blocks) and belongs to the policy that declared it.  Nothing of it is
 * global: a provider is loaded into an OSSL_LIB_CTX of the device's own,
 * an engine is a private, unlisted instance, and nothing is made an
 * OpenSSL default, so the host's own TLS never sees them.
 *
 * A session is the device opened in one process (the lib ctx and its
 * providers, or the engine instance with its PKCS#11 login).  Sessions
 * never cross fork(): a child opens its own on first use and leaves the
 * parent's alone (libp11 0.4.12 breaks when a session is reused after
 * fork, and a TPM connection must not be shared).  A session that failed
 * is retired; keys reopen in a fresh one, no sooner than retry-interval
 * after the failure, so a dead device costs one quick answer per message,
 * not one blocking attempt.
 *
 * A reload builds a new policy beside the running one.  A device whose
 * settings did not change is not declared anew: the new policy shares the
 * old one's device object (dev_config_same), sessions and all, so its keys
 * (key_device_carry) sign on in the session that is already there.  A changed device is a new
 * object; device_share_backend lets it reuse what its backend keeps per
 * device when that does not depend on what changed.
 */
#ifndef VDKIM_DEVICE_H
#define VDKIM_DEVICE_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "vdkim/dkim.h"

typedef enum dev_kind { DEV_PROVIDER = 1, DEV_ENGINE = 2 } dev_kind;

/* A kind of device, as device.c reaches it (device_backend.h). */
typedef struct device_ops device_ops;

/* What the config says about one device; strings are owned. */
typedef struct dev_config {
	char *name;
	int line;
	dev_kind kind;
	char *module;       /* provider: name or .so path; engine: its id */
	char *so_path;      /* engine: load it from this .so (dynamic) */
	char *module_path;  /* engine: MODULE_PATH (the PKCS#11 module) */
	char **init_cmds;   /* engine: "NAME" or "NAME:VALUE", in order */
	size_t ninit;
	char *propq;        /* provider: property query for every fetch */
	char *ossl_config;  /* provider: an OpenSSL config for the lib ctx */
	char *pin_file;     /* the PIN: first line of this file ... */
	char *pin_env;      /* ... or this environment variable */
	char **schemes;     /* key URI schemes routed to this device */
	size_t nschemes;
	int serialize;      /* one call into the device at a time */
	long retry_s;       /* after a failure, reopen no sooner */
	long timeout_ms;    /* longest wait for a serialised device */
} dev_config;

/* The device opened in one process. */
typedef struct dev_session {
	atomic_int refs;
	pid_t pid;
	OSSL_LIB_CTX *libctx;   /* provider: the device's own */
	OSSL_PROVIDER *prov[2]; /* the device's, default */
	void *engine;           /* engine: ENGINE * */
	atomic_int retired;     /* device_retire'd: keys reopen elsewhere */
} dev_session;

typedef struct device {
	atomic_int refs;
	dev_config cfg;
	const device_ops *ops;  /* the backend of cfg.kind */
	/* Held around every call into a serialised device. */
	pthread_mutex_t call_lock;
	/* Guards sess. */
	pthread_mutex_t sess_lock;
	dev_session *sess;      /* this process's current session or NULL */
	/* What the backend keeps per device beyond sessions, and the
	 * process that made it (the engine's instance: device_engine.c);
	 * device.c never reads it. */
	void *backend_state;
	pid_t backend_pid;
} device;

device *device_new(dev_config *cfg); /* takes cfg's strings */
/*
 * 1 when a and b declare the same device: every setting alike, the line
 * where it is declared aside.  A reload keeps such a device (above).
 */
int dev_config_same(const dev_config *a, const dev_config *b);
/*
 * Gives d, a device of a policy being loaded and never opened yet, what
 * prev's backend keeps per device when it can serve d too (an ENGINE
 * instance: the process cannot load a second one while prev's exists).
 * A no-op otherwise.
 */
void device_share_backend(device *d, device *prev);
device *device_ref(device *d);
void device_unref(device *d);
void dev_config_free(dev_config *cfg);

/* 1 when uri's scheme ("pkcs11", "handle", ...) is one of the device's. */
int device_handles(const device *d, const char *uri);
/* 1 when text looks like a URI ("scheme:...") rather than a file path. */
int device_is_uri(const char *text);

/*
 * The current session of this process, referenced (session_unref when
 * done), opening one if there is none.  Fails with a device code.
 */
vdkim_rc device_session(device *d, dev_session **out, vdkim_error *err);
/* Retires s if it is still the current one (after a failure in it); keys
 * still holding s let go of it at their next use. */
void device_retire(device *d, dev_session *s);
void session_unref(device *d, dev_session *s);

/* Serialisation: a no-op unless cfg.serialize; fails with
 * VDKIM_EDEV_TIMEOUT after timeout_ms. */
vdkim_rc device_enter(device *d, vdkim_error *err);
void device_leave(device *d);
/* Locks m, waiting no longer than the device's timeout; 0 or an errno. */
int device_timedlock(const device *d, pthread_mutex_t *m);

/* The PIN (malloc'd, caller cleanses and frees) or NULL when none is
 * configured; fails when the file or variable is missing. */
vdkim_rc device_pin(const device *d, char **pin, vdkim_error *err);
/* A pem_password_cb answering with the PIN passed as u (refusing when u
 * is NULL: the host has no terminal to prompt on). */
int device_pin_cb(char *buf, int size, int rwflag, void *u);

/*
 * What opening a key on the device needs: the PIN (NULL when none is
 * configured) and a UI method that answers with it, never prompting.
 * device_credentials_free cleanses the PIN and frees both.
 */
typedef struct device_credentials {
	char *pin;
	struct ui_method_st *ui;
} device_credentials;
vdkim_rc device_credentials_get(const device *d, device_credentials *c,
    vdkim_error *err);
void device_credentials_free(device_credentials *c);

/*
 * Turns the OpenSSL error queue after a failed device call into a device
 * code and a sentence "DEVICE: WHAT failed: DETAIL"; clears the queue.
 */
vdkim_rc device_fail(const device *d, vdkim_error *err, vdkim_rc dflt,
    const char *what);

/* Loads the private key at uri in session s, through the device's
 * backend; call between device_enter and device_leave. */
vdkim_rc device_load_key(device *d, dev_session *s, const char *uri,
    EVP_PKEY **out, vdkim_error *err);

/* 1 when this build has the ENGINE path (device_engine.c). */
int engine_supported(void);

#endif
