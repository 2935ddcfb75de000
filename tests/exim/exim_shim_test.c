/*
 * exim_shim_test.c - the Exim ${dlfunc} shim (api/exim_*.c) driven by a
 * stand-in for Exim, for the paths a real Exim rarely takes: a missing or
 * foreign spool data file, bad arguments, a config that does not load,
 * removed header fields, fields Exim removes after signing ({skip=..}),
 * Exim's own Received: changing after signing.
 * Built with the sanitizers in "make abi-san".  (tests/exim/run.sh runs the
 * real Exim 4.96.)
 *
 *   exim_shim_test MODULE.so WORKDIR
 *
 * This program plays Exim: it defines the documented globals and
 * functions of Exim's local_scan.h (header_list, message_id, log_write,
 * expand_string, ...) and exports them (-rdynamic), as Exim does, so the
 * shim finds them in the process.  WORKDIR holds rsa1.private and its
 * siblings made by tests/abi/run.sh; signatures are checked with the
 * engine's verifier against those keys.  Each test runs in a forked child
 * (Check's default), so each starts with the shim's per-process cache
 * empty.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#define DLFUNC_IMPL
#include <local_scan.h>

#include "vdkim/dkim.h"
#include "work_keys.h"

#define EXPORTED __attribute__((visibility("default")))

/* ----------------------------------------------------- "Exim" itself */

EXPORTED header_line *header_list;
EXPORTED header_line *header_last;
EXPORTED uschar *message_id;
EXPORTED unsigned char *sender_address;
EXPORTED recipient_item *recipients_list;
EXPORTED int recipients_count;

static char g_log[16384];      /* what log_write wrote, lines */
static char g_spool[2200];     /* $spool_directory */
static const char *g_queue = ""; /* $queue_name */

EXPORTED void
log_write(unsigned int selector, int flags, const char *format, ...)
{
	size_t used = strlen(g_log);
	va_list ap;

	(void)selector;
	(void)flags;
	va_start(ap, format);
	vsnprintf(g_log + used, sizeof(g_log) - used, format, ap);
	va_end(ap);
	used = strlen(g_log);
	if (used + 1 < sizeof(g_log))
		strcat(g_log, "\n");
}

EXPORTED uschar *
expand_string(uschar *s)
{
	if (strcmp((char *)s, "$spool_directory") == 0)
		return (uschar *)g_spool;
	if (strcmp((char *)s, "$queue_name") == 0)
		return (uschar *)g_queue;
	if (strcmp((char *)s, "$domain") == 0)
		return (uschar *)"dest.example";
	return NULL;
}

/* Exim's store: freed all at once, as Exim frees its pools (here at the
 * end of each test, by fake_store_free). */
static void *g_fake_store[4096];
static size_t g_fake_nstore;

static void *
fake_store_keep(void *p)
{
	if (p == NULL || g_fake_nstore == sizeof(g_fake_store) / sizeof(g_fake_store[0])) {
		fprintf(stderr, "exim_shim_test: store full\n");
		exit(2);
	}
	return g_fake_store[g_fake_nstore++] = p;
}

static void
fake_store_free(void)
{
	while (g_fake_nstore > 0)
		free(g_fake_store[--g_fake_nstore]);
}

EXPORTED uschar *
string_copyn_function(const uschar *s, int n)
{
	return fake_store_keep(strndup((const char *)s, (size_t)n));
}

EXPORTED void
header_remove(int occurrence, const uschar *name)
{
	size_t len = strlen((const char *)name);

	(void)occurrence;
	for (header_line *h = header_list; h != NULL; h = h->next)
		if (strncasecmp((char *)h->text, (const char *)name, len) == 0 &&
		    h->text[len] == ':')
			h->type = '*';
}

/* ------------------------------------------------------------ setup */

static const char *g_so_path;
static char g_work[2048];
static void *g_dl;
static exim_dlfunc_t *f_prequeue, *f_predelivery, *f_load;
static vdkim_keymap *g_keys;

#define ID "1xVPM6-0007uS-1R"

static void
fail_setup(const char *what)
{
	fprintf(stderr, "exim_shim_test: %s\n", what);
	exit(2);
}

