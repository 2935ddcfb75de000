/*
 * stats_format.h - the counters of a stats layout as text: Prometheus's
 * text exposition format 0.0.4, JSON, or a summary for a person.  The one
 * formatter behind vdkimctl stats and the hosts' GET /metrics (through the
 * ABI's stats entry).
 */
#ifndef VDKIM_STATS_FORMAT_H
#define VDKIM_STATS_FORMAT_H

#include <stddef.h>
#include <time.h>

#include "stats_file.h"

enum stats_format_kind {
	STATS_FORMAT_PROMETHEUS = 1,
	STATS_FORMAT_JSON = 2,
	STATS_FORMAT_SUMMARY = 3
};

/* The layout at this moment as text (malloc'd, *len its length); now
 * gives the ages.  NULL when out of memory or format is unknown. */
char *stats_format(const stats_layout *l, int format, time_t now,
    size_t *len);

#endif
