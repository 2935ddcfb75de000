/*
 * policy_message.c - one message through the policy: collect the header,
 * decide, sign while the body streams, answer.
 *
 * The header fields go once into a header_fields (bounded by the engine's
 * limits); the decision reads them there, and when the verdict is SIGN the
 * signer takes that very store over (signer_take_header), without the
 * X-DKIM-Options fields when the decision strips them.  Only where those
 * fields stood in the input is kept apart, for hosts that cut them out of
 * the message themselves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "header_fields.h"
#include "key_device.h"
#include "msg_split.h"
#include "policy_message.h"
#include "signer_header.h"
#include "signer_remake.h"
#include "strbuf.h"

#define OPTIONS_NAME "X-DKIM-Options"
#define OPTIONS_LEN (sizeof(OPTIONS_NAME) - 1)

/* Where an X-DKIM-Options field stood in the header as fed. */
typedef struct field_range {
	size_t off, len;
} field_range;

/* How the message is fed: not yet, raw chunks, or field by field. */
enum feed { FEED_NONE, FEED_CHUNKS, FEED_FIELDS };

struct policy_message {
	vdkim_policy *policy;       /* referenced */
	vdkim_envelope env;         /* strings borrowed from the host */
	policy_message_info info;
	enum feed feed;
	msg_split split;            /* FEED_CHUNKS */
	header_fields hf;           /* the header, until the signer takes it */
	size_t header_bytes;        /* header bytes fed so far */
	field_range *options;       /* the X-DKIM-Options fields */
	size_t noptions, options_cap;
	int in_body;                /* the header has ended */
	int decided;
	vdkim_decision dec;
	vdkim_signer *signer;       /* on a SIGN verdict */
	int failed;                 /* a call failed: err says why */
	int ended;                  /* _eom has run */
	vdkim_rc sign_rc;           /* what the signer's end answered */
	vdkim_error err;
	/* A signature failed its self-check and the device key's fallback
	 * made it again: the outcome says so (sign_rc is then VDKIM_OK). */
	vdkim_error self_check;
	char *sigs;                 /* the fields to prepend */
	size_t sigs_len;
};

/* Records a failure (err already says why); returns rc. */
static vdkim_rc
failed(policy_message *pm, vdkim_rc rc)
{
	if (rc != VDKIM_OK)
		pm->failed = 1;
	return rc;
}

/* The first call that feeds picks the way; mixing is an error. */
static vdkim_rc
feed_as(policy_message *pm, enum feed how, const char *call)
{
	if (pm->failed)
		return pm->err.rc;
	if (pm->feed == FEED_NONE)
		pm->feed = how;
	(void)call;
	if (pm->ended)
		return failed(pm, vdkim_fail(&pm->err, VDKIM_ESTATE, "the "
		    "message has already ended: nothing more is taken for it"));
	if (pm->feed != how)
		return failed(pm, vdkim_fail(&pm->err, VDKIM_ESTATE, "the "
		    "message was given both raw and field by field: one way "
		    "only"));
	return VDKIM_OK;
}

/* ------------------------------------------------------- the header */

static vdkim_rc
note_options_field(policy_message *pm, size_t len)
{
	if (pm->noptions == pm->options_cap) {
		size_t ncap = pm->options_cap ? pm->options_cap * 2 : 4;
		field_range *n = realloc(pm->options, ncap * sizeof(*n));

		if (n == NULL)
			return vdkim_fail(&pm->err, VDKIM_ENOMEM,
			    "out of memory");
		pm->options = n;
		pm->options_cap = ncap;
	}
	pm->options[pm->noptions].off = pm->header_bytes;
	pm->options[pm->noptions].len = len;
	pm->noptions++;
	return VDKIM_OK;
}

/* One field into the store (which enforces the engine's limits). */
static vdkim_rc
add_field(policy_message *pm, const char *field, size_t len)
{
	vdkim_rc rc = header_fields_add(&pm->hf, field, len, &pm->err);

	if (rc == VDKIM_OK && header_fields_is(&pm->hf, pm->hf.n - 1,
	    OPTIONS_NAME, OPTIONS_LEN))
		rc = note_options_field(pm, len);
	pm->header_bytes += len;
	return rc;
}

