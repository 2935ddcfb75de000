/*
 * fuzz_milter.c - vdkim-milter's libmilter callbacks (milter/session.c),
 * driven directly with a fake SMFICTX: this file provides the smfi_*
 * functions the callbacks call, so no MTA and no libmilter are needed.
 * The module is linked in (vdkim_get_api, the same table vdkim.so
 * exports) with a fixed policy and the RFC 8463 keys.
 *
 * Input: a script.  Each step is an opcode byte, then NUL-ended strings:
 *   0 connect MACRO     1 MAIL FROM ARG     2 RCPT TO ARG
 *   3 header NAME VALUE 4 end of header     5 body DATA
 *   6 end of message    7 abort             8 negotiate (byte: leadspc)
 * and after the script an end of message and a close.  Header fields
 * after the end of the header or the first body chunk are dropped: an
 * MTA sends none there.
 *
 * Cross-checks: every reply is a 4xx/5xx code with text; only
 * X-DKIM-Options and X-Virtual-MTA are removed; what is inserted are
 * DKIM-Signature fields without CR or NUL; and a message the milter let
 * through signed verifies with the engine's verifier, rebuilt as the MTA
 * would send it (the inserted fields on top, the fields it kept, the
 * body).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fuzz_common.h"
#include "fuzz_policy.h"
#include "log.h"
#include "milter_config.h"
#include "module_link.h"
#include "session.h"
#include "strbuf.h"

/* The MTA's side of one connection. */
struct smfi_str {
	void *priv;
	char *macro;          /* the VMTA macro's value, NULL: not sent */
	int leadspc;
	int in_body;          /* past the header: an MTA sends no field now */
	strbuf fields;        /* the header as the MTA keeps it */
	strbuf body;
	strbuf inserted;      /* fields the milter put on top */
	int removed_other;    /* a field not ours to remove was removed */
	int bad_reply;
	size_t nsigs;
};

static milter_app app;
static struct smfiDesc *desc;
static milter_config *cfg;
static module_link link_;

/* ---------------------------------------------- the fake libmilter */

int
smfi_setpriv(SMFICTX *ctx, void *p)
{
	ctx->priv = p;
	return MI_SUCCESS;
}

void *
smfi_getpriv(SMFICTX *ctx)
{
	return ctx->priv;
}

char *
smfi_getsymval(SMFICTX *ctx, char *name)
{
	if (strcmp(name, "i") == 0)
		return "FUZZQID";
	if (strcmp(name, cfg->vmta_macro) == 0)
		return ctx->macro;
	return NULL;
}

int
smfi_setreply(SMFICTX *ctx, char *rcode, char *xcode, char *text)
{
	if (rcode == NULL || strlen(rcode) != 3 || (rcode[0] != '4' &&
	    rcode[0] != '5') || text == NULL || text[0] == '\0' ||
	    (xcode != NULL && xcode[0] != rcode[0]) ||
	    strpbrk(text, "\r\n") != NULL)
		ctx->bad_reply = 1;
	return MI_SUCCESS;
}

int
smfi_chgheader(SMFICTX *ctx, char *name, int index, char *value)
{
	if (index < 1 || value != NULL ||
	    (strcasecmp(name, "X-DKIM-Options") != 0 &&
	    strcasecmp(name, "X-Virtual-MTA") != 0))
		ctx->removed_other = 1;
	return MI_SUCCESS;
}

int
smfi_insheader(SMFICTX *ctx, int index, char *name, char *value)
{
	strbuf top;

	FUZZ_CHECK(index == 0, "a field inserted at %d", index);
	FUZZ_CHECK(strcmp(name, "DKIM-Signature") == 0,
	    "the milter inserts \"%s\"", name);
	FUZZ_CHECK(strchr(value, '\r') == NULL, "a CR in an inserted value");
	/* As the MTA stores it: name ":" (SP unless leadspc) value, the
	 * value's LFs as CRLF. */
	sb_init(&top);
	sb_adds(&top, name);
	sb_adds(&top, ctx->leadspc ? ":" : ": ");
	for (const char *p = value; *p; p++) {
		if (*p == '\n')
			sb_add(&top, "\r", 1);
		sb_add(&top, p, 1);
	}
	sb_add(&top, "\r\n", 2);
	if (ctx->inserted.len > 0)
		sb_add(&top, ctx->inserted.s, ctx->inserted.len);
	sb_free(&ctx->inserted);
	ctx->inserted = top;
	ctx->nsigs++;
	return MI_SUCCESS;
}

