/*
 * test_policy.c - the per-virtual-MTA signing policy (vdkim/policy.h):
 * parse errors with their exact line numbers (comments of every kind
 * before them), keys that cannot be used, the key selection matrix
 * (parent domains, Sender:/From:, "*" keys, VMTA/pool/global order,
 * Ed25519, dual signatures, identity fallback), domain blocks and option
 * inheritance, the signature options, X-DKIM-Options, dkim-require and
 * dkim-align, and no message left unsigned without a reason (unknown
 * VMTAs under dkim-require, dkim-sign no beside second-dkim-sign, i= the
 * signer would refuse, several From: fields, From: domains in UTF-8).
 * Every SIGN decision is signed and the signatures verified against the
 * DNS records of the keys the decision picked.
 *
 * The configs are templates in tests/data/policy: "@DIR@" becomes a
 * temporary folder, made once per test case in the parent process, that
 * holds copies of the test keys with the modes the tests need (0600, or
 * group-/world-writable, or world-readable).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "suites.h"
#include "vdkim/policy.h"

/* ------------------------------------------------ the temporary folder */

static char tmpdir[1024];

static const struct {
	const char *src;  /* in tests/data */
	const char *dst;  /* in tmpdir */
	mode_t mode;
} key_files[] = {
	{ "rsa2048.pem", "rsa.pem", 0600 },
	{ "ed25519.pem", "ed.pem", 0600 },
	{ "rsa1024.pem", "rsa1024.pem", 0600 },
	{ "rsa512.pem", "rsa512.pem", 0600 },
	{ "garbage.pem", "garbage.pem", 0600 },
	{ "rsa2048.pem", "gw.pem", 0660 },  /* group-writable */
	{ "rsa2048.pem", "ww.pem", 0666 },  /* world-writable */
	{ "rsa2048.pem", "wr.pem", 0644 },  /* world-readable */
};

static void
tmp_path(char *buf, size_t n, const char *name)
{
	int w = snprintf(buf, n, "%s/%s", tmpdir, name);

	ck_assert(w > 0 && (size_t)w < n);
}

static void
policy_setup(void)
{
	const char *base = getenv("TMPDIR");
	char path[PATH_MAX];

	snprintf(tmpdir, sizeof(tmpdir), "%s/vdkim-policy-XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	ck_assert_msg(mkdtemp(tmpdir) != NULL, "mkdtemp: %s",
	    strerror(errno));
	for (size_t i = 0; i < sizeof(key_files) / sizeof(key_files[0]);
	    i++) {
		size_t len;
		char *data = td_read(key_files[i].src, &len);

		tmp_path(path, sizeof(path), key_files[i].dst);
		write_file(path, data, len, key_files[i].mode);
		free(data);
	}
}

static void
policy_teardown(void)
{
	if (tmpdir[0] != '\0')
		rm_tree(tmpdir);
	tmpdir[0] = '\0';
}

/* ---------------------------------------------------------- configs */

/* Every occurrence of from replaced by to; malloc'd. */
static char *
replace_all(const char *s, const char *from, const char *to)
{
	size_t flen = strlen(from), tlen = strlen(to), n = 0, w = 0;
	const char *p;
	char *d;

	for (p = strstr(s, from); p != NULL; p = strstr(p + flen, from))
		n++;
	d = malloc(strlen(s) + n * tlen + 1);
	ck_assert_ptr_nonnull(d);
	while ((p = strstr(s, from)) != NULL) {
		memcpy(d + w, s, (size_t)(p - s));
		w += (size_t)(p - s);
		memcpy(d + w, to, tlen);
		w += tlen;
		s = p + flen;
	}
	strcpy(d + w, s);
	return d;
}

/* Writes tests/data/policy/NAME, @DIR@ replaced, to tmpdir/NAME; the
 * path into path. */
static void
install_conf(const char *name, char *path, size_t n)
{
	char rel[256];
	char *tmpl, *text;

	snprintf(rel, sizeof(rel), "policy/%s", name);
	tmpl = td_read(rel, NULL);
	text = replace_all(tmpl, "@DIR@", tmpdir);
	tmp_path(path, n, name);
	write_file(path, text, strlen(text), 0644);
	free(tmpl);
	free(text);
}

