/*
 * device_provider.c - devices behind an OpenSSL 3 provider (the main
 * path): tpm2-openssl, pkcs11 providers, offload cards.
 *
 * Each session is an OSSL_LIB_CTX of its own with the device's provider
 * and "default" (for hashing, decoding the store's answers and encoding
 * public keys) loaded into it: the process's default context, which the
 * host's TLS uses, is not touched.  Keys come from OSSL_STORE URIs
 * ("handle:0x81000001", "object:...", "file:...") fetched with the
 * device's property query, so the device's own implementations win.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/store.h>
#include <openssl/ui.h>

#include "device_backend.h"
#include "error.h"

static vdkim_rc
provider_open(device *d, dev_session *s, vdkim_error *err)
{
	ERR_clear_error();
	s->libctx = OSSL_LIB_CTX_new();
	if (s->libctx == NULL)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	if (d->cfg.ossl_config != NULL &&
	    OSSL_LIB_CTX_load_config(s->libctx, d->cfg.ossl_config) != 1)
		return device_fail(d, err, VDKIM_EDEV_ERROR,
		    "reading its openssl-config");
	/* A name, or the path of the provider's .so. */
	s->prov[0] = OSSL_PROVIDER_load(s->libctx, d->cfg.module);
	if (s->prov[0] == NULL)
		return device_fail(d, err, VDKIM_EDEV_UNAVAILABLE,
		    "loading the provider");
	s->prov[1] = OSSL_PROVIDER_load(s->libctx, "default");
	if (s->prov[1] == NULL)
		return device_fail(d, err, VDKIM_EDEV_ERROR,
		    "loading OpenSSL's default provider beside it");
	if (OSSL_PROVIDER_available(s->libctx, d->cfg.module) != 1)
		return device_fail(d, err, VDKIM_EDEV_UNAVAILABLE,
		    "starting the provider");
	return VDKIM_OK;
}

static void
provider_close(dev_session *s)
{
	for (size_t i = 0; i < sizeof(s->prov) / sizeof(s->prov[0]); i++)
		if (s->prov[i] != NULL)
			OSSL_PROVIDER_unload(s->prov[i]);
	OSSL_LIB_CTX_free(s->libctx);
	s->libctx = NULL;
}

static vdkim_rc
provider_load_key(device *d, dev_session *s, const char *uri,
    const device_credentials *c, EVP_PKEY **out, vdkim_error *err)
{
	OSSL_STORE_CTX *st;

	st = OSSL_STORE_open_ex(uri, s->libctx, d->cfg.propq, c->ui, c->pin,
	    NULL, NULL, NULL);
	if (st != NULL) {
		OSSL_STORE_expect(st, OSSL_STORE_INFO_PKEY);
		while (*out == NULL && !OSSL_STORE_eof(st)) {
			OSSL_STORE_INFO *info = OSSL_STORE_load(st);

			if (info == NULL) {
				if (OSSL_STORE_error(st))
					break;
				continue;
			}
			if (OSSL_STORE_INFO_get_type(info) ==
			    OSSL_STORE_INFO_PKEY)
				*out = OSSL_STORE_INFO_get1_PKEY(info);
			OSSL_STORE_INFO_free(info);
		}
		OSSL_STORE_close(st);
	}
	if (*out == NULL) {
		if (ERR_peek_error() == 0)
			return vdkim_fail(err, VDKIM_EDEV_UNAVAILABLE,
			    "device %s: no private key at %s", d->cfg.name,
			    uri);
		return device_fail(d, err, VDKIM_EDEV_UNAVAILABLE,
		    "opening the key");
	}
	return VDKIM_OK;
}

/* A provider keeps nothing beyond its sessions: no release, nothing to
 * share. */
const device_ops device_provider_ops = {
	provider_open, provider_close, provider_load_key, NULL, NULL
};
