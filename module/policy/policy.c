/*
 * policy.c - loading a policy, its keys, its warnings, its description,
 * and the slot that lets a running instance reload it atomically.
 *
 * This file is the one caller of the loaders: the config parser
 * (conf_parse.c) fills the model, the rotation code finds its keys and
 * state files (rotation_keys.c), the device code opens device keys
 * (policy_device.c), and every key file is loaded here; none of them
 * calls back into this file (what they share is policy_model.c).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf_parse.h"
#include "device.h"
#include "error.h"
#include "key.h"
#include "policy_device.h"
#include "policy_keys.h"
#include "policy_model.h"
#include "dns_check.h"
#include "rotation.h"
#include "secret.h"
#include "strbuf.h"

/* ---------------------------------------------------------------- keys */

/*
 * Loads one key file after checking who may change it: a key that others
 * can replace would let them sign as the domain.
 */
static int
load_key_file(vdkim_policy *p, const char *path, int line,
    vdkim_key **out, vdkim_error *err)
{
	mode_t mode;

	if (key_load_file_mode(path, S_IWGRP | S_IWOTH, &mode, out, err) !=
	    VDKIM_OK)
		return -1;
	if (mode & S_IROTH)
		policy_warn(p, 0, "%s:%d: key %s is readable by every user "
		    "(chmod 0600 it)", p->path, line, path);
	if (vdkim_key_warning(*out) != NULL)
		policy_warn(p, 0, "%s:%d: %s", p->path, line,
		    vdkim_key_warning(*out));
	return 0;
}

/* A device key's software fallback (domain-key-fallback), if any. */
static void
load_fallback(vdkim_policy *p, key_entry *k)
{
	const key_fallback *f = policy_fallback_for(p, k);
	vdkim_key *fb = NULL;
	vdkim_error why;

	if (f == NULL)
		return;
	if (load_key_file(p, f->path, f->line, &fb, &why) != 0) {
		policy_warn(p, 1, "%s:%d: domain-key-fallback %s,%s not "
		    "loaded: %s", p->path, f->line, f->selector, f->domain,
		    why.msg);
		return;
	}
	policy_attach_fallback(p, k, f, fb);
	vdkim_key_unref(fb);
}

/* prev: the policy in use, when this is a reload (else NULL). */
static void
load_key(vdkim_policy *p, key_entry *k, const vdkim_policy *prev)
{
	vdkim_error why;

	if (device_is_uri(k->path)) {
		if (!policy_carry_device_key(p, k, prev))
			policy_load_device_key(p, k);
		if (k->key != NULL)
			load_fallback(p, k);
		return;
	}
	if (load_key_file(p, k->path, k->line, &k->key, &why) != 0) {
		policy_key_set_error(k, "%s", why.msg);
		policy_warn(p, 1, "%s:%d: domain-key %s,%s not loaded: %s",
		    p->path, k->line, k->selector, k->domain, why.msg);
	}
}

/* Device keys here (each device's own rules), key files all at once
 * (policy_keys.c). */
static vdkim_rc
load_keys(vdkim_policy *p, const vdkim_policy *prev, vdkim_error *err)
{
	for (size_t i = 0; i < p->nkeytab; i++) {
		key_entry *k = &p->keytab[i];
		size_t j;

		if (k->rot != NULL || !device_is_uri(k->path))
			continue; /* rotations: load_rotation_keys() */
		/* A URI named twice is opened once and shared (few keys live
		 * in devices: the scan stays short). */
		for (j = 0; j < i; j++)
			if (p->keytab[j].rot == NULL &&
			    strcmp(p->keytab[j].path, k->path) == 0)
				break;
		if (j < i) {
			k->key = vdkim_key_ref(p->keytab[j].key);
			if (p->keytab[j].error != NULL)
				policy_key_set_error(k, "%s",
				    p->keytab[j].error);
			continue;
		}
		load_key(p, k, prev);
	}
	/* Key files now, unless each is to be loaded when a decision picks
	 * it (vdkimctl sign/explain on a big config). */
	return p->keys_on_demand ? VDKIM_OK :
	    policy_load_key_files(p, prev, err);
}

