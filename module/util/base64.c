/*
 * base64.c - base64 encode and FWS-tolerant decode.
 */
#include "base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
base64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

void
base64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i;
	unsigned v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		*out++ = alphabet[v >> 18 & 63];
		*out++ = alphabet[v >> 12 & 63];
		*out++ = alphabet[v >> 6 & 63];
		*out++ = alphabet[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned)in[i] << 16;
		*out++ = alphabet[v >> 18 & 63];
		*out++ = alphabet[v >> 12 & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (n - i == 2) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		*out++ = alphabet[v >> 18 & 63];
		*out++ = alphabet[v >> 12 & 63];
		*out++ = alphabet[v >> 6 & 63];
		*out++ = '=';
	}
	*out = '\0';
}

static int
digit_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long
base64_decode(const char *in, size_t n, unsigned char *out, size_t outmax)
{
	unsigned acc = 0;
	int have = 0;     /* digits in the current group */
	int pad = 0;      /* '=' seen */
	size_t used = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		int d;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			/* Padding only completes a group of 2 or 3 digits. */
			if (have < 2 && pad == 0)
				return -1;
			pad++;
			if (pad > 2 || have + pad > 4)
				return -1;
			continue;
		}
		if (pad > 0)
			return -1; /* a digit after padding */
		d = digit_value(c);
		if (d < 0)
			return -1;
		acc = acc << 6 | (unsigned)d;
		if (++have == 4) {
			if (used + 3 > outmax)
				return -1;
			out[used++] = (unsigned char)(acc >> 16);
			out[used++] = (unsigned char)(acc >> 8);
			out[used++] = (unsigned char)acc;
			acc = 0;
			have = 0;
		}
	}
	if (have == 1)
		return -1;
	if (have > 0 && pad > 0 && have + pad != 4)
		return -1;
	if (have == 2) {
		if (used + 1 > outmax)
			return -1;
		out[used++] = (unsigned char)(acc >> 4);
	} else if (have == 3) {
		if (used + 2 > outmax)
			return -1;
		out[used++] = (unsigned char)(acc >> 10);
		out[used++] = (unsigned char)(acc >> 2);
	}
	return (long)used;
}