/* Adds a header field of Exim type "type" at the end of the list. */
static header_line *
add_field(const char *text, int type)
{
	header_line *h = fake_store_keep(calloc(1, sizeof(*h)));

	h->text = fake_store_keep(strdup(text));
	h->slen = (int)strlen(text);
	h->type = type;
	if (header_last == NULL)
		header_list = h;
	else
		header_last->next = h;
	header_last = h;
	return h;
}

/*
 * A message as Exim holds it: its Received: (type P) on top, then the
 * fields, the body in SPOOL[/QUEUE]/input[/SUBDIR]/ID-D with the first
 * line "first" (NULL: the right one).
 */
static void
make_message(const char *queue, int split, const char *first,
    const char *body)
{
	static recipient_item rcpt = { (uschar *)"rcpt@dest.example", -1,
		NULL, NULL, 0 };
	char dir[4400], path[4600];
	FILE *f;

	snprintf(g_spool, sizeof(g_spool), "%s/spool-%d", g_work, getpid());
	g_queue = queue;
	snprintf(dir, sizeof(dir), "%s%s%s/input", g_spool, queue[0] ? "/" : "",
	    queue);
	if (split) {
		size_t n = strlen(dir);
		snprintf(dir + n, sizeof(dir) - n, "/%c", ID[5]);
	}
	snprintf(path, sizeof(path), "mkdir -p '%s'", dir);
	if (system(path) != 0)
		fail_setup("mkdir failed");
	snprintf(path, sizeof(path), "%s/%s-D", dir, ID);
	f = fopen(path, "w");
	if (f == NULL)
		fail_setup("cannot write the data file");
	fprintf(f, "%s%s", first ? first : ID "-D\n", body);
	fclose(f);

	message_id = (uschar *)ID;
	sender_address = (unsigned char *)"sender@example.com";
	recipients_list = &rcpt;
	recipients_count = 1;
	header_list = header_last = NULL;
	add_field("Received: from [127.0.0.1] by mta.example.com with esmtp\n"
	    "\tid " ID "\n\tfor rcpt@dest.example; Mon, 23 Nov 2026 "
	    "08:23:17 +0000\n", 'P');
	add_field("From: Sender <sender@example.com>\n", 'F');
	add_field("To: rcpt@dest.example\n", 'T');
	add_field("Subject: a test\n", ' ');
	add_field("Date: Mon, 23 Nov 2026 08:23:17 +0000\n", ' ');
	add_field("Message-ID: <t1@example.com>\n", 'I');
}

static void
write_config(const char *name, const char *text)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", g_work, name);
	f = fopen(path, "w");
	if (f == NULL)
		fail_setup("cannot write a config");
	fputs(text, f);
	fclose(f);
}

static char g_conf[4200];

/* The policy: rsa1 for example.com; "nosign" does not sign, "strict"
 * must (and has no key for other domains).  Received is in the signed
 * fields, to show that Exim's own never is. */
static void
standard_config(void)
{
	char text[8192];

	snprintf(text, sizeof(text),
	    "domain-key = \"rsa1,example.com,%s/rsa1.private\"\n"
	    "virtual-mta default {\n}\n"
	    "virtual-mta nosign {\n domain \"*\" {\n  dkim-sign = no\n }\n}\n"
	    "virtual-mta strict {\n domain \"*\" {\n  dkim-sign = yes\n"
	    "  dkim-require = yes\n }\n}\n"
	    "domain \"*\" {\n dkim-sign = yes\n"
	    " dkim-headers = {\"From\", \"To\", \"Subject\", \"Date\",\n"
	    "    \"Message-ID\", \"Received\", \"Reply-To\", "
	    "\"X-Foo-Bar\"}\n}\n",
	    g_work);
	write_config("shim.conf", text);
	snprintf(g_conf, sizeof(g_conf), "%s/shim.conf", g_work);
}

/* ---------------------------------------------------------- helpers */

static int
call(exim_dlfunc_t *f, uschar **yield, int argc, ...)
{
	uschar *argv[8];
	va_list ap;

	va_start(ap, argc);
	for (int i = 0; i < argc && i < 8; i++)
		argv[i] = va_arg(ap, uschar *);
	va_end(ap);
	*yield = NULL;
	return f(yield, argc, argv);
}

/*
 * The message as Exim would send it: the fields it has not removed, the
 * added ones (add), the body.  Verified: 0 when exactly one signature
 * passes.
 */
