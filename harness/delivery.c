/*
 * delivery.c - delivery workers, retries and accounting.
 *
 * One attempt handles one queued message (one recipient domain; intake.c
 * splits by domain) and ends with a result per recipient: delivered,
 * deferred (retried with backoff) or failed (dropped, logged; no bounce).
 * The spool is updated before anything else happens to the message: the
 * recipients that are done leave its envelope, and a message with none
 * left leaves the spool.  Between the remote's 250 (or the Maildir's
 * rename) and that update lies the at-least-once window: a crash there
 * delivers those recipients again after the restart.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "delivery.h"
#include "log.h"
#include "maildir.h"
#include "message_edit.h"
#include "sign_batch.h"
#include "smtp_client.h"

/* A kept connection idle longer than this is closed rather than reused
 * (the smarthost may have timed it out). */
#define IDLE_REUSE_MS 10000

enum rcpt_status { R_DELIVERED, R_DEFERRED, R_FAILED };

static const char *const status_names[] = {
	"delivered", "deferred", "failed"
};

struct rcpt_result {
	enum rcpt_status status;
	char reply[1024];
};

struct delivery {
	const harness_config *cfg;
	module_host *module;
	spool *spool;
	delivery_queue *queue;
	accounting *acct;
	maildir *md;              /* when delivering locally */
	int cancel_fd;            /* eventfd: readable once stopping */
	pthread_t *threads;
	int nthreads;
};

struct worker {
	delivery *d;
	smtp_client *conn;        /* kept between messages */
	uint64_t conn_used_ms;
};

/* How the message was (or was not) signed, for the accounting lines. */
struct signing {
	const char *signatures;
	const char *reason_code;
	const char *reason;
};

/* What the accounting lines say of the message itself. */
struct relayed {
	char message_id[512];     /* "" when it has none (or unread) */
	size_t size;              /* bytes as relayed, signatures included
	                             (as queued when the hook kept it) */
};

/* ------------------------------------------------------------ helpers */

static void
set_all(struct rcpt_result *rr, size_t n, enum rcpt_status st,
    const char *reply)
{
	for (size_t i = 0; i < n; i++) {
		rr[i].status = st;
		snprintf(rr[i].reply, sizeof(rr[i].reply), "%s", reply);
	}
}

/* The status an SMTP reply means; code 0 (no reply) is temporary. */
static enum rcpt_status
status_of(int code)
{
	if (code / 100 == 2)
		return R_DELIVERED;
	if (code / 100 == 5)
		return R_FAILED;
	return R_DEFERRED;
}

/* Seconds to wait after the given number of failed attempts. */
static int
backoff_s(const harness_config *cfg, int attempts)
{
	long s = cfg->retry_initial;

	for (int i = 1; i < attempts && s < cfg->retry_max; i++)
		s *= 2;
	return s > cfg->retry_max ? cfg->retry_max : (int)s;
}

/* --------------------------------------------------------- transports */

static void
to_maildir(struct worker *w, const dq_item *it, const seglist *msg,
    struct rcpt_result *rr)
{
	char name[256], err[512], reply[600];

	if (maildir_deliver(w->d->md, it->id, it->env.queued, msg, name,
	    sizeof(name), err, sizeof(err)) != 0) {
		snprintf(reply, sizeof(reply), "451 4.3.0 Maildir: %s", err);
		set_all(rr, it->env.nrcpts, R_DEFERRED, reply);
		return;
	}
	snprintf(reply, sizeof(reply), "250 2.0.0 delivered to %s/new/%s",
	    w->d->cfg->maildir, name);
	set_all(rr, it->env.nrcpts, R_DELIVERED, reply);
}

/* A connection to the smarthost: the kept one when it still answers RSET,
 * else a new one.  NULL with why filled when none can be had. */
static smtp_client *
connection(struct worker *w, smtp_reply *why)
{
	const harness_config *cfg = w->d->cfg;
	uint64_t now = monotonic_ms();

	if (w->conn != NULL && (now - w->conn_used_ms > IDLE_REUSE_MS ||
	    smtp_client_reset(w->conn) != 0)) {
		smtp_client_close(w->conn);
		w->conn = NULL;
	}
	if (w->conn == NULL && smtp_client_open(&cfg->smarthost, cfg->hostname,
	    cfg->relay_timeout, w->d->cancel_fd, &w->conn, why) != 0)
		w->conn = NULL;
	return w->conn;
}

