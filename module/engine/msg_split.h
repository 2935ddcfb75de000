/*
 * msg_split.h - splitting a raw message, fed in chunks split anywhere, into
 * header fields, the end of the header, and body chunks.
 */
#ifndef VDKIM_MSG_SPLIT_H
#define VDKIM_MSG_SPLIT_H

#include <stddef.h>

#include "vdkim/dkim.h"

typedef struct msg_split_ops {
	vdkim_rc (*header)(void *ctx, const char *field, size_t len,
	    vdkim_error *err);
	vdkim_rc (*eoh)(void *ctx, vdkim_error *err);
	vdkim_rc (*body)(void *ctx, const void *data, size_t len,
	    vdkim_error *err);
} msg_split_ops;

typedef struct msg_split {
	const msg_split_ops *ops;
	void *ctx;
	int in_body;
	int at_line_start;  /* the last byte held ended a line */
	int cr_at_start;    /* a CR began the line: maybe the empty line */
	char *field;        /* the header field being collected */
	size_t len, cap;
} msg_split;

void msg_split_init(msg_split *m, const msg_split_ops *ops, void *ctx);
/* Feeds raw message bytes. */
vdkim_rc msg_split_feed(msg_split *m, const void *data, size_t len,
    vdkim_error *err);
/* Ends the message: flushes a last header field and, for a message with no
 * body (no blank line), signals the end of the header. */
vdkim_rc msg_split_finish(msg_split *m, vdkim_error *err);
void msg_split_free(msg_split *m);

#endif
