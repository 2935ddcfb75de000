/*
 * domain_idn.h - internationalized domain names (RFC 5890) in the form
 * DNS and DKIM use: A-labels ("xn--bcher-kva.example" for
 * "bücher.example").  A From: domain written in UTF-8 and a domain-key
 * given with U-labels both become A-labels before keys are matched and
 * d= is written.
 */
#ifndef VDKIM_DOMAIN_IDN_H
#define VDKIM_DOMAIN_IDN_H

#include <stddef.h>

/* 1 when d has a byte outside ASCII (so holds a U-label, or is not a
 * domain name at all). */
int domain_has_8bit(const char *d);

/*
 * Writes domain (UTF-8) in A-labels, lower case, to out (outlen bytes):
 * IDNA2008 with UTS #46 non-transitional mapping (so "ß" stays itself
 * and upper case is folded), as browsers and mail clients resolve it.
 * An ASCII domain is copied lower-cased.  Returns 0 when the result is a
 * valid domain name that fits, else -1.
 */
int domain_to_alabels(const char *domain, char *out, size_t outlen);

#endif
