/*
 * rotation_state.c - the rotation checker's results, shared through a
 * file.
 *
 * The checker (vdkimctl rotation check) writes the file atomically; every
 * process that loads the policy reads it then, so all the processes of a
 * forking MTA decide alike.  The text form:
 *
 *   # comment
 *   vdkim-rotation-state 1
 *   record DOMAIN SELECTOR STATUS SINCE CHECKED
 *   ...
 *   end COUNT
 *
 * STATUS is matching, missing, mismatched or dns-error; SINCE and CHECKED
 * are seconds since 1970 (0: never).  The closing "end COUNT" tells a
 * complete file from a truncated one; anything malformed is an error with
 * its line, never a guess.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain_name.h"
#include "error.h"
#include "file_read.h"
#include "rotation.h"
#include "strbuf.h"

#define STATE_MAGIC "vdkim-rotation-state"
#define STATE_VERSION 1
#define STATE_FILE_MAX (8 * 1024 * 1024)
#define STATE_LINE_MAX 512

static const char *const status_names[] = {
	[ROT_UNKNOWN] = "unknown",
	[ROT_MATCHING] = "matching",
	[ROT_MISSING] = "missing",
	[ROT_MISMATCHED] = "mismatched",
	[ROT_DNS_ERROR] = "dns-error",
};

const char *
rot_status_name(int status)
{
	return status >= 0 && status <= ROT_DNS_ERROR ? status_names[status] :
	    "unknown";
}

static int
status_from_name(const char *s)
{
	for (int i = ROT_MATCHING; i <= ROT_DNS_ERROR; i++)
		if (strcmp(s, status_names[i]) == 0)
			return i;
	return -1;
}

static int
cmp_record(const void *a, const void *b)
{
	const rot_record *x = a, *y = b;
	int c = strcasecmp(x->domain, y->domain);

	return c != 0 ? c : strcasecmp(x->selector, y->selector);
}

const rot_record *
rot_state_find(const rot_state *st, const char *domain, const char *selector)
{
	rot_record key;

	if (st == NULL || st->n == 0 || strlen(domain) >= sizeof(key.domain) ||
	    strlen(selector) >= sizeof(key.selector))
		return NULL;
	strcpy(key.domain, domain);
	strcpy(key.selector, selector);
	return bsearch(&key, st->r, st->n, sizeof(*st->r), cmp_record);
}

/* Appends a record (the caller sorts); -1 when out of memory. */
static rot_record *
add_record(rot_state *st)
{
	if (st->n == st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 16;
		rot_record *nr = realloc(st->r, ncap * sizeof(*nr));
		if (nr == NULL)
			return NULL;
		st->r = nr;
		st->cap = ncap;
	}
	memset(&st->r[st->n], 0, sizeof(st->r[st->n]));
	return &st->r[st->n++];
}

void
rot_state_free(rot_state *st)
{
	free(st->r);
	memset(st, 0, sizeof(*st));
}

/* A number of seconds, 0 or more, the whole word. */
static int
parse_secs(const char *w, time_t *t)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(w, &end, 10);
	if (*w == '\0' || *end != '\0' || errno != 0 || v < 0)
		return -1;
	*t = (time_t)v;
	return 0;
}

static vdkim_rc
bad_line(vdkim_error *err, const char *label, int line, const char *what)
{
	return vdkim_fail(err, VDKIM_ESYNTAX, "%s:%d: %s (the rotation state "
	    "file is written by vdkimctl rotation check: run it again)",
	    label, line, what);
}

/* One "record ..." line into st. */
static vdkim_rc
parse_record(char *words[], int nw, rot_state *st, const char *label,
    int line, vdkim_error *err)
{
	rot_record *r;
	int status;

	if (nw != 6)
		return bad_line(err, label, line, "expected \"record DOMAIN "
		    "SELECTOR STATUS SINCE CHECKED\"");
	if (!domain_is_valid(words[1]) || strlen(words[1]) >= sizeof(r->domain))
		return bad_line(err, label, line, "expected a domain name");
	if (!domain_is_valid(words[2]) || strchr(words[2], '.') != NULL ||
	    strlen(words[2]) >= sizeof(r->selector))
		return bad_line(err, label, line, "expected a selector");
	status = status_from_name(words[3]);
	if (status < 0)
		return bad_line(err, label, line, "expected a status (matching, "
		    "missing, mismatched, dns-error)");
	r = add_record(st);
	if (r == NULL)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	strcpy(r->domain, words[1]);
	strcpy(r->selector, words[2]);
	r->status = status;
	if (parse_secs(words[4], &r->since) != 0 ||
	    parse_secs(words[5], &r->checked) != 0) {
		st->n--;
		return bad_line(err, label, line, "expected times in seconds "
		    "since 1970");
	}
	return VDKIM_OK;
}

