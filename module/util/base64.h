/*
 * base64.h - base64 as DKIM uses it (RFC 6376 2.7): encoding without line
 * breaks, decoding that ignores folding white space.
 */
#ifndef VDKIM_BASE64_H
#define VDKIM_BASE64_H

#include <stddef.h>

/* Encoded length of n bytes, without the terminating NUL. */
size_t base64_encoded_len(size_t n);
/* Encodes n bytes into out (base64_encoded_len(n) + 1 bytes, NUL added). */
void base64_encode(const unsigned char *in, size_t n, char *out);
/*
 * Decodes in[0..n), skipping space, tab, CR and LF.  Writes at most outmax
 * bytes; returns the decoded length, or -1 on a character outside the
 * alphabet, misplaced padding, a truncated group or an overflow.
 */
long base64_decode(const char *in, size_t n, unsigned char *out,
    size_t outmax);

#endif
