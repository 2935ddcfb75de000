/*
 * session.c - a connection's messages through vdkim.so's pre-queue hook.
 *
 * libmilter hands a message over in pieces: envelope, one header field at
 * a time, end of header, body chunks, end of message.  The header is kept
 * (bounded by max-header-size) until its end, because the VMTA may come
 * from an X-Virtual-MTA field anywhere in it; then the message is begun in
 * the module, the header fed as it was received, and the body streamed
 * chunk by chunk, never held.  At end of message the module's signatures
 * go on top, in their order, and X-DKIM-Options / X-Virtual-MTA go away.
 *
 * Header bytes: Postfix and Sendmail pass a field as name and value, the
 * value's folded lines joined by a bare LF, and (unless the milter asks
 * for SMFIP_HDR_LEADSPC) without the one space after the colon.  We ask
 * for it, so "Name:" + value + CRLF, with each LF made CRLF, are the bytes
 * the MTA keeps and the receiver will hash.  Postfix also drops white
 * space between a name and its colon, which relaxed header
 * canonicalization ignores anyway.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "session.h"
#include "strbuf.h"

/* The program's state; bound by session_filter() before smfi_main. */
static milter_app *app;

typedef struct session {
	int leadspc;              /* the MTA keeps the value's leading space */
	unsigned long noreply;    /* SMFIP_NR_* the MTA agreed to */
	milter_config *cfg;       /* held settings (refs), renewed per message */
	char *conn_source;        /* the VMTA macro as smtpd sent it */
	/* The message under way. */
	char *mail_from;          /* NULL: the null sender */
	char *rcpt_domain;        /* the first recipient's */
	strbuf header;            /* fields until end of header, CRLF ends */
	char *x_vmta;             /* the first X-Virtual-MTA value */
	unsigned n_options;       /* X-DKIM-Options fields seen */
	unsigned n_x_vmta;        /* X-Virtual-MTA fields seen */
	int too_large;            /* the header passed max-header-size */
	int failed;               /* out of memory before end of message */
	int malformed;            /* a field that is not one header field */
	int started;              /* begin was tried (vm NULL: it failed) */
	vdkim_msg *vm;
	int fed_up;               /* msg_chunk said the rest is pointless */
	char vmta_how[16];        /* "vmta-map", "default", ... */
	char *vmta;               /* the VMTA chosen, NULL: "default" */
	char *source;             /* the macro's value */
} session;

/* --------------------------------------------------------- lifecycle */

/* The current settings, held; NULL never (the app always has some). */
static milter_config *
config_hold(void)
{
	milter_config *c;

	pthread_mutex_lock(&app->lock);
	c = app->cfg;
	c->refs++;
	pthread_mutex_unlock(&app->lock);
	return c;
}

static void
config_release(milter_config *c)
{
	int last;

	if (c == NULL)
		return;
	pthread_mutex_lock(&app->lock);
	last = --c->refs == 0 && c != app->cfg;
	pthread_mutex_unlock(&app->lock);
	if (last)
		milter_config_free(c);
}

void
session_config_swap(milter_app *a, milter_config *cfg)
{
	milter_config *old;
	int unused;

	pthread_mutex_lock(&a->lock);
	old = a->cfg;
	a->cfg = cfg;
	unused = old->refs == 0;
	pthread_mutex_unlock(&a->lock);
	if (unused)
		milter_config_free(old);
}

/* At a message's start: the settings in force now. */
static void
config_renew(session *s)
{
	milter_config *c = config_hold();

	config_release(s->cfg);
	s->cfg = c;
}

static void
message_clear(session *s)
{
	if (s->vm != NULL)
		app->module->api->msg_free(s->vm);
	free(s->mail_from);
	free(s->rcpt_domain);
	free(s->x_vmta);
	free(s->vmta);
	free(s->source);
	sb_free(&s->header);
	memset((char *)s + offsetof(session, mail_from), 0,
	    sizeof(*s) - offsetof(session, mail_from));
}

/* The connection's session, made at its first callback. */
static session *
session_of(SMFICTX *ctx)
{
	session *s = smfi_getpriv(ctx);

	if (s != NULL)
		return s;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    smfi_setpriv(ctx, s) != MI_SUCCESS) {
		free(s);
		log_msg(HLOG_ERR, "out of memory for a new connection");
		return NULL;
	}
	pthread_mutex_lock(&app->lock);
	app->open_sessions++;
	pthread_mutex_unlock(&app->lock);
	s->cfg = config_hold();
	return s;
}

