/*
 * key_record.h - DKIM key records as published in DNS (RFC 6376 3.6.1,
 * RFC 8463 4.2), parsed strictly, and checking a signature with one.
 */
#ifndef VDKIM_KEY_RECORD_H
#define VDKIM_KEY_RECORD_H

#include <openssl/evp.h>

#include "vdkim/dkim.h"

typedef struct key_record {
	vdkim_key_type type;   /* k=, default rsa */
	EVP_PKEY *pkey;        /* NULL when revoked (p= empty) */
	unsigned bits;
	int revoked;
	int sha256_allowed;    /* h= absent or lists sha256 */
	int email_allowed;     /* s= absent, "*" or lists email */
	int testing;           /* t=y */
	int strict;            /* t=s: i= must be in d= exactly */
} key_record;

/*
 * Parses a TXT record.  On a syntax error returns VDKIM_R_KEY_SYNTAX with a
 * sentence in why; otherwise VDKIM_R_OK (a revoked key included: check
 * rec->revoked).  An unknown k= is VDKIM_R_KEY_TYPE_MISMATCH.
 */
vdkim_reason key_record_parse(const char *text, key_record *rec, char *why,
    size_t whylen);
void key_record_free(key_record *rec);

/* 1 when sig is a valid signature of the SHA-256 digest under rec. */
int key_record_verify(const key_record *rec, const unsigned char *digest,
    size_t dlen, const unsigned char *sig, size_t siglen);

#endif
