/*
 * spool.h - the durable queue on disk.
 *
 * Layout (SPOOL is spool-directory):
 *   SPOOL/lock           flock()ed while a harness runs on this spool
 *   SPOOL/tmp/           files being written; emptied at start
 *   SPOOL/queue/ID.msg   the message as queued (header edits done)
 *   SPOOL/queue/ID.env   its envelope (envelope.h's text form)
 *
 * A message is queued when both files are in queue/ and the directory has
 * been fsync()ed; each file is written in tmp/, fsync()ed and renamed in,
 * .msg first.  After a crash, a .env without its .msg or a .msg without
 * its .env was never acknowledged with a 250 and is removed.  Delivery
 * progress (recipients done) rewrites the .env the same way; a delivered
 * message loses its .env first (then the directory is synced), then its
 * .msg.
 */
#ifndef HARNESS_SPOOL_H
#define HARNESS_SPOOL_H

#include <stddef.h>

#include "envelope.h"
#include "segments.h"

#define SPOOL_ID_MAX 40

typedef struct spool spool;

/* Creates the folders as needed, takes the lock, empties tmp/. */
int spool_open(const char *dir, spool **out, char *err, size_t errlen);
void spool_close(spool *s);

/* A queue id, unique across restarts ("time, microseconds, counter"). */
void spool_new_id(spool *s, char id[SPOOL_ID_MAX]);

/* Writes the message and its envelope into queue/ (each file synced);
 * spool_commit() makes the pair durable.  0, or -1 with err filled (and
 * nothing left behind). */
int spool_store(spool *s, const char *id, const seglist *msg,
    const envelope *env, char *err, size_t errlen);
/* fsync()s queue/: every message stored before the call is now safe. */
int spool_commit(spool *s, char *err, size_t errlen);
/* Removes a stored message that will not be acknowledged after all. */
void spool_discard(spool *s, const char *id);

/* Replaces the envelope (after some recipients are done), durably. */
int spool_update(spool *s, const char *id, const envelope *env, char *err,
    size_t errlen);
/* The message is done: its envelope goes (durably), then its data. */
int spool_remove(spool *s, const char *id, char *err, size_t errlen);

/* The queued message, mapped read-only. */
typedef struct spool_data {
	const char *p;
	size_t len;
	void *map;        /* NULL for an empty file */
} spool_data;

int spool_map(spool *s, const char *id, spool_data *d, char *err,
    size_t errlen);
void spool_unmap(spool_data *d);

/* Calls each() for every queued message (each takes the envelope's
 * contents), after removing the halves of unfinished ones.  Returns the
 * number found, or -1 with err filled. */
typedef void (*spool_each_fn)(void *ctx, const char *id, envelope *env);
long spool_recover(spool *s, spool_each_fn each, void *ctx, char *err,
    size_t errlen);

#endif