/* ---------------------------------------------------------- script */

typedef struct script {
	const uint8_t *p, *end;
} script;

static char *
next_str(script *s)
{
	const uint8_t *nul = memchr(s->p, '\0', (size_t)(s->end - s->p));
	size_t n = nul != NULL ? (size_t)(nul - s->p) : (size_t)(s->end -
	    s->p);
	char *out = malloc(n + 1);

	FUZZ_CHECK(out != NULL, "out of memory");
	memcpy(out, s->p, n);
	out[n] = '\0';
	s->p += nul != NULL ? n + 1 : n;
	return out;
}

/* The MTA's copy of the message, without the fields the milter removes
 * (all of them: it counts them as they pass). */
static void
mta_keeps(SMFICTX *ctx, const char *name, const char *value)
{
	if (strcasecmp(name, "X-DKIM-Options") == 0 ||
	    strcasecmp(name, "X-Virtual-MTA") == 0)
		return;
	sb_adds(&ctx->fields, name);
	sb_adds(&ctx->fields, ctx->leadspc ? ":" : ": ");
	for (const char *p = value; *p; p++) {
		if (*p == '\n' && (p == value || p[-1] != '\r'))
			sb_add(&ctx->fields, "\r", 1);
		sb_add(&ctx->fields, p, 1);
	}
	sb_add(&ctx->fields, "\r\n", 2);
}

static void
message_reset(SMFICTX *ctx)
{
	sb_reset(&ctx->fields);
	sb_reset(&ctx->body);
	sb_free(&ctx->inserted);
	ctx->nsigs = 0;
	ctx->in_body = 0;
}

/* The signed message as the MTA sends it must verify. */
static void
check_signed(SMFICTX *ctx)
{
	const fuzz_keys *k = fuzz_keys_get();
	vdkim_verifier *v = NULL;
	vdkim_error err;

	FUZZ_CHECK(vdkim_verifier_new(fuzz_keys_lookup, (void *)k, &v, &err)
	    == VDKIM_OK, "%s", err.msg);
	vdkim_verifier_set_time(v, time(NULL));
	FUZZ_CHECK(vdkim_verifier_message(v, ctx->inserted.s,
	    ctx->inserted.len, &err) == VDKIM_OK &&
	    vdkim_verifier_message(v, ctx->fields.s ? ctx->fields.s : "",
	    ctx->fields.len, &err) == VDKIM_OK &&
	    vdkim_verifier_message(v, "\r\n", 2, &err) == VDKIM_OK &&
	    vdkim_verifier_message(v, ctx->body.s ? ctx->body.s : "",
	    ctx->body.len, &err) == VDKIM_OK &&
	    vdkim_verifier_eom(v, &err) == VDKIM_OK,
	    "the signed message does not parse: %s", err.msg);
	for (size_t i = 0; i < ctx->nsigs; i++) {
		const vdkim_sig_result *r = vdkim_verifier_result(v, i);

		FUZZ_CHECK(r != NULL && r->result == VDKIM_RES_PASS,
		    "signature %zu does not verify: %s (%s): %s", i,
		    r ? vdkim_result_name(r->result) : "none",
		    r ? vdkim_reason_name(r->reason) : "", r ? r->detail : "");
	}
	vdkim_verifier_free(v);
}

