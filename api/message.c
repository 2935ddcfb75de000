/*
 * message.c - one message through a hook, at the ABI's edge: the sizes of
 * the host's structs, a copy of its envelope, the answer and the log line.
 * The message's path itself (header, decision, signer, X-DKIM-Options) is
 * the policy layer's policy_message, which every host shares.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "instance.h"
#include "key.h"
#include "policy_message.h"

struct vdkim_msg {
	vdkim_instance *inst;
	int hook;
	vdkim_msg_info info;        /* strings below are copies */
	char *strings;              /* one allocation for info's strings */
	vdkim_envelope env;         /* info's envelope, for the policy */
	policy_message *pm;         /* the path: header, decision, signer */
	int finishing;              /* msg_finish has started ... */
	int finished;               /* ... and ended (maybe in a batch) */
	int ended;                  /* msg_end has answered: res below */
	uint64_t sign_ns;           /* msg_finish's time, for the counters */
	vdkim_hook_result res;
	/* The answer. */
	char reason[VDKIM_ERRMSG_MAX];
	char smtp_reply[VDKIM_ERRMSG_MAX + 64];
	/* "d=<253> s=<253>; " per signature */
	char signatures[VDKIM_POLICY_MAX_SIGS * 520];
};

static const char *
hook_name(int hook)
{
	return hook == VDKIM_HOOK_PRE_QUEUE ? "pre-queue" : "pre-delivery";
}

/* ----------------------------------------------------------- begin */

static char *
copy_info(vdkim_msg_info *dst, const vdkim_msg_info *src)
{
	const char **fields[] = { &dst->vmta, &dst->pool, &dst->source,
	    &dst->mail_from, &dst->rcpt_domain, &dst->queue_id };
	const char *vals[6] = { NULL };
	size_t total = 0, nf = sizeof(fields) / sizeof(fields[0]);
	char *buf, *w;

	/* Only what the host's struct has. */
	if (src->size >= offsetof(vdkim_msg_info, pool))
		vals[0] = src->vmta;
	if (src->size >= offsetof(vdkim_msg_info, source))
		vals[1] = src->pool;
	if (src->size >= offsetof(vdkim_msg_info, mail_from))
		vals[2] = src->source;
	if (src->size >= offsetof(vdkim_msg_info, rcpt_domain))
		vals[3] = src->mail_from;
	if (src->size >= offsetof(vdkim_msg_info, queue_id))
		vals[4] = src->rcpt_domain;
	if (src->size >= sizeof(vdkim_msg_info))
		vals[5] = src->queue_id;
	for (size_t i = 0; i < nf; i++)
		total += vals[i] ? strlen(vals[i]) + 1 : 0;
	buf = malloc(total + 1);
	if (buf == NULL)
		return NULL;
	w = buf;
	for (size_t i = 0; i < nf; i++) {
		*fields[i] = NULL;
		if (vals[i] == NULL)
			continue;
		strcpy(w, vals[i]);
		*fields[i] = w;
		w += strlen(vals[i]) + 1;
	}
	dst->size = sizeof(*dst);
	return buf;
}

/* The host's clock, for the policy's decision and t=. */
static time_t
msg_now(void *arg)
{
	return inst_now(arg);
}

/* The message's path, on the instance's current policy. */
static int
start_path(vdkim_msg *m, char *err, size_t errlen)
{
	vdkim_policy *p = vdkim_slot_acquire(m->inst->slot);
	policy_message_info pi;
	vdkim_error e;
	vdkim_rc rc;

	memset(&m->env, 0, sizeof(m->env));
	m->env.size = sizeof(m->env);
	m->env.vmta = m->info.vmta;
	m->env.pool = m->info.pool;
	m->env.source = m->info.source;
	m->env.mail_from = m->info.mail_from;
	m->env.rcpt_domain = m->info.rcpt_domain;
	memset(&pi, 0, sizeof(pi));
	pi.env = &m->env;
	pi.hook = m->hook == VDKIM_HOOK_PRE_QUEUE ? POLICY_HOOK_PRE_QUEUE :
	    POLICY_HOOK_PRE_DELIVERY;
	pi.now = msg_now;
	pi.now_arg = m->inst;
	rc = policy_message_new(&m->pm, p, &pi, &e);
	vdkim_policy_unref(p); /* the message holds its own reference */
	if (rc != VDKIM_OK) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "vdkim: %s", e.msg);
		return -1;
	}
	return 0;
}

