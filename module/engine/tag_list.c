/*
 * tag_list.c - strict tag-list parser (RFC 6376 3.2).
 *
 *   tag-list  = tag-spec *( ";" tag-spec ) [ ";" ]
 *   tag-spec  = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
 *   tag-name  = ALPHA *ALNUMPUNC
 *   tag-value = [ tval *( 1*(WSP / FWS) tval ) ]
 *   tval      = 1*VALCHAR          VALCHAR = %x21-3A / %x3C-7E
 *
 * The text is copied once; names and values are NUL-terminated in place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tag_list.h"

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_alnumpunc(unsigned char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

static int
is_valchar(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != ';';
}

static int
fail(tag_list *tl, char *why, size_t whylen, const char *fmt, const char *a,
    unsigned b)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, fmt, a, b);
	tag_list_free(tl);
	return -1;
}

int
tag_list_parse(tag_list *tl, const char *text, size_t len, char *why,
    size_t whylen)
{
	size_t i = 0;
	char *s;

	tl->n = 0;
	tl->buf = malloc(len + 1);
	if (tl->buf == NULL)
		return fail(tl, why, whylen, "out of memory%s%u", "", 0);
	memcpy(tl->buf, text, len);
	tl->buf[len] = '\0';
	s = tl->buf;

	while (i < len) {
		size_t name_start, name_end, val_start, val_end;

		while (i < len && tag_is_fws((unsigned char)s[i]))
			i++;
		if (i == len)
			break; /* trailing FWS after a final ";" */
		name_start = i;
		if (!is_alpha((unsigned char)s[i]))
			return fail(tl, why, whylen,
			    "%sa tag name must start with a letter, not "
			    "byte 0x%02x", "", (unsigned char)s[i]);
		while (i < len && is_alnumpunc((unsigned char)s[i]))
			i++;
		name_end = i;
		while (i < len && tag_is_fws((unsigned char)s[i]))
			i++;
		if (i == len || s[i] != '=') {
			s[name_end] = '\0';
			return fail(tl, why, whylen,
			    "tag \"%s\" has no \"=\"%.0u", s + name_start, 0);
		}
		s[name_end] = '\0';
		i++;
		while (i < len && tag_is_fws((unsigned char)s[i]))
			i++;
		val_start = i;
		val_end = i;
		while (i < len && s[i] != ';') {
			unsigned char c = (unsigned char)s[i];
			if (is_valchar(c))
				val_end = i + 1;
			else if (!tag_is_fws(c))
				return fail(tl, why, whylen,
				    "the value of tag \"%s\" holds byte 0x%02x",
				    s + name_start, c);
			i++;
		}
		if (i < len)
			i++; /* the ";" */
		s[val_end] = '\0';
		for (size_t k = 0; k < tl->n; k++)
			if (strcmp(tl->tags[k].name, s + name_start) == 0)
				return fail(tl, why, whylen,
				    "tag \"%s\" appears twice%.0u",
				    s + name_start, 0);
		if (tl->n == TAG_LIST_MAX)
			return fail(tl, why, whylen,
			    "more than %s%u tags", "", TAG_LIST_MAX);
		tl->tags[tl->n].name = s + name_start;
		tl->tags[tl->n].value = s + val_start;
		tl->n++;
	}
	return 0;
}

const char *
tag_list_get(const tag_list *tl, const char *name)
{
	for (size_t k = 0; k < tl->n; k++)
		if (strcmp(tl->tags[k].name, name) == 0)
			return tl->tags[k].value;
	return NULL;
}

void
tag_list_free(tag_list *tl)
{
	free(tl->buf);
	tl->buf = NULL;
	tl->n = 0;
}
