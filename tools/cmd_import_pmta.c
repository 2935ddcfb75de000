/*
 * cmd_import_pmta.c - "vdkimctl import pmta FILE": PowerMTA's own config
 * syntax (directive value, <tag NAME> ... </tag>, # comments, include
 * FILE) into a vdkim.conf.
 *
 * What is about signing is translated: <virtual-mta NAME>,
 * <virtual-mta-pool NAME> (virtual-mta members), <domain PATTERN> (global,
 * in a VMTA or a pool), <source ...> (process-x-dkim-options),
 * <domain-key-list NAME>, domain-key SELECTOR,DOMAIN,FILE wherever it
 * stands, every dkim-* and second-dkim-* directive.  A dkim-* directive
 * given directly in a VMTA, a pool or at global scope goes into that
 * scope's domain "*" block (every recipient domain, as it was).  What
 * vdkim cannot express is a loud warning where it stands and never
 * widened; everything else is listed as skipped.  The directive names are
 * PowerMTA's, so most values go across as they are, each line followed by
 * the FILE:LINE it came from.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "domain_name.h"
#include "import.h"

enum pm_kind { PM_GLOBAL, PM_VMTA, PM_POOL, PM_LIST, PM_SOURCE };

/* One option of a domain block: name (lower case) and its vdkim line. */
typedef struct pm_opt {
	char *name;
	strbuf text;
} pm_opt;

typedef struct pm_dom {
	char *pattern;
	const char *file;
	int line;
	pm_opt *opts;
	size_t nopts;
} pm_dom;

typedef struct pm_scope {
	enum pm_kind kind;
	char *name;
	const char *file;
	int line;
	strbuf body;             /* keys, members, source options */
	pm_dom *doms;
	size_t ndoms;
	char **members;          /* pools */
	size_t nmembers;
	char **keydoms;          /* the DOMAIN of each domain-key (probes) */
	size_t nkeydoms;
} pm_scope;

/* An open block: the scope and domain block it fills, or a skipped one. */
typedef struct pm_open {
	char tag[64];
	size_t scope;
	long dom;                /* index in the scope's doms, or -1 */
	int skip;                /* a block vdkim has no use for */
	const char *file;
	int line;
} pm_open;

typedef struct pm {
	imp im;
	pm_scope *scopes;        /* [0] is the global scope */
	size_t nscopes;
	pm_open stack[16];
	size_t depth;
	char *files[IMP_MAX_DEPTH + 1]; /* the include chain (real paths) */
	size_t nfiles;
	char **names;            /* every file read, kept for FILE:LINE */
	size_t nnames;
	int oom;
} pm;

/* ----------------------------------------------------------- the model */

static const char *
keep_name(pm *m, const char *path)
{
	char **n = realloc(m->names, (m->nnames + 1) * sizeof(*n));

	if (n == NULL || (n[m->nnames] = strdup(path)) == NULL) {
		m->oom = 1;
		if (n != NULL)
			m->names = n;
		return path;
	}
	m->names = n;
	return m->names[m->nnames++];
}

static long
scope_new(pm *m, enum pm_kind kind, const char *name, const char *file,
    int line)
{
	pm_scope *n = realloc(m->scopes, (m->nscopes + 1) * sizeof(*n));

	if (n == NULL)
		return -1;
	m->scopes = n;
	memset(&n[m->nscopes], 0, sizeof(*n));
	n[m->nscopes].kind = kind;
	n[m->nscopes].name = strdup(name);
	n[m->nscopes].file = file;
	n[m->nscopes].line = line;
	sb_init(&n[m->nscopes].body);
	if (n[m->nscopes].name == NULL)
		return -1;
	return (long)m->nscopes++;
}

static long
scope_find(const pm *m, enum pm_kind kind, const char *name)
{
	for (size_t i = 1; i < m->nscopes; i++)
		if (m->scopes[i].kind == kind &&
		    strcmp(m->scopes[i].name, name) == 0)
			return (long)i;
	return -1;
}

static long
dom_get(pm *m, pm_scope *sc, const char *pattern, const char *file,
    int line)
{
	pm_dom *n;

	for (size_t i = 0; i < sc->ndoms; i++)
		if (strcasecmp(sc->doms[i].pattern, pattern) == 0)
			return (long)i;
	n = realloc(sc->doms, (sc->ndoms + 1) * sizeof(*n));
	if (n == NULL) {
		m->oom = 1;
		return -1;
	}
	sc->doms = n;
	memset(&n[sc->ndoms], 0, sizeof(*n));
	n[sc->ndoms].pattern = strdup(pattern);
	n[sc->ndoms].file = file;
	n[sc->ndoms].line = line;
	if (n[sc->ndoms].pattern == NULL)
		m->oom = 1;
	return (long)sc->ndoms++;
}

