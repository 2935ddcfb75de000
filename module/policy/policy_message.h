/*
 * policy_message.h - one message's path through the policy, for every
 * host: the header arrives, the policy decides, the signer is fed, the
 * X-DKIM-Options fields are marked for removal, and an answer comes out.
 *
 * The shape is libopendkim's streaming API:
 *
 *   policy_message_new(&pm, policy, &info)
 *   policy_message_chunk(pm, data, len)        raw message, any chunking
 *     or policy_message_header() per field, _eoh(), _body() ...
 *   policy_message_eom(pm)                     signs (may wait on a device)
 *   policy_message_outcome(pm, &out)           what to tell the MTA
 *   policy_message_signatures(pm, &len)        the fields to prepend
 *   policy_message_removed(pm, k, &off, &len)  the fields to take out
 *   policy_message_free(pm)
 *
 * The header is held (within the engine's limits: VDKIM_MAX_HEADER_BYTES,
 * VDKIM_MAX_HEADER_FIELDS) because the decision needs From:, Sender: and
 * X-DKIM-Options; the fields the policy reads are the fields the signer
 * signs: one copy, handed over at the end of the header.  Nothing of the
 * body is kept.
 *
 * A message belongs to one thread at a time (a batch may finish it in
 * another: policy_message_eom is the only call that may wait).  A call
 * that fails keeps its sentence (policy_message_error); every later call
 * but the queries answers with the same code.
 */
#ifndef VDKIM_POLICY_MESSAGE_H
#define VDKIM_POLICY_MESSAGE_H

#include <stddef.h>
#include <time.h>

#include "vdkim/dkim.h"
#include "vdkim/policy.h"

typedef struct policy_message policy_message;

/* Where the host runs the message; it decides only what a message the
 * engine cannot read gets: refused at the door, let go on once queued. */
typedef enum policy_hook {
	POLICY_HOOK_PRE_QUEUE,
	POLICY_HOOK_PRE_DELIVERY
} policy_hook;

typedef struct policy_message_info {
	/* The envelope, copied; its strings are borrowed and must outlive
	 * the message. */
	const vdkim_envelope *env;
	policy_hook hook;
	/* The clock read at the end of the header, for the decision and for
	 * t=.  NULL: time(NULL), and t= is the time of signing. */
	time_t (*now)(void *arg);
	void *now_arg;
	/* Not 0: the policy decides by this time instead (which rotating
	 * selector signs; vdkimctl --time).  t= stays the clock's. */
	time_t decide_at;
	/* Decide, make no signer: the header stays with the message for
	 * policy_message_has_field (vdkimctl explain). */
	int decide_only;
} policy_message_info;

/* What the host does with the message. */
typedef enum policy_action {
	POLICY_ACTION_CONTINUE, /* go on, with the signatures (maybe none) */
	POLICY_ACTION_DEFER,    /* a temporary failure (dkim-require) */
	POLICY_ACTION_REJECT    /* refuse it (an unreadable message at the
	                           door) */
} policy_action;

typedef struct policy_outcome {
	policy_action action;
	size_t nsigned;          /* signatures in policy_message_signatures */
	const char *reason_code; /* "ok", "no-key", "bad-message",
	                            "signing-failed", a device's code,
	                            "signature-self-check-failed" (then
	                            nsigned > 0 when the device key's
	                            fallback signed instead) ... */
	const char *reason;      /* a sentence; valid until _free */
} policy_outcome;

/* A new message on p (referenced until policy_message_free). */
vdkim_rc policy_message_new(policy_message **out, vdkim_policy *p,
    const policy_message_info *info, vdkim_error *err);

/* Raw message bytes (header, empty line, body), split anywhere. */
vdkim_rc policy_message_chunk(policy_message *pm, const void *data,
    size_t len);

/* Or field by field: "Name: value" with its continuation lines, with or
 * without its final line end; then the end of the header, then the body
 * (raw, line ends as in the message).  Not mixed with _chunk. */
vdkim_rc policy_message_header(policy_message *pm, const char *field,
    size_t len);
vdkim_rc policy_message_eoh(policy_message *pm);
vdkim_rc policy_message_body(policy_message *pm, const void *data,
    size_t len);

/*
 * The end of the message: ends the header if it never did (a message
 * without a body), then makes the signatures.  Runs once; later calls
 * answer as the first did.  VDKIM_OK also when the policy decided not to
 * sign; the first failure otherwise.
 */
vdkim_rc policy_message_eom(policy_message *pm);

/* 1 once the header has ended and the policy has decided. */
int policy_message_decided(const policy_message *pm);
/* The decision, or NULL before it. */
const vdkim_decision *policy_message_decision(const policy_message *pm);
/* The first failure's sentence ("" when none). */
const char *policy_message_error(const policy_message *pm);

/* After _eom: what to do, and why. */
void policy_message_outcome(const policy_message *pm, policy_outcome *out);
/* After _eom: the DKIM-Signature fields to prepend, in order, with the
 * message's line ends ("" when none; valid until _free). */
const char *policy_message_signatures(const policy_message *pm,
    size_t *len);
/* After _eom: the line end the host must append because the message
 * lacked a last one (the signature covers it, as SMTP adds it), or "". */
const char *policy_message_final_eol(const policy_message *pm);

/*
 * The X-DKIM-Options fields, which must not leave: 1 when the host removes
 * them (the decision says so, or no decision could be made and the header
 * has one).  policy_message_removed gives the k-th field to remove as the
 * offset and length (line end included) of its bytes in the header as
 * fed, for hosts that rewrite the message themselves; the count is 0 when
 * nothing is removed.
 */
int policy_message_strip(const policy_message *pm);
size_t policy_message_removed_count(const policy_message *pm);
void policy_message_removed(const policy_message *pm, size_t k,
    size_t *offset, size_t *len);

/* 1 when the header has a field named name; the header stays with the
 * message when no signer takes it (decide_only, or no SIGN verdict). */
int policy_message_has_field(const policy_message *pm, const char *name);

void policy_message_free(policy_message *pm);

#endif
