/*
 * error.h - filling a vdkim_error with a result code and one sentence.
 */
#ifndef VDKIM_ERROR_H
#define VDKIM_ERROR_H

#include "vdkim/dkim.h"

/* Sets err (when not NULL) to rc and the formatted sentence; returns rc so
 * callers can write "return vdkim_fail(err, VDKIM_EINVAL, ...)". */
vdkim_rc vdkim_fail(vdkim_error *err, vdkim_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends OpenSSL's most recent error reason (and clears its queue) to a
 * sentence prefix, e.g. vdkim_fail_ssl(err, VDKIM_EKEY, "cannot parse %s",
 * path). */
vdkim_rc vdkim_fail_ssl(vdkim_error *err, vdkim_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err to VDKIM_OK and an empty message. */
void vdkim_error_clear(vdkim_error *err);

#endif
