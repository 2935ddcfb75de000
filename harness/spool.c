/*
 * spool.c - the durable queue (layout and crash rules: spool.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "file_read.h"
#include "fsio.h"
#include "log.h"
#include "spool.h"

#define ENVELOPE_MAX (1024 * 1024)

struct spool {
	char *dir;
	int lock_fd;
	int tmp_fd;       /* SPOOL/tmp */
	int queue_fd;     /* SPOOL/queue */
	atomic_uint counter;
};

/* Removes every file in the folder fd (tmp/: writes that never finished). */
static void
empty_dir(int fd)
{
	int dfd = dup(fd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;

	if (d == NULL) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			unlinkat(fd, de->d_name, 0);
	closedir(d);
}

int
spool_open(const char *dir, spool **out, char *err, size_t errlen)
{
	spool *s;
	int dir_fd;

	*out = NULL;
	dir_fd = fsio_open_dir(AT_FDCWD, dir, NULL, "the spool", err,
	    errlen);
	if (dir_fd < 0)
		return -1;
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->dir = strdup(dir)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(s);
		close(dir_fd);
		return -1;
	}
	s->tmp_fd = s->queue_fd = -1;
	atomic_init(&s->counter, 0);
	s->lock_fd = openat(dir_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		snprintf(err, errlen, "%s/lock: %s", dir, strerror(errno));
		goto fail;
	}
	/* Two harnesses on one spool would deliver everything twice. */
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		snprintf(err, errlen, "%s: another vdkim-harness is using this "
		    "spool (%s)", dir, strerror(errno));
		goto fail;
	}
	s->tmp_fd = fsio_open_dir(dir_fd, "tmp", dir, NULL, err, errlen);
	if (s->tmp_fd < 0)
		goto fail;
	s->queue_fd = fsio_open_dir(dir_fd, "queue", dir, NULL, err, errlen);
	if (s->queue_fd < 0)
		goto fail;
	/* The new folders themselves must survive a crash. */
	if (fsync(dir_fd) != 0) {
		snprintf(err, errlen, "%s: fsync: %s", dir, strerror(errno));
		goto fail;
	}
	empty_dir(s->tmp_fd);
	close(dir_fd);
	*out = s;
	return 0;
fail:
	close(dir_fd);
	spool_close(s);
	return -1;
}

void
spool_close(spool *s)
{
	if (s == NULL)
		return;
	if (s->tmp_fd >= 0)
		close(s->tmp_fd);
	if (s->queue_fd >= 0)
		close(s->queue_fd);
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* releases the flock */
	free(s->dir);
	free(s);
}

void
spool_new_id(spool *s, char id[SPOOL_ID_MAX])
{
	struct timeval tv;
	unsigned n = atomic_fetch_add(&s->counter, 1);

	gettimeofday(&tv, NULL);
	snprintf(id, SPOOL_ID_MAX, "%08llX%05lX%04X",
	    (unsigned long long)tv.tv_sec, (long)tv.tv_usec, n & 0xFFFF);
}

/* ------------------------------------------------------------ writing */

/* A file into queue/ through tmp/ (the directory is synced by the
 * caller). */
static int
put_file(spool *s, const char *name, const struct iovec *v, size_t n,
    char *err, size_t errlen)
{
	return fsio_put_file(s->tmp_fd, s->queue_fd, name, v, n, s->dir, err,
	    errlen);
}

static void
file_name(char *out, size_t outlen, const char *id, const char *ext)
{
	snprintf(out, outlen, "%s.%s", id, ext);
}