/* The option name of dom, replaced when set before (PowerMTA: the last
 * one wins); its text is left empty for the caller to fill. */
static strbuf *
dom_opt(pm *m, pm_dom *d, const char *name, const char *file, int line)
{
	pm_opt *n;

	for (size_t i = 0; i < d->nopts; i++)
		if (strcmp(d->opts[i].name, name) == 0) {
			sb_reset(&d->opts[i].text);
			imp_note(&d->opts[i].text, 2, "%s:%d sets %s again; "
			    "the last one counts, as in PowerMTA", file, line,
			    name);
			return &d->opts[i].text;
		}
	n = realloc(d->opts, (d->nopts + 1) * sizeof(*n));
	if (n == NULL) {
		m->oom = 1;
		return NULL;
	}
	d->opts = n;
	n[d->nopts].name = strdup(name);
	sb_init(&n[d->nopts].text);
	if (n[d->nopts].name == NULL)
		m->oom = 1;
	return &n[d->nopts++].text;
}

/* ------------------------------------------------------- translations */

/* The dkim-* options vdkim has, without "second-"; sig: also as
 * second-dkim-*; kind: 'b' yes/no, 'l' a header list, 'w' a word, 's' a
 * string. */
static const struct dkim_opt {
	const char *name;
	int sig;
	char kind;
} dkim_opts[] = {
	{ "dkim-sign", 1, 'b' },
	{ "dkim-identity", 1, 's' },
	{ "dkim-identity-fallback", 1, 's' },
	{ "dkim-headers", 1, 'l' },
	{ "dkim-algorithm", 1, 'w' },
	{ "dkim-headers-canon", 1, 'w' },
	{ "dkim-body-canon", 1, 'w' },
	{ "dkim-expire-after", 1, 'w' },
	{ "dkim-add-timestamp", 1, 'b' },
	{ "dkim-add-body-limit", 1, 'b' },
	{ "dkim-disallow-adding-headers", 1, 'b' },
	{ "dkim-verify-signatures", 1, 'b' },
	{ "dkim-require", 0, 'b' },
	{ "dkim-align", 0, 'w' },
	{ "dkim-dns-check", 0, 'w' },
	{ "dkim-key-subdomains", 0, 'b' },
};

static const struct dkim_opt *
dkim_opt_find(const char *name)
{
	int second = strncmp(name, "second-", 7) == 0;

	for (size_t i = 0; i < sizeof(dkim_opts) / sizeof(dkim_opts[0]); i++)
		if (strcmp(second ? name + 7 : name, dkim_opts[i].name) == 0)
			return second && !dkim_opts[i].sig ? NULL :
			    &dkim_opts[i];
	return NULL;
}

/* A dkim-* directive into domain block d of scope sc (depth: its
 * indentation); 0 or an exit status after the error. */
static int
put_dkim(pm *m, pm_dom *d, const char *name, const char *value,
    const char *file, int line, const char *moved)
{
	const struct dkim_opt *o = dkim_opt_find(name);
	strbuf *sb;
	int b;

	if (o == NULL) {
		strbuf *w = dom_opt(m, d, name, file, line);
		if (w != NULL)
			imp_warn(&m->im, w, 2, file, line, "%s %s: vdkim has no "
			    "such option; not translated", name, value);
		return 0;
	}
	if (*value == '\0')
		return imp_error(&m->im, IMP_EX_DATAERR, file, line, "%s "
		    "without a value", name);
	if ((sb = dom_opt(m, d, name, file, line)) == NULL)
		return 0;
	if (moved != NULL)
		imp_note(sb, 2, "%s", moved);
	sb_addf(sb, "        %s = ", name);
	switch (o->kind) {
	case 'b':
		if ((b = imp_bool(value)) < 0)
			return imp_error(&m->im, IMP_EX_DATAERR, file, line,
			    "%s: expected yes or no, not \"%s\"", name, value);
		sb_adds(sb, b ? "yes" : "no");
		break;
	case 'l':
		if (imp_name_list(sb, value) != 0)
			return imp_error(&m->im, IMP_EX_DATAERR, file, line,
			    "%s: expected header field names", name);
		break;
	case 'w':
		sb_adds(sb, value);
		break;
	default:
		imp_quoted(sb, value);
	}
	sb_addf(sb, "    # %s:%d\n", file, line);
	return 0;
}

