/*
 * fuzz_common.h - what the fuzz harnesses share: the test keys and their
 * records in a static key map (no network), feeding bytes in chunkings
 * chosen by the input, and a cross-check that stops the run.
 *
 * Every harness defines LLVMFuzzerTestOneInput (and, when it needs set-up,
 * LLVMFuzzerInitialize).  The same file links either with libFuzzer
 * (clang, "make fuzz") or with tests/fuzz/replay.c (gcc + ASan/UBSan,
 * "make fuzz-replay"), so a crash file replays without clang.
 */
#ifndef VDKIM_FUZZ_COMMON_H
#define VDKIM_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "vdkim/dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A cross-check that failed: says what, then aborts (the sanitizer
 * runtime or libFuzzer reports it, with the input). */
#define FUZZ_CHECK(cond, ...)                                              \
	do {                                                               \
		if (!(cond))                                               \
			fuzz_fail(__FILE__, __LINE__, __VA_ARGS__);        \
	} while (0)
void fuzz_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

/* The signing keys of RFC 8463 A.1 (their records, A.2, are in the map):
 * RSA 1024 "test" and Ed25519 "brisbane", d=football.example.com. */
#define FUZZ_DOMAIN "football.example.com"
#define FUZZ_SEL_RSA "test"
#define FUZZ_SEL_ED "brisbane"
/* The time the harnesses sign and verify at (2100-01-01: seeds signed
 * today have t= in its past). */
#define FUZZ_NOW ((time_t)4102444800)

typedef struct fuzz_keys {
	vdkim_key *rsa;
	vdkim_key *ed;
	vdkim_keymap *map;
} fuzz_keys;

/* Loads the keys and the map once per process (tests/data); aborts when
 * the tree's test data cannot be read. */
const fuzz_keys *fuzz_keys_get(void);
/* The lookup hook for verifiers (ctx: fuzz_keys_get()): the map, and
 * selector "any" of every domain as Ed25519 "brisbane" (the fixed
 * policy's wildcard key, fuzz_policy.c). */
vdkim_lookup_rc fuzz_keys_lookup(void *ctx, const char *qname, char *buf,
    size_t buflen);
/* The path of a file in tests/data (static buffer, one at a time). */
const char *fuzz_testdata(const char *name);

/*
 * A chunking: the sizes come from a seed, so one input byte chooses how a
 * message is cut.  fuzz_chunk_next returns the next chunk's length (at
 * least 1, at most left).
 */
typedef struct fuzz_chunker {
	uint32_t state;
} fuzz_chunker;
void fuzz_chunker_init(fuzz_chunker *c, uint32_t seed);
size_t fuzz_chunk_next(fuzz_chunker *c, size_t left);

#endif
