/*
 * mail_address.c - pulling the addr-spec out of an address field.
 *
 * Not a full RFC 5322 parser: it finds the first mailbox and its
 * addr-spec, skipping quoted strings and comments, which is what picking a
 * DKIM identity needs.  Anything odd yields -1, never a guess.
 */
#include <string.h>

#include "domain_idn.h"
#include "domain_name.h"
#include "mail_address.h"

const char *
mail_address_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : NULL;
}

/* Skips a comment starting at v[i] == '('; returns the index after it. */
static size_t
skip_comment(const char *v, size_t len, size_t i)
{
	int depth = 0;

	for (; i < len; i++) {
		if (v[i] == '\\' && i + 1 < len)
			i++;
		else if (v[i] == '(')
			depth++;
		else if (v[i] == ')' && --depth == 0)
			return i + 1;
	}
	return len;
}

static size_t
skip_quoted(const char *v, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (v[i] == '\\' && i + 1 < len)
			i++;
		else if (v[i] == '"')
			return i + 1;
	}
	return len;
}

/* Copies v[from..to) without comments and white space into out. */
static int
copy_spec(const char *v, size_t from, size_t to, char *out, size_t outlen)
{
	size_t n = 0, i = from;

	while (i < to) {
		char c = v[i];
		if (c == '(') {
			i = skip_comment(v, to, i);
			continue;
		}
		if (c == '"') {
			size_t end = skip_quoted(v, to, i);
			if (end - i >= outlen - n)
				return -1;
			memcpy(out + n, v + i, end - i);
			n += end - i;
			i = end;
			continue;
		}
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			if (n + 1 >= outlen)
				return -1;
			out[n++] = c;
		}
		i++;
	}
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

int
mail_address_first(const char *v, size_t len, char *out, size_t outlen)
{
	size_t i = 0, start = 0, end = len;
	char *dom;

	/* Find "<" of the first mailbox, or the end of the first one. */
	while (i < len) {
		char c = v[i];
		if (c == '(') {
			i = skip_comment(v, len, i);
		} else if (c == '"') {
			i = skip_quoted(v, len, i);
		} else if (c == '<') {
			const char *gt = memchr(v + i, '>', len - i);
			if (gt == NULL)
				return -1;
			start = i + 1;
			end = (size_t)(gt - v);
			break;
		} else if (c == ',' || c == ';') {
			end = i;
			break;
		} else if (c == ':') {
			start = i + 1; /* a group: "team: a@x, b@y;" */
			i++;
		} else {
			i++;
		}
	}
	if (copy_spec(v, start, end, out, outlen) != 0)
		return -1;
	dom = strrchr(out, '@');
	if (dom == NULL || dom == out)
		return -1;
	if (domain_has_8bit(dom + 1)) {
		/* A domain in UTF-8 (RFC 6532): keys and d= use A-labels. */
		char ace[254];
		size_t at = (size_t)(dom + 1 - out);

		if (domain_to_alabels(dom + 1, ace, sizeof(ace)) != 0 ||
		    at + strlen(ace) >= outlen)
			return -1;
		strcpy(dom + 1, ace);
	}
	if (!domain_is_valid(dom + 1))
		return -1;
	for (char *d = dom + 1; *d != '\0'; d++)
		if (*d >= 'A' && *d <= 'Z')
			*d = (char)(*d + 32);
	return 0;
}