/* The keys of the rotation bindings: found by the rotation code, loaded
 * here like every other key. */
static vdkim_rc
load_rotation_keys(vdkim_policy *p, vdkim_error *err)
{
	for (size_t i = 0; i < p->nkeytab; i++) {
		key_entry *k = &p->keytab[i];
		vdkim_rc rc;

		if (k->rot == NULL)
			continue;
		rc = rotation_find_keys(p, k, err);
		if (rc != VDKIM_OK)
			return rc;
		for (size_t j = 0; j < k->rot->nkeys; j++)
			load_key(p, &k->rot->keys[j].entry, NULL); /* files */
		rotation_keys_loaded(p, k);
	}
	return VDKIM_OK;
}

/* The algorithms of sc's keys (loaded, or a rotation's), as bits. */
static unsigned
scope_algs(const scope *sc)
{
	static const int algs[] = { VDKIM_ALG_RSA_SHA256,
	    VDKIM_ALG_ED25519_SHA256 };
	unsigned bits = 0;

	for (size_t i = 0; i < sc->nkeys; i++) {
		const key_entry *k = sc->keys[i];

		if (k->key != NULL)
			bits |= 1u << vdkim_key_get_alg(k->key);
		for (size_t a = 0; k->rot != NULL && a < 2; a++)
			if (rot_has_alg(k->rot->sched, algs[a]))
				bits |= 1u << algs[a];
	}
	return bits;
}

/* 1 when a loaded key of algorithm alg is in one of the scopes. */
static int
alg_available(const scope *const *chain, size_t n, int alg)
{
	for (size_t s = 0; s < n; s++)
		if (chain[s]->algs & (1u << alg))
			return 1;
	return 0;
}

/* Checks the rules of one scope against the keys its VMTA can reach. */
static void
check_rules_algs(vdkim_policy *p, const char *vmta,
    const scope *const *chain, size_t n, const scope *rules)
{
	for (size_t r = 0; r < rules->nrules; r++)
		for (size_t k = 0; k < VDKIM_POLICY_MAX_SIGS; k++) {
			const sig_opts *o = &rules->rules[r].sig[k];
			if (o->alg == UNSET || alg_available(chain, n, o->alg))
				continue;
			policy_warn(p, 1, "%s:%d: %sdkim-algorithm %s, but "
			    "virtual-mta %s has no loaded %s domain-key",
			    p->path, rules->rules[r].line, k ? "second-" : "",
			    vdkim_alg_name((vdkim_alg)o->alg), vmta,
			    vdkim_alg_name((vdkim_alg)o->alg));
		}
}

/*
 * config-test's "each key matches its selector's algorithm": every
 * dkim-algorithm a VMTA may apply needs a key of that type within the
 * VMTA's reach (its keys, its pool's, the global ones).
 */
static void
policy_check_algorithms(vdkim_policy *p)
{
	const scope *chain[3];

	/* Each scope's algorithms once: 10,000 VMTAs reach the same
	 * 100,000 global keys. */
	p->global.algs = scope_algs(&p->global);
	for (size_t i = 0; i < p->nvmtas; i++)
		p->vmtas[i].algs = scope_algs(&p->vmtas[i]);
	for (size_t i = 0; i < p->npools; i++)
		p->pools[i].algs = scope_algs(&p->pools[i]);
	for (size_t v = 0; v < p->nvmtas; v++) {
		size_t n = 0;
		chain[n++] = &p->vmtas[v];
		if (p->vmtas[v].pool != NULL)
			chain[n++] = p->vmtas[v].pool;
		chain[n++] = &p->global;
		for (size_t s = 0; s < n; s++)
			check_rules_algs(p, p->vmtas[v].name, chain, n,
			    chain[s]);
	}
	if (p->nvmtas == 0) {
		chain[0] = &p->global;
		check_rules_algs(p, "(global)", chain, 1, &p->global);
	}
}

