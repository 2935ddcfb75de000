/*
 * rotation_state.c - the key checkers' results, shared through a file
 * (key_state.h): rotation's state files and the DNS check's.
 *
 * A checker (vdkimctl rotation check, vdkimctl check-dns, a host's
 * check_keys) writes the file atomically; every process that loads the
 * policy reads it then, so all the processes of a forking MTA decide
 * alike.  The text form:
 *
 *   # comment
 *   vdkim-rotation-state 1        (or vdkim-dns-check-state 1)
 *   record DOMAIN SELECTOR STATUS SINCE CHECKED
 *   ...
 *   end COUNT
 *
 * STATUS is a rot_status_name (rotation writes matching, missing,
 * mismatched; the DNS check the finer ones too); SINCE and CHECKED are
 * seconds since 1970 (0: never).  The closing "end COUNT" tells a complete
 * file from a truncated one; anything malformed is an error with its
 * line, never a guess.  Only the checker, which is about to write the file
 * anew, salvages what it can of a damaged one (key_state_salvage).
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
#include "key_state.h"
#include "strbuf.h"

#define STATE_VERSION 1
#define STATE_FILE_MAX (8 * 1024 * 1024)
#define STATE_LINE_MAX 512

static const char *const status_names[] = {
	[ROT_UNKNOWN] = "unknown",
	[ROT_MATCHING] = "matching",
	[ROT_MISSING] = "missing",
	[ROT_MISMATCHED] = "mismatched",
	[ROT_DNS_ERROR] = "dns-error",
	[ROT_BAD_RECORD] = "bad-record",
	[ROT_REVOKED] = "revoked",
	[ROT_WRONG_TYPE] = "wrong-type",
	[ROT_HASH_REFUSED] = "hash-refused",
	[ROT_SERVICE_REFUSED] = "service-refused",
	[ROT_TESTING] = "testing",
	[ROT_WEAK] = "weak",
};

/* Per kind: the first line's word, and what writes the file. */
static const struct {
	const char *magic, *name, *writer;
} kinds[] = {
	[KEY_STATE_ROTATION] = { "vdkim-rotation-state",
	    "rotation state file", "vdkimctl rotation check" },
	[KEY_STATE_DNS] = { "vdkim-dns-check-state", "DNS check state file",
	    "vdkimctl check-dns" },
};

const char *
key_state_kind_name(key_state_kind kind)
{
	return kinds[kind].name;
}

const char *
rot_status_name(int status)
{
	return status >= 0 && status <= ROT_STATUS_MAX ? status_names[status] :
	    "unknown";
}

