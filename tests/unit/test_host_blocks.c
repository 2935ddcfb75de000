/*
 * test_host_blocks.c - a host's own block in the policy's file: skipped
 * when the caller names it (vdkim_policy_load_skipping, vdkim_slot_new),
 * an unknown directive otherwise; the module itself names no host, not
 * even the harness.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "suites.h"
#include "vdkim/policy.h"

static const char HOST_CONF[] =
    "domain \"*\" { dkim-sign = yes }\n"
    "mymta {\n"
    "    listen = \"127.0.0.1:25\"\n"
    "    nested { x = 1 }\n"
    "}\n"
    "harness {\n"
    "    module = \"/x/vdkim.so\"\n"
    "}\n";

static char *
write_conf(char *dir)
{
	char *path = malloc(strlen(dir) + 16);

	ck_assert_ptr_nonnull(mkdtemp(dir));
	sprintf(path, "%s/v.conf", dir);
	write_file(path, HOST_CONF, strlen(HOST_CONF), 0600);
	return path;
}

START_TEST(blocks_named_by_the_caller)
{
	char dir[] = "/tmp/vdkim-hostblk-XXXXXX", *path = write_conf(dir);
	const char *both[] = { "mymta", "harness", NULL };
	const char *mine[] = { "mymta", NULL };
	vdkim_policy *p = NULL;
	vdkim_error err;

	/* Both hosts' blocks named: loads. */
	ck_assert_msg(vdkim_policy_load_skipping(path, both, &p, &err) ==
	    VDKIM_OK, "%s", err.msg);
	vdkim_policy_unref(p);
	/* The module skips nothing by itself, not even "harness". */
	ck_assert_int_eq(vdkim_policy_load(path, &p, &err), VDKIM_ESYNTAX);
	ck_assert_ptr_nonnull(strstr(err.msg, "v.conf:2: unknown directive"));
	ck_assert_int_eq(vdkim_policy_load_skipping(path, mine, &p, &err),
	    VDKIM_ESYNTAX);
	ck_assert_ptr_nonnull(strstr(err.msg, "v.conf:6: unknown directive"));
	ck_assert_ptr_nonnull(strstr(err.msg, "harness"));
	rm_tree(dir);
	free(path);
}
END_TEST

START_TEST(slot_keeps_its_copy)
{
	char dir[] = "/tmp/vdkim-hostblk-XXXXXX", *path = write_conf(dir);
	char a[] = "mymta", b[] = "harness";
	const char *list[] = { a, b, NULL };
	vdkim_slot *slot = NULL;
	vdkim_error err;

	ck_assert_msg(vdkim_slot_new(path, list, &slot, &err) == VDKIM_OK,
	    "%s", err.msg);
	/* The caller's list may change or go: reloads skip the same. */
	a[0] = b[0] = 'X';
	ck_assert_msg(vdkim_slot_reload(slot, &err) == VDKIM_OK, "%s",
	    err.msg);
	vdkim_slot_free(slot);
	ck_assert_int_eq(vdkim_slot_new(path, NULL, &slot, &err),
	    VDKIM_ESYNTAX);
	rm_tree(dir);
	free(path);
}
END_TEST

Suite *
host_blocks_suite(void)
{
	Suite *s = suite_create("host_blocks");
	TCase *tc = tcase_create("host_blocks");

	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, blocks_named_by_the_caller);
	tcase_add_test(tc, slot_keeps_its_copy);
	suite_add_tcase(s, tc);
	return s;
}
