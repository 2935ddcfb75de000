/*
 * fuzz_common.c - cross-check failures, test data paths, chunkings
 * (no module code: the host harnesses link only util).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#ifndef VDKIM_TESTDATA
#error "VDKIM_TESTDATA must name tests/data"
#endif

void
fuzz_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: cross-check failed: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

const char *
fuzz_testdata(const char *name)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s", VDKIM_TESTDATA, name);
	return path;
}

void
fuzz_chunker_init(fuzz_chunker *c, uint32_t seed)
{
	c->state = seed * 2654435761u + 1;
}

size_t
fuzz_chunk_next(fuzz_chunker *c, size_t left)
{
	size_t n;

	/* xorshift32: cheap, deterministic, and every seed differs. */
	c->state ^= c->state << 13;
	c->state ^= c->state >> 17;
	c->state ^= c->state << 5;
	/* Small pieces (the splitter's and canonicalizers' edge cases) one
	 * time in four, else larger ones (their fast paths, and fewer calls
	 * per run). */
	n = (c->state & 0x300) ? (c->state >> 12) % 1024 + 1 :
	    (c->state >> 12) % 7 + 1;
	return n < left ? n : left;
}
