/*
 * test_rotation_plan.c - the rotation rules as data (rotation_plan.h): a
 * domain's plan around a date, with what DNS says and what the state file
 * recorded; which selectors may leave DNS; the check's rule (which
 * selectors are in play, SIGNING / BROKEN, too late for the next period,
 * DNS down records nothing); and the whole check on a state file, under
 * its lock, written atomically.  DNS is a keymap: no network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "rotation_plan.h"
#include "suites.h"

static time_t
date_of(const char *d)
{
	time_t t;

	ck_assert_msg(rot_parse_date(d, &t) == 0, "bad date %s", d);
	return t;
}

static const char STATE[] = "vdkim-rotation-state 1\n"
    "record a.com k2026q3 matching 1780000000 1790000000\n"
    "record a.com k2026q4 matching 1789000000 1790000000\n"
    "end 2\n";

struct fixture {
	char dir[64];
	char state[128];
	vdkim_policy *p;
	vdkim_key *key;
	char *rec;
};

/* A quarterly ed25519 schedule for a.com with keys for 2026q3 and q4;
 * the state file says q3 has matched since June and q4 since 09-09, so
 * q4 is ready from 10-01.  state_dir: where the state file lives. */
static void
fixture_open(struct fixture *f, const char *state_dir)
{
	char path[256], conf[1024], *pem = td_read("ed25519.pem", NULL);
	vdkim_error err;

	snprintf(f->dir, sizeof(f->dir), "/tmp/vdkim-rotplan-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/a.com", f->dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/a.com/k2026q3.private", f->dir);
	write_file(path, pem, strlen(pem), 0600);
	snprintf(path, sizeof(path), "%s/a.com/k2026q4.private", f->dir);
	write_file(path, pem, strlen(pem), 0600);
	free(pem);
	snprintf(f->state, sizeof(f->state), "%s%s/state", f->dir,
	    state_dir);
	snprintf(path, sizeof(path), "%s/state", f->dir);
	write_file(path, STATE, strlen(STATE), 0644);
	snprintf(conf, sizeof(conf),
	    "dkim-rotation q {\n"
	    "  selector-pattern = \"k%%Yq%%Q\"\n"
	    "  period = quarterly\n"
	    "  key-dir = \"%s/%%d\"\n"
	    "  algorithm = ed25519-sha256\n"
	    "  state-file = \"%s\"\n"
	    "}\n"
	    "dkim-rotation-key = \"q,a.com\"\n"
	    "domain \"*\" { dkim-sign = yes }\n", f->dir, f->state);
	snprintf(path, sizeof(path), "%s/v.conf", f->dir);
	write_file(path, conf, strlen(conf), 0600);
	ck_assert_msg(vdkim_policy_load(path, &f->p, &err) == VDKIM_OK, "%s",
	    err.msg);
	f->key = td_key("ed25519.pem");
	f->rec = key_record_of(f->key);
}

static void
fixture_close(struct fixture *f)
{
	vdkim_policy_unref(f->p);
	vdkim_key_unref(f->key);
	free(f->rec);
	rm_tree(f->dir);
}

static const rot_plan_sel *
plan_sel(const rot_plan_entry *e, const char *selector)
{
	for (size_t i = 0; i < e->nsels; i++)
		if (strcmp(e->sels[i].selector, selector) == 0)
			return &e->sels[i];
	ck_abort_msg("no plan line for %s", selector);
	return NULL;
}

START_TEST(plan_around_a_date)
{
	struct fixture f;
	vdkim_keymap *map;
	rot_plan pl;
	const rot_plan_sel *q3, *q4, *q1;
	vdkim_error err;

	fixture_open(&f, "");
	map = keymap1("k2026q3._domainkey.a.com", f.rec);
	ck_assert_int_eq(rotation_plan(f.p, NULL, date_of("2026-10-02"), 1,
	    vdkim_keymap_lookup, map, &pl, &err), VDKIM_OK);
	ck_assert_uint_eq(pl.n, 1);
	ck_assert_str_eq(pl.e[0].b->domain, "a.com");
	ck_assert_int_eq(pl.e[0].alg, VDKIM_ALG_ED25519_SHA256);
	/* The previous period to two ahead: q3, q4, 2027q1, 2027q2. */
	ck_assert_uint_eq(pl.e[0].nsels, 4);
	q3 = plan_sel(&pl.e[0], "k2026q3");
	q4 = plan_sel(&pl.e[0], "k2026q4");
	q1 = plan_sel(&pl.e[0], "k2027q1");
	ck_assert(q4->in_use && !q3->in_use && !q1->in_use);
	ck_assert_int_eq(pl.e[0].choice.why, VDKIM_WHY_OK);
	/* DNS now: q3 is published, q4 not (any more); 2027q1 has no key. */
	ck_assert_int_eq(q3->dns, ROT_MATCHING);
	ck_assert_int_eq(q4->dns, ROT_MISSING);
	ck_assert_int_eq(q1->have, ROT_KEY_NONE);
	ck_assert_int_eq(q1->dns, -1);
	/* Recorded: both matching, q4 since 2026-09-09. */
	ck_assert(q4->recorded && q4->rec_status == ROT_MATCHING);
	ck_assert(q4->rec_since == 1789000000);
	ck_assert(!q1->recorded);
	/* q4 took over on 10-01; q3 may leave DNS 14 days later. */
	ck_assert(q3->current_from == date_of("2026-07-01"));
	ck_assert(q3->publish_by == date_of("2026-06-24"));
	ck_assert(q3->superseded == date_of("2026-10-01"));
	ck_assert(q3->remove_after == date_of("2026-10-15"));
	ck_assert(q4->remove_after == 0);
	ck_assert_uint_eq(pl.e[0].nretire, 0);
	rotation_plan_free(&pl);

	/* Without DNS: nothing looked up; after the overlap q3 retires. */
	ck_assert_int_eq(rotation_plan(f.p, "A.COM", date_of("2026-10-20"), 0,
	    dns_down_lookup, NULL, &pl, &err), VDKIM_OK);
	ck_assert_uint_eq(pl.n, 1);
	ck_assert_int_eq(plan_sel(&pl.e[0], "k2026q4")->dns, -1);
	ck_assert_uint_eq(pl.e[0].nretire, 1);
	ck_assert_str_eq(pl.e[0].retire[0].selector, "k2026q3");
	rotation_plan_free(&pl);

	/* Another domain: nothing. */
	ck_assert_int_eq(rotation_plan(f.p, "b.com", date_of("2026-10-20"), 0,
	    NULL, NULL, &pl, &err), VDKIM_OK);
	ck_assert_uint_eq(pl.n, 0);
	rotation_plan_free(&pl);
	vdkim_keymap_free(map);
	fixture_close(&f);
}
END_TEST

/* Loads the fixture's state file. */
static void
state_of(const struct fixture *f, rot_state *st)
{
	vdkim_error err;
	int missing;

	ck_assert_int_eq(rot_state_load(f->state, st, &missing, &err),
	    VDKIM_OK);
}

START_TEST(check_rule)
{
	struct fixture f;
	vdkim_keymap *ok, *gone;
	rot_state st;
	rot_check c;
	vdkim_error err;
	char *before, *after;
	strbuf sb = STRBUF_INIT;
	char *text;

	fixture_open(&f, "");
	ok = keymap1("k2026q4._domainkey.a.com", f.rec);
	gone = keymap1("k2026q3._domainkey.a.com", f.rec);

	/* q4 in use and published: only it is in play (q3 is older). */
	state_of(&f, &st);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(rotation_check_state(f.p, f.state, &st, NULL,
	    date_of("2026-10-02"), vdkim_keymap_lookup, ok, &c, &err),
	    VDKIM_OK);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.e[0].nsels, 1);
	ck_assert_str_eq(c.e[0].sels[0].k->entry.selector, "k2026q4");
	ck_assert_int_eq(c.e[0].sels[0].status, ROT_MATCHING);
	ck_assert_uint_eq(c.lookups, 1);
	ck_assert_int_eq(c.e[0].verdict, ROT_SIGNING);
	ck_assert(!c.e[0].late);
	ck_assert_int_eq(rotation_check_outcome(&c), ROT_OUTCOME_OK);
	rotation_check_text(&c.e[0], &sb);
	text = sb_take(&sb);
	ck_assert_ptr_nonnull(strstr(text, "a.com k2026q4 matching "));
	ck_assert_ptr_nonnull(strstr(text, "a.com: signing with s=k2026q4\n"));
	free(text);
	rotation_check_free(&c);
	rot_state_free(&st);

	/* q4 in use but gone from DNS: recorded, and signing is BROKEN. */
	state_of(&f, &st);
	ck_assert_int_eq(rotation_check_state(f.p, f.state, &st, NULL,
	    date_of("2026-10-02"), vdkim_keymap_lookup, gone, &c, &err),
	    VDKIM_OK);
	ck_assert_int_eq(c.e[0].sels[0].status, ROT_MISSING);
	ck_assert_int_eq(rot_state_find(&st, "a.com", "k2026q4")->status,
	    ROT_MISSING);
	ck_assert_int_eq(c.e[0].verdict, ROT_BROKEN);
	ck_assert_int_eq(c.e[0].after.why, VDKIM_WHY_ROTATION_NOT_IN_DNS);
	ck_assert_int_eq(rotation_check_outcome(&c), ROT_OUTCOME_BROKEN);
	rotation_check_free(&c);
	rot_state_free(&st);

	/* Four days before 2027q1, which has no key: too late for it. */
	state_of(&f, &st);
	ck_assert_int_eq(rotation_check_state(f.p, f.state, &st, NULL,
	    date_of("2026-12-28"), vdkim_keymap_lookup, ok, &c, &err),
	    VDKIM_OK);
	ck_assert_int_eq(c.e[0].verdict, ROT_SIGNING);
	ck_assert(c.e[0].late && c.e[0].late_no_key);
	ck_assert_str_eq(c.e[0].late_selector, "k2027q1");
	ck_assert(c.e[0].late_from == date_of("2027-01-01"));
	ck_assert(c.e[0].late_by == date_of("2026-12-25"));
	ck_assert_int_eq(rotation_check_outcome(&c), ROT_OUTCOME_ATTENTION);
	rotation_check_text(&c.e[0], &sb);
	text = sb_take(&sb);
	ck_assert_ptr_nonnull(strstr(text, "a.com: NOT READY selector k2027q1 "
	    "(from 2027-01-01 00:00 UTC) will be held back: make its key"));
	free(text);
	rotation_check_free(&c);
	rot_state_free(&st);

	/* DNS down: nothing recorded, and said so. */
	state_of(&f, &st);
	before = rot_state_format(&st);
	ck_assert_int_eq(rotation_check_state(f.p, f.state, &st, NULL,
	    date_of("2026-10-02"), dns_down_lookup, NULL, &c, &err), VDKIM_OK);
	after = rot_state_format(&st);
	ck_assert_str_eq(before, after);
	ck_assert_int_eq(c.e[0].sels[0].status, ROT_DNS_ERROR);
	ck_assert_int_eq(rotation_check_outcome(&c), ROT_OUTCOME_DNS_DOWN);
	free(before);
	free(after);
	rotation_check_free(&c);
	rot_state_free(&st);

	vdkim_keymap_free(ok);
	vdkim_keymap_free(gone);
	fixture_close(&f);
}
END_TEST

