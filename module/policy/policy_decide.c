/*
 * policy_decide.c - which signatures a message gets, or why none.
 *
 * Reads the loaded model only: no I/O, no allocation that outlives the
 * call.  The steps:
 *   1. the scope chain: the VMTA, its pool, the global scope;
 *   2. the effective options: for each option, the first value set in the
 *      matching domain blocks, VMTA before pool before global, and within
 *      a scope the most specific pattern first;
 *   3. per signature: the identity (Sender:/From:/fixed/X-DKIM-Options),
 *      then the key (first key of the chain whose domain is the identity's
 *      domain or a parent of it, or "*"), preferring a DMARC-aligned one
 *      under dkim-align, then the fallback identity;
 *   4. the verdict: sign what could be signed; under dkim-require a
 *      signature that should be made and cannot be defers the message.
 *      The second signature is only ever made beside the first: a scope
 *      that says dkim-sign no sends nothing signed.  A VMTA the config
 *      does not know is deferred when the global scope requires
 *      signing, and a message with several From: fields is never
 *      signed.
 * A key bound to a rotation schedule stands for the selector the clock
 * and the recorded DNS checks make current (rotation_keys.c).  A key whose
 * last DNS check failed (dns_check.h) signs with a note, or under
 * dkim-dns-check require is passed over.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "domain_name.h"
#include "error.h"
#include "identity.h"
#include "mail_address.h"
#include "dns_check.h"
#include "policy_model.h"
#include "rotation.h"

#define MAX_RULES_PER_SCOPE 64
#define ADDR_MAX 330

const char *
vdkim_why_name(vdkim_why why)
{
	static const char *const names[] = {
		[VDKIM_WHY_OK] = "ok",
		[VDKIM_WHY_UNKNOWN_VMTA] = "unknown-vmta",
		[VDKIM_WHY_DISABLED] = "signing-disabled",
		[VDKIM_WHY_NO_IDENTITY] = "no-identity",
		[VDKIM_WHY_NO_KEY] = "no-key",
		[VDKIM_WHY_KEY_NOT_LOADED] = "key-not-loaded",
		[VDKIM_WHY_NOT_ALIGNED] = "not-aligned",
		[VDKIM_WHY_OPTIONS_REFUSED] = "x-dkim-options-refused",
		[VDKIM_WHY_OPTIONS_INVALID] = "x-dkim-options-invalid",
		[VDKIM_WHY_OPTIONS_NO_KEY] = "x-dkim-options-no-key",
		[VDKIM_WHY_BAD_MESSAGE] = "bad-message",
		[VDKIM_WHY_ROTATION_HELD] = "rotation-held",
		[VDKIM_WHY_ROTATION_NOT_IN_DNS] = "rotation-not-in-dns",
		[VDKIM_WHY_ROTATION_UNVERIFIED] = "rotation-unverified",
		[VDKIM_WHY_MULTIPLE_FROM] = "multiple-from",
		[VDKIM_WHY_DNS_MISSING] = "dns-missing",
		[VDKIM_WHY_DNS_MISMATCH] = "dns-mismatch",
		[VDKIM_WHY_KEY_DNS_MISMATCH] = "key-dns-mismatch",
	};

	if ((size_t)why < sizeof(names) / sizeof(names[0]) && names[why])
		return names[why];
	return "unknown";
}

const char *
vdkim_verdict_name(vdkim_verdict v)
{
	return v == VDKIM_VERDICT_SIGN ? "sign" :
	    v == VDKIM_VERDICT_DEFER ? "defer" : "nosign";
}

/* The domain block that set a value in step 2 (rule NULL: the default). */
typedef struct origin {
	const scope *sc;
	const domain_rule *rule;
} origin;

/* What step 2 yields. */
typedef struct effective {
	sig_opts sig[VDKIM_POLICY_MAX_SIGS]; /* pointers into the model */
	int require;
	int align;
	int dns_check;           /* enum dns_check_mode */
	int key_subdomains;      /* dkim-key-subdomains */
	origin sign_from[VDKIM_POLICY_MAX_SIGS]; /* for the sentences */
	origin require_from;
} effective;

/* X-DKIM-Options, parsed. */
typedef struct dkim_options {
	int present, honoured;
	char s[256], d[256], i[ADDR_MAX], list[256];
} dkim_options;

typedef struct decide_ctx {
	const vdkim_policy *p;
	const scope *chain[3];
	size_t nchain;
	const char *vmta_name;
	const char *rcpt;
	char from[ADDR_MAX], sender[ADDR_MAX];
	size_t nfrom;            /* From: fields in the message */
	dkim_options xo;
	time_t now;              /* chooses rotating selectors */
	int dns_check;           /* enum dns_check_mode, in effect */
	int key_subdomains;      /* dkim-key-subdomains, in effect */
	const key_entry *dns_skipped; /* a key passed over: DNS failed */
	vdkim_decision *out;
} decide_ctx;

