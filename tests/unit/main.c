/*
 * main.c - runs every unit test suite; exits non-zero on any failure.
 *
 * Tests run in forked children (Check's default), so a crash or a leak
 * reported by LeakSanitizer in one test is that test's error, not the end
 * of the run.
 */
#include <stdlib.h>

#include "suites.h"

#ifdef __SANITIZE_ADDRESS__
/*
 * Defaults for the sanitizer build (ASAN_OPTIONS still overrides them).
 * LeakSanitizer runs at the exit of every forked test and walks the
 * allocator's chunks, quarantined ones included; with the default 256 MB
 * quarantine that costs more than the tests themselves.  64 MB still holds
 * every test's freed memory for a long while.
 */
const char *__asan_default_options(void)
    __attribute__((visibility("default")));

const char *
__asan_default_options(void)
{
	return "quarantine_size_mb=64";
}
#endif

int
main(void)
{
	SRunner *sr = srunner_create(base64_suite());
	int failed;

	srunner_add_suite(sr, strbuf_suite());
	srunner_add_suite(sr, tag_list_suite());
	srunner_add_suite(sr, canon_suite());
	srunner_add_suite(sr, header_fields_suite());
	srunner_add_suite(sr, msg_split_suite());
	srunner_add_suite(sr, keys_suite());
	srunner_add_suite(sr, sign_verify_suite());
	srunner_add_suite(sr, verify_fail_suite());
	srunner_add_suite(sr, rfc8463_suite());
	srunner_add_suite(sr, threads_suite());
	srunner_add_suite(sr, memory_suite());
	srunner_add_suite(sr, policy_suite());
	srunner_add_suite(sr, policy_reload_suite());
	srunner_add_suite(sr, policy_message_suite());
	srunner_add_suite(sr, rotation_suite());
	srunner_add_suite(sr, secrets_suite());
	srunner_add_suite(sr, rotation_plan_suite());
	srunner_add_suite(sr, host_blocks_suite());
	srunner_add_suite(sr, self_check_suite());
	srunner_add_suite(sr, file_read_suite());
	srunner_add_suite(sr, stats_suite());
	srunner_add_suite(sr, policy_scale_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
