/*
 * policy_files.c - the files a loaded policy reads (policy_files.h).
 *
 * The walk first gathers every mention, then drops repeated paths (a key
 * file named by several domain-key lines, one state file for several
 * schedules) by sorting a copy, so that a config with thousands of keys
 * costs n log n, not n squared, and the caller sees config order.
 */
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "error.h"
#include "policy_files.h"
#include "policy_model.h"
#include "rotation.h"

typedef struct file_list {
	vdkim_policy_file *f;
	size_t n, cap;
	int nomem;
} file_list;

static void
add(file_list *l, const char *path, vdkim_policy_file_kind kind, int line,
    const char *directive, const char *selector, const char *domain)
{
	if (path == NULL || *path == '\0' || l->nomem)
		return;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		vdkim_policy_file *nf = realloc(l->f, ncap * sizeof(*nf));

		if (nf == NULL) {
			l->nomem = 1;
			return;
		}
		l->f = nf;
		l->cap = ncap;
	}
	l->f[l->n].path = path;
	l->f[l->n].kind = kind;
	l->f[l->n].line = line;
	l->f[l->n].directive = directive;
	l->f[l->n].selector = selector;
	l->f[l->n].domain = domain;
	l->n++;
}

/* A device's module-path or so-path may be a bare name OpenSSL looks up
 * in its own folders: only a path is a file to check. */
static void
add_device_path(file_list *l, const char *path, int line,
    const char *directive)
{
	if (path != NULL && strchr(path, '/') != NULL)
		add(l, path, VDKIM_PFILE_DEVICE, line, directive, NULL, NULL);
}

static void
gather(const vdkim_policy *p, file_list *l)
{
	add(l, p->path, VDKIM_PFILE_CONFIG, 0, "config", NULL, NULL);
	for (size_t i = 0; i < p->nkeytab; i++) {
		const key_entry *k = &p->keytab[i];

		if (k->rot == NULL) {
			if (!device_is_uri(k->path))
				add(l, k->path, VDKIM_PFILE_KEY, k->line,
				    "domain-key", k->selector, k->domain);
			continue;
		}
		for (size_t j = 0; j < k->rot->nkeys; j++) {
			const key_entry *e = &k->rot->keys[j].entry;

			add(l, e->path, VDKIM_PFILE_KEY, k->line,
			    "dkim-rotation-key", e->selector, e->domain);
		}
	}
	for (size_t i = 0; i < p->nfallbacks; i++)
		add(l, p->fallbacks[i].path, VDKIM_PFILE_KEY,
		    p->fallbacks[i].line, "domain-key-fallback",
		    p->fallbacks[i].selector, p->fallbacks[i].domain);
	for (size_t i = 0; i < p->ndevices; i++) {
		const dev_config *c = &p->devices[i]->cfg;

		add(l, c->pin_file, VDKIM_PFILE_PIN, c->line, "pin-file",
		    NULL, NULL);
		add(l, c->ossl_config, VDKIM_PFILE_DEVICE, c->line,
		    "openssl-config", NULL, NULL);
		add_device_path(l, c->so_path, c->line, "so-path");
		add_device_path(l, c->module_path, c->line, "module-path");
	}
	for (size_t i = 0; i < p->nschedules; i++)
		add(l, p->schedules[i].state_file, VDKIM_PFILE_STATE,
		    p->schedules[i].line, "state-file", NULL, NULL);
	if (p->dns_state_path != NULL)
		add(l, p->dns_state_path, VDKIM_PFILE_STATE, p->dns_state_line,
		    "dns-check-state-file", NULL, NULL);
}

/* Orders indexes into the list by path, then by position: the first
 * mention of a path first.  (qsort_r: no state outside the call.) */
static int
by_path(const void *a, const void *b, void *ctx)
{
	const vdkim_policy_file *f = ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(f[i].path, f[j].path);

	return c != 0 ? c : (i > j) - (i < j);
}

int
vdkim_policy_files(const vdkim_policy *p, vdkim_policy_file_fn fn,
    void *ctx, vdkim_error *err)
{
	file_list l = { NULL, 0, 0, 0 };
	size_t *order = NULL;
	unsigned char *repeat = NULL;
	int rc = 0;

	gather(p, &l);
	if (!l.nomem && l.n > 0) {
		order = malloc(l.n * sizeof(*order));
		repeat = calloc(l.n, 1);
	}
	if (l.nomem || (l.n > 0 && (order == NULL || repeat == NULL))) {
		vdkim_fail(err, VDKIM_ENOMEM, "out of memory listing the "
		    "files of %s", p->path);
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < l.n; i++)
		order[i] = i;
	if (l.n > 1)
		qsort_r(order, l.n, sizeof(*order), by_path, l.f);
	for (size_t i = 1; i < l.n; i++)
		if (strcmp(l.f[order[i]].path, l.f[order[i - 1]].path) == 0)
			repeat[order[i]] = 1;
	for (size_t i = 0; i < l.n && rc == 0; i++)
		if (!repeat[i])
			rc = fn(ctx, &l.f[i]);
out:
	free(order);
	free(repeat);
	free(l.f);
	return rc;
}

const char *
vdkim_policy_file_kind_name(vdkim_policy_file_kind kind)
{
	switch (kind) {
	case VDKIM_PFILE_CONFIG: return "config";
	case VDKIM_PFILE_KEY: return "key";
	case VDKIM_PFILE_PIN: return "pin file";
	case VDKIM_PFILE_DEVICE: return "device file";
	case VDKIM_PFILE_STATE: return "state file";
	}
	return "file";
}
