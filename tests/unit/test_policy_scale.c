/*
 * test_policy_scale.c - an email service provider's config: many
 * domain-keys, key files shared and reloaded (policy_keys.h), many
 * virtual MTAs (conf_untitle_top), the decision's indexes
 * (policy_index.c).  Correctness only: bench/scale_bench measures speed.
 *
 *   many_keys_sign      10,000 domain-keys over 10,000 files holding
 *                       2,500 distinct keys: each content parsed once,
 *                       and every domain signs with its own key (verified
 *                       against the record of the key written to its
 *                       file, not of the key loaded)
 *   reload_picks_changes  changed, removed and added key files: exactly
 *                       those re-parsed and taken; a file only touched
 *                       (same content) is not re-parsed
 *   broken_key_keeps_old  a key file replaced by a broken one: the reload
 *                       fails naming FILE:LINE, the key file and why; the
 *                       policy in use goes on signing with the old key
 *   keys_on_demand      vdkimctl's load (POLICY_LOAD_KEYS_ON_DEMAND): no
 *                       key file read at load, a broken one of another
 *                       domain does not stop a domain from signing, the
 *                       picked broken one names its file and why; a
 *                       host's load is not changed by the call
 *   many_vmtas          2,000 virtual-mta blocks in pools, comments of
 *                       every kind: each block's line, each VMTA's pool
 *                       and key; a repeated title refused on its line
 *   titles_as_before    what libconfuse refused (no title, an unquoted
 *                       wildcard) still refused on its line
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "policy_keys.h"
#include "policy_model.h"
#include "suites.h"
#include "vdkim/policy.h"

#define MANY 10000
#define MANY_DISTINCT 2500
#define FEW 20

static char dir[PATH_MAX - 64]; /* room for a file name after it */

static void
scale_setup(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/vdkim-scale-XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
}

static void
scale_teardown(void)
{
	if (dir[0] != '\0')
		rm_tree(dir);
	dir[0] = '\0';
}

/* ------------------------------------------------------------ keys */

/* A key as written to files: its PEM and its DNS record. */
typedef struct made_key {
	char *pem;
	char *record;
} made_key;

static void
make_key(made_key *m)
{
	vdkim_key *k = NULL;
	vdkim_error err;

	ck_assert_msg(vdkim_key_generate(VDKIM_KEY_ED25519, 0, &k, &err) ==
	    VDKIM_OK, "%s", err.msg);
	ck_assert_msg(vdkim_key_private_pem(k, &m->pem, NULL, &err) ==
	    VDKIM_OK, "%s", err.msg);
	m->record = key_record_of(k);
	vdkim_key_unref(k);
}

static void
free_key(made_key *m)
{
	free(m->pem);
	free(m->record);
}

static const char *
key_file(int j)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/k%05d.pem", dir, j);
	return path;
}

/* Writes key m into file j the way an administrator's tool does: a new
 * file renamed over the old one. */
static void
put_key(int j, const made_key *m)
{
	char tmp[PATH_MAX + 8];

	snprintf(tmp, sizeof(tmp), "%s.new", key_file(j));
	write_file(tmp, m->pem, strlen(m->pem), 0600);
	ck_assert_int_eq(rename(tmp, key_file(j)), 0);
}

/* Writes the config: a domain-key for each j in [0, n) that keep[j]
 * allows (NULL: all), domain dJ.example, file j. */
