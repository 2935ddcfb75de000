/*
 * test_header_fields.c - header field storage and selection, domain name
 * checks, and the stable names of codes.
 */
#include <stdlib.h>
#include <string.h>

#include "domain_name.h"
#include "header_fields.h"
#include "helpers.h"
#include "suites.h"

static vdkim_rc
add(header_fields *h, const char *f, vdkim_error *err)
{
	return header_fields_add(h, f, strlen(f), err);
}

START_TEST(add_and_read)
{
	header_fields h;
	vdkim_error err;

	header_fields_init(&h);
	ck_assert_int_eq(add(&h, "From: a@example.com\r\n", &err), VDKIM_OK);
	ck_assert_int_eq(add(&h, "Subject \t: hi\r\n there\r\n", &err),
	    VDKIM_OK);
	ck_assert_int_eq(add(&h, "X-No-EOL:v", &err), VDKIM_OK);
	ck_assert_uint_eq(h.n, 3);
	/* Stored without the final line end; name without WSP. */
	ck_assert_str_eq(header_fields_text(&h, 0), "From: a@example.com");
	ck_assert_uint_eq(h.f[0].len, 19);
	ck_assert_uint_eq(h.f[0].name_len, 4);
	ck_assert_str_eq(header_fields_text(&h, 1), "Subject \t: hi\r\n there");
	ck_assert_uint_eq(h.f[1].name_len, 7);
	ck_assert_str_eq(header_fields_text(&h, 2), "X-No-EOL:v");
	ck_assert(header_fields_is(&h, 1, "subject", 7));
	ck_assert(header_fields_is(&h, 1, "SUBJECT", 7));
	ck_assert(!header_fields_is(&h, 1, "Subjec", 6));
	ck_assert(!header_fields_is(&h, 0, "Subject", 7));
	ck_assert_int_eq(h.eol_seen, 1);
	ck_assert_int_eq(h.eol_crlf, 1);
	header_fields_free(&h);
	ck_assert_ptr_null(h.arena);
	ck_assert_uint_eq(h.n, 0);
}
END_TEST

START_TEST(eol_style)
{
	header_fields h;
	vdkim_error err;

	header_fields_init(&h);
	/* A field without a line end says nothing; the first that has one
	 * decides. */
	ck_assert_int_eq(add(&h, "A: 1", &err), VDKIM_OK);
	ck_assert_int_eq(h.eol_seen, 0);
	ck_assert_int_eq(add(&h, "B: 2\n", &err), VDKIM_OK);
	ck_assert_int_eq(add(&h, "C: 3\r\n", &err), VDKIM_OK);
	ck_assert_int_eq(h.eol_seen, 1);
	ck_assert_int_eq(h.eol_crlf, 0);
	header_fields_free(&h);
}
END_TEST

START_TEST(add_errors)
{
	static const char *const bad[] = {
		"no colon here\r\n",
		": empty name\r\n",
		" \t: blank name\r\n",
		"Bad Name: space inside\r\n",
		"Bad\x01Name: control\r\n",
		"Caf\xc3\xa9: eight bit\r\n",
		"",
		"\r\n",
	};
	header_fields h;
	vdkim_error err;

	header_fields_init(&h);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.rc = VDKIM_OK;
		ck_assert_msg(add(&h, bad[i], &err) == VDKIM_ESYNTAX,
		    "\"%s\" was accepted", bad[i]);
		ck_assert_int_eq(err.rc, VDKIM_ESYNTAX);
		ck_assert_uint_gt(strlen(err.msg), 0);
	}
	ck_assert_uint_eq(h.n, 0);
	/* A colon in the continuation does not make a name. */
	ck_assert_int_eq(add(&h, "NoColon\r\n x: y", &err), VDKIM_ESYNTAX);
	header_fields_free(&h);
}
END_TEST

START_TEST(limit_fields)
{
	header_fields h;
	vdkim_error err;

	header_fields_init(&h);
	for (int i = 0; i < VDKIM_MAX_HEADER_FIELDS; i++)
		ck_assert_int_eq(add(&h, "X-A: b\r\n", &err), VDKIM_OK);
	ck_assert_uint_eq(h.n, VDKIM_MAX_HEADER_FIELDS);
	err.rc = VDKIM_OK;
	ck_assert_int_eq(add(&h, "X-A: b\r\n", &err), VDKIM_ELIMIT);
	ck_assert_int_eq(err.rc, VDKIM_ELIMIT);
	ck_assert_uint_eq(h.n, VDKIM_MAX_HEADER_FIELDS);
	header_fields_free(&h);
}
END_TEST

