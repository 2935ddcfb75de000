/*
 * check_keys.c - the key check a host runs in its own process: today the
 * rotation schedules' selectors against DNS (module/policy/rotation_plan.h,
 * the same check as "vdkimctl rotation check").  A DNS check of every key
 * joins here later, recording its verdicts the same way: in a state file
 * that the policy reads when it loads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "instance.h"
#include "rotation_plan.h"
#include "strbuf.h"

/* Logs an entry's lines: BROKEN as errors, anything to attend to as
 * warnings, the rest as information. */
static void
log_entry(const vdkim_instance *inst, const rot_check_entry *e)
{
	strbuf sb = STRBUF_INIT;
	char *text, *line, *save = NULL;
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
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		inst_log(inst, level, "vdkim: key check: %s", line);
	free(text);
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
	vdkim_check_summary sum;
	vdkim_policy *p;
	rot_check c;
	vdkim_error e;
	vdkim_rc rc;

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
	memset(&sum, 0, sizeof(sum));
	sum.size = sizeof(sum);
	sum.outcome = outcome[rotation_check_outcome(&c)];
	/* DNS down: nothing was learnt, nothing to reload. */
	sum.reload = rc == VDKIM_OK && c.n > 0 &&
	    sum.outcome != VDKIM_CHECK_DNS_DOWN;
	sum.lookups = (unsigned)c.lookups;
	sum.domains = (unsigned)c.n;
	rotation_check_free(&c);
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