static const char *
put_conf(int n, const unsigned char *keep)
{
	static char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/keys.conf", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "# %d tenants\n", n);
	for (int j = 0; j < n; j++)
		if (keep == NULL || keep[j])
			fprintf(f, "domain-key = \"s1,d%05d.example,%s\"\n", j,
			    key_file(j));
	fprintf(f, "domain \"*\" {\n\tdkim-sign = yes\n}\n");
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/* DNS for the verifier: sN._domainkey.dJ.example -> records[J]. */
typedef struct dns_table {
	made_key **by_domain;
	int n;
} dns_table;

static vdkim_lookup_rc
table_lookup(void *ctx, const char *qname, char *buf, size_t len)
{
	const dns_table *t = ctx;
	const char *d = strstr(qname, "._domainkey.d");
	int j;

	if (d == NULL || sscanf(d + 13, "%d", &j) != 1 || j < 0 ||
	    j >= t->n || t->by_domain[j] == NULL ||
	    strlen(t->by_domain[j]->record) >= len)
		return VDKIM_LOOKUP_NOTFOUND;
	strcpy(buf, t->by_domain[j]->record);
	return VDKIM_LOOKUP_FOUND;
}

/*
 * A message From: dJ.example decided by p, signed and verified against
 * the table: VDKIM_WHY_OK when it was signed with dJ's key and verifies,
 * else the decision's reason (or -1 when it was signed and does not
 * verify, with why in problem).
 */
static int
sign_for(const vdkim_policy *p, int j, const dns_table *dns, char *problem,
    size_t plen)
{
	vdkim_envelope env;
	vdkim_header h[2];
	vdkim_decision d;
	vdkim_error err = { VDKIM_OK, "" };
	char from[64], msg[256], *out = NULL;
	size_t outlen = 0;
	vres r[VRES_MAX];
	int added = 0, n;

	snprintf(from, sizeof(from), "From: u%d@d%05d.example", j, j);
	h[0].field = from;
	h[0].len = strlen(from);
	h[1].field = "Subject: scale";
	h[1].len = strlen(h[1].field);
	memset(&env, 0, sizeof(env));
	env.size = sizeof(env);
	env.rcpt_domain = "example.net";
	if (vdkim_policy_decide(p, &env, h, 2, time(NULL), &d, &err) !=
	    VDKIM_OK) {
		snprintf(problem, plen, "d%05d: decide: %s", j, err.msg);
		return -1;
	}
	if (d.verdict != VDKIM_VERDICT_SIGN)
		return (int)d.why;
	n = snprintf(msg, sizeof(msg), "%s\r\nSubject: scale\r\n\r\nTenant "
	    "%d.\r\n", from, j);
	if (d.nsigs != 1 || strcmp(d.specs[0].domain,
	    strchr(from, '@') + 1) != 0 ||
	    sign_message(msg, (size_t)n, d.specs, 1, FEED_WHOLE, 1, &out,
	    &outlen, &added, &err) != VDKIM_OK) {
		snprintf(problem, plen, "d%05d: %zu signatures, d=%s: %s", j,
		    d.nsigs, d.nsigs ? d.specs[0].domain : "-", err.msg);
		free(out);
		return -1;
	}
	n = (int)verify_message(out, outlen, table_lookup, (void *)dns, 0,
	    FEED_WHOLE, 1, r);
	free(out);
	if (n != 1 || r[0].result != VDKIM_RES_PASS) {
		snprintf(problem, plen, "d%05d: %d results, %s: %s", j, n,
		    n ? vdkim_result_name(r[0].result) : "-",
		    n ? r[0].detail : "");
		return -1;
	}
	return VDKIM_WHY_OK;
}

static void
assert_signs(const vdkim_policy *p, int j, const dns_table *dns)
{
	char problem[VDKIM_ERRMSG_MAX + 128] = "";
	int rc = sign_for(p, j, dns, problem, sizeof(problem));

	ck_assert_msg(rc == VDKIM_WHY_OK, "d%05d not signed with its key: %s",
	    j, rc < 0 ? problem : vdkim_why_name((vdkim_why)rc));
}

/* ----------------------------------------------------------- tests */

START_TEST(many_keys_sign)
{
	made_key *keys = calloc(MANY_DISTINCT, sizeof(*keys));
	made_key **by_domain = calloc(MANY, sizeof(*by_domain));
	dns_table dns = { by_domain, MANY };
	vdkim_policy *p = NULL;
	vdkim_error err;
	const char *conf;

	ck_assert(keys != NULL && by_domain != NULL);
	for (int i = 0; i < MANY_DISTINCT; i++)
		make_key(&keys[i]);
	/* Neighbours hold different keys; each key is in 4 files. */
	for (int j = 0; j < MANY; j++) {
		by_domain[j] = &keys[j % MANY_DISTINCT];
		write_file(key_file(j), by_domain[j]->pem,
		    strlen(by_domain[j]->pem), 0600);
	}
	conf = put_conf(MANY, NULL);
	ck_assert_msg(vdkim_policy_load(conf, &p, &err) == VDKIM_OK, "%s",
	    err.msg);
	ck_assert_msg(vdkim_policy_warning_count(p) == 0, "%s",
	    vdkim_policy_warning(p, 0));
	ck_assert_uint_eq(p->nkeytab, MANY);
	ck_assert_uint_eq(policy_key_files_count(p), MANY);
	ck_assert_uint_eq(policy_keys_parsed(p), MANY_DISTINCT);
	for (int j = 0; j < MANY; j++)
		assert_signs(p, j, &dns);
	/* One parsed key serves the 4 files that hold it. */
	ck_assert_ptr_eq(p->keytab[7].key,
	    p->keytab[7 + MANY_DISTINCT].key);
	ck_assert_ptr_ne(p->keytab[7].key, p->keytab[8].key);
	vdkim_policy_unref(p);
	for (int i = 0; i < MANY_DISTINCT; i++)
		free_key(&keys[i]);
	free(keys);
	free(by_domain);
}
END_TEST

START_TEST(reload_picks_changes)
{
	made_key keys[FEW + 4], fresh[3], added[4];
	made_key *by_domain[FEW + 4];
	dns_table dns = { by_domain, FEW + 4 };
	unsigned char keep[FEW + 4];
	vdkim_slot *slot = NULL;
	vdkim_policy *p;
	vdkim_error err;
	const char *conf;
	struct timespec times[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };
	static const int changed[3] = { 1, 7, 13 }, removed[2] = { 4, 9 };

	memset(keep, 0, sizeof(keep));
	for (int j = 0; j < FEW; j++) {
		make_key(&keys[j]);
		put_key(j, &keys[j]);
		by_domain[j] = &keys[j];
		keep[j] = 1;
	}
	for (int j = FEW; j < FEW + 4; j++)
		by_domain[j] = NULL;
	conf = put_conf(FEW, keep);
	ck_assert_msg(vdkim_slot_new(conf, NULL, &slot, &err) == VDKIM_OK,
	    "%s", err.msg);
	p = vdkim_slot_acquire(slot);
	ck_assert_uint_eq(policy_keys_parsed(p), FEW);
	vdkim_policy_unref(p);

	/* Nothing changed; then a file touched (a new mtime, the same
	 * content): nothing parsed. */
	ck_assert_msg(vdkim_slot_reload(slot, &err) == VDKIM_OK, "%s",
	    err.msg);
	p = vdkim_slot_acquire(slot);
	ck_assert_uint_eq(policy_keys_parsed(p), 0);
	vdkim_policy_unref(p);
	ck_assert_int_eq(utimensat(AT_FDCWD, key_file(3), times, 0), 0);
	ck_assert_msg(vdkim_slot_reload(slot, &err) == VDKIM_OK, "%s",
	    err.msg);
	p = vdkim_slot_acquire(slot);
	ck_assert_uint_eq(policy_keys_parsed(p), 0);
	assert_signs(p, 3, &dns);
	vdkim_policy_unref(p);

	/* 3 changed, 2 removed (line and file), 4 added. */
	for (int i = 0; i < 3; i++) {
		make_key(&fresh[i]);
		put_key(changed[i], &fresh[i]);
		by_domain[changed[i]] = &fresh[i];
	}
	for (int i = 0; i < 2; i++) {
		keep[removed[i]] = 0;
		ck_assert_int_eq(unlink(key_file(removed[i])), 0);
	}
	for (int i = 0; i < 4; i++) {
		make_key(&added[i]);
		put_key(FEW + i, &added[i]);
		by_domain[FEW + i] = &added[i];
		keep[FEW + i] = 1;
	}
	put_conf(FEW + 4, keep);
	ck_assert_msg(vdkim_slot_reload(slot, &err) == VDKIM_OK, "%s",
	    err.msg);
	p = vdkim_slot_acquire(slot);
	ck_assert_msg(vdkim_policy_warning_count(p) == 0, "%s",
	    vdkim_policy_warning(p, 0));
	ck_assert_uint_eq(policy_key_files_count(p), FEW - 2 + 4);
	ck_assert_uint_eq(policy_keys_parsed(p), 3 + 4);
	for (int j = 0; j < FEW + 4; j++) {
		char problem[VDKIM_ERRMSG_MAX + 128] = "";

		if (keep[j]) {
			assert_signs(p, j, &dns);
			continue;
		}
		/* Removed: the "*" rule still signs, but with no key. */
		ck_assert_int_eq(sign_for(p, j, &dns, problem,
		    sizeof(problem)), VDKIM_WHY_NO_KEY);
	}
	vdkim_policy_unref(p);
	vdkim_slot_free(slot);
	for (int j = 0; j < FEW; j++)
		free_key(&keys[j]);
	for (int i = 0; i < 3; i++)
		free_key(&fresh[i]);
	for (int i = 0; i < 4; i++)
		free_key(&added[i]);
}
END_TEST

START_TEST(broken_key_keeps_old)
{
	made_key keys[FEW];
	made_key *by_domain[FEW];
	dns_table dns = { by_domain, FEW };
	vdkim_slot *slot = NULL;
	vdkim_policy *before, *after;
	vdkim_error err;
	const char *conf;
	char want[PATH_MAX + 64];
	static const char broken[] = "-----BEGIN PRIVATE KEY-----\nnot a key"
	    "\n-----END PRIVATE KEY-----\n";

	for (int j = 0; j < FEW; j++) {
		make_key(&keys[j]);
		put_key(j, &keys[j]);
		by_domain[j] = &keys[j];
	}
	conf = put_conf(FEW, NULL);
	ck_assert_msg(vdkim_slot_new(conf, NULL, &slot, &err) == VDKIM_OK,
	    "%s", err.msg);
	before = vdkim_slot_acquire(slot);

	/* Key file 5 (line 7 of the config) replaced by a broken one. */
	snprintf(want, sizeof(want), "%s.new", key_file(5));
	write_file(want, broken, sizeof(broken) - 1, 0600);
	ck_assert_int_eq(rename(want, key_file(5)), 0);
	memset(&err, 0, sizeof(err));
	ck_assert_int_ne(vdkim_slot_reload(slot, &err), VDKIM_OK);
	ck_assert_int_ne(err.rc, VDKIM_OK);
	snprintf(want, sizeof(want), "%s:7: domain-key s1,d00005.example",
	    conf);
	ck_assert_msg(strstr(err.msg, want) != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, key_file(5)) != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "not a usable PEM private key") != NULL,
	    "%s", err.msg);
	/* The policy in use stays, and signs with the old key. */
	after = vdkim_slot_acquire(slot);
	ck_assert_ptr_eq(after, before);
	assert_signs(after, 5, &dns);
	assert_signs(after, 6, &dns);
	vdkim_policy_unref(after);
	vdkim_policy_unref(before);

	/* A fresh load takes the file as not loaded, naming it. */
	{
		vdkim_policy *p = NULL;
		char problem[VDKIM_ERRMSG_MAX + 128] = "";

		ck_assert_msg(vdkim_policy_load(conf, &p, &err) == VDKIM_OK,
		    "%s", err.msg);
		ck_assert_uint_eq(vdkim_policy_warning_count(p), 1);
		ck_assert(vdkim_policy_warning_is_error(p, 0));
		ck_assert_msg(strstr(vdkim_policy_warning(p, 0), want) != NULL,
		    "%s", vdkim_policy_warning(p, 0));
		ck_assert_int_eq(sign_for(p, 5, &dns, problem,
		    sizeof(problem)), VDKIM_WHY_KEY_NOT_LOADED);
		assert_signs(p, 6, &dns);
		vdkim_policy_unref(p);
	}
	vdkim_slot_free(slot);
	for (int j = 0; j < FEW; j++)
		free_key(&keys[j]);
}
END_TEST

