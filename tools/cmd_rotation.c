/*
 * cmd_rotation.c - "vdkimctl rotation plan|prepare|check|retire": the
 * operator's side of the rotation schedules (module/rotation.h).
 *
 *   plan     per domain, each selector: when to publish it, when it signs,
 *            when it may leave DNS, what DNS says now, what is recorded
 *   prepare  makes the keys of the current and next period(s) and prints
 *            the records to publish
 *   check    queries DNS for the selectors in play, records the results in
 *            the state file (read by every process that loads the policy)
 *            and exits non-zero on what breaks signing
 *   retire   the selectors whose overlap has passed
 *
 * Every subcommand takes --time SECONDS, so schedules can be tried (and
 * tested) at any moment.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "policy_model.h"
#include "rotation.h"

#define DEFAULT_CONFIG "/etc/vdkim/vdkim.conf"

/* check's exit statuses. */
#define CHECK_OK 0
#define CHECK_BROKEN 1     /* signing fails now (or cannot be checked) */
#define CHECK_ATTENTION 2  /* a selector is held back, or will be */
#define CHECK_DNS_DOWN 3   /* DNS did not answer: nothing was recorded */

struct run {
	const char *cmd;
	vdkim_policy *p;
	time_t now;
	const char *domain;    /* --domain: only this one */
	int periods;           /* prepare --periods */
	unsigned bits;         /* prepare --bits */
	rot_state *st;         /* check: the state being updated */
	int broken, attention, dns_down;
};

typedef int (*binding_fn)(struct run *r, const rot_binding *b, int alg);

static char *
when(time_t t, char *buf)
{
	rot_format_time(t, buf, 32);
	return buf;
}

/* Calls fn for each algorithm of each binding (a schedule and domain
 * bound in several scopes counts once) whose state file is path (NULL:
 * any).  Returns the first non-zero fn result. */
static int
for_each_binding(struct run *r, const char *path, binding_fn fn)
{
	const vdkim_policy *p = r->p;

	for (size_t i = 0; i < p->nkeytab; i++) {
		const rot_binding *b = p->keytab[i].rot;
		size_t j;

		if (b == NULL || (r->domain != NULL &&
		    strcasecmp(r->domain, b->domain) != 0) ||
		    (path != NULL && strcmp(path, b->sched->state_file) != 0))
			continue;
		for (j = 0; j < i; j++)
			if (p->keytab[j].rot != NULL &&
			    p->keytab[j].rot->sched == b->sched &&
			    strcmp(p->keytab[j].rot->domain, b->domain) == 0)
				break;
		if (j < i)
			continue;
		for (size_t a = 0; a < b->sched->nalgs; a++) {
			int rc = fn(r, b, b->sched->algs[a]);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

static const rot_key *
key_of(const rot_binding *b, long period, int alg)
{
	for (size_t i = 0; i < b->nkeys; i++)
		if (b->keys[i].period == period && b->keys[i].alg == alg)
			return &b->keys[i];
	return NULL;
}

/* ------------------------------------------------------------- plan */

static int
plan_one(struct run *r, const rot_binding *b, int alg)
{
	const rot_schedule *s = b->sched;
	long cur = rot_period_at(s, r->now), first = cur - 1, last = cur + 2;
	rot_choice ch;
	char t1[32], t2[32], t3[32], t4[32];

	rotation_choose(b, alg, r->now, b->state, &ch);
	for (size_t i = 0; i < b->nkeys; i++)
		if (b->keys[i].alg == alg && b->keys[i].period > last)
			last = b->keys[i].period;
	if (ch.key != NULL && ch.key->period < first)
		first = ch.key->period;
	printf("%s  dkim-rotation %s  %s  publish-ahead %lds  overlap %lds\n",
	    b->domain, s->name, vdkim_alg_name((vdkim_alg)alg),
	    s->publish_ahead, s->overlap);
	printf("  %-16s %-21s %-21s %-21s %-11s %s\n", "selector", "publish by",
	    "current from", "remove from DNS after", "DNS now", "recorded");
	for (long i = first < 0 ? 0 : first; i <= last; i++) {
		const rot_key *k = key_of(b, i, alg);
		const rot_record *rec;
		char sel[ROT_SELECTOR_MAX], why[VDKIM_ERRMSG_MAX];
		time_t start = rot_period_start(s, i), sup;
		const char *live = "no key";

		if (rot_selector(s, i, alg, sel, sizeof(sel)) != 0)
			continue;
		rec = rot_state_find(b->state, b->domain, sel);
		if (k != NULL && k->entry.key != NULL)
			live = rot_status_name(rotation_check_dns(k->entry.key,
			    sel, b->domain, NULL, NULL, why, sizeof(why)));
		else if (k != NULL)
			live = "key-error";
		sup = k != NULL ? rotation_superseded(b, k, b->state) : 0;
		printf("%s %-16s %-21s %-21s %-21s %-11s %s", ch.key == k &&
		    k != NULL ? "*" : " ", sel,
		    when(start - s->publish_ahead, t1), when(start, t2),
		    sup ? when(sup + s->overlap, t3) : "-", live,
		    rec ? rot_status_name(rec->status) : "unchecked");
		if (rec != NULL && rec->since != 0)
			printf(" since %s", when(rec->since, t4));
		printf("\n");
	}
	if (ch.why != VDKIM_WHY_OK)
		printf("  %s: %s\n", vdkim_why_name(ch.why), ch.detail);
	printf("\n");
	return 0;
}

/* ---------------------------------------------------------- prepare */

/* Makes the directory of keys when missing (mode 0700: they are
 * private). */
static int
make_dir(const char *cmd, const char *dir)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s", dir) >= sizeof(path))
		return cli_error(cmd, "%s: path too long", dir);
	for (char *p = path + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(path, 0700) != 0 && errno != EEXIST)
				return cli_error(cmd, "cannot create %s: %s",
				    path, strerror(errno));
			*p = c;
			if (c == '\0')
				break;
		}
	}
	return 0;
}

