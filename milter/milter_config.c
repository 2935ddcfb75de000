/*
 * milter_config.c - the "milter { }" block, parsed with libconfuse.
 *
 * The file is shared with the module and the harness: the module blanks
 * our block out (VDKIM_SHIPPED_HOST_BLOCKS), and we blank out everything
 * else (conf_text_keep_blocks), keeping every newline so that libconfuse's
 * line numbers are the file's.  Values are checked by callbacks that run
 * while the parser stands on the value's line, so errors name exact lines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <confuse.h>

#include "conf_text.h"
#include "log.h"
#include "host_conf.h"
#include "milter_config.h"
#include "metrics_http.h"

#define BLOCK "milter"

/* listen: what smfi_setconn understands, and nothing it would guess at. */
static int
check_listen(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *s = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);
	const char *at;

	if (s != NULL && (strncmp(s, "unix:", 5) == 0 ||
	    strncmp(s, "local:", 6) == 0) && s[strcspn(s, ":") + 1] == '/')
		return 0;
	if (s != NULL && (strncmp(s, "inet:", 5) == 0 ||
	    strncmp(s, "inet6:", 6) == 0) && (at = strchr(s, '@')) != NULL &&
	    at[1] != '\0' && at > strchr(s, ':') + 1)
		return 0;
	cfg_error(cfg, "listen = \"%s\": expected \"inet:PORT@HOST\" or "
	    "\"unix:/PATH\"", s != NULL ? s : "");
	return -1;
}

/* One vmta-map entry: "VALUE=VMTA", both sides non-empty. */
static int
check_route(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *s = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);
	const char *eq = s != NULL ? strrchr(s, '=') : NULL;

	if (eq == NULL || eq == s || eq[1] == '\0') {
		cfg_error(cfg, "vmta-map entry \"%s\": expected "
		    "\"MACROVALUE=VMTA\"", s != NULL ? s : "");
		return -1;
	}
	return 0;
}

struct bounds {
	const char *name;
	long min, max;
};

static const struct bounds bounded[] = {
	{ "max-header-size", 4096, 64L << 20 },
	{ "timeout", 1, 86400 },
	{ "stop-grace", 0, 3600 },
	{ "socket-mode", 0, 0777 },
};

static int
check_bounds(cfg_t *cfg, cfg_opt_t *opt)
{
	long v = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);
	size_t n = sizeof(bounded) / sizeof(bounded[0]);

	for (const struct bounds *b = bounded; b < bounded + n; b++)
		if (strcmp(b->name, opt->name) == 0 &&
		    (v < b->min || v > b->max)) {
			cfg_error(cfg, "%s = %ld: out of range (%ld to %ld)",
			    opt->name, v, b->min, b->max);
			return -1;
		}
	return 0;
}

static int
parse_level(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	if (strcmp(value, "info") == 0 || strcmp(value, "debug") == 0) {
		*(long *)result = value[0] == 'i' ? HLOG_INFO : HLOG_DEBUG;
		return 0;
	}
	cfg_error(cfg, "%s = %s: expected info or debug", opt->name, value);
	return -1;
}

/* At the block's closing brace. */
static int
check_block(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t *m = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
	static const char *const required[] = { "module", "listen" };

	if (cfg_opt_size(opt) > 1) {
		cfg_error(cfg, "a second milter { } block: keep the milter's "
		    "settings in one");
		return -1;
	}
	for (size_t i = 0; i < 2; i++)
		if (cfg_getstr(m, required[i]) == NULL ||
		    cfg_getstr(m, required[i])[0] == '\0') {
			cfg_error(cfg, "milter: \"%s\" is missing", required[i]);
			return -1;
		}
	return 0;
}