static void
end_of_message(SMFICTX *ctx)
{
	sfsistat rc = desc->xxfi_eom(ctx);

	FUZZ_CHECK(!ctx->removed_other, "a field not the milter's removed");
	FUZZ_CHECK(!ctx->bad_reply, "a malformed SMTP reply");
	if (rc == SMFIS_CONTINUE && ctx->nsigs > 0)
		check_signed(ctx);
	else
		FUZZ_CHECK(ctx->nsigs == 0, "signatures inserted into a "
		    "message refused");
	message_reset(ctx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	script sc = { data, data + size };
	struct smfi_str ctx;
	unsigned steps = 0;

	memset(&ctx, 0, sizeof(ctx));
	while (sc.p < sc.end && steps++ < 256) {
		uint8_t op = *sc.p++ % 9;
		char *a, *b;

		switch (op) {
		case 0:
			free(ctx.macro);
			ctx.macro = next_str(&sc);
			desc->xxfi_connect(&ctx, "client.example", NULL);
			break;
		case 1:
		case 2:
			a = next_str(&sc);
			{
				char *argv[] = { a, NULL };

				if (op == 1) {
					message_reset(&ctx);
					desc->xxfi_envfrom(&ctx, argv);
				} else {
					desc->xxfi_envrcpt(&ctx, argv);
				}
			}
			free(a);
			break;
		case 3:
			a = next_str(&sc);
			b = next_str(&sc);
			if (!ctx.in_body) {
				desc->xxfi_header(&ctx, a, b);
				mta_keeps(&ctx, a, b);
			}
			free(a);
			free(b);
			break;
		case 4:
			desc->xxfi_eoh(&ctx);
			ctx.in_body = 1;
			break;
		case 5:
			ctx.in_body = 1;
			a = next_str(&sc);
			desc->xxfi_body(&ctx, (unsigned char *)a, strlen(a));
			sb_adds(&ctx.body, a);
			free(a);
			break;
		case 6:
			end_of_message(&ctx);
			break;
		case 7:
			desc->xxfi_abort(&ctx);
			message_reset(&ctx);
			break;
		case 8: {
			unsigned long f0, f1, f2, f3;
			int lead = sc.p < sc.end && (*sc.p++ & 1);

			if (desc->xxfi_negotiate(&ctx, SMFIF_ADDHDRS |
			    SMFIF_CHGHDRS, lead ? SMFIP_HDR_LEADSPC : 0, 0, 0,
			    &f0, &f1, &f2, &f3) == SMFIS_CONTINUE)
				ctx.leadspc = lead;
			break;
		}
		}
	}
	end_of_message(&ctx);
	desc->xxfi_close(&ctx);
	FUZZ_CHECK(ctx.priv == NULL, "the session outlives its connection");
	free(ctx.macro);
	sb_free(&ctx.fields);
	sb_free(&ctx.body);
	sb_free(&ctx.inserted);
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char block[] =
	    "milter {\n"
	    "\tmodule = \"linked-in\"\n"
	    "\tlisten = \"inet:8891@127.0.0.1\"\n"
	    "\tvmta-map = { \"out-a=v\", \"out-b=strict\" }\n"
	    "\tx-virtual-mta-sources = { \"out-b\" }\n"
	    "\tmax-header-size = 4096\n"
	    "}\n";
	const char *conf = fuzz_policy_config(block);
	char err[1024] = "";

	(void)argc;
	(void)argv;
	fuzz_keys_get();
	if (milter_config_load(conf, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz set-up: %s\n", err);
		abort();
	}
	/* Quiet: a log line per message would be most of the run. */
	log_settings ls = {
		.ident = "fuzz_milter",
		.facility = LOG_DEFAULT_FACILITY,
		.max_level = HLOG_ERR - 1,   /* every line dropped */
	};

	if (log_open(&ls, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz set-up: %s\n", err);
		abort();
	}
	link_.host.size = sizeof(link_.host);
	link_.host.log = log_module_line;
	link_.host.config_block = "milter";
	if (vdkim_get_api(VDKIM_ABI_VERSION, &link_.api, err,
	    sizeof(err)) != 0 || link_.api->open(conf, &link_.host,
	    &link_.inst, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz set-up: the module: %s\n", err);
		abort();
	}
	fuzz_policy_remove();
	app.cfg = cfg;
	app.module = &link_;
	pthread_mutex_init(&app.lock, NULL);
	pthread_cond_init(&app.idle, NULL);
	desc = session_filter(&app);
	return 0;
}
