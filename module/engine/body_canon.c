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
 *            CR preceded by LF (a line that may be empty);
 *   simple:  LF not preceded by CR; CR preceded by LF.
 * A run never ends just after a CR (that CR may start a CRLF whose LF is in
 * the next byte), and never covers the chunk's last byte, so the state after
 * a run is known from the run's last byte.
 */
#include <string.h>

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
	if (bc->outlen == sizeof(bc->out))
		flush_out(bc);
	bc->out[bc->outlen++] = c;
}

/*
 * Hashes a run of input that is already canonical.  Short runs are copied
 * into the output buffer: one digest update per few KB costs less than one
 * per run when stops are frequent.
 */
static void
put_run(body_canon *bc, const unsigned char *p, size_t n)
{
	if (n >= sizeof(bc->out) / 2) {
		flush_out(bc);
		hash_out(bc, p, n);
		return;
	}
	if (bc->outlen + n > sizeof(bc->out))
		flush_out(bc);
	memcpy(bc->out + bc->outlen, p, n);
	bc->outlen += n;
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
	if (c == '\r')
		return p[j - 1] == '\n';
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
} stop_map;

static void
map_generic(const unsigned char *p, size_t from, size_t len, int relaxed,
    uint64_t *bits)
{
	for (size_t k = 0; k < len; k++) {
		/* Only SP, HTAB, CR and LF can stop a run. */
		if (p[from + k] <= ' ' && stop_at(p, from + k, relaxed))
			bits[k / 64] |= (uint64_t)1 << (k % 64);
	}
}

#ifdef VDKIM_HAVE_AVX2_SCAN
/* stop_at() for 32 bytes; reads p[j-1] to p[j+32]. */
__attribute__((target("avx2"))) static inline uint32_t
stops32(const unsigned char *p, size_t j, int relaxed)
{
	const __m256i sp = _mm256_set1_epi8(' ');
	const __m256i tab = _mm256_set1_epi8('\t');
	const __m256i cr = _mm256_set1_epi8('\r');
	const __m256i lf = _mm256_set1_epi8('\n');
	__m256i c = _mm256_loadu_si256((const __m256i *)(p + j));
	__m256i prev = _mm256_loadu_si256((const __m256i *)(p + j - 1));
	/* LF not after CR; CR after LF. */
	__m256i m = _mm256_or_si256(
	    _mm256_andnot_si256(_mm256_cmpeq_epi8(prev, cr),
		_mm256_cmpeq_epi8(c, lf)),
	    _mm256_and_si256(_mm256_cmpeq_epi8(prev, lf),
		_mm256_cmpeq_epi8(c, cr)));

	if (relaxed) {
		__m256i next = _mm256_loadu_si256((const __m256i *)(p + j + 1));
		__m256i next_ws = _mm256_or_si256(
		    _mm256_or_si256(_mm256_cmpeq_epi8(next, sp),
			_mm256_cmpeq_epi8(next, tab)),
		    _mm256_or_si256(_mm256_cmpeq_epi8(next, cr),
			_mm256_cmpeq_epi8(next, lf)));
		m = _mm256_or_si256(m, _mm256_cmpeq_epi8(c, tab));
		m = _mm256_or_si256(m, _mm256_and_si256(
		    _mm256_cmpeq_epi8(c, sp), next_ws));
	}
	return (uint32_t)_mm256_movemask_epi8(m);
}

__attribute__((target("avx2"))) static void
map_avx2(const unsigned char *p, size_t from, size_t len, int relaxed,
    uint64_t *bits)
{
	size_t k = 0;

	/* p[from + len] exists (the caller keeps the chunk's last byte). */
	for (; k + 64 <= len; k += 64)
		bits[k / 64] = (uint64_t)stops32(p, from + k, relaxed) |
		    (uint64_t)stops32(p, from + k + 32, relaxed) << 32;
	map_generic(p, from + k, len - k, relaxed, bits + k / 64);
}
#endif

/* Computes the window starting at from, at most end - from bytes. */
static void
map_window(stop_map *m, const unsigned char *p, size_t from, size_t end,
    int relaxed)
{
	m->base = from;
	m->len = end - from < STOP_WINDOW ? end - from : STOP_WINDOW;
	memset(m->bits, 0, sizeof(m->bits));
#ifdef VDKIM_HAVE_AVX2_SCAN
	if (__builtin_cpu_supports("avx2")) {
		map_avx2(p, from, m->len, relaxed, m->bits);
		return;
	}
#endif
	map_generic(p, from, m->len, relaxed, m->bits);
}

/*
 * The first stop in [from, end), or end.  p[from - 1] and p[end] exist;
 * from never decreases between calls on one map.
 */
static size_t
next_stop(stop_map *m, const unsigned char *p, size_t from, size_t end,
    int relaxed)
{
	while (from < end) {
		size_t off, w;
		uint64_t word;

		if (m->len == 0 || from >= m->base + m->len)
			map_window(m, p, from, end, relaxed);
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
		from = m->base + m->len;
	}
	return end;
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
	map.len = 0;
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
		j = next_stop(&map, p, i, n - 1, relaxed);
		end = j;
		/* A CR at the end of a run may begin a CRLF: leave it. */
		if (end > i && p[end - 1] == '\r')
			end--;
		if (end > i) {
			put_run(bc, p + i, end - i);
			bc->line_has_content = p[end - 1] != '\n';
			i = end;
		}
		/* p[i] is a stop byte, a held-back CR or the last byte. */
		if (p[i] == '\r' && p[i - 1] == '\n') {
			/* Empty lines are only a question at the end of the
			 * body: followed by content here, they stay as they
			 * are. */
			size_t k = i;
			while (k + 2 < n && p[k] == '\r' && p[k + 1] == '\n')
				k += 2;
			if (k > i && k + 1 < n && p[k] != '\r' &&
			    p[k] != '\n' && !(relaxed && (p[k] == ' ' ||
			    p[k] == '\t'))) {
				put_run(bc, p + i, k - i);
				i = k;
				continue;
			}
		}
		if (relaxed && i + 1 < n && (p[i] == ' ' || p[i] == '\t')) {
			/* A run of WSP, the common stop in relaxed text:
			 * one SP when content follows on the line, else
			 * leave it to the state machine, which drops it. */
			size_t k = i;
			while (k + 1 < n && (p[k] == ' ' || p[k] == '\t'))
				k++;
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