static cfg_opt_t milter_opts[] = {
	CFG_STR("module", NULL, CFGF_NODEFAULT),
	CFG_STR("listen", NULL, CFGF_NODEFAULT),
	CFG_STR("socket-owner", NULL, CFGF_NODEFAULT),
	CFG_STR("socket-group", NULL, CFGF_NODEFAULT),
	CFG_INT("socket-mode", -1, CFGF_NODEFAULT),
	CFG_STR("log-file", NULL, CFGF_NODEFAULT),
	CFG_INT_CB("log-level", HLOG_INFO, CFGF_NONE, parse_level),
	CFG_INT_CB("log-facility", LOG_DEFAULT_FACILITY, CFGF_NONE,
	    host_conf_facility),
	CFG_STR("log-socket", NULL, CFGF_NODEFAULT),
	CFG_STR("vmta-macro", "{daemon_name}", CFGF_NONE),
	CFG_STR("default-vmta", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("vmta-map", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("x-virtual-mta-sources", NULL, CFGF_NODEFAULT),
	CFG_INT("max-header-size", 1L << 20, CFGF_NONE),
	CFG_INT("timeout", 300, CFGF_NONE),
	CFG_INT("stop-grace", 30, CFGF_NONE),
	CFG_STR("metrics-address", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t root_opts[] = {
	CFG_SEC(BLOCK, milter_opts, CFGF_MULTI),
	CFG_END()
};

static void
add_checks(cfg_t *cfg)
{
	char opt[64];

	for (size_t i = 0; i < sizeof(bounded) / sizeof(bounded[0]); i++) {
		snprintf(opt, sizeof(opt), BLOCK "|%s", bounded[i].name);
		cfg_set_validate_func(cfg, opt, check_bounds);
	}
	cfg_set_validate_func(cfg, BLOCK "|listen", check_listen);
	cfg_set_validate_func(cfg, BLOCK "|metrics-address",
	    metrics_addr_check);
	cfg_set_validate_func(cfg, BLOCK "|vmta-map", check_route);
	cfg_set_validate_func(cfg, BLOCK, check_block);
}

/* A copy of option name's value, or NULL when unset; *oom on failure. */
static char *
copy_opt(cfg_t *m, const char *name, int *oom)
{
	const char *v = cfg_getstr(m, name);
	char *c = v != NULL ? strdup(v) : NULL;

	if (v != NULL && c == NULL)
		*oom = 1;
	return c;
}

/* Copies what libconfuse parsed; -1 when out of memory. */
static int
fill(milter_config *c, cfg_t *m)
{
	int oom = 0;

	c->module = copy_opt(m, "module", &oom);
	c->listen = copy_opt(m, "listen", &oom);
	c->socket_owner = copy_opt(m, "socket-owner", &oom);
	c->socket_group = copy_opt(m, "socket-group", &oom);
	c->log_file = copy_opt(m, "log-file", &oom);
	c->log_socket = copy_opt(m, "log-socket", &oom);
	c->log_facility = (int)cfg_getint(m, "log-facility");
	c->vmta_macro = copy_opt(m, "vmta-macro", &oom);
	c->default_vmta = copy_opt(m, "default-vmta", &oom);
	c->metrics_text = copy_opt(m, "metrics-address", &oom);
	if (c->metrics_text != NULL) {
		char why[256];
		/* Checked while parsing; cannot fail here. */
		if (metrics_addr_parse(c->metrics_text, &c->metrics, why,
		    sizeof(why)) != 0)
			return -1;
	}
	c->socket_mode = cfg_size(m, "socket-mode") > 0 ?
	    cfg_getint(m, "socket-mode") : -1;
	c->log_level = (int)cfg_getint(m, "log-level");
	c->max_header_size = (size_t)cfg_getint(m, "max-header-size");
	c->timeout = (int)cfg_getint(m, "timeout");
	c->stop_grace = (int)cfg_getint(m, "stop-grace");

	c->nroutes = cfg_size(m, "vmta-map");
	c->routes = calloc(c->nroutes + 1, sizeof(*c->routes));
	c->nx_vmta_sources = cfg_size(m, "x-virtual-mta-sources");
	c->x_vmta_sources = calloc(c->nx_vmta_sources + 1, sizeof(char *));
	if (oom || c->routes == NULL || c->x_vmta_sources == NULL)
		return -1;
	for (size_t i = 0; i < c->nroutes; i++) {
		const char *s = cfg_getnstr(m, "vmta-map", (unsigned)i);
		const char *eq = strrchr(s, '=');

		c->routes[i].value = strndup(s, (size_t)(eq - s));
		c->routes[i].vmta = strdup(eq + 1);
		if (c->routes[i].value == NULL || c->routes[i].vmta == NULL)
			return -1;
	}
	for (size_t i = 0; i < c->nx_vmta_sources; i++) {
		c->x_vmta_sources[i] = strdup(cfg_getnstr(m,
		    "x-virtual-mta-sources", (unsigned)i));
		if (c->x_vmta_sources[i] == NULL)
			return -1;
	}
	return 0;
}

int
milter_config_load(const char *path, milter_config **out, char *err,
    size_t errlen)
{
	milter_config *c = NULL;
	cfg_t *cfg;

	*out = NULL;
	if (host_conf_parse(path, BLOCK, root_opts, add_checks,
	    "the milter's settings: module, listen, ...", &cfg, err,
	    errlen) != 0)
		return -1;
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->path = strdup(path)) == NULL ||
	    fill(c, cfg_getsec(cfg, BLOCK)) != 0) {
		snprintf(err, errlen, "out of memory");
		milter_config_free(c);
		cfg_free(cfg);
		return -1;
	}
	cfg_free(cfg);
	*out = c;
	return 0;
}

void
milter_config_free(milter_config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; c->routes != NULL && i < c->nroutes; i++) {
		free(c->routes[i].value);
		free(c->routes[i].vmta);
	}
	for (size_t i = 0; c->x_vmta_sources != NULL &&
	    i < c->nx_vmta_sources; i++)
		free(c->x_vmta_sources[i]);
	free(c->routes);
	free(c->x_vmta_sources);
	free(c->path);
	free(c->module);
	free(c->listen);
	free(c->socket_owner);
	free(c->socket_group);
	free(c->log_file);
	free(c->log_socket);
	free(c->vmta_macro);
	free(c->default_vmta);
	free(c->metrics_text);
	free(c);
}

const char *
milter_config_vmta(const milter_config *c, const char *value,
    const char *x_vmta, const char **how)
{
	if (value != NULL && x_vmta != NULL && x_vmta[0] != '\0')
		for (size_t i = 0; i < c->nx_vmta_sources; i++)
			if (strcmp(c->x_vmta_sources[i], value) == 0) {
				*how = "x-virtual-mta";
				return x_vmta;
			}
	if (value != NULL)
		for (size_t i = 0; i < c->nroutes; i++)
			if (strcmp(c->routes[i].value, value) == 0) {
				*how = "vmta-map";
				return c->routes[i].vmta;
			}
	*how = "default";
	return c->default_vmta;
}
