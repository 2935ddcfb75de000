/*
 * cmd_access.c - "vdkimctl config-test --user NAME": can the MTA's user
 * read what the config names?
 *
 * config-test runs as root, which reads everything; the MTA does not
 * (Debian's Exim reads keys as Debian-exim).  A key only root can read
 * loads in config-test and fails in the MTA, where every message then
 * leaves "key-not-loaded".  So every file of the policy (policy_files.h)
 * is opened the way the MTA would open it: in a child that has become
 * NAME (its groups, then its gid, then its uid), read-only.  The child
 * prints one line per file and exits with the verdict; nothing it does
 * changes the parent's identity.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "file_read.h"
#include "policy_files.h"

typedef struct access_run {
	const char *user;
	size_t nfiles, nbad;
} access_run;

/* Becomes user (uid, gid, supplementary groups); 0, or -1 with why. */
static int
become(const struct passwd *pw, char *why, size_t whylen)
{
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 ||
	    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		snprintf(why, whylen, "cannot become user %s: %s",
		    pw->pw_name, strerror(errno));
		return -1;
	}
	/* Really dropped: root must not be regained. */
	if (pw->pw_uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
		snprintf(why, whylen, "still root after becoming user %s",
		    pw->pw_name);
		return -1;
	}
	return 0;
}

/*
 * A state file's folder: the checker ("vdkimctl rotation check") writes
 * FILE.lock and a temporary file there.  Whether this user could is
 * said, not judged: the checker usually runs as another user (cron).
 */
static void
say_state_folder(const char *path, const char *user)
{
	char copy[4096];
	const char *dir;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (access(dir, W_OK | X_OK) == 0)
		printf("          its folder %s is writable by %s (the "
		    "rotation checker may run as %s)\n", dir, user, user);
	else
		printf("          its folder %s is not writable by %s: %s (run "
		    "\"vdkimctl rotation check\" as a user who can write it)\n",
		    dir, user, strerror(errno));
}

/* One file, opened as the MTA would: read-only. */
static int
check_file(void *ctx, const vdkim_policy_file *f)
{
	access_run *r = ctx;
	char where[512] = "";
	struct stat st;
	vdkim_error err;
	int fd, ok;

	if (f->selector != NULL)
		snprintf(where, sizeof(where), " (%s %s,%s, line %d)",
		    f->directive, f->selector, f->domain, f->line);
	else if (f->line > 0)
		snprintf(where, sizeof(where), " (%s, line %d)", f->directive,
		    f->line);
	r->nfiles++;
	/* Opened as the module opens it (file_read.h): a FIFO or a folder
	 * is a failure, not a hang.  A state file is read as an empty state
	 * until the checker writes it. */
	ok = vdkim_file_open(AT_FDCWD, f->path,
	    vdkim_policy_file_kind_name(f->kind),
	    f->kind == VDKIM_PFILE_STATE ? VDKIM_FILE_MISSING_OK : 0,
	    VDKIM_EIO, &fd, &st, &err) == VDKIM_OK;
	if (ok && fd >= 0) {
		close(fd);
		printf("  ok      %s %s%s\n", vdkim_policy_file_kind_name(f->kind),
		    f->path, where);
	} else if (ok) {
		printf("  ok      %s %s%s: not written yet (the rotation "
		    "checker creates it)\n",
		    vdkim_policy_file_kind_name(f->kind), f->path, where);
	} else {
		/* The sentence names the file first; the line did already. */
		size_t pl = strlen(f->path);
		const char *why = strncmp(err.msg, f->path, pl) == 0 &&
		    strncmp(err.msg + pl, ": ", 2) == 0 ? err.msg + pl + 2 :
		    err.msg;

		printf("  FAILED  %s %s%s: %s\n",
		    vdkim_policy_file_kind_name(f->kind), f->path, where, why);
		r->nbad++;
	}
	if (f->kind == VDKIM_PFILE_STATE)
		say_state_folder(f->path, r->user);
	return 0;
}

/* The child: becomes the user, checks, exits 0 or EX_CONFIG. */
static void
child(const vdkim_policy *p, const struct passwd *pw)
{
	access_run r = { pw->pw_name, 0, 0 };
	vdkim_error err;
	char why[512];

	if (become(pw, why, sizeof(why)) != 0) {
		cli_fail("config-test", CLI_OSERR, "%s", why);
		_exit(EX_OSERR);
	}
	printf("files as user %s (uid %ld, gid %ld):\n", pw->pw_name,
	    (long)pw->pw_uid, (long)pw->pw_gid);
	if (vdkim_policy_files(p, check_file, &r, &err) != 0) {
		cli_fail("config-test", cli_exit_for(err.rc), "%s", err.msg);
		_exit(EX_OSERR);
	}
	if (r.nbad == 0)
		printf("all %zu file(s) readable by %s\n", r.nfiles,
		    pw->pw_name);
	else
		printf("%zu of %zu file(s) cannot be read by %s: the MTA "
		    "running as %s cannot use them (chgrp/chmod them; "
		    "\"vdkimctl keygen --group\" writes keys so)\n", r.nbad,
		    r.nfiles, pw->pw_name, pw->pw_name);
	_exit(fflush(stdout) != 0 ? EX_IOERR : r.nbad ? EX_CONFIG : 0);
}

int
cli_access_test(const vdkim_policy *p, const char *user)
{
	struct passwd *pw;
	pid_t pid;
	int status;

	errno = 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		cli_fail("config-test", CLI_NOUSER,
		    "--user %s: %s", user, errno ?
		    strerror(errno) : "no such user");
		return EX_NOUSER;
	}
	if (geteuid() != 0 && geteuid() != pw->pw_uid) {
		cli_fail("config-test", CLI_NOPERM,
		    "--user %s: only root can open files "
		    "as another user", user);
		return EX_NOPERM;
	}
	/* The child inherits stdout's buffer: empty it first. */
	if (fflush(stdout) != 0)
		return cli_fail("config-test", CLI_IOERR, "cannot write: %s",
		    strerror(errno));
	pid = fork();
	if (pid < 0)
		return cli_fail("config-test", CLI_OSERR, "cannot fork: %s",
		    strerror(errno));
	if (pid == 0)
		child(p, pw);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return cli_fail("config-test", CLI_OSERR,
			    "waiting for the "
			    "access check: %s", strerror(errno));
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return cli_fail("config-test", CLI_OSERR, "the access check as %s died "
	    "(signal %d)", user, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
