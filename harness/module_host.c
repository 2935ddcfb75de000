/*
 * module_host.c - loading vdkim.so and running hooks.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "module_host.h"

struct module_host {
	void *dl;
	const vdkim_api *api;
	vdkim_instance *inst;
	vdkim_host host;
	/* One reload at a time (SIGHUP's and the key check's): two would
	 * both parse everything, and the older result could land last. */
	pthread_mutex_t reload_lock;
};

/* The API table must reach msg_free for us to use it. */
#define API_MIN_SIZE (offsetof(vdkim_api, msg_free) + sizeof(void (*)(void)))

int
module_host_load(const char *so_path, const char *config_path,
    module_host **out, char *err, size_t errlen)
{
	module_host *m;
	vdkim_get_api_fn get;
	char why[512] = "";

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	m->dl = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
	if (m->dl == NULL) {
		snprintf(err, errlen, "cannot load the module: %s", dlerror());
		free(m);
		return -1;
	}
	/* POSIX's way to turn dlsym's object pointer into a function. */
	*(void **)(&get) = dlsym(m->dl, "vdkim_get_api");
	if (get == NULL) {
		snprintf(err, errlen, "%s: no vdkim_get_api (not a vdkim "
		    "module?)", so_path);
		goto fail;
	}
	if (get(VDKIM_ABI_VERSION, &m->api, why, sizeof(why)) != 0 ||
	    m->api == NULL) {
		snprintf(err, errlen, "%s refused ABI version %d: %s", so_path,
		    VDKIM_ABI_VERSION, why[0] ? why : "no reason given");
		goto fail;
	}
	if (m->api->size < API_MIN_SIZE ||
	    m->api->abi_version != VDKIM_ABI_VERSION) {
		snprintf(err, errlen, "%s: its API table (size %zu, ABI %u) is "
		    "not version %d's", so_path, m->api->size,
		    m->api->abi_version, VDKIM_ABI_VERSION);
		goto fail;
	}
	m->host.size = sizeof(m->host);
	m->host.ctx = NULL;
	m->host.log = log_module_line;
	m->host.now = NULL;
	/* Our settings' block (harness_config.c reads it); the module skips
	 * it. */
	m->host.config_block = "harness";
	if (m->api->open(config_path, &m->host, &m->inst, why,
	    sizeof(why)) != 0) {
		snprintf(err, errlen, "the module refused %s: %s", config_path,
		    why[0] ? why : "no reason given");
		goto fail;
	}
	pthread_mutex_init(&m->reload_lock, NULL);
	*out = m;
	return 0;
fail:
	dlclose(m->dl);
	free(m);
	return -1;
}

int
module_host_reload(module_host *m, char *err, size_t errlen)
{
	int rc;

	err[0] = '\0';
	pthread_mutex_lock(&m->reload_lock);
	rc = m->api->reload(m->inst, err, errlen);
	pthread_mutex_unlock(&m->reload_lock);
	return rc;
}

int
module_host_check_keys(module_host *m, vdkim_check_summary *sum, char *err,
    size_t errlen)
{
	err[0] = '\0';
	if (!VDKIM_API_HAS(m->api, check_keys)) {
		snprintf(err, errlen, "module %s has no key check (0.3 and "
		    "later have)", module_host_version(m));
		return -1;
	}
	memset(sum, 0, sizeof(*sum));
	sum->size = sizeof(*sum);
	return m->api->check_keys(m->inst, 0, sum, err, errlen);
}

char *
module_host_stats(module_host *m, size_t *len, char *why, size_t whylen)
{
	char *text = NULL;

	if (!VDKIM_API_HAS(m->api, stats_free)) {
		snprintf(why, whylen, "module %s has no counters (0.4 and "
		    "later have)", module_host_version(m));
		return NULL;
	}
	return m->api->stats(m->inst, VDKIM_STATS_PROMETHEUS, &text, len, why,
	    whylen) == 0 ? text : NULL;
}

void
module_host_stats_free(module_host *m, char *text)
{
	m->api->stats_free(text);
}

const char *
module_host_version(const module_host *m)
{
	return m->api->module_version != NULL ? m->api->module_version : "?";
}

void
module_host_free(module_host *m)
{
	if (m == NULL)
		return;
	if (m->inst != NULL) {
		m->api->close(m->inst);
		pthread_mutex_destroy(&m->reload_lock);
	}
	dlclose(m->dl);
	free(m);
}

/* ------------------------------------------------------------- hooks */

void
hook_outcome_clear(hook_outcome *o)
{
	free(o->add_headers);
	free(o->reason_code);
	free(o->reason);
	free(o->smtp_reply);
	free(o->signatures);
	memset(o, 0, sizeof(*o));
}

/* A copy of s cut at its first line end (one SMTP line, one log field). */
static char *
one_line(const char *s)
{
	if (s == NULL)
		s = "";
	return strndup(s, strcspn(s, "\r\n"));
}