/* ------------------------------------------------------------ lifetime */

static void
free_sig_opts(sig_opts *o)
{
	free(o->identity);
	free(o->identity_fallback);
	for (char **h = o->headers; h != NULL && *h != NULL; h++)
		free(*h);
	free(o->headers);
}

static void
free_scope(scope *sc)
{
	free(sc->name);
	free(sc->keys);
	policy_key_index_free(sc->index);
	for (size_t i = 0; i < sc->nrules; i++) {
		free(sc->rules[i].pattern);
		for (size_t k = 0; k < VDKIM_POLICY_MAX_SIGS; k++)
			free_sig_opts(&sc->rules[i].sig[k]);
	}
	free(sc->rules);
	for (size_t i = 0; i < sc->nmembers; i++)
		free(sc->members[i]);
	free(sc->members);
}

static void
free_scopes(scope *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free_scope(&list[i]);
	free(list);
}

void
policy_free(vdkim_policy *p)
{
	free_scope(&p->global);
	free_scopes(p->vmtas, p->nvmtas);
	free_scopes(p->pools, p->npools);
	free_scopes(p->lists, p->nlists);
	free(p->vmtas_by_name);
	free(p->pools_by_name);
	free(p->lists_by_name);
	for (size_t i = 0; i < p->nsources; i++)
		free(p->sources[i].name);
	free(p->sources);
	for (size_t i = 0; i < p->nkeytab; i++) {
		vdkim_key_unref(p->keytab[i].key);
		rotation_binding_free(p->keytab[i].rot);
		free(p->keytab[i].selector);
		free(p->keytab[i].domain);
		free(p->keytab[i].path);
		free(p->keytab[i].error);
	}
	free(p->keytab);
	policy_key_files_free(p->key_files);
	rotation_free(p);
	dns_check_unload(p);
	free(p->stats_path);
	for (size_t i = 0; i < p->nwarnings; i++)
		free(p->warnings[i].text);
	free(p->warnings);
	policy_free_devices(p);
	free(p->path);
	psl_free(p->psl);
	free(p);
}

const char *
policy_org_domain(const vdkim_policy *p, const char *domain)
{
	const char *org = p->psl ? psl_registrable_domain(p->psl, domain) :
	    NULL;

	return org != NULL ? org : domain;
}

vdkim_rc
vdkim_policy_load(const char *path, vdkim_policy **out, vdkim_error *err)
{
	return vdkim_policy_load_skipping(path, NULL, out, err);
}

/*
 * Loads the policy at path.  prev, when not NULL, is the policy in use
 * that this one is to replace (a reload): its unchanged devices are
 * carried over, and a new device key that cannot sign fails the load
 * (policy_device.h).  flags: POLICY_LOAD_* (policy_load).
 */
static vdkim_rc
policy_load_from(const char *path, const char *const *host_blocks,
    vdkim_policy *prev, unsigned flags, vdkim_policy **out,
    vdkim_error *err)
{
	vdkim_policy *p;
	vdkim_rc rc;

	if (path == NULL || out == NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "no config file given");
	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->path = strdup(path)) == NULL) {
		free(p);
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	}
	atomic_init(&p->refs, 1);
	p->load_for_checker = (flags & POLICY_LOAD_CHECKER) != 0;
	p->keys_on_demand = (flags & POLICY_LOAD_KEYS_ON_DEMAND) != 0;
	rc = conf_parse_file(path, host_blocks, p, err);
	if (rc != VDKIM_OK) {
		policy_free(p);
		return rc;
	}
	if (prev != NULL)
		policy_keep_devices(p, prev);
	rc = load_keys(p, prev, err);
	if (rc == VDKIM_OK)
		rc = load_rotation_keys(p, err);
	if (rc == VDKIM_OK && prev != NULL)
		rc = policy_test_new_device_keys(p, prev, err);
	if (rc == VDKIM_OK)
		rc = dns_check_load(p, err);
	if (rc != VDKIM_OK) {
		policy_free(p);
		return rc;
	}
	/* Which algorithms the scopes can sign with is known once their keys
	 * are: a load on demand leaves that check to config-test. */
	if (!p->keys_on_demand)
		policy_check_algorithms(p);
	/* The system's list (publicsuffix package), else the one built into
	 * libpsl. */
	p->psl = psl_latest(NULL);
	if (p->psl == NULL)
		policy_warn(p, 0, "the Public Suffix List could not be loaded: "
		    "dkim-align compares whole domains");
	*out = p;
	return VDKIM_OK;
}

