/*
 * exim_dlfunc.c - vdkim inside Exim, through the ${dlfunc} expansion item.
 *
 * Pre-queue, in the DATA ACL (the message is accepted, not yet queued):
 *
 *   warn  add_header = ${dlfunc{/usr/local/lib/vdkim/vdkim.so}\
 *                         {vdkim_exim_prequeue}{/etc/vdkim/vdkim.conf}{VMTA}}
 *
 * Pre-delivery, in an smtp transport (the virtual MTA and next hop known):
 *
 *   headers_add = ${dlfunc{/usr/local/lib/vdkim/vdkim.so}\
 *                    {vdkim_exim_predelivery}{/etc/vdkim/vdkim.conf}{VMTA}}
 *
 * Arguments: the vdkim config file, the virtual MTA ("" = "default"),
 * then optional NAME=VALUE settings: pool=NAME, source=NAME (the policy's
 * "source" block, which may allow X-DKIM-Options), rcpt-domain=DOMAIN
 * (default: the first recipient's domain before queueing, $domain in a
 * transport), skip=NAME:NAME (the fields Exim will remove after signing:
 * a DATA ACL's remove_header, a router's or transport's headers_remove;
 * they are not signed, see exim_skip.h).
 *
 * The message comes from Exim itself: the header from Exim's header list
 * (headers removed by ACLs or routers skipped), the body from the spool
 * data file, streamed.  What the functions give back:
 *
 *   OK           the DKIM-Signature field(s) to add;
 *   FAIL_FORCED  the policy does not sign this message: nothing is added
 *                and the message goes on; the reason is in Exim's main log;
 *   FAIL         the message must not go on unsigned (dkim-require): the
 *                DATA ACL answers 451, a transport defers the delivery;
 *   ERROR        vdkim cannot work (the config does not load, bad
 *                arguments): Exim logs it to the panic log as well, and
 *                treats it like FAIL.
 *
 * vdkim_exim_load(CONFIG[, RELOAD_SECONDS]) loads a config ahead of time
 * and returns "".  Expanded in the daemon (conf-examples/exim/ does it
 * through smtp_accept_max_per_host, which the daemon expands for each
 * connection before it forks), every SMTP session, delivery and queue
 * runner inherits the parsed keys; with RELOAD_SECONDS the daemon reloads
 * the config (keys, rotation state) when it is that old, so changes reach
 * new processes without a restart (HUP Exim for at once).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exim_host.h"
#include "exim_skip.h"
#include "exim_spool.h"

#define EXPORT __attribute__((visibility("default")))

/* Body bytes read from the spool per call: streaming, bounded memory, on
 * the stack (Exim runs the shim in its main thread, 8 MB of stack). */
#define BODY_CHUNK 32768

exim_dlfunc_t vdkim_exim_prequeue;
exim_dlfunc_t vdkim_exim_predelivery;
exim_dlfunc_t vdkim_exim_load;

/* The optional NAME=VALUE arguments. */
typedef struct hook_args {
	const char *config;
	const char *vmta;
	const char *pool;
	const char *source;
	const char *rcpt_domain;
	const char *skip;       /* checked by exim_skip_check */
} hook_args;

/*
 * An error message for Exim.  Exim keeps the pointer only until it has
 * logged it, before this shim is called again, so a static buffer will
 * do even where Exim's own memory cannot be used (outside Exim).
 */
static uschar *
errmsg(const exim_api *ex, const char *text)
{
	static char fallback[512];

	if (ex != NULL)
		return exim_copy(ex, text, strlen(text));
	snprintf(fallback, sizeof(fallback), "%s", text);
	return (uschar *)fallback;
}

