/*
 * policy_keys.c - every key file of a policy, read and parsed once
 * (policy_keys.h).
 *
 * Four steps, the slow ones spread over worker threads that live only
 * for the load (each writes only its own files' records; nothing global):
 *   1. per file (threads): stat it; unchanged since the previous policy
 *      read it: its key is taken over.  Else read it (mode checked) and
 *      hash its content.
 *   2. (this thread) each content once: a content the previous policy or
 *      an earlier file of this load holds is shared, else parsed.
 *   3. per content to parse (threads): the PEM parse and the signature
 *      that proves the key works (key.c), the expensive part.
 *   4. (this thread) the files that share a content get its key, the
 *      contents are wiped, every domain-key gets its file's key or error,
 *      and the warnings are written in the config's order.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "device.h"
#include "error.h"
#include "key.h"
#include "policy_keys.h"
#include "secret.h"

#define WORKERS_MAX 64
#define FILES_PER_WORKER 16  /* below this a thread costs more than it saves */

enum file_state {
	F_NEW = 0,   /* not looked at yet */
	F_FAILED,    /* error set */
	F_REUSED,    /* unchanged: the previous policy's key */
	F_READ,      /* read and hashed, data held */
	F_SHARED,    /* same content as a key already parsed */
	F_PARSE,     /* the first file of its content: parsed in step 3 */
	F_TWIN       /* same content as an F_PARSE file of this load */
};

typedef struct key_file {
	const char *path;      /* the key table's (the first entry's) */
	int line;              /* the first domain-key naming it */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	mode_t mode;
	unsigned char hash[32];
	vdkim_key *key;        /* NULL when it failed */
	vdkim_rc rc;           /* why it failed */
	char *error;           /* malloc'd sentence when it failed */
	/* During the load only. */
	enum file_state state;
	vdkim_file data;
	size_t twin;           /* F_TWIN: the F_PARSE file of its content */
} key_file;

struct key_files {
	key_file *f;
	size_t n;
	uint32_t *of_entry;    /* by domain-key (keytab index): its file + 1,
	                          0 for none (a rotation, a device) */
	size_t *slots;         /* by path: index + 1, 0 empty */
	size_t nslots;         /* a power of two, at least twice n */
	size_t parsed;
};

/* ------------------------------------------------------------ tables */

