/*
 * host_conf.c - a host's own block of vdkim.conf, parsed (host_conf.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf_text.h"
#include "host_conf.h"
#include "log.h"

/*
 * libconfuse gives its error callback no pointer of ours and forgets the
 * file name when parsing a buffer: the parse reports into this sink, set
 * and cleared around one host_conf_parse call.
 */
static struct {
	const char *path;
	char *err;
	size_t errlen;
	int failed;
} sink;

static void
on_cfg_error(cfg_t *cfg, const char *fmt, va_list ap)
{
	char what[512];

	if (sink.failed)
		return; /* the first error is the one to fix */
	vsnprintf(what, sizeof(what), fmt, ap);
	snprintf(sink.err, sink.errlen, "%s:%d: %s", sink.path,
	    cfg != NULL ? cfg->line : 0, what);
	sink.failed = 1;
}

int
host_conf_parse(const char *path, const char *block, cfg_opt_t *root_opts,
    void (*add_checks)(cfg_t *), const char *what, cfg_t **out, char *err,
    size_t errlen)
{
	vdkim_error verr;
	char *text = NULL;
	cfg_t *cfg;
	int rc;

	*out = NULL;
	if (conf_text_load(path, &text, &verr) != VDKIM_OK) {
		snprintf(err, errlen, "%s", verr.msg);
		return -1;
	}
	conf_text_keep_blocks(text, block);
	cfg = cfg_init(root_opts, CFGF_NONE);
	if (cfg == NULL) {
		free(text);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	sink.path = path;
	sink.err = err;
	sink.errlen = errlen;
	sink.failed = 0;
	cfg_set_error_function(cfg, on_cfg_error);
	if (add_checks != NULL)
		add_checks(cfg);
	rc = cfg_parse_buf(cfg, text);
	free(text);
	if (rc != CFG_SUCCESS) {
		if (!sink.failed)
			snprintf(err, errlen, "%s: cannot be parsed", path);
	} else if (cfg_size(cfg, block) == 0) {
		snprintf(err, errlen, "%s: no \"%s { }\" block (%s)", path,
		    block, what);
		rc = CFG_PARSE_ERROR;
	}
	sink.path = NULL;
	sink.err = NULL;
	if (rc != CFG_SUCCESS) {
		cfg_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

int
host_conf_facility(cfg_t *cfg, cfg_opt_t *opt, const char *value,
    void *result)
{
	int f = log_facility_value(value);

	if (f < 0) {
		cfg_error(cfg, "%s = %s: expected mail, daemon, user or "
		    "local0 to local7", opt->name, value);
		return -1;
	}
	*(long *)result = f;
	return 0;
}
