/*
 * test_policy_reload.c - vdkim_slot: the current policy of a running
 * instance, replaced atomically on reload.
 *
 * The main test: 4 threads loop (a bounded number of times) acquiring the
 * policy, deciding, giving the specs to a signer, releasing the policy,
 * signing and verifying; meanwhile the main thread rewrites the config
 * (a temporary file renamed over it) in turn with two valid configs (other
 * selectors, one or two signatures) and a broken one, reloading each time.
 * Valid reloads take effect at once; the broken one fails naming
 * FILE:LINE and the previous policy stays in force.  Every thread sees
 * only the selectors of valid configs, and every signature verifies.
 * Under make unit-san this also shows the swap frees nothing in use.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "suites.h"
#include "vdkim/policy.h"

#define NTHREADS 4
#define MAX_ITERATIONS 20000  /* per thread: a bound, whatever the clock */
#define MIN_RELOADS 8         /* two rounds of b, broken, a, broken */
#define MAX_RELOADS 400
#define RUN_NS 1000000000LL   /* about 1 s of reloading */
#define BROKEN_LINE 11        /* the error line of reload_broken.conf */

/* ------------------------------------------------ the temporary folder */

static char tmpdir[1024];
static char conf_path[PATH_MAX];

static void
reload_setup(void)
{
	static const char *const keys[][2] = {
		{ "rsa2048.pem", "rsa.pem" }, { "ed25519.pem", "ed.pem" } };
	const char *base = getenv("TMPDIR");
	char path[PATH_MAX];

	snprintf(tmpdir, sizeof(tmpdir), "%s/vdkim-reload-XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	ck_assert_msg(mkdtemp(tmpdir) != NULL, "mkdtemp: %s",
	    strerror(errno));
	for (size_t i = 0; i < 2; i++) {
		size_t len;
		char *data = td_read(keys[i][0], &len);

		snprintf(path, sizeof(path), "%s/%s", tmpdir, keys[i][1]);
		write_file(path, data, len, 0600);
		free(data);
	}
	snprintf(conf_path, sizeof(conf_path), "%s/reload.conf", tmpdir);
}

static void
reload_teardown(void)
{
	if (tmpdir[0] != '\0')
		rm_tree(tmpdir);
	tmpdir[0] = '\0';
}

/*
 * Writes tests/data/policy/NAME ("@DIR@" replaced) over reload.conf the
 * way an administrator's tool does: a temporary file, then rename().
 */
