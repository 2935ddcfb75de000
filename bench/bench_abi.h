/*
 * bench_abi.h - what every benchmark that plays a host does with vdkim.so:
 * load it (dlopen, vdkim_get_api) and sign one message through the
 * pre-delivery hook (msg_begin, msg_chunk, msg_end, msg_free).
 */
#ifndef VDKIM_BENCH_ABI_H
#define VDKIM_BENCH_ABI_H

#include <stddef.h>

#include "vdkim/vdkim.h"

/* Loads the module at so; 0 with *api, or -1 with err filled. */
int bench_abi_load(const char *so, const vdkim_api **api, char *err,
    size_t errlen);

/* One message (len bytes) for rcpt domain example.net through inst;
 * 0 when it came back with exactly one signature, or -1 with err filled
 * (the module's reason). */
int bench_abi_sign(const vdkim_api *api, vdkim_instance *inst,
    const char *queue_id, const char *msg, size_t len, char *err,
    size_t errlen);

#endif
