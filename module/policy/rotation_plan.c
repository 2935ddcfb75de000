/*
 * rotation_plan.c - the rotation rules as data: the plan of each domain's
 * selectors, and the checker's rule (which selectors are in play, what a
 * check records, when signing is BROKEN or HELD, when the next selector
 * is too late).  vdkimctl prints these; hosts run the check through the
 * ABI (check_keys).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "rotation_plan.h"
#include "strbuf.h"

int
rotation_for_each(const vdkim_policy *p, const char *domain,
    const char *state_file, rot_binding_fn fn, void *ctx)
{
	for (size_t i = 0; i < p->nkeytab; i++) {
		const rot_binding *b = p->keytab[i].rot;
		size_t j;

		if (b == NULL || (domain != NULL &&
		    strcasecmp(domain, b->domain) != 0) ||
		    (state_file != NULL &&
		    strcmp(state_file, b->sched->state_file) != 0))
			continue;
		for (j = 0; j < i; j++)
			if (p->keytab[j].rot != NULL &&
			    p->keytab[j].rot->sched == b->sched &&
			    strcmp(p->keytab[j].rot->domain, b->domain) == 0)
				break;
		if (j < i)
			continue;
		for (size_t a = 0; a < b->sched->nalgs; a++) {
			int rc = fn(b, b->sched->algs[a], ctx);
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

/* Grows *v (of *n elements of size sz) by one zeroed element; NULL when
 * out of memory. */
static void *
grow(void *v, size_t *n, size_t sz)
{
	char *nv = realloc(*(void **)v, (*n + 1) * sz);

	if (nv == NULL)
		return NULL;
	*(void **)v = nv;
	memset(nv + *n * sz, 0, sz);
	return nv + (*n)++ * sz;
}

/* ----------------------------------------------------------------- plan */

struct plan_run {
	time_t now;
	int lookup_dns;
	vdkim_txt_lookup_fn lookup;
	void *ctx;
	rot_plan *out;
};

/* A key's selector as a plan line: its record, and when it stops. */
static void
describe_sel(const rot_binding *b, const rot_key *k, rot_plan_sel *ps)
{
	const rot_record *rec = rot_state_find(b->state, b->domain,
	    ps->selector);

	ps->dns = -1;
	if (rec != NULL) {
		ps->recorded = 1;
		ps->rec_status = rec->status;
		ps->rec_since = rec->since;
	}
	if (k == NULL)
		return;
	ps->have = k->entry.key != NULL ? ROT_KEY_LOADED : ROT_KEY_ERROR;
	ps->key_error = k->entry.key != NULL ? NULL :
	    policy_key_error(&k->entry);
	ps->superseded = rotation_superseded(b, k, b->state);
	if (ps->superseded != 0)
		ps->remove_after = ps->superseded + b->sched->overlap;
}

