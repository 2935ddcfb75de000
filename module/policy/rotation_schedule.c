/*
 * rotation_schedule.c - a rotation schedule's periods and selector names,
 * and the checks on the directives of a dkim-rotation block.
 *
 * All dates are UTC: a period starts at midnight UTC of its first day, so
 * every host (and every process of a forking MTA) agrees on the selector
 * of a given second.
 *
 * Selector patterns: %Y year, %y two-digit year, %m month (01-12), %d day
 * of month (01-31), %Q quarter (1-4) of the period's first day, %a the
 * algorithm ("rsa", "ed"), %% a percent sign; anything else is taken as
 * written and must be a DNS label character.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain_name.h"
#include "interval.h"
#include "rotation.h"

#define DAY 86400L
#define MAX_PERIOD_DAYS 3660

/* ------------------------------------------------------------ dates */

static time_t
utc_date(int year, int mon0, int mday)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon0;
	tm.tm_mday = mday;
	return timegm(&tm);
}

int
rot_parse_date(const char *text, time_t *t)
{
	struct tm back;
	int y, m, d, n = 0;
	time_t v;

	if (text == NULL || strlen(text) != 10 ||
	    sscanf(text, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
	    y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	v = utc_date(y, m - 1, d);
	/* 2026-02-30 would roll over into March: not a date. */
	if (v == (time_t)-1 || gmtime_r(&v, &back) == NULL ||
	    back.tm_mday != d || back.tm_mon != m - 1)
		return -1;
	*t = v;
	return 0;
}

void
rot_format_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t <= 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(buf, len, "never");
}

/* floor(a / b) for b > 0, also for negative a. */
static long
floor_div(long long a, long long b)
{
	long long q = a / b;

	return (long)(q * b > a ? q - 1 : q);
}

/* ---------------------------------------------------------- periods */

long
rot_period_at(const rot_schedule *s, time_t t)
{
	struct tm tm;
	long i;

	switch (s->period) {
	case ROT_MONTHLY:
	case ROT_QUARTERLY:
		if (gmtime_r(&t, &tm) == NULL)
			return -1;
		return s->period == ROT_MONTHLY ?
		    (long)(tm.tm_year + 1900) * 12 + tm.tm_mon :
		    (long)(tm.tm_year + 1900) * 4 + tm.tm_mon / 3;
	case ROT_DAYS:
		return floor_div((long long)t - s->epoch, s->days * DAY);
	default:
		for (i = (long)s->nlist - 1; i >= 0; i--)
			if (s->list[i].start <= t)
				return i;
		return -1;
	}
}

time_t
rot_period_start(const rot_schedule *s, long i)
{
	switch (s->period) {
	case ROT_MONTHLY:
		return i < 0 ? (time_t)-1 : utc_date((int)(i / 12),
		    (int)(i % 12), 1);
	case ROT_QUARTERLY:
		return i < 0 ? (time_t)-1 : utc_date((int)(i / 4),
		    (int)(i % 4) * 3, 1);
	case ROT_DAYS:
		return s->epoch + (time_t)i * s->days * DAY;
	default:
		return i >= 0 && (size_t)i < s->nlist ? s->list[i].start :
		    (time_t)-1;
	}
}

static const char *
alg_tag(int alg)
{
	return alg == VDKIM_ALG_ED25519_SHA256 ? "ed" : "rsa";
}

int
rot_has_alg(const rot_schedule *s, int alg)
{
	for (size_t i = 0; i < s->nalgs; i++)
		if (s->algs[i] == alg)
			return 1;
	return 0;
}

int
rot_selector(const rot_schedule *s, long i, int alg, char *buf, size_t len)
{
	time_t start = rot_period_start(s, i);
	struct tm tm;
	size_t used = 0;

	if (!rot_has_alg(s, alg) || start == (time_t)-1)
		return -1;
	if (s->period == ROT_LIST)
		return (size_t)snprintf(buf, len, "%s", s->list[i].selector) <
		    len ? 0 : -1;
	if (gmtime_r(&start, &tm) == NULL)
		return -1;
	for (const char *p = s->pattern; *p != '\0'; p++) {
		char part[16];

		if (*p != '%') {
			part[0] = *p;
			part[1] = '\0';
		} else {
			switch (*++p) {
			case 'Y': snprintf(part, sizeof(part), "%04d",
			    tm.tm_year + 1900); break;
			case 'y': snprintf(part, sizeof(part), "%02d",
			    tm.tm_year % 100); break;
			case 'm': snprintf(part, sizeof(part), "%02d",
			    tm.tm_mon + 1); break;
			case 'd': snprintf(part, sizeof(part), "%02d",
			    tm.tm_mday); break;
			case 'Q': snprintf(part, sizeof(part), "%d",
			    tm.tm_mon / 3 + 1); break;
			case 'a': snprintf(part, sizeof(part), "%s",
			    alg_tag(alg)); break;
			case '%': snprintf(part, sizeof(part), "%%"); break;
			default: return -1; /* refused when the config loads */
			}
		}
		if (used + strlen(part) >= len)
			return -1;
		memcpy(buf + used, part, strlen(part));
		used += strlen(part);
	}
	buf[used] = '\0';
	return 0;
}

/* Reads exactly n digits from *s into *v. */
static int
digits(const char **s, int n, int *v)
{
	*v = 0;
	for (int k = 0; k < n; k++, (*s)++) {
		if (!isdigit((unsigned char)**s))
			return -1;
		*v = *v * 10 + (**s - '0');
	}
	return 0;
}

int
rot_match(const rot_schedule *s, const char *name, long *period, int *alg)
{
	int y = -1, m = -1, d = 1, q = -1, a = s->algs[0], v;
	const char *n = name;
	char again[ROT_SELECTOR_MAX];
	time_t t;
	long i;

	if (s->period == ROT_LIST) {
		for (size_t k = 0; k < s->nlist; k++)
			if (strcasecmp(s->list[k].selector, name) == 0) {
				*period = (long)k;
				*alg = s->algs[0];
				return 0;
			}
		return -1;
	}
	/* Read the date parts back out of the name... */
	for (const char *p = s->pattern; *p != '\0'; p++) {
		if (*p != '%' || p[1] == '%') {
			p += *p == '%';
			if (tolower((unsigned char)*n) != tolower((unsigned char)*p))
				return -1;
			n++;
			continue;
		}
		switch (*++p) {
		case 'Y': if (digits(&n, 4, &y)) return -1; break;
		case 'y':
			if (digits(&n, 2, &v)) return -1;
			y = 2000 + v;
			break;
		case 'm': if (digits(&n, 2, &m)) return -1; break;
		case 'd': if (digits(&n, 2, &d)) return -1; break;
		case 'Q': if (digits(&n, 1, &q)) return -1; break;
		case 'a':
			if (strncasecmp(n, "rsa", 3) == 0) {
				a = VDKIM_ALG_RSA_SHA256;
				n += 3;
			} else if (strncasecmp(n, "ed", 2) == 0) {
				a = VDKIM_ALG_ED25519_SHA256;
				n += 2;
			} else {
				return -1;
			}
			break;
		default:
			return -1;
		}
	}
	if (*n != '\0' || y < 1970 || !rot_has_alg(s, a))
		return -1;
	if (m < 0)
		m = q >= 1 && q <= 4 ? (q - 1) * 3 + 1 : 1;
	if (m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	t = utc_date(y, m - 1, d);
	i = rot_period_at(s, t);
	/* ...and accept only the name that period really has. */
	if (rot_selector(s, i, a, again, sizeof(again)) != 0 ||
	    strcasecmp(again, name) != 0)
		return -1;
	*period = i;
	*alg = a;
	return 0;
}

/* ----------------------------------------------------- config values */

/* The codes a pattern uses, as a string such as "YQ"; NULL when it has
 * a character or code that cannot be in a selector. */
static const char *
pattern_codes(const char *v, char *codes, size_t len)
{
	size_t n = 0;

	for (const char *p = v; *p != '\0'; p++) {
		if (*p == '%') {
			if (p[1] == '\0' || strchr("YymdQa", p[1]) == NULL)
				return NULL;
			if (n + 1 < len && strchr(codes, p[1]) == NULL) {
				codes[n++] = p[1];
				codes[n] = '\0';
			}
			p++;
		} else if (!isalnum((unsigned char)*p) && *p != '-' &&
		    *p != '_') {
			return NULL;
		}
	}
	return codes;
}

/* "SELECTOR,YYYY-MM-DD": the selector into sel. */
static const char *
split_listed(const char *v, char *sel, size_t len, time_t *start)
{
	const char *comma = strchr(v, ',');

	if (comma == NULL || (size_t)(comma - v) >= len)
		return "selector must be \"SELECTOR,YYYY-MM-DD\" (the date its "
		    "period starts, UTC)";
	memcpy(sel, v, (size_t)(comma - v));
	sel[comma - v] = '\0';
	if (!domain_is_valid(sel) || strchr(sel, '.') != NULL)
		return "selector: the selector must be a DNS label (letters, "
		    "digits, -, _)";
	if (rot_parse_date(comma + 1, start) != 0)
		return "selector: the start must be a date YYYY-MM-DD";
	return NULL;
}

/* "NAME,DOMAIN" of dkim-rotation-key. */
static const char *
check_binding(const char *v)
{
	const char *comma = strchr(v, ',');

	if (comma == NULL || comma == v)
		return "dkim-rotation-key must be \"SCHEDULE,DOMAIN\" (the name "
		    "of a dkim-rotation block and a domain)";
	if (!domain_is_valid(comma + 1))
		return "dkim-rotation-key: the domain must be a domain name "
		    "(not *: the keys are per domain)";
	return NULL;
}

const char *
rot_check_value(const char *name, const char *v)
{
	char codes[8] = "", sel[ROT_SELECTOR_MAX];
	long secs;
	time_t t;

	if (strcmp(name, "dkim-rotation-key") == 0)
		return check_binding(v);
	if (strcmp(name, "selector-pattern") == 0)
		return *v != '\0' && strlen(v) < ROT_SELECTOR_MAX &&
		    pattern_codes(v, codes, sizeof(codes)) != NULL ? NULL :
		    "selector-pattern must be letters, digits, - and _ with "
		    "%Y %y %m %d %Q %a (e.g. \"k%Yq%Q\")";
	if (strcmp(name, "period") == 0)
		return strcasecmp(v, "monthly") == 0 ||
		    strcasecmp(v, "quarterly") == 0 ||
		    (interval_parse(v, &secs) == 0 && v[strlen(v) - 1] == 'd' &&
		    secs >= DAY && secs <= MAX_PERIOD_DAYS * DAY) ? NULL :
		    "period must be monthly, quarterly or a number of days "
		    "such as 90d";
	if (strcmp(name, "start") == 0)
		return rot_parse_date(v, &t) == 0 ? NULL :
		    "start must be a date YYYY-MM-DD (UTC)";
	if (strcmp(name, "publish-ahead") == 0 || strcmp(name, "overlap") == 0)
		return interval_parse(v, &secs) == 0 ? NULL : "publish-ahead "
		    "and overlap must be intervals (3600, 12h, 7d, 2w)";
	if (strcmp(name, "key-dir") == 0 || strcmp(name, "state-file") == 0)
		return v[0] == '/' ? NULL : "key-dir and state-file must be "
		    "absolute paths";
	if (strcmp(name, "selector") == 0)
		return split_listed(v, sel, sizeof(sel), &t);
	if (strcmp(name, "algorithm") == 0)
		return vdkim_alg_from_name(v) == VDKIM_ALG_RSA_SHA256 ||
		    vdkim_alg_from_name(v) == VDKIM_ALG_ED25519_SHA256 ? NULL :
		    "algorithm must be rsa-sha256 or ed25519-sha256";
	return NULL;
}

static int
fail_at(int *line, int at, char *why, size_t whylen, const char *msg)
{
	*line = at;
	snprintf(why, whylen, "%s", msg);
	return -1;
}

static int
cmp_listed(const void *a, const void *b)
{
	const rot_listed *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The date parts a pattern needs so that no two periods (of one year or
 * of consecutive years) share a selector. */
static const char *
pattern_problem(const rot_schedule *s, const char *codes)
{
	int year = strchr(codes, 'Y') || strchr(codes, 'y');

	if (s->nalgs > 1 && strchr(codes, 'a') == NULL)
		return "with two algorithms the selector-pattern needs %a (each "
		    "algorithm has its own selector)";
	if (!year)
		return "the selector-pattern needs the year (%Y or %y), or "
		    "selectors repeat every year";
	if (s->period == ROT_MONTHLY && !strchr(codes, 'm'))
		return "a monthly selector-pattern needs %m";
	if (s->period == ROT_QUARTERLY && !strchr(codes, 'Q') &&
	    !strchr(codes, 'm'))
		return "a quarterly selector-pattern needs %Q (or %m)";
	if (s->period == ROT_DAYS && (!strchr(codes, 'm') ||
	    !strchr(codes, 'd')))
		return "a selector-pattern for a period in days needs %m and "
		    "%d";
	return NULL;
}

int
rot_schedule_build(const rot_text *t, rot_schedule *s, int *line, char *why,
    size_t whylen)
{
	char codes[8] = "";
	const char *problem;
	long secs;

	memset(s, 0, sizeof(*s));
	s->line = t->line;
	s->name = strdup(t->name);
	s->publish_ahead = ROT_DEFAULT_AHEAD;
	s->overlap = ROT_DEFAULT_OVERLAP;
	s->state_file = strdup(t->state.v ? t->state.v : ROT_DEFAULT_STATE);
	s->key_dir = t->key_dir.v ? strdup(t->key_dir.v) : NULL;
	s->pattern = t->pattern.v ? strdup(t->pattern.v) : NULL;
	if (s->name == NULL || s->state_file == NULL ||
	    (t->key_dir.v && s->key_dir == NULL) ||
	    (t->pattern.v && s->pattern == NULL))
		return fail_at(line, t->line, why, whylen, "out of memory");
	if (t->key_dir.v == NULL)
		return fail_at(line, t->line, why, whylen, "dkim-rotation needs "
		    "key-dir (where the keys are: KEY-DIR/SELECTOR.private, "
		    "as vdkimctl keygen --dir writes them)");
	if (t->ahead.v)
		interval_parse(t->ahead.v, &s->publish_ahead);
	if (t->overlap.v)
		interval_parse(t->overlap.v, &s->overlap);
	s->algs[s->nalgs++] = VDKIM_ALG_RSA_SHA256;
	if (t->nalgs > ROT_MAX_ALGS)
		return fail_at(line, t->algs[ROT_MAX_ALGS].line, why, whylen,
		    "at most two algorithms (rsa-sha256, ed25519-sha256)");
	if (t->nalgs > 0) {
		s->nalgs = 0;
		for (size_t i = 0; i < t->nalgs; i++) {
			int a = (int)vdkim_alg_from_name(t->algs[i].v);
			if (rot_has_alg(s, a))
				return fail_at(line, t->algs[i].line, why,
				    whylen, "algorithm: named twice");
			s->algs[s->nalgs++] = a;
		}
	}
	if (t->nselectors > 0) {
		if (t->pattern.v || t->period.v || t->start.v)
			return fail_at(line, t->selectors[0].line, why, whylen,
			    "give either selector lines or selector-pattern "
			    "and period, not both");
		if (s->nalgs > 1)
			return fail_at(line, t->selectors[0].line, why, whylen,
			    "an explicit selector list takes one algorithm "
			    "(use one dkim-rotation block per algorithm)");
		s->period = ROT_LIST;
		s->list = calloc(t->nselectors, sizeof(*s->list));
		if (s->list == NULL)
			return fail_at(line, t->line, why, whylen,
			    "out of memory");
		for (size_t i = 0; i < t->nselectors; i++) {
			char sel[ROT_SELECTOR_MAX];
			rot_listed *l = &s->list[s->nlist];

			split_listed(t->selectors[i].v, sel, sizeof(sel),
			    &l->start);
			for (size_t k = 0; k < s->nlist; k++)
				if (strcasecmp(s->list[k].selector, sel) == 0 ||
				    s->list[k].start == l->start)
					return fail_at(line,
					    t->selectors[i].line, why, whylen,
					    "selector: each selector and each "
					    "start date may appear once");
			l->selector = strdup(sel);
			if (l->selector == NULL)
				return fail_at(line, t->line, why, whylen,
				    "out of memory");
			s->nlist++;
		}
		qsort(s->list, s->nlist, sizeof(*s->list), cmp_listed);
		return 0;
	}
	if (t->pattern.v == NULL || t->period.v == NULL)
		return fail_at(line, t->line, why, whylen, "dkim-rotation needs "
		    "selector-pattern and period (or selector lines)");
	if (strcasecmp(t->period.v, "monthly") == 0) {
		s->period = ROT_MONTHLY;
	} else if (strcasecmp(t->period.v, "quarterly") == 0) {
		s->period = ROT_QUARTERLY;
	} else {
		s->period = ROT_DAYS;
		interval_parse(t->period.v, &secs);
		s->days = secs / DAY;
		if (t->start.v == NULL)
			return fail_at(line, t->period.line, why, whylen,
			    "a period in days needs start = YYYY-MM-DD (the "
			    "first period's first day)");
		rot_parse_date(t->start.v, &s->epoch);
	}
	if (s->period != ROT_DAYS && t->start.v != NULL)
		return fail_at(line, t->start.line, why, whylen, "start is for "
		    "periods in days (monthly and quarterly periods start on "
		    "the first of the month)");
	pattern_codes(s->pattern, codes, sizeof(codes));
	problem = pattern_problem(s, codes);
	if (problem != NULL)
		return fail_at(line, t->pattern.line, why, whylen, problem);
	/* The longest name it makes (4-digit year, "rsa") must be a label. */
	{
		char sample[ROT_SELECTOR_MAX];
		if (rot_selector(s, rot_period_at(s, utc_date(2099, 11, 28)),
		    s->algs[0], sample, sizeof(sample)) != 0)
			return fail_at(line, t->pattern.line, why, whylen,
			    "selector-pattern makes selectors longer than 63 "
			    "characters");
	}
	return 0;
}

void
rot_schedule_free(rot_schedule *s)
{
	free(s->name);
	free(s->pattern);
	free(s->key_dir);
	free(s->state_file);
	for (size_t i = 0; i < s->nlist; i++)
		free(s->list[i].selector);
	free(s->list);
	memset(s, 0, sizeof(*s));
}
