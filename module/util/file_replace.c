/*
 * file_replace.c - write a scratch file beside the target, fsync, rename.
 *
 * The scratch name carries the process id, so two processes replacing the
 * same file do not write into each other's scratch file; callers that
 * must not lose each other's updates take a lock around read-modify-write
 * (the rotation checker does).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_replace.h"

int
file_replace(const char *path, const void *data, size_t len, int mode,
    char *why, size_t whylen)
{
	char tmp[4096];
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
	    (long)getpid()) >= sizeof(tmp)) {
		snprintf(why, whylen, "%s: path too long", path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		snprintf(why, whylen, "cannot create %s: %s", tmp,
		    strerror(errno));
		return -1;
	}
	/* The mode must hold whatever the umask says. */
	if (fchmod(fd, (mode_t)mode) != 0 ||
	    write(fd, data, len) != (ssize_t)len || fsync(fd) != 0) {
		snprintf(why, whylen, "cannot write %s: %s", tmp,
		    strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		snprintf(why, whylen, "cannot write %s: %s", path,
		    strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
