/*
 * test_rotation.c - rotation schedules: periods and selector names across
 * month, quarter and year boundaries, periods in days, explicit lists; the
 * state file (round trip, and truncated or garbage files refused with
 * their line); the checker's update rule; the cutover rule with an
 * injected clock; the DNS comparison; and the whole policy deciding by
 * time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "key_state.h"
#include "rotation.h"
#include "rotation_plan.h"
#include "suites.h"

#define DAY 86400L

static time_t
date_of(const char *d)
{
	time_t t;

	ck_assert_msg(rot_parse_date(d, &t) == 0, "bad date %s", d);
	return t;
}

static void
sched_init(rot_schedule *s, int period, const char *pattern)
{
	memset(s, 0, sizeof(*s));
	s->name = (char *)"t";
	s->period = period;
	s->pattern = (char *)pattern;
	s->algs[0] = VDKIM_ALG_RSA_SHA256;
	s->nalgs = 1;
	s->publish_ahead = 7 * DAY;
	s->overlap = 14 * DAY;
}

/* The selector at time t. */
static const char *
sel_at(const rot_schedule *s, time_t t, int alg)
{
	static char buf[ROT_SELECTOR_MAX];

	ck_assert_int_eq(rot_selector(s, rot_period_at(s, t), alg, buf,
	    sizeof(buf)), 0);
	return buf;
}

/* ---------------------------------------------------------- schedules */

START_TEST(quarters_and_years)
{
	rot_schedule s;
	time_t ny = date_of("2027-01-01");

	sched_init(&s, ROT_QUARTERLY, "k%Yq%Q");
	ck_assert_str_eq(sel_at(&s, ny - 1, VDKIM_ALG_RSA_SHA256), "k2026q4");
	ck_assert_str_eq(sel_at(&s, ny, VDKIM_ALG_RSA_SHA256), "k2027q1");
	ck_assert_str_eq(sel_at(&s, date_of("2027-04-01") - 1,
	    VDKIM_ALG_RSA_SHA256), "k2027q1");
	ck_assert_str_eq(sel_at(&s, date_of("2027-04-01"),
	    VDKIM_ALG_RSA_SHA256), "k2027q2");
	ck_assert(rot_period_start(&s, rot_period_at(&s, ny + 40 * DAY)) ==
	    ny);
	ck_assert_int_eq(rot_period_at(&s, ny) - rot_period_at(&s, ny - 1),
	    1);
}
END_TEST

START_TEST(months_and_algorithms)
{
	rot_schedule s;

	sched_init(&s, ROT_MONTHLY, "%a%y%m");
	s.algs[1] = VDKIM_ALG_ED25519_SHA256;
	s.nalgs = 2;
	ck_assert_str_eq(sel_at(&s, date_of("2028-02-29"),
	    VDKIM_ALG_RSA_SHA256), "rsa2802");
	ck_assert_str_eq(sel_at(&s, date_of("2028-03-01"),
	    VDKIM_ALG_ED25519_SHA256), "ed2803");
	ck_assert_str_eq(sel_at(&s, date_of("2028-12-31"),
	    VDKIM_ALG_RSA_SHA256), "rsa2812");
	ck_assert_str_eq(sel_at(&s, date_of("2029-01-01"),
	    VDKIM_ALG_RSA_SHA256), "rsa2901");
}
END_TEST

START_TEST(days_from_a_start)
{
	rot_schedule s;
	time_t e = date_of("2026-01-01");

	sched_init(&s, ROT_DAYS, "d%Y%m%d");
	s.days = 30;
	s.epoch = e;
	ck_assert_int_eq(rot_period_at(&s, e + 30 * DAY - 1), 0);
	ck_assert_int_eq(rot_period_at(&s, e + 30 * DAY), 1);
	ck_assert_int_eq(rot_period_at(&s, e - 1), -1);
	ck_assert_str_eq(sel_at(&s, e + 30 * DAY, VDKIM_ALG_RSA_SHA256),
	    "d20260131");
	/* Across a year: period 12 starts 360 days in. */
	ck_assert_str_eq(sel_at(&s, e + 365 * DAY, VDKIM_ALG_RSA_SHA256),
	    "d20261227");
}
END_TEST