static void
to_smarthost(struct worker *w, const dq_item *it, const seglist *msg,
    struct rcpt_result *rr)
{
	smtp_reply *replies = calloc(it->env.nrcpts, sizeof(*replies));
	smtp_txn t;
	smtp_reply why;
	char text[600];
	int rc;

	if (replies == NULL) {
		set_all(rr, it->env.nrcpts, R_DEFERRED, "out of memory");
		return;
	}
	if (connection(w, &why) == NULL) {
		if (why.code != 0)
			snprintf(text, sizeof(text), "%s (from %s)", why.text,
			    w->d->cfg->smarthost.text);
		else
			snprintf(text, sizeof(text), "%s", why.text);
		set_all(rr, it->env.nrcpts, R_DEFERRED, text);
		free(replies);
		return;
	}
	memset(&t, 0, sizeof(t));
	t.mail_from = it->env.mail_from;
	t.rcpts = it->env.rcpts;
	t.nrcpts = it->env.nrcpts;
	t.eight_bit = it->env.eight_bit;
	t.msg = msg;
	t.rcpt_replies = replies;
	rc = smtp_client_send(w->conn, &t);
	for (size_t i = 0; i < it->env.nrcpts; i++) {
		/* An accepted recipient shares the message's verdict. */
		const smtp_reply *r = replies[i].code / 100 == 2 ? &t.final :
		    &replies[i];
		rr[i].status = status_of(r->code);
		snprintf(rr[i].reply, sizeof(rr[i].reply), "%s", r->text);
	}
	if (rc != 0) {
		smtp_client_close(w->conn);
		w->conn = NULL;
	} else {
		w->conn_used_ms = monotonic_ms();
	}
	free(replies);
}

/* ------------------------------------------------------------ the end */

/* Writes the accounting lines and settles the message: removed from the
 * spool when no recipient is left, else requeued with the deferred ones. */
static void
settle(struct worker *w, dq_item *it, struct rcpt_result *rr,
    const struct signing *sg, const struct relayed *msg)
{
	const harness_config *cfg = w->d->cfg;
	time_t now = time(NULL);
	int expired = now - it->env.queued >= cfg->max_queue_time;
	size_t left = 0, done = 0;
	envelope rest;
	char err[512];

	for (size_t i = 0; i < it->env.nrcpts; i++) {
		accounting_entry e;

		if (rr[i].status == R_DEFERRED && expired) {
			size_t l = strlen(rr[i].reply);
			rr[i].status = R_FAILED;
			snprintf(rr[i].reply + l, sizeof(rr[i].reply) - l,
			    " (given up: queued longer than max-queue-time, "
			    "%d s)", cfg->max_queue_time);
		}
		e.queue_id = it->id;
		e.sender = it->env.mail_from;
		e.message_id = msg->message_id;
		e.size = msg->size;
		e.vmta = it->env.vmta;
		e.rcpt = it->env.rcpts[i];
		e.result = status_names[rr[i].status];
		e.reply = rr[i].reply;
		e.signatures = sg->signatures;
		e.reason_code = sg->reason_code;
		e.reason = sg->reason;
		accounting_record(w->d->acct, &e);
		log_msg(rr[i].status == R_FAILED ? HLOG_WARNING : HLOG_INFO,
		    "%s: %s <%s> (attempt %d): %s", it->id,
		    status_names[rr[i].status], it->env.rcpts[i], it->attempts,
		    rr[i].reply);
		if (rr[i].status == R_DEFERRED)
			left++;
		else
			done++;
	}
	if (left == 0) {
		if (spool_remove(w->d->spool, it->id, err, sizeof(err)) != 0)
			log_msg(HLOG_ERR, "%s: done but still in the spool (it "
			    "will be delivered again after a restart): %s",
			    it->id, err);
		dq_item_free(it);
		return;
	}
	if (done > 0) {
		/* Only the deferred recipients stay queued. */
		if (envelope_copy_header(&rest, &it->env) != 0) {
			log_msg(HLOG_ERR, "%s: out of memory", it->id);
		} else {
			for (size_t i = 0; i < it->env.nrcpts; i++)
				if (rr[i].status == R_DEFERRED &&
				    envelope_add_rcpt(&rest, it->env.rcpts[i]))
					log_msg(HLOG_ERR, "%s: out of memory",
					    it->id);
			if (spool_update(w->d->spool, it->id, &rest, err,
			    sizeof(err)) != 0)
				log_msg(HLOG_ERR, "%s: cannot record the "
				    "recipients done (they may get it again "
				    "after a restart): %s", it->id, err);
			envelope_move(&it->env, &rest);
		}
	}
	it->due_ms = monotonic_ms() +
	    (uint64_t)backoff_s(cfg, it->attempts) * 1000;
	log_msg(HLOG_INFO, "%s: %zu recipient(s) deferred, next attempt in "
	    "%d s", it->id, left, backoff_s(cfg, it->attempts));
	if (delivery_queue_push(w->d->queue, it) != 0) {
		log_msg(HLOG_ERR, "%s: out of memory: left in the spool for "
		    "the next restart", it->id);
		dq_item_free(it);
	}
}

