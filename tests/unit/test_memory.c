/*
 * test_memory.c - memory does not grow with the body.
 *
 * A 50 MB body goes through the signer (two signatures, two body
 * canonicalizations) and then the verifier in 64 KB chunks; the bytes
 * allocated from the heap are counted before and after the body and must
 * be equal.  Half the body is ordinary text, half empty lines (which the
 * canonicalizer must count, not store).  The count is exact: glibc's
 * mallinfo2(), or the sanitizer allocator's own count under ASan (which
 * replaces malloc).
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SANITIZE_ADDRESS__
/* From the sanitizer runtime (sanitizer/allocator_interface.h, which GCC
 * does not install). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

#include "helpers.h"
#include "suites.h"

#define CHUNK 65536
#define TEXT_CHUNKS 400
#define BLANK_CHUNKS 400

static size_t
heap_in_use(void)
{
#ifdef __SANITIZE_ADDRESS__
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
#endif
}

/* 64 KB of text lines, ending in a non-empty line and CRLF. */
static void
make_text_chunk(char *c)
{
	size_t n = 0;
	int line = 0;

	while (n + 200 < CHUNK) {
		n += (size_t)snprintf(c + n, CHUNK - n, line % 7 == 3 ?
		    "line %d:\tsome  text with\t trailing space  \r\n" :
		    "line %d: the quick brown fox jumps over the lazy dog "
		    "0123456789 abcdefghijklmnopqrstuvwxyz\r\n", line);
		line++;
	}
	memset(c + n, 'x', CHUNK - n - 2);
	c[CHUNK - 2] = '\r';
	c[CHUNK - 1] = '\n';
}

static const char HEADER[] =
    "From: big@example.com\r\n"
    "To: someone@example.net\r\n"
    "Subject: a large message\r\n";

typedef vdkim_rc (*body_fn)(void *ctx, const void *p, size_t n,
    vdkim_error *err);

/* Feeds the whole body; returns the heap growth over it. */
static long
feed_body(body_fn fn, void *ctx, const char *text, const char *blank)
{
	vdkim_error err;
	size_t before, after;

	before = heap_in_use();
	for (int i = 0; i < TEXT_CHUNKS; i++)
		ck_assert_int_eq(fn(ctx, text, CHUNK, &err), VDKIM_OK);
	for (int i = 0; i < BLANK_CHUNKS; i++)
		ck_assert_int_eq(fn(ctx, blank, CHUNK, &err), VDKIM_OK);
	after = heap_in_use();
	return (long)after - (long)before;
}

static vdkim_rc
sbody(void *ctx, const void *p, size_t n, vdkim_error *err)
{
	return vdkim_signer_body(ctx, p, n, err);
}

static vdkim_rc
smsg(void *ctx, const void *p, size_t n, vdkim_error *err)
{
	return vdkim_signer_message(ctx, p, n, err);
}

static vdkim_rc
vbody(void *ctx, const void *p, size_t n, vdkim_error *err)
{
	return vdkim_verifier_body(ctx, p, n, err);
}

