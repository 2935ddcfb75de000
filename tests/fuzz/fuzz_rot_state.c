/*
 * fuzz_rot_state.c - the rotation / DNS-check state file: any text
 * either parses or is refused with a sentence; what parses round-trips
 * (formatted, parsed again, formatted again: the same text, the same
 * records).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "rotation.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rot_state a, b;
	vdkim_error err;
	char *t1, *t2;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	err.msg[0] = '\0';
	if (rot_state_parse((const char *)data, size, "fuzz", &a, &err) !=
	    VDKIM_OK) {
		FUZZ_CHECK(strncmp(err.msg, "fuzz", 4) == 0,
		    "a refusal that does not name the file: %s", err.msg);
		rot_state_free(&a);
		return 0;
	}
	t1 = rot_state_format(&a);
	FUZZ_CHECK(t1 != NULL, "format failed");
	FUZZ_CHECK(rot_state_parse(t1, strlen(t1), "formatted", &b, &err) ==
	    VDKIM_OK, "its own text does not parse: %s\n%s", err.msg, t1);
	FUZZ_CHECK(a.n == b.n, "%zu records, %zu after a round trip", a.n,
	    b.n);
	t2 = rot_state_format(&b);
	FUZZ_CHECK(t2 != NULL && strcmp(t1, t2) == 0,
	    "the text changed in a round trip:\n%s\n--\n%s", t1, t2);
	for (size_t i = 0; i < a.n; i++) {
		const rot_record *r = rot_state_find(&b, a.r[i].domain,
		    a.r[i].selector);

		FUZZ_CHECK(r != NULL && r->status == a.r[i].status &&
		    r->since == a.r[i].since && r->checked == a.r[i].checked,
		    "record %zu (%s %s) changed in a round trip", i,
		    a.r[i].domain, a.r[i].selector);
	}
	free(t1);
	free(t2);
	rot_state_free(&a);
	rot_state_free(&b);
	return 0;
}
