/*
 * rotation_keys.c - a rotating domain's keys, found and loaded with the
 * policy, and the choice of the one that signs a message.
 *
 * The keys of a binding are the files of its key-dir whose names are
 * selectors of its schedule (KEY-DIR/SELECTOR.private, as "vdkimctl keygen
 * --dir" and "vdkimctl rotation prepare" write them): which keys exist is
 * the operator's doing, not the clock's, so a policy loaded today decides
 * correctly next quarter too.  Per message only memory is read.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "error.h"
#include "interval.h"
#include "key_state.h"
#include "rotation.h"
#include "strbuf.h"

#define PRIVATE_SUFFIX ".private"

/* ------------------------------------------------------------ loading */

static char *
expand_key_dir(const char *pattern, const char *domain)
{
	strbuf sb;

	sb_init(&sb);
	for (const char *p = pattern; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 'd') {
			sb_adds(&sb, domain);
			p++;
		} else {
			sb_add(&sb, p, 1);
		}
	}
	return sb_take(&sb);
}

static int
cmp_key(const void *a, const void *b)
{
	const rot_key *x = a, *y = b;

	if (x->alg != y->alg)
		return x->alg < y->alg ? -1 : 1;
	return x->period < y->period ? -1 : x->period > y->period;
}

/* Adds selector's key (not loaded yet) to b; -1 when out of memory. */
static int
add_key(rot_binding *b, size_t *cap, const char *selector, long period,
    int alg)
{
	rot_key *k;
	size_t plen;

	if (b->nkeys == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		rot_key *nk = realloc(b->keys, ncap * sizeof(*nk));
		if (nk == NULL)
			return -1;
		b->keys = nk;
		*cap = ncap;
	}
	k = &b->keys[b->nkeys];
	memset(k, 0, sizeof(*k));
	k->period = period;
	k->start = rot_period_start(b->sched, period);
	k->alg = alg;
	plen = strlen(b->key_dir) + strlen(selector) + sizeof(PRIVATE_SUFFIX) +
	    1;
	k->entry.selector = strdup(selector);
	k->entry.domain = strdup(b->domain);
	k->entry.path = malloc(plen);
	b->nkeys++;
	if (k->entry.selector == NULL || k->entry.domain == NULL ||
	    k->entry.path == NULL)
		return -1;
	snprintf(k->entry.path, plen, "%s/%s%s", b->key_dir, selector,
	    PRIVATE_SUFFIX);
	return 0;
}

/* The selectors of b's schedule that have a key file in its key-dir:
 * 0, 1 when the key-dir cannot be read (said), -1 out of memory. */
