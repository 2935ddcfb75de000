/*
 * identity.h - the agent or user identifier of a signature, i= (RFC 6376
 * 3.5), as vdkim writes it.  One check, used by the signer (which refuses
 * a spec it cannot write) and by the policy (which must not decide to
 * sign with an identity the signer would refuse).
 */
#ifndef VDKIM_IDENTITY_H
#define VDKIM_IDENTITY_H

#include <stddef.h>

/* A local-part (RFC 5321: 64) and a domain (253) with room to spare. */
#define IDENTITY_MAX 320

/*
 * 0 when identity is "[local-part]@domain" as i= may carry it written
 * as is, and (when domain is not NULL) its domain is domain or a
 * subdomain of it.  Else -1 and one sentence in why (of whylen bytes)
 * saying what is wrong.  With domain NULL only the syntax is checked.
 */
int identity_check(const char *identity, const char *domain, char *why,
    size_t whylen);

#endif
