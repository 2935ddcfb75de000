/*
 * reopen_file.h - an append-only file that SIGHUP may reopen at the same
 * path (the log file, the accounting file), so that logrotate can rename
 * it away without copytruncate.
 *
 * The fd is swapped under a lock: a line being written goes whole to the
 * old file or whole to the new one, never half to each, and never to a
 * closed fd.  Thread-safe.
 */
#ifndef HARNESS_REOPEN_FILE_H
#define HARNESS_REOPEN_FILE_H

#include <stddef.h>

typedef struct reopen_file reopen_file;

/* Opens path for appending (created 0640).  what names the file in errors
 * ("log", "accounting").  0, or -1 with err filled. */
int reopen_file_open(const char *path, const char *what, reopen_file **out,
    char *err, size_t errlen);
/* Opens the path again and swaps the new fd in.  0, or -1 with err filled
 * (the old file is kept). */
int reopen_file_reopen(reopen_file *f, char *err, size_t errlen);
/* One write(2) of len bytes; 0, or -1 with errno set. */
int reopen_file_write(reopen_file *f, const void *buf, size_t len);
const char *reopen_file_path(const reopen_file *f);
void reopen_file_close(reopen_file *f);

#endif
