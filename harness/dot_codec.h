/*
 * dot_codec.h - the DATA phase's transparency (RFC 5321 4.5.2) in both
 * directions, as byte-stream state machines that accept input split
 * anywhere.
 *
 * Decoding (the server): a line starting with "." loses that dot; the line
 * "." alone ends the message.  It ends it only after a CRLF, so that a
 * bare LF followed by ".\r\n" cannot smuggle a second message past a
 * relay that sees the stream differently; such a line is kept as data.
 * The decoder also enforces the line and size limits: over either, it
 * keeps reading to the end of the message but stores nothing more.
 *
 * Encoding (the client): doubles a leading dot, turns bare LFs into CRLF
 * (SMTP carries CRLF only) and ends with CRLF "." CRLF.
 */
#ifndef HARNESS_DOT_CODEC_H
#define HARNESS_DOT_CODEC_H

#include <stddef.h>

#include "strbuf.h"

typedef struct dot_decoder {
	int state;
	int after_crlf;       /* the current line began after a CRLF */
	int last_cr;          /* the line's last byte so far is a CR */
	size_t line_len;      /* bytes of the current line so far */
	size_t max_line;      /* CRLF included */
	size_t max_size;
	size_t size;          /* bytes stored (or that would have been) */
	int too_long;         /* a line was over max_line */
	int too_big;          /* the message was over max_size */
	int eight_bit;        /* a byte over 127 was seen */
	strbuf *out;             /* the unstuffed message */
} dot_decoder;

void dot_decoder_init(dot_decoder *d, strbuf *out, size_t max_line,
    size_t max_size);
/* Consumes bytes up to and including the end-of-data line; *done is set
 * when it was seen.  Returns the bytes consumed (all of them unless done).
 * A failed allocation shows as out->failed. */
size_t dot_decode(dot_decoder *d, const char *in, size_t len, int *done);

/* Where the encoder's output goes; returns 0, or -1 to stop. */
typedef int (*dot_sink)(void *ctx, const char *data, size_t len);

typedef struct dot_encoder {
	dot_sink sink;
	void *ctx;
	int at_line_start;
	int last_cr;          /* the last byte passed on was a CR */
} dot_encoder;

void dot_encoder_init(dot_encoder *e, dot_sink sink, void *ctx);
int dot_encode(dot_encoder *e, const char *data, size_t len);
/* Ends the last line if needed, then sends ".\r\n". */
int dot_encode_end(dot_encoder *e);

#endif
