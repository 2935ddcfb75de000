/*
 * error.c - result codes and their sentences.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "error.h"
#include "secret.h"

/* The sentence, with any PIN it would quote masked (secret.h). */
static void
vformat(vdkim_error *err, vdkim_rc rc, const char *fmt, va_list ap)
{
	char raw[sizeof(err->msg)];

	err->rc = rc;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	vdkim_mask_pin(raw, err->msg, sizeof(err->msg));
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

/* One queued error: its code and its text data, copied off the queue. */
typedef struct queued {
	unsigned long code;
	char data[256];
} queued;

/* OpenSSL's queue holds at most this many errors (ERR_NUM_ERRORS). */
#define QUEUE_MAX 16

size_t
vdkim_ssl_errors(char *buf, size_t len, vdkim_ssl_skip skip, void *arg)
{
	queued q[QUEUE_MAX];
	size_t n = 0, shown = 0, used = 0;
	const char *data;
	unsigned long e;
	int flags;

	if (len > 0)
		buf[0] = '\0';
	/* Taken oldest first (the only order OpenSSL gives), kept in a
	 * ring of the newest QUEUE_MAX. */
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		queued *slot = &q[n++ % QUEUE_MAX];

		slot->code = e;
		snprintf(slot->data, sizeof(slot->data), "%s",
		    (flags & ERR_TXT_STRING) && data != NULL ? data : "");
	}
	/* Newest first: the failure the caller saw, then what led to it. */
	for (size_t k = 0; k < n && k < QUEUE_MAX; k++) {
		const queued *o = &q[(n - 1 - k) % QUEUE_MAX];
		const char *lib = ERR_lib_error_string(o->code);
		const char *why = ERR_reason_error_string(o->code);
		char libno[24], whyno[24];

		if (skip != NULL && skip(o->code, o->data, arg))
			continue;
		if (lib == NULL)
			snprintf(libno, sizeof(libno), "library %d",
			    ERR_GET_LIB(o->code));
		if (why == NULL)
			snprintf(whyno, sizeof(whyno), "reason %d",
			    ERR_GET_REASON(o->code));
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used,
			    "%s%s: %s%s%s", shown ? "; " : "", lib ? lib : libno,
			    why ? why : whyno, o->data[0] ? ": " : "", o->data);
		shown++;
	}
	return shown;
}

vdkim_rc
vdkim_fail_ssl(vdkim_error *err, vdkim_rc rc, const char *fmt, ...)
{
	va_list ap;
	char reason[sizeof(err->msg)];
	size_t used;

	if (vdkim_ssl_errors(reason, sizeof(reason), NULL, NULL) == 0)
		snprintf(reason, sizeof(reason), "no detail from OpenSSL");
	if (err == NULL)
		return rc;
	va_start(ap, fmt);
	vformat(err, rc, fmt, ap);
	va_end(ap);
	used = strlen(err->msg);
	if (used + 1 < sizeof(err->msg)) {
		char masked[sizeof(err->msg)];

		snprintf(err->msg + used, sizeof(err->msg) - used, " (%s)",
		    vdkim_mask_pin(reason, masked, sizeof(masked)));
	}
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