START_TEST(keys_on_demand)
{
	made_key keys[FEW];
	made_key *by_domain[FEW];
	dns_table dns = { by_domain, FEW };
	vdkim_policy *p = NULL;
	vdkim_error err;
	vdkim_envelope env;
	vdkim_header h = { "From: u5@d00005.example", 23 };
	vdkim_decision d;
	const char *conf;
	static const char broken[] = "not a key\n";

	for (int j = 0; j < FEW; j++) {
		make_key(&keys[j]);
		put_key(j, &keys[j]);
		by_domain[j] = &keys[j];
	}
	write_file(key_file(5), broken, sizeof(broken) - 1, 0600);
	conf = put_conf(FEW, NULL);
	ck_assert_msg(policy_load(conf, NULL, POLICY_LOAD_KEYS_ON_DEMAND, &p,
	    &err) == VDKIM_OK, "%s", err.msg);
	/* Nothing read: no warning for the broken file, no key parsed. */
	ck_assert_uint_eq(vdkim_policy_warning_count(p), 0);
	ck_assert_uint_eq(policy_keys_parsed(p), 0);
	for (size_t i = 0; i < p->nkeytab; i++)
		ck_assert_ptr_null(p->keytab[i].key);
	/* Domain 6 signs with its own key; only its file was read. */
	assert_signs(p, 6, &dns);
	for (size_t i = 0; i < p->nkeytab; i++)
		ck_assert_msg((p->keytab[i].key != NULL) ==
		    (strcmp(p->keytab[i].domain, "d00006.example") == 0),
		    "%s", p->keytab[i].domain);
	/* Domain 5's broken file: key-not-loaded, naming the file. */
	memset(&env, 0, sizeof(env));
	env.size = sizeof(env);
	env.rcpt_domain = "example.net";
	ck_assert_int_eq(vdkim_policy_decide(p, &env, &h, 1, time(NULL), &d,
	    &err), VDKIM_OK);
	ck_assert_int_eq(d.verdict, VDKIM_VERDICT_NOSIGN);
	ck_assert_int_eq(d.why, VDKIM_WHY_KEY_NOT_LOADED);
	ck_assert_msg(strstr(d.detail, key_file(5)) != NULL, "%s", d.detail);
	ck_assert_msg(strstr(d.detail, "not a private key") != NULL, "%s",
	    d.detail);
	vdkim_policy_unref(p);

	/* A host's load: every key at load, the broken one warned; the
	 * on-demand call changes nothing. */
	ck_assert_msg(vdkim_policy_load(conf, &p, &err) == VDKIM_OK, "%s",
	    err.msg);
	ck_assert_uint_eq(vdkim_policy_warning_count(p), 1);
	for (size_t i = 0; i < p->nkeytab; i++) {
		const char *e = p->keytab[i].error;

		policy_key_on_demand(p, &p->keytab[i]);
		ck_assert_ptr_eq(p->keytab[i].error, e);
		ck_assert_int_eq(p->keytab[i].key == NULL, i == 5);
	}
	ck_assert_uint_eq(vdkim_policy_warning_count(p), 1);
	vdkim_policy_unref(p);
	for (int j = 0; j < FEW; j++)
		free_key(&keys[j]);
}
END_TEST

