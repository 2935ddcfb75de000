/*
 * policy_stats.c - the loaded policy's gauges (policy_stats.h).
 */
#include <stdio.h>
#include <string.h>

#include "policy_model.h"
#include "policy_stats.h"
#include "rotation.h"
#include "rotation_plan.h"

const char *
vdkim_policy_stats_file(const vdkim_policy *p)
{
	return p != NULL ? p->stats_path : NULL;
}

int
vdkim_policy_stats_off(const vdkim_policy *p)
{
	return p != NULL && p->stats_off;
}

/* A DNS check's status as the monitor's verdict. */
static int
dns_verdict(const rot_record *r)
{
	if (r == NULL || r->status == ROT_UNKNOWN)
		return STATS_DNS_UNCHECKED;
	if (r->status == ROT_MISSING)
		return STATS_DNS_MISSING;
	return rot_status_fails(r->status) ? STATS_DNS_MISMATCH : STATS_DNS_OK;
}

static void
publish_keys(const vdkim_policy *p, stats_layout *l, uint64_t gen)
{
	for (size_t i = 0; i < p->nkeytab; i++) {
		const key_entry *k = &p->keytab[i];
		const rot_record *r;

		if (k->rot != NULL || k->domain == NULL ||
		    strcmp(k->domain, "*") == 0)
			continue;
		r = p->dns_state != NULL ? rot_state_find(p->dns_state,
		    k->domain, k->selector) : NULL;
		stats_set_key(l, gen, k->domain, k->selector, dns_verdict(r),
		    r != NULL ? r->checked : 0);
	}
}

/* Each schedule, domain and algorithm: the selector signing now, and
 * whether the newer one is held back (and its publish-by: when it was
 * due in DNS). */
static void
publish_rotation(const vdkim_policy *p, stats_layout *l, uint64_t gen,
    time_t now)
{
	rot_plan pl;
	vdkim_error e;

	if (p->nschedules == 0 || rotation_plan(p, NULL, now, 0, NULL, NULL,
	    &pl, &e) != VDKIM_OK)
		return;
	for (size_t i = 0; i < pl.n; i++) {
		const rot_plan_entry *pe = &pl.e[i];
		const rot_choice *c = &pe->choice;
		int held = c->why == VDKIM_WHY_ROTATION_HELD;
		time_t due = 0;
		char name[STATS_NAME_MAX + 1];
		int n;

		for (size_t j = 0; held && j < pe->nsels; j++)
			if (pe->sels[j].period == c->scheduled)
				due = pe->sels[j].publish_by;
		n = snprintf(name, sizeof(name), "%s %s %s",
		    pe->b->sched_name, pe->b->domain, vdkim_alg_name(pe->alg));
		if (n > 0 && (size_t)n < sizeof(name))
			stats_set_schedule(l, gen, name, c->key != NULL ?
			    c->key->entry.selector : "", held, due);
	}
	rotation_plan_free(&pl);
}

void
policy_stats_publish(const vdkim_policy *p, stats_layout *l, time_t now)
{
	uint64_t gen;

	if (p == NULL || l == NULL)
		return;
	gen = stats_loaded(l, now);
	publish_keys(p, l, gen);
	publish_rotation(p, l, gen, now);
}
