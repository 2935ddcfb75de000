/*
 * harness_config.c - the "harness { }" block, parsed with libconfuse.
 *
 * The file is shared with the module: the module blanks the harness block
 * out, and we blank out everything else (module/conf_text.c, linked in, not
 * copied), keeping every newline so libconfuse's line numbers are the
 * file's.  Values are checked by libconfuse callbacks that run while the
 * parser stands on the value's line (or, for a whole block, on its closing
 * brace), so every error names an exact line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <confuse.h>

#include "conf_text.h"
#include "harness_config.h"
#include "host_conf.h"
#include "log.h"
#include "metrics_http.h"

#define HOST_SECTION "harness"

/* ------------------------------------------------------- value checks */

struct int_range {
	const char *name;
	long min, max;
};

static const struct int_range int_ranges[] = {
	{ "delivery-workers", 1, 256 },
	{ "intake-workers", 1, 64 },
	{ "sign-batch", 0, 4096 },
	{ "max-message-size", 1024, 1L << 30 },
	{ "max-recipients", 1, 100000 },
	{ "max-line-length", 80, 1L << 20 },
	{ "max-sessions", 1, 1000000 },
	{ "session-timeout", 1, 86400 },
	{ "max-session-time", 1, 7 * 86400 },
	{ "retry-initial", 1, 86400 },
	{ "retry-max", 1, 7 * 86400 },
	{ "max-queue-time", 1, 365 * 86400 },
	{ "relay-timeout", 1, 3600 },
	{ "rotation-check-interval", 1, 7 * 86400 },
};

static int
check_int_range(cfg_t *cfg, cfg_opt_t *opt)
{
	long v = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);

	for (size_t i = 0; i < sizeof(int_ranges) / sizeof(int_ranges[0]); i++) {
		const struct int_range *r = &int_ranges[i];
		if (strcmp(r->name, opt->name) != 0)
			continue;
		if (v < r->min || v > r->max) {
			cfg_error(cfg, "%s = %ld: expected a number from %ld "
			    "to %ld", opt->name, v, r->min, r->max);
			return -1;
		}
	}
	return 0;
}

static int
check_address(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *s = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);
	net_addr a;
	char why[256];

	if (s == NULL || net_addr_parse(s, &a, why, sizeof(why)) != 0) {
		cfg_error(cfg, "%s: %s", opt->name, s ? why : "missing value");
		return -1;
	}
	return 0;
}

static int
check_not_empty(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *s = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);

	if (s == NULL || s[0] == '\0') {
		cfg_error(cfg, "%s: expected a non-empty value", opt->name);
		return -1;
	}
	return 0;
}

/*
 * The options whose value is one of two keywords, stored as a number.
 * libconfuse gives a callback no pointer of its own, so the one callback
 * finds its option's keywords by the option's name.
 */
struct keyword_opt {
	const char *option;
	struct {
		const char *word;
		long value;
	} choice[2];
};

static const struct keyword_opt keyword_opts[] = {
	{ "sign-at", { { "pre-delivery", SIGN_AT_PRE_DELIVERY },
	    { "pre-queue", SIGN_AT_PRE_QUEUE } } },
	{ "log-level", { { "info", HLOG_INFO }, { "debug", HLOG_DEBUG } } },
};

static int
parse_keyword(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	const struct keyword_opt *ko = NULL;

	for (size_t i = 0; i < sizeof(keyword_opts) / sizeof(*ko); i++)
		if (strcmp(opt->name, keyword_opts[i].option) == 0)
			ko = &keyword_opts[i];
	if (ko == NULL) {
		cfg_error(cfg, "%s: no keywords are known for this option",
		    opt->name);
		return -1;
	}
	for (size_t k = 0; k < 2; k++)
		if (strcmp(value, ko->choice[k].word) == 0) {
			*(long *)result = ko->choice[k].value;
			return 0;
		}
	cfg_error(cfg, "%s = %s: expected %s or %s", opt->name, value,
	    ko->choice[0].word, ko->choice[1].word);
	return -1;
}

/* At a listener's closing brace. */
static int
check_listener(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t *l = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);

	if (cfg_getstr(l, "address") == NULL) {
		cfg_error(cfg, "listener %s: \"address\" is missing "
		    "(address = \"127.0.0.1:2525\")", cfg_title(l));
		return -1;
	}
	return 0;
}