static sfsistat
on_close(SMFICTX *ctx)
{
	session *s = smfi_getpriv(ctx);

	if (s == NULL)
		return SMFIS_CONTINUE;
	message_clear(s);
	free(s->conn_source);
	config_release(s->cfg);
	free(s);
	smfi_setpriv(ctx, NULL);
	pthread_mutex_lock(&app->lock);
	if (--app->open_sessions == 0)
		pthread_cond_broadcast(&app->idle);
	pthread_mutex_unlock(&app->lock);
	return SMFIS_CONTINUE;
}

int
session_wait_idle(milter_app *a, int seconds)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	pthread_mutex_lock(&a->lock);
	while (a->open_sessions > 0 && rc == 0)
		rc = pthread_cond_timedwait(&a->idle, &a->lock, &until);
	rc = a->open_sessions > 0 ? -1 : 0;
	pthread_mutex_unlock(&a->lock);
	return rc;
}

/* Callbacks before end of message never refuse a message: there is
 * nothing to lose by waiting for its end.  So the MTA is told not to wait
 * for their replies (SMFIP_NR_*), when it can: one round trip per header
 * field, recipient and body chunk less, a write and a wake-up on each
 * side.  A failure among them (out of memory) is kept in s->failed and
 * answered at end of message. */
#define NOREPLY_STEPS (SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR | \
    SMFIP_NR_EOH | SMFIP_NR_BODY)

/* SMFIS_NOREPLY when the MTA agreed to no reply for this step. */
static sfsistat
go_on(const session *s, unsigned long step)
{
	return (s->noreply & step) != 0 ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* What the milter needs from the MTA: header edits and the exact header
 * bytes.  (The VMTA macro is not asked for at end of header: there
 * Postfix's cleanup server answers, whose {daemon_name} is its own, not
 * the smtpd's that -o milter_macro_daemon_name named.) */
static sfsistat
on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	const unsigned long need = SMFIF_ADDHDRS | SMFIF_CHGHDRS;
	const unsigned long unused = SMFIP_NOHELO | SMFIP_NOUNKNOWN |
	    SMFIP_NODATA;
	session *s = session_of(ctx);

	(void)f2;
	(void)f3;
	if (s == NULL)
		return SMFIS_TEMPFAIL;
	if ((f0 & need) != need) {
		log_msg(HLOG_ERR, "the MTA does not let milters add and change "
		    "header fields (offered actions 0x%lx): cannot sign", f0);
		return SMFIS_REJECT;
	}
	*pf0 = need;
	*pf1 = (f1 & unused) | (f1 & SMFIP_HDR_LEADSPC) | (f1 & NOREPLY_STEPS);
	*pf2 = 0;
	*pf3 = 0;
	s->leadspc = (f1 & SMFIP_HDR_LEADSPC) != 0;
	s->noreply = f1 & NOREPLY_STEPS;
	return SMFIS_CONTINUE;
}

/* The macro's value, copied, or NULL (also when out of memory). */
static char *
macro_value(SMFICTX *ctx, const char *macro)
{
	const char *v = smfi_getsymval(ctx, (char *)macro);

	return v != NULL ? strdup(v) : NULL;
}

/* The VMTA macro, read where smtpd sends it: at connect (Postfix's
 * milter_connect_macros has {daemon_name}), or at MAIL FROM for a macro
 * sent only there; the latest value wins. */
static void
note_source(SMFICTX *ctx, session *s)
{
	char *v = macro_value(ctx, s->cfg->vmta_macro);

	if (v != NULL) {
		free(s->conn_source);
		s->conn_source = v;
	}
}

static sfsistat
on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	session *s = session_of(ctx);

	(void)host;
	(void)addr;
	if (s == NULL)
		return SMFIS_TEMPFAIL;
	note_source(ctx, s);
	return SMFIS_CONTINUE;
}

/* ---------------------------------------------------------- envelope */

static sfsistat
on_envfrom(SMFICTX *ctx, char **argv)
{
	session *s = session_of(ctx);
	const char *a = argv[0] != NULL ? argv[0] : "";
	size_t n;

	if (s == NULL)
		return SMFIS_TEMPFAIL;
	message_clear(s);
	config_renew(s);
	note_source(ctx, s);
	a += a[0] == '<';
	n = strcspn(a, ">");
	if (n > 0 && (s->mail_from = strndup(a, n)) == NULL)
		s->failed = 1;
	return go_on(s, SMFIP_NR_MAIL);
}

