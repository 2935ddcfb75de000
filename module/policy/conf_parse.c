/*
 * conf_parse.c - vdkim.conf (libconfuse syntax) into the policy model.
 *
 * Every value that needs checking is declared as a libconfuse "pointer"
 * option with a parse callback (parse_value): the callback runs while the
 * parser stands on the value's line, so an error names the exact line, and
 * it turns the text into a conf_val that remembers that line for later
 * checks (a pool member that is not a VMTA, say).
 *
 * PowerMTA lets "domain-key" be repeated; in libconfuse "=" on a list
 * replaces the earlier values.  The callback therefore also appends each
 * domain-key (and dkim-rotation-key, which stands where a domain-key can,
 * in the same order) to a hidden list of its section, which is what the
 * model is built from; a dkim-rotation block's "selector" lines likewise.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <confuse.h>

#include "conf_device.h"
#include "conf_parse.h"
#include "conf_value.h"
#include "conf_text.h"
#include "domain_idn.h"
#include "domain_name.h"
#include "error.h"
#include "header_fields.h"
#include "identity.h"
#include "interval.h"
#include "policy_model.h"
#include "rotation.h"

#define KEYS_ALL "_vdkim-domain-key-all"
#define KEYS_ALL_MARK '\x01'
#define KEYS_ALL_ROT_MARK '\x02'
#define SELECTORS_ALL "_vdkim-selector-all"
/* The title of a top-level block, moved inside it (conf_untitle_top). */
#define TITLE_OPT "_vdkim-title"
#define TITLE CFG_STR(TITLE_OPT, NULL, CFGF_NODEFAULT)

/*
 * libconfuse 3.3's lexer keeps its buffer in globals: two parses at once
 * (two instances, or a reload beside a load) corrupt each other.  This lock
 * makes parses take turns; it is held only around cfg_init..cfg_free.
 *
 * libconfuse's error callback has no user pointer either, so the sink for
 * the first error of a parse is a static pointer that only the thread
 * holding parse_lock sets, reads and clears.
 */
static pthread_mutex_t parse_lock = PTHREAD_MUTEX_INITIALIZER;

struct parse_sink {
	const char *path;
	vdkim_error *err;
	int failed;
};
static struct parse_sink *parse_sink; /* guarded by parse_lock */

static void
on_conf_error(cfg_t *cfg, const char *fmt, va_list ap)
{
	char msg[VDKIM_ERRMSG_MAX];
	const char *what = msg, *hint = "";

	if (parse_sink == NULL || parse_sink->failed)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* libconfuse's words, in the operator's. */
	if (strncmp(msg, "no such option", 14) == 0) {
		what = msg + 14;
		hint = " (see conf-examples/README.md for the directives)";
		parse_sink->failed = 1;
		vdkim_fail(parse_sink->err, VDKIM_ESYNTAX,
		    "%s:%d: unknown directive%s%s", parse_sink->path,
		    cfg ? cfg->line : 0, what, hint);
		return;
	}
	if (strstr(msg, "missing title") != NULL)
		hint = " (wildcard patterns must be quoted: domain \"*\")";
	else if (strstr(msg, "invalid boolean") != NULL)
		hint = " (expected yes or no)";
	else if (strstr(msg, "duplicate title") != NULL)
		hint = " (each name may be defined once per scope)";
	parse_sink->failed = 1;
	vdkim_fail(parse_sink->err, VDKIM_ESYNTAX, "%s:%d: %s%s",
	    parse_sink->path, cfg ? cfg->line : 0, what, hint);
}

/* ------------------------------------------------------- value checks */

static int
is_one_of(const char *v, const char *const *names)
{
	for (; *names != NULL; names++)
		if (strcasecmp(v, *names) == 0)
			return 1;
	return 0;
}

/* "user@domain" or "@domain" as i= can carry it (the signer's check). */
static int
is_identity(const char *v)
{
	char why[VDKIM_ERRMSG_MAX];

	return identity_check(v, NULL, why, sizeof(why)) == 0;
}

