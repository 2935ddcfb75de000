/*
 * test_secrets.c - secrets stay secret and device failures say why:
 *
 *  - a PIN in a key URI (pin-value=) or in an engine init command
 *    (PIN:...) is masked in every sentence: config errors, errors with
 *    OpenSSL's reasons, warnings, refused URIs;
 *  - a pin-file readable (or writable) by its group or others is refused
 *    naming the file, its mode and the chmod; a FIFO in place of a key
 *    file or a pin-file is refused without blocking;
 *  - a device failure reports OpenSSL's errors newest first, without the
 *    errors of an unrelated ENGINE lookup (SoftHSM2's "rdrand"), without
 *    errors left from before the call, and not cut before the newest.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <openssl/err.h>

#include "device.h"
#include "error.h"
#include "helpers.h"
#include "secret.h"
#include "suites.h"
#include "vdkim/policy.h"

#define PIN "73914682"

static char tmpdir[1024];

static void
secrets_setup(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/vdkim-secrets-XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	ck_assert_msg(mkdtemp(tmpdir) != NULL, "mkdtemp: %s",
	    strerror(errno));
}

static void
secrets_teardown(void)
{
	if (tmpdir[0] != '\0')
		rm_tree(tmpdir);
	tmpdir[0] = '\0';
}

static const char *
tmp_file(const char *name)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

/* Loads a config made of text; returns the rc, err holds the sentence. */
static vdkim_rc
load_config(const char *text, vdkim_policy **p, vdkim_error *err)
{
	const char *path = tmp_file("vdkim.conf");

	write_file(path, text, strlen(text), 0600);
	*p = NULL;
	return vdkim_policy_load(path, p, err);
}

/* ------------------------------------------------------------- masking */

START_TEST(mask_pin_forms)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "pkcs11:token=t;object=k;pin-value=1234",
		  "pkcs11:token=t;object=k;pin-value=****" },
		{ "pkcs11:token=t;pin-value=12:34;object=k",
		  "pkcs11:token=t;pin-value=****;object=k" },
		{ "pkcs11:token=t?PIN-Value=1&module-name=x",
		  "pkcs11:token=t?PIN-Value=****&module-name=x" },
		{ "not \"s,d,pkcs11:object=k;pin-value=9\" here",
		  "not \"s,d,pkcs11:object=k;pin-value=****\" here" },
		{ "PIN:1234", "PIN:****" },
		{ "must not set the PIN, not \"pin:secret\"",
		  "must not set the PIN, not \"pin:****\"" },
		/* Not a PIN: left alone. */
		{ "the PIN: wrong (device-pin)", "the PIN: wrong (device-pin)" },
		{ "pin-source=file:/etc/pin", "pin-source=file:/etc/pin" },
		{ "", "" },
	};
	char out[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_str_eq(vdkim_mask_pin(cases[i].in, out, sizeof(out)),
		    cases[i].out);
	/* Cut to the buffer, still terminated, still masked. */
	ck_assert_str_eq(vdkim_mask_pin("x;pin-value=123456789", out, 14),
	    "x;pin-value=*");
}
END_TEST

START_TEST(config_error_masks_uri_pin)
{
	vdkim_policy *p;
	vdkim_error err;

	ck_assert_int_eq(load_config("openssl-engine e { engine-id = "
	    "\"pkcs11\" }\ndomain-key = \"s,example.com,pkcs11:token=t;"
	    "object=k;pin-value=" PIN "\"\n", &p, &err), VDKIM_ESYNTAX);
	ck_assert_ptr_null(p);
	ck_assert_msg(strstr(err.msg, PIN) == NULL, "PIN shown: %s",
	    err.msg);
	ck_assert_msg(strstr(err.msg, "pin-value=****") != NULL, "%s",
	    err.msg);
	ck_assert_msg(strstr(err.msg, "vdkim.conf:2:") != NULL, "%s",
	    err.msg);
}
END_TEST

