/*
 * failing_module.c - a vdkim.so stand-in whose every message fails, for
 * the milter's module-error path (tests/milter/run.sh and san.sh).  The
 * VMTA says how: "fail-begin" (msg_begin refuses the message),
 * "bad-action" (msg_end answers an action no ABI has), anything else
 * (msg_end fails).  No message may leave unsigned: the milter must answer
 * 451 4.3.0 each time.
 */
#include <stdlib.h>
#include <string.h>

#include "vdkim/vdkim.h"

struct vdkim_instance {
	int unused;
};

struct vdkim_msg {
	int bad_action;
};

static int
f_open(const char *config_path, const vdkim_host *host,
    vdkim_instance **out, char *err, size_t errlen)
{
	(void)config_path;
	(void)host;
	(void)err;
	(void)errlen;
	*out = calloc(1, sizeof(**out));
	return *out != NULL ? 0 : -1;
}

static int
f_reload(vdkim_instance *inst, char *err, size_t errlen)
{
	(void)inst;
	(void)err;
	(void)errlen;
	return 0;
}

static void
f_close(vdkim_instance *inst)
{
	free(inst);
}

static int
f_msg_begin(vdkim_instance *inst, int hook_point, const vdkim_msg_info *info,
    vdkim_msg **out, char *err, size_t errlen)
{
	const char *vmta = info->vmta != NULL ? info->vmta : "default";

	(void)inst;
	(void)hook_point;
	if (strcmp(vmta, "fail-begin") == 0) {
		strncpy(err, "test module: msg_begin fails", errlen - 1);
		err[errlen - 1] = '\0';
		return -1;
	}
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return -1;
	(*out)->bad_action = strcmp(vmta, "bad-action") == 0;
	return 0;
}

static int
f_msg_chunk(vdkim_msg *m, const void *data, size_t len)
{
	(void)m;
	(void)data;
	(void)len;
	return 0;
}

static int
f_msg_end(vdkim_msg *m, vdkim_hook_result *res)
{
	if (!m->bad_action)
		return -1;
	res->action = 7;
	res->add_headers = "";
	res->reason_code = "ok";
	return 0;
}

static void
f_msg_free(vdkim_msg *m)
{
	free(m);
}

static const vdkim_api table = {
	.size = offsetof(vdkim_api, msg_free) + sizeof(void (*)(void)),
	.abi_version = VDKIM_ABI_VERSION,
	.module_version = "failing-test-module",
	.open = f_open,
	.reload = f_reload,
	.close = f_close,
	.msg_begin = f_msg_begin,
	.msg_chunk = f_msg_chunk,
	.msg_end = f_msg_end,
	.msg_free = f_msg_free,
};

__attribute__((visibility("default"))) int
vdkim_get_api(unsigned abi_version, const vdkim_api **api, char *err,
    size_t errlen)
{
	(void)err;
	(void)errlen;
	*api = abi_version == VDKIM_ABI_VERSION ? &table : NULL;
	return *api != NULL ? 0 : -1;
}
