/*
 * device_backend.h - what a kind of device (an OpenSSL provider, an
 * OpenSSL ENGINE) gives device.c, and the little device.c gives back.
 *
 * device.c reaches a backend only through its device_ops table, chosen
 * once by the config's kind (device_new), as Redis's ae reaches epoll or
 * kqueue.  A backend calls into device.c only through the helpers below:
 * the PIN, and turning OpenSSL's error queue into a device code.
 */
#ifndef VDKIM_DEVICE_BACKEND_H
#define VDKIM_DEVICE_BACKEND_H

#include "device.h"

struct device_ops {
	/*
	 * Opens the device in this process into s (under the device's
	 * lock).  On failure device.c closes what was opened of it.
	 */
	vdkim_rc (*open)(device *d, dev_session *s, vdkim_error *err);
	/* Closes a session this process opened (under the device's lock). */
	void (*close)(dev_session *s);
	/* Loads the private key at uri in session s (under the lock),
	 * logging in with c (the PIN and a UI that answers with it, got and
	 * freed by device.c); OpenSSL's error queue is clear on entry. */
	vdkim_rc (*load_key)(device *d, dev_session *s, const char *uri,
	    const device_credentials *c, EVP_PKEY **out, vdkim_error *err);
	/* Frees what the backend keeps per device (d->backend_state) at
	 * the device's last reference; NULL when it keeps nothing. */
	void (*release)(device *d);
	/* Gives d (new, never opened) what prev keeps per device when it
	 * can serve d's settings too (under prev's sess_lock); NULL when the
	 * backend keeps nothing per device. */
	void (*share)(device *d, device *prev);
};

extern const device_ops device_provider_ops;  /* device_provider.c */
extern const device_ops device_engine_ops;    /* device_engine.c */

/*
 * The helpers a backend may call (device.c; declared in device.h):
 *   device_credentials_get / device_credentials_free  the PIN and a UI
 *   device_fail  the OpenSSL error queue as a device code and a sentence
 */

/* 1 when two optional strings (NULL: not set) are the same. */
int dev_same_text(const char *a, const char *b);
/* 1 when two lists of strings are the same, in the same order. */
int dev_same_list(char *const *a, size_t na, char *const *b, size_t nb);

#endif