/* "SELECTOR,DOMAIN|*,PATH". */
static const char *
check_domain_key(const char *v)
{
	const char *c1 = strchr(v, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
	char sel[256], dom[256], ace[254];

	if (c1 == NULL || c2 == NULL)
		return "domain-key must be \"SELECTOR,DOMAIN,KEYFILE\" (DOMAIN "
		    "may be * or *.DOMAIN)";
	if ((size_t)(c1 - v) >= sizeof(sel) ||
	    (size_t)(c2 - c1 - 1) >= sizeof(dom))
		return "domain-key: selector or domain too long";
	memcpy(sel, v, (size_t)(c1 - v));
	sel[c1 - v] = '\0';
	memcpy(dom, c1 + 1, (size_t)(c2 - c1 - 1));
	dom[c2 - c1 - 1] = '\0';
	if (!domain_is_valid(sel))
		return "domain-key: the selector must be a DNS label "
		    "(letters, digits, -, _)";
	/* "*.D": the subdomains of D only (OpenDKIM's "*@*.D"). */
	if (strncmp(dom, "*.", 2) == 0)
		memmove(dom, dom + 2, strlen(dom + 2) + 1);
	/* A domain in U-labels is taken, and used in A-labels
	 * (conf_split_key), as a From: domain in UTF-8 is. */
	if (strcmp(dom, "*") != 0 && domain_to_alabels(dom, ace,
	    sizeof(ace)) != 0)
		return "domain-key: the domain must be a domain name (an "
		    "internationalized one in UTF-8 or xn-- form) or *";
	if (c2[1] == '\0')
		return "domain-key: the key file is missing";
	return conf_device_check_key(c2 + 1);
}

/* Returns NULL when v suits the option, else what was expected. */
static const char *
check_value(const char *name, const char *v)
{
	static const char *const canons[] = { "simple", "relaxed", NULL };
	static const char *const aligns[] = { "off", "relaxed", "strict",
	    NULL };
	static const char *const dns_checks[] = { "off", "warn", "require",
	    NULL };
	static const char *const yes_no[] = { "yes", "no", NULL };
	const char *why;
	long secs;

	if (strncmp(name, "second-", 7) == 0)
		name += 7;
	if (strcmp(name, "domain-key") == 0)
		return check_domain_key(v);
	if (strcmp(name, "dkim-identity") == 0)
		return strcasecmp(v, "sender-or-from") == 0 ||
		    strcasecmp(v, "strict-from") == 0 || is_identity(v) ? NULL :
		    "dkim-identity must be sender-or-from, strict-from, an "
		    "address or @domain that i= can carry (RFC 6376 3.5: no "
		    "spaces, \"=\", \";\", control or 8-bit bytes)";
	if (strcmp(name, "dkim-identity-fallback") == 0)
		return is_identity(v) ? NULL : "dkim-identity-fallback must "
		    "be an address or @domain";
	if (strcmp(name, "dkim-headers") == 0)
		return header_name_is_valid(v) ? NULL : "dkim-headers holds a "
		    "name that is not a header field name";
	if (strcmp(name, "dkim-algorithm") == 0) {
		if (strcasecmp(v, "rsa-sha1") == 0)
			return "dkim-algorithm rsa-sha1 is never produced "
			    "(RFC 8301); use rsa-sha256 or ed25519-sha256";
		return vdkim_alg_from_name(v) != VDKIM_ALG_NONE ? NULL :
		    "dkim-algorithm must be rsa-sha256 or ed25519-sha256";
	}
	if (strcmp(name, "dkim-headers-canon") == 0 ||
	    strcmp(name, "dkim-body-canon") == 0)
		return is_one_of(v, canons) ? NULL :
		    "the canonicalization must be simple or relaxed";
	if (strcmp(name, "dkim-expire-after") == 0)
		return strcasecmp(v, "never") == 0 ||
		    interval_parse(v, &secs) == 0 ? NULL :
		    "dkim-expire-after must be an interval (3600, 30m, 12h, "
		    "7d, 2w) or never";
	if (strcmp(name, "dkim-align") == 0)
		return is_one_of(v, aligns) ? NULL :
		    "dkim-align must be off, relaxed or strict";
	if (strcmp(name, "dkim-dns-check") == 0)
		return is_one_of(v, dns_checks) ? NULL :
		    "dkim-dns-check must be off, warn or require";
	if (strcmp(name, "dns-check-state-file") == 0)
		return v[0] == '/' ? NULL : "dns-check-state-file must be an "
		    "absolute path";
	if (strcmp(name, "stats-counters") == 0)
		return is_one_of(v, yes_no) ? NULL : "stats-counters must be "
		    "yes or no";
	if (strcmp(name, "stats-file") == 0)
		return v[0] == '/' ? NULL : "stats-file must be an absolute "
		    "path";
	if (strcmp(name, "virtual-mta") == 0)
		return *v != '\0' ? NULL : "an empty virtual-mta name";
	if ((why = rot_check_value(name, v)) != NULL)
		return why;
	return NULL;
}

/* Appends "<mark>LINE<TAB>value" to the hidden list all of cfg. */
static int
append_hidden(cfg_t *cfg, const char *all, char mark, int line,
    const char *value)
{
	cfg_opt_t *opt = cfg_getopt(cfg, all);
	char *rec = malloc(strlen(value) + 24);

	if (opt == NULL || rec == NULL) {
		free(rec);
		return -1;
	}
	sprintf(rec, "%c%d\t%s", mark, line, value);
	cfg_opt_setnstr(opt, rec, cfg_opt_size(opt));
	free(rec);
	return 0;
}

static int
parse_value(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	conf_val *cv;

	if (conf_value_store(cfg, check_value(opt->name, value), value,
	    &cv) != 0)
		return -1;
	/* Keep every domain-key and selector, "=" or not (see the top). */
	if ((strcmp(opt->name, "domain-key") == 0 && append_hidden(cfg,
	    KEYS_ALL, KEYS_ALL_MARK, cv->line, value) != 0) ||
	    (strcmp(opt->name, "dkim-rotation-key") == 0 && append_hidden(cfg,
	    KEYS_ALL, KEYS_ALL_ROT_MARK, cv->line, value) != 0) ||
	    (strcmp(opt->name, "selector") == 0 && append_hidden(cfg,
	    SELECTORS_ALL, KEYS_ALL_MARK, cv->line, value) != 0)) {
		free(cv);
		cfg_error(cfg, "out of memory");
		return -1;
	}
	*(conf_val **)result = cv;
	return 0;
}

/* ------------------------------------------------------------- schema */

#define VAL(name) CFG_PTR_CB(name, NULL, CFGF_NODEFAULT, parse_value, \
    conf_value_free)
