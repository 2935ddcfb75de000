/*
 * module_link.h - vdkim.so, dlopen()ed and opened through its versioned
 * ABI (include/vdkim/vdkim.h), as the milter's sessions use it.
 *
 * The link owns the library handle and the instance; sessions borrow the
 * API table and the instance from it (any thread, as the ABI allows) until
 * module_link_close().
 */
#ifndef MILTER_MODULE_LINK_H
#define MILTER_MODULE_LINK_H

#include <stddef.h>

#include "vdkim/vdkim.h"

typedef struct module_link {
	void *dl;
	const vdkim_api *api;     /* the module's table, borrowed */
	vdkim_instance *inst;
	vdkim_host host;
} module_link;

/* Loads so_path, asks for VDKIM_ABI_VERSION and opens an instance on
 * config_path, with the host's settings in the block named block.  0 with
 * *out set, or -1 with err filled. */
int module_link_open(const char *so_path, const char *config_path,
    const char *block, module_link **out, char *err, size_t errlen);
/* api->reload: 0, or -1 with err filled (the old config stays). */
int module_link_reload(module_link *l, char *err, size_t errlen);
/* The module's counters in Prometheus's text format (the ABI's stats
 * entry) for GET /metrics: the text, given back with
 * module_link_stats_free; or NULL with why filled.  Any thread. */
char *module_link_stats(void *link, size_t *len, char *why, size_t whylen);
void module_link_stats_free(void *link, char *text);
/* Closes the instance and unloads the module; NULL is fine. */
void module_link_close(module_link *l);

#endif
