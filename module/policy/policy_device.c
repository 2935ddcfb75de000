/*
 * policy_device.c - the policy's device keys: opening them at load, their
 * software fallbacks, their lines in config-test's table.
 *
 * A device key that cannot be opened at load is still kept (unlike a bad
 * key file): the device may come back, and signing then resumes by
 * itself.  Until it does, signing with it fails with the device's code
 * (deferred under dkim-require), config-test counts it as an error and
 * shows the key as not reached (with what the device met, kept in the
 * key's error), never with a size it cannot know.
 *
 * A reload must never make a working device key unavailable: a device
 * whose block did not change is carried over with its sessions (a second
 * ENGINE instance could not even be loaded beside the first) and its keys
 * with their opened handles (a TPM's object cannot be opened twice in one
 * session and closed once); a handle that was failing tries again at its
 * next use, a key never reached is opened again at once, not
 * retry-interval after its last failure; and a new or changed device
 * must sign before the new policy replaces the old one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_device.h"
#include "device.h"
#include "error.h"
#include "key_device.h"
#include "policy_device.h"
#include "policy_model.h"
#include "strbuf.h"

const key_fallback *
policy_fallback_for(const vdkim_policy *p, const key_entry *k)
{
	for (size_t i = 0; i < p->nfallbacks; i++)
		if (strcmp(p->fallbacks[i].selector, k->selector) == 0 &&
		    strcmp(p->fallbacks[i].domain, k->domain) == 0)
			return &p->fallbacks[i];
	return NULL;
}

void
policy_attach_fallback(vdkim_policy *p, key_entry *k, const key_fallback *f,
    vdkim_key *fb)
{
	vdkim_error err;

	if (key_device_set_fallback(k->key, fb, &err) != VDKIM_OK)
		policy_warn(p, 1, "%s:%d: domain-key-fallback %s,%s: %s",
		    p->path, f->line, f->selector, f->domain, err.msg);
}

/* What key_check_pkey had to say about a key that opened. */
static void
warn_weak(vdkim_policy *p, const key_entry *k)
{
	if (vdkim_key_warning(k->key) != NULL)
		policy_warn(p, 0, "%s:%d: %s", p->path, k->line,
		    vdkim_key_warning(k->key));
}

void
policy_load_device_key(vdkim_policy *p, key_entry *k)
{
	device *d = policy_device_for(p, k->path);
	vdkim_error err;
	vdkim_rc rc;

	if (d == NULL) { /* conf_device.c refuses such a config */
		policy_key_set_error(k, "no device serves %s", k->path);
		return;
	}
	rc = key_device_open(d, k->path, &k->key, &err);
	if (rc != VDKIM_OK) {
		/* Kept or not, what the device met, with its code (a long
		 * sentence is cut to fit). */
		policy_key_set_error(k, "%s: %s", vdkim_rc_name(rc), err.msg);
		policy_warn(p, 1, "%s:%d: domain-key %s,%s: %s: %s%s", p->path,
		    k->line, k->selector, k->domain, vdkim_rc_name(rc), err.msg,
		    k->key != NULL ? " (kept: signing retries the device and "
		    "resumes when it answers)" : "");
	} else {
		warn_weak(p, k);
	}
}

int
policy_key_unopened(const vdkim_key *key)
{
	/* A device key has its public half from the first open that
	 * reached the device (key.h). */
	return key != NULL && key_is_external(key) && key->pkey == NULL;
}

void
policy_keep_devices(vdkim_policy *p, vdkim_policy *prev)
{
	for (size_t i = 0; i < p->ndevices; i++) {
		size_t j;

		for (j = 0; j < prev->ndevices; j++)
			if (dev_config_same(&p->devices[i]->cfg,
			    &prev->devices[j]->cfg))
				break;
		if (j < prev->ndevices) {
			device_unref(p->devices[i]);
			p->devices[i] = device_ref(prev->devices[j]);
			continue;
		}
		for (j = 0; j < prev->ndevices; j++)
			device_share_backend(p->devices[i], prev->devices[j]);
	}
}

/* prev's entry of the key at uri when p keeps its device, else NULL. */
static const key_entry *
carried_over(const vdkim_policy *p, const vdkim_policy *prev,
    const char *uri)
{
	if (policy_device_for(p, uri) != policy_device_for(prev, uri))
		return NULL;
	for (size_t i = 0; i < prev->nkeytab; i++)
		if (prev->keytab[i].rot == NULL &&
		    strcmp(prev->keytab[i].path, uri) == 0)
			return &prev->keytab[i];
	return NULL;
}