#define VAL_LIST(name) CFG_PTR_LIST_CB(name, NULL, CFGF_NODEFAULT, \
    parse_value, conf_value_free)
#define FLAG(name) CFG_BOOL(name, cfg_false, CFGF_NODEFAULT)
#define SIG_OPTS(P) \
	FLAG(P "dkim-sign"), VAL(P "dkim-identity"), \
	VAL(P "dkim-identity-fallback"), VAL_LIST(P "dkim-headers"), \
	VAL(P "dkim-algorithm"), VAL(P "dkim-headers-canon"), \
	VAL(P "dkim-body-canon"), VAL(P "dkim-expire-after"), \
	FLAG(P "dkim-add-timestamp"), FLAG(P "dkim-add-body-limit"), \
	FLAG(P "dkim-disallow-adding-headers"), \
	FLAG(P "dkim-verify-signatures")
#define KEY_OPTS VAL_LIST("domain-key"), VAL_LIST("dkim-rotation-key"), \
	CFG_STR_LIST(KEYS_ALL, NULL, CFGF_NODEFAULT)
#define SECTIONS(name, opts) CFG_SEC(name, opts, \
    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES)
/* Top-level blocks: titled by TITLE_OPT and spread over SHARDS keywords
 * (conf_untitle_top); the keyword itself stays, titled, for the blocks
 * libconfuse is left to refuse (an unquoted wildcard). */
#define SHARDS 16
#define SHARD(i, name, opts) CFG_SEC("_vdkim-" #i "-" name, opts, CFGF_MULTI)
#define TOP_SECTIONS(name, opts) SECTIONS(name, opts), \
	SHARD(0, name, opts), SHARD(1, name, opts), SHARD(2, name, opts), \
	SHARD(3, name, opts), SHARD(4, name, opts), SHARD(5, name, opts), \
	SHARD(6, name, opts), SHARD(7, name, opts), SHARD(8, name, opts), \
	SHARD(9, name, opts), SHARD(10, name, opts), SHARD(11, name, opts), \
	SHARD(12, name, opts), SHARD(13, name, opts), SHARD(14, name, opts), \
	SHARD(15, name, opts)

static cfg_opt_t domain_opts[] = {
	SIG_OPTS(""), SIG_OPTS("second-"),
	FLAG("dkim-require"), VAL("dkim-align"), VAL("dkim-dns-check"),
	FLAG("dkim-key-subdomains"),
	TITLE, CFG_END()
};

static cfg_opt_t keylist_opts[] = { KEY_OPTS, TITLE, CFG_END() };

static cfg_opt_t source_opts[] = {
	CFG_BOOL("process-x-dkim-options", cfg_false, CFGF_NONE),
	TITLE, CFG_END()
};

static cfg_opt_t vmta_opts[] = {
	KEY_OPTS, SECTIONS("domain", domain_opts), TITLE, CFG_END()
};

static cfg_opt_t pool_opts[] = {
	KEY_OPTS, VAL_LIST("virtual-mta"), SECTIONS("domain", domain_opts),
	TITLE, CFG_END()
};

static cfg_opt_t rotation_opts[] = {
	VAL("selector-pattern"), VAL("period"), VAL("start"), VAL("key-dir"),
	VAL_LIST("algorithm"), VAL("publish-ahead"), VAL("overlap"),
	VAL("state-file"), VAL_LIST("selector"),
	CFG_STR_LIST(SELECTORS_ALL, NULL, CFGF_NODEFAULT),
	TITLE, CFG_END()
};

static cfg_opt_t root_opts[] = {
	KEY_OPTS, CONF_DEVICE_OPTS, VAL("dns-check-state-file"),
	VAL("stats-file"), VAL("stats-counters"),
	TOP_SECTIONS("dkim-rotation", rotation_opts),
	TOP_SECTIONS("domain-key-list", keylist_opts),
	TOP_SECTIONS("source", source_opts),
	TOP_SECTIONS("virtual-mta", vmta_opts),
	TOP_SECTIONS("virtual-mta-pool", pool_opts),
	TOP_SECTIONS("domain", domain_opts),
	CFG_END()
};

/* The keywords of the TOP_SECTIONS above. */
static const char *const top_kinds[] = { "dkim-rotation", "domain-key-list",
	"source", "virtual-mta", "virtual-mta-pool", "domain", NULL };

