/*
 * domain_name.h - the few checks on domain names that DKIM needs.
 */
#ifndef VDKIM_DOMAIN_NAME_H
#define VDKIM_DOMAIN_NAME_H

/* A syntactically plausible DNS name: letters, digits, "-", "_", dots
 * between labels, at most 253 bytes. */
int domain_is_valid(const char *d);
/* 1 when sub equals dom or is a subdomain of it (case-insensitive). */
int domain_within(const char *sub, const char *dom);

#endif