START_TEST(explicit_list)
{
	rot_schedule s;
	rot_listed l[2] = { { (char *)"winter", 0 }, { (char *)"summer", 0 } };
	long i;
	int alg;

	sched_init(&s, ROT_LIST, NULL);
	l[0].start = date_of("2026-01-01");
	l[1].start = date_of("2026-06-15");
	s.list = l;
	s.nlist = 2;
	ck_assert_int_eq(rot_period_at(&s, l[0].start - 1), -1);
	ck_assert_int_eq(rot_period_at(&s, l[1].start - 1), 0);
	ck_assert_str_eq(sel_at(&s, l[1].start, VDKIM_ALG_RSA_SHA256),
	    "summer");
	ck_assert_int_eq(rot_selector(&s, 2, VDKIM_ALG_RSA_SHA256, (char[64]){0},
	    64), -1);
	ck_assert_int_eq(rot_match(&s, "summer", &i, &alg), 0);
	ck_assert_int_eq(i, 1);
	ck_assert_int_eq(rot_match(&s, "autumn", &i, &alg), -1);
}
END_TEST

START_TEST(names_read_back)
{
	rot_schedule s;
	long i;
	int alg;

	sched_init(&s, ROT_QUARTERLY, "k%Yq%Q%a");
	s.algs[1] = VDKIM_ALG_ED25519_SHA256;
	s.nalgs = 2;
	ck_assert_int_eq(rot_match(&s, "k2026q4ed", &i, &alg), 0);
	ck_assert_int_eq(alg, VDKIM_ALG_ED25519_SHA256);
	ck_assert(rot_period_start(&s, i) == date_of("2026-10-01"));
	ck_assert_int_eq(rot_match(&s, "k2026q4rsa", &i, &alg), 0);
	ck_assert_int_eq(alg, VDKIM_ALG_RSA_SHA256);
	ck_assert_int_eq(rot_match(&s, "k2026q5rsa", &i, &alg), -1);
	ck_assert_int_eq(rot_match(&s, "k2026q4", &i, &alg), -1);
	ck_assert_int_eq(rot_match(&s, "k2026q4rsax", &i, &alg), -1);
	ck_assert_int_eq(rot_match(&s, "old-key", &i, &alg), -1);
	/* A date that is not the first day of its period is no selector. */
	sched_init(&s, ROT_DAYS, "d%Y%m%d");
	s.days = 30;
	s.epoch = date_of("2026-01-01");
	ck_assert_int_eq(rot_match(&s, "d20260131", &i, &alg), 0);
	ck_assert_int_eq(rot_match(&s, "d20260130", &i, &alg), -1);
}
END_TEST

/* rot_schedule_build on a block; returns the problem's text or NULL. */
static const char *
build(const char *pattern, const char *period, const char *start,
    const char *alg2, int *line)
{
	static char why[VDKIM_ERRMSG_MAX];
	rot_text t;
	rot_text_val algs[2] = { { "rsa-sha256", 5 }, { alg2, 6 } };
	rot_schedule s;
	int rc;

	memset(&t, 0, sizeof(t));
	t.name = "t";
	t.line = 1;
	t.pattern.v = pattern;
	t.pattern.line = 2;
	t.period.v = period;
	t.period.line = 3;
	t.start.v = start;
	t.start.line = 4;
	t.key_dir.v = "/k";
	t.algs = algs;
	t.nalgs = alg2 ? 2 : 1;
	*line = 0;
	rc = rot_schedule_build(&t, &s, line, why, sizeof(why));
	rot_schedule_free(&s);
	return rc == 0 ? NULL : why;
}

START_TEST(schedule_errors)
{
	int line;

	ck_assert_ptr_null(build("k%Yq%Q", "quarterly", NULL, NULL, &line));
	ck_assert_ptr_nonnull(strstr(build("kq%Q", "quarterly", NULL, NULL,
	    &line), "year"));
	ck_assert_int_eq(line, 2);
	ck_assert_ptr_nonnull(strstr(build("k%Y", "monthly", NULL, NULL,
	    &line), "%m"));
	ck_assert_ptr_nonnull(strstr(build("k%Y%m", "monthly", NULL,
	    "ed25519-sha256", &line), "%a"));
	ck_assert_ptr_nonnull(strstr(build("k%Y%m%d", "30d", NULL, NULL,
	    &line), "start"));
	ck_assert_int_eq(line, 3);
	ck_assert_ptr_nonnull(strstr(build("k%Y%m", "monthly", "2026-01-01",
	    NULL, &line), "start is for"));
	ck_assert_int_eq(line, 4);
	ck_assert_ptr_nonnull(strstr(build("k%Y%m", "monthly", NULL,
	    "rsa-sha256", &line), "twice"));
	ck_assert_int_eq(line, 6);
	ck_assert_ptr_nonnull(rot_check_value("period", "weekly"));
	ck_assert_ptr_nonnull(rot_check_value("selector-pattern", "k%Y.%m"));
	ck_assert_ptr_nonnull(rot_check_value("selector-pattern", "k%x"));
	ck_assert_ptr_nonnull(rot_check_value("start", "2026-02-30"));
	ck_assert_ptr_nonnull(rot_check_value("selector", "k1"));
	ck_assert_ptr_nonnull(rot_check_value("dkim-rotation-key", "q,*"));
	ck_assert_ptr_null(rot_check_value("selector", "k1,2026-02-28"));
	ck_assert_ptr_null(rot_check_value("period", "90d"));
}
END_TEST

