/*
 * cmd_import_opendkim.c - "vdkimctl import opendkim FILE": an
 * opendkim.conf and the table files it names into a vdkim.conf.
 *
 * OpenDKIM chooses the key by the From: address; vdkim by the identity's
 * domain (dkim-identity strict-from: the From: domain), the first key in
 * file order whose DOMAIN is that domain (with dkim-key-subdomains no) or
 * whose "*.DOMAIN" covers it as a subdomain, or "*" (d= the From: domain,
 * OpenDKIM's "%").  So:
 *
 *   single key (Domain, Selector, KeyFile): one domain-key per domain;
 *       SubDomains is dkim-key-subdomains;
 *   SigningTable refile: patterns, matched against the whole address in
 *       file order, first match wins ("*" any run, dots included):
 *         *@D        domain-key "S,D,KEY"  (dkim-key-subdomains no)
 *         *@*.D      domain-key "S,*.D,KEY"   (subdomains only, d=D)
 *         * or *@*   with KeyTable domain %: domain-key "S,*,KEY";
 *                    with a fixed domain K: dkim-identity-fallback "@K"
 *       anything else (a user, a partial name, a key whose d= is not the
 *       pattern's domain) cannot be said exactly: a loud warning, and the
 *       line is left out (never widened);
 *   SigningTable without refile: domain entries as *@D (SubDomains as
 *       dkim-key-subdomains), address entries a warning.
 *
 * At the end the module decides for a sample address of every line (and
 * the near misses: x@sub.D for *@D, x@D for *@*.D) and compares with what
 * OpenDKIM's tables give for it: a difference is a loud warning.
 */
#include <ctype.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "domain_name.h"
#include "import.h"

/* OpenDKIM's SignHeaders default: libopendkim's list, RFC 6376 5.4.1's
 * (Message-ID, MIME-Version, Content-Type are not in it: tests/import
 * compares h= with opendkim 2.11's own). */
static const char *const opendkim_default_headers =
    "From, Reply-To, Subject, Date, To, Cc, Resent-Date, Resent-From, "
    "Resent-Sender, Resent-To, Resent-Cc, In-Reply-To, References, "
    "List-Id, List-Help, List-Unsubscribe, List-Subscribe, List-Post, "
    "List-Owner, List-Archive";

/* A directive of opendkim.conf: its value and line. */
typedef struct od_val {
	char *v;
	int line;
} od_val;

typedef struct kt_entry {
	char *name, *domain, *selector, *path;
	const char *file;
	int line;
} kt_entry;

typedef struct st_entry {
	char *key;               /* pattern (refile) or address/domain */
	char *keyname;
	int line;
	int used;                /* translated into a domain-key */
} st_entry;

typedef struct od {
	imp im;
	const char *conf;
	od_val domain, selector, keyfile, keytable, signingtable, canon,
	    signheaders, oversign, subdomains_v, mode, minbits, alg, ttl,
	    socket, senderheaders;
	kt_entry *kt;
	size_t nkt;
	st_entry *st;
	size_t nst;
	int refile;
	char *kt_file, *st_file;
	char **domains;          /* single-key mode */
	size_t ndomains;
	int subdomains;
	int oom;
} od;

/* ------------------------------------------------------------ reading */

static int
glob_match(const char *p, const char *s)
{
	for (; *p != '\0'; p++, s++) {
		if (*p == '*') {
			while (p[1] == '*')
				p++;
			for (const char *t = s;; t++) {
				if (glob_match(p + 1, t))
					return 1;
				if (*t == '\0')
					return 0;
			}
		}
		if (*s == '\0' || tolower((unsigned char)*p) !=
		    tolower((unsigned char)*s))
			return 0;
	}
	return *s == '\0';
}

/* A dataset: "refile:P", "file:P", "csl:LIST", a path, or a list.  Sets
 * *path (a file; malloc'd, relative to the config) or *list; 0, or an exit
 * status after the error. */