static sfsistat
on_envrcpt(SMFICTX *ctx, char **argv)
{
	session *s = session_of(ctx);
	const char *at = argv[0] != NULL ? strrchr(argv[0], '@') : NULL;

	if (s == NULL)
		return SMFIS_TEMPFAIL;
	if (s->rcpt_domain == NULL && at != NULL) {
		s->rcpt_domain = strndup(at + 1, strcspn(at + 1, ">"));
		if (s->rcpt_domain == NULL)
			s->failed = 1;
	}
	return go_on(s, SMFIP_NR_RCPT);
}

/* ------------------------------------------------------------ header */

/* name ":" value CRLF, the value's bare LFs made CRLF. */
static void
add_field(strbuf *sb, const char *name, const char *value, int leadspc)
{
	sb_adds(sb, name);
	sb_adds(sb, leadspc ? ":" : ": ");
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\n' && (p == value || p[-1] != '\r'))
			sb_add(sb, "\r", 1);
		sb_add(sb, p, 1);
	}
	sb_add(sb, "\r\n", 2);
}

/*
 * 1 when name and value make one header field: a name of printable
 * characters without ":" (RFC 5322 2.2), a value whose every line break
 * is followed by white space (a folded line).  A value with an empty or
 * unfolded line would, as the MTA keeps it, end the header there or start
 * a field of its own: the module would sign another message than the one
 * the MTA sends.  No MTA hands over such a field; a broken one is refused.
 */
static int
field_is_one(const char *name, const char *value)
{
	if (*name == '\0')
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 33 || *p > 126 || *p == ':')
			return 0;
	for (const char *p = value; *p; p++)
		if (*p == '\n' && p[1] != ' ' && p[1] != '\t')
			return 0;
	return 1;
}

static sfsistat
on_header(SMFICTX *ctx, char *name, char *value)
{
	session *s = session_of(ctx);

	if (s == NULL)
		return SMFIS_TEMPFAIL;
	if (s->too_large || s->malformed || s->started)
		return go_on(s, SMFIP_NR_HDR);
	if (!field_is_one(name, value)) {
		s->malformed = 1;
		sb_free(&s->header);
		return go_on(s, SMFIP_NR_HDR);
	}
	if (strcasecmp(name, "X-Virtual-MTA") == 0) {
		/* Chosen here, once, and never passed on (nor signed). */
		s->n_x_vmta++;
		if (s->x_vmta == NULL &&
		    (s->x_vmta = strdup(value + strspn(value, " \t"))) == NULL)
			s->failed = 1;
		return go_on(s, SMFIP_NR_HDR);
	}
	if (strcasecmp(name, "X-DKIM-Options") == 0)
		s->n_options++;
	if (s->header.len + strlen(name) + 2 * strlen(value) + 4 >
	    s->cfg->max_header_size) {
		s->too_large = 1;
		sb_free(&s->header);
		return go_on(s, SMFIP_NR_HDR);
	}
	add_field(&s->header, name, value, s->leadspc);
	if (s->header.failed)
		s->failed = 1;
	return go_on(s, SMFIP_NR_HDR);
}

/* Begins the message in the module and feeds it the header (once). */
static void
start_message(SMFICTX *ctx, session *s)
{
	const module_link *m = app->module;
	vdkim_msg_info info;
	const char *how, *vmta;
	char err[512] = "";

	if (s->started || s->too_large || s->malformed)
		return;
	s->started = 1;
	s->source = s->conn_source != NULL ? strdup(s->conn_source) :
	    macro_value(ctx, s->cfg->vmta_macro);
	vmta = milter_config_vmta(s->cfg, s->source, s->x_vmta, &how);
	snprintf(s->vmta_how, sizeof(s->vmta_how), "%s", how);
	if (vmta != NULL && (s->vmta = strdup(vmta)) == NULL)
		return;
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.vmta = s->vmta;
	info.source = s->source != NULL ? s->source : "milter";
	info.mail_from = s->mail_from;
	info.rcpt_domain = s->rcpt_domain;
	info.queue_id = smfi_getsymval(ctx, "i");
	if (m->api->msg_begin(m->inst, VDKIM_HOOK_PRE_QUEUE, &info, &s->vm,
	    err, sizeof(err)) != 0) {
		s->vm = NULL;
		log_msg(HLOG_ERR, "%s: the module cannot take the message: %s",
		    info.queue_id != NULL ? info.queue_id : "-",
		    err[0] != '\0' ? err : "(no reason)");
		return;
	}
	s->fed_up = m->api->msg_chunk(s->vm, s->header.s != NULL ?
	    s->header.s : "", s->header.len) != 0 ||
	    m->api->msg_chunk(s->vm, "\r\n", 2) != 0;
	sb_free(&s->header);
}