/* An attempt under way: the message mapped, its signature pending. */
struct pending {
	dq_item *it;
	spool_data data;
	struct rcpt_result *rr;
};

/* Starts an attempt at it: counts it and maps the message.  NULL when it
 * cannot go on (the message is then requeued or settled already). */
static struct pending *
begin_attempt(struct worker *w, dq_item *it)
{
	const harness_config *cfg = w->d->cfg;
	struct pending *p = calloc(1, sizeof(*p));
	struct signing sg = { it->env.signatures, it->env.reason_code,
	    it->env.reason };
	static const struct relayed unread = { "", 0 };
	char err[512];

	it->attempts++;
	if (p == NULL || (p->rr = calloc(it->env.nrcpts,
	    sizeof(*p->rr))) == NULL) {
		log_msg(HLOG_ERR, "%s: out of memory; retried later", it->id);
		free(p);
		it->due_ms = monotonic_ms() + (uint64_t)cfg->retry_initial * 1000;
		if (delivery_queue_push(w->d->queue, it) != 0)
			dq_item_free(it);
		return NULL;
	}
	p->it = it;
	if (spool_map(w->d->spool, it->id, &p->data, err, sizeof(err)) != 0) {
		log_msg(HLOG_ERR, "%s: cannot read the queued message: %s",
		    it->id, err);
		set_all(p->rr, it->env.nrcpts, R_DEFERRED, "451 4.3.0 cannot "
		    "read the spooled message");
		settle(w, it, p->rr, &sg, &unread);
		free(p->rr);
		free(p);
		return NULL;
	}
	return p;
}

/* The pre-delivery hook's view of the message: its details, and its
 * mapped bytes in msg (seglist_free it). */
static void
hook_input(const struct pending *p, vdkim_msg_info *info, seglist *msg)
{
	const dq_item *it = p->it;

	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	info->vmta = it->env.vmta;
	info->source = it->env.source;
	info->mail_from = it->env.mail_from[0] != '\0' ? it->env.mail_from :
	    NULL;
	info->rcpt_domain = address_domain(it->env.rcpts[0]);
	info->queue_id = it->id;
	seglist_init(msg);
	seglist_add(msg, p->data.p, p->data.len);
}

/*
 * Ends an attempt: ho is the pre-delivery hook's answer, or NULL when
 * signing happened before queueing.  Delivers (or not), settles the
 * message and frees p.
 */