/* ------------------------------------------------------ model building */

struct builder {
	vdkim_policy *p;
	const char *path;
	const conf_sections *sections; /* where each section opens */
	vdkim_error *err;
	cfg_t *root;
};

/* The blocks of one keyword in a block, in the file's order: at the top
 * level, dealt in turn to SHARDS keywords (conf_untitle_top), then any
 * left under the keyword itself. */
typedef struct blocks {
	cfg_opt_t *opt[SHARDS + 1];
	unsigned n, sharded;
} blocks;

static void
blocks_of(const struct builder *b, cfg_t *sec, const char *kind,
    blocks *bl)
{
	char name[64];

	memset(bl, 0, sizeof(*bl));
	bl->opt[SHARDS] = cfg_getopt(sec, kind);
	for (unsigned i = 0; sec == b->root && i < SHARDS; i++) {
		snprintf(name, sizeof(name), CONF_SHARD_FMT "%s", i, kind);
		bl->opt[i] = cfg_getopt(sec, name);
		bl->sharded += cfg_opt_size(bl->opt[i]);
	}
	bl->n = bl->sharded + cfg_opt_size(bl->opt[SHARDS]);
}

static cfg_t *
block_at(const blocks *bl, unsigned i)
{
	return i < bl->sharded ? cfg_opt_getnsec(bl->opt[i % SHARDS],
	    i / SHARDS) : cfg_opt_getnsec(bl->opt[SHARDS], i - bl->sharded);
}

