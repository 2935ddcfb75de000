/*
 * key_device.h - a DKIM key held by a device: the private key never leaves
 * it; vdkim keeps the URI, the public half, and per process a handle.
 */
#ifndef VDKIM_KEY_DEVICE_H
#define VDKIM_KEY_DEVICE_H

#include "device.h"
#include "key.h"

/*
 * Opens the key at uri in device d.  Unless memory runs out, *out is a
 * key even when the device cannot be reached now: it recovers by itself
 * (reopening no sooner than the device's retry-interval) and until then
 * signing fails with the device's code.  Such a key is taken for RSA
 * (devices here hold RSA keys) until the device is reached.  Returns what
 * the first attempt met.
 */
vdkim_rc key_device_open(device *d, const char *uri, vdkim_key **out,
    vdkim_error *err);

/*
 * A key for a reloaded policy that keeps old's device and URI: it shares
 * old's handle (opened once per process, in the device's session), with
 * no fallback of its own yet.  old must have been reached (its public
 * half known).  If old's handle is waiting out retry-interval after a
 * failure, its next use tries the device at once: a reload is an explicit
 * request.
 */
vdkim_rc key_device_carry(const vdkim_key *old, vdkim_key **out,
    vdkim_error *err);

/*
 * Signs once with the device (never the fallback) and checks the
 * signature against the key's public half: what a reload asks of a device
 * key before the new policy replaces the one in use.  A key that was
 * never reached fails with what its device met when it was opened.
 */
vdkim_rc key_device_test(const vdkim_key *key, vdkim_error *err);

/*
 * Gives a device key a software key to sign with while the device fails
 * (off unless configured).  Both must be the same key pair, which is
 * checked when the device's public key is known.
 */
vdkim_rc key_device_set_fallback(vdkim_key *key, vdkim_key *fallback,
    vdkim_error *err);

/* A device key's software fallback (not referenced), or NULL: none, or
 * a software key. */
vdkim_key *key_device_fallback(const vdkim_key *key);

/* The device's name, or NULL for a key no device holds. */
const char *key_device_name(const vdkim_key *key);

#endif
