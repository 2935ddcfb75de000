/*
 * test_base64.c - base64 encoding and FWS-tolerant, strict decoding.
 */
#include <string.h>

#include "base64.h"
#include "helpers.h"
#include "suites.h"

/* RFC 4648 section 10. */
static const struct {
	const char *plain, *b64;
} vectors[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

START_TEST(encode_rfc4648)
{
	char out[32];
	size_t n = strlen(vectors[_i].plain);

	memset(out, 'X', sizeof(out));
	ck_assert_uint_eq(base64_encoded_len(n), strlen(vectors[_i].b64));
	base64_encode((const unsigned char *)vectors[_i].plain, n, out);
	ck_assert_str_eq(out, vectors[_i].b64);
}
END_TEST

START_TEST(decode_rfc4648)
{
	unsigned char out[32];
	long n = base64_decode(vectors[_i].b64, strlen(vectors[_i].b64), out,
	    sizeof(out));

	ck_assert_int_eq(n, (long)strlen(vectors[_i].plain));
	ck_assert_mem_eq(out, vectors[_i].plain, (size_t)n);
}
END_TEST

START_TEST(decode_skips_fws)
{
	unsigned char out[32];
	const char *in = " Zm9v\r\n\tYm\r\n Fy \t";
	long n = base64_decode(in, strlen(in), out, sizeof(out));

	ck_assert_int_eq(n, 6);
	ck_assert_mem_eq(out, "foobar", 6);
	/* FWS inside the padding too. */
	n = base64_decode("Zm9vYg= =", 9, out, sizeof(out));
	ck_assert_int_eq(n, 4);
	ck_assert_mem_eq(out, "foob", 4);
	/* Only white space: nothing. */
	ck_assert_int_eq(base64_decode(" \r\n\t", 4, out, sizeof(out)), 0);
}
END_TEST

START_TEST(decode_errors)
{
	unsigned char out[64];
	static const char *const bad[] = {
		"Zm9v!",      /* a character outside the alphabet */
		"Zm9-",       /* base64url is not base64 */
		"Zm9_",
		"Z",          /* a truncated group of one digit */
		"Zm9vY",      /* ... after a full group */
		"=",          /* padding alone */
		"Zg=",        /* padding that does not complete the group */
		"Z===",       /* padding after one digit */
		"Zg===",      /* three padding characters */
		"Zm9=v",      /* a digit after padding */
		"Zg==Zg==",   /* data after a padded group */
		"Zm9vYmFy=",  /* padding after a complete group */
		"Zm\x80v",    /* a byte with the high bit set */
		"Zm9v\0",     /* NUL inside the given length */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = i == sizeof(bad) / sizeof(bad[0]) - 1 ? 5 :
		    strlen(bad[i]);
		ck_assert_msg(base64_decode(bad[i], n, out, sizeof(out)) == -1,
		    "\"%s\" was accepted", bad[i]);
	}
}
END_TEST

START_TEST(decode_overflow)
{
	unsigned char out[8];

	memset(out, 0xAA, sizeof(out));
	/* 6 bytes do not fit in 5; nothing past outmax is written. */
	ck_assert_int_eq(base64_decode("Zm9vYmFy", 8, out, 5), -1);
	ck_assert_uint_eq(out[5], 0xAA);
	/* A partial last group must fit too. */
	ck_assert_int_eq(base64_decode("Zm9vYg==", 8, out, 3), -1);
	ck_assert_int_eq(base64_decode("Zm9vYmE=", 8, out, 4), -1);
	/* Exactly enough room. */
	ck_assert_int_eq(base64_decode("Zm9vYmE=", 8, out, 5), 5);
	ck_assert_mem_eq(out, "fooba", 5);
	ck_assert_uint_eq(out[5], 0xAA);
	ck_assert_int_eq(base64_decode("Zm9v", 4, out, 0), -1);
}
END_TEST

START_TEST(roundtrip_random)
{
	trng r;
	unsigned char in[300], back[300];
	char enc[420], fws[900];

	trng_seed(&r, 42);
	for (int iter = 0; iter < 2000; iter++) {
		size_t n = trng_below(&r, sizeof(in) + 1), w = 0;
		long got;

		for (size_t i = 0; i < n; i++)
			in[i] = (unsigned char)trng_next(&r);
		base64_encode(in, n, enc);
		ck_assert_uint_eq(strlen(enc), base64_encoded_len(n));
		/* Same text as OpenSSL's encoder. */
		{
			char ref[420];
			b64_encode_ossl(in, n, ref);
			ck_assert_str_eq(enc, ref);
		}
		got = base64_decode(enc, strlen(enc), back, sizeof(back));
		ck_assert_int_eq(got, (long)n);
		ck_assert_mem_eq(back, in, n);
		/* With FWS sprinkled in. */
		for (size_t i = 0; enc[i] != '\0'; i++) {
			if (trng_below(&r, 5) == 0) {
				static const char *const ws[] = { " ", "\t",
					"\r\n ", "\n\t" };
				const char *s = ws[trng_below(&r, 4)];
				memcpy(fws + w, s, strlen(s));
				w += strlen(s);
			}
			fws[w++] = enc[i];
		}
		got = base64_decode(fws, w, back, sizeof(back));
		ck_assert_int_eq(got, (long)n);
		ck_assert_mem_eq(back, in, n);
	}
}
END_TEST

Suite *
base64_suite(void)
{
	Suite *s = suite_create("base64");
	TCase *tc = tcase_create("base64");

	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_loop_test(tc, encode_rfc4648, 0,
	    (int)(sizeof(vectors) / sizeof(vectors[0])));
	tcase_add_loop_test(tc, decode_rfc4648, 0,
	    (int)(sizeof(vectors) / sizeof(vectors[0])));
	tcase_add_test(tc, decode_skips_fws);
	tcase_add_test(tc, decode_errors);
	tcase_add_test(tc, decode_overflow);
	tcase_add_test(tc, roundtrip_random);
	suite_add_tcase(s, tc);
	return s;
}