static int
verify_sent(const char *add, const char *body, char *why, size_t wl)
{
	vdkim_verifier *v = NULL;
	vdkim_error e;
	char *msg;
	size_t len = 0, cap = strlen(body) + strlen(add) + 65536;
	int rc = -1;

	msg = malloc(cap);
	if (msg == NULL)
		return -1;
	for (header_line *h = header_list; h != NULL; h = h->next)
		if (h->type != '*')
			len += (size_t)snprintf(msg + len, cap - len, "%s",
			    (char *)h->text);
	len += (size_t)snprintf(msg + len, cap - len, "%s\n\n%s", add, body);
	if (vdkim_verifier_new(vdkim_keymap_lookup, g_keys, &v, &e) !=
	    VDKIM_OK || vdkim_verifier_message(v, msg, len, &e) != VDKIM_OK ||
	    vdkim_verifier_eom(v, &e) != VDKIM_OK) {
		snprintf(why, wl, "verifier: %s", e.msg);
	} else if (vdkim_verifier_count(v) != 1) {
		snprintf(why, wl, "%zu signatures", vdkim_verifier_count(v));
	} else if (vdkim_verifier_result(v, 0)->result != VDKIM_RES_PASS) {
		snprintf(why, wl, "%s: %s",
		    vdkim_reason_name(vdkim_verifier_result(v, 0)->reason),
		    vdkim_verifier_result(v, 0)->detail);
	} else {
		rc = 0;
	}
	vdkim_verifier_free(v);
	free(msg);
	return rc;
}

#define BODY "Hello.\nA second line  with  spaces \n\n"

/* ------------------------------------------------------------ tests */

/* Each layout of Exim 4.96's spool, both stages: signed, and verified
 * as sent. */
START_TEST(signs_every_layout)
{
	static const struct {
		const char *queue;
		int split;
	} layouts[] = { { "", 0 }, { "", 1 }, { "bulk", 0 }, { "bulk", 1 } };
	exim_dlfunc_t *stages[] = { f_prequeue, f_predelivery };
	char why[2 * VDKIM_ERRMSG_MAX];
	uschar *y;
	int rc;

	standard_config();
	for (size_t l = 0; l < 4; l++) {
		for (size_t s = 0; s < 2; s++) {
			make_message(layouts[l].queue, layouts[l].split, NULL,
			    BODY);
			rc = call(stages[s], &y, 2, g_conf, "");
			ck_assert_msg(rc == OK, "rc %d: %s", rc, y);
			ck_assert_msg(y != NULL && strncmp((char *)y,
			    "DKIM-Signature:", 15) == 0, "yield: %s", y);
			ck_assert_msg(y[strlen((char *)y) - 1] != '\n',
			    "no trailing newline for Exim");
			ck_assert_msg(verify_sent((char *)y, BODY, why,
			    sizeof(why)) == 0, "layout %zu stage %zu: %s", l,
			    s, why);
		}
	}
	ck_assert_msg(strstr(g_log, "vdkim: " ID " pre-queue vmta=default "
	    "signed d=example.com s=rsa1") != NULL, "log: %s", g_log);
	ck_assert_msg(strstr(g_log, "vdkim: " ID " pre-delivery "
	    "vmta=default signed") != NULL, "log: %s", g_log);
	/* Loaded once for the process: the file is not read again. */
	ck_assert_int_eq(unlink(g_conf), 0);
	make_message("", 0, NULL, BODY);
	ck_assert_int_eq(call(f_prequeue, &y, 2, g_conf, ""), OK);
}
END_TEST

/* Before queueing, Exim's own Received: is not signed: the signature
 * survives Exim rewriting it.  Fields Exim has removed are not signed. */
START_TEST(own_received_and_removed_fields)
{
	char why[2 * VDKIM_ERRMSG_MAX];
	uschar *y;

	standard_config();
	make_message("", 0, NULL, BODY);
	add_field("Subject: removed by an ACL\n", '*');
	ck_assert_int_eq(call(f_prequeue, &y, 2, g_conf, "default"), OK);
	header_list->text = fake_store_keep(strdup("Received: from [127.0.0.1] "
	    "by mta.example.com with esmtp\n\tid " ID "\n\tfor "
	    "other@dest.example; Mon, 23 Nov 2026 08:23:17 +0000\n"));
	ck_assert_msg(verify_sent((char *)y, BODY, why, sizeof(why)) == 0,
	    "%s", why);
}
END_TEST

