/*
 * check_keys.c - the key check a host runs in its own process: the
 * rotation schedules' selectors against DNS (module/policy/rotation_plan.h,
 * the same check as "vdkimctl rotation check"), then, when the config
 * names a dns-check-state-file, every key the policy signs with
 * (module/policy/dns_check.h, as "vdkimctl check-dns").  Both record their
 * verdicts in state files that the policy reads when it loads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "instance.h"
#include "dns_check.h"
#include "rotation_plan.h"
#include "strbuf.h"

/* Logs a line per text line at level. */
static void
log_lines(const vdkim_instance *inst, int level, char *text)
{
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		inst_log(inst, level, "vdkim: key check: %s", line);
}

/* Logs an entry's lines: BROKEN as errors, anything to attend to as
 * warnings, the rest as information. */
static void
log_entry(const vdkim_instance *inst, const rot_check_entry *e)
{
	strbuf sb = STRBUF_INIT;
	char *text;
	int level = e->verdict == ROT_BROKEN ? VDKIM_LOG_ERR :
	    e->verdict == ROT_HELD || e->late ? VDKIM_LOG_WARNING :
	    VDKIM_LOG_INFO;

	rotation_check_text(e, &sb);
	text = sb_take(&sb);
	if (text == NULL) {
		inst_log(inst, VDKIM_LOG_ERR, "vdkim: key check: %s: out of "
		    "memory", e->b->domain);
		return;
	}
	log_lines(inst, level, text);
	free(text);
}

/* The DNS check of every key: its lines, failures as errors. */
static vdkim_rc
check_dns(const vdkim_instance *inst, const vdkim_policy *p, time_t now,
    dns_check *c, vdkim_error *e)
{
	vdkim_rc rc = dns_check_run(p, NULL, now, NULL, NULL, c, e);

	for (size_t i = 0; i < c->n; i++) {
		strbuf sb = STRBUF_INIT;
		char *text;
		int st = c->e[i].status;

		dns_check_text(&c->e[i], &sb);
		if ((text = sb_take(&sb)) == NULL)
			continue;
		log_lines(inst, rot_status_fails(st) ? VDKIM_LOG_ERR :
		    st == ROT_MATCHING ? VDKIM_LOG_INFO : VDKIM_LOG_WARNING,
		    text);
		free(text);
	}
	if (c->repair[0] != '\0')
		inst_log(inst, VDKIM_LOG_WARNING, "vdkim: key check: %s",
		    c->repair);
	return rc;
}

int
inst_check_keys(vdkim_instance *inst, time_t now,
    vdkim_check_summary *summary, char *err, size_t errlen)
{
	static const int outcome[] = {
		[ROT_OUTCOME_OK] = VDKIM_CHECK_OK,
		[ROT_OUTCOME_BROKEN] = VDKIM_CHECK_BROKEN,
		[ROT_OUTCOME_ATTENTION] = VDKIM_CHECK_ATTENTION,
		[ROT_OUTCOME_DNS_DOWN] = VDKIM_CHECK_DNS_DOWN,
	};
	/* Worst first: broken, DNS down, attention, ok. */
	static const int rank[] = {
		[ROT_OUTCOME_OK] = 0, [ROT_OUTCOME_ATTENTION] = 1,
		[ROT_OUTCOME_DNS_DOWN] = 2, [ROT_OUTCOME_BROKEN] = 3,
	};
	vdkim_check_summary sum;
	vdkim_policy *p;
	rot_check c;
	dns_check dc;
	vdkim_error e;
	vdkim_rc rc;
	int rot_out, dns_out = ROT_OUTCOME_OK;

	if (inst == NULL || summary == NULL ||
	    summary->size < sizeof(vdkim_check_summary)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "vdkim: check_keys needs an "
			    "instance and a summary with its size set");
		return -1;
	}
	if (now == 0)
		now = inst_now(inst);
	p = vdkim_slot_acquire(inst->slot);
	rc = rotation_check_run(p, NULL, now, NULL, NULL, &c, &e);
	for (size_t i = 0; i < c.n; i++)
		log_entry(inst, &c.e[i]);
	for (size_t i = 0; i < c.nrepairs; i++)
		inst_log(inst, VDKIM_LOG_WARNING, "vdkim: key check: %s",
		    c.repairs[i]);
	rot_out = rotation_check_outcome(&c);
	memset(&sum, 0, sizeof(sum));
	sum.size = sizeof(sum);
	/* DNS down: nothing was learnt, nothing to reload. */
	sum.reload = rc == VDKIM_OK && c.n > 0 &&
	    rot_out != ROT_OUTCOME_DNS_DOWN;
	sum.lookups = (unsigned)c.lookups;
	sum.domains = (unsigned)c.n;
	rotation_check_free(&c);
	memset(&dc, 0, sizeof(dc));
	if (rc == VDKIM_OK && p->dns_state_path != NULL) {
		rc = check_dns(inst, p, now, &dc, &e);
		dns_out = dns_check_outcome(&dc);
		sum.reload |= rc == VDKIM_OK && dc.recorded;
		sum.lookups += (unsigned)dc.lookups;
		dns_check_free(&dc);
	}
	sum.outcome = outcome[rank[dns_out] > rank[rot_out] ? dns_out :
	    rot_out];
	vdkim_policy_unref(p);
	if (rc != VDKIM_OK) {
		inst_log(inst, VDKIM_LOG_ERR, "vdkim: key check failed: %s",
		    e.msg);
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s", e.msg);
		return -1;
	}
	memcpy(summary, &sum, sizeof(sum));
	return 0;
}
