/*
 * reopen_file.c - an append-only file SIGHUP may reopen (reopen_file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reopen_file.h"

struct reopen_file {
	pthread_mutex_t lock;
	int fd;
	char *path;
	char *what;
};

static int
open_append(const char *path, const char *what, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		snprintf(err, errlen, "%s: cannot open the %s file: %s", path,
		    what, strerror(errno));
	return fd;
}

int
reopen_file_open(const char *path, const char *what, reopen_file **out,
    char *err, size_t errlen)
{
	reopen_file *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (f != NULL) {
		f->fd = -1;
		pthread_mutex_init(&f->lock, NULL);
	}
	if (f == NULL || (f->path = strdup(path)) == NULL ||
	    (f->what = strdup(what)) == NULL) {
		snprintf(err, errlen, "out of memory");
		reopen_file_close(f);
		return -1;
	}
	f->fd = open_append(path, what, err, errlen);
	if (f->fd < 0) {
		reopen_file_close(f);
		return -1;
	}
	*out = f;
	return 0;
}

int
reopen_file_reopen(reopen_file *f, char *err, size_t errlen)
{
	int fd = open_append(f->path, f->what, err, errlen), old;

	if (fd < 0)
		return -1;
	pthread_mutex_lock(&f->lock);
	old = f->fd;
	f->fd = fd;
	pthread_mutex_unlock(&f->lock);
	close(old);
	return 0;
}

int
reopen_file_write(reopen_file *f, const void *buf, size_t len)
{
	ssize_t w;
	int saved;

	pthread_mutex_lock(&f->lock);
	w = write(f->fd, buf, len);
	saved = errno;
	pthread_mutex_unlock(&f->lock);
	if (w == (ssize_t)len)
		return 0;
	errno = w < 0 ? saved : ENOSPC;
	return -1;
}

const char *
reopen_file_path(const reopen_file *f)
{
	return f->path;
}

void
reopen_file_close(reopen_file *f)
{
	if (f == NULL)
		return;
	if (f->fd >= 0)
		close(f->fd);
	pthread_mutex_destroy(&f->lock);
	free(f->path);
	free(f->what);
	free(f);
}