static vdkim_policy *
load_ok(const char *name)
{
	char path[PATH_MAX];
	vdkim_policy *p = NULL;
	vdkim_error err = { VDKIM_OK, "" };
	vdkim_rc rc;

	install_conf(name, path, sizeof(path));
	rc = vdkim_policy_load(path, &p, &err);
	ck_assert_msg(rc == VDKIM_OK, "loading %s: %s: %s", name,
	    vdkim_rc_name(rc), err.msg);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* -------------------------------------------------------- decisions */

#define HDRS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NOHDRS ((const char *const *)NULL)
#define MAX_FIELDS 24

/* Appended to the fields each test names (From:, Sender:, ...). */
static const char *const STD_FIELDS[] = {
	"To: Bob <bob@example.net>",
	"Subject: Policy test",
	"Date: Mon, 01 Jan 2024 10:00:00 +0000",
	"Message-ID: <policy-1@example.com>",
	NULL
};

static const char BODY[] = "Hello Bob,\r\n  this  is the body.\r\n";

/* The detail for "%.*s" (bounded even if the engine left no NUL). */
#define DETAIL(d) (int)sizeof((d)->detail), (d)->detail

static size_t
collect(const char *const *special, const char **out)
{
	size_t n = 0;

	for (size_t i = 0; special != NULL && special[i] != NULL; i++)
		out[n++] = special[i];
	for (size_t i = 0; STD_FIELDS[i] != NULL; i++)
		out[n++] = STD_FIELDS[i];
	ck_assert_uint_lt(n, MAX_FIELDS);
	out[n] = NULL;
	return n;
}

typedef struct denv {
	const char *vmta, *pool, *source, *rcpt;
} denv;

/*
 * Decides for the named fields plus STD_FIELDS and checks the decision is
 * well formed: a known verdict, a NUL-terminated detail (a sentence when
 * not signing), nsigs within bounds, complete specs on SIGN, none
 * otherwise.
 */
static void
decide_env(const vdkim_policy *p, const denv *de,
    const char *const *special, vdkim_decision *d)
{
	const char *f[MAX_FIELDS];
	vdkim_header h[MAX_FIELDS];
	size_t n = collect(special, f);
	vdkim_envelope env;
	vdkim_error err = { VDKIM_OK, "" };
	vdkim_rc rc;

	for (size_t i = 0; i < n; i++) {
		h[i].field = f[i];
		h[i].len = strlen(f[i]);
	}
	memset(&env, 0, sizeof(env));
	env.size = sizeof(env);
	env.vmta = de->vmta;
	env.pool = de->pool;
	env.source = de->source;
	env.mail_from = "return@envelope.test";
	env.rcpt_domain = de->rcpt;
	/* Garbage first: the engine must set every field it reports. */
	memset(d, 0x5a, sizeof(*d));
	rc = vdkim_policy_decide(p, &env, h, n, time(NULL), d, &err);
	ck_assert_msg(rc == VDKIM_OK, "decide: %s: %s", vdkim_rc_name(rc),
	    err.msg);
	ck_assert_msg(memchr(d->detail, '\0', sizeof(d->detail)) != NULL,
	    "detail is not NUL-terminated");
	ck_assert_msg(d->verdict == VDKIM_VERDICT_SIGN ||
	    d->verdict == VDKIM_VERDICT_NOSIGN ||
	    d->verdict == VDKIM_VERDICT_DEFER, "verdict %d", (int)d->verdict);
	ck_assert_msg((int)d->why >= VDKIM_WHY_OK &&
	    d->why <= VDKIM_WHY_KEY_DNS_MISMATCH, "why %d", (int)d->why);
	ck_assert_msg(d->strip_x_dkim_options == 0 ||
	    d->strip_x_dkim_options == 1, "strip_x_dkim_options %d",
	    d->strip_x_dkim_options);
	if (d->verdict == VDKIM_VERDICT_SIGN) {
		ck_assert_msg(d->nsigs >= 1 &&
		    d->nsigs <= VDKIM_POLICY_MAX_SIGS, "nsigs %zu", d->nsigs);
		for (size_t i = 0; i < d->nsigs; i++) {
			ck_assert_uint_eq(d->specs[i].size,
			    sizeof(vdkim_sig_spec));
			ck_assert_ptr_nonnull(d->specs[i].key);
			ck_assert_ptr_nonnull(d->specs[i].domain);
			ck_assert_ptr_nonnull(d->specs[i].selector);
		}
	} else {
		ck_assert_msg(d->nsigs == 0, "%s with %zu signatures",
		    vdkim_verdict_name(d->verdict), d->nsigs);
		ck_assert_msg(d->detail[0] != '\0', "%s (%s) without a detail",
		    vdkim_verdict_name(d->verdict), vdkim_why_name(d->why));
		ck_assert_int_eq(d->aligned, 0);
	}
}

static void
decide(const vdkim_policy *p, const char *vmta, const char *const *special,
    vdkim_decision *d)
{
	denv de = { vmta, NULL, NULL, "example.net" };

	decide_env(p, &de, special, d);
}

static void
expect_sign(const vdkim_decision *d, const char *domain,
    const char *selector, vdkim_alg alg)
{
	ck_assert_msg(d->verdict == VDKIM_VERDICT_SIGN,
	    "expected sign d=%s s=%s, got %s (%s: %.*s)", domain, selector,
	    vdkim_verdict_name(d->verdict), vdkim_why_name(d->why),
	    DETAIL(d));
	ck_assert_msg(strcmp(d->specs[0].domain, domain) == 0 &&
	    strcmp(d->specs[0].selector, selector) == 0,
	    "expected d=%s s=%s, got d=%s s=%s (%s: %.*s)", domain, selector,
	    d->specs[0].domain, d->specs[0].selector,
	    vdkim_why_name(d->why), DETAIL(d));
	if (alg != VDKIM_ALG_NONE)
		ck_assert_msg(vdkim_key_get_alg(d->specs[0].key) == alg,
		    "expected a %s key, got %s", vdkim_alg_name(alg),
		    vdkim_alg_name(vdkim_key_get_alg(d->specs[0].key)));
}

static void
expect_not(const vdkim_decision *d, vdkim_verdict verdict, vdkim_why why)
{
	ck_assert_msg(d->verdict == verdict && d->why == why,
	    "expected %s/%s, got %s/%s (%.*s)", vdkim_verdict_name(verdict),
	    vdkim_why_name(why), vdkim_verdict_name(d->verdict),
	    vdkim_why_name(d->why), DETAIL(d));
}

/* The i-th field of a message (with its line end). */
static const char *
field_at(const char *msg, size_t i, size_t *len)
{
	tmsg m;

	tmsg_parse(&m, msg, strlen(msg));
	ck_assert_uint_lt(i, m.nfields);
	*len = m.flen[i];
	return m.field[i];
}

/* The value of tag of the i-th signature of a signed message. */
static int
tag_of(const char *signed_msg, size_t i, const char *tag, char *buf,
    size_t n)
{
	size_t len;
	const char *f = field_at(signed_msg, i, &len);

	ck_assert_msg(strncasecmp(f, "DKIM-Signature:", 15) == 0,
	    "field %zu is no signature: %.40s", i, f);
	return sig_tag(f, len, tag, buf, n);
}

/* How many times name appears in a colon-separated h= value. */
static int
h_count(const char *h, const char *name)
{
	int c = 0;
	size_t nlen = strlen(name);

	for (const char *p = h; *p != '\0';) {
		const char *e = strchr(p, ':');
		size_t l = e != NULL ? (size_t)(e - p) : strlen(p);

		if (l == nlen && strncasecmp(p, name, l) == 0)
			c++;
		p += l;
		if (*p == ':')
			p++;
	}
	return c;
}

/*
 * Signs the message (the named fields without X-DKIM-Options when the
 * decision says to strip it, STD_FIELDS, BODY) with the decision's specs
 * and verifies it against the keys' records: every signature passes with
 * the d=, s= and i= of its spec.  Returns the signed message (malloc'd).
 */
static char *
sign_verify(const vdkim_decision *d, const char *const *special)
{
	const char *f[MAX_FIELDS];
	size_t n = collect(special, f), len = 0, slen, nres;
	char *msg, *signed_msg;
	vdkim_keymap *map = NULL;
	vdkim_error err;
	vres res[VRES_MAX];

	ck_assert_int_eq(d->verdict, VDKIM_VERDICT_SIGN);
	for (size_t i = 0; i < n; i++)
		len += strlen(f[i]) + 2;
	msg = malloc(len + sizeof(BODY) + 2);
	ck_assert_ptr_nonnull(msg);
	msg[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (d->strip_x_dkim_options &&
		    strncasecmp(f[i], "X-DKIM-Options:", 15) == 0)
			continue;
		strcat(msg, f[i]);
		strcat(msg, "\r\n");
	}
	strcat(msg, "\r\n");
	strcat(msg, BODY);
	signed_msg = sign_ok(msg, strlen(msg), d->specs, d->nsigs,
	    FEED_WHOLE, 1, &slen);
	ck_assert_int_eq(vdkim_keymap_new(&map, &err), VDKIM_OK);
	for (size_t i = 0; i < d->nsigs; i++) {
		char qname[600];
		char *rec = key_record_of(d->specs[i].key);

		snprintf(qname, sizeof(qname), "%s._domainkey.%s",
		    d->specs[i].selector, d->specs[i].domain);
		keymap_add(map, qname, rec);
		free(rec);
	}
	nres = verify_message(signed_msg, slen, vdkim_keymap_lookup, map, 0,
	    FEED_WHOLE, 1, res);
	ck_assert_uint_eq(nres, d->nsigs);
	for (size_t i = 0; i < nres; i++) {
		ck_assert_msg(res[i].result == VDKIM_RES_PASS,
		    "signature %zu (d=%s s=%s): %s: %s", i, res[i].domain,
		    res[i].selector, vdkim_result_name(res[i].result),
		    res[i].detail);
		ck_assert_str_eq(res[i].domain, d->specs[i].domain);
		ck_assert_str_eq(res[i].selector, d->specs[i].selector);
		if (d->specs[i].identity != NULL)
			ck_assert_str_eq(res[i].identity,
			    d->specs[i].identity);
	}
	vdkim_keymap_free(map);
	free(msg);
	return signed_msg;
}

/* Decides, expects SIGN with d= and s=, signs and verifies. */
static void
check_signs(const vdkim_policy *p, const char *vmta,
    const char *const *special, const char *domain, const char *selector)
{
	vdkim_decision d;

	decide(p, vmta, special, &d);
	expect_sign(&d, domain, selector, VDKIM_ALG_NONE);
	free(sign_verify(&d, special));
}

static void
check_not(const vdkim_policy *p, const char *vmta,
    const char *const *special, vdkim_verdict verdict, vdkim_why why)
{
	vdkim_decision d;

	decide(p, vmta, special, &d);
	expect_not(&d, verdict, why);
}

/* ------------------------------------------------------ parse errors */

static const struct {
	const char *file;
	int line, line2;     /* the error line (or either of two) */
	int to_eof;          /* any line from line to the end of the file */
	const char *needles[3]; /* the message names one of them */
} bad_confs[] = {
	{ "bad_directive.conf", 17, 0, 0, { "dkim-frobnicate" } },
	{ "bad_directive_nested.conf", 12, 0, 0, { "dkim-sgin" } },
	{ "bad_algorithm.conf", 11, 0, 0, { "rsa-sha1", "dkim-algorithm" } },
	{ "bad_body_canon.conf", 11, 0, 0, { "loose", "dkim-body-canon" } },
	{ "bad_second_canon.conf", 10, 0, 0,
	  { "loose", "second-dkim-headers-canon" } },
	{ "bad_expire.conf", 10, 0, 0, { "soon", "dkim-expire-after" } },
	{ "bad_identity.conf", 10, 0, 0, { "nonsense", "dkim-identity" } },
	/* An i= the signer would refuse is refused at its line. */
	{ "bad_identity_8bit.conf", 7, 0, 0, { "dkim-identity" } },
	{ "bad_align.conf", 10, 0, 0, { "maybe", "dkim-align" } },
	{ "bad_sign.conf", 10, 0, 0, { "perhaps", "dkim-sign" } },
	{ "bad_source.conf", 10, 0, 0,
	  { "maybe", "process-x-dkim-options" } },
	{ "bad_key_fields.conf", 9, 0, 0, { "a,b", "domain-key" } },
	{ "bad_key_selector.conf", 10, 0, 0, { "se!l", "selector" } },
	{ "bad_key_domain.conf", 9, 0, 0, { "exa mple.com", "domain" } },
	{ "bad_key_path.conf", 9, 0, 0, { "domain-key", "file", "path" } },
	{ "dup_vmta.conf", 15, 0, 0, { "v1" } },
	{ "bad_pool_member.conf", 11, 12, 0, { "ghost" } },
	{ "unterminated.conf", 9, 0, 1, { NULL } },
	{ "bad_pattern.conf", 18, 0, 0, { "*.*.example.com" } },
	/* An unclosed comment must not silently swallow the rest. */
	{ "unterminated_comment.conf", 14, 0, 0, { NULL } },
	{ "unterminated_string.conf", 10, 0, 1, { NULL } },
};

/* Line n (1-based) of text, into buf; 0 when the text is shorter. */
static int
line_of(const char *text, int n, char *buf, size_t buflen)
{
	const char *p = text;

	for (int i = 1; i < n; i++) {
		p = strchr(p, '\n');
		if (p == NULL)
			return 0;
		p++;
	}
	snprintf(buf, buflen, "%.*s", (int)strcspn(p, "\n"), p);
	return 1;
}

static int
count_lines(const char *text)
{
	int n = 0;

	for (const char *p = text; *p != '\0'; p++)
		if (*p == '\n')
			n++;
	return n;
}

START_TEST(parse_error_lines)
{
	const char *file = bad_confs[_i].file;
	char path[PATH_MAX], line[512], want[PATH_MAX + 32];
	char rel[256];
	char *text;
	vdkim_policy *p = NULL;
	vdkim_error err = { VDKIM_OK, "" };
	vdkim_rc rc;
	int found = 0, first, last;

	install_conf(file, path, sizeof(path));
	snprintf(rel, sizeof(rel), "policy/%s", file);
	text = td_read(rel, NULL);
	/* The table and the file agree on where the error is. */
	ck_assert_msg(line_of(text, bad_confs[_i].line, line, sizeof(line)) &&
	    strstr(line, "@ERR") != NULL, "%s:%d is not the marked line",
	    file, bad_confs[_i].line);
	if (bad_confs[_i].line2 != 0)
		ck_assert_msg(line_of(text, bad_confs[_i].line2, line,
		    sizeof(line)) && strstr(line, "@ERR") != NULL,
		    "%s:%d is not a marked line", file, bad_confs[_i].line2);
	first = bad_confs[_i].line;
	last = bad_confs[_i].to_eof ? count_lines(text) + 1 :
	    bad_confs[_i].line2 != 0 ? bad_confs[_i].line2 : first;
	free(text);

	rc = vdkim_policy_load(path, &p, &err);
	ck_assert_msg(rc == VDKIM_ESYNTAX || rc == VDKIM_EINVAL,
	    "%s: expected a syntax error, got %s: %s", file,
	    vdkim_rc_name(rc), err.msg);
	ck_assert_int_eq(err.rc, rc);
	ck_assert_ptr_null(p);
	for (int l = first; l <= last && !found; l++) {
		if (l != first && l != last && !bad_confs[_i].to_eof)
			continue;
		snprintf(want, sizeof(want), "%s:%d:", file, l);
		found = strstr(err.msg, want) != NULL;
	}
	ck_assert_msg(found, "%s: the error should name line %d%s: %s",
	    file, first, bad_confs[_i].to_eof ? " (or a later one)" :
	    last != first ? " (or the next)" : "", err.msg);
	if (bad_confs[_i].needles[0] != NULL) {
		int named = 0;

		for (int k = 0; k < 3 && bad_confs[_i].needles[k] != NULL; k++)
			if (strstr(err.msg, bad_confs[_i].needles[k]) != NULL)
				named = 1;
		ck_assert_msg(named, "%s: the error should name \"%s\"%s: %s",
		    file, bad_confs[_i].needles[0],
		    bad_confs[_i].needles[1] != NULL ? " (or the like)" : "",
		    err.msg);
	}
	ck_assert_ptr_null(strchr(err.msg, '\n'));
}
END_TEST

START_TEST(missing_file)
{
	char path[PATH_MAX];
	vdkim_policy *p = NULL;
	vdkim_error err = { VDKIM_OK, "" };

	tmp_path(path, sizeof(path), "no-such-vdkim.conf");
	ck_assert_int_eq(vdkim_policy_load(path, &p, &err), VDKIM_EIO);
	ck_assert_int_eq(err.rc, VDKIM_EIO);
	ck_assert_ptr_null(p);
	ck_assert_msg(strstr(err.msg, path) != NULL, "%s", err.msg);
}
END_TEST

#define EMPTY_CONF "# nothing\n/* at\n all */\n// here\n"

START_TEST(empty_config)
{
	char path[PATH_MAX];
	vdkim_policy *p = NULL;
	vdkim_error err = { VDKIM_OK, "" };
	vdkim_decision d;

	/* Comments only: a valid config with nothing in it, so nothing to
	 * sign (no virtual-mta: the global scope, which says nothing). */
	tmp_path(path, sizeof(path), "empty.conf");
	write_file(path, EMPTY_CONF, strlen(EMPTY_CONF), 0644);
	ck_assert_msg(vdkim_policy_load(path, &p, &err) == VDKIM_OK, "%s",
	    err.msg);
	ck_assert_uint_eq(vdkim_policy_warning_count(p), 0);
	decide(p, "anything", HDRS("From: a@example.com"), &d);
	expect_not(&d, VDKIM_VERDICT_NOSIGN, VDKIM_WHY_DISABLED);
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(global_only)
{
	vdkim_policy *p = load_ok("global.conf");
	const char *const *h = HDRS("From: alice@news.example.com");

	/* Without virtual-mta blocks, any VMTA (or none) gets the global
	 * scope. */
	check_signs(p, "anything", h, "example.com", "glob");
	check_signs(p, NULL, h, "example.com", "glob");
	check_not(p, "anything", HDRS("From: alice@nokey.test"),
	    VDKIM_VERDICT_NOSIGN, VDKIM_WHY_NO_KEY);
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(why_names)
{
	static const struct {
		vdkim_why why;
		const char *name;
	} names[] = {
		{ VDKIM_WHY_OK, "ok" },
		{ VDKIM_WHY_UNKNOWN_VMTA, "unknown-vmta" },
		{ VDKIM_WHY_DISABLED, "signing-disabled" },
		{ VDKIM_WHY_NO_IDENTITY, "no-identity" },
		{ VDKIM_WHY_NO_KEY, "no-key" },
		{ VDKIM_WHY_KEY_NOT_LOADED, "key-not-loaded" },
		{ VDKIM_WHY_NOT_ALIGNED, "not-aligned" },
		{ VDKIM_WHY_OPTIONS_REFUSED, "x-dkim-options-refused" },
		{ VDKIM_WHY_OPTIONS_INVALID, "x-dkim-options-invalid" },
		{ VDKIM_WHY_OPTIONS_NO_KEY, "x-dkim-options-no-key" },
		{ VDKIM_WHY_BAD_MESSAGE, "bad-message" },
		{ VDKIM_WHY_ROTATION_HELD, "rotation-held" },
		{ VDKIM_WHY_ROTATION_NOT_IN_DNS, "rotation-not-in-dns" },
		{ VDKIM_WHY_ROTATION_UNVERIFIED, "rotation-unverified" },
		{ VDKIM_WHY_MULTIPLE_FROM, "multiple-from" },
		{ VDKIM_WHY_DNS_MISSING, "dns-missing" },
		{ VDKIM_WHY_DNS_MISMATCH, "dns-mismatch" },
		{ VDKIM_WHY_KEY_DNS_MISMATCH, "key-dns-mismatch" },
	};
	const char *v[3];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ck_assert_ptr_nonnull(vdkim_why_name(names[i].why));
		ck_assert_str_eq(vdkim_why_name(names[i].why), names[i].name);
	}
	ck_assert_ptr_nonnull(vdkim_why_name((vdkim_why)999));
	v[0] = vdkim_verdict_name(VDKIM_VERDICT_SIGN);
	v[1] = vdkim_verdict_name(VDKIM_VERDICT_NOSIGN);
	v[2] = vdkim_verdict_name(VDKIM_VERDICT_DEFER);
	for (int i = 0; i < 3; i++) {
		ck_assert_ptr_nonnull(v[i]);
		ck_assert_uint_gt(strlen(v[i]), 0);
	}
	ck_assert_str_ne(v[0], v[1]);
	ck_assert_str_ne(v[0], v[2]);
	ck_assert_str_ne(v[1], v[2]);
}
END_TEST

START_TEST(bad_arguments)
{
	vdkim_policy *p = load_ok("select.conf");
	vdkim_envelope env;
	vdkim_header h = { "From: a@example.com", 19 };
	vdkim_decision d;
	vdkim_error err;
	vdkim_policy *out = NULL;

	memset(&env, 0, sizeof(env));
	env.size = sizeof(env);
	env.vmta = "plain";
	ck_assert_int_ne(vdkim_policy_decide(NULL, &env, &h, 1, 0, &d, &err),
	    VDKIM_OK);
	ck_assert_int_ne(vdkim_policy_decide(p, NULL, &h, 1, 0, &d, &err),
	    VDKIM_OK);
	ck_assert_int_ne(vdkim_policy_decide(p, &env, &h, 1, 0, NULL, &err),
	    VDKIM_OK);
	ck_assert_int_ne(vdkim_policy_decide(p, &env, NULL, 1, 0, &d, &err),
	    VDKIM_OK);
	/* No header fields at all is a message without From:. */
	memset(&err, 0, sizeof(err));
	ck_assert_msg(vdkim_policy_decide(p, &env, NULL, 0, time(NULL), &d,
	    &err) == VDKIM_OK, "%s", err.msg);
	expect_not(&d, VDKIM_VERDICT_NOSIGN, VDKIM_WHY_NO_IDENTITY);
	ck_assert_int_ne(vdkim_policy_load(NULL, &out, &err), VDKIM_OK);
	ck_assert_ptr_null(out);
	vdkim_policy_unref(NULL);
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(refcount_and_describe)
{
	vdkim_policy *p = load_ok("select.conf");
	vdkim_error err = { VDKIM_OK, "" };
	char *text = NULL;
	static const char *const names[] = { "plain", "strict", "wild",
	    "edpick", "dual", "p1", "p2", "gsel", "gsub", "wsel", "dualed",
	    "example.com", "esp.example" };

	ck_assert_ptr_eq(vdkim_policy_ref(p), p);
	vdkim_policy_unref(p);
	/* Still alive: one reference left. */
	check_signs(p, "plain", HDRS("From: a@example.com"), "example.com",
	    "gsel");
	ck_assert_uint_eq(vdkim_policy_warning_count(p), 0);
	ck_assert_int_eq(vdkim_policy_describe(p, &text, &err), VDKIM_OK);
	ck_assert_ptr_nonnull(text);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert_msg(strstr(text, names[i]) != NULL,
		    "describe does not mention %s:\n%s", names[i], text);
	free(text);
	vdkim_policy_unref(p);
}
END_TEST

/* -------------------------------------------------------------- keys */

/* The index of a warning naming the file, of the given kind (-1: any). */
static int
find_warning(const vdkim_policy *p, const char *file, int is_error)
{
	char path[PATH_MAX];
	size_t n = vdkim_policy_warning_count(p);

	tmp_path(path, sizeof(path), file);
	for (size_t i = 0; i < n; i++) {
		const char *w = vdkim_policy_warning(p, i);

		ck_assert_ptr_nonnull(w);
		if (strstr(w, path) != NULL && (is_error < 0 ||
		    vdkim_policy_warning_is_error(p, i) == is_error))
			return (int)i;
	}
	return -1;
}

static char *
all_warnings(const vdkim_policy *p)
{
	size_t n = vdkim_policy_warning_count(p), len = 1;
	char *s;

	for (size_t i = 0; i < n; i++)
		len += strlen(vdkim_policy_warning(p, i)) + 8;
	s = malloc(len);
	ck_assert_ptr_nonnull(s);
	s[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strcat(s, vdkim_policy_warning_is_error(p, i) ? "[E] " :
		    "[W] ");
		strcat(s, vdkim_policy_warning(p, i));
		strcat(s, "\n");
	}
	return s;
}

START_TEST(key_warnings)
{
	vdkim_policy *p = load_ok("keys.conf");
	static const char *const unusable[] = { "nonexistent.pem",
	    "garbage.pem", "rsa512.pem", "gw.pem", "ww.pem" };
	char *all = all_warnings(p);
	size_t errors = 0;

	for (size_t i = 0; i < sizeof(unusable) / sizeof(unusable[0]); i++)
		ck_assert_msg(find_warning(p, unusable[i], 1) >= 0,
		    "no error naming %s in:\n%s", unusable[i], all);
	/* Readable by everyone, or small: usable, a warning. */
	ck_assert_msg(find_warning(p, "wr.pem", 0) >= 0,
	    "no warning naming wr.pem in:\n%s", all);
	ck_assert_msg(find_warning(p, "wr.pem", 1) < 0,
	    "wr.pem (0644) is no error:\n%s", all);
	ck_assert_msg(find_warning(p, "rsa1024.pem", 0) >= 0,
	    "no warning naming rsa1024.pem in:\n%s", all);
	ck_assert_msg(find_warning(p, "rsa1024.pem", 1) < 0,
	    "rsa1024.pem is usable, no error:\n%s", all);
	/* The good key, named twice, is no problem at all. */
	ck_assert_msg(find_warning(p, "rsa.pem", -1) < 0,
	    "rsa.pem should not be warned about:\n%s", all);
	for (size_t i = 0; i < vdkim_policy_warning_count(p); i++)
		if (vdkim_policy_warning_is_error(p, i))
			errors++;
	ck_assert_msg(errors == 5, "%zu errors:\n%s", errors, all);
	ck_assert_ptr_null(vdkim_policy_warning(p,
	    vdkim_policy_warning_count(p)));
	free(all);
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(key_decisions)
{
	vdkim_policy *p = load_ok("keys.conf");
	static const char *const unusable[] = { "missing.example",
	    "garbage.example", "weak.example", "gw.example", "ww.example" };

	for (size_t i = 0; i < sizeof(unusable) / sizeof(unusable[0]); i++) {
		char from[128];
		vdkim_decision d;

		snprintf(from, sizeof(from), "From: Alice <alice@%s>",
		    unusable[i]);
		decide(p, "plain", HDRS(from), &d);
		expect_not(&d, VDKIM_VERDICT_NOSIGN,
		    VDKIM_WHY_KEY_NOT_LOADED);
		decide(p, "required", HDRS(from), &d);
		expect_not(&d, VDKIM_VERDICT_DEFER, VDKIM_WHY_KEY_NOT_LOADED);
	}
	check_signs(p, "plain", HDRS("From: a@wr.example"), "wr.example",
	    "wr");
	check_signs(p, "plain", HDRS("From: a@small.example"),
	    "small.example", "small");
	check_signs(p, "plain", HDRS("From: a@good.example"), "good.example",
	    "good");
	check_signs(p, "required", HDRS("From: a@good2.example"),
	    "good2.example", "good2");
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(key_algorithm_missing)
{
	vdkim_policy *p = load_ok("alg_missing.conf");
	char *all = all_warnings(p);
	int found = 0;
	vdkim_decision d;

	for (size_t i = 0; i < vdkim_policy_warning_count(p); i++)
		if (vdkim_policy_warning_is_error(p, i) &&
		    strstr(vdkim_policy_warning(p, i), "ed25519") != NULL)
			found = 1;
	ck_assert_msg(found, "no error about the missing Ed25519 key:\n%s",
	    all);
	free(all);
	/* Never an RSA signature instead. */
	decide(p, "edonly", HDRS("From: alice@example.com"), &d);
	ck_assert_msg(d.verdict == VDKIM_VERDICT_NOSIGN &&
	    (d.why == VDKIM_WHY_NO_KEY || d.why == VDKIM_WHY_KEY_NOT_LOADED),
	    "%s/%s", vdkim_verdict_name(d.verdict), vdkim_why_name(d.why));
	vdkim_policy_unref(p);
}
END_TEST

/* --------------------------------------------------------- selection */

START_TEST(parent_domains)
{
	vdkim_policy *p = load_ok("select.conf");
	vdkim_decision d;

	decide(p, "plain", HDRS("From: Alice <alice@news.example.com>"), &d);
	expect_sign(&d, "example.com", "gsel", VDKIM_ALG_RSA_SHA256);
	ck_assert_ptr_null(d.specs[0].identity); /* no i= by default */
	ck_assert_int_eq(d.why, VDKIM_WHY_OK);
	free(sign_verify(&d, HDRS("From: Alice <alice@news.example.com>")));
	check_signs(p, "plain", HDRS("From: alice@example.com"),
	    "example.com", "gsel");
	/* gsub comes first but is no parent of example.com ... */
	check_signs(p, "plain", HDRS("From: alice@sub.example.com"),
	    "sub.example.com", "gsub");
	/* ... and is the first parent of x.sub.example.com. */
	check_signs(p, "plain", HDRS("From: alice@x.sub.example.com"),
	    "sub.example.com", "gsub");
	/* Case does not matter in domains. */
	check_signs(p, "plain", HDRS("From: alice@News.EXAMPLE.com"),
	    "example.com", "gsel");
	/* A parent is a whole label away: notexample.com is no child. */
	check_not(p, "plain", HDRS("From: alice@notexample.com"),
	    VDKIM_VERDICT_NOSIGN, VDKIM_WHY_NO_KEY);
	decide(p, "plain", HDRS("From: alice@nokey.test"), &d);
	expect_not(&d, VDKIM_VERDICT_NOSIGN, VDKIM_WHY_NO_KEY);
	ck_assert_msg(strstr(d.detail, "nokey.test") != NULL,
	    "the detail should name the domain: %s", d.detail);
	vdkim_policy_unref(p);
}
END_TEST

/* dkim-key-subdomains no: no parent key signs for a subdomain. */
START_TEST(exact_key_domains)
{
	vdkim_policy *p = load_ok("select.conf");

	check_signs(p, "exact", HDRS("From: alice@example.com"),
	    "example.com", "gsel");
	check_signs(p, "exact", HDRS("From: alice@sub.example.com"),
	    "sub.example.com", "gsub");
	/* news.example.com and x.sub.example.com have no key of their own. */
	check_not(p, "exact", HDRS("From: alice@news.example.com"),
	    VDKIM_VERDICT_NOSIGN, VDKIM_WHY_NO_KEY);
	check_not(p, "exact", HDRS("From: alice@x.sub.example.com"),
	    VDKIM_VERDICT_NOSIGN, VDKIM_WHY_NO_KEY);
	/* Case still does not matter. */
	check_signs(p, "exact", HDRS("From: alice@EXAMPLE.com"),
	    "example.com", "gsel");
	/* A "*" key is every domain's, exact or not. */
	check_signs(p, "exactwild", HDRS("From: alice@news.example.com"),
	    "news.example.com", "wsel");
	/* "*.example.org": subdomains (d=example.org), never the apex,
	 * which falls to the next key. */
	check_signs(p, "subonly", HDRS("From: alice@shop.example.org"),
	    "example.org", "subs");
	check_signs(p, "subonly", HDRS("From: alice@a.b.example.org"),
	    "example.org", "subs");
	check_signs(p, "subonly", HDRS("From: alice@example.org"),
	    "example.org", "apex");
	check_not(p, "subonly", HDRS("From: alice@badexample.org"),
	    VDKIM_VERDICT_NOSIGN, VDKIM_WHY_NO_KEY);
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(from_forms)
{
	vdkim_policy *p = load_ok("select.conf");
	static const char *const forms[] = {
		"From: alice@news.example.com",
		"From: Alice <alice@news.example.com>",
		"From: \"Smith, Alice\" <alice@news.example.com>",
		"From: \"a@b.test\" <alice@news.example.com>",
		"From: Alice\r\n <alice@news.example.com>",
		"from: alice@news.example.com",
		"From:<alice@news.example.com>",
	};
	static const char *const unusable[] = {
		"From: alice",
		"From: undisclosed-recipients:;",
		"From: <>",
	};

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		check_signs(p, "plain", HDRS(forms[i]), "example.com", "gsel");
	for (size_t i = 0; i < sizeof(unusable) / sizeof(unusable[0]); i++)
		check_not(p, "plain", HDRS(unusable[i]), VDKIM_VERDICT_NOSIGN,
		    VDKIM_WHY_NO_IDENTITY);
	/* No From: at all. */
	check_not(p, "plain", NOHDRS, VDKIM_VERDICT_NOSIGN,
	    VDKIM_WHY_NO_IDENTITY);
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(sender_or_from)
{
	vdkim_policy *p = load_ok("select.conf");
	const char *const *h = HDRS("From: Alice <alice@example.com>",
	    "Sender: Bounces <bounce@esp.example>");

	/* sender-or-from (the default): Sender:'s domain. */
	check_signs(p, "plain", h, "esp.example", "gesp");
	/* strict-from: Sender: ignored. */
	check_signs(p, "strict", h, "example.com", "gsel");
	/* Without Sender:, both take From:. */
	check_signs(p, "plain", HDRS("From: alice@example.com"),
	    "example.com", "gsel");
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(wildcard_keys)
{
	vdkim_policy *p = load_ok("select.conf");
	vdkim_decision d;

	/* d= is the identity's domain. */
	decide(p, "wild", HDRS("From: alice@anything.test"), &d);
	expect_sign(&d, "anything.test", "wsel", VDKIM_ALG_RSA_SHA256);
	free(sign_verify(&d, HDRS("From: alice@anything.test")));
	/* The VMTA's "*" key comes before the global example.com key. */
	check_signs(p, "wild", HDRS("From: alice@news.example.com"),
	    "news.example.com", "wsel");
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(scope_order)
{
	vdkim_policy *p = load_ok("select.conf");
	const char *const *h = HDRS("From: alice@example.com");
	denv de = { "v3", NULL, NULL, "example.net" };
	vdkim_decision d;

	/* VMTA keys, then the pool's, then the global ones. */
	check_signs(p, "v1", h, "example.com", "v1sel");
	check_signs(p, "v2", h, "example.com", "p1sel");
	check_signs(p, "plain", h, "example.com", "gsel");
	/* The pool's keys do not hide global keys of other domains. */
	check_signs(p, "v2", HDRS("From: alice@esp.example"), "esp.example",
	    "gesp");
	/* v3 is in p1 and p2: the first pool listing it, unless told. */
	decide_env(p, &de, h, &d);
	expect_sign(&d, "example.com", "p1sel", VDKIM_ALG_NONE);
	de.pool = "p2";
	decide_env(p, &de, h, &d);
	expect_sign(&d, "example.com", "p2sel", VDKIM_ALG_NONE);
	free(sign_verify(&d, h));
	de.pool = "p1";
	decide_env(p, &de, h, &d);
	expect_sign(&d, "example.com", "p1sel", VDKIM_ALG_NONE);
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(disabled_and_unknown)
{
	vdkim_policy *p = load_ok("select.conf");
	const char *const *h = HDRS("From: alice@example.com");
	vdkim_decision d;

	/* Global yes, VMTA no. */
	check_not(p, "off", h, VDKIM_VERDICT_NOSIGN, VDKIM_WHY_DISABLED);
	decide(p, "nosuch", h, &d);
	expect_not(&d, VDKIM_VERDICT_NOSIGN, VDKIM_WHY_UNKNOWN_VMTA);
	ck_assert_msg(strstr(d.detail, "nosuch") != NULL,
	    "the detail should name the VMTA: %s", d.detail);
	/* VMTA names are case-sensitive, as PowerMTA's are. */
	check_not(p, "PLAIN", h, VDKIM_VERDICT_NOSIGN,
	    VDKIM_WHY_UNKNOWN_VMTA);
	/* A pool is no VMTA. */
	check_not(p, "p1", h, VDKIM_VERDICT_NOSIGN, VDKIM_WHY_UNKNOWN_VMTA);
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(identity_fallback)
{
	vdkim_policy *p = load_ok("select.conf");

	vdkim_decision d;

	decide(p, "fallback", HDRS("From: alice@nokey.test"), &d);
	expect_sign(&d, "esp.example", "gesp", VDKIM_ALG_NONE);
	/* The fallback picks the domain; it is no explicit i=. */
	ck_assert_ptr_null(d.specs[0].identity);
	free(sign_verify(&d, HDRS("From: alice@nokey.test")));
	/* Only when no key matches the identity. */
	check_signs(p, "fallback", HDRS("From: alice@news.example.com"),
	    "example.com", "gsel");
	check_not(p, "plain", HDRS("From: alice@nokey.test"),
	    VDKIM_VERDICT_NOSIGN, VDKIM_WHY_NO_KEY);
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(fixed_identity)
{
	vdkim_policy *p = load_ok("select.conf");
	const char *const *h = HDRS("From: alice@other.test",
	    "Sender: bounce@esp.example");
	vdkim_decision d;
	char *s;
	char buf[512];

	decide(p, "fixed", h, &d);
	expect_sign(&d, "example.com", "gsel", VDKIM_ALG_NONE);
	ck_assert_ptr_nonnull(d.specs[0].identity);
	ck_assert_str_eq(d.specs[0].identity, "@example.com");
	s = sign_verify(&d, h);
	ck_assert(tag_of(s, 0, "i", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "@example.com");
	free(s);

	decide(p, "fixeduser", h, &d);
	expect_sign(&d, "example.com", "gsel", VDKIM_ALG_NONE);
	ck_assert_ptr_nonnull(d.specs[0].identity);
	ck_assert_str_eq(d.specs[0].identity, "bounces@news.example.com");
	s = sign_verify(&d, h);
	ck_assert(tag_of(s, 0, "i", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "bounces@news.example.com");
	free(s);

	/* Without an explicit identity there is no i=. */
	decide(p, "plain", HDRS("From: alice@example.com"), &d);
	expect_sign(&d, "example.com", "gsel", VDKIM_ALG_NONE);
	s = sign_verify(&d, HDRS("From: alice@example.com"));
	ck_assert(!tag_of(s, 0, "i", buf, sizeof(buf)));
	free(s);
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(algorithm_choice)
{
	vdkim_policy *p = load_ok("select.conf");
	const char *const *h = HDRS("From: alice@example.com");
	vdkim_decision d;

	/* The RSA key comes first; dkim-algorithm picks the Ed25519 one. */
	decide(p, "edpick", h, &d);
	expect_sign(&d, "example.com", "eded", VDKIM_ALG_ED25519_SHA256);
	ck_assert_uint_eq(d.nsigs, 1);
	free(sign_verify(&d, h));

	/* And the other way round, with a second signature. */
	decide(p, "dual", h, &d);
	expect_sign(&d, "example.com", "dualrsa", VDKIM_ALG_RSA_SHA256);
	ck_assert_uint_eq(d.nsigs, 2);
	ck_assert_str_eq(d.specs[1].domain, "example.com");
	ck_assert_str_eq(d.specs[1].selector, "dualed");
	ck_assert_int_eq(vdkim_key_get_alg(d.specs[1].key),
	    VDKIM_ALG_ED25519_SHA256);
	free(sign_verify(&d, h));

	/* second-dkim-sign defaults to no. */
	decide(p, "plain", h, &d);
	expect_sign(&d, "example.com", "gsel", VDKIM_ALG_RSA_SHA256);
	ck_assert_uint_eq(d.nsigs, 1);
	vdkim_policy_unref(p);
}
END_TEST

/* ------------------------------------------ domain blocks, inheritance */

START_TEST(domain_blocks)
{
	static const struct {
		const char *rcpt;
		long expire;     /* 0: not signed (dkim-sign no) */
	} cases[] = {
		{ "mx.example.net", 400 },
		{ "MX.Example.NET", 400 },
		{ "a.deep.example.net", 300 },
		{ "b.a.deep.example.net", 300 },
		{ "deep.example.net", 200 },  /* "*.deep..." is subdomains */
		{ "other.example.net", 200 },
		{ "example.net", 100 },       /* "*.example.net" too */
		{ "example.org", 100 },
		{ "quiet.example.net", 0 },
	};
	vdkim_policy *p = load_ok("inherit.conf");
	const char *const *h = HDRS("From: alice@example.com");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		denv de = { "blocks", NULL, NULL, cases[i].rcpt };
		vdkim_decision d;

		decide_env(p, &de, h, &d);
		if (cases[i].expire == 0) {
			expect_not(&d, VDKIM_VERDICT_NOSIGN,
			    VDKIM_WHY_DISABLED);
			continue;
		}
		expect_sign(&d, "example.com", "isel", VDKIM_ALG_NONE);
		ck_assert_msg(d.specs[0].expire_after == cases[i].expire,
		    "rcpt %s: expire_after %ld, expected %ld", cases[i].rcpt,
		    d.specs[0].expire_after, cases[i].expire);
	}
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(inheritance)
{
	vdkim_policy *p = load_ok("inherit.conf");
	const char *const *h = HDRS("From: alice@example.com");
	vdkim_decision d;
	char *s;
	char c[64], t[64], x[64];

	/* child: dkim-sign from the VMTA, header canon and x= from its pool,
	 * body canon and t= from the global rules. */
	decide(p, "child", h, &d);
	expect_sign(&d, "example.com", "isel", VDKIM_ALG_NONE);
	ck_assert_int_eq(d.specs[0].body_canon, VDKIM_CANON_SIMPLE);
	ck_assert_int_eq(d.specs[0].header_canon, VDKIM_CANON_SIMPLE);
	ck_assert_int_eq(d.specs[0].expire_after, 3600);
	ck_assert_int_eq(d.specs[0].add_timestamp, 0);
	s = sign_verify(&d, h);
	ck_assert(tag_of(s, 0, "c", c, sizeof(c)));
	ck_assert_str_eq(c, "simple/simple");
	ck_assert(tag_of(s, 0, "t", t, sizeof(t)));
	ck_assert(tag_of(s, 0, "x", x, sizeof(x)));
	ck_assert_int_eq(atoll(x) - atoll(t), 3600);
	free(s);

	/* loner: no pool; the global rules fill in. */
	decide(p, "loner", h, &d);
	expect_sign(&d, "example.com", "isel", VDKIM_ALG_NONE);
	ck_assert_int_eq(d.specs[0].body_canon, VDKIM_CANON_SIMPLE);
	ck_assert_int_eq(d.specs[0].header_canon, VDKIM_CANON_RELAXED);
	ck_assert_int_eq(d.specs[0].expire_after, 7 * 86400);
	s = sign_verify(&d, h);
	ck_assert(tag_of(s, 0, "c", c, sizeof(c)));
	ck_assert_str_eq(c, "relaxed/simple");
	free(s);

	/* Nothing says dkim-sign: the default is no. */
	check_not(p, "bare", h, VDKIM_VERDICT_NOSIGN, VDKIM_WHY_DISABLED);

	/* The VMTA's less specific block before its pool's. */
	{
		denv de = { "layered", NULL, NULL, "mx.example.net" };

		decide_env(p, &de, h, &d);
		expect_sign(&d, "example.com", "isel", VDKIM_ALG_NONE);
		ck_assert_int_eq(d.specs[0].body_canon, VDKIM_CANON_SIMPLE);
		ck_assert_int_eq(d.specs[0].header_canon, VDKIM_CANON_SIMPLE);
		/* The global "*" block still fills in x=. */
		ck_assert_int_eq(d.specs[0].expire_after, 7 * 86400);
		free(sign_verify(&d, h));
		de.rcpt = "other.example.net";
		decide_env(p, &de, h, &d);
		expect_not(&d, VDKIM_VERDICT_NOSIGN, VDKIM_WHY_DISABLED);
	}
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(options_defaults)
{
	vdkim_policy *p = load_ok("options.conf");
	const char *const *h = HDRS("From: alice@example.com");
	vdkim_decision d;
	char *s;
	char buf[512];

	decide(p, "defaults", h, &d);
	expect_sign(&d, "example.com", "osel", VDKIM_ALG_RSA_SHA256);
	ck_assert_int_eq(d.specs[0].header_canon, VDKIM_CANON_RELAXED);
	ck_assert_int_eq(d.specs[0].body_canon, VDKIM_CANON_RELAXED);
	ck_assert_int_eq(d.specs[0].expire_after, 0);
	ck_assert_int_eq(d.specs[0].add_timestamp, 1);
	ck_assert_int_eq(d.specs[0].body_length, 0);
	ck_assert_ptr_null(d.specs[0].identity);
	ck_assert_int_eq(d.strip_x_dkim_options, 0);
	s = sign_verify(&d, h);
	ck_assert(tag_of(s, 0, "c", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "relaxed/relaxed");
	ck_assert(tag_of(s, 0, "t", buf, sizeof(buf)));
	ck_assert(!tag_of(s, 0, "x", buf, sizeof(buf)));
	ck_assert(!tag_of(s, 0, "l", buf, sizeof(buf)));
	ck_assert(tag_of(s, 0, "h", buf, sizeof(buf)));
	/* The base set, From over-signed. */
	ck_assert_msg(h_count(buf, "from") == 2 && h_count(buf, "to") == 1 &&
	    h_count(buf, "subject") == 1 && h_count(buf, "date") == 1, "h=%s",
	    buf);
	free(s);
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(options_tuned)
{
	vdkim_policy *p = load_ok("options.conf");
	const char *const *h = HDRS("From: alice@example.com");
	static const char *const want[] = { "From", "Subject", "To" };
	vdkim_decision d;
	size_t n = 0;
	char *s;
	char buf[512], t[64];

	decide(p, "tuned", h, &d);
	expect_sign(&d, "example.com", "osel", VDKIM_ALG_RSA_SHA256);
	ck_assert_int_eq(d.specs[0].header_canon, VDKIM_CANON_SIMPLE);
	ck_assert_int_eq(d.specs[0].body_canon, VDKIM_CANON_SIMPLE);
	ck_assert_int_eq(d.specs[0].expire_after, 7 * 86400);
	ck_assert_int_eq(d.specs[0].add_timestamp, 1);
	ck_assert_int_eq(d.specs[0].body_length, 1);
	/* dkim-headers, with comments inside the list. */
	ck_assert_ptr_nonnull(d.specs[0].headers);
	for (; d.specs[0].headers[n] != NULL; n++) {
		ck_assert_uint_lt(n, 3);
		ck_assert_msg(strcasecmp(d.specs[0].headers[n], want[n]) == 0,
		    "headers[%zu] = %s, expected %s", n,
		    d.specs[0].headers[n], want[n]);
	}
	ck_assert_uint_eq(n, 3);
	s = sign_verify(&d, h);
	ck_assert(tag_of(s, 0, "c", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "simple/simple");
	ck_assert(tag_of(s, 0, "l", buf, sizeof(buf)));
	ck_assert(tag_of(s, 0, "t", t, sizeof(t)));
	ck_assert(tag_of(s, 0, "x", buf, sizeof(buf)));
	ck_assert_int_eq(atoll(buf) - atoll(t), 7 * 86400);
	ck_assert(tag_of(s, 0, "h", buf, sizeof(buf)));
	/* dkim-disallow-adding-headers: every signed header over-signed;
	 * Date is not in dkim-headers. */
	ck_assert_msg(h_count(buf, "from") == 2 && h_count(buf, "to") == 2 &&
	    h_count(buf, "subject") == 2 && h_count(buf, "date") == 0 &&
	    h_count(buf, "message-id") == 0, "h=%s", buf);
	free(s);
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(options_expiry_forms)
{
	vdkim_policy *p = load_ok("options.conf");
	const char *const *h = HDRS("From: alice@example.com");
	vdkim_decision d;
	char *s;
	char buf[64], t[64];

	decide(p, "seconds", h, &d);
	expect_sign(&d, "example.com", "osel", VDKIM_ALG_NONE);
	ck_assert_int_eq(d.specs[0].expire_after, 3600);
	ck_assert_int_eq(d.specs[0].add_timestamp, 0);
	s = sign_verify(&d, h);
	ck_assert(tag_of(s, 0, "x", buf, sizeof(buf)));
	ck_assert(tag_of(s, 0, "t", t, sizeof(t)));
	ck_assert_int_eq(atoll(buf) - atoll(t), 3600);
	free(s);

	decide(p, "never", h, &d);
	expect_sign(&d, "example.com", "osel", VDKIM_ALG_NONE);
	ck_assert_int_eq(d.specs[0].expire_after, 0);
	s = sign_verify(&d, h);
	ck_assert(!tag_of(s, 0, "x", buf, sizeof(buf)));
	free(s);
	vdkim_policy_unref(p);
}
END_TEST

/* ---------------------------------------------------- X-DKIM-Options */

static void
xdecide(const vdkim_policy *p, const char *source, const char *xopt,
    vdkim_decision *d, const char *const **fields)
{
	static const char *f[3];
	denv de = { "v", NULL, source, "example.net" };

	f[0] = "From: Alice <alice@example.com>";
	f[1] = xopt;
	f[2] = NULL;
	*fields = f;
	decide_env(p, &de, f, d);
}

START_TEST(xopts_allowed)
{
	vdkim_policy *p = load_ok("xopts.conf");
	const char *const *f;
	vdkim_decision d;
	char buf[256];
	char *s;

	/* No options: the normal key, nothing to strip. */
	xdecide(p, "trusted", NULL, &d, &f);
	expect_sign(&d, "example.com", "main", VDKIM_ALG_RSA_SHA256);
	ck_assert_int_eq(d.why, VDKIM_WHY_OK);
	ck_assert_int_eq(d.strip_x_dkim_options, 0);

	xdecide(p, "trusted", "X-DKIM-Options: s=alt; d=example.com", &d,
	    &f);
	expect_sign(&d, "example.com", "alt", VDKIM_ALG_ED25519_SHA256);
	ck_assert_int_eq(d.why, VDKIM_WHY_OK);
	ck_assert_int_eq(d.strip_x_dkim_options, 1);
	free(sign_verify(&d, f));

	xdecide(p, "trusted", "x-dkim-options: d=other.example", &d, &f);
	expect_sign(&d, "other.example", "other", VDKIM_ALG_RSA_SHA256);
	ck_assert_int_eq(d.strip_x_dkim_options, 1);
	free(sign_verify(&d, f));

	/* key-list=: the named list only (its key is never used
	 * otherwise). */
	xdecide(p, "trusted", "X-DKIM-Options: key-list=tenant42", &d, &f);
	expect_sign(&d, "example.com", "t42", VDKIM_ALG_RSA_SHA256);
	ck_assert_int_eq(d.strip_x_dkim_options, 1);
	free(sign_verify(&d, f));

	xdecide(p, "trusted", "X-DKIM-Options: i=@news.example.com", &d, &f);
	expect_sign(&d, "example.com", "main", VDKIM_ALG_NONE);
	ck_assert_ptr_nonnull(d.specs[0].identity);
	ck_assert_str_eq(d.specs[0].identity, "@news.example.com");
	s = sign_verify(&d, f);
	ck_assert(tag_of(s, 0, "i", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "@news.example.com");
	free(s);
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(xopts_refused)
{
	vdkim_policy *p = load_ok("xopts.conf");
	static const char *const sources[] = { "untrusted", "unlisted", NULL };
	const char *const *f;
	vdkim_decision d;

	for (size_t i = 0; i < 3; i++) {
		xdecide(p, sources[i], "X-DKIM-Options: s=alt; d=example.com",
		    &d, &f);
		/* Signed by the normal rules, the refusal noted. */
		expect_sign(&d, "example.com", "main", VDKIM_ALG_RSA_SHA256);
		ck_assert_msg(d.why == VDKIM_WHY_OPTIONS_REFUSED,
		    "source %s: why %s", sources[i] ? sources[i] : "(none)",
		    vdkim_why_name(d.why));
		ck_assert_int_eq(d.strip_x_dkim_options, 1);
		free(sign_verify(&d, f));
		/* Nothing to refuse without the header. */
		xdecide(p, sources[i], NULL, &d, &f);
		expect_sign(&d, "example.com", "main", VDKIM_ALG_NONE);
		ck_assert_int_eq(d.why, VDKIM_WHY_OK);
		ck_assert_int_eq(d.strip_x_dkim_options, 0);
	}
	vdkim_policy_unref(p);
}
END_TEST

/* A note on SIGN (the message then signs and verifies) or a NOSIGN; never
 * a DEFER without dkim-require. */
static void
expect_options_problem(const vdkim_decision *d, const char *const *f,
    vdkim_why why, const char *what)
{
	ck_assert_msg(d->why == why, "%s: why %s, expected %s (%.*s)", what,
	    vdkim_why_name(d->why), vdkim_why_name(why), DETAIL(d));
	ck_assert_int_eq(d->strip_x_dkim_options, 1);
	ck_assert_msg(d->verdict != VDKIM_VERDICT_DEFER, "%s: deferred",
	    what);
	if (d->verdict == VDKIM_VERDICT_SIGN)
		free(sign_verify(d, f));
}

START_TEST(xopts_problems)
{
	vdkim_policy *p = load_ok("xopts.conf");
	const char *const *f;
	vdkim_decision d;

	xdecide(p, "trusted", "X-DKIM-Options: this is not a tag list", &d,
	    &f);
	expect_options_problem(&d, f, VDKIM_WHY_OPTIONS_INVALID, "malformed");
	xdecide(p, "trusted", "X-DKIM-Options: s=nosuch; d=example.com", &d,
	    &f);
	expect_options_problem(&d, f, VDKIM_WHY_OPTIONS_NO_KEY,
	    "unknown selector");
	xdecide(p, "trusted", "X-DKIM-Options: s=alt; d=nokey.test", &d, &f);
	expect_options_problem(&d, f, VDKIM_WHY_OPTIONS_NO_KEY,
	    "unknown domain");
	/* key-list= restricts the choice to that list: main is not in it. */
	xdecide(p, "trusted", "X-DKIM-Options: key-list=tenant42; s=main", &d,
	    &f);
	expect_options_problem(&d, f, VDKIM_WHY_OPTIONS_NO_KEY,
	    "a key outside the list");
	/* A list that does not exist: never a signature with another key. */
	xdecide(p, "trusted", "X-DKIM-Options: key-list=nosuch", &d, &f);
	ck_assert_msg(d.why == VDKIM_WHY_OPTIONS_INVALID ||
	    d.why == VDKIM_WHY_OPTIONS_NO_KEY, "unknown list: why %s",
	    vdkim_why_name(d.why));
	ck_assert_int_eq(d.strip_x_dkim_options, 1);
	ck_assert_int_ne(d.verdict, VDKIM_VERDICT_SIGN);
	/* Even for a VMTA the config does not know, the header goes. */
	{
		denv de = { "nosuch", NULL, "trusted", "example.net" };

		decide_env(p, &de, HDRS("From: alice@example.com",
		    "X-DKIM-Options: s=alt"), &d);
		expect_not(&d, VDKIM_VERDICT_NOSIGN, VDKIM_WHY_UNKNOWN_VMTA);
		ck_assert_int_eq(d.strip_x_dkim_options, 1);
	}
	vdkim_policy_unref(p);
}
END_TEST

/* ------------------------------------------------------- dkim-require */

START_TEST(require_outcomes)
{
	vdkim_policy *p = load_ok("require.conf");
	const char *const *nokey = HDRS("From: alice@nokey.test");
	const char *const *broken = HDRS("From: alice@broken.example");
	const char *const *good = HDRS("From: alice@example.com");

	check_not(p, "req", nokey, VDKIM_VERDICT_DEFER, VDKIM_WHY_NO_KEY);
	check_not(p, "req", broken, VDKIM_VERDICT_DEFER,
	    VDKIM_WHY_KEY_NOT_LOADED);
	check_not(p, "req", NOHDRS, VDKIM_VERDICT_DEFER,
	    VDKIM_WHY_NO_IDENTITY);
	check_signs(p, "req", good, "example.com", "rsel");
	/* The same without dkim-require. */
	check_not(p, "noreq", nokey, VDKIM_VERDICT_NOSIGN, VDKIM_WHY_NO_KEY);
	check_not(p, "noreq", broken, VDKIM_VERDICT_NOSIGN,
	    VDKIM_WHY_KEY_NOT_LOADED);
	check_signs(p, "noreq", good, "example.com", "rsel");
	/* dkim-require only concerns messages that should be signed. */
	check_not(p, "reqoff", good, VDKIM_VERDICT_NOSIGN,
	    VDKIM_WHY_DISABLED);
	check_not(p, "reqoff", nokey, VDKIM_VERDICT_NOSIGN,
	    VDKIM_WHY_DISABLED);
	vdkim_policy_unref(p);
}
END_TEST

/* --------------------------------------------------------- dkim-align */

static void
check_aligned(const vdkim_policy *p, const char *vmta,
    const char *const *h, const char *domain, const char *selector,
    vdkim_why why, int aligned)
{
	vdkim_decision d;

	decide(p, vmta, h, &d);
	expect_sign(&d, domain, selector, VDKIM_ALG_NONE);
	ck_assert_msg(d.why == why, "%s: why %s, expected %s (%.*s)", vmta,
	    vdkim_why_name(d.why), vdkim_why_name(why), DETAIL(&d));
	ck_assert_msg(d.aligned == aligned, "%s d=%s: aligned %d", vmta,
	    domain, d.aligned);
	free(sign_verify(&d, h));
}

START_TEST(align_modes)
{
	vdkim_policy *p = load_ok("align.conf");
	const char *const *h = HDRS("From: Alice <alice@news.example.com>",
	    "Sender: bounce@esp.example");
	vdkim_decision d;

	/* Off: sender-or-from picks the ESP's key. */
	decide(p, "unaligned", h, &d);
	expect_sign(&d, "esp.example", "esp", VDKIM_ALG_NONE);
	ck_assert_int_eq(d.why, VDKIM_WHY_OK);
	ck_assert_int_eq(d.aligned, 0);
	/* Relaxed: example.com is the organizational domain of From:. */
	check_aligned(p, "relaxed", h, "example.com", "org", VDKIM_WHY_OK, 1);
	check_aligned(p, "strict", HDRS("From: alice@example.com",
	    "Sender: bounce@esp.example"), "example.com", "org",
	    VDKIM_WHY_OK, 1);
	/* Strict, no key for exactly other.example.com: signed anyway
	 * with the identity's key, the reason noted. */
	check_aligned(p, "strict", HDRS("From: alice@other.example.com",
	    "Sender: bounce@esp.example"), "esp.example", "esp",
	    VDKIM_WHY_NOT_ALIGNED, 0);
	/* Relaxed accepts the parent. */
	check_aligned(p, "relaxed", HDRS("From: alice@other.example.com",
	    "Sender: bounce@esp.example"), "example.com", "org",
	    VDKIM_WHY_OK, 1);
	/* No aligned key at all. */
	check_aligned(p, "relaxed", HDRS("From: alice@nokey.test",
	    "Sender: bounce@esp.example"), "esp.example", "esp",
	    VDKIM_WHY_NOT_ALIGNED, 0);
	/* dkim-require does not defer a signed, unaligned message. */
	check_aligned(p, "relaxedreq", HDRS("From: alice@nokey.test",
	    "Sender: bounce@esp.example"), "esp.example", "esp",
	    VDKIM_WHY_NOT_ALIGNED, 0);
	/* Strict: only news.example.com itself will do; its key comes
	 * after example.com's, which also matches the From: domain but does
	 * not align strictly: the search must go on past it. */
	check_aligned(p, "strict", h, "news.example.com", "news",
	    VDKIM_WHY_OK, 1);
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(align_public_suffix)
{
	vdkim_policy *p = load_ok("align.conf");
	const char *const *h = HDRS("From: alice@x.example.co.uk");

	/* Without alignment the first parent key is co.uk's. */
	check_signs(p, "unaligned", h, "co.uk", "cosel");
	/* Only co.uk's key matches: signed, not aligned (co.uk and
	 * other.co.uk share no organizational domain). */
	check_aligned(p, "relaxed", HDRS("From: alice@y.other.co.uk"),
	    "co.uk", "cosel", VDKIM_WHY_NOT_ALIGNED, 0);
	/* The org domain of x.example.co.uk is example.co.uk (co.uk is a
	 * public suffix): the co.uk key, first in file order, does not
	 * align; example.co.uk's, after it, does. */
	check_aligned(p, "relaxed", h, "example.co.uk", "uk", VDKIM_WHY_OK,
	    1);
	check_aligned(p, "strict", HDRS("From: alice@example.co.uk"),
	    "example.co.uk", "uk", VDKIM_WHY_OK, 1);
	vdkim_policy_unref(p);
}
END_TEST

/* ------------------------------------- never unsigned by surprise */

/* The detail holds needle. */
static void
expect_detail(const vdkim_decision *d, const char *needle)
{
	ck_assert_msg(strstr(d->detail, needle) != NULL, "the detail should "
	    "say \"%s\": %.*s", needle, DETAIL(d));
}

START_TEST(unknown_vmta_required)
{
	vdkim_policy *p = load_ok("unsigned.conf");
	const char *const *h = HDRS("From: alice@example.com");
	vdkim_decision d;
	char where[PATH_MAX + 64];

	/* The global scope requires signing: a VMTA it does not know is
	 * deferred, not sent unsigned, and the sentence says why. */
	decide(p, "nosuch", h, &d);
	expect_not(&d, VDKIM_VERDICT_DEFER, VDKIM_WHY_UNKNOWN_VMTA);
	expect_detail(&d, "nosuch");
	snprintf(where, sizeof(where), "dkim-require yes in the top-level "
	    "domain \"*\" (%s/unsigned.conf:16)", tmpdir);
	expect_detail(&d, where);
	ck_assert_int_eq(d.require, 1);
	vdkim_policy_unref(p);

	/* Without a global dkim-require it still goes unsigned. */
	p = load_ok("select.conf");
	check_not(p, "nosuch", h, VDKIM_VERDICT_NOSIGN,
	    VDKIM_WHY_UNKNOWN_VMTA);
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(sign_no_means_none)
{
	vdkim_policy *p = load_ok("unsigned.conf");
	const char *const *h = HDRS("From: alice@example.com");
	vdkim_decision d;
	char where[PATH_MAX + 64];

	/* Both signatures elsewhere. */
	decide(p, "plain", h, &d);
	expect_sign(&d, "example.com", "rsel", VDKIM_ALG_RSA_SHA256);
	ck_assert_uint_eq(d.nsigs, 2);
	ck_assert_str_eq(d.specs[1].selector, "edsel");
	free(sign_verify(&d, h));

	/* dkim-sign no in the VMTA: no Ed25519-only signature from the
	 * global second-dkim-sign, and no deferral either (the message is
	 * not to be signed, so dkim-require has nothing to require). */
	decide(p, "news", h, &d);
	expect_not(&d, VDKIM_VERDICT_NOSIGN, VDKIM_WHY_DISABLED);
	ck_assert_int_eq(d.aligned, 0);
	snprintf(where, sizeof(where), "dkim-sign no in virtual-mta \"news\" "
	    "domain \"*\" (%s/unsigned.conf:28)", tmpdir);
	expect_detail(&d, where);
	expect_detail(&d, "second-dkim-sign");
	vdkim_policy_unref(p);

	/* The most specific block that said no is the one named. */
	p = load_ok("inherit.conf");
	{
		denv de = { "blocks", NULL, NULL, "quiet.example.net" };

		decide_env(p, &de, h, &d);
		expect_not(&d, VDKIM_VERDICT_NOSIGN, VDKIM_WHY_DISABLED);
		snprintf(where, sizeof(where), "virtual-mta \"blocks\" domain "
		    "\"quiet.example.net\" (%s/inherit.conf:50)", tmpdir);
		expect_detail(&d, where);
	}
	/* Where no block says anything, the sentence says so. */
	decide(p, "bare", h, &d);
	expect_not(&d, VDKIM_VERDICT_NOSIGN, VDKIM_WHY_DISABLED);
	expect_detail(&d, "no matching domain block says dkim-sign yes");
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(second_only_beside_first)
{
	vdkim_policy *p = load_ok("unsigned.conf");
	const char *const *h = HDRS("From: alice@edonly.example");
	vdkim_decision d;

	/* No RSA key for the first signature: the Ed25519 key alone does
	 * not sign, with or without dkim-require. */
	decide(p, "plain", h, &d);
	expect_not(&d, VDKIM_VERDICT_DEFER, VDKIM_WHY_NO_KEY);
	decide(p, "loose", h, &d);
	expect_not(&d, VDKIM_VERDICT_NOSIGN, VDKIM_WHY_NO_KEY);
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(xopts_identity)
{
	/* i= values the signer refuses: the options are refused as a
	 * whole, the message signed by the config's rules (and it signs:
	 * sign_verify). */
	static const char *const refused[] = {
		"X-DKIM-Options: d=example.com; i=a b@example.com",
		"X-DKIM-Options: i=a=b@example.com",
		"X-DKIM-Options: i=b\xc3\xbc@example.com",
		"X-DKIM-Options: i=a..b@example.com",
		/* Not within the d= named ... */
		"X-DKIM-Options: d=example.com; i=@other.example",
		/* ... or the d= of the key s= names. */
		"X-DKIM-Options: s=alt; i=@other.example",
	};
	vdkim_policy *p = load_ok("xopts.conf");
	const char *const *f;
	vdkim_decision d;
	char buf[256];
	char *s;

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		xdecide(p, "trusted", refused[i], &d, &f);
		ck_assert_msg(d.verdict == VDKIM_VERDICT_SIGN &&
		    d.why == VDKIM_WHY_OPTIONS_REFUSED, "%s: %s (%s: %.*s)",
		    refused[i], vdkim_verdict_name(d.verdict),
		    vdkim_why_name(d.why), DETAIL(&d));
		expect_sign(&d, "example.com", "main", VDKIM_ALG_RSA_SHA256);
		ck_assert_ptr_null(d.specs[0].identity);
		expect_detail(&d, "i=");
		ck_assert_int_eq(d.strip_x_dkim_options, 1);
		free(sign_verify(&d, f));
	}
	/* What i= can carry is still honoured. */
	xdecide(p, "trusted", "X-DKIM-Options: s=alt; "
	    "i=first.last+tag@news.example.com", &d, &f);
	expect_sign(&d, "example.com", "alt", VDKIM_ALG_ED25519_SHA256);
	ck_assert_int_eq(d.why, VDKIM_WHY_OK);
	s = sign_verify(&d, f);
	ck_assert(tag_of(s, 0, "i", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "first.last+tag@news.example.com");
	free(s);
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(multiple_from)
{
	vdkim_policy *p = load_ok("unsigned.conf");
	const char *const *two = HDRS("From: alice@example.com",
	    "From: bob@example.com");
	vdkim_decision d;

	decide(p, "plain", two, &d);
	expect_not(&d, VDKIM_VERDICT_DEFER, VDKIM_WHY_MULTIPLE_FROM);
	expect_detail(&d, "2 From: fields");
	decide(p, "loose", two, &d);
	expect_not(&d, VDKIM_VERDICT_NOSIGN, VDKIM_WHY_MULTIPLE_FROM);
	/* A From: with two mailboxes is one field. */
	check_signs(p, "loose", HDRS("From: alice@example.com, "
	    "bob@example.com", "Sender: alice@example.com"), "example.com",
	    "rsel");
	/* Not to be signed anyway: that is the reason given. */
	check_not(p, "news", two, VDKIM_VERDICT_NOSIGN, VDKIM_WHY_DISABLED);
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(utf8_domains)
{
	vdkim_policy *p = load_ok("unsigned.conf");
	vdkim_decision d;

	/* A key given in U-labels, a From: domain in UTF-8 (RFC 6532). */
	check_signs(p, "plain", HDRS("From: J\xc3\xb6rg <j\xc3\xb6rg@"
	    "b\xc3\xbc" "cher.example>"), "xn--bcher-kva.example", "idn");
	/* Upper case folds (UTS #46 mapping). */
	check_signs(p, "plain", HDRS("From: j@B\xc3\x9c" "CHER.example"),
	    "xn--bcher-kva.example", "idn");
	/* A key given in A-labels, the From: domain in UTF-8. */
	decide(p, "plain", HDRS("From: info@m\xc3\xbcnchen.example"), &d);
	expect_sign(&d, "xn--mnchen-3ya.example", "muc",
	    VDKIM_ALG_RSA_SHA256);
	ck_assert_uint_eq(d.nsigs, 2);
	ck_assert_str_eq(d.specs[1].selector, "muced");
	free(sign_verify(&d, HDRS("From: info@m\xc3\xbcnchen.example")));
	/* ... and in A-labels. */
	check_signs(p, "plain", HDRS("From: info@xn--mnchen-3ya.example"),
	    "xn--mnchen-3ya.example", "muc");
	/* Bytes that are no UTF-8: no identity, deferred. */
	check_not(p, "plain", HDRS("From: a@b\xff.example"),
	    VDKIM_VERDICT_DEFER, VDKIM_WHY_NO_IDENTITY);
	vdkim_policy_unref(p);
}
END_TEST

/* ------------------------------------------------ dkim-dns-check rules */

/* A config of VMTA "v" with keys s1 then s2 for d.example (dkim-require
 * yes), and VMTA "only" with s1 alone (no dkim-require), under mode (NULL:
 * dkim-dns-check not set); the DNS verdicts in state (NULL: no file).
 * The policy, loaded; NULL with err when the load fails. */
static vdkim_policy *
dns_policy(const char *mode, const char *state, vdkim_error *err)
{
	char conf[PATH_MAX], st[PATH_MAX], *text;
	vdkim_policy *p = NULL;
	int n;

	tmp_path(conf, sizeof(conf), "dns.conf");
	tmp_path(st, sizeof(st), "dns.state");
	unlink(st);
	if (state != NULL)
		write_file(st, state, strlen(state), 0644);
	n = asprintf(&text,
	    "dns-check-state-file = \"%s\"\n"
	    "virtual-mta v {\n"
	    "  domain-key = \"s1,d.example,%s/rsa.pem\"\n"
	    "  domain-key = \"s2,d.example,%s/rsa.pem\"\n"
	    "  domain \"*\" { dkim-sign = yes\n dkim-require = yes\n %s%s }\n"
	    "}\n"
	    "virtual-mta only {\n"
	    "  domain-key = \"s1,d.example,%s/rsa.pem\"\n"
	    "  domain \"*\" { dkim-sign = yes\n %s%s }\n"
	    "}\n", st, tmpdir, tmpdir, mode ? "dkim-dns-check = " : "",
	    mode ? mode : "", tmpdir, mode ? "dkim-dns-check = " : "",
	    mode ? mode : "");
	ck_assert_int_gt(n, 0);
	write_file(conf, text, strlen(text), 0644);
	free(text);
	if (vdkim_policy_load(conf, &p, err) != VDKIM_OK)
		return NULL;
	return p;
}

#define S1_MISMATCHED "vdkim-dns-check-state 1\n" \
	"record d.example s1 mismatched 100 200\nend 1\n"
#define S1_MISSING "vdkim-dns-check-state 1\n" \
	"record d.example s1 missing 100 200\nend 1\n"
#define BOTH_FAIL "vdkim-dns-check-state 1\n" \
	"record d.example s1 revoked 100 200\n" \
	"record d.example s2 wrong-type 100 200\nend 2\n"
#define S1_TESTING "vdkim-dns-check-state 1\n" \
	"record d.example s1 testing 100 200\nend 1\n"

START_TEST(dns_check_rules)
{
	static const char *const from[] = { "From: a@d.example", NULL };
	vdkim_error err = { VDKIM_OK, "" };
	vdkim_decision d;
	vdkim_policy *p;

	/* warn (the default): the failed key signs, with the note. */
	p = dns_policy(NULL, S1_MISMATCHED, &err);
	ck_assert_msg(p != NULL, "%s", err.msg);
	decide(p, "v", from, &d);
	expect_sign(&d, "d.example", "s1", VDKIM_ALG_NONE);
	ck_assert_int_eq(d.why, VDKIM_WHY_DNS_MISMATCH);
	ck_assert_str_eq(vdkim_why_name(d.why), "dns-mismatch");
	vdkim_policy_unref(p);
	p = dns_policy("warn", S1_MISSING, &err);
	ck_assert_msg(p != NULL, "%s", err.msg);
	decide(p, "v", from, &d);
	expect_sign(&d, "d.example", "s1", VDKIM_ALG_NONE);
	ck_assert_str_eq(vdkim_why_name(d.why), "dns-missing");
	vdkim_policy_unref(p);
	/* A warning of the check (t=y) is no failure. */
	p = dns_policy("require", S1_TESTING, &err);
	ck_assert_msg(p != NULL, "%s", err.msg);
	decide(p, "v", from, &d);
	expect_sign(&d, "d.example", "s1", VDKIM_ALG_NONE);
	ck_assert_int_eq(d.why, VDKIM_WHY_OK);
	vdkim_policy_unref(p);
	/* off: no note. */
	p = dns_policy("off", S1_MISMATCHED, &err);
	ck_assert_msg(p != NULL, "%s", err.msg);
	decide(p, "v", from, &d);
	expect_sign(&d, "d.example", "s1", VDKIM_ALG_NONE);
	ck_assert_int_eq(d.why, VDKIM_WHY_OK);
	vdkim_policy_unref(p);
	/* require: the next key signs; none left: deferred under
	 * dkim-require, unsigned without. */
	p = dns_policy("require", S1_MISMATCHED, &err);
	ck_assert_msg(p != NULL, "%s", err.msg);
	decide(p, "v", from, &d);
	expect_sign(&d, "d.example", "s2", VDKIM_ALG_NONE);
	ck_assert_int_eq(d.why, VDKIM_WHY_OK);
	decide(p, "only", from, &d);
	expect_not(&d, VDKIM_VERDICT_NOSIGN, VDKIM_WHY_KEY_DNS_MISMATCH);
	ck_assert_str_eq(vdkim_why_name(d.why), "key-dns-mismatch");
	vdkim_policy_unref(p);
	p = dns_policy("require", BOTH_FAIL, &err);
	ck_assert_msg(p != NULL, "%s", err.msg);
	decide(p, "v", from, &d);
	expect_not(&d, VDKIM_VERDICT_DEFER, VDKIM_WHY_KEY_DNS_MISMATCH);
	ck_assert_ptr_nonnull(strstr(d.detail, "revoked"));
	vdkim_policy_unref(p);
	/* Never checked (no file, or no record): not failed. */
	p = dns_policy("require", NULL, &err);
	ck_assert_msg(p != NULL, "%s", err.msg);
	decide(p, "only", from, &d);
	expect_sign(&d, "d.example", "s1", VDKIM_ALG_NONE);
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(dns_check_damaged_state)
{
	static const char *const from[] = { "From: a@d.example", NULL };
	vdkim_error err = { VDKIM_OK, "" };
	vdkim_decision d;
	vdkim_policy *p;
	char *all;

	/* warn: loads, warns, every key unchecked. */
	p = dns_policy("warn", "vdkim-dns-check-state 1\nrecord d.example "
	    "s1 mismatched 1 2\n", &err);
	ck_assert_msg(p != NULL, "%s", err.msg);
	all = all_warnings(p);
	ck_assert_msg(strstr(all, "dns.state:2: the file is truncated") !=
	    NULL && strstr(all, "check-dns keeps its readable records and "
	    "repairs it") != NULL, "%s", all);
	free(all);
	decide(p, "v", from, &d);
	expect_sign(&d, "d.example", "s1", VDKIM_ALG_NONE);
	ck_assert_int_eq(d.why, VDKIM_WHY_OK);
	vdkim_policy_unref(p);
	/* require: the load fails (a reload keeps the policy in force). */
	p = dns_policy("require", "not a state file\n", &err);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(err.rc, VDKIM_ESYNTAX);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a DNS check state file"));
}
END_TEST

Suite *
policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *err = tcase_create("errors");
	TCase *keys = tcase_create("keys");
	TCase *sel = tcase_create("selection");
	TCase *opt = tcase_create("options");
	TCase *rules = tcase_create("xopts_require_align");

	tcase_add_unchecked_fixture(err, policy_setup, policy_teardown);
	tcase_set_timeout(err, TEST_TIMEOUT);
	tcase_add_loop_test(err, parse_error_lines, 0,
	    (int)(sizeof(bad_confs) / sizeof(bad_confs[0])));
	tcase_add_test(err, missing_file);
	tcase_add_test(err, empty_config);
	tcase_add_test(err, global_only);
	tcase_add_test(err, why_names);
	tcase_add_test(err, bad_arguments);
	suite_add_tcase(s, err);

	tcase_add_unchecked_fixture(keys, policy_setup, policy_teardown);
	tcase_set_timeout(keys, TEST_TIMEOUT);
	tcase_add_test(keys, key_warnings);
	tcase_add_test(keys, key_decisions);
	tcase_add_test(keys, key_algorithm_missing);
	suite_add_tcase(s, keys);

	tcase_add_unchecked_fixture(sel, policy_setup, policy_teardown);
	tcase_set_timeout(sel, TEST_TIMEOUT);
	tcase_add_test(sel, refcount_and_describe);
	tcase_add_test(sel, parent_domains);
	tcase_add_test(sel, exact_key_domains);
	tcase_add_test(sel, from_forms);
	tcase_add_test(sel, sender_or_from);
	tcase_add_test(sel, wildcard_keys);
	tcase_add_test(sel, scope_order);
	tcase_add_test(sel, disabled_and_unknown);
	tcase_add_test(sel, identity_fallback);
	tcase_add_test(sel, fixed_identity);
	tcase_add_test(sel, algorithm_choice);
	suite_add_tcase(s, sel);

	tcase_add_unchecked_fixture(opt, policy_setup, policy_teardown);
	tcase_set_timeout(opt, TEST_TIMEOUT);
	tcase_add_test(opt, domain_blocks);
	tcase_add_test(opt, inheritance);
	tcase_add_test(opt, options_defaults);
	tcase_add_test(opt, options_tuned);
	tcase_add_test(opt, options_expiry_forms);
	suite_add_tcase(s, opt);

	tcase_add_unchecked_fixture(rules, policy_setup, policy_teardown);
	tcase_set_timeout(rules, TEST_TIMEOUT);
	tcase_add_test(rules, xopts_allowed);
	tcase_add_test(rules, xopts_refused);
	tcase_add_test(rules, xopts_problems);
	tcase_add_test(rules, require_outcomes);
	tcase_add_test(rules, align_modes);
	tcase_add_test(rules, align_public_suffix);
	tcase_add_test(rules, unknown_vmta_required);
	tcase_add_test(rules, sign_no_means_none);
	tcase_add_test(rules, second_only_beside_first);
	tcase_add_test(rules, xopts_identity);
	tcase_add_test(rules, multiple_from);
	tcase_add_test(rules, utf8_domains);
	tcase_add_test(rules, dns_check_rules);
	tcase_add_test(rules, dns_check_damaged_state);
	suite_add_tcase(s, rules);
	return s;
}
