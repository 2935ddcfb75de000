/*
 * maildir.h - local delivery into a Maildir: the message is written in
 * tmp/, fsync()ed, renamed into new/, and new/ is fsync()ed before the
 * delivery counts as done.
 *
 * The file name comes from the queue id (and the host name), not from the
 * time of the attempt: delivering the same queued message again after a
 * crash replaces the file in new/ instead of adding a second copy.
 */
#ifndef HARNESS_MAILDIR_H
#define HARNESS_MAILDIR_H

#include <stddef.h>
#include <time.h>

#include "segments.h"

typedef struct maildir maildir;

/* Opens dir, creating it and tmp/, new/, cur/ as needed. */
int maildir_open(const char *dir, const char *hostname, maildir **out,
    char *err, size_t errlen);
void maildir_close(maildir *m);

/* Delivers msg as new/QUEUED.ID.HOST (QUEUED: the time it was queued).
 * The file's name goes to name (may be NULL).  0, or -1 with err. */
int maildir_deliver(maildir *m, const char *queue_id, time_t queued,
    const seglist *msg, char *name, size_t namelen, char *err,
    size_t errlen);

#endif