static int
prepare_one(struct run *r, const rot_binding *b, int alg)
{
	const rot_schedule *s = b->sched;
	long cur = rot_period_at(s, r->now);

	for (long i = cur < 0 ? 0 : cur; i <= cur + r->periods; i++) {
		char sel[ROT_SELECTOR_MAX], path[4096], t1[32], t2[32];
		char *line = NULL;
		time_t start = rot_period_start(s, i);
		vdkim_key *key = NULL;
		vdkim_error err;
		int made = 0;

		if (rot_selector(s, i, alg, sel, sizeof(sel)) != 0)
			continue; /* an explicit list has ended */
		snprintf(path, sizeof(path), "%s/%s.private", b->key_dir, sel);
		if (access(path, F_OK) == 0) {
			if (vdkim_key_load_file(path, &key, &err) != VDKIM_OK)
				return cli_error(r->cmd, "%s", err.msg);
			if ((int)vdkim_key_get_alg(key) != alg) {
				vdkim_key_unref(key);
				return cli_error(r->cmd, "%s is not an %s key",
				    path, vdkim_alg_name((vdkim_alg)alg));
			}
			if (cli_zone_line(r->cmd, key, sel, b->domain,
			    &line) != 0) {
				vdkim_key_unref(key);
				return 1;
			}
			vdkim_key_unref(key);
		} else {
			if (make_dir(r->cmd, b->key_dir) != 0 ||
			    cli_keygen_write(r->cmd,
			    alg == VDKIM_ALG_ED25519_SHA256 ? VDKIM_KEY_ED25519 :
			    VDKIM_KEY_RSA, r->bits, sel, b->domain, b->key_dir,
			    &line) != 0)
				return 1;
			made = 1;
		}
		printf("; %s s=%s %s: signs from %s; publish by %s (%s %s)\n%s\n",
		    b->domain, sel, vdkim_alg_name((vdkim_alg)alg),
		    when(start, t1), when(start - s->publish_ahead, t2),
		    made ? "new key" : "key", path, line);
		free(line);
	}
	return 0;
}

/* ------------------------------------------------------------ check */

