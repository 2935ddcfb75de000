/*
 * secret.h - secrets (private keys, device PINs): read from files only
 * their owner can change or read, and never written into a sentence.
 */
#ifndef VDKIM_SECRET_H
#define VDKIM_SECRET_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "file_read.h"
#include "vdkim/dkim.h"

/*
 * text with every PIN in it replaced by "****", into out (always
 * NUL-terminated, cut to outlen); returns out.  A PIN is the value of a
 * key URI's "pin-value=" attribute (RFC 7512), anywhere in text, and the
 * value of an engine control command "PIN:..." at the start of text or
 * of a quoted value ("...").  Every sentence the module writes passes
 * through here (error.c, the policy's warnings, vdkimctl's messages), so
 * a PIN someone put where it does not belong is never echoed.
 */
char *vdkim_mask_pin(const char *text, char *out, size_t outlen);

/* A secret file's content: NUL-terminated, cleansed by vdkim_secret_free. */
typedef vdkim_file vdkim_secret;

/*
 * Reads the secret file path: a regular file (a FIFO or device is
 * refused, without blocking on it), of at most max bytes, whose mode has
 * none of the bits in refuse (S_IWGRP | S_IWOTH: others could replace the
 * secret; S_IRWXG | S_IRWXO: others could read it).  what names the file
 * in sentences ("key file", "pin-file").  The checks are made on the file
 * opened, not on its name, so it cannot be swapped in between
 * (file_read.h).  Fails
 * with rc, or VDKIM_ENOMEM, naming the file, its mode and what to do.
 */
vdkim_rc vdkim_secret_read(const char *path, const char *what, mode_t refuse,
    size_t max, vdkim_rc rc, vdkim_secret *out, vdkim_error *err);
/* The same, with the fstat of the file read in *st (its identity: a
 * reload that finds the same file unchanged need not read it again). */
vdkim_rc vdkim_secret_read_stat(const char *path, const char *what,
    mode_t refuse, size_t max, vdkim_rc rc, vdkim_secret *out,
    struct stat *st, vdkim_error *err);
/* Wipes and frees s's data. */
void vdkim_secret_free(vdkim_secret *s);

#endif
