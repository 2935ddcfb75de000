/*
 * rotation_check.c - is a selector's public key in DNS, and is it the
 * public half of our private key?
 *
 * Run by the checkers (rotation_plan.c, for vdkimctl rotation check and
 * plan; dns_check.c, for vdkimctl check-dns; both for a host's
 * check_keys), never on the message path.  The record is parsed as verifiers parse it (key_record.c)
 * and compared with the record our own key makes, key against key: the
 * text may differ (tag order, spaces, strings split anywhere) and still
 * hold the same key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "key_record.h"
#include "rotation.h"

#define TXT_MAX 8192

int
rot_status_fails(int status)
{
	return status == ROT_MISSING || status == ROT_MISMATCHED ||
	    (status >= ROT_BAD_RECORD && status <= ROT_SERVICE_REFUSED);
}

int
rot_status_warns(int status)
{
	return status == ROT_TESTING || status == ROT_WEAK;
}

int
rot_status_for_rotation(int status)
{
	if (rot_status_warns(status))
		return ROT_MATCHING;
	if (status >= ROT_BAD_RECORD && status <= ROT_SERVICE_REFUSED)
		return ROT_MISMATCHED;
	return status;
}

/* Our key's record against theirs (parsed), first problem first. */
static int
judge(const key_record *theirs, const key_record *mine, const vdkim_key *key,
    const char *qname, char *why, size_t whylen)
{
	if (theirs->revoked) {
		snprintf(why, whylen, "%s: the record is revoked (p= empty)",
		    qname);
		return ROT_REVOKED;
	}
	if (theirs->type != mine->type) {
		snprintf(why, whylen, "%s: k= says %s, the private key is %s",
		    qname, theirs->type == VDKIM_KEY_ED25519 ? "ed25519" : "rsa",
		    mine->type == VDKIM_KEY_ED25519 ? "ed25519" : "rsa");
		return ROT_WRONG_TYPE;
	}
	if (EVP_PKEY_eq(theirs->pkey, mine->pkey) != 1) {
		snprintf(why, whylen, "%s: published with a different key than "
		    "the private key's", qname);
		return ROT_MISMATCHED;
	}
	if (!theirs->sha256_allowed) {
		snprintf(why, whylen, "%s: h= does not allow sha256", qname);
		return ROT_HASH_REFUSED;
	}
	if (!theirs->email_allowed) {
		snprintf(why, whylen, "%s: s= allows neither email nor *", qname);
		return ROT_SERVICE_REFUSED;
	}
	if (theirs->testing) {
		snprintf(why, whylen, "%s: the key matches, but t=y marks it as "
		    "testing (receivers may ignore its signatures)", qname);
		return ROT_TESTING;
	}
	if (vdkim_key_get_type(key) == VDKIM_KEY_RSA &&
	    vdkim_key_get_bits(key) < 2048) {
		snprintf(why, whylen, "%s: the key matches, but it has only %u "
		    "bits (receivers may refuse RSA keys under 2048 bits)",
		    qname, vdkim_key_get_bits(key));
		return ROT_WEAK;
	}
	snprintf(why, whylen, "%s: published, the key matches", qname);
	return ROT_MATCHING;
}

int
rotation_check_dns(const vdkim_key *key, const char *selector,
    const char *domain, vdkim_txt_lookup_fn lookup, void *ctx, char *why,
    size_t whylen)
{
	char qname[512], txt[TXT_MAX], rwhy[160], *ours = NULL;
	key_record theirs, mine;
	vdkim_error err;
	vdkim_lookup_rc lrc;
	vdkim_reason prc;
	int status;

	if (lookup == NULL)
		lookup = vdkim_dns_txt_lookup;
	snprintf(qname, sizeof(qname), "%s._domainkey.%s", selector, domain);
	lrc = lookup(ctx, qname, txt, sizeof(txt));
	if (lrc == VDKIM_LOOKUP_TEMPFAIL) {
		snprintf(why, whylen, "%s: DNS did not answer", qname);
		return ROT_DNS_ERROR;
	}
	if (lrc != VDKIM_LOOKUP_FOUND) {
		snprintf(why, whylen, "%s: no TXT record", qname);
		return ROT_MISSING;
	}
	prc = key_record_parse(txt, &theirs, rwhy, sizeof(rwhy));
	if (prc == VDKIM_R_KEY_TYPE_MISMATCH) {
		snprintf(why, whylen, "%s: k= names a key type receivers do not "
		    "know (%s)", qname, rwhy);
		return ROT_WRONG_TYPE;
	}
	if (prc != VDKIM_R_OK) {
		snprintf(why, whylen, "%s: the record is not a usable DKIM key "
		    "(%s)", qname, rwhy);
		return ROT_BAD_RECORD;
	}
	if (vdkim_key_dns_value(key, &ours, &err) != VDKIM_OK ||
	    key_record_parse(ours, &mine, rwhy, sizeof(rwhy)) != VDKIM_R_OK) {
		snprintf(why, whylen, "%s: our own key gives no record (%s)",
		    qname, ours ? rwhy : err.msg);
		free(ours);
		key_record_free(&theirs);
		return ROT_MISMATCHED;
	}
	free(ours);
	status = judge(&theirs, &mine, key, qname, why, whylen);
	ERR_clear_error();
	key_record_free(&mine);
	key_record_free(&theirs);
	return status;
}
