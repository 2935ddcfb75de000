/*
 * reload.h - what SIGHUP and SIGUSR1 do: reload the module's config, then
 * the milter { } block.
 *
 * From the block, what a running milter can change takes effect for the
 * next message (vmta-macro, vmta-map, default-vmta,
 * x-virtual-mta-sources, max-header-size, stop-grace) or at once
 * (log-file, log-level: the log is reopened, which also serves log
 * rotation).  What libmilter fixed at start (listen, socket-owner,
 * socket-group, socket-mode, timeout) and the module's path keep their
 * values until a restart, and each such change is logged as waiting for
 * one.  A block that does not parse changes nothing (error logged).
 */
#ifndef MILTER_RELOAD_H
#define MILTER_RELOAD_H

#include "session.h"

void reload_all(milter_app *app);

#endif