/* The signer for the decided signatures, given the header. */
static vdkim_rc
start_signer(policy_message *pm)
{
	vdkim_rc rc = vdkim_signer_new(&pm->signer, &pm->err);

	for (size_t i = 0; rc == VDKIM_OK && i < pm->dec.nsigs; i++) {
		if (pm->info.now != NULL)
			pm->dec.specs[i].now = pm->info.now(pm->info.now_arg);
		rc = vdkim_signer_add(pm->signer, &pm->dec.specs[i],
		    &pm->err);
	}
	/* The host removes them before sending: they are not signed. */
	if (pm->dec.strip_x_dkim_options)
		header_fields_drop(&pm->hf, OPTIONS_NAME, OPTIONS_LEN);
	if (rc == VDKIM_OK)
		rc = signer_take_header(pm->signer, &pm->hf, &pm->err);
	if (rc == VDKIM_OK)
		rc = vdkim_signer_eoh(pm->signer, &pm->err);
	return rc;
}

/* The header has ended: decide on it, and start signing on SIGN. */
static vdkim_rc
end_header(policy_message *pm)
{
	vdkim_header *hdrs;
	time_t now;
	vdkim_rc rc;

	pm->in_body = 1;
	/* The decision reads the stored fields in place. */
	hdrs = calloc(pm->hf.n + 1, sizeof(*hdrs));
	if (hdrs == NULL)
		return vdkim_fail(&pm->err, VDKIM_ENOMEM, "out of memory");
	for (size_t i = 0; i < pm->hf.n; i++) {
		hdrs[i].field = header_fields_text(&pm->hf, i);
		hdrs[i].len = pm->hf.f[i].len;
	}
	now = pm->info.now != NULL ? pm->info.now(pm->info.now_arg) :
	    time(NULL);
	rc = vdkim_policy_decide(pm->policy, &pm->env, hdrs, pm->hf.n,
	    pm->info.decide_at ? pm->info.decide_at : now, &pm->dec,
	    &pm->err);
	free(hdrs);
	if (rc != VDKIM_OK)
		return rc;
	pm->decided = 1;
	if (pm->dec.verdict != VDKIM_VERDICT_SIGN || pm->info.decide_only)
		return VDKIM_OK;
	return start_signer(pm);
}

static vdkim_rc
body_bytes(policy_message *pm, const void *data, size_t len)
{
	return pm->signer != NULL ? vdkim_signer_body(pm->signer, data, len,
	    &pm->err) : VDKIM_OK;
}

/* The splitter's consumer; its err is pm->err. */
static vdkim_rc
on_header(void *ctx, const char *field, size_t len, vdkim_error *err)
{
	(void)err;
	return add_field(ctx, field, len);
}

static vdkim_rc
on_eoh(void *ctx, vdkim_error *err)
{
	(void)err;
	return end_header(ctx);
}

static vdkim_rc
on_body(void *ctx, const void *data, size_t len, vdkim_error *err)
{
	(void)err;
	return body_bytes(ctx, data, len);
}

static const msg_split_ops split_ops = { on_header, on_eoh, on_body };

/* ------------------------------------------------------------ feeding */

vdkim_rc
policy_message_new(policy_message **out, vdkim_policy *p,
    const policy_message_info *info, vdkim_error *err)
{
	policy_message *pm;

	if (out == NULL || p == NULL || info == NULL || info->env == NULL ||
	    info->env->size != sizeof(vdkim_envelope))
		return vdkim_fail(err, VDKIM_EINVAL, "a message needs a "
		    "policy and an envelope with its size set");
	pm = calloc(1, sizeof(*pm));
	if (pm == NULL)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	pm->policy = vdkim_policy_ref(p);
	pm->env = *info->env;
	pm->info = *info;
	pm->info.env = &pm->env;
	header_fields_init(&pm->hf);
	msg_split_init(&pm->split, &split_ops, pm);
	vdkim_error_clear(&pm->err);
	vdkim_error_clear(&pm->self_check);
	*out = pm;
	return VDKIM_OK;
}

