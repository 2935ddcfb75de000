/*
 * keymap.c - a static qname -> key record map, for tests and tools that
 * must not depend on DNS.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"

typedef struct keymap_entry {
	char *qname;
	char *record;
	struct keymap_entry *next;
} keymap_entry;

struct vdkim_keymap {
	keymap_entry *head;
};

vdkim_rc
vdkim_keymap_new(vdkim_keymap **out, vdkim_error *err)
{
	*out = calloc(1, sizeof(**out));
	if (*out == NULL)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	return VDKIM_OK;
}

vdkim_rc
vdkim_keymap_add(vdkim_keymap *map, const char *qname, const char *record,
    vdkim_error *err)
{
	keymap_entry *e;

	if (map == NULL || qname == NULL || record == NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "no map, name or record");
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	e->qname = strdup(qname);
	e->record = strdup(record);
	if (e->qname == NULL || e->record == NULL) {
		free(e->qname);
		free(e->record);
		free(e);
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	}
	e->next = map->head;
	map->head = e;
	return VDKIM_OK;
}

void
vdkim_keymap_free(vdkim_keymap *map)
{
	keymap_entry *e, *next;

	if (map == NULL)
		return;
	for (e = map->head; e != NULL; e = next) {
		next = e->next;
		free(e->qname);
		free(e->record);
		free(e);
	}
	free(map);
}

vdkim_lookup_rc
vdkim_keymap_lookup(void *ctx, const char *qname, char *buf, size_t buflen)
{
	const vdkim_keymap *map = ctx;
	size_t qlen = strlen(qname);

	/* DNS names compare without case, and a final dot changes nothing. */
	if (qlen > 0 && qname[qlen - 1] == '.')
		qlen--;
	for (const keymap_entry *e = map ? map->head : NULL; e; e = e->next) {
		size_t elen = strlen(e->qname);
		if (elen > 0 && e->qname[elen - 1] == '.')
			elen--;
		if (elen != qlen || strncasecmp(e->qname, qname, qlen) != 0)
			continue;
		if (strlen(e->record) + 1 > buflen)
			return VDKIM_LOOKUP_TEMPFAIL;
		memcpy(buf, e->record, strlen(e->record) + 1);
		return VDKIM_LOOKUP_FOUND;
	}
	return VDKIM_LOOKUP_NOTFOUND;
}
