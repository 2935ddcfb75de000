/*
 * exim_spool.h - the body of the message Exim is handling, from its spool.
 */
#ifndef VDKIM_API_EXIM_SPOOL_H
#define VDKIM_API_EXIM_SPOOL_H

#include <stddef.h>

#include "exim_host.h"

/*
 * Opens the data file ("-D") of message id in the queue Exim is working
 * on, positioned at the start of the body.  Exim 4.96's layout:
 *
 *   $spool_directory[/$queue_name]/input[/SUBDIR]/<id>-D
 *
 * SUBDIR (split_spool_directory) is the sixth character of the id; the
 * setting itself is not visible to a dlfunc, so both places are tried.
 * The file's first line names the file ("<id>-D"): it is checked, so a
 * stale or foreign file is never signed, and skipped.  Returns the
 * descriptor, or -1 with err.
 */
int exim_spool_open_data(const exim_api *ex, const char *id, char *err,
    size_t errlen);

#endif
