/*
 * names.c - the stable names of codes, algorithms and canonicalizations.
 *
 * Reason names are what hosts log and scripts grep for: never change one.
 */
#include <string.h>
#include <strings.h>

#include "name_table.h"
#include "vdkim/dkim.h"

const char *
vdkim_rc_name(vdkim_rc rc)
{
	static const char *const names[] = {
		[VDKIM_OK] = "ok",
		[VDKIM_ENOMEM] = "out-of-memory",
		[VDKIM_EINVAL] = "invalid-argument",
		[VDKIM_ESTATE] = "bad-call-order",
		[VDKIM_ELIMIT] = "limit-exceeded",
		[VDKIM_ESYNTAX] = "syntax-error",
		[VDKIM_EKEY] = "key-error",
		[VDKIM_EKEYSIZE] = "key-size-refused",
		[VDKIM_EIO] = "io-error",
		[VDKIM_ECRYPTO] = "crypto-error",
		[VDKIM_EDEV_UNAVAILABLE] = "device-unavailable",
		[VDKIM_EDEV_PIN] = "device-pin",
		[VDKIM_EDEV_TIMEOUT] = "device-timeout",
		[VDKIM_EDEV_ERROR] = "device-error",
		[VDKIM_ESELFCHECK] = "signature-self-check-failed",
	};

	return NAME_TABLE_GET(names, rc);
}

const char *
vdkim_alg_name(vdkim_alg alg)
{
	switch (alg) {
	case VDKIM_ALG_RSA_SHA256:
		return "rsa-sha256";
	case VDKIM_ALG_ED25519_SHA256:
		return "ed25519-sha256";
	case VDKIM_ALG_RSA_SHA1:
		return "rsa-sha1";
	case VDKIM_ALG_NONE:
		break;
	}
	return "none";
}

vdkim_alg
vdkim_alg_from_name(const char *name)
{
	if (name == NULL)
		return VDKIM_ALG_NONE;
	if (strcasecmp(name, "rsa-sha256") == 0)
		return VDKIM_ALG_RSA_SHA256;
	if (strcasecmp(name, "ed25519-sha256") == 0)
		return VDKIM_ALG_ED25519_SHA256;
	if (strcasecmp(name, "rsa-sha1") == 0)
		return VDKIM_ALG_RSA_SHA1;
	return VDKIM_ALG_NONE;
}

const char *
vdkim_canon_name(vdkim_canon c)
{
	return c == VDKIM_CANON_RELAXED ? "relaxed" : "simple";
}

int
vdkim_canon_from_name(const char *name, vdkim_canon *out)
{
	if (name == NULL)
		return -1;
	if (strcasecmp(name, "simple") == 0)
		*out = VDKIM_CANON_SIMPLE;
	else if (strcasecmp(name, "relaxed") == 0)
		*out = VDKIM_CANON_RELAXED;
	else
		return -1;
	return 0;
}

const char *
vdkim_result_name(vdkim_result r)
{
	static const char *const names[] = {
		[VDKIM_RES_NONE] = "none",
		[VDKIM_RES_PASS] = "pass",
		[VDKIM_RES_FAIL] = "fail",
		[VDKIM_RES_NEUTRAL] = "neutral",
		[VDKIM_RES_TEMPERROR] = "temperror",
		[VDKIM_RES_PERMERROR] = "permerror",
	};

	return NAME_TABLE_GET(names, r);
}

const char *
vdkim_reason_name(vdkim_reason r)
{
	static const char *const names[] = {
		[VDKIM_R_OK] = "ok",
		[VDKIM_R_BODY_HASH_MISMATCH] = "body-hash-mismatch",
		[VDKIM_R_BAD_SIGNATURE] = "bad-signature",
		[VDKIM_R_KEY_NOT_FOUND] = "key-not-found",
		[VDKIM_R_KEY_SYNTAX] = "key-syntax",
		[VDKIM_R_KEY_REVOKED] = "key-revoked",
		[VDKIM_R_KEY_TEMPFAIL] = "key-tempfail",
		[VDKIM_R_KEY_HASH_RESTRICTED] = "key-hash-restricted",
		[VDKIM_R_KEY_TYPE_MISMATCH] = "key-type-mismatch",
		[VDKIM_R_KEY_SERVICE] = "key-service-restricted",
		[VDKIM_R_KEY_TOO_SMALL] = "key-too-small",
		[VDKIM_R_KEY_STRICT_IDENTITY] = "key-strict-identity",
		[VDKIM_R_EXPIRED] = "expired",
		[VDKIM_R_FUTURE_TIMESTAMP] = "future-timestamp",
		[VDKIM_R_SIG_SYNTAX] = "signature-syntax",
		[VDKIM_R_UNSUPPORTED_VERSION] = "unsupported-version",
		[VDKIM_R_UNSUPPORTED_ALG] = "unsupported-algorithm",
		[VDKIM_R_UNSUPPORTED_CANON] = "unsupported-canonicalization",
		[VDKIM_R_UNSUPPORTED_QUERY] = "unsupported-query-method",
		[VDKIM_R_SHA1_REFUSED] = "sha1-refused",
		[VDKIM_R_IDENTITY_MISMATCH] = "identity-mismatch",
		[VDKIM_R_FROM_NOT_SIGNED] = "from-not-signed",
		[VDKIM_R_TOO_MANY_SIGNATURES] = "too-many-signatures",
		[VDKIM_R_INTERNAL] = "internal-error",
	};

	return NAME_TABLE_GET(names, r);
}