/* -------------------------------------------------------------- state */

static const char GOOD_STATE[] =
    "# comment\n"
    "vdkim-rotation-state 1\n"
    "record example.com k2026q4 matching 100 200\n"
    "record example.com k2026q3 missing 0 200\n"
    "end 2\n";

START_TEST(state_round_trip)
{
	rot_state st, again;
	vdkim_error err;
	const rot_record *r;
	char *text;

	ck_assert_int_eq(rot_state_parse(GOOD_STATE, strlen(GOOD_STATE), "f",
	    &st, &err), VDKIM_OK);
	ck_assert_uint_eq(st.n, 2);
	r = rot_state_find(&st, "EXAMPLE.com", "k2026q4");
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->status, ROT_MATCHING);
	ck_assert(r->since == 100 && r->checked == 200);
	ck_assert_ptr_null(rot_state_find(&st, "example.com", "k2027q1"));
	text = rot_state_format(&st);
	ck_assert_int_eq(rot_state_parse(text, strlen(text), "f", &again,
	    &err), VDKIM_OK);
	ck_assert_uint_eq(again.n, 2);
	free(text);
	rot_state_free(&again);
	rot_state_free(&st);
}
END_TEST

/* text must be refused with "f:LINE:" and what in the message. */
static void
refused(const char *text, int line, const char *what)
{
	rot_state st;
	vdkim_error err;
	char at[32];

	ck_assert_int_eq(rot_state_parse(text, strlen(text), "f", &st, &err),
	    VDKIM_ESYNTAX);
	snprintf(at, sizeof(at), "f:%d: ", line);
	ck_assert_msg(line == 0 || strncmp(err.msg, at, strlen(at)) == 0,
	    "%s", err.msg);
	ck_assert_msg(strstr(err.msg, what) != NULL, "%s", err.msg);
	ck_assert_ptr_null(st.r);
}

START_TEST(state_refused)
{
	char big[1200];

	refused("", 0, "empty");
	refused("vdkim-rotation-state 1\nrecord a.com s1 matching 1 2\n", 2,
	    "truncated (no end line)");
	refused("vdkim-rotation-state 1\nrecord a.com s1 matching 1 2\nend 1",
	    3, "truncated");
	refused("vdkim-rotation-state 1\nrecord a.com s1 matching 1 2\nrec",
	    3, "truncated");
	refused("\x7f" "ELF\x01\x02garbage\n", 1, "not a rotation state");
	refused("vdkim-rotation-state 2\nend 0\n", 1, "another version");
	refused("vdkim-rotation-state 1\nrecord a.com s1 happy 1 2\nend 1\n",
	    2, "status");
	refused("vdkim-rotation-state 1\nrecord a.com s1 matching -1 2\n"
	    "end 1\n", 2, "seconds");
	refused("vdkim-rotation-state 1\nrecord a.com s.1 matching 1 2\n"
	    "end 1\n", 2, "selector");
	refused("vdkim-rotation-state 1\nrecord a.com s1 matching 1\nend 1\n",
	    2, "record DOMAIN");
	refused("vdkim-rotation-state 1\nend 3\n", 2, "does not count");
	refused("vdkim-rotation-state 1\nend 0\nrecord a.com s1 matching 1 2\n",
	    3, "follow the end");
	refused("vdkim-rotation-state 1\nrecord a.com s1 matching 1 2\n"
	    "record a.com s1 missing 0 2\nend 2\n", 0, "twice");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	refused(big, 1, "too long");
}
END_TEST

