/*
 * exim_spool.c - finding and opening the data file of an Exim message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "exim_spool.h"
#include "file_read.h"

/* Exim message ids: 16 characters in 4.96 (23 from 4.97 on). */
#define EXIM_ID_MAX 64

/* The value of an Exim variable, "" when unset. */
static const char *
exim_var(const exim_api *ex, const char *expansion)
{
	const uschar *v = ex->expand_string((uschar *)expansion);

	return v != NULL ? (const char *)v : "";
}

/*
 * Reads the first line and checks that it names this file; leaves the
 * offset just after it.  0, or -1 with err.
 */
static int
skip_name_line(int fd, const char *path, const char *id, char *err,
    size_t errlen)
{
	char want[EXIM_ID_MAX + 8], got[EXIM_ID_MAX + 8];
	size_t wlen = (size_t)snprintf(want, sizeof(want), "%s-D\n", id);
	ssize_t n;

	do
		n = pread(fd, got, wlen, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(err, errlen, "vdkim: cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if ((size_t)n != wlen || memcmp(got, want, wlen) != 0) {
		snprintf(err, errlen, "vdkim: %s does not start with the line "
		    "\"%s-D\": not the data file of message %s", path, id, id);
		return -1;
	}
	if (lseek(fd, (off_t)wlen, SEEK_SET) < 0) {
		snprintf(err, errlen, "vdkim: cannot seek in %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
exim_spool_open_data(const exim_api *ex, const char *id, char *err,
    size_t errlen)
{
	const char *spool, *queue, *path;
	char flat[4096], split[4096];
	size_t idlen = strlen(id);
	vdkim_error ferr;
	struct stat st;
	vdkim_rc rc;
	int fd, n;

	if (idlen < 6 || idlen > EXIM_ID_MAX || strchr(id, '/') != NULL) {
		snprintf(err, errlen, "vdkim: \"%s\" is not an Exim message id",
		    id);
		return -1;
	}
	spool = exim_var(ex, "$spool_directory");
	queue = exim_var(ex, "$queue_name");
	if (spool[0] != '/') {
		snprintf(err, errlen, "vdkim: Exim's $spool_directory (\"%s\") "
		    "is not an absolute path", spool);
		return -1;
	}
	n = snprintf(flat, sizeof(flat), "%s%s%s/input/%s-D", spool,
	    queue[0] ? "/" : "", queue, id);
	if (n < 0 || (size_t)n >= sizeof(flat)) {
		snprintf(err, errlen, "vdkim: the spool path of %s is too long",
		    id);
		return -1;
	}
	snprintf(split, sizeof(split), "%s%s%s/input/%c/%s-D", spool,
	    queue[0] ? "/" : "", queue, id[5], id);
	/* vdkim_file_open: without blocking, regular files only (a FIFO
	 * put in the spool would otherwise hang the Exim process). */
	path = flat;
	rc = vdkim_file_open(AT_FDCWD, flat, "Exim data file",
	    VDKIM_FILE_MISSING_OK, VDKIM_EIO, &fd, &st, &ferr);
	if (rc == VDKIM_OK && fd < 0) {
		path = split;
		rc = vdkim_file_open(AT_FDCWD, split, "Exim data file",
		    VDKIM_FILE_MISSING_OK, VDKIM_EIO, &fd, &st, &ferr);
	}
	if (rc != VDKIM_OK) {
		snprintf(err, errlen, "vdkim: %s", ferr.msg);
		return -1;
	}
	if (fd < 0) {
		snprintf(err, errlen, "vdkim: cannot open the data file of "
		    "message %s (%s, or %s with split_spool_directory): %s",
		    id, flat, split, strerror(ENOENT));
		return -1;
	}
	if (skip_name_line(fd, path, id, err, errlen) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}
