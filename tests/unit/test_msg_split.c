/*
 * test_msg_split.c - splitting a raw message, fed in pieces split
 * anywhere, into header fields, the end of the header and the body.
 */
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "msg_split.h"
#include "suites.h"

/* What the splitter handed over, flattened: each field as "[field]", the
 * end of header as "|", the body bytes as they came. */
typedef struct record {
	char out[8192];
	size_t n;
	int eoh_calls;
	size_t fields;
	int fail_on_field; /* 1-based; 0 = never */
} record;

static void
rec_add(record *r, const void *p, size_t n)
{
	ck_assert_uint_lt(r->n + n, sizeof(r->out));
	memcpy(r->out + r->n, p, n);
	r->n += n;
	r->out[r->n] = '\0';
}

static vdkim_rc
rec_header(void *ctx, const char *field, size_t len, vdkim_error *err)
{
	record *r = ctx;

	(void)err;
	ck_assert_int_eq(r->eoh_calls, 0);
	r->fields++;
	if (r->fail_on_field != 0 && r->fields == (size_t)r->fail_on_field)
		return VDKIM_ESYNTAX;
	rec_add(r, "[", 1);
	rec_add(r, field, len);
	rec_add(r, "]", 1);
	return VDKIM_OK;
}

static vdkim_rc
rec_eoh(void *ctx, vdkim_error *err)
{
	record *r = ctx;

	(void)err;
	r->eoh_calls++;
	rec_add(r, "|", 1);
	return VDKIM_OK;
}

static vdkim_rc
rec_body(void *ctx, const void *data, size_t len, vdkim_error *err)
{
	record *r = ctx;

	(void)err;
	ck_assert_int_eq(r->eoh_calls, 1);
	ck_assert_uint_gt(len, 0);
	rec_add(r, data, len);
	return VDKIM_OK;
}

static const msg_split_ops rec_ops = { rec_header, rec_eoh, rec_body };

/* Splits msg fed as the given pieces (cuts[] are offsets). */
static void
split_with_cuts(const char *msg, size_t len, const size_t *cuts,
    size_t ncuts, record *r)
{
	msg_split m;
	vdkim_error err;
	size_t prev = 0;

	memset(r, 0, sizeof(*r));
	msg_split_init(&m, &rec_ops, r);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;
		ck_assert_int_eq(msg_split_feed(&m, msg + prev, end - prev,
		    &err), VDKIM_OK);
		prev = end;
	}
	ck_assert_int_eq(msg_split_finish(&m, &err), VDKIM_OK);
	msg_split_free(&m);
	ck_assert_int_eq(r->eoh_calls, 1);
}

/* Every 1- and 2-cut chunking, and 1-byte pieces, give expected. */
static void
assert_split(const char *msg, const char *expected)
{
	size_t len = strlen(msg);
	record r;
	size_t cuts[2];

	split_with_cuts(msg, len, NULL, 0, &r);
	ck_assert_str_eq(r.out, expected);
	for (cuts[0] = 0; cuts[0] <= len; cuts[0]++) {
		split_with_cuts(msg, len, cuts, 1, &r);
		ck_assert_msg(strcmp(r.out, expected) == 0,
		    "cut at %zu: got \"%s\"", cuts[0], r.out);
		for (cuts[1] = cuts[0]; cuts[1] <= len; cuts[1]++) {
			split_with_cuts(msg, len, cuts, 2, &r);
			ck_assert_msg(strcmp(r.out, expected) == 0,
			    "cuts at %zu,%zu: got \"%s\"", cuts[0], cuts[1],
			    r.out);
		}
	}
	{
		msg_split m;
		vdkim_error err;

		memset(&r, 0, sizeof(r));
		msg_split_init(&m, &rec_ops, &r);
		for (size_t i = 0; i < len; i++)
			ck_assert_int_eq(msg_split_feed(&m, msg + i, 1, &err),
			    VDKIM_OK);
		ck_assert_int_eq(msg_split_finish(&m, &err), VDKIM_OK);
		msg_split_free(&m);
		ck_assert_str_eq(r.out, expected);
	}
}

