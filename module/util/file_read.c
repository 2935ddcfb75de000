/*
 * file_read.c - files opened without blocking, regular files only, read
 * whole into one buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "file_read.h"

vdkim_rc
vdkim_file_open(int dirfd, const char *path, const char *what, int flags,
    vdkim_rc rc, int *fd, struct stat *st, vdkim_error *err)
{
	/* O_NONBLOCK: a FIFO opened for reading would wait for a writer.
	 * Symbolic links are followed: the checks are on the file they
	 * lead to. */
	*fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (*fd < 0 && errno == ENOENT && (flags & VDKIM_FILE_MISSING_OK))
		return VDKIM_OK;
	if (*fd < 0)
		return vdkim_fail(err, rc, "%s: cannot open the %s: %s", path,
		    what, strerror(errno));
	if (fstat(*fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(*fd);
		*fd = -1;
		return vdkim_fail(err, rc, "%s: the %s is not a regular file",
		    path, what);
	}
	return VDKIM_OK;
}

/* Reads into buf (cap bytes) until the end of the file or cap: the bytes
 * read, or -1 with errno. */
static ssize_t
read_all(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t got;

	while (len < cap) {
		got = read(fd, buf + len, cap - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0)
			break;
		len += (size_t)got;
	}
	return (ssize_t)len;
}

vdkim_rc
vdkim_file_read_fd(int fd, const struct stat *st, const char *path,
    const char *what, size_t max, int flags, vdkim_rc rc, vdkim_file *out,
    vdkim_error *err)
{
	ssize_t got;
	size_t cap;

	memset(out, 0, sizeof(*out));
	out->mode = st->st_mode & 07777;
	if (st->st_size < 0 || (unsigned long long)st->st_size > max)
		return vdkim_fail(err, rc, "%s: %lld bytes is too large for a "
		    "%s (at most %zu)", path, (long long)st->st_size, what, max);
	/* One byte more than the size seen: a file that grew since is
	 * noticed (and read to max) rather than cut short. */
	cap = (size_t)st->st_size < max ? (size_t)st->st_size + 1 : max + 1;
	out->data = malloc(cap + 1);
	if (out->data == NULL)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	got = read_all(fd, out->data, cap);
	if (got < 0) {
		int e = errno;

		vdkim_file_free(out);
		return vdkim_fail(err, rc, "%s: cannot read the %s: %s", path,
		    what, strerror(e));
	}
	out->len = (size_t)got;
	out->data[out->len] = '\0';
	if (out->len == cap) {
		vdkim_file_free(out);
		return vdkim_fail(err, rc, "%s: the %s grew while it was read; "
		    "try again", path, what);
	}
	if ((flags & VDKIM_FILE_TEXT) && strlen(out->data) != out->len) {
		vdkim_file_free(out);
		return vdkim_fail(err, rc, "%s: the %s holds a NUL byte; it is "
		    "not text", path, what);
	}
	return VDKIM_OK;
}

vdkim_rc
vdkim_file_read(int dirfd, const char *path, const char *what, size_t max,
    int flags, vdkim_rc rc, vdkim_file *out, vdkim_error *err)
{
	struct stat st;
	vdkim_rc r;
	int fd;

	memset(out, 0, sizeof(*out));
	r = vdkim_file_open(dirfd, path, what, flags, rc, &fd, &st, err);
	if (r != VDKIM_OK || fd < 0)
		return r;
	r = vdkim_file_read_fd(fd, &st, path, what, max, flags, rc, out, err);
	close(fd);
	return r;
}

void
vdkim_file_free(vdkim_file *f)
{
	/* The file may have been a secret: no copy of it stays in freed
	 * memory.  len + 1 bytes were ever written. */
	if (f->data != NULL)
		explicit_bzero(f->data, f->len + 1);
	free(f->data);
	f->data = NULL;
	f->len = 0;
}
