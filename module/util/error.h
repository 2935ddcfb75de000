/*
 * error.h - filling a vdkim_error with a result code and one sentence.
 */
#ifndef VDKIM_ERROR_H
#define VDKIM_ERROR_H

#include <stddef.h>

#include "vdkim/dkim.h"

/* Sets err (when not NULL) to rc and the formatted sentence; returns rc so
 * callers can write "return vdkim_fail(err, VDKIM_EINVAL, ...)". */
vdkim_rc vdkim_fail(vdkim_error *err, vdkim_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends OpenSSL's errors, newest first (vdkim_ssl_errors), to a sentence
 * prefix and clears the queue, e.g. vdkim_fail_ssl(err, VDKIM_EKEY,
 * "cannot parse %s", path). */
vdkim_rc vdkim_fail_ssl(vdkim_error *err, vdkim_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The errors in this thread's OpenSSL queue as text in buf (bounded by
 * len, always NUL-terminated): newest first, since the newest is the
 * failure the caller saw and each older one what led to it, as
 * "LIBRARY: REASON[: DATA]" joined by "; ".  An error skip() answers 1
 * for (when skip is not NULL) is left out: it belongs to something that
 * failed inside the call without failing it.  skip sees the errors newest
 * first.  Empties the queue; returns the number of errors shown.
 */
typedef int (*vdkim_ssl_skip)(unsigned long code, const char *data,
    void *arg);
size_t vdkim_ssl_errors(char *buf, size_t len, vdkim_ssl_skip skip,
    void *arg);

/* Clears err to VDKIM_OK and an empty message. */
void vdkim_error_clear(vdkim_error *err);

#endif
