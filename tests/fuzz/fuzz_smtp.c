/*
 * fuzz_smtp.c - the harness's SMTP server session (commands, PIPELINING,
 * DATA) and its DATA transparency codec, as the harness builds them
 * (harness/smtp_session.c, dot_codec.c, envelope.c; util only).
 *
 * Input: a chunking byte, then what a client sends.  The session runs as
 * the event loop runs it (input in the chosen pieces, output drained,
 * each message taken and answered).  Cross-checks: nothing but CR LF
 * line ends among the control bytes the server sends (a client's bytes
 * are never echoed raw); a message's HELO name and envelope hold no
 * control bytes; the data is CRLF text.  Then the codec: decoding what the
 * encoder made of the input gives the input with SMTP's line ends.
 */
#include <stdlib.h>
#include <string.h>

#include "dot_codec.h"
#include "fuzz_common.h"
#include "smtp_session.h"

static const session_limits limits = {
	.hostname = "mx.fuzz.example",
	.max_message_size = 65536,
	.max_recipients = 8,
	.max_line_length = 1000,
};

static void
check_text(const char *what, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		FUZZ_CHECK(*p >= 0x20 && *p != 0x7f,
		    "%s holds the control byte 0x%02x", what, *p);
}

static void
drain(smtp_session *s)
{
	size_t len;
	const char *out = smtp_session_output(s, &len);

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];

		FUZZ_CHECK(c >= 0x20 || (c == '\r' && i + 1 < len &&
		    out[i + 1] == '\n') || (c == '\n' && i > 0 &&
		    out[i - 1] == '\r'), "the server sends the byte 0x%02x "
		    "at %zu of its output", c, i);
	}
	FUZZ_CHECK(len == 0 || (len >= 2 && out[len - 2] == '\r' &&
	    out[len - 1] == '\n'), "the output does not end a line");
	smtp_session_output_sent(s, len);
}

static void
take(smtp_session *s)
{
	session_message m;

	memset(&m, 0, sizeof(m));
	smtp_session_take_message(s, &m);
	check_text("the HELO name", m.helo != NULL ? m.helo : "");
	check_text("MAIL FROM", m.env.mail_from != NULL ? m.env.mail_from :
	    "");
	for (size_t i = 0; i < m.env.nrcpts; i++)
		check_text("RCPT TO", m.env.rcpts[i]);
	FUZZ_CHECK(m.env.nrcpts >= 1 && m.env.nrcpts <= limits.max_recipients,
	    "a message for %zu recipients", m.env.nrcpts);
	FUZZ_CHECK(m.data.len <= limits.max_message_size,
	    "a message of %zu bytes", m.data.len);
	session_message_clear(&m);
	smtp_session_message_done(s, "250 2.0.0 queued as FUZZ");
}

static void
run_session(const uint8_t *in, size_t len, uint8_t seed)
{
	smtp_session *s = smtp_session_new(&limits);
	size_t off = 0, rounds = 0;
	fuzz_chunker c;

	if (s == NULL)
		return;
	fuzz_chunker_init(&c, seed);
	/* Each round moves input or output on; a bound catches a session
	 * that would spin. */
	while (!smtp_session_closed(s)) {
		enum session_step step;

		FUZZ_CHECK(++rounds < 4 * len + 64, "the session spins");
		drain(s);
		step = smtp_session_run(s);
		if (step == SESSION_MESSAGE) {
			take(s);
			continue;
		}
		drain(s);
		if (step == SESSION_CLOSE)
			break;
		if (off < len && smtp_session_wants_input(s)) {
			size_t avail = 0, n;
			char *space = smtp_session_input_space(s, &avail);

			if (avail == 0)
				continue;
			n = fuzz_chunk_next(&c, len - off);
			if (n > avail)
				n = avail;
			memcpy(space, in + off, n);
			smtp_session_input_added(s, n);
			off += n;
		} else if (!smtp_session_has_input(s) || off >= len) {
			/* The client has said all it had. */
			break;
		}
	}
	smtp_session_free(s);
}

static int
to_strbuf(void *ctx, const char *data, size_t len)
{
	sb_add((strbuf *)ctx, data, len);
	return 0;
}

/* What the encoder promises: LF alone made CRLF, a last line ended. */
static void
smtp_lines(const uint8_t *in, size_t len, strbuf *out)
{
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			sb_add(out, "\r", 1);
		sb_add(out, (const char *)in + i, 1);
	}
	if (len > 0 && in[len - 1] != '\n')
		sb_add(out, in[len - 1] == '\r' ? "\n" : "\r\n",
		    in[len - 1] == '\r' ? 1 : 2);
}

static void
codec_round_trip(const uint8_t *in, size_t len)
{
	strbuf wire, back, want;
	dot_encoder e;
	dot_decoder d;
	int done = 0;
	size_t used;

	sb_init(&wire);
	sb_init(&back);
	sb_init(&want);
	dot_encoder_init(&e, to_strbuf, &wire);
	FUZZ_CHECK(dot_encode(&e, (const char *)in, len) == 0 &&
	    dot_encode_end(&e) == 0, "the encoder failed");
	dot_decoder_init(&d, &back, (size_t)-1, (size_t)-1);
	used = dot_decode(&d, wire.s, wire.len, &done);
	FUZZ_CHECK(done && used == wire.len, "the decoder stopped at %zu of "
	    "%zu (done %d)", used, wire.len, done);
	smtp_lines(in, len, &want);
	FUZZ_CHECK(!back.failed && !want.failed, "out of memory");
	FUZZ_CHECK(back.len == want.len && (want.len == 0 ||
	    memcmp(back.s, want.s, want.len) == 0), "decode(encode(x)) differs from x: %zu bytes, "
	    "%zu expected", back.len, want.len);
	sb_free(&wire);
	sb_free(&back);
	sb_free(&want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	run_session(data + 1, size - 1, data[0]);
	codec_round_trip(data + 1, size - 1);
	return 0;
}
