/*
 * cli.h - what vdkimctl's commands share: error reporting, output, lists.
 */
#ifndef VDKIMCTL_CLI_H
#define VDKIMCTL_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "exit_codes.h"
#include "policy_message.h"
#include "vdkim/policy.h"

/*
 * Every function here that can fail prints why on behalf of its command
 * and returns the exit status (exit_codes.h), never 0 on failure: callers
 * pass it on.
 */

/* Prints "vdkimctl CMD: sentence" on stderr; returns status (an exit
 * status, exit_codes.h). */
int cli_fail(const char *cmd, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* --time SECONDS (the clock, for trying a rotation schedule): 0, or
 * CLI_USAGE after saying why. */
int cli_parse_time(const char *cmd, const char *arg, time_t *out);
/* An option "--NAME VALUE" whose value a command takes as it is. */
typedef struct cli_opt {
	const char *name;
	const char **value;     /* set to VALUE; the last one given wins */
} cli_opt;
/* The most options cli_options takes in one call. */
#define CLI_MAX_OPTS 16
/*
 * Reads argv's options, every one of them one of opts[0..n).  Returns 0,
 * or CLI_USAGE after saying which option is unknown or lacks its value
 * (cli_getopt).  Arguments after the options are left at argv[optind].
 */
int cli_options(const char *cmd, int argc, char **argv, const cli_opt *opts,
    size_t n);
/*
 * getopt_long for a command, silent: the option's value, or -1 at the
 * end; for an unknown option or one without its value, prints which
 * ("option --dir needs a value", "unknown option --frob") on behalf of
 * cmd and returns '?'.
 */
int cli_getopt(const char *cmd, int argc, char **argv,
    const struct option *opts);
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

/*
 * A message on the module's own path (policy_message, as vdkim.so runs
 * it) for env, decided by the clock at (0: now); decide_only makes no
 * signer (explain).  0, or the exit status after saying why.
 */
int cli_message_new(const char *cmd, vdkim_policy *p,
    const vdkim_envelope *env, time_t at, int decide_only,
    policy_message **out);
/*
 * Feeds in to pm until the policy has decided (at the end of the header,
 * or of the input), copying every byte read to copy when it is not NULL
 * (bytes past the header too: the reads are in chunks).  Returns 0, or
 * the exit status after saying why.
 */
int cli_message_decide(const char *cmd, policy_message *pm, FILE *in,
    FILE *copy);

/* The status for a config that did not load: CLI_NOINPUT when the file
 * itself cannot be read, else CLI_CONFIG. */
int cli_config_status(const char *path);
/* Loads the policy, printing load warnings as "vdkimctl CMD: warning: ..."
 * on stderr; returns 0, or prints the error and returns
 * cli_config_status's. */
int cli_policy_load(const char *cmd, const char *path, vdkim_policy **out);
/* The same, as flags say: CLI_LOAD_CHECKER, the load of a checker
 * (rotation check, check-dns), where a damaged state file loads as
 * unchecked, for the checker to repair (policy_load); CLI_LOAD_QUIET, the
 * load warnings not printed (rotation prepare, which makes the missing
 * keys they would name, loads again afterwards to tell what is left). */
#define CLI_LOAD_CHECKER 1
#define CLI_LOAD_QUIET 2
/* CLI_LOAD_KEYS_ON_DEMAND: checking one message (sign --config, explain):
 * each key file is loaded when the decision picks it, not all up front
 * (POLICY_LOAD_KEYS_ON_DEMAND), so a config of 100,000 domain-keys
 * answers at once; a broken key file of another domain is not read
 * (config-test, which loads everything, reports it). */
#define CLI_LOAD_KEYS_ON_DEMAND 4
int cli_policy_load_as(const char *cmd, const char *path, int flags,
    vdkim_policy **out);
/* Prints p's warnings from *seen on, as the load does, and sets *seen to
 * their count: with CLI_LOAD_KEYS_ON_DEMAND the decision adds those of
 * the key it picked (a key every user can read, a weak one). */
void cli_policy_warnings(const char *cmd, const vdkim_policy *p,
    size_t *seen);
/* The config blocks vdkimctl leaves to hosts: those of the hosts shipped
 * with vdkim (VDKIM_SHIPPED_HOST_BLOCKS), so that one file serves them and
 * vdkimctl alike.  NULL-terminated, for vdkim_policy_load_skipping. */
extern const char *const cli_host_blocks[];
/* What to change for a reason, in words ("" for ok). */
const char *cli_why_hint(vdkim_why why);

/* The zone-file line publishing key (malloc'd); 0, or the exit status
 * after saying why on behalf of cmd. */
int cli_zone_line(const char *cmd, const vdkim_key *key, const char *selector,
    const char *domain, char **line);
/*
 * Generates a key and writes DIR/SELECTOR.private (0600, never replacing a
 * file) and DIR/SELECTOR.txt (the zone-file line, also returned in *line,
 * malloc'd).  0, or the exit status after saying why.
 */
int cli_keygen_write(const char *cmd, vdkim_key_type type, unsigned bits,
    const char *selector, const char *domain, const char *dir, char **line);

/*
 * config-test --user NAME (cmd_access.c): opens every file of p as user
 * NAME would (a child process with NAME's uid, gid and groups), printing
 * one line per file.  0 when all can be read, EX_CONFIG (78) when one
 * cannot, another sysexits code when the check itself cannot run.
 */
int cli_access_test(const vdkim_policy *p, const char *user);

int cmd_keygen(int argc, char **argv);
int cmd_check_dns(int argc, char **argv);
int cmd_dns_record(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_config_test(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_rotation(int argc, char **argv);
int cmd_import(int argc, char **argv);   /* import_out.c */
int cmd_stats(int argc, char **argv);

#endif
