/*
 * message_edit.c - header fields of a raw message.
 */
#include <string.h>
#include <strings.h>

#include "message_edit.h"

/* The offset just past the line that starts at pos (its LF included). */
static size_t
line_end(const char *data, size_t len, size_t pos)
{
	const char *nl = memchr(data + pos, '\n', len - pos);

	return nl != NULL ? (size_t)(nl - data) + 1 : len;
}

static int
is_empty_line(const char *data, size_t len, size_t pos)
{
	return data[pos] == '\n' ||
	    (data[pos] == '\r' && pos + 1 < len && data[pos + 1] == '\n');
}

size_t
msg_header_length(const char *data, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		if (is_empty_line(data, len, pos))
			return line_end(data, len, pos);
		pos = line_end(data, len, pos);
	}
	return len;
}

int
msg_next_field(const char *data, size_t hdr_len, size_t *pos, msg_field *f)
{
	size_t p = *pos;

	if (p >= hdr_len || is_empty_line(data, hdr_len, p))
		return 0;
	f->start = p;
	p = line_end(data, hdr_len, p);
	/* Continuation lines start with white space. */
	while (p < hdr_len && (data[p] == ' ' || data[p] == '\t'))
		p = line_end(data, hdr_len, p);
	f->len = p - f->start;
	*pos = p;
	return 1;
}

int
msg_field_is(const char *data, const msg_field *f, const char *name)
{
	size_t nl = strlen(name);
	const char *s = data + f->start;
	size_t i = nl;

	if (f->len <= nl || strncasecmp(s, name, nl) != 0)
		return 0;
	/* RFC 5322 has no space before the colon; RFC 822 allowed it. */
	while (i < f->len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i < f->len && s[i] == ':';
}

int
msg_field_value(const char *data, size_t len, const char *name, char *out,
    size_t outlen)
{
	size_t hdr = msg_header_length(data, len), pos = 0, o = 0;
	msg_field f;

	while (msg_next_field(data, hdr, &pos, &f)) {
		const char *s, *end;
		if (!msg_field_is(data, &f, name))
			continue;
		s = (const char *)memchr(data + f.start, ':', f.len) + 1;
		end = data + f.start + f.len;
		/* Unfold: line ends go, the white space after them stays. */
		for (; s < end && o + 1 < outlen; s++)
			if (*s != '\r' && *s != '\n')
				out[o++] = *s;
		while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\t'))
			o--;
		out[o] = '\0';
		s = out + strspn(out, " \t");
		memmove(out, s, strlen(s) + 1);
		return 1;
	}
	if (outlen > 0)
		out[0] = '\0';
	return 0;
}

static int
named_one_of(const char *data, const msg_field *f, const char *const *names)
{
	for (; *names != NULL; names++)
		if (msg_field_is(data, f, *names))
			return 1;
	return 0;
}

int
msg_add_without(seglist *sl, const char *data, size_t len,
    const char *const *drop)
{
	size_t hdr = msg_header_length(data, len), pos = 0, keep = 0;
	msg_field f;

	while (msg_next_field(data, hdr, &pos, &f)) {
		if (!named_one_of(data, &f, drop))
			continue;
		seglist_add(sl, data + keep, f.start - keep);
		keep = f.start + f.len;
	}
	seglist_add(sl, data + keep, len - keep);
	return sl->failed ? -1 : 0;
}
