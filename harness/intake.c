/*
 * intake.c - from a received message to a queued one.
 *
 * Recipients are grouped by domain and each group is queued as its own
 * message with its own queue id: the module decides per destination domain
 * (its "domain" blocks), so one decision, one signature set and one
 * delivery per domain is what keeps the policy exact.  All groups are
 * decided first, then stored, then committed with one fsync of the queue
 * folder; the 250 names every queue id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "intake.h"
#include "log.h"
#include "message_edit.h"

#define VMTA_MAX 256

/* One destination domain's share of the message. */
struct group {
	char id[SPOOL_ID_MAX];
	envelope env;
	strbuf received;          /* the Received: field for this copy */
	hook_outcome hook;     /* pre-queue only */
	int hooked;
	int stored;
};

/* The fields never passed on: the VMTA is chosen once, here. */
static const char *const drop_vmta[] = { "X-Virtual-MTA", NULL };
static const char *const drop_vmta_options[] = {
	"X-Virtual-MTA", "X-DKIM-Options", NULL
};

/* The VMTA for a message: its X-Virtual-MTA when the listener allows it,
 * else the listener's default, else the global one (NULL: none). */
static const char *
choose_vmta(const intake *in, const hc_listener *l, const strbuf *data,
    char *x_vmta, size_t xlen, const char *peer)
{
	int has = msg_field_value(data->s, data->len, "X-Virtual-MTA", x_vmta,
	    xlen) && x_vmta[0] != '\0';

	if (has && l->allow_x_virtual_mta)
		return x_vmta;
	if (has)
		log_msg(HLOG_INFO, "message from %s: X-Virtual-MTA \"%s\" "
		    "ignored: listener %s does not allow it "
		    "(allow-x-virtual-mta)", peer, x_vmta, l->name);
	if (l->default_vmta != NULL)
		return l->default_vmta;
	return in->cfg->default_vmta;
}

static void
add_received(strbuf *out, const intake *in, const session_message *m,
    const char *peer, const struct group *g)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	sb_addf(out, "Received: from %s (%s)\r\n\tby %s (vdkim-harness) "
	    "with ESMTP id %s", m->helo != NULL ? m->helo : "unknown", peer,
	    in->cfg->hostname, g->id);
	if (g->env.nrcpts == 1)
		sb_addf(out, "\r\n\tfor <%s>", g->env.rcpts[0]);
	sb_addf(out, "; %s\r\n", date);
}

/* Splits m's recipients into groups by domain (case-insensitive), in the
 * order they were given.  Returns the number of groups, or 0 when out of
 * memory. */
static size_t
make_groups(const session_message *m, struct group *groups)
{
	size_t n = 0;

	for (size_t i = 0; i < m->env.nrcpts; i++) {
		const char *d = address_domain(m->env.rcpts[i]);
		size_t g;

		for (g = 0; g < n; g++)
			if (strcasecmp(address_domain(groups[g].env.rcpts[0]),
			    d) == 0)
				break;
		if (g == n) {
			if (envelope_copy_header(&groups[n].env, &m->env) != 0)
				return 0;
			n++;
		}
		if (envelope_add_rcpt(&groups[g].env, m->env.rcpts[i]) != 0)
			return 0;
	}
	return n;
}

/* The message as it goes to the spool (and, pre-queue, to the hook):
 * the hook's fields if any, Received:, the message without the fields
 * that must not travel. */
static int
queued_form(seglist *sl, const struct group *g, const strbuf *data)
{
	int strip = g->hooked && g->hook.strip_x_dkim_options;

	if (g->hooked)
		seglist_add(sl, g->hook.add_headers, g->hook.add_headers_len);
	seglist_add(sl, g->received.s, g->received.len);
	return msg_add_without(sl, data->s, data->len,
	    strip ? drop_vmta_options : drop_vmta);
}

/* Runs the pre-queue hook on group g.  0 to go on, -1 when the module
 * defers or rejects (its reply is in reply). */
static int
pre_queue(const intake *in, struct group *g, const strbuf *data, char *reply,
    size_t replylen)
{
	vdkim_msg_info info;
	seglist sl;

	seglist_init(&sl);
	if (queued_form(&sl, g, data) != 0) {
		seglist_free(&sl);
		snprintf(reply, replylen, "451 4.3.0 Out of memory");
		return -1;
	}
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.vmta = g->env.vmta;
	info.source = g->env.source;
	info.mail_from = g->env.mail_from[0] != '\0' ? g->env.mail_from : NULL;
	info.rcpt_domain = address_domain(g->env.rcpts[0]);
	info.queue_id = g->id;
	module_host_run(in->module, VDKIM_HOOK_PRE_QUEUE, &info, &sl,
	    &g->hook);
	seglist_free(&sl);
	g->hooked = 1;
	if (g->hook.action != VDKIM_ACTION_CONTINUE) {
		snprintf(reply, replylen, "%s", g->hook.smtp_reply != NULL ?
		    g->hook.smtp_reply : "451 4.3.0 DKIM signing failed");
		log_msg(HLOG_INFO, "%s: %s at pre-queue (%s: %s): answered "
		    "\"%s\"", g->id, g->hook.action == VDKIM_ACTION_DEFER ?
		    "deferred" : "rejected", g->hook.reason_code,
		    g->hook.reason, reply);
		return -1;
	}
	/* Kept for the accounting lines at delivery. */
	g->env.signatures = strdup(g->hook.signatures);
	g->env.reason_code = strdup(g->hook.reason_code);
	g->env.reason = strdup(g->hook.reason);
	if (g->env.signatures == NULL || g->env.reason_code == NULL ||
	    g->env.reason == NULL) {
		snprintf(reply, replylen, "451 4.3.0 Out of memory");
		return -1;
	}
	return 0;
}

