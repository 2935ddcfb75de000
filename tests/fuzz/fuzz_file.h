/*
 * fuzz_file.h - fuzz input as a file for code that reads files by name:
 * an anonymous memory file (memfd), named /proc/self/fd/N, so nothing
 * touches the disk and the file is a regular one (vdkim_file_read's
 * check).
 */
#ifndef VDKIM_FUZZ_FILE_H
#define VDKIM_FUZZ_FILE_H

#include <stddef.h>

typedef struct fuzz_file {
	int fd;
	char path[64];
} fuzz_file;

/* 0, or -1 (then nothing to close). */
int fuzz_file_open(fuzz_file *f, const void *data, size_t len);
void fuzz_file_close(fuzz_file *f);

#endif
