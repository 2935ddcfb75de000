/*
 * identity.c - checking an i= value before it is written.
 *
 * RFC 6376 3.5: i= is [ Local-part ] "@" domain-name, in
 * dkim-quoted-printable.  vdkim writes the value as it is given, never
 * encoded, so only what needs no encoding is accepted: a local-part that
 * is a dot-atom (RFC 5321 Dot-string) or a quoted string of visible
 * characters, with none of ";" (ends the tag), "=" (starts a
 * quoted-printable escape), space, control or 8-bit bytes.  An address a
 * receiver would decode into something else is refused rather than
 * signed wrong.
 */
#include <stdio.h>
#include <string.h>

#include "domain_name.h"
#include "identity.h"

#define LOCAL_PART_MAX 64

/* atext (RFC 5322 3.2.3) but "=", which dkim-quoted-printable reserves. */
static int
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '=' && c != '\0' &&
	    strchr("!#$%&'*+-/?^_`{|}~", c) != NULL);
}

/* A visible character i= may carry unencoded (dkim-safe-char). */
static int
is_safe_char(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != ';' && c != '=';
}

/* 1 when lp[0..n) is a dot-atom: atoms of atext joined by single dots. */
static int
is_dot_atom(const char *lp, size_t n)
{
	if (n == 0 || lp[0] == '.' || lp[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (lp[i] == '.') {
			if (lp[i + 1] == '.')
				return 0;
		} else if (!is_atext((unsigned char)lp[i])) {
			return 0;
		}
	}
	return 1;
}

/* 1 when lp[0..n) is "..." of safe characters, "\" quoting the next. */
static int
is_quoted(const char *lp, size_t n)
{
	if (n < 2 || lp[0] != '"' || lp[n - 1] != '"')
		return 0;
	for (size_t i = 1; i < n - 1; i++) {
		if (!is_safe_char((unsigned char)lp[i]))
			return 0;
		if (lp[i] == '\\') {
			if (i + 1 == n - 1)
				return 0; /* it would quote the closing '"' */
			i++;
			if (!is_safe_char((unsigned char)lp[i]))
				return 0;
		} else if (lp[i] == '"') {
			return 0;
		}
	}
	return 1;
}

int
identity_check(const char *identity, const char *domain, char *why,
    size_t whylen)
{
	const char *at;
	size_t lplen;

	if (strlen(identity) > IDENTITY_MAX) {
		snprintf(why, whylen, "identity i= is longer than %d bytes",
		    IDENTITY_MAX);
		return -1;
	}
	at = strrchr(identity, '@');
	lplen = at ? (size_t)(at - identity) : 0;
	if (at == NULL || (lplen > 0 && (lplen > LOCAL_PART_MAX ||
	    !(is_dot_atom(identity, lplen) || is_quoted(identity, lplen))))) {
		snprintf(why, whylen, "identity i=\"%s\" is not "
		    "[local-part]@domain as i= carries it unencoded (RFC 6376 "
		    "3.5: a dot-atom or quoted local-part of at most %d bytes; "
		    "no spaces, \"=\", \";\", controls or 8-bit bytes)",
		    identity, LOCAL_PART_MAX);
		return -1;
	}
	if (!domain_is_valid(at + 1)) {
		snprintf(why, whylen, "identity i=\"%s\" does not end in a "
		    "domain name (an internationalized one in its xn-- "
		    "form)", identity);
		return -1;
	}
	if (domain != NULL && !domain_within(at + 1, domain)) {
		snprintf(why, whylen, "identity i=\"%s\" is not in the signing "
		    "domain %s or a subdomain of it (RFC 6376 3.5)", identity,
		    domain);
		return -1;
	}
	return 0;
}
