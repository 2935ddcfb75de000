/*
 * fsio.h - durable file writes shared by the spool and the Maildir writer:
 * write in a scratch folder, fsync, rename into place; and their folders.
 */
#ifndef HARNESS_FSIO_H
#define HARNESS_FSIO_H

#include <stddef.h>
#include <sys/uio.h>

/* Writes all n segments to fd, retrying short writes.  0, or -1 (errno). */
int fsio_write_all(int fd, const struct iovec *v, size_t n);

/*
 * Writes the segments to tmp_dir/name (created 0600, truncated), fsync()s
 * it and renames it to dst_dir/name, replacing what was there.  The caller
 * fsync()s dst_dir when the new name must survive a crash.  On failure the
 * scratch file is removed and err says what failed, naming the file as
 * "LABEL/name".
 */
int fsio_put_file(int tmp_dir, int dst_dir, const char *name,
    const struct iovec *v, size_t n, const char *label, char *err,
    size_t errlen);

/*
 * Opens (creating, mode 0700) the folder name under parent_fd (AT_FDCWD:
 * name is a path of its own).  Returns the descriptor, or -1 with err
 * reading "[LABEL/]NAME: cannot create|open[ WHAT]: why", where label
 * (or NULL) is how parent_fd is shown and what (or NULL) says what the
 * folder is ("the spool").
 */
int fsio_open_dir(int parent_fd, const char *name, const char *label,
    const char *what, char *err, size_t errlen);

#endif