START_TEST(limit_bytes)
{
	header_fields h;
	vdkim_error err;
	size_t big = VDKIM_MAX_HEADER_BYTES;
	char *f = malloc(big + 1);

	ck_assert_ptr_nonnull(f);
	memset(f, 'x', big);
	memcpy(f, "X-Big: ", 7);
	header_fields_init(&h);
	/* One field of the whole budget (its NUL included) fits... */
	ck_assert_int_eq(header_fields_add(&h, f, big - 1, &err), VDKIM_OK);
	/* ... and then nothing more. */
	ck_assert_int_eq(add(&h, "A:b", &err), VDKIM_ELIMIT);
	header_fields_free(&h);
	/* A single field over the budget. */
	header_fields_init(&h);
	ck_assert_int_eq(header_fields_add(&h, f, big, &err), VDKIM_ELIMIT);
	ck_assert_uint_eq(h.n, 0);
	/* Many mid-sized fields add up. */
	f[4000] = '\0';
	{
		vdkim_rc rc = VDKIM_OK;
		int i;
		for (i = 0; i < 400 && rc == VDKIM_OK; i++)
			rc = add(&h, f, &err);
		ck_assert_int_eq(rc, VDKIM_ELIMIT);
		ck_assert_int_eq(i, VDKIM_MAX_HEADER_BYTES / 4001 + 1);
	}
	header_fields_free(&h);
	free(f);
}
END_TEST

START_TEST(pick_bottom_up)
{
	header_fields h;
	vdkim_error err;
	unsigned char used[8] = { 0 };

	header_fields_init(&h);
	ck_assert_int_eq(add(&h, "Received: top\r\n", &err), VDKIM_OK);
	ck_assert_int_eq(add(&h, "From: x\r\n", &err), VDKIM_OK);
	ck_assert_int_eq(add(&h, "received: middle\r\n", &err), VDKIM_OK);
	ck_assert_int_eq(add(&h, "RECEIVED : bottom\r\n", &err), VDKIM_OK);
	ck_assert_uint_eq(header_fields_count(&h, "Received", 8), 3);
	ck_assert_uint_eq(header_fields_count(&h, "From", 4), 1);
	ck_assert_uint_eq(header_fields_count(&h, "To", 2), 0);
	ck_assert_uint_eq(header_fields_pick(&h, "Received", 8, used), 3);
	ck_assert_uint_eq(header_fields_pick(&h, "received", 8, used), 2);
	ck_assert_uint_eq(header_fields_pick(&h, "Received", 8, used), 0);
	ck_assert_uint_eq(header_fields_pick(&h, "Received", 8, used),
	    (size_t)-1);
	ck_assert_uint_eq(header_fields_pick(&h, "From", 4, used), 1);
	ck_assert_uint_eq(header_fields_pick(&h, "From", 4, used),
	    (size_t)-1);
	header_fields_free(&h);
}
END_TEST

START_TEST(name_validity)
{
	ck_assert(header_name_is_valid("From"));
	ck_assert(header_name_is_valid("X-Weird_Name.1!"));
	ck_assert(!header_name_is_valid(""));
	ck_assert(!header_name_is_valid("A B"));
	ck_assert(!header_name_is_valid("A:B"));
	ck_assert(!header_name_is_valid("A;B"));
	ck_assert(!header_name_is_valid("A\tB"));
	ck_assert(!header_name_is_valid("\xc3\xa9"));
}
END_TEST

START_TEST(domains)
{
	ck_assert(domain_is_valid("example.com"));
	ck_assert(domain_is_valid("a-b.c_d.EXAMPLE.com"));
	ck_assert(domain_is_valid("localhost"));
	ck_assert(!domain_is_valid(""));
	ck_assert(!domain_is_valid(".example.com"));
	ck_assert(!domain_is_valid("example.com."));
	ck_assert(!domain_is_valid("example..com"));
	ck_assert(!domain_is_valid("exa mple.com"));
	ck_assert(!domain_is_valid("exa;mple.com"));
	ck_assert(!domain_is_valid("ex@mple.com"));
	{
		char d[300];
		memset(d, 'a', sizeof(d));
		d[253] = '\0';
		for (int i = 50; i < 253; i += 50)
			d[i] = '.';
		ck_assert(domain_is_valid(d));
		d[253] = 'a';
		d[254] = '\0';
		ck_assert(!domain_is_valid(d));
	}
	ck_assert(domain_within("example.com", "example.com"));
	ck_assert(domain_within("EXAMPLE.com", "example.COM"));
	ck_assert(domain_within("mail.example.com", "example.com"));
	ck_assert(domain_within("a.b.example.com", "example.com"));
	ck_assert(!domain_within("badexample.com", "example.com"));
	ck_assert(!domain_within("example.com", "mail.example.com"));
	ck_assert(!domain_within("example.org", "example.com"));
	ck_assert(!domain_within("com", "example.com"));
}
END_TEST