static int
build_fail(struct builder *b, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
build_fail(struct builder *b, int line, const char *fmt, ...)
{
	char msg[VDKIM_ERRMSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vdkim_fail(b->err, VDKIM_ESYNTAX, "%s:%d: %s", b->path, line, msg);
	return -1;
}


static char *
xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* A block's title: libconfuse's, or moved inside (a top-level block);
 * NULL when it has none ("virtual-mta { }"). */
static const char *
title_of(cfg_t *sec)
{
	const char *t = cfg_title(sec);

	if (t == NULL && cfg_size(sec, TITLE_OPT) > 0)
		t = cfg_getstr(sec, TITLE_OPT);
	return t;
}

/* The block sec (of keyword) has no title: an error on its line. */
static int
untitled(struct builder *b, cfg_t *sec, const char *keyword)
{
	return build_fail(b, sec->line, "%s: missing title (a name, quoted "
	    "when it holds a wildcard: domain \"*\")", keyword);
}

/* "NAME,DOMAIN" of a dkim-rotation-key into k (the schedule is looked up
 * once every block is built: check_references). */
static int
build_binding(struct builder *b, key_entry *k, const char *v,
    const char *comma)
{
	rot_binding *rb = calloc(1, sizeof(*rb));

	k->rot = rb;
	if (rb == NULL ||
	    (rb->sched_name = strndup(v, (size_t)(comma - v))) == NULL ||
	    (rb->domain = strdup(comma + 1)) == NULL ||
	    (k->selector = strdup(rb->sched_name)) == NULL ||
	    (k->domain = strdup(rb->domain)) == NULL)
		return build_fail(b, k->line, "out of memory");
	conf_lower(rb->domain);
	conf_lower(k->domain);
	return 0;
}

/* Adds the keys of section sec to scope sc (and to the key table). */
static int
build_keys(struct builder *b, cfg_t *sec, scope *sc)
{
	unsigned n = cfg_size(sec, KEYS_ALL);

	if (n == 0)
		return 0;
	sc->keys = calloc(n, sizeof(*sc->keys));
	if (sc->keys == NULL)
		return build_fail(b, 0, "out of memory");
	for (unsigned i = 0; i < n; i++) {
		const char *rec = cfg_getnstr(sec, KEYS_ALL, i);
		key_entry *k;
		const char *tab, *c1;

		if (rec[0] != KEYS_ALL_MARK && rec[0] != KEYS_ALL_ROT_MARK)
			return build_fail(b, sc->line, "unknown directive '%s'",
			    KEYS_ALL);
		tab = strchr(rec, '\t');
		c1 = strchr(tab + 1, ',');
		k = &b->p->keytab[b->p->nkeytab++];
		k->line = atoi(rec + 1);
		sc->keys[sc->nkeys++] = k;
		if (rec[0] == KEYS_ALL_ROT_MARK) {
			if (build_binding(b, k, tab + 1, c1) != 0)
				return -1;
			continue;
		}
		if (conf_split_key(tab + 1, &k->selector, &k->domain,
		    &k->path) != 0)
			return build_fail(b, k->line, "out of memory");
		if (strncmp(k->domain, "*.", 2) == 0) {
			k->subdomains_only = 1;
			memmove(k->domain, k->domain + 2,
			    strlen(k->domain + 2) + 1);
		}
	}
	return 0;
}

static const char *
val_str(cfg_t *sec, const char *name)
{
	conf_val *v = cfg_size(sec, name) ? cfg_getptr(sec, name) : NULL;

	return v ? v->s : NULL;
}

static int
flag(cfg_t *sec, const char *name)
{
	return cfg_size(sec, name) ? (int)cfg_getbool(sec, name) : UNSET;
}

static int
build_sig_opts(struct builder *b, cfg_t *sec, const char *prefix,
    sig_opts *o)
{
	char name[64];
	const char *v;
	unsigned nh;

#define OPT(n) (snprintf(name, sizeof(name), "%s%s", prefix, n), name)
	o->sign = flag(sec, OPT("dkim-sign"));
	o->add_timestamp = flag(sec, OPT("dkim-add-timestamp"));
	o->body_limit = flag(sec, OPT("dkim-add-body-limit"));
	o->oversign_all = flag(sec, OPT("dkim-disallow-adding-headers"));
	o->verify = flag(sec, OPT("dkim-verify-signatures"));
	o->identity_mode = UNSET;
	if ((v = val_str(sec, OPT("dkim-identity"))) != NULL) {
		if (strcasecmp(v, "sender-or-from") == 0)
			o->identity_mode = ID_SENDER_OR_FROM;
		else if (strcasecmp(v, "strict-from") == 0)
			o->identity_mode = ID_STRICT_FROM;
		else {
			o->identity_mode = ID_FIXED;
			o->identity = xstrdup(v);
		}
	}
	o->identity_fallback = xstrdup(val_str(sec,
	    OPT("dkim-identity-fallback")));
	o->alg = UNSET;
	if ((v = val_str(sec, OPT("dkim-algorithm"))) != NULL)
		o->alg = (int)vdkim_alg_from_name(v);
	o->header_canon = o->body_canon = UNSET;
	if ((v = val_str(sec, OPT("dkim-headers-canon"))) != NULL)
		vdkim_canon_from_name(v, (vdkim_canon *)&o->header_canon);
	if ((v = val_str(sec, OPT("dkim-body-canon"))) != NULL)
		vdkim_canon_from_name(v, (vdkim_canon *)&o->body_canon);
	o->expire_after = UNSET;
	if ((v = val_str(sec, OPT("dkim-expire-after"))) != NULL) {
		if (strcasecmp(v, "never") == 0)
			o->expire_after = 0;
		else
			interval_parse(v, &o->expire_after);
	}
	nh = cfg_size(sec, OPT("dkim-headers"));
	if (nh > 0) {
		o->headers = calloc(nh + 1, sizeof(*o->headers));
		if (o->headers == NULL)
			return build_fail(b, 0, "out of memory");
		for (unsigned i = 0; i < nh; i++) {
			conf_val *cv = cfg_getnptr(sec, name, i);
			o->headers[i] = strdup(cv->s);
			if (o->headers[i] == NULL)
				return build_fail(b, cv->line, "out of memory");
		}
	}
#undef OPT
	return 0;
}

static int
build_rules(struct builder *b, cfg_t *sec, scope *sc)
{
	blocks bl;
	unsigned n;

	blocks_of(b, sec, "domain", &bl);
	if ((n = bl.n) == 0)
		return 0;
	sc->rules = calloc(n, sizeof(*sc->rules));
	if (sc->rules == NULL)
		return build_fail(b, 0, "out of memory");
	for (unsigned i = 0; i < n; i++) {
		cfg_t *d = block_at(&bl, i);
		domain_rule *r = &sc->rules[sc->nrules++];
		const char *pat = title_of(d), *al;

		if (pat == NULL)
			return untitled(b, d, "domain");
		r->line = conf_section_line(b->sections, sc->line, "domain",
		    pat);
		if (!(strcmp(pat, "*") == 0 || domain_is_valid(pat) ||
		    (strncmp(pat, "*.", 2) == 0 && domain_is_valid(pat + 2))))
			return build_fail(b, r->line ? r->line : d->line,
			    "domain \"%s\": expected a domain name, "
			    "\"*.domain\" or \"*\" (wildcards in quotes)",
			    pat);
		r->pattern = strdup(pat);
		if (r->pattern == NULL)
			return build_fail(b, r->line, "out of memory");
		conf_lower(r->pattern);
		r->require = flag(d, "dkim-require");
		r->key_subdomains = flag(d, "dkim-key-subdomains");
		r->align = UNSET;
		if ((al = val_str(d, "dkim-align")) != NULL)
			r->align = strcasecmp(al, "strict") == 0 ? ALIGN_STRICT :
			    strcasecmp(al, "relaxed") == 0 ? ALIGN_RELAXED :
			    ALIGN_OFF;
		r->dns_check = UNSET;
		if ((al = val_str(d, "dkim-dns-check")) != NULL)
			r->dns_check = strcasecmp(al, "off") == 0 ?
			    DNS_CHECK_OFF : strcasecmp(al, "require") == 0 ?
			    DNS_CHECK_REQUIRE : DNS_CHECK_WARN;
		if (build_sig_opts(b, d, "", &r->sig[0]) != 0 ||
		    build_sig_opts(b, d, "second-", &r->sig[1]) != 0)
			return -1;
	}
	return 0;
}

static int
build_scopes(struct builder *b, cfg_t *root, const char *keyword,
    enum scope_kind kind, scope **out, size_t *nout)
{
	blocks bl;
	unsigned n;

	blocks_of(b, root, keyword, &bl);
	n = bl.n;
	*nout = 0;
	if (n == 0)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (*out == NULL)
		return build_fail(b, 0, "out of memory");
	for (unsigned i = 0; i < n; i++) {
		cfg_t *sec = block_at(&bl, i);
		scope *sc = &(*out)[(*nout)++];

		sc->kind = kind;
		if (title_of(sec) == NULL)
			return untitled(b, sec, keyword);
		sc->name = strdup(title_of(sec));
		if (sc->name == NULL)
			return build_fail(b, 0, "out of memory");
		sc->line = conf_section_line(b->sections, 0, keyword,
		    sc->name);
		if (build_keys(b, sec, sc) != 0)
			return -1;
		if (kind != SCOPE_KEYLIST && build_rules(b, sec, sc) != 0)
			return -1;
		if (kind == SCOPE_POOL) {
			unsigned m = cfg_size(sec, "virtual-mta");
			sc->members = calloc(m + 1, sizeof(*sc->members));
			if (sc->members == NULL)
				return build_fail(b, sc->line, "out of memory");
			for (unsigned k = 0; k < m; k++) {
				conf_val *cv = cfg_getnptr(sec, "virtual-mta",
				    k);
				sc->members[sc->nmembers++] = strdup(cv->s);
				if (sc->members[k] == NULL)
					return build_fail(b, cv->line,
					    "out of memory");
			}
		}
	}
	return 0;
}

static rot_text_val
text_val(cfg_t *sec, const char *name)
{
	conf_val *v = cfg_size(sec, name) ? cfg_getptr(sec, name) : NULL;
	rot_text_val tv = { v ? v->s : NULL, v ? v->line : 0 };

	return tv;
}

/* One dkim-rotation block into s. */
static int
build_rotation(struct builder *b, cfg_t *sec, rot_schedule *s)
{
	rot_text t;
	rot_text_val algs[ROT_MAX_ALGS + 1], *sels = NULL;
	unsigned na = cfg_size(sec, "algorithm"), ns = cfg_size(sec,
	    SELECTORS_ALL);
	char why[VDKIM_ERRMSG_MAX];
	int line = 0, rc;

	memset(&t, 0, sizeof(t));
	if ((t.name = title_of(sec)) == NULL)
		return untitled(b, sec, "dkim-rotation");
	t.line = conf_section_line(b->sections, 0, "dkim-rotation", t.name);
	t.pattern = text_val(sec, "selector-pattern");
	t.period = text_val(sec, "period");
	t.start = text_val(sec, "start");
	t.key_dir = text_val(sec, "key-dir");
	t.ahead = text_val(sec, "publish-ahead");
	t.overlap = text_val(sec, "overlap");
	t.state = text_val(sec, "state-file");
	for (unsigned i = 0; i < na && i <= ROT_MAX_ALGS; i++) {
		conf_val *cv = cfg_getnptr(sec, "algorithm", i);
		algs[i].v = cv->s;
		algs[i].line = cv->line;
		t.nalgs++;
	}
	t.algs = algs;
	if (ns > 0 && (sels = calloc(ns, sizeof(*sels))) == NULL)
		return build_fail(b, t.line, "out of memory");
	for (unsigned i = 0; i < ns; i++) {
		const char *rec = cfg_getnstr(sec, SELECTORS_ALL, i);
		if (rec[0] != KEYS_ALL_MARK) {
			free(sels);
			return build_fail(b, t.line, "unknown directive '%s'",
			    SELECTORS_ALL);
		}
		sels[i].line = atoi(rec + 1);
		sels[i].v = strchr(rec, '\t') + 1;
	}
	t.selectors = sels;
	t.nselectors = ns;
	rc = rot_schedule_build(&t, s, &line, why, sizeof(why));
	free(sels);
	return rc == 0 ? 0 : build_fail(b, line, "dkim-rotation %s: %s",
	    t.name, why);
}

static int
build_rotations(struct builder *b, cfg_t *root)
{
	vdkim_policy *p = b->p;
	blocks bl;
	unsigned n;

	blocks_of(b, root, "dkim-rotation", &bl);
	n = bl.n;
	if (n == 0)
		return 0;
	p->schedules = calloc(n, sizeof(*p->schedules));
	if (p->schedules == NULL)
		return build_fail(b, 0, "out of memory");
	for (unsigned i = 0; i < n; i++)
		/* Counted first, so that a half-built one is freed too. */
		if (build_rotation(b, block_at(&bl, i),
		    &p->schedules[p->nschedules++]) != 0)
			return -1;
	return 0;
}

/* Cross-checks: pool members are VMTAs; dkim-rotation-key names a
 * dkim-rotation block. */
static int
check_references(struct builder *b, cfg_t *root)
{
	vdkim_policy *p = b->p;
	blocks bl;

	blocks_of(b, root, "virtual-mta-pool", &bl);
	for (size_t i = 0; i < p->nkeytab; i++) {
		rot_binding *rb = p->keytab[i].rot;
		for (size_t k = 0; rb != NULL && k < p->nschedules; k++)
			if (strcmp(p->schedules[k].name, rb->sched_name) == 0)
				rb->sched = &p->schedules[k];
		if (rb != NULL && rb->sched == NULL)
			return build_fail(b, p->keytab[i].line,
			    "dkim-rotation-key: no dkim-rotation block is "
			    "named \"%s\"", rb->sched_name);
	}

	for (size_t i = 0; i < p->npools; i++) {
		/* p->pools is in the file's order, as libconfuse's are. */
		cfg_t *sec = block_at(&bl, (unsigned)i);
		for (size_t k = 0; k < p->pools[i].nmembers; k++) {
			conf_val *cv = cfg_getnptr(sec, "virtual-mta",
			    (unsigned)k);
			if (policy_find(p->vmtas_by_name, p->nvmtas,
			    p->pools[i].members[k]) == NULL)
				return build_fail(b, cv->line,
				    "virtual-mta-pool %s: \"%s\" is not a "
				    "defined virtual-mta", p->pools[i].name,
				    p->pools[i].members[k]);
		}
	}
	return 0;
}

/* Counts every domain-key in the file, to size the key table once. */
static size_t
count_keys(struct builder *b, cfg_t *root)
{
	static const char *const kinds[] = { "virtual-mta", "virtual-mta-pool",
	    "domain-key-list", NULL };
	size_t n = cfg_size(root, KEYS_ALL);
	blocks bl;

	for (const char *const *k = kinds; *k != NULL; k++) {
		blocks_of(b, root, *k, &bl);
		for (unsigned i = 0; i < bl.n; i++)
			n += cfg_size(block_at(&bl, i), KEYS_ALL);
	}
	return n;
}

static int
build_sources(struct builder *b, cfg_t *root)
{
	vdkim_policy *p = b->p;
	blocks bl;
	unsigned n;

	blocks_of(b, root, "source", &bl);
	n = bl.n;
	if (n == 0)
		return 0;
	p->sources = calloc(n, sizeof(*p->sources));
	if (p->sources == NULL)
		return build_fail(b, 0, "out of memory");
	for (unsigned i = 0; i < n; i++) {
		cfg_t *sec = block_at(&bl, i);

		if (title_of(sec) == NULL)
			return untitled(b, sec, "source");
		p->sources[i].name = strdup(title_of(sec));
		if (p->sources[i].name == NULL)
			return build_fail(b, 0, "out of memory");
		p->sources[i].allow_options =
		    cfg_getbool(sec, "process-x-dkim-options");
		p->nsources++;
	}
	return 0;
}

/* dns-check-state-file: where the DNS check's verdicts are (dns_check.h);
 * the file itself is read once the keys are loaded. */
static int
build_dns_check(struct builder *b, cfg_t *root)
{
	conf_val *v = cfg_size(root, "dns-check-state-file") ?
	    cfg_getptr(root, "dns-check-state-file") : NULL;

	if (v == NULL)
		return 0;
	b->p->dns_state_line = v->line;
	b->p->dns_state_path = strdup(v->s);
	return b->p->dns_state_path == NULL ? build_fail(b, v->line,
	    "out of memory") : 0;
}

/* stats-file: the counters every process of a host shares (the instance
 * maps it; stats_file.h). */
static int
build_stats_file(struct builder *b, cfg_t *root)
{
	conf_val *v = cfg_size(root, "stats-file") ?
	    cfg_getptr(root, "stats-file") : NULL;
	conf_val *on = cfg_size(root, "stats-counters") ?
	    cfg_getptr(root, "stats-counters") : NULL;

	b->p->stats_off = on != NULL && strcasecmp(on->s, "no") == 0;
	if (v == NULL)
		return 0;
	b->p->stats_path = strdup(v->s);
	return b->p->stats_path == NULL ? build_fail(b, v->line,
	    "out of memory") : 0;
}

static int
build_model(struct builder *b, cfg_t *root)
{
	vdkim_policy *p = b->p;
	size_t nkeys;

	b->root = root;
	nkeys = count_keys(b, root);

	p->keytab = calloc(nkeys ? nkeys : 1, sizeof(*p->keytab));
	if (p->keytab == NULL)
		return build_fail(b, 0, "out of memory");
	p->global.kind = SCOPE_GLOBAL;
	p->global.name = strdup("global");
	if (p->global.name == NULL)
		return build_fail(b, 0, "out of memory");
	if (build_keys(b, root, &p->global) != 0 ||
	    build_rules(b, root, &p->global) != 0 ||
	    build_scopes(b, root, "virtual-mta", SCOPE_VMTA, &p->vmtas,
		&p->nvmtas) != 0 ||
	    build_scopes(b, root, "virtual-mta-pool", SCOPE_POOL, &p->pools,
		&p->npools) != 0 ||
	    build_scopes(b, root, "domain-key-list", SCOPE_KEYLIST, &p->lists,
		&p->nlists) != 0 ||
	    build_sources(b, root) != 0 || build_rotations(b, root) != 0 ||
	    build_dns_check(b, root) != 0 || build_stats_file(b, root) != 0 ||
	    conf_device_build(p, root, b->path, b->sections, b->err) != 0)
		return -1;
	if (policy_index_build(p) != 0)
		return build_fail(b, 0, "out of memory");
	return check_references(b, root);
}

/*
 * libconfuse accepts a file that ends inside a block; an operator who
 * forgot a "}" must hear about it, with the line that opened the block.
 */
static vdkim_rc
check_braces(const char *path, const char *t, vdkim_error *err)
{
	int open_lines[64], depth = 0, line = 1, quote_line = 0;
	char quote = 0;

	for (; *t != '\0'; t++) {
		if (*t == '\n')
			line++;
		if (quote) {
			if (*t == '\\' && quote == '"' && t[1] != '\0')
				t++;
			else if (*t == quote)
				quote = 0;
			continue;
		}
		if (*t == '"' || *t == '\'') {
			quote = *t;
			quote_line = line;
		} else if (*t == '{') {
			if (depth == 64)
				return vdkim_fail(err, VDKIM_ESYNTAX, "%s:%d: "
				    "blocks nested too deeply", path, line);
			open_lines[depth++] = line;
		} else if (*t == '}') {
			if (depth == 0)
				return vdkim_fail(err, VDKIM_ESYNTAX, "%s:%d: "
				    "\"}\" closes no block", path, line);
			depth--;
		}
	}
	if (quote)
		return vdkim_fail(err, VDKIM_ESYNTAX, "%s:%d: this quoted "
		    "string is never closed", path, quote_line);
	if (depth > 0)
		return vdkim_fail(err, VDKIM_ESYNTAX, "%s:%d: this block is "
		    "never closed (a \"}\" is missing)", path,
		    open_lines[depth - 1]);
	return VDKIM_OK;
}

vdkim_rc
conf_parse_file(const char *path, const char *const *host_blocks,
    vdkim_policy *p, vdkim_error *err)
{
	struct parse_sink sink = { path, err, 0 };
	struct builder b = { p, path, NULL, err, NULL };
	conf_sections *sections = NULL;
	char *text = NULL, *untitled_text, what[128];
	cfg_t *cfg;
	vdkim_rc rc;
	int prc, dup;

	rc = conf_text_load(path, &text, err);
	if (rc != VDKIM_OK)
		return rc;
	rc = check_braces(path, text, err);
	/* The hosts' own settings are theirs to parse: the module names no
	 * host, each registers its block (vdkim_host.config_block). */
	for (size_t i = 0; host_blocks != NULL && host_blocks[i] != NULL; i++)
		conf_text_blank_blocks(text, host_blocks[i]);
	if (rc != VDKIM_OK) {
		free(text);
		return rc;
	}
	/* One pass each: where every section opens (with its title), and
	 * the text libconfuse gets, top-level titles moved inside. */
	b.sections = sections = conf_sections_index(text);
	untitled_text = conf_untitle_top(text, top_kinds, TITLE_OPT, SHARDS);
	if (sections == NULL || untitled_text == NULL) {
		conf_sections_free(sections);
		free(untitled_text);
		free(text);
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	}
	pthread_mutex_lock(&parse_lock);
	cfg = cfg_init(root_opts, CFGF_NONE);
	if (cfg == NULL) {
		pthread_mutex_unlock(&parse_lock);
		conf_sections_free(sections);
		free(untitled_text);
		free(text);
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	}
	cfg_set_error_function(cfg, on_conf_error);
	parse_sink = &sink;
	prc = cfg_parse_buf(cfg, untitled_text);
	parse_sink = NULL;
	if (prc != CFG_SUCCESS) {
		if (!sink.failed)
			vdkim_fail(err, VDKIM_ESYNTAX, "%s: the config could "
			    "not be parsed", path);
		rc = VDKIM_ESYNTAX;
	} else if ((dup = conf_sections_duplicate(sections, what,
	    sizeof(what))) != 0) {
		/* libconfuse's check, for the blocks it got untitled. */
		rc = vdkim_fail(err, VDKIM_ESYNTAX, "%s:%d: %s is defined a "
		    "second time (each name may be defined once per scope)",
		    path, dup, what);
	} else if (build_model(&b, cfg) != 0) {
		rc = err ? err->rc : VDKIM_ESYNTAX;
		if (rc == VDKIM_OK)
			rc = VDKIM_ESYNTAX;
	}
	cfg_free(cfg);
	pthread_mutex_unlock(&parse_lock);
	conf_sections_free(sections);
	free(untitled_text);
	free(text);
	return rc;
}
