/*
 * body_canon.c - streaming body canonicalization and hashing.
 *
 * The canonicalizer is a small state machine over bytes (the "slow path"),
 * plus a fast path that finds long runs of input that are already in
 * canonical form and hands them to the hash untouched.  For ordinary CRLF
 * text almost the whole body goes through the fast path, so the cost is one
 * vectorised stop map plus SHA-256.
 *
 * The state machine (RFC 6376 3.4.3 simple, 3.4.4 relaxed):
 *   - a CR is held (pending_cr) until the next byte says whether it ends a
 *     line (CR LF) or is ordinary content;
 *   - a bare LF ends a line like CR LF does (the message will travel over
 *     SMTP with CRLF);
 *   - relaxed: a run of SP/HTAB is held (pending_wsp) and becomes one SP if
 *     content follows on the same line, nothing if the line ends;
 *   - the CRLF that ends a line with content is emitted at once; empty lines
 *     are only counted (pending_blank) and emitted when content follows, so
 *     empty lines at the end of the body disappear without being stored;
 *   - at the end, an unterminated last line gets its CRLF; a simple body
 *     that is empty becomes a single CRLF.
 *
 * The fast path may pass input[i..j) straight to the hash when the state is
 * "clean" (nothing pending) and no byte in the run needs rewriting.  The
 * bytes that need the state machine are marked by stop_at():
 *   relaxed: HTAB; SP followed by SP, HTAB, CR or LF; LF not preceded by CR;
 *   simple:  LF not preceded by CR.
 * Empty lines are no stop: inside a run content follows them, so they stay
 * as they are.  Only the empty lines at the end of a run might end the
 * body; a run gives them back to the state machine, which counts them
 * (run_end()).  A run never ends just after a CR (that CR may start a CRLF
 * whose LF is in the next byte), and never covers the chunk's last byte,
 * so the state after a run is known from the run's last byte.
 */
#include <string.h>

/* x86-64: the AVX2 and AVX-512BW maps, chosen at run time. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define VDKIM_HAVE_AVX2_SCAN 1
#endif

#include "body_canon.h"

/* Hash n canonical bytes, honouring the l= cap. */
static void
hash_out(body_canon *bc, const unsigned char *p, size_t n)
{
	size_t take = n;

	bc->total += n;
	if (bc->limit >= 0) {
		uint64_t room = (uint64_t)bc->limit > bc->emitted ?
		    (uint64_t)bc->limit - bc->emitted : 0;
		if (take > room)
			take = (size_t)room;
	}
	if (take == 0)
		return;
	if (EVP_DigestUpdate(bc->md, p, take) != 1)
		bc->failed = 1;
	bc->emitted += take;
}

static void
flush_out(body_canon *bc)
{
	if (bc->outlen > 0) {
		hash_out(bc, bc->out, bc->outlen);
		bc->outlen = 0;
	}
}

static inline void
put_byte(body_canon *bc, unsigned char c)
{
	if (bc->outlen == BODY_CANON_OUTBUF)
		flush_out(bc);
	bc->out[bc->outlen++] = c;
}

/*
 * Hashes a run of input that is already canonical.  Short runs are copied
 * into the output buffer: one digest update per few KB costs less than one
 * per run when stops are frequent.  readable: how many bytes from p on
 * may be read (the rest of the chunk).  A short run with 32 bytes to
 * spare behind it is copied in 32-byte blocks, a few instructions instead
 * of a call; the bytes copied past the run land in the buffer's slack and
 * are overwritten next.
 */
#define COPY_BLOCK 32
#define SHORT_RUN 256
#define DIRECT_RUN 2048 /* hashed from the input, not copied */

static void
put_run(body_canon *bc, const unsigned char *p, size_t n, size_t readable)
{
	unsigned char *dst;

	if (n >= DIRECT_RUN) {
		flush_out(bc);
		hash_out(bc, p, n);
		return;
	}
	if (bc->outlen + n > BODY_CANON_OUTBUF)
		flush_out(bc);
	dst = bc->out + bc->outlen;
	bc->outlen += n;
	if (n <= SHORT_RUN && readable >= n + COPY_BLOCK) {
		for (size_t k = 0; k < n; k += COPY_BLOCK)
			memcpy(dst + k, p + k, COPY_BLOCK);
		return;
	}
	memcpy(dst, p, n);
}

