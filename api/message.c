/*
 * message.c - one message through a hook: collect the header, decide by
 * policy, sign while the body streams, answer the host.
 *
 * The header is held (bounded by the engine's limits) because the decision
 * needs From:, Sender: and X-DKIM-Options; once it ends, the signer gets the
 * fields (without X-DKIM-Options, which the host removes) and the body goes
 * straight through it.  Nothing of the body is kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "header_fields.h"
#include "instance.h"
#include "msg_split.h"
#include "strbuf.h"

struct vdkim_msg {
	vdkim_instance *inst;
	vdkim_policy *policy;       /* referenced for the message's life */
	int hook;
	vdkim_msg_info info;        /* strings below are copies */
	char *strings;              /* one allocation for info's strings */
	msg_split split;
	header_fields hf;
	vdkim_decision dec;
	int decided;
	vdkim_signer *signer;
	int bad;                    /* the message could not be parsed */
	int finishing;              /* msg_finish has started ... */
	int finished;               /* ... and ended (maybe in a batch) */
	vdkim_rc sign_rc;           /* what vdkim_signer_eom answered */
	int ended;                  /* msg_end has answered: res below */
	vdkim_hook_result res;
	vdkim_error err;            /* why, when bad or signing failed */
	/* The answer. */
	char *add_headers;
	size_t add_headers_len;
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

/* ------------------------------------------------------- the header */

static vdkim_rc
on_header(void *ctx, const char *field, size_t len, vdkim_error *err)
{
	vdkim_msg *m = ctx;

	return header_fields_add(&m->hf, field, len, err);
}

static int
field_named(const header_fields *hf, size_t i, const char *name)
{
	return header_fields_is(hf, i, name, strlen(name));
}

/* Hands the held fields to the signer, with the message's line ends. */
static vdkim_rc
feed_signer_header(vdkim_msg *m, vdkim_error *err)
{
	const char *eol = m->hf.eol_seen && !m->hf.eol_crlf ? "\n" : "\r\n";
	strbuf sb;
	vdkim_rc rc = VDKIM_OK;

	sb_init(&sb);
	for (size_t i = 0; i < m->hf.n && rc == VDKIM_OK; i++) {
		if (m->dec.strip_x_dkim_options &&
		    field_named(&m->hf, i, "X-DKIM-Options"))
			continue; /* the host removes it before sending */
		sb_reset(&sb);
		sb_add(&sb, header_fields_text(&m->hf, i), m->hf.f[i].len);
		sb_adds(&sb, eol);
		if (sb.failed)
			rc = VDKIM_ENOMEM;
		else
			rc = vdkim_signer_header(m->signer, sb.s, sb.len, err);
	}
	sb_free(&sb);
	if (rc == VDKIM_OK)
		rc = vdkim_signer_eoh(m->signer, err);
	return rc;
}

static vdkim_rc
on_eoh(void *ctx, vdkim_error *err)
{
	vdkim_msg *m = ctx;
	vdkim_envelope env;
	vdkim_header *hdrs;
	vdkim_rc rc;

	hdrs = calloc(m->hf.n + 1, sizeof(*hdrs));
	if (hdrs == NULL)
		return VDKIM_ENOMEM;
	for (size_t i = 0; i < m->hf.n; i++) {
		hdrs[i].field = header_fields_text(&m->hf, i);
		hdrs[i].len = m->hf.f[i].len;
	}
	memset(&env, 0, sizeof(env));
	env.size = sizeof(env);
	env.vmta = m->info.vmta;
	env.pool = m->info.pool;
	env.source = m->info.source;
	env.mail_from = m->info.mail_from;
	env.rcpt_domain = m->info.rcpt_domain;
	rc = vdkim_policy_decide(m->policy, &env, hdrs, m->hf.n,
	    inst_now(m->inst), &m->dec, err);
	free(hdrs);
	if (rc != VDKIM_OK)
		return rc;
	m->decided = 1;
	if (m->dec.verdict != VDKIM_VERDICT_SIGN)
		return VDKIM_OK;
	rc = vdkim_signer_new(&m->signer, err);
	for (size_t i = 0; rc == VDKIM_OK && i < m->dec.nsigs; i++) {
		m->dec.specs[i].now = inst_now(m->inst);
		rc = vdkim_signer_add(m->signer, &m->dec.specs[i], err);
	}
	if (rc == VDKIM_OK)
		rc = feed_signer_header(m, err);
	return rc;
}

static vdkim_rc
on_body(void *ctx, const void *data, size_t len, vdkim_error *err)
{
	vdkim_msg *m = ctx;

	return m->signer != NULL ? vdkim_signer_body(m->signer, data, len,
	    err) : VDKIM_OK;
}

static const msg_split_ops msg_ops = { on_header, on_eoh, on_body };

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
	m->policy = vdkim_slot_acquire(inst->slot);
	header_fields_init(&m->hf);
	msg_split_init(&m->split, &msg_ops, m);
	*out = m;
	return 0;
}

