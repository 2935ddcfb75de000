/*
 * bench_abi.c - loading vdkim.so and signing one message, as a host does
 * (bench_abi.h); shared by the benchmarks that go through the ABI.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "bench_abi.h"

int
bench_abi_load(const char *so, const vdkim_api **api, char *err,
    size_t errlen)
{
	vdkim_get_api_fn get;
	void *dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);

	if (dl == NULL) {
		snprintf(err, errlen, "%s", dlerror());
		return -1;
	}
	*(void **)(&get) = dlsym(dl, "vdkim_get_api");
	if (get == NULL) {
		snprintf(err, errlen, "%s: no vdkim_get_api", so);
		return -1;
	}
	return get(VDKIM_ABI_VERSION, api, err, errlen) == 0 ? 0 : -1;
}

int
bench_abi_sign(const vdkim_api *api, vdkim_instance *inst,
    const char *queue_id, const char *msg, size_t len, char *err,
    size_t errlen)
{
	vdkim_msg_info info;
	vdkim_hook_result res;
	vdkim_msg *m = NULL;
	int rc;

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.rcpt_domain = "example.net";
	info.queue_id = queue_id;
	if (api->msg_begin(inst, VDKIM_HOOK_PRE_DELIVERY, &info, &m, err,
	    errlen) != 0)
		return -1;
	memset(&res, 0, sizeof(res));
	res.size = sizeof(res);
	rc = api->msg_chunk(m, msg, len) != 0 || api->msg_end(m, &res) != 0 ||
	    res.nsigned != 1 ? -1 : 0;
	if (rc != 0)
		snprintf(err, errlen, "not signed: %s", res.reason != NULL ?
		    res.reason : "msg_chunk or msg_end failed");
	api->msg_free(m);
	return rc;
}