vdkim_rc
rot_state_parse(const char *text, size_t len, const char *label,
    rot_state *st, vdkim_error *err)
{
	const char *p = text, *end = text + len;
	int line = 0, have_magic = 0, have_end = 0;
	vdkim_rc rc = VDKIM_OK;

	memset(st, 0, sizeof(*st));
	while (p < end && rc == VDKIM_OK) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char buf[STATE_LINE_MAX], *words[8], *save = NULL, *w;
		int nw = 0;

		line++;
		if (ll >= sizeof(buf) || memchr(p, '\0', ll) != NULL) {
			rc = bad_line(err, label, line, "line too long or not "
			    "text");
			break;
		}
		memcpy(buf, p, ll);
		buf[ll] = '\0';
		p += ll + (nl != NULL);
		if (nl == NULL && have_magic) {
			/* Every line the checker writes ends in a newline. */
			rc = bad_line(err, label, line, "the file is truncated "
			    "(its last line has no end)");
			break;
		}
		for (w = strtok_r(buf, " \t\r", &save); w != NULL && nw < 8;
		    w = strtok_r(NULL, " \t\r", &save))
			words[nw++] = w;
		if (nw == 0 || words[0][0] == '#')
			continue;
		if (have_end) {
			rc = bad_line(err, label, line, "nothing may follow the "
			    "end line");
		} else if (!have_magic) {
			time_t v;
			if (nw != 2 || strcmp(words[0], STATE_MAGIC) != 0 ||
			    parse_secs(words[1], &v) != 0)
				rc = bad_line(err, label, line, "expected \""
				    STATE_MAGIC " 1\": not a rotation state "
				    "file");
			else if (v != STATE_VERSION)
				rc = bad_line(err, label, line, "a rotation "
				    "state file of another version");
			have_magic = 1;
		} else if (strcmp(words[0], "record") == 0) {
			rc = parse_record(words, nw, st, label, line, err);
		} else if (strcmp(words[0], "end") == 0) {
			time_t count;
			if (nw != 2 || parse_secs(words[1], &count) != 0 ||
			    (size_t)count != st->n)
				rc = bad_line(err, label, line, "the end line "
				    "does not count the records above it");
			have_end = 1;
		} else {
			rc = bad_line(err, label, line, "expected \"record\" "
			    "or \"end\"");
		}
	}
	if (rc == VDKIM_OK && !have_end)
		rc = bad_line(err, label, line, have_magic ? "the file is "
		    "truncated (no end line)" : "the file is empty");
	if (rc != VDKIM_OK) {
		rot_state_free(st);
		return rc;
	}
	if (st->n > 0)
		qsort(st->r, st->n, sizeof(*st->r), cmp_record);
	for (size_t i = 1; i < st->n; i++)
		if (cmp_record(&st->r[i - 1], &st->r[i]) == 0) {
			rc = vdkim_fail(err, VDKIM_ESYNTAX, "%s: %s %s is "
			    "recorded twice", label, st->r[i].domain,
			    st->r[i].selector);
			rot_state_free(st);
			return rc;
		}
	return VDKIM_OK;
}

vdkim_rc
rot_state_load(const char *path, rot_state *st, int *missing,
    vdkim_error *err)
{
	vdkim_file f;
	vdkim_rc rc;

	memset(st, 0, sizeof(*st));
	*missing = 0;
	rc = vdkim_file_read(AT_FDCWD, path, "state file", STATE_FILE_MAX,
	    VDKIM_FILE_MISSING_OK, VDKIM_EIO, &f, err);
	if (rc != VDKIM_OK)
		return rc;
	if (f.data == NULL) {
		*missing = 1;
		return VDKIM_OK;
	}
	rc = rot_state_parse(f.data, f.len, path, st, err);
	vdkim_file_free(&f);
	return rc;
}

char *
rot_state_format(const rot_state *st)
{
	strbuf sb;

	sb_init(&sb);
	sb_adds(&sb, "# vdkim rotation state, written by \"vdkimctl rotation "
	    "check\"; do not edit\n" STATE_MAGIC " 1\n");
	for (size_t i = 0; i < st->n; i++)
		sb_addf(&sb, "record %s %s %s %lld %lld\n", st->r[i].domain,
		    st->r[i].selector, rot_status_name(st->r[i].status),
		    (long long)st->r[i].since, (long long)st->r[i].checked);
	sb_addf(&sb, "end %zu\n", st->n);
	return sb_take(&sb);
}

int
rot_state_update(rot_state *st, const char *domain, const char *selector,
    int status, time_t now, time_t start, long publish_ahead)
{
	rot_record *r = (rot_record *)rot_state_find(st, domain, selector);

	/* No answer from DNS says nothing about the record. */
	if (status == ROT_DNS_ERROR || status == ROT_UNKNOWN)
		return 0;
	if (r == NULL) {
		if (strlen(domain) >= sizeof(r->domain) ||
		    strlen(selector) >= sizeof(r->selector))
			return 0;
		r = add_record(st);
		if (r == NULL)
			return -1;
		strcpy(r->domain, domain);
		strcpy(r->selector, selector);
		qsort(st->r, st->n, sizeof(*st->r), cmp_record);
		r = (rot_record *)rot_state_find(st, domain, selector);
	}
	if (status == ROT_MATCHING) {
		/* since is 0 unless the run of matching answers (or, for a
		 * key in use, its readiness) is unbroken. */
		if (r->since == 0)
			r->since = now;
	} else {
		/* In use already (its period began and it was ready): keep
		 * signing with it and say so, never fall back to an older
		 * key.  Not yet in use: the publish-ahead clock restarts. */
		int in_use = r->since != 0 && now >= start &&
		    now >= r->since + publish_ahead;
		if (!in_use)
			r->since = 0;
	}
	r->status = status;
	r->checked = now;
	return 0;
}