START_TEST(config_error_masks_init_command_pin)
{
	vdkim_policy *p;
	vdkim_error err;

	ck_assert_int_eq(load_config("openssl-engine e {\n"
	    "  engine-id = \"pkcs11\"\n  init-commands = {\"VERBOSE\", "
	    "\"PIN:" PIN "\"}\n}\n", &p, &err), VDKIM_ESYNTAX);
	ck_assert_msg(strstr(err.msg, PIN) == NULL, "PIN shown: %s",
	    err.msg);
	ck_assert_msg(strstr(err.msg, "\"PIN:****\"") != NULL, "%s",
	    err.msg);
}
END_TEST

START_TEST(device_key_uri_with_pin_refused)
{
	vdkim_policy *p;
	vdkim_key *key = NULL;
	vdkim_error err;

	ck_assert_int_eq(load_config("openssl-engine e { engine-id = "
	    "\"pkcs11\" }\n", &p, &err), VDKIM_OK);
	ck_assert_int_eq(vdkim_policy_device_key(p, "pkcs11:token=t;object=k;"
	    "pin-value=" PIN, &key, &err), VDKIM_EINVAL);
	ck_assert_ptr_null(key);
	ck_assert_msg(strstr(err.msg, PIN) == NULL, "PIN shown: %s",
	    err.msg);
	ck_assert_msg(strstr(err.msg, "must not carry the PIN") != NULL, "%s",
	    err.msg);
	vdkim_policy_unref(p);
}
END_TEST

START_TEST(ssl_reason_masked)
{
	vdkim_error err;

	ERR_clear_error();
	ERR_raise_data(ERR_LIB_ENGINE, 128, "key pkcs11:object=k;pin-value=%s",
	    PIN);
	vdkim_fail_ssl(&err, VDKIM_EDEV_ERROR, "opening %s",
	    "pkcs11:object=k;pin-value=" PIN);
	ck_assert_msg(strstr(err.msg, PIN) == NULL, "PIN shown: %s",
	    err.msg);
	ck_assert_int_eq(ERR_peek_error(), 0);
}
END_TEST

/* ------------------------------------------------------------ pin-file */

/* An engine device reading its PIN from path (not opened). */
static device *
pin_device(const char *path)
{
	dev_config c;
	device *d;

	memset(&c, 0, sizeof(c));
	c.kind = DEV_ENGINE;
	c.name = xstrdup("hsm");
	c.module = xstrdup("pkcs11");
	c.pin_file = xstrdup(path);
	c.serialize = 1;
	c.timeout_ms = 1000;
	d = device_new(&c);
	ck_assert_ptr_nonnull(d);
	return d;
}

START_TEST(pin_file_owner_only)
{
	const char *path = tmp_file("pin");
	device *d = pin_device(path);
	vdkim_error err;
	char *pin = NULL;

	write_file(path, PIN "\n", strlen(PIN) + 1, 0600);
	ck_assert_int_eq(device_pin(d, &pin, &err), VDKIM_OK);
	ck_assert_str_eq(pin, PIN);
	free(pin);
	write_file(path, PIN "\n", strlen(PIN) + 1, 0400);
	ck_assert_int_eq(device_pin(d, &pin, &err), VDKIM_OK);
	ck_assert_str_eq(pin, PIN);
	free(pin);
	device_unref(d);
}
END_TEST

/* Modes a pin-file must not have: group or others may use it. */
static const struct {
	mode_t mode;
	const char *words;
} refused_modes[] = {
	{ 0640, "readable by its group (mode 0640)" },
	{ 0644, "readable by every user (mode 0644)" },
	{ 0604, "readable by every user (mode 0604)" },
	{ 0620, "writable by its group (mode 0620)" },
	{ 0610, "open to its group (mode 0610)" },
};

START_TEST(pin_file_refused_modes)
{
	const char *path = tmp_file("pin");
	device *d = pin_device(path);
	vdkim_error err;
	char *pin = NULL;

	write_file(path, PIN "\n", strlen(PIN) + 1, refused_modes[_i].mode);
	ck_assert_int_eq(device_pin(d, &pin, &err), VDKIM_EDEV_PIN);
	ck_assert_ptr_null(pin);
	ck_assert_msg(strstr(err.msg, path) != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, refused_modes[_i].words) != NULL,
	    "wanted \"%s\" in: %s", refused_modes[_i].words, err.msg);
	ck_assert_msg(strstr(err.msg, "chmod 0600") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, PIN) == NULL, "%s", err.msg);
	device_unref(d);
}
END_TEST