/* The body hash the whole body must have under canon. */
static void
expected_bh(const char *text, vdkim_canon canon, char out[45])
{
	size_t clen;
	unsigned char *c = ref_body_canon((const unsigned char *)text, CHUNK,
	    canon, &clen);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char d[32];
	unsigned dlen;

	ck_assert_ptr_nonnull(md);
	ck_assert_int_eq(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	for (int i = 0; i < TEXT_CHUNKS; i++)
		ck_assert_int_eq(EVP_DigestUpdate(md, c, clen), 1);
	ck_assert_int_eq(EVP_DigestFinal_ex(md, d, &dlen), 1);
	EVP_MD_CTX_free(md);
	free(c);
	b64_encode_ossl(d, 32, out);
}

START_TEST(body_memory_is_constant)
{
	char *text = malloc(CHUNK), *blank = malloc(CHUNK);
	vdkim_key *rsa = td_key("rsa2048.pem"), *ed = td_key("ed25519.pem");
	vdkim_keymap *map;
	vdkim_signer *s;
	vdkim_verifier *v;
	vdkim_error err;
	vdkim_sig_spec spec[2];
	char *rec, bh[64], want[45];
	const char *sig[2];
	size_t siglen[2];
	long growth;

	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(blank);
	make_text_chunk(text);
	for (size_t i = 0; i < CHUNK; i += 2)
		memcpy(blank + i, "\r\n", 2);
	rec = key_record_of(rsa);
	map = keymap1("big-rsa._domainkey.example.com", rec);
	free(rec);
	rec = key_record_of(ed);
	keymap_add(map, "big-ed._domainkey.example.com", rec);
	free(rec);

	/* Signing. */
	vdkim_sig_spec_init(&spec[0]);
	spec[0].key = rsa;
	spec[0].domain = "example.com";
	spec[0].selector = "big-rsa";
	spec[1] = spec[0];
	spec[1].key = ed;
	spec[1].selector = "big-ed";
	spec[1].header_canon = VDKIM_CANON_SIMPLE;
	spec[1].body_canon = VDKIM_CANON_SIMPLE;
	ck_assert_int_eq(vdkim_signer_new(&s, &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_signer_add(s, &spec[0], &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_signer_add(s, &spec[1], &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_signer_message(s, HEADER, strlen(HEADER),
	    &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_signer_message(s, "\r\n", 2, &err), VDKIM_OK);
	/* The first body bytes through _message(), the rest through the
	 * same path: measured over the whole body. */
	growth = feed_body(smsg, s, text, blank);
	ck_assert_msg(growth == 0, "the signer's heap grew by %ld bytes "
	    "over a %d MB body", growth,
	    (TEXT_CHUNKS + BLANK_CHUNKS) * CHUNK / (1024 * 1024));
	ck_assert_int_eq(vdkim_signer_eom(s, &err), VDKIM_OK);
	for (int i = 0; i < 2; i++) {
		sig[i] = vdkim_signer_result(s, (size_t)i, &siglen[i]);
		ck_assert_ptr_nonnull(sig[i]);
		ck_assert(sig_tag(sig[i], siglen[i], "bh", bh, sizeof(bh)));
		expected_bh(text, (vdkim_canon)(i == 0), want);
		ck_assert_str_eq(bh, want);
	}

	/* Verifying, header by header then body chunks. */
	ck_assert_int_eq(vdkim_verifier_new(vdkim_keymap_lookup, map, &v,
	    &err), VDKIM_OK);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(vdkim_verifier_header(v, sig[i], siglen[i],
		    &err), VDKIM_OK);
	{
		tmsg m;
		tmsg_parse(&m, HEADER, strlen(HEADER));
		for (size_t i = 0; i < m.nfields; i++)
			ck_assert_int_eq(vdkim_verifier_header(v, m.field[i],
			    m.flen[i], &err), VDKIM_OK);
	}
	ck_assert_int_eq(vdkim_verifier_eoh(v, &err), VDKIM_OK);
	growth = feed_body(vbody, v, text, blank);
	ck_assert_msg(growth == 0, "the verifier's heap grew by %ld bytes",
	    growth);
	ck_assert_int_eq(vdkim_verifier_eom(v, &err), VDKIM_OK);
	ck_assert_uint_eq(vdkim_verifier_count(v), 2);
	for (size_t i = 0; i < 2; i++)
		ck_assert_msg(vdkim_verifier_result(v, i)->result ==
		    VDKIM_RES_PASS, "signature %zu: %s", i,
		    vdkim_verifier_result(v, i)->detail);
	vdkim_verifier_free(v);
	vdkim_signer_free(s);

	/* The signer's _body() path as well. */
	ck_assert_int_eq(vdkim_signer_new(&s, &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_signer_add(s, &spec[0], &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_signer_header(s, HEADER, 23, &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_signer_eoh(s, &err), VDKIM_OK);
	growth = feed_body(sbody, s, text, blank);
	ck_assert_msg(growth == 0, "signer_body: the heap grew by %ld bytes",
	    growth);
	ck_assert_int_eq(vdkim_signer_eom(s, &err), VDKIM_OK);
	vdkim_signer_free(s);

	vdkim_keymap_free(map);
	vdkim_key_unref(rsa);
	vdkim_key_unref(ed);
	free(text);
	free(blank);
}
END_TEST

/* The measure itself sees a leak-sized allocation, so a zero above
 * means something. */
START_TEST(measure_sees_allocations)
{
	size_t before = heap_in_use();
	char *p = malloc(100000);
	size_t after;

	ck_assert_ptr_nonnull(p);
	memset(p, 1, 100000);
	after = heap_in_use();
	ck_assert_uint_ge(after - before, 100000);
	free(p);
	ck_assert_uint_eq(heap_in_use(), before);
}
END_TEST

Suite *
memory_suite(void)
{
	Suite *s = suite_create("memory");
	TCase *tc = tcase_create("body");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, measure_sees_allocations);
	tcase_add_test(tc, body_memory_is_constant);
	suite_add_tcase(s, tc);
	return s;
}
