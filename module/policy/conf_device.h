/*
 * conf_device.h - the config's device declarations: openssl-provider and
 * openssl-engine blocks, and domain-key-fallback (conf-examples/README.md).
 */
#ifndef VDKIM_CONF_DEVICE_H
#define VDKIM_CONF_DEVICE_H

#include <confuse.h>

#include "conf_value.h"
#include "policy_model.h"

extern cfg_opt_t conf_provider_opts[];
extern cfg_opt_t conf_engine_opts[];

/* The entries conf_parse.c adds to its top-level schema. */
#define CONF_DEVICE_OPTS \
	CFG_SEC("openssl-provider", conf_provider_opts, \
	    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES), \
	CFG_SEC("openssl-engine", conf_engine_opts, \
	    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES), \
	CFG_PTR_LIST_CB("domain-key-fallback", NULL, CFGF_NODEFAULT, \
	    conf_device_value_cb, conf_value_free)

/* What is wrong with the value of a device option (NULL: fine, or not a
 * device option). */
const char *conf_device_check_value(const char *name, const char *v);
/* The parse callback of the options above (checks, then stores the value
 * with its line). */
int conf_device_value_cb(cfg_t *cfg, cfg_opt_t *opt, const char *value,
    void *result);
/* What is wrong with a domain-key's KEYFILE-or-URI (NULL: fine). */
const char *conf_device_check_key(const char *path);

/* Builds p's devices and fallbacks (sections: where each block opens);
 * checks every key URI has a device.  -1 with err "FILE:LINE: ..." on a
 * problem. */
int conf_device_build(vdkim_policy *p, cfg_t *root, const char *path,
    const conf_sections *sections, vdkim_error *err);

#endif