static int
check_one(struct run *r, const rot_binding *b, int alg)
{
	const rot_schedule *s = b->sched;
	long cur = rot_period_at(s, r->now), from;
	rot_choice before, after;
	char t1[32], t2[32], sel[ROT_SELECTOR_MAX];
	time_t next_start = rot_period_start(s, cur + 1);

	rotation_choose(b, alg, r->now, r->st, &before);
	/* In play: the key in use and every newer one. */
	from = before.key == NULL ? cur - 1 : before.key->period < cur ?
	    before.key->period : cur;
	for (size_t i = 0; i < b->nkeys; i++) {
		const rot_key *k = &b->keys[i];
		char why[VDKIM_ERRMSG_MAX];
		int status;

		if (k->alg != alg || k->period < from)
			continue;
		if (k->entry.key == NULL) {
			printf("%s %s key-error %s\n", b->domain,
			    k->entry.selector, k->entry.error);
			r->attention = 1;
			continue;
		}
		status = rotation_check_dns(k->entry.key, k->entry.selector,
		    b->domain, NULL, NULL, why, sizeof(why));
		printf("%s %s %s %s\n", b->domain, k->entry.selector,
		    rot_status_name(status), why);
		if (status == ROT_DNS_ERROR)
			r->dns_down = 1;
		if (rot_state_update(r->st, b->domain, k->entry.selector, status,
		    r->now, k->start, s->publish_ahead) != 0)
			return cli_error(r->cmd, "out of memory");
	}
	rotation_choose(b, alg, r->now, r->st, &after);
	if (after.key == NULL || after.why == VDKIM_WHY_ROTATION_NOT_IN_DNS) {
		printf("%s: BROKEN %s: %s\n", b->domain,
		    vdkim_why_name(after.why), after.detail);
		r->broken = 1;
	} else if (after.why == VDKIM_WHY_ROTATION_HELD) {
		printf("%s: HELD %s\n", b->domain, after.detail);
		r->attention = 1;
	} else {
		printf("%s: signing with s=%s\n", b->domain,
		    after.key->entry.selector);
	}
	/* Too late to be on time for the next period? */
	if (next_start != (time_t)-1 &&
	    r->now >= next_start - s->publish_ahead &&
	    rot_selector(s, cur + 1, alg, sel, sizeof(sel)) == 0) {
		const rot_key *k = key_of(b, cur + 1, alg);
		const rot_record *rec = rot_state_find(r->st, b->domain, sel);

		if (k == NULL || rec == NULL || rec->since == 0 ||
		    rec->since + s->publish_ahead > next_start) {
			printf("%s: NOT READY selector %s (from %s) will be held "
			    "back: %s by %s\n", b->domain, sel,
			    when(next_start, t1), k == NULL ? "make its key "
			    "(vdkimctl rotation prepare) and publish it" :
			    "it had to be in DNS", when(next_start -
			    s->publish_ahead, t2));
			r->attention = 1;
		}
	}
	return 0;
}

/* Checks the bindings of one state file, under its lock, and writes the
 * results atomically. */
static int
check_file(struct run *r, const char *path)
{
	char lock[4200], why[4400];
	rot_state st;
	vdkim_error err;
	char *before = NULL, *after = NULL;
	int fd, missing, rc = 0;

	snprintf(lock, sizeof(lock), "%s.lock", path);
	/* Two checkers (cron and the harness) take turns. */
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return cli_error(r->cmd, "cannot open %s: %s (does its folder "
		    "exist?)", lock, strerror(errno));
	if (flock(fd, LOCK_EX) != 0) {
		close(fd);
		return cli_error(r->cmd, "cannot lock %s: %s", lock,
		    strerror(errno));
	}
	if (rot_state_load(path, &st, &missing, &err) != VDKIM_OK) {
		close(fd);
		return cli_error(r->cmd, "%s", err.msg);
	}
	before = rot_state_format(&st);
	r->st = &st;
	rc = for_each_binding(r, path, check_one);
	after = rot_state_format(&st);
	if (rc == 0 && (before == NULL || after == NULL))
		rc = cli_error(r->cmd, "out of memory");
	/* Nothing learnt (DNS down): the file stays as it was. */
	if (rc == 0 && (missing || strcmp(before, after) != 0) &&
	    cli_write_file(path, after, strlen(after), 0644, 0, why,
	    sizeof(why)) != 0)
		rc = cli_error(r->cmd, "%s", why);
	free(before);
	free(after);
	rot_state_free(&st);
	close(fd);
	return rc;
}