/* A FIFO where a secret file should be: refused at once, not waited on
 * (the test's timeout fails a blocking open). */
START_TEST(secret_fifo_refused)
{
	const char *path = tmp_file("fifo");
	device *d;
	vdkim_key *key = NULL;
	vdkim_error err;
	char *pin = NULL;

	ck_assert_int_eq(mkfifo(path, 0600), 0);
	d = pin_device(path);
	ck_assert_int_eq(device_pin(d, &pin, &err), VDKIM_EDEV_PIN);
	ck_assert_msg(strstr(err.msg, "not a regular file") != NULL, "%s",
	    err.msg);
	device_unref(d);
	ck_assert_int_eq(vdkim_key_load_file(path, &key, &err), VDKIM_EIO);
	ck_assert_ptr_null(key);
	ck_assert_msg(strstr(err.msg, "not a regular file") != NULL, "%s",
	    err.msg);
}
END_TEST

/* The key-file rule in the same words: writable by others is refused. */
START_TEST(key_file_group_writable_refused)
{
	char key[PATH_MAX], text[PATH_MAX + 64];
	size_t len;
	char *pem = td_read("rsa2048.pem", &len);
	vdkim_policy *p;
	vdkim_error err;
	int found = 0;

	snprintf(key, sizeof(key), "%s", tmp_file("gw.pem"));
	write_file(key, pem, len, 0620);
	free(pem);
	snprintf(text, sizeof(text), "domain-key = \"s,example.com,%s\"\n",
	    key);
	ck_assert_int_eq(load_config(text, &p, &err), VDKIM_OK);
	for (size_t i = 0; i < vdkim_policy_warning_count(p); i++)
		found |= vdkim_policy_warning_is_error(p, i) &&
		    strstr(vdkim_policy_warning(p, i), "writable by its group "
		    "(mode 0620): chmod 0600") != NULL &&
		    strstr(vdkim_policy_warning(p, i), key) != NULL;
	ck_assert_msg(found, "no error naming %s, its mode and chmod", key);
	vdkim_policy_unref(p);
}
END_TEST

/* --------------------------------------------------- device failures */

static device *
engine_device(void)
{
	return pin_device("/nonexistent");
}

/* What SoftHSM2 leaves in the queue when its config cannot be read,
 * oldest first: the rdrand lookup it makes and ignores, then the
 * module's error, then libp11's and OpenSSL's. */
static void
push_softhsm_failure(void)
{
	ERR_raise_data(ERR_LIB_DSO, 103, "filename(/usr/lib/engines-3/"
	    "rdrand.so): cannot open shared object file");
	ERR_raise_data(ERR_LIB_DSO, 103, NULL);
	ERR_raise_data(ERR_LIB_ENGINE, 132, NULL);
	ERR_raise_data(ERR_LIB_ENGINE, 116, "id=rdrand");
	ERR_raise_data(ERR_LIB_CONF, 114, "file=/nonexistent/softhsm2.conf");
	ERR_raise_data(ERR_LIB_ENGINE, 128, NULL);
}

START_TEST(device_fail_newest_first_without_probe)
{
	device *d = engine_device();
	vdkim_error err;
	const char *cause, *outer;

	ERR_clear_error();
	push_softhsm_failure();
	device_fail(d, &err, VDKIM_EDEV_UNAVAILABLE, "opening the key");
	ck_assert_int_eq(ERR_peek_error(), 0);
	ck_assert_msg(strstr(err.msg, "rdrand") == NULL, "%s", err.msg);
	cause = strstr(err.msg, "file=/nonexistent/softhsm2.conf");
	outer = strstr(err.msg, "failed loading private key");
	ck_assert_msg(cause != NULL && outer != NULL && outer < cause,
	    "newest first, cause kept: %s", err.msg);
	ck_assert_msg(strncmp(err.msg, "device hsm: opening the key failed ",
	    35) == 0, "%s", err.msg);
	device_unref(d);
}
END_TEST