static int
store(const intake *in, struct group *g, const strbuf *data, char *err,
    size_t errlen)
{
	seglist sl;
	int rc;

	seglist_init(&sl);
	rc = queued_form(&sl, g, data);
	if (rc != 0)
		snprintf(err, errlen, "out of memory");
	else
		rc = spool_store(in->spool, g->id, &sl, &g->env, err, errlen);
	seglist_free(&sl);
	g->stored = rc == 0;
	return rc;
}

static void
log_accepted(const struct group *g, const hc_listener *l, const char *peer,
    const strbuf *data)
{
	const char *signing = !g->hooked ? "at delivery" :
	    g->hook.signatures[0] != '\0' ? g->hook.signatures :
	    g->hook.reason_code;

	log_msg(HLOG_INFO, "%s: queued from %s (listener %s, source %s): "
	    "<%s> to %zu recipient(s) at %s, %zu bytes, vmta %s, signing: %s",
	    g->id, peer, l->name, l->source, g->env.mail_from, g->env.nrcpts,
	    address_domain(g->env.rcpts[0]), data->len,
	    g->env.vmta != NULL ? g->env.vmta : "-", signing);
}

void
intake_message(const intake *in, const hc_listener *l, const char *peer,
    session_message *m, char *reply, size_t replylen)
{
	struct group *groups = calloc(m->env.nrcpts, sizeof(*groups));
	char x_vmta[VMTA_MAX], err[512];
	const char *vmta;
	size_t n = 0, i;
	strbuf ids = STRBUF_INIT;
	time_t now = time(NULL);

	if (groups == NULL || (n = make_groups(m, groups)) == 0) {
		snprintf(reply, replylen, "451 4.3.0 Out of memory");
		n = groups != NULL ? m->env.nrcpts : 0;
		goto done;
	}
	vmta = choose_vmta(in, l, &m->data, x_vmta, sizeof(x_vmta), peer);
	for (i = 0; i < n; i++) {
		struct group *g = &groups[i];
		spool_new_id(in->spool, g->id);
		g->env.vmta = vmta != NULL ? strdup(vmta) : NULL;
		g->env.source = strdup(l->source);
		g->env.queued = now;
		add_received(&g->received, in, m, peer, g);
		if ((vmta != NULL && g->env.vmta == NULL) ||
		    g->env.source == NULL || g->received.failed) {
			snprintf(reply, replylen, "451 4.3.0 Out of memory");
			goto done;
		}
		if (in->cfg->sign_at == SIGN_AT_PRE_QUEUE &&
		    pre_queue(in, g, &m->data, reply, replylen) != 0)
			goto done;
	}
	for (i = 0; i < n; i++) {
		if (store(in, &groups[i], &m->data, err, sizeof(err)) != 0)
			goto spool_failed;
		sb_addf(&ids, "%s%s", i > 0 ? " " : "", groups[i].id);
	}
	if (spool_commit(in->spool, err, sizeof(err)) != 0)
		goto spool_failed;
	/* Durable: from here on the message is ours to deliver. */
	for (i = 0; i < n; i++) {
		struct group *g = &groups[i];
		dq_item *it;

		log_accepted(g, l, peer, &m->data);
		g->stored = 0;
		it = dq_item_new(g->id, &g->env);
		if (it == NULL) {
			/* Stays in the spool: delivered after a restart. */
			log_msg(HLOG_ERR, "%s: out of memory: queued on disk "
			    "only, delivered after the next restart", g->id);
			continue;
		}
		it->due_ms = monotonic_ms();
		if (delivery_queue_push(in->queue, it) != 0) {
			log_msg(HLOG_ERR, "%s: out of memory: queued on disk "
			    "only, delivered after the next restart", g->id);
			dq_item_free(it);
		}
	}
	snprintf(reply, replylen, "250 2.0.0 Ok: queued as %s",
	    ids.failed ? groups[0].id : ids.s);
	goto done;
spool_failed:
	log_msg(HLOG_ERR, "cannot queue a message from %s: %s", peer, err);
	snprintf(reply, replylen, "451 4.3.0 Cannot queue the message now; "
	    "try again later");
done:
	for (i = 0; i < n; i++) {
		if (groups[i].stored)
			spool_discard(in->spool, groups[i].id);
		envelope_clear(&groups[i].env);
		sb_free(&groups[i].received);
		hook_outcome_clear(&groups[i].hook);
	}
	free(groups);
	sb_free(&ids);
}