static void
put_crlf(body_canon *bc)
{
	put_byte(bc, '\r');
	put_byte(bc, '\n');
}

/* Emits a content byte, preceded by whatever was held back. */
static void
put_content(body_canon *bc, unsigned char c)
{
	while (bc->pending_blank > 0) {
		put_crlf(bc);
		bc->pending_blank--;
	}
	if (bc->pending_wsp) {
		put_byte(bc, ' ');
		bc->pending_wsp = 0;
	}
	put_byte(bc, c);
	bc->line_has_content = 1;
}

static void
end_line(body_canon *bc)
{
	bc->pending_wsp = 0;
	if (bc->line_has_content)
		put_crlf(bc);
	else
		bc->pending_blank++;
	bc->line_has_content = 0;
}

/* The slow path: one byte through the state machine. */
static void
step(body_canon *bc, unsigned char c)
{
	if (bc->pending_cr) {
		bc->pending_cr = 0;
		if (c == '\n') {
			end_line(bc);
			return;
		}
		put_content(bc, '\r');
	}
	if (c == '\r')
		bc->pending_cr = 1;
	else if (c == '\n')
		end_line(bc);
	else if (bc->canon == VDKIM_CANON_RELAXED && (c == ' ' || c == '\t'))
		bc->pending_wsp = 1;
	else
		put_content(bc, c);
}