/* A failure of one signature: the reason and its sentence. */
typedef struct sig_failure {
	vdkim_why why;
	char detail[VDKIM_ERRMSG_MAX];
} sig_failure;

static void
failf(sig_failure *f, vdkim_why why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
failf(sig_failure *f, vdkim_why why, const char *fmt, ...)
{
	va_list ap;

	f->why = why;
	va_start(ap, fmt);
	vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------- domain rules */

/* How well pattern matches domain: -1 no, else higher is more specific. */
static int
pattern_rank(const char *pattern, const char *domain)
{
	if (strcmp(pattern, "*") == 0)
		return 0;
	if (domain == NULL)
		return -1;
	if (strncmp(pattern, "*.", 2) == 0) {
		size_t ls = strlen(pattern + 1), ld = strlen(domain);
		/* "*.example.com" covers subdomains, not example.com. */
		return ld > ls && strcasecmp(domain + ld - ls, pattern + 1) ==
		    0 ? (int)ls : -1;
	}
	return strcasecmp(pattern, domain) == 0 ? 100000 : -1;
}

/* The rules of sc that match rcpt, most specific first. */
static size_t
matching_rules(const scope *sc, const char *rcpt, const domain_rule **out)
{
	int rank[MAX_RULES_PER_SCOPE];
	size_t n = 0;

	for (size_t i = 0; i < sc->nrules && n < MAX_RULES_PER_SCOPE; i++) {
		int r = pattern_rank(sc->rules[i].pattern, rcpt);
		size_t k;

		if (r < 0)
			continue;
		/* Insertion by rank, highest first. */
		for (k = n; k > 0 && rank[k - 1] < r; k--) {
			rank[k] = rank[k - 1];
			out[k] = out[k - 1];
		}
		rank[k] = r;
		out[k] = &sc->rules[i];
		n++;
	}
	return n;
}

/* Fills what eff does not have yet from o. */
static void
merge_opts(sig_opts *eff, const sig_opts *o)
{
#define TAKE(f) if (eff->f == UNSET) eff->f = o->f
	TAKE(sign);
	TAKE(alg);
	TAKE(header_canon);
	TAKE(body_canon);
	TAKE(expire_after);
	TAKE(add_timestamp);
	TAKE(body_limit);
	TAKE(oversign_all);
	TAKE(verify);
#undef TAKE
	if (eff->identity_mode == UNSET && o->identity_mode != UNSET) {
		eff->identity_mode = o->identity_mode;
		eff->identity = o->identity;
	}
	if (eff->identity_fallback == NULL)
		eff->identity_fallback = o->identity_fallback;
	if (eff->headers == NULL)
		eff->headers = o->headers;
}

static void
unset_opts(sig_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->sign = o->identity_mode = o->alg = o->header_canon =
	    o->body_canon = o->add_timestamp = o->body_limit =
	    o->oversign_all = o->verify = UNSET;
	o->expire_after = UNSET;
}

static void
resolve(const decide_ctx *c, effective *e)
{
	const domain_rule *rules[MAX_RULES_PER_SCOPE];

	memset(e, 0, sizeof(*e));
	for (size_t k = 0; k < VDKIM_POLICY_MAX_SIGS; k++)
		unset_opts(&e->sig[k]);
	e->require = e->align = e->dns_check = e->key_subdomains = UNSET;
	for (size_t s = 0; s < c->nchain; s++) {
		size_t n = matching_rules(c->chain[s], c->rcpt, rules);
		origin here = { c->chain[s], NULL };
		for (size_t i = 0; i < n; i++) {
			here.rule = rules[i];
			for (size_t k = 0; k < VDKIM_POLICY_MAX_SIGS; k++) {
				if (e->sig[k].sign == UNSET &&
				    rules[i]->sig[k].sign != UNSET)
					e->sign_from[k] = here;
				merge_opts(&e->sig[k], &rules[i]->sig[k]);
			}
			if (e->require == UNSET && rules[i]->require != UNSET)
				e->require_from = here;
			if (e->require == UNSET)
				e->require = rules[i]->require;
			if (e->align == UNSET)
				e->align = rules[i]->align;
			if (e->dns_check == UNSET)
				e->dns_check = rules[i]->dns_check;
			if (e->key_subdomains == UNSET)
				e->key_subdomains = rules[i]->key_subdomains;
		}
	}
	/* The second signature takes what it does not set from the first. */
	{
		sig_opts first = e->sig[0];
		first.sign = UNSET;
		first.alg = UNSET;
		merge_opts(&e->sig[1], &first);
	}
	/* Defaults (PowerMTA's where it has one). */
	for (size_t k = 0; k < VDKIM_POLICY_MAX_SIGS; k++) {
		sig_opts *o = &e->sig[k];
		if (o->sign == UNSET)
			o->sign = 0;
		if (o->identity_mode == UNSET)
			o->identity_mode = ID_SENDER_OR_FROM;
		if (o->header_canon == UNSET)
			o->header_canon = VDKIM_CANON_RELAXED;
		if (o->body_canon == UNSET)
			o->body_canon = VDKIM_CANON_RELAXED;
		if (o->expire_after == UNSET)
			o->expire_after = 0;
		if (o->add_timestamp == UNSET)
			o->add_timestamp = 1;
		if (o->body_limit == UNSET)
			o->body_limit = 0;
		if (o->oversign_all == UNSET)
			o->oversign_all = 0;
	}
	if (e->require == UNSET)
		e->require = 0;
	if (e->align == UNSET)
		e->align = ALIGN_OFF;
	if (e->dns_check == UNSET)
		e->dns_check = DNS_CHECK_WARN;
	if (e->key_subdomains == UNSET)
		e->key_subdomains = 1;
}

/* "virtual-mta "news" domain "*" (FILE:LINE)": the block o names. */
static void
describe_origin(const decide_ctx *c, const origin *o, char *buf, size_t n)
{
	const domain_rule *r = o->rule;
	int global = o->sc->kind == SCOPE_GLOBAL;
	char line[16] = "";

	/* section_line() finds every block's line; 0 is "not found". */
	if (r->line > 0)
		snprintf(line, sizeof(line), ":%d", r->line);
	snprintf(buf, n, "%s%s%s%sdomain \"%s\" (%s%s)",
	    global ? "the top-level " : o->sc->kind == SCOPE_POOL ?
	    "virtual-mta-pool " : "virtual-mta ", global ? "" : "\"",
	    global ? "" : o->sc->name, global ? "" : "\" ", r->pattern,
	    c->p->path, line);
}

/* ---------------------------------------------------------- the chain */

static int
set_chain(decide_ctx *c, const vdkim_envelope *env)
{
	const vdkim_policy *p = c->p;
	const scope *vm = NULL, *pool = NULL;

	c->vmta_name = env->vmta ? env->vmta : "default";
	vm = policy_find(p->vmtas_by_name, p->nvmtas, c->vmta_name);
	/* A config without any virtual-mta signs with the global scope.
	 * A VMTA it does not know sees the global scope only, for its
	 * dkim-require. */
	if (vm == NULL && p->nvmtas > 0 && env->vmta != NULL) {
		c->chain[0] = &p->global;
		c->nchain = 1;
		return -1;
	}
	if (env->pool != NULL)
		pool = policy_find(p->pools_by_name, p->npools, env->pool);
	else if (vm != NULL)
		pool = vm->pool;
	c->nchain = 0;
	if (vm != NULL)
		c->chain[c->nchain++] = vm;
	if (pool != NULL)
		c->chain[c->nchain++] = pool;
	c->chain[c->nchain++] = &p->global;
	return 0;
}

/* -------------------------------------------------------------- fields */

static int
field_is(const vdkim_header *h, const char *name)
{
	size_t n = strlen(name);
	const char *f = h->field;
	size_t i = n;

	if (h->len < n + 1 || strncasecmp(f, name, n) != 0)
		return 0;
	while (i < h->len && (f[i] == ' ' || f[i] == '\t'))
		i++;
	return i < h->len && f[i] == ':';
}

static const char *
field_value(const vdkim_header *h, size_t *len)
{
	const char *colon = memchr(h->field, ':', h->len);

	*len = h->len - (size_t)(colon + 1 - h->field);
	return colon + 1;
}

/* Parses "s=..; d=..; i=..; key-list=.." into xo; -1 when malformed. */
static int
parse_dkim_options(const char *v, size_t len, dkim_options *xo)
{
	char buf[1024];
	char *save = NULL;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, v, len);
	buf[len] = '\0';
	for (char *t = strtok_r(buf, ";", &save); t != NULL;
	    t = strtok_r(NULL, ";", &save)) {
		char *eq, *name, *val, *dst;
		size_t dstlen;

		while (*t == ' ' || *t == '\t' || *t == '\r' || *t == '\n')
			t++;
		if (*t == '\0')
			continue;
		eq = strchr(t, '=');
		if (eq == NULL)
			return -1;
		*eq = '\0';
		name = t;
		val = eq + 1;
		for (char *e = eq; e > name && strchr(" \t", e[-1]); e--)
			e[-1] = '\0';
		while (*val == ' ' || *val == '\t')
			val++;
		for (size_t n = strlen(val); n > 0 &&
		    strchr(" \t\r\n", val[n - 1]); n--)
			val[n - 1] = '\0';
		if (strcasecmp(name, "s") == 0) {
			dst = xo->s;
			dstlen = sizeof(xo->s);
		} else if (strcasecmp(name, "d") == 0) {
			dst = xo->d;
			dstlen = sizeof(xo->d);
		} else if (strcasecmp(name, "i") == 0) {
			dst = xo->i;
			dstlen = sizeof(xo->i);
		} else if (strcasecmp(name, "key-list") == 0) {
			dst = xo->list;
			dstlen = sizeof(xo->list);
		} else {
			return -1;
		}
		if (*val == '\0' || strlen(val) >= dstlen)
			return -1;
		strcpy(dst, val);
	}
	/* i= is checked once the source is known to be trusted
	 * (check_options_identity). */
	if ((xo->s[0] && !domain_is_valid(xo->s)) ||
	    (xo->d[0] && !domain_is_valid(xo->d)))
		return -1;
	return 0;
}

/* Reads From:, Sender: and X-DKIM-Options from the fields. */
static void
read_fields(decide_ctx *c, const vdkim_header *h, size_t n,
    sig_failure *note)
{
	int have_sender = 0, have_xo = 0;

	for (size_t i = 0; i < n; i++) {
		size_t len;
		const char *v;

		if (h[i].field == NULL || memchr(h[i].field, ':', h[i].len) ==
		    NULL)
			continue;
		v = field_value(&h[i], &len);
		if (field_is(&h[i], "From")) {
			/* The first one is the identity; the decision
			 * refuses a message with more (multiple-from). */
			if (c->nfrom++ == 0 && mail_address_first(v, len,
			    c->from, sizeof(c->from)) != 0)
				c->from[0] = '\0';
		} else if (!have_sender && field_is(&h[i], "Sender")) {
			have_sender = 1;
			if (mail_address_first(v, len, c->sender,
			    sizeof(c->sender)) != 0)
				c->sender[0] = '\0';
		} else if (field_is(&h[i], "X-DKIM-Options")) {
			c->out->strip_x_dkim_options = 1;
			if (have_xo++)
				continue; /* the first one counts */
			c->xo.present = 1;
			if (parse_dkim_options(v, len, &c->xo) != 0) {
				memset(&c->xo, 0, sizeof(c->xo));
				failf(note, VDKIM_WHY_OPTIONS_INVALID,
				    "the X-DKIM-Options field is malformed "
				    "(expected s=, d=, i=, key-list= tags); "
				    "it was ignored");
			}
		}
	}
}

/* ----------------------------------------------------------- the keys */

/* subdomains: dkim-key-subdomains (PowerMTA's rule, a key also signs
 * for the subdomains of its DOMAIN), or not (OpenDKIM's SubDomains no: the
 * identity's domain must be DOMAIN itself).  A "*.D" key signs for the
 * subdomains of D only, either way. */
static int
key_matches_domain(const key_entry *k, const char *domain, int subdomains)
{
	if (strcmp(k->domain, "*") == 0)
		return 1;
	if (k->subdomains_only)
		return domain_within(domain, k->domain) &&
		    strcasecmp(domain, k->domain) != 0;
	return subdomains ? domain_within(domain, k->domain) :
	    strcasecmp(domain, k->domain) == 0;
}

static int
key_fits_alg(const vdkim_policy *p, const key_entry *k, int alg)
{
	if (k->rot != NULL)
		return alg == UNSET || rot_has_alg(k->rot->sched, alg);
	/* vdkimctl's load on demand: the key's algorithm is known once its
	 * file is (a host's policy has every key loaded: nothing to do). */
	policy_key_on_demand(p, k);
	/* A key that failed to load is not skipped: picking it tells the
	 * operator about it (key-not-loaded) instead of hiding it. */
	return alg == UNSET || k->key == NULL ||
	    (int)vdkim_key_get_alg(k->key) == alg;
}

/* d= for key k signing for domain. */
static const char *
signing_domain(const key_entry *k, const char *domain)
{
	return strcmp(k->domain, "*") == 0 ? domain : k->domain;
}

/*
 * Under dkim-dns-check require, a static key whose last DNS check failed
 * is passed over (remembered for the reason, should none be left).  A
 * rotating key is the rotation rules' to judge: its selector is checked
 * once chosen (dns_verdict).
 */
static int
dns_refused(decide_ctx *c, const key_entry *k, const char *domain)
{
	if (c->dns_check != DNS_CHECK_REQUIRE || k->rot != NULL ||
	    dns_check_failed(c->p, signing_domain(k, domain), k->selector) ==
	    NULL)
		return 0;
	if (c->dns_skipped == NULL)
		c->dns_skipped = k;
	return 1;
}

/* The scopes whose keys are searched, in order. */
static size_t
key_scopes(const decide_ctx *c, const scope **out)
{
	const scope *list;

	if (c->xo.honoured && c->xo.list[0] != '\0') {
		list = policy_find(c->p->lists_by_name, c->p->nlists,
		    c->xo.list);
		out[0] = list;
		return list ? 1 : 0;
	}
	memcpy(out, c->chain, c->nchain * sizeof(*out));
	return c->nchain;
}

/* The keys are looked up by domain (policy_keys_for: the domain, its
 * parents and "*"), then held to dkim-key-subdomains and "*.D" keys
 * (key_matches_domain): a message costs the same whatever the number of
 * domain-keys. */
static const key_entry *
find_key(decide_ctx *c, const char *domain, int alg)
{
	const scope *sc[3];
	size_t n = key_scopes(c, sc);
	const key_entry *k;
	key_iter it;

	for (size_t s = 0; s < n; s++)
		for (policy_keys_for(&it, sc[s], domain);
		    (k = policy_keys_next(&it)) != NULL;)
			if (key_matches_domain(k, domain, c->key_subdomains) &&
			    key_fits_alg(c->p, k, alg) &&
			    !dns_refused(c, k, domain))
				return k;
	return NULL;
}

static int
is_aligned(const decide_ctx *c, const char *d, int mode)
{
	const char *from = mail_address_domain(c->from);

	if (from == NULL)
		return 0;
	if (mode == ALIGN_STRICT)
		return strcasecmp(d, from) == 0;
	return strcasecmp(policy_org_domain(c->p, d),
	    policy_org_domain(c->p, from)) == 0;
}

/* The first key for domain (as find_key orders them) whose d= aligns with
 * the From: domain under mode. */
static const key_entry *
find_aligned_key(decide_ctx *c, const char *domain, int alg, int mode)
{
	const scope *sc[3];
	size_t n = key_scopes(c, sc);
	const key_entry *k;
	key_iter it;

	for (size_t s = 0; s < n; s++)
		for (policy_keys_for(&it, sc[s], domain);
		    (k = policy_keys_next(&it)) != NULL;)
			if (key_matches_domain(k, domain, c->key_subdomains) &&
			    key_fits_alg(c->p, k, alg) &&
			    is_aligned(c, signing_domain(k, domain), mode) &&
			    !dns_refused(c, k, domain))
				return k;
	return NULL;
}

/* X-DKIM-Options s=/d=: that key, among the searched scopes and lists.
 * With d= by domain; s= alone (a sender's own choice, honoured only
 * for sources allowed to) scans the scopes' keys. */
static const key_entry *
find_named_key(const decide_ctx *c, int alg)
{
	const scope *sc[3];
	size_t n = key_scopes(c, sc);
	key_iter it;

	for (size_t s = 0; s < n; s++) {
		const key_entry *k;
		size_t i = 0;

		if (c->xo.d[0] != '\0')
			policy_keys_for(&it, sc[s], c->xo.d);
		while ((k = c->xo.d[0] != '\0' ? policy_keys_next(&it) :
		    i < sc[s]->nkeys ? sc[s]->keys[i++] : NULL) != NULL)
			if ((c->xo.s[0] == '\0' ||
			    strcasecmp(k->selector, c->xo.s) == 0) &&
			    (c->xo.d[0] == '\0' ||
			    key_matches_domain(k, c->xo.d, 1)) &&
			    key_fits_alg(c->p, k, alg))
				return k;
	}
	return NULL;
}

/* ------------------------------------------------------ one signature */

static void
fill_spec(decide_ctx *c, const sig_opts *o, const key_entry *k,
    const char *d, const char *identity)
{
	vdkim_decision *out = c->out;
	size_t n = out->nsigs;
	vdkim_sig_spec *spec = &out->specs[n];

	vdkim_sig_spec_init(spec);
	snprintf(out->domain[n], sizeof(out->domain[n]), "%s", d);
	snprintf(out->selector[n], sizeof(out->selector[n]), "%s",
	    k->selector);
	spec->key = k->key;
	spec->domain = out->domain[n];
	spec->selector = out->selector[n];
	/* i= only when asked for, and only when it lies within d=. */
	if (identity != NULL && mail_address_domain(identity) != NULL &&
	    domain_within(mail_address_domain(identity), d)) {
		snprintf(out->identity[n], sizeof(out->identity[n]), "%s",
		    identity);
		spec->identity = out->identity[n];
	}
	spec->header_canon = (vdkim_canon)o->header_canon;
	spec->body_canon = (vdkim_canon)o->body_canon;
	spec->headers = (const char *const *)o->headers;
	if (o->oversign_all)
		spec->oversign = o->headers ? (const char *const *)o->headers :
		    vdkim_default_headers();
	spec->add_timestamp = o->add_timestamp;
	spec->expire_after = o->expire_after;
	spec->body_length = o->body_limit;
	/* Unset: the engine's default by key type (RSA checked). */
	spec->self_check = o->verify == UNSET ? VDKIM_SELF_CHECK_DEFAULT :
	    o->verify;
	out->nsigs++;
}

/*
 * The chosen key against its last DNS check: warn signs with a note
 * (dns-missing, dns-mismatch); require refuses it (a key named by
 * X-DKIM-Options, or a rotation's selector, reach here failed).  0 to
 * sign, -1 with the failure in f.
 */
static int
dns_verdict(const decide_ctx *c, const key_entry *key, const char *d,
    sig_failure *f, sig_failure *note)
{
	const rot_record *r;

	if (c->dns_check == DNS_CHECK_OFF ||
	    (r = dns_check_failed(c->p, d, key->selector)) == NULL)
		return 0;
	if (c->dns_check == DNS_CHECK_REQUIRE) {
		failf(f, VDKIM_WHY_KEY_DNS_MISMATCH, "s=%s d=%s failed its last "
		    "DNS check (%s) and dkim-dns-check require refuses it "
		    "(publish the record, or run vdkimctl check-dns)",
		    key->selector, d, rot_status_name(r->status));
		return -1;
	}
	if (note->why == VDKIM_WHY_OK || note->why == VDKIM_WHY_NOT_ALIGNED)
		failf(note, r->status == ROT_MISSING ? VDKIM_WHY_DNS_MISSING :
		    VDKIM_WHY_DNS_MISMATCH, "s=%s d=%s failed its last DNS "
		    "check (%s): receivers will fail the signature (publish "
		    "the record, then run vdkimctl check-dns)", key->selector,
		    d, rot_status_name(r->status));
	return 0;
}

/* plan_signature's answer when X-DKIM-Options' i= cannot go with the d=
 * chosen: the options are to be refused and the message planned again. */
#define PLAN_REFUSE_OPTIONS (-2)

/*
 * Chooses identity and key for signature k.  Returns 0 and fills a spec,
 * -1 with the failure, or PLAN_REFUSE_OPTIONS with the reason in f.
 */
static int
plan_signature(decide_ctx *c, size_t k, const effective *e,
    sig_failure *f, sig_failure *note)
{
	const sig_opts *o = &e->sig[k];
	const char *addr = NULL, *explicit_id = NULL, *domain;
	const key_entry *key = NULL;
	int use_options = k == 0 && c->xo.honoured;

	c->dns_skipped = NULL;

	/* The identity. */
	if (use_options && c->xo.i[0] != '\0') {
		addr = explicit_id = c->xo.i;
	} else if (o->identity_mode == ID_FIXED) {
		addr = explicit_id = o->identity;
	} else if (o->identity_mode == ID_SENDER_OR_FROM &&
	    c->sender[0] != '\0') {
		addr = c->sender;
	} else if (c->from[0] != '\0') {
		addr = c->from;
	}
	if (addr == NULL) {
		failf(f, VDKIM_WHY_NO_IDENTITY, "the message has no usable %s "
		    "address to choose a signing domain from",
		    o->identity_mode == ID_STRICT_FROM ? "From:" :
		    "Sender: or From:");
		return -1;
	}
	domain = mail_address_domain(addr);

	/* The key: named by X-DKIM-Options, aligned, by identity, fallback. */
	if (use_options && (c->xo.s[0] != '\0' || c->xo.d[0] != '\0')) {
		key = find_named_key(c, o->alg);
		if (key == NULL) {
			failf(f, VDKIM_WHY_OPTIONS_NO_KEY, "X-DKIM-Options "
			    "names s=%s d=%s, but no such domain-key is "
			    "configured for virtual-mta %s%s%s", c->xo.s,
			    c->xo.d, c->vmta_name,
			    c->xo.list[0] ? " in key list " : "", c->xo.list);
			return -1;
		}
		if (c->xo.d[0] != '\0')
			domain = c->xo.d;
	}
	if (key == NULL && e->align != ALIGN_OFF && c->from[0] != '\0') {
		const char *fd = mail_address_domain(c->from);
		key = find_aligned_key(c, fd, o->alg, e->align);
		if (key != NULL)
			domain = fd;
	}
	if (key == NULL)
		key = find_key(c, domain, o->alg);
	if (key == NULL && o->identity_fallback != NULL) {
		/* The fallback picks the domain; it is not an explicit i=. */
		addr = o->identity_fallback;
		explicit_id = NULL;
		domain = mail_address_domain(addr);
		key = find_key(c, domain, o->alg);
	}
	if (key == NULL && c->dns_skipped != NULL) {
		const key_entry *sk = c->dns_skipped;
		failf(f, VDKIM_WHY_KEY_DNS_MISMATCH, "domain-key %s,%s (%s:%d) "
		    "failed its last DNS check (%s) and dkim-dns-check require "
		    "leaves no other key for %s (publish the record, or run "
		    "vdkimctl check-dns)", sk->selector, sk->domain, c->p->path,
		    sk->line, rot_status_name(dns_check_failed(c->p,
		    signing_domain(sk, domain), sk->selector)->status), domain);
		return -1;
	}
	if (key == NULL) {
		failf(f, VDKIM_WHY_NO_KEY, "no %s%sdomain-key matches %s for "
		    "virtual-mta %s (add domain-key = \"SELECTOR,%s,KEYFILE\", "
		    "or set dkim-identity-fallback)",
		    o->alg != UNSET ? vdkim_alg_name((vdkim_alg)o->alg) : "",
		    o->alg != UNSET ? " " : "", domain, c->vmta_name, domain);
		return -1;
	}
	if (key->rot != NULL) {
		rot_choice rc;
		rotation_choose(key->rot, o->alg, c->now, key->rot->state, &rc);
		if (rc.key == NULL) {
			failf(f, rc.why, "%s", rc.detail);
			return -1;
		}
		if (rc.why != VDKIM_WHY_OK && (note->why == VDKIM_WHY_OK ||
		    note->why == VDKIM_WHY_NOT_ALIGNED))
			failf(note, rc.why, "%s", rc.detail);
		key = &rc.key->entry;
	}
	if (key->key == NULL) {
		failf(f, VDKIM_WHY_KEY_NOT_LOADED, "domain-key %s,%s (%s:%d) "
		    "is not loaded: %s", key->selector, key->domain,
		    c->p->path, key->line, policy_key_error(key));
		return -1;
	}
	if (dns_verdict(c, key, signing_domain(key, domain), f, note) != 0)
		return -1;
	if (use_options && explicit_id == c->xo.i) {
		char why[VDKIM_ERRMSG_MAX];

		if (identity_check(c->xo.i, signing_domain(key, domain), why,
		    sizeof(why)) != 0) {
			failf(f, VDKIM_WHY_OPTIONS_REFUSED, "X-DKIM-Options "
			    "ignored: %s", why);
			return PLAN_REFUSE_OPTIONS;
		}
	}
	fill_spec(c, o, key, signing_domain(key, domain), explicit_id);
	if (k == 0) {
		c->out->aligned = is_aligned(c, c->out->domain[0],
		    e->align == ALIGN_STRICT ? ALIGN_STRICT : ALIGN_RELAXED);
		if (e->align != ALIGN_OFF && !c->out->aligned &&
		    note->why == VDKIM_WHY_OK)
			failf(note, VDKIM_WHY_NOT_ALIGNED, "no configured key "
			    "aligns with the From: domain %s; signed with "
			    "d=%s (add a domain-key for %s)",
			    mail_address_domain(c->from) ?
			    mail_address_domain(c->from) : "(none)",
			    c->out->domain[0], mail_address_domain(c->from) ?
			    mail_address_domain(c->from) : "it");
	}
	return 0;
}

/* ------------------------------------------------------------- verdict */

/*
 * X-DKIM-Options from a source that may not give them, or whose i= the
 * signer would refuse, is ignored as a whole: the message is signed by
 * the config's rules, with the reason as a note.  The field is one
 * request (s=, d=, i= and key-list= together); honouring part of it would
 * make a signature nobody asked for, while the config's rules are what
 * the operator set for messages without options.
 */
static void
refuse_options(decide_ctx *c, sig_failure *note, const char *why)
{
	c->xo.honoured = 0;
	failf(note, VDKIM_WHY_OPTIONS_REFUSED, "X-DKIM-Options ignored: %s",
	    why);
}

/* Step 4's input: whether X-DKIM-Options is honoured, or why not (in
 * note), or the failure it causes (in fail). */
static void
judge_options(decide_ctx *c, const vdkim_envelope *env, sig_failure *fail,
    sig_failure *note)
{
	const vdkim_policy *p = c->p;
	const source_policy *src = NULL;
	char why[VDKIM_ERRMSG_MAX];

	for (size_t i = 0; env->source && i < p->nsources; i++)
		if (strcmp(p->sources[i].name, env->source) == 0)
			src = &p->sources[i];
	c->xo.honoured = src != NULL && src->allow_options;
	if (!c->xo.honoured) {
		snprintf(why, sizeof(why), "source %s may not set them (add "
		    "process-x-dkim-options yes to its source block)",
		    env->source ? env->source : "(none)");
		refuse_options(c, note, why);
	} else if (c->xo.i[0] != '\0' && identity_check(c->xo.i,
	    c->xo.d[0] ? c->xo.d : NULL, why, sizeof(why)) != 0) {
		/* The d= the key gives is checked once it is chosen. */
		refuse_options(c, note, why);
	} else if (c->xo.list[0] != '\0' && policy_find(p->lists_by_name,
	    p->nlists, c->xo.list) == NULL) {
		failf(fail, VDKIM_WHY_OPTIONS_INVALID, "X-DKIM-Options names "
		    "key-list %s, which is not a domain-key-list in %s",
		    c->xo.list, p->path);
	}
}

/*
 * Plans the signatures e asks for, the second only beside the first, and
 * stops at the first failure (into fail).  Returns PLAN_REFUSE_OPTIONS
 * when the message must be planned again without X-DKIM-Options.
 */
static int
plan_all(decide_ctx *c, const effective *e, sig_failure *fail,
    sig_failure *note)
{
	for (size_t k = 0; k < VDKIM_POLICY_MAX_SIGS && e->sig[k].sign; k++) {
		int rc = plan_signature(c, k, e, fail, note);

		if (rc != 0)
			return rc;
	}
	return 0;
}

/* signing-disabled, with the block that said no, or that none said yes. */
static void
fail_disabled(const decide_ctx *c, const effective *e, sig_failure *f)
{
	char block[VDKIM_ERRMSG_MAX] = "";
	const char *rcpt = c->rcpt ? c->rcpt : "(none)";
	const char *second = e->sig[1].sign ? "; second-dkim-sign yes only "
	    "adds a second signature to a signed message" : "";

	if (e->sign_from[0].rule == NULL) {
		failf(f, VDKIM_WHY_DISABLED, "signing is off for virtual-mta %s "
		    "and domain %s (no matching domain block says dkim-sign "
		    "yes%s)", c->vmta_name, rcpt, second);
		return;
	}
	describe_origin(c, &e->sign_from[0], block, sizeof(block));
	failf(f, VDKIM_WHY_DISABLED, "signing is off for virtual-mta %s and "
	    "domain %s: dkim-sign no in %s%s", c->vmta_name, rcpt, block,
	    second);
}

/* unknown-vmta, with the global dkim-require that defers it, if any. */
static void
fail_unknown_vmta(const decide_ctx *c, const effective *e, sig_failure *f)
{
	char block[VDKIM_ERRMSG_MAX] = "";

	if (e->require)
		describe_origin(c, &e->require_from, block, sizeof(block));
	failf(f, VDKIM_WHY_UNKNOWN_VMTA, "virtual-mta %s is not in %s "
	    "(define it, or route the message to a known one)%s%s",
	    c->vmta_name, c->p->path, e->require ? "; deferred by "
	    "dkim-require yes in " : "", block);
}

vdkim_rc
vdkim_policy_decide(const vdkim_policy *p, const vdkim_envelope *env,
    const vdkim_header *hdrs, size_t nhdrs, time_t now, vdkim_decision *out,
    vdkim_error *err)
{
	decide_ctx c;
	effective e;
	sig_failure first_fail = { VDKIM_WHY_OK, "" };
	sig_failure note = { VDKIM_WHY_OK, "" };
	int known;

	if (p == NULL || env == NULL || out == NULL ||
	    (hdrs == NULL && nhdrs > 0))
		return vdkim_fail(err, VDKIM_EINVAL, "no policy, envelope or "
		    "output given");
	if (env->size != sizeof(*env))
		return vdkim_fail(err, VDKIM_EINVAL, "envelope of unknown size "
		    "%zu", env->size);
	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.p = p;
	c.out = out;
	c.rcpt = env->rcpt_domain;
	c.now = now;
	out->verdict = VDKIM_VERDICT_NOSIGN;

	/* First, so that X-DKIM-Options is stripped whatever happens. */
	read_fields(&c, hdrs, nhdrs, &note);
	known = set_chain(&c, env) == 0;
	resolve(&c, &e);
	c.dns_check = e.dns_check;
	c.key_subdomains = e.key_subdomains;
	out->require = e.require;
	if (!known || !e.sig[0].sign) {
		/* Nothing to plan: unsigned, or deferred by the global
		 * dkim-require when the VMTA is unknown. */
		if (!known)
			fail_unknown_vmta(&c, &e, &first_fail);
		else
			fail_disabled(&c, &e, &first_fail);
		out->why = first_fail.why;
		memcpy(out->detail, first_fail.detail, sizeof(out->detail));
		if (!known && e.require)
			out->verdict = VDKIM_VERDICT_DEFER;
		return VDKIM_OK;
	}
	if (c.nfrom > 1)
		failf(&first_fail, VDKIM_WHY_MULTIPLE_FROM, "the message has "
		    "%zu From: fields; receivers that apply DMARC reject such "
		    "a message (RFC 7489 6.6.1), so it is not signed (send it "
		    "with one From: field)", c.nfrom);
	else if (c.xo.present)
		judge_options(&c, env, &first_fail, &note);
	if (first_fail.why == VDKIM_WHY_OK &&
	    plan_all(&c, &e, &first_fail, &note) == PLAN_REFUSE_OPTIONS) {
		/* Planned again by the config's rules alone. */
		note = first_fail;
		c.xo.honoured = 0;
		first_fail.why = VDKIM_WHY_OK;
		out->nsigs = 0;
		plan_all(&c, &e, &first_fail, &note);
	}
	if (first_fail.why != VDKIM_WHY_OK) {
		out->why = first_fail.why;
		memcpy(out->detail, first_fail.detail, sizeof(out->detail));
		if (e.require)
			out->verdict = VDKIM_VERDICT_DEFER;
		/* The second signature only beside the first. */
		if (e.require || out->nsigs == 0) {
			out->nsigs = 0;
			out->aligned = 0;
			return VDKIM_OK;
		}
	} else {
		out->why = note.why;
		memcpy(out->detail, note.detail, sizeof(out->detail));
	}
	out->verdict = VDKIM_VERDICT_SIGN;
	return VDKIM_OK;
}
