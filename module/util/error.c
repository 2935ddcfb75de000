/*
 * error.c - result codes and their sentences.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "error.h"

static void
vformat(vdkim_error *err, vdkim_rc rc, const char *fmt, va_list ap)
{
	err->rc = rc;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

vdkim_rc
vdkim_fail(vdkim_error *err, vdkim_rc rc, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return rc;
	va_start(ap, fmt);
	vformat(err, rc, fmt, ap);
	va_end(ap);
	return rc;
}

vdkim_rc
vdkim_fail_ssl(vdkim_error *err, vdkim_rc rc, const char *fmt, ...)
{
	va_list ap;
	unsigned long e;
	char reason[160];
	size_t used;

	/* The last error in the queue is the most specific one. */
	e = ERR_peek_last_error();
	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	else
		snprintf(reason, sizeof(reason), "no detail from OpenSSL");
	ERR_clear_error();
	if (err == NULL)
		return rc;
	va_start(ap, fmt);
	vformat(err, rc, fmt, ap);
	va_end(ap);
	used = strlen(err->msg);
	if (used < sizeof(err->msg))
		snprintf(err->msg + used, sizeof(err->msg) - used, " (%s)",
		    reason);
	return rc;
}

void
vdkim_error_clear(vdkim_error *err)
{
	if (err == NULL)
		return;
	err->rc = VDKIM_OK;
	err->msg[0] = '\0';
}
