/*
 * body_canon_plain.h - module/engine/body_canon.c built a second time,
 * without its vectorised (AVX2) scan, so the fuzzer checks both the build
 * the CPU gets and the one a CPU without AVX2 gets, on any machine.  The
 * same API (body_canon.h), the names prefixed plain_.
 */
#ifndef VDKIM_FUZZ_BODY_CANON_PLAIN_H
#define VDKIM_FUZZ_BODY_CANON_PLAIN_H

#include "body_canon.h"

int plain_body_canon_init(body_canon *bc, vdkim_canon canon,
    const EVP_MD *md, int64_t limit);
int plain_body_canon_update(body_canon *bc, const void *data, size_t n);
int plain_body_canon_final(body_canon *bc, unsigned char *digest,
    unsigned *dlen, uint64_t *total);
int plain_body_canon_lacked_final_eol(const body_canon *bc);
void plain_body_canon_cleanup(body_canon *bc);
int plain_body_canon_scan_supported(body_canon_scan scan);

#endif
