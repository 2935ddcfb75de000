/*
 * signer_remake.h - making a dropped signature again with another key.
 *
 * vdkim_signer_eom drops a signature that fails its self-check (the
 * signer, a device most likely, produced a wrong one).  The body hashes
 * and the header are still in the signer, so the policy's message path
 * can make that signature again with the same key pair held elsewhere (a
 * device key's software fallback, domain-key-fallback) without feeding
 * the message again.
 */
#ifndef VDKIM_SIGNER_REMAKE_H
#define VDKIM_SIGNER_REMAKE_H

#include <stddef.h>

#include "vdkim/dkim.h"

/*
 * After vdkim_signer_eom answered VDKIM_ESELFCHECK: makes the dropped
 * signature i with key (referenced; the same d=, s= and tags), and checks
 * it before it is released, whatever the spec asked.  VDKIM_ESTATE when
 * signature i was not dropped; VDKIM_ESELFCHECK when this one fails its
 * check too (it stays dropped).
 */
vdkim_rc signer_remake(vdkim_signer *s, size_t i, vdkim_key *key,
    vdkim_error *err);

#endif
