/*
 * strbuf.c - growable strings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

void
sb_init(strbuf *sb)
{
	sb->s = NULL;
	sb->len = sb->cap = 0;
	sb->failed = 0;
}

/* No object may be larger than PTRDIFF_MAX (pointer differences within
 * it would overflow); malloc refuses such sizes anyway. */
#define STRBUF_MAX ((size_t)PTRDIFF_MAX)

/* Grows the storage to hold extra more bytes and a NUL; -1 when that
 * size is over STRBUF_MAX (or would wrap a size_t) or memory runs out. */
static int
grow(strbuf *sb, size_t extra)
{
	size_t need, ncap;
	char *ns;

	if (extra > STRBUF_MAX - 1 - sb->len)
		return -1; /* len + extra + 1 too large, or wrapping */
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return 0;
	ncap = sb->cap ? sb->cap : 128;
	/* Doubling past STRBUF_MAX would be refused (or wrap): take just
	 * what is needed then. */
	while (ncap < need)
		ncap = ncap > STRBUF_MAX / 2 ? need : ncap * 2;
	ns = realloc(sb->s, ncap);
	if (ns == NULL)
		return -1;
	sb->s = ns;
	sb->cap = ncap;
	return 0;
}

int
sb_reserve(strbuf *sb, size_t extra)
{
	if (sb->failed)
		return -1;
	if (grow(sb, extra) != 0) {
		sb->failed = 1;
		return -1;
	}
	return 0;
}

int
sb_try_reserve(strbuf *sb, size_t extra)
{
	return sb->failed ? -1 : grow(sb, extra);
}

void
sb_commit(strbuf *sb, size_t n)
{
	if (n == 0)
		return;
	if (sb->s == NULL || n > sb->cap - sb->len - 1) {
		sb->failed = 1;
		return;
	}
	sb->len += n;
	sb->s[sb->len] = '\0';
}

void
sb_reset(strbuf *sb)
{
	sb_truncate(sb, 0);
}

void
sb_truncate(strbuf *sb, size_t n)
{
	if (n >= sb->len)
		return;
	sb->len = n;
	sb->s[n] = '\0';
}

void
sb_add(strbuf *sb, const void *p, size_t n)
{
	if (sb_reserve(sb, n) != 0)
		return;
	memcpy(sb->s + sb->len, p, n);
	sb->len += n;
	sb->s[sb->len] = '\0';
}

void
sb_adds(strbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

void
sb_addf(strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || sb_reserve(sb, (size_t)n) != 0) {
		sb->failed = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(sb->s + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

char *
sb_take(strbuf *sb)
{
	char *s = sb->failed ? NULL : sb->s;

	if (sb->failed)
		free(sb->s);
	else if (s == NULL)
		s = calloc(1, 1);
	sb_init(sb);
	return s;
}

void
sb_free(strbuf *sb)
{
	free(sb->s);
	sb_init(sb);
}

void
sb_consume(strbuf *sb, size_t n)
{
	if (n >= sb->len) {
		sb->len = 0;
	} else {
		memmove(sb->s, sb->s + n, sb->len - n);
		sb->len -= n;
	}
	if (sb->s != NULL)
		sb->s[sb->len] = '\0';
}

char *
sb_steal(strbuf *sb, size_t *len)
{
	char *s = sb->s;

	if (len != NULL)
		*len = sb->len;
	sb_init(sb);
	return s;
}