static int
find_keys(vdkim_policy *p, rot_binding *b, int line)
{
	const rot_schedule *s = b->sched;
	size_t cap = 0;
	DIR *d;
	struct dirent *de;

	if (s->period == ROT_LIST) {
		for (size_t i = 0; i < s->nlist; i++) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s%s", b->key_dir,
			    s->list[i].selector, PRIVATE_SUFFIX);
			if (access(path, F_OK) == 0 &&
			    add_key(b, &cap, s->list[i].selector, (long)i,
			    s->algs[0]) != 0)
				return -1;
		}
		return 0;
	}
	d = opendir(b->key_dir);
	if (d == NULL)
		return policy_warn(p, 1, "%s:%d: dkim-rotation-key %s,%s: "
		    "key-dir %s: %s (vdkimctl rotation prepare makes the keys)",
		    p->path, line, s->name, b->domain, b->key_dir,
		    strerror(errno)) == 0 ? 1 : -1;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name), sl = strlen(PRIVATE_SUFFIX);
		char sel[ROT_SELECTOR_MAX];
		long period;
		int alg;

		if (n <= sl || n - sl >= sizeof(sel) ||
		    strcmp(de->d_name + n - sl, PRIVATE_SUFFIX) != 0)
			continue;
		memcpy(sel, de->d_name, n - sl);
		sel[n - sl] = '\0';
		if (rot_match(s, sel, &period, &alg) != 0)
			continue;
		if (add_key(b, &cap, sel, period, alg) != 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

static void
free_key(rot_key *k)
{
	vdkim_key_unref(k->entry.key);
	free(k->entry.selector);
	free(k->entry.domain);
	free(k->entry.path);
	free(k->entry.error);
}

/* Keeps the ROT_MAX_KEYS newest keys of each algorithm. */
static void
trim_keys(vdkim_policy *p, rot_binding *b, int line)
{
	size_t w = 0;

	if (b->nkeys == 0)
		return;
	qsort(b->keys, b->nkeys, sizeof(*b->keys), cmp_key);
	for (size_t i = 0; i < b->nkeys; i++) {
		size_t newer = 0;
		for (size_t j = i + 1; j < b->nkeys; j++)
			newer += b->keys[j].alg == b->keys[i].alg;
		if (newer >= ROT_MAX_KEYS) {
			policy_warn(p, 0, "%s:%d: dkim-rotation-key %s,%s: more "
			    "than %d keys in %s; %s is ignored (move retired "
			    "keys away)", p->path, line, b->sched->name,
			    b->domain, ROT_MAX_KEYS, b->key_dir,
			    b->keys[i].entry.path);
			free_key(&b->keys[i]);
			continue;
		}
		b->keys[w++] = b->keys[i];
	}
	b->nkeys = w;
}

void
rotation_keys_loaded(vdkim_policy *p, const key_entry *k)
{
	rot_binding *b = k->rot;

	for (size_t i = 0; i < b->nkeys; i++) {
		key_entry *e = &b->keys[i].entry;

		if (e->key != NULL &&
		    (int)vdkim_key_get_alg(e->key) != b->keys[i].alg) {
			policy_key_set_error(e, "%s is an %s key, "
			    "but its selector is for %s", e->path,
			    vdkim_alg_name(vdkim_key_get_alg(e->key)),
			    vdkim_alg_name((vdkim_alg)b->keys[i].alg));
			vdkim_key_unref(e->key);
			e->key = NULL;
			policy_warn(p, 1, "%s:%d: dkim-rotation-key %s,%s: %s",
			    p->path, k->line, b->sched->name, b->domain,
			    policy_key_error(e));
		}
	}
	if (b->nkeys == 0 && !b->dir_unreadable)
		policy_warn(p, 1, "%s:%d: dkim-rotation-key %s,%s: no key of "
		    "the schedule in %s (vdkimctl rotation prepare makes "
		    "them)", p->path, k->line, b->sched->name, b->domain,
		    b->key_dir);
}

/* The loaded state of path, loading it the first time. */
static vdkim_rc
state_for(vdkim_policy *p, const char *path, const rot_state **out,
    vdkim_error *err)
{
	struct rot_state_file *sf;
	vdkim_rc rc;
	int damaged;

	for (size_t i = 0; i < p->nrot_states; i++)
		if (strcmp(p->rot_states[i].path, path) == 0) {
			*out = &p->rot_states[i].st;
			return VDKIM_OK;
		}
	sf = realloc(p->rot_states, (p->nrot_states + 1) * sizeof(*sf));
	if (sf == NULL)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	p->rot_states = sf;
	sf = &p->rot_states[p->nrot_states];
	memset(sf, 0, sizeof(*sf));
	sf->path = strdup(path);
	if (sf->path == NULL)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	/* A damaged file fails a host's load (a reload keeps the policy in
	 * force); the checker loads it as unchecked and repairs it. */
	rc = key_state_load_policy(p, KEY_STATE_ROTATION, path,
	    p->load_for_checker, &sf->st, &sf->missing, &damaged, err);
	if (rc != VDKIM_OK) {
		free(sf->path);
		return rc;
	}
	p->nrot_states++;
	if (sf->missing)
		policy_warn(p, 0, "rotation state file %s does not exist yet: "
		    "no selector has been seen in DNS (run vdkimctl rotation "
		    "check)", path);
	*out = &sf->st;
	return VDKIM_OK;
}

vdkim_rc
rotation_find_keys(vdkim_policy *p, key_entry *k, vdkim_error *err)
{
	rot_binding *b = k->rot;
	vdkim_rc rc;
	int found;

	rc = state_for(p, b->sched->state_file, &b->state, err);
	if (rc != VDKIM_OK)
		return rc;
	b->key_dir = expand_key_dir(b->sched->key_dir, b->domain);
	found = b->key_dir != NULL ? find_keys(p, b, k->line) : -1;
	if (found < 0)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	b->dir_unreadable = found > 0;
	if (!b->dir_unreadable)
		trim_keys(p, b, k->line);
	for (size_t i = 0; i < b->nkeys; i++)
		b->keys[i].entry.line = k->line;
	return VDKIM_OK;
}

void
rotation_binding_free(rot_binding *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->nkeys; i++)
		free_key(&b->keys[i]);
	free(b->keys);
	free(b->sched_name);
	free(b->domain);
	free(b->key_dir);
	free(b);
}

