/*
 * header_fields.c - storage and lookup of a message's header fields.
 *
 * All fields live in one growing arena; the index records where each one
 * starts.  Both grow geometrically and are bounded by the limits in dkim.h,
 * so a hostile message cannot make the module allocate without end.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "header_fields.h"

void
header_fields_init(header_fields *h)
{
	memset(h, 0, sizeof(*h));
}

void
header_fields_free(header_fields *h)
{
	free(h->arena);
	free(h->f);
	memset(h, 0, sizeof(*h));
}

static int
grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 16;
	void *np;

	while (ncap < need)
		ncap *= 2;
	if (ncap == *cap)
		return 0;
	np = realloc(*p, ncap * elem);
	if (np == NULL)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

vdkim_rc
header_fields_add(header_fields *h, const char *field, size_t len,
    vdkim_error *err)
{
	const char *colon, *nl;
	size_t name_len;

	/* The line-end style of the message is that of its first line. */
	nl = memchr(field, '\n', len);
	if (!h->eol_seen && nl != NULL) {
		h->eol_seen = 1;
		h->eol_crlf = nl > field && nl[-1] == '\r';
	}
	if (len > 0 && field[len - 1] == '\n')
		len--;
	if (len > 0 && field[len - 1] == '\r')
		len--;
	colon = memchr(field, ':', len);
	if (colon == NULL)
		return vdkim_fail(err, VDKIM_ESYNTAX, "header field %zu has no "
		    "colon", h->n + 1);
	name_len = (size_t)(colon - field);
	while (name_len > 0 && (field[name_len - 1] == ' ' ||
	    field[name_len - 1] == '\t'))
		name_len--;
	if (name_len == 0)
		return vdkim_fail(err, VDKIM_ESYNTAX, "header field %zu has an "
		    "empty name", h->n + 1);
	for (size_t i = 0; i < name_len; i++) {
		unsigned char c = (unsigned char)field[i];
		/* RFC 5322 ftext: printable US-ASCII except colon. */
		if (c < 33 || c > 126)
			return vdkim_fail(err, VDKIM_ESYNTAX, "header field "
			    "%zu has byte 0x%02x in its name", h->n + 1, c);
	}
	if (h->n >= VDKIM_MAX_HEADER_FIELDS)
		return vdkim_fail(err, VDKIM_ELIMIT, "the message has more "
		    "than %d header fields", VDKIM_MAX_HEADER_FIELDS);
	if (h->used + len + 1 > VDKIM_MAX_HEADER_BYTES)
		return vdkim_fail(err, VDKIM_ELIMIT, "the message header is "
		    "larger than %d bytes", VDKIM_MAX_HEADER_BYTES);
	if (grow((void **)&h->arena, &h->cap, h->used + len + 1, 1) != 0 ||
	    grow((void **)&h->f, &h->fcap, h->n + 1, sizeof(*h->f)) != 0)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	memcpy(h->arena + h->used, field, len);
	h->arena[h->used + len] = '\0';
	h->f[h->n].off = h->used;
	h->f[h->n].len = len;
	h->f[h->n].name_len = name_len;
	h->used += len + 1;
	h->n++;
	return VDKIM_OK;
}

int
header_name_is_valid(const char *n)
{
	if (*n == '\0' || strlen(n) > FIELD_NAME_MAX)
		return 0;
	for (; *n != '\0'; n++)
		if ((unsigned char)*n < 33 || (unsigned char)*n > 126 ||
		    *n == ':' || *n == ';')
			return 0;
	return 1;
}

int
header_fields_is(const header_fields *h, size_t i, const char *name,
    size_t name_len)
{
	return h->f[i].name_len == name_len &&
	    strncasecmp(h->arena + h->f[i].off, name, name_len) == 0;
}

size_t
header_fields_count(const header_fields *h, const char *name,
    size_t name_len)
{
	size_t count = 0;

	for (size_t i = 0; i < h->n; i++)
		count += (size_t)header_fields_is(h, i, name, name_len);
	return count;
}

size_t
header_fields_drop(header_fields *h, const char *name, size_t name_len)
{
	size_t kept = 0, dropped;

	for (size_t i = 0; i < h->n; i++)
		if (!header_fields_is(h, i, name, name_len))
			h->f[kept++] = h->f[i];
	dropped = h->n - kept;
	h->n = kept;
	return dropped;
}

size_t
header_fields_pick(const header_fields *h, const char *name,
    size_t name_len, unsigned char *used)
{
	for (size_t i = h->n; i-- > 0;) {
		if (!used[i] && header_fields_is(h, i, name, name_len)) {
			used[i] = 1;
			return i;
		}
	}
	return (size_t)-1;
}
