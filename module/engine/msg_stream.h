/*
 * msg_stream.h - what the signer and the verifier share in taking a
 * message in: the order of the calls (header fields, end of header, body
 * chunks, end of message; or raw bytes split into those), the body hashes,
 * and the splitter for raw input.
 *
 * The owner (signer or verifier) keeps its own header fields and its own
 * end-of-header and end-of-message work; msg_stream only says whether a
 * call comes in order, hashes the body, and remembers a failure: once a
 * call failed, every later one is refused.
 */
#ifndef VDKIM_MSG_STREAM_H
#define VDKIM_MSG_STREAM_H

#include "body_set.h"
#include "msg_split.h"

typedef enum msg_phase {
	MSG_NEW,      /* nothing of the message yet */
	MSG_HEADERS,  /* header fields coming */
	MSG_BODY,     /* after the end of the header */
	MSG_DONE,     /* the end of the message was handled */
	MSG_FAILED    /* a call failed: the message is given up */
} msg_phase;

/* Where raw input's header fields and end of header go: the owner's own
 * calls (body chunks go to msg_stream_body). */
typedef struct msg_stream_owner {
	vdkim_rc (*header)(void *owner, const char *field, size_t len,
	    vdkim_error *err);
	vdkim_rc (*eoh)(void *owner, vdkim_error *err);
	const char *body_call;  /* the owner's body call, for messages */
} msg_stream_owner;

typedef struct msg_stream {
	msg_phase phase;
	const char *who;    /* "signer" or "verifier", for messages */
	body_set bodies;
	msg_split split;    /* raw input (ops NULL until the first) */
	const msg_stream_owner *owner_ops;  /* with raw input */
	void *owner;
} msg_stream;

void msg_stream_init(msg_stream *m, const char *who);
void msg_stream_free(msg_stream *m);

/* Marks the message failed when rc is an error; returns rc. */
vdkim_rc msg_stream_track(msg_stream *m, vdkim_rc rc);
/* The refusal of call, made out of order or after a failure. */
vdkim_rc msg_stream_refuse(const msg_stream *m, const char *call,
    vdkim_error *err);

/* Before a header field: fails unless header fields may come now. */
vdkim_rc msg_stream_header_turn(msg_stream *m, const char *call,
    vdkim_error *err);
/* Before the owner's end-of-header work: fails unless the header is
 * being taken in; msg_stream_to_body then starts the body. */
vdkim_rc msg_stream_eoh_turn(const msg_stream *m, const char *call,
    vdkim_error *err);
void msg_stream_to_body(msg_stream *m);
/* A body chunk, hashed into every body hash. */
vdkim_rc msg_stream_body(msg_stream *m, const void *data, size_t len,
    const char *call, vdkim_error *err);
/*
 * Raw message bytes, split into the owner's header and end-of-header calls
 * (ops, with owner as their context) and body chunks.  Raw input is
 * refused once anything was given field by field.
 */
vdkim_rc msg_stream_feed(msg_stream *m, const msg_stream_owner *ops,
    void *owner, const void *data, size_t len, const char *call,
    vdkim_error *err);
/*
 * The end of the message: ends raw input, then finishes the body hashes.
 * The owner's end-of-message work follows, then msg_stream_done.
 */
vdkim_rc msg_stream_eom(msg_stream *m, const char *call, vdkim_error *err);
void msg_stream_done(msg_stream *m);

#endif
