/*
 * test_tag_list.c - the strict tag=value list parser (RFC 6376 3.2).
 */
#include <string.h>

#include "helpers.h"
#include "suites.h"
#include "tag_list.h"

static int
parse(tag_list *tl, const char *text, char *why, size_t whylen)
{
	why[0] = '\0';
	return tag_list_parse(tl, text, strlen(text), why, whylen);
}

START_TEST(basic)
{
	tag_list tl;
	char why[160];

	ck_assert_int_eq(parse(&tl, "v=1; a=rsa-sha256; d=example.com", why,
	    sizeof(why)), 0);
	ck_assert_uint_eq(tl.n, 3);
	ck_assert_str_eq(tl.tags[0].name, "v");
	ck_assert_str_eq(tl.tags[0].value, "1");
	ck_assert_str_eq(tag_list_get(&tl, "a"), "rsa-sha256");
	ck_assert_str_eq(tag_list_get(&tl, "d"), "example.com");
	ck_assert_ptr_null(tag_list_get(&tl, "b"));
	/* Names are case-sensitive. */
	ck_assert_ptr_null(tag_list_get(&tl, "V"));
	tag_list_free(&tl);
	ck_assert_ptr_null(tl.buf);
	ck_assert_uint_eq(tl.n, 0);
}
END_TEST

START_TEST(trailing_semicolon_and_empty)
{
	tag_list tl;
	char why[160];

	ck_assert_int_eq(parse(&tl, "a=1;", why, sizeof(why)), 0);
	ck_assert_uint_eq(tl.n, 1);
	tag_list_free(&tl);
	ck_assert_int_eq(parse(&tl, "a=1; \r\n ", why, sizeof(why)), 0);
	ck_assert_uint_eq(tl.n, 1);
	tag_list_free(&tl);
	/* An empty value is a value. */
	ck_assert_int_eq(parse(&tl, "p=; t=y", why, sizeof(why)), 0);
	ck_assert_uint_eq(tl.n, 2);
	ck_assert_str_eq(tag_list_get(&tl, "p"), "");
	ck_assert_str_eq(tag_list_get(&tl, "t"), "y");
	tag_list_free(&tl);
	/* The empty list. */
	ck_assert_int_eq(parse(&tl, "", why, sizeof(why)), 0);
	ck_assert_uint_eq(tl.n, 0);
	tag_list_free(&tl);
}
END_TEST

START_TEST(fws_folding)
{
	tag_list tl;
	char why[160];
	const char *text = "\r\n\tv = 1 ;\r\n a=rsa-sha256;\r\n h=From :\r\n"
	    "\t To ;  bh\t=\tabc\r\n def \r\n ; x_y1=2";

	ck_assert_int_eq(parse(&tl, text, why, sizeof(why)), 0);
	ck_assert_uint_eq(tl.n, 5);
	ck_assert_str_eq(tag_list_get(&tl, "v"), "1");
	ck_assert_str_eq(tag_list_get(&tl, "a"), "rsa-sha256");
	/* FWS at both ends removed, inner FWS kept. */
	ck_assert_str_eq(tag_list_get(&tl, "h"), "From :\r\n\t To");
	ck_assert_str_eq(tag_list_get(&tl, "bh"), "abc\r\n def");
	ck_assert_str_eq(tag_list_get(&tl, "x_y1"), "2");
	tag_list_free(&tl);
}
END_TEST

START_TEST(errors)
{
	static const struct {
		const char *text, *why_has;
	} bad[] = {
		/* why_has: what the explanation must name ("" = anything). */
		{ "v=1; a", "\"a\"" },
		{ "v=1; a;", "\"a\"" },
		{ "v", "\"v\"" },
		{ "1v=1", "" },
		{ "v=1; _x=2", "" },
		{ "v=1; =2", "" },
		{ "v=1;; a=2", "" },
		{ "a b=1", "\"a\"" },
		{ "v=1; v=2", "\"v\"" },
		{ "a=1; b=2; a=1", "\"a\"" },
		{ "a=caf\xc3\xa9", "\"a\"" },
		{ "a=x\001y", "\"a\"" },
		{ "a=x\x7fy", "\"a\"" },
	};
	tag_list tl;
	char why[160];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tl.buf = NULL;
		ck_assert_msg(parse(&tl, bad[i].text, why, sizeof(why)) == -1,
		    "\"%s\" was accepted", bad[i].text);
		ck_assert_msg(why[0] != '\0' &&
		    strstr(why, bad[i].why_has) != NULL,
		    "\"%s\": why=\"%s\"", bad[i].text, why);
		/* On error tl is left empty (and nothing leaks). */
		ck_assert_uint_eq(tl.n, 0);
		ck_assert_ptr_null(tl.buf);
	}
	/* A NUL inside the given length is an invalid byte too. */
	ck_assert_int_eq(tag_list_parse(&tl, "a=x\0y", 5, why, sizeof(why)),
	    -1);
	/* why may be NULL. */
	ck_assert_int_eq(tag_list_parse(&tl, "a", 1, NULL, 0), -1);
}
END_TEST

START_TEST(too_many_tags)
{
	char text[TAG_LIST_MAX * 12 + 32];
	size_t w = 0;
	tag_list tl;
	char why[160];

	for (int i = 0; i < TAG_LIST_MAX; i++)
		w += (size_t)sprintf(text + w, "t%d=%d;", i, i);
	ck_assert_int_eq(tag_list_parse(&tl, text, w, why, sizeof(why)), 0);
	ck_assert_uint_eq(tl.n, TAG_LIST_MAX);
	ck_assert_str_eq(tag_list_get(&tl, "t47"), "47");
	tag_list_free(&tl);
	w += (size_t)sprintf(text + w, "z=1");
	ck_assert_int_eq(tag_list_parse(&tl, text, w, why, sizeof(why)), -1);
	ck_assert_ptr_null(tl.buf);
}
END_TEST

START_TEST(value_chars)
{
	tag_list tl;
	char why[160];
	char text[128];
	size_t w = 0;

	/* Every VALCHAR (%x21-3A / %x3C-7E) is allowed in a value. */
	w += (size_t)sprintf(text, "a=");
	for (int c = 0x21; c <= 0x7e; c++)
		if (c != ';')
			text[w++] = (char)c;
	ck_assert_int_eq(tag_list_parse(&tl, text, w, why, sizeof(why)), 0);
	ck_assert_uint_eq(strlen(tag_list_get(&tl, "a")), 0x7e - 0x21);
	tag_list_free(&tl);
	/* The text is copied: the caller's buffer is not modified. */
	strcpy(text, "a = 1 ; b = 2");
	ck_assert_int_eq(parse(&tl, text, why, sizeof(why)), 0);
	ck_assert_str_eq(text, "a = 1 ; b = 2");
	tag_list_free(&tl);
}
END_TEST

Suite *
tag_list_suite(void)
{
	Suite *s = suite_create("tag_list");
	TCase *tc = tcase_create("tag_list");

	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, basic);
	tcase_add_test(tc, trailing_semicolon_and_empty);
	tcase_add_test(tc, fws_folding);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, too_many_tags);
	tcase_add_test(tc, value_chars);
	suite_add_tcase(s, tc);
	return s;
}
