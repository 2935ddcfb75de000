/*
 * rotation_runner.h - runs the module's key check (check_keys: the
 * rotation schedules' selectors against DNS) every so often in a thread
 * of its own and then reloads the module, so that a long-running harness signs with the
 * selectors the latest DNS checks allow (the module itself reads the
 * checker's state file only when its config is loaded: never per
 * message).
 */
#ifndef HARNESS_ROTATION_RUNNER_H
#define HARNESS_ROTATION_RUNNER_H

#include <stddef.h>

#include "module_host.h"

typedef struct rotation_runner rotation_runner;

/* Starts a thread that runs m's key check at once and then every
 * interval seconds, and reloads m after each check that recorded
 * something.  0, or -1 with err filled. */
int rotation_runner_start(int interval, module_host *m,
    rotation_runner **out, char *err, size_t errlen);
/* Stops the thread (after the check in progress, if any); NULL is fine. */
void rotation_runner_stop(rotation_runner *r);

#endif
