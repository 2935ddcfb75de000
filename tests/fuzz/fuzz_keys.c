/*
 * fuzz_keys.c - the test keys of RFC 8463 A.1 and their records (A.2) in
 * a static key map: the verifier's lookup hook, with no network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_common.h"

static void
must(vdkim_rc rc, const vdkim_error *err, const char *what)
{
	if (rc != VDKIM_OK) {
		fprintf(stderr, "fuzz set-up: %s: %s\n", what, err->msg);
		abort();
	}
}

/* The records of RFC 8463 A.2, "qname record" per line, into the map. */
static void
load_records(vdkim_keymap *map)
{
	char line[2048];
	FILE *f = fopen(fuzz_testdata("rfc8463_records.txt"), "r");
	vdkim_error err;

	if (f == NULL) {
		perror(fuzz_testdata("rfc8463_records.txt"));
		abort();
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *sp = strchr(line, ' ');

		line[strcspn(line, "\r\n")] = '\0';
		if (sp == NULL)
			continue;
		*sp = '\0';
		must(vdkim_keymap_add(map, line, sp + 1, &err), &err,
		    "the RFC 8463 records");
	}
	fclose(f);
}

const fuzz_keys *
fuzz_keys_get(void)
{
	static fuzz_keys k;
	vdkim_error err;

	if (k.map != NULL)
		return &k;
	must(vdkim_key_load_file(fuzz_testdata("rfc8463_rsa.pem"), &k.rsa,
	    &err), &err, "rfc8463_rsa.pem");
	must(vdkim_key_load_file(fuzz_testdata("rfc8463_ed25519.seed"),
	    &k.ed, &err), &err, "rfc8463_ed25519.seed");
	must(vdkim_keymap_new(&k.map, &err), &err, "the key map");
	load_records(k.map);
	return &k;
}


vdkim_lookup_rc
fuzz_keys_lookup(void *ctx, const char *qname, char *buf, size_t buflen)
{
	const fuzz_keys *k = ctx;

	/* The fixed policy's wildcard key ("any,*") signs for any d=. */
	if (strncasecmp(qname, "any._domainkey.", 15) == 0)
		qname = FUZZ_SEL_ED "._domainkey." FUZZ_DOMAIN;
	return vdkim_keymap_lookup(k->map, qname, buf, buflen);
}
