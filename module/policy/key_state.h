/*
 * key_state.h - the key checkers' state files: what the last check found
 * for each selector of each domain, shared through a file that every
 * process loading the policy reads.  Two kinds use the one format and the
 * one reader and writer (rotation_state.c) and the one locked update
 * (rotation_check_file.c):
 *
 *   KEY_STATE_ROTATION  a rotation schedule's state-file (rotation.h)
 *   KEY_STATE_DNS       dns-check-state-file: the DNS verdict of every
 *                       key the policy signs with (dns_check.h)
 *
 * The records are rot_record, the collection rot_state (rotation.h).
 */
#ifndef VDKIM_KEY_STATE_H
#define VDKIM_KEY_STATE_H

#include <time.h>

#include "rotation.h"

typedef enum key_state_kind {
	KEY_STATE_ROTATION = 0,
	KEY_STATE_DNS
} key_state_kind;

/* "rotation state file", "DNS check state file", for sentences. */
const char *key_state_kind_name(key_state_kind kind);

/*
 * Parses a state file's text of the given kind; label names it in errors
 * ("FILE:LINE: what").  Strict: anything malformed is VDKIM_ESYNTAX.
 */
vdkim_rc key_state_parse(key_state_kind kind, const char *text, size_t len,
    const char *label, rot_state *st, vdkim_error *err);
/*
 * What can be read of a damaged file: every well-formed record line (the
 * first of duplicates), whatever else the file holds.  Never fails but
 * for memory (VDKIM_ENOMEM); *dropped counts the lines left out.
 */
vdkim_rc key_state_salvage(key_state_kind kind, const char *text,
    size_t len, rot_state *st, size_t *dropped, vdkim_error *err);
/*
 * Reads path's text (malloc'd into *text, NUL-terminated, *len bytes).
 * A file that does not exist is VDKIM_OK with *missing set and *text
 * NULL.  VDKIM_EIO with the path when it cannot be read.
 */
vdkim_rc key_state_read(const char *path, char **text, size_t *len,
    int *missing, vdkim_error *err);
/* key_state_read and key_state_parse together (a missing file is an
 * empty state with *missing set). */
vdkim_rc key_state_load(key_state_kind kind, const char *path, rot_state *st,
    int *missing, vdkim_error *err);
/*
 * key_state_load for a policy being loaded: a damaged file fails the load
 * (err), unless tolerate, where it loads as empty (never checked) with a
 * warning on p naming the damage and *damaged set.
 */
vdkim_rc key_state_load_policy(vdkim_policy *p, key_state_kind kind,
    const char *path, int tolerate, rot_state *st, int *missing,
    int *damaged, vdkim_error *err);
/* The text of a state file of kind (malloc'd); NULL when out of memory. */
char *key_state_format(key_state_kind kind, const rot_state *st);

/*
 * One checker's turn on a state file: takes its lock (PATH.lock, so that
 * vdkimctl and a host take turns), reads it anew, lets update change the
 * records (update returns VDKIM_OK or an error it has put in err) and
 * writes the file atomically when the records changed (or when there was
 * none, for a check that learnt something).  A damaged file is repaired:
 * its readable records are kept, and when the new records are written the
 * damaged file is first kept as PATH.bad-YYYYMMDDTHHMMSSZ (by now); repair
 * (when not NULL) then holds the one line saying so, else "".  Nothing is
 * written when nothing was learnt: the file stays byte for byte.
 */
typedef vdkim_rc (*key_state_update_fn)(rot_state *st, void *ctx,
    vdkim_error *err);
vdkim_rc key_state_check_file(key_state_kind kind, const char *path,
    time_t now, key_state_update_fn update, void *ctx, char *repair,
    size_t repairlen, vdkim_error *err);

#endif