int
msg_begin(vdkim_instance *inst, int hook_point, const vdkim_msg_info *info,
    vdkim_msg **out, char *err, size_t errlen)
{
	vdkim_msg *m;

	if (inst == NULL || info == NULL || out == NULL ||
	    info->size < offsetof(vdkim_msg_info, pool) ||
	    (hook_point != VDKIM_HOOK_PRE_QUEUE &&
	    hook_point != VDKIM_HOOK_PRE_DELIVERY)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "vdkim: msg_begin needs an "
			    "instance, a hook point and a vdkim_msg_info with "
			    "its size set");
		return -1;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL || (m->strings = copy_info(&m->info, info)) == NULL) {
		free(m);
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "vdkim: out of memory");
		return -1;
	}
	m->inst = inst_ref(inst);
	m->hook = hook_point;
	if (start_path(m, err, errlen) != 0) {
		msg_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

int
msg_chunk(vdkim_msg *m, const void *data, size_t len)
{
	if (m == NULL)
		return -1;
	return policy_message_chunk(m->pm, data, len) == VDKIM_OK ? 0 : -1;
}

/* ------------------------------------------------------------- end */

/* Fills the answer for a message that leaves unsigned or is stopped. */
static void
answer_unsigned(vdkim_msg *m, vdkim_hook_result *res, const char *code,
    const char *why, int action)
{
	res->action = action;
	res->reason_code = code;
	snprintf(m->reason, sizeof(m->reason), "%s", why);
	res->reason = m->reason;
	/* The reply goes to the SMTP client: the reason code only; the
	 * sentence, which may name files, stays in the log and in reason. */
	if (action == VDKIM_ACTION_DEFER)
		snprintf(m->smtp_reply, sizeof(m->smtp_reply),
		    "451 4.7.5 DKIM signing is not possible now (%s); try "
		    "again later", code);
	else if (action == VDKIM_ACTION_REJECT)
		snprintf(m->smtp_reply, sizeof(m->smtp_reply),
		    "550 5.6.0 message refused by DKIM signer (%s)", code);
	res->smtp_reply = m->smtp_reply;
}

/* A note on a signed message that needs the operator: a rotation held
 * back, a selector in use missing from DNS, a key whose last DNS check
 * failed (dkim-dns-check warn).  Its sentence goes into the line, at
 * warning level, for every message so signed. */
static int
note_is_warning(const vdkim_msg *m)
{
	const vdkim_decision *d = policy_message_decision(m->pm);

	return d != NULL && (d->why == VDKIM_WHY_ROTATION_HELD ||
	    d->why == VDKIM_WHY_ROTATION_NOT_IN_DNS ||
	    d->why == VDKIM_WHY_DNS_MISSING ||
	    d->why == VDKIM_WHY_DNS_MISMATCH);
}

static void
log_outcome(vdkim_msg *m, const vdkim_hook_result *res)
{
	const char *q = m->info.queue_id ? m->info.queue_id : "-";
	const char *vmta = m->info.vmta ? m->info.vmta : "default";

	if (res->nsigned > 0 && note_is_warning(m))
		inst_log(m->inst, VDKIM_LOG_WARNING, "vdkim: %s %s vmta=%s "
		    "signed %s note=%s: %s", q, hook_name(m->hook), vmta,
		    res->signatures, res->reason_code, res->reason);
	else if (res->nsigned > 0)
		inst_log(m->inst, VDKIM_LOG_INFO, "vdkim: %s %s vmta=%s signed "
		    "%s%s%s", q, hook_name(m->hook), vmta, res->signatures,
		    strcmp(res->reason_code, "ok") ? " note=" : "",
		    strcmp(res->reason_code, "ok") ? res->reason_code : "");
	else
		inst_log(m->inst, res->action != VDKIM_ACTION_CONTINUE ?
		    VDKIM_LOG_ERR : strcmp(res->reason_code,
		    vdkim_why_name(VDKIM_WHY_DISABLED)) == 0 ? VDKIM_LOG_INFO :
		    VDKIM_LOG_WARNING, "vdkim: %s %s vmta=%s "
		    "%s reason=%s: %s", q, hook_name(m->hook), vmta,
		    res->action == VDKIM_ACTION_CONTINUE ? "unsigned" :
		    res->action == VDKIM_ACTION_DEFER ? "deferred" : "rejected",
		    res->reason_code, res->reason);
}

/* "d=example.com s=k1; d=... s=..." for the log line and the host. */
static void
summarize_signatures(vdkim_msg *m, size_t nsigned)
{
	const vdkim_decision *d = policy_message_decision(m->pm);
	size_t used = 0;

	for (size_t i = 0; i < nsigned; i++) {
		used += (size_t)snprintf(m->signatures + used,
		    sizeof(m->signatures) - used, "%sd=%s s=%s",
		    i ? "; " : "", d->specs[i].domain, d->specs[i].selector);
		if (used >= sizeof(m->signatures))
			used = sizeof(m->signatures) - 1;
	}
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
msg_finish(vdkim_msg *m)
{
	uint64_t t0;

	if (m->finishing)
		return;
	m->finishing = 1;
	t0 = m->inst->stats.l != NULL ? mono_ns() : 0;
	(void)policy_message_eom(m->pm); /* the outcome says how it went */
	if (t0 != 0)
		m->sign_ns = mono_ns() - t0;
	m->finished = 1;
}

/* ---------------------------------------------------------- counters */

/* What signs with key: "device:NAME", "ed25519" or "rsa". */
static const char *
key_kind(const vdkim_key *key, char *buf, size_t len)
{
	const char *holder = key_holder_name(key);

	if (holder != NULL) {
		snprintf(buf, len, "device:%s", holder);
		return buf;
	}
	return vdkim_key_get_type(key) == VDKIM_KEY_ED25519 ? "ed25519" :
	    "rsa";
}

/* 1 when code is a device's failure (the names of VDKIM_EDEV_*). */
static int
is_device_code(const char *code)
{
	static const vdkim_rc dev[] = { VDKIM_EDEV_UNAVAILABLE, VDKIM_EDEV_PIN,
	    VDKIM_EDEV_TIMEOUT, VDKIM_EDEV_ERROR };

	for (size_t i = 0; i < sizeof(dev) / sizeof(dev[0]); i++)
		if (strcmp(code, vdkim_rc_name(dev[i])) == 0)
			return 1;
	return 0;
}

/* The message's outcome into the instance's counters (lock-free). */
static void
count_outcome(vdkim_msg *m, const vdkim_hook_result *res)
{
	stats_layout *l = m->inst->stats.l;
	const vdkim_decision *d = policy_message_decision(m->pm);
	char kind[STATS_NAME_MAX];

	if (l == NULL)
		return;
	stats_count_message(l, m->hook == VDKIM_HOOK_PRE_QUEUE ?
	    STATS_HOOK_PRE_QUEUE : STATS_HOOK_PRE_DELIVERY, m->info.vmta,
	    res->nsigned > 0 ? STATS_SIGNED :
	    res->action == VDKIM_ACTION_DEFER ? STATS_DEFERRED :
	    res->action == VDKIM_ACTION_REJECT ? STATS_REJECTED :
	    STATS_UNSIGNED, res->reason_code);
	if (d == NULL || d->nsigs == 0 || d->specs[0].key == NULL)
		return; /* nothing was to be signed: no signing time */
	for (int i = 0; i < res->nsigned && (size_t)i < d->nsigs; i++)
		stats_count_signature(l, d->specs[i].domain,
		    d->specs[i].selector, vdkim_alg_name(vdkim_key_get_alg(
		    d->specs[i].key)));
	stats_count_latency(l, key_kind(d->specs[0].key, kind, sizeof(kind)),
	    m->sign_ns);
	if (res->reason_code[0] == 'd' && is_device_code(res->reason_code))
		stats_count_device_error(l, key_holder_name(d->specs[0].key) ?
		    key_holder_name(d->specs[0].key) : "device",
		    res->reason_code);
}

int
msg_end(vdkim_msg *m, vdkim_hook_result *res)
{
	policy_outcome out;

	if (m == NULL || res == NULL || res->size < sizeof(*res))
		return -1;
	if (m->finishing && !m->finished)
		return -1; /* still signing in a batch: poll it back first */
	if (m->ended) {
		/* The same answer again; nothing is signed or logged twice. */
		*res = m->res;
		return 0;
	}
	memset(res, 0, sizeof(*res));
	res->size = sizeof(*res);
	res->signatures = m->signatures;
	msg_finish(m);
	policy_message_outcome(m->pm, &out);
	res->strip_x_dkim_options = policy_message_strip(m->pm);
	res->add_headers = policy_message_signatures(m->pm,
	    &res->add_headers_len);
	if (out.nsigned > 0) {
		summarize_signatures(m, out.nsigned);
		res->action = VDKIM_ACTION_CONTINUE;
		res->nsigned = (int)out.nsigned;
		res->reason_code = out.reason_code;
		res->reason = out.reason;
		res->smtp_reply = "";
	} else {
		answer_unsigned(m, res, out.reason_code, out.reason,
		    out.action == POLICY_ACTION_DEFER ? VDKIM_ACTION_DEFER :
		    out.action == POLICY_ACTION_REJECT ? VDKIM_ACTION_REJECT :
		    VDKIM_ACTION_CONTINUE);
	}
	log_outcome(m, res);
	count_outcome(m, res);
	m->res = *res;
	m->ended = 1;
	return 0;
}

void
msg_free(vdkim_msg *m)
{
	if (m == NULL)
		return;
	policy_message_free(m->pm);
	inst_unref(m->inst);
	free(m->strings);
	free(m);
}