static int
parse_args(int argc, uschar *argv[], hook_args *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (argc < 2) {
		snprintf(err, errlen, "vdkim: the Exim functions take "
		    "{CONFIG}{VMTA} and optional {pool=..}{source=..}"
		    "{rcpt-domain=..}{skip=..}; got %d argument(s)", argc);
		return -1;
	}
	a->config = (const char *)argv[0];
	a->vmta = argv[1][0] ? (const char *)argv[1] : NULL;
	for (int i = 2; i < argc; i++) {
		const char *s = (const char *)argv[i];
		const char *eq = strchr(s, '=');
		const char **slot = NULL;

		if (eq != NULL && eq - s == 4 && strncmp(s, "pool", 4) == 0)
			slot = &a->pool;
		else if (eq != NULL && eq - s == 6 &&
		    strncmp(s, "source", 6) == 0)
			slot = &a->source;
		else if (eq != NULL && eq - s == 11 &&
		    strncmp(s, "rcpt-domain", 11) == 0)
			slot = &a->rcpt_domain;
		else if (eq != NULL && eq - s == 4 &&
		    strncmp(s, "skip", 4) == 0)
			slot = &a->skip;
		if (slot == NULL) {
			snprintf(err, errlen, "vdkim: unknown argument \"%s\" "
			    "(expected pool=NAME, source=NAME, "
			    "rcpt-domain=DOMAIN or skip=FIELD:FIELD)", s);
			return -1;
		}
		*slot = eq[1] ? eq + 1 : NULL;
	}
	return exim_skip_check(a->skip, err, errlen);
}

/* The domain of the first recipient (before queueing, one message). */
static const char *
first_rcpt_domain(const exim_api *ex)
{
	const char *at;

	if (*ex->recipients_count < 1 || *ex->recipients_list == NULL)
		return NULL;
	at = strrchr((const char *)(*ex->recipients_list)[0].address, '@');
	return at != NULL && at[1] ? at + 1 : NULL;
}

/*
 * Gives the module the message as Exim will send it: the header fields
 * Exim has not removed and will not remove (skip), the empty line, the
 * body from the spool.  Before queueing, the first field is the Received:
 * Exim has just made for this message and may still rewrite (its "for"
 * part, when the ACL changes the recipients): it is never signed.
 */
static int
feed_message(const exim_api *ex, const vdkim_api *api, int hook,
    const char *skip, vdkim_msg *m, char *err, size_t errlen)
{
	const header_line *first = *ex->header_list;
	char buf[BODY_CHUNK];
	int fd;
	ssize_t n;

	for (const header_line *h = first; h != NULL; h = h->next) {
		if (h->type == EXIM_HTYPE_OLD || h->text == NULL || h->slen <= 0)
			continue;
		if (h == first && hook == VDKIM_HOOK_PRE_QUEUE &&
		    h->type == EXIM_HTYPE_RECEIVED)
			continue;
		if (exim_skip_match(skip, (const char *)h->text,
		    (size_t)h->slen))
			continue;
		if (api->msg_chunk(m, h->text, (size_t)h->slen) != 0)
			return 0; /* msg_end says why */
	}
	if (api->msg_chunk(m, "\n", 1) != 0)
		return 0;
	fd = exim_spool_open_data(ex, (const char *)*ex->message_id, err,
	    errlen);
	if (fd < 0)
		return -1;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (api->msg_chunk(m, buf, (size_t)n) != 0)
			break;
	}
	if (n < 0)
		snprintf(err, errlen, "vdkim: cannot read the data file of "
		    "message %s: %s", (const char *)*ex->message_id,
		    strerror(errno));
	close(fd);
	return n < 0 ? -1 : 0;
}

/* The header text for Exim: its own line ends are LF, and a trailing
 * newline would add an empty header line in some places. */
static uschar *
headers_for_exim(const exim_api *ex, const vdkim_hook_result *res)
{
	size_t len = res->add_headers_len;

	while (len > 0 && (res->add_headers[len - 1] == '\n' ||
	    res->add_headers[len - 1] == '\r'))
		len--;
	return exim_copy(ex, res->add_headers, len);
}