static void
put_conf(const char *name)
{
	char rel[256], tmp[PATH_MAX + 8];
	char *tmpl, *text, *at;

	snprintf(rel, sizeof(rel), "policy/%s", name);
	tmpl = td_read(rel, NULL);
	text = xstrdup(tmpl);
	while ((at = strstr(text, "@DIR@")) != NULL) {
		char *next = replace_once(text, "@DIR@", tmpdir);

		free(text);
		text = next;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", conf_path);
	write_file(tmp, text, strlen(text), 0644);
	ck_assert_int_eq(rename(tmp, conf_path), 0);
	free(tmpl);
	free(text);
}

/* ------------------------------------------------ deciding, signing */

static const char MSG_FMT[] =
    "From: Worker %d <worker%d@example.com>\r\n"
    "To: rcpt%d@example.net\r\n"
    "Subject: message %d of worker %d\r\n"
    "\r\n"
    "Body of message %d.\r\n";

enum seen { SEEN_A = 1, SEEN_B = 2 };

/*
 * One message: acquire, decide, give the specs to a signer, release the
 * policy (the signer must hold what it needs), sign, verify.  Returns
 * SEEN_A or SEEN_B (which config decided), or 0 with problem filled.  No
 * ck_assert: it runs in the worker threads too.
 */
static int
one_message(vdkim_slot *slot, vdkim_keymap *map, int id, int i,
    char *problem, size_t plen)
{
	vdkim_policy *p = vdkim_slot_acquire(slot);
	vdkim_envelope env;
	vdkim_header h[3];
	vdkim_decision d;
	vdkim_error err = { VDKIM_OK, "" };
	vdkim_signer *s = NULL;
	vdkim_verifier *v = NULL;
	char msg[512], from[96], *out = NULL;
	const char *fields[3];
	size_t len, total = 0;
	int n, seen = 0, ok;

	if (p == NULL) {
		snprintf(problem, plen, "message %d: no policy", i);
		return 0;
	}
	n = snprintf(msg, sizeof(msg), MSG_FMT, id, id, i, i, id, i);
	len = (size_t)n;
	snprintf(from, sizeof(from), "From: Worker %d <worker%d@example.com>",
	    id, id);
	fields[0] = from;
	fields[1] = "To: rcpt@example.net";
	fields[2] = "Subject: reload";
	for (int k = 0; k < 3; k++) {
		h[k].field = fields[k];
		h[k].len = strlen(fields[k]);
	}
	memset(&env, 0, sizeof(env));
	env.size = sizeof(env);
	env.vmta = "vm";
	env.rcpt_domain = "example.net";
	if (vdkim_policy_decide(p, &env, h, 3, time(NULL), &d, &err) !=
	    VDKIM_OK) {
		snprintf(problem, plen, "message %d: decide: %s", i, err.msg);
		vdkim_policy_unref(p);
		return 0;
	}
	if (d.verdict != VDKIM_VERDICT_SIGN) {
		snprintf(problem, plen, "message %d: %s (%s: %.*s)", i,
		    vdkim_verdict_name(d.verdict), vdkim_why_name(d.why),
		    (int)sizeof(d.detail), d.detail);
		vdkim_policy_unref(p);
		return 0;
	}
	if (d.nsigs == 1 && strcmp(d.specs[0].selector, "sel-a") == 0)
		seen = SEEN_A;
	else if (d.nsigs == 2 && strcmp(d.specs[0].selector, "sel-b") == 0 &&
	    strcmp(d.specs[1].selector, "ed-b") == 0)
		seen = SEEN_B;
	if (seen == 0) {
		snprintf(problem, plen, "message %d: %zu signatures, s=%s",
		    i, d.nsigs, d.specs[0].selector);
		vdkim_policy_unref(p);
		return 0;
	}
	ok = vdkim_signer_new(&s, &err) == VDKIM_OK;
	for (size_t k = 0; ok && k < d.nsigs; k++)
		ok = vdkim_signer_add(s, &d.specs[k], &err) == VDKIM_OK;
	/* The signer has the specs: the policy may go (a reload may free
	 * it right now). */
	vdkim_policy_unref(p);
	ok = ok && vdkim_signer_message(s, msg, len, &err) == VDKIM_OK &&
	    vdkim_signer_eom(s, &err) == VDKIM_OK &&
	    vdkim_signer_count(s) == d.nsigs;
	if (ok) {
		size_t pos = 0, l[2] = { 0, 0 };
		const char *r[2] = { NULL, NULL };

		for (size_t k = 0; k < d.nsigs; k++) {
			r[k] = vdkim_signer_result(s, k, &l[k]);
			total += l[k];
		}
		total += len;
		out = malloc(total);
		if (out == NULL) {
			ok = 0;
		} else {
			for (size_t k = 0; k < d.nsigs; k++) {
				memcpy(out + pos, r[k], l[k]);
				pos += l[k];
			}
			memcpy(out + pos, msg, len);
		}
	}
	vdkim_signer_free(s);
	if (!ok) {
		snprintf(problem, plen, "message %d: signing: %s", i, err.msg);
		free(out);
		return 0;
	}
	ok = vdkim_verifier_new(vdkim_keymap_lookup, map, &v, &err) ==
	    VDKIM_OK && vdkim_verifier_message(v, out, total, &err) ==
	    VDKIM_OK && vdkim_verifier_eom(v, &err) == VDKIM_OK &&
	    vdkim_verifier_count(v) == d.nsigs;
	if (!ok)
		snprintf(problem, plen, "message %d: verifying: %s", i,
		    err.msg);
	for (size_t k = 0; ok && k < d.nsigs; k++) {
		const vdkim_sig_result *r = vdkim_verifier_result(v, k);

		if (r->result != VDKIM_RES_PASS) {
			snprintf(problem, plen, "message %d: s=%s: %s: %s", i,
			    r->selector, vdkim_result_name(r->result),
			    r->detail);
			ok = 0;
		}
	}
	vdkim_verifier_free(v);
	free(out);
	return ok ? seen : 0;
}

/* Every selector of both valid configs (and of the broken one, which must
 * never be used but would verify) in one map. */
static vdkim_keymap *
reload_map(void)
{
	vdkim_key *rsa = td_key("rsa2048.pem"), *ed = td_key("ed25519.pem");
	char *rr = key_record_of(rsa), *er = key_record_of(ed);
	vdkim_keymap *map = keymap1("sel-a._domainkey.example.com", rr);

	keymap_add(map, "sel-b._domainkey.example.com", rr);
	keymap_add(map, "sel-x._domainkey.example.com", rr);
	keymap_add(map, "ed-a._domainkey.example.com", er);
	keymap_add(map, "ed-b._domainkey.example.com", er);
	free(rr);
	free(er);
	vdkim_key_unref(rsa);
	vdkim_key_unref(ed);
	return map;
}

/* In the test's thread: one message, which config decided it. */
static int
seen_now(vdkim_slot *slot, vdkim_keymap *map)
{
	char problem[VDKIM_ERRMSG_MAX + 128] = "";
	int seen = one_message(slot, map, 99, 0, problem, sizeof(problem));

	ck_assert_msg(seen != 0, "%s", problem);
	return seen;
}

/* ---------------------------------------------------------- threads */

typedef struct worker {
	int id;
	vdkim_slot *slot;
	vdkim_keymap *map;
	atomic_int *stop;
	int iterations, seen_a, seen_b;
	char problem[VDKIM_ERRMSG_MAX + 128];
} worker;

static void *
work(void *arg)
{
	worker *w = arg;

	for (int i = 0; i < MAX_ITERATIONS && !atomic_load(w->stop); i++) {
		int seen = one_message(w->slot, w->map, w->id, i, w->problem,
		    sizeof(w->problem));

		if (seen == 0)
			break;
		w->iterations++;
		if (seen == SEEN_A)
			w->seen_a++;
		else
			w->seen_b++;
	}
	return NULL;
}

static long long
elapsed_ns(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)(t.tv_sec - t0->tv_sec) * 1000000000LL +
	    (t.tv_nsec - t0->tv_nsec);
}