START_TEST(state_file_missing_or_bad)
{
	char dir[] = "/tmp/vdkim-rot-XXXXXX", path[256];
	rot_state st;
	vdkim_error err;
	int missing;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state", dir);
	ck_assert_int_eq(rot_state_load(path, &st, &missing, &err), VDKIM_OK);
	ck_assert_int_eq(missing, 1);
	ck_assert_uint_eq(st.n, 0);
	write_file(path, "vdkim-rotation-state 1\nrecord", 29, 0644);
	ck_assert_int_eq(rot_state_load(path, &st, &missing, &err),
	    VDKIM_ESYNTAX);
	ck_assert_ptr_nonnull(strstr(err.msg, path));
	ck_assert_int_eq(rot_state_load(dir, &st, &missing, &err), VDKIM_EIO);
	rm_tree(dir);
}
END_TEST

START_TEST(state_update_rule)
{
	rot_state st;
	time_t t = date_of("2026-09-01"), start = date_of("2026-10-01");
	const rot_record *r;

	memset(&st, 0, sizeof(st));
	/* DNS down: nothing recorded. */
	ck_assert_int_eq(rot_state_update(&st, "a.com", "s2", ROT_DNS_ERROR,
	    t, start, 7 * DAY), 0);
	ck_assert_uint_eq(st.n, 0);
	rot_state_update(&st, "a.com", "s2", ROT_MATCHING, t, start, 7 * DAY);
	rot_state_update(&st, "a.com", "s2", ROT_MATCHING, t + DAY, start,
	    7 * DAY);
	r = rot_state_find(&st, "a.com", "s2");
	ck_assert(r->since == t && r->checked == t + DAY);
	/* A DNS error later keeps "seen since". */
	rot_state_update(&st, "a.com", "s2", ROT_DNS_ERROR, t + 2 * DAY,
	    start, 7 * DAY);
	ck_assert(r->since == t && r->checked == t + DAY);
	/* Missing before it is in use: the clock restarts. */
	rot_state_update(&st, "a.com", "s2", ROT_MISSING, t + 3 * DAY, start,
	    7 * DAY);
	ck_assert(r->since == 0 && r->status == ROT_MISSING);
	rot_state_update(&st, "a.com", "s2", ROT_MATCHING, t + 4 * DAY, start,
	    7 * DAY);
	ck_assert(r->since == t + 4 * DAY);
	/* In use (its period began, it was ready): a break is recorded but
	 * "seen since" stays, so signing does not fall back. */
	rot_state_update(&st, "a.com", "s2", ROT_MISMATCHED, start + DAY,
	    start, 7 * DAY);
	ck_assert(r->since == t + 4 * DAY && r->status == ROT_MISMATCHED);
	rot_state_update(&st, "a.com", "s2", ROT_MATCHING, start + 2 * DAY,
	    start, 7 * DAY);
	ck_assert(r->since == t + 4 * DAY && r->status == ROT_MATCHING);
	rot_state_free(&st);
}
END_TEST

/* ------------------------------------------------------------ cutover */

/* A quarterly binding of a.com with Ed25519 keys for 2026q3 and q4
 * (q4's key missing when no_q4). */
typedef struct fixture {
	rot_schedule s;
	rot_binding b;
	rot_key keys[2];
	rot_state st;
} fixture;

static void
fixture_init(fixture *f, int no_q4)
{
	memset(f, 0, sizeof(*f));
	sched_init(&f->s, ROT_QUARTERLY, "k%Yq%Q");
	f->s.algs[0] = VDKIM_ALG_ED25519_SHA256;
	f->b.sched = &f->s;
	f->b.domain = (char *)"a.com";
	f->b.key_dir = (char *)"/keys";
	f->b.keys = f->keys;
	f->b.nkeys = no_q4 ? 1 : 2;
	for (int i = 0; i < 2; i++) {
		rot_key *k = &f->keys[i];
		k->start = date_of(i ? "2026-10-01" : "2026-07-01");
		k->period = rot_period_at(&f->s, k->start);
		k->alg = VDKIM_ALG_ED25519_SHA256;
		k->entry.selector = (char *)(i ? "k2026q4" : "k2026q3");
		k->entry.domain = (char *)"a.com";
		k->entry.key = td_key("ed25519.pem");
	}
	f->b.state = &f->st;
}

static void
fixture_free(fixture *f)
{
	for (int i = 0; i < 2; i++)
		vdkim_key_unref(f->keys[i].entry.key);
	rot_state_free(&f->st);
}

