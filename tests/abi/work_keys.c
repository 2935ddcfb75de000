/*
 * work_keys.c - see work_keys.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "work_keys.h"

vdkim_keymap *
work_keys_load(const char *prog, const char *work,
    const char *const *selectors, size_t n)
{
	vdkim_keymap *map = NULL;
	vdkim_error e;

	if (vdkim_keymap_new(&map, &e) != VDKIM_OK) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		char path[4096], qname[256], *rec = NULL;
		vdkim_key *key = NULL;
		int ok;

		snprintf(path, sizeof(path), "%s/%s.private", work,
		    selectors[i]);
		snprintf(qname, sizeof(qname), "%s._domainkey.example.com",
		    selectors[i]);
		ok = vdkim_key_load_file(path, &key, &e) == VDKIM_OK &&
		    vdkim_key_dns_value(key, &rec, &e) == VDKIM_OK &&
		    vdkim_keymap_add(map, qname, rec, &e) == VDKIM_OK;
		vdkim_key_unref(key);
		free(rec);
		if (!ok) {
			fprintf(stderr, "%s: key %s: %s (make the keys with "
			    "tests/abi/run.sh)\n", prog, path, e.msg);
			vdkim_keymap_free(map);
			return NULL;
		}
	}
	return map;
}
