/*
 * rand_count.c - a counting RAND_METHOD in front of OpenSSL's own.
 *
 * RAND_set_rand_method is deprecated in OpenSSL 3, but it is the one way a
 * program can see every draw of the default library context: RAND_bytes
 * and RAND_priv_bytes (which RSA blinding uses) go to the method when one
 * is set.  Deprecation warnings are silenced for this file alone.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <stdatomic.h>

#include <openssl/rand.h>

#include "rand_count.h"

static atomic_ulong draws;
static const RAND_METHOD *real;

static int
count_bytes(unsigned char *buf, int num)
{
	atomic_fetch_add(&draws, 1);
	return real->bytes(buf, num);
}

static int
count_status(void)
{
	return real->status != NULL ? real->status() : 1;
}

static const RAND_METHOD counting = {
	NULL,          /* seed: nothing to add */
	count_bytes,   /* bytes */
	NULL,          /* cleanup */
	NULL,          /* add */
	count_bytes,   /* pseudorand */
	count_status,  /* status */
};

int
rand_count_install(void)
{
	if (real == NULL)
		real = RAND_OpenSSL();
	if (real == NULL || real->bytes == NULL)
		return -1;
	return RAND_set_rand_method(&counting) == 1 ? 0 : -1;
}

unsigned long
rand_count_draws(void)
{
	return atomic_load(&draws);
}
