/*
 * exit_codes.h - vdkimctl's exit statuses: one convention for every
 * command, sysexits(3)'s, so that scripts, timers and monitoring tell "the
 * command line is wrong" from "the config is wrong" from "try later".
 *
 * A command's own outcomes keep their small numbers (verify: 1 no
 * signature passes; explain: 1 not signed, 2 deferred; check-dns and
 * rotation check: 1 a key fails / signing is broken, 2 warnings only);
 * every failure of the command itself is one of these, and an outcome is
 * never used for a failure (a missing config is 66, not "broken").
 * `vdkimctl help` prints CLI_EXIT_HELP.
 */
#ifndef VDKIMCTL_EXIT_CODES_H
#define VDKIMCTL_EXIT_CODES_H

#include <sysexits.h>

#include "vdkim/dkim.h"

enum cli_exit {
	CLI_OK = 0,
	CLI_USAGE = EX_USAGE,             /* 64: the command line is wrong */
	CLI_DATA = EX_DATAERR,            /* 65: the input is bad: a message,
	                                     a key, a record */
	CLI_NOINPUT = EX_NOINPUT,         /* 66: a file to read is missing or
	                                     unreadable (the config, a key) */
	CLI_NOUSER = EX_NOUSER,           /* 67: --user names no user */
	CLI_UNAVAILABLE = EX_UNAVAILABLE, /* 69: a device or key cannot be
	                                     reached */
	CLI_SOFTWARE = EX_SOFTWARE,       /* 70: the crypto library failed */
	CLI_OSERR = EX_OSERR,             /* 71: out of memory, cannot fork */
	CLI_CANTCREAT = EX_CANTCREAT,     /* 73: a file cannot be written */
	CLI_IOERR = EX_IOERR,             /* 74: stdin/stdout failed */
	CLI_TEMPFAIL = EX_TEMPFAIL,       /* 75: try later: DNS did not
	                                     answer, a message deferred */
	CLI_NOPERM = EX_NOPERM,           /* 77: only root may do that */
	CLI_CONFIG = EX_CONFIG            /* 78: the config is wrong */
};

#define CLI_EXIT_HELP \
	"exit status (every command; sysexits):\n" \
	"  0 done   64 usage   65 bad data (message, key, record)   " \
	"66 no input (file missing)\n" \
	"  67 no such user or group   69 unavailable (device)   70 internal   " \
	"71 system error\n" \
	"  73 cannot create a file   74 I/O error   75 temporary (DNS did " \
	"not answer,\n" \
	"  deferred)   77 not permitted   78 config error\n" \
	"  outcomes: verify 1 no signature passes; explain 1 not signed, " \
	"2 deferred;\n" \
	"  check-dns 1 a key fails, 2 warnings; rotation check 1 signing " \
	"is broken,\n" \
	"  2 a selector held back or late\n"

/* The status for a module failure with result code rc (a key, a record
 * or a message the module refused; a device; memory). */
int cli_exit_for(vdkim_rc rc);

#endif
