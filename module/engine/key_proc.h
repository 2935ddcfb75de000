/*
 * key_proc.h - a software RSA key's signing state, one per process.
 *
 * OpenSSL keeps RSA blinding (the random factor that hides the private
 * operation's timing) inside the key object, marks it as owned by the
 * thread that made it, and draws new randomness for it only every 32
 * signatures, squaring the factor in between.  A process forked from one
 * that has signed shares that thread id: it would take over its parent's
 * blinding and, with each of its siblings, use the same factors in the same
 * order.  So every process signs with its own copy of the key, made on its
 * first signature there: a fresh RSA object, whose blinding OpenSSL then
 * makes from the child's own random generator (which reseeds after a fork).
 * The key is not read from its file again, and what processes can share
 * (fetched algorithms, the parsed key) stays shared.
 */
#ifndef VDKIM_KEY_PROC_H
#define VDKIM_KEY_PROC_H

#include "key.h"

/*
 * Sets up the signing state of the calling process (the one that loads the
 * key) for a software RSA key.  0, or -1 with OpenSSL's error queue set.
 */
int key_proc_init(vdkim_key *key);

/*
 * The signing template of the calling process (EVP_PKEY_sign ready, to be
 * duplicated per signature, never modified), made on the first call in a
 * process other than the one whose state the key holds.  Any number of
 * threads may call at once.  NULL and err on failure.
 */
EVP_PKEY_CTX *key_proc_template(const vdkim_key *key, vdkim_error *err);

/* Frees the state of every process key holds (its own and inherited). */
void key_proc_free(vdkim_key *key);

#endif
