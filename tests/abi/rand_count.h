/*
 * rand_count.h - counts the process's draws from OpenSSL's random source,
 * for tests that must show when a signature made new randomness (RSA
 * blinding) and when it did not.
 */
#ifndef VDKIM_TESTS_RAND_COUNT_H
#define VDKIM_TESTS_RAND_COUNT_H

/*
 * Puts a counting source in front of OpenSSL's own for the whole process
 * (the module shares the host's libcrypto): every draw still comes from
 * OpenSSL's generator, and is counted.  0, or -1 when OpenSSL refused.
 */
int rand_count_install(void);

/* Draws so far in this process (a forked child starts from its parent's). */
unsigned long rand_count_draws(void);

#endif