static void
seen(fixture *f, const char *sel, int status, const char *when)
{
	rot_state_update(&f->st, "a.com", sel, status, date_of(when),
	    strcmp(sel, "k2026q4") == 0 ? date_of("2026-10-01") :
	    date_of("2026-07-01"), 7 * DAY);
}

static void
expect(fixture *f, const char *when, const char *sel, vdkim_why why,
    const char *words)
{
	rot_choice ch;

	rotation_choose(&f->b, UNSET, date_of(when), &f->st, &ch);
	if (sel == NULL)
		ck_assert_ptr_null(ch.key);
	else
		ck_assert_msg(ch.key != NULL && strcmp(ch.key->entry.selector,
		    sel) == 0, "%s: %s instead of %s (%s)", when, ch.key ?
		    ch.key->entry.selector : "none", sel, ch.detail);
	ck_assert_msg(ch.why == why, "%s: %s: %s", when, vdkim_why_name(ch.why),
	    ch.detail);
	if (words != NULL)
		ck_assert_msg(strstr(ch.detail, words) != NULL, "%s: %s", when,
		    ch.detail);
}

START_TEST(cutover_on_time)
{
	fixture f;

	fixture_init(&f, 0);
	seen(&f, "k2026q3", ROT_MATCHING, "2026-06-01");
	seen(&f, "k2026q4", ROT_MATCHING, "2026-09-20");
	expect(&f, "2026-09-30", "k2026q3", VDKIM_WHY_OK, NULL);
	expect(&f, "2026-10-01", "k2026q4", VDKIM_WHY_OK, NULL);
	fixture_free(&f);
}
END_TEST

START_TEST(held_back_then_cutover)
{
	fixture f;

	fixture_init(&f, 0);
	seen(&f, "k2026q3", ROT_MATCHING, "2026-06-01");
	expect(&f, "2026-10-01", "k2026q3", VDKIM_WHY_ROTATION_HELD,
	    "never been checked");
	seen(&f, "k2026q4", ROT_MISSING, "2026-09-20");
	expect(&f, "2026-10-01", "k2026q3", VDKIM_WHY_ROTATION_HELD,
	    "not published");
	seen(&f, "k2026q4", ROT_MISMATCHED, "2026-09-21");
	expect(&f, "2026-10-01", "k2026q3", VDKIM_WHY_ROTATION_HELD,
	    "different key");
	seen(&f, "k2026q4", ROT_MATCHING, "2026-09-28");
	expect(&f, "2026-10-01", "k2026q3", VDKIM_WHY_ROTATION_HELD,
	    "too recently");
	expect(&f, "2026-10-05", "k2026q4", VDKIM_WHY_OK, NULL);
	/* Once in use, a later miss warns but never goes back. */
	seen(&f, "k2026q4", ROT_MISSING, "2026-10-10");
	expect(&f, "2026-10-11", "k2026q4", VDKIM_WHY_ROTATION_NOT_IN_DNS,
	    "not published");
	fixture_free(&f);
}
END_TEST

START_TEST(nothing_verified)
{
	fixture f;

	fixture_init(&f, 0);
	expect(&f, "2026-10-01", NULL, VDKIM_WHY_ROTATION_UNVERIFIED,
	    "never been checked");
	seen(&f, "k2026q4", ROT_MATCHING, "2026-10-01");
	/* A new schedule: what is in DNS signs, with a warning. */
	expect(&f, "2026-10-02", "k2026q4", VDKIM_WHY_ROTATION_HELD,
	    "no selector is ready yet");
	fixture_free(&f);
}
END_TEST

START_TEST(no_key_file_and_retire)
{
	fixture f;
	time_t sup;

	fixture_init(&f, 1);
	seen(&f, "k2026q3", ROT_MATCHING, "2026-06-01");
	expect(&f, "2026-10-02", "k2026q3", VDKIM_WHY_ROTATION_HELD,
	    "no key file /keys/k2026q4.private");
	fixture_free(&f);

	fixture_init(&f, 0);
	seen(&f, "k2026q3", ROT_MATCHING, "2026-06-01");
	ck_assert(rotation_superseded(&f.b, &f.keys[0], &f.st) == 0);
	seen(&f, "k2026q4", ROT_MATCHING, "2026-09-28");
	/* Ready on 10-05 (seen 09-28 + 7 days), not on 10-01. */
	sup = rotation_superseded(&f.b, &f.keys[0], &f.st);
	ck_assert(sup == date_of("2026-10-05"));
	ck_assert(rotation_superseded(&f.b, &f.keys[1], &f.st) == 0);
	fixture_free(&f);
}
END_TEST