static int
status_from_name(const char *s)
{
	for (int i = ROT_MATCHING; i <= ROT_STATUS_MAX; i++)
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

/* How one parse goes: strict (an error stops it) or salvaging (a bad line
 * is counted and skipped). */
struct parse_run {
	key_state_kind kind;
	const char *label;
	int salvage;
	size_t dropped;
	vdkim_error *err;
};

static vdkim_rc
bad_line(struct parse_run *pr, int line, const char *what)
{
	if (pr->salvage) {
		pr->dropped++;
		return VDKIM_OK;
	}
	/* The checker repairs a damaged file (key_state_check_file). */
	return vdkim_fail(pr->err, VDKIM_ESYNTAX, "%s:%d: %s (the %s is "
	    "damaged: %s keeps its readable records and repairs it)",
	    pr->label, line, what, kinds[pr->kind].name, kinds[pr->kind].writer);
}

/* One "record ..." line into st. */
static vdkim_rc
parse_record(char *words[], int nw, rot_state *st, struct parse_run *pr,
    int line)
{
	rot_record *r;
	int status;

	if (nw != 6)
		return bad_line(pr, line, "expected \"record DOMAIN "
		    "SELECTOR STATUS SINCE CHECKED\"");
	if (!domain_is_valid(words[1]) || strlen(words[1]) >= sizeof(r->domain))
		return bad_line(pr, line, "expected a domain name");
	if (!domain_is_valid(words[2]) || strchr(words[2], '.') != NULL ||
	    strlen(words[2]) >= sizeof(r->selector))
		return bad_line(pr, line, "expected a selector");
	status = status_from_name(words[3]);
	if (status < 0)
		return bad_line(pr, line, "expected a status (matching, "
		    "missing, mismatched, revoked...)");
	r = add_record(st);
	if (r == NULL)
		return vdkim_fail(pr->err, VDKIM_ENOMEM, "out of memory");
	strcpy(r->domain, words[1]);
	strcpy(r->selector, words[2]);
	r->status = status;
	if (parse_secs(words[4], &r->since) != 0 ||
	    parse_secs(words[5], &r->checked) != 0) {
		st->n--;
		return bad_line(pr, line, "expected times in seconds "
		    "since 1970");
	}
	return VDKIM_OK;
}

/* Sorts the records; duplicates are an error, or (salvaging) dropped. */
static vdkim_rc
sort_records(rot_state *st, struct parse_run *pr)
{
	size_t out = 0;

	if (st->n > 0)
		qsort(st->r, st->n, sizeof(*st->r), cmp_record);
	for (size_t i = 0; i < st->n; i++) {
		if (out > 0 && cmp_record(&st->r[out - 1], &st->r[i]) == 0) {
			if (!pr->salvage)
				return vdkim_fail(pr->err, VDKIM_ESYNTAX,
				    "%s: %s %s is recorded twice (the %s is "
				    "damaged: %s repairs it)", pr->label,
				    st->r[i].domain, st->r[i].selector,
				    kinds[pr->kind].name,
				    kinds[pr->kind].writer);
			pr->dropped++;
			continue;
		}
		st->r[out++] = st->r[i];
	}
	st->n = out;
	return VDKIM_OK;
}

/* One non-comment line, split into words, in a parse at *have (0: before
 * the magic line, 1: records, 2: after the end line). */
static vdkim_rc
parse_line(char *words[], int nw, int line, int *have, rot_state *st,
    struct parse_run *pr)
{
	const char *magic = kinds[pr->kind].magic;
	time_t v;
	vdkim_rc rc = VDKIM_OK;

	if (*have == 2)
		return bad_line(pr, line, "nothing may follow the end line");
	if (*have == 0 && !pr->salvage) {
		if (nw != 2 || strcmp(words[0], magic) != 0 ||
		    parse_secs(words[1], &v) != 0)
			rc = vdkim_fail(pr->err, VDKIM_ESYNTAX, "%s:%d: expected "
			    "\"%s 1\": not a %s", pr->label, line, magic,
			    kinds[pr->kind].name);
		else if (v != STATE_VERSION)
			rc = vdkim_fail(pr->err, VDKIM_ESYNTAX, "%s:%d: a %s of "
			    "another version", pr->label, line,
			    kinds[pr->kind].name);
		*have = 1;
		return rc;
	}
	if (strcmp(words[0], magic) == 0 && nw == 2) {
		*have = 1;           /* salvaging: wherever it is */
	} else if (strcmp(words[0], "record") == 0) {
		rc = parse_record(words, nw, st, pr, line);
	} else if (strcmp(words[0], "end") == 0) {
		if (nw != 2 || parse_secs(words[1], &v) != 0 ||
		    (size_t)v != st->n)
			rc = bad_line(pr, line, "the end line does not count the "
			    "records above it");
		if (!pr->salvage)
			*have = 2;
	} else {
		rc = bad_line(pr, line, "expected \"record\" or \"end\"");
	}
	return rc;
}

static vdkim_rc
parse_text(const char *text, size_t len, rot_state *st, struct parse_run *pr)
{
	const char *p = text, *end = text + len;
	int line = 0, have = 0;
	vdkim_rc rc = VDKIM_OK;

	memset(st, 0, sizeof(*st));
	while (p < end && rc == VDKIM_OK) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char buf[STATE_LINE_MAX], *words[8], *save = NULL, *w;
		int nw = 0;

		line++;
		if (ll >= sizeof(buf) || memchr(p, '\0', ll) != NULL) {
			p += ll + (nl != NULL);
			rc = bad_line(pr, line, "line too long or not text");
			continue;
		}
		memcpy(buf, p, ll);
		buf[ll] = '\0';
		p += ll + (nl != NULL);
		if (nl == NULL && have && !pr->salvage) {
			/* Every line the checker writes ends in a newline. */
			rc = bad_line(pr, line, "the file is truncated (its "
			    "last line has no end)");
			break;
		}
		for (w = strtok_r(buf, " \t\r", &save); w != NULL && nw < 8;
		    w = strtok_r(NULL, " \t\r", &save))
			words[nw++] = w;
		if (nw == 0 || words[0][0] == '#')
			continue;
		rc = parse_line(words, nw, line, &have, st, pr);
	}
	if (rc == VDKIM_OK && have != 2 && !pr->salvage)
		rc = bad_line(pr, line, have ? "the file is truncated (no end "
		    "line)" : "the file is empty");
	if (rc == VDKIM_OK)
		rc = sort_records(st, pr);
	if (rc != VDKIM_OK)
		rot_state_free(st);
	return rc;
}

vdkim_rc
key_state_parse(key_state_kind kind, const char *text, size_t len,
    const char *label, rot_state *st, vdkim_error *err)
{
	struct parse_run pr = { kind, label, 0, 0, err };

	return parse_text(text, len, st, &pr);
}

vdkim_rc
key_state_salvage(key_state_kind kind, const char *text, size_t len,
    rot_state *st, size_t *dropped, vdkim_error *err)
{
	struct parse_run pr = { kind, "", 1, 0, err };
	vdkim_rc rc = parse_text(text, len, st, &pr);

	*dropped = pr.dropped;
	return rc;
}

