/*
 * fuzz_conf.c - the config text (vdkim.conf): the text reader
 * (module/util/conf_text.c: comments, host blocks, limits) and the
 * parser into the policy model (libconfuse and every directive's value
 * check).  No key is loaded: the input's paths are never opened.  Any text
 * either parses or is refused with a sentence naming FILE:LINE or FILE.
 */
#include <stdlib.h>
#include <string.h>

#include "conf_parse.h"
#include "fuzz_common.h"
#include "fuzz_file.h"
#include "policy_model.h"

/* Host blocks, skipped as a host's own settings. */
static const char *const hosts[] = { "harness", "milter", NULL };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vdkim_policy *p;
	vdkim_error err;
	fuzz_file f;
	vdkim_rc rc;

	/* Past the reader's limit the text is refused before parsing:
	 * nothing to learn from megabytes. */
	if (size > 65536 || fuzz_file_open(&f, data, size) != 0)
		return 0;
	p = calloc(1, sizeof(*p));
	FUZZ_CHECK(p != NULL && (p->path = strdup(f.path)) != NULL,
	    "out of memory");
	err.msg[0] = '\0';
	rc = conf_parse_file(f.path, hosts, p, &err);
	if (rc == VDKIM_ESYNTAX)
		FUZZ_CHECK(strncmp(err.msg, f.path, strlen(f.path)) == 0,
		    "a refusal that does not name the file: %s", err.msg);
	else if (rc != VDKIM_OK)
		FUZZ_CHECK(err.msg[0] != '\0', "%s without a sentence",
		    vdkim_rc_name(rc));
	policy_free(p);
	fuzz_file_close(&f);
	return 0;
}