/* domain-key SELECTOR,DOMAIN,FILE into scope sc; 0 or an exit status. */
static int
put_key(pm *m, pm_scope *sc, const char *value, const char *file, int line)
{
	const char *c1 = strchr(value, ','), *c2 = c1 ? strchr(c1 + 1, ',') :
	    NULL;
	char **n;

	if (c1 == NULL || c2 == NULL || c1 == value || c2 == c1 + 1 ||
	    c2[1] == '\0')
		return imp_error(&m->im, IMP_EX_DATAERR, file, line,
		    "domain-key: expected SELECTOR,DOMAIN,KEYFILE, not \"%s\"",
		    value);
	sb_adds(&sc->body, sc->kind == PM_GLOBAL ? "" : "    ");
	sb_adds(&sc->body, "domain-key = ");
	imp_quoted(&sc->body, value);
	sb_addf(&sc->body, "    # %s:%d\n", file, line);
	n = realloc(sc->keydoms, (sc->nkeydoms + 1) * sizeof(*n));
	if (n == NULL || (n[sc->nkeydoms] = strndup(c1 + 1,
	    (size_t)(c2 - c1 - 1))) == NULL) {
		m->oom = 1;
		if (n != NULL)
			sc->keydoms = n;
		return 0;
	}
	sc->keydoms = n;
	sc->nkeydoms++;
	return 0;
}

/* A <domain PATTERN> pattern vdkim takes: a name, "*.name" or "*". */
static int
pattern_ok(const char *p)
{
	return strcmp(p, "*") == 0 || domain_is_valid(p) ||
	    (strncmp(p, "*.", 2) == 0 && domain_is_valid(p + 2));
}

/* ------------------------------------------------------------ parsing */

static int parse_file(pm *m, const char *path, const char *from, int line);

/* "<tag arg>": opens a block; 0 or an exit status. */
static int
open_block(pm *m, char *s, const char *file, int line)
{
	char *end = strchr(s, '>'), *arg;
	pm_open *top = m->depth ? &m->stack[m->depth - 1] : NULL;
	pm_open *o;
	long sc;

	if (end == NULL || imp_trim(end + 1)[0] != '\0')
		return imp_error(&m->im, IMP_EX_DATAERR, file, line, "a block "
		    "must be <NAME ...> alone on its line");
	*end = '\0';
	s = imp_trim(s + 1);
	arg = s + strcspn(s, " \t");
	if (*arg != '\0')
		*arg++ = '\0';
	arg = imp_trim(arg);
	if (*s == '\0' || strlen(s) >= sizeof(o->tag))
		return imp_error(&m->im, IMP_EX_DATAERR, file, line, "a block "
		    "without a (sensible) name");
	if (m->depth == sizeof(m->stack) / sizeof(m->stack[0]))
		return imp_error(&m->im, IMP_EX_DATAERR, file, line, "blocks "
		    "nested too deep");
	o = &m->stack[m->depth];
	memset(o, 0, sizeof(*o));
	snprintf(o->tag, sizeof(o->tag), "%s", s);
	o->dom = -1;
	o->file = file;
	o->line = line;
	if (top != NULL && top->skip) {
		o->skip = 1;
		m->depth++;
		return 0;
	}
	if (strcasecmp(s, "virtual-mta") == 0 ||
	    strcasecmp(s, "virtual-mta-pool") == 0 ||
	    strcasecmp(s, "domain-key-list") == 0 ||
	    strcasecmp(s, "source") == 0) {
		enum pm_kind k = strcasecmp(s, "virtual-mta") == 0 ? PM_VMTA :
		    strcasecmp(s, "virtual-mta-pool") == 0 ? PM_POOL :
		    strcasecmp(s, "source") == 0 ? PM_SOURCE : PM_LIST;
		if (top != NULL)
			return imp_error(&m->im, IMP_EX_DATAERR, file, line,
			    "<%s> inside <%s> (opened at %s:%d): it belongs at "
			    "the top level", s, top->tag, top->file,
			    top->line);
		if (*arg == '\0')
			return imp_error(&m->im, IMP_EX_DATAERR, file, line,
			    "<%s> without a name", s);
		if ((sc = scope_find(m, k, arg)) >= 0 && k != PM_SOURCE)
			return imp_error(&m->im, IMP_EX_DATAERR, file, line,
			    "<%s %s> again (first at %s:%d)", s, arg,
			    m->scopes[sc].file, m->scopes[sc].line);
		if (sc < 0 && (sc = scope_new(m, k, arg, file, line)) < 0)
			return imp_error(&m->im, IMP_EX_SOFTWARE, NULL, 0,
			    "out of memory");
		o->scope = (size_t)sc;
		m->depth++;
		return 0;
	}
	if (strcasecmp(s, "domain") == 0) {
		if (top != NULL && m->scopes[top->scope].kind != PM_VMTA &&
		    m->scopes[top->scope].kind != PM_POOL)
			return imp_error(&m->im, IMP_EX_DATAERR, file, line,
			    "<domain> inside <%s>: expected it at the top level, "
			    "in a <virtual-mta> or a <virtual-mta-pool>",
			    top->tag);
		if (top != NULL && top->dom >= 0)
			return imp_error(&m->im, IMP_EX_DATAERR, file, line,
			    "<domain> inside <domain>");
		if (*arg == '\0')
			return imp_error(&m->im, IMP_EX_DATAERR, file, line,
			    "<domain> without a pattern");
		o->scope = top != NULL ? top->scope : 0;
		if (!pattern_ok(arg)) {
			imp_warn(&m->im, NULL, 0, file, line, "<domain %s>: "
			    "vdkim's domain blocks take a name, *.name or *; "
			    "this block is not translated (its messages get "
			    "the rules of the other blocks)", arg);
			o->skip = 1;
			m->depth++;
			return 0;
		}
		o->dom = dom_get(m, &m->scopes[o->scope], arg, file, line);
		m->depth++;
		return 0;
	}
	/* Any other block is not about signing. */
	{
		char whole[300];
		snprintf(whole, sizeof(whole), "<%s%s%s> (the whole block)", s,
		    *arg ? " " : "", arg);
		imp_skip(&m->im, file, line, whole);
	}
	o->skip = 1;
	m->depth++;
	return 0;
}

