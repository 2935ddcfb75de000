/*
 * cli.h - what vdkimctl's commands share: error reporting, output, lists.
 */
#ifndef VDKIMCTL_CLI_H
#define VDKIMCTL_CLI_H

#include <stddef.h>
#include <stdio.h>

/* Prints "vdkimctl CMD: sentence" on stderr; returns 1 (an exit status). */
int cli_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Writes all of buf to f; returns 0 or -1. */
int cli_write(FILE *f, const void *buf, size_t len);
/* Splits "A,B:C D" into a NULL-terminated array (one malloc); NULL on
 * allocation failure.  Free with free(). */
char **cli_split_list(const char *text);
/*
 * Writes data to path atomically: a temporary file in the same folder,
 * fsync, rename.  mode is the new file's mode; excl refuses to replace an
 * existing file.  Returns 0, or -1 with errno-style text in why.
 */
int cli_write_file(const char *path, const void *data, size_t len,
    int mode, int excl, char *why, size_t whylen);

int cmd_keygen(int argc, char **argv);
int cmd_dns_record(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);

#endif