START_TEST(check_run_writes_the_state_file)
{
	struct fixture f;
	vdkim_keymap *ok;
	rot_check c;
	rot_state st;
	vdkim_error err;
	char lock[160], *before, *after;
	struct stat sb;

	fixture_open(&f, "");
	ok = keymap1("k2026q4._domainkey.a.com", f.rec);
	state_of(&f, &st);
	before = rot_state_format(&st);
	rot_state_free(&st);
	ck_assert_int_eq(rotation_check_run(f.p, NULL, date_of("2026-10-02"),
	    vdkim_keymap_lookup, ok, &c, &err), VDKIM_OK);
	ck_assert_uint_eq(c.n, 1);
	rotation_check_free(&c);
	/* The answer is recorded (checked = now), atomically, under the
	 * lock, mode 0644. */
	state_of(&f, &st);
	after = rot_state_format(&st);
	ck_assert_str_ne(before, after);
	ck_assert(rot_state_find(&st, "a.com", "k2026q4")->checked ==
	    date_of("2026-10-02"));
	rot_state_free(&st);
	snprintf(lock, sizeof(lock), "%s.lock", f.state);
	ck_assert_int_eq(access(lock, F_OK), 0);
	ck_assert_int_eq(stat(f.state, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0644);
	free(before);
	free(after);

	/* DNS down: the file is left as it was (same inode). */
	{
		struct stat sb2;
		ck_assert_int_eq(rotation_check_run(f.p, NULL,
		    date_of("2026-10-03"), dns_down_lookup, NULL, &c, &err), VDKIM_OK);
		ck_assert(c.dns_down);
		rotation_check_free(&c);
		ck_assert_int_eq(stat(f.state, &sb2), 0);
		ck_assert(sb.st_ino == sb2.st_ino);
	}
	vdkim_keymap_free(ok);
	fixture_close(&f);

	/* A state file whose folder does not exist: an error naming the
	 * lock. */
	fixture_open(&f, "/nowhere");
	ck_assert_int_eq(rotation_check_run(f.p, NULL, date_of("2026-10-02"),
	    dns_down_lookup, NULL, &c, &err), VDKIM_EIO);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nowhere/state.lock"));
	rotation_check_free(&c);
	fixture_close(&f);
}
END_TEST

Suite *
rotation_plan_suite(void)
{
	Suite *s = suite_create("rotation_plan");
	TCase *tc = tcase_create("rotation_plan");

	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, plan_around_a_date);
	tcase_add_test(tc, check_rule);
	tcase_add_test(tc, check_run_writes_the_state_file);
	suite_add_tcase(s, tc);
	return s;
}
