/*
 * buf.h - a growable byte buffer: session input and output, message data,
 * text being composed.
 *
 * Allocation failures stick: once an append fails, "failed" stays set and
 * later appends do nothing, so a caller composing many pieces checks once
 * at the end.
 */
#ifndef HARNESS_BUF_H
#define HARNESS_BUF_H

#include <stddef.h>

typedef struct buf {
	char *p;        /* NUL-terminated when len > 0 or after buf_add */
	size_t len;
	size_t cap;
	int failed;     /* an allocation failed */
} buf;

#define BUF_INIT { NULL, 0, 0, 0 }

void buf_init(buf *b);
/* Makes room for extra more bytes (and a NUL); -1 on failure. */
int buf_reserve(buf *b, size_t extra);
int buf_add(buf *b, const void *data, size_t len);
int buf_adds(buf *b, const char *s);
int buf_printf(buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes. */
void buf_consume(buf *b, size_t n);
/* Hands the storage to the caller (who frees it) and empties b. */
char *buf_steal(buf *b, size_t *len);
void buf_free(buf *b);

#endif
