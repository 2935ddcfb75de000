/*
 * msg_split.c - a streaming header/body splitter.
 *
 * A header field ends at a line end whose next line does not start with
 * SP or HTAB (RFC 5322 2.2.3), so a field is only complete once the first
 * byte of the following line is seen; until then it is held in m->field.
 * The empty line (CRLF or bare LF) ends the header; everything after it is
 * body and passes through untouched, whatever its chunking.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "msg_split.h"

void
msg_split_init(msg_split *m, const msg_split_ops *ops, void *ctx)
{
	memset(m, 0, sizeof(*m));
	m->ops = ops;
	m->ctx = ctx;
	m->at_line_start = 1;
}

void
msg_split_free(msg_split *m)
{
	free(m->field);
	m->field = NULL;
	m->len = m->cap = 0;
}

static vdkim_rc
hold(msg_split *m, const char *p, size_t n, vdkim_error *err)
{
	if (m->len + n > VDKIM_MAX_HEADER_BYTES)
		return vdkim_fail(err, VDKIM_ELIMIT, "a header field is "
		    "larger than %d bytes", VDKIM_MAX_HEADER_BYTES);
	if (m->len + n > m->cap) {
		size_t ncap = m->cap ? m->cap : 256;
		char *nf;

		while (ncap < m->len + n)
			ncap *= 2;
		nf = realloc(m->field, ncap);
		if (nf == NULL)
			return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
		m->field = nf;
		m->cap = ncap;
	}
	memcpy(m->field + m->len, p, n);
	m->len += n;
	return VDKIM_OK;
}

/* Hands the held field, if any, to the consumer. */
static vdkim_rc
flush_field(msg_split *m, vdkim_error *err)
{
	vdkim_rc rc;

	if (m->len == 0)
		return VDKIM_OK;
	rc = m->ops->header(m->ctx, m->field, m->len, err);
	m->len = 0;
	return rc;
}

/* The empty line was seen: the header is complete. */
static vdkim_rc
end_header(msg_split *m, vdkim_error *err)
{
	vdkim_rc rc = flush_field(m, err);

	m->in_body = 1;
	m->cr_at_start = 0;
	return rc == VDKIM_OK ? m->ops->eoh(m->ctx, err) : rc;
}

vdkim_rc
msg_split_feed(msg_split *m, const void *data, size_t len, vdkim_error *err)
{
	const char *p = data;
	vdkim_rc rc;

	while (len > 0 && !m->in_body) {
		const char *nl;
		size_t n;

		if (m->at_line_start && *p == '\n') {
			/* The empty line: a bare LF, or the LF of a CRLF whose
			 * CR began the line (cr_at_start, which is only ever
			 * set at a line's start). */
			p++;
			len--;
			rc = end_header(m, err);
			if (rc != VDKIM_OK)
				return rc;
			break;
		}
		if (m->cr_at_start) {
			/* The byte after a CR that began a line, and not its
			 * LF: a (malformed) field that starts with CR; the
			 * consumer will refuse it. */
			m->cr_at_start = 0;
			rc = flush_field(m, err);
			if (rc == VDKIM_OK)
				rc = hold(m, "\r", 1, err);
			if (rc != VDKIM_OK)
				return rc;
			m->at_line_start = 0;
		} else if (m->at_line_start && *p != ' ' && *p != '\t') {
			/* This line does not continue the held field. */
			if (*p == '\r') {
				m->cr_at_start = 1;
				p++;
				len--;
				continue;
			}
			rc = flush_field(m, err);
			if (rc != VDKIM_OK)
				return rc;
		}
		nl = memchr(p, '\n', len);
		n = nl != NULL ? (size_t)(nl - p) + 1 : len;
		rc = hold(m, p, n, err);
		if (rc != VDKIM_OK)
			return rc;
		m->at_line_start = nl != NULL;
		p += n;
		len -= n;
	}
	if (len > 0 && m->in_body)
		return m->ops->body(m->ctx, p, len, err);
	return VDKIM_OK;
}

vdkim_rc
msg_split_finish(msg_split *m, vdkim_error *err)
{
	if (m->in_body)
		return VDKIM_OK;
	/* No empty line: a message without a body (or ending in a lone CR
	 * where the empty line would be). */
	return end_header(m, err);
}