vdkim_rc
policy_load(const char *path, const char *const *host_blocks,
    unsigned flags, vdkim_policy **out, vdkim_error *err)
{
	return policy_load_from(path, host_blocks, NULL, flags, out, err);
}

void
policy_key_on_demand(const vdkim_policy *p, const key_entry *k)
{
	/* The policy is the caller's alone (vdkimctl, one thread): the key
	 * it was loaded without is filled in where the decision reads it. */
	vdkim_policy *mp = (vdkim_policy *)p;
	key_entry *mk = (key_entry *)k;

	if (!p->keys_on_demand || k->rot != NULL || k->key != NULL ||
	    k->error != NULL || device_is_uri(k->path))
		return;
	load_key(mp, mk, NULL);
	if (mk->key == NULL && mk->error == NULL)
		policy_key_set_error(mk, "not loaded (out of memory)");
}

vdkim_rc
vdkim_policy_load_skipping(const char *path, const char *const *host_blocks,
    vdkim_policy **out, vdkim_error *err)
{
	return policy_load_from(path, host_blocks, NULL, 0, out, err);
}

vdkim_policy *
vdkim_policy_ref(vdkim_policy *p)
{
	if (p != NULL)
		atomic_fetch_add(&p->refs, 1);
	return p;
}

void
vdkim_policy_unref(vdkim_policy *p)
{
	if (p != NULL && atomic_fetch_sub(&p->refs, 1) == 1)
		policy_free(p);
}

size_t
vdkim_policy_warning_count(const vdkim_policy *p)
{
	return p->nwarnings;
}

const char *
vdkim_policy_warning(const vdkim_policy *p, size_t i)
{
	return i < p->nwarnings ? p->warnings[i].text : NULL;
}

int
vdkim_policy_warning_is_error(const vdkim_policy *p, size_t i)
{
	return i < p->nwarnings && p->warnings[i].is_error;
}

/* ------------------------------------------------------------ describe */

