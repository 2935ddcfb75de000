/*
 * rotation_check.c - is a selector's public key in DNS, and is it the
 * public half of our private key?
 *
 * Run by the checker (vdkimctl rotation check, plan, and a host's
 * check_keys through the ABI), never on the message path.  The record is parsed as verifiers parse it (key_record.c)
 * and compared with the record our own key makes, key against key: the
 * text may differ (tag order, spaces, strings split anywhere) and still
 * hold the same key.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "error.h"
#include "file_replace.h"
#include "key_record.h"
#include "rotation_plan.h"

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

/* Checks the bindings of one state file under its lock and writes the
 * results atomically. */
static vdkim_rc
check_file(const vdkim_policy *p, const char *path, const char *domain,
    time_t now, vdkim_txt_lookup_fn lookup, void *ctx, rot_check *out,
    vdkim_error *err)
{
	char lock[4200], why[4400];
	char *before = NULL, *after = NULL;
	rot_state st;
	vdkim_rc rc;
	int fd, missing;

	if ((size_t)snprintf(lock, sizeof(lock), "%s.lock", path) >=
	    sizeof(lock))
		return vdkim_fail(err, VDKIM_EINVAL, "%s: path too long", path);
	/* Two checkers (cron and a host) take turns.  The lock belongs to
	 * this open file description, so two threads take turns too. */
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return vdkim_fail(err, VDKIM_EIO, "cannot open %s: %s (does "
		    "its folder exist?)", lock, strerror(errno));
	if (flock(fd, LOCK_EX) != 0) {
		rc = vdkim_fail(err, VDKIM_EIO, "cannot lock %s: %s", lock,
		    strerror(errno));
		close(fd);
		return rc;
	}
	rc = rot_state_load(path, &st, &missing, err);
	if (rc != VDKIM_OK) {
		close(fd);
		return rc;
	}
	before = rot_state_format(&st);
	rc = rotation_check_state(p, path, &st, domain, now, lookup, ctx, out,
	    err);
	after = rot_state_format(&st);
	if (rc == VDKIM_OK && (before == NULL || after == NULL))
		rc = vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	/* Nothing learnt (DNS down): the file stays as it was. */
	if (rc == VDKIM_OK && (missing || strcmp(before, after) != 0) &&
	    file_replace(path, after, strlen(after), 0644, why,
	    sizeof(why)) != 0)
		rc = vdkim_fail(err, VDKIM_EIO, "%s", why);
	free(before);
	free(after);
	rot_state_free(&st);
	close(fd);
	return rc;
}

vdkim_rc
rotation_check_run(const vdkim_policy *p, const char *domain, time_t now,
    vdkim_txt_lookup_fn lookup, void *ctx, rot_check *out, vdkim_error *err)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < p->nschedules; i++) {
		const char *path = p->schedules[i].state_file;
		size_t j;
		vdkim_rc rc;

		/* Each file once, however many schedules share it. */
		for (j = 0; j < i; j++)
			if (strcmp(p->schedules[j].state_file, path) == 0)
				break;
		if (j < i)
			continue;
		rc = check_file(p, path, domain, now, lookup, ctx, out, err);
		if (rc != VDKIM_OK)
			return rc;
	}
	return VDKIM_OK;
}
