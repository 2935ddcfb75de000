/*
 * header_canon.h - header field canonicalization (RFC 6376 3.4.1, 3.4.2),
 * written straight into a digest.
 */
#ifndef VDKIM_HEADER_CANON_H
#define VDKIM_HEADER_CANON_H

#include <stddef.h>

#include <openssl/evp.h>

#include "vdkim/dkim.h"

/*
 * Canonicalizes one header field (name, colon, value, continuation lines;
 * a final line end, if any, is ignored) and feeds it to md, followed by CRLF
 * when with_crlf is set (every signed field but the DKIM-Signature itself).
 * Bare LF line ends inside the field count as CRLF.  Returns 0, or -1 when
 * the digest failed.
 */
int header_canon_hash(EVP_MD_CTX *md, vdkim_canon canon, const char *field,
    size_t len, int with_crlf);

#endif