START_TEST(reload_under_load)
{
	/* b, broken, a, broken, b, ... */
	static const struct {
		const char *file;
		int seen;   /* 0: broken */
	} cycle[] = {
		{ "reload_b.conf", SEEN_B }, { "reload_broken.conf", 0 },
		{ "reload_a.conf", SEEN_A }, { "reload_broken.conf", 0 },
	};
	vdkim_keymap *map = reload_map();
	vdkim_slot *slot = NULL;
	vdkim_error err = { VDKIM_OK, "" };
	pthread_t t[NTHREADS];
	worker w[NTHREADS];
	atomic_int stop = 0;
	struct timespec t0;
	char want[64];
	int current = SEEN_A, reloads = 0, failed = 0, total = 0;

	put_conf("reload_a.conf");
	ck_assert_msg(vdkim_slot_new(conf_path, NULL, &slot, &err) == VDKIM_OK,
	    "%s", err.msg);
	ck_assert_ptr_nonnull(slot);
	ck_assert_int_eq(seen_now(slot, map), SEEN_A);

	memset(w, 0, sizeof(w));
	for (int i = 0; i < NTHREADS; i++) {
		w[i].id = i;
		w[i].slot = slot;
		w[i].map = map;
		w[i].stop = &stop;
		ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	snprintf(want, sizeof(want), "reload.conf:%d:", BROKEN_LINE);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (reloads < MAX_RELOADS &&
	    (reloads < MIN_RELOADS || elapsed_ns(&t0) < RUN_NS)) {
		int c = reloads % 4;
		vdkim_rc rc;

		put_conf(cycle[c].file);
		memset(&err, 0, sizeof(err));
		rc = vdkim_slot_reload(slot, &err);
		if (cycle[c].seen != 0) {
			ck_assert_msg(rc == VDKIM_OK, "reload %d (%s): %s",
			    reloads, cycle[c].file, err.msg);
			current = cycle[c].seen;
		} else {
			ck_assert_msg(rc != VDKIM_OK,
			    "reload %d: the broken config loaded", reloads);
			ck_assert_int_eq(err.rc, rc);
			ck_assert_msg(strstr(err.msg, want) != NULL,
			    "reload %d: the error should name %s: %s",
			    reloads, want, err.msg);
			failed++;
		}
		/* The new policy, or the old one still. */
		ck_assert_msg(seen_now(slot, map) == current,
		    "after reload %d (%s) the policy is not the expected one",
		    reloads, cycle[c].file);
		reloads++;
		/* Let the workers run between reloads. */
		sched_yield();
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < NTHREADS; i++) {
		ck_assert_msg(w[i].problem[0] == '\0', "worker %d: %s", i,
		    w[i].problem);
		ck_assert_int_gt(w[i].iterations, 0);
		ck_assert_int_eq(w[i].seen_a + w[i].seen_b, w[i].iterations);
		total += w[i].iterations;
	}
	ck_assert_int_ge(reloads, MIN_RELOADS);
	ck_assert_int_eq(failed, reloads / 2);
	ck_assert_int_gt(total, 0);
	vdkim_slot_free(slot);
	vdkim_keymap_free(map);
}
END_TEST

START_TEST(old_policy_outlives_reload)
{
	vdkim_keymap *map = reload_map();
	vdkim_slot *slot = NULL;
	vdkim_error err = { VDKIM_OK, "" };
	vdkim_policy *old, *cur;
	vdkim_envelope env;
	vdkim_header h = { "From: a@example.com", 19 };
	vdkim_decision d;

	put_conf("reload_a.conf");
	ck_assert_msg(vdkim_slot_new(conf_path, NULL, &slot, &err) == VDKIM_OK,
	    "%s", err.msg);
	old = vdkim_slot_acquire(slot);
	ck_assert_ptr_nonnull(old);
	put_conf("reload_b.conf");
	ck_assert_msg(vdkim_slot_reload(slot, &err) == VDKIM_OK, "%s",
	    err.msg);
	cur = vdkim_slot_acquire(slot);
	ck_assert_ptr_nonnull(cur);
	ck_assert_ptr_ne(cur, old);
	memset(&env, 0, sizeof(env));
	env.size = sizeof(env);
	env.vmta = "vm";
	env.rcpt_domain = "example.net";
	/* The reference taken before the reload still decides as before. */
	ck_assert_int_eq(vdkim_policy_decide(old, &env, &h, 1, time(NULL), &d,
	    &err), VDKIM_OK);
	ck_assert_int_eq(d.verdict, VDKIM_VERDICT_SIGN);
	ck_assert_str_eq(d.specs[0].selector, "sel-a");
	ck_assert_uint_eq(d.nsigs, 1);
	vdkim_policy_unref(old);
	ck_assert_int_eq(vdkim_policy_decide(cur, &env, &h, 1, time(NULL), &d,
	    &err), VDKIM_OK);
	ck_assert_int_eq(d.verdict, VDKIM_VERDICT_SIGN);
	ck_assert_str_eq(d.specs[0].selector, "sel-b");
	ck_assert_uint_eq(d.nsigs, 2);
	vdkim_policy_unref(cur);
	ck_assert_int_eq(seen_now(slot, map), SEEN_B);

	/* The file gone: the reload fails naming it, the policy stays. */
	ck_assert_int_eq(unlink(conf_path), 0);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(vdkim_slot_reload(slot, &err), VDKIM_EIO);
	ck_assert_msg(strstr(err.msg, conf_path) != NULL, "%s", err.msg);
	ck_assert_int_eq(seen_now(slot, map), SEEN_B);
	vdkim_slot_free(slot);
	vdkim_slot_free(NULL);
	vdkim_keymap_free(map);
}
END_TEST

START_TEST(slot_new_errors)
{
	vdkim_slot *slot = NULL;
	vdkim_error err = { VDKIM_OK, "" };
	char want[64];

	/* No file (whatever an earlier test left). */
	ck_assert(unlink(conf_path) == 0 || errno == ENOENT);
	ck_assert_int_eq(vdkim_slot_new(conf_path, NULL, &slot, &err), VDKIM_EIO);
	ck_assert_ptr_null(slot);
	ck_assert_msg(strstr(err.msg, conf_path) != NULL, "%s", err.msg);
	/* A broken file. */
	put_conf("reload_broken.conf");
	memset(&err, 0, sizeof(err));
	ck_assert_int_ne(vdkim_slot_new(conf_path, NULL, &slot, &err), VDKIM_OK);
	ck_assert_ptr_null(slot);
	snprintf(want, sizeof(want), "reload.conf:%d:", BROKEN_LINE);
	ck_assert_msg(strstr(err.msg, want) != NULL, "%s", err.msg);
}
END_TEST

/*
 * Policies loaded by several threads at once (two slots reloading, say):
 * each load is independent, whatever the config parser keeps in globals.
 * Threads alternate a valid and a broken config; every valid load
 * decides with its own selector, every broken one names its own line.
 */
#define LOAD_THREADS 4
#define LOADS_PER_THREAD 40

typedef struct loader {
	const char *good, *bad;
	int loaded, refused;
	char problem[VDKIM_ERRMSG_MAX + 128];
} loader;

static void *
load_loop(void *arg)
{
	loader *l = arg;
	vdkim_header h = { "From: a@example.com", 19 };
	vdkim_envelope env;

	memset(&env, 0, sizeof(env));
	env.size = sizeof(env);
	env.vmta = "vm";
	env.rcpt_domain = "example.net";
	for (int i = 0; i < LOADS_PER_THREAD && l->problem[0] == '\0'; i++) {
		vdkim_policy *p = NULL;
		vdkim_error err = { VDKIM_OK, "" };
		vdkim_decision d;
		const char *path = i % 2 ? l->bad : l->good;
		vdkim_rc rc = vdkim_policy_load(path, &p, &err);

		if (i % 2 == 1) {
			char want[64];

			snprintf(want, sizeof(want), "reload_broken.conf:%d:",
			    BROKEN_LINE);
			if (rc == VDKIM_OK || strstr(err.msg, want) == NULL)
				snprintf(l->problem, sizeof(l->problem),
				    "load %d of the broken config: %s: %s", i,
				    vdkim_rc_name(rc), err.msg);
			else
				l->refused++;
			vdkim_policy_unref(p);
			continue;
		}
		if (rc != VDKIM_OK) {
			snprintf(l->problem, sizeof(l->problem), "load %d: %s",
			    i, err.msg);
			break;
		}
		if (vdkim_policy_decide(p, &env, &h, 1, time(NULL), &d,
		    &err) != VDKIM_OK || d.verdict != VDKIM_VERDICT_SIGN ||
		    strcmp(d.specs[0].selector, "sel-a") != 0)
			snprintf(l->problem, sizeof(l->problem), "load %d: "
			    "decision %s %s", i, vdkim_verdict_name(d.verdict),
			    d.nsigs ? d.specs[0].selector : "-");
		else
			l->loaded++;
		vdkim_policy_unref(p);
	}
	return NULL;
}

START_TEST(concurrent_loads)
{
	pthread_t t[LOAD_THREADS];
	loader l[LOAD_THREADS];
	char good[PATH_MAX], bad[PATH_MAX];

	/* Both files side by side, under their template names. */
	put_conf("reload_a.conf");
	snprintf(good, sizeof(good), "%s/good.conf", tmpdir);
	ck_assert_int_eq(rename(conf_path, good), 0);
	put_conf("reload_broken.conf");
	snprintf(bad, sizeof(bad), "%s/reload_broken.conf", tmpdir);
	ck_assert_int_eq(rename(conf_path, bad), 0);
	memset(l, 0, sizeof(l));
	for (int i = 0; i < LOAD_THREADS; i++) {
		l[i].good = good;
		l[i].bad = bad;
		ck_assert_int_eq(pthread_create(&t[i], NULL, load_loop, &l[i]),
		    0);
	}
	for (int i = 0; i < LOAD_THREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < LOAD_THREADS; i++) {
		ck_assert_msg(l[i].problem[0] == '\0', "thread %d: %s", i,
		    l[i].problem);
		ck_assert_int_eq(l[i].loaded, LOADS_PER_THREAD / 2);
		ck_assert_int_eq(l[i].refused, LOADS_PER_THREAD / 2);
	}
}
END_TEST

START_TEST(slot_bad_arguments)
{
	vdkim_slot *slot = NULL;
	vdkim_error err = { VDKIM_OK, "" };

	/* An error, not a crash. */
	ck_assert_int_ne(vdkim_slot_new(NULL, NULL, &slot, &err), VDKIM_OK);
	ck_assert_ptr_null(slot);
}
END_TEST

Suite *
policy_reload_suite(void)
{
	Suite *s = suite_create("policy_reload");
	TCase *tc = tcase_create("slot");

	tcase_add_unchecked_fixture(tc, reload_setup, reload_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, slot_new_errors);
	tcase_add_test(tc, old_policy_outlives_reload);
	tcase_add_test(tc, reload_under_load);
	tcase_add_test(tc, concurrent_loads);
	tcase_add_test(tc, slot_bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}
