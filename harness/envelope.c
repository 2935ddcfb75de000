/*
 * envelope.c - the envelope and its spool text form.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

#define ENVELOPE_MAGIC "vdkim-harness-envelope 1"

void
envelope_init(envelope *e)
{
	memset(e, 0, sizeof(*e));
}

void
envelope_clear(envelope *e)
{
	for (size_t i = 0; i < e->nrcpts; i++)
		free(e->rcpts[i]);
	free(e->rcpts);
	free(e->mail_from);
	free(e->source);
	free(e->vmta);
	free(e->signatures);
	free(e->reason_code);
	free(e->reason);
	envelope_init(e);
}

int
envelope_add_rcpt(envelope *e, const char *addr)
{
	char *copy;

	if (e->nrcpts == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 4;
		char **r = realloc(e->rcpts, cap * sizeof(*r));
		if (r == NULL)
			return -1;
		e->rcpts = r;
		e->cap = cap;
	}
	copy = strdup(addr);
	if (copy == NULL)
		return -1;
	e->rcpts[e->nrcpts++] = copy;
	return 0;
}

/* strdup that keeps NULL; *failed is set when a copy fails. */
static char *
copy_str(const char *s, int *failed)
{
	char *c;

	if (s == NULL)
		return NULL;
	c = strdup(s);
	if (c == NULL)
		*failed = 1;
	return c;
}

int
envelope_copy_header(envelope *dst, const envelope *src)
{
	int failed = 0;

	envelope_init(dst);
	dst->mail_from = copy_str(src->mail_from, &failed);
	dst->source = copy_str(src->source, &failed);
	dst->vmta = copy_str(src->vmta, &failed);
	dst->signatures = copy_str(src->signatures, &failed);
	dst->reason_code = copy_str(src->reason_code, &failed);
	dst->reason = copy_str(src->reason, &failed);
	dst->eight_bit = src->eight_bit;
	dst->queued = src->queued;
	if (failed) {
		envelope_clear(dst);
		return -1;
	}
	return 0;
}

void
envelope_move(envelope *dst, envelope *src)
{
	envelope_clear(dst);
	*dst = *src;
	envelope_init(src);
}

const char *
address_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

/* ------------------------------------------------------- text form */

static void
add_escaped(strbuf *out, const char *key, const char *value)
{
	sb_adds(out, key);
	sb_add(out, " ", 1);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '%')
			sb_addf(out, "%%%02X", *p);
		else
			sb_add(out, p, 1);
	}
	sb_add(out, "\n", 1);
}

int
envelope_format(const envelope *e, strbuf *out)
{
	sb_addf(out, "%s\nqueued %lld\n8bit %d\n", ENVELOPE_MAGIC,
	    (long long)e->queued, e->eight_bit ? 1 : 0);
	add_escaped(out, "mail-from", e->mail_from ? e->mail_from : "");
	if (e->source != NULL)
		add_escaped(out, "source", e->source);
	if (e->vmta != NULL)
		add_escaped(out, "vmta", e->vmta);
	if (e->reason_code != NULL) {
		add_escaped(out, "signatures", e->signatures ? e->signatures : "");
		add_escaped(out, "reason-code", e->reason_code);
		add_escaped(out, "reason", e->reason ? e->reason : "");
	}
	for (size_t i = 0; i < e->nrcpts; i++)
		add_escaped(out, "rcpt", e->rcpts[i]);
	return out->failed ? -1 : 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Unescapes [p, end) into a new string; NULL on a bad escape or no memory. */
static char *
unescape(const char *p, const char *end)
{
	char *s = malloc((size_t)(end - p) + 1), *o = s;

	if (s == NULL)
		return NULL;
	while (p < end) {
		if (*p == '%') {
			int hi = p + 2 < end ? hexval(p[1]) : -1;
			int lo = hi >= 0 ? hexval(p[2]) : -1;
			if (lo < 0) {
				free(s);
				return NULL;
			}
			*o++ = (char)(hi * 16 + lo);
			p += 3;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return s;
}

/* Takes value into *slot (a repeated key keeps the last). */
static void
set_field(char **slot, char *value)
{
	free(*slot);
	*slot = value;
}

int
envelope_parse(const char *text, size_t len, envelope *e, char *err,
    size_t errlen)
{
	const char *p = text, *end = text + len;
	size_t lineno = 0;
	int seen_magic = 0;

	envelope_init(e);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		const char *sp = memchr(p, ' ', (size_t)(eol - p));
		char key[16], *value;
		size_t kl;

		lineno++;
		if (!seen_magic) {
			if ((size_t)(eol - p) != strlen(ENVELOPE_MAGIC) ||
			    memcmp(p, ENVELOPE_MAGIC, (size_t)(eol - p)) != 0)
				goto bad;
			seen_magic = 1;
			p = eol + (nl != NULL);
			continue;
		}
		kl = sp != NULL ? (size_t)(sp - p) : 0;
		if (sp == NULL || kl >= sizeof(key))
			goto bad;
		memcpy(key, p, kl);
		key[kl] = '\0';
		value = unescape(sp + 1, eol);
		if (value == NULL)
			goto bad;
		if (strcmp(key, "queued") == 0) {
			e->queued = (time_t)strtoll(value, NULL, 10);
			free(value);
		} else if (strcmp(key, "8bit") == 0) {
			e->eight_bit = strcmp(value, "1") == 0;
			free(value);
		} else if (strcmp(key, "mail-from") == 0) {
			set_field(&e->mail_from, value);
		} else if (strcmp(key, "source") == 0) {
			set_field(&e->source, value);
		} else if (strcmp(key, "vmta") == 0) {
			set_field(&e->vmta, value);
		} else if (strcmp(key, "signatures") == 0) {
			set_field(&e->signatures, value);
		} else if (strcmp(key, "reason-code") == 0) {
			set_field(&e->reason_code, value);
		} else if (strcmp(key, "reason") == 0) {
			set_field(&e->reason, value);
		} else if (strcmp(key, "rcpt") == 0) {
			int rc = envelope_add_rcpt(e, value);
			free(value);
			if (rc != 0)
				goto bad;
		} else {
			free(value);
			goto bad;
		}
		p = eol + (nl != NULL);
	}
	if (seen_magic && e->mail_from != NULL)
		return 0;
	snprintf(err, errlen, "incomplete envelope (%zu lines)", lineno);
	envelope_clear(e);
	return -1;
bad:
	snprintf(err, errlen, "line %zu is not an envelope line", lineno);
	envelope_clear(e);
	return -1;
}