static size_t
hash_str(const char *s)
{
	size_t h = 14695981039346656037ULL; /* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The file named path in kf, or NULL. */
static key_file *
find_file(const struct key_files *kf, const char *path)
{
	size_t h;

	if (kf == NULL || kf->nslots == 0)
		return NULL;
	for (h = hash_str(path) & (kf->nslots - 1); kf->slots[h] != 0;
	    h = (h + 1) & (kf->nslots - 1))
		if (strcmp(kf->f[kf->slots[h] - 1].path, path) == 0)
			return &kf->f[kf->slots[h] - 1];
	return NULL;
}

/* The distinct key files of p's domain-keys, in the config's order. */
static struct key_files *
collect_files(const vdkim_policy *p)
{
	struct key_files *kf = calloc(1, sizeof(*kf));
	size_t ns = 16;

	if (kf == NULL)
		return NULL;
	while (ns < 2 * p->nkeytab)
		ns *= 2;
	kf->f = calloc(p->nkeytab ? p->nkeytab : 1, sizeof(*kf->f));
	kf->slots = calloc(ns, sizeof(*kf->slots));
	kf->of_entry = calloc(p->nkeytab ? p->nkeytab : 1,
	    sizeof(*kf->of_entry));
	if (kf->f == NULL || kf->slots == NULL || kf->of_entry == NULL ||
	    p->nkeytab >= UINT32_MAX) {
		policy_key_files_free(kf);
		return NULL;
	}
	kf->nslots = ns;
	for (size_t i = 0; i < p->nkeytab; i++) {
		const key_entry *k = &p->keytab[i];
		size_t h;

		if (k->rot != NULL || device_is_uri(k->path))
			continue;
		for (h = hash_str(k->path) & (ns - 1); kf->slots[h] != 0;
		    h = (h + 1) & (ns - 1))
			if (strcmp(kf->f[kf->slots[h] - 1].path, k->path) == 0)
				break;
		if (kf->slots[h] != 0) {
			kf->of_entry[i] = (uint32_t)kf->slots[h];
			continue;
		}
		kf->of_entry[i] = (uint32_t)(kf->n + 1);
		kf->f[kf->n].path = k->path;
		kf->f[kf->n].line = k->line;
		kf->slots[h] = ++kf->n;
	}
	return kf;
}

void
policy_key_files_free(struct key_files *kf)
{
	if (kf == NULL)
		return;
	for (size_t i = 0; i < kf->n; i++) {
		vdkim_key_unref(kf->f[i].key);
		vdkim_file_free(&kf->f[i].data);
		free(kf->f[i].error);
	}
	free(kf->f);
	free(kf->slots);
	free(kf->of_entry);
	free(kf);
}

/* Contents by SHA-256: a small open-addressing map to file indexes. */
typedef struct content_map {
	const key_file *files;
	size_t *slots;
	size_t nslots;
} content_map;

static int
content_map_init(content_map *m, const key_file *files, size_t n)
{
	m->files = files;
	m->nslots = 16;
	while (m->nslots < 2 * n)
		m->nslots *= 2;
	m->slots = calloc(m->nslots, sizeof(*m->slots));
	return m->slots == NULL ? -1 : 0;
}

static size_t
content_slot(const content_map *m, const unsigned char *hash)
{
	uint64_t h;

	memcpy(&h, hash, sizeof(h));
	for (h &= m->nslots - 1; m->slots[h] != 0; h = (h + 1) &
	    (m->nslots - 1))
		if (memcmp(m->files[m->slots[h] - 1].hash, hash, 32) == 0)
			break;
	return (size_t)h;
}

/* The file of this content, or NULL. */
static const key_file *
content_find(const content_map *m, const unsigned char *hash)
{
	size_t s = content_slot(m, hash);

	return m->slots[s] ? &m->files[m->slots[s] - 1] : NULL;
}

static void
content_add(content_map *m, size_t index)
{
	size_t s = content_slot(m, m->files[index].hash);

	if (m->slots[s] == 0)
		m->slots[s] = index + 1;
}

/* ----------------------------------------------------------- workers */

typedef struct work {
	key_file *f;
	size_t n;
	atomic_size_t next;
	const struct key_files *prev;
	EVP_MD *sha256;
	void (*step)(struct work *w, key_file *f);
} work;

static void *
worker(void *arg)
{
	work *w = arg;
	size_t i;

	while ((i = atomic_fetch_add(&w->next, 1)) < w->n)
		w->step(w, &w->f[i]);
	return NULL;
}

/* Runs w->step on every file, on up to one thread per core (this one
 * included); a thread that cannot be started leaves its share to the
 * others. */
static void
run_workers(work *w)
{
	pthread_t t[WORKERS_MAX];
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	size_t want = w->n / FILES_PER_WORKER, started = 0;

	if (cores < 1)
		cores = 1;
	if (want > (size_t)cores)
		want = (size_t)cores;
	if (want > WORKERS_MAX)
		want = WORKERS_MAX;
	atomic_init(&w->next, 0);
	for (size_t i = 1; i < want; i++)
		if (pthread_create(&t[started], NULL, worker, w) == 0)
			started++;
	worker(w);
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
}

static void
set_identity(key_file *f, const struct stat *st)
{
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->size = st->st_size;
	f->mtime = st->st_mtim;
	f->ctime = st->st_ctim;
	f->mode = st->st_mode & 07777;
}

static int
same_identity(const key_file *a, const struct stat *st)
{
	return a->dev == st->st_dev && a->ino == st->st_ino &&
	    a->size == st->st_size &&
	    a->mtime.tv_sec == st->st_mtim.tv_sec &&
	    a->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	    a->ctime.tv_sec == st->st_ctim.tv_sec &&
	    a->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

static void
fail_file(key_file *f, const vdkim_error *e)
{
	f->state = F_FAILED;
	f->rc = e->rc != VDKIM_OK ? e->rc : VDKIM_EKEY;
	f->error = strdup(e->msg);
}

/* Step 1: unchanged, or read and hashed. */
static void
step_read(work *w, key_file *f)
{
	size_t i = (size_t)(f - w->f);
	/* A config reloaded unchanged names its files in the same order:
	 * the previous load's file at the same place, before the table. */
	const key_file *old = w->prev != NULL && i < w->prev->n &&
	    strcmp(w->prev->f[i].path, f->path) == 0 ? &w->prev->f[i] :
	    find_file(w->prev, f->path);
	struct stat st;
	unsigned int hlen = 0;
	vdkim_error e = { VDKIM_OK, "" };

	/* Changing a file's content or mode changes its ctime. */
	if (old != NULL && old->key != NULL && stat(f->path, &st) == 0 &&
	    same_identity(old, &st)) {
		set_identity(f, &st);
		memcpy(f->hash, old->hash, sizeof(f->hash));
		f->key = vdkim_key_ref(old->key);
		f->state = F_REUSED;
		return;
	}
	if (vdkim_secret_read_stat(f->path, "key file", S_IWGRP | S_IWOTH,
	    KEY_FILE_MAX, VDKIM_EIO, &f->data, &st, &e) != VDKIM_OK) {
		fail_file(f, &e);
		return;
	}
	set_identity(f, &st);
	if (EVP_Digest(f->data.data, f->data.len, f->hash, &hlen, w->sha256,
	    NULL) != 1 || hlen != sizeof(f->hash)) {
		vdkim_fail_ssl(&e, VDKIM_ECRYPTO, "%s: SHA-256 is not "
		    "available", f->path);
		fail_file(f, &e);
		return;
	}
	f->state = F_READ;
}

static void
parse_one(key_file *f)
{
	vdkim_error e = { VDKIM_OK, "" };

	if (vdkim_key_load_mem(f->data.data, f->data.len, f->path, &f->key,
	    &e) != VDKIM_OK)
		fail_file(f, &e);
}

/* Step 3: the PEM parse (and the key's first signature). */
static void
step_parse(work *w, key_file *f)
{
	(void)w;
	if (f->state == F_PARSE)
		parse_one(f);
}

/* ------------------------------------------------------------ steps */

/* Step 2: each content once.  A key with a warning is not shared: the
 * warning names the file it was parsed from. */
static int
dedupe(struct key_files *kf, const struct key_files *prev)
{
	content_map here, before = { NULL, NULL, 0 };

	if (content_map_init(&here, kf->f, kf->n) != 0)
		return -1;
	if (prev != NULL) {
		if (content_map_init(&before, prev->f, prev->n) != 0) {
			free(here.slots);
			return -1;
		}
		for (size_t i = 0; i < prev->n; i++)
			if (prev->f[i].key != NULL &&
			    vdkim_key_warning(prev->f[i].key) == NULL)
				content_add(&before, i);
	}
	for (size_t i = 0; i < kf->n; i++) {
		key_file *f = &kf->f[i];
		const key_file *same;

		if (f->state != F_READ)
			continue;
		if ((same = content_find(&here, f->hash)) != NULL) {
			f->state = F_TWIN;
			f->twin = (size_t)(same - kf->f);
		} else if (before.slots != NULL &&
		    (same = content_find(&before, f->hash)) != NULL) {
			f->key = vdkim_key_ref(same->key);
			f->state = F_SHARED;
		} else {
			f->state = F_PARSE;
			content_add(&here, i);
		}
	}
	free(here.slots);
	free(before.slots);
	return 0;
}

/* Step 4a: twins take their content's key (parsed themselves when it
 * failed or warns, so that the sentence names their own file). */
static void
settle_twins(struct key_files *kf)
{
	for (size_t i = 0; i < kf->n; i++) {
		key_file *f = &kf->f[i];

		if (f->state == F_PARSE)
			kf->parsed++;
		if (f->state != F_TWIN)
			continue;
		if (kf->f[f->twin].key != NULL &&
		    vdkim_key_warning(kf->f[f->twin].key) == NULL) {
			f->key = vdkim_key_ref(kf->f[f->twin].key);
		} else {
			parse_one(f);
			kf->parsed++;
		}
	}
	for (size_t i = 0; i < kf->n; i++)
		vdkim_file_free(&kf->f[i].data);
}

/* Step 4b: every domain-key gets its file's key or error; warnings in
 * the config's order, once per file (at its first domain-key). */
static vdkim_rc
assign(vdkim_policy *p, const struct key_files *prev, vdkim_error *err)
{
	const struct key_files *kf = p->key_files;

	for (size_t i = 0; i < p->nkeytab; i++) {
		key_entry *k = &p->keytab[i];
		const key_file *f, *old;

		if (kf->of_entry[i] == 0)
			continue;
		f = &kf->f[kf->of_entry[i] - 1];
		k->key = vdkim_key_ref(f->key);
		if (f->key == NULL)
			policy_key_set_error(k, "%s", f->error != NULL ?
			    f->error : "out of memory");
		if (f->line != k->line)
			continue; /* said at the file's first domain-key */
		if (f->key == NULL && (old = find_file(prev, f->path)) != NULL &&
		    old->key != NULL)
			return vdkim_fail(err, f->rc, "%s:%d: domain-key %s,%s: "
			    "the key file no longer loads: %s", p->path,
			    k->line, k->selector, k->domain,
			    policy_key_error(k));
		if (f->key == NULL) {
			policy_warn(p, 1, "%s:%d: domain-key %s,%s not loaded: "
			    "%s", p->path, k->line, k->selector, k->domain,
			    policy_key_error(k));
			continue;
		}
		if (f->mode & S_IROTH)
			policy_warn(p, 0, "%s:%d: key %s is readable by every "
			    "user (chmod 0600 it)", p->path, k->line, k->path);
		if (vdkim_key_warning(f->key) != NULL)
			policy_warn(p, 0, "%s:%d: %s", p->path, k->line,
			    vdkim_key_warning(f->key));
	}
	return VDKIM_OK;
}

vdkim_rc
policy_load_key_files(vdkim_policy *p, const vdkim_policy *prev,
    vdkim_error *err)
{
	const struct key_files *before = prev != NULL ? prev->key_files : NULL;
	struct key_files *kf = collect_files(p);
	vdkim_rc rc;
	work w;

	if (kf == NULL)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	p->key_files = kf;
	memset(&w, 0, sizeof(w));
	w.f = kf->f;
	w.n = kf->n;
	w.prev = before;
	w.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (w.sha256 == NULL)
		return vdkim_fail_ssl(err, VDKIM_ECRYPTO, "SHA-256 is not "
		    "available");
	w.step = step_read;
	run_workers(&w);
	EVP_MD_free(w.sha256);
	if (dedupe(kf, before) != 0)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	w.step = step_parse;
	run_workers(&w);
	settle_twins(kf);
	rc = assign(p, before, err);
	/* Kept for the next reload: the files, not which entry named them. */
	free(kf->of_entry);
	kf->of_entry = NULL;
	return rc;
}

size_t
policy_key_files_count(const vdkim_policy *p)
{
	return p->key_files != NULL ? p->key_files->n : 0;
}

size_t
policy_keys_parsed(const vdkim_policy *p)
{
	return p->key_files != NULL ? p->key_files->parsed : 0;
}
