/*
 * fuzz_key_record.c - DNS key records (RFC 6376 3.6.1, RFC 8463 4.2): the
 * parser on its own, then as the record both of RFC 8463's selectors
 * publish, verifying RFC 8463's signed message (every key record check
 * the verifier makes after the parse: k= against a=, h=, s=, t=s, p=).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "key_record.h"

static char *message;
static size_t message_len;

static void
check_parse(const char *text)
{
	static const unsigned char digest[32] = { 1, 2, 3 };
	static const unsigned char sig[64] = { 4, 5, 6 };
	char why[256];
	key_record rec;
	vdkim_reason r;

	memset(&rec, 0, sizeof(rec));
	why[0] = '\0';
	r = key_record_parse(text, &rec, why, sizeof(why));
	if (r == VDKIM_R_OK) {
		FUZZ_CHECK(rec.revoked == (rec.pkey == NULL),
		    "revoked %d with a key %p", rec.revoked,
		    (void *)rec.pkey);
		/* No one holds these bytes' private key. */
		if (!rec.revoked)
			FUZZ_CHECK(key_record_verify(&rec, digest,
			    sizeof(digest), sig, sizeof(sig)) == 0,
			    "a made-up signature verified");
	} else {
		FUZZ_CHECK(why[0] != '\0', "refused (%s) without a reason",
		    vdkim_reason_name(r));
	}
	key_record_free(&rec);
}

static void
check_verifier(const char *text)
{
	vdkim_keymap *map = NULL;
	vdkim_verifier *v = NULL;
	vdkim_error err;

	if (vdkim_keymap_new(&map, &err) != VDKIM_OK)
		return;
	if (vdkim_keymap_add(map, FUZZ_SEL_ED "._domainkey." FUZZ_DOMAIN,
	    text, &err) != VDKIM_OK ||
	    vdkim_keymap_add(map, FUZZ_SEL_RSA "._domainkey." FUZZ_DOMAIN,
	    text, &err) != VDKIM_OK ||
	    vdkim_verifier_new(vdkim_keymap_lookup, map, &v, &err) !=
	    VDKIM_OK) {
		vdkim_keymap_free(map);
		return;
	}
	vdkim_verifier_set_time(v, FUZZ_NOW);
	FUZZ_CHECK(vdkim_verifier_message(v, message, message_len, &err) ==
	    VDKIM_OK && vdkim_verifier_eom(v, &err) == VDKIM_OK,
	    "RFC 8463's message: %s", err.msg);
	FUZZ_CHECK(vdkim_verifier_count(v) == 2, "%zu signatures",
	    vdkim_verifier_count(v));
	vdkim_verifier_free(v);
	vdkim_keymap_free(map);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	check_parse(text);
	check_verifier(text);
	free(text);
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *f = fopen(fuzz_testdata("rfc8463_message.eml"), "rb");
	static char buf[8192];

	(void)argc;
	(void)argv;
	if (f == NULL) {
		perror(fuzz_testdata("rfc8463_message.eml"));
		abort();
	}
	message_len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	message = buf;
	return 0;
}
