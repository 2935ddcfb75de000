/*
 * module_host.h - vdkim.so loaded through its versioned ABI
 * (include/vdkim/vdkim.h), and one message run through a hook.
 *
 * The module's answer lives until msg_free(); module_host_run() copies it
 * into a hook_outcome the caller owns, so the message can be freed at once
 * and the answer kept as long as the delivery needs it.
 */
#ifndef HARNESS_MODULE_HOST_H
#define HARNESS_MODULE_HOST_H

#include <stddef.h>

#include "segments.h"
#include "vdkim/vdkim.h"

typedef struct module_host module_host;

/* dlopen()s so_path, asks for VDKIM_ABI_VERSION and opens an instance on
 * config_path with our log callback.  0, or -1 with err filled. */
int module_host_load(const char *so_path, const char *config_path,
    module_host **out, char *err, size_t errlen);
/* api->reload: reads the config and every key, so it blocks (call it off
 * the event loop: reloader.h).  Any thread; one reload runs at a time.
 * The module signs with its old policy until the new one is loaded, and
 * keeps it on failure. */
int module_host_reload(module_host *m, char *err, size_t errlen);
const char *module_host_version(const module_host *m);
/* api->check_keys (DNS and disk: call it off the event loop).  0 with
 * *sum filled, or -1 with err (also when the module is older than 0.3
 * and has no key check). */
int module_host_check_keys(module_host *m, vdkim_check_summary *sum,
    char *err, size_t errlen);
void module_host_free(module_host *m);
/* The module's counters in Prometheus's text format (the ABI's stats
 * entry), for GET /metrics: the text, given back with
 * module_host_stats_free; or NULL with why filled.  Any thread. */
char *module_host_stats(module_host *m, size_t *len, char *why,
    size_t whylen);
void module_host_stats_free(module_host *m, char *text);

/* The module's answer, owned (every string malloc'd, never NULL). */
typedef struct hook_outcome {
	int action;                /* enum vdkim_action */
	int nsigned;
	char *add_headers;
	size_t add_headers_len;
	int strip_x_dkim_options;
	char *reason_code;
	char *reason;
	char *smtp_reply;          /* one line; a 4xx for DEFER, 5xx REJECT */
	char *signatures;
} hook_outcome;

/*
 * Runs msg through hook (VDKIM_HOOK_PRE_QUEUE or _PRE_DELIVERY).  Always
 * fills out: when the module cannot take the message, or the harness runs
 * out of memory, the outcome is a DEFER with reason_code "module-error" (a
 * temporary failure, as the ABI asks).
 */
void module_host_run(module_host *m, int hook, const vdkim_msg_info *info,
    const seglist *msg, hook_outcome *out);
/* module_host_run in two halves, for batches: begin feeds the whole
 * message (0; or -1 with *failed filled as above and nothing to free),
 * end decides (msg_end), copies the answer and frees vm. */
int module_host_begin(module_host *m, int hook, const vdkim_msg_info *info,
    const seglist *msg, vdkim_msg **vm, hook_outcome *failed);
void module_host_end(module_host *m, vdkim_msg *vm, hook_outcome *out);

/* The module's batches (vdkim.h), when it has them (module 0.2 on). */
int module_host_has_batches(const module_host *m);
/* NULL with err filled when the module has none or refuses. */
vdkim_batch *module_host_batch_new(module_host *m, unsigned max_in_flight,
    char *err, size_t errlen);
int module_host_batch_submit(module_host *m, vdkim_batch *b, vdkim_msg *vm);
int module_host_batch_poll(module_host *m, vdkim_batch *b, int timeout_ms,
    vdkim_msg **done, size_t max);
void module_host_batch_free(module_host *m, vdkim_batch *b);
void hook_outcome_clear(hook_outcome *o);

#endif
