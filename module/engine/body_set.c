/*
 * body_set.c - a small set of body hashes keyed by canonicalization and l=.
 */
#include <stdlib.h>

#include "body_set.h"

void
body_set_init(body_set *s)
{
	s->n = 0;
}

int
body_set_get(body_set *s, vdkim_canon canon, int64_t limit)
{
	body_hash *h;

	for (size_t i = 0; i < s->n; i++)
		if (s->h[i]->bc.canon == canon && s->h[i]->bc.limit == limit)
			return (int)i;
	if (s->n == BODY_SET_MAX)
		return -1;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -1;
	if (body_canon_init(&h->bc, canon, EVP_sha256(), limit) != 0) {
		free(h);
		return -1;
	}
	s->h[s->n] = h;
	return (int)s->n++;
}

int
body_set_update(body_set *s, const void *data, size_t len)
{
	int rc = 0;

	for (size_t i = 0; i < s->n; i++)
		if (body_canon_update(&s->h[i]->bc, data, len) != 0)
			rc = -1;
	return rc;
}

int
body_set_final(body_set *s)
{
	int rc = 0;

	for (size_t i = 0; i < s->n; i++)
		if (body_canon_final(&s->h[i]->bc, s->h[i]->digest,
		    &s->h[i]->dlen, &s->h[i]->total) != 0)
			rc = -1;
	return rc;
}

int
body_set_lacked_final_eol(const body_set *s)
{
	return s->n > 0 && body_canon_lacked_final_eol(&s->h[0]->bc);
}

void
body_set_free(body_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		body_canon_cleanup(&s->h[i]->bc);
		free(s->h[i]);
	}
	s->n = 0;
}