/* At the harness block's closing brace: what needs the whole block. */
static int
check_harness(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t *h = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
	int relays = (cfg_getstr(h, "smarthost") != NULL) +
	    (cfg_getstr(h, "maildir") != NULL);

	if (cfg_opt_size(opt) > 1) {
		cfg_error(cfg, "a second harness { } block: keep the "
		    "harness's settings in one");
		return -1;
	}
	if (cfg_getstr(h, "module") == NULL) {
		cfg_error(cfg, "harness: \"module\" (the path of vdkim.so) is "
		    "missing");
		return -1;
	}
	if (cfg_getstr(h, "spool-directory") == NULL) {
		cfg_error(cfg, "harness: \"spool-directory\" is missing");
		return -1;
	}
	if (relays != 1) {
		cfg_error(cfg, "harness: set exactly one of \"smarthost\" "
		    "(relay over SMTP) and \"maildir\" (deliver locally)");
		return -1;
	}
	if (cfg_size(h, "listener") == 0) {
		cfg_error(cfg, "harness: no listener (listener NAME { "
		    "address = \"127.0.0.1:2525\" })");
		return -1;
	}
	if (cfg_getint(h, "retry-max") < cfg_getint(h, "retry-initial")) {
		cfg_error(cfg, "harness: retry-max is shorter than "
		    "retry-initial");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ schema */

static cfg_opt_t listener_opts[] = {
	CFG_STR("address", NULL, CFGF_NODEFAULT),
	CFG_STR("source", NULL, CFGF_NODEFAULT),
	CFG_BOOL("allow-x-virtual-mta", cfg_false, CFGF_NONE),
	CFG_STR("default-virtual-mta", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t harness_opts[] = {
	CFG_STR("module", NULL, CFGF_NODEFAULT),
	CFG_STR("hostname", NULL, CFGF_NODEFAULT),
	CFG_STR("spool-directory", NULL, CFGF_NODEFAULT),
	CFG_STR("default-virtual-mta", NULL, CFGF_NODEFAULT),
	CFG_INT_CB("sign-at", SIGN_AT_PRE_DELIVERY, CFGF_NONE, parse_keyword),
	CFG_SEC("listener", listener_opts,
	    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_STR("smarthost", NULL, CFGF_NODEFAULT),
	CFG_STR("maildir", NULL, CFGF_NODEFAULT),
	CFG_INT("delivery-workers", 4, CFGF_NONE),
	CFG_INT("intake-workers", 2, CFGF_NONE),
	CFG_INT("sign-batch", 0, CFGF_NONE),
	CFG_INT("max-message-size", 20L * 1024 * 1024, CFGF_NONE),
	CFG_INT("max-recipients", 100, CFGF_NONE),
	CFG_INT("max-line-length", 1000, CFGF_NONE),
	CFG_INT("max-sessions", 1000, CFGF_NONE),
	CFG_INT("session-timeout", 300, CFGF_NONE),
	CFG_INT("max-session-time", 3600, CFGF_NONE),
	CFG_INT("retry-initial", 60, CFGF_NONE),
	CFG_INT("retry-max", 3600, CFGF_NONE),
	CFG_INT("max-queue-time", 5 * 86400, CFGF_NONE),
	CFG_INT("relay-timeout", 60, CFGF_NONE),
	CFG_STR("log-file", NULL, CFGF_NODEFAULT),
	CFG_INT_CB("log-level", HLOG_INFO, CFGF_NONE, parse_keyword),
	CFG_INT_CB("log-facility", LOG_DEFAULT_FACILITY, CFGF_NONE,
	    host_conf_facility),
	CFG_STR("log-socket", NULL, CFGF_NODEFAULT),
	CFG_STR("accounting-file", NULL, CFGF_NODEFAULT),
	CFG_BOOL("rotation-check", cfg_false, CFGF_NONE),
	CFG_INT("rotation-check-interval", 3600, CFGF_NONE),
	CFG_STR("metrics-address", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t root_opts[] = {
	CFG_SEC(HOST_SECTION, harness_opts, CFGF_MULTI),
	CFG_END()
};

static void
install_checks(cfg_t *cfg)
{
	static const char *const not_empty[] = {
		"harness|module", "harness|hostname", "harness|spool-directory",
		"harness|default-virtual-mta", "harness|maildir",
		"harness|log-file", "harness|log-socket",
		"harness|accounting-file",
		"harness|listener|source", "harness|listener|default-virtual-mta",
	};
	char name[64];

	for (size_t i = 0; i < sizeof(int_ranges) / sizeof(int_ranges[0]); i++) {
		snprintf(name, sizeof(name), "harness|%s", int_ranges[i].name);
		cfg_set_validate_func(cfg, name, check_int_range);
	}
	for (size_t i = 0; i < sizeof(not_empty) / sizeof(not_empty[0]); i++)
		cfg_set_validate_func(cfg, not_empty[i], check_not_empty);
	cfg_set_validate_func(cfg, "harness|smarthost", check_address);
	cfg_set_validate_func(cfg, "harness|metrics-address",
	    metrics_addr_check);
	cfg_set_validate_func(cfg, "harness|listener|address", check_address);
	cfg_set_validate_func(cfg, "harness|listener", check_listener);
	cfg_set_validate_func(cfg, "harness", check_harness);
}

/* ------------------------------------------------------------ model */

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* Copies what libconfuse parsed into c.  -1 when out of memory. */
static int
fill(harness_config *c, cfg_t *h)
{
	char host[256];

	c->module = dup_or_null(cfg_getstr(h, "module"));
	c->spool_dir = dup_or_null(cfg_getstr(h, "spool-directory"));
	c->default_vmta = dup_or_null(cfg_getstr(h, "default-virtual-mta"));
	c->maildir = dup_or_null(cfg_getstr(h, "maildir"));
	c->smarthost_text = dup_or_null(cfg_getstr(h, "smarthost"));
	c->log_file = dup_or_null(cfg_getstr(h, "log-file"));
	c->log_socket = dup_or_null(cfg_getstr(h, "log-socket"));
	c->log_facility = (int)cfg_getint(h, "log-facility");
	c->accounting_file = dup_or_null(cfg_getstr(h, "accounting-file"));
	c->rotation_check = cfg_getbool(h, "rotation-check") ? 1 : 0;
	c->rotation_check_interval = (int)cfg_getint(h,
	    "rotation-check-interval");
	if (cfg_getstr(h, "hostname") != NULL) {
		c->hostname = strdup(cfg_getstr(h, "hostname"));
	} else {
		if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		c->hostname = strdup(host);
	}
	c->metrics_text = dup_or_null(cfg_getstr(h, "metrics-address"));
	if (c->metrics_text != NULL) {
		char why[256];
		/* Checked while parsing; cannot fail here. */
		if (metrics_addr_parse(c->metrics_text, &c->metrics, why,
		    sizeof(why)) != 0)
			return -1;
	}
	if (c->smarthost_text != NULL) {
		char why[256];
		/* Checked while parsing; cannot fail here. */
		if (net_addr_parse(c->smarthost_text, &c->smarthost, why,
		    sizeof(why)) != 0)
			return -1;
	}
	c->sign_at = (int)cfg_getint(h, "sign-at");
	c->delivery_workers = (int)cfg_getint(h, "delivery-workers");
	c->intake_workers = (int)cfg_getint(h, "intake-workers");
	c->sign_batch = (int)cfg_getint(h, "sign-batch");
	c->max_message_size = (size_t)cfg_getint(h, "max-message-size");
	c->max_recipients = (size_t)cfg_getint(h, "max-recipients");
	c->max_line_length = (size_t)cfg_getint(h, "max-line-length");
	c->max_sessions = (size_t)cfg_getint(h, "max-sessions");
	c->session_timeout = (int)cfg_getint(h, "session-timeout");
	c->max_session_time = (int)cfg_getint(h, "max-session-time");
	c->retry_initial = (int)cfg_getint(h, "retry-initial");
	c->retry_max = (int)cfg_getint(h, "retry-max");
	c->max_queue_time = (int)cfg_getint(h, "max-queue-time");
	c->relay_timeout = (int)cfg_getint(h, "relay-timeout");
	c->log_level = (int)cfg_getint(h, "log-level");

	c->nlisteners = cfg_size(h, "listener");
	c->listeners = calloc(c->nlisteners, sizeof(*c->listeners));
	if (c->listeners == NULL)
		return -1;
	for (size_t i = 0; i < c->nlisteners; i++) {
		cfg_t *l = cfg_getnsec(h, "listener", (unsigned)i);
		hc_listener *hl = &c->listeners[i];
		const char *src = cfg_getstr(l, "source");
		char why[256];

		hl->name = strdup(cfg_title(l));
		hl->source = strdup(src != NULL ? src : cfg_title(l));
		hl->allow_x_virtual_mta = cfg_getbool(l, "allow-x-virtual-mta");
		hl->default_vmta = dup_or_null(cfg_getstr(l,
		    "default-virtual-mta"));
		if (hl->name == NULL || hl->source == NULL ||
		    net_addr_parse(cfg_getstr(l, "address"), &hl->addr, why,
		    sizeof(why)) != 0)
			return -1;
	}
	if (c->module == NULL || c->spool_dir == NULL || c->hostname == NULL)
		return -1;
	return 0;
}

int
harness_config_load(const char *path, harness_config **out, char *err,
    size_t errlen)
{
	harness_config *c;
	cfg_t *cfg;

	*out = NULL;
	if (host_conf_parse(path, HOST_SECTION, root_opts, install_checks,
	    "the harness's settings: module, spool-directory, listeners, ...",
	    &cfg, err, errlen) != 0)
		return -1;
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->path = strdup(path)) == NULL ||
	    fill(c, cfg_getsec(cfg, HOST_SECTION)) != 0) {
		snprintf(err, errlen, "out of memory");
		harness_config_free(c);
		cfg_free(cfg);
		return -1;
	}
	cfg_free(cfg);
	*out = c;
	return 0;
}

void
harness_config_free(harness_config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nlisteners && c->listeners != NULL; i++) {
		free(c->listeners[i].name);
		free(c->listeners[i].source);
		free(c->listeners[i].default_vmta);
	}
	free(c->listeners);
	free(c->path);
	free(c->module);
	free(c->hostname);
	free(c->spool_dir);
	free(c->default_vmta);
	free(c->smarthost_text);
	free(c->maildir);
	free(c->log_file);
	free(c->accounting_file);
	free(c->log_socket);
	free(c->metrics_text);
	free(c);
}
