/*
 * get_api.c - the module's entry point: the versioned table of hooks.
 */
#include <stdio.h>

#include "instance.h"

#define VDKIM_MODULE_VERSION "0.4"

static const vdkim_api api_v1 = {
	sizeof(vdkim_api),
	VDKIM_ABI_VERSION,
	VDKIM_MODULE_VERSION,
	inst_open,
	inst_reload,
	inst_close,
	msg_begin,
	msg_chunk,
	msg_end,
	msg_free,
	batch_new,
	batch_submit,
	batch_poll,
	batch_outstanding,
	batch_free,
	inst_check_keys,
	inst_stats,
	inst_stats_free,
};

__attribute__((visibility("default"))) int
vdkim_get_api(unsigned abi_version, const vdkim_api **api, char *err,
    size_t errlen)
{
	if (api == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "vdkim: no api pointer given");
		return -1;
	}
	*api = NULL;
	if (abi_version != VDKIM_ABI_VERSION) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "vdkim %s speaks ABI version %u; "
			    "the host asked for version %u (rebuild the host "
			    "against this module's vdkim/vdkim.h)",
			    VDKIM_MODULE_VERSION, VDKIM_ABI_VERSION,
			    abi_version);
		return -1;
	}
	*api = &api_v1;
	return 0;
}
