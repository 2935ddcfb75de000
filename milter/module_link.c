/*
 * module_link.c - dlopen(), vdkim_get_api(), open(): the three steps a
 * host takes before its first message, each refusal told in one sentence.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "module_link.h"

/* We call up to msg_free: an older, shorter table is refused. */
#define NEEDED_SIZE (offsetof(vdkim_api, msg_free) + sizeof(void (*)(void)))

/* Finds the module's table in the loaded library l->dl. */
static int
ask_table(module_link *l, const char *so_path, char *err, size_t errlen)
{
	vdkim_get_api_fn entry;
	char why[512] = "";

	*(void **)(&entry) = dlsym(l->dl, "vdkim_get_api");
	if (entry == NULL) {
		snprintf(err, errlen, "%s has no vdkim_get_api: not a vdkim "
		    "module", so_path);
		return -1;
	}
	if (entry(VDKIM_ABI_VERSION, &l->api, why, sizeof(why)) != 0 ||
	    l->api == NULL) {
		snprintf(err, errlen, "%s does not speak ABI %d: %s", so_path,
		    VDKIM_ABI_VERSION, why[0] != '\0' ? why : "(no reason)");
		return -1;
	}
	if (l->api->abi_version != VDKIM_ABI_VERSION ||
	    l->api->size < NEEDED_SIZE) {
		snprintf(err, errlen, "%s: API table of ABI %u and %zu bytes, "
		    "not ABI %d's", so_path, l->api->abi_version, l->api->size,
		    VDKIM_ABI_VERSION);
		return -1;
	}
	return 0;
}

int
module_link_open(const char *so_path, const char *config_path,
    const char *block, module_link **out, char *err, size_t errlen)
{
	module_link *l = calloc(1, sizeof(*l));
	char why[512] = "";

	*out = NULL;
	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((l->dl = dlopen(so_path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errlen, "cannot load %s: %s", so_path, dlerror());
		free(l);
		return -1;
	}
	l->host.size = sizeof(l->host);
	l->host.log = log_module_line;
	l->host.config_block = block;
	if (ask_table(l, so_path, err, errlen) != 0) {
		module_link_close(l);
		return -1;
	}
	if (l->api->open(config_path, &l->host, &l->inst, why,
	    sizeof(why)) != 0) {
		snprintf(err, errlen, "the module refused %s: %s", config_path,
		    why[0] != '\0' ? why : "(no reason)");
		module_link_close(l);
		return -1;
	}
	*out = l;
	return 0;
}

int
module_link_reload(module_link *l, char *err, size_t errlen)
{
	if (errlen > 0)
		err[0] = '\0';
	return l->api->reload(l->inst, err, errlen);
}

char *
module_link_stats(void *link, size_t *len, char *why, size_t whylen)
{
	module_link *l = link;
	char *text = NULL;

	if (!VDKIM_API_HAS(l->api, stats_free)) {
		snprintf(why, whylen, "module %s has no counters (0.4 and "
		    "later have)", l->api->module_version);
		return NULL;
	}
	return l->api->stats(l->inst, VDKIM_STATS_PROMETHEUS, &text, len, why,
	    whylen) == 0 ? text : NULL;
}

void
module_link_stats_free(void *link, char *text)
{
	((module_link *)link)->api->stats_free(text);
}

void
module_link_close(module_link *l)
{
	if (l == NULL)
		return;
	if (l->inst != NULL)
		l->api->close(l->inst);
	dlclose(l->dl);
	free(l);
}