static void
end_attempt(struct worker *w, struct pending *p, const hook_outcome *ho)
{
	static const char *const drop_options[] = { "X-DKIM-Options", NULL };
	static const char *const drop_none[] = { NULL };
	dq_item *it = p->it;
	struct rcpt_result *rr = p->rr;
	struct signing sg = { it->env.signatures, it->env.reason_code,
	    it->env.reason };
	struct relayed facts;
	seglist msg;

	seglist_init(&msg);
	if (!msg_field_value(p->data.p, p->data.len, "Message-ID",
	    facts.message_id, sizeof(facts.message_id)))
		facts.message_id[0] = '\0';
	if (ho != NULL) {
		sg.signatures = ho->signatures;
		sg.reason_code = ho->reason_code;
		sg.reason = ho->reason;
		if (ho->action == VDKIM_ACTION_CONTINUE) {
			seglist_add(&msg, ho->add_headers, ho->add_headers_len);
			msg_add_without(&msg, p->data.p, p->data.len,
			    ho->strip_x_dkim_options ? drop_options :
			    drop_none);
		}
	} else {
		seglist_add(&msg, p->data.p, p->data.len);
	}
	if (ho != NULL && ho->action != VDKIM_ACTION_CONTINUE)
		set_all(rr, it->env.nrcpts, ho->action == VDKIM_ACTION_REJECT ?
		    R_FAILED : R_DEFERRED, ho->smtp_reply != NULL ?
		    ho->smtp_reply : "451 4.3.0 DKIM signing failed");
	else if (msg.failed)
		set_all(rr, it->env.nrcpts, R_DEFERRED, "out of memory");
	else if (w->d->md != NULL)
		to_maildir(w, it, &msg, rr);
	else
		to_smarthost(w, it, &msg, rr);
	/* Not relayed (deferred by the hook): the size as queued. */
	facts.size = msg.total > 0 ? msg.total : p->data.len;
	seglist_free(&msg);
	spool_unmap(&p->data);
	settle(w, it, rr, &sg, &facts);
	free(rr);
	free(p);
}

/*
 * One attempt at one queued message.  Its signature is made here and now
 * when sb is NULL; otherwise it is started in the batch sb, and unless the
 * batch answers at once, the worker's collector ends the attempt (the
 * mapped bytes stay until end_attempt, as the batch needs).
 */
static void
attempt(struct worker *w, sign_batch *sb, dq_item *it)
{
	struct pending *p = begin_attempt(w, it);
	vdkim_msg_info info;
	hook_outcome ho;
	seglist msg;
	int in_flight = 0;

	if (p == NULL)
		return;
	if (w->d->cfg->sign_at != SIGN_AT_PRE_DELIVERY) {
		end_attempt(w, p, NULL);
		return;
	}
	hook_input(p, &info, &msg);
	if (sb != NULL)
		in_flight = sign_batch_start(sb, p, &info, &msg, &ho) == 0;
	else
		module_host_run(w->d->module, VDKIM_HOOK_PRE_DELIVERY, &info,
		    &msg, &ho);
	seglist_free(&msg);
	if (!in_flight) {
		end_attempt(w, p, &ho);
		hook_outcome_clear(&ho);
	}
}

/* ----------------------------------------------------------- batches */

/* How long a worker with signatures in flight waits for one before it
 * looks for newly due messages again. */
#define COLLECT_WAIT_MS 10

/* Forgets an attempt that never got its signature (shutdown): the message
 * stays in the spool, as one whose relay was abandoned. */
static void
abandon(struct pending *p)
{
	spool_unmap(&p->data);
	dq_item_free(p->it);
	free(p->rr);
	free(p);
}

/*
 * A worker with sign-batch: it keeps up to sign-batch messages signing
 * at once, starting every due message while there is room, and delivers
 * each as soon as its signature is done.  -1 at once when it cannot (the
 * worker then signs one message at a time).
 */