/* A missing engine of the device's own is its failure: not skipped. */
START_TEST(device_fail_keeps_own_engine_lookup)
{
	device *d = engine_device();
	vdkim_error err;

	ERR_clear_error();
	ERR_raise_data(ERR_LIB_DSO, 103, "filename(pkcs11.so)");
	ERR_raise_data(ERR_LIB_ENGINE, 116, "id=pkcs11");
	device_fail(d, &err, VDKIM_EDEV_ERROR, "loading the engine");
	ck_assert_msg(strstr(err.msg, "id=pkcs11") != NULL &&
	    strstr(err.msg, "pkcs11.so") != NULL, "%s", err.msg);
	ck_assert_int_eq(err.rc, VDKIM_EDEV_UNAVAILABLE);
	device_unref(d);
}
END_TEST

/* Many long errors: the newest (the failure) is in the sentence. */
START_TEST(device_fail_long_chain_keeps_newest)
{
	device *d = engine_device();
	vdkim_error err;
	char filler[120];

	memset(filler, 'x', sizeof(filler) - 1);
	filler[sizeof(filler) - 1] = '\0';
	ERR_clear_error();
	for (int i = 0; i < 10; i++)
		ERR_raise_data(ERR_LIB_CONF, 114, "%s", filler);
	ERR_raise_data(ERR_LIB_CONF, 114, "THE-CAUSE");
	device_fail(d, &err, VDKIM_EDEV_ERROR, "signing");
	ck_assert_msg(strstr(err.msg, "THE-CAUSE") != NULL, "%s", err.msg);
	ck_assert_uint_lt(strlen(err.msg), sizeof(err.msg));
	device_unref(d);
}
END_TEST

/* Errors from before a call into the device are not the call's; what a
 * call leaves behind does not outlive it. */
START_TEST(device_call_starts_and_ends_clean)
{
	device *d = engine_device();
	vdkim_error err;

	ERR_clear_error();
	ERR_raise_data(ERR_LIB_ENGINE, 116, "id=stale");
	ck_assert_int_eq(device_enter(d, &err), VDKIM_OK);
	ck_assert_int_eq(ERR_peek_error(), 0);
	ERR_raise_data(ERR_LIB_ENGINE, 116, "id=rdrand");
	device_leave(d);
	ck_assert_int_eq(ERR_peek_error(), 0);
	device_unref(d);
}
END_TEST

Suite *
secrets_suite(void)
{
	Suite *s = suite_create("secrets");
	TCase *mask = tcase_create("mask");
	TCase *files = tcase_create("files");
	TCase *dev = tcase_create("device-errors");

	tcase_add_unchecked_fixture(mask, secrets_setup, secrets_teardown);
	tcase_set_timeout(mask, TEST_TIMEOUT);
	tcase_add_test(mask, mask_pin_forms);
	tcase_add_test(mask, config_error_masks_uri_pin);
	tcase_add_test(mask, config_error_masks_init_command_pin);
	tcase_add_test(mask, device_key_uri_with_pin_refused);
	tcase_add_test(mask, ssl_reason_masked);
	suite_add_tcase(s, mask);

	tcase_add_unchecked_fixture(files, secrets_setup, secrets_teardown);
	tcase_set_timeout(files, 10);
	tcase_add_test(files, pin_file_owner_only);
	tcase_add_loop_test(files, pin_file_refused_modes, 0,
	    sizeof(refused_modes) / sizeof(refused_modes[0]));
	tcase_add_test(files, secret_fifo_refused);
	tcase_add_test(files, key_file_group_writable_refused);
	suite_add_tcase(s, files);

	tcase_set_timeout(dev, TEST_TIMEOUT);
	tcase_add_test(dev, device_fail_newest_first_without_probe);
	tcase_add_test(dev, device_fail_keeps_own_engine_lookup);
	tcase_add_test(dev, device_fail_long_chain_keeps_newest);
	tcase_add_test(dev, device_call_starts_and_ends_clean);
	suite_add_tcase(s, dev);
	return s;
}
