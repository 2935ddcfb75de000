/*
 * dns_check.h - DNS truth for every key the policy signs with.
 *
 * The checker (vdkimctl check-dns, a host's check_keys) looks up
 * SELECTOR._domainkey.DOMAIN for every static domain-key, the selector
 * each rotation binding signs with now, and every domain-key-fallback, and
 * judges the record as receivers would (rotation_check_dns).  The verdicts
 * go into dns-check-state-file (key_state.h), which every process reads
 * when it loads the policy: the message path never touches DNS.  There,
 * dkim-dns-check (off, warn, require) says what a key whose last check
 * failed does: warn signs with a note (dns-missing, dns-mismatch); require
 * never signs with it (the next eligible key or the fallback identity
 * signs, else key-dns-mismatch).  A key never checked is not failed.
 *
 *   dns_check_run        the check, under the state file's lock
 *   dns_check_load       the verdicts, with the policy (policy.c)
 *   dns_check_failed     the decision's question (policy_decide.c)
 *   dns_check_describe   config-test's line per key
 */
#ifndef VDKIM_DNS_CHECK_H
#define VDKIM_DNS_CHECK_H

#include <time.h>

#include "rotation.h"
#include "rotation_plan.h"

/* One key checked (or left out, status ROT_UNKNOWN with why). */
typedef struct dns_check_entry {
	char domain[254];
	char selector[ROT_SELECTOR_MAX];
	const char *directive;     /* "domain-key", "dkim-rotation-key",
	                              "domain-key-fallback" (static) */
	int line;                  /* its config line */
	int status;                /* enum rot_status */
	char why[VDKIM_ERRMSG_MAX];
} dns_check_entry;

typedef struct dns_check {
	dns_check_entry *e;
	size_t n, cap;
	size_t lookups;
	int failed;                /* a key would fail at receivers */
	int warned;                /* t=y, a weak key, a key not checkable */
	int dns_down;              /* a lookup got no answer (not recorded) */
	int recorded;              /* a state file took the verdicts */
	char repair[ROT_REPAIR_MAX]; /* the damaged file repaired, or "" */
} dns_check;

/*
 * Checks every key of p (only domain's, when not NULL; a d=* key only
 * with domain) at now through lookup (NULL: the resolver).  With
 * dns-check-state-file, under its lock, records the answers (a key DNS
 * did not answer for keeps its old record) and repairs a damaged file;
 * without, records nothing.  out holds what was found, also on failure;
 * VDKIM_OK, or an error naming the state file that could not be locked,
 * read or written.
 */
vdkim_rc dns_check_run(const vdkim_policy *p, const char *domain, time_t now,
    vdkim_txt_lookup_fn lookup, void *ctx, dns_check *out, vdkim_error *err);
void dns_check_free(dns_check *c);
/* ROT_OUTCOME_BROKEN, then DNS_DOWN, then ATTENTION, else OK. */
int dns_check_outcome(const dns_check *c);
/* "DOMAIN SELECTOR STATUS: why (directive, line N)\n" onto sb. */
void dns_check_text(const dns_check_entry *e, strbuf *sb);

/* At load: reads dns-check-state-file.  A damaged file loads as never
 * checked, with a warning, unless a scope says dkim-dns-check require
 * (then the load fails and a reload keeps the policy in force), or for a
 * checker's load, which repairs it. */
vdkim_rc dns_check_load(vdkim_policy *p, vdkim_error *err);
void dns_check_unload(vdkim_policy *p);
/* The record of a key whose last check failed; NULL when it passed, was
 * never checked, or there is no state. */
const rot_record *dns_check_failed(const vdkim_policy *p, const char *domain,
    const char *selector);
/* "       dns: STATUS, checked N ago" for config-test, when recorded. */
void dns_check_describe(const vdkim_policy *p, const char *domain,
    const char *selector, strbuf *sb);

#endif
