/*
 * exim_skip.c - the {skip=NAME:NAME} list of the Exim shim (exim_skip.h).
 *
 * The list stays the text Exim handed over; each use walks it.  A message
 * has a few dozen fields and the list a few names, so this costs less
 * than keeping a parsed copy alive in Exim's memory.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "exim_skip.h"

#define OPTIONS_FIELD "X-DKIM-Options"

/* One item of the list: [start, start + len), blanks trimmed. */
typedef struct skip_item {
	const char *start;
	size_t len;
} skip_item;

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * The next item at *pos (moved past it and its colon); 0 at the end of
 * the list.  An item may be empty ("A::B", a trailing colon).
 */
static int
next_item(const char **pos, skip_item *it)
{
	const char *s = *pos, *end;

	if (s == NULL)
		return 0;
	end = strchr(s, ':');
	if (end == NULL)
		end = s + strlen(s);
	while (s < end && is_blank(*s))
		s++;
	it->start = s;
	while (end > s && is_blank(end[-1]))
		end--;
	it->len = (size_t)(end - s);
	end = strchr(s, ':');
	*pos = end != NULL ? end + 1 : NULL;
	return 1;
}

/* 1 when every byte of the name is a field-name byte (RFC 5322 ftext:
 * printable US-ASCII but ':'), with at most a final '*'. */
static int
valid_name(const skip_item *it, char *bad)
{
	for (size_t i = 0; i < it->len; i++) {
		unsigned char c = (unsigned char)it->start[i];

		if (c == '*' && i + 1 == it->len && i > 0)
			continue;
		if (c < 33 || c > 126 || c == '*') {
			*bad = (char)c;
			return 0;
		}
	}
	return 1;
}

int
exim_skip_check(const char *list, char *err, size_t errlen)
{
	const char *pos = list;
	skip_item it;
	char bad = 0;

	/* Only blanks: nothing to skip (an empty macro). */
	if (list == NULL || list[strspn(list, " \t")] == '\0')
		return 0;
	while (next_item(&pos, &it)) {
		if (it.len == 0) {
			snprintf(err, errlen, "vdkim: skip=\"%s\" has an "
			    "empty field name (skip= takes header field names "
			    "separated by colons, e.g. skip=Reply-To:X-Foo)",
			    list);
			return -1;
		}
		if (!valid_name(&it, &bad)) {
			snprintf(err, errlen, "vdkim: skip=\"%s\": \"%.*s\" is "
			    "not a header field name (%s; a name is printable "
			    "ASCII without blanks or colons, with at most a "
			    "final \"*\" for a prefix)", list, (int)it.len,
			    it.start, bad == '*' ? "\"*\" only at the end of "
			    "a name, after at least one character" :
			    "it has a blank or a control or non-ASCII byte");
			return -1;
		}
	}
	return 0;
}

int
exim_skip_match(const char *list, const char *field, size_t len)
{
	const char *pos = list, *colon;
	size_t nlen;
	skip_item it;

	colon = memchr(field, ':', len);
	if (list == NULL || colon == NULL)
		return 0;
	nlen = (size_t)(colon - field);
	while (nlen > 0 && is_blank(field[nlen - 1]))
		nlen--;
	/* vdkim reads its per-message instructions from X-DKIM-Options and
	 * never signs it: the module must see it, whatever the list says
	 * (the predelivery example removes it with the other fields). */
	if (nlen == sizeof(OPTIONS_FIELD) - 1 &&
	    strncasecmp(field, OPTIONS_FIELD, nlen) == 0)
		return 0;
	while (next_item(&pos, &it)) {
		int prefix = it.len > 0 && it.start[it.len - 1] == '*';
		size_t cmp = prefix ? it.len - 1 : it.len;

		if (it.len == 0 || (prefix ? nlen < cmp : nlen != cmp))
			continue;
		if (strncasecmp(field, it.start, cmp) == 0)
			return 1;
	}
	return 0;
}