void
rotation_free(vdkim_policy *p)
{
	for (size_t i = 0; i < p->nschedules; i++)
		rot_schedule_free(&p->schedules[i]);
	free(p->schedules);
	for (size_t i = 0; i < p->nrot_states; i++) {
		free(p->rot_states[i].path);
		rot_state_free(&p->rot_states[i].st);
	}
	free(p->rot_states);
}

/* ------------------------------------------------------------- choice */

/* Ready to sign: loaded, and seen in DNS, matching, for publish-ahead. */
static int
is_ready(const rot_binding *b, const rot_key *k, const rot_record *r,
    time_t now)
{
	return k->entry.key != NULL && r != NULL && r->since != 0 &&
	    now >= r->since + b->sched->publish_ahead;
}

/* Why k is not ready, in words, into buf. */
static void
not_ready(const rot_binding *b, const rot_key *k, const rot_record *r,
    char *buf, size_t len)
{
	char from[32], when[32], until[32];

	rot_format_time(k->start, from, sizeof(from));
	rot_format_time(r ? r->checked : 0, when, sizeof(when));
	if (k->entry.key == NULL)
		snprintf(buf, len, "selector %s (from %s) is held back: its key "
		    "is not loaded: %.160s", k->entry.selector, from,
		    policy_key_error(&k->entry));
	else if (r == NULL)
		snprintf(buf, len, "selector %s (from %s) is held back: it has "
		    "never been checked in DNS (run vdkimctl rotation check)",
		    k->entry.selector, from);
	else if (r->since == 0 && r->status == ROT_MISMATCHED)
		snprintf(buf, len, "selector %s (from %s) is held back: it is "
		    "published with a different key (checked %s)",
		    k->entry.selector, from, when);
	else if (r->since == 0)
		snprintf(buf, len, "selector %s (from %s) is held back: it is "
		    "not published in DNS (checked %s)", k->entry.selector,
		    from, when);
	else {
		rot_format_time(r->since, when, sizeof(when));
		rot_format_time(r->since + b->sched->publish_ahead, until,
		    sizeof(until));
		char ahead[INTERVAL_TEXT_MAX];

		snprintf(buf, len, "selector %s (from %s) is held back: it was "
		    "published too recently (seen in DNS since %s; ready %s, "
		    "publish-ahead %s)", k->entry.selector, from, when, until,
		    interval_format(b->sched->publish_ahead, ahead,
		    sizeof(ahead)));
	}
}

