/*
 * policy_model.c - the loaded model's warnings and device lookup: a
 * leaf every other policy file may use (the parser, the loaders, the
 * decision), which itself calls none of them (the indexes are in
 * policy_index.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "policy_model.h"
#include "secret.h"

int
policy_warn(vdkim_policy *p, int is_error, const char *fmt, ...)
{
	policy_warning *nw;
	char buf[2 * VDKIM_ERRMSG_MAX], masked[sizeof(buf)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	nw = realloc(p->warnings, (p->nwarnings + 1) * sizeof(*nw));
	if (nw == NULL)
		return -1;
	p->warnings = nw;
	/* Warnings reach logs and config-test: never with a PIN. */
	nw[p->nwarnings].text = strdup(vdkim_mask_pin(buf, masked,
	    sizeof(masked)));
	if (nw[p->nwarnings].text == NULL)
		return -1;
	nw[p->nwarnings++].is_error = is_error;
	return 0;
}

/* A key entry is in the table of every domain-key (100,000 at an email
 * service provider): the sentence is allocated only for the few that
 * fail, not carried by each. */
void
policy_key_set_error(key_entry *k, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(k->error);
	k->error = s;
}

const char *
policy_key_error(const key_entry *k)
{
	if (k->error != NULL)
		return k->error;
	return k->key != NULL ? "" : "not loaded (out of memory for the "
	    "reason)";
}

device *
policy_device_for(const vdkim_policy *p, const char *uri)
{
	for (size_t i = 0; i < p->ndevices; i++)
		if (device_handles(p->devices[i], uri))
			return p->devices[i];
	return NULL;
}
