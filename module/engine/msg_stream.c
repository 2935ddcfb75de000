/*
 * msg_stream.c - the order of a message's calls and its body hashes, for
 * the signer and the verifier alike.
 */
#include <string.h>

#include "error.h"
#include "msg_stream.h"

void
msg_stream_init(msg_stream *m, const char *who)
{
	m->phase = MSG_NEW;
	m->who = who;
	body_set_init(&m->bodies);
	/* split.ops stays NULL until raw input comes (msg_stream_feed). */
	memset(&m->split, 0, sizeof(m->split));
}

void
msg_stream_free(msg_stream *m)
{
	body_set_free(&m->bodies);
	msg_split_free(&m->split);
}

vdkim_rc
msg_stream_track(msg_stream *m, vdkim_rc rc)
{
	if (rc != VDKIM_OK)
		m->phase = MSG_FAILED;
	return rc;
}

/*
 * Said to an operator, who sees these in a log or from vdkimctl: what is
 * wrong with the message's course, by where it stands, never the name of
 * the call (a host's programmer finds that from the phase; call is kept
 * for the debugger).
 */
vdkim_rc
msg_stream_refuse(const msg_stream *m, const char *call, vdkim_error *err)
{
	(void)call;
	switch (m->phase) {
	case MSG_FAILED:
		return vdkim_fail(err, VDKIM_ESTATE, "the %s has already "
		    "failed on this message: nothing more is taken for it",
		    m->who);
	case MSG_NEW:
		return vdkim_fail(err, VDKIM_ESTATE, "the message is empty "
		    "(no header)");
	case MSG_HEADERS:
		return vdkim_fail(err, VDKIM_ESTATE, "the message ended (or "
		    "its body began) before the end of its header was given");
	case MSG_BODY:
		return vdkim_fail(err, VDKIM_ESTATE, "a header field was given "
		    "after the body had begun");
	case MSG_DONE:
	default:
		return vdkim_fail(err, VDKIM_ESTATE, "the message has already "
		    "ended: nothing more is taken for it");
	}
}

vdkim_rc
msg_stream_header_turn(msg_stream *m, const char *call, vdkim_error *err)
{
	if (m->phase == MSG_NEW)
		m->phase = MSG_HEADERS;
	if (m->phase != MSG_HEADERS)
		return msg_stream_refuse(m, call, err);
	return VDKIM_OK;
}

vdkim_rc
msg_stream_eoh_turn(const msg_stream *m, const char *call, vdkim_error *err)
{
	if (m->phase != MSG_NEW && m->phase != MSG_HEADERS)
		return msg_stream_refuse(m, call, err);
	return VDKIM_OK;
}

void
msg_stream_to_body(msg_stream *m)
{
	m->phase = MSG_BODY;
}

vdkim_rc
msg_stream_body(msg_stream *m, const void *data, size_t len,
    const char *call, vdkim_error *err)
{
	if (m->phase != MSG_BODY)
		return msg_stream_refuse(m, call, err);
	if (body_set_update(&m->bodies, data, len) != 0)
		return msg_stream_track(m, vdkim_fail(err, VDKIM_ECRYPTO,
		    "hashing the body failed"));
	return VDKIM_OK;
}

/* The splitter's consumer: the owner's header calls, our body. */
static vdkim_rc
split_header(void *ctx, const char *field, size_t len, vdkim_error *err)
{
	msg_stream *m = ctx;

	return m->owner_ops->header(m->owner, field, len, err);
}

static vdkim_rc
split_eoh(void *ctx, vdkim_error *err)
{
	msg_stream *m = ctx;

	return m->owner_ops->eoh(m->owner, err);
}

static vdkim_rc
split_body(void *ctx, const void *data, size_t len, vdkim_error *err)
{
	msg_stream *m = ctx;

	return msg_stream_body(m, data, len, m->owner_ops->body_call, err);
}

static const msg_split_ops stream_split_ops = {
	split_header, split_eoh, split_body
};

vdkim_rc
msg_stream_feed(msg_stream *m, const msg_stream_owner *ops, void *owner,
    const void *data, size_t len, const char *call, vdkim_error *err)
{
	if (m->split.ops == NULL) {
		/* Raw input from the start, or not at all: the splitter
		 * cannot know where fields given one by one left off. */
		if (m->phase != MSG_NEW)
			return msg_stream_refuse(m, call, err);
		m->owner_ops = ops;
		m->owner = owner;
		msg_split_init(&m->split, &stream_split_ops, m);
	}
	return msg_stream_track(m, msg_split_feed(&m->split, data, len, err));
}

vdkim_rc
msg_stream_eom(msg_stream *m, const char *call, vdkim_error *err)
{
	vdkim_rc rc;

	if (m->split.ops != NULL && m->phase != MSG_FAILED) {
		rc = msg_stream_track(m, msg_split_finish(&m->split, err));
		if (rc != VDKIM_OK)
			return rc;
	}
	if (m->phase != MSG_BODY)
		return msg_stream_refuse(m, call, err);
	if (body_set_final(&m->bodies) != 0)
		return msg_stream_track(m, vdkim_fail(err, VDKIM_ECRYPTO,
		    "hashing the body failed"));
	return VDKIM_OK;
}

void
msg_stream_done(msg_stream *m)
{
	m->phase = MSG_DONE;
}