/* ---------------------------------------------------------------- DNS */

START_TEST(dns_comparison)
{
	vdkim_key *ed = td_key("ed25519.pem"), *rsa = td_key("rsa2048.pem");
	char *rec = key_record_of(ed), *other = key_record_of(rsa), why[320];
	vdkim_keymap *map = keymap1("s1._domainkey.a.com", rec);

	keymap_add(map, "s2._domainkey.a.com", other);
	keymap_add(map, "s3._domainkey.a.com", "v=DKIM1; k=ed25519; p=");
	keymap_add(map, "s4._domainkey.a.com", "not a key");
	ck_assert_int_eq(rotation_check_dns(ed, "s1", "a.com",
	    vdkim_keymap_lookup, map, why, sizeof(why)), ROT_MATCHING);
	/* Receivers' reasons, each its own status; rotation folds the
	 * failures into mismatched. */
	ck_assert_int_eq(rotation_check_dns(ed, "s2", "a.com",
	    vdkim_keymap_lookup, map, why, sizeof(why)), ROT_WRONG_TYPE);
	ck_assert_int_eq(rot_status_for_rotation(ROT_WRONG_TYPE),
	    ROT_MISMATCHED);
	ck_assert_int_eq(rotation_check_dns(ed, "s3", "a.com",
	    vdkim_keymap_lookup, map, why, sizeof(why)), ROT_REVOKED);
	ck_assert_ptr_nonnull(strstr(why, "revoked"));
	ck_assert_int_eq(rotation_check_dns(ed, "s4", "a.com",
	    vdkim_keymap_lookup, map, why, sizeof(why)), ROT_BAD_RECORD);
	ck_assert(rot_status_fails(ROT_BAD_RECORD));
	ck_assert_int_eq(rotation_check_dns(ed, "s5", "a.com",
	    vdkim_keymap_lookup, map, why, sizeof(why)), ROT_MISSING);
	ck_assert_int_eq(rotation_check_dns(ed, "s1", "a.com", dns_down_lookup, NULL,
	    why, sizeof(why)), ROT_DNS_ERROR);
	vdkim_keymap_free(map);
	free(rec);
	free(other);
	vdkim_key_unref(ed);
	vdkim_key_unref(rsa);
}
END_TEST

/* Our key's record with extra tags in front of p=. */
static char *
record_with(const vdkim_key *key, const char *tags)
{
	char *rec = key_record_of(key), *p = strstr(rec, "p="), *out;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_gt(asprintf(&out, "v=DKIM1; %s %s", tags, p), 0);
	free(rec);
	return out;
}

/* What receivers refuse, or warn about, in a record of the right key. */
START_TEST(dns_receiver_rules)
{
	vdkim_key *ed = td_key("ed25519.pem"), *weak = td_key("rsa1024.pem");
	static const struct {
		const char *sel, *tags;
		int want;
	} cases[] = {
		{ "h1", "k=ed25519; h=sha1;", ROT_HASH_REFUSED },
		{ "h2", "k=ed25519; h=sha1:sha256;", ROT_MATCHING },
		{ "s1", "k=ed25519; s=other;", ROT_SERVICE_REFUSED },
		{ "s2", "k=ed25519; s=*;", ROT_MATCHING },
		{ "t1", "k=ed25519; t=y;", ROT_TESTING },
	};
	char *rec, why[320];
	vdkim_keymap *map = keymap1("w._domainkey.a.com",
	    (rec = record_with(weak, "k=rsa;")));

	free(rec);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[64];

		snprintf(name, sizeof(name), "%s._domainkey.a.com",
		    cases[i].sel);
		rec = record_with(ed, cases[i].tags);
		keymap_add(map, name, rec);
		free(rec);
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(rotation_check_dns(ed, cases[i].sel, "a.com",
		    vdkim_keymap_lookup, map, why, sizeof(why)) ==
		    cases[i].want, "%s: %s", cases[i].sel, why);
	ck_assert_int_eq(rotation_check_dns(weak, "w", "a.com",
	    vdkim_keymap_lookup, map, why, sizeof(why)), ROT_WEAK);
	ck_assert_ptr_nonnull(strstr(why, "1024 bits"));
	ck_assert(rot_status_warns(ROT_TESTING) && !rot_status_fails(ROT_TESTING));
	ck_assert_int_eq(rot_status_for_rotation(ROT_WEAK), ROT_MATCHING);
	vdkim_keymap_free(map);
	vdkim_key_unref(ed);
	vdkim_key_unref(weak);
}
END_TEST