/* The fields named in h= (lower case, between "h=" and ";"). */
static void
signed_names(const char *sig, char *out, size_t outlen)
{
	const char *h = strstr(sig, " h=");
	size_t n = 0;

	if (h == NULL)
		h = strstr(sig, "\th=");
	out[0] = '\0';
	if (h == NULL)
		return;
	for (h += 3; *h != '\0' && *h != ';' && n + 1 < outlen; h++)
		if (*h != ' ' && *h != '\t' && *h != '\n' && *h != '\r')
			out[n++] = (char)tolower((unsigned char)*h);
	out[n] = '\0';
}

/*
 * {skip=..}: the fields a DATA ACL's remove_header or a transport's
 * headers_remove will take out after the dlfunc has run.  Exim still
 * lists them when the shim reads the header; signed, they would be in h=
 * and gone at the receiver.  Named in skip=, they are not signed, and the
 * message verifies once Exim has removed them.
 */
START_TEST(skip_fields_removed_after_signing)
{
	exim_dlfunc_t *stages[] = { f_prequeue, f_predelivery };
	char why[512], names[512];
	header_line *reply, *foo;
	uschar *y;

	standard_config();
	for (size_t s = 0; s < 2; s++) {
		make_message("", 0, NULL, BODY);
		reply = add_field("Reply-To: <other@example.com>\n", ' ');
		foo = add_field("x-foo-bar : 1\n", ' ');
		add_field("X-Virtual-MTA: bulk\n", ' ');
		/* Blanks around names and case as a macro shared with
		 * headers_remove may have them; a prefix with "*". */
		ck_assert_int_eq(call(stages[s], &y, 3, g_conf, "",
		    "skip= reply-TO : X-Foo-* :X-Virtual-MTA "), OK);
		signed_names((char *)y, names, sizeof(names));
		ck_assert_msg(strstr(names, "from") != NULL, "h=%s", names);
		ck_assert_msg(strstr(names, "reply-to") == NULL &&
		    strstr(names, "x-foo") == NULL, "stage %zu: h=%s", s,
		    names);
		/* What Exim then sends: those fields gone. */
		reply->type = '*';
		foo->type = '*';
		header_last->type = '*';
		ck_assert_msg(verify_sent((char *)y, BODY, why, sizeof(why)) ==
		    0, "stage %zu: %s", s, why);
	}
	/* Without skip= the removed field is signed: the failure skip=
	 * exists for. */
	make_message("", 0, NULL, BODY);
	reply = add_field("Reply-To: <other@example.com>\n", ' ');
	ck_assert_int_eq(call(f_predelivery, &y, 2, g_conf, ""), OK);
	reply->type = '*';
	ck_assert_msg(verify_sent((char *)y, BODY, why, sizeof(why)) != 0,
	    "a removed, signed field still verifies?");
	/* An empty list (an empty macro) skips nothing. */
	make_message("", 0, NULL, BODY);
	add_field("Reply-To: <other@example.com>\n", ' ');
	ck_assert_int_eq(call(f_prequeue, &y, 3, g_conf, "", "skip= \t"), OK);
	signed_names((char *)y, names, sizeof(names));
	ck_assert_msg(strstr(names, "reply-to") != NULL, "h=%s", names);
}
END_TEST

/* A skip list that is not a list of field names is an expansion error
 * with a sentence, at both stages, before anything is signed. */