#define VMTAS 2000
#define POOLS 10

START_TEST(many_vmtas)
{
	made_key keys[POOLS];
	char path[PATH_MAX];
	vdkim_policy *p = NULL;
	vdkim_error err;
	FILE *f;

	snprintf(path, sizeof(path), "%s/vmtas.conf", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	/* Comments of every kind, one of them long: lines stay exact. */
	fprintf(f, "/* tenants\n   of the ESP */ # and more\n#");
	for (int i = 0; i < 100000; i++)
		fputc('x', f);
	fprintf(f, "\n");
	/* Block i: its comment on line 4 + 4i, the block on the next. */
	for (int i = 0; i < VMTAS; i++)
		fprintf(f, "// tenant %d\nvirtual-mta \"v%d\" /* x */ {\n"
		    "\tdomain \"*\" { dkim-sign = yes }\n}\n", i, i);
	for (int k = 0; k < POOLS; k++) {
		make_key(&keys[k]);
		put_key(k, &keys[k]);
		fprintf(f, "virtual-mta-pool pool%d {\n\tdomain-key = "
		    "\"s1,d%05d.example,%s\"\n\tvirtual-mta = {", k, k,
		    key_file(k));
		for (int i = k; i < VMTAS; i += POOLS)
			fprintf(f, "%s v%d", i == k ? "" : ",", i);
		fprintf(f, " }\n}\n");
	}
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_msg(vdkim_policy_load(path, &p, &err) == VDKIM_OK, "%s",
	    err.msg);
	ck_assert_uint_eq(p->nvmtas, VMTAS);
	ck_assert_uint_eq(p->npools, POOLS);
	for (int i = 0; i < VMTAS; i++) {
		char name[16];
		const scope *vm;

		snprintf(name, sizeof(name), "v%d", i);
		vm = policy_find(p->vmtas_by_name, p->nvmtas, name);
		ck_assert_ptr_nonnull(vm);
		ck_assert_ptr_eq(vm, &p->vmtas[i]); /* the file's order */
		ck_assert_int_eq(vm->line, 5 + 4 * i);
		ck_assert_int_eq(vm->rules[0].line, 6 + 4 * i);
		ck_assert_ptr_eq(vm->pool, &p->pools[i % POOLS]);
	}
	/* Through a VMTA, the key of its pool. */
	for (int k = 0; k < POOLS; k++) {
		vdkim_envelope env;
		vdkim_header h;
		vdkim_decision d;
		char from[64], vmta[16];

		snprintf(from, sizeof(from), "From: a@d%05d.example", k);
		snprintf(vmta, sizeof(vmta), "v%d", VMTAS - POOLS + k);
		h.field = from;
		h.len = strlen(from);
		memset(&env, 0, sizeof(env));
		env.size = sizeof(env);
		env.vmta = vmta;
		env.rcpt_domain = "example.net";
		ck_assert_int_eq(vdkim_policy_decide(p, &env, &h, 1, time(NULL),
		    &d, &err), VDKIM_OK);
		ck_assert_int_eq(d.verdict, VDKIM_VERDICT_SIGN);
		ck_assert_ptr_eq(d.specs[0].key, p->pools[k].keys[0]->key);
		/* Another pool's domain has no key there. */
		snprintf(from, sizeof(from), "From: a@d%05d.example",
		    (k + 1) % POOLS);
		h.len = strlen(from);
		ck_assert_int_eq(vdkim_policy_decide(p, &env, &h, 1, time(NULL),
		    &d, &err), VDKIM_OK);
		ck_assert_int_eq(d.why, VDKIM_WHY_NO_KEY);
	}
	vdkim_policy_unref(p);

	/* A title given twice, far apart: refused on the second's line. */
	f = fopen(path, "a");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "virtual-mta v17 {\n}\n");
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(vdkim_policy_load(path, &p, &err), VDKIM_ESYNTAX);
	{
		char want[PATH_MAX + 64];
		FILE *c = fopen(path, "r");
		int n = 0, ch;

		/* The file's last line is "}": the block opens on the one
		 * before. */
		ck_assert_ptr_nonnull(c);
		while ((ch = fgetc(c)) != EOF)
			n += ch == '\n';
		fclose(c);
		snprintf(want, sizeof(want), "%s:%d: virtual-mta \"v17\" is "
		    "defined a second time", path, n - 1);
		ck_assert_msg(strstr(err.msg, want) != NULL, "%s", err.msg);
	}
	for (int k = 0; k < POOLS; k++)
		free_key(&keys[k]);
}
END_TEST

