/*
 * conf_value.c - the pieces the policy's schema files share: checked
 * values that remember their line, section lines, key splitting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_value.h"
#include "domain_idn.h"
#include "strbuf.h"

int
conf_value_store(cfg_t *cfg, const char *problem, const char *value,
    conf_val **out)
{
	conf_val *cv;

	if (problem != NULL) {
		cfg_error(cfg, "%s, not \"%s\"", problem, value);
		return -1;
	}
	cv = malloc(sizeof(*cv) + strlen(value) + 1);
	if (cv == NULL) {
		cfg_error(cfg, "out of memory");
		return -1;
	}
	cv->line = cfg->line;
	strcpy(cv->s, value);
	*out = cv;
	return 0;
}

void
conf_value_free(void *p)
{
	free(p);
}

void
conf_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
}

/* ------------------------------------------------------ section lines */

typedef struct section_at {
	const char *kw, *title;
	size_t kwlen, tlen;
	int line, parent;
} section_at;

struct conf_sections {
	section_at *at;
	size_t n, cap;
	const section_at *dup;  /* the first section that repeats a title */
	int dup_line;
	size_t *slots;     /* open addressing: index + 1, 0 empty */
	size_t nslots;     /* a power of two, at least twice n */
};

#define SECTION_DEPTH_MAX 64 /* check_braces refuses deeper files */

static size_t
hash_bytes(size_t h, const char *s, size_t n)
{
	/* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static size_t
section_hash(int parent, const char *kw, size_t kwlen, const char *title,
    size_t tlen)
{
	size_t h = hash_bytes(14695981039346656037ULL, kw, kwlen);

	h = hash_bytes(h ^ 0xff, title, tlen);
	return h ^ ((size_t)(unsigned)parent * 0x9e3779b97f4a7c15ULL);
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
is_word(char c)
{
	return c != '\0' && !is_blank(c) && strchr("{}[](),;=+\"'", c) == NULL;
}

/*
 * Reads "keyword TITLE" backwards from the "{" at t + i (the text starts
 * at t): the title (quoted or a word, the "{" maybe on a later line), then
 * blanks on the same line, then the keyword at the start of a statement.
 * 0 when it is a list ("= {") or not a titled section; *nl: the newlines
 * between the keyword and the "{".
 */
static int
read_back(const char *t, size_t i, section_at *sa, int *nl)
{
	size_t e;

	*nl = 0;
	while (i > 0 && is_blank(t[i - 1]))
		if (t[--i] == '\n')
			(*nl)++;
	if (i == 0 || t[i - 1] == '=')
		return 0;
	if (t[i - 1] == '"' || t[i - 1] == '\'') {
		char q = t[i - 1];

		e = --i;
		while (i > 0 && t[i - 1] != q)
			if (t[--i] == '\n')
				(*nl)++;
		if (i == 0)
			return 0;
		sa->title = t + i;
		sa->tlen = e - i;
		i--;
	} else {
		e = i;
		while (i > 0 && is_word(t[i - 1]))
			i--;
		sa->title = t + i;
		sa->tlen = e - i;
	}
	while (i > 0 && (t[i - 1] == ' ' || t[i - 1] == '\t'))
		i--;
	e = i;
	while (i > 0 && is_word(t[i - 1]))
		i--;
	if (e == i || sa->tlen == 0 ||
	    (i > 0 && strchr(" \t\n;{}", t[i - 1]) == NULL))
		return 0;
	sa->kw = t + i;
	sa->kwlen = e - i;
	return 1;
}

static int
sections_add(conf_sections *s, const section_at *sa)
{
	size_t h;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		section_at *at = realloc(s->at, cap * sizeof(*at));

		if (at == NULL)
			return -1;
		s->at = at;
		s->cap = cap;
	}
	if (2 * (s->n + 1) > s->nslots) {
		size_t ns = s->nslots ? 2 * s->nslots : 128;
		size_t *slots = calloc(ns, sizeof(*slots));

		if (slots == NULL)
			return -1;
		free(s->slots);
		s->slots = slots;
		s->nslots = ns;
		for (size_t k = 0; k < s->n; k++) {
			const section_at *o = &s->at[k];

			h = section_hash(o->parent, o->kw, o->kwlen, o->title,
			    o->tlen) & (ns - 1);
			while (slots[h] != 0)
				h = (h + 1) & (ns - 1);
			slots[h] = k + 1;
		}
	}
	h = section_hash(sa->parent, sa->kw, sa->kwlen, sa->title, sa->tlen) &
	    (s->nslots - 1);
	for (; s->slots[h] != 0; h = (h + 1) & (s->nslots - 1)) {
		const section_at *o = &s->at[s->slots[h] - 1];

		if (s->dup == NULL && o->parent == sa->parent &&
		    o->kwlen == sa->kwlen && o->tlen == sa->tlen &&
		    memcmp(o->kw, sa->kw, sa->kwlen) == 0 &&
		    memcmp(o->title, sa->title, sa->tlen) == 0) {
			s->dup = o;
			s->dup_line = sa->line;
		}
	}
	s->at[s->n] = *sa;
	s->slots[h] = ++s->n;
	return 0;
}