static void
describe_opts(strbuf *sb, const char *prefix, const sig_opts *o)
{
	static const char *const modes[] = { "sender-or-from",
	    "strict-from", "fixed" };

	if (o->sign != UNSET)
		sb_addf(sb, " %sdkim-sign=%s", prefix, o->sign ? "yes" : "no");
	if (o->identity_mode != UNSET)
		sb_addf(sb, " %sdkim-identity=%s", prefix,
		    o->identity_mode == ID_FIXED ? o->identity :
		    modes[o->identity_mode]);
	if (o->identity_fallback != NULL)
		sb_addf(sb, " %sdkim-identity-fallback=%s", prefix,
		    o->identity_fallback);
	if (o->alg != UNSET)
		sb_addf(sb, " %sdkim-algorithm=%s", prefix,
		    vdkim_alg_name((vdkim_alg)o->alg));
	if (o->header_canon != UNSET)
		sb_addf(sb, " %sdkim-headers-canon=%s", prefix,
		    vdkim_canon_name((vdkim_canon)o->header_canon));
	if (o->body_canon != UNSET)
		sb_addf(sb, " %sdkim-body-canon=%s", prefix,
		    vdkim_canon_name((vdkim_canon)o->body_canon));
	if (o->expire_after != UNSET)
		sb_addf(sb, " %sdkim-expire-after=%lds", prefix,
		    o->expire_after);
	if (o->headers != NULL) {
		sb_addf(sb, " %sdkim-headers=", prefix);
		for (char **h = o->headers; *h != NULL; h++)
			sb_addf(sb, "%s%s", h == o->headers ? "" : ":", *h);
	}
	if (o->add_timestamp != UNSET)
		sb_addf(sb, " %sdkim-add-timestamp=%s", prefix,
		    o->add_timestamp ? "yes" : "no");
	if (o->body_limit != UNSET)
		sb_addf(sb, " %sdkim-add-body-limit=%s", prefix,
		    o->body_limit ? "yes" : "no");
	if (o->oversign_all != UNSET)
		sb_addf(sb, " %sdkim-disallow-adding-headers=%s", prefix,
		    o->oversign_all ? "yes" : "no");
	if (o->verify != UNSET)
		sb_addf(sb, " %sdkim-verify-signatures=%s", prefix,
		    o->verify ? "yes" : "no");
}

static void
describe_scope(const vdkim_policy *p, strbuf *sb, const char *kind,
    const scope *sc)
{
	if (sc->kind == SCOPE_GLOBAL)
		sb_adds(sb, "global\n");
	else
		sb_addf(sb, "%s %s (line %d)\n", kind, sc->name, sc->line);
	if (sc->nmembers > 0) {
		sb_adds(sb, "  members:");
		for (size_t i = 0; i < sc->nmembers; i++)
			sb_addf(sb, " %s", sc->members[i]);
		sb_adds(sb, "\n");
	}
	for (size_t i = 0; i < sc->nkeys; i++) {
		const key_entry *k = sc->keys[i];
		if (k->rot != NULL)
			rotation_describe(sb, k);
		else if (policy_key_unopened(k->key))
			sb_addf(sb, "  key  s=%-16s d=%-24s NOT REACHED: %s; "
			    "kept, it signs once the device answers  %s\n",
			    k->selector, k->domain, policy_key_error(k),
			    k->path);
		else if (k->key != NULL) {
			sb_addf(sb, "  key  s=%-16s d=%-24s %s %u bits  %s%s\n",
			    k->selector, k->domain,
			    vdkim_alg_name(vdkim_key_get_alg(k->key)),
			    vdkim_key_get_bits(k->key), k->path,
			    k->subdomains_only ? "  (subdomains only)" : "");
			dns_check_describe(p, k->domain, k->selector, sb);
		} else
			sb_addf(sb, "  key  s=%-16s d=%-24s NOT LOADED: %s\n",
			    k->selector, k->domain, policy_key_error(k));
	}
	for (size_t i = 0; i < sc->nrules; i++) {
		const domain_rule *r = &sc->rules[i];
		sb_addf(sb, "  domain %s:", r->pattern);
		describe_opts(sb, "", &r->sig[0]);
		describe_opts(sb, "second-", &r->sig[1]);
		if (r->require != UNSET)
			sb_addf(sb, " dkim-require=%s", r->require ? "yes" :
			    "no");
		if (r->align != UNSET)
			sb_addf(sb, " dkim-align=%s", r->align == ALIGN_STRICT ?
			    "strict" : r->align == ALIGN_RELAXED ? "relaxed" :
			    "off");
		if (r->key_subdomains != UNSET)
			sb_addf(sb, " dkim-key-subdomains=%s",
			    r->key_subdomains ? "yes" : "no");
		sb_adds(sb, "\n");
	}
}