static int
run_check(struct run *r)
{
	const vdkim_policy *p = r->p;

	for (size_t i = 0; i < p->nschedules; i++) {
		size_t j;
		for (j = 0; j < i; j++)
			if (strcmp(p->schedules[j].state_file,
			    p->schedules[i].state_file) == 0)
				break;
		if (j == i && check_file(r, p->schedules[i].state_file) != 0)
			return CHECK_BROKEN;
	}
	if (r->broken)
		return CHECK_BROKEN;
	if (r->dns_down)
		return CHECK_DNS_DOWN;
	return r->attention ? CHECK_ATTENTION : CHECK_OK;
}

/* ----------------------------------------------------------- retire */

static int
retire_one(struct run *r, const rot_binding *b, int alg)
{
	rot_choice ch;
	char t1[32];

	rotation_choose(b, alg, r->now, b->state, &ch);
	for (size_t i = 0; i < b->nkeys; i++) {
		const rot_key *k = &b->keys[i];
		time_t sup;

		if (k->alg != alg || k == ch.key)
			continue;
		sup = rotation_superseded(b, k, b->state);
		if (sup != 0 && r->now >= sup + b->sched->overlap)
			printf("%s._domainkey.%s may be removed from DNS (not "
			    "used since %s, overlap %lds)\n", k->entry.selector,
			    b->domain, when(sup, t1), b->sched->overlap);
	}
	return 0;
}

/* ----------------------------------------------------------- command */

static const char USAGE[] =
    "rotation plan|prepare|check|retire [--config FILE] [--time SECONDS] "
    "[--domain D]\n"
    "           prepare: [--periods N] [--bits N]";

int
cmd_rotation(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "time", required_argument, NULL, 't' },
		{ "domain", required_argument, NULL, 'd' },
		{ "periods", required_argument, NULL, 'n' },
		{ "bits", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 }
	};
	struct run r;
	const char *path = DEFAULT_CONFIG, *sub;
	char *end;
	long v;
	int c, rc;

	memset(&r, 0, sizeof(r));
	r.periods = 1;
	r.bits = 2048;
	if (argc < 2 || argv[1][0] == '-')
		return cli_error("rotation", "usage: vdkimctl %s", USAGE);
	sub = argv[1];
	r.cmd = "rotation";
	if (strcmp(sub, "plan") != 0 && strcmp(sub, "prepare") != 0 &&
	    strcmp(sub, "check") != 0 && strcmp(sub, "retire") != 0)
		return cli_error("rotation", "unknown subcommand \"%s\" (plan, "
		    "prepare, check, retire)", sub);
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'd': r.domain = optarg; break;
		case 't':
			if (cli_parse_time("rotation", optarg, &r.now) != 0)
				return 1;
			break;
		case 'n':
		case 'b':
			v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < 0 ||
			    v > (c == 'n' ? 24 : 4096))
				return cli_error("rotation", "--%s must be a "
				    "number (%s), not \"%s\"", c == 'n' ?
				    "periods" : "bits", c == 'n' ? "0 to 24" :
				    "1024 to 4096", optarg);
			if (c == 'n')
				r.periods = (int)v;
			else
				r.bits = (unsigned)v;
			break;
		default:
			return cli_error("rotation", "unknown option (see "
			    "vdkimctl help)");
		}
	}
	if (optind != argc)
		return cli_error("rotation", "unexpected argument \"%s\"",
		    argv[optind]);
	if (r.now == 0)
		r.now = time(NULL);
	if (cli_policy_load("rotation", path, &r.p) != 0)
		return 1;
	if (r.p->nschedules == 0) {
		vdkim_policy_unref(r.p);
		return cli_error("rotation", "%s has no dkim-rotation block",
		    path);
	}
	if (strcmp(sub, "check") == 0)
		rc = run_check(&r);
	else
		rc = for_each_binding(&r, NULL, strcmp(sub, "plan") == 0 ?
		    plan_one : strcmp(sub, "prepare") == 0 ? prepare_one :
		    retire_one);
	if (fflush(stdout) != 0)
		rc = cli_error("rotation", "cannot write: %s", strerror(errno));
	vdkim_policy_unref(r.p);
	return rc;
}
