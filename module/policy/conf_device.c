/*
 * conf_device.c - openssl-provider / openssl-engine blocks and
 * domain-key-fallback, checked value by value (exact lines) and built
 * into the policy's devices.
 *
 * PINs never appear in the config: only where to read them (pin-file,
 * pin-env).  A key URI carrying a PIN (pin-value=, pin-source=) and an
 * engine init command setting one are refused.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_device.h"
#include "conf_value.h"
#include "device.h"
#include "error.h"
#include "interval.h"

#define DEFAULT_RETRY_S 30
#define DEFAULT_TIMEOUT_MS 10000

#define DVAL(name) CFG_PTR_CB(name, NULL, CFGF_NODEFAULT, \
    conf_device_value_cb, conf_value_free)
#define DLIST(name) CFG_PTR_LIST_CB(name, NULL, CFGF_NODEFAULT, \
    conf_device_value_cb, conf_value_free)
#define DCOMMON DLIST("uri-schemes"), DVAL("pin-file"), DVAL("pin-env"), \
	CFG_BOOL("serialize", cfg_true, CFGF_NODEFAULT), \
	DVAL("retry-interval"), DVAL("timeout")

cfg_opt_t conf_provider_opts[] = {
	DVAL("module"), DVAL("property-query"), DVAL("openssl-config"),
	DCOMMON, CFG_END()
};

cfg_opt_t conf_engine_opts[] = {
	DVAL("engine-id"), DVAL("so-path"), DVAL("module-path"),
	DLIST("init-commands"), DCOMMON, CFG_END()
};

/* ------------------------------------------------------------- values */

static int
is_scheme(const char *v)
{
	char buf[80];

	return strlen(v) < sizeof(buf) - 2 &&
	    snprintf(buf, sizeof(buf), "%s:", v) > 0 && device_is_uri(buf) &&
	    strchr(v, ':') == NULL;
}

