/*
 * policy_stats.h - what the loaded policy tells a monitor: each key's last
 * DNS-check verdict and each rotation schedule's selector, written into
 * the counters' layout when a policy loads (stats_file.h).
 */
#ifndef VDKIM_POLICY_STATS_H
#define VDKIM_POLICY_STATS_H

#include <time.h>

#include "stats_file.h"
#include "vdkim/policy.h"

/* Starts a load's generation in l and writes p's gauges for it.  No I/O
 * (the state files were read by the load). */
void policy_stats_publish(const vdkim_policy *p, stats_layout *l, time_t now);

#endif