static int
plan_one(const rot_binding *b, int alg, void *arg)
{
	struct plan_run *r = arg;
	const rot_schedule *s = b->sched;
	long cur = rot_period_at(s, r->now), first = cur - 1, last = cur + 2;
	rot_plan_entry *e = grow(&r->out->e, &r->out->n, sizeof(*e));

	if (e == NULL)
		return -1;
	e->b = b;
	e->alg = alg;
	rotation_choose(b, alg, r->now, b->state, &e->choice);
	for (size_t i = 0; i < b->nkeys; i++)
		if (b->keys[i].alg == alg && b->keys[i].period > last)
			last = b->keys[i].period;
	if (e->choice.key != NULL && e->choice.key->period < first)
		first = e->choice.key->period;
	for (long i = first < 0 ? 0 : first; i <= last; i++) {
		const rot_key *k = key_of(b, i, alg);
		char sel[ROT_SELECTOR_MAX], why[VDKIM_ERRMSG_MAX];
		rot_plan_sel *ps;
		time_t start = rot_period_start(s, i);

		if (rot_selector(s, i, alg, sel, sizeof(sel)) != 0)
			continue;
		if ((ps = grow(&e->sels, &e->nsels, sizeof(*ps))) == NULL)
			return -1;
		memcpy(ps->selector, sel, sizeof(sel));
		ps->period = i;
		ps->current_from = start;
		ps->publish_by = start - s->publish_ahead;
		ps->in_use = k != NULL && e->choice.key == k;
		describe_sel(b, k, ps);
		if (r->lookup_dns && ps->have == ROT_KEY_LOADED)
			ps->dns = rot_status_for_rotation(
			    rotation_check_dns(k->entry.key, sel, b->domain,
			    r->lookup, r->ctx, why, sizeof(why)));
	}
	/* Out of use, and the overlap has passed: they may leave DNS. */
	for (size_t i = 0; i < b->nkeys; i++) {
		const rot_key *k = &b->keys[i];
		rot_plan_sel tmp, *ps;

		if (k->alg != alg || k == e->choice.key)
			continue;
		memset(&tmp, 0, sizeof(tmp));
		snprintf(tmp.selector, sizeof(tmp.selector), "%s",
		    k->entry.selector);
		tmp.period = k->period;
		tmp.current_from = k->start;
		tmp.publish_by = k->start - s->publish_ahead;
		describe_sel(b, k, &tmp);
		if (tmp.remove_after == 0 || r->now < tmp.remove_after)
			continue;
		if ((ps = grow(&e->retire, &e->nretire, sizeof(*ps))) == NULL)
			return -1;
		*ps = tmp;
	}
	return 0;
}

vdkim_rc
rotation_plan(const vdkim_policy *p, const char *domain, time_t now,
    int lookup_dns, vdkim_txt_lookup_fn lookup, void *ctx, rot_plan *out,
    vdkim_error *err)
{
	struct plan_run r = { now, lookup_dns, lookup, ctx, out };

	memset(out, 0, sizeof(*out));
	if (rotation_for_each(p, domain, NULL, plan_one, &r) != 0) {
		rotation_plan_free(out);
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	}
	return VDKIM_OK;
}

void
rotation_plan_free(rot_plan *pl)
{
	for (size_t i = 0; i < pl->n; i++) {
		free(pl->e[i].sels);
		free(pl->e[i].retire);
	}
	free(pl->e);
	memset(pl, 0, sizeof(*pl));
}

/* ---------------------------------------------------------------- check */

struct check_run {
	time_t now;
	rot_state *st;
	vdkim_txt_lookup_fn lookup;
	void *ctx;
	rot_check *out;
};

/* Looks up every selector in play (the key in use and every newer one)
 * and records the answers. */
static int
check_in_play(struct check_run *r, const rot_binding *b, int alg,
    rot_check_entry *e)
{
	long cur = rot_period_at(b->sched, r->now), from;
	rot_choice before;

	rotation_choose(b, alg, r->now, r->st, &before);
	from = before.key == NULL ? cur - 1 : before.key->period < cur ?
	    before.key->period : cur;
	for (size_t i = 0; i < b->nkeys; i++) {
		const rot_key *k = &b->keys[i];
		rot_check_sel *cs;

		if (k->alg != alg || k->period < from)
			continue;
		if ((cs = grow(&e->sels, &e->nsels, sizeof(*cs))) == NULL)
			return -1;
		cs->k = k;
		if (k->entry.key == NULL) {
			cs->key_error = 1;
			snprintf(cs->why, sizeof(cs->why), "%s",
			    policy_key_error(&k->entry));
			r->out->attention = 1;
			continue;
		}
		/* The why keeps the finer finding (revoked, t=y...). */
		cs->status = rot_status_for_rotation(rotation_check_dns(
		    k->entry.key, k->entry.selector, b->domain, r->lookup,
		    r->ctx, cs->why, sizeof(cs->why)));
		r->out->lookups++;
		if (cs->status == ROT_DNS_ERROR)
			r->out->dns_down = 1;
		if (rot_state_update(r->st, b->domain, k->entry.selector,
		    cs->status, r->now, k->start, b->sched->publish_ahead) != 0)
			return -1;
	}
	return 0;
}