static int
is_env_name(const char *v)
{
	if (*v == '\0' || (*v >= '0' && *v <= '9'))
		return 0;
	for (; *v != '\0'; v++)
		if (!((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') ||
		    (*v >= '0' && *v <= '9') || *v == '_'))
			return 0;
	return 1;
}

const char *
conf_device_check_key(const char *path)
{
	if (!device_is_uri(path))
		return NULL;
	if (strcasestr(path, "pin-value=") != NULL ||
	    strcasestr(path, "pin-source=") != NULL)
		return "domain-key: a key URI must not carry the PIN (put it in "
		    "the device's pin-file or pin-env)";
	return NULL;
}

const char *
conf_device_check_value(const char *name, const char *v)
{
	long secs;

	if (strcmp(name, "module") == 0 || strcmp(name, "engine-id") == 0 ||
	    strcmp(name, "so-path") == 0 || strcmp(name, "module-path") == 0 ||
	    strcmp(name, "openssl-config") == 0)
		return *v != '\0' ? NULL : "an empty value";
	if (strcmp(name, "pin-file") == 0)
		return *v == '/' ? NULL : "pin-file must be an absolute path";
	if (strcmp(name, "pin-env") == 0)
		return is_env_name(v) ? NULL :
		    "pin-env must be an environment variable name";
	if (strcmp(name, "uri-schemes") == 0)
		return is_scheme(v) ? NULL : "uri-schemes holds URI schemes "
		    "such as pkcs11, handle, object (without the colon)";
	if (strcmp(name, "retry-interval") == 0 ||
	    strcmp(name, "timeout") == 0)
		return interval_parse(v, &secs) == 0 && secs > 0 &&
		    secs <= 86400 ? NULL : "an interval of 1s to 1d "
		    "(30, 30s, 5m)";
	if (strcmp(name, "init-commands") == 0) {
		if (*v == '\0' || *v == ':')
			return "init-commands holds \"NAME\" or \"NAME:VALUE\"";
		if (strncasecmp(v, "PIN", 3) == 0 && (v[3] == ':' ||
		    v[3] == '\0'))
			return "init-commands must not set the PIN (use "
			    "pin-file or pin-env)";
		return NULL;
	}
	if (strcmp(name, "domain-key-fallback") == 0) {
		const char *c1 = strchr(v, ','), *c2 = c1 ? strchr(c1 + 1, ',') :
		    NULL;
		if (c2 == NULL || c1 == v || c2 == c1 + 1 || c2[1] == '\0')
			return "domain-key-fallback must be \"SELECTOR,DOMAIN,"
			    "KEYFILE\"";
		return device_is_uri(c2 + 1) ? "domain-key-fallback: the "
		    "fallback is a key file, not a device URI" : NULL;
	}
	return NULL;
}

/* libconfuse's parse callback for the device options: checked here, stored
 * with their line (conf_value.c). */
int
conf_device_value_cb(cfg_t *cfg, cfg_opt_t *opt, const char *value,
    void *result)
{
	return conf_value_store(cfg, conf_device_check_value(opt->name, value),
	    value, (conf_val **)result);
}

/* ------------------------------------------------------------ building */

static const conf_val *
val(cfg_t *sec, const char *name)
{
	return cfg_size(sec, name) ? cfg_getptr(sec, name) : NULL;
}

static char *
val_dup(cfg_t *sec, const char *name)
{
	const conf_val *v = val(sec, name);

	return v ? strdup(v->s) : NULL;
}

static int
fail(vdkim_error *err, const char *path, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(vdkim_error *err, const char *path, int line, const char *fmt, ...)
{
	char msg[VDKIM_ERRMSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vdkim_fail(err, VDKIM_ESYNTAX, "%s:%d: %s", path, line, msg);
	return -1;
}

static int
dup_list(cfg_t *sec, const char *name, char ***out, size_t *n)
{
	unsigned k = cfg_size(sec, name);

	*n = 0;
	*out = calloc(k + 1, sizeof(**out));
	if (*out == NULL)
		return -1;
	for (unsigned i = 0; i < k; i++) {
		const conf_val *cv = cfg_getnptr(sec, name, i);
		if (((*out)[i] = strdup(cv->s)) == NULL)
			return -1;
		(*n)++;
	}
	return 0;
}

/* One block into c; -1 (err set) on a problem. */
static int
build_one(vdkim_policy *p, cfg_t *sec, dev_kind kind, int line,
    const char *path, dev_config *c, vdkim_error *err)
{
	const char *what = kind == DEV_ENGINE ? "openssl-engine" :
	    "openssl-provider";
	const conf_val *v;
	long secs;

	c->kind = kind;
	c->line = line;
	c->name = strdup(cfg_title(sec));
	c->module = val_dup(sec, kind == DEV_ENGINE ? "engine-id" : "module");
	if (c->name == NULL)
		return fail(err, path, line, "out of memory");
	if (c->module == NULL)
		return fail(err, path, line, "%s %s: %s = \"...\" is required "
		    "(%s)", what, c->name, kind == DEV_ENGINE ? "engine-id" :
		    "module", kind == DEV_ENGINE ? "the engine's id, e.g. "
		    "pkcs11" : "the provider's name or the path of its .so");
	if (kind == DEV_ENGINE && !engine_supported())
		return fail(err, path, line, "openssl-engine %s: this vdkim was "
		    "built without the ENGINE path (VDKIM_ENGINE=0, or an "
		    "OpenSSL without ENGINEs); use an openssl-provider",
		    c->name);
	c->propq = val_dup(sec, "property-query");
	c->ossl_config = val_dup(sec, "openssl-config");
	c->so_path = val_dup(sec, "so-path");
	c->module_path = val_dup(sec, "module-path");
	c->pin_file = val_dup(sec, "pin-file");
	c->pin_env = val_dup(sec, "pin-env");
	if (c->pin_file != NULL && c->pin_env != NULL)
		return fail(err, path, val(sec, "pin-env")->line, "%s %s: give "
		    "pin-file or pin-env, not both", what, c->name);
	if (dup_list(sec, "uri-schemes", &c->schemes, &c->nschemes) != 0 ||
	    (kind == DEV_ENGINE && dup_list(sec, "init-commands",
	    &c->init_cmds, &c->ninit) != 0))
		return fail(err, path, line, "out of memory");
	if (c->nschemes == 0 && kind == DEV_ENGINE) {
		c->schemes[0] = strdup("pkcs11");
		if (c->schemes[0] == NULL)
			return fail(err, path, line, "out of memory");
		c->nschemes = 1;
	}
	if (c->nschemes == 0)
		return fail(err, path, line, "openssl-provider %s: uri-schemes = "
		    "{\"...\"} is required: the key URI schemes it serves "
		    "(tpm2: \"handle\", \"object\")", c->name);
	for (size_t i = 0; i < c->nschemes; i++) {
		char probe[96];
		snprintf(probe, sizeof(probe), "%s:x", c->schemes[i]);
		if (policy_device_for(p, probe) != NULL)
			return fail(err, path, val(sec, "uri-schemes")->line,
			    "%s %s: the URI scheme %s is already served by "
			    "device %s", what, c->name, c->schemes[i],
			    policy_device_for(p, probe)->cfg.name);
	}
	c->serialize = cfg_size(sec, "serialize") ?
	    (int)cfg_getbool(sec, "serialize") : 1;
	c->retry_s = DEFAULT_RETRY_S;
	if ((v = val(sec, "retry-interval")) != NULL &&
	    interval_parse(v->s, &secs) == 0)
		c->retry_s = secs;
	c->timeout_ms = DEFAULT_TIMEOUT_MS;
	if ((v = val(sec, "timeout")) != NULL &&
	    interval_parse(v->s, &secs) == 0)
		c->timeout_ms = secs * 1000;
	return 0;
}

static int
add_devices(vdkim_policy *p, cfg_t *root, const char *keyword,
    dev_kind kind, const char *path, const conf_sections *sections,
    vdkim_error *err)
{
	unsigned n = cfg_size(root, keyword);
	device **grown;

	if (n == 0)
		return 0;
	grown = realloc(p->devices, (p->ndevices + n) * sizeof(*grown));
	if (grown == NULL)
		return fail(err, path, 0, "out of memory");
	p->devices = grown;
	for (unsigned i = 0; i < n; i++) {
		cfg_t *sec = cfg_getnsec(root, keyword, i);
		dev_config c;
		int line = conf_section_line(sections, 0, keyword,
		    cfg_title(sec));

		memset(&c, 0, sizeof(c));
		if (build_one(p, sec, kind, line, path, &c, err) != 0) {
			dev_config_free(&c);
			return -1;
		}
		p->devices[p->ndevices] = device_new(&c);
		if (p->devices[p->ndevices] == NULL) {
			dev_config_free(&c);
			return fail(err, path, line, "out of memory");
		}
		p->ndevices++;
	}
	return 0;
}

static int
add_fallbacks(vdkim_policy *p, cfg_t *root, const char *path,
    vdkim_error *err)
{
	unsigned n = cfg_size(root, "domain-key-fallback");

	if (n == 0)
		return 0;
	p->fallbacks = calloc(n, sizeof(*p->fallbacks));
	if (p->fallbacks == NULL)
		return fail(err, path, 0, "out of memory");
	for (unsigned i = 0; i < n; i++) {
		const conf_val *cv = cfg_getnptr(root, "domain-key-fallback", i);
		key_fallback *f = &p->fallbacks[p->nfallbacks++];
		int found = 0;

		f->line = cv->line;
		if (conf_split_key(cv->s, &f->selector, &f->domain,
		    &f->path) != 0)
			return fail(err, path, f->line, "out of memory");
		for (size_t k = 0; k < p->nkeytab && !found; k++)
			found = p->keytab[k].rot == NULL &&
			    strcmp(p->keytab[k].selector, f->selector) == 0 &&
			    strcmp(p->keytab[k].domain, f->domain) == 0 &&
			    device_is_uri(p->keytab[k].path);
		if (!found)
			return fail(err, path, f->line, "domain-key-fallback "
			    "%s,%s: no domain-key with this selector and domain "
			    "names a device key", f->selector, f->domain);
	}
	return 0;
}

int
conf_device_build(vdkim_policy *p, cfg_t *root, const char *path,
    const conf_sections *sections, vdkim_error *err)
{
	if (add_devices(p, root, "openssl-provider", DEV_PROVIDER, path,
	    sections, err) != 0 ||
	    add_devices(p, root, "openssl-engine", DEV_ENGINE, path,
	    sections, err) != 0)
		return -1;
	for (size_t i = 0; i < p->nkeytab; i++) {
		const key_entry *k = &p->keytab[i];
		if (k->rot != NULL)
			continue; /* a rotation schedule's keys are files */
		if (device_is_uri(k->path) && policy_device_for(p, k->path) == NULL)
			return fail(err, path, k->line, "domain-key %s,%s: no "
			    "openssl-engine or openssl-provider serves the URI "
			    "scheme \"%.*s\" (declare one with uri-schemes)",
			    k->selector, k->domain, (int)strcspn(k->path, ":"),
			    k->path);
	}
	return add_fallbacks(p, root, path, err);
}
