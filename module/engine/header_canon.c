/*
 * header_canon.c - simple and relaxed header canonicalization.
 *
 * Output goes through a small buffer into the digest: header fields are
 * short, and one EVP_DigestUpdate per field is cheaper than one per byte.
 */
#include <string.h>

#include "header_canon.h"

typedef struct hash_writer {
	EVP_MD_CTX *md;
	int failed;
	size_t n;
	unsigned char buf[512];
} hash_writer;

static void
hw_flush(hash_writer *w)
{
	if (w->n > 0 && EVP_DigestUpdate(w->md, w->buf, w->n) != 1)
		w->failed = 1;
	w->n = 0;
}

static inline void
hw_byte(hash_writer *w, unsigned char c)
{
	if (w->n == sizeof(w->buf))
		hw_flush(w);
	w->buf[w->n++] = c;
}

static inline int
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* Length of the field without its final line end. */
static size_t
strip_final_eol(const char *f, size_t len)
{
	if (len > 0 && f[len - 1] == '\n')
		len--;
	if (len > 0 && f[len - 1] == '\r')
		len--;
	return len;
}

/* simple: the field unchanged, but every line end written as CRLF. */
static void
canon_simple(hash_writer *w, const unsigned char *f, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (f[i] == '\n' && (i == 0 || f[i - 1] != '\r'))
			hw_byte(w, '\r');
		hw_byte(w, f[i]);
	}
}

/*
 * relaxed: name lower-cased without WSP before the colon; value unfolded,
 * WSP runs turned into one SP, WSP at both ends of the value removed.
 */
static void
canon_relaxed(hash_writer *w, const unsigned char *f, size_t len)
{
	size_t i = 0, name_end;
	int pending_sp = 0, started = 0;

	while (i < len && f[i] != ':')
		i++;
	name_end = i;
	while (name_end > 0 && is_wsp(f[name_end - 1]))
		name_end--;
	for (size_t k = 0; k < name_end; k++) {
		unsigned char c = f[k];
		hw_byte(w, (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c);
	}
	if (i >= len)
		return; /* no colon: the caller never passes such a field */
	hw_byte(w, ':');
	for (i++; i < len; i++) {
		unsigned char c = f[i];

		if (c == '\r' || c == '\n')
			continue; /* unfold */
		if (is_wsp(c)) {
			pending_sp = started;
			continue;
		}
		if (pending_sp)
			hw_byte(w, ' ');
		pending_sp = 0;
		started = 1;
		hw_byte(w, c);
	}
}

int
header_canon_hash(EVP_MD_CTX *md, vdkim_canon canon, const char *field,
    size_t len, int with_crlf)
{
	hash_writer w;

	w.md = md;
	w.failed = 0;
	w.n = 0;
	len = strip_final_eol(field, len);
	if (canon == VDKIM_CANON_RELAXED)
		canon_relaxed(&w, (const unsigned char *)field, len);
	else
		canon_simple(&w, (const unsigned char *)field, len);
	if (with_crlf) {
		hw_byte(&w, '\r');
		hw_byte(&w, '\n');
	}
	hw_flush(&w);
	return w.failed ? -1 : 0;
}
