/*
 * work_keys.h - the DNS records of the keys tests/abi/run.sh makes in its
 * WORKDIR, for the engine's verifier (used by abi_test and exim_shim_test).
 */
#ifndef VDKIM_TESTS_WORK_KEYS_H
#define VDKIM_TESTS_WORK_KEYS_H

#include <stddef.h>

#include "vdkim/dkim.h"

/*
 * A keymap holding SELECTOR._domainkey.example.com for each of the n
 * selectors, from WORK/SELECTOR.private.  NULL after a line on stderr
 * starting with prog.
 */
vdkim_keymap *work_keys_load(const char *prog, const char *work,
    const char *const *selectors, size_t n);

#endif
