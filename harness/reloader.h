/*
 * reloader.h - the module's reload (SIGHUP) off the event loop.
 *
 * A reload parses the config and loads every key: seconds for a config
 * with tens of thousands of keys.  Run on the event loop it would stop
 * every SMTP session, even the greetings of new ones, for that long.  The
 * reloader runs it on a thread of its own instead.  Meanwhile the module
 * keeps signing with the policy in force (every message keeps the policy
 * it began with, include/vdkim/vdkim.h "reload"); when the new one is
 * loaded the module swaps it in at once, and the old one is freed when
 * the last message using it ends.  A failed reload leaves the old policy
 * in force; both outcomes are logged.
 *
 * Requests made while a reload runs are coalesced into one more reload
 * after it: the file may have changed again since the running one read
 * it, and one reload reads everything.
 */
#ifndef HARNESS_RELOADER_H
#define HARNESS_RELOADER_H

#include <stddef.h>

#include "module_host.h"

typedef struct reloader reloader;

/* Starts the reloader's thread for m (config_path only names the file in
 * the log; both must outlive the reloader).  0, or -1 with err filled. */
int reloader_start(module_host *m, const char *config_path, reloader **out,
    char *err, size_t errlen);
/* Asks for a reload and logs it (why: what asked, e.g. "SIGHUP");
 * returns at once.  Any thread. */
void reloader_request(reloader *r, const char *why);
/* Waits for the reload in progress, if any (a pending one is dropped),
 * and stops the thread; NULL is fine. */
void reloader_stop(reloader *r);

#endif