vdkim_rc
vdkim_policy_describe(const vdkim_policy *p, char **text, vdkim_error *err)
{
	strbuf sb;

	sb_init(&sb);
	describe_scope(p, &sb, "global", &p->global);
	for (size_t i = 0; i < p->nvmtas; i++)
		describe_scope(p, &sb, "virtual-mta", &p->vmtas[i]);
	for (size_t i = 0; i < p->npools; i++)
		describe_scope(p, &sb, "virtual-mta-pool", &p->pools[i]);
	for (size_t i = 0; i < p->nlists; i++)
		describe_scope(p, &sb, "domain-key-list", &p->lists[i]);
	for (size_t i = 0; i < p->nsources; i++)
		sb_addf(&sb, "source %s: process-x-dkim-options=%s\n",
		    p->sources[i].name, p->sources[i].allow_options ? "yes" :
		    "no");
	policy_describe_devices(p, &sb);
	*text = sb_take(&sb);
	if (*text == NULL)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	return VDKIM_OK;
}

/* ---------------------------------------------------------------- slot */

struct vdkim_slot {
	pthread_mutex_t lock;  /* guards cur; held only to swap or ref */
	char *path;
	char **host_blocks;    /* copied, NULL-terminated */
	vdkim_policy *cur;
};

static void
free_list(char **list)
{
	for (size_t i = 0; list != NULL && list[i] != NULL; i++)
		free(list[i]);
	free(list);
}

/* A copy of a NULL-terminated list (NULL: an empty one); NULL when out of
 * memory. */
static char **
copy_list(const char *const *list)
{
	size_t n = 0;
	char **c;

	while (list != NULL && list[n] != NULL)
		n++;
	c = calloc(n + 1, sizeof(*c));
	for (size_t i = 0; c != NULL && i < n; i++)
		if ((c[i] = strdup(list[i])) == NULL) {
			free_list(c);
			return NULL;
		}
	return c;
}

vdkim_rc
vdkim_slot_new(const char *path, const char *const *host_blocks,
    vdkim_slot **out, vdkim_error *err)
{
	vdkim_slot *s;
	vdkim_rc rc;

	if (path == NULL || out == NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "no config file given");
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->path = strdup(path)) == NULL ||
	    (s->host_blocks = copy_list(host_blocks)) == NULL) {
		if (s != NULL)
			free(s->path);
		free(s);
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	}
	rc = vdkim_policy_load_skipping(path,
	    (const char *const *)s->host_blocks, &s->cur, err);
	if (rc != VDKIM_OK) {
		free_list(s->host_blocks);
		free(s->path);
		free(s);
		return rc;
	}
	pthread_mutex_init(&s->lock, NULL);
	*out = s;
	return VDKIM_OK;
}

vdkim_rc
vdkim_slot_reload(vdkim_slot *s, vdkim_error *err)
{
	vdkim_policy *fresh, *old, *prev;
	vdkim_rc rc;

	/* Parse and load every key before anything changes, carrying over
	 * the devices of the policy in use and testing new ones. */
	prev = vdkim_slot_acquire(s);
	rc = policy_load_from(s->path, (const char *const *)s->host_blocks,
	    prev, 0, &fresh, err);
	vdkim_policy_unref(prev);
	if (rc != VDKIM_OK)
		return rc;
	pthread_mutex_lock(&s->lock);
	old = s->cur;
	s->cur = fresh;
	pthread_mutex_unlock(&s->lock);
	/* Threads still using the old policy hold their own references. */
	vdkim_policy_unref(old);
	return VDKIM_OK;
}

vdkim_policy *
vdkim_slot_acquire(vdkim_slot *s)
{
	vdkim_policy *p;

	pthread_mutex_lock(&s->lock);
	p = vdkim_policy_ref(s->cur);
	pthread_mutex_unlock(&s->lock);
	return p;
}

void
vdkim_slot_free(vdkim_slot *s)
{
	if (s == NULL)
		return;
	vdkim_policy_unref(s->cur);
	pthread_mutex_destroy(&s->lock);
	free_list(s->host_blocks);
	free(s->path);
	free(s);
}
