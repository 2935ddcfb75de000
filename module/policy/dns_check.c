/*
 * dns_check.c - the DNS check of every key (dns_check.h): which keys, the
 * lookups, the verdicts recorded under the state file's lock, and the
 * verdicts read back with the policy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns_check.h"
#include "error.h"
#include "key_state.h"
#include "policy_device.h"

/* ------------------------------------------------------------ the check */

/* One key to look up; key NULL: not checkable (why says so). */
typedef struct target {
	const char *domain, *selector, *directive;
	int line;
	const vdkim_key *key;
	const char *why;
} target;

struct run {
	const vdkim_policy *p;
	const char *domain;        /* --domain, or NULL */
	time_t now;
	vdkim_txt_lookup_fn lookup;
	void *ctx;
	dns_check *out;
	rot_state *st;             /* NULL: nothing recorded */
	vdkim_key **owned;         /* fallback keys loaded for the check */
	size_t nowned;
};

static dns_check_entry *
add_entry(dns_check *c)
{
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 16;
		dns_check_entry *ne = realloc(c->e, ncap * sizeof(*ne));
		if (ne == NULL)
			return NULL;
		c->e = ne;
		c->cap = ncap;
	}
	memset(&c->e[c->n], 0, sizeof(c->e[c->n]));
	return &c->e[c->n++];
}

/* Checks t (once per domain and selector), records the answer. */
static vdkim_rc
check_one(struct run *r, const target *t, vdkim_error *err)
{
	dns_check_entry *e;

	if (r->domain != NULL && strcasecmp(t->domain, r->domain) != 0)
		return VDKIM_OK;
	for (size_t i = 0; i < r->out->n; i++)
		if (strcasecmp(r->out->e[i].domain, t->domain) == 0 &&
		    strcasecmp(r->out->e[i].selector, t->selector) == 0)
			return VDKIM_OK;
	e = add_entry(r->out);
	if (e == NULL)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	snprintf(e->domain, sizeof(e->domain), "%s", t->domain);
	snprintf(e->selector, sizeof(e->selector), "%s", t->selector);
	e->directive = t->directive;
	e->line = t->line;
	if (t->key == NULL) {
		e->status = ROT_UNKNOWN;
		snprintf(e->why, sizeof(e->why), "%s", t->why);
		r->out->warned = 1;
		return VDKIM_OK;
	}
	e->status = rotation_check_dns(t->key, t->selector, t->domain,
	    r->lookup, r->ctx, e->why, sizeof(e->why));
	r->out->lookups++;
	if (e->status == ROT_DNS_ERROR)
		r->out->dns_down = 1;
	else if (rot_status_fails(e->status))
		r->out->failed = 1;
	else if (rot_status_warns(e->status))
		r->out->warned = 1;
	if (r->st != NULL && rot_state_set(r->st, t->domain, t->selector,
	    e->status, r->now) != 0)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	return VDKIM_OK;
}

/* The static domain-keys (d=* only for --domain). */
static vdkim_rc
check_static(struct run *r, vdkim_error *err)
{
	const vdkim_policy *p = r->p;
	vdkim_rc rc = VDKIM_OK;

	for (size_t i = 0; i < p->nkeytab && rc == VDKIM_OK; i++) {
		const key_entry *k = &p->keytab[i];
		target t = { k->domain, k->selector, "domain-key", k->line,
		    k->key, NULL };

		if (k->rot != NULL)
			continue;
		if (strcmp(k->domain, "*") == 0) {
			if (r->domain == NULL)
				continue;  /* signs for any domain: --domain */
			t.domain = r->domain;
		}
		if (k->key == NULL || policy_key_unopened(k->key)) {
			t.key = NULL;
			t.why = k->key == NULL ? "the key is not loaded" :
			    "the device did not give the public key";
		}
		rc = check_one(r, &t, err);
	}
	return rc;
}

/* The selector a rotation binding signs with now. */
static int
check_binding(const rot_binding *b, int alg, void *ctx)
{
	struct run *r = ctx;
	rot_choice ch;
	vdkim_error err;
	target t;

	rotation_choose(b, alg, r->now, b->state, &ch);
	if (ch.key == NULL)
		return 0;   /* rotation check says why */
	t = (target){ b->domain, ch.key->entry.selector, "dkim-rotation-key",
	    ch.key->entry.line, ch.key->entry.key, NULL };
	return check_one(r, &t, &err) == VDKIM_OK ? 0 : -1;
}

/* The software fallbacks of device keys, loaded for their public half. */
static vdkim_rc
check_fallbacks(struct run *r, vdkim_error *err)
{
	const vdkim_policy *p = r->p;
	vdkim_rc rc = VDKIM_OK;

	for (size_t i = 0; i < p->nfallbacks && rc == VDKIM_OK; i++) {
		const key_fallback *f = &p->fallbacks[i];
		target t = { f->domain, f->selector, "domain-key-fallback",
		    f->line, NULL, "the key file does not load" };
		vdkim_key *k = NULL, **no;
		vdkim_error kerr;

		if (vdkim_key_load_file(f->path, &k, &kerr) == VDKIM_OK) {
			no = realloc(r->owned, (r->nowned + 1) * sizeof(*no));
			if (no == NULL) {
				vdkim_key_unref(k);
				return vdkim_fail(err, VDKIM_ENOMEM,
				    "out of memory");
			}
			r->owned = no;
			r->owned[r->nowned++] = k;
			t.key = k;
		}
		rc = check_one(r, &t, err);
	}
	return rc;
}

