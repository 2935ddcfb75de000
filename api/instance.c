/*
 * instance.c - opening, reloading and closing a module instance.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "instance.h"
#include "policy_keys.h"

void
inst_log(const vdkim_instance *inst, int level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (inst == NULL || inst->host.log == NULL || atomic_load(&inst->closed))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	inst->host.log(inst->host.ctx, level, line);
}

time_t
inst_now(const vdkim_instance *inst)
{
	return inst->host.now != NULL && !atomic_load(&inst->closed) ?
	    inst->host.now(inst->host.ctx) : time(NULL);
}

static void
set_err(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

/* Logs what loading the current policy found (keys that failed...). */
static void
log_policy_warnings(const vdkim_instance *inst)
{
	vdkim_policy *p = vdkim_slot_acquire(inst->slot);

	for (size_t i = 0; i < vdkim_policy_warning_count(p); i++)
		inst_log(inst, vdkim_policy_warning_is_error(p, i) ?
		    VDKIM_LOG_ERR : VDKIM_LOG_WARNING, "vdkim: %s",
		    vdkim_policy_warning(p, i));
	vdkim_policy_unref(p);
}

int
inst_open(const char *config_path, const vdkim_host *host,
    vdkim_instance **out, char *err, size_t errlen)
{
	/* The shipped hosts' blocks, the host's own, the end. */
	const char *blocks[] = { VDKIM_SHIPPED_HOST_BLOCKS, NULL, NULL };
	size_t n = sizeof(blocks) / sizeof(blocks[0]) - 2;
	vdkim_instance *inst;
	vdkim_error e;
	char *abs;

	if (config_path == NULL || out == NULL) {
		set_err(err, errlen, "vdkim: open needs a config path");
		return -1;
	}
	if (host != NULL && host->size < offsetof(vdkim_host, now)) {
		set_err(err, errlen, "vdkim: the host's vdkim_host struct is "
		    "too small (set its size field)");
		return -1;
	}
	inst = calloc(1, sizeof(*inst));
	if (inst == NULL) {
		set_err(err, errlen, "vdkim: out of memory");
		return -1;
	}
	/* Absolute, so that a reload after the host's chdir() finds it. */
	abs = realpath(config_path, NULL);
	/* Copy what the host's struct has; the rest stays NULL. */
	if (host != NULL)
		memcpy(&inst->host, host, host->size < sizeof(inst->host) ?
		    host->size : sizeof(inst->host));
	inst->host.size = sizeof(inst->host);
	/* The host's config_block points into the host's memory: the slot
	 * keeps its own copy, and the instance keeps none. */
	blocks[n++] = inst->host.config_block;
	inst->host.config_block = NULL;
	if (vdkim_slot_new(abs ? abs : config_path, blocks, &inst->slot, &e) !=
	    VDKIM_OK) {
		set_err(err, errlen, e.msg);
		free(abs);
		free(inst);
		return -1;
	}
	free(abs);
	atomic_init(&inst->refs, 1);
	atomic_init(&inst->closed, 0);
	inst_stats_open(inst);
	log_policy_warnings(inst);
	inst_log(inst, VDKIM_LOG_DEBUG, "vdkim: loaded %s", config_path);
	*out = inst;
	return 0;
}

int
inst_reload(vdkim_instance *inst, char *err, size_t errlen)
{
	vdkim_policy *p;
	vdkim_error e;

	if (inst == NULL) {
		set_err(err, errlen, "vdkim: reload needs an instance");
		return -1;
	}
	if (vdkim_slot_reload(inst->slot, &e) != VDKIM_OK) {
		inst_log(inst, VDKIM_LOG_ERR, "vdkim: reload failed, the "
		    "previous config stays in force: %s", e.msg);
		inst_stats_loaded(inst, 0);
		set_err(err, errlen, e.msg);
		return -1;
	}
	inst_stats_loaded(inst, 1);
	log_policy_warnings(inst);
	/* How much the reload did: a reload of an unchanged config parses
	 * no key (policy_keys.h). */
	p = vdkim_slot_acquire(inst->slot);
	inst_log(inst, VDKIM_LOG_INFO, "vdkim: config reloaded (%zu key "
	    "files, %zu keys parsed)", policy_key_files_count(p),
	    policy_keys_parsed(p));
	vdkim_policy_unref(p);
	return 0;
}

vdkim_instance *
inst_ref(vdkim_instance *inst)
{
	atomic_fetch_add(&inst->refs, 1);
	return inst;
}

void
inst_unref(vdkim_instance *inst)
{
	if (inst != NULL && atomic_fetch_sub(&inst->refs, 1) == 1) {
		vdkim_slot_free(inst->slot);
		inst_stats_close(inst);
		free(inst);
	}
}

void
inst_close(vdkim_instance *inst)
{
	if (inst == NULL)
		return;
	atomic_store(&inst->closed, 1);
	inst_unref(inst);
}