static inline int
is_wsp_or_eol(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Whether p[j] needs the state machine; p[j-1] and p[j+1] exist. */
static inline int
stop_at(const unsigned char *p, size_t j, int relaxed)
{
	unsigned char c = p[j];

	if (c == '\n')
		return p[j - 1] != '\r';
	if (!relaxed)
		return 0;
	if (c == '\t')
		return 1;
	return c == ' ' && is_wsp_or_eol(p[j + 1]);
}

/*
 * Stops are found a window at a time: a bitmap of the stop positions of
 * STOP_WINDOW bytes is computed in one branch-free pass, then the main loop
 * walks its set bits.  Whether a byte is a stop depends only on the bytes
 * around it, not on the canonicalizer's state, so the map stays valid
 * whatever the loop does between stops.
 */
#define STOP_WINDOW 4096

typedef struct stop_map {
	size_t base, len;     /* the window: [base, base + len) */
	uint64_t bits[STOP_WINDOW / 64];
	/* relaxed: where the SP and HTAB bytes are, so that the end of a
	 * WSP run is one bit scan, not a byte loop whose length the branch
	 * predictor cannot guess */
	uint64_t wsp[STOP_WINDOW / 64];
} stop_map;

/* Also clears its words of the maps first (the vector maps set theirs). */
static void
map_generic(const unsigned char *p, size_t from, size_t len, int relaxed,
    uint64_t *bits, uint64_t *wsp)
{
	memset(bits, 0, (len + 63) / 64 * sizeof(*bits));
	memset(wsp, 0, (len + 63) / 64 * sizeof(*wsp));
	for (size_t k = 0; k < len; k++) {
		unsigned char c = p[from + k];

		/* Only SP, HTAB, CR and LF can stop a run. */
		if (c <= ' ' && stop_at(p, from + k, relaxed))
			bits[k / 64] |= (uint64_t)1 << (k % 64);
		if (relaxed && (c == ' ' || c == '\t'))
			wsp[k / 64] |= (uint64_t)1 << (k % 64);
	}
}

/*
 * The vector maps work on 64 bytes at a time: one bit mask per byte class
 * (LF, CR, SP, HTAB), then stop_at() on the masks with plain integer
 * shifts.  The byte before the block and the one after it come from
 * memory: p[from - 1] and p[from + len] exist.
 */
static inline uint64_t
stops_of_masks(uint64_t lf, uint64_t cr, uint64_t sp, uint64_t tab,
    unsigned char before, unsigned char after, int relaxed)
{
	uint64_t prev_cr = cr << 1 | (before == '\r');
	uint64_t stops = lf & ~prev_cr;

	if (relaxed) {
		uint64_t next_ws = (sp | tab | cr | lf) >> 1 |
		    (uint64_t)is_wsp_or_eol(after) << 63;
		stops |= tab | (sp & next_ws);
	}
	return stops;
}

#ifdef VDKIM_HAVE_AVX2_SCAN
__attribute__((target("avx2"))) static inline uint64_t
eq64_avx2(__m256i lo, __m256i hi, char c)
{
	const __m256i v = _mm256_set1_epi8(c);

	return (uint64_t)(uint32_t)_mm256_movemask_epi8(
	    _mm256_cmpeq_epi8(lo, v)) |
	    (uint64_t)(uint32_t)_mm256_movemask_epi8(
	    _mm256_cmpeq_epi8(hi, v)) << 32;
}

__attribute__((target("avx2"))) static void
map_avx2(const unsigned char *p, size_t from, size_t len, int relaxed,
    uint64_t *bits, uint64_t *wsp)
{
	size_t k = 0;

	for (; k + 64 <= len; k += 64) {
		const unsigned char *b = p + from + k;
		__m256i lo = _mm256_loadu_si256((const __m256i *)b);
		__m256i hi = _mm256_loadu_si256((const __m256i *)(b + 32));
		uint64_t sp = relaxed ? eq64_avx2(lo, hi, ' ') : 0;
		uint64_t tab = relaxed ? eq64_avx2(lo, hi, '\t') : 0;

		bits[k / 64] = stops_of_masks(eq64_avx2(lo, hi, '\n'),
		    eq64_avx2(lo, hi, '\r'), sp, tab, b[-1], b[64], relaxed);
		wsp[k / 64] = sp | tab;
	}
	/* See map_avx512: the upper halves cleared before SSE code. */
	_mm256_zeroupper();
	map_generic(p, from + k, len - k, relaxed, bits + k / 64,
	    wsp + k / 64);
}

__attribute__((target("avx512bw"))) static void
map_avx512(const unsigned char *p, size_t from, size_t len, int relaxed,
    uint64_t *bits, uint64_t *wsp)
{
	const __m512i lf = _mm512_set1_epi8('\n'), cr = _mm512_set1_epi8('\r');
	const __m512i sp = _mm512_set1_epi8(' '), tab = _mm512_set1_epi8('\t');
	size_t k = 0;

	for (; k + 64 <= len; k += 64) {
		const unsigned char *b = p + from + k;
		__m512i v = _mm512_loadu_si512((const void *)b);
		uint64_t s = relaxed ? _mm512_cmpeq_epi8_mask(v, sp) : 0;
		uint64_t t = relaxed ? _mm512_cmpeq_epi8_mask(v, tab) : 0;

		bits[k / 64] = stops_of_masks(_mm512_cmpeq_epi8_mask(v, lf),
		    _mm512_cmpeq_epi8_mask(v, cr), s, t, b[-1], b[64],
		    relaxed);
		wsp[k / 64] = s | t;
	}
	/*
	 * Debian's GCC 12 emits no vzeroupper in this target("...")
	 * function (objdump), so the vector registers' upper halves stayed
	 * dirty after the map, and the SHA-256 blocks that follow it
	 * (OpenSSL's SHA-NI code is legacy SSE) ran about 15 % slower than
	 * the same blocks hashed alone (bench/abi_body_bench, perf).
	 * Cleared by hand.
	 */
	_mm256_zeroupper();
	map_generic(p, from + k, len - k, relaxed, bits + k / 64,
	    wsp + k / 64);
}
#endif

int
body_canon_scan_supported(body_canon_scan scan)
{
	switch (scan) {
	case BODY_SCAN_GENERIC:
		return 1;
#ifdef VDKIM_HAVE_AVX2_SCAN
	case BODY_SCAN_AVX2:
		return __builtin_cpu_supports("avx2");
	case BODY_SCAN_AVX512:
		return __builtin_cpu_supports("avx512bw");
#endif
	default:
		return 0;
	}
}

/* Computes the window starting at from, at most end - from bytes. */
static void
map_window(const body_canon *bc, stop_map *m, const unsigned char *p,
    size_t from, size_t end, int relaxed)
{
	m->base = from;
	m->len = end - from < STOP_WINDOW ? end - from : STOP_WINDOW;
	/* No memset of the whole map: each map writes the words of its
	 * window, and next_stop() never reads past m->len. */
	switch (bc->scan) {
#ifdef VDKIM_HAVE_AVX2_SCAN
	case BODY_SCAN_AVX512:
		map_avx512(p, from, m->len, relaxed, m->bits, m->wsp);
		return;
	case BODY_SCAN_AVX2:
		map_avx2(p, from, m->len, relaxed, m->bits, m->wsp);
		return;
#endif
	default:
		map_generic(p, from, m->len, relaxed, m->bits, m->wsp);
		return;
	}
}

/*
 * The first stop in [from, end), or the end of from's window when it has
 * none, or end.  (The byte found there is only a place where a run ends:
 * the state machine takes it, whatever it is.)  p[from - 1] and p[end]
 * exist; from never decreases between calls on one map.
 */
static size_t
next_stop(const body_canon *bc, stop_map *m, const unsigned char *p,
    size_t from, size_t end, int relaxed)
{
	while (from < end) {
		size_t off, w;
		uint64_t word;

		if (m->len == 0 || from >= m->base + m->len)
			map_window(bc, m, p, from, end, relaxed);
		off = from - m->base;
		w = off / 64;
		word = m->bits[w] & (~(uint64_t)0 << (off % 64));
		for (;;) {
			if (word != 0)
				return m->base + w * 64 +
				    (size_t)__builtin_ctzll(word);
			if (++w * 64 >= m->len)
				break;
			word = m->bits[w];
		}
		/* No stop in the window: its bytes are hashed now, while
		 * they are still in the L1 cache. */
		return m->base + m->len;
	}
	return end;
}

/*
 * Where the run of SP/HTAB at k ends: the first byte from k on that is
 * neither, or n - 1 (the chunk's last byte is left to the caller).  Read
 * from the map inside its window (the window never reaches p[n - 1]),
 * byte by byte past it.
 */
static inline size_t
wsp_run_end(const stop_map *m, const unsigned char *p, size_t k, size_t n)
{
	if (k >= m->base && k < m->base + m->len) {
		size_t off = k - m->base, w = off / 64;
		uint64_t word = ~m->wsp[w] & (~(uint64_t)0 << (off % 64));

		while (word == 0 && ++w * 64 < m->len)
			word = ~m->wsp[w];
		if (word != 0 &&
		    w * 64 + (size_t)__builtin_ctzll(word) < m->len)
			return m->base + w * 64 + (size_t)__builtin_ctzll(word);
		k = m->base + m->len;
	}
	while (k + 1 < n && (p[k] == ' ' || p[k] == '\t'))
		k++;
	return k;
}

/*
 * Where a clean run [i, j) may end: before a CR at its end (it may begin
 * a CRLF) and before the empty lines at its end (they may end the body).
 * p[i - 1] exists.
 */
static inline size_t
run_end(const body_canon *bc, const unsigned char *p, size_t i, size_t j)
{
	if (j > i && p[j - 1] == '\r')
		j--;
	/* An empty line: CR LF right after an LF, or at a line's start. */
	while (j >= i + 2 && p[j - 1] == '\n' && p[j - 2] == '\r' &&
	    (j - 2 > i ? p[j - 3] == '\n' : !bc->line_has_content))
		j -= 2;
	return j;
}

static inline int
state_is_clean(const body_canon *bc)
{
	return !bc->pending_cr && !bc->pending_wsp && bc->pending_blank == 0;
}

int
body_canon_init(body_canon *bc, vdkim_canon canon, const EVP_MD *md,
    int64_t limit)
{
	memset(bc, 0, offsetof(body_canon, out));
	bc->canon = canon;
	bc->limit = limit;
	bc->last_byte = -1;
	/* The widest scan this CPU has (they all give the same map). */
	bc->scan = body_canon_scan_supported(BODY_SCAN_AVX512) ?
	    BODY_SCAN_AVX512 : body_canon_scan_supported(BODY_SCAN_AVX2) ?
	    BODY_SCAN_AVX2 : BODY_SCAN_GENERIC;
	bc->md = EVP_MD_CTX_new();
	if (bc->md == NULL)
		return -1;
	if (EVP_DigestInit_ex(bc->md, md, NULL) != 1) {
		EVP_MD_CTX_free(bc->md);
		bc->md = NULL;
		return -1;
	}
	return 0;
}

int
body_canon_update(body_canon *bc, const void *data, size_t n)
{
	const unsigned char *p = data;
	const int relaxed = bc->canon == VDKIM_CANON_RELAXED;
	stop_map map;
	size_t i = 0;

	if (n == 0)
		return bc->failed ? -1 : 0;
	map.base = map.len = 0;
	/* The first byte needs its predecessor, which only the state knows. */
	step(bc, p[0]);
	i = 1;
	/* Fast runs cover at most p[1..n-1): p[n-1] always goes to step(). */
	while (i + 1 < n) {
		size_t j, end;

		if (!state_is_clean(bc)) {
			step(bc, p[i++]);
			continue;
		}
		j = next_stop(bc, &map, p, i, n - 1, relaxed);
		end = run_end(bc, p, i, j);
		if (end > i) {
			put_run(bc, p + i, end - i, n - i);
			bc->line_has_content = p[end - 1] != '\n';
			i = end;
			/* The run stopped at its window's end, not at a stop:
			 * the next window goes on from there.  (Stepping the
			 * byte would cost plain text a one-byte digest update
			 * per window.) */
			if (i == map.base + map.len && i + 1 < n)
				continue;
		}
		/* p[i] is a stop byte, a held-back CR or empty line, or the
		 * last byte. */
		if (i < j) {
			step(bc, p[i++]);
			continue;
		}
		if (relaxed && i + 1 < n && (p[i] == ' ' || p[i] == '\t')) {
			/* A run of WSP, the common stop in relaxed text:
			 * one SP when content follows on the line, else
			 * leave it to the state machine, which drops it. */
			size_t k = wsp_run_end(&map, p, i, n);
			if (p[k] != ' ' && p[k] != '\t' && p[k] != '\r' &&
			    p[k] != '\n') {
				put_byte(bc, ' ');
				bc->line_has_content = 1;
			} else if (bc->line_has_content && p[k] == '\r' &&
			    k + 2 < n && p[k + 1] == '\n') {
				/* Trailing WSP: dropped; the line ends. */
				put_crlf(bc);
				bc->line_has_content = 0;
				k += 2;
			} else {
				bc->pending_wsp = 1;
			}
			i = k;
			continue;
		}
		if (i + 1 < n)
			step(bc, p[i++]);
	}
	if (i < n)
		step(bc, p[i]);
	bc->last_byte = p[n - 1];
	flush_out(bc);
	return bc->failed ? -1 : 0;
}

int
body_canon_lacked_final_eol(const body_canon *bc)
{
	return bc->last_byte >= 0 && bc->last_byte != '\n';
}

int
body_canon_final(body_canon *bc, unsigned char *digest, unsigned *dlen,
    uint64_t *total)
{
	if (bc->md == NULL)
		return -1;
	if (bc->pending_cr) {
		/* A lone CR at the very end is content; its line then ends. */
		bc->pending_cr = 0;
		put_content(bc, '\r');
	}
	if (bc->line_has_content)
		put_crlf(bc);
	/* RFC 6376 3.4.3: an empty simple body is a single CRLF. */
	if (bc->canon == VDKIM_CANON_SIMPLE && bc->total == 0 &&
	    bc->outlen == 0)
		put_crlf(bc);
	flush_out(bc);
	if (total != NULL)
		*total = bc->total;
	if (bc->failed || EVP_DigestFinal_ex(bc->md, digest, dlen) != 1)
		return -1;
	return 0;
}

void
body_canon_cleanup(body_canon *bc)
{
	EVP_MD_CTX_free(bc->md);
	bc->md = NULL;
}
