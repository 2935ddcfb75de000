/*
 * instance.h - a module instance: the current policy and the host's
 * callbacks.  Internal to vdkim.so.
 */
#ifndef VDKIM_API_INSTANCE_H
#define VDKIM_API_INSTANCE_H

#include "stats_file.h"
#include "vdkim/policy.h"
#include "vdkim/vdkim.h"

#include <stdatomic.h>

/*
 * Messages hold a reference, so a host that closes an instance while some
 * messages are still open does not pull it from under them; after close
 * the module no longer calls the host (its callbacks may be gone).
 */
struct vdkim_instance {
	atomic_int refs;
	atomic_int closed;
	vdkim_slot *slot;
	vdkim_host host;   /* copied; fields past the host's size are 0 */
	stats_map stats;   /* the counters (stats.l NULL: turned off), mapped
	                      at open for the instance's life: a reload keeps
	                      them (instance_stats.c) */
};

vdkim_instance *inst_ref(vdkim_instance *inst);
void inst_unref(vdkim_instance *inst);

/* Logs one line through the host (nothing when it gave no callback). */
void inst_log(const vdkim_instance *inst, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
time_t inst_now(const vdkim_instance *inst);

int inst_open(const char *config_path, const vdkim_host *host,
    vdkim_instance **out, char *err, size_t errlen);
int inst_reload(vdkim_instance *inst, char *err, size_t errlen);
void inst_close(vdkim_instance *inst);
/* check_keys (check_keys.c). */
int inst_check_keys(vdkim_instance *inst, time_t now,
    vdkim_check_summary *summary, char *err, size_t errlen);

/* instance_stats.c: the counters' mapping at open, the load's gauges,
 * the ABI's stats entry. */
void inst_stats_open(vdkim_instance *inst);
void inst_stats_loaded(vdkim_instance *inst, int reload_ok);
void inst_stats_close(vdkim_instance *inst);
int inst_stats(vdkim_instance *inst, int format, char **text, size_t *len,
    char *err, size_t errlen);
void inst_stats_free(char *text);

int msg_begin(vdkim_instance *inst, int hook_point,
    const vdkim_msg_info *info, vdkim_msg **out, char *err, size_t errlen);
int msg_chunk(vdkim_msg *m, const void *data, size_t len);
int msg_end(vdkim_msg *m, vdkim_hook_result *res);
/* The part of msg_end that may wait on a device: finish parsing, sign.
 * Runs once; msg_end answers from what it found.  Batches run it in an
 * asynchronous job (batch.c). */
void msg_finish(vdkim_msg *m);

int batch_new(vdkim_instance *inst, unsigned max_in_flight,
    vdkim_batch **out, char *err, size_t errlen);
int batch_submit(vdkim_batch *b, vdkim_msg *m);
int batch_poll(vdkim_batch *b, int timeout_ms, vdkim_msg **done,
    size_t max);
unsigned batch_outstanding(const vdkim_batch *b);
void batch_free(vdkim_batch *b);
void msg_free(vdkim_msg *m);

#endif
