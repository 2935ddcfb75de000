/*
 * instance.c - opening, reloading and closing a module instance.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "instance.h"

void
inst_log(const vdkim_instance *inst, int level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (inst == NULL || inst->host.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	inst->host.log(inst->host.ctx, level, line);
}

time_t
inst_now(const vdkim_instance *inst)
{
	return inst->host.now != NULL ? inst->host.now(inst->host.ctx) :
	    time(NULL);
}

static void
set_err(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

int
inst_open(const char *config_path, const vdkim_host *host,
    vdkim_instance **out, char *err, size_t errlen)
{
	vdkim_instance *inst;
	vdkim_error e;

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
	/* Copy what the host's struct has; the rest stays NULL. */
	if (host != NULL)
		memcpy(&inst->host, host, host->size < sizeof(inst->host) ?
		    host->size : sizeof(inst->host));
	inst->host.size = sizeof(inst->host);
	if (vdkim_slot_new(config_path, &inst->slot, &e) != VDKIM_OK) {
		set_err(err, errlen, e.msg);
		free(inst);
		return -1;
	}
	{
		vdkim_policy *p = vdkim_slot_acquire(inst->slot);
		for (size_t i = 0; i < vdkim_policy_warning_count(p); i++)
			inst_log(inst, vdkim_policy_warning_is_error(p, i) ?
			    VDKIM_LOG_ERR : VDKIM_LOG_WARNING, "vdkim: %s",
			    vdkim_policy_warning(p, i));
		vdkim_policy_unref(p);
	}
	inst_log(inst, VDKIM_LOG_INFO, "vdkim: loaded %s", config_path);
	*out = inst;
	return 0;
}

int
inst_reload(vdkim_instance *inst, char *err, size_t errlen)
{
	vdkim_error e;

	if (inst == NULL) {
		set_err(err, errlen, "vdkim: reload needs an instance");
		return -1;
	}
	if (vdkim_slot_reload(inst->slot, &e) != VDKIM_OK) {
		inst_log(inst, VDKIM_LOG_ERR, "vdkim: reload failed, the "
		    "previous config stays in force: %s", e.msg);
		set_err(err, errlen, e.msg);
		return -1;
	}
	inst_log(inst, VDKIM_LOG_INFO, "vdkim: config reloaded");
	return 0;
}

void
inst_close(vdkim_instance *inst)
{
	if (inst == NULL)
		return;
	vdkim_slot_free(inst->slot);
	free(inst);
}