static int
close_block(pm *m, char *s, const char *file, int line)
{
	char *end = strchr(s, '>');
	pm_open *top = m->depth ? &m->stack[m->depth - 1] : NULL;

	if (end == NULL || imp_trim(end + 1)[0] != '\0')
		return imp_error(&m->im, IMP_EX_DATAERR, file, line, "a closing "
		    "tag must be </NAME> alone on its line");
	*end = '\0';
	s = imp_trim(s + 2);
	if (top == NULL)
		return imp_error(&m->im, IMP_EX_DATAERR, file, line, "</%s> "
		    "closes no open block", s);
	if (strcasecmp(s, top->tag) != 0)
		return imp_error(&m->im, IMP_EX_DATAERR, file, line, "</%s> "
		    "where </%s> was expected (opened at %s:%d)", s, top->tag,
		    top->file, top->line);
	m->depth--;
	return 0;
}

static int
directive(pm *m, char *s, const char *file, int line)
{
	pm_open *top = m->depth ? &m->stack[m->depth - 1] : NULL;
	char *value = s + strcspn(s, " \t");
	pm_scope *sc;
	char name[80], whole[300];
	long d;

	snprintf(whole, sizeof(whole), "%s", s);
	if (*value != '\0')
		*value++ = '\0';
	value = imp_trim(value);
	snprintf(name, sizeof(name), "%s", s);
	for (char *p = name; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	if (strcmp(name, "include") == 0) {
		char *path = imp_relative(file, value);
		int rc;

		if (*value == '\0')
			return imp_error(&m->im, IMP_EX_DATAERR, file, line,
			    "include without a file");
		if (path == NULL)
			return imp_error(&m->im, IMP_EX_SOFTWARE, NULL, 0,
			    "out of memory");
		rc = parse_file(m, path, file, line);
		free(path);
		return rc;
	}
	if (top != NULL && top->skip) {
		return 0;
	}
	sc = &m->scopes[top ? top->scope : 0];
	if (top != NULL && top->dom >= 0) {
		/* In a domain block. */
		pm_dom *dm = &sc->doms[top->dom];
		if (strncmp(name, "dkim-", 5) == 0 ||
		    strncmp(name, "second-dkim-", 12) == 0)
			return put_dkim(m, dm, name, value, file, line, NULL);
		if (strcmp(name, "domain-key") == 0) {
			imp_warn(&m->im, NULL, 0, file, line, "domain-key in "
			    "<domain %s>: vdkim keys belong to a VMTA, a pool "
			    "or the global scope, not to a recipient domain; "
			    "not translated (moving it up would sign mail to "
			    "every domain with it)", dm->pattern);
			return 0;
		}
		imp_skip(&m->im, file, line, whole);
		return 0;
	}
	if (strcmp(name, "domain-key") == 0 && sc->kind != PM_SOURCE)
		return put_key(m, sc, value, file, line);
	if (sc->kind == PM_POOL && strcmp(name, "virtual-mta") == 0) {
		char **n = realloc(sc->members, (sc->nmembers + 1) *
		    sizeof(*n));
		if (n == NULL || (n[sc->nmembers] = strdup(value)) == NULL) {
			m->oom = 1;
			if (n != NULL)
				sc->members = n;
			return 0;
		}
		sc->members = n;
		sc->nmembers++;
		return 0;
	}
	if (sc->kind == PM_SOURCE &&
	    strcmp(name, "process-x-dkim-options") == 0) {
		int b = imp_bool(value);
		if (b < 0)
			return imp_error(&m->im, IMP_EX_DATAERR, file, line,
			    "process-x-dkim-options: expected yes or no");
		sb_addf(&sc->body, "    process-x-dkim-options = %s    # "
		    "%s:%d\n", b ? "yes" : "no", file, line);
		return 0;
	}
	if ((strncmp(name, "dkim-", 5) == 0 ||
	    strncmp(name, "second-dkim-", 12) == 0) &&
	    (sc->kind == PM_GLOBAL || sc->kind == PM_VMTA ||
	    sc->kind == PM_POOL)) {
		char moved[200];
		if ((d = dom_get(m, sc, "*", file, line)) < 0)
			return 0;
		snprintf(moved, sizeof(moved), "%s:%d gives %s outside a "
		    "<domain> block: vdkim keeps it in domain \"*\" (every "
		    "recipient domain)", file, line, name);
		return put_dkim(m, &sc->doms[d], name, value, file, line,
		    moved);
	}
	imp_skip(&m->im, file, line, whole);
	return 0;
}

static int
parse_text(pm *m, char *text, const char *file)
{
	char *cur = text, *l;
	int line = 0, rc;

	while ((l = imp_next_line(&cur, &line)) != NULL) {
		l = imp_trim(l);
		if (*l == '\0' || *l == '#')
			continue;
		if (l[0] == '<' && l[1] == '/')
			rc = close_block(m, l, file, line);
		else if (l[0] == '<')
			rc = open_block(m, l, file, line);
		else
			rc = directive(m, l, file, line);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
parse_file(pm *m, const char *path, const char *from, int line)
{
	char real[PATH_MAX];
	vdkim_file f;
	const char *name;
	int rc;

	if (m->nfiles > IMP_MAX_DEPTH)
		return imp_error(&m->im, IMP_EX_DATAERR, from, line, "include "
		    "nested more than %d deep", IMP_MAX_DEPTH);
	if (realpath(path, real) != NULL)
		for (size_t i = 0; i < m->nfiles; i++)
			if (strcmp(m->files[i], real) == 0)
				return imp_error(&m->im, IMP_EX_DATAERR, from,
				    line, "include %s: a cycle (the file is "
				    "already being read)", path);
	if ((rc = imp_read(&m->im, path, from, line, &f)) != 0)
		return rc;
	name = keep_name(m, path);
	if ((m->files[m->nfiles] = strdup(real)) == NULL) {
		vdkim_file_free(&f);
		return imp_error(&m->im, IMP_EX_SOFTWARE, NULL, 0, "out of "
		    "memory");
	}
	m->nfiles++;
	rc = parse_text(m, f.data, name);
	free(m->files[--m->nfiles]);
	vdkim_file_free(&f);
	if (rc == 0 && from == NULL && m->depth > 0)
		rc = imp_error(&m->im, IMP_EX_DATAERR, m->stack[m->depth - 1].file,
		    m->stack[m->depth - 1].line, "<%s> is never closed",
		    m->stack[m->depth - 1].tag);
	return rc;
}

/* ------------------------------------------------------------- output */

static void
write_doms(pm *m, const pm_scope *sc, int depth, strbuf *out)
{
	(void)m;
	for (size_t i = 0; i < sc->ndoms; i++) {
		const pm_dom *d = &sc->doms[i];
		for (int k = 0; k < depth; k++)
			sb_adds(out, "    ");
		sb_adds(out, "domain ");
		imp_quoted(out, d->pattern);
		sb_addf(out, " {    # %s:%d\n", d->file, d->line);
		for (size_t j = 0; j < d->nopts; j++) {
			const char *t = d->opts[j].text.s ? d->opts[j].text.s :
			    "";
			/* The lines were made for depth 1 (8 spaces). */
			if (depth == 0) {
				const char *s = t;
				while (*s != '\0') {
					size_t n = strcspn(s, "\n");
					const char *b = s;
					size_t skip = strspn(b, " ");
					skip = skip >= 4 ? 4 : skip;
					sb_add(out, b + skip, n - skip);
					sb_adds(out, "\n");
					s += n + (s[n] == '\n');
				}
			} else {
				sb_adds(out, t);
			}
		}
		for (int k = 0; k < depth; k++)
			sb_adds(out, "    ");
		sb_adds(out, "}\n");
	}
}

static int
is_vmta(const pm *m, const char *name)
{
	return scope_find(m, PM_VMTA, name) >= 0;
}

static void
write_conf(pm *m, strbuf *out)
{
	const pm_scope *g = &m->scopes[0];

	if (g->body.len > 0) {
		sb_adds(out, "# Global keys, in the original's order.\n");
		imp_append(out, &g->body);
		sb_adds(out, "\n");
	}
	for (size_t i = 1; i < m->nscopes; i++) {
		const pm_scope *sc = &m->scopes[i];
		if (sc->kind != PM_LIST)
			continue;
		sb_adds(out, "domain-key-list ");
		imp_quoted(out, sc->name);
		sb_addf(out, " {    # %s:%d\n", sc->file, sc->line);
		imp_append(out, &sc->body);
		sb_adds(out, "}\n\n");
	}
	for (size_t i = 1; i < m->nscopes; i++) {
		const pm_scope *sc = &m->scopes[i];
		if (sc->kind != PM_SOURCE)
			continue;
		imp_note(out, 0, "<source %s>: PowerMTA matched it by the "
		    "client's address; vdkim's host names the source (the "
		    "envelope's source, vdkimctl --source)", sc->name);
		sb_adds(out, "source ");
		imp_quoted(out, sc->name);
		sb_addf(out, " {    # %s:%d\n", sc->file, sc->line);
		if (sc->body.len == 0)
			sb_adds(out, "    process-x-dkim-options = no    # the "
			    "default\n");
		else
			imp_append(out, &sc->body);
		sb_adds(out, "}\n\n");
	}
	if (g->ndoms > 0) {
		write_doms(m, g, 0, out);
		sb_adds(out, "\n");
	}
	for (size_t i = 1; i < m->nscopes; i++) {
		const pm_scope *sc = &m->scopes[i];
		if (sc->kind != PM_VMTA)
			continue;
		sb_adds(out, "virtual-mta ");
		imp_quoted(out, sc->name);
		sb_addf(out, " {    # %s:%d\n", sc->file, sc->line);
		imp_append(out, &sc->body);
		write_doms(m, sc, 1, out);
		sb_adds(out, "}\n\n");
	}
	for (size_t i = 1; i < m->nscopes; i++) {
		const pm_scope *sc = &m->scopes[i];
		size_t n = 0;
		if (sc->kind != PM_POOL)
			continue;
		sb_adds(out, "virtual-mta-pool ");
		imp_quoted(out, sc->name);
		sb_addf(out, " {    # %s:%d\n", sc->file, sc->line);
		for (size_t j = 0; j < sc->nmembers; j++)
			if (!is_vmta(m, sc->members[j]))
				imp_warn(&m->im, out, 1, sc->file, sc->line,
				    "pool member %s is no <virtual-mta> of this "
				    "config: left out", sc->members[j]);
		for (size_t j = 0; j < sc->nmembers; j++)
			if (is_vmta(m, sc->members[j])) {
				sb_adds(out, n++ ? ", " : "    virtual-mta = {");
				imp_quoted(out, sc->members[j]);
			}
		if (n > 0)
			sb_adds(out, "}\n");
		imp_append(out, &sc->body);
		write_doms(m, sc, 1, out);
		sb_adds(out, "}\n\n");
	}
}

/* Probes: for each VMTA (or the global scope), each key domain it can
 * sign for, a message From: postmaster@DOMAIN. */
static void
add_probes(pm *m)
{
	size_t nv = 0;

	for (size_t i = 1; i < m->nscopes; i++) {
		const pm_scope *v = &m->scopes[i];
		if (v->kind != PM_VMTA)
			continue;
		nv++;
		for (int pass = 0; pass < 3; pass++) {
			const pm_scope *sc = pass == 0 ? v : pass == 2 ?
			    &m->scopes[0] : NULL;
			if (pass == 1)
				for (size_t j = 1; j < m->nscopes && sc == NULL;
				    j++)
					if (m->scopes[j].kind == PM_POOL)
						for (size_t k = 0;
						    k < m->scopes[j].nmembers; k++)
							if (strcmp(m->scopes[j].
							    members[k], v->name)
							    == 0)
								sc = &m->scopes[j];
			if (sc == NULL)
				continue;
			for (size_t k = 0; k < sc->nkeydoms; k++) {
				char from[300], label[300];
				const char *d = sc->keydoms[k];
				snprintf(from, sizeof(from), "postmaster@%s",
				    strcmp(d, "*") == 0 ? "any-domain.example" :
				    d);
				snprintf(label, sizeof(label), "virtual-mta %s",
				    v->name);
				imp_probe_add(&m->im, v->name, from, NULL, NULL,
				    label);
			}
		}
	}
	if (nv == 0)
		for (size_t k = 0; k < m->scopes[0].nkeydoms; k++) {
			char from[300];
			const char *d = m->scopes[0].keydoms[k];
			snprintf(from, sizeof(from), "postmaster@%s",
			    strcmp(d, "*") == 0 ? "any-domain.example" : d);
			imp_probe_add(&m->im, NULL, from, NULL, NULL,
			    "global scope");
		}
}

static void
pm_free(pm *m)
{
	for (size_t i = 0; i < m->nscopes; i++) {
		pm_scope *sc = &m->scopes[i];
		free(sc->name);
		sb_free(&sc->body);
		for (size_t j = 0; j < sc->ndoms; j++) {
			for (size_t k = 0; k < sc->doms[j].nopts; k++) {
				free(sc->doms[j].opts[k].name);
				sb_free(&sc->doms[j].opts[k].text);
			}
			free(sc->doms[j].opts);
			free(sc->doms[j].pattern);
		}
		free(sc->doms);
		for (size_t j = 0; j < sc->nmembers; j++)
			free(sc->members[j]);
		free(sc->members);
		for (size_t j = 0; j < sc->nkeydoms; j++)
			free(sc->keydoms[j]);
		free(sc->keydoms);
	}
	free(m->scopes);
	for (size_t i = 0; i < m->nnames; i++)
		free(m->names[i]);
	free(m->names);
	imp_free(&m->im);
}

int
import_pmta(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "explain", no_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 }
	};
	strbuf conf = STRBUF_INIT;
	char header[1024];
	pm m;
	int c, explain = 0, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'e') {
			fprintf(stderr, "vdkimctl import pmta: unknown option "
			    "(see vdkimctl import --help)\n");
			return IMP_EX_USAGE;
		}
		explain = 1;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "vdkimctl import pmta: expected one FILE (the "
		    "PowerMTA config)\n");
		return IMP_EX_USAGE;
	}
	memset(&m, 0, sizeof(m));
	imp_init(&m.im, "import pmta", argv[optind]);
	if (scope_new(&m, PM_GLOBAL, "", argv[optind], 0) < 0) {
		pm_free(&m);
		return IMP_EX_SOFTWARE;
	}
	rc = parse_file(&m, argv[optind], NULL, 0);
	if (rc == 0 && m.oom)
		rc = imp_error(&m.im, IMP_EX_SOFTWARE, NULL, 0, "out of memory");
	if (rc == 0) {
		write_conf(&m, &conf);
		add_probes(&m);
		snprintf(header, sizeof(header), "# vdkim.conf imported from "
		    "PowerMTA's %s by vdkimctl import pmta.\n# Each line "
		    "names the line of the original it comes from; check "
		    "it with\n# vdkimctl config-test --config FILE.\n",
		    argv[optind]);
		rc = imp_finish(&m.im, header, &conf, explain);
	}
	sb_free(&conf);
	pm_free(&m);
	return rc;
}