static void
choice(rot_choice *out, const rot_key *k, vdkim_why why, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static void
choice(rot_choice *out, const rot_key *k, vdkim_why why, const char *fmt,
    ...)
{
	va_list ap;

	out->key = k;
	out->why = why;
	va_start(ap, fmt);
	vsnprintf(out->detail, sizeof(out->detail), fmt, ap);
	va_end(ap);
}

void
rotation_choose(const rot_binding *b, int alg, time_t now,
    const rot_state *st, rot_choice *out)
{
	const rot_schedule *s = b->sched;
	const rot_key *chosen = NULL, *seen = NULL, *held_key = NULL;
	const rot_record *r, *chosen_r = NULL, *seen_r = NULL;
	char held[VDKIM_ERRMSG_MAX] = "", sel[ROT_SELECTOR_MAX];
	long cur = rot_period_at(s, now);
	int have_current = 0;

	memset(out, 0, sizeof(*out));
	out->scheduled = cur;
	if (alg == UNSET)
		alg = s->algs[0];
	for (size_t i = b->nkeys; i-- > 0;) {
		const rot_key *k = &b->keys[i];

		if (k->alg != alg || k->period > cur)
			continue;
		have_current |= k->period == cur;
		r = rot_state_find(st, b->domain, k->entry.selector);
		if (is_ready(b, k, r, now)) {
			chosen = k;
			chosen_r = r;
			break;
		}
		/* The newest key speaks for the hold-back; when the current
		 * period has no key at all, that says it (below) instead. */
		if (held[0] == '\0' && have_current) {
			not_ready(b, k, r, held, sizeof(held));
			held_key = k;
		}
		if (seen == NULL && k->entry.key != NULL && r != NULL &&
		    r->since != 0) {
			seen = k;
			seen_r = r;
		}
	}
	if (!have_current && rot_selector(s, cur, alg, sel, sizeof(sel)) == 0)
		snprintf(held, sizeof(held), "selector %s is held back: there "
		    "is no key file %s/%s.private (vdkimctl rotation prepare "
		    "makes it)", sel, b->key_dir, sel);
	if (chosen != NULL && held[0] != '\0') {
		choice(out, chosen, VDKIM_WHY_ROTATION_HELD, "%s; signing "
		    "with s=%s", held, chosen->entry.selector);
		return;
	}
	if (chosen != NULL) {
		r = chosen_r;
		if (r->status == ROT_MISSING || r->status == ROT_MISMATCHED) {
			char when[32];
			rot_format_time(r->checked, when, sizeof(when));
			choice(out, chosen, VDKIM_WHY_ROTATION_NOT_IN_DNS,
			    "selector %s is in use, but the check of %s found "
			    "it %s in DNS: receivers cannot verify (publish its "
			    "record again)", chosen->entry.selector, when,
			    r->status == ROT_MISSING ? "not published" :
			    "with a different key");
		} else {
			choice(out, chosen, VDKIM_WHY_OK, "%s", "");
		}
		return;
	}
	/* Nothing was ever ready (a new schedule): a key that is in DNS
	 * already beats leaving unsigned. */
	if (seen != NULL) {
		char since[32], ready[32];
		rot_format_time(seen_r->since, since, sizeof(since));
		rot_format_time(seen_r->since + s->publish_ahead, ready,
		    sizeof(ready));
		choice(out, seen, VDKIM_WHY_ROTATION_HELD, "no selector is "
		    "ready yet: s=%s signs, seen in DNS since %s (ready %s)%s%s",
		    seen->entry.selector, since, ready,
		    held_key != seen ? "; " : "", held_key != seen ? held : "");
		return;
	}
	choice(out, NULL, VDKIM_WHY_ROTATION_UNVERIFIED, "no selector of "
	    "dkim-rotation %s can sign for %s: %s", s->name, b->domain,
	    held[0] ? held : "the schedule has no selector yet");
}

time_t
rotation_superseded(const rot_binding *b, const rot_key *k,
    const rot_state *st)
{
	time_t best = 0;

	for (size_t i = 0; i < b->nkeys; i++) {
		const rot_key *n = &b->keys[i];
		const rot_record *r;
		time_t ready;

		if (n->alg != k->alg || n->period <= k->period ||
		    n->entry.key == NULL)
			continue;
		r = rot_state_find(st, b->domain, n->entry.selector);
		if (r == NULL || r->since == 0)
			continue;
		ready = r->since + b->sched->publish_ahead;
		if (ready < n->start)
			ready = n->start;
		if (best == 0 || ready < best)
			best = ready;
	}
	return best;
}

void
rotation_describe(strbuf *sb, const key_entry *k)
{
	const rot_binding *b = k->rot;

	sb_addf(sb, "  rotation %-11s d=%-24s %s\n", b->sched->name,
	    b->domain, b->key_dir ? b->key_dir : "");
	for (size_t i = 0; i < b->nkeys; i++) {
		const key_entry *e = &b->keys[i].entry;
		char from[32];

		rot_format_time(b->keys[i].start, from, sizeof(from));
		if (e->key != NULL)
			sb_addf(sb, "    s=%-16s from %s  %s %u bits\n",
			    e->selector, from,
			    vdkim_alg_name(vdkim_key_get_alg(e->key)),
			    vdkim_key_get_bits(e->key));
		else
			sb_addf(sb, "    s=%-16s from %s  NOT LOADED: %s\n",
			    e->selector, from, policy_key_error(e));
	}
}