/* Too late to be on time for the next period? */
static void
check_next(struct check_run *r, const rot_binding *b, int alg,
    rot_check_entry *e)
{
	const rot_schedule *s = b->sched;
	long cur = rot_period_at(s, r->now);
	time_t next_start = rot_period_start(s, cur + 1);
	const rot_key *k;
	const rot_record *rec;

	if (next_start == (time_t)-1 ||
	    r->now < next_start - s->publish_ahead ||
	    rot_selector(s, cur + 1, alg, e->late_selector,
	    sizeof(e->late_selector)) != 0) {
		e->late_selector[0] = '\0';
		return;
	}
	k = key_of(b, cur + 1, alg);
	rec = rot_state_find(r->st, b->domain, e->late_selector);
	if (k == NULL || rec == NULL || rec->since == 0 ||
	    rec->since + s->publish_ahead > next_start) {
		e->late = 1;
		e->late_no_key = k == NULL;
		e->late_from = next_start;
		e->late_by = next_start - s->publish_ahead;
		r->out->attention = 1;
	}
}

static int
check_one(const rot_binding *b, int alg, void *arg)
{
	struct check_run *r = arg;
	rot_check_entry *e = grow(&r->out->e, &r->out->n, sizeof(*e));

	if (e == NULL)
		return -1;
	e->b = b;
	e->alg = alg;
	if (check_in_play(r, b, alg, e) != 0)
		return -1;
	rotation_choose(b, alg, r->now, r->st, &e->after);
	if (e->after.key == NULL ||
	    e->after.why == VDKIM_WHY_ROTATION_NOT_IN_DNS) {
		e->verdict = ROT_BROKEN;
		r->out->broken = 1;
	} else if (e->after.why == VDKIM_WHY_ROTATION_HELD) {
		e->verdict = ROT_HELD;
		r->out->attention = 1;
	} else {
		e->verdict = ROT_SIGNING;
	}
	check_next(r, b, alg, e);
	return 0;
}

vdkim_rc
rotation_check_state(const vdkim_policy *p, const char *state_file,
    rot_state *st, const char *domain, time_t now, vdkim_txt_lookup_fn lookup,
    void *ctx, rot_check *out, vdkim_error *err)
{
	struct check_run r = { now, st, lookup, ctx, out };

	if (rotation_for_each(p, domain, state_file, check_one, &r) != 0)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	return VDKIM_OK;
}

int
rotation_check_outcome(const rot_check *c)
{
	if (c->broken)
		return ROT_OUTCOME_BROKEN;
	if (c->dns_down)
		return ROT_OUTCOME_DNS_DOWN;
	return c->attention ? ROT_OUTCOME_ATTENTION : ROT_OUTCOME_OK;
}

void
rotation_check_free(rot_check *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->e[i].sels);
	free(c->e);
	memset(c, 0, sizeof(*c));
}

void
rotation_check_text(const rot_check_entry *e, strbuf *sb)
{
	const char *d = e->b->domain;
	char t1[32], t2[32];

	for (size_t i = 0; i < e->nsels; i++) {
		const rot_check_sel *cs = &e->sels[i];

		sb_addf(sb, "%s %s %s %s\n", d, cs->k->entry.selector,
		    cs->key_error ? "key-error" : rot_status_name(cs->status),
		    cs->why);
	}
	if (e->verdict == ROT_BROKEN)
		sb_addf(sb, "%s: BROKEN %s: %s\n", d,
		    vdkim_why_name(e->after.why), e->after.detail);
	else if (e->verdict == ROT_HELD)
		sb_addf(sb, "%s: HELD %s\n", d, e->after.detail);
	else
		sb_addf(sb, "%s: signing with s=%s\n", d,
		    e->after.key->entry.selector);
	if (e->late) {
		rot_format_time(e->late_from, t1, sizeof(t1));
		rot_format_time(e->late_by, t2, sizeof(t2));
		sb_addf(sb, "%s: NOT READY selector %s (from %s) will be held "
		    "back: %s by %s\n", d, e->late_selector, t1,
		    e->late_no_key ? "make its key (vdkimctl rotation prepare) "
		    "and publish it" : "it had to be in DNS", t2);
	}
}