static int
dataset(od *o, const od_val *val, const char *what, int *is_refile,
    char **path, const char **list)
{
	static const char *const dbs[] = { "db:", "dsn:", "ldap:", "ldaps:",
	    "ldapi:", "lua:", "memcache:", "redis:", "mdb:", "erlang:",
	    "socket:", "repute:" };
	const char *v = val->v;

	*path = NULL;
	*list = NULL;
	if (is_refile)
		*is_refile = 0;
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
		if (strncasecmp(v, dbs[i], strlen(dbs[i])) == 0)
			return imp_error(&o->im, IMP_EX_CONFIG, o->conf,
			    val->line, "%s %s: a %.*s dataset cannot be read "
			    "here; dump it into a flat file (file: or refile:) "
			    "and import that", what, v, (int)strlen(dbs[i]) - 1,
			    dbs[i]);
	if (strncasecmp(v, "refile:", 7) == 0) {
		if (is_refile == NULL)
			return imp_error(&o->im, IMP_EX_CONFIG, o->conf,
			    val->line, "%s: refile: is not supported here",
			    what);
		*is_refile = 1;
		v += 7;
	} else if (strncasecmp(v, "file:", 5) == 0) {
		v += 5;
	} else if (strncasecmp(v, "csl:", 4) == 0) {
		*list = v + 4;
		return 0;
	} else if (v[0] != '/' && v[0] != '.') {
		*list = v;
		return 0;
	}
	if ((*path = imp_relative(o->conf, v)) == NULL)
		return imp_error(&o->im, IMP_EX_SOFTWARE, NULL, 0, "out of "
		    "memory");
	return 0;
}

static int
read_conf(od *o, char *text)
{
	static const struct { const char *name; size_t off; } known[] = {
#define K(n, f) { n, offsetof(od, f) }
		K("domain", domain), K("selector", selector),
		K("keyfile", keyfile), K("keytable", keytable),
		K("signingtable", signingtable),
		K("canonicalization", canon),
		K("signheaders", signheaders),
		K("oversignheaders", oversign),
		K("subdomains", subdomains_v), K("mode", mode),
		K("minimumkeybits", minbits),
		K("signaturealgorithm", alg), K("signaturettl", ttl),
		K("socket", socket), K("senderheaders", senderheaders),
#undef K
	};
	char *cur = text, *l;
	int line = 0;

	while ((l = imp_next_line(&cur, &line)) != NULL) {
		char *name, *value;
		size_t i;

		l = imp_trim(l);
		if (*l == '\0' || *l == '#')
			continue;
		name = l;
		value = l + strcspn(l, " \t");
		if (*value != '\0')
			*value++ = '\0';
		value = imp_trim(value);
		if (strcasecmp(name, "ExternalIgnoreList") == 0 ||
		    strcasecmp(name, "InternalHosts") == 0 ||
		    strcasecmp(name, "PeerList") == 0 ||
		    strcasecmp(name, "MacroList") == 0) {
			imp_warn(&o->im, NULL, 0, o->conf, line, "%s %s: not "
			    "applicable to a module: OpenDKIM chose which "
			    "clients' mail to sign; with vdkim the MTA "
			    "decides which mail reaches signing (e.g. Postfix: "
			    "smtpd_milters only on the submission service, "
			    "or the VMTA)", name, value);
			continue;
		}
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcasecmp(name, known[i].name) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0])) {
			char text2[300];
			snprintf(text2, sizeof(text2), "%s %s", name, value);
			imp_skip(&o->im, o->conf, line, text2);
			continue;
		}
		if (*value == '\0')
			return imp_error(&o->im, IMP_EX_DATAERR, o->conf, line,
			    "%s without a value", name);
		{
			od_val *v = (od_val *)((char *)o + known[i].off);
			free(v->v);
			if ((v->v = strdup(value)) == NULL)
				return imp_error(&o->im, IMP_EX_SOFTWARE, NULL,
				    0, "out of memory");
			v->line = line;
		}
	}
	return 0;
}

/* "NAME VALUE" lines of a table file; calls add for each. */
static int
read_table(od *o, const char *path, const od_val *from,
    int (*add)(od *, const char *, char *, char *, int))
{
	vdkim_file f;
	char *cur, *l;
	int line = 0, rc;

	if ((rc = imp_read(&o->im, path, o->conf, from->line, &f)) != 0)
		return rc;
	cur = f.data;
	while ((l = imp_next_line(&cur, &line)) != NULL) {
		char *value;
		l = imp_trim(l);
		if (*l == '\0' || *l == '#')
			continue;
		value = l + strcspn(l, " \t");
		if (*value != '\0')
			*value++ = '\0';
		value = imp_trim(value);
		if (*value == '\0') {
			rc = imp_error(&o->im, IMP_EX_DATAERR, path, line,
			    "expected \"NAME VALUE\", found only \"%s\"", l);
			break;
		}
		if ((rc = add(o, path, l, value, line)) != 0)
			break;
	}
	vdkim_file_free(&f);
	return rc;
}

