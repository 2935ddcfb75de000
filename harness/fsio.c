/*
 * fsio.c - durable file writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsio.h"

#define IOV_BATCH 64

int
fsio_write_all(int fd, const struct iovec *v, size_t n)
{
	struct iovec cur[IOV_BATCH];

	while (n > 0) {
		size_t k = n < IOV_BATCH ? n : IOV_BATCH;

		memcpy(cur, v, k * sizeof(*cur));
		for (size_t i = 0; i < k;) {
			ssize_t w = writev(fd, cur + i, (int)(k - i));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			while (i < k && (size_t)w >= cur[i].iov_len)
				w -= (ssize_t)cur[i++].iov_len;
			if (i < k) {
				cur[i].iov_base = (char *)cur[i].iov_base + w;
				cur[i].iov_len -= (size_t)w;
			}
		}
		v += k;
		n -= k;
	}
	return 0;
}

int
fsio_put_file(int tmp_dir, int dst_dir, const char *name,
    const struct iovec *v, size_t n, const char *label, char *err,
    size_t errlen)
{
	int fd, saved;

	fd = openat(tmp_dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s/tmp/%s: %s", label, name,
		    strerror(errno));
		return -1;
	}
	if (fsio_write_all(fd, v, n) != 0 || fsync(fd) != 0) {
		saved = errno;
		close(fd);
		unlinkat(tmp_dir, name, 0);
		snprintf(err, errlen, "%s/tmp/%s: cannot write: %s", label,
		    name, strerror(saved));
		return -1;
	}
	if (close(fd) != 0 || renameat(tmp_dir, name, dst_dir, name) != 0) {
		saved = errno;
		unlinkat(tmp_dir, name, 0);
		snprintf(err, errlen, "%s/%s: cannot put it in place: %s", label,
		    name, strerror(saved));
		return -1;
	}
	return 0;
}

int
fsio_open_dir(int parent_fd, const char *name, const char *label,
    const char *what, char *err, size_t errlen)
{
	const char *step = "create";
	int fd = -1;

	if (mkdirat(parent_fd, name, 0700) == 0 || errno == EEXIST) {
		step = "open";
		fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		snprintf(err, errlen, "%s%s%s: cannot %s%s%s: %s",
		    label != NULL ? label : "", label != NULL ? "/" : "", name,
		    step, what != NULL ? " " : "", what != NULL ? what : "",
		    strerror(errno));
	return fd;
}
