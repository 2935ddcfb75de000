/*
 * segments.c - lists of byte ranges.
 */
#include <stdlib.h>

#include "segments.h"

void
seglist_init(seglist *s)
{
	s->v = NULL;
	s->n = 0;
	s->cap = 0;
	s->total = 0;
	s->failed = 0;
}

int
seglist_add(seglist *s, const void *data, size_t len)
{
	if (s->failed)
		return -1;
	if (len == 0)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct iovec *v = realloc(s->v, cap * sizeof(*v));

		if (v == NULL) {
			s->failed = 1;
			return -1;
		}
		s->v = v;
		s->cap = cap;
	}
	/* iovec's base is not const; the bytes are only ever read. */
	s->v[s->n].iov_base = (void *)data;
	s->v[s->n].iov_len = len;
	s->n++;
	s->total += len;
	return 0;
}

void
seglist_free(seglist *s)
{
	free(s->v);
	seglist_init(s);
}
