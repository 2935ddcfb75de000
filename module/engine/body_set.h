/*
 * body_set.h - the body hashes one message needs, each computed once.
 *
 * Several signatures that share a body canonicalization and an l= value
 * share one body_canon: dual RSA + Ed25519 signing with the same c= hashes
 * the body once.  Used by the signer and the verifier alike.
 */
#ifndef VDKIM_BODY_SET_H
#define VDKIM_BODY_SET_H

#include "body_canon.h"

#define BODY_SET_MAX (2 * VDKIM_MAX_VERIFY)

typedef struct body_hash {
	body_canon bc;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen;
	uint64_t total;     /* canonical length before any l= cap */
} body_hash;

typedef struct body_set {
	size_t n;
	body_hash *h[BODY_SET_MAX];
} body_set;

void body_set_init(body_set *s);
/* The index of the hash for (canon, limit), created on first use; -1 when
 * out of memory or slots. SHA-256 is the only body hash DKIM still uses. */
int body_set_get(body_set *s, vdkim_canon canon, int64_t limit);
int body_set_update(body_set *s, const void *data, size_t len);
/* Finishes every hash; -1 when one failed. */
int body_set_final(body_set *s);
/* 1 when the body's last line lacked a line end. */
int body_set_lacked_final_eol(const body_set *s);
void body_set_free(body_set *s);

#endif