int
policy_carry_device_key(vdkim_policy *p, key_entry *k,
    const vdkim_policy *prev)
{
	const key_entry *old = prev != NULL ? carried_over(p, prev, k->path) :
	    NULL;
	vdkim_error err;

	/* A key never reached is opened afresh: at once, and so that the
	 * new policy knows its public half if the device answers now. */
	if (old == NULL || old->key == NULL || policy_key_unopened(old->key) ||
	    key_device_carry(old->key, &k->key, &err) != VDKIM_OK)
		return 0;
	warn_weak(p, k);
	return 1;
}

vdkim_rc
policy_test_new_device_keys(const vdkim_policy *p, const vdkim_policy *prev,
    vdkim_error *err)
{
	/* Device URIs are domain-key lines: rotation keys are files. */
	for (size_t i = 0; i < p->nkeytab; i++) {
		const key_entry *k = &p->keytab[i];
		size_t j;
		vdkim_error why;

		if (k->rot != NULL || k->key == NULL ||
		    key_device_name(k->key) == NULL ||
		    carried_over(p, prev, k->path) != NULL)
			continue;
		for (j = 0; j < i; j++) /* a URI named twice: one key */
			if (p->keytab[j].key == k->key)
				break;
		if (j < i)
			continue;
		if (key_device_test(k->key, &why) != VDKIM_OK)
			return vdkim_fail(err, why.rc, "%s:%d: domain-key %s,%s: "
			    "%s: %s", p->path, k->line, k->selector, k->domain,
			    vdkim_rc_name(why.rc), why.msg);
	}
	return VDKIM_OK;
}

void
policy_describe_devices(const vdkim_policy *p, strbuf *sb)
{
	for (size_t i = 0; i < p->ndevices; i++) {
		const dev_config *c = &p->devices[i]->cfg;

		sb_addf(sb, "%s %s (line %d): %s %s", c->kind == DEV_ENGINE ?
		    "openssl-engine" : "openssl-provider", c->name, c->line,
		    c->kind == DEV_ENGINE ? "engine-id" : "module", c->module);
		if (c->module_path != NULL)
			sb_addf(sb, " module-path %s", c->module_path);
		if (c->propq != NULL)
			sb_addf(sb, " property-query %s", c->propq);
		sb_adds(sb, " uri-schemes");
		for (size_t k = 0; k < c->nschemes; k++)
			sb_addf(sb, " %s", c->schemes[k]);
		/* Where the PIN comes from, never the PIN. */
		if (c->pin_file != NULL)
			sb_addf(sb, " pin from file %s", c->pin_file);
		else if (c->pin_env != NULL)
			sb_addf(sb, " pin from $%s", c->pin_env);
		sb_addf(sb, " serialize %s retry-interval %lds timeout %ldms\n",
		    c->serialize ? "yes" : "no", c->retry_s, c->timeout_ms);
	}
}

void
policy_free_devices(vdkim_policy *p)
{
	for (size_t i = 0; i < p->ndevices; i++)
		device_unref(p->devices[i]);
	free(p->devices);
	for (size_t i = 0; i < p->nfallbacks; i++) {
		free(p->fallbacks[i].selector);
		free(p->fallbacks[i].domain);
		free(p->fallbacks[i].path);
	}
	free(p->fallbacks);
}

vdkim_rc
vdkim_policy_device_key(const vdkim_policy *p, const char *uri,
    vdkim_key **out, vdkim_error *err)
{
	device *d = p && uri ? policy_device_for(p, uri) : NULL;
	vdkim_rc rc;

	/* As in the config: the backend would log in with it, and libp11
	 * writes a URI it cannot find to stderr, PIN and all. */
	if (d != NULL && conf_device_check_key(uri) != NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "\"%s\": refused: a key URI "
		    "must not carry the PIN (the device's pin-file or pin-env "
		    "gives it)", uri);
	if (d == NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "%s: no openssl-engine or "
		    "openssl-provider in the config serves this URI",
		    uri ? uri : "(none)");
	rc = key_device_open(d, uri, out, err);
	if (rc != VDKIM_OK) {
		vdkim_key_unref(*out);
		*out = NULL;
	}
	return rc;
}
