/*
 * body_canon.h - streaming body canonicalization and hashing (RFC 6376
 * 3.4.3, 3.4.4), shared by the signer and the verifier.
 *
 * One body_canon turns body bytes, fed in chunks split anywhere, into the
 * canonical body and hashes it on the fly.  Nothing is buffered beyond a few
 * bytes of state (pending blank lines are counted, not stored), so memory
 * does not grow with the message.  Bare LF line ends are taken as CRLF, the
 * way the message will travel over SMTP; a last line without a line end is
 * given one.
 */
#ifndef VDKIM_BODY_CANON_H
#define VDKIM_BODY_CANON_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "vdkim/dkim.h"

#define BODY_CANON_OUTBUF 16384

/* How the input is scanned for bytes that need rewriting: all give the
 * same result; the widest the CPU has is chosen at init. */
typedef enum body_canon_scan {
	BODY_SCAN_GENERIC,      /* a byte at a time */
	BODY_SCAN_AVX2,         /* 32 bytes per compare */
	BODY_SCAN_AVX512        /* AVX-512BW: 64 bytes per compare */
} body_canon_scan;

typedef struct body_canon {
	vdkim_canon canon;
	body_canon_scan scan;   /* tests may set a narrower one after init */
	EVP_MD_CTX *md;
	int64_t limit;          /* l= to honour; -1 = whole body */
	uint64_t emitted;       /* canonical bytes hashed so far (capped) */
	uint64_t total;         /* canonical body length without the cap */
	/* Line state. */
	uint64_t pending_blank; /* empty lines not yet emitted */
	int pending_wsp;        /* relaxed: WSP seen, not yet emitted */
	int pending_cr;         /* a CR waiting to see whether LF follows */
	int line_has_content;   /* the current line emitted something */
	int last_byte;          /* the last input byte, or -1 */
	int failed;             /* the digest update failed */
	/* Small output buffer for bytes the canonicalizer synthesises. */
	size_t outlen;
	/* (+32: short runs are copied 32 bytes at a time, see put_run) */
	unsigned char out[BODY_CANON_OUTBUF + 32];
} body_canon;

/*
 * Prepares bc to canonicalize with canon and hash with md (SHA-256 in
 * practice).  limit is the l= value to honour, or -1.  Returns 0, or -1
 * when the digest could not be set up.
 */
int body_canon_init(body_canon *bc, vdkim_canon canon, const EVP_MD *md,
    int64_t limit);
/* 1 when this CPU (and build) can run that scan. */
int body_canon_scan_supported(body_canon_scan scan);
/* Feeds n body bytes.  Returns 0, or -1 when hashing failed. */
int body_canon_update(body_canon *bc, const void *data, size_t n);
/*
 * Ends the body and writes the digest (up to EVP_MAX_MD_SIZE bytes) and its
 * length.  Returns 0 or -1.  *total receives the canonical body length
 * (before any l= cap) when total is not NULL.
 */
int body_canon_final(body_canon *bc, unsigned char *digest,
    unsigned *dlen, uint64_t *total);
/* 1 when the input's last byte was not a line end. */
int body_canon_lacked_final_eol(const body_canon *bc);
/* Releases the digest context.  Safe on a zeroed or finalised bc. */
void body_canon_cleanup(body_canon *bc);

#endif