static int
add_kt(od *o, const char *file, char *name, char *value, int line)
{
	char *c1 = strchr(value, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	kt_entry *n;

	if (c1 == NULL || c2 == NULL || c1 == value || c2 == c1 + 1 ||
	    c2[1] == '\0')
		return imp_error(&o->im, IMP_EX_DATAERR, file, line, "KeyTable: "
		    "expected DOMAIN:SELECTOR:KEYPATH, not \"%s\"", value);
	*c1 = *c2 = '\0';
	if ((n = realloc(o->kt, (o->nkt + 1) * sizeof(*n))) == NULL)
		return imp_error(&o->im, IMP_EX_SOFTWARE, NULL, 0, "out of "
		    "memory");
	o->kt = n;
	n = &o->kt[o->nkt++];
	n->name = strdup(name);
	n->domain = strdup(value);
	n->selector = strdup(c1 + 1);
	n->path = imp_relative(file, c2 + 1);
	n->file = file;
	n->line = line;
	if (!n->name || !n->domain || !n->selector || !n->path)
		return imp_error(&o->im, IMP_EX_SOFTWARE, NULL, 0, "out of "
		    "memory");
	for (char *p = n->domain; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

static int
add_st(od *o, const char *file, char *key, char *value, int line)
{
	st_entry *n;

	(void)file;
	if ((n = realloc(o->st, (o->nst + 1) * sizeof(*n))) == NULL)
		return imp_error(&o->im, IMP_EX_SOFTWARE, NULL, 0, "out of "
		    "memory");
	o->st = n;
	n = &o->st[o->nst++];
	memset(n, 0, sizeof(*n));
	n->key = strdup(key);
	/* Several key names (MultipleSignatures): the first signs. */
	value[strcspn(value, " \t,")] = '\0';
	n->keyname = strdup(value);
	n->line = line;
	if (!n->key || !n->keyname)
		return imp_error(&o->im, IMP_EX_SOFTWARE, NULL, 0, "out of "
		    "memory");
	for (char *p = n->key; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

static const kt_entry *
kt_find(const od *o, const char *name)
{
	for (size_t i = 0; i < o->nkt; i++)
		if (strcmp(o->kt[i].name, name) == 0)
			return &o->kt[i];
	return NULL;
}

/* ------------------------------------------------ what OpenDKIM does */

static const char *
addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at ? at + 1 : addr;
}

/* The key OpenDKIM signs addr with: its d= into d (the KeyTable's domain,
 * or addr's for %) and the entry; NULL when it does not sign. */
static const kt_entry *
opendkim_choice(const od *o, const char *addr, char *d, size_t dlen)
{
	const char *dom = addr_domain(addr);
	const kt_entry *k = NULL;

	if (o->st_file == NULL) {
		for (const char *p = dom; p != NULL;) {
			for (size_t i = 0; i < o->ndomains; i++)
				if (strcasecmp(o->domains[i], p) == 0) {
					snprintf(d, dlen, "%s", o->domains[i]);
					return &o->kt[0];
				}
			if (!o->subdomains)
				break;
			p = strchr(p, '.');
			p = p ? p + 1 : NULL;
		}
		return NULL;
	}
	for (size_t i = 0; i < o->nst && k == NULL; i++) {
		const st_entry *e = &o->st[i];
		if (o->refile ? glob_match(e->key, addr) :
		    strcasecmp(e->key, addr) == 0)
			k = kt_find(o, e->keyname);
	}
	/* A flat table: the address, then the domain, then (SubDomains)
	 * its parents. */
	for (const char *p = dom; !o->refile && k == NULL && p != NULL;) {
		for (size_t i = 0; i < o->nst && k == NULL; i++)
			if (strcasecmp(o->st[i].key, p) == 0)
				k = kt_find(o, o->st[i].keyname);
		if (!o->subdomains)
			break;
		p = strchr(p, '.');
		p = p ? p + 1 : NULL;
	}
	if (k != NULL)
		snprintf(d, dlen, "%s", strcmp(k->domain, "%") == 0 ? dom :
		    k->domain);
	return k;
}

static void
probe(od *o, const char *addr, const char *label)
{
	char d[300];
	const kt_entry *k = opendkim_choice(o, addr, d, sizeof(d));

	imp_probe_add(&o->im, NULL, addr, k ? d : "", k ? k->selector : "",
	    label);
}

/* --------------------------------------------------------- translating */

static void
put_key(strbuf *out, const char *sel, const char *dom, const char *path,
    const char *file, int line)
{
	char v[4096];

	snprintf(v, sizeof(v), "%s,%s,%s", sel, dom, path);
	sb_adds(out, "domain-key = ");
	imp_quoted(out, v);
	sb_addf(out, "    # %s:%d\n", file, line);
}

/* One refile line e into out; 1 when it says "every address" (the lines
 * after it are never reached). */
static int
translate_pattern(od *o, st_entry *e, strbuf *out, strbuf *rules)
{
	const kt_entry *k = kt_find(o, e->keyname);
	const char *at = strrchr(e->key, '@');
	const char *dom = at ? at + 1 : NULL;

	if (k == NULL) {
		imp_warn(&o->im, out, 0, o->st_file, e->line, "%s names key "
		    "%s, which the KeyTable does not have: OpenDKIM fails on "
		    "such mail; left out", e->key, e->keyname);
		return 0;
	}
	if (strcmp(e->key, "*") == 0 || strcmp(e->key, "*@*") == 0) {
		if (strcmp(k->domain, "%") == 0) {
			imp_note(out, 0, "%s:%d: %s: every address, d= its own "
			    "domain (%%)", o->st_file, e->line, e->key);
			put_key(out, k->selector, "*", k->path, o->st_file,
			    e->line);
		} else {
			imp_note(out, 0, "%s:%d: %s: every address, signed as "
			    "%s: the key, and dkim-identity-fallback below",
			    o->st_file, e->line, e->key, k->domain);
			put_key(out, k->selector, k->domain, k->path,
			    o->st_file, e->line);
			sb_addf(rules, "    dkim-identity-fallback = "
			    "\"@%s\"    # %s:%d\n", k->domain, o->st_file,
			    e->line);
		}
		e->used = 1;
		return 1;
	}
	if (at != NULL && at == e->key + 1 && e->key[0] == '*' &&
	    strchr(dom, '*') == NULL && domain_is_valid(dom)) {
		if (strcmp(k->domain, "%") != 0 &&
		    strcasecmp(k->domain, dom) != 0) {
			imp_warn(&o->im, out, 0, o->st_file, e->line, "%s signs "
			    "with d=%s: vdkim signs a domain with a key of that "
			    "domain (or a parent), so mail from %s would get no "
			    "signature or another; left out", e->key,
			    k->domain, dom);
			return 0;
		}
		imp_note(out, 0, "%s:%d: %s: that domain only (not its "
		    "subdomains)", o->st_file, e->line, e->key);
		put_key(out, k->selector, dom, k->path, o->st_file, e->line);
		e->used = 1;
		return 0;
	}
	if (at != NULL && at == e->key + 1 && e->key[0] == '*' &&
	    strncmp(dom, "*.", 2) == 0 && strchr(dom + 2, '*') == NULL &&
	    domain_is_valid(dom + 2)) {
		if (strcasecmp(k->domain, dom + 2) != 0) {
			imp_warn(&o->im, out, 0, o->st_file, e->line, "%s signs "
			    "with d=%s: vdkim's \"*.%s\" key signs with "
			    "d=%s; left out (no subdomain of %s is signed by "
			    "this line)", e->key, strcmp(k->domain, "%") == 0 ?
			    "the From: domain" : k->domain, dom + 2, dom + 2,
			    dom + 2);
			return 0;
		}
		imp_note(out, 0, "%s:%d: %s: the subdomains of %s, not %s "
		    "itself", o->st_file, e->line, e->key, dom + 2, dom + 2);
		put_key(out, k->selector, dom, k->path, o->st_file, e->line);
		e->used = 1;
		return 0;
	}
	imp_warn(&o->im, out, 0, o->st_file, e->line, "%s: vdkim chooses keys "
	    "by the whole domain, not by the user or part of a name; this "
	    "line cannot be expressed and is left out (mail it matched gets "
	    "the next line's key, or none)", e->key);
	return 0;
}

/* A flat SigningTable's entry (an address or a domain). */
static void
translate_entry(od *o, st_entry *e, strbuf *out)
{
	const kt_entry *k = kt_find(o, e->keyname);

	if (k == NULL) {
		imp_warn(&o->im, out, 0, o->st_file, e->line, "%s names key "
		    "%s, which the KeyTable does not have; left out", e->key,
		    e->keyname);
		return;
	}
	if (strchr(e->key, '@') != NULL || !domain_is_valid(e->key)) {
		imp_warn(&o->im, out, 0, o->st_file, e->line, "%s: vdkim "
		    "chooses keys by domain, not by address; left out", e->key);
		return;
	}
	if (strcmp(k->domain, "%") != 0 && strcasecmp(k->domain, e->key) != 0) {
		imp_warn(&o->im, out, 0, o->st_file, e->line, "%s signs with "
		    "d=%s: vdkim signs a domain with a key of that domain (or "
		    "a parent); left out", e->key, k->domain);
		return;
	}
	if (strcmp(k->domain, "%") == 0 && o->subdomains)
		imp_warn(&o->im, out, 0, o->st_file, e->line, "%s with %% and "
		    "SubDomains yes: OpenDKIM signs a subdomain with d= the "
		    "subdomain, vdkim with d=%s", e->key, e->key);
	put_key(out, k->selector, e->key, k->path, o->st_file, e->line);
	e->used = 1;
}

/* Canonicalization, SignHeaders, OversignHeaders, ... as domain "*"'s
 * options into rules; 0 or an exit status. */
static int
translate_options(od *o, strbuf *rules)
{
	int sign = 1;

	if (o->mode.v != NULL && strchr(o->mode.v, 's') == NULL) {
		imp_warn(&o->im, rules, 1, o->conf, o->mode.line, "Mode %s: "
		    "the original only verifies, it signs nothing; so does "
		    "this config (dkim-sign no; vdkim does not verify "
		    "incoming mail)", o->mode.v);
		sign = 0;
	}
	sb_addf(rules, "    dkim-sign = %s", sign ? "yes" : "no");
	if (o->mode.v != NULL)
		sb_addf(rules, "    # %s:%d", o->conf, o->mode.line);
	sb_adds(rules, "\n");
	imp_note(rules, 1, "OpenDKIM chooses the key by the From: address");
	sb_adds(rules, "    dkim-identity = strict-from\n");
	if (o->senderheaders.v != NULL)
		imp_warn(&o->im, rules, 1, o->conf, o->senderheaders.line,
		    "SenderHeaders %s: vdkim takes the From: field "
		    "(strict-from) or Sender: then From: (sender-or-from); "
		    "strict-from kept", o->senderheaders.v);
	{
		char h[32] = "simple", b[32] = "simple";
		if (o->canon.v != NULL) {
			const char *sl = strchr(o->canon.v, '/');
			snprintf(h, sizeof(h), "%.*s", sl ? (int)(sl -
			    o->canon.v) : (int)strlen(o->canon.v), o->canon.v);
			if (sl != NULL)
				snprintf(b, sizeof(b), "%s", sl + 1);
		} else {
			imp_note(rules, 1, "OpenDKIM's default is simple/simple "
			    "(vdkim's relaxed/relaxed)");
		}
		for (int i = 0; i < 2; i++) {
			const char *c = i ? b : h;
			if (strcasecmp(c, "simple") != 0 &&
			    strcasecmp(c, "relaxed") != 0)
				return imp_error(&o->im, IMP_EX_DATAERR,
				    o->conf, o->canon.line, "Canonicalization: "
				    "expected simple or relaxed, as "
				    "HEADER/BODY, not \"%s\"", o->canon.v);
		}
		sb_addf(rules, "    dkim-headers-canon = %s\n    "
		    "dkim-body-canon = %s", h, b);
		if (o->canon.v != NULL)
			sb_addf(rules, "    # %s:%d", o->conf, o->canon.line);
		sb_adds(rules, "\n");
	}
	if (o->signheaders.v != NULL) {
		const char *list = o->signheaders.v;
		if (strncasecmp(list, "csl:", 4) == 0)
			list += 4;
		if (strchr(list, '*') != NULL || list[0] == '/' ||
		    strncasecmp(list, "file:", 5) == 0)
			return imp_error(&o->im, IMP_EX_CONFIG, o->conf,
			    o->signheaders.line, "SignHeaders %s: only a "
			    "list of field names can be imported", list);
		sb_adds(rules, "    dkim-headers = ");
		if (imp_name_list(rules, list) != 0)
			return imp_error(&o->im, IMP_EX_DATAERR, o->conf,
			    o->signheaders.line, "SignHeaders: expected "
			    "field names");
		sb_addf(rules, "    # %s:%d\n", o->conf, o->signheaders.line);
	} else {
		imp_note(rules, 1, "OpenDKIM's default SignHeaders (RFC 6376 "
		    "5.4.1's list; fields the message has are signed)");
		sb_adds(rules, "    dkim-headers = ");
		imp_name_list(rules, opendkim_default_headers);
		sb_adds(rules, "\n");
	}
	if (o->oversign.v == NULL)
		imp_note(rules, 1, "vdkim always over-signs From: (h= names "
		    "it twice); OpenDKIM without OversignHeaders does not: the "
		    "set of signed fields is the same");
	else {
		char l[1024];
		int only_from;
		snprintf(l, sizeof(l), "%s", o->oversign.v);
		only_from = strcasecmp(imp_trim(l), "From") == 0;
		if (only_from)
			imp_note(rules, 1, "%s:%d: OversignHeaders From: "
			    "vdkim always over-signs From:", o->conf,
			    o->oversign.line);
		else
			imp_warn(&o->im, rules, 1, o->conf, o->oversign.line,
			    "OversignHeaders %s: vdkim over-signs From: only, "
			    "or every signed field (dkim-disallow-adding-"
			    "headers); From: only is kept", o->oversign.v);
	}
	if (o->alg.v != NULL) {
		if (strcasecmp(o->alg.v, "rsa-sha1") == 0)
			imp_warn(&o->im, rules, 1, o->conf, o->alg.line,
			    "SignatureAlgorithm rsa-sha1: never produced "
			    "(RFC 8301); rsa-sha256 instead");
		else if (strcasecmp(o->alg.v, "rsa-sha256") != 0 &&
		    strcasecmp(o->alg.v, "ed25519-sha256") != 0)
			return imp_error(&o->im, IMP_EX_DATAERR, o->conf,
			    o->alg.line, "SignatureAlgorithm: expected "
			    "rsa-sha256, ed25519-sha256 or rsa-sha1");
		sb_addf(rules, "    dkim-algorithm = %s    # %s:%d\n",
		    strcasecmp(o->alg.v, "rsa-sha1") == 0 ? "rsa-sha256" :
		    o->alg.v, o->conf, o->alg.line);
	}
	if (o->ttl.v != NULL)
		sb_addf(rules, "    dkim-expire-after = %s    # %s:%d "
		    "(SignatureTTL)\n", o->ttl.v, o->conf, o->ttl.line);
	if (o->minbits.v != NULL) {
		long bits = strtol(o->minbits.v, NULL, 10);
		if (bits > 1024)
			imp_warn(&o->im, rules, 1, o->conf, o->minbits.line,
			    "MinimumKeyBits %ld: vdkim refuses RSA keys under "
			    "1024 bits and warns under 2048 (config-test); "
			    "check your keys' sizes there", bits);
		else
			imp_note(rules, 1, "%s:%d: MinimumKeyBits %ld: vdkim "
			    "refuses RSA keys under 1024 bits itself",
			    o->conf, o->minbits.line, bits);
	}
	return 0;
}

static int
single_key(od *o, strbuf *keys)
{
	const char *list;
	char *path = NULL, *copy, *p, *save = NULL;
	kt_entry *k;
	int rc;

	if (o->selector.v == NULL || o->keyfile.v == NULL)
		return imp_error(&o->im, IMP_EX_CONFIG, o->conf, o->domain.line,
		    "Domain without %s: nothing can be signed",
		    o->selector.v == NULL ? "Selector" : "KeyFile");
	if ((rc = dataset(o, &o->domain, "Domain", NULL, &path, &list)) != 0)
		return rc;
	if (path != NULL) {
		vdkim_file f;
		if ((rc = imp_read(&o->im, path, o->conf, o->domain.line,
		    &f)) != 0) {
			free(path);
			return rc;
		}
		for (p = f.data; *p; p++)
			if (*p == '\n' || *p == '#')
				*p = *p == '#' ? '\001' : ',';
		/* Comments: from # to the line's end. */
		for (p = f.data; (p = strchr(p, '\001')) != NULL;)
			while (*p != '\0' && *p != ',')
				*p++ = ' ';
		copy = strdup(f.data);
		vdkim_file_free(&f);
	} else {
		copy = strdup(list);
	}
	free(path);
	if (copy == NULL)
		return imp_error(&o->im, IMP_EX_SOFTWARE, NULL, 0, "out of "
		    "memory");
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		free(copy);
		return imp_error(&o->im, IMP_EX_SOFTWARE, NULL, 0, "out of "
		    "memory");
	}
	o->kt = k;
	o->nkt = 1;
	k->name = strdup("");
	k->domain = strdup("%");
	k->selector = strdup(o->selector.v);
	k->path = imp_relative(o->conf, o->keyfile.v);
	if (!k->name || !k->domain || !k->selector || !k->path) {
		free(copy);
		return imp_error(&o->im, IMP_EX_SOFTWARE, NULL, 0, "out of "
		    "memory");
	}
	imp_note(keys, 0, "Single-key mode: Selector %s, KeyFile %s, for "
	    "each Domain%s", o->selector.v, o->keyfile.v, o->subdomains ?
	    " and its subdomains (SubDomains yes)" : " (not its subdomains)");
	for (p = strtok_r(copy, ", \t\r", &save); p != NULL;
	    p = strtok_r(NULL, ", \t\r", &save)) {
		char **n;
		if (!domain_is_valid(p)) {
			imp_warn(&o->im, keys, 0, o->conf, o->domain.line,
			    "Domain %s: not a domain name vdkim can key "
			    "(wildcards are not); left out", p);
			continue;
		}
		n = realloc(o->domains, (o->ndomains + 1) * sizeof(*n));
		if (n == NULL || (n[o->ndomains] = strdup(p)) == NULL) {
			if (n != NULL)
				o->domains = n;
			free(copy);
			return imp_error(&o->im, IMP_EX_SOFTWARE, NULL, 0,
			    "out of memory");
		}
		o->domains = n;
		o->ndomains++;
		put_key(keys, o->selector.v, p, k->path, o->conf,
		    o->domain.line);
	}
	free(copy);
	for (size_t i = 0; i < o->ndomains; i++) {
		char a[300];
		snprintf(a, sizeof(a), "postmaster@%s", o->domains[i]);
		probe(o, a, "Domain");
		snprintf(a, sizeof(a), "x@sub.%s", o->domains[i]);
		probe(o, a, "Domain (a subdomain)");
	}
	return 0;
}

/* The sample addresses of a SigningTable line: one it matches, and the
 * near misses. */
static void
table_probes(od *o, const st_entry *e)
{
	char a[600], label[600];
	const char *at = strrchr(e->key, '@');

	snprintf(label, sizeof(label), "%s:%d %s", o->st_file, e->line,
	    e->key);
	if (!o->refile) {
		snprintf(a, sizeof(a), "%s%s", at ? "" : "postmaster@", e->key);
		probe(o, a, label);
		if (at == NULL) {
			snprintf(a, sizeof(a), "x@sub.%s", e->key);
			probe(o, a, label);
		} else {
			snprintf(a, sizeof(a), "someone-else%s", at);
			probe(o, a, label);
		}
		return;
	}
	/* Each * becomes "x"; "*" alone an address no other line names. */
	if (strcmp(e->key, "*") == 0 || strcmp(e->key, "*@*") == 0) {
		probe(o, "x@unlisted-domain.example", label);
		return;
	}
	{
		size_t j = 0;
		for (const char *p = e->key; *p && j + 2 < sizeof(a); p++)
			if (*p == '*')
				a[j++] = 'x';
			else
				a[j++] = *p;
		a[j] = '\0';
		if (strchr(a, '@') == NULL)
			snprintf(a + j, sizeof(a) - j, "@x.example");
		probe(o, a, label);
	}
	if (at != NULL && strcmp(at, "@*") != 0) {
		if (strncmp(at, "@*.", 3) == 0)
			snprintf(a, sizeof(a), "x@%s", at + 3);
		else
			snprintf(a, sizeof(a), "x@sub.%s", at + 1);
		if (strchr(a, '*') == NULL)
			probe(o, a, label);
		if (at != e->key + 1 || e->key[0] != '*') {
			snprintf(a, sizeof(a), "someone-else%s", at);
			if (strchr(a, '*') == NULL)
				probe(o, a, label);
		}
	}
}

static int
tables(od *o, strbuf *keys, strbuf *rules)
{
	const char *list;
	char *ktp = NULL;
	/* "KeyTable refile:" (some distributions ship it): its names are
	 * plain names all the same. */
	int rc, everything = 0, kt_refile;

	if (o->keytable.v == NULL)
		return imp_error(&o->im, IMP_EX_CONFIG, o->conf,
		    o->signingtable.line, "SigningTable without KeyTable: its "
		    "key names mean nothing");
	if ((rc = dataset(o, &o->keytable, "KeyTable", &kt_refile, &ktp,
	    &list)) != 0)
		return rc;
	if (ktp == NULL)
		return imp_error(&o->im, IMP_EX_CONFIG, o->conf,
		    o->keytable.line, "KeyTable %s: expected a file",
		    o->keytable.v);
	o->kt_file = ktp;
	if ((rc = dataset(o, &o->signingtable, "SigningTable", &o->refile,
	    &o->st_file, &list)) != 0)
		return rc;
	if (o->st_file == NULL)
		return imp_error(&o->im, IMP_EX_CONFIG, o->conf,
		    o->signingtable.line, "SigningTable %s: expected a file",
		    o->signingtable.v);
	if ((rc = read_table(o, o->kt_file, &o->keytable, add_kt)) != 0 ||
	    (rc = read_table(o, o->st_file, &o->signingtable, add_st)) != 0)
		return rc;
	for (size_t i = 0; i < o->nkt; i++)
		if (strchr(o->kt[i].path, '%') != NULL)
			imp_warn(&o->im, keys, 0, o->kt[i].file, o->kt[i].line,
			    "key %s: a key path with %% (one file per From: "
			    "domain) has no vdkim equivalent; lines naming it "
			    "are left out", o->kt[i].name);
	imp_note(keys, 0, "%sSigningTable %s, in its order (the first "
	    "match wins, in OpenDKIM as in vdkim), with KeyTable %s",
	    o->refile ? "refile: " : "", o->st_file, o->kt_file);
	for (size_t i = 0; i < o->nst; i++) {
		st_entry *e = &o->st[i];
		const kt_entry *k = kt_find(o, e->keyname);
		if (everything) {
			imp_note(keys, 0, "%s:%d: %s: never reached (after a "
			    "line that matches every address)", o->st_file,
			    e->line, e->key);
			continue;
		}
		if (k != NULL && strchr(k->path, '%') != NULL)
			continue;
		if (o->refile)
			everything = translate_pattern(o, e, keys, rules);
		else
			translate_entry(o, e, keys);
	}
	for (size_t i = 0; i < o->nst; i++)
		table_probes(o, &o->st[i]);
	probe(o, "x@unlisted-domain.example", "an address no line names");
	return 0;
}

static void
od_free(od *o)
{
	od_val *vals[] = { &o->domain, &o->selector, &o->keyfile,
	    &o->keytable, &o->signingtable, &o->canon, &o->signheaders,
	    &o->oversign, &o->subdomains_v, &o->mode, &o->minbits, &o->alg,
	    &o->ttl, &o->socket, &o->senderheaders };

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		free(vals[i]->v);
	for (size_t i = 0; i < o->nkt; i++) {
		free(o->kt[i].name);
		free(o->kt[i].domain);
		free(o->kt[i].selector);
		free(o->kt[i].path);
	}
	free(o->kt);
	for (size_t i = 0; i < o->nst; i++) {
		free(o->st[i].key);
		free(o->st[i].keyname);
	}
	free(o->st);
	for (size_t i = 0; i < o->ndomains; i++)
		free(o->domains[i]);
	free(o->domains);
	free(o->kt_file);
	free(o->st_file);
	imp_free(&o->im);
}

int
import_opendkim(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "explain", no_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 }
	};
	strbuf keys = STRBUF_INIT, rules = STRBUF_INIT, conf = STRBUF_INIT;
	char header[1024];
	vdkim_file f;
	od o;
	int c, explain = 0, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'e') {
			fprintf(stderr, "vdkimctl import opendkim: unknown "
			    "option (see vdkimctl import --help)\n");
			return IMP_EX_USAGE;
		}
		explain = 1;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "vdkimctl import opendkim: expected one FILE "
		    "(opendkim.conf)\n");
		return IMP_EX_USAGE;
	}
	memset(&o, 0, sizeof(o));
	o.conf = argv[optind];
	imp_init(&o.im, "import opendkim", o.conf);
	if ((rc = imp_read(&o.im, o.conf, NULL, 0, &f)) != 0) {
		od_free(&o);
		return rc;
	}
	rc = read_conf(&o, f.data);
	vdkim_file_free(&f);
	if (rc == 0 && o.subdomains_v.v != NULL &&
	    (o.subdomains = imp_bool(o.subdomains_v.v)) < 0)
		rc = imp_error(&o.im, IMP_EX_DATAERR, o.conf,
		    o.subdomains_v.line, "SubDomains: expected yes or no");
	if (rc == 0)
		rc = translate_options(&o, &rules);
	if (rc == 0 && o.signingtable.v != NULL) {
		if (o.domain.v != NULL || o.keyfile.v != NULL)
			imp_note(&keys, 0, "Domain/KeyFile are not used: "
			    "OpenDKIM signs by its SigningTable");
		rc = tables(&o, &keys, &rules);
		/* refile patterns say exactly which domains. */
		if (o.refile)
			o.subdomains = 0;
	} else if (rc == 0 && o.domain.v != NULL) {
		rc = single_key(&o, &keys);
	} else if (rc == 0) {
		rc = imp_error(&o.im, IMP_EX_CONFIG, o.conf, 0, "neither "
		    "SigningTable nor Domain/Selector/KeyFile: this config "
		    "signs nothing");
	}
	if (rc == 0) {
		imp_append(&conf, &keys);
		sb_adds(&conf, "\n# The signing rules (OpenDKIM decides by the "
		    "author, not the recipient:\n# one block for every "
		    "recipient domain).\ndomain \"*\" {\n");
		imp_append(&conf, &rules);
		sb_addf(&conf, "    dkim-key-subdomains = %s%s\n",
		    o.subdomains ? "yes" : "no", o.refile ?
		    "    # refile patterns name domains exactly" :
		    "    # SubDomains");
		sb_adds(&conf, "}\n");
		if (o.socket.v != NULL) {
			sb_addf(&conf, "\n# %s:%d: Socket %s: vdkim-milter "
			    "listens where its milter { } block says, e.g.\n"
			    "# milter {\n#     module = "
			    "\"/usr/local/lib/vdkim/vdkim.so\"\n#     listen = ",
			    o.conf, o.socket.line, o.socket.v);
			imp_quoted(&conf, o.socket.v);
			sb_adds(&conf, "\n# }\n");
		}
		snprintf(header, sizeof(header), "# vdkim.conf imported from "
		    "OpenDKIM's %s by vdkimctl import opendkim.\n# Each line "
		    "names the line of the original it comes from; check "
		    "it with\n# vdkimctl config-test --config FILE.\n",
		    o.conf);
		rc = imp_finish(&o.im, header, &conf, explain);
	}
	sb_free(&keys);
	sb_free(&rules);
	sb_free(&conf);
	od_free(&o);
	return rc;
}
