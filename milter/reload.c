/*
 * reload.c - SIGHUP: the module's config, then the milter { } block
 * (reload.h says which settings take effect when).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "reload.h"

/* Settings only a restart applies: the running value is kept in the new
 * config, so that it says what is in force. */
static const struct {
	const char *name;
	size_t off;
} fixed_strings[] = {
	{ "module", offsetof(milter_config, module) },
	{ "listen", offsetof(milter_config, listen) },
	{ "socket-owner", offsetof(milter_config, socket_owner) },
	{ "socket-group", offsetof(milter_config, socket_group) },
	{ "metrics-address", offsetof(milter_config, metrics_text) },
};

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Keeps old's restart-only values in n, logging each change; -1 when out
 * of memory. */
static int
keep_fixed(milter_config *n, const milter_config *old)
{
	for (size_t i = 0; i < sizeof(fixed_strings) /
	    sizeof(fixed_strings[0]); i++) {
		char **nv = (char **)((char *)n + fixed_strings[i].off);
		char *const *ov = (char *const *)((const char *)old +
		    fixed_strings[i].off);

		if (same(*nv, *ov))
			continue;
		log_msg(HLOG_WARNING, "milter { }: %s changed from \"%s\" to "
		    "\"%s\": takes effect at the next start (restart "
		    "vdkim-milter)", fixed_strings[i].name,
		    *ov != NULL ? *ov : "", *nv != NULL ? *nv : "");
		free(*nv);
		*nv = NULL;
		if (*ov != NULL && (*nv = strdup(*ov)) == NULL)
			return -1;
	}
	n->metrics = old->metrics; /* goes with metrics-address, kept above */
	if (n->socket_mode != old->socket_mode) {
		log_msg(HLOG_WARNING, "milter { }: socket-mode changed from "
		    "%lo to %lo: takes effect at the next start (restart "
		    "vdkim-milter)", old->socket_mode, n->socket_mode);
		n->socket_mode = old->socket_mode;
	}
	if (n->timeout != old->timeout) {
		log_msg(HLOG_WARNING, "milter { }: timeout changed from %d to "
		    "%d: takes effect at the next start (restart "
		    "vdkim-milter)", old->timeout, n->timeout);
		n->timeout = old->timeout;
	}
	return 0;
}

/* The log: reopened (rotation, or a new log-file, socket, facility or
 * level); on failure the old sink and settings stay, in n too. */
static int
reopen_log(milter_config *n, const milter_config *old)
{
	log_settings ls = {
		.ident = "vdkim-milter",
		.file = n->log_file,
		.socket = n->log_socket,
		.facility = n->log_facility,
		.max_level = n->log_level,
	};
	char err[512];

	if (log_open(&ls, err, sizeof(err)) == 0)
		return 0;
	log_msg(HLOG_ERR, "milter { }: log-file: %s; logging goes on as "
	    "before", err);
	free(n->log_file);
	free(n->log_socket);
	n->log_file = NULL;
	n->log_socket = NULL;
	n->log_level = old->log_level;
	n->log_facility = old->log_facility;
	if (old->log_file != NULL && (n->log_file = strdup(old->log_file)) ==
	    NULL)
		return -1;
	if (old->log_socket != NULL &&
	    (n->log_socket = strdup(old->log_socket)) == NULL)
		return -1;
	return 0;
}

static void
reload_block(milter_app *a)
{
	milter_config *n;
	const milter_config *old = a->cfg;
	char err[1024];

	if (milter_config_load(old->path, &n, err, sizeof(err)) != 0) {
		log_msg(HLOG_ERR, "milter { } not reloaded, the running "
		    "settings stay: %s", err);
		return;
	}
	if (keep_fixed(n, old) != 0 || reopen_log(n, old) != 0) {
		log_msg(HLOG_ERR, "milter { } not reloaded: out of memory");
		milter_config_free(n);
		return;
	}
	session_config_swap(a, n);
	log_msg(HLOG_INFO, "milter { } reloaded from %s (VMTA from %s, "
	    "default %s, %zu vmta-map entries, max-header-size %zu)",
	    n->path, n->vmta_macro, n->default_vmta != NULL ?
	    n->default_vmta : "default", n->nroutes, n->max_header_size);
}

void
reload_all(milter_app *a)
{
	char err[1024];

	if (module_link_reload(a->module, err, sizeof(err)) == 0)
		log_msg(HLOG_INFO, "module config reloaded from %s",
		    a->cfg->path);
	else
		log_msg(HLOG_ERR, "module config reload failed, the old one "
		    "stays in force: %s", err);
	reload_block(a);
}
