/*
 * fuzz_tag_list.c - DKIM-Signature tag lists: the tag=value parser on its
 * own (with its invariants), then the same bytes as the value of a
 * DKIM-Signature field of a small message through the verifier (which
 * parses and checks every tag).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "tag_list.h"

static void
check_parse(const char *text, size_t len)
{
	char why[256];
	tag_list tl;

	why[0] = '\0';
	if (tag_list_parse(&tl, text, len, why, sizeof(why)) != 0) {
		FUZZ_CHECK(tl.n == 0, "a failed parse left %zu tags", tl.n);
		FUZZ_CHECK(why[0] != '\0', "a failed parse says nothing");
		tag_list_free(&tl);
		return;
	}
	FUZZ_CHECK(tl.n <= TAG_LIST_MAX, "%zu tags", tl.n);
	for (size_t i = 0; i < tl.n; i++) {
		const char *v = tl.tags[i].value;
		size_t vl = strlen(v);

		FUZZ_CHECK(tl.tags[i].name[0] != '\0', "tag %zu has no name",
		    i);
		/* Names are unique, so get finds each tag's own value. */
		FUZZ_CHECK(tag_list_get(&tl, tl.tags[i].name) == v,
		    "tag \"%s\" is not found by its name", tl.tags[i].name);
		FUZZ_CHECK(vl == 0 || (!tag_is_fws((unsigned char)v[0]) &&
		    !tag_is_fws((unsigned char)v[vl - 1])),
		    "tag \"%s\": value \"%s\" not trimmed", tl.tags[i].name,
		    v);
	}
	tag_list_free(&tl);
}

static void
check_verifier(const char *text, size_t len)
{
	static const char head[] = "DKIM-Signature:";
	static const char rest[] = "\r\nFrom: Joe <joe@football.example.com>"
	    "\r\nSubject: tags\r\n\r\nHi.\r\n";
	const fuzz_keys *k = fuzz_keys_get();
	vdkim_verifier *v = NULL;
	vdkim_error err;
	vdkim_rc rc;

	FUZZ_CHECK(vdkim_verifier_new(fuzz_keys_lookup, (void *)k, &v, &err)
	    == VDKIM_OK, "%s", err.msg);
	vdkim_verifier_set_time(v, FUZZ_NOW);
	rc = vdkim_verifier_message(v, head, sizeof(head) - 1, &err);
	if (rc == VDKIM_OK)
		rc = vdkim_verifier_message(v, text, len, &err);
	if (rc == VDKIM_OK)
		rc = vdkim_verifier_message(v, rest, sizeof(rest) - 1, &err);
	if (rc == VDKIM_OK)
		rc = vdkim_verifier_eom(v, &err);
	if (rc == VDKIM_OK) {
		for (size_t i = 0; i < vdkim_verifier_count(v); i++) {
			const vdkim_sig_result *r = vdkim_verifier_result(v, i);

			/* Nobody holds the private key for these bytes: a
			 * pass would mean a forged signature verified. */
			FUZZ_CHECK(r->result != VDKIM_RES_PASS ||
			    strstr(text, "b=") != NULL,
			    "a signature without b= passed");
		}
	}
	vdkim_verifier_free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	check_parse(text, size);
	check_verifier(text, size);
	free(text);
	return 0;
}