static int
run_hook(int hook, uschar **yield, int argc, uschar *argv[])
{
	char err[1024] = "";
	const exim_api *ex;
	const vdkim_api *api;
	vdkim_instance *inst;
	vdkim_msg_info info;
	vdkim_hook_result res;
	vdkim_msg *m;
	hook_args a;
	int rc;

	ex = exim_api_get(err, sizeof(err));
	if (ex == NULL || parse_args(argc, argv, &a, err, sizeof(err)) != 0 ||
	    (inst = exim_instance(ex, a.config, -1, &api, err,
	    sizeof(err))) == NULL) {
		*yield = errmsg(ex, err);
		return ERROR;
	}
	if (*ex->message_id == NULL || (*ex->message_id)[0] == '\0') {
		*yield = errmsg(ex, "vdkim: called where Exim has no message "
		    "(use it in the DATA ACL or in a transport)");
		return ERROR;
	}
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.vmta = a.vmta;
	info.pool = a.pool;
	info.source = a.source;
	info.mail_from = *ex->sender_address && (*ex->sender_address)[0] ?
	    (const char *)*ex->sender_address : NULL;
	info.rcpt_domain = a.rcpt_domain;
	if (info.rcpt_domain == NULL) {
		info.rcpt_domain = hook == VDKIM_HOOK_PRE_QUEUE ?
		    first_rcpt_domain(ex) :
		    (const char *)ex->expand_string((uschar *)"$domain");
	}
	info.queue_id = (const char *)*ex->message_id;
	if (api->msg_begin(inst, hook, &info, &m, err, sizeof(err)) != 0) {
		*yield = errmsg(ex, err);
		return FAIL;
	}
	if (feed_message(ex, api, hook, a.skip, m, err, sizeof(err)) != 0) {
		/* Without its body the message cannot be signed: it waits. */
		api->msg_free(m);
		ex->log_write(0, LOG_MAIN, "vdkim: %s deferred reason=spool: "
		    "%s", (const char *)*ex->message_id, err);
		*yield = errmsg(ex, err);
		return FAIL;
	}
	memset(&res, 0, sizeof(res));
	res.size = sizeof(res);
	api->msg_end(m, &res);
	/* X-DKIM-Options never leaves.  Before queueing Exim's header list
	 * is still being built, so it is removed there; a transport writes
	 * the header before expanding headers_add, so there the config's
	 * headers_remove does it (conf-examples/exim). */
	if (res.strip_x_dkim_options && hook == VDKIM_HOOK_PRE_QUEUE)
		ex->header_remove(0, (const uschar *)"X-DKIM-Options");
	if (res.action == VDKIM_ACTION_CONTINUE && res.nsigned > 0) {
		*yield = headers_for_exim(ex, &res);
		rc = *yield != NULL ? OK : FAIL;
	} else if (res.action == VDKIM_ACTION_CONTINUE) {
		/* Not signed by policy: the module has logged why. */
		*yield = NULL;
		rc = FAIL_FORCED;
	} else {
		snprintf(err, sizeof(err), "vdkim: %s (%s): %s",
		    res.action == VDKIM_ACTION_DEFER ? "deferred" : "rejected",
		    res.reason_code, res.reason);
		*yield = errmsg(ex, err);
		rc = FAIL;
	}
	api->msg_free(m);
	return rc;
}

EXPORT int
vdkim_exim_prequeue(uschar **yield, int argc, uschar *argv[])
{
	return run_hook(VDKIM_HOOK_PRE_QUEUE, yield, argc, argv);
}

EXPORT int
vdkim_exim_predelivery(uschar **yield, int argc, uschar *argv[])
{
	return run_hook(VDKIM_HOOK_PRE_DELIVERY, yield, argc, argv);
}

EXPORT int
vdkim_exim_load(uschar **yield, int argc, uschar *argv[])
{
	char err[1024] = "", *end;
	const exim_api *ex = exim_api_get(err, sizeof(err));
	const vdkim_api *api;
	long max_age = -1;

	if (ex == NULL)
		goto fail;
	if (argc == 2) {
		errno = 0;
		max_age = strtol((const char *)argv[1], &end, 10);
		if (errno != 0 || end == (char *)argv[1] || *end != '\0' ||
		    max_age < 0) {
			snprintf(err, sizeof(err), "vdkim: vdkim_exim_load: "
			    "\"%s\" is not a number of seconds",
			    (const char *)argv[1]);
			goto fail;
		}
	} else if (argc != 1) {
		snprintf(err, sizeof(err), "vdkim: vdkim_exim_load takes "
		    "{CONFIG} and optionally {RELOAD_SECONDS}; got %d "
		    "argument(s)", argc);
		goto fail;
	}
	if (exim_instance(ex, (const char *)argv[0], max_age, &api, err,
	    sizeof(err)) == NULL)
		goto fail;
	*yield = exim_copy(ex, "", 0);
	return OK;
fail:
	*yield = errmsg(ex, err);
	return ERROR;
}