vdkim_rc
rot_state_parse(const char *text, size_t len, const char *label,
    rot_state *st, vdkim_error *err)
{
	return key_state_parse(KEY_STATE_ROTATION, text, len, label, st, err);
}

vdkim_rc
key_state_read(const char *path, char **out, size_t *len, int *missing,
    vdkim_error *err)
{
	vdkim_file f;
	vdkim_rc rc;

	*out = NULL;
	*len = 0;
	*missing = 0;
	rc = vdkim_file_read(AT_FDCWD, path, "state file", STATE_FILE_MAX,
	    VDKIM_FILE_MISSING_OK, VDKIM_EIO, &f, err);
	if (rc != VDKIM_OK)
		return rc;
	if (f.data == NULL) {
		*missing = 1;
		return VDKIM_OK;
	}
	/* The caller frees the text with free(): a state file holds no
	 * secret to wipe. */
	*out = f.data;
	*len = f.len;
	return VDKIM_OK;
}

vdkim_rc
key_state_load(key_state_kind kind, const char *path, rot_state *st,
    int *missing, vdkim_error *err)
{
	char *text;
	size_t len;
	vdkim_rc rc;

	memset(st, 0, sizeof(*st));
	rc = key_state_read(path, &text, &len, missing, err);
	if (rc != VDKIM_OK || *missing)
		return rc;
	rc = key_state_parse(kind, text, len, path, st, err);
	free(text);
	return rc;
}

vdkim_rc
rot_state_load(const char *path, rot_state *st, int *missing,
    vdkim_error *err)
{
	return key_state_load(KEY_STATE_ROTATION, path, st, missing, err);
}

vdkim_rc
key_state_load_policy(vdkim_policy *p, key_state_kind kind, const char *path,
    int tolerate, rot_state *st, int *missing, int *damaged,
    vdkim_error *err)
{
	vdkim_error perr;
	vdkim_rc rc;

	*damaged = 0;
	rc = key_state_load(kind, path, st, missing, &perr);
	if (rc == VDKIM_ESYNTAX && tolerate) {
		*damaged = 1;
		return policy_warn(p, 0, "%s; until then it counts as never "
		    "checked", perr.msg) == 0 ? VDKIM_OK :
		    vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	}
	if (rc != VDKIM_OK && err != NULL)
		*err = perr;
	return rc;
}

char *
key_state_format(key_state_kind kind, const rot_state *st)
{
	strbuf sb;

	sb_init(&sb);
	sb_addf(&sb, "# vdkim %s, written by \"%s\"; do not edit\n%s 1\n",
	    kinds[kind].name, kinds[kind].writer, kinds[kind].magic);
	for (size_t i = 0; i < st->n; i++)
		sb_addf(&sb, "record %s %s %s %lld %lld\n", st->r[i].domain,
		    st->r[i].selector, rot_status_name(st->r[i].status),
		    (long long)st->r[i].since, (long long)st->r[i].checked);
	sb_addf(&sb, "end %zu\n", st->n);
	return sb_take(&sb);
}

char *
rot_state_format(const rot_state *st)
{
	return key_state_format(KEY_STATE_ROTATION, st);
}

/*
 * The record an answer of status updates, added (never checked, since 0)
 * when there is none: 0 with *out set; 0 with *out NULL when there is
 * nothing to record (no answer from DNS says nothing about the record;
 * names too long to keep); -1 when out of memory.
 */
static int
record_for(rot_state *st, const char *domain, const char *selector,
    int status, rot_record **out)
{
	rot_record *r;

	*out = NULL;
	if (status == ROT_DNS_ERROR || status == ROT_UNKNOWN)
		return 0;
	r = (rot_record *)rot_state_find(st, domain, selector);
	if (r == NULL) {
		if (strlen(domain) >= sizeof(r->domain) ||
		    strlen(selector) >= sizeof(r->selector))
			return 0;
		if ((r = add_record(st)) == NULL)
			return -1;
		strcpy(r->domain, domain);
		strcpy(r->selector, selector);
		qsort(st->r, st->n, sizeof(*st->r), cmp_record);
		r = (rot_record *)rot_state_find(st, domain, selector);
	}
	*out = r;
	return 0;
}

int
rot_state_set(rot_state *st, const char *domain, const char *selector,
    int status, time_t now)
{
	rot_record *r;

	if (record_for(st, domain, selector, status, &r) != 0)
		return -1;
	if (r == NULL)
		return 0;
	if (r->status != status || r->since == 0)
		r->since = now;
	r->status = status;
	r->checked = now;
	return 0;
}

int
rot_state_update(rot_state *st, const char *domain, const char *selector,
    int status, time_t now, time_t start, long publish_ahead)
{
	rot_record *r;

	if (record_for(st, domain, selector, status, &r) != 0)
		return -1;
	if (r == NULL)
		return 0;
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