static vdkim_rc
check_all(rot_state *st, void *ctx, vdkim_error *err)
{
	struct run *r = ctx;
	vdkim_rc rc;

	r->st = st;
	rc = check_static(r, err);
	if (rc == VDKIM_OK && rotation_for_each(r->p, r->domain, NULL,
	    check_binding, r) != 0)
		rc = vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	if (rc == VDKIM_OK)
		rc = check_fallbacks(r, err);
	return rc;
}

vdkim_rc
dns_check_run(const vdkim_policy *p, const char *domain, time_t now,
    vdkim_txt_lookup_fn lookup, void *ctx, dns_check *out, vdkim_error *err)
{
	struct run r = { p, domain, now, lookup, ctx, out, NULL, NULL, 0 };
	vdkim_rc rc;

	memset(out, 0, sizeof(*out));
	if (p->dns_state_path == NULL) {
		rc = check_all(NULL, &r, err);
	} else {
		rc = key_state_check_file(KEY_STATE_DNS, p->dns_state_path, now,
		    check_all, &r, out->repair, sizeof(out->repair), err);
		/* Recorded: at least one answer reached the file. */
		for (size_t i = 0; rc == VDKIM_OK && i < out->n; i++)
			if (out->e[i].status != ROT_UNKNOWN &&
			    out->e[i].status != ROT_DNS_ERROR)
				out->recorded = 1;
	}
	for (size_t i = 0; i < r.nowned; i++)
		vdkim_key_unref(r.owned[i]);
	free(r.owned);
	return rc;
}

void
dns_check_free(dns_check *c)
{
	free(c->e);
	memset(c, 0, sizeof(*c));
}

int
dns_check_outcome(const dns_check *c)
{
	return c->failed ? ROT_OUTCOME_BROKEN : c->dns_down ?
	    ROT_OUTCOME_DNS_DOWN : c->warned ? ROT_OUTCOME_ATTENTION :
	    ROT_OUTCOME_OK;
}

void
dns_check_text(const dns_check_entry *e, strbuf *sb)
{
	const char *verdict = e->status == ROT_UNKNOWN ? "NOT CHECKED" :
	    e->status == ROT_DNS_ERROR ? "NO ANSWER" :
	    rot_status_fails(e->status) ? "FAILS" :
	    rot_status_warns(e->status) ? "WARNING" : "OK";

	sb_addf(sb, "%s %s %s %s: %s (%s, line %d)\n", e->domain, e->selector,
	    verdict, e->status == ROT_UNKNOWN ? "unchecked" :
	    rot_status_name(e->status), e->why, e->directive, e->line);
}

/* ------------------------------------------------------- the verdicts */

static int
scope_requires(const scope *sc)
{
	for (size_t i = 0; i < sc->nrules; i++)
		if (sc->rules[i].dns_check == DNS_CHECK_REQUIRE)
			return 1;
	return 0;
}

/* 1 when a domain block anywhere says dkim-dns-check require. */
static int
requires_dns(const vdkim_policy *p)
{
	int found = scope_requires(&p->global);

	for (size_t i = 0; i < p->nvmtas && !found; i++)
		found = scope_requires(&p->vmtas[i]);
	for (size_t i = 0; i < p->npools && !found; i++)
		found = scope_requires(&p->pools[i]);
	return found;
}

vdkim_rc
dns_check_load(vdkim_policy *p, vdkim_error *err)
{
	rot_state *st;
	int missing, damaged;
	vdkim_rc rc;

	if (p->dns_state_path == NULL)
		return VDKIM_OK;
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	/* Damaged: under require, unchecked keys would sign where the
	 * operator asked for proof, so the load fails (a reload keeps the
	 * verdicts in force); else the keys count as never checked. */
	rc = key_state_load_policy(p, KEY_STATE_DNS, p->dns_state_path,
	    p->load_for_checker || !requires_dns(p), st, &missing, &damaged,
	    err);
	if (rc != VDKIM_OK) {
		free(st);
		return rc;
	}
	p->dns_state = st;
	if (missing && policy_warn(p, 0, "%s:%d: dns-check-state-file %s does "
	    "not exist yet: no key has been checked in DNS (run vdkimctl "
	    "check-dns)", p->path, p->dns_state_line, p->dns_state_path) != 0)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	return VDKIM_OK;
}

void
dns_check_unload(vdkim_policy *p)
{
	if (p->dns_state != NULL)
		rot_state_free(p->dns_state);
	free(p->dns_state);
	free(p->dns_state_path);
	p->dns_state = NULL;
	p->dns_state_path = NULL;
}

const rot_record *
dns_check_failed(const vdkim_policy *p, const char *domain,
    const char *selector)
{
	const rot_record *r = p->dns_state ? rot_state_find(p->dns_state,
	    domain, selector) : NULL;

	return r != NULL && rot_status_fails(r->status) ? r : NULL;
}

void
dns_check_describe(const vdkim_policy *p, const char *domain,
    const char *selector, strbuf *sb)
{
	const rot_record *r = p->dns_state ? rot_state_find(p->dns_state,
	    domain, selector) : NULL;
	long long age;

	if (p->dns_state_path == NULL)
		return;
	if (r == NULL) {
		sb_adds(sb, "       dns: never checked\n");
		return;
	}
	age = (long long)(time(NULL) - r->checked);
	if (age < 0)
		age = 0;
	sb_addf(sb, "       dns: %s, checked %lldd %lldh %lldm ago\n",
	    rot_status_name(r->status), age / 86400, age % 86400 / 3600,
	    age % 3600 / 60);
}