/* What libconfuse refused before the top-level titles were moved it still
 * refuses, on the same line; a quoted title with a blank still works. */
START_TEST(titles_as_before)
{
	static const struct {
		const char *conf, *want;  /* want NULL: loads */
	} cases[] = {
		{ "# x\nvirtual-mta {\n}\n",
		  ":2: missing title for section 'virtual-mta'" },
		{ "\n/* a\n */ domain * {\n dkim-sign = yes\n}\n",
		  ":3: missing title for section 'domain'" },
		{ "virtual-mta a {\n}\nvirtual-mta-pool a {\n}\n", NULL },
		{ "/* a\n b */ virtual-mta \"v 1\" { domain \"*\" { dkim-sign ="
		  " yes } }\nvirtual-mta-pool p { virtual-mta = { \"v 1\" } }\n",
		  NULL },
	};
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/titles.conf", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vdkim_policy *p = NULL;
		vdkim_error err = { VDKIM_OK, "" };
		vdkim_rc rc;

		write_file(path, cases[i].conf, strlen(cases[i].conf), 0644);
		rc = vdkim_policy_load(path, &p, &err);
		if (cases[i].want != NULL) {
			ck_assert_msg(rc == VDKIM_ESYNTAX &&
			    strstr(err.msg, cases[i].want) != NULL,
			    "case %zu: %s", i, err.msg);
			continue;
		}
		ck_assert_msg(rc == VDKIM_OK, "case %zu: %s", i, err.msg);
		ck_assert_int_eq(p->nvmtas, 1);
		if (i == 3) {
			ck_assert_str_eq(p->vmtas[0].name, "v 1");
			ck_assert_int_eq(p->vmtas[0].line, 2);
			ck_assert_int_eq(p->vmtas[0].rules[0].line, 2);
			ck_assert_int_eq(p->pools[0].line, 3);
			ck_assert_ptr_eq(p->vmtas[0].pool, &p->pools[0]);
		}
		vdkim_policy_unref(p);
	}
}
END_TEST

Suite *
policy_scale_suite(void)
{
	Suite *s = suite_create("policy_scale");
	TCase *tc = tcase_create("scale");

	tcase_add_unchecked_fixture(tc, scale_setup, scale_teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, many_keys_sign);
	tcase_add_test(tc, reload_picks_changes);
	tcase_add_test(tc, broken_key_keeps_old);
	tcase_add_test(tc, keys_on_demand);
	tcase_add_test(tc, many_vmtas);
	tcase_add_test(tc, titles_as_before);
	suite_add_tcase(s, tc);
	return s;
}