conf_sections *
conf_sections_index(const char *text)
{
	conf_sections *s = calloc(1, sizeof(*s));
	int open[SECTION_DEPTH_MAX], depth = 0, line = 1;
	char quote = 0;

	if (s == NULL)
		return NULL;
	for (size_t i = 0; text[i] != '\0'; i++) {
		char c = text[i];

		if (c == '\n')
			line++;
		if (quote) {
			if (c == '\\' && quote == '"' && text[i + 1] != '\0') {
				if (text[++i] == '\n')
					line++;
			} else if (c == quote) {
				quote = 0;
			}
		} else if (c == '"' || c == '\'') {
			quote = c;
		} else if (c == '{') {
			section_at sa;
			int nl, here = -1; /* -1: a list, no section */

			if (read_back(text, i, &sa, &nl)) {
				sa.line = here = line - nl;
				sa.parent = depth == 0 ? 0 :
				    depth <= SECTION_DEPTH_MAX ?
				    open[depth - 1] : -1;
				if (sa.parent >= 0 && sections_add(s, &sa) != 0) {
					conf_sections_free(s);
					return NULL;
				}
			}
			if (depth < SECTION_DEPTH_MAX)
				open[depth] = here;
			depth++;
		} else if (c == '}' && depth > 0) {
			depth--;
		}
	}
	return s;
}

void
conf_sections_free(conf_sections *s)
{
	if (s == NULL)
		return;
	free(s->at);
	free(s->slots);
	free(s);
}

int
conf_sections_duplicate(const conf_sections *s, char *what, size_t len)
{
	if (s == NULL || s->dup == NULL)
		return 0;
	snprintf(what, len, "%.*s \"%.*s\"", (int)s->dup->kwlen, s->dup->kw,
	    (int)s->dup->tlen, s->dup->title);
	return s->dup_line;
}

/*
 * A quoted title, or an unquoted one without "*": moved.  An unquoted
 * wildcard stays, for libconfuse to refuse as it always did ("wildcard
 * patterns must be quoted").
 */
static int
movable_title(const char *t, const section_at *sa)
{
	if (sa->title > t && (sa->title[-1] == '"' || sa->title[-1] == '\''))
		return 1;
	return memchr(sa->title, '*', sa->tlen) == NULL;
}

char *
conf_untitle_top(const char *t, const char *const *kinds, const char *opt,
    unsigned shards)
{
	unsigned seen[CONF_TOP_KINDS_MAX] = { 0 };
	strbuf out;
	size_t copied = 0;
	int depth = 0;
	char quote = 0;

	sb_init(&out);
	for (size_t i = 0; t[i] != '\0'; i++) {
		char c = t[i];
		section_at sa;
		size_t tb, te;
		int nl, quoted;

		if (quote) {
			if (c == '\\' && quote == '"' && t[i + 1] != '\0')
				i++;
			else if (c == quote)
				quote = 0;
			continue;
		}
		if (c == '"' || c == '\'') {
			quote = c;
			continue;
		}
		if (c == '}' && depth > 0)
			depth--;
		if (c != '{' || depth++ > 0 || !read_back(t, i, &sa, &nl) ||
		    !movable_title(t, &sa))
			continue;
		for (size_t k = 0; kinds[k] != NULL && k < CONF_TOP_KINDS_MAX;
		    k++) {
			size_t kb = (size_t)(sa.kw - t);

			if (strlen(kinds[k]) != sa.kwlen ||
			    memcmp(kinds[k], sa.kw, sa.kwlen) != 0)
				continue;
			quoted = sa.title > t && (sa.title[-1] == '"' ||
			    sa.title[-1] == '\'');
			tb = (size_t)(sa.title - t) - (quoted ? 1 : 0);
			te = (size_t)(sa.title - t) + sa.tlen + (quoted ? 1 : 0);
			sb_add(&out, t + copied, kb - copied);
			sb_addf(&out, CONF_SHARD_FMT, seen[k]++ % shards);
			sb_add(&out, t + kb, tb - kb);
			for (size_t b = tb; b < te; b++)
				sb_add(&out, t[b] == '\n' ? "\n" : " ", 1);
			sb_add(&out, t + te, i + 1 - te);
			sb_addf(&out, " %s = %c%.*s%c ", opt,
			    quoted ? sa.title[-1] : '\'', (int)sa.tlen,
			    sa.title, quoted ? sa.title[-1] : '\'');
			copied = i + 1;
			break;
		}
	}
	sb_adds(&out, t + copied);
	return sb_take(&out);
}

int
conf_section_line(const conf_sections *s, int parent, const char *keyword,
    const char *title)
{
	size_t kl = strlen(keyword), tl = strlen(title), h;

	if (s == NULL || s->nslots == 0)
		return 0;
	h = section_hash(parent, keyword, kl, title, tl) & (s->nslots - 1);
	for (; s->slots[h] != 0; h = (h + 1) & (s->nslots - 1)) {
		const section_at *sa = &s->at[s->slots[h] - 1];

		if (sa->parent == parent && sa->kwlen == kl &&
		    sa->tlen == tl && memcmp(sa->kw, keyword, kl) == 0 &&
		    memcmp(sa->title, title, tl) == 0)
			return sa->line;
	}
	return 0;
}

int
conf_split_key(const char *v, char **selector, char **domain, char **path)
{
	const char *c1 = strchr(v, ','), *c2 = strchr(c1 + 1, ',');
	char ace[254];

	*selector = strndup(v, (size_t)(c1 - v));
	*domain = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
	*path = strdup(c2 + 1);
	if (*selector == NULL || *domain == NULL || *path == NULL)
		return -1;
	conf_lower(*domain);
	/* U-labels become A-labels (check_domain_key let them through). */
	if (domain_has_8bit(*domain) && domain_to_alabels(*domain, ace,
	    sizeof(ace)) == 0) {
		free(*domain);
		if ((*domain = strdup(ace)) == NULL)
			return -1;
	}
	return 0;
}
