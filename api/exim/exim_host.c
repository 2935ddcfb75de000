/*
 * exim_host.c - the Exim process as a vdkim host: Exim's API found at run
 * time, Exim's log as the module's log, and one instance per config file
 * for the life of the process.
 *
 * The cache below is the shim's own state, the way any host keeps its
 * instance somewhere; Exim runs each SMTP session and each delivery in a
 * single-threaded process, so it is only ever touched by one thread.  The
 * module proper keeps no global state.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "exim_host.h"

/* ------------------------------------------------------- Exim's API */

static exim_api exim;
static int exim_found = -1; /* -1 not looked up yet, 0 missing, 1 found */
static char exim_missing[64];

/*
 * The symbols of Exim's API, each with the member of exim it fills.
 * dlsym returns an object pointer; POSIX blesses storing it through a
 * void ** aimed at the member, which is how a function pointer gets it.
 */
#define EXIM_SYMBOL(field, name) { name, (void **)&exim.field }
static const struct {
	const char *name;
	void **slot;
} exim_symbols[] = {
	EXIM_SYMBOL(log_write, "log_write"),
	EXIM_SYMBOL(expand_string, "expand_string"),
	EXIM_SYMBOL(copyn, "string_copyn_function"),
	EXIM_SYMBOL(header_remove, "header_remove"),
	EXIM_SYMBOL(header_list, "header_list"),
	EXIM_SYMBOL(message_id, "message_id"),
	EXIM_SYMBOL(sender_address, "sender_address"),
	EXIM_SYMBOL(recipients_list, "recipients_list"),
	EXIM_SYMBOL(recipients_count, "recipients_count"),
};

const exim_api *
exim_api_get(char *why, size_t whylen)
{
	if (exim_found < 0) {
		exim_found = 1;
		for (size_t i = 0; i < sizeof(exim_symbols) /
		    sizeof(exim_symbols[0]); i++) {
			*exim_symbols[i].slot = dlsym(RTLD_DEFAULT,
			    exim_symbols[i].name);
			if (*exim_symbols[i].slot == NULL) {
				snprintf(exim_missing, sizeof(exim_missing),
				    "%s", exim_symbols[i].name);
				exim_found = 0;
				break;
			}
		}
	}
	if (exim_found)
		return &exim;
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "vdkim: the Exim functions are called "
		    "outside Exim (this process has no '%s')", exim_missing);
	return NULL;
}

uschar *
exim_copy(const exim_api *ex, const char *s, size_t len)
{
	if (len > 0x7fffffff)
		return NULL;
	return ex->copyn((const uschar *)s, (int)len);
}

/* ------------------------------------------------------- the log */

static void
exim_log(void *ctx, int level, const char *line)
{
	const exim_api *ex = ctx;

	/* Exim's main log has no levels: the line says what happened.
	 * Debug lines ("loaded CONFIG", once per process) would only add
	 * one line per SMTP session and delivery. */
	if (level >= VDKIM_LOG_DEBUG)
		return;
	ex->log_write(0, LOG_MAIN, "%s", line);
}

/* ------------------------------------------------------- instances */

/* A handful of configs per Exim config is already unusual. */
#define EXIM_MAX_INSTANCES 8

static struct {
	char *path;
	vdkim_instance *inst;
	time_t loaded;      /* when opened or last reloaded */
} opened[EXIM_MAX_INSTANCES];
static const vdkim_api *module_api;

/* Reloads opened[i] when it is max_age seconds old (see exim_host.h). */
static void
refresh(const exim_api *ex, size_t i, long max_age)
{
	char why[1024];
	time_t now = time(NULL);

	if (max_age < 0 || now - opened[i].loaded < (time_t)max_age)
		return;
	opened[i].loaded = now;
	if (module_api->reload(opened[i].inst, why, sizeof(why)) != 0)
		ex->log_write(0, LOG_MAIN | LOG_PANIC, "vdkim: reloading %s "
		    "failed, the loaded config stays in force: %s",
		    opened[i].path, why);
}

vdkim_instance *
exim_instance(const exim_api *ex, const char *config_path, long max_age,
    const vdkim_api **api, char *err, size_t errlen)
{
	vdkim_host host;
	vdkim_instance *inst;
	size_t i, free_slot = EXIM_MAX_INSTANCES;

	if (module_api == NULL) {
		/*
		 * Exim runs each SMTP session and each delivery in a process
		 * of its own that ends with exit().  OpenSSL's exit handler
		 * would then free every table it built, touching (and so
		 * copying, in a forked process) all of that memory, for
		 * nothing: a measurable share of a delivery.  When vdkim is
		 * first in this process to use OpenSSL, it asks for no exit
		 * handler; when Exim itself uses OpenSSL this changes nothing.
		 */
		OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
		if (vdkim_get_api(VDKIM_ABI_VERSION, &module_api, err,
		    errlen) != 0)
			return NULL;
	}
	*api = module_api;
	for (i = 0; i < EXIM_MAX_INSTANCES; i++) {
		if (opened[i].path == NULL) {
			if (free_slot == EXIM_MAX_INSTANCES)
				free_slot = i;
		} else if (strcmp(opened[i].path, config_path) == 0) {
			refresh(ex, i, max_age);
			return opened[i].inst;
		}
	}
	if (free_slot == EXIM_MAX_INSTANCES) {
		snprintf(err, errlen, "vdkim: this Exim process already uses "
		    "%d different vdkim configs; %s is one too many",
		    EXIM_MAX_INSTANCES, config_path);
		return NULL;
	}
	memset(&host, 0, sizeof(host));
	host.size = sizeof(host);
	host.ctx = (void *)ex;
	host.log = exim_log;
	if (module_api->open(config_path, &host, &inst, err, errlen) != 0)
		return NULL;
	opened[free_slot].path = strdup(config_path);
	if (opened[free_slot].path == NULL) {
		module_api->close(inst);
		snprintf(err, errlen, "vdkim: out of memory");
		return NULL;
	}
	opened[free_slot].inst = inst;
	opened[free_slot].loaded = time(NULL);
	return inst;
}
