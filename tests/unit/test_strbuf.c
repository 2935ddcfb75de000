/*
 * test_strbuf.c - the growable string: growth that cannot overflow, and
 * the functions that stand in for writing its fields.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "helpers.h"
#include "interval.h"
#include "strbuf.h"
#include "suites.h"

/* len + extra + 1 past SIZE_MAX wrapped to a small number, which the
 * buffer "had room for": sb_add then copied SIZE_MAX bytes. */
START_TEST(reserve_refuses_wraparound)
{
	strbuf sb = STRBUF_INIT;

	ck_assert_int_eq(sb_reserve(&sb, SIZE_MAX), -1);
	ck_assert_int_eq(sb.failed, 1);
	ck_assert_ptr_null(sb_take(&sb));

	sb_adds(&sb, "abc");
	ck_assert_int_eq(sb_reserve(&sb, SIZE_MAX - 3), -1);
	ck_assert_int_eq(sb.failed, 1);
	ck_assert_uint_eq(sb.len, 3);
	sb_free(&sb);
}
END_TEST

/* The doubling must not wrap to 0 (and loop forever) on a request just
 * under SIZE_MAX, nor ask malloc for more than any object may be. */
START_TEST(reserve_huge_fails_cleanly)
{
	strbuf sb = STRBUF_INIT;

	sb_adds(&sb, "abcde");
	ck_assert_int_eq(sb_reserve(&sb, SIZE_MAX - 10), -1);
	ck_assert_int_eq(sb.failed, 1);
	ck_assert_str_eq(sb.s, "abcde");
	sb_free(&sb);
}
END_TEST

START_TEST(add_huge_leaves_string)
{
	strbuf sb = STRBUF_INIT;
	char c = 'x';

	sb_adds(&sb, "keep");
	sb_add(&sb, &c, SIZE_MAX);
	ck_assert_int_eq(sb.failed, 1);
	ck_assert_uint_eq(sb.len, 4);
	ck_assert_str_eq(sb.s, "keep");
	sb_free(&sb);

	sb_adds(&sb, "keep");
	sb_add(&sb, &c, (size_t)PTRDIFF_MAX);
	ck_assert_int_eq(sb.failed, 1);
	ck_assert_uint_eq(sb.len, 4);
	ck_assert_str_eq(sb.s, "keep");
	sb_free(&sb);
}
END_TEST

START_TEST(try_reserve_does_not_remember)
{
	strbuf sb = STRBUF_INIT;

	ck_assert_int_eq(sb_try_reserve(&sb, SIZE_MAX), -1);
	ck_assert_int_eq(sb.failed, 0);
	ck_assert_int_eq(sb_try_reserve(&sb, 10), 0);
	ck_assert_uint_ge(sb.cap, 11);
	sb_free(&sb);
}
END_TEST

START_TEST(reset_truncate_commit)
{
	strbuf sb = STRBUF_INIT;
	size_t cap;

	sb_adds(&sb, "hello, world");
	sb_truncate(&sb, 5);
	ck_assert_uint_eq(sb.len, 5);
	ck_assert_str_eq(sb.s, "hello");
	sb_truncate(&sb, 50); /* not longer: unchanged */
	ck_assert_str_eq(sb.s, "hello");

	cap = sb.cap;
	sb_reset(&sb);
	ck_assert_uint_eq(sb.len, 0);
	ck_assert_str_eq(sb.s, "");
	ck_assert_uint_eq(sb.cap, cap); /* storage kept */

	/* Bytes written into reserved room, as recv() or read() do. */
	ck_assert_int_eq(sb_reserve(&sb, 3), 0);
	memcpy(sb.s + sb.len, "abc", 3);
	sb_commit(&sb, 3);
	ck_assert_str_eq(sb.s, "abc");
	ck_assert_int_eq(sb.failed, 0);

	/* More than the room: refused, remembered. */
	sb_commit(&sb, sb.cap);
	ck_assert_int_eq(sb.failed, 1);
	ck_assert_str_eq(sb.s, "abc");
	sb_free(&sb);

	sb_reset(&sb); /* an empty, unallocated buffer */
	sb_truncate(&sb, 0);
	sb_commit(&sb, 0);
	ck_assert_int_eq(sb.failed, 0);
	ck_assert_ptr_null(sb.s);
}
END_TEST

/* Durations as operators read them (interval.h, beside the parser). */
START_TEST(interval_text)
{
	char buf[INTERVAL_TEXT_MAX], tiny[4];

	ck_assert_str_eq(interval_format(7 * 86400, buf, sizeof(buf)), "7d");
	ck_assert_str_eq(interval_format(14 * 86400, buf, sizeof(buf)),
	    "14d");
	ck_assert_str_eq(interval_format(86400 + 12 * 3600, buf, sizeof(buf)),
	    "1d 12h");
	ck_assert_str_eq(interval_format(3600, buf, sizeof(buf)), "1h");
	ck_assert_str_eq(interval_format(90, buf, sizeof(buf)), "1m 30s");
	ck_assert_str_eq(interval_format(0, buf, sizeof(buf)), "0s");
	ck_assert_str_eq(interval_format(-5, buf, sizeof(buf)), "0s");
	ck_assert_str_eq(interval_format(86400 + 1, buf, sizeof(buf)),
	    "1d 1s");
	/* Cut, never overrun. */
	ck_assert_str_eq(interval_format(86400 + 3600, tiny, sizeof(tiny)),
	    "1d");
}
END_TEST

Suite *
strbuf_suite(void)
{
	Suite *s = suite_create("strbuf");
	TCase *tc = tcase_create("strbuf");

	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, interval_text);
	tcase_add_test(tc, reserve_refuses_wraparound);
	tcase_add_test(tc, reserve_huge_fails_cleanly);
	tcase_add_test(tc, add_huge_leaves_string);
	tcase_add_test(tc, try_reserve_does_not_remember);
	tcase_add_test(tc, reset_truncate_commit);
	suite_add_tcase(s, tc);
	return s;
}