START_TEST(skip_bad_lists)
{
	static const struct {
		const char *arg;
		const char *says;
	} bad[] = {
		{ "skip=Reply-To::X-Foo", "has an empty field name" },
		{ "skip=Reply-To:", "has an empty field name" },
		{ "skip=:Reply-To", "has an empty field name" },
		{ "skip=Reply To", "\"Reply To\" is not a header field name" },
		{ "skip=*", "\"*\" is not a header field name" },
		{ "skip=X-*-Foo", "\"X-*-Foo\" is not a header field name" },
		{ "skip=X-F\xc3\xb6o", "non-ASCII" },
		{ "skip=A:B\r", "is not a header field name" },
	};
	exim_dlfunc_t *stages[] = { f_prequeue, f_predelivery };
	uschar *y;

	standard_config();
	make_message("", 0, NULL, BODY);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (size_t s = 0; s < 2; s++) {
			ck_assert_int_eq(call(stages[s], &y, 3, g_conf, "",
			    bad[i].arg), ERROR);
			ck_assert_msg(y != NULL && strncmp((char *)y,
			    "vdkim: skip=", 12) == 0 && strstr((char *)y,
			    bad[i].says) != NULL, "%s: yield: %s", bad[i].arg,
			    y);
		}
	}
	ck_assert_msg(strstr(g_log, "signed") == NULL, "log: %s", g_log);
}
END_TEST

/* X-DKIM-Options is removed from Exim's list before queueing. */
START_TEST(x_dkim_options_removed)
{
	char why[2 * VDKIM_ERRMSG_MAX];
	uschar *y;

	standard_config();
	make_message("", 0, NULL, BODY);
	add_field("X-DKIM-Options: s=other\n", ' ');
	ck_assert_int_eq(call(f_prequeue, &y, 2, g_conf, ""), OK);
	ck_assert_int_eq(header_last->type, '*');
	ck_assert_msg(verify_sent((char *)y, BODY, why, sizeof(why)) == 0,
	    "%s", why);
	/* Named in skip= (a list shared with headers_remove), it still
	 * reaches the module, which reads it: the shim removes it as
	 * before, because the module saw it. */
	make_message("", 0, NULL, BODY);
	add_field("X-DKIM-Options: s=other\n", ' ');
	ck_assert_int_eq(call(f_prequeue, &y, 3, g_conf, "",
	    "skip=X-Virtual-MTA : x-dkim-*"), OK);
	ck_assert_int_eq(header_last->type, '*');
}
END_TEST

START_TEST(not_signed_is_forced_failure)
{
	uschar *y;

	standard_config();
	make_message("", 0, NULL, BODY);
	ck_assert_int_eq(call(f_predelivery, &y, 2, g_conf, "nosign"),
	    FAIL_FORCED);
	ck_assert_msg(strstr(g_log, "vmta=nosign unsigned "
	    "reason=signing-disabled: ") != NULL, "log: %s", g_log);
}
END_TEST

START_TEST(require_is_plain_failure)
{
	uschar *y;

	standard_config();
	make_message("", 0, NULL, BODY);
	sender_address = (unsigned char *)"x@nokey.example";
	header_list->next->text = fake_store_keep(strdup("From: x@nokey.example\n"));
	header_list->next->slen = (int)strlen((char *)header_list->next->text);
	for (int s = 0; s < 2; s++) {
		ck_assert_int_eq(call(s ? f_predelivery : f_prequeue, &y, 2,
		    g_conf, "strict"), FAIL);
		ck_assert_msg(y != NULL && strstr((char *)y,
		    "vdkim: deferred (no-key): ") != NULL, "yield: %s", y);
	}
	ck_assert_msg(strstr(g_log, "vmta=strict deferred reason=no-key")
	    != NULL, "log: %s", g_log);
}
END_TEST

