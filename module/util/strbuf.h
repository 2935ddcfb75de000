/*
 * strbuf.h - a growable NUL-terminated byte string.  An allocation failure
 * is remembered (sb->failed) and checked once at the end, so building code
 * stays linear.
 *
 * The fields are read freely; they are written only by these functions
 * (strbuf.c), so len < cap and s[len] == '\0' hold whenever s is set.
 */
#ifndef VDKIM_STRBUF_H
#define VDKIM_STRBUF_H

#include <stddef.h>

typedef struct strbuf {
	char *s;
	size_t len, cap;
	int failed;
} strbuf;

#define STRBUF_INIT { NULL, 0, 0, 0 }

void sb_init(strbuf *sb);
/* Makes room for extra more bytes (and a NUL); -1 on failure, which is
 * remembered (also when len + extra would overflow a size_t). */
int sb_reserve(strbuf *sb, size_t extra);
/* The same, but a failure is not remembered: for a buffer that works on
 * with the room it has. */
int sb_try_reserve(strbuf *sb, size_t extra);
/* The caller wrote n bytes at s + len, into room a reserve made: they
 * become part of the string.  More than that room marks a failure. */
void sb_commit(strbuf *sb, size_t n);
/* Empties the string, keeping its storage for reuse. */
void sb_reset(strbuf *sb);
/* Shortens the string to its first n bytes (no-op when not longer). */
void sb_truncate(strbuf *sb, size_t n);
/* Drops the first n bytes (consumed input). */
void sb_consume(strbuf *sb, size_t n);
/* Hands the storage (NULL when empty) and its length to the caller. */
char *sb_steal(strbuf *sb, size_t *len);
void sb_add(strbuf *sb, const void *p, size_t n);
void sb_adds(strbuf *sb, const char *s);
void sb_addf(strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Hands the string over to the caller (NULL if anything failed). */
char *sb_take(strbuf *sb);
void sb_free(strbuf *sb);

#endif
