/*
 * envelope.c - the envelope and its spool text form.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

#define ENVELOPE_MAGIC "vdkim-harness-envelope 1"

/* The envelope's own strings (all but the recipients), by their key in
 * the text form: what clearing, copying and parsing do to each. */
static const struct {
	const char *key;
	size_t offset;
} text_fields[] = {
	{ "mail-from", offsetof(envelope, mail_from) },
	{ "source", offsetof(envelope, source) },
	{ "vmta", offsetof(envelope, vmta) },
	{ "signatures", offsetof(envelope, signatures) },
	{ "reason-code", offsetof(envelope, reason_code) },
	{ "reason", offsetof(envelope, reason) },
};
#define NTEXT_FIELDS (sizeof(text_fields) / sizeof(text_fields[0]))

/* Where e keeps text_fields[i]. */
static char **
text_field(envelope *e, size_t i)
{
	return (char **)((char *)e + text_fields[i].offset);
}

static const char *
text_value(const envelope *e, size_t i)
{
	return *(char *const *)((const char *)e + text_fields[i].offset);
}

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
	for (size_t i = 0; i < NTEXT_FIELDS; i++)
		free(*text_field(e, i));
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

int
envelope_copy_header(envelope *dst, const envelope *src)
{
	envelope_init(dst);
	for (size_t i = 0; i < NTEXT_FIELDS; i++) {
		const char *v = text_value(src, i);

		if (v != NULL && (*text_field(dst, i) = strdup(v)) == NULL) {
			envelope_clear(dst);
			return -1;
		}
	}
	dst->eight_bit = src->eight_bit;
	dst->queued = src->queued;
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

/* Where e keeps the text field named key; NULL for any other key. */
static char **
text_field_named(envelope *e, const char *key)
{
	for (size_t i = 0; i < NTEXT_FIELDS; i++)
		if (strcmp(key, text_fields[i].key) == 0)
			return text_field(e, i);
	return NULL;
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
		char key[16], *value, **slot;
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
		} else if (strcmp(key, "rcpt") == 0) {
			int rc = envelope_add_rcpt(e, value);
			free(value);
			if (rc != 0)
				goto bad;
		} else if ((slot = text_field_named(e, key)) != NULL) {
			/* A repeated key keeps the last value. */
			free(*slot);
			*slot = value;
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