START_TEST(data_file_problems)
{
	uschar *y;

	standard_config();
	/* The first line names another message. */
	make_message("", 0, "1xVPM6-0007uS-99-D\n", BODY);
	ck_assert_int_eq(call(f_predelivery, &y, 2, g_conf, ""), FAIL);
	ck_assert_msg(strstr((char *)y, "not the data file of message "
	    ID) != NULL, "yield: %s", y);
	ck_assert_msg(strstr(g_log, ID " deferred reason=spool: ") != NULL,
	    "log: %s", g_log);
	/* An empty data file. */
	make_message("", 0, "", "");
	ck_assert_int_eq(call(f_predelivery, &y, 2, g_conf, ""), FAIL);
	/* No data file where Exim's layout puts it. */
	make_message("other-queue", 0, NULL, BODY);
	g_queue = "bulk";
	ck_assert_int_eq(call(f_prequeue, &y, 2, g_conf, ""), FAIL);
	ck_assert_msg(strstr((char *)y, "cannot open the data file of "
	    "message " ID) != NULL, "yield: %s", y);
	/* A FIFO where the data file belongs: refused at once (opened
	 * without blocking, not a regular file), never waited on. */
	make_message("", 0, NULL, BODY);
	{
		char fifo[4600];

		snprintf(fifo, sizeof(fifo), "%s/input/%s-D", g_spool, ID);
		ck_assert_int_eq(unlink(fifo), 0);
		ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	}
	ck_assert_int_eq(call(f_predelivery, &y, 2, g_conf, ""), FAIL);
	ck_assert_msg(strstr((char *)y, "is not a regular file") != NULL,
	    "yield: %s", y);
	{
		char fifo[4600];

		snprintf(fifo, sizeof(fifo), "%s/input/%s-D", g_spool, ID);
		unlink(fifo);
	}
	/* Not a message id. */
	make_message("", 0, NULL, BODY);
	message_id = (uschar *)"../../etc";
	ck_assert_int_eq(call(f_prequeue, &y, 2, g_conf, ""), FAIL);
	ck_assert_msg(strstr((char *)y, "is not an Exim message id") != NULL,
	    "yield: %s", y);
	/* No message at all (called from the wrong place). */
	message_id = (uschar *)"";
	ck_assert_int_eq(call(f_prequeue, &y, 2, g_conf, ""), ERROR);
	ck_assert_msg(strstr((char *)y, "no message") != NULL, "yield: %s",
	    y);
}
END_TEST

START_TEST(bad_arguments_and_configs)
{
	char path[4200];
	uschar *y;

	standard_config();
	make_message("", 0, NULL, BODY);
	ck_assert_int_eq(call(f_prequeue, &y, 1, g_conf), ERROR);
	ck_assert_msg(strstr((char *)y, "take {CONFIG}{VMTA}") != NULL,
	    "yield: %s", y);
	ck_assert_int_eq(call(f_prequeue, &y, 3, g_conf, "", "colour=red"),
	    ERROR);
	ck_assert_msg(strstr((char *)y, "unknown argument \"colour=red\"") !=
	    NULL, "yield: %s", y);
	ck_assert_int_eq(call(f_predelivery, &y, 4, g_conf, "",
	    "pool=p1", "rcpt-domain=dest.example"), OK);
	ck_assert_int_eq(call(f_load, &y, 3, g_conf, "1", "x"), ERROR);
	/* A config that does not load: the file and line, every time. */
	write_config("broken.conf", "domain \"*\" {\n dkim-sign = perhaps\n}\n");
	snprintf(path, sizeof(path), "%s/broken.conf", g_work);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(call(f_prequeue, &y, 2, path, ""), ERROR);
		ck_assert_msg(strstr((char *)y, "broken.conf:2:") != NULL,
		    "yield: %s", y);
	}
	ck_assert_int_eq(call(f_load, &y, 1, path), ERROR);
	/* Fixed: taken on the next call, without a restart. */
	write_config("broken.conf", "domain \"*\" {\n dkim-sign = no\n}\n");
	ck_assert_int_eq(call(f_load, &y, 1, path), OK);
	ck_assert_int_eq(call(f_prequeue, &y, 2, path, ""), FAIL_FORCED);
}
END_TEST

/* vdkim_exim_load{CONFIG}{SECONDS}: what a daemon runs for each
 * connection; a config it has loaded changes only by such a reload, and a
 * broken one leaves the loaded policy in force. */
