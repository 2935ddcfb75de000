/*
 * rotation_check_file.c - a checker's turn on a state file
 * (key_state_check_file: under its lock, read anew, repaired when
 * damaged, updated, written atomically when something changed), and the
 * whole rotation check on the schedules' files with it.  Shared by
 * "vdkimctl rotation check", "vdkimctl check-dns" (dns_check.c) and a
 * host's check_keys, which take turns on the locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "file_replace.h"
#include "key_state.h"
#include "rotation_plan.h"

/* Reads path under the lock: parsed, or salvaged when damaged (then
 * *damage says how, from the strict parse's error). */
static vdkim_rc
read_state(key_state_kind kind, const char *path, rot_state *st,
    int *missing, char *damage, size_t damagelen, size_t *dropped,
    vdkim_error *err)
{
	vdkim_error perr;
	char *text;
	size_t len;
	vdkim_rc rc;

	damage[0] = '\0';
	*dropped = 0;
	memset(st, 0, sizeof(*st));
	rc = key_state_read(path, &text, &len, missing, err);
	if (rc != VDKIM_OK || *missing)
		return rc;
	rc = key_state_parse(kind, text, len, path, st, &perr);
	if (rc == VDKIM_ESYNTAX) {
		snprintf(damage, damagelen, "%s", perr.msg);
		rc = key_state_salvage(kind, text, len, st, dropped, err);
	} else if (rc != VDKIM_OK) {
		*err = perr;
	}
	free(text);
	return rc;
}

/* Keeps the damaged file as PATH.bad-TIMESTAMP (a hard link, so that the
 * atomic replacement that follows never leaves path absent). */
static vdkim_rc
keep_damaged(const char *path, time_t now, char *bad, size_t badlen,
    vdkim_error *err)
{
	struct tm tm;
	char stamp[32];

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
		snprintf(stamp, sizeof(stamp), "%lld", (long long)now);
	if ((size_t)snprintf(bad, badlen, "%s.bad-%s", path, stamp) >= badlen)
		return vdkim_fail(err, VDKIM_EINVAL, "%s: path too long", path);
	if (link(path, bad) != 0 && errno != EEXIST)
		return vdkim_fail(err, VDKIM_EIO, "cannot keep the damaged %s as "
		    "%s: %s", path, bad, strerror(errno));
	return VDKIM_OK;
}

vdkim_rc
key_state_check_file(key_state_kind kind, const char *path, time_t now,
    key_state_update_fn update, void *ctx, char *repair, size_t repairlen,
    vdkim_error *err)
{
	char lock[4200], why[4400], damage[VDKIM_ERRMSG_MAX], bad[4300];
	char *before = NULL, *after = NULL;
	rot_state st;
	size_t dropped, kept;
	vdkim_rc rc;
	int fd, missing;

	if (repair != NULL && repairlen > 0)
		repair[0] = '\0';
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
	rc = read_state(kind, path, &st, &missing, damage, sizeof(damage),
	    &dropped, err);
	if (rc != VDKIM_OK) {
		close(fd);
		return rc;
	}
	kept = st.n;
	before = key_state_format(kind, &st);
	rc = update(&st, ctx, err);
	after = key_state_format(kind, &st);
	if (rc == VDKIM_OK && (before == NULL || after == NULL))
		rc = vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	/* Nothing learnt (DNS down): the file stays as it was, damaged or
	 * not. */
	if (rc == VDKIM_OK && (missing || strcmp(before, after) != 0)) {
		if (damage[0] != '\0')
			rc = keep_damaged(path, now, bad, sizeof(bad), err);
		if (rc == VDKIM_OK && file_replace(path, after, strlen(after),
		    0644, why, sizeof(why)) != 0)
			rc = vdkim_fail(err, VDKIM_EIO, "%s", why);
		if (rc == VDKIM_OK && damage[0] != '\0' && repair != NULL)
			snprintf(repair, repairlen, "repaired the damaged %s "
			    "(%s): moved aside as %s, %zu readable record%s "
			    "kept, %zu line%s dropped", path, damage, bad,
			    kept, kept == 1 ? "" : "s", dropped,
			    dropped == 1 ? "" : "s");
	}
	free(before);
	free(after);
	rot_state_free(&st);
	close(fd);
	return rc;
}

/* The rotation check of the bindings writing one state file. */
struct rot_file_run {
	const vdkim_policy *p;
	const char *path, *domain;
	time_t now;
	vdkim_txt_lookup_fn lookup;
	void *ctx;
	rot_check *out;
};

static vdkim_rc
rot_file_update(rot_state *st, void *ctx, vdkim_error *err)
{
	struct rot_file_run *r = ctx;

	return rotation_check_state(r->p, r->path, st, r->domain, r->now,
	    r->lookup, r->ctx, r->out, err);
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
		struct rot_file_run r = { p, path, domain, now, lookup, ctx,
		    out };
		rc = key_state_check_file(KEY_STATE_ROTATION, path, now,
		    rot_file_update, &r, out->repairs[out->nrepairs],
		    sizeof(out->repairs[0]), err);
		if (rc != VDKIM_OK)
			return rc;
		if (out->repairs[out->nrepairs][0] != '\0' &&
		    out->nrepairs + 1 < ROT_MAX_REPAIRS)
			out->nrepairs++;
	}
	return VDKIM_OK;
}
