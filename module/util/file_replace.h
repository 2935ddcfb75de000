/*
 * file_replace.h - replacing a file's contents atomically: readers see the
 * old file or the new one, never half of either.
 */
#ifndef VDKIM_FILE_REPLACE_H
#define VDKIM_FILE_REPLACE_H

#include <stddef.h>

/*
 * Writes data to "PATH.tmp.PID" (created with mode, whatever the umask),
 * fsync()s it and renames it over path.  0, or -1 with a sentence naming
 * the file in why (the scratch file is removed).
 */
int file_replace(const char *path, const void *data, size_t len, int mode,
    char *why, size_t whylen);

#endif