/* One update of the locked check: a record for a.com s9. */
static vdkim_rc
set_s9(rot_state *st, void *ctx, vdkim_error *err)
{
	(void)err;
	return rot_state_set(st, "a.com", "s9", *(int *)ctx, 500) == 0 ?
	    VDKIM_OK : VDKIM_ENOMEM;
}

/* A damaged file: kept as FILE.bad-*, its readable records carried over;
 * nothing learnt: the file byte for byte. */
START_TEST(damaged_state_repaired)
{
	static const char damaged[] = "vdkim-dns-check-state 1\n"
	    "record a.com s1 mismatched 10 20\n"
	    "record a.com\n"
	    "record b.com s2 matching 30 40\n";
	char dir[] = "/tmp/vdkim-rot-XXXXXX", path[256], bad[300],
	    repair[ROT_REPAIR_MAX];
	int status = ROT_DNS_ERROR, missing;
	rot_state st;
	vdkim_error err;
	char *text;
	size_t len;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state", dir);
	write_file(path, damaged, strlen(damaged), 0644);
	ck_assert_int_eq(key_state_check_file(KEY_STATE_DNS, path, 0, set_s9,
	    &status, repair, sizeof(repair), &err), VDKIM_OK);
	ck_assert_str_eq(repair, "");
	ck_assert_int_eq(key_state_read(path, &text, &len, &missing, &err),
	    VDKIM_OK);
	ck_assert_str_eq(text, damaged);
	free(text);

	status = ROT_MISSING;
	ck_assert_int_eq(key_state_check_file(KEY_STATE_DNS, path, 0, set_s9,
	    &status, repair, sizeof(repair), &err), VDKIM_OK);
	snprintf(bad, sizeof(bad), "%s.bad-19700101T000000Z", path);
	ck_assert_msg(strstr(repair, bad) != NULL &&
	    strstr(repair, "2 readable records kept, 1 line dropped") != NULL,
	    "%s", repair);
	ck_assert_int_eq(key_state_read(bad, &text, &len, &missing, &err),
	    VDKIM_OK);
	ck_assert_str_eq(text, damaged);
	free(text);
	ck_assert_int_eq(key_state_load(KEY_STATE_DNS, path, &st, &missing,
	    &err), VDKIM_OK);
	ck_assert_uint_eq(st.n, 3);
	ck_assert_int_eq(rot_state_find(&st, "a.com", "s9")->status,
	    ROT_MISSING);
	ck_assert_int_eq(rot_state_find(&st, "b.com", "s2")->since, 30);
	rot_state_free(&st);
	/* A rotation file is no DNS check file. */
	ck_assert_int_eq(key_state_load(KEY_STATE_ROTATION, path, &st,
	    &missing, &err), VDKIM_ESYNTAX);
	rm_tree(dir);
}
END_TEST

/* ------------------------------------------------------------- policy */

static char pdir[] = "/tmp/vdkim-rotpol-XXXXXX";

static void
write_text(const char *name, const char *text)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", pdir, name);
	write_file(path, text, strlen(text), 0600);
}

static vdkim_rc
load(const char *conf, vdkim_policy **p, vdkim_error *err)
{
	char path[512], *text = xstrdup(conf), *t2;

	/* Every DIR in the text becomes the scratch folder. */
	while (strstr(text, "DIR") != NULL) {
		t2 = replace_once(text, "DIR", pdir);
		free(text);
		text = t2;
	}
	write_text("v.conf", text);
	free(text);
	snprintf(path, sizeof(path), "%s/v.conf", pdir);
	return vdkim_policy_load(path, p, err);
}

static const char *
decide_at(const vdkim_policy *p, const char *when)
{
	static vdkim_decision d;
	vdkim_envelope env;
	vdkim_header h = { "From: x@a.com", 13 };
	vdkim_error err;

	memset(&env, 0, sizeof(env));
	env.size = sizeof(env);
	ck_assert_int_eq(vdkim_policy_decide(p, &env, &h, 1, date_of(when), &d,
	    &err), VDKIM_OK);
	return d.verdict == VDKIM_VERDICT_SIGN ? d.selector[0] :
	    vdkim_why_name(d.why);
}

