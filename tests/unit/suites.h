/*
 * suites.h - one Check suite per test file, all run by main.c.
 */
#ifndef VDKIM_TEST_SUITES_H
#define VDKIM_TEST_SUITES_H

#include <check.h>

Suite *base64_suite(void);
Suite *strbuf_suite(void);
Suite *tag_list_suite(void);
Suite *canon_suite(void);
Suite *header_fields_suite(void);
Suite *msg_split_suite(void);
Suite *keys_suite(void);
Suite *sign_verify_suite(void);
Suite *verify_fail_suite(void);
Suite *rfc8463_suite(void);
Suite *threads_suite(void);
Suite *memory_suite(void);
Suite *policy_suite(void);
Suite *policy_reload_suite(void);
Suite *policy_message_suite(void);
Suite *rotation_suite(void);
Suite *secrets_suite(void);
Suite *rotation_plan_suite(void);
Suite *host_blocks_suite(void);
Suite *self_check_suite(void);
Suite *file_read_suite(void);
Suite *stats_suite(void);
Suite *policy_scale_suite(void);

#endif
