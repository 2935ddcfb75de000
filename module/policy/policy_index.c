/*
 * policy_index.c - the model's indexes, built once after parsing, so that
 * a message's decision costs the same with one domain-key or 100,000 and
 * one virtual MTA or 10,000: scopes by name (sorted, binary search), each
 * VMTA's pool, and each scope's keys by domain (a hash of the domains,
 * each to its keys in file order).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy_model.h"

/* A scope's keys by domain: sorted holds the key numbers (into
 * sc->keys) grouped by domain, each group in file order; slots map a
 * domain to its group. */
struct key_index {
	uint32_t *sorted;
	struct key_group {
		const char *domain;  /* the first key's (lower case) */
		uint32_t first, n;   /* into sorted */
	} *groups;
	size_t ngroups;
	uint32_t *slots;         /* group + 1, 0 empty */
	size_t nslots;           /* a power of two, at least twice ngroups */
};

/* ------------------------------------------------------ scopes by name */

static int
cmp_scope_name(const void *a, const void *b)
{
	const scope *x = *(const scope *const *)a, *y = *(const scope *const *)b;

	return strcmp(x->name, y->name);
}

/* Pointers to list[0..n) sorted by name; NULL when out of memory. */
static const scope **
by_name(const scope *list, size_t n)
{
	const scope **s = malloc((n ? n : 1) * sizeof(*s));

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s[i] = &list[i];
	/* A stable order for equal names is not needed: libconfuse refuses
	 * a title twice per keyword. */
	qsort(s, n, sizeof(*s), cmp_scope_name);
	return s;
}

const scope *
policy_find(const scope *const *sorted, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (sorted != NULL && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, sorted[mid]->name);

		if (c == 0)
			return sorted[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* ------------------------------------------------------ keys by domain */

static size_t
hash_domain(const char *d, size_t len)
{
	size_t h = 14695981039346656037ULL; /* FNV-1a, ASCII case folded */

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		h = (h ^ c) * 1099511628211ULL;
	}
	return h;
}

/* The group of keys for exactly this domain (len bytes), or NULL. */
static const struct key_group *
find_group(const struct key_index *ix, const char *d, size_t len)
{
	size_t h;

	if (ix == NULL || ix->nslots == 0)
		return NULL;
	for (h = hash_domain(d, len) & (ix->nslots - 1); ix->slots[h] != 0;
	    h = (h + 1) & (ix->nslots - 1)) {
		const struct key_group *g = &ix->groups[ix->slots[h] - 1];

		if (strlen(g->domain) == len &&
		    strncasecmp(g->domain, d, len) == 0)
			return g;
	}
	return NULL;
}

/* A key's domain and number, to sort by domain, then file order. */
typedef struct sort_key {
	const char *domain;
	uint32_t i;
} sort_key;

static int
cmp_sort_key(const void *a, const void *b)
{
	const sort_key *x = a, *y = b;
	int c = strcmp(x->domain, y->domain);

	return c != 0 ? c : (x->i > y->i) - (x->i < y->i);
}

void
policy_key_index_free(struct key_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->sorted);
	free(ix->groups);
	free(ix->slots);
	free(ix);
}

static struct key_index *
key_index_build(const scope *sc)
{
	struct key_index *ix = calloc(1, sizeof(*ix));
	sort_key *sk = malloc((sc->nkeys ? sc->nkeys : 1) * sizeof(*sk));
	size_t ns = 16;

	while (ns < 2 * sc->nkeys)
		ns *= 2;
	if (ix == NULL || sk == NULL ||
	    (ix->sorted = malloc((sc->nkeys ? sc->nkeys : 1) *
	    sizeof(*ix->sorted))) == NULL ||
	    (ix->groups = malloc((sc->nkeys ? sc->nkeys : 1) *
	    sizeof(*ix->groups))) == NULL ||
	    (ix->slots = calloc(ns, sizeof(*ix->slots))) == NULL) {
		free(sk);
		policy_key_index_free(ix);
		return NULL;
	}
	ix->nslots = ns;
	for (size_t i = 0; i < sc->nkeys; i++) {
		sk[i].domain = sc->keys[i]->domain;
		sk[i].i = (uint32_t)i;
	}
	qsort(sk, sc->nkeys, sizeof(*sk), cmp_sort_key);
	for (size_t i = 0; i < sc->nkeys; i++) {
		ix->sorted[i] = sk[i].i;
		if (i == 0 || strcmp(sk[i].domain, sk[i - 1].domain) != 0) {
			struct key_group *g = &ix->groups[ix->ngroups++];
			size_t h = hash_domain(sk[i].domain,
			    strlen(sk[i].domain)) & (ns - 1);

			g->domain = sk[i].domain;
			g->first = (uint32_t)i;
			g->n = 0;
			while (ix->slots[h] != 0)
				h = (h + 1) & (ns - 1);
			ix->slots[h] = (uint32_t)ix->ngroups;
		}
		ix->groups[ix->ngroups - 1].n++;
	}
	free(sk);
	return ix;
}

void
policy_keys_for(key_iter *it, const scope *sc, const char *domain)
{
	const struct key_group *g;
	const char *d = domain;

	it->sc = sc;
	it->n = 0;
	/* The domain itself, each parent, then "*" (key_matches_domain). */
	while (d != NULL && *d != '\0' && it->n < KEY_ITER_MAX - 1) {
		const char *dot = strchr(d, '.');

		if ((g = find_group(sc->index, d, strlen(d))) != NULL) {
			it->list[it->n] = sc->index->sorted + g->first;
			it->left[it->n++] = g->n;
		}
		d = dot != NULL ? dot + 1 : NULL;
	}
	if ((g = find_group(sc->index, "*", 1)) != NULL) {
		it->list[it->n] = sc->index->sorted + g->first;
		it->left[it->n++] = g->n;
	}
}

const key_entry *
policy_keys_next(key_iter *it)
{
	size_t best = KEY_ITER_MAX;

	/* The lowest key number at the head of any list: file order. */
	for (size_t l = 0; l < it->n; l++)
		if (it->left[l] > 0 && (best == KEY_ITER_MAX ||
		    *it->list[l] < *it->list[best]))
			best = l;
	if (best == KEY_ITER_MAX)
		return NULL;
	it->left[best]--;
	return it->sc->keys[*it->list[best]++];
}

/* --------------------------------------------------------- building */

static int
index_scopes(scope *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((list[i].index = key_index_build(&list[i])) == NULL)
			return -1;
	return 0;
}

int
policy_index_build(vdkim_policy *p)
{
	if ((p->vmtas_by_name = by_name(p->vmtas, p->nvmtas)) == NULL ||
	    (p->pools_by_name = by_name(p->pools, p->npools)) == NULL ||
	    (p->lists_by_name = by_name(p->lists, p->nlists)) == NULL ||
	    (p->global.index = key_index_build(&p->global)) == NULL ||
	    index_scopes(p->vmtas, p->nvmtas) != 0 ||
	    index_scopes(p->pools, p->npools) != 0 ||
	    index_scopes(p->lists, p->nlists) != 0)
		return -1;
	/* Each VMTA's pool: the first that lists it. */
	for (size_t i = 0; i < p->npools; i++)
		for (size_t k = 0; k < p->pools[i].nmembers; k++) {
			scope *vm = (scope *)policy_find(p->vmtas_by_name,
			    p->nvmtas, p->pools[i].members[k]);

			if (vm != NULL && vm->pool == NULL)
				vm->pool = &p->pools[i];
		}
	return 0;
}