vdkim_rc
policy_message_chunk(policy_message *pm, const void *data, size_t len)
{
	vdkim_rc rc = feed_as(pm, FEED_CHUNKS, "policy_message_chunk");

	if (rc != VDKIM_OK)
		return rc;
	return failed(pm, msg_split_feed(&pm->split, data, len, &pm->err));
}

vdkim_rc
policy_message_header(policy_message *pm, const char *field, size_t len)
{
	vdkim_rc rc = feed_as(pm, FEED_FIELDS, "policy_message_header");

	if (rc == VDKIM_OK && pm->in_body)
		rc = failed(pm, vdkim_fail(&pm->err, VDKIM_ESTATE,
		    "policy_message_header called after the header ended"));
	return rc != VDKIM_OK ? rc : failed(pm, add_field(pm, field, len));
}

vdkim_rc
policy_message_eoh(policy_message *pm)
{
	vdkim_rc rc = feed_as(pm, FEED_FIELDS, "policy_message_eoh");

	if (rc == VDKIM_OK && pm->in_body)
		rc = failed(pm, vdkim_fail(&pm->err, VDKIM_ESTATE,
		    "the end of the header was given twice"));
	return rc != VDKIM_OK ? rc : failed(pm, end_header(pm));
}

vdkim_rc
policy_message_body(policy_message *pm, const void *data, size_t len)
{
	vdkim_rc rc = feed_as(pm, FEED_FIELDS, "policy_message_body");

	if (rc == VDKIM_OK && !pm->in_body)
		rc = failed(pm, vdkim_fail(&pm->err, VDKIM_ESTATE,
		    "policy_message_body called before the header ended"));
	return rc != VDKIM_OK ? rc : failed(pm, body_bytes(pm, data, len));
}

/* ---------------------------------------------------------------- end */

/* Joins the signer's fields into the one text to prepend. */
static vdkim_rc
collect_signatures(policy_message *pm)
{
	strbuf sb;

	sb_init(&sb);
	for (size_t i = 0; i < vdkim_signer_count(pm->signer); i++) {
		size_t len;
		const char *h = vdkim_signer_result(pm->signer, i, &len);

		sb_add(&sb, h, len);
	}
	pm->sigs_len = sb.len;
	pm->sigs = sb_take(&sb);
	if (pm->sigs == NULL)
		return vdkim_fail(&pm->err, VDKIM_ENOMEM, "out of memory");
	return VDKIM_OK;
}

/*
 * The signer dropped a signature whose self-check failed: each dropped
 * one is made again with its device key's software fallback, if it has
 * one (domain-key-fallback).  VDKIM_OK when every one was; else the
 * failure stands (pm->err), and no signature leaves: the message is
 * unsigned, or deferred under dkim-require.
 */
static vdkim_rc
after_self_check(policy_message *pm)
{
	vdkim_rc rc = VDKIM_OK;

	pm->self_check = pm->err;
	for (size_t i = 0; rc == VDKIM_OK && i < pm->dec.nsigs; i++) {
		vdkim_key *fb;

		if (vdkim_signer_result(pm->signer, i, NULL) != NULL)
			continue;
		fb = key_device_fallback(pm->dec.specs[i].key);
		rc = fb == NULL ? VDKIM_ESELFCHECK :
		    signer_remake(pm->signer, i, fb, &pm->err);
	}
	if (rc != VDKIM_OK) {
		if (rc == VDKIM_ESELFCHECK)
			pm->err = pm->self_check; /* the first fault */
		vdkim_error_clear(&pm->self_check);
		return rc;
	}
	snprintf(pm->self_check.msg + strlen(pm->self_check.msg),
	    sizeof(pm->self_check.msg) - strlen(pm->self_check.msg),
	    "; signed with the fallback key instead");
	return VDKIM_OK;
}

vdkim_rc
policy_message_eom(policy_message *pm)
{
	if (pm->ended)
		return pm->failed ? pm->err.rc : pm->sign_rc;
	pm->ended = 1;
	if (!pm->failed && pm->feed == FEED_CHUNKS)
		failed(pm, msg_split_finish(&pm->split, &pm->err));
	else if (!pm->failed && !pm->in_body)
		failed(pm, end_header(pm)); /* fields, and no eoh: no body */
	if (pm->failed)
		return pm->err.rc;
	if (pm->signer != NULL) {
		pm->sign_rc = vdkim_signer_eom(pm->signer, &pm->err);
		if (pm->sign_rc == VDKIM_ESELFCHECK)
			pm->sign_rc = after_self_check(pm);
		if (pm->sign_rc == VDKIM_OK)
			pm->sign_rc = collect_signatures(pm);
	}
	return pm->sign_rc;
}

