/*
 * instance_stats.c - an instance's counters: mapped when it opens (the
 * config's stats-file, shared by every process of the host, or anonymous
 * shared memory, shared with the children the host forks), the gauges of
 * each load, and the ABI's snapshot (stats_format.c, the one formatter).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "instance.h"
#include "policy_stats.h"
#include "stats_format.h"

void
inst_stats_open(vdkim_instance *inst)
{
	vdkim_policy *p = vdkim_slot_acquire(inst->slot);
	const char *path = vdkim_policy_stats_file(p);
	vdkim_error e;

	memset(&inst->stats, 0, sizeof(inst->stats));
	if (vdkim_policy_stats_off(p)) {
		vdkim_policy_unref(p);
		return;
	}
	/* A stats file that cannot be used costs the counters' sharing,
	 * never the signing: the host is told, and counts stay in memory. */
	if (path != NULL && stats_map_file(path, &inst->stats, &e) != VDKIM_OK) {
		inst_log(inst, VDKIM_LOG_ERR, "vdkim: stats-file: %s; the "
		    "counters stay in this process's memory", e.msg);
		path = NULL;
	}
	if (path == NULL && stats_map_anon(&inst->stats, &e) != VDKIM_OK)
		inst_log(inst, VDKIM_LOG_ERR, "vdkim: no counters: %s", e.msg);
	if (inst->stats.l != NULL)
		policy_stats_publish(p, inst->stats.l, inst_now(inst));
	vdkim_policy_unref(p);
}

/* After a reload (ok or not): the count, and the new load's gauges. */
void
inst_stats_loaded(vdkim_instance *inst, int reload_ok)
{
	vdkim_policy *p;
	const char *path;

	if (inst->stats.l == NULL)
		return;
	stats_count_reload(inst->stats.l, reload_ok);
	if (!reload_ok)
		return;
	p = vdkim_slot_acquire(inst->slot);
	path = vdkim_policy_stats_file(p);
	if (strcmp(path ? path : "", inst->stats.path) != 0 ||
	    vdkim_policy_stats_off(p))
		inst_log(inst, VDKIM_LOG_WARNING, "vdkim: stats-file and "
		    "stats-counters take effect when the host restarts; the "
		    "counters stay in %s", inst->stats.path[0] ?
		    inst->stats.path : "this process's memory");
	policy_stats_publish(p, inst->stats.l, inst_now(inst));
	vdkim_policy_unref(p);
}

void
inst_stats_close(vdkim_instance *inst)
{
	stats_unmap(&inst->stats);
}

int
inst_stats(vdkim_instance *inst, int format, char **text, size_t *len,
    char *err, size_t errlen)
{
	int fmt = format == VDKIM_STATS_PROMETHEUS ? STATS_FORMAT_PROMETHEUS :
	    format == VDKIM_STATS_JSON ? STATS_FORMAT_JSON :
	    format == VDKIM_STATS_SUMMARY ? STATS_FORMAT_SUMMARY : 0;

	if (inst == NULL || text == NULL || fmt == 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "vdkim: stats needs an instance, "
			    "a format (VDKIM_STATS_*) and a text pointer");
		return -1;
	}
	if (inst->stats.l == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "vdkim: the counters are off "
			    "(stats-counters no, or no memory for them)");
		return -1;
	}
	*text = stats_format(inst->stats.l, fmt, inst_now(inst), len);
	if (*text == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "vdkim: out of memory");
		return -1;
	}
	return 0;
}

void
inst_stats_free(char *text)
{
	free(text);
}