static const char ROT_CONF[] =
    "dkim-rotation q {\n"
    "  selector-pattern = \"k%Yq%Q\"\n"
    "  period = quarterly\n"
    "  key-dir = \"DIR/%d\"\n"
    "  algorithm = ed25519-sha256\n"
    "  state-file = \"DIR/state\"\n"
    "}\n"
    "dkim-rotation-key = \"q,a.com\"\n"
    "domain \"*\" { dkim-sign = yes }\n";

START_TEST(policy_decides_by_time)
{
	vdkim_policy *p;
	vdkim_error err;
	char *pem = td_read("ed25519.pem", NULL), path[512];

	ck_assert_ptr_nonnull(mkdtemp(pdir));
	snprintf(path, sizeof(path), "%s/a.com", pdir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	write_text("a.com/k2026q3.private", pem);
	write_text("a.com/k2026q4.private", pem);
	write_text("a.com/unrelated.private", pem);
	write_text("state", "vdkim-rotation-state 1\n"
	    "record a.com k2026q3 matching 1780000000 1790000000\n"
	    "record a.com k2026q4 matching 1789000000 1790000000\n"
	    "end 2\n");
	ck_assert_int_eq(load(ROT_CONF, &p, &err), VDKIM_OK);
	/* q4 seen since 2026-09-09: ready by 10-01. */
	ck_assert_str_eq(decide_at(p, "2026-09-30"), "k2026q3");
	ck_assert_str_eq(decide_at(p, "2026-10-01"), "k2026q4");
	/* 2027q1 has no key: q4 goes on, with the reason. */
	ck_assert_str_eq(decide_at(p, "2027-01-02"), "k2026q4");
	vdkim_policy_unref(p);

	/* A truncated state file fails the load, naming it. */
	write_text("state", "vdkim-rotation-state 1\nrecord a.com k2026q3");
	ck_assert_int_eq(load(ROT_CONF, &p, &err), VDKIM_ESYNTAX);
	ck_assert_ptr_nonnull(strstr(err.msg, "/state:2: "));
	unlink(strcat(strcpy(path, pdir), "/state"));
	/* No state file: loads, nothing verified, nothing signed. */
	ck_assert_int_eq(load(ROT_CONF, &p, &err), VDKIM_OK);
	ck_assert_str_eq(decide_at(p, "2026-10-01"), "rotation-unverified");
	vdkim_policy_unref(p);

	/* Config errors name their line. */
	ck_assert_int_eq(load("dkim-rotation-key = \"nope,a.com\"\n", &p,
	    &err), VDKIM_ESYNTAX);
	ck_assert_ptr_nonnull(strstr(err.msg, "v.conf:1: dkim-rotation-key: "
	    "no dkim-rotation block"));
	ck_assert_int_eq(load("dkim-rotation q {\n key-dir = \"/k\"\n"
	    " period = weekly\n}\n", &p, &err), VDKIM_ESYNTAX);
	ck_assert_ptr_nonnull(strstr(err.msg, "v.conf:3: period must be"));
	ck_assert_int_eq(load("dkim-rotation q {\n key-dir = \"/k\"\n"
	    " period = monthly\n selector-pattern = \"k%m\"\n}\n", &p, &err),
	    VDKIM_ESYNTAX);
	ck_assert_ptr_nonnull(strstr(err.msg, "v.conf:4: dkim-rotation q: "));
	free(pem);
	rm_tree(pdir);
}
END_TEST

Suite *
rotation_suite(void)
{
	Suite *s = suite_create("rotation");
	TCase *tc = tcase_create("rotation");

	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, quarters_and_years);
	tcase_add_test(tc, months_and_algorithms);
	tcase_add_test(tc, days_from_a_start);
	tcase_add_test(tc, explicit_list);
	tcase_add_test(tc, names_read_back);
	tcase_add_test(tc, schedule_errors);
	tcase_add_test(tc, state_round_trip);
	tcase_add_test(tc, state_refused);
	tcase_add_test(tc, state_file_missing_or_bad);
	tcase_add_test(tc, state_update_rule);
	tcase_add_test(tc, cutover_on_time);
	tcase_add_test(tc, held_back_then_cutover);
	tcase_add_test(tc, nothing_verified);
	tcase_add_test(tc, no_key_file_and_retire);
	tcase_add_test(tc, dns_comparison);
	tcase_add_test(tc, dns_receiver_rules);
	tcase_add_test(tc, damaged_state_repaired);
	tcase_add_test(tc, policy_decides_by_time);
	suite_add_tcase(s, tc);
	return s;
}