static sfsistat
on_eoh(SMFICTX *ctx)
{
	session *s = session_of(ctx);

	if (s == NULL)
		return SMFIS_TEMPFAIL;
	start_message(ctx, s);
	return go_on(s, SMFIP_NR_EOH);
}

static sfsistat
on_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	session *s = session_of(ctx);

	if (s == NULL)
		return SMFIS_TEMPFAIL;
	start_message(ctx, s);
	if (s->vm != NULL && !s->fed_up)
		s->fed_up = app->module->api->msg_chunk(s->vm, data, len) != 0;
	return go_on(s, SMFIP_NR_BODY);
}

/* ------------------------------------------------------------ answer */

/* Sets the SMTP reply from the module's "451 4.7.5 text"; a reply of the
 * wrong class, or none, gets fallback's code and the reason. */
static void
set_reply(SMFICTX *ctx, const char *reply, const char *fallback,
    const char *reason)
{
	char code[4], xcode[16], text[512];
	const char *p = reply != NULL ? reply : "";
	size_t n;

	if (strlen(p) < 4 || p[0] != fallback[0] || p[3] != ' ') {
		/* fallback is "451 4.3.0" or alike */
		snprintf(text, sizeof(text), "%s DKIM: %s", fallback,
		    reason != NULL ? reason : "no reason given");
		p = text;
	}
	memcpy(code, p, 3);
	code[3] = '\0';
	p += 4;
	n = strcspn(p, " ");
	snprintf(xcode, sizeof(xcode), "%.*s", (int)n, p);
	if (n == 0 || n >= sizeof(xcode) || xcode[0] != code[0])
		snprintf(xcode, sizeof(xcode), "%c.0.0", code[0]);
	else
		p += n;
	p += strspn(p, " ");
	/* One printable line; libmilter's MTAs treat '%' specially. */
	n = 0;
	for (; *p != '\0' && *p != '\r' && *p != '\n' &&
	    n + 1 < sizeof(text); p++)
		text[n++] = (*p >= ' ' && *p < 127 && *p != '%') ? *p : '_';
	text[n] = '\0';
	if (smfi_setreply(ctx, code, xcode, text) != MI_SUCCESS)
		log_msg(HLOG_WARNING, "the MTA refused the reply \"%s %s %s\"",
		    code, xcode, text);
}

/* Removes every field called name (count of them), last first, so that
 * the indexes of the ones still to go do not move. */
static int
remove_fields(SMFICTX *ctx, const char *name, unsigned count)
{
	for (unsigned i = count; i > 0; i--)
		if (smfi_chgheader(ctx, (char *)name, (int)i, NULL) !=
		    MI_SUCCESS)
			return -1;
	return 0;
}

/*
 * Puts add_headers (fields with CRLF ends) on top of the message in
 * their order: each is inserted at index 0, the last first.  The MTA
 * stores folded lines with bare LFs; with SMFIP_HDR_LEADSPC it writes
 * "name:" + value as given, otherwise it adds the space itself.
 */
static int
insert_fields(SMFICTX *ctx, const char *h, size_t len, int leadspc)
{
	char *name, *value;
	size_t start, end, w;

	if (len == 0)
		return 0;
	/* The last field starts after the last CRLF not followed by WSP. */
	end = len;
	start = end;
	while (start > 0) {
		start--;
		if (start > 0 && h[start - 1] == '\n' && h[start] != ' ' &&
		    h[start] != '\t')
			break;
	}
	name = strndup(h + start, end - start);
	if (name == NULL || (value = strchr(name, ':')) == NULL) {
		free(name);
		return -1;
	}
	*value++ = '\0';
	if (!leadspc && *value == ' ')
		value++;
	for (size_t r = w = 0; value[r] != '\0'; r++)
		if (value[r] != '\r')
			value[w++] = value[r];
	while (w > 0 && value[w - 1] == '\n')
		w--;
	value[w] = '\0';
	if (smfi_insheader(ctx, 0, name, value) != MI_SUCCESS) {
		free(name);
		return -1;
	}
	free(name);
	return insert_fields(ctx, h, start, leadspc);
}

static const char *
action_name(int action)
{
	return action == VDKIM_ACTION_CONTINUE ? "continue" :
	    action == VDKIM_ACTION_DEFER ? "defer" : "reject";
}

