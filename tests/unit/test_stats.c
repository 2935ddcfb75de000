/*
 * test_stats.c - util/stats_file.c and stats_format.c: the shared
 * counters' file (layout, refusals), names past the caps, many processes
 * adding at once, and the formats.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stats_file.h"
#include "vdkim/policy.h"
#include "stats_format.h"
#include "suites.h"

static char dir[256];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "%s/vdkim-stats-XXXXXX",
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

static const char *
path_of(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static char *
prom(const stats_layout *l)
{
	char *t = stats_format(l, STATS_FORMAT_PROMETHEUS, 1700000100, NULL);

	ck_assert_ptr_nonnull(t);
	return t;
}

START_TEST(file_created_with_its_layout)
{
	const char *p = path_of("s.stats");
	stats_map a, b;
	vdkim_error err;
	struct stat st;
	char *t;

	ck_assert_int_eq(stats_map_file(p, &a, &err), VDKIM_OK);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_size, (off_t)sizeof(stats_layout));
	ck_assert_int_eq(st.st_mode & 0117, 0); /* 0640 or 0660 at most */
	ck_assert_int_eq(memcmp(a.l->magic, STATS_MAGIC, 8), 0);
	ck_assert_uint_eq(a.l->version, STATS_VERSION);
	/* A second mapping (another process's) sees the same counters. */
	ck_assert_int_eq(stats_map_file(p, &b, &err), VDKIM_OK);
	stats_count_message(a.l, STATS_HOOK_PRE_QUEUE, "v1", STATS_SIGNED,
	    "ok");
	stats_count_message(b.l, STATS_HOOK_PRE_QUEUE, "v1", STATS_SIGNED,
	    "ok");
	stats_unmap(&a);
	ck_assert_int_eq(stats_map_file_ro(p, &a, &err), VDKIM_OK);
	t = prom(a.l);
	ck_assert_msg(strstr(t, "vdkim_messages_total{hook=\"pre-queue\","
	    "vmta=\"v1\",outcome=\"signed\",reason=\"ok\"} 2\n") != NULL,
	    "%s", t);
	free(t);
	stats_unmap(&a);
	stats_unmap(&b);
}
END_TEST

START_TEST(version_mismatch_refused)
{
	const char *p = path_of("v.stats");
	stats_map m;
	vdkim_error err;
	int fd;
	uint32_t v = 2;

	ck_assert_int_eq(stats_map_file(p, &m, &err), VDKIM_OK);
	stats_unmap(&m);
	fd = open(p, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, &v, sizeof(v), offsetof(stats_layout,
	    version)), (ssize_t)sizeof(v));
	close(fd);
	ck_assert_int_eq(stats_map_file(p, &m, &err), VDKIM_EINVAL);
	ck_assert_msg(strstr(err.msg, "layout version 2; this module reads "
	    "and writes version 1: remove it") != NULL, "%s", err.msg);
	ck_assert_ptr_null(m.l);
	ck_assert_int_eq(stats_map_file_ro(p, &m, &err), VDKIM_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "layout version 2"));
}
END_TEST

START_TEST(bad_files_refused)
{
	stats_map m;
	vdkim_error err;
	FILE *f;
	char big[sizeof(stats_layout) + 10];

	/* Not a stats file (text), of the right size or not. */
	f = fopen(path_of("text"), "w");
	fputs("hello\n", f);
	fclose(f);
	ck_assert_int_eq(stats_map_file(path_of("text"), &m, &err),
	    VDKIM_EINVAL);
	ck_assert_msg(strstr(err.msg, "is not a vdkim stats file") != NULL,
	    "%s", err.msg);
	memset(big, 'x', sizeof(big));
	f = fopen(path_of("big"), "w");
	fwrite(big, 1, sizeof(stats_layout), f);
	fclose(f);
	ck_assert_int_eq(stats_map_file(path_of("big"), &m, &err),
	    VDKIM_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "is not a vdkim stats file"));
	/* A stats file cut short: damaged. */
	ck_assert_int_eq(stats_map_file(path_of("cut"), &m, &err), VDKIM_OK);
	stats_unmap(&m);
	ck_assert_int_eq(truncate(path_of("cut"), 4096), 0);
	ck_assert_int_eq(stats_map_file(path_of("cut"), &m, &err),
	    VDKIM_EINVAL);
	ck_assert_msg(strstr(err.msg, "damaged") != NULL, "%s", err.msg);
	/* A symbolic link, a folder, a FIFO, a relative path, missing. */
	{
		char target[512];

		snprintf(target, sizeof(target), "%s", path_of("cut"));
		ck_assert_int_eq(symlink(target, path_of("link")), 0);
	}
	ck_assert_int_eq(stats_map_file(path_of("link"), &m, &err), VDKIM_EIO);
	ck_assert_msg(strstr(err.msg, "symbolic link") != NULL, "%s", err.msg);
	ck_assert_int_eq(mkdir(path_of("d"), 0700), 0);
	ck_assert_int_ne(stats_map_file(path_of("d"), &m, &err), VDKIM_OK);
	ck_assert_int_eq(mkfifo(path_of("fifo"), 0600), 0);
	ck_assert_int_eq(stats_map_file(path_of("fifo"), &m, &err),
	    VDKIM_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a regular file"));
	ck_assert_int_eq(stats_map_file("rel.stats", &m, &err), VDKIM_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "absolute"));
	ck_assert_int_eq(stats_map_file_ro(path_of("none"), &m, &err),
	    VDKIM_EIO);
	ck_assert_int_eq(access(path_of("none"), F_OK), -1);
}
END_TEST

