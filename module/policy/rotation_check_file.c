/*
 * rotation_check_file.c - the whole rotation check on the state files:
 * each under its lock, read anew, checked (rotation_plan.c), written
 * atomically when something changed.  Shared by "vdkimctl rotation check"
 * and a host's check_keys, which take turns on the locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "error.h"
#include "file_replace.h"
#include "rotation_plan.h"

/* Checks the bindings of one state file under its lock and writes the
 * results atomically. */
static vdkim_rc
check_file(const vdkim_policy *p, const char *path, const char *domain,
    time_t now, vdkim_txt_lookup_fn lookup, void *ctx, rot_check *out,
    vdkim_error *err)
{
	char lock[4200], why[4400];
	char *before = NULL, *after = NULL;
	rot_state st;
	vdkim_rc rc;
	int fd, missing;

	if ((size_t)snprintf(lock, sizeof(lock), "%s.lock", path) >=
	    sizeof(lock))
		return vdkim_fail(err, VDKIM_EINVAL, "%s: path too long", path);
	/* Two checkers (cron and a host) take turns.  The lock belongs to
	 * this open file description, so two threads take turns too. */
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return vdkim_fail(err, VDKIM_EIO, "cannot open %s: %s (does "
		    "its folder exist?)", lock, strerror(errno));
	if (flock(fd, LOCK_EX) != 0) {
		rc = vdkim_fail(err, VDKIM_EIO, "cannot lock %s: %s", lock,
		    strerror(errno));
		close(fd);
		return rc;
	}
	rc = rot_state_load(path, &st, &missing, err);
	if (rc != VDKIM_OK) {
		close(fd);
		return rc;
	}
	before = rot_state_format(&st);
	rc = rotation_check_state(p, path, &st, domain, now, lookup, ctx, out,
	    err);
	after = rot_state_format(&st);
	if (rc == VDKIM_OK && (before == NULL || after == NULL))
		rc = vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	/* Nothing learnt (DNS down): the file stays as it was. */
	if (rc == VDKIM_OK && (missing || strcmp(before, after) != 0) &&
	    file_replace(path, after, strlen(after), 0644, why,
	    sizeof(why)) != 0)
		rc = vdkim_fail(err, VDKIM_EIO, "%s", why);
	free(before);
	free(after);
	rot_state_free(&st);
	close(fd);
	return rc;
}

vdkim_rc
rotation_check_run(const vdkim_policy *p, const char *domain, time_t now,
    vdkim_txt_lookup_fn lookup, void *ctx, rot_check *out, vdkim_error *err)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < p->nschedules; i++) {
		const char *path = p->schedules[i].state_file;
		size_t j;
		vdkim_rc rc;

		/* Each file once, however many schedules share it. */
		for (j = 0; j < i; j++)
			if (strcmp(p->schedules[j].state_file, path) == 0)
				break;
		if (j < i)
			continue;
		rc = check_file(p, path, domain, now, lookup, ctx, out, err);
		if (rc != VDKIM_OK)
			return rc;
	}
	return VDKIM_OK;
}