/* Applies the module's answer; SMFIS_CONTINUE or the refusal. */
static sfsistat
apply(SMFICTX *ctx, session *s, const vdkim_hook_result *r)
{
	if (r->action == VDKIM_ACTION_DEFER) {
		set_reply(ctx, r->smtp_reply, "451 4.7.5", r->reason);
		return SMFIS_TEMPFAIL;
	}
	if (r->action == VDKIM_ACTION_REJECT) {
		set_reply(ctx, r->smtp_reply, "550 5.6.0", r->reason);
		return SMFIS_REJECT;
	}
	if ((r->strip_x_dkim_options &&
	    remove_fields(ctx, "X-DKIM-Options", s->n_options) != 0) ||
	    remove_fields(ctx, "X-Virtual-MTA", s->n_x_vmta) != 0 ||
	    insert_fields(ctx, r->add_headers != NULL ? r->add_headers : "",
	    r->add_headers != NULL ? r->add_headers_len : 0, s->leadspc) != 0) {
		log_msg(HLOG_ERR, "the MTA refused a header change: the "
		    "message is deferred");
		set_reply(ctx, NULL, "451 4.3.0", "the MTA refused to add the "
		    "signature");
		return SMFIS_TEMPFAIL;
	}
	return SMFIS_CONTINUE;
}

static sfsistat
on_eom(SMFICTX *ctx)
{
	session *s = session_of(ctx);
	vdkim_hook_result r;
	const char *qid = smfi_getsymval(ctx, "i");
	sfsistat rc;

	if (s == NULL)
		return SMFIS_TEMPFAIL;
	qid = qid != NULL ? qid : "-";
	start_message(ctx, s);
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	if (s->failed) {
		log_msg(HLOG_ERR, "%s: out of memory while the message came "
		    "in: deferred (module-error)", qid);
		set_reply(ctx, NULL, "451 4.3.0", "out of memory; try again "
		    "later");
		rc = SMFIS_TEMPFAIL;
	} else if (s->too_large) {
		log_msg(HLOG_INFO, "%s: header over max-header-size (%zu "
		    "bytes): rejected", qid, s->cfg->max_header_size);
		set_reply(ctx, "552 5.3.4 Message header too large", "552",
		    NULL);
		rc = SMFIS_REJECT;
	} else if (s->malformed) {
		log_msg(HLOG_INFO, "%s: a header field from the MTA is not "
		    "one field (an empty or unfolded line in its value, or a "
		    "bad name): rejected (bad-message)", qid);
		set_reply(ctx, "550 5.6.0 Malformed header field", "550",
		    NULL);
		rc = SMFIS_REJECT;
	} else if (s->vm == NULL || app->module->api->msg_end(s->vm, &r) != 0 ||
	    r.action < VDKIM_ACTION_CONTINUE || r.action > VDKIM_ACTION_REJECT) {
		log_msg(HLOG_ERR, "%s: no usable answer from the module: "
		    "deferred (module-error)", qid);
		set_reply(ctx, NULL, "451 4.3.0", "signing failed temporarily "
		    "(module-error); try again later");
		rc = SMFIS_TEMPFAIL;
	} else {
		rc = apply(ctx, s, &r);
		log_msg(HLOG_INFO, "%s: from=<%s> source=%s vmta=%s (%s) "
		    "action=%s signed=%d reason=%s%s%s", qid,
		    s->mail_from != NULL ? s->mail_from : "",
		    s->source != NULL ? s->source : "-",
		    s->vmta != NULL ? s->vmta : "default", s->vmta_how,
		    action_name(r.action), r.nsigned,
		    r.reason_code != NULL ? r.reason_code : "?",
		    r.signatures != NULL && r.signatures[0] ? " " : "",
		    r.signatures != NULL ? r.signatures : "");
	}
	message_clear(s);
	return rc;
}

static sfsistat
on_abort(SMFICTX *ctx)
{
	session *s = smfi_getpriv(ctx);

	if (s != NULL)
		message_clear(s);
	return SMFIS_CONTINUE;
}

struct smfiDesc *
session_filter(milter_app *a)
{
	static struct smfiDesc desc = {
		.xxfi_name = "vdkim-milter",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS,
		.xxfi_connect = on_connect,
		.xxfi_envfrom = on_envfrom,
		.xxfi_envrcpt = on_envrcpt,
		.xxfi_header = on_header,
		.xxfi_eoh = on_eoh,
		.xxfi_body = on_body,
		.xxfi_eom = on_eom,
		.xxfi_abort = on_abort,
		.xxfi_close = on_close,
		.xxfi_negotiate = on_negotiate,
	};

	app = a;
	return &desc;
}
