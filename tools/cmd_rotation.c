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
 * tested) at any moment.  The rules are the module's (rotation_plan.h):
 * this file prints what they find and picks the exit status.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"
#include "interval.h"
#include "rotation_plan.h"
#include "strbuf.h"

#define DEFAULT_CONFIG "/etc/vdkim/vdkim.conf"

/* check's outcomes (a check that cannot run: exit_codes.h's, never
 * CHECK_BROKEN, which says signing fails). */
#define CHECK_OK 0
#define CHECK_BROKEN 1     /* signing fails now */
#define CHECK_ATTENTION 2  /* a selector is held back, or will be */
#define CHECK_DNS_DOWN CLI_TEMPFAIL /* DNS did not answer: nothing was
                              recorded (75) */

struct run {
	const char *cmd;
	vdkim_policy *p;
	time_t now;
	const char *domain;    /* --domain: only this one */
	int periods;           /* prepare --periods */
	unsigned bits;         /* prepare --bits */
};

static char *
when(time_t t, char *buf)
{
	rot_format_time(t, buf, 32);
	return buf;
}

/* ------------------------------------------------------------- plan */

static void
print_plan(const rot_plan_entry *e)
{
	const rot_schedule *s = e->b->sched;
	char t1[32], t2[32], t3[32], t4[32];
	char ahead[INTERVAL_TEXT_MAX], overlap[INTERVAL_TEXT_MAX];

	printf("%s  dkim-rotation %s  %s  publish-ahead %s  overlap %s\n",
	    e->b->domain, s->name, vdkim_alg_name((vdkim_alg)e->alg),
	    interval_format(s->publish_ahead, ahead, sizeof(ahead)),
	    interval_format(s->overlap, overlap, sizeof(overlap)));
	printf("  %-16s %-21s %-21s %-21s %-11s %s\n", "selector", "publish by",
	    "current from", "remove from DNS after", "DNS now", "recorded");
	for (size_t i = 0; i < e->nsels; i++) {
		const rot_plan_sel *ps = &e->sels[i];

		printf("%s %-16s %-21s %-21s %-21s %-11s %s",
		    ps->in_use ? "*" : " ", ps->selector,
		    when(ps->publish_by, t1), when(ps->current_from, t2),
		    ps->remove_after ? when(ps->remove_after, t3) : "-",
		    ps->have == ROT_KEY_NONE ? "no key" :
		    ps->have == ROT_KEY_ERROR ? "key-error" :
		    rot_status_name(ps->dns), ps->recorded ?
		    rot_status_name(ps->rec_status) : "unchecked");
		if (ps->recorded && ps->rec_since != 0)
			printf(" since %s", when(ps->rec_since, t4));
		printf("\n");
	}
	if (e->choice.why != VDKIM_WHY_OK)
		printf("  %s: %s\n", vdkim_why_name(e->choice.why),
		    e->choice.detail);
	printf("\n");
}

/* plan (lookup_dns) and retire (not): the module's plan, printed. */
static int
run_plan(struct run *r, int lookup_dns)
{
	rot_plan pl;
	vdkim_error err;
	char t1[32], overlap[INTERVAL_TEXT_MAX];

	if (rotation_plan(r->p, r->domain, r->now, lookup_dns, NULL, NULL, &pl,
	    &err) != VDKIM_OK)
		return cli_fail(r->cmd, cli_exit_for(err.rc), "%s", err.msg);
	for (size_t i = 0; i < pl.n; i++) {
		const rot_plan_entry *e = &pl.e[i];

		if (lookup_dns) {
			print_plan(e);
			continue;
		}
		for (size_t j = 0; j < e->nretire; j++)
			printf("%s._domainkey.%s may be removed from DNS (not "
			    "used since %s, overlap %s)\n",
			    e->retire[j].selector, e->b->domain,
			    when(e->retire[j].superseded, t1),
			    interval_format(e->b->sched->overlap, overlap,
			    sizeof(overlap)));
	}
	rotation_plan_free(&pl);
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
		return cli_fail(cmd, CLI_USAGE, "%s: path too long", dir);
	for (char *p = path + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(path, 0700) != 0 && errno != EEXIST)
				return cli_fail(cmd, CLI_CANTCREAT,
				    "cannot create %s: %s",
				    path, strerror(errno));
			*p = c;
			if (c == '\0')
				break;
		}
	}
	return 0;
}

