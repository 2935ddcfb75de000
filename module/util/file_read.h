/*
 * file_read.h - reading a file vdkim is given by name (a config, a key,
 * a key record, a state file, a spool file) without ever blocking on it.
 *
 * A FIFO or a device put where a regular file belongs would block a plain
 * open() or read() forever: a load or a reload that waits on it stalls the
 * MTA.  Every file is therefore opened with O_NONBLOCK, checked to be a
 * regular file on the descriptor opened (not on its name, so it cannot be
 * swapped in between), and only then read.
 */
#ifndef VDKIM_FILE_READ_H
#define VDKIM_FILE_READ_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "vdkim/dkim.h"

/* flags */
#define VDKIM_FILE_MISSING_OK 1 /* no such file: VDKIM_OK, nothing read */
#define VDKIM_FILE_TEXT       2 /* a NUL byte in it is refused */

/* A file's content. */
typedef struct vdkim_file {
	char *data;   /* malloc'd, NUL-terminated; NULL when it was missing */
	size_t len;
	mode_t mode;  /* the file's permission bits (st_mode & 07777) */
} vdkim_file;

/*
 * Opens path (relative to dirfd: AT_FDCWD or a folder's descriptor) for
 * reading, without blocking, and checks that it is a regular file.
 * what names the file in sentences ("config file").  VDKIM_OK with *fd
 * and *st set; with VDKIM_FILE_MISSING_OK in flags, VDKIM_OK and *fd -1
 * when there is no such file.  Fails with rc naming path.
 */
vdkim_rc vdkim_file_open(int dirfd, const char *path, const char *what,
    int flags, vdkim_rc rc, int *fd, struct stat *st, vdkim_error *err);

/*
 * Reads the whole of fd, opened by vdkim_file_open (st its fstat), into
 * out: at most max bytes.  The buffer is
 * allocated once, never grown, so a secret leaves no copy behind.  fd
 * stays open.  Fails with rc (read errors) naming path.
 */
vdkim_rc vdkim_file_read_fd(int fd, const struct stat *st, const char *path,
    const char *what, size_t max, int flags, vdkim_rc rc, vdkim_file *out,
    vdkim_error *err);

/* Both: open, check, read, close. */
vdkim_rc vdkim_file_read(int dirfd, const char *path, const char *what,
    size_t max, int flags, vdkim_rc rc, vdkim_file *out, vdkim_error *err);

/* Wipes and frees f's data. */
void vdkim_file_free(vdkim_file *f);

#endif