/* ------------------------------------------------------------ answers */

int
policy_message_decided(const policy_message *pm)
{
	return pm->decided;
}

const vdkim_decision *
policy_message_decision(const policy_message *pm)
{
	return pm->decided ? &pm->dec : NULL;
}

const char *
policy_message_error(const policy_message *pm)
{
	return pm->err.msg;
}

/* A device's own code ("device-unavailable", ...), a failed self-check
 * ("signature-self-check-failed"), else signing-failed. */
static const char *
failure_code(vdkim_rc rc)
{
	return (rc >= VDKIM_EDEV_UNAVAILABLE && rc <= VDKIM_EDEV_ERROR) ||
	    rc == VDKIM_ESELFCHECK ? vdkim_rc_name(rc) : "signing-failed";
}

void
policy_message_outcome(const policy_message *pm, policy_outcome *out)
{
	memset(out, 0, sizeof(*out));
	if (pm->failed || !pm->decided) {
		/* A header the engine cannot read: refuse it at the door,
		 * let a queued one go on unsigned (it will never improve). */
		out->action = pm->info.hook == POLICY_HOOK_PRE_QUEUE ?
		    POLICY_ACTION_REJECT : POLICY_ACTION_CONTINUE;
		out->reason_code = vdkim_why_name(VDKIM_WHY_BAD_MESSAGE);
		out->reason = pm->err.msg[0] ? pm->err.msg :
		    "the message has no header";
	} else if (pm->sign_rc != VDKIM_OK) {
		/* The signatures could not be made (or joined). */
		out->action = pm->dec.require ? POLICY_ACTION_DEFER :
		    POLICY_ACTION_CONTINUE;
		out->reason_code = failure_code(pm->sign_rc);
		out->reason = pm->err.msg[0] ? pm->err.msg : "out of memory";
	} else {
		out->action = pm->dec.verdict == VDKIM_VERDICT_DEFER ?
		    POLICY_ACTION_DEFER : POLICY_ACTION_CONTINUE;
		out->nsigned = vdkim_signer_count(pm->signer);
		out->reason_code = vdkim_why_name(pm->dec.why);
		out->reason = pm->dec.detail;
		if (pm->self_check.rc != VDKIM_OK) {
			/* Signed, by the fallback: the fault is still news. */
			out->reason_code = vdkim_rc_name(pm->self_check.rc);
			out->reason = pm->self_check.msg;
		}
	}
}

const char *
policy_message_signatures(const policy_message *pm, size_t *len)
{
	if (len != NULL)
		*len = pm->sigs != NULL ? pm->sigs_len : 0;
	return pm->sigs != NULL ? pm->sigs : "";
}

const char *
policy_message_final_eol(const policy_message *pm)
{
	if (pm->sigs == NULL || !vdkim_signer_added_final_eol(pm->signer))
		return "";
	return vdkim_signer_eol(pm->signer);
}

int
policy_message_strip(const policy_message *pm)
{
	return pm->decided ? pm->dec.strip_x_dkim_options : pm->noptions > 0;
}

size_t
policy_message_removed_count(const policy_message *pm)
{
	return policy_message_strip(pm) ? pm->noptions : 0;
}

void
policy_message_removed(const policy_message *pm, size_t k, size_t *offset,
    size_t *len)
{
	*offset = pm->options[k].off;
	*len = pm->options[k].len;
}

int
policy_message_has_field(const policy_message *pm, const char *name)
{
	return header_fields_count(&pm->hf, name, strlen(name)) > 0;
}

void
policy_message_free(policy_message *pm)
{
	if (pm == NULL)
		return;
	vdkim_signer_free(pm->signer);
	msg_split_free(&pm->split);
	header_fields_free(&pm->hf);
	free(pm->options);
	free(pm->sigs);
	vdkim_policy_unref(pm->policy);
	free(pm);
}