START_TEST(names)
{
	vdkim_canon c = VDKIM_CANON_RELAXED;

	ck_assert_str_eq(vdkim_rc_name(VDKIM_OK), "ok");
	ck_assert_str_eq(vdkim_rc_name(VDKIM_EKEYSIZE), "key-size-refused");
	ck_assert_str_eq(vdkim_rc_name((vdkim_rc)999), "unknown");
	ck_assert_str_eq(vdkim_alg_name(VDKIM_ALG_RSA_SHA256), "rsa-sha256");
	ck_assert_str_eq(vdkim_alg_name(VDKIM_ALG_ED25519_SHA256),
	    "ed25519-sha256");
	ck_assert_str_eq(vdkim_alg_name(VDKIM_ALG_RSA_SHA1), "rsa-sha1");
	ck_assert_int_eq(vdkim_alg_from_name("RSA-SHA256"),
	    VDKIM_ALG_RSA_SHA256);
	ck_assert_int_eq(vdkim_alg_from_name("ed25519-sha256"),
	    VDKIM_ALG_ED25519_SHA256);
	ck_assert_int_eq(vdkim_alg_from_name("rsa-sha512"), VDKIM_ALG_NONE);
	ck_assert_int_eq(vdkim_alg_from_name(NULL), VDKIM_ALG_NONE);
	ck_assert_str_eq(vdkim_canon_name(VDKIM_CANON_SIMPLE), "simple");
	ck_assert_int_eq(vdkim_canon_from_name("Simple", &c), 0);
	ck_assert_int_eq(c, VDKIM_CANON_SIMPLE);
	ck_assert_int_eq(vdkim_canon_from_name("nowsp", &c), -1);
	ck_assert_int_eq(c, VDKIM_CANON_SIMPLE);
	ck_assert_str_eq(vdkim_result_name(VDKIM_RES_PASS), "pass");
	ck_assert_str_eq(vdkim_result_name(VDKIM_RES_PERMERROR),
	    "permerror");
	ck_assert_str_eq(vdkim_reason_name(VDKIM_R_KEY_TOO_SMALL),
	    "key-too-small");
	ck_assert_str_eq(vdkim_reason_name(VDKIM_R_SHA1_REFUSED),
	    "sha1-refused");
	/* Every reason has its own name. */
	for (int a = 0; a <= VDKIM_R_INTERNAL; a++) {
		ck_assert_str_ne(vdkim_reason_name((vdkim_reason)a),
		    "unknown");
		for (int b = a + 1; b <= VDKIM_R_INTERNAL; b++)
			ck_assert_str_ne(vdkim_reason_name((vdkim_reason)a),
			    vdkim_reason_name((vdkim_reason)b));
	}
	ck_assert_str_eq(vdkim_reason_name((vdkim_reason)(VDKIM_R_INTERNAL +
	    1)), "unknown");
}
END_TEST

START_TEST(default_headers)
{
	const char *const *d = vdkim_default_headers();
	int from = 0, subject = 0, received = 0, dkim = 0;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	for (; d[n] != NULL; n++) {
		from += strcmp(d[n], "From") == 0;
		subject += strcmp(d[n], "Subject") == 0;
		received += strcmp(d[n], "Received") == 0;
		dkim += strcmp(d[n], "DKIM-Signature") == 0;
		ck_assert(header_name_is_valid(d[n]));
	}
	ck_assert_int_eq(from, 1);
	ck_assert_int_eq(subject, 1);
	ck_assert_int_eq(received, 0); /* trace fields are not signed */
	ck_assert_int_eq(dkim, 0);
	ck_assert_uint_ge(n, 10);
}
END_TEST

Suite *
header_fields_suite(void)
{
	Suite *s = suite_create("header_fields");
	TCase *tc = tcase_create("header_fields");
	TCase *misc = tcase_create("names_domains");

	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, add_and_read);
	tcase_add_test(tc, eol_style);
	tcase_add_test(tc, add_errors);
	tcase_add_test(tc, limit_fields);
	tcase_add_test(tc, limit_bytes);
	tcase_add_test(tc, pick_bottom_up);
	tcase_add_test(tc, name_validity);
	suite_add_tcase(s, tc);
	tcase_set_timeout(misc, TEST_TIMEOUT);
	tcase_add_test(misc, domains);
	tcase_add_test(misc, names);
	tcase_add_test(misc, default_headers);
	suite_add_tcase(s, misc);
	return s;
}