static int
prepare_one(const rot_binding *b, int alg, void *arg)
{
	struct run *r = arg;
	const rot_schedule *s = b->sched;
	long cur = rot_period_at(s, r->now);

	for (long i = cur < 0 ? 0 : cur; i <= cur + r->periods; i++) {
		char sel[ROT_SELECTOR_MAX], path[4096], t1[32], t2[32];
		char *line = NULL;
		time_t start = rot_period_start(s, i);
		vdkim_key *key = NULL;
		vdkim_error err;
		int made = 0, rc;

		if (rot_selector(s, i, alg, sel, sizeof(sel)) != 0)
			continue; /* an explicit list has ended */
		snprintf(path, sizeof(path), "%s/%s.private", b->key_dir, sel);
		if (access(path, F_OK) == 0) {
			if (vdkim_key_load_file(path, &key, &err) != VDKIM_OK)
				return cli_fail(r->cmd, cli_exit_for(err.rc),
				    "%s", err.msg);
			if ((int)vdkim_key_get_alg(key) != alg) {
				vdkim_key_unref(key);
				return cli_fail(r->cmd, CLI_DATA,
				    "%s is not an %s key",
				    path, vdkim_alg_name((vdkim_alg)alg));
			}
			if ((rc = cli_zone_line(r->cmd, key, sel, b->domain,
			    &line)) != 0) {
				vdkim_key_unref(key);
				return rc;
			}
			vdkim_key_unref(key);
		} else {
			if ((rc = make_dir(r->cmd, b->key_dir)) != 0 ||
			    (rc = cli_keygen_write(r->cmd,
			    alg == VDKIM_ALG_ED25519_SHA256 ? VDKIM_KEY_ED25519 :
			    VDKIM_KEY_RSA, r->bits, sel, b->domain, b->key_dir,
			    &line)) != 0)
				return rc;
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

/* prepare: the keys, then the config loaded again, its remaining
 * warnings and errors printed (those about the keys just made are
 * gone). */
static int
prepare(struct run *r, const char *path)
{
	vdkim_policy *after = NULL;
	int rc = rotation_for_each(r->p, r->domain, NULL, prepare_one, r);

	if (rc != 0 || fflush(stdout) != 0)
		return rc;
	rc = cli_policy_load("rotation", path, &after);
	vdkim_policy_unref(after);
	return rc;
}

/* ------------------------------------------------------------ check */

static int
run_check(struct run *r)
{
	/* check's exit statuses, by the module's outcome. */
	static const int status[] = {
		[ROT_OUTCOME_OK] = CHECK_OK,
		[ROT_OUTCOME_BROKEN] = CHECK_BROKEN,
		[ROT_OUTCOME_ATTENTION] = CHECK_ATTENTION,
		[ROT_OUTCOME_DNS_DOWN] = CHECK_DNS_DOWN,
	};
	rot_check c;
	vdkim_error err;
	vdkim_rc rc;
	int st;

	rc = rotation_check_run(r->p, r->domain, r->now, NULL, NULL, &c, &err);
	for (size_t i = 0; i < c.n; i++) {
		strbuf sb = STRBUF_INIT;
		char *text;

		rotation_check_text(&c.e[i], &sb);
		if ((text = sb_take(&sb)) == NULL)
			rc = vdkim_fail(&err, VDKIM_ENOMEM, "out of memory");
		else
			fputs(text, stdout);
		free(text);
	}
	for (size_t i = 0; i < c.nrepairs; i++)
		printf("%s\n", c.repairs[i]);
	/* A file that could not be checked: signing cannot be vouched for. */
	st = rc != VDKIM_OK ? cli_fail(r->cmd, rc == VDKIM_EIO ? CLI_IOERR :
	    cli_exit_for(err.rc), "%s", err.msg) :
	    status[rotation_check_outcome(&c)];
	rotation_check_free(&c);
	return st;
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
		return cli_fail("rotation", CLI_USAGE,
		    "usage: vdkimctl %s", USAGE);
	sub = argv[1];
	r.cmd = "rotation";
	if (strcmp(sub, "plan") != 0 && strcmp(sub, "prepare") != 0 &&
	    strcmp(sub, "check") != 0 && strcmp(sub, "retire") != 0)
		return cli_fail("rotation", CLI_USAGE,
		    "unknown subcommand \"%s\" (plan, "
		    "prepare, check, retire)", sub);
	argc--;
	argv++;
	while ((c = cli_getopt("rotation", argc, argv, opts)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'd': r.domain = optarg; break;
		case 't':
			if (cli_parse_time("rotation", optarg, &r.now) != 0)
				return CLI_USAGE;
			break;
		case 'n':
		case 'b':
			v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < 0 ||
			    v > (c == 'n' ? 24 : 4096))
				return cli_fail("rotation", CLI_USAGE,
				    "--%s must be a "
				    "number (%s), not \"%s\"", c == 'n' ?
				    "periods" : "bits", c == 'n' ? "0 to 24" :
				    "1024 to 4096", optarg);
			if (c == 'n')
				r.periods = (int)v;
			else
				r.bits = (unsigned)v;
			break;
		default:
			return CLI_USAGE;
		}
	}
	if (optind != argc)
		return cli_fail("rotation", CLI_USAGE,
		    "unexpected argument \"%s\"",
		    argv[optind]);
	if (r.now == 0)
		r.now = time(NULL);
	/* check repairs a damaged state file: it must load despite it.
	 * prepare makes the keys whose absence the load would call errors:
	 * it says what is left once it is done. */
	if ((rc = cli_policy_load_as("rotation", path,
	    strcmp(sub, "check") == 0 ? CLI_LOAD_CHECKER :
	    strcmp(sub, "prepare") == 0 ? CLI_LOAD_QUIET : 0, &r.p)) != 0)
		return rc;
	if (r.p->nschedules == 0) {
		vdkim_policy_unref(r.p);
		return cli_fail("rotation", CLI_CONFIG,
		    "%s has no dkim-rotation block",
		    path);
	}
	if (strcmp(sub, "check") == 0)
		rc = run_check(&r);
	else if (strcmp(sub, "prepare") == 0)
		rc = prepare(&r, path);
	else
		rc = run_plan(&r, strcmp(sub, "plan") == 0);
	if (fflush(stdout) != 0)
		rc = cli_fail("rotation", CLI_IOERR,
		    "cannot write: %s", strerror(errno));
	vdkim_policy_unref(r.p);
	return rc;
}
