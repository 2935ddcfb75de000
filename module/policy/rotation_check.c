/*
 * rotation_check.c - is a selector's public key in DNS, and is it the
 * public half of our private key?
 *
 * Run by the checker (rotation_plan.c, for vdkimctl rotation check and
 * plan and a host's check_keys), never on the message path.  The record is parsed as verifiers parse it (key_record.c)
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
rotation_check_dns(const vdkim_key *key, const char *selector,
    const char *domain, vdkim_txt_lookup_fn lookup, void *ctx, char *why,
    size_t whylen)
{
	char qname[512], txt[TXT_MAX], rwhy[160], *ours = NULL;
	key_record theirs, mine;
	vdkim_error err;
	vdkim_lookup_rc lrc;
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
	if (key_record_parse(txt, &theirs, rwhy, sizeof(rwhy)) != VDKIM_R_OK) {
		snprintf(why, whylen, "%s: the record is not a usable DKIM key "
		    "(%s)", qname, rwhy);
		return ROT_MISMATCHED;
	}
	if (theirs.revoked) {
		snprintf(why, whylen, "%s: the record is revoked (p= empty)",
		    qname);
		key_record_free(&theirs);
		return ROT_MISMATCHED;
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
	if (theirs.type == mine.type &&
	    EVP_PKEY_eq(theirs.pkey, mine.pkey) == 1) {
		snprintf(why, whylen, "%s: published, the key matches", qname);
		status = ROT_MATCHING;
	} else {
		snprintf(why, whylen, "%s: published with a different key than "
		    "the private key's", qname);
		status = ROT_MISMATCHED;
	}
	ERR_clear_error();
	key_record_free(&mine);
	key_record_free(&theirs);
	return status;
}