/* Writes the envelope file (not synced as a directory entry). */
static int
put_envelope(spool *s, const char *id, const envelope *env, char *err,
    size_t errlen)
{
	char name[SPOOL_ID_MAX + 8];
	strbuf text = STRBUF_INIT;
	struct iovec v;
	int rc;

	if (envelope_format(env, &text) != 0) {
		sb_free(&text);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	v.iov_base = text.s;
	v.iov_len = text.len;
	file_name(name, sizeof(name), id, "env");
	rc = put_file(s, name, &v, 1, err, errlen);
	sb_free(&text);
	return rc;
}

int
spool_store(spool *s, const char *id, const seglist *msg,
    const envelope *env, char *err, size_t errlen)
{
	char name[SPOOL_ID_MAX + 8];

	file_name(name, sizeof(name), id, "msg");
	if (put_file(s, name, msg->v, msg->n, err, errlen) != 0)
		return -1;
	if (put_envelope(s, id, env, err, errlen) != 0) {
		unlinkat(s->queue_fd, name, 0);
		return -1;
	}
	return 0;
}

int
spool_commit(spool *s, char *err, size_t errlen)
{
	if (fsync(s->queue_fd) != 0) {
		snprintf(err, errlen, "%s/queue: fsync: %s", s->dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

void
spool_discard(spool *s, const char *id)
{
	char name[SPOOL_ID_MAX + 8];

	file_name(name, sizeof(name), id, "env");
	unlinkat(s->queue_fd, name, 0);
	file_name(name, sizeof(name), id, "msg");
	unlinkat(s->queue_fd, name, 0);
}

int
spool_update(spool *s, const char *id, const envelope *env, char *err,
    size_t errlen)
{
	if (put_envelope(s, id, env, err, errlen) != 0)
		return -1;
	return spool_commit(s, err, errlen);
}

int
spool_remove(spool *s, const char *id, char *err, size_t errlen)
{
	char name[SPOOL_ID_MAX + 8];

	file_name(name, sizeof(name), id, "env");
	if (unlinkat(s->queue_fd, name, 0) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s/queue/%s: cannot remove: %s", s->dir,
		    name, strerror(errno));
		return -1;
	}
	/* Once this is durable the message will not be delivered again. */
	if (spool_commit(s, err, errlen) != 0)
		return -1;
	file_name(name, sizeof(name), id, "msg");
	unlinkat(s->queue_fd, name, 0);
	return 0;
}

/* ------------------------------------------------------------ reading */

int
spool_map(spool *s, const char *id, spool_data *d, char *err, size_t errlen)
{
	char name[SPOOL_ID_MAX + 8];
	struct stat st;
	vdkim_error verr;
	int fd;

	memset(d, 0, sizeof(*d));
	file_name(name, sizeof(name), id, "msg");
	if (vdkim_file_open(s->queue_fd, name, "queued message", 0, VDKIM_EIO,
	    &fd, &st, &verr) != VDKIM_OK) {
		snprintf(err, errlen, "%s/queue/%s", s->dir, verr.msg);
		return -1;
	}
	d->p = "";
	d->len = (size_t)st.st_size;
	if (d->len > 0) {
		d->map = mmap(NULL, d->len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (d->map == MAP_FAILED) {
			snprintf(err, errlen, "%s/queue/%s: mmap: %s", s->dir,
			    name, strerror(errno));
			d->map = NULL;
			close(fd);
			return -1;
		}
		d->p = d->map;
	}
	close(fd);
	return 0;
}

void
spool_unmap(spool_data *d)
{
	if (d->map != NULL)
		munmap(d->map, d->len);
	memset(d, 0, sizeof(*d));
}

/* Reads queue/NAME (at most ENVELOPE_MAX bytes) into f; 0, or -1 with
 * why filled. */
static int
read_small_file(spool *s, const char *name, vdkim_file *f, char *why,
    size_t whylen)
{
	vdkim_error verr;

	if (vdkim_file_read(s->queue_fd, name, "envelope", ENVELOPE_MAX,
	    VDKIM_FILE_TEXT, VDKIM_EIO, f, &verr) != VDKIM_OK) {
		snprintf(why, whylen, "%s", verr.msg);
		return -1;
	}
	return 0;
}

/* 1 when name is "ID.ext"; the ID goes to id. */
static int
split_name(const char *name, const char *ext, char id[SPOOL_ID_MAX])
{
	size_t n = strlen(name), el = strlen(ext);

	if (n <= el + 1 || n - el - 1 >= SPOOL_ID_MAX || name[n - el - 1] != '.'
	    || strcmp(name + n - el, ext) != 0)
		return 0;
	memcpy(id, name, n - el - 1);
	id[n - el - 1] = '\0';
	return 1;
}

static int
exists(spool *s, const char *id, const char *ext)
{
	char name[SPOOL_ID_MAX + 8];
	struct stat st;

	file_name(name, sizeof(name), id, ext);
	return fstatat(s->queue_fd, name, &st, 0) == 0;
}

long
spool_recover(spool *s, spool_each_fn each, void *ctx, char *err,
    size_t errlen)
{
	int dfd = dup(s->queue_fd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	char id[SPOOL_ID_MAX], why[VDKIM_ERRMSG_MAX];
	long found = 0;

	if (d == NULL) {
		snprintf(err, errlen, "%s/queue: %s", s->dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		vdkim_file text;
		envelope env;

		if (split_name(de->d_name, "msg", id)) {
			if (!exists(s, id, "env")) {
				log_msg(HLOG_WARNING, "spool: %s was never "
				    "queued (no envelope): removed", id);
				unlinkat(s->queue_fd, de->d_name, 0);
			}
			continue;
		}
		if (!split_name(de->d_name, "env", id))
			continue;
		if (!exists(s, id, "msg")) {
			log_msg(HLOG_WARNING, "spool: %s was never queued (no "
			    "data): removed", id);
			unlinkat(s->queue_fd, de->d_name, 0);
			continue;
		}
		/* text is empty (freeing it is harmless) when unread. */
		if (read_small_file(s, de->d_name, &text, why,
		    sizeof(why)) != 0 || envelope_parse(text.data, text.len,
		    &env, why, sizeof(why)) != 0) {
			log_msg(HLOG_ERR, "spool: %s/queue/%s cannot be used "
			    "(left in place): %s", s->dir, de->d_name, why);
			vdkim_file_free(&text);
			continue;
		}
		vdkim_file_free(&text);
		each(ctx, id, &env);
		envelope_clear(&env);
		found++;
	}
	closedir(d);
	/* Removals above must not come back. */
	if (spool_commit(s, err, errlen) != 0)
		return -1;
	return found;
}