START_TEST(crlf_message)
{
	assert_split("From: a\r\nSubject: b\r\n c\r\n\td\r\nTo: e\r\n\r\n"
	    "body 1\r\n\r\n body 2\r\n",
	    "[From: a\r\n][Subject: b\r\n c\r\n\td\r\n][To: e\r\n]|"
	    "body 1\r\n\r\n body 2\r\n");
}
END_TEST

START_TEST(lf_message)
{
	assert_split("From: a\nSubject: b\n c\n\nbody\n\n",
	    "[From: a\n][Subject: b\n c\n]|body\n\n");
}
END_TEST

START_TEST(no_body)
{
	/* No empty line: the header ends with the message. */
	assert_split("From: a\r\nTo: b\r\n", "[From: a\r\n][To: b\r\n]|");
	/* The last field without a line end. */
	assert_split("From: a\r\nTo: b", "[From: a\r\n][To: b]|");
	/* The empty line and nothing after it. */
	assert_split("From: a\r\n\r\n", "[From: a\r\n]|");
}
END_TEST

START_TEST(body_untouched)
{
	/* Whatever the body holds passes through byte for byte, including
	 * what would look like header fields. */
	assert_split("A: 1\n\nB: 2\r\n\r\n\rX\n \n",
	    "[A: 1\n]|B: 2\r\n\r\n\rX\n \n");
}
END_TEST

START_TEST(empty_header)
{
	assert_split("\r\nbody\r\n", "|body\r\n");
	assert_split("\nbody", "|body");
	assert_split("", "|");
}
END_TEST

START_TEST(stray_cr_line)
{
	/* A line starting with a CR not followed by LF is not the empty
	 * line: it becomes (the start of) a field the consumer can refuse. */
	assert_split("A: 1\r\n\rB: 2\r\n\r\nx", "[A: 1\r\n][\rB: 2\r\n]|x");
}
END_TEST

START_TEST(leading_continuation)
{
	/* A message starting with white space: the line is held as a field
	 * of its own (which the signer then refuses for its name). */
	assert_split(" A: 1\r\nB: 2\r\n\r\n", "[ A: 1\r\n][B: 2\r\n]|");
}
END_TEST

START_TEST(consumer_error_stops)
{
	msg_split m;
	vdkim_error err;
	record r;
	const char *msg = "A: 1\r\nB: 2\r\nC: 3\r\n\r\nbody";

	memset(&r, 0, sizeof(r));
	r.fail_on_field = 2;
	msg_split_init(&m, &rec_ops, &r);
	ck_assert_int_eq(msg_split_feed(&m, msg, strlen(msg), &err),
	    VDKIM_ESYNTAX);
	ck_assert_int_eq(r.eoh_calls, 0);
	msg_split_free(&m);
}
END_TEST

START_TEST(field_limit)
{
	msg_split m;
	vdkim_error err;
	record r;
	size_t n = VDKIM_MAX_HEADER_BYTES + 10;
	char *big = malloc(n);
	vdkim_rc rc = VDKIM_OK;

	ck_assert_ptr_nonnull(big);
	memset(big, 'x', n);
	memcpy(big, "X-Huge: ", 8);
	memset(&r, 0, sizeof(r));
	msg_split_init(&m, &rec_ops, &r);
	/* Fed in pieces: the held field is refused once over the limit. */
	for (size_t off = 0; off < n && rc == VDKIM_OK; off += 65536)
		rc = msg_split_feed(&m, big + off, n - off < 65536 ? n - off :
		    65536, &err);
	ck_assert_int_eq(rc, VDKIM_ELIMIT);
	ck_assert_int_eq(err.rc, VDKIM_ELIMIT);
	msg_split_free(&m);
	free(big);
}
END_TEST

Suite *
msg_split_suite(void)
{
	Suite *s = suite_create("msg_split");
	TCase *tc = tcase_create("msg_split");

	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, crlf_message);
	tcase_add_test(tc, lf_message);
	tcase_add_test(tc, no_body);
	tcase_add_test(tc, body_untouched);
	tcase_add_test(tc, empty_header);
	tcase_add_test(tc, stray_cr_line);
	tcase_add_test(tc, leading_continuation);
	tcase_add_test(tc, consumer_error_stops);
	tcase_add_test(tc, field_limit);
	suite_add_tcase(s, tc);
	return s;
}