START_TEST(caps_count_under_other)
{
	stats_map m;
	vdkim_error err;
	char name[64], *t, longname[300];

	ck_assert_int_eq(stats_map_anon(&m, &err), VDKIM_OK);
	for (int i = 0; i < STATS_VMTA_MAX + 5; i++) {
		snprintf(name, sizeof(name), "vmta%d", i);
		stats_count_message(m.l, STATS_HOOK_PRE_DELIVERY, name,
		    STATS_UNSIGNED, "no-key");
	}
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	stats_count_signature(m.l, longname, "s1", "rsa-sha256");
	t = prom(m.l);
	ck_assert_msg(strstr(t, "vdkim_messages_total{hook=\"pre-delivery\","
	    "vmta=\"other\",outcome=\"unsigned\",reason=\"no-key\"} 5\n") !=
	    NULL, "%s", t);
	ck_assert_ptr_nonnull(strstr(t, "vmta=\"vmta31\","));
	ck_assert_ptr_null(strstr(t, "vmta=\"vmta32\","));
	ck_assert_ptr_nonnull(strstr(t, "vdkim_signatures_total{domain="
	    "\"other\",selector=\"other\",algorithm=\"other\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "vdkim_stats_names_dropped_total 6\n"));
	free(t);
	stats_unmap(&m);
}
END_TEST

/* Many processes add at once, each also claiming the same new names:
 * every increment is there, every name once. */
#define NPROC 8
#define NINC 20000
START_TEST(concurrent_processes_lose_nothing)
{
	stats_map m;
	vdkim_error err;
	pid_t pids[NPROC];
	char *t, want[256];

	ck_assert_int_eq(stats_map_file(path_of("c.stats"), &m, &err),
	    VDKIM_OK);
	for (int p = 0; p < NPROC; p++) {
		pids[p] = fork();
		ck_assert_int_ge(pids[p], 0);
		if (pids[p] == 0) {
			stats_map c;
			char v[32];

			/* Its own mapping, as a process that loads anew. */
			if (stats_map_file(path_of("c.stats"), &c, &err) !=
			    VDKIM_OK)
				_exit(1);
			for (int i = 0; i < NINC; i++) {
				snprintf(v, sizeof(v), "v%d", i % 4);
				stats_count_message(c.l, STATS_HOOK_PRE_QUEUE,
				    v, STATS_SIGNED, "ok");
				stats_count_latency(c.l, "rsa", 1000);
			}
			_exit(0);
		}
	}
	for (int p = 0; p < NPROC; p++) {
		int st;

		ck_assert_int_eq(waitpid(pids[p], &st, 0), pids[p]);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	t = prom(m.l);
	for (int v = 0; v < 4; v++) {
		snprintf(want, sizeof(want), "vdkim_messages_total{hook="
		    "\"pre-queue\",vmta=\"v%d\",outcome=\"signed\",reason="
		    "\"ok\"} %d\n", v, NPROC * NINC / 4);
		ck_assert_msg(strstr(t, want) != NULL, "%s\n%s", want, t);
	}
	snprintf(want, sizeof(want), "vdkim_signing_duration_seconds_count{"
	    "kind=\"rsa\"} %d\n", NPROC * NINC);
	ck_assert_msg(strstr(t, want) != NULL, "%s", t);
	ck_assert_ptr_nonnull(strstr(t, "vdkim_stats_names_dropped_total 0\n"));
	free(t);
	stats_unmap(&m);
}
END_TEST

START_TEST(formats)
{
	stats_map m;
	vdkim_error err;
	char *t;
	uint64_t gen;

	ck_assert_int_eq(stats_map_anon(&m, &err), VDKIM_OK);
	stats_count_message(m.l, STATS_HOOK_PRE_QUEUE, "a\"b\\c\nd",
	    STATS_DEFERRED, "no-key");
	stats_count_latency(m.l, "ed25519", 200000);    /* 0.0002 s */
	stats_count_latency(m.l, "ed25519", 3000000000u); /* past 2.5 s */
	stats_count_device_error(m.l, "card", "device-timeout");
	gen = stats_loaded(m.l, 1700000000);
	stats_set_key(m.l, gen, "example.com", "k1", STATS_DNS_MISMATCH,
	    1700000040);
	stats_set_schedule(m.l, gen, "q example.com ed25519-sha256", "k2026q1",
	    1, 1700000050);
	t = prom(m.l);
	ck_assert_msg(strstr(t, "vmta=\"a\\\"b\\\\c\\nd\"") != NULL, "%s", t);
	ck_assert_ptr_nonnull(strstr(t, "vdkim_signing_duration_seconds_bucket"
	    "{kind=\"ed25519\",le=\"0.0001\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(t, "vdkim_signing_duration_seconds_bucket"
	    "{kind=\"ed25519\",le=\"0.00025\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "vdkim_signing_duration_seconds_bucket"
	    "{kind=\"ed25519\",le=\"2.5\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "vdkim_signing_duration_seconds_bucket"
	    "{kind=\"ed25519\",le=\"+Inf\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(t, "vdkim_device_errors_total{device="
	    "\"card\",code=\"device-timeout\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "vdkim_key_dns_check{domain="
	    "\"example.com\",selector=\"k1\",verdict=\"mismatch\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "vdkim_key_dns_check_age_seconds{"
	    "domain=\"example.com\",selector=\"k1\"} 60\n"));
	ck_assert_ptr_nonnull(strstr(t, "vdkim_rotation_selector{schedule="
	    "\"q\",domain=\"example.com\",algorithm=\"ed25519-sha256\","
	    "selector=\"k2026q1\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "vdkim_rotation_held{schedule=\"q\","
	    "domain=\"example.com\",algorithm=\"ed25519-sha256\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "vdkim_policy_age_seconds 100\n"));
	free(t);
	/* A newer load without that key: its gauge is gone. */
	stats_loaded(m.l, 1700000090);
	t = prom(m.l);
	ck_assert_ptr_null(strstr(t, "selector=\"k1\""));
	free(t);
	t = stats_format(m.l, STATS_FORMAT_JSON, 1700000100, NULL);
	ck_assert_msg(strstr(t, "\"vmta\":\"a\\\"b\\\\c\\u000ad\"") != NULL,
	    "%s", t);
	free(t);
	ck_assert_ptr_null(stats_format(m.l, 42, 0, NULL));
	stats_unmap(&m);
}
END_TEST

/* The directives: stats-file absolute, stats-counters yes or no. */
START_TEST(directives_checked)
{
	static const struct { const char *text, *want; } cases[] = {
		{ "\nstats-file = \"rel.stats\"\n",
		  ":2: stats-file must be an absolute path" },
		{ "stats-counters = maybe\n",
		  ":1: stats-counters must be yes or no" },
	};
	vdkim_policy *p = NULL;
	vdkim_error err;
	FILE *f;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f = fopen(path_of("p.conf"), "w");
		fputs(cases[i].text, f);
		fclose(f);
		ck_assert_int_eq(vdkim_policy_load(path_of("p.conf"), &p, &err),
		    VDKIM_ESYNTAX);
		ck_assert_msg(strstr(err.msg, cases[i].want) != NULL, "%s",
		    err.msg);
	}
	f = fopen(path_of("p.conf"), "w");
	fprintf(f, "stats-file = \"%s/x.stats\"\nstats-counters = no\n", dir);
	fclose(f);
	ck_assert_int_eq(vdkim_policy_load(path_of("p.conf"), &p, &err),
	    VDKIM_OK);
	ck_assert_ptr_nonnull(strstr(vdkim_policy_stats_file(p), "/x.stats"));
	ck_assert_int_eq(vdkim_policy_stats_off(p), 1);
	vdkim_policy_unref(p);
}
END_TEST

Suite *
stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, file_created_with_its_layout);
	tcase_add_test(tc, version_mismatch_refused);
	tcase_add_test(tc, bad_files_refused);
	tcase_add_test(tc, caps_count_under_other);
	tcase_add_test(tc, concurrent_processes_lose_nothing);
	tcase_add_test(tc, formats);
	tcase_add_test(tc, directives_checked);
	suite_add_tcase(s, tc);
	return s;
}
