/*
 * fuzz_file.c - fuzz input as a memory file.
 */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_file.h"

int
fuzz_file_open(fuzz_file *f, const void *data, size_t len)
{
	const char *p = data;

	f->fd = memfd_create("fuzz-input", MFD_CLOEXEC);
	if (f->fd < 0)
		return -1;
	while (len > 0) {
		ssize_t n = write(f->fd, p, len);

		if (n <= 0) {
			close(f->fd);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	snprintf(f->path, sizeof(f->path), "/proc/self/fd/%d", f->fd);
	return 0;
}

void
fuzz_file_close(fuzz_file *f)
{
	close(f->fd);
}
