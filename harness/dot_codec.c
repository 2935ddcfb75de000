/*
 * dot_codec.c - dot-stuffing and unstuffing.
 */
#include <string.h>

#include "dot_codec.h"

enum {
	DEC_LINE_START,   /* at the first byte of a line */
	DEC_DOT,          /* the line began with a dot (dropped) */
	DEC_DOT_CR,       /* ".\r" at the start of a line */
	DEC_MID           /* inside a line */
};

void
dot_decoder_init(dot_decoder *d, strbuf *out, size_t max_line, size_t max_size)
{
	memset(d, 0, sizeof(*d));
	d->state = DEC_LINE_START;
	d->after_crlf = 1; /* the DATA command line ended with CRLF */
	d->max_line = max_line;
	d->max_size = max_size;
	d->out = out;
}

/* Stores bytes of the message, within the limits. */
static void
store(dot_decoder *d, const char *p, size_t n)
{
	for (size_t i = 0; i < n && !d->eight_bit; i++)
		if ((unsigned char)p[i] > 127)
			d->eight_bit = 1;
	d->size += n;
	if (d->size > d->max_size)
		d->too_big = 1;
	if (!d->too_big && !d->too_long)
		sb_add(d->out, p, n);
}

/* Counts n bytes into the current line, noting an over-long one. */
static void
count_line(dot_decoder *d, size_t n)
{
	d->line_len += n;
	if (d->line_len > d->max_line)
		d->too_long = 1;
}

/* A line just ended with the LF at in[-1]; crlf says whether a CR was
 * before it. */
static void
new_line(dot_decoder *d, int crlf)
{
	d->state = DEC_LINE_START;
	d->after_crlf = crlf;
	d->last_cr = 0;
	d->line_len = 0;
}

size_t
dot_decode(dot_decoder *d, const char *in, size_t len, int *done)
{
	size_t i = 0;

	*done = 0;
	while (i < len) {
		char c = in[i];

		switch (d->state) {
		case DEC_LINE_START:
			if (c == '.' && d->after_crlf) {
				count_line(d, 1);
				d->state = DEC_DOT;
				i++;
				continue;
			}
			d->state = DEC_MID;
			continue;
		case DEC_DOT:
			if (c == '\r') {
				d->state = DEC_DOT_CR;
				i++;
				continue;
			}
			d->state = DEC_MID; /* a stuffed dot: it is gone */
			continue;
		case DEC_DOT_CR:
			if (c == '\n') {
				*done = 1;
				return i + 1;
			}
			/* ".\r" then something else: data after all. */
			store(d, "\r", 1);
			count_line(d, 1);
			d->last_cr = 1;
			d->state = DEC_MID;
			continue;
		case DEC_MID: {
			/* Copy the run up to and including the next LF. */
			const char *nl = memchr(in + i, '\n', len - i);
			size_t n = nl != NULL ? (size_t)(nl - (in + i)) + 1 :
			    len - i;
			int crlf;

			/* The CR before this LF may have ended the previous
			 * chunk. */
			crlf = nl != NULL && (nl > in + i ? nl[-1] == '\r' :
			    d->last_cr);
			store(d, in + i, n);
			d->last_cr = in[i + n - 1] == '\r';
			count_line(d, n);
			i += n;
			if (nl != NULL)
				new_line(d, crlf);
			continue;
		}
		}
	}
	return i;
}

/* ------------------------------------------------------------ encoder */

void
dot_encoder_init(dot_encoder *e, dot_sink sink, void *ctx)
{
	e->sink = sink;
	e->ctx = ctx;
	e->at_line_start = 1;
	e->last_cr = 0;
}

int
dot_encode(dot_encoder *e, const char *data, size_t len)
{
	size_t i = 0, run = 0;

	/* Passes runs through untouched; stops only at line starts and
	 * bare LFs. */
	while (i < len) {
		char c = data[i];

		if (e->at_line_start && c == '.') {
			if (e->sink(e->ctx, data + run, i - run) != 0 ||
			    e->sink(e->ctx, ".", 1) != 0)
				return -1;
			run = i;
		}
		if (c == '\n' && !e->last_cr) {
			if (e->sink(e->ctx, data + run, i - run) != 0 ||
			    e->sink(e->ctx, "\r", 1) != 0)
				return -1;
			run = i;
		}
		e->at_line_start = c == '\n';
		e->last_cr = c == '\r';
		i++;
	}
	return e->sink(e->ctx, data + run, i - run);
}

int
dot_encode_end(dot_encoder *e)
{
	if (!e->at_line_start) {
		const char *end = e->last_cr ? "\n" : "\r\n";
		if (e->sink(e->ctx, end, strlen(end)) != 0)
			return -1;
	}
	return e->sink(e->ctx, ".\r\n", 3);
}