int
msg_chunk(vdkim_msg *m, const void *data, size_t len)
{
	if (m == NULL || m->bad)
		return -1;
	if (msg_split_feed(&m->split, data, len, &m->err) != VDKIM_OK) {
		m->bad = 1;
		return -1;
	}
	return 0;
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
 * back or a selector in use missing from DNS.  Its sentence goes into the
 * line, at warning level, for every message so signed. */
static int
note_is_warning(const vdkim_msg *m)
{
	return m->dec.why == VDKIM_WHY_ROTATION_HELD ||
	    m->dec.why == VDKIM_WHY_ROTATION_NOT_IN_DNS;
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

/* Collects the signer's fields into one text to prepend. */
static int
collect_signatures(vdkim_msg *m, vdkim_hook_result *res)
{
	strbuf sb;
	size_t used = 0;

	sb_init(&sb);
	for (size_t i = 0; i < vdkim_signer_count(m->signer); i++) {
		size_t len;
		const char *h = vdkim_signer_result(m->signer, i, &len);
		sb_add(&sb, h, len);
		used += (size_t)snprintf(m->signatures + used,
		    sizeof(m->signatures) - used, "%sd=%s s=%s",
		    i ? "; " : "", m->dec.specs[i].domain,
		    m->dec.specs[i].selector);
		if (used >= sizeof(m->signatures))
			used = sizeof(m->signatures) - 1;
	}
	m->add_headers_len = sb.len;
	m->add_headers = sb_take(&sb);
	if (m->add_headers == NULL)
		return -1;
	res->add_headers = m->add_headers;
	res->add_headers_len = m->add_headers_len;
	res->nsigned = (int)vdkim_signer_count(m->signer);
	return 0;
}

/* X-DKIM-Options must never leave, even when no decision was made. */
static int
has_dkim_options(const vdkim_msg *m)
{
	for (size_t i = 0; i < m->hf.n; i++)
		if (field_named(&m->hf, i, "X-DKIM-Options"))
			return 1;
	return 0;
}

void
msg_finish(vdkim_msg *m)
{
	if (m->finishing)
		return;
	m->finishing = 1;
	if (!m->bad && msg_split_finish(&m->split, &m->err) != VDKIM_OK)
		m->bad = 1;
	if (!m->bad && m->decided && m->dec.verdict == VDKIM_VERDICT_SIGN)
		m->sign_rc = vdkim_signer_eom(m->signer, &m->err);
	m->finished = 1;
}

/* A device's own code ("device-unavailable", ...), else signing-failed. */
static const char *
failure_code(vdkim_rc rc)
{
	return rc >= VDKIM_EDEV_UNAVAILABLE && rc <= VDKIM_EDEV_ERROR ?
	    vdkim_rc_name(rc) : "signing-failed";
}

int
msg_end(vdkim_msg *m, vdkim_hook_result *res)
{
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
	res->add_headers = "";
	res->signatures = m->signatures;
	msg_finish(m);
	res->strip_x_dkim_options = m->decided ?
	    m->dec.strip_x_dkim_options : has_dkim_options(m);
	if (m->bad || !m->decided) {
		/* A header the engine cannot read: refuse it at the door,
		 * let a queued one go on unsigned (it will never improve). */
		answer_unsigned(m, res, vdkim_why_name(VDKIM_WHY_BAD_MESSAGE),
		    m->err.msg[0] ? m->err.msg : "the message has no header",
		    m->hook == VDKIM_HOOK_PRE_QUEUE ? VDKIM_ACTION_REJECT :
		    VDKIM_ACTION_CONTINUE);
	} else if (m->dec.verdict == VDKIM_VERDICT_SIGN) {
		if (m->sign_rc != VDKIM_OK ||
		    collect_signatures(m, res) != 0) {
			answer_unsigned(m, res, failure_code(m->sign_rc),
			    m->err.msg[0] ? m->err.msg : "out of memory",
			    m->dec.require ? VDKIM_ACTION_DEFER :
			    VDKIM_ACTION_CONTINUE);
		} else {
			res->action = VDKIM_ACTION_CONTINUE;
			res->reason_code = vdkim_why_name(m->dec.why);
			res->reason = m->dec.detail;
			res->smtp_reply = "";
		}
	} else {
		answer_unsigned(m, res, vdkim_why_name(m->dec.why),
		    m->dec.detail, m->dec.verdict == VDKIM_VERDICT_DEFER ?
		    VDKIM_ACTION_DEFER : VDKIM_ACTION_CONTINUE);
	}
	log_outcome(m, res);
	m->res = *res;
	m->ended = 1;
	return 0;
}

void
msg_free(vdkim_msg *m)
{
	if (m == NULL)
		return;
	vdkim_signer_free(m->signer);
	msg_split_free(&m->split);
	header_fields_free(&m->hf);
	vdkim_policy_unref(m->policy);
	inst_unref(m->inst);
	free(m->add_headers);
	free(m->strings);
	free(m);
}
