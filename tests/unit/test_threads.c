/*
 * test_threads.c - one vdkim_key shared by many threads at once: 8
 * threads sign 200 messages each with the same RSA and Ed25519 keys, and
 * every signature verifies.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "key.h"
#include "suites.h"

#define NTHREADS 8
#define NMESSAGES 200

typedef struct worker {
	int id;
	int signed_ok;   /* messages signed */
	int passes;      /* signatures that verified */
	char problem[VDKIM_ERRMSG_MAX + 64];
} worker;

static vdkim_key *shared_rsa, *shared_ed;
static vdkim_keymap *shared_map;

static void
threads_setup(void)
{
	char *rec;

	shared_rsa = td_key("rsa2048.pem");
	shared_ed = td_key("ed25519.pem");
	rec = key_record_of(shared_rsa);
	shared_map = keymap1("t-rsa._domainkey.example.com", rec);
	free(rec);
	rec = key_record_of(shared_ed);
	keymap_add(shared_map, "t-ed._domainkey.example.com", rec);
	free(rec);
}

static void
threads_teardown(void)
{
	vdkim_key_unref(shared_rsa);
	vdkim_key_unref(shared_ed);
	vdkim_keymap_free(shared_map);
}

/* No ck_assert in here: Check's assertions belong to the test's thread. */
static void *
work(void *arg)
{
	worker *w = arg;
	char msg[512], *out = NULL;

	for (int i = 0; i < NMESSAGES; i++) {
		vdkim_signer *s = NULL;
		vdkim_verifier *v = NULL;
		vdkim_error err = { VDKIM_OK, "" };
		vdkim_sig_spec spec[2];
		size_t len, total = 0;
		int n, ok = 1;

		n = snprintf(msg, sizeof(msg),
		    "From: thread%d@example.com\r\n"
		    "To: rcpt%d@example.net\r\n"
		    "Subject: message %d of thread %d\r\n"
		    "\r\n"
		    "Body of message %d, thread %d.\r\n"
		    "  With   spaces\t\r\n\r\n", w->id, i, i, w->id, i, w->id);
		len = (size_t)n;
		vdkim_sig_spec_init(&spec[0]);
		spec[0].key = shared_rsa;
		spec[0].domain = "example.com";
		spec[0].selector = "t-rsa";
		spec[1] = spec[0];
		spec[1].key = shared_ed;
		spec[1].selector = "t-ed";
		spec[1].header_canon = VDKIM_CANON_SIMPLE;
		ok = vdkim_signer_new(&s, &err) == VDKIM_OK &&
		    vdkim_signer_add(s, &spec[0], &err) == VDKIM_OK &&
		    vdkim_signer_add(s, &spec[1], &err) == VDKIM_OK &&
		    vdkim_signer_message(s, msg, len, &err) == VDKIM_OK &&
		    vdkim_signer_eom(s, &err) == VDKIM_OK &&
		    vdkim_signer_count(s) == 2;
		if (ok) {
			size_t l0, l1;
			const char *h0 = vdkim_signer_result(s, 0, &l0);
			const char *h1 = vdkim_signer_result(s, 1, &l1);

			total = l0 + l1 + len;
			out = malloc(total);
			if (out == NULL)
				ok = 0;
			else {
				memcpy(out, h0, l0);
				memcpy(out + l0, h1, l1);
				memcpy(out + l0 + l1, msg, len);
			}
		}
		vdkim_signer_free(s);
		if (!ok) {
			snprintf(w->problem, sizeof(w->problem),
			    "signing message %d: %s", i, err.msg);
			free(out);
			return NULL;
		}
		w->signed_ok++;
		ok = vdkim_verifier_new(vdkim_keymap_lookup, shared_map, &v,
		    &err) == VDKIM_OK &&
		    vdkim_verifier_message(v, out, total, &err) == VDKIM_OK &&
		    vdkim_verifier_eom(v, &err) == VDKIM_OK &&
		    vdkim_verifier_count(v) == 2;
		for (size_t k = 0; ok && k < 2; k++) {
			const vdkim_sig_result *r = vdkim_verifier_result(v, k);
			if (r->result == VDKIM_RES_PASS)
				w->passes++;
			else
				snprintf(w->problem, sizeof(w->problem),
				    "message %d signature %zu: %s", i, k,
				    r->detail);
		}
		if (!ok)
			snprintf(w->problem, sizeof(w->problem),
			    "verifying message %d: %s", i, err.msg);
		vdkim_verifier_free(v);
		free(out);
		out = NULL;
	}
	return NULL;
}

START_TEST(shared_key_signing)
{
	pthread_t t[NTHREADS];
	worker w[NTHREADS];
	int signed_total = 0, passes = 0;

	memset(w, 0, sizeof(w));
	for (int i = 0; i < NTHREADS; i++) {
		w[i].id = i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < NTHREADS; i++) {
		ck_assert_msg(w[i].problem[0] == '\0', "thread %d: %s", i,
		    w[i].problem);
		signed_total += w[i].signed_ok;
		passes += w[i].passes;
	}
	ck_assert_int_eq(signed_total, NTHREADS * NMESSAGES);
	ck_assert_int_eq(passes, 2 * NTHREADS * NMESSAGES);
	/* Every reference the signers took was given back. */
	ck_assert_int_eq(atomic_load(&shared_rsa->refs), 1);
	ck_assert_int_eq(atomic_load(&shared_ed->refs), 1);
}
END_TEST

Suite *
threads_suite(void)
{
	Suite *s = suite_create("threads");
	TCase *tc = tcase_create("shared_key");

	tcase_add_unchecked_fixture(tc, threads_setup, threads_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, shared_key_signing);
	suite_add_tcase(s, tc);
	return s;
}