static int
run_batched(struct worker *w, sign_batch *sb)
{
	delivery_queue *q = w->d->queue;
	size_t max = (size_t)w->d->cfg->sign_batch, n;
	sb_done *done = calloc(max, sizeof(*done));
	dq_item *it;

	if (done == NULL) {
		log_msg(HLOG_ERR, "delivery worker: out of memory for its "
		    "batch; signing one message at a time");
		return -1;
	}
	for (;;) {
		if (sign_batch_outstanding(sb) == 0) {
			if ((it = delivery_queue_pop(q)) == NULL)
				break;
			attempt(w, sb, it);
		}
		while (sign_batch_room(sb) > 0 &&
		    (it = delivery_queue_take_due(q)) != NULL)
			attempt(w, sb, it);
		if (delivery_queue_state(q).stopped)
			break;
		n = sign_batch_collect(sb, COLLECT_WAIT_MS, done, max);
		for (size_t i = 0; i < n; i++) {
			end_attempt(w, done[i].tag, &done[i].ho);
			hook_outcome_clear(&done[i].ho);
		}
	}
	if (sign_batch_outstanding(sb) > 0)
		log_msg(HLOG_INFO, "delivery worker: stopping; %u message(s) "
		    "still signing stay queued", sign_batch_outstanding(sb));
	while (sign_batch_outstanding(sb) > 0) {
		n = sign_batch_collect(sb, -1, done, max);
		for (size_t i = 0; i < n; i++) {
			hook_outcome_clear(&done[i].ho);
			abandon(done[i].tag);
		}
	}
	free(done);
	return 0;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	const harness_config *cfg = w->d->cfg;
	sign_batch *sb = NULL;
	char err[512];
	dq_item *it;

	/* A batch belongs to the thread that made it (vdkim.h). */
	if (cfg->sign_batch > 0 && cfg->sign_at == SIGN_AT_PRE_DELIVERY) {
		sb = sign_batch_new(w->d->module, (unsigned)cfg->sign_batch,
		    err, sizeof(err));
		if (sb == NULL)
			log_msg(HLOG_ERR, "delivery worker: no batch (%s); "
			    "signing one message at a time", err);
	}
	if (sb != NULL && run_batched(w, sb) == 0)
		log_msg(HLOG_INFO, "delivery worker: sign-batch %d: %llu "
		    "message(s) signed through the batch, at most %u in "
		    "flight at once", cfg->sign_batch,
		    (unsigned long long)sign_batch_total(sb),
		    sign_batch_peak(sb));
	else
		while ((it = delivery_queue_pop(w->d->queue)) != NULL)
			attempt(w, NULL, it);
	sign_batch_free(sb);
	smtp_client_close(w->conn);
	free(w);
	return NULL;
}

int
delivery_start(const harness_config *cfg, module_host *module, spool *sp,
    delivery_queue *q, accounting *acct, delivery **out, char *err,
    size_t errlen)
{
	delivery *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->cfg = cfg;
	d->module = module;
	d->spool = sp;
	d->queue = q;
	d->acct = acct;
	d->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->threads = calloc((size_t)cfg->delivery_workers, sizeof(pthread_t));
	if (d->cancel_fd < 0 || d->threads == NULL) {
		snprintf(err, errlen, "cannot start delivery: %s",
		    d->threads == NULL ? "out of memory" : strerror(errno));
		goto fail;
	}
	if (cfg->maildir != NULL &&
	    maildir_open(cfg->maildir, cfg->hostname, &d->md, err, errlen) != 0)
		goto fail;
	if (cfg->sign_batch > 0 && cfg->sign_at == SIGN_AT_PRE_DELIVERY) {
		if (!module_host_has_batches(module)) {
			snprintf(err, errlen, "sign-batch = %d: the module (%s) "
			    "has no batches (they came with module 0.2)",
			    cfg->sign_batch, module_host_version(module));
			goto fail;
		}
		log_msg(HLOG_INFO, "delivery: each of %d worker(s) keeps up to "
		    "%d pre-delivery signature(s) in flight (sign-batch)",
		    cfg->delivery_workers, cfg->sign_batch);
	}
	for (; d->nthreads < cfg->delivery_workers; d->nthreads++) {
		struct worker *w = calloc(1, sizeof(*w));
		int rc = ENOMEM;

		if (w != NULL) {
			w->d = d;
			rc = pthread_create(&d->threads[d->nthreads], NULL,
			    worker_main, w);
		}
		if (rc != 0) {
			free(w);
			snprintf(err, errlen, "cannot start a delivery worker: "
			    "%s", strerror(rc));
			delivery_stop(d);
			return -1;
		}
	}
	*out = d;
	return 0;
fail:
	delivery_stop(d);
	return -1;
}

void
delivery_stop(delivery *d)
{
	uint64_t one = 1;

	if (d == NULL)
		return;
	delivery_queue_stop(d->queue);
	if (d->cancel_fd >= 0 && write(d->cancel_fd, &one, sizeof(one)) < 0)
		log_msg(HLOG_WARNING, "delivery: cannot interrupt relays: %s",
		    strerror(errno));
	for (int i = 0; i < d->nthreads; i++)
		pthread_join(d->threads[i], NULL);
	if (d->cancel_fd >= 0)
		close(d->cancel_fd);
	maildir_close(d->md);
	free(d->threads);
	free(d);
}