START_TEST(load_reloads_when_old)
{
	char path[4200], text[4096];
	uschar *y;

	make_message("", 0, NULL, BODY);
	snprintf(text, sizeof(text), "domain-key = \"rsa1,example.com,"
	    "%s/rsa1.private\"\ndomain \"*\" {\n dkim-sign = yes\n}\n",
	    g_work);
	write_config("daemon.conf", text);
	snprintf(path, sizeof(path), "%s/daemon.conf", g_work);
	ck_assert_int_eq(call(f_load, &y, 2, path, "0"), OK);
	ck_assert_str_eq((char *)y, "");
	ck_assert_int_eq(call(f_predelivery, &y, 2, path, ""), OK);
	write_config("daemon.conf", "domain \"*\" {\n dkim-sign = no\n}\n");
	/* The message hooks never reload: the loaded policy still signs. */
	ck_assert_int_eq(call(f_predelivery, &y, 2, path, ""), OK);
	/* Not old enough (an hour): no reload either. */
	ck_assert_int_eq(call(f_load, &y, 2, path, "3600"), OK);
	ck_assert_int_eq(call(f_predelivery, &y, 2, path, ""), OK);
	ck_assert_int_eq(call(f_load, &y, 2, path, "0"), OK);
	ck_assert_int_eq(call(f_predelivery, &y, 2, path, ""), FAIL_FORCED);
	/* Broken: the load still answers OK, the old policy stays, the log
	 * says why. */
	write_config("daemon.conf", "domain \"*\" {\n dkim-sign = maybe\n}\n");
	ck_assert_int_eq(call(f_load, &y, 2, path, "0"), OK);
	ck_assert_msg(strstr(g_log, "reloading ") != NULL && strstr(g_log,
	    "daemon.conf:2:") != NULL, "log: %s", g_log);
	ck_assert_int_eq(call(f_predelivery, &y, 2, path, ""), FAIL_FORCED);
	ck_assert_int_eq(call(f_load, &y, 2, path, "soon"), ERROR);
	ck_assert_msg(strstr((char *)y, "not a number of seconds") != NULL,
	    "yield: %s", y);
}
END_TEST

/* A body far larger than any buffer: streamed, signed, verified. */
START_TEST(large_body)
{
	char why[2 * VDKIM_ERRMSG_MAX], *body;
	size_t n = 12u << 20;
	uschar *y;

	standard_config();
	body = malloc(n + 1);
	ck_assert_ptr_nonnull(body);
	for (size_t i = 0; i < n; i++)
		body[i] = (i % 64 == 63) ? '\n' : (char)('a' + i % 26);
	body[n] = '\0';
	make_message("", 1, NULL, body);
	ck_assert_int_eq(call(f_predelivery, &y, 2, g_conf, ""), OK);
	ck_assert_msg(verify_sent((char *)y, body, why, sizeof(why)) == 0,
	    "%s", why);
	free(body);
}
END_TEST

static Suite *
shim_suite(void)
{
	Suite *s = suite_create("exim-shim");
	TCase *tc = tcase_create("dlfunc");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, NULL, fake_store_free);
	tcase_add_test(tc, signs_every_layout);
	tcase_add_test(tc, own_received_and_removed_fields);
	tcase_add_test(tc, x_dkim_options_removed);
	tcase_add_test(tc, skip_fields_removed_after_signing);
	tcase_add_test(tc, skip_bad_lists);
	tcase_add_test(tc, not_signed_is_forced_failure);
	tcase_add_test(tc, require_is_plain_failure);
	tcase_add_test(tc, data_file_problems);
	tcase_add_test(tc, bad_arguments_and_configs);
	tcase_add_test(tc, load_reloads_when_old);
	tcase_add_test(tc, large_body);
	suite_add_tcase(s, tc);
	return s;
}

static int
load_keys(void)
{
	static const char *const sels[] = { "rsa1" };

	g_keys = work_keys_load("exim_shim_test", g_work, sels, 1);
	return g_keys != NULL ? 0 : -1;
}

int
main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	if (argc != 3) {
		fprintf(stderr, "usage: exim_shim_test MODULE.so WORKDIR\n");
		return 2;
	}
	g_so_path = argv[1];
	if (realpath(argv[2], g_work) == NULL) {
		perror(argv[2]);
		return 2;
	}
	if (load_keys() != 0)
		return 2;
	g_dl = dlopen(g_so_path, RTLD_NOW | RTLD_LOCAL);
	if (g_dl == NULL) {
		fprintf(stderr, "exim_shim_test: %s\n", dlerror());
		return 2;
	}
	*(void **)(&f_prequeue) = dlsym(g_dl, "vdkim_exim_prequeue");
	*(void **)(&f_predelivery) = dlsym(g_dl, "vdkim_exim_predelivery");
	*(void **)(&f_load) = dlsym(g_dl, "vdkim_exim_load");
	if (f_prequeue == NULL || f_predelivery == NULL || f_load == NULL) {
		fprintf(stderr, "exim_shim_test: %s lacks the Exim functions\n",
		    g_so_path);
		return 2;
	}
	sr = srunner_create(shim_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	vdkim_keymap_free(g_keys);
	return failed == 0 ? 0 : 1;
}