/* The outcome when there is no usable answer from the module. */
static void
module_failure(hook_outcome *out, const char *why)
{
	hook_outcome_clear(out);
	out->action = VDKIM_ACTION_DEFER;
	/* Like the module's own replies: the code for the client, the
	 * sentence (which may name files) for the log. */
	log_msg(HLOG_ERR, "vdkim module failed on a message: %s", why);
	out->smtp_reply = strdup("451 4.3.0 DKIM signing failed temporarily "
	    "(module-error); try again later");
	out->reason_code = strdup("module-error");
	out->reason = strdup(why);
	out->add_headers = strdup("");
	out->signatures = strdup("");
	/* If even these copies fail, leave "" behind rather than NULL. */
	if (out->smtp_reply == NULL || out->reason_code == NULL ||
	    out->reason == NULL || out->add_headers == NULL ||
	    out->signatures == NULL) {
		hook_outcome_clear(out);
		out->action = VDKIM_ACTION_DEFER;
	}
}

/* Copies the module's answer; a reply of the wrong class for the action
 * (a module bug) is replaced so the SMTP answer stays right. */
static int
copy_result(const vdkim_hook_result *r, hook_outcome *out)
{
	char fallback[600];
	const char *reply = r->smtp_reply != NULL ? r->smtp_reply : "";

	out->action = r->action;
	out->nsigned = r->nsigned;
	out->strip_x_dkim_options = r->strip_x_dkim_options;
	out->add_headers_len = r->add_headers != NULL ? r->add_headers_len : 0;
	out->add_headers = malloc(out->add_headers_len + 1);
	if (out->add_headers != NULL) {
		if (out->add_headers_len > 0)
			memcpy(out->add_headers, r->add_headers,
			    out->add_headers_len);
		out->add_headers[out->add_headers_len] = '\0';
	}
	out->reason_code = one_line(r->reason_code);
	out->reason = one_line(r->reason);
	out->signatures = one_line(r->signatures);
	if ((r->action == VDKIM_ACTION_DEFER && reply[0] != '4') ||
	    (r->action == VDKIM_ACTION_REJECT && reply[0] != '5')) {
		snprintf(fallback, sizeof(fallback), "%s %s DKIM: %s (%s)",
		    r->action == VDKIM_ACTION_DEFER ? "451" : "550",
		    r->action == VDKIM_ACTION_DEFER ? "4.7.0" : "5.7.0",
		    r->reason != NULL ? r->reason : "no reason given",
		    r->reason_code != NULL ? r->reason_code : "?");
		reply = fallback;
	}
	out->smtp_reply = one_line(reply);
	return out->add_headers != NULL && out->reason_code != NULL &&
	    out->reason != NULL && out->signatures != NULL &&
	    out->smtp_reply != NULL ? 0 : -1;
}

int
module_host_begin(module_host *m, int hook, const vdkim_msg_info *info,
    const seglist *msg, vdkim_msg **out, hook_outcome *failed)
{
	char why[512] = "";

	*out = NULL;
	if (m->api->msg_begin(m->inst, hook, info, out, why,
	    sizeof(why)) != 0) {
		*out = NULL;
		memset(failed, 0, sizeof(*failed));
		module_failure(failed, why[0] ? why : "msg_begin failed");
		return -1;
	}
	/* A -1 from msg_chunk means the rest is pointless; msg_end says why. */
	for (size_t i = 0; i < msg->n; i++)
		if (m->api->msg_chunk(*out, msg->v[i].iov_base,
		    msg->v[i].iov_len) != 0)
			break;
	return 0;
}

void
module_host_end(module_host *m, vdkim_msg *vm, hook_outcome *out)
{
	vdkim_hook_result res;

	memset(out, 0, sizeof(*out));
	memset(&res, 0, sizeof(res));
	res.size = sizeof(res);
	if (m->api->msg_end(vm, &res) != 0) {
		module_failure(out, "msg_end refused the result struct");
	} else if (res.action != VDKIM_ACTION_CONTINUE &&
	    res.action != VDKIM_ACTION_DEFER &&
	    res.action != VDKIM_ACTION_REJECT) {
		module_failure(out, "the module answered an unknown action");
	} else if (copy_result(&res, out) != 0) {
		module_failure(out, "out of memory");
	}
	m->api->msg_free(vm);
}

void
module_host_run(module_host *m, int hook, const vdkim_msg_info *info,
    const seglist *msg, hook_outcome *out)
{
	vdkim_msg *vm;

	if (module_host_begin(m, hook, info, msg, &vm, out) == 0)
		module_host_end(m, vm, out);
}

/* ----------------------------------------------------------- batches */

int
module_host_has_batches(const module_host *m)
{
	return VDKIM_API_HAS(m->api, batch_free);
}

vdkim_batch *
module_host_batch_new(module_host *m, unsigned max_in_flight, char *err,
    size_t errlen)
{
	vdkim_batch *b = NULL;

	if (!module_host_has_batches(m)) {
		snprintf(err, errlen, "the module (%s) has no batches (they "
		    "came with module 0.2)", module_host_version(m));
		return NULL;
	}
	err[0] = '\0';
	if (m->api->batch_new(m->inst, max_in_flight, &b, err, errlen) != 0)
		return NULL;
	return b;
}

int
module_host_batch_submit(module_host *m, vdkim_batch *b, vdkim_msg *vm)
{
	return m->api->batch_submit(b, vm);
}

int
module_host_batch_poll(module_host *m, vdkim_batch *b, int timeout_ms,
    vdkim_msg **done, size_t max)
{
	return m->api->batch_poll(b, timeout_ms, done, max);
}

void
module_host_batch_free(module_host *m, vdkim_batch *b)
{
	if (b != NULL)
		m->api->batch_free(b);
}
