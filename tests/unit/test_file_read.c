/*
 * test_file_read.c - util/file_read.c: regular files only, never a
 * blocking open; and the config text's limits (conf_text.c), which are
 * read through it.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf_text.h"
#include "file_read.h"
#include "suites.h"

static char dir[256];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "%s/vdkim-file-read-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* dir/name, written with len bytes of data when data is not NULL. */
static const char *
path_of(const char *name, const char *data, size_t len)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (data != NULL) {
		f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(data, 1, len, f), len);
		fclose(f);
	}
	return path;
}

static void
assert_refused(vdkim_rc rc, const vdkim_error *err, const char *what)
{
	ck_assert_int_eq(rc, VDKIM_EIO);
	ck_assert_msg(strstr(err->msg, what) != NULL, "%s", err->msg);
}

/* A FIFO with no writer: refused at once (a blocking open would hang the
 * test until Check's timeout), naming the path. */
START_TEST(fifo_refused)
{
	const char *path = path_of("fifo", NULL, 0);
	vdkim_file f;
	vdkim_error err;
	char *text = NULL;

	ck_assert_int_eq(mkfifo(path, 0600), 0);
	assert_refused(vdkim_file_read(AT_FDCWD, path, "state file", 100, 0,
	    VDKIM_EIO, &f, &err), &err, "the state file is not a regular file");
	ck_assert_ptr_nonnull(strstr(err.msg, path));
	ck_assert_ptr_null(f.data);
	assert_refused(conf_text_load(path, &text, &err), &err,
	    "the config file is not a regular file");
	ck_assert_ptr_null(text);
}
END_TEST

START_TEST(folder_refused)
{
	vdkim_file f;
	vdkim_error err;

	assert_refused(vdkim_file_read(AT_FDCWD, dir, "key record file", 100,
	    0, VDKIM_EIO, &f, &err), &err, "not a regular file");
}
END_TEST

START_TEST(missing_and_limits)
{
	vdkim_file f;
	vdkim_error err;
	const char *path;

	path = path_of("none", NULL, 0);
	ck_assert_int_eq(vdkim_file_read(AT_FDCWD, path, "state file", 100,
	    VDKIM_FILE_MISSING_OK, VDKIM_EIO, &f, &err), VDKIM_OK);
	ck_assert_ptr_null(f.data);
	assert_refused(vdkim_file_read(AT_FDCWD, path, "state file", 100, 0,
	    VDKIM_EIO, &f, &err), &err, "cannot open the state file");

	path = path_of("ten", "0123456789", 10);
	ck_assert_int_eq(vdkim_file_read(AT_FDCWD, path, "file", 10, 0,
	    VDKIM_EIO, &f, &err), VDKIM_OK);
	ck_assert_uint_eq(f.len, 10);
	ck_assert_str_eq(f.data, "0123456789");
	vdkim_file_free(&f);
	assert_refused(vdkim_file_read(AT_FDCWD, path, "file", 9, 0,
	    VDKIM_EIO, &f, &err), &err, "too large");

	path = path_of("nul", "a\0b", 3);
	ck_assert_int_eq(vdkim_file_read(AT_FDCWD, path, "file", 10, 0,
	    VDKIM_EIO, &f, &err), VDKIM_OK);
	vdkim_file_free(&f);
	assert_refused(vdkim_file_read(AT_FDCWD, path, "file", 10,
	    VDKIM_FILE_TEXT, VDKIM_EIO, &f, &err), &err, "holds a NUL byte");
}
END_TEST

/* conf_text_load: one value of at most CONF_VALUE_MAX bytes, quoted or
 * not; lists "= { }" are not sections. */
START_TEST(config_value_limit)
{
	size_t n = CONF_VALUE_MAX + 64;
	char *conf = malloc(n + 64), *text = NULL;
	vdkim_error err;
	const char *path;
	int w;

	ck_assert_ptr_nonnull(conf);
	for (int quoted = 0; quoted <= 1; quoted++) {
		for (size_t len = CONF_VALUE_MAX; len <= CONF_VALUE_MAX + 1;
		    len++) {
			w = snprintf(conf, n + 64, "# a comment\nl = { a, b }\n"
			    "x = %s", quoted ? "\"" : "");
			memset(conf + w, 'v', len);
			strcpy(conf + w + len, quoted ? "\"\n" : "\n");
			path = path_of("v.conf", conf, strlen(conf));
			if (len == CONF_VALUE_MAX) {
				ck_assert_int_eq(conf_text_load(path, &text,
				    &err), VDKIM_OK);
				free(text);
				continue;
			}
			ck_assert_int_eq(conf_text_load(path, &text, &err),
			    VDKIM_ELIMIT);
			ck_assert_msg(strstr(err.msg, "v.conf:3: a value longer "
			    "than 65536 bytes") != NULL, "%s", err.msg);
		}
	}
	free(conf);
}
END_TEST

START_TEST(config_section_limit)
{
	size_t n = (size_t)CONF_SECTIONS_MAX + 1;
	char *conf = malloc(n * 4 + 32), *text = NULL, *p;
	vdkim_error err;
	const char *path;

	ck_assert_ptr_nonnull(conf);
	p = conf + sprintf(conf, "l = {a}\n");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "s{}\n");
	/* One section too many: refused on its line. */
	path = path_of("s.conf", conf, strlen(conf));
	ck_assert_int_eq(conf_text_load(path, &text, &err), VDKIM_ELIMIT);
	ck_assert_msg(strstr(err.msg, "s.conf:1000002: more than 1000000 "
	    "sections") != NULL, "%s", err.msg);
	/* Exactly the limit (the list does not count): read. */
	path = path_of("s.conf", conf, strlen(conf) - 4);
	ck_assert_int_eq(conf_text_load(path, &text, &err), VDKIM_OK);
	free(text);
	free(conf);
}
END_TEST

Suite *
file_read_suite(void)
{
	Suite *s = suite_create("file_read");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, fifo_refused);
	tcase_add_test(tc, folder_refused);
	tcase_add_test(tc, missing_and_limits);
	tcase_add_test(tc, config_value_limit);
	tcase_add_test(tc, config_section_limit);
	suite_add_tcase(s, tc);
	return s;
}
